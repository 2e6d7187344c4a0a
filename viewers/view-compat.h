/*
 * `vmscope-view compat OLD NEW [--reverse] [--json]` and `vmscope-view
 * explain STREAM --dest DEST [--json]`: migration compatibility
 * (lib/compat, compat.h; docs/compat.md).
 */
#ifndef VMSCOPE_VIEWERS_VIEW_COMPAT_H
#define VMSCOPE_VIEWERS_VIEW_COMPAT_H

#include <stdbool.h>
#include <stddef.h>
#include <glib.h>

/*
 * argv: the arguments after the command.  Exit status: 0 compatible (the
 * load would succeed; warnings allowed), 1 incompatible (it would fail),
 * 2 bad usage or an input that cannot be read.
 */
int view_compat_main(int argc, char **argv);
int view_explain_main(int argc, char **argv);

/* vmscope-view.c's: a whole file (mapped when regular), and stdout writes. */
GBytes *read_file(const char *path, GError **errp);
bool print_text(const char *text, size_t len, GError **errp);

#endif

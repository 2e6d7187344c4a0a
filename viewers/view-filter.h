/*
 * `--filter RULES` of vmscope-view rewrite and convert: a parsed stream
 * through tree filters (vmscope/filter.h, docs/filters.md).
 */
#ifndef VMSCOPE_VIEWERS_VIEW_FILTER_H
#define VMSCOPE_VIEWERS_VIEW_FILTER_H

#include <glib.h>

#include "vmscope/qemu-stream.h"

/*
 * The stream `s` (read from `in`) through the rules in the file `rules`:
 * the filtered stream, parsed (its own vmdesc, when it has one; otherwise
 * with `desc`, the descriptions the input was read with, for the sections
 * the filter did not touch), or NULL with *errp naming the rule file or the
 * input file.
 */
QemuStream *view_filter_stream(const char *rules, const char *in, QemuStream *s,
                               QObject *desc, GError **errp);

#endif

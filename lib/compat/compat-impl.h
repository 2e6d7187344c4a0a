/*
 * Private to lib/compat: making findings, field paths, what a type is on
 * the wire.
 */
#ifndef VMSCOPE_COMPAT_IMPL_H
#define VMSCOPE_COMPAT_IMPL_H

#include "vmscope/compat.h"

/* The machine of a vmscope-devhost's dump (and streams): its descriptions are complete. */
#define COMPAT_DEVHOST_MACHINE "vmscope-devhost"

/* Append an error or warning finding to list; takes old_value and new_value. */
void compat_finding_add(GPtrArray *list, CompatSeverity severity, const char *kind,
                        const char *key, const char *name, const char *path, uint64_t offset,
                        QObject *old_value, QObject *new_value, const char *fmt, ...)
    G_GNUC_PRINTF(10, 11);

/* "path.member", or member when path is "". */
char *compat_path_join(const char *path, const char *member);

/*
 * The fields' names as paths name them (vmstate.h, "Visit names"): the k-th
 * of several fields of one name is "name[k]".  A g_strv of d->fields->len.
 */
char **compat_field_names(const CompatDesc *d);

/* A type as the wire sees it: integers by width and sign ("uint16" for "uint16_equal"),
 * unused bytes as "buffer"; unknown names as they are. */
const char *compat_wire_type(const char *type);

/* A description's subsection of that name, or NULL. */
CompatDesc *compat_desc_subsection(const CompatDesc *d, const char *name);

#endif

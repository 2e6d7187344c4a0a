/*
 * A small indented printer for QObjects, for `vmscope-view --format pretty`.
 * Stands in until the pretty-print visitor is there; keep it small.
 *
 *   key: value            scalars (strings and hex buffers without quotes)
 *   key: [1, 2, 3]        lists of scalars, on one line
 *   key:                  objects and lists of objects, indented below
 *     member: ...
 *   - ...                 an element of a list of objects
 */
#ifndef VMSCOPE_VIEWERS_PRETTY_H
#define VMSCOPE_VIEWERS_PRETTY_H

#include <glib.h>

#include "vmscope/qobject.h"

/* Append `obj` (a dict's members, a list's elements, or a scalar) at `indent` spaces. */
void pretty_append(GString *out, const QObject *obj, int indent);
/* A scalar or list of scalars on one line ("null", "true", "12", "abc", "[1, 2]"). */
void pretty_append_inline(GString *out, const QObject *obj);

#endif

/*
 * The format table: the representations of device state a user can ask
 * for, by name.
 *
 * A format is what one walk over device state (the VMState engine, or any
 * visit function) turns into when it goes through that format's output
 * visitor: "json" (the QObject output visitor, JSON text) or "pretty" (the
 * pretty-print visitor, text for people).  Every place that lets a user
 * choose looks the name up here and nowhere else: the agent's
 * query-device-state {format}, HTTP's ?format=, and vmscope-view's
 * --format.  So a name is accepted or refused the same way everywhere, and
 * every error message lists the same names (vms_format_names()).
 *
 * An entry says:
 *
 *   name          what users write: `--format NAME`, `?format=NAME`,
 *                 `"format": "NAME"`
 *   content_type  the HTTP Content-Type of a result ("application/json",
 *                 "text/plain; charset=utf-8")
 *   binary        false: a result is UTF-8 text; true: bytes that are not
 *   output_new    a new output visitor of the format
 *   output_take   the result of a walk through that visitor, as bytes (text
 *                 without a terminating NUL); call it once, after a walk
 *                 that succeeded, then visit_free() the visitor
 *   input_new     a new input visitor that reads a result back into C
 *                 values, or NULL for a format that is only written
 *                 (pretty); it fails on bytes that are not the format
 *
 * Results inside JSON.  QMP answers are JSON, so a result that is not JSON
 * travels inside it: query-device-state always carries the state as JSON
 * ("state", the json format's QObject) and, for any other format, the
 * result as a string member: text as is under "text", binary bytes as a hex
 * string (vmscope/bytes.h) under "data".  vms_format_result_member(),
 * vms_format_result_to_qobject() and vms_format_result_from_qobject() are
 * that rule, used by the agent that writes such answers and by the
 * clients that unpack them (HTTP, which answers with the bare result and
 * the entry's content type; vmscope-view state, which prints it).
 *
 * Adding a format:
 *
 *   1. Write its visitors, one file each in lib/visitors/, with a header in
 *      lib/include/vmscope/ (see visitor.h for the contract).
 *   2. Add one entry to the table in lib/core/format.c, and a case to
 *      tests/unit/test-format.c.
 *   3. Describe the format in docs/formats.md.
 *
 * Nothing else changes: the agent walks device state through the new
 * visitor, QMP and HTTP accept the name (HTTP answers with the entry's
 * content type, a binary result as the raw bytes), vmscope-view state asks
 * for it and prints it, and every "unknown format" message lists it.
 */
#ifndef VMSCOPE_FORMAT_H
#define VMSCOPE_FORMAT_H

#include <stdbool.h>
#include <glib.h>

#include "vmscope/qobject.h"
#include "vmscope/visitor.h"

typedef struct VmsFormat {
    const char *name;
    const char *content_type;
    bool binary;
    Visitor *(*output_new)(void);
    GBytes *(*output_take)(Visitor *v);
    Visitor *(*input_new)(GBytes *data, GError **errp);   /* NULL: none */
} VmsFormat;

/* The format called name, or NULL if there is none (name NULL too). */
const VmsFormat *vms_format_lookup(const char *name);

/* "json": the format query-device-state's "state" is in, and the default. */
const VmsFormat *vms_format_json(void);

/*
 * The names of all formats for an error message, in table order except
 * that `first` (NULL: none) comes first: ", " between them and
 * `conjunction` before the last.  vms_format_names(NULL, " or ") is
 * "json or pretty"; vms_format_names("pretty", " or ") is "pretty or json".
 * g_free() it.
 */
char *vms_format_names(const char *first, const char *conjunction);

/* Where query-device-state carries a result of f: "text" or "data" (binary). */
const char *vms_format_result_member(const VmsFormat *f);
/* A result of f as that member's value (new reference): a string, hex for binary. */
QObject *vms_format_result_to_qobject(const VmsFormat *f, GBytes *result);
/*
 * The result back from such a value.  Errors (VMS_ERROR_INVALID): "expected
 * a string, got int", "invalid hex digit at position 3", "odd number of hex
 * digits (5)".
 */
GBytes *vms_format_result_from_qobject(const VmsFormat *f, const QObject *value, GError **errp);

#endif

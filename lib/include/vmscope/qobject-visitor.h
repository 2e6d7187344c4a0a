/*
 * QObject visitors: C values <-> QObject (see visitor.h for the contract).
 *
 * Mapping: structs are dicts (members in visit order), lists are lists,
 * integers are ints (uint64 exact), bool, strings, doubles, buffers are
 * lowercase hex strings ("0a1b..", two digits per byte).  An optional member
 * that is absent is left out of the dict.
 *
 * The input visitor is strict: a missing member, a value of the wrong type,
 * an integer out of range for the C type, a list of the wrong length, a
 * malformed hex buffer or a member nobody visited is an error naming the
 * full path ("serial.fifo[3].data: ...").  The exact messages are listed in
 * docs/formats.md ("QObject/JSON").  A number member also accepts a JSON
 * integer, buffers also accept uppercase hex, and info->version_id is left as
 * the caller set it (JSON carries no versions).
 */
#ifndef VMSCOPE_QOBJECT_VISITOR_H
#define VMSCOPE_QOBJECT_VISITOR_H

#include "vmscope/qobject.h"
#include "vmscope/visitor.h"

Visitor *qobject_output_visitor_new(void);
/* The value built so far (new reference); call after the walk. */
QObject *qobject_output_visitor_take(Visitor *v);

/* Reads `root`; the visitor keeps a reference to it until visit_free(). */
Visitor *qobject_input_visitor_new(QObject *root);

/*
 * The same strict visitor for QMP arguments: the same checks and paths,
 * the errors in the words of QEMU's QObject input visitor, which QMP
 * clients know (docs/formats.md lists both wordings):
 *   "Parameter 'PATH' is missing"
 *   "Invalid parameter type for 'PATH', expected: T"   T: object, array,
 *       string, boolean, integer (also an int64 out of range), number
 *   "Parameter 'PATH' expects uint64"   an unsigned integer of the wrong
 *       type or negative (likewise uint8 .. uint32; a buffer: "expects
 *       4-byte hex buffer", a list of fixed length: "expects 3 elements")
 *   "Parameter 'PATH' is unexpected"    the first member nobody visited
 *   "Only 2 list elements expected in PATH"
 * Narrower integers out of range are refused by the visitor core, in its
 * own words ("PATH: value 300 out of range for uint8"); QMP arguments are
 * int64 and uint64.
 */
Visitor *qobject_input_visitor_new_qmp(QObject *root);

/*
 * Any value (QEMU's visit_type_any): *obj is a new reference, NULL for JSON
 * null.  Only for the QObject input visitors (made by the two functions
 * above).
 */
bool qobject_input_visit_any(Visitor *v, const char *name, QObject **obj, GError **errp);

/*
 * The other way round: walk a QObject through an OUTPUT visitor as the
 * member `name`: dicts as structs (members in order), lists as lists,
 * integers as int64 (uint64 above INT64_MAX), doubles, strings, bools, null
 * with visit_type_null.  So a value held only as JSON (a stream's
 * configuration) comes out in the visitor's format like any walked C value.
 */
bool qobject_visit(Visitor *v, const char *name, QObject *obj, GError **errp);

#endif

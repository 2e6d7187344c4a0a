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

#endif

/*
 * BER visitors: C values <-> vmscope's self-describing encoding (the ASN.1
 * module in docs/ber.md, the tags in ber.h; see visitor.h for the Visitor
 * contract).
 *
 * The output visitor writes one Value per top-level visit: integers under
 * the context tag of their C type ([0] int8 .. [7] uint64), bool as
 * BOOLEAN, buffers as OCTET STRING, lists as SEQUENCE, structs as
 * [APPLICATION 1] with names and values alternating; a VMState
 * description's struct (VISIT_STRUCT_VMSD or _NESTED_VMSD) is
 * [APPLICATION 2] with the description's name and version first, a
 * subsection [APPLICATION 3] with its version first (its name is its member
 * name).  So a reader rebuilds names, types, nesting, versions and
 * subsections with no description at all.  Lengths are definite: the
 * output is DER.
 *
 * The input visitor parses the whole input first (ber_value_parse: any
 * broken byte is refused before a value is read, with its offset), then
 * checks every visit against it.  That is the type-checked load: each
 * member is found by its name, and its type in the stream must be what the
 * walk (the loader's description) visits:
 *
 *   "serial.divider: stream has uint16, description expects uint32"
 *   "serial.fifo: stream has buffer[8], description expects buffer[16]"
 *   "pit.channels: stream has 2 elements, description expects 3"
 *   "serial.recv_fifo: stream has struct Fifo8, description expects struct Fifo16"
 *   "serial.divider: missing from the stream"                 (VMS_ERROR_MISSING)
 *   "serial: unexpected field 'foo' in the stream"            (VMS_ERROR_EXTRA, check_struct)
 *   "serial: unexpected subsection 'serial/foo' in the stream"
 *   "serial: duplicate field 'ier' in the stream"
 *
 * Versions: a described struct's and a subsection's version go to
 * VisitStructInfo.version_id, so the VMState engine refuses a newer one
 * ("incoming version 5 of serial is newer than the supported version 4")
 * and loads an older one as its rules say.  Members may come in any order;
 * lists keep theirs.  A plain struct (VISIT_STRUCT_PLAIN or no info)
 * accepts a described one; the other kinds must match.
 */
#ifndef VMSCOPE_BER_VISITOR_H
#define VMSCOPE_BER_VISITOR_H

#include "vmscope/ber.h"
#include "vmscope/bytes.h"
#include "vmscope/visitor.h"

/* Output into a buffer of its own: take the bytes with ber_output_visitor_take. */
Visitor *ber_output_visitor_new(void);
/* Output appended to a borrowed ByteWriter (streams); nothing to take. */
Visitor *ber_output_visitor_new_writer(ByteWriter *w);
/* The bytes written so far (the visitor's own buffer is empty afterwards). */
GBytes *ber_output_visitor_take(Visitor *v);

/*
 * Input from one Value filling data[0..len) (borrowed, kept alive by the
 * caller); origin is the absolute offset of data[0], for errors.  NULL with
 * *errp set if the bytes are not a well-formed Value.
 */
Visitor *ber_input_visitor_new(const uint8_t *data, size_t len, uint64_t origin,
                               GError **errp);
/* The same over GBytes, of which the visitor keeps a reference. */
Visitor *ber_input_visitor_new_bytes(GBytes *data, GError **errp);
/* Input from a Value parsed already (borrowed, with the bytes under it). */
Visitor *ber_input_visitor_new_value(const BerValue *bv);

#endif

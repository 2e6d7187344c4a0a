/*
 * QEMUFile visitors: C values <-> QEMU's migration-stream encoding of
 * device state, byte for byte as QEMU's vmstate_info_* write it (see
 * visitor.h for the Visitor contract).
 *
 * Encoding: bool is one byte (0 or 1); integers are big-endian at their
 * width, signed ones in two's complement; buffers are their raw bytes;
 * structs and lists have no framing at all, so a list's length must come
 * from the caller (VISIT_LEN_UNKNOWN is an error on input).  Strings, which
 * VMState never uses, are a length byte and the bytes; doubles the be64 of
 * their IEEE bits.  visit_type_null is QEMU's null-pointer marker, the byte
 * 0x30 (an element of an array of pointers that is NULL).
 *
 * Subsections (a struct visited with VISIT_STRUCT_SUBSECTION): the byte
 * QEMUFILE_VM_SUBSECTION (0x05), a length byte, the subsection's name
 * (info->vmsd_name, at most 255 bytes), the be32 version, then its fields.
 * On input visit_optional() does what QEMU's loader does: it peeks (never
 * consumes) for 0x05, a length at least one more than the enclosing
 * description's name, and a name starting with that name; only then is it a
 * subsection, and present if it is the one asked for.  Anything else is not
 * a subsection (it may be the next field of an enclosing struct).  When a
 * description's struct ends (visit_check_struct), a subsection that nobody
 * asked for is an error: "unknown subsection" (QEMU: -ENOENT), or
 * "duplicate subsection" if it was already read in this struct.
 *
 * The input visitor reads from a borrowed ByteReader and advances it; its
 * errors carry the absolute byte offset and the field path, as data (see
 * error.h):
 *   "offset 1234: serial.fifo[3]: truncated: need 4 bytes, 2 left"
 * The output visitor appends to a borrowed ByteWriter.
 *
 * QEMU's vmdesc (the JSON description of what a section holds) is written
 * where streams are: qemu_stream_save_device() in qemu-stream.h.
 */
#ifndef VMSCOPE_QEMUFILE_VISITOR_H
#define VMSCOPE_QEMUFILE_VISITOR_H

#include "vmscope/bytes.h"
#include "vmscope/visitor.h"

#define QEMUFILE_VM_SUBSECTION 0x05
#define QEMUFILE_NULLPTR_MARKER 0x30

Visitor *qemufile_output_visitor_new(ByteWriter *w);
Visitor *qemufile_input_visitor_new(ByteReader *r);

#endif

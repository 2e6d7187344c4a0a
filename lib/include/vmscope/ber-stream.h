/*
 * BER migration streams: a whole migration in vmscope's self-describing
 * encoding (docs/ber.md, "BER streams"), and conversion to and from QEMU's
 * format.
 *
 * A BER stream is a series of top-level elements, written and read in
 * order (no element encloses the whole stream, so it can be produced as it
 * goes):
 *
 *   Header         [APPLICATION 16] { "vmscope-ber", version 1 }
 *   Configuration  [APPLICATION 17] { QEMU's configuration payload }  optional
 *   Device         [APPLICATION 18] { section id, idstr, instance id,
 *                                     version id, [footer], state }   per device
 *   Opaque         [APPLICATION 19] { QEMU section type, section id,
 *                                     [idstr, instance id, version id],
 *                                     [footer], payload }      RAM and the like
 *   End            [APPLICATION 20] { [QEMU's vmdesc text] }
 *
 * A Device's state is the device's state as the BER output visitor writes
 * it (a described struct: names, types, nesting, versions and subsections
 * in the stream itself); whatever vmscope cannot describe travels as an
 * opaque octet string.  The footer flags, the configuration's bytes and the
 * vmdesc text are kept so that a QEMU stream converted to BER and back is
 * byte for byte the original.
 *
 * Reading (ber_stream_parse) is a pure function over the bytes: every
 * element and every device state is checked (ber_value_parse) before
 * anyone looks at it.  Errors carry the offset, the part of the stream and
 * the field path:
 *   "offset 187: section 'serial' (id 3): serial.lsr: INTEGER of 2 bytes is not minimal"
 */
#ifndef VMSCOPE_BER_STREAM_H
#define VMSCOPE_BER_STREAM_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "vmscope/ber.h"
#include "vmscope/qemu-stream.h"
#include "vmscope/vmstate.h"

#define BER_STREAM_MAGIC        "vmscope-ber"
#define BER_STREAM_VERSION      1
#define BER_ID_STREAM_HEADER    BER_ID_APPLICATION(16)     /* 0x70 */
#define BER_ID_STREAM_CONFIG    BER_ID_APPLICATION(17)     /* 0x71 */
#define BER_ID_STREAM_DEVICE    BER_ID_APPLICATION(18)     /* 0x72 */
#define BER_ID_STREAM_OPAQUE    BER_ID_APPLICATION(19)     /* 0x73 */
#define BER_ID_STREAM_END       BER_ID_APPLICATION(20)     /* 0x74 */

/* Whether data starts like a BER stream (its header's first bytes). */
bool ber_stream_is(const uint8_t *data, size_t len);

/* ---- writing, element by element, into a BerWriter ---- */

void ber_stream_put_header(BerWriter *bw);
void ber_stream_put_configuration(BerWriter *bw, const void *payload, size_t len);
/*
 * A device section: the state of `opaque` saved through the BER output
 * visitor (vmstate_save of vmsd, ctx for segment pointers).
 */
bool ber_stream_put_device(BerWriter *bw, uint32_t section_id, const char *idstr,
                           uint32_t instance_id, bool footer, const VMStateDescription *vmsd,
                           void *opaque, const VMStateContext *ctx, GError **errp);
/* A section as bytes of QEMU's format (RAM, anything vmscope does not describe). */
void ber_stream_put_opaque(BerWriter *bw, const QemuStreamSection *sec);
/* The end, with QEMU's vmdesc text (NULL: none). */
void ber_stream_put_end(BerWriter *bw, GBytes *vmdesc);

/* ---- reading ---- */

typedef struct BerStreamSection {
    uint8_t type;               /* QEMU_VM_SECTION_*: FULL for every device */
    uint32_t section_id;
    char *name;                 /* idstr; NULL for an opaque PART or END */
    uint32_t instance_id;
    uint32_t version_id;
    bool footer;
    uint64_t offset;            /* absolute offset of the state Value or the payload */
    BerValue *state;            /* a device's state, parsed; NULL for opaque sections */
    GBytes *payload;            /* opaque sections: QEMU's bytes */
} BerStreamSection;

typedef struct BerStream BerStream;

/* Parse and check a whole stream; keeps a reference to data. */
BerStream *ber_stream_parse(GBytes *data, GError **errp);
void ber_stream_free(BerStream *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(BerStream, ber_stream_free)

size_t ber_stream_n_sections(const BerStream *s);
const BerStreamSection *ber_stream_section(const BerStream *s, size_t index);
/* The configuration payload and the vmdesc text, or NULL.  Borrowed. */
GBytes *ber_stream_configuration(const BerStream *s);
GBytes *ber_stream_vmdesc(const BerStream *s);
/* The machine name in the configuration (g_malloc'd), or NULL if there is none. */
char *ber_stream_machine(const BerStream *s);
/* "section 'serial' (id 3)", for errors (g_malloc'd). */
char *ber_stream_where(const BerStreamSection *sec);

/*
 * The description of a device section, rebuilt from its state alone
 * (names, types, nesting, versions, subsections; ber_describe) on a state
 * layout of its own of *state_size bytes.  Free with
 * vmstate_description_free.
 */
VMStateDescription *ber_stream_section_description(const BerStreamSection *sec,
                                                   size_t *state_size, GError **errp);

/* ---- conversion ---- */

/* A QEMU stream as a BER stream: devices described, the rest opaque. */
GBytes *ber_stream_from_qemu(const QemuStream *qs, GError **errp);
/*
 * A BER stream in QEMU's format (the bytes; parse them for a QemuStream).
 * When the stream kept QEMU's vmdesc (it was converted from QEMU's format),
 * each device's payload is its state replayed through the QEMUFile output
 * visitor (ber_value_visit) and the vmdesc is the one kept: the original,
 * byte for byte.  Otherwise each device goes through the description
 * rebuilt from its state (ber_stream_section_description) and the VMState
 * engine, which writes its payload and its vmdesc entry.
 */
GBytes *ber_stream_to_qemu(const BerStream *s, GError **errp);

/*
 * A BER Value's description: the described struct at node `root` as a
 * description in vmstate_describe's JSON, fields laid out one after the
 * other in a state of *state_size bytes (each subsection gets a presence
 * byte).  Lists become fixed arrays, or runs where their elements differ.
 * What VMState cannot hold (plain structs, strings, numbers, lists of
 * lists) is refused, naming the path.
 */
QObject *ber_describe(const BerValue *bv, size_t root, size_t *state_size, GError **errp);

#endif

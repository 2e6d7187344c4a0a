/*
 * QEMU migration streams, whole: parse, inspect, edit, write, build.
 *
 * A stream as QEMU writes it (savevm.c, format version 3):
 *
 *     "QEVM" be32(3)                          header
 *     0x07 configuration                      machine name + subsections
 *     section*                                START/PART/END/FULL, see below
 *     0x00                                    EOF
 *     0x06 be32(len) JSON[len]                vmdesc: what every FULL section holds
 *
 * A section is a type byte, be32 section id and, for START and FULL, the
 * idstr (u8 length + bytes), be32 instance id and be32 version id; then its
 * payload (the state bytes) and, when the source sends footers, 0x7e + be32
 * section id.  FULL sections carry one device's VMState; START/PART/END carry
 * an iterative section ("ram") in pieces.
 *
 * Parsing keeps every byte: qemu_stream_write() of a parsed stream that was
 * not changed returns the input, byte for byte.  Device sections are decoded
 * with the stream's own vmdesc (field names, types, sizes, nesting, arrays,
 * subsections), not with any built-in knowledge of devices: each device's
 * vmdesc entry becomes a VMStateDescription (vmstate.h), and the VMState
 * engine loads the section through the QEMUFile input visitor, as it loads
 * any device; the state then goes out through whatever output visitor is
 * asked for (qemu_stream_visit), so a stream reads like live state:
 *
 *   - integers (int8..64, uint8..64 and their "equal"/"le" forms, "timer")
 *     are numbers (uint64 exact); "bool" is a boolean;
 *   - "struct" / "vstruct" / "tmp" fields are objects of their members;
 *   - arrays ("array_len", or one vmdesc entry per "index") are lists;
 *   - subsections are objects, a member of their parent named by the
 *     subsection's full name ("e1000/mit_state");
 *   - "buffer", "unused_buffer" and every type vmscope does not know ("pci
 *     config", "virtio", ...) are lowercase hex strings of the described size;
 *   - a null-pointer marker ("nullptr") is JSON null.
 *
 * RAM sections ("ram") are walked by their flags (MEM_SIZE block list, with
 * each block's address when the x-ignore-shared capability is in the
 * configuration; PAGE, ZERO, CONTINUE, EOS) and summarised, not decoded.
 * XBZRLE, compressed pages, RDMA hooks, postcopy commands and other
 * iterative sections are errors.
 *
 * Streams as they come:
 *
 *   - Old-style sections (QEMU's SaveVMHandlers save_state, "slirp"): their
 *     vmdesc entry has no "vmsd_name" and no "version", and one field
 *     {"name": "data", "type": "buffer", "size": N}; they decode, as QEMU's
 *     analyze-migration.py decodes them, to {"data": HEX}.
 *   - Every section is kept, in stream order, with its own section id, even
 *     when the same idstr and instance id occur more than once (QEMU 7.2
 *     writes one "slirp" section, instance 0, per -netdev user); the k-th of
 *     them is decoded with the k-th vmdesc entry of that idstr and instance.
 *     Such duplicates get a warning: a destination QEMU would load all of
 *     them into one device.
 *   - Descriptions from elsewhere (QemuStreamOptions.desc) decode a stream
 *     without a vmdesc (old machine types, xen-save-devices-state files) or
 *     override its own.  A section they do not describe is kept as raw bytes
 *     ({"data": HEX}, with a warning) when its footer shows where it ends,
 *     and is an error otherwise: vmscope never guesses where a section ends.
 *   - Every section's decode must end exactly where its bytes end (at its
 *     footer, when the stream has footers): otherwise an error names the
 *     section, the offset and by how many bytes its description is short or
 *     too long.
 *   - The vmdesc is found by its framing (EOF, 0x06, a be32 length that
 *     reaches exactly to the end of the data), never by looking for bytes
 *     of its JSON.
 *
 * Warnings (qemu_stream_warning) are located errors (error.h) that did not
 * stop the reading, one line each:
 *     "offset 202292: section 'slirp' instance 0: 4 sections (ids 4, 5, 6, 7): ..."
 * qemu_stream_check() reads in a mode where more problems are findings
 * rather than errors, for `vmscope-view check`.
 *
 * Errors name the absolute byte offset and, inside a section, the section
 * and the field path, all kept as data with the error (error.h):
 *     "offset 1234: section 'serial' (id 5): state.lsr: truncated: need 1 bytes, 0 left"
 *
 * Section names: a section is named by its idstr; a device with instance id
 * N other than 0 is "IDSTR:N" ("serial:1"); "IDSTR" alone means instance 0.
 * Of several sections with the same idstr and instance id, the second is
 * "IDSTR#1", the third "IDSTR#2" ("slirp#3", "dma:1#1").
 *
 * Field paths (qemu_stream_set): "SECTION.MEMBER[.MEMBER...][INDEX]...", where
 * SECTION is a section name as above and MEMBER a key of the decoded state
 * (keys are QEMU's field names verbatim: "env.eip", "mac_reg[RA]",
 * "e1000/mit_state").  At each step the longest key that matches is taken,
 * so dots and brackets inside QEMU's names need no quoting:
 *     "mc146818rtc.base_rtc", "serial:1.state.scr",
 *     "0000:00:02.0/e1000.mac_reg[0][1]", "0000:00:02.0/e1000.e1000/mit_state.mit_irq_level"
 *
 * Ownership: qemu_stream_parse() keeps a reference to the input bytes.
 * QObjects and sections returned by getters are borrowed from the stream.
 */
#ifndef VMSCOPE_QEMU_STREAM_H
#define VMSCOPE_QEMU_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "vmscope/bytes.h"
#include "vmscope/qobject.h"
#include "vmscope/visitor.h"
#include "vmscope/vmstate.h"

#define QEMU_VM_FILE_MAGIC     0x5145564du   /* "QEVM" */
#define QEMU_VM_FILE_VERSION   3u

/* Top-level tags (the first byte of every element after the header). */
#define QEMU_VM_EOF            0x00
#define QEMU_VM_SECTION_START  0x01
#define QEMU_VM_SECTION_PART   0x02
#define QEMU_VM_SECTION_END    0x03
#define QEMU_VM_SECTION_FULL   0x04
#define QEMU_VM_SUBSECTION     0x05
#define QEMU_VM_VMDESCRIPTION  0x06
#define QEMU_VM_CONFIGURATION  0x07
#define QEMU_VM_COMMAND        0x08
#define QEMU_VM_SECTION_FOOTER 0x7e

typedef struct QemuStream QemuStream;

typedef struct QemuStreamSection {
    uint8_t type;            /* QEMU_VM_SECTION_START/PART/END/FULL */
    uint32_t section_id;
    char *name;              /* idstr (PART/END: that of their START) */
    uint32_t instance_id;    /* PART/END: that of their START */
    uint32_t version_id;     /* PART/END: that of their START */
    uint64_t offset;         /* payload offset in the stream */
    uint64_t size;           /* payload size (state bytes, no header/footer) */
    uint32_t occurrence;     /* FULL: earlier FULL sections of this idstr and instance */
    bool has_footer;
    GBytes *payload;         /* the state bytes */
    QObject *state;          /* decoded state (FULL) or RAM summary */
} QemuStreamSection;

/* "start", "part", "end", "full". */
const char *qemu_section_type_name(uint8_t type);

/* Parse a whole stream with its own vmdesc.  Takes a reference to `data`. */
QemuStream *qemu_stream_parse(GBytes *data, GError **errp);

typedef struct QemuStreamOptions {
    /*
     * Descriptions to decode device sections with, instead of the stream's
     * own vmdesc: an object as QEMU writes after EOF, {"page_size": ...,
     * "devices": [...]}, from a stream of the same QEMU binary and machine
     * configuration (qemu_stream_load_desc).  NULL: the stream's own.
     * Borrowed for the call.
     */
    QObject *desc;
} QemuStreamOptions;

/*
 * The same with options (NULL: none).  A stream without a vmdesc, read
 * without descriptions, fails with VMS_ERROR_MISSING (the only error of
 * that code), located at its first device section: "cannot decode: the
 * stream has no vmdesc, and no descriptions were given".
 */
QemuStream *qemu_stream_parse_with(GBytes *data, const QemuStreamOptions *opts, GError **errp);

/*
 * Descriptions for QemuStreamOptions.desc from a file's bytes: either a
 * migration stream that carries a vmdesc (it is parsed whole, so it must
 * read; its vmdesc is returned) or a vmdesc JSON text.  New reference.
 */
QObject *qemu_stream_load_desc(GBytes *data, GError **errp);

/* What was wrong but did not stop the reading, in stream order (borrowed). */
size_t qemu_stream_n_warnings(const QemuStream *s);
const GError *qemu_stream_warning(const QemuStream *s, size_t index);

/*
 * Read a whole stream for what would make a destination QEMU fail to load
 * it, or load it and silently lose state, and list it in *findings (new
 * array of located GError *, in stream order; empty when the stream is
 * clean): duplicate sections, footers for another section id, sections of
 * unknown type, subsections their description does not know, sections
 * their description does not fit, data after the vmdesc, a vmdesc that
 * disagrees with the stream (entries the stream lacks or does not match,
 * sizes, versions; with `opts->desc`, the stream's own vmdesc is compared
 * with the sections too).  Reading goes on after a finding wherever the
 * stream shows where to (a footer); after one it cannot go past (a section
 * of unknown type) that finding is the last.  Returns false, with *errp,
 * when the stream cannot be read at all (not a stream, no descriptions, a
 * section whose end cannot be found).
 */
bool qemu_stream_check(GBytes *data, const QemuStreamOptions *opts, GPtrArray **findings,
                       GError **errp);
void qemu_stream_free(QemuStream *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QemuStream, qemu_stream_free)

size_t qemu_stream_n_sections(const QemuStream *s);
const QemuStreamSection *qemu_stream_section(const QemuStream *s, size_t index);
/* The (first) FULL or START section with this idstr and instance id, or NULL. */
const QemuStreamSection *qemu_stream_find_section(const QemuStream *s, const char *name,
                                                  uint32_t instance_id);
/* "serial", "serial:1", "slirp#1" (g_malloc'd). */
char *qemu_stream_section_display_name(const QemuStreamSection *sec);
/*
 * A FULL section's device as the stream decoded it: the description learned
 * from its vmdesc entry, and its state (*state, *state_size bytes), for
 * walks of one's own (a JSON Schema of the section, a BER encoding); NULL
 * for other sections.  Borrowed from the stream.
 */
const VMStateDescription *qemu_stream_section_device(const QemuStream *s, size_t index,
                                                     const uint8_t **state, size_t *state_size);

/*
 * The configuration section decoded ({"name": machine, "target-page-bits",
 * "capabilities": [...], "uuid": hex} as present), or NULL if the stream has
 * none.  Borrowed.
 */
QObject *qemu_stream_configuration(const QemuStream *s);
/* The vmdesc as parsed, or NULL if the stream has none.  Borrowed. */
QObject *qemu_stream_vmdesc(const QemuStream *s);
/*
 * The bytes as the stream has them, for writers of other formats that must
 * give them back unchanged: the configuration section's payload (after the
 * 0x07 tag) and the vmdesc's JSON text; NULL when the stream has none.
 * Borrowed.
 */
GBytes *qemu_stream_configuration_payload(const QemuStream *s);
GBytes *qemu_stream_vmdesc_text(const QemuStream *s);
/*
 * The inverse: the bytes of a stream made of these parts, written as
 * qemu_stream_write() writes a parsed one: the configuration payload (NULL:
 * none), the sections (type, section_id, name, instance_id, version_id,
 * has_footer and payload are used; the name, instance and version only for
 * START and FULL), and the vmdesc's text (NULL: none).  Nothing is checked:
 * parse the result to know it is a stream.
 */
GBytes *qemu_stream_write_parts(GBytes *config_payload, QemuStreamSection *const *sections,
                                size_t n, GBytes *vmdesc_text);
/* Offset of the EOF byte (the vmdesc, if any, follows it). */
uint64_t qemu_stream_eof_offset(const QemuStream *s);

/*
 * The whole stream as one QObject (new reference):
 *   {"header": {"magic": "QEVM", "version": 3},
 *    "configuration": {"offset", "size", "name", ...} | null,
 *    "sections": [{"name", "instance-id", "section-id", "version-id", "type",
 *                  "offset", "size", "state"}, ...],
 *    "warnings": ["offset ...: ...", ...],
 *    "vmdesc": {...}}                      (only with `with_vmdesc`)
 */
QObject *qemu_stream_to_qobject(const QemuStream *s, bool with_vmdesc);

/*
 * The same walk through any output visitor, as the member `name` (the
 * pretty-print visitor gives `vmscope-view stream --format pretty`): the
 * stream as a struct, configuration and vmdesc as their JSON, each section
 * as a struct whose "state" is its device state saved by the VMState engine
 * (RAM sections: their summary), the warnings as a list of strings.
 */
bool qemu_stream_visit(Visitor *v, const char *name, const QemuStream *s, bool with_vmdesc,
                       GError **errp);

/* The stream's bytes, re-encoded from the model. */
GBytes *qemu_stream_write(const QemuStream *s);
/*
 * The same bytes, in order, handed to `fn` piece by piece without copying
 * the payloads (for streams too big to hold twice).  Stops at, and returns
 * false on, the first `fn` that returns false.
 */
typedef bool (*QemuStreamChunkFn)(const void *data, size_t len, void *opaque);
bool qemu_stream_write_chunks(const QemuStream *s, QemuStreamChunkFn fn, void *opaque);

/*
 * Change one field in place: see "Field paths" above.  `value` is decimal or
 * 0x-hex for integers (checked against the field's width and sign), "true" or
 * "false" for booleans, and exactly 2*size hex digits for buffers.  Only the
 * field's bytes change; on error nothing changes and the message names the
 * path: "serial.state.lsr: value 300 out of range for uint8".
 */
bool qemu_stream_set(QemuStream *s, const char *path, const char *value, GError **errp);

/*
 * What differs between two streams, as lines "PATH: A-VALUE -> B-VALUE"
 * (values as compact JSON, "(absent)" when missing; the paths and their
 * order are qobject_diff()'s, so a list that grew or shrank gives a line
 * per element that came or went), "NAME: only in A|B" for
 * sections in one stream only, and "NAME: payload differs" for iterative
 * sections (RAM) whose bytes differ.  Returns an array of g_malloc'd strings,
 * empty when the streams hold the same state.
 */
GPtrArray *qemu_stream_diff(const QemuStream *a, const QemuStream *b);

/*
 * A device's section payload in QEMU's format, from its description and
 * state (vmstate_save through the QEMUFile output visitor), appended to w;
 * and, if vmdesc is not NULL, QEMU's vmdesc members for the device
 * ("vmsd_name", "version", "fields", "subsections") added to the dict
 * vmdesc, exactly as QEMU builds them: sizes are the bytes written, an
 * array is one entry with "array_len" unless its elements are structs with
 * subsections (one entry per element, with "index").  A stream writer puts
 * "name" and "instance_id" in the dict first, as QEMU does.
 */
bool qemu_stream_save_device(ByteWriter *w, const VMStateDescription *vmsd, void *opaque,
                             const VMStateContext *ctx, QObject *vmdesc, GError **errp);
/*
 * The other way round, for a device known only by its vmdesc entry `desc`
 * (QEMU's format, as above) and a state tree (the QObject output visitor's
 * mapping of what it describes, as qemu_stream_to_qobject gives it): the
 * entry becomes a description, as when a stream is read (every subsection
 * it lists may be in the tree or not), `state` is loaded into it through
 * the strict QObject input visitor at version_id (a member missing, extra
 * or of the wrong type or size is an error naming its path), and saved
 * through the QEMUFile output visitor: the section's payload, and the
 * device's vmdesc members added to the dict `vmdesc` as
 * qemu_stream_save_device adds them.  The description may describe at most
 * 64 MiB.  Used by tree filters (filter.h).
 */
GBytes *qemu_stream_encode_device(QObject *desc, uint32_t version_id, QObject *state,
                                  QObject *vmdesc, GError **errp);
/* The vmdesc dict of one device (new reference), or NULL with *errp set. */
QObject *qemu_stream_device_vmdesc(const VMStateDescription *vmsd, void *opaque,
                                   const VMStateContext *ctx, GError **errp);

/*
 * Building new streams (device hosts): header, configuration section with
 * the machine name, FULL sections from given payloads, EOF and the vmdesc.
 *
 *     b = qemu_stream_builder_new("pc-i440fx-7.2");
 *     qemu_stream_builder_add_full(b, "serial", 0, 3, payload, &err);
 *     bytes = qemu_stream_builder_finish(b, devices, &err);
 *
 * `devices` is the list of per-device vmdesc entries, in section order, in
 * QEMU's format ({"name", "instance_id", "vmsd_name", "version", "fields",
 * "subsections"}); "name" and "instance_id" are filled in from the section
 * when absent.  finish() parses the result back and fails if the payloads and
 * the descriptions disagree, so what it returns is a stream vmscope (and
 * QEMU's analyze-migration.py) can read.
 */
typedef struct QemuStreamBuilder QemuStreamBuilder;

QemuStreamBuilder *qemu_stream_builder_new(const char *machine);
bool qemu_stream_builder_add_full(QemuStreamBuilder *b, const char *name, uint32_t instance_id,
                                  uint32_t version_id, GBytes *payload, GError **errp);
/* `devices` is borrowed.  The builder can be freed afterwards, whatever the result. */
GBytes *qemu_stream_builder_finish(QemuStreamBuilder *b, QObject *devices, GError **errp);
void qemu_stream_builder_free(QemuStreamBuilder *b);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QemuStreamBuilder, qemu_stream_builder_free)

#endif

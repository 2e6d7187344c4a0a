/*
 * BER: vmscope's self-describing encoding of device state, the TLV layer.
 *
 * The ASN.1 module is in docs/ber.md; this header is its tags and the two
 * halves every BER user needs: writing elements (BerWriter) and reading
 * them back (ber_tlv_read for one header, ber_value_parse for a whole
 * Value).  The visitors (ber-visitor.h) and BER streams (ber-stream.h)
 * stand on them.
 *
 * Encoding rules: definite lengths only, so that the output is also DER
 * and any ASN.1 tool (openssl asn1parse, dumpasn1) reads it.  Tags and
 * lengths go through libtasn1 (asn1_get_tag_der, asn1_get_length_der,
 * asn1_length_der, asn1_encode_simple_der, asn1_decode_simple_der); only
 * what libtasn1 has no function for is written here: INTEGER and BOOLEAN
 * contents, the headers of constructed and context-tagged elements, and the
 * recursive walk.
 *
 * Every tag of the module is one identifier byte (tag numbers below 31):
 *
 *   0x01 BOOLEAN        bool
 *   0x02 INTEGER        a version or an id (not a state value)
 *   0x04 OCTET STRING   buffer
 *   0x05 NULL           null (QEMU's null-pointer marker)
 *   0x0c UTF8String     a name: a member's, a description's, a section's
 *   0x30 SEQUENCE       list
 *   0x80..0x87 [0]..[7] int8, int16, int32, int64, uint8, uint16, uint32,
 *                       uint64 (VisitIntKind order): INTEGER contents
 *   0x88 [8]            number: the 8 big-endian bytes of an IEEE double
 *   0x89 [9]            string (a state value, as opposed to a name)
 *   0x61 [APPLICATION 1] struct        names and values alternate
 *   0x62 [APPLICATION 2] described     description name, version, then members
 *   0x63 [APPLICATION 3] subsection    version, then members
 *   0x70.. [APPLICATION 16..]          stream elements (ber-stream.h)
 *
 * Reading trusts nothing: ber_value_parse is a pure function over bytes
 * (the fuzzing entry point) that checks every header, every length against
 * the bytes its parent has, the nesting depth, and the contents of every
 * primitive, before anyone looks at a value.  Its errors carry the absolute
 * offset and the field path as data (error.h):
 *   "offset 41: serial.recv_fifo.head: INTEGER of 2 bytes is not minimal"
 */
#ifndef VMSCOPE_BER_H
#define VMSCOPE_BER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "vmscope/bytes.h"
#include "vmscope/visitor.h"

/* Identifier bytes (class | constructed | number), see above. */
#define BER_ID_BOOLEAN      0x01
#define BER_ID_INTEGER      0x02
#define BER_ID_OCTETS       0x04
#define BER_ID_NULL         0x05
#define BER_ID_UTF8         0x0c
#define BER_ID_LIST         0x30
#define BER_ID_INT(kind)    (0x80 | (unsigned)(kind))     /* kind: VisitIntKind */
#define BER_ID_NUMBER       0x88
#define BER_ID_STRING       0x89
#define BER_ID_STRUCT       0x61
#define BER_ID_DESCRIBED    0x62
#define BER_ID_SUBSECTION   0x63
#define BER_ID_APPLICATION(n) (0x60 | (n))                 /* constructed, n < 31 */

/* Nesting deeper than this is refused on input (VMState nests a few levels). */
#define BER_MAX_DEPTH 64

/* ---- writing ---- */

/*
 * Appends elements to a borrowed ByteWriter.  Constructed elements are
 * opened and closed; their length is known only at the close, so the
 * contents are written first and the header fixed up then (a content of
 * fewer than 128 bytes, the usual case, moves nothing).
 */
typedef struct BerWriter {
    ByteWriter *w;
    GArray *open;       /* size_t: offset of each open element's header */
} BerWriter;

void ber_writer_init(BerWriter *bw, ByteWriter *w);
void ber_writer_clear(BerWriter *bw);
/* Open a constructed element with identifier id (0x30, 0x61, ...). */
void ber_open(BerWriter *bw, uint8_t id);
/* Close the element opened last. */
void ber_close(BerWriter *bw);
void ber_put_bool(BerWriter *bw, bool value);
/* A signed or unsigned INTEGER's contents under identifier id. */
void ber_put_int(BerWriter *bw, uint8_t id, int64_t value);
void ber_put_uint(BerWriter *bw, uint8_t id, uint64_t value);
/* OCTET STRING or UTF8String (id BER_ID_OCTETS / BER_ID_UTF8), or [8]/[9]. */
void ber_put_string(BerWriter *bw, uint8_t id, const void *data, size_t len);
void ber_put_null(BerWriter *bw);
/* The header alone of a primitive of len bytes, for contents written apart. */
void ber_put_header(BerWriter *bw, uint8_t id, size_t len);

/*
 * The same encodings into a caller's buffer, for writers that gather
 * several elements into one append: each returns the bytes written, at
 * most BER_MAX_HEADER for a header and BER_MAX_INT for a whole INTEGER.
 */
#define BER_MAX_HEADER 10
#define BER_MAX_INT 11
size_t ber_encode_header(uint8_t *out, uint8_t id, size_t len);
size_t ber_encode_int(uint8_t *out, uint8_t id, int64_t value);
size_t ber_encode_uint(uint8_t *out, uint8_t id, uint64_t value);

/* ---- reading ---- */

/* One element's header. */
typedef struct BerTlv {
    uint8_t id;         /* identifier byte */
    size_t hdr;         /* bytes of identifier and length */
    size_t len;         /* bytes of contents */
} BerTlv;

/*
 * The header of the element at data[0], whose contents must fit in the
 * `avail` bytes there are (the rest of its parent); `at` is the absolute
 * offset of data[0], for errors (no path).  Refuses tags of more than one
 * byte, indefinite lengths and lengths over the bytes there are: when
 * `truncated` the bytes are all the input has (an error of
 * VMS_ERROR_TRUNCATED), otherwise the parent's end (VMS_ERROR_INVALID).
 */
bool ber_tlv_read(const uint8_t *data, size_t avail, uint64_t at, bool truncated, BerTlv *tlv,
                  GError **errp);

/* What an identifier stands for in errors: "uint16", "list", "struct", "INTEGER", ... */
const char *ber_id_name(uint8_t id);

/*
 * A parsed Value: its elements in document order (a node's children follow
 * it; `end` is the index just past its subtree).
 */
typedef struct BerNode {
    uint8_t id;
    uint64_t offset;        /* absolute offset of the identifier */
    size_t content;         /* of the contents, relative to the parsed data */
    size_t len;             /* bytes of contents */
    size_t end;             /* index past this node's subtree */
    uint64_t value;         /* integers (signed: two's complement), BOOLEAN (0/1) */
} BerNode;

typedef struct BerValue {
    const uint8_t *data;    /* borrowed: the parsed bytes */
    size_t len;
    uint64_t origin;        /* absolute offset of data[0] */
    GArray *nodes;          /* BerNode, [0] the root */
} BerValue;

/*
 * Parse exactly one Value filling all of data[0..len) (nothing before or
 * after), checking everything the module says: identifiers, lengths within
 * the parent, depth (BER_MAX_DEPTH), minimal INTEGERs in the range of their
 * kind, BOOLEAN, NULL and number sizes, valid UTF-8 names and strings
 * without NUL, and the layout of structs (a description name and version
 * where the tag says, then name/value pairs).  The data is borrowed.
 */
BerValue *ber_value_parse(const uint8_t *data, size_t len, uint64_t origin, GError **errp);
void ber_value_free(BerValue *bv);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(BerValue, ber_value_free)

static inline const BerNode *ber_node(const BerValue *bv, size_t i)
{
    return &g_array_index(bv->nodes, BerNode, i);
}
static inline const uint8_t *ber_node_data(const BerValue *bv, const BerNode *n)
{
    return bv->data + n->content;
}
/*
 * INTEGER contents (X.690 8.3): at least one byte, minimal, and within 64
 * bits: *negative, and *value as two's complement bits if negative, else
 * the magnitude (up to 2^64 - 1, nine bytes).  Errors have no location.
 */
bool ber_integer_get(const uint8_t *contents, size_t len, bool *negative, uint64_t *value,
                     GError **errp);

/* A UTF8String node (a name) equal to s? */
bool ber_node_is(const BerValue *bv, const BerNode *n, const char *s);
/* A UTF8String node as a new string. */
char *ber_node_strdup(const BerValue *bv, const BerNode *n);

/*
 * Replay the Value at `node` through output visitor v, as member `name`:
 * the same calls the walk that wrote it made (names, C types, lengths,
 * description names, versions, subsections), with no description.  Through
 * the QEMUFile output visitor that gives QEMU's bytes of a device's state
 * from its BER alone.
 */
bool ber_value_visit(const BerValue *bv, size_t node, Visitor *v, const char *name,
                     GError **errp);

/*
 * Members of a struct node (BER_ID_STRUCT, _DESCRIBED or _SUBSECTION):
 * the index of its first name (after the description name and version), or
 * the node's end when it has none; the next name after the value at v is
 * nodes[v].end.
 */
size_t ber_struct_first_member(const BerValue *bv, size_t index);

#endif

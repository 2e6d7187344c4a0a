/*
 * Reading BER elements: see include/vmscope/ber.h.
 *
 * ber_tlv_read reads one header with libtasn1 (asn1_get_tag_der,
 * asn1_get_length_der) and checks it against the bytes there are.
 * ber_value_parse is the recursive walk over a whole Value: every child is
 * read within the bytes its parent declared, the depth is bounded, and every
 * primitive's contents are checked (INTEGER and BOOLEAN by hand, OCTET
 * STRING through asn1_decode_simple_der, text as UTF-8).  It is a pure function of its
 * input, and its result is all a visitor needs: nodes in document order.
 */
#include "config.h"

#include <inttypes.h>
#include <limits.h>
#include <string.h>
#include <libtasn1.h>

#include "vmscope/ber.h"
#include "vmscope/error.h"

/* ---- one header ---------------------------------------------------------- */

static int clamp_int(size_t n)
{
    return n > INT_MAX ? INT_MAX : (int)n;
}

bool ber_tlv_read(const uint8_t *data, size_t avail, uint64_t at, bool truncated, BerTlv *tlv,
                  GError **errp)
{
    unsigned char cls;
    unsigned long tag;
    int tag_len = 0, len_len = 0;

    if (avail < 2) {
        vms_error_set_at(errp, VMS_ERROR_TRUNCATED, at, NULL, NULL,
                         "truncated: need 2 bytes for an element's header, %zu left", avail);
        return false;
    }
    if ((data[0] & 0x1f) == 0x1f) {
        vms_error_set_at(errp, VMS_ERROR_INVALID, at, NULL, NULL,
                         "tag 0x%02x has a multi-byte number: not in the module", data[0]);
        return false;
    }
    if (asn1_get_tag_der(data, clamp_int(avail), &cls, &tag_len, &tag) != ASN1_SUCCESS ||
        tag_len != 1) {
        vms_error_set_at(errp, VMS_ERROR_INVALID, at, NULL, NULL, "bad tag 0x%02x", data[0]);
        return false;
    }
    size_t k = data[1] & 0x80 ? (size_t)(data[1] & 0x7f) : 0;
    if (k && 2 + k > avail) {
        vms_error_set_at(errp, VMS_ERROR_TRUNCATED, at, NULL, NULL,
                         "truncated: need %zu bytes for an element's header, %zu left", 2 + k,
                         avail);
        return false;
    }
    long len = asn1_get_length_der(data + 1, clamp_int(avail - 1), &len_len);
    if (len == -1) {
        vms_error_set_at(errp, VMS_ERROR_INVALID, at, NULL, NULL,
                         "indefinite length: only definite lengths (DER) are allowed");
        return false;
    }
    if (len == -2) {
        vms_error_set_at(errp, VMS_ERROR_RANGE, at, NULL, NULL,
                         "length too large (2 GiB or more)");
        return false;
    }
    tlv->id = data[0];
    tlv->hdr = 1 + (size_t)len_len;
    if (len < 0) {
        /* -4: the contents go past the bytes there are (libtasn1 says -2 above
           INT_MAX, so this fits); find out how far. */
        size_t want = 0;
        for (size_t i = 0; i < k; i++) {
            want = want << 8 | data[2 + i];
        }
        tlv->len = k ? want : data[1];
    } else {
        tlv->len = (size_t)len;
    }
    if (tlv->len > avail - tlv->hdr) {
        if (truncated) {
            vms_error_set_at(errp, VMS_ERROR_TRUNCATED, at, NULL, NULL,
                             "truncated: need %zu bytes, %zu left", tlv->hdr + tlv->len, avail);
        } else {
            vms_error_set_at(errp, VMS_ERROR_INVALID, at, NULL, NULL,
                             "element of %zu bytes overruns its parent, which has %zu left",
                             tlv->hdr + tlv->len, avail);
        }
        return false;
    }
    return true;
}

const char *ber_id_name(uint8_t id)
{
    static const char *const ints[] = {
        "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    };
    if (id >= BER_ID_INT(0) && id <= BER_ID_INT(7)) {
        return ints[id - BER_ID_INT(0)];
    }
    switch (id) {
    case BER_ID_BOOLEAN:    return "bool";
    case BER_ID_INTEGER:    return "INTEGER";
    case BER_ID_OCTETS:     return "buffer";
    case BER_ID_NULL:       return "null";
    case BER_ID_UTF8:       return "UTF8String";
    case BER_ID_LIST:       return "list";
    case BER_ID_NUMBER:     return "number";
    case BER_ID_STRING:     return "string";
    case BER_ID_STRUCT:     return "struct";
    case BER_ID_DESCRIBED:  return "struct";
    case BER_ID_SUBSECTION: return "subsection";
    default:                return "unknown element";
    }
}

/* ---- the walk ------------------------------------------------------------ */

/* Where the walk is, for error paths: a member's name or a list index. */
typedef enum SegKind { SEG_NONE, SEG_NAME, SEG_INDEX } SegKind;
typedef struct Seg {
    SegKind kind;
    const uint8_t *name;
    size_t len;
    size_t index;
} Seg;

typedef struct Parse {
    const uint8_t *data;
    size_t len;
    uint64_t origin;
    GArray *nodes;
    GArray *path;           /* Seg */
    GError **errp;
} Parse;

static bool perr(Parse *p, VmsErrorCode code, size_t pos, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);
static bool perr(Parse *p, VmsErrorCode code, size_t pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_autoptr(GString) path = g_string_new(NULL);
    for (guint i = 0; i < p->path->len; i++) {
        const Seg *s = &g_array_index(p->path, Seg, i);
        if (s->kind == SEG_INDEX) {
            g_string_append_printf(path, "[%zu]", s->index);
        } else if (s->kind == SEG_NAME) {
            if (path->len) {
                g_string_append_c(path, '.');
            }
            g_string_append_len(path, (const char *)s->name, (gssize)s->len);
        }
    }
    vms_error_set_at(p->errp, code, p->origin + pos, NULL, path->str, "%s", msg);
    return false;
}

/* A header at pos within limit, with the walk's path on its errors. */
static bool read_tlv(Parse *p, size_t pos, size_t limit, bool top, BerTlv *tlv)
{
    GError *err = NULL;
    if (ber_tlv_read(p->data + pos, limit - pos, p->origin + pos, top, tlv, &err)) {
        return true;
    }
    /* Say it again with the path (the offset and text are ber_tlv_read's). */
    perr(p, (VmsErrorCode)err->code, pos, "%s", vms_error_text(err));
    g_error_free(err);
    return false;
}

static size_t add_node(Parse *p, const BerTlv *tlv, size_t pos)
{
    BerNode n = {
        .id = tlv->id,
        .offset = p->origin + pos,
        .content = pos + tlv->hdr,
        .len = tlv->len,
    };
    g_array_append_val(p->nodes, n);
    return p->nodes->len - 1;
}

static BerNode *node_at(Parse *p, size_t i)
{
    return &g_array_index(p->nodes, BerNode, i);
}

bool ber_integer_get(const uint8_t *c, size_t n, bool *negative, uint64_t *value, GError **errp)
{
    if (n == 0) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "INTEGER with no contents");
        return false;
    }
    if (n > 1 && ((c[0] == 0x00 && !(c[1] & 0x80)) || (c[0] == 0xff && (c[1] & 0x80)))) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "INTEGER of %zu bytes is not minimal", n);
        return false;
    }
    *negative = c[0] & 0x80;
    if (n > 9 || (n == 9 && c[0] != 0x00)) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_RANGE,
                    "INTEGER of %zu bytes does not fit in 64 bits", n);
        return false;
    }
    uint64_t v = *negative ? UINT64_MAX : 0;
    for (size_t i = 0; i < n; i++) {
        v = v << 8 | c[i];
    }
    *value = v;
    return true;
}

/* An INTEGER element's contents, with the walk's path on its errors. */
static bool decode_integer(Parse *p, size_t pos, const BerTlv *tlv, bool *negative,
                           uint64_t *value)
{
    GError *err = NULL;
    if (ber_integer_get(p->data + pos + tlv->hdr, tlv->len, negative, value, &err)) {
        return true;
    }
    perr(p, (VmsErrorCode)err->code, pos, "%s", err->message);
    g_error_free(err);
    return false;
}

/* An integer of kind `kind`: in range for it. */
static bool check_int(Parse *p, size_t pos, const BerTlv *tlv, VisitIntKind kind, uint64_t *out)
{
    bool negative;
    uint64_t v;
    if (!decode_integer(p, pos, tlv, &negative, &v)) {
        return false;
    }
    unsigned bits = 8 * visit_int_kind_bytes(kind);
    bool fits;
    if (visit_int_kind_signed(kind)) {
        int64_t s = (int64_t)v;
        fits = negative ? (bits == 64 || s >= -(INT64_C(1) << (bits - 1)))
                        : v <= (UINT64_MAX >> (65 - bits));
    } else {
        fits = !negative && (bits == 64 || v < (UINT64_C(1) << bits));
    }
    if (!fits) {
        char text[24];
        if (negative) {
            g_snprintf(text, sizeof(text), "%" PRId64, (int64_t)v);
        } else {
            g_snprintf(text, sizeof(text), "%" PRIu64, v);
        }
        return perr(p, VMS_ERROR_RANGE, pos, "value %s out of range for %s", text,
                    visit_int_kind_name(kind));
    }
    *out = v;
    return true;
}

/* An OCTET STRING: its contents through libtasn1. */
static bool decode_string(Parse *p, size_t pos, const BerTlv *tlv)
{
    if (tlv->len == 0) {
        return true;        /* asn1_decode_simple_der refuses empty contents */
    }
    const unsigned char *str;
    unsigned int str_len;
    if (tlv->hdr + tlv->len > UINT_MAX ||
        asn1_decode_simple_der(ASN1_ETYPE_OCTET_STRING, p->data + pos,
                               (unsigned)(tlv->hdr + tlv->len), &str, &str_len) != ASN1_SUCCESS ||
        str != p->data + pos + tlv->hdr || str_len != tlv->len) {
        return perr(p, VMS_ERROR_INVALID, pos, "bad %s", ber_id_name(tlv->id));
    }
    return true;
}

/* Text (a name or a string): UTF-8 without NUL bytes. */
static bool check_text(Parse *p, size_t pos, const BerTlv *tlv, const char *what)
{
    const char *s = (const char *)p->data + pos + tlv->hdr;
    if (memchr(s, '\0', tlv->len)) {
        return perr(p, VMS_ERROR_INVALID, pos, "%s contains a NUL byte", what);
    }
    if (!g_utf8_validate(s, (gssize)tlv->len, NULL)) {
        return perr(p, VMS_ERROR_INVALID, pos, "%s is not valid UTF-8", what);
    }
    return true;
}

/* A leaf of the struct layout at *pos: a name (UTF8String) or a version (INTEGER). */
static bool parse_leaf(Parse *p, size_t *pos, size_t limit, uint8_t id, const char *what)
{
    BerTlv tlv;
    if (!read_tlv(p, *pos, limit, false, &tlv)) {
        return false;
    }
    if (tlv.id != id) {
        return perr(p, VMS_ERROR_INVALID, *pos, "expected %s (%s), found %s", what,
                    ber_id_name(id), ber_id_name(tlv.id));
    }
    size_t i = add_node(p, &tlv, *pos);
    if (id == BER_ID_UTF8) {
        if (!check_text(p, *pos, &tlv, what)) {
            return false;
        }
        if (tlv.len == 0) {
            return perr(p, VMS_ERROR_INVALID, *pos, "%s is empty", what);
        }
    } else {
        bool negative;
        uint64_t v;
        if (!decode_integer(p, *pos, &tlv, &negative, &v)) {
            return false;
        }
        if (negative || v > INT_MAX) {
            return perr(p, VMS_ERROR_RANGE, *pos, "%s out of range", what);
        }
        node_at(p, i)->value = v;
    }
    node_at(p, i)->end = i + 1;
    *pos += tlv.hdr + tlv.len;
    return true;
}

static bool parse_value(Parse *p, size_t *pos, size_t limit, unsigned depth);

/* A primitive whose contents have one size only (BOOLEAN, NULL, number). */
static bool fixed_size(Parse *p, size_t at, const BerTlv *tlv, size_t size)
{
    if (tlv->len == size) {
        return true;
    }
    return perr(p, VMS_ERROR_INVALID, at, "%s of %zu bytes (expected %zu)",
                tlv->id == BER_ID_BOOLEAN ? "BOOLEAN" : tlv->id == BER_ID_NULL ? "NULL" : "number",
                tlv->len, size);
}

static bool parse_list(Parse *p, size_t start, size_t end, unsigned depth)
{
    Seg seg = { .kind = SEG_INDEX };
    g_array_append_val(p->path, seg);
    size_t pos = start;
    for (size_t i = 0; pos < end; i++) {
        g_array_index(p->path, Seg, p->path->len - 1).index = i;
        if (!parse_value(p, &pos, end, depth + 1)) {
            return false;
        }
    }
    g_array_set_size(p->path, p->path->len - 1);
    return true;
}

static bool parse_struct(Parse *p, uint8_t id, size_t start, size_t end, unsigned depth)
{
    size_t pos = start;
    bool named_root = false;
    if (id == BER_ID_DESCRIBED) {
        size_t at = p->nodes->len;
        if (!parse_leaf(p, &pos, end, BER_ID_UTF8, "the description name")) {
            return false;
        }
        if (depth == 0) {               /* paths start with the top description's name */
            Seg seg = { .kind = SEG_NAME, .name = p->data + node_at(p, at)->content,
                        .len = node_at(p, at)->len };
            g_array_append_val(p->path, seg);
            named_root = true;
        }
    }
    if ((id == BER_ID_DESCRIBED || id == BER_ID_SUBSECTION) &&
        !parse_leaf(p, &pos, end, BER_ID_INTEGER, "the version")) {
        return false;
    }
    Seg seg = { .kind = SEG_NONE };
    g_array_append_val(p->path, seg);
    while (pos < end) {
        size_t at = p->nodes->len, name_pos = pos;
        if (!parse_leaf(p, &pos, end, BER_ID_UTF8, "a field name")) {
            return false;
        }
        Seg *s = &g_array_index(p->path, Seg, p->path->len - 1);
        s->kind = SEG_NAME;
        s->name = p->data + node_at(p, at)->content;
        s->len = node_at(p, at)->len;
        if (pos == end) {
            return perr(p, VMS_ERROR_MISSING, name_pos, "the field has no value");
        }
        if (!parse_value(p, &pos, end, depth + 1)) {
            return false;
        }
    }
    g_array_set_size(p->path, p->path->len - 1 - named_root);
    return true;
}

static bool parse_value(Parse *p, size_t *pos, size_t limit, unsigned depth)
{
    BerTlv tlv;
    if (depth > BER_MAX_DEPTH) {
        return perr(p, VMS_ERROR_RANGE, *pos, "nested deeper than %d levels", BER_MAX_DEPTH);
    }
    if (!read_tlv(p, *pos, limit, depth == 0, &tlv)) {
        return false;
    }
    size_t at = *pos, i = add_node(p, &tlv, at);
    size_t start = at + tlv.hdr, end = start + tlv.len;
    bool ok = true;
    uint64_t value = 0;

    if (tlv.id >= BER_ID_INT(0) && tlv.id <= BER_ID_INT(7)) {
        ok = check_int(p, at, &tlv, (VisitIntKind)(tlv.id - BER_ID_INT(0)), &value);
    } else {
        switch (tlv.id) {
        case BER_ID_BOOLEAN:
            ok = fixed_size(p, at, &tlv, 1);
            value = ok && p->data[start] != 0;
            break;
        case BER_ID_NUMBER:
            ok = fixed_size(p, at, &tlv, 8);
            break;
        case BER_ID_STRING:
            ok = check_text(p, at, &tlv, "string");
            break;
        case BER_ID_OCTETS:
            ok = decode_string(p, at, &tlv);
            break;
        case BER_ID_NULL:
            ok = fixed_size(p, at, &tlv, 0);
            break;
        case BER_ID_LIST:
            ok = parse_list(p, start, end, depth);
            break;
        case BER_ID_STRUCT:
        case BER_ID_DESCRIBED:
        case BER_ID_SUBSECTION:
            ok = parse_struct(p, tlv.id, start, end, depth);
            break;
        case BER_ID_INTEGER:
        case BER_ID_UTF8:
            return perr(p, VMS_ERROR_INVALID, at, "expected a value, found %s",
                        ber_id_name(tlv.id));
        default:
            return perr(p, VMS_ERROR_INVALID, at, "unknown element 0x%02x", tlv.id);
        }
    }
    if (!ok) {
        return false;
    }
    node_at(p, i)->value = value;
    node_at(p, i)->end = p->nodes->len;
    *pos = end;
    return true;
}

BerValue *ber_value_parse(const uint8_t *data, size_t len, uint64_t origin, GError **errp)
{
    Parse p = {
        .data = data,
        .len = len,
        .origin = origin,
        /* An element takes 3 bytes at least: room for most inputs at once. */
        .nodes = g_array_sized_new(FALSE, FALSE, sizeof(BerNode), (guint)MIN(len / 3 + 1, 4096)),
        .path = g_array_new(FALSE, FALSE, sizeof(Seg)),
        .errp = errp,
    };
    size_t pos = 0;
    bool ok = parse_value(&p, &pos, len, 0);
    if (ok && pos != len) {
        ok = perr(&p, VMS_ERROR_EXTRA, pos, "%zu bytes after the value", len - pos);
    }
    g_array_free(p.path, TRUE);
    if (!ok) {
        g_array_free(p.nodes, TRUE);
        return NULL;
    }
    BerValue *bv = g_new(BerValue, 1);
    *bv = (BerValue){ .data = data, .len = len, .origin = origin, .nodes = p.nodes };
    return bv;
}

void ber_value_free(BerValue *bv)
{
    if (bv) {
        g_array_free(bv->nodes, TRUE);
        g_free(bv);
    }
}

bool ber_node_is(const BerValue *bv, const BerNode *n, const char *s)
{
    size_t len = strlen(s);
    return n->len == len && memcmp(bv->data + n->content, s, len) == 0;
}

char *ber_node_strdup(const BerValue *bv, const BerNode *n)
{
    return g_strndup((const char *)bv->data + n->content, n->len);
}

size_t ber_struct_first_member(const BerValue *bv, size_t index)
{
    const BerNode *n = ber_node(bv, index);
    size_t first = index + (n->id == BER_ID_DESCRIBED ? 3 : n->id == BER_ID_SUBSECTION ? 2 : 1);
    return first < n->end ? first : n->end;
}

/*
 * BER output visitor: each visited value as an element of vmscope's ASN.1
 * module, members preceded by their names.  See include/vmscope/ber-visitor.h.
 */
#include "config.h"

#include <string.h>

#include "vmscope/ber-visitor.h"
#include "visitor-impl.h"

typedef struct BerOutputVisitor {
    Visitor visitor;
    ByteWriter own;         /* ber_output_visitor_new: the result */
    BerWriter bw;
} BerOutputVisitor;

static BerWriter *bw_of(Visitor *v)
{
    return &((BerOutputVisitor *)v)->bw;
}

/* A member of a struct is preceded by its name; list elements and the top are not. */
static void put_name(Visitor *v, const char *name)
{
    if (visit_depth(v) > 0 && !visit_in_list(v, NULL)) {
        const char *n = name ? name : "";
        ber_put_string(bw_of(v), BER_ID_UTF8, n, strlen(n));
    }
}

/*
 * Where a member starts: its name, if it has one (in a struct), into buf
 * when short, as names are (the bytes there are returned), else appended
 * at once (0 returned).  The caller adds the value after them in buf and
 * appends it all in one go.
 */
#define INLINE_NAME 240
#define MEMBER_BUF (BER_MAX_HEADER + INLINE_NAME + BER_MAX_HEADER + BER_MAX_INT)
static size_t member_name(Visitor *v, const char *name, uint8_t *buf)
{
    if (visit_depth(v) == 0 || visit_in_list(v, NULL)) {
        return 0;
    }
    name = name ? name : "";
    size_t len = strlen(name);
    if (len > INLINE_NAME) {
        put_name(v, name);
        return 0;
    }
    size_t k = ber_encode_header(buf, BER_ID_UTF8, len);
    memcpy(buf + k, name, len);
    return k + len;
}

static void append(Visitor *v, const void *data, size_t len)
{
    byte_writer_write(bw_of(v)->w, data, len);
}

static bool bo_start_struct(Visitor *v, const char *name, VisitStructInfo *info, GError **errp)
{
    BerWriter *bw = bw_of(v);
    VisitStructKind kind = info ? info->kind : VISIT_STRUCT_PLAIN;
    put_name(v, name);
    switch (kind) {
    case VISIT_STRUCT_PLAIN:
        ber_open(bw, BER_ID_STRUCT);
        break;
    case VISIT_STRUCT_VMSD:
    case VISIT_STRUCT_NESTED_VMSD: {
        const char *desc = info->vmsd_name ? info->vmsd_name : "";
        ber_open(bw, BER_ID_DESCRIBED);
        ber_put_string(bw, BER_ID_UTF8, desc, strlen(desc));
        ber_put_int(bw, BER_ID_INTEGER, info->version_id);
        break;
    }
    case VISIT_STRUCT_SUBSECTION:
        ber_open(bw, BER_ID_SUBSECTION);
        ber_put_int(bw, BER_ID_INTEGER, info->version_id);
        break;
    }
    return true;
}

static void bo_close(Visitor *v)
{
    ber_close(bw_of(v));
}

static bool bo_start_list(Visitor *v, const char *name, size_t *len, GError **errp)
{
    put_name(v, name);
    ber_open(bw_of(v), BER_ID_LIST);
    return true;
}

static bool bo_type_bool(Visitor *v, const char *name, bool *obj, GError **errp)
{
    uint8_t buf[MEMBER_BUF];
    size_t k = member_name(v, name, buf);
    buf[k] = BER_ID_BOOLEAN;
    buf[k + 1] = 1;
    buf[k + 2] = *obj ? 0xff : 0x00;
    append(v, buf, k + 3);
    return true;
}

/* An integer member: the 64 bits of a signed or an unsigned value of its kind. */
static bool put_integer(Visitor *v, const char *name, VisitIntKind kind, uint64_t bits)
{
    uint8_t buf[MEMBER_BUF];
    size_t k = member_name(v, name, buf);
    k += visit_int_kind_signed(kind) ? ber_encode_int(buf + k, BER_ID_INT(kind), (int64_t)bits)
                                     : ber_encode_uint(buf + k, BER_ID_INT(kind), bits);
    append(v, buf, k);
    return true;
}

static bool bo_type_int(Visitor *v, const char *name, VisitIntKind kind, int64_t *obj,
                        GError **errp)
{
    return put_integer(v, name, kind, (uint64_t)*obj);
}

static bool bo_type_uint(Visitor *v, const char *name, VisitIntKind kind, uint64_t *obj,
                         GError **errp)
{
    return put_integer(v, name, kind, *obj);
}

/* A primitive of len bytes at data under identifier id. */
static void put_primitive(Visitor *v, const char *name, uint8_t id, const void *data, size_t len)
{
    uint8_t buf[MEMBER_BUF];
    size_t k = member_name(v, name, buf);
    append(v, buf, k + ber_encode_header(buf + k, id, len));
    if (len) {
        append(v, data, len);
    }
}

static bool bo_type_str(Visitor *v, const char *name, char **obj, GError **errp)
{
    const char *s = *obj ? *obj : "";
    put_primitive(v, name, BER_ID_STRING, s, strlen(s));
    return true;
}

static bool bo_type_number(Visitor *v, const char *name, double *obj, GError **errp)
{
    uint64_t bits;
    uint8_t be[8];
    memcpy(&bits, obj, sizeof(bits));
    for (unsigned i = 0; i < 8; i++) {
        be[i] = (uint8_t)(bits >> (56 - 8 * i));
    }
    put_primitive(v, name, BER_ID_NUMBER, be, sizeof(be));
    return true;
}

static bool bo_type_buffer(Visitor *v, const char *name, uint8_t *buf, size_t len,
                           GError **errp)
{
    put_primitive(v, name, BER_ID_OCTETS, buf, len);
    return true;
}

static bool bo_type_null(Visitor *v, const char *name, GError **errp)
{
    put_primitive(v, name, BER_ID_NULL, NULL, 0);
    return true;
}

static void bo_free(Visitor *v)
{
    BerOutputVisitor *bo = (BerOutputVisitor *)v;
    ber_writer_clear(&bo->bw);
    if (bo->own.buf) {
        byte_writer_clear(&bo->own);
    }
}

Visitor *ber_output_visitor_new_writer(ByteWriter *w)
{
    BerOutputVisitor *bo = g_new0(BerOutputVisitor, 1);
    Visitor *v = &bo->visitor;
    visitor_init(v, VISITOR_OUTPUT);
    v->start_struct = bo_start_struct;
    v->end_struct = bo_close;
    v->start_list = bo_start_list;
    v->end_list = bo_close;
    v->type_bool = bo_type_bool;
    v->type_int = bo_type_int;
    v->type_uint = bo_type_uint;
    v->type_str = bo_type_str;
    v->type_number = bo_type_number;
    v->type_buffer = bo_type_buffer;
    v->type_null = bo_type_null;
    v->free = bo_free;
    ber_writer_init(&bo->bw, w ? w : &bo->own);
    return v;
}

Visitor *ber_output_visitor_new(void)
{
    BerOutputVisitor *bo;
    Visitor *v = ber_output_visitor_new_writer(NULL);
    bo = (BerOutputVisitor *)v;
    byte_writer_init(&bo->own);
    return v;
}

GBytes *ber_output_visitor_take(Visitor *v)
{
    BerOutputVisitor *bo = (BerOutputVisitor *)v;
    g_assert(bo->own.buf && bo->bw.w == &bo->own);
    return byte_writer_take(&bo->own);
}

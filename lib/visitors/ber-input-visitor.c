/*
 * BER input visitor: a type-checked load.  See include/vmscope/ber-visitor.h.
 *
 * The input is parsed whole before the walk (ber_value_parse), so the walk
 * only compares: a stack of open structs and lists mirrors it, each struct
 * frame finds members by name (the next one in order first, then any) and
 * counts what was taken, so that check_struct can name what nobody asked
 * for.  Every mismatch says what the stream has and what the description
 * (the walk) expects, at the member's full path.
 */
#include "config.h"

#include <string.h>

#include "vmscope/ber-visitor.h"
#include "visitor-impl.h"

typedef struct BivFrame {
    size_t node;            /* the struct or list */
    size_t next;            /* struct: the name expected next; list: the next element */
    size_t members;         /* struct: how many; list: elements */
    size_t taken;           /* struct: members taken so far */
} BivFrame;

typedef struct BerInputVisitor {
    Visitor visitor;
    const BerValue *bv;
    BerValue *own;          /* bv, when the visitor parsed it */
    GBytes *keep;           /* ber_input_visitor_new_bytes */
    uint8_t *taken;         /* per node: a member name already taken */
    GArray *frames;         /* BivFrame */
    bool root_taken;
} BerInputVisitor;

static BerInputVisitor *to_biv(Visitor *v)
{
    return (BerInputVisitor *)v;
}

static BivFrame *top_frame(BerInputVisitor *biv)
{
    return biv->frames->len ? &g_array_index(biv->frames, BivFrame, biv->frames->len - 1) : NULL;
}

static const BerNode *node(BerInputVisitor *biv, size_t i)
{
    return ber_node(biv->bv, i);
}

/* What the stream has at node i, for messages: "uint16", "buffer[8]", "struct Fifo8". */
static char *found_name(BerInputVisitor *biv, size_t i)
{
    const BerNode *n = node(biv, i);
    if (n->id == BER_ID_OCTETS) {
        return g_strdup_printf("buffer[%zu]", n->len);
    }
    if (n->id == BER_ID_DESCRIBED) {
        g_autofree char *desc = ber_node_strdup(biv->bv, node(biv, i + 1));
        return g_strdup_printf("struct %s", desc);
    }
    return g_strdup(ber_id_name(n->id));
}

static bool mismatch(Visitor *v, const char *name, size_t i, const char *expected, GError **errp)
{
    g_autofree char *found = found_name(to_biv(v), i);
    visit_error(v, name, errp, VMS_ERROR_INVALID, "stream has %s, description expects %s", found,
                expected);
    return false;
}

/* The member `name` of struct frame f not taken yet: its name node, or 0. */
static size_t find_member(BerInputVisitor *biv, const BivFrame *f, const char *name)
{
    size_t end = node(biv, f->node)->end;
    if (f->next < end && !biv->taken[f->next] && ber_node_is(biv->bv, node(biv, f->next), name)) {
        return f->next;
    }
    for (size_t i = ber_struct_first_member(biv->bv, f->node); i < end; i = node(biv, i + 1)->end) {
        if (!biv->taken[i] && ber_node_is(biv->bv, node(biv, i), name)) {
            return i;
        }
    }
    return 0;
}

/* The node the visit of `name` reads: the root, the next element, or the member. */
static bool take(Visitor *v, const char *name, size_t *out, GError **errp)
{
    BerInputVisitor *biv = to_biv(v);
    BivFrame *f = top_frame(biv);
    if (!f) {
        if (biv->root_taken) {
            visit_error(v, name, errp, VMS_ERROR_MISSING, "the stream has one value only");
            return false;
        }
        biv->root_taken = true;
        *out = 0;
        return true;
    }
    if (node(biv, f->node)->id == BER_ID_LIST) {
        if (f->next >= node(biv, f->node)->end) {
            visit_error(v, name, errp, VMS_ERROR_MISSING, "missing from the stream");
            return false;
        }
        *out = f->next;
        f->next = node(biv, f->next)->end;
        return true;
    }
    size_t i = find_member(biv, f, name);
    if (!i) {
        visit_error(v, name, errp, VMS_ERROR_MISSING, "missing from the stream");
        return false;
    }
    biv->taken[i] = 1;
    f->taken++;
    f->next = node(biv, i + 1)->end;
    *out = i + 1;
    return true;
}

/* Take `name` and check that it is an element with identifier id. */
static bool take_typed(Visitor *v, const char *name, uint8_t id, const char *expected,
                       size_t *out, GError **errp)
{
    if (!take(v, name, out, errp)) {
        return false;
    }
    if (node(to_biv(v), *out)->id != id) {
        return mismatch(v, name, *out, expected, errp);
    }
    return true;
}

static void push(BerInputVisitor *biv, size_t i, size_t first, size_t count)
{
    BivFrame f = { .node = i, .next = first, .members = count };
    g_array_append_val(biv->frames, f);
}

static bool biv_start_struct(Visitor *v, const char *name, VisitStructInfo *info, GError **errp)
{
    BerInputVisitor *biv = to_biv(v);
    VisitStructKind kind = info ? info->kind : VISIT_STRUCT_PLAIN;
    size_t i;
    if (!take(v, name, &i, errp)) {
        return false;
    }
    uint8_t id = node(biv, i)->id;
    switch (kind) {
    case VISIT_STRUCT_PLAIN:
        if (id != BER_ID_STRUCT && id != BER_ID_DESCRIBED) {
            return mismatch(v, name, i, "struct", errp);
        }
        break;
    case VISIT_STRUCT_VMSD:
    case VISIT_STRUCT_NESTED_VMSD:
        if (id != BER_ID_DESCRIBED || !ber_node_is(biv->bv, node(biv, i + 1), info->vmsd_name)) {
            g_autofree char *expected = g_strdup_printf("struct %s", info->vmsd_name);
            return mismatch(v, name, i, expected, errp);
        }
        info->version_id = (int)node(biv, i + 2)->value;
        break;
    case VISIT_STRUCT_SUBSECTION:
        if (id != BER_ID_SUBSECTION) {
            return mismatch(v, name, i, "subsection", errp);
        }
        info->version_id = (int)node(biv, i + 1)->value;
        break;
    }
    size_t first = ber_struct_first_member(biv->bv, i), count = 0;
    for (size_t m = first; m < node(biv, i)->end; m = node(biv, m + 1)->end) {
        count++;
    }
    push(biv, i, first, count);
    return true;
}

static bool biv_check_struct(Visitor *v, GError **errp)
{
    BerInputVisitor *biv = to_biv(v);
    BivFrame *f = top_frame(biv);
    if (f->taken == f->members) {
        return true;
    }
    size_t end = node(biv, f->node)->end, first = ber_struct_first_member(biv->bv, f->node);
    for (size_t i = first; i < end; i = node(biv, i + 1)->end) {
        if (biv->taken[i]) {
            continue;
        }
        g_autofree char *field = ber_node_strdup(biv->bv, node(biv, i));
        const char *what = node(biv, i + 1)->id == BER_ID_SUBSECTION ? "subsection" : "field";
        for (size_t j = first; j < end; j = node(biv, j + 1)->end) {
            if (biv->taken[j] && ber_node_is(biv->bv, node(biv, j), field)) {
                visit_error(v, NULL, errp, VMS_ERROR_EXTRA, "duplicate %s '%s' in the stream",
                            what, field);
                return false;
            }
        }
        visit_error(v, NULL, errp, VMS_ERROR_EXTRA, "unexpected %s '%s' in the stream", what,
                    field);
        return false;
    }
    g_assert_not_reached();
}

static void biv_end(Visitor *v)
{
    BerInputVisitor *biv = to_biv(v);
    g_array_set_size(biv->frames, biv->frames->len - 1);
}

static bool biv_start_list(Visitor *v, const char *name, size_t *len, GError **errp)
{
    BerInputVisitor *biv = to_biv(v);
    size_t i, count = 0;
    if (!take_typed(v, name, BER_ID_LIST, "list", &i, errp)) {
        return false;
    }
    for (size_t e = i + 1; e < node(biv, i)->end; e = node(biv, e)->end) {
        count++;
    }
    if (*len != VISIT_LEN_UNKNOWN && *len != count) {
        visit_error(v, name, errp, count < *len ? VMS_ERROR_MISSING : VMS_ERROR_EXTRA,
                    "stream has %zu elements, description expects %zu", count, *len);
        return false;
    }
    *len = count;
    push(biv, i, i + 1, count);
    return true;
}

static bool biv_check_list(Visitor *v, GError **errp)
{
    BerInputVisitor *biv = to_biv(v);
    BivFrame *f = top_frame(biv);
    if (f->next < node(biv, f->node)->end) {
        size_t index = 0;
        for (size_t e = f->node + 1; e < f->next; e = node(biv, e)->end) {
            index++;
        }
        visit_error(v, NULL, errp, VMS_ERROR_EXTRA, "unexpected element [%zu] in the stream",
                    index);
        return false;
    }
    return true;
}

static bool biv_optional(Visitor *v, const char *name, bool *present)
{
    BerInputVisitor *biv = to_biv(v);
    BivFrame *f = top_frame(biv);
    *present = f && node(biv, f->node)->id != BER_ID_LIST && find_member(biv, f, name) != 0;
    return *present;
}

static bool biv_type_bool(Visitor *v, const char *name, bool *obj, GError **errp)
{
    size_t i;
    if (!take_typed(v, name, BER_ID_BOOLEAN, "bool", &i, errp)) {
        return false;
    }
    *obj = node(to_biv(v), i)->value != 0;
    return true;
}

/* An integer member of exactly this kind: its 64 bits (two's complement if signed). */
static bool take_integer(Visitor *v, const char *name, VisitIntKind kind, uint64_t *bits,
                         GError **errp)
{
    size_t i;
    if (!take_typed(v, name, BER_ID_INT(kind), visit_int_kind_name(kind), &i, errp)) {
        return false;
    }
    *bits = node(to_biv(v), i)->value;
    return true;
}

static bool biv_type_int(Visitor *v, const char *name, VisitIntKind kind, int64_t *obj,
                         GError **errp)
{
    uint64_t bits;
    if (!take_integer(v, name, kind, &bits, errp)) {
        return false;
    }
    *obj = (int64_t)bits;
    return true;
}

static bool biv_type_uint(Visitor *v, const char *name, VisitIntKind kind, uint64_t *obj,
                          GError **errp)
{
    return take_integer(v, name, kind, obj, errp);
}

static bool biv_type_str(Visitor *v, const char *name, char **obj, GError **errp)
{
    size_t i;
    if (!take_typed(v, name, BER_ID_STRING, "string", &i, errp)) {
        return false;
    }
    *obj = ber_node_strdup(to_biv(v)->bv, node(to_biv(v), i));
    return true;
}

static bool biv_type_number(Visitor *v, const char *name, double *obj, GError **errp)
{
    BerInputVisitor *biv = to_biv(v);
    size_t i;
    if (!take_typed(v, name, BER_ID_NUMBER, "number", &i, errp)) {
        return false;
    }
    const uint8_t *p = ber_node_data(biv->bv, node(biv, i));
    uint64_t bits = 0;
    for (unsigned k = 0; k < 8; k++) {
        bits = bits << 8 | p[k];
    }
    memcpy(obj, &bits, sizeof(bits));
    return true;
}

static bool biv_type_buffer(Visitor *v, const char *name, uint8_t *buf, size_t len,
                            GError **errp)
{
    BerInputVisitor *biv = to_biv(v);
    g_autofree char *expected = g_strdup_printf("buffer[%zu]", len);
    size_t i;
    if (!take_typed(v, name, BER_ID_OCTETS, expected, &i, errp)) {
        return false;
    }
    const BerNode *n = node(biv, i);
    if (n->len != len) {
        return mismatch(v, name, i, expected, errp);
    }
    memcpy(buf, ber_node_data(biv->bv, n), len);
    return true;
}

static bool biv_type_null(Visitor *v, const char *name, GError **errp)
{
    size_t i;
    return take_typed(v, name, BER_ID_NULL, "null", &i, errp);
}

static void biv_free(Visitor *v)
{
    BerInputVisitor *biv = to_biv(v);
    ber_value_free(biv->own);
    g_free(biv->taken);
    g_array_free(biv->frames, TRUE);
    if (biv->keep) {
        g_bytes_unref(biv->keep);
    }
}

Visitor *ber_input_visitor_new_value(const BerValue *bv)
{
    BerInputVisitor *biv = g_new0(BerInputVisitor, 1);
    Visitor *v = &biv->visitor;
    visitor_init(v, VISITOR_INPUT);
    v->start_struct = biv_start_struct;
    v->check_struct = biv_check_struct;
    v->end_struct = biv_end;
    v->start_list = biv_start_list;
    v->check_list = biv_check_list;
    v->end_list = biv_end;
    v->optional = biv_optional;
    v->type_bool = biv_type_bool;
    v->type_int = biv_type_int;
    v->type_uint = biv_type_uint;
    v->type_str = biv_type_str;
    v->type_number = biv_type_number;
    v->type_buffer = biv_type_buffer;
    v->type_null = biv_type_null;
    v->free = biv_free;
    biv->bv = bv;
    biv->taken = g_malloc0(bv->nodes->len);
    biv->frames = g_array_new(FALSE, FALSE, sizeof(BivFrame));
    return v;
}

Visitor *ber_input_visitor_new(const uint8_t *data, size_t len, uint64_t origin, GError **errp)
{
    BerValue *bv = ber_value_parse(data, len, origin, errp);
    if (!bv) {
        return NULL;
    }
    Visitor *v = ber_input_visitor_new_value(bv);
    to_biv(v)->own = bv;
    return v;
}

Visitor *ber_input_visitor_new_bytes(GBytes *data, GError **errp)
{
    gsize len;
    const uint8_t *p = g_bytes_get_data(data, &len);
    Visitor *v = ber_input_visitor_new(p ? p : (const uint8_t *)"", len, 0, errp);
    if (v) {
        to_biv(v)->keep = g_bytes_ref(data);
    }
    return v;
}

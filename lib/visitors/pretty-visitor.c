/*
 * Pretty-print output visitor (see include/vmscope/pretty-visitor.h and the
 * "Pretty-print" section of docs/formats.md).
 *
 * The walk builds a small tree of nodes and the text is rendered when it is
 * taken: how a list prints (on one line or one element per line, and the
 * element type in its header) depends on elements not yet visited when the
 * list starts.
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "vmscope/bytes.h"
#include "vmscope/pretty-visitor.h"
#include "visitor-impl.h"

/* Lists of at most this many numbers or bools print on one line. */
#define PRETTY_COMPACT_MAX 16
/* Buffers longer than one row of this many bytes print as rows with offsets. */
#define PRETTY_ROW_BYTES 16

typedef enum PrettyNodeKind {
    PRETTY_VALUE,       /* a scalar: bool, integer, double, string */
    PRETTY_BUFFER,
    PRETTY_STRUCT,
    PRETTY_LIST,
    PRETTY_ABSENT,      /* an optional member that is not there */
    PRETTY_NULL,        /* a value known to be absent (visit_type_null) */
} PrettyNodeKind;

typedef struct PrettyNode {
    PrettyNodeKind kind;
    char *name;             /* member name; NULL for list elements */
    const char *type;       /* VALUE: "uint8", "bool", "double", "string"... (static) */
    char *text;             /* VALUE: the value as printed on its own line */
    char *compact;          /* VALUE: the value inside a one-line list; NULL: never */
    GBytes *bytes;          /* BUFFER */
    bool has_info;          /* STRUCT: VisitStructInfo given */
    VisitStructKind struct_kind;
    char *vmsd_name;
    int version_id;
    GPtrArray *children;    /* STRUCT, LIST: of PrettyNode */
} PrettyNode;

typedef struct PrettyOutputVisitor {
    Visitor visitor;
    PrettyNode *top;        /* a LIST holding the values visited at the top level */
    GPtrArray *stack;       /* open structs and lists (borrowed from top) */
} PrettyOutputVisitor;

static PrettyOutputVisitor *to_pov(Visitor *v)
{
    return (PrettyOutputVisitor *)v;
}

static void pretty_node_free(gpointer p)
{
    PrettyNode *n = p;
    g_free(n->name);
    g_free(n->text);
    g_free(n->compact);
    if (n->bytes) {
        g_bytes_unref(n->bytes);
    }
    g_free(n->vmsd_name);
    if (n->children) {
        g_ptr_array_free(n->children, TRUE);
    }
    g_free(n);
}

static PrettyNode *pretty_node_new(PrettyNodeKind kind, const char *name)
{
    PrettyNode *n = g_new0(PrettyNode, 1);
    n->kind = kind;
    n->name = g_strdup(name);
    if (kind == PRETTY_STRUCT || kind == PRETTY_LIST) {
        n->children = g_ptr_array_new_with_free_func(pretty_node_free);
    }
    return n;
}

/* Add `n` to the innermost open container; it takes `n`. */
static PrettyNode *pov_add(PrettyOutputVisitor *pov, PrettyNode *n)
{
    PrettyNode *parent = pov->stack->len ? g_ptr_array_index(pov->stack, pov->stack->len - 1)
                                         : pov->top;
    g_ptr_array_add(parent->children, n);
    return n;
}

static void pov_add_value(PrettyOutputVisitor *pov, const char *name, const char *type,
                          char *text, char *compact)
{
    PrettyNode *n = pretty_node_new(PRETTY_VALUE, name);
    n->type = type;
    n->text = text;
    n->compact = compact;
    pov_add(pov, n);
}

static bool pov_start_struct(Visitor *v, const char *name, VisitStructInfo *info, GError **errp)
{
    PrettyOutputVisitor *pov = to_pov(v);
    PrettyNode *n = pretty_node_new(PRETTY_STRUCT, name);
    if (info) {
        n->has_info = true;
        n->struct_kind = info->kind;
        n->vmsd_name = g_strdup(info->vmsd_name);
        n->version_id = info->version_id;
    }
    g_ptr_array_add(pov->stack, pov_add(pov, n));
    return true;
}

static void pov_end(Visitor *v)
{
    PrettyOutputVisitor *pov = to_pov(v);
    g_ptr_array_set_size(pov->stack, pov->stack->len - 1);
}

static bool pov_start_list(Visitor *v, const char *name, size_t *len, GError **errp)
{
    PrettyOutputVisitor *pov = to_pov(v);
    g_ptr_array_add(pov->stack, pov_add(pov, pretty_node_new(PRETTY_LIST, name)));
    return true;
}

static bool pov_optional(Visitor *v, const char *name, bool *present)
{
    if (!*present) {
        pov_add(to_pov(v), pretty_node_new(PRETTY_ABSENT, name));
    }
    return *present;
}

static bool pov_type_bool(Visitor *v, const char *name, bool *obj, GError **errp)
{
    const char *s = *obj ? "true" : "false";
    pov_add_value(to_pov(v), name, "bool", g_strdup(s), g_strdup(s));
    return true;
}

static bool pov_type_int(Visitor *v, const char *name, VisitIntKind kind, int64_t *obj,
                         GError **errp)
{
    pov_add_value(to_pov(v), name, visit_int_kind_name(kind),
                  g_strdup_printf("%" PRId64, *obj), g_strdup_printf("%" PRId64, *obj));
    return true;
}

static bool pov_type_uint(Visitor *v, const char *name, VisitIntKind kind, uint64_t *obj,
                          GError **errp)
{
    int digits = 2 * (int)visit_int_kind_bytes(kind);
    pov_add_value(to_pov(v), name, visit_int_kind_name(kind),
                  g_strdup_printf("%" PRIu64 " (0x%0*" PRIx64 ")", *obj, digits, *obj),
                  g_strdup_printf("0x%0*" PRIx64, digits, *obj));
    return true;
}

static bool pov_type_str(Visitor *v, const char *name, char **obj, GError **errp)
{
    char *text;
    if (*obj) {
        g_autofree char *escaped = g_strescape(*obj, NULL);
        text = g_strdup_printf("\"%s\"", escaped);
    } else {
        text = g_strdup("(null)");
    }
    pov_add_value(to_pov(v), name, "string", text, NULL);
    return true;
}

/* The shortest of %.15g, %.16g, %.17g that reads back as the same double. */
static char *pretty_format_double(double d)
{
    static const char *const formats[] = { "%.15g", "%.16g", "%.17g" };
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    for (size_t i = 0; i < G_N_ELEMENTS(formats); i++) {
        g_ascii_formatd(buf, sizeof(buf), formats[i], d);
        if (g_ascii_strtod(buf, NULL) == d) {
            break;
        }
    }
    return g_strdup(buf);
}

static bool pov_type_number(Visitor *v, const char *name, double *obj, GError **errp)
{
    pov_add_value(to_pov(v), name, "double", pretty_format_double(*obj),
                  pretty_format_double(*obj));
    return true;
}

static bool pov_type_buffer(Visitor *v, const char *name, uint8_t *buf, size_t len,
                            GError **errp)
{
    PrettyNode *n = pretty_node_new(PRETTY_BUFFER, name);
    n->bytes = g_bytes_new(buf, len);
    pov_add(to_pov(v), n);
    return true;
}

static bool pov_type_null(Visitor *v, const char *name, GError **errp)
{
    pov_add(to_pov(v), pretty_node_new(PRETTY_NULL, name));
    return true;
}

/* Rendering. */

static void pretty_indent(GString *out, unsigned depth)
{
    for (unsigned i = 0; i < depth; i++) {
        g_string_append(out, "  ");
    }
}

/* "LABEL: " or nothing. */
static void pretty_label(GString *out, const char *label)
{
    if (label) {
        g_string_append_printf(out, "%s: ", label);
    }
}

static void pretty_render_buffer(GString *out, const PrettyNode *n, const char *label,
                                 unsigned depth)
{
    gsize len;
    const uint8_t *p = g_bytes_get_data(n->bytes, &len);

    pretty_label(out, label);
    g_string_append_printf(out, "buffer[%zu] =", (size_t)len);
    if (len == 0) {
        g_string_append(out, " (empty)\n");
        return;
    }
    if (len <= PRETTY_ROW_BYTES) {
        g_string_append_c(out, ' ');
        hex_append(out, p, len, ' ');
        g_string_append_c(out, '\n');
        return;
    }
    g_string_append_c(out, '\n');
    int width = 4;
    while (width < 16 && (len - 1) >> (4 * width)) {
        width++;
    }
    for (size_t off = 0; off < len; off += PRETTY_ROW_BYTES) {
        pretty_indent(out, depth + 1);
        g_string_append_printf(out, "%0*zx: ", width, off);
        hex_append(out, p + off, MIN((size_t)PRETTY_ROW_BYTES, len - off), ' ');
        g_string_append_c(out, '\n');
    }
}

/* The common scalar type of a list's elements, or NULL if they differ or are not scalars. */
static const char *pretty_list_type(const PrettyNode *list)
{
    const char *type = NULL;
    for (guint i = 0; i < list->children->len; i++) {
        const PrettyNode *e = g_ptr_array_index(list->children, i);
        if (e->kind != PRETTY_VALUE || (type && strcmp(type, e->type) != 0)) {
            return NULL;
        }
        type = e->type;
    }
    return type;
}

static bool pretty_list_compact(const PrettyNode *list)
{
    if (list->children->len > PRETTY_COMPACT_MAX || !pretty_list_type(list)) {
        return false;
    }
    for (guint i = 0; i < list->children->len; i++) {
        const PrettyNode *e = g_ptr_array_index(list->children, i);
        if (!e->compact) {
            return false;
        }
    }
    return true;
}

static void pretty_render(GString *out, const PrettyNode *n, const char *label, unsigned depth);

static void pretty_render_struct(GString *out, const PrettyNode *n, const char *label,
                                 unsigned depth)
{
    g_autoptr(GString) head = g_string_new(label);
    g_autofree char *decor = NULL;

    if (n->has_info && n->struct_kind == VISIT_STRUCT_SUBSECTION) {
        decor = g_strdup_printf("subsection %s, version %d",
                                n->vmsd_name ? n->vmsd_name : "?", n->version_id);
        if (!label || (n->vmsd_name && strcmp(label, n->vmsd_name) == 0)) {
            g_string_assign(head, decor);       /* the name says nothing more */
        } else {
            g_string_append_printf(head, " (%s)", decor);
        }
    } else if (n->has_info && n->struct_kind != VISIT_STRUCT_PLAIN) {
        if (n->vmsd_name) {
            decor = g_strdup_printf("(vmsd %s, version %d)", n->vmsd_name, n->version_id);
        } else {
            decor = g_strdup_printf("(version %d)", n->version_id);
        }
        g_string_append_printf(head, "%s%s", head->len ? " " : "", decor);
    }
    g_string_append(out, head->str);
    g_string_append(out, head->len ? " {" : "{");
    if (n->children->len == 0) {
        g_string_append(out, "}\n");
        return;
    }
    g_string_append_c(out, '\n');
    for (guint i = 0; i < n->children->len; i++) {
        const PrettyNode *c = g_ptr_array_index(n->children, i);
        pretty_render(out, c, c->name, depth + 1);
    }
    pretty_indent(out, depth);
    g_string_append(out, "}\n");
}

static void pretty_render_list(GString *out, const PrettyNode *n, const char *label,
                               unsigned depth)
{
    guint len = n->children->len;
    const char *type = pretty_list_type(n);

    pretty_label(out, label);
    if (len == 0) {
        g_string_append(out, "list[0] = []\n");
        return;
    }
    g_string_append_printf(out, "%s[%u]", type ? type : "list", len);
    if (pretty_list_compact(n)) {
        g_string_append(out, " = [");
        for (guint i = 0; i < len; i++) {
            const PrettyNode *e = g_ptr_array_index(n->children, i);
            g_string_append_printf(out, i ? ", %s" : "%s", e->compact);
        }
        g_string_append(out, "]\n");
        return;
    }
    g_string_append(out, " [\n");
    for (guint i = 0; i < len; i++) {
        g_autofree char *index = g_strdup_printf("[%u]", i);
        pretty_render(out, g_ptr_array_index(n->children, i), index, depth + 1);
    }
    pretty_indent(out, depth);
    g_string_append(out, "]\n");
}

static void pretty_render(GString *out, const PrettyNode *n, const char *label, unsigned depth)
{
    pretty_indent(out, depth);
    switch (n->kind) {
    case PRETTY_VALUE:
        pretty_label(out, label);
        g_string_append_printf(out, "%s = %s\n", n->type, n->text);
        break;
    case PRETTY_ABSENT:
        pretty_label(out, label);
        g_string_append(out, "absent\n");
        break;
    case PRETTY_NULL:
        pretty_label(out, label);
        g_string_append(out, "null\n");
        break;
    case PRETTY_BUFFER:
        pretty_render_buffer(out, n, label, depth);
        break;
    case PRETTY_STRUCT:
        pretty_render_struct(out, n, label, depth);
        break;
    case PRETTY_LIST:
        pretty_render_list(out, n, label, depth);
        break;
    }
}

static void pov_free(Visitor *v)
{
    PrettyOutputVisitor *pov = to_pov(v);
    g_ptr_array_free(pov->stack, TRUE);
    pretty_node_free(pov->top);
}

Visitor *pretty_output_visitor_new(void)
{
    PrettyOutputVisitor *pov = g_new0(PrettyOutputVisitor, 1);
    Visitor *v = &pov->visitor;
    visitor_init(v, VISITOR_OUTPUT);
    v->start_struct = pov_start_struct;
    v->end_struct = pov_end;
    v->start_list = pov_start_list;
    v->end_list = pov_end;
    v->optional = pov_optional;
    v->type_bool = pov_type_bool;
    v->type_int = pov_type_int;
    v->type_uint = pov_type_uint;
    v->type_str = pov_type_str;
    v->type_number = pov_type_number;
    v->type_buffer = pov_type_buffer;
    v->type_null = pov_type_null;
    v->free = pov_free;
    pov->top = pretty_node_new(PRETTY_LIST, NULL);
    pov->stack = g_ptr_array_new();
    return v;
}

char *pretty_output_visitor_take(Visitor *v)
{
    PrettyOutputVisitor *pov = to_pov(v);
    g_assert(pov->stack->len == 0);
    GString *out = g_string_new(NULL);
    for (guint i = 0; i < pov->top->children->len; i++) {
        const PrettyNode *n = g_ptr_array_index(pov->top->children, i);
        pretty_render(out, n, n->name, 0);
    }
    g_ptr_array_set_size(pov->top->children, 0);
    return g_string_free(out, FALSE);
}

/*
 * QObject input visitor: fills C values from a QObject, strictly.
 *
 * A stack of open containers mirrors the walk.  A dict frame remembers which
 * keys were visited, so that check_struct can name the members nobody asked
 * for; a list frame knows the element being visited (set by next_list) and
 * how many were visited, for check_list.  The first value visited at the top
 * level is the root itself, whatever its name.
 *
 * Every error names the full field path.  A visitor made for QMP words its
 * errors as QEMU's QObject input visitor does (qiv_error()); the others go
 * through visit_error() and so start with the path.  Both wordings are
 * listed in docs/formats.md ("QObject/JSON").
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "vmscope/bytes.h"
#include "vmscope/qobject-visitor.h"
#include "visitor-impl.h"

typedef struct QivFrame {
    QObject *obj;           /* the dict or list (borrowed from root) */
    GHashTable *visited;    /* dicts: keys visited so far (owned strings) */
    size_t index;           /* lists: element being visited, SIZE_MAX before the first */
    size_t consumed;        /* lists: elements visited (highest index + 1) */
    char *path;             /* lists: the list's own path, for check_list */
} QivFrame;

typedef struct QObjectInputVisitor {
    Visitor visitor;
    QObject *root;          /* a reference of the visitor's own */
    GArray *stack;          /* of QivFrame */
    bool qmp;               /* errors in QEMU's words */
} QObjectInputVisitor;

static QObjectInputVisitor *to_qiv(Visitor *v)
{
    return (QObjectInputVisitor *)v;
}

static QivFrame *qiv_top(QObjectInputVisitor *qiv)
{
    return qiv->stack->len ? &g_array_index(qiv->stack, QivFrame, qiv->stack->len - 1) : NULL;
}

/* QEMU's texts (its qapi/qmp/qerror.h), for a QMP visitor's errors. */
typedef enum QemuText {
    QEMU_MISSING,            /* Parameter 'PATH' is missing */
    QEMU_TYPE,               /* Invalid parameter type for 'PATH', expected: ARG */
    QEMU_EXPECTS,            /* Parameter 'PATH' expects ARG */
} QemuText;

/*
 * The error at member `name`: for a QMP visitor QEMU's text `qmp` with
 * qmp_arg, otherwise "PATH: " and fmt.
 */
static void qiv_error(QObjectInputVisitor *qiv, const char *name, GError **errp,
                      VmsErrorCode code, QemuText qmp, const char *qmp_arg, const char *fmt, ...)
    G_GNUC_PRINTF(7, 8);
static void qiv_error(QObjectInputVisitor *qiv, const char *name, GError **errp,
                      VmsErrorCode code, QemuText qmp, const char *qmp_arg, const char *fmt, ...)
{
    if (!qiv->qmp) {
        va_list ap;
        va_start(ap, fmt);
        g_autofree char *msg = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        visit_error(&qiv->visitor, name, errp, code, "%s", msg);
        return;
    }
    g_autofree char *path = visit_path(&qiv->visitor, name);
    switch (qmp) {
    case QEMU_MISSING:
        g_set_error(errp, VMS_ERROR, code, "Parameter '%s' is missing", path);
        break;
    case QEMU_TYPE:
        g_set_error(errp, VMS_ERROR, code, "Invalid parameter type for '%s', expected: %s", path,
                    qmp_arg);
        break;
    case QEMU_EXPECTS:
        g_set_error(errp, VMS_ERROR, code, "Parameter '%s' expects %s", path, qmp_arg);
        break;
    }
}

static void qiv_frame_clear(gpointer p)
{
    QivFrame *f = p;
    if (f->visited) {
        g_hash_table_destroy(f->visited);
    }
    g_free(f->path);
}

/*
 * Find the value for member `name` at the current position and mark it as
 * visited.  JSON null is a NULL QObject, so presence is returned apart from
 * the value: false (with "PATH: missing") if there is no such member.
 */
static bool qiv_lookup(QObjectInputVisitor *qiv, const char *name, QObject **out,
                       GError **errp)
{
    QivFrame *top = qiv_top(qiv);

    if (!top) {
        *out = qiv->root;
        return true;
    }
    if (qobject_type(top->obj) == QTYPE_DICT) {
        g_assert(name);
        if (!qdict_haskey(top->obj, name)) {
            qiv_error(qiv, name, errp, VMS_ERROR_MISSING, QEMU_MISSING, NULL, "missing");
            return false;
        }
        g_hash_table_add(top->visited, g_strdup(name));
        *out = qdict_get(top->obj, name);
        return true;
    }
    if (top->index >= qlist_size(top->obj)) {
        qiv_error(qiv, name, errp, VMS_ERROR_MISSING, QEMU_MISSING, NULL, "missing");
        return false;
    }
    if (top->index + 1 > top->consumed) {
        top->consumed = top->index + 1;
    }
    *out = qlist_get(top->obj, top->index);
    return true;
}

/*
 * Look up `name` and check that it has QType `type`; `what` names the C
 * side, `qmp` and `qmp_what` say it in QEMU's words.
 */
static bool qiv_get_typed(QObjectInputVisitor *qiv, const char *name, QType type,
                          const char *what, QemuText qmp, const char *qmp_what, QObject **out,
                          GError **errp)
{
    if (!qiv_lookup(qiv, name, out, errp)) {
        return false;
    }
    if (qobject_type(*out) != type) {
        qiv_error(qiv, name, errp, VMS_ERROR_INVALID, qmp, qmp_what, "expected %s, got %s", what,
                  qtype_name(qobject_type(*out)));
        return false;
    }
    return true;
}

static bool qiv_start_struct(Visitor *v, const char *name, VisitStructInfo *info, GError **errp)
{
    QObjectInputVisitor *qiv = to_qiv(v);
    QObject *obj;

    if (!qiv_get_typed(qiv, name, QTYPE_DICT, "object", QEMU_TYPE, "object", &obj, errp)) {
        return false;
    }
    /* info->version_id is left alone: a QObject carries no versions. */
    QivFrame f = {
        .obj = obj,
        .visited = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
        .index = SIZE_MAX,
    };
    g_array_append_val(qiv->stack, f);
    return true;
}

static bool qiv_check_struct(Visitor *v, GError **errp)
{
    QObjectInputVisitor *qiv = to_qiv(v);
    QivFrame *top = qiv_top(qiv);
    g_assert(top && top->visited);

    if (g_hash_table_size(top->visited) == qdict_size(top->obj)) {
        return true;
    }
    g_autoptr(GString) extra = g_string_new(NULL);
    unsigned count = 0;
    qdict_foreach(top->obj, key, val) {
        (void)val;
        if (g_hash_table_contains(top->visited, key)) {
            continue;
        }
        if (to_qiv(v)->qmp) {
            /* QEMU names the first member nobody visited, by its path. */
            g_autofree char *path = visit_path(v, key);
            g_set_error(errp, VMS_ERROR, VMS_ERROR_EXTRA, "Parameter '%s' is unexpected", path);
            return false;
        }
        g_string_append_printf(extra, "%s'%s'", count ? ", " : "", key);
        count++;
    }
    visit_error(v, NULL, errp, VMS_ERROR_EXTRA, "unexpected field%s %s", count > 1 ? "s" : "",
                extra->str);
    return false;
}

static void qiv_end(Visitor *v)
{
    QObjectInputVisitor *qiv = to_qiv(v);
    g_assert(qiv->stack->len > 0);
    g_array_set_size(qiv->stack, qiv->stack->len - 1);
}

static bool qiv_start_list(Visitor *v, const char *name, size_t *len, GError **errp)
{
    QObjectInputVisitor *qiv = to_qiv(v);
    QObject *obj;

    if (!qiv_get_typed(qiv, name, QTYPE_LIST, "list", QEMU_TYPE, "array", &obj, errp)) {
        return false;
    }
    size_t found = qlist_size(obj);
    if (*len == VISIT_LEN_UNKNOWN) {
        *len = found;
    } else if (*len != found) {
        g_autofree char *count = g_strdup_printf("%zu element%s", *len, *len == 1 ? "" : "s");
        qiv_error(qiv, name, errp, found < *len ? VMS_ERROR_MISSING : VMS_ERROR_EXTRA,
                  QEMU_EXPECTS, count, "expected %s, got %zu", count, found);
        return false;
    }
    QivFrame f = { .obj = obj, .index = SIZE_MAX, .path = visit_path(v, name) };
    g_array_append_val(qiv->stack, f);
    return true;
}

static void qiv_next_list(Visitor *v, size_t index)
{
    QivFrame *top = qiv_top(to_qiv(v));
    g_assert(top && !top->visited);
    top->index = index;
}

static bool qiv_check_list(Visitor *v, GError **errp)
{
    QivFrame *top = qiv_top(to_qiv(v));
    g_assert(top && !top->visited);

    size_t size = qlist_size(top->obj);
    if (top->consumed >= size) {
        return true;
    }
    /* The path of the list itself, not of its last element: built by hand. */
    if (to_qiv(v)->qmp) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_EXTRA, "Only %zu list elements expected in %s",
                    top->consumed, top->path);
    } else if (*top->path) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_EXTRA, "%s: unexpected element [%zu]",
                    top->path, top->consumed);
    } else {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_EXTRA, "unexpected element [%zu]",
                    top->consumed);
    }
    return false;
}

static bool qiv_optional(Visitor *v, const char *name, bool *present)
{
    QivFrame *top = qiv_top(to_qiv(v));

    if (!top) {
        *present = true;
    } else if (top->visited) {
        *present = qdict_haskey(top->obj, name);
    } else {
        *present = top->index < qlist_size(top->obj);
    }
    return *present;
}

static bool qiv_type_bool(Visitor *v, const char *name, bool *obj, GError **errp)
{
    QObject *q;
    if (!qiv_get_typed(to_qiv(v), name, QTYPE_BOOL, "bool", QEMU_TYPE, "boolean", &q, errp)) {
        return false;
    }
    return qbool_get(q, obj);
}

static bool qiv_type_int(Visitor *v, const char *name, VisitIntKind kind, int64_t *obj,
                         GError **errp)
{
    QObject *q;
    uint64_t big;
    if (!qiv_get_typed(to_qiv(v), name, QTYPE_INT, visit_int_kind_name(kind), QEMU_TYPE,
                       "integer", &q, errp)) {
        return false;
    }
    if (qnum_get_int(q, obj)) {
        return true;    /* the core checks the range of narrower kinds */
    }
    /* An int that is no int64 is a uint64 above INT64_MAX. */
    if (qnum_get_uint(q, &big)) {
        qiv_error(to_qiv(v), name, errp, VMS_ERROR_RANGE, QEMU_TYPE, "integer",
                  "value %" PRIu64 " out of range for %s", big, visit_int_kind_name(kind));
        return false;
    }
    g_assert_not_reached();
}

static bool qiv_type_uint(Visitor *v, const char *name, VisitIntKind kind, uint64_t *obj,
                          GError **errp)
{
    QObject *q;
    int64_t neg;
    const char *kname = visit_int_kind_name(kind);
    if (!qiv_get_typed(to_qiv(v), name, QTYPE_INT, kname, QEMU_EXPECTS, kname, &q, errp)) {
        return false;
    }
    if (qnum_get_uint(q, obj)) {
        return true;
    }
    /* An int that is no uint64 is negative. */
    if (qnum_get_int(q, &neg)) {
        qiv_error(to_qiv(v), name, errp, VMS_ERROR_RANGE, QEMU_EXPECTS, kname,
                  "value %" PRId64 " out of range for %s", neg, kname);
        return false;
    }
    g_assert_not_reached();
}

static bool qiv_type_str(Visitor *v, const char *name, char **obj, GError **errp)
{
    QObject *q;
    if (!qiv_get_typed(to_qiv(v), name, QTYPE_STRING, "string", QEMU_TYPE, "string", &q, errp)) {
        return false;
    }
    *obj = g_strdup(qstring_get(q));
    return true;
}

static bool qiv_type_number(Visitor *v, const char *name, double *obj, GError **errp)
{
    QObject *q;
    if (!qiv_lookup(to_qiv(v), name, &q, errp)) {
        return false;
    }
    /* JSON does not tell 1 from 1.0: an integer is a number too. */
    if (!qnum_get_double(q, obj)) {
        qiv_error(to_qiv(v), name, errp, VMS_ERROR_INVALID, QEMU_TYPE, "number",
                  "expected number, got %s", qtype_name(qobject_type(q)));
        return false;
    }
    return true;
}

static bool qiv_type_buffer(Visitor *v, const char *name, uint8_t *buf, size_t len,
                            GError **errp)
{
    QObjectInputVisitor *qiv = to_qiv(v);
    QObject *q;
    g_autofree char *what = g_strdup_printf("%zu-byte hex buffer", len);
    if (!qiv_get_typed(qiv, name, QTYPE_STRING, what, QEMU_TYPE, "string", &q, errp)) {
        return false;
    }
    const char *hex = qstring_get(q);
    size_t digits = strlen(hex);
    if (digits % 2) {
        qiv_error(qiv, name, errp, VMS_ERROR_INVALID, QEMU_EXPECTS, what,
                  "expected %s, got %zu hex digits", what, digits);
        return false;
    }
    if (digits / 2 != len) {
        qiv_error(qiv, name, errp, VMS_ERROR_INVALID, QEMU_EXPECTS, what,
                  "expected %s, got %zu byte%s", what, digits / 2, digits == 2 ? "" : "s");
        return false;
    }
    /* hex_decode checks every digit before it writes into the caller's buffer. */
    size_t bad;
    if (!hex_decode(hex, buf, len, &bad)) {
        qiv_error(qiv, name, errp, VMS_ERROR_INVALID, QEMU_EXPECTS, what,
                  "invalid hex digit at position %zu", bad);
        return false;
    }
    return true;
}

static bool qiv_type_null(Visitor *v, const char *name, GError **errp)
{
    QObject *q;
    return qiv_get_typed(to_qiv(v), name, QTYPE_NULL, "null", QEMU_TYPE, "null", &q, errp);
}

static void qiv_free(Visitor *v)
{
    g_array_free(to_qiv(v)->stack, TRUE);
    qobject_unref(to_qiv(v)->root);
}

bool qobject_input_visit_any(Visitor *v, const char *name, QObject **obj, GError **errp)
{
    g_return_val_if_fail(v->start_struct == qiv_start_struct, false);
    QObject *q;
    if (!qiv_lookup(to_qiv(v), name, &q, errp)) {
        return false;
    }
    *obj = qobject_ref(q);
    return true;
}

Visitor *qobject_input_visitor_new_qmp(QObject *root)
{
    Visitor *v = qobject_input_visitor_new(root);
    to_qiv(v)->qmp = true;
    return v;
}

Visitor *qobject_input_visitor_new(QObject *root)
{
    QObjectInputVisitor *qiv = g_new0(QObjectInputVisitor, 1);
    Visitor *v = &qiv->visitor;
    visitor_init(v, VISITOR_INPUT);
    v->start_struct = qiv_start_struct;
    v->check_struct = qiv_check_struct;
    v->end_struct = qiv_end;
    v->start_list = qiv_start_list;
    v->next_list = qiv_next_list;
    v->check_list = qiv_check_list;
    v->end_list = qiv_end;
    v->optional = qiv_optional;
    v->type_bool = qiv_type_bool;
    v->type_int = qiv_type_int;
    v->type_uint = qiv_type_uint;
    v->type_str = qiv_type_str;
    v->type_number = qiv_type_number;
    v->type_buffer = qiv_type_buffer;
    v->type_null = qiv_type_null;
    v->free = qiv_free;
    qiv->root = qobject_ref(root);
    qiv->stack = g_array_new(FALSE, TRUE, sizeof(QivFrame));
    g_array_set_clear_func(qiv->stack, qiv_frame_clear);
    return v;
}

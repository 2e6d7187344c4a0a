/*
 * QObject output visitor: builds a QObject from a walk over C values.
 * A stack of open containers; every value is added to the innermost one.
 */
#include "config.h"

#include "vmscope/bytes.h"
#include "vmscope/qobject-visitor.h"
#include "visitor-impl.h"

typedef struct QObjectOutputVisitor {
    Visitor visitor;
    GPtrArray *stack;   /* open dicts/lists, borrowed from root */
    QObject *root;
    bool have_root;
} QObjectOutputVisitor;

static QObjectOutputVisitor *to_qov(Visitor *v)
{
    return (QObjectOutputVisitor *)v;
}

/* Takes `value`. */
static void qov_add(QObjectOutputVisitor *qov, const char *name, QObject *value)
{
    if (qov->stack->len == 0) {
        g_assert(!qov->have_root);
        qov->root = value;
        qov->have_root = true;
        return;
    }
    QObject *top = g_ptr_array_index(qov->stack, qov->stack->len - 1);
    if (qobject_type(top) == QTYPE_LIST) {
        qlist_append(top, value);
    } else {
        g_assert(name);
        qdict_put(top, name, value);
    }
}

static bool qov_start_struct(Visitor *v, const char *name, VisitStructInfo *info, GError **errp)
{
    QObjectOutputVisitor *qov = to_qov(v);
    QObject *dict = qdict_new();
    qov_add(qov, name, dict);
    g_ptr_array_add(qov->stack, dict);
    return true;
}

static void qov_end(Visitor *v)
{
    QObjectOutputVisitor *qov = to_qov(v);
    g_ptr_array_set_size(qov->stack, qov->stack->len - 1);
}

static bool qov_start_list(Visitor *v, const char *name, size_t *len, GError **errp)
{
    QObjectOutputVisitor *qov = to_qov(v);
    QObject *list = qlist_new();
    qov_add(qov, name, list);
    g_ptr_array_add(qov->stack, list);
    return true;
}

static bool qov_type_bool(Visitor *v, const char *name, bool *obj, GError **errp)
{
    qov_add(to_qov(v), name, qbool_from_bool(*obj));
    return true;
}

static bool qov_type_int(Visitor *v, const char *name, VisitIntKind kind, int64_t *obj,
                         GError **errp)
{
    qov_add(to_qov(v), name, qnum_from_int(*obj));
    return true;
}

static bool qov_type_uint(Visitor *v, const char *name, VisitIntKind kind, uint64_t *obj,
                          GError **errp)
{
    qov_add(to_qov(v), name, qnum_from_uint(*obj));
    return true;
}

static bool qov_type_str(Visitor *v, const char *name, char **obj, GError **errp)
{
    qov_add(to_qov(v), name, qstring_from_str(*obj ? *obj : ""));
    return true;
}

static bool qov_type_number(Visitor *v, const char *name, double *obj, GError **errp)
{
    qov_add(to_qov(v), name, qnum_from_double(*obj));
    return true;
}

static bool qov_type_buffer(Visitor *v, const char *name, uint8_t *buf, size_t len,
                            GError **errp)
{
    g_autofree char *s = hex_encode(buf, len);
    qov_add(to_qov(v), name, qstring_from_str(s));
    return true;
}

static bool qov_type_null(Visitor *v, const char *name, GError **errp)
{
    qov_add(to_qov(v), name, NULL);
    return true;
}

static void qov_free(Visitor *v)
{
    QObjectOutputVisitor *qov = to_qov(v);
    g_ptr_array_free(qov->stack, TRUE);
    qobject_unref(qov->root);
}

Visitor *qobject_output_visitor_new(void)
{
    QObjectOutputVisitor *qov = g_new0(QObjectOutputVisitor, 1);
    Visitor *v = &qov->visitor;
    visitor_init(v, VISITOR_OUTPUT);
    v->start_struct = qov_start_struct;
    v->end_struct = qov_end;
    v->start_list = qov_start_list;
    v->end_list = qov_end;
    v->type_bool = qov_type_bool;
    v->type_int = qov_type_int;
    v->type_uint = qov_type_uint;
    v->type_str = qov_type_str;
    v->type_number = qov_type_number;
    v->type_buffer = qov_type_buffer;
    v->type_null = qov_type_null;
    v->free = qov_free;
    qov->stack = g_ptr_array_new();
    return v;
}

QObject *qobject_output_visitor_take(Visitor *v)
{
    QObjectOutputVisitor *qov = to_qov(v);
    g_assert(qov->stack->len == 0);
    QObject *root = qov->root;
    qov->root = NULL;
    qov->have_root = false;
    return root;
}

/*
 * Walking a QObject through any visitor: what a value the program only has
 * as JSON (a stream's configuration, a vmdesc) looks like in the format the
 * visitor makes.  See qobject_visit() in include/vmscope/qobject-visitor.h.
 */
#include "config.h"

#include "vmscope/qobject-visitor.h"

static bool visit_dict(Visitor *v, const char *name, QObject *obj, GError **errp)
{
    if (!visit_start_struct(v, name, NULL, errp)) {
        return false;
    }
    bool ok = true;
    qdict_foreach(obj, key, val) {
        ok = ok && qobject_visit(v, key, val, errp);
    }
    ok = ok && visit_check_struct(v, errp);
    visit_end_struct(v);
    return ok;
}

static bool visit_list(Visitor *v, const char *name, QObject *obj, GError **errp)
{
    size_t n = qlist_size(obj);
    if (!visit_start_list(v, name, &n, errp)) {
        return false;
    }
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        visit_next_list(v);
        ok = qobject_visit(v, NULL, qlist_get(obj, i), errp);
    }
    ok = ok && visit_check_list(v, errp);
    visit_end_list(v);
    return ok;
}

bool qobject_visit(Visitor *v, const char *name, QObject *obj, GError **errp)
{
    g_assert(!visit_is_input(v));
    switch (qobject_type(obj)) {
    case QTYPE_NULL:
        return visit_type_null(v, name, errp);
    case QTYPE_BOOL: {
        bool b = false;
        qbool_get(obj, &b);
        return visit_type_bool(v, name, &b, errp);
    }
    case QTYPE_INT: {
        int64_t i;
        uint64_t u;
        if (qnum_get_int(obj, &i)) {
            return visit_type_int64(v, name, &i, errp);
        }
        qnum_get_uint(obj, &u);
        return visit_type_uint64(v, name, &u, errp);
    }
    case QTYPE_DOUBLE: {
        double d = 0;
        qnum_get_double(obj, &d);
        return visit_type_number(v, name, &d, errp);
    }
    case QTYPE_STRING: {
        char *s = (char *)qstring_get(obj);
        return visit_type_str(v, name, &s, errp);
    }
    case QTYPE_LIST:
        return visit_list(v, name, obj, errp);
    case QTYPE_DICT:
        return visit_dict(v, name, obj, errp);
    }
    g_assert_not_reached();
}

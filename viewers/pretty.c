/* Indented human text for QObjects: see pretty.h. */
#include "config.h"

#include "pretty.h"

static bool is_scalar(const QObject *obj)
{
    QType t = qobject_type(obj);
    return t != QTYPE_LIST && t != QTYPE_DICT;
}

static bool fits_inline(const QObject *obj)
{
    if (is_scalar(obj)) {
        return true;
    }
    if (qobject_type(obj) == QTYPE_LIST) {
        for (size_t i = 0; i < qlist_size(obj); i++) {
            if (!is_scalar(qlist_get(obj, i))) {
                return false;
            }
        }
        return true;
    }
    return qdict_size(obj) == 0;
}

void pretty_append_inline(GString *out, const QObject *obj)
{
    switch (qobject_type(obj)) {
    case QTYPE_STRING:
        g_string_append(out, qstring_get(obj));
        return;
    case QTYPE_LIST:
        g_string_append_c(out, '[');
        for (size_t i = 0; i < qlist_size(obj); i++) {
            if (i) {
                g_string_append(out, ", ");
            }
            pretty_append_inline(out, qlist_get(obj, i));
        }
        g_string_append_c(out, ']');
        return;
    case QTYPE_DICT:
        g_string_append(out, "{}");
        return;
    default: {
        g_autofree char *json = qobject_to_json(obj, false);
        g_string_append(out, json);
        return;
    }
    }
}

void pretty_append(GString *out, const QObject *obj, int indent)
{
    if (fits_inline(obj)) {
        g_string_append_printf(out, "%*s", indent, "");
        pretty_append_inline(out, obj);
        g_string_append_c(out, '\n');
        return;
    }
    if (qobject_type(obj) == QTYPE_LIST) {
        for (size_t i = 0; i < qlist_size(obj); i++) {
            const QObject *elem = qlist_get(obj, i);
            g_string_append_printf(out, "%*s- [%zu]", indent, "", i);
            if (fits_inline(elem)) {
                g_string_append_c(out, ' ');
                pretty_append_inline(out, elem);
                g_string_append_c(out, '\n');
            } else {
                g_string_append_c(out, '\n');
                pretty_append(out, elem, indent + 4);
            }
        }
        return;
    }
    qdict_foreach(obj, key, val) {
        g_string_append_printf(out, "%*s%s:", indent, "", key);
        if (fits_inline(val)) {
            g_string_append_c(out, ' ');
            pretty_append_inline(out, val);
            g_string_append_c(out, '\n');
        } else {
            g_string_append_c(out, '\n');
            pretty_append(out, val, indent + 2);
        }
    }
}

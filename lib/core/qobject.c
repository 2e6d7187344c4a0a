/*
 * QObject on json-c: see include/vmscope/qobject.h.
 *
 * json-c stores an integer as int64 or uint64 internally but exposes only
 * clamping getters; qnum_get_int/qnum_get_uint detect clamping so that the
 * full range of both types round-trips exactly.
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "vmscope/error.h"
#include "vmscope/qobject.h"

QType qobject_type(const QObject *obj)
{
    switch (json_object_get_type(obj)) {
    case json_type_null:    return QTYPE_NULL;
    case json_type_boolean: return QTYPE_BOOL;
    case json_type_int:     return QTYPE_INT;
    case json_type_double:  return QTYPE_DOUBLE;
    case json_type_string:  return QTYPE_STRING;
    case json_type_array:   return QTYPE_LIST;
    case json_type_object:  return QTYPE_DICT;
    }
    g_assert_not_reached();
}

const char *qtype_name(QType type)
{
    static const char *const names[] = {
        [QTYPE_NULL] = "null", [QTYPE_BOOL] = "bool", [QTYPE_INT] = "int",
        [QTYPE_DOUBLE] = "number", [QTYPE_STRING] = "string",
        [QTYPE_LIST] = "list", [QTYPE_DICT] = "object",
    };
    return names[type];
}

QObject *qnull(void) { return NULL; }
QObject *qbool_from_bool(bool value) { return json_object_new_boolean(value); }
QObject *qnum_from_int(int64_t value) { return json_object_new_int64(value); }
QObject *qnum_from_uint(uint64_t value)
{
    /* Keep small values as int64 so that equal numbers print and compare alike. */
    return value <= INT64_MAX ? json_object_new_int64((int64_t)value)
                              : json_object_new_uint64(value);
}
QObject *qnum_from_double(double value) { return json_object_new_double(value); }
QObject *qstring_from_str(const char *str) { return json_object_new_string(str); }

QObject *qstring_from_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *s = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return json_object_new_string(s);
}

QObject *qdict_new(void) { return json_object_new_object(); }
QObject *qlist_new(void) { return json_object_new_array(); }

bool qbool_get(const QObject *obj, bool *value)
{
    if (qobject_type(obj) != QTYPE_BOOL) {
        return false;
    }
    *value = json_object_get_boolean(obj);
    return true;
}

bool qnum_is_negative(const QObject *obj)
{
    switch (qobject_type(obj)) {
    case QTYPE_INT:    return json_object_get_int64(obj) < 0;
    case QTYPE_DOUBLE: return json_object_get_double(obj) < 0;
    default:           return false;
    }
}

bool qnum_get_int(const QObject *obj, int64_t *value)
{
    if (qobject_type(obj) != QTYPE_INT) {
        return false;
    }
    int64_t v = json_object_get_int64(obj);
    if (v == INT64_MAX && json_object_get_uint64(obj) > (uint64_t)INT64_MAX) {
        return false;               /* a uint64 above INT64_MAX, clamped */
    }
    *value = v;
    return true;
}

bool qnum_get_uint(const QObject *obj, uint64_t *value)
{
    if (qobject_type(obj) != QTYPE_INT || json_object_get_int64(obj) < 0) {
        return false;
    }
    *value = json_object_get_uint64(obj);
    return true;
}

bool qnum_get_double(const QObject *obj, double *value)
{
    switch (qobject_type(obj)) {
    case QTYPE_DOUBLE:
        *value = json_object_get_double(obj);
        return true;
    case QTYPE_INT: {
        int64_t i;
        uint64_t u;
        if (qnum_get_int(obj, &i)) {
            *value = (double)i;
        } else if (qnum_get_uint(obj, &u)) {
            *value = (double)u;
        } else {
            return false;
        }
        return true;
    }
    default:
        return false;
    }
}

const char *qstring_get(const QObject *obj)
{
    return qobject_type(obj) == QTYPE_STRING ? json_object_get_string((QObject *)obj) : NULL;
}

void qdict_put(QObject *dict, const char *key, QObject *value)
{
    g_assert(qobject_type(dict) == QTYPE_DICT);
    json_object_object_add(dict, key, value);
}

QObject *qdict_get(const QObject *dict, const char *key)
{
    QObject *v = NULL;
    if (qobject_type(dict) != QTYPE_DICT ||
        !json_object_object_get_ex(dict, key, &v)) {
        return NULL;
    }
    return v;
}

bool qdict_haskey(const QObject *dict, const char *key)
{
    return qobject_type(dict) == QTYPE_DICT && json_object_object_get_ex(dict, key, NULL);
}

bool qdict_del(QObject *dict, const char *key)
{
    if (!qdict_haskey(dict, key)) {
        return false;
    }
    json_object_object_del(dict, key);
    return true;
}

size_t qdict_size(const QObject *dict)
{
    return qobject_type(dict) == QTYPE_DICT ? (size_t)json_object_object_length(dict) : 0;
}

const char *qdict_get_str(const QObject *dict, const char *key)
{
    return qstring_get(qdict_get(dict, key));
}

void qlist_append(QObject *list, QObject *value)
{
    g_assert(qobject_type(list) == QTYPE_LIST);
    json_object_array_add(list, value);
}

QObject *qlist_get(const QObject *list, size_t index)
{
    if (qobject_type(list) != QTYPE_LIST || index >= qlist_size(list)) {
        return NULL;
    }
    return json_object_array_get_idx(list, index);
}

size_t qlist_size(const QObject *list)
{
    return qobject_type(list) == QTYPE_LIST ? json_object_array_length(list) : 0;
}

static bool qnum_equal(const QObject *a, const QObject *b)
{
    int64_t ia, ib;
    uint64_t ua, ub;
    if (qnum_get_int(a, &ia) && qnum_get_int(b, &ib)) {
        return ia == ib;
    }
    if (qnum_get_uint(a, &ua) && qnum_get_uint(b, &ub)) {
        return ua == ub;
    }
    return false;   /* one negative, the other above INT64_MAX */
}

bool qobject_equal(const QObject *a, const QObject *b)
{
    QType t = qobject_type(a);
    if (t != qobject_type(b)) {
        return false;
    }
    switch (t) {
    case QTYPE_NULL:
        return true;
    case QTYPE_BOOL:
        return json_object_get_boolean(a) == json_object_get_boolean(b);
    case QTYPE_INT:
        return qnum_equal(a, b);
    case QTYPE_DOUBLE:
        return json_object_get_double(a) == json_object_get_double(b);
    case QTYPE_STRING:
        return json_object_get_string_len(a) == json_object_get_string_len(b) &&
               memcmp(json_object_get_string((QObject *)a), json_object_get_string((QObject *)b),
                      json_object_get_string_len(a)) == 0;
    case QTYPE_LIST: {
        size_t n = qlist_size(a);
        if (n != qlist_size(b)) {
            return false;
        }
        for (size_t i = 0; i < n; i++) {
            if (!qobject_equal(qlist_get(a, i), qlist_get(b, i))) {
                return false;
            }
        }
        return true;
    }
    case QTYPE_DICT: {
        if (qdict_size(a) != qdict_size(b)) {
            return false;
        }
        qdict_foreach(a, key, val) {
            if (!qdict_haskey(b, key) || !qobject_equal(val, qdict_get(b, key))) {
                return false;
            }
        }
        return true;
    }
    }
    g_assert_not_reached();
}

QObject *qobject_copy(const QObject *obj)
{
    QObject *copy = NULL;
    if (obj && json_object_deep_copy((QObject *)obj, &copy, NULL) != 0) {
        g_error("qobject_copy: out of memory");
    }
    return copy;
}

char *qobject_to_json(const QObject *obj, bool pretty)
{
    int flags = JSON_C_TO_STRING_NOSLASHESCAPE |
                (pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED : JSON_C_TO_STRING_PLAIN);
    return g_strdup(json_object_to_json_string_ext((QObject *)obj, flags));
}

/*
 * json-c clamps integer literals beyond 64 bits to INT64_MIN/UINT64_MAX
 * without a word.  Find such literals in the text first, so that a value
 * that cannot be represented is an error instead of a different number.
 */
static bool check_integer_ranges(const char *text, size_t len, GError **errp)
{
    size_t i = 0;
    while (i < len) {
        char c = text[i];
        if (c == '"') {                         /* skip a string, escapes included */
            for (i++; i < len && text[i] != '"'; i++) {
                if (text[i] == '\\') {
                    i++;
                }
            }
            i++;
            continue;
        }
        if (c != '-' && !g_ascii_isdigit(c)) {
            i++;
            continue;
        }
        size_t start = i;
        bool integral = true;
        for (i++; i < len && (g_ascii_isdigit(text[i]) || strchr(".eE+-", text[i])); i++) {
            if (!g_ascii_isdigit(text[i])) {
                integral = false;
            }
        }
        if (!integral) {
            continue;                           /* doubles */
        }
        /* However long: json-c clamps 1 followed by 70 zeros too. */
        g_autofree char *num = g_strndup(text + start, i - start);
        g_autoptr(GError) range = NULL;
        if (num[0] == '-') {
            g_ascii_string_to_signed(num, 10, G_MININT64, G_MAXINT64, NULL, &range);
        } else {
            g_ascii_string_to_unsigned(num, 10, 0, G_MAXUINT64, NULL, &range);
        }
        if (g_error_matches(range, G_NUMBER_PARSER_ERROR, G_NUMBER_PARSER_ERROR_OUT_OF_BOUNDS)) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_RANGE,
                        "JSON parse error at offset %zu: integer %s out of 64-bit range",
                        start, num);
            return false;
        }
    }
    return true;
}

bool qobject_from_json(const char *text, size_t len, QObject **out, GError **errp)
{
    if (len > INT_MAX) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_RANGE, "JSON text too long (%zu bytes)", len);
        return false;
    }
    json_tokener *tok = json_tokener_new();
    QObject *obj = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    if (jerr == json_tokener_continue) {
        /* A number at the very end is complete only once input ends: say so. */
        obj = json_tokener_parse_ex(tok, "", 1);
        jerr = json_tokener_get_error(tok);
        end = len;
    }
    bool ok = false;

    if (jerr == json_tokener_continue || jerr == json_tokener_error_parse_eof) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_TRUNCATED,
                    "JSON parse error at offset %zu: unexpected end of input", len);
    } else if (jerr != json_tokener_success) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "JSON parse error at offset %zu: %s",
                    end, json_tokener_error_desc(jerr));
    } else {
        while (end < len && g_ascii_isspace(text[end])) {
            end++;
        }
        const char *bad;
        if (end < len) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                        "JSON parse error at offset %zu: trailing text after value", end);
        } else if (!g_utf8_validate(text, (gssize)len, &bad)) {
            /* JSON is UTF-8 (RFC 8259); json-c's own check takes overlong forms. */
            g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                        "JSON parse error at offset %zu: not UTF-8", (size_t)(bad - text));
        } else {
            ok = check_integer_ranges(text, len, errp);
        }
    }
    json_tokener_free(tok);
    if (!ok) {
        qobject_unref(obj);
        return false;
    }
    *out = obj;
    return true;
}

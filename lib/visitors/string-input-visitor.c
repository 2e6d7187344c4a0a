/*
 * String input visitor: one scalar from text.  See
 * include/vmscope/string-visitor.h.
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "vmscope/bytes.h"
#include "vmscope/string-visitor.h"
#include "visitor-impl.h"

typedef struct StringInputVisitor {
    Visitor visitor;
    char *text;
} StringInputVisitor;

static const char *text_of(Visitor *v)
{
    return ((StringInputVisitor *)v)->text;
}

static bool siv_start_struct(Visitor *v, const char *name, VisitStructInfo *info, GError **errp)
{
    visit_error(v, name, errp, VMS_ERROR_INVALID, "is a struct, and '%s' is one value",
                text_of(v));
    return false;
}

static bool siv_start_list(Visitor *v, const char *name, size_t *len, GError **errp)
{
    visit_error(v, name, errp, VMS_ERROR_INVALID, "is a list, and '%s' is one value",
                text_of(v));
    return false;
}

static void siv_end(Visitor *v)
{
    g_assert_not_reached();     /* nothing can be started */
}

/* An optional sign, then decimal digits or "0x" and hex digits: magnitude and sign. */
static bool parse_integer(Visitor *v, const char *name, bool *neg, uint64_t *mag,
                          bool *overflow, GError **errp)
{
    const char *p = text_of(v);
    unsigned base = 10;
    *neg = *p == '-';
    if (*p == '-' || *p == '+') {
        p++;
    }
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    }
    g_autoptr(GError) err = NULL;
    guint64 value = 0;
    *overflow = false;
    if (!*p || !g_ascii_isxdigit(*p) ||
        !g_ascii_string_to_unsigned(p, base, 0, G_MAXUINT64, &value, &err)) {
        if (err && g_error_matches(err, G_NUMBER_PARSER_ERROR,
                                   G_NUMBER_PARSER_ERROR_OUT_OF_BOUNDS)) {
            *overflow = true;
            return true;
        }
        visit_error(v, name, errp, VMS_ERROR_INVALID, "value '%s' is not an integer",
                    text_of(v));
        return false;
    }
    *mag = value;
    return true;
}

static bool out_of_range(Visitor *v, const char *name, VisitIntKind kind, GError **errp)
{
    visit_error(v, name, errp, VMS_ERROR_RANGE, "value %s out of range for %s", text_of(v),
                visit_int_kind_name(kind));
    return false;
}

static bool siv_type_int(Visitor *v, const char *name, VisitIntKind kind, int64_t *obj,
                         GError **errp)
{
    unsigned bits = 8 * visit_int_kind_bytes(kind);
    uint64_t mag = 0, max = (UINT64_C(1) << (bits - 1)) - 1;
    bool neg, overflow;
    if (!parse_integer(v, name, &neg, &mag, &overflow, errp)) {
        return false;
    }
    if (overflow || mag > max + neg) {
        return out_of_range(v, name, kind, errp);
    }
    *obj = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    return true;
}

static bool siv_type_uint(Visitor *v, const char *name, VisitIntKind kind, uint64_t *obj,
                          GError **errp)
{
    unsigned bits = 8 * visit_int_kind_bytes(kind);
    uint64_t mag = 0, max = bits == 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1;
    bool neg, overflow;
    if (!parse_integer(v, name, &neg, &mag, &overflow, errp)) {
        return false;
    }
    if (overflow || (neg && mag) || mag > max) {
        return out_of_range(v, name, kind, errp);
    }
    *obj = mag;
    return true;
}

static bool siv_type_bool(Visitor *v, const char *name, bool *obj, GError **errp)
{
    const char *t = text_of(v);
    if (strcmp(t, "true") != 0 && strcmp(t, "false") != 0) {
        visit_error(v, name, errp, VMS_ERROR_INVALID,
                    "value '%s' is not a boolean (true or false)", t);
        return false;
    }
    *obj = t[0] == 't';
    return true;
}

static bool siv_type_str(Visitor *v, const char *name, char **obj, GError **errp)
{
    *obj = g_strdup(text_of(v));
    return true;
}

static bool siv_type_number(Visitor *v, const char *name, double *obj, GError **errp)
{
    const char *t = text_of(v);
    char *end = NULL;
    double d = g_ascii_strtod(t, &end);
    if (!*t || *end) {
        visit_error(v, name, errp, VMS_ERROR_INVALID, "value '%s' is not a number", t);
        return false;
    }
    *obj = d;
    return true;
}

static bool siv_type_buffer(Visitor *v, const char *name, uint8_t *buf, size_t len,
                            GError **errp)
{
    const char *t = text_of(v);
    size_t n = strlen(t), bad;
    if (n != 2 * len) {
        visit_error(v, name, errp, VMS_ERROR_INVALID,
                    "expected %zu bytes as %zu hex digits, got %zu characters", len, 2 * len, n);
        return false;
    }
    if (!hex_decode(t, buf, len, &bad)) {
        visit_error(v, name, errp, VMS_ERROR_INVALID, "value is not hex (character %zu)", bad);
        return false;
    }
    return true;
}

static bool siv_type_null(Visitor *v, const char *name, GError **errp)
{
    visit_error(v, name, errp, VMS_ERROR_INVALID, "cannot be set: it is always null");
    return false;
}

static void siv_free(Visitor *v)
{
    g_free(((StringInputVisitor *)v)->text);
}

Visitor *string_input_visitor_new(const char *text)
{
    StringInputVisitor *siv = g_new0(StringInputVisitor, 1);
    Visitor *v = &siv->visitor;
    visitor_init(v, VISITOR_INPUT);
    v->start_struct = siv_start_struct;
    v->end_struct = siv_end;
    v->start_list = siv_start_list;
    v->end_list = siv_end;
    v->type_bool = siv_type_bool;
    v->type_int = siv_type_int;
    v->type_uint = siv_type_uint;
    v->type_str = siv_type_str;
    v->type_number = siv_type_number;
    v->type_buffer = siv_type_buffer;
    v->type_null = siv_type_null;
    v->free = siv_free;
    siv->text = g_strdup(text);
    return v;
}

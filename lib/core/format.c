/* The format table; see include/vmscope/format.h (and how to add a format). */
#include "config.h"

#include <string.h>

#include "vmscope/ber-visitor.h"
#include "vmscope/bytes.h"
#include "vmscope/error.h"
#include "vmscope/format.h"
#include "vmscope/pretty-visitor.h"
#include "vmscope/qobject-visitor.h"

static GBytes *json_output_take(Visitor *v)
{
    g_autoptr(QObject) obj = qobject_output_visitor_take(v);
    char *text = qobject_to_json(obj, false);
    return g_bytes_new_take(text, strlen(text));
}

static Visitor *json_input_new(GBytes *data, GError **errp)
{
    gsize len;
    const char *text = g_bytes_get_data(data, &len);
    g_autoptr(QObject) obj = NULL;
    if (!qobject_from_json(text ? text : "", len, &obj, errp)) {
        return NULL;
    }
    return qobject_input_visitor_new(obj);     /* keeps its own reference */
}

static GBytes *pretty_output_take(Visitor *v)
{
    char *text = pretty_output_visitor_take(v);
    return g_bytes_new_take(text, strlen(text));
}

/* The table: json first, it is the default. */
static const VmsFormat formats[] = {
    {
        .name = "json",
        .content_type = "application/json",
        .output_new = qobject_output_visitor_new,
        .output_take = json_output_take,
        .input_new = json_input_new,
    },
    {
        .name = "pretty",
        .content_type = "text/plain; charset=utf-8",
        .output_new = pretty_output_visitor_new,
        .output_take = pretty_output_take,
    },
    {
        .name = "ber",
        .content_type = "application/x-vmscope-ber",
        .binary = true,
        .output_new = ber_output_visitor_new,
        .output_take = ber_output_visitor_take,
        .input_new = ber_input_visitor_new_bytes,
    },
};

const VmsFormat *vms_format_lookup(const char *name)
{
    for (size_t i = 0; name && i < G_N_ELEMENTS(formats); i++) {
        if (strcmp(formats[i].name, name) == 0) {
            return &formats[i];
        }
    }
    return NULL;
}

const VmsFormat *vms_format_json(void)
{
    return &formats[0];
}

char *vms_format_names(const char *first, const char *conjunction)
{
    const char *names[G_N_ELEMENTS(formats)];
    size_t n = 0;
    if (vms_format_lookup(first)) {
        names[n++] = first;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(formats); i++) {
        if (!first || strcmp(formats[i].name, first) != 0) {
            names[n++] = formats[i].name;
        }
    }
    GString *s = g_string_new(NULL);
    for (size_t i = 0; i < n; i++) {
        if (i) {
            g_string_append(s, i + 1 == n ? conjunction : ", ");
        }
        g_string_append(s, names[i]);
    }
    return g_string_free(s, FALSE);
}

/* ---- results inside JSON ------------------------------------------------ */

const char *vms_format_result_member(const VmsFormat *f)
{
    return f->binary ? "data" : "text";
}

QObject *vms_format_result_to_qobject(const VmsFormat *f, GBytes *result)
{
    gsize len;
    const uint8_t *p = g_bytes_get_data(result, &len);
    g_autofree char *s = f->binary ? hex_encode(p, len) : g_strndup((const char *)p, len);
    return qstring_from_str(s);
}

GBytes *vms_format_result_from_qobject(const VmsFormat *f, const QObject *value, GError **errp)
{
    const char *s = qstring_get(value);
    if (!s) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "expected a string, got %s",
                    qtype_name(qobject_type(value)));
        return NULL;
    }
    size_t len = strlen(s);
    if (!f->binary) {
        return g_bytes_new(s, len);
    }
    if (len % 2) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "odd number of hex digits (%zu)", len);
        return NULL;
    }
    uint8_t *out = g_malloc(len / 2 + 1);
    size_t bad;
    if (!hex_decode(s, out, len / 2, &bad)) {
        g_free(out);
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "invalid hex digit at position %zu", bad);
        return NULL;
    }
    return g_bytes_new_take(out, len / 2);
}

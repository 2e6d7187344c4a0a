/*
 * The request target, checked as it came, before anything routes it.
 *
 * libmicrohttpd percent-decodes the path and the query arguments into C
 * strings: a %00 cuts them short ("/app.js%00.html" reaches the handler as
 * "/app.js", "format=json%00x" as "json"), so the handler cannot see it.
 * The URI log callback still gets the target undecoded, and this check runs
 * there: it decodes the target as libmicrohttpd does (%XX; '+' is a space in
 * the query) and refuses what no path or argument of ours may hold.
 */
#include "config.h"

#include <string.h>

#include "http-impl.h"
#include "qmp-dispatch.h"

/* The target as an error message shows it: printable ASCII, the rest %XX. */
static char *target_shown(const char *target)
{
    GString *s = g_string_new(NULL);
    for (const unsigned char *c = (const unsigned char *)target; *c && s->len < 200; c++) {
        if (*c <= 0x20 || *c >= 0x7f || *c == '"' || *c == '\\') {
            g_string_append_printf(s, "%%%02X", *c);
        } else {
            g_string_append_c(s, (char)*c);
        }
    }
    if (strlen(target) > 200) {
        g_string_append(s, "...");
    }
    return g_string_free(s, FALSE);
}

static int hex_value(char c)
{
    return g_ascii_isxdigit(c) ? g_ascii_xdigit_value(c) : -1;
}

/* Decode part[0..len) as libmicrohttpd does; a '%' not followed by two hex
 * digits stays as it is. */
static GString *decode(const char *part, size_t len, bool plus_is_space)
{
    GString *out = g_string_sized_new(len);
    for (size_t i = 0; i < len; i++) {
        if (part[i] == '%' && i + 2 < len && hex_value(part[i + 1]) >= 0 &&
            hex_value(part[i + 2]) >= 0) {
            g_string_append_c(out, (char)(hex_value(part[i + 1]) << 4 | hex_value(part[i + 2])));
            i += 2;
        } else if (part[i] == '+' && plus_is_space) {
            g_string_append_c(out, ' ');
        } else {
            g_string_append_c(out, part[i]);
        }
    }
    return out;
}

/* What is wrong with a decoded part, or NULL. */
static const char *decoded_problem(const GString *d)
{
    for (size_t i = 0; i < d->len; i++) {
        unsigned char c = (unsigned char)d->str[i];
        if (c < 0x20 || c == 0x7f) {
            return "a control character after decoding";
        }
    }
    if (!g_utf8_validate(d->str, (gssize)d->len, NULL)) {
        return "not UTF-8 after decoding";
    }
    return NULL;
}

bool http_target_check(const char *target, GError **errp)
{
    const char *query = strchr(target, '?');
    size_t path_len = query ? (size_t)(query - target) : strlen(target);
    g_autoptr(GString) path = decode(target, path_len, false);
    const char *problem = decoded_problem(path);
    const char *what = "path";

    if (!problem && query) {
        g_autoptr(GString) args = decode(query + 1, strlen(query + 1), true);
        problem = decoded_problem(args);
        what = "query";
    }
    if (problem) {
        g_autofree char *shown = target_shown(target);
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC_ERROR, "malformed %s in '%s': %s", what,
                    shown, problem);
        return false;
    }
    return true;
}

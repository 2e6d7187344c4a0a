/*
 * QMP wire codec: see qmp-json.h.
 *
 * json-c finds values and reports errors, but after an error it cannot say
 * where the broken value ends.  So beside the tokener runs a tiny scanner
 * that only counts brackets outside strings: it gives the depth at the point
 * of the error, and recovery then eats bytes until that depth is back to 0,
 * the way QEMU's streamer eats tokens until braces balance.  The scanner is
 * reset at every value boundary, so where it and json-c disagree (json-c
 * also takes comments) the damage is limited to one broken value.
 */
#include "config.h"

#include <limits.h>
#include <string.h>

#include "qmp-dispatch.h"
#include "qmp-json.h"

typedef struct JsonScan {
    unsigned depth;      /* open brackets outside strings */
    bool in_string;
    bool escape;         /* the previous byte was a backslash inside a string */
    char quote;          /* the quote that opened the string */
    bool started;        /* a non-space byte of the current value was seen */
    size_t size;         /* bytes of the current value since it started */
} JsonScan;

struct QmpJsonParser {
    json_tokener *tok;
    size_t max_size;
    JsonScan scan;
    bool recovering;     /* skipping the rest of a broken value */
    bool must_skip;      /* the error was on the value's first byte: skip it */
    guint64 offset;      /* bytes consumed since the start of the stream */
};

static void scan_byte(JsonScan *s, char c)
{
    if (!s->started) {
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            return;
        }
        s->started = true;
    }
    s->size++;
    if (s->in_string) {
        if (s->escape) {
            s->escape = false;
        } else if (c == '\\') {
            s->escape = true;
        } else if (c == s->quote) {
            s->in_string = false;
        }
        return;
    }
    switch (c) {
    case '"':
    case '\'':
        s->in_string = true;
        s->quote = c;
        break;
    case '{':
    case '[':
        s->depth++;
        break;
    case '}':
    case ']':
        if (s->depth > 0) {
            s->depth--;
        }
        break;
    default:
        break;
    }
}

static void scan_bytes(JsonScan *s, const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        scan_byte(s, buf[i]);
    }
}

QmpJsonParser *qmp_json_parser_new(size_t max_size)
{
    g_assert(max_size > 0);
    QmpJsonParser *p = g_new0(QmpJsonParser, 1);
    /* json-c refuses the bracket that would open level max_depth + 1. */
    p->tok = json_tokener_new_ex(QMP_JSON_MAX_NESTING);
    if (!p->tok) {
        g_error("json_tokener_new_ex: out of memory");
    }
    json_tokener_set_flags(p->tok, JSON_TOKENER_VALIDATE_UTF8);
    p->max_size = max_size;
    return p;
}

void qmp_json_parser_free(QmpJsonParser *p)
{
    if (p) {
        json_tokener_free(p->tok);
        g_free(p);
    }
}

guint64 qmp_json_parser_offset(const QmpJsonParser *p)
{
    return p->offset;
}

/*
 * Skip the rest of a broken value; returns the bytes used.  Stops before a
 * bracket or quote that starts a new value at depth 0, or after the byte
 * that brings the depth back to 0 (a closing bracket, the end of a string,
 * a space or separator after a bad token).
 */
static size_t recover(QmpJsonParser *p, const char *buf, size_t len)
{
    JsonScan *s = &p->scan;
    size_t i = 0;

    for (; i < len; i++) {
        char c = buf[i];
        if (!s->in_string && s->depth == 0 && !p->must_skip &&
            (c == '{' || c == '[' || c == '"' || c == '\'')) {
            goto done;
        }
        p->must_skip = false;
        bool was_in_string = s->in_string;
        scan_byte(s, c);
        if (!s->in_string && s->depth == 0 &&
            (was_in_string || c == '}' || c == ']' || c == ',' || c == ':' ||
             c == ' ' || c == '\t' || c == '\r' || c == '\n')) {
            i++;
            goto done;
        }
    }
    return i;

done:
    p->recovering = false;
    memset(s, 0, sizeof(*s));
    return i;
}

static QmpJsonStatus parse_error(QmpJsonParser *p, enum json_tokener_error jerr,
                                 guint64 where, GError **errp)
{
    if (jerr == json_tokener_error_depth) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC_ERROR, "JSON nesting depth limit exceeded");
    } else {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC_ERROR,
                    "JSON parse error, %s at offset %" G_GUINT64_FORMAT,
                    json_tokener_error_desc(jerr), where);
    }
    json_tokener_reset(p->tok);
    p->recovering = true;
    return QMP_JSON_ERROR;
}

QmpJsonStatus qmp_json_parser_feed(QmpJsonParser *p, const char *buf, size_t len,
                                   size_t *consumed, QObject **value, GError **errp)
{
    size_t off = 0;
    QmpJsonStatus status = QMP_JSON_NEED_MORE;

    *value = NULL;
    if (p->recovering) {
        off = recover(p, buf, len);
    }
    while (!p->recovering && off < len) {
        /* Never hand json-c more than one byte past the size limit. */
        size_t room = p->max_size + 1 - p->scan.size;
        size_t n = MIN(MIN(len - off, room), (size_t)INT_MAX - 1);
        QObject *obj = json_tokener_parse_ex(p->tok, buf + off, (int)n);
        enum json_tokener_error jerr = json_tokener_get_error(p->tok);
        size_t used = jerr == json_tokener_continue ? n : json_tokener_get_parse_end(p->tok);

        scan_bytes(&p->scan, buf + off, used);
        off += used;
        if ((jerr == json_tokener_success || jerr == json_tokener_continue) &&
            p->scan.size > p->max_size) {
            qobject_unref(obj);
            g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC_ERROR, "JSON token size limit exceeded");
            json_tokener_reset(p->tok);
            /* A complete value needs no skipping; a partial one does. */
            p->recovering = jerr == json_tokener_continue;
            if (!p->recovering) {
                memset(&p->scan, 0, sizeof(p->scan));
            }
            status = QMP_JSON_ERROR;
            break;
        }
        if (jerr == json_tokener_success) {
            json_tokener_reset(p->tok);
            memset(&p->scan, 0, sizeof(p->scan));
            *value = obj;
            status = QMP_JSON_VALUE;
            break;
        }
        if (jerr == json_tokener_continue) {
            continue;
        }
        /* The byte at off is the one json-c refused; recovery starts there. */
        p->must_skip = !p->scan.started;
        status = parse_error(p, jerr, p->offset + off, errp);
        break;
    }
    p->offset += off;
    *consumed = off;
    return status;
}

/* Does a dict key need json-c's escaping, or can it be written as is? */
static bool key_is_plain(const char *key)
{
    for (const unsigned char *c = (const unsigned char *)key; *c; c++) {
        if (*c < 0x20 || *c == '"' || *c == '\\' || *c >= 0x7f) {
            return false;
        }
    }
    return true;
}

void qmp_json_append(GString *out, const QObject *obj)
{
    const int flags = JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE;

    switch (qobject_type(obj)) {
    case QTYPE_DICT: {
        bool first = true;
        g_string_append_c(out, '{');
        qdict_foreach(obj, key, val) {
            if (!first) {
                g_string_append(out, ", ");
            }
            first = false;
            if (key_is_plain(key)) {
                g_string_append_c(out, '"');
                g_string_append(out, key);
                g_string_append_c(out, '"');
            } else {
                g_autoptr(QObject) k = qstring_from_str(key);
                g_string_append(out, json_object_to_json_string_ext(k, flags));
            }
            g_string_append(out, ": ");
            qmp_json_append(out, val);
        }
        g_string_append_c(out, '}');
        break;
    }
    case QTYPE_LIST: {
        size_t n = qlist_size(obj);
        g_string_append_c(out, '[');
        for (size_t i = 0; i < n; i++) {
            if (i > 0) {
                g_string_append(out, ", ");
            }
            qmp_json_append(out, qlist_get(obj, i));
        }
        g_string_append_c(out, ']');
        break;
    }
    case QTYPE_NULL:
        g_string_append(out, "null");
        break;
    default:
        g_string_append(out, json_object_to_json_string_ext((QObject *)obj, flags));
        break;
    }
}

char *qmp_json_format(const QObject *obj)
{
    GString *out = g_string_new(NULL);
    qmp_json_append(out, obj);
    return g_string_free(out, FALSE);
}

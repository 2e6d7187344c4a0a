/*
 * QMP wire codec: see qmp-json.h.
 *
 * Reading works in three stages, as QEMU's does (json-lexer.c,
 * json-streamer.c, json-parser.c): a lexer checks each token against JSON's
 * token grammar, a splitter counts brackets to find where a value ends, and
 * json-c parses each complete value in one call.  json-c therefore never
 * sees part of a value (a UTF-8 character split across two reads is whole
 * by then) nor a byte after it (garbage right behind a request cannot spoil
 * it).  The lexer is there because json-c alone is looser than JSON: it
 * takes comments, NaN, Infinity, True, 00 and 123e, clamps integers beyond
 * 64 bits, and writes some of these back as text that is not JSON.  Only
 * the tokens are checked here; the grammar (separators, keys, escapes,
 * UTF-8) stays json-c's.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include "qmp-dispatch.h"
#include "qmp-json.h"

typedef enum LexState {
    LEX_BETWEEN,        /* between tokens */
    LEX_STRING,         /* inside a string */
    LEX_STRING_ESCAPE,  /* after a backslash inside a string */
    LEX_NUMBER,         /* a run of number characters */
    LEX_KEYWORD,        /* a run of letters */
    LEX_JUNK,           /* a stray byte outside any value: skipping to a resync point */
} LexState;

struct QmpJsonParser {
    json_tokener *tok;
    size_t max_size;
    GString *value;       /* the current value's bytes, from its first one */
    guint64 value_start;  /* stream offset of the current value */
    size_t token_start;   /* index in value of the current number or keyword */
    LexState state;
    char quote;           /* the quote that opened the current string */
    unsigned depth;       /* open brackets */
    bool skipping;        /* the current value is broken: eat it, keep nothing */
    guint64 offset;       /* bytes consumed since the start of the stream */
};

QmpJsonParser *qmp_json_parser_new(size_t max_size)
{
    g_assert(max_size > 0 && max_size < INT_MAX);
    QmpJsonParser *p = g_new0(QmpJsonParser, 1);
    /* The splitter enforces the nesting limit; json-c's is a backstop. */
    p->tok = json_tokener_new_ex(QMP_JSON_MAX_NESTING + 1);
    if (!p->tok) {
        g_error("json_tokener_new_ex: out of memory");
    }
    json_tokener_set_flags(p->tok, JSON_TOKENER_VALIDATE_UTF8);
    p->max_size = max_size;
    p->value = g_string_new(NULL);
    return p;
}

void qmp_json_parser_free(QmpJsonParser *p)
{
    if (p) {
        json_tokener_free(p->tok);
        g_string_free(p->value, TRUE);
        g_free(p);
    }
}

guint64 qmp_json_parser_offset(const QmpJsonParser *p)
{
    return p->offset;
}

/* Errors are GenericError, ready to be sent back as they are. */
#define PARSE_ERROR(errp, ...) \
    (g_set_error((errp), QMP_ERROR, QMP_ERROR_GENERIC_ERROR, __VA_ARGS__), QMP_JSON_ERROR)

/* Forget the current value; what is left of it in the input gets eaten. */
static void drop_value(QmpJsonParser *p)
{
    g_string_truncate(p->value, 0);
    p->skipping = true;
}

/* Keep bytes of the current value, within the size limit. */
static QmpJsonStatus keep(QmpJsonParser *p, const char *bytes, size_t n, GError **errp)
{
    if (p->skipping) {
        return QMP_JSON_NEED_MORE;
    }
    if (p->value->len + n > p->max_size) {
        drop_value(p);
        return PARSE_ERROR(errp, "JSON token size limit exceeded");
    }
    g_string_append_len(p->value, bytes, n);
    return QMP_JSON_NEED_MORE;
}

/* Does text[0..n) follow JSON's number grammar? */
static bool number_is_json(const char *s, size_t n)
{
    size_t i = 0;

    if (i < n && s[i] == '-') {
        i++;
    }
    if (i < n && s[i] == '0') {
        i++;
    } else if (i < n && s[i] >= '1' && s[i] <= '9') {
        while (i < n && g_ascii_isdigit(s[i])) {
            i++;
        }
    } else {
        return false;
    }
    if (i < n && s[i] == '.') {
        size_t digits = ++i;
        while (i < n && g_ascii_isdigit(s[i])) {
            i++;
        }
        if (i == digits) {
            return false;
        }
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) {
            i++;
        }
        size_t digits = i;
        while (i < n && g_ascii_isdigit(s[i])) {
            i++;
        }
        if (i == digits) {
            return false;
        }
    }
    return i == n;
}

/*
 * A JSON number json-c cannot hold exactly: an integer beyond 64 bits
 * (json-c would clamp it) or a number beyond a double's range (infinite).
 * Returns how to say so, or NULL.
 */
static const char *number_out_of_range(const char *s, size_t n, const char **what)
{
    g_autofree char *text = g_strndup(s, n);
    errno = 0;
    bool integer = strpbrk(text, ".eE") == NULL;
    *what = integer ? "integer" : "number";
    if (integer) {
        if (text[0] == '-') {
            (void)g_ascii_strtoll(text, NULL, 10);
        } else {
            (void)g_ascii_strtoull(text, NULL, 10);
        }
        return errno == ERANGE ? "is beyond 64 bits" : NULL;
    }
    double d = g_ascii_strtod(text, NULL);
    return errno == ERANGE && isinf(d) ? "is beyond the range of a double" : NULL;
}

/* The current value is complete: json-c parses it. */
static QmpJsonStatus value_end(QmpJsonParser *p, QObject **value, GError **errp)
{
    if (p->skipping) {
        return QMP_JSON_NEED_MORE;
    }
    size_t len = p->value->len;
    /*
     * Outside strings the lexer let only ASCII through, so this checks the
     * strings.  json-c's own check is looser (it takes overlong forms such
     * as C1 89), and what it lets through would be sent back as is.  Up
     * to a NUL only: json-c refuses that itself.
     */
    const char *bad;
    if (!g_utf8_validate(p->value->str, (gssize)strlen(p->value->str), &bad)) {
        guint64 where = p->value_start + (guint64)(bad - p->value->str);
        g_string_truncate(p->value, 0);
        return PARSE_ERROR(errp, "JSON parse error, invalid utf-8 string at offset %" G_GUINT64_FORMAT,
                           where);
    }
    json_tokener_reset(p->tok);
    /* With its NUL: json-c then knows that a number at the end is whole. */
    QObject *obj = json_tokener_parse_ex(p->tok, p->value->str, (int)len + 1);
    enum json_tokener_error jerr = json_tokener_get_error(p->tok);
    size_t end = MIN(json_tokener_get_parse_end(p->tok), len);
    if (jerr == json_tokener_success && end == len) {
        g_string_truncate(p->value, 0);
        *value = obj;
        return QMP_JSON_VALUE;
    }
    qobject_unref(obj);
    if (jerr == json_tokener_success || jerr == json_tokener_continue) {
        jerr = json_tokener_error_parse_unexpected;
    } else if (jerr == json_tokener_error_parse_eof) {
        end = strlen(p->value->str);   /* json-c stopped at a NUL in a string */
    }
    g_string_truncate(p->value, 0);
    return PARSE_ERROR(errp, "JSON parse error, %s at offset %" G_GUINT64_FORMAT,
                       json_tokener_error_desc(jerr), p->value_start + end);
}

/* A number or keyword ended (before the byte that follows it). */
static QmpJsonStatus token_end(QmpJsonParser *p, QObject **value, GError **errp)
{
    LexState kind = p->state;

    p->state = LEX_BETWEEN;
    if (p->skipping) {
        return QMP_JSON_NEED_MORE;
    }
    const char *s = p->value->str + p->token_start;
    size_t n = p->value->len - p->token_start;
    const char *what = kind == LEX_NUMBER ? "number" : "keyword";
    const char *problem = NULL;
    if (kind == LEX_KEYWORD) {
        if (!(n == 4 && (memcmp(s, "true", 4) == 0 || memcmp(s, "null", 4) == 0)) &&
            !(n == 5 && memcmp(s, "false", 5) == 0)) {
            problem = "is invalid";
        }
    } else if (!number_is_json(s, n)) {
        problem = "is invalid";
    } else {
        problem = number_out_of_range(s, n, &what);
    }
    if (!problem) {
        return p->depth == 0 ? value_end(p, value, errp) : QMP_JSON_NEED_MORE;
    }
    g_autofree char *shown = n > 32 ? g_strdup_printf("%.32s...", s) : g_strndup(s, n);
    guint64 at = p->value_start + p->token_start;
    drop_value(p);
    return PARSE_ERROR(errp, "JSON parse error, %s '%s' %s at offset %" G_GUINT64_FORMAT,
                       what, shown, problem, at);
}

static bool is_number_char(char c)
{
    return g_ascii_isdigit(c) || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

/* Where skipping a stray byte outside any value stops (as in QEMU: a
 * structural character or a line end). */
static bool is_resync_point(char c)
{
    return strchr("{}[],:\n\r", c) != NULL && c != '\0';
}

/* A byte at depth 0 that starts a value. */
static void value_begins(QmpJsonParser *p)
{
    if (p->depth == 0) {
        p->value_start = p->offset;
        g_string_truncate(p->value, 0);
    }
}

static QmpJsonStatus stray_byte(QmpJsonParser *p, GError **errp)
{
    if (p->skipping) {
        return QMP_JSON_NEED_MORE;
    }
    if (p->depth > 0) {
        drop_value(p);
    } else {
        p->state = LEX_JUNK;
    }
    return PARSE_ERROR(errp, "JSON parse error, unexpected character at offset %" G_GUINT64_FORMAT,
                       p->offset);
}

/* Lex one byte, at stream offset p->offset; *used: false when the byte
 * ended a token and must be lexed again as the start of the next. */
static QmpJsonStatus lex_byte(QmpJsonParser *p, char c, bool *used, QObject **value,
                              GError **errp)
{
    QmpJsonStatus st;

    *used = true;
    switch (p->state) {
    case LEX_STRING_ESCAPE:
        p->state = LEX_STRING;
        return keep(p, &c, 1, errp);
    case LEX_STRING:
        if (c == '\\') {
            p->state = LEX_STRING_ESCAPE;
        } else if (c == p->quote) {
            p->state = LEX_BETWEEN;
            st = keep(p, &c, 1, errp);
            return st == QMP_JSON_NEED_MORE && p->depth == 0 ? value_end(p, value, errp) : st;
        }
        return keep(p, &c, 1, errp);
    case LEX_NUMBER:
    case LEX_KEYWORD:
        if (p->state == LEX_NUMBER ? is_number_char(c) : g_ascii_isalpha(c)) {
            return keep(p, &c, 1, errp);
        }
        *used = false;
        return token_end(p, value, errp);
    case LEX_JUNK:
        if (is_resync_point(c)) {
            p->state = LEX_BETWEEN;
            *used = false;
        }
        return QMP_JSON_NEED_MORE;
    case LEX_BETWEEN:
        break;
    }

    switch (c) {
    case ' ':
    case '\t':
    case '\r':
    case '\n':
        return p->depth > 0 ? keep(p, &c, 1, errp) : QMP_JSON_NEED_MORE;
    case '{':
    case '[':
        value_begins(p);
        if (p->depth++ == QMP_JSON_MAX_NESTING && !p->skipping) {
            drop_value(p);
            return PARSE_ERROR(errp, "JSON nesting depth limit exceeded");
        }
        return keep(p, &c, 1, errp);
    case '}':
    case ']':
        if (p->depth == 0) {
            return stray_byte(p, errp);
        }
        p->depth--;
        st = keep(p, &c, 1, errp);
        return st == QMP_JSON_NEED_MORE && p->depth == 0 ? value_end(p, value, errp) : st;
    case ',':
    case ':':
        return p->depth > 0 ? keep(p, &c, 1, errp) : stray_byte(p, errp);
    case '"':
    case '\'':
        value_begins(p);
        p->state = LEX_STRING;
        p->quote = c;
        return keep(p, &c, 1, errp);
    default:
        if (p->skipping && (is_number_char(c) || g_ascii_isalpha(c))) {
            return QMP_JSON_NEED_MORE;
        }
        if (c == '-' || g_ascii_isdigit(c) || g_ascii_isalpha(c)) {
            value_begins(p);
            p->state = g_ascii_isalpha(c) ? LEX_KEYWORD : LEX_NUMBER;
            p->token_start = p->value->len;
            return keep(p, &c, 1, errp);
        }
        return stray_byte(p, errp);
    }
}

/* Inside a string: how many bytes from buf are plain content. */
static size_t string_run(const QmpJsonParser *p, const char *buf, size_t len)
{
    size_t n = 0;
    while (n < len && buf[n] != p->quote && buf[n] != '\\') {
        n++;
    }
    return n;
}

QmpJsonStatus qmp_json_parser_feed(QmpJsonParser *p, const char *buf, size_t len,
                                   size_t *consumed, QObject **value, GError **errp)
{
    QmpJsonStatus status = QMP_JSON_NEED_MORE;
    size_t off = 0;

    *value = NULL;
    while (off < len && status == QMP_JSON_NEED_MORE) {
        size_t run = p->state == LEX_STRING ? string_run(p, buf + off, len - off) : 0;
        if (run > 0) {
            status = keep(p, buf + off, run, errp);
            off += run;
            p->offset += run;
        } else {
            bool used;
            status = lex_byte(p, buf[off], &used, value, errp);
            if (used) {
                off++;
                p->offset++;
            }
        }
        /* A broken value is eaten up to its end, then reading starts afresh. */
        if (p->skipping && p->depth == 0 && p->state == LEX_BETWEEN) {
            p->skipping = false;
        }
    }
    *consumed = off;
    return status;
}

bool qmp_json_parse(const char *text, size_t len, QObject **value, GError **errp)
{
    g_autoptr(QmpJsonParser) p = qmp_json_parser_new(MIN(len, (size_t)INT_MAX - 2) + 1);
    QmpJsonStatus st = QMP_JSON_NEED_MORE;
    QObject *obj = NULL;
    size_t off = 0;
    size_t used;

    while (st == QMP_JSON_NEED_MORE && off < len) {
        st = qmp_json_parser_feed(p, text + off, len - off, &used, &obj, errp);
        off += used;
    }
    if (st == QMP_JSON_NEED_MORE) {
        /* A line end after the text ends a number that ends it. */
        st = qmp_json_parser_feed(p, "\n", 1, &used, &obj, errp);
    }
    if (st == QMP_JSON_ERROR) {
        return false;
    }
    if (st == QMP_JSON_NEED_MORE) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC_ERROR,
                    "JSON parse error, unexpected end of input at offset %zu", len);
        return false;
    }
    while (off < len && (text[off] == ' ' || text[off] == '\t' || text[off] == '\r' ||
                         text[off] == '\n')) {
        off++;
    }
    if (off < len) {
        qobject_unref(obj);
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC_ERROR,
                    "JSON parse error, text after the value at offset %zu", off);
        return false;
    }
    *value = obj;
    return true;
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

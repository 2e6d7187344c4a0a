/* Bounds-checked big-endian bytes: see include/vmscope/bytes.h. */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "vmscope/bytes.h"
#include "vmscope/error.h"

void byte_reader_init(ByteReader *r, const uint8_t *data, size_t len, uint64_t origin)
{
    r->data = data;
    r->len = len;
    r->pos = 0;
    r->origin = origin;
}

static bool need(const ByteReader *r, size_t n, GError **errp)
{
    if (n > byte_reader_left(r)) {
        vms_error_set_at(errp, VMS_ERROR_TRUNCATED, byte_reader_offset(r), NULL, NULL,
                         "truncated: need %zu bytes, %zu left", n, byte_reader_left(r));
        return false;
    }
    return true;
}

bool byte_reader_take(ByteReader *r, size_t n, const uint8_t **out, GError **errp)
{
    if (!need(r, n, errp)) {
        return false;
    }
    *out = r->data + r->pos;
    r->pos += n;
    return true;
}

bool byte_reader_read(ByteReader *r, void *out, size_t n, GError **errp)
{
    const uint8_t *p;
    if (!byte_reader_take(r, n, &p, errp)) {
        return false;
    }
    memcpy(out, p, n);
    return true;
}

bool byte_reader_skip(ByteReader *r, size_t n, GError **errp)
{
    const uint8_t *p;
    return byte_reader_take(r, n, &p, errp);
}

static bool read_be(ByteReader *r, unsigned n, uint64_t *out, GError **errp)
{
    const uint8_t *p;
    if (!byte_reader_take(r, n, &p, errp)) {
        return false;
    }
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) {
        v = (v << 8) | p[i];
    }
    *out = v;
    return true;
}

bool byte_reader_u8(ByteReader *r, uint8_t *out, GError **errp)
{
    uint64_t v;
    if (!read_be(r, 1, &v, errp)) {
        return false;
    }
    *out = (uint8_t)v;
    return true;
}

bool byte_reader_be16(ByteReader *r, uint16_t *out, GError **errp)
{
    uint64_t v;
    if (!read_be(r, 2, &v, errp)) {
        return false;
    }
    *out = (uint16_t)v;
    return true;
}

bool byte_reader_be32(ByteReader *r, uint32_t *out, GError **errp)
{
    uint64_t v;
    if (!read_be(r, 4, &v, errp)) {
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

bool byte_reader_be64(ByteReader *r, uint64_t *out, GError **errp)
{
    return read_be(r, 8, out, errp);
}

bool byte_reader_peek(const ByteReader *r, size_t ahead, uint8_t *out)
{
    if (ahead >= byte_reader_left(r)) {
        return false;
    }
    *out = r->data[r->pos + ahead];
    return true;
}

bool byte_reader_sub(ByteReader *r, size_t n, ByteReader *sub, GError **errp)
{
    uint64_t origin = byte_reader_offset(r);
    const uint8_t *p;
    if (!byte_reader_take(r, n, &p, errp)) {
        return false;
    }
    byte_reader_init(sub, p, n, origin);
    return true;
}

void byte_writer_init(ByteWriter *w)
{
    w->buf = g_byte_array_new();
}

static void write_be(ByteWriter *w, uint64_t v, unsigned n)
{
    uint8_t b[8];
    for (unsigned i = 0; i < n; i++) {
        b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    }
    g_byte_array_append(w->buf, b, n);
}

void byte_writer_u8(ByteWriter *w, uint8_t v) { write_be(w, v, 1); }
void byte_writer_be16(ByteWriter *w, uint16_t v) { write_be(w, v, 2); }
void byte_writer_be32(ByteWriter *w, uint32_t v) { write_be(w, v, 4); }
void byte_writer_be64(ByteWriter *w, uint64_t v) { write_be(w, v, 8); }

void byte_writer_write(ByteWriter *w, const void *data, size_t n)
{
    g_byte_array_append(w->buf, data, (guint)n);
}

GBytes *byte_writer_take(ByteWriter *w)
{
    GBytes *b = g_byte_array_free_to_bytes(w->buf);
    w->buf = g_byte_array_new();
    return b;
}

void hex_append(GString *out, const uint8_t *data, size_t n, char sep)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        if (i && sep) {
            g_string_append_c(out, sep);
        }
        g_string_append_c(out, digits[data[i] >> 4]);
        g_string_append_c(out, digits[data[i] & 15]);
    }
}

char *hex_encode(const uint8_t *data, size_t n)
{
    GString *s = g_string_sized_new(2 * n + 1);
    hex_append(s, data, n, '\0');
    return g_string_free(s, FALSE);
}

char *bytes_to_text(const uint8_t *data, size_t n)
{
    GString *s = g_string_sized_new(n + 1);
    size_t i = 0;
    while (i < n) {
        const char *start = (const char *)data + i;
        const char *end;
        bool valid = g_utf8_validate(start, (gssize)(n - i), &end);
        g_string_append_len(s, start, end - start);
        i += (size_t)(end - start);
        if (valid) {
            break;
        }
        g_string_append_printf(s, "\\x%02x", data[i++]);
    }
    return g_string_free(s, FALSE);
}

bool hex_decode(const char *hex, uint8_t *out, size_t n, size_t *bad)
{
    for (size_t i = 0; i < 2 * n; i++) {
        if (!g_ascii_isxdigit(hex[i])) {
            *bad = i;
            return false;
        }
    }
    for (size_t i = 0; i < n; i++) {
        out[i] = (uint8_t)(g_ascii_xdigit_value(hex[2 * i]) << 4 |
                           g_ascii_xdigit_value(hex[2 * i + 1]));
    }
    return true;
}

void byte_writer_clear(ByteWriter *w)
{
    if (w->buf) {
        g_byte_array_unref(w->buf);
        w->buf = NULL;
    }
}

/*
 * Writing BER elements: see include/vmscope/ber.h.
 *
 * libtasn1 encodes lengths (asn1_length_der) and the tag and length of the
 * universal string types (asn1_encode_simple_der); the identifier bytes of
 * the module's own tags and the contents of INTEGER and BOOLEAN are written
 * here, since libtasn1 has no function for them.  Everything is DER:
 * definite, minimal lengths; minimal INTEGERs; BOOLEAN TRUE as 0xff.
 */
#include "config.h"

#include <limits.h>
#include <string.h>
#include <libtasn1.h>

#include "vmscope/ber.h"

void ber_writer_init(BerWriter *bw, ByteWriter *w)
{
    bw->w = w;
    bw->open = g_array_new(FALSE, FALSE, sizeof(size_t));
}

void ber_writer_clear(BerWriter *bw)
{
    if (bw->open) {
        g_array_free(bw->open, TRUE);
        bw->open = NULL;
    }
}

size_t ber_encode_header(uint8_t *out, uint8_t id, size_t len)
{
    unsigned int tl_len = BER_MAX_HEADER;
    unsigned etype = id == BER_ID_OCTETS ? ASN1_ETYPE_OCTET_STRING
                   : id == BER_ID_UTF8   ? ASN1_ETYPE_UTF8_STRING
                   : id == BER_ID_NULL   ? ASN1_ETYPE_NULL : 0;
    if (etype && len <= UINT_MAX &&
        asn1_encode_simple_der(etype, (const unsigned char *)"", (unsigned)len, out,
                               &tl_len) == ASN1_SUCCESS) {
        return tl_len;
    }
    int n = 0;
    asn1_length_der(len, out + 1, &n);
    out[0] = id;
    return (size_t)n + 1;
}

void ber_put_header(BerWriter *bw, uint8_t id, size_t len)
{
    uint8_t tl[BER_MAX_HEADER];
    byte_writer_write(bw->w, tl, ber_encode_header(tl, id, len));
}

void ber_open(BerWriter *bw, uint8_t id)
{
    size_t at = byte_writer_len(bw->w);
    g_array_append_val(bw->open, at);
    byte_writer_u8(bw->w, id);
    byte_writer_u8(bw->w, 0);              /* the length, fixed up by ber_close */
}

void ber_close(BerWriter *bw)
{
    g_assert(bw->open->len > 0);
    size_t at = g_array_index(bw->open, size_t, bw->open->len - 1);
    g_array_set_size(bw->open, bw->open->len - 1);

    GByteArray *buf = bw->w->buf;
    size_t content = at + 2, len = buf->len - content;
    if (len < 0x80) {
        buf->data[at + 1] = (uint8_t)len;
        return;
    }
    unsigned char der[ASN1_MAX_LENGTH_SIZE];
    int n = 0;
    asn1_length_der(len, der, &n);
    size_t grow = (size_t)n - 1;
    g_byte_array_set_size(buf, (guint)(buf->len + grow));
    memmove(buf->data + content + grow, buf->data + content, len);
    memcpy(buf->data + at + 1, der, (size_t)n);
}

void ber_put_bool(BerWriter *bw, bool value)
{
    const uint8_t tlv[3] = { BER_ID_BOOLEAN, 1, value ? 0xff : 0x00 };
    byte_writer_write(bw->w, tlv, sizeof(tlv));
}

/* Minimal INTEGER contents of the 64 bits v (two's complement if negative), after id. */
static size_t encode_int(uint8_t *out, uint8_t id, uint64_t v, bool negative)
{
    /* The bits that are not sign, plus the sign bit: that many bytes, 8 at most. */
    uint64_t m = negative ? ~v : v;
    unsigned bits = m ? 64 - (unsigned)__builtin_clzll(m) : 0;
    unsigned n = bits / 8 + 1;
    n = n > 8 ? 8 : n;
    out[0] = id;
    out[1] = (uint8_t)n;
    for (unsigned i = 0; i < n; i++) {
        out[2 + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    }
    return 2 + n;
}

size_t ber_encode_int(uint8_t *out, uint8_t id, int64_t value)
{
    return encode_int(out, id, (uint64_t)value, value < 0);
}

size_t ber_encode_uint(uint8_t *out, uint8_t id, uint64_t value)
{
    if (value >> 63) {
        /* A leading zero byte keeps it positive: nine bytes. */
        out[0] = id;
        out[1] = 9;
        out[2] = 0;
        for (unsigned i = 0; i < 8; i++) {
            out[3 + i] = (uint8_t)(value >> (56 - 8 * i));
        }
        return 11;
    }
    return encode_int(out, id, value, false);
}

void ber_put_int(BerWriter *bw, uint8_t id, int64_t value)
{
    uint8_t b[BER_MAX_INT];
    byte_writer_write(bw->w, b, ber_encode_int(b, id, value));
}

void ber_put_uint(BerWriter *bw, uint8_t id, uint64_t value)
{
    uint8_t b[BER_MAX_INT];
    byte_writer_write(bw->w, b, ber_encode_uint(b, id, value));
}

void ber_put_string(BerWriter *bw, uint8_t id, const void *data, size_t len)
{
    ber_put_header(bw, id, len);
    byte_writer_write(bw->w, data, len);
}

void ber_put_null(BerWriter *bw)
{
    ber_put_header(bw, BER_ID_NULL, 0);
}

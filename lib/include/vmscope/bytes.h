/*
 * Bounds-checked big-endian byte reading and writing: the ground every
 * binary decoder in vmscope (QEMU's stream, segments) stands on.
 *
 * A ByteReader walks a borrowed buffer.  Every read checks the length first
 * and fails with an error naming the absolute stream offset, which the error
 * keeps as data (error.h) for whoever adds the field path or the section:
 * "offset 1234: truncated: need 4 bytes, 2 left".  `origin` is the absolute
 * offset of data[0] in the whole input, so a reader over a slice reports
 * offsets in the file, not in the slice.
 *
 * A ByteWriter appends to a GByteArray it owns (or borrows, see init).
 */
#ifndef VMSCOPE_BYTES_H
#define VMSCOPE_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

typedef struct ByteReader {
    const uint8_t *data;
    size_t len;
    size_t pos;        /* next byte to read, relative to data */
    uint64_t origin;   /* absolute offset of data[0] */
} ByteReader;

void byte_reader_init(ByteReader *r, const uint8_t *data, size_t len, uint64_t origin);
static inline size_t byte_reader_left(const ByteReader *r) { return r->len - r->pos; }
static inline uint64_t byte_reader_offset(const ByteReader *r) { return r->origin + r->pos; }

bool byte_reader_u8(ByteReader *r, uint8_t *out, GError **errp);
bool byte_reader_be16(ByteReader *r, uint16_t *out, GError **errp);
bool byte_reader_be32(ByteReader *r, uint32_t *out, GError **errp);
bool byte_reader_be64(ByteReader *r, uint64_t *out, GError **errp);
/* Copy n bytes out. */
bool byte_reader_read(ByteReader *r, void *out, size_t n, GError **errp);
/* Borrow a pointer to the next n bytes and advance. */
bool byte_reader_take(ByteReader *r, size_t n, const uint8_t **out, GError **errp);
bool byte_reader_skip(ByteReader *r, size_t n, GError **errp);
/* Look at the byte `ahead` bytes past pos without advancing; false at the end. */
bool byte_reader_peek(const ByteReader *r, size_t ahead, uint8_t *out);
/* A reader over the next n bytes (same origin arithmetic); advances r. */
bool byte_reader_sub(ByteReader *r, size_t n, ByteReader *sub, GError **errp);

typedef struct ByteWriter {
    GByteArray *buf;
} ByteWriter;

void byte_writer_init(ByteWriter *w);              /* owns a new GByteArray */
void byte_writer_u8(ByteWriter *w, uint8_t v);
void byte_writer_be16(ByteWriter *w, uint16_t v);
void byte_writer_be32(ByteWriter *w, uint32_t v);
void byte_writer_be64(ByteWriter *w, uint64_t v);
void byte_writer_write(ByteWriter *w, const void *data, size_t n);
static inline size_t byte_writer_len(const ByteWriter *w) { return w->buf->len; }
/* Hand over the bytes (the writer is empty afterwards). */
GBytes *byte_writer_take(ByteWriter *w);
void byte_writer_clear(ByteWriter *w);

/*
 * Hex text, two lowercase digits per byte: the way buffers appear in JSON
 * ("00ff10") and, spaced, in pretty text ("00 ff 10").  The one hex encoder
 * and decoder of vmscope.
 *
 * hex_append appends the digits of n bytes to out, `sep` between two bytes
 * ('\0': nothing).  hex_encode returns them alone (g_malloc'd, "" for n 0).
 * hex_decode reads exactly 2*n digits (either case) and writes out only when
 * all are valid; otherwise it returns false and sets *bad to the position of
 * the first character that is not a hex digit.
 */
void hex_append(GString *out, const uint8_t *data, size_t n, char sep);
char *hex_encode(const uint8_t *data, size_t n);
bool hex_decode(const char *hex, uint8_t *out, size_t n, size_t *bad);

/*
 * Bytes from outside (a stream's machine name, a subsection name) as text
 * for messages and JSON, which must be UTF-8: valid UTF-8 is kept as it is;
 * a byte that is not part of valid UTF-8, or a NUL, becomes the four
 * characters \xNN ("pc-\xff").  g_malloc'd.
 */
char *bytes_to_text(const uint8_t *data, size_t n);

#endif

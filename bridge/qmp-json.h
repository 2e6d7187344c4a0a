/*
 * QMP wire codec: splitting a byte stream into JSON values, and writing
 * values the way QEMU writes them.
 *
 * QMP is a stream of JSON values with no other framing: a peer may send
 * several values in one write, one value across many writes, whitespace in
 * between or not.  QmpJsonParser is fed whatever bytes arrived and hands
 * back complete values one at a time.  Its lexer checks each token and
 * counts brackets to find where a value ends; json-c then parses the whole
 * value in one call (so a UTF-8 character split across writes is read
 * whole, and whatever follows a value cannot spoil it).  Values are JSON as
 * QEMU accepts it, including 'single-quoted' strings; strings must be valid
 * UTF-8; numbers must follow JSON's grammar (no 00, 123e, NaN) and fit
 * json-c exactly: an integer beyond int64/uint64 or a number beyond a
 * double's range is refused rather than read as another number.
 *
 * Errors and recovery, as in QEMU's JSON streamer: a bad token is reported
 * as soon as it ends, a syntax error once the value's brackets balance;
 * then the rest of the broken value is skipped (input is eaten until its
 * brackets balance) and parsing goes on with the next value, so a peer that
 * sent garbage can still be answered.  A stray byte outside any value is
 * reported once and what follows it is skipped up to a bracket, brace,
 * comma, colon or line end (QEMU's resynchronisation points).  Messages
 * start with QEMU's "JSON parse error, " followed by the problem and the
 * byte offset in the stream, e.g. "JSON parse error, unexpected character
 * at offset 5", "JSON parse error, number '00' is invalid at offset 9",
 * "JSON parse error, integer '18446744073709551616' is beyond 64 bits at
 * offset 7" (tokens longer than 32 bytes are cut).  Limits, with QEMU's
 * exact messages: a value nested deeper than 1024 brackets gets "JSON
 * nesting depth limit exceeded"; a value longer than the parser's max_size
 * bytes (leading whitespace not counted) gets "JSON token size limit
 * exceeded".  Errors are in the QMP_ERROR domain, class GenericError (see
 * qmp-dispatch.h), ready to be sent back as they are.
 *
 * Output: qmp_json_append() writes a value as QEMU does on a QMP socket:
 * `{"a": 1, "b": [true, null]}` (a space after ':' and ','), keys in the
 * QObject's insertion order.  Scalars are written by json-c (raw UTF-8,
 * control characters as \u00XX).
 */
#ifndef VMSCOPE_BRIDGE_QMP_JSON_H
#define VMSCOPE_BRIDGE_QMP_JSON_H

#include <stddef.h>
#include <glib.h>

#include "vmscope/qobject.h"

/* QEMU's nesting limit (qobject/json-streamer.c MAX_NESTING). */
#define QMP_JSON_MAX_NESTING 1024

typedef struct QmpJsonParser QmpJsonParser;

typedef enum QmpJsonStatus {
    QMP_JSON_NEED_MORE,  /* every byte given was used; no complete value yet */
    QMP_JSON_VALUE,      /* a complete value: *value is set */
    QMP_JSON_ERROR,      /* a syntax error or limit: *errp is set */
} QmpJsonStatus;

/* max_size: the longest value accepted, in bytes (> 0, < INT_MAX). */
QmpJsonParser *qmp_json_parser_new(size_t max_size);
void qmp_json_parser_free(QmpJsonParser *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmpJsonParser, qmp_json_parser_free)

/*
 * Parse from buf[0..len).  *consumed is how many bytes were used; call
 * again with the rest.  On QMP_JSON_VALUE, *value is a new reference (NULL
 * for JSON null); on QMP_JSON_ERROR, *errp is set and the broken value is
 * skipped by the following calls.
 */
QmpJsonStatus qmp_json_parser_feed(QmpJsonParser *p, const char *buf, size_t len,
                                   size_t *consumed, QObject **value, GError **errp);

/*
 * Parse text that holds exactly one value (whitespace around it allowed),
 * read as the stream parser reads one: the same tokens, checks and
 * messages (for a QMP request that comes whole, as over HTTP).  On success
 * *value is a new reference (NULL for JSON null).
 */
bool qmp_json_parse(const char *text, size_t len, QObject **value, GError **errp);

/* Bytes of the stream consumed so far. */
guint64 qmp_json_parser_offset(const QmpJsonParser *p);

/* Append obj as QEMU formats it (no trailing newline). */
void qmp_json_append(GString *out, const QObject *obj);

/* obj as QEMU formats it; g_free the result. */
char *qmp_json_format(const QObject *obj);

#endif

/*
 * QMP wire codec: splitting a byte stream into JSON values, and writing
 * values the way QEMU writes them.
 *
 * QMP is a stream of JSON values with no other framing: a peer may send
 * several values in one write, one value across many writes, whitespace in
 * between or not.  QmpJsonParser is fed whatever bytes arrived and hands
 * back complete values one at a time, using json-c's incremental tokener
 * (json_tokener_parse_ex) for the parsing itself.  Values are JSON as QEMU
 * accepts it: json-c's non-strict mode, which like QEMU also takes
 * 'single-quoted' strings; strings must be valid UTF-8.
 *
 * Errors and recovery, as in QEMU's JSON streamer: a syntax error is
 * reported once, then the rest of the broken value is skipped (input is
 * eaten until its brackets balance; a bad token outside any bracket is
 * skipped up to the next whitespace, bracket or quote) and parsing goes on
 * with the next value, so a peer that sent garbage can still be answered.
 * Messages start with QEMU's "JSON parse error, " followed by json-c's
 * description and the byte offset in the stream, e.g.
 * "JSON parse error, unexpected character at offset 5".  Limits, with
 * QEMU's exact messages: a value nested deeper than 1024 brackets gets
 * "JSON nesting depth limit exceeded"; a value longer than the parser's
 * max_size bytes (leading whitespace not counted) gets "JSON token size
 * limit exceeded".  Errors are in the QMP_ERROR domain, class GenericError
 * (see qmp-dispatch.h), ready to be sent back as they are.
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

/* max_size: the longest value accepted, in bytes (> 0). */
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

/* Bytes of the stream consumed so far. */
guint64 qmp_json_parser_offset(const QmpJsonParser *p);

/* Append obj as QEMU formats it (no trailing newline). */
void qmp_json_append(GString *out, const QObject *obj);

/* obj as QEMU formats it; g_free the result. */
char *qmp_json_format(const QObject *obj);

#endif

/*
 * The QMP wire codec (bridge/qmp-json.c) fed in random chunk sizes.  The
 * first byte seeds the chunking; the rest is the stream.  Invariants:
 *   - every byte given is consumed, and feeding makes progress;
 *   - the same values and errors come out in the same order whatever the
 *     chunking (compared with one feed of the whole);
 *   - every value, written as QEMU writes it, is UTF-8 JSON that reads back
 *     as an equal value; every error message is UTF-8.
 */
#include "config.h"

#include <glib.h>

#include "fuzz.h"
#include "bridge/qmp-json.h"

#define MAX_SIZE 4096        /* small, so that the size limit is reached too */

static void check_value(const QObject *v)
{
    g_autofree char *json = qmp_json_format(v);
    FUZZ_CHECK(g_utf8_validate(json, -1, NULL), "value written as non-UTF-8: %s", json);
    g_autoptr(QObject) back = NULL;
    g_autoptr(GError) err = NULL;
    FUZZ_CHECK(qmp_json_parse(json, strlen(json), &back, &err), "written value does not read back: %s: %s",
               json, err->message);
    FUZZ_CHECK(qobject_equal(v, back), "value read back differs: %s", json);
}

/* Feed data in chunks (chunk 0: all at once, else sizes from a PRNG seeded with it). */
static char *feed(const uint8_t *data, size_t size, guint32 chunk)
{
    g_autoptr(QmpJsonParser) p = qmp_json_parser_new(MAX_SIZE);
    g_autoptr(GRand) rand = g_rand_new_with_seed(chunk);
    GString *out = g_string_new(NULL);
    size_t off = 0;
    while (off < size) {
        size_t want = chunk ? (size_t)g_rand_int_range(rand, 1, 65) : size;   /* MIN evaluates twice */
        size_t n = MIN(want, size - off);
        size_t pos = 0;
        while (pos < n) {
            size_t used = 0;
            QObject *v = NULL;
            GError *err = NULL;
            QmpJsonStatus st = qmp_json_parser_feed(p, (const char *)data + off + pos, n - pos,
                                                    &used, &v, &err);
            pos += used;
            if (st == QMP_JSON_VALUE) {
                check_value(v);
                g_autofree char *json = qmp_json_format(v);
                g_string_append_printf(out, "V %s\n", json);
                qobject_unref(v);
            } else if (st == QMP_JSON_ERROR) {
                FUZZ_CHECK(g_utf8_validate(err->message, -1, NULL), "error message not UTF-8");
                g_string_append_printf(out, "E %s\n", err->message);
                g_error_free(err);
            } else {
                FUZZ_CHECK(pos == n, "NEED_MORE with %zu of %zu bytes unused", n - pos, n);
            }
        }
        off += n;
    }
    FUZZ_CHECK(qmp_json_parser_offset(p) == size, "offset %" G_GUINT64_FORMAT " after %zu bytes",
               qmp_json_parser_offset(p), size);
    return g_string_free(out, FALSE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    g_autofree char *whole = feed(data + 1, size - 1, 0);
    g_autofree char *chunked = feed(data + 1, size - 1, data[0] + 1u);
    FUZZ_CHECK(strcmp(whole, chunked) == 0, "chunking changed the result:\n%s---\n%s", whole,
               chunked);

    /* The whole input as one request body (POST /api/qmp). */
    g_autoptr(QObject) v = NULL;
    g_autoptr(GError) err = NULL;
    if (qmp_json_parse((const char *)data + 1, size - 1, &v, &err)) {
        check_value(v);
    } else {
        FUZZ_CHECK(g_utf8_validate(err->message, -1, NULL), "error message not UTF-8");
    }
    return 0;
}

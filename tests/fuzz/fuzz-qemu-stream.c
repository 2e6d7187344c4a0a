/*
 * The QEMU migration stream reader (lib/qemu-stream).  Invariants for an
 * input that parses:
 *   - written back unchanged, it is byte for byte the input;
 *   - its diff with itself (a second parse) is empty;
 *   - as JSON (vmscope-view stream --format json) it is UTF-8 and reads back;
 *   - read with its own vmdesc given as descriptions (the agent's way, misfits
 *     kept as bytes), with a QemuStreamCache, twice, it decodes as without one.
 * An input that does not parse gets a UTF-8 error message.
 */
#include "config.h"

#include <string.h>
#include <glib.h>

#include "fuzz.h"
#include "vmscope/qemu-stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autoptr(GBytes) in = g_bytes_new(data, size);
    g_autoptr(GError) err = NULL;
    g_autoptr(QemuStream) s = qemu_stream_parse(in, &err);
    if (!s) {
        FUZZ_CHECK(err && g_utf8_validate(err->message, -1, NULL), "error message not UTF-8");
        return 0;
    }

    g_autoptr(GBytes) out = qemu_stream_write(s);
    FUZZ_CHECK(g_bytes_equal(in, out), "written back: %zu bytes from %zu, or other bytes",
               g_bytes_get_size(out), size);

    g_autoptr(QemuStream) again = qemu_stream_parse(in, NULL);
    FUZZ_CHECK(again, "parses once, not twice");
    g_autoptr(GPtrArray) lines = qemu_stream_diff(s, again);
    FUZZ_CHECK(lines->len == 0, "diff with itself: %u lines, first: %s", lines->len,
               lines->len ? (const char *)g_ptr_array_index(lines, 0) : "");

    QObject *vmdesc = qemu_stream_vmdesc(s);
    QemuStreamOptions plain = { .desc = vmdesc, .keep_misfits = true };
    g_autoptr(QemuStream) given = vmdesc ? qemu_stream_parse_with(in, &plain, NULL) : NULL;
    if (given) {
        g_autoptr(QemuStreamCache) cache = qemu_stream_cache_new();
        QemuStreamOptions cached = { .desc = vmdesc, .keep_misfits = true, .cache = cache };
        for (int k = 0; k < 2; k++) {
            g_autoptr(QemuStream) c = qemu_stream_parse_with(in, &cached, NULL);
            FUZZ_CHECK(c, "parses without a cache, not with one (pass %d)", k);
            g_autoptr(GPtrArray) d = qemu_stream_diff(given, c);
            FUZZ_CHECK(d->len == 0, "with a cache (pass %d): %u lines, first: %s", k, d->len,
                       d->len ? (const char *)g_ptr_array_index(d, 0) : "");
        }
    }

    g_autoptr(QObject) obj = qemu_stream_to_qobject(s, true);
    g_autofree char *json = qobject_to_json(obj, false);
    FUZZ_CHECK(g_utf8_validate(json, -1, NULL), "JSON output not UTF-8");
    g_autoptr(QObject) back = NULL;
    FUZZ_CHECK(qobject_from_json(json, strlen(json), &back, &err), "JSON output does not read back: %s",
               err->message);
    return 0;
}

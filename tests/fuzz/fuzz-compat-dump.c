/*
 * The -dump-vmstate reader of lib/compat (compat_set_load: QEMU's dump
 * JSON, or a stream) and the comparison.  Input: a file's bytes.
 * Invariants for an input that loads:
 *   - its descriptions are compatible with themselves: compat_compare of
 *     the set with itself finds nothing;
 *   - a stream's load, replayed against its own descriptions
 *     (compat_explain), would succeed, and checks every device section;
 *   - every finding of a comparison with QEMU's pc-like sample below has a
 *     kind, a section and a message (nothing half made).
 */
#include "config.h"

#include <string.h>
#include <glib.h>

#include "fuzz.h"
#include "vmscope/compat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autoptr(GBytes) bytes = g_bytes_new(data, size);
    g_autoptr(GError) err = NULL;
    g_autoptr(QemuStream) stream = NULL;
    g_autoptr(CompatSet) set = compat_set_load(bytes, &stream, &err);
    if (!set) {
        FUZZ_CHECK(err && err->message[0], "failed without an error");
        return 0;
    }
    g_autoptr(GPtrArray) self = compat_compare(set, set);
    FUZZ_CHECK(self->len == 0, "%u findings against itself, the first: %s", self->len,
               compat_finding_line(g_ptr_array_index(self, 0)));

    if (stream) {
        g_autoptr(CompatExplain) e = compat_explain(stream, set);
        FUZZ_CHECK(e->findings->len == 0, "the stream fails against itself: %s",
                   compat_finding_line(g_ptr_array_index(e->findings, 0)));
        FUZZ_CHECK(e->not_checked->len == 0, "%u sections not checked", e->not_checked->len);
    }

    g_autoptr(CompatSet) other = compat_set_new(COMPAT_SOURCE_DUMP, "pc-i440fx-7.2");
    static const VMStateField fields[] = {
        { .name = "divider", .info = VMSTATE_INFO(VMSTATE_TYPE_UINT16), .size = 2 },
        { .name = "unused", .info = VMSTATE_INFO(VMSTATE_TYPE_UNUSED), .size = 4 },
        { .name = NULL },
    };
    static const VMStateDescription serial = {
        .name = "serial", .version_id = 3, .minimum_version_id = 2, .fields = fields,
    };
    compat_set_add_vmsd(other, "isa-serial", &serial);
    for (int reverse = 0; reverse < 2; reverse++) {
        g_autoptr(GPtrArray) f = reverse ? compat_compare(other, set) : compat_compare(set, other);
        for (guint i = 0; i < f->len; i++) {
            const CompatFinding *x = g_ptr_array_index(f, i);
            FUZZ_CHECK(x->kind && x->key && x->name && x->path && x->message && x->message[0],
                       "finding %u is half made", i);
            g_autofree char *line = compat_finding_line(x);
            g_autoptr(QObject) o = compat_finding_to_qobject(x);
            FUZZ_CHECK(line[0] && o, "finding %u: no line or JSON", i);
        }
    }
    return 0;
}

/* --filter RULES for vmscope-view rewrite and convert (view-filter.h). */
#include "config.h"

#include "view-filter.h"
#include "vmscope/error.h"
#include "vmscope/filter.h"

QemuStream *view_filter_stream(const char *rules, const char *in, QemuStream *s,
                               QObject *desc, GError **errp)
{
    g_autoptr(Filter) f = filter_load_file(rules, errp);
    if (!f) {
        return NULL;
    }
    g_autoptr(GBytes) bytes = filter_qemu_stream(f, s, errp);
    if (!bytes) {
        vms_error_prefix(errp, "%s: --filter %s", in, rules);
        return NULL;
    }
    QemuStreamOptions opts = { .desc = qemu_stream_vmdesc(s) ? NULL : desc };
    QemuStream *out = qemu_stream_parse_with(bytes, &opts, errp);
    if (!out) {
        vms_error_prefix(errp, "%s: the stream after --filter %s", in, rules);
    }
    return out;
}

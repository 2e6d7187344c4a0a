/* vmscope error domain: see include/vmscope/error.h. */
#include "config.h"

#include "vmscope/error.h"

G_DEFINE_QUARK(vmscope-error-quark, vms_error)

void vms_error_prefix(GError **errp, const char *fmt, ...)
{
    if (!errp || !*errp) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *prefix = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_prefix_error(errp, "%s: ", prefix);
}

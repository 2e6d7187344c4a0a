/*
 * Descriptions, consistent walks and differences of device state; see
 * snapshot.h.
 */
#include "config.h"

#include <string.h>

#include "snapshot.h"
#include "vmscope/error.h"
#include "vmscope/qobject-visitor.h"

AgentDesc *agent_desc_new(const char *text, const ShmDeviceInfo *info, GError **errp)
{
    g_autoptr(QObject) json = NULL;
    if (!qobject_from_json(text, strlen(text), &json, errp)) {
        vms_error_prefix(errp, "description");
        return NULL;
    }
    VMStateDescription *vmsd = vmstate_from_description(json, info->state_size, errp);
    if (!vmsd) {
        return NULL;
    }
    AgentDesc *desc = g_new0(AgentDesc, 1);
    desc->json = g_steal_pointer(&json);
    desc->vmsd = vmsd;
    desc->state_size = info->state_size;
    desc->desc_offset = info->desc_offset;
    desc->desc_length = info->desc_length;
    return desc;
}

void agent_desc_free(AgentDesc *desc)
{
    if (desc) {
        qobject_unref(desc->json);
        vmstate_description_free(desc->vmsd);
        g_free(desc);
    }
}

typedef struct Walk {
    const AgentDesc *desc;
    unsigned what;
    const VmsFormat *format;
    QObject *state;
    GBytes *result;
    bool stale;
} Walk;

static bool walk_once(const VMStateDescription *vmsd, Visitor *v, const ShmView *view,
                      GError **errp)
{
    /* Segment pointers are copied from the segment as the walk reaches them. */
    VMStateContext ctx = { .size = view->size, .fetch = shm_view_fetch,
                           .fetch_opaque = (void *)view };
    return vmstate_save(v, vmsd, (void *)view->state, &ctx, errp);
}

/*
 * Called by shm_reader_read between the two sequence reads, again on every
 * retry: each call starts afresh and replaces what an earlier one built.
 */
static bool walk_view(const ShmView *view, void *opaque, GError **errp)
{
    Walk *w = opaque;
    const ShmDeviceInfo *e = view->info;
    g_clear_pointer(&w->state, qobject_unref);
    g_clear_pointer(&w->result, g_bytes_unref);
    w->stale = false;

    /* The description must belong to this incarnation of the device. */
    if (e->state_size != w->desc->state_size || e->desc_offset != w->desc->desc_offset ||
        e->desc_length != w->desc->desc_length) {
        w->stale = true;
        g_set_error(errp, VMS_ERROR, AGENT_SNAPSHOT_STALE,
                    "replaced since its description was read");
        return false;
    }
    if (w->what & AGENT_SNAPSHOT_STATE) {
        Visitor *v = qobject_output_visitor_new();
        bool ok = walk_once(w->desc->vmsd, v, view, errp);
        if (ok) {
            w->state = qobject_output_visitor_take(v);
        }
        visit_free(v);
        if (!ok) {
            return false;
        }
    }
    if (w->what & AGENT_SNAPSHOT_RESULT) {
        Visitor *v = w->format->output_new();
        bool ok = walk_once(w->desc->vmsd, v, view, errp);
        if (ok) {
            w->result = w->format->output_take(v);
        }
        visit_free(v);
        if (!ok) {
            return false;
        }
    }
    return true;
}

bool agent_snapshot_take(ShmReader *r, const char *id, const AgentDesc *desc, unsigned what,
                         const VmsFormat *format, AgentSnapshot *out, GError **errp)
{
    memset(out, 0, sizeof(*out));
    g_return_val_if_fail(format || !(what & AGENT_SNAPSHOT_RESULT), false);
    Walk w = { .desc = desc, .what = what, .format = format };
    if (!shm_reader_read(r, id, walk_view, &w, &out->info, errp)) {
        qobject_unref(w.state);
        if (w.result) {
            g_bytes_unref(w.result);
        }
        return false;
    }
    out->state = w.state;
    out->result = w.result;
    return true;
}

void agent_snapshot_clear(AgentSnapshot *snap)
{
    g_clear_pointer(&snap->state, qobject_unref);
    g_clear_pointer(&snap->result, g_bytes_unref);
}

/* ---- differences -------------------------------------------------------- */

GPtrArray *agent_state_diff(const QObject *before, const QObject *after)
{
    g_autoptr(GPtrArray) diffs = qobject_diff(before, after, "");
    GPtrArray *out = g_ptr_array_new_full(diffs->len, g_free);
    for (guint i = 0; i < diffs->len; i++) {
        QObjectDiff *d = g_ptr_array_index(diffs, i);
        g_ptr_array_add(out, g_steal_pointer(&d->path));
    }
    return out;
}

/*
 * Descriptions, consistent walks and differences of device state; see
 * snapshot.h.
 */
#include "config.h"

#include <string.h>

#include "snapshot.h"
#include "vmscope/error.h"
#include "vmscope/qobject-visitor.h"

struct AgentDescShared {
    int refs;
    char *key;                     /* "STATE_SIZE:TEXT" */
    VMStateDescription *vmsd;
    AgentDescCache *cache;         /* NULL once the cache went */
};

struct AgentDescCache {
    GHashTable *by_key;            /* key -> AgentDescShared (its key) */
};

AgentDescCache *agent_desc_cache_new(void)
{
    AgentDescCache *c = g_new0(AgentDescCache, 1);
    c->by_key = g_hash_table_new(g_str_hash, g_str_equal);
    return c;
}

void agent_desc_cache_free(AgentDescCache *cache)
{
    if (!cache) {
        return;
    }
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, cache->by_key);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        ((AgentDescShared *)value)->cache = NULL;
    }
    g_hash_table_destroy(cache->by_key);
    g_free(cache);
}

guint agent_desc_cache_size(const AgentDescCache *cache)
{
    return cache ? g_hash_table_size(cache->by_key) : 0;
}

static void shared_unref(AgentDescShared *sh)
{
    if (!sh || --sh->refs > 0) {
        return;
    }
    if (sh->cache) {
        g_hash_table_remove(sh->cache->by_key, sh->key);
    }
    vmstate_description_free(sh->vmsd);
    g_free(sh->key);
    g_free(sh);
}

AgentDesc *agent_desc_new(AgentDescCache *cache, const char *text, const ShmDeviceInfo *info,
                          GError **errp)
{
    g_autofree char *key = g_strdup_printf("%" G_GUINT64_FORMAT ":%s",
                                           (guint64)info->state_size, text);
    AgentDescShared *sh = cache ? g_hash_table_lookup(cache->by_key, key) : NULL;
    if (sh) {
        sh->refs++;
    } else {
        g_autoptr(QObject) json = NULL;
        if (!qobject_from_json(text, strlen(text), &json, errp)) {
            vms_error_prefix(errp, "description");
            return NULL;
        }
        VMStateDescription *vmsd = vmstate_from_description(json, info->state_size, errp);
        if (!vmsd) {
            return NULL;
        }
        sh = g_new0(AgentDescShared, 1);
        sh->refs = 1;
        sh->key = g_steal_pointer(&key);
        sh->vmsd = vmsd;
        sh->cache = cache;
        if (cache) {
            g_hash_table_insert(cache->by_key, sh->key, sh);
        }
    }
    AgentDesc *desc = g_new0(AgentDesc, 1);
    desc->shared = sh;
    desc->vmsd = sh->vmsd;
    desc->state_size = info->state_size;
    desc->desc_offset = info->desc_offset;
    desc->desc_length = info->desc_length;
    return desc;
}

void agent_desc_free(AgentDesc *desc)
{
    if (desc) {
        shared_unref(desc->shared);
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

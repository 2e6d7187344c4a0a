/*
 * Decoded device sections kept across parses; see QemuStreamOptions.cache
 * in qemu-stream.h.  An entry is keyed by what identifies a section in a
 * stream of the same QEMU (idstr, instance id, its occurrence among
 * duplicates, section id, version): the parser asks for it before
 * decoding and, when the entry's payload is a prefix of the section's bytes
 * and the section's footer follows that prefix, takes the entry's decode.
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "qemu-stream-impl.h"

struct QemuStreamCache {
    QObject *desc;              /* what the entries were decoded with (a reference) */
    GHashTable *entries;        /* key -> QsCacheEntry * */
    uint64_t hits, misses;
};

static void entry_free(gpointer p)
{
    QsCacheEntry *e = p;
    g_bytes_unref(e->payload);
    qs_device_free(e->dev);
    qobject_unref(e->state);
    g_free(e);
}

static char *entry_key(const QemuStreamSection *sec)
{
    return g_strdup_printf("%s:%" PRIu32 "#%" PRIu32 "@%" PRIu32 "v%" PRIu32, sec->name,
                           sec->instance_id, sec->occurrence, sec->section_id,
                           sec->version_id);
}

QemuStreamCache *qemu_stream_cache_new(void)
{
    QemuStreamCache *c = g_new0(QemuStreamCache, 1);
    c->entries = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, entry_free);
    return c;
}

void qemu_stream_cache_free(QemuStreamCache *c)
{
    if (!c) {
        return;
    }
    g_hash_table_destroy(c->entries);
    qobject_unref(c->desc);
    g_free(c);
}

void qemu_stream_cache_stats(const QemuStreamCache *c, uint64_t *hits, uint64_t *misses)
{
    *hits = c->hits;
    *misses = c->misses;
}

void qs_cache_begin(QemuStreamCache *c, QObject *desc)
{
    if (c->desc != desc) {
        g_hash_table_remove_all(c->entries);
        qobject_unref(c->desc);
        c->desc = qobject_ref(desc);
    }
}

const QsCacheEntry *qs_cache_find(QemuStreamCache *c, const QemuStreamSection *sec,
                                  const uint8_t *data, size_t avail)
{
    g_autofree char *key = entry_key(sec);
    const QsCacheEntry *e = g_hash_table_lookup(c->entries, key);
    size_t n = 0;
    const void *bytes = e ? g_bytes_get_data(e->payload, &n) : NULL;
    if (!e || n > avail || memcmp(bytes, data, n) != 0) {
        return NULL;
    }
    return e;
}

void qs_cache_store(QemuStreamCache *c, const QemuStreamSection *sec, QsDevice *dev,
                    QObject *state)
{
    c->misses++;
    QsCacheEntry *e = g_new0(QsCacheEntry, 1);
    e->payload = g_bytes_ref(sec->payload);
    e->dev = qs_device_ref(dev);
    e->state = qobject_ref(state);
    g_hash_table_replace(c->entries, entry_key(sec), e);
}

void qs_cache_reused(QemuStreamCache *c)
{
    c->hits++;
}

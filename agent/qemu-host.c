/*
 * QEMU hosts: a worker thread keeps the agent's monitor of one QEMU, learns
 * its descriptions and takes snapshots; see qemu-host.h.
 *
 * Two locks.  `work` is held for everything done on the monitor (a poll, a
 * snapshot, a learning migration) and guards the connection, the
 * descriptions and the stream cache; `lock` guards what answers read (the
 * published status and the latest snapshot) and is never held while
 * talking to QEMU.  Order: work, then lock.
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "qemu-host.h"
#include "qemu-vm.h"
#include "snapshot.h"
#include "vmscope/address.h"
#include "vmscope/error.h"
#include "vmscope/qemu-stream.h"
#include "vmscope/shm-segment.h"

#define QEMU_TIMEOUT_MS 2000

const double agent_qemu_seconds_bounds[AGENT_QEMU_BUCKETS] = {
    0.0005, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 1,
};
const double agent_qemu_bytes_bounds[AGENT_QEMU_BUCKETS] = {
    1024, 4096, 16384, 32768, 65536, 131072, 262144, 524288, 1048576, 4194304, 16777216,
    67108864,
};
const char *const agent_qemu_seconds_le[AGENT_QEMU_BUCKETS] = {
    "0.0005", "0.001", "0.0015", "0.002", "0.003", "0.005", "0.0075", "0.01", "0.025", "0.05",
    "0.1", "1",
};
const char *const agent_qemu_bytes_le[AGENT_QEMU_BUCKETS] = {
    "1024", "4096", "16384", "32768", "65536", "131072", "262144", "524288", "1048576",
    "4194304", "16777216", "67108864",
};

typedef struct QemuDev {
    char *id;
    char *path;
    char *type;                    /* vmsd name (old-style: idstr) */
    char *section;                 /* the section's name in the stream */
    uint32_t instance_id, section_id, version_id;
    size_t index;                  /* in the stream */
    QObject *state;                /* a reference (shared with the cache) */
    char *raw_reason;
    uint64_t generation;           /* bumped when the state changes */
} QemuDev;

typedef struct QemuSnap {
    QemuStream *stream;
    GPtrArray *devs;               /* QemuDev * */
    int64_t taken_at_us;           /* wall clock */
    gint64 mono_us;
    int64_t pause_us;              /* -1: the VM was not running */
    int64_t total_us;
    uint64_t bytes;
} QemuSnap;

struct AgentQemu {
    char *name;
    char *address;
    AgentEventFunc emit;
    void *opaque;
    AgentQemuOptions opts;
    QObject *given_desc;           /* --qemu-desc for this host, or NULL */
    GThread *thread;
    GSource *source;
    gint stop;                     /* atomic */
    gint watching;                 /* atomic: set by the main loop */

    GMutex work;                   /* guards what follows, up to `lock` */
    QemuVm *vm;
    QObject *desc;                 /* descriptions snapshots are decoded with */
    bool want_relearn;             /* a section misfits: learn again when the VM runs */
    char *relearn_misfits;         /* the misfits that asked for the last relearning */
    QemuStreamCache *cache;
    QemuLearn learn;
    gint64 last_event_snap;

    GMutex lock;                   /* guards what follows */
    GCond wake;
    bool alive;
    char *status;
    char *error;                   /* cannot be reached */
    char *reason;                  /* state cannot be read */
    char *migration;
    uint64_t migrations_failed;
    QemuSnap *snap;
    GQueue events;                 /* pending (name, data) pairs for the main loop */
    AgentQemuStats stats;

    bool reported_alive;           /* main loop only */
};

bool agent_qemu_parse_option(const char *arg, char **name, char **address, GError **errp)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1]) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "--qemu '%s': expected NAME=ADDRESS",
                    arg);
        return false;
    }
    g_autofree char *n = g_strndup(arg, (size_t)(eq - arg));
    if (!shm_host_name_valid(n, errp)) {
        vms_error_prefix(errp, "--qemu '%s'", arg);
        return false;
    }
    g_autoptr(GSocketAddress) sa = address_parse("QMP address", eq + 1, errp);
    if (!sa) {
        vms_error_prefix(errp, "--qemu '%s'", arg);
        return false;
    }
    *name = g_steal_pointer(&n);
    *address = g_strdup(eq + 1);
    return true;
}

static void qemu_dev_free(gpointer p)
{
    QemuDev *d = p;
    g_free(d->id);
    g_free(d->path);
    g_free(d->type);
    g_free(d->section);
    qobject_unref(d->state);
    g_free(d->raw_reason);
    g_free(d);
}

static void snap_free(QemuSnap *s)
{
    if (!s) {
        return;
    }
    qemu_stream_free(s->stream);
    g_ptr_array_unref(s->devs);
    g_free(s);
}

/* Under lock: an event for the main loop to send. */
static void queue_event(AgentQemu *q, const char *name, QObject *data)
{
    g_queue_push_tail(&q->events, g_strdup(name));
    g_queue_push_tail(&q->events, data);
}

static void set_str(char **slot, const char *value)
{
    if (g_strcmp0(*slot, value) != 0) {
        g_free(*slot);
        *slot = g_strdup(value);
    }
}

static void set_reason(AgentQemu *q, const char *reason)
{
    g_mutex_lock(&q->lock);
    set_str(&q->reason, reason);
    g_mutex_unlock(&q->lock);
}

static void histogram_add(AgentQemuHistogram *h, const double *bounds, double v)
{
    size_t i = 0;
    while (i < AGENT_QEMU_BUCKETS && v > bounds[i]) {
        i++;
    }
    h->counts[i]++;
    h->sum += v;
    h->count++;
}

/*
 * A migration seen failing: query-migrate says "failed" where the look
 * before said something else.  The first look does not count (that
 * failure is older than the agent's watch).  Under lock.
 */
static void migration_seen(AgentQemu *q, const char *status)
{
    if (!status) {
        return;
    }
    if (q->migration && strcmp(status, "failed") == 0 && strcmp(q->migration, "failed") != 0) {
        q->migrations_failed++;
    }
    set_str(&q->migration, status);
}

/* ---- the monitor (work held) -------------------------------------------- */

static void disconnect(AgentQemu *q, const char *error)
{
    g_clear_pointer(&q->vm, qemu_vm_free);
    if (q->desc != q->given_desc) {
        g_clear_pointer(&q->desc, qobject_unref);   /* it may be another QEMU next time */
    }
    q->want_relearn = false;
    g_clear_pointer(&q->relearn_misfits, g_free);
    g_mutex_lock(&q->lock);
    q->alive = false;
    set_str(&q->status, "unknown");
    set_str(&q->error, error);
    g_clear_pointer(&q->snap, snap_free);
    g_mutex_unlock(&q->lock);
}

/* Connected, with a fresh look at the run state; false (and disconnected) if QEMU is gone. */
static bool look(AgentQemu *q, QemuVmStatus *st)
{
    g_autoptr(GError) err = NULL;
    if (!q->vm) {
        q->vm = qemu_vm_connect(q->address, QEMU_TIMEOUT_MS, &err);
        if (!q->vm) {
            disconnect(q, err->message);
            return false;
        }
        if (q->given_desc && !q->desc) {
            q->desc = qobject_ref(q->given_desc);
        }
    }
    if (q->learn.active && !qemu_vm_learn_recover(q->vm, &q->learn, &err)) {
        set_reason(q, err->message);
        g_clear_error(&err);
    }
    if (!qemu_vm_status(q->vm, st, &err)) {
        disconnect(q, err->message);
        return false;
    }
    g_mutex_lock(&q->lock);
    q->alive = true;
    g_clear_pointer(&q->error, g_free);
    set_str(&q->status, st->status);
    migration_seen(q, st->migration);
    g_mutex_unlock(&q->lock);
    return true;
}

/* Descriptions: given, or learned from the VM (see qemu-vm.h). */
static bool ensure_desc(AgentQemu *q, const QemuVmStatus *st, GError **errp)
{
    if (q->desc && !q->want_relearn) {
        return true;
    }
    bool shared = false;
    if (!qemu_vm_ram_shared(q->vm, &shared, errp)) {
        return false;
    }
    if (!shared && !q->opts.learn_with_ram) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_MISSING, "no descriptions: the guest RAM is not "
                    "shared (memory-backend with share=on), so learning them takes a migration "
                    "of all of it; give --qemu-desc %s=FILE or --qemu-learn-with-ram", q->name);
        return false;
    }
    if (st->blocked) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_FAILED, "migration is blocked (%s): the device "
                    "state cannot be read", st->blocked);
        return false;
    }
    g_autoptr(GBytes) stream = qemu_vm_learn(q->vm, &q->learn, &q->stop, errp);
    if (!stream) {
        return false;
    }
    QObject *desc = qemu_stream_load_desc(stream, errp);
    if (!desc) {
        g_prefix_error(errp, "learning descriptions: ");
        return false;
    }
    qobject_unref(q->desc);
    q->desc = desc;
    q->want_relearn = false;
    g_clear_pointer(&q->cache, qemu_stream_cache_free);
    return true;
}

/* A device id from a section name: URL-safe, unique in `taken`. */
static char *device_id(const char *section, GHashTable *taken)
{
    g_autofree char *base = g_strndup(section, SHM_ID_SIZE - 5);
    for (char *c = base; *c; c++) {
        if (!g_ascii_isalnum(*c) && !strchr("._-", *c)) {
            *c = '-';
        }
    }
    char *id = g_strdup(base);
    for (int n = 2; g_hash_table_contains(taken, id); n++) {
        g_free(id);
        id = g_strdup_printf("%s-%d", base, n);
    }
    g_hash_table_add(taken, id);
    return id;
}

static const QemuDev *find_dev(const QemuSnap *s, const char *id)
{
    for (guint i = 0; s && i < s->devs->len; i++) {
        const QemuDev *d = g_ptr_array_index(s->devs, i);
        if (strcmp(d->id, id) == 0) {
            return d;
        }
    }
    return NULL;
}

/* The devices of a parsed save; generations follow prev. */
static GPtrArray *snap_devices(AgentQemu *q, const QemuStream *stream, const QemuSnap *prev)
{
    GPtrArray *devs = g_ptr_array_new_with_free_func(qemu_dev_free);
    g_autoptr(GHashTable) taken = g_hash_table_new(g_str_hash, g_str_equal);
    for (size_t i = 0; i < qemu_stream_n_sections(stream); i++) {
        const QemuStreamSection *sec = qemu_stream_section(stream, i);
        if (sec->type != QEMU_VM_SECTION_FULL) {
            continue;
        }
        const uint8_t *state;
        size_t size;
        const VMStateDescription *vmsd = qemu_stream_section_device(stream, i, &state, &size);
        QemuDev *d = g_new0(QemuDev, 1);
        d->section = qemu_stream_section_display_name(sec);
        d->id = device_id(d->section, taken);
        d->path = g_strdup_printf("/%s/%s", q->name, d->id);
        d->type = g_strdup(vmsd && vmsd->name && !sec->raw_reason ? vmsd->name : sec->name);
        d->instance_id = sec->instance_id;
        d->section_id = sec->section_id;
        d->version_id = sec->version_id;
        d->index = i;
        d->state = qobject_ref(sec->state);
        d->raw_reason = g_strdup(sec->raw_reason);
        const QemuDev *old = find_dev(prev, d->id);
        d->generation = old ? old->generation + (old->state != d->state) : 1;
        g_ptr_array_add(devs, d);
    }
    for (guint i = 0; i < devs->len; i++) {
        g_hash_table_steal(taken, ((QemuDev *)g_ptr_array_index(devs, i))->id);
    }
    return devs;
}

/*
 * The sections that misfit their descriptions (old-style ones never fit),
 * as one string; NULL: none.  A description learned from one migration
 * lists only the subsections that were sent then (a subsection that
 * appears later, cpu/msr_smi_count after the firmware's first SMI, or an
 * in-flight request of a device busy then): learning again fixes those.
 */
static char *misfits(const QemuStream *s)
{
    GString *names = NULL;
    for (size_t i = 0; i < qemu_stream_n_sections(s); i++) {
        const QemuStreamSection *sec = qemu_stream_section(s, i);
        if (sec->raw_reason && !g_str_has_prefix(sec->raw_reason, "an old-style section")) {
            names = names ? g_string_append_c(names, ' ') : g_string_new(NULL);
            g_string_append_printf(names, "%s:%" PRIu32, sec->name, sec->instance_id);
        }
    }
    return names ? g_string_free(names, FALSE) : NULL;
}

/*
 * One snapshot: save, decode, publish; DEVICE_STATE_CHANGED for changed
 * devices when `events`.  Work held.
 */
static bool take_snapshot(AgentQemu *q, bool events, GError **errp)
{
    QemuVmStatus st = { 0 };
    GError *err = NULL;
    bool ok = true;
    /* Connected and described, a save needs no look first (it asks query-migrate itself). */
    if (!q->vm || !q->desc) {
        if (!look(q, &st)) {
            g_mutex_lock(&q->lock);
            g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "%s", q->error);
            g_mutex_unlock(&q->lock);
            return false;
        }
        ok = !st.blocked || (g_set_error(&err, VMS_ERROR, VMS_ERROR_FAILED,
                                         "migration is blocked (%s): the device state is not "
                                         "read", st.blocked), false);
        ok = ok && ensure_desc(q, &st, &err);
        qemu_vm_status_clear(&st);
    }
    gint64 t0 = g_get_monotonic_time();
    QemuVmSave save = { 0 };
    ok = ok && qemu_vm_save(q->vm, &save, &err);
    g_autoptr(QemuStream) stream = NULL;
    if (ok) {
        if (!q->cache) {
            q->cache = qemu_stream_cache_new();
        }
        QemuStreamOptions opts = { .desc = q->desc, .keep_misfits = true, .cache = q->cache };
        stream = qemu_stream_parse_with(save.bytes, &opts, &err);
        ok = stream != NULL;
        g_autofree char *bad = ok ? misfits(stream) : NULL;
        if (bad && g_strcmp0(bad, q->relearn_misfits) != 0 && q->desc != q->given_desc) {
            /* Learn again (the worker does, once the VM runs); not again for the same misfits. */
            q->want_relearn = true;
            g_free(q->relearn_misfits);
            q->relearn_misfits = g_steal_pointer(&bad);
        }
    }
    gint64 t1 = g_get_monotonic_time();
    if (!ok) {
        if (save.bytes) {
            g_bytes_unref(save.bytes);
        }
        g_mutex_lock(&q->lock);
        q->stats.snapshot_failures++;
        set_str(&q->reason, err->message);
        g_mutex_unlock(&q->lock);
        g_propagate_error(errp, err);
        return false;
    }

    QemuSnap *snap = g_new0(QemuSnap, 1);
    snap->taken_at_us = g_get_real_time();
    snap->mono_us = t1;
    snap->pause_us = save.pause_us;
    snap->total_us = t1 - t0;
    snap->bytes = g_bytes_get_size(save.bytes);
    g_bytes_unref(save.bytes);
    snap->stream = g_steal_pointer(&stream);

    g_mutex_lock(&q->lock);
    QemuSnap *prev = q->snap;
    snap->devs = snap_devices(q, snap->stream, prev);
    for (guint i = 0; events && prev && i < snap->devs->len; i++) {
        const QemuDev *d = g_ptr_array_index(snap->devs, i);
        const QemuDev *old = find_dev(prev, d->id);
        if (old && old->state != d->state) {
            g_autoptr(GPtrArray) paths = agent_state_diff(old->state, d->state);
            if (paths->len == 0) {
                continue;
            }
            QObject *data = qdict_new(), *list = qlist_new();
            for (guint k = 0; k < paths->len; k++) {
                qlist_append(list, qstring_from_str(g_ptr_array_index(paths, k)));
            }
            qdict_put(data, "path", qstring_from_str(d->path));
            qdict_put(data, "generation", qnum_from_uint(d->generation));
            qdict_put(data, "changed", list);
            queue_event(q, "DEVICE_STATE_CHANGED", data);
        }
    }
    q->snap = snap;
    q->stats.snapshots++;
    if (snap->pause_us >= 0) {
        histogram_add(&q->stats.pause, agent_qemu_seconds_bounds, snap->pause_us / 1e6);
    }
    histogram_add(&q->stats.total, agent_qemu_seconds_bounds, snap->total_us / 1e6);
    histogram_add(&q->stats.bytes, agent_qemu_bytes_bounds, (double)snap->bytes);
    g_clear_pointer(&q->reason, g_free);
    g_mutex_unlock(&q->lock);
    snap_free(prev);
    return true;
}

/* ---- the worker ---------------------------------------------------------- */

static int interval_ms(const AgentQemu *q)
{
    return MAX(q->opts.interval_ms, 10);
}

static void worker_step(AgentQemu *q)
{
    g_mutex_lock(&q->work);
    QemuVmStatus st = { 0 };
    if (look(q, &st)) {
        g_autoptr(GError) err = NULL;
        gint64 now = g_get_monotonic_time();
        if (st.blocked) {
            g_autofree char *r = g_strdup_printf("migration is blocked (%s): the device state "
                                                 "is not read", st.blocked);
            set_reason(q, r);
        } else if ((!q->desc || q->want_relearn) && strcmp(st.status, "running") == 0) {
            if (!ensure_desc(q, &st, &err)) {
                set_reason(q, err->message);
            }
        } else if (!q->desc) {
            g_autofree char *r = g_strdup_printf("no descriptions yet: they are learned once "
                                                 "the VM runs (it is %s)", st.status);
            set_reason(q, r);
        }
        if (q->desc && !st.blocked && g_atomic_int_get(&q->watching) &&
            now - q->last_event_snap >= (gint64)interval_ms(q) * 1000) {
            q->last_event_snap = now;
            take_snapshot(q, true, NULL);
        }
    }
    qemu_vm_status_clear(&st);
    g_mutex_unlock(&q->work);
}

static gpointer qemu_thread(gpointer data)
{
    AgentQemu *q = data;
    while (!g_atomic_int_get(&q->stop)) {
        worker_step(q);
        int period = MIN(AGENT_QEMU_POLL_MS, interval_ms(q));
        g_mutex_lock(&q->lock);
        gint64 until = g_get_monotonic_time() + period * G_TIME_SPAN_MILLISECOND;
        while (!g_atomic_int_get(&q->stop) && g_cond_wait_until(&q->wake, &q->lock, until)) {
        }
        g_mutex_unlock(&q->lock);
    }
    g_mutex_lock(&q->work);
    if (q->vm && q->learn.active) {
        qemu_vm_learn_recover(q->vm, &q->learn, NULL);
    }
    g_mutex_unlock(&q->work);
    return NULL;
}

/* ---- the main loop --------------------------------------------------------- */

/* HOST_LOST once for a QEMU that answered before. */
static void host_lost(AgentQemu *q, const char *reason)
{
    if (q->reported_alive && q->emit) {
        QObject *ev = qdict_new();
        qdict_put(ev, "host", qstring_from_str(q->name));
        qdict_put(ev, "reason", qstring_from_str(reason ? reason : "QEMU stopped answering"));
        q->emit("HOST_LOST", ev, q->opaque);
    }
    q->reported_alive = false;
}

/* Main loop: pending events, HOST_LOST when a QEMU that answered stops answering. */
static gboolean qemu_poll(gpointer data)
{
    AgentQemu *q = data;
    bool watching = q->opts.watch ? q->opts.watch(q->opts.watch_opaque) : true;
    g_atomic_int_set(&q->watching, watching);
    g_mutex_lock(&q->lock);
    bool alive = q->alive;
    g_autofree char *reason = g_strdup(q->error);
    GQueue events = q->events;
    g_queue_init(&q->events);
    g_mutex_unlock(&q->lock);
    while (!g_queue_is_empty(&events)) {
        g_autofree char *name = g_queue_pop_head(&events);
        QObject *ev = g_queue_pop_head(&events);
        if (q->emit && watching) {
            q->emit(name, ev, q->opaque);
        } else {
            qobject_unref(ev);
        }
    }
    if (!alive) {
        host_lost(q, reason);
    }
    q->reported_alive = alive;
    return G_SOURCE_CONTINUE;
}

void agent_qemu_lost(AgentQemu *q, const char *reason)
{
    host_lost(q, reason);
}

AgentQemu *agent_qemu_new(const char *name, const char *address, GMainContext *ctx,
                          AgentEventFunc emit, void *opaque, const AgentQemuOptions *opts)
{
    AgentQemu *q = g_new0(AgentQemu, 1);
    q->name = g_strdup(name);
    q->address = g_strdup(address);
    q->emit = emit;
    q->opaque = opaque;
    q->opts = (AgentQemuOptions){ .max_age_ms = AGENT_QEMU_MAX_AGE_MS,
                                  .interval_ms = AGENT_QEMU_INTERVAL_MS };
    if (opts) {
        q->opts = *opts;
        q->opts.descs = NULL;
        q->given_desc = opts->descs ? qobject_ref(g_hash_table_lookup(opts->descs, name)) : NULL;
    }
    q->status = g_strdup("unknown");
    q->error = g_strdup("not contacted yet");
    q->last_event_snap = G_MININT64 / 2;
    g_queue_init(&q->events);
    g_mutex_init(&q->work);
    g_mutex_init(&q->lock);
    g_cond_init(&q->wake);
    q->source = g_timeout_source_new(AGENT_POLL_MS);
    g_source_set_callback(q->source, qemu_poll, q, NULL);
    g_source_attach(q->source, ctx);
    q->thread = g_thread_new("qemu-host", qemu_thread, q);
    return q;
}

void agent_qemu_free(AgentQemu *q)
{
    if (!q) {
        return;
    }
    g_atomic_int_set(&q->stop, 1);
    g_mutex_lock(&q->lock);
    g_cond_signal(&q->wake);
    g_mutex_unlock(&q->lock);
    g_thread_join(q->thread);
    g_source_destroy(q->source);
    g_source_unref(q->source);
    qemu_vm_free(q->vm);
    qobject_unref(q->desc);
    qobject_unref(q->given_desc);
    qemu_stream_cache_free(q->cache);
    snap_free(q->snap);
    while (!g_queue_is_empty(&q->events)) {
        g_free(g_queue_pop_head(&q->events));
        qobject_unref(g_queue_pop_head(&q->events));
    }
    g_mutex_clear(&q->work);
    g_mutex_clear(&q->lock);
    g_cond_clear(&q->wake);
    g_free(q->name);
    g_free(q->address);
    g_free(q->status);
    g_free(q->error);
    g_free(q->reason);
    g_free(q->migration);
    g_free(q->relearn_misfits);
    g_free(q);
}

bool agent_qemu_alive(AgentQemu *q)
{
    g_mutex_lock(&q->lock);
    bool alive = q->alive;
    g_mutex_unlock(&q->lock);
    return alive;
}

uint64_t agent_qemu_migrations_failed(AgentQemu *q)
{
    g_mutex_lock(&q->lock);
    uint64_t n = q->migrations_failed;
    g_mutex_unlock(&q->lock);
    return n;
}

const char *agent_qemu_name(const AgentQemu *q)
{
    return q->name;
}

static QObject *timestamp(int64_t us)
{
    QObject *ts = qdict_new();
    qdict_put(ts, "seconds", qnum_from_int(us / G_USEC_PER_SEC));
    qdict_put(ts, "microseconds", qnum_from_int(us % G_USEC_PER_SEC));
    return ts;
}

QObject *agent_qemu_host_info(AgentQemu *q)
{
    QObject *o = qdict_new();
    g_mutex_lock(&q->lock);
    qdict_put(o, "name", qstring_from_str(q->name));
    qdict_put(o, "kind", qstring_from_str("qemu"));
    qdict_put(o, "pid", qnum_from_int(0));
    qdict_put(o, "alive", qbool_from_bool(q->alive));
    qdict_put(o, "qmp", qstring_from_str(q->address));
    qdict_put(o, "status", qstring_from_str(q->status));
    qdict_put(o, "devices", qnum_from_uint(q->snap ? q->snap->devs->len : 0));
    qdict_put(o, "generation", qnum_from_uint(q->stats.snapshots));
    if (q->error) {
        qdict_put(o, "error", qstring_from_str(q->error));
    }
    if (q->reason && q->alive) {
        qdict_put(o, "reason", qstring_from_str(q->reason));
    }
    if (q->snap) {
        qdict_put(o, "pause-us", qnum_from_int(MAX(q->snap->pause_us, 0)));
        qdict_put(o, "taken-at", timestamp(q->snap->taken_at_us));
    }
    g_mutex_unlock(&q->lock);
    return o;
}

/*
 * A snapshot no older than max-age (0: taken for this request), taken now
 * if need be; false: why not.  Requests that waited for `work` while
 * another took one share that one.
 */
static bool fresh_snapshot(AgentQemu *q, GError **errp)
{
    gint64 max_age = (gint64)q->opts.max_age_ms * 1000;
    g_mutex_lock(&q->lock);
    uint64_t before = q->stats.snapshots;
    g_mutex_unlock(&q->lock);
    g_mutex_lock(&q->work);
    g_mutex_lock(&q->lock);
    bool fresh = q->snap && (q->stats.snapshots != before ||
                             g_get_monotonic_time() - q->snap->mono_us <= max_age);
    g_mutex_unlock(&q->lock);
    bool ok = fresh || take_snapshot(q, false, errp);
    g_mutex_unlock(&q->work);
    return ok;
}

/* What query-devices and query-device-state say alike of a device.  Under lock. */
static QObject *dev_dict(AgentQemu *q, const QemuDev *d)
{
    QObject *o = qdict_new();
    qdict_put(o, "path", qstring_from_str(d->path));
    qdict_put(o, "host", qstring_from_str(q->name));
    qdict_put(o, "type", qstring_from_str(d->type));
    qdict_put(o, "section", qstring_from_str(d->section));
    qdict_put(o, "instance-id", qnum_from_uint(d->instance_id));
    qdict_put(o, "section-id", qnum_from_uint(d->section_id));
    qdict_put(o, "version-id", qnum_from_uint(d->version_id));
    qdict_put(o, "generation", qnum_from_uint(d->generation));
    return o;
}

void agent_qemu_devices(AgentQemu *q, QObject *list)
{
    /*
     * A listing does not wait for a learning migration (it may take a while
     * when the RAM is not shared): while the monitor is busy, the devices
     * of the last snapshot are listed.
     */
    if (g_mutex_trylock(&q->work)) {
        g_mutex_unlock(&q->work);
        if (!fresh_snapshot(q, NULL)) {
            return;
        }
    }
    g_mutex_lock(&q->lock);
    for (guint i = 0; q->snap && i < q->snap->devs->len; i++) {
        const QemuDev *d = g_ptr_array_index(q->snap->devs, i);
        QObject *o = dev_dict(q, d);
        qdict_put(o, "id", qstring_from_str(d->id));
        const QemuStreamSection *sec = qemu_stream_section(q->snap->stream, d->index);
        qdict_put(o, "state-size", qnum_from_uint(sec->size));
        if (d->raw_reason) {
            qdict_put(o, "raw-reason", qstring_from_str(d->raw_reason));
        }
        qlist_append(list, o);
    }
    g_mutex_unlock(&q->lock);
}

static bool not_found(AgentQemu *q, const char *id, GError **errp)
{
    g_set_error(errp, VMS_ERROR, VMS_ERROR_NOT_FOUND, "no device '%s' on host '%s'", id,
                q->name);
    return false;
}

/* The device's state through format's output visitor (walked on a copy of the state). */
static GBytes *format_state(const QemuStream *s, size_t index, const VmsFormat *format,
                            GError **errp)
{
    const uint8_t *state;
    size_t size;
    const VMStateDescription *vmsd = qemu_stream_section_device(s, index, &state, &size);
    if (!vmsd) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_FAILED, "not a device section");
        return NULL;
    }
    g_autofree uint8_t *copy = g_memdup2(state, size);
    Visitor *v = format->output_new();
    bool ok = vmstate_save(v, vmsd, copy, NULL, errp);
    GBytes *result = ok ? format->output_take(v) : NULL;
    visit_free(v);
    return result;
}

bool agent_qemu_device_state(AgentQemu *q, const char *id, const VmsFormat *format,
                             QObject **ret, GError **errp)
{
    if (!fresh_snapshot(q, errp)) {
        return false;
    }
    g_mutex_lock(&q->lock);
    const QemuDev *d = find_dev(q->snap, id);
    if (!d) {
        g_mutex_unlock(&q->lock);
        return not_found(q, id, errp);
    }
    g_autoptr(GBytes) result = NULL;
    if (format && format != vms_format_json() &&
        !(result = format_state(q->snap->stream, d->index, format, errp))) {
        g_mutex_unlock(&q->lock);
        return false;
    }
    QObject *o = dev_dict(q, d);
    qdict_put(o, "state", qobject_ref(d->state));
    qdict_put(o, "taken-at", timestamp(q->snap->taken_at_us));
    qdict_put(o, "pause-us", qnum_from_int(MAX(q->snap->pause_us, 0)));
    qdict_put(o, "snapshot-us", qnum_from_int(q->snap->total_us));
    if (d->raw_reason) {
        qdict_put(o, "raw-reason", qstring_from_str(d->raw_reason));
    }
    if (result) {
        qdict_put(o, vms_format_result_member(format), vms_format_result_to_qobject(format, result));
    }
    g_mutex_unlock(&q->lock);
    *ret = o;
    return true;
}

bool agent_qemu_device_schema(AgentQemu *q, const char *id, bool json_schema, QObject **ret,
                              GError **errp)
{
    if (!fresh_snapshot(q, errp)) {
        return false;
    }
    g_mutex_lock(&q->lock);
    const QemuDev *d = find_dev(q->snap, id);
    if (!d) {
        g_mutex_unlock(&q->lock);
        return not_found(q, id, errp);
    }
    const uint8_t *state;
    size_t size;
    const VMStateDescription *vmsd = qemu_stream_section_device(q->snap->stream, d->index,
                                                                &state, &size);
    QObject *schema = json_schema ? vmstate_json_schema(vmsd, size, errp)
                                  : vmstate_describe(vmsd);
    if (!schema) {
        g_mutex_unlock(&q->lock);
        return false;
    }
    QObject *o = qdict_new();
    qdict_put(o, "path", qstring_from_str(d->path));
    qdict_put(o, "type", qstring_from_str(d->type));
    qdict_put(o, "version-id", qnum_from_uint(d->version_id));
    qdict_put(o, "schema", schema);
    g_mutex_unlock(&q->lock);
    *ret = o;
    return true;
}

static void histogram_merge(AgentQemuHistogram *into, const AgentQemuHistogram *h)
{
    for (size_t i = 0; i <= AGENT_QEMU_BUCKETS; i++) {
        into->counts[i] += h->counts[i];
    }
    into->sum += h->sum;
    into->count += h->count;
}

void agent_qemu_stats_add(AgentQemu *q, AgentQemuStats *out)
{
    g_mutex_lock(&q->lock);
    out->snapshots += q->stats.snapshots;
    out->snapshot_failures += q->stats.snapshot_failures;
    histogram_merge(&out->pause, &q->stats.pause);
    histogram_merge(&out->total, &q->stats.total);
    histogram_merge(&out->bytes, &q->stats.bytes);
    g_mutex_unlock(&q->lock);
}

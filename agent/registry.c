/*
 * Hosts and devices found in the segment directory; see registry.h.
 *
 * Every poll costs, per host: an fstat, a poll of the owner's pidfd and a
 * read of /proc/PID/stat (liveness: shm_reader_owner), and one read of the
 * directory generation and of every device's update counter
 * (shm_reader_counters: a copy of the directory, a few hundred bytes per
 * device).  The directory is checked and listed again only when its
 * generation moved; device states are walked only for requests and, while
 * someone listens to events, for devices whose counter moved.
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>
#include <errno.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib-unix.h>

#include "registry.h"
#include "snapshot.h"
#include "vmscope/error.h"
#include "vmscope/shm-segment.h"

typedef struct Host Host;

typedef struct Device {
    Host *host;
    char *path;                    /* "/host/id" */
    ShmDeviceInfo info;            /* as listed: slot, names, offsets, sizes */
    AgentDesc *desc;               /* built on first use */
    char *desc_error;              /* why it cannot be built (kept: built once) */
    uint64_t seen;                 /* update counter as of the last poll or event */
    char *reference;               /* state last reported, compact JSON (only while watched) */
    gint64 last_event_us;
    GQueue *queue;                 /* the change queue it is on, or NULL */
    GList *link;                   /* its place there */
} Device;

typedef enum HostState {
    HOST_LIVE,
    HOST_BROKEN,                   /* cannot open it, or its directory is bad */
    HOST_LOST,                     /* owner died */
    HOST_CLOSED,                   /* owner closed it: not listed */
} HostState;

struct Host {
    AgentRegistry *reg;
    char *name;
    char *segment;                 /* its file */
    ShmReader *reader;             /* NULL if it could not be opened */
    int owner_fd;                  /* the owner's pidfd, in reg->owners_epfd; -1: not */
    HostState state;
    char *error;                   /* HOST_BROKEN: why */
    int32_t pid;
    uint64_t listed_generation;    /* directory generation of the last listing */
    bool ever_listed;
    uint64_t *updates;             /* per directory slot, as of the last poll */
    uint32_t n_updates;
    GPtrArray *devices;            /* Device *, slot order */
    struct stat file;              /* identity of a file that failed to open */
    bool present;                  /* in the latest directory listing */
};

struct AgentRegistry {
    char *dir;                     /* NULL: SHM_DEFAULT_DIR */
    AgentEventFunc emit;
    void *emit_opaque;
    AgentWatchFunc watch;
    void *watch_opaque;
    AgentErrorFunc error_fn;
    void *error_opaque;
    bool watching;
    GTree *hosts;                  /* name -> Host *, sorted */
    AgentDescCache *descs;         /* descriptions, shared by every device of one text */
    char *list_error;              /* the directory could not be listed */
    ShmReaderStats retired;        /* counters of readers already closed */
    GMainContext *ctx;             /* where the sources run (NULL: the default) */
    int owners_epfd;               /* every watched owner's pidfd; -1 until one is */
    GSource *owners_src;           /* on owners_epfd */
    GSource *source;               /* the poll timer */
    GQueue changes;                /* Device *: to walk and compare */
    GSource *idle;                 /* works through `changes` */
};

/* ---- small helpers -------------------------------------------------------- */

static void emit(AgentRegistry *reg, const char *name, QObject *data)
{
    if (reg->emit) {
        reg->emit(name, data, reg->emit_opaque);
    } else {
        qobject_unref(data);
    }
}

static void device_free(Device *d)
{
    if (d->queue) {
        g_queue_delete_link(d->queue, d->link);
    }
    g_free(d->path);
    agent_desc_free(d->desc);
    g_free(d->desc_error);
    g_free(d->reference);
    g_free(d);
}

/* The device's update counter as of the host's last poll (host_poll_counters). */
static uint64_t live_updates(const Host *h, const Device *d)
{
    return d->info.slot < h->n_updates ? h->updates[d->info.slot] : 0;
}

/* Read the directory generation and every update counter of h. */
static bool host_poll_counters(Host *h, uint64_t *generation, GError **errp)
{
    return shm_reader_counters(h->reader, generation, h->updates, h->n_updates, errp);
}

static Device *host_find_device(const Host *h, const char *id)
{
    for (guint i = 0; i < h->devices->len; i++) {
        Device *d = g_ptr_array_index(h->devices, i);
        if (strcmp(d->info.id, id) == 0) {
            return d;
        }
    }
    return NULL;
}

static void emit_deleted(AgentRegistry *reg, const Host *h, const Device *d)
{
    QObject *data = qdict_new();
    qdict_put(data, "path", qstring_from_str(d->path));
    qdict_put(data, "host", qstring_from_str(h->name));
    emit(reg, "DEVICE_DELETED", data);
}

static void emit_added(AgentRegistry *reg, const Host *h, const Device *d)
{
    QObject *data = qdict_new();
    qdict_put(data, "path", qstring_from_str(d->path));
    qdict_put(data, "host", qstring_from_str(h->name));
    qdict_put(data, "type", qstring_from_str(d->info.type));
    emit(reg, "DEVICE_ADDED", data);
}

/* Forget every device of h, telling listeners. */
static void host_retire_devices(AgentRegistry *reg, Host *h)
{
    for (guint i = 0; i < h->devices->len; i++) {
        emit_deleted(reg, h, g_ptr_array_index(h->devices, i));
    }
    g_ptr_array_set_size(h->devices, 0);
}

static void host_unwatch_owner(Host *h)
{
    if (h->owner_fd >= 0) {
        if (epoll_ctl(h->reg->owners_epfd, EPOLL_CTL_DEL, h->owner_fd, NULL) < 0) {
            g_debug("registry: epoll_ctl DEL: %s", g_strerror(errno));
        }
        h->owner_fd = -1;
    }
}

static void host_close_reader(AgentRegistry *reg, Host *h)
{
    host_unwatch_owner(h);
    if (h->reader) {
        ShmReaderStats st;
        shm_reader_get_stats(h->reader, &st);
        reg->retired.snapshots += st.snapshots;
        reg->retired.retries += st.retries;
        reg->retired.failures += st.failures;
        g_clear_pointer(&h->reader, shm_reader_close);
    }
}

static void host_free(gpointer p)
{
    Host *h = p;
    host_unwatch_owner(h);
    if (h->reader) {
        shm_reader_close(h->reader);
    }
    g_ptr_array_unref(h->devices);
    g_free(h->updates);
    g_free(h->name);
    g_free(h->segment);
    g_free(h->error);
    g_free(h);
}

static void host_set_broken(AgentRegistry *reg, Host *h, const char *error)
{
    host_retire_devices(reg, h);
    h->state = HOST_BROKEN;
    if (g_strcmp0(h->error, error) != 0) {
        g_free(h->error);
        h->error = g_strdup(error);
    }
}

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Open h's segment afresh: live (to be listed), or broken with the reason. */
static void host_open(AgentRegistry *reg, Host *h)
{
    g_autoptr(GError) err = NULL;
    host_close_reader(reg, h);
    memset(&h->file, 0, sizeof(h->file));
    if (stat(h->segment, &h->file) < 0) {
        memset(&h->file, 0, sizeof(h->file));
    }
    h->pid = 0;
    h->ever_listed = false;
    h->listed_generation = 0;
    g_clear_pointer(&h->error, g_free);
    h->reader = shm_reader_open(reg->dir, h->name, &err);
    if (!h->reader) {
        host_set_broken(reg, h, err->message);
        return;
    }
    ShmHostInfo hi;
    if (shm_reader_host_info(h->reader, &hi, NULL)) {
        h->pid = hi.owner_pid;
    }
    h->n_updates = shm_reader_max_devices(h->reader);
    g_free(h->updates);
    h->updates = g_new0(uint64_t, h->n_updates);
    h->state = HOST_LIVE;
}

static Device *device_new(const Host *h, const ShmDeviceInfo *info)
{
    Device *d = g_new0(Device, 1);
    d->host = (Host *)h;
    d->info = *info;
    d->path = g_strdup_printf("/%s/%s", h->name, info->id);
    d->seen = info->generation;
    return d;
}

/* The listed entry is the device we know, not a new one in its place. */
static bool same_device(const Device *d, const ShmDeviceInfo *n)
{
    const ShmDeviceInfo *o = &d->info;
    return o->slot == n->slot && strcmp(o->type, n->type) == 0 &&
           o->instance_id == n->instance_id && o->version_id == n->version_id &&
           o->state_offset == n->state_offset && o->state_size == n->state_size &&
           o->desc_offset == n->desc_offset && o->desc_length == n->desc_length &&
           n->generation >= d->seen;   /* counters restart when a device is re-added */
}

/* Bring h's devices in line with a fresh listing: deletions, then additions. */
static void host_sync_devices(AgentRegistry *reg, Host *h, GArray *list)
{
    GPtrArray *next = g_ptr_array_new_with_free_func((GDestroyNotify)device_free);
    g_autoptr(GPtrArray) added = g_ptr_array_new();
    for (guint i = 0; i < list->len; i++) {
        const ShmDeviceInfo *info = &g_array_index(list, ShmDeviceInfo, i);
        Device *old = host_find_device(h, info->id);
        guint at;
        if (old && same_device(old, info) && g_ptr_array_find(h->devices, old, &at)) {
            g_ptr_array_add(next, g_ptr_array_steal_index(h->devices, at));
        } else {
            Device *d = device_new(h, info);
            g_ptr_array_add(next, d);
            g_ptr_array_add(added, d);
        }
    }
    host_retire_devices(reg, h);       /* what is left is gone */
    g_ptr_array_unref(h->devices);
    h->devices = next;
    for (guint i = 0; i < added->len; i++) {
        emit_added(reg, h, g_ptr_array_index(added, i));
    }
}

/*
 * Owners' pidfds became readable: they ended (reaped or zombies).  Each is
 * unwatched (a dead pidfd stays readable), then everything is looked at
 * as a poll would (a host that exited cleanly may have taken its segment
 * file along: then it is dropped, not broken).
 */
static gboolean owners_ended(gint fd, GIOCondition cond, gpointer data)
{
    AgentRegistry *reg = data;
    struct epoll_event ev[64];
    int n = epoll_wait(fd, ev, G_N_ELEMENTS(ev), 0);
    for (int i = 0; i < n; i++) {
        host_unwatch_owner(ev[i].data.ptr);
    }
    if (n > 0) {
        agent_registry_rescan(reg);
    }
    return G_SOURCE_CONTINUE;
}

static void owners_stop(AgentRegistry *reg)
{
    if (reg->owners_src) {
        g_source_destroy(reg->owners_src);
        g_clear_pointer(&reg->owners_src, g_source_unref);
    }
    if (reg->owners_epfd >= 0) {
        close(reg->owners_epfd);
        reg->owners_epfd = -1;
    }
}

/*
 * While the registry runs on a main loop, a live owner is watched through
 * its pidfd, so that its death is seen at once rather than at the next
 * poll.  The pidfds go into one epoll descriptor, which is all the main
 * loop polls: a hundred hosts would otherwise add a hundred descriptors
 * to every round of the loop, and every request pays for a round.
 * Without a pidfd (kernels before 5.3) the poll alone sees a death, within
 * AGENT_POLL_MS.
 */
static void host_watch_owner(AgentRegistry *reg, Host *h)
{
    int fd = shm_reader_owner_fd(h->reader);
    if (!reg->source || h->owner_fd >= 0 || fd < 0) {
        return;
    }
    if (reg->owners_epfd < 0) {
        reg->owners_epfd = epoll_create1(EPOLL_CLOEXEC);
        if (reg->owners_epfd < 0) {
            g_debug("registry: epoll_create1: %s", g_strerror(errno));
            return;                 /* the poll sees deaths */
        }
        reg->owners_src = g_unix_fd_source_new(reg->owners_epfd, G_IO_IN);
        g_source_set_callback(reg->owners_src, (GSourceFunc)(void (*)(void))owners_ended, reg,
                              NULL);
        g_source_attach(reg->owners_src, reg->ctx);
    }
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = h };
    if (epoll_ctl(reg->owners_epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        g_debug("registry: epoll_ctl ADD: %s", g_strerror(errno));
        return;
    }
    h->owner_fd = fd;
}

/*
 * Look at one host: replaced, closed, dead, or live with a directory that
 * may have changed.  On return, a live host's counters are fresh.
 */
static void host_update(AgentRegistry *reg, Host *h)
{
    g_autoptr(GError) err = NULL;
    if (!h->reader) {
        /* It failed to open: try again only once the file is another. */
        struct stat st;
        if (stat(h->segment, &st) < 0 || same_file(&st, &h->file)) {
            return;
        }
        host_open(reg, h);
        if (!h->reader) {
            return;
        }
    } else if (shm_reader_replaced(h->reader)) {
        /* A new host of the same name (or the file is gone: dropped on the next scan). */
        host_retire_devices(reg, h);
        host_open(reg, h);
        if (!h->reader) {
            return;
        }
    }

    switch (shm_reader_owner(h->reader)) {
    case SHM_OWNER_CLOSED:
        if (h->state != HOST_CLOSED) {
            host_retire_devices(reg, h);
            h->state = HOST_CLOSED;
        }
        return;
    case SHM_OWNER_DEAD:
        if (h->state != HOST_LOST) {
            h->state = HOST_LOST;
            QObject *data = qdict_new();
            qdict_put(data, "host", qstring_from_str(h->name));
            qdict_put(data, "reason", qstring_from_printf("owner process %d exited without "
                                                          "closing its segment", (int)h->pid));
            emit(reg, "HOST_LOST", data);
            host_retire_devices(reg, h);
        }
        return;
    case SHM_OWNER_ALIVE:
        host_watch_owner(reg, h);
        break;
    }

    uint64_t gen;
    if (!host_poll_counters(h, &gen, &err)) {
        host_set_broken(reg, h, err->message);
        h->ever_listed = false;
        return;
    }
    if (h->ever_listed && gen == h->listed_generation) {
        return;
    }
    h->ever_listed = true;
    h->listed_generation = gen;
    g_autoptr(GArray) list = shm_reader_list(h->reader, &err);
    if (!list) {
        host_set_broken(reg, h, err->message);
        return;
    }
    h->state = HOST_LIVE;
    g_clear_pointer(&h->error, g_free);
    host_sync_devices(reg, h, list);
}

/* ---- descriptions and snapshots -------------------------------------------- */

static bool device_desc(Host *h, Device *d, GError **errp)
{
    if (d->desc) {
        return true;
    }
    if (!d->desc_error) {
        g_autoptr(GError) err = NULL;
        g_autofree char *text = NULL;
        if (!shm_reader_description(h->reader, d->info.id, &text, errp)) {
            return false;      /* the segment, not the description: may pass */
        }
        if (!text) {
            d->desc_error = g_strdup_printf("vmscope-%s: device '%s' has no description: its "
                                            "state cannot be read", h->name, d->info.id);
        } else if (!(d->desc = agent_desc_new(h->reg->descs, text, &d->info, &err))) {
            d->desc_error = g_strdup_printf("vmscope-%s: device '%s': %s", h->name, d->info.id,
                                            err->message);
        }
    }
    if (d->desc_error) {
        g_set_error_literal(errp, VMS_ERROR, VMS_ERROR_INVALID, d->desc_error);
        return false;
    }
    return true;
}

/* As query-hosts says: the owner runs (as of the last poll) and the segment opened. */
static bool host_alive(const Host *h)
{
    return h->reader && h->state != HOST_LOST && h->state != HOST_CLOSED;
}

static Host *find_host(AgentRegistry *reg, const char *name)
{
    Host *h = g_tree_lookup(reg->hosts, name);
    return h && h->state == HOST_LIVE && h->reader ? h : NULL;
}

/*
 * Snapshot HOST/ID, refreshing the registry once if the device is unknown
 * or was replaced.  *hp and *dp name what was read.
 */
static bool snapshot(AgentRegistry *reg, const char *host, const char *id, unsigned what,
                     const VmsFormat *format, AgentSnapshot *snap, Host **hp, Device **dp,
                     GError **errp)
{
    for (int attempt = 0;; attempt++) {
        Host *h = find_host(reg, host);
        Device *d = h ? host_find_device(h, id) : NULL;
        g_autoptr(GError) err = NULL;
        if (d && device_desc(h, d, &err) &&
            (!what || agent_snapshot_take(h->reader, id, d->desc, what, format, snap, &err))) {
            *hp = h;
            *dp = d;
            return true;
        }
        bool missing = !d || g_error_matches(err, VMS_ERROR, VMS_ERROR_NOT_FOUND);
        if (missing && attempt == 0) {
            agent_registry_rescan(reg);
            continue;
        }
        if (missing) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_NOT_FOUND, "no device '%s' on host '%s'",
                        id, host);
        } else {
            g_propagate_error(errp, g_steal_pointer(&err));
        }
        return false;
    }
}

/* ---- change detection -------------------------------------------------------- */

static void emit_changed(AgentRegistry *reg, Device *d, uint64_t generation, GPtrArray *paths)
{
    QObject *data = qdict_new();
    QObject *list = qlist_new();
    for (guint i = 0; paths && i < paths->len; i++) {
        qlist_append(list, qstring_from_str(g_ptr_array_index(paths, i)));
    }
    qdict_put(data, "path", qstring_from_str(d->path));
    qdict_put(data, "generation", qnum_from_uint(generation));
    qdict_put(data, "changed", list);
    emit(reg, "DEVICE_STATE_CHANGED", data);
}

/*
 * Walk one queued device and compare: the reference for its next change if
 * it has none, else an event if it changed (and its last event is old
 * enough).  A device whose description cannot be walked gets events that
 * say it changed, not what.
 */
static void device_check_change(AgentRegistry *reg, Device *d, gint64 now)
{
    Host *h = d->host;
    uint64_t updates;
    if (!reg->watching || h->state != HOST_LIVE || !h->reader ||
        !shm_reader_updates(h->reader, d->info.slot, &updates, NULL)) {
        return;
    }
    bool walkable = device_desc(h, d, NULL);
    if (walkable && !d->reference) {
        AgentSnapshot snap;
        if (agent_snapshot_take(h->reader, d->info.id, d->desc, AGENT_SNAPSHOT_STATE, NULL,
                                &snap, NULL)) {
            d->reference = qobject_to_json(snap.state, false);
            d->seen = snap.info.generation;
            agent_snapshot_clear(&snap);
        }
        return;
    }
    if (updates == d->seen || now - d->last_event_us < AGENT_CHANGE_MIN_MS * 1000) {
        return;
    }
    d->last_event_us = now;
    if (!walkable) {
        d->seen = updates;
        emit_changed(reg, d, updates, NULL);
        return;
    }
    AgentSnapshot snap;
    if (!agent_snapshot_take(h->reader, d->info.id, d->desc, AGENT_SNAPSHOT_STATE, NULL, &snap,
                             NULL)) {
        d->seen = updates;       /* try again on its next change */
        return;
    }
    /*
     * The reference is kept as text: a state as QObjects costs several
     * times its JSON, and ten thousand watched devices add up.
     */
    g_autoptr(QObject) before = NULL;
    qobject_from_json(d->reference, strlen(d->reference), &before, NULL);
    g_autoptr(GPtrArray) paths = agent_state_diff(before, snap.state);
    g_free(d->reference);
    d->reference = qobject_to_json(snap.state, false);
    d->seen = snap.info.generation;
    emit_changed(reg, d, snap.info.generation, paths);
    agent_snapshot_clear(&snap);
}

/* Work through the queue for at most budget_us (< 0: all of it); true if some is left. */
static bool process_changes(AgentRegistry *reg, gint64 budget_us)
{
    gint64 start = g_get_monotonic_time();
    while (!g_queue_is_empty(&reg->changes)) {
        Device *d = g_queue_pop_head(&reg->changes);
        d->queue = NULL;
        d->link = NULL;
        gint64 now = g_get_monotonic_time();
        device_check_change(reg, d, now);
        if (budget_us >= 0 && g_get_monotonic_time() - start >= budget_us) {
            break;
        }
    }
    return !g_queue_is_empty(&reg->changes);
}

static gboolean changes_idle(gpointer data)
{
    AgentRegistry *reg = data;
    if (process_changes(reg, AGENT_CHANGE_SLICE_US)) {
        return G_SOURCE_CONTINUE;
    }
    g_source_unref(reg->idle);
    reg->idle = NULL;
    return G_SOURCE_REMOVE;
}

/*
 * Cheap part of change detection, in the poll: read every counter, queue
 * the devices that need a walk.  The walks run in slices on an idle source
 * below the sockets' priority, so requests are never held up long.
 */
static void host_track_changes(AgentRegistry *reg, Host *h, gint64 now)
{
    for (guint i = 0; i < h->devices->len; i++) {
        Device *d = g_ptr_array_index(h->devices, i);
        uint64_t updates = live_updates(h, d);
        if (!reg->watching) {
            d->seen = updates;
            g_clear_pointer(&d->reference, g_free);
            continue;
        }
        if (d->queue) {
            continue;
        }
        bool need_reference = !d->reference && !d->desc_error;
        bool due = updates != d->seen && now - d->last_event_us >= AGENT_CHANGE_MIN_MS * 1000;
        if (need_reference || due) {
            g_queue_push_tail(&reg->changes, d);
            d->queue = &reg->changes;
            d->link = reg->changes.tail;
        }
    }
}

/* ---- polling ---------------------------------------------------------------- */

static gboolean collect_host(gpointer key, gpointer value, gpointer data)
{
    g_ptr_array_add(data, value);
    return FALSE;
}

/* The hosts in name order (a snapshot of the tree: safe to change it meanwhile). */
static GPtrArray *host_list(AgentRegistry *reg)
{
    GPtrArray *all = g_ptr_array_new();
    g_tree_foreach(reg->hosts, collect_host, all);
    return all;
}

void agent_registry_rescan(AgentRegistry *reg)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) names = shm_segment_list(reg->dir, &err);
    if (!names) {
        if (g_strcmp0(reg->list_error, err->message) != 0) {
            if (reg->error_fn) {
                reg->error_fn(err, reg->error_opaque);
            }
            g_free(reg->list_error);
            reg->list_error = g_strdup(err->message);
        }
        return;
    }
    g_clear_pointer(&reg->list_error, g_free);

    g_autoptr(GPtrArray) known = host_list(reg);
    for (guint i = 0; i < known->len; i++) {
        ((Host *)g_ptr_array_index(known, i))->present = false;
    }
    for (guint i = 0; i < names->len; i++) {
        const char *name = g_ptr_array_index(names, i);
        Host *h = g_tree_lookup(reg->hosts, name);
        if (!h) {
            h = g_new0(Host, 1);
            h->reg = reg;
            h->owner_fd = -1;
            h->name = g_strdup(name);
            h->segment = shm_segment_path(reg->dir, name);
            h->devices = g_ptr_array_new_with_free_func((GDestroyNotify)device_free);
            g_tree_insert(reg->hosts, h->name, h);
            host_open(reg, h);
        }
        h->present = true;
        host_update(reg, h);
    }
    for (guint i = 0; i < known->len; i++) {
        Host *h = g_ptr_array_index(known, i);
        if (!h->present) {
            host_retire_devices(reg, h);
            host_close_reader(reg, h);
            g_tree_remove(reg->hosts, h->name);
        }
    }
}

void agent_registry_poll(AgentRegistry *reg)
{
    bool watching = reg->watch ? reg->watch(reg->watch_opaque) : true;
    reg->watching = watching;
    agent_registry_rescan(reg);
    gint64 now = g_get_monotonic_time();
    g_autoptr(GPtrArray) hosts = host_list(reg);
    for (guint i = 0; i < hosts->len; i++) {
        Host *h = g_ptr_array_index(hosts, i);
        if (h->state == HOST_LIVE) {
            host_track_changes(reg, h, now);
        }
    }
    if (!g_queue_is_empty(&reg->changes) && !reg->idle) {
        reg->idle = g_idle_source_new();
        g_source_set_priority(reg->idle, G_PRIORITY_DEFAULT_IDLE);
        g_source_set_callback(reg->idle, changes_idle, reg, NULL);
        g_source_attach(reg->idle, reg->ctx);
    }
}

void agent_registry_flush_changes(AgentRegistry *reg)
{
    process_changes(reg, -1);
}

static gboolean poll_cb(gpointer data)
{
    agent_registry_poll(data);
    return G_SOURCE_CONTINUE;
}

guint agent_registry_attach(AgentRegistry *reg, GMainContext *ctx)
{
    if (reg->source) {
        g_source_destroy(reg->source);
        g_source_unref(reg->source);
    }
    reg->ctx = ctx;
    g_autoptr(GPtrArray) hosts = host_list(reg);
    for (guint i = 0; i < hosts->len; i++) {
        host_unwatch_owner(g_ptr_array_index(hosts, i));   /* watched again in ctx */
    }
    owners_stop(reg);
    reg->source = g_timeout_source_new(AGENT_POLL_MS);
    g_source_set_callback(reg->source, poll_cb, reg, NULL);
    return g_source_attach(reg->source, ctx);
}

static gint compare_names(gconstpointer a, gconstpointer b, gpointer unused)
{
    return strcmp(a, b);
}

AgentRegistry *agent_registry_new(const char *dir, AgentEventFunc emit_fn, void *opaque)
{
    AgentRegistry *reg = g_new0(AgentRegistry, 1);
    reg->dir = g_strdup(dir);
    reg->emit = emit_fn;
    reg->emit_opaque = opaque;
    reg->watching = true;
    reg->hosts = g_tree_new_full(compare_names, NULL, NULL, host_free);
    reg->descs = agent_desc_cache_new();
    reg->owners_epfd = -1;
    g_queue_init(&reg->changes);
    return reg;
}

void agent_registry_free(AgentRegistry *reg)
{
    if (!reg) {
        return;
    }
    if (reg->source) {
        g_source_destroy(reg->source);
        g_source_unref(reg->source);
    }
    if (reg->idle) {
        g_source_destroy(reg->idle);
        g_source_unref(reg->idle);
    }
    g_tree_destroy(reg->hosts);         /* takes the devices off the queue */
    owners_stop(reg);
    agent_desc_cache_free(reg->descs);
    g_free(reg->list_error);
    g_free(reg->dir);
    g_free(reg);
}

void agent_registry_set_watch_func(AgentRegistry *reg, AgentWatchFunc fn, void *opaque)
{
    reg->watch = fn;
    reg->watch_opaque = opaque;
}

void agent_registry_set_error_func(AgentRegistry *reg, AgentErrorFunc fn, void *opaque)
{
    reg->error_fn = fn;
    reg->error_opaque = opaque;
}

/* ---- answers ------------------------------------------------------------------ */

QObject *agent_registry_hosts(AgentRegistry *reg)
{
    QObject *list = qlist_new();
    g_autoptr(GPtrArray) hosts = host_list(reg);
    for (guint i = 0; i < hosts->len; i++) {
        Host *h = g_ptr_array_index(hosts, i);
        if (h->state == HOST_CLOSED) {
            continue;
        }
        ShmHostInfo hi = { .generation = 0 };
        bool have_info = h->reader && shm_reader_host_info(h->reader, &hi, NULL);
        QObject *o = qdict_new();
        qdict_put(o, "name", qstring_from_str(h->name));
        qdict_put(o, "pid", qnum_from_int(h->pid));
        qdict_put(o, "alive", qbool_from_bool(host_alive(h)));
        qdict_put(o, "segment", qstring_from_str(h->segment));
        qdict_put(o, "devices", qnum_from_uint(h->devices->len));
        qdict_put(o, "generation", qnum_from_uint(have_info ? hi.generation : 0));
        if (h->state == HOST_BROKEN && h->error) {
            qdict_put(o, "error", qstring_from_str(h->error));
        }
        qlist_append(list, o);
    }
    return list;
}

QObject *agent_registry_devices(AgentRegistry *reg)
{
    QObject *list = qlist_new();
    g_autoptr(GPtrArray) hosts = host_list(reg);
    for (guint i = 0; i < hosts->len; i++) {
        Host *h = g_ptr_array_index(hosts, i);
        if (h->state != HOST_LIVE || !h->reader) {
            continue;
        }
        bool fresh = host_poll_counters(h, NULL, NULL);
        for (guint k = 0; k < h->devices->len; k++) {
            Device *d = g_ptr_array_index(h->devices, k);
            QObject *o = qdict_new();
            qdict_put(o, "path", qstring_from_str(d->path));
            qdict_put(o, "host", qstring_from_str(h->name));
            qdict_put(o, "id", qstring_from_str(d->info.id));
            qdict_put(o, "type", qstring_from_str(d->info.type));
            qdict_put(o, "instance-id", qnum_from_uint(d->info.instance_id));
            qdict_put(o, "version-id", qnum_from_uint(d->info.version_id));
            qdict_put(o, "generation", qnum_from_uint(fresh ? live_updates(h, d) : d->seen));
            qdict_put(o, "state-size", qnum_from_uint(d->info.state_size));
            qlist_append(list, o);
        }
    }
    return list;
}

bool agent_registry_device_state(AgentRegistry *reg, const char *host, const char *id,
                                 const VmsFormat *format, QObject **ret, GError **errp)
{
    AgentSnapshot snap;
    Host *h;
    Device *d;
    /* The state is the json format's result already; any other is walked too. */
    bool other = format && format != vms_format_json();
    unsigned what = AGENT_SNAPSHOT_STATE | (other ? AGENT_SNAPSHOT_RESULT : 0);
    if (!snapshot(reg, host, id, what, format, &snap, &h, &d, errp)) {
        return false;
    }
    QObject *o = qdict_new();
    qdict_put(o, "path", qstring_from_str(d->path));
    qdict_put(o, "host", qstring_from_str(h->name));
    qdict_put(o, "type", qstring_from_str(snap.info.type));
    qdict_put(o, "instance-id", qnum_from_uint(snap.info.instance_id));
    qdict_put(o, "version-id", qnum_from_uint(snap.info.version_id));
    qdict_put(o, "generation", qnum_from_uint(snap.info.generation));
    qdict_put(o, "state", g_steal_pointer(&snap.state));
    if (other) {
        qdict_put(o, vms_format_result_member(format),
                  vms_format_result_to_qobject(format, snap.result));
    }
    agent_snapshot_clear(&snap);
    *ret = o;
    return true;
}

bool agent_registry_device_schema(AgentRegistry *reg, const char *host, const char *id,
                                  bool json_schema, QObject **ret, GError **errp)
{
    AgentSnapshot snap;
    Host *h;
    Device *d;
    if (!snapshot(reg, host, id, 0, NULL, &snap, &h, &d, errp)) {
        return false;
    }
    /* The description as published: read again (descriptions keep no text). */
    g_autofree char *text = NULL;
    QObject *schema = NULL;
    if (json_schema) {
        schema = vmstate_json_schema(d->desc->vmsd, d->desc->state_size, errp);
    } else if (shm_reader_description(h->reader, d->info.id, &text, errp)) {
        if (!text || !qobject_from_json(text, strlen(text), &schema, errp)) {
            if (!text) {
                g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "vmscope-%s: device '%s' has "
                            "no description", h->name, d->info.id);
            }
            return false;
        }
    }
    if (!schema) {
        return false;
    }
    QObject *o = qdict_new();
    qdict_put(o, "path", qstring_from_str(d->path));
    qdict_put(o, "type", qstring_from_str(d->info.type));
    qdict_put(o, "version-id", qnum_from_uint(d->info.version_id));
    qdict_put(o, "schema", schema);
    *ret = o;
    return true;
}

void agent_registry_stats(AgentRegistry *reg, AgentRegistryStats *out)
{
    memset(out, 0, sizeof(*out));
    out->snapshots = reg->retired.snapshots;
    out->snapshot_retries = reg->retired.retries;
    out->snapshot_failures = reg->retired.failures;
    g_autoptr(GPtrArray) hosts = host_list(reg);
    for (guint i = 0; i < hosts->len; i++) {
        Host *h = g_ptr_array_index(hosts, i);
        if (h->reader) {
            ShmReaderStats st;
            shm_reader_get_stats(h->reader, &st);
            out->snapshots += st.snapshots;
            out->snapshot_retries += st.retries;
            out->snapshot_failures += st.failures;
        }
        if (h->state == HOST_CLOSED) {
            continue;
        }
        out->hosts++;
        if (!host_alive(h)) {
            out->hosts_lost++;
        }
        for (guint k = 0; k < h->devices->len; k++) {
            Device *d = g_ptr_array_index(h->devices, k);
            out->devices++;
            out->state_bytes += d->info.state_size;
        }
    }
}

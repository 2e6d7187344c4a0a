/*
 * The segment writer: a device host's side.  See
 * include/vmscope/shm-segment.h for the layout and the seqlock protocol.
 *
 * Nothing here ever waits for a reader.  The only lock is the writer's own
 * mutex around directory and allocator changes, in private memory.
 *
 * Creation: the segment is built under a temporary dot-name (which
 * discovery ignores), locked with flock(LOCK_EX), sized with
 * posix_fallocate, initialised, and then published with linkat(), which
 * fails rather than overwrite an existing name.  If the name exists, the
 * existing file is replaced only if its lock is free: the flock dies with
 * its owner, whatever pid the header names.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmscope/error.h"
#include "shm-segment-impl.h"

/* A block of the data area the allocator handed out. */
typedef struct ShmBlock {
    uint64_t offset;
    uint64_t size;     /* rounded to SHM_ALIGN */
    bool heap;         /* from shm_heap_alloc (not a state or description) */
} ShmBlock;

struct ShmDevice {
    ShmWriter *w;
    uint32_t slot;
    ShmDirEntry *entry;
    void *state;
    uint64_t state_offset;
    uint64_t state_size;
    uint64_t desc_offset;      /* 0: none */
    uint64_t seq;              /* writer's copy of entry->seq */
    bool updating;
};

struct ShmWriter {
    char *host;
    char *name;                /* "vmscope-HOST" */
    char *path;
    int dirfd;
    int fd;
    uint8_t *base;
    size_t size;
    ShmSegmentHeader *hdr;
    ShmDirEntry *dir;
    uint32_t max_devices;
    uint64_t data_offset;
    GMutex lock;               /* directory and allocator */
    ShmDevice **devices;       /* [max_devices], NULL = free slot */
    GArray *blocks;            /* ShmBlock, sorted by offset */
    uint64_t data_used;
};

/* ---- allocator ---------------------------------------------------------- */

/*
 * First fit over the gaps between allocated blocks, which are kept sorted.
 * Device hosts allocate a handful of states and some list nodes; a linear
 * scan over private memory is cheap and easy to check.
 */
static bool block_alloc(ShmWriter *w, uint64_t size, bool heap, uint64_t *offset,
                        uint64_t *largest_free)
{
    uint64_t want;
    if (size == 0 || !shm_align_up(size, SHM_ALIGN, &want)) {
        *largest_free = 0;
        return false;
    }
    uint64_t start = w->data_offset, largest = 0;
    guint i;
    for (i = 0; i <= w->blocks->len; i++) {
        uint64_t end = i < w->blocks->len ? g_array_index(w->blocks, ShmBlock, i).offset
                                          : w->size;
        uint64_t gap = end - start;
        if (gap >= want) {
            break;
        }
        largest = MAX(largest, gap);
        if (i < w->blocks->len) {
            const ShmBlock *b = &g_array_index(w->blocks, ShmBlock, i);
            start = b->offset + b->size;
        }
    }
    if (i > w->blocks->len) {
        *largest_free = largest;
        return false;
    }
    ShmBlock nb = { .offset = start, .size = want, .heap = heap };
    g_array_insert_val(w->blocks, i, nb);
    memset(w->base + start, 0, want);
    w->data_used += want;
    atomic_store_explicit(&w->hdr->data_used, w->data_used, memory_order_relaxed);
    *offset = start;
    return true;
}

static bool block_find(ShmWriter *w, uint64_t offset, guint *index)
{
    guint lo = 0, hi = w->blocks->len;
    while (lo < hi) {
        guint mid = lo + (hi - lo) / 2;
        uint64_t o = g_array_index(w->blocks, ShmBlock, mid).offset;
        if (o == offset) {
            *index = mid;
            return true;
        }
        if (o < offset) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return false;
}

static void block_free_at(ShmWriter *w, guint index)
{
    w->data_used -= g_array_index(w->blocks, ShmBlock, index).size;
    atomic_store_explicit(&w->hdr->data_used, w->data_used, memory_order_relaxed);
    g_array_remove_index(w->blocks, index);
}

static void block_free(ShmWriter *w, uint64_t offset)
{
    guint index;
    if (block_find(w, offset, &index)) {
        block_free_at(w, index);
    }
}

uint64_t shm_heap_alloc(ShmWriter *w, size_t size, GError **errp)
{
    uint64_t offset = 0, largest;
    if (size == 0) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_RANGE, "%s: heap: cannot allocate 0 bytes",
                    w->name);
        return 0;
    }
    g_mutex_lock(&w->lock);
    bool ok = block_alloc(w, size, true, &offset, &largest);
    g_mutex_unlock(&w->lock);
    if (!ok) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_RANGE,
                    "%s: heap: out of space for %zu bytes (largest free block %" PRIu64
                    " bytes)", w->name, size, largest);
        return 0;
    }
    return offset;
}

bool shm_heap_free(ShmWriter *w, uint64_t offset, GError **errp)
{
    guint index;
    g_mutex_lock(&w->lock);
    bool ok = block_find(w, offset, &index) &&
              g_array_index(w->blocks, ShmBlock, index).heap;
    if (ok) {
        block_free_at(w, index);
    }
    g_mutex_unlock(&w->lock);
    if (!ok) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "%s: heap: offset 0x%" PRIx64 " is not an allocated heap block",
                    w->name, offset);
    }
    return ok;
}

void *shm_writer_ptr(const ShmWriter *w, uint64_t offset)
{
    if (offset == 0) {
        return NULL;
    }
    g_return_val_if_fail(offset < w->size, NULL);
    return w->base + offset;
}

uint64_t shm_writer_offset(const ShmWriter *w, const void *ptr)
{
    if (!ptr) {
        return 0;
    }
    const uint8_t *p = ptr;
    g_return_val_if_fail(p > w->base && p < w->base + w->size, 0);
    return (uint64_t)(p - w->base);
}

/* ---- creation ----------------------------------------------------------- */

static void writer_free(ShmWriter *w)
{
    if (w->base) {
        munmap(w->base, w->size);
    }
    if (w->fd >= 0) {
        close(w->fd);    /* releases the flock */
    }
    if (w->dirfd >= 0) {
        close(w->dirfd);
    }
    if (w->devices) {
        for (uint32_t i = 0; i < w->max_devices; i++) {
            g_free(w->devices[i]);
        }
        g_free(w->devices);
    }
    if (w->blocks) {
        g_array_free(w->blocks, true);
    }
    g_mutex_clear(&w->lock);
    g_free(w->host);
    g_free(w->name);
    g_free(w->path);
    g_free(w);
}

/* Is the file open as fd still the one called `name` in the directory? */
static bool same_file(int dirfd, const char *name, int fd)
{
    struct stat a, b;
    return fstatat(dirfd, name, &a, AT_SYMLINK_NOFOLLOW) == 0 && fstat(fd, &b) == 0 &&
           a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/*
 * `name` exists.  Remove it if its owner is gone (its flock is free);
 * otherwise fail naming the owner.  True means "try to publish again".
 */
static bool remove_stale(ShmWriter *w, GError **errp)
{
    int fd = openat(w->dirfd, w->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            return true;     /* went away meanwhile */
        }
        g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "%s: cannot open existing %s: %s",
                    w->name, w->path, g_strerror(errno));
        return false;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        ShmSegmentHeader hdr;
        if (e != EWOULDBLOCK) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "%s: cannot lock existing %s: %s",
                        w->name, w->path, g_strerror(e));
        } else if (pread(fd, &hdr, sizeof(hdr), 0) == (ssize_t)sizeof(hdr) &&
                   memcmp(hdr.magic, SHM_MAGIC, sizeof(hdr.magic)) == 0) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_FAILED,
                        "%s: segment in use by live pid %d", w->name, (int)hdr.owner_pid);
        } else {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_FAILED,
                        "%s: segment in use by a live process", w->name);
        }
        close(fd);
        return false;
    }
    /* Locked: nobody owns it.  Unlink it unless it was replaced meanwhile. */
    bool ok = true;
    if (same_file(w->dirfd, w->name, fd) && unlinkat(w->dirfd, w->name, 0) < 0 &&
        errno != ENOENT) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "%s: cannot remove stale %s: %s",
                    w->name, w->path, g_strerror(errno));
        ok = false;
    }
    close(fd);
    return ok;
}

static void init_layout(ShmWriter *w)
{
    ShmSegmentHeader *h = w->hdr;
    h->layout_version = SHM_LAYOUT_VERSION;
    h->header_size = sizeof(ShmSegmentHeader);
    h->segment_size = w->size;
    h->entry_size = sizeof(ShmDirEntry);
    h->max_devices = w->max_devices;
    h->dir_offset = sizeof(ShmSegmentHeader);
    h->data_offset = w->data_offset;
    h->owner_pid = (int32_t)getpid();
    uint64_t start = 0;
    char state;
    if (shm_process_stat(getpid(), &state, &start)) {
        h->owner_start_time = start;
    }
    h->created_ns = shm_now_ns();
    g_strlcpy(h->host, w->host, sizeof(h->host));
    atomic_store_explicit(&h->generation, 0, memory_order_relaxed);
    atomic_store_explicit(&h->heartbeat_ns, h->created_ns, memory_order_relaxed);
    atomic_store_explicit(&h->device_count, 0, memory_order_relaxed);
    atomic_store_explicit(&h->state, SHM_STATE_LIVE, memory_order_relaxed);
    /* The magic last: what carries it is complete (linkat publishes anyway). */
    atomic_thread_fence(memory_order_release);
    memcpy(h->magic, SHM_MAGIC, sizeof(h->magic));
}

/*
 * Lock, size and map the new file.  posix_fallocate reserves every block
 * now, so a full tmpfs fails here instead of raising SIGBUS at the first
 * store into a page.  Returns 0 or an errno, with *what naming the step.
 */
static int size_file(ShmWriter *w, const char **what)
{
    *what = "flock";
    if (flock(w->fd, LOCK_EX | LOCK_NB) < 0) {
        return errno;
    }
    *what = "ftruncate";
    if (ftruncate(w->fd, (off_t)w->size) < 0) {
        return errno;
    }
    *what = "posix_fallocate";
    int rc = posix_fallocate(w->fd, 0, (off_t)w->size);
    if (rc != 0) {
        return rc;
    }
    *what = "mmap";
    void *p = mmap(NULL, w->size, PROT_READ | PROT_WRITE, MAP_SHARED, w->fd, 0);
    if (p == MAP_FAILED) {
        return errno;
    }
    w->base = p;
    return 0;
}

ShmWriter *shm_writer_create(const char *dir, const char *host, size_t segment_size,
                             uint32_t max_devices, GError **errp)
{
    if (!shm_host_name_valid(host, errp)) {
        return NULL;
    }
    g_autofree char *name = g_strconcat(SHM_NAME_PREFIX, host, NULL);
    if (max_devices == 0 || max_devices > SHM_MAX_DEVICES_LIMIT) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_RANGE,
                    "%s: max devices %u out of range (1 to %d)", name, max_devices,
                    SHM_MAX_DEVICES_LIMIT);
        return NULL;
    }
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), size;
    uint64_t data_offset = sizeof(ShmSegmentHeader) + (uint64_t)max_devices * sizeof(ShmDirEntry);
    if (!shm_align_up(segment_size, page, &size) || size > SHM_SEGMENT_MAX ||
        size < data_offset + SHM_ALIGN) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_RANGE,
                    "%s: segment size %zu out of range (%" PRIu64 " to %" PRIu64
                    " bytes for %u devices)", name, segment_size, data_offset + SHM_ALIGN,
                    SHM_SEGMENT_MAX, max_devices);
        return NULL;
    }

    ShmWriter *w = g_new0(ShmWriter, 1);
    w->fd = w->dirfd = -1;
    g_mutex_init(&w->lock);
    w->host = g_strdup(host);
    w->name = g_steal_pointer(&name);
    w->path = shm_segment_path(dir, host);
    w->size = size;
    w->max_devices = max_devices;
    w->data_offset = data_offset;
    w->devices = g_new0(ShmDevice *, max_devices);
    w->blocks = g_array_new(false, false, sizeof(ShmBlock));

    w->dirfd = shm_dir_open(dir, errp);
    if (w->dirfd < 0) {
        vms_error_prefix(errp, "%s", w->name);
        writer_free(w);
        return NULL;
    }
    static gint counter;
    g_autofree char *tmp = g_strdup_printf(".%s.%d.%d", w->name, (int)getpid(),
                                           g_atomic_int_add(&counter, 1));
    w->fd = openat(w->dirfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "%s: cannot create %s in %s: %s",
                    w->name, tmp, dir ? dir : SHM_DEFAULT_DIR, g_strerror(errno));
        writer_free(w);
        return NULL;
    }
    const char *what;
    int rc = size_file(w, &what);
    if (rc != 0) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "%s: %s of %" PRIu64 " bytes: %s",
                    w->name, what, (uint64_t)w->size, g_strerror(rc));
        unlinkat(w->dirfd, tmp, 0);
        writer_free(w);
        return NULL;
    }
    w->hdr = (ShmSegmentHeader *)w->base;
    w->dir = (ShmDirEntry *)(w->base + sizeof(ShmSegmentHeader));
    init_layout(w);

    /* Publish.  A few rounds in case another host races us for the name. */
    bool published = false;
    GError *err = NULL;
    for (int round = 0; round < 5 && !published && !err; round++) {
        if (linkat(w->dirfd, tmp, w->dirfd, w->name, 0) == 0) {
            published = true;
        } else if (errno != EEXIST) {
            g_set_error(&err, VMS_ERROR, VMS_ERROR_IO, "%s: cannot publish %s: %s",
                        w->name, w->path, g_strerror(errno));
        } else {
            remove_stale(w, &err);
        }
    }
    if (!published && !err) {
        g_set_error(&err, VMS_ERROR, VMS_ERROR_FAILED,
                    "%s: segment is being replaced by another process", w->name);
    }
    unlinkat(w->dirfd, tmp, 0);
    if (!published) {
        g_propagate_error(errp, err);
        writer_free(w);
        return NULL;
    }
    return w;
}

bool shm_writer_close(ShmWriter *w, GError **errp)
{
    if (!w) {
        return true;
    }
    bool ok = true;
    /* Readers still mapping the file see "closed" rather than a dead pid. */
    atomic_store_explicit(&w->hdr->state, SHM_STATE_CLOSED, memory_order_release);
    if (same_file(w->dirfd, w->name, w->fd) && unlinkat(w->dirfd, w->name, 0) < 0) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "%s: cannot unlink %s: %s", w->name,
                    w->path, g_strerror(errno));
        ok = false;
    }
    writer_free(w);
    return ok;
}

void shm_writer_destroy(ShmWriter *w)
{
    shm_writer_close(w, NULL);
}

const char *shm_writer_host(const ShmWriter *w) { return w->host; }
const char *shm_writer_path(const ShmWriter *w) { return w->path; }
void *shm_writer_base(const ShmWriter *w) { return w->base; }
size_t shm_writer_size(const ShmWriter *w) { return w->size; }

void shm_writer_heartbeat(ShmWriter *w)
{
    atomic_store_explicit(&w->hdr->heartbeat_ns, shm_now_ns(), memory_order_relaxed);
}

/* ---- directory ---------------------------------------------------------- */

/* The directory seqlock: same protocol as a device's, see the header. */
static uint64_t dir_begin(ShmWriter *w)
{
    uint64_t g = atomic_load_explicit(&w->hdr->generation, memory_order_relaxed);
    atomic_store_explicit(&w->hdr->generation, g + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    return g;
}

static void dir_end(ShmWriter *w, uint64_t g)
{
    atomic_store_explicit(&w->hdr->generation, g + 2, memory_order_release);
}

static bool type_name_valid(const char *type)
{
    size_t len = strlen(type);
    if (len == 0 || len >= SHM_TYPE_SIZE) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (!g_ascii_isprint(type[i])) {
            return false;
        }
    }
    return true;
}

ShmDevice *shm_writer_add_device(ShmWriter *w, const char *id, const char *type,
                                 uint32_t instance_id, uint32_t version_id,
                                 const char *description, size_t state_size,
                                 GError **errp)
{
    if (!shm_device_id_valid(id)) {
        g_autofree char *shown = g_strescape(id, NULL);
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "%s: device id '%s': must be 1 to %d characters from [A-Za-z0-9._:@-]",
                    w->name, shown, SHM_ID_SIZE - 1);
        return NULL;
    }
    if (!type_name_valid(type)) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "%s: device '%s': type name must be 1 to %d printable characters",
                    w->name, id, SHM_TYPE_SIZE - 1);
        return NULL;
    }
    if (state_size == 0) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_RANGE, "%s: device '%s': state size 0",
                    w->name, id);
        return NULL;
    }

    g_mutex_lock(&w->lock);
    uint32_t slot = w->max_devices;
    for (uint32_t i = 0; i < w->max_devices; i++) {
        if (w->devices[i] && strcmp(w->devices[i]->entry->id, id) == 0) {
            g_mutex_unlock(&w->lock);
            g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "%s: device '%s' already exists",
                        w->name, id);
            return NULL;
        }
        if (!w->devices[i] && slot == w->max_devices) {
            slot = i;
        }
    }
    if (slot == w->max_devices) {
        g_mutex_unlock(&w->lock);
        g_set_error(errp, VMS_ERROR, VMS_ERROR_RANGE, "%s: directory full (%u devices)",
                    w->name, w->max_devices);
        return NULL;
    }
    uint64_t state_off, desc_off = 0, largest;
    size_t desc_len = description ? strlen(description) : 0;
    if (!block_alloc(w, state_size, false, &state_off, &largest)) {
        g_mutex_unlock(&w->lock);
        g_set_error(errp, VMS_ERROR, VMS_ERROR_RANGE,
                    "%s: device '%s': out of space for a state of %zu bytes "
                    "(largest free block %" PRIu64 " bytes)", w->name, id, state_size, largest);
        return NULL;
    }
    if (description && !block_alloc(w, desc_len + 1, false, &desc_off, &largest)) {
        block_free(w, state_off);
        g_mutex_unlock(&w->lock);
        g_set_error(errp, VMS_ERROR, VMS_ERROR_RANGE,
                    "%s: device '%s': out of space for a description of %zu bytes "
                    "(largest free block %" PRIu64 " bytes)", w->name, id, desc_len + 1,
                    largest);
        return NULL;
    }
    if (description) {
        memcpy(w->base + desc_off, description, desc_len + 1);
    }

    ShmDevice *dev = g_new0(ShmDevice, 1);
    dev->w = w;
    dev->slot = slot;
    dev->entry = &w->dir[slot];
    dev->state = w->base + state_off;
    dev->state_offset = state_off;
    dev->state_size = state_size;
    dev->desc_offset = desc_off;

    ShmDirEntry *e = dev->entry;
    uint64_t g = dir_begin(w);
    /* The slot's seq only grows: the next even value above any earlier one. */
    uint64_t s = atomic_load_explicit(&e->seq, memory_order_relaxed);
    dev->seq = (s | 1) + 1;
    atomic_store_explicit(&e->seq, dev->seq, memory_order_relaxed);
    atomic_store_explicit(&e->updates, 0, memory_order_relaxed);
    e->instance_id = instance_id;
    e->version_id = version_id;
    e->state_offset = state_off;
    e->state_size = state_size;
    e->desc_offset = desc_off;
    e->desc_length = desc_len;
    memset(e->id, 0, sizeof(e->id));
    g_strlcpy(e->id, id, sizeof(e->id));
    memset(e->type, 0, sizeof(e->type));
    g_strlcpy(e->type, type, sizeof(e->type));
    e->in_use = 1;
    atomic_fetch_add_explicit(&w->hdr->device_count, 1, memory_order_relaxed);
    dir_end(w, g);
    w->devices[slot] = dev;
    g_mutex_unlock(&w->lock);
    return dev;
}

void shm_writer_remove_device(ShmWriter *w, ShmDevice *dev)
{
    g_return_if_fail(dev && dev->w == w && !dev->updating);
    g_mutex_lock(&w->lock);
    ShmDirEntry *e = dev->entry;
    uint64_t g = dir_begin(w);
    /* Odd until the slot is reused: a reader that raced with us retries. */
    atomic_store_explicit(&e->seq, dev->seq + 1, memory_order_relaxed);
    e->in_use = 0;
    atomic_fetch_sub_explicit(&w->hdr->device_count, 1, memory_order_relaxed);
    dir_end(w, g);
    block_free(w, dev->state_offset);
    if (dev->desc_offset) {
        block_free(w, dev->desc_offset);
    }
    w->devices[dev->slot] = NULL;
    g_mutex_unlock(&w->lock);
    g_free(dev);
}

/* ---- device updates ----------------------------------------------------- */

void *shm_device_state(const ShmDevice *dev) { return dev->state; }
size_t shm_device_state_size(const ShmDevice *dev) { return dev->state_size; }
uint64_t shm_device_state_offset(const ShmDevice *dev) { return dev->state_offset; }
const char *shm_device_id(const ShmDevice *dev) { return dev->entry->id; }

uint64_t shm_device_updates(const ShmDevice *dev)
{
    return atomic_load_explicit(&dev->entry->updates, memory_order_relaxed);
}

void shm_device_begin_update(ShmDevice *dev)
{
    g_return_if_fail(!dev->updating);
    dev->updating = true;
    atomic_store_explicit(&dev->entry->seq, dev->seq + 1, memory_order_relaxed);
    /* Orders the odd seq before every store of the update. */
    atomic_thread_fence(memory_order_release);
}

void shm_device_end_update(ShmDevice *dev)
{
    g_return_if_fail(dev->updating);
    ShmDirEntry *e = dev->entry;
    uint64_t u = atomic_load_explicit(&e->updates, memory_order_relaxed);
    atomic_store_explicit(&e->updates, u + 1, memory_order_relaxed);
    dev->seq += 2;
    /* Orders every store of the update before the even seq. */
    atomic_store_explicit(&e->seq, dev->seq, memory_order_release);
    dev->updating = false;
}

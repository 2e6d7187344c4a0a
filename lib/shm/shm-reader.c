/*
 * The segment reader: the agent's side.  See include/vmscope/shm-segment.h
 * for the layout and the seqlock protocol.
 *
 * The reader assumes the segment may be broken or hostile.  Three habits
 * keep it safe:
 *   1. the layout (sizes, offsets, capacity) is read once, at open, checked,
 *      and kept in the ShmReader; those header fields are never read again;
 *   2. a directory entry is copied out under the directory seqlock and
 *      checked in the private copy before any offset in it is used;
 *   3. the file size is re-checked (fstat) before the mapping is touched,
 *      at the start of every call and every 64 retries, so a shrunk file is
 *      an error instead of SIGBUS.
 * Errors found on torn data (the sequence moved while we looked) are thrown
 * away and the read retried; only an error on a stable sequence is real.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vmscope/error.h"
#include "shm-segment-impl.h"

#define SHM_DEFAULT_MAX_RETRIES 100000u

struct ShmReader {
    char *host;
    char *name;                   /* "vmscope-HOST": the prefix of every error */
    char *path;
    int dirfd;
    int fd;
    dev_t dev;
    ino_t ino;
    const uint8_t *base;
    size_t size;
    const ShmSegmentHeader *hdr;
    const ShmDirEntry *dir;
    uint32_t max_devices;
    uint64_t data_offset;
    int32_t owner_pid;
    uint64_t owner_start_time;
    int owner_fd;                 /* pidfd of the owner, -1 without pidfd_open */
    atomic_bool owner_ended;      /* seen dead, a zombie, or its pid reused: sticks */
    unsigned max_retries;
    _Atomic uint64_t snapshots;
    _Atomic uint64_t retries;
    _Atomic uint64_t failures;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Between attempts: spin a little, and let the writer run now and then. */
static void retry_pause(unsigned attempt)
{
    if ((attempt & 15) == 0) {
        sched_yield();
    } else {
        cpu_relax();
    }
}

/* ---- open and checks of the whole segment -------------------------------- */

static void reader_free(ShmReader *r)
{
    if (r->base) {
        munmap((void *)r->base, r->size);
    }
    if (r->fd >= 0) {
        close(r->fd);
    }
    if (r->dirfd >= 0) {
        close(r->dirfd);
    }
    if (r->owner_fd >= 0) {
        close(r->owner_fd);
    }
    g_free(r->host);
    g_free(r->name);
    g_free(r->path);
    g_free(r);
}

void shm_reader_close(ShmReader *r)
{
    if (r) {
        reader_free(r);
    }
}

/* The one guard against SIGBUS: the file must still cover the mapping. */
static bool check_size(ShmReader *r, GError **errp)
{
    struct stat st;
    if (fstat(r->fd, &st) < 0) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "%s: fstat: %s", r->name,
                    g_strerror(errno));
        return false;
    }
    if ((uint64_t)st.st_size < r->size) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_TRUNCATED,
                    "%s: segment file shrank to %" PRIu64 " bytes (mapped %zu)", r->name,
                    (uint64_t)st.st_size, r->size);
        return false;
    }
    return true;
}

/*
 * Is the owner gone?  Cheap enough for every read.  With a pidfd: is it
 * readable, which it is once the process has ended, reaped by its parent
 * or not.  kill(pid, 0) cannot tell: it succeeds on a zombie, whose parent
 * may never reap it.  Without pidfd_open (Linux before 5.3) that is all we
 * have here; owner_checked() below, which shm_reader_owner runs, then
 * catches zombies through /proc.
 */
static bool owner_gone(ShmReader *r)
{
    if (atomic_load_explicit(&r->owner_ended, memory_order_relaxed)) {
        return true;
    }
    bool gone;
    if (r->owner_fd >= 0) {
        struct pollfd pfd = { .fd = r->owner_fd, .events = POLLIN };
        gone = poll(&pfd, 1, 0) > 0;
    } else {
        gone = kill(r->owner_pid, 0) < 0 && errno == ESRCH;
    }
    if (gone) {
        atomic_store_explicit(&r->owner_ended, true, memory_order_relaxed);
    }
    return gone;
}

/*
 * The thorough check, through /proc/PID/stat (too dear for every read):
 * the pid names another process than the owner (its start time differs),
 * or the owner is a zombie.  What it finds sticks.
 */
static bool owner_checked(ShmReader *r)
{
    uint64_t start;
    char state;
    if (shm_process_stat(r->owner_pid, &state, &start) &&
        ((r->owner_start_time && start != r->owner_start_time) || state == 'Z' ||
         state == 'X')) {
        atomic_store_explicit(&r->owner_ended, true, memory_order_relaxed);
    }
    return owner_gone(r);
}

/*
 * A pidfd of the owner, or -1 without pidfd_open.  Opened before the start
 * time is compared (owner_checked), so that it cannot be the pidfd of
 * another process that took the owner's pid in between.
 */
static int owner_pidfd_open(pid_t pid)
{
#ifdef SYS_pidfd_open
    /* The tests' stand-in for an old kernel. */
    if (g_getenv("VMSCOPE_SHM_NO_PIDFD")) {
        errno = ENOSYS;
        return -1;
    }
    return (int)syscall(SYS_pidfd_open, pid, 0);   /* close-on-exec */
#else
    errno = ENOSYS;
    return -1;
#endif
}

/* Before every read: the file still covers the mapping, the owner is there. */
static bool check_access(ShmReader *r, GError **errp)
{
    if (!check_size(r, errp)) {
        return false;
    }
    if (atomic_load_explicit(&r->hdr->state, memory_order_acquire) == SHM_STATE_CLOSED) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_FAILED, "%s: segment closed by its owner",
                    r->name);
        return false;
    }
    if (owner_gone(r)) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_FAILED, "%s: owner pid %d is dead", r->name,
                    (int)r->owner_pid);
        return false;
    }
    return true;
}

static bool check_header(ShmReader *r, const ShmSegmentHeader *h, GError **errp)
{
    const uint64_t expect_dir = sizeof(ShmSegmentHeader);
    if (memcmp(h->magic, SHM_MAGIC, sizeof(h->magic)) != 0) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "%s: bad magic (not a vmscope segment)",
                    r->name);
        return false;
    }
    if (h->layout_version != SHM_LAYOUT_VERSION) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_VERSION,
                    "%s: layout version %u not supported (expected %d)", r->name,
                    h->layout_version, SHM_LAYOUT_VERSION);
        return false;
    }
    if (h->header_size != sizeof(ShmSegmentHeader)) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "%s: header size %u (expected %zu)",
                    r->name, h->header_size, sizeof(ShmSegmentHeader));
        return false;
    }
    if (h->entry_size != sizeof(ShmDirEntry)) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "%s: directory entry size %u (expected %zu)", r->name, h->entry_size,
                    sizeof(ShmDirEntry));
        return false;
    }
    if (h->segment_size != r->size) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "%s: header says segment size 0x%" PRIx64 ", the file has 0x%zx bytes",
                    r->name, h->segment_size, r->size);
        return false;
    }
    if (h->max_devices == 0 || h->max_devices > SHM_MAX_DEVICES_LIMIT) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_RANGE, "%s: max devices %u out of range (1 to %d)",
                    r->name, h->max_devices, SHM_MAX_DEVICES_LIMIT);
        return false;
    }
    if (h->dir_offset != expect_dir) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "%s: directory offset 0x%" PRIx64 " (expected 0x%" PRIx64 ")", r->name,
                    h->dir_offset, expect_dir);
        return false;
    }
    /* Cannot overflow: max_devices <= SHM_MAX_DEVICES_LIMIT. */
    uint64_t expect_data = expect_dir + (uint64_t)h->max_devices * sizeof(ShmDirEntry);
    if (h->data_offset != expect_data) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "%s: data offset 0x%" PRIx64 " (expected 0x%" PRIx64 ")", r->name,
                    h->data_offset, expect_data);
        return false;
    }
    if (expect_data + SHM_ALIGN > r->size) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "%s: directory of %u entries leaves no data area in segment size 0x%zx",
                    r->name, h->max_devices, r->size);
        return false;
    }
    if (!memchr(h->host, 0, sizeof(h->host))) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "%s: host name not NUL-terminated",
                    r->name);
        return false;
    }
    if (strcmp(h->host, r->host) != 0) {
        g_autofree char *shown = g_strescape(h->host, NULL);
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "%s: host name '%s' does not match the segment name", r->name, shown);
        return false;
    }
    if (h->owner_pid <= 0) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "%s: owner pid %d invalid", r->name,
                    (int)h->owner_pid);
        return false;
    }
    uint32_t state = atomic_load_explicit(&h->state, memory_order_relaxed);
    if (state != SHM_STATE_LIVE && state != SHM_STATE_CLOSED) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "%s: state %u invalid", r->name, state);
        return false;
    }
    return true;
}

ShmReader *shm_reader_open(const char *dir, const char *host, GError **errp)
{
    if (!shm_host_name_valid(host, errp)) {
        return NULL;
    }
    ShmReader *r = g_new0(ShmReader, 1);
    r->fd = r->dirfd = r->owner_fd = -1;
    r->host = g_strdup(host);
    r->name = g_strconcat(SHM_NAME_PREFIX, host, NULL);
    r->path = shm_segment_path(dir, host);
    r->max_retries = SHM_DEFAULT_MAX_RETRIES;

    r->dirfd = shm_dir_open(dir, errp);
    if (r->dirfd < 0) {
        vms_error_prefix(errp, "%s", r->name);
        reader_free(r);
        return NULL;
    }
    r->fd = openat(r->dirfd, r->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (r->fd < 0) {
        int e = errno;
        if (e == ENOENT) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_NOT_FOUND, "%s: no segment at %s", r->name,
                        r->path);
        } else {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "%s: cannot open %s: %s", r->name,
                        r->path, g_strerror(e));
        }
        reader_free(r);
        return NULL;
    }
    struct stat st;
    if (fstat(r->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "%s: %s is not a regular file",
                    r->name, r->path);
        reader_free(r);
        return NULL;
    }
    if ((uint64_t)st.st_size < sizeof(ShmSegmentHeader)) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_TRUNCATED,
                    "%s: segment size %" PRIu64 " smaller than the header (%zu bytes)", r->name,
                    (uint64_t)st.st_size, sizeof(ShmSegmentHeader));
        reader_free(r);
        return NULL;
    }
    if ((uint64_t)st.st_size > SHM_SEGMENT_MAX) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_RANGE,
                    "%s: segment size 0x%" PRIx64 " exceeds the limit 0x%" PRIx64, r->name,
                    (uint64_t)st.st_size, SHM_SEGMENT_MAX);
        reader_free(r);
        return NULL;
    }
    r->dev = st.st_dev;
    r->ino = st.st_ino;
    r->size = (size_t)st.st_size;
    void *p = mmap(NULL, r->size, PROT_READ, MAP_SHARED, r->fd, 0);
    if (p == MAP_FAILED) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "%s: mmap: %s", r->name, g_strerror(errno));
        reader_free(r);
        return NULL;
    }
    r->base = p;
    r->hdr = p;

    /* Check a private copy: the writer (or anyone) may change the original. */
    ShmSegmentHeader h;
    memcpy(&h, r->base, sizeof(h));
    if (!check_size(r, errp) || !check_header(r, &h, errp)) {
        reader_free(r);
        return NULL;
    }
    r->max_devices = h.max_devices;
    r->data_offset = h.data_offset;
    r->dir = (const ShmDirEntry *)(r->base + h.dir_offset);
    r->owner_pid = h.owner_pid;
    r->owner_start_time = h.owner_start_time;
    r->owner_fd = owner_pidfd_open(h.owner_pid);
    owner_checked(r);
    return r;
}

const char *shm_reader_host(const ShmReader *r) { return r->host; }
const char *shm_reader_path(const ShmReader *r) { return r->path; }
const void *shm_reader_base(const ShmReader *r) { return r->base; }
size_t shm_reader_size(const ShmReader *r) { return r->size; }

ShmOwnerState shm_reader_owner(ShmReader *r)
{
    if (check_size(r, NULL) &&
        atomic_load_explicit(&r->hdr->state, memory_order_acquire) == SHM_STATE_CLOSED) {
        return SHM_OWNER_CLOSED;
    }
    return owner_checked(r) ? SHM_OWNER_DEAD : SHM_OWNER_ALIVE;
}

int shm_reader_owner_fd(const ShmReader *r)
{
    return r->owner_fd;
}

bool shm_reader_replaced(ShmReader *r)
{
    struct stat st;
    if (fstatat(r->dirfd, r->name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        return true;
    }
    return st.st_dev != r->dev || st.st_ino != r->ino;
}

bool shm_reader_host_info(ShmReader *r, ShmHostInfo *out, GError **errp)
{
    if (!check_size(r, errp)) {
        return false;
    }
    memset(out, 0, sizeof(*out));
    g_strlcpy(out->host, r->host, sizeof(out->host));
    out->owner_pid = r->owner_pid;
    out->owner = shm_reader_owner(r);
    out->segment_size = r->size;
    out->max_devices = r->max_devices;
    out->data_offset = r->data_offset;
    const ShmSegmentHeader *h = r->hdr;
    out->device_count = atomic_load_explicit(&h->device_count, memory_order_relaxed);
    out->generation = atomic_load_explicit(&h->generation, memory_order_acquire) >> 1;
    out->created_ns = h->created_ns;
    out->heartbeat_ns = atomic_load_explicit(&h->heartbeat_ns, memory_order_relaxed);
    out->data_used = atomic_load_explicit(&h->data_used, memory_order_relaxed);
    return true;
}

bool shm_reader_generation(ShmReader *r, uint64_t *generation, GError **errp)
{
    if (!check_size(r, errp)) {
        return false;
    }
    *generation = atomic_load_explicit(&r->hdr->generation, memory_order_acquire) >> 1;
    return true;
}

uint64_t shm_reader_updates(const ShmReader *r, uint32_t slot)
{
    if (slot >= r->max_devices) {
        return 0;
    }
    return atomic_load_explicit(&r->dir[slot].updates, memory_order_relaxed);
}

void shm_reader_set_max_retries(ShmReader *r, unsigned max_retries)
{
    r->max_retries = max_retries;
}

void shm_reader_get_stats(ShmReader *r, ShmReaderStats *out)
{
    out->snapshots = atomic_load_explicit(&r->snapshots, memory_order_relaxed);
    out->retries = atomic_load_explicit(&r->retries, memory_order_relaxed);
    out->failures = atomic_load_explicit(&r->failures, memory_order_relaxed);
}

/* ---- directory entries ------------------------------------------------- */

/*
 * [offset, offset + size + extra) must lie in the data area; extra is 1 for
 * a description's NUL.  Written so that no sum can overflow.
 */
static bool check_region(const ShmReader *r, uint32_t slot, const char *what,
                         uint64_t offset, uint64_t size, uint64_t extra, GError **errp)
{
    if (offset < r->data_offset) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "%s: device %u: %s offset 0x%" PRIx64 " inside the header or directory "
                    "(data area starts at 0x%" PRIx64 ")", r->name, slot, what, offset,
                    r->data_offset);
        return false;
    }
    if (size > r->size || extra > r->size - size || offset > r->size - size - extra) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "%s: device %u: %s offset 0x%" PRIx64 " + %s %" PRIu64 "%s beyond "
                    "segment size 0x%zx", r->name, slot, what, offset,
                    extra ? "length" : "size", size, extra ? " (and its NUL)" : "", r->size);
        return false;
    }
    return true;
}

static bool type_name_ok(const char *type)
{
    if (!type[0]) {
        return false;
    }
    for (const char *p = type; *p; p++) {
        if (!g_ascii_isprint(*p)) {
            return false;
        }
    }
    return true;
}

/*
 * Check one entry in a private copy: flag, names, and that its state and
 * description lie in the data area.  Touches nothing in the mapping.
 */
static bool check_entry(const ShmReader *r, uint32_t slot, const ShmDirEntry *e, GError **errp)
{
    if (e->in_use != 1) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "%s: device %u: in-use flag %u invalid",
                    r->name, slot, e->in_use);
        return false;
    }
    if (!memchr(e->id, 0, sizeof(e->id))) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "%s: device %u: id not NUL-terminated",
                    r->name, slot);
        return false;
    }
    if (!shm_device_id_valid(e->id)) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "%s: device %u: invalid id (empty or not from [A-Za-z0-9._:@-])",
                    r->name, slot);
        return false;
    }
    if (!memchr(e->type, 0, sizeof(e->type))) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "%s: device %u: type name not NUL-terminated", r->name, slot);
        return false;
    }
    if (!type_name_ok(e->type)) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "%s: device %u: invalid type name (empty or not printable)", r->name, slot);
        return false;
    }
    if (e->state_size == 0) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "%s: device %u: state size 0",
                    r->name, slot);
        return false;
    }
    if (!check_region(r, slot, "state", e->state_offset, e->state_size, 0, errp)) {
        return false;
    }
    if ((e->desc_offset || e->desc_length) &&
        !check_region(r, slot, "description", e->desc_offset, e->desc_length, 1, errp)) {
        return false;
    }
    return true;
}

/* A region of the data area some entry claims, for the overlap check. */
typedef struct Region {
    uint64_t start, end;
    uint32_t slot;
    const char *what;
} Region;

static int compare_regions(gconstpointer a, gconstpointer b)
{
    const Region *x = a, *y = b;
    if (x->start != y->start) {
        return x->start < y->start ? -1 : 1;
    }
    return x->slot < y->slot ? -1 : x->slot > y->slot;
}

/*
 * Check a private copy of the whole directory: every in-use entry, unique
 * ids, no two regions overlapping, the device count.  Reads each
 * description's terminating NUL from the mapping (bounds checked first);
 * the caller re-checks the directory seqlock afterwards.
 */
static bool check_directory(ShmReader *r, const ShmDirEntry *dir, uint32_t count,
                            GError **errp)
{
    g_autoptr(GHashTable) ids = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GArray) regions = g_array_new(false, false, sizeof(Region));
    uint32_t in_use = 0;
    for (uint32_t i = 0; i < r->max_devices; i++) {
        const ShmDirEntry *e = &dir[i];
        if (e->in_use == 0) {
            continue;
        }
        if (!check_entry(r, i, e, errp)) {
            return false;
        }
        gpointer other;
        if (g_hash_table_lookup_extended(ids, e->id, NULL, &other)) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                        "%s: device %u: id '%s' already used by device %u", r->name, i, e->id,
                        GPOINTER_TO_UINT(other));
            return false;
        }
        g_hash_table_insert(ids, (gpointer)e->id, GUINT_TO_POINTER(i));
        if ((e->desc_offset || e->desc_length) &&
            r->base[e->desc_offset + e->desc_length] != '\0') {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                        "%s: device %u: description not NUL-terminated", r->name, i);
            return false;
        }
        Region st = { e->state_offset, e->state_offset + e->state_size, i, "state" };
        g_array_append_val(regions, st);
        if (e->desc_offset || e->desc_length) {
            Region de = { e->desc_offset, e->desc_offset + e->desc_length + 1, i, "description" };
            g_array_append_val(regions, de);
        }
        in_use++;
    }
    if (count > r->max_devices) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "%s: device count %u exceeds capacity %u",
                    r->name, count, r->max_devices);
        return false;
    }
    if (count != in_use) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "%s: device count %u but %u directory entries in use", r->name, count, in_use);
        return false;
    }
    g_array_sort(regions, compare_regions);
    const Region *widest = NULL;     /* the region reaching furthest so far */
    for (guint i = 0; i < regions->len; i++) {
        const Region *x = &g_array_index(regions, Region, i);
        if (widest && x->start < widest->end) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                        "%s: device %u: %s [0x%" PRIx64 ", 0x%" PRIx64 ") overlaps device %u "
                        "%s [0x%" PRIx64 ", 0x%" PRIx64 ")", r->name, x->slot, x->what,
                        x->start, x->end, widest->slot, widest->what, widest->start,
                        widest->end);
            return false;
        }
        if (!widest || x->end > widest->end) {
            widest = x;
        }
    }
    return true;
}

static void info_from_entry(ShmDeviceInfo *info, uint32_t slot, const ShmDirEntry *e)
{
    memset(info, 0, sizeof(*info));
    info->slot = slot;
    g_strlcpy(info->id, e->id, sizeof(info->id));
    g_strlcpy(info->type, e->type, sizeof(info->type));
    info->instance_id = e->instance_id;
    info->version_id = e->version_id;
    info->state_offset = e->state_offset;
    info->state_size = e->state_size;
    info->desc_offset = e->desc_offset;
    info->desc_length = e->desc_length;
    info->generation = atomic_load_explicit(&e->updates, memory_order_relaxed);
    info->seq = atomic_load_explicit(&e->seq, memory_order_relaxed);
}

/*
 * Start of an attempt: count the retry, give up past max_retries, pause,
 * and re-check the file now and then.  False (error set) means stop.  id
 * names the device whose state is read, NULL when only the directory is.
 */
static bool next_attempt(ShmReader *r, unsigned attempt, const char *id, GError **errp)
{
    if (attempt == 0) {
        return true;
    }
    if (attempt > r->max_retries) {
        atomic_fetch_add_explicit(&r->failures, 1, memory_order_relaxed);
        if (id) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_FAILED,
                        "%s: device '%s': state kept changing (%u retries)", r->name, id,
                        r->max_retries);
        } else {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_FAILED,
                        "%s: directory kept changing (%u retries)", r->name, r->max_retries);
        }
        return false;
    }
    atomic_fetch_add_explicit(&r->retries, 1, memory_order_relaxed);
    retry_pause(attempt);
    return (attempt & 63) != 0 || check_access(r, errp);
}

GArray *shm_reader_list(ShmReader *r, GError **errp)
{
    if (!check_access(r, errp)) {
        return NULL;
    }
    g_autofree ShmDirEntry *copy = g_new(ShmDirEntry, r->max_devices);
    const ShmSegmentHeader *h = r->hdr;
    for (unsigned attempt = 0;; attempt++) {
        if (!next_attempt(r, attempt, NULL, errp)) {
            return NULL;
        }
        uint64_t g1 = atomic_load_explicit(&h->generation, memory_order_acquire);
        if (g1 & 1) {
            continue;
        }
        memcpy(copy, r->dir, r->max_devices * sizeof(ShmDirEntry));
        uint32_t count = atomic_load_explicit(&h->device_count, memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&h->generation, memory_order_relaxed) != g1) {
            continue;
        }
        GError *err = NULL;
        bool ok = check_directory(r, copy, count, &err);
        /* The NULs checked above were read from the mapping: still the same directory? */
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&h->generation, memory_order_relaxed) != g1) {
            g_clear_error(&err);
            continue;
        }
        if (!ok) {
            g_propagate_error(errp, err);
            return NULL;
        }
        GArray *out = g_array_new(false, false, sizeof(ShmDeviceInfo));
        for (uint32_t i = 0; i < r->max_devices; i++) {
            if (copy[i].in_use) {
                ShmDeviceInfo info;
                info_from_entry(&info, i, &copy[i]);
                g_array_append_val(out, info);
            }
        }
        return out;
    }
}

/*
 * Find `id` in the live directory and copy its entry.  The caller holds a
 * directory generation g read before and checks it after.  Returns the
 * slot, or -1 if no in-use entry has that id.
 */
static int64_t find_entry(const ShmReader *r, const char *id, ShmDirEntry *out)
{
    for (uint32_t i = 0; i < r->max_devices; i++) {
        const ShmDirEntry *e = &r->dir[i];
        if (e->in_use == 1 && strncmp(e->id, id, sizeof(e->id)) == 0) {
            memcpy(out, e, sizeof(*out));
            return i;
        }
    }
    return -1;
}

/*
 * Locate and check the entry of `id` under the directory seqlock.  Returns
 * 1 with *slot, *entry and *gen set; 0 if the directory moved (retry); -1
 * with an error.
 */
static int locate(ShmReader *r, const char *id, uint32_t *slot, ShmDirEntry *entry,
                  uint64_t *gen, GError **errp)
{
    const ShmSegmentHeader *h = r->hdr;
    uint64_t g = atomic_load_explicit(&h->generation, memory_order_acquire);
    if (g & 1) {
        return 0;
    }
    int64_t found = find_entry(r, id, entry);
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&h->generation, memory_order_relaxed) != g) {
        return 0;
    }
    if (found < 0) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_NOT_FOUND, "%s: no device '%s'", r->name, id);
        return -1;
    }
    if (!check_entry(r, (uint32_t)found, entry, errp)) {
        return -1;
    }
    if (strcmp(entry->id, id) != 0) {
        return 0;   /* changed between the compare and the copy: only a rogue writer */
    }
    *slot = (uint32_t)found;
    *gen = g;
    return 1;
}

/*
 * The seqlock read shared by snapshots and in-place reads: with buf, copy
 * the state into it; otherwise call fn.
 */
static bool read_device(ShmReader *r, const char *id, void *buf, size_t buf_size,
                        ShmReadFunc fn, void *opaque, ShmDeviceInfo *info, GError **errp)
{
    if (!check_access(r, errp)) {
        return false;
    }
    const ShmSegmentHeader *h = r->hdr;
    ShmDirEntry e;
    uint32_t slot = 0;
    uint64_t gen = 0;
    /*
     * Not a sentinel generation: a segment's generation can be any value
     * (1 while its first directory change is under way, or left so by a
     * writer that died), and an entry must be located before it is used.
     */
    bool located = false;
    unsigned calls = 0;
    for (unsigned attempt = 0;; attempt++) {
        /* Say which of the two kept changing, should the retries run out. */
        if (!next_attempt(r, attempt, located ? id : NULL, errp)) {
            return false;
        }
        if (!located || gen != atomic_load_explicit(&h->generation, memory_order_acquire)) {
            int rc = locate(r, id, &slot, &e, &gen, errp);
            if (rc < 0) {
                return false;
            }
            located = rc > 0;
            if (!located) {
                continue;
            }
            if (buf && e.state_size > buf_size) {
                g_set_error(errp, VMS_ERROR, VMS_ERROR_RANGE,
                            "%s: device '%s': state of %" PRIu64 " bytes does not fit a "
                            "buffer of %zu bytes", r->name, id, e.state_size, buf_size);
                return false;
            }
        }
        const ShmDirEntry *live = &r->dir[slot];
        uint64_t s1 = atomic_load_explicit(&live->seq, memory_order_acquire);
        if (s1 & 1) {
            continue;
        }
        ShmDeviceInfo di;
        info_from_entry(&di, slot, &e);
        /* Written inside the writer's section: consistent with the state if s2 == s1. */
        di.generation = atomic_load_explicit(&live->updates, memory_order_relaxed);
        di.seq = s1;
        bool ok = true;
        GError *err = NULL;
        if (buf) {
            memcpy(buf, r->base + e.state_offset, e.state_size);
        } else {
            ShmView view = {
                .base = r->base, .size = r->size, .data_offset = r->data_offset,
                .state = r->base + e.state_offset, .state_size = e.state_size,
                .info = &di, .attempt = calls++, .seq_ = &live->seq, .seq_start_ = s1,
            };
            ok = fn(&view, opaque, &err);
        }
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&live->seq, memory_order_relaxed) != s1 ||
            atomic_load_explicit(&h->generation, memory_order_relaxed) != gen) {
            g_clear_error(&err);
            continue;
        }
        if (!ok) {
            if (err) {
                g_prefix_error(&err, "%s: device '%s': ", r->name, id);
                g_propagate_error(errp, err);
            } else {
                g_set_error(errp, VMS_ERROR, VMS_ERROR_FAILED,
                            "%s: device '%s': read failed", r->name, id);
            }
            return false;
        }
        atomic_fetch_add_explicit(&r->snapshots, 1, memory_order_relaxed);
        if (info) {
            *info = di;
        }
        return true;
    }
}

bool shm_reader_snapshot_into(ShmReader *r, const char *id, void *buf, size_t buf_size,
                              ShmDeviceInfo *info, GError **errp)
{
    g_return_val_if_fail(buf != NULL, false);
    return read_device(r, id, buf, buf_size, NULL, NULL, info, errp);
}

/* shm_reader_snapshot's callback: the size is known only once located. */
static bool copy_state(const ShmView *view, void *opaque, GError **errp)
{
    GByteArray *copy = opaque;
    /* Checked against the segment when located; a GByteArray holds a guint. */
    if (view->state_size > view->size || view->state_size > G_MAXUINT) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_RANGE, "state size %" PRIu64 " out of range",
                    (uint64_t)view->state_size);
        return false;
    }
    g_byte_array_set_size(copy, (guint)view->state_size);
    memcpy(copy->data, view->state, view->state_size);
    return true;
}

bool shm_reader_snapshot(ShmReader *r, const char *id, ShmDeviceInfo *info, GBytes **state,
                         GError **errp)
{
    GByteArray *copy = g_byte_array_new();
    if (!read_device(r, id, NULL, 0, copy_state, copy, info, errp)) {
        g_byte_array_unref(copy);
        return false;
    }
    *state = g_byte_array_free_to_bytes(copy);
    return true;
}

bool shm_reader_read(ShmReader *r, const char *id, ShmReadFunc fn, void *opaque,
                     ShmDeviceInfo *info, GError **errp)
{
    g_return_val_if_fail(fn != NULL, false);
    return read_device(r, id, NULL, 0, fn, opaque, info, errp);
}

bool shm_reader_description(ShmReader *r, const char *id, char **text, GError **errp)
{
    if (!check_access(r, errp)) {
        return false;
    }
    const ShmSegmentHeader *h = r->hdr;
    for (unsigned attempt = 0;; attempt++) {
        if (!next_attempt(r, attempt, NULL, errp)) {
            return false;
        }
        ShmDirEntry e;
        uint32_t slot;
        uint64_t gen;
        int rc = locate(r, id, &slot, &e, &gen, errp);
        if (rc < 0) {
            return false;
        }
        if (rc == 0) {
            continue;
        }
        if (!e.desc_offset && !e.desc_length) {
            *text = NULL;
            return true;
        }
        g_autofree char *copy = g_malloc(e.desc_length + 1);
        memcpy(copy, r->base + e.desc_offset, e.desc_length + 1);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&h->generation, memory_order_relaxed) != gen) {
            continue;
        }
        const char *nul = memchr(copy, 0, e.desc_length + 1);
        if (nul != copy + e.desc_length) {
            if (nul) {
                g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                            "%s: device %u: description has a NUL byte at offset 0x%" PRIx64,
                            r->name, slot, e.desc_offset + (uint64_t)(nul - copy));
            } else {
                g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                            "%s: device %u: description not NUL-terminated", r->name, slot);
            }
            return false;
        }
        *text = g_steal_pointer(&copy);
        return true;
    }
}

/* ---- views ----------------------------------------------------------------- */

const void *shm_view_resolve(const ShmView *view, uint64_t offset, uint64_t len,
                             GError **errp)
{
    if (offset < view->data_offset) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "offset 0x%" PRIx64 " inside the header or directory (data area starts "
                    "at 0x%" PRIx64 ")", offset, view->data_offset);
        return NULL;
    }
    if (len > view->size || offset > view->size - len) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "offset 0x%" PRIx64 " + size %" PRIu64 " beyond segment size 0x%" PRIx64,
                    offset, len, view->size);
        return NULL;
    }
    return view->base + offset;
}

bool shm_view_changed(const ShmView *view)
{
    return atomic_load_explicit(view->seq_, memory_order_acquire) != view->seq_start_;
}

/*
 * Shared-memory segments: how a device host publishes device state and how
 * the agent reads it, without the host ever waiting for a reader.
 *
 * The model is Varnish's shared-memory log and statistics: one process
 * writes a file-backed mapping, any number of others map it read-only and
 * look; the writer takes no lock a reader could hold and never blocks.
 *
 * One segment per device host, the file DIR/vmscope-<host>; DIR is
 * /dev/shm by default, so the segment is exactly the POSIX shared memory
 * object shm_open("/vmscope-<host>") names (glibc's shm_open opens
 * /dev/shm/<name>).  We open it with openat() on a directory descriptor
 * instead, so that the same code serves the agent's --shm-dir and so that
 * a segment can be built under a temporary name and published whole with
 * linkat(): a reader never sees a half-initialised segment.
 *
 * Layout (native byte order; all offsets are from the start of the segment,
 * every "pointer" inside a segment is such an offset, 0 meaning none; the
 * structs are ShmSegmentHeader and ShmDirEntry in lib/shm/shm-segment-impl.h,
 * private to this module: other code asks the reader or the writer):
 *
 *     0            ShmSegmentHeader (256 bytes)
 *     dir_offset   ShmDirEntry[max_devices] (256 bytes each); dir_offset
 *                  is header_size
 *     data_offset  the data area, up to segment_size: device states,
 *                  description texts and heap blocks, all carved out by
 *                  the writer's allocator in 64-byte units (so two
 *                  devices' states never share a cache line);
 *                  data_offset = dir_offset + max_devices * entry_size
 *
 * The writer's allocator keeps its bookkeeping in the writer's private
 * memory: nothing a reader could corrupt, nothing a reader needs.
 *
 * Seqlocks.  Two sequence counters, both even when stable and odd while
 * the writer changes what they guard:
 *   - header.generation guards the directory (adding or removing a device);
 *     generation / 2 is the number of directory changes so far;
 *   - entry.seq guards one device's state and everything reachable from it
 *     through segment-relative pointers (heap blocks).  A slot's seq only
 *     ever grows, across remove and re-add, so a reader that raced with a
 *     removal always notices.  entry.updates counts the device's completed
 *     updates since it was added (the "generation" the agent reports).
 *
 * Writer (why this is correct, in C11 terms):
 *     begin: seq = s + 1 (relaxed); atomic_thread_fence(release)
 *            -> the odd value is ordered before every following data store
 *     ...plain stores to the state and its heap blocks...
 *     end:   updates += 1 (relaxed); seq = s + 2 (release store)
 *            -> every data store is ordered before the even value
 * Reader:
 *     s1 = seq (acquire load); odd -> retry
 *     copy the state (or walk it)
 *     atomic_thread_fence(acquire)  -> the copy is ordered before s2
 *     s2 = seq (relaxed); s1 != s2 -> discard the copy, retry
 * If the copy saw any store of an update, that store follows the update's
 * odd seq store (release fence), so the acquire fence makes the reader's
 * second load see that odd value or a later one: s2 != s1.  If s1 == s2,
 * the copy saw no store of any update that started after s1 and all stores
 * of those that ended before: a consistent state.  The copy itself races
 * with the writer (plain memcpy, as the Linux kernel's seqcount does); its
 * result is only used when the sequence proves no writer interfered.  The
 * counters are lock-free 8-byte atomics (checked at compile time), which
 * makes them address-free and so valid between processes.  A snapshot also
 * re-checks header.generation, so a device removed (and its memory reused)
 * during the copy is noticed too.
 *
 * Rules for the writer (the reader can only be right if these hold):
 *   - every store to a device's state, or to heap memory reachable from
 *     it, happens between shm_device_begin_update and shm_device_end_update
 *     of that device;
 *   - a heap block reachable from a device's state is freed only inside an
 *     update of that device, after it has been unlinked from the state;
 *   - one thread at a time updates a given device (different devices may be
 *     updated from different threads; add/remove/alloc/free are locked
 *     internally);
 *   - the writer never truncates or shrinks a live segment (it is only
 *     ever unlinked), and it reserves the file's blocks at creation
 *     (posix_fallocate), so neither side can hit SIGBUS on a full tmpfs.
 *
 * Readers trust nothing.  The reader maps the file O_RDONLY + PROT_READ
 * (a write through the mapping faults; mprotect to PROT_WRITE fails), takes
 * the layout (sizes, offsets, capacity) from the header once at open after
 * checking it, and never re-reads those fields.  Each directory entry is
 * copied out under the directory seqlock and checked in that private copy
 * (in-use flag, NUL-terminated names, offset and size inside the data area
 * without overflow) before any offset in it is used, so a hostile writer
 * changing the entry afterwards cannot move the reader out of bounds; a
 * listing checks the whole directory too (ids unique, states and
 * descriptions not overlapping, descriptions NUL-terminated, device count
 * matching the entries in use).  Bad segments give an error naming the host and what is
 * wrong: "vmscope-foo: device 3: state offset 0x10000 + size 64 beyond
 * segment size 0x8000".
 *
 * SIGBUS.  Touching a page of a mapping beyond the end of its file raises
 * SIGBUS.  The reader maps exactly the file size it checked against the
 * header, and before every access (each API call, and every few retries)
 * it re-checks the file size with fstat and refuses with "segment file
 * shrank" if the file got shorter.  The writer never shrinks a segment, so
 * only a third process with write access truncating the file between that
 * fstat and the access could still fault the reader; that is outside what
 * the reader can prevent without a process-wide signal handler.
 *
 * Owners.  The header holds the owner's pid and its start time (from
 * /proc/PID/stat).  The reader calls a segment's owner dead when
 * kill(pid, 0) fails with ESRCH or the pid now belongs to a process that
 * started at another time; a dead or closed (destroyed) segment is opened
 * and reported but not trusted: every read of it fails.  The writer holds
 * an exclusive flock() on its segment for its lifetime; creating a segment
 * whose name exists replaces it only if nobody holds that lock (the old
 * owner is gone), and otherwise fails naming the live pid.
 *
 * Threads: a ShmReader may be used from several threads at once (its only
 * mutable state is atomic counters).  A ShmWriter: see the rules above.
 *
 * Errors: GError in VMS_ERROR; every message starts with "vmscope-<host>: ".
 */
#ifndef VMSCOPE_SHM_SEGMENT_H
#define VMSCOPE_SHM_SEGMENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#define SHM_DEFAULT_DIR "/dev/shm"
#define SHM_NAME_PREFIX "vmscope-"
#define SHM_HOST_SIZE 64               /* host names: 1..63 bytes */
#define SHM_ID_SIZE 64                 /* device ids: 1..63 bytes */
#define SHM_TYPE_SIZE 64               /* device type names: 1..63 bytes */
#define SHM_ALIGN 64                   /* allocation unit in the data area */
#define SHM_MAX_DEVICES_LIMIT 4096     /* largest max_devices accepted */
#define SHM_SEGMENT_MAX (UINT64_C(1) << 30) /* largest segment accepted */

/* ---- Names and discovery ---------------------------------------------- */

/*
 * Host names: 1 to 63 characters from [A-Za-z0-9._-], not starting with
 * '.'.  Device ids: 1 to 63 characters from [A-Za-z0-9._:@-].  Type names:
 * 1 to 63 printable ASCII characters.
 */
bool shm_host_name_valid(const char *host, GError **errp);
bool shm_device_id_valid(const char *id);

/* "DIR/vmscope-HOST" (DIR NULL: SHM_DEFAULT_DIR); g_free it. */
char *shm_segment_path(const char *dir, const char *host);

/*
 * The hosts that have a segment in DIR (NULL: SHM_DEFAULT_DIR): regular
 * files named vmscope-<valid host name>, sorted by name.  Returns a
 * GPtrArray of g_malloc'd strings that frees them, or NULL with an error.
 */
GPtrArray *shm_segment_list(const char *dir, GError **errp);

/* ---- Sizing ------------------------------------------------------------ */

/*
 * What to pass to shm_writer_create: the data area is carved in SHM_ALIGN
 * units, so an allocation of n bytes (a state, a description with its NUL,
 * a heap block) takes shm_block_size(n); a segment for max_devices devices
 * whose allocations add up to data_size takes shm_segment_size(max_devices,
 * data_size).  Both saturate at SIZE_MAX (which shm_writer_create refuses).
 */
size_t shm_block_size(size_t n);
size_t shm_segment_size(uint32_t max_devices, size_t data_size);

/* ---- Writer (device host) ---------------------------------------------- */

typedef struct ShmWriter ShmWriter;
typedef struct ShmDevice ShmDevice;

/*
 * Create and publish the segment of HOST in DIR (NULL: SHM_DEFAULT_DIR).
 * segment_size is rounded up to the page size; it must hold the header,
 * max_devices directory entries and some data area.  An existing segment
 * whose owner is gone is replaced; a live one is refused:
 * "vmscope-foo: segment in use by live pid 1234".
 */
ShmWriter *shm_writer_create(const char *dir, const char *host, size_t segment_size,
                             uint32_t max_devices, GError **errp);
/*
 * Mark the segment closed, unmap it and unlink it; false with an error if
 * the unlink failed ("vmscope-foo: cannot unlink /dev/shm/vmscope-foo: ..."),
 * the writer is freed all the same.  NULL is fine.
 */
bool shm_writer_close(ShmWriter *w, GError **errp);
/* shm_writer_close for cleanups that cannot report (the autoptr's). */
void shm_writer_destroy(ShmWriter *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ShmWriter, shm_writer_destroy)

const char *shm_writer_host(const ShmWriter *w);
const char *shm_writer_path(const ShmWriter *w);
void *shm_writer_base(const ShmWriter *w);            /* the read-write mapping */
size_t shm_writer_size(const ShmWriter *w);           /* segment size (rounded) */
/* Store the current CLOCK_REALTIME in header.heartbeat_ns. */
void shm_writer_heartbeat(ShmWriter *w);

/*
 * Add a device: a directory entry, a zeroed state area of state_size
 * bytes (>= 1) and, if description is not NULL, a copy of the text (the
 * JSON form of its VMState description; opaque here).  The device is
 * visible to readers when this returns.  The handle stays valid until
 * shm_writer_remove_device or shm_writer_destroy.
 */
ShmDevice *shm_writer_add_device(ShmWriter *w, const char *id, const char *type,
                                 uint32_t instance_id, uint32_t version_id,
                                 const char *description, size_t state_size,
                                 GError **errp);
/* Unpublish the device and free its state and description. */
void shm_writer_remove_device(ShmWriter *w, ShmDevice *dev);

void *shm_device_state(const ShmDevice *dev);         /* zeroed at add */
size_t shm_device_state_size(const ShmDevice *dev);
uint64_t shm_device_state_offset(const ShmDevice *dev);
const char *shm_device_id(const ShmDevice *dev);
uint64_t shm_device_updates(const ShmDevice *dev);

/* Bracket every change of the device's state (and heap data it reaches). */
void shm_device_begin_update(ShmDevice *dev);
void shm_device_end_update(ShmDevice *dev);

/*
 * Heap: a zeroed block of at least size bytes (64-byte aligned) in the data
 * area.  Returns its segment offset, or 0 with an error
 * ("vmscope-foo: heap: out of space for 4096 bytes (largest free block 1024
 * bytes)").  Free only offsets alloc returned.
 */
uint64_t shm_heap_alloc(ShmWriter *w, size_t size, GError **errp);
bool shm_heap_free(ShmWriter *w, uint64_t offset, GError **errp);
/* Offset <-> pointer in the writer's mapping (offset 0 <-> NULL). */
void *shm_writer_ptr(const ShmWriter *w, uint64_t offset);
uint64_t shm_writer_offset(const ShmWriter *w, const void *ptr);

/* ---- Reader (agent) ---------------------------------------------------- */

typedef struct ShmReader ShmReader;

typedef enum ShmOwnerState {
    SHM_OWNER_ALIVE,
    SHM_OWNER_DEAD,      /* the owner pid is gone (or reused by another process) */
    SHM_OWNER_CLOSED,    /* the owner destroyed the segment */
} ShmOwnerState;

typedef struct ShmHostInfo {
    char host[SHM_HOST_SIZE];
    int32_t owner_pid;
    ShmOwnerState owner;
    uint64_t segment_size;
    uint32_t max_devices;
    uint32_t device_count;        /* as last published; informative */
    uint64_t generation;          /* directory changes so far */
    uint64_t created_ns;
    uint64_t heartbeat_ns;
    uint64_t data_offset;
    uint64_t data_used;           /* informative */
} ShmHostInfo;

typedef struct ShmDeviceInfo {
    uint32_t slot;                /* directory index */
    char id[SHM_ID_SIZE];
    char type[SHM_TYPE_SIZE];
    uint32_t instance_id;
    uint32_t version_id;
    uint64_t state_offset;
    uint64_t state_size;
    uint64_t desc_offset;
    uint64_t desc_length;
    uint64_t generation;          /* entry.updates: consistent with the state read */
    uint64_t seq;                 /* the (even) sequence the state was read at */
} ShmDeviceInfo;

typedef struct ShmReaderStats {
    uint64_t snapshots;           /* successful snapshots and reads */
    uint64_t retries;             /* attempts thrown away: writer busy or moved */
    uint64_t failures;            /* gave up: "state kept changing" */
} ShmReaderStats;

/*
 * Map HOST's segment in DIR (NULL: SHM_DEFAULT_DIR) read-only and check its
 * header.  A segment whose owner is dead opens (so it can be reported);
 * every read of it then fails.
 */
ShmReader *shm_reader_open(const char *dir, const char *host, GError **errp);
void shm_reader_close(ShmReader *r);                  /* NULL is fine */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ShmReader, shm_reader_close)

const char *shm_reader_host(const ShmReader *r);
const char *shm_reader_path(const ShmReader *r);
/* The read-only mapping and its size (to check protections, or to walk). */
const void *shm_reader_base(const ShmReader *r);
size_t shm_reader_size(const ShmReader *r);

/*
 * Is the owner alive?  Dead means ended, whether or not its parent reaped
 * it (a zombie is dead), or its pid reused by another process (start time).
 */
ShmOwnerState shm_reader_owner(ShmReader *r);
/*
 * A descriptor that becomes readable (POLLIN) once the owner has ended,
 * reaped or not: its pidfd, for a main loop to watch (then call
 * shm_reader_owner).  -1 where the kernel has no pidfd_open (Linux < 5.3):
 * poll shm_reader_owner instead, which reads /proc/PID/stat and so sees a
 * zombie too.  Owned by the reader.
 */
int shm_reader_owner_fd(const ShmReader *r);
/* True if DIR/vmscope-HOST is now another file, or gone (the host restarted). */
bool shm_reader_replaced(ShmReader *r);
/* Header fields; only the file-size check can fail. */
bool shm_reader_host_info(ShmReader *r, ShmHostInfo *out, GError **errp);
/*
 * Directory changes so far (cheap: poll it to notice devices coming and
 * going).  Fails only if the file shrank.
 */
bool shm_reader_generation(ShmReader *r, uint64_t *generation, GError **errp);

/*
 * The update counter of the device listed in directory slot `slot`
 * (ShmDeviceInfo.slot), read in place: one atomic load, so that a poll can
 * tell which devices changed without copying anything.  It does not
 * re-check the file size (an fstat per device would cost more than the
 * load): call it after a call that did, shm_reader_generation for instance,
 * in the same poll.  A slot beyond the directory reads as 0.
 */
uint64_t shm_reader_updates(const ShmReader *r, uint32_t slot);

/* Retries before a read gives up (default 100000). */
void shm_reader_set_max_retries(ShmReader *r, unsigned max_retries);
void shm_reader_get_stats(ShmReader *r, ShmReaderStats *out);

/*
 * The devices, in slot order: a consistent copy of the directory, every
 * entry checked.  Returns a GArray of ShmDeviceInfo (generation and seq as
 * of listing), or NULL with an error.
 */
GArray *shm_reader_list(ShmReader *r, GError **errp);

/* A copy of the device's description text (NULL if it has none). */
bool shm_reader_description(ShmReader *r, const char *id, char **text, GError **errp);

/*
 * Copy the device's state under its seqlock, retrying until the copy is
 * consistent.  info (may be NULL) gets the entry and the generation that
 * goes with the copy.  _into copies into a caller's buffer of at least
 * state_size bytes.
 */
bool shm_reader_snapshot(ShmReader *r, const char *id, ShmDeviceInfo *info,
                         GBytes **state, GError **errp);
bool shm_reader_snapshot_into(ShmReader *r, const char *id, void *buf, size_t buf_size,
                              ShmDeviceInfo *info, GError **errp);

/*
 * Read in place: what a read callback sees.  base/size is the whole
 * read-only mapping; state points into it.  Data reached through
 * segment-relative pointers must be resolved with shm_view_resolve.
 */
typedef struct ShmView {
    const uint8_t *base;
    uint64_t size;                /* segment size */
    uint64_t data_offset;         /* pointers must point at or after this */
    const void *state;            /* base + info->state_offset */
    uint64_t state_size;
    const ShmDeviceInfo *info;
    unsigned attempt;             /* 0 on the first call, then 1, 2, ... */
    const _Atomic uint64_t *seq_;  /* private */
    uint64_t seq_start_;          /* private */
} ShmView;

/*
 * Call fn on the live mapping between the two sequence reads, and again
 * (attempt + 1) whenever the sequence moved: fn must start afresh on each
 * call, and everything it read is trustworthy only once shm_reader_read
 * returns true.  If fn fails while the sequence moved, its error is thrown
 * away and it is called again (torn data may look broken); if it fails on
 * a stable sequence, shm_reader_read fails with its error prefixed by
 * "vmscope-<host>: device '<id>': ".  Torn data can hold any value, so fn
 * must bound every loop by what fits in the segment; it may call
 * shm_view_changed to give up early.
 */
typedef bool (*ShmReadFunc)(const ShmView *view, void *opaque, GError **errp);
bool shm_reader_read(ShmReader *r, const char *id, ShmReadFunc fn, void *opaque,
                     ShmDeviceInfo *info, GError **errp);

/*
 * The bytes [offset, offset + len) of the segment, or NULL with an error if
 * they are not inside the data area: "offset 0x9000 + size 16 beyond segment
 * size 0x8000", "offset 0x40 inside the header or directory (data area
 * starts at 0x900)".
 */
const void *shm_view_resolve(const ShmView *view, uint64_t offset, uint64_t len,
                             GError **errp);
/* True if the writer has started changing the state since this call began. */
bool shm_view_changed(const ShmView *view);

#endif

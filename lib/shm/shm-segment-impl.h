/*
 * Internals shared by the segment writer and reader (lib/shm/): the
 * layout's structs and helpers.  The contract is in
 * include/vmscope/shm-segment.h.  Tests that forge hostile segments
 * include this too.
 */
#ifndef VMSCOPE_SHM_SEGMENT_IMPL_H
#define VMSCOPE_SHM_SEGMENT_IMPL_H

#include <stdatomic.h>
#include <sys/types.h>

#include "vmscope/shm-segment.h"

#define SHM_MAGIC "VMSCOPE"            /* 7 characters + NUL = 8 bytes */
#define SHM_LAYOUT_VERSION 1

enum {
    SHM_STATE_LIVE = 1,                /* header.state while the owner runs */
    SHM_STATE_CLOSED = 2,              /* set by shm_writer_destroy */
};

/* Offset 0 of every segment. */
typedef struct ShmSegmentHeader {
    char magic[8];                     /*   0: SHM_MAGIC, NUL-terminated */
    uint32_t layout_version;           /*   8: SHM_LAYOUT_VERSION */
    uint32_t header_size;              /*  12: sizeof(ShmSegmentHeader) */
    uint64_t segment_size;             /*  16: the file's size */
    uint32_t entry_size;               /*  24: sizeof(ShmDirEntry) */
    uint32_t max_devices;              /*  28: directory capacity */
    uint64_t dir_offset;               /*  32: == header_size */
    uint64_t data_offset;              /*  40: first byte of the data area */
    int32_t owner_pid;                 /*  48 */
    uint32_t reserved0;                /*  52 */
    uint64_t owner_start_time;         /*  56: /proc/PID/stat field 22, 0 if unknown */
    uint64_t created_ns;               /*  64: CLOCK_REALTIME at creation */
    char host[SHM_HOST_SIZE];          /*  72: NUL-terminated */
    uint8_t reserved1[56];             /* 136: the changing fields get their own line */
    _Atomic uint64_t generation;       /* 192: directory seqlock */
    _Atomic uint64_t heartbeat_ns;     /* 200: CLOCK_REALTIME of the last heartbeat */
    _Atomic uint64_t data_used;        /* 208: bytes allocated in the data area */
    _Atomic uint32_t device_count;     /* 216: in-use entries (under the seqlock) */
    _Atomic uint32_t state;            /* 220: SHM_STATE_* */
    uint8_t reserved2[32];             /* 224 */
} ShmSegmentHeader;                    /* 256 */

/* One directory slot. */
typedef struct ShmDirEntry {
    _Atomic uint64_t seq;              /*   0: device seqlock, odd while writing */
    _Atomic uint64_t updates;          /*   8: completed updates since added */
    uint8_t reserved0[48];             /*  16: counters alone on their line */
    uint32_t in_use;                   /*  64: 1 = holds a device, 0 = free */
    uint32_t instance_id;              /*  68 */
    uint32_t version_id;               /*  72 */
    uint32_t reserved1;                /*  76 */
    uint64_t state_offset;             /*  80 */
    uint64_t state_size;               /*  88: >= 1 */
    uint64_t desc_offset;              /*  96: 0 = no description */
    uint64_t desc_length;              /* 104: bytes, without the NUL that follows */
    char id[SHM_ID_SIZE];              /* 112: NUL-terminated */
    char type[SHM_TYPE_SIZE];          /* 176: NUL-terminated */
    uint8_t reserved2[16];             /* 240 */
} ShmDirEntry;                         /* 256 */


/* Round n up to a multiple of a (a power of two); false on overflow. */
static inline bool shm_align_up(uint64_t n, uint64_t a, uint64_t *out)
{
    if (n > UINT64_MAX - (a - 1)) {
        return false;
    }
    *out = (n + a - 1) & ~(a - 1);
    return true;
}

/* Open DIR (NULL: SHM_DEFAULT_DIR) as a directory descriptor for *at(). */
int shm_dir_open(const char *dir, GError **errp);

/*
 * A process's state letter (field 3 of /proc/PID/stat: 'R', 'S', 'Z' for a
 * zombie...) and start time (field 22, clock ticks since boot).  False if
 * they cannot be read (no such process, no /proc).
 */
bool shm_process_stat(pid_t pid, char *state, uint64_t *start_time);

/* Nanoseconds of CLOCK_REALTIME. */
uint64_t shm_now_ns(void);

#endif

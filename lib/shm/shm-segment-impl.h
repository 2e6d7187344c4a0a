/*
 * Internals shared by the segment writer and reader (lib/shm-*.c).
 * The contract is in include/vmscope/shm-segment.h.
 */
#ifndef VMSCOPE_SHM_SEGMENT_IMPL_H
#define VMSCOPE_SHM_SEGMENT_IMPL_H

#include <sys/types.h>

#include "vmscope/shm-segment.h"

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
 * The start time of a process (field 22 of /proc/PID/stat, clock ticks
 * since boot).  False if it cannot be read (no such process, no /proc).
 */
bool shm_process_start_time(pid_t pid, uint64_t *out);

/* Nanoseconds of CLOCK_REALTIME. */
uint64_t shm_now_ns(void);

#endif

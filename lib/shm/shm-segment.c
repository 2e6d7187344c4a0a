/*
 * Shared-memory segments, the parts writer and reader share: names, paths,
 * discovery, and what we know about processes.  The contract and the
 * layout are in include/vmscope/shm-segment.h; the writer is
 * shm-writer.c, the reader shm-reader.c.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vmscope/error.h"
#include "shm-segment-impl.h"

/*
 * The layout is shared between processes that may be built separately:
 * pin it down.  Atomics in shared memory must be lock-free, which makes
 * them address-free (C11 7.17.5) and so work in two mappings at once.
 */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "32-bit atomics must be lock-free");
_Static_assert(sizeof(_Atomic uint64_t) == 8, "atomic counters are 8 bytes");
_Static_assert(sizeof(ShmSegmentHeader) == 256, "header is 256 bytes");
_Static_assert(offsetof(ShmSegmentHeader, host) == 72, "header layout");
_Static_assert(offsetof(ShmSegmentHeader, generation) == 192, "header layout");
_Static_assert(offsetof(ShmSegmentHeader, state) == 220, "header layout");
_Static_assert(sizeof(ShmDirEntry) == 256, "directory entry is 256 bytes");
_Static_assert(offsetof(ShmDirEntry, in_use) == 64, "entry layout");
_Static_assert(offsetof(ShmDirEntry, id) == 112, "entry layout");
_Static_assert(offsetof(ShmDirEntry, type) == 176, "entry layout");
_Static_assert(sizeof(SHM_MAGIC) == 8, "magic is 8 bytes with its NUL");

static bool host_char_ok(char c)
{
    return g_ascii_isalnum(c) || c == '.' || c == '_' || c == '-';
}

bool shm_host_name_valid(const char *host, GError **errp)
{
    size_t len = strlen(host);
    if (len == 0 || len >= SHM_HOST_SIZE) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "host name '%s': must be 1 to %d characters", host, SHM_HOST_SIZE - 1);
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (!host_char_ok(host[i]) || (i == 0 && host[i] == '.')) {
            g_autofree char *shown = g_strescape(host, NULL);
            g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                        "host name '%s': only letters, digits, '.', '_' and '-' "
                        "are allowed, and no leading '.'", shown);
            return false;
        }
    }
    return true;
}

bool shm_device_id_valid(const char *id)
{
    size_t len = strlen(id);
    if (len == 0 || len >= SHM_ID_SIZE) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char c = id[i];
        if (!g_ascii_isalnum(c) && !strchr("._:@-", c)) {
            return false;
        }
    }
    return true;
}

char *shm_segment_path(const char *dir, const char *host)
{
    return g_strdup_printf("%s/" SHM_NAME_PREFIX "%s", dir ? dir : SHM_DEFAULT_DIR, host);
}

int shm_dir_open(const char *dir, GError **errp)
{
    const char *path = dir ? dir : SHM_DEFAULT_DIR;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        g_set_error(errp, VMS_ERROR, e == ENOENT ? VMS_ERROR_NOT_FOUND : VMS_ERROR_IO,
                    "cannot open directory %s: %s", path, g_strerror(e));
    }
    return fd;
}

static int compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

GPtrArray *shm_segment_list(const char *dir, GError **errp)
{
    int dfd = shm_dir_open(dir, errp);
    if (dfd < 0) {
        return NULL;
    }
    DIR *d = fdopendir(dfd);
    if (!d) {
        int e = errno;
        close(dfd);
        g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "cannot read directory %s: %s",
                    dir ? dir : SHM_DEFAULT_DIR, g_strerror(e));
        return NULL;
    }
    GPtrArray *hosts = g_ptr_array_new_with_free_func(g_free);
    struct dirent *de;
    const size_t plen = strlen(SHM_NAME_PREFIX);
    while ((de = readdir(d)) != NULL) {
        const char *host = de->d_name + plen;
        if (strncmp(de->d_name, SHM_NAME_PREFIX, plen) != 0 ||
            !shm_host_name_valid(host, NULL)) {
            continue;
        }
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
            !S_ISREG(st.st_mode)) {
            continue;   /* gone meanwhile, or not a segment */
        }
        g_ptr_array_add(hosts, g_strdup(host));
    }
    closedir(d);
    g_ptr_array_sort(hosts, compare_names);
    return hosts;
}

size_t shm_block_size(size_t n)
{
    uint64_t size;
    if (!shm_align_up(n, SHM_ALIGN, &size) || size > SIZE_MAX) {
        return SIZE_MAX;
    }
    return (size_t)size;
}

size_t shm_segment_size(uint32_t max_devices, size_t data_size)
{
    size_t dir = sizeof(ShmSegmentHeader) + (size_t)max_devices * sizeof(ShmDirEntry);
    return data_size > SIZE_MAX - dir ? SIZE_MAX : dir + data_size;
}

bool shm_process_stat(pid_t pid, char *state, uint64_t *start_time)
{
    char path[64];
    g_autofree char *text = NULL;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (!g_file_get_contents(path, &text, NULL, NULL)) {
        return false;
    }
    /* "PID (COMM) S PPID ..." where COMM may hold anything, ')' included. */
    const char *p = strrchr(text, ')');
    if (!p) {
        return false;
    }
    p++;
    if (p[0] != ' ' || !p[1]) {
        return false;
    }
    char letter = p[1];
    /* Fields 3 (state) .. 22 (starttime): skip 19 fields to reach 22. */
    for (int field = 3; field < 22; field++) {
        p = strchr(p + 1, ' ');
        if (!p) {
            return false;
        }
    }
    g_autofree char *field = g_strndup(p + 1, strcspn(p + 1, " "));
    guint64 v;
    if (!g_ascii_string_to_unsigned(field, 10, 0, G_MAXUINT64, &v, NULL)) {
        return false;
    }
    *state = letter;
    *start_time = v;
    return true;
}

uint64_t shm_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

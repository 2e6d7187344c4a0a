/*
 * The segment reader (lib/shm) and the agent's walk of device state
 * (agent/snapshot.c) on segment files made of the input.  The owner pid and
 * start time in the header are set to this process's, so that the reader
 * goes on past its liveness check; every other byte is the input's.
 * Invariants: nothing crashes or reads outside the file (ASan); every error
 * is a UTF-8 message; what lists has printable ids and type names; a
 * snapshot's size is the listed state size, within the segment; a device
 * that is not listed cannot be snapshotted (issue 12: a directory
 * generation of 1 once let that succeed); every walked state is UTF-8 JSON.
 */
#include "config.h"

#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "fuzz.h"
#include "agent/snapshot.h"
#include "shm/shm-segment-impl.h"
#include "vmscope/shm-segment.h"

static char *dir;
static uint64_t my_start_time;

static void cleanup(void)
{
    g_autofree char *path = g_build_filename(dir, "vmscope-fz", NULL);
    g_unlink(path);
    g_rmdir(dir);
}

static void setup(void)
{
    char state;
    dir = g_dir_make_tmp("vmscope-fuzz-shm-XXXXXX", NULL);
    atexit(cleanup);
    FUZZ_CHECK(dir, "no temporary directory");
    FUZZ_CHECK(shm_process_stat(getpid(), &state, &my_start_time), "no /proc/self/stat");
}

static void check_error(const GError *err)
{
    FUZZ_CHECK(err && g_utf8_validate(err->message, -1, NULL), "missing or non-UTF-8 error");
}

static void check_device(ShmReader *r, const ShmDeviceInfo *info, size_t segment_size)
{
    g_autoptr(GError) err = NULL;
    FUZZ_CHECK(g_utf8_validate(info->id, -1, NULL) && g_utf8_validate(info->type, -1, NULL),
               "id or type name not UTF-8");

    ShmDeviceInfo got;
    GBytes *state = NULL;
    if (shm_reader_snapshot(r, info->id, &got, &state, &err)) {
        FUZZ_CHECK(g_bytes_get_size(state) == got.state_size && got.state_size <= segment_size,
                   "snapshot of %zu bytes, listed %" G_GUINT64_FORMAT, g_bytes_get_size(state),
                   got.state_size);
        g_bytes_unref(state);
    } else {
        check_error(err);
        g_clear_error(&err);
    }

    g_autofree char *text = NULL;
    if (!shm_reader_description(r, info->id, &text, &err)) {
        check_error(err);
        return;
    }
    if (!text) {
        return;
    }
    AgentDesc *desc = agent_desc_new(NULL, text, info, &err);
    if (!desc) {
        check_error(err);
        return;
    }
    AgentSnapshot snap = { 0 };
    if (agent_snapshot_take(r, info->id, desc, AGENT_SNAPSHOT_STATE, NULL, &snap, &err)) {
        g_autofree char *json = qobject_to_json(snap.state, false);
        FUZZ_CHECK(g_utf8_validate(json, -1, NULL), "walked state not UTF-8");
        agent_snapshot_clear(&snap);
    } else {
        check_error(err);
    }
    agent_desc_free(desc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir) {
        setup();
    }
    g_autofree uint8_t *seg = g_memdup2(data, size ? size : 1);
    if (size >= sizeof(ShmSegmentHeader)) {
        ShmSegmentHeader *h = (ShmSegmentHeader *)seg;
        h->owner_pid = (int32_t)getpid();
        h->owner_start_time = my_start_time;
    }
    g_autofree char *path = g_build_filename(dir, "vmscope-fz", NULL);
    FUZZ_CHECK(g_file_set_contents(path, (const char *)seg, (gssize)size, NULL), "cannot write %s",
               path);

    g_autoptr(GError) err = NULL;
    g_autoptr(ShmReader) r = shm_reader_open(dir, "fz", &err);
    if (!r) {
        check_error(err);
        return 0;
    }
    shm_reader_set_max_retries(r, 8);     /* a stuck sequence gives up quickly */
    ShmHostInfo hi;
    if (!shm_reader_host_info(r, &hi, &err)) {
        check_error(err);
        return 0;
    }
    g_autoptr(GArray) list = shm_reader_list(r, &err);
    if (!list) {
        check_error(err);
        g_clear_error(&err);
    }
    for (guint i = 0; list && i < list->len; i++) {
        check_device(r, &g_array_index(list, ShmDeviceInfo, i), size);
    }
    GBytes *none = NULL;
    FUZZ_CHECK(!shm_reader_snapshot(r, "no such device", NULL, &none, &err),
               "a device that does not exist was snapshotted");
    check_error(err);
    return 0;
}

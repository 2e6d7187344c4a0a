/*
 * Benchmark: seqlock snapshots of a device state while a writer thread
 * updates it.  Prints snapshots per second, retries per snapshot and the
 * writer's update rate for a few state sizes and writer speeds.  Figures
 * only: it never fails on timing.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "vmscope/shm-segment.h"

typedef struct Run {
    ShmDevice *dev;
    size_t words;
    unsigned pause_ns;        /* 0: full speed */
    atomic_bool stop;
    uint64_t updates;
} Run;

static uint64_t now_ns(void)
{
    return (uint64_t)g_get_monotonic_time() * 1000;
}

static gpointer writer_thread(gpointer opaque)
{
    Run *run = opaque;
    uint64_t *state = shm_device_state(run->dev);
    uint64_t n = 0;
    while (!atomic_load_explicit(&run->stop, memory_order_relaxed)) {
        n++;
        shm_device_begin_update(run->dev);
        for (size_t i = 0; i < run->words; i++) {
            state[i] = n;
        }
        shm_device_end_update(run->dev);
        if (run->pause_ns) {
            uint64_t until = now_ns() + run->pause_ns;
            while (now_ns() < until) {
                /* a device host between two events */
            }
        }
    }
    run->updates = n;
    return NULL;
}

/* One scenario: returns false on an unexpected error. */
static bool bench(ShmWriter *w, ShmReader *r, size_t state_size, int writer, unsigned pause_ns,
                  double seconds)
{
    GError *err = NULL;
    ShmDevice *dev = shm_writer_add_device(w, "bench", "bench", 0, 1, NULL, state_size, &err);
    if (!dev) {
        fprintf(stderr, "%s\n", err->message);
        g_error_free(err);
        return false;
    }
    Run run = { .dev = dev, .words = state_size / 8, .pause_ns = pause_ns };
    GThread *t = writer ? g_thread_new("writer", writer_thread, &run) : NULL;
    g_autofree uint64_t *buf = g_malloc(state_size);
    ShmReaderStats before, after;
    shm_reader_get_stats(r, &before);
    uint64_t ok = 0, failed = 0, torn = 0;
    uint64_t start = now_ns(), end = start + (uint64_t)(seconds * 1e9), t_now;
    do {
        for (int i = 0; i < 64; i++) {
            ShmDeviceInfo info;
            if (shm_reader_snapshot_into(r, "bench", buf, state_size, &info, &err)) {
                ok++;
                if (buf[0] != info.generation || buf[run.words - 1] != info.generation) {
                    torn++;
                }
            } else {
                failed++;
                g_clear_error(&err);
            }
        }
        t_now = now_ns();
    } while (t_now < end);
    atomic_store(&run.stop, true);
    if (t) {
        g_thread_join(t);
    }
    shm_reader_get_stats(r, &after);
    double secs = (double)(t_now - start) / 1e9;
    uint64_t retries = after.retries - before.retries;
    char wdesc[64];
    if (!writer) {
        snprintf(wdesc, sizeof(wdesc), "no writer");
    } else if (!pause_ns) {
        snprintf(wdesc, sizeof(wdesc), "writer full speed");
    } else {
        snprintf(wdesc, sizeof(wdesc), "writer every %u us", pause_ns / 1000);
    }
    printf("state %5zu B, %-19s %10.0f snapshots/s  %8.3f retries/snapshot  "
           "%5" PRIu64 " gave up  %10.0f updates/s%s\n",
           state_size, wdesc, (double)ok / secs, ok ? (double)retries / (double)ok : 0.0,
           failed, (double)run.updates / secs, torn ? "  TORN SNAPSHOTS!" : "");
    shm_writer_remove_device(w, dev);
    return torn == 0;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? g_ascii_strtod(argv[1], NULL) : 1.0;
    GError *err = NULL;
    g_autofree char *dir = g_dir_make_tmp("vmscope-bench-XXXXXX", &err);
    if (!dir) {
        fprintf(stderr, "%s\n", err->message);
        return 1;
    }
    ShmWriter *w = shm_writer_create(dir, "bench", 1 << 20, 8, &err);
    ShmReader *r = w ? shm_reader_open(dir, "bench", &err) : NULL;
    if (!r) {
        fprintf(stderr, "%s\n", err->message);
        shm_writer_destroy(w);
        g_rmdir(dir);
        return 1;
    }
    printf("seqlock snapshots (shm_reader_snapshot_into), %.1f s each, %ld CPUs\n", seconds,
           sysconf(_SC_NPROCESSORS_ONLN));
    static const size_t sizes[] = { 64, 4096, 65536 };
    bool ok = true;
    for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
        ok &= bench(w, r, sizes[i], 0, 0, seconds);
        ok &= bench(w, r, sizes[i], 1, 0, seconds);
        ok &= bench(w, r, sizes[i], 1, 10000, seconds);
    }
    ShmReaderStats st;
    shm_reader_get_stats(r, &st);
    printf("reader totals: %" PRIu64 " snapshots, %" PRIu64 " retries, %" PRIu64 " gave up\n",
           st.snapshots, st.retries, st.failures);
    shm_reader_close(r);
    shm_writer_destroy(w);
    g_rmdir(dir);
    return ok ? 0 : 1;
}

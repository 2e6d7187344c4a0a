/*
 * bench-devhost-migrate: how long a device host takes to migrate the state
 * of 1,000 devices (device state only, no RAM).
 *
 *   bench-devhost-migrate [DEVHOST [RUNS [DEVICES]]]
 *
 * DEVHOST is the vmscope-devhost binary (default: the one in this build
 * tree), RUNS the number of migrations per transport (default 10), DEVICES
 * a --devices list (default serial:1000).  For each run a source migrates
 * to a fresh -S destination over a Unix socket (the whole protocol: save,
 * send, load, result line), then to `exec:cat > /dev/null` (save and send
 * only); between runs the source is resumed with `cont`.  All of it in
 * QEMU's format, then again in BER (the "ber" capability on at both ends).
 * Printed per format and transport: query-migrate's total-time and downtime and the wall time from
 * `migrate` to "completed" seen by polling, as min/mean/max in ms, and the
 * stream size.  Run it under a tracer (vmscope-trace -b DEVHOST) to compare
 * traced and untraced figures.  It never fails on timing.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "devhost-test-util.h"

typedef struct Stats {
    double min, max, sum;
    int n;
} Stats;

static void stats_add(Stats *s, double v)
{
    s->min = s->n ? MIN(s->min, v) : v;
    s->max = s->n ? MAX(s->max, v) : v;
    s->sum += v;
    s->n++;
}

static void stats_print(const char *what, const Stats *s)
{
    printf("    %-12s min %8.2f  mean %8.2f  max %8.2f ms\n", what, s->min,
           s->n ? s->sum / s->n : 0.0, s->max);
}

/* One migration; false if it did not complete. */
static bool run_once(Devhost *src, const char *uri, Stats *total, Stats *down, Stats *wall,
                     uint64_t *bytes)
{
    g_autofree char *args = g_strdup_printf("{\"uri\": \"%s\"}", uri);
    g_autoptr(GError) err = NULL;
    int64_t t0 = g_get_monotonic_time();
    g_autoptr(QObject) r = dh_qmp(src, "migrate", args, &err);
    if (!r) {
        fprintf(stderr, "migrate: %s\n", err->message);
        return false;
    }
    QObject *q = NULL;
    for (int i = 0; i < 100000; i++) {
        q = dh_qmp(src, "query-migrate", NULL, &err);
        const char *st = q ? qdict_get_str(q, "status") : NULL;
        if (!st || strcmp(st, "completed") == 0 || strcmp(st, "failed") == 0) {
            break;
        }
        qobject_unref(q);
        q = NULL;
        g_usleep(1000);
    }
    int64_t t1 = g_get_monotonic_time();
    g_autoptr(QObject) done = q;
    if (!done || strcmp(qdict_get_str(done, "status"), "completed") != 0) {
        g_autofree char *text = done ? qobject_to_json(done, false) : g_strdup("(none)");
        fprintf(stderr, "migration did not complete: %s\n", text);
        return false;
    }
    int64_t tt = 0, dt = 0;
    qnum_get_int(qdict_get(done, "total-time"), &tt);
    qnum_get_int(qdict_get(done, "downtime"), &dt);
    qnum_get_uint(qdict_get(qdict_get(done, "device-state"), "bytes"), bytes);
    stats_add(total, (double)tt);
    stats_add(down, (double)dt);
    stats_add(wall, (double)(t1 - t0) / 1000.0);
    g_autoptr(QObject) c = dh_qmp(src, "cont", NULL, &err);
    return c != NULL;
}

/* migrate-set-capabilities ber on or off. */
static bool set_ber(Devhost *dh, bool on)
{
    g_autofree char *args = g_strdup_printf(
        "{\"capabilities\": [{\"capability\": \"ber\", \"state\": %s}]}", on ? "true" : "false");
    g_autoptr(GError) err = NULL;
    g_autoptr(QObject) r = dh_qmp(dh, "migrate-set-capabilities", args, &err);
    if (!r) {
        fprintf(stderr, "migrate-set-capabilities: %s\n", err->message);
    }
    return r != NULL;
}

/* RUNS migrations in one format, through a destination and to cat: figures printed. */
static int bench_format(Devhost *src, const char *dev_flag, int runs, bool ber)
{
    Stats total = { 0 }, down = { 0 }, wall = { 0 };
    uint64_t bytes = 0;
    g_autofree char *sock = dh_path("bench.sock");
    g_autofree char *uri = g_strdup_printf("unix:%s", sock);
    g_autofree char *incoming = g_strdup_printf("--incoming=%s", uri);
    if (!set_ber(src, ber)) {
        return 1;
    }
    for (int i = 0; i < runs; i++) {
        Devhost *dst = dh_start("bench-dst", dev_flag, incoming, "-S", NULL);
        bool ok = dst && set_ber(dst, ber) && run_once(src, uri, &total, &down, &wall, &bytes);
        dh_stop(dst);
        if (!ok) {
            return 1;
        }
    }
    Stats etotal = { 0 }, edown = { 0 }, ewall = { 0 };
    for (int i = 0; i < runs; i++) {
        if (!run_once(src, "exec:cat > /dev/null", &etotal, &edown, &ewall, &bytes)) {
            return 1;
        }
    }
    printf("  %s format, stream %" PRIu64 " bytes\n", ber ? "BER" : "QEMU's", bytes);
    printf("   unix: to a -S destination (save, send, load, result):\n");
    stats_print("total-time", &total);
    stats_print("downtime", &down);
    stats_print("wall", &wall);
    printf("   exec:cat > /dev/null (save, send):\n");
    stats_print("total-time", &etotal);
    stats_print("downtime", &edown);
    stats_print("wall", &ewall);
    return 0;
}

int main(int argc, char **argv)
{
    dh_init(argv[0]);
    if (argc > 1) {
        g_free(dh_binary);
        dh_binary = g_strdup(argv[1]);
    }
    int runs = argc > 2 ? atoi(argv[2]) : 10;
    const char *devices = argc > 3 ? argv[3] : "serial:1000";
    if (runs < 1 || !g_file_test(dh_binary, G_FILE_TEST_IS_EXECUTABLE)) {
        fprintf(stderr, "usage: %s [DEVHOST [RUNS [DEVICES]]] (%s not found?)\n", argv[0],
                dh_binary);
        dh_cleanup();
        return 2;
    }
    g_autofree char *dev_flag = g_strdup_printf("--devices=%s", devices);
    Devhost *src = dh_start("bench-src", dev_flag, NULL);
    if (!src) {
        dh_cleanup();
        return 1;
    }
    printf("devhost migration: %s, %d runs each\n", devices, runs);
    int rc = bench_format(src, dev_flag, runs, false);
    rc = rc ? rc : bench_format(src, dev_flag, runs, true);
    dh_stop(src);
    dh_cleanup();
    return rc;
}

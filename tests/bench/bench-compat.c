/*
 * Benchmark: `vmscope-view compat` on two whole QEMU 7.2 -dump-vmstate
 * files (pc and q35, about 790 KB of JSON each, 213 device types), and
 * `vmscope-view explain` of a real stream against one.  Best of N runs:
 *   parse          JSON text -> QObject -> CompatSet (the strict input
 *                  visitor), both dumps
 *   compare        compat_compare of the two sets
 *   parse+compare  the two together: what the command does after reading
 *   explain        pc-plain.mig parsed and replayed against the pc dump
 *   process        `vmscope-view compat PC Q35 > /dev/null`, when built
 * Each figure is the process's CPU time (CLOCK_PROCESS_CPUTIME_ID), the
 * best of N runs, and the wall time of that run: on a shared machine the
 * wall time measures the neighbours too.  The target: two whole
 * dumps compared in under 50 ms.  QEMU's
 * scripts/vmstate-static-checker.py is timed on the same pair when the
 * environment names it (VMSTATE_STATIC_CHECKER=/path/to/it; Debian does
 * not ship it).  Figures only; a benchmark never fails on timing.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <sys/wait.h>
#include <glib/gstdio.h>

#include "stream-fixture.h"
#include "vmscope/compat.h"

#define RUNS 20

static GBytes *fixture(const char *dir, const char *name)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    GError *err = NULL;
    GBytes *b = fixture_gunzip(path, &err);
    if (!b) {
        g_error("%s: %s", path, err->message);
    }
    return b;
}

static CompatSet *load(GBytes *data)
{
    GError *err = NULL;
    CompatSet *set = compat_set_load(data, NULL, &err);
    if (!set) {
        g_error("%s", err->message);
    }
    return set;
}

typedef enum { STEP_PARSE, STEP_COMPARE, STEP_BOTH, STEP_EXPLAIN } Step;

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* CPU ms of one run; *wall gets its wall ms. */
static double run_once(Step step, GBytes *a, GBytes *b, GBytes *mig, size_t *findings,
                       double *wall)
{
    g_autoptr(CompatSet) sa = step == STEP_COMPARE ? load(a) : NULL;
    g_autoptr(CompatSet) sb = step == STEP_COMPARE ? load(b) : NULL;
    gint64 t0 = g_get_monotonic_time();
    double c0 = cpu_ms();
    if (step == STEP_EXPLAIN) {
        g_autoptr(QemuStream) s = NULL;
        g_autoptr(CompatSet) src = compat_set_load(mig, &s, NULL);
        g_autoptr(CompatSet) dest = load(a);
        g_autoptr(CompatExplain) e = compat_explain(s, dest);
        *findings = e->findings->len;
    } else {
        if (step != STEP_COMPARE) {
            sa = load(a);
            sb = load(b);
        }
        if (step != STEP_PARSE) {
            g_autoptr(GPtrArray) f = compat_compare(sa, sb);
            *findings = f->len;
        }
    }
    *wall = (g_get_monotonic_time() - t0) / 1000.0;
    return cpu_ms() - c0;
}

static double best(Step step, GBytes *a, GBytes *b, GBytes *mig, size_t *findings, double *wall)
{
    double min = 1e9;
    for (int i = 0; i < RUNS; i++) {
        double w, ms = run_once(step, a, b, mig, findings, &w);
        if (ms < min) {
            min = ms;
            *wall = w;
        }
    }
    return min;
}

/* Wall time of a command (best of 5), or -1 when it fails. */
static double time_command(const char *cmd)
{
    double min = 1e9;
    for (int i = 0; i < 5; i++) {
        gint64 t0 = g_get_monotonic_time();
        int status = system(cmd);
        double ms = (g_get_monotonic_time() - t0) / 1000.0;
        if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) > 1) {
            return -1;
        }
        min = ms < min ? ms : min;
    }
    return min;
}

static bool save(const char *path, GBytes *b)
{
    gsize len;
    const char *data = g_bytes_get_data(b, &len);
    return g_file_set_contents(path, data, (gssize)len, NULL);
}

int main(void)
{
    g_autofree char *dir = fixture_dir_default();
    g_autoptr(GBytes) pc = fixture(dir, "qemu72-pc.vmstate.json.gz");
    g_autoptr(GBytes) q35 = fixture(dir, "qemu72-q35.vmstate.json.gz");
    g_autoptr(GBytes) mig = fixture(dir, "pc-plain.mig.gz");
    size_t n = 0;
    double wall = 0;

    printf("compat: QEMU 7.2 -dump-vmstate pc (%zu bytes) vs q35 (%zu bytes), best of %d\n",
           g_bytes_get_size(pc), g_bytes_get_size(q35), RUNS);
    printf("                         CPU ms   wall ms\n");
    double ms = best(STEP_PARSE, pc, q35, mig, &n, &wall);
    printf("  parse both           %8.2f  %8.2f\n", ms, wall);
    ms = best(STEP_COMPARE, pc, q35, mig, &n, &wall);
    printf("  compare              %8.2f  %8.2f  (%zu findings)\n", ms, wall, n);
    ms = best(STEP_BOTH, pc, q35, mig, &n, &wall);
    printf("  parse + compare      %8.2f  %8.2f  (target: under 50 ms)\n", ms, wall);
    ms = best(STEP_EXPLAIN, pc, q35, mig, &n, &wall);
    printf("  explain pc-plain.mig %8.2f  %8.2f  (%zu findings)\n", ms, wall, n);

    g_autofree char *tmp = g_dir_make_tmp("bench-compat-XXXXXX", NULL);
    g_autofree char *a = g_build_filename(tmp, "pc.json", NULL);
    g_autofree char *b = g_build_filename(tmp, "q35.json", NULL);
    if (tmp && save(a, pc) && save(b, q35)) {
        const char *top = g_getenv("top_builddir");
        g_autofree char *view = g_build_filename(top ? top : ".", "viewers", "vmscope-view", NULL);
        if (g_file_test(view, G_FILE_TEST_IS_EXECUTABLE)) {
            g_autofree char *cmd = g_strdup_printf("'%s' compat '%s' '%s' >/dev/null", view, a, b);
            printf("  process                        %8.2f  (vmscope-view compat, best of 5)\n",
                   time_command(cmd));
        }
        const char *checker = g_getenv("VMSTATE_STATIC_CHECKER");
        if (checker && *checker) {
            g_autofree char *cmd = g_strdup_printf("python3 '%s' -s '%s' -d '%s' >/dev/null 2>&1",
                                                   checker, a, b);
            ms = time_command(cmd);
            if (ms < 0) {
                printf("  vmstate-static-checker.py: failed to run (%s)\n", checker);
            } else {
                printf("  vmstate-static-checker.py      %8.2f  (same pair, best of 5)\n", ms);
            }
        } else {
            printf("  vmstate-static-checker.py: not run (not shipped by Debian; "
                   "VMSTATE_STATIC_CHECKER=PATH times it)\n");
        }
        g_unlink(a);
        g_unlink(b);
        g_rmdir(tmp);
    }
    return 0;
}

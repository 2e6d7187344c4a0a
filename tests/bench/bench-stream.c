/*
 * Benchmark: how fast `vmscope-view stream` turns a real QEMU migration
 * stream into JSON, against just reading the file.
 *
 * For each fixture (pc-shared: a 64 MiB pc guest with x-ignore-shared, so
 * the stream is the device state plus the small ROM blocks; pc-plain: 16 MiB
 * of plain RAM in the stream; q35-wide: a q35 guest with 30-odd device
 * models, x-ignore-shared, the most device state of the fixtures), it
 * times, best of N runs:
 *   read          read(2) the whole file
 *   parse         read + qemu_stream_parse (frame, RAM walk, vmdesc decode)
 *   parse + JSON  read + parse + the JSON text vmscope-view prints
 *   process       `vmscope-view stream FILE > /dev/null`, when built
 * and prints MB/s, device sections per second and the ratio to reading.
 * The target: pc-shared parsed to JSON in under 20 ms.  Figures
 * only; a benchmark never fails on timing.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "stream-fixture.h"
#include "vmscope/qemu-stream.h"

#define RUNS 40

static GBytes *read_all(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        g_error("%s: %s", path, g_strerror(errno));
    }
    GByteArray *buf = g_byte_array_new();
    uint8_t chunk[65536];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
        g_byte_array_append(buf, chunk, (guint)n);
    }
    close(fd);
    return g_byte_array_free_to_bytes(buf);
}

typedef enum { STEP_READ, STEP_PARSE, STEP_JSON } Step;

static double run_once(const char *path, Step step)
{
    gint64 t0 = g_get_monotonic_time();
    g_autoptr(GBytes) data = read_all(path);
    if (step >= STEP_PARSE) {
        GError *err = NULL;
        g_autoptr(QemuStream) s = qemu_stream_parse(data, &err);
        if (!s) {
            g_error("%s: %s", path, err->message);
        }
        if (step == STEP_JSON) {
            g_autoptr(QObject) obj = qemu_stream_to_qobject(s, false);
            g_autofree char *json = qobject_to_json(obj, false);
        }
    }
    return (double)(g_get_monotonic_time() - t0) / 1000.0;
}

static double best_of(const char *path, Step step)
{
    double best = 1e9;
    for (int i = 0; i < RUNS; i++) {
        double t = run_once(path, step);
        best = t < best ? t : best;
    }
    return best;
}

static double process_ms(const char *view, const char *path)
{
    double best = 1e9;
    for (int i = 0; i < RUNS / 4; i++) {
        char *argv[] = { (char *)view, "stream", (char *)path, NULL };
        gint status;
        GError *err = NULL;
        gint64 t0 = g_get_monotonic_time();
        if (!g_spawn_sync(NULL, argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, NULL,
                          &status, &err) || !g_spawn_check_wait_status(status, &err)) {
            fprintf(stderr, "  %s: %s\n", view, err->message);
            g_error_free(err);
            return -1;
        }
        double t = (double)(g_get_monotonic_time() - t0) / 1000.0;
        best = t < best ? t : best;
    }
    return best;
}

static void bench(const char *dir, const char *name, const char *view)
{
    g_autoptr(GBytes) data = fixture_stream(dir, name);
    g_autofree char *path = g_build_filename(g_get_tmp_dir(), "vmscope-bench-XXXXXX", NULL);
    int fd = g_mkstemp(path);
    size_t n;
    const uint8_t *d = g_bytes_get_data(data, &n);
    if (fd < 0 || write(fd, d, n) != (ssize_t)n || close(fd) != 0) {
        g_error("%s: cannot write", path);
    }

    GError *err = NULL;
    g_autoptr(QemuStream) s = qemu_stream_parse(data, &err);
    if (!s) {
        g_error("%s: %s", name, err->message);
    }
    size_t devices = 0, device_bytes = 0;
    for (size_t i = 0; i < qemu_stream_n_sections(s); i++) {
        const QemuStreamSection *sec = qemu_stream_section(s, i);
        if (sec->type == QEMU_VM_SECTION_FULL) {
            devices++;
            device_bytes += sec->size;
        }
    }

    double t_read = best_of(path, STEP_READ);
    double t_parse = best_of(path, STEP_PARSE);
    double t_json = best_of(path, STEP_JSON);
    double mb = (double)n / 1e6;
    printf("%s: %zu bytes, %zu device sections with %zu bytes of state\n", name, n, devices,
           device_bytes);
    printf("  read            %8.3f ms  %8.0f MB/s\n", t_read, mb / (t_read / 1000.0));
    printf("  parse           %8.3f ms  %8.0f MB/s  %8.0f device sections/s  %5.1fx read\n",
           t_parse, mb / (t_parse / 1000.0), (double)devices / (t_parse / 1000.0),
           t_parse / t_read);
    printf("  parse + JSON    %8.3f ms  %8.0f MB/s  %8.0f device sections/s  %5.1fx read\n",
           t_json, mb / (t_json / 1000.0), (double)devices / (t_json / 1000.0), t_json / t_read);
    if (view) {
        double t_proc = process_ms(view, path);
        if (t_proc >= 0) {
            printf("  vmscope-view stream (whole process, output to /dev/null) %8.3f ms\n",
                   t_proc);
        }
    }
    if (strcmp(name, "pc-shared") == 0) {
        printf("  target: device state of a 64 MiB pc guest to JSON in < 20 ms: %.3f ms (%s)\n",
               t_json, t_json < 20.0 ? "met" : "NOT met");
    }
    unlink(path);
}

int main(void)
{
    g_autofree char *dir = fixture_dir_default();
    const char *view = g_file_test("viewers/vmscope-view", G_FILE_TEST_IS_EXECUTABLE)
                       ? "viewers/vmscope-view" : NULL;
    printf("bench-stream: best of %d runs\n", RUNS);
    bench(dir, "pc-shared", view);
    bench(dir, "pc-plain", view);
    bench(dir, "q35-wide", view);
    return 0;
}

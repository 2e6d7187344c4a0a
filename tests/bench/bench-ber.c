/*
 * bench-ber: BER against QEMU's format, for a device host of 1,000 devices.
 *
 *   bench-ber [DEVICES [RUNS]]
 *
 * DEVICES is a --devices list (default serial:1000; "mix" is every device
 * type, 125 of each), RUNS the number of runs of each measure (default 20;
 * the best and the median are printed).  In one process, with the devices
 * after a few ticks:
 *
 *   encode   every device's state saved through the QEMUFile output visitor
 *            / the BER output visitor (the payloads only)
 *   decode   every payload loaded back into a scratch state through the
 *            QEMUFile input visitor / the BER input visitor (parse, then a
 *            type-checked load)
 *   stream   the whole migration stream as a device host writes and reads
 *            it (migration_save_stream / migration_load_stream): QEMU's
 *            with its vmdesc, checked by parsing it back; BER's self-described
 *   bytes    of the payloads, and of the whole streams
 *   convert  the largest stream fixture QEMU -> BER -> QEMU (parse, convert,
 *            parse, convert back, write), and checked byte-identical
 *
 * best and median wall time and the best run's CPU time, with the ratios
 * BER / QEMU of the best ones.  The targets: BER encode and decode
 * within 2x of QEMU's format, size within 3x, the conversion under 20 ms.
 * Devhost-to-devhost migration in both formats is bench-devhost-migrate's.
 * Prints figures; never fails on timing.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "devhost.h"
#include "migration.h"
#include "stream-fixture.h"
#include "vmscope/ber-stream.h"
#include "vmscope/ber-visitor.h"
#include "vmscope/qemufile-visitor.h"

#define MIX "mc146818rtc:125,serial:125,i8254:125,virtio-blk:125,apic:125,kvm-apic:125," \
            "slirp:125,serial:125"

static int runs = 20;

typedef struct Timing {
    double best, median;    /* wall clock, ms */
    double cpu;             /* the best run's CPU time (this thread), ms: the figure that
                               other processes on a loaded machine do not inflate */
} Timing;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Time fn(opaque) `runs` times: best and median wall time, least CPU time, in ms. */
static Timing measure(bool (*fn)(void *), void *opaque)
{
    g_autofree double *t = g_new(double, runs);
    double cpu = 0;
    for (int i = 0; i < runs; i++) {
        int64_t t0 = g_get_monotonic_time();
        double c0 = cpu_ms();
        if (!fn(opaque)) {
            fprintf(stderr, "bench-ber: a measured run failed\n");
            exit(1);
        }
        double c = cpu_ms() - c0;
        cpu = i == 0 || c < cpu ? c : cpu;
        t[i] = (double)(g_get_monotonic_time() - t0) / 1000.0;
    }
    qsort(t, (size_t)runs, sizeof(double), cmp_double);
    return (Timing){ t[0], t[runs / 2], cpu };
}

static void print_pair(const char *what, Timing qemu, Timing ber)
{
    printf("  %-6s QEMU %7.3f ms (median %7.3f, cpu %7.3f) | BER %7.3f ms (median %7.3f, "
           "cpu %7.3f) | BER/QEMU %.2fx (cpu %.2fx)\n", what, qemu.best, qemu.median, qemu.cpu,
           ber.best, ber.median, ber.cpu, ber.best / qemu.best, ber.cpu / qemu.cpu);
}

/* ---- the devices' payloads -------------------------------------------------- */

typedef struct Host {
    DevHost *h;
    VMStateContext ctx;
    GPtrArray *qemu;        /* GBytes per device */
    GPtrArray *ber;
    uint8_t *scratch;       /* room for the largest state */
} Host;

static GBytes *save_one(Host *host, DevHostDevice *d, bool ber)
{
    ByteWriter w;
    byte_writer_init(&w);
    Visitor *v = ber ? ber_output_visitor_new_writer(&w) : qemufile_output_visitor_new(&w);
    GError *err = NULL;
    if (!vmstate_save(v, d->vmsd, d->state, &host->ctx, &err)) {
        g_error("save %s: %s", d->id, err->message);
    }
    visit_free(v);
    GBytes *b = byte_writer_take(&w);
    byte_writer_clear(&w);
    return b;
}

static bool encode(Host *host, bool ber)
{
    for (size_t i = 0; i < devhost_n_devices(host->h); i++) {
        g_bytes_unref(save_one(host, devhost_device(host->h, i), ber));
    }
    return true;
}

static bool encode_qemu(void *p) { return encode(p, false); }
static bool encode_ber(void *p) { return encode(p, true); }

static bool decode(Host *host, bool ber)
{
    for (size_t i = 0; i < devhost_n_devices(host->h); i++) {
        DevHostDevice *d = devhost_device(host->h, i);
        GBytes *b = g_ptr_array_index(ber ? host->ber : host->qemu, i);
        gsize len;
        const uint8_t *p = g_bytes_get_data(b, &len);
        GError *err = NULL;
        ByteReader r;
        byte_reader_init(&r, p, len, 0);
        Visitor *v = ber ? ber_input_visitor_new(p, len, 0, &err) : qemufile_input_visitor_new(&r);
        memcpy(host->scratch, d->state, d->type->state_size);
        if (!v || !vmstate_load(v, d->vmsd, host->scratch, d->vmsd->version_id, &host->ctx, &err)) {
            g_error("load %s: %s", d->id, err->message);
        }
        visit_free(v);
    }
    return true;
}

static bool decode_qemu(void *p) { return decode(p, false); }
static bool decode_ber(void *p) { return decode(p, true); }

/* ---- whole streams ---------------------------------------------------------- */

typedef struct Streams {
    DevHost *src, *dst;
    GBytes *qemu, *ber;
} Streams;

static bool stream_save(Streams *s, bool ber)
{
    GError *err = NULL;
    GBytes *b = migration_save_stream(s->src, ber, &err);
    if (!b) {
        g_error("save stream: %s", err->message);
    }
    g_bytes_unref(b);
    return true;
}

static bool stream_load(Streams *s, bool ber)
{
    GError *err = NULL;
    if (!migration_load_stream(s->dst, ber ? s->ber : s->qemu, ber, &err)) {
        g_error("load stream: %s", err->message);
    }
    return true;
}

static bool save_qemu_stream(void *p) { return stream_save(p, false); }
static bool save_ber_stream(void *p) { return stream_save(p, true); }
static bool load_qemu_stream(void *p) { return stream_load(p, false); }
static bool load_ber_stream(void *p) { return stream_load(p, true); }

/* ---- conversion --------------------------------------------------------------- */

static bool convert_round_trip(void *p)
{
    GBytes *in = p;
    GError *err = NULL;
    g_autoptr(QemuStream) qs = qemu_stream_parse(in, &err);
    g_autoptr(GBytes) ber = qs ? ber_stream_from_qemu(qs, &err) : NULL;
    g_autoptr(BerStream) bs = ber ? ber_stream_parse(ber, &err) : NULL;
    g_autoptr(GBytes) out = bs ? ber_stream_to_qemu(bs, &err) : NULL;
    if (!out) {
        g_error("convert: %s", err->message);
    }
    return g_bytes_equal(in, out);
}

static size_t total(GPtrArray *a)
{
    size_t n = 0;
    for (guint i = 0; i < a->len; i++) {
        n += g_bytes_get_size(g_ptr_array_index(a, i));
    }
    return n;
}

static DevHost *host_new(const char *dir, const char *name, const char *devices,
                         DevHostRunState state)
{
    DevHostConfig config = { .name = name, .shm_dir = dir, .devices = devices };
    GError *err = NULL;
    DevHost *h = devhost_new(&config, state, &err);
    if (!h) {
        g_error("%s", err->message);
    }
    return h;
}

int main(int argc, char **argv)
{
    const char *devices = argc > 1 ? argv[1] : "serial:1000";
    if (strcmp(devices, "mix") == 0) {
        devices = MIX;
    }
    runs = argc > 2 ? atoi(argv[2]) : 20;
    if (runs < 1) {
        fprintf(stderr, "usage: %s [DEVICES|mix [RUNS]]\n", argv[0]);
        return 2;
    }
    g_autofree char *dir = g_dir_make_tmp("bench-ber-XXXXXX", NULL);
    g_autofree char *src_name = g_strdup_printf("bench-ber-src-%d", (int)getpid());
    g_autofree char *dst_name = g_strdup_printf("bench-ber-dst-%d", (int)getpid());
    Host host = { .h = host_new(dir, src_name, devices, DEVHOST_RUNNING) };
    for (int i = 0; i < 30; i++) {
        devhost_tick(host.h);
    }
    host.ctx = devhost_region(host.h);
    host.qemu = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    host.ber = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    size_t max_state = 0;
    for (size_t i = 0; i < devhost_n_devices(host.h); i++) {
        DevHostDevice *d = devhost_device(host.h, i);
        g_ptr_array_add(host.qemu, save_one(&host, d, false));
        g_ptr_array_add(host.ber, save_one(&host, d, true));
        max_state = MAX(max_state, d->type->state_size);
    }
    host.scratch = g_malloc(max_state);

    size_t n = devhost_n_devices(host.h);
    printf("bench-ber: %zu devices (%s), %d runs each\n", n, devices, runs);
    printf("payloads (device state only):\n");
    print_pair("encode", measure(encode_qemu, &host), measure(encode_ber, &host));
    print_pair("decode", measure(decode_qemu, &host), measure(decode_ber, &host));
    size_t qb = total(host.qemu), bb = total(host.ber);
    printf("  %-8s QEMU %zu bytes | BER %zu bytes | BER/QEMU %.2fx\n", "bytes", qb, bb,
           (double)bb / (double)qb);

    Streams s = { .src = host.h, .dst = host_new(dir, dst_name, devices, DEVHOST_INMIGRATE) };
    GError *err = NULL;
    s.qemu = migration_save_stream(s.src, false, &err);
    s.ber = migration_save_stream(s.src, true, &err);
    if (!s.qemu || !s.ber) {
        g_error("%s", err->message);
    }
    printf("whole streams (a device host's save and load):\n");
    print_pair("save", measure(save_qemu_stream, &s), measure(save_ber_stream, &s));
    print_pair("load", measure(load_qemu_stream, &s), measure(load_ber_stream, &s));
    size_t qs = g_bytes_get_size(s.qemu), bs = g_bytes_get_size(s.ber);
    printf("  %-8s QEMU %zu bytes (with its vmdesc) | BER %zu bytes | BER/QEMU %.2fx\n",
           "bytes", qs, bs, (double)bs / (double)qs);

    /* The largest fixture vmscope reads. */
    g_autofree char *fixtures = fixture_dir_default();
    g_autoptr(GPtrArray) names = fixture_names(fixtures);
    g_autoptr(GBytes) largest = NULL;
    const char *largest_name = NULL;
    for (guint i = 0; i < names->len; i++) {
        g_autoptr(GBytes) b = fixture_stream(fixtures, g_ptr_array_index(names, i));
        g_autoptr(QemuStream) parsed = qemu_stream_parse(b, NULL);
        if (parsed && (!largest || g_bytes_get_size(b) > g_bytes_get_size(largest))) {
            g_clear_pointer(&largest, g_bytes_unref);
            largest = g_bytes_ref(b);
            largest_name = g_ptr_array_index(names, i);
        }
    }
    if (largest) {
        Timing t = measure(convert_round_trip, largest);
        printf("convert %s (%zu bytes) QEMU -> BER -> QEMU, byte-identical: best %.3f ms "
               "(median %.3f, cpu %.3f); target < 20 ms\n", largest_name,
               g_bytes_get_size(largest), t.best, t.median, t.cpu);
    }

    g_bytes_unref(s.qemu);
    g_bytes_unref(s.ber);
    devhost_free(s.dst);
    devhost_free(host.h);
    g_ptr_array_unref(host.qemu);
    g_ptr_array_unref(host.ber);
    g_free(host.scratch);
    g_rmdir(dir);
    return 0;
}

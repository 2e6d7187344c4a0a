/*
 * fuzz-seeds DIR: write the seed inputs of the harnesses that need binary
 * ones, made by vmscope's own writers from a device host running the
 * default devices (tests/fuzz/corpus/ holds what it wrote, with the
 * hand-written seeds of the text harnesses):
 *   DIR/qemu-stream/devhost.mig     the host's state as a QEMU stream
 *   DIR/shm-reader/devhost.seg      its segment file, after a few ticks
 *   DIR/vmstate-desc/TYPE.bin       each device's published description and
 *                                   state, in fuzz-vmstate-desc's layout
 *   DIR/ber/devhost.ber             a small host's BER stream (no vmdesc)
 *   DIR/ber/converted.ber           its QEMU stream converted to BER (with
 *                                   QEMU's configuration and vmdesc)
 *   DIR/ber/TYPE.der                a few devices' states as BER Values
 * Built by `make fuzz-seeds` (any build); regenerate the corpus with
 *   ./tests/fuzz/fuzz-seeds $(top_srcdir)/tests/fuzz/corpus
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "devices/devhost.h"
#include "devices/migration.h"
#include "vmscope/ber-stream.h"
#include "vmscope/ber-visitor.h"
#include "vmscope/vmstate.h"

static void put(const char *dir, const char *sub, const char *name, const void *data, size_t len)
{
    g_autofree char *d = g_build_filename(dir, sub, NULL);
    g_autofree char *path = g_build_filename(d, name, NULL);
    g_autoptr(GError) err = NULL;
    if (g_mkdir_with_parents(d, 0755) < 0 ||
        !g_file_set_contents(path, data, (gssize)len, &err)) {
        fprintf(stderr, "fuzz-seeds: %s: %s\n", path, err ? err->message : g_strerror(errno));
        exit(1);
    }
    printf("%s: %zu bytes\n", path, len);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz-seeds DIR\n");
        return 2;
    }
    g_autoptr(GError) err = NULL;
    g_autofree char *shm = g_dir_make_tmp("vmscope-fuzz-seeds-XXXXXX", &err);
    DevHostConfig config = { .name = "seed", .shm_dir = shm };
    DevHost *h = shm ? devhost_new(&config, DEVHOST_RUNNING, &err) : NULL;
    if (!h) {
        fprintf(stderr, "fuzz-seeds: %s\n", err->message);
        return 1;
    }
    for (int i = 0; i < 5; i++) {
        devhost_tick(h);
    }

    g_autoptr(GBytes) stream = migration_save_stream(h, false, &err);
    if (!stream) {
        fprintf(stderr, "fuzz-seeds: %s\n", err->message);
        return 1;
    }
    put(argv[1], "qemu-stream", "devhost.mig", g_bytes_get_data(stream, NULL),
        g_bytes_get_size(stream));

    /* A small host for the segment: a seed is best small. */
    DevHostConfig small_config = { .name = "small", .shm_dir = shm,
                                   .devices = "mc146818rtc,serial,slirp" };
    DevHost *small = devhost_new(&small_config, DEVHOST_RUNNING, &err);
    for (int i = 0; small && i < 5; i++) {
        devhost_tick(small);
    }
    g_autofree char *seg = NULL;
    gsize seg_len;
    if (!small || !g_file_get_contents(devhost_segment_path(small), &seg, &seg_len, &err)) {
        fprintf(stderr, "fuzz-seeds: %s\n", err->message);
        return 1;
    }
    put(argv[1], "shm-reader", "devhost.seg", seg, seg_len);

    /* BER: the small host's stream in BER, and its QEMU stream converted. */
    g_autoptr(GBytes) ber = migration_save_stream(small, true, &err);
    g_autoptr(GBytes) qemu = ber ? migration_save_stream(small, false, &err) : NULL;
    g_autoptr(QemuStream) qs = qemu ? qemu_stream_parse(qemu, &err) : NULL;
    g_autoptr(GBytes) converted = qs ? ber_stream_from_qemu(qs, &err) : NULL;
    if (!converted) {
        fprintf(stderr, "fuzz-seeds: %s\n", err->message);
        return 1;
    }
    put(argv[1], "ber", "devhost.ber", g_bytes_get_data(ber, NULL), g_bytes_get_size(ber));
    put(argv[1], "ber", "converted.ber", g_bytes_get_data(converted, NULL),
        g_bytes_get_size(converted));
    devhost_free(small);

    for (size_t i = 0; i < devhost_n_devices(h); i++) {
        DevHostDevice *d = devhost_device(h, i);
        if (d->instance_id != 0) {
            continue;           /* one of each type */
        }
        g_autoptr(QObject) desc = vmstate_describe(d->vmsd);
        g_autofree char *json = qobject_to_json(desc, false);
        size_t json_len = strlen(json), size = d->type->state_size;
        if (json_len > 0xffff || size > 0xffff) {
            continue;
        }
        GByteArray *b = g_byte_array_new();
        uint8_t head[4] = { size & 0xff, size >> 8, json_len & 0xff, json_len >> 8 };
        g_byte_array_append(b, head, 4);
        g_byte_array_append(b, (const uint8_t *)json, (guint)json_len);
        g_byte_array_append(b, d->state, (guint)size);
        g_autofree char *name = g_strdup_printf("%s.bin", d->type->name);
        put(argv[1], "vmstate-desc", name, b->data, b->len);
        g_byte_array_unref(b);

        /* Each device's state as one BER Value. */
        Visitor *v = ber_output_visitor_new();
        VMStateContext region = devhost_region(h);
        if (!vmstate_save(v, d->vmsd, d->state, &region, &err)) {
            fprintf(stderr, "fuzz-seeds: %s: %s\n", d->type->name, err->message);
            return 1;
        }
        g_autoptr(GBytes) der = ber_output_visitor_take(v);
        visit_free(v);
        g_autofree char *der_name = g_strdup_printf("%s.der", d->type->name);
        put(argv[1], "ber", der_name, g_bytes_get_data(der, NULL), g_bytes_get_size(der));
    }
    devhost_free(h);
    g_rmdir(shm);
    return 0;
}

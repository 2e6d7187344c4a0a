/*
 * How fast the VMState engine walks a device (the test device of the unit
 * tests: 19 fields of every kind, 89 bytes in QEMU's format): save as a
 * QObject, save and load in QEMU's format, vmdesc, rebuilding a description.
 * Prints figures; never fails on timing.
 */
#include "config.h"

#include <stdio.h>

#include "vmscope/qemu-stream.h"
#include "vmscope/qemufile-visitor.h"
#include "vmscope/qobject-visitor.h"
#include "vmscope/vmstate.h"
#include "../unit/vmstate-test-dev.h"

typedef bool (*BenchFn)(Dev *d, GError **errp);

static bool save_qobject(Dev *d, GError **errp)
{
    Visitor *v = qobject_output_visitor_new();
    bool ok = vmstate_save(v, &vmstate_dev, d, NULL, errp);
    qobject_unref(qobject_output_visitor_take(v));
    visit_free(v);
    return ok;
}

static bool save_qemufile(Dev *d, GError **errp)
{
    ByteWriter w;
    byte_writer_init(&w);
    Visitor *v = qemufile_output_visitor_new(&w);
    bool ok = vmstate_save(v, &vmstate_dev, d, NULL, errp);
    visit_free(v);
    byte_writer_clear(&w);
    return ok;
}

static bool load_qemufile(Dev *d, GError **errp)
{
    ByteReader r;
    byte_reader_init(&r, DEV_BYTES, sizeof(DEV_BYTES), 0);
    Visitor *v = qemufile_input_visitor_new(&r);
    bool ok = vmstate_load_copy(v, &vmstate_dev, d, sizeof(*d), 3, NULL, errp);
    visit_free(v);
    return ok;
}

static bool vmdesc(Dev *d, GError **errp)
{
    QObject *obj = qemu_stream_device_vmdesc(&vmstate_dev, d, NULL, errp);
    qobject_unref(obj);
    return obj != NULL;
}

static bool rebuild(Dev *d, GError **errp)
{
    static QObject *desc;
    if (!desc) {
        desc = vmstate_describe(&vmstate_dev);
    }
    VMStateDescription *r = vmstate_from_description(desc, sizeof(*d), errp);
    vmstate_description_free(r);
    return r != NULL;
}

static int run(const char *what, BenchFn fn, int iterations)
{
    Dev d;
    GError *err = NULL;
    dev_init(&d);
    gint64 start = g_get_monotonic_time();
    for (int i = 0; i < iterations; i++) {
        if (!fn(&d, &err)) {
            fprintf(stderr, "%s: %s\n", what, err->message);
            g_error_free(err);
            return 1;
        }
    }
    double us = (double)(g_get_monotonic_time() - start) / iterations;
    printf("%-28s %8.2f us/op %10.0f ops/s\n", what, us, 1e6 / us);
    return 0;
}

int main(void)
{
    return run("save QObject", save_qobject, 20000) ||
           run("save QEMU format", save_qemufile, 100000) ||
           run("load QEMU format (copy)", load_qemufile, 100000) ||
           run("vmdesc", vmdesc, 20000) ||
           run("description from JSON", rebuild, 20000);
}

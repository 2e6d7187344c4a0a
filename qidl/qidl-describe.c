/*
 * qidl-describe DIR: what the build generates besides the descriptions
 * themselves (docs/qidl.md), for every reference device type, from the
 * descriptions the devices were compiled with:
 *   DIR/TYPE.schema.json   the JSON Schema of its state (vmstate_json_schema)
 *   DIR/TYPE.vmstate.json  its QEMU -dump-vmstate description (vmstate_dump_add)
 * Each file is written whole or not at all.
 */
#include "config.h"

#include <stdio.h>

#include "devices.h"
#include "vmscope/qobject.h"
#include "vmscope/vmstate.h"

static bool write_json(const char *dir, const char *type, const char *suffix, QObject *obj,
                       GError **errp)
{
    g_autofree char *json = qobject_to_json(obj, true);
    g_autofree char *text = g_strconcat(json, "\n", NULL);
    g_autofree char *name = g_strconcat(type, suffix, NULL);
    g_autofree char *path = g_build_filename(dir, name, NULL);
    return g_file_set_contents(path, text, -1, errp);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: qidl-describe DIR\n");
        return 2;
    }
    for (const DeviceType *const *t = device_types; *t; t++) {
        g_autoptr(GError) err = NULL;
        g_autoptr(QObject) schema = vmstate_json_schema((*t)->vmsd, (*t)->state_size, &err);
        g_autoptr(QObject) dump = vmstate_dump_new("vmscope-devhost");
        vmstate_dump_add(dump, (*t)->name, (*t)->vmsd, VMSTATE_DUMP_TYPES);
        if (!schema || !write_json(argv[1], (*t)->name, ".schema.json", schema, &err) ||
            !write_json(argv[1], (*t)->name, ".vmstate.json", dump, &err)) {
            fprintf(stderr, "qidl-describe: %s: %s\n", (*t)->name, err->message);
            return 1;
        }
    }
    return 0;
}

/*
 * Building a migration stream from device payloads: what a device host
 * sends.  The result has QEMU's framing (header, configuration with the
 * machine name, FULL sections with footers, EOF, vmdesc) and is parsed back
 * before it is returned, so a payload that disagrees with its description
 * never leaves the builder.
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "qemu-stream-impl.h"
#include "vmscope/error.h"

typedef struct BuiltSection {
    char *name;
    uint32_t instance_id;
    uint32_t version_id;
    GBytes *payload;
} BuiltSection;

struct QemuStreamBuilder {
    char *machine;
    GPtrArray *sections;    /* BuiltSection * */
};

static void built_section_free(gpointer p)
{
    BuiltSection *bs = p;
    g_free(bs->name);
    g_bytes_unref(bs->payload);
    g_free(bs);
}

QemuStreamBuilder *qemu_stream_builder_new(const char *machine)
{
    QemuStreamBuilder *b = g_new0(QemuStreamBuilder, 1);
    b->machine = g_strdup(machine);
    b->sections = g_ptr_array_new_with_free_func(built_section_free);
    return b;
}

void qemu_stream_builder_free(QemuStreamBuilder *b)
{
    if (!b) {
        return;
    }
    g_free(b->machine);
    g_ptr_array_unref(b->sections);
    g_free(b);
}

bool qemu_stream_builder_add_full(QemuStreamBuilder *b, const char *name, uint32_t instance_id,
                                  uint32_t version_id, GBytes *payload, GError **errp)
{
    size_t len = strlen(name);
    if (len == 0 || len > 255) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "section name '%s': must be 1 to 255 bytes long", name);
        return false;
    }
    BuiltSection *bs = g_new0(BuiltSection, 1);
    bs->name = g_strdup(name);
    bs->instance_id = instance_id;
    bs->version_id = version_id;
    bs->payload = g_bytes_ref(payload);
    g_ptr_array_add(b->sections, bs);
    return true;
}

/* One vmdesc device entry with "name" and "instance_id" first, as QEMU writes it. */
static QObject *device_entry(const BuiltSection *bs, size_t index, QObject *given, GError **errp)
{
    if (qobject_type(given) != QTYPE_DICT) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "vmdesc device %zu: not an object", index);
        return NULL;
    }
    const char *name = qdict_get_str(given, "name");
    QObject *inst = qdict_get(given, "instance_id");
    uint64_t instance_id;
    if (name && strcmp(name, bs->name) != 0) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "vmdesc device %zu is named '%s' but section %zu is '%s'", index, name,
                    index, bs->name);
        return NULL;
    }
    if (inst && (!qnum_get_uint(inst, &instance_id) || instance_id != bs->instance_id)) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "vmdesc device %zu: instance_id does not match section instance %" PRIu32,
                    index, bs->instance_id);
        return NULL;
    }
    QObject *entry = qdict_new();
    qdict_put(entry, "name", qstring_from_str(bs->name));
    qdict_put(entry, "instance_id", qnum_from_uint(bs->instance_id));
    qdict_foreach(given, key, val) {
        if (strcmp(key, "name") != 0 && strcmp(key, "instance_id") != 0) {
            qdict_put(entry, key, qobject_ref(val));
        }
    }
    return entry;
}

/* The payload must be exactly what its description describes. */
static bool check_payload(const BuiltSection *bs, size_t index, QObject *desc, size_t at,
                          GError **errp)
{
    size_t n;
    const uint8_t *d = g_bytes_get_data(bs->payload, &n);
    g_autofree char *where = g_strdup_printf("section '%s' (id %zu)", bs->name, index);
    ByteReader r;
    byte_reader_init(&r, d, n, at);
    g_autoptr(QsDevice) dev = qs_device_learn(desc, at, n, bs->version_id, true, where, errp);
    if (!dev || !qs_device_load(dev, &r, (int)bs->version_id, where, errp)) {
        return false;
    }
    if (byte_reader_left(&r)) {
        vms_error_set_at(errp, VMS_ERROR_INVALID, byte_reader_offset(&r), where, NULL,
                         "the vmdesc describes %zu of the %zu payload bytes", r.pos, n);
        return false;
    }
    return true;
}

GBytes *qemu_stream_builder_finish(QemuStreamBuilder *b, QObject *devices, GError **errp)
{
    if (qobject_type(devices) != QTYPE_LIST || qlist_size(devices) != b->sections->len) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "vmdesc: expected a list of %u device entries, one per section",
                    b->sections->len);
        return NULL;
    }
    g_autoptr(QObject) vmdesc = qdict_new();
    QObject *list = qlist_new();
    qdict_put(vmdesc, "page_size", qnum_from_uint(4096));
    qdict_put(vmdesc, "devices", list);
    for (size_t i = 0; i < b->sections->len; i++) {
        QObject *entry = device_entry(g_ptr_array_index(b->sections, i), i,
                                      qlist_get(devices, i), errp);
        if (!entry) {
            return NULL;
        }
        qlist_append(list, entry);
    }
    g_autofree char *json = qobject_to_json(vmdesc, false);
    size_t json_len = strlen(json);
    size_t machine_len = strlen(b->machine);

    ByteWriter w;
    byte_writer_init(&w);
    byte_writer_be32(&w, QEMU_VM_FILE_MAGIC);
    byte_writer_be32(&w, QEMU_VM_FILE_VERSION);
    byte_writer_u8(&w, QEMU_VM_CONFIGURATION);
    byte_writer_be32(&w, (uint32_t)machine_len);
    byte_writer_write(&w, b->machine, machine_len);
    for (size_t i = 0; i < b->sections->len; i++) {
        const BuiltSection *bs = g_ptr_array_index(b->sections, i);
        size_t name_len = strlen(bs->name), n;
        const void *d = g_bytes_get_data(bs->payload, &n);
        byte_writer_u8(&w, QEMU_VM_SECTION_FULL);
        byte_writer_be32(&w, (uint32_t)i);
        byte_writer_u8(&w, (uint8_t)name_len);
        byte_writer_write(&w, bs->name, name_len);
        byte_writer_be32(&w, bs->instance_id);
        byte_writer_be32(&w, bs->version_id);
        if (!check_payload(bs, i, qlist_get(list, i), byte_writer_len(&w), errp)) {
            byte_writer_clear(&w);
            return NULL;
        }
        byte_writer_write(&w, d, n);
        byte_writer_u8(&w, QEMU_VM_SECTION_FOOTER);
        byte_writer_be32(&w, (uint32_t)i);
    }
    byte_writer_u8(&w, QEMU_VM_EOF);
    byte_writer_u8(&w, QEMU_VM_VMDESCRIPTION);
    byte_writer_be32(&w, (uint32_t)json_len);
    byte_writer_write(&w, json, json_len);
    g_autoptr(GBytes) out = byte_writer_take(&w);
    byte_writer_clear(&w);

    g_autoptr(GError) err = NULL;
    g_autoptr(QemuStream) check = qemu_stream_parse(out, &err);
    if (!check) {
        g_set_error(errp, VMS_ERROR, err->code, "built stream does not parse: %s", err->message);
        return NULL;
    }
    return g_steal_pointer(&out);
}

/* The table of reference device models, and older versions of their descriptions. */
#include "config.h"

#include <string.h>

#include "devices.h"
#include "vmscope/error.h"

extern const DeviceType device_rtc, device_serial, device_pit, device_virtio_blk,
    device_apic, device_kvm_apic, device_slirp;

const DeviceType *const device_types[] = {
    &device_rtc, &device_serial, &device_pit, &device_virtio_blk,
    &device_apic, &device_kvm_apic, &device_slirp, NULL,
};

const DeviceType *device_type_find(const char *name)
{
    for (const DeviceType *const *t = device_types; *t; t++) {
        if (strcmp((*t)->name, name) == 0) {
            return *t;
        }
    }
    return NULL;
}

const char *device_default_list(void)
{
    static char *list;
    if (g_once_init_enter(&list)) {
        GString *s = g_string_new(NULL);
        for (const DeviceType *const *t = device_types; *t; t++) {
            for (unsigned i = 0; i < (*t)->default_count; i++) {
                g_string_append_printf(s, "%s%s", s->len ? "," : "", (*t)->name);
            }
        }
        g_once_init_leave(&list, g_string_free(s, FALSE));
    }
    return list;
}

static GMutex version_lock;
static GHashTable *version_cache;     /* "type@N" -> VMStateDescription *, never freed */

const VMStateDescription *device_vmsd_at_version(const DeviceType *type, int version,
                                                 GError **errp)
{
    const VMStateDescription *cur = type->vmsd;
    if (version == cur->version_id) {
        return cur;
    }
    if (version > cur->version_id || version < cur->minimum_version_id) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_VERSION,
                    "device type '%s' supports versions %d to %d, not %d",
                    type->name, cur->minimum_version_id, cur->version_id, version);
        return NULL;
    }

    g_autofree char *key = g_strdup_printf("%s@%d", type->name, version);
    g_mutex_lock(&version_lock);
    if (!version_cache) {
        version_cache = g_hash_table_new(g_str_hash, g_str_equal);
    }
    VMStateDescription *vmsd = g_hash_table_lookup(version_cache, key);
    if (!vmsd) {
        /* Same description without the fields a version-N device did not have. */
        size_t n = 0;
        for (const VMStateField *f = cur->fields; f->name; f++) {
            n++;
        }
        VMStateField *fields = g_new0(VMStateField, n + 1);
        size_t k = 0;
        for (const VMStateField *f = cur->fields; f->name; f++) {
            if (f->version_id <= version) {
                fields[k++] = *f;
            }
        }
        vmsd = g_new(VMStateDescription, 1);
        *vmsd = *cur;
        vmsd->version_id = version;
        vmsd->fields = fields;
        g_hash_table_insert(version_cache, g_strdup(key), vmsd);
    }
    g_mutex_unlock(&version_lock);
    return vmsd;
}

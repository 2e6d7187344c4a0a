/*
 * The device host: devices in a segment, a tick timer, a run state.
 * See devhost.h for the contract.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "devhost.h"
#include "vmscope/error.h"
#include "vmscope/qobject.h"

struct DevHost {
    char *name;
    ShmWriter *shm;
    GPtrArray *devices;            /* DevHostDevice *, in list order */
    GHashTable *by_section;        /* "vmsd-name/instance" -> DevHostDevice * */
    DeviceHeap heap;
    DevHostRunState state;
    DevHostStateFunc listener;
    void *listener_opaque;
    DevHostErrorFunc error_fn;
    void *error_opaque;
    uint64_t ticks;
    GSource *timer;
};

const char *devhost_run_state_name(DevHostRunState state)
{
    switch (state) {
    case DEVHOST_PRELAUNCH: return "prelaunch";
    case DEVHOST_RUNNING: return "running";
    case DEVHOST_PAUSED: return "paused";
    case DEVHOST_INMIGRATE: return "inmigrate";
    case DEVHOST_FINISH_MIGRATE: return "finish-migrate";
    case DEVHOST_POSTMIGRATE: return "postmigrate";
    }
    return "unknown";
}

/* ---- flags ---------------------------------------------------------------- */

static char *known_types(void)
{
    GString *s = g_string_new(NULL);
    for (const DeviceType *const *t = device_types; *t; t++) {
        g_string_append_printf(s, "%s%s", s->len ? ", " : "", (*t)->name);
    }
    return g_string_free(s, FALSE);
}

GPtrArray *devhost_parse_devices(const char *list, GError **errp)
{
    g_autoptr(GPtrArray) types = g_ptr_array_new();
    g_auto(GStrv) items = g_strsplit(list, ",", -1);
    for (char **item = items; *item; item++) {
        const char *colon = strchr(*item, ':');
        g_autofree char *name = colon ? g_strndup(*item, (gsize)(colon - *item)) : g_strdup(*item);
        uint64_t count = 1;
        if (!*name) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                        "--devices: empty device type in '%s'", list);
            return NULL;
        }
        const DeviceType *type = device_type_find(name);
        if (!type) {
            g_autofree char *known = known_types();
            g_set_error(errp, VMS_ERROR, VMS_ERROR_NOT_FOUND,
                        "--devices: unknown device type '%s' (known: %s)", name, known);
            return NULL;
        }
        if (colon && (!g_ascii_string_to_unsigned(colon + 1, 10, 1, DEVHOST_MAX_DEVICES,
                                                  &count, NULL))) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                        "--devices: '%s': COUNT must be a number from 1 to %d", *item,
                        DEVHOST_MAX_DEVICES);
            return NULL;
        }
        if (types->len + count > DEVHOST_MAX_DEVICES) {
            /* Count the rest too, so the message gives the total. */
            uint64_t total = types->len + count;
            for (char **rest = item + 1; *rest; rest++) {
                const char *c = strchr(*rest, ':');
                uint64_t n = 1;
                if (c && !g_ascii_string_to_unsigned(c + 1, 10, 1, DEVHOST_MAX_DEVICES, &n,
                                                     NULL)) {
                    n = 1;
                }
                total += n;
            }
            g_set_error(errp, VMS_ERROR, VMS_ERROR_RANGE,
                        "--devices: %" PRIu64 " devices, at most %d", total, DEVHOST_MAX_DEVICES);
            return NULL;
        }
        for (uint64_t i = 0; i < count; i++) {
            g_ptr_array_add(types, (gpointer)type);
        }
    }
    if (types->len == 0) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "--devices: no devices given");
        return NULL;
    }
    return g_steal_pointer(&types);
}

bool devhost_parse_version(const char *spec, const DeviceType **type,
                           const VMStateDescription **vmsd, GError **errp)
{
    const char *eq = strchr(spec, '=');
    uint64_t version;
    if (!eq || eq == spec ||
        !g_ascii_string_to_unsigned(eq + 1, 10, 0, INT32_MAX, &version, NULL)) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "--device-version: '%s': expected TYPE=N", spec);
        return false;
    }
    g_autofree char *name = g_strndup(spec, (gsize)(eq - spec));
    *type = device_type_find(name);
    if (!*type) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_NOT_FOUND,
                    "--device-version: unknown device type '%s'", name);
        return false;
    }
    *vmsd = device_vmsd_at_version(*type, (int)version, errp);
    if (!*vmsd) {
        vms_error_prefix(errp, "--device-version %s", spec);
        return false;
    }
    return true;
}

/* ---- segment pointers ------------------------------------------------------ */

static bool vmsd_has_segptr(const VMStateDescription *vmsd)
{
    for (const VMStateField *f = vmsd->fields; f->name; f++) {
        if (f->shape == VMSTATE_SEGPTR ||
            ((f->info->flags & VMSTATE_INFO_STRUCT) && vmsd_has_segptr(f->vmsd))) {
            return true;
        }
    }
    for (const VMStateDescription *const *s = vmsd->subsections; s && *s; s++) {
        if (vmsd_has_segptr(*s)) {
            return true;
        }
    }
    return false;
}

static bool collect_segptrs(const VMStateDescription *vmsd, size_t base, GArray *out,
                            GError **errp)
{
    for (const VMStateField *f = vmsd->fields; f->name; f++) {
        if (f->shape == VMSTATE_SEGPTR) {
            if ((f->info->flags & VMSTATE_INFO_STRUCT) && vmsd_has_segptr(f->vmsd)) {
                g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                            "%s.%s: segment pointers inside segment-pointer elements are "
                            "not supported", vmsd->name, f->name);
                return false;
            }
            DevHostSegPtr p = {
                .offset = base + f->offset, .num_offset = base + f->num_offset,
                .num_info = f->num_info, .elem_size = f->size, .max = f->num,
            };
            g_array_append_val(out, p);
        } else if ((f->info->flags & VMSTATE_INFO_STRUCT) && vmsd_has_segptr(f->vmsd)) {
            size_t n = f->shape == VMSTATE_SINGLE ? 1 : f->num;
            if (f->shape != VMSTATE_SINGLE && f->shape != VMSTATE_ARRAY) {
                g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                            "%s.%s: segment pointers inside counted arrays are not supported",
                            vmsd->name, f->name);
                return false;
            }
            for (size_t i = 0; i < n; i++) {
                if (!collect_segptrs(f->vmsd, base + f->offset + i * f->size, out, errp)) {
                    return false;
                }
            }
        }
    }
    for (const VMStateDescription *const *s = vmsd->subsections; s && *s; s++) {
        if (!collect_segptrs(*s, base, out, errp)) {
            return false;
        }
    }
    return true;
}

bool devhost_segptrs(const VMStateDescription *vmsd, GArray *out, GError **errp)
{
    return collect_segptrs(vmsd, 0, out, errp);
}

uint64_t devhost_segptr_count(const DevHostSegPtr *p, const void *state)
{
    const uint8_t *at = (const uint8_t *)state + p->num_offset;
    switch (p->num_info->int_kind) {
    case VISIT_INT8: { int8_t v; memcpy(&v, at, 1); return v < 0 ? 0 : (uint64_t)v; }
    case VISIT_INT16: { int16_t v; memcpy(&v, at, 2); return v < 0 ? 0 : (uint64_t)v; }
    case VISIT_INT32: { int32_t v; memcpy(&v, at, 4); return v < 0 ? 0 : (uint64_t)v; }
    case VISIT_INT64: { int64_t v; memcpy(&v, at, 8); return v < 0 ? 0 : (uint64_t)v; }
    case VISIT_UINT8: { uint8_t v; memcpy(&v, at, 1); return v; }
    case VISIT_UINT16: { uint16_t v; memcpy(&v, at, 2); return v; }
    case VISIT_UINT32: { uint32_t v; memcpy(&v, at, 4); return v; }
    case VISIT_UINT64: { uint64_t v; memcpy(&v, at, 8); return v; }
    }
    return 0;
}

/* ---- the host -------------------------------------------------------------- */

static uint64_t heap_alloc(void *opaque, size_t n)
{
    DevHost *h = opaque;
    g_autoptr(GError) err = NULL;
    return shm_heap_alloc(h->shm, n, &err);      /* 0 when full: the model copes */
}

static void heap_free(void *opaque, uint64_t offset)
{
    DevHost *h = opaque;
    g_autoptr(GError) err = NULL;
    if (!shm_heap_free(h->shm, offset, &err)) {
        devhost_report_error(h, err);            /* a model freed what it did not own */
    }
}

static void device_free(gpointer p)
{
    DevHostDevice *d = p;
    g_free(d->id);
    g_free(d);
}

GPtrArray *devhost_plan(const DevHostConfig *config, GError **errp)
{
    g_autoptr(GPtrArray) types =
        devhost_parse_devices(config->devices ? config->devices : device_default_list(), errp);
    if (!types) {
        return NULL;
    }
    /* The description each type runs at. */
    g_autoptr(GHashTable) vmsds = g_hash_table_new(NULL, NULL);      /* type -> vmsd */
    for (const char *const *v = config->versions; v && *v; v++) {
        const DeviceType *type;
        const VMStateDescription *vmsd;
        if (!devhost_parse_version(*v, &type, &vmsd, errp)) {
            return NULL;
        }
        g_hash_table_insert(vmsds, (gpointer)type, (gpointer)vmsd);
    }
    GPtrArray *plan = g_ptr_array_new_with_free_func(device_free);
    g_autoptr(GHashTable) counts = g_hash_table_new(NULL, NULL);     /* type -> next index */
    for (guint i = 0; i < types->len; i++) {
        const DeviceType *type = types->pdata[i];
        uint32_t index = GPOINTER_TO_UINT(g_hash_table_lookup(counts, type));
        g_hash_table_insert(counts, (gpointer)type, GUINT_TO_POINTER(index + 1));
        DevHostDevice *d = g_new0(DevHostDevice, 1);
        d->type = type;
        d->vmsd = g_hash_table_lookup(vmsds, type);
        if (!d->vmsd) {
            d->vmsd = type->vmsd;
        }
        d->instance_id = index;
        d->index = i;
        d->id = g_strdup_printf("%s%u", type->short_name, index);
        g_ptr_array_add(plan, d);
    }
    return plan;
}

DevHost *devhost_new(const DevHostConfig *config, DevHostRunState initial, GError **errp)
{
    if (!shm_host_name_valid(config->name, errp)) {
        vms_error_prefix(errp, "--name");
        return NULL;
    }
    g_autoptr(GPtrArray) plan = devhost_plan(config, errp);
    if (!plan) {
        return NULL;
    }

    /* Room for each device: its state, its description's text, its lists (see devhost.h). */
    g_autoptr(GHashTable) texts = g_hash_table_new_full(NULL, NULL, NULL, g_free);  /* vmsd -> */
    size_t need = 64 * 1024;
    for (guint i = 0; i < plan->len; i++) {
        const DevHostDevice *d = plan->pdata[i];
        char *text = g_hash_table_lookup(texts, d->vmsd);
        if (!text) {
            g_autoptr(QObject) desc = vmstate_describe(d->vmsd);
            text = qobject_to_json(desc, false);
            g_hash_table_insert(texts, (gpointer)d->vmsd, text);
        }
        g_autoptr(GArray) segptrs = g_array_new(FALSE, FALSE, sizeof(DevHostSegPtr));
        if (!devhost_segptrs(d->vmsd, segptrs, errp)) {
            return NULL;
        }
        need += shm_block_size(d->type->state_size) + shm_block_size(strlen(text) + 1);
        for (guint k = 0; k < segptrs->len; k++) {
            const DevHostSegPtr *p = &g_array_index(segptrs, DevHostSegPtr, k);
            need += 3 * shm_block_size(p->max * p->elem_size);
        }
    }

    DevHost *h = g_new0(DevHost, 1);
    h->name = g_strdup(config->name);
    h->state = initial;
    h->devices = g_ptr_array_new_with_free_func(device_free);
    h->by_section = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    h->shm = shm_writer_create_group(config->shm_dir, config->name,
                                     shm_segment_size(plan->len, need), plan->len,
                                     config->group ? *config->group : (gid_t)-1, errp);
    if (!h->shm) {
        devhost_free(h);
        return NULL;
    }
    g_ptr_array_extend_and_steal(h->devices, g_steal_pointer(&plan));
    h->heap = (DeviceHeap){
        .base = shm_writer_base(h->shm), .size = shm_writer_size(h->shm),
        .alloc = heap_alloc, .free = heap_free, .opaque = h,
    };

    for (guint i = 0; i < h->devices->len; i++) {
        DevHostDevice *d = h->devices->pdata[i];
        d->shm = shm_writer_add_device(h->shm, d->id, d->type->name, d->instance_id,
                                       (uint32_t)d->vmsd->version_id,
                                       g_hash_table_lookup(texts, d->vmsd),
                                       d->type->state_size, errp);
        if (!d->shm) {
            g_ptr_array_set_size(h->devices, i);         /* those not in the segment */
            devhost_free(h);
            return NULL;
        }
        d->state = shm_device_state(d->shm);
        g_hash_table_insert(h->by_section,
                            g_strdup_printf("%s/%" PRIu32, d->vmsd->name, d->instance_id), d);
        shm_device_begin_update(d->shm);
        d->type->init(d->state, d->instance_id, &h->heap);
        shm_device_end_update(d->shm);
    }
    shm_writer_heartbeat(h->shm);
    return h;
}

void devhost_free(DevHost *h)
{
    if (!h) {
        return;
    }
    if (h->timer) {
        g_source_destroy(h->timer);
        g_source_unref(h->timer);
    }
    for (guint i = 0; h->devices && i < h->devices->len; i++) {
        DevHostDevice *d = h->devices->pdata[i];
        if (d->type->fini) {
            shm_device_begin_update(d->shm);
            d->type->fini(d->state, &h->heap);
            shm_device_end_update(d->shm);
        }
    }
    if (h->by_section) {
        g_hash_table_destroy(h->by_section);
    }
    if (h->devices) {
        g_ptr_array_free(h->devices, TRUE);
    }
    g_autoptr(GError) err = NULL;
    if (!shm_writer_close(h->shm, &err)) {
        devhost_report_error(h, err);
    }
    g_free(h->name);
    g_free(h);
}

void devhost_set_error_func(DevHost *h, DevHostErrorFunc fn, void *opaque)
{
    h->error_fn = fn;
    h->error_opaque = opaque;
}

void devhost_report_error(DevHost *h, const GError *err)
{
    if (h->error_fn) {
        h->error_fn(err, h->error_opaque);
    }
}

void devhost_tick(DevHost *h)
{
    h->ticks++;
    for (guint i = 0; i < h->devices->len; i++) {
        DevHostDevice *d = h->devices->pdata[i];
        shm_device_begin_update(d->shm);
        d->type->tick(d->state, h->ticks, &h->heap);
        shm_device_end_update(d->shm);
    }
}

static gboolean on_timer(gpointer opaque)
{
    DevHost *h = opaque;
    if (h->state == DEVHOST_RUNNING) {
        devhost_tick(h);
    }
    shm_writer_heartbeat(h->shm);
    return G_SOURCE_CONTINUE;
}

void devhost_attach(DevHost *h, GMainContext *ctx, unsigned tick_ms)
{
    g_return_if_fail(!h->timer);
    h->timer = g_timeout_source_new(tick_ms);
    g_source_set_callback(h->timer, on_timer, h, NULL);
    g_source_attach(h->timer, ctx);
}

uint64_t devhost_ticks(const DevHost *h) { return h->ticks; }
DevHostRunState devhost_run_state(const DevHost *h) { return h->state; }

void devhost_set_run_state(DevHost *h, DevHostRunState state)
{
    DevHostRunState old = h->state;
    if (old == state) {
        return;
    }
    h->state = state;
    if (h->listener) {
        h->listener(old, state, h->listener_opaque);
    }
}

void devhost_set_state_listener(DevHost *h, DevHostStateFunc fn, void *opaque)
{
    h->listener = fn;
    h->listener_opaque = opaque;
}

const char *devhost_name(const DevHost *h) { return h->name; }
const char *devhost_segment_path(const DevHost *h) { return shm_writer_path(h->shm); }
ShmWriter *devhost_writer(const DevHost *h) { return h->shm; }

VMStateContext devhost_region(const DevHost *h)
{
    return (VMStateContext){ .base = shm_writer_base(h->shm), .size = shm_writer_size(h->shm) };
}

size_t devhost_n_devices(const DevHost *h) { return h->devices->len; }

DevHostDevice *devhost_device(const DevHost *h, size_t index)
{
    return index < h->devices->len ? h->devices->pdata[index] : NULL;
}

DevHostDevice *devhost_find_device(const DevHost *h, const char *vmsd_name, uint32_t instance_id)
{
    g_autofree char *key = g_strdup_printf("%s/%" PRIu32, vmsd_name, instance_id);
    return g_hash_table_lookup(h->by_section, key);
}

/*
 * A device host's state as a QEMU migration stream, and back.  See
 * migration.h; the load is all or nothing.
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "migration.h"
#include "vmscope/error.h"
#include "vmscope/qemu-stream.h"
#include "vmscope/qemufile-visitor.h"

GBytes *migration_save_stream(DevHost *h, GError **errp)
{
    VMStateContext ctx = devhost_region(h);
    g_autoptr(QemuStreamBuilder) b = qemu_stream_builder_new(MIGRATION_MACHINE);
    g_autoptr(QObject) vmdescs = qlist_new();
    for (size_t i = 0; i < devhost_n_devices(h); i++) {
        DevHostDevice *d = devhost_device(h, i);
        QObject *vmdesc = qdict_new();
        qlist_append(vmdescs, vmdesc);
        qdict_put(vmdesc, "name", qstring_from_str(d->vmsd->name));
        qdict_put(vmdesc, "instance_id", qnum_from_uint(d->instance_id));
        ByteWriter w;
        byte_writer_init(&w);
        bool ok = qemu_stream_save_device(&w, d->vmsd, d->state, &ctx, vmdesc, errp);
        g_autoptr(GBytes) payload = byte_writer_take(&w);
        byte_writer_clear(&w);
        if (!ok || !qemu_stream_builder_add_full(b, d->vmsd->name, d->instance_id,
                                                 (uint32_t)d->vmsd->version_id, payload, errp)) {
            vms_error_prefix(errp, "device %s", d->id);
            return NULL;
        }
    }
    return qemu_stream_builder_finish(b, vmdescs, errp);
}

/* One device's load, waiting for the commit. */
typedef struct Staged {
    bool loaded;
    uint8_t *scratch;           /* the new state (segment pointers: into `region`) */
    GArray *segptrs;            /* DevHostSegPtr */
    uint8_t *region;            /* staging region for segment-pointer elements */
    size_t region_size;
    uint64_t *new_blocks;       /* per segptr: heap offset allocated at commit (0: none) */
} Staged;

static void staged_clear(Staged *st)
{
    g_free(st->scratch);
    if (st->segptrs) {
        g_array_free(st->segptrs, TRUE);
    }
    g_free(st->region);
    g_free(st->new_blocks);
    memset(st, 0, sizeof(*st));
}

static uint64_t get_u64(const uint8_t *state, size_t offset)
{
    uint64_t v;
    memcpy(&v, state + offset, sizeof(v));
    return v;
}

static void set_u64(uint8_t *state, size_t offset, uint64_t v)
{
    memcpy(state + offset, &v, sizeof(v));
}

/* Load one section into a scratch copy of d's state. */
static bool load_section(DevHost *h, DevHostDevice *d, const QemuStreamSection *sec, Staged *st,
                         GError **errp)
{
    const VMStateDescription *vmsd = d->vmsd;
    if (sec->version_id > (uint32_t)vmsd->version_id) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_VERSION,
                    "device %s: the stream has %s version %" PRIu32
                    ", this host runs version %d", d->id, vmsd->name, sec->version_id,
                    vmsd->version_id);
        return false;
    }
    if (sec->version_id < (uint32_t)vmsd->minimum_version_id) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_VERSION,
                    "device %s: the stream has %s version %" PRIu32
                    ", older than this host's minimum version %d", d->id, vmsd->name,
                    sec->version_id, vmsd->minimum_version_id);
        return false;
    }

    size_t size = d->type->state_size;
    st->scratch = g_malloc(size);
    memcpy(st->scratch, d->state, size);
    st->segptrs = g_array_new(FALSE, FALSE, sizeof(DevHostSegPtr));
    if (!devhost_segptrs(vmsd, st->segptrs, errp)) {
        return false;
    }
    /* Every segment pointer gets room for its largest list in the staging region. */
    size_t at = SHM_ALIGN;          /* offset 0 means "none" to the models */
    for (guint k = 0; k < st->segptrs->len; k++) {
        const DevHostSegPtr *p = &g_array_index(st->segptrs, DevHostSegPtr, k);
        set_u64(st->scratch, p->offset, at);
        at += (p->max * p->elem_size + SHM_ALIGN - 1) / SHM_ALIGN * SHM_ALIGN;
    }
    st->region_size = at;
    st->region = g_malloc0(at);
    st->new_blocks = g_new0(uint64_t, st->segptrs->len + 1);
    VMStateContext ctx = { .base = st->region, .size = st->region_size };

    gsize len = 0;
    const uint8_t *data = g_bytes_get_data(sec->payload, &len);
    ByteReader r;
    byte_reader_init(&r, data, len, sec->offset);
    Visitor *v = qemufile_input_visitor_new(&r);
    bool ok = vmstate_load(v, vmsd, st->scratch, (int)sec->version_id, &ctx, errp);
    visit_free(v);
    if (!ok) {
        vms_error_prefix(errp, "device %s", d->id);
        return false;
    }
    if (byte_reader_left(&r)) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_EXTRA,
                    "device %s: offset %" PRIu64 ": %zu bytes of section '%s' left unread",
                    d->id, byte_reader_offset(&r), byte_reader_left(&r), sec->name);
        return false;
    }
    st->loaded = true;
    return true;
}

/* Allocate the heap blocks of every staged list and fill them; all or none. */
static bool commit_alloc(DevHost *h, Staged *staged, size_t n, GError **errp)
{
    ShmWriter *w = devhost_writer(h);
    for (size_t i = 0; i < n; i++) {
        Staged *st = &staged[i];
        for (guint k = 0; k < st->segptrs->len; k++) {
            const DevHostSegPtr *p = &g_array_index(st->segptrs, DevHostSegPtr, k);
            uint64_t count = devhost_segptr_count(p, st->scratch);
            uint64_t staged_at = get_u64(st->scratch, p->offset);
            uint64_t off = 0;
            if (count) {
                size_t bytes = (size_t)count * p->elem_size;
                off = shm_heap_alloc(w, bytes, errp);
                if (!off) {
                    vms_error_prefix(errp, "device %s", devhost_device(h, i)->id);
                    return false;        /* the caller frees what was allocated */
                }
                memcpy((uint8_t *)shm_writer_base(w) + off, st->region + staged_at, bytes);
            }
            st->new_blocks[k] = off;
        }
    }
    for (size_t i = 0; i < n; i++) {
        Staged *st = &staged[i];
        for (guint k = 0; k < st->segptrs->len; k++) {
            const DevHostSegPtr *p = &g_array_index(st->segptrs, DevHostSegPtr, k);
            set_u64(st->scratch, p->offset, st->new_blocks[k]);
        }
    }
    return true;
}

static void commit_abort(DevHost *h, Staged *staged, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (guint k = 0; staged[i].segptrs && k < staged[i].segptrs->len; k++) {
            if (staged[i].new_blocks[k]) {
                g_autoptr(GError) err = NULL;
                if (!shm_heap_free(devhost_writer(h), staged[i].new_blocks[k], &err)) {
                    devhost_report_error(h, err);
                }
                staged[i].new_blocks[k] = 0;
            }
        }
    }
}

static bool check_configuration(const QemuStream *s, GError **errp)
{
    QObject *conf = qemu_stream_configuration(s);
    const char *machine = conf ? qdict_get_str(conf, "name") : NULL;
    if (machine && strcmp(machine, MIGRATION_MACHINE) != 0) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "the stream is for machine '%s', this host is a %s", machine,
                    MIGRATION_MACHINE);
        return false;
    }
    return true;
}

bool migration_load_stream(DevHost *h, GBytes *stream, GError **errp)
{
    g_autoptr(QemuStream) s = qemu_stream_parse(stream, errp);
    if (!s || !check_configuration(s, errp)) {
        return false;
    }
    size_t n = devhost_n_devices(h);
    Staged *staged = g_new0(Staged, n);
    bool ok = true;

    for (size_t i = 0; ok && i < qemu_stream_n_sections(s); i++) {
        const QemuStreamSection *sec = qemu_stream_section(s, i);
        g_autofree char *name = qemu_stream_section_display_name(sec);
        if (sec->type != QEMU_VM_SECTION_FULL) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                        "offset %" PRIu64 ": section '%s' (%s): iterative sections are not "
                        "supported by a device host", sec->offset, name,
                        qemu_section_type_name(sec->type));
            ok = false;
            break;
        }
        DevHostDevice *d = devhost_find_device(h, sec->name, sec->instance_id);
        if (!d) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_NOT_FOUND,
                        "offset %" PRIu64 ": section '%s' (instance %" PRIu32
                        "): no such device on this host", sec->offset, sec->name,
                        sec->instance_id);
            ok = false;
        } else if (staged[d->index].loaded) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_EXTRA,
                        "offset %" PRIu64 ": section '%s' (instance %" PRIu32
                        ") appears twice", sec->offset, sec->name, sec->instance_id);
            ok = false;
        } else {
            ok = load_section(h, d, sec, &staged[d->index], errp);
        }
    }
    for (size_t i = 0; ok && i < n; i++) {
        if (!staged[i].loaded) {
            DevHostDevice *d = devhost_device(h, i);
            g_set_error(errp, VMS_ERROR, VMS_ERROR_MISSING,
                        "device %s (section '%s', instance %" PRIu32
                        ") is missing from the stream", d->id, d->vmsd->name, d->instance_id);
            ok = false;
        }
    }
    if (ok && !commit_alloc(h, staged, n, errp)) {
        commit_abort(h, staged, n);
        ok = false;
    }
    if (ok) {
        /* Swap every state; free the old lists inside the same update. */
        for (size_t i = 0; i < n; i++) {
            DevHostDevice *d = devhost_device(h, i);
            Staged *st = &staged[i];
            g_autofree uint64_t *old = g_new0(uint64_t, st->segptrs->len + 1);
            for (guint k = 0; k < st->segptrs->len; k++) {
                old[k] = get_u64(d->state, g_array_index(st->segptrs, DevHostSegPtr, k).offset);
            }
            shm_device_begin_update(d->shm);
            memcpy(d->state, st->scratch, d->type->state_size);
            for (guint k = 0; k < st->segptrs->len; k++) {
                g_autoptr(GError) err = NULL;
                if (old[k] && !shm_heap_free(devhost_writer(h), old[k], &err)) {
                    vms_error_prefix(&err, "device %s", d->id);
                    devhost_report_error(h, err);
                }
            }
            shm_device_end_update(d->shm);
        }
    }
    for (size_t i = 0; i < n; i++) {
        staged_clear(&staged[i]);
    }
    g_free(staged);
    return ok;
}

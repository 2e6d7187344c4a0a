/*
 * A device host's state as a migration stream, in QEMU's format or in BER,
 * and back.  See migration.h; the load is all or nothing.
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "migration.h"
#include "vmscope/ber-stream.h"
#include "vmscope/ber-visitor.h"
#include "vmscope/error.h"
#include "vmscope/qemu-stream.h"
#include "vmscope/qemufile-visitor.h"
#include "vmscope/qobject-visitor.h"

/* BER: the same sections, each device's state self-described; no vmdesc. */
static GBytes *save_stream_ber(DevHost *h, GError **errp)
{
    VMStateContext ctx = devhost_region(h);
    ByteWriter w, config;
    BerWriter bw;
    byte_writer_init(&w);
    byte_writer_init(&config);
    ber_writer_init(&bw, &w);
    ber_stream_put_header(&bw);
    byte_writer_be32(&config, (uint32_t)strlen(MIGRATION_MACHINE));
    byte_writer_write(&config, MIGRATION_MACHINE, strlen(MIGRATION_MACHINE));
    ber_stream_put_configuration(&bw, config.buf->data, config.buf->len);
    byte_writer_clear(&config);
    bool ok = true;
    for (size_t i = 0; ok && i < devhost_n_devices(h); i++) {
        DevHostDevice *d = devhost_device(h, i);
        ok = ber_stream_put_device(&bw, (uint32_t)i, d->vmsd->name, d->instance_id, false,
                                   d->vmsd, d->state, &ctx, errp);
        if (!ok) {
            vms_error_prefix(errp, "device %s", d->id);
        }
    }
    ber_stream_put_end(&bw, NULL);
    ber_writer_clear(&bw);
    GBytes *out = ok ? byte_writer_take(&w) : NULL;
    byte_writer_clear(&w);
    return out;
}

GBytes *migration_save_stream(DevHost *h, bool ber, GError **errp)
{
    if (ber) {
        return save_stream_ber(h, errp);
    }
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

/* A device section of either format, as loading needs it. */
typedef struct Incoming {
    const char *name;
    uint32_t instance_id;
    uint32_t version_id;
    uint64_t offset;
    GBytes *payload;            /* QEMU's format */
    const BerValue *state;      /* BER */
    QObject *tree;              /* a filtered state (filter.h) */
} Incoming;

/* Load one section into a scratch copy of d's state. */
static bool load_section(DevHost *h, DevHostDevice *d, const Incoming *sec, Staged *st,
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

    /* BER: type-checked against this host's description, every member named. */
    gsize len = 0;
    const uint8_t *data = sec->payload ? g_bytes_get_data(sec->payload, &len) : NULL;
    ByteReader r;
    byte_reader_init(&r, data, len, sec->offset);
    Visitor *v = sec->tree ? qobject_input_visitor_new(sec->tree)
               : sec->state ? ber_input_visitor_new_value(sec->state)
                            : qemufile_input_visitor_new(&r);
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

static bool check_machine(const char *machine, GError **errp)
{
    if (machine && strcmp(machine, MIGRATION_MACHINE) != 0) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "the stream is for machine '%s', this host is a %s", machine,
                    MIGRATION_MACHINE);
        return false;
    }
    return true;
}

/* The section for device d: staged, unless it is for no device or given twice. */
static bool stage_section(DevHost *h, Staged *staged, const Incoming *in, GError **errp)
{
    DevHostDevice *d = devhost_find_device(h, in->name, in->instance_id);
    if (!d) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_NOT_FOUND,
                    "offset %" PRIu64 ": section '%s' (instance %" PRIu32
                    "): no such device on this host", in->offset, in->name, in->instance_id);
        return false;
    }
    if (staged[d->index].loaded) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_EXTRA,
                    "offset %" PRIu64 ": section '%s' (instance %" PRIu32 ") appears twice",
                    in->offset, in->name, in->instance_id);
        return false;
    }
    return load_section(h, d, in, &staged[d->index], errp);
}

static bool iterative_refused(const char *name, uint8_t type, uint64_t offset, GError **errp)
{
    g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                "offset %" PRIu64 ": section '%s' (%s): iterative sections are not "
                "supported by a device host", offset, name, qemu_section_type_name(type));
    return false;
}

/* Every section of a QEMU stream, staged. */
static bool stage_qemu(DevHost *h, Staged *staged, GBytes *stream, GError **errp)
{
    g_autoptr(QemuStream) s = qemu_stream_parse(stream, errp);
    QObject *conf = s ? qemu_stream_configuration(s) : NULL;
    if (!s || !check_machine(conf ? qdict_get_str(conf, "name") : NULL, errp)) {
        return false;
    }
    for (size_t i = 0; i < qemu_stream_n_sections(s); i++) {
        const QemuStreamSection *sec = qemu_stream_section(s, i);
        g_autofree char *name = qemu_stream_section_display_name(sec);
        Incoming in = {
            .name = sec->name, .instance_id = sec->instance_id, .version_id = sec->version_id,
            .offset = sec->offset, .payload = sec->payload,
        };
        if (sec->type != QEMU_VM_SECTION_FULL) {
            return iterative_refused(name, sec->type, sec->offset, errp);
        }
        if (!stage_section(h, staged, &in, errp)) {
            return false;
        }
    }
    return true;
}

/*
 * Every section of a stream through a filter: the stream (BER: in its QEMU
 * form) decoded into a tree, the rules applied, each section of the tree
 * loaded from the QObject input visitor against the device's description.
 */
static bool stage_filtered(DevHost *h, Staged *staged, GBytes *stream, bool ber,
                           const Filter *filter, GError **errp)
{
    g_autoptr(BerStream) bs = ber ? ber_stream_parse(stream, errp) : NULL;
    g_autofree char *machine = bs ? ber_stream_machine(bs) : NULL;
    if (ber && (!bs || !check_machine(machine, errp))) {
        return false;
    }
    g_autoptr(GBytes) qemu = bs ? ber_stream_to_qemu(bs, errp) : g_bytes_ref(stream);
    g_autoptr(QemuStream) s = qemu ? qemu_stream_parse(qemu, errp) : NULL;
    QObject *conf = s ? qemu_stream_configuration(s) : NULL;
    if (!s || !check_machine(conf ? qdict_get_str(conf, "name") : NULL, errp)) {
        return false;
    }
    for (size_t i = 0; i < qemu_stream_n_sections(s); i++) {
        const QemuStreamSection *sec = qemu_stream_section(s, i);
        if (sec->type != QEMU_VM_SECTION_FULL) {
            g_autofree char *name = qemu_stream_section_display_name(sec);
            return iterative_refused(name, sec->type, sec->offset, errp);
        }
    }
    g_autoptr(QObject) tree = filter_stream_tree(s, false, errp);
    if (!tree || !filter_apply(filter, tree, errp)) {
        return false;
    }
    for (size_t t = 0; t < qlist_size(tree); t++) {
        QObject *entry = qlist_get(tree, t);
        uint64_t instance = 0, version = 0;
        qnum_get_uint(qdict_get(entry, "instance-id"), &instance);
        qnum_get_uint(qdict_get(entry, "version-id"), &version);
        Incoming in = {
            .name = qdict_get_str(entry, "name"),
            .instance_id = (uint32_t)MIN(instance, UINT32_MAX),
            .version_id = (uint32_t)MIN(version, UINT32_MAX),
            .tree = qdict_get(entry, "state"),
        };
        if (!stage_section(h, staged, &in, errp)) {
            vms_error_prefix(errp, "after the filter");
            return false;
        }
    }
    return true;
}

/* Every section of a BER stream, staged: the states are type-checked as they load. */
static bool stage_ber(DevHost *h, Staged *staged, GBytes *stream, GError **errp)
{
    g_autoptr(BerStream) s = ber_stream_parse(stream, errp);
    g_autofree char *machine = s ? ber_stream_machine(s) : NULL;
    if (!s || !check_machine(machine, errp)) {
        return false;
    }
    for (size_t i = 0; i < ber_stream_n_sections(s); i++) {
        const BerStreamSection *sec = ber_stream_section(s, i);
        Incoming in = {
            .name = sec->name, .instance_id = sec->instance_id, .version_id = sec->version_id,
            .offset = sec->offset, .state = sec->state,
        };
        if (!sec->state) {
            return iterative_refused(sec->name, sec->type, sec->offset, errp);
        }
        if (!stage_section(h, staged, &in, errp)) {
            return false;
        }
    }
    return true;
}

/* The format of the stream must be the one this host was told to accept. */
static bool check_format(GBytes *stream, bool ber, GError **errp)
{
    gsize len;
    const uint8_t *d = g_bytes_get_data(stream, &len);
    if (len == 0) {
        return true;        /* in no format: the parser says it is truncated (a source died) */
    }
    bool is_ber = ber_stream_is(d, len);
    if (is_ber && !ber) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "offset 0: the stream is in the BER format, which this host was not told "
                    "to accept (migration capability 'ber' is off)");
        return false;
    }
    if (!is_ber && ber) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "offset 0: the stream is not in the BER format this host was told to "
                    "accept (migration capability 'ber' is on)");
        return false;
    }
    return true;
}

bool migration_load_stream(DevHost *h, GBytes *stream, bool ber, GError **errp)
{
    return migration_load_stream_filtered(h, stream, ber, NULL, errp);
}

bool migration_load_stream_filtered(DevHost *h, GBytes *stream, bool ber, const Filter *filter,
                                    GError **errp)
{
    if (!check_format(stream, ber, errp)) {
        return false;
    }
    size_t n = devhost_n_devices(h);
    Staged *staged = g_new0(Staged, n);
    bool ok = filter ? stage_filtered(h, staged, stream, ber, filter, errp)
            : ber ? stage_ber(h, staged, stream, errp) : stage_qemu(h, staged, stream, errp);

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
        /*
         * Swap every state, freeing the old lists, inside updates that are
         * all open at once: every device's update begins before any state
         * changes and ends after all have.  So there is no moment at which
         * the segment holds some devices loaded and others not, even if
         * this process is killed half-way: the devices it had not finished
         * stay odd (mid-update) for good, and no reader ever takes them.
         */
        for (size_t i = 0; i < n; i++) {
            shm_device_begin_update(devhost_device(h, i)->shm);
        }
        for (size_t i = 0; i < n; i++) {
            DevHostDevice *d = devhost_device(h, i);
            Staged *st = &staged[i];
            g_autofree uint64_t *old = g_new0(uint64_t, st->segptrs->len + 1);
            for (guint k = 0; k < st->segptrs->len; k++) {
                old[k] = get_u64(d->state, g_array_index(st->segptrs, DevHostSegPtr, k).offset);
            }
            memcpy(d->state, st->scratch, d->type->state_size);
            for (guint k = 0; k < st->segptrs->len; k++) {
                g_autoptr(GError) err = NULL;
                if (old[k] && !shm_heap_free(devhost_writer(h), old[k], &err)) {
                    vms_error_prefix(&err, "device %s", d->id);
                    devhost_report_error(h, err);
                }
            }
        }
        for (size_t i = 0; i < n; i++) {
            shm_device_end_update(devhost_device(h, i)->shm);
        }
    }
    for (size_t i = 0; i < n; i++) {
        staged_clear(&staged[i]);
    }
    g_free(staged);
    return ok;
}

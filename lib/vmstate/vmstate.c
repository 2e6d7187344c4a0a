/*
 * The VMState engine: one walk over a description drives a visitor, for
 * saving and for loading alike.  See include/vmscope/vmstate.h.
 *
 * The walk reads and writes the C state only through memcpy (a state may
 * come from shared memory, at any alignment, described by data we did not
 * write), and reads bools as bytes, so a hostile state cannot cause
 * undefined behaviour; a description that passed vmstate_check cannot make
 * it touch memory outside the state.
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "vmscope/error.h"
#include "vmscope/qemufile-visitor.h"
#include "vmscope/trace-usdt.h"
#include "vmscope/vmstate.h"
#include "visitors/visitor-impl.h"

/* A SEGPTR load's elements, written to the region once everything loaded. */
typedef struct StagedWrite {
    size_t offset;
    uint8_t *data;
    size_t len;
} StagedWrite;

typedef struct Walk {
    Visitor *v;
    bool load;
    const VMStateContext *ctx;
    ByteWriter *vmdesc_writer;  /* vmdesc: the writer behind v, to measure sizes */
    GArray *staged;             /* load: StagedWrite */
} Walk;

static bool walk_vmsd(Walk *w, const VMStateDescription *vmsd, uint8_t *opaque,
                      VisitStructKind kind, const char *name, int version_id,
                      QObject *vmdesc, GError **errp);

/* ---- types ---- */

static bool type_is_int(VMStateType t)
{
    return t >= VMSTATE_TYPE_INT8 && t <= VMSTATE_TYPE_UINT64;
}

static VisitIntKind int_kind(VMStateType t)
{
    return (VisitIntKind)(VISIT_INT8 + (t - VMSTATE_TYPE_INT8));
}

const char *vmstate_type_name(VMStateType type, bool equal)
{
    static const char *const names[] = {
        [VMSTATE_TYPE_BOOL] = "bool",
        [VMSTATE_TYPE_INT8] = "int8", [VMSTATE_TYPE_INT16] = "int16",
        [VMSTATE_TYPE_INT32] = "int32", [VMSTATE_TYPE_INT64] = "int64",
        [VMSTATE_TYPE_UINT8] = "uint8", [VMSTATE_TYPE_UINT16] = "uint16",
        [VMSTATE_TYPE_UINT32] = "uint32", [VMSTATE_TYPE_UINT64] = "uint64",
        [VMSTATE_TYPE_BUFFER] = "buffer", [VMSTATE_TYPE_UNUSED] = "unused",
        [VMSTATE_TYPE_STRUCT] = "struct",
    };
    static const char *const equal_names[] = {
        [VMSTATE_TYPE_INT8] = "int8_equal", [VMSTATE_TYPE_INT16] = "int16_equal",
        [VMSTATE_TYPE_INT32] = "int32_equal", [VMSTATE_TYPE_INT64] = "int64_equal",
        [VMSTATE_TYPE_UINT8] = "uint8_equal", [VMSTATE_TYPE_UINT16] = "uint16_equal",
        [VMSTATE_TYPE_UINT32] = "uint32_equal", [VMSTATE_TYPE_UINT64] = "uint64_equal",
    };
    if ((unsigned)type > VMSTATE_TYPE_STRUCT) {
        return NULL;
    }
    if (equal) {
        return type_is_int(type) ? equal_names[type] : NULL;
    }
    return names[type];
}

/* The names QEMU's VMStateInfos carry (including its "int64 equal" for uint64). */
const char *vmstate_vmdesc_type_name(VMStateType type, bool equal)
{
    static const char *const equal_names[] = {
        [VMSTATE_TYPE_INT8] = "int8 equal", [VMSTATE_TYPE_INT16] = "int16 equal",
        [VMSTATE_TYPE_INT32] = "int32 equal", [VMSTATE_TYPE_INT64] = "int64 equal",
        [VMSTATE_TYPE_UINT8] = "uint8 equal", [VMSTATE_TYPE_UINT16] = "uint16 equal",
        [VMSTATE_TYPE_UINT32] = "uint32 equal", [VMSTATE_TYPE_UINT64] = "int64 equal",
    };
    if ((unsigned)type > VMSTATE_TYPE_STRUCT) {
        return NULL;
    }
    if (equal) {
        return type_is_int(type) ? equal_names[type] : NULL;
    }
    if (type == VMSTATE_TYPE_UNUSED) {
        return "unused_buffer";
    }
    return vmstate_type_name(type, false);
}

/* ---- memory access: memcpy only, any alignment ---- */

static uint64_t get_uint(const uint8_t *p, unsigned bytes)
{
    switch (bytes) {
    case 1: return p[0];
    case 2: { uint16_t x; memcpy(&x, p, 2); return x; }
    case 4: { uint32_t x; memcpy(&x, p, 4); return x; }
    default: { uint64_t x; memcpy(&x, p, 8); return x; }
    }
}

static int64_t get_int(const uint8_t *p, unsigned bytes)
{
    switch (bytes) {
    case 1: { int8_t x; memcpy(&x, p, 1); return x; }
    case 2: { int16_t x; memcpy(&x, p, 2); return x; }
    case 4: { int32_t x; memcpy(&x, p, 4); return x; }
    default: { int64_t x; memcpy(&x, p, 8); return x; }
    }
}

static void put_uint(uint8_t *p, unsigned bytes, uint64_t value)
{
    switch (bytes) {
    case 1: p[0] = (uint8_t)value; break;
    case 2: { uint16_t x = (uint16_t)value; memcpy(p, &x, 2); break; }
    case 4: { uint32_t x = (uint32_t)value; memcpy(p, &x, 4); break; }
    default: memcpy(p, &value, 8); break;
    }
}

static void *memdup(const void *p, size_t n)
{
    void *copy = g_malloc(n ? n : 1);
    memcpy(copy, p, n);
    return copy;
}

/* ---- names ---- */

/*
 * The name a field is visited under: its own, or "name[k]" when k fields of
 * the description before it share its name or others after it do (QEMU's
 * vmdesc naming, so state and vmdesc agree).
 */
static char *field_visit_name(const VMStateDescription *vmsd, const VMStateField *field)
{
    int before = 0, total = 0;
    for (const VMStateField *f = vmsd->fields; f->name; f++) {
        if (strcmp(f->name, field->name) == 0) {
            if (f < field) {
                before++;
            }
            total++;
        }
    }
    return total > 1 ? g_strdup_printf("%s[%d]", field->name, before) : g_strdup(field->name);
}

/* ---- fields ---- */

static bool walk_int(Walk *w, const VMStateField *f, const char *name, uint8_t *elem,
                     GError **errp)
{
    VisitIntKind kind = int_kind(f->type);
    unsigned bytes = visit_int_kind_bytes(kind);

    if (visit_int_kind_signed(kind)) {
        int64_t cur = get_int(elem, bytes), val = cur;
        if (!visit_type_int(w->v, name, kind, &val, errp)) {
            return false;
        }
        if (w->load && f->equal && val != cur) {
            visit_error(w->v, name, errp, VMS_ERROR_INVALID,
                        "value %" PRId64 " in the input differs from the current value %" PRId64,
                        val, cur);
            return false;
        }
        if (w->load) {
            put_uint(elem, bytes, (uint64_t)val);
        }
    } else {
        uint64_t cur = get_uint(elem, bytes), val = cur;
        if (!visit_type_uint(w->v, name, kind, &val, errp)) {
            return false;
        }
        if (w->load && f->equal && val != cur) {
            visit_error(w->v, name, errp, VMS_ERROR_INVALID,
                        "value %" PRIu64 " in the input differs from the current value %" PRIu64,
                        val, cur);
            return false;
        }
        if (w->load) {
            put_uint(elem, bytes, val);
        }
    }
    return true;
}

/* One element of a field (the field itself unless it is an array). */
static bool walk_elem(Walk *w, const VMStateField *f, const char *name, uint8_t *elem,
                      QObject *vmdesc, GError **errp)
{
    switch (f->type) {
    case VMSTATE_TYPE_BOOL: {
        bool b = elem[0] != 0;      /* a byte, not a C bool: any value is safe */
        if (!visit_type_bool(w->v, name, &b, errp)) {
            return false;
        }
        if (w->load) {
            elem[0] = b;
        }
        return true;
    }
    case VMSTATE_TYPE_BUFFER:
        return visit_type_buffer(w->v, name, elem, f->size, errp);
    case VMSTATE_TYPE_UNUSED: {
        g_autofree uint8_t *zeros = g_try_malloc0(f->size ? f->size : 1);
        if (!zeros) {
            visit_error(w->v, name, errp, VMS_ERROR_RANGE,
                        "cannot allocate %zu unused bytes", f->size);
            return false;
        }
        return visit_type_buffer(w->v, name, zeros, f->size, errp);
    }
    case VMSTATE_TYPE_STRUCT:
        return walk_vmsd(w, f->vmsd, elem, VISIT_STRUCT_NESTED_VMSD, name,
                         f->vmsd->version_id, vmdesc, errp);
    default:
        return walk_int(w, f, name, elem, errp);
    }
}

/* N of a VARRAY, PARTIAL or SEGPTR field, checked against its maximum. */
static bool field_count(Walk *w, const VMStateField *f, const char *name,
                        const uint8_t *opaque, size_t *count, GError **errp)
{
    VisitIntKind kind = int_kind(f->num_type);
    unsigned bytes = visit_int_kind_bytes(kind);
    uint64_t n;
    if (visit_int_kind_signed(kind)) {
        int64_t s = get_int(opaque + f->num_offset, bytes);
        if (s < 0) {
            visit_error(w->v, name, errp, VMS_ERROR_RANGE, "negative array length %" PRId64, s);
            return false;
        }
        n = (uint64_t)s;
    } else {
        n = get_uint(opaque + f->num_offset, bytes);
    }
    if (n > f->num) {
        visit_error(w->v, name, errp, VMS_ERROR_RANGE,
                    "array length %" PRIu64 " exceeds the maximum %zu", n, f->num);
        return false;
    }
    *count = (size_t)n;
    return true;
}

/* The elements a SEGPTR field points at: in the region, or staged on load. */
static bool segptr_target(Walk *w, const VMStateField *f, const char *name,
                          const uint8_t *opaque, size_t count, uint8_t **first,
                          StagedWrite *staged, GError **errp)
{
    uint64_t off = get_uint(opaque + f->offset, 8);
    size_t len;
    *first = NULL;
    if (count == 0) {
        return true;
    }
    if (!w->ctx || !w->ctx->base) {
        visit_error(w->v, name, errp, VMS_ERROR_INVALID,
                    "a segment-relative pointer needs a region, and none was given");
        return false;
    }
    if (!g_size_checked_mul(&len, count, f->size) || off > w->ctx->size ||
        len > w->ctx->size - off) {
        visit_error(w->v, name, errp, VMS_ERROR_RANGE,
                    "%zu elements of %zu bytes at region offset %" PRIu64
                    " lie outside the region of %zu bytes", count, f->size, off, w->ctx->size);
        return false;
    }
    if (!w->load) {
        *first = w->ctx->base + off;
        return true;
    }
    /* Load into a copy (current contents are the defaults); commit at the end. */
    staged->offset = (size_t)off;
    staged->len = len;
    staged->data = memdup(w->ctx->base + off, len);
    *first = staged->data;
    return true;
}

/* Can QEMU's vmdesc describe all elements of this field by the first one? */
static bool vmdesc_can_compress(const VMStateField *f)
{
    if (f->type != VMSTATE_TYPE_STRUCT) {
        return true;
    }
    for (const VMStateField *sf = f->vmsd->fields; sf->name; sf++) {
        if (!vmdesc_can_compress(sf)) {
            return false;
        }
    }
    return f->vmsd->subsections == NULL;
}

static bool walk_field(Walk *w, const VMStateDescription *vmsd, const VMStateField *f,
                       uint8_t *opaque, QObject *vmdesc_fields, GError **errp)
{
    Visitor *v = w->v;
    g_autofree char *name = field_visit_name(vmsd, f);
    StagedWrite staged = { 0 };
    uint8_t *first = opaque + f->offset;
    size_t n = 1;
    bool is_list = true;
    bool ok = true;

    switch (f->shape) {
    case VMSTATE_SINGLE:
        is_list = false;
        if (f->type == VMSTATE_TYPE_UNUSED) {
            first = NULL;
        }
        break;
    case VMSTATE_ARRAY:
        n = f->num;
        break;
    case VMSTATE_VARRAY:
    case VMSTATE_PARTIAL:
        ok = field_count(w, f, name, opaque, &n, errp);
        break;
    case VMSTATE_SEGPTR:
        ok = field_count(w, f, name, opaque, &n, errp) &&
             segptr_target(w, f, name, opaque, n, &first, &staged, errp);
        break;
    }
    if (!ok) {
        return false;
    }

    if (is_list && !visit_start_list(v, name, &n, errp)) {
        g_free(staged.data);
        return false;
    }
    QObject *vmdesc_loop = vmdesc_fields;
    bool compress = vmdesc_fields && vmdesc_can_compress(f);
    for (size_t i = 0; ok && i < n; i++) {
        QObject *entry = NULL, *vmdesc_struct = NULL;
        size_t start = 0;
        if (is_list) {
            visit_next_list(v);
        }
        if (vmdesc_loop) {
            entry = qdict_new();
            qdict_put(entry, "name", qstring_from_str(name));
            if (n > 1) {
                qdict_put(entry, compress ? "array_len" : "index",
                          qnum_from_uint(compress ? n : i));
            }
            qdict_put(entry, "type", qstring_from_str(vmstate_vmdesc_type_name(f->type, f->equal)));
            if (f->type == VMSTATE_TYPE_STRUCT) {
                vmdesc_struct = qdict_new();
                qdict_put(entry, "struct", vmdesc_struct);
            }
            qlist_append(vmdesc_loop, entry);
            start = byte_writer_len(w->vmdesc_writer);
        }
        ok = walk_elem(w, f, is_list ? NULL : name, first ? first + i * f->size : NULL,
                       vmdesc_struct, errp);
        if (ok && entry) {
            qdict_put(entry, "size", qnum_from_uint(byte_writer_len(w->vmdesc_writer) - start));
            if (compress) {
                vmdesc_loop = NULL;
            }
        }
    }
    if (is_list) {
        ok = ok && visit_check_list(v, errp);
        visit_end_list(v);
    }
    if (ok && staged.data) {
        g_array_append_val(w->staged, staged);
    } else {
        g_free(staged.data);
    }
    return ok;
}

/* ---- subsections ---- */

static bool save_subsections(Walk *w, const VMStateDescription *vmsd, uint8_t *opaque,
                             QObject *vmdesc, GError **errp)
{
    QObject *vmdesc_subs = NULL;
    for (const VMStateDescription *const *s = vmsd->subsections; s && *s; s++) {
        const VMStateDescription *sub = *s;
        bool present = !sub->needed || sub->needed(opaque);
        if (!visit_optional(w->v, sub->name, &present)) {
            continue;
        }
        QObject *vmdesc_sub = NULL;
        if (vmdesc) {
            if (!vmdesc_subs) {
                vmdesc_subs = qlist_new();
                qdict_put(vmdesc, "subsections", vmdesc_subs);
            }
            vmdesc_sub = qdict_new();
            qlist_append(vmdesc_subs, vmdesc_sub);
        }
        if (!walk_vmsd(w, sub, opaque, VISIT_STRUCT_SUBSECTION, sub->name, sub->version_id,
                       vmdesc_sub, errp)) {
            return false;
        }
    }
    return true;
}

/*
 * The input decides which subsections are there, in any order (QEMU looks
 * each one up by name): ask for every subsection not loaded yet until a
 * round finds none.  Whatever is left is the input visitor's to refuse in
 * visit_check_struct.
 */
static bool load_subsections(Walk *w, const VMStateDescription *vmsd, uint8_t *opaque,
                             GError **errp)
{
    size_t count = 0;
    for (const VMStateDescription *const *s = vmsd->subsections; s && *s; s++) {
        count++;
    }
    g_autofree bool *done = g_new0(bool, count + 1);
    bool progress = true;
    while (progress) {
        progress = false;
        for (size_t i = 0; i < count; i++) {
            const VMStateDescription *sub = vmsd->subsections[i];
            bool present = false;
            if (done[i] || !visit_optional(w->v, sub->name, &present)) {
                continue;
            }
            done[i] = progress = true;
            if (!walk_vmsd(w, sub, opaque, VISIT_STRUCT_SUBSECTION, sub->name,
                           sub->version_id, NULL, errp)) {
                return false;
            }
        }
    }
    return true;
}

/* ---- descriptions ---- */

static bool check_version(Walk *w, const VMStateDescription *vmsd, int version, GError **errp)
{
    if (version > vmsd->version_id) {
        visit_error(w->v, NULL, errp, VMS_ERROR_VERSION,
                    "incoming version %d of %s is newer than the supported version %d",
                    version, vmsd->name, vmsd->version_id);
        return false;
    }
    if (version < vmsd->minimum_version_id) {
        visit_error(w->v, NULL, errp, VMS_ERROR_VERSION,
                    "incoming version %d of %s is older than the minimum supported version %d",
                    version, vmsd->name, vmsd->minimum_version_id);
        return false;
    }
    return true;
}

static bool walk_vmsd(Walk *w, const VMStateDescription *vmsd, uint8_t *opaque,
                      VisitStructKind kind, const char *name, int version_id,
                      QObject *vmdesc, GError **errp)
{
    Visitor *v = w->v;
    if (!w->load && vmsd->pre_save && !vmsd->pre_save(opaque, errp)) {
        return false;
    }
    VisitStructInfo info = { .kind = kind, .vmsd_name = vmsd->name, .version_id = version_id };
    if (!visit_start_struct(v, name, &info, errp)) {
        return false;
    }
    vms_usdt_vmsd_start(w->load, vmsd->name);
    int version = w->load ? info.version_id : version_id;
    bool ok = !w->load || check_version(w, vmsd, version, errp);

    QObject *vmdesc_fields = NULL;
    if (vmdesc) {
        qdict_put(vmdesc, "vmsd_name", qstring_from_str(vmsd->name));
        qdict_put(vmdesc, "version", qnum_from_int(version));
        vmdesc_fields = qlist_new();
        qdict_put(vmdesc, "fields", vmdesc_fields);
    }
    for (const VMStateField *f = vmsd->fields; ok && f && f->name; f++) {
        if (f->version_id <= version) {
            ok = walk_field(w, vmsd, f, opaque, vmdesc_fields, errp);
        }
    }
    if (ok) {
        ok = w->load ? load_subsections(w, vmsd, opaque, errp)
                     : save_subsections(w, vmsd, opaque, vmdesc, errp);
    }
    ok = ok && visit_check_struct(v, errp);
    vms_usdt_vmsd_done(w->load, vmsd->name, ok);
    visit_end_struct(v);
    if (ok && w->load && vmsd->post_load) {
        ok = vmsd->post_load(opaque, version, errp);
    }
    return ok;
}

/* ---- entry points ---- */

bool vmstate_save(Visitor *v, const VMStateDescription *vmsd, void *opaque,
                  const VMStateContext *ctx, GError **errp)
{
    g_assert(!visit_is_input(v));
    Walk w = { .v = v, .load = false, .ctx = ctx };
    return walk_vmsd(&w, vmsd, opaque, VISIT_STRUCT_VMSD, vmsd->name, vmsd->version_id,
                     NULL, errp);
}

static void staged_clear(gpointer p)
{
    g_free(((StagedWrite *)p)->data);
}

bool vmstate_load(Visitor *v, const VMStateDescription *vmsd, void *opaque, int version_id,
                  const VMStateContext *ctx, GError **errp)
{
    g_assert(visit_is_input(v));
    Walk w = { .v = v, .load = true, .ctx = ctx };
    w.staged = g_array_new(FALSE, TRUE, sizeof(StagedWrite));
    g_array_set_clear_func(w.staged, staged_clear);
    bool ok = walk_vmsd(&w, vmsd, opaque, VISIT_STRUCT_VMSD, vmsd->name, version_id,
                        NULL, errp);
    for (guint i = 0; ok && i < w.staged->len; i++) {
        const StagedWrite *s = &g_array_index(w.staged, StagedWrite, i);
        memcpy(ctx->base + s->offset, s->data, s->len);
    }
    g_array_free(w.staged, TRUE);
    return ok;
}

bool vmstate_load_copy(Visitor *v, const VMStateDescription *vmsd, void *opaque, size_t size,
                       int version_id, const VMStateContext *ctx, GError **errp)
{
    g_autofree uint8_t *scratch = memdup(opaque, size);
    if (!vmstate_load(v, vmsd, scratch, version_id, ctx, errp)) {
        return false;
    }
    memcpy(opaque, scratch, size);
    return true;
}

bool vmstate_save_qemufile(ByteWriter *bw, const VMStateDescription *vmsd, void *opaque,
                           const VMStateContext *ctx, QObject *vmdesc, GError **errp)
{
    Visitor *v = qemufile_output_visitor_new(bw);
    Walk w = { .v = v, .load = false, .ctx = ctx, .vmdesc_writer = bw };
    bool ok = walk_vmsd(&w, vmsd, opaque, VISIT_STRUCT_VMSD, vmsd->name, vmsd->version_id,
                        vmdesc, errp);
    visit_free(v);
    return ok;
}

QObject *vmstate_vmdesc(const VMStateDescription *vmsd, void *opaque,
                        const VMStateContext *ctx, GError **errp)
{
    ByteWriter bw;
    byte_writer_init(&bw);
    g_autoptr(QObject) vmdesc = qdict_new();
    bool ok = vmstate_save_qemufile(&bw, vmsd, opaque, ctx, vmdesc, errp);
    byte_writer_clear(&bw);
    return ok ? g_steal_pointer(&vmdesc) : NULL;
}

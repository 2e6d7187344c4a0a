/*
 * The VMState engine: one walk over a description drives a visitor, for
 * saving and for loading alike.  See include/vmscope/vmstate.h.
 *
 * The engine knows descriptions and the visitor contract, nothing of any
 * format: elements go through their type's visit function (vmstate-types.c)
 * and everything a format needs to know about where the walk is goes through
 * the VMStateHooks of the context.
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
#include "vmscope/trace-usdt.h"
#include "vmscope/vmstate.h"
#include "vmstate-impl.h"

/* A SEGPTR load's elements, written to the region once everything loaded. */
typedef struct StagedWrite {
    size_t offset;
    uint8_t *data;
    size_t len;
} StagedWrite;

typedef struct Walk {
    Visitor *v;
    bool load;
    bool describe;              /* save: the description, not the state (VMStateContext) */
    const VMStateContext *ctx;
    const VMStateHooks *hooks;  /* never NULL (no hooks: all callbacks NULL) */
    void *hooks_opaque;
    GArray *staged;             /* load: StagedWrite */
} Walk;

static bool walk_vmsd(Walk *w, const VMStateDescription *vmsd, uint8_t *opaque,
                      VisitStructKind kind, const char *name, int version_id, GError **errp);

static void *memdup(const void *p, size_t n)
{
    void *copy = g_malloc(n ? n : 1);
    memcpy(copy, p, n);
    return copy;
}

/* ---- names ---- */

/* "name", or "name[k]" when several fields of the description share the name. */
static char *field_visit_name(const VMStateDescription *vmsd, const VMStateField *field)
{
    int before = 0, total = 0;
    for (const VMStateField *f = vmsd->fields; f->name; f++) {
        if (!f->continues && strcmp(f->name, field->name) == 0) {     /* a run counts once */
            if (f < field) {
                before++;
            }
            total++;
        }
    }
    return total > 1 ? g_strdup_printf("%s[%d]", field->name, before) : g_strdup(field->name);
}

/* ---- fields ---- */

/* One element of a field (the field itself unless it is a list). */
static bool walk_elem(Walk *w, const VMStateField *f, const char *name, uint8_t *elem,
                      GError **errp)
{
    const VMStateInfo *info = f->info;
    if (info->flags & VMSTATE_INFO_STRUCT) {
        return walk_vmsd(w, f->vmsd, elem, VISIT_STRUCT_NESTED_VMSD, name,
                         f->vmsd->version_id, errp);
    }
    return info->visit(w->v, name, info, elem, f->size, errp);
}

/* N of a VARRAY, PARTIAL or SEGPTR field, checked against its maximum. */
static bool field_count(Walk *w, const VMStateField *f, const char *name,
                        const uint8_t *opaque, size_t *count, GError **errp)
{
    VisitIntKind kind = f->num_info->int_kind;
    unsigned bytes = visit_int_kind_bytes(kind);
    uint64_t n;
    if (w->describe) {
        *count = f->num;
        return true;
    }
    if (visit_int_kind_signed(kind)) {
        int64_t s = vmstate_get_int(opaque + f->num_offset, bytes);
        if (s < 0) {
            visit_error(w->v, name, errp, VMS_ERROR_RANGE, "negative array length %" PRId64, s);
            return false;
        }
        n = (uint64_t)s;
    } else {
        n = vmstate_get_uint(opaque + f->num_offset, bytes);
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
    uint64_t off = vmstate_get_uint(opaque + f->offset, 8);
    size_t len;
    *first = NULL;
    if (count == 0) {
        return true;
    }
    if (w->describe) {
        /* Elements of zeros, freed with the walk of the field. */
        staged->data = g_malloc0(count * f->size);
        *first = staged->data;
        return true;
    }
    if (!w->ctx || (!w->ctx->base && (w->load || !w->ctx->fetch))) {
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
    if (!w->load && w->ctx->base) {
        *first = w->ctx->base + off;
        return true;
    }
    if (!w->load) {
        GError *err = NULL;
        *first = (uint8_t *)w->ctx->fetch(w->ctx->fetch_opaque, off, len, &err);
        if (!*first) {
            visit_error(w->v, name, errp, err->domain == VMS_ERROR ? err->code : VMS_ERROR_IO,
                        "%s", err->message);
            g_error_free(err);
            return false;
        }
        return true;
    }
    /* Load into a copy (current contents are the defaults); commit at the end. */
    staged->offset = (size_t)off;
    staged->len = len;
    staged->data = memdup(w->ctx->base + off, len);
    *first = staged->data;
    return true;
}

/*
 * Where the elements of one field (or one field of a run) are and how many
 * there are: *first is NULL for types without state.
 */
static bool field_elements(Walk *w, const VMStateField *f, const char *name, uint8_t *opaque,
                           uint8_t **first, size_t *n, StagedWrite *staged, GError **errp)
{
    *first = f->info->flags & VMSTATE_INFO_NO_STATE ? NULL : opaque + f->offset;
    switch (f->shape) {
    case VMSTATE_SINGLE:
        *n = 1;
        return true;
    case VMSTATE_ARRAY:
        *n = f->num;
        return true;
    case VMSTATE_VARRAY:
    case VMSTATE_PARTIAL:
        return field_count(w, f, name, opaque, n, errp);
    case VMSTATE_SEGPTR:
        return field_count(w, f, name, opaque, n, errp) &&
               segptr_target(w, f, name, opaque, *n, first, staged, errp);
    }
    g_assert_not_reached();
}

/* The elements of one field of the list, from list index *index on. */
static bool walk_elements(Walk *w, const VMStateField *f, const VMStateField *run,
                          const char *name, bool is_list, uint8_t *first, size_t count,
                          size_t *index, size_t total, GError **errp)
{
    const VMStateHooks *h = w->hooks;
    for (size_t i = 0; i < count; i++, (*index)++) {
        uint8_t *elem = first ? first + i * run->size : NULL;
        if (is_list) {
            visit_next_list(w->v);
        }
        if ((h->element && !h->element(w->hooks_opaque, f, run, *index, total, elem, false,
                                       errp)) ||
            !walk_elem(w, run, is_list ? NULL : name, elem, errp) ||
            (h->element && !h->element(w->hooks_opaque, f, run, *index, total, elem, true,
                                       errp))) {
            return false;
        }
    }
    return true;
}

/* The number of elements of a run (its fields are SINGLE or ARRAY: vmstate_check). */
static size_t run_length(const VMStateField *f, const VMStateField **end)
{
    size_t n = 0;
    const VMStateField *r = f;
    do {
        n += r->shape == VMSTATE_SINGLE ? 1 : r->num;
        r++;
    } while (r->name && r->continues);
    *end = r;
    return n;
}

/* A field, or the run of fields that starts with it, as one list. */
static bool walk_field(Walk *w, const VMStateDescription *vmsd, const VMStateField *f,
                       uint8_t *opaque, GError **errp)
{
    const VMStateHooks *h = w->hooks;
    Visitor *v = w->v;
    g_autofree char *name = field_visit_name(vmsd, f);
    const VMStateField *end = f + 1;
    StagedWrite staged = { 0 };
    uint8_t *first = NULL;
    size_t n, index = 0;
    bool is_list, ok;

    if (end->name && end->continues) {
        n = run_length(f, &end);
        is_list = true;
    } else {
        if (!field_elements(w, f, name, opaque, &first, &n, &staged, errp)) {
            return false;
        }
        is_list = f->shape != VMSTATE_SINGLE;
    }
    if (h->field && !h->field(w->hooks_opaque, f, name, is_list, n, errp)) {
        g_free(staged.data);
        return false;
    }
    if (is_list && !visit_start_list(v, name, &n, errp)) {
        g_free(staged.data);
        return false;
    }
    if (end == f + 1) {
        ok = walk_elements(w, f, f, name, is_list, first, n, &index, n, errp);
    } else {
        ok = true;
        for (const VMStateField *r = f; ok && r < end; r++) {
            size_t count = r->shape == VMSTATE_SINGLE ? 1 : r->num;
            uint8_t *rfirst = r->info->flags & VMSTATE_INFO_NO_STATE ? NULL : opaque + r->offset;
            ok = walk_elements(w, f, r, name, true, rfirst, count, &index, n, errp);
        }
    }
    if (is_list) {
        ok = ok && visit_check_list(v, errp);
        visit_end_list(v);
    }
    if (ok && staged.data && w->load) {
        g_array_append_val(w->staged, staged);
    } else {
        g_free(staged.data);
    }
    return ok;
}

/* ---- subsections ---- */

static bool subsection_needed(Walk *w, const VMStateDescription *sub, uint8_t *opaque)
{
    if (w->describe) {
        return true;
    }
    if (sub->has_presence) {
        return opaque[sub->presence_offset] != 0;
    }
    return !sub->needed || sub->needed(opaque);
}

static bool save_subsections(Walk *w, const VMStateDescription *vmsd, uint8_t *opaque,
                             GError **errp)
{
    for (const VMStateDescription *const *s = vmsd->subsections; s && *s; s++) {
        const VMStateDescription *sub = *s;
        bool present = subsection_needed(w, sub, opaque);
        if (visit_optional(w->v, sub->name, &present) &&
            !walk_vmsd(w, sub, opaque, VISIT_STRUCT_SUBSECTION, sub->name, sub->version_id,
                       errp)) {
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
                           sub->version_id, errp)) {
                return false;
            }
            if (sub->has_presence) {
                opaque[sub->presence_offset] = 1;
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

/* The fields (and runs) that exist in `version`, in order. */
static bool walk_fields(Walk *w, const VMStateDescription *vmsd, uint8_t *opaque, int version,
                        GError **errp)
{
    for (const VMStateField *f = vmsd->fields; f && f->name; f++) {
        if (!f->continues && f->version_id <= version &&
            !walk_field(w, vmsd, f, opaque, errp)) {
            return false;
        }
    }
    return true;
}

static bool walk_vmsd(Walk *w, const VMStateDescription *vmsd, uint8_t *opaque,
                      VisitStructKind kind, const char *name, int version_id, GError **errp)
{
    Visitor *v = w->v;
    const VMStateHooks *h = w->hooks;
    if (!w->load && !w->describe && vmsd->pre_save && !vmsd->pre_save(opaque, errp)) {
        return false;
    }
    VisitStructInfo info = { .kind = kind, .vmsd_name = vmsd->name, .version_id = version_id };
    if (!visit_start_struct(v, name, &info, errp)) {
        return false;
    }
    vms_usdt_vmsd_start(w->load, vmsd->name);
    int version = w->load ? info.version_id : version_id;
    bool ok = (!w->load || check_version(w, vmsd, version, errp)) &&
              (!h->enter || h->enter(w->hooks_opaque, vmsd, kind, version, errp)) &&
              walk_fields(w, vmsd, opaque, version, errp) &&
              (w->load ? load_subsections(w, vmsd, opaque, errp)
                       : save_subsections(w, vmsd, opaque, errp)) &&
              visit_check_struct(v, errp) &&
              (!h->leave || h->leave(w->hooks_opaque, vmsd, errp));
    vms_usdt_vmsd_done(w->load, vmsd->name, ok);
    visit_end_struct(v);
    if (ok && w->load && vmsd->post_load) {
        ok = vmsd->post_load(opaque, version, errp);
    }
    return ok;
}

/* ---- entry points ---- */

static const VMStateHooks no_hooks;

static void walk_init(Walk *w, Visitor *v, bool load, const VMStateContext *ctx)
{
    *w = (Walk){
        .v = v,
        .load = load,
        .ctx = ctx,
        .describe = !load && ctx && ctx->describe,
        .hooks = ctx && ctx->hooks ? ctx->hooks : &no_hooks,
        .hooks_opaque = ctx ? ctx->hooks_opaque : NULL,
    };
}

bool vmstate_save_as(Visitor *v, const char *name, const VMStateDescription *vmsd,
                     void *opaque, const VMStateContext *ctx, GError **errp)
{
    g_assert(!visit_is_input(v));
    Walk w;
    walk_init(&w, v, false, ctx);
    return walk_vmsd(&w, vmsd, opaque, VISIT_STRUCT_VMSD, name, vmsd->version_id, errp);
}

bool vmstate_save(Visitor *v, const VMStateDescription *vmsd, void *opaque,
                  const VMStateContext *ctx, GError **errp)
{
    return vmstate_save_as(v, vmsd->name, vmsd, opaque, ctx, errp);
}

static void staged_clear(gpointer p)
{
    g_free(((StagedWrite *)p)->data);
}

bool vmstate_load_as(Visitor *v, const char *name, const VMStateDescription *vmsd,
                     void *opaque, int version_id, const VMStateContext *ctx, GError **errp)
{
    g_assert(visit_is_input(v));
    Walk w;
    walk_init(&w, v, true, ctx);
    w.staged = g_array_new(FALSE, TRUE, sizeof(StagedWrite));
    g_array_set_clear_func(w.staged, staged_clear);
    bool ok = walk_vmsd(&w, vmsd, opaque, VISIT_STRUCT_VMSD, name, version_id, errp);
    for (guint i = 0; ok && i < w.staged->len; i++) {
        const StagedWrite *s = &g_array_index(w.staged, StagedWrite, i);
        memcpy(ctx->base + s->offset, s->data, s->len);
    }
    g_array_free(w.staged, TRUE);
    return ok;
}

bool vmstate_load(Visitor *v, const VMStateDescription *vmsd, void *opaque, int version_id,
                  const VMStateContext *ctx, GError **errp)
{
    return vmstate_load_as(v, vmsd->name, vmsd, opaque, version_id, ctx, errp);
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

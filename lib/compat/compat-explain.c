/*
 * compat_explain: replay a stream's load against a destination's
 * descriptions (compat.h).
 *
 * There is one walk: each device section is loaded by the VMState engine
 * from its own bytes with the description the stream's vmdesc gives it,
 * through the QEMUFile input visitor, exactly as the stream was decoded.
 * VMStateHooks follow that walk (which description, which field, which
 * subsection, and where in the stream the reader is) and hold the
 * destination's description next to it: a stack of frames, one per
 * description entered, each with a cursor over the destination's fields.
 * At the first place where the destination would read something else than
 * the stream holds, the hook records a finding and stops the walk; a
 * destination stops there too.
 */
#include "config.h"

#include <string.h>

#include "compat-impl.h"
#include "vmscope/error.h"
#include "vmscope/qemufile-visitor.h"

typedef struct Frame {
    const CompatDesc *dest;
    char **names;                 /* its fields' names as QEMU's vmdesc gives them ("config[0]") */
    guint cursor;                 /* next destination field */
    int version;                  /* the version the destination loads it at */
    const CompatField *last;      /* the destination field of the stream's current field */
} Frame;

typedef struct Replay {
    Visitor *v;
    ByteReader *r;
    GPtrArray *frames;            /* Frame * */
    GPtrArray *out;
    const char *key, *name;
    uint64_t back;
    const CompatField *equal;     /* the destination field of an `_equal` element being read */
    uint64_t elem_offset;         /* where that element starts */
    bool found;
} Replay;

static void replay_finding(Replay *rp, const char *kind, const char *member, QObject *o,
                           QObject *n, GError **errp, const char *fmt, ...) G_GNUC_PRINTF(7, 8);

/*
 * Record the finding at the reader's offset (less rp->back: a header
 * already read) and the walk's path, and stop the walk.
 */
static void replay_finding(Replay *rp, const char *kind, const char *member, QObject *o,
                           QObject *n, GError **errp, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_autofree char *path = visit_path(rp->v, member);
    compat_finding_add(rp->out, COMPAT_ERROR, kind, rp->key, rp->name, path,
                       byte_reader_offset(rp->r) - rp->back, o, n, "%s", msg);
    rp->found = true;
    g_set_error(errp, VMS_ERROR, VMS_ERROR_FAILED, "%s", msg);
}

static Frame *top(Replay *rp)
{
    return g_ptr_array_index(rp->frames, rp->frames->len - 1);
}

static void frame_free(gpointer p)
{
    Frame *f = p;
    g_strfreev(f->names);
    g_free(f);
}

static void push(Replay *rp, const CompatDesc *dest, int version)
{
    Frame *f = g_new0(Frame, 1);
    f->dest = dest;
    f->names = compat_field_names(dest);
    f->version = version;
    g_ptr_array_add(rp->frames, f);
}

/*
 * A destination field the stream may lack: a conditional one (field_exists),
 * or a struct field, which may be an array of no elements now (QEMU's
 * vmdesc has no entry for those, and a dump does not tell arrays apart).
 */
static bool dest_optional(const CompatField *d)
{
    return d->field_exists || d->desc;
}

/* Skip the destination fields it does not read here: newer than its version, or optional. */
static const CompatField *next_dest_field(Frame *fr, bool skip_conditional, const char **name)
{
    while (fr->cursor < fr->dest->fields->len) {
        const CompatField *d = g_ptr_array_index(fr->dest->fields, fr->cursor);
        if (d->version_id <= fr->version && !(skip_conditional && dest_optional(d))) {
            *name = fr->names[fr->cursor];
            return d;
        }
        fr->cursor++;
    }
    return NULL;
}

static bool check_version(Replay *rp, const CompatDesc *d, int version, GError **errp)
{
    if (version > d->version_id || (d->minimum_version_id >= 0 && version < d->minimum_version_id)) {
        replay_finding(rp, "version-refused", NULL, qnum_from_int(version),
                       qnum_from_int(d->version_id), errp,
                       "version %d of '%s' refused: DEST loads versions %d to %d", version,
                       d->name, d->minimum_version_id < 0 ? 0 : d->minimum_version_id,
                       d->version_id);
        return false;
    }
    return true;
}

static bool on_enter(void *opaque, const VMStateDescription *vmsd, VisitStructKind kind,
                     int version_id, GError **errp)
{
    Replay *rp = opaque;
    if (kind == VISIT_STRUCT_VMSD) {
        return true;   /* pushed by the caller, versions checked */
    }
    Frame *fr = top(rp);
    if (kind == VISIT_STRUCT_SUBSECTION) {
        const CompatDesc *sub = compat_desc_subsection(fr->dest, vmsd->name);
        /* Findings about a subsection are at its header: 0x05, the name, the version. */
        rp->back = 1 + 1 + strlen(vmsd->name) + 4;
        if (!sub) {
            replay_finding(rp, "unknown-subsection", NULL, qstring_from_str(vmsd->name), NULL,
                           errp, "subsection '%s' unknown to DEST", vmsd->name);
            return false;
        }
        if (!check_version(rp, sub, version_id, errp)) {
            return false;
        }
        rp->back = 0;
        push(rp, sub, version_id);
        return true;
    }
    /* A struct element: the destination field it is in says what DEST expects. */
    const CompatField *d = fr->last;
    if (!d || !d->desc) {
        replay_finding(rp, "description-missing", NULL, qstring_from_str(vmsd->name), NULL, errp,
                       "the stream has a struct '%s' here, DEST reads no struct", vmsd->name);
        return false;
    }
    if (strcmp(d->desc->name, vmsd->name) != 0) {
        replay_finding(rp, "description-differs", NULL, qstring_from_str(vmsd->name),
                       qstring_from_str(d->desc->name), errp,
                       "the stream has a struct '%s' here, DEST reads '%s'", vmsd->name,
                       d->desc->name);
        return false;
    }
    /* QEMU loads a nested struct at the version of the loader's own description. */
    push(rp, d->desc, d->desc->version_id);
    return true;
}

static bool on_leave(void *opaque, const VMStateDescription *vmsd, GError **errp)
{
    Replay *rp = opaque;
    Frame *fr = top(rp);
    const char *dname;
    const CompatField *d = next_dest_field(fr, true, &dname);
    if (d) {
        replay_finding(rp, "field-missing", NULL, NULL, qstring_from_str(dname), errp,
                       "DEST reads field '%s' (%" G_GUINT64_FORMAT " bytes) next, the "
                       "stream's '%s' has no more fields", dname, d->size, vmsd->name);
        return false;
    }
    g_ptr_array_remove_index(rp->frames, rp->frames->len - 1);
    return true;
}

static bool on_field(void *opaque, const VMStateField *f, const char *name, bool is_list,
                     size_t n, GError **errp)
{
    Replay *rp = opaque;
    Frame *fr = top(rp);
    const CompatField *d;
    const char *dname;
    for (;;) {
        d = next_dest_field(fr, false, &dname);
        if (!d) {
            replay_finding(rp, "field-extra", name, qstring_from_str(f->name), NULL, errp,
                           "the stream has field '%s', DEST reads no more fields of '%s'",
                           f->name, fr->dest->name);
            return false;
        }
        if (strcmp(dname, f->name) == 0) {
            break;
        }
        if (!dest_optional(d)) {
            replay_finding(rp, "field-renamed", name, qstring_from_str(f->name),
                           qstring_from_str(dname), errp,
                           "the stream has field '%s' where DEST reads '%s'", f->name, dname);
            return false;
        }
        fr->cursor++;   /* an optional field the source did not send */
    }
    bool is_struct = f->info->flags & VMSTATE_INFO_STRUCT;
    if (d->desc && !is_struct) {
        replay_finding(rp, "description-missing", name, qstring_from_str(f->info->name),
                       qstring_from_str(d->desc->name), errp,
                       "the stream has a %s here, DEST reads a struct '%s'", f->info->name,
                       d->desc->name);
        return false;
    }
    if (!d->desc && d->size && f->size != d->size) {
        replay_finding(rp, "field-size", name, qnum_from_uint(f->size), qnum_from_uint(d->size),
                       errp, "the stream has %zu bytes%s, DEST reads %" G_GUINT64_FORMAT,
                       f->size, is_list ? " an element" : "", d->size);
        return false;
    }
    if (!d->desc && d->type &&
        strcmp(compat_wire_type(f->info->name), compat_wire_type(d->type)) != 0) {
        replay_finding(rp, "field-type", name, qstring_from_str(f->info->name),
                       qstring_from_str(d->type), errp, "the stream has a %s, DEST reads a %s",
                       f->info->name, d->type);
        return false;
    }
    fr->last = d;
    fr->cursor++;
    rp->equal = d->equal && !is_list && (f->info->flags & VMSTATE_INFO_INT) ? d : NULL;
    return true;
}

/* An `_equal` field DEST knows the value of: what the stream holds must be it. */
static bool on_element(void *opaque, const VMStateField *f, const VMStateField *run,
                       size_t index, size_t n, uint8_t *elem, bool end, GError **errp)
{
    Replay *rp = opaque;
    if (!rp->equal) {
        return true;
    }
    if (!end) {
        rp->elem_offset = byte_reader_offset(rp->r);
        return true;
    }
    const CompatField *d = rp->equal;
    rp->equal = NULL;
    g_autoptr(QObject) got = vmstate_int_value(run->info, elem);
    if (qobject_equal(got, d->equal)) {
        return true;
    }
    g_autofree char *x = qobject_to_json(got, false);
    g_autofree char *y = qobject_to_json(d->equal, false);
    rp->back = byte_reader_offset(rp->r) - rp->elem_offset;
    replay_finding(rp, "equal-differs", run->name, qobject_ref(got), qobject_ref(d->equal), errp,
                   "the stream has %s, DEST has %s (an _equal field: they must be equal)", x, y);
    return false;
}

static const VMStateHooks replay_hooks = {
    .enter = on_enter,
    .leave = on_leave,
    .field = on_field,
    .element = on_element,
};

/* The offset of a FULL section's header (its payload follows the idstr, instance and version). */
static uint64_t header_offset(const QemuStreamSection *sec)
{
    return sec->offset - (1 + 4 + 1 + strlen(sec->name) + 4 + 4);
}

static void replay_section(GPtrArray *out, const QemuStream *s, size_t index,
                           const CompatDesc *dest, const char *key)
{
    const QemuStreamSection *sec = qemu_stream_section(s, index);
    const uint8_t *state;
    size_t size;
    const VMStateDescription *vmsd = qemu_stream_section_device(s, index, &state, &size);
    gsize len;
    const uint8_t *payload = g_bytes_get_data(sec->payload, &len);
    g_autofree uint8_t *scratch = g_memdup2(state, size);
    ByteReader r;
    byte_reader_init(&r, payload, len, sec->offset);
    Replay rp = {
        .r = &r, .frames = g_ptr_array_new_with_free_func(frame_free), .out = out,
        .key = key, .name = dest->name,
    };
    g_autoptr(GError) err = NULL;
    int version = (int)sec->version_id;

    if ((int64_t)sec->version_id > dest->version_id ||
        (dest->minimum_version_id >= 0 && version < dest->minimum_version_id)) {
        compat_finding_add(out, COMPAT_ERROR, "version-refused", key, dest->name, "",
                           header_offset(sec), qnum_from_uint(sec->version_id),
                           qnum_from_int(dest->version_id),
                           "version %u refused: DEST loads versions %d to %d", sec->version_id,
                           dest->minimum_version_id < 0 ? 0 : dest->minimum_version_id,
                           dest->version_id);
        g_ptr_array_unref(rp.frames);
        return;
    }
    rp.v = qemufile_input_visitor_new(&r);
    push(&rp, dest, version);
    VMStateContext ctx = { .hooks = &replay_hooks, .hooks_opaque = &rp };
    if (!vmstate_load_as(rp.v, NULL, vmsd, scratch, version, &ctx, &err) && !rp.found) {
        uint64_t at;
        compat_finding_add(out, COMPAT_ERROR, "load-error", key, dest->name,
                           vms_error_path(err), vms_error_offset(err, &at) ? at : byte_reader_offset(&r),
                           NULL, NULL, "%s", vms_error_text(err));
    }
    visit_free(rp.v);
    g_ptr_array_unref(rp.frames);
}

/*
 * Against each of DEST's descriptions of that name (QEMU has several
 * "serial"), keeping the one that loads, or else the one that gets furthest.
 */
static void replay_closest(CompatExplain *e, const QemuStream *s, size_t index,
                           GPtrArray *alike, const char *key)
{
    g_autoptr(GPtrArray) best = NULL;
    e->checked++;
    for (guint k = 0; k < alike->len && (!best || best->len); k++) {
        GPtrArray *found = g_ptr_array_new_with_free_func((GDestroyNotify)compat_finding_free);
        replay_section(found, s, index, ((CompatSection *)alike->pdata[k])->desc, key);
        if (!best || !found->len ||
            ((CompatFinding *)found->pdata[0])->offset > ((CompatFinding *)best->pdata[0])->offset) {
            g_clear_pointer(&best, g_ptr_array_unref);
            best = found;
        } else {
            g_ptr_array_unref(found);
        }
    }
    while (best->len) {
        g_ptr_array_add(e->findings, g_ptr_array_steal_index(best, 0));
    }
}

CompatExplain *compat_explain(const QemuStream *s, const CompatSet *dest)
{
    CompatExplain *e = g_new0(CompatExplain, 1);
    bool complete = compat_set_is_complete(dest);
    e->findings = g_ptr_array_new_with_free_func((GDestroyNotify)compat_finding_free);
    e->not_checked = g_ptr_array_new_with_free_func(g_free);
    for (size_t i = 0; i < qemu_stream_n_sections(s); i++) {
        const QemuStreamSection *sec = qemu_stream_section(s, i);
        const uint8_t *state;
        size_t size;
        const VMStateDescription *vmsd = qemu_stream_section_device(s, i, &state, &size);
        if (!vmsd) {
            continue;   /* RAM and other iterative sections: no description */
        }
        g_autofree char *key = qemu_stream_section_display_name(sec);
        GPtrArray *alike = g_hash_table_lookup(dest->by_name, vmsd->name);
        if (alike) {
            replay_closest(e, s, i, alike, key);
        } else if (complete) {
            compat_finding_add(e->findings, COMPAT_ERROR, "unknown-section", key, vmsd->name, "",
                               header_offset(sec), qstring_from_str(vmsd->name), NULL,
                               "section unknown to DEST");
        } else {
            g_ptr_array_add(e->not_checked, g_steal_pointer(&key));
        }
    }
    return e;
}

void compat_explain_free(CompatExplain *e)
{
    if (e) {
        g_ptr_array_unref(e->findings);
        g_ptr_array_unref(e->not_checked);
        g_free(e);
    }
}

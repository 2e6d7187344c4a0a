/*
 * Saving one device's section payload in QEMU's format together with its
 * vmdesc entry, the JSON QEMU appends to a stream to say what each section
 * holds (see "vmdesc" in docs/vmstate.md).
 *
 * The engine walks the description through the QEMUFile output visitor;
 * its hooks (VMStateHooks) say which description, field and element the walk
 * is at, and the writer below records that as QEMU's vmsd_desc_field_start()
 * and _end() do, measuring each element by the bytes the visitor wrote.
 */
#include "config.h"

#include "vmscope/qemu-stream.h"
#include "vmscope/qemufile-visitor.h"
#include "vmscope/vmstate.h"

/* One description being recorded; desc NULL: not recorded (see element()). */
typedef struct VmdescFrame {
    QObject *desc;              /* {"vmsd_name", "version", "fields"[, "subsections"]} */
    char *name;                 /* the current field's visit name ("unused[1]") */
    QObject *entry;             /* the field entry being written, or NULL */
    size_t entry_start;         /* writer length when the entry's element began */
    bool compress;              /* the current field is one entry with "array_len" */
} VmdescFrame;

typedef struct VmdescWriter {
    ByteWriter *w;
    QObject *top;               /* the caller's dict */
    GArray *frames;             /* of VmdescFrame */
} VmdescWriter;

static void frame_clear(gpointer p)
{
    g_free(((VmdescFrame *)p)->name);
}

static VmdescFrame *top_frame(VmdescWriter *vw)
{
    return vw->frames->len ? &g_array_index(vw->frames, VmdescFrame, vw->frames->len - 1)
                           : NULL;
}

/*
 * Can QEMU's vmdesc describe all elements of this field by the first one?
 * Not when they are structs that have (or contain) subsections, which may
 * differ from element to element, nor in runs, whose elements differ.
 */
static bool can_compress(const VMStateField *f)
{
    if (f->continues || (f[1].name && f[1].continues)) {
        return false;
    }
    if (!(f->info->flags & VMSTATE_INFO_STRUCT)) {
        return true;
    }
    for (const VMStateField *sf = f->vmsd->fields; sf->name; sf++) {
        if (!can_compress(sf)) {
            return false;
        }
    }
    return f->vmsd->subsections == NULL;
}

static bool vw_enter(void *opaque, const VMStateDescription *vmsd, VisitStructKind kind,
                     int version_id, GError **errp)
{
    VmdescWriter *vw = opaque;
    VmdescFrame *parent = top_frame(vw);
    VmdescFrame frame = { 0 };

    if (!parent) {
        frame.desc = vw->top;
    } else if (kind == VISIT_STRUCT_SUBSECTION && parent->desc) {
        QObject *subs = qdict_get(parent->desc, "subsections");
        if (!subs) {
            subs = qlist_new();
            qdict_put(parent->desc, "subsections", subs);
        }
        frame.desc = qdict_new();
        qlist_append(subs, frame.desc);
    } else if (kind == VISIT_STRUCT_NESTED_VMSD && parent->entry) {
        /* The entry's type said where: "struct" in it, or the entry itself (tmp). */
        if (qdict_haskey(parent->entry, "struct")) {
            frame.desc = qdict_get(parent->entry, "struct");
        } else {
            frame.desc = parent->entry;
        }
    }
    if (frame.desc) {
        qdict_put(frame.desc, "vmsd_name", qstring_from_str(vmsd->name));
        qdict_put(frame.desc, "version", qnum_from_int(version_id));
        qdict_put(frame.desc, "fields", qlist_new());
    }
    g_array_append_val(vw->frames, frame);
    return true;
}

static bool vw_leave(void *opaque, const VMStateDescription *vmsd, GError **errp)
{
    VmdescWriter *vw = opaque;
    g_array_set_size(vw->frames, vw->frames->len - 1);
    return true;
}

static bool vw_field(void *opaque, const VMStateField *f, const char *name, bool is_list,
                     size_t n, GError **errp)
{
    VmdescFrame *frame = top_frame(opaque);
    g_free(frame->name);
    frame->name = g_strdup(name);
    frame->compress = can_compress(f);
    return true;
}

static bool vw_element(void *opaque, const VMStateField *f, const VMStateField *run,
                       size_t index, size_t n, uint8_t *elem, bool end, GError **errp)
{
    VmdescWriter *vw = opaque;
    VmdescFrame *frame = top_frame(vw);

    if (end) {
        if (frame->entry) {
            qdict_put(frame->entry, "size",
                      qnum_from_uint(byte_writer_len(vw->w) - frame->entry_start));
        }
        frame->entry = NULL;
        return true;
    }
    if (!frame->desc || (frame->compress && index > 0)) {
        return true;            /* the first element stands for all */
    }
    QObject *entry = qdict_new();
    qdict_put(entry, "name", qstring_from_str(frame->name));
    qlist_append(qdict_get(frame->desc, "fields"), entry);
    if (n > 1) {
        qdict_put(entry, frame->compress ? "array_len" : "index",
                  qnum_from_uint(frame->compress ? n : index));
    }
    qdict_put(entry, "type", qstring_from_str(run->info->vmdesc_name));
    if ((run->info->flags & VMSTATE_INFO_STRUCT) && !(run->info->flags & VMSTATE_INFO_INLINE)) {
        qdict_put(entry, "struct", qdict_new());
    }
    frame->entry = entry;
    frame->entry_start = byte_writer_len(vw->w);
    return true;
}

static const VMStateHooks vmdesc_hooks = {
    .enter = vw_enter,
    .leave = vw_leave,
    .field = vw_field,
    .element = vw_element,
};

bool qemu_stream_save_device(ByteWriter *w, const VMStateDescription *vmsd, void *opaque,
                             const VMStateContext *ctx, QObject *vmdesc, GError **errp)
{
    VmdescWriter vw = {
        .w = w,
        .top = vmdesc,
        .frames = g_array_new(FALSE, TRUE, sizeof(VmdescFrame)),
    };
    g_array_set_clear_func(vw.frames, frame_clear);
    VMStateContext c = {
        .base = ctx ? ctx->base : NULL,
        .size = ctx ? ctx->size : 0,
        .hooks = vmdesc ? &vmdesc_hooks : NULL,
        .hooks_opaque = &vw,
    };
    Visitor *v = qemufile_output_visitor_new(w);
    bool ok = vmstate_save(v, vmsd, opaque, &c, errp);
    visit_free(v);
    g_array_free(vw.frames, TRUE);
    return ok;
}

QObject *qemu_stream_device_vmdesc(const VMStateDescription *vmsd, void *opaque,
                                   const VMStateContext *ctx, GError **errp)
{
    ByteWriter w;
    byte_writer_init(&w);
    g_autoptr(QObject) vmdesc = qdict_new();
    bool ok = qemu_stream_save_device(&w, vmsd, opaque, ctx, vmdesc, errp);
    byte_writer_clear(&w);
    return ok ? g_steal_pointer(&vmdesc) : NULL;
}

/*
 * A QEMU stream through a filter: the one walk decodes each device section
 * (qemu-stream.h), the sections become a tree with their descriptions (the
 * vmdesc entry the engine writes for the decoded state), the rules rewrite
 * the tree, and each section the rules changed is written back through the
 * engine: its filtered description learned as a stream's, its state read
 * by the strict QObject input visitor, saved by the QEMUFile output visitor
 * (qemu_stream_encode_device).  Everything else keeps its bytes.
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "filter-impl.h"
#include "vmscope/bytes.h"
#include "vmscope/error.h"
#include "vmscope/vmstate.h"

/* The k-th vmdesc entry of name:instance in the stream's vmdesc, or NULL. */
static QObject *original_entry(QObject *vmdesc, const QemuStreamSection *sec)
{
    QObject *devices = vmdesc ? qdict_get(vmdesc, "devices") : NULL;
    uint32_t seen = 0;
    for (size_t i = 0; qobject_type(devices) == QTYPE_LIST && i < qlist_size(devices); i++) {
        QObject *e = qlist_get(devices, i);
        const char *name = qdict_get_str(e, "name");
        uint64_t inst;
        if (name && strcmp(name, sec->name) == 0 &&
            qnum_get_uint(qdict_get(e, "instance_id"), &inst) && inst == sec->instance_id &&
            seen++ == sec->occurrence) {
            return e;
        }
    }
    return NULL;
}

QObject *filter_stream_tree(const QemuStream *s, bool with_desc, GError **errp)
{
    g_autoptr(QObject) tree = qlist_new();
    for (size_t i = 0; i < qemu_stream_n_sections(s); i++) {
        const QemuStreamSection *sec = qemu_stream_section(s, i);
        const uint8_t *state;
        size_t size;
        const VMStateDescription *vmsd = qemu_stream_section_device(s, i, &state, &size);
        if (sec->type != QEMU_VM_SECTION_FULL || !vmsd) {
            continue;
        }
        QObject *entry = qdict_new();
        qdict_put(entry, "name", qstring_from_str(sec->name));
        qdict_put(entry, "instance-id", qnum_from_uint(sec->instance_id));
        qdict_put(entry, "version-id", qnum_from_uint(sec->version_id));
        qdict_put(entry, "section-id", qnum_from_uint(sec->section_id));
        qdict_put(entry, "state", qobject_copy(sec->state));
        qlist_append(tree, entry);
        if (!with_desc) {
            continue;
        }
        /*
         * The stream's own vmdesc entry, whose types are QEMU's ("uint32
         * equal", "pci config"); or the one the engine writes for the state.
         */
        QObject *own = original_entry(qemu_stream_vmdesc(s), sec);
        if (own && qobject_type(qdict_get(own, "fields")) == QTYPE_LIST) {
            qdict_put(entry, "desc", qobject_copy(own));
            continue;
        }
        g_autoptr(QObject) desc = qdict_new();
        qdict_put(desc, "name", qstring_from_str(sec->name));
        qdict_put(desc, "instance_id", qnum_from_uint(sec->instance_id));
        g_autofree uint8_t *copy = g_memdup2(state, size);
        ByteWriter w;
        byte_writer_init(&w);
        bool ok = qemu_stream_save_device(&w, vmsd, copy, NULL, desc, errp);
        byte_writer_clear(&w);
        if (!ok) {
            g_autofree char *name = qemu_stream_section_display_name(sec);
            vms_error_prefix(errp, "section '%s'", name);
            return NULL;
        }
        qdict_put(entry, "desc", g_steal_pointer(&desc));
    }
    return g_steal_pointer(&tree);
}

/*
 * Struct sizes in a vmdesc description after the rules moved members
 * around: a struct's "size" is what its members write (subsections with
 * their headers).  Returns the bytes the level writes.
 */
static uint64_t fix_sizes(QObject *level)
{
    uint64_t total = 0, n, size;
    QObject *fields = qdict_get(level, "fields"), *subs = qdict_get(level, "subsections");
    for (size_t i = 0; qobject_type(fields) == QTYPE_LIST && i < qlist_size(fields); i++) {
        QObject *e = qlist_get(fields, i);
        const char *type = qdict_get_str(e, "type");
        const VMStateInfo *info = type ? vmstate_info_find_vmdesc(type) : NULL;
        if (!qnum_get_uint(qdict_get(e, "array_len"), &n)) {
            n = 1;
        }
        QObject *nested = info && (info->flags & VMSTATE_INFO_STRUCT)
            ? (info->flags & VMSTATE_INFO_INLINE ? e : qdict_get(e, "struct")) : NULL;
        if (qobject_type(nested) == QTYPE_DICT &&
            qobject_type(qdict_get(nested, "fields")) == QTYPE_LIST) {
            size = fix_sizes(nested);
            qdict_put(e, "size", qnum_from_uint(size));
        } else if (!qnum_get_uint(qdict_get(e, "size"), &size)) {
            size = 0;
        }
        total += size * n;
    }
    for (size_t i = 0; qobject_type(subs) == QTYPE_LIST && i < qlist_size(subs); i++) {
        QObject *sub = qlist_get(subs, i);
        const char *name = qdict_get_str(sub, "vmsd_name");
        total += 1 + 1 + (name ? strlen(name) : 0) + 4 + fix_sizes(sub);
    }
    return total;
}

static void section_free(gpointer p)
{
    QemuStreamSection *sec = p;
    g_free(sec->name);
    g_bytes_unref(sec->payload);
    g_free(sec);
}

typedef struct Out {
    GPtrArray *sections;        /* QemuStreamSection * (owned copies) */
    QObject *devices;           /* vmdesc entries of the FULL device sections */
    bool changed;
    uint32_t next_id;
} Out;

static void out_keep(Out *o, const QemuStreamSection *sec)
{
    QemuStreamSection *c = g_new0(QemuStreamSection, 1);
    *c = *sec;
    c->name = g_strdup(sec->name);
    c->payload = g_bytes_ref(sec->payload);
    c->state = NULL;
    g_ptr_array_add(o->sections, c);
}

/* A tree section written through the engine with its filtered description. */
static bool out_encode(Out *o, QObject *entry, const QemuStreamSection *from, GError **errp)
{
    const char *name = qdict_get_str(entry, "name");
    uint64_t inst = 0, version = 0, id;
    qnum_get_uint(qdict_get(entry, "instance-id"), &inst);
    qnum_get_uint(qdict_get(entry, "version-id"), &version);
    if (strlen(name) > 255 || inst > UINT32_MAX || version > INT32_MAX) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_RANGE, "section '%s' (instance %" PRIu64 "): "
                    "the name, instance id or version is out of range", name, inst);
        return false;
    }
    QObject *desc = qdict_get(entry, "desc");
    fix_sizes(desc);
    g_autoptr(QObject) vmdesc = qdict_new();
    qdict_put(vmdesc, "name", qstring_from_str(name));
    qdict_put(vmdesc, "instance_id", qnum_from_uint(inst));
    GBytes *payload = qemu_stream_encode_device(desc, (uint32_t)version, qdict_get(entry, "state"),
                                                vmdesc, errp);
    if (!payload) {
        vms_error_prefix(errp, "section '%s' (instance %" PRIu64 ") after the filter", name,
                         inst);
        return false;
    }
    QemuStreamSection *c = g_new0(QemuStreamSection, 1);
    c->type = QEMU_VM_SECTION_FULL;
    c->section_id = qnum_get_uint(qdict_get(entry, "section-id"), &id) ? (uint32_t)id
                                                                         : o->next_id++;
    c->name = g_strdup(name);
    c->instance_id = (uint32_t)inst;
    c->version_id = (uint32_t)version;
    c->has_footer = from->has_footer;
    c->payload = payload;
    g_ptr_array_add(o->sections, c);
    /* The vmdesc entry: the filtered description, which keeps QEMU's type names. */
    qlist_append(o->devices, qobject_ref(desc));
    o->changed = true;
    return true;
}

GBytes *filter_qemu_stream(const Filter *f, const QemuStream *s, GError **errp)
{
    g_autoptr(QObject) tree = filter_stream_tree(s, true, errp);
    if (!tree) {
        return NULL;
    }
    g_autoptr(QObject) before = qobject_copy(tree);
    if (!filter_apply(f, tree, errp)) {
        return NULL;
    }
    QObject *vmdesc = qemu_stream_vmdesc(s);
    Out o = {
        .sections = g_ptr_array_new_with_free_func(section_free),
        .devices = qlist_new(),
        .changed = qlist_size(tree) != qlist_size(before),
    };
    for (size_t i = 0; i < qemu_stream_n_sections(s); i++) {
        o.next_id = MAX(o.next_id, qemu_stream_section(s, i)->section_id + 1);
    }
    /* The original FULL device sections by section id: their tree entries before the filter. */
    g_autoptr(GHashTable) orig = g_hash_table_new(g_direct_hash, g_direct_equal);
    for (size_t t = 0; t < qlist_size(before); t++) {
        uint64_t id;
        qnum_get_uint(qdict_get(qlist_get(before, t), "section-id"), &id);
        g_hash_table_insert(orig, GUINT_TO_POINTER((guint)id), qlist_get(before, t));
    }
    bool ok = true;
    for (size_t i = 0; ok && i < qemu_stream_n_sections(s); i++) {
        const QemuStreamSection *sec = qemu_stream_section(s, i);
        QObject *was = sec->type == QEMU_VM_SECTION_FULL
            ? g_hash_table_lookup(orig, GUINT_TO_POINTER((guint)sec->section_id)) : NULL;
        if (!was) {
            out_keep(&o, sec);          /* RAM, undecoded sections: as they are */
            continue;
        }
        /* This section's entry (if the rules kept it) and the parts a split added after it. */
        size_t t;
        uint64_t id;
        for (t = 0; t < qlist_size(tree); t++) {
            if (qnum_get_uint(qdict_get(qlist_get(tree, t), "section-id"), &id) &&
                id == sec->section_id) {
                break;
            }
        }
        if (t == qlist_size(tree)) {
            o.changed = true;           /* merged into another */
            continue;
        }
        QObject *entry = qlist_get(tree, t);
        if (qobject_equal(entry, was)) {
            out_keep(&o, sec);
            QObject *e = original_entry(vmdesc, sec);
            qlist_append(o.devices, e ? qobject_ref(e) : qobject_copy(qdict_get(entry, "desc")));
        } else {
            ok = out_encode(&o, entry, sec, errp);
        }
        for (t++; ok && t < qlist_size(tree) && !qdict_haskey(qlist_get(tree, t), "section-id");
             t++) {
            ok = out_encode(&o, qlist_get(tree, t), sec, errp);
        }
    }
    GBytes *result = NULL;
    if (ok) {
        g_autoptr(GBytes) text = NULL;
        if (vmdesc && o.changed) {
            g_autoptr(QObject) copy = qobject_copy(vmdesc);
            qdict_put(copy, "devices", qobject_ref(o.devices));
            char *json = qobject_to_json(copy, false);
            text = g_bytes_new_take(json, strlen(json));
        } else if (vmdesc) {
            text = g_bytes_ref(qemu_stream_vmdesc_text(s));
        }
        result = qemu_stream_write_parts(qemu_stream_configuration_payload(s),
                                         (QemuStreamSection *const *)o.sections->pdata,
                                         o.sections->len, text);
    }
    g_ptr_array_unref(o.sections);
    qobject_unref(o.devices);
    if (result && vmdesc) {
        /* What the filter wrote must read back as a stream. */
        g_autoptr(QemuStream) check = qemu_stream_parse(result, errp);
        if (!check) {
            vms_error_prefix(errp, "the filtered stream does not read back");
            g_bytes_unref(result);
            return NULL;
        }
    }
    return result;
}

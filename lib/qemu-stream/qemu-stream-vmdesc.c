/*
 * A device section's vmdesc entry as a VMStateDescription, and decoding the
 * section with it through the VMState engine.
 *
 * QEMU's vmstate_save_state() writes, next to the bytes, a JSON description
 * of what it wrote: per field its name, its type (the VMStateInfo name, or
 * "struct"), the bytes written ("size"), "array_len" for arrays whose
 * elements look alike (one entry stands for all of them, "size" is one
 * element) or "index" for arrays described element by element, and for
 * structs the nested description ("struct", or in the entry itself for
 * "vstruct" and "tmp").  The subsections that were sent follow, as
 * descriptions of their own.
 *
 * Learning turns that into a description in vmscope's own JSON format
 * (vmstate_describe's), on a state layout made up here: every field gets
 * its bytes in a scratch state, one after the other.  Types come from the
 * type table by their vmdesc names (vmstate_info_find_vmdesc); a type
 * vmscope does not know ("pci config", "virtio") is a buffer of the
 * described size.  A stream read on its own has no loader configuration to
 * check against, and every byte is worth showing, so `_equal` and `le`
 * integers are read as plain integers and unused bytes as buffers.  Entries
 * of one name in a row (array elements by "index", arrays split into runs
 * around null pointers) become fields that continue one run: one list.
 * Each subsection gets a presence byte in the state, set when a load finds
 * it, so what is shown is what the stream has.
 *
 * Learning trusts nothing and reads no byte of the stream: every size in
 * the vmdesc must fit its type, a struct's "size" must be what its members
 * cover, and everything described must fit in the bytes there are, before
 * any state is allocated.  The engine then decodes the section through the
 * QEMUFile input visitor, and what the vmdesc says must be what the stream
 * has: every subsection it lists (name and version), and not a byte more or
 * less.  Errors name the offset, the section and the field path.
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "qemu-stream-impl.h"
#include "vmscope/qemufile-visitor.h"
#include "vmscope/qobject-visitor.h"
#include "vmscope/trace-usdt.h"

/* Guards against descriptions that would make us allocate without reading. */
#define MAX_ARRAY_LEN (1u << 24)
#define MAX_DEPTH 64

/* A subsection the vmdesc lists, to check that the stream had it. */
struct QsListedSubsection {
    size_t presence;            /* its presence byte in the device's state */
    uint64_t at;                /* where its header is in the stream */
    char *name;
    uint64_t version;
    char *path;                 /* of the description it belongs to */
};

typedef struct Learn {
    const char *where;
    GString *path;
    uint64_t pos;               /* absolute stream offset the next field starts at */
    unsigned depth;
    GArray *listed;             /* QsListedSubsection */
    bool exact;                 /* the stream's own vmdesc: listed subsections were sent */
    bool in_array;              /* inside an element of an "array_len" array */
    GError **errp;
} Learn;

static bool learn_error(Learn *l, VmsErrorCode code, uint64_t at, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);
static bool learn_error(Learn *l, VmsErrorCode code, uint64_t at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    vms_error_set_at(l->errp, code, at, l->where, l->path->str, "%s", msg);
    return false;
}

static void path_push(Learn *l, const char *name)
{
    if (l->path->len) {
        g_string_append_c(l->path, '.');
    }
    g_string_append(l->path, name);
}

/* n more bytes at l->pos, within `limit` (the end of what encloses them). */
static bool need(Learn *l, uint64_t n, uint64_t limit)
{
    if (n > limit - l->pos) {
        return learn_error(l, VMS_ERROR_TRUNCATED, l->pos, "truncated: need %" PRIu64
                           " bytes, %" PRIu64 " left", n, limit - l->pos);
    }
    return true;
}

/* A non-negative integer member of a vmdesc object. */
static bool desc_uint(Learn *l, const QObject *obj, const char *key, uint64_t *out)
{
    QObject *v = qdict_get(obj, key);
    if (!qdict_haskey(obj, key)) {
        return learn_error(l, VMS_ERROR_INVALID, l->pos, "vmdesc: entry has no \"%s\"", key);
    }
    if (!qnum_get_uint(v, out)) {
        return learn_error(l, VMS_ERROR_INVALID, l->pos,
                           "vmdesc: \"%s\" is not a non-negative integer", key);
    }
    return true;
}

static QObject *learn_vmsd(Learn *l, const QObject *vdesc, const char *name, int version,
                           uint64_t limit, size_t base, size_t *state_off);

/* The type a field of this vmdesc type is read with (see the top of the file). */
static const VMStateInfo *reading_type(const char *vmdesc_type)
{
    const VMStateInfo *info = vmstate_info_find_vmdesc(vmdesc_type);
    if (!info) {
        return VMSTATE_INFO(VMSTATE_TYPE_BUFFER);
    }
    if ((info->flags & VMSTATE_INFO_INT) && info->check != VMSTATE_CHECK_NONE) {
        return vmstate_info_int(info->int_kind);
    }
    if ((info->flags & VMSTATE_INFO_NO_STATE) && info->size == 0) {
        return VMSTATE_INFO(VMSTATE_TYPE_BUFFER);           /* unused bytes */
    }
    return info;
}

/*
 * One element of a field entry, at l->pos: *fd gets the element's type,
 * size and, for structs, description; *state_size the element's bytes in
 * the state.
 */
static bool learn_element(Learn *l, const QObject *entry, const char *type, uint64_t size,
                          uint64_t limit, size_t base, QObject *fd, size_t *state_size)
{
    const VMStateInfo *info = reading_type(type);
    const QObject *nested = NULL;

    if (info->flags & VMSTATE_INFO_STRUCT) {
        nested = info->flags & VMSTATE_INFO_INLINE ? entry : qdict_get(entry, "struct");
        if (!(info->flags & VMSTATE_INFO_INLINE) && qobject_type(nested) != QTYPE_DICT) {
            return learn_error(l, VMS_ERROR_INVALID, l->pos,
                               "vmdesc: struct field has no \"struct\" description");
        }
        if ((info->flags & VMSTATE_INFO_INLINE) &&
            qobject_type(qdict_get(nested, "fields")) != QTYPE_LIST) {
            info = VMSTATE_INFO(VMSTATE_TYPE_BUFFER);       /* described by its size only */
        }
    }
    if (info->size && size != info->size) {
        return learn_error(l, VMS_ERROR_INVALID, l->pos,
                           "vmdesc: type '%s' has size %" PRIu64 ", expected %zu", type, size,
                           info->size);
    }
    if (!need(l, size, limit)) {
        return false;
    }
    qdict_put(fd, "type", qstring_from_str(info->name));
    qdict_put(fd, "size", qnum_from_uint(size));
    if (!(info->flags & VMSTATE_INFO_STRUCT)) {
        l->pos += size;
        *state_size = info->flags & VMSTATE_INFO_NO_STATE ? 0 : size;
        return true;
    }

    uint64_t start = l->pos;
    size_t sub_size = 0;
    QObject *sub = learn_vmsd(l, nested, NULL, -1, start + size, base, &sub_size);
    if (!sub) {
        return false;
    }
    qdict_put(fd, "struct", sub);
    if (l->pos != start + size) {
        return learn_error(l, VMS_ERROR_INVALID, l->pos,
                           "vmdesc: size %" PRIu64 " but its fields cover %" PRIu64 " bytes",
                           size, l->pos - start);
    }
    /* A struct element of no bytes still takes one, or arrays of it could not step. */
    *state_size = sub_size ? sub_size : 1;
    qdict_put(fd, "size", qnum_from_uint(*state_size));
    return true;
}

/*
 * One field entry of a description: a field of the learned description,
 * placed at *state_off.  `continues` when it continues the list of the
 * entry before it (same name); *count is the number of list elements so far.
 */
static QObject *learn_field(Learn *l, const QObject *entry, const char *name, bool continues,
                            uint64_t *count, uint64_t limit, size_t base, size_t *state_off)
{
    const char *type = qdict_get_str(entry, "type");
    uint64_t size, array_len = 1, index = 0;
    bool has_len = qdict_haskey(entry, "array_len"), has_index = qdict_haskey(entry, "index");

    if (!type) {
        learn_error(l, VMS_ERROR_INVALID, l->pos, "vmdesc: field entry has no \"type\"");
        return NULL;
    }
    if (!desc_uint(l, entry, "size", &size) ||
        (has_len && !desc_uint(l, entry, "array_len", &array_len)) ||
        (!has_len && has_index && !desc_uint(l, entry, "index", &index))) {
        return NULL;
    }
    if (has_index && !has_len && index != *count) {
        if (continues) {
            learn_error(l, VMS_ERROR_INVALID, l->pos, "vmdesc: array element index %" PRIu64
                        ", expected %" PRIu64, index, *count);
        } else {
            learn_error(l, VMS_ERROR_INVALID, l->pos, "vmdesc: array element index %" PRIu64
                        " without index 0", index);
        }
        return NULL;
    }
    if (has_len && (array_len > MAX_ARRAY_LEN ||
                    (size && array_len > (limit - l->pos) / size))) {
        learn_error(l, VMS_ERROR_INVALID, l->pos, "vmdesc: array of %" PRIu64 " x %" PRIu64
                    " bytes overruns the stream (%" PRIu64 " bytes left)", array_len, size,
                    limit - l->pos);
        return NULL;
    }

    g_autoptr(QObject) fd = qdict_new();
    qdict_put(fd, "name", qstring_from_str(name));
    size_t mark = l->path->len;
    if (has_index || continues) {
        g_string_append_printf(l->path, "[%" PRIu64 "]", *count);
    }
    size_t elem_size = 0;
    bool was_in_array = l->in_array;
    l->in_array = was_in_array || (has_len && array_len > 1);
    bool ok = learn_element(l, entry, type, size, limit, base + *state_off, fd, &elem_size);
    l->in_array = was_in_array;
    g_string_truncate(l->path, mark);
    if (!ok) {
        return NULL;
    }
    /* The other elements of an "array_len" array are laid out like the first. */
    l->pos += (array_len - 1) * size;

    if (elem_size || strcmp(type, "nullptr") != 0) {
        /* Every field but a null pointer has a place, a buffer of no bytes too. */
        qdict_put(fd, "offset", qnum_from_uint(*state_off));
        *state_off += (size_t)array_len * elem_size;
    }
    if (has_len || has_index) {
        QObject *ad = qdict_new();
        qdict_put(ad, "kind", qstring_from_str("fixed"));
        qdict_put(ad, "length", qnum_from_uint(array_len));
        qdict_put(fd, "array", ad);
    }
    if (continues) {
        qdict_put(fd, "continues", qbool_from_bool(true));
    }
    *count += array_len;
    return g_steal_pointer(&fd);
}

/* An entry must be an object with a string member `key`: *name. */
static bool entry_named(Learn *l, const QObject *entry, const char *what, const char *key,
                        const char **name)
{
    if (qobject_type(entry) != QTYPE_DICT) {
        return learn_error(l, VMS_ERROR_INVALID, l->pos, "vmdesc: %s entry is not an object",
                           what);
    }
    *name = qdict_get_str(entry, key);
    if (!*name) {
        return learn_error(l, VMS_ERROR_INVALID, l->pos, "vmdesc: %s entry has no \"%s\"",
                           what, key);
    }
    return true;
}

/* The fields of a vmdesc description, appended to `fields`. */
static bool learn_fields(Learn *l, const QObject *list, QObject *fields, uint64_t limit,
                         size_t base, size_t *state_off)
{
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
    const char *prev = NULL;
    uint64_t count = 0;

    for (size_t i = 0; i < qlist_size(list); i++) {
        const QObject *entry = qlist_get(list, i);
        const char *name;
        if (!entry_named(l, entry, "field", "name", &name)) {
            return false;
        }
        bool continues = prev && strcmp(prev, name) == 0;
        size_t mark = l->path->len;
        path_push(l, name);
        if (!continues && g_hash_table_contains(seen, name)) {
            return learn_error(l, VMS_ERROR_INVALID, l->pos, "vmdesc: duplicate field name");
        }
        if (!continues) {
            count = 0;
        }
        QObject *fd = learn_field(l, entry, name, continues, &count, limit, base, state_off);
        if (!fd) {
            return false;
        }
        g_string_truncate(l->path, mark);
        qlist_append(fields, fd);
        g_hash_table_add(seen, (gpointer)name);
        prev = name;
    }
    return true;
}

/* The subsections of a vmdesc description, each with its presence byte. */
static bool learn_subsections(Learn *l, const QObject *list, const char *parent,
                              const QObject *fields, QObject *desc, uint64_t limit,
                              size_t base, size_t *state_off)
{
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
    for (size_t i = 0; i < qlist_size(fields); i++) {
        g_hash_table_add(seen, (gpointer)qdict_get_str(qlist_get(fields, i), "name"));
    }
    QObject *subs = qlist_new();
    qdict_put(desc, "subsections", subs);
    for (size_t i = 0; i < qlist_size(list); i++) {
        const QObject *sub = qlist_get(list, i);
        const char *name;
        uint64_t version;
        if (!entry_named(l, sub, "subsection", "vmsd_name", &name) ||
            !desc_uint(l, sub, "version", &version)) {
            return false;
        }
        if (version > INT32_MAX) {
            return learn_error(l, VMS_ERROR_INVALID, l->pos,
                               "vmdesc: subsection version %" PRIu64 " out of range", version);
        }
        if (l->pos >= limit) {
            return learn_error(l, VMS_ERROR_TRUNCATED, l->pos,
                               "truncated: expected subsection '%s'", name);
        }
        size_t len = strlen(name), plen = strlen(parent);
        if (len > UINT8_MAX || len <= plen || strncmp(name, parent, plen) != 0) {
            return learn_error(l, VMS_ERROR_INVALID, l->pos,
                               "vmdesc: subsection name '%s' does not extend its parent's"
                               " name '%s' in at most 255 bytes", name, parent);
        }
        if (g_hash_table_contains(seen, name)) {
            return learn_error(l, VMS_ERROR_INVALID, l->pos,
                               "vmdesc: duplicate subsection '%s'", name);
        }
        g_hash_table_add(seen, (gpointer)name);
        if (l->in_array) {
            return learn_error(l, VMS_ERROR_INVALID, l->pos,
                               "vmdesc: subsection '%s' in an element of an \"array_len\""
                               " array", name);
        }
        /*
         * Exact: the subsection is in the stream, where the vmdesc says.
         * Otherwise it was where the vmdesc says in the stream it comes
         * from, and sizes are checked on that layout; in this stream it may
         * be there or not.
         */
        if (l->exact) {
            QsListedSubsection listed = {
                .presence = base + *state_off,
                .at = l->pos,
                .name = g_strdup(name),
                .version = version,
                .path = g_strdup(l->path->str),
            };
            g_array_append_val(l->listed, listed);
        }
        size_t presence = (*state_off)++;
        if (!need(l, 1 + 1 + len + 4, limit)) {
            return false;
        }
        l->pos += 1 + 1 + len + 4;

        size_t mark = l->path->len;
        path_push(l, name);
        QObject *sd = learn_vmsd(l, sub, name, (int)version, limit, base, state_off);
        if (!sd) {
            return false;
        }
        g_string_truncate(l->path, mark);
        qdict_put(sd, "presence_offset", qnum_from_uint(presence));
        qlist_append(subs, sd);
    }
    return true;
}

/*
 * A vmdesc description {"vmsd_name", "version", "fields", "subsections"}
 * as a description; name and version override the vmdesc's when given
 * (NULL, -1: take them from it).  The state of this description starts at
 * `base` in the device's state, and its fields are placed from *state_off
 * (relative to base) on; subsections share their parent's state.
 */
static QObject *learn_vmsd_at_depth(Learn *l, const QObject *vdesc, const char *name,
                                    int version, uint64_t limit, size_t base, size_t *state_off)
{
    const QObject *list = qdict_get(vdesc, "fields");
    const QObject *subs = qdict_get(vdesc, "subsections");
    uint64_t v = 0;

    if (qobject_type(list) != QTYPE_LIST) {
        learn_error(l, VMS_ERROR_INVALID, l->pos, "vmdesc: description has no \"fields\" list");
        return NULL;
    }
    if (subs && qobject_type(subs) != QTYPE_LIST) {
        learn_error(l, VMS_ERROR_INVALID, l->pos, "vmdesc: \"subsections\" is not a list");
        return NULL;
    }
    if (!name) {
        name = qdict_get_str(vdesc, "vmsd_name");
        name = name && *name ? name : "struct";
    }
    if (version < 0) {
        version = qnum_get_uint(qdict_get(vdesc, "version"), &v) && v <= INT32_MAX ? (int)v : 0;
    }
    g_autoptr(QObject) desc = qdict_new();
    qdict_put(desc, "name", qstring_from_str(name));
    qdict_put(desc, "version", qnum_from_int(version));
    qdict_put(desc, "minimum_version", qnum_from_int(version));
    QObject *fields = qlist_new();
    qdict_put(desc, "fields", fields);
    if (!learn_fields(l, list, fields, limit, base, state_off) ||
        (qlist_size(subs) &&
         !learn_subsections(l, subs, name, fields, desc, limit, base, state_off))) {
        return NULL;
    }
    return g_steal_pointer(&desc);
}

static QObject *learn_vmsd(Learn *l, const QObject *vdesc, const char *name, int version,
                           uint64_t limit, size_t base, size_t *state_off)
{
    if (l->depth >= MAX_DEPTH) {
        learn_error(l, VMS_ERROR_INVALID, l->pos, "vmdesc: nested deeper than %d levels",
                    MAX_DEPTH);
        return NULL;
    }
    l->depth++;
    QObject *desc = learn_vmsd_at_depth(l, vdesc, name, version, limit, base, state_off);
    l->depth--;
    return desc;
}

static void listed_clear(gpointer p)
{
    QsListedSubsection *s = p;
    g_free(s->name);
    g_free(s->path);
}

QsDevice *qs_device_ref(QsDevice *dev)
{
    dev->refs++;
    return dev;
}

void qs_device_free(QsDevice *dev)
{
    if (!dev) {
        return;
    }
    if (dev->refs) {
        dev->refs--;
        return;
    }
    vmstate_description_free(dev->vmsd);
    g_array_unref(dev->listed);
    g_free(dev->state);
    g_free(dev);
}

QsDevice *qs_device_learn(QObject *desc, uint64_t at, uint64_t avail, uint32_t version,
                          bool exact, const char *where, GError **errp)
{
    if (version > INT32_MAX) {
        vms_error_set_at(errp, VMS_ERROR_VERSION, at, where, NULL,
                         "version %" PRIu32 " out of range", version);
        return NULL;
    }
    g_autoptr(QsDevice) dev = g_new0(QsDevice, 1);
    dev->listed = g_array_new(FALSE, TRUE, sizeof(QsListedSubsection));
    g_array_set_clear_func(dev->listed, listed_clear);
    Learn l = {
        .where = where,
        .path = g_string_new(NULL),
        .pos = at,
        .listed = dev->listed,
        .exact = exact,
        .errp = errp,
    };
    dev->exact = exact;
    const char *name = qdict_get_str(desc, "vmsd_name");
    if (!name || !*name) {
        name = qdict_get_str(desc, "name");
    }
    size_t state_size = 0;
    g_autoptr(QObject) json = learn_vmsd(&l, desc, name && *name ? name : "device",
                                         (int)version, at + avail, 0, &state_size);
    g_string_free(l.path, TRUE);
    if (!json) {
        return NULL;
    }
    GError *err = NULL;
    dev->state_size = state_size ? state_size : 1;
    dev->wire_size = l.pos - at;
    dev->vmsd = vmstate_from_description_depth(json, dev->state_size, 2 * MAX_DEPTH + 1, &err);
    if (!dev->vmsd) {
        vms_error_locate(err, at, where, NULL);
        g_propagate_error(errp, err);
        return NULL;
    }
    return g_steal_pointer(&dev);
}

/*
 * Does the stream have, where the vmdesc says, the subsection header the
 * vmdesc lists?  If not, say how it differs.
 */
static bool listed_in_stream(const QsListedSubsection *s, const ByteReader *r,
                             const char *where, GError **errp)
{
    uint64_t pos = s->at - r->origin;
    const uint8_t *p = r->data + pos;
    size_t left = r->len - pos, len = strlen(s->name);
    const char *path = s->path;

    if (left == 0) {
        vms_error_set_at(errp, VMS_ERROR_TRUNCATED, s->at, where, path,
                         "truncated: expected subsection '%s'", s->name);
        return false;
    }
    if (p[0] != QEMUFILE_VM_SUBSECTION) {
        vms_error_set_at(errp, VMS_ERROR_INVALID, s->at, where, path,
                         "expected subsection '%s' (0x05), found 0x%02x", s->name, p[0]);
        return false;
    }
    size_t found_len = left >= 2 ? MIN(p[1], left - 2) : 0;
    if (found_len != len || p[1] != len || memcmp(p + 2, s->name, len) != 0) {
        g_autofree char *found = bytes_to_text(p + 2, found_len);
        vms_error_set_at(errp, VMS_ERROR_INVALID, s->at, where, path,
                         "subsection '%s' in the stream, vmdesc expects '%s'", found, s->name);
        return false;
    }
    if (left >= 2 + len + 4) {
        uint64_t version = (uint64_t)p[2 + len] << 24 | (uint64_t)p[3 + len] << 16 |
                           (uint64_t)p[4 + len] << 8 | p[5 + len];
        if (version != s->version) {
            vms_error_set_at(errp, VMS_ERROR_INVALID, s->at, where, path,
                             "subsection '%s' has version %" PRIu64 " in the stream, %" PRIu64
                             " in the vmdesc", s->name, version, s->version);
            return false;
        }
    }
    return true;
}

bool qs_device_load(QsDevice *dev, ByteReader *r, int version, const char *where,
                    GError **errp)
{
    ByteReader all = *r;
    uint64_t start = byte_reader_offset(r);
    GError *err = NULL;

    g_free(dev->state);
    dev->state = g_malloc0(dev->state_size);
    Visitor *v = qemufile_input_visitor_new(r);
    vms_usdt_quiet_begin();     /* reading a stream: not a load (trace-usdt.h) */
    bool ok = vmstate_load_as(v, NULL, dev->vmsd, dev->state, version, NULL, &err);
    vms_usdt_quiet_end();
    visit_free(v);
    /*
     * A subsection the vmdesc lists that the stream does not have where it
     * says explains more than whatever failed after it.
     */
    for (guint i = 0; i < dev->listed->len; i++) {
        const QsListedSubsection *s = &g_array_index(dev->listed, QsListedSubsection, i);
        if (!dev->state[s->presence] && (ok || s->at <= byte_reader_offset(r)) &&
            !listed_in_stream(s, &all, where, errp)) {
            g_clear_error(&err);
            return false;
        }
    }
    if (!ok) {
        vms_error_locate(err, byte_reader_offset(r), where, NULL);
        g_propagate_error(errp, err);
        return false;
    }
    if (dev->exact && byte_reader_offset(r) - start != dev->wire_size) {
        vms_error_set_at(errp, VMS_ERROR_INVALID, byte_reader_offset(r), where, NULL,
                         "the vmdesc describes %" PRIu64 " bytes, the state has %" PRIu64,
                         dev->wire_size, byte_reader_offset(r) - start);
        return false;
    }
    return true;
}

bool qs_device_save(Visitor *v, const char *name, const QsDevice *dev, uint8_t *state,
                    const VMStateContext *ctx, GError **errp)
{
    vms_usdt_quiet_begin();     /* showing a stream: not a save (trace-usdt.h) */
    bool ok = vmstate_save_as(v, name, dev->vmsd, state, ctx, errp);
    vms_usdt_quiet_end();
    return ok;
}

QObject *qs_device_to_qobject(const QsDevice *dev)
{
    Visitor *v = qobject_output_visitor_new();
    bool ok = qs_device_save(v, NULL, dev, dev->state, NULL, NULL);
    g_assert(ok);           /* the QObject output visitor never fails */
    QObject *obj = qobject_output_visitor_take(v);
    visit_free(v);
    return obj;
}

/*
 * Bytes the description of an encoded device may describe: no stream bounds
 * it, so a limit does (QEMU's device sections are kilobytes; a rule file
 * must not make us allocate gigabytes).
 */
#define ENCODE_LIMIT (UINT64_C(1) << 26)

GBytes *qemu_stream_encode_device(QObject *desc, uint32_t version_id, QObject *state,
                                  QObject *vmdesc, GError **errp)
{
    g_autoptr(QsDevice) dev = qs_device_learn(desc, 0, ENCODE_LIMIT, version_id, false, NULL,
                                              errp);
    if (!dev) {
        return NULL;
    }
    dev->state = g_malloc0(dev->state_size);
    Visitor *in = qobject_input_visitor_new(state);
    bool ok = vmstate_load_as(in, NULL, dev->vmsd, dev->state, (int)version_id, NULL, errp);
    visit_free(in);
    if (!ok) {
        return NULL;
    }
    ByteWriter w;
    byte_writer_init(&w);
    vms_usdt_quiet_begin();     /* re-encoding a stream: not a save (trace-usdt.h) */
    ok = qemu_stream_save_device(&w, dev->vmsd, dev->state, NULL, vmdesc, errp);
    vms_usdt_quiet_end();
    GBytes *bytes = ok ? byte_writer_take(&w) : NULL;
    byte_writer_clear(&w);
    return bytes;
}

/*
 * Decoding a device section with the stream's own vmdesc.
 *
 * QEMU's vmstate_save_state() writes, next to the bytes, a JSON description
 * of what it wrote: per field its name, its type (the VMStateInfo name, or
 * "struct"), the bytes written ("size"), "array_len" for arrays whose
 * elements look alike (one entry stands for all of them, "size" is one
 * element) or "index" for arrays described element by element, and for
 * structs the nested description.  Subsections follow the fields in the
 * stream as 0x05, u8 name length, name, be32 version, then their own fields.
 *
 * The walk below trusts nothing: every size is checked against the bytes
 * left, a struct's "size" must be exactly what its members cover, integer
 * sizes must match their type, subsection names and versions must match the
 * stream.  Anything else is an error naming the offset and the field path.
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "qemu-stream-impl.h"
#include "vmscope/error.h"

/* Guards against descriptions that would make us allocate without reading. */
#define MAX_ARRAY_LEN (1u << 24)
#define MAX_DEPTH 64

typedef enum FieldKind {
    FK_BOOL,
    FK_INT,
    FK_UINT,
    FK_NULLPTR,
    FK_STRUCT,      /* nested description under "struct" */
    FK_INLINE,      /* vstruct/tmp: nested description inline in the entry */
    FK_HEX,
} FieldKind;

typedef struct TypeInfo {
    const char *name;
    FieldKind kind;
    unsigned width;
} TypeInfo;

static const TypeInfo known_types[] = {
    { "bool", FK_BOOL, 1 },
    { "int8", FK_INT, 1 }, { "int16", FK_INT, 2 }, { "int32", FK_INT, 4 }, { "int64", FK_INT, 8 },
    { "int32 equal", FK_INT, 4 }, { "int32 le", FK_INT, 4 }, { "int64 equal", FK_INT, 8 },
    { "uint8", FK_UINT, 1 }, { "uint16", FK_UINT, 2 }, { "uint32", FK_UINT, 4 },
    { "uint64", FK_UINT, 8 },
    { "uint8 equal", FK_UINT, 1 }, { "uint16 equal", FK_UINT, 2 },
    { "uint32 equal", FK_UINT, 4 }, { "uint64 equal", FK_UINT, 8 },
    { "timer", FK_INT, 8 },        /* be64 expiry time, -1 when not armed */
    { "nullptr", FK_NULLPTR, 1 },
    { "struct", FK_STRUCT, 0 },
    { "vstruct", FK_INLINE, 0 },
    { "tmp", FK_INLINE, 0 },
};

static const TypeInfo hex_type = { "", FK_HEX, 0 };

/* What a vmdesc type name means; unknown types are bytes shown as hex. */
static const TypeInfo *lookup_type(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(known_types); i++) {
        if (strcmp(known_types[i].name, name) == 0) {
            return &known_types[i];
        }
    }
    return &hex_type;
}

typedef struct Walk {
    ByteReader *r;
    uint64_t base;              /* absolute offset of the payload start */
    const char *where;
    GHashTable *leaves;
    GString *path;
    unsigned depth;
} Walk;

static void path_push_name(Walk *w, const char *name)
{
    if (w->path->len) {
        g_string_append_c(w->path, '.');
    }
    g_string_append(w->path, name);
}

static void path_push_index(Walk *w, uint64_t i)
{
    char buf[24];
    size_t n = sizeof(buf);
    buf[--n] = ']';
    do {
        buf[--n] = (char)('0' + i % 10);
        i /= 10;
    } while (i);
    buf[--n] = '[';
    g_string_append_len(w->path, buf + n, (gssize)(sizeof(buf) - n));
}

static void record(Walk *w, uint64_t abs_offset, uint64_t size, QsLeafKind kind, const char *type)
{
    if (!w->leaves || g_hash_table_contains(w->leaves, w->path->str)) {
        return;
    }
    QsLeaf *leaf = g_new(QsLeaf, 1);
    leaf->offset = abs_offset - w->base;
    leaf->size = size;
    leaf->kind = kind;
    leaf->type = type;
    g_hash_table_insert(w->leaves, g_strdup(w->path->str), leaf);
}

static bool desc_error(Walk *w, GError **errp, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static bool desc_error(Walk *w, GError **errp, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    vms_error_set_at(errp, VMS_ERROR_INVALID, byte_reader_offset(w->r), w->where, w->path->str,
                     "%s", msg);
    return false;
}

static bool wrap(Walk *w, GError *inner, GError **errp)
{
    qs_propagate(errp, inner, w->where, w->path->str);
    return false;
}

/* A non-negative integer member of a vmdesc object. */
static bool desc_uint(Walk *w, const QObject *obj, const char *key, bool required,
                      uint64_t *out, GError **errp)
{
    QObject *v = qdict_get(obj, key);
    if (!v) {
        if (required) {
            return desc_error(w, errp, "vmdesc: entry has no \"%s\"", key);
        }
        return false;
    }
    if (!qnum_get_uint(v, out)) {
        return desc_error(w, errp, "vmdesc: \"%s\" is not a non-negative integer", key);
    }
    return true;
}

static bool walk_vmsd(Walk *w, QObject *desc, QObject *dict, GError **errp);

#define NO_INDEX UINT64_MAX

/* Put "[index]" on the path now, if the value is an array element. */
static void push_pending_index(Walk *w, uint64_t *index)
{
    if (*index != NO_INDEX) {
        path_push_index(w, *index);
        *index = NO_INDEX;
    }
}

/*
 * One value of a field: `type`, `size` bytes; element `index` of its array
 * (NO_INDEX if none).  The element's "[index]" joins the path only when it
 * is needed (an error, a recorded leaf, a struct), which keeps long arrays
 * cheap.
 */
static bool decode_value(Walk *w, QObject *entry, const char *type, const TypeInfo *ti,
                         uint64_t size, uint64_t index, QObject **out, GError **errp)
{
    FieldKind kind = ti->kind;
    QObject *nested = NULL;
    uint64_t start = byte_reader_offset(w->r);
    size_t mark = w->path->len;
    GError *err = NULL;
    const uint8_t *p;
    bool ok = false;

    if (kind == FK_STRUCT) {
        nested = qdict_get(entry, "struct");
        if (qobject_type(nested) != QTYPE_DICT) {
            push_pending_index(w, &index);
            desc_error(w, errp, "vmdesc: struct field has no \"struct\" description");
            goto out;
        }
    } else if (kind == FK_INLINE) {
        nested = entry;
        if (qobject_type(qdict_get(entry, "fields")) != QTYPE_LIST) {
            kind = FK_HEX;      /* described only by its size */
        }
    }

    switch (kind) {
    case FK_BOOL:
    case FK_INT:
    case FK_UINT:
    case FK_NULLPTR: {
        if (size != ti->width) {
            push_pending_index(w, &index);
            desc_error(w, errp, "vmdesc: type '%s' has size %" PRIu64 ", expected %u",
                       type, size, ti->width);
            goto out;
        }
        if (!byte_reader_take(w->r, size, &p, &err)) {
            push_pending_index(w, &index);
            wrap(w, err, errp);
            goto out;
        }
        uint64_t u = 0;
        for (unsigned i = 0; i < ti->width; i++) {
            u = (u << 8) | p[i];
        }
        QsLeafKind leaf;
        if (kind == FK_BOOL) {
            *out = qbool_from_bool(u != 0);
            leaf = QS_LEAF_BOOL;
        } else if (kind == FK_UINT) {
            *out = qnum_from_uint(u);
            leaf = QS_LEAF_UINT;
        } else if (kind == FK_INT) {
            unsigned shift = 64 - 8 * ti->width;
            *out = qnum_from_int((int64_t)(u << shift) >> shift);    /* sign-extend */
            leaf = QS_LEAF_INT;
        } else {
            if (u != '0') {
                push_pending_index(w, &index);
                vms_error_set_at(errp, VMS_ERROR_INVALID, start, w->where, w->path->str,
                                 "null pointer marker is 0x%02x, expected 0x30", (unsigned)u);
                goto out;
            }
            *out = NULL;
            leaf = QS_LEAF_NULL;
        }
        if (w->leaves) {
            push_pending_index(w, &index);
            record(w, start, size, leaf, type);
        }
        ok = true;
        break;
    }
    case FK_STRUCT:
    case FK_INLINE: {
        ByteReader sub, *outer = w->r;
        push_pending_index(w, &index);
        if (!byte_reader_sub(w->r, size, &sub, &err)) {
            wrap(w, err, errp);
            goto out;
        }
        if (w->depth >= MAX_DEPTH) {
            desc_error(w, errp, "vmdesc: nested deeper than %d levels", MAX_DEPTH);
            goto out;
        }
        QObject *dict = qdict_new();
        w->depth++;
        w->r = &sub;
        ok = walk_vmsd(w, nested, dict, errp);
        if (ok && byte_reader_left(&sub)) {
            ok = desc_error(w, errp, "vmdesc: size %" PRIu64 " but its fields cover %zu bytes",
                            size, sub.pos);
        }
        w->r = outer;
        w->depth--;
        if (!ok) {
            qobject_unref(dict);
            goto out;
        }
        record(w, start, size, QS_LEAF_STRUCT, type);
        *out = dict;
        break;
    }
    case FK_HEX: {
        if (!byte_reader_take(w->r, size, &p, &err)) {
            push_pending_index(w, &index);
            wrap(w, err, errp);
            goto out;
        }
        char *hex = hex_encode(p, size);
        *out = qstring_from_str(hex);
        g_free(hex);
        if (w->leaves) {
            push_pending_index(w, &index);
            record(w, start, size, QS_LEAF_HEX, type);
        }
        ok = true;
        break;
    }
    }
out:
    g_string_truncate(w->path, mark);
    return ok;
}

/*
 * One vmdesc field entry.  Entries of one array come either as one entry
 * with "array_len" or as consecutive entries with "index" 0, 1, ...; newer
 * QEMUs also split an array into several runs, so consecutive entries of the
 * same name extend the same list.
 */
static bool walk_field(Walk *w, QObject *entry, QObject *dict, const char *prev_name,
                       GError **errp)
{
    if (qobject_type(entry) != QTYPE_DICT) {
        return desc_error(w, errp, "vmdesc: field entry is not an object");
    }
    const char *name = qdict_get_str(entry, "name");
    const char *type = qdict_get_str(entry, "type");
    if (!name) {
        return desc_error(w, errp, "vmdesc: field entry has no \"name\"");
    }
    size_t mark = w->path->len;
    path_push_name(w, name);
    bool ok = false;
    uint64_t size, array_len = 1, index = 0;
    bool is_array = false, is_indexed = false;

    if (!type) {
        desc_error(w, errp, "vmdesc: field entry has no \"type\"");
        goto out;
    }
    if (!desc_uint(w, entry, "size", true, &size, errp)) {
        goto out;
    }
    const TypeInfo *ti = lookup_type(type);
    if (qdict_haskey(entry, "array_len")) {
        if (!desc_uint(w, entry, "array_len", true, &array_len, errp)) {
            goto out;
        }
        is_array = true;
    } else if (qdict_haskey(entry, "index")) {
        if (!desc_uint(w, entry, "index", true, &index, errp)) {
            goto out;
        }
        is_indexed = true;
    }
    if (is_array && (array_len > MAX_ARRAY_LEN ||
                     (size && array_len > byte_reader_left(w->r) / size))) {
        desc_error(w, errp, "vmdesc: array of %" PRIu64 " x %" PRIu64
                   " bytes overruns the stream (%zu bytes left)",
                   array_len, size, byte_reader_left(w->r));
        goto out;
    }

    QObject *existing = qdict_get(dict, name);
    bool continues = prev_name && strcmp(prev_name, name) == 0 && qdict_haskey(dict, name);
    if (qdict_haskey(dict, name) && !continues) {
        desc_error(w, errp, "vmdesc: duplicate field name");
        goto out;
    }
    if (continues && qobject_type(existing) != QTYPE_LIST) {
        /* A single value, then more of the same name: they were one array. */
        QObject *list = qlist_new();
        qlist_append(list, qobject_ref(existing));
        qdict_put(dict, name, list);
        existing = list;
    }

    if (!is_array && !is_indexed && !continues) {
        QObject *v = NULL;
        if (!decode_value(w, entry, type, ti, size, NO_INDEX, &v, errp)) {
            goto out;
        }
        qdict_put(dict, name, v);
        ok = true;
        goto out;
    }

    QObject *list = existing;
    uint64_t list_start = byte_reader_offset(w->r);
    if (!continues) {
        if (is_indexed && index != 0) {
            desc_error(w, errp, "vmdesc: array element index %" PRIu64 " without index 0",
                       index);
            goto out;
        }
        list = qlist_new();
        qdict_put(dict, name, list);
        record(w, list_start, 0, QS_LEAF_LIST, type);
    } else if (is_indexed && index != qlist_size(list)) {
        desc_error(w, errp, "vmdesc: array element index %" PRIu64 ", expected %zu",
                   index, qlist_size(list));
        goto out;
    }
    for (uint64_t i = 0; i < array_len; i++) {
        QObject *v = NULL;
        if (!decode_value(w, entry, type, ti, size, qlist_size(list), &v, errp)) {
            goto out;
        }
        qlist_append(list, v);
    }
    ok = true;
out:
    g_string_truncate(w->path, mark);
    return ok;
}

static bool walk_subsection(Walk *w, QObject *sub, QObject *dict, GError **errp)
{
    GError *err = NULL;
    if (qobject_type(sub) != QTYPE_DICT) {
        return desc_error(w, errp, "vmdesc: subsection entry is not an object");
    }
    const char *name = qdict_get_str(sub, "vmsd_name");
    uint64_t version;
    if (!name) {
        return desc_error(w, errp, "vmdesc: subsection has no \"vmsd_name\"");
    }
    if (!desc_uint(w, sub, "version", true, &version, errp)) {
        return false;
    }

    uint8_t tag, len;
    uint32_t stream_version;
    const uint8_t *p;
    uint64_t at = byte_reader_offset(w->r);
    if (!byte_reader_peek(w->r, 0, &tag)) {
        return desc_error(w, errp, "truncated: expected subsection '%s'", name);
    }
    if (tag != QEMU_VM_SUBSECTION) {
        return desc_error(w, errp, "expected subsection '%s' (0x05), found 0x%02x", name, tag);
    }
    if (!byte_reader_skip(w->r, 1, &err) || !byte_reader_u8(w->r, &len, &err) ||
        !byte_reader_take(w->r, len, &p, &err)) {
        return wrap(w, err, errp);
    }
    if (strlen(name) != len || memcmp(p, name, len) != 0) {
        g_autofree char *found = g_strndup((const char *)p, len);
        vms_error_set_at(errp, VMS_ERROR_INVALID, at, w->where, w->path->str,
                         "subsection '%s' in the stream, vmdesc expects '%s'", found, name);
        return false;
    }
    if (!byte_reader_be32(w->r, &stream_version, &err)) {
        return wrap(w, err, errp);
    }
    if (stream_version != version) {
        vms_error_set_at(errp, VMS_ERROR_INVALID, at, w->where, w->path->str,
                         "subsection '%s' has version %" PRIu32 " in the stream, %" PRIu64
                         " in the vmdesc", name, stream_version, version);
        return false;
    }
    if (qdict_haskey(dict, name)) {
        return desc_error(w, errp, "vmdesc: duplicate subsection '%s'", name);
    }

    size_t mark = w->path->len;
    path_push_name(w, name);
    uint64_t start = byte_reader_offset(w->r);
    QObject *obj = qdict_new();
    bool ok = ++w->depth <= MAX_DEPTH;
    if (!ok) {
        desc_error(w, errp, "vmdesc: nested deeper than %d levels", MAX_DEPTH);
    } else {
        ok = walk_vmsd(w, sub, obj, errp);
    }
    w->depth--;
    if (ok) {
        record(w, start, byte_reader_offset(w->r) - start, QS_LEAF_STRUCT, "subsection");
        qdict_put(dict, name, obj);
    } else {
        qobject_unref(obj);
    }
    g_string_truncate(w->path, mark);
    return ok;
}

/* The fields, then the subsections, of one description. */
static bool walk_vmsd(Walk *w, QObject *desc, QObject *dict, GError **errp)
{
    QObject *fields = qdict_get(desc, "fields");
    QObject *subs = qdict_get(desc, "subsections");
    if (qobject_type(fields) != QTYPE_LIST) {
        return desc_error(w, errp, "vmdesc: description has no \"fields\" list");
    }
    const char *prev = NULL;
    for (size_t i = 0; i < qlist_size(fields); i++) {
        QObject *entry = qlist_get(fields, i);
        if (!walk_field(w, entry, dict, prev, errp)) {
            return false;
        }
        prev = qdict_get_str(entry, "name");
    }
    if (subs && qobject_type(subs) != QTYPE_LIST) {
        return desc_error(w, errp, "vmdesc: \"subsections\" is not a list");
    }
    for (size_t i = 0; i < qlist_size(subs); i++) {
        if (!walk_subsection(w, qlist_get(subs, i), dict, errp)) {
            return false;
        }
    }
    return true;
}

bool qs_decode_device(ByteReader *r, const char *where, QObject *desc, GHashTable *leaves,
                      QObject **state, GError **errp)
{
    Walk w = {
        .r = r,
        .base = byte_reader_offset(r),
        .where = where,
        .leaves = leaves,
        .path = g_string_sized_new(64),
    };
    QObject *dict = qdict_new();
    bool ok = walk_vmsd(&w, desc, dict, errp);
    g_string_free(w.path, TRUE);
    if (!ok) {
        qobject_unref(dict);
        return false;
    }
    *state = dict;
    return true;
}

/*
 * Where device descriptions come from: the vmdesc at a stream's end, found
 * by its framing, or descriptions given from elsewhere (another stream's
 * vmdesc, or a vmdesc JSON file); and the table that matches them to
 * sections.
 *
 * Framing.  QEMU writes the vmdesc after EOF: 0x06, a be32 length L, and L
 * bytes of JSON that end the data.  So the vmdesc is recognised by that
 * frame alone: an EOF byte, the tag, and a length that reaches exactly to
 * the end of the data.  Nothing inside the JSON is looked at to find it
 * (QEMU's analyze-migration.py looks for a NUL byte and a '{', and fails
 * when the length field holds 0x7b).  The stream parser then checks that the
 * stream's own EOF is the byte before the tag.  A vmdesc that is followed by
 * more data does not end the data, so it is not found here; the parser finds
 * it going forward from EOF instead and reports what follows it.
 *
 * Matching.  QEMU lists one vmdesc entry per FULL section, in stream order,
 * by idstr ("name") and instance id.  A stream can hold several sections of
 * the same idstr and instance (QEMU 7.2 writes one "slirp" section, instance
 * 0, per -netdev user), and its vmdesc then lists as many entries: the k-th
 * section of a (name, instance) is described by the k-th entry of it.
 */
#include "config.h"

#include <inttypes.h>
#include <limits.h>
#include <string.h>

#include "qemu-stream-impl.h"

#define VMDESC_MAX_DEPTH 256    /* JSON nesting; QEMU 7.2's pc/q35 need 14 */

static uint32_t be32_at(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

bool qs_find_vmdesc(const uint8_t *d, size_t n, size_t *tag_at)
{
    /* Every frame starts with the tag: try each, nearest the end first. */
    for (size_t p = n >= 5 ? n - 5 : 0; p >= 1 && n >= 6; p--) {
        if (d[p] == QEMU_VM_VMDESCRIPTION && d[p - 1] == QEMU_VM_EOF &&
            be32_at(d + p + 1) == n - p - 5) {
            *tag_at = p;
            return true;
        }
    }
    return false;
}

bool qs_parse_vmdesc_json(const char *text, size_t len, uint64_t at, const char *where,
                          QObject **out, GError **errp)
{
    if (len > INT_MAX) {
        vms_error_set_at(errp, VMS_ERROR_RANGE, at, where, NULL, "JSON too long (%zu bytes)",
                         len);
        return false;
    }
    /* JSON is UTF-8; json-c's own check takes overlong forms.  A NUL is json-c's to refuse. */
    const char *bad;
    if (!g_utf8_validate(text, (gssize)strnlen(text, len), &bad)) {
        vms_error_set_at(errp, VMS_ERROR_INVALID, at + (uint64_t)(bad - text), where, NULL,
                         "bad JSON: not UTF-8");
        return false;
    }
    /* json-c directly: nested structs make a vmdesc deeper than its default limit. */
    json_tokener *tok = json_tokener_new_ex(VMDESC_MAX_DEPTH);
    QObject *obj = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (jerr == json_tokener_success && end == len) {
        *out = obj;
        return true;
    }
    qobject_unref(obj);
    uint64_t base = at == VMS_NO_OFFSET ? 0 : at;
    if (jerr == json_tokener_continue) {
        vms_error_set_at(errp, VMS_ERROR_TRUNCATED, base + len, where, NULL, "JSON ends early");
    } else if (jerr == json_tokener_success) {
        vms_error_set_at(errp, VMS_ERROR_INVALID, base + end, where, NULL,
                         "text after the JSON value");
    } else {
        vms_error_set_at(errp, VMS_ERROR_INVALID, base + end, where, NULL, "bad JSON: %s",
                         json_tokener_error_desc(jerr));
    }
    return false;
}

/* ---- the table ------------------------------------------------------------ */

typedef struct Described {
    GPtrArray *entries;         /* vmdesc entries of one name:instance, in order (borrowed) */
    guint used;                 /* how many sections took one */
} Described;

struct QsDescs {
    QObject *vmdesc;            /* a reference */
    bool own;
    uint32_t page_size;         /* 0: not given */
    GHashTable *by_key;         /* "name:instance" -> Described */
};

static void described_free(gpointer p)
{
    Described *d = p;
    g_ptr_array_unref(d->entries);
    g_free(d);
}

char *qs_device_key(const char *name, uint64_t instance_id)
{
    return g_strdup_printf("%s:%" PRIu64, name, instance_id);
}

void qs_descs_free(QsDescs *d)
{
    if (!d) {
        return;
    }
    qobject_unref(d->vmdesc);
    g_hash_table_destroy(d->by_key);
    g_free(d);
}

QsDescs *qs_descs_new(QObject *vmdesc, bool own, uint64_t at, GError **errp)
{
    const char *where = own ? "vmdesc" : "descriptions";
    QObject *list = qdict_get(vmdesc, "devices");
    if (qobject_type(vmdesc) != QTYPE_DICT || qobject_type(list) != QTYPE_LIST) {
        vms_error_set_at(errp, VMS_ERROR_INVALID, at, where, NULL,
                         "not an object with a \"devices\" list");
        return NULL;
    }
    g_autoptr(QsDescs) d = g_new0(QsDescs, 1);
    d->vmdesc = qobject_ref(vmdesc);
    d->own = own;
    d->by_key = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, described_free);
    QObject *ps = qdict_get(vmdesc, "page_size");
    if (ps) {
        uint64_t page_size;
        if (!qnum_get_uint(ps, &page_size) || page_size < 512 || page_size > 65536 ||
            (page_size & (page_size - 1))) {
            vms_error_set_at(errp, VMS_ERROR_INVALID, at, where, NULL,
                             "\"page_size\" is not a power of two between 512 and 65536");
            return NULL;
        }
        d->page_size = (uint32_t)page_size;
    }
    for (size_t i = 0; i < qlist_size(list); i++) {
        QObject *dev = qlist_get(list, i);
        const char *name = qdict_get_str(dev, "name");
        uint64_t instance_id;
        if (!name || !qnum_get_uint(qdict_get(dev, "instance_id"), &instance_id) ||
            instance_id > UINT32_MAX) {
            vms_error_set_at(errp, VMS_ERROR_INVALID, at, where, NULL,
                             "device %zu has no \"name\" or \"instance_id\"", i);
            return NULL;
        }
        char *key = qs_device_key(name, instance_id);
        Described *desc = g_hash_table_lookup(d->by_key, key);
        if (!desc) {
            desc = g_new0(Described, 1);
            desc->entries = g_ptr_array_new();
            g_hash_table_insert(d->by_key, key, desc);
        } else {
            g_free(key);
        }
        g_ptr_array_add(desc->entries, dev);
    }
    return g_steal_pointer(&d);
}

bool qs_descs_own(const QsDescs *d)
{
    return d->own;
}

uint32_t qs_descs_page_size(const QsDescs *d)
{
    return d->page_size;
}

QObject *qs_descs_take(QsDescs *d, const char *name, uint32_t instance_id)
{
    g_autofree char *key = qs_device_key(name, instance_id);
    Described *desc = g_hash_table_lookup(d->by_key, key);
    if (!desc) {
        return NULL;
    }
    if (desc->used >= desc->entries->len) {
        desc->used++;
        return NULL;
    }
    return g_ptr_array_index(desc->entries, desc->used++);
}

bool qs_descs_unused(const QsDescs *d, const char **name, uint64_t *instance_id,
                     guint *listed, guint *used)
{
    /* In the vmdesc's order, so that the first one the stream lacks is named. */
    QObject *list = qdict_get(d->vmdesc, "devices");
    for (size_t i = 0; i < qlist_size(list); i++) {
        QObject *dev = qlist_get(list, i);
        uint64_t inst = 0;
        qnum_get_uint(qdict_get(dev, "instance_id"), &inst);
        g_autofree char *key = qs_device_key(qdict_get_str(dev, "name"), inst);
        Described *desc = g_hash_table_lookup(d->by_key, key);
        if (desc->used < desc->entries->len) {
            *name = qdict_get_str(dev, "name");
            *instance_id = inst;
            *listed = desc->entries->len;
            *used = desc->used;
            return true;
        }
    }
    return false;
}

/* ---- descriptions given from elsewhere ------------------------------------ */

QObject *qemu_stream_load_desc(GBytes *data, GError **errp)
{
    size_t n;
    const uint8_t *d = g_bytes_get_data(data, &n);
    if (n >= 4 && be32_at(d) == QEMU_VM_FILE_MAGIC) {
        /* A stream: it must have a vmdesc, and all of it must read with it. */
        size_t at;
        if (!qs_find_vmdesc(d, n, &at)) {
            vms_error_set_at(errp, VMS_ERROR_NOT_FOUND, VMS_NO_OFFSET, NULL, NULL,
                             "the stream has no vmdesc to take descriptions from");
            return NULL;
        }
        g_autoptr(QemuStream) s = qemu_stream_parse(data, errp);
        return s ? qobject_ref(qemu_stream_vmdesc(s)) : NULL;
    }
    QObject *vmdesc = NULL;
    if (!qs_parse_vmdesc_json((const char *)d, n, VMS_NO_OFFSET, NULL, &vmdesc, errp)) {
        return NULL;
    }
    g_autoptr(QsDescs) check = qs_descs_new(vmdesc, false, VMS_NO_OFFSET, errp);
    if (!check) {
        qobject_unref(vmdesc);
        return NULL;
    }
    return vmdesc;
}

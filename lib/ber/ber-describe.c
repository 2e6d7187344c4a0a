/*
 * A description rebuilt from a BER Value alone: see ber_describe() in
 * include/vmscope/ber-stream.h.
 *
 * The Value says everything a description needs except where the fields
 * are in a C struct, so the state is laid out here, field after field; each
 * subsection gets a presence byte, so a load records which ones the stream
 * had and a save sends exactly those.  Elements of a list that look alike
 * (same type, same size, the same nested description) make one fixed array;
 * where they differ (runs of structs around null pointers, structs whose
 * subsections differ), each stretch is a field that continues the run.
 */
#include "config.h"

#include <string.h>

#include "vmscope/ber-stream.h"
#include "vmscope/error.h"

typedef struct Describe {
    const BerValue *bv;
    GString *path;
    GError **errp;
} Describe;

static const BerNode *node(Describe *d, size_t i)
{
    return ber_node(d->bv, i);
}

static bool refuse(Describe *d, size_t i, const char *what)
{
    vms_error_set_at(d->errp, VMS_ERROR_INVALID, node(d, i)->offset, NULL, d->path->str,
                     "cannot describe %s: VMState has no such field", what);
    return false;
}

static QObject *describe_struct(Describe *d, size_t i, const char *name, size_t *off);

/*
 * One element of a field at node i, placed at *off (advanced): the field
 * entry without its name, offset and array; NULL on error.
 */
static QObject *describe_element(Describe *d, size_t i, size_t *off)
{
    const BerNode *n = node(d, i);
    QObject *f = qdict_new();
    size_t size;
    if (n->id >= BER_ID_INT(0) && n->id <= BER_ID_INT(7)) {
        size = visit_int_kind_bytes((VisitIntKind)(n->id - BER_ID_INT(0)));
        qdict_put(f, "type", qstring_from_str(ber_id_name(n->id)));
    } else if (n->id == BER_ID_BOOLEAN) {
        size = 1;
        qdict_put(f, "type", qstring_from_str("bool"));
    } else if (n->id == BER_ID_OCTETS) {
        size = n->len;
        qdict_put(f, "type", qstring_from_str("buffer"));
    } else if (n->id == BER_ID_NULL) {
        qdict_put(f, "type", qstring_from_str("nullptr"));
        qdict_put(f, "size", qnum_from_uint(1));
        return f;                               /* no state */
    } else if (n->id == BER_ID_DESCRIBED) {
        size_t inner = 0;
        QObject *sub = describe_struct(d, i, NULL, &inner);
        if (!sub) {
            qobject_unref(f);
            return NULL;
        }
        size = inner ? inner : 1;
        qdict_put(f, "type", qstring_from_str("struct"));
        qdict_put(f, "struct", sub);
    } else {
        qobject_unref(f);
        refuse(d, i, n->id == BER_ID_LIST ? "a list of lists"
                   : n->id == BER_ID_STRUCT ? "a struct without a description"
                   : ber_id_name(n->id));
        return NULL;
    }
    qdict_put(f, "size", qnum_from_uint(size));
    *off += size;
    return f;
}

/* One stretch of a list: `count` elements alike, as a fixed array at *off. */
static void add_stretch(QObject *fields, const char *name, QObject *elem, size_t count,
                        size_t *off, bool continues)
{
    uint64_t size = 0;
    QObject *f = qdict_new();
    qdict_put(f, "name", qstring_from_str(name));
    qdict_foreach(elem, key, val) {
        qdict_put(f, key, qobject_ref(val));
    }
    if (strcmp(qdict_get_str(elem, "type"), "nullptr") != 0) {
        qnum_get_uint(qdict_get(elem, "size"), &size);
        qdict_put(f, "offset", qnum_from_uint(*off));
        *off += count * size;
    }
    QObject *array = qdict_new();
    qdict_put(array, "kind", qstring_from_str("fixed"));
    qdict_put(array, "length", qnum_from_uint(count));
    qdict_put(f, "array", array);
    if (continues) {
        qdict_put(f, "continues", qbool_from_bool(true));
    }
    qlist_append(fields, f);
}

/* A list member at node i: one field, or a run of fields. */
static bool describe_list(Describe *d, size_t i, const char *name, QObject *fields, size_t *off)
{
    g_autoptr(QObject) group = NULL;
    size_t count = 0, index = 0;
    bool first = true;
    size_t len = d->path->len;
    for (size_t e = i + 1; e < node(d, i)->end; e = node(d, e)->end, index++) {
        g_string_append_printf(d->path, "[%zu]", index);
        size_t scratch = 0;
        QObject *elem = describe_element(d, e, &scratch);
        g_string_truncate(d->path, len);
        if (!elem) {
            return false;
        }
        if (group && qobject_equal(group, elem)) {
            count++;
            qobject_unref(elem);
            continue;
        }
        if (group) {
            add_stretch(fields, name, group, count, off, !first);
            first = false;
            qobject_unref(group);
        }
        group = elem;
        count = 1;
    }
    if (!group) {
        /* An empty list: a fixed array of no bytes. */
        group = qdict_new();
        qdict_put(group, "type", qstring_from_str("uint8"));
        qdict_put(group, "size", qnum_from_uint(1));
    }
    add_stretch(fields, name, group, count, off, !first);
    return true;
}

/*
 * The described struct or subsection at node i (a subsection is named
 * `name`, its member name), its fields placed from *off on.
 */
static QObject *describe_struct(Describe *d, size_t i, const char *name, size_t *off)
{
    const BerNode *n = node(d, i);
    bool sub = n->id == BER_ID_SUBSECTION;
    g_autoptr(QObject) desc = qdict_new();
    g_autofree char *own = sub ? g_strdup(name) : ber_node_strdup(d->bv, node(d, i + 1));
    uint64_t version = node(d, sub ? i + 1 : i + 2)->value;
    QObject *fields = qlist_new(), *subs = qlist_new();
    qdict_put(desc, "name", qstring_from_str(own));
    qdict_put(desc, "version", qnum_from_uint(version));
    qdict_put(desc, "minimum_version", qnum_from_uint(version));
    qdict_put(desc, "fields", fields);
    if (sub) {
        qdict_put(desc, "presence_offset", qnum_from_uint((*off)++));
    }
    size_t len = d->path->len;
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (size_t m = ber_struct_first_member(d->bv, i); m < n->end; m = node(d, m + 1)->end) {
        g_autofree char *member = ber_node_strdup(d->bv, node(d, m));
        const BerNode *v = node(d, m + 1);
        bool ok = true;
        if (!g_hash_table_add(seen, g_strdup(member))) {
            /* A load finds members by name: a description cannot have one twice. */
            vms_error_set_at(d->errp, VMS_ERROR_EXTRA, node(d, m)->offset, NULL, d->path->str,
                             "duplicate %s '%s' in the stream",
                             v->id == BER_ID_SUBSECTION ? "subsection" : "field", member);
            ok = false;
        }
        g_string_append_printf(d->path, "%s%s", d->path->len ? "." : "", member);
        if (ok && v->id == BER_ID_SUBSECTION) {
            QObject *s = describe_struct(d, m + 1, member, off);
            ok = s != NULL;
            if (ok) {
                qlist_append(subs, s);
            }
        } else if (ok && v->id == BER_ID_LIST) {
            ok = describe_list(d, m + 1, member, fields, off);
        } else if (ok) {
            size_t at = *off;
            QObject *f = describe_element(d, m + 1, off);
            ok = f != NULL;
            if (ok) {
                QObject *field = qdict_new();
                qdict_put(field, "name", qstring_from_str(member));
                qdict_foreach(f, key, val) {
                    qdict_put(field, key, qobject_ref(val));
                }
                if (strcmp(qdict_get_str(f, "type"), "nullptr") != 0) {
                    qdict_put(field, "offset", qnum_from_uint(at));
                }
                qlist_append(fields, field);
                qobject_unref(f);
            }
        }
        g_string_truncate(d->path, len);
        if (!ok) {
            qobject_unref(subs);
            return NULL;
        }
    }
    if (qlist_size(subs)) {
        qdict_put(desc, "subsections", subs);
    } else {
        qobject_unref(subs);
    }
    return g_steal_pointer(&desc);
}

QObject *ber_describe(const BerValue *bv, size_t root, size_t *state_size, GError **errp)
{
    Describe d = { .bv = bv, .path = g_string_new(NULL), .errp = errp };
    QObject *desc = NULL;
    size_t off = 0;
    uint8_t id = ber_node(bv, root)->id;
    if (id != BER_ID_DESCRIBED) {
        refuse(&d, root, id == BER_ID_STRUCT ? "a struct without a description" : ber_id_name(id));
    } else {
        g_autofree char *name = ber_node_strdup(bv, ber_node(bv, root + 1));
        g_string_append(d.path, name);        /* paths start as a walk's do */
        desc = describe_struct(&d, root, NULL, &off);
    }
    g_string_free(d.path, TRUE);
    *state_size = off ? off : 1;
    return desc;
}

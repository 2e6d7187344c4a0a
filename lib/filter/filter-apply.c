/*
 * Applying rules to a tree (filter.h): each action changes a section's
 * state and, when the section carries one, its vmdesc entry in step, so
 * that the section can be written back through the engine with it.
 *
 * A description level is a vmdesc object {"fields": [...], "subsections":
 * [...]}: a member of the state at that level is either a run of field
 * entries of its name (arrays described element by element are several
 * entries) or a subsection whose "vmsd_name" is the member's name.  Struct
 * members descend into the field's "struct" (or the entry itself for
 * vstruct and tmp fields), subsections into the subsection.
 *
 * The rules work on a copy of the tree, which replaces the caller's only
 * when every rule has been applied, so a failed apply changes nothing.
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "filter-impl.h"
#include "vmscope/bytes.h"
#include "vmscope/error.h"
#include "vmscope/vmstate.h"

/* What an action works on, for its errors. */
typedef struct Act {
    const FilterRule *rule;
    size_t rule_index;
    const FilterOp *op;
    QObject *section;
} Act;

static bool act_fail(const Act *a, GError **errp, VmsErrorCode code, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);

static bool act_fail(const Act *a, GError **errp, VmsErrorCode code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_autofree char *rule = a->rule->name[0]
        ? g_strdup_printf("rule %zu ('%s')", a->rule_index, a->rule->name)
        : g_strdup_printf("rule %zu", a->rule_index);
    uint64_t instance = 0;
    qnum_get_uint(qdict_get(a->section, "instance-id"), &instance);
    const char *op = filter_op_name(a->op->kind);
    g_autofree char *what = a->op->field ? g_strdup_printf("%s '%s'", op, a->op->field)
                                         : g_strdup(op);
    g_set_error(errp, VMS_ERROR, code, "%s: section '%s' (instance %" PRIu64 "): %s: %s", rule,
                qdict_get_str(a->section, "name"), instance, what, msg);
    return false;
}

bool filter_match_section(const FilterMatch *m, const QObject *section)
{
    const char *name = qdict_get_str(section, "name");
    uint64_t v;
    if (!name || strcmp(name, m->section) != 0) {
        return false;
    }
    if (m->has_version &&
        (!qnum_get_uint(qdict_get(section, "version-id"), &v) || v != m->version)) {
        return false;
    }
    if (m->has_instance &&
        (!qnum_get_uint(qdict_get(section, "instance-id"), &v) || v != m->instance_id)) {
        return false;
    }
    return true;
}

/* ---- dicts in order ---- */

/*
 * Rebuild `dict` with its members in order, `key` (taking `value`) put at
 * position `pos` (SIZE_MAX: the end); and `skip` (if not NULL) left out.
 */
static void dict_rebuild(QObject *dict, const char *key, QObject *value, size_t pos,
                         const char *skip, const char *rename_from, const char *rename_to)
{
    GPtrArray *keys = g_ptr_array_new_with_free_func(g_free);
    GPtrArray *vals = g_ptr_array_new();
    qdict_foreach(dict, k, val) {
        g_ptr_array_add(keys, g_strdup(k));
        g_ptr_array_add(vals, qobject_ref(val));
    }
    for (guint i = 0; i < keys->len; i++) {
        qdict_del(dict, g_ptr_array_index(keys, i));
    }
    for (guint i = 0; i <= keys->len; i++) {
        if (key && i == MIN(pos, keys->len)) {
            qdict_put(dict, key, value);
        }
        if (i == keys->len) {
            break;
        }
        const char *name = g_ptr_array_index(keys, i);
        QObject *member = g_ptr_array_index(vals, i);
        if (skip && strcmp(name, skip) == 0) {
            qobject_unref(member);
            continue;
        }
        qdict_put(dict, rename_from && strcmp(name, rename_from) == 0 ? rename_to : name, member);
    }
    g_ptr_array_unref(keys);
    g_ptr_array_unref(vals);
}

static size_t dict_index(const QObject *dict, const char *key)
{
    size_t i = 0;
    qdict_foreach(dict, k, val) {
        (void)val;
        if (strcmp(k, key) == 0) {
            return i;
        }
        i++;
    }
    return SIZE_MAX;
}

/* ---- description levels ---- */

static QObject *level_fields(QObject *level)
{
    QObject *f = level ? qdict_get(level, "fields") : NULL;
    return qobject_type(f) == QTYPE_LIST ? f : NULL;
}

static QObject *level_subs(QObject *level, bool create)
{
    QObject *s = level ? qdict_get(level, "subsections") : NULL;
    if (qobject_type(s) != QTYPE_LIST && create && level) {
        s = qlist_new();
        qdict_put(level, "subsections", s);
    }
    return qobject_type(s) == QTYPE_LIST ? s : NULL;
}

/* The run of field entries named key: *start and *count (0: none). */
static void level_run(QObject *level, const char *key, size_t *start, size_t *count)
{
    QObject *fields = level_fields(level);
    *start = *count = 0;
    for (size_t i = 0; fields && i < qlist_size(fields); i++) {
        const char *n = qdict_get_str(qlist_get(fields, i), "name");
        if (n && strcmp(n, key) == 0) {
            if (!*count) {
                *start = i;
            }
            (*count)++;
        } else if (*count) {
            break;
        }
    }
}

static size_t level_sub(QObject *level, const char *key)
{
    QObject *subs = level_subs(level, false);
    for (size_t i = 0; subs && i < qlist_size(subs); i++) {
        const char *n = qdict_get_str(qlist_get(subs, i), "vmsd_name");
        if (n && strcmp(n, key) == 0) {
            return i;
        }
    }
    return SIZE_MAX;
}

static bool is_subsection(QObject *level, const QObject *dict, const char *key)
{
    return level ? level_sub(level, key) != SIZE_MAX : strchr(key, '/') != NULL;
}

/* Where new fields go in a state dict: before its first subsection. */
static size_t fields_end(QObject *level, const QObject *dict)
{
    size_t i = 0;
    qdict_foreach(dict, k, val) {
        (void)val;
        if (is_subsection(level, dict, k)) {
            return i;
        }
        i++;
    }
    return i;
}

/* Take the entries of member key out of level (a list of them, new reference). */
static QObject *level_take(QObject *level, const char *key, bool *sub)
{
    QObject *out = qlist_new();
    size_t start, count;
    level_run(level, key, &start, &count);
    *sub = false;
    if (count) {
        QObject *fields = level_fields(level);
        for (size_t i = 0; i < count; i++) {
            qlist_append(out, qobject_ref(qlist_get(fields, start + i)));
        }
        json_object_array_del_idx(fields, start, count);
        return out;
    }
    size_t s = level_sub(level, key);
    if (s != SIZE_MAX) {
        QObject *subs = level_subs(level, false);
        qlist_append(out, qobject_ref(qlist_get(subs, s)));
        json_object_array_del_idx(subs, s, 1);
        *sub = true;
    }
    return out;
}

/* Put entries (taken by level_take) into level under the name key, after `after` or at the end. */
static void level_put(QObject *level, QObject *entries, bool sub, const char *key,
                      const char *after)
{
    QObject *list = sub ? level_subs(level, true) : level_fields(level);
    if (!list) {
        list = qlist_new();
        qdict_put(level, "fields", list);
    }
    size_t pos = qlist_size(list);
    if (after && !sub) {
        size_t start, count;
        level_run(level, after, &start, &count);
        if (count) {
            pos = start + count;
        }
    }
    /* Rebuild the list with the entries at pos. */
    g_autoptr(QObject) old = qlist_new();
    for (size_t i = 0; i < qlist_size(list); i++) {
        qlist_append(old, qobject_ref(qlist_get(list, i)));
    }
    json_object_array_del_idx(list, 0, qlist_size(list));
    for (size_t i = 0; i <= qlist_size(old); i++) {
        if (i == pos) {
            for (size_t k = 0; k < qlist_size(entries); k++) {
                QObject *e = qlist_get(entries, k);
                qdict_put(e, sub ? "vmsd_name" : "name", qstring_from_str(key));
                qlist_append(list, qobject_ref(e));
            }
        }
        if (i < qlist_size(old)) {
            qlist_append(list, qobject_ref(qlist_get(old, i)));
        }
    }
}

/* The level a member descends into, or NULL (with *why) if it cannot. */
static QObject *level_child(QObject *level, const char *key, const char **why)
{
    size_t start, count;
    level_run(level, key, &start, &count);
    if (count) {
        QObject *entry = qlist_get(level_fields(level), start);
        const char *type = qdict_get_str(entry, "type");
        const VMStateInfo *info = type ? vmstate_info_find_vmdesc(type) : NULL;
        if (count > 1 || qdict_haskey(entry, "array_len") || qdict_haskey(entry, "index")) {
            *why = "is a list";
            return NULL;
        }
        if (!info || !(info->flags & VMSTATE_INFO_STRUCT)) {
            *why = "is not a struct";
            return NULL;
        }
        return info->flags & VMSTATE_INFO_INLINE ? entry : qdict_get(entry, "struct");
    }
    size_t s = level_sub(level, key);
    if (s != SIZE_MAX) {
        return qlist_get(level_subs(level, false), s);
    }
    *why = "is not in the description";
    return NULL;
}

/* ---- paths ---- */

/* A member of the state: the dict it is in, that dict's level, its key. */
typedef struct Place {
    QObject *dict;
    QObject *level;             /* NULL: the section has no description */
    char *key;
} Place;

static void place_clear(Place *p)
{
    g_free(p->key);
}

/* The longest member of dict that path starts with, followed by '.' or the end. */
static const char *longest_key(const QObject *dict, const char *path)
{
    const char *best = NULL;
    size_t best_len = 0;
    qdict_foreach(dict, k, val) {
        (void)val;
        size_t len = strlen(k);
        if (len >= best_len && strncmp(path, k, len) == 0 &&
            (path[len] == '\0' || path[len] == '.')) {
            best = k;
            best_len = len;
        }
    }
    return best;
}

/*
 * Find path in the state (root dict `state`, its description `desc` or
 * NULL).  `exists`: the member must be there; otherwise it must not be,
 * and its parent must (the rest of the path after the parent is the new
 * member's name).
 */
static bool place_find(const Act *a, QObject *state, QObject *desc, const char *path,
                       bool exists, Place *out, GError **errp)
{
    QObject *dict = state, *level = desc;
    const char *p = path;
    for (;;) {
        const char *k = longest_key(dict, p);
        size_t len = k ? strlen(k) : 0;
        if (k && p[len] == '\0') {
            if (!exists) {
                return act_fail(a, errp, VMS_ERROR_EXTRA, "'%s' is already there", path);
            }
            *out = (Place){ .dict = dict, .level = level, .key = g_strdup(k) };
            return true;
        }
        if (!k) {
            if (exists) {
                return act_fail(a, errp, VMS_ERROR_NOT_FOUND, "no such field");
            }
            *out = (Place){ .dict = dict, .level = level, .key = g_strdup(p) };
            return true;
        }
        QObject *child = qdict_get(dict, k);
        if (qobject_type(child) != QTYPE_DICT) {
            return act_fail(a, errp, VMS_ERROR_INVALID, "'%.*s' is not a struct",
                            (int)(p - path + len), path);
        }
        if (level) {
            const char *why = NULL;
            level = level_child(level, k, &why);
            if (!level) {
                return act_fail(a, errp, VMS_ERROR_INVALID, "'%.*s' %s", (int)(p - path + len),
                                path, why);
            }
        }
        dict = child;
        p += len + 1;
    }
}

/* ---- values and their types ---- */

static bool int_fits(const QObject *v, VisitIntKind kind)
{
    unsigned bits = visit_int_kind_bytes(kind) * 8;
    if (visit_int_kind_signed(kind)) {
        int64_t x;
        int64_t max = bits == 64 ? INT64_MAX : (INT64_C(1) << (bits - 1)) - 1;
        return qnum_get_int(v, &x) && x <= max && x >= -max - 1;
    }
    uint64_t x;
    return qnum_get_uint(v, &x) && (bits == 64 || x < (UINT64_C(1) << bits));
}

/* One element fits type info: *size its bytes (buffers: from the hex). */
static bool elem_fits(const QObject *v, const VMStateInfo *info, size_t *size, char **why)
{
    if (info->flags & VMSTATE_INFO_INT) {
        *size = info->size;
        if (qobject_type(v) != QTYPE_INT || !int_fits(v, info->int_kind)) {
            g_autofree char *text = qobject_to_json(v, false);
            *why = g_strdup_printf("value %s does not fit %s", text, info->vmdesc_name);
            return false;
        }
        return true;
    }
    if (info->size == 1 && strcmp(info->vmdesc_name, "bool") == 0) {
        *size = 1;
        if (qobject_type(v) != QTYPE_BOOL) {
            *why = g_strdup_printf("a bool needs true or false, got %s",
                                   qtype_name(qobject_type(v)));
            return false;
        }
        return true;
    }
    /* buffer */
    const char *hex = qstring_get(v);
    size_t len = hex ? strlen(hex) : 0, bad;
    g_autofree uint8_t *bytes = g_malloc(len / 2 + 1);
    if (!hex || len % 2 || !hex_decode(hex, bytes, len / 2, &bad)) {
        *why = g_strdup_printf("a buffer needs a string of hex digits");
        return false;
    }
    *size = len / 2;
    return true;
}

/* The value (a scalar or a list) fits type info; *size: one element's bytes. */
static bool value_fits(const Act *a, const QObject *v, const VMStateInfo *info, size_t *size,
                       GError **errp)
{
    g_autofree char *why = NULL;
    if (qobject_type(v) == QTYPE_LIST) {
        for (size_t i = 0; i < qlist_size(v); i++) {
            size_t s;
            if (!elem_fits(qlist_get(v, i), info, &s, &why)) {
                return act_fail(a, errp, VMS_ERROR_RANGE, "[%zu]: %s", i, why);
            }
            if (i && s != *size) {
                return act_fail(a, errp, VMS_ERROR_INVALID,
                                "[%zu]: buffers of a list must have one size", i);
            }
            *size = s;
        }
        return true;
    }
    if (!elem_fits(v, info, size, &why)) {
        return act_fail(a, errp, VMS_ERROR_RANGE, "%s", why);
    }
    return true;
}

/* A field entry of the vmdesc for value v of type info. */
static QObject *field_entry(const char *name, const VMStateInfo *info, const QObject *v,
                            size_t size)
{
    QObject *e = qdict_new();
    qdict_put(e, "name", qstring_from_str(name));
    if (qobject_type(v) == QTYPE_LIST) {
        qdict_put(e, "array_len", qnum_from_uint(qlist_size(v)));
    }
    qdict_put(e, "type", qstring_from_str(info->vmdesc_name));
    qdict_put(e, "size", qnum_from_uint(size));
    return e;
}

/* Add member `path` with value v (taken) of type `type` (NULL: not described). */
static bool add_member(const Act *a, QObject *state, QObject *desc, const char *path,
                       QObject *v, const char *type, const char *after, GError **errp)
{
    g_autoptr(QObject) value = v;
    Place p;
    if (!place_find(a, state, desc, path, false, &p, errp)) {
        return false;
    }
    bool ok = true;
    if (type || p.level) {
        if (!type) {
            ok = act_fail(a, errp, VMS_ERROR_MISSING,
                          "the section has a description: give the field's \"type\"");
        }
        const VMStateInfo *info = type ? vmstate_info_find_vmdesc(type) : NULL;
        size_t size = 0;
        ok = ok && value_fits(a, value, info, &size, errp);
        if (ok && p.level) {
            g_autoptr(QObject) entries = qlist_new();
            qlist_append(entries, field_entry(p.key, info, value, size));
            level_put(p.level, entries, false, p.key, after);
        }
    }
    if (ok) {
        size_t pos = fields_end(p.level, p.dict);
        size_t ai = after ? dict_index(p.dict, after) : SIZE_MAX;
        if (after && ai == SIZE_MAX) {
            ok = act_fail(a, errp, VMS_ERROR_NOT_FOUND, "no field '%s' to put it after", after);
        } else {
            dict_rebuild(p.dict, p.key, g_steal_pointer(&value), after ? ai + 1 : pos, NULL,
                         NULL, NULL);
        }
    }
    place_clear(&p);
    return ok;
}

/* ---- the actions ---- */

static QObject *section_desc(QObject *section)
{
    QObject *d = qdict_get(section, "desc");
    return qobject_type(d) == QTYPE_DICT ? d : NULL;
}

static QObject *section_state(QObject *section)
{
    return qdict_get(section, "state");
}

/* Subsections named PREFIX/... get NEW/... (state members and descriptions). */
static void rename_subsections(QObject *dict, QObject *level, const char *old, const char *new)
{
    size_t olen = strlen(old);
    if (qobject_type(dict) != QTYPE_DICT) {
        dict = NULL;
    }
    QObject *subs = level_subs(level, false);
    for (size_t i = 0; subs && i < qlist_size(subs); i++) {
        QObject *sub = qlist_get(subs, i);
        const char *n = qdict_get_str(sub, "vmsd_name");
        if (n && strncmp(n, old, olen) == 0 && n[olen] == '/') {
            g_autofree char *renamed = g_strconcat(new, n + olen, NULL);
            g_autofree char *was = g_strdup(n);
            QObject *member = dict ? qdict_get(dict, was) : NULL;
            rename_subsections(member, sub, was, renamed);
            qdict_put(sub, "vmsd_name", qstring_from_str(renamed));
            if (dict && qdict_haskey(dict, was)) {
                dict_rebuild(dict, NULL, NULL, 0, NULL, was, renamed);
            }
        }
    }
    if (!level && dict) {
        /* No description: members that look like subsections of old. */
        GPtrArray *keys = g_ptr_array_new_with_free_func(g_free);
        qdict_foreach(dict, k, val) {
            (void)val;
            if (strncmp(k, old, olen) == 0 && k[olen] == '/') {
                g_ptr_array_add(keys, g_strdup(k));
            }
        }
        for (guint i = 0; i < keys->len; i++) {
            const char *was = g_ptr_array_index(keys, i);
            g_autofree char *renamed = g_strconcat(new, was + olen, NULL);
            dict_rebuild(dict, NULL, NULL, 0, NULL, was, renamed);
        }
        g_ptr_array_unref(keys);
    }
}

/* The section's name (and its description's) becomes `to`. */
static void rename_section(QObject *section, const char *to, const char *vmsd_name)
{
    g_autofree char *old = g_strdup(qdict_get_str(section, "name"));
    QObject *desc = section_desc(section);
    const char *old_vmsd = desc ? qdict_get_str(desc, "vmsd_name") : old;
    g_autofree char *was = g_strdup(old_vmsd ? old_vmsd : old);
    const char *new_vmsd = vmsd_name ? vmsd_name : strcmp(was, old) == 0 ? to : was;

    qdict_put(section, "name", qstring_from_str(to));
    if (desc) {
        qdict_put(desc, "name", qstring_from_str(to));
        qdict_put(desc, "vmsd_name", qstring_from_str(new_vmsd));
    }
    if (strcmp(was, new_vmsd) != 0) {
        rename_subsections(section_state(section), desc, was, new_vmsd);
    }
}

static void set_version(QObject *section, uint32_t version)
{
    qdict_put(section, "version-id", qnum_from_uint(version));
    if (section_desc(section)) {
        qdict_put(section_desc(section), "version", qnum_from_uint(version));
    }
}

static bool op_rename_field(const Act *a, QObject *state, QObject *desc, GError **errp)
{
    Place p;
    if (!place_find(a, state, desc, a->op->field, true, &p, errp)) {
        return false;
    }
    bool ok = true;
    if (qdict_haskey(p.dict, a->op->to)) {
        ok = act_fail(a, errp, VMS_ERROR_EXTRA, "the struct already has a field '%s'", a->op->to);
    } else {
        if (p.level) {
            /* In place: the entries keep their position. */
            size_t start, count, s = level_sub(p.level, p.key);
            level_run(p.level, p.key, &start, &count);
            for (size_t i = 0; i < count; i++) {
                qdict_put(qlist_get(level_fields(p.level), start + i), "name",
                          qstring_from_str(a->op->to));
            }
            if (!count && s != SIZE_MAX) {
                qdict_put(qlist_get(level_subs(p.level, false), s), "vmsd_name",
                          qstring_from_str(a->op->to));
            }
        }
        dict_rebuild(p.dict, NULL, NULL, 0, NULL, p.key, a->op->to);
    }
    place_clear(&p);
    return ok;
}

static bool op_drop(const Act *a, QObject *state, QObject *desc, bool subsection, GError **errp)
{
    Place p;
    if (subsection) {
        /* An optional subsection the stream does not carry: nothing to drop. */
        const char *k = longest_key(state, a->op->field);
        if (!k && !strchr(a->op->field, '.')) {
            QObject *subs = level_subs(desc, false);
            size_t s = level_sub(desc, a->op->field);
            if (subs && s != SIZE_MAX) {
                json_object_array_del_idx(subs, s, 1);
            }
            return true;
        }
    }
    if (!place_find(a, state, desc, a->op->field, true, &p, errp)) {
        return false;
    }
    bool ok = true;
    if (subsection && !is_subsection(p.level, p.dict, p.key)) {
        ok = act_fail(a, errp, VMS_ERROR_INVALID, "is a field, not a subsection (drop-field)");
    } else {
        if (p.level) {
            bool sub;
            g_autoptr(QObject) gone = level_take(p.level, p.key, &sub);
        }
        qdict_del(p.dict, p.key);
    }
    place_clear(&p);
    return ok;
}

/* Is `target` inside `tree` (or tree itself)? */
static bool holds(const QObject *tree, const QObject *target)
{
    if (tree == target) {
        return true;
    }
    if (qobject_type(tree) == QTYPE_DICT) {
        qdict_foreach(tree, k, val) {
            (void)k;
            if (holds(val, target)) {
                return true;
            }
        }
    } else if (qobject_type(tree) == QTYPE_LIST) {
        for (size_t i = 0; i < qlist_size(tree); i++) {
            if (holds(qlist_get(tree, i), target)) {
                return true;
            }
        }
    }
    return false;
}

static bool op_move(const Act *a, QObject *state, QObject *desc, GError **errp)
{
    Place from, to;
    if (!place_find(a, state, desc, a->op->field, true, &from, errp)) {
        return false;
    }
    if (!place_find(a, state, desc, a->op->to, false, &to, errp)) {
        place_clear(&from);
        return false;
    }
    bool ok = true;
    QObject *moved = qdict_get(from.dict, from.key);
    if (holds(moved, to.dict)) {
        ok = act_fail(a, errp, VMS_ERROR_INVALID, "cannot move a struct into itself");
    }
    if (ok) {
        bool sub = false;
        g_autoptr(QObject) entries = from.level ? level_take(from.level, from.key, &sub) : NULL;
        if (to.level && entries) {
            level_put(to.level, entries, sub, to.key, NULL);
        }
        QObject *value = qobject_ref(moved);
        qdict_del(from.dict, from.key);
        dict_rebuild(to.dict, to.key, value, sub ? SIZE_MAX : fields_end(to.level, to.dict),
                     NULL, NULL, NULL);
    }
    place_clear(&from);
    place_clear(&to);
    return ok;
}

static bool op_set_type(const Act *a, QObject *state, QObject *desc, GError **errp)
{
    Place p;
    if (!place_find(a, state, desc, a->op->field, true, &p, errp)) {
        return false;
    }
    const VMStateInfo *info = vmstate_info_find_vmdesc(a->op->type);
    size_t size = 0;
    bool ok = value_fits(a, qdict_get(p.dict, p.key), info, &size, errp);
    if (ok && p.level) {
        size_t start, count;
        level_run(p.level, p.key, &start, &count);
        if (!count) {
            ok = act_fail(a, errp, VMS_ERROR_INVALID, "is a subsection, not a field");
        }
        for (size_t i = 0; ok && i < count; i++) {
            QObject *e = qlist_get(level_fields(p.level), start + i);
            qdict_put(e, "type", qstring_from_str(info->vmdesc_name));
            qdict_put(e, "size", qnum_from_uint(size));
        }
    }
    place_clear(&p);
    return ok;
}

/* Little-endian integers read out of a buffer field. */
static bool op_extract(const Act *a, QObject *state, QObject *desc, GError **errp)
{
    Place p;
    if (!place_find(a, state, desc, a->op->field, true, &p, errp)) {
        return false;
    }
    const char *hex = qstring_get(qdict_get(p.dict, p.key));
    place_clear(&p);
    size_t len = hex ? strlen(hex) / 2 : 0, bad;
    g_autofree uint8_t *buf = g_malloc(len + 1);
    if (!hex || strlen(hex) % 2 || !hex_decode(hex, buf, len, &bad)) {
        return act_fail(a, errp, VMS_ERROR_INVALID, "is not a buffer");
    }
    const VMStateInfo *info = vmstate_info_find_vmdesc(a->op->type);
    size_t n = a->op->has_count ? a->op->count : 1, width = info->size;
    uint64_t last = a->op->offset + (n - 1) * a->op->stride;
    if (a->op->offset > len || last > len || width > len - last) {
        return act_fail(a, errp, VMS_ERROR_RANGE,
                        "%zu x %s at offset %" PRIu64 " (stride %" PRIu64 ") lie outside its %zu"
                        " bytes", n, a->op->type, a->op->offset, a->op->stride, len);
    }
    QObject *list = a->op->has_count ? qlist_new() : NULL;
    QObject *value = NULL;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *at = buf + a->op->offset + i * a->op->stride;
        uint64_t x = 0;
        for (size_t b = 0; b < width; b++) {
            x |= (uint64_t)at[b] << (8 * b);
        }
        if (visit_int_kind_signed(info->int_kind) && width < 8 && (x >> (8 * width - 1)) & 1) {
            x |= ~UINT64_C(0) << (8 * width);
        }
        value = visit_int_kind_signed(info->int_kind) ? qnum_from_int((int64_t)x)
                                                      : qnum_from_uint(x);
        if (list) {
            qlist_append(list, value);
        }
    }
    return add_member(a, state, desc, a->op->to, list ? list : value, a->op->type, a->op->after,
                      errp);
}

/* The desc of a new section made of some of `from`'s members. */
static QObject *part_desc(const char *name, const char *vmsd_name, uint64_t instance,
                          uint64_t version)
{
    QObject *d = qdict_new();
    qdict_put(d, "name", qstring_from_str(name));
    qdict_put(d, "instance_id", qnum_from_uint(instance));
    qdict_put(d, "vmsd_name", qstring_from_str(vmsd_name));
    qdict_put(d, "version", qnum_from_uint(version));
    qdict_put(d, "fields", qlist_new());
    return d;
}

/* Split the section at index i of list into the op's parts; *made: how many. */
static bool op_split(const Act *a, QObject *list, size_t i, size_t *made, GError **errp)
{
    QObject *section = qlist_get(list, i);
    QObject *state = section_state(section), *desc = section_desc(section);
    const FilterOp *op = a->op;
    g_autoptr(GHashTable) owner = g_hash_table_new(g_str_hash, g_str_equal);
    for (size_t k = 0; k < op->n_parts; k++) {
        for (char **f = op->parts[k].fields; *f; f++) {
            if (!qdict_haskey(state, *f) && strchr(*f, '/')) {
                continue;       /* an optional subsection the section does not carry */
            }
            if (!qdict_haskey(state, *f)) {
                return act_fail(a, errp, VMS_ERROR_NOT_FOUND, "into[%zu]: no field '%s'", k, *f);
            }
            if (g_hash_table_contains(owner, *f)) {
                return act_fail(a, errp, VMS_ERROR_EXTRA, "into[%zu]: field '%s' is already in"
                                " into[%u]", k, *f,
                                GPOINTER_TO_UINT(g_hash_table_lookup(owner, *f)) - 1);
            }
            g_hash_table_insert(owner, *f, GUINT_TO_POINTER(k + 1));
        }
    }
    qdict_foreach(state, key, val) {
        (void)val;
        if (!g_hash_table_contains(owner, key)) {
            return act_fail(a, errp, VMS_ERROR_MISSING,
                            "field '%s' goes into none of the sections", key);
        }
    }
    uint64_t instance = 0, version = 0;
    qnum_get_uint(qdict_get(section, "instance-id"), &instance);
    qnum_get_uint(qdict_get(section, "version-id"), &version);
    GPtrArray *parts = g_ptr_array_new();
    for (size_t k = 0; k < op->n_parts; k++) {
        const FilterPart *part = &op->parts[k];
        uint64_t inst = part->has_instance ? part->instance_id : instance;
        uint64_t ver = part->has_version ? part->version : version;
        QObject *ns = qdict_new();
        qdict_put(ns, "name", qstring_from_str(part->name));
        qdict_put(ns, "instance-id", qnum_from_uint(inst));
        qdict_put(ns, "version-id", qnum_from_uint(ver));
        if (k == 0 && qdict_haskey(section, "section-id")) {
            qdict_put(ns, "section-id", qobject_ref(qdict_get(section, "section-id")));
        }
        QObject *nstate = qdict_new();
        QObject *ndesc = desc ? part_desc(part->name,
                                          part->vmsd_name ? part->vmsd_name : part->name,
                                          inst, ver) : NULL;
        /* Members in the section's order, whatever order the rule lists them in. */
        qdict_foreach(state, member, value) {
            if (GPOINTER_TO_UINT(g_hash_table_lookup(owner, member)) != k + 1) {
                continue;
            }
            qdict_put(nstate, member, qobject_ref(value));
            if (desc) {
                bool sub;
                g_autoptr(QObject) entries = level_take(desc, member, &sub);
                level_put(ndesc, entries, sub, member, NULL);
            }
        }
        qdict_put(ns, "state", nstate);
        if (ndesc) {
            qdict_put(ns, "desc", ndesc);
        }
        g_ptr_array_add(parts, ns);
    }
    /* Replace the section by its parts. */
    json_object_array_del_idx(list, i, 1);
    g_autoptr(QObject) rest = qlist_new();
    while (qlist_size(list) > i) {
        qlist_append(rest, qobject_ref(qlist_get(list, i)));
        json_object_array_del_idx(list, i, 1);
    }
    for (guint k = 0; k < parts->len; k++) {
        qlist_append(list, g_ptr_array_index(parts, k));
    }
    for (size_t k = 0; k < qlist_size(rest); k++) {
        qlist_append(list, qobject_ref(qlist_get(rest, k)));
    }
    *made = parts->len;
    g_ptr_array_unref(parts);
    return true;
}

/* Merge into the section at i the first other section op->with matches; *removed: its index. */
static bool op_merge(const Act *a, QObject *list, size_t i, size_t *removed, GError **errp)
{
    QObject *section = qlist_get(list, i);
    const FilterOp *op = a->op;
    size_t j;
    for (j = 0; j < qlist_size(list); j++) {
        if (j != i && filter_match_section(&op->with, qlist_get(list, j))) {
            break;
        }
    }
    if (j == qlist_size(list)) {
        return act_fail(a, errp, VMS_ERROR_NOT_FOUND, "no section '%s' to merge with",
                        op->with.section);
    }
    QObject *other = qlist_get(list, j);
    QObject *state = section_state(section), *ostate = section_state(other);
    QObject *desc = section_desc(section), *odesc = section_desc(other);
    if (!desc != !odesc) {
        return act_fail(a, errp, VMS_ERROR_INVALID, "one section has a description, the other"
                        " not");
    }
    qdict_foreach(ostate, key, val) {
        (void)val;
        if (qdict_haskey(state, key)) {
            return act_fail(a, errp, VMS_ERROR_EXTRA, "both sections have a field '%s'", key);
        }
    }
    /* Fields after the fields, subsections after the subsections. */
    size_t pos = fields_end(desc, state);
    qdict_foreach(ostate, key2, val2) {
        bool sub = is_subsection(odesc, ostate, key2);
        if (odesc) {
            bool was_sub;
            g_autoptr(QObject) entries = level_take(odesc, key2, &was_sub);
            level_put(desc, entries, was_sub, key2, NULL);
        }
        dict_rebuild(state, key2, qobject_ref(val2), sub ? SIZE_MAX : pos++, NULL, NULL, NULL);
    }
    json_object_array_del_idx(list, j, 1);
    *removed = j;
    if (op->to || op->vmsd_name) {
        rename_section(section, op->to ? op->to : qdict_get_str(section, "name"), op->vmsd_name);
    }
    if (op->has_version) {
        set_version(section, op->version);
    }
    return true;
}

/*
 * The actions of rule r on the section at *i; *i is left on the last
 * section the rule made (a split makes several) and *n tracks the list's
 * length.
 */
static bool apply_rule_at(const FilterRule *r, size_t ri, QObject *list, size_t *i,
                          GError **errp)
{
    for (size_t k = 0; k < r->n_ops; k++) {
        QObject *section = qlist_get(list, *i);
        QObject *state = section_state(section), *desc = section_desc(section);
        Act a = { .rule = r, .rule_index = ri, .op = &r->ops[k], .section = section };
        bool ok = true;
        if (qobject_type(state) != QTYPE_DICT) {
            return act_fail(&a, errp, VMS_ERROR_INVALID, "the section's state is not a struct");
        }
        switch (r->ops[k].kind) {
        case FILTER_RENAME_SECTION:
            rename_section(section, r->ops[k].to, r->ops[k].vmsd_name);
            break;
        case FILTER_SET_VERSION:
            set_version(section, r->ops[k].version);
            break;
        case FILTER_RENAME_FIELD:
            ok = op_rename_field(&a, state, desc, errp);
            break;
        case FILTER_DROP_FIELD:
            ok = op_drop(&a, state, desc, false, errp);
            break;
        case FILTER_DROP_SUBSECTION:
            ok = op_drop(&a, state, desc, true, errp);
            break;
        case FILTER_MOVE_FIELD:
            ok = op_move(&a, state, desc, errp);
            break;
        case FILTER_ADD_FIELD:
            ok = add_member(&a, state, desc, r->ops[k].field, qobject_copy(r->ops[k].value),
                            r->ops[k].type, r->ops[k].after, errp);
            break;
        case FILTER_SET_TYPE:
            ok = op_set_type(&a, state, desc, errp);
            break;
        case FILTER_EXTRACT_FIELD:
            ok = op_extract(&a, state, desc, errp);
            break;
        case FILTER_SPLIT: {
            size_t made = 1;
            ok = op_split(&a, list, *i, &made, errp);
            if (ok) {
                *i += made - 1;
                /* A split ends the rule: its actions would not know which part they are for. */
                return true;
            }
            break;
        }
        case FILTER_MERGE: {
            size_t removed = SIZE_MAX;
            ok = op_merge(&a, list, *i, &removed, errp);
            if (ok && removed < *i) {
                (*i)--;
            }
            break;
        }
        }
        if (!ok) {
            return false;
        }
    }
    return true;
}

static bool check_tree(const QObject *sections, GError **errp)
{
    if (qobject_type(sections) != QTYPE_LIST) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "the tree is not a list of sections");
        return false;
    }
    for (size_t i = 0; i < qlist_size(sections); i++) {
        const QObject *s = qlist_get(sections, i);
        uint64_t u;
        if (qobject_type(s) != QTYPE_DICT || !qdict_get_str(s, "name") ||
            !qnum_get_uint(qdict_get(s, "instance-id"), &u) ||
            !qnum_get_uint(qdict_get(s, "version-id"), &u) ||
            qobject_type(qdict_get(s, "state")) != QTYPE_DICT) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "[%zu]: a section is {\"name\","
                        " \"instance-id\", \"version-id\", \"state\": {...}}", i);
            return false;
        }
    }
    return true;
}

bool filter_apply(const Filter *f, QObject *sections, GError **errp)
{
    if (!check_tree(sections, errp)) {
        return false;
    }
    g_autoptr(QObject) work = qobject_copy(sections);
    for (size_t r = 0; r < f->n_rules; r++) {
        const FilterRule *rule = &f->rules[r];
        for (size_t i = 0; i < qlist_size(work); i++) {
            if (filter_match_section(&rule->match, qlist_get(work, i)) &&
                !apply_rule_at(rule, r, work, &i, errp)) {
                return false;
            }
        }
    }
    json_object_array_del_idx(sections, 0, qlist_size(sections));
    for (size_t i = 0; i < qlist_size(work); i++) {
        qlist_append(sections, qobject_ref(qlist_get(work, i)));
    }
    return true;
}

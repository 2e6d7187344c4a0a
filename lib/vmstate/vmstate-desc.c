/*
 * VMState descriptions as data: checking a description against the state it
 * walks, turning it into JSON, and rebuilding it from (possibly hostile)
 * JSON.  See include/vmscope/vmstate.h and docs/vmstate.md.
 *
 * vmstate_from_description parses in two steps: the JSON shape first
 * (errors name the place in the JSON: "description.fields[2].offset: ..."),
 * then vmstate_check on the rebuilt description, the same check C
 * descriptions get (errors name the field as a walk would:
 * "serial.fifo: ...").  Only a description that passed both is returned.
 */
#include "config.h"

#include <inttypes.h>
#include <limits.h>
#include <string.h>

#include "vmscope/error.h"
#include "vmscope/vmstate.h"

/* ---- checking ---- */

static bool info_is_int(const VMStateInfo *info)
{
    return info && (info->flags & VMSTATE_INFO_INT);
}

/* Unused bytes: no state, and as many as the field says. */
static bool info_is_unused(const VMStateInfo *info)
{
    return (info->flags & VMSTATE_INFO_NO_STATE) && info->size == 0;
}

static bool check_range(const char *path, const char *what, size_t offset, size_t len,
                        size_t limit, GError **errp)
{
    if (offset > limit || len > limit - offset) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_RANGE,
                    "%s: %soffset %zu + size %zu exceeds the state size %zu",
                    path, what, offset, len, limit);
        return false;
    }
    return true;
}

/* The field that holds a VARRAY's length: an earlier integer at num_offset. */
static const VMStateField *varray_length_field(const VMStateDescription *vmsd,
                                               const VMStateField *field)
{
    for (const VMStateField *f = vmsd->fields; f < field; f++) {
        if (f->shape == VMSTATE_SINGLE && !f->continues && info_is_int(f->info) &&
            f->info == field->num_info && f->offset == field->num_offset) {
            return f;
        }
    }
    return NULL;
}

typedef struct CheckLimits {
    int max_depth;
} CheckLimits;

static bool check_vmsd(const VMStateDescription *vmsd, size_t state_size, const char *prefix,
                       int depth, const CheckLimits *lim, GError **errp);

/* A field that continues a run: after a field of its name, both SINGLE or ARRAY. */
static bool check_run(const VMStateDescription *vmsd, const VMStateField *f, const char *path,
                      GError **errp)
{
    const VMStateField *first = f;
    while (first > vmsd->fields && first->continues) {
        first--;
    }
    if (first->continues || strcmp(first->name, f->name) != 0) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "%s: continues a run, but does not follow a field of its name", path);
        return false;
    }
    for (const VMStateField *r = first; r <= f; r++) {
        if (r->shape != VMSTATE_SINGLE && r->shape != VMSTATE_ARRAY) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                        "%s: runs are made of single elements and fixed arrays", path);
            return false;
        }
    }
    if (f->version_id != first->version_id) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "%s: version %d differs from the version %d of its run", path,
                    f->version_id, first->version_id);
        return false;
    }
    return true;
}

static bool check_field(const VMStateDescription *vmsd, const VMStateField *f,
                        size_t state_size, const char *path, int depth, const CheckLimits *lim,
                        GError **errp)
{
    const VMStateInfo *info = f->info;
    size_t total;

    if (!info) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "%s: field without a type", path);
        return false;
    }
    if (info->size && f->size != info->size) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "%s: %s must have size %zu, not %zu",
                    path, info->name, info->size, f->size);
        return false;
    }
    if (info_is_unused(info) && f->shape != VMSTATE_SINGLE) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "%s: unused fields cannot be arrays",
                    path);
        return false;
    }
    if ((info->flags & VMSTATE_INFO_NO_STATE) && f->shape != VMSTATE_SINGLE &&
        f->shape != VMSTATE_ARRAY) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "%s: %s fields are single elements or fixed arrays", path, info->name);
        return false;
    }
    if (f->continues && !check_run(vmsd, f, path, errp)) {
        return false;
    }
    if (info_is_unused(info)) {
        if (f->size > VMSTATE_UNUSED_MAX) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_RANGE,
                        "%s: unused size %zu exceeds the limit %u", path, f->size,
                        VMSTATE_UNUSED_MAX);
            return false;
        }
    }
    if (f->version_id < 0) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "%s: negative version %d", path,
                    f->version_id);
        return false;
    }

    switch (f->shape) {
    case VMSTATE_SINGLE:
        if (!(info->flags & VMSTATE_INFO_NO_STATE) &&
            !check_range(path, "", f->offset, f->size, state_size, errp)) {
            return false;
        }
        break;
    case VMSTATE_ARRAY:
    case VMSTATE_VARRAY:
    case VMSTATE_PARTIAL:
    case VMSTATE_SEGPTR:
        if (f->size == 0) {
            /* else a length from the state could loop without bound */
            g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                        "%s: array elements cannot have size 0", path);
            return false;
        }
        if (!g_size_checked_mul(&total, f->num, f->size)) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_RANGE,
                        "%s: %zu elements of %zu bytes overflow", path, f->num, f->size);
            return false;
        }
        if (f->shape == VMSTATE_SEGPTR) {
            if (!check_range(path, "segment offset at ", f->offset, 8, state_size, errp)) {
                return false;
            }
        } else if (!(info->flags & VMSTATE_INFO_NO_STATE) &&
                   !check_range(path, "", f->offset, total, state_size, errp)) {
            return false;
        }
        if (f->shape == VMSTATE_ARRAY) {
            break;
        }
        if (!info_is_int(f->num_info)) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                        "%s: the length must be an integer type", path);
            return false;
        }
        if (!check_range(path, "length at ", f->num_offset, f->num_info->size,
                         state_size, errp)) {
            return false;
        }
        if (f->shape == VMSTATE_VARRAY && !varray_length_field(vmsd, f)) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                        "%s: the length of a variable array must be an earlier %s field"
                        " (at offset %zu)", path, f->num_info->name, f->num_offset);
            return false;
        }
        break;
    default:
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "%s: unknown shape %d", path,
                    (int)f->shape);
        return false;
    }

    if (info->flags & VMSTATE_INFO_STRUCT) {
        if (!f->vmsd) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "%s: struct without a description",
                        path);
            return false;
        }
        return check_vmsd(f->vmsd, f->size, path, depth + 1, lim, errp);
    }
    return true;
}

static bool check_vmsd(const VMStateDescription *vmsd, size_t state_size, const char *prefix,
                       int depth, const CheckLimits *lim, GError **errp)
{
    const char *where = prefix ? prefix : vmsd->name ? vmsd->name : "(unnamed)";
    if (depth > lim->max_depth) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_RANGE,
                    "%s: descriptions nested more than %d deep", where, lim->max_depth);
        return false;
    }
    if (!vmsd->name || !*vmsd->name) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "%s: description without a name", where);
        return false;
    }
    if (vmsd->version_id < 0 || vmsd->minimum_version_id < 0) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "%s: negative version", where);
        return false;
    }
    if (vmsd->minimum_version_id > vmsd->version_id) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "%s: minimum version %d is above version %d", where,
                    vmsd->minimum_version_id, vmsd->version_id);
        return false;
    }
    if (!vmsd->fields) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "%s: description without fields", where);
        return false;
    }
    for (const VMStateField *f = vmsd->fields; f->name; f++) {
        g_autofree char *path = g_strdup_printf("%s.%s", where, f->name);
        if (!check_field(vmsd, f, state_size, path, depth, lim, errp)) {
            return false;
        }
    }
    size_t plen = strlen(vmsd->name);
    for (const VMStateDescription *const *s = vmsd->subsections; s && *s; s++) {
        const VMStateDescription *sub = *s;
        const char *sname = sub->name ? sub->name : "";
        g_autofree char *path = g_strdup_printf("%s.%s", where, sname);
        /* QEMU's loader recognises only names that extend the parent's. */
        if (strlen(sname) < plen + 1 || memcmp(sname, vmsd->name, plen) != 0) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                        "%s: subsection name '%s' must extend its parent's name '%s'",
                        path, sname, vmsd->name);
            return false;
        }
        if (strlen(sname) > UINT8_MAX) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                        "%s: subsection name longer than 255 bytes", path);
            return false;
        }
        if (sub->has_presence && (sub->needed || sub->presence_offset >= state_size)) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_RANGE,
                        "%s: presence byte at offset %zu outside the state size %zu, or with"
                        " a needed()", path, sub->presence_offset, state_size);
            return false;
        }
        if (!check_vmsd(sub, state_size, path, depth + 1, lim, errp)) {
            return false;
        }
    }
    return true;
}

static uint64_t add_saturating(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t mul_saturating(uint64_t a, uint64_t b)
{
    return b && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

/*
 * The most unused bytes one walk can produce.  Unused bytes have no storage,
 * so unlike everything else they are not bounded by the state's size.
 */
static uint64_t unused_bytes(const VMStateDescription *vmsd)
{
    uint64_t total = 0;
    for (const VMStateField *f = vmsd->fields; f->name; f++) {
        uint64_t each = info_is_unused(f->info) ? f->size :
                        f->info->flags & VMSTATE_INFO_STRUCT ? unused_bytes(f->vmsd) : 0;
        total = add_saturating(total, mul_saturating(each, f->shape == VMSTATE_SINGLE ? 1
                                                                                    : f->num));
    }
    for (const VMStateDescription *const *s = vmsd->subsections; s && *s; s++) {
        total = add_saturating(total, unused_bytes(*s));
    }
    return total;
}

static bool check_limited(const VMStateDescription *vmsd, size_t state_size,
                          const CheckLimits *lim, GError **errp)
{
    if (!check_vmsd(vmsd, state_size, NULL, 1, lim, errp)) {
        return false;
    }
    if (unused_bytes(vmsd) > VMSTATE_UNUSED_MAX) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_RANGE,
                    "%s: its unused fields could add up to more than %u bytes in one walk",
                    vmsd->name, VMSTATE_UNUSED_MAX);
        return false;
    }
    return true;
}

bool vmstate_check(const VMStateDescription *vmsd, size_t state_size, GError **errp)
{
    static const CheckLimits limits = { .max_depth = VMSTATE_MAX_DEPTH };
    return check_limited(vmsd, state_size, &limits, errp);
}

/* ---- describing ---- */

QObject *vmstate_describe(const VMStateDescription *vmsd)
{
    QObject *d = qdict_new();
    qdict_put(d, "name", qstring_from_str(vmsd->name));
    qdict_put(d, "version", qnum_from_int(vmsd->version_id));
    qdict_put(d, "minimum_version", qnum_from_int(vmsd->minimum_version_id));
    if (vmsd->has_presence) {
        qdict_put(d, "presence_offset", qnum_from_uint(vmsd->presence_offset));
    }
    QObject *fields = qlist_new();
    qdict_put(d, "fields", fields);
    for (const VMStateField *f = vmsd->fields; f && f->name; f++) {
        QObject *fd = qdict_new();
        qlist_append(fields, fd);
        qdict_put(fd, "name", qstring_from_str(f->name));
        qdict_put(fd, "type", qstring_from_str(f->info ? f->info->name : "invalid"));
        if (!f->info || !(f->info->flags & VMSTATE_INFO_NO_STATE)) {
            qdict_put(fd, "offset", qnum_from_uint(f->offset));
        }
        qdict_put(fd, "size", qnum_from_uint(f->size));
        qdict_put(fd, "version", qnum_from_int(f->version_id));
        if (f->shape != VMSTATE_SINGLE) {
            static const char *const kinds[] = {
                [VMSTATE_ARRAY] = "fixed", [VMSTATE_VARRAY] = "variable",
                [VMSTATE_PARTIAL] = "partial", [VMSTATE_SEGPTR] = "pointer",
            };
            QObject *ad = qdict_new();
            qdict_put(fd, "array", ad);
            qdict_put(ad, "kind", qstring_from_str(
                          (unsigned)f->shape <= VMSTATE_SEGPTR ? kinds[f->shape] : "invalid"));
            const VMStateField *lf = f->shape == VMSTATE_VARRAY ? varray_length_field(vmsd, f)
                                                                : NULL;
            if (f->shape == VMSTATE_ARRAY) {
                qdict_put(ad, "length", qnum_from_uint(f->num));
            } else {
                qdict_put(ad, "max", qnum_from_uint(f->num));
                if (lf) {
                    qdict_put(ad, "length_field", qstring_from_str(lf->name));
                } else {
                    qdict_put(ad, "length_offset", qnum_from_uint(f->num_offset));
                    qdict_put(ad, "length_type", qstring_from_str(f->num_info ? f->num_info->name
                                                                             : "invalid"));
                }
            }
        }
        if (f->info && (f->info->flags & VMSTATE_INFO_STRUCT) && f->vmsd) {
            qdict_put(fd, "struct", vmstate_describe(f->vmsd));
        }
        if (f->continues) {
            qdict_put(fd, "continues", qbool_from_bool(true));
        }
    }
    if (vmsd->subsections) {
        QObject *subs = qlist_new();
        qdict_put(d, "subsections", subs);
        for (const VMStateDescription *const *s = vmsd->subsections; *s; s++) {
            qlist_append(subs, vmstate_describe(*s));
        }
    }
    return d;
}

/* ---- rebuilding ---- */

typedef struct OwnedDescription {
    VMStateDescription vmsd;    /* first: the pointer handed out */
    GPtrArray *allocs;          /* everything below it */
} OwnedDescription;

typedef struct Parser {
    GPtrArray *allocs;
    int max_depth;
    GError **errp;
} Parser;

static void *parser_alloc(Parser *p, size_t size)
{
    void *mem = g_malloc0(size);
    g_ptr_array_add(p->allocs, mem);
    return mem;
}

static char *parser_strdup(Parser *p, const char *s)
{
    char *copy = g_strdup(s);
    g_ptr_array_add(p->allocs, copy);
    return copy;
}

static bool fail(Parser *p, VmsErrorCode code, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static bool fail(Parser *p, VmsErrorCode code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error_literal(p->errp, VMS_ERROR, code, msg);
    return false;
}

static bool expect_dict(Parser *p, const QObject *obj, const char *path)
{
    if (qobject_type(obj) != QTYPE_DICT) {
        return fail(p, VMS_ERROR_INVALID, "%s: expected an object, got %s", path,
                    qtype_name(qobject_type(obj)));
    }
    return true;
}

static bool only_keys(Parser *p, const QObject *dict, const char *path,
                      const char *const *allowed)
{
    qdict_foreach(dict, key, val) {
        (void)val;
        bool ok = false;
        for (const char *const *a = allowed; *a; a++) {
            ok = ok || strcmp(*a, key) == 0;
        }
        if (!ok) {
            return fail(p, VMS_ERROR_EXTRA, "%s: unknown key '%s'", path, key);
        }
    }
    return true;
}

/* Member `key`: present (or an error if required), else *found = false. */
static bool member(Parser *p, const QObject *dict, const char *path, const char *key,
                   bool required, QObject **out)
{
    *out = NULL;
    if (!qdict_haskey(dict, key)) {
        return required ? fail(p, VMS_ERROR_MISSING, "%s: missing key '%s'", path, key) : true;
    }
    *out = qdict_get(dict, key);
    return true;
}

static bool get_string(Parser *p, const QObject *dict, const char *path, const char *key,
                       bool required, const char **out)
{
    QObject *obj;
    *out = NULL;
    if (!member(p, dict, path, key, required, &obj)) {
        return false;
    }
    if (!obj && !qdict_haskey(dict, key)) {
        return true;
    }
    const char *s = qstring_get(obj);
    if (!s || !*s) {
        return fail(p, VMS_ERROR_INVALID, "%s.%s: expected a non-empty string, got %s", path,
                    key, s ? "\"\"" : qtype_name(qobject_type(obj)));
    }
    *out = s;
    return true;
}

/* An integer from 0 to max; *out untouched if absent and not required. */
static bool get_uint(Parser *p, const QObject *dict, const char *path, const char *key,
                     bool required, uint64_t max, uint64_t *out)
{
    QObject *obj;
    if (!member(p, dict, path, key, required, &obj)) {
        return false;
    }
    if (!obj && !qdict_haskey(dict, key)) {
        return true;
    }
    uint64_t value;
    if (qobject_type(obj) == QTYPE_INT && qnum_get_uint(obj, &value) && value <= max) {
        *out = value;
        return true;
    }
    g_autofree char *got = qobject_type(obj) == QTYPE_INT ? qobject_to_json(obj, false)
                                                          : g_strdup(qtype_name(qobject_type(obj)));
    if (max == UINT64_MAX) {
        return fail(p, VMS_ERROR_INVALID, "%s.%s: expected a non-negative integer, got %s",
                    path, key, got);
    }
    return fail(p, VMS_ERROR_INVALID, "%s.%s: expected an integer from 0 to %" PRIu64 ", got %s",
                path, key, max, got);
}

static bool get_type(Parser *p, const QObject *dict, const char *path, const char *key,
                     const VMStateInfo **info)
{
    const char *name;
    if (!get_string(p, dict, path, key, true, &name)) {
        return false;
    }
    *info = vmstate_info_find(name);
    if (!*info) {
        return fail(p, VMS_ERROR_INVALID, "%s.%s: unknown type '%s'", path, key, name);
    }
    return true;
}

/* An optional boolean member; *out untouched if absent. */
static bool get_bool(Parser *p, const QObject *dict, const char *path, const char *key,
                     bool *out)
{
    if (!qdict_haskey(dict, key)) {
        return true;
    }
    QObject *obj = qdict_get(dict, key);
    if (!qbool_get(obj, out)) {
        return fail(p, VMS_ERROR_INVALID, "%s.%s: expected true or false, got %s", path, key,
                    qtype_name(qobject_type(obj)));
    }
    return true;
}

static const VMStateDescription *parse_vmsd(Parser *p, const QObject *obj, const char *path,
                                            int depth, VMStateDescription *into);

static bool parse_array(Parser *p, const QObject *ad, const char *path, VMStateField *fields,
                        VMStateField *f)
{
    static const char *const fixed_keys[] = { "kind", "length", NULL };
    static const char *const variable_keys[] = { "kind", "max", "length_field", NULL };
    static const char *const counted_keys[] = { "kind", "max", "length_offset", "length_type",
                                                NULL };
    const char *kind;
    uint64_t value = 0;

    if (!expect_dict(p, ad, path) || !get_string(p, ad, path, "kind", true, &kind)) {
        return false;
    }
    if (strcmp(kind, "fixed") == 0) {
        f->shape = VMSTATE_ARRAY;
        if (!only_keys(p, ad, path, fixed_keys) ||
            !get_uint(p, ad, path, "length", true, SIZE_MAX, &value)) {
            return false;
        }
        f->num = value;
        return true;
    }
    if (strcmp(kind, "variable") == 0) {
        const char *lname;
        f->shape = VMSTATE_VARRAY;
        if (!only_keys(p, ad, path, variable_keys) ||
            !get_uint(p, ad, path, "max", true, SIZE_MAX, &value) ||
            !get_string(p, ad, path, "length_field", true, &lname)) {
            return false;
        }
        f->num = value;
        for (const VMStateField *lf = fields; lf < f; lf++) {
            if (strcmp(lf->name, lname) == 0 && lf->shape == VMSTATE_SINGLE &&
                !lf->continues && info_is_int(lf->info)) {
                f->num_offset = lf->offset;
                f->num_info = lf->info;
                return true;
            }
        }
        return fail(p, VMS_ERROR_INVALID,
                    "%s.length_field: no earlier integer field named '%s'", path, lname);
    }
    if (strcmp(kind, "partial") == 0 || strcmp(kind, "pointer") == 0) {
        f->shape = kind[1] == 'a' ? VMSTATE_PARTIAL : VMSTATE_SEGPTR;
        if (!only_keys(p, ad, path, counted_keys) ||
            !get_uint(p, ad, path, "max", true, SIZE_MAX, &value)) {
            return false;
        }
        f->num = value;
        if (!get_uint(p, ad, path, "length_offset", true, SIZE_MAX, &value) ||
            !get_type(p, ad, path, "length_type", &f->num_info)) {
            return false;
        }
        f->num_offset = value;
        if (!info_is_int(f->num_info) || f->num_info->check != VMSTATE_CHECK_NONE) {
            return fail(p, VMS_ERROR_INVALID, "%s.length_type: '%s' is not an integer type",
                        path, f->num_info->name);
        }
        return true;
    }
    return fail(p, VMS_ERROR_INVALID, "%s.kind: unknown array kind '%s'", path, kind);
}

static bool parse_field(Parser *p, const QObject *fd, const char *path, int depth,
                        VMStateField *fields, VMStateField *f)
{
    static const char *const keys[] = { "name", "type", "offset", "size", "version", "array",
                                        "struct", "continues", NULL };
    const char *name;
    uint64_t value = 0;
    QObject *obj;

    if (!expect_dict(p, fd, path) || !only_keys(p, fd, path, keys) ||
        !get_string(p, fd, path, "name", true, &name) ||
        !get_type(p, fd, path, "type", &f->info) ||
        !get_bool(p, fd, path, "continues", &f->continues)) {
        return false;
    }
    f->name = parser_strdup(p, name);
    if (!get_uint(p, fd, path, "size", true, SIZE_MAX, &value)) {
        return false;
    }
    f->size = value;
    if (info_is_unused(f->info)) {
        if (qdict_haskey(fd, "offset") || qdict_haskey(fd, "array")) {
            return fail(p, VMS_ERROR_INVALID, "%s: unused fields have no offset and no array",
                        path);
        }
    } else if (f->info->flags & VMSTATE_INFO_NO_STATE) {
        if (qdict_haskey(fd, "offset")) {
            return fail(p, VMS_ERROR_INVALID, "%s: %s fields have no offset", path,
                        f->info->name);
        }
    } else {
        if (!get_uint(p, fd, path, "offset", true, SIZE_MAX, &value)) {
            return false;
        }
        f->offset = value;
    }
    value = 0;
    if (!get_uint(p, fd, path, "version", false, INT_MAX, &value)) {
        return false;
    }
    f->version_id = (int)value;

    f->shape = VMSTATE_SINGLE;
    if (!member(p, fd, path, "array", false, &obj)) {
        return false;
    }
    if (qdict_haskey(fd, "array")) {
        g_autofree char *apath = g_strdup_printf("%s.array", path);
        if (!parse_array(p, obj, apath, fields, f)) {
            return false;
        }
    }

    if (f->info->flags & VMSTATE_INFO_STRUCT) {
        if (!member(p, fd, path, "struct", true, &obj)) {
            return false;
        }
        g_autofree char *spath = g_strdup_printf("%s.struct", path);
        f->vmsd = parse_vmsd(p, obj, spath, depth + 1, NULL);
        return f->vmsd != NULL;
    }
    if (qdict_haskey(fd, "struct")) {
        return fail(p, VMS_ERROR_INVALID, "%s: only struct fields have a 'struct'", path);
    }
    return true;
}

/* Fills `into` (or a new description) from obj; NULL on error. */
static const VMStateDescription *parse_vmsd(Parser *p, const QObject *obj, const char *path,
                                            int depth, VMStateDescription *into)
{
    static const char *const keys[] = { "name", "version", "minimum_version", "fields",
                                        "subsections", "presence_offset", NULL };
    VMStateDescription *vmsd = into ? into : parser_alloc(p, sizeof(*vmsd));
    const char *name;
    uint64_t version = 0, minimum = 0;
    QObject *fields, *subs;

    if (depth > p->max_depth) {
        fail(p, VMS_ERROR_RANGE, "%s: descriptions nested more than %d deep", path,
             p->max_depth);
        return NULL;
    }
    if (!expect_dict(p, obj, path) || !only_keys(p, obj, path, keys) ||
        !get_string(p, obj, path, "name", true, &name) ||
        !get_uint(p, obj, path, "version", true, INT_MAX, &version) ||
        !get_uint(p, obj, path, "minimum_version", true, INT_MAX, &minimum) ||
        !member(p, obj, path, "fields", true, &fields)) {
        return NULL;
    }
    vmsd->name = parser_strdup(p, name);
    vmsd->version_id = (int)version;
    vmsd->minimum_version_id = (int)minimum;
    if (qdict_haskey(obj, "presence_offset")) {
        uint64_t presence = 0;
        if (!get_uint(p, obj, path, "presence_offset", true, SIZE_MAX, &presence)) {
            return NULL;
        }
        vmsd->has_presence = true;
        vmsd->presence_offset = presence;
    }
    if (qobject_type(fields) != QTYPE_LIST) {
        fail(p, VMS_ERROR_INVALID, "%s.fields: expected a list, got %s", path,
             qtype_name(qobject_type(fields)));
        return NULL;
    }
    size_t nfields = qlist_size(fields);
    VMStateField *fa = parser_alloc(p, (nfields + 1) * sizeof(*fa));
    for (size_t i = 0; i < nfields; i++) {
        g_autofree char *fpath = g_strdup_printf("%s.fields[%zu]", path, i);
        if (!parse_field(p, qlist_get(fields, i), fpath, depth, fa, &fa[i])) {
            return NULL;
        }
    }
    vmsd->fields = fa;

    if (!member(p, obj, path, "subsections", false, &subs)) {
        return NULL;
    }
    if (qdict_haskey(obj, "subsections")) {
        if (qobject_type(subs) != QTYPE_LIST) {
            fail(p, VMS_ERROR_INVALID, "%s.subsections: expected a list, got %s", path,
                 qtype_name(qobject_type(subs)));
            return NULL;
        }
        size_t nsubs = qlist_size(subs);
        const VMStateDescription **sa = parser_alloc(p, (nsubs + 1) * sizeof(*sa));
        for (size_t i = 0; i < nsubs; i++) {
            g_autofree char *spath = g_strdup_printf("%s.subsections[%zu]", path, i);
            sa[i] = parse_vmsd(p, qlist_get(subs, i), spath, depth + 1, NULL);
            if (!sa[i]) {
                return NULL;
            }
        }
        vmsd->subsections = sa;
    }
    return vmsd;
}

VMStateDescription *vmstate_from_description_depth(QObject *desc, size_t state_size,
                                                   int max_depth, GError **errp)
{
    OwnedDescription *od = g_new0(OwnedDescription, 1);
    od->allocs = g_ptr_array_new_with_free_func(g_free);
    Parser p = { .allocs = od->allocs, .max_depth = max_depth, .errp = errp };
    CheckLimits limits = { .max_depth = max_depth };
    if (!parse_vmsd(&p, desc, "description", 1, &od->vmsd) ||
        !check_limited(&od->vmsd, state_size, &limits, errp)) {
        vmstate_description_free(&od->vmsd);
        return NULL;
    }
    return &od->vmsd;
}

VMStateDescription *vmstate_from_description(QObject *desc, size_t state_size, GError **errp)
{
    return vmstate_from_description_depth(desc, state_size, VMSTATE_MAX_DEPTH, errp);
}

void vmstate_description_free(VMStateDescription *vmsd)
{
    if (!vmsd) {
        return;
    }
    OwnedDescription *od = (OwnedDescription *)vmsd;
    g_ptr_array_unref(od->allocs);
    g_free(od);
}

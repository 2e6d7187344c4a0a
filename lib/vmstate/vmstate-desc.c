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
#include "vmscope/qobject-visitor.h"
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

/*
 * The JSON is read with the strict QObject input visitor, so its shape
 * errors (a missing or unknown key, a value of the wrong type) name the
 * path the way every other JSON reader of vmscope does; what the visitor
 * cannot know (names, type names, ranges, which keys go together) is
 * checked here and reported at the same path with visit_error.
 */
typedef struct Parser {
    Visitor *v;
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

/* A non-empty string member, owned by the description. */
static bool get_string(Parser *p, const char *key, const char **out)
{
    char *s = NULL;
    if (!visit_type_str(p->v, key, &s, p->errp)) {
        return false;
    }
    g_ptr_array_add(p->allocs, s);
    if (!*s) {
        visit_error(p->v, key, p->errp, VMS_ERROR_INVALID, "expected a non-empty string");
        return false;
    }
    *out = s;
    return true;
}

/* An integer member from 0 to max. */
static bool get_uint(Parser *p, const char *key, uint64_t max, uint64_t *out)
{
    uint64_t value;
    if (!visit_type_uint64(p->v, key, &value, p->errp)) {
        return false;
    }
    if (value > max) {
        visit_error(p->v, key, p->errp, VMS_ERROR_RANGE,
                    "expected an integer from 0 to %" PRIu64 ", got %" PRIu64, max, value);
        return false;
    }
    *out = value;
    return true;
}

/* An optional member: absent leaves *out as it is. */
static bool get_uint_opt(Parser *p, const char *key, uint64_t max, uint64_t *out)
{
    bool present = false;
    return !visit_optional(p->v, key, &present) || get_uint(p, key, max, out);
}

static bool get_type(Parser *p, const char *key, const VMStateInfo **info)
{
    const char *name;
    if (!get_string(p, key, &name)) {
        return false;
    }
    *info = vmstate_info_find(name);
    if (!*info) {
        visit_error(p->v, key, p->errp, VMS_ERROR_INVALID, "unknown type '%s'", name);
        return false;
    }
    return true;
}

/* Open the struct `name`, run fn, check for unknown keys, close it. */
static bool parse_struct(Parser *p, const char *name, bool (*fn)(Parser *p, void *opaque),
                         void *opaque)
{
    if (!visit_start_struct(p->v, name, NULL, p->errp)) {
        return false;
    }
    bool ok = fn(p, opaque) && visit_check_struct(p->v, p->errp);
    visit_end_struct(p->v);
    return ok;
}

static const VMStateDescription *parse_vmsd(Parser *p, const char *name, int depth,
                                            VMStateDescription *into);

typedef struct FieldCtx {
    VMStateField *fields;       /* the description's fields so far */
    VMStateField *f;            /* the one being read */
    int depth;
} FieldCtx;

static bool parse_array_members(Parser *p, void *opaque)
{
    FieldCtx *c = opaque;
    VMStateField *f = c->f;
    const char *kind;
    uint64_t value = 0;

    if (!get_string(p, "kind", &kind)) {
        return false;
    }
    if (strcmp(kind, "fixed") == 0) {
        f->shape = VMSTATE_ARRAY;
        if (!get_uint(p, "length", SIZE_MAX, &value)) {
            return false;
        }
        f->num = value;
        return true;
    }
    if (strcmp(kind, "variable") == 0) {
        const char *lname;
        f->shape = VMSTATE_VARRAY;
        if (!get_uint(p, "max", SIZE_MAX, &value) || !get_string(p, "length_field", &lname)) {
            return false;
        }
        f->num = value;
        for (const VMStateField *lf = c->fields; lf < f; lf++) {
            if (strcmp(lf->name, lname) == 0 && lf->shape == VMSTATE_SINGLE &&
                !lf->continues && info_is_int(lf->info)) {
                f->num_offset = lf->offset;
                f->num_info = lf->info;
                return true;
            }
        }
        visit_error(p->v, "length_field", p->errp, VMS_ERROR_INVALID,
                    "no earlier integer field named '%s'", lname);
        return false;
    }
    if (strcmp(kind, "partial") == 0 || strcmp(kind, "pointer") == 0) {
        f->shape = kind[1] == 'a' ? VMSTATE_PARTIAL : VMSTATE_SEGPTR;
        if (!get_uint(p, "max", SIZE_MAX, &value)) {
            return false;
        }
        f->num = value;
        if (!get_uint(p, "length_offset", SIZE_MAX, &value) ||
            !get_type(p, "length_type", &f->num_info)) {
            return false;
        }
        f->num_offset = value;
        if (!info_is_int(f->num_info) || f->num_info->check != VMSTATE_CHECK_NONE) {
            visit_error(p->v, "length_type", p->errp, VMS_ERROR_INVALID,
                        "'%s' is not an integer type", f->num_info->name);
            return false;
        }
        return true;
    }
    visit_error(p->v, "kind", p->errp, VMS_ERROR_INVALID, "unknown array kind '%s'", kind);
    return false;
}

static bool parse_field_members(Parser *p, void *opaque)
{
    FieldCtx *c = opaque;
    VMStateField *f = c->f;
    uint64_t value = 0;
    bool present = false;

    if (!get_string(p, "name", &f->name) || !get_type(p, "type", &f->info)) {
        return false;
    }
    if (visit_optional(p->v, "continues", &present) &&
        !visit_type_bool(p->v, "continues", &f->continues, p->errp)) {
        return false;
    }
    if (!get_uint(p, "size", SIZE_MAX, &value)) {
        return false;
    }
    f->size = value;
    bool has_offset = visit_optional(p->v, "offset", &present);
    bool has_array = visit_optional(p->v, "array", &present);
    if (info_is_unused(f->info)) {
        if (has_offset || has_array) {
            visit_error(p->v, NULL, p->errp, VMS_ERROR_INVALID,
                        "unused fields have no offset and no array");
            return false;
        }
    } else if (f->info->flags & VMSTATE_INFO_NO_STATE) {
        if (has_offset) {
            visit_error(p->v, NULL, p->errp, VMS_ERROR_INVALID, "%s fields have no offset",
                        f->info->name);
            return false;
        }
    } else {
        if (!get_uint(p, "offset", SIZE_MAX, &value)) {
            return false;
        }
        f->offset = value;
    }
    value = 0;
    if (!get_uint_opt(p, "version", INT_MAX, &value)) {
        return false;
    }
    f->version_id = (int)value;

    f->shape = VMSTATE_SINGLE;
    if (has_array && !parse_struct(p, "array", parse_array_members, c)) {
        return false;
    }
    bool has_struct = visit_optional(p->v, "struct", &present);
    if (f->info->flags & VMSTATE_INFO_STRUCT) {
        f->vmsd = parse_vmsd(p, "struct", c->depth + 1, NULL);
        return f->vmsd != NULL;
    }
    if (has_struct) {
        visit_error(p->v, NULL, p->errp, VMS_ERROR_INVALID, "only struct fields have a 'struct'");
        return false;
    }
    return true;
}

typedef struct VmsdCtx {
    VMStateDescription *vmsd;
    int depth;
} VmsdCtx;

static bool parse_vmsd_members(Parser *p, void *opaque)
{
    VmsdCtx *c = opaque;
    VMStateDescription *vmsd = c->vmsd;
    uint64_t version = 0, minimum = 0, presence = 0;
    bool present = false;
    size_t n = VISIT_LEN_UNKNOWN;

    if (!get_string(p, "name", &vmsd->name) ||
        !get_uint(p, "version", INT_MAX, &version) ||
        !get_uint(p, "minimum_version", INT_MAX, &minimum)) {
        return false;
    }
    vmsd->version_id = (int)version;
    vmsd->minimum_version_id = (int)minimum;
    if (visit_optional(p->v, "presence_offset", &present)) {
        if (!get_uint(p, "presence_offset", SIZE_MAX, &presence)) {
            return false;
        }
        vmsd->has_presence = true;
        vmsd->presence_offset = presence;
    }

    if (!visit_start_list(p->v, "fields", &n, p->errp)) {
        return false;
    }
    VMStateField *fa = parser_alloc(p, (n + 1) * sizeof(*fa));
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        FieldCtx fc = { .fields = fa, .f = &fa[i], .depth = c->depth };
        visit_next_list(p->v);
        ok = parse_struct(p, NULL, parse_field_members, &fc);
    }
    ok = ok && visit_check_list(p->v, p->errp);
    visit_end_list(p->v);
    if (!ok) {
        return false;
    }
    vmsd->fields = fa;

    if (!visit_optional(p->v, "subsections", &present)) {
        return true;
    }
    n = VISIT_LEN_UNKNOWN;
    if (!visit_start_list(p->v, "subsections", &n, p->errp)) {
        return false;
    }
    const VMStateDescription **sa = parser_alloc(p, (n + 1) * sizeof(*sa));
    for (size_t i = 0; ok && i < n; i++) {
        visit_next_list(p->v);
        sa[i] = parse_vmsd(p, NULL, c->depth + 1, NULL);
        ok = sa[i] != NULL;
    }
    ok = ok && visit_check_list(p->v, p->errp);
    visit_end_list(p->v);
    vmsd->subsections = sa;
    return ok;
}

/* Fills `into` (or a new description) from the struct `name`; NULL on error. */
static const VMStateDescription *parse_vmsd(Parser *p, const char *name, int depth,
                                            VMStateDescription *into)
{
    if (depth > p->max_depth) {
        visit_error(p->v, name, p->errp, VMS_ERROR_RANGE, "descriptions nested more than %d deep",
                    p->max_depth);
        return NULL;
    }
    VmsdCtx c = { .vmsd = into ? into : parser_alloc(p, sizeof(VMStateDescription)),
                  .depth = depth };
    return parse_struct(p, name, parse_vmsd_members, &c) ? c.vmsd : NULL;
}

VMStateDescription *vmstate_from_description_depth(QObject *desc, size_t state_size,
                                                   int max_depth, GError **errp)
{
    OwnedDescription *od = g_new0(OwnedDescription, 1);
    od->allocs = g_ptr_array_new_with_free_func(g_free);
    Parser p = { .v = qobject_input_visitor_new(desc), .allocs = od->allocs,
                 .max_depth = max_depth, .errp = errp };
    CheckLimits limits = { .max_depth = max_depth };
    bool ok = parse_vmsd(&p, "description", 1, &od->vmsd) != NULL;
    visit_free(p.v);
    if (!ok || !check_limited(&od->vmsd, state_size, &limits, errp)) {
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

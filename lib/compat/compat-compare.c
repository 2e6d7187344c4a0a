/*
 * compat_compare: can state saved with OLD's descriptions load with NEW's
 * (compat.h lists the kinds of findings).
 *
 * Unlike QEMU's vmstate-static-checker.py, which walks both field lists in
 * step and gives up on a section at its first mismatch, fields are lined up
 * by name: of the fields both sides have at the version OLD sends, a field
 * only NEW has is "added", one only OLD has is "missing", a pair of
 * different names at the same place is "renamed", and the comparison goes
 * on after each, so that every break is reported once.
 */
#include "config.h"

#include <string.h>

#include "compat-impl.h"
#include "vmscope/error.h"

typedef struct Cmp {
    GPtrArray *out;
    bool from_stream;       /* OLD is a stream's: struct fields it lacks may be empty arrays */
    const char *key;
    const char *name;
} Cmp;

#define ADD(c, kind, path, o, n, ...) \
    compat_finding_add((c)->out, COMPAT_ERROR, kind, (c)->key, (c)->name, path, VMS_NO_OFFSET, \
                       o, n, __VA_ARGS__)

static void compare_desc(Cmp *c, const char *path, const CompatDesc *o, const CompatDesc *n);

/* The fields of d that exist at `version`, with their path names. */
typedef struct Fields {
    const CompatField **f;
    const char **name;
    size_t len;
} Fields;

static void fields_at(const CompatDesc *d, char **names, int version, Fields *out)
{
    out->f = g_new(const CompatField *, d->fields->len + 1);
    out->name = g_new(const char *, d->fields->len + 1);
    out->len = 0;
    for (guint i = 0; i < d->fields->len; i++) {
        const CompatField *f = g_ptr_array_index(d->fields, i);
        if (f->version_id <= version) {
            out->f[out->len] = f;
            out->name[out->len++] = names[i];
        }
    }
}

static void fields_clear(Fields *fs)
{
    g_free(fs->f);
    g_free(fs->name);
}

/* Index of the first field named `name` in fs from `from` on, or -1. */
static ssize_t find_from(const Fields *fs, size_t from, const char *name)
{
    for (size_t i = from; i < fs->len; i++) {
        if (strcmp(fs->name[i], name) == 0) {
            return (ssize_t)i;
        }
    }
    return -1;
}

/* What the same place holds on both sides (names may differ: renamed). */
static void compare_pair(Cmp *c, const char *path, const CompatField *a, const CompatField *b)
{
    if (a->desc && b->desc) {
        compare_desc(c, path, a->desc, b->desc);
    } else if (a->desc) {
        ADD(c, "description-missing", path, qstring_from_str(a->desc->name), NULL,
            "nested description '%s' missing in NEW", a->desc->name);
    } else if (a->size != b->size && a->size && b->size) {
        ADD(c, "field-size", path, qnum_from_uint(a->size), qnum_from_uint(b->size),
            "size %" G_GUINT64_FORMAT " in OLD, %" G_GUINT64_FORMAT " in NEW", a->size, b->size);
    } else if (a->type && b->type &&
               strcmp(compat_wire_type(a->type), compat_wire_type(b->type)) != 0) {
        ADD(c, "field-type", path, qstring_from_str(a->type), qstring_from_str(b->type),
            "type %s in OLD, %s in NEW", a->type, b->type);
    } else if (a->equal && b->equal && !qobject_equal(a->equal, b->equal)) {
        g_autofree char *x = qobject_to_json(a->equal, false);
        g_autofree char *y = qobject_to_json(b->equal, false);
        ADD(c, "equal-differs", path, qobject_ref(a->equal), qobject_ref(b->equal),
            "an _equal field: %s in OLD, %s in NEW", x, y);
    }
}

/* A field OLD sends that NEW does not read at OLD's version. */
static void missing(Cmp *c, const char *path, const char *a_name, const CompatDesc *n,
                    char **nnames, int version)
{
    for (guint i = 0; i < n->fields->len; i++) {
        const CompatField *b = g_ptr_array_index(n->fields, i);
        if (strcmp(nnames[i], a_name) == 0 && b->version_id > version) {
            ADD(c, "field-version", path, qnum_from_int(version), qnum_from_int(b->version_id),
                "NEW reads the field only from version %d, OLD sends it at version %d",
                b->version_id, version);
            return;
        }
    }
    ADD(c, "field-missing", path, qstring_from_str(a_name), NULL, "field missing in NEW");
}

/*
 * Might NEW read nothing for this field?  When it is conditional, or when
 * OLD is a stream and it is a struct field: QEMU's vmdesc has no entry for
 * arrays of no elements, and a dump does not tell arrays apart.
 */
static bool new_optional(const Cmp *c, const CompatField *b)
{
    return b->field_exists || (c->from_stream && b->desc);
}

/* A field NEW reads at OLD's version that OLD does not send (optional ones: maybe not). */
static void added(Cmp *c, const char *path, const Fields *nf, size_t j, int version)
{
    if (new_optional(c, nf->f[j])) {
        return;
    }
    g_autofree char *p = compat_path_join(path, nf->name[j]);
    ADD(c, "field-added", p, NULL, qstring_from_str(nf->name[j]),
        "NEW reads this field at version %d, OLD does not send it", version);
}

static void compare_fields(Cmp *c, const char *path, const CompatDesc *o, const CompatDesc *n)
{
    g_auto(GStrv) onames = compat_field_names(o);
    g_auto(GStrv) nnames = compat_field_names(n);
    Fields of, nf;
    size_t i = 0, j = 0;
    fields_at(o, onames, o->version_id, &of);
    fields_at(n, nnames, o->version_id, &nf);
    while (i < of.len || j < nf.len) {
        if (j == nf.len) {
            g_autofree char *p = compat_path_join(path, of.name[i]);
            missing(c, p, of.name[i], n, nnames, o->version_id);
            i++;
            continue;
        }
        if (i == of.len) {
            added(c, path, &nf, j++, o->version_id);
            continue;
        }
        const CompatField *a = of.f[i], *b = nf.f[j];
        g_autofree char *p = compat_path_join(path, of.name[i]);
        if (strcmp(of.name[i], nf.name[j]) == 0) {
            compare_pair(c, p, a, b);
            i++, j++;
            continue;
        }
        ssize_t a_in_new = find_from(&nf, j + 1, of.name[i]);
        ssize_t b_in_old = find_from(&of, i + 1, nf.name[j]);
        if (a_in_new >= 0 && (b_in_old < 0 || a_in_new - (ssize_t)j <= b_in_old - (ssize_t)i)) {
            while (j < (size_t)a_in_new) {
                added(c, path, &nf, j++, o->version_id);
            }
        } else if (b_in_old >= 0) {
            while (i < (size_t)b_in_old) {
                g_autofree char *po = compat_path_join(path, of.name[i]);
                missing(c, po, of.name[i], n, nnames, o->version_id);
                i++;
            }
        } else if (new_optional(c, b)) {
            j++;    /* it may not be read */
        } else {
            ADD(c, "field-renamed", p, qstring_from_str(of.name[i]), qstring_from_str(nf.name[j]),
                "field renamed to '%s' in NEW", nf.name[j]);
            compare_pair(c, p, a, b);
            i++, j++;
        }
    }
    fields_clear(&of);
    fields_clear(&nf);
}

static void compare_desc(Cmp *c, const char *path, const CompatDesc *o, const CompatDesc *n)
{
    if (strcmp(o->name, n->name) != 0) {
        ADD(c, "description-differs", path, qstring_from_str(o->name), qstring_from_str(n->name),
            "description '%s' is '%s' in NEW", o->name, n->name);
        return;
    }
    if (o->version_id > n->version_id) {
        ADD(c, "version-older", path, qnum_from_int(o->version_id), qnum_from_int(n->version_id),
            "version %d in NEW is older than %d in OLD", n->version_id, o->version_id);
    }
    if (n->minimum_version_id >= 0 && o->version_id < n->minimum_version_id) {
        ADD(c, "minimum-version", path, qnum_from_int(o->version_id),
            qnum_from_int(n->minimum_version_id),
            "NEW loads versions %d and up, OLD sends version %d", n->minimum_version_id,
            o->version_id);
    }
    compare_fields(c, path, o, n);
    for (guint i = 0; i < o->subsections->len; i++) {
        const CompatDesc *os = g_ptr_array_index(o->subsections, i);
        const CompatDesc *ns = compat_desc_subsection(n, os->name);
        g_autofree char *p = compat_path_join(path, os->name);
        if (ns) {
            compare_desc(c, p, os, ns);
        } else {
            ADD(c, "subsection-missing", p, qstring_from_str(os->name), NULL,
                "subsection missing in NEW");
        }
    }
}

GPtrArray *compat_compare(const CompatSet *old_set, const CompatSet *new_set)
{
    GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)compat_finding_free);
    if (old_set->machine && new_set->machine && strcmp(old_set->machine, new_set->machine) != 0) {
        compat_finding_add(out, COMPAT_WARNING, "machine-type", "vmschkmachine", "", "",
                           VMS_NO_OFFSET, qstring_from_str(old_set->machine),
                           qstring_from_str(new_set->machine),
                           "machine type '%s' in OLD, '%s' in NEW", old_set->machine,
                           new_set->machine);
    }
    bool by_key = old_set->source == COMPAT_SOURCE_DUMP && new_set->source == COMPAT_SOURCE_DUMP;
    /* QEMU's dumps leave sections out (see compat.h): against one, a stream's are not checked. */
    bool partial = old_set->source != COMPAT_SOURCE_DUMP && new_set->source == COMPAT_SOURCE_DUMP &&
                   !compat_set_is_complete(new_set);
    for (guint i = 0; i < old_set->sections->len; i++) {
        const CompatSection *os = g_ptr_array_index(old_set->sections, i);
        const CompatSection *ns = by_key ? g_hash_table_lookup(new_set->by_key, os->key) : NULL;
        GPtrArray *alike = g_hash_table_lookup(new_set->by_name, os->desc->name);
        Cmp c = { .out = out, .from_stream = old_set->source == COMPAT_SOURCE_STREAM,
                   .key = os->key, .name = os->desc->name };
        if (ns || (alike && alike->len == 1)) {
            compare_desc(&c, "", os->desc, ns ? ns->desc : ((CompatSection *)alike->pdata[0])->desc);
        } else if (alike) {
            /* Descriptions of one name (isa-serial's and serial's "serial"): the closest. */
            g_autoptr(GPtrArray) best = NULL;
            for (guint k = 0; k < alike->len; k++) {
                GPtrArray *found = g_ptr_array_new_with_free_func(
                    (GDestroyNotify)compat_finding_free);
                Cmp ck = c;
                ck.out = found;
                compare_desc(&ck, "", os->desc, ((CompatSection *)alike->pdata[k])->desc);
                if (!best || found->len < best->len) {
                    g_clear_pointer(&best, g_ptr_array_unref);
                    best = found;
                } else {
                    g_ptr_array_unref(found);
                }
            }
            while (best->len) {
                g_ptr_array_add(out, g_ptr_array_steal_index(best, 0));
            }
        } else if (partial) {
            compat_finding_add(out, COMPAT_WARNING, "not-checked", os->key, os->desc->name, "",
                               VMS_NO_OFFSET, qstring_from_str(os->desc->name), NULL,
                               "not described by NEW's dump (QEMU's leaves out sections without "
                               "a device class): not checked");
        } else {
            ADD(&c, "section-missing", "", qstring_from_str(os->desc->name), NULL,
                "section missing in NEW");
        }
    }
    return out;
}

/*
 * Descriptions from their three sources in one form (compat.h): QEMU's
 * -dump-vmstate JSON (read with the strict QObject input visitor, so that
 * every error names its place in the JSON), a stream's learned
 * descriptions and vmscope's own, both VMStateDescriptions; and the
 * findings the checks report.
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "compat-impl.h"
#include "vmscope/ber-stream.h"
#include "vmscope/error.h"
#include "vmscope/qobject-visitor.h"

/* ---- the form ---- */

static void compat_field_free(gpointer p);

static void compat_desc_free(gpointer p)
{
    CompatDesc *d = p;
    if (d) {
        g_free(d->name);
        g_ptr_array_unref(d->fields);
        g_ptr_array_unref(d->subsections);
        g_free(d);
    }
}

static void compat_field_free(gpointer p)
{
    CompatField *f = p;
    if (f) {
        g_free(f->name);
        g_free(f->type);
        compat_desc_free(f->desc);
        qobject_unref(f->equal);
        g_free(f);
    }
}

static CompatDesc *compat_desc_new(void)
{
    CompatDesc *d = g_new0(CompatDesc, 1);
    d->fields = g_ptr_array_new_with_free_func(compat_field_free);
    d->subsections = g_ptr_array_new_with_free_func(compat_desc_free);
    return d;
}

static void compat_section_free(gpointer p)
{
    CompatSection *s = p;
    g_free(s->key);
    compat_desc_free(s->desc);
    g_free(s);
}

CompatSet *compat_set_new(CompatSource source, const char *machine)
{
    CompatSet *set = g_new0(CompatSet, 1);
    set->source = source;
    set->machine = g_strdup(machine);
    set->sections = g_ptr_array_new_with_free_func(compat_section_free);
    set->by_key = g_hash_table_new(g_str_hash, g_str_equal);
    set->by_name = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
                                         (GDestroyNotify)g_ptr_array_unref);
    return set;
}

void compat_set_free(CompatSet *set)
{
    if (set) {
        g_hash_table_unref(set->by_key);
        g_hash_table_unref(set->by_name);
        g_ptr_array_unref(set->sections);
        g_free(set->machine);
        g_free(set);
    }
}

/* Takes desc.  A key already there is replaced in the lookup (a JSON dict has each once). */
static CompatSection *set_add(CompatSet *set, const char *key, CompatDesc *desc)
{
    CompatSection *sec = g_new0(CompatSection, 1);
    sec->key = g_strdup(key);
    sec->desc = desc;
    g_ptr_array_add(set->sections, sec);
    g_hash_table_insert(set->by_key, sec->key, sec);
    GPtrArray *alike = g_hash_table_lookup(set->by_name, desc->name);
    if (!alike) {
        alike = g_ptr_array_new();
        g_hash_table_insert(set->by_name, desc->name, alike);
    }
    g_ptr_array_add(alike, sec);
    return sec;
}

bool compat_set_is_complete(const CompatSet *set)
{
    return set->source == COMPAT_SOURCE_VMSCOPE ||
           (set->source == COMPAT_SOURCE_DUMP && set->machine &&
            strcmp(set->machine, COMPAT_DEVHOST_MACHINE) == 0);
}

char *compat_section_display_name(const CompatSection *sec)
{
    if (strcmp(sec->key, sec->desc->name) == 0) {
        return g_strdup(sec->key);
    }
    return g_strdup_printf("%s (%s)", sec->key, sec->desc->name);
}

/* ---- VMStateDescriptions: vmscope's own, a stream's ---- */

static CompatDesc *desc_from_vmsd(const VMStateDescription *vmsd, bool stream)
{
    CompatDesc *d = compat_desc_new();
    d->name = g_strdup(vmsd->name);
    d->version_id = vmsd->version_id;
    d->minimum_version_id = stream ? -1 : vmsd->minimum_version_id;
    for (const VMStateField *f = vmsd->fields; f && f->name; f++) {
        if (f->continues) {
            continue;   /* one list with the field before it: one field */
        }
        CompatField *cf = g_new0(CompatField, 1);
        cf->name = g_strdup(f->name);
        cf->version_id = f->version_id;
        cf->size = f->size;
        cf->type = g_strdup(f->info->name);
        if ((f->info->flags & VMSTATE_INFO_STRUCT) && f->vmsd) {
            cf->desc = desc_from_vmsd(f->vmsd, stream);
        }
        g_ptr_array_add(d->fields, cf);
    }
    for (const VMStateDescription *const *s = vmsd->subsections; s && *s; s++) {
        g_ptr_array_add(d->subsections, desc_from_vmsd(*s, stream));
    }
    return d;
}

void compat_set_add_vmsd(CompatSet *set, const char *key, const VMStateDescription *vmsd)
{
    set_add(set, key, desc_from_vmsd(vmsd, set->source == COMPAT_SOURCE_STREAM));
}

CompatDesc *compat_desc_subsection(const CompatDesc *d, const char *name)
{
    for (guint i = 0; i < d->subsections->len; i++) {
        CompatDesc *s = g_ptr_array_index(d->subsections, i);
        if (strcmp(s->name, name) == 0) {
            return s;
        }
    }
    return NULL;
}

/*
 * Sections of one description (serial:0 and serial:1) are one section, and
 * carry every subsection any of them sent.
 */
CompatSet *compat_set_from_stream(const QemuStream *s)
{
    QObject *config = qemu_stream_configuration(s);
    CompatSet *set = compat_set_new(COMPAT_SOURCE_STREAM, qdict_get_str(config, "name"));
    for (size_t i = 0; i < qemu_stream_n_sections(s); i++) {
        const QemuStreamSection *sec = qemu_stream_section(s, i);
        const uint8_t *state;
        size_t size;
        const VMStateDescription *vmsd = qemu_stream_section_device(s, i, &state, &size);
        if (!vmsd) {
            continue;
        }
        CompatDesc *d = desc_from_vmsd(vmsd, true);
        GPtrArray *alike = g_hash_table_lookup(set->by_name, d->name);
        CompatSection *known = alike ? g_ptr_array_index(alike, 0) : NULL;
        if (!known) {
            set_add(set, sec->name, d);
            continue;
        }
        while (d->subsections->len) {
            CompatDesc *sub = g_ptr_array_steal_index(d->subsections, 0);
            if (compat_desc_subsection(known->desc, sub->name)) {
                compat_desc_free(sub);
            } else {
                g_ptr_array_add(known->desc->subsections, sub);
            }
        }
        compat_desc_free(d);
    }
    return set;
}

/* ---- QEMU's -dump-vmstate JSON ---- */

#define DUMP_MAX_DEPTH 64

static bool read_desc(Visitor *v, const char *name, int depth, CompatDesc **out, GError **errp);

static bool read_int(Visitor *v, const char *name, int *out, GError **errp)
{
    int32_t x;
    if (!visit_type_int32(v, name, &x, errp)) {
        return false;
    }
    *out = x;
    return true;
}

static bool read_field(Visitor *v, int depth, CompatField *f, GError **errp)
{
    bool present;
    if (!visit_type_str(v, "field", &f->name, errp) ||
        !read_int(v, "version_id", &f->version_id, errp) ||
        !visit_type_bool(v, "field_exists", &f->field_exists, errp) ||
        !visit_type_uint64(v, "size", &f->size, errp)) {
        return false;
    }
    if (visit_optional(v, "type", &present)) {
        if (!visit_type_str(v, "type", &f->type, errp)) {
            return false;
        }
        if (!vmstate_info_find(f->type)) {
            visit_error(v, "type", errp, VMS_ERROR_INVALID, "unknown type '%s'", f->type);
            return false;
        }
    }
    if (visit_optional(v, "equal", &present)) {
        if (!qobject_input_visit_any(v, "equal", &f->equal, errp)) {
            return false;
        }
        if (qobject_type(f->equal) != QTYPE_INT) {
            visit_error(v, "equal", errp, VMS_ERROR_INVALID, "expected an integer");
            return false;
        }
    }
    return !visit_optional(v, "Description", &present) ||
           read_desc(v, "Description", depth + 1, &f->desc, errp);
}

static bool read_fields(Visitor *v, int depth, CompatDesc *d, GError **errp)
{
    size_t n = VISIT_LEN_UNKNOWN;
    if (!visit_start_list(v, "Fields", &n, errp)) {
        return false;
    }
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        visit_next_list(v);
        CompatField *f = g_new0(CompatField, 1);
        g_ptr_array_add(d->fields, f);
        ok = visit_start_struct(v, NULL, NULL, errp);
        if (ok) {
            ok = read_field(v, depth, f, errp) && visit_check_struct(v, errp);
            visit_end_struct(v);
        }
    }
    ok = ok && visit_check_list(v, errp);
    visit_end_list(v);
    return ok;
}

static bool read_subsections(Visitor *v, int depth, CompatDesc *d, GError **errp)
{
    size_t n = VISIT_LEN_UNKNOWN;
    if (!visit_start_list(v, "Subsections", &n, errp)) {
        return false;
    }
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        CompatDesc *sub = NULL;
        visit_next_list(v);
        ok = read_desc(v, NULL, depth + 1, &sub, errp);
        if (ok && compat_desc_subsection(d, sub->name)) {
            visit_error(v, NULL, errp, VMS_ERROR_INVALID, "a second subsection '%s'", sub->name);
            ok = false;
        }
        if (sub) {
            g_ptr_array_add(d->subsections, sub);
        }
    }
    ok = ok && visit_check_list(v, errp);
    visit_end_list(v);
    return ok;
}

/* A description that loads no version at all is no description (nor is a negative version). */
static bool check_versions(Visitor *v, const CompatDesc *d, GError **errp)
{
    if (d->version_id < 0 || d->minimum_version_id < 0 ||
        d->minimum_version_id > d->version_id) {
        visit_error(v, "minimum_version_id", errp, VMS_ERROR_RANGE,
                    "versions %d to %d: none can load", d->minimum_version_id, d->version_id);
        return false;
    }
    return true;
}

/* {"name", "version_id", "minimum_version_id", "Fields"?, "Subsections"?}; *out even on failure. */
static bool read_desc(Visitor *v, const char *name, int depth, CompatDesc **out, GError **errp)
{
    bool present;
    if (depth > DUMP_MAX_DEPTH) {
        visit_error(v, name, errp, VMS_ERROR_INVALID, "descriptions nested deeper than %d levels",
                    DUMP_MAX_DEPTH);
        return false;
    }
    if (!visit_start_struct(v, name, NULL, errp)) {
        return false;
    }
    CompatDesc *d = *out = compat_desc_new();
    bool ok = visit_type_str(v, "name", &d->name, errp) &&
              read_int(v, "version_id", &d->version_id, errp) &&
              read_int(v, "minimum_version_id", &d->minimum_version_id, errp) &&
              check_versions(v, d, errp) &&
              (!visit_optional(v, "Fields", &present) || read_fields(v, depth, d, errp)) &&
              (!visit_optional(v, "Subsections", &present) ||
               read_subsections(v, depth, d, errp)) &&
              visit_check_struct(v, errp);
    visit_end_struct(v);
    return ok;
}

/* One member of the dump: the machine, or a device type. */
static bool read_entry(Visitor *v, CompatSet *set, const char *key, GError **errp)
{
    g_autofree char *type_name = NULL;
    int version, minimum;
    CompatDesc *d = NULL;
    if (!visit_start_struct(v, key, NULL, errp)) {
        return false;
    }
    bool ok;
    if (strcmp(key, "vmschkmachine") == 0) {
        ok = visit_type_str(v, "Name", &set->machine, errp) && visit_check_struct(v, errp);
    } else {
        ok = visit_type_str(v, "Name", &type_name, errp) &&
             read_int(v, "version_id", &version, errp) &&
             read_int(v, "minimum_version_id", &minimum, errp) &&
             read_desc(v, "Description", 0, &d, errp) && visit_check_struct(v, errp);
    }
    visit_end_struct(v);
    if (d && !ok) {
        compat_desc_free(d);
    } else if (d) {
        set_add(set, key, d);
    }
    return ok;
}

CompatSet *compat_set_from_dump(QObject *dump, GError **errp)
{
    g_autoptr(CompatSet) set = compat_set_new(COMPAT_SOURCE_DUMP, NULL);
    Visitor *v = qobject_input_visitor_new(dump);
    bool ok = visit_start_struct(v, NULL, NULL, errp);
    if (ok) {
        qdict_foreach(dump, key, val) {
            (void)val;
            if (!read_entry(v, set, key, errp)) {
                ok = false;
                break;
            }
        }
        ok = ok && visit_check_struct(v, errp);
        visit_end_struct(v);
    }
    visit_free(v);
    return ok ? g_steal_pointer(&set) : NULL;
}

CompatSet *compat_set_load(GBytes *data, QemuStream **stream, GError **errp)
{
    gsize len;
    const uint8_t *p = g_bytes_get_data(data, &len);
    if (stream) {
        *stream = NULL;
    }
    if (ber_stream_is(p, len) || (len >= 4 && memcmp(p, "QEVM", 4) == 0)) {
        g_autoptr(BerStream) ber = ber_stream_is(p, len) ? ber_stream_parse(data, errp) : NULL;
        g_autoptr(GBytes) qemu = !ber_stream_is(p, len) ? g_bytes_ref(data)
                                 : ber ? ber_stream_to_qemu(ber, errp) : NULL;
        QemuStream *s = qemu ? qemu_stream_parse(qemu, errp) : NULL;
        if (!s) {
            return NULL;
        }
        CompatSet *set = compat_set_from_stream(s);
        if (stream) {
            *stream = s;
        } else {
            qemu_stream_free(s);
        }
        return set;
    }
    g_autoptr(QObject) dump = NULL;
    if (!qobject_from_json((const char *)p, len, &dump, errp)) {
        return NULL;
    }
    if (qobject_type(dump) != QTYPE_DICT) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "not a migration stream nor a -dump-vmstate JSON object");
        return NULL;
    }
    return compat_set_from_dump(dump, errp);
}

/* ---- findings ---- */

void compat_finding_free(CompatFinding *f)
{
    if (f) {
        g_free(f->key);
        g_free(f->name);
        g_free(f->path);
        qobject_unref(f->old_value);
        qobject_unref(f->new_value);
        g_free(f->message);
        g_free(f);
    }
}

char *compat_finding_line(const CompatFinding *f)
{
    GString *s = g_string_new(f->severity == COMPAT_ERROR ? "error: " : "warning: ");
    if (f->offset != VMS_NO_OFFSET) {
        g_string_append_printf(s, "offset %" PRIu64 ": ", f->offset);
    }
    if (*f->key && *f->name && strcmp(f->key, f->name) != 0) {
        g_string_append_printf(s, "%s (%s): ", f->key, f->name);
    } else if (*f->key || *f->name) {
        g_string_append_printf(s, "%s: ", *f->key ? f->key : f->name);
    }
    if (*f->path) {
        g_string_append_printf(s, "%s: ", f->path);
    }
    g_string_append(s, f->message);
    return g_string_free(s, FALSE);
}

QObject *compat_finding_to_qobject(const CompatFinding *f)
{
    QObject *o = qdict_new();
    qdict_put(o, "severity", qstring_from_str(f->severity == COMPAT_ERROR ? "error" : "warning"));
    qdict_put(o, "kind", qstring_from_str(f->kind));
    QObject *sec = qdict_new();
    qdict_put(sec, "key", qstring_from_str(f->key));
    qdict_put(sec, "name", qstring_from_str(f->name));
    qdict_put(o, "section", sec);
    qdict_put(o, "path", qstring_from_str(f->path));
    if (f->offset != VMS_NO_OFFSET) {
        qdict_put(o, "offset", qnum_from_uint(f->offset));
    }
    qdict_put(o, "old", qobject_ref(f->old_value));
    qdict_put(o, "new", qobject_ref(f->new_value));
    qdict_put(o, "message", qstring_from_str(f->message));
    return o;
}

size_t compat_count_errors(const GPtrArray *findings)
{
    size_t n = 0;
    for (guint i = 0; i < findings->len; i++) {
        n += ((const CompatFinding *)g_ptr_array_index(findings, i))->severity == COMPAT_ERROR;
    }
    return n;
}

void compat_finding_add(GPtrArray *list, CompatSeverity severity, const char *kind,
                        const char *key, const char *name, const char *path, uint64_t offset,
                        QObject *old_value, QObject *new_value, const char *fmt, ...)
{
    CompatFinding *f = g_new0(CompatFinding, 1);
    va_list ap;
    f->severity = severity;
    f->kind = kind;
    f->key = g_strdup(key ? key : "");
    f->name = g_strdup(name ? name : "");
    f->path = g_strdup(path ? path : "");
    f->offset = offset;
    f->old_value = old_value;
    f->new_value = new_value;
    va_start(ap, fmt);
    f->message = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_ptr_array_add(list, f);
}

char *compat_path_join(const char *path, const char *member)
{
    return *path ? g_strconcat(path, ".", member, NULL) : g_strdup(member);
}

char **compat_field_names(const CompatDesc *d)
{
    char **names = g_new0(char *, d->fields->len + 1);
    g_autoptr(GHashTable) total = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < d->fields->len; i++) {
        const char *n = ((CompatField *)g_ptr_array_index(d->fields, i))->name;
        g_hash_table_insert(total, (gpointer)n,
                            GUINT_TO_POINTER(GPOINTER_TO_UINT(g_hash_table_lookup(total, n)) + 1));
    }
    for (guint i = 0; i < d->fields->len; i++) {
        const char *n = ((CompatField *)g_ptr_array_index(d->fields, i))->name;
        guint k = GPOINTER_TO_UINT(g_hash_table_lookup(seen, n));
        g_hash_table_insert(seen, (gpointer)n, GUINT_TO_POINTER(k + 1));
        names[i] = GPOINTER_TO_UINT(g_hash_table_lookup(total, n)) > 1
                       ? g_strdup_printf("%s[%u]", n, k) : g_strdup(n);
    }
    return names;
}

const char *compat_wire_type(const char *type)
{
    const VMStateInfo *info = vmstate_info_find(type);
    if (!info) {
        return type;
    }
    if (info->flags & VMSTATE_INFO_INT) {
        return visit_int_kind_name(info->int_kind);
    }
    if (info == VMSTATE_INFO(VMSTATE_TYPE_UNUSED)) {
        return "buffer";
    }
    return info->name;
}

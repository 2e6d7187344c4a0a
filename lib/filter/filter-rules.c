/*
 * Rule files: JSON read by json-c (qobject_from_json) and walked by the
 * strict QObject input visitor, so a key nobody reads, a missing key or a
 * value of the wrong type is refused with its path; then the values are
 * checked (type names, op names).  Each rule is walked on its own, so an
 * error can name the rule by index and name: "rule 2 ('kvm'): actions[0].to: missing".
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "filter-impl.h"
#include "vmscope/error.h"
#include "vmscope/qobject-visitor.h"
#include "vmscope/vmstate.h"

static const char *const op_names[] = {
    [FILTER_RENAME_SECTION] = "rename-section",
    [FILTER_RENAME_FIELD] = "rename-field",
    [FILTER_MOVE_FIELD] = "move-field",
    [FILTER_DROP_FIELD] = "drop-field",
    [FILTER_ADD_FIELD] = "add-field",
    [FILTER_SET_TYPE] = "set-type",
    [FILTER_EXTRACT_FIELD] = "extract-field",
    [FILTER_DROP_SUBSECTION] = "drop-subsection",
    [FILTER_SET_VERSION] = "set-version",
    [FILTER_SPLIT] = "split",
    [FILTER_MERGE] = "merge",
};

const char *filter_op_name(FilterOpKind kind)
{
    return op_names[kind];
}

static void match_clear(FilterMatch *m)
{
    g_free(m->section);
}

static void op_clear(FilterOp *op)
{
    g_free(op->field);
    g_free(op->to);
    g_free(op->vmsd_name);
    g_free(op->after);
    g_free(op->type);
    qobject_unref(op->value);
    for (size_t i = 0; i < op->n_parts; i++) {
        g_free(op->parts[i].name);
        g_free(op->parts[i].vmsd_name);
        g_strfreev(op->parts[i].fields);
    }
    g_free(op->parts);
    match_clear(&op->with);
}

static void rule_clear(FilterRule *r)
{
    g_free(r->name);
    match_clear(&r->match);
    for (size_t i = 0; i < r->n_ops; i++) {
        op_clear(&r->ops[i]);
    }
    g_free(r->ops);
}

void filter_free(Filter *f)
{
    if (!f) {
        return;
    }
    for (size_t i = 0; i < f->n_rules; i++) {
        rule_clear(&f->rules[i]);
    }
    g_free(f->rules);
    g_free(f);
}

size_t filter_n_rules(const Filter *f)
{
    return f->n_rules;
}

/* ---- walking a rule with the strict input visitor ---- */

/* A non-empty string member. */
static bool visit_name(Visitor *v, const char *key, char **out, GError **errp)
{
    if (!visit_type_str(v, key, out, errp)) {
        return false;
    }
    if (!**out) {
        g_clear_pointer(out, g_free);
        visit_error(v, key, errp, VMS_ERROR_INVALID, "must not be empty");
        return false;
    }
    return true;
}

static bool visit_opt_name(Visitor *v, const char *key, char **out, GError **errp)
{
    bool present;
    return !visit_optional(v, key, &present) || visit_name(v, key, out, errp);
}

static bool visit_opt_uint32(Visitor *v, const char *key, bool *has, uint32_t *out,
                             GError **errp)
{
    return !visit_optional(v, key, has) || visit_type_uint32(v, key, out, errp);
}

/* An optional "comment": any text, for people. */
static bool visit_comment(Visitor *v, GError **errp)
{
    bool present;
    g_autofree char *comment = NULL;
    return !visit_optional(v, "comment", &present) || visit_type_str(v, "comment", &comment, errp);
}

static bool visit_match(Visitor *v, const char *key, FilterMatch *m, GError **errp)
{
    if (!visit_start_struct(v, key, NULL, errp)) {
        return false;
    }
    bool ok = visit_name(v, "section", &m->section, errp) &&
              visit_opt_uint32(v, "version", &m->has_version, &m->version, errp) &&
              visit_opt_uint32(v, "instance-id", &m->has_instance, &m->instance_id, errp) &&
              visit_check_struct(v, errp);
    visit_end_struct(v);
    return ok;
}

/* A vmdesc type name that fits the use: `integer` only integers, else no structs. */
static bool check_type(Visitor *v, const char *key, const char *type, bool integer,
                       GError **errp)
{
    const VMStateInfo *info = vmstate_info_find_vmdesc(type);
    if (!info) {
        visit_error(v, key, errp, VMS_ERROR_INVALID, "unknown type '%s'", type);
        return false;
    }
    if (integer && (!(info->flags & VMSTATE_INFO_INT) || info->check != VMSTATE_CHECK_NONE)) {
        visit_error(v, key, errp, VMS_ERROR_INVALID, "type '%s' is not a plain integer type",
                    type);
        return false;
    }
    if (!integer && ((info->flags & (VMSTATE_INFO_STRUCT | VMSTATE_INFO_NO_STATE)) ||
                     info->check != VMSTATE_CHECK_NONE || !info->visit)) {
        visit_error(v, key, errp, VMS_ERROR_INVALID,
                    "type '%s' cannot be given a value (integers, bool, buffer)", type);
        return false;
    }
    return true;
}

/* A value add-field can place: a scalar, or a list of scalars of one JSON type. */
static bool check_value(Visitor *v, const QObject *value, GError **errp)
{
    QType t = qobject_type(value);
    if (t == QTYPE_LIST) {
        QType first = QTYPE_NULL;
        for (size_t i = 0; i < qlist_size(value); i++) {
            QType e = qobject_type(qlist_get(value, i));
            if ((e != QTYPE_INT && e != QTYPE_BOOL && e != QTYPE_STRING) ||
                (i && e != first)) {
                visit_error(v, "value", errp, VMS_ERROR_INVALID,
                            "a list value holds integers, booleans or hex strings, all alike");
                return false;
            }
            first = e;
        }
        if (!qlist_size(value)) {
            visit_error(v, "value", errp, VMS_ERROR_INVALID, "an empty list has no type");
            return false;
        }
        return true;
    }
    if (t != QTYPE_INT && t != QTYPE_BOOL && t != QTYPE_STRING) {
        visit_error(v, "value", errp, VMS_ERROR_INVALID,
                    "expected an integer, a boolean, a hex string or a list of them, got %s",
                    qtype_name(t));
        return false;
    }
    return true;
}

static bool visit_fields(Visitor *v, char ***out, GError **errp)
{
    size_t len = VISIT_LEN_UNKNOWN;
    if (!visit_start_list(v, "fields", &len, errp)) {
        return false;
    }
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    bool ok = true;
    for (size_t i = 0; ok && i < len; i++) {
        char *name = NULL;
        visit_next_list(v);
        ok = visit_name(v, NULL, &name, errp);
        if (ok) {
            g_ptr_array_add(names, name);
        }
    }
    ok = ok && visit_check_list(v, errp);
    visit_end_list(v);
    g_ptr_array_add(names, NULL);
    *out = (char **)g_ptr_array_free(names, FALSE);
    return ok;
}

static bool visit_part(Visitor *v, FilterPart *p, GError **errp)
{
    if (!visit_start_struct(v, NULL, NULL, errp)) {
        return false;
    }
    bool ok = visit_name(v, "name", &p->name, errp) &&
              visit_opt_name(v, "vmsd-name", &p->vmsd_name, errp) &&
              visit_opt_uint32(v, "instance-id", &p->has_instance, &p->instance_id, errp) &&
              visit_opt_uint32(v, "version", &p->has_version, &p->version, errp) &&
              visit_fields(v, &p->fields, errp) &&
              visit_check_struct(v, errp);
    visit_end_struct(v);
    return ok;
}

static bool visit_parts(Visitor *v, FilterOp *op, GError **errp)
{
    size_t len = VISIT_LEN_UNKNOWN;
    if (!visit_start_list(v, "into", &len, errp)) {
        return false;
    }
    op->parts = g_new0(FilterPart, len ? len : 1);
    bool ok = true;
    for (size_t i = 0; ok && i < len; i++) {
        visit_next_list(v);
        op->n_parts = i + 1;
        ok = visit_part(v, &op->parts[i], errp);
    }
    ok = ok && visit_check_list(v, errp);
    visit_end_list(v);
    if (ok && len < 2) {
        visit_error(v, "into", errp, VMS_ERROR_INVALID, "a split makes at least 2 sections");
        ok = false;
    }
    return ok;
}

/* The keys of each op, after "op". */
static bool visit_op_keys(Visitor *v, FilterOp *op, GError **errp)
{
    bool present;
    switch (op->kind) {
    case FILTER_RENAME_SECTION:
        return visit_name(v, "to", &op->to, errp) &&
               visit_opt_name(v, "vmsd-name", &op->vmsd_name, errp);
    case FILTER_RENAME_FIELD:
    case FILTER_MOVE_FIELD:
        return visit_name(v, "field", &op->field, errp) && visit_name(v, "to", &op->to, errp);
    case FILTER_DROP_FIELD:
        return visit_name(v, "field", &op->field, errp);
    case FILTER_DROP_SUBSECTION:
        return visit_name(v, "subsection", &op->field, errp);
    case FILTER_ADD_FIELD:
        if (!visit_name(v, "field", &op->field, errp) ||
            !qobject_input_visit_any(v, "value", &op->value, errp) ||
            !check_value(v, op->value, errp) ||
            !visit_opt_name(v, "type", &op->type, errp) ||
            (op->type && !check_type(v, "type", op->type, false, errp))) {
            return false;
        }
        return visit_opt_name(v, "after", &op->after, errp);
    case FILTER_SET_TYPE:
        return visit_name(v, "field", &op->field, errp) &&
               visit_name(v, "type", &op->type, errp) &&
               check_type(v, "type", op->type, false, errp);
    case FILTER_EXTRACT_FIELD:
        if (!visit_name(v, "field", &op->field, errp) || !visit_name(v, "to", &op->to, errp) ||
            !visit_name(v, "type", &op->type, errp) ||
            !check_type(v, "type", op->type, true, errp) ||
            !visit_type_uint64(v, "offset", &op->offset, errp) ||
            !visit_opt_uint32(v, "count", &op->has_count, &op->count, errp)) {
            return false;
        }
        op->stride = vmstate_info_find_vmdesc(op->type)->size;
        if (visit_optional(v, "stride", &present) &&
            !visit_type_uint64(v, "stride", &op->stride, errp)) {
            return false;
        }
        if (op->has_count && (op->count == 0 || op->count > 65536)) {
            visit_error(v, "count", errp, VMS_ERROR_RANGE, "must be 1 to 65536");
            return false;
        }
        if (op->stride > (1u << 24)) {
            visit_error(v, "stride", errp, VMS_ERROR_RANGE, "must be at most 16777216");
            return false;
        }
        return visit_opt_name(v, "after", &op->after, errp);
    case FILTER_SET_VERSION:
        op->has_version = true;
        return visit_type_uint32(v, "version", &op->version, errp);
    case FILTER_SPLIT:
        return visit_parts(v, op, errp);
    case FILTER_MERGE:
        return visit_match(v, "with", &op->with, errp) &&
               visit_opt_name(v, "to", &op->to, errp) &&
               visit_opt_name(v, "vmsd-name", &op->vmsd_name, errp) &&
               visit_opt_uint32(v, "version", &op->has_version, &op->version, errp);
    }
    g_assert_not_reached();
}

static bool visit_op(Visitor *v, FilterOp *op, GError **errp)
{
    if (!visit_start_struct(v, NULL, NULL, errp)) {
        return false;
    }
    g_autofree char *name = NULL;
    bool ok = visit_name(v, "op", &name, errp);
    if (ok) {
        size_t k = 0;
        while (k < G_N_ELEMENTS(op_names) && strcmp(op_names[k], name) != 0) {
            k++;
        }
        if (k == G_N_ELEMENTS(op_names)) {
            g_autofree char *known = g_strjoinv(", ", (char **)(const char *[]){
                "rename-section", "rename-field", "move-field", "drop-field", "add-field",
                "set-type", "extract-field", "drop-subsection", "set-version", "split", "merge",
                NULL });
            visit_error(v, "op", errp, VMS_ERROR_INVALID, "unknown op '%s' (%s)", name, known);
            ok = false;
        } else {
            op->kind = (FilterOpKind)k;
        }
    }
    ok = ok && visit_op_keys(v, op, errp) && visit_comment(v, errp) &&
         visit_check_struct(v, errp);
    visit_end_struct(v);
    return ok;
}

static bool visit_rule(Visitor *v, FilterRule *r, GError **errp)
{
    if (!visit_start_struct(v, NULL, NULL, errp)) {
        return false;
    }
    bool present;
    bool ok = (!visit_optional(v, "name", &present) || visit_type_str(v, "name", &r->name, errp)) &&
              visit_match(v, "match", &r->match, errp) && visit_comment(v, errp);
    size_t len = VISIT_LEN_UNKNOWN;
    if (ok && visit_start_list(v, "actions", &len, errp)) {
        r->ops = g_new0(FilterOp, len ? len : 1);
        for (size_t i = 0; ok && i < len; i++) {
            visit_next_list(v);
            r->n_ops = i + 1;
            ok = visit_op(v, &r->ops[i], errp);
            if (ok && r->ops[i].kind == FILTER_SPLIT && i + 1 < len) {
                visit_error(v, NULL, errp, VMS_ERROR_INVALID,
                            "a split must be the last action of its rule");
                ok = false;
            }
        }
        ok = ok && visit_check_list(v, errp);
        visit_end_list(v);
        if (ok && !len) {
            visit_error(v, "actions", errp, VMS_ERROR_MISSING, "a rule needs at least one action");
            ok = false;
        }
    } else {
        ok = false;
    }
    ok = ok && visit_check_struct(v, errp);
    visit_end_struct(v);
    return ok;
}

/* "rule 2 ('kvm-apic to apic')" or "rule 2". */
static char *rule_label(size_t index, const QObject *rule)
{
    const char *name = qobject_type(rule) == QTYPE_DICT ? qdict_get_str(rule, "name") : NULL;
    return name && *name ? g_strdup_printf("rule %zu ('%s')", index, name)
                         : g_strdup_printf("rule %zu", index);
}

/* The rules of a parsed file, or NULL with *errp. */
static Filter *load_rules(QObject *root, GError **errp)
{
    if (qobject_type(root) != QTYPE_DICT) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "expected an object {\"rules\": [...]}, got %s",
                    qtype_name(qobject_type(root)));
        return NULL;
    }
    /* The top level: {"comment"?, "rules": [RULE, ...]}; each rule walked on its own. */
    g_autoptr(QObject) rules = NULL;
    Visitor *v = qobject_input_visitor_new(root);
    bool ok = visit_start_struct(v, NULL, NULL, errp);
    if (ok) {
        ok = visit_comment(v, errp) && qobject_input_visit_any(v, "rules", &rules, errp) &&
             visit_check_struct(v, errp);
        visit_end_struct(v);
    }
    visit_free(v);
    if (!ok) {
        return NULL;
    }
    if (qobject_type(rules) != QTYPE_LIST) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "rules: expected a list, got %s",
                    qtype_name(qobject_type(rules)));
        return NULL;
    }
    g_autoptr(Filter) f = g_new0(Filter, 1);
    f->rules = g_new0(FilterRule, qlist_size(rules) + 1);
    for (size_t i = 0; i < qlist_size(rules); i++) {
        QObject *rule = qlist_get(rules, i);
        Visitor *rv = qobject_input_visitor_new(rule);
        f->n_rules = i + 1;
        ok = visit_rule(rv, &f->rules[i], errp);
        visit_free(rv);
        if (!ok) {
            g_autofree char *label = rule_label(i, rule);
            vms_error_prefix(errp, "%s", label);
            return NULL;
        }
        if (!f->rules[i].name) {
            f->rules[i].name = g_strdup("");
        }
    }
    return g_steal_pointer(&f);
}

Filter *filter_load(const char *text, size_t len, const char *origin, GError **errp)
{
    g_autoptr(QObject) root = NULL;
    GError *err = NULL;
    Filter *f = qobject_from_json(text, len, &root, &err) ? load_rules(root, &err) : NULL;
    if (!f) {
        if (origin) {
            vms_error_prefix(&err, "%s", origin);
        }
        g_propagate_error(errp, err);
    }
    return f;
}

Filter *filter_load_file(const char *path, GError **errp)
{
    g_autofree char *text = NULL;
    gsize len = 0;
    FILE *fp = fopen(path, "re");
    if (!fp) {
        int e = errno;
        g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "%s: %s", path, g_strerror(e));
        return NULL;
    }
    fclose(fp);
    GError *err = NULL;
    if (!g_file_get_contents(path, &text, &len, &err)) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "%s", err->message);
        g_error_free(err);
        return NULL;
    }
    return filter_load(text, len, path, errp);
}

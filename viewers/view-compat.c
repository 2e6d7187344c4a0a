/*
 * vmscope-view compat and explain: flags, loading the inputs, printing the
 * findings of compat_compare and compat_explain (see view-compat.h).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "view-compat.h"
#include "view-state.h"
#include "vmscope/cmdline.h"
#include "vmscope/compat.h"
#include "vmscope/error.h"

#define EXIT_UNREADABLE 2

/* OLD, NEW or DEST: a -dump-vmstate JSON file or a migration stream. */
static CompatSet *load_set(const char *path, QemuStream **stream, GError **errp)
{
    g_autoptr(GBytes) data = read_file(path, errp);
    if (!data) {
        return NULL;
    }
    CompatSet *set = compat_set_load(data, stream, errp);
    if (!set) {
        vms_error_prefix(errp, "%s", path);
    }
    return set;
}

static int print_out(GString *out)
{
    g_autoptr(GError) err = NULL;
    if (!print_text(out->str, out->len, &err)) {
        fprintf(stderr, "vmscope-view: %s\n", err->message);
        return EXIT_UNREADABLE;
    }
    return 0;
}

static void append_findings(GString *out, const GPtrArray *findings)
{
    for (guint i = 0; i < findings->len; i++) {
        g_autofree char *line = compat_finding_line(g_ptr_array_index(findings, i));
        g_string_append_printf(out, "%s\n", line);
    }
}

static QObject *findings_to_qobject(const GPtrArray *findings)
{
    QObject *list = qlist_new();
    for (guint i = 0; i < findings->len; i++) {
        qlist_append(list, compat_finding_to_qobject(g_ptr_array_index(findings, i)));
    }
    return list;
}

static const char *plural(size_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

int view_compat_main(int argc, char **argv)
{
    gboolean reverse = FALSE, json = FALSE;
    const GOptionEntry entries[] = {
        { "reverse", 0, 0, G_OPTION_ARG_NONE, &reverse, NULL, NULL },
        { "json", 0, 0, G_OPTION_ARG_NONE, &json, NULL, NULL },
        { NULL },
    };
    g_autoptr(GError) err = NULL;
    g_auto(GStrv) args = cmdline_parse(entries, argc, argv, &err);
    if (!args) {
        return view_usage_error("compat", "%s", err->message);
    }
    guint n = g_strv_length(args);
    if (n < 2) {
        return view_usage_error("compat", "missing %s", n ? "NEW" : "OLD and NEW");
    }
    if (n > 2) {
        return view_usage_error("compat", "unexpected argument '%s'", args[2]);
    }
    g_autoptr(CompatSet) a = load_set(args[0], NULL, &err);
    g_autoptr(CompatSet) b = a ? load_set(args[1], NULL, &err) : NULL;
    if (!b) {
        fprintf(stderr, "vmscope-view: compat: %s\n", err->message);
        return EXIT_UNREADABLE;
    }
    const CompatSet *old_set = reverse ? b : a, *new_set = reverse ? a : b;
    g_autoptr(GPtrArray) findings = compat_compare(old_set, new_set);
    size_t errors = compat_count_errors(findings);
    size_t warnings = findings->len - errors;
    g_autoptr(GString) out = g_string_new(NULL);
    if (json) {
        g_autoptr(QObject) list = findings_to_qobject(findings);
        g_autofree char *text = qobject_to_json(list, false);
        g_string_append_printf(out, "%s\n", text);
    } else {
        append_findings(out, findings);
        g_string_append_printf(out, "%s: %u %s compared, %zu %s, %zu %s\n",
                               errors ? "incompatible" : "compatible", old_set->sections->len,
                               plural(old_set->sections->len, "section", "sections"), errors,
                               plural(errors, "error", "errors"), warnings,
                               plural(warnings, "warning", "warnings"));
    }
    int status = print_out(out);
    return status ? status : errors ? 1 : 0;
}

int view_explain_main(int argc, char **argv)
{
    g_autofree char *dest_path = NULL;
    gboolean json = FALSE;
    const GOptionEntry entries[] = {
        { "dest", 0, 0, G_OPTION_ARG_FILENAME, &dest_path, NULL, "DEST" },
        { "json", 0, 0, G_OPTION_ARG_NONE, &json, NULL, NULL },
        { NULL },
    };
    g_autoptr(GError) err = NULL;
    g_auto(GStrv) args = cmdline_parse(entries, argc, argv, &err);
    if (!args) {
        return view_usage_error("explain", "%s", err->message);
    }
    if (!args[0]) {
        return view_usage_error("explain", "missing STREAM");
    }
    if (args[1]) {
        return view_usage_error("explain", "unexpected argument '%s'", args[1]);
    }
    if (!dest_path) {
        return view_usage_error("explain", "missing --dest DEST (a -dump-vmstate JSON file)");
    }
    g_autoptr(QemuStream) s = NULL;
    g_autoptr(CompatSet) src = load_set(args[0], &s, &err);
    g_autoptr(CompatSet) dest = src ? load_set(dest_path, NULL, &err) : NULL;
    if (src && !s) {
        g_clear_error(&err);
        g_set_error(&err, VMS_ERROR, VMS_ERROR_INVALID, "%s: not a migration stream", args[0]);
    }
    if (!dest || !s) {
        fprintf(stderr, "vmscope-view: explain: %s\n", err->message);
        return EXIT_UNREADABLE;
    }
    g_autoptr(CompatExplain) e = compat_explain(s, dest);
    size_t errors = compat_count_errors(e->findings);
    g_autoptr(GString) out = g_string_new(NULL);
    if (json) {
        g_autoptr(QObject) o = qdict_new();
        QObject *nc = qlist_new();
        for (guint i = 0; i < e->not_checked->len; i++) {
            qlist_append(nc, qstring_from_str(g_ptr_array_index(e->not_checked, i)));
        }
        qdict_put(o, "findings", findings_to_qobject(e->findings));
        qdict_put(o, "checked", qnum_from_uint(e->checked));
        qdict_put(o, "not-checked", nc);
        g_autofree char *text = qobject_to_json(o, false);
        g_string_append_printf(out, "%s\n", text);
    } else {
        append_findings(out, e->findings);
        if (e->not_checked->len) {
            g_string_append(out, "not checked (DEST does not describe them):");
            for (guint i = 0; i < e->not_checked->len; i++) {
                g_string_append_printf(out, "%s %s", i ? "," : "",
                                       (const char *)g_ptr_array_index(e->not_checked, i));
            }
            g_string_append_c(out, '\n');
        }
        g_string_append_printf(out, "the load would %s: %zu %s checked, %zu %s, %u not checked\n",
                               errors ? "fail" : "succeed", e->checked,
                               plural(e->checked, "section", "sections"), errors,
                               plural(errors, "error", "errors"), e->not_checked->len);
    }
    int status = print_out(out);
    return status ? status : errors ? 1 : 0;
}

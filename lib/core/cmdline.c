/*
 * Command lines: see vmscope/cmdline.h.
 *
 * Two passes.  The first walks argv as getopt would, knowing which options
 * take a value: it splits "-ed5" into "-e -d 5" (GOption reads "-d5" as
 * the options d, 5), passes every option's value through untouched (a "-1"
 * after "-d" is a value, not options), and notices an option left without
 * its value at the end.  GOption then parses the result, ignoring unknown
 * options so that they can be named the programs' way afterwards.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmscope/cmdline.h"
#include "vmscope/error.h"

static bool takes_value(const GOptionEntry *e)
{
    return e && e->arg != G_OPTION_ARG_NONE &&
           !(e->flags & (G_OPTION_FLAG_NO_ARG | G_OPTION_FLAG_OPTIONAL_ARG));
}

static const GOptionEntry *find_long(const GOptionEntry *entries, const char *name, size_t len)
{
    for (const GOptionEntry *e = entries; e->long_name; e++) {
        if (strlen(e->long_name) == len && strncmp(e->long_name, name, len) == 0) {
            return e;
        }
    }
    return NULL;
}

static const GOptionEntry *find_short(const GOptionEntry *entries, char c)
{
    for (const GOptionEntry *e = entries; e->long_name; e++) {
        if (e->short_name == c) {
            return e;
        }
    }
    return NULL;
}

/* argv respelled for GOption, after a placeholder for the program's name; NULL if an
 * option lacks its value. */
static GPtrArray *respell(const GOptionEntry *entries, int argc, char **argv, GError **errp)
{
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *pending = NULL;        /* an option waiting for its value, as written */
    const GOptionEntry *pending_entry = NULL;
    bool options_ended = false;

    g_ptr_array_add(out, g_strdup("program"));
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (pending || options_ended || a[0] != '-' || !a[1]) {
            g_ptr_array_add(out, g_strdup(a));
            g_clear_pointer(&pending, g_free);
        } else if (strcmp(a, "--") == 0) {
            g_ptr_array_add(out, g_strdup(a));
            options_ended = true;
        } else if (a[1] == '-') {
            const char *eq = strchr(a, '=');
            size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
            const GOptionEntry *e = find_long(entries, a + 2, len);
            g_ptr_array_add(out, g_strdup(a));
            if (takes_value(e) && !eq) {
                pending = g_strdup(a);
                pending_entry = e;
            }
        } else {
            for (const char *c = a + 1; *c; c++) {
                const GOptionEntry *e = find_short(entries, *c);
                g_ptr_array_add(out, g_strdup_printf("-%c", *c));
                if (takes_value(e)) {
                    if (c[1]) {
                        g_ptr_array_add(out, g_strdup(c + 1));
                    } else {
                        pending = g_strdup_printf("-%c", *c);
                        pending_entry = e;
                    }
                    break;
                }
            }
        }
    }
    if (pending) {
        if (pending_entry->arg_description) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_MISSING, "option '%s' needs a value (%s)",
                        pending, pending_entry->arg_description);
        } else {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_MISSING, "option '%s' needs an argument",
                        pending);
        }
        return NULL;
    }
    return g_steal_pointer(&out);
}

GStrv cmdline_parse(const GOptionEntry *entries, int argc, char **argv, GError **errp)
{
    GPtrArray *args = respell(entries, argc, argv, errp);
    if (!args) {
        return NULL;
    }
    g_ptr_array_add(args, NULL);
    g_auto(GStrv) parsed = (GStrv)g_ptr_array_free(args, FALSE);

    g_autoptr(GOptionContext) oc = g_option_context_new(NULL);
    g_option_context_set_help_enabled(oc, FALSE);
    g_option_context_set_ignore_unknown_options(oc, TRUE);
    g_option_context_add_main_entries(oc, entries, NULL);
    if (!g_option_context_parse_strv(oc, &parsed, errp)) {
        return NULL;
    }

    /* What GOption left: unknown options, and the arguments. */
    g_autoptr(GPtrArray) rest = g_ptr_array_new_with_free_func(g_free);
    bool options_ended = false;
    for (char **a = parsed + 1; *a; a++) {
        if (!options_ended && strcmp(*a, "--") == 0) {
            options_ended = true;
        } else if (!options_ended && (*a)[0] == '-' && (*a)[1]) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "unknown option '%s'", *a);
            return NULL;
        } else {
            g_ptr_array_add(rest, g_strdup(*a));
        }
    }
    g_ptr_array_add(rest, NULL);
    return (GStrv)g_ptr_array_free(g_steal_pointer(&rest), FALSE);
}

bool cmdline_group(const char *option, const char *value, gid_t *gid, GError **errp)
{
    char *end = NULL;
    errno = 0;
    unsigned long n = value[0] >= '0' && value[0] <= '9' ? strtoul(value, &end, 10) : 0;
    if (end && *end == '\0' && errno == 0 && n < (gid_t)-1) {
        *gid = (gid_t)n;
        return true;
    }
    long size = sysconf(_SC_GETGR_R_SIZE_MAX);
    g_autofree char *buf = g_malloc(size > 0 ? (size_t)size : 16384);
    struct group gr, *found = NULL;
    int rc = getgrnam_r(value, &gr, buf, size > 0 ? (size_t)size : 16384, &found);
    if (!found) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_NOT_FOUND, "%s '%s': %s", option, value,
                    rc ? g_strerror(rc) : "no such group");
        return false;
    }
    *gid = found->gr_gid;
    return true;
}

/* vmscope-view state: one device's state from an agent; see view-state.h. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bridge/qmp-client.h"
#include "view-state.h"
#include "vmscope/error.h"
#include "vmscope/format.h"

#define EXIT_USAGE 2
#define TIMEOUT_MS 10000
#define DEFAULT_FORMAT "pretty"

static int usage(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static int usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fprintf(stderr, "vmscope-view: state: %s\nTry 'vmscope-view --help'.\n", msg);
    return EXIT_USAGE;
}

/* The agent's default socket (vmscope-agent without --qmp). */
static char *default_address(void)
{
    const char *run = g_getenv("XDG_RUNTIME_DIR");
    return g_strdup_printf("unix:%s/vmscope/agent.qmp", run && *run ? run : "/tmp");
}

/* `--name VALUE` or `--name=VALUE` at argv[*i]; NULL if it is not --name. */
static const char *option(int argc, char **argv, int *i, const char *name, bool *missing)
{
    size_t len = strlen(name);
    *missing = false;
    if (strncmp(argv[*i], name, len) != 0 || (argv[*i][len] && argv[*i][len] != '=')) {
        return NULL;
    }
    if (argv[*i][len] == '=') {
        return argv[*i] + len + 1;
    }
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

int view_state_main(int argc, char **argv)
{
    const char *path = NULL, *v;
    const VmsFormat *format = vms_format_lookup(DEFAULT_FORMAT);
    g_autofree char *address = NULL;
    bool missing;
    for (int i = 0; i < argc; i++) {
        if ((v = option(argc, argv, &i, "--format", &missing)) || missing) {
            g_autofree char *names = vms_format_names(DEFAULT_FORMAT, " or ");
            if (missing) {
                return usage("option '--format' needs a value (%s)", names);
            }
            if (!(format = vms_format_lookup(v))) {
                return usage("unknown format '%s' (%s)", v, names);
            }
        } else if ((v = option(argc, argv, &i, "--qmp", &missing)) || missing) {
            if (missing) {
                return usage("option '--qmp' needs a value (unix:PATH or tcp:HOST:PORT)");
            }
            g_free(address);
            address = g_strdup(v);
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return usage("unknown option '%s'", argv[i]);
        } else if (!path) {
            path = argv[i];
        } else {
            return usage("unexpected argument '%s'", argv[i]);
        }
    }
    if (!path) {
        return usage("missing PATH (/HOST/ID)");
    }
    if (!address) {
        address = default_address();
    }

    g_autoptr(GError) err = NULL;
    g_autoptr(QmpClient) c = qmp_client_connect(address, TIMEOUT_MS, &err);
    g_autoptr(QObject) args = qdict_new();
    g_autoptr(QObject) ret = NULL;
    qdict_put(args, "path", qstring_from_str(path));
    qdict_put(args, "format", qstring_from_str(format->name));
    if (!c || !qmp_client_execute(c, "query-device-state", args, &ret, &err)) {
        fprintf(stderr, "vmscope-view: %s\n", err->message);
        return 1;
    }
    /* json: the whole answer; another format: its result, bare (vmscope/format.h). */
    g_autoptr(GBytes) out = NULL;
    if (format != vms_format_json()) {
        out = vms_format_result_from_qobject(format,
                                             qdict_get(ret, vms_format_result_member(format)),
                                             &err);
        if (!out) {
            fprintf(stderr, "vmscope-view: query-device-state returned no %s result: %s\n",
                    format->name, err->message);
            return 1;
        }
    } else {
        char *json = qobject_to_json(ret, false);
        out = g_bytes_new_take(json, strlen(json));
    }
    gsize len;
    const char *text = g_bytes_get_data(out, &len);
    /* Text ends with a newline; bytes are written as they are. */
    bool newline = !format->binary && (len == 0 || text[len - 1] != '\n');
    if (fwrite(text, 1, len, stdout) != len || (newline && putchar('\n') == EOF) ||
        fflush(stdout) != 0) {
        fprintf(stderr, "vmscope-view: writing output: %s\n", g_strerror(errno));
        return 1;
    }
    return 0;
}

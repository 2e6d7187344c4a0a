/* vmscope-view state: one device's state from an agent; see view-state.h. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bridge/qmp-client.h"
#include "view-state.h"
#include "vmscope/error.h"

#define EXIT_USAGE 2
#define TIMEOUT_MS 10000

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
    const char *path = NULL, *format = "pretty", *v;
    g_autofree char *address = NULL;
    bool missing;
    for (int i = 0; i < argc; i++) {
        if ((v = option(argc, argv, &i, "--format", &missing)) || missing) {
            if (missing) {
                return usage("option '--format' needs a value (pretty or json)");
            }
            if (strcmp(v, "json") != 0 && strcmp(v, "pretty") != 0) {
                return usage("unknown format '%s' (pretty or json)", v);
            }
            format = v;
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
    qdict_put(args, "format", qstring_from_str(format));
    if (!c || !qmp_client_execute(c, "query-device-state", args, &ret, &err)) {
        fprintf(stderr, "vmscope-view: %s\n", err->message);
        return 1;
    }
    g_autofree char *json = NULL;
    const char *text = qdict_get_str(ret, "text");
    if (strcmp(format, "json") == 0 || !text) {
        qdict_del(ret, "text");
        json = qobject_to_json(ret, false);
        text = json;
    }
    size_t len = strlen(text);
    bool newline = len == 0 || text[len - 1] != '\n';
    if (fwrite(text, 1, len, stdout) != len || (newline && putchar('\n') == EOF) ||
        fflush(stdout) != 0) {
        fprintf(stderr, "vmscope-view: writing output: %s\n", g_strerror(errno));
        return 1;
    }
    return 0;
}

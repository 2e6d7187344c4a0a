/* vmscope-view state: one device's state from an agent; see view-state.h. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bridge/qmp-client.h"
#include "view-state.h"
#include "vmscope/cmdline.h"
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

int view_state_main(int argc, char **argv)
{
    g_autofree char *format_opt = NULL;
    g_autofree char *address = NULL;
    const GOptionEntry entries[] = {
        { "format", 0, 0, G_OPTION_ARG_STRING, &format_opt, NULL, "pretty or json" },
        { "qmp", 0, 0, G_OPTION_ARG_FILENAME, &address, NULL, "unix:PATH or tcp:HOST:PORT" },
        { NULL },
    };
    g_autoptr(GError) err = NULL;
    g_auto(GStrv) operands = cmdline_parse(entries, argc, argv, &err);
    if (!operands) {
        return usage("%s", err->message);
    }
    const char *format = format_opt ? format_opt : "pretty";
    if (strcmp(format, "json") != 0 && strcmp(format, "pretty") != 0) {
        return usage("unknown format '%s' (pretty or json)", format);
    }
    if (!operands[0]) {
        return usage("missing PATH (/HOST/ID)");
    }
    if (operands[1]) {
        return usage("unexpected argument '%s'", operands[1]);
    }
    const char *path = operands[0];
    if (!address) {
        address = default_address();
    }

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

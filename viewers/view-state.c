/* vmscope-view state: one device's state from an agent; see view-state.h. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bridge/qmp-client.h"
#include "view-state.h"
#include "vmscope/address.h"
#include "vmscope/cmdline.h"
#include "vmscope/error.h"
#include "vmscope/format.h"

#define TIMEOUT_MS 10000
#define DEFAULT_FORMAT "pretty"

int view_agent_execute(const char *address, const char *command, QObject *args, QObject **ret)
{
    g_autofree char *dflt = address ? NULL : address_agent_default();
    g_autoptr(GError) err = NULL;
    g_autoptr(QmpClient) c = qmp_client_connect(address ? address : dflt, TIMEOUT_MS, &err);
    if (!c || !qmp_client_execute(c, command, args, ret, &err)) {
        fprintf(stderr, "vmscope-view: %s\n", err->message);
        return 1;
    }
    return 0;
}

int view_state_main(int argc, char **argv)
{
    g_autofree char *format_opt = NULL;
    g_autofree char *address = NULL;
    g_autofree char *names = vms_format_names(DEFAULT_FORMAT, " or ");
    const GOptionEntry entries[] = {
        { "format", 0, 0, G_OPTION_ARG_STRING, &format_opt, NULL, names },
        { "qmp", 0, 0, G_OPTION_ARG_FILENAME, &address, NULL, "unix:PATH or tcp:HOST:PORT" },
        { NULL },
    };
    g_autoptr(GError) err = NULL;
    g_auto(GStrv) operands = cmdline_parse(entries, argc, argv, &err);
    if (!operands) {
        return view_usage_error("state", "%s", err->message);
    }
    const VmsFormat *format = vms_format_lookup(format_opt ? format_opt : DEFAULT_FORMAT);
    if (!format) {
        return view_usage_error("state", "unknown format '%s' (%s)", format_opt, names);
    }
    if (!operands[0]) {
        return view_usage_error("state", "missing PATH (/HOST/ID)");
    }
    if (operands[1]) {
        return view_usage_error("state", "unexpected argument '%s'", operands[1]);
    }
    const char *path = operands[0];
    g_autoptr(QObject) args = qdict_new();
    g_autoptr(QObject) ret = NULL;
    qdict_put(args, "path", qstring_from_str(path));
    qdict_put(args, "format", qstring_from_str(format->name));
    if (view_agent_execute(address, "query-device-state", args, &ret)) {
        return 1;
    }
    /* A QEMU section shown as raw bytes: say why, beside the text. */
    const char *raw = qdict_get_str(ret, "raw-reason");
    if (raw && format != vms_format_json()) {
        fprintf(stderr, "vmscope-view: %s: raw bytes: %s\n", path, raw);
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

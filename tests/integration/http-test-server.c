/*
 * http-test-server: the HTTP bridge on a dispatcher whose agent commands
 * answer fixed data, for the HTTP integration tests and the benchmark.
 *
 *   http-test-server [--http HOST:PORT] [--qmp ADDRESS] [--dashboard DIR]
 *                    [--max-body N] [--sse-queue N] [--request-timeout-ms N]
 *                    [--idle-timeout-s N] [--keepalive-ms N]
 *
 * Prints "http: listening on URL" (and "listening ADDRESS" for --qmp, a
 * QMP server on the same dispatcher, so that tests can compare the two),
 * then serves until stdin reaches end of file or SIGTERM/SIGINT.
 *
 * Commands, shaped like the agent's (API-SHAPES):
 *   query-hosts, query-devices        two hosts (h2 lost), two devices of h1
 *   query-device-state {path, format?}   /h1/serial0 and /h1/rtc0; /h1/broken
 *                                     fails with GenericError; anything else
 *                                     DeviceNotFound
 *   query-device-schema {path}
 *   query-agent-stats                 fixed figures, "snapshots" counts calls
 * and for the tests:
 *   test-emit {name, data?, count?, pad?}  emit count events; pad adds a
 *                                     string of that many bytes to the data
 *   test-sse-clients                  event-stream clients connected now
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib-unix.h>

#include "test-server-loop.h"

#include "bridge/http-server.h"
#include "bridge/qmp-dispatch.h"
#include "bridge/qmp-server.h"
#include "vmscope/format.h"

static HttpServer *http;
static guint64 snapshots;

static QObject *json(const char *text)
{
    QObject *v = NULL;
    g_autoptr(GError) err = NULL;
    if (!qobject_from_json(text, strlen(text), &v, &err)) {
        g_error("bad JSON in http-test-server: %s", err->message);
    }
    return v;
}

static bool cmd_query_hosts(QObject *args, QObject **ret, void *opaque, GError **errp)
{
    *ret = json("[{\"name\": \"h1\", \"pid\": 4242, \"alive\": true, "
                "\"segment\": \"/dev/shm/vmscope-h1\", \"devices\": 2, \"generation\": 12}, "
                "{\"name\": \"h2\", \"pid\": 4243, \"alive\": false, "
                "\"segment\": \"/dev/shm/vmscope-h2\", \"devices\": 0, \"generation\": 3, "
                "\"error\": \"owner process 4243 exited\"}]");
    return true;
}

static bool cmd_query_devices(QObject *args, QObject **ret, void *opaque, GError **errp)
{
    *ret = json("[{\"path\": \"/h1/serial0\", \"host\": \"h1\", \"id\": \"serial0\", "
                "\"type\": \"serial\", \"instance-id\": 0, \"version-id\": 4, "
                "\"generation\": 981, \"state-size\": 64}, "
                "{\"path\": \"/h1/rtc0\", \"host\": \"h1\", \"id\": \"rtc0\", "
                "\"type\": \"mc146818rtc\", \"instance-id\": 0, \"version-id\": 3, "
                "\"generation\": 17, \"state-size\": 128}]");
    return true;
}

static bool known_device(const char *path, GError **errp)
{
    if (strcmp(path, "/h1/broken") == 0) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC_ERROR,
                    "host h1: segment offset 4096: device state runs past the segment end");
        return false;
    }
    if (strcmp(path, "/h1/serial0") != 0 && strcmp(path, "/h1/rtc0") != 0) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_DEVICE_NOT_FOUND, "Device '%s' not found", path);
        return false;
    }
    return true;
}

static bool cmd_query_device_state(QObject *args, QObject **ret, void *opaque, GError **errp)
{
    const char *path = qdict_get_str(args, "path");
    const char *format = qdict_get_str(args, "format");

    if (!known_device(path, errp)) {
        return false;
    }
    if (format && !vms_format_lookup(format)) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC_ERROR,
                    "Parameter 'format' does not accept value '%s'", format);
        return false;
    }
    snapshots++;
    QObject *r = json("{\"host\": \"h1\", \"type\": \"serial\", \"instance-id\": 0, "
                      "\"version-id\": 4, \"generation\": 981, \"state\": {\"divider\": 12, "
                      "\"rbr\": 0, \"ier\": 5, \"fifo\": {\"count\": 3, \"data\": \"616263\"}, "
                      "\"regs\": [1, 2, 3, 4], \"big\": 18446744073709551615, "
                      "\"neg\": -9223372036854775808, \"thr_ipending\": true}}");
    qdict_put(r, "path", qstring_from_str(path));
    if (format && strcmp(format, "pretty") == 0) {
        qdict_put(r, "text", qstring_from_printf("%s (serial, version 4)\n  divider: 12\n"
                                                 "  caf\xc3\xa9: \"\\n\"\n", path));
    }
    *ret = r;
    return true;
}

static bool cmd_query_device_schema(QObject *args, QObject **ret, void *opaque, GError **errp)
{
    const char *path = qdict_get_str(args, "path");
    if (!known_device(path, errp)) {
        return false;
    }
    QObject *r = json("{\"type\": \"serial\", \"version-id\": 4, \"schema\": {\"name\": "
                      "\"serial\", \"version\": 4, \"minimum-version\": 2, \"fields\": ["
                      "{\"name\": \"divider\", \"type\": \"uint16\", \"size\": 2}, "
                      "{\"name\": \"regs\", \"type\": \"uint8\", \"size\": 1, \"count\": 4}], "
                      "\"subsections\": []}}");
    qdict_put(r, "path", qstring_from_str(path));
    *ret = r;
    return true;
}

static bool cmd_query_agent_stats(QObject *args, QObject **ret, void *opaque, GError **errp)
{
    QObject *r = json("{\"hosts\": 2, \"hosts-lost\": 1, \"devices\": 2, \"state-bytes\": 192, "
                      "\"snapshot-retries\": 7, \"qmp-requests\": {\"query-hosts\": 3, "
                      "\"query-device-state\": 11}, \"uptime-seconds\": 1.5, "
                      "\"name\": \"not a number: skipped\"}");
    qdict_put(r, "snapshots", qnum_from_uint(snapshots));
    *ret = r;
    return true;
}

static bool cmd_test_emit(QObject *args, QObject **ret, void *opaque, GError **errp)
{
    int64_t count = 1, pad = 0;
    if (qdict_haskey(args, "count")) {
        qnum_get_int(qdict_get(args, "count"), &count);
    }
    if (qdict_haskey(args, "pad")) {
        qnum_get_int(qdict_get(args, "pad"), &pad);
    }
    if (pad < 0 || pad > (16 << 20)) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC_ERROR, "pad: at most 16 MiB");
        return false;
    }
    g_autofree char *padding = g_malloc(pad + 1);
    memset(padding, 'p', pad);
    padding[pad] = '\0';
    for (int64_t i = 0; i < count; i++) {
        QObject *data = qobject_copy(qdict_get(args, "data"));
        if (pad) {
            if (!data) {
                data = qdict_new();
            }
            qdict_put(data, "pad", qstring_from_str(padding));
            qdict_put(data, "seq", qnum_from_int(i));
        }
        qmp_dispatcher_emit_event(opaque, qdict_get_str(args, "name"), data);
    }
    return true;
}

static bool cmd_test_sse_clients(QObject *args, QObject **ret, void *opaque, GError **errp)
{
    *ret = qnum_from_uint(http_server_sse_client_count(http));
    return true;
}

int main(int argc, char **argv)
{
    static const QmpArgSpec state_args[] = {
        { "path", QMP_ARG_STR, false }, { "format", QMP_ARG_STR, true }, QMP_ARGS_END,
    };
    static const QmpArgSpec path_args[] = { { "path", QMP_ARG_STR, false }, QMP_ARGS_END };
    static const QmpArgSpec emit_args[] = {
        { "name", QMP_ARG_STR, false },
        { "data", QMP_ARG_OBJECT, true },
        { "count", QMP_ARG_INT, true },
        { "pad", QMP_ARG_INT, true },
        QMP_ARGS_END,
    };
    g_autofree char *http_opt = NULL, *qmp_addr = NULL, *dashboard = NULL;
    gint64 max_body = 0, sse_queue = 0;
    int request_timeout_ms = 0, idle_timeout_s = 0, keepalive_ms = 0;
    const GOptionEntry entries[] = {
        { "http", 0, 0, G_OPTION_ARG_STRING, &http_opt, "HTTP address (127.0.0.1:0)", "HOST:PORT" },
        { "qmp", 0, 0, G_OPTION_ARG_FILENAME, &qmp_addr, "Also serve QMP there", "ADDR" },
        { "dashboard", 0, 0, G_OPTION_ARG_FILENAME, &dashboard, "Dashboard files", "DIR" },
        { "max-body", 0, 0, G_OPTION_ARG_INT64, &max_body, "Limits (0: default)", "N" },
        { "sse-queue", 0, 0, G_OPTION_ARG_INT64, &sse_queue, NULL, "N" },
        { "request-timeout-ms", 0, 0, G_OPTION_ARG_INT, &request_timeout_ms, NULL, "N" },
        { "idle-timeout-s", 0, 0, G_OPTION_ARG_INT, &idle_timeout_s, NULL, "N" },
        { "keepalive-ms", 0, 0, G_OPTION_ARG_INT, &keepalive_ms, NULL, "N" },
        { NULL },
    };
    g_autoptr(GOptionContext) oc = g_option_context_new("- an HTTP server for tests");
    g_option_context_add_main_entries(oc, entries, NULL);
    g_autoptr(GError) opt_err = NULL;
    if (!g_option_context_parse(oc, &argc, &argv, &opt_err) || argc > 1 || max_body < 0 ||
        sse_queue < 0 || request_timeout_ms < 0 || idle_timeout_s < 0 || keepalive_ms < 0) {
        fprintf(stderr, "http-test-server: %s\n",
                opt_err ? opt_err->message : "bad arguments (see --help)");
        return 2;
    }
    const char *http_addr = http_opt ? http_opt : "127.0.0.1:0";
    HttpServerLimits limits = {
        .max_body = (size_t)max_body, .sse_max_queue = (size_t)sse_queue,
        .request_timeout_ms = (unsigned)request_timeout_ms,
        .idle_timeout_s = (unsigned)idle_timeout_s, .sse_keepalive_ms = (unsigned)keepalive_ms,
    };

    g_autoptr(QmpDispatcher) d = qmp_dispatcher_new();
    qmp_dispatcher_register_query_version(d);
    qmp_dispatcher_register_query_commands(d);
    qmp_dispatcher_register(d, "query-hosts", NULL, cmd_query_hosts, d);
    qmp_dispatcher_register(d, "query-devices", NULL, cmd_query_devices, d);
    qmp_dispatcher_register(d, "query-device-state", state_args, cmd_query_device_state, d);
    qmp_dispatcher_register(d, "query-device-schema", path_args, cmd_query_device_schema, d);
    qmp_dispatcher_register(d, "query-agent-stats", NULL, cmd_query_agent_stats, d);
    qmp_dispatcher_register(d, "test-emit", emit_args, cmd_test_emit, d);
    qmp_dispatcher_register(d, "test-sse-clients", NULL, cmd_test_sse_clients, d);

    g_autoptr(GError) err = NULL;
    http = http_server_new_full(d, http_addr, dashboard, &limits, &err);
    if (!http) {
        fprintf(stderr, "http-test-server: %s\n", err->message);
        return 1;
    }
    QmpServer *qmp = NULL;
    if (qmp_addr) {
        g_autofree char *bound = NULL;
        qmp = qmp_server_new(d, NULL);
        if (!qmp_server_listen(qmp, qmp_addr, &bound, &err)) {
            fprintf(stderr, "http-test-server: %s\n", err->message);
            qmp_server_free(qmp);
            http_server_free(http);
            return 1;
        }
        printf("listening %s\n", bound);
    }
    printf("http: listening on %s\n", http_server_url(http));
    fflush(stdout);

    g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
    guint in_id = g_unix_fd_add(0, G_IO_IN | G_IO_HUP | G_IO_ERR, on_stdin, loop);
    guint term_id = g_unix_signal_add(SIGTERM, on_signal, loop);
    guint int_id = g_unix_signal_add(SIGINT, on_signal, loop);
    g_main_loop_run(loop);
    g_source_remove(term_id);
    g_source_remove(int_id);
    if (g_main_context_find_source_by_id(NULL, in_id)) {
        g_source_remove(in_id);
    }
    http_server_free(http);
    if (qmp) {
        qmp_server_flush(qmp, 1000);
        qmp_server_free(qmp);
    }
    return 0;
}

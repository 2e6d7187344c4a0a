/*
 * qmp-test-server: a small vmscope QMP server for the integration tests and
 * the benchmark.
 *
 *   qmp-test-server [--max-request N] [--max-output N] ADDRESS...
 *
 * Listens on each ADDRESS (unix:PATH, tcp:HOST:PORT), prints one line
 * "listening ADDRESS" per address with the address in effect, then serves
 * until stdin reaches end of file (so it never outlives the test that
 * started it) or SIGTERM/SIGINT.
 *
 * Commands: qmp_capabilities, query-version, query-commands, and, shaped
 * like QEMU's so that the same requests can go to both:
 *   qom-list {path}   "/" answers [], any other path DeviceNotFound
 *   stop, cont        emit STOP / RESUME (no data), as QEMU does
 * and for the tests:
 *   test-event {name, data?, count?}   emit count (default 1) events
 *   test-echo {value?}                 return {"value": value}
 *   test-big {size}                    return a string of size bytes
 *   test-client-count                  clients connected now
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib-unix.h>

#include "test-server-loop.h"

#include "bridge/qmp-dispatch.h"
#include "bridge/qmp-server.h"

static QmpServer *server;

/* Clients the server disconnected: "dropped: WHY" on stdout, for the tests. */
static void print_dropped(const GError *why, void *opaque)
{
    printf("dropped: %s\n", why->message);
    fflush(stdout);
}

static bool cmd_qom_list(QObject *args, QObject **ret, void *opaque, GError **errp)
{
    const char *path = qdict_get_str(args, "path");
    if (strcmp(path, "/") != 0) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_DEVICE_NOT_FOUND, "Device '%s' not found", path);
        return false;
    }
    *ret = qlist_new();
    return true;
}

static bool cmd_stop(QObject *args, QObject **ret, void *opaque, GError **errp)
{
    qmp_dispatcher_emit_event(opaque, "STOP", NULL);
    return true;
}

static bool cmd_cont(QObject *args, QObject **ret, void *opaque, GError **errp)
{
    qmp_dispatcher_emit_event(opaque, "RESUME", NULL);
    return true;
}

static bool cmd_test_event(QObject *args, QObject **ret, void *opaque, GError **errp)
{
    int64_t count = 1;
    if (qdict_haskey(args, "count") && !qnum_get_int(qdict_get(args, "count"), &count)) {
        count = 1;
    }
    for (int64_t i = 0; i < count; i++) {
        qmp_dispatcher_emit_event(opaque, qdict_get_str(args, "name"),
                                  qobject_copy(qdict_get(args, "data")));
    }
    return true;
}

static bool cmd_test_echo(QObject *args, QObject **ret, void *opaque, GError **errp)
{
    QObject *r = qdict_new();
    qdict_put(r, "value", qobject_ref(qdict_get(args, "value")));
    *ret = r;
    return true;
}

static bool cmd_test_big(QObject *args, QObject **ret, void *opaque, GError **errp)
{
    uint64_t size = 0;
    if (!qnum_get_uint(qdict_get(args, "size"), &size) || size > (64u << 20)) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC_ERROR, "size: at most 64 MiB");
        return false;
    }
    g_autofree char *s = g_malloc(size + 1);
    memset(s, 'x', size);
    s[size] = '\0';
    *ret = qstring_from_str(s);
    return true;
}

static bool cmd_test_client_count(QObject *args, QObject **ret, void *opaque, GError **errp)
{
    *ret = qnum_from_uint(qmp_server_client_count(server));
    return true;
}

int main(int argc, char **argv)
{
    static const QmpArgSpec qom_list_args[] = { { "path", QMP_ARG_STR, false }, QMP_ARGS_END };
    static const QmpArgSpec event_args[] = {
        { "name", QMP_ARG_STR, false },
        { "data", QMP_ARG_ANY, true },
        { "count", QMP_ARG_INT, true },
        QMP_ARGS_END,
    };
    static const QmpArgSpec echo_args[] = { { "value", QMP_ARG_ANY, true }, QMP_ARGS_END };
    static const QmpArgSpec big_args[] = { { "size", QMP_ARG_UINT, false }, QMP_ARGS_END };
    gint64 max_request = 0, max_output = 0;
    const GOptionEntry entries[] = {
        { "max-request", 0, 0, G_OPTION_ARG_INT64, &max_request, "Request size limit", "N" },
        { "max-output", 0, 0, G_OPTION_ARG_INT64, &max_output, "Unread output limit", "N" },
        { NULL },
    };
    g_autoptr(GOptionContext) oc = g_option_context_new("ADDRESS... - a QMP server for tests");
    g_option_context_add_main_entries(oc, entries, NULL);
    g_autoptr(GError) opt_err = NULL;
    if (!g_option_context_parse(oc, &argc, &argv, &opt_err) || argc < 2 || max_request < 0 ||
        max_output < 0) {
        fprintf(stderr, "qmp-test-server: %s\n",
                opt_err ? opt_err->message : "usage: [--max-request N] [--max-output N] ADDRESS...");
        return 2;
    }
    int i = 1;

    g_autoptr(QmpDispatcher) d = qmp_dispatcher_new();
    qmp_dispatcher_register_query_version(d);
    qmp_dispatcher_register_query_commands(d);
    qmp_dispatcher_register(d, "qom-list", qom_list_args, cmd_qom_list, d);
    qmp_dispatcher_register(d, "stop", NULL, cmd_stop, d);
    qmp_dispatcher_register(d, "cont", NULL, cmd_cont, d);
    qmp_dispatcher_register(d, "test-event", event_args, cmd_test_event, d);
    qmp_dispatcher_register(d, "test-echo", echo_args, cmd_test_echo, d);
    qmp_dispatcher_register(d, "test-big", big_args, cmd_test_big, d);
    qmp_dispatcher_register(d, "test-client-count", NULL, cmd_test_client_count, d);

    server = qmp_server_new(d, NULL);
    qmp_server_set_limits(server, (size_t)max_request, (size_t)max_output);
    qmp_server_set_drop_func(server, print_dropped, NULL);
    for (; i < argc; i++) {
        g_autoptr(GError) err = NULL;
        g_autofree char *bound = NULL;
        if (!qmp_server_listen(server, argv[i], &bound, &err)) {
            fprintf(stderr, "qmp-test-server: %s\n", err->message);
            qmp_server_free(server);
            return 1;
        }
        printf("listening %s\n", bound);
    }
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
    qmp_server_flush(server, 1000);
    qmp_server_free(server);
    return 0;
}

/*
 * vmscope-agent: finds device hosts' shared-memory segments and answers
 * about their devices over QMP (and HTTP).
 *
 *   vmscope-agent [--qmp unix:PATH|tcp:HOST:PORT]... [--http HOST:PORT|--no-http]
 *                 [--shm-dir DIR] [--qemu NAME=unix:PATH]... [--group GROUP]
 *
 * Thin: flags, wiring, the GLib main loop.  The registry (registry.h) finds
 * hosts and devices and sends events, the commands (commands.h) answer, the
 * QMP server (bridge/qmp-server.h) and the HTTP bridge carry both.  Prints
 * each address it bound ("qmp: listening on unix:/run/x.qmp") on stdout,
 * line-buffered; exits 0 on SIGINT or SIGTERM, 1 on a failure to start,
 * 2 on bad usage.  See docs/agent.md.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <glib-unix.h>

#include "bridge/http-server.h"
#include "bridge/qmp-dispatch.h"
#include "bridge/qmp-server.h"
#include "commands.h"
#include "qemu-host.h"
#include "registry.h"
#include "vmscope/address.h"
#include "vmscope/cmdline.h"
#include "vmscope/shm-segment.h"

#define EXIT_USAGE 2
#define DEFAULT_HTTP "127.0.0.1:8080"

typedef struct Agent {
    GMainLoop *loop;
    QmpDispatcher *dispatcher;
    AgentRegistry *registry;
    AgentCommands *commands;
    QmpServer *qmp;
    HttpServer *http;
    GPtrArray *qemus;              /* AgentQemu * */
} Agent;

/* Events from the registry and the QEMU hosts go to every transport. */
static void emit_event(const char *name, QObject *data, void *opaque)
{
    qmp_dispatcher_emit_event(opaque, name, data);
}

/* Change detection walks device states only while somebody can hear about it. */
static bool anybody_listening(void *opaque)
{
    Agent *a = opaque;
    return qmp_server_client_count(a->qmp) > 0 ||
           (a->http && http_server_sse_client_count(a->http) > 0);
}

/*
 * Errors of the background polls (the segment directory cannot be listed)
 * and clients the QMP server dropped (opaque: "qmp: ").
 */
static void print_error(const GError *err, void *opaque)
{
    fprintf(stderr, "vmscope-agent: %s%s\n", opaque ? (const char *)opaque : "", err->message);
}

static gboolean on_signal(gpointer data)
{
    Agent *a = data;
    g_main_loop_quit(a->loop);
    return G_SOURCE_CONTINUE;
}

/* ${XDG_RUNTIME_DIR:-/tmp}/vmscope/agent.qmp, its directory created (mode 0700). */
static char *default_qmp_address(GError **errp)
{
    g_autofree char *dir = address_agent_default_dir();
    if (g_mkdir_with_parents(dir, 0700) < 0) {
        int e = errno;
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(e), "cannot create %s: %s", dir,
                    g_strerror(e));
        return NULL;
    }
    return address_agent_default();
}

/*
 * HTTP bridge starts here: the HTTP/JSON server (bridge/http-server.h)
 * serves a->dispatcher's commands and events at `address` and the
 * dashboard, and its event-stream clients count in anybody_listening().
 * An address given with --http must work; the default one may be taken
 * (another agent, say), and then the agent serves QMP only and says so.
 */
static bool http_start(Agent *a, const char *address, bool explicit, GError **errp)
{
    g_autofree char *dashboard = http_dashboard_dir();
    GError *err = NULL;
    a->http = http_server_new(a->dispatcher, address, dashboard, &err);
    if (!a->http) {
        if (explicit) {
            g_propagate_error(errp, err);
            return false;
        }
        fprintf(stderr, "vmscope-agent: http: %s: serving QMP only (--http HOST:PORT picks "
                "another address, --no-http says so)\n", err->message);
        g_error_free(err);
        return true;
    }
    printf("http: listening on %s\n", http_server_url(a->http));
    return true;
}

static void http_stop(Agent *a)
{
    g_clear_pointer(&a->http, http_server_free);
}

static int usage_error(const char *msg)
{
    fprintf(stderr, "vmscope-agent: %s\nTry 'vmscope-agent --help'.\n", msg);
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);

    g_auto(GStrv) qmp_addrs = NULL, qemu_opts = NULL;
    g_autofree char *http = NULL, *shm_dir = NULL, *group_name = NULL;
    gboolean no_http = FALSE;
    gint64 max_output = 0;
    const GOptionEntry entries[] = {
        { "qmp", 0, 0, G_OPTION_ARG_STRING_ARRAY, &qmp_addrs,
          "Serve QMP at ADDR (repeatable; default unix:${XDG_RUNTIME_DIR:-/tmp}/vmscope/agent.qmp)",
          "unix:PATH|tcp:HOST:PORT" },
        { "http", 0, 0, G_OPTION_ARG_STRING, &http,
          "Serve HTTP at HOST:PORT (default " DEFAULT_HTTP ")", "HOST:PORT" },
        { "no-http", 0, 0, G_OPTION_ARG_NONE, &no_http, "Do not serve HTTP", NULL },
        { "shm-dir", 0, 0, G_OPTION_ARG_FILENAME, &shm_dir,
          "Look for segments in DIR (default " SHM_DEFAULT_DIR ")", "DIR" },
        { "qemu", 0, 0, G_OPTION_ARG_STRING_ARRAY, &qemu_opts,
          "Also list the QEMU whose QMP monitor is at ADDRESS (repeatable)", "NAME=unix:PATH" },
        { "group", 0, 0, G_OPTION_ARG_STRING, &group_name,
          "Let GROUP use the QMP Unix sockets (mode 0660; default 0600)", "GROUP" },
        { "qmp-max-output", 0, 0, G_OPTION_ARG_INT64, &max_output,
          "Disconnect a QMP client with more than BYTES of events unread (default 8 MiB)",
          "BYTES" },
        { NULL },
    };
    g_autoptr(GOptionContext) octx = g_option_context_new("- show device state from shared memory");
    g_option_context_add_main_entries(octx, entries, NULL);
    g_autoptr(GError) err = NULL;
    if (!g_option_context_parse(octx, &argc, &argv, &err)) {
        return usage_error(err->message);
    }
    if (argc > 1) {
        g_autofree char *msg = g_strdup_printf("unexpected argument '%s'", argv[1]);
        return usage_error(msg);
    }
    if (no_http && http) {
        return usage_error("--http and --no-http exclude each other");
    }
    gid_t group = (gid_t)-1;
    if (group_name && !cmdline_group("--group", group_name, &group, &err)) {
        return usage_error(err->message);
    }
    if (max_output < 0 || (max_output > 0 && max_output < 4096)) {
        return usage_error("--qmp-max-output: BYTES must be at least 4096");
    }
    g_autoptr(GPtrArray) qemu_names = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) qemu_addrs = g_ptr_array_new_with_free_func(g_free);
    for (char **q = qemu_opts; q && *q; q++) {
        char *name, *addr;
        if (!agent_qemu_parse_option(*q, &name, &addr, &err)) {
            return usage_error(err->message);
        }
        g_ptr_array_add(qemu_names, name);
        g_ptr_array_add(qemu_addrs, addr);
    }
    const char *dir = shm_dir ? shm_dir : SHM_DEFAULT_DIR;
    if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
        fprintf(stderr, "vmscope-agent: --shm-dir %s: not a directory\n", dir);
        return 1;
    }

    Agent a = { .qemus = g_ptr_array_new_with_free_func((GDestroyNotify)agent_qemu_free) };
    int status = 0;
    a.loop = g_main_loop_new(NULL, FALSE);
    a.dispatcher = qmp_dispatcher_new();
    a.registry = agent_registry_new(shm_dir, emit_event, a.dispatcher);
    a.commands = agent_commands_new(a.dispatcher, a.registry);
    a.qmp = qmp_server_new(a.dispatcher, NULL);
    qmp_server_set_group(a.qmp, group);
    qmp_server_set_limits(a.qmp, 0, (size_t)max_output);
    qmp_server_set_drop_func(a.qmp, print_error, (void *)"qmp: ");
    agent_registry_set_watch_func(a.registry, anybody_listening, &a);
    agent_registry_set_error_func(a.registry, print_error, NULL);
    agent_registry_poll(a.registry);

    g_autofree char *default_addr = NULL;
    if (!qmp_addrs || !qmp_addrs[0]) {
        default_addr = default_qmp_address(&err);
        if (!default_addr) {
            fprintf(stderr, "vmscope-agent: qmp: %s\n", err->message);
            status = 1;
            goto out;
        }
    }
    const char *const default_list[] = { default_addr, NULL };
    for (const char *const *q = default_addr ? default_list : (const char *const *)qmp_addrs;
         *q; q++) {
        g_autofree char *bound = NULL;
        if (!qmp_server_listen(a.qmp, *q, &bound, &err)) {
            fprintf(stderr, "vmscope-agent: qmp: %s\n", err->message);
            status = 1;
            goto out;
        }
        printf("qmp: listening on %s\n", bound);
    }

    /* HTTP bridge starts here. */
    if (!no_http && !http_start(&a, http ? http : DEFAULT_HTTP, http != NULL, &err)) {
        fprintf(stderr, "vmscope-agent: http: %s\n", err->message);
        status = 1;
        goto out;
    }

    for (guint i = 0; i < qemu_names->len; i++) {
        AgentQemu *q = agent_qemu_new(g_ptr_array_index(qemu_names, i),
                                      g_ptr_array_index(qemu_addrs, i), NULL, emit_event,
                                      a.dispatcher);
        g_ptr_array_add(a.qemus, q);
        agent_commands_add_qemu(a.commands, q);
    }

    agent_registry_attach(a.registry, NULL);
    g_unix_signal_add(SIGINT, on_signal, &a);
    g_unix_signal_add(SIGTERM, on_signal, &a);
    g_main_loop_run(a.loop);
    qmp_server_flush(a.qmp, 1000);

out:
    http_stop(&a);
    qmp_server_free(a.qmp);
    agent_commands_free(a.commands);
    g_ptr_array_unref(a.qemus);
    agent_registry_free(a.registry);
    qmp_dispatcher_free(a.dispatcher);
    g_main_loop_unref(a.loop);
    return status;
}

/*
 * vmscope-agent: finds device hosts' shared-memory segments and answers
 * about their devices over QMP (and HTTP).
 *
 *   vmscope-agent [--qmp unix:PATH|tcp:HOST:PORT]... [--http HOST:PORT|--no-http]
 *                 [--shm-dir DIR] [--qemu NAME=unix:PATH]... [--qemu-dir DIR]
 *                 [--group GROUP] [--qmp-max-output BYTES]
 *                 [--qemu-desc NAME=FILE]... [--qemu-learn-with-ram]
 *                 [--qemu-max-age MS] [--qemu-interval MS]
 *
 * Thin: flags, wiring, the GLib main loop.  The registry (registry.h) finds
 * hosts and devices and sends events, the commands (commands.h) answer, the
 * QMP server (bridge/qmp-server.h) and the HTTP bridge carry both; QEMU
 * hosts come from --qemu (qemu-host.h) and --qemu-dir (qemu-dir.h).
 * Listening sockets passed by systemd serve the addresses they listen on
 * (activation.h), and systemd hears when the agent is ready (sd_notify).
 * Prints each address it serves ("qmp: listening on unix:/run/x.qmp") on
 * stdout, line-buffered; exits 0 on SIGINT or SIGTERM, 1 on a failure to
 * start, 2 on bad usage.  See docs/agent.md.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <glib-unix.h>
#include <systemd/sd-daemon.h>

#include "bridge/http-server.h"
#include "bridge/qmp-dispatch.h"
#include "bridge/qmp-server.h"
#include "activation.h"
#include "commands.h"
#include "qemu-dir.h"
#include "qemu-host.h"
#include "registry.h"
#include "vmscope/address.h"
#include "vmscope/cmdline.h"
#include "vmscope/error.h"
#include "vmscope/qemu-stream.h"
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
    GPtrArray *qemus;              /* AgentQemu *: --qemu */
    AgentQemuDir *qemu_dir;        /* --qemu-dir */
} Agent;

/* Events from the registry and the QEMU hosts go to every transport. */
static void emit_event(const char *name, QObject *data, void *opaque)
{
    qmp_dispatcher_emit_event(opaque, name, data);
}

/* --qemu-desc NAME=FILE: the host's descriptions from a stream with a vmdesc, or a vmdesc. */
static bool load_qemu_desc(GHashTable *descs, const char *arg, GError **errp)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1]) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "--qemu-desc '%s': expected NAME=FILE",
                    arg);
        return false;
    }
    g_autofree char *name = g_strndup(arg, (size_t)(eq - arg));
    g_autofree char *text = NULL;
    gsize len;
    if (!g_file_get_contents(eq + 1, &text, &len, errp)) {
        g_prefix_error(errp, "--qemu-desc: ");
        return false;
    }
    g_autoptr(GBytes) data = g_bytes_new_take(g_steal_pointer(&text), len);
    QObject *desc = qemu_stream_load_desc(data, errp);
    if (!desc) {
        g_prefix_error(errp, "--qemu-desc %s: ", eq + 1);
        return false;
    }
    g_hash_table_replace(descs, g_steal_pointer(&name), desc);
    return true;
}

/* Change detection walks device states only while somebody can hear about it. */
static bool anybody_listening(void *opaque)
{
    Agent *a = opaque;
    return qmp_server_client_count(a->qmp) > 0 ||
           (a->http && http_server_sse_client_count(a->http) > 0);
}

/*
 * Errors of the background polls (a directory cannot be listed, a bad
 * socket name) and clients the QMP server dropped (opaque: "qmp: ").
 */
static void print_error(const GError *err, void *opaque)
{
    fprintf(stderr, "vmscope-agent: %s%s\n", opaque ? (const char *)opaque : "", err->message);
}

/* Tell systemd (Type=notify) how the agent is doing; nothing without systemd. */
static void notify_systemd(const char *state)
{
    int r = sd_notify(0, state);
    if (r < 0) {
        fprintf(stderr, "vmscope-agent: cannot tell systemd %s: %s\n", state, g_strerror(-r));
    }
}

static gboolean on_signal(gpointer data)
{
    Agent *a = data;
    notify_systemd("STOPPING=1");
    g_main_loop_quit(a->loop);
    return G_SOURCE_CONTINUE;
}

/* A --qemu-dir socket came or goes: list it in query-hosts, or no longer. */
static void qemu_dir_changed(AgentQemu *q, bool added, void *opaque)
{
    Agent *a = opaque;
    if (added) {
        agent_commands_add_qemu(a->commands, q);
    } else {
        agent_commands_remove_qemu(a->commands, q);
    }
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

static void socket_unref(gpointer sock)
{
    if (sock) {
        g_object_unref(sock);
    }
}

/* Serve QMP at address: on passed, the socket systemd passed for it (taken), or on its own. */
static bool qmp_start(QmpServer *qmp, const char *address, GSocket *passed, char **bound,
                      GError **errp)
{
    if (!passed) {
        return qmp_server_listen(qmp, address, bound, errp);
    }
    g_autoptr(GSocketAddress) local = g_socket_get_local_address(passed, NULL);
    *bound = local ? address_to_string(local) : g_strdup(address);
    qmp_server_listen_socket(qmp, passed);
    return true;
}

/*
 * HTTP bridge starts here: the HTTP/JSON server (bridge/http-server.h)
 * serves a->dispatcher's commands and events at `address` and the
 * dashboard, and its event-stream clients count in anybody_listening().
 * An address given with --http must work; the default one may be taken
 * (another agent, say), and then the agent serves QMP only and says so.
 * passed: the socket systemd passed for the address, or NULL (taken).
 */
static bool http_start(Agent *a, const char *address, GSocket *passed, bool explicit,
                       GError **errp)
{
    g_autofree char *dashboard = http_dashboard_dir();
    GError *err = NULL;
    a->http = passed ? http_server_new_socket(a->dispatcher, passed, address, dashboard, NULL,
                                              &err)
                     : http_server_new(a->dispatcher, address, dashboard, &err);
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
    g_autofree char *http = NULL, *shm_dir = NULL, *qemu_dir = NULL, *group_name = NULL;
    gboolean no_http = FALSE, version = FALSE;
    gint64 max_output = 0;
    g_auto(GStrv) qemu_descs = NULL;
    gboolean learn_with_ram = FALSE;
    gint qemu_max_age = AGENT_QEMU_MAX_AGE_MS, qemu_interval = AGENT_QEMU_INTERVAL_MS;
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
        { "qemu-dir", 0, 0, G_OPTION_ARG_FILENAME, &qemu_dir,
          "Also list a QEMU for each QMP monitor socket in DIR, named after the socket", "DIR" },
        { "qemu-desc", 0, 0, G_OPTION_ARG_STRING_ARRAY, &qemu_descs,
          "Decode QEMU host NAME's devices with the descriptions in FILE (a migration stream "
          "of the same QEMU and machine with its vmdesc, or a vmdesc JSON)", "NAME=FILE" },
        { "qemu-learn-with-ram", 0, 0, G_OPTION_ARG_NONE, &learn_with_ram,
          "Learn descriptions by a one-time migration into the agent even when the guest RAM "
          "is not shared (all of it is sent, and discarded)", NULL },
        { "qemu-max-age", 0, 0, G_OPTION_ARG_INT, &qemu_max_age,
          "Take a new QEMU snapshot for a request when the last is older than MS (default 1000)",
          "MS" },
        { "qemu-interval", 0, 0, G_OPTION_ARG_INT, &qemu_interval,
          "While clients listen to events, snapshot QEMU hosts every MS (default 2000)", "MS" },
        { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
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
    if (version) {
        printf("vmscope-agent %s\n", PACKAGE_VERSION);
        return 0;
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
    if (qemu_max_age < 0) {
        return usage_error("--qemu-max-age: MS must not be negative");
    }
    if (qemu_interval < 10) {
        return usage_error("--qemu-interval: MS must be at least 10");
    }
    g_autoptr(GHashTable) descs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                                        (GDestroyNotify)qobject_unref);
    for (char **d = qemu_descs; d && *d; d++) {
        if (!load_qemu_desc(descs, *d, &err)) {
            fprintf(stderr, "vmscope-agent: %s\n", err->message);
            return 1;
        }
    }
    const char *dir = shm_dir ? shm_dir : SHM_DEFAULT_DIR;
    if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
        fprintf(stderr, "vmscope-agent: --shm-dir %s: not a directory\n", dir);
        return 1;
    }
    if (qemu_dir && !g_file_test(qemu_dir, G_FILE_TEST_IS_DIR)) {
        fprintf(stderr, "vmscope-agent: --qemu-dir %s: not a directory\n", qemu_dir);
        return 1;
    }
    g_autoptr(AgentActivation) activation = agent_activation_new(&err);
    if (!activation) {
        fprintf(stderr, "vmscope-agent: %s\n", err->message);
        return 1;
    }

    Agent a = { .qemus = g_ptr_array_new_with_free_func((GDestroyNotify)agent_qemu_free) };
    int status = 0;
    const AgentQemuOptions qemu_options = {
        .max_age_ms = qemu_max_age,
        .interval_ms = qemu_interval,
        .descs = descs,
        .learn_with_ram = learn_with_ram,
        .watch = anybody_listening,
        .watch_opaque = &a,
    };
    g_autoptr(GPtrArray) qmp_passed = g_ptr_array_new_with_free_func(socket_unref);
    g_autoptr(GSocket) http_passed = NULL;
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
    const char *const *qmp_list = default_addr ? default_list : (const char *const *)qmp_addrs;
    const char *http_addr = http ? http : DEFAULT_HTTP;

    /* Sockets systemd passed serve the addresses they listen on; each must serve one. */
    for (const char *const *q = qmp_list; *q; q++) {
        g_ptr_array_add(qmp_passed, agent_activation_take(activation, *q, false));
    }
    http_passed = no_http ? NULL : agent_activation_take(activation, http_addr, true);
    if (!agent_activation_check_taken(activation, &err)) {
        fprintf(stderr, "vmscope-agent: %s\n", err->message);
        status = 1;
        goto out;
    }
    for (guint i = 0; qmp_list[i]; i++) {
        g_autofree char *bound = NULL;
        GSocket *passed = g_steal_pointer(&qmp_passed->pdata[i]);
        if (!qmp_start(a.qmp, qmp_list[i], passed, &bound, &err)) {
            fprintf(stderr, "vmscope-agent: qmp: %s\n", err->message);
            status = 1;
            goto out;
        }
        printf("qmp: listening on %s\n", bound);
    }

    /* HTTP bridge starts here. */
    if (!no_http && !http_start(&a, http_addr, g_steal_pointer(&http_passed), http != NULL, &err)) {
        fprintf(stderr, "vmscope-agent: http: %s\n", err->message);
        status = 1;
        goto out;
    }

    for (guint i = 0; i < qemu_names->len; i++) {
        AgentQemu *q = agent_qemu_new(g_ptr_array_index(qemu_names, i),
                                      g_ptr_array_index(qemu_addrs, i), NULL, emit_event,
                                      a.dispatcher, &qemu_options);
        g_ptr_array_add(a.qemus, q);
        agent_commands_add_qemu(a.commands, q);
    }
    if (qemu_dir) {
        a.qemu_dir = agent_qemu_dir_new(qemu_dir, NULL, emit_event, a.dispatcher,
                                        qemu_dir_changed, &a);
        agent_qemu_dir_set_error_func(a.qemu_dir, print_error, NULL);
        agent_qemu_dir_set_options(a.qemu_dir, &qemu_options);
        agent_qemu_dir_poll(a.qemu_dir);
    }

    agent_registry_attach(a.registry, NULL);
    g_unix_signal_add(SIGINT, on_signal, &a);
    g_unix_signal_add(SIGTERM, on_signal, &a);
    notify_systemd("READY=1");
    g_main_loop_run(a.loop);
    qmp_server_flush(a.qmp, 1000);

out:
    http_stop(&a);
    qmp_server_free(a.qmp);
    g_clear_pointer(&a.qemu_dir, agent_qemu_dir_free);
    agent_commands_free(a.commands);
    g_ptr_array_unref(a.qemus);
    agent_registry_free(a.registry);
    qmp_dispatcher_free(a.dispatcher);
    g_main_loop_unref(a.loop);
    return status;
}

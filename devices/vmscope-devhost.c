/*
 * vmscope-devhost: run reference devices in shared memory, speak QMP,
 * migrate.  Thin: flags, then devhost.h + devhost-qmp.h + migration.h on
 * one GLib main loop.  docs/devhost.md describes it.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <glib-unix.h>

#include "bridge/qmp-server.h"
#include "devhost-qmp.h"
#include "devhost.h"
#include "migration.h"
#include "vmscope/cmdline.h"
#include "vmscope/error.h"
#include "vmscope/vmstate.h"

static char *opt_name;
static char *opt_devices;
static char **opt_qmp;
static char *opt_incoming;
static gboolean opt_paused;
static char **opt_versions;
static char *opt_shm_dir;
static char *opt_group;
static char *opt_filter;
static int opt_tick_ms = DEVICE_TICK_MS;
static gboolean opt_list_devices;
static char *opt_dump_vmstate;
static gboolean opt_version;

static GMainLoop *loop;

static void quit_loop(void *opaque)
{
    g_main_loop_quit(loop);
}

static gboolean on_signal(gpointer opaque)
{
    QObject *data = qdict_new();
    qdict_put(data, "guest", qbool_from_bool(false));
    qdict_put(data, "reason", qstring_from_str("host-signal"));
    qmp_dispatcher_emit_event(opaque, "SHUTDOWN", data);
    g_main_loop_quit(loop);
    return G_SOURCE_CONTINUE;
}

static int fail(const char *msg)
{
    g_printerr("vmscope-devhost: %s\n", msg);
    return 1;
}

/* "Device types: mc146818rtc (id rtcN), serial (serialN), ..." from the device table. */
static char *device_types_help(void)
{
    GString *s = g_string_new("Device types:");
    size_t line_start = 0;
    for (const DeviceType *const *t = device_types; *t; t++) {
        g_autofree char *item = g_strdup_printf("%s (%s%sN)%s", (*t)->name,
                                                t == device_types ? "id " : "",
                                                (*t)->short_name, t[1] ? "," : ".");
        if (s->len - line_start + 1 + strlen(item) > 79) {
            g_string_append_c(s, '\n');
            line_start = s->len;
        } else {
            g_string_append_c(s, ' ');
        }
        g_string_append(s, item);
    }
    g_string_append_c(s, '\n');
    return g_string_free(s, FALSE);
}

/* --list-devices: the devices devhost_new would create, one JSON array. */
static int list_devices(const DevHostConfig *config)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) plan = devhost_plan(config, &err);
    if (!plan) {
        return fail(err->message);
    }
    g_autoptr(QObject) list = qlist_new();
    for (guint i = 0; i < plan->len; i++) {
        const DevHostDevice *d = plan->pdata[i];
        QObject *o = qdict_new();
        qdict_put(o, "id", qstring_from_str(d->id));
        qdict_put(o, "type", qstring_from_str(d->type->name));
        qdict_put(o, "section", qstring_from_str(d->vmsd->name));
        qdict_put(o, "instance-id", qnum_from_uint(d->instance_id));
        qdict_put(o, "version-id", qnum_from_int(d->vmsd->version_id));
        qlist_append(list, o);
    }
    g_autofree char *json = qobject_to_json(list, false);
    printf("%s\n", json);
    return 0;
}

/* A heap that has no room: models cope (see DeviceHeap). */
static uint64_t no_heap_alloc(void *opaque, size_t n)
{
    return 0;
}

/*
 * --dump-vmstate FILE: the descriptions of the device types the other flags
 * ask for (at their --device-version), in QEMU's -dump-vmstate JSON with
 * field types, one member per type, and the `_equal` values of a freshly
 * started device of the type (instance 0, vmstate_dump_add_state); the file
 * is replaced whole or not at all.
 */
static int dump_vmstate(const DevHostConfig *config, const char *path)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) plan = devhost_plan(config, &err);
    if (!plan) {
        return fail(err->message);
    }
    g_autoptr(QObject) dump = vmstate_dump_new(MIGRATION_MACHINE);
    for (guint i = 0; i < plan->len; i++) {
        const DevHostDevice *d = g_ptr_array_index(plan, i);
        DeviceHeap heap = { .alloc = no_heap_alloc };
        g_autofree uint8_t *state = g_malloc0(d->type->state_size);
        d->type->init(state, 0, &heap);
        vmstate_dump_add_state(dump, d->type->name, d->vmsd, state, VMSTATE_DUMP_TYPES);
    }
    g_autofree char *json = qobject_to_json(dump, true);
    g_autofree char *text = g_strconcat(json, "\n", NULL);
    if (!g_file_set_contents(path, text, -1, &err)) {
        g_autofree char *msg = g_strdup_printf("--dump-vmstate: %s", err->message);
        return fail(msg);
    }
    return 0;
}

static void print_error(const GError *err, void *opaque)
{
    fail(err->message);
}

/* A QMP client the server disconnected (it did not read its output). */
static void print_dropped(const GError *why, void *opaque)
{
    fprintf(stderr, "vmscope-devhost: qmp: %s\n", why->message);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);

    g_autofree char *devices_help = g_strdup_printf(
        "Devices to run, TYPE or TYPE:COUNT separated by commas (default: %s)",
        device_default_list());
    const GOptionEntry entries[] = {
        { "name", 0, 0, G_OPTION_ARG_STRING, &opt_name,
          "Host name: the segment is SHM-DIR/vmscope-NAME (required)", "NAME" },
        { "devices", 0, 0, G_OPTION_ARG_STRING, &opt_devices, devices_help, "LIST" },
        { "list-devices", 0, 0, G_OPTION_ARG_NONE, &opt_list_devices,
          "Print the devices the other flags ask for, as JSON (id, type, section, instance-id, "
          "version-id), and exit", NULL },
        { "qmp", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_qmp,
          "QMP monitor on unix:PATH or tcp:HOST:PORT (port 0 picks one); may be repeated", "ADDR" },
        { "incoming", 0, 0, G_OPTION_ARG_STRING, &opt_incoming,
          "Wait for an incoming migration on unix:PATH or tcp:HOST:PORT", "ADDR" },
        { "start-paused", 'S', 0, G_OPTION_ARG_NONE, &opt_paused,
          "Start with the devices frozen until 'cont' (also after an incoming migration)", NULL },
        { "device-version", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_versions,
          "Run the devices of TYPE at version N of their description; may be repeated", "TYPE=N" },
        { "filter", 0, 0, G_OPTION_ARG_FILENAME, &opt_filter,
          "Put incoming migrations through the tree filters in RULES (docs/filters.md)",
          "RULES" },
        { "shm-dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_shm_dir,
          "Directory of the segment (default: /dev/shm)", "DIR" },
        { "tick-ms", 0, 0, G_OPTION_ARG_INT, &opt_tick_ms,
          "Milliseconds between device ticks (default: 100)", "N" },
        { "group", 0, 0, G_OPTION_ARG_STRING, &opt_group,
          "Let GROUP read the segment (mode 0640) and use the Unix sockets (0660); "
          "default: the segment 0640 less the umask with the process's group, sockets 0600",
          "GROUP" },
        { "dump-vmstate", 0, 0, G_OPTION_ARG_FILENAME, &opt_dump_vmstate,
          "Write the descriptions of the devices the other flags ask for to FILE, in QEMU's "
          "-dump-vmstate JSON (with field types), and exit", "FILE" },
        { "version", 0, 0, G_OPTION_ARG_NONE, &opt_version, "Print the version and exit", NULL },
        { NULL }
    };
    g_autofree char *types_help = device_types_help();
    g_autofree char *description = g_strconcat(types_help,
        "QMP: qmp_capabilities, query-version, query-commands, query-status, stop,\n"
        "cont, quit, migrate, migrate_cancel, query-migrate, migrate-set-capabilities,\n"
        "query-migrate-capabilities.  See docs/devhost.md, docs/migration.md and\n"
        "docs/filters.md.\n", NULL);
    g_autoptr(GOptionContext) oc = g_option_context_new("- run vmscope's reference devices");
    g_option_context_add_main_entries(oc, entries, NULL);
    g_option_context_set_description(oc, description);
    g_autoptr(GError) err = NULL;
    if (!g_option_context_parse(oc, &argc, &argv, &err)) {
        return fail(err->message);
    }
    if (argc > 1) {
        g_autofree char *msg = g_strdup_printf("unexpected argument '%s'", argv[1]);
        return fail(msg);
    }
    if (opt_version) {
        printf("vmscope-devhost %s\n", PACKAGE_VERSION);
        return 0;
    }
    if (opt_list_devices || opt_dump_vmstate) {
        DevHostConfig wanted = {
            .devices = opt_devices, .versions = (const char *const *)opt_versions,
        };
        return opt_list_devices ? list_devices(&wanted) : dump_vmstate(&wanted, opt_dump_vmstate);
    }
    if (!opt_name) {
        return fail("--name is required");
    }
    if (opt_tick_ms < 1 || opt_tick_ms > 60000) {
        return fail("--tick-ms: N must be a number from 1 to 60000");
    }
    gid_t group = (gid_t)-1;
    if (opt_group && !cmdline_group("--group", opt_group, &group, &err)) {
        return fail(err->message);
    }

    g_autoptr(Filter) filter = opt_filter ? filter_load_file(opt_filter, &err) : NULL;
    if (opt_filter && !filter) {
        g_autofree char *msg = g_strdup_printf("--filter: %s", err->message);
        return fail(msg);
    }

    DevHostConfig config = {
        .name = opt_name, .shm_dir = opt_shm_dir, .devices = opt_devices,
        .versions = (const char *const *)opt_versions,
        .group = opt_group ? &group : NULL,
    };
    DevHostRunState initial = opt_incoming ? DEVHOST_INMIGRATE
                            : opt_paused ? DEVHOST_PRELAUNCH : DEVHOST_RUNNING;
    g_autoptr(DevHost) h = devhost_new(&config, initial, &err);
    if (!h) {
        return fail(err->message);
    }
    devhost_set_error_func(h, print_error, NULL);
    loop = g_main_loop_new(NULL, FALSE);
    g_autoptr(QmpDispatcher) d = qmp_dispatcher_new();
    g_autoptr(Migration) m = migration_new(h, NULL, devhost_monitor_emit, d);
    migration_set_autostart(m, !opt_paused);
    migration_set_filter(m, g_steal_pointer(&filter));
    g_autoptr(DevHostMonitor) mon = devhost_monitor_new(d, h, m, quit_loop, NULL);
    g_autoptr(QmpServer) server = qmp_server_new(d, NULL);
    qmp_server_set_group(server, group);
    qmp_server_set_drop_func(server, print_dropped, NULL);

    printf("segment: %s\n", devhost_segment_path(h));
    for (char **a = opt_qmp; a && *a; a++) {
        g_autofree char *bound = NULL;
        if (!qmp_server_listen(server, *a, &bound, &err)) {
            return fail(err->message);
        }
        printf("qmp: listening on %s\n", bound);
    }
    if (opt_incoming) {
        g_autofree char *bound = NULL;
        if (!migration_listen_incoming(m, opt_incoming, group, &bound, &err)) {
            return fail(err->message);
        }
        printf("incoming: listening on %s\n", bound);
    }

    devhost_attach(h, NULL, (unsigned)opt_tick_ms);
    guint sigint = g_unix_signal_add(SIGINT, on_signal, d);
    guint sigterm = g_unix_signal_add(SIGTERM, on_signal, d);
    g_main_loop_run(loop);

    /* Signals stay handled until the end: a second SIGTERM must not cut the cleanup short. */
    g_clear_pointer(&m, migration_free);       /* ends a migration under way */
    qmp_server_flush(server, 1000);
    g_clear_pointer(&server, qmp_server_free);
    g_clear_pointer(&mon, devhost_monitor_free);
    g_clear_pointer(&h, devhost_free);          /* removes the segment */
    /*
     * Cleanup is done and the exit status is 0 whatever comes now.  Removing
     * the last GLib source of a signal restores its default action (GLib
     * sets SIG_DFL then, whatever was set before), so a late SIGTERM would
     * turn a clean exit into death by signal: block them first; a blocked
     * signal stays pending and dies with the process.
     */
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGINT);
    sigaddset(&term, SIGTERM);
    sigprocmask(SIG_BLOCK, &term, NULL);
    g_source_remove(sigint);
    g_source_remove(sigterm);
    g_main_loop_unref(loop);
    g_free(opt_name);
    g_free(opt_devices);
    g_strfreev(opt_qmp);
    g_free(opt_incoming);
    g_strfreev(opt_versions);
    g_free(opt_shm_dir);
    g_free(opt_group);
    g_free(opt_filter);
    return 0;
}

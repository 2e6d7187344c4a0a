/* The QMP monitor of a device host: see devhost-qmp.h. */
#include "config.h"

#include "devhost-qmp.h"
#include "vmscope/error.h"

struct DevHostMonitor {
    QmpDispatcher *d;
    DevHost *h;
    Migration *m;
    DevHostQuitFunc quit;
    void *quit_opaque;
};

void devhost_monitor_emit(const char *event, QObject *data, void *opaque)
{
    qmp_dispatcher_emit_event(opaque, event, data);
}

/* STOP when the devices stop running, RESUME when they start, as QEMU's vm_stop/vm_start. */
static void on_run_state(DevHostRunState old_state, DevHostRunState new_state, void *opaque)
{
    DevHostMonitor *mon = opaque;
    if (old_state == DEVHOST_RUNNING) {
        qmp_dispatcher_emit_event(mon->d, "STOP", NULL);
    } else if (new_state == DEVHOST_RUNNING) {
        qmp_dispatcher_emit_event(mon->d, "RESUME", NULL);
    }
}

static bool cmd_query_status(QObject *args, QObject **ret, void *opaque, GError **errp)
{
    DevHostMonitor *mon = opaque;
    DevHostRunState state = devhost_run_state(mon->h);
    QObject *r = qdict_new();
    qdict_put(r, "status", qstring_from_str(devhost_run_state_name(state)));
    qdict_put(r, "singlestep", qbool_from_bool(false));
    qdict_put(r, "running", qbool_from_bool(state == DEVHOST_RUNNING));
    *ret = r;
    return true;
}

static bool cmd_stop(QObject *args, QObject **ret, void *opaque, GError **errp)
{
    DevHostMonitor *mon = opaque;
    switch (devhost_run_state(mon->h)) {
    case DEVHOST_INMIGRATE:
        migration_set_autostart(mon->m, false);
        break;
    case DEVHOST_FINISH_MIGRATE:
        migration_set_resume_state(mon->m, DEVHOST_PAUSED);
        break;
    case DEVHOST_RUNNING:
        devhost_set_run_state(mon->h, DEVHOST_PAUSED);
        break;
    default:
        break;
    }
    return true;
}

static bool cmd_cont(QObject *args, QObject **ret, void *opaque, GError **errp)
{
    DevHostMonitor *mon = opaque;
    switch (devhost_run_state(mon->h)) {
    case DEVHOST_INMIGRATE:
        migration_set_autostart(mon->m, true);
        break;
    case DEVHOST_FINISH_MIGRATE:
        migration_set_resume_state(mon->m, DEVHOST_RUNNING);
        break;
    default:
        devhost_set_run_state(mon->h, DEVHOST_RUNNING);
        break;
    }
    return true;
}

static bool cmd_quit(QObject *args, QObject **ret, void *opaque, GError **errp)
{
    DevHostMonitor *mon = opaque;
    QObject *data = qdict_new();
    qdict_put(data, "guest", qbool_from_bool(false));
    qdict_put(data, "reason", qstring_from_str("host-qmp-quit"));
    qmp_dispatcher_emit_event(mon->d, "SHUTDOWN", data);
    if (mon->quit) {
        mon->quit(mon->quit_opaque);
    }
    return true;
}

static bool cmd_migrate(QObject *args, QObject **ret, void *opaque, GError **errp)
{
    DevHostMonitor *mon = opaque;
    return migration_start(mon->m, qdict_get_str(args, "uri"), errp);
}

static bool cmd_migrate_cancel(QObject *args, QObject **ret, void *opaque, GError **errp)
{
    DevHostMonitor *mon = opaque;
    migration_cancel(mon->m);
    return true;
}

static bool cmd_query_migrate(QObject *args, QObject **ret, void *opaque, GError **errp)
{
    DevHostMonitor *mon = opaque;
    *ret = migration_query(mon->m);
    return true;
}

static bool cmd_set_caps(QObject *args, QObject **ret, void *opaque, GError **errp)
{
    DevHostMonitor *mon = opaque;
    return migration_set_capabilities(mon->m, qdict_get(args, "capabilities"), errp);
}

static bool cmd_query_caps(QObject *args, QObject **ret, void *opaque, GError **errp)
{
    DevHostMonitor *mon = opaque;
    *ret = migration_query_capabilities(mon->m);
    return true;
}

DevHostMonitor *devhost_monitor_new(QmpDispatcher *d, DevHost *h, Migration *m,
                                    DevHostQuitFunc quit, void *opaque)
{
    static const QmpArgSpec migrate_args[] = {
        { "uri", QMP_ARG_STR, false },
        { "detach", QMP_ARG_BOOL, true },        /* QEMU ignores it too */
        QMP_ARGS_END
    };
    static const QmpArgSpec caps_args[] = {
        { "capabilities", QMP_ARG_ARRAY, false },
        QMP_ARGS_END
    };
    DevHostMonitor *mon = g_new0(DevHostMonitor, 1);
    mon->d = d;
    mon->h = h;
    mon->m = m;
    mon->quit = quit;
    mon->quit_opaque = opaque;
    devhost_set_state_listener(h, on_run_state, mon);

    qmp_dispatcher_register_query_version(d);
    qmp_dispatcher_register_query_commands(d);
    qmp_dispatcher_register(d, "query-status", NULL, cmd_query_status, mon);
    qmp_dispatcher_register(d, "stop", NULL, cmd_stop, mon);
    qmp_dispatcher_register(d, "cont", NULL, cmd_cont, mon);
    qmp_dispatcher_register(d, "quit", NULL, cmd_quit, mon);
    qmp_dispatcher_register(d, "migrate", migrate_args, cmd_migrate, mon);
    qmp_dispatcher_register(d, "migrate_cancel", NULL, cmd_migrate_cancel, mon);
    qmp_dispatcher_register(d, "query-migrate", NULL, cmd_query_migrate, mon);
    qmp_dispatcher_register(d, "migrate-set-capabilities", caps_args, cmd_set_caps, mon);
    qmp_dispatcher_register(d, "query-migrate-capabilities", NULL, cmd_query_caps, mon);
    return mon;
}

void devhost_monitor_free(DevHostMonitor *mon)
{
    if (!mon) {
        return;
    }
    devhost_set_state_listener(mon->h, NULL, NULL);
    static const char *const names[] = {
        "query-status", "stop", "cont", "quit", "migrate", "migrate_cancel", "query-migrate",
        "migrate-set-capabilities", "query-migrate-capabilities",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        qmp_dispatcher_unregister(mon->d, names[i]);
    }
    g_free(mon);
}

/*
 * The QMP monitor of a device host: QEMU's run-control and migration
 * commands, answered as QEMU 7.2 answers them (docs/devhost.md lists them
 * with their exact answers):
 *
 *   query-status    {"status": RUNSTATE, "singlestep": false, "running": BOOL}
 *   stop, cont      freeze / run the devices; STOP and RESUME events follow
 *                   every change of the run state (not only these commands)
 *   quit            SHUTDOWN {"guest": false, "reason": "host-qmp-quit"},
 *                   then the quit function runs
 *   migrate {uri, detach?}, migrate_cancel, query-migrate,
 *   migrate-set-capabilities {capabilities}, query-migrate-capabilities
 *                   see migration.h
 *   query-version, query-commands   the dispatcher's built-ins
 *
 * stop and cont while waiting for an incoming migration decide whether the
 * host runs once it has loaded (as QEMU's autostart); during an outgoing
 * migration they decide the state it returns to if the migration fails.
 */
#ifndef VMSCOPE_DEVICES_DEVHOST_QMP_H
#define VMSCOPE_DEVICES_DEVHOST_QMP_H

#include "bridge/qmp-dispatch.h"
#include "devhost.h"
#include "migration.h"

typedef void (*DevHostQuitFunc)(void *opaque);

typedef struct DevHostMonitor DevHostMonitor;

/* Register the commands on d (borrowed, as are h and m: they outlive the monitor). */
DevHostMonitor *devhost_monitor_new(QmpDispatcher *d, DevHost *h, Migration *m,
                                    DevHostQuitFunc quit, void *opaque);
void devhost_monitor_free(DevHostMonitor *mon);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DevHostMonitor, devhost_monitor_free)

/* A MigrationEventFunc that sends the event to the dispatcher `opaque`. */
void devhost_monitor_emit(const char *event, QObject *data, void *opaque);

#endif

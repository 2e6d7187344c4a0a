/*
 * Real QEMU processes as hosts of the agent: `vmscope-agent --qemu
 * NAME=unix:PATH` lists the QEMU whose QMP monitor is at PATH in query-hosts
 * as {"name", "kind": "qemu", "pid": 0, "alive", "qmp", "status",
 * "devices": 0, "generation": 0} (plus "error" while it cannot be reached),
 * status being what QEMU's query-status says ("running", "paused", ...).
 * QEMU's device state is not exposed (no devices are listed for it): QEMU
 * has no shared-memory segment, and its migration stream is another tool's
 * business (vmscope-view stream).
 *
 * A QEMU -qmp socket serves one client at a time, so the agent does not
 * hold it: a worker thread connects every AGENT_QEMU_POLL_MS, asks
 * query-status and disconnects, leaving the monitor free in between.  The
 * main loop looks at the result every AGENT_POLL_MS and sends HOST_LOST
 * {"host", "reason"} when a QEMU that answered stops answering.
 *
 * The worker asks query-migrate too, and counts the migrations it sees
 * fail (the status turns "failed"; one that fails and is retried within a
 * poll is missed) for /metrics (vmscope_qemu_migrations_failed_total).
 */
#ifndef VMSCOPE_AGENT_QEMU_HOST_H
#define VMSCOPE_AGENT_QEMU_HOST_H

#include <stdbool.h>
#include <glib.h>

#include "registry.h"

#define AGENT_QEMU_POLL_MS 1000

typedef struct AgentQemu AgentQemu;

/*
 * "NAME=unix:PATH" (or tcp:HOST:PORT): NAME a valid host name, the address
 * valid.  Errors: "--qemu 'x': expected NAME=ADDRESS".
 */
bool agent_qemu_parse_option(const char *arg, char **name, char **address, GError **errp);

/* Start watching the QEMU at address; events go to emit, from ctx's thread. */
AgentQemu *agent_qemu_new(const char *name, const char *address, GMainContext *ctx,
                          AgentEventFunc emit, void *opaque);
/* Stops the worker (waits at most for one query in flight). */
void agent_qemu_free(AgentQemu *q);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgentQemu, agent_qemu_free)

/* Its query-hosts entry (new reference). */
QObject *agent_qemu_host_info(AgentQemu *q);
bool agent_qemu_alive(AgentQemu *q);
const char *agent_qemu_name(const AgentQemu *q);
/* Migrations seen failing since the agent started watching. */
uint64_t agent_qemu_migrations_failed(AgentQemu *q);
/*
 * The QEMU is gone for good (its socket was removed, see qemu-dir.h):
 * HOST_LOST {"host", "reason"} now, unless it was never alive or was
 * already reported lost.  Main loop only.
 */
void agent_qemu_lost(AgentQemu *q, const char *reason);

#endif

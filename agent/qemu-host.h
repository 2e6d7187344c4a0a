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

#endif

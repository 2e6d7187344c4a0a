/*
 * The agent's QMP commands, registered on a QmpDispatcher so that every
 * transport (the QMP server, the HTTP bridge) runs the same code:
 *
 *   query-version, query-commands      as QEMU's (vmscope's version)
 *   query-hosts                        device hosts (and --qemu hosts)
 *   query-devices                      every device of every live host
 *   query-device-state {path, format?}  format: a name in the format table
 *                                      (vmscope/format.h), json by default
 *   query-device-schema {path}
 *   query-agent-stats                  counters for /metrics
 *
 * Result shapes are in docs/qmp.md ("vmscope-agent").  Device paths are
 * "/HOST/ID".  Errors (desc texts exact):
 *   DeviceNotFound  "Device '/h1/nope' not found"
 *   GenericError    "Invalid device path 'h1': expected /HOST/ID"
 *                   "Invalid device path '/h 1/x': invalid host name 'h 1'"
 *                   "Invalid device path '/h1/a b': invalid device id 'a b'"
 *                   "Parameter 'format' does not accept value 'xml'"
 *                   a device that cannot be read: the segment reader's or
 *                   the description's error ("vmscope-h1: device 'x': ...")
 * Argument errors (missing, unexpected, wrong type) are the dispatcher's,
 * in QEMU's words.
 */
#ifndef VMSCOPE_AGENT_COMMANDS_H
#define VMSCOPE_AGENT_COMMANDS_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "bridge/qmp-dispatch.h"
#include "qemu-host.h"
#include "registry.h"

typedef struct AgentCommands AgentCommands;

/* Register the commands on d; they answer from reg (both borrowed, must outlive it). */
AgentCommands *agent_commands_new(QmpDispatcher *d, AgentRegistry *reg);
void agent_commands_free(AgentCommands *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgentCommands, agent_commands_free)

/* List a QEMU connection in query-hosts (borrowed: must outlive c, or be removed). */
void agent_commands_add_qemu(AgentCommands *c, AgentQemu *q);
/* No longer list it (its failed migrations stay counted). */
void agent_commands_remove_qemu(AgentCommands *c, AgentQemu *q);

/* Commands run so far (every command but qmp_capabilities; QMP and HTTP alike). */
uint64_t agent_commands_requests(const AgentCommands *c);

/*
 * Split a device path "/HOST/ID" into its parts (g_free them), or fail with
 * one of the "Invalid device path" errors above (VMS_ERROR_INVALID).
 */
bool agent_device_path_parse(const char *path, char **host, char **id, GError **errp);

#endif

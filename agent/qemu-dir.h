/*
 * `vmscope-agent --qemu-dir DIR`: every Unix socket in DIR is a QEMU's QMP
 * monitor, watched as a QEMU host (qemu-host.h) named after the file: the
 * socket DIR/web1 is the host "web1", at unix:DIR/web1.  docs/qemu.md shows
 * how to give QEMU (and a libvirt domain) such a second monitor.
 *
 * DIR is listed every AGENT_QEMU_POLL_MS on the main loop:
 *   - a new socket adds its host (the changed function hears of it, with
 *     added true, to list it);
 *   - a socket removed (QEMU removes its socket when it exits) drops its
 *     host: HOST_LOST {"host", "reason"} if it was answering, then the
 *     changed function with added false, then the host is freed;
 *   - a socket left by a QEMU killed with SIGKILL stays: the host is
 *     listed with "alive": false until the file goes, and answers again
 *     when a new QEMU listens there.
 * Anything but a socket is ignored; a socket whose name is not a valid
 * host name (shm_host_name_valid) is skipped and told once through the
 * error function, as is a directory that cannot be listed.  Removing a
 * host waits for its worker, at most one query in flight (qemu-host.c's
 * timeout).
 */
#ifndef VMSCOPE_AGENT_QEMU_DIR_H
#define VMSCOPE_AGENT_QEMU_DIR_H

#include <stdbool.h>
#include <glib.h>

#include "qemu-host.h"
#include "registry.h"

typedef struct AgentQemuDir AgentQemuDir;

/* A host came (added) or is about to go (!added; freed right after). */
typedef void (*AgentQemuDirFunc)(AgentQemu *q, bool added, void *opaque);

/*
 * Watch dir (copied) on ctx (NULL: the global default context); the first
 * listing is the first agent_qemu_dir_poll (or the timer's).  The hosts
 * send their events to emit; changed hears of them coming and going.
 */
AgentQemuDir *agent_qemu_dir_new(const char *dir, GMainContext *ctx, AgentEventFunc emit,
                                 void *emit_opaque, AgentQemuDirFunc changed,
                                 void *changed_opaque);
/* Errors nobody asked for (unreadable directory, bad names), each told once. */
void agent_qemu_dir_set_error_func(AgentQemuDir *d, AgentErrorFunc fn, void *opaque);
/* List the directory now: what the timer does. */
void agent_qemu_dir_poll(AgentQemuDir *d);
/* Options for the QEMU hosts made from now on (borrowed: must outlive d). */
void agent_qemu_dir_set_options(AgentQemuDir *d, const AgentQemuOptions *opts);
/* Stops watching; every host goes (changed with added false), without events. */
void agent_qemu_dir_free(AgentQemuDir *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgentQemuDir, agent_qemu_dir_free)

#endif

/*
 * Real QEMU processes as hosts of the agent: `vmscope-agent --qemu
 * NAME=unix:PATH` (or --qemu-dir) shows the devices of the QEMU whose QMP
 * monitor is at PATH, live, named and typed, as it shows a device host's.
 *
 * The agent holds that monitor (QEMU serves one client per -qmp socket, so
 * the VM needs a monitor of the agent's own: docs/qemu.md).  A worker
 * thread keeps the connection: it asks query-status and query-migrate
 * every AGENT_QEMU_POLL_MS (and counts the migrations it sees fail for
 * /metrics), learns the device descriptions once (qemu-vm.h: a migration
 * into the agent when the guest RAM is shared, or with
 * AgentQemuOptions.learn_with_ram; or the descriptions given for the host,
 * `--qemu-desc NAME=FILE`), and, while someone listens to events, takes a
 * snapshot every `interval_ms` and sends DEVICE_STATE_CHANGED {"path",
 * "generation", "changed"} for the devices whose state changed.
 *
 * Snapshots are device-state saves (qemu-vm.h) decoded with the learned
 * descriptions through the stream code of `vmscope-view stream --desc`
 * (qemu-stream.h), with a QemuStreamCache, so that only sections whose
 * bytes changed are decoded again.  A request for state (query-devices,
 * query-device-state, query-device-schema) takes a snapshot first when the
 * last one is older than `max_age_ms`; requests in between share it.
 *
 * Devices are the FULL sections of the save, in stream order: path
 * "/NAME/ID", ID the section's name ("idstr", "idstr:N", "idstr#K" for the
 * K-th duplicate, qemu_stream_section_display_name) with every character
 * outside [A-Za-z0-9._-] turned into '-' (and "-2", "-3"... on a clash), so
 * it is the same from one snapshot to the next; type the vmsd name
 * (old-style sections: their idstr).  A section that is not decoded (an
 * old-style section, or one its description does not fit) is shown as
 * {"data": HEX} with "raw-reason"; a misfit makes the agent learn again
 * once (a QEMU whose devices changed).
 *
 * query-hosts: {"name", "kind": "qemu", "pid": 0, "alive", "qmp", "status",
 * "devices", "generation"} plus "error" while QEMU cannot be reached,
 * "reason" while its state cannot be read (a blocked migration, no
 * descriptions yet, QEMU refusing), and "pause-us" / "taken-at" of the last
 * snapshot.  HOST_LOST {"host", "reason"} when a QEMU that answered stops
 * answering; it is back when its socket answers again (descriptions are
 * then learned anew: it may be another QEMU).
 */
#ifndef VMSCOPE_AGENT_QEMU_HOST_H
#define VMSCOPE_AGENT_QEMU_HOST_H

#include <stdbool.h>
#include <glib.h>

#include "registry.h"
#include "vmscope/format.h"

#define AGENT_QEMU_POLL_MS 1000
#define AGENT_QEMU_MAX_AGE_MS 1000
#define AGENT_QEMU_INTERVAL_MS 2000

typedef struct AgentQemu AgentQemu;

typedef struct AgentQemuOptions {
    int max_age_ms;                /* 0: every request takes its own snapshot */
    int interval_ms;               /* at least 10 */
    GHashTable *descs;             /* host name -> QObject descriptions (--qemu-desc); may be NULL */
    bool learn_with_ram;           /* learn by migration even when the RAM is not shared */
    AgentWatchFunc watch;          /* does anybody listen to events? NULL: always */
    void *watch_opaque;
} AgentQemuOptions;

/*
 * "NAME=unix:PATH" (or tcp:HOST:PORT): NAME a valid host name, the address
 * valid.  Errors: "--qemu 'x': expected NAME=ADDRESS".
 */
bool agent_qemu_parse_option(const char *arg, char **name, char **address, GError **errp);

/*
 * Start watching the QEMU at address; events go to emit, from ctx's thread.
 * opts: borrowed (NULL: AGENT_QEMU_MAX_AGE_MS, AGENT_QEMU_INTERVAL_MS).
 */
AgentQemu *agent_qemu_new(const char *name, const char *address, GMainContext *ctx,
                          AgentEventFunc emit, void *opaque, const AgentQemuOptions *opts);
/* Stops the worker (waits for what it is doing, a learning migration included, to end). */
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

/*
 * Its devices for query-devices, appended to list (after a snapshot if the
 * last is too old; while the monitor is busy, a learning migration say, the
 * last snapshot's).
 */
void agent_qemu_devices(AgentQemu *q, QObject *list);
/*
 * query-device-state of device id: {path, host, type, instance-id,
 * version-id, generation, state, section, section-id, taken-at, pause-us
 * (the VM stopped that long for the snapshot; 0 when it was not running),
 * snapshot-us (from asking QEMU to the decoded state)}, plus "raw-reason"
 * for a section shown as raw bytes, and the format's result member for a
 * format other than json.  VMS_ERROR_NOT_FOUND: no such device; other codes: the
 * reason the state cannot be read.
 */
bool agent_qemu_device_state(AgentQemu *q, const char *id, const VmsFormat *format,
                             QObject **ret, GError **errp);
/* query-device-schema: {path, type, version-id, schema}. */
bool agent_qemu_device_schema(AgentQemu *q, const char *id, bool json_schema, QObject **ret,
                              GError **errp);

/* Figures for /metrics, added into out. */
#define AGENT_QEMU_BUCKETS 12
typedef struct AgentQemuHistogram {
    uint64_t counts[AGENT_QEMU_BUCKETS + 1];   /* per bucket, the last one +Inf */
    double sum;
    uint64_t count;
} AgentQemuHistogram;
typedef struct AgentQemuStats {
    uint64_t snapshots;
    uint64_t snapshot_failures;
    AgentQemuHistogram pause;      /* seconds the VM was stopped per save */
    AgentQemuHistogram total;      /* seconds from asking to decoded state */
    AgentQemuHistogram bytes;      /* bytes QEMU saved */
} AgentQemuStats;
/* The buckets' upper bounds, and the same as the text of Prometheus' "le" labels. */
extern const double agent_qemu_seconds_bounds[AGENT_QEMU_BUCKETS];
extern const double agent_qemu_bytes_bounds[AGENT_QEMU_BUCKETS];
extern const char *const agent_qemu_seconds_le[AGENT_QEMU_BUCKETS];
extern const char *const agent_qemu_bytes_le[AGENT_QEMU_BUCKETS];
void agent_qemu_stats_add(AgentQemu *q, AgentQemuStats *out);

#endif

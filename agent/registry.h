/*
 * The agent's registry of device hosts and their devices, found in a
 * directory of shared-memory segments (/dev/shm by default).
 *
 * Discovery is by polling (agent_registry_poll, every AGENT_POLL_MS on the
 * main loop): the directory listing (shm_segment_list) says which segments
 * exist; each is opened read-only once (shm_reader_open) and then watched
 * through cheap reads: the owner's liveness, the directory generation, and
 * each device's update counter.  The directory is listed again only when
 * its generation moved.
 *
 * A host is in one of these states:
 *   live     the owner runs and the directory reads: its devices are listed
 *   broken   the segment cannot be opened or its directory fails the
 *            reader's checks: listed with "error" and no devices (a broken
 *            or hostile segment is an error for that host only)
 *   lost     the owner died without closing (kill -9): HOST_LOST once, its
 *            devices deleted, the host still listed with "alive": false
 *            until its segment file goes away or a new host replaces it
 *   closed   the owner closed its segment (clean exit): its devices are
 *            deleted and the host is no longer listed
 * A host whose segment file disappears is dropped (its devices deleted); a
 * segment replaced by a new one of the same name is a new host.
 *
 * Events (sent through the AgentEventFunc given at creation; data is a new
 * reference the function takes):
 *   DEVICE_ADDED   {"path", "host", "type"}
 *   DEVICE_DELETED {"path", "host"}
 *   HOST_LOST      {"host", "reason"}
 *   DEVICE_STATE_CHANGED {"path", "generation", "changed": [paths]}
 * State changes are found by comparing each device's update counter at
 * every poll; a device whose counter moved is walked and its state compared
 * with the one last reported (agent_state_diff), at most once per
 * AGENT_CHANGE_MIN_MS per device: changes in between fold into the next
 * event.  Walking costs, so it is done only while the watch function says
 * someone listens; otherwise only the counters are followed and the kept
 * states are dropped.  When listening starts, each device's current state
 * is taken as the reference for its next event.
 *
 * Descriptions are parsed and rebuilt once per device incarnation, lazily
 * (first state or schema request, or first change while watched).
 *
 * Threads: one, the main loop's.  Nothing here blocks for long: every read
 * of a segment is bounded by the reader's retry limit.
 */
#ifndef VMSCOPE_AGENT_REGISTRY_H
#define VMSCOPE_AGENT_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "vmscope/format.h"
#include "vmscope/qobject.h"

#define AGENT_POLL_MS 100          /* discovery and change detection period */
#define AGENT_CHANGE_MIN_MS 200    /* at most one DEVICE_STATE_CHANGED per device per this */
#define AGENT_CHANGE_SLICE_US 500  /* longest run of change walks between requests */

typedef struct AgentRegistry AgentRegistry;

/* An event to send: name and data (a new reference, taken). */
typedef void (*AgentEventFunc)(const char *name, QObject *data, void *opaque);
/* Does anybody listen to events now? */
typedef bool (*AgentWatchFunc)(void *opaque);

/* A registry of the segments in dir (NULL: /dev/shm).  Nothing is read yet. */
AgentRegistry *agent_registry_new(const char *dir, AgentEventFunc emit, void *opaque);
void agent_registry_free(AgentRegistry *reg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgentRegistry, agent_registry_free)

/* Without a watch function, state changes are always computed. */
void agent_registry_set_watch_func(AgentRegistry *reg, AgentWatchFunc fn, void *opaque);

/*
 * Errors no request is there to hear: the segment directory cannot be
 * listed.  Each is told once, when it first happens or changes (not at
 * every poll); the program prints it.  Without a function they are only
 * remembered.
 */
typedef void (*AgentErrorFunc)(const GError *err, void *opaque);
void agent_registry_set_error_func(AgentRegistry *reg, AgentErrorFunc fn, void *opaque);

/* One poll: hosts coming and going, directories, state changes. */
void agent_registry_poll(AgentRegistry *reg);
/* Run the queued change walks now, all of them (tests and benchmarks). */
void agent_registry_flush_changes(AgentRegistry *reg);
/* Only hosts and directories (what a request for an unknown device runs). */
void agent_registry_rescan(AgentRegistry *reg);

/* Poll every AGENT_POLL_MS on ctx (NULL: the default context); returns the source id. */
guint agent_registry_attach(AgentRegistry *reg, GMainContext *ctx);

/* query-hosts: a list of host dicts (new reference), sorted by name. */
QObject *agent_registry_hosts(AgentRegistry *reg);
/* query-devices: a list of device dicts (new reference). */
QObject *agent_registry_devices(AgentRegistry *reg);

/*
 * query-device-state for HOST/ID: {path, host, type, instance-id,
 * version-id, generation, state}, plus for a format other than json (NULL:
 * json) its result under vms_format_result_member() ("text" for pretty),
 * from the same read as the state.  Fails with VMS_ERROR_NOT_FOUND if there
 * is no such device (listed now), other codes when it cannot be read.
 */
bool agent_registry_device_state(AgentRegistry *reg, const char *host, const char *id,
                                 const VmsFormat *format, QObject **ret, GError **errp);
/*
 * query-device-schema: {path, type, version-id, schema}, the schema being
 * the device's description as JSON (vmstate_describe's) or, with
 * json_schema, a JSON Schema of its state (vmstate_json_schema).
 */
bool agent_registry_device_schema(AgentRegistry *reg, const char *host, const char *id,
                                  bool json_schema, QObject **ret, GError **errp);

typedef struct AgentRegistryStats {
    uint64_t hosts;                /* listed hosts, lost and broken ones included */
    uint64_t hosts_lost;           /* listed with "alive": false */
    uint64_t devices;              /* listed devices */
    uint64_t state_bytes;          /* their state sizes added up */
    uint64_t snapshots;            /* consistent reads, since the agent started */
    uint64_t snapshot_retries;     /* reads thrown away because the writer moved */
    uint64_t snapshot_failures;    /* reads given up ("state kept changing") */
} AgentRegistryStats;

void agent_registry_stats(AgentRegistry *reg, AgentRegistryStats *out);

#endif

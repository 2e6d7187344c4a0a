/*
 * Device state as the agent shows it: a device's description rebuilt from
 * the text its host published, a consistent walk of the live state, and the
 * difference between two walks.
 *
 * Descriptions.  A device host publishes, next to each device's state, the
 * JSON that vmstate_describe() made of its VMStateDescription.  The agent
 * has no C code for the device: agent_desc_new() parses that text and
 * rebuilds a walkable description with vmstate_from_description(), which
 * checks every offset and size against the state size, so the walk stays
 * inside the state whatever the text says.  A description is built once per
 * (host, device, description) and kept by the caller (the registry).
 *
 * Snapshots.  agent_snapshot_take() walks a copy of the state, read from
 * the segment file inside the device's seqlock (shm_reader_read): the
 * walk is thrown away and done again whenever the writer moved meanwhile,
 * so the result is one consistent state, never a mix of two updates.  The
 * walk goes through vmstate_save() with the QObject output visitor (the
 * "state") and/or the output visitor of a format from the format table
 * (the "result", vmscope/format.h); both come from the same consistent
 * read.  Segment-relative pointers in the state are checked against the
 * whole segment by the engine and the elements they point at copied from
 * the segment as the walk reaches them (VMStateContext.fetch =
 * shm_view_fetch).  Before walking, the directory entry read under the
 * seqlock must still be the one the description was built for (same state
 * size and description); if the device was replaced meanwhile the snapshot
 * fails with AGENT_SNAPSHOT_STALE (VMS_ERROR_NOT_FOUND) and the caller
 * refreshes its view of the host.
 *
 * Differences.  agent_state_diff() lists the paths whose values differ
 * between two states, in the notation of DEVICE_STATE_CHANGED and the
 * dashboard: struct members joined with ".", list elements as "[i]", so
 * "rx_total", "fifo.num", "items[1].rx_bytes", "testdev/extra.extra".  They
 * are the paths of qobject_diff() (vmscope/qobject.h): the deepest value
 * that differs; a member or element present on one side only is named
 * itself ("items[2]"), and so is a value whose type changed.  Paths come in
 * walk order (the new state's), then members that went away.
 */
#ifndef VMSCOPE_AGENT_SNAPSHOT_H
#define VMSCOPE_AGENT_SNAPSHOT_H

#include <stdbool.h>
#include <glib.h>

#include "vmscope/format.h"
#include "vmscope/qobject.h"
#include "vmscope/shm-segment.h"
#include "vmscope/vmstate.h"

typedef struct AgentDescShared AgentDescShared;

typedef struct AgentDesc {
    const VMStateDescription *vmsd; /* rebuilt from the text, checked against state_size */
    uint64_t state_size;
    uint64_t desc_offset;          /* where the text was in the segment: identifies */
    uint64_t desc_length;          /* the device incarnation it belongs to */
    AgentDescShared *shared;       /* owns vmsd, with every device of the same text */
} AgentDesc;

/*
 * Descriptions shared by text.  Devices of one type publish the same text,
 * and a rebuilt description costs tens of kB: ten thousand devices of a
 * few types share a few (the parsed text is not kept at all).  A cache
 * may go before the descriptions made with it.
 */
typedef struct AgentDescCache AgentDescCache;
AgentDescCache *agent_desc_cache_new(void);
void agent_desc_cache_free(AgentDescCache *cache);
/* Descriptions held in the cache (distinct texts and state sizes). */
guint agent_desc_cache_size(const AgentDescCache *cache);

/*
 * Build the description of a device listed as `info` from its text, or
 * take the one built already from the same text and state size (cache
 * NULL: always build).  Errors: "description: JSON parse error at offset
 * 3: ..." or vmstate_from_description's ("description.fields[0].type:
 * unknown type 'x'").
 */
AgentDesc *agent_desc_new(AgentDescCache *cache, const char *text, const ShmDeviceInfo *info,
                          GError **errp);
void agent_desc_free(AgentDesc *desc);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgentDesc, agent_desc_free)

/* What a snapshot produces. */
enum {
    AGENT_SNAPSHOT_STATE = 1 << 0,  /* the state as a QObject */
    AGENT_SNAPSHOT_RESULT = 1 << 1, /* the state in a format of the format table */
};

typedef struct AgentSnapshot {
    QObject *state;                /* AGENT_SNAPSHOT_STATE */
    GBytes *result;                /* AGENT_SNAPSHOT_RESULT: the format's output_take() */
    ShmDeviceInfo info;            /* the entry and generation that go with the walk */
} AgentSnapshot;

/* The device was replaced since its description was built (code VMS_ERROR_NOT_FOUND). */
#define AGENT_SNAPSHOT_STALE VMS_ERROR_NOT_FOUND

/*
 * Walk device `id` of reader r with desc, consistently (see above), for
 * what: AGENT_SNAPSHOT_STATE and/or AGENT_SNAPSHOT_RESULT, the latter
 * through format's output visitor (format is only read with
 * AGENT_SNAPSHOT_RESULT).  On failure *out is left empty and *errp says
 * why, prefixed by the segment and device ("vmscope-h1: device 'serial0':
 * serial.fifo: ...").
 */
bool agent_snapshot_take(ShmReader *r, const char *id, const AgentDesc *desc, unsigned what,
                         const VmsFormat *format, AgentSnapshot *out, GError **errp);
void agent_snapshot_clear(AgentSnapshot *snap);

/* The paths that differ from before to after (see above); g_ptr_array_unref it. */
GPtrArray *agent_state_diff(const QObject *before, const QObject *after);

#endif

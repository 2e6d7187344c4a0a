/*
 * Migration of a device host's state to another device host, in QEMU's
 * wire format or in BER (docs/migration.md has the whole story).
 *
 * Formats.  The "ber" migration capability (vmscope's own, after QEMU's in
 * query-migrate-capabilities) chooses BER (docs/ber.md): a source with it
 * on sends a BER stream, a destination with it on accepts only BER, one
 * with it off only QEMU's format; a stream in the other format is refused
 * by its first bytes, before any device is looked at.  Management tools
 * (vmscope-view migrate) turn it on at both ends when both list it.
 * query-migrate says "format": "qemu" or "ber".
 *
 * Streams (migration-stream.c).  migration_save_stream() writes every
 * device as one FULL section (idstr: the device's description name;
 * instance id: its index among the devices of its type; version: the
 * version it runs at) with QEMU's vmdesc after EOF, configuration machine
 * MIGRATION_MACHINE.  migration_load_stream() parses a stream, matches
 * each section to a device by name and instance id, loads EVERY section
 * into a scratch copy first (QEMUFile input visitor + vmstate_load at the
 * section's version, against the device's running description; the
 * elements of segment-pointer fields go to a private staging region), and
 * commits only when all have loaded: then it allocates the new heap blocks,
 * and swaps each device's state inside one seqlock update, freeing the
 * old blocks.  On any error nothing has changed.  Refused: a stream
 * newer than a device's version ("device serial0: the stream has serial
 * version 4, this host runs version 3"), older than its minimum, a section
 * for a device the host does not have, a device missing from the stream,
 * a section given twice, iterative sections (RAM), another machine, and
 * whatever the engine refuses (errors name the field and offset).
 *
 * Transport (migration.c), QEMU's URIs:
 *   unix:PATH, tcp:HOST:PORT   the source connects, sends the stream,
 *                              half-closes (SHUT_WR) and waits for the
 *                              destination's one-line JSON result:
 *                              {"status": "completed"} or
 *                              {"status": "failed", "error": "..."}
 *   exec:CMD                   /bin/sh -c CMD gets the stream on its
 *                              stdin; success is its exit status 0
 * The source's work happens in a worker thread; the main loop (and so QMP)
 * keeps running.  Run states: the source freezes its devices (state
 * "finish-migrate") once connected, saves them, and after success stays
 * frozen ("postmigrate"); after a failure it goes back to the state it
 * would have been in (running, or paused) with its state untouched.
 *
 * The destination (--incoming ADDRESS) listens, takes one connection at a
 * time, reads the whole stream (at most MIGRATION_MAX_STREAM bytes, giving
 * up after MIGRATION_IO_TIMEOUT_MS without data), loads it, answers with
 * the result line, and then runs (autostart) or stays paused (-S).  A
 * failed load leaves it waiting ("inmigrate") for another source, its
 * devices unchanged (QEMU would exit instead).
 *
 * Events (QMP "MIGRATION" {"status"}, only while the "events" capability
 * is on, as in QEMU) go through the event function given to
 * migration_new().  Threads: everything but the worker runs on the main
 * context given to migration_new().
 */
#ifndef VMSCOPE_DEVICES_MIGRATION_H
#define VMSCOPE_DEVICES_MIGRATION_H

#include <stdbool.h>
#include <glib.h>

#include "devhost.h"
#include "vmscope/filter.h"
#include "vmscope/qobject.h"

#define MIGRATION_MACHINE "vmscope-devhost"
#define MIGRATION_MAX_STREAM (256u << 20)     /* largest stream a destination takes */
#define MIGRATION_MAX_RESULT 65536            /* longest result line a source reads */
#define MIGRATION_CONNECT_TIMEOUT_MS 10000
#define MIGRATION_IO_TIMEOUT_MS 30000         /* no progress for this long: failed */

/* ---- streams --------------------------------------------------------------- */

/*
 * In BER (ber) the sections are the same, each state self-described
 * (ber-stream.h), without a vmdesc; loading it is type-checked against each
 * device's description ("device serial0: serial.divider: stream has uint16,
 * description expects uint32").  Loading refuses a stream that is not in
 * the format asked for (ber) first.
 */
GBytes *migration_save_stream(DevHost *h, bool ber, GError **errp);
bool migration_load_stream(DevHost *h, GBytes *stream, bool ber, GError **errp);
/*
 * The same through tree filters (vmscope-devhost --filter, docs/filters.md;
 * NULL: none): the stream is decoded into a tree by its own descriptions,
 * the rules rewrite it, and each section of the tree is loaded through the
 * QObject input visitor against this host's description of the device it
 * names, so whatever the filtered tree does not fit is refused with its
 * path: "after the filter: device apic0: apic.timer_expiry: missing".
 */
bool migration_load_stream_filtered(DevHost *h, GBytes *stream, bool ber, const Filter *filter,
                                    GError **errp);

/* ---- migrations ------------------------------------------------------------ */

typedef struct Migration Migration;

/* event: takes data (a dict). */
typedef void (*MigrationEventFunc)(const char *event, QObject *data, void *opaque);

Migration *migration_new(DevHost *h, GMainContext *ctx, MigrationEventFunc event_fn,
                         void *opaque);
/* Cancels an outgoing migration and waits for its worker; closes the incoming socket. */
void migration_free(Migration *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Migration, migration_free)

/*
 * Outgoing: `migrate {"uri"}`.  Fails at once (QEMU's texts) when a
 * migration is in progress ("There's a migration process in progress"),
 * the host waits for an incoming one ("Guest is waiting for an incoming
 * migration"), it already migrated ("Can't migrate the vm that was paused
 * due to previous migration"), or the URI is bad ("Parameter 'uri' expects
 * a valid migration protocol").  Everything else is reported by
 * query-migrate.
 */
bool migration_start(Migration *m, const char *uri, GError **errp);
/* migrate_cancel: an outgoing migration under way ends "cancelled" (no-op otherwise). */
void migration_cancel(Migration *m);
/* True while an outgoing migration is under way (setup or active). */
bool migration_outgoing_active(const Migration *m);
/*
 * The run state an outgoing migration that fails returns to, once the
 * devices are frozen ("finish-migrate"): stop and cont change it then (the
 * devices stay frozen until the migration ends).
 */
void migration_set_resume_state(Migration *m, DevHostRunState state);

/*
 * Incoming: listen on ADDRESS (unix:PATH, tcp:HOST:PORT, port 0 picks one);
 * *bound is the address in effect.  The host must be in "inmigrate".  A
 * Unix socket file is mode 0600, or 0660 for `group` ((gid_t)-1: none), as
 * address_listen_group makes it: only the same user (or that group) can
 * migrate into this host.
 */
bool migration_listen_incoming(Migration *m, const char *address, gid_t group, char **bound,
                               GError **errp);
/* Run after a successful incoming migration (no -S; cont/stop while waiting change it). */
void migration_set_autostart(Migration *m, bool autostart);
/* Incoming migrations go through these rules (NULL: none); takes f. */
void migration_set_filter(Migration *m, Filter *f);

/* query-migrate's answer (a new reference); see docs/migration.md. */
QObject *migration_query(Migration *m);

/* query-migrate-capabilities: [{"state": false, "capability": "events"}, ...]. */
QObject *migration_query_capabilities(const Migration *m);
/* migrate-set-capabilities {"capabilities": LIST}, checked as QEMU checks it. */
bool migration_set_capabilities(Migration *m, QObject *list, GError **errp);
bool migration_capability(const Migration *m, const char *name);

#endif

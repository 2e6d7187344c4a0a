/*
 * QMP server on GLib's main loop.
 *
 * A QmpServer listens on any number of addresses (unix:PATH, tcp:HOST:PORT;
 * see vmscope/address.h) and speaks QMP to any number of clients at once, all
 * on one GMainContext, never blocking it.  What a client sees is what QEMU
 * 7.2 shows on a `-qmp` socket:
 *
 *   - on connect, the greeting {"QMP": {"version": ..., "capabilities": []}}
 *     (version: qmp_dispatcher_version());
 *   - each JSON value it sends is one request, answered through the
 *     dispatcher (qmp-dispatch.h), one response per request, in order, each
 *     written as QEMU writes it and followed by "\r\n"; requests may be
 *     pipelined and split or joined across writes at will;
 *   - malformed JSON gets a GenericError ("JSON parse error, ...") and the
 *     connection stays open; the rest of the broken value is skipped
 *     (qmp-json.h);
 *   - events go to clients that have completed capabilities negotiation.
 *
 * Limits, so that no client can hurt the server or the others:
 *   - a request longer than max_request bytes (default 1 MiB) is refused
 *     with "JSON token size limit exceeded" and skipped; nesting deeper
 *     than 1024 gets "JSON nesting depth limit exceeded" (QEMU's limit);
 *   - output: while a client has more than 64 KiB of unread answers, its
 *     further requests wait (as QEMU suspends a monitor whose queue is
 *     full), so a client that pipelines without reading is slowed, not
 *     dropped; but an event that would take a client's pending output past
 *     max_output (default 8 MiB) drops that client: a dead or stalled
 *     reader never makes the server buffer without bound;
 *   - a client that closes its sending side still gets the answers to what
 *     it sent before, then the connection is closed.
 *
 * Unix sockets: listening on a path where a dead socket is left over
 * replaces it (as QEMU does), but a path where another server still
 * answers is refused; the path is removed again by qmp_server_free().
 *
 * Threads: a server and its dispatcher belong to the thread that runs their
 * GMainContext.  Command handlers must not free the server; to quit, stop
 * the main loop and call qmp_server_flush() to deliver the last answers.
 */
#ifndef VMSCOPE_BRIDGE_QMP_SERVER_H
#define VMSCOPE_BRIDGE_QMP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <glib.h>
#include <gio/gio.h>

#include "qmp-dispatch.h"

#define QMP_SERVER_DEFAULT_MAX_REQUEST (1u << 20)
#define QMP_SERVER_DEFAULT_MAX_OUTPUT (8u << 20)

typedef struct QmpServer QmpServer;

/*
 * A server answering with d (borrowed: it must outlive the server) on ctx
 * (NULL: the global default context).  The server listens to d's events.
 */
QmpServer *qmp_server_new(QmpDispatcher *d, GMainContext *ctx);
void qmp_server_free(QmpServer *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmpServer, qmp_server_free)

/* Limits for clients accepted from now on (0 keeps the current value). */
void qmp_server_set_limits(QmpServer *s, size_t max_request, size_t max_output);

/*
 * Listen on address.  *bound (if bound is not NULL) is the address in
 * effect, in the same notation: for tcp with port 0, the port picked.
 */
bool qmp_server_listen(QmpServer *s, const char *address, char **bound, GError **errp);
/*
 * Serve on sock, a socket that listens already: one from address_listen,
 * or one systemd passed (address_listener_adopt).  The server takes it and
 * closes it with address_listener_close.
 */
void qmp_server_listen_socket(QmpServer *s, GSocket *sock);

/* Send an event (takes data; NULL: none) to this server's negotiated clients. */
void qmp_server_emit_event(QmpServer *s, const char *name, QObject *data);

/* Clients connected now. */
guint qmp_server_client_count(const QmpServer *s);

/*
 * Write out all pending output, waiting at most timeout_ms; true if every
 * client's output was delivered (or dropped because the client is gone).
 */
bool qmp_server_flush(QmpServer *s, int timeout_ms);

#endif

/*
 * HTTP/JSON bridge: vmscope's HTTP API, its event stream, Prometheus
 * metrics and the dashboard, on libmicrohttpd, run by the GLib main loop.
 *
 * Every read goes through the same QMP command table as the QMP server
 * (qmp_dispatcher_call(), see qmp-dispatch.h), so HTTP and QMP can never
 * disagree; events come from the dispatcher's listeners.  Endpoints
 * (docs/http.md has the details):
 *
 *   GET  /api/hosts                        query-hosts
 *   GET  /api/devices                      query-devices
 *   GET  /api/devices/HOST/ID/state        query-device-state {path: "/HOST/ID"}
 *        ?format=NAME                      a name in the format table (vmscope/format.h);
 *                                          other than json: the bare result, with the
 *                                          format's content type (binary ones too)
 *   GET  /api/devices/HOST/ID/schema       query-device-schema {path}
 *   GET  /api/events                       Server-Sent Events: `event: NAME` and
 *                                          `data: <the QMP event object>`
 *   POST /api/qmp                          one QMP request; the QMP response
 *   GET  /metrics                          Prometheus text format: query-agent-stats
 *                                          (when registered) and HTTP counters
 *   GET  /, /FILE                          the dashboard's static files
 *
 * A JSON answer is the command's return value exactly as QMP sends it.
 * Failures carry {"error": {"class": C, "desc": D}} with QMP's classes:
 * 400 malformed path or query, or a body that is not JSON; 403 a Host that
 * is not a loopback name (DNS rebinding) or an Origin that is not a
 * loopback origin (cross-site requests); 404 unknown endpoint, file or
 * device (DeviceNotFound); 405 wrong method (with Allow); 413 a body over
 * the limit; 415 a POST body that is not JSON by its Content-Type; 500 a
 * command that failed otherwise.  POST /api/qmp answers 200 with whatever
 * QMP answers, errors included: each request is its own negotiated session
 * (qmp_capabilities is accepted and does nothing).
 *
 * Threads and the main loop: the server runs on one GMainContext (the
 * thread-default one when it is created) and calls the dispatcher only
 * from there.  libmicrohttpd runs in its "external polling" mode with
 * epoll: a GSource watches MHD's epoll descriptor and MHD's next timeout,
 * and runs MHD_run() when either fires.  Event-stream connections are
 * suspended while they have nothing to send and resumed when an event or a
 * keep-alive comment is queued for them.  A command handler must not free
 * the server it was called through.
 *
 * Limits, so that no client can hurt the server or the others: a request
 * must arrive (headers and body) within request_timeout_ms of the
 * connection being ready for it, else the connection is closed (slowloris);
 * a connection that makes no progress for idle_timeout_s is closed; a body
 * larger than max_body is refused with 413; each event-stream client has
 * its own queue of at most sse_max_queue bytes, and a client whose queue
 * would grow past it is disconnected (a browser's EventSource reconnects
 * and the dashboard then reads everything again), so a slow reader never
 * holds the others up nor makes the server buffer without bound.
 */
#ifndef VMSCOPE_BRIDGE_HTTP_SERVER_H
#define VMSCOPE_BRIDGE_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <glib.h>
#include <gio/gio.h>

#include "qmp-dispatch.h"

typedef struct HttpServerLimits {
    size_t max_body;             /* bytes in a request body; 0: 1 MiB */
    size_t sse_max_queue;        /* bytes queued per event-stream client; 0: 256 KiB */
    unsigned request_timeout_ms; /* to receive a whole request; 0: 10 s */
    unsigned idle_timeout_s;     /* without progress on a connection; 0: 30 s */
    unsigned sse_keepalive_ms;   /* between keep-alive comments; 0: 15 s */
    unsigned max_connections;    /* at once; 0: 1000 */
} HttpServerLimits;

typedef struct HttpServer HttpServer;

/*
 * Listen on address, "HOST:PORT" ("127.0.0.1:8080", "[::1]:0", "localhost:0";
 * port 0 picks a free port), answering with d (borrowed: it must outlive
 * the server).  dashboard_dir: where the dashboard's files are (NULL: no
 * dashboard, / answers 404).  Errors: VMS_ERROR_INVALID for a malformed
 * address, VMS_ERROR_NOT_FOUND for a host name that does not resolve,
 * VMS_ERROR_IO when the address cannot be bound; each message quotes the
 * address.
 */
HttpServer *http_server_new(QmpDispatcher *d, const char *address, const char *dashboard_dir,
                            GError **errp);
/* The same with limits (NULL, or a field left 0: the default). */
HttpServer *http_server_new_full(QmpDispatcher *d, const char *address, const char *dashboard_dir,
                                 const HttpServerLimits *limits, GError **errp);
/*
 * The same on sock, a TCP socket that listens already (address_listen_inet,
 * or one systemd passed: address_listener_adopt), taken by the server;
 * address names it in errors.
 */
HttpServer *http_server_new_socket(QmpDispatcher *d, GSocket *sock, const char *address,
                                   const char *dashboard_dir, const HttpServerLimits *limits,
                                   GError **errp);
/* Closes every connection (event streams end cleanly) and frees the server. */
void http_server_free(HttpServer *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HttpServer, http_server_free)

/* The port bound (the one picked, for port 0). */
guint16 http_server_port(const HttpServer *s);
/* "http://127.0.0.1:PORT/" ("http://[::1]:PORT/" for IPv6): owned by the server. */
const char *http_server_url(const HttpServer *s);
/* Event-stream clients connected now. */
guint http_server_sse_client_count(const HttpServer *s);

/*
 * Where the dashboard's files are, for a program that serves them
 * (g_free the result): $VMSCOPE_DASHBOARD_DIR if set; otherwise the
 * source tree's copy when the running program is not the installed one
 * and that copy exists; otherwise the installed copy.
 */
char *http_dashboard_dir(void);

#endif

/*
 * Inside the HTTP bridge (http-server.h): what its files share.
 *
 *   http-server.c   the daemon, the main-loop source, connections and their
 *                   deadlines, routing, the API endpoints, responses
 *   http-events.c   the Server-Sent Events stream
 *   http-metrics.c  HTTP counters and the Prometheus exposition
 *   http-static.c   the dashboard's files, the dashboard directory
 *
 * Lifetimes: an HttpConn per TCP connection (MHD's socket context), an
 * HttpRequest per request (MHD's request context, made when the request
 * line arrives, freed when MHD reports the request completed or the
 * connection closed), an SseClient per event stream (owned by the MHD
 * response that streams it, freed with it).
 */
#ifndef VMSCOPE_BRIDGE_HTTP_IMPL_H
#define VMSCOPE_BRIDGE_HTTP_IMPL_H

#include <stdbool.h>
#include <stdint.h>
#include <microhttpd.h>

#include "http-server.h"

/* What a request was for: the "endpoint" label of the metrics. */
typedef enum HttpEndpoint {
    HTTP_EP_HOSTS,
    HTTP_EP_DEVICES,
    HTTP_EP_STATE,
    HTTP_EP_SCHEMA,
    HTTP_EP_EVENTS,
    HTTP_EP_QMP,
    HTTP_EP_METRICS,
    HTTP_EP_DASHBOARD,
    HTTP_EP_OTHER,       /* unknown or malformed paths, refused requests */
    HTTP_EP_COUNT
} HttpEndpoint;

const char *http_endpoint_name(HttpEndpoint ep);

/* Upper bounds (seconds) of the request duration histogram's buckets. */
#define HTTP_DURATION_BUCKETS 14

typedef enum RouteResult {
    ROUTE_OK,
    ROUTE_MALFORMED,       /* 400 */
    ROUTE_UNKNOWN,         /* 404 */
} RouteResult;

typedef struct HttpMetrics {
    GHashTable *requests;              /* (endpoint << 16 | code) -> count */
    guint64 duration_buckets[HTTP_EP_COUNT][HTTP_DURATION_BUCKETS]; /* not cumulative */
    guint64 duration_count[HTTP_EP_COUNT];
    double duration_sum[HTTP_EP_COUNT];
    guint64 connections_total;
    guint64 connections_timed_out;     /* closed by the request deadline */
    guint64 sse_events;                /* events handed to the stream */
    guint64 sse_dropped;               /* clients dropped for a full queue */
} HttpMetrics;

typedef struct HttpConn {
    HttpServer *server;
    struct MHD_Connection *mhd;
    GList link;                        /* in server->waiting while a request is due */
    gint64 since_us;                   /* when the connection became ready for a request */
    struct HttpRequest *req;           /* the request in progress */
} HttpConn;

typedef struct HttpRequest {
    HttpServer *server;
    HttpConn *conn;
    struct MHD_Connection *mhd;
    gint64 start_us;
    HttpEndpoint endpoint;
    RouteResult route;
    char *dev_path;                    /* "/HOST/ID" for a device endpoint */
    unsigned status;                   /* 0 until a response is queued */
    bool headers_done;                 /* the access handler has run once */
    GString *body;                     /* POST /api/qmp */
    bool body_too_large;
    GError *target_error;              /* the request target failed http_target_check() */
} HttpRequest;

typedef struct SseClient {
    HttpServer *server;
    struct MHD_Connection *mhd;
    GList link;                        /* in server->sse_clients */
    GQueue queue;                      /* GBytes * to send */
    size_t head_off;                   /* of the first one, already sent */
    size_t queued;                     /* bytes in queue not yet sent */
    bool suspended;
    bool dropped;                      /* the queue overflowed: end the stream */
} SseClient;

struct HttpServer {
    QmpDispatcher *dispatcher;
    GMainContext *ctx;
    HttpServerLimits limits;
    struct MHD_Daemon *daemon;
    int listen_fd;
    GSource *source;                   /* runs MHD */
    gpointer epoll_tag;
    guint16 port;
    char *bound_host;                  /* numeric, as bound ("127.0.0.1", "::1") */
    char *url;
    char *dashboard_dir;               /* canonical, or NULL */

    GQueue waiting;                    /* HttpConn waiting for a whole request */
    GSource *reaper;                   /* enforces the request deadline */
    guint connections;

    guint event_listener;
    GQueue sse_clients;                /* SseClient */
    GSource *keepalive;
    bool stopping;

    HttpMetrics metrics;
};

/* http-server.c */
enum MHD_Result http_respond(HttpRequest *r, unsigned status, struct MHD_Response *rsp);
enum MHD_Result http_respond_error(HttpRequest *r, unsigned status, QmpErrorClass cls,
                                   const char *fmt, ...) G_GNUC_PRINTF(4, 5);
/* Takes text (g_malloc'd), or any bytes: a binary body too. */
enum MHD_Result http_respond_text(HttpRequest *r, unsigned status, const char *content_type,
                                  char *text, size_t len);
/* Schedule MHD_run() at once (after resuming a connection). */
void http_server_kick(HttpServer *s);

/*
 * Which endpoint url (the decoded path) names.  For a device endpoint,
 * *dev_path is the device path ("/HOST/ID"), to g_free.
 */
RouteResult http_route(const char *url, HttpEndpoint *ep, char **dev_path);

/* http-target.c */
/*
 * The raw request target, before libmicrohttpd decodes it: its path and
 * its query must decode to UTF-8 without control characters (a %00 would
 * otherwise cut the decoded strings short).  Errors: GenericError,
 * "malformed path in '/a%00b': a control character after decoding".
 */
bool http_target_check(const char *target, GError **errp);

/* http-events.c */
enum MHD_Result http_events_serve(HttpRequest *r);
void http_events_on_event(QObject *event, void *opaque);
/* Ends every stream (server shutdown): resumes suspended clients. */
void http_events_stop(HttpServer *s);

/* http-metrics.c */
void http_metrics_init(HttpMetrics *m);
void http_metrics_free(HttpMetrics *m);
void http_metrics_count(HttpMetrics *m, HttpEndpoint ep, unsigned status, double seconds,
                        bool observe_duration);
enum MHD_Result http_metrics_serve(HttpRequest *r);

/* http-static.c */
enum MHD_Result http_static_serve(HttpRequest *r, const char *url);
/* Canonical form of dir, or NULL if it is not a directory. */
char *http_static_resolve_dir(const char *dir);

#endif

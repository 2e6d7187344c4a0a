/*
 * HTTP bridge: the daemon, its main-loop source, connections, routing and
 * the API endpoints.  See http-server.h for the contract, http-impl.h for
 * how the files divide the work.
 *
 * libmicrohttpd runs without threads of its own ("external polling" with
 * epoll): one GSource polls MHD's epoll descriptor, asks MHD_get_timeout()
 * how long it may sleep, and calls MHD_run() when something is due.  Every
 * MHD callback, and so every dispatcher call, runs inside that MHD_run(),
 * on the server's main loop.
 *
 * MHD's own connection timeout only notices a connection that makes no
 * progress at all; a client that trickles a request one byte at a time
 * (slowloris) would hold a connection for ever.  So each connection that
 * owes us a request sits in server->waiting, oldest first, from the moment
 * it is ready for one (accepted, or its previous request completed) until
 * a response is queued; a connection still there request_timeout_ms later
 * is shut down.  A keep-alive connection that stays idle that long is
 * closed the same way, which is harmless.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "http-impl.h"
#include "qmp-json.h"
#include "vmscope/address.h"
#include "vmscope/error.h"
#include "vmscope/format.h"

#define DEFAULT_MAX_BODY (1u << 20)
#define DEFAULT_SSE_MAX_QUEUE (256u << 10)
#define DEFAULT_REQUEST_TIMEOUT_MS 10000
#define DEFAULT_IDLE_TIMEOUT_S 30
#define DEFAULT_SSE_KEEPALIVE_MS 15000
#define DEFAULT_MAX_CONNECTIONS 1000

static const char *const endpoint_names[HTTP_EP_COUNT] = {
    [HTTP_EP_HOSTS] = "hosts",
    [HTTP_EP_DEVICES] = "devices",
    [HTTP_EP_STATE] = "state",
    [HTTP_EP_SCHEMA] = "schema",
    [HTTP_EP_EVENTS] = "events",
    [HTTP_EP_QMP] = "qmp",
    [HTTP_EP_METRICS] = "metrics",
    [HTTP_EP_DASHBOARD] = "dashboard",
    [HTTP_EP_OTHER] = "other",
};

const char *http_endpoint_name(HttpEndpoint ep)
{
    return ep < HTTP_EP_COUNT ? endpoint_names[ep] : "other";
}

/* ---- the main-loop source ----------------------------------------------- */

typedef struct MhdSource {
    GSource base;
    HttpServer *server;
} MhdSource;

/* Milliseconds until MHD wants to run again, -1 for "only on I/O". */
static gint mhd_timeout_ms(HttpServer *s)
{
    MHD_UNSIGNED_LONG_LONG t;
    if (MHD_get_timeout(s->daemon, &t) != MHD_YES) {
        return -1;
    }
    return t > INT_MAX ? INT_MAX : (gint)t;
}

static gboolean mhd_source_prepare(GSource *src, gint *timeout)
{
    *timeout = mhd_timeout_ms(((MhdSource *)src)->server);
    return *timeout == 0;
}

static gboolean mhd_source_check(GSource *src)
{
    HttpServer *s = ((MhdSource *)src)->server;
    return g_source_query_unix_fd(src, s->epoll_tag) != 0 || mhd_timeout_ms(s) == 0;
}

static gboolean mhd_source_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
    HttpServer *s = ((MhdSource *)src)->server;
    g_source_set_ready_time(src, -1);
    if (MHD_run(s->daemon) != MHD_YES) {
        g_debug("http: MHD_run failed");
    }
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs mhd_source_funcs = {
    .prepare = mhd_source_prepare,
    .check = mhd_source_check,
    .dispatch = mhd_source_dispatch,
};

void http_server_kick(HttpServer *s)
{
    if (s->source) {
        g_source_set_ready_time(s->source, 0);
    }
}

/* ---- connections and the request deadline ------------------------------ */

static void reaper_arm(HttpServer *s)
{
    HttpConn *oldest = g_queue_peek_head(&s->waiting);
    if (!s->reaper || s->stopping) {
        return;
    }
    g_source_set_ready_time(s->reaper, oldest
                            ? oldest->since_us + (gint64)s->limits.request_timeout_ms * 1000
                            : -1);
}

static void conn_wait(HttpConn *c)
{
    HttpServer *s = c->server;
    if (c->link.data) {
        g_queue_unlink(&s->waiting, &c->link);
    }
    c->since_us = g_get_monotonic_time();
    c->link.data = c;
    g_queue_push_tail_link(&s->waiting, &c->link);
    if (s->waiting.length == 1) {
        reaper_arm(s);
    }
}

static void conn_unwait(HttpConn *c)
{
    if (c->link.data) {
        bool was_oldest = c->server->waiting.head == &c->link;
        g_queue_unlink(&c->server->waiting, &c->link);
        c->link.data = NULL;
        if (was_oldest) {
            reaper_arm(c->server);
        }
    }
}

/* Shut down connections that have not delivered a whole request in time. */
static gboolean reaper_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
    HttpServer *s = data;
    gint64 limit = g_get_monotonic_time() - (gint64)s->limits.request_timeout_ms * 1000;
    HttpConn *c;

    while ((c = g_queue_peek_head(&s->waiting)) && c->since_us <= limit) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c->mhd, MHD_CONNECTION_INFO_CONNECTION_FD);
        g_queue_unlink(&s->waiting, &c->link);
        c->link.data = NULL;
        /* MHD sees the end of the stream and closes the connection itself. */
        if (ci && shutdown(ci->connect_fd, SHUT_RDWR) != 0) {
            g_debug("http: shutdown: %s", g_strerror(errno));
        }
        s->metrics.connections_timed_out++;
    }
    reaper_arm(s);
    http_server_kick(s);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs reaper_funcs = { .dispatch = reaper_dispatch };

static void request_free(HttpRequest *r, bool count)
{
    if (count && r->status) {
        double secs = (double)(g_get_monotonic_time() - r->start_us) / G_USEC_PER_SEC;
        http_metrics_count(&r->server->metrics, r->endpoint, r->status, secs,
                           r->endpoint != HTTP_EP_EVENTS);
    }
    if (r->conn && r->conn->req == r) {
        r->conn->req = NULL;
    }
    if (r->body) {
        g_string_free(r->body, TRUE);
    }
    g_free(r->dev_path);
    g_clear_error(&r->target_error);
    g_free(r);
}

static void on_connection(void *cls, struct MHD_Connection *mhd, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    HttpServer *s = cls;
    HttpConn *c = *socket_context;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        c = g_new0(HttpConn, 1);
        c->server = s;
        c->mhd = mhd;
        *socket_context = c;
        s->connections++;
        s->metrics.connections_total++;
        conn_wait(c);
    } else if (c) {
        conn_unwait(c);
        if (c->req) {
            c->req->conn = NULL;
            request_free(c->req, true);
        }
        s->connections--;
        g_free(c);
        *socket_context = NULL;
    }
}

static HttpConn *conn_of(struct MHD_Connection *mhd)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(mhd, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* The request line has arrived: a new request context. */
static void *on_request_line(void *cls, const char *uri, struct MHD_Connection *mhd)
{
    HttpServer *s = cls;
    HttpConn *c = conn_of(mhd);
    HttpRequest *r = g_new0(HttpRequest, 1);

    r->server = s;
    r->start_us = g_get_monotonic_time();
    r->endpoint = HTTP_EP_OTHER;
    (void)http_target_check(uri, &r->target_error);   /* answered once the request is in */
    if (c) {
        if (c->req) {
            /* MHD refused the previous request before our handler saw it. */
            c->req->conn = NULL;
            request_free(c->req, false);
        }
        c->req = r;
        r->conn = c;
    }
    return r;
}

static void on_completed(void *cls, struct MHD_Connection *mhd, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    HttpServer *s = cls;
    HttpRequest *r = *req_cls;
    HttpConn *c;

    if (!r) {
        return;
    }
    *req_cls = NULL;
    c = r->conn;
    request_free(r, true);
    if (c && !s->stopping && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK) {
        conn_wait(c);       /* ready for the next request on this connection */
    }
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) G_GNUC_PRINTF(2, 0);

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    g_strchomp(msg);
    g_debug("http: libmicrohttpd: %s", msg);
}

/* ---- responses ---------------------------------------------------------- */

enum MHD_Result http_respond(HttpRequest *r, unsigned status, struct MHD_Response *rsp)
{
    HttpConn *c = r->conn;
    enum MHD_Result ret;

    if (!rsp) {
        return MHD_NO;
    }
    MHD_add_response_header(rsp, "X-Content-Type-Options", "nosniff");
    ret = MHD_queue_response(r->mhd, status, rsp);
    MHD_destroy_response(rsp);
    r->status = status;
    if (c) {
        conn_unwait(c);
    }
    return ret;
}

/* Takes text (g_malloc'd), or any bytes: a binary body too. */
enum MHD_Result http_respond_text(HttpRequest *r, unsigned status, const char *content_type,
                                  char *text, size_t len)
{
    struct MHD_Response *rsp = MHD_create_response_from_buffer_with_free_callback(len, text, g_free);
    if (!rsp) {
        g_free(text);
        return MHD_NO;
    }
    MHD_add_response_header(rsp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(rsp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    return http_respond(r, status, rsp);
}

static struct MHD_Response *json_response(const QObject *obj)
{
    GString *out = g_string_sized_new(256);
    qmp_json_append(out, obj);
    g_string_append_c(out, '\n');
    size_t len = out->len;
    char *text = g_string_free(out, FALSE);
    struct MHD_Response *rsp = MHD_create_response_from_buffer_with_free_callback(len, text, g_free);
    if (!rsp) {
        g_free(text);
        return NULL;
    }
    MHD_add_response_header(rsp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(rsp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    return rsp;
}

static enum MHD_Result respond_json(HttpRequest *r, unsigned status, const QObject *obj)
{
    return http_respond(r, status, json_response(obj));
}

static enum MHD_Result respond_gerror(HttpRequest *r, unsigned status, const GError *err)
{
    g_autoptr(QObject) body = qmp_error_response(err);
    return respond_json(r, status, body);
}

enum MHD_Result http_respond_error(HttpRequest *r, unsigned status, QmpErrorClass cls,
                                   const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autoptr(GError) err = g_error_new_valist(QMP_ERROR, cls, fmt, ap);
    va_end(ap);
    return respond_gerror(r, status, err);
}

static enum MHD_Result respond_method_not_allowed(HttpRequest *r, const char *method,
                                                  const char *url, const char *allow)
{
    g_autoptr(GError) err = g_error_new(QMP_ERROR, QMP_ERROR_GENERIC_ERROR,
                                        "%s %s: method not allowed (allowed: %s)",
                                        method, url, allow);
    g_autoptr(QObject) body = qmp_error_response(err);
    struct MHD_Response *rsp = json_response(body);
    if (rsp) {
        MHD_add_response_header(rsp, MHD_HTTP_HEADER_ALLOW, allow);
    }
    return http_respond(r, MHD_HTTP_METHOD_NOT_ALLOWED, rsp);
}

/* ---- who may ask -------------------------------------------------------- */

static bool is_port(const char *p)
{
    size_t n = strspn(p, "0123456789");
    return n > 0 && n <= 5 && p[n] == '\0';
}

/*
 * A Host header (or an Origin's host) naming this server by a loopback
 * name: localhost, 127.0.0.1, [::1], or the address it is bound to, with
 * or without a port.  Anything else may be a DNS-rebinding page.
 */
static bool host_allowed(const HttpServer *s, const char *hostport)
{
    g_autofree char *name = NULL;
    const char *port;

    if (hostport[0] == '[') {
        const char *close = strchr(hostport, ']');
        if (!close) {
            return false;
        }
        name = g_strndup(hostport + 1, close - hostport - 1);
        port = close + 1;
    } else {
        const char *colon = strchr(hostport, ':');
        name = colon ? g_strndup(hostport, colon - hostport) : g_strdup(hostport);
        port = colon ? colon : "";
        if (strchr(name, ':')) {
            return false;
        }
    }
    if (port[0] && (port[0] != ':' || !is_port(port + 1))) {
        return false;
    }
    if (g_ascii_strcasecmp(name, "localhost") == 0 || strcmp(name, "127.0.0.1") == 0 ||
        strcmp(name, "::1") == 0) {
        return true;
    }
    /* The numeric address bound, unless it is a wildcard. */
    return s->bound_host && strcmp(name, s->bound_host) == 0 &&
           strcmp(name, "0.0.0.0") != 0 && strcmp(name, "::") != 0;
}

/* An Origin header: "http://HOST[:PORT]" with a loopback host. */
static bool origin_allowed(const HttpServer *s, const char *origin)
{
    const char *rest;
    if (g_str_has_prefix(origin, "http://")) {
        rest = origin + 7;
    } else if (g_str_has_prefix(origin, "https://")) {
        rest = origin + 8;
    } else {
        return false;       /* "null" and the like */
    }
    return rest[0] && !strchr(rest, '/') && host_allowed(s, rest);
}

/* ---- routing ------------------------------------------------------------ */

/* A path segment that may name a host or a device. */
static bool segment_ok(const char *seg)
{
    if (!seg[0] || strcmp(seg, ".") == 0 || strcmp(seg, "..") == 0) {
        return false;
    }
    for (const unsigned char *p = (const unsigned char *)seg; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            return false;
        }
    }
    return true;
}

/* Paths outside /api/ and /metrics are the dashboard's (http-static.c checks them). */
RouteResult http_route(const char *url, HttpEndpoint *ep, char **dev_path)
{
    *ep = HTTP_EP_OTHER;
    if (url[0] != '/') {
        return ROUTE_MALFORMED;
    }
    if (strcmp(url, "/metrics") == 0) {
        *ep = HTTP_EP_METRICS;
        return ROUTE_OK;
    }
    if (strcmp(url, "/api") != 0 && !g_str_has_prefix(url, "/api/")) {
        *ep = HTTP_EP_DASHBOARD;
        return ROUTE_OK;
    }
    if (strcmp(url, "/api/hosts") == 0) {
        *ep = HTTP_EP_HOSTS;
    } else if (strcmp(url, "/api/devices") == 0) {
        *ep = HTTP_EP_DEVICES;
    } else if (strcmp(url, "/api/events") == 0) {
        *ep = HTTP_EP_EVENTS;
    } else if (strcmp(url, "/api/qmp") == 0) {
        *ep = HTTP_EP_QMP;
    } else if (g_str_has_prefix(url, "/api/devices/")) {
        g_auto(GStrv) seg = g_strsplit(url + strlen("/api/devices/"), "/", -1);
        guint n = g_strv_length(seg);
        for (guint i = 0; i < n; i++) {
            if (!segment_ok(seg[i])) {
                return ROUTE_MALFORMED;
            }
        }
        if (n != 3) {
            return ROUTE_UNKNOWN;
        }
        if (strcmp(seg[2], "state") == 0) {
            *ep = HTTP_EP_STATE;
        } else if (strcmp(seg[2], "schema") == 0) {
            *ep = HTTP_EP_SCHEMA;
        } else {
            return ROUTE_UNKNOWN;
        }
        *dev_path = g_strdup_printf("/%s/%s", seg[0], seg[1]);
    } else {
        return ROUTE_UNKNOWN;
    }
    return ROUTE_OK;
}

/* ---- the API ------------------------------------------------------------ */

/*
 * Run a command and answer with its return value, or for a format other
 * than json (NULL: json) with the bare result the value carries
 * (vmscope/format.h), as that format's content type.
 */
static enum MHD_Result serve_command(HttpRequest *r, const char *command, QObject *args,
                                     const VmsFormat *format)
{
    g_autoptr(QObject) ret = NULL;
    g_autoptr(GError) err = NULL;

    if (!qmp_dispatcher_call(r->server->dispatcher, command, args, &ret, &err)) {
        unsigned status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        if (err->code == QMP_ERROR_DEVICE_NOT_FOUND || err->code == QMP_ERROR_COMMAND_NOT_FOUND) {
            status = MHD_HTTP_NOT_FOUND;
        }
        return respond_gerror(r, status, err);
    }
    if (format && format != vms_format_json()) {
        const char *member = vms_format_result_member(format);
        GBytes *body = vms_format_result_from_qobject(format, qdict_get(ret, member), &err);
        if (!body) {
            return http_respond_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, QMP_ERROR_GENERIC_ERROR,
                                      "%s returned no \"%s\" for format %s: %s", command,
                                      member, format->name, err->message);
        }
        gsize len;
        char *data = g_bytes_unref_to_data(body, &len);
        return http_respond_text(r, MHD_HTTP_OK, format->content_type, data, len);
    }
    return respond_json(r, MHD_HTTP_OK, ret);
}

static enum MHD_Result serve_device(HttpRequest *r, const char *dev_path)
{
    g_autoptr(QObject) args = qdict_new();

    qdict_put(args, "path", qstring_from_str(dev_path));
    const char *name = MHD_lookup_connection_value(r->mhd, MHD_GET_ARGUMENT_KIND, "format");
    if (r->endpoint == HTTP_EP_SCHEMA) {
        if (name && strcmp(name, "vmstate") != 0 && strcmp(name, "json-schema") != 0) {
            return http_respond_error(r, MHD_HTTP_BAD_REQUEST, QMP_ERROR_GENERIC_ERROR,
                                      "format '%s': expected vmstate or json-schema", name);
        }
        if (name) {
            qdict_put(args, "format", qstring_from_str(name));
        }
        return serve_command(r, "query-device-schema", args, NULL);
    }
    const VmsFormat *format = name ? vms_format_lookup(name) : NULL;
    if (name && !format) {
        g_autofree char *names = vms_format_names(NULL, " or ");
        return http_respond_error(r, MHD_HTTP_BAD_REQUEST, QMP_ERROR_GENERIC_ERROR,
                                  "format '%s': expected %s", name, names);
    }
    if (name) {
        qdict_put(args, "format", qstring_from_str(name));
    }
    return serve_command(r, "query-device-state", args, format);
}

/* A media type that browsers may send cross-site without asking first. */
static bool content_type_ok(const char *type)
{
    if (!type) {
        return true;
    }
    size_t n = strlen("application/json");
    return g_ascii_strncasecmp(type, "application/json", n) == 0 &&
           (type[n] == '\0' || type[n] == ';' || type[n] == ' ');
}

/* POST /api/qmp, headers: check them; the body follows. */
static enum MHD_Result qmp_begin(HttpRequest *r)
{
    HttpServer *s = r->server;
    const char *type = MHD_lookup_connection_value(r->mhd, MHD_HEADER_KIND,
                                                   MHD_HTTP_HEADER_CONTENT_TYPE);
    const char *length = MHD_lookup_connection_value(r->mhd, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (!content_type_ok(type)) {
        return http_respond_error(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, QMP_ERROR_GENERIC_ERROR,
                                  "POST /api/qmp: Content-Type '%s': expected application/json",
                                  type);
    }
    if (length) {
        guint64 n = 0;
        if (g_ascii_string_to_unsigned(length, 10, 0, G_MAXUINT64, &n, NULL) &&
            n > s->limits.max_body) {
            return http_respond_error(r, MHD_HTTP_CONTENT_TOO_LARGE, QMP_ERROR_GENERIC_ERROR,
                                      "POST /api/qmp: body of %" G_GUINT64_FORMAT
                                      " bytes is over the limit of %zu bytes",
                                      n, s->limits.max_body);
        }
    }
    r->body = g_string_new(NULL);
    return MHD_YES;
}

static bool is_capabilities_request(const QObject *req)
{
    const char *cmd = qobject_type(req) == QTYPE_DICT ? qdict_get_str(req, "execute") : NULL;
    return cmd && strcmp(cmd, "qmp_capabilities") == 0;
}

/* POST /api/qmp, the whole body is in: run it. */
static enum MHD_Result qmp_finish(HttpRequest *r)
{
    g_autoptr(QObject) req = NULL;
    g_autoptr(GError) err = NULL;

    if (!qmp_json_parse(r->body->str, r->body->len, &req, &err)) {
        return respond_gerror(r, MHD_HTTP_BAD_REQUEST, err);
    }
    /*
     * Each request is a session of its own, already negotiated, except
     * that qmp_capabilities is let through as a no-op so that a client
     * written for a QMP socket works unchanged.
     */
    bool negotiated = !is_capabilities_request(req);
    g_autoptr(QObject) rsp = qmp_dispatch(r->server->dispatcher, req, &negotiated);
    return respond_json(r, MHD_HTTP_OK, rsp);
}

/*
 * The headers are in.  Only a body we will not read is refused now (the
 * connection is then closed after the answer, as it must be); everything
 * else is answered once the whole request is in, which keeps the
 * connection alive for the next one.
 */
static enum MHD_Result request_begin(HttpRequest *r, const char *method)
{
    if (r->endpoint == HTTP_EP_QMP && strcmp(method, MHD_HTTP_METHOD_POST) == 0) {
        return qmp_begin(r);
    }
    return MHD_YES;
}

typedef struct HeaderCount {
    const char *name;
    unsigned n;
} HeaderCount;

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
    HeaderCount *hc = cls;
    if (g_ascii_strcasecmp(key, hc->name) == 0) {
        hc->n++;
    }
    return MHD_YES;
}

/* How many times the request has header name (lookups see only the first). */
static unsigned count_headers(struct MHD_Connection *mhd, const char *name)
{
    HeaderCount hc = { name, 0 };
    MHD_get_connection_values(mhd, MHD_HEADER_KIND, count_header, &hc);
    return hc.n;
}

/* The whole request is in: check who asks, then answer. */
static enum MHD_Result request_answer(HttpRequest *r, const char *url, const char *method)
{
    HttpServer *s = r->server;
    const char *host = MHD_lookup_connection_value(r->mhd, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    const char *origin = MHD_lookup_connection_value(r->mhd, MHD_HEADER_KIND, "Origin");
    bool is_get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
                  strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;

    if (count_headers(r->mhd, MHD_HTTP_HEADER_HOST) > 1) {
        /* RFC 9112 3.2: invalid; and which one would the check believe? */
        return http_respond_error(r, MHD_HTTP_BAD_REQUEST, QMP_ERROR_GENERIC_ERROR,
                                  "more than one Host header: request refused");
    }
    if (host && !host_allowed(s, host)) {
        return http_respond_error(r, MHD_HTTP_FORBIDDEN, QMP_ERROR_GENERIC_ERROR,
                                  "Host '%s' is not a loopback name: request refused", host);
    }
    if (origin && !origin_allowed(s, origin)) {
        return http_respond_error(r, MHD_HTTP_FORBIDDEN, QMP_ERROR_GENERIC_ERROR,
                                  "Origin '%s' is not a loopback origin: request refused", origin);
    }
    if (r->target_error) {
        return respond_gerror(r, MHD_HTTP_BAD_REQUEST, r->target_error);
    }
    if (r->route == ROUTE_MALFORMED) {
        return http_respond_error(r, MHD_HTTP_BAD_REQUEST, QMP_ERROR_GENERIC_ERROR,
                                  "malformed path '%s'", url);
    }
    if (r->route == ROUTE_UNKNOWN) {
        return http_respond_error(r, MHD_HTTP_NOT_FOUND, QMP_ERROR_GENERIC_ERROR,
                                  "no such endpoint: %s", url);
    }
    if (r->endpoint == HTTP_EP_QMP) {
        if (!r->body) {
            return respond_method_not_allowed(r, method, url, "POST");
        }
        return qmp_finish(r);
    }
    if (!is_get) {
        return respond_method_not_allowed(r, method, url, "GET, HEAD");
    }
    switch (r->endpoint) {
    case HTTP_EP_HOSTS:
        return serve_command(r, "query-hosts", NULL, NULL);
    case HTTP_EP_DEVICES:
        return serve_command(r, "query-devices", NULL, NULL);
    case HTTP_EP_STATE:
    case HTTP_EP_SCHEMA:
        return serve_device(r, r->dev_path);
    case HTTP_EP_EVENTS:
        return http_events_serve(r);
    case HTTP_EP_METRICS:
        return http_metrics_serve(r);
    default:
        return http_static_serve(r, url);
    }
}

/*
 * MHD calls this once when the headers are in, once per piece of body,
 * and once more when the request is complete (*upload_data_size == 0).
 */
static enum MHD_Result on_access(void *cls, struct MHD_Connection *mhd, const char *url,
                                 const char *method, const char *version,
                                 const char *upload_data, size_t *upload_data_size,
                                 void **req_cls)
{
    HttpServer *s = cls;
    HttpRequest *r = *req_cls;

    if (!r) {
        r = *req_cls = on_request_line(s, url, mhd);
    }
    r->mhd = mhd;
    if (!r->headers_done) {
        r->headers_done = true;
        r->route = http_route(url, &r->endpoint, &r->dev_path);
        return request_begin(r, method);
    }
    if (r->status) {
        *upload_data_size = 0;      /* answered already: the rest is dropped */
        return MHD_YES;
    }
    if (*upload_data_size) {
        /*
         * MHD takes no answer in the middle of a body: one over the limit
         * (sent without a length) is dropped as it comes and refused at
         * its end, which the request deadline bounds.
         */
        if (r->body && r->body->len + *upload_data_size > s->limits.max_body) {
            r->body_too_large = true;
        }
        if (r->body && !r->body_too_large) {
            g_string_append_len(r->body, upload_data, *upload_data_size);
        }
        *upload_data_size = 0;      /* a body nobody asked for is dropped */
        return MHD_YES;
    }
    if (r->body_too_large) {
        return http_respond_error(r, MHD_HTTP_CONTENT_TOO_LARGE, QMP_ERROR_GENERIC_ERROR,
                                  "POST /api/qmp: body is over the limit of %zu bytes",
                                  s->limits.max_body);
    }
    return request_answer(r, url, method);
}

/* ---- listening ---------------------------------------------------------- */

/*
 * Serve on sock (taken): keep a duplicate of its descriptor for
 * libmicrohttpd, which owns the listening descriptor it is given, and
 * close sock.  address names it in errors.
 */
static bool listen_on_socket(HttpServer *s, GSocket *sock, const char *address, GError **errp)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GSocketAddress) local = g_socket_get_local_address(sock, &err);
    if (local && !G_IS_INET_SOCKET_ADDRESS(local)) {
        g_clear_object(&local);
        g_set_error_literal(&err, VMS_ERROR, VMS_ERROR_INVALID, "not a TCP socket");
    }
    if (local) {
        s->listen_fd = fcntl(g_socket_get_fd(sock), F_DUPFD_CLOEXEC, 0);
    }
    int saved = errno;
    address_listener_close(sock);
    if (!local || s->listen_fd < 0) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "http address '%s': %s", address,
                    local ? g_strerror(saved) : err->message);
        return false;
    }
    GInetSocketAddress *in = G_INET_SOCKET_ADDRESS(local);
    s->bound_host = g_inet_address_to_string(g_inet_socket_address_get_address(in));
    s->port = g_inet_socket_address_get_port(in);
    if (g_socket_address_get_family(local) == G_SOCKET_FAMILY_IPV6) {
        s->url = g_strdup_printf("http://[%s]:%u/", s->bound_host, s->port);
    } else {
        s->url = g_strdup_printf("http://%s:%u/", s->bound_host, s->port);
    }
    return true;
}

/* ---- the server --------------------------------------------------------- */

static void limits_init(HttpServerLimits *l, const HttpServerLimits *given)
{
    if (given) {
        *l = *given;
    }
    if (!l->max_body) {
        l->max_body = DEFAULT_MAX_BODY;
    }
    if (!l->sse_max_queue) {
        l->sse_max_queue = DEFAULT_SSE_MAX_QUEUE;
    }
    if (!l->request_timeout_ms) {
        l->request_timeout_ms = DEFAULT_REQUEST_TIMEOUT_MS;
    }
    if (!l->idle_timeout_s) {
        l->idle_timeout_s = DEFAULT_IDLE_TIMEOUT_S;
    }
    if (!l->sse_keepalive_ms) {
        l->sse_keepalive_ms = DEFAULT_SSE_KEEPALIVE_MS;
    }
    if (!l->max_connections) {
        l->max_connections = DEFAULT_MAX_CONNECTIONS;
    }
}

HttpServer *http_server_new(QmpDispatcher *d, const char *address, const char *dashboard_dir,
                            GError **errp)
{
    return http_server_new_full(d, address, dashboard_dir, NULL, errp);
}

/* A server that does not listen yet: the part both constructors share. */
static HttpServer *server_new(QmpDispatcher *d, const char *dashboard_dir,
                              const HttpServerLimits *limits)
{
    HttpServer *s = g_new0(HttpServer, 1);

    s->dispatcher = d;
    s->ctx = g_main_context_ref_thread_default();
    s->listen_fd = -1;
    limits_init(&s->limits, limits);
    g_queue_init(&s->waiting);
    g_queue_init(&s->sse_clients);
    http_metrics_init(&s->metrics);
    if (dashboard_dir) {
        s->dashboard_dir = http_static_resolve_dir(dashboard_dir);
        if (!s->dashboard_dir) {
            g_debug("http: dashboard directory %s not found", dashboard_dir);
        }
    }
    return s;
}

HttpServer *http_server_new_full(QmpDispatcher *d, const char *address, const char *dashboard_dir,
                                 const HttpServerLimits *limits, GError **errp)
{
    GSocket *sock = address_listen_inet("http address", address, errp);
    if (!sock) {
        return NULL;
    }
    return http_server_new_socket(d, sock, address, dashboard_dir, limits, errp);
}

HttpServer *http_server_new_socket(QmpDispatcher *d, GSocket *sock, const char *address,
                                   const char *dashboard_dir, const HttpServerLimits *limits,
                                   GError **errp)
{
    HttpServer *s = server_new(d, dashboard_dir, limits);
    if (!listen_on_socket(s, sock, address, errp)) {
        http_server_free(s);
        return NULL;
    }
    s->daemon = MHD_start_daemon(
        MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0,
        NULL, NULL, on_access, s,
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
        MHD_OPTION_LISTEN_SOCKET, s->listen_fd,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)s->limits.idle_timeout_s,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)s->limits.max_connections,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
        MHD_OPTION_URI_LOG_CALLBACK, on_request_line, s,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_END);
    if (!s->daemon) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_IO,
                    "http address '%s': cannot start libmicrohttpd", address);
        http_server_free(s);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    if (!di) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_IO,
                    "http address '%s': libmicrohttpd has no epoll descriptor", address);
        http_server_free(s);
        return NULL;
    }

    s->source = g_source_new(&mhd_source_funcs, sizeof(MhdSource));
    ((MhdSource *)s->source)->server = s;
    g_source_set_name(s->source, "vmscope http");
    s->epoll_tag = g_source_add_unix_fd(s->source, di->epoll_fd, G_IO_IN);
    g_source_attach(s->source, s->ctx);

    s->reaper = g_source_new(&reaper_funcs, sizeof(GSource));
    g_source_set_callback(s->reaper, NULL, s, NULL);
    g_source_set_name(s->reaper, "vmscope http request deadline");
    g_source_attach(s->reaper, s->ctx);
    reaper_arm(s);

    s->event_listener = qmp_dispatcher_add_event_listener(d, http_events_on_event, s);
    return s;
}

static void destroy_source(GSource **src)
{
    if (*src) {
        g_source_destroy(*src);
        g_source_unref(*src);
        *src = NULL;
    }
}

void http_server_free(HttpServer *s)
{
    if (!s) {
        return;
    }
    s->stopping = true;
    if (s->event_listener) {
        qmp_dispatcher_remove_event_listener(s->dispatcher, s->event_listener);
    }
    if (s->daemon) {
        /* Suspended streams must be resumed before MHD may stop. */
        http_events_stop(s);
        MHD_socket fd = MHD_quiesce_daemon(s->daemon);
        MHD_run(s->daemon);
        MHD_stop_daemon(s->daemon);
        if (fd != MHD_INVALID_SOCKET) {
            close(fd);
        }
        s->listen_fd = -1;
    }
    if (s->listen_fd >= 0) {
        close(s->listen_fd);
    }
    destroy_source(&s->source);
    destroy_source(&s->reaper);
    destroy_source(&s->keepalive);
    http_metrics_free(&s->metrics);
    g_main_context_unref(s->ctx);
    g_free(s->bound_host);
    g_free(s->url);
    g_free(s->dashboard_dir);
    g_free(s);
}

guint16 http_server_port(const HttpServer *s)
{
    return s->port;
}

const char *http_server_url(const HttpServer *s)
{
    return s->url;
}

guint http_server_sse_client_count(const HttpServer *s)
{
    return s->sse_clients.length;
}

/*
 * HTTP bridge: GET /api/events, the dispatcher's events as Server-Sent
 * Events (https://html.spec.whatwg.org/multipage/server-sent-events.html).
 *
 * Each event is formatted once, as
 *
 *   event: DEVICE_STATE_CHANGED
 *   data: {"timestamp": {...}, "event": "DEVICE_STATE_CHANGED", "data": {...}}
 *   <empty line>
 *
 * (the data line is the whole QMP event, on one line: JSON text never
 * holds a raw newline), and the same bytes are queued for every client.
 * A stream starts with a "retry:" field and a comment, so that its headers
 * and first bytes leave at once, and a comment line is sent every
 * sse_keepalive_ms while clients are connected, so that proxies keep the
 * connection and a vanished client is noticed.
 *
 * MHD pulls a stream's bytes through sse_read() whenever the socket can
 * take more.  With nothing queued the connection is suspended (MHD then
 * leaves it alone) and queuing something resumes it.  A client's queue is
 * bounded: when an event does not fit, the client is dropped (its stream
 * ends with an error, a browser reconnects and reads everything again),
 * and the others never wait for it.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "http-impl.h"
#include "qmp-json.h"

#define SSE_BLOCK_SIZE (16u << 10)

static const char sse_hello[] = "retry: 2000\n: vmscope events\n\n";
static const char sse_keepalive[] = ": keepalive\n\n";

static void sse_clear(SseClient *c)
{
    g_queue_clear_full(&c->queue, (GDestroyNotify)g_bytes_unref);
    c->head_off = 0;
    c->queued = 0;
}

static void sse_wake(SseClient *c)
{
    if (c->suspended) {
        c->suspended = false;
        MHD_resume_connection(c->mhd);
        http_server_kick(c->server);
    }
}

/*
 * A client that does not keep up: it gets nothing more and leaves the list
 * at once.  Its socket is shut down, because MHD may be waiting for room
 * in it and so not ask sse_read() for anything until the idle timeout.
 */
static void sse_drop(SseClient *c)
{
    HttpServer *s = c->server;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c->mhd, MHD_CONNECTION_INFO_CONNECTION_FD);

    g_debug("http: event stream client too slow (%zu bytes queued): dropped", c->queued);
    c->dropped = true;
    s->metrics.sse_dropped++;
    sse_clear(c);
    g_queue_unlink(&s->sse_clients, &c->link);
    c->link.data = NULL;
    if (ci && shutdown(ci->connect_fd, SHUT_RDWR) != 0) {
        g_debug("http: shutdown: %s", g_strerror(errno));
    }
}

static void sse_push(SseClient *c, GBytes *msg)
{
    HttpServer *s = c->server;
    size_t len = g_bytes_get_size(msg);

    if (c->dropped) {
        return;
    }
    if (c->queued + len > s->limits.sse_max_queue) {
        sse_drop(c);
    } else {
        g_queue_push_tail(&c->queue, g_bytes_ref(msg));
        c->queued += len;
    }
    sse_wake(c);
}

static void sse_push_all(HttpServer *s, GBytes *msg)
{
    GList *next;
    for (GList *l = s->sse_clients.head; l; l = next) {
        next = l->next;         /* l may leave the list */
        sse_push(l->data, msg);
    }
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    SseClient *c = cls;
    size_t n = 0;

    if (c->dropped) {
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    while (n < max && !g_queue_is_empty(&c->queue)) {
        GBytes *b = g_queue_peek_head(&c->queue);
        gsize len;
        const char *data = g_bytes_get_data(b, &len);
        size_t take = MIN(len - c->head_off, max - n);

        memcpy(buf + n, data + c->head_off, take);
        n += take;
        c->head_off += take;
        c->queued -= take;
        if (c->head_off == len) {
            g_bytes_unref(g_queue_pop_head(&c->queue));
            c->head_off = 0;
        }
    }
    if (n) {
        return (ssize_t)n;
    }
    if (c->server->stopping) {
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    /* Nothing to send: MHD leaves the connection alone until sse_wake(). */
    c->suspended = true;
    MHD_suspend_connection(c->mhd);
    return 0;
}

/* The stream's response is gone (connection closed): forget the client. */
static void sse_free(void *cls)
{
    SseClient *c = cls;
    if (c->link.data) {
        g_queue_unlink(&c->server->sse_clients, &c->link);
    }
    sse_clear(c);
    g_free(c);
}

static gboolean keepalive_tick(gpointer data)
{
    HttpServer *s = data;
    if (g_queue_is_empty(&s->sse_clients)) {
        g_source_unref(s->keepalive);
        s->keepalive = NULL;
        return G_SOURCE_REMOVE;
    }
    g_autoptr(GBytes) msg = g_bytes_new_static(sse_keepalive, strlen(sse_keepalive));
    sse_push_all(s, msg);
    return G_SOURCE_CONTINUE;
}

enum MHD_Result http_events_serve(HttpRequest *r)
{
    HttpServer *s = r->server;
    SseClient *c = g_new0(SseClient, 1);

    c->server = s;
    c->mhd = r->mhd;
    c->link.data = c;
    g_queue_init(&c->queue);
    g_queue_push_tail_link(&s->sse_clients, &c->link);

    struct MHD_Response *rsp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, SSE_BLOCK_SIZE,
                                                                 sse_read, c, sse_free);
    if (!rsp) {
        sse_free(c);
        return MHD_NO;
    }
    g_autoptr(GBytes) hello = g_bytes_new_static(sse_hello, strlen(sse_hello));
    sse_push(c, hello);
    MHD_add_response_header(rsp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(rsp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(rsp, "X-Accel-Buffering", "no");

    if (!s->keepalive && !s->stopping) {
        s->keepalive = g_timeout_source_new(s->limits.sse_keepalive_ms);
        g_source_set_callback(s->keepalive, keepalive_tick, s, NULL);
        g_source_set_name(s->keepalive, "vmscope http event keep-alive");
        g_source_attach(s->keepalive, s->ctx);
    }
    return http_respond(r, MHD_HTTP_OK, rsp);
}

void http_events_on_event(QObject *event, void *opaque)
{
    HttpServer *s = opaque;
    const char *name = qdict_get_str(event, "event");

    if (s->stopping || !name || strpbrk(name, "\r\n")) {
        return;
    }
    s->metrics.sse_events++;
    if (g_queue_is_empty(&s->sse_clients)) {
        return;
    }
    GString *msg = g_string_sized_new(256);
    g_string_append(msg, "event: ");
    g_string_append(msg, name);
    g_string_append(msg, "\ndata: ");
    qmp_json_append(msg, event);
    g_string_append(msg, "\n\n");
    g_autoptr(GBytes) bytes = g_string_free_to_bytes(msg);
    sse_push_all(s, bytes);
}

void http_events_stop(HttpServer *s)
{
    for (GList *l = s->sse_clients.head; l; l = l->next) {
        sse_wake(l->data);
    }
}

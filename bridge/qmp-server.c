/*
 * QMP server: see qmp-server.h.
 *
 * Plain non-blocking GSockets on the server's context: one GSource per
 * listening socket, and the clients in one epoll set that a single GSource
 * watches.  A client is in the set for reading while it may send more and
 * for writing while output is pending, and out of it when it wants neither
 * (epoll always reports a hang-up, which would spin a client that waits
 * for nothing).  One epoll set rather than a GSource per client: GLib
 * polls every source's descriptor on every loop iteration, which with a few
 * hundred clients costs more than the requests themselves (bench-load: the
 * kernel's poll of 200 idle clients was most of the agent's time).
 * A client that fails is closed at once but
 * freed from an idle callback, because the failure may be noticed deep
 * inside a callback that still uses it (a command handler emitting an
 * event that cannot be written, for instance).
 *
 * Events are queued to every client at once but written by one flush
 * source that runs when the main loop comes round (before any idle
 * source): the events of one go (the agent's change walks emit several in
 * a row) leave in one send per client, not one send per event per client.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>

#include "qmp-json.h"
#include "qmp-server.h"
#include "vmscope/address.h"
#include "vmscope/error.h"

/* Unread output above which a client's next requests wait. */
#define OUT_HIGH_WATERMARK (64u << 10)
#define READ_CHUNK (64u << 10)
/* Pause before accepting again after accept() failed (e.g. out of fds). */
#define ACCEPT_RETRY_MS 100

typedef struct QmpListener {
    QmpServer *server;
    GSocket *sock;
    GSource *src;
    GSource *retry;        /* timeout while accepting is paused */
} QmpListener;

typedef struct QmpConn {
    QmpServer *server;
    GSocket *sock;
    char *name;            /* "client 3 on unix:/run/a.qmp", for what is reported */
    int fd;
    uint32_t ep_events;    /* what it is in the epoll set for; 0: not in it */
    QmpJsonParser *parser;
    GByteArray *in;        /* received, not yet parsed */
    size_t in_off;
    GString *out;          /* not yet written */
    size_t out_off;
    size_t max_output;
    bool negotiated;
    bool eof;              /* the peer will send nothing more */
    bool dead;
} QmpConn;

struct QmpServer {
    QmpDispatcher *dispatcher;
    GMainContext *ctx;
    guint listener_id;
    GPtrArray *listeners;  /* QmpListener * */
    GPtrArray *conns;      /* QmpConn *, alive */
    GPtrArray *zombies;    /* QmpConn *, closed, to free */
    GSource *reaper;
    GSource *flush;        /* writes what broadcast() queued; ready when armed */
    int epfd;              /* the clients */
    GSource *clients;      /* watches epfd */
    size_t max_request;
    size_t max_output;
    gid_t group;           /* of Unix socket files; (gid_t)-1: the process's */
    QmpServerDropFunc drop_fn;
    void *drop_opaque;
    unsigned next_client;  /* numbers clients in the messages */
};

static void conn_update_sources(QmpConn *c);
static void conn_process(QmpConn *c);

static size_t conn_pending(const QmpConn *c)
{
    return c->out->len - c->out_off;
}

static void destroy_source(GSource **src)
{
    if (*src) {
        g_source_destroy(*src);
        g_source_unref(*src);
        *src = NULL;
    }
}

static void conn_free(QmpConn *c)
{
    g_clear_object(&c->sock);
    qmp_json_parser_free(c->parser);
    g_byte_array_unref(c->in);
    g_string_free(c->out, TRUE);
    g_free(c->name);
    g_free(c);
}

static gboolean reap(gpointer data)
{
    QmpServer *s = data;
    g_ptr_array_set_size(s->zombies, 0);
    g_source_unref(s->reaper);
    s->reaper = NULL;
    return G_SOURCE_REMOVE;
}

/* Close a client now; free it once the current callback is over. */
static void conn_drop(QmpConn *c)
{
    QmpServer *s = c->server;

    if (c->dead) {
        return;
    }
    c->dead = true;
    if (c->ep_events) {
        epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
        c->ep_events = 0;
    }
    g_socket_close(c->sock, NULL);
    g_ptr_array_remove_fast(s->conns, c);
    g_ptr_array_add(s->zombies, c);
    if (!s->reaper) {
        s->reaper = g_idle_source_new();
        g_source_set_callback(s->reaper, reap, s, NULL);
        g_source_attach(s->reaper, s->ctx);
    }
}

/* Write what the socket takes now; false if the client had to be dropped. */
static bool conn_write(QmpConn *c)
{
    while (!c->dead && conn_pending(c) > 0) {
        g_autoptr(GError) err = NULL;
        gssize n = g_socket_send(c->sock, c->out->str + c->out_off, conn_pending(c), NULL, &err);
        if (n < 0) {
            if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
                break;
            }
            conn_drop(c);
            return false;
        }
        c->out_off += (size_t)n;
    }
    if (conn_pending(c) == 0) {
        g_string_truncate(c->out, 0);
        c->out_off = 0;
    } else if (c->out_off >= READ_CHUNK && c->out_off >= c->out->len / 2) {
        g_string_erase(c->out, 0, (gssize)c->out_off);
        c->out_off = 0;
    }
    return !c->dead;
}

static void conn_queue(QmpConn *c, const QObject *msg)
{
    qmp_json_append(c->out, msg);
    g_string_append(c->out, "\r\n");
}

static void conn_on_writable(QmpConn *c)
{
    if (conn_write(c)) {
        /* Answers drained: requests that waited may go on. */
        conn_process(c);
    }
}

static void conn_on_readable(QmpConn *c)
{
    char buf[READ_CHUNK];
    g_autoptr(GError) err = NULL;

    gssize n = g_socket_receive(c->sock, buf, sizeof(buf), NULL, &err);
    if (n < 0) {
        if (!g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
            conn_drop(c);
        }
        return;
    }
    if (n == 0) {
        c->eof = true;
    } else {
        g_byte_array_append(c->in, (const guint8 *)buf, (guint)n);
    }
    conn_process(c);
}

/* Put the client in the epoll set for what its state calls for. */
static void conn_update_sources(QmpConn *c)
{
    if (c->dead) {
        return;
    }
    bool want_read = !c->eof && c->in_off == c->in->len && conn_pending(c) < OUT_HIGH_WATERMARK;
    /*
     * Requests left unanswered while the output was full are answered from
     * the write callback: keep it while there are any, even when something
     * else (an event's broadcast) drained the output meanwhile.
     */
    bool want_write = conn_pending(c) > 0 || c->in_off < c->in->len;

    uint32_t want = (want_read ? EPOLLIN : 0) | (want_write ? EPOLLOUT : 0);
    if (want == c->ep_events) {
        return;
    }
    struct epoll_event ev = { .events = want, .data.ptr = c };
    int op = !c->ep_events ? EPOLL_CTL_ADD : want ? EPOLL_CTL_MOD : EPOLL_CTL_DEL;
    if (epoll_ctl(c->server->epfd, op, c->fd, &ev) < 0) {
        g_debug("qmp: %s: epoll_ctl: %s", c->name, g_strerror(errno));
        conn_drop(c);
        return;
    }
    c->ep_events = want;
}

/* The clients' epoll set has something: serve up to a batch of them. */
static gboolean clients_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
    QmpServer *s = data;
    struct epoll_event evs[64];
    int n = epoll_wait(s->epfd, evs, G_N_ELEMENTS(evs), 0);

    /*
     * A client dropped while serving an earlier one stays allocated until
     * the reaper runs (after this callback): c->dead says so.
     */
    for (int i = 0; i < n; i++) {
        QmpConn *c = evs[i].data.ptr;
        bool hup = evs[i].events & (EPOLLHUP | EPOLLERR);
        if (!c->dead && (c->ep_events & EPOLLIN) && (evs[i].events & EPOLLIN || hup)) {
            conn_on_readable(c);
        }
        if (!c->dead && (c->ep_events & EPOLLOUT) && (evs[i].events & EPOLLOUT || hup)) {
            conn_on_writable(c);
        }
    }
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs clients_funcs = { .dispatch = clients_dispatch };

/* Answer the requests received so far, as far as unread output allows. */
static void conn_process(QmpConn *c)
{
again:
    while (!c->dead && c->in_off < c->in->len && conn_pending(c) < OUT_HIGH_WATERMARK) {
        size_t used = 0;
        QObject *req = NULL;
        g_autoptr(GError) err = NULL;
        QmpJsonStatus st = qmp_json_parser_feed(c->parser, (const char *)c->in->data + c->in_off,
                                                c->in->len - c->in_off, &used, &req, &err);
        c->in_off += used;
        if (st == QMP_JSON_VALUE) {
            g_autoptr(QObject) owned = req;
            g_autoptr(QObject) rsp = qmp_dispatch(c->server->dispatcher, owned, &c->negotiated);
            if (!c->dead) {
                conn_queue(c, rsp);
            }
        } else if (st == QMP_JSON_ERROR) {
            g_autoptr(QObject) rsp = qmp_error_response(err);
            conn_queue(c, rsp);
        }
    }
    if (c->dead) {
        return;
    }
    if (c->in_off == c->in->len) {
        g_byte_array_set_size(c->in, 0);
        c->in_off = 0;
    }
    if (!conn_write(c)) {
        return;
    }
    /*
     * Stopped at the watermark, and the socket took it all: go on with the
     * requests left, or nothing would (no source waits for output or input
     * then).  Events queued meanwhile (the agent's burst of DEVICE_DELETED
     * when a host goes) are what fills the output between two requests.
     */
    if (c->in_off < c->in->len && conn_pending(c) < OUT_HIGH_WATERMARK) {
        goto again;
    }
    if (c->eof && c->in_off == c->in->len && conn_pending(c) == 0) {
        conn_drop(c);       /* everything the peer sent is answered */
        return;
    }
    conn_update_sources(c);
}

/* "client N from tcp:HOST:PORT", or "client N on unix:PATH" (its peer has no name). */
static char *conn_name(QmpServer *s, GSocket *sock)
{
    unsigned n = ++s->next_client;
    g_autoptr(GSocketAddress) peer = g_socket_get_remote_address(sock, NULL);
    if (peer && !G_IS_UNIX_SOCKET_ADDRESS(peer)) {
        g_autofree char *from = address_to_string(peer);
        return g_strdup_printf("client %u from %s", n, from);
    }
    g_autoptr(GSocketAddress) local = g_socket_get_local_address(sock, NULL);
    g_autofree char *on = local ? address_to_string(local) : g_strdup("a socket");
    return g_strdup_printf("client %u on %s", n, on);
}

static void conn_new(QmpServer *s, GSocket *sock)
{
    QmpConn *c = g_new0(QmpConn, 1);
    c->server = s;
    c->sock = sock;
    c->fd = g_socket_get_fd(sock);
    c->parser = qmp_json_parser_new(s->max_request);
    c->in = g_byte_array_new();
    c->out = g_string_new(NULL);
    c->max_output = s->max_output;
    c->name = conn_name(s, sock);
    g_socket_set_blocking(sock, FALSE);
    if (g_socket_get_family(sock) != G_SOCKET_FAMILY_UNIX) {
        /* Small answers go out at once (latency over throughput). */
        g_autoptr(GError) ignored = NULL;
        if (!g_socket_set_option(sock, IPPROTO_TCP, TCP_NODELAY, 1, &ignored)) {
            g_debug("qmp: TCP_NODELAY: %s", ignored->message);
        }
    }
    g_ptr_array_add(s->conns, c);

    g_autoptr(QObject) greeting = qmp_dispatcher_greeting(s->dispatcher);
    conn_queue(c, greeting);
    if (conn_write(c)) {
        conn_update_sources(c);
    }
}

/* ---- listening ---------------------------------------------------------- */

static gboolean listener_on_incoming(GSocket *sock, GIOCondition cond, gpointer data);

static void listener_attach(QmpListener *l)
{
    l->src = g_socket_create_source(l->sock, G_IO_IN, NULL);
    g_source_set_callback(l->src, (GSourceFunc)(void (*)(void))listener_on_incoming, l, NULL);
    g_source_attach(l->src, l->server->ctx);
}

static gboolean listener_retry(gpointer data)
{
    QmpListener *l = data;
    g_source_unref(l->retry);
    l->retry = NULL;
    listener_attach(l);
    return G_SOURCE_REMOVE;
}

static gboolean listener_on_incoming(GSocket *sock, GIOCondition cond, gpointer data)
{
    QmpListener *l = data;

    for (;;) {
        g_autoptr(GError) err = NULL;
        GSocket *client = g_socket_accept(l->sock, NULL, &err);
        if (client) {
            conn_new(l->server, client);
            continue;
        }
        if (!g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
            /* Out of descriptors or the like: do not spin, try again later. */
            g_debug("qmp: accept: %s", err->message);
            destroy_source(&l->src);
            l->retry = g_timeout_source_new(ACCEPT_RETRY_MS);
            g_source_set_callback(l->retry, listener_retry, l, NULL);
            g_source_attach(l->retry, l->server->ctx);
            return G_SOURCE_REMOVE;
        }
        return G_SOURCE_CONTINUE;
    }
}

static void listener_free(gpointer data)
{
    QmpListener *l = data;
    destroy_source(&l->src);
    destroy_source(&l->retry);
    address_listener_close(l->sock);
    g_free(l);
}

bool qmp_server_listen(QmpServer *s, const char *address, char **bound, GError **errp)
{
    GSocket *sock = address_listen_group("QMP address", address, s->group, bound, errp);
    if (!sock) {
        return false;
    }
    qmp_server_listen_socket(s, sock);
    return true;
}

void qmp_server_listen_socket(QmpServer *s, GSocket *sock)
{
    QmpListener *l = g_new0(QmpListener, 1);
    l->server = s;
    l->sock = sock;
    listener_attach(l);
    g_ptr_array_add(s->listeners, l);
}

/* ---- the server --------------------------------------------------------- */

/* A client that does not read its events: drop it, and say so. */
static void conn_drop_over_limit(QmpConn *c, size_t more)
{
    QmpServer *s = c->server;
    g_autoptr(GError) why = g_error_new(VMS_ERROR, VMS_ERROR_RANGE,
                                        "%s: %zu bytes of output unread and %zu more to send, "
                                        "over the limit of %zu: disconnected", c->name,
                                        conn_pending(c), more, c->max_output);
    conn_drop(c);
    if (s->drop_fn) {
        s->drop_fn(why, s->drop_opaque);
    }
}

static gboolean flush_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
    QmpServer *s = data;
    g_source_set_ready_time(src, -1);
    /* Writing may drop a client, which changes s->conns: walk a copy. */
    g_autoptr(GPtrArray) conns = g_ptr_array_copy(s->conns, NULL, NULL);
    for (guint i = 0; i < conns->len; i++) {
        QmpConn *c = g_ptr_array_index(conns, i);
        if (!c->dead && conn_pending(c) > 0 && !(c->ep_events & EPOLLOUT) && conn_write(c)) {
            conn_update_sources(c);
        }
    }
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs flush_funcs = { .dispatch = flush_dispatch };

static void broadcast(QmpServer *s, QObject *event)
{
    g_autoptr(GString) text = g_string_new(NULL);
    qmp_json_append(text, event);
    g_string_append(text, "\r\n");

    /* Dropping a client changes s->conns: walk a copy. */
    g_autoptr(GPtrArray) conns = g_ptr_array_copy(s->conns, NULL, NULL);
    for (guint i = 0; i < conns->len; i++) {
        QmpConn *c = g_ptr_array_index(conns, i);
        if (c->dead || !c->negotiated) {
            continue;
        }
        if (conn_pending(c) + text->len > c->max_output) {
            conn_drop_over_limit(c, text->len);
            continue;
        }
        g_string_append_len(c->out, text->str, (gssize)text->len);
    }
    g_source_set_ready_time(s->flush, 0);
}

static void on_dispatcher_event(QObject *event, void *opaque)
{
    broadcast(opaque, event);
}

QmpServer *qmp_server_new(QmpDispatcher *d, GMainContext *ctx)
{
    QmpServer *s = g_new0(QmpServer, 1);
    s->dispatcher = d;
    s->ctx = ctx ? g_main_context_ref(ctx) : g_main_context_ref(g_main_context_default());
    s->listeners = g_ptr_array_new_with_free_func(listener_free);
    s->conns = g_ptr_array_new();
    s->zombies = g_ptr_array_new_with_free_func((GDestroyNotify)conn_free);
    s->max_request = QMP_SERVER_DEFAULT_MAX_REQUEST;
    s->max_output = QMP_SERVER_DEFAULT_MAX_OUTPUT;
    s->group = (gid_t)-1;
    s->flush = g_source_new(&flush_funcs, sizeof(GSource));
    g_source_set_callback(s->flush, NULL, s, NULL);
    g_source_set_name(s->flush, "vmscope qmp event flush");
    g_source_attach(s->flush, s->ctx);
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (s->epfd < 0) {
        g_error("qmp: epoll_create1: %s", g_strerror(errno));   /* out of memory or fds */
    }
    s->clients = g_source_new(&clients_funcs, sizeof(GSource));
    g_source_set_callback(s->clients, NULL, s, NULL);
    g_source_set_name(s->clients, "vmscope qmp clients");
    g_source_add_unix_fd(s->clients, s->epfd, G_IO_IN);
    g_source_attach(s->clients, s->ctx);
    s->listener_id = qmp_dispatcher_add_event_listener(d, on_dispatcher_event, s);
    return s;
}

void qmp_server_free(QmpServer *s)
{
    if (!s) {
        return;
    }
    qmp_dispatcher_remove_event_listener(s->dispatcher, s->listener_id);
    g_ptr_array_free(s->listeners, TRUE);
    while (s->conns->len > 0) {
        conn_drop(g_ptr_array_index(s->conns, 0));
    }
    g_ptr_array_free(s->conns, TRUE);
    destroy_source(&s->reaper);
    destroy_source(&s->flush);
    destroy_source(&s->clients);
    close(s->epfd);
    g_ptr_array_free(s->zombies, TRUE);
    g_main_context_unref(s->ctx);
    g_free(s);
}

void qmp_server_set_limits(QmpServer *s, size_t max_request, size_t max_output)
{
    if (max_request) {
        s->max_request = max_request;
    }
    if (max_output) {
        s->max_output = max_output;
    }
}

void qmp_server_set_group(QmpServer *s, gid_t group)
{
    s->group = group;
}

void qmp_server_set_drop_func(QmpServer *s, QmpServerDropFunc fn, void *opaque)
{
    s->drop_fn = fn;
    s->drop_opaque = opaque;
}

void qmp_server_emit_event(QmpServer *s, const char *name, QObject *data)
{
    g_autoptr(QObject) ev = qmp_event_new(name, data);
    broadcast(s, ev);
}

guint qmp_server_client_count(const QmpServer *s)
{
    return s->conns->len;
}

bool qmp_server_flush(QmpServer *s, int timeout_ms)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

    for (;;) {
        g_autoptr(GArray) fds = g_array_new(FALSE, TRUE, sizeof(GPollFD));
        g_autoptr(GPtrArray) conns = g_ptr_array_copy(s->conns, NULL, NULL);
        for (guint i = 0; i < conns->len; i++) {
            QmpConn *c = g_ptr_array_index(conns, i);
            if (conn_write(c) && conn_pending(c) > 0) {
                GPollFD p = { .fd = g_socket_get_fd(c->sock), .events = G_IO_OUT };
                g_array_append_val(fds, p);
            }
        }
        if (fds->len == 0) {
            return true;
        }
        gint64 left = deadline - g_get_monotonic_time();
        if (left <= 0) {
            return false;
        }
        if (g_poll((GPollFD *)(void *)fds->data, fds->len, (gint)((left + 999) / 1000)) < 0 &&
            errno != EINTR) {
            return false;
        }
    }
}

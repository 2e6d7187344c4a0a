/*
 * Helpers shared by the HTTP integration tests: start a server program that
 * prints "http: listening on http://HOST:PORT/", and a raw HTTP/1.1 client
 * over a plain TCP socket that sends exact bytes and reads the answer as it
 * comes (status line, headers, a body by Content-Length, chunked, or up to
 * the end of the connection), with Server-Sent Events parsed from a stream.
 * Every read and write gives up after HT_TIMEOUT_S seconds.
 */
#ifndef VMSCOPE_TESTS_HTTP_TEST_UTIL_H
#define VMSCOPE_TESTS_HTTP_TEST_UTIL_H

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <gio/gio.h>

#include "vmscope/qobject.h"

#define HT_TIMEOUT_S 10

/* ---- the server under test ---------------------------------------------- */

typedef struct HtServer {
    GSubprocess *proc;
    GDataInputStream *out;
    char *url;               /* "http://127.0.0.1:PORT/" */
    int port;
    char *qmp_address;       /* from a "listening ADDRESS" line, if any */
} HtServer;

/*
 * Start argv (NULL-terminated) and read its stdout up to the line
 * "http: listening on URL".  NULL if it did not get there.
 */
static inline HtServer *ht_server_start(const char *const *argv)
{
    g_autoptr(GError) err = NULL;
    HtServer *hs = g_new0(HtServer, 1);
    hs->proc = g_subprocess_newv(argv, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE,
                                 &err);
    if (!hs->proc) {
        fprintf(stderr, "cannot start %s: %s\n", argv[0], err->message);
        g_free(hs);
        return NULL;
    }
    hs->out = g_data_input_stream_new(g_subprocess_get_stdout_pipe(hs->proc));
    for (;;) {
        g_autofree char *line = g_data_input_stream_read_line(hs->out, NULL, NULL, &err);
        if (!line) {
            fprintf(stderr, "%s did not start\n", argv[0]);
            break;
        }
        if (g_str_has_prefix(line, "listening ")) {
            hs->qmp_address = g_strdup(line + strlen("listening "));
        }
        const char *url = strstr(line, "http: listening on ");
        if (url) {
            hs->url = g_strdup(url + strlen("http: listening on "));
            const char *colon = strrchr(hs->url, ':');
            hs->port = colon ? atoi(colon + 1) : 0;
            return hs;
        }
    }
    g_subprocess_force_exit(hs->proc);
    g_subprocess_wait(hs->proc, NULL, NULL);
    g_object_unref(hs->out);
    g_object_unref(hs->proc);
    g_free(hs->qmp_address);
    g_free(hs);
    return NULL;
}

/* Close its stdin (it exits), wait; kill it after 10 s.  Its exit status. */
static inline int ht_server_stop(HtServer *hs)
{
    if (!hs) {
        return -1;
    }
    g_output_stream_close(g_subprocess_get_stdin_pipe(hs->proc), NULL, NULL);
    for (int i = 0; i < 1000 && g_subprocess_get_identifier(hs->proc); i++) {
        g_usleep(10000);
    }
    if (g_subprocess_get_identifier(hs->proc)) {
        fprintf(stderr, "server did not exit: killing it\n");
        g_subprocess_force_exit(hs->proc);
    }
    g_subprocess_wait(hs->proc, NULL, NULL);
    int status = g_subprocess_get_if_exited(hs->proc) ? g_subprocess_get_exit_status(hs->proc) : -1;
    g_object_unref(hs->out);
    g_object_unref(hs->proc);
    g_free(hs->url);
    g_free(hs->qmp_address);
    g_free(hs);
    return status;
}

/* ---- a raw client ------------------------------------------------------- */

typedef struct HtConn {
    int fd;
    GByteArray *in;          /* received, not yet consumed */
    bool eof;
} HtConn;

/* A connection to 127.0.0.1:port; rcvbuf > 0 sets SO_RCVBUF first. */
static inline HtConn *ht_connect_opt(int port, int rcvbuf)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
    struct timeval tv = { .tv_sec = HT_TIMEOUT_S };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    if (fd < 0) {
        return NULL;
    }
    if (rcvbuf > 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
        fprintf(stderr, "connect 127.0.0.1:%d: %s\n", port, g_strerror(errno));
        close(fd);
        return NULL;
    }
    HtConn *c = g_new0(HtConn, 1);
    c->fd = fd;
    c->in = g_byte_array_new();
    return c;
}

static inline HtConn *ht_connect(int port)
{
    return ht_connect_opt(port, 0);
}

static inline void ht_close(HtConn *c)
{
    if (c) {
        close(c->fd);
        g_byte_array_unref(c->in);
        g_free(c);
    }
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HtConn, ht_close)

static inline bool ht_send(HtConn *c, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static inline bool ht_send_str(HtConn *c, const char *s)
{
    return ht_send(c, s, strlen(s));
}

/* Read what is there (waiting up to timeout_ms); false at EOF, error, timeout. */
static inline bool ht_fill_timeout(HtConn *c, int timeout_ms)
{
    char buf[65536];
    struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
    if (c->eof) {
        return false;
    }
    int rc = poll(&pfd, 1, timeout_ms);
    if (rc <= 0) {
        return false;
    }
    ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
    if (n <= 0) {
        c->eof = true;
        return false;
    }
    g_byte_array_append(c->in, (guint8 *)buf, (guint)n);
    return true;
}

static inline bool ht_fill(HtConn *c)
{
    return ht_fill_timeout(c, HT_TIMEOUT_S * 1000);
}

static inline void ht_consume(HtConn *c, size_t n)
{
    g_byte_array_remove_range(c->in, 0, (guint)n);
}

/* A line ending in "\r\n" (returned without it), or NULL. */
static inline char *ht_read_line(HtConn *c)
{
    for (;;) {
        for (guint i = 0; i + 1 < c->in->len; i++) {
            if (c->in->data[i] == '\r' && c->in->data[i + 1] == '\n') {
                char *line = g_strndup((char *)c->in->data, i);
                ht_consume(c, i + 2);
                return line;
            }
        }
        if (!ht_fill(c)) {
            return NULL;
        }
    }
}

static inline bool ht_read_exact(HtConn *c, size_t n, GString *out)
{
    while (c->in->len < n) {
        if (!ht_fill(c)) {
            return false;
        }
    }
    g_string_append_len(out, (char *)c->in->data, (gssize)n);
    ht_consume(c, n);
    return true;
}

typedef struct HtReply {
    int status;
    char *reason;
    GHashTable *headers;     /* lower-case name -> value */
    GString *body;
    bool chunked;
} HtReply;

static inline void ht_reply_free(HtReply *r)
{
    if (r) {
        g_free(r->reason);
        g_hash_table_destroy(r->headers);
        g_string_free(r->body, TRUE);
        g_free(r);
    }
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HtReply, ht_reply_free)

static inline const char *ht_header(const HtReply *r, const char *name)
{
    g_autofree char *lower = g_ascii_strdown(name, -1);
    return g_hash_table_lookup(r->headers, lower);
}

/* Status line and headers only (the body is left on the connection). */
static inline HtReply *ht_read_head(HtConn *c)
{
    g_autofree char *status = ht_read_line(c);
    if (!status) {
        return NULL;
    }
    HtReply *r = g_new0(HtReply, 1);
    r->headers = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    r->body = g_string_new(NULL);
    if (sscanf(status, "HTTP/1.%*d %d", &r->status) != 1) {
        fprintf(stderr, "bad status line: %s\n", status);
        ht_reply_free(r);
        return NULL;
    }
    const char *sp = strchr(status + 9, ' ');
    r->reason = g_strdup(sp ? sp + 1 : "");
    for (;;) {
        g_autofree char *line = ht_read_line(c);
        if (!line) {
            ht_reply_free(r);
            return NULL;
        }
        if (!line[0]) {
            break;
        }
        char *colon = strchr(line, ':');
        if (colon) {
            *colon = '\0';
            g_hash_table_insert(r->headers, g_ascii_strdown(line, -1),
                                g_strstrip(g_strdup(colon + 1)));
        }
    }
    const char *te = ht_header(r, "Transfer-Encoding");
    r->chunked = te && g_ascii_strcasecmp(te, "chunked") == 0;
    return r;
}

/* One chunk of a chunked body into out; 0 at the last chunk, -1 on error. */
static inline int ht_read_chunk(HtConn *c, GString *out)
{
    g_autofree char *size_line = ht_read_line(c);
    if (!size_line) {
        return -1;
    }
    size_t size = (size_t)g_ascii_strtoull(size_line, NULL, 16);
    if (size == 0) {
        /* Trailers, up to the empty line. */
        for (;;) {
            g_autofree char *t = ht_read_line(c);
            if (!t) {
                return -1;
            }
            if (!t[0]) {
                return 0;
            }
        }
    }
    if (!ht_read_exact(c, size, out)) {
        return -1;
    }
    g_autofree char *crlf = ht_read_line(c);
    return crlf && !crlf[0] ? 1 : -1;
}

/* A whole answer; head: the request was HEAD (no body follows). */
static inline HtReply *ht_read_reply_ex(HtConn *c, bool head)
{
    HtReply *r = ht_read_head(c);
    if (!r || head || r->status == 204 || r->status == 304) {
        return r;
    }
    const char *cl = ht_header(r, "Content-Length");
    bool ok = true;
    if (r->chunked) {
        int rc;
        while ((rc = ht_read_chunk(c, r->body)) > 0) {
        }
        ok = rc == 0;
    } else if (cl) {
        ok = ht_read_exact(c, (size_t)g_ascii_strtoull(cl, NULL, 10), r->body);
    } else {
        while (ht_fill(c)) {
        }
        g_string_append_len(r->body, (char *)c->in->data, c->in->len);
        ht_consume(c, c->in->len);
    }
    if (!ok) {
        ht_reply_free(r);
        return NULL;
    }
    return r;
}

static inline HtReply *ht_read_reply(HtConn *c)
{
    return ht_read_reply_ex(c, false);
}

/* Send raw bytes on a new connection and read one answer. */
static inline HtReply *ht_raw(int port, const char *request)
{
    g_autoptr(HtConn) c = ht_connect(port);
    if (!c || !ht_send_str(c, request)) {
        return NULL;
    }
    return ht_read_reply_ex(c, g_str_has_prefix(request, "HEAD "));
}

/* METHOD path with Host: 127.0.0.1:port, extra headers (each ending in \r\n), body. */
static inline HtReply *ht_request(int port, const char *method, const char *path,
                                  const char *headers, const char *body)
{
    g_autoptr(GString) req = g_string_new(NULL);
    g_string_printf(req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n%s",
                    method, path, port, headers ? headers : "");
    if (body) {
        g_string_append_printf(req, "Content-Length: %zu\r\n", strlen(body));
    }
    g_string_append(req, "\r\n");
    if (body) {
        g_string_append(req, body);
    }
    return ht_raw(port, req->str);
}

static inline HtReply *ht_get(int port, const char *path)
{
    return ht_request(port, "GET", path, NULL, NULL);
}

/* POST /api/qmp with a JSON body. */
static inline HtReply *ht_qmp(int port, const char *body)
{
    return ht_request(port, "POST", "/api/qmp", "Content-Type: application/json\r\n", body);
}

/* The body parsed as JSON (new reference), or NULL with a message. */
static inline QObject *ht_json(const HtReply *r)
{
    QObject *v = NULL;
    g_autoptr(GError) err = NULL;
    if (!r || !qobject_from_json(r->body->str, r->body->len, &v, &err)) {
        fprintf(stderr, "not JSON: %s\n", r ? r->body->str : "(no reply)");
        return NULL;
    }
    return v;
}

/* ---- Server-Sent Events ------------------------------------------------- */

typedef struct HtEvents {
    HtConn *conn;
    HtReply *head;
    GString *text;           /* decoded stream, not yet parsed */
    bool chunked;
} HtEvents;

static inline void ht_events_close(HtEvents *e)
{
    if (e) {
        ht_close(e->conn);
        ht_reply_free(e->head);
        g_string_free(e->text, TRUE);
        g_free(e);
    }
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HtEvents, ht_events_close)

/* GET /api/events (HTTP/1.1, chunked) and read the headers. */
static inline HtEvents *ht_events_open(int port, int rcvbuf)
{
    HtConn *c = ht_connect_opt(port, rcvbuf);
    g_autofree char *req = g_strdup_printf("GET /api/events HTTP/1.1\r\nHost: localhost:%d\r\n"
                                           "Accept: text/event-stream\r\n\r\n", port);
    if (!c || !ht_send_str(c, req)) {
        ht_close(c);
        return NULL;
    }
    HtEvents *e = g_new0(HtEvents, 1);
    e->conn = c;
    e->text = g_string_new(NULL);
    e->head = ht_read_head(c);
    if (!e->head) {
        ht_events_close(e);
        return NULL;
    }
    e->chunked = e->head->chunked;
    return e;
}

typedef struct HtEvent {
    char *name;              /* "message" if the block had no event: field */
    char *data;              /* data: lines joined by "\n"; NULL for a comment-only block */
    char *comment;           /* the last comment line, without ':' */
} HtEvent;

static inline void ht_event_free(HtEvent *ev)
{
    if (ev) {
        g_free(ev->name);
        g_free(ev->data);
        g_free(ev->comment);
        g_free(ev);
    }
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HtEvent, ht_event_free)

/*
 * The next block (up to an empty line) of the stream, or NULL when the
 * stream ended or nothing came within timeout_ms.
 */
static inline HtEvent *ht_events_next(HtEvents *e, int timeout_ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    for (;;) {
        char *sep = strstr(e->text->str, "\n\n");
        if (sep) {
            g_autofree char *block = g_strndup(e->text->str, sep - e->text->str);
            g_string_erase(e->text, 0, sep - e->text->str + 2);
            HtEvent *ev = g_new0(HtEvent, 1);
            g_auto(GStrv) lines = g_strsplit(block, "\n", -1);
            GString *data = NULL;
            for (int i = 0; lines[i]; i++) {
                const char *l = lines[i];
                if (g_str_has_prefix(l, "event:")) {
                    g_free(ev->name);
                    ev->name = g_strdup(l + 6 + (l[6] == ' '));
                } else if (g_str_has_prefix(l, "data:")) {
                    if (!data) {
                        data = g_string_new(NULL);
                    } else {
                        g_string_append_c(data, '\n');
                    }
                    g_string_append(data, l + 5 + (l[5] == ' '));
                } else if (l[0] == ':') {
                    g_free(ev->comment);
                    ev->comment = g_strdup(l + 1 + (l[1] == ' '));
                }
            }
            if (!ev->name) {
                ev->name = g_strdup("message");
            }
            ev->data = data ? g_string_free(data, FALSE) : NULL;
            return ev;
        }
        /* Move what arrived into text, decoding chunks. */
        int left_ms = (int)((end - g_get_monotonic_time()) / 1000);
        if (left_ms <= 0) {
            return NULL;
        }
        if (e->chunked) {
            /* A chunk may be in the buffer already. */
            bool have_line = false;
            for (guint i = 0; i + 1 < e->conn->in->len; i++) {
                if (e->conn->in->data[i] == '\r' && e->conn->in->data[i + 1] == '\n') {
                    have_line = true;
                    break;
                }
            }
            if (!have_line && !ht_fill_timeout(e->conn, left_ms)) {
                return NULL;
            }
            if (have_line || e->conn->in->len) {
                GString *chunk = g_string_new(NULL);
                int rc = ht_read_chunk(e->conn, chunk);
                g_string_append_len(e->text, chunk->str, chunk->len);
                g_string_free(chunk, TRUE);
                if (rc <= 0) {
                    e->conn->eof = true;
                    if (!strstr(e->text->str, "\n\n")) {
                        return NULL;
                    }
                }
            }
        } else {
            if (!e->conn->in->len && !ht_fill_timeout(e->conn, left_ms)) {
                return NULL;
            }
            g_string_append_len(e->text, (char *)e->conn->in->data, e->conn->in->len);
            ht_consume(e->conn, e->conn->in->len);
        }
    }
}

/* The next block that carries data (comments skipped). */
static inline HtEvent *ht_events_next_data(HtEvents *e, int timeout_ms)
{
    for (;;) {
        HtEvent *ev = ht_events_next(e, timeout_ms);
        if (!ev || ev->data) {
            return ev;
        }
        ht_event_free(ev);
    }
}

#endif

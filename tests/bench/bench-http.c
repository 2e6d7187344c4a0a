/*
 * bench-http: the HTTP bridge's throughput and latency, and its event
 * fan-out.
 *
 *   bench-http [--url BASE --path PATH] [--duration S] [--connections LIST]
 *              [--sse-clients N] [--sse-seconds S]
 *
 * 1. GET PATH (a device's state) with wrk (Debian's wrk; --latency) for S
 *    seconds (default 5) at each number of connections in LIST (default
 *    "1,16,64"): requests/s, p50 and p99 latency.
 * 2. Server-Sent Events to N clients (default 100) at once, all on
 *    /api/events: for each event every client received, the time from the
 *    event's timestamp to the last client having it (p50, p99, max).
 *
 * Targets: without --url, a server in this process (its own thread and
 * main loop, as in the agent) whose query-device-state answers a small
 * device's state (fixed JSON of about 300 bytes) and which emits an event
 * every 20 ms while anybody listens; then, if vmscope-agent and
 * vmscope-devhost are built (or VMSCOPE_AGENT / VMSCOPE_DEVHOST name
 * them), the real thing: a device host, an agent, and its smallest
 * device, with the device host's own DEVICE_STATE_CHANGED events.  With
 * --url, that server and PATH.  Figures only: it never fails on timing;
 * without wrk the request benchmark is skipped with a reason.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

#include "bridge/http-server.h"
#include "bridge/qmp-dispatch.h"

/* ---- the in-process server ---------------------------------------------- */

typedef struct ServerThread {
    GMutex lock;
    GCond cond;
    char *url;               /* set once listening */
    char *error;
    GMainContext *ctx;
    GMainLoop *loop;
    QmpDispatcher *d;
    HttpServer *http;
    guint64 seq;
} ServerThread;

static const char small_state[] =
    "{\"path\": \"/bench/serial0\", \"host\": \"bench\", \"type\": \"serial\", "
    "\"instance-id\": 0, \"version-id\": 4, \"generation\": 981, \"state\": {\"divider\": 12, "
    "\"rbr\": 0, \"ier\": 5, \"iir\": 1, \"lcr\": 3, \"mcr\": 8, \"lsr\": 96, \"msr\": 176, "
    "\"scr\": 0, \"fcr\": 199, \"fifo\": {\"count\": 3, \"data\": \"616263\"}, "
    "\"thr_ipending\": true, \"timeout_ipending\": false}}";

static bool cmd_state(QObject *args, QObject **ret, void *opaque, GError **errp)
{
    const char *path = qdict_get_str(args, "path");
    if (strcmp(path, "/bench/serial0") != 0) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_DEVICE_NOT_FOUND, "Device '%s' not found", path);
        return false;
    }
    return qobject_from_json(small_state, strlen(small_state), ret, errp);
}

static gboolean emit_tick(gpointer data)
{
    ServerThread *st = data;
    if (http_server_sse_client_count(st->http) > 0) {
        QObject *ev = qdict_new();
        qdict_put(ev, "path", qstring_from_str("/bench/serial0"));
        qdict_put(ev, "generation", qnum_from_uint(++st->seq));
        QObject *changed = qlist_new();
        qlist_append(changed, qstring_from_str("fifo.count"));
        qdict_put(ev, "changed", changed);
        qmp_dispatcher_emit_event(st->d, "DEVICE_STATE_CHANGED", ev);
    }
    return G_SOURCE_CONTINUE;
}

static gpointer server_run(gpointer data)
{
    static const QmpArgSpec state_args[] = {
        { "path", QMP_ARG_STR, false }, { "format", QMP_ARG_STR, true }, QMP_ARGS_END,
    };
    ServerThread *st = data;
    g_autoptr(GError) err = NULL;

    g_main_context_push_thread_default(st->ctx);
    st->d = qmp_dispatcher_new();
    qmp_dispatcher_register(st->d, "query-device-state", state_args, cmd_state, st);
    st->http = http_server_new(st->d, "127.0.0.1:0", NULL, &err);

    g_mutex_lock(&st->lock);
    st->url = st->http ? g_strdup(http_server_url(st->http)) : NULL;
    st->error = st->http ? NULL : g_strdup(err->message);
    g_cond_signal(&st->cond);
    g_mutex_unlock(&st->lock);
    if (st->http) {
        GSource *tick = g_timeout_source_new(20);
        g_source_set_callback(tick, emit_tick, st, NULL);
        g_source_attach(tick, st->ctx);
        g_main_loop_run(st->loop);
        g_source_destroy(tick);
        g_source_unref(tick);
        http_server_free(st->http);
    }
    qmp_dispatcher_free(st->d);
    g_main_context_pop_thread_default(st->ctx);
    return NULL;
}

/* ---- wrk ---------------------------------------------------------------- */

/* "123.45us", "1.23ms", "1.02s" in microseconds. */
static double wrk_duration_us(const char *s)
{
    char *end;
    double v = g_ascii_strtod(s, &end);
    if (g_str_has_prefix(end, "us")) {
        return v;
    }
    if (g_str_has_prefix(end, "ms")) {
        return v * 1000;
    }
    if (g_str_has_prefix(end, "s")) {
        return v * 1e6;
    }
    if (g_str_has_prefix(end, "m")) {
        return v * 60e6;
    }
    return -1;
}

/* The figure after `key` on its line, as text; NULL if absent. */
static char *wrk_field(const char *out, const char *key)
{
    const char *p = strstr(out, key);
    if (!p) {
        return NULL;
    }
    p += strlen(key);
    while (*p == ' ') {
        p++;
    }
    return g_strndup(p, strcspn(p, " \n"));
}

static void run_wrk(const char *wrk, const char *url, int connections, int seconds)
{
    g_autofree char *c = g_strdup_printf("%d", connections);
    g_autofree char *t = g_strdup_printf("%d", connections > 1 ? 2 : 1);
    g_autofree char *d = g_strdup_printf("%ds", seconds);
    const char *argv[] = { wrk, "-t", t, "-c", c, "-d", d, "--latency", url, NULL };
    g_autofree char *out = NULL, *err_out = NULL;
    g_autoptr(GError) err = NULL;
    int status = 0;

    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err_out,
                      &status, &err)) {
        printf("%-12d wrk failed: %s\n", connections, err->message);
        return;
    }
    g_autofree char *rps = wrk_field(out, "Requests/sec:");
    g_autofree char *p50 = wrk_field(out, "     50%");
    g_autofree char *p99 = wrk_field(out, "     99%");
    g_autofree char *non2xx = wrk_field(out, "Non-2xx or 3xx responses:");
    g_autofree char *sockerr = NULL;
    const char *se = strstr(out, "Socket errors:");
    if (se) {
        sockerr = g_strndup(se, strcspn(se, "\n"));
    }
    if (!rps || !p50 || !p99) {
        printf("%-12d cannot read wrk's output:\n%s%s\n", connections, out, err_out);
        return;
    }
    printf("%-12d %12.0f %10.3f %10.3f%s%s%s%s\n", connections, g_ascii_strtod(rps, NULL),
           wrk_duration_us(p50) / 1000, wrk_duration_us(p99) / 1000,
           non2xx ? "   non-2xx: " : "", non2xx ? non2xx : "",
           sockerr ? "   " : "", sockerr ? sockerr : "");
    fflush(stdout);
}

static void bench_requests(const char *url, const char *connections, int seconds)
{
    g_autofree char *wrk = g_find_program_in_path("wrk");
    printf("GET %s  (wrk, %d s per run)\n", url, seconds);
    if (!wrk) {
        printf("SKIP: wrk not installed (apt-get install wrk)\n");
        return;
    }
    printf("%-12s %12s %10s %10s\n", "connections", "requests/s", "p50 ms", "p99 ms");
    g_auto(GStrv) list = g_strsplit(connections, ",", -1);
    for (int i = 0; list[i]; i++) {
        int n = atoi(list[i]);
        if (n > 0) {
            run_wrk(wrk, url, n, seconds);
        }
    }
}

/* ---- SSE fan-out -------------------------------------------------------- */

typedef struct SseConn {
    int fd;
    GString *buf;
    bool in_body;
} SseConn;

typedef struct Seen {
    int clients;
    double last_us;          /* latest receipt, wall clock */
    double emitted_us;       /* the event's timestamp */
} Seen;

static double wall_us(void)
{
    return (double)g_get_real_time();
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Each complete event block in c->buf: note who has which event, when. */
static void sse_consume(SseConn *c, GHashTable *seen, double now)
{
    if (!c->in_body) {
        char *end = strstr(c->buf->str, "\r\n\r\n");
        if (!end) {
            return;
        }
        g_string_erase(c->buf, 0, end - c->buf->str + 4);
        c->in_body = true;
    }
    char *sep;
    while ((sep = strstr(c->buf->str, "\n\n"))) {
        *sep = '\0';
        const char *data = strstr(c->buf->str, "data: ");
        if (data) {
            /* The event's identity is its timestamp (microseconds since the epoch). */
            const char *ts = strstr(data, "\"seconds\": ");
            const char *us = strstr(data, "\"microseconds\": ");
            if (ts && us) {
                double t = g_ascii_strtod(ts + 11, NULL) * 1e6 + g_ascii_strtod(us + 16, NULL);
                gint64 key = (gint64)t;
                Seen *s = g_hash_table_lookup(seen, &key);
                if (!s) {
                    gint64 *k = g_new(gint64, 1);
                    *k = key;
                    s = g_new0(Seen, 1);
                    s->emitted_us = t;
                    g_hash_table_insert(seen, k, s);
                }
                s->clients++;
                s->last_us = now;
            }
        }
        g_string_erase(c->buf, 0, sep - c->buf->str + 2);
    }
}

static void bench_sse(int port, int clients, int seconds)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    SseConn *conns = g_new0(SseConn, clients);
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
    int connected = 0;

    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    printf("SSE fan-out: %d clients on GET /api/events for %d s\n", clients, seconds);
    for (int i = 0; i < clients; i++) {
        g_autofree char *req = g_strdup_printf("GET /api/events HTTP/1.0\r\nHost: 127.0.0.1:%d\r\n"
                                               "Accept: text/event-stream\r\n\r\n", port);
        conns[i].fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        conns[i].buf = g_string_new(NULL);
        if (conns[i].fd < 0 || connect(conns[i].fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
            send(conns[i].fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req)) {
            printf("client %d: cannot connect: %s\n", i, g_strerror(errno));
            continue;
        }
        struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
        epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
        connected++;
    }
    /*
     * Only events of the window's middle count: not those that started
     * before every client was connected, nor those still in flight at its end.
     */
    double start = wall_us() + 500000;
    double stop = start + (double)seconds * 1e6 - 500000;
    gint64 end = g_get_monotonic_time() + (gint64)(seconds + 0.5) * G_USEC_PER_SEC;
    char chunk[65536];
    while (g_get_monotonic_time() < end) {
        struct epoll_event evs[64];
        int n = epoll_wait(ep, evs, 64, 100);
        double now = wall_us();
        for (int i = 0; i < n; i++) {
            SseConn *c = &conns[evs[i].data.u32];
            ssize_t got = recv(c->fd, chunk, sizeof(chunk), 0);
            if (got <= 0) {
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                continue;
            }
            g_string_append_len(c->buf, chunk, got);
            sse_consume(c, seen, now);
        }
    }
    GArray *lat = g_array_new(FALSE, FALSE, sizeof(double));
    int partial = 0;
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, seen);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        Seen *s = v;
        if (s->emitted_us < start || s->emitted_us > stop) {
            continue;
        }
        if (s->clients == connected) {
            double ms = (s->last_us - s->emitted_us) / 1000;
            g_array_append_val(lat, ms);
        } else {
            partial++;
        }
    }
    if (lat->len == 0) {
        printf("no event reached all %d clients (%d reached some)\n", connected, partial);
    } else {
        g_array_sort(lat, cmp_double);
        double *l = (double *)lat->data;
        printf("%u events reached all %d clients; event to last client: p50 %.3f ms, "
               "p99 %.3f ms, max %.3f ms%s\n", lat->len, connected, l[lat->len / 2],
               l[(size_t)lat->len * 99 / 100], l[lat->len - 1],
               partial ? " (and some events missed by some clients!)" : "");
    }
    fflush(stdout);
    g_array_free(lat, TRUE);
    for (int i = 0; i < clients; i++) {
        if (conns[i].fd >= 0) {
            close(conns[i].fd);
        }
        g_string_free(conns[i].buf, TRUE);
    }
    g_free(conns);
    close(ep);
}

/* ---- the agent and a device host ---------------------------------------- */

typedef struct Agent {
    GSubprocess *devhost;
    GSubprocess *agent;
    char *tmpdir;
    char *host;
    char *url;
    int port;
} Agent;

static char *find_program(const char *argv0, const char *env, const char *dir, const char *name)
{
    const char *given = g_getenv(env);
    if (given && *given) {
        return g_strdup(given);
    }
    /* bench-http is tests/bench/ in the build tree. */
    g_autofree char *here = g_path_get_dirname(argv0);
    char *path = g_build_filename(here, "..", "..", dir, name, NULL);
    if (g_file_test(path, G_FILE_TEST_IS_EXECUTABLE)) {
        return path;
    }
    g_free(path);
    return NULL;
}

static void stop_process(GSubprocess *p)
{
    if (!p) {
        return;
    }
    g_subprocess_send_signal(p, SIGTERM);
    for (int i = 0; i < 500 && g_subprocess_get_identifier(p); i++) {
        g_usleep(10000);
    }
    if (g_subprocess_get_identifier(p)) {
        g_subprocess_force_exit(p);
    }
    g_subprocess_wait(p, NULL, NULL);
    g_object_unref(p);
}

static void agent_stop(Agent *a)
{
    stop_process(a->agent);
    stop_process(a->devhost);
    if (a->host) {
        g_autofree char *seg = g_strdup_printf("/dev/shm/vmscope-%s", a->host);
        g_unlink(seg);
    }
    if (a->tmpdir) {
        g_autofree char *sock = g_build_filename(a->tmpdir, "agent.qmp", NULL);
        g_unlink(sock);
        g_rmdir(a->tmpdir);
    }
    g_free(a->tmpdir);
    g_free(a->host);
    g_free(a->url);
}

static bool agent_start(Agent *a, const char *agent, const char *devhost)
{
    g_autoptr(GError) err = NULL;
    a->tmpdir = g_dir_make_tmp("vmscope-bench-http-XXXXXX", &err);
    a->host = g_strdup_printf("bench-%d", (int)getpid());
    if (!a->tmpdir) {
        return false;
    }
    g_autofree char *qmp = g_strdup_printf("unix:%s/agent.qmp", a->tmpdir);
    const char *dargv[] = { devhost, "--name", a->host, NULL };
    const char *aargv[] = { agent, "--qmp", qmp, "--http", "127.0.0.1:0", NULL };
    a->devhost = g_subprocess_newv(dargv, G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &err);
    if (!a->devhost) {
        printf("cannot start %s: %s\n", devhost, err->message);
        return false;
    }
    a->agent = g_subprocess_newv(aargv, G_SUBPROCESS_FLAGS_STDOUT_PIPE, &err);
    if (!a->agent) {
        printf("cannot start %s: %s\n", agent, err->message);
        return false;
    }
    g_autoptr(GDataInputStream) out =
        g_data_input_stream_new(g_subprocess_get_stdout_pipe(a->agent));
    for (;;) {
        g_autofree char *line = g_data_input_stream_read_line(out, NULL, NULL, NULL);
        if (!line) {
            printf("the agent did not say where it listens\n");
            return false;
        }
        const char *u = strstr(line, "http: listening on ");
        if (u) {
            a->url = g_strdup(u + strlen("http: listening on "));
            const char *colon = strrchr(a->url, ':');
            a->port = colon ? atoi(colon + 1) : 0;
            return true;
        }
    }
}

/* GET path over HTTP/1.0 on 127.0.0.1:port: the body of a 200 answer, or NULL. */
static char *http_get_body(int port, const char *path)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
    struct timeval tv = { .tv_sec = 10 };
    g_autofree char *req = g_strdup_printf("GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
    g_autoptr(GString) out = g_string_new(NULL);
    char buf[16384];
    ssize_t n;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    if (fd < 0) {
        return NULL;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
        send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req)) {
        close(fd);
        return NULL;
    }
    while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
        g_string_append_len(out, buf, n);
    }
    close(fd);
    const char *body = strstr(out->str, "\r\n\r\n");
    if (!g_str_has_prefix(out->str, "HTTP/1.0 200") && !g_str_has_prefix(out->str, "HTTP/1.1 200")) {
        return NULL;
    }
    return body ? g_strdup(body + 4) : NULL;
}

/* The agent's smallest device of our host, once it shows up; its state URL. */
static char *agent_small_device(Agent *a)
{
    for (int i = 0; i < 100; i++) {
        g_autofree char *out = http_get_body(a->port, "/api/devices");
        g_autoptr(QObject) list = NULL;
        if (out && qobject_from_json(out, strlen(out), &list, NULL) &&
            qobject_type(list) == QTYPE_LIST) {
            const char *best = NULL;
            uint64_t best_size = UINT64_MAX;
            for (size_t j = 0; j < qlist_size(list); j++) {
                QObject *dev = qlist_get(list, j);
                uint64_t size;
                const char *host = qdict_get_str(dev, "host");
                if (host && strcmp(host, a->host) == 0 &&
                    qnum_get_uint(qdict_get(dev, "state-size"), &size) && size < best_size) {
                    best_size = size;
                    best = qdict_get_str(dev, "path");
                }
            }
            if (best) {
                printf("device: %s (%" G_GUINT64_FORMAT " bytes of state)\n", best, best_size);
                return g_strdup_printf("%sapi/devices%s/state", a->url, best);
            }
        }
        g_usleep(100000);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const char *url = NULL, *path = NULL, *connections = "1,16,64";
    int seconds = 5, sse_clients = 100, sse_seconds = 5;

    signal(SIGPIPE, SIG_IGN);
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "bench-http: %s needs a value\n", argv[i]);
            return 2;
        }
        if (strcmp(argv[i], "--url") == 0) {
            url = v;
        } else if (strcmp(argv[i], "--path") == 0) {
            path = v;
        } else if (strcmp(argv[i], "--duration") == 0) {
            seconds = atoi(v);
        } else if (strcmp(argv[i], "--connections") == 0) {
            connections = v;
        } else if (strcmp(argv[i], "--sse-clients") == 0) {
            sse_clients = atoi(v);
        } else if (strcmp(argv[i], "--sse-seconds") == 0) {
            sse_seconds = atoi(v);
        } else {
            fprintf(stderr, "usage: bench-http [--url BASE --path PATH] [--duration S] "
                            "[--connections LIST] [--sse-clients N] [--sse-seconds S]\n");
            return 2;
        }
        i++;
    }

    if (url) {
        const char *colon = strrchr(url, ':');
        g_autofree char *full = g_strconcat(url, path ? path : "", NULL);
        bench_requests(full, connections, seconds);
        bench_sse(colon ? atoi(colon + 1) : 80, sse_clients, sse_seconds);
        return 0;
    }

    printf("== the HTTP bridge in this process, a small device (fixed state, %zu bytes of JSON)\n",
           strlen(small_state));
    ServerThread st = { 0 };
    g_mutex_init(&st.lock);
    g_cond_init(&st.cond);
    st.ctx = g_main_context_new();
    st.loop = g_main_loop_new(st.ctx, FALSE);
    GThread *t = g_thread_new("http-server", server_run, &st);
    g_mutex_lock(&st.lock);
    while (!st.url && !st.error) {
        g_cond_wait(&st.cond, &st.lock);
    }
    g_mutex_unlock(&st.lock);
    if (st.url) {
        g_autofree char *full = g_strconcat(st.url, "api/devices/bench/serial0/state", NULL);
        const char *colon = strrchr(st.url, ':');
        bench_requests(full, connections, seconds);
        bench_sse(atoi(colon + 1), sse_clients, sse_seconds);
    } else {
        printf("cannot start the server: %s\n", st.error);
    }
    g_main_loop_quit(st.loop);
    g_thread_join(t);
    g_main_loop_unref(st.loop);
    g_main_context_unref(st.ctx);
    g_free(st.url);
    g_free(st.error);

    g_autofree char *agent = find_program(argv[0], "VMSCOPE_AGENT", "agent", "vmscope-agent");
    g_autofree char *devhost = find_program(argv[0], "VMSCOPE_DEVHOST", "devices", "vmscope-devhost");
    printf("\n== vmscope-agent with a vmscope-devhost, the smallest device\n");
    if (!agent || !devhost) {
        printf("SKIP: vmscope-agent or vmscope-devhost not built\n");
        return 0;
    }
    Agent a = { 0 };
    if (agent_start(&a, agent, devhost)) {
        g_autofree char *dev = agent_small_device(&a);
        if (dev) {
            bench_requests(dev, connections, seconds);
            bench_sse(a.port, sse_clients, sse_seconds);
        } else {
            printf("the agent did not list the device host's devices\n");
        }
    }
    agent_stop(&a);
    return 0;
}

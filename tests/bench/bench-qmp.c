/*
 * bench-qmp: QMP round-trip latency.
 *
 *   bench-qmp [--address ADDR] [--command NAME] [--args JSON]
 *             [--requests N] [--clients LIST]
 *
 * Sends N requests (default 10000) of one command (default query-version)
 * and prints p50/p99/max latency and throughput, for each number of
 * concurrent clients in LIST (default "1,16"; each client is a thread with
 * its own connection; the N requests are shared among them).  Without
 * --address it starts a vmscope QMP server in this process (its own thread
 * and main loop) on a Unix socket in a temporary directory; with one (for
 * instance an agent's socket and --command query-device-state --args
 * '{"path": "/host/dev"}') it measures that server.  A bare path is taken
 * as unix:PATH.
 *
 * With the server in this process it then measures the same with events
 * flowing (1 kB every millisecond to every client), and with events and
 * a client that never reads (it asks for 20 answers of 100 kB and reads
 * nothing, so its unread output grows towards the 8 MiB limit), and prints
 * each p50 and p99 against the idle server's: the cost of a stalled client
 * for the others.  Figures only: it never fails on timing.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <glib/gstdio.h>

#include "bridge/qmp-client.h"
#include "bridge/qmp-dispatch.h"
#include "bridge/qmp-server.h"
#include "vmscope/address.h"

#define WARMUP 200
#define EVENT_BYTES 1000
#define BIG_ANSWER 100000
#define STALLED_REQUESTS 20

typedef struct ServerThread {
    GMutex lock;
    GCond cond;
    char *address;           /* to listen on */
    char *bound;             /* set once listening */
    char *error;
    GMainContext *ctx;
    GMainLoop *loop;
    QmpServer *server;
    gint events_on;          /* atomic: emit an event every millisecond */
    gint dropped;            /* atomic: clients the server dropped */
} ServerThread;

static bool cmd_bench_big(QObject *args, QObject **ret, void *opaque, GError **errp)
{
    g_autofree char *s = g_malloc(BIG_ANSWER + 1);
    memset(s, 'x', BIG_ANSWER);
    s[BIG_ANSWER] = '\0';
    *ret = qstring_from_str(s);
    return true;
}

static gboolean emit_tick(gpointer data)
{
    ServerThread *st = data;
    if (g_atomic_int_get(&st->events_on)) {
        char text[EVENT_BYTES + 1];
        memset(text, 'e', EVENT_BYTES);
        text[EVENT_BYTES] = '\0';
        qmp_server_emit_event(st->server, "BENCH", qstring_from_str(text));
    }
    return G_SOURCE_CONTINUE;
}

static void count_drop(const GError *why, void *opaque)
{
    ServerThread *st = opaque;
    g_atomic_int_inc(&st->dropped);
}

static gpointer server_run(gpointer data)
{
    ServerThread *st = data;
    g_main_context_push_thread_default(st->ctx);
    g_autoptr(QmpDispatcher) d = qmp_dispatcher_new();
    qmp_dispatcher_register_query_version(d);
    qmp_dispatcher_register_query_commands(d);
    qmp_dispatcher_register(d, "bench-big", NULL, cmd_bench_big, NULL);
    QmpServer *s = qmp_server_new(d, st->ctx);
    st->server = s;
    qmp_server_set_drop_func(s, count_drop, st);
    GSource *tick = g_timeout_source_new(1);
    g_source_set_callback(tick, emit_tick, st, NULL);
    g_source_attach(tick, st->ctx);
    g_autoptr(GError) err = NULL;
    char *bound = NULL;
    bool ok = qmp_server_listen(s, st->address, &bound, &err);

    g_mutex_lock(&st->lock);
    st->bound = bound;
    st->error = ok ? NULL : g_strdup(err->message);
    g_cond_signal(&st->cond);
    g_mutex_unlock(&st->lock);
    if (ok) {
        g_main_loop_run(st->loop);
    }
    g_source_destroy(tick);
    g_source_unref(tick);
    qmp_server_free(s);
    g_main_context_pop_thread_default(st->ctx);
    return NULL;
}

/* A client that negotiates, asks for large answers and never reads; NULL on failure. */
static GSocket *stalled_client(const char *address)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GSocketAddress) addr = address_parse("QMP address", address, &err);
    GSocket *sock = addr ? address_connect(addr, 10000, NULL, &err) : NULL;
    if (!sock) {
        fprintf(stderr, "bench-qmp: stalled client: %s\n", err->message);
        return NULL;
    }
    g_autoptr(GString) req = g_string_new("{\"execute\": \"qmp_capabilities\"}\n");
    for (int i = 0; i < STALLED_REQUESTS; i++) {
        g_string_append(req, "{\"execute\": \"bench-big\"}\n");
    }
    g_socket_set_blocking(sock, TRUE);
    if (g_socket_send(sock, req->str, req->len, NULL, &err) != (gssize)req->len) {
        fprintf(stderr, "bench-qmp: stalled client: %s\n", err ? err->message : "short send");
        g_object_unref(sock);
        return NULL;
    }
    return sock;
}

typedef struct Worker {
    const char *address;
    const char *command;
    QObject *args;
    int requests;
    gint64 *lat_ns;          /* requests entries */
    int failures;
    char *error;
    GMutex *start_lock;
    GCond *start_cond;
    int *ready;
    bool *go;
} Worker;

static gint64 now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (gint64)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static gpointer worker_run(gpointer data)
{
    Worker *w = data;
    g_autoptr(GError) err = NULL;
    g_autoptr(QmpClient) c = qmp_client_connect(w->address, 10000, &err);

    if (c) {
        for (int i = 0; i < WARMUP; i++) {
            g_autoptr(QObject) ret = NULL;
            if (!qmp_client_execute(c, w->command, w->args, &ret, &err)) {
                break;
            }
        }
    }
    if (err) {
        w->error = g_strdup(err->message);
    }
    /* Start together. */
    g_mutex_lock(w->start_lock);
    (*w->ready)++;
    g_cond_broadcast(w->start_cond);
    while (!*w->go) {
        g_cond_wait(w->start_cond, w->start_lock);
    }
    g_mutex_unlock(w->start_lock);
    if (!c || w->error) {
        return NULL;
    }
    for (int i = 0; i < w->requests; i++) {
        g_autoptr(QObject) ret = NULL;
        g_autoptr(GError) e = NULL;
        gint64 t0 = now_ns();
        bool ok = qmp_client_execute(c, w->command, w->args, &ret, &e);
        w->lat_ns[i] = now_ns() - t0;
        if (!ok) {
            w->failures++;
            if (!w->error) {
                w->error = g_strdup(e->message);
            }
            if (e->domain != QMP_ERROR) {
                break;     /* connection lost: stop */
            }
        }
    }
    return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
    gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;
    return x < y ? -1 : x > y;
}

/* p50 and p99 of a run, in microseconds. */
typedef struct Figures {
    double p50, p99;
} Figures;

static bool run(const char *address, const char *command, QObject *args, int total, int clients,
                Figures *fig)
{
    Worker *w = g_new0(Worker, clients);
    GThread **t = g_new0(GThread *, clients);
    GMutex lock;
    GCond cond;
    int ready = 0;
    bool go = false;
    g_mutex_init(&lock);
    g_cond_init(&cond);

    int done = 0;
    for (int i = 0; i < clients; i++) {
        /*
         * Each client its own copy of the arguments: QObjects are not
         * thread-safe (json-c caches a serialisation in each object), and
         * 16 threads sending one shared object sent garbage now and then.
         */
        g_autofree char *args_text = args ? qobject_to_json(args, false) : NULL;
        QObject *own = NULL;
        if (args_text) {
            qobject_from_json(args_text, strlen(args_text), &own, NULL);
        }
        w[i] = (Worker){ .address = address, .command = command, .args = own,
                         .requests = total / clients + (i < total % clients),
                         .start_lock = &lock, .start_cond = &cond, .ready = &ready, .go = &go };
        w[i].lat_ns = g_new0(gint64, w[i].requests);
        t[i] = g_thread_new("bench-client", worker_run, &w[i]);
    }
    g_mutex_lock(&lock);
    while (ready < clients) {
        g_cond_wait(&cond, &lock);
    }
    go = true;
    gint64 t0 = now_ns();
    g_cond_broadcast(&cond);
    g_mutex_unlock(&lock);
    for (int i = 0; i < clients; i++) {
        g_thread_join(t[i]);
    }
    gint64 wall = now_ns() - t0;

    gint64 *all = g_new(gint64, total);
    int failures = 0;
    const char *error = NULL;
    for (int i = 0; i < clients; i++) {
        memcpy(all + done, w[i].lat_ns, sizeof(gint64) * (size_t)w[i].requests);
        done += w[i].requests;
        failures += w[i].failures;
        if (!error && w[i].error) {
            error = w[i].error;
        }
    }
    qsort(all, (size_t)total, sizeof(gint64), cmp_i64);
    if (error) {
        printf("%-8d error: %s (%d failed requests)\n", clients, error, failures);
    } else {
        printf("%-8d %-9d %8.1f %8.1f %8.1f %10.0f\n", clients, total,
               (double)all[total / 2] / 1000.0, (double)all[(size_t)total * 99 / 100] / 1000.0,
               (double)all[total - 1] / 1000.0, (double)total / ((double)wall / 1e9));
        if (fig) {
            fig->p50 = (double)all[total / 2] / 1000.0;
            fig->p99 = (double)all[(size_t)total * 99 / 100] / 1000.0;
        }
    }
    fflush(stdout);

    for (int i = 0; i < clients; i++) {
        g_free(w[i].lat_ns);
        qobject_unref(w[i].args);
        g_free(w[i].error);
    }
    g_free(all);
    g_free(w);
    g_free(t);
    g_mutex_clear(&lock);
    g_cond_clear(&cond);
    return error == NULL;
}

int main(int argc, char **argv)
{
    g_autofree char *address = NULL;
    const char *command = "query-version";
    const char *args_json = NULL;
    const char *clients_list = "1,16";
    int requests = 10000;

    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "bench-qmp: %s needs a value\n", argv[i]);
            return 2;
        }
        if (strcmp(argv[i], "--address") == 0) {
            address = strchr(v, ':') ? g_strdup(v) : g_strdup_printf("unix:%s", v);
        } else if (strcmp(argv[i], "--command") == 0) {
            command = v;
        } else if (strcmp(argv[i], "--args") == 0) {
            args_json = v;
        } else if (strcmp(argv[i], "--requests") == 0) {
            requests = atoi(v);
        } else if (strcmp(argv[i], "--clients") == 0) {
            clients_list = v;
        } else {
            fprintf(stderr, "usage: bench-qmp [--address ADDR] [--command NAME] [--args JSON] "
                            "[--requests N] [--clients 1,16]\n");
            return 2;
        }
        i++;
    }
    if (requests <= 0) {
        fprintf(stderr, "bench-qmp: --requests must be positive\n");
        return 2;
    }
    g_autoptr(QObject) args = NULL;
    if (args_json) {
        g_autoptr(GError) err = NULL;
        if (!qobject_from_json(args_json, strlen(args_json), &args, &err)) {
            fprintf(stderr, "bench-qmp: --args: %s\n", err->message);
            return 2;
        }
    }

    ServerThread st = { 0 };
    GThread *server = NULL;
    g_autofree char *tmpdir = NULL;
    g_autofree char *sock = NULL;
    if (!address) {
        g_autoptr(GError) err = NULL;
        tmpdir = g_dir_make_tmp("vmscope-bench-XXXXXX", &err);
        if (!tmpdir) {
            fprintf(stderr, "bench-qmp: %s\n", err->message);
            return 1;
        }
        sock = g_build_filename(tmpdir, "qmp.sock", NULL);
        g_mutex_init(&st.lock);
        g_cond_init(&st.cond);
        st.address = g_strdup_printf("unix:%s", sock);
        st.ctx = g_main_context_new();
        st.loop = g_main_loop_new(st.ctx, FALSE);
        g_mutex_lock(&st.lock);
        server = g_thread_new("qmp-server", server_run, &st);
        while (!st.bound && !st.error) {
            g_cond_wait(&st.cond, &st.lock);
        }
        g_mutex_unlock(&st.lock);
        if (st.error) {
            fprintf(stderr, "bench-qmp: %s\n", st.error);
            return 1;
        }
        address = g_strdup(st.bound);
    }

    printf("bench-qmp: %s over %s (%s), %d requests per run, latency in microseconds\n",
           command, address, server ? "vmscope server in this process" : "external server",
           requests);
    printf("%-8s %-9s %8s %8s %8s %10s\n", "clients", "requests", "p50", "p99", "max", "req/s");
    bool ok = true;
    g_auto(GStrv) counts = g_strsplit(clients_list, ",", -1);
    for (int i = 0; counts[i]; i++) {
        int n = atoi(counts[i]);
        if (n > 0) {
            ok &= run(address, command, args, requests, n, NULL);
        }
    }

    if (server) {
        /* The same 16 clients: idle, with events, with events and a stalled client. */
        static const char *const rows[] = { "idle server", "events 1 kB/ms",
                                            "events + a client that never reads" };
        Figures fig[3] = { { 0 } };
        printf("\n16 clients, %s; latency in microseconds\n", command);
        printf("%-36s %-8s %-9s %8s %8s %8s %10s\n", "", "clients", "requests", "p50", "p99",
               "max", "req/s");
        GSocket *stalled = NULL;
        for (int r = 0; r < 3; r++) {
            g_atomic_int_set(&st.events_on, r > 0);
            if (r == 2 && !(stalled = stalled_client(address))) {
                ok = false;
                break;
            }
            g_usleep(100000);             /* let events (and the stalled answers) pile up */
            printf("%-36s ", rows[r]);
            ok &= run(address, command, args, requests, 16, &fig[r]);
        }
        g_atomic_int_set(&st.events_on, 0);
        if (stalled) {
            g_socket_close(stalled, NULL);
            g_object_unref(stalled);
        }
        if (fig[0].p50 > 0) {
            printf("with a stalled client: p50 %.2fx, p99 %.2fx the idle server's (target: 2x), "
                   "p50 %.2fx, p99 %.2fx the same events' without it; clients dropped: %d\n",
                   fig[2].p50 / fig[0].p50, fig[2].p99 / fig[0].p99, fig[2].p50 / fig[1].p50,
                   fig[2].p99 / fig[1].p99, g_atomic_int_get(&st.dropped));
        }
    }

    if (server) {
        g_main_loop_quit(st.loop);
        g_main_context_wakeup(st.ctx);
        g_thread_join(server);
        g_main_loop_unref(st.loop);
        g_main_context_unref(st.ctx);
        g_free(st.address);
        g_free(st.bound);
        g_mutex_clear(&st.lock);
        g_cond_clear(&st.cond);
        g_rmdir(tmpdir);
    }
    return ok ? 0 : 1;
}

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
 * as unix:PATH.  Figures only: it never fails on timing.
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

#define WARMUP 200

typedef struct ServerThread {
    GMutex lock;
    GCond cond;
    char *address;           /* to listen on */
    char *bound;             /* set once listening */
    char *error;
    GMainContext *ctx;
    GMainLoop *loop;
} ServerThread;

static gpointer server_run(gpointer data)
{
    ServerThread *st = data;
    g_main_context_push_thread_default(st->ctx);
    g_autoptr(QmpDispatcher) d = qmp_dispatcher_new();
    qmp_dispatcher_register_query_version(d);
    qmp_dispatcher_register_query_commands(d);
    QmpServer *s = qmp_server_new(d, st->ctx);
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
    qmp_server_free(s);
    g_main_context_pop_thread_default(st->ctx);
    return NULL;
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

static bool run(const char *address, const char *command, QObject *args, int total, int clients)
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
        w[i] = (Worker){ .address = address, .command = command, .args = args,
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
    }
    fflush(stdout);

    for (int i = 0; i < clients; i++) {
        g_free(w[i].lat_ns);
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
            ok &= run(address, command, args, requests, n);
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

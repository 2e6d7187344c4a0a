/*
 * bench-agent: what the agent's answers cost.
 *
 *   1. snapshot + walk + JSON of one device, per device type (µs);
 *   2. the same for every device of a host with 1,000 devices (ms);
 *   3. change detection: one poll over the 1,000 devices after all of them
 *      changed, with nobody listening (counters only) and with a listener
 *      (walk + diff + event per device) (ms);
 *   4. query-device-state round trips over the agent's Unix socket, p50 and
 *      p99 over 10,000 requests with 1 and 16 clients (tests/bench/bench-qmp
 *      against an agent running in this process).
 *
 * Hosts are real segments in /dev/shm (a temporary directory), written by
 * the reference device models, ticked every DEVICE_TICK_MS by a writer
 * thread while the figures are taken.  Targets: p99 under 1 ms for one
 * device with 16 clients; the 1,000-device walk under 20 ms.  Figures only:
 * it never fails on timing.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gstdio.h>

#include "agent/commands.h"
#include "agent/registry.h"
#include "bridge/qmp-json.h"
#include "bridge/qmp-server.h"
#include "bench-hosts.h"
#include "devices/devices.h"
#include "vmscope/shm-segment.h"

#define BIG_DEVICES 1000

/* ---- a ticking writer --------------------------------------------------------- */

typedef struct Ticker {
    BenchHost *hosts[2];
    GMutex lock;                  /* held while ticking (the poll bench ticks itself) */
    gint stop;
} Ticker;

static gpointer ticker_run(gpointer data)
{
    Ticker *t = data;
    while (!g_atomic_int_get(&t->stop)) {
        g_mutex_lock(&t->lock);
        for (int i = 0; i < 2; i++) {
            bench_host_tick(t->hosts[i]);
        }
        g_mutex_unlock(&t->lock);
        g_usleep(DEVICE_TICK_MS * 1000);
    }
    return NULL;
}

/* ---- measurements --------------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
    gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;
    return x < y ? -1 : x > y;
}

static gint64 precise_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (gint64)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* One query-device-state as the QMP server runs it: the answer, then its JSON text. */
static size_t state_json(AgentRegistry *reg, const char *host, const char *id, const char *format)
{
    g_autoptr(QObject) ret = NULL;
    g_autoptr(GError) err = NULL;
    if (!agent_registry_device_state(reg, host, id, vms_format_lookup(format), &ret, &err)) {
        fprintf(stderr, "bench-agent: /%s/%s: %s\n", host, id, err->message);
        exit(1);
    }
    g_autofree char *text = qmp_json_format(ret);
    return strlen(text);
}

static void bench_one_device(AgentRegistry *reg)
{
    enum { N = 2000 };
    printf("\n1. snapshot + walk + JSON of one device (query-device-state without the socket)\n");
    printf("%-14s %6s %8s %8s %8s\n", "type", "bytes", "p50 us", "p99 us", "pretty");
    for (size_t k = 0; device_types[k]; k++) {
        g_autofree char *id = g_strdup_printf("%s-%zu", device_types[k]->name, k);
        gint64 lat[N];
        size_t bytes = 0;
        for (int i = 0; i < N; i++) {
            gint64 t0 = precise_ns();
            bytes = state_json(reg, "one", id, "json");
            lat[i] = precise_ns() - t0;
        }
        qsort(lat, N, sizeof(lat[0]), cmp_i64);
        gint64 p0 = precise_ns();
        for (int i = 0; i < N / 10; i++) {
            state_json(reg, "one", id, "pretty");
        }
        double pretty = (double)(precise_ns() - p0) / (N / 10) / 1000.0;
        printf("%-14s %6zu %8.1f %8.1f %8.1f\n", device_types[k]->name, bytes,
               (double)lat[N / 2] / 1000.0, (double)lat[N * 99 / 100] / 1000.0, pretty);
    }
}

static void bench_big_host(AgentRegistry *reg)
{
    enum { ROUNDS = 20 };
    g_autoptr(QObject) devs = agent_registry_devices(reg);
    g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);
    for (size_t i = 0; i < qlist_size(devs); i++) {
        QObject *d = qlist_get(devs, i);
        if (strcmp(qdict_get_str(d, "host"), "big") == 0) {
            g_ptr_array_add(ids, g_strdup(qdict_get_str(d, "id")));
        }
    }
    gint64 ms[ROUNDS];
    size_t bytes = 0;
    for (int r = 0; r < ROUNDS; r++) {
        gint64 t0 = precise_ns();
        bytes = 0;
        for (guint i = 0; i < ids->len; i++) {
            bytes += state_json(reg, "big", g_ptr_array_index(ids, i), "json");
        }
        ms[r] = precise_ns() - t0;
    }
    qsort(ms, ROUNDS, sizeof(ms[0]), cmp_i64);
    gint64 t0 = precise_ns();
    g_autoptr(QObject) list = agent_registry_devices(reg);
    g_autofree char *list_json = qmp_json_format(list);
    gint64 list_ns = precise_ns() - t0;
    printf("\n2. every device of a host with %u devices: snapshot + walk + JSON\n", ids->len);
    printf("   all %u states: median %.2f ms, best %.2f ms, worst %.2f ms (%zu bytes of JSON)"
           "   [target < 20 ms]\n", ids->len, (double)ms[ROUNDS / 2] / 1e6, (double)ms[0] / 1e6,
           (double)ms[ROUNDS - 1] / 1e6, bytes);
    printf("   query-devices over %zu devices: %.2f ms\n", qlist_size(list), (double)list_ns / 1e6);
}

typedef struct Counter {
    gint events;
    bool listening;
} Counter;

static void count_event(const char *name, QObject *data, void *opaque)
{
    Counter *c = opaque;
    if (strcmp(name, "DEVICE_STATE_CHANGED") == 0) {
        c->events++;
    }
    qobject_unref(data);
}

static bool is_listening(void *opaque)
{
    return ((Counter *)opaque)->listening;
}

static bool nobody(void *opaque)
{
    return false;
}

static void bench_change_detection(const char *dir, Ticker *tk)
{
    enum { ROUNDS = 5 };
    Counter c = { 0 };
    g_autoptr(AgentRegistry) reg = agent_registry_new(dir, count_event, &c);
    agent_registry_set_watch_func(reg, is_listening, &c);
    printf("\n3. change detection: one poll after all %d devices of the host changed\n",
           BIG_DEVICES);
    for (int listening = 0; listening < 2; listening++) {
        c.listening = listening;
        agent_registry_poll(reg);              /* references, when listening */
        agent_registry_flush_changes(reg);
        gint64 total = 0;
        int events = 0;
        for (int r = 0; r < ROUNDS; r++) {
            g_usleep((AGENT_CHANGE_MIN_MS + 20) * 1000);
            g_mutex_lock(&tk->lock);
            bench_host_tick(tk->hosts[1]);
            g_mutex_unlock(&tk->lock);
            c.events = 0;
            gint64 t0 = precise_ns();
            agent_registry_poll(reg);
            agent_registry_flush_changes(reg);     /* the walks the idle source would run */
            total += precise_ns() - t0;
            events += c.events;
        }
        printf("   %-28s %7.2f ms per poll (%5.1f us per device), %d events per poll\n",
               listening ? "someone listens (diffs):" : "nobody listens (counters):",
               (double)total / ROUNDS / 1e6, (double)total / ROUNDS / BIG_DEVICES / 1e3,
               events / ROUNDS);
    }
    printf("   (polls every %d ms; events at most every %d ms per device; the walks run "
           "between requests, %d us at a time)\n", AGENT_POLL_MS, AGENT_CHANGE_MIN_MS,
           AGENT_CHANGE_SLICE_US);
}

/* ---- the agent serving QMP in a thread --------------------------------------------- */

typedef struct Server {
    const char *dir;
    char *address;
    GMainContext *ctx;
    GMainLoop *loop;
    GMutex lock;
    GCond cond;
    bool ready;
} Server;

static void emit_event(const char *name, QObject *data, void *opaque)
{
    qmp_dispatcher_emit_event(opaque, name, data);
}

static gpointer server_run(gpointer data)
{
    Server *s = data;
    g_main_context_push_thread_default(s->ctx);
    g_autoptr(QmpDispatcher) d = qmp_dispatcher_new();
    g_autoptr(AgentRegistry) reg = agent_registry_new(s->dir, emit_event, d);
    g_autoptr(AgentCommands) cmds = agent_commands_new(d, reg);
    QmpServer *srv = qmp_server_new(d, s->ctx);
    g_autoptr(GError) err = NULL;
    agent_registry_poll(reg);
    agent_registry_attach(reg, s->ctx);
    bool ok = qmp_server_listen(srv, s->address, NULL, &err);
    if (!ok) {
        fprintf(stderr, "bench-agent: %s\n", err->message);
    }
    g_mutex_lock(&s->lock);
    s->ready = true;
    g_cond_signal(&s->cond);
    g_mutex_unlock(&s->lock);
    if (ok) {
        g_main_loop_run(s->loop);
    }
    qmp_server_free(srv);
    agent_commands_free(g_steal_pointer(&cmds));
    g_main_context_pop_thread_default(s->ctx);
    return NULL;
}

static void bench_qmp(const char *argv0, const char *dir)
{
    g_autofree char *bindir = g_path_get_dirname(argv0);
    g_autofree char *bench_qmp = g_build_filename(bindir, "bench-qmp", NULL);
    printf("\n4. query-device-state round trips over the agent's Unix socket "
           "(the agent runs in this process)\n");
    if (!g_file_test(bench_qmp, G_FILE_TEST_IS_EXECUTABLE)) {
        printf("   skipped: %s is not built (make tests/bench/bench-qmp)\n", bench_qmp);
        return;
    }
    Server s = { .dir = dir };
    s.address = g_strdup_printf("unix:%s/agent.qmp", dir);
    s.ctx = g_main_context_new();
    s.loop = g_main_loop_new(s.ctx, FALSE);
    g_mutex_init(&s.lock);
    g_cond_init(&s.cond);
    GThread *t = g_thread_new("agent", server_run, &s);
    g_mutex_lock(&s.lock);
    while (!s.ready) {
        g_cond_wait(&s.cond, &s.lock);
    }
    g_mutex_unlock(&s.lock);

    static const char *const paths[] = { "/one/serial-1", "/one/slirp-6" };
    for (size_t i = 0; i < G_N_ELEMENTS(paths); i++) {
        g_autofree char *args = g_strdup_printf("{\"path\": \"%s\"}", paths[i]);
        const char *argv[] = { bench_qmp, "--address", s.address, "--command",
                               "query-device-state", "--args", args, "--requests", "10000",
                               "--clients", "1,16", NULL };
        fflush(stdout);
        int status = 0;
        g_autoptr(GError) err = NULL;
        if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_CHILD_INHERITS_STDIN, NULL, NULL,
                          NULL, NULL, &status, &err)) {
            printf("   bench-qmp: %s\n", err->message);
        }
    }
    printf("   [target: p99 < 1000 us for one device with 16 clients]\n");
    g_main_loop_quit(s.loop);
    g_main_context_wakeup(s.ctx);
    g_thread_join(t);
    g_main_loop_unref(s.loop);
    g_main_context_unref(s.ctx);
    g_mutex_clear(&s.lock);
    g_cond_clear(&s.cond);
    g_free(s.address);
}

int main(int argc, char **argv)
{
    g_autofree char *dir = g_strdup("/dev/shm/vmscope-bench-agent-XXXXXX");
    if (!g_mkdtemp(dir)) {
        g_free(dir);
        g_autoptr(GError) err = NULL;
        dir = g_dir_make_tmp("vmscope-bench-agent-XXXXXX", &err);
        if (!dir) {
            fprintf(stderr, "bench-agent: %s\n", err->message);
            return 1;
        }
    }
    size_t ntypes = bench_n_types();
    Ticker tk = { .hosts = { bench_host_new(dir, "one", (int)ntypes, 1 << 20),
                             bench_host_new(dir, "big", BIG_DEVICES, 64 << 20) } };
    g_mutex_init(&tk.lock);
    for (int i = 0; i < 30; i++) {           /* lists and FIFOs filled a little */
        bench_host_tick(tk.hosts[0]);
        bench_host_tick(tk.hosts[1]);
    }
    GThread *ticker = g_thread_new("ticker", ticker_run, &tk);
    printf("bench-agent: hosts in %s: one (%zu devices, one of each type) and big (%d devices), "
           "ticked every %d ms\n", dir, ntypes, BIG_DEVICES, DEVICE_TICK_MS);

    {
        g_autoptr(AgentRegistry) reg = agent_registry_new(dir, NULL, NULL);
        agent_registry_set_watch_func(reg, nobody, NULL);
        agent_registry_poll(reg);
        bench_one_device(reg);
        bench_big_host(reg);
    }
    bench_change_detection(dir, &tk);
    bench_qmp(argv[0], dir);

    g_atomic_int_set(&tk.stop, 1);
    g_thread_join(ticker);
    bench_host_free(tk.hosts[0]);
    bench_host_free(tk.hosts[1]);
    g_mutex_clear(&tk.lock);
    g_rmdir(dir);
    return 0;
}

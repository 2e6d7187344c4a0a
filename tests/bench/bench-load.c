/*
 * bench-load: vmscope-agent under load (issue 12).
 *
 *   bench-load [--hosts N] [--devices N] [--sse N] [--qmp N] [--changes N]
 *              [--probes N] [--agent PATH]
 *
 * Defaults: 100 device hosts of 100 devices each (real segments written
 * by this process with the reference device models, in a directory of
 * /dev/shm), the agent (agent/vmscope-agent of the build tree, a process
 * of its own, QMP on a Unix socket and HTTP on 127.0.0.1), 500 clients on
 * GET /api/events (Server-Sent Events) and 200 QMP clients, all connected
 * and reading.  Meanwhile devices change at --changes per second (default
 * 100: one device of every host each second, each change an event to every
 * client).  It prints:
 *
 *   - the agent's RSS: with the hosts found, with every client connected,
 *     and at the end (VmRSS, and VmHWM, its peak);
 *   - event delivery: --probes times (default 30), one device (its own
 *     per probe) changes; the time from the change in its segment to the
 *     DEVICE_STATE_CHANGED naming it arriving at each of the 700 clients,
 *     p50, p99 and max over all arrivals, SSE and QMP apart, and any that
 *     never came (2 s);
 *   - query-device-state round trips at 1 and 16 concurrent clients
 *     (tests/bench/bench-qmp against the agent's socket), with all the
 *     clients above connected and events flowing; then event delivery
 *     again, measured while those 16 clients hammer the agent;
 *   - the agent's CPU time over the whole run.
 *
 * Targets: RSS <= 150 MB, p99 <= 1 ms at 16 clients, events within 200 ms
 * of the change.  Figures only: it never fails on timing.  The machine it
 * runs on matters (a loaded 2-core machine is slow): see docs/agent.md.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

#include "bench-hosts.h"

#define PROBE_TIMEOUT_US 2000000
#define PROBE_GAP_US 250000         /* between probes: every client idle again */
#define TAIL 96                     /* bytes kept between reads, for a needle cut in two */

static int n_hosts = 100, n_devices = 100, n_sse = 500, n_qmp = 200, changes = 100,
           n_probes = 30;
static char *agent_path;

/* ---- the hosts and their background changes ------------------------------------ */

static BenchHost **hosts;
static gint stop_changes;

/* Device 0 of every host is its probe; the others change in the background, round robin. */
static gpointer changes_run(gpointer unused)
{
    uint64_t next = 0, tick = 0;
    gint64 start = g_get_monotonic_time();
    while (!g_atomic_int_get(&stop_changes)) {
        gint64 elapsed = g_get_monotonic_time() - start;
        uint64_t due = (uint64_t)(elapsed * changes / 1000000);
        for (; next < due; next++) {
            BenchHost *h = hosts[next % (uint64_t)n_hosts];
            guint dev = 1 + (guint)((next / (uint64_t)n_hosts) % (uint64_t)(n_devices - 1));
            bench_host_tick_one(h, dev, tick++);
        }
        g_usleep(5000);
    }
    return NULL;
}

/* ---- the agent -------------------------------------------------------------------- */

static GSubprocess *agent;
static int agent_pid;
static char *qmp_address, *http_port;

static gpointer drain_run(gpointer data)
{
    GInputStream *in = data;
    char buf[4096];
    while (g_input_stream_read(in, buf, sizeof(buf), NULL, NULL) > 0) {
    }
    return NULL;
}

static void agent_start(const char *dir)
{
    g_autofree char *qmp = g_strdup_printf("--qmp=unix:%s/agent.qmp", dir);
    g_autofree char *shm = g_strdup_printf("--shm-dir=%s", dir);
    const char *argv[] = { agent_path, qmp, "--http=127.0.0.1:0", shm, NULL };
    g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE);
    g_autoptr(GError) err = NULL;
    agent = g_subprocess_launcher_spawnv(l, argv, &err);
    if (!agent) {
        fprintf(stderr, "bench-load: %s: %s\n", agent_path, err->message);
        exit(1);
    }
    agent_pid = atoi(g_subprocess_get_identifier(agent));
    GInputStream *out = g_subprocess_get_stdout_pipe(agent);
    g_autoptr(GDataInputStream) lines = g_data_input_stream_new(out);
    g_filter_input_stream_set_close_base_stream(G_FILTER_INPUT_STREAM(lines), FALSE);
    while (!qmp_address || !http_port) {
        g_autofree char *line = g_data_input_stream_read_line(lines, NULL, NULL, &err);
        if (!line) {
            fprintf(stderr, "bench-load: the agent did not start\n");
            exit(1);
        }
        if (g_str_has_prefix(line, "qmp: listening on unix:")) {
            qmp_address = g_strdup(line + strlen("qmp: listening on unix:"));
        } else if (g_str_has_prefix(line, "http: listening on http://127.0.0.1:")) {
            http_port = g_strndup(line + strlen("http: listening on http://127.0.0.1:"),
                                  strcspn(line + strlen("http: listening on http://127.0.0.1:"),
                                          "/"));
        }
    }
    g_thread_unref(g_thread_new("drain", drain_run, g_object_ref(out)));
}

/* "VmRSS" or "VmHWM" of the agent, in MB. */
static double agent_mem(const char *field)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/status", agent_pid);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL)) {
        return -1;
    }
    const char *p = strstr(text, field);
    return p ? strtod(p + strlen(field) + 1, NULL) / 1024.0 : -1;
}

/* The agent's user + system CPU time, in seconds. */
static double agent_cpu(void)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/stat", agent_pid);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL)) {
        return -1;
    }
    const char *p = strrchr(text, ')');
    unsigned long utime = 0, stime = 0;
    /* After ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
                     &stime) != 2) {
        return -1;
    }
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* ---- clients ----------------------------------------------------------------------- */

typedef struct Client {
    int fd;
    bool sse;
    char tail[TAIL];
    size_t tail_len;
    gint64 *arrival;                /* per probe: when its event came (0: not yet) */
    bool closed;
} Client;

static Client *clients;
static int n_clients;
static char needle[128];            /* the current probe's path, quoted */
static gint probe = -1;             /* the current probe, -1: none */
static gint stop_reading;
static gint closed_clients;

static int connect_unix(const char *path)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    g_strlcpy(a.sun_path, path, sizeof(a.sun_path));
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        fprintf(stderr, "bench-load: connect %s: %s\n", path, g_strerror(errno));
        exit(1);
    }
    return fd;
}

static int connect_tcp(int port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        fprintf(stderr, "bench-load: connect 127.0.0.1:%d: %s\n", port, g_strerror(errno));
        exit(1);
    }
    return fd;
}

static void send_all(int fd, const char *text)
{
    size_t len = strlen(text);
    while (len) {
        ssize_t n = send(fd, text, len, MSG_NOSIGNAL);
        if (n <= 0) {
            fprintf(stderr, "bench-load: send: %s\n", g_strerror(errno));
            exit(1);
        }
        text += n;
        len -= (size_t)n;
    }
}

/* Read until `until` has come (blocking, 10 s at most); what came. */
static char *read_until(int fd, const char *until)
{
    GString *s = g_string_new(NULL);
    gint64 deadline = g_get_monotonic_time() + 10000000;
    while (!strstr(s->str, until)) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        char buf[4096];
        ssize_t n = poll(&p, 1, 100) > 0 ? recv(fd, buf, sizeof(buf), 0) : 0;
        if (n < 0 || (n == 0 && p.revents) || g_get_monotonic_time() > deadline) {
            fprintf(stderr, "bench-load: waiting for %s: %s\n", until, s->str);
            exit(1);
        }
        g_string_append_len(s, buf, n);
    }
    return g_string_free(s, FALSE);
}

static void client_open(Client *c, bool sse)
{
    c->sse = sse;
    c->arrival = g_new0(gint64, (gsize)n_probes * 2);
    if (sse) {
        c->fd = connect_tcp(atoi(http_port));
        g_autofree char *req = g_strdup_printf("GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:%s\r\n"
                                               "Accept: text/event-stream\r\n\r\n", http_port);
        send_all(c->fd, req);
        g_free(read_until(c->fd, "\r\n\r\n"));
    } else {
        c->fd = connect_unix(qmp_address);
        g_free(read_until(c->fd, "\"QMP\""));
        send_all(c->fd, "{\"execute\": \"qmp_capabilities\"}\n");
        g_free(read_until(c->fd, "\"return\""));
    }
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
}

/* Read every client, noting when the current probe's event reaches each. */
static gpointer reader_run(gpointer unused)
{
    struct pollfd *p = g_new0(struct pollfd, (gsize)n_clients);
    char buf[TAIL + 65536];
    while (!g_atomic_int_get(&stop_reading)) {
        for (int i = 0; i < n_clients; i++) {
            p[i] = (struct pollfd){ .fd = clients[i].closed ? -1 : clients[i].fd, .events = POLLIN };
        }
        if (poll(p, (nfds_t)n_clients, 50) <= 0) {
            continue;
        }
        gint64 now = g_get_monotonic_time();
        int cur = g_atomic_int_get(&probe);
        for (int i = 0; i < n_clients; i++) {
            Client *c = &clients[i];
            if (!p[i].revents) {
                continue;
            }
            memcpy(buf, c->tail, c->tail_len);
            ssize_t n = recv(c->fd, buf + c->tail_len, sizeof(buf) - TAIL, 0);
            if (n <= 0) {
                if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                    c->closed = true;
                    g_atomic_int_inc(&closed_clients);
                }
                continue;
            }
            size_t len = c->tail_len + (size_t)n;
            if (cur >= 0 && !c->arrival[cur] && g_strstr_len(buf, (gssize)len, needle)) {
                c->arrival[cur] = now;
            }
            c->tail_len = MIN(len, (size_t)TAIL);
            memmove(c->tail, buf + len - c->tail_len, c->tail_len);
        }
    }
    g_free(p);
    return NULL;
}

/* ---- measurements ------------------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
    gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;
    return x < y ? -1 : x > y;
}

/*
 * Probes first..first+count-1: probe k changes device 0 of host k % hosts
 * (its own device: the agent rate-limits events per device) and waits for
 * its event at every client.
 */
static void probes(int first, int count, const char *title)
{
    g_autoptr(GArray) sse = g_array_new(FALSE, FALSE, sizeof(gint64));
    g_autoptr(GArray) qmp = g_array_new(FALSE, FALSE, sizeof(gint64));
    int missing = 0;
    for (int k = first; k < first + count; k++) {
        BenchHost *h = hosts[k % n_hosts];
        g_snprintf(needle, sizeof(needle), "\"/h%03d/%s-0\"", k % n_hosts, device_types[0]->name);
        g_atomic_int_set(&probe, k);
        gint64 t0 = g_get_monotonic_time();
        bench_host_tick_one(h, 0, 1000000 + (uint64_t)k);
        for (;;) {
            int got = 0;
            for (int i = 0; i < n_clients; i++) {
                got += clients[i].arrival[k] != 0 || clients[i].closed;
            }
            if (got == n_clients || g_get_monotonic_time() - t0 > PROBE_TIMEOUT_US) {
                break;
            }
            g_usleep(1000);
        }
        g_atomic_int_set(&probe, -1);
        for (int i = 0; i < n_clients; i++) {
            gint64 at = clients[i].arrival[k];
            if (!at) {
                missing += !clients[i].closed;
                continue;
            }
            gint64 lat = at - t0;
            g_array_append_val(clients[i].sse ? sse : qmp, lat);
        }
        g_usleep(PROBE_GAP_US);
    }
    printf("\n%s: %d probes, each to %d clients\n", title, count, n_clients);
    printf("   %-5s %8s %8s %8s %8s   [target: within 200 ms]\n", "", "arrivals", "p50 ms",
           "p99 ms", "max ms");
    GArray *sets[] = { sse, qmp };
    const char *names[] = { "SSE", "QMP" };
    for (int s = 0; s < 2; s++) {
        GArray *a = sets[s];
        if (!a->len) {
            printf("   %-5s %8u\n", names[s], 0u);
            continue;
        }
        g_array_sort(a, cmp_i64);
        gint64 *v = (gint64 *)a->data;
        printf("   %-5s %8u %8.1f %8.1f %8.1f\n", names[s], a->len, (double)v[a->len / 2] / 1000,
               (double)v[(size_t)a->len * 99 / 100] / 1000, (double)v[a->len - 1] / 1000);
    }
    printf("   never arrived (2 s): %d; clients the agent disconnected so far: %d\n", missing,
           g_atomic_int_get(&closed_clients));
}

/* bench-qmp against the agent: 1 and 16 clients, query-device-state of one device. */
static GSubprocess *bench_qmp_start(const char *argv0, int requests)
{
    g_autofree char *dir = g_path_get_dirname(argv0);
    g_autofree char *bin = g_build_filename(dir, "bench-qmp", NULL);
    if (!g_file_test(bin, G_FILE_TEST_IS_EXECUTABLE)) {
        printf("   skipped: %s is not built (make tests/bench/bench-qmp)\n", bin);
        return NULL;
    }
    g_autofree char *args = g_strdup_printf("{\"path\": \"/h%03d/serial-1\"}", n_hosts / 2);
    g_autofree char *n = g_strdup_printf("%d", requests);
    const char *argv[] = { bin, "--address", qmp_address, "--command", "query-device-state",
                           "--args", args, "--requests", n, "--clients", "1,16", NULL };
    g_autoptr(GError) err = NULL;
    GSubprocess *p = g_subprocess_newv(argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE, &err);
    if (!p) {
        printf("   bench-qmp: %s\n", err->message);
    }
    return p;
}

static void bench_qmp_finish(GSubprocess *p)
{
    g_autofree char *out = NULL;
    g_autoptr(GError) err = NULL;
    if (p && g_subprocess_communicate_utf8(p, NULL, NULL, &out, NULL, &err)) {
        g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
        for (char **l = lines; *l; l++) {
            if (**l) {
                printf("   %s\n", *l);
            }
        }
    }
    g_clear_object(&p);
}

static void print_rss(const char *when)
{
    printf("agent RSS %-34s %7.1f MB (peak %.1f MB)   [target <= 150 MB]\n", when,
           agent_mem("VmRSS:"), agent_mem("VmHWM:"));
    fflush(stdout);
}

int main(int argc, char **argv)
{
    const GOptionEntry entries[] = {
        { "hosts", 0, 0, G_OPTION_ARG_INT, &n_hosts, "device hosts (100)", "N" },
        { "devices", 0, 0, G_OPTION_ARG_INT, &n_devices, "devices per host (100)", "N" },
        { "sse", 0, 0, G_OPTION_ARG_INT, &n_sse, "clients on /api/events (500)", "N" },
        { "qmp", 0, 0, G_OPTION_ARG_INT, &n_qmp, "QMP clients (200)", "N" },
        { "changes", 0, 0, G_OPTION_ARG_INT, &changes, "device changes per second (100)", "N" },
        { "probes", 0, 0, G_OPTION_ARG_INT, &n_probes, "event probes (30)", "N" },
        { "agent", 0, 0, G_OPTION_ARG_FILENAME, &agent_path, "vmscope-agent to run", "PATH" },
        { NULL },
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("- vmscope-agent under load");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_autoptr(GError) err = NULL;
    if (!g_option_context_parse(ctx, &argc, &argv, &err) || n_hosts < 1 || n_hosts > 1000 ||
        n_devices < 2 || n_sse < 0 || n_qmp < 0 || n_probes < 1 || changes < 0) {
        fprintf(stderr, "bench-load: %s\n", err ? err->message : "bad numbers");
        return 2;
    }
    if (!agent_path) {
        g_autofree char *dir = g_path_get_dirname(argv[0]);
        agent_path = g_build_filename(dir, "..", "..", "agent", "vmscope-agent", NULL);
    }
    signal(SIGPIPE, SIG_IGN);

    g_autofree char *dir = g_strdup("/dev/shm/vmscope-bench-load-XXXXXX");
    if (!g_mkdtemp(dir)) {
        fprintf(stderr, "bench-load: %s: %s\n", dir, g_strerror(errno));
        return 1;
    }
    hosts = g_new0(BenchHost *, (gsize)n_hosts);
    for (int i = 0; i < n_hosts; i++) {
        g_autofree char *name = g_strdup_printf("h%03d", i);
        hosts[i] = bench_host_new(dir, name, n_devices, (size_t)n_devices * 20480 + (1 << 20));
        for (int t = 0; t < 5; t++) {
            bench_host_tick(hosts[i]);
        }
    }
    printf("bench-load: %d hosts x %d devices in %s, %d SSE and %d QMP clients, "
           "%d device changes per second\n", n_hosts, n_devices, dir, n_sse, n_qmp, changes);
    agent_start(dir);
    double cpu0 = agent_cpu();
    gint64 wall0 = g_get_monotonic_time();

    /* Every device listed: the agent has found every host. */
    {
        int fd = connect_unix(qmp_address);
        g_free(read_until(fd, "\"QMP\""));
        send_all(fd, "{\"execute\": \"qmp_capabilities\"}\n");
        g_free(read_until(fd, "\"return\""));
        g_autofree char *last = g_strdup_printf("\"/h%03d/", n_hosts - 1);
        for (int i = 0; i < 200; i++) {
            send_all(fd, "{\"execute\": \"query-devices\"}\n");
            g_autofree char *ans = read_until(fd, "\"return\"");
            if (strstr(ans, last)) {
                break;
            }
            g_usleep(100000);
        }
        close(fd);
    }
    print_rss("with the hosts found:");

    GThread *changer = g_thread_new("changes", changes_run, NULL);
    n_clients = n_sse + n_qmp;
    clients = g_new0(Client, (gsize)MAX(n_clients, 1));
    for (int i = 0; i < n_clients; i++) {
        client_open(&clients[i], i < n_sse);
    }
    GThread *reader = g_thread_new("reader", reader_run, NULL);
    g_usleep(1000000);
    print_rss("with every client connected:");

    probes(0, n_probes, "event delivery (change in a segment -> DEVICE_STATE_CHANGED at a client)");

    printf("\nquery-device-state round trips (bench-qmp), with the clients above connected and "
           "events flowing:\n");
    fflush(stdout);
    bench_qmp_finish(bench_qmp_start(argv[0], 10000));
    printf("   [target: p99 <= 1 ms with 16 clients]\n");

    GSubprocess *busy = bench_qmp_start(argv[0], 200000);
    g_usleep(300000);
    probes(n_probes, n_probes, "event delivery while 16 QMP clients query the agent");
    if (busy) {
        g_subprocess_force_exit(busy);
        g_subprocess_wait(busy, NULL, NULL);
        g_object_unref(busy);
    }
    print_rss("at the end:");
    double cpu = agent_cpu() - cpu0;
    double wall = (double)(g_get_monotonic_time() - wall0) / 1e6;
    printf("agent CPU: %.1f s in %.1f s (%.0f%% of one core)\n", cpu, wall, 100 * cpu / wall);

    g_atomic_int_set(&stop_reading, 1);
    g_thread_join(reader);
    g_atomic_int_set(&stop_changes, 1);
    g_thread_join(changer);
    for (int i = 0; i < n_clients; i++) {
        close(clients[i].fd);
        g_free(clients[i].arrival);
    }
    g_free(clients);
    g_subprocess_send_signal(agent, SIGTERM);
    g_subprocess_wait(agent, NULL, NULL);
    g_object_unref(agent);
    for (int i = 0; i < n_hosts; i++) {
        bench_host_free(hosts[i]);
    }
    g_free(hosts);
    g_rmdir(dir);
    g_free(qmp_address);
    g_free(http_port);
    g_free(agent_path);
    return 0;
}

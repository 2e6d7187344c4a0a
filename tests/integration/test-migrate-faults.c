/*
 * Migration faults (issue 12): kill -9 of the source device host, and
 * separately of the destination, at random points of a devhost-to-devhost
 * migration, ROUNDS times each (30; MIGRATE_FAULTS_ROUNDS), with
 * vmscope-agent watching both hosts the whole time.
 *
 * Each round: a source that ran a while (the slirp socket list grows) and
 * was stopped, so its state holds still; a destination waiting with
 * --incoming and -S (so that a loaded state holds still too).  Both
 * states are read through the agent first (query-device-state of every
 * device: the source's S, the destination's initial D).  The source then
 * migrates to the destination through a relay that passes the stream on in
 * small slices with a pause after each (so that the migration lasts long
 * enough for the kill points to spread over connecting, sending, loading
 * and answering), every other round in BER.  A thread kills one of the two
 * after a random delay across the migration's window (measured by a first,
 * unkilled migration; the kills go up to 1.25 times it, so some fall after
 * the end).  Meanwhile and afterwards the test asks the agent for every
 * device of both hosts, again and again, and checks:
 *
 *   - the source: while the agent serves it, every device is exactly S
 *     (state and generation: the migration only ever reads it); after a
 *     destination was killed it is still alive, `paused` (the migration
 *     failed) or `postmigrate` (it completed before the kill), still S;
 *     after it was killed itself, the agent stops serving it;
 *   - the destination: every device the agent serves is D (generation 1)
 *     or S (generation 2), never anything else; after the source was
 *     killed it is alive and all of its devices are D (its query-migrate
 *     not completed) or all S (completed); after it was killed itself, the
 *     agent stops serving it.
 *
 * The seed is printed (MIGRATE_FAULTS_SEED=N repeats a run); each round
 * prints its kill point and outcome.  A slow test (SLOW_TESTS): about a
 * second a round.  Skips (77) without vmscope-agent.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "../unit/cutest.h"
#include "devhost-test-util.h"

#define RELAY_SLICE 4096            /* bytes passed on at a time */
#define RELAY_PAUSE_US 1000         /* after each slice, source to destination */
/*
 * Enough devices that a stream (about 800 KB in QEMU's format, 200 KB in
 * BER) outgrows what the kernel buffers between the source and the relay:
 * the source is still sending while the relay passes it on, so a kill of
 * the source cuts the stream.
 */
#define DEVICES "--devices=mc146818rtc,serial:600,i8254,virtio-blk,apic,kvm-apic,slirp"
#define SAMPLE 8                    /* devices checked per pass, besides the first three */

static char *agent_binary;
static GSubprocess *agent;
static char *agent_qmp;
static QmpClient *watch;            /* the test's client of the agent */
static GRand *rnd;
static guint32 seed;
static int rounds = 30;
static gint64 window_us;            /* an unkilled migration's length */

/* ---- the agent --------------------------------------------------------------- */

static bool agent_start(void)
{
    g_autoptr(GError) err = NULL;
    agent = dh_agent_start(agent_binary, &agent_qmp);
    watch = agent ? qmp_client_connect(agent_qmp, 10000, &err) : NULL;
    if (agent && !watch) {
        fprintf(stderr, "the agent: %s\n", err->message);
    }
    return watch != NULL;
}

static void agent_stop(void)
{
    qmp_client_free(watch);
    watch = NULL;
    dh_agent_stop(&agent);
    g_clear_pointer(&agent_qmp, g_free);
}

/* query-device-state /host/id: {state, generation} or NULL (not served; why in *why). */
static QObject *served(const char *host, const char *id, char **why)
{
    g_autofree char *path = g_strdup_printf("/%s/%s", host, id);
    g_autoptr(QObject) args = qdict_new();
    qdict_put(args, "path", qstring_from_str(path));
    QObject *ret = NULL;
    g_autoptr(GError) err = NULL;
    if (!qmp_client_execute(watch, "query-device-state", args, &ret, &err)) {
        if (why) {
            *why = g_strdup(err->message);
        }
        return NULL;
    }
    QObject *r = qdict_new();
    qdict_put(r, "state", qobject_ref(qdict_get(ret, "state")));
    qdict_put(r, "generation", qobject_ref(qdict_get(ret, "generation")));
    qobject_unref(ret);
    return r;
}

/* Every device of host through the agent, {ID: {state, generation}}, waiting for it to be served. */
static QObject *served_all(const char *host, QObject *ids)
{
    QObject *all = qdict_new();
    for (size_t i = 0; i < qlist_size(ids); i++) {
        const char *id = qdict_get_str(qlist_get(ids, i), "id");
        QObject *s = NULL;
        for (int k = 0; k < 500 && !s; k++) {
            if (!(s = served(host, id, NULL))) {
                g_usleep(10000);
            }
        }
        if (!s) {
            fprintf(stderr, "\nthe agent never served /%s/%s\n", host, id);
            qobject_unref(all);
            return NULL;
        }
        qdict_put(all, id, s);
    }
    return all;
}

/* ---- the relay ---------------------------------------------------------------- */

typedef struct Relay {
    int listen_fd;
    char *target;                   /* the destination's socket path */
    GThread *thread;
    gint stop;
} Relay;

typedef struct Pipe {
    int from, to;
    bool slow;
} Pipe;

/* Copy from -> to until EOF or an error; then pass the EOF (or the error) on. */
static gpointer pipe_run(gpointer data)
{
    Pipe *p = data;
    uint8_t buf[RELAY_SLICE];
    for (;;) {
        ssize_t n = recv(p->from, buf, sizeof(buf), 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            if (n == 0) {
                shutdown(p->to, SHUT_WR);
            } else {
                shutdown(p->to, SHUT_RDWR);
            }
            return NULL;
        }
        for (ssize_t off = 0; off < n;) {
            ssize_t w = send(p->to, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
            if (w < 0 && errno == EINTR) {
                continue;
            }
            if (w < 0) {
                shutdown(p->from, SHUT_RDWR);     /* the other end is gone: so is this one */
                return NULL;
            }
            off += w;
        }
        if (p->slow) {
            g_usleep(RELAY_PAUSE_US);
        }
    }
}

static int unix_socket(const char *path, bool listening)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    g_strlcpy(a.sun_path, path, sizeof(a.sun_path));
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    if (listening ? bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4) < 0
                  : connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One connection: accepted, connected on, piped both ways (slowly towards the destination). */
static gpointer relay_run(gpointer data)
{
    Relay *r = data;
    int src = -1;
    while (!g_atomic_int_get(&r->stop)) {
        struct pollfd pfd = { .fd = r->listen_fd, .events = POLLIN };
        if (poll(&pfd, 1, 20) > 0 && (src = accept(r->listen_fd, NULL, NULL)) >= 0) {
            break;
        }
    }
    if (src < 0) {
        return NULL;
    }
    int dst = unix_socket(r->target, false);
    if (dst < 0) {
        close(src);                 /* the destination is gone: the source sees it */
        return NULL;
    }
    Pipe back = { dst, src, false }, forth = { src, dst, true };
    GThread *t = g_thread_new("relay-back", pipe_run, &back);
    pipe_run(&forth);
    g_thread_join(t);
    close(src);
    close(dst);
    return NULL;
}

static Relay *relay_new(const char *path, const char *target)
{
    Relay *r = g_new0(Relay, 1);
    unlink(path);
    r->listen_fd = unix_socket(path, true);
    g_assert(r->listen_fd >= 0);
    r->target = g_strdup(target);
    r->thread = g_thread_new("relay", relay_run, r);
    return r;
}

static void relay_free(Relay *r)
{
    g_atomic_int_set(&r->stop, 1);
    g_thread_join(r->thread);
    close(r->listen_fd);
    g_free(r->target);
    g_free(r);
}

/* ---- the killer ----------------------------------------------------------------- */

typedef struct Killer {
    GSubprocess *victim;
    gint64 at_us;                   /* monotonic time to kill at */
    GThread *thread;
} Killer;

static gpointer killer_run(gpointer data)
{
    Killer *k = data;
    gint64 left = k->at_us - g_get_monotonic_time();
    if (left > 0) {
        g_usleep((gulong)left);
    }
    g_subprocess_send_signal(k->victim, SIGKILL);
    return NULL;
}

/* ---- one round ------------------------------------------------------------------- */

typedef enum Victim { NOBODY, SOURCE, DESTINATION } Victim;

typedef struct Round {
    Devhost *src, *dst;
    char *src_name, *dst_name;
    QObject *ids;                   /* --list-devices */
    QObject *s;                     /* the source's devices, through the agent */
    QObject *d;                     /* the destination's, before */
    int violations;
} Round;

static const char *status_of(Devhost *dh, const char *cmd)
{
    static char buf[64];
    g_autoptr(GError) err = NULL;
    g_autoptr(QObject) r = dh_qmp(dh, cmd, NULL, &err);
    const char *st = r ? qdict_get_str(r, "status") : NULL;
    g_strlcpy(buf, st ? st : "(none)", sizeof(buf));
    return buf;
}

/*
 * One pass over every device of both hosts through the agent; a violation
 * is printed and counted.  *src_served and *dst_served: how many devices
 * of each the agent served; *dst_loaded: how many of those were S.
 */
static void check_pass(Round *r, bool all, bool src_may_go, bool dst_may_go, int *src_served,
                       int *dst_served, int *dst_loaded)
{
    *src_served = *dst_served = *dst_loaded = 0;
    size_t n = qlist_size(r->ids);
    for (size_t j = 0; j < (all ? n : 3 + SAMPLE); j++) {
        /* All, or the first three (rtc0, serial0, serial1) and a random sample. */
        size_t i = all || j < 3 ? j : (size_t)g_rand_int_range(rnd, 3, (gint32)n);
        const char *id = qdict_get_str(qlist_get(r->ids, i), "id");
        g_autofree char *why = NULL;
        g_autoptr(QObject) a = served(r->src_name, id, &why);
        if (a) {
            (*src_served)++;
            if (!qobject_equal(a, qdict_get(r->s, id))) {
                g_autofree char *ja = qobject_to_json(a, false);
                fprintf(stderr, "\nVIOLATION: source %s changed: %s\n", id, ja);
                r->violations++;
            }
        } else if (!src_may_go) {
            fprintf(stderr, "\nVIOLATION: source %s not served: %s\n", id, why);
            r->violations++;
        }
        g_clear_pointer(&why, g_free);
        g_autoptr(QObject) b = served(r->dst_name, id, &why);
        if (b) {
            (*dst_served)++;
            bool initial = qobject_equal(b, qdict_get(r->d, id));
            bool loaded = !initial && qobject_equal(qdict_get(b, "state"),
                                                     qdict_get(qdict_get(r->s, id), "state"));
            int64_t gen = -1;
            qnum_get_int(qdict_get(b, "generation"), &gen);
            if (loaded && gen == 2) {
                (*dst_loaded)++;
            } else if (!initial) {
                g_autofree char *jb = qobject_to_json(b, false);
                fprintf(stderr, "\nVIOLATION: destination %s is neither its initial state nor "
                        "the source's (generation 2): %s\n", id, jb);
                r->violations++;
            }
        } else if (!dst_may_go) {
            fprintf(stderr, "\nVIOLATION: destination %s not served: %s\n", id, why);
            r->violations++;
        }
    }
}

static bool round_setup(Round *r, int n, bool ber)
{
    r->src_name = g_strdup_printf("fsrc%d", n);
    r->dst_name = g_strdup_printf("fdst%d", n);
    g_autofree char *sock = g_strdup_printf("%s/fdst%d.mig", dh_tmp, n);
    g_autofree char *incoming = g_strdup_printf("--incoming=unix:%s", sock);
    r->src = dh_start(r->src_name, DEVICES, NULL);
    r->dst = dh_start(r->dst_name, DEVICES, incoming, "-S", NULL);
    r->ids = dh_list_devices(DEVICES, NULL);
    if (!r->src || !r->dst || !r->ids) {
        return false;
    }
    if (ber) {
        const char *caps = "{\"capabilities\": [{\"capability\": \"ber\", \"state\": true}]}";
        g_autoptr(GError) err = NULL;
        g_autoptr(QObject) a = dh_qmp(r->src, "migrate-set-capabilities", caps, &err);
        g_autoptr(QObject) b = a ? dh_qmp(r->dst, "migrate-set-capabilities", caps, &err) : NULL;
        if (!b) {
            fprintf(stderr, "ber: %s\n", err->message);
            return false;
        }
    }
    /* Let the source run a while (the socket list grows), then hold it still. */
    for (int i = 0; i < 500 && dh_state_int(r->src_name, "slirp0", "so_count") < 2; i++) {
        g_usleep(10000);
    }
    g_autoptr(GError) err = NULL;
    g_autoptr(QObject) stopped = dh_qmp(r->src, "stop", NULL, &err);
    if (!stopped) {
        fprintf(stderr, "stop: %s\n", err->message);
        return false;
    }
    /* Served twice the same: the agent has caught up with the stop. */
    for (int k = 0; k < 100; k++) {
        g_autoptr(QObject) again = served_all(r->src_name, r->ids);
        if (r->s && again && qobject_equal(r->s, again)) {
            break;
        }
        qobject_unref(r->s);
        r->s = g_steal_pointer(&again);
        g_usleep(150000);
    }
    r->d = served_all(r->dst_name, r->ids);
    return r->s && r->d;
}

static void round_free(Round *r)
{
    dh_free(r->src);
    dh_free(r->dst);
    /* A killed host's segment stays behind: take it away, the agent then forgets the host. */
    for (int i = 0; i < 2; i++) {
        g_autofree char *seg = shm_segment_path(dh_tmp, i ? r->dst_name : r->src_name);
        unlink(seg);
    }
    qobject_unref(r->ids);
    qobject_unref(r->s);
    qobject_unref(r->d);
    g_free(r->src_name);
    g_free(r->dst_name);
}

/*
 * A migration through the relay; `victim` killed `delay_us` after migrate
 * was sent (NOBODY: the window is measured).  The number of violations.
 */
static int run_round(int n, Victim victim, gint64 delay_us, bool ber)
{
    Round r = { 0 };
    if (!round_setup(&r, n, ber)) {
        fprintf(stderr, "\nround %d: setup failed\n", n);
        round_free(&r);
        return 1;
    }
    g_autofree char *relay_path = g_strdup_printf("%s/relay%d.sock", dh_tmp, n);
    g_autofree char *dst_sock = g_strdup_printf("%s/fdst%d.mig", dh_tmp, n);
    Relay *relay = relay_new(relay_path, dst_sock);
    g_autofree char *args = g_strdup_printf("{\"uri\": \"unix:%s\"}", relay_path);

    int src_served, dst_served, dst_loaded;
    check_pass(&r, true, false, false, &src_served, &dst_served, &dst_loaded);
    g_autoptr(GError) err = NULL;
    gint64 start = g_get_monotonic_time();
    g_autoptr(QObject) ok = dh_qmp(r.src, "migrate", args, &err);
    if (!ok) {
        fprintf(stderr, "\nround %d: migrate: %s\n", n, err->message);
        r.violations++;
    }
    Killer k = { .victim = victim == SOURCE ? r.src->proc : victim == DESTINATION ? r.dst->proc
                                                                                  : NULL,
                 .at_us = start + delay_us };
    if (k.victim) {
        k.thread = g_thread_new("killer", killer_run, &k);
    }

    /* Watch until the victim is gone (or, unkilled, the migration ended) and a while after. */
    const char *outcome = NULL;
    gint64 settle = 0;
    for (int pass = 0; pass < 2000; pass++) {
        bool src_gone = victim == SOURCE && !g_subprocess_get_identifier(r.src->proc);
        bool dst_gone = victim == DESTINATION && !g_subprocess_get_identifier(r.dst->proc);
        check_pass(&r, false, victim == SOURCE, victim == DESTINATION, &src_served, &dst_served,
                   &dst_loaded);
        if (victim == NOBODY && !settle) {
            const char *st = status_of(r.src, "query-migrate");
            if (strcmp(st, "completed") == 0 || strcmp(st, "failed") == 0) {
                window_us = g_get_monotonic_time() - start;
                settle = g_get_monotonic_time();
            }
        }
        if ((src_gone || dst_gone) && !settle) {
            settle = g_get_monotonic_time();
        }
        /* Settled: the agent no longer serves the dead host, and the survivor's migration ended. */
        if (settle && g_get_monotonic_time() - settle > 300000) {
            if (victim == SOURCE && src_served == 0) {
                const char *st = status_of(r.dst, "query-migrate");
                if (strcmp(st, "active") != 0) {
                    break;
                }
            } else if (victim == DESTINATION && dst_served == 0) {
                const char *st = status_of(r.src, "query-migrate");
                if (strcmp(st, "completed") == 0 || strcmp(st, "failed") == 0) {
                    break;
                }
            } else if (victim == NOBODY) {
                break;
            }
        }
        g_usleep(2000);
    }
    if (k.thread) {
        g_thread_join(k.thread);
    }

    /* Both, at rest: every device. */
    check_pass(&r, true, victim == SOURCE, victim == DESTINATION, &src_served, &dst_served,
               &dst_loaded);
    size_t n_ids = qlist_size(r.ids);
    if (victim == SOURCE) {
        const char *mig = status_of(r.dst, "query-migrate");
        bool completed = strcmp(mig, "completed") == 0;
        outcome = completed ? "destination completed" : "destination kept its initial state";
        if (src_served != 0) {
            fprintf(stderr, "\nVIOLATION: the agent still serves the killed source\n");
            r.violations++;
        }
        if (dst_served != (int)n_ids || dst_loaded != (completed ? (int)n_ids : 0)) {
            fprintf(stderr, "\nVIOLATION: destination (query-migrate %s): %d devices served, "
                    "%d of them loaded\n", mig, dst_served, dst_loaded);
            r.violations++;
        }
    } else if (victim == DESTINATION) {
        const char *mig = status_of(r.src, "query-migrate");
        g_autofree char *mig_copy = g_strdup(mig);
        const char *run = status_of(r.src, "query-status");
        bool completed = strcmp(mig_copy, "completed") == 0;
        outcome = completed ? "source completed (postmigrate)" : "source failed, runs on (paused)";
        if (dst_served != 0) {
            fprintf(stderr, "\nVIOLATION: the agent still serves the killed destination\n");
            r.violations++;
        }
        if (src_served != (int)n_ids ||
            strcmp(run, completed ? "postmigrate" : "paused") != 0 ||
            (!completed && strcmp(mig_copy, "failed") != 0)) {
            fprintf(stderr, "\nVIOLATION: source: query-migrate %s, query-status %s, %d devices "
                    "served\n", mig_copy, run, src_served);
            r.violations++;
        }
    } else {
        const char *mig = status_of(r.src, "query-migrate");
        outcome = "unkilled";
        if (strcmp(mig, "completed") != 0 || dst_loaded != (int)n_ids) {
            fprintf(stderr, "\nround %d: the unkilled migration: %s, %d devices loaded\n", n, mig,
                    dst_loaded);
            r.violations++;
        }
    }
    printf("round %2d: %-4s kill %-11s at %6.1f ms: %s%s\n", n, ber ? "ber" : "qemu",
           victim == SOURCE ? "source" : victim == DESTINATION ? "destination" : "nobody",
           (double)delay_us / 1000, outcome, r.violations ? " VIOLATED" : "");
    relay_free(relay);
    unlink(relay_path);
    unlink(dst_sock);
    int v = r.violations;
    round_free(&r);
    return v;
}

static void test_kill_at_random_points(void)
{
    /* The window: an unkilled migration through the relay, in each format. */
    CU_ASSERT_EQUAL(run_round(0, NOBODY, 0, false), 0);
    gint64 qemu_window = window_us;
    CU_ASSERT_EQUAL(run_round(1, NOBODY, 0, true), 0);
    gint64 ber_window = window_us;
    printf("window: %.1f ms (qemu), %.1f ms (ber)\n", (double)qemu_window / 1000,
           (double)ber_window / 1000);
    CU_ASSERT_TRUE_FATAL(qemu_window > 0 && ber_window > 0);
    int total = 0, n = 2;
    for (int victim = SOURCE; victim <= DESTINATION; victim++) {
        for (int i = 0; i < rounds; i++, n++) {
            bool ber = i % 2;
            gint64 w = ber ? ber_window : qemu_window;
            gint64 delay = g_rand_int_range(rnd, 0, (gint32)(w * 5 / 4) + 1);
            total += run_round(n, (Victim)victim, delay, ber);
        }
    }
    printf("%d rounds, %d violations (seed %u)\n", 2 * rounds, total, seed);
    CU_ASSERT_EQUAL(total, 0);
}

static const CuTest fault_tests[] = {
    { "kill -9 of source and destination at random points of a migration",
      test_kill_at_random_points },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "migrate-faults", fault_tests },
    { NULL, NULL },
};

int main(int argc, char **argv)
{
    dh_init(argv[0]);
    alarm(1800);
    const char *env = g_getenv("VMSCOPE_AGENT");
    agent_binary = env ? g_strdup(env) : dh_build_path(argv[0], "agent/vmscope-agent");
    if (!g_file_test(agent_binary, G_FILE_TEST_IS_EXECUTABLE)) {
        printf("SKIP: no vmscope-agent at %s\n", agent_binary);
        g_free(agent_binary);
        dh_cleanup();
        return 77;
    }
    const char *s = g_getenv("MIGRATE_FAULTS_SEED");
    seed = s ? (guint32)strtoul(s, NULL, 10) : (guint32)g_get_real_time();
    const char *rs = g_getenv("MIGRATE_FAULTS_ROUNDS");
    rounds = rs ? atoi(rs) : rounds;
    printf("seed: %u (MIGRATE_FAULTS_SEED=%u repeats this run), %d rounds per victim\n", seed,
           seed, rounds);
    fflush(stdout);
    rnd = g_rand_new_with_seed(seed);
    if (!agent_start()) {
        agent_stop();
        dh_cleanup();
        return 1;
    }
    int rc = cutest_run(suites);
    agent_stop();
    dh_cleanup();
    g_rand_free(rnd);
    g_free(agent_binary);
    return rc;
}

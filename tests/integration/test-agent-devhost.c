/*
 * vmscope-agent against the real device host, vmscope-devhost: its default
 * devices are announced in order, every one of them reads (JSON, pretty,
 * schema), the paths in DEVICE_STATE_CHANGED name values of the state, a
 * `quit` over the host's own QMP monitor deletes its devices, and a kill -9
 * gives HOST_LOST, within 100 ms whether or not the devhost's parent reaps
 * it (and at the next poll on kernels without pidfd_open).  Skips (77) when vmscope-devhost is not built.
 */
#include "config.h"

#include <signal.h>
#include <glib/gstdio.h>

#include "../unit/cutest.h"
#include "agent-test-util.h"
#include "agent-fixture.h"
#include "bridge/qmp-client.h"
#include "bridge/qmp-json.h"

#define EVENT_TIMEOUT_MS 10000

static const char *argv0;
static char *devhost_prog;

/* What a devhost runs by default, as `vmscope-devhost --list-devices` says. */
static QObject *default_devices;

static size_t n_default(void)
{
    return qlist_size(default_devices);
}

static const char *default_device(size_t i, const char *member)
{
    return qdict_get_str(qlist_get(default_devices, i), member);
}

static QObject *list_default_devices(void)
{
    const char *argv[] = { devhost_prog, "--list-devices", NULL };
    Child *c = child_start(argv, false);
    g_autofree char *line = c ? child_read_line(c) : NULL;
    int status = c ? child_wait(c) : -1;
    child_free(c);
    QObject *list = NULL;
    g_autoptr(GError) err = NULL;
    if (status != 0 || !line || !qobject_from_json(line, strlen(line), &list, &err) ||
        qobject_type(list) != QTYPE_LIST || qlist_size(list) == 0) {
        fprintf(stderr, "vmscope-devhost --list-devices: exit %d, %s\n", status,
                err ? err->message : line ? line : "no output");
        qobject_unref(list);
        return NULL;
    }
    return list;
}

/* vmscope-devhost --name NAME --shm-dir DIR --qmp unix:DIR/NAME.qmp; *qmp gets its address. */
static Child *devhost_start(Fix *f, const char *name, char **qmp)
{
    g_autofree char *addr = g_strdup_printf("unix:%s/%s.qmp", f->dir, name);
    const char *argv[] = { devhost_prog, "--name", name, "--shm-dir", f->dir, "--qmp", addr,
                           "--tick-ms", "20", NULL };
    Child *c = child_start(argv, false);
    if (!c) {
        return NULL;
    }
    g_autofree char *seg = child_read_line(c);
    g_autofree char *want = g_strdup_printf("segment: %s/vmscope-%s", f->dir, name);
    ASSERT_STR_EQ(seg, want);
    g_autofree char *line = child_read_line(c);
    g_autofree char *want_qmp = g_strdup_printf("qmp: listening on %s", addr);
    ASSERT_STR_EQ(line, want_qmp);
    *qmp = g_steal_pointer(&addr);
    return c;
}

static char *next_event(Fix *f, const char *name)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(QObject) ev = qmp_client_wait_event(f->qmp, name, EVENT_TIMEOUT_MS, &err);
    if (!ev) {
        fprintf(stderr, "no event: %s\n", err->message);
        return NULL;
    }
    g_autofree char *data = qmp_json_format(qdict_get(ev, "data"));
    return g_strdup_printf("%s %s", qdict_get_str(ev, "event"), data);
}

static void expect_added(Fix *f, const char *host)
{
    for (size_t i = 0; i < n_default(); i++) {
        g_autofree char *ev = next_event(f, "DEVICE_ADDED");
        g_autofree char *want = g_strdup_printf(
            "DEVICE_ADDED {\"path\": \"/%s/%s\", \"host\": \"%s\", \"type\": \"%s\"}", host,
            default_device(i, "id"), host, default_device(i, "type"));
        ASSERT_STR_EQ(ev, want);
    }
}

static void expect_deleted(Fix *f, const char *host)
{
    for (size_t i = 0; i < n_default(); i++) {
        g_autofree char *ev = next_event(f, "DEVICE_DELETED");
        g_autofree char *want = g_strdup_printf(
            "DEVICE_DELETED {\"path\": \"/%s/%s\", \"host\": \"%s\"}", host,
            default_device(i, "id"), host);
        ASSERT_STR_EQ(ev, want);
    }
}

/*
 * Does `path` (a DEVICE_STATE_CHANGED path) name a value of state?  1: yes;
 * 0: a list element past the end (it went away since); -1: no.
 */
static int resolve(const QObject *state, const char *path)
{
    const QObject *cur = state;
    const char *p = path;
    while (*p) {
        if (*p == '[') {
            char *end;
            unsigned long i = strtoul(p + 1, &end, 10);
            if (qobject_type(cur) != QTYPE_LIST || *end != ']') {
                return -1;
            }
            if (i >= qlist_size(cur)) {
                return 0;
            }
            cur = qlist_get(cur, i);
            p = end + 1;
            continue;
        }
        if (*p == '.') {
            p++;
        }
        if (qobject_type(cur) != QTYPE_DICT) {
            return -1;
        }
        /* The longest member name the path continues with. */
        const char *best = NULL;
        QObject *next = NULL;
        qdict_foreach(cur, key, val) {
            size_t n = strlen(key);
            if (strncmp(p, key, n) == 0 && (p[n] == 0 || p[n] == '.' || p[n] == '[') &&
                (!best || n > strlen(best))) {
                best = key;
                next = val;
            }
        }
        if (!best) {
            return -1;
        }
        p += strlen(best);
        cur = next;
    }
    return 1;
}

static void test_devhost_devices(void)
{
    Fix f;
    fix_setup(&f, argv0);
    g_autofree char *host_qmp = NULL;
    Child *dh = devhost_start(&f, "dh", &host_qmp);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dh);
    expect_added(&f, "dh");

    g_autoptr(GError) err = NULL;
    g_autoptr(QObject) hosts = NULL;
    CU_ASSERT_TRUE(qmp_client_execute(f.qmp, "query-hosts", NULL, &hosts, &err));
    CU_ASSERT_EQUAL_FATAL(qlist_size(hosts), 1);
    QObject *h = qlist_get(hosts, 0);
    int64_t pid = 0, ndev = 0;
    ASSERT_STR_EQ(qdict_get_str(h, "name"), "dh");
    CU_ASSERT_TRUE(qnum_get_int(qdict_get(h, "pid"), &pid) && pid == dh->pid);
    CU_ASSERT_TRUE(qnum_get_int(qdict_get(h, "devices"), &ndev) && ndev == (int64_t)n_default());
    CU_ASSERT_PTR_NULL(qdict_get(h, "error"));

    /* Every device reads, in every form. */
    for (size_t i = 0; i < n_default(); i++) {
        g_autofree char *path = g_strdup_printf("/dh/%s", default_device(i, "id"));
        g_autoptr(QObject) args = qdict_new();
        qdict_put(args, "path", qstring_from_str(path));
        qdict_put(args, "format", qstring_from_str("pretty"));
        g_autoptr(QObject) st = NULL;
        CU_ASSERT_TRUE(qmp_client_execute(f.qmp, "query-device-state", args, &st, &err));
        ASSERT_NO_ERROR(err);
        ASSERT_STR_EQ(qdict_get_str(st, "type"), default_device(i, "type"));
        CU_ASSERT_EQUAL(qobject_type(qdict_get(st, "state")), QTYPE_DICT);
        g_autofree char *head = g_strdup_printf("%s (vmsd %s, version ", default_device(i, "type"),
                                                default_device(i, "section"));
        CU_ASSERT_TRUE(g_str_has_prefix(qdict_get_str(st, "text"), head));
        qdict_del(args, "format");
        g_autoptr(QObject) schema = NULL;
        CU_ASSERT_TRUE(qmp_client_execute(f.qmp, "query-device-schema", args, &schema, &err));
        ASSERT_NO_ERROR(err);
        ASSERT_STR_EQ(qdict_get_str(qdict_get(schema, "schema"), "name"),
                      default_device(i, "section"));
    }

    /* Changes name values of the state; the serial ports count what they receive. */
    bool serial_rx = false;
    int checked = 0;
    for (int n = 0; n < 200 && (!serial_rx || checked < 40); n++) {
        g_autoptr(QObject) ev = qmp_client_wait_event(f.qmp, "DEVICE_STATE_CHANGED",
                                                      EVENT_TIMEOUT_MS, &err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(ev);
        QObject *data = qdict_get(ev, "data");
        const char *path = qdict_get_str(data, "path");
        QObject *changed = qdict_get(data, "changed");
        g_autoptr(QObject) args = qdict_new();
        qdict_put(args, "path", qstring_from_str(path));
        g_autoptr(QObject) st = NULL;
        CU_ASSERT_TRUE_FATAL(qmp_client_execute(f.qmp, "query-device-state", args, &st, &err));
        for (size_t k = 0; k < qlist_size(changed); k++) {
            const char *p = qstring_get(qlist_get(changed, k));
            int r = resolve(qdict_get(st, "state"), p);
            if (r < 0) {
                fprintf(stderr, "%s: changed path '%s' is not in the state\n", path, p);
            }
            CU_ASSERT_TRUE(r >= 0);
            serial_rx |= strcmp(path, "/dh/serial0") == 0 && strcmp(p, "rx_total") == 0;
            checked++;
        }
    }
    CU_ASSERT_TRUE(serial_rx);

    /* quit over the host's own monitor: a clean exit. */
    g_autoptr(QmpClient) hc = qmp_client_connect(host_qmp, 10000, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_TRUE(qmp_client_execute(hc, "quit", NULL, NULL, &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(child_wait(dh), 0);
    child_free(dh);
    expect_deleted(&f, "dh");
    g_autoptr(QObject) none = NULL;
    CU_ASSERT_TRUE(qmp_client_execute(f.qmp, "query-hosts", NULL, &none, &err));
    CU_ASSERT_EQUAL(qlist_size(none), 0);
    fix_teardown(&f);
}

static void test_devhost_killed(void)
{
    Fix f;
    fix_setup(&f, argv0);
    g_autofree char *q1 = NULL, *q2 = NULL;
    Child *victim = devhost_start(&f, "dk", &q1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(victim);
    expect_added(&f, "dk");
    Child *other = devhost_start(&f, "do", &q2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(other);
    expect_added(&f, "do");

    int pid = victim->pid;
    CU_ASSERT_EQUAL(kill(pid, SIGKILL), 0);
    CU_ASSERT_EQUAL(child_wait(victim), -1);
    child_free(victim);
    g_autofree char *lost = next_event(&f, "HOST_LOST");
    g_autofree char *want = g_strdup_printf(
        "HOST_LOST {\"host\": \"dk\", \"reason\": \"owner process %d exited without closing its "
        "segment\"}", pid);
    ASSERT_STR_EQ(lost, want);
    expect_deleted(&f, "dk");

    /* The other host still answers, its devices still change. */
    g_autoptr(GError) err = NULL;
    g_autoptr(QObject) args = qdict_new();
    qdict_put(args, "path", qstring_from_str("/do/slirp0"));
    g_autoptr(QObject) st = NULL;
    CU_ASSERT_TRUE(qmp_client_execute(f.qmp, "query-device-state", args, &st, &err));
    ASSERT_NO_ERROR(err);
    bool changed = false;
    for (int i = 0; i < 100 && !changed; i++) {     /* events of dk may still be queued */
        g_autofree char *ch = next_event(&f, "DEVICE_STATE_CHANGED");
        CU_ASSERT_PTR_NOT_NULL_FATAL(ch);
        changed = strstr(ch, "\"path\": \"/do/") != NULL;
    }
    CU_ASSERT_TRUE(changed);

    kill(other->pid, SIGTERM);
    CU_ASSERT_EQUAL(child_wait(other), 0);
    child_free(other);
    expect_deleted(&f, "do");
    fix_teardown(&f);
}

/* ---- owner liveness (issue 12) ------------------------------------------- */

#define LOST_WITHIN_MS 100          /* with a pidfd */
#define LOST_FALLBACK_MS 200        /* without: one poll period (100 ms) and slack */

/* /proc/PID/stat's state letter ('Z': a zombie), or 0 if there is no such process. */
static char proc_state(int pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/stat", pid);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL)) {
        return 0;
    }
    const char *p = strrchr(text, ')');
    return p && p[1] == ' ' ? p[2] : 0;
}

/*
 * A devhost whose parent never waits for it (as a parent made with
 * Python's subprocess.Popen that never calls wait): sh starts it in the
 * background, says its pid, then becomes `sleep`.  Killed, the devhost
 * stays a zombie for as long as *parent lives.  Returns the devhost's pid.
 */
static int devhost_start_unreaped(Fix *f, const char *name, Child **parent)
{
    g_autofree char *addr = g_strdup_printf("unix:%s/%s.qmp", f->dir, name);
    const char *argv[] = { "/bin/sh", "-c", "\"$@\" & echo \"pid $!\"; exec sleep 600", "sh",
                           devhost_prog, "--name", name, "--shm-dir", f->dir, "--qmp", addr,
                           "--tick-ms", "20", NULL };
    *parent = child_start(argv, false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(*parent);
    int pid = 0;
    for (int i = 0; i < 3; i++) {      /* "pid N", "segment: ...", "qmp: ..." in any order */
        g_autofree char *line = child_read_line(*parent);
        CU_ASSERT_PTR_NOT_NULL_FATAL(line);
        if (g_str_has_prefix(line, "pid ")) {
            pid = atoi(line + 4);
        }
    }
    CU_ASSERT_TRUE_FATAL(pid > 0);
    return pid;
}

/* kill -9 the owner of host; milliseconds until a QMP client has HOST_LOST. */
static double kill_until_lost(Fix *f, const char *host, int pid)
{
    gint64 t0 = g_get_monotonic_time();
    CU_ASSERT_EQUAL(kill(pid, SIGKILL), 0);
    g_autofree char *lost = next_event(f, "HOST_LOST");
    double ms = (double)(g_get_monotonic_time() - t0) / 1000.0;
    g_autofree char *want = g_strdup_printf(
        "HOST_LOST {\"host\": \"%s\", \"reason\": \"owner process %d exited without closing its "
        "segment\"}", host, pid);
    ASSERT_STR_EQ(lost, want);
    expect_deleted(f, host);
    return ms;
}

/* Round after round, a devhost reaped by its parent (this test) or never reaped. */
static void lost_rounds(Fix *f, bool reaped, int rounds, double limit_ms)
{
    double worst = 0;
    for (int i = 0; i < rounds; i++) {
        g_autofree char *name = g_strdup_printf("%s%d", reaped ? "reaped" : "zombie", i);
        g_autofree char *qmp = NULL;
        Child *parent = NULL;
        Child *dh = NULL;
        int pid;
        if (reaped) {
            dh = devhost_start(f, name, &qmp);
            CU_ASSERT_PTR_NOT_NULL_FATAL(dh);
            pid = dh->pid;
        } else {
            pid = devhost_start_unreaped(f, name, &parent);
        }
        expect_added(f, name);
        double ms = kill_until_lost(f, name, pid);
        if (reaped) {
            CU_ASSERT_EQUAL(child_wait(dh), -1);
            child_free(dh);
        } else {
            CU_ASSERT_EQUAL(proc_state(pid), 'Z');     /* still unreaped: it was a zombie */
            kill(parent->pid, SIGKILL);
            child_wait(parent);
            child_free(parent);
        }
        printf("\n   HOST_LOST %.1f ms after kill -9 (%s)", ms, reaped ? "reaped" : "zombie");
        worst = MAX(worst, ms);
    }
    printf("\n   worst of %d: %.1f ms (limit %.0f ms)\n", rounds, worst, limit_ms);
    CU_ASSERT_TRUE(worst < limit_ms);
}

static void test_owner_lost_at_once(void)
{
    Fix f;
    fix_setup(&f, argv0);
    lost_rounds(&f, true, 3, LOST_WITHIN_MS);
    lost_rounds(&f, false, 3, LOST_WITHIN_MS);
    fix_teardown(&f);
}

/* Kernels without pidfd_open: the poll reads /proc and sees the zombie. */
static void test_owner_lost_without_pidfd(void)
{
    Fix f;
    g_setenv("VMSCOPE_SHM_NO_PIDFD", "1", TRUE);
    fix_setup(&f, argv0);
    g_unsetenv("VMSCOPE_SHM_NO_PIDFD");
    lost_rounds(&f, false, 2, LOST_FALLBACK_MS);
    fix_teardown(&f);
}

static const CuTest tests[] = {
    { "devhost devices, changes, quit", test_devhost_devices },
    { "devhost killed", test_devhost_killed },
    { "owner killed: HOST_LOST within 100 ms, reaped or a zombie", test_owner_lost_at_once },
    { "owner killed, no pidfd: HOST_LOST at the next poll", test_owner_lost_without_pidfd },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "agent and vmscope-devhost", tests },
    { NULL, NULL },
};

int main(int argc, char **argv)
{
    argv0 = argv[0];
    const char *env = g_getenv("VMSCOPE_DEVHOST");
    devhost_prog = env && *env ? g_strdup(env) : build_path(argv0, "devices/vmscope-devhost");
    if (!g_file_test(devhost_prog, G_FILE_TEST_IS_EXECUTABLE)) {
        printf("SKIP: vmscope-devhost is not built (%s)\n", devhost_prog);
        g_free(devhost_prog);
        return 77;
    }
    signal(SIGPIPE, SIG_IGN);
    alarm(300);
    default_devices = list_default_devices();
    if (!default_devices) {
        g_free(devhost_prog);
        return 1;
    }
    int rc = cutest_run(suites);
    qobject_unref(default_devices);
    g_free(devhost_prog);
    return rc;
}

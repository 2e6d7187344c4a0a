/*
 * vmscope-agent against real device hosts (shm-publisher) in a temporary
 * segment directory, over its real QMP socket: hosts and devices listed,
 * exact device state, pretty text and schema, error classes and texts,
 * hosts coming, going and dying (kill -9), broken and hostile segments next
 * to good ones, DEVICE_STATE_CHANGED with exactly the changed paths, and
 * `vmscope-view state`.  Every wait is bounded; every process and segment
 * is cleaned up.
 */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/stat.h>
#include <glib/gstdio.h>

#include "../unit/cutest.h"
#include "agent-test-util.h"
#include "agent-fixture.h"
#include "bridge/qmp-client.h"
#include "bridge/qmp-json.h"
#include "testdev.h"
#include "vmscope/address.h"
#include "vmscope/error.h"

#define EVENT_TIMEOUT_MS 10000
#define AGENT_POLL_MS_FOR_TEST 150     /* a little more than the agent's poll period */

static const char *argv0;

static void publisher_exit(Child *p)
{
    if (p) {
        CU_ASSERT_TRUE(publisher_cmd(p, "exit"));
        CU_ASSERT_EQUAL(child_wait(p), 0);
        child_free(p);
    }
}

/* ---- QMP helpers ------------------------------------------------------------ */

static QObject *json(const char *text)
{
    QObject *v = NULL;
    g_autoptr(GError) err = NULL;
    if (!qobject_from_json(text, strlen(text), &v, &err)) {
        fprintf(stderr, "bad test JSON: %s: %s\n", text, err->message);
    }
    return v;
}

/* Run a command (args as JSON text or NULL); the result as QMP text, or "ERROR CLASS: desc". */
static char *run(Fix *f, const char *cmd, const char *args)
{
    g_autoptr(QObject) a = args ? json(args) : NULL;
    g_autoptr(QObject) ret = NULL;
    g_autoptr(GError) err = NULL;
    if (!qmp_client_execute(f->qmp, cmd, a, &ret, &err)) {
        if (err->domain == QMP_ERROR) {
            return g_strdup_printf("ERROR %s: %s", qmp_error_class_name(err->code), err->message);
        }
        return g_strdup_printf("FAILED: %s", err->message);
    }
    return qmp_json_format(ret);
}

#define ASSERT_RUN(f, cmd, args, expected)                                      \
    do {                                                                        \
        g_autofree char *got_ = run((f), (cmd), (args));                        \
        ASSERT_STR_EQ(got_, (expected));                                        \
    } while (0)

/* The next event called name (NULL: any) as "NAME DATA", or NULL after the timeout. */
static char *next_named_event(Fix *f, const char *name)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(QObject) ev = qmp_client_wait_event(f->qmp, name, EVENT_TIMEOUT_MS, &err);
    if (!ev) {
        fprintf(stderr, "no event: %s\n", err->message);
        return NULL;
    }
    CU_ASSERT_PTR_NOT_NULL(qdict_get(ev, "timestamp"));
    g_autofree char *data = qmp_json_format(qdict_get(ev, "data"));
    return g_strdup_printf("%s %s", qdict_get_str(ev, "event"), data);
}

static char *next_event(Fix *f)
{
    return next_named_event(f, NULL);
}

#define ASSERT_EVENT(f, expected)                                               \
    do {                                                                        \
        g_autofree char *ev_ = next_event(f);                                   \
        ASSERT_STR_EQ(ev_, (expected));                                         \
    } while (0)

/* Wait until query-devices lists `path` (bounded). */
static bool wait_device(Fix *f, const char *path)
{
    g_autofree char *quoted = g_strdup_printf("\"path\": \"%s\"", path);
    for (int i = 0; i < 500; i++) {
        g_autofree char *devs = run(f, "query-devices", NULL);
        if (strstr(devs, quoted)) {
            return true;
        }
        g_usleep(20000);
    }
    fprintf(stderr, "device %s never appeared\n", path);
    return false;
}

/* Wait until the agent has taken at least n snapshots (bounded). */
static bool wait_snapshots(Fix *f, uint64_t n)
{
    for (int i = 0; i < 500; i++) {
        g_autoptr(QObject) ret = NULL;
        uint64_t got = 0;
        if (qmp_client_execute(f->qmp, "query-agent-stats", NULL, &ret, NULL) &&
            qnum_get_uint(qdict_get(ret, "snapshots"), &got) && got >= n) {
            return true;
        }
        g_usleep(20000);
    }
    fprintf(stderr, "the agent never took %" G_GUINT64_FORMAT " snapshots\n", n);
    return false;
}

/* The exact initial testdev state as QMP text (generation 1: the update that made it). */
#define TESTDEV_STATE                                                           \
    "{\"rx_total\": 0, \"temp\": -5, \"enabled\": true, \"mac\": \"525400123456\", " \
    "\"regs\": [1, 2, 3, 65535], \"fifo\": {\"num\": 2, \"data\": [65, 66]}, "   \
    "\"n_items\": 2, \"items\": [{\"id\": 1, \"rx_bytes\": 100}, "              \
    "{\"id\": 2, \"rx_bytes\": 200}], \"big\": 18446744073709551615, "          \
    "\"testdev/extra\": {\"extra\": 7}}"

static const char testdev_pretty[] =
    "testdev (vmsd testdev, version 2) {\n"
    "  rx_total: uint32 = 0 (0x00000000)\n"
    "  temp: int16 = -5\n"
    "  enabled: bool = true\n"
    "  mac: buffer[6] = 52 54 00 12 34 56\n"
    "  regs: uint16[4] = [0x0001, 0x0002, 0x0003, 0xffff]\n"
    "  fifo (vmsd testdev/fifo, version 1) {\n"
    "    num: uint8 = 2 (0x02)\n"
    "    data: uint8[2] = [0x41, 0x42]\n"
    "  }\n"
    "  n_items: uint32 = 2 (0x00000002)\n"
    "  items: list[2] [\n"
    "    [0] (vmsd test-item, version 1) {\n"
    "      id: uint32 = 1 (0x00000001)\n"
    "      rx_bytes: uint64 = 100 (0x0000000000000064)\n"
    "    }\n"
    "    [1] (vmsd test-item, version 1) {\n"
    "      id: uint32 = 2 (0x00000002)\n"
    "      rx_bytes: uint64 = 200 (0x00000000000000c8)\n"
    "    }\n"
    "  ]\n"
    "  big: uint64 = 18446744073709551615 (0xffffffffffffffff)\n"
    "  subsection testdev/extra, version 1 {\n"
    "    extra: uint32 = 7 (0x00000007)\n"
    "  }\n"
    "}\n";

/* ---- queries ------------------------------------------------------------------ */

static void test_hosts_and_devices(void)
{
    Fix f;
    fix_setup(&f, argv0);
    Child *p = publisher_start(argv0, f.dir, "h1", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_TRUE(publisher_cmd(p, "add t1 testdev"));
    CU_ASSERT_TRUE(publisher_cmd(p, "add s0 serial 3"));
    CU_ASSERT_TRUE(wait_device(&f, "/h1/s0"));

    g_autofree char *hosts = g_strdup_printf(
        "[{\"name\": \"h1\", \"pid\": %d, \"alive\": true, \"segment\": \"%s/vmscope-h1\", "
        "\"devices\": 2, \"generation\": 2}]", p->pid, f.dir);
    ASSERT_RUN(&f, "query-hosts", NULL, hosts);
    ASSERT_RUN(&f, "query-devices", NULL,
               "[{\"path\": \"/h1/t1\", \"host\": \"h1\", \"id\": \"t1\", \"type\": \"testdev\", "
               "\"instance-id\": 0, \"version-id\": 2, \"generation\": 1, \"state-size\": 64}, "
               "{\"path\": \"/h1/s0\", \"host\": \"h1\", \"id\": \"s0\", \"type\": \"serial\", "
               "\"instance-id\": 3, \"version-id\": 4, \"generation\": 1, \"state-size\": 88}]");
    /* Generations follow the device's updates. */
    CU_ASSERT_TRUE(publisher_cmd(p, "tick t1"));
    CU_ASSERT_TRUE(publisher_cmd(p, "tick t1"));
    g_autofree char *devs = run(&f, "query-devices", NULL);
    CU_ASSERT_PTR_NOT_NULL(strstr(devs, "\"id\": \"t1\", \"type\": \"testdev\", "
                                        "\"instance-id\": 0, \"version-id\": 2, "
                                        "\"generation\": 3"));
    publisher_exit(p);
    fix_teardown(&f);
}

static void test_state_exact(void)
{
    Fix f;
    fix_setup(&f, argv0);
    Child *p = publisher_start(argv0, f.dir, "h1", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_TRUE(publisher_cmd(p, "add t1 testdev"));
    /* Asked at once: the agent looks again for a device it does not know yet. */
    ASSERT_RUN(&f, "query-device-state", "{\"path\": \"/h1/t1\"}",
               "{\"path\": \"/h1/t1\", \"host\": \"h1\", \"type\": \"testdev\", "
               "\"instance-id\": 0, \"version-id\": 2, \"generation\": 1, \"state\": "
               TESTDEV_STATE "}");
    ASSERT_RUN(&f, "query-device-state", "{\"path\": \"/h1/t1\", \"format\": \"json\"}",
               "{\"path\": \"/h1/t1\", \"host\": \"h1\", \"type\": \"testdev\", "
               "\"instance-id\": 0, \"version-id\": 2, \"generation\": 1, \"state\": "
               TESTDEV_STATE "}");

    /* Values we set, in one update: generation 2. */
    CU_ASSERT_TRUE(publisher_cmd(p, "poke t1 %zu 4 4000000000 %zu 2 65535 %zu 8 1",
                                 offsetof(TestDev, rx_total), offsetof(TestDev, temp),
                                 offsetof(TestDev, big)));
    CU_ASSERT_TRUE(publisher_cmd(p, "items t1 0"));
    ASSERT_RUN(&f, "query-device-state", "{\"path\": \"/h1/t1\"}",
               "{\"path\": \"/h1/t1\", \"host\": \"h1\", \"type\": \"testdev\", "
               "\"instance-id\": 0, \"version-id\": 2, \"generation\": 3, \"state\": "
               "{\"rx_total\": 4000000000, \"temp\": -1, \"enabled\": true, "
               "\"mac\": \"525400123456\", \"regs\": [1, 2, 3, 65535], "
               "\"fifo\": {\"num\": 2, \"data\": [65, 66]}, \"n_items\": 0, \"items\": [], "
               "\"big\": 1, \"testdev/extra\": {\"extra\": 7}}}");

    /* A reference device model, read through its published description. */
    CU_ASSERT_TRUE(publisher_cmd(p, "add sl slirp"));
    for (int i = 0; i < 6; i++) {
        CU_ASSERT_TRUE(publisher_cmd(p, "tick sl"));
    }
    ASSERT_RUN(&f, "query-device-state", "{\"path\": \"/h1/sl\"}",
               "{\"path\": \"/h1/sl\", \"host\": \"h1\", \"type\": \"slirp\", "
               "\"instance-id\": 0, \"version-id\": 1, \"generation\": 7, \"state\": "
               "{\"vnetwork\": 167772672, \"vnetmask\": 4294967040, \"next_id\": 2, "
               "\"so_count\": 1, \"sockets\": [{\"so_id\": 1, \"proto\": 17, \"tcp_state\": 0, "
               "\"lport\": 40001, \"fport\": 53, \"laddr\": 167772687, \"faddr\": 3221225985, "
               "\"rx_bytes\": 1460, \"tx_bytes\": 64}]}}");
    publisher_exit(p);
    fix_teardown(&f);
}

static void test_pretty_and_schema(void)
{
    Fix f;
    fix_setup(&f, argv0);
    Child *p = publisher_start(argv0, f.dir, "h1", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_TRUE(publisher_cmd(p, "add t1 testdev"));

    g_autoptr(QObject) args = json("{\"path\": \"/h1/t1\", \"format\": \"pretty\"}");
    g_autoptr(QObject) ret = NULL;
    g_autoptr(GError) err = NULL;
    CU_ASSERT_TRUE(qmp_client_execute(f.qmp, "query-device-state", args, &ret, &err));
    ASSERT_NO_ERROR(err);
    ASSERT_STR_EQ(qdict_get_str(ret, "text"), testdev_pretty);
    g_autofree char *state = qmp_json_format(qdict_get(ret, "state"));
    ASSERT_STR_EQ(state, TESTDEV_STATE);
    CU_ASSERT_EQUAL(qdict_size(ret), 8);

    /* The schema is the description the host published, unchanged. */
    g_autoptr(QObject) sargs = json("{\"path\": \"/h1/t1\"}");
    g_autoptr(QObject) schema = NULL;
    CU_ASSERT_TRUE(qmp_client_execute(f.qmp, "query-device-schema", sargs, &schema, &err));
    ASSERT_NO_ERROR(err);
    g_autoptr(QObject) expect = vmstate_describe(&testdev_vmsd);
    CU_ASSERT_TRUE(qobject_equal(qdict_get(schema, "schema"), expect));
    qdict_del(schema, "schema");
    g_autofree char *rest = qmp_json_format(schema);
    ASSERT_STR_EQ(rest, "{\"path\": \"/h1/t1\", \"type\": \"testdev\", \"version-id\": 2}");
    publisher_exit(p);
    fix_teardown(&f);
}

static void test_errors(void)
{
    Fix f;
    fix_setup(&f, argv0);
    Child *p = publisher_start(argv0, f.dir, "h1", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_TRUE(publisher_cmd(p, "add t1 testdev"));
    static const struct {
        const char *cmd, *args, *expected;
    } cases[] = {
        { "query-device-state", "{\"path\": \"/h1/nope\"}",
          "ERROR DeviceNotFound: Device '/h1/nope' not found" },
        { "query-device-state", "{\"path\": \"/nohost/t1\"}",
          "ERROR DeviceNotFound: Device '/nohost/t1' not found" },
        { "query-device-schema", "{\"path\": \"/h1/nope\"}",
          "ERROR DeviceNotFound: Device '/h1/nope' not found" },
        { "query-device-state", "{\"path\": \"h1/t1\"}",
          "ERROR GenericError: Invalid device path 'h1/t1': expected /HOST/ID" },
        { "query-device-state", "{\"path\": \"/h1\"}",
          "ERROR GenericError: Invalid device path '/h1': expected /HOST/ID" },
        { "query-device-state", "{\"path\": \"/h1/t1/x\"}",
          "ERROR GenericError: Invalid device path '/h1/t1/x': expected /HOST/ID" },
        { "query-device-state", "{\"path\": \"//t1\"}",
          "ERROR GenericError: Invalid device path '//t1': expected /HOST/ID" },
        { "query-device-state", "{\"path\": \"/h1/\"}",
          "ERROR GenericError: Invalid device path '/h1/': expected /HOST/ID" },
        { "query-device-state", "{\"path\": \"\"}",
          "ERROR GenericError: Invalid device path '': expected /HOST/ID" },
        { "query-device-state", "{\"path\": \"/h 1/t1\"}",
          "ERROR GenericError: Invalid device path '/h 1/t1': invalid host name 'h 1'" },
        { "query-device-schema", "{\"path\": \"/h1/t 1\"}",
          "ERROR GenericError: Invalid device path '/h1/t 1': invalid device id 't 1'" },
        { "query-device-state", "{\"path\": \"/h1/t1\", \"format\": \"xml\"}",
          "ERROR GenericError: Parameter 'format' does not accept value 'xml'" },
        { "query-device-state", NULL, "ERROR GenericError: Parameter 'path' is missing" },
        { "query-device-state", "{}", "ERROR GenericError: Parameter 'path' is missing" },
        { "query-device-schema", "{\"path\": \"/h1/t1\", \"format\": \"json\"}",
          "ERROR GenericError: Parameter 'format' does not accept value 'json'" },
        { "query-device-state", "{\"path\": \"/h1/t1\", \"foo\": 1}",
          "ERROR GenericError: Parameter 'foo' is unexpected" },
        { "query-device-state", "{\"path\": 5}",
          "ERROR GenericError: Invalid parameter type for 'path', expected: string" },
        { "query-device-state", "{\"path\": \"/h1/t1\", \"format\": true}",
          "ERROR GenericError: Invalid parameter type for 'format', expected: string" },
        { "query-hosts", "{\"x\": 1}", "ERROR GenericError: Parameter 'x' is unexpected" },
        { "query-nothing", NULL, "ERROR CommandNotFound: The command query-nothing has not been found" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        ASSERT_RUN(&f, cases[i].cmd, cases[i].args, cases[i].expected);
    }
    /* Everything still works after the errors. */
    ASSERT_RUN(&f, "query-commands", NULL,
               "[{\"name\": \"qmp_capabilities\"}, {\"name\": \"query-version\"}, "
               "{\"name\": \"query-commands\"}, {\"name\": \"query-hosts\"}, "
               "{\"name\": \"query-devices\"}, {\"name\": \"query-device-state\"}, "
               "{\"name\": \"query-device-schema\"}, {\"name\": \"query-agent-stats\"}]");
    ASSERT_RUN(&f, "query-version", NULL,
               "{\"qemu\": {\"micro\": 0, \"minor\": 1, \"major\": 0}, \"package\": \"vmscope 0.1.0\"}");
    publisher_exit(p);
    fix_teardown(&f);
}

/* An empty histogram of query-agent-stats: seconds, bytes. */
#define HIST_EMPTY "\"buckets\": [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], \"sum\": 0.0, \"count\": 0}"
#define HIST_S "{\"le\": [\"0.0005\", \"0.001\", \"0.0015\", \"0.002\", \"0.003\", \"0.005\", " \
    "\"0.0075\", \"0.01\", \"0.025\", \"0.05\", \"0.1\", \"1\"], " HIST_EMPTY
#define HIST_B "{\"le\": [\"1024\", \"4096\", \"16384\", \"32768\", \"65536\", \"131072\", " \
    "\"262144\", \"524288\", \"1048576\", \"4194304\", \"16777216\", \"67108864\"], " HIST_EMPTY

static void test_stats(void)
{
    Fix f;
    fix_setup(&f, argv0);
    ASSERT_RUN(&f, "query-agent-stats", NULL,
               "{\"hosts\": 0, \"hosts-lost\": 0, \"devices\": 0, \"state-bytes\": 0, "
               "\"snapshots\": 0, \"snapshot-retries\": 0, \"snapshot-failures\": 0, "
               "\"qmp-requests\": 1, \"qemu-migrations-failed\": 0, \"qemu-snapshots\": 0, "
               "\"qemu-snapshot-failures\": 0, \"qemu-snapshot-pause-seconds\": " HIST_S ", "
               "\"qemu-snapshot-seconds\": " HIST_S ", \"qemu-snapshot-bytes\": " HIST_B "}");
    Child *p = publisher_start(argv0, f.dir, "h1", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_TRUE(publisher_cmd(p, "add t1 testdev"));
    CU_ASSERT_TRUE(publisher_cmd(p, "add s0 serial"));
    g_autofree char *st = run(&f, "query-device-state", "{\"path\": \"/h1/s0\"}");
    g_autoptr(QObject) ret = NULL;
    g_autoptr(GError) err = NULL;
    CU_ASSERT_TRUE(qmp_client_execute(f.qmp, "query-agent-stats", NULL, &ret, &err));
    uint64_t v = 0;
    CU_ASSERT_TRUE(qnum_get_uint(qdict_get(ret, "hosts"), &v) && v == 1);
    CU_ASSERT_TRUE(qnum_get_uint(qdict_get(ret, "hosts-lost"), &v) && v == 0);
    CU_ASSERT_TRUE(qnum_get_uint(qdict_get(ret, "devices"), &v) && v == 2);
    CU_ASSERT_TRUE(qnum_get_uint(qdict_get(ret, "state-bytes"), &v) && v == 64 + 88);
    /* Our snapshot, plus the references change detection takes (a client listens). */
    CU_ASSERT_TRUE(qnum_get_uint(qdict_get(ret, "snapshots"), &v) && v >= 1);
    CU_ASSERT_TRUE(qnum_get_uint(qdict_get(ret, "snapshot-failures"), &v) && v == 0);
    CU_ASSERT_TRUE(qnum_get_uint(qdict_get(ret, "qmp-requests"), &v) && v == 3);
    CU_ASSERT_EQUAL(qdict_size(ret), 14);
    publisher_exit(p);
    fix_teardown(&f);
}

/* ---- hosts coming, going, dying ---------------------------------------------- */

static void test_hosts_come_and_go(void)
{
    Fix f;
    fix_setup(&f, argv0);
    Child *p = publisher_start(argv0, f.dir, "h2", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_TRUE(publisher_cmd(p, "add a testdev"));
    ASSERT_EVENT(&f, "DEVICE_ADDED {\"path\": \"/h2/a\", \"host\": \"h2\", \"type\": \"testdev\"}");
    CU_ASSERT_TRUE(publisher_cmd(p, "add b serial"));
    ASSERT_EVENT(&f, "DEVICE_ADDED {\"path\": \"/h2/b\", \"host\": \"h2\", \"type\": \"serial\"}");
    CU_ASSERT_TRUE(publisher_cmd(p, "remove a"));
    ASSERT_EVENT(&f, "DEVICE_DELETED {\"path\": \"/h2/a\", \"host\": \"h2\"}");
    ASSERT_RUN(&f, "query-device-state", "{\"path\": \"/h2/a\"}",
               "ERROR DeviceNotFound: Device '/h2/a' not found");
    /* The same id again is a new device. */
    CU_ASSERT_TRUE(publisher_cmd(p, "add a i8254"));
    ASSERT_EVENT(&f, "DEVICE_ADDED {\"path\": \"/h2/a\", \"host\": \"h2\", \"type\": \"i8254\"}");
    g_autofree char *st = run(&f, "query-device-state", "{\"path\": \"/h2/a\"}");
    CU_ASSERT_TRUE(g_str_has_prefix(st, "{\"path\": \"/h2/a\", \"host\": \"h2\", \"type\": \"i8254\""));

    /* A clean exit: its devices go, the host is no longer listed, no HOST_LOST. */
    publisher_exit(p);
    ASSERT_EVENT(&f, "DEVICE_DELETED {\"path\": \"/h2/a\", \"host\": \"h2\"}");  /* slot order */
    ASSERT_EVENT(&f, "DEVICE_DELETED {\"path\": \"/h2/b\", \"host\": \"h2\"}");
    ASSERT_RUN(&f, "query-hosts", NULL, "[]");
    ASSERT_RUN(&f, "query-devices", NULL, "[]");
    CU_ASSERT_EQUAL(qmp_client_event_count(f.qmp), 0);
    fix_teardown(&f);
}

static void test_kill9(void)
{
    Fix f;
    fix_setup(&f, argv0);
    Child *victim = publisher_start(argv0, f.dir, "h3", NULL);
    Child *good = publisher_start(argv0, f.dir, "h4", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(victim);
    CU_ASSERT_PTR_NOT_NULL_FATAL(good);
    CU_ASSERT_TRUE(publisher_cmd(victim, "add t1 testdev"));
    ASSERT_EVENT(&f, "DEVICE_ADDED {\"path\": \"/h3/t1\", \"host\": \"h3\", \"type\": \"testdev\"}");
    CU_ASSERT_TRUE(publisher_cmd(good, "add t1 testdev"));
    ASSERT_EVENT(&f, "DEVICE_ADDED {\"path\": \"/h4/t1\", \"host\": \"h4\", \"type\": \"testdev\"}");

    int pid = victim->pid;
    CU_ASSERT_EQUAL(kill(pid, SIGKILL), 0);
    CU_ASSERT_EQUAL(child_wait(victim), -1);
    child_free(victim);
    g_autofree char *lost = g_strdup_printf(
        "HOST_LOST {\"host\": \"h3\", \"reason\": \"owner process %d exited without closing "
        "its segment\"}", pid);
    ASSERT_EVENT(&f, lost);
    ASSERT_EVENT(&f, "DEVICE_DELETED {\"path\": \"/h3/t1\", \"host\": \"h3\"}");

    /* Still listed, not alive, no devices; the other host is served as before. */
    g_autofree char *hosts = g_strdup_printf(
        "[{\"name\": \"h3\", \"pid\": %d, \"alive\": false, \"segment\": \"%s/vmscope-h3\", "
        "\"devices\": 0, \"generation\": 1}, "
        "{\"name\": \"h4\", \"pid\": %d, \"alive\": true, \"segment\": \"%s/vmscope-h4\", "
        "\"devices\": 1, \"generation\": 1}]", pid, f.dir, good->pid, f.dir);
    ASSERT_RUN(&f, "query-hosts", NULL, hosts);
    g_autofree char *devs = run(&f, "query-devices", NULL);
    CU_ASSERT_PTR_NULL(strstr(devs, "/h3/"));
    CU_ASSERT_PTR_NOT_NULL(strstr(devs, "\"path\": \"/h4/t1\""));
    ASSERT_RUN(&f, "query-device-state", "{\"path\": \"/h3/t1\"}",
               "ERROR DeviceNotFound: Device '/h3/t1' not found");
    g_autofree char *st = run(&f, "query-device-state", "{\"path\": \"/h4/t1\"}");
    CU_ASSERT_TRUE(g_str_has_prefix(st, "{\"path\": \"/h4/t1\""));
    g_autoptr(QObject) stats = NULL;
    g_autoptr(GError) err = NULL;
    CU_ASSERT_TRUE(qmp_client_execute(f.qmp, "query-agent-stats", NULL, &stats, &err));
    uint64_t n = 0;
    CU_ASSERT_TRUE(qnum_get_uint(qdict_get(stats, "hosts-lost"), &n) && n == 1);

    /* A new host of that name replaces the dead one's segment. */
    Child *again = publisher_start(argv0, f.dir, "h3", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(again);
    CU_ASSERT_TRUE(publisher_cmd(again, "add t2 testdev"));
    ASSERT_EVENT(&f, "DEVICE_ADDED {\"path\": \"/h3/t2\", \"host\": \"h3\", \"type\": \"testdev\"}");
    g_autofree char *hosts2 = run(&f, "query-hosts", NULL);
    g_autofree char *h3 = g_strdup_printf("{\"name\": \"h3\", \"pid\": %d, \"alive\": true", again->pid);
    CU_ASSERT_PTR_NOT_NULL(strstr(hosts2, h3));
    publisher_exit(again);
    publisher_exit(good);
    fix_teardown(&f);
}

/* ---- broken and hostile segments ------------------------------------------------ */

static void test_broken_segments(void)
{
    Fix f;
    fix_setup(&f, argv0);
    Child *good = publisher_start(argv0, f.dir, "good", NULL);
    Child *evil = publisher_start(argv0, f.dir, "evil", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(good);
    CU_ASSERT_PTR_NOT_NULL_FATAL(evil);
    CU_ASSERT_TRUE(publisher_cmd(good, "add t1 testdev"));
    CU_ASSERT_TRUE(publisher_cmd(evil, "add d0 testdev"));
    CU_ASSERT_TRUE(publisher_cmd(evil, "add d1 serial"));
    CU_ASSERT_TRUE(wait_device(&f, "/evil/d1"));

    /* Not a segment at all. */
    g_autofree char *junk = g_build_filename(f.dir, "vmscope-junk", NULL);
    char garbage[512];
    memset(garbage, 0xa5, sizeof(garbage));
    CU_ASSERT_TRUE(g_file_set_contents(junk, garbage, sizeof(garbage), NULL));
    /* A directory entry the writer scribbled over. */
    CU_ASSERT_TRUE(publisher_cmd(evil, "break d1"));
    g_autofree char *ev1 = next_named_event(&f, "DEVICE_DELETED");
    g_autofree char *ev2 = next_named_event(&f, "DEVICE_DELETED");
    ASSERT_STR_EQ(ev1, "DEVICE_DELETED {\"path\": \"/evil/d0\", \"host\": \"evil\"}");
    ASSERT_STR_EQ(ev2, "DEVICE_DELETED {\"path\": \"/evil/d1\", \"host\": \"evil\"}");

    g_autofree char *hosts = g_strdup_printf(
        "[{\"name\": \"evil\", \"pid\": %d, \"alive\": true, \"segment\": \"%s/vmscope-evil\", "
        "\"devices\": 0, \"generation\": 3, \"error\": \"vmscope-evil: device 1: in-use flag 7 "
        "invalid\"}, "
        "{\"name\": \"good\", \"pid\": %d, \"alive\": true, \"segment\": \"%s/vmscope-good\", "
        "\"devices\": 1, \"generation\": 1}, "
        "{\"name\": \"junk\", \"pid\": 0, \"alive\": false, \"segment\": \"%s/vmscope-junk\", "
        "\"devices\": 0, \"generation\": 0, \"error\": \"vmscope-junk: bad magic (not a vmscope "
        "segment)\"}]", evil->pid, f.dir, good->pid, f.dir, f.dir);
    for (int i = 0; i < 100; i++) {      /* the junk file shows at the next poll */
        g_autofree char *h = run(&f, "query-hosts", NULL);
        if (strstr(h, "junk")) {
            break;
        }
        g_usleep(20000);
    }
    ASSERT_RUN(&f, "query-hosts", NULL, hosts);
    ASSERT_RUN(&f, "query-device-state", "{\"path\": \"/evil/d0\"}",
               "ERROR DeviceNotFound: Device '/evil/d0' not found");
    g_autofree char *st = run(&f, "query-device-state", "{\"path\": \"/good/t1\"}");
    CU_ASSERT_TRUE(g_str_has_prefix(st, "{\"path\": \"/good/t1\""));

    /* Descriptions that cannot be used: an error for that device only. */
    CU_ASSERT_TRUE(publisher_cmd(good, "nodesc nd raw 16"));
    CU_ASSERT_TRUE(publisher_cmd(good, "adddesc bad raw 64 {\"name\": \"x\"}"));
    CU_ASSERT_TRUE(publisher_cmd(good, "adddesc far raw 8 {\"name\": \"x\", \"version\": 1, "
                                       "\"minimum_version\": 1, \"fields\": [{\"name\": \"a\", "
                                       "\"type\": \"uint32\", \"offset\": 6, \"size\": 4}]}"));
    CU_ASSERT_TRUE(publisher_cmd(good, "adddesc nojson raw 8 {\"name\""));
    ASSERT_RUN(&f, "query-device-state", "{\"path\": \"/good/nd\"}",
               "ERROR GenericError: vmscope-good: device 'nd' has no description: its state "
               "cannot be read");
    ASSERT_RUN(&f, "query-device-schema", "{\"path\": \"/good/nd\"}",
               "ERROR GenericError: vmscope-good: device 'nd' has no description: its state "
               "cannot be read");
    ASSERT_RUN(&f, "query-device-state", "{\"path\": \"/good/bad\"}",
               "ERROR GenericError: vmscope-good: device 'bad': description.version: missing");
    ASSERT_RUN(&f, "query-device-state", "{\"path\": \"/good/far\"}",
               "ERROR GenericError: vmscope-good: device 'far': x.a: offset 6 + size 4 exceeds "
               "the state size 8");
    ASSERT_RUN(&f, "query-device-state", "{\"path\": \"/good/nojson\"}",
               "ERROR GenericError: vmscope-good: device 'nojson': description: JSON parse "
               "error at offset 7: unexpected end of input");
    /* A state whose segment pointer points outside the segment. */
    CU_ASSERT_TRUE(publisher_cmd(good, "poke t1 %zu 8 %llu", offsetof(TestDev, items),
                                 (unsigned long long)(64 << 20)));
    ASSERT_RUN(&f, "query-device-state", "{\"path\": \"/good/t1\"}",
               "ERROR GenericError: vmscope-good: device 't1': testdev.items: 2 elements of 16 "
               "bytes at region offset 67108864 lie outside the region of 4194304 bytes");
    st = (g_free(st), run(&f, "query-devices", NULL));
    CU_ASSERT_PTR_NOT_NULL(strstr(st, "\"path\": \"/good/far\""));

    CU_ASSERT_TRUE(publisher_cmd(good, "crash") == false);   /* no answer: it is gone */
    CU_ASSERT_EQUAL(child_wait(good), 3);
    child_free(good);
    publisher_exit(evil);
    fix_teardown(&f);
}

/*
 * A host that writes garbage all over its directory and states: whatever it
 * does, the agent answers every request (an answer or an error) and keeps
 * serving the other host.
 */
static void test_scribbling_host(void)
{
    Fix f;
    fix_setup(&f, argv0);
    Child *good = publisher_start(argv0, f.dir, "good", NULL);
    const char *small[] = { "--segment-size", "65536", "--max-devices", "8", NULL };
    Child *evil = publisher_start(argv0, f.dir, "evil", small);
    CU_ASSERT_PTR_NOT_NULL_FATAL(good);
    CU_ASSERT_PTR_NOT_NULL_FATAL(evil);
    CU_ASSERT_TRUE(publisher_cmd(good, "add t1 testdev"));
    for (int i = 0; i < 4; i++) {
        CU_ASSERT_TRUE(publisher_cmd(evil, "add d%d testdev", i));
    }
    CU_ASSERT_TRUE(wait_device(&f, "/evil/d3"));
    static const char *const cmds[] = { "query-hosts", "query-devices", "query-agent-stats" };
    for (int round = 0; round < 40; round++) {
        CU_ASSERT_TRUE(publisher_cmd(evil, "scribble 24 %d", round + 1));
        for (size_t k = 0; k < G_N_ELEMENTS(cmds); k++) {
            g_autofree char *r = run(&f, cmds[k], NULL);
            CU_ASSERT_FALSE(g_str_has_prefix(r, "FAILED"));
        }
        for (int i = 0; i < 4; i++) {
            g_autofree char *args = g_strdup_printf("{\"path\": \"/evil/d%d\", \"format\": "
                                                    "\"pretty\"}", i);
            g_autofree char *r = run(&f, "query-device-state", args);
            CU_ASSERT_FALSE(g_str_has_prefix(r, "FAILED"));
            g_autofree char *sargs = g_strdup_printf("{\"path\": \"/evil/d%d\"}", i);
            g_autofree char *sr = run(&f, "query-device-schema", sargs);
            CU_ASSERT_FALSE(g_str_has_prefix(sr, "FAILED"));
        }
        if (round % 10 == 9) {
            g_usleep(AGENT_POLL_MS_FOR_TEST * 1000);   /* let a poll see it */
        }
    }
    g_autofree char *st = run(&f, "query-device-state", "{\"path\": \"/good/t1\"}");
    CU_ASSERT_TRUE(g_str_has_prefix(st, "{\"path\": \"/good/t1\""));
    publisher_exit(good);
    publisher_exit(evil);
    fix_teardown(&f);
}

/*
 * Somebody truncates a host's segment file under the agent, once and then
 * again and again: answers for that host are errors (or a state, while the
 * file is long enough), the other host is served as before, and the agent
 * lives on (it reads segments with pread; a mapping would SIGBUS).
 */
typedef struct Cutter {
    const char *path;
    GBytes *whole;                /* the file's bytes, put back after each cut */
    atomic_bool stop;
    unsigned cuts;
} Cutter;

static gpointer cutter_thread(gpointer data)
{
    Cutter *c = data;
    gsize size;
    const void *bytes = g_bytes_get_data(c->whole, &size);
    int fd = open(c->path, O_RDWR | O_CLOEXEC);
    GRand *rng = g_rand_new_with_seed(7);
    while (fd >= 0 && !atomic_load(&c->stop)) {
        off_t cut = g_rand_boolean(rng) ? 0 : (off_t)g_rand_int_range(rng, 1, (gint32)size);
        if (ftruncate(fd, cut) < 0) {
            break;
        }
        g_usleep(g_rand_int_range(rng, 0, 500));
        if (ftruncate(fd, (off_t)size) < 0 || pwrite(fd, bytes, size, 0) != (ssize_t)size) {
            break;
        }
        c->cuts++;
        g_usleep(g_rand_int_range(rng, 0, 500));
    }
    g_rand_free(rng);
    if (fd >= 0) {
        close(fd);
    }
    return NULL;
}

static void test_truncated_segment(void)
{
    Fix f;
    fix_setup(&f, argv0);
    Child *cut = publisher_start(argv0, f.dir, "cut", NULL);
    Child *other = publisher_start(argv0, f.dir, "other", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cut);
    CU_ASSERT_PTR_NOT_NULL_FATAL(other);
    CU_ASSERT_TRUE(publisher_cmd(cut, "add t1 testdev"));
    CU_ASSERT_TRUE(publisher_cmd(other, "add t1 testdev"));
    CU_ASSERT_TRUE(wait_device(&f, "/cut/t1"));
    CU_ASSERT_TRUE(wait_device(&f, "/other/t1"));
    g_autofree char *want_cut = run(&f, "query-device-state", "{\"path\": \"/cut/t1\"}");
    g_autofree char *want_other = run(&f, "query-device-state", "{\"path\": \"/other/t1\"}");
    CU_ASSERT_TRUE(g_str_has_prefix(want_cut, "{\"path\": \"/cut/t1\""));
    CU_ASSERT_TRUE(g_str_has_prefix(want_other, "{\"path\": \"/other/t1\""));

    /* Cut to one page: an error naming the segment; the other host as before. */
    g_autofree char *path = g_build_filename(f.dir, "vmscope-cut", NULL);
    g_autoptr(GBytes) whole = NULL;
    {
        g_autofree char *bytes = NULL;
        gsize size = 0;
        CU_ASSERT_TRUE_FATAL(g_file_get_contents(path, &bytes, &size, NULL));
        whole = g_bytes_new_take(g_steal_pointer(&bytes), size);
    }
    CU_ASSERT_EQUAL_FATAL(truncate(path, 4096), 0);
    g_autofree char *want_error = g_strdup_printf(
        "ERROR GenericError: vmscope-cut: segment file shrank to 4096 bytes (opened at %zu)",
        g_bytes_get_size(whole));
    /* The reader's error, or, once a poll has found the host broken, no such device. */
    g_autofree char *got = run(&f, "query-device-state", "{\"path\": \"/cut/t1\"}");
    if (strcmp(got, want_error) != 0) {
        ASSERT_STR_EQ(got, "ERROR DeviceNotFound: Device '/cut/t1' not found");
    }
    ASSERT_RUN(&f, "query-device-state", "{\"path\": \"/other/t1\"}", want_other);
    g_usleep(AGENT_POLL_MS_FOR_TEST * 1000);            /* a poll finds the host broken */
    g_autofree char *hosts = run(&f, "query-hosts", NULL);
    g_autofree char *broken = g_strdup_printf("\"error\": \"%s\"",
                                              want_error + strlen("ERROR GenericError: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(hosts, broken));

    /* Cut and put back, again and again, while both hosts are asked. */
    Cutter c = { .path = path, .whole = whole };
    GThread *th = g_thread_new("cutter", cutter_thread, &c);
    unsigned states = 0, errors = 0, bad = 0;
    gint64 end = g_get_monotonic_time() + 1500 * 1000;
    while (g_get_monotonic_time() < end || c.cuts < 20) {
        g_autofree char *a = run(&f, "query-device-state", "{\"path\": \"/cut/t1\"}");
        g_autofree char *b = run(&f, "query-device-state", "{\"path\": \"/other/t1\"}");
        /*
         * Whatever the file holds when it is read: the cutter puts the bytes
         * back with plain writes, not under the seqlock, so a state read
         * while they are being put back is the zeros the file holds then.
         */
        if (g_str_has_prefix(a, "{\"path\": \"/cut/t1\", ")) {
            states++;
        } else if (g_str_has_prefix(a, "ERROR ")) {
            errors++;
        } else {
            fprintf(stderr, "\n/cut/t1: %s\n", a);
            bad++;
        }
        if (strcmp(b, want_other) != 0) {
            fprintf(stderr, "\n/other/t1: %s\n", b);
            bad++;
        }
        if (g_str_has_prefix(a, "FAILED") || g_str_has_prefix(b, "FAILED")) {
            break;                                  /* the connection is gone */
        }
    }
    atomic_store(&c.stop, true);
    g_thread_join(th);
    fprintf(stderr, "\n  %u cuts: /cut/t1 answered %u states, %u errors\n", c.cuts, states,
            errors);
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_TRUE(errors > 0);
    /* Whole again: served again, and the agent is the one that started. */
    g_usleep(AGENT_POLL_MS_FOR_TEST * 1000);
    ASSERT_RUN(&f, "query-device-state", "{\"path\": \"/cut/t1\"}", want_cut);
    CU_ASSERT_EQUAL(kill(f.agent->pid, 0), 0);
    publisher_exit(cut);
    publisher_exit(other);
    fix_teardown(&f);
}

/* ---- a client that never reads ------------------------------------------------------ */

/*
 * A QMP client asks for large answers and never reads them while events
 * flow (100 devices ticking): past --qmp-max-output of unread output the
 * agent disconnects it and logs why, and another client is answered all
 * along.  How long the others wait meanwhile: tests/bench/bench-qmp.
 */
static void test_client_never_reads(void)
{
    Fix f;
    memset(&f, 0, sizeof(f));
    g_autoptr(GError) err = NULL;
    f.dir = g_dir_make_tmp("vmscope-agent-test-XXXXXX", &err);
    ASSERT_NO_ERROR(err);
    const char *limit[] = { "--qmp-max-output", "131072", NULL };
    f.agent = agent_start_piped(argv0, f.dir, limit, true, &f.address);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f.agent);
    f.qmp = qmp_client_connect(f.address, 10000, &err);
    ASSERT_NO_ERROR(err);
    const char *many[] = { "--count", "100", "--type", "testdev", "--tick-ms", "10",
                           "--max-devices", "128", "--segment-size", "4194304", NULL };
    Child *p = publisher_start(argv0, f.dir, "busy", many);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_TRUE(wait_device(&f, "/busy/testdev-99"));

    /* The stalled client: negotiates, asks for 30 device lists, reads nothing. */
    g_autoptr(GSocketAddress) where = address_parse("QMP address", f.address, &err);
    g_autoptr(GSocket) stalled = address_connect(where, 10000, NULL, &err);
    ASSERT_NO_ERROR(err);
    GString *requests = g_string_new("{\"execute\": \"qmp_capabilities\"}\n");
    for (int i = 0; i < 30; i++) {
        g_string_append(requests, "{\"execute\": \"query-devices\"}\n");
    }
    CU_ASSERT_EQUAL(g_socket_send(stalled, requests->str, requests->len, NULL, &err),
                    (gssize)requests->len);
    g_string_free(requests, TRUE);

    /* Others are answered until the agent says it dropped the stalled one. */
    g_autofree char *why = NULL;
    unsigned answered = 0, asked = 0;
    gint64 end = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
    while (!why && g_get_monotonic_time() < end) {
        g_autofree char *st = run(&f, "query-device-state", "{\"path\": \"/busy/testdev-7\"}");
        asked++;
        answered += g_str_has_prefix(st, "{\"path\": \"/busy/testdev-7\"");
        why = child_read_err_line(f.agent, 20);
    }
    CU_ASSERT_TRUE(asked > 0 && answered == asked);
    g_autofree char *quoted = g_regex_escape_string(f.address, -1);
    g_autofree char *pattern = g_strdup_printf(
        "^vmscope-agent: qmp: client [0-9]+ on %s: [0-9]+ bytes of output unread and [0-9]+ "
        "more to send, over the limit of 131072: disconnected$", quoted);
    if (!why || !g_regex_match_simple(pattern, why, 0, 0)) {
        fprintf(stderr, "\nthe agent said: %s\n", why ? why : "(nothing)");
        CU_FAIL("no disconnection logged");
    }
    /* The stalled client finds its connection closed once it reads. */
    char buf[65536];
    gssize n;
    g_socket_set_timeout(stalled, 10);
    while ((n = g_socket_receive(stalled, buf, sizeof(buf), NULL, NULL)) > 0) {
    }
    CU_ASSERT_EQUAL(n, 0);
    g_autofree char *after = run(&f, "query-device-state", "{\"path\": \"/busy/testdev-0\"}");
    CU_ASSERT_TRUE(g_str_has_prefix(after, "{\"path\": \"/busy/testdev-0\""));
    publisher_exit(p);
    fix_teardown(&f);
}

/* ---- state changes ---------------------------------------------------------------- */

static void test_state_changed(void)
{
    Fix f;
    fix_setup(&f, argv0);
    Child *p = publisher_start(argv0, f.dir, "h1", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_TRUE(publisher_cmd(p, "add t1 testdev"));
    ASSERT_EVENT(&f, "DEVICE_ADDED {\"path\": \"/h1/t1\", \"host\": \"h1\", \"type\": \"testdev\"}");
    /*
     * A client listens, so the agent takes the device's state as the
     * reference for its first change; that is the one snapshot a fresh
     * agent takes here.  Wait for it, so the changes below are all compared
     * with the initial state.
     */
    CU_ASSERT_TRUE_FATAL(wait_snapshots(&f, 1));

    static const struct {
        size_t off, size;
        unsigned long long value;
    } pokes[][2] = {
        { { offsetof(TestDev, rx_total), 4, 5 }, { offsetof(TestDev, temp), 2, 7 } },
        { { offsetof(TestDev, regs) + 3 * 2, 2, 9 }, { 0, 0, 0 } },
        { { offsetof(TestDev, fifo.num), 1, 3 }, { offsetof(TestDev, fifo.data) + 2, 1, 0x43 } },
        { { offsetof(TestDev, mac) + 5, 1, 0x57 }, { offsetof(TestDev, enabled), 1, 0 } },
        { { offsetof(TestDev, extra), 4, 8 }, { offsetof(TestDev, big), 8, 0 } },
    };
    static const char *const expected[] = {
        "[\"rx_total\", \"temp\"]",
        "[\"regs[3]\"]",
        "[\"fifo.num\", \"fifo.data[2]\"]",
        "[\"enabled\", \"mac\"]",
        "[\"big\", \"testdev/extra.extra\"]",
    };
    uint64_t gen = 1;
    for (size_t i = 0; i < G_N_ELEMENTS(pokes); i++) {
        if (pokes[i][1].size) {
            CU_ASSERT_TRUE(publisher_cmd(p, "poke t1 %zu %zu %llu %zu %zu %llu", pokes[i][0].off,
                                         pokes[i][0].size, pokes[i][0].value, pokes[i][1].off,
                                         pokes[i][1].size, pokes[i][1].value));
        } else {
            CU_ASSERT_TRUE(publisher_cmd(p, "poke t1 %zu %zu %llu", pokes[i][0].off,
                                         pokes[i][0].size, pokes[i][0].value));
        }
        gen++;
        g_autofree char *want = g_strdup_printf(
            "DEVICE_STATE_CHANGED {\"path\": \"/h1/t1\", \"generation\": %" G_GUINT64_FORMAT
            ", \"changed\": %s}", gen, expected[i]);
        ASSERT_EVENT(&f, want);
    }

    /* The list in the segment: an element's field, elements coming and going. */
    CU_ASSERT_TRUE(publisher_cmd(p, "item-rx t1 1 999"));
    ASSERT_EVENT(&f, "DEVICE_STATE_CHANGED {\"path\": \"/h1/t1\", \"generation\": 7, "
                     "\"changed\": [\"items[1].rx_bytes\"]}");
    CU_ASSERT_TRUE(publisher_cmd(p, "items t1 4"));
    ASSERT_EVENT(&f, "DEVICE_STATE_CHANGED {\"path\": \"/h1/t1\", \"generation\": 8, "
                     "\"changed\": [\"n_items\", \"items[2]\", \"items[3]\"]}");
    CU_ASSERT_TRUE(publisher_cmd(p, "items t1 1"));
    ASSERT_EVENT(&f, "DEVICE_STATE_CHANGED {\"path\": \"/h1/t1\", \"generation\": 9, "
                     "\"changed\": [\"n_items\", \"items[1]\", \"items[2]\", \"items[3]\"]}");

    /* An update that changes nothing visible: the generation moves, no path. */
    CU_ASSERT_TRUE(publisher_cmd(p, "poke t1 %zu 4 5", offsetof(TestDev, rx_total)));
    ASSERT_EVENT(&f, "DEVICE_STATE_CHANGED {\"path\": \"/h1/t1\", \"generation\": 10, "
                     "\"changed\": []}");

    /* A burst folds into few events, the last of which has the last generation. */
    for (int i = 0; i < 30; i++) {
        CU_ASSERT_TRUE(publisher_cmd(p, "tick t1"));
    }
    uint64_t last = 0;
    int events = 0;
    while (last < 40 && events < 40) {
        g_autoptr(GError) err = NULL;
        g_autoptr(QObject) ev = qmp_client_wait_event(f.qmp, "DEVICE_STATE_CHANGED",
                                                      EVENT_TIMEOUT_MS, &err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(ev);
        CU_ASSERT_TRUE(qnum_get_uint(qdict_get(qdict_get(ev, "data"), "generation"), &last));
        g_autofree char *changed = qmp_json_format(qdict_get(qdict_get(ev, "data"), "changed"));
        ASSERT_STR_EQ(changed, "[\"rx_total\"]");
        events++;
    }
    CU_ASSERT_EQUAL(last, 40);
    CU_ASSERT_TRUE(events <= 30);
    publisher_exit(p);
    ASSERT_EVENT(&f, "DEVICE_DELETED {\"path\": \"/h1/t1\", \"host\": \"h1\"}");
    fix_teardown(&f);
}

/* ---- vmscope-view state ---------------------------------------------------------- */

static int run_view(const char *const *args, char **out, char **err_text)
{
    g_autofree char *view = build_path(argv0, "viewers/vmscope-view");
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_ptr_array_add(argv, view);
    for (const char *const *a = args; *a; a++) {
        g_ptr_array_add(argv, (gpointer)*a);
    }
    g_ptr_array_add(argv, NULL);
    int status = -1;
    g_autoptr(GError) err = NULL;
    if (!g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, out,
                      err_text, &status, &err)) {
        fprintf(stderr, "cannot run vmscope-view: %s\n", err->message);
        return -1;
    }
    return g_spawn_check_wait_status(status, NULL) ? 0 :
           WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#define ASSERT_VIEW(status, out, err, ...)                                      \
    do {                                                                        \
        const char *args_[] = { __VA_ARGS__, NULL };                            \
        g_autofree char *vout_ = NULL, *verr_ = NULL;                           \
        CU_ASSERT_EQUAL(run_view(args_, &vout_, &verr_), (status));             \
        ASSERT_STR_EQ(vout_, (out));                                            \
        ASSERT_STR_EQ(verr_, (err));                                            \
    } while (0)

static void test_view_state(void)
{
    Fix f;
    fix_setup(&f, argv0);
    Child *p = publisher_start(argv0, f.dir, "h1", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_TRUE(publisher_cmd(p, "add t1 testdev"));
    const char *a = f.address;
    const char *hint = "Try 'vmscope-view --help'.\n";

    ASSERT_VIEW(0, testdev_pretty, "", "state", "/h1/t1", "--qmp", a);
    ASSERT_VIEW(0, testdev_pretty, "", "state", "--qmp", a, "/h1/t1", "--format=pretty");
    ASSERT_VIEW(0, "{\"path\":\"/h1/t1\",\"host\":\"h1\",\"type\":\"testdev\",\"instance-id\":0,"
                   "\"version-id\":2,\"generation\":1,\"state\":{\"rx_total\":0,\"temp\":-5,"
                   "\"enabled\":true,\"mac\":\"525400123456\",\"regs\":[1,2,3,65535],"
                   "\"fifo\":{\"num\":2,\"data\":[65,66]},\"n_items\":2,\"items\":[{\"id\":1,"
                   "\"rx_bytes\":100},{\"id\":2,\"rx_bytes\":200}],"
                   "\"big\":18446744073709551615,\"testdev/extra\":{\"extra\":7}}}\n", "",
                "state", "/h1/t1", "--qmp", a, "--format", "json");
    ASSERT_VIEW(1, "", "vmscope-view: Device '/h1/nope' not found\n",
                "state", "/h1/nope", "--qmp", a);
    ASSERT_VIEW(1, "", "vmscope-view: Invalid device path 'h1': expected /HOST/ID\n",
                "state", "h1", "--qmp", a);
    g_autofree char *nosock = g_strdup_printf("%s/none.qmp", f.dir);
    g_autofree char *noaddr = g_strdup_printf("unix:%s", nosock);
    g_autofree char *noconn = g_strdup_printf("vmscope-view: QMP %s: connect: No such file or "
                                              "directory\n", noaddr);
    ASSERT_VIEW(1, "", noconn, "state", "/h1/t1", "--qmp", noaddr);
    g_autofree char *u1 = g_strconcat("vmscope-view: state: missing PATH (/HOST/ID)\n", hint, NULL);
    ASSERT_VIEW(2, "", u1, "state", "--qmp", a);
    g_autofree char *u2 = g_strconcat("vmscope-view: state: unknown format 'xml' (pretty, json or ber)\n",
                                      hint, NULL);
    ASSERT_VIEW(2, "", u2, "state", "/h1/t1", "--format", "xml");
    g_autofree char *u3 = g_strconcat("vmscope-view: state: option '--qmp' needs a value "
                                      "(unix:PATH or tcp:HOST:PORT)\n", hint, NULL);
    ASSERT_VIEW(2, "", u3, "state", "/h1/t1", "--qmp");
    g_autofree char *u4 = g_strconcat("vmscope-view: state: unexpected argument 'x'\n", hint, NULL);
    ASSERT_VIEW(2, "", u4, "state", "/h1/t1", "x");
    g_autofree char *u5 = g_strconcat("vmscope-view: state: unknown option '--frob'\n", hint, NULL);
    ASSERT_VIEW(2, "", u5, "state", "/h1/t1", "--frob");
    publisher_exit(p);
    fix_teardown(&f);
}

/* ---- the program itself ------------------------------------------------------------ */

static void test_agent_cli(void)
{
    g_autofree char *prog = build_path(argv0, "agent/vmscope-agent");
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("vmscope-agent-test-XXXXXX", &err);
    ASSERT_NO_ERROR(err);

    /* Bad usage: one line and a hint, exit 2. */
    static const struct {
        const char *args[4];
        const char *err;
    } bad[] = {
        { { "--frob" }, "vmscope-agent: Unknown option --frob\n" },
        { { "extra" }, "vmscope-agent: unexpected argument 'extra'\n" },
        { { "--no-http", "--http", "127.0.0.1:1" },
          "vmscope-agent: --http and --no-http exclude each other\n" },
        { { "--qemu", "q" }, "vmscope-agent: --qemu 'q': expected NAME=ADDRESS\n" },
        { { "--group", "no-such-group-here" },
          "vmscope-agent: --group 'no-such-group-here': no such group\n" },
        { { "--qmp-max-output", "100" },
          "vmscope-agent: --qmp-max-output: BYTES must be at least 4096\n" },
        { { "--qemu", "q=foo:bar" },
          "vmscope-agent: --qemu 'q=foo:bar': QMP address 'foo:bar': expected unix:PATH or "
          "tcp:HOST:PORT\n" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        const char *argv[8] = { prog };
        int n = 1;
        for (int k = 0; k < 4 && bad[i].args[k]; k++) {
            argv[n++] = bad[i].args[k];
        }
        g_autofree char *out = NULL, *errtext = NULL;
        int status = -1;
        CU_ASSERT_TRUE(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out,
                                    &errtext, &status, NULL));
        CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2);
        g_autofree char *want = g_strconcat(bad[i].err, "Try 'vmscope-agent --help'.\n", NULL);
        ASSERT_STR_EQ(errtext, want);
    }
    {
        const char *argv[] = { prog, "--shm-dir", "/nonexistent-dir", "--no-http", NULL };
        g_autofree char *out = NULL, *errtext = NULL;
        int status = -1;
        CU_ASSERT_TRUE(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out,
                                    &errtext, &status, NULL));
        CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1);
        ASSERT_STR_EQ(errtext, "vmscope-agent: --shm-dir /nonexistent-dir: not a directory\n");
    }

    /* Two addresses, one a TCP port the kernel picks; both serve. */
    g_autofree char *sock = g_strdup_printf("unix:%s/a.qmp", dir);
    const char *argv[] = { prog, "--shm-dir", dir, "--qmp", sock, "--qmp", "tcp:127.0.0.1:0",
                           "--no-http", NULL };
    Child *agent = child_start(argv, false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(agent);
    g_autofree char *l1 = child_read_line(agent);
    g_autofree char *l2 = child_read_line(agent);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l2);
    g_autofree char *want1 = g_strdup_printf("qmp: listening on %s", sock);
    ASSERT_STR_EQ(l1, want1);
    CU_ASSERT_TRUE(l2 && g_str_has_prefix(l2, "qmp: listening on tcp:127.0.0.1:") &&
                   strcmp(l2, "qmp: listening on tcp:127.0.0.1:0") != 0);
    for (int i = 0; i < 2; i++) {
        const char *addr = (i ? l2 : l1) + strlen("qmp: listening on ");
        g_autoptr(QmpClient) c = qmp_client_connect(addr, 10000, &err);
        ASSERT_NO_ERROR(err);
        g_autoptr(QObject) ret = NULL;
        CU_ASSERT_TRUE(c && qmp_client_execute(c, "query-hosts", NULL, &ret, &err));
    }
    /* Only its owner may connect (docs/security.md). */
    g_autofree char *sock_path = g_strdup_printf("%s/a.qmp", dir);
    g_autofree char *access = cutest_file_access(sock_path);
    g_autofree char *want_access = g_strdup_printf("0600 %u", (unsigned)getegid());
    ASSERT_STR_EQ(access, want_access);
    /* A second agent on the same socket is refused. */
    Child *second = child_start(argv, false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(second);
    CU_ASSERT_EQUAL(child_wait(second), 1);
    child_free(second);

    /* SIGINT: a clean exit that removes the socket. */
    child_signal(agent, SIGINT);
    CU_ASSERT_EQUAL(child_wait(agent), 0);
    child_free(agent);
    g_autofree char *path = g_strdup_printf("%s/a.qmp", dir);
    CU_ASSERT_FALSE(g_file_test(path, G_FILE_TEST_EXISTS));

    /* --group: the group may connect too. */
    gid_t other = cutest_other_group();
    g_autofree char *group = g_strdup_printf("--group=%u", (unsigned)other);
    const char *gargv[] = { prog, "--shm-dir", dir, "--qmp", sock, "--no-http", group, NULL };
    agent = child_start(gargv, false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(agent);
    g_autofree char *l3 = child_read_line(agent);
    ASSERT_STR_EQ(l3, want1);
    g_autofree char *gaccess = cutest_file_access(sock_path);
    g_autofree char *want_gaccess = g_strdup_printf("0660 %u", (unsigned)other);
    ASSERT_STR_EQ(gaccess, want_gaccess);
    {
        g_autoptr(QmpClient) c = qmp_client_connect(want1 + strlen("qmp: listening on "), 10000,
                                                    &err);
        ASSERT_NO_ERROR(err);
        CU_ASSERT_TRUE(qmp_client_execute(c, "query-hosts", NULL, NULL, &err));
        ASSERT_NO_ERROR(err);
    }
    child_signal(agent, SIGTERM);
    CU_ASSERT_EQUAL(child_wait(agent), 0);
    child_free(agent);
    remove_tree(dir);
}

static const CuTest query_tests[] = {
    { "hosts and devices", test_hosts_and_devices },
    { "exact device state", test_state_exact },
    { "pretty text and schema", test_pretty_and_schema },
    { "errors", test_errors },
    { "stats", test_stats },
    { NULL, NULL },
};

static const CuTest life_tests[] = {
    { "hosts come and go", test_hosts_come_and_go },
    { "kill -9 of a host", test_kill9 },
    { "broken and hostile segments", test_broken_segments },
    { "a host scribbling over its segment", test_scribbling_host },
    { "a segment truncated under the agent", test_truncated_segment },
    { "a QMP client that never reads", test_client_never_reads },
    { "DEVICE_STATE_CHANGED paths", test_state_changed },
    { NULL, NULL },
};

/*
 * A child that is gone before the test reads its pid (the refused second
 * agent above, on a loaded machine: GLib's worker thread reaped it and
 * forgot its pid) is still a Child: pid 0, signals go nowhere.  Reading its
 * pid was atoi(NULL), the segfault of test-agent seen once in CI.
 */
static void test_child_gone_at_once(void)
{
    const char *argv[] = { "/bin/sh", "-c", "exit 3", NULL };
    g_autoptr(GError) err = NULL;
    GSubprocess *proc = g_subprocess_newv(argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE, &err);
    ASSERT_NO_ERROR(err);
    for (int i = 0; i < 1000 && g_subprocess_get_identifier(proc); i++) {
        g_usleep(10000);
    }
    CU_ASSERT_PTR_NULL_FATAL(g_subprocess_get_identifier(proc));
    Child *c = child_new(proc, false, false);
    CU_ASSERT_EQUAL(c->pid, 0);
    child_signal(c, SIGTERM);
    CU_ASSERT_PTR_NULL(child_read_line(c));
    CU_ASSERT_EQUAL(child_wait(c), 3);
    child_free(c);
}

static const CuTest program_tests[] = {
    { "vmscope-view state", test_view_state },
    { "vmscope-agent command line", test_agent_cli },
    { "a child gone before its pid is read", test_child_gone_at_once },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "agent queries", query_tests },
    { "agent hosts and events", life_tests },
    { "programs", program_tests },
    { NULL, NULL },
};

int main(int argc, char **argv)
{
    argv0 = argv[0];
    signal(SIGPIPE, SIG_IGN);
    alarm(300);                 /* a hung test dies; its children follow (PDEATHSIG) */
    return cutest_run(suites);
}

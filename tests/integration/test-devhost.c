/*
 * vmscope-devhost as a process: its segment (devices, ids, versions,
 * descriptions, ticks), its QMP monitor (exact answers, run control with
 * events, -S), its flags and their errors, clean exits on quit and signals.
 * Migration has its own test (test-devhost-migrate).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "../unit/cutest.h"
#include "devhost-test-util.h"

static void assert_text(Devhost *dh, const char *command, const char *args, const char *want)
{
    g_autofree char *got = dh_qmp_text(dh, command, args);
    ASSERT_STR_EQ(got, want);
}

static bool segment_exists(const char *name)
{
    g_autofree char *file = g_strdup_printf("vmscope-%s", name);
    g_autofree char *path = dh_path(file);
    return g_file_test(path, G_FILE_TEST_EXISTS);
}

/* Generations move while running and stand still otherwise. */
static bool host_moves(const char *name)
{
    uint64_t a = dh_generations(name);
    g_usleep(100000);              /* ten ticks */
    return dh_generations(name) != a;
}

/* ---- the segment ------------------------------------------------------------- */

static void test_segment_default_devices(void)
{
    Devhost *dh = dh_start("seg", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dh);
    g_autofree char *want_path = dh_path("vmscope-seg");
    ASSERT_STR_EQ(dh->segment, want_path);

    g_autoptr(GError) err = NULL;
    g_autoptr(QObject) snap = dh_snapshot("seg", &err);
    ASSERT_NO_ERROR(err);
    /* The segment holds, in order, what --list-devices says a host runs by default. */
    g_autoptr(QObject) listed = dh_list_devices(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(listed);
    CU_ASSERT_TRUE(qlist_size(listed) > 1);
    size_t n = 0;
    qdict_foreach(snap, id, dev) {
        QObject *want = n < qlist_size(listed) ? qlist_get(listed, n) : NULL;
        CU_ASSERT_PTR_NOT_NULL_FATAL(want);
        ASSERT_STR_EQ(id, qdict_get_str(want, "id"));
        ASSERT_STR_EQ(qdict_get_str(dev, "type"), qdict_get_str(want, "type"));
        CU_ASSERT_TRUE(qobject_equal(qdict_get(dev, "instance-id"),
                                     qdict_get(want, "instance-id")));
        CU_ASSERT_TRUE(qobject_equal(qdict_get(dev, "version-id"), qdict_get(want, "version-id")));
        n++;
    }
    CU_ASSERT_EQUAL(n, qlist_size(listed));

    /* The descriptions are the models' own. */
    g_autoptr(ShmReader) r = shm_reader_open(dh_tmp, "seg", &err);
    ASSERT_NO_ERROR(err);
    g_autofree char *text = NULL;
    CU_ASSERT_TRUE(shm_reader_description(r, "serial1", &text, &err));
    ASSERT_NO_ERROR(err);
    g_autoptr(QObject) desc = dh_json(text);
    ASSERT_STR_EQ(qdict_get_str(desc, "name"), "serial");

    /* Running: the devices tick; serial1 keeps its instance in scr. */
    CU_ASSERT_TRUE(host_moves("seg"));
    CU_ASSERT_EQUAL(dh_state_int("seg", "serial1", "scr"), 1);

    CU_ASSERT_EQUAL(dh_stop(dh), 0);
    CU_ASSERT_FALSE(segment_exists("seg"));
}

static void test_segment_device_list(void)
{
    Devhost *dh = dh_start("list", "--devices=serial:3,slirp,mc146818rtc",
                           "--device-version=serial=3", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dh);
    g_autoptr(GError) err = NULL;
    g_autoptr(QObject) snap = dh_snapshot("list", &err);
    ASSERT_NO_ERROR(err);
    GString *table = g_string_new(NULL);
    qdict_foreach(snap, id, dev) {
        uint64_t inst = 0, ver = 0;
        qnum_get_uint(qdict_get(dev, "instance-id"), &inst);
        qnum_get_uint(qdict_get(dev, "version-id"), &ver);
        g_string_append_printf(table, "%s/%" PRIu64 "/v%" PRIu64 " ", id, inst, ver);
    }
    ASSERT_STR_EQ(table->str, "serial0/0/v3 serial1/1/v3 serial2/2/v3 slirp0/0/v1 rtc0/0/v3 ");
    g_string_free(table, TRUE);
    /* --list-devices says the same without running anything. */
    g_autoptr(QObject) listed = dh_list_devices("--devices=serial:3,slirp,mc146818rtc",
                                                "--device-version=serial=3", NULL);
    g_autofree char *json = listed ? qobject_to_json(listed, false) : NULL;
    ASSERT_STR_EQ(json,
        "[{\"id\":\"serial0\",\"type\":\"serial\",\"section\":\"serial\",\"instance-id\":0,"
        "\"version-id\":3},{\"id\":\"serial1\",\"type\":\"serial\",\"section\":\"serial\","
        "\"instance-id\":1,\"version-id\":3},{\"id\":\"serial2\",\"type\":\"serial\","
        "\"section\":\"serial\",\"instance-id\":2,\"version-id\":3},{\"id\":\"slirp0\","
        "\"type\":\"slirp\",\"section\":\"slirp\",\"instance-id\":0,\"version-id\":1},"
        "{\"id\":\"rtc0\",\"type\":\"mc146818rtc\",\"section\":\"mc146818rtc\","
        "\"instance-id\":0,\"version-id\":3}]");
    /* Version 3 of serial has no rx_total. */
    QObject *serial = qdict_get(qdict_get(snap, "serial2"), "state");
    CU_ASSERT_FALSE(qdict_haskey(serial, "rx_total"));
    CU_ASSERT_TRUE(qdict_haskey(serial, "divider"));
    CU_ASSERT_EQUAL(dh_stop(dh), 0);
}

/* ---- QMP ----------------------------------------------------------------------- */

static void test_qmp_answers(void)
{
    Devhost *dh = dh_start("qmp", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dh);
    assert_text(dh, "query-status", NULL,
                "{\"status\":\"running\",\"singlestep\":false,\"running\":true}");
    g_autofree char *version = dh_qmp_text(dh, "query-version", NULL);
    g_autofree char *want_version = g_strdup_printf(
        "{\"qemu\":{\"micro\":%d,\"minor\":%d,\"major\":%d},\"package\":\"vmscope %s\"}", 0, 1, 0,
        PACKAGE_VERSION);
    ASSERT_STR_EQ(version, want_version);
    assert_text(dh, "query-commands", NULL,
                "[{\"name\":\"qmp_capabilities\"},{\"name\":\"query-version\"},"
                "{\"name\":\"query-commands\"},{\"name\":\"query-status\"},{\"name\":\"stop\"},"
                "{\"name\":\"cont\"},{\"name\":\"quit\"},{\"name\":\"migrate\"},"
                "{\"name\":\"migrate_cancel\"},{\"name\":\"query-migrate\"},"
                "{\"name\":\"migrate-set-capabilities\"},"
                "{\"name\":\"query-migrate-capabilities\"}]");
    assert_text(dh, "query-migrate", NULL, "{}");
    assert_text(dh, "migrate_cancel", NULL, "{}");
    g_free(dh_events(dh));

    /* stop: STOP, frozen; stop again: nothing. */
    assert_text(dh, "stop", NULL, "{}");
    g_autofree char *ev1 = dh_events(dh);
    ASSERT_STR_EQ(ev1, "STOP");
    assert_text(dh, "query-status", NULL,
                "{\"status\":\"paused\",\"singlestep\":false,\"running\":false}");
    CU_ASSERT_FALSE(host_moves("qmp"));
    assert_text(dh, "stop", NULL, "{}");
    g_autofree char *ev2 = dh_events(dh);
    ASSERT_STR_EQ(ev2, "");

    /* cont: RESUME, ticking; cont again: nothing. */
    assert_text(dh, "cont", NULL, "{}");
    assert_text(dh, "cont", NULL, "{}");
    g_autofree char *ev3 = dh_events(dh);
    ASSERT_STR_EQ(ev3, "RESUME");
    CU_ASSERT_TRUE(host_moves("qmp"));

    /* quit: SHUTDOWN, the answer, a clean exit without a segment. */
    assert_text(dh, "quit", NULL, "{}");
    g_autoptr(GError) err = NULL;
    g_autoptr(QObject) ev = qmp_client_wait_event(dh->client, "SHUTDOWN", 5000, &err);
    ASSERT_NO_ERROR(err);
    g_autofree char *data = qobject_to_json(qdict_get(ev, "data"), false);
    ASSERT_STR_EQ(data, "{\"guest\":false,\"reason\":\"host-qmp-quit\"}");
    for (int i = 0; i < 500 && g_subprocess_get_identifier(dh->proc); i++) {
        g_usleep(10000);
    }
    CU_ASSERT_PTR_NULL(g_subprocess_get_identifier(dh->proc));
    CU_ASSERT_EQUAL(dh_stop(dh), 0);
    CU_ASSERT_FALSE(segment_exists("qmp"));
}

static void test_start_paused(void)
{
    Devhost *dh = dh_start("paused", "-S", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dh);
    assert_text(dh, "query-status", NULL,
                "{\"status\":\"prelaunch\",\"singlestep\":false,\"running\":false}");
    /* Initialised (one update each), never ticked. */
    CU_ASSERT_EQUAL(dh_generations("paused"), 8);
    CU_ASSERT_FALSE(host_moves("paused"));
    assert_text(dh, "stop", NULL, "{}");
    g_autofree char *ev0 = dh_events(dh);
    ASSERT_STR_EQ(ev0, "");
    assert_text(dh, "cont", NULL, "{}");
    g_autofree char *ev1 = dh_events(dh);
    ASSERT_STR_EQ(ev1, "RESUME");
    assert_text(dh, "query-status", NULL,
                "{\"status\":\"running\",\"singlestep\":false,\"running\":true}");
    CU_ASSERT_TRUE(host_moves("paused"));
    CU_ASSERT_EQUAL(dh_stop(dh), 0);
}

static void test_capabilities(void)
{
    Devhost *dh = dh_start("caps", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dh);
    /* dh_start turned "events" on. */
    assert_text(dh, "query-migrate-capabilities", NULL,
                "[{\"state\":true,\"capability\":\"events\"},"
                "{\"state\":false,\"capability\":\"x-ignore-shared\"},"
                "{\"state\":false,\"capability\":\"ber\"}]");
    static const struct {
        const char *args;
        const char *answer;
    } cases[] = {
        { "{\"capabilities\": [{\"capability\": \"x-ignore-shared\", \"state\": true}, "
          "{\"capability\": \"xbzrle\", \"state\": false}]}", "{}" },
        { "{\"capabilities\": [{\"capability\": \"foo\", \"state\": true}]}",
          "error: Parameter 'capability' does not accept value 'foo'" },
        { "{\"capabilities\": [{\"capability\": \"postcopy-ram\", \"state\": true}]}",
          "error: Migration capability 'postcopy-ram' is not supported by vmscope-devhost" },
        { "{\"capabilities\": [{\"capability\": \"events\"}]}",
          "error: Parameter 'capabilities[0].state' is missing" },
        { "{\"capabilities\": [{\"state\": true}]}",
          "error: Parameter 'capabilities[0].capability' is missing" },
        { "{\"capabilities\": [{\"capability\": 1, \"state\": true}]}",
          "error: Invalid parameter type for 'capabilities[0].capability', expected: string" },
        { "{\"capabilities\": [{\"capability\": \"events\", \"state\": \"x\"}]}",
          "error: Invalid parameter type for 'capabilities[0].state', expected: boolean" },
        { "{\"capabilities\": [{\"capability\": \"events\", \"state\": true, \"x\": 1}]}",
          "error: Parameter 'capabilities[0].x' is unexpected" },
        { "{\"capabilities\": [{\"capability\": \"events\", \"state\": false}, 1]}",
          "error: Invalid parameter type for 'capabilities[1]', expected: object" },
        { "{\"capabilities\": \"x\"}",
          "error: Invalid parameter type for 'capabilities', expected: array" },
        { "{}", "error: Parameter 'capabilities' is missing" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        assert_text(dh, "migrate-set-capabilities", cases[i].args, cases[i].answer);
    }
    /* Only the first case changed anything: refused lists are not applied. */
    assert_text(dh, "query-migrate-capabilities", NULL,
                "[{\"state\":true,\"capability\":\"events\"},"
                "{\"state\":true,\"capability\":\"x-ignore-shared\"},"
                "{\"state\":false,\"capability\":\"ber\"}]");
    CU_ASSERT_EQUAL(dh_stop(dh), 0);
}

static void test_migrate_refused_at_once(void)
{
    Devhost *dh = dh_start("uris", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dh);
    static const struct {
        const char *args;
        const char *answer;
    } cases[] = {
        { "{\"uri\": \"foo:bar\"}", "error: Parameter 'uri' expects a valid migration protocol" },
        { "{\"uri\": \"unix:\"}", "error: migration URI 'unix:': empty socket path" },
        { "{\"uri\": \"tcp:localhost\"}",
          "error: migration URI 'tcp:localhost': expected tcp:HOST:PORT" },
        { "{\"uri\": \"tcp:127.0.0.1:99999\"}",
          "error: migration URI 'tcp:127.0.0.1:99999': port '99999' is not a number from 0 "
          "to 65535" },
        { "{\"uri\": \"exec:\"}", "error: migration URI 'exec:': empty command" },
        { "{}", "error: Parameter 'uri' is missing" },
        { "{\"uri\": 1}", "error: Invalid parameter type for 'uri', expected: string" },
        { "{\"uri\": \"exec:true\", \"blk\": true}", "error: Parameter 'blk' is unexpected" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        assert_text(dh, "migrate", cases[i].args, cases[i].answer);
    }
    assert_text(dh, "query-migrate", NULL, "{}");
    assert_text(dh, "query-status", NULL,
                "{\"status\":\"running\",\"singlestep\":false,\"running\":true}");
    g_autofree char *ev = dh_events(dh);
    ASSERT_STR_EQ(ev, "");
    CU_ASSERT_EQUAL(dh_stop(dh), 0);

    /* A host waiting for an incoming migration cannot send one. */
    g_autofree char *sock = dh_path("uris-in.sock");
    g_autofree char *incoming = g_strdup_printf("--incoming=unix:%s", sock);
    dh = dh_start("uris-in", incoming, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dh);
    assert_text(dh, "migrate", "{\"uri\": \"exec:cat >/dev/null\"}",
                "error: Guest is waiting for an incoming migration");
    assert_text(dh, "query-status", NULL,
                "{\"status\":\"inmigrate\",\"singlestep\":false,\"running\":false}");
    g_autofree char *q = dh_qmp_text(dh, "query-migrate", NULL);
    g_autofree char *want = g_strdup_printf(
        "{\"socket-address\":[{\"path\":\"%s\",\"type\":\"unix\"}]}", sock);
    ASSERT_STR_EQ(q, want);
    CU_ASSERT_FALSE(host_moves("uris-in"));
    CU_ASSERT_EQUAL(dh_stop(dh), 0);
    CU_ASSERT_FALSE(g_file_test(sock, G_FILE_TEST_EXISTS));    /* removed at exit */
}

/* ---- flags -------------------------------------------------------------------- */

static void test_flags(void)
{
    static const struct {
        const char *args[6];
        const char *error;
    } cases[] = {
        { { "--devices=serial", NULL }, "vmscope-devhost: --name is required" },
        { { "--name=f", "--devices=floppy", NULL },
          "vmscope-devhost: --devices: unknown device type 'floppy' (known: mc146818rtc, "
          "serial, i8254, virtio-blk, apic, kvm-apic, slirp)" },
        { { "--name=f", "--devices=serial:0", NULL },
          "vmscope-devhost: --devices: 'serial:0': COUNT must be a number from 1 to 4096" },
        { { "--name=f", "--devices=serial:x", NULL },
          "vmscope-devhost: --devices: 'serial:x': COUNT must be a number from 1 to 4096" },
        { { "--name=f", "--devices=serial:4000,i8254:90,slirp:10", NULL },
          "vmscope-devhost: --devices: 4100 devices, at most 4096" },
        { { "--name=f", "--devices=serial,,i8254", NULL },
          "vmscope-devhost: --devices: empty device type in 'serial,,i8254'" },
        { { "--name=f", "--device-version=serial=9", NULL },
          "vmscope-devhost: --device-version serial=9: device type 'serial' supports "
          "versions 2 to 4, not 9" },
        { { "--name=f", "--device-version=serial", NULL },
          "vmscope-devhost: --device-version: 'serial': expected TYPE=N" },
        { { "--name=f", "--device-version=floppy=1", NULL },
          "vmscope-devhost: --device-version: unknown device type 'floppy'" },
        { { "--name=f", "--tick-ms=0", NULL },
          "vmscope-devhost: --tick-ms: N must be a number from 1 to 60000" },
        { { "--name=f", "extra", NULL }, "vmscope-devhost: unexpected argument 'extra'" },
        { { "--name=f", "--qmp=bogus", NULL },
          "vmscope-devhost: QMP address 'bogus': expected unix:PATH or tcp:HOST:PORT" },
        { { "--name=f", "--incoming=bogus", NULL },
          "vmscope-devhost: --incoming 'bogus': expected unix:PATH or tcp:HOST:PORT" },
        { { "--name=f", "--bogus", NULL }, "vmscope-devhost: Unknown option --bogus" },
        { { "--list-devices", "--devices=floppy", NULL },
          "vmscope-devhost: --devices: unknown device type 'floppy' (known: mc146818rtc, "
          "serial, i8254, virtio-blk, apic, kvm-apic, slirp)" },
        { { "--list-devices", "--device-version=serial=9", NULL },
          "vmscope-devhost: --device-version serial=9: device type 'serial' supports "
          "versions 2 to 4, not 9" },
    };
    g_autofree char *shm_dir = g_strdup_printf("--shm-dir=%s", dh_tmp);
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        const char *args[8] = { shm_dir };
        for (int k = 0; cases[i].args[k]; k++) {
            args[k + 1] = cases[i].args[k];
        }
        g_autofree char *err = NULL;
        CU_ASSERT_EQUAL(dh_run(args, &err), 1);
        ASSERT_STR_EQ(err, cases[i].error);
    }
    CU_ASSERT_FALSE(segment_exists("f"));

    /* A host name that cannot name a segment. */
    const char *bad_name[] = { shm_dir, "--name=a/b", NULL };
    g_autofree char *err = NULL;
    CU_ASSERT_EQUAL(dh_run(bad_name, &err), 1);
    CU_ASSERT_TRUE(g_str_has_prefix(err, "vmscope-devhost: --name: "));

    /* A second host of the same name while the first lives. */
    Devhost *dh = dh_start("twice", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dh);
    const char *twice[] = { shm_dir, "--name=twice", NULL };
    g_autofree char *err2 = NULL;
    CU_ASSERT_EQUAL(dh_run(twice, &err2), 1);
    g_autofree char *want = g_strdup_printf(
        "vmscope-devhost: vmscope-twice: segment in use by live pid %s",
        g_subprocess_get_identifier(dh->proc));
    ASSERT_STR_EQ(err2, want);
    CU_ASSERT_TRUE(host_moves("twice"));          /* the first one is unharmed */
    CU_ASSERT_EQUAL(dh_stop(dh), 0);
}

/* Who may read the segment and use the sockets: modes and groups (docs/security.md). */
static void test_access(void)
{
    g_autofree char *mine = g_strdup_printf("%u", (unsigned)getegid());
    gid_t other = cutest_other_group();
    g_autofree char *group = g_strdup_printf("--group=%u", (unsigned)other);
    static const char *const names[] = { "acc", "accg" };
    mode_t old_umask = umask(022);         /* the hosts inherit it */
    for (int g = 0; g < 2; g++) {
        g_autofree char *sock = g_strdup_printf("%s/%s.in", dh_tmp, names[g]);
        g_autofree char *incoming = g_strdup_printf("--incoming=unix:%s", sock);
        Devhost *dh = dh_start(names[g], incoming, g ? group : NULL, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(dh);
        g_autofree char *gid = g ? g_strdup_printf("%u", (unsigned)other) : g_strdup(mine);
        g_autofree char *want_seg = g_strdup_printf("0640 %s", gid);
        g_autofree char *want_sock = g_strdup_printf("%s %s", g ? "0660" : "0600", gid);
        g_autofree char *seg = cutest_file_access(dh->segment);
        g_autofree char *qmp = cutest_file_access(dh->qmp + strlen("unix:"));
        g_autofree char *in = cutest_file_access(sock);
        ASSERT_STR_EQ(seg, want_seg);
        ASSERT_STR_EQ(qmp, want_sock);
        ASSERT_STR_EQ(in, want_sock);
        CU_ASSERT_EQUAL(dh_stop(dh), 0);
    }
    umask(old_umask);
    g_autofree char *shm_dir = g_strdup_printf("--shm-dir=%s", dh_tmp);
    const char *bad[] = { shm_dir, "--name=acc", "--group=no-such-group-here", NULL };
    g_autofree char *err = NULL;
    CU_ASSERT_EQUAL(dh_run(bad, &err), 1);
    ASSERT_STR_EQ(err, "vmscope-devhost: --group 'no-such-group-here': no such group");
}

static void test_signals(void)
{
    static const int sigs[] = { SIGTERM, SIGINT };
    for (size_t i = 0; i < G_N_ELEMENTS(sigs); i++) {
        Devhost *dh = dh_start("sig", NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(dh);
        CU_ASSERT_TRUE(segment_exists("sig"));
        g_subprocess_send_signal(dh->proc, sigs[i]);
        g_autoptr(GError) err = NULL;
        g_autoptr(QObject) ev = qmp_client_wait_event(dh->client, "SHUTDOWN", 5000, &err);
        ASSERT_NO_ERROR(err);
        g_autofree char *data = ev ? qobject_to_json(qdict_get(ev, "data"), false) : NULL;
        ASSERT_STR_EQ(data, "{\"guest\":false,\"reason\":\"host-signal\"}");
        CU_ASSERT_EQUAL(dh_stop(dh), 0);
        CU_ASSERT_FALSE(segment_exists("sig"));
    }
}

static const CuTest devhost_tests[] = {
    { "segment: default devices", test_segment_default_devices },
    { "segment: device list and versions", test_segment_device_list },
    { "qmp: answers, stop, cont, quit", test_qmp_answers },
    { "-S: prelaunch until cont", test_start_paused },
    { "qmp: migration capabilities", test_capabilities },
    { "qmp: migrate refused at once", test_migrate_refused_at_once },
    { "flags and their errors", test_flags },
    { "segment and socket modes, --group", test_access },
    { "SIGTERM and SIGINT", test_signals },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "devhost", devhost_tests },
    { NULL, NULL },
};

int main(int argc, char **argv)
{
    dh_init(argv[0]);
    int rc = cutest_run(suites);
    dh_cleanup();
    return rc;
}

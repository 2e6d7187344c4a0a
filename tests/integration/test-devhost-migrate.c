/*
 * Migration between vmscope-devhost processes: unix:, tcp: and exec: URIs,
 * field-by-field equality of every device (the slirp socket list too)
 * between a source and a -S destination, autostart, streams that
 * vmscope-view reads, versions in both directions, and failures (the
 * destination refuses, is not there, dies mid-stream, answers nonsense,
 * gets garbage), after which the source runs on with its state untouched.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>

#include "../unit/cutest.h"
#include "devhost-test-util.h"
#include "vmscope/qemu-stream.h"

static char *view_binary;

static void assert_text(Devhost *dh, const char *command, const char *args, const char *want)
{
    g_autofree char *got = dh_qmp_text(dh, command, args);
    ASSERT_STR_EQ(got, want);
}

static void assert_status(Devhost *dh, const char *want)
{
    g_autofree char *st = dh_status(dh);
    ASSERT_STR_EQ(st, want);
}

static bool migrate(Devhost *dh, const char *uri)
{
    g_autofree char *args = g_strdup_printf("{\"uri\": \"%s\"}", uri);
    g_autofree char *r = dh_qmp_text(dh, "migrate", args);
    if (strcmp(r, "{}") != 0) {
        fprintf(stderr, "\nmigrate %s: %s\n", uri, r);
        return false;
    }
    return true;
}

/* Migrate and wait: the final query-migrate answer. */
static QObject *migrate_wait(Devhost *dh, const char *uri)
{
    if (!migrate(dh, uri)) {
        return NULL;
    }
    return dh_wait_migration(dh);
}

static const char *mig_status(QObject *q)
{
    return q ? qdict_get_str(q, "status") : "(none)";
}

static const char *mig_error(QObject *q)
{
    const char *e = q ? qdict_get_str(q, "error-desc") : NULL;
    return e ? e : "(none)";
}

/* Let the source run until its slirp list has at least n sockets. */
static void wait_sockets(const char *host, int64_t n)
{
    for (int i = 0; i < 500 && dh_state_int(host, "slirp0", "so_count") < n; i++) {
        g_usleep(10000);
    }
    CU_ASSERT_TRUE(dh_state_int(host, "slirp0", "so_count") >= n);
}

static char *unix_uri(const char *name)
{
    g_autofree char *p = dh_path(name);
    return g_strdup_printf("unix:%s", p);
}

/* ---- successful migrations ------------------------------------------------------ */

static void test_unix_to_paused_destination(void)
{
    Devhost *src = dh_start("src", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(src);
    g_autofree char *uri = unix_uri("mig-unix.sock");
    g_autofree char *incoming = g_strdup_printf("--incoming=%s", uri);
    Devhost *dst = dh_start("dst", incoming, "-S", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dst);
    ASSERT_STR_EQ(dst->incoming, uri);
    g_autoptr(QObject) fresh = dh_states("dst");
    wait_sockets("src", 3);
    g_free(dh_events(src));

    g_autoptr(QObject) q = migrate_wait(src, uri);
    ASSERT_STR_EQ(mig_status(q), "completed");
    /* query-migrate's members, as QEMU orders them, plus device-state. */
    GString *keys = g_string_new(NULL);
    qdict_foreach(q, key, val) {
        (void)val;
        g_string_append_printf(keys, "%s ", key);
    }
    ASSERT_STR_EQ(keys->str, "status setup-time downtime total-time ram device-state format ");
    g_string_free(keys, TRUE);
    QObject *ds = qdict_get(q, "device-state");
    uint64_t devices = 0, bytes = 0, sent = 0, ram_sent = 0;
    qnum_get_uint(qdict_get(ds, "devices"), &devices);
    qnum_get_uint(qdict_get(ds, "bytes"), &bytes);
    qnum_get_uint(qdict_get(ds, "transferred"), &sent);
    qnum_get_uint(qdict_get(qdict_get(q, "ram"), "transferred"), &ram_sent);
    CU_ASSERT_EQUAL(devices, 8);
    CU_ASSERT_TRUE(bytes > 1000);
    CU_ASSERT_EQUAL(sent, bytes);
    CU_ASSERT_EQUAL(ram_sent, bytes);

    g_autofree char *src_events = dh_events(src);
    ASSERT_STR_EQ(src_events, "MIGRATION:setup MIGRATION:active STOP MIGRATION:completed");
    assert_status(src, "postmigrate");
    assert_status(dst, "paused");
    g_autoptr(QObject) dq = dh_wait_migration(dst);
    ASSERT_STR_EQ(mig_status(dq), "completed");
    g_autofree char *dst_events = dh_events(dst);
    ASSERT_STR_EQ(dst_events, "MIGRATION:active MIGRATION:completed");
    /* The incoming socket is gone once the migration is in. */
    CU_ASSERT_FALSE(g_file_test(uri + 5, G_FILE_TEST_EXISTS));

    /* Field by field, every device, the socket list included. */
    g_autoptr(QObject) a = dh_states("src");
    g_autoptr(QObject) b = dh_states("dst");
    CU_ASSERT_TRUE(dh_states_equal(a, b));
    CU_ASSERT_FALSE(qobject_equal(b, fresh));
    QObject *socks = qdict_get(qdict_get(b, "slirp0"), "sockets");
    CU_ASSERT_TRUE(socks && qobject_type(socks) == QTYPE_LIST && qlist_size(socks) >= 3);

    /* Both stay frozen; cont makes the destination run on. */
    g_usleep(50000);
    g_autoptr(QObject) a2 = dh_states("src");
    g_autoptr(QObject) b2 = dh_states("dst");
    CU_ASSERT_TRUE(dh_states_equal(a2, a));
    CU_ASSERT_TRUE(dh_states_equal(b2, b));
    assert_text(src, "migrate", "{\"uri\": \"exec:cat >/dev/null\"}",
                "error: Can't migrate the vm that was paused due to previous migration");
    assert_text(dst, "cont", NULL, "{}");
    assert_status(dst, "running");
    uint64_t g = dh_generations("dst");
    g_usleep(100000);
    CU_ASSERT_TRUE(dh_generations("dst") > g);
    CU_ASSERT_EQUAL(dh_stop(src), 0);
    CU_ASSERT_EQUAL(dh_stop(dst), 0);
}

static void test_tcp(void)
{
    Devhost *src = dh_start("tsrc", NULL);
    Devhost *dst = dh_start("tdst", "--incoming=tcp:127.0.0.1:0", "-S", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(src);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dst);
    CU_ASSERT_TRUE_FATAL(g_str_has_prefix(dst->incoming, "tcp:127.0.0.1:"));
    const char *port = dst->incoming + strlen("tcp:127.0.0.1:");
    g_autofree char *want = g_strdup_printf(
        "{\"socket-address\":[{\"port\":\"%s\",\"ipv6\":false,\"host\":\"127.0.0.1\","
        "\"type\":\"inet\"}]}", port);
    assert_text(dst, "query-migrate", NULL, want);
    wait_sockets("tsrc", 2);

    g_autoptr(QObject) q = migrate_wait(src, dst->incoming);
    ASSERT_STR_EQ(mig_status(q), "completed");
    assert_status(dst, "paused");
    g_autoptr(QObject) a = dh_states("tsrc");
    g_autoptr(QObject) b = dh_states("tdst");
    CU_ASSERT_TRUE(dh_states_equal(a, b));

    /* The destination passes the state on (its lists now live in its own heap). */
    Devhost *third = dh_start("tthird", "--incoming=tcp:127.0.0.1:0", "-S", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(third);
    g_autoptr(QObject) q2 = migrate_wait(dst, third->incoming);
    ASSERT_STR_EQ(mig_status(q2), "completed");
    g_autoptr(QObject) c = dh_states("tthird");
    CU_ASSERT_TRUE(dh_states_equal(a, c));
    CU_ASSERT_EQUAL(dh_stop(third), 0);
    CU_ASSERT_EQUAL(dh_stop(src), 0);
    CU_ASSERT_EQUAL(dh_stop(dst), 0);
}

static void test_autostart(void)
{
    /* Without -S the destination runs once loaded. */
    g_autofree char *uri = unix_uri("mig-auto.sock");
    g_autofree char *incoming = g_strdup_printf("--incoming=%s", uri);
    Devhost *src = dh_start("asrc", NULL);
    Devhost *dst = dh_start("adst", incoming, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(src);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dst);
    assert_status(dst, "inmigrate");
    g_autoptr(QObject) q = migrate_wait(src, uri);
    ASSERT_STR_EQ(mig_status(q), "completed");
    g_autoptr(QObject) dq = dh_wait_migration(dst);
    assert_status(dst, "running");
    g_autofree char *ev = dh_events(dst);
    ASSERT_STR_EQ(ev, "MIGRATION:active MIGRATION:completed RESUME");
    CU_ASSERT_EQUAL(dh_stop(src), 0);
    CU_ASSERT_EQUAL(dh_stop(dst), 0);

    /* With -S, cont while waiting runs it once loaded; stop while waiting undoes that. */
    static const struct {
        const char *command;
        const char *after;
    } cases[] = { { "cont", "running" }, { "stop", "paused" } };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        src = dh_start("asrc", NULL);
        dst = dh_start("adst", incoming, i == 0 ? "-S" : NULL, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(src);
        CU_ASSERT_PTR_NOT_NULL_FATAL(dst);
        assert_text(dst, cases[i].command, NULL, "{}");
        assert_status(dst, "inmigrate");
        g_autoptr(QObject) q2 = migrate_wait(src, uri);
        ASSERT_STR_EQ(mig_status(q2), "completed");
        g_autoptr(QObject) dq2 = dh_wait_migration(dst);
        assert_status(dst, cases[i].after);
        CU_ASSERT_EQUAL(dh_stop(src), 0);
        CU_ASSERT_EQUAL(dh_stop(dst), 0);
    }
}

/* exec:cat > FILE writes a stream vmscope-view reads like QEMU's. */
static void test_exec_file(void)
{
    Devhost *src = dh_start("esrc", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(src);
    wait_sockets("esrc", 1);
    g_autofree char *file = dh_path("esrc.mig");
    g_autofree char *uri = g_strdup_printf("exec:cat > %s", file);
    g_autoptr(QObject) q = migrate_wait(src, uri);
    ASSERT_STR_EQ(mig_status(q), "completed");
    assert_status(src, "postmigrate");

    const char *argv[] = { view_binary, "stream", file, "--format", "json", NULL };
    g_autoptr(GSubprocess) p = g_subprocess_newv(argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    g_autofree char *out = NULL;
    CU_ASSERT_TRUE(g_subprocess_communicate_utf8(p, NULL, NULL, &out, NULL, NULL));
    CU_ASSERT_EQUAL(g_subprocess_get_exit_status(p), 0);
    g_autoptr(QObject) parsed = out ? dh_json(out) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(parsed);
    ASSERT_STR_EQ(qdict_get_str(qdict_get(parsed, "configuration"), "name"), "vmscope-devhost");

    /* Sections: description name, instance id and version of every device, in order. */
    g_autoptr(GError) err = NULL;
    g_autoptr(QObject) snap = dh_snapshot("esrc", &err);
    ASSERT_NO_ERROR(err);
    g_autoptr(ShmReader) r = shm_reader_open(dh_tmp, "esrc", &err);
    ASSERT_NO_ERROR(err);
    GString *want = g_string_new(NULL), *got = g_string_new(NULL);
    qdict_foreach(snap, id, dev) {
        g_autofree char *text = NULL;
        shm_reader_description(r, id, &text, NULL);
        g_autoptr(QObject) desc = text ? dh_json(text) : NULL;
        g_autofree char *inst = qobject_to_json(qdict_get(dev, "instance-id"), false);
        g_autofree char *ver = qobject_to_json(qdict_get(dev, "version-id"), false);
        g_string_append_printf(want, "%s:%s:v%s ", desc ? qdict_get_str(desc, "name") : "?",
                               inst, ver);
    }
    QObject *sections = qdict_get(parsed, "sections");
    for (size_t i = 0; sections && i < qlist_size(sections); i++) {
        QObject *s = qlist_get(sections, i);
        g_autofree char *inst = qobject_to_json(qdict_get(s, "instance-id"), false);
        g_autofree char *ver = qobject_to_json(qdict_get(s, "version-id"), false);
        g_string_append_printf(got, "%s:%s:v%s ", qdict_get_str(s, "name"), inst, ver);
    }
    ASSERT_STR_EQ(got->str, want->str);
    /* ...which are the devices a default host runs, as --list-devices says. */
    g_autoptr(QObject) listed = dh_list_devices(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(listed);
    GString *planned = g_string_new(NULL);
    for (size_t i = 0; i < qlist_size(listed); i++) {
        QObject *d = qlist_get(listed, i);
        g_autofree char *inst = qobject_to_json(qdict_get(d, "instance-id"), false);
        g_autofree char *ver = qobject_to_json(qdict_get(d, "version-id"), false);
        g_string_append_printf(planned, "%s:%s:v%s ", qdict_get_str(d, "section"), inst, ver);
    }
    ASSERT_STR_EQ(got->str, planned->str);
    g_string_free(planned, TRUE);
    g_string_free(want, TRUE);
    g_string_free(got, TRUE);
    /* A value decoded by the viewer from the vmdesc is the one in the segment. */
    QObject *rtc = qdict_get(qlist_get(sections, 0), "state");
    g_autofree char *v1 = qobject_to_json(qdict_get(rtc, "base_rtc"), false);
    g_autofree char *v2 = qobject_to_json(
        qdict_get(qdict_get(qdict_get(snap, "rtc0"), "state"), "base_rtc"), false);
    ASSERT_STR_EQ(v1, v2);

    /* cont after a completed migration resumes the source, as in QEMU. */
    assert_text(src, "cont", NULL, "{}");
    assert_status(src, "running");
    CU_ASSERT_EQUAL(dh_stop(src), 0);
}

/* An older source: the newer destination loads it; fields it lacks keep their defaults. */
static void test_old_source_new_destination(void)
{
    g_autofree char *uri = unix_uri("mig-old.sock");
    g_autofree char *incoming = g_strdup_printf("--incoming=%s", uri);
    Devhost *src = dh_start("osrc", "--device-version=serial=3", NULL);
    Devhost *dst = dh_start("odst", incoming, "-S", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(src);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dst);
    wait_sockets("osrc", 1);
    g_autoptr(QObject) q = migrate_wait(src, uri);
    ASSERT_STR_EQ(mig_status(q), "completed");
    g_autoptr(QObject) a = dh_states("osrc");
    g_autoptr(QObject) b = dh_states("odst");
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    static const char *const serials[] = { "serial0", "serial1" };
    for (size_t i = 0; i < G_N_ELEMENTS(serials); i++) {
        QObject *ds = qdict_get(b, serials[i]);
        int64_t rx = -1;
        CU_ASSERT_TRUE(qnum_get_int(qdict_get(ds, "rx_total"), &rx));
        CU_ASSERT_EQUAL(rx, 0);                   /* the destination's default */
        CU_ASSERT_FALSE(qdict_haskey(qdict_get(a, serials[i]), "rx_total"));
        qdict_del(ds, "rx_total");
    }
    CU_ASSERT_TRUE(dh_states_equal(a, b));
    CU_ASSERT_EQUAL(dh_stop(src), 0);
    CU_ASSERT_EQUAL(dh_stop(dst), 0);
}

/* A newer source: refused; the source runs on untouched, the destination waits on. */
static void test_new_source_old_destination(void)
{
    g_autofree char *uri = unix_uri("mig-new.sock");
    g_autofree char *incoming = g_strdup_printf("--incoming=%s", uri);
    Devhost *src = dh_start("nsrc", NULL);
    Devhost *dst = dh_start("ndst", incoming, "-S", "--device-version=serial=3", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(src);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dst);
    const char *refusal = "incoming migration: device serial0: the stream has serial version 4, "
                          "this host runs version 3";
    g_autofree char *src_error = g_strdup_printf("the destination refused the migration: %s",
                                                 refusal);

    /* A paused source: exactly the same state (and generations) afterwards. */
    assert_text(src, "stop", NULL, "{}");
    g_autoptr(GError) err = NULL;
    g_autoptr(QObject) before = dh_snapshot("nsrc", &err);
    g_autoptr(QObject) dst_before = dh_snapshot("ndst", &err);
    ASSERT_NO_ERROR(err);
    g_free(dh_events(src));
    g_autoptr(QObject) q = migrate_wait(src, uri);
    ASSERT_STR_EQ(mig_status(q), "failed");
    ASSERT_STR_EQ(mig_error(q), src_error);
    assert_status(src, "paused");
    g_autofree char *ev = dh_events(src);
    ASSERT_STR_EQ(ev, "MIGRATION:setup MIGRATION:active MIGRATION:failed");
    g_autoptr(QObject) after = dh_snapshot("nsrc", &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_TRUE(dh_states_equal(before, after));
    g_autoptr(QObject) dst_after = dh_snapshot("ndst", &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_TRUE(dh_states_equal(dst_before, dst_after));
    assert_status(dst, "inmigrate");
    g_autofree char *dq = dh_qmp_text(dst, "query-migrate", NULL);
    g_autofree char *want_dq = g_strdup_printf(
        "{\"status\":\"failed\",\"error-desc\":\"%s\",\"format\":\"qemu\",\"socket-address\":"
        "[{\"path\":\"%s\",\"type\":\"unix\"}]}", refusal, uri + 5);
    ASSERT_STR_EQ(dq, want_dq);

    /* A running source: back to running, with RESUME. */
    assert_text(src, "cont", NULL, "{}");
    g_free(dh_events(src));
    g_autoptr(QObject) q2 = migrate_wait(src, uri);
    ASSERT_STR_EQ(mig_status(q2), "failed");
    ASSERT_STR_EQ(mig_error(q2), src_error);
    assert_status(src, "running");
    g_autofree char *ev2 = dh_events(src);
    ASSERT_STR_EQ(ev2, "MIGRATION:setup MIGRATION:active STOP MIGRATION:failed RESUME");
    uint64_t g = dh_generations("nsrc");
    g_usleep(100000);
    CU_ASSERT_TRUE(dh_generations("nsrc") > g);

    /* The destination still listens: a source of its version gets in. */
    Devhost *src3 = dh_start("nsrc3", "--device-version=serial=3", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(src3);
    g_autoptr(QObject) q3 = migrate_wait(src3, uri);
    ASSERT_STR_EQ(mig_status(q3), "completed");
    g_autoptr(QObject) a = dh_states("nsrc3");
    g_autoptr(QObject) b = dh_states("ndst");
    CU_ASSERT_TRUE(dh_states_equal(a, b));
    CU_ASSERT_EQUAL(dh_stop(src), 0);
    CU_ASSERT_EQUAL(dh_stop(src3), 0);
    CU_ASSERT_EQUAL(dh_stop(dst), 0);
}

/* ---- failures --------------------------------------------------------------------- */

static void test_destination_not_there(void)
{
    Devhost *src = dh_start("xsrc", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(src);
    g_free(dh_events(src));
    g_autofree char *path = dh_path("nobody.sock");
    g_autofree char *uri = g_strdup_printf("unix:%s", path);
    g_autoptr(QObject) q = migrate_wait(src, uri);
    g_autofree char *want = g_strdup_printf(
        "{\"status\":\"failed\",\"error-desc\":\"Failed to connect to '%s': No such file or "
        "directory\",\"format\":\"qemu\"}", path);
    g_autofree char *got = q ? qobject_to_json(q, false) : NULL;
    ASSERT_STR_EQ(got, want);
    assert_status(src, "running");
    g_autofree char *ev = dh_events(src);
    ASSERT_STR_EQ(ev, "MIGRATION:setup MIGRATION:failed");     /* never stopped */

    /* A TCP port nobody listens on. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sin);
    CU_ASSERT_EQUAL(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    CU_ASSERT_EQUAL(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    close(fd);                                    /* the port is free and closed */
    g_autofree char *tcp = g_strdup_printf("tcp:127.0.0.1:%u", ntohs(sin.sin_port));
    g_autoptr(QObject) q2 = migrate_wait(src, tcp);
    g_autofree char *want2 = g_strdup_printf("Failed to connect to '127.0.0.1:%u': Connection "
                                             "refused", ntohs(sin.sin_port));
    ASSERT_STR_EQ(mig_error(q2), want2);
    assert_status(src, "running");

    /* A command that fails after reading the stream. */
    g_autoptr(QObject) q3 = migrate_wait(src, "exec:cat > /dev/null; exit 3");
    ASSERT_STR_EQ(mig_error(q3), "command 'cat > /dev/null; exit 3' exited with status 3");
    assert_status(src, "running");
    CU_ASSERT_EQUAL(dh_stop(src), 0);
}

static bool one_of(const char *s, const char *const *options)
{
    for (; *options; options++) {
        if (strcmp(s, *options) == 0) {
            return true;
        }
    }
    fprintf(stderr, "\nunexpected: %s\n", s);
    return false;
}

/* The destination dies while the source is sending or waiting for the result. */
static void test_destination_killed(void)
{
    g_autofree char *uri = unix_uri("mig-kill.sock");
    g_autofree char *incoming = g_strdup_printf("--incoming=%s", uri);
    Devhost *src = dh_start("ksrc", NULL);
    Devhost *dst = dh_start("kdst", incoming, "-S", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(src);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dst);
    assert_text(src, "stop", NULL, "{}");
    g_autoptr(GError) err = NULL;
    g_autoptr(QObject) before = dh_snapshot("ksrc", &err);
    ASSERT_NO_ERROR(err);

    g_subprocess_send_signal(dst->proc, SIGSTOP);     /* it accepts nothing now */
    CU_ASSERT_TRUE_FATAL(migrate(src, uri));
    /* Wait until the source is sending (or waiting for the result). */
    bool active = false;
    for (int i = 0; i < 500 && !active; i++) {
        g_autoptr(QObject) q = dh_qmp(src, "query-migrate", NULL, NULL);
        active = q && strcmp(mig_status(q), "active") == 0;
        if (!active) {
            g_usleep(10000);
        }
    }
    CU_ASSERT_TRUE(active);
    assert_status(src, "finish-migrate");
    g_subprocess_send_signal(dst->proc, SIGKILL);
    g_autoptr(QObject) q = dh_wait_migration(src);
    ASSERT_STR_EQ(mig_status(q), "failed");
    static const char *const errors[] = {
        "the destination closed the connection without a result",
        "reading the destination's result: Connection reset by peer",
        "Unable to write to socket: Broken pipe",
        "Unable to write to socket: Connection reset by peer",
        NULL,
    };
    CU_ASSERT_TRUE(one_of(mig_error(q), errors));
    assert_status(src, "paused");
    g_autoptr(QObject) after = dh_snapshot("ksrc", &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_TRUE(dh_states_equal(before, after));
    dh_free(dst);
    CU_ASSERT_EQUAL(dh_stop(src), 0);
}

/* Wait until the source's migration is active (sending or waiting for the result). */
static bool wait_active(Devhost *src)
{
    for (int i = 0; i < 500; i++) {
        g_autoptr(QObject) q = dh_qmp(src, "query-migrate", NULL, NULL);
        if (q && strcmp(mig_status(q), "active") == 0) {
            return true;
        }
        g_usleep(10000);
    }
    return false;
}

/*
 * A destination that never answers: a socket that listens and never
 * accepts.  The stream fits in the connection's buffer, so the source waits
 * for an answer that does not come (a stopped devhost is not as sure: under
 * load SIGSTOP can come after it has answered).
 */
static int mute_destination(const char *uri)
{
    const char *path = uri + strlen("unix:");
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    g_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
    unlink(path);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(fd, 4) < 0) {
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    return fd;
}

/* migrate_cancel, and quit, while the destination does not answer. */
static void test_cancel_and_quit(void)
{
    g_autofree char *uri = unix_uri("mig-cancel.sock");
    Devhost *src = dh_start("csrc", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(src);
    int mute = mute_destination(uri);
    CU_ASSERT_TRUE_FATAL(mute >= 0);
    g_free(dh_events(src));
    CU_ASSERT_TRUE_FATAL(migrate(src, uri));
    CU_ASSERT_TRUE(wait_active(src));
    assert_text(src, "migrate", "{\"uri\": \"exec:cat >/dev/null\"}",
                "error: There's a migration process in progress");
    assert_text(src, "migrate-set-capabilities",
                "{\"capabilities\": [{\"capability\": \"events\", \"state\": true}]}",
                "error: There's a migration process in progress");
    assert_text(src, "migrate_cancel", NULL, "{}");
    g_autoptr(QObject) q = dh_wait_migration(src);
    g_autofree char *text = q ? qobject_to_json(q, false) : NULL;
    ASSERT_STR_EQ(text, "{\"status\":\"cancelled\",\"format\":\"qemu\"}");
    assert_status(src, "running");
    g_autofree char *ev = dh_events(src);
    ASSERT_STR_EQ(ev, "MIGRATION:setup MIGRATION:active STOP MIGRATION:cancelling "
                      "MIGRATION:cancelled RESUME");

    /* quit while a migration waits: it is cancelled and the host exits cleanly. */
    CU_ASSERT_TRUE_FATAL(migrate(src, uri));
    CU_ASSERT_TRUE(wait_active(src));
    assert_text(src, "quit", NULL, "{}");
    for (int i = 0; i < 500 && g_subprocess_get_identifier(src->proc); i++) {
        g_usleep(10000);
    }
    CU_ASSERT_EQUAL(dh_stop(src), 0);
    g_autofree char *seg = dh_path("vmscope-csrc");
    CU_ASSERT_FALSE(g_file_test(seg, G_FILE_TEST_EXISTS));
    close(mute);
    unlink(uri + strlen("unix:"));
}

/* A destination played by the test: what it does with the stream. */
typedef enum FakeMode {
    FAKE_REFUSE,       /* read all, answer failed */
    FAKE_NONSENSE,     /* read all, answer "hello" */
    FAKE_SILENT,       /* read all, close without a word */
    FAKE_HANGUP,       /* read 100 bytes, close */
} FakeMode;

typedef struct Fake {
    int listen_fd;
    FakeMode mode;
    GByteArray *got;
} Fake;

static gpointer fake_thread(gpointer opaque)
{
    Fake *f = opaque;
    int fd = accept(f->listen_fd, NULL, NULL);
    if (fd < 0) {
        return NULL;
    }
    struct timeval tv = { .tv_sec = 10 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char buf[4096];
    ssize_t n;
    while ((n = recv(fd, buf, f->mode == FAKE_HANGUP ? 100 : sizeof(buf), 0)) > 0) {
        g_byte_array_append(f->got, (guint8 *)buf, (guint)n);
        if (f->mode == FAKE_HANGUP) {
            break;
        }
    }
    const char *reply = f->mode == FAKE_REFUSE ? "{\"status\": \"failed\", \"error\": \"nope\"}\n"
                      : f->mode == FAKE_NONSENSE ? "hello\n" : NULL;
    if (reply) {
        (void)!send(fd, reply, strlen(reply), MSG_NOSIGNAL);
    }
    close(fd);
    return NULL;
}

static void test_fake_destinations(void)
{
    Devhost *src = dh_start("fsrc", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(src);
    static const struct {
        FakeMode mode;
        const char *error;
    } cases[] = {
        { FAKE_REFUSE, "the destination refused the migration: nope" },
        { FAKE_NONSENSE, "the destination sent an invalid result: hello" },
        { FAKE_SILENT, "the destination closed the connection without a result" },
        { FAKE_HANGUP, NULL },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *name = g_strdup_printf("fake%zu.sock", i);
        g_autofree char *path = dh_path(name);
        Fake f = { .mode = cases[i].mode, .got = g_byte_array_new() };
        f.listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un sun = { .sun_family = AF_UNIX };
        g_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
        CU_ASSERT_EQUAL_FATAL(bind(f.listen_fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
        CU_ASSERT_EQUAL_FATAL(listen(f.listen_fd, 1), 0);
        GThread *t = g_thread_new("fake", fake_thread, &f);
        g_autofree char *uri = g_strdup_printf("unix:%s", path);
        g_autoptr(QObject) q = migrate_wait(src, uri);
        g_thread_join(t);
        close(f.listen_fd);
        g_unlink(path);
        ASSERT_STR_EQ(mig_status(q), "failed");
        if (cases[i].error) {
            ASSERT_STR_EQ(mig_error(q), cases[i].error);
            /* What it received is a whole QEMU stream with every device. */
            g_autoptr(GBytes) bytes = g_bytes_new(f.got->data, f.got->len);
            g_autoptr(GError) err = NULL;
            g_autoptr(QemuStream) s = qemu_stream_parse(bytes, &err);
            ASSERT_NO_ERROR(err);
            CU_ASSERT_EQUAL(qemu_stream_n_sections(s), 8);
        } else {
            static const char *const errors[] = {
                "the destination closed the connection without a result",
                "reading the destination's result: Connection reset by peer",
                "Unable to write to socket: Broken pipe",
                "Unable to write to socket: Connection reset by peer",
                NULL,
            };
            CU_ASSERT_TRUE(one_of(mig_error(q), errors));
        }
        g_byte_array_unref(f.got);
        assert_status(src, "running");
    }
    CU_ASSERT_EQUAL(dh_stop(src), 0);
}

/* Send raw bytes to a destination's incoming socket; its result line. */
static char *send_raw(const char *path, const void *data, size_t len)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    g_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
    if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
        close(fd);
        return g_strdup("(connect failed)");
    }
    struct timeval tv = { .tv_sec = 10 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void)!send(fd, data, len, MSG_NOSIGNAL);
    shutdown(fd, SHUT_WR);
    GString *in = g_string_new(NULL);
    char buf[4096];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
        g_string_append_len(in, buf, n);
    }
    close(fd);
    return g_strchomp(g_string_free(in, FALSE));
}

static void test_incoming_refuses_bad_streams(void)
{
    g_autofree char *uri = unix_uri("mig-bad.sock");
    g_autofree char *incoming = g_strdup_printf("--incoming=%s", uri);
    Devhost *dst = dh_start("bdst", incoming, "-S", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dst);
    g_autoptr(QObject) fresh = dh_states("bdst");

    /* Not a stream at all. */
    g_autofree char *r1 = send_raw(uri + 5, "hello", 5);
    CU_ASSERT_TRUE(g_str_has_prefix(r1, "{\"status\":\"failed\",\"error\":\"incoming migration: "
                                        "offset 0: "));
    /* A truncated stream. */
    Devhost *src = dh_start("bsrc", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(src);
    g_autofree char *file = dh_path("bsrc.mig");
    g_autofree char *exec = g_strdup_printf("exec:cat > %s", file);
    g_autoptr(QObject) q = migrate_wait(src, exec);
    ASSERT_STR_EQ(mig_status(q), "completed");
    g_autofree char *stream = NULL;
    gsize len = 0;
    CU_ASSERT_TRUE_FATAL(g_file_get_contents(file, &stream, &len, NULL));
    g_autofree char *r2 = send_raw(uri + 5, stream, len / 2);
    CU_ASSERT_TRUE(g_str_has_prefix(r2, "{\"status\":\"failed\",\"error\":\"incoming migration: "));
    /* A stream whose socket count is beyond the list's maximum. */
    g_autoptr(GBytes) bytes = g_bytes_new(stream, len);
    g_autoptr(GError) err = NULL;
    g_autoptr(QemuStream) edited = qemu_stream_parse(bytes, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_TRUE(qemu_stream_set(edited, "slirp.so_count", "300", &err));
    ASSERT_NO_ERROR(err);
    g_autoptr(GBytes) bad = qemu_stream_write(edited);
    g_autofree char *r3 = send_raw(uri + 5, g_bytes_get_data(bad, NULL), g_bytes_get_size(bad));
    ASSERT_STR_EQ(r3, "{\"status\":\"failed\",\"error\":\"incoming migration: device slirp0: "
                      "slirp.sockets: array length 300 exceeds the maximum 256\"}");
    /* Values the models' post_load checks refuse (their ticks would crash on them). */
    static const struct {
        const char *path, *value, *error;
    } hostile[] = {
        { "i8254.channels[0].count", "0",
          "device pit0: i8254.channels[0].count: 0 out of range (1 to 65536)" },
        { "serial.serial/recv_fifo.recv_fifo.head", "200", "device serial0: serial.recv_fifo: "
                                                           "head 200 and num " },
        { "virtio-blk.num_queues", "0",
          "device virtio-blk0: virtio-blk.num_queues: value 0 in the input differs from the "
          "current value 2" },
        { "virtio-blk.capacity", "0",
          "device virtio-blk0: virtio-blk.capacity: 0 out of range (at least 1 sector)" },
        { "apic.count_shift", "40", "device apic0: apic.count_shift: 40 out of range (0 to 7)" },
        { "mc146818rtc.base_rtc", "-5", "device rtc0: mc146818rtc: base_rtc -5 or last_update " },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(hostile); i++) {
        g_autoptr(QemuStream) s = qemu_stream_parse(bytes, &err);
        ASSERT_NO_ERROR(err);
        CU_ASSERT_TRUE(qemu_stream_set(s, hostile[i].path, hostile[i].value, &err));
        ASSERT_NO_ERROR(err);
        g_autoptr(GBytes) b = qemu_stream_write(s);
        g_autofree char *r = send_raw(uri + 5, g_bytes_get_data(b, NULL), g_bytes_get_size(b));
        g_autofree char *want = g_strdup_printf(
            "{\"status\":\"failed\",\"error\":\"incoming migration: %s", hostile[i].error);
        if (!g_str_has_prefix(r, want)) {
            fprintf(stderr, "\n%s\n%s\n", r, want);
        }
        CU_ASSERT_TRUE(g_str_has_prefix(r, want));
    }
    CU_ASSERT_EQUAL(dh_stop(src), 0);
    assert_status(dst, "inmigrate");
    g_autoptr(QObject) still = dh_states("bdst");
    CU_ASSERT_TRUE(dh_states_equal(fresh, still));

    /* More devices than the destination has, and fewer. */
    static const struct {
        const char *devices;
        const char *error;
    } cases[] = {
        { "--devices=serial:3", "section 'serial' (instance 2): no such device on this host" },
        { "--devices=serial:2", "incoming migration: device rtc0 (section 'mc146818rtc', "
                                "instance 0) is missing from the stream" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        Devhost *s = dh_start("bsrc2", cases[i].devices, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        g_autoptr(QObject) q2 = migrate_wait(s, uri);
        ASSERT_STR_EQ(mig_status(q2), "failed");
        CU_ASSERT_TRUE(g_str_has_suffix(mig_error(q2), cases[i].error));
        if (!g_str_has_suffix(mig_error(q2), cases[i].error)) {
            fprintf(stderr, "\n%s\n", mig_error(q2));
        }
        assert_status(s, "running");
        CU_ASSERT_EQUAL(dh_stop(s), 0);
    }
    g_autoptr(QObject) still2 = dh_states("bdst");
    CU_ASSERT_TRUE(dh_states_equal(fresh, still2));

    /* After all that, a good source gets in. */
    Devhost *good = dh_start("bsrc3", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(good);
    g_autoptr(QObject) q3 = migrate_wait(good, uri);
    ASSERT_STR_EQ(mig_status(q3), "completed");
    g_autoptr(QObject) a = dh_states("bsrc3");
    g_autoptr(QObject) b = dh_states("bdst");
    CU_ASSERT_TRUE(dh_states_equal(a, b));
    CU_ASSERT_EQUAL(dh_stop(good), 0);
    CU_ASSERT_EQUAL(dh_stop(dst), 0);
}

/* A host of 1,000 devices starts, and migrates all of them. */
static void test_thousand_devices(void)
{
    g_autofree char *uri = unix_uri("mig-1000.sock");
    g_autofree char *incoming = g_strdup_printf("--incoming=%s", uri);
    Devhost *src = dh_start("ksrc1000", "--devices=serial:1000", NULL);
    Devhost *dst = dh_start("kdst1000", "--devices=serial:1000", incoming, "-S", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(src);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dst);
    g_autoptr(QObject) q = migrate_wait(src, uri);
    ASSERT_STR_EQ(mig_status(q), "completed");
    uint64_t devices = 0;
    qnum_get_uint(qdict_get(qdict_get(q, "device-state"), "devices"), &devices);
    CU_ASSERT_EQUAL(devices, 1000);
    g_autoptr(QObject) a = dh_states("ksrc1000");
    g_autoptr(QObject) b = dh_states("kdst1000");
    CU_ASSERT_TRUE_FATAL(a && b);
    CU_ASSERT_EQUAL(qdict_size(b), 1000);
    CU_ASSERT_TRUE(qdict_haskey(b, "serial999"));
    CU_ASSERT_TRUE(dh_states_equal(a, b));
    CU_ASSERT_EQUAL(dh_stop(src), 0);
    CU_ASSERT_EQUAL(dh_stop(dst), 0);
}

static const CuTest migrate_tests[] = {
    { "unix: to a -S destination, field by field", test_unix_to_paused_destination },
    { "tcp: (port 0), and on to a third host", test_tcp },
    { "autostart, cont/stop while waiting", test_autostart },
    { "exec:cat > FILE, read by vmscope-view", test_exec_file },
    { "old source -> new destination", test_old_source_new_destination },
    { "new source -> old destination: refused", test_new_source_old_destination },
    { "destination not there", test_destination_not_there },
    { "destination killed mid-migration", test_destination_killed },
    { "migrate_cancel and quit during a migration", test_cancel_and_quit },
    { "destinations that refuse, babble, hang up", test_fake_destinations },
    { "incoming: bad streams refused, then a good one", test_incoming_refuses_bad_streams },
    { "1,000 devices", test_thousand_devices },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "devhost-migrate", migrate_tests },
    { NULL, NULL },
};

int main(int argc, char **argv)
{
    dh_init(argv[0]);
    view_binary = dh_build_path(argv[0], "viewers/vmscope-view");
    int rc = cutest_run(suites);
    dh_cleanup();
    g_free(view_binary);
    return rc;
}

/*
 * vmscope-agent --qemu-dir DIR, with vmscope-devhost standing in for QEMU
 * (its QMP monitor answers query-status and query-migrate as QEMU's does):
 * a socket put in DIR is listed as a QEMU host named after the file, a
 * migration it fails is counted, and when the socket goes the host goes,
 * with HOST_LOST; files that are not sockets and sockets whose names are
 * not host names are passed over.
 */
#include "config.h"

#include <glib/gstdio.h>

#include "../unit/cutest.h"
#include "agent-test-util.h"
#include "devhost-test-util.h"
#include "vmscope/address.h"

static const char *argv0;

static uint64_t failed_migrations(QmpClient *c)
{
    g_autoptr(QObject) stats = NULL;
    uint64_t n = UINT64_MAX;
    if (qmp_client_execute(c, "query-agent-stats", NULL, &stats, NULL)) {
        qnum_get_uint(qdict_get(stats, "qemu-migrations-failed"), &n);
    }
    return n;
}

static void test_qemu_dir(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *top = g_dir_make_tmp("vmscope-qemu-dir-XXXXXX", &err);
    ASSERT_NO_ERROR(err);
    g_autofree char *qdir = g_build_filename(top, "qemu", NULL);
    g_autofree char *shm = g_build_filename(top, "shm", NULL);
    CU_ASSERT_EQUAL_FATAL(g_mkdir(qdir, 0700), 0);
    CU_ASSERT_EQUAL_FATAL(g_mkdir(shm, 0700), 0);

    /* Passed over: a plain file, and a socket whose name is no host name. */
    g_autofree char *notes = g_build_filename(qdir, "notes.txt", NULL);
    CU_ASSERT_TRUE(g_file_set_contents(notes, "not a monitor\n", -1, NULL));
    g_autofree char *bad = g_strdup_printf("unix:%s/bad name", qdir);
    GSocket *bad_sock = address_listen("test", bad, NULL, &err);
    ASSERT_NO_ERROR(err);

    const char *extra[] = { "--qemu-dir", qdir, NULL };
    g_autofree char *address = NULL;
    Child *agent = agent_start_args(argv0, shm, extra, &address);
    CU_ASSERT_PTR_NOT_NULL_FATAL(agent);
    g_autoptr(QmpClient) c = qmp_client_connect(address, 10000, &err);
    ASSERT_NO_ERROR(err);
    g_autofree char *none = agent_wait_hosts(c, NULL);
    ASSERT_STR_EQ(none, "[]");

    /* A monitor socket appears: the host "vm1". */
    g_autofree char *mon = g_strdup_printf("--qmp=unix:%s/vm1", qdir);
    Devhost *vm = dh_start("vm1", mon, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(vm);
    /* A devhost is no QEMU: no memory-backend to learn descriptions from (qemu-host.h). */
    g_autofree char *listed = agent_wait_hosts(c, "\"reason\": ");
    g_autofree char *want = g_strdup_printf(
        "[{\"name\": \"vm1\", \"kind\": \"qemu\", \"pid\": 0, \"alive\": true, "
        "\"qmp\": \"unix:%s/vm1\", \"status\": \"running\", \"devices\": 0, "
        "\"generation\": 0, \"reason\": \"no descriptions: the guest RAM is not shared "
        "(memory-backend with share=on), so learning them takes a migration of all of it; "
        "give --qemu-desc vm1=FILE or --qemu-learn-with-ram\"}]", qdir);
    ASSERT_STR_EQ(listed, want);
    CU_ASSERT_EQUAL(failed_migrations(c), 0);

    /* A migration that fails is counted once. */
    g_autoptr(QObject) margs = NULL;
    const char *uri = "{\"uri\": \"unix:/nonexistent/vmscope-test.sock\"}";
    CU_ASSERT_TRUE(qobject_from_json(uri, strlen(uri), &margs, NULL));
    qmp_client_execute(vm->client, "migrate", margs, NULL, NULL);
    uint64_t failed = 0;
    for (int i = 0; i < 100 && (failed = failed_migrations(c)) == 0; i++) {
        g_usleep(50000);
    }
    CU_ASSERT_EQUAL(failed, 1);

    /* The socket goes (the monitor's owner exits): HOST_LOST, and no longer listed. */
    CU_ASSERT_EQUAL(dh_stop(vm), 0);
    g_autoptr(QObject) ev = qmp_client_wait_event(c, "HOST_LOST", 10000, &err);
    ASSERT_NO_ERROR(err);
    g_autofree char *data = qmp_json_format(qdict_get(ev, "data"));
    CU_ASSERT_PTR_NOT_NULL(data && strstr(data, "{\"host\": \"vm1\", \"reason\": "));
    g_autofree char *gone = agent_wait_hosts(c, NULL);
    ASSERT_STR_EQ(gone, "[]");
    /* Counted failures stay when their host goes (a counter never goes down). */
    CU_ASSERT_EQUAL(failed_migrations(c), 1);

    /* And it comes back with a new socket of the same name. */
    Devhost *again = dh_start("vm1", mon, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(again);
    g_autofree char *back = agent_wait_hosts(c, "\"reason\": ");
    ASSERT_STR_EQ(back, want);
    CU_ASSERT_EQUAL(dh_stop(again), 0);

    g_clear_pointer(&c, qmp_client_free);
    CU_ASSERT_EQUAL(agent_stop(agent), 0);
    child_free(agent);
    address_listener_close(bad_sock);
    g_unlink(notes);
    g_rmdir(qdir);
    g_rmdir(shm);
    g_rmdir(top);
}

static void test_not_a_directory(void)
{
    g_autofree char *prog = build_path(argv0, "agent/vmscope-agent");
    const char *argv[] = { prog, "--no-http", "--qemu-dir", "/nonexistent/qemu", NULL };
    g_autoptr(GError) err = NULL;
    g_autoptr(GSubprocess) p = g_subprocess_newv(argv, G_SUBPROCESS_FLAGS_STDERR_PIPE, &err);
    ASSERT_NO_ERROR(err);
    g_autofree char *errout = NULL;
    CU_ASSERT_TRUE(g_subprocess_communicate_utf8(p, NULL, NULL, NULL, &errout, &err));
    CU_ASSERT_EQUAL(g_subprocess_get_exit_status(p), 1);
    ASSERT_STR_EQ(errout, "vmscope-agent: --qemu-dir /nonexistent/qemu: not a directory\n");
}

static const CuTest tests[] = {
    { "sockets come and go", test_qemu_dir },
    { "not a directory", test_not_a_directory },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "agent --qemu-dir", tests },
    { NULL, NULL },
};

int main(int argc, char **argv)
{
    argv0 = argv[0];
    signal(SIGPIPE, SIG_IGN);
    dh_init(argv0);
    int status = cutest_run(suites);
    dh_cleanup();
    return status;
}

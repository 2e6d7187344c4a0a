/*
 * vmscope-agent --qemu NAME=unix:PATH against a real QEMU (slow: starts
 * qemu-system-x86_64): the QEMU is listed as a host of kind "qemu" with its
 * run state, follows `stop` given on another monitor (the agent holds its
 * own), says why it cannot read the state of a machine without shared RAM,
 * and gives HOST_LOST when it quits.  (Device state: agent-qemu-live.py.)  Skips (77) without QEMU ($QEMU).
 */
#include "config.h"

#include <signal.h>
#include <glib/gstdio.h>

#include "../unit/cutest.h"
#include "agent-test-util.h"
#include "bridge/qmp-client.h"
#include "bridge/qmp-json.h"

static const char *argv0;
static const char *qemu;

static void test_qemu_host(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("vmscope-agent-qemu-XXXXXX", &err);
    ASSERT_NO_ERROR(err);
    g_autofree char *sock = g_strdup_printf("%s/q.qmp", dir);
    g_autofree char *qmp_opt = g_strdup_printf("unix:%s,server=on,wait=off", sock);
    g_autofree char *user = g_strdup_printf("%s/user.qmp", dir);
    g_autofree char *user_opt = g_strdup_printf("unix:%s,server=on,wait=off", user);
    const char *qargv[] = { qemu, "-machine", "none", "-nodefaults", "-display", "none",
                            "-qmp", qmp_opt, "-qmp", user_opt, NULL };
    Child *q = child_start(qargv, false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);

    g_autofree char *qemu_opt = g_strdup_printf("q1=unix:%s", sock);
    const char *extra[] = { "--qemu", qemu_opt, NULL };
    g_autofree char *address = NULL;
    Child *agent = agent_start_args(argv0, dir, extra, &address);
    CU_ASSERT_PTR_NOT_NULL_FATAL(agent);
    g_autoptr(QmpClient) c = qmp_client_connect(address, 10000, &err);
    ASSERT_NO_ERROR(err);

    g_autofree char *running = agent_wait_hosts(c, "\"reason\": ");
    g_autofree char *want = g_strdup_printf(
        "[{\"name\": \"q1\", \"kind\": \"qemu\", \"pid\": 0, \"alive\": true, "
        "\"qmp\": \"unix:%s\", \"status\": \"running\", \"devices\": 0, \"generation\": 0, "
        "\"reason\": \"no descriptions: the guest RAM is not shared (memory-backend with "
        "share=on), so learning them takes a migration of all of it; give --qemu-desc "
        "q1=FILE or --qemu-learn-with-ram\"}]", sock);
    ASSERT_STR_EQ(running, want);

    /* The test's own monitor: the agent keeps its own connected. */
    g_autofree char *qaddr = g_strdup_printf("unix:%s", user);
    g_autoptr(QmpClient) qc = qmp_client_connect(qaddr, 10000, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_TRUE(qmp_client_execute(qc, "stop", NULL, NULL, &err));
    ASSERT_NO_ERROR(err);
    g_clear_pointer(&qc, qmp_client_free);
    g_autofree char *paused = agent_wait_hosts(c, "\"status\": \"paused\"");
    CU_ASSERT_PTR_NOT_NULL(paused && strstr(paused, "\"status\": \"paused\""));

    g_autoptr(QObject) stats = NULL;
    CU_ASSERT_TRUE(qmp_client_execute(c, "query-agent-stats", NULL, &stats, &err));
    uint64_t hosts = 0;
    CU_ASSERT_TRUE(qnum_get_uint(qdict_get(stats, "hosts"), &hosts) && hosts == 1);

    /* QEMU goes away: HOST_LOST with the connection error. */
    child_signal(q, SIGTERM);
    CU_ASSERT_TRUE(child_wait(q) >= 0);
    child_free(q);
    g_autoptr(QObject) ev = qmp_client_wait_event(c, "HOST_LOST", 10000, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ev);
    QObject *data = qdict_get(ev, "data");
    ASSERT_STR_EQ(qdict_get_str(data, "host"), "q1");
    g_autofree char *prefix = g_strdup_printf("QMP unix:%s: ", sock);
    CU_ASSERT_TRUE(g_str_has_prefix(qdict_get_str(data, "reason"), prefix));
    g_autofree char *gone = agent_wait_hosts(c, "\"alive\": false");
    CU_ASSERT_PTR_NOT_NULL(gone && strstr(gone, "\"error\": \"QMP unix:"));

    qmp_client_free(g_steal_pointer(&c));
    CU_ASSERT_EQUAL(agent_stop(agent), 0);
    child_free(agent);
    g_unlink(sock);
    g_unlink(user);
    CU_ASSERT_EQUAL(g_rmdir(dir), 0);
}

static const CuTest tests[] = {
    { "a QEMU as a host", test_qemu_host },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "agent --qemu", tests },
    { NULL, NULL },
};

int main(int argc, char **argv)
{
    argv0 = argv[0];
    qemu = g_getenv("QEMU");
    if (!qemu || !*qemu || !g_file_test(qemu, G_FILE_TEST_IS_EXECUTABLE)) {
        printf("SKIP: no QEMU (qemu-system-x86_64; $QEMU is empty)\n");
        return 77;
    }
    signal(SIGPIPE, SIG_IGN);
    alarm(120);
    return cutest_run(suites);
}

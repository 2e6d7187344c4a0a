/*
 * A destination started with -S holds exactly the source's state, field by
 * field, as vmscope-agent shows it: every device of both hosts asked with
 * query-device-state and compared.  Before the migration the agent shows
 * the waiting destination's devices in their initial state; the load
 * replaces each in one update.  Skips (77) when there is no agent in the
 * build tree (VMSCOPE_AGENT names another binary).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "../unit/cutest.h"
#include "devhost-test-util.h"

static char *agent_binary;
static GSubprocess *agent;
static char *agent_qmp;

static bool agent_start(void)
{
    agent = dh_agent_start(agent_binary, &agent_qmp);
    return agent != NULL;
}

static void agent_stop(void)
{
    dh_agent_stop(&agent);
    g_clear_pointer(&agent_qmp, g_free);
}

/* query-device-state of /host/id through the agent: the whole answer. */
static QObject *agent_state(QmpClient *c, const char *host, const char *id)
{
    g_autofree char *path = g_strdup_printf("/%s/%s", host, id);
    g_autoptr(QObject) args = qdict_new();
    qdict_put(args, "path", qstring_from_str(path));
    QObject *ret = NULL;
    g_autoptr(GError) err = NULL;
    if (!qmp_client_execute(c, "query-device-state", args, &ret, &err)) {
        fprintf(stderr, "\nquery-device-state %s: %s\n", path, err->message);
        return NULL;
    }
    return ret;
}

static void test_paused_destination_through_agent(void)
{
    g_autofree char *sock = dh_path("agent-mig.sock");
    g_autofree char *uri = g_strdup_printf("unix:%s", sock);
    g_autofree char *incoming = g_strdup_printf("--incoming=%s", uri);
    Devhost *src = dh_start("asrc", NULL);
    Devhost *dst = dh_start("adst", incoming, "-S", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(src);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dst);
    /* Let the socket list grow. */
    for (int i = 0; i < 500 && dh_state_int("asrc", "slirp0", "so_count") < 3; i++) {
        g_usleep(10000);
    }
    g_autoptr(GError) err = NULL;
    g_autoptr(QmpClient) c = qmp_client_connect(agent_qmp, 10000, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);

    /* The waiting destination shows its devices, initialised once, never ticked. */
    g_autoptr(QObject) waiting = NULL;
    for (int k = 0; k < 200 && !waiting; k++) {
        waiting = agent_state(c, "adst", "serial1");
        if (!waiting) {
            g_usleep(20000);
        }
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(waiting);
    g_autofree char *gen0 = qobject_to_json(qdict_get(waiting, "generation"), false);
    ASSERT_STR_EQ(gen0, "1");

    g_autofree char *args = g_strdup_printf("{\"uri\": \"%s\"}", uri);
    g_autoptr(QObject) r = dh_qmp(src, "migrate", args, &err);
    ASSERT_NO_ERROR(err);
    g_autoptr(QObject) q = dh_wait_migration(src);
    ASSERT_STR_EQ(q ? qdict_get_str(q, "status") : "(none)", "completed");

    static const char *const ids[] = {
        "rtc0", "serial0", "serial1", "pit0", "virtio-blk0", "apic0", "kvm-apic0", "slirp0",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(ids); i++) {
        g_autoptr(QObject) a = NULL, b = NULL;
        /* The agent may not have seen the hosts yet: it polls. */
        for (int k = 0; k < 200 && !(a && b); k++) {
            qobject_unref(a);
            qobject_unref(b);
            a = agent_state(c, "asrc", ids[i]);
            b = agent_state(c, "adst", ids[i]);
            if (!(a && b)) {
                g_usleep(20000);
            }
        }
        CU_ASSERT_TRUE_FATAL(a && b);
        static const char *const same[] = { "type", "instance-id", "version-id", "state" };
        for (size_t k = 0; k < G_N_ELEMENTS(same); k++) {
            QObject *va = qdict_get(a, same[k]), *vb = qdict_get(b, same[k]);
            bool eq = va && vb && qobject_equal(va, vb);
            if (!eq) {
                g_autofree char *ja = va ? qobject_to_json(va, false) : NULL;
                g_autofree char *jb = vb ? qobject_to_json(vb, false) : NULL;
                fprintf(stderr, "\n%s.%s differs:\n  %s\n  %s\n", ids[i], same[k], ja, jb);
            }
            CU_ASSERT_TRUE(eq);
        }
        /* The load replaced each state in one update. */
        g_autofree char *gen = qobject_to_json(qdict_get(b, "generation"), false);
        ASSERT_STR_EQ(gen, "2");
        if (strcmp(ids[i], "slirp0") == 0) {
            QObject *socks = qdict_get(qdict_get(b, "state"), "sockets");
            CU_ASSERT_TRUE(socks && qlist_size(socks) >= 3);
        }
    }
    CU_ASSERT_EQUAL(dh_stop(src), 0);
    CU_ASSERT_EQUAL(dh_stop(dst), 0);
}

static const CuTest agent_tests[] = {
    { "-S destination == source, through the agent", test_paused_destination_through_agent },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "devhost-agent", agent_tests },
    { NULL, NULL },
};

int main(int argc, char **argv)
{
    dh_init(argv[0]);
    const char *env = g_getenv("VMSCOPE_AGENT");
    agent_binary = env ? g_strdup(env) : dh_build_path(argv[0], "agent/vmscope-agent");
    if (!g_file_test(agent_binary, G_FILE_TEST_IS_EXECUTABLE)) {
        printf("SKIP: no vmscope-agent at %s\n", agent_binary);
        g_free(agent_binary);
        dh_cleanup();
        return 77;
    }
    if (!agent_start()) {
        agent_stop();
        dh_cleanup();
        return 1;
    }
    int rc = cutest_run(suites);
    agent_stop();
    dh_cleanup();
    g_free(agent_binary);
    return rc;
}

/*
 * The CUnit fixture the agent's integration tests share: a temporary
 * directory (also the agent's shm dir), a running vmscope-agent, and a
 * negotiated QMP client.  Include after cutest.h and agent-test-util.h.
 */
#ifndef VMSCOPE_TESTS_AGENT_FIXTURE_H
#define VMSCOPE_TESTS_AGENT_FIXTURE_H

#include <glib/gstdio.h>

#include "bridge/qmp-client.h"

typedef struct Fix {
    char *dir;
    Child *agent;
    char *address;
    QmpClient *qmp;
} Fix;

static inline void fix_setup(Fix *f, const char *argv0)
{
    g_autoptr(GError) err = NULL;
    memset(f, 0, sizeof(*f));
    f->dir = g_dir_make_tmp("vmscope-agent-test-XXXXXX", &err);
    ASSERT_NO_ERROR(err);
    f->agent = agent_start(argv0, f->dir, &f->address);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f->agent);
    f->qmp = qmp_client_connect(f->address, 10000, &err);
    ASSERT_NO_ERROR(err);
}

/* Remove the (flat) directory dir and what is in it. */
static inline void remove_tree(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d)) != NULL) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        g_unlink(path);
    }
    if (d) {
        g_dir_close(d);
    }
    CU_ASSERT_EQUAL(g_rmdir(dir), 0);
}

static inline void fix_teardown(Fix *f)
{
    qmp_client_free(f->qmp);
    CU_ASSERT_EQUAL(agent_stop(f->agent), 0);
    child_free(f->agent);
    /* The agent removed its socket; nothing else of it is left. */
    g_autofree char *sock = g_build_filename(f->dir, "agent.qmp", NULL);
    CU_ASSERT_FALSE(g_file_test(sock, G_FILE_TEST_EXISTS));
    remove_tree(f->dir);
    g_free(f->dir);
    g_free(f->address);
}

#endif

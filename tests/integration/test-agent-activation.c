/*
 * vmscope-agent started as systemd starts it from vmscope-agent.socket:
 * listening sockets as descriptors 3, 4, ... with LISTEN_FDS and
 * LISTEN_PID (sd_listen_fds(3)).  The agent serves QMP and HTTP on the
 * sockets it was given (it binds nothing itself: the addresses are taken),
 * leaves their socket files in place when it exits, and refuses to start
 * when a passed socket is not one its flags name, or not a listening
 * socket at all, before binding anything.
 */
#include "config.h"

#include <sys/stat.h>
#include <glib/gstdio.h>

#include "../unit/cutest.h"
#include "agent-test-util.h"
#include "http-test-util.h"
#include "vmscope/address.h"

static const char *argv0;

typedef struct Run {
    GSubprocess *proc;
    GDataInputStream *out;
} Run;

/*
 * Start the agent with fds passed as 3, 4, ...: through sh, whose exec
 * keeps the process id that LISTEN_PID must name.
 */
static Run start_activated(const int *fds, int n, const char *const *args)
{
    g_autofree char *prog = build_path(argv0, "agent/vmscope-agent");
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    const char *head[] = { "/bin/sh", "-c", "LISTEN_PID=$$ exec \"$0\" \"$@\"", prog };
    for (size_t i = 0; i < G_N_ELEMENTS(head); i++) {
        g_ptr_array_add(argv, (gpointer)head[i]);
    }
    for (const char *const *a = args; *a; a++) {
        g_ptr_array_add(argv, (gpointer)*a);
    }
    g_ptr_array_add(argv, NULL);
    g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new(
        G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
    g_subprocess_launcher_set_child_setup(l, child_setup, NULL, NULL);
    for (int i = 0; i < n; i++) {
        g_subprocess_launcher_take_fd(l, dup(fds[i]), 3 + i);
    }
    g_autofree char *count = g_strdup_printf("%d", n);
    g_subprocess_launcher_setenv(l, "LISTEN_FDS", count, TRUE);
    g_autoptr(GError) err = NULL;
    Run r = { g_subprocess_launcher_spawnv(l, (const char *const *)argv->pdata, &err), NULL };
    ASSERT_NO_ERROR(err);
    r.out = g_data_input_stream_new(g_subprocess_get_stdout_pipe(r.proc));
    return r;
}

static char *read_line(Run *r)
{
    return g_data_input_stream_read_line(r->out, NULL, NULL, NULL);
}

/* Wait for it to exit; its status, *errout what it said on stderr. */
static int finish(Run *r, char **errout)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GBytes) errb = NULL;
    CU_ASSERT_TRUE(g_subprocess_communicate(r->proc, NULL, NULL, NULL, &errb, &err));
    ASSERT_NO_ERROR(err);
    gsize size = 0;
    const char *data = errb ? g_bytes_get_data(errb, &size) : NULL;
    *errout = g_strndup(data ? data : "", size);
    int status = g_subprocess_get_if_exited(r->proc) ? g_subprocess_get_exit_status(r->proc) : -1;
    g_object_unref(r->out);
    g_object_unref(r->proc);
    return status;
}

static void test_serves_passed_sockets(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("vmscope-activation-XXXXXX", &err);
    ASSERT_NO_ERROR(err);
    g_autofree char *qmp = g_strdup_printf("unix:%s/agent.qmp", dir);
    g_autofree char *tcp = NULL;
    GSocket *qmp_sock = address_listen("test", qmp, NULL, &err);
    ASSERT_NO_ERROR(err);
    GSocket *http_sock = address_listen("test", "tcp:127.0.0.1:0", &tcp, &err);
    ASSERT_NO_ERROR(err);
    const char *http = tcp + strlen("tcp:");

    int fds[] = { g_socket_get_fd(qmp_sock), g_socket_get_fd(http_sock) };
    const char *args[] = { "--shm-dir", dir, "--qmp", qmp, "--http", http, NULL };
    Run r = start_activated(fds, 2, args);
    g_autofree char *l1 = read_line(&r), *l2 = read_line(&r);
    g_autofree char *want1 = g_strdup_printf("qmp: listening on %s", qmp);
    g_autofree char *want2 = g_strdup_printf("http: listening on http://%s/", http);
    ASSERT_STR_EQ(l1, want1);
    ASSERT_STR_EQ(l2, want2);

    g_autoptr(QmpClient) c = qmp_client_connect(qmp, 10000, &err);
    ASSERT_NO_ERROR(err);
    g_autoptr(QObject) hosts = NULL;
    CU_ASSERT_TRUE(qmp_client_execute(c, "query-hosts", NULL, &hosts, &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(qlist_size(hosts), 0);
    g_clear_pointer(&c, qmp_client_free);

    int port = atoi(strrchr(http, ':') + 1);
    HtReply *reply = ht_get(port, "/api/hosts");
    CU_ASSERT_PTR_NOT_NULL_FATAL(reply);
    CU_ASSERT_EQUAL(reply->status, 200);
    ASSERT_STR_EQ(reply->body->str, "[]\n");
    ht_reply_free(reply);

    g_subprocess_send_signal(r.proc, SIGTERM);
    g_autofree char *errout = NULL;
    CU_ASSERT_EQUAL(finish(&r, &errout), 0);
    ASSERT_STR_EQ(errout, "");
    /* The socket file is systemd's (here: ours): the agent leaves it. */
    g_autofree char *path = g_strdup(qmp + strlen("unix:"));
    CU_ASSERT_TRUE(g_file_test(path, G_FILE_TEST_EXISTS));

    address_listener_close(qmp_sock);
    address_listener_close(http_sock);
    CU_ASSERT_EQUAL(g_rmdir(dir), 0);
}

static void test_refuses_unnamed_socket(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("vmscope-activation-XXXXXX", &err);
    ASSERT_NO_ERROR(err);
    g_autofree char *other = g_strdup_printf("unix:%s/other.qmp", dir);
    g_autofree char *qmp = g_strdup_printf("unix:%s/agent.qmp", dir);
    GSocket *sock = address_listen("test", other, NULL, &err);
    ASSERT_NO_ERROR(err);

    int fds[] = { g_socket_get_fd(sock) };
    const char *args[] = { "--shm-dir", dir, "--qmp", qmp, "--no-http", NULL };
    Run r = start_activated(fds, 1, args);
    g_autofree char *line = read_line(&r);
    CU_ASSERT_PTR_NULL(line);
    g_autofree char *errout = NULL;
    CU_ASSERT_EQUAL(finish(&r, &errout), 1);
    g_autofree char *want = g_strdup_printf(
        "vmscope-agent: systemd passed a socket on %s that no --qmp or --http names\n", other);
    ASSERT_STR_EQ(errout, want);
    /* Nothing was bound. */
    g_autofree char *path = g_strdup(qmp + strlen("unix:"));
    CU_ASSERT_FALSE(g_file_test(path, G_FILE_TEST_EXISTS));

    address_listener_close(sock);
    CU_ASSERT_EQUAL(g_rmdir(dir), 0);
}

static void test_refuses_non_socket(void)
{
    int pipefd[2];
    CU_ASSERT_EQUAL_FATAL(pipe(pipefd), 0);
    const char *args[] = { "--no-http", "--qmp", "unix:/nonexistent/agent.qmp", NULL };
    Run r = start_activated(pipefd, 1, args);
    g_autofree char *errout = NULL;
    CU_ASSERT_EQUAL(finish(&r, &errout), 1);
    ASSERT_STR_EQ(errout, "vmscope-agent: systemd's socket (descriptor 3): "
                          "not a listening stream socket\n");
    close(pipefd[0]);
    close(pipefd[1]);
}

static const CuTest tests[] = {
    { "serves the sockets systemd passed", test_serves_passed_sockets },
    { "refuses a socket no flag names", test_refuses_unnamed_socket },
    { "refuses what is not a listening socket", test_refuses_non_socket },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "agent socket activation", tests },
    { NULL, NULL },
};

int main(int argc, char **argv)
{
    argv0 = argv[0];
    signal(SIGPIPE, SIG_IGN);
    alarm(120);
    return cutest_run(suites);
}

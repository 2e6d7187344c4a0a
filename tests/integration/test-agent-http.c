/*
 * The agent's HTTP API against its QMP twin, on a live device host: a real
 * vmscope-devhost (started frozen, -S, in a segment directory of its own)
 * and a real vmscope-agent.  Every endpoint's JSON must be the QMP
 * command's, byte for byte; errors must carry QMP's class and text; the
 * event stream must carry the very DEVICE_STATE_CHANGED and HOST_LOST
 * events QMP clients get; /metrics must agree with query-agent-stats; the
 * dashboard must be served.  Skips (77) when the agent or the device host
 * is not built (VMSCOPE_AGENT / VMSCOPE_DEVHOST name other binaries).
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <errno.h>
#include <glib/gstdio.h>

#include "../unit/cutest.h"
#include "bridge/qmp-client.h"
#include "bridge/qmp-json.h"
#include "http-test-util.h"

static char *tmpdir;
static char *shmdir;
static char *host;
static char *dashboard;
static GSubprocess *devhost;
static GSubprocess *agent;
static char *devhost_qmp;
static char *agent_qmp;
static int port;

static QObject *json(const char *text)
{
    QObject *v = NULL;
    g_autoptr(GError) err = NULL;
    if (!qobject_from_json(text, strlen(text), &v, &err)) {
        fprintf(stderr, "bad test JSON: %s\n", err->message);
    }
    return v;
}

static QmpClient *connect_agent(void)
{
    g_autoptr(GError) err = NULL;
    QmpClient *c = qmp_client_connect(agent_qmp, 10000, &err);
    ASSERT_NO_ERROR(err);
    return c;
}

/* The body QMP's answer would be over HTTP: the JSON as QMP writes it, and a newline. */
static char *as_body(const QObject *v)
{
    g_autofree char *text = qmp_json_format(v);
    return g_strconcat(text, "\n", NULL);
}

static void check_get(QmpClient *qmp, const char *path, const char *command, QObject *args)
{
    g_autoptr(HtReply) r = ht_get(port, path);
    g_autoptr(QObject) ret = NULL;
    g_autoptr(GError) err = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    if (r->status != 200) {
        fprintf(stderr, "\nGET %s: %d %s\n", path, r->status, r->body->str);
    }
    CU_ASSERT_EQUAL(r->status, 200);
    ASSERT_STR_EQ(ht_header(r, "Content-Type"), "application/json");
    CU_ASSERT_TRUE(qmp_client_execute(qmp, command, args, &ret, &err));
    ASSERT_NO_ERROR(err);
    g_autofree char *want = as_body(ret);
    ASSERT_STR_EQ(r->body->str, want);
}

static void test_endpoints_same_as_qmp(void)
{
    g_autoptr(QmpClient) qmp = connect_agent();
    CU_ASSERT_PTR_NOT_NULL_FATAL(qmp);
    check_get(qmp, "/api/hosts", "query-hosts", NULL);
    check_get(qmp, "/api/devices", "query-devices", NULL);

    g_autoptr(QObject) devices = NULL;
    g_autoptr(GError) err = NULL;
    CU_ASSERT_TRUE_FATAL(qmp_client_execute(qmp, "query-devices", NULL, &devices, &err));
    CU_ASSERT_TRUE(qlist_size(devices) >= 8);
    for (size_t i = 0; i < qlist_size(devices); i++) {
        const char *dev = qdict_get_str(qlist_get(devices, i), "path");
        g_autofree char *state = g_strdup_printf("/api/devices%s/state", dev);
        g_autofree char *state_json = g_strdup_printf("/api/devices%s/state?format=json", dev);
        g_autofree char *pretty = g_strdup_printf("/api/devices%s/state?format=pretty", dev);
        g_autofree char *schema = g_strdup_printf("/api/devices%s/schema", dev);
        g_autoptr(QObject) args = qdict_new();
        qdict_put(args, "path", qstring_from_str(dev));
        check_get(qmp, state, "query-device-state", args);
        check_get(qmp, schema, "query-device-schema", args);
        qdict_put(args, "format", qstring_from_str("json"));
        check_get(qmp, state_json, "query-device-state", args);

        /* Pretty: the "text" member, as text. */
        qdict_put(args, "format", qstring_from_str("pretty"));
        g_autoptr(QObject) ret = NULL;
        CU_ASSERT_TRUE(qmp_client_execute(qmp, "query-device-state", args, &ret, &err));
        ASSERT_NO_ERROR(err);
        g_autoptr(HtReply) r = ht_get(port, pretty);
        CU_ASSERT_EQUAL(r->status, 200);
        ASSERT_STR_EQ(ht_header(r, "Content-Type"), "text/plain; charset=utf-8");
        ASSERT_STR_EQ(r->body->str, qdict_get_str(ret, "text"));

        /* POST /api/qmp: the QMP response itself. */
        g_autofree char *req = g_strdup_printf("{\"execute\": \"query-device-state\", "
                                               "\"arguments\": {\"path\": \"%s\"}, \"id\": %zu}",
                                               dev, i);
        g_autoptr(HtReply) post = ht_qmp(port, req);
        g_autoptr(QObject) want = qdict_new();
        g_autoptr(QObject) plain = NULL;
        qdict_del(args, "format");
        CU_ASSERT_TRUE(qmp_client_execute(qmp, "query-device-state", args, &plain, &err));
        qdict_put(want, "return", qobject_ref(plain));
        qdict_put(want, "id", qnum_from_uint(i));
        g_autofree char *want_body = as_body(want);
        ASSERT_STR_EQ(post->body->str, want_body);
    }
}

/* An HTTP error body must carry QMP's class and text for the same request. */
static void check_error(QmpClient *qmp, const char *path, int status, const char *command,
                        const char *dev)
{
    g_autoptr(QObject) args = qdict_new();
    g_autoptr(GError) err = NULL;
    qdict_put(args, "path", qstring_from_str(dev));
    CU_ASSERT_FALSE(qmp_client_execute(qmp, command, args, NULL, &err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    g_autoptr(QObject) want = qmp_error_response(err);
    g_autofree char *want_body = as_body(want);

    g_autoptr(HtReply) r = ht_get(port, path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->status, status);
    ASSERT_STR_EQ(r->body->str, want_body);
}

static void test_errors_same_as_qmp(void)
{
    g_autoptr(QmpClient) qmp = connect_agent();
    g_autofree char *nodev = g_strdup_printf("/%s/nope", host);
    g_autofree char *nodev_url = g_strdup_printf("/api/devices/%s/nope/state", host);
    check_error(qmp, nodev_url, 404, "query-device-state", nodev);
    check_error(qmp, "/api/devices/no-such-host/rtc0/schema", 404, "query-device-schema",
                "/no-such-host/rtc0");
}

static void test_metrics_agree(void)
{
    g_autoptr(QmpClient) qmp = connect_agent();
    g_autoptr(QObject) stats = NULL;
    g_autoptr(GError) err = NULL;
    CU_ASSERT_TRUE_FATAL(qmp_client_execute(qmp, "query-agent-stats", NULL, &stats, &err));
    g_autoptr(HtReply) r = ht_get(port, "/metrics");
    CU_ASSERT_EQUAL(r->status, 200);
    static const char *const gauges[][2] = {
        { "hosts", "vmscope_hosts" },
        { "hosts-lost", "vmscope_hosts_lost" },
        { "devices", "vmscope_devices" },
        { "state-bytes", "vmscope_state_bytes" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(gauges); i++) {
        uint64_t v = 0;
        CU_ASSERT_TRUE(qnum_get_uint(qdict_get(stats, gauges[i][0]), &v));
        g_autofree char *line = g_strdup_printf("\n%s %" G_GUINT64_FORMAT "\n", gauges[i][1],
                                                (guint64)v);
        if (!strstr(r->body->str, line)) {
            fprintf(stderr, "\n/metrics lacks%s", line);
            CU_FAIL("a gauge differs from query-agent-stats");
        }
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(r->body->str, "\n# TYPE vmscope_snapshots_total counter\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r->body->str, "\n# TYPE vmscope_qmp_requests_total counter\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r->body->str, "vmscope_http_requests_total{code=\"200\",endpoint=\"state\"} "));
}

static void test_dashboard(void)
{
    g_autofree char *index = g_build_filename(dashboard, "index.html", NULL);
    g_autofree char *want = NULL;
    gsize len = 0;
    CU_ASSERT_TRUE_FATAL(g_file_get_contents(index, &want, &len, NULL));
    g_autoptr(HtReply) r = ht_get(port, "/");
    CU_ASSERT_EQUAL(r->status, 200);
    ASSERT_STR_EQ(ht_header(r, "Content-Type"), "text/html; charset=utf-8");
    CU_ASSERT_EQUAL(r->body->len, len);
    CU_ASSERT_TRUE(r->body->len == len && memcmp(r->body->str, want, len) == 0);
    g_autoptr(HtReply) js = ht_get(port, "/app.js");
    CU_ASSERT_EQUAL(js->status, 200);
    ASSERT_STR_EQ(ht_header(js, "Content-Type"), "text/javascript; charset=utf-8");
    g_autoptr(HtReply) css = ht_get(port, "/style.css");
    ASSERT_STR_EQ(ht_header(css, "Content-Type"), "text/css; charset=utf-8");
}

/* The next event called name on the stream whose data is about our host. */
static HtEvent *next_event(HtEvents *ev, const char *name)
{
    for (int i = 0; i < 1000; i++) {
        HtEvent *e = ht_events_next_data(ev, 10000);
        if (!e) {
            return NULL;
        }
        if (strcmp(e->name, name) == 0) {
            return e;
        }
        ht_event_free(e);
    }
    return NULL;
}

static void test_events(void)
{
    g_autoptr(QmpClient) qmp = connect_agent();
    g_autoptr(HtEvents) ev = ht_events_open(port, 0);
    g_autoptr(GError) err = NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(ev);
    CU_ASSERT_EQUAL(ev->head->status, 200);
    ASSERT_STR_EQ(ht_header(ev->head, "Content-Type"), "text/event-stream");
    g_autoptr(HtEvent) hello = ht_events_next(ev, 5000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(hello);

    /* Let the devices run. */
    g_autoptr(QmpClient) dh = qmp_client_connect(devhost_qmp, 10000, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_TRUE(qmp_client_execute(dh, "cont", NULL, NULL, &err));
    ASSERT_NO_ERROR(err);

    /* The first change seen over HTTP is the first one QMP clients got. */
    g_autoptr(HtEvent) changed = next_event(ev, "DEVICE_STATE_CHANGED");
    CU_ASSERT_PTR_NOT_NULL_FATAL(changed);
    g_autoptr(QObject) q = qmp_client_wait_event(qmp, "DEVICE_STATE_CHANGED", 10000, &err);
    ASSERT_NO_ERROR(err);
    g_autofree char *q_text = qmp_json_format(q);
    ASSERT_STR_EQ(changed->data, q_text);
    g_autoptr(QObject) data = json(changed->data);
    const char *path = qdict_get_str(qdict_get(data, "data"), "path");
    g_autofree char *prefix = g_strdup_printf("/%s/", host);
    CU_ASSERT_TRUE(path && g_str_has_prefix(path, prefix));
    CU_ASSERT_EQUAL(qobject_type(qdict_get(qdict_get(data, "data"), "changed")), QTYPE_LIST);

    /* The device host dies: HOST_LOST, and /api/hosts says so, as QMP does. */
    g_subprocess_send_signal(devhost, SIGKILL);
    g_subprocess_wait(devhost, NULL, NULL);
    g_autoptr(HtEvent) lost = next_event(ev, "HOST_LOST");
    CU_ASSERT_PTR_NOT_NULL_FATAL(lost);
    g_autoptr(QObject) lost_data = json(lost->data);
    ASSERT_STR_EQ(qdict_get_str(qdict_get(lost_data, "data"), "host"), host);
    g_autoptr(QObject) q_lost = qmp_client_wait_event(qmp, "HOST_LOST", 10000, &err);
    ASSERT_NO_ERROR(err);
    g_autofree char *q_lost_text = qmp_json_format(q_lost);
    ASSERT_STR_EQ(lost->data, q_lost_text);

    g_autoptr(HtReply) hosts = ht_get(port, "/api/hosts");
    g_autoptr(QObject) hl = ht_json(hosts);
    CU_ASSERT_EQUAL(qlist_size(hl), 1);
    QObject *alive = qdict_get(qlist_get(hl, 0), "alive");
    bool a = true;
    CU_ASSERT_TRUE(qbool_get(alive, &a) && !a);
    g_autoptr(QObject) hosts_q = NULL;
    CU_ASSERT_TRUE(qmp_client_execute(qmp, "query-hosts", NULL, &hosts_q, &err));
    g_autofree char *hosts_want = as_body(hosts_q);
    ASSERT_STR_EQ(hosts->body->str, hosts_want);
}

static const CuTest agent_tests[] = {
    { "endpoints_same_as_qmp", test_endpoints_same_as_qmp },
    { "errors_same_as_qmp", test_errors_same_as_qmp },
    { "metrics_agree", test_metrics_agree },
    { "dashboard", test_dashboard },
    { "events", test_events },      /* last: it lets the devices run, then kills the host */
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "agent-http", agent_tests },
    { NULL, NULL },
};

static char *find_program(const char *argv0, const char *env, const char *dir, const char *name)
{
    const char *given = g_getenv(env);
    if (given && *given) {
        return g_strdup(given);
    }
    g_autofree char *here = g_path_get_dirname(argv0);
    return g_build_filename(here, "..", "..", dir, name, NULL);
}

/* Read the child's stdout until a line starts with prefix; the rest of it. */
static char *read_until(GDataInputStream *out, const char *prefix)
{
    for (;;) {
        g_autofree char *line = g_data_input_stream_read_line(out, NULL, NULL, NULL);
        if (!line) {
            return NULL;
        }
        if (g_str_has_prefix(line, prefix)) {
            return g_strdup(line + strlen(prefix));
        }
    }
}

/* Read and drop the rest of a child's output, so that it never blocks writing it. */
static gpointer drain(gpointer data)
{
    GInputStream *in = data;
    char buf[4096];
    while (g_input_stream_read(in, buf, sizeof(buf), NULL, NULL) > 0) {
    }
    return NULL;
}

static void stop(GSubprocess *p)
{
    if (!p) {
        return;
    }
    g_subprocess_send_signal(p, SIGTERM);
    for (int i = 0; i < 1000 && g_subprocess_get_identifier(p); i++) {
        g_usleep(10000);
    }
    if (g_subprocess_get_identifier(p)) {
        g_subprocess_force_exit(p);
    }
    g_subprocess_wait(p, NULL, NULL);
}

static void remove_tree(const char *path)
{
    const char *argv[] = { "rm", "-rf", path, NULL };
    g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
}

int main(int argc, char **argv)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *agent_bin = find_program(argv[0], "VMSCOPE_AGENT", "agent", "vmscope-agent");
    g_autofree char *devhost_bin = find_program(argv[0], "VMSCOPE_DEVHOST", "devices",
                                                "vmscope-devhost");
    if (!g_file_test(agent_bin, G_FILE_TEST_IS_EXECUTABLE) ||
        !g_file_test(devhost_bin, G_FILE_TEST_IS_EXECUTABLE)) {
        printf("SKIP: vmscope-agent or vmscope-devhost not built\n");
        return 77;
    }
    const char *srcdir = g_getenv("top_srcdir");
    g_autofree char *here = g_path_get_dirname(argv[0]);
    dashboard = srcdir ? g_build_filename(srcdir, "viewers", "dashboard", NULL)
                       : g_build_filename(here, "..", "..", "viewers", "dashboard", NULL);

    tmpdir = g_dir_make_tmp("vmscope-agent-http-XXXXXX", &err);
    if (!tmpdir) {
        fprintf(stderr, "mkdtemp: %s\n", err->message);
        return 1;
    }
    shmdir = g_build_filename(tmpdir, "shm", NULL);
    g_mkdir(shmdir, 0700);
    host = g_strdup_printf("http-%d", (int)getpid());
    devhost_qmp = g_strdup_printf("unix:%s/devhost.qmp", tmpdir);
    agent_qmp = g_strdup_printf("unix:%s/agent.qmp", tmpdir);
    int rc = 1;
    GThread *drains[2] = { NULL, NULL };
    g_autoptr(GDataInputStream) dout = NULL;
    g_autoptr(GDataInputStream) aout = NULL;
    g_autoptr(GSubprocessLauncher) launcher = NULL;
    g_autofree char *dq = NULL;
    g_autofree char *url = NULL;
    bool listed = false;

    const char *dargv[] = { devhost_bin, "--name", host, "--shm-dir", shmdir, "--qmp",
                            devhost_qmp, "-S", NULL };
    devhost = g_subprocess_newv(dargv, G_SUBPROCESS_FLAGS_STDOUT_PIPE, &err);
    if (!devhost) {
        fprintf(stderr, "cannot start %s: %s\n", devhost_bin, err->message);
        goto out;
    }
    dout = g_data_input_stream_new(g_subprocess_get_stdout_pipe(devhost));
    dq = read_until(dout, "qmp: listening on ");
    if (!dq) {
        fprintf(stderr, "vmscope-devhost did not start\n");
        goto out;
    }
    drains[0] = g_thread_new("drain-devhost", drain, dout);

    launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE);
    g_subprocess_launcher_setenv(launcher, "VMSCOPE_DASHBOARD_DIR", dashboard, TRUE);
    agent = g_subprocess_launcher_spawn(launcher, &err, agent_bin, "--qmp", agent_qmp,
                                        "--http", "127.0.0.1:0", "--shm-dir", shmdir, NULL);
    if (!agent) {
        fprintf(stderr, "cannot start %s: %s\n", agent_bin, err->message);
        goto out;
    }
    aout = g_data_input_stream_new(g_subprocess_get_stdout_pipe(agent));
    url = read_until(aout, "http: listening on ");
    if (!url || !g_str_has_prefix(url, "http://127.0.0.1:")) {
        fprintf(stderr, "vmscope-agent did not print its HTTP address\n");
        goto out;
    }
    drains[1] = g_thread_new("drain-agent", drain, aout);
    port = atoi(url + strlen("http://127.0.0.1:"));

    /* Wait for the agent to list the host's devices. */
    for (int i = 0; i < 100 && !listed; i++) {
        g_autoptr(HtReply) r = ht_get(port, "/api/devices");
        g_autoptr(QObject) l = r && r->status == 200 ? ht_json(r) : NULL;
        listed = l && qlist_size(l) >= 8;
        if (!listed) {
            g_usleep(100000);
        }
    }
    if (!listed) {
        fprintf(stderr, "the agent did not list the devices of %s\n", host);
        goto out;
    }

    rc = cutest_run(suites);

out:
    stop(agent);
    stop(devhost);
    for (int i = 0; i < 2; i++) {
        if (drains[i]) {
            g_thread_join(drains[i]);
        }
    }
    g_clear_object(&agent);
    g_clear_object(&devhost);
    remove_tree(tmpdir);
    g_free(tmpdir);
    g_free(shmdir);
    g_free(host);
    g_free(dashboard);
    g_free(devhost_qmp);
    g_free(agent_qmp);
    return rc;
}

/*
 * /metrics as a real Prometheus sees it: start http-test-server (fixed
 * agent figures), start Debian's prometheus with a temporary configuration
 * and storage that scrapes it every second, then ask Prometheus's HTTP API
 * whether the target is up with no scrape error, and for series back by
 * value.  Skips (77) when prometheus is not installed; PROMETHEUS names
 * another binary.  Slow: Prometheus takes a few seconds to start.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <errno.h>
#include <glib/gstdio.h>

#include "../unit/cutest.h"
#include "http-test-util.h"

#define WAIT_S 60

static const char *prometheus;
static char *tmpdir;
static HtServer *srv;
static GSubprocess *prom;
static int prom_port;

/* A port free on 127.0.0.1 now. */
static int free_port(void)
{
    struct sockaddr_in sin = { .sin_family = AF_INET };
    socklen_t len = sizeof(sin);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int port = -1;
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sin, &len) == 0) {
        port = ntohs(sin.sin_port);
    }
    if (fd >= 0) {
        close(fd);
    }
    return port;
}

/* GET a Prometheus API path; its "data" member (new reference) or NULL. */
static QObject *prom_api(const char *path)
{
    g_autoptr(HtReply) r = ht_get(prom_port, path);
    if (!r || r->status != 200) {
        return NULL;
    }
    g_autoptr(QObject) v = ht_json(r);
    const char *status = v ? qdict_get_str(v, "status") : NULL;
    if (!status || strcmp(status, "success") != 0) {
        return NULL;
    }
    return qobject_ref(qdict_get(v, "data"));
}

/* The value of an instant query with one result, as Prometheus prints it; NULL if none yet. */
static char *prom_query(const char *query)
{
    g_autofree char *q = g_uri_escape_string(query, NULL, FALSE);
    g_autofree char *path = g_strdup_printf("/api/v1/query?query=%s", q);
    g_autoptr(QObject) data = prom_api(path);
    QObject *result = data ? qdict_get(data, "result") : NULL;
    if (!result || qlist_size(result) != 1) {
        return NULL;
    }
    QObject *value = qdict_get(qlist_get(result, 0), "value");
    const char *text = value && qlist_size(value) == 2 ? qstring_get(qlist_get(value, 1)) : NULL;
    return g_strdup(text);
}

/* Poll a query until it has a value (bounded by WAIT_S). */
static char *prom_wait(const char *query)
{
    for (int i = 0; i < WAIT_S * 5; i++) {
        char *v = prom_query(query);
        if (v) {
            return v;
        }
        g_usleep(200000);
    }
    fprintf(stderr, "\nno value for %s after %d s\n", query, WAIT_S);
    return NULL;
}

static void test_target_up(void)
{
    /* The scrape target is healthy: Prometheus parsed the exposition. */
    QObject *target = NULL;
    g_autoptr(QObject) data = NULL;
    for (int i = 0; i < WAIT_S * 5 && !target; i++) {
        qobject_unref(data);
        data = prom_api("/api/v1/targets");
        QObject *active = data ? qdict_get(data, "activeTargets") : NULL;
        QObject *t = active && qlist_size(active) == 1 ? qlist_get(active, 0) : NULL;
        const char *health = t ? qdict_get_str(t, "health") : NULL;
        if (health && strcmp(health, "unknown") != 0) {
            target = t;
        } else {
            g_usleep(200000);
        }
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(target);
    ASSERT_STR_EQ(qdict_get_str(target, "lastError"), "");
    ASSERT_STR_EQ(qdict_get_str(target, "health"), "up");
}

static void test_series_values(void)
{
    g_autofree char *hosts = prom_wait("vmscope_hosts");
    ASSERT_STR_EQ(hosts, "2");
    g_autofree char *lost = prom_wait("vmscope_hosts_lost");
    ASSERT_STR_EQ(lost, "1");
    g_autofree char *bytes = prom_wait("vmscope_state_bytes");
    ASSERT_STR_EQ(bytes, "192");
    g_autofree char *per_cmd = prom_wait("vmscope_qmp_requests_total{command=\"query-device-state\"}");
    ASSERT_STR_EQ(per_cmd, "11");
    g_autofree char *uptime = prom_wait("vmscope_uptime_seconds");
    ASSERT_STR_EQ(uptime, "1.5");

    /* The HTTP counters: Prometheus's own scrapes, counted by the server. */
    g_autofree char *scrapes = prom_wait("vmscope_http_requests_total{code=\"200\",endpoint=\"metrics\"} > 0");
    CU_ASSERT_PTR_NOT_NULL(scrapes);
    /* The histogram is a histogram to Prometheus. */
    g_autofree char *q = prom_wait("histogram_quantile(0.5, vmscope_http_request_duration_seconds_bucket"
                                   "{endpoint=\"metrics\"}) >= 0");
    CU_ASSERT_PTR_NOT_NULL(q);
    g_autofree char *sse = prom_wait("vmscope_sse_clients");
    ASSERT_STR_EQ(sse, "0");
}

static const CuTest prom_tests[] = {
    { "target_up", test_target_up },
    { "series_values", test_series_values },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "http-prometheus", prom_tests },
    { NULL, NULL },
};

static void remove_tree(const char *path)
{
    const char *argv[] = { "rm", "-rf", path, NULL };
    g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
}

int main(int argc, char **argv)
{
    g_autoptr(GError) err = NULL;
    prometheus = g_getenv("PROMETHEUS");
    g_autofree char *found = g_find_program_in_path("prometheus");
    if (!prometheus) {
        prometheus = found;
    }
    if (!prometheus || !g_file_test(prometheus, G_FILE_TEST_IS_EXECUTABLE)) {
        printf("SKIP: prometheus not installed (apt-get install prometheus)\n");
        return 77;
    }
    tmpdir = g_dir_make_tmp("vmscope-prom-XXXXXX", &err);
    if (!tmpdir) {
        fprintf(stderr, "mkdtemp: %s\n", err->message);
        return 1;
    }
    g_autofree char *dir = g_path_get_dirname(argv[0]);
    g_autofree char *server = g_build_filename(dir, "http-test-server", NULL);
    const char *sargv[] = { server, NULL };
    srv = ht_server_start(sargv);
    if (!srv) {
        remove_tree(tmpdir);
        return 1;
    }

    prom_port = free_port();
    g_autofree char *config = g_build_filename(tmpdir, "prometheus.yml", NULL);
    g_autofree char *storage = g_build_filename(tmpdir, "data", NULL);
    g_autofree char *yml = g_strdup_printf(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: vmscope\n    static_configs:\n"
        "      - targets: ['127.0.0.1:%d']\n", srv->port);
    g_autofree char *cfg_arg = g_strdup_printf("--config.file=%s", config);
    g_autofree char *st_arg = g_strdup_printf("--storage.tsdb.path=%s", storage);
    g_autofree char *web_arg = g_strdup_printf("--web.listen-address=127.0.0.1:%d", prom_port);
    int rc = 1;
    if (!g_file_set_contents(config, yml, -1, &err)) {
        fprintf(stderr, "%s\n", err->message);
        goto out;
    }
    const char *pargv[] = { prometheus, cfg_arg, st_arg, web_arg, "--log.level=warn", NULL };
    printf("starting %s %s %s %s\n", prometheus, cfg_arg, st_arg, web_arg);
    prom = g_subprocess_newv(pargv, G_SUBPROCESS_FLAGS_NONE, &err);
    if (!prom) {
        fprintf(stderr, "cannot start prometheus: %s\n", err->message);
        goto out;
    }

    rc = cutest_run(suites);

out:
    if (prom) {
        g_subprocess_send_signal(prom, SIGTERM);
        for (int i = 0; i < 1000 && g_subprocess_get_identifier(prom); i++) {
            g_usleep(10000);
        }
        if (g_subprocess_get_identifier(prom)) {
            g_subprocess_force_exit(prom);
        }
        g_subprocess_wait(prom, NULL, NULL);
        g_object_unref(prom);
    }
    if (ht_server_stop(srv) != 0) {
        fprintf(stderr, "http-test-server did not exit cleanly\n");
        rc = 1;
    }
    remove_tree(tmpdir);
    g_free(tmpdir);
    return rc;
}

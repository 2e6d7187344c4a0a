/*
 * The vmscope QMP server over real sockets, in another process
 * (qmp-test-server): the client library against it, many clients at once,
 * garbage and broken connections, pipelining with back-pressure, request
 * size limit, half-closed connections, a reader too slow for the events,
 * listening errors.  No QEMU needed (test-qmp-compat compares with QEMU).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <gio/gunixsocketaddress.h>

#include "../unit/cutest.h"
#include "bridge/qmp-client.h"
#include "vmscope/error.h"
#include "qmp-test-util.h"

#define N_CLIENTS 50
#define CALLS_PER_CLIENT 40

static const char *argv0;
static char *tmpdir;
static char *server_path;
static TestServer *srv;
static const char *unix_addr;
static const char *tcp_addr;

static QmpClient *connect_or_fail(const char *address)
{
    g_autoptr(GError) err = NULL;
    QmpClient *c = qmp_client_connect(address, 10000, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    return c;
}

static QObject *json(const char *text)
{
    QObject *v = NULL;
    g_autoptr(GError) err = NULL;
    if (!qobject_from_json(text, strlen(text), &v, &err)) {
        fprintf(stderr, "bad test JSON: %s\n", err->message);
    }
    return v;
}

/* Read the greeting and negotiate on a raw connection. */
static RawConn *raw_negotiated(const char *address)
{
    RawConn *c = raw_connect(address);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    g_autofree char *greeting = raw_read_line(c);
    CU_ASSERT_TRUE(greeting && g_str_has_prefix(greeting, "{\"QMP\": {\"version\": "));
    CU_ASSERT_TRUE(raw_send_str(c, "{\"execute\": \"qmp_capabilities\"}\n"));
    g_autofree char *rsp = raw_read_line(c);
    ASSERT_STR_EQ(rsp, "{\"return\": {}}");
    return c;
}

static int64_t client_count(QmpClient *c)
{
    g_autoptr(QObject) ret = NULL;
    g_autoptr(GError) err = NULL;
    int64_t n = -1;
    if (qmp_client_execute(c, "test-client-count", NULL, &ret, &err)) {
        qnum_get_int(ret, &n);
    }
    return n;
}

/* Poll until the server has `want` clients (it frees them asynchronously); bounded. */
static int64_t wait_client_count(QmpClient *c, int64_t want)
{
    int64_t n = -1;
    for (int i = 0; i < 500 && (n = client_count(c)) != want; i++) {
        g_usleep(20000);
    }
    return n;
}

/* ---- tests -------------------------------------------------------------- */

static void test_client_basics(void)
{
    g_autoptr(QmpClient) c = connect_or_fail(unix_addr);
    g_autoptr(GError) err = NULL;

    const QObject *greeting = qmp_client_greeting(c);
    QObject *qmp = qdict_get(greeting, "QMP");
    CU_ASSERT_EQUAL(qlist_size(qdict_get(qmp, "capabilities")), 0);
    CU_ASSERT_EQUAL(qobject_type(qdict_get(qmp, "capabilities")), QTYPE_LIST);

    g_autoptr(QObject) version = NULL;
    CU_ASSERT_TRUE(qmp_client_execute(c, "query-version", NULL, &version, &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_TRUE(qobject_equal(version, qdict_get(qmp, "version")));
    ASSERT_STR_EQ(qdict_get_str(version, "package"), "vmscope " PACKAGE_VERSION);

    g_autoptr(QObject) args = json("{\"value\": {\"a\": [1, \"x\", null, true, -2.5], "
                                   "\"u\": 18446744073709551615, \"s\": \"\xc3\xa9\\n\"}}");
    g_autoptr(QObject) echoed = NULL;
    CU_ASSERT_TRUE(qmp_client_execute(c, "test-echo", args, &echoed, &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_TRUE(qobject_equal(echoed, args));

    g_autoptr(QObject) path = json("{\"path\": \"/x\"}");
    CU_ASSERT_FALSE(qmp_client_execute(c, "qom-list", path, NULL, &err));
    CU_ASSERT_EQUAL(err->domain, QMP_ERROR);
    CU_ASSERT_EQUAL(err->code, QMP_ERROR_DEVICE_NOT_FOUND);
    ASSERT_ERROR(err, "Device '/x' not found");

    CU_ASSERT_FALSE(qmp_client_execute(c, "nope", NULL, NULL, &err));
    CU_ASSERT_EQUAL(err->code, QMP_ERROR_COMMAND_NOT_FOUND);
    ASSERT_ERROR(err, "The command nope has not been found");

    CU_ASSERT_FALSE(qmp_client_execute(c, "qmp_capabilities", NULL, NULL, &err));
    CU_ASSERT_EQUAL(err->code, QMP_ERROR_COMMAND_NOT_FOUND);
    ASSERT_ERROR(err, "Capabilities negotiation is already complete, command ignored");

    /* Events: queued while a command runs, then found by name. */
    CU_ASSERT_TRUE(qmp_client_execute(c, "stop", NULL, NULL, &err));
    CU_ASSERT_TRUE(qmp_client_execute(c, "cont", NULL, NULL, &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(qmp_client_event_count(c), 2);
    g_autoptr(QObject) resume = qmp_client_wait_event(c, "RESUME", 1000, &err);
    ASSERT_NO_ERROR(err);
    ASSERT_STR_EQ(qdict_get_str(resume, "event"), "RESUME");
    g_autoptr(QObject) stop = qmp_client_pop_event(c, NULL);
    ASSERT_STR_EQ(qdict_get_str(stop, "event"), "STOP");
    QObject *ts = qdict_get(stop, "timestamp");
    int64_t sec = 0, usec = -1;
    CU_ASSERT_TRUE(qnum_get_int(qdict_get(ts, "seconds"), &sec) && sec > 1600000000);
    CU_ASSERT_TRUE(qnum_get_int(qdict_get(ts, "microseconds"), &usec) && usec >= 0 && usec < 1000000);
    CU_ASSERT_PTR_NULL(qmp_client_pop_event(c, NULL));

    /* Waiting for an event that does not come ends with an error. */
    CU_ASSERT_PTR_NULL(qmp_client_wait_event(c, "NEVER", 50, &err));
    CU_ASSERT_EQUAL(err->code, VMS_ERROR_IO);
    g_autofree char *expected = g_strdup_printf("QMP %s: timed out waiting for event NEVER", unix_addr);
    ASSERT_ERROR(err, expected);
}

static void test_tcp(void)
{
    CU_ASSERT_TRUE(g_str_has_prefix(tcp_addr, "tcp:127.0.0.1:"));
    CU_ASSERT_STRING_NOT_EQUAL(tcp_addr, "tcp:127.0.0.1:0");
    g_autoptr(QmpClient) c = connect_or_fail(tcp_addr);
    g_autoptr(GError) err = NULL;
    g_autoptr(QObject) ret = NULL;
    CU_ASSERT_TRUE(qmp_client_execute(c, "query-version", NULL, &ret, &err));
    ASSERT_NO_ERROR(err);
}

static void test_client_connect_errors(void)
{
    g_autoptr(GError) err = NULL;
    CU_ASSERT_PTR_NULL(qmp_client_connect("unix:/nonexistent/qmp.sock", 1000, &err));
    CU_ASSERT_TRUE(g_error_matches(err, VMS_ERROR, VMS_ERROR_IO));
    CU_ASSERT_TRUE(err && g_str_has_prefix(err->message, "QMP unix:/nonexistent/qmp.sock: connect: "));
    g_clear_error(&err);
    CU_ASSERT_PTR_NULL(qmp_client_connect("nowhere", 1000, &err));
    CU_ASSERT_TRUE(g_error_matches(err, VMS_ERROR, VMS_ERROR_INVALID));
    ASSERT_ERROR(err, "QMP address 'nowhere': expected unix:PATH or tcp:HOST:PORT");
    CU_ASSERT_PTR_NULL(qmp_client_connect("tcp:127.0.0.1:99999", 1000, &err));
    ASSERT_ERROR(err, "QMP address 'tcp:127.0.0.1:99999': port '99999' is not a number from 0 to 65535");
}

typedef struct Worker {
    QmpClient *client;
    int index;
    int ok;
} Worker;

static gpointer worker_run(gpointer data)
{
    Worker *w = data;
    for (int i = 0; i < CALLS_PER_CLIENT; i++) {
        g_autoptr(QObject) args = qdict_new();
        qdict_put(args, "value", qstring_from_printf("client %d call %d", w->index, i));
        g_autoptr(QObject) ret = NULL;
        g_autoptr(GError) err = NULL;
        if (qmp_client_execute(w->client, "test-echo", args, &ret, &err) &&
            qobject_equal(ret, args)) {
            w->ok++;
        } else if (err) {
            fprintf(stderr, "client %d: %s\n", w->index, err->message);
        }
    }
    return NULL;
}

static void test_many_clients(void)
{
    Worker workers[N_CLIENTS] = { 0 };
    GThread *threads[N_CLIENTS];
    g_autoptr(GError) err = NULL;

    for (int i = 0; i < N_CLIENTS; i++) {
        workers[i].client = connect_or_fail(i % 2 ? tcp_addr : unix_addr);
        workers[i].index = i;
    }
    CU_ASSERT_EQUAL(client_count(workers[0].client), N_CLIENTS);
    for (int i = 0; i < N_CLIENTS; i++) {
        threads[i] = g_thread_new("qmp-client", worker_run, &workers[i]);
    }
    int total = 0;
    for (int i = 0; i < N_CLIENTS; i++) {
        g_thread_join(threads[i]);
        total += workers[i].ok;
    }
    CU_ASSERT_EQUAL(total, N_CLIENTS * CALLS_PER_CLIENT);

    /* One event reaches every client. */
    g_autoptr(QObject) args = json("{\"name\": \"TEST_BCAST\", \"data\": {\"n\": 1}}");
    CU_ASSERT_TRUE(qmp_client_execute(workers[0].client, "test-event", args, NULL, &err));
    ASSERT_NO_ERROR(err);
    int got = 0;
    for (int i = 0; i < N_CLIENTS; i++) {
        g_autoptr(QObject) ev = qmp_client_wait_event(workers[i].client, "TEST_BCAST", 10000, &err);
        ASSERT_NO_ERROR(err);
        int64_t n = 0;
        if (ev && qnum_get_int(qdict_get(qdict_get(ev, "data"), "n"), &n) && n == 1) {
            got++;
        }
    }
    CU_ASSERT_EQUAL(got, N_CLIENTS);

    for (int i = 1; i < N_CLIENTS; i++) {
        qmp_client_free(workers[i].client);
    }
    CU_ASSERT_EQUAL(wait_client_count(workers[0].client, 1), 1);
    qmp_client_free(workers[0].client);
}

typedef struct Connector {
    GMutex *lock;
    GCond *cond;
    bool *go;
    bool ok;
} Connector;

static gpointer connector_run(gpointer data)
{
    Connector *k = data;
    g_mutex_lock(k->lock);
    while (!*k->go) {
        g_cond_wait(k->cond, k->lock);
    }
    g_mutex_unlock(k->lock);
    g_autoptr(GError) err = NULL;
    g_autoptr(QmpClient) c = qmp_client_connect(unix_addr, 10000, &err);
    g_autoptr(QObject) ret = NULL;
    k->ok = c && qmp_client_execute(c, "query-version", NULL, &ret, &err);
    if (err) {
        fprintf(stderr, "connector: %s\n", err->message);
    }
    return NULL;
}

/* Many connections at the same instant (more than a small listen queue holds). */
static void test_simultaneous_connects(void)
{
    enum { N = 64 };
    Connector k[N];
    GThread *t[N];
    GMutex lock;
    GCond cond;
    bool go = false;
    g_mutex_init(&lock);
    g_cond_init(&cond);
    for (int i = 0; i < N; i++) {
        k[i] = (Connector){ .lock = &lock, .cond = &cond, .go = &go };
        t[i] = g_thread_new("connector", connector_run, &k[i]);
    }
    g_mutex_lock(&lock);
    go = true;
    g_cond_broadcast(&cond);
    g_mutex_unlock(&lock);
    int ok = 0;
    for (int i = 0; i < N; i++) {
        g_thread_join(t[i]);
        ok += k[i].ok;
    }
    CU_ASSERT_EQUAL(ok, N);
    g_mutex_clear(&lock);
    g_cond_clear(&cond);
}

static void test_garbage_keeps_connection(void)
{
    RawConn *c = raw_negotiated(unix_addr);
    static const char garbage[] = "\xff\x00garbage }}} {\"a\":} [1, 2 {\"x\": tru}]\n"
                                  "{\"execute\": \"test-echo\", \"arguments\": {\"value\": 1}, \"id\": 9}\n";
    CU_ASSERT_TRUE(raw_send(c, garbage, sizeof(garbage) - 1));
    int errors = 0;
    char *line = NULL;
    for (int i = 0; i < 20; i++) {
        g_free(line);
        line = raw_read_line(c);
        if (!line || !g_str_has_prefix(line, "{\"error\": {\"class\": \"GenericError\", "
                                             "\"desc\": \"JSON parse error, ")) {
            break;
        }
        errors++;
    }
    CU_ASSERT_TRUE(errors >= 4);
    ASSERT_STR_EQ(line, "{\"return\": {\"value\": 1}, \"id\": 9}");
    g_free(line);

    /* Commands before negotiation on another connection: QEMU's answer. */
    RawConn *fresh = raw_connect(unix_addr);
    g_autofree char *greeting = raw_read_line(fresh);
    CU_ASSERT_TRUE(raw_send_str(fresh, "{\"execute\": \"query-version\", \"id\": \"early\"}"));
    g_autofree char *early = raw_read_line(fresh);
    ASSERT_STR_EQ(early, "{\"id\": \"early\", \"error\": {\"class\": \"CommandNotFound\", "
                         "\"desc\": \"Expecting capabilities negotiation with 'qmp_capabilities'\"}}");
    raw_close(fresh);
    raw_close(c);
}

static void test_random_garbage_and_disconnects(void)
{
    g_autoptr(QmpClient) before = connect_or_fail(unix_addr);
    g_autoptr(GRand) rand = g_rand_new_with_seed(4711);
    g_autoptr(GError) err = NULL;

    for (int k = 0; k < 20; k++) {
        RawConn *c = raw_connect(k % 2 ? tcp_addr : unix_addr);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        if (k % 3 == 0) {
            CU_ASSERT_TRUE(raw_send_str(c, "{\"execute\": \"qmp_capabilities\"}"));
        }
        char buf[4096];
        for (int j = 0; j < 16; j++) {
            for (size_t b = 0; b < sizeof(buf); b++) {
                /* Bias towards JSON punctuation so that the parser goes deep. */
                static const char punct[] = "{}[]\",:'\\ \n0123456789truefalsn";
                buf[b] = g_rand_boolean(rand) ? punct[g_rand_int_range(rand, 0, sizeof(punct) - 1)]
                                              : (char)g_rand_int_range(rand, 0, 256);
            }
            if (!raw_send(c, buf, sizeof(buf))) {
                break;      /* the server may close on us: fine */
            }
        }
        raw_close(c);       /* without reading a single answer */
    }
    /* Disconnect in the middle of a request, and in the middle of a string. */
    RawConn *mid = raw_negotiated(unix_addr);
    CU_ASSERT_TRUE(raw_send_str(mid, "{\"execute\": \"test-echo\", \"arguments\": {\"value\": \"abc"));
    raw_close(mid);

    g_autoptr(QObject) ret = NULL;
    CU_ASSERT_TRUE(qmp_client_execute(before, "query-version", NULL, &ret, &err));
    ASSERT_NO_ERROR(err);
    g_autoptr(QmpClient) after = connect_or_fail(unix_addr);
    CU_ASSERT_EQUAL(wait_client_count(after, 2), 2);
}

typedef struct Sender {
    RawConn *conn;
    GString *data;
    bool ok;
} Sender;

static gpointer sender_run(gpointer p)
{
    Sender *s = p;
    s->ok = raw_send(s->conn, s->data->str, s->data->len);
    return NULL;
}

static void test_pipelining(void)
{
    RawConn *c = raw_negotiated(unix_addr);
    const int n = 5000;
    Sender s = { .conn = c, .data = g_string_new(NULL) };
    for (int i = 0; i < n; i++) {
        g_string_append_printf(s.data, "{\"execute\": \"test-echo\", \"arguments\": {\"value\": %d}, "
                                       "\"id\": %d}", i, i);
    }
    /* Send from a thread: the server stops reading while we do not read. */
    GThread *t = g_thread_new("sender", sender_run, &s);
    int in_order = 0;
    for (int i = 0; i < n; i++) {
        g_autofree char *line = raw_read_line(c);
        g_autofree char *expected = g_strdup_printf("{\"return\": {\"value\": %d}, \"id\": %d}", i, i);
        if (g_strcmp0(line, expected) != 0) {
            fprintf(stderr, "answer %d: %s\n", i, line ? line : "(none)");
            break;
        }
        in_order++;
    }
    g_thread_join(t);
    CU_ASSERT_TRUE(s.ok);
    CU_ASSERT_EQUAL(in_order, n);
    g_string_free(s.data, TRUE);
    raw_close(c);
}

/*
 * A request whose events fill the output past the watermark (64 KiB), with
 * another request right behind it in the same write: the server stops
 * reading at the watermark, and when the socket took the whole output at
 * once it must go on with the second request by itself (it once waited
 * for a source that nobody attached, and the second request was never
 * answered).
 */
static void test_watermark_then_drained(void)
{
    RawConn *c = raw_negotiated(unix_addr);
    const int events = 1000;              /* about 90 kB of events */
    g_autofree char *reqs = g_strdup_printf(
        "{\"execute\": \"test-event\", \"arguments\": {\"name\": \"FILL\", \"count\": %d}, "
        "\"id\": 1}{\"execute\": \"test-echo\", \"arguments\": {\"value\": 2}, \"id\": 2}",
        events);
    CU_ASSERT_TRUE(raw_send_str(c, reqs));
    int seen = 0;
    g_autofree char *first = NULL, *second = NULL;
    for (int i = 0; i < events + 2; i++) {
        g_autofree char *line = raw_read_line(c);
        if (!line) {
            break;
        }
        if (strstr(line, "\"event\": \"FILL\"")) {
            seen++;
        } else if (!first) {
            first = g_steal_pointer(&line);
        } else {
            second = g_steal_pointer(&line);
        }
    }
    CU_ASSERT_EQUAL(seen, events);
    ASSERT_STR_EQ(first, "{\"return\": {}, \"id\": 1}");
    ASSERT_STR_EQ(second, "{\"return\": {\"value\": 2}, \"id\": 2}");
    raw_close(c);
}

static void test_request_size_limit(void)
{
    RawConn *c = raw_negotiated(unix_addr);
    Sender s = { .conn = c, .data = g_string_new("{\"execute\": \"test-echo\", \"arguments\": {\"value\": \"") };
    for (int i = 0; i < (3 << 19); i++) {
        g_string_append_c(s.data, 'x');
    }
    g_string_append(s.data, "\"}, \"id\": 1}{\"execute\": \"test-echo\", \"arguments\": {\"value\": 2}, \"id\": 2}");
    GThread *t = g_thread_new("sender", sender_run, &s);
    g_autofree char *first = raw_read_line(c);
    g_autofree char *second = raw_read_line(c);
    g_thread_join(t);
    CU_ASSERT_TRUE(s.ok);
    ASSERT_STR_EQ(first, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON token size limit exceeded\"}}");
    ASSERT_STR_EQ(second, "{\"return\": {\"value\": 2}, \"id\": 2}");
    g_string_free(s.data, TRUE);
    raw_close(c);
}

static void test_half_close(void)
{
    RawConn *c = raw_negotiated(unix_addr);
    CU_ASSERT_TRUE(raw_send_str(c, "{\"execute\": \"test-echo\", \"arguments\": {\"value\": 1}}\n"
                                   "{\"execute\": \"nope\"}\n"
                                   "{\"execute\": \"test-echo\", \"arguments\": {\"value\": 3}}\n"));
    CU_ASSERT_TRUE(g_socket_shutdown(c->sock, FALSE, TRUE, NULL));
    g_autofree char *a = raw_read_line(c);
    g_autofree char *b = raw_read_line(c);
    g_autofree char *d = raw_read_line(c);
    ASSERT_STR_EQ(a, "{\"return\": {\"value\": 1}}");
    ASSERT_STR_EQ(b, "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command nope has not been found\"}}");
    ASSERT_STR_EQ(d, "{\"return\": {\"value\": 3}}");
    bool eof = false;
    g_autofree char *end = raw_read_line_eof(c, &eof);
    CU_ASSERT_PTR_NULL(end);
    CU_ASSERT_TRUE(eof);
    raw_close(c);
}

static void test_slow_reader_dropped(void)
{
    g_autofree char *path = g_build_filename(tmpdir, "slow.sock", NULL);
    g_autofree char *addr = g_strdup_printf("unix:%s", path);
    const char *argv[] = { server_path, "--max-output", "262144", addr, NULL };
    TestServer *slow_srv = test_server_start(argv, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(slow_srv);
    g_autoptr(GError) err = NULL;

    RawConn *slow = raw_negotiated(addr);
    g_autoptr(QmpClient) emitter = connect_or_fail(addr);
    g_autoptr(QmpClient) other = connect_or_fail(addr);
    CU_ASSERT_EQUAL(client_count(emitter), 3);
    /* The slow reader asks for large answers too, and reads none of them. */
    for (int i = 0; i < 20; i++) {
        CU_ASSERT_TRUE(raw_send_str(slow, "{\"execute\": \"test-big\", "
                                          "\"arguments\": {\"size\": 100000}}\n"));
    }

    /*
     * Events of 10 kB, one command each so that the emitter reads its own
     * copies as they come, until the slow reader (256 KiB allowance plus
     * whatever the socket buffers hold) is dropped; at most 2000 (20 MB).
     */
    g_autoptr(QObject) args = qdict_new();
    qdict_put(args, "name", qstring_from_str("BIG"));
    GString *big = g_string_new(NULL);
    for (int i = 0; i < 10000; i++) {
        g_string_append_c(big, 'y');
    }
    qdict_put(args, "data", qstring_from_str(big->str));
    g_string_free(big, TRUE);
    int sent = 0, answered = 0;
    int64_t count = 3;
    while (sent < 2000 && count != 2) {
        CU_ASSERT_TRUE_FATAL(qmp_client_execute(emitter, "test-event", args, NULL, &err));
        qobject_unref(qmp_client_wait_event(emitter, "BIG", 10000, &err));
        ASSERT_NO_ERROR(err);
        /* Another client is answered all along (latency: bench-qmp). */
        g_autoptr(QObject) echo = NULL;
        answered += qmp_client_execute(other, "test-echo", NULL, &echo, NULL);
        qobject_unref(qmp_client_wait_event(other, "BIG", 10000, NULL));
        if (++sent % 50 == 0) {
            count = client_count(emitter);
        }
    }
    CU_ASSERT_EQUAL(count, 2);
    CU_ASSERT_EQUAL(answered, sent);
    /* The server said whom it dropped and why. */
    g_autofree char *dropped = test_server_read_line(slow_srv);
    g_autofree char *quoted = g_regex_escape_string(addr, -1);
    g_autofree char *pattern = g_strdup_printf(
        "^dropped: client 1 on %s: [0-9]+ bytes of output unread and 100[0-9][0-9] more to "
        "send, over the limit of 262144: disconnected$", quoted);
    bool said = dropped && g_regex_match_simple(pattern, dropped, 0, 0);
    if (!said) {
        fprintf(stderr, "\nserver said: %s\n", dropped ? dropped : "(nothing)");
    }
    CU_ASSERT_TRUE(said);
    /* The slow reader gets what was sent before it was dropped, then the end. */
    int events = 0;
    bool eof = false;
    for (;;) {
        g_autofree char *line = raw_read_line_eof(slow, &eof);
        if (!line) {
            break;
        }
        events++;
    }
    CU_ASSERT_TRUE(events < sent);
    raw_close(slow);
    CU_ASSERT_EQUAL(test_server_stop(slow_srv), 0);
    CU_ASSERT_FALSE(g_file_test(path, G_FILE_TEST_EXISTS));   /* socket removed */
}

/* Run qmp-test-server expecting failure; its stderr. */
static char *failing_server(const char *address)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GSubprocess) p = g_subprocess_new(G_SUBPROCESS_FLAGS_STDERR_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                                G_SUBPROCESS_FLAGS_STDIN_PIPE, &err,
                                                server_path, address, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    char *errout = NULL;
    CU_ASSERT_TRUE(g_subprocess_communicate_utf8(p, "", NULL, NULL, &errout, &err));
    CU_ASSERT_TRUE(g_subprocess_get_if_exited(p) && g_subprocess_get_exit_status(p) == 1);
    return errout;
}

static void test_listen_errors(void)
{
    g_autofree char *busy = failing_server(unix_addr);
    g_autofree char *expected = g_strdup_printf(
        "qmp-test-server: QMP address '%s': a server is already listening there\n", unix_addr);
    ASSERT_STR_EQ(busy, expected);

    g_autofree char *bad = failing_server("bogus:1");
    ASSERT_STR_EQ(bad, "qmp-test-server: QMP address 'bogus:1': expected unix:PATH or tcp:HOST:PORT\n");

    g_autofree char *file = g_build_filename(tmpdir, "plain-file", NULL);
    CU_ASSERT_TRUE(g_file_set_contents(file, "x", 1, NULL));
    g_autofree char *faddr = g_strdup_printf("unix:%s", file);
    g_autofree char *notsock = failing_server(faddr);
    g_autofree char *expected2 = g_strdup_printf(
        "qmp-test-server: QMP address '%s': %s exists and is not a socket\n", faddr, file);
    ASSERT_STR_EQ(notsock, expected2);
    g_unlink(file);

    /* A socket left behind by a dead server is replaced. */
    g_autofree char *stale = g_build_filename(tmpdir, "stale.sock", NULL);
    g_autofree char *saddr = g_strdup_printf("unix:%s", stale);
    {
        g_autoptr(GSocket) s = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM,
                                            G_SOCKET_PROTOCOL_DEFAULT, NULL);
        g_autoptr(GSocketAddress) a = g_unix_socket_address_new(stale);
        CU_ASSERT_TRUE(g_socket_bind(s, a, TRUE, NULL));
        g_socket_close(s, NULL);
    }
    CU_ASSERT_TRUE(g_file_test(stale, G_FILE_TEST_EXISTS));
    const char *argv[] = { server_path, saddr, NULL };
    TestServer *ts = test_server_start(argv, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ts);
    g_autoptr(QmpClient) c = connect_or_fail(saddr);
    qmp_client_free(g_steal_pointer(&c));
    CU_ASSERT_EQUAL(test_server_stop(ts), 0);
}

static const CuTest server_tests[] = {
    { "client_basics", test_client_basics },
    { "tcp", test_tcp },
    { "client_connect_errors", test_client_connect_errors },
    { "many_clients", test_many_clients },
    { "simultaneous_connects", test_simultaneous_connects },
    { "garbage_keeps_connection", test_garbage_keeps_connection },
    { "random_garbage_and_disconnects", test_random_garbage_and_disconnects },
    { "pipelining", test_pipelining },
    { "watermark, then the output drained at once", test_watermark_then_drained },
    { "request_size_limit", test_request_size_limit },
    { "half_close", test_half_close },
    { "slow_reader_dropped", test_slow_reader_dropped },
    { "listen_errors", test_listen_errors },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "qmp-server", server_tests },
    { NULL, NULL },
};

int main(int argc, char **argv)
{
    argv0 = argv[0];
    g_autoptr(GError) err = NULL;
    tmpdir = g_dir_make_tmp("vmscope-qmp-XXXXXX", &err);
    if (!tmpdir) {
        fprintf(stderr, "mkdtemp: %s\n", err->message);
        return 1;
    }
    server_path = test_program_path(argv0, "qmp-test-server");
    g_autofree char *sock = g_build_filename(tmpdir, "qmp.sock", NULL);
    g_autofree char *addr = g_strdup_printf("unix:%s", sock);
    const char *sargv[] = { server_path, addr, "tcp:127.0.0.1:0", NULL };
    srv = test_server_start(sargv, 2);
    if (!srv) {
        g_rmdir(tmpdir);
        return 1;
    }
    unix_addr = srv->addresses[0];
    tcp_addr = srv->addresses[1];

    int rc = cutest_run(suites);

    if (test_server_stop(srv) != 0) {
        fprintf(stderr, "qmp-test-server did not exit cleanly\n");
        rc = 1;
    }
    g_unlink(sock);
    if (g_rmdir(tmpdir) != 0) {
        fprintf(stderr, "cannot remove %s: %s\n", tmpdir, g_strerror(errno));
        rc = 1;
    }
    g_free(server_path);
    g_free(tmpdir);
    return rc;
}

/*
 * The HTTP bridge over real sockets, against http-test-server (a real
 * dispatcher with fixed agent data, in another process): every endpoint
 * compared byte for byte with the same command over QMP, error statuses and
 * bodies, the Host and Origin checks, POST /api/qmp, the dashboard's files
 * and path traversal, keep-alive and pipelining, Server-Sent Events to many
 * clients and a slow one dropped, slowloris and garbage, /metrics, many
 * clients at once; and in this process: address errors and a clean
 * shutdown with an event stream open.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <errno.h>
#include <glib/gstdio.h>

#include "../unit/cutest.h"
#include "bridge/http-server.h"
#include "bridge/qmp-client.h"
#include "bridge/qmp-json.h"
#include "vmscope/error.h"
#include "http-test-util.h"

#define MAX_BODY 4096
#define SSE_QUEUE 65536
#define REQUEST_TIMEOUT_MS 1000
#define KEEPALIVE_MS 300

static char *tmpdir;
static char *dashdir;
static HtServer *srv;
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

static QmpClient *qmp_connect(void)
{
    g_autoptr(GError) err = NULL;
    QmpClient *c = qmp_client_connect(srv->qmp_address, 10000, &err);
    ASSERT_NO_ERROR(err);
    return c;
}

/* The exact error body the server sends. */
static char *error_body(const char *cls, const char *desc)
{
    g_autoptr(QObject) e = qdict_new();
    QObject *inner = qdict_new();
    qdict_put(inner, "class", qstring_from_str(cls));
    qdict_put(inner, "desc", qstring_from_str(desc));
    qdict_put(e, "error", inner);
    g_autofree char *text = qmp_json_format(e);
    return g_strconcat(text, "\n", NULL);
}

#define ASSERT_HTTP_ERROR(reply, status_, cls, desc)                            \
    do {                                                                        \
        HtReply *r_ = (reply);                                                  \
        CU_ASSERT_PTR_NOT_NULL_FATAL(r_);                                       \
        if (r_->status != (status_)) {                                          \
            fprintf(stderr, "\n%s:%d: status %d, expected %d: %s\n", __FILE__,  \
                    __LINE__, r_->status, (status_), r_->body->str);            \
        }                                                                       \
        CU_ASSERT_EQUAL(r_->status, (status_));                                 \
        g_autofree char *want_ = error_body((cls), (desc));                     \
        ASSERT_STR_EQ(r_->body->str, want_);                                    \
        ASSERT_STR_EQ(ht_header(r_, "Content-Type"), "application/json");       \
    } while (0)

/* POST /api/qmp and the "return" value. */
static QObject *http_execute(const char *request)
{
    g_autoptr(HtReply) r = ht_qmp(port, request);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->status, 200);
    g_autoptr(QObject) rsp = ht_json(r);
    QObject *ret = qdict_get(rsp, "return");
    return qobject_ref(ret);
}

static int64_t sse_clients(void)
{
    g_autoptr(QObject) n = http_execute("{\"execute\": \"test-sse-clients\"}");
    int64_t v = -1;
    qnum_get_int(n, &v);
    return v;
}

/* Poll until the server has `want` event-stream clients; bounded. */
static int64_t wait_sse_clients(int64_t want)
{
    int64_t n = -1;
    for (int i = 0; i < 500 && (n = sse_clients()) != want; i++) {
        g_usleep(20000);
    }
    return n;
}

/* The value of a sample in /metrics ("name{labels}" exactly), or -1. */
static double metric(const char *sample)
{
    g_autoptr(HtReply) r = ht_get(port, "/metrics");
    g_autofree char *prefix = g_strconcat("\n", sample, " ", NULL);
    const char *p = r ? strstr(r->body->str, prefix) : NULL;
    return p ? g_ascii_strtod(p + strlen(prefix), NULL) : -1;
}

/* ---- the API against QMP ------------------------------------------------- */

static void check_same_as_qmp(QmpClient *qmp, const char *path, const char *command,
                              const char *args)
{
    g_autoptr(HtReply) r = ht_get(port, path);
    g_autoptr(QObject) qargs = args ? json(args) : NULL;
    g_autoptr(QObject) ret = NULL;
    g_autoptr(GError) err = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->status, 200);
    ASSERT_STR_EQ(ht_header(r, "Content-Type"), "application/json");
    ASSERT_STR_EQ(ht_header(r, "Cache-Control"), "no-store");
    ASSERT_STR_EQ(ht_header(r, "X-Content-Type-Options"), "nosniff");
    CU_ASSERT_TRUE(qmp_client_execute(qmp, command, qargs, &ret, &err));
    ASSERT_NO_ERROR(err);
    /* Same JSON, byte for byte, as QMP sends it. */
    g_autofree char *text = qmp_json_format(ret);
    g_autofree char *want = g_strconcat(text, "\n", NULL);
    ASSERT_STR_EQ(r->body->str, want);
}

static void test_api_same_as_qmp(void)
{
    g_autoptr(QmpClient) qmp = qmp_connect();
    CU_ASSERT_PTR_NOT_NULL_FATAL(qmp);

    check_same_as_qmp(qmp, "/api/hosts", "query-hosts", NULL);
    check_same_as_qmp(qmp, "/api/devices", "query-devices", NULL);
    check_same_as_qmp(qmp, "/api/devices/h1/serial0/state", "query-device-state",
                      "{\"path\": \"/h1/serial0\"}");
    check_same_as_qmp(qmp, "/api/devices/h1/serial0/state?format=json", "query-device-state",
                      "{\"path\": \"/h1/serial0\", \"format\": \"json\"}");
    check_same_as_qmp(qmp, "/api/devices/h1/rtc0/schema", "query-device-schema",
                      "{\"path\": \"/h1/rtc0\"}");

    /* uint64 and int64 extremes come through exactly. */
    g_autoptr(HtReply) r = ht_get(port, "/api/devices/h1/serial0/state");
    CU_ASSERT_PTR_NOT_NULL(strstr(r->body->str, "\"big\": 18446744073709551615"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r->body->str, "\"neg\": -9223372036854775808"));

    /* Percent-encoded path segments are decoded before they reach the command. */
    g_autoptr(HtReply) enc = ht_get(port, "/api/devices/%68%31/serial%30/state");
    CU_ASSERT_EQUAL(enc->status, 200);
    ASSERT_STR_EQ(enc->body->str, r->body->str);
    /* Other query parameters are ignored (cache busting). */
    g_autoptr(HtReply) q = ht_get(port, "/api/devices/h1/serial0/state?_=12345");
    ASSERT_STR_EQ(q->body->str, r->body->str);
}

static void test_state_pretty(void)
{
    g_autoptr(QmpClient) qmp = qmp_connect();
    g_autoptr(QObject) args = json("{\"path\": \"/h1/serial0\", \"format\": \"pretty\"}");
    g_autoptr(QObject) ret = NULL;
    g_autoptr(GError) err = NULL;
    CU_ASSERT_TRUE(qmp_client_execute(qmp, "query-device-state", args, &ret, &err));
    ASSERT_NO_ERROR(err);

    g_autoptr(HtReply) r = ht_get(port, "/api/devices/h1/serial0/state?format=pretty");
    CU_ASSERT_EQUAL(r->status, 200);
    ASSERT_STR_EQ(ht_header(r, "Content-Type"), "text/plain; charset=utf-8");
    ASSERT_STR_EQ(r->body->str, qdict_get_str(ret, "text"));
    ASSERT_STR_EQ(r->body->str, "/h1/serial0 (serial, version 4)\n  divider: 12\n"
                                "  caf\xc3\xa9: \"\\n\"\n");
}

static void test_api_errors(void)
{
    g_autoptr(HtReply) nf = ht_get(port, "/api/devices/h1/nope/state");
    ASSERT_HTTP_ERROR(nf, 404, "DeviceNotFound", "Device '/h1/nope' not found");
    g_autoptr(HtReply) nf2 = ht_get(port, "/api/devices/h9/serial0/schema");
    ASSERT_HTTP_ERROR(nf2, 404, "DeviceNotFound", "Device '/h9/serial0' not found");
    g_autoptr(HtReply) broken = ht_get(port, "/api/devices/h1/broken/state");
    ASSERT_HTTP_ERROR(broken, 500, "GenericError",
                      "host h1: segment offset 4096: device state runs past the segment end");
    g_autoptr(HtReply) fmt = ht_get(port, "/api/devices/h1/serial0/state?format=xml");
    ASSERT_HTTP_ERROR(fmt, 400, "GenericError", "format 'xml': expected json, pretty or ber");
    g_autoptr(HtReply) fmt2 = ht_get(port, "/api/devices/h1/serial0/state?format=");
    ASSERT_HTTP_ERROR(fmt2, 400, "GenericError", "format '': expected json, pretty or ber");
}

static void test_malformed_paths(void)
{
    static const struct {
        const char *path;
        int status;
        const char *desc;
    } cases[] = {
        { "/api/devices//serial0/state", 400, "malformed path '/api/devices//serial0/state'" },
        { "/api/devices/h1/serial0/", 400, "malformed path '/api/devices/h1/serial0/'" },
        { "/api/devices/h1/../state", 400, "malformed path '/api/devices/h1/../state'" },
        { "/api/devices/h1/%2e%2e/state", 400, "malformed path '/api/devices/h1/../state'" },
        { "/api/devices/./serial0/state", 400, "malformed path '/api/devices/./serial0/state'" },
        { "/api/devices/h1/ser%0aial0/state", 400,
          "malformed path in '/api/devices/h1/ser%0aial0/state': a control character after decoding" },
        /* Issue 12: %00 used to cut the decoded path short ("/api/hosts": 200). */
        { "/api/hosts%00", 400, "malformed path in '/api/hosts%00': a control character after decoding" },
        { "/api/hosts%00/x", 400, "malformed path in '/api/hosts%00/x': a control character after decoding" },
        { "/api/devices/h1/serial0/state?format=json%00x", 400,
          "malformed query in '/api/devices/h1/serial0/state?format=json%00x': a control character after decoding" },
        { "/api/hosts?x=%7f", 400, "malformed query in '/api/hosts?x=%7f': a control character after decoding" },
        { "/api/devices/h1/%ff/state", 400,
          "malformed path in '/api/devices/h1/%ff/state': not UTF-8 after decoding" },
        { "/api/devices/h1/serial0/nope", 404, "no such endpoint: /api/devices/h1/serial0/nope" },
        { "/api/devices/h1/serial0/state/x", 404, "no such endpoint: /api/devices/h1/serial0/state/x" },
        { "/api/devices/h1", 404, "no such endpoint: /api/devices/h1" },
        { "/api/devices/h1/serial0", 404, "no such endpoint: /api/devices/h1/serial0" },
        { "/api/nope", 404, "no such endpoint: /api/nope" },
        { "/api", 404, "no such endpoint: /api" },
        { "/api/", 404, "no such endpoint: /api/" },
        { "/api/hosts/", 404, "no such endpoint: /api/hosts/" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(HtReply) r = ht_get(port, cases[i].path);
        ASSERT_HTTP_ERROR(r, cases[i].status, "GenericError", cases[i].desc);
    }
    /* A request target that is not a path. */
    g_autofree char *abs = g_strdup_printf("GET http://127.0.0.1:%d/api/hosts HTTP/1.1\r\n"
                                           "Host: 127.0.0.1\r\nConnection: close\r\n\r\n", port);
    g_autoptr(HtReply) a = ht_raw(port, abs);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL(a->status, 400);
    g_autoptr(HtReply) star = ht_raw(port, "OPTIONS * HTTP/1.1\r\nHost: localhost\r\n"
                                           "Connection: close\r\n\r\n");
    ASSERT_HTTP_ERROR(star, 400, "GenericError", "malformed path '*'");
}

static void test_methods(void)
{
    g_autoptr(HtReply) p = ht_request(port, "POST", "/api/hosts", NULL, "{}");
    ASSERT_HTTP_ERROR(p, 405, "GenericError",
                      "POST /api/hosts: method not allowed (allowed: GET, HEAD)");
    ASSERT_STR_EQ(ht_header(p, "Allow"), "GET, HEAD");
    g_autoptr(HtReply) g = ht_get(port, "/api/qmp");
    ASSERT_HTTP_ERROR(g, 405, "GenericError", "GET /api/qmp: method not allowed (allowed: POST)");
    ASSERT_STR_EQ(ht_header(g, "Allow"), "POST");
    g_autoptr(HtReply) d = ht_request(port, "DELETE", "/", NULL, NULL);
    ASSERT_HTTP_ERROR(d, 405, "GenericError", "DELETE /: method not allowed (allowed: GET, HEAD)");
    g_autoptr(HtReply) put = ht_request(port, "PUT", "/metrics", NULL, "x");
    ASSERT_HTTP_ERROR(put, 405, "GenericError",
                      "PUT /metrics: method not allowed (allowed: GET, HEAD)");

    /* HEAD: the GET's headers, no body. */
    g_autoptr(HtReply) get = ht_get(port, "/api/hosts");
    g_autoptr(HtReply) head = ht_request(port, "HEAD", "/api/hosts", NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(head);
    CU_ASSERT_EQUAL(head->status, 200);
    CU_ASSERT_EQUAL(head->body->len, 0);
    g_autofree char *len = g_strdup_printf("%zu", get->body->len);
    ASSERT_STR_EQ(ht_header(head, "Content-Length"), len);
}

static void test_host_and_origin(void)
{
    static const char *const allowed[] = {
        "localhost", "localhost:8080", "LocalHost:1", "127.0.0.1", "127.0.0.1:80",
        "[::1]", "[::1]:8080",
    };
    static const char *const refused[] = {
        "evil.example", "evil.example:8080", "127.0.0.1.evil.example", "localhost.evil.example",
        "localhost:abc", "localhost:", "127.0.0.2", "[::2]:80", "[::1", "0.0.0.0:80", "",
        "localhost:80:80", "::1",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(allowed); i++) {
        g_autofree char *req = g_strdup_printf("GET /api/hosts HTTP/1.1\r\nHost: %s\r\n"
                                               "Connection: close\r\n\r\n", allowed[i]);
        g_autoptr(HtReply) r = ht_raw(port, req);
        CU_ASSERT_PTR_NOT_NULL_FATAL(r);
        if (r->status != 200) {
            fprintf(stderr, "\nHost '%s': %d %s\n", allowed[i], r->status, r->body->str);
        }
        CU_ASSERT_EQUAL(r->status, 200);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(refused); i++) {
        g_autofree char *req = g_strdup_printf("GET /api/hosts HTTP/1.1\r\nHost: %s\r\n"
                                               "Connection: close\r\n\r\n", refused[i]);
        g_autoptr(HtReply) r = ht_raw(port, req);
        CU_ASSERT_PTR_NOT_NULL_FATAL(r);
        if (refused[i][0] == '\0' && r->status == 400) {
            continue;       /* libmicrohttpd may refuse an empty Host itself */
        }
        g_autofree char *desc = g_strdup_printf("Host '%s' is not a loopback name: request refused",
                                                refused[i]);
        ASSERT_HTTP_ERROR(r, 403, "GenericError", desc);
    }
    /* The dashboard and the event stream are refused too. */
    g_autoptr(HtReply) dash = ht_raw(port, "GET / HTTP/1.1\r\nHost: rebind.example\r\n"
                                           "Connection: close\r\n\r\n");
    CU_ASSERT_EQUAL(dash->status, 403);
    g_autoptr(HtReply) ev = ht_raw(port, "GET /api/events HTTP/1.1\r\nHost: rebind.example\r\n"
                                         "Connection: close\r\n\r\n");
    CU_ASSERT_EQUAL(ev->status, 403);

    /* Issue 12: two Host headers are invalid (RFC 9112), in either order. */
    static const char *const two_hosts[] = {
        "Host: localhost\r\nHost: rebind.example\r\n", "Host: rebind.example\r\nHost: localhost\r\n",
        "Host: localhost\r\nhost: localhost\r\n",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(two_hosts); i++) {
        g_autofree char *req = g_strdup_printf("GET /api/hosts HTTP/1.1\r\n%sConnection: close\r\n\r\n",
                                               two_hosts[i]);
        g_autoptr(HtReply) r = ht_raw(port, req);
        ASSERT_HTTP_ERROR(r, 400, "GenericError", "more than one Host header: request refused");
    }

    /* HTTP/1.0 without a Host: no browser sends that; tools may. */
    g_autoptr(HtReply) h10 = ht_raw(port, "GET /api/hosts HTTP/1.0\r\n\r\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h10);
    CU_ASSERT_EQUAL(h10->status, 200);

    /* Cross-site requests carry an Origin: only loopback origins pass. */
    g_autoptr(HtReply) o1 = ht_request(port, "POST", "/api/qmp",
                                       "Origin: http://evil.example\r\n"
                                       "Content-Type: application/json\r\n",
                                       "{\"execute\": \"query-hosts\"}");
    ASSERT_HTTP_ERROR(o1, 403, "GenericError",
                      "Origin 'http://evil.example' is not a loopback origin: request refused");
    g_autoptr(HtReply) o2 = ht_request(port, "GET", "/api/hosts", "Origin: null\r\n", NULL);
    ASSERT_HTTP_ERROR(o2, 403, "GenericError", "Origin 'null' is not a loopback origin: request refused");
    g_autoptr(HtReply) o3 = ht_request(port, "GET", "/api/hosts",
                                       "Origin: http://localhost.evil.example:8080\r\n", NULL);
    CU_ASSERT_EQUAL(o3->status, 403);
    g_autoptr(HtReply) o4 = ht_request(port, "POST", "/api/qmp",
                                       "Origin: http://127.0.0.1:8080\r\n"
                                       "Content-Type: application/json\r\n",
                                       "{\"execute\": \"query-hosts\"}");
    CU_ASSERT_EQUAL(o4->status, 200);
    g_autoptr(HtReply) o5 = ht_request(port, "GET", "/api/hosts", "Origin: http://[::1]:1\r\n", NULL);
    CU_ASSERT_EQUAL(o5->status, 200);
}

static void test_qmp_post(void)
{
    g_autoptr(QmpClient) qmp = qmp_connect();
    g_autoptr(QObject) hosts = NULL;
    g_autoptr(GError) err = NULL;
    CU_ASSERT_TRUE(qmp_client_execute(qmp, "query-hosts", NULL, &hosts, &err));

    /* The QMP response object, id echoed. */
    g_autoptr(HtReply) r = ht_qmp(port, "{\"execute\": \"query-hosts\", \"id\": {\"n\": [7]}}");
    CU_ASSERT_EQUAL(r->status, 200);
    ASSERT_STR_EQ(ht_header(r, "Content-Type"), "application/json");
    g_autoptr(QObject) want = qdict_new();
    qdict_put(want, "return", qobject_ref(hosts));
    qdict_put(want, "id", json("{\"n\": [7]}"));
    g_autofree char *want_text = qmp_json_format(want);
    g_autofree char *want_body = g_strconcat(want_text, "\n", NULL);
    ASSERT_STR_EQ(r->body->str, want_body);

    /* qmp_capabilities is accepted; a session needs no negotiation. */
    g_autoptr(HtReply) cap = ht_qmp(port, "{\"execute\": \"qmp_capabilities\"}");
    ASSERT_STR_EQ(cap->body->str, "{\"return\": {}}\n");
    g_autoptr(HtReply) ver = ht_qmp(port, "{\"execute\": \"query-version\"}");
    CU_ASSERT_EQUAL(ver->status, 200);
    CU_ASSERT_TRUE(g_str_has_prefix(ver->body->str, "{\"return\": {\"qemu\": "));

    /* QMP errors are QMP responses (200), as on a QMP socket. */
    g_autoptr(HtReply) nf = ht_qmp(port, "{\"execute\": \"nope\", \"id\": 1}");
    CU_ASSERT_EQUAL(nf->status, 200);
    ASSERT_STR_EQ(nf->body->str, "{\"id\": 1, \"error\": {\"class\": \"CommandNotFound\", "
                                 "\"desc\": \"The command nope has not been found\"}}\n");
    g_autoptr(HtReply) dev = ht_qmp(port, "{\"execute\": \"query-device-state\", "
                                          "\"arguments\": {\"path\": \"/h1/x\"}}");
    ASSERT_STR_EQ(dev->body->str, "{\"error\": {\"class\": \"DeviceNotFound\", "
                                  "\"desc\": \"Device '/h1/x' not found\"}}\n");
    g_autoptr(HtReply) arr = ht_qmp(port, "[1, 2]");
    ASSERT_STR_EQ(arr->body->str, "{\"error\": {\"class\": \"GenericError\", "
                                  "\"desc\": \"QMP input must be a JSON object\"}}\n");
    g_autoptr(HtReply) miss = ht_qmp(port, "{\"execute\": \"query-device-state\"}");
    ASSERT_STR_EQ(miss->body->str, "{\"error\": {\"class\": \"GenericError\", "
                                   "\"desc\": \"Parameter 'path' is missing\"}}\n");

    /* A body that is not JSON: 400 with the parser's message. */
    g_autoptr(HtReply) bad = ht_qmp(port, "{\"execute\": ");
    CU_ASSERT_EQUAL(bad->status, 400);
    g_autoptr(QObject) badj = ht_json(bad);
    CU_ASSERT_TRUE(g_str_has_prefix(qdict_get_str(qdict_get(badj, "error"), "desc"),
                                    "JSON parse error"));
    g_autoptr(HtReply) empty = ht_qmp(port, "");
    ASSERT_HTTP_ERROR(empty, 400, "GenericError", "JSON parse error, unexpected end of input at offset 0");
    /* Read as a QMP socket reads it (issue 12): no value other than the one sent. */
    static const struct {
        const char *body;
        const char *desc;
    } refused[] = {
        { "{\"execute\": \"nope\", \"id\": NaN}",
          "JSON parse error, keyword 'NaN' is invalid at offset 26" },
        { "{\"execute\": \"nope\", \"id\": [00]}",
          "JSON parse error, number '00' is invalid at offset 27" },
        { "{\"execute\": \"nope\", \"id\": -99999999999999999999}",
          "JSON parse error, integer '-99999999999999999999' is beyond 64 bits at offset 26" },
        { "{\"execute\": \"nope\"} {}", "JSON parse error, text after the value at offset 20" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(refused); i++) {
        g_autoptr(HtReply) r = ht_qmp(port, refused[i].body);
        ASSERT_HTTP_ERROR(r, 400, "GenericError", refused[i].desc);
    }
    g_autoptr(HtReply) num = ht_qmp(port, " 12 ");
    ASSERT_STR_EQ(num->body->str, "{\"error\": {\"class\": \"GenericError\", "
                                  "\"desc\": \"QMP input must be a JSON object\"}}\n");

    /* Content types browsers send cross-site without asking are refused. */
    g_autoptr(HtReply) text = ht_request(port, "POST", "/api/qmp", "Content-Type: text/plain\r\n",
                                         "{\"execute\": \"query-hosts\"}");
    ASSERT_HTTP_ERROR(text, 415, "GenericError",
                      "POST /api/qmp: Content-Type 'text/plain': expected application/json");
    g_autoptr(HtReply) form = ht_request(port, "POST", "/api/qmp",
                                         "Content-Type: application/x-www-form-urlencoded\r\n",
                                         "{\"execute\": \"query-hosts\"}");
    CU_ASSERT_EQUAL(form->status, 415);
    g_autoptr(HtReply) cs = ht_request(port, "POST", "/api/qmp",
                                       "Content-Type: application/json; charset=utf-8\r\n",
                                       "{\"execute\": \"query-hosts\"}");
    CU_ASSERT_EQUAL(cs->status, 200);
    g_autoptr(HtReply) none = ht_request(port, "POST", "/api/qmp", NULL,
                                         "{\"execute\": \"query-hosts\"}");
    CU_ASSERT_EQUAL(none->status, 200);
}

static void test_body_limit(void)
{
    /* Exactly the limit: accepted. */
    g_autofree char *fits = g_strnfill(MAX_BODY, ' ');
    memcpy(fits, "{\"execute\": \"query-hosts\"}", strlen("{\"execute\": \"query-hosts\"}"));
    g_autoptr(HtReply) ok = ht_qmp(port, fits);
    CU_ASSERT_EQUAL(ok->status, 200);

    /* One byte over. */
    g_autofree char *over = g_strnfill(MAX_BODY + 1, ' ');
    g_autoptr(HtReply) big = ht_qmp(port, over);
    ASSERT_HTTP_ERROR(big, 413, "GenericError",
                      "POST /api/qmp: body of 4097 bytes is over the limit of 4096 bytes");

    /* Refused on the headers alone: the body never needs to be sent. */
    g_autoptr(HtConn) c = ht_connect(port);
    ht_send_str(c, "POST /api/qmp HTTP/1.1\r\nHost: localhost\r\n"
                   "Content-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n");
    g_autoptr(HtReply) huge = ht_read_reply(c);
    ASSERT_HTTP_ERROR(huge, 413, "GenericError",
                      "POST /api/qmp: body of 1000000000 bytes is over the limit of 4096 bytes");

    /* Chunked, no length given: refused once it grows past the limit. */
    g_autoptr(HtConn) ch = ht_connect(port);
    ht_send_str(ch, "POST /api/qmp HTTP/1.1\r\nHost: localhost\r\n"
                    "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
    g_autofree char *chunk = g_strnfill(1000, ' ');
    for (int i = 0; i < 5; i++) {
        g_autofree char *piece = g_strdup_printf("3e8\r\n%s\r\n", chunk);
        if (!ht_send_str(ch, piece)) {
            break;
        }
    }
    ht_send_str(ch, "0\r\n\r\n");
    g_autoptr(HtReply) chr = ht_read_reply(ch);
    ASSERT_HTTP_ERROR(chr, 413, "GenericError",
                      "POST /api/qmp: body is over the limit of 4096 bytes");

    g_autoptr(HtReply) after = ht_get(port, "/api/hosts");
    CU_ASSERT_EQUAL(after->status, 200);
}

/* ---- the dashboard's files ---------------------------------------------- */

static const char png_bytes[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01";

static void check_file(const char *path, const char *type, const char *content, size_t len)
{
    g_autoptr(HtReply) r = ht_get(port, path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    if (r->status != 200) {
        fprintf(stderr, "\n%s: %d %s\n", path, r->status, r->body->str);
    }
    CU_ASSERT_EQUAL(r->status, 200);
    ASSERT_STR_EQ(ht_header(r, "Content-Type"), type);
    ASSERT_STR_EQ(ht_header(r, "X-Content-Type-Options"), "nosniff");
    CU_ASSERT_EQUAL(r->body->len, len);
    CU_ASSERT_TRUE(r->body->len == len && memcmp(r->body->str, content, len) == 0);
}

static void test_static_files(void)
{
    check_file("/", "text/html; charset=utf-8", "<!doctype html><title>t</title>\n", 32);
    check_file("/index.html", "text/html; charset=utf-8", "<!doctype html><title>t</title>\n", 32);
    check_file("/app.js", "text/javascript; charset=utf-8", "export const x = 1;\n", 20);
    check_file("/style.css", "text/css; charset=utf-8", "body {}\n", 8);
    check_file("/logo.svg", "image/svg+xml", "<svg/>\n", 7);
    check_file("/img.png", "image/png", png_bytes, sizeof(png_bytes) - 1);
    check_file("/data.bin", "application/octet-stream", "x", 1);
    check_file("/sub/", "text/html; charset=utf-8", "sub\n", 4);
    check_file("/sub/index.html", "text/html; charset=utf-8", "sub\n", 4);
    check_file("/link-inside.js", "text/javascript; charset=utf-8", "export const x = 1;\n", 20);
    check_file("/sp%20ace.txt", "text/plain; charset=utf-8", "space\n", 6);

    static const struct {
        const char *path;
        int status;
        const char *desc;
    } bad[] = {
        { "/missing.js", 404, "no such file: /missing.js" },
        { "/sub", 404, "no such file: /sub" },
        { "/.secret", 404, "no such file: /.secret" },
        { "/sub/.x/index.html", 404, "no such file: /sub/.x/index.html" },
        { "/link-outside", 404, "no such file: /link-outside" },
        { "/dir-outside/passwd", 404, "no such file: /dir-outside/passwd" },
        { "/../outside.txt", 400, "malformed path '/../outside.txt'" },
        { "/%2e%2e/outside.txt", 400, "malformed path '/../outside.txt'" },
        { "/sub/../../outside.txt", 400, "malformed path '/sub/../../outside.txt'" },
        { "/sub/%2e%2e%2f%2e%2e%2foutside.txt", 400, "malformed path '/sub/../../outside.txt'" },
        { "/./index.html", 400, "malformed path '/./index.html'" },
        { "/..%5coutside.txt", 400, "malformed path '/..\\outside.txt'" },
        { "/a%01b", 400, "malformed path in '/a%01b': a control character after decoding" },
        /* Issue 12: %00 used to cut the path short and serve index.html. */
        { "/index.html%00.txt", 400,
          "malformed path in '/index.html%00.txt': a control character after decoding" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(HtReply) r = ht_get(port, bad[i].path);
        ASSERT_HTTP_ERROR(r, bad[i].status, "GenericError", bad[i].desc);
    }
}

/* ---- connections -------------------------------------------------------- */

static void test_keepalive_pipelining(void)
{
    g_autoptr(HtConn) c = ht_connect(port);
    g_autoptr(HtReply) one = ht_get(port, "/api/hosts");
    g_autoptr(HtReply) two = ht_get(port, "/api/devices");
    /* Three requests in one write, then one more: answers in order. */
    CU_ASSERT_TRUE(ht_send_str(c, "GET /api/hosts HTTP/1.1\r\nHost: localhost\r\n\r\n"
                                  "GET /api/devices HTTP/1.1\r\nHost: localhost\r\n\r\n"
                                  "GET /api/devices/h1/nope/state HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    for (int i = 0; i < 3; i++) {
        g_autoptr(HtReply) r = ht_read_reply(c);
        CU_ASSERT_PTR_NOT_NULL_FATAL(r);
        CU_ASSERT_EQUAL(r->status, i == 2 ? 404 : 200);
        if (i < 2) {
            ASSERT_STR_EQ(r->body->str, (i == 0 ? one : two)->body->str);
        }
    }
    CU_ASSERT_TRUE(ht_send_str(c, "POST /api/qmp HTTP/1.1\r\nHost: localhost\r\n"
                                  "Content-Length: 28\r\n\r\n{\"execute\": \"query-devices\"}"));
    g_autoptr(HtReply) r = ht_read_reply(c);
    CU_ASSERT_EQUAL(r->status, 200);
    g_autofree char *want = g_strdup_printf("{\"return\": %.*s}\n", (int)two->body->len - 1,
                                            two->body->str);
    ASSERT_STR_EQ(r->body->str, want);
}

typedef struct Hammer {
    int requests;
    int ok;
    const char *expect;
} Hammer;

static gpointer hammer_run(gpointer data)
{
    Hammer *h = data;
    g_autoptr(HtConn) c = ht_connect(port);
    for (int i = 0; c && i < h->requests; i++) {
        if (!ht_send_str(c, "GET /api/devices/h1/serial0/state HTTP/1.1\r\nHost: localhost\r\n\r\n")) {
            break;
        }
        g_autoptr(HtReply) r = ht_read_reply(c);
        if (!r) {
            break;
        }
        if (r->status == 200 && strcmp(r->body->str, h->expect) == 0) {
            h->ok++;
        }
    }
    return NULL;
}

static void test_many_clients(void)
{
    enum { THREADS = 16, REQUESTS = 50 };
    g_autoptr(HtReply) ref = ht_get(port, "/api/devices/h1/serial0/state");
    Hammer h[THREADS];
    GThread *t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        h[i] = (Hammer){ .requests = REQUESTS, .expect = ref->body->str };
        t[i] = g_thread_new("hammer", hammer_run, &h[i]);
    }
    int ok = 0;
    for (int i = 0; i < THREADS; i++) {
        g_thread_join(t[i]);
        ok += h[i].ok;
    }
    CU_ASSERT_EQUAL(ok, THREADS * REQUESTS);
}

/* True once the server has closed c (reads what came, waiting up to ms). */
static bool closed_by_server(HtConn *c, int ms)
{
    while (ht_fill_timeout(c, ms)) {
    }
    return c->eof;
}

static void test_slowloris(void)
{
    enum { HEADERS, BODY, IDLE, N };
    static const char *const start[N] = {
        "GET /api/hosts HTTP/1.1\r\nHost: localhost\r\n",
        "POST /api/qmp HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n{",
        "",
    };
    /* Each sends a little every 200 ms, and never finishes its request. */
    static const char *const trickle[N] = { "X-Slow: 1\r\n", " ", NULL };
    double before = metric("vmscope_http_request_timeouts_total");
    HtConn *c[N];
    bool closed[N] = { false };
    int rounds[N] = { 0 };

    for (int i = 0; i < N; i++) {
        c[i] = ht_connect(port);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c[i]);
        CU_ASSERT_TRUE(ht_send_str(c[i], start[i]));
    }
    /* Others are served meanwhile. */
    g_autoptr(HtReply) during = ht_get(port, "/api/hosts");
    CU_ASSERT_EQUAL(during->status, 200);
    for (int round = 0; round < 50; round++) {
        bool all = true;
        for (int i = 0; i < N; i++) {
            if (closed[i]) {
                continue;
            }
            if ((trickle[i] && !ht_send_str(c[i], trickle[i])) || closed_by_server(c[i], 0)) {
                closed[i] = true;
                continue;
            }
            rounds[i]++;
            all = false;
        }
        if (all) {
            break;
        }
        g_usleep(200000);
    }
    for (int i = 0; i < N; i++) {
        CU_ASSERT_TRUE(closed[i]);
        CU_ASSERT_TRUE(rounds[i] >= 2);     /* it was alive for a while */
        ht_close(c[i]);
    }
    CU_ASSERT_TRUE(metric("vmscope_http_request_timeouts_total") >= before + N);
    g_autoptr(HtReply) after = ht_get(port, "/api/hosts");
    CU_ASSERT_EQUAL(after->status, 200);
}

static void test_garbage(void)
{
    static const char *const junk[] = {
        "GARBAGE\r\n\r\n",
        "GET\r\n\r\n",
        "GET /api/hosts HTTP/9.9\r\nHost: localhost\r\n\r\n",
        "GET /api/hosts HTTP/1.1\r\nHost: localhost\r\nNo colon here\r\n\r\n",
        "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",   /* a TLS ClientHello */
        "GET /api/hosts HTTP/1.1\r\nHost: localhost\r\nContent-Length: -5\r\n\r\n",
        "GET /api/hosts HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: bogus\r\n\r\n",
        "\r\n\r\n\r\n",
    };
    /* All at once: some are only ended by the request deadline. */
    HtConn *jc[G_N_ELEMENTS(junk)];
    for (size_t i = 0; i < G_N_ELEMENTS(junk); i++) {
        jc[i] = ht_connect(port);
        CU_ASSERT_PTR_NOT_NULL_FATAL(jc[i]);
        ht_send_str(jc[i], junk[i]);
        shutdown(jc[i]->fd, SHUT_WR);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(junk); i++) {
        g_autoptr(HtReply) r = ht_read_reply(jc[i]);
        /* An error answer, or none at all: the server just goes on. */
        CU_ASSERT_TRUE(!r || r->status >= 400 || r->status == 200);
        ht_close(jc[i]);
    }
    /* Headers far over libmicrohttpd's memory limit. */
    g_autoptr(HtConn) big = ht_connect(port);
    g_autofree char *pad = g_strnfill(100000, 'a');
    g_autofree char *req = g_strdup_printf("GET /api/hosts HTTP/1.1\r\nHost: localhost\r\n"
                                           "X-Pad: %s\r\n\r\n", pad);
    ht_send_str(big, req);
    g_autoptr(HtReply) br = ht_read_reply(big);
    CU_ASSERT_TRUE(!br || br->status >= 400);

    /* Connections reset in the middle of a request or of an answer. */
    for (int i = 0; i < 30; i++) {
        g_autoptr(HtConn) c = ht_connect(port);
        struct linger lg = { .l_onoff = 1, .l_linger = 0 };
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        ht_send_str(c, i % 2 ? "GET /api/devices/h1/serial0/state HTTP/1.1\r\nHost: localhost\r\n\r\n"
                             : "POST /api/qmp HTTP/1.1\r\nHost: loc");
    }
    g_autoptr(HtReply) after = ht_get(port, "/api/hosts");
    CU_ASSERT_PTR_NOT_NULL_FATAL(after);
    CU_ASSERT_EQUAL(after->status, 200);
}

/* ---- events ------------------------------------------------------------- */

static void test_events(void)
{
    enum { CLIENTS = 5 };
    g_autoptr(QmpClient) qmp = qmp_connect();
    HtEvents *ev[CLIENTS];

    for (int i = 0; i < CLIENTS; i++) {
        ev[i] = ht_events_open(port, 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(ev[i]);
        CU_ASSERT_EQUAL(ev[i]->head->status, 200);
        ASSERT_STR_EQ(ht_header(ev[i]->head, "Content-Type"), "text/event-stream");
        ASSERT_STR_EQ(ht_header(ev[i]->head, "Cache-Control"), "no-store");
        /* The stream opens with a retry hint and a comment. */
        g_autoptr(HtEvent) hello = ht_events_next(ev[i], 5000);
        CU_ASSERT_PTR_NOT_NULL_FATAL(hello);
        ASSERT_STR_EQ(hello->comment, "vmscope events");
        CU_ASSERT_PTR_NULL(hello->data);
    }
    CU_ASSERT_EQUAL(wait_sse_clients(CLIENTS), CLIENTS);

    g_autoptr(QObject) none = http_execute(
        "{\"execute\": \"test-emit\", \"arguments\": {\"name\": \"DEVICE_STATE_CHANGED\", "
        "\"data\": {\"path\": \"/h1/serial0\", \"generation\": 982, "
        "\"changed\": [\"fifo.count\", \"regs[3]\"]}}}");
    qobject_unref(http_execute("{\"execute\": \"test-emit\", \"arguments\": {\"name\": \"HOST_LOST\", "
                 "\"data\": {\"host\": \"h2\", \"reason\": \"line\\nbreak\"}}}"));

    /* Every stream gets the very event QMP clients get, same bytes. */
    g_autoptr(GError) err = NULL;
    g_autoptr(QObject) changed = qmp_client_wait_event(qmp, "DEVICE_STATE_CHANGED", 5000, &err);
    ASSERT_NO_ERROR(err);
    g_autoptr(QObject) lost = qmp_client_wait_event(qmp, "HOST_LOST", 5000, &err);
    ASSERT_NO_ERROR(err);
    g_autofree char *changed_text = qmp_json_format(changed);
    g_autofree char *lost_text = qmp_json_format(lost);
    for (int i = 0; i < CLIENTS; i++) {
        g_autoptr(HtEvent) a = ht_events_next_data(ev[i], 5000);
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        ASSERT_STR_EQ(a->name, "DEVICE_STATE_CHANGED");
        ASSERT_STR_EQ(a->data, changed_text);
        g_autoptr(HtEvent) b = ht_events_next_data(ev[i], 5000);
        CU_ASSERT_PTR_NOT_NULL_FATAL(b);
        ASSERT_STR_EQ(b->name, "HOST_LOST");
        ASSERT_STR_EQ(b->data, lost_text);
    }

    /* Keep-alive comments while nothing happens. */
    g_autoptr(HtEvent) ka = ht_events_next(ev[0], 5000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ka);
    ASSERT_STR_EQ(ka->comment, "keepalive");

    /* Clients that leave are forgotten (noticed at the next write at the latest). */
    for (int i = 0; i < CLIENTS; i++) {
        ht_events_close(ev[i]);
    }
    CU_ASSERT_EQUAL(wait_sse_clients(0), 0);
}

typedef struct FastReader {
    HtEvents *ev;
    int events;
    bool ended;
} FastReader;

static gpointer fast_reader_run(gpointer data)
{
    FastReader *f = data;
    for (;;) {
        g_autoptr(HtEvent) e = ht_events_next_data(f->ev, 10000);
        if (!e) {
            return NULL;
        }
        if (strcmp(e->name, "TEST_END") == 0) {
            f->ended = true;
            return NULL;
        }
        f->events++;
    }
}

static void test_events_slow_client_dropped(void)
{
    double dropped_before = metric("vmscope_sse_clients_dropped_total");
    g_autoptr(HtEvents) slow = ht_events_open(port, 4096);
    g_autoptr(HtEvents) fast = ht_events_open(port, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(slow);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fast);
    CU_ASSERT_EQUAL(wait_sse_clients(2), 2);
    FastReader f = { .ev = fast };
    GThread *t = g_thread_new("fast-reader", fast_reader_run, &f);

    /*
     * 8 KiB events, one per request, until the slow client (which reads
     * nothing) has filled its socket buffers and its 64 KiB queue.
     */
    int sent = 0;
    for (; sent < 3000; sent++) {
        g_autoptr(QObject) r = http_execute("{\"execute\": \"test-emit\", \"arguments\": "
                                            "{\"name\": \"TEST_BULK\", \"pad\": 8192}}");
        if (sent % 50 == 49 && sse_clients() == 1) {
            sent++;
            break;
        }
    }
    CU_ASSERT_EQUAL(sse_clients(), 1);
    qobject_unref(http_execute("{\"execute\": \"test-emit\", \"arguments\": {\"name\": \"TEST_END\"}}"));
    g_thread_join(t);
    /* The fast reader got every event, in spite of the slow one. */
    CU_ASSERT_TRUE(f.ended);
    CU_ASSERT_EQUAL(f.events, sent);
    CU_ASSERT_EQUAL(metric("vmscope_sse_clients_dropped_total"), dropped_before + 1);

    /* The slow client finds its stream cut short: it can read what was sent, then EOF. */
    size_t total = 0;
    while (ht_fill(slow->conn) && total < (64u << 20)) {
        total += slow->conn->in->len;
        ht_consume(slow->conn, slow->conn->in->len);
    }
    CU_ASSERT_TRUE(slow->conn->eof);
    g_autoptr(HtReply) after = ht_get(port, "/api/hosts");
    CU_ASSERT_EQUAL(after->status, 200);
}

/* ---- metrics ------------------------------------------------------------ */

static void test_metrics(void)
{
    g_autoptr(HtReply) warm = ht_get(port, "/api/hosts");
    g_autoptr(HtReply) nf = ht_get(port, "/api/devices/h1/nope/state");
    g_autoptr(HtReply) r = ht_get(port, "/metrics");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->status, 200);
    ASSERT_STR_EQ(ht_header(r, "Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    const char *body = r->body->str;

    static const char *const lines[] = {
        "# HELP vmscope_hosts Device hosts the agent knows, alive or lost.\n",
        "# TYPE vmscope_hosts gauge\nvmscope_hosts 2\n",
        "# TYPE vmscope_hosts_lost gauge\nvmscope_hosts_lost 1\n",
        "# TYPE vmscope_devices gauge\nvmscope_devices 2\n",
        "# TYPE vmscope_state_bytes gauge\nvmscope_state_bytes 192\n",
        "# TYPE vmscope_snapshot_retries_total counter\nvmscope_snapshot_retries_total 7\n",
        "# TYPE vmscope_qmp_requests_total counter\n"
        "vmscope_qmp_requests_total{command=\"query-hosts\"} 3\n"
        "vmscope_qmp_requests_total{command=\"query-device-state\"} 11\n",
        "# TYPE vmscope_uptime_seconds untyped\nvmscope_uptime_seconds 1.5\n",
        "# TYPE vmscope_snapshots_total counter\nvmscope_snapshots_total ",
        "# TYPE vmscope_http_requests_total counter\n",
        "# TYPE vmscope_http_request_duration_seconds histogram\n",
        "vmscope_http_request_duration_seconds_bucket{endpoint=\"state\",le=\"0.0001\"} ",
        "vmscope_http_request_duration_seconds_bucket{endpoint=\"state\",le=\"0.00025\"} ",
        "vmscope_http_request_duration_seconds_bucket{endpoint=\"state\",le=\"5\"} ",
        "# TYPE vmscope_http_connections gauge\n",
        "# TYPE vmscope_sse_clients gauge\nvmscope_sse_clients 0\n",
        "# TYPE vmscope_sse_events_total counter\n",
        "# TYPE vmscope_sse_clients_dropped_total counter\n",
        "# TYPE vmscope_http_request_timeouts_total counter\n",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(lines); i++) {
        if (!strstr(body, lines[i])) {
            fprintf(stderr, "\nmissing from /metrics: %s\n", lines[i]);
            CU_FAIL("line missing from /metrics");
        }
    }
    CU_ASSERT_PTR_NULL(strstr(body, "vmscope_name"));     /* not a number: skipped */
    CU_ASSERT_TRUE(metric("vmscope_http_requests_total{code=\"200\",endpoint=\"hosts\"}") >= 1);
    CU_ASSERT_TRUE(metric("vmscope_http_requests_total{code=\"404\",endpoint=\"state\"}") >= 1);
    /* Histogram: +Inf bucket = count. */
    double inf = metric("vmscope_http_request_duration_seconds_bucket{endpoint=\"hosts\",le=\"+Inf\"}");
    double count = metric("vmscope_http_request_duration_seconds_count{endpoint=\"hosts\"}");
    CU_ASSERT_TRUE(inf >= 1);
    CU_ASSERT_EQUAL(inf, count);

    /* Every line is a comment or "name{labels} value". */
    g_autoptr(GRegex) sample = g_regex_new(
        "^[a-zA-Z_:][a-zA-Z0-9_:]*(\\{[a-zA-Z_][a-zA-Z0-9_]*=\"[^\"]*\""
        "(,[a-zA-Z_][a-zA-Z0-9_]*=\"[^\"]*\")*\\})? [-+0-9.eEInfNa]+$", 0, 0, NULL);
    g_auto(GStrv) all = g_strsplit(body, "\n", -1);
    int samples = 0;
    for (int i = 0; all[i]; i++) {
        if (!all[i][0] || g_str_has_prefix(all[i], "# HELP ") || g_str_has_prefix(all[i], "# TYPE ")) {
            continue;
        }
        if (!g_regex_match(sample, all[i], 0, NULL)) {
            fprintf(stderr, "\nnot a sample line: %s\n", all[i]);
            CU_FAIL("bad /metrics line");
        }
        samples++;
    }
    CU_ASSERT_TRUE(samples > 50);
}

/* ---- in this process ---------------------------------------------------- */

static void test_address_errors(void)
{
    g_autoptr(QmpDispatcher) d = qmp_dispatcher_new();
    g_autoptr(GError) err = NULL;
    static const struct {
        const char *address;
        int code;
        const char *message;
    } cases[] = {
        { "nonsense", VMS_ERROR_INVALID, "http address 'nonsense': expected HOST:PORT" },
        { ":8080", VMS_ERROR_INVALID, "http address ':8080': empty host" },
        { "127.0.0.1:", VMS_ERROR_INVALID,
          "http address '127.0.0.1:': port '' is not a number from 0 to 65535" },
        { "127.0.0.1:65536", VMS_ERROR_INVALID,
          "http address '127.0.0.1:65536': port '65536' is not a number from 0 to 65535" },
        { "127.0.0.1:-1", VMS_ERROR_INVALID,
          "http address '127.0.0.1:-1': port '-1' is not a number from 0 to 65535" },
        { "::1:80", VMS_ERROR_INVALID,
          "http address '::1:80': an IPv6 address goes in brackets, as in [::1]:8080" },
        { "[::1]80", VMS_ERROR_INVALID, "http address '[::1]80': expected [IPV6]:PORT" },
        { "[]:80", VMS_ERROR_INVALID, "http address '[]:80': empty host" },
        { "192.0.2.1:0", VMS_ERROR_IO,
          "http address '192.0.2.1:0': cannot listen: Cannot assign requested address" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        HttpServer *s = http_server_new(d, cases[i].address, NULL, &err);
        CU_ASSERT_PTR_NULL(s);
        CU_ASSERT_PTR_NOT_NULL_FATAL(err);
        CU_ASSERT_EQUAL(err->code, cases[i].code);
        ASSERT_ERROR(err, cases[i].message);
    }
    /* In use. */
    g_autofree char *taken = g_strdup_printf("127.0.0.1:%d", port);
    CU_ASSERT_PTR_NULL(http_server_new(d, taken, NULL, &err));
    g_autofree char *msg = g_strdup_printf("http address '%s': cannot listen: Address already in use",
                                           taken);
    CU_ASSERT_EQUAL(err->code, VMS_ERROR_IO);
    ASSERT_ERROR(err, msg);
    /* A name that does not resolve. */
    CU_ASSERT_PTR_NULL(http_server_new(d, "no-such-host.invalid:0", NULL, &err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    CU_ASSERT_EQUAL(err->code, VMS_ERROR_NOT_FOUND);
    CU_ASSERT_TRUE(g_str_has_prefix(err->message, "http address 'no-such-host.invalid:0': "
                                                  "cannot resolve 'no-such-host.invalid': "));
    g_clear_error(&err);
}

typedef struct InProc {
    int port;
    GMutex lock;
    bool received;            /* the event stream got its event */
    bool done;                /* the client thread is finished */
    int status;
    bool stream_ended;
    char *body;
} InProc;

static void inproc_set(InProc *ip, bool *flag)
{
    g_mutex_lock(&ip->lock);
    *flag = true;
    g_mutex_unlock(&ip->lock);
}

static bool inproc_get(InProc *ip, bool *flag)
{
    g_mutex_lock(&ip->lock);
    bool v = *flag;
    g_mutex_unlock(&ip->lock);
    return v;
}

static gpointer inproc_events(gpointer data)
{
    InProc *ip = data;
    g_autoptr(HtEvents) ev = ht_events_open(ip->port, 0);
    if (ev) {
        ip->status = ev->head->status;
        g_autoptr(HtEvent) e = ht_events_next_data(ev, 5000);
        if (e && strcmp(e->name, "TEST_EVENT") == 0) {
            inproc_set(ip, &ip->received);
        }
        /* Then the server goes away: the stream ends (last chunk, or EOF). */
        g_autoptr(HtEvent) end = ht_events_next(ev, 10000);
        ip->stream_ended = !end && ev->conn->eof;
    }
    inproc_set(ip, &ip->done);
    return NULL;
}

static gpointer inproc_get_root(gpointer data)
{
    InProc *ip = data;
    g_autoptr(HtReply) r = ht_get(ip->port, "/");
    if (r) {
        ip->status = r->status;
        ip->body = g_strdup(r->body->str);
    }
    inproc_set(ip, &ip->done);
    return NULL;
}

/* Run ctx until *flag is set (bounded: 10 s). */
static bool iterate_until(GMainContext *ctx, InProc *ip, bool *flag)
{
    for (int i = 0; i < 10000; i++) {
        if (inproc_get(ip, flag)) {
            return true;
        }
        g_main_context_iteration(ctx, FALSE);
        g_usleep(1000);
    }
    return false;
}

static void test_in_process_lifecycle(void)
{
    g_autoptr(GMainContext) ctx = g_main_context_new();
    g_main_context_push_thread_default(ctx);
    g_autoptr(QmpDispatcher) d = qmp_dispatcher_new();
    g_autoptr(GError) err = NULL;

    /* localhost:0 binds the first address localhost resolves to. */
    HttpServer *s = http_server_new(d, "localhost:0", NULL, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_TRUE(http_server_port(s) > 0);
    g_autofree char *v4 = g_strdup_printf("http://127.0.0.1:%u/", http_server_port(s));
    g_autofree char *v6 = g_strdup_printf("http://[::1]:%u/", http_server_port(s));
    CU_ASSERT_TRUE(strcmp(http_server_url(s), v4) == 0 || strcmp(http_server_url(s), v6) == 0);
    http_server_free(s);

    /* An event stream open (and suspended) when the server is freed ends cleanly. */
    s = http_server_new(d, "127.0.0.1:0", "/nonexistent-dir", &err);
    ASSERT_NO_ERROR(err);
    InProc ip = { .port = http_server_port(s) };
    g_mutex_init(&ip.lock);
    GThread *t = g_thread_new("inproc-events", inproc_events, &ip);
    for (int i = 0; i < 10000 && http_server_sse_client_count(s) == 0; i++) {
        g_main_context_iteration(ctx, FALSE);
        g_usleep(1000);
    }
    CU_ASSERT_EQUAL(http_server_sse_client_count(s), 1);
    qmp_dispatcher_emit_event(d, "TEST_EVENT", NULL);
    CU_ASSERT_TRUE(iterate_until(ctx, &ip, &ip.received));
    http_server_free(s);
    g_thread_join(t);
    CU_ASSERT_EQUAL(ip.status, 200);
    CU_ASSERT_TRUE(ip.stream_ended);

    /* No dashboard directory: / is a 404. */
    s = http_server_new(d, "127.0.0.1:0", NULL, &err);
    ASSERT_NO_ERROR(err);
    InProc ip2 = { .port = http_server_port(s) };
    g_mutex_init(&ip2.lock);
    t = g_thread_new("inproc-get", inproc_get_root, &ip2);
    CU_ASSERT_TRUE(iterate_until(ctx, &ip2, &ip2.done));
    g_thread_join(t);
    CU_ASSERT_EQUAL(ip2.status, 404);
    g_autofree char *want = error_body("GenericError", "no such file: / (this server has no dashboard)");
    ASSERT_STR_EQ(ip2.body, want);
    g_free(ip2.body);
    http_server_free(s);

    g_mutex_clear(&ip.lock);
    g_mutex_clear(&ip2.lock);
    g_main_context_pop_thread_default(ctx);
}

static const CuTest http_tests[] = {
    { "api_same_as_qmp", test_api_same_as_qmp },
    { "state_pretty", test_state_pretty },
    { "api_errors", test_api_errors },
    { "malformed_paths", test_malformed_paths },
    { "methods", test_methods },
    { "host_and_origin", test_host_and_origin },
    { "qmp_post", test_qmp_post },
    { "body_limit", test_body_limit },
    { "static_files", test_static_files },
    { "keepalive_pipelining", test_keepalive_pipelining },
    { "many_clients", test_many_clients },
    { "events", test_events },
    { "events_slow_client_dropped", test_events_slow_client_dropped },
    { "slowloris", test_slowloris },
    { "garbage", test_garbage },
    { "metrics", test_metrics },
    { "address_errors", test_address_errors },
    { "in_process_lifecycle", test_in_process_lifecycle },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "http-server", http_tests },
    { NULL, NULL },
};

static bool write_file(const char *rel, const char *content, size_t len)
{
    g_autofree char *path = g_build_filename(dashdir, rel, NULL);
    g_autofree char *dir = g_path_get_dirname(path);
    g_autoptr(GError) err = NULL;
    if (g_mkdir_with_parents(dir, 0755) != 0 ||
        !g_file_set_contents(path, content, (gssize)len, &err)) {
        fprintf(stderr, "cannot write %s\n", path);
        return false;
    }
    return true;
}

static bool make_dashboard(void)
{
    g_autofree char *outside = g_build_filename(tmpdir, "outside.txt", NULL);
    g_autofree char *l1 = g_build_filename(dashdir, "link-outside", NULL);
    g_autofree char *l2 = g_build_filename(dashdir, "dir-outside", NULL);
    g_autofree char *l3 = g_build_filename(dashdir, "link-inside.js", NULL);
    return write_file("index.html", "<!doctype html><title>t</title>\n", 32) &&
           write_file("app.js", "export const x = 1;\n", 20) &&
           write_file("style.css", "body {}\n", 8) &&
           write_file("logo.svg", "<svg/>\n", 7) &&
           write_file("img.png", png_bytes, sizeof(png_bytes) - 1) &&
           write_file("data.bin", "x", 1) &&
           write_file("sp ace.txt", "space\n", 6) &&
           write_file("sub/index.html", "sub\n", 4) &&
           write_file("sub/.x/index.html", "hidden\n", 7) &&
           write_file(".secret", "secret\n", 7) &&
           g_file_set_contents(outside, "outside\n", -1, NULL) &&
           symlink(outside, l1) == 0 && symlink(tmpdir, l2) == 0 &&
           symlink("app.js", l3) == 0;
}

static void remove_tree(const char *path)
{
    GDir *dir = g_dir_open(path, 0, NULL);
    if (dir) {
        const char *name;
        while ((name = g_dir_read_name(dir))) {
            g_autofree char *child = g_build_filename(path, name, NULL);
            if (g_file_test(child, G_FILE_TEST_IS_DIR) && !g_file_test(child, G_FILE_TEST_IS_SYMLINK)) {
                remove_tree(child);
            } else {
                g_unlink(child);
            }
        }
        g_dir_close(dir);
    }
    g_rmdir(path);
}

int main(int argc, char **argv)
{
    g_autoptr(GError) err = NULL;
    tmpdir = g_dir_make_tmp("vmscope-http-XXXXXX", &err);
    if (!tmpdir) {
        fprintf(stderr, "mkdtemp: %s\n", err->message);
        return 1;
    }
    dashdir = g_build_filename(tmpdir, "dash", NULL);
    if (!make_dashboard()) {
        remove_tree(tmpdir);
        return 1;
    }
    g_autofree char *dir = g_path_get_dirname(argv[0]);
    g_autofree char *server = g_build_filename(dir, "http-test-server", NULL);
    g_autofree char *sock = g_build_filename(tmpdir, "qmp.sock", NULL);
    g_autofree char *qmp_addr = g_strdup_printf("unix:%s", sock);
    g_autofree char *max_body = g_strdup_printf("%d", MAX_BODY);
    g_autofree char *queue = g_strdup_printf("%d", SSE_QUEUE);
    g_autofree char *rto = g_strdup_printf("%d", REQUEST_TIMEOUT_MS);
    g_autofree char *ka = g_strdup_printf("%d", KEEPALIVE_MS);
    const char *sargv[] = {
        server, "--qmp", qmp_addr, "--dashboard", dashdir, "--max-body", max_body,
        "--sse-queue", queue, "--request-timeout-ms", rto, "--keepalive-ms", ka, NULL,
    };
    srv = ht_server_start(sargv);
    if (!srv) {
        remove_tree(tmpdir);
        return 1;
    }
    port = srv->port;

    int rc = cutest_run(suites);

    if (ht_server_stop(srv) != 0) {
        fprintf(stderr, "http-test-server did not exit cleanly\n");
        rc = 1;
    }
    remove_tree(tmpdir);
    if (g_file_test(tmpdir, G_FILE_TEST_EXISTS)) {
        fprintf(stderr, "cannot remove %s\n", tmpdir);
        rc = 1;
    }
    g_free(dashdir);
    g_free(tmpdir);
    return rc;
}

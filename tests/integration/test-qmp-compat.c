/*
 * vmscope's QMP next to QEMU's: the same bytes go to a real
 * `qemu-system-x86_64 -machine none -qmp unix:...` and to qmp-test-server,
 * and the answers are compared, printed side by side.  Comparison modes:
 *   EXACT      the same bytes (keys in the same order, same spacing)
 *   SHAPE      the same structure: keys and types; lists and scalar values
 *              may differ (versions, command lists, timestamps), but "id",
 *              "event" and error "class" must be equal
 *   PARSE      both a GenericError whose desc starts "JSON parse error, "
 *              (the rest is the JSON library's own wording: docs/qmp.md)
 *   DIFFERENT  a documented difference: both answers are checked exactly
 * Also runs the QMP client library against both.  Needs QEMU ($QEMU, or
 * qemu-system-x86_64 on the PATH); without it: SKIP, exit 77.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <glib/gstdio.h>

#include "../unit/cutest.h"
#include "bridge/qmp-client.h"
#include "qmp-test-util.h"

typedef enum Cmp { EXACT, SHAPE, PARSE, DIFFERENT } Cmp;

static char *qemu_addr;
static char *vms_addr;

/* ---- comparison --------------------------------------------------------- */

static bool same_shape(const QObject *a, const QObject *b)
{
    QType t = qobject_type(a);
    if (t != qobject_type(b)) {
        return false;
    }
    if (t != QTYPE_DICT) {
        return true;      /* lists and scalars: the type is enough */
    }
    if (qdict_size(a) != qdict_size(b)) {
        return false;
    }
    qdict_foreach(a, key, val) {
        if (!qdict_haskey(b, key) || !same_shape(val, qdict_get(b, key))) {
            return false;
        }
    }
    return true;
}

static bool member_equal(const QObject *a, const QObject *b, const char *key)
{
    return qdict_haskey(a, key) == qdict_haskey(b, key) &&
           qobject_equal(qdict_get(a, key), qdict_get(b, key));
}

static bool is_parse_error(const QObject *m)
{
    QObject *e = qdict_get(m, "error");
    return qdict_size(m) == 1 && g_strcmp0(qdict_get_str(e, "class"), "GenericError") == 0 &&
           g_str_has_prefix(qdict_get_str(e, "desc") ? qdict_get_str(e, "desc") : "", "JSON parse error, ");
}

static bool messages_match(Cmp mode, const char *qemu, const char *vms)
{
    g_autoptr(QObject) a = NULL;
    g_autoptr(QObject) b = NULL;
    if (!qemu || !vms || !qobject_from_json(qemu, strlen(qemu), &a, NULL) ||
        !qobject_from_json(vms, strlen(vms), &b, NULL)) {
        return false;
    }
    switch (mode) {
    case EXACT:
        return strcmp(qemu, vms) == 0;
    case SHAPE:
        return same_shape(a, b) && member_equal(a, b, "id") && member_equal(a, b, "event") &&
               qobject_equal(qdict_get(qdict_get(a, "error"), "class"),
                             qdict_get(qdict_get(b, "error"), "class"));
    case PARSE:
        return is_parse_error(a) && is_parse_error(b);
    case DIFFERENT:
        return true;
    }
    return false;
}

static char *printable(const char *bytes, size_t len)
{
    GString *s = g_string_new(NULL);
    for (size_t i = 0; i < len && i < 160; i++) {
        unsigned char c = (unsigned char)bytes[i];
        if (c == '\n') {
            g_string_append(s, "\\n");
        } else if (c < 0x20 || c >= 0x7f) {
            g_string_append_printf(s, "\\x%02x", c);
        } else {
            g_string_append_c(s, (char)c);
        }
    }
    if (len > 160) {
        g_string_append_printf(s, "... (%zu bytes)", len);
    }
    return g_string_free(s, FALSE);
}

static RawConn *open_conn(const char *address, bool negotiate, char **greeting)
{
    RawConn *c = raw_connect(address);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    char *g = raw_read_msg(c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    if (greeting) {
        *greeting = g;
    } else {
        g_free(g);
    }
    if (negotiate) {
        CU_ASSERT_TRUE(raw_send_str(c, "{\"execute\": \"qmp_capabilities\"}\r\n"));
        g_autofree char *r = raw_read_msg(c);
        ASSERT_STR_EQ(r, "{\"return\": {}}");
    }
    return c;
}

/*
 * Send chunks (NULL-terminated; a short pause between them) on a fresh
 * connection to each server, read one message per mode, compare.
 * expect_qemu/expect_vms: for DIFFERENT, the exact answers.
 */
static void compare_chunks(const char *name, bool negotiate, const char *const *chunks,
                           const size_t *lens, const Cmp *modes, int n,
                           const char *const *expect_qemu, const char *const *expect_vms)
{
    RawConn *q = open_conn(qemu_addr, negotiate, NULL);
    RawConn *v = open_conn(vms_addr, negotiate, NULL);

    printf("\n== %s%s\n", name, negotiate ? "" : " (before negotiation)");
    for (int i = 0; chunks[i]; i++) {
        size_t len = lens ? lens[i] : strlen(chunks[i]);
        g_autofree char *shown = printable(chunks[i], len);
        printf("   send:    %s\n", shown);
        CU_ASSERT_TRUE(raw_send(q, chunks[i], len));
        CU_ASSERT_TRUE(raw_send(v, chunks[i], len));
        if (chunks[i + 1]) {
            g_usleep(50000);
        }
    }
    for (int i = 0; i < n; i++) {
        /* Raw lines: EXACT means byte for byte (but the "\r\n"). */
        g_autofree char *a = raw_read_line(q);
        g_autofree char *b = raw_read_line(v);
        bool ok = messages_match(modes[i], a, b);
        if (modes[i] == DIFFERENT) {
            ok = g_strcmp0(a, expect_qemu[i]) == 0 && g_strcmp0(b, expect_vms[i]) == 0;
        }
        static const char *const mode_names[] = { "same", "same shape", "both parse errors",
                                                  "differs (documented)" };
        printf("   qemu:    %s\n   vmscope: %s\n   -> %s\n", a ? a : "(nothing)", b ? b : "(nothing)",
               ok ? mode_names[modes[i]] : "MISMATCH");
        CU_ASSERT_TRUE(ok);
    }
    raw_close(q);
    raw_close(v);
}

static void compare(const char *name, bool negotiate, const char *bytes, const Cmp *modes, int n)
{
    const char *chunks[] = { bytes, NULL };
    compare_chunks(name, negotiate, chunks, NULL, modes, n, NULL, NULL);
}

static const Cmp ALL_EXACT[] = { EXACT, EXACT, EXACT, EXACT, EXACT, EXACT, EXACT, EXACT, EXACT, EXACT };

/* ---- tests -------------------------------------------------------------- */

static void test_greeting(void)
{
    char *gq = NULL, *gv = NULL;
    RawConn *q = open_conn(qemu_addr, false, &gq);
    RawConn *v = open_conn(vms_addr, false, &gv);
    printf("\n== greeting\n   qemu:    %s\n   vmscope: %s\n", gq, gv);
    CU_ASSERT_TRUE(messages_match(SHAPE, gq, gv));
    CU_ASSERT_TRUE(g_str_has_prefix(gq, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": "));
    CU_ASSERT_TRUE(g_str_has_prefix(gv, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": "));
    CU_ASSERT_TRUE(g_str_has_suffix(gv, "}, \"package\": \"vmscope " PACKAGE_VERSION "\"}, \"capabilities\": []}}"));
    g_free(gq);
    g_free(gv);
    raw_close(q);
    raw_close(v);
}

static void test_before_negotiation(void)
{
    compare("commands before qmp_capabilities", false,
            "{\"execute\": \"query-version\"}\n"
            "{\"execute\": \"query-version\", \"id\": 1}\n"
            "{\"execute\": \"no-such-command\"}\n"
            "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"foo\": 1}}\n"
            "[1]\n"
            "{\"exec-oob\": \"query-version\"}\n"
            "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"xyz\"]}}\n"
            "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [1]}}\n"
            "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": \"oob\"}}\n",
            ALL_EXACT, 9);
}

static void test_negotiation(void)
{
    compare("qmp_capabilities twice", false,
            "{\"execute\": \"qmp_capabilities\"}{\"execute\": \"qmp_capabilities\", \"id\": \"again\"}"
            "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"oob\"]}}",
            ALL_EXACT, 3);

    /* QEMU offers OOB on a -qmp socket; vmscope offers no capability. */
    const char *chunks[] = { "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"oob\"]}}", NULL };
    const Cmp modes[] = { DIFFERENT };
    const char *q[] = { "{\"return\": {}}" };
    const char *v[] = { "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Capability 'oob' not available\"}}" };
    compare_chunks("enable oob", false, chunks, NULL, modes, 1, q, v);
}

static void test_unknown_command_and_ids(void)
{
    compare("unknown command, id echo", true,
            "{\"execute\": \"foo\"}\n"
            "{\"execute\": \"foo\", \"id\": \"s\"}\n"
            "{\"execute\": \"foo\", \"id\": 42}\n"
            "{\"execute\": \"foo\", \"id\": -1.5}\n"
            "{\"execute\": \"foo\", \"id\": 18446744073709551615}\n"
            "{\"execute\": \"foo\", \"id\": {\"a\": [1, {\"b\": null}]}}\n"
            "{\"execute\": \"foo\", \"id\": [1, \"x\"]}\n"
            "{\"execute\": \"foo\", \"id\": null}\n"
            "{\"id\": true, \"execute\": \"foo\"}\n",
            ALL_EXACT, 9);
    static const Cmp modes[] = { SHAPE, SHAPE, SHAPE };
    compare("success with id", true,
            "{\"execute\": \"query-version\", \"id\": \"v\"}\n"
            "{\"execute\": \"query-version\", \"id\": {\"n\": 1}}\n"
            "{\"execute\": \"qom-list\", \"arguments\": {\"path\": \"/\"}, \"id\": 7}\n",
            modes, 3);
}

static void test_arguments(void)
{
    compare("arguments", true,
            "{\"execute\": \"query-version\", \"arguments\": []}\n"
            "{\"execute\": \"query-version\", \"arguments\": null}\n"
            "{\"execute\": \"query-version\", \"arguments\": {\"a\": 1}}\n"
            "{\"execute\": \"qom-list\"}\n"
            "{\"execute\": \"qom-list\", \"arguments\": {}}\n"
            "{\"execute\": \"qom-list\", \"arguments\": {\"path\": 1}}\n"
            "{\"execute\": \"qom-list\", \"arguments\": {\"path\": null}}\n"
            "{\"execute\": \"qom-list\", \"arguments\": {\"path\": \"/\", \"x\": 1}}\n"
            "{\"execute\": \"qom-list\", \"arguments\": {\"path\": \"/nonexistent\"}, \"id\": 3}\n",
            ALL_EXACT, 9);
}

static void test_envelope(void)
{
    compare("request envelope", true,
            "\"str\"\n"
            "null\n"
            "{}\n"
            "{\"id\": 5}\n"
            "{\"execute\": 1}\n"
            "{\"execute\": \"query-version\", \"foo\": 1}\n"
            "{\"execute\": \"query-version\", \"exec-oob\": \"x\"}\n"
            "{'execute': 'foo', 'id': 'single-quoted'}\n",
            ALL_EXACT, 8);
}

static void test_malformed_json(void)
{
    static const Cmp pe[] = { PARSE, SHAPE };
    compare("malformed JSON, connection kept", true,
            "{\"a\":}\n{\"execute\": \"query-version\", \"id\": 1}\n", pe, 2);
    static const Cmp pe_exact[] = { PARSE, EXACT };
    compare("garbage then a command", true, "garbage {\"execute\": \"foo\"}\n", pe_exact, 2);
    compare("stray brace", true, "}\n{\"execute\": \"foo\"}\n", pe_exact, 2);
    compare("bad keyword in a value", true, "{\"execute\": foo}\n{\"execute\": \"foo\"}\n", pe_exact, 2);
    compare("missing comma", true, "{\"execute\": \"foo\" \"id\": 1}\n{\"execute\": \"foo\"}\n",
            pe_exact, 2);
    compare("invalid byte", true, "\xff{\"execute\": \"foo\"}\n", pe_exact, 2);
    compare("nested value with an error", true,
            "{\"a\": x, \"b\": {\"c\": 1}}\n{\"execute\": \"foo\"}\n", pe_exact, 2);

    GString *deep = g_string_new(NULL);
    for (int i = 0; i < 1025; i++) {
        g_string_append_c(deep, '[');
    }
    for (int i = 0; i < 1025; i++) {
        g_string_append_c(deep, ']');
    }
    g_string_append(deep, "\n{\"execute\": \"foo\"}\n");
    compare("nesting deeper than 1024", true, deep->str, ALL_EXACT, 1);

    /*
     * Documented difference: QEMU 7.2 then forgets the open brackets and
     * answers each of the 1025 "]" with a parse error; vmscope skips the
     * rest of the value and answers the next command.
     */
    RawConn *v = open_conn(vms_addr, true, NULL);
    CU_ASSERT_TRUE(raw_send(v, deep->str, deep->len));
    g_autofree char *limit = raw_read_msg(v);
    g_autofree char *next = raw_read_msg(v);
    printf("   vmscope then: %s\n   -> differs (documented): QEMU reports each remaining ']'\n",
           next ? next : "(nothing)");
    ASSERT_STR_EQ(limit, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON nesting depth limit exceeded\"}}");
    ASSERT_STR_EQ(next, "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command foo has not been found\"}}");
    raw_close(v);
    g_string_free(deep, TRUE);
}

/* Issue 12: what shares a write with a request, and numbers QEMU refuses. */
static void test_split_and_tokens(void)
{
    static const Cmp shape[] = { SHAPE };
    const char *utf8[] = { "{\"execute\": \"foo\", \"id\": \"\xc3", "\xa9\"}\n", NULL };
    compare_chunks("UTF-8 character split across writes", true, utf8, NULL, shape, 1, NULL, NULL);

    static const Cmp then_error[] = { EXACT, PARSE, EXACT };
    compare("a request then '/' in one write", true,
            "{\"execute\": \"foo\", \"id\": 1}/\n{\"execute\": \"foo\", \"id\": 2}\n", then_error, 3);
    compare("a request then an invalid byte in one write", true,
            "{\"execute\": \"foo\", \"id\": 1}\xff\n{\"execute\": \"foo\", \"id\": 2}\n",
            then_error, 3);
    compare("a request then a comment in one write", true,
            "{\"execute\": \"foo\", \"id\": 1} /* c */ {\"execute\": \"foo\", \"id\": 2}\n",
            then_error, 3);

    /* QEMU answers the rest of these values with more errors: one message each. */
    static const Cmp parse[] = { PARSE };
    static const char *const bad[] = { "00", "01", "123e", "1.", "-", "NaN", "True", "Infinity" };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *name = g_strdup_printf("id [%s] refused", bad[i]);
        g_autofree char *req = g_strdup_printf("{\"execute\": \"foo\", \"id\": [%s]}\n", bad[i]);
        compare(name, true, req, parse, 1);
    }

    /* Documented difference: QEMU rounds or writes inf; vmscope refuses. */
    static const Cmp modes[] = { DIFFERENT };
    static const struct {
        const char *name, *id, *qemu_id, *vms_desc;
    } beyond[] = {
        { "integer beyond 64 bits", "123456789012345678901234567890", "1.2345678901234568e+29",
          "integer '123456789012345678901234567890' is beyond 64 bits" },
        { "number beyond a double", "1e400", "inf", "number '1e400' is beyond the range of a double" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(beyond); i++) {
        g_autofree char *req = g_strdup_printf("{\"execute\": \"foo\", \"id\": [%s]}\n", beyond[i].id);
        g_autofree char *q = g_strdup_printf("{\"id\": [%s], \"error\": {\"class\": \"CommandNotFound\", "
                                             "\"desc\": \"The command foo has not been found\"}}",
                                             beyond[i].qemu_id);
        g_autofree char *v = g_strdup_printf("{\"error\": {\"class\": \"GenericError\", \"desc\": "
                                             "\"JSON parse error, %s at offset 59\"}}", beyond[i].vms_desc);
        const char *chunks[] = { req, NULL }, *qs[] = { q }, *vs[] = { v };
        compare_chunks(beyond[i].name, true, chunks, NULL, modes, 1, qs, vs);
    }
}

static void test_pipelining(void)
{
    static const Cmp modes[] = { EXACT, SHAPE, EXACT, EXACT };
    compare("pipelined in one write", true,
            "{\"execute\": \"foo\", \"id\": 1}{\"execute\": \"query-version\", \"id\": 2}"
            "{\"execute\": \"qom-list\", \"id\": 3}{\"execute\": \"bar\", \"id\": 4}",
            modes, 4);
    const char *chunks[] = { "{\"execute\": \"fo", "o\", \"id\": \"spl", "it\"}", NULL };
    compare_chunks("one request in three writes", true, chunks, NULL, ALL_EXACT, 1, NULL, NULL);
}

static void test_events(void)
{
    static const Cmp modes[] = { SHAPE, EXACT, SHAPE, EXACT };
    compare("events", true,
            "{\"execute\": \"stop\"}\n{\"execute\": \"cont\", \"id\": \"c\"}\n", modes, 4);
}

/* The client library against both servers. */
static void client_session(const char *address, bool is_qemu)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(QmpClient) c = qmp_client_connect(address, 10000, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);

    g_autoptr(QObject) version = NULL;
    CU_ASSERT_TRUE(qmp_client_execute(c, "query-version", NULL, &version, &err));
    ASSERT_NO_ERROR(err);
    int64_t major = -1;
    CU_ASSERT_TRUE(qnum_get_int(qdict_get(qdict_get(version, "qemu"), "major"), &major));
    CU_ASSERT_EQUAL(major, is_qemu ? 7 : 0);

    g_autoptr(QObject) cmds = NULL;
    CU_ASSERT_TRUE(qmp_client_execute(c, "query-commands", NULL, &cmds, &err));
    bool found = false;
    for (size_t i = 0; i < qlist_size(cmds); i++) {
        found |= g_strcmp0(qdict_get_str(qlist_get(cmds, i), "name"), "qom-list") == 0;
    }
    CU_ASSERT_TRUE(found);

    CU_ASSERT_FALSE(qmp_client_execute(c, "no-such-command", NULL, NULL, &err));
    CU_ASSERT_TRUE(g_error_matches(err, QMP_ERROR, QMP_ERROR_COMMAND_NOT_FOUND));
    ASSERT_ERROR(err, "The command no-such-command has not been found");

    CU_ASSERT_FALSE(qmp_client_execute(c, "qom-list", NULL, NULL, &err));
    CU_ASSERT_TRUE(g_error_matches(err, QMP_ERROR, QMP_ERROR_GENERIC_ERROR));
    ASSERT_ERROR(err, "Parameter 'path' is missing");

    g_autoptr(QObject) bad_path = qdict_new();
    qdict_put(bad_path, "path", qstring_from_str("/nonexistent"));
    CU_ASSERT_FALSE(qmp_client_execute(c, "qom-list", bad_path, NULL, &err));
    CU_ASSERT_TRUE(g_error_matches(err, QMP_ERROR, QMP_ERROR_DEVICE_NOT_FOUND));
    ASSERT_ERROR(err, "Device '/nonexistent' not found");

    CU_ASSERT_TRUE(qmp_client_execute(c, "stop", NULL, NULL, &err));
    ASSERT_NO_ERROR(err);
    g_autoptr(QObject) ev = qmp_client_wait_event(c, "STOP", 5000, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(qobject_type(qdict_get(qdict_get(ev, "timestamp"), "seconds")), QTYPE_INT);
    CU_ASSERT_TRUE(qmp_client_execute(c, "cont", NULL, NULL, &err));
    g_autoptr(QObject) ev2 = qmp_client_wait_event(c, "RESUME", 5000, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(qmp_client_event_count(c), 0);
}

static void test_client_qemu(void)
{
    client_session(qemu_addr, true);
}

static void test_client_vmscope(void)
{
    client_session(vms_addr, false);
}

static const CuTest compat_tests[] = {
    { "greeting", test_greeting },
    { "before_negotiation", test_before_negotiation },
    { "negotiation", test_negotiation },
    { "unknown_command_and_ids", test_unknown_command_and_ids },
    { "arguments", test_arguments },
    { "envelope", test_envelope },
    { "malformed_json", test_malformed_json },
    { "split_and_tokens", test_split_and_tokens },
    { "pipelining", test_pipelining },
    { "events", test_events },
    { "client_qemu", test_client_qemu },
    { "client_vmscope", test_client_vmscope },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "qmp-compat", compat_tests },
    { NULL, NULL },
};

/* QEMU dies with the test, whatever happens to the test. */
static void child_setup(gpointer data)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
}

static GSubprocess *start_qemu(const char *qemu, const char *sock)
{
    g_autofree char *qmp = g_strdup_printf("unix:%s,server=on,wait=off", sock);
    g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDIN_PIPE);
    g_subprocess_launcher_set_child_setup(l, child_setup, NULL, NULL);
    g_autoptr(GError) err = NULL;
    GSubprocess *p = g_subprocess_launcher_spawn(l, &err, qemu, "-machine", "none", "-nodefaults",
                                                 "-display", "none", "-qmp", qmp, NULL);
    if (!p) {
        fprintf(stderr, "cannot start %s: %s\n", qemu, err->message);
        return NULL;
    }
    /* Wait (bounded) for the socket to accept connections. */
    g_autofree char *addr = g_strdup_printf("unix:%s", sock);
    for (int i = 0; i < 500; i++) {
        g_autoptr(QmpClient) probe = qmp_client_open(addr, 1000, NULL);
        if (probe) {
            return p;
        }
        if (!g_subprocess_get_identifier(p)) {
            break;      /* QEMU exited */
        }
        g_usleep(20000);
    }
    fprintf(stderr, "QEMU did not open its QMP socket\n");
    g_subprocess_force_exit(p);
    g_subprocess_wait(p, NULL, NULL);
    g_object_unref(p);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *qemu = getenv("QEMU");
    g_autofree char *found = NULL;
    if (!qemu || !*qemu) {
        qemu = found = g_find_program_in_path("qemu-system-x86_64");
    }
    if (!qemu || !g_file_test(qemu, G_FILE_TEST_IS_EXECUTABLE)) {
        printf("SKIP: qemu-system-x86_64 not found (set QEMU)\n");
        return 77;
    }

    g_autoptr(GError) err = NULL;
    g_autofree char *tmpdir = g_dir_make_tmp("vmscope-qmpc-XXXXXX", &err);
    if (!tmpdir) {
        fprintf(stderr, "mkdtemp: %s\n", err->message);
        return 1;
    }
    g_autofree char *qsock = g_build_filename(tmpdir, "qemu.sock", NULL);
    g_autofree char *vsock = g_build_filename(tmpdir, "vmscope.sock", NULL);
    qemu_addr = g_strdup_printf("unix:%s", qsock);
    g_autofree char *vaddr = g_strdup_printf("unix:%s", vsock);

    int rc = 1;
    GSubprocess *qemu_proc = start_qemu(qemu, qsock);
    g_autofree char *server = test_program_path(argv[0], "qmp-test-server");
    const char *sargv[] = { server, vaddr, NULL };
    TestServer *srv = qemu_proc ? test_server_start(sargv, 1) : NULL;
    if (qemu_proc && srv) {
        vms_addr = srv->addresses[0];
        printf("QEMU: %s\n", qemu);
        rc = cutest_run(suites);
    }

    if (srv && test_server_stop(srv) != 0) {
        rc = 1;
    }
    if (qemu_proc) {
        g_subprocess_send_signal(qemu_proc, SIGTERM);
        g_subprocess_wait(qemu_proc, NULL, NULL);
        g_object_unref(qemu_proc);
    }
    g_unlink(qsock);
    g_unlink(vsock);
    if (g_rmdir(tmpdir) != 0) {
        fprintf(stderr, "cannot remove %s: %s\n", tmpdir, g_strerror(errno));
        rc = 1;
    }
    g_free(qemu_addr);
    return rc;
}

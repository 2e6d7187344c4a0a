/*
 * Unit tests for bridge/qmp-dispatch: exact responses, as QEMU 7.2 words
 * them (checked against qemu-system-x86_64 7.2, see docs/qmp.md).
 */
#include "config.h"

#include <stdio.h>

#include "cutest.h"
#include "bridge/qmp-dispatch.h"
#include "bridge/qmp-json.h"
#include "vmscope/error.h"

/* ---- test commands ------------------------------------------------------ */

static bool cmd_echo(QObject *args, QObject **ret, void *opaque, GError **errp)
{
    *ret = qobject_ref(args);
    return true;
}

static bool cmd_nothing(QObject *args, QObject **ret, void *opaque, GError **errp)
{
    return true;
}

static bool cmd_fail(QObject *args, QObject **ret, void *opaque, GError **errp)
{
    const char *how = qdict_get_str(args, "how");
    if (g_strcmp0(how, "device") == 0) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_DEVICE_NOT_FOUND, "Device '%s' not found", "/h/x");
    } else if (g_strcmp0(how, "vms") == 0) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_NOT_FOUND, "/h/x: no such device");
    } else if (g_strcmp0(how, "silent") == 0) {
        /* returns false and says nothing: a bug the dispatcher survives */
    } else {
        *ret = qnum_from_int(1);    /* leaked on failure? the dispatcher frees it */
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC_ERROR, "failed: %s", how);
    }
    return false;
}

static bool cmd_emit(QObject *args, QObject **ret, void *opaque, GError **errp)
{
    QObject *data = qdict_new();
    qdict_put(data, "path", qstring_from_str("/h/x"));
    qmp_dispatcher_emit_event(opaque, "DEVICE_ADDED", data);
    return true;
}

static const QmpArgSpec echo_args[] = {
    { "path", QMP_ARG_STR, false },
    { "count", QMP_ARG_INT, true },
    { "size", QMP_ARG_UINT, true },
    { "ratio", QMP_ARG_NUMBER, true },
    { "flag", QMP_ARG_BOOL, true },
    { "opts", QMP_ARG_OBJECT, true },
    { "list", QMP_ARG_ARRAY, true },
    { "any", QMP_ARG_ANY, true },
    QMP_ARGS_END,
};

static const QmpArgSpec fail_args[] = {
    { "how", QMP_ARG_STR, false },
    QMP_ARGS_END,
};

static QmpDispatcher *make_dispatcher(void)
{
    QmpDispatcher *d = qmp_dispatcher_new();
    qmp_dispatcher_set_version(d, 7, 2, 22, "test-package");
    qmp_dispatcher_register_query_version(d);
    qmp_dispatcher_register_query_commands(d);
    qmp_dispatcher_register(d, "echo", echo_args, cmd_echo, NULL);
    qmp_dispatcher_register(d, "nothing", NULL, cmd_nothing, NULL);
    qmp_dispatcher_register(d, "fail", fail_args, cmd_fail, NULL);
    qmp_dispatcher_register(d, "emit", NULL, cmd_emit, d);
    return d;
}

/* Dispatch a request given as JSON text; the response as QMP text. */
static char *run(QmpDispatcher *d, bool *negotiated, const char *request)
{
    g_autoptr(QObject) req = NULL;
    g_autoptr(GError) err = NULL;
    if (!qobject_from_json(request, strlen(request), &req, &err)) {
        fprintf(stderr, "bad test JSON %s: %s\n", request, err->message);
        CU_FAIL_FATAL("bad test JSON");
    }
    g_autoptr(QObject) rsp = qmp_dispatch(d, req, negotiated);
    return qmp_json_format(rsp);
}

#define CHECK(d, neg, request, expected)                                             \
    do {                                                                             \
        g_autofree char *got_ = run((d), (neg), (request));                          \
        ASSERT_STR_EQ(got_, (expected));                                             \
    } while (0)

#define NEED_CAPS "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": " \
                  "\"Expecting capabilities negotiation with 'qmp_capabilities'\"}}"
#define GENERIC(desc) "{\"error\": {\"class\": \"GenericError\", \"desc\": \"" desc "\"}}"

/* ---- tests -------------------------------------------------------------- */

static void test_negotiation(void)
{
    g_autoptr(QmpDispatcher) d = make_dispatcher();
    bool neg = false;

    CHECK(d, &neg, "{\"execute\": \"query-version\"}", NEED_CAPS);
    CHECK(d, &neg, "{\"execute\": \"no-such-command\"}", NEED_CAPS);
    CHECK(d, &neg, "{\"execute\": \"query-version\", \"id\": 1}",
          "{\"id\": 1, \"error\": {\"class\": \"CommandNotFound\", \"desc\": "
          "\"Expecting capabilities negotiation with 'qmp_capabilities'\"}}");
    /* Envelope errors are not rewritten. */
    CHECK(d, &neg, "[1]", GENERIC("QMP input must be a JSON object"));
    CHECK(d, &neg, "{\"id\": 5}",
          "{\"id\": 5, \"error\": {\"class\": \"GenericError\", "
          "\"desc\": \"QMP input lacks member 'execute'\"}}");
    /* qmp_capabilities' own argument errors. */
    CHECK(d, &neg, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"foo\": 1}}",
          GENERIC("Parameter 'foo' is unexpected"));
    CHECK(d, &neg, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": \"oob\"}}",
          GENERIC("Invalid parameter type for 'enable', expected: array"));
    CHECK(d, &neg, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": null}}",
          GENERIC("Invalid parameter type for 'enable', expected: array"));
    CHECK(d, &neg, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"oob\", 3]}}",
          GENERIC("Invalid parameter type for 'enable[1]', expected: string"));
    CHECK(d, &neg, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"xyz\"]}}",
          GENERIC("Parameter 'null' does not accept value 'xyz'"));
    CHECK(d, &neg, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"oob\"]}}",
          GENERIC("Capability 'oob' not available"));
    CU_ASSERT_FALSE(neg);

    CHECK(d, &neg, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": []}, \"id\": \"c\"}",
          "{\"return\": {}, \"id\": \"c\"}");
    CU_ASSERT_TRUE(neg);

    CHECK(d, &neg, "{\"execute\": \"qmp_capabilities\"}",
          "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": "
          "\"Capabilities negotiation is already complete, command ignored\"}}");
    CHECK(d, &neg, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"oob\"]}}",
          "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": "
          "\"Capabilities negotiation is already complete, command ignored\"}}");
    /* Argument checks come first, as in QEMU's marshaller. */
    CHECK(d, &neg, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"foo\": 1}}",
          GENERIC("Parameter 'foo' is unexpected"));
    CHECK(d, &neg, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"xyz\"]}}",
          GENERIC("Parameter 'null' does not accept value 'xyz'"));
    CU_ASSERT_TRUE(neg);
}

static void test_envelope(void)
{
    g_autoptr(QmpDispatcher) d = make_dispatcher();
    bool neg = true;

    CHECK(d, &neg, "\"str\"", GENERIC("QMP input must be a JSON object"));
    CHECK(d, &neg, "null", GENERIC("QMP input must be a JSON object"));
    CHECK(d, &neg, "{}", GENERIC("QMP input lacks member 'execute'"));
    CHECK(d, &neg, "{\"execute\": 1}", GENERIC("QMP input member 'execute' must be a string"));
    CHECK(d, &neg, "{\"execute\": \"nothing\", \"arguments\": []}",
          GENERIC("QMP input member 'arguments' must be an object"));
    CHECK(d, &neg, "{\"execute\": \"nothing\", \"arguments\": null}",
          GENERIC("QMP input member 'arguments' must be an object"));
    CHECK(d, &neg, "{\"execute\": \"nothing\", \"control\": {}}",
          GENERIC("QMP input member 'control' is unexpected"));
    CHECK(d, &neg, "{\"exec-oob\": \"nothing\"}",
          GENERIC("QMP input member 'exec-oob' is unexpected"));
    CHECK(d, &neg, "{\"execute\": \"nothing\", \"exec-oob\": \"nothing\"}",
          GENERIC("QMP input member 'exec-oob' is unexpected"));
    CHECK(d, &neg, "{\"execute\": \"foo\"}",
          "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command foo has not been found\"}}");
    CHECK(d, &neg, "{\"execute\": \"foo\", \"id\": {\"a\": [1]}}",
          "{\"id\": {\"a\": [1]}, \"error\": {\"class\": \"CommandNotFound\", "
          "\"desc\": \"The command foo has not been found\"}}");
}

static void test_id_echo(void)
{
    g_autoptr(QmpDispatcher) d = make_dispatcher();
    bool neg = true;

    CHECK(d, &neg, "{\"execute\": \"nothing\"}", "{\"return\": {}}");
    CHECK(d, &neg, "{\"execute\": \"nothing\", \"id\": \"abc\"}", "{\"return\": {}, \"id\": \"abc\"}");
    CHECK(d, &neg, "{\"id\": 42, \"execute\": \"nothing\"}", "{\"return\": {}, \"id\": 42}");
    CHECK(d, &neg, "{\"execute\": \"nothing\", \"id\": [1, 2]}", "{\"return\": {}, \"id\": [1, 2]}");
    CHECK(d, &neg, "{\"execute\": \"nothing\", \"id\": {\"x\": {\"y\": null}}}",
          "{\"return\": {}, \"id\": {\"x\": {\"y\": null}}}");
    CHECK(d, &neg, "{\"execute\": \"nothing\", \"id\": null}", "{\"return\": {}, \"id\": null}");
    CHECK(d, &neg, "{\"execute\": \"nothing\", \"id\": true}", "{\"return\": {}, \"id\": true}");
    CHECK(d, &neg, "{\"execute\": \"nothing\", \"id\": 18446744073709551615}",
          "{\"return\": {}, \"id\": 18446744073709551615}");
    CHECK(d, &neg, "{\"execute\": \"nothing\", \"id\": -1.5}", "{\"return\": {}, \"id\": -1.5}");
}

static void test_arguments(void)
{
    g_autoptr(QmpDispatcher) d = make_dispatcher();
    bool neg = true;

    CHECK(d, &neg, "{\"execute\": \"echo\"}", GENERIC("Parameter 'path' is missing"));
    CHECK(d, &neg, "{\"execute\": \"echo\", \"arguments\": {}}", GENERIC("Parameter 'path' is missing"));
    /* Missing is reported before unexpected. */
    CHECK(d, &neg, "{\"execute\": \"echo\", \"arguments\": {\"foo\": 1}}",
          GENERIC("Parameter 'path' is missing"));
    CHECK(d, &neg, "{\"execute\": \"echo\", \"arguments\": {\"path\": \"/\", \"foo\": 1}}",
          GENERIC("Parameter 'foo' is unexpected"));
    CHECK(d, &neg, "{\"execute\": \"nothing\", \"arguments\": {\"a\": 1}}",
          GENERIC("Parameter 'a' is unexpected"));
    CHECK(d, &neg, "{\"execute\": \"nothing\", \"arguments\": {}}", "{\"return\": {}}");

    CHECK(d, &neg, "{\"execute\": \"echo\", \"arguments\": {\"path\": 1}}",
          GENERIC("Invalid parameter type for 'path', expected: string"));
    CHECK(d, &neg, "{\"execute\": \"echo\", \"arguments\": {\"path\": null}}",
          GENERIC("Invalid parameter type for 'path', expected: string"));
    CHECK(d, &neg, "{\"execute\": \"echo\", \"arguments\": {\"path\": [\"a\"]}}",
          GENERIC("Invalid parameter type for 'path', expected: string"));
    CHECK(d, &neg, "{\"execute\": \"echo\", \"arguments\": {\"path\": \"/\", \"count\": \"1\"}}",
          GENERIC("Invalid parameter type for 'count', expected: integer"));
    CHECK(d, &neg, "{\"execute\": \"echo\", \"arguments\": {\"path\": \"/\", \"count\": 1.5}}",
          GENERIC("Invalid parameter type for 'count', expected: integer"));
    CHECK(d, &neg, "{\"execute\": \"echo\", \"arguments\": {\"path\": \"/\", \"count\": 9223372036854775808}}",
          GENERIC("Invalid parameter type for 'count', expected: integer"));
    CHECK(d, &neg, "{\"execute\": \"echo\", \"arguments\": {\"path\": \"/\", \"size\": -1}}",
          GENERIC("Parameter 'size' expects uint64"));
    CHECK(d, &neg, "{\"execute\": \"echo\", \"arguments\": {\"path\": \"/\", \"size\": true}}",
          GENERIC("Parameter 'size' expects uint64"));
    CHECK(d, &neg, "{\"execute\": \"echo\", \"arguments\": {\"path\": \"/\", \"ratio\": \"x\"}}",
          GENERIC("Invalid parameter type for 'ratio', expected: number"));
    CHECK(d, &neg, "{\"execute\": \"echo\", \"arguments\": {\"path\": \"/\", \"flag\": 1}}",
          GENERIC("Invalid parameter type for 'flag', expected: boolean"));
    CHECK(d, &neg, "{\"execute\": \"echo\", \"arguments\": {\"path\": \"/\", \"opts\": []}}",
          GENERIC("Invalid parameter type for 'opts', expected: object"));
    CHECK(d, &neg, "{\"execute\": \"echo\", \"arguments\": {\"path\": \"/\", \"list\": {}}}",
          GENERIC("Invalid parameter type for 'list', expected: array"));

    CHECK(d, &neg,
          "{\"execute\": \"echo\", \"arguments\": {\"path\": \"/p\", \"count\": -9223372036854775808, "
          "\"size\": 18446744073709551615, \"ratio\": 2, \"flag\": false, \"opts\": {\"a\": 1}, "
          "\"list\": [], \"any\": null}, \"id\": 7}",
          "{\"return\": {\"path\": \"/p\", \"count\": -9223372036854775808, "
          "\"size\": 18446744073709551615, \"ratio\": 2, \"flag\": false, \"opts\": {\"a\": 1}, "
          "\"list\": [], \"any\": null}, \"id\": 7}");
    CHECK(d, &neg, "{\"execute\": \"echo\", \"arguments\": {\"ratio\": 0.25, \"path\": \"\"}}",
          "{\"return\": {\"ratio\": 0.25, \"path\": \"\"}}");
}

static void test_handler_errors(void)
{
    g_autoptr(QmpDispatcher) d = make_dispatcher();
    bool neg = true;

    CHECK(d, &neg, "{\"execute\": \"fail\", \"arguments\": {\"how\": \"device\"}, \"id\": 3}",
          "{\"id\": 3, \"error\": {\"class\": \"DeviceNotFound\", \"desc\": \"Device '/h/x' not found\"}}");
    CHECK(d, &neg, "{\"execute\": \"fail\", \"arguments\": {\"how\": \"vms\"}}",
          GENERIC("/h/x: no such device"));
    CHECK(d, &neg, "{\"execute\": \"fail\", \"arguments\": {\"how\": \"plain\"}}",
          GENERIC("failed: plain"));
    CHECK(d, &neg, "{\"execute\": \"fail\", \"arguments\": {\"how\": \"silent\"}}",
          GENERIC("command 'fail' failed without saying why"));
}

static void test_builtins(void)
{
    g_autoptr(QmpDispatcher) d = make_dispatcher();
    bool neg = true;

    CHECK(d, &neg, "{\"execute\": \"query-version\"}",
          "{\"return\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, "
          "\"package\": \"test-package\"}}");
    CHECK(d, &neg, "{\"execute\": \"query-version\", \"arguments\": {\"x\": 1}}",
          GENERIC("Parameter 'x' is unexpected"));
    CHECK(d, &neg, "{\"execute\": \"query-commands\"}",
          "{\"return\": [{\"name\": \"qmp_capabilities\"}, {\"name\": \"query-version\"}, "
          "{\"name\": \"query-commands\"}, {\"name\": \"echo\"}, {\"name\": \"nothing\"}, "
          "{\"name\": \"fail\"}, {\"name\": \"emit\"}]}");

    g_autoptr(QObject) greeting = qmp_dispatcher_greeting(d);
    g_autofree char *g = qmp_json_format(greeting);
    ASSERT_STR_EQ(g, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, "
                     "\"package\": \"test-package\"}, \"capabilities\": []}}");

    CU_ASSERT_TRUE(qmp_dispatcher_unregister(d, "nothing"));
    CU_ASSERT_FALSE(qmp_dispatcher_unregister(d, "nothing"));
    CU_ASSERT_FALSE(qmp_dispatcher_unregister(d, "qmp_capabilities"));
    CU_ASSERT_FALSE(qmp_dispatcher_has_command(d, "nothing"));
    CU_ASSERT_TRUE(qmp_dispatcher_has_command(d, "echo"));
    g_auto(GStrv) names = qmp_dispatcher_list_commands(d);
    g_autofree char *joined = g_strjoinv(",", names);
    ASSERT_STR_EQ(joined, "qmp_capabilities,query-version,query-commands,echo,fail,emit");
    CHECK(d, &neg, "{\"execute\": \"nothing\"}",
          "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command nothing has not been found\"}}");
}

static void test_default_version(void)
{
    g_autoptr(QmpDispatcher) d = qmp_dispatcher_new();
    unsigned major = 0, minor = 0, micro = 0;
    CU_ASSERT_EQUAL(sscanf(PACKAGE_VERSION, "%u.%u.%u", &major, &minor, &micro), 3);
    g_autofree char *expected = g_strdup_printf(
        "{\"qemu\": {\"micro\": %u, \"minor\": %u, \"major\": %u}, \"package\": \"vmscope %s\"}",
        micro, minor, major, PACKAGE_VERSION);
    g_autoptr(QObject) v = qmp_dispatcher_version(d);
    g_autofree char *got = qmp_json_format(v);
    ASSERT_STR_EQ(got, expected);

    /* Built-ins are opt-in. */
    bool neg = true;
    CHECK(d, &neg, "{\"execute\": \"query-version\"}",
          "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command query-version has not been found\"}}");
}

static void test_call(void)
{
    g_autoptr(QmpDispatcher) d = make_dispatcher();
    g_autoptr(GError) err = NULL;
    g_autoptr(QObject) ret = NULL;

    g_autoptr(QObject) args = qdict_new();
    qdict_put(args, "path", qstring_from_str("/a/b"));
    CU_ASSERT_TRUE(qmp_dispatcher_call(d, "echo", args, &ret, &err));
    ASSERT_NO_ERROR(err);
    g_autofree char *r = qmp_json_format(ret);
    ASSERT_STR_EQ(r, "{\"path\": \"/a/b\"}");

    QObject *none = NULL;
    CU_ASSERT_TRUE(qmp_dispatcher_call(d, "nothing", NULL, &none, &err));
    g_autofree char *r2 = qmp_json_format(none);
    ASSERT_STR_EQ(r2, "{}");
    qobject_unref(none);

    CU_ASSERT_FALSE(qmp_dispatcher_call(d, "echo", NULL, &none, &err));
    CU_ASSERT_EQUAL(err->domain, QMP_ERROR);
    CU_ASSERT_EQUAL(err->code, QMP_ERROR_GENERIC_ERROR);
    ASSERT_ERROR(err, "Parameter 'path' is missing");

    CU_ASSERT_FALSE(qmp_dispatcher_call(d, "missing", NULL, &none, &err));
    CU_ASSERT_EQUAL(err->code, QMP_ERROR_COMMAND_NOT_FOUND);
    ASSERT_ERROR(err, "The command missing has not been found");

    g_autoptr(QObject) how = qdict_new();
    qdict_put(how, "how", qstring_from_str("vms"));
    CU_ASSERT_FALSE(qmp_dispatcher_call(d, "fail", how, &none, &err));
    CU_ASSERT_EQUAL(err->domain, QMP_ERROR);
    CU_ASSERT_EQUAL(err->code, QMP_ERROR_GENERIC_ERROR);
    ASSERT_ERROR(err, "/h/x: no such device");

    g_autoptr(QObject) bad = qlist_new();
    CU_ASSERT_FALSE(qmp_dispatcher_call(d, "nothing", bad, &none, &err));
    ASSERT_ERROR(err, "QMP input member 'arguments' must be an object");

    CU_ASSERT_FALSE(qmp_dispatcher_call(d, "qmp_capabilities", NULL, &none, &err));
    CU_ASSERT_EQUAL(err->code, QMP_ERROR_COMMAND_NOT_FOUND);
    ASSERT_ERROR(err, "Capabilities negotiation is already complete, command ignored");
}

static void test_error_classes(void)
{
    QmpErrorClass cls;
    static const char *const names[] = {
        "GenericError", "CommandNotFound", "DeviceNotActive", "DeviceNotFound", "KVMMissingCap",
    };
    for (int i = 0; i < 5; i++) {
        ASSERT_STR_EQ(qmp_error_class_name((QmpErrorClass)i), names[i]);
        CU_ASSERT_TRUE(qmp_error_class_from_name(names[i], &cls));
        CU_ASSERT_EQUAL(cls, (QmpErrorClass)i);
    }
    CU_ASSERT_FALSE(qmp_error_class_from_name("NoSuchClass", &cls));
    CU_ASSERT_FALSE(qmp_error_class_from_name(NULL, &cls));

    g_autoptr(GError) e = g_error_new(QMP_ERROR, QMP_ERROR_DEVICE_NOT_ACTIVE, "not active");
    g_autoptr(QObject) rsp = qmp_error_response(e);
    g_autofree char *text = qmp_json_format(rsp);
    ASSERT_STR_EQ(text, "{\"error\": {\"class\": \"DeviceNotActive\", \"desc\": \"not active\"}}");
    g_autoptr(GError) io = g_error_new(VMS_ERROR, VMS_ERROR_IO, "io");
    CU_ASSERT_EQUAL(qmp_error_class_of(io), QMP_ERROR_GENERIC_ERROR);
}

/* ---- events ------------------------------------------------------------- */

typedef struct EventLog {
    GPtrArray *events;      /* char *, QMP text */
    QmpDispatcher *d;
    guint self_id;
    bool remove_self;
} EventLog;

static void on_event(QObject *ev, void *opaque)
{
    EventLog *log = opaque;
    QObject *ts = qdict_get(ev, "timestamp");
    int64_t sec = -1, usec = -1;
    CU_ASSERT_EQUAL(qdict_size(ts), 2);
    CU_ASSERT_TRUE(qnum_get_int(qdict_get(ts, "seconds"), &sec));
    CU_ASSERT_TRUE(qnum_get_int(qdict_get(ts, "microseconds"), &usec));
    CU_ASSERT_TRUE(sec > 1600000000);
    CU_ASSERT_TRUE(usec >= 0 && usec < 1000000);

    /* Record without the timestamp, which changes. */
    g_autoptr(QObject) copy = qobject_copy(ev);
    qdict_del(copy, "timestamp");
    g_ptr_array_add(log->events, qmp_json_format(copy));
    if (log->remove_self) {
        qmp_dispatcher_remove_event_listener(log->d, log->self_id);
    }
}

static void test_events(void)
{
    g_autoptr(QmpDispatcher) d = make_dispatcher();
    EventLog a = { .events = g_ptr_array_new_with_free_func(g_free), .d = d };
    EventLog b = { .events = g_ptr_array_new_with_free_func(g_free), .d = d, .remove_self = true };
    a.self_id = qmp_dispatcher_add_event_listener(d, on_event, &a);
    b.self_id = qmp_dispatcher_add_event_listener(d, on_event, &b);
    bool neg = true;

    CHECK(d, &neg, "{\"execute\": \"emit\", \"id\": 1}", "{\"return\": {}, \"id\": 1}");
    qmp_dispatcher_emit_event(d, "HOST_LOST", NULL);
    CU_ASSERT_EQUAL_FATAL(a.events->len, 2);
    ASSERT_STR_EQ(g_ptr_array_index(a.events, 0), "{\"event\": \"DEVICE_ADDED\", \"data\": {\"path\": \"/h/x\"}}");
    ASSERT_STR_EQ(g_ptr_array_index(a.events, 1), "{\"event\": \"HOST_LOST\"}");
    CU_ASSERT_EQUAL(b.events->len, 1);      /* removed itself during the first */

    qmp_dispatcher_remove_event_listener(d, a.self_id);
    qmp_dispatcher_emit_event(d, "HOST_LOST", NULL);
    CU_ASSERT_EQUAL(a.events->len, 2);

    g_autoptr(QObject) ev = qmp_event_new("STOP", NULL);
    g_autofree char *text = qmp_json_format(ev);
    CU_ASSERT_TRUE(g_str_has_prefix(text, "{\"timestamp\": {\"seconds\": "));
    CU_ASSERT_TRUE(g_str_has_suffix(text, "}, \"event\": \"STOP\"}"));

    g_ptr_array_free(a.events, TRUE);
    g_ptr_array_free(b.events, TRUE);
}

static const CuTest dispatch_tests[] = {
    { "negotiation", test_negotiation },
    { "envelope", test_envelope },
    { "id_echo", test_id_echo },
    { "arguments", test_arguments },
    { "handler_errors", test_handler_errors },
    { "builtins", test_builtins },
    { "default_version", test_default_version },
    { "call", test_call },
    { "error_classes", test_error_classes },
    { "events", test_events },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "qmp-dispatch", dispatch_tests },
    { NULL, NULL },
};

CUTEST_MAIN(suites)

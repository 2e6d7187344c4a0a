/*
 * Unit tests for the JSON-schema output visitor and vmstate_json_schema():
 * the exact schema of a small description, the schema of plain walks, and
 * python3-jsonschema's verdict: the schema is a valid draft-07 schema, the
 * JSON of a state validates, and states with a value out of range, of the
 * wrong type or with an extra field do not.
 */
#include "config.h"

#include <sys/wait.h>
#include <glib/gstdio.h>

#include "cutest.h"
#include "vmscope/json-schema-visitor.h"
#include "vmscope/qobject-visitor.h"
#include "vmscope/vmstate.h"
#include "vmstate-test-dev.h"

typedef struct Uart {
    uint16_t divider;
    uint8_t fifo[4];
    uint32_t regs[2];
    uint8_t n;
    uint16_t queue[4];
    int64_t expiry;
} Uart;

static const VMStateDescription vmstate_uart_timer = {
    .name = "uart/timer", .version_id = 1, .minimum_version_id = 1,
    .fields = (const VMStateField[]) { VMSTATE_INT64(expiry, Uart), VMSTATE_END_OF_LIST() },
};

static const VMStateDescription vmstate_uart = {
    .name = "uart", .version_id = 2, .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT16(divider, Uart),
        VMSTATE_BUFFER(fifo, Uart),
        VMSTATE_UINT32_ARRAY_V(regs, Uart, 2, 2),
        VMSTATE_UINT8(n, Uart),
        VMSTATE_VARRAY_UINT8(queue, Uart, n, 0, vmstate_info_uint16, uint16_t),
        VMSTATE_END_OF_LIST()
    },
    .subsections = (const VMStateDescription *const[]) { &vmstate_uart_timer, NULL },
};

static const char UART_SCHEMA[] =
    "{\"$schema\":\"http://json-schema.org/draft-07/schema#\",\"type\":\"object\","
    "\"title\":\"uart\",\"description\":\"VMState description uart, version 2\","
    "\"$comment\":\"vmsd uart version 2\",\"properties\":{"
    "\"divider\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":65535,\"description\":\"uint16\"},"
    "\"fifo\":{\"type\":\"string\",\"pattern\":\"^[0-9a-fA-F]{8}$\",\"description\":\"buffer\"},"
    "\"regs\":{\"type\":\"array\",\"minItems\":2,\"maxItems\":2,\"items\":{\"type\":\"integer\","
    "\"minimum\":0,\"maximum\":4294967295},\"description\":\"uint32[2]\","
    "\"$comment\":\"since version 2\"},"
    "\"n\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":255,\"description\":\"uint8\"},"
    "\"queue\":{\"type\":\"array\",\"minItems\":0,\"maxItems\":4,\"items\":{\"type\":\"integer\","
    "\"minimum\":0,\"maximum\":65535},\"description\":\"uint16[up to 4]\"},"
    "\"uart/timer\":{\"type\":\"object\",\"title\":\"uart/timer\","
    "\"description\":\"subsection uart/timer, version 1\",\"$comment\":\"vmsd uart/timer version 1\","
    "\"properties\":{\"expiry\":{\"type\":\"integer\",\"minimum\":-9223372036854775808,"
    "\"maximum\":9223372036854775807,\"description\":\"int64\"}},\"required\":[\"expiry\"],"
    "\"additionalProperties\":false}},"
    "\"required\":[\"divider\",\"fifo\",\"regs\",\"n\",\"queue\"],\"additionalProperties\":false}";

static void test_exact_schema(void)
{
    GError *err = NULL;
    g_autoptr(QObject) s = vmstate_json_schema(&vmstate_uart, sizeof(Uart), &err);
    ASSERT_NO_ERROR(err);
    g_autofree char *json = qobject_to_json(s, false);
    ASSERT_STR_EQ(json, UART_SCHEMA);
}

/* A plain walk: lists of unlike elements, and what the VMState engine never visits. */
static void test_plain_walk(void)
{
    GError *err = NULL;
    Visitor *v = json_schema_output_visitor_new();
    size_t n = 2;
    bool b = true;
    uint64_t u = 1;
    char *str = "x";
    double d = 1.5;
    CU_ASSERT_TRUE(visit_start_struct(v, NULL, NULL, &err));
    CU_ASSERT_TRUE(visit_start_list(v, "mixed", &n, &err));
    visit_next_list(v);
    CU_ASSERT_TRUE(visit_type_bool(v, NULL, &b, &err));
    visit_next_list(v);
    CU_ASSERT_TRUE(visit_type_null(v, NULL, &err));
    visit_end_list(v);
    bool present = false;
    CU_ASSERT_TRUE(visit_optional(v, "opt", &present));     /* always visited */
    CU_ASSERT_TRUE(present);
    CU_ASSERT_TRUE(visit_type_uint64(v, "opt", &u, &err));
    CU_ASSERT_TRUE(visit_type_str(v, "s", &str, &err));
    CU_ASSERT_TRUE(visit_type_number(v, "d", &d, &err));
    visit_end_struct(v);
    g_autoptr(QObject) s = json_schema_output_visitor_take(v);
    visit_free(v);
    ASSERT_NO_ERROR(err);
    g_autofree char *json = qobject_to_json(s, false);
    ASSERT_STR_EQ(json,
        "{\"$schema\":\"http://json-schema.org/draft-07/schema#\",\"type\":\"object\","
        "\"properties\":{\"mixed\":{\"type\":\"array\",\"minItems\":2,\"maxItems\":2,"
        "\"items\":[{\"type\":\"boolean\"},{\"type\":\"null\"}],\"additionalItems\":false},"
        "\"opt\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":18446744073709551615},"
        "\"s\":{\"type\":\"string\"},\"d\":{\"type\":\"number\"}},"
        "\"required\":[\"mixed\",\"s\",\"d\"],\"additionalProperties\":false}");
}

/* ---- python3-jsonschema ------------------------------------------------- */

static const char VALIDATE_PY[] =
    "import json, sys\n"
    "import jsonschema\n"
    "schema = json.load(open(sys.argv[1]))\n"
    "jsonschema.Draft7Validator.check_schema(schema)\n"
    "v = jsonschema.Draft7Validator(schema)\n"
    "for path in sys.argv[2:]:\n"
    "    errors = list(v.iter_errors(json.load(open(path))))\n"
    "    print('valid' if not errors else 'invalid')\n";

/*
 * Validate each instance against schema with python3-jsonschema: one line
 * per instance, "valid" or "invalid"; NULL if python or the module is
 * missing, or the schema is not a valid draft-07 schema.
 */
static char *validate(const QObject *schema, const QObject *const *instances, size_t n)
{
    GError *err = NULL;
    g_autofree char *dir = g_dir_make_tmp("test-json-schema-XXXXXX", &err);
    g_assert_no_error(err);
    GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(argv, g_strdup("python3"));
    g_ptr_array_add(argv, g_strdup("-c"));
    g_ptr_array_add(argv, g_strdup(VALIDATE_PY));
    for (size_t i = 0; i <= n; i++) {
        g_autofree char *text = qobject_to_json(i == 0 ? schema : instances[i - 1], false);
        char *file = g_strdup_printf("%s/%zu.json", dir, i);
        g_assert_true(g_file_set_contents(file, text, -1, &err));
        g_ptr_array_add(argv, file);
    }
    g_ptr_array_add(argv, NULL);
    char *out = NULL, *errout = NULL;
    int status = -1;
    bool ran = g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                            &out, &errout, &status, &err);
    for (size_t i = 3; i < argv->len - 1; i++) {
        g_unlink(g_ptr_array_index(argv, i));
    }
    g_rmdir(dir);
    g_ptr_array_unref(argv);
    if (!ran || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "\npython3-jsonschema: %s\n", ran ? errout : err->message);
        g_clear_error(&err);
        g_free(out);
        out = NULL;
    }
    g_free(errout);
    return out;
}

static QObject *state_json(const VMStateDescription *vmsd, void *state)
{
    GError *err = NULL;
    Visitor *v = qobject_output_visitor_new();
    CU_ASSERT_TRUE(vmstate_save(v, vmsd, state, NULL, &err));
    ASSERT_NO_ERROR(err);
    QObject *o = qobject_output_visitor_take(v);
    visit_free(v);
    return o;
}

/* A copy of state with `key` set to value (taken). */
static QObject *tampered(const QObject *state, const char *key, QObject *value)
{
    QObject *t = qobject_copy(state);
    qdict_put(t, key, value);
    return t;
}

static void test_states_validate(void)
{
    GError *err = NULL;
    Dev d;
    dev_init(&d);
    g_autoptr(QObject) schema = vmstate_json_schema(&vmstate_dev, sizeof(Dev), &err);
    ASSERT_NO_ERROR(err);
    g_autoptr(QObject) good = state_json(&vmstate_dev, &d);
    d.extra = 0;            /* no subsection */
    d.count = 0;            /* an empty variable array */
    g_autoptr(QObject) small = state_json(&vmstate_dev, &d);
    g_autoptr(QObject) range = tampered(good, "u8", qnum_from_uint(256));
    g_autoptr(QObject) range64 = tampered(good, "i8", qnum_from_int(-129));
    g_autoptr(QObject) type = tampered(good, "u16", qstring_from_str("48879"));
    g_autoptr(QObject) extra = tampered(good, "colour", qnum_from_int(1));
    g_autoptr(QObject) buffer = tampered(good, "mem", qstring_from_str("aabbcc"));
    g_autoptr(QObject) list = tampered(good, "arr", qlist_new());
    const QObject *instances[] = { good, small, range, range64, type, extra, buffer, list };
    g_autofree char *out = validate(schema, instances, G_N_ELEMENTS(instances));
    ASSERT_STR_EQ(out, "valid\nvalid\ninvalid\ninvalid\ninvalid\ninvalid\ninvalid\ninvalid\n");
}

static const CuTest tests[] = {
    { "exact schema of a description", test_exact_schema },
    { "plain walks", test_plain_walk },
    { "states validate, tampered ones do not", test_states_validate },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "json-schema visitor", tests },
    { NULL, NULL },
};

CUTEST_MAIN(suites)

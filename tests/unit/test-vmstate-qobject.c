/*
 * VMState through the QObject visitors: a self-describing input, so the
 * engine's walk meets type and length checks on every value.  The error
 * texts of the QObject input visitor are those of docs/formats.md.
 */
#include "config.h"

#include "cutest.h"

#include "vmscope/error.h"
#include "vmscope/qobject-visitor.h"
#include "vmscope/vmstate.h"
#include "vmstate-test-dev.h"

/* Load `json` (DEV_JSON edited) into a fresh target through the QObject input. */
static bool load_json(const char *json, Dev *d, int version_id, GError **err)
{
    QObject *obj = NULL;
    GError *perr = NULL;
    CU_ASSERT_TRUE_FATAL(qobject_from_json(json, strlen(json), &obj, &perr));
    ASSERT_NO_ERROR(perr);
    Visitor *v = qobject_input_visitor_new(obj);
    bool ok = vmstate_load_copy(v, &vmstate_dev, d, sizeof(*d), version_id, NULL, err);
    visit_free(v);
    qobject_unref(obj);
    return ok;
}

/* DEV_JSON with the first `from` replaced by `to`. */
static char *edit(const char *from, const char *to)
{
    const char *at = strstr(DEV_JSON, from);
    g_assert(at);
    return g_strdup_printf("%.*s%s%s", (int)(at - DEV_JSON), DEV_JSON, to, at + strlen(from));
}

static void expect_refused(const char *from, const char *to, VmsErrorCode code,
                           const char *message)
{
    Dev d, before;
    GError *err = NULL;
    g_autofree char *json = edit(from, to);
    dev_init_target(&d);
    before = d;
    CU_ASSERT_FALSE(load_json(json, &d, 3, &err));
    CU_ASSERT_EQUAL(memcmp(&d, &before, sizeof(d)), 0);
    if (err && !g_error_matches(err, VMS_ERROR, code)) {
        fprintf(stderr, "\nunexpected error code %d for: %s\n", err->code, err->message);
        CU_FAIL("error code");
    }
    ASSERT_ERROR(err, message);
}

static void test_roundtrip(void)
{
    Dev expected, d;
    GError *err = NULL;
    dev_init(&expected);
    Visitor *v = qobject_output_visitor_new();
    CU_ASSERT_TRUE(vmstate_save(v, &vmstate_dev, &expected, NULL, &err));
    g_autoptr(QObject) obj = qobject_output_visitor_take(v);
    visit_free(v);
    ASSERT_NO_ERROR(err);

    dev_init_target(&d);
    v = qobject_input_visitor_new(obj);
    CU_ASSERT_TRUE(vmstate_load(v, &vmstate_dev, &d, 3, NULL, &err));
    visit_free(v);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(memcmp(&d, &expected, sizeof(d)), 0);
}

static void test_subsection_optional(void)
{
    Dev d;
    GError *err = NULL;
    g_autofree char *json = edit(",\"dev/extra\":{\"extra\":85}", "");
    dev_init_target(&d);
    d.extra = 3;
    CU_ASSERT_TRUE(load_json(json, &d, 3, &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(d.extra, 3);
    CU_ASSERT_EQUAL(d.added, 0x11223344);

    /* Unused bytes are not state: any value is thrown away. */
    g_autofree char *unused = edit("\"unused\":\"0000\"", "\"unused\":\"ffff\"");
    CU_ASSERT_TRUE(load_json(unused, &d, 3, &err));
    ASSERT_NO_ERROR(err);
}

static void test_types_checked(void)
{
    expect_refused("\"u16\":48879", "\"u16\":\"x\"", VMS_ERROR_INVALID,
                   "dev.u16: expected uint16, got string");
    expect_refused("\"enabled\":true", "\"enabled\":1", VMS_ERROR_INVALID,
                   "dev.enabled: expected bool, got int");
    expect_refused("\"u8\":200", "\"u8\":300", VMS_ERROR_RANGE,
                   "dev.u8: value 300 out of range for uint8");
    expect_refused("\"i8\":-2", "\"i8\":-129", VMS_ERROR_RANGE,
                   "dev.i8: value -129 out of range for int8");
    expect_refused("\"regs\":{\"a\":9,\"b\":4660}", "\"regs\":5", VMS_ERROR_INVALID,
                   "dev.regs: expected object, got int");
    expect_refused("\"b\":4}]", "\"b\":4.5}]", VMS_ERROR_INVALID,
                   "dev.banks[1].b: expected uint16, got number");
    expect_refused("\"mem\":\"aabbccdd\"", "\"mem\":\"aabb\"", VMS_ERROR_INVALID,
                   "dev.mem: expected 4-byte hex buffer, got 2 bytes");
    expect_refused("\"fifo\":[16,17,18]", "\"fifo\":16", VMS_ERROR_INVALID,
                   "dev.fifo: expected list, got int");
}

static void test_lengths_checked(void)
{
    expect_refused("\"arr\":[1,515,65535]", "\"arr\":[1,515]", VMS_ERROR_MISSING,
                   "dev.arr: expected 3 elements, got 2");
    expect_refused("\"arr\":[1,515,65535]", "\"arr\":[1,515,65535,0]", VMS_ERROR_EXTRA,
                   "dev.arr: expected 3 elements, got 4");
    /* a variable array has the length its (earlier) length field says */
    expect_refused("\"fifo\":[16,17,18]", "\"fifo\":[16,17]", VMS_ERROR_MISSING,
                   "dev.fifo: expected 3 elements, got 2");
    expect_refused("\"count\":3", "\"count\":9", VMS_ERROR_RANGE,
                   "dev.fifo: array length 9 exceeds the maximum 8");
    /* a partial array has the length the loader's configuration says */
    expect_refused("\"queues\":[{\"a\":5,\"b\":6},{\"a\":7,\"b\":8}]", "\"queues\":[]",
                   VMS_ERROR_MISSING, "dev.queues: expected 2 elements, got 0");
}

static void test_members_checked(void)
{
    expect_refused("\"i8\":-2,", "", VMS_ERROR_MISSING, "dev.i8: missing");
    expect_refused("\"enabled\":true", "\"enabled\":true,\"bogus\":1", VMS_ERROR_EXTRA,
                   "dev: unexpected field 'bogus'");
    expect_refused("\"dev/extra\"", "\"dev/bogus\"", VMS_ERROR_EXTRA,
                   "dev: unexpected field 'dev/bogus'");
    expect_refused("{\"extra\":85}", "{}", VMS_ERROR_MISSING, "dev.dev/extra.extra: missing");
}

static void test_rules_apply(void)
{
    expect_refused("\"id\":7", "\"id\":8", VMS_ERROR_INVALID,
                   "dev.id: value 8 in the input differs from the current value 7");

    Dev d;
    GError *err = NULL;
    dev_init_target(&d);
    CU_ASSERT_FALSE(load_json(DEV_JSON, &d, 4, &err));
    ASSERT_ERROR(err, "dev: incoming version 4 of dev is newer than the supported version 3");

    /* version 2: "added" is not visited, so it must not be there */
    CU_ASSERT_FALSE(load_json(DEV_JSON, &d, 2, &err));
    ASSERT_ERROR(err, "dev: unexpected field 'added'");
    g_autofree char *v2 = edit(",\"added\":287454020", "");
    d.added = 42;
    CU_ASSERT_TRUE(load_json(v2, &d, 2, &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(d.added, 42);
}

static const CuTest tests[] = {
    { "round trip", test_roundtrip },
    { "subsection optional", test_subsection_optional },
    { "types checked", test_types_checked },
    { "lengths checked", test_lengths_checked },
    { "members checked", test_members_checked },
    { "rules apply", test_rules_apply },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "vmstate-qobject", tests },
    { NULL, NULL },
};

CUTEST_MAIN(suites)


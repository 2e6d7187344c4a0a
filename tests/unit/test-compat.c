/*
 * Unit tests for lib/compat: vmscope's own descriptions compared (types,
 * renames, sizes, subsections, versions, in one run), the dump reader's
 * errors with their JSON paths, and the finding's line and JSON.
 */
#include "config.h"

#include "cutest.h"
#include "vmscope/compat.h"
#include "vmscope/error.h"
#include "vmstate-test-dev.h"

/* vmstate_dev as a later version might have it: see each comment. */
typedef struct Dev2 {
    bool enabled;
    int8_t i8;
    uint16_t i16;        /* int16 -> uint16: same size, another type */
    int32_t i32;
    int64_t i64;
    uint8_t u8;
    uint16_t u16;
    uint64_t u32;        /* uint32 -> uint64: another size */
    uint64_t u64;
    uint32_t ident;      /* id renamed */
    uint8_t mem[4];
    uint16_t arr[3];
    uint32_t added;
    uint32_t later;      /* added in version 4: compatible */
} Dev2;

static const VMStateDescription vmstate_dev2 = {
    .name = "dev",
    .version_id = 4,
    .minimum_version_id = 2,
    .fields = (const VMStateField[]) {
        VMSTATE_BOOL(enabled, Dev2),
        VMSTATE_INT8(i8, Dev2),
        VMSTATE_UINT16(i16, Dev2),
        VMSTATE_INT32(i32, Dev2),
        VMSTATE_INT64(i64, Dev2),
        VMSTATE_UINT8(u8, Dev2),
        VMSTATE_UINT16(u16, Dev2),
        VMSTATE_UINT64(u32, Dev2),
        VMSTATE_UINT64(u64, Dev2),
        VMSTATE_UINT32_EQUAL(ident, Dev2),
        VMSTATE_BUFFER(mem, Dev2),
        VMSTATE_UNUSED(2),
        VMSTATE_UINT16_ARRAY(arr, Dev2, 3),
        /* regs, banks, count, fifo, queues: gone */
        VMSTATE_UINT32_V(added, Dev2, 3),
        VMSTATE_UINT32_V(later, Dev2, 4),
        VMSTATE_END_OF_LIST()
    },
    /* dev/extra: gone */
};

static char *lines(const GPtrArray *findings)
{
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < findings->len; i++) {
        g_autofree char *line = compat_finding_line(g_ptr_array_index(findings, i));
        g_string_append_printf(s, "%s\n", line);
    }
    return g_string_free(s, FALSE);
}

static void test_same(void)
{
    g_autoptr(CompatSet) a = compat_set_new(COMPAT_SOURCE_VMSCOPE, NULL);
    g_autoptr(CompatSet) b = compat_set_new(COMPAT_SOURCE_VMSCOPE, NULL);
    compat_set_add_vmsd(a, "dev", &vmstate_dev);
    compat_set_add_vmsd(b, "dev", &vmstate_dev);
    g_autoptr(GPtrArray) f = compat_compare(a, b);
    CU_ASSERT_EQUAL(f->len, 0);
}

static void test_every_change(void)
{
    g_autoptr(CompatSet) a = compat_set_new(COMPAT_SOURCE_VMSCOPE, "m1");
    g_autoptr(CompatSet) b = compat_set_new(COMPAT_SOURCE_VMSCOPE, "m2");
    compat_set_add_vmsd(a, "dev", &vmstate_dev);
    compat_set_add_vmsd(a, "other", &vmstate_regs);
    compat_set_add_vmsd(b, "dev", &vmstate_dev2);
    g_autoptr(GPtrArray) f = compat_compare(a, b);
    g_autofree char *text = lines(f);
    ASSERT_STR_EQ(text,
        "warning: vmschkmachine: machine type 'm1' in OLD, 'm2' in NEW\n"
        "error: dev: i16: type int16 in OLD, uint16 in NEW\n"
        "error: dev: u32: size 4 in OLD, 8 in NEW\n"
        "error: dev: id: field renamed to 'ident' in NEW\n"
        "error: dev: regs: field missing in NEW\n"
        "error: dev: banks: field missing in NEW\n"
        "error: dev: count: field missing in NEW\n"
        "error: dev: fifo: field missing in NEW\n"
        "error: dev: queues: field missing in NEW\n"
        "error: dev: dev/extra: subsection missing in NEW\n"
        "error: other (dev/regs): section missing in NEW\n");
    CU_ASSERT_EQUAL(compat_count_errors(f), 10);
    /* The other way: a newer version does not load, nor do the new fields. */
    g_autoptr(GPtrArray) back = compat_compare(b, a);
    g_autofree char *text_back = lines(back);
    CU_ASSERT_TRUE(g_str_has_prefix(text_back,
        "warning: vmschkmachine: machine type 'm2' in OLD, 'm1' in NEW\n"
        "error: dev: version 3 in NEW is older than 4 in OLD\n"));
}

static void test_finding_json(void)
{
    g_autoptr(CompatSet) a = compat_set_new(COMPAT_SOURCE_VMSCOPE, NULL);
    g_autoptr(CompatSet) b = compat_set_new(COMPAT_SOURCE_VMSCOPE, NULL);
    compat_set_add_vmsd(a, "dev", &vmstate_dev);
    compat_set_add_vmsd(b, "dev", &vmstate_dev2);
    g_autoptr(GPtrArray) f = compat_compare(a, b);
    g_autoptr(QObject) o = compat_finding_to_qobject(g_ptr_array_index(f, 1));
    g_autofree char *json = qobject_to_json(o, false);
    ASSERT_STR_EQ(json, "{\"severity\":\"error\",\"kind\":\"field-size\",\"section\":"
                        "{\"key\":\"dev\",\"name\":\"dev\"},\"path\":\"u32\",\"old\":4,\"new\":8,"
                        "\"message\":\"size 4 in OLD, 8 in NEW\"}");
}

static CompatSet *from_dump_text(const char *text, GError **err)
{
    g_autoptr(GBytes) b = g_bytes_new(text, strlen(text));
    return compat_set_load(b, NULL, err);
}

static void test_dump_reader(void)
{
    GError *err = NULL;
    g_autoptr(QObject) dump = vmstate_dump_new("pc");
    vmstate_dump_add(dump, "test-dev", &vmstate_dev, VMSTATE_DUMP_TYPES);
    g_autofree char *text = qobject_to_json(dump, true);
    g_autoptr(CompatSet) set = from_dump_text(text, &err);
    ASSERT_NO_ERROR(err);
    ASSERT_STR_EQ(set->machine, "pc");
    CU_ASSERT_EQUAL(set->sections->len, 1);
    /* What was dumped reads back as the description it came from. */
    g_autoptr(CompatSet) own = compat_set_new(COMPAT_SOURCE_VMSCOPE, "pc");
    compat_set_add_vmsd(own, "test-dev", &vmstate_dev);
    g_autoptr(GPtrArray) f = compat_compare(set, own);
    CU_ASSERT_EQUAL(f->len, 0);
    g_autoptr(GPtrArray) g = compat_compare(own, set);
    CU_ASSERT_EQUAL(g->len, 0);
}

static void test_dump_reader_errors(void)
{
    GError *err = NULL;
    CU_ASSERT_PTR_NULL(from_dump_text("[1]", &err));
    ASSERT_ERROR(err, "not a migration stream nor a -dump-vmstate JSON object");
    g_clear_error(&err);
    CU_ASSERT_PTR_NULL(from_dump_text("{\"a\": {\"Name\": \"a\", \"version_id\": 1, "
                                      "\"minimum_version_id\": 1}}", &err));
    ASSERT_ERROR(err, "a.Description: missing");
    g_clear_error(&err);
    CU_ASSERT_PTR_NULL(from_dump_text(
        "{\"a\": {\"Name\": \"a\", \"version_id\": 1, \"minimum_version_id\": 1, \"Description\": "
        "{\"name\": \"a\", \"version_id\": 1, \"minimum_version_id\": 1, \"Fields\": [{\"field\": "
        "\"x\", \"version_id\": 0, \"field_exists\": false, \"size\": 4, \"type\": \"uint33\"}]}}}",
        &err));
    ASSERT_ERROR(err, "a.Description.Fields[0].type: unknown type 'uint33'");
    g_clear_error(&err);
    CU_ASSERT_PTR_NULL(from_dump_text(
        "{\"a\": {\"Name\": \"a\", \"version_id\": 1, \"minimum_version_id\": 1, \"Description\": "
        "{\"name\": \"a\", \"version_id\": 1, \"minimum_version_id\": 2}}}", &err));
    ASSERT_ERROR(err, "a.Description.minimum_version_id: versions 2 to 1: none can load");
    g_clear_error(&err);
}

static const CuTest compare_tests[] = {
    { "identical", test_same },
    { "every change at once", test_every_change },
    { "a finding as JSON", test_finding_json },
    { NULL, NULL },
};

static const CuTest dump_tests[] = {
    { "round trip", test_dump_reader },
    { "errors", test_dump_reader_errors },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "compat-compare", compare_tests },
    { "compat-dump", dump_tests },
    { NULL, NULL },
};

CUTEST_MAIN(suites)

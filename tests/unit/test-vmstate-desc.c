/*
 * Unit tests for VMState descriptions as data: vmstate_describe,
 * vmstate_from_description (including hostile descriptions) and
 * vmstate_check.
 */
#include "config.h"

#include "cutest.h"
#include "vmscope/error.h"
#include "vmscope/qemu-stream.h"
#include "vmscope/qemufile-visitor.h"
#include "vmscope/qobject-visitor.h"
#include "vmscope/vmstate.h"
#include "vmstate-test-dev.h"

#define D(s) "\"" s "\""

static QObject *parse(const char *json)
{
    QObject *obj = NULL;
    GError *err = NULL;
    CU_ASSERT_TRUE(qobject_from_json(json, strlen(json), &obj, &err));
    ASSERT_NO_ERROR(err);
    return obj;
}

static char *save_json(const VMStateDescription *vmsd, void *opaque, const VMStateContext *ctx,
                       GError **err)
{
    Visitor *v = qobject_output_visitor_new();
    bool ok = vmstate_save(v, vmsd, opaque, ctx, err);
    g_autoptr(QObject) obj = qobject_output_visitor_take(v);
    visit_free(v);
    return ok ? qobject_to_json(obj, false) : NULL;
}

/* ---- describing ---- */

static char *regs_desc(void)
{
    return g_strdup_printf(
        "{" D("name") ":" D("dev/regs") "," D("version") ":1," D("minimum_version") ":1,"
        D("fields") ":["
        "{" D("name") ":" D("a") "," D("type") ":" D("uint8") "," D("offset") ":%zu,"
        D("size") ":1," D("version") ":0},"
        "{" D("name") ":" D("b") "," D("type") ":" D("uint16") "," D("offset") ":%zu,"
        D("size") ":2," D("version") ":0}]}",
        offsetof(Regs, a), offsetof(Regs, b));
}

static void test_describe_dev(void)
{
    g_autoptr(QObject) desc = vmstate_describe(&vmstate_dev);
    g_autofree char *json = qobject_to_json(desc, false);
    g_autofree char *regs = regs_desc();
#define SCALAR(n, t, s) "{" D("name") ":" D(n) "," D("type") ":" D(t) "," D("offset") ":%zu," \
    D("size") ":" #s "," D("version") ":0},"
    g_autofree char *expected = g_strdup_printf(
        "{" D("name") ":" D("dev") "," D("version") ":3," D("minimum_version") ":2,"
        D("fields") ":["
        SCALAR("enabled", "bool", 1) SCALAR("i8", "int8", 1) SCALAR("i16", "int16", 2)
        SCALAR("i32", "int32", 4) SCALAR("i64", "int64", 8) SCALAR("u8", "uint8", 1)
        SCALAR("u16", "uint16", 2) SCALAR("u32", "uint32", 4) SCALAR("u64", "uint64", 8)
        SCALAR("id", "uint32_equal", 4) SCALAR("mem", "buffer", 4)
        "{" D("name") ":" D("unused") "," D("type") ":" D("unused") "," D("size") ":2,"
        D("version") ":0},"
        "{" D("name") ":" D("arr") "," D("type") ":" D("uint16") "," D("offset") ":%zu,"
        D("size") ":2," D("version") ":0," D("array") ":{" D("kind") ":" D("fixed") ","
        D("length") ":3}},"
        "{" D("name") ":" D("regs") "," D("type") ":" D("struct") "," D("offset") ":%zu,"
        D("size") ":%zu," D("version") ":0," D("struct") ":%s},"
        "{" D("name") ":" D("banks") "," D("type") ":" D("struct") "," D("offset") ":%zu,"
        D("size") ":%zu," D("version") ":0," D("array") ":{" D("kind") ":" D("fixed") ","
        D("length") ":2}," D("struct") ":%s},"
        SCALAR("count", "uint8", 1)
        "{" D("name") ":" D("fifo") "," D("type") ":" D("uint8") "," D("offset") ":%zu,"
        D("size") ":1," D("version") ":0," D("array") ":{" D("kind") ":" D("variable") ","
        D("max") ":8," D("length_field") ":" D("count") "}},"
        "{" D("name") ":" D("queues") "," D("type") ":" D("struct") "," D("offset") ":%zu,"
        D("size") ":%zu," D("version") ":0," D("array") ":{" D("kind") ":" D("partial") ","
        D("max") ":4," D("length_offset") ":%zu," D("length_type") ":" D("uint32") "},"
        D("struct") ":%s},"
        "{" D("name") ":" D("added") "," D("type") ":" D("uint32") "," D("offset") ":%zu,"
        D("size") ":4," D("version") ":3}],"
        D("subsections") ":[{" D("name") ":" D("dev/extra") "," D("version") ":1,"
        D("minimum_version") ":1," D("fields") ":["
        "{" D("name") ":" D("extra") "," D("type") ":" D("uint32") "," D("offset") ":%zu,"
        D("size") ":4," D("version") ":0}]}]}",
        offsetof(Dev, enabled), offsetof(Dev, i8), offsetof(Dev, i16), offsetof(Dev, i32),
        offsetof(Dev, i64), offsetof(Dev, u8), offsetof(Dev, u16), offsetof(Dev, u32),
        offsetof(Dev, u64), offsetof(Dev, id), offsetof(Dev, mem),
        offsetof(Dev, arr),
        offsetof(Dev, regs), sizeof(Regs), regs,
        offsetof(Dev, banks), sizeof(Regs), regs,
        offsetof(Dev, count),
        offsetof(Dev, fifo),
        offsetof(Dev, queues), sizeof(Regs), offsetof(Dev, live), regs,
        offsetof(Dev, added), offsetof(Dev, extra));
#undef SCALAR
    ASSERT_STR_EQ(json, expected);
}

/* ---- rebuilding ---- */

static VMStateDescription *rebuild(const VMStateDescription *vmsd, size_t size)
{
    GError *err = NULL;
    g_autoptr(QObject) desc = vmstate_describe(vmsd);
    /* through JSON text, as a segment would carry it */
    g_autofree char *text = qobject_to_json(desc, false);
    g_autoptr(QObject) back = parse(text);
    VMStateDescription *r = vmstate_from_description(back, size, &err);
    ASSERT_NO_ERROR(err);
    return r;
}

static void test_rebuild_walks_the_same(void)
{
    GError *err = NULL;
    Dev d;
    dev_init(&d);
    g_autoptr(VMStateDescription) r = rebuild(&vmstate_dev, sizeof(Dev));
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);

    /* The same description again... */
    g_autoptr(QObject) d1 = vmstate_describe(&vmstate_dev);
    g_autoptr(QObject) d2 = vmstate_describe(r);
    g_autofree char *j1 = qobject_to_json(d1, false);
    g_autofree char *j2 = qobject_to_json(d2, false);
    ASSERT_STR_EQ(j2, j1);

    /* ...the same QObject, the same bytes, the same vmdesc... */
    g_autofree char *state = save_json(r, &d, NULL, &err);
    ASSERT_NO_ERROR(err);
    ASSERT_STR_EQ(state, DEV_JSON);
    ByteWriter w;
    byte_writer_init(&w);
    g_autoptr(QObject) vmdesc_r = qdict_new();
    CU_ASSERT_TRUE(qemu_stream_save_device(&w, r, &d, NULL, vmdesc_r, &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(w.buf->len, sizeof(DEV_BYTES));
    CU_ASSERT_EQUAL(memcmp(w.buf->data, DEV_BYTES, sizeof(DEV_BYTES)), 0);
    byte_writer_clear(&w);
    g_autoptr(QObject) vmdesc_c = qemu_stream_device_vmdesc(&vmstate_dev, &d, NULL, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_TRUE(qobject_equal(vmdesc_r, vmdesc_c));

    /* ...and it loads. */
    Dev back;
    ByteReader rd;
    dev_init_target(&back);
    byte_reader_init(&rd, DEV_BYTES, sizeof(DEV_BYTES), 0);
    Visitor *v = qemufile_input_visitor_new(&rd);
    CU_ASSERT_TRUE(vmstate_load(v, r, &back, 3, NULL, &err));
    visit_free(v);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(memcmp(&back, &d, sizeof(d)), 0);
}

/* Deserialized subsections have no needed(): they are always present. */
static void test_rebuild_subsections_always_present(void)
{
    GError *err = NULL;
    Dev d;
    dev_init(&d);
    d.extra = 0;
    g_autoptr(VMStateDescription) r = rebuild(&vmstate_dev, sizeof(Dev));
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    g_autofree char *state = save_json(r, &d, NULL, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_TRUE(g_str_has_suffix(state, "\"dev/extra\":{\"extra\":0}}"));
}

/* Segment pointers survive the trip, and the walk still checks the region. */
typedef struct List {
    uint16_t n;
    uint64_t items;
} List;

static const VMStateDescription vmstate_list = {
    .name = "list",
    .version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT16(n, List),
        VMSTATE_SEGPTR_OF(items, List, n, vmstate_info_uint16, uint16_t, 4, 0,
                          vmstate_info_uint32, uint32_t),
        VMSTATE_END_OF_LIST()
    },
};

static void test_rebuild_segptr(void)
{
    GError *err = NULL;
    uint8_t region[16] = { 0 };
    uint32_t items[2] = { 1, 2 };
    VMStateContext ctx = { .base = region, .size = sizeof(region) };
    memcpy(region + 4, items, sizeof(items));
    g_autoptr(VMStateDescription) r = rebuild(&vmstate_list, sizeof(List));
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    g_autoptr(QObject) desc = vmstate_describe(r);
    g_autofree char *json = qobject_to_json(desc, false);
    g_autofree char *expected = g_strdup_printf(
        "{" D("name") ":" D("list") "," D("version") ":1," D("minimum_version") ":0,"
        D("fields") ":["
        "{" D("name") ":" D("n") "," D("type") ":" D("uint16") "," D("offset") ":0,"
        D("size") ":2," D("version") ":0},"
        "{" D("name") ":" D("items") "," D("type") ":" D("uint32") "," D("offset") ":%zu,"
        D("size") ":4," D("version") ":0," D("array") ":{" D("kind") ":" D("pointer") ","
        D("max") ":4," D("length_offset") ":0," D("length_type") ":" D("uint16") "}}]}",
        offsetof(List, items));
    ASSERT_STR_EQ(json, expected);

    List l = { 2, 4 };
    g_autofree char *state = save_json(r, &l, &ctx, &err);
    ASSERT_NO_ERROR(err);
    ASSERT_STR_EQ(state, "{\"n\":2,\"items\":[1,2]}");
    l.items = 12;
    CU_ASSERT_PTR_NULL(save_json(r, &l, &ctx, &err));
    ASSERT_ERROR(err, "list.items: 2 elements of 4 bytes at region offset 12 lie outside the "
                      "region of 16 bytes");
}

/* Runs, presence bytes and the newer types, through JSON and back. */
static void test_rebuild_runs_and_presence(void)
{
    static const char json[] =
        "{" D("name") ":" D("r") "," D("version") ":1," D("minimum_version") ":1,"
        D("fields") ":["
        "{" D("name") ":" D("p") "," D("type") ":" D("nullptr") "," D("size") ":1,"
        D("version") ":0},"
        "{" D("name") ":" D("p") "," D("type") ":" D("timer") "," D("offset") ":0,"
        D("size") ":8," D("version") ":0," D("continues") ":true},"
        "{" D("name") ":" D("p") "," D("type") ":" D("int32_le") "," D("offset") ":8,"
        D("size") ":4," D("version") ":0," D("array") ":{" D("kind") ":" D("fixed") ","
        D("length") ":2}," D("continues") ":true}],"
        D("subsections") ":[{" D("name") ":" D("r/s") "," D("version") ":1,"
        D("minimum_version") ":1," D("presence_offset") ":16," D("fields") ":["
        "{" D("name") ":" D("s") "," D("type") ":" D("uint8") "," D("offset") ":17,"
        D("size") ":1," D("version") ":0}]}]}";
    GError *err = NULL;
    g_autoptr(QObject) desc = parse(json);
    g_autoptr(VMStateDescription) r = vmstate_from_description(desc, 18, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    g_autoptr(QObject) back = vmstate_describe(r);
    g_autofree char *text = qobject_to_json(back, false);
    ASSERT_STR_EQ(text, json);

    uint8_t state[18] = { 0 };
    int64_t expires = -1;
    int32_t limits[2] = { 3, 4 };
    memcpy(state, &expires, 8);
    memcpy(state + 8, limits, 8);
    state[17] = 9;
    g_autofree char *absent = save_json(r, state, NULL, &err);
    ASSERT_STR_EQ(absent, "{\"p\":[null,-1,3,4]}");
    state[16] = 1;
    g_autofree char *present = save_json(r, state, NULL, &err);
    ASSERT_STR_EQ(present, "{\"p\":[null,-1,3,4],\"r/s\":{\"s\":9}}");
    ASSERT_NO_ERROR(err);
}

/* ---- hostile descriptions ---- */

#define HEAD D("name") ":" D("x") "," D("version") ":2," D("minimum_version") ":1,"

static void expect_refused(const char *json, size_t state_size, VmsErrorCode code,
                           const char *message)
{
    GError *err = NULL;
    g_autoptr(QObject) desc = parse(json);
    VMStateDescription *r = vmstate_from_description(desc, state_size, &err);
    CU_ASSERT_PTR_NULL(r);
    vmstate_description_free(r);
    if (err && !g_error_matches(err, VMS_ERROR, code)) {
        fprintf(stderr, "\nunexpected error code %d for: %s\n", err->code, err->message);
        CU_FAIL("error code");
    }
    ASSERT_ERROR(err, message);
}

static void test_hostile_shape(void)
{
    expect_refused("[]", 64, VMS_ERROR_INVALID, "description: expected object, got list");
    expect_refused("{" HEAD "\"colour\":1," D("fields") ":[]}", 64, VMS_ERROR_EXTRA,
                   "description: unexpected field 'colour'");
    expect_refused("{" D("name") ":" D("x") "," D("version") ":1," D("minimum_version") ":1}",
                   64, VMS_ERROR_MISSING, "description.fields: missing");
    expect_refused("{" D("name") ":\"\"," D("version") ":1," D("minimum_version") ":1,"
                   D("fields") ":[]}", 64, VMS_ERROR_INVALID,
                   "description.name: expected a non-empty string");
    expect_refused("{" HEAD D("fields") ":null}", 64, VMS_ERROR_INVALID,
                   "description.fields: expected list, got null");
    expect_refused("{" HEAD D("fields") ":[1]}", 64, VMS_ERROR_INVALID,
                   "description.fields[0]: expected object, got int");
    expect_refused("{" D("name") ":" D("x") "," D("version") ":2147483648,"
                   D("minimum_version") ":1," D("fields") ":[]}", 64, VMS_ERROR_RANGE,
                   "description.version: expected an integer from 0 to 2147483647, "
                   "got 2147483648");
    expect_refused("{" D("name") ":" D("x") "," D("version") ":2," D("minimum_version") ":3,"
                   D("fields") ":[]}", 64, VMS_ERROR_INVALID,
                   "x: minimum version 3 is above version 2");
    expect_refused("{" HEAD D("fields") ":[{" D("name") ":" D("a") "," D("type") ":" D("float")
                   "," D("offset") ":0," D("size") ":4}]}", 64, VMS_ERROR_INVALID,
                   "description.fields[0].type: unknown type 'float'");
    expect_refused("{" HEAD D("fields") ":[{" D("name") ":" D("a") "," D("type") ":"
                   D("uint32") "," D("size") ":4}]}", 64, VMS_ERROR_MISSING,
                   "description.fields[0].offset: missing");
    expect_refused("{" HEAD D("fields") ":[{" D("name") ":" D("a") "," D("type") ":"
                   D("uint32") "," D("offset") ":-1," D("size") ":4}]}", 64, VMS_ERROR_RANGE,
                   "description.fields[0].offset: value -1 out of range for uint64");
    expect_refused("{" HEAD D("fields") ":[{" D("name") ":" D("a") "," D("type") ":"
                   D("uint32") "," D("offset") ":\"0\"," D("size") ":4}]}", 64,
                   VMS_ERROR_INVALID,
                   "description.fields[0].offset: expected uint64, got string");
    expect_refused("{" HEAD D("fields") ":[{" D("name") ":" D("a") "," D("type") ":"
                   D("uint32") "," D("offset") ":0," D("size") ":4," D("struct") ":{}}]}", 64,
                   VMS_ERROR_INVALID, "description.fields[0]: only struct fields have a 'struct'");
    expect_refused("{" HEAD D("fields") ":[{" D("name") ":" D("a") "," D("type") ":"
                   D("struct") "," D("offset") ":0," D("size") ":4}]}", 64, VMS_ERROR_MISSING,
                   "description.fields[0].struct: missing");
    expect_refused("{" HEAD D("fields") ":[{" D("name") ":" D("u") "," D("type") ":"
                   D("unused") "," D("offset") ":0," D("size") ":4}]}", 64, VMS_ERROR_INVALID,
                   "description.fields[0]: unused fields have no offset and no array");
    expect_refused("{" HEAD D("fields") ":[{" D("name") ":" D("a") "," D("type") ":" D("uint8")
                   "," D("offset") ":0," D("size") ":1," D("array") ":{" D("kind") ":"
                   D("ragged") "}}]}", 64, VMS_ERROR_INVALID,
                   "description.fields[0].array.kind: unknown array kind 'ragged'");
    expect_refused("{" HEAD D("fields") ":[{" D("name") ":" D("a") "," D("type") ":" D("uint8")
                   "," D("offset") ":0," D("size") ":1," D("array") ":{" D("kind") ":"
                   D("fixed") "," D("length") ":2," D("max") ":3}}]}", 64, VMS_ERROR_EXTRA,
                   "description.fields[0].array: unexpected field 'max'");
}

static void test_hostile_ranges(void)
{
    expect_refused("{" HEAD D("fields") ":[{" D("name") ":" D("a") "," D("type") ":"
                   D("uint32") "," D("offset") ":62," D("size") ":4}]}", 64, VMS_ERROR_RANGE,
                   "x.a: offset 62 + size 4 exceeds the state size 64");
    expect_refused("{" HEAD D("fields") ":[{" D("name") ":" D("a") "," D("type") ":"
                   D("uint32") "," D("offset") ":18446744073709551615," D("size") ":4}]}", 64,
                   VMS_ERROR_RANGE,
                   "x.a: offset 18446744073709551615 + size 4 exceeds the state size 64");
    expect_refused("{" HEAD D("fields") ":[{" D("name") ":" D("a") "," D("type") ":"
                   D("uint32") "," D("offset") ":0," D("size") ":2}]}", 64, VMS_ERROR_INVALID,
                   "x.a: uint32 must have size 4, not 2");
    expect_refused("{" HEAD D("fields") ":[{" D("name") ":" D("a") "," D("type") ":"
                   D("uint64") "," D("offset") ":0," D("size") ":8," D("array") ":{"
                   D("kind") ":" D("fixed") "," D("length") ":4611686018427387904}}]}", 64,
                   VMS_ERROR_RANGE, "x.a: 4611686018427387904 elements of 8 bytes overflow");
    expect_refused("{" HEAD D("fields") ":[{" D("name") ":" D("a") "," D("type") ":"
                   D("uint8") "," D("offset") ":0," D("size") ":1," D("array") ":{"
                   D("kind") ":" D("fixed") "," D("length") ":1099511627776}}]}", 64,
                   VMS_ERROR_RANGE, "x.a: offset 0 + size 1099511627776 exceeds the state size 64");
    expect_refused("{" HEAD D("fields") ":[{" D("name") ":" D("b") "," D("type") ":"
                   D("buffer") "," D("offset") ":1," D("size") ":64}]}", 64, VMS_ERROR_RANGE,
                   "x.b: offset 1 + size 64 exceeds the state size 64");
    expect_refused("{" HEAD D("fields") ":[{" D("name") ":" D("u") "," D("type") ":"
                   D("unused") "," D("size") ":2097152}]}", 64, VMS_ERROR_RANGE,
                   "x.u: unused size 2097152 exceeds the limit 1048576");
    /* unused bytes have no storage: bounded per walk, arrays included */
    expect_refused("{" HEAD D("fields") ":[{" D("name") ":" D("s") "," D("type") ":"
                   D("struct") "," D("offset") ":0," D("size") ":1," D("array") ":{"
                   D("kind") ":" D("fixed") "," D("length") ":64}," D("struct") ":{"
                   D("name") ":" D("y") "," D("version") ":0," D("minimum_version") ":0,"
                   D("fields") ":[{" D("name") ":" D("u") "," D("type") ":" D("unused") ","
                   D("size") ":1048576}]}}]}", 64, VMS_ERROR_RANGE,
                   "x: its unused fields could add up to more than 1048576 bytes in one walk");
    /* zero-size elements: a length from the state would loop without bound */
    expect_refused("{" HEAD D("fields") ":[{" D("name") ":" D("b") "," D("type") ":"
                   D("buffer") "," D("offset") ":0," D("size") ":0," D("array") ":{"
                   D("kind") ":" D("partial") "," D("max") ":18446744073709551615,"
                   D("length_offset") ":0," D("length_type") ":" D("uint64") "}}]}", 64,
                   VMS_ERROR_INVALID, "x.b: array elements cannot have size 0");
    /* nested: the element is the state of the nested description */
    expect_refused("{" HEAD D("fields") ":[{" D("name") ":" D("s") "," D("type") ":"
                   D("struct") "," D("offset") ":0," D("size") ":2," D("struct") ":{"
                   D("name") ":" D("y") "," D("version") ":0," D("minimum_version") ":0,"
                   D("fields") ":[{" D("name") ":" D("v") "," D("type") ":" D("uint32") ","
                   D("offset") ":0," D("size") ":4}]}}]}", 64, VMS_ERROR_RANGE,
                   "x.s.v: offset 0 + size 4 exceeds the state size 2");
    /* counted arrays: the array, the length, the segment offset */
    expect_refused("{" HEAD D("fields") ":[{" D("name") ":" D("a") "," D("type") ":"
                   D("uint16") "," D("offset") ":0," D("size") ":2," D("array") ":{"
                   D("kind") ":" D("partial") "," D("max") ":4," D("length_offset") ":63,"
                   D("length_type") ":" D("uint32") "}}]}", 64, VMS_ERROR_RANGE,
                   "x.a: length at offset 63 + size 4 exceeds the state size 64");
    expect_refused("{" HEAD D("fields") ":[{" D("name") ":" D("p") "," D("type") ":"
                   D("uint32") "," D("offset") ":60," D("size") ":4," D("array") ":{"
                   D("kind") ":" D("pointer") "," D("max") ":1000000," D("length_offset") ":0,"
                   D("length_type") ":" D("uint32") "}}]}", 64, VMS_ERROR_RANGE,
                   "x.p: segment offset at offset 60 + size 8 exceeds the state size 64");
    expect_refused("{" HEAD D("fields") ":[{" D("name") ":" D("p") "," D("type") ":"
                   D("uint32") "," D("offset") ":8," D("size") ":4," D("array") ":{"
                   D("kind") ":" D("pointer") "," D("max") ":1," D("length_offset") ":0,"
                   D("length_type") ":" D("buffer") "}}]}", 64, VMS_ERROR_INVALID,
                   "description.fields[0].array.length_type: 'buffer' is not an integer type");
}

static void test_hostile_references(void)
{
    /* a variable array's length must be an earlier integer field */
    expect_refused("{" HEAD D("fields") ":[{" D("name") ":" D("a") "," D("type") ":"
                   D("uint8") "," D("offset") ":0," D("size") ":1," D("array") ":{"
                   D("kind") ":" D("variable") "," D("max") ":4," D("length_field") ":"
                   D("n") "}},{" D("name") ":" D("n") "," D("type") ":" D("uint8") ","
                   D("offset") ":8," D("size") ":1}]}", 64, VMS_ERROR_INVALID,
                   "description.fields[0].array.length_field: no earlier integer field "
                   "named 'n'");
    expect_refused("{" HEAD D("fields") ":[{" D("name") ":" D("n") "," D("type") ":"
                   D("buffer") "," D("offset") ":8," D("size") ":1},{" D("name") ":" D("a")
                   "," D("type") ":" D("uint8") "," D("offset") ":0," D("size") ":1,"
                   D("array") ":{" D("kind") ":" D("variable") "," D("max") ":4,"
                   D("length_field") ":" D("n") "}}]}", 64, VMS_ERROR_INVALID,
                   "description.fields[1].array.length_field: no earlier integer field "
                   "named 'n'");
    /* subsections must be named after their parent (or QEMU cannot find them) */
    expect_refused("{" HEAD D("fields") ":[]," D("subsections") ":[{" D("name") ":" D("y") ","
                   D("version") ":1," D("minimum_version") ":1," D("fields") ":[]}]}", 64,
                   VMS_ERROR_INVALID, "x.y: subsection name 'y' must extend its parent's name 'x'");
    expect_refused("{" HEAD D("fields") ":[]," D("subsections") ":[{" D("name") ":" D("x") ","
                   D("version") ":1," D("minimum_version") ":1," D("fields") ":[]}]}", 64,
                   VMS_ERROR_INVALID, "x.x: subsection name 'x' must extend its parent's name 'x'");
}

/* A description whose struct field nests `levels` descriptions deep in all. */
static QObject *nested(int levels)
{
    QObject *desc = parse("{" HEAD D("fields") ":[]}");
    for (int i = 1; i < levels; i++) {
        QObject *outer = parse("{" HEAD D("fields") ":[{" D("name") ":" D("s") ","
                               D("type") ":" D("struct") "," D("offset") ":0,"
                               D("size") ":8}]}");
        qdict_put(qlist_get(qdict_get(outer, "fields"), 0), "struct", desc);
        desc = outer;
    }
    return desc;
}

static void test_hostile_depth(void)
{
    GError *err = NULL;

    /* 10 levels: accepted, and still parses as JSON text */
    g_autoptr(QObject) ten = nested(10);
    g_autofree char *text = qobject_to_json(ten, false);
    g_autoptr(QObject) back = parse(text);
    g_autoptr(VMStateDescription) r = vmstate_from_description(back, 64, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_PTR_NOT_NULL(r);

    g_autoptr(QObject) eleven = nested(11);
    CU_ASSERT_PTR_NULL(vmstate_from_description(eleven, 64, &err));
    GString *expected = g_string_new("description");
    for (int i = 1; i < 11; i++) {
        g_string_append(expected, ".fields[0].struct");
    }
    g_string_append(expected, ": descriptions nested more than 10 deep");
    CU_ASSERT_TRUE(g_error_matches(err, VMS_ERROR, VMS_ERROR_RANGE));
    ASSERT_ERROR(err, expected->str);
    g_string_free(expected, TRUE);
}

/*
 * Every member of a real description replaced by something hostile, or
 * removed: refused with an error, or accepted and then walked over a state
 * of the declared size without touching anything else (ASan watches).
 */
typedef struct Mutation {
    size_t target, seen;
    int how;
} Mutation;

static QObject *hostile_value(int how)
{
    switch (how) {
    case 0: return qnum_from_int(-1);
    case 1: return qnum_from_uint(UINT64_MAX);
    case 2: return qnum_from_uint(1000000);
    case 3: return qstring_from_str("uint64");
    case 4: return qlist_new();
    default: return qnum_from_int(1);
    }
}

static bool mutate(QObject *obj, Mutation *m)
{
    if (qobject_type(obj) == QTYPE_LIST) {
        for (size_t i = 0; i < qlist_size(obj); i++) {
            if (mutate(qlist_get(obj, i), m)) {
                return true;
            }
        }
    } else if (qobject_type(obj) == QTYPE_DICT) {
        qdict_foreach(obj, key, val) {
            if (m->seen++ == m->target) {
                if (m->how == 6) {
                    qdict_del(obj, key);
                } else {
                    qdict_put(obj, key, hostile_value(m->how));
                }
                return true;
            }
            if (mutate(val, m)) {
                return true;
            }
        }
    }
    return false;
}

static void test_hostile_mutations(void)
{
    g_autoptr(QObject) good = vmstate_describe(&vmstate_dev);
    size_t refused = 0, accepted = 0;
    Mutation count = { SIZE_MAX, 0, 0 };
    mutate(good, &count);
    CU_ASSERT_TRUE(count.seen > 100);

    for (size_t target = 0; target < count.seen; target++) {
        for (int how = 0; how <= 6; how++) {
            GError *err = NULL;
            g_autoptr(QObject) desc = qobject_copy(good);
            Mutation m = { target, 0, how };
            CU_ASSERT_TRUE(mutate(desc, &m));
            VMStateDescription *r = vmstate_from_description(desc, sizeof(Dev), &err);
            CU_ASSERT_TRUE((r == NULL) == (err != NULL));
            if (!r) {
                refused++;
                g_clear_error(&err);
                continue;
            }
            accepted++;
            /* exactly sizeof(Dev) bytes, so ASan sees any stray access */
            uint8_t *state = g_malloc0(sizeof(Dev));
            Dev d;
            dev_init(&d);
            memcpy(state, &d, sizeof(d));
            g_free(save_json(r, state, NULL, &err));
            g_clear_error(&err);
            ByteReader rd;
            byte_reader_init(&rd, DEV_BYTES, sizeof(DEV_BYTES), 0);
            Visitor *v = qemufile_input_visitor_new(&rd);
            vmstate_load(v, r, state, r->version_id, NULL, &err);
            g_clear_error(&err);
            visit_free(v);
            g_free(state);
            vmstate_description_free(r);
        }
    }
    CU_ASSERT_TRUE(refused > 0);
    CU_ASSERT_TRUE(accepted > 0);
}

/* ---- checking C descriptions ---- */

static void test_check_c_descriptions(void)
{
    GError *err = NULL;
    CU_ASSERT_TRUE(vmstate_check(&vmstate_dev, sizeof(Dev), &err));
    ASSERT_NO_ERROR(err);

    CU_ASSERT_FALSE(vmstate_check(&vmstate_dev, sizeof(Dev) - 1, &err));
    g_autofree char *expected = g_strdup_printf(
        "dev.dev/extra.extra: offset %zu + size 4 exceeds the state size %zu",
        offsetof(Dev, extra), sizeof(Dev) - 1);
    ASSERT_ERROR(err, expected);

    static const VMStateField untyped[] = {
        { .name = "b", .size = 4 },
        VMSTATE_END_OF_LIST()
    };
    VMStateDescription vmsd = { .name = "x", .version_id = 1, .fields = untyped };
    CU_ASSERT_FALSE(vmstate_check(&vmsd, 64, &err));
    ASSERT_ERROR(err, "x.b: field without a type");

    static const VMStateField late_length[] = {
        { .name = "data", .info = VMSTATE_INFO(VMSTATE_TYPE_UINT8), .shape = VMSTATE_VARRAY,
          .offset = 1, .size = 1, .num = 8, .num_offset = 0,
          .num_info = VMSTATE_INFO(VMSTATE_TYPE_UINT8) },
        { .name = "n", .info = VMSTATE_INFO(VMSTATE_TYPE_UINT8), .offset = 0, .size = 1 },
        VMSTATE_END_OF_LIST()
    };
    vmsd.fields = late_length;
    CU_ASSERT_FALSE(vmstate_check(&vmsd, 64, &err));
    ASSERT_ERROR(err, "x.data: the length of a variable array must be an earlier uint8 field "
                      "(at offset 0)");
    /* described without the length's name, which the JSON cannot rebuild */
    g_autoptr(QObject) desc = vmstate_describe(&vmsd);
    g_autofree char *json = qobject_to_json(qdict_get(desc, "fields"), false);
    ASSERT_STR_EQ(json, "[{" D("name") ":" D("data") "," D("type") ":" D("uint8") ","
                        D("offset") ":1," D("size") ":1," D("version") ":0," D("array") ":{"
                        D("kind") ":" D("variable") "," D("max") ":8," D("length_offset") ":0,"
                        D("length_type") ":" D("uint8") "}},{" D("name") ":" D("n") ","
                        D("type") ":" D("uint8") "," D("offset") ":0," D("size") ":1,"
                        D("version") ":0}]");
}

static const CuTest describe_tests[] = {
    { "dev", test_describe_dev },
    { NULL, NULL },
};

static const CuTest rebuild_tests[] = {
    { "walks the same", test_rebuild_walks_the_same },
    { "subsections always present", test_rebuild_subsections_always_present },
    { "segment pointers", test_rebuild_segptr },
    { "runs, presence bytes, types", test_rebuild_runs_and_presence },
    { NULL, NULL },
};

static const CuTest hostile_tests[] = {
    { "shape", test_hostile_shape },
    { "ranges", test_hostile_ranges },
    { "references", test_hostile_references },
    { "depth", test_hostile_depth },
    { "mutations", test_hostile_mutations },
    { NULL, NULL },
};

static const CuTest check_tests[] = {
    { "C descriptions", test_check_c_descriptions },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "vmstate-describe", describe_tests },
    { "vmstate-rebuild", rebuild_tests },
    { "vmstate-hostile", hostile_tests },
    { "vmstate-check", check_tests },
    { NULL, NULL },
};

CUTEST_MAIN(suites)

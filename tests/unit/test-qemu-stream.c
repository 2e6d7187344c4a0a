/*
 * Unit tests for lib/qemu-stream*.c on hand-made streams: the builder, the
 * vmdesc decoder (every field kind), editing with exact errors, diff, the
 * configuration section, RAM sections, footers and framing errors.
 */
#include "config.h"

#include <inttypes.h>

#include "cutest.h"
#include "qemu-stream-test.h"
#include "vmscope/bytes.h"
#include "vmscope/error.h"
#include "vmscope/pretty-visitor.h"
#include "vmscope/qemu-stream.h"

/* A device description using every kind of field vmscope decodes. */
static const char dev_desc_json[] =
    "{\"vmsd_name\": \"dev\", \"version\": 3, \"fields\": ["
    " {\"name\": \"u8\", \"type\": \"uint8\", \"size\": 1},"
    " {\"name\": \"i16\", \"type\": \"int16\", \"size\": 2},"
    " {\"name\": \"u64\", \"type\": \"uint64\", \"size\": 8},"
    " {\"name\": \"flag\", \"type\": \"bool\", \"size\": 1},"
    " {\"name\": \"buf\", \"type\": \"buffer\", \"size\": 4},"
    " {\"name\": \"arr\", \"array_len\": 3, \"type\": \"uint16\", \"size\": 2},"
    " {\"name\": \"regs[RA]\", \"type\": \"uint32\", \"size\": 4},"
    " {\"name\": \"inner\", \"type\": \"struct\", \"struct\": {\"vmsd_name\": \"dev/inner\","
    "   \"version\": 1, \"fields\": [{\"name\": \"a\", \"type\": \"int8\", \"size\": 1},"
    "   {\"name\": \"b\", \"type\": \"uint32 equal\", \"size\": 4}]}, \"size\": 5},"
    " {\"name\": \"q\", \"index\": 0, \"type\": \"struct\", \"struct\": {\"vmsd_name\": \"q\","
    "   \"version\": 1, \"fields\": [{\"name\": \"x\", \"type\": \"uint8\", \"size\": 1}]},"
    "   \"size\": 1},"
    " {\"name\": \"q\", \"index\": 1, \"type\": \"struct\", \"struct\": {\"vmsd_name\": \"q\","
    "   \"version\": 1, \"fields\": [{\"name\": \"x\", \"type\": \"uint8\", \"size\": 1}]},"
    "   \"size\": 1},"
    " {\"name\": \"cfg\", \"type\": \"pci config\", \"size\": 3},"
    " {\"name\": \"ptr\", \"type\": \"nullptr\", \"size\": 1},"
    " {\"name\": \"tmp\", \"type\": \"tmp\", \"vmsd_name\": \"dev_tmp\", \"version\": 0,"
    "   \"fields\": [{\"name\": \"t\", \"type\": \"int32\", \"size\": 4}], \"size\": 4},"
    " {\"name\": \"timer\", \"type\": \"timer\", \"size\": 8}],"
    " \"subsections\": [{\"vmsd_name\": \"dev/sub\", \"version\": 2, \"fields\": ["
    "   {\"name\": \"s\", \"type\": \"uint32\", \"size\": 4}]}]}";

static const uint8_t dev_payload[] = {
    0xfe,                                           /* u8 254 */
    0xff, 0x85,                                     /* i16 -123 */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, /* u64 2^64-2 */
    0x01,                                           /* flag */
    0xde, 0xad, 0xbe, 0xef,                         /* buf */
    0x00, 0x01, 0x00, 0x02, 0xff, 0xff,             /* arr */
    0x12, 0x34, 0x56, 0x78,                         /* regs[RA] */
    0x80, 0x00, 0x00, 0x00, 0x07,                   /* inner */
    0x05, 0x06,                                     /* q[0].x q[1].x */
    0x0a, 0x0b, 0x0c,                               /* cfg */
    0x30,                                           /* ptr: null marker */
    0xff, 0xff, 0xff, 0xfe,                         /* tmp.t -2 */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* timer -1 */
    0x05, 0x07, 'd', 'e', 'v', '/', 's', 'u', 'b', 0x00, 0x00, 0x00, 0x02,
    0x00, 0x00, 0x00, 0x2a,                         /* dev/sub.s 42 */
};

static const char dev_state_json[] =
    "{\"u8\":254,\"i16\":-123,\"u64\":18446744073709551614,\"flag\":true,\"buf\":\"deadbeef\","
    "\"arr\":[1,2,65535],\"regs[RA]\":305419896,\"inner\":{\"a\":-128,\"b\":7},"
    "\"q\":[{\"x\":5},{\"x\":6}],\"cfg\":\"0a0b0c\",\"ptr\":null,\"tmp\":{\"t\":-2},"
    "\"timer\":-1,\"dev/sub\":{\"s\":42}}";

static const char other_desc_json[] =
    "{\"vmsd_name\": \"other\", \"version\": 1, \"fields\": ["
    " {\"name\": \"v\", \"type\": \"uint32\", \"size\": 4}]}";

static QObject *json(const char *text)
{
    QObject *obj = NULL;
    GError *err = NULL;
    CU_ASSERT_TRUE_FATAL(qobject_from_json(text, strlen(text), &obj, &err));
    return obj;
}

static char *to_json(const QObject *obj)
{
    return qobject_to_json(obj, false);
}

/* dev (instance 0), dev (instance 1), other: built with the builder. */
static GBytes *build_sample(uint32_t other_value)
{
    g_autoptr(QemuStreamBuilder) b = qemu_stream_builder_new("pc-i440fx-7.2");
    g_autoptr(GBytes) dev = g_bytes_new_static(dev_payload, sizeof(dev_payload));
    uint8_t v[4] = { (uint8_t)(other_value >> 24), (uint8_t)(other_value >> 16),
                     (uint8_t)(other_value >> 8), (uint8_t)other_value };
    g_autoptr(GBytes) other = g_bytes_new(v, 4);
    GError *err = NULL;
    CU_ASSERT_TRUE(qemu_stream_builder_add_full(b, "dev", 0, 3, dev, &err));
    CU_ASSERT_TRUE(qemu_stream_builder_add_full(b, "dev", 1, 3, dev, &err));
    CU_ASSERT_TRUE(qemu_stream_builder_add_full(b, "other", 0, 1, other, &err));
    ASSERT_NO_ERROR(err);
    g_autoptr(QObject) devices = qlist_new();
    qlist_append(devices, json(dev_desc_json));
    QObject *second = json(dev_desc_json);
    qdict_put(second, "instance_id", qnum_from_int(1));   /* given: must match */
    qlist_append(devices, second);
    qlist_append(devices, json(other_desc_json));
    GBytes *out = qemu_stream_builder_finish(b, devices, &err);
    ASSERT_NO_ERROR(err);
    return out;
}

static QemuStream *parse_ok(GBytes *data)
{
    GError *err = NULL;
    QemuStream *s = qemu_stream_parse(data, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    return s;
}

static void expect_parse_error(GBytes *data, const char *message)
{
    expect_parse_error_desc(data, NULL, message);
}

/* ---- builder + decoder -------------------------------------------------- */

static void test_builder_round_trip(void)
{
    g_autoptr(GBytes) data = build_sample(0x01020304);
    g_autoptr(QemuStream) s = parse_ok(data);

    CU_ASSERT_EQUAL(qemu_stream_n_sections(s), 3);
    const QemuStreamSection *d0 = qemu_stream_section(s, 0);
    const QemuStreamSection *d1 = qemu_stream_section(s, 1);
    const QemuStreamSection *o = qemu_stream_section(s, 2);
    ASSERT_STR_EQ(d0->name, "dev");
    CU_ASSERT_EQUAL(d0->type, QEMU_VM_SECTION_FULL);
    CU_ASSERT_EQUAL(d0->section_id, 0);
    CU_ASSERT_EQUAL(d0->instance_id, 0);
    CU_ASSERT_EQUAL(d0->version_id, 3);
    /* header 8 + config 1+4+13 + section header 1+4+1+3+4+4 */
    CU_ASSERT_EQUAL(d0->offset, 43);
    CU_ASSERT_EQUAL(d0->size, sizeof(dev_payload));
    CU_ASSERT_TRUE(d0->has_footer);
    CU_ASSERT_EQUAL(d1->instance_id, 1);
    CU_ASSERT_EQUAL(d1->section_id, 1);
    CU_ASSERT_EQUAL(d1->offset, 43 + sizeof(dev_payload) + 5 + 17);
    CU_ASSERT_EQUAL(o->size, 4);
    g_autofree char *st = to_json(d0->state);
    ASSERT_STR_EQ(st, dev_state_json);
    g_autofree char *st1 = to_json(d1->state);
    ASSERT_STR_EQ(st1, dev_state_json);
    g_autofree char *st2 = to_json(o->state);
    ASSERT_STR_EQ(st2, "{\"v\":16909060}");
    g_autofree char *d1name = qemu_stream_section_display_name(d1);
    ASSERT_STR_EQ(d1name, "dev:1");
    CU_ASSERT_PTR_EQUAL(qemu_stream_find_section(s, "dev", 1), d1);
    CU_ASSERT_PTR_NULL(qemu_stream_find_section(s, "dev", 2));

    g_autofree char *cfg = to_json(qemu_stream_configuration(s));
    ASSERT_STR_EQ(cfg, "{\"name\":\"pc-i440fx-7.2\"}");
    /* The vmdesc is QEMU's shape, name and instance_id first. */
    QObject *dev1 = qlist_get(qdict_get(qemu_stream_vmdesc(s), "devices"), 1);
    g_autofree char *first_keys = to_json(dev1);
    CU_ASSERT_TRUE(g_str_has_prefix(first_keys, "{\"name\":\"dev\",\"instance_id\":1,"
                                                "\"vmsd_name\":\"dev\",\"version\":3,"));

    g_autoptr(GBytes) out = qemu_stream_write(s);
    CU_ASSERT_TRUE(g_bytes_equal(out, data));
}

/* Machine "m", one section: "other" instance 2 holding 9. */
static QemuStream *small_stream(void)
{
    g_autoptr(QemuStreamBuilder) b = qemu_stream_builder_new("m");
    g_autoptr(GBytes) p = g_bytes_new("\x00\x00\x00\x09", 4);
    GError *err = NULL;
    CU_ASSERT_TRUE(qemu_stream_builder_add_full(b, "other", 2, 1, p, &err));
    g_autoptr(QObject) devices = qlist_new();
    qlist_append(devices, json(other_desc_json));
    g_autoptr(GBytes) data = qemu_stream_builder_finish(b, devices, &err);
    ASSERT_NO_ERROR(err);
    return parse_ok(data);
}

static void test_to_qobject(void)
{
    g_autoptr(QemuStream) s = small_stream();
    g_autoptr(QObject) obj = qemu_stream_to_qobject(s, false);
    g_autofree char *text = to_json(obj);
    ASSERT_STR_EQ(text,
                  "{\"header\":{\"magic\":\"QEVM\",\"version\":3},"
                  "\"configuration\":{\"offset\":9,\"size\":5,\"name\":\"m\"},"
                  "\"sections\":[{\"name\":\"other\",\"instance-id\":2,\"section-id\":0,"
                  "\"version-id\":1,\"type\":\"full\",\"offset\":33,\"size\":4,"
                  "\"state\":{\"v\":9}}],\"warnings\":[]}");
    g_autoptr(QObject) with = qemu_stream_to_qobject(s, true);
    g_autofree char *desc = to_json(qdict_get(with, "vmdesc"));
    ASSERT_STR_EQ(desc, "{\"page_size\":4096,\"devices\":[{\"name\":\"other\",\"instance_id\":2,"
                        "\"vmsd_name\":\"other\",\"version\":1,\"fields\":[{\"name\":\"v\","
                        "\"type\":\"uint32\",\"size\":4}]}]}");
}

static void test_builder_errors(void)
{
    g_autoptr(QemuStreamBuilder) b = qemu_stream_builder_new("pc");
    g_autoptr(GBytes) short_payload = g_bytes_new("\x01\x02", 2);
    GError *err = NULL;
    char name[300];
    memset(name, 'x', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    CU_ASSERT_FALSE(qemu_stream_builder_add_full(b, "", 0, 1, short_payload, &err));
    ASSERT_ERROR(err, "section name '': must be 1 to 255 bytes long");
    CU_ASSERT_FALSE(qemu_stream_builder_add_full(b, name, 0, 1, short_payload, &err));
    CU_ASSERT_TRUE(g_str_has_suffix(err->message, "': must be 1 to 255 bytes long"));
    g_clear_error(&err);

    CU_ASSERT_TRUE(qemu_stream_builder_add_full(b, "other", 0, 1, short_payload, &err));
    g_autoptr(QObject) none = qlist_new();
    CU_ASSERT_PTR_NULL(qemu_stream_builder_finish(b, none, &err));
    ASSERT_ERROR(err, "vmdesc: expected a list of 1 device entries, one per section");

    g_autoptr(QObject) wrong = qlist_new();
    QObject *entry = json(other_desc_json);
    qdict_put(entry, "name", qstring_from_str("another"));
    qlist_append(wrong, entry);
    CU_ASSERT_PTR_NULL(qemu_stream_builder_finish(b, wrong, &err));
    ASSERT_ERROR(err, "vmdesc device 0 is named 'another' but section 0 is 'other'");

    /* The payload is 2 bytes, the description wants 4. */
    g_autoptr(QObject) devices = qlist_new();
    qlist_append(devices, json(other_desc_json));
    CU_ASSERT_PTR_NULL(qemu_stream_builder_finish(b, devices, &err));
    ASSERT_ERROR(err, "offset 34: section 'other' (id 0): v: truncated: need 4 bytes, 2 left");
    g_autoptr(GBytes) long_payload = g_bytes_new("\x01\x02\x03\x04\x05", 5);
    g_autoptr(QemuStreamBuilder) b2 = qemu_stream_builder_new("pc");
    CU_ASSERT_TRUE(qemu_stream_builder_add_full(b2, "other", 0, 1, long_payload, &err));
    CU_ASSERT_PTR_NULL(qemu_stream_builder_finish(b2, devices, &err));
    ASSERT_ERROR(err, "offset 38: section 'other' (id 0): the vmdesc describes 4 of the 5 payload"
                      " bytes");
}

/* ---- editing ------------------------------------------------------------- */

static void set_ok(QemuStream *s, const char *path, const char *value)
{
    GError *err = NULL;
    CU_ASSERT_TRUE(qemu_stream_set(s, path, value, &err));
    ASSERT_NO_ERROR(err);
}

static void set_fails(QemuStream *s, const char *path, const char *value, const char *message)
{
    GError *err = NULL;
    CU_ASSERT_FALSE(qemu_stream_set(s, path, value, &err));
    ASSERT_ERROR(err, message);
}

static void test_set(void)
{
    g_autoptr(GBytes) data = build_sample(7);
    g_autoptr(QemuStream) s = parse_ok(data);

    set_ok(s, "dev.u8", "7");
    set_ok(s, "dev.i16", "-32768");
    set_ok(s, "dev.u64", "18446744073709551615");
    set_ok(s, "dev.flag", "false");
    set_ok(s, "dev.buf", "00112233");
    set_ok(s, "dev.arr[2]", "0x10");
    set_ok(s, "dev.regs[RA]", "0xffffffff");
    set_ok(s, "dev.inner.a", "127");
    set_ok(s, "dev.q[1].x", "9");
    set_ok(s, "dev.cfg", "ABCDEF");
    set_ok(s, "dev.tmp.t", "-5");
    set_ok(s, "dev.timer", "100");
    set_ok(s, "dev.dev/sub.s", "0");
    set_ok(s, "dev:1.u8", "1");
    set_ok(s, "other.v", "+16");

    const QemuStreamSection *d0 = qemu_stream_find_section(s, "dev", 0);
    g_autofree char *st = to_json(d0->state);
    ASSERT_STR_EQ(st, "{\"u8\":7,\"i16\":-32768,\"u64\":18446744073709551615,\"flag\":false,"
                      "\"buf\":\"00112233\",\"arr\":[1,2,16],\"regs[RA]\":4294967295,"
                      "\"inner\":{\"a\":127,\"b\":7},\"q\":[{\"x\":5},{\"x\":9}],"
                      "\"cfg\":\"abcdef\",\"ptr\":null,\"tmp\":{\"t\":-5},\"timer\":100,"
                      "\"dev/sub\":{\"s\":0}}");
    static const uint8_t expect[] = {
        0x07, 0x80, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00,
        0x00, 0x11, 0x22, 0x33, 0x00, 0x01, 0x00, 0x02, 0x00, 0x10, 0xff, 0xff, 0xff, 0xff,
        0x7f, 0x00, 0x00, 0x00, 0x07, 0x05, 0x09, 0xab, 0xcd, 0xef, 0x30,
        0xff, 0xff, 0xff, 0xfb, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64,
        0x05, 0x07, 'd', 'e', 'v', '/', 's', 'u', 'b', 0x00, 0x00, 0x00, 0x02,
        0x00, 0x00, 0x00, 0x00,
    };
    CU_ASSERT_EQUAL_FATAL(g_bytes_get_size(d0->payload), sizeof(expect));
    CU_ASSERT_EQUAL(memcmp(g_bytes_get_data(d0->payload, NULL), expect, sizeof(expect)), 0);
    g_autofree char *d1 = to_json(qdict_get(qemu_stream_find_section(s, "dev", 1)->state, "u8"));
    ASSERT_STR_EQ(d1, "1");

    /* Everything else stays: only the edited bytes differ from the original. */
    g_autoptr(GBytes) out = qemu_stream_write(s);
    CU_ASSERT_EQUAL(g_bytes_get_size(out), g_bytes_get_size(data));
    g_autoptr(QemuStream) back = parse_ok(out);
    g_autoptr(GBytes) again = qemu_stream_write(back);
    CU_ASSERT_TRUE(g_bytes_equal(out, again));
}

static void test_set_errors(void)
{
    g_autoptr(GBytes) data = build_sample(7);
    g_autoptr(QemuStream) s = parse_ok(data);

    set_fails(s, "dev.u8", "256", "dev.u8: value 256 out of range for uint8");
    set_fails(s, "dev.u8", "-1", "dev.u8: value -1 out of range for uint8");
    set_fails(s, "dev.i16", "-32769", "dev.i16: value -32769 out of range for int16");
    set_fails(s, "dev.i16", "32768", "dev.i16: value 32768 out of range for int16");
    set_fails(s, "dev.u64", "18446744073709551616",
              "dev.u64: value 18446744073709551616 out of range for uint64");
    set_fails(s, "dev.timer", "0x8000000000000000",
              "dev.timer: value 0x8000000000000000 out of range for int64");
    set_fails(s, "dev.u8", "abc", "dev.u8: value 'abc' is not an integer");
    set_fails(s, "dev.u8", "", "dev.u8: value '' is not an integer");
    set_fails(s, "dev.u8", "0x", "dev.u8: value '0x' is not an integer");
    set_fails(s, "dev.u8", "--1", "dev.u8: value '--1' is not an integer");
    set_fails(s, "dev.u8", "0x+1", "dev.u8: value '0x+1' is not an integer");
    set_fails(s, "dev.u8", " 1", "dev.u8: value ' 1' is not an integer");
    set_fails(s, "dev.u8", "12a", "dev.u8: value '12a' is not an integer");
    set_fails(s, "dev.flag", "yes", "dev.flag: value 'yes' is not a boolean (true or false)");
    set_fails(s, "dev.buf", "0011", "dev.buf: expected 4 bytes as 8 hex digits, got 4 characters");
    set_fails(s, "dev.buf", "001122zz", "dev.buf: value is not hex (character 6)");
    set_fails(s, "dev.nope", "1", "dev.nope: no such field in section 'dev'");
    set_fails(s, "dev.arr[3]", "1", "dev.arr[3]: no such field in section 'dev'");
    set_fails(s, "dev.inner", "1", "dev.inner: is a struct, not a value; name one of its members");
    set_fails(s, "dev.dev/sub", "1",
              "dev.dev/sub: is a struct, not a value; name one of its members");
    set_fails(s, "dev.arr", "1", "dev.arr: is a list, not a value; name one element: dev.arr[N]");
    set_fails(s, "dev.ptr", "1", "dev.ptr: is a null pointer marker and cannot be set");
    set_fails(s, "nodev.x", "1", "nodev.x: no device section of that name");
    set_fails(s, "de.u8", "1", "de.u8: no device section of that name");
    set_fails(s, "dev:5.u8", "1", "dev:5.u8: section 'dev' has no instance 5");
    set_fails(s, "dev:x.u8", "1", "dev:x.u8: expected an instance number after ':'");
    set_fails(s, "dev:4294967296.u8", "1",
              "dev:4294967296.u8: expected an instance number after ':'");
    set_fails(s, "dev", "1", "dev: names a section, not a field (SECTION.FIELD)");
    set_fails(s, "dev.", "1", "dev.: names a section, not a field (SECTION.FIELD)");
    set_fails(s, "dev:1.q[0].y", "1", "dev:1.q[0].y: no such field in section 'dev:1'");

    /* Nothing changed. */
    g_autoptr(GBytes) out = qemu_stream_write(s);
    CU_ASSERT_TRUE(g_bytes_equal(out, data));
}

/* ---- diff ---------------------------------------------------------------- */

static void test_diff(void)
{
    g_autoptr(GBytes) da = build_sample(7);
    g_autoptr(GBytes) db = build_sample(8);
    g_autoptr(QemuStream) a = parse_ok(da);
    g_autoptr(QemuStream) b = parse_ok(db);
    g_autoptr(QemuStream) a2 = parse_ok(da);

    g_autoptr(GPtrArray) same = qemu_stream_diff(a, a2);
    CU_ASSERT_EQUAL(same->len, 0);

    set_ok(b, "dev:1.arr[1]", "9");
    set_ok(b, "dev.buf", "00000000");
    set_ok(b, "dev.dev/sub.s", "43");
    g_autoptr(GPtrArray) lines = qemu_stream_diff(a, b);
    CU_ASSERT_EQUAL_FATAL(lines->len, 4);
    ASSERT_STR_EQ(g_ptr_array_index(lines, 0), "dev.buf: \"deadbeef\" -> \"00000000\"");
    ASSERT_STR_EQ(g_ptr_array_index(lines, 1), "dev.dev/sub.s: 42 -> 43");
    ASSERT_STR_EQ(g_ptr_array_index(lines, 2), "dev:1.arr[1]: 2 -> 9");
    ASSERT_STR_EQ(g_ptr_array_index(lines, 3), "other.v: 7 -> 8");

    /* Sections in one stream only, and another machine. */
    g_autoptr(QemuStreamBuilder) bld = qemu_stream_builder_new("q35");
    g_autoptr(GBytes) p = g_bytes_new("\x00\x00\x00\x07", 4);
    GError *err = NULL;
    CU_ASSERT_TRUE(qemu_stream_builder_add_full(bld, "other", 0, 1, p, &err));
    CU_ASSERT_TRUE(qemu_stream_builder_add_full(bld, "extra", 0, 1, p, &err));
    g_autoptr(QObject) devices = qlist_new();
    qlist_append(devices, json(other_desc_json));
    qlist_append(devices, json(other_desc_json));
    g_autoptr(GBytes) dc = qemu_stream_builder_finish(bld, devices, &err);
    ASSERT_NO_ERROR(err);
    g_autoptr(QemuStream) c = parse_ok(dc);
    g_autoptr(GPtrArray) lines2 = qemu_stream_diff(a, c);
    CU_ASSERT_EQUAL_FATAL(lines2->len, 4);
    ASSERT_STR_EQ(g_ptr_array_index(lines2, 0), "configuration.name: \"pc-i440fx-7.2\" -> \"q35\"");
    ASSERT_STR_EQ(g_ptr_array_index(lines2, 1), "dev: only in A");
    ASSERT_STR_EQ(g_ptr_array_index(lines2, 2), "dev:1: only in A");
    ASSERT_STR_EQ(g_ptr_array_index(lines2, 3), "extra: only in B");
}

/* "other" n times (instance 0, values v[0..n)), then, with other1, once as other:1. */
static GBytes *build_duplicates(const uint32_t *v, int n, bool other1)
{
    g_autoptr(QemuStreamBuilder) bld = qemu_stream_builder_new("pc-i440fx-7.2");
    g_autoptr(QObject) devices = qlist_new();
    GError *err = NULL;
    for (int i = 0; i < n + other1; i++) {
        uint32_t x = GUINT32_TO_BE(i < n ? v[i] : 99);
        g_autoptr(GBytes) p = g_bytes_new(&x, 4);
        CU_ASSERT_TRUE(qemu_stream_builder_add_full(bld, "other", i < n ? 0 : 1, 1, p, &err));
        qlist_append(devices, json(other_desc_json));
    }
    GBytes *data = qemu_stream_builder_finish(bld, devices, &err);
    ASSERT_NO_ERROR(err);
    return data;
}

/* Issue 12: sections of one name and instance are paired by order. */
static void test_diff_duplicates(void)
{
    static const uint32_t v1[3] = { 1, 2, 3 }, v2[3] = { 1, 5, 3 };
    g_autoptr(GBytes) d1 = build_duplicates(v1, 3, true);
    g_autoptr(GBytes) d2 = build_duplicates(v2, 3, true);
    g_autoptr(QemuStream) a = parse_ok(d1);
    g_autoptr(QemuStream) a2 = parse_ok(d1);
    g_autoptr(QemuStream) b = parse_ok(d2);

    g_autoptr(GPtrArray) same = qemu_stream_diff(a, a2);
    CU_ASSERT_EQUAL(same->len, 0);
    g_autoptr(GPtrArray) lines = qemu_stream_diff(a, b);
    CU_ASSERT_EQUAL_FATAL(lines->len, 1);
    ASSERT_STR_EQ(g_ptr_array_index(lines, 0), "other#1.v: 2 -> 5");

    /* One more or one fewer: the extra one is in one stream only. */
    g_autoptr(GBytes) d3 = build_duplicates(v1, 2, false);
    g_autoptr(QemuStream) c = parse_ok(d3);
    g_autoptr(GPtrArray) fewer = qemu_stream_diff(a, c);
    CU_ASSERT_EQUAL_FATAL(fewer->len, 2);
    ASSERT_STR_EQ(g_ptr_array_index(fewer, 0), "other#2: only in A");
    ASSERT_STR_EQ(g_ptr_array_index(fewer, 1), "other:1: only in A");
    g_autoptr(GPtrArray) more = qemu_stream_diff(c, a);
    CU_ASSERT_EQUAL_FATAL(more->len, 2);
    ASSERT_STR_EQ(g_ptr_array_index(more, 0), "other#2: only in B");
    ASSERT_STR_EQ(g_ptr_array_index(more, 1), "other:1: only in B");
}

/* ---- hand-made framing: configuration, RAM, footers ------------------------ */

static void put_str8(ByteWriter *w, const char *s)
{
    byte_writer_u8(w, (uint8_t)strlen(s));
    byte_writer_write(w, s, strlen(s));
}

static void put_header(ByteWriter *w)
{
    byte_writer_init(w);
    byte_writer_be32(w, QEMU_VM_FILE_MAGIC);
    byte_writer_be32(w, QEMU_VM_FILE_VERSION);
}

/* The configuration section's tag and machine name (len bytes, whatever they are). */
static void put_machine(ByteWriter *w, const char *name, size_t len)
{
    byte_writer_u8(w, QEMU_VM_CONFIGURATION);
    byte_writer_be32(w, (uint32_t)len);
    byte_writer_write(w, name, len);
}

/* A configuration/capabilities subsection (version 1) with n names. */
static void put_capabilities(ByteWriter *w, const char *const *names, uint32_t n)
{
    byte_writer_u8(w, QEMU_VM_SUBSECTION);
    put_str8(w, "configuration/capabilities");
    byte_writer_be32(w, 1);
    byte_writer_be32(w, n);
    for (uint32_t i = 0; i < n; i++) {
        put_str8(w, names[i]);
    }
}

static void put_config(ByteWriter *w, bool ignore_shared)
{
    static const char *const caps[] = { "x-ignore-shared" };
    put_machine(w, "pc", 2);
    if (ignore_shared) {
        put_capabilities(w, caps, 1);
    }
}

static void put_section_instance(ByteWriter *w, uint8_t type, uint32_t id, const char *name,
                                 uint32_t instance_id, uint32_t version)
{
    byte_writer_u8(w, type);
    byte_writer_be32(w, id);
    if (name) {
        put_str8(w, name);
        byte_writer_be32(w, instance_id);
        byte_writer_be32(w, version);
    }
}

static void put_section(ByteWriter *w, uint8_t type, uint32_t id, const char *name,
                        uint32_t version)
{
    put_section_instance(w, type, id, name, 0, version);
}

static void put_footer(ByteWriter *w, uint32_t id)
{
    byte_writer_u8(w, QEMU_VM_SECTION_FOOTER);
    byte_writer_be32(w, id);
}

static GBytes *take(ByteWriter *w)
{
    GBytes *b = byte_writer_take(w);
    byte_writer_clear(w);
    return b;
}

/* Issue 12: bytes from the stream that are not UTF-8 never reach JSON or a message raw. */
static void test_not_utf8(void)
{
    static const char *const caps[] = { "x-\x96" };
    ByteWriter w;
    put_header(&w);
    put_machine(&w, "pc-\xff\xc3\xa9\x00q\xc1", 9);
    put_capabilities(&w, caps, 1);
    byte_writer_u8(&w, QEMU_VM_EOF);
    g_autoptr(GBytes) data = take(&w);
    g_autoptr(QemuStream) s = parse_ok(data);
    g_autofree char *cfg = to_json(qemu_stream_configuration(s));
    ASSERT_STR_EQ(cfg, "{\"name\":\"pc-\\\\xff\xc3\xa9\\\\x00q\\\\xc1\",\"capabilities\":[\"x-\\\\x96\"]}");
    g_autoptr(QObject) all = qemu_stream_to_qobject(s, true);
    g_autofree char *json = qobject_to_json(all, false);
    CU_ASSERT_TRUE(g_utf8_validate(json, -1, NULL));
    g_autoptr(GBytes) out = qemu_stream_write(s);
    CU_ASSERT_TRUE(g_bytes_equal(out, data));     /* the bytes themselves are kept */

    put_header(&w);
    put_config(&w, false);
    put_section(&w, QEMU_VM_SECTION_FULL, 0, "ab\xe9", 1);
    byte_writer_u8(&w, QEMU_VM_EOF);
    g_autoptr(GBytes) bad = take(&w);
    expect_parse_error(bad, "offset 15: section header: section name is not UTF-8 (hex 6162e9)");
}

static void test_configuration(void)
{
    static const char *const caps[] = { "x-ignore-shared", "mapped-ram" };
    ByteWriter w;
    put_header(&w);
    put_machine(&w, "pc-q35-7.2", 10);
    byte_writer_u8(&w, QEMU_VM_SUBSECTION);
    put_str8(&w, "configuration/target-page-bits");
    byte_writer_be32(&w, 1);
    byte_writer_be32(&w, 12);
    put_capabilities(&w, caps, 2);
    byte_writer_u8(&w, QEMU_VM_SUBSECTION);
    put_str8(&w, "configuration/uuid");
    byte_writer_be32(&w, 1);
    for (int i = 0; i < 16; i++) {
        byte_writer_u8(&w, (uint8_t)(0xa0 + i));
    }
    byte_writer_u8(&w, QEMU_VM_EOF);
    g_autoptr(GBytes) data = take(&w);
    g_autoptr(QemuStream) s = parse_ok(data);
    g_autofree char *cfg = to_json(qemu_stream_configuration(s));
    ASSERT_STR_EQ(cfg, "{\"name\":\"pc-q35-7.2\",\"target-page-bits\":12,"
                       "\"capabilities\":[\"x-ignore-shared\",\"mapped-ram\"],"
                       "\"uuid\":\"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf\"}");
    CU_ASSERT_EQUAL(qemu_stream_n_sections(s), 0);
    CU_ASSERT_PTR_NULL(qemu_stream_vmdesc(s));
    g_autoptr(GBytes) out = qemu_stream_write(s);
    CU_ASSERT_TRUE(g_bytes_equal(out, data));

    put_header(&w);
    byte_writer_u8(&w, QEMU_VM_CONFIGURATION);
    byte_writer_be32(&w, 2);
    byte_writer_write(&w, "pc", 2);
    byte_writer_u8(&w, QEMU_VM_SUBSECTION);
    put_str8(&w, "configuration/whatever");
    byte_writer_be32(&w, 1);
    byte_writer_u8(&w, QEMU_VM_EOF);
    g_autoptr(GBytes) bad = take(&w);
    expect_parse_error(bad, "offset 15: configuration: unknown subsection 'configuration/whatever'");

    put_header(&w);
    byte_writer_u8(&w, QEMU_VM_CONFIGURATION);
    byte_writer_be32(&w, 2);
    byte_writer_write(&w, "pc", 2);
    byte_writer_u8(&w, QEMU_VM_SUBSECTION);
    put_str8(&w, "configuration/target-page-bits");
    byte_writer_be32(&w, 1);
    byte_writer_be32(&w, 30);
    byte_writer_u8(&w, QEMU_VM_SECTION_START);
    g_autoptr(GBytes) bits = take(&w);
    expect_parse_error(bits, "offset 9: configuration: target-page-bits 30 out of range 9..16");
}

/* A RAM stream: START with the block list, PART with pages, END. */
static GBytes *ram_stream(bool ignore_shared, uint64_t bad_record)
{
    ByteWriter w;
    put_header(&w);
    put_config(&w, ignore_shared);
    put_section(&w, QEMU_VM_SECTION_START, 2, "ram", 4);
    byte_writer_be64(&w, 0x3000 | 0x04);                    /* MEM_SIZE */
    put_str8(&w, "pc.ram");
    byte_writer_be64(&w, 0x2000);
    if (ignore_shared) {
        byte_writer_be64(&w, 0);
    }
    put_str8(&w, "rom");
    byte_writer_be64(&w, 0x1000);
    if (ignore_shared) {
        byte_writer_be64(&w, 0xfffff000);
    }
    byte_writer_be64(&w, 0x10);                             /* EOS */
    put_footer(&w, 2);
    put_section(&w, QEMU_VM_SECTION_PART, 2, NULL, 0);
    byte_writer_be64(&w, 0x0000 | 0x08);                    /* PAGE pc.ram @0 */
    put_str8(&w, "pc.ram");
    for (int i = 0; i < 4096; i++) {
        byte_writer_u8(&w, (uint8_t)i);
    }
    byte_writer_be64(&w, 0x1000 | 0x02 | 0x20);             /* ZERO, CONTINUE @0x1000 */
    byte_writer_u8(&w, 0);
    if (bad_record) {
        byte_writer_be64(&w, bad_record);
    }
    byte_writer_be64(&w, 0x0000 | 0x02);                    /* ZERO rom @0 */
    put_str8(&w, "rom");
    byte_writer_u8(&w, 0);
    byte_writer_be64(&w, 0x10);
    put_footer(&w, 2);
    put_section(&w, QEMU_VM_SECTION_END, 2, NULL, 0);
    byte_writer_be64(&w, 0x10);
    put_footer(&w, 2);
    byte_writer_u8(&w, QEMU_VM_EOF);
    return take(&w);
}

static void test_ram(void)
{
    g_autoptr(GBytes) data = ram_stream(true, 0);
    g_autoptr(QemuStream) s = parse_ok(data);
    CU_ASSERT_EQUAL_FATAL(qemu_stream_n_sections(s), 3);
    g_autofree char *s0 = to_json(qemu_stream_section(s, 0)->state);
    ASSERT_STR_EQ(s0, "{\"blocks\":[{\"name\":\"pc.ram\",\"used-length\":8192,\"address\":0},"
                      "{\"name\":\"rom\",\"used-length\":4096,\"address\":4294963200}],"
                      "\"pages\":0,\"zero-pages\":0}");
    g_autofree char *s1 = to_json(qemu_stream_section(s, 1)->state);
    ASSERT_STR_EQ(s1, "{\"pages\":1,\"zero-pages\":2}");
    const QemuStreamSection *part = qemu_stream_section(s, 1);
    ASSERT_STR_EQ(part->name, "ram");
    CU_ASSERT_EQUAL(part->type, QEMU_VM_SECTION_PART);
    CU_ASSERT_EQUAL(part->version_id, 4);
    CU_ASSERT_EQUAL(part->size, 8 + 7 + 4096 + 8 + 1 + 8 + 4 + 1 + 8);
    g_autoptr(GBytes) out = qemu_stream_write(s);
    CU_ASSERT_TRUE(g_bytes_equal(out, data));

    /* Without x-ignore-shared the block list has no addresses. */
    g_autoptr(GBytes) plain = ram_stream(false, 0);
    g_autoptr(QemuStream) p = parse_ok(plain);
    g_autofree char *p0 = to_json(qdict_get(qemu_stream_section(p, 0)->state, "blocks"));
    ASSERT_STR_EQ(p0, "[{\"name\":\"pc.ram\",\"used-length\":8192},"
                      "{\"name\":\"rom\",\"used-length\":4096}]");

    /* Records we refuse or that do not fit.  The bad record sits at offset 4205. */
    g_autoptr(GBytes) x = ram_stream(false, 0x2000 | 0x40 | 0x20);
    expect_parse_error(x, "offset 4205: section 'ram' (id 2): RAM flags 0x60: XBZRLE-compressed"
                          " pages are not supported");
    g_autoptr(GBytes) c = ram_stream(false, 0x2000 | 0x100);
    expect_parse_error(c, "offset 4205: section 'ram' (id 2): RAM flags 0x100: compressed pages"
                          " are not supported");
    g_autoptr(GBytes) h = ram_stream(false, 0x80);
    expect_parse_error(h, "offset 4205: section 'ram' (id 2): RAM flags 0x80: RDMA hooks are not"
                          " supported");
    g_autoptr(GBytes) u = ram_stream(false, 0x0c);
    expect_parse_error(u, "offset 4205: section 'ram' (id 2): RAM flags 0xc: unknown combination"
                          " of RAM flags");
    g_autoptr(GBytes) o = ram_stream(false, 0x2000 | 0x02 | 0x20);
    expect_parse_error(o, "offset 4205: section 'ram' (id 2): RAM page at 0x2000 outside block"
                          " 'pc.ram' (8192 bytes)");
}

static void test_ram_errors(void)
{
    ByteWriter w;
    /* Block lengths that add up to more than the total. */
    put_header(&w);
    put_section(&w, QEMU_VM_SECTION_START, 0, "ram", 4);
    byte_writer_be64(&w, 0x1000 | 0x04);
    put_str8(&w, "pc.ram");
    byte_writer_be64(&w, 0x2000);
    g_autoptr(GBytes) total = take(&w);
    expect_parse_error(total, "offset 33: section 'ram' (id 0): RAM block 'pc.ram' length 8192"
                              " exceeds the 4096 bytes left of the total 4096");

    /* A page of a block never listed; a page continuing nothing. */
    put_header(&w);
    put_section(&w, QEMU_VM_SECTION_START, 0, "ram", 4);
    byte_writer_be64(&w, 0x08);
    put_str8(&w, "nowhere");
    g_autoptr(GBytes) unknown = take(&w);
    expect_parse_error(unknown, "offset 25: section 'ram' (id 0): RAM page for unknown block"
                                " 'nowhere'");
    put_header(&w);
    put_section(&w, QEMU_VM_SECTION_START, 0, "ram", 4);
    byte_writer_be64(&w, 0x08 | 0x20);
    g_autoptr(GBytes) cont = take(&w);
    expect_parse_error(cont, "offset 25: section 'ram' (id 0): RAM page continues a block but no"
                             " block came before");

    /* Another RAM version, another iterative section, a PART that never started. */
    put_header(&w);
    put_section(&w, QEMU_VM_SECTION_START, 0, "ram", 3);
    g_autoptr(GBytes) v3 = take(&w);
    expect_parse_error(v3, "offset 25: section 'ram' (id 0): RAM section version 3, expected 4");
    put_header(&w);
    put_section(&w, QEMU_VM_SECTION_START, 0, "block", 1);
    g_autoptr(GBytes) blk = take(&w);
    expect_parse_error(blk, "offset 27: section 'block' (id 0): cannot decode iterative section"
                            " 'block' (only 'ram' is known)");
    put_header(&w);
    put_section(&w, QEMU_VM_SECTION_PART, 5, NULL, 0);
    g_autoptr(GBytes) part = take(&w);
    expect_parse_error(part, "offset 8: section header: part of section id 5, which never started");

    /* Truncated inside a page. */
    put_header(&w);
    put_section(&w, QEMU_VM_SECTION_START, 0, "ram", 4);
    byte_writer_be64(&w, 0x1000 | 0x04);
    put_str8(&w, "r");
    byte_writer_be64(&w, 0x1000);
    byte_writer_be64(&w, 0x08);
    put_str8(&w, "r");
    byte_writer_write(&w, "abc", 3);
    g_autoptr(GBytes) trunc = take(&w);
    expect_parse_error(trunc, "offset 53: section 'ram' (id 0): truncated: need 4096 bytes, 3 left");
}

static void test_framing(void)
{
    ByteWriter w;
    g_autoptr(GBytes) dev = g_bytes_new("\x00\x00\x00\x01", 4);

    /* A stream without footers is fine, as long as it is consistent. */
    g_autoptr(QemuStreamBuilder) b = qemu_stream_builder_new("pc");
    GError *err = NULL;
    CU_ASSERT_TRUE(qemu_stream_builder_add_full(b, "other", 0, 1, dev, &err));
    CU_ASSERT_TRUE(qemu_stream_builder_add_full(b, "other", 1, 1, dev, &err));
    g_autoptr(QObject) devices = qlist_new();
    qlist_append(devices, json(other_desc_json));
    QObject *second = json(other_desc_json);
    qlist_append(devices, second);
    g_autoptr(GBytes) built = qemu_stream_builder_finish(b, devices, &err);
    ASSERT_NO_ERROR(err);
    g_autoptr(QemuStream) s = parse_ok(built);
    g_autoptr(GBytes) tail = g_bytes_new_from_bytes(built, qemu_stream_eof_offset(s),
                                                    g_bytes_get_size(built) -
                                                    qemu_stream_eof_offset(s));
    put_header(&w);
    put_config(&w, false);
    put_section(&w, QEMU_VM_SECTION_FULL, 0, "other", 1);
    byte_writer_write(&w, "\x00\x00\x00\x01", 4);
    put_section_instance(&w, QEMU_VM_SECTION_FULL, 1, "other", 1, 1);
    byte_writer_write(&w, "\x00\x00\x00\x01", 4);
    byte_writer_write(&w, g_bytes_get_data(tail, NULL), g_bytes_get_size(tail));
    g_autoptr(GBytes) nofoot = take(&w);
    g_autoptr(QemuStream) t = qemu_stream_parse(nofoot, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_FALSE(qemu_stream_section(t, 0)->has_footer);
    g_autoptr(GBytes) back = qemu_stream_write(t);
    CU_ASSERT_TRUE(g_bytes_equal(back, nofoot));

    /* A footer after the first section but not after the second. */
    put_header(&w);
    put_config(&w, false);
    put_section(&w, QEMU_VM_SECTION_FULL, 0, "other", 1);
    byte_writer_write(&w, "\x00\x00\x00\x01", 4);
    put_footer(&w, 0);
    put_section_instance(&w, QEMU_VM_SECTION_FULL, 1, "other", 1, 1);
    byte_writer_write(&w, "\x00\x00\x00\x01", 4);
    byte_writer_write(&w, g_bytes_get_data(tail, NULL), g_bytes_get_size(tail));
    g_autoptr(GBytes) mixed = take(&w);
    expect_parse_error(mixed, "offset 66: section 'other' (id 1): expected section footer (0x7e),"
                              " found 0x00");

    /* Framing errors. */
    put_header(&w);
    byte_writer_u8(&w, QEMU_VM_COMMAND);
    g_autoptr(GBytes) cmd = take(&w);
    expect_parse_error(cmd, "offset 8: QEMU_VM_COMMAND (postcopy/COLO) is not supported");
    put_header(&w);
    byte_writer_u8(&w, 0x42);
    g_autoptr(GBytes) unknown = take(&w);
    expect_parse_error(unknown, "offset 8: unknown section type 0x42");
    put_header(&w);
    g_autoptr(GBytes) noeof = take(&w);
    expect_parse_error(noeof, "offset 8: truncated: stream ends without EOF (0x00)");
    put_header(&w);
    byte_writer_u8(&w, QEMU_VM_EOF);
    byte_writer_u8(&w, 0x99);
    g_autoptr(GBytes) after = take(&w);
    expect_parse_error(after, "offset 9: unexpected data after EOF: 0x99");
    put_header(&w);
    put_config(&w, false);
    put_config(&w, false);
    g_autoptr(GBytes) twice = take(&w);
    expect_parse_error(twice, "offset 15: configuration section not right after the header");
    put_header(&w);
    put_section(&w, QEMU_VM_SECTION_FULL, 3, "other", 1);
    byte_writer_write(&w, "\x00\x00\x00\x01", 4);
    byte_writer_u8(&w, QEMU_VM_EOF);
    g_autoptr(GBytes) nodesc = take(&w);
    expect_parse_error(nodesc, "offset 27: section 'other' (id 3): cannot decode: the stream has"
                               " no vmdesc, and no descriptions were given");
    g_autoptr(GBytes) empty = g_bytes_new(NULL, 0);
    expect_parse_error(empty, "offset 0: header: truncated: need 4 bytes, 0 left");
}

/* Descriptions that do not make sense, each in a one-device stream. */
static void expect_desc_error(const char *fields_json, const uint8_t *payload, size_t n,
                              const char *message)
{
    g_autofree char *desc = g_strdup_printf("[{\"name\": \"d\", \"instance_id\": 0, \"vmsd_name\":"
                                            " \"d\", \"version\": 1, \"fields\": %s}]",
                                            fields_json);
    g_autoptr(QObject) devices = json(desc);
    g_autoptr(QemuStreamBuilder) b = qemu_stream_builder_new("pc");
    g_autoptr(GBytes) p = g_bytes_new(payload, n);
    GError *err = NULL;
    CU_ASSERT_TRUE(qemu_stream_builder_add_full(b, "d", 0, 1, p, &err));
    g_autoptr(GBytes) out = qemu_stream_builder_finish(b, devices, &err);
    CU_ASSERT_PTR_NULL(out);
    ASSERT_ERROR(err, message);
}

/*
 * A buffer of no bytes (QEMU's VMSTATE_VBUFFER of length 0, or a BER
 * state's empty buffer converted) has a place in the state like any field:
 * the vmdesc's description once lacked its offset and the stream could not
 * be read (fuzz-ber: empty-buffer-in-vmdesc).
 */
static void test_empty_buffer(void)
{
    static const uint8_t four[] = { 0, 0, 0, 1 };
    g_autoptr(QObject) devices = json("[{\"name\": \"d\", \"instance_id\": 0, \"vmsd_name\": "
                                      "\"d\", \"version\": 1, \"fields\": ["
                                      "{\"name\": \"e\", \"type\": \"buffer\", \"size\": 0}, "
                                      "{\"name\": \"a\", \"type\": \"uint32\", \"size\": 4}]}]");
    g_autoptr(QemuStreamBuilder) b = qemu_stream_builder_new("pc");
    g_autoptr(GBytes) p = g_bytes_new(four, sizeof(four));
    GError *err = NULL;
    CU_ASSERT_TRUE(qemu_stream_builder_add_full(b, "d", 0, 1, p, &err));
    g_autoptr(GBytes) out = qemu_stream_builder_finish(b, devices, &err);
    ASSERT_NO_ERROR(err);
    g_autoptr(QemuStream) s = out ? parse_ok(out) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    g_autoptr(QObject) obj = qemu_stream_to_qobject(s, false);
    QObject *state = qdict_get(qlist_get(qdict_get(obj, "sections"), 0), "state");
    g_autofree char *text = to_json(state);
    ASSERT_STR_EQ(text, "{\"e\":\"\",\"a\":1}");
}

static void test_bad_descriptions(void)
{
    static const uint8_t four[] = { 0, 0, 0, 1 };
    /* The payload starts at offset 30. */
    expect_desc_error("[{\"name\": \"a\", \"size\": 4}]", four, 4,
                      "offset 30: section 'd' (id 0): a: vmdesc: field entry has no \"type\"");
    expect_desc_error("[{\"type\": \"uint32\", \"size\": 4}]", four, 4,
                      "offset 30: section 'd' (id 0): vmdesc: field entry has no \"name\"");
    expect_desc_error("[{\"name\": \"a\", \"type\": \"uint32\"}]", four, 4,
                      "offset 30: section 'd' (id 0): a: vmdesc: entry has no \"size\"");
    expect_desc_error("[{\"name\": \"a\", \"type\": \"uint32\", \"size\": -4}]", four, 4,
                      "offset 30: section 'd' (id 0): a: vmdesc: \"size\" is not a non-negative"
                      " integer");
    expect_desc_error("[{\"name\": \"a\", \"type\": \"uint8\", \"size\": 1},"
                      " {\"name\": \"b\", \"type\": \"uint16\", \"size\": 2},"
                      " {\"name\": \"a\", \"type\": \"uint8\", \"size\": 1}]", four, 4,
                      "offset 33: section 'd' (id 0): a: vmdesc: duplicate field name");
    expect_desc_error("[{\"name\": \"a\", \"index\": 1, \"type\": \"uint8\", \"size\": 1}]",
                      four, 4,
                      "offset 30: section 'd' (id 0): a: vmdesc: array element index 1 without"
                      " index 0");
    expect_desc_error("[{\"name\": \"a\", \"index\": 0, \"type\": \"uint8\", \"size\": 1},"
                      " {\"name\": \"a\", \"index\": 2, \"type\": \"uint8\", \"size\": 1}]",
                      four, 4,
                      "offset 31: section 'd' (id 0): a: vmdesc: array element index 2,"
                      " expected 1");
    expect_desc_error("[{\"name\": \"a\", \"type\": \"struct\", \"size\": 4}]", four, 4,
                      "offset 30: section 'd' (id 0): a: vmdesc: struct field has no \"struct\""
                      " description");
    expect_desc_error("[{\"name\": \"a\", \"type\": \"nullptr\", \"size\": 1},"
                      " {\"name\": \"b\", \"type\": \"buffer\", \"size\": 3}]", four, 4,
                      "offset 30: section 'd' (id 0): a: null pointer marker is 0x00, expected"
                      " 0x30");

    /* An array longer than the rest of the stream (whatever the vmdesc's length). */
    g_autoptr(QObject) devices = json("[{\"vmsd_name\": \"d\", \"version\": 1, \"fields\":"
                                      " [{\"name\": \"a\", \"array_len\": 100000, \"type\":"
                                      " \"uint8\", \"size\": 1}]}]");
    g_autoptr(QemuStreamBuilder) b = qemu_stream_builder_new("pc");
    g_autoptr(GBytes) p = g_bytes_new(four, 4);
    GError *err = NULL;
    CU_ASSERT_TRUE(qemu_stream_builder_add_full(b, "d", 0, 1, p, &err));
    g_autoptr(GBytes) out = qemu_stream_builder_finish(b, devices, &err);
    CU_ASSERT_PTR_NULL(out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    CU_ASSERT_TRUE(g_str_has_prefix(err->message, "offset 30: section"
                                                  " 'd' (id 0): a: vmdesc: array of 100000 x 1"
                                                  " bytes overruns the stream ("));
    g_clear_error(&err);
}

/* EOF, then a vmdesc with this text */
static void put_eof_vmdesc(ByteWriter *w, const char *text)
{
    byte_writer_u8(w, QEMU_VM_EOF);
    byte_writer_u8(w, QEMU_VM_VMDESCRIPTION);
    byte_writer_be32(w, (uint32_t)strlen(text));
    byte_writer_write(w, text, strlen(text));
}

/* header, EOF, then a vmdesc with this text */
static GBytes *with_vmdesc_text(const char *text)
{
    ByteWriter w;
    put_header(&w);
    put_eof_vmdesc(&w, text);
    return take(&w);
}

static void test_vmdesc_json(void)
{
    /* The JSON starts at offset 14. */
    g_autoptr(GBytes) ok = with_vmdesc_text("{\"page_size\": 4096, \"devices\": []}");
    g_autoptr(QemuStream) s = parse_ok(ok);
    g_autofree char *desc = to_json(qemu_stream_vmdesc(s));
    ASSERT_STR_EQ(desc, "{\"page_size\":4096,\"devices\":[]}");
    g_autoptr(GBytes) out = qemu_stream_write(s);
    CU_ASSERT_TRUE(g_bytes_equal(out, ok));

    g_autoptr(GBytes) early = with_vmdesc_text("{\"devices\": [");
    expect_parse_error(early, "offset 27: vmdesc: JSON ends early");
    g_autoptr(GBytes) after = with_vmdesc_text("{\"devices\": []} x");
    expect_parse_error(after, "offset 30: vmdesc: text after the JSON value");
    g_autoptr(GBytes) bad = with_vmdesc_text("{\"devices\": [}");
    expect_parse_error(bad, "offset 27: vmdesc: bad JSON: unexpected character");
    g_autoptr(GBytes) nodev = with_vmdesc_text("{\"page_size\": 4096}");
    expect_parse_error(nodev, "offset 14: vmdesc: not an object with a \"devices\" list");
    g_autoptr(GBytes) page = with_vmdesc_text("{\"page_size\": 1000, \"devices\": []}");
    expect_parse_error(page, "offset 14: vmdesc: \"page_size\" is not a power of two between 512"
                             " and 65536");
    g_autoptr(GBytes) anon = with_vmdesc_text("{\"devices\": [{\"fields\": []}]}");
    expect_parse_error(anon, "offset 14: vmdesc: device 0 has no \"name\" or \"instance_id\"");
    g_autoptr(GBytes) twice = with_vmdesc_text(
        "{\"devices\": [{\"name\": \"a\", \"instance_id\": 0},"
        " {\"name\": \"a\", \"instance_id\": 0}]}");
    /* Two entries of one name and instance describe two sections (issue 12). */
    expect_parse_error(twice, "offset 8: the vmdesc describes section 'a' instance 0, which is"
                              " not in the stream");
    g_autoptr(GBytes) overlong = with_vmdesc_text("{\"devices\": [], \"x\": \"\xc1\x89\"}");
    expect_parse_error(overlong, "offset 36: vmdesc: bad JSON: not UTF-8");
    g_autoptr(GBytes) missing = with_vmdesc_text(
        "{\"devices\": [{\"name\": \"a\", \"instance_id\": 3}]}");
    expect_parse_error(missing, "offset 8: the vmdesc describes section 'a' instance 3, which is"
                                " not in the stream");
}

/* Structs nested 12 deep: JSON deeper than json-c's default limit of 32. */
static void test_deep_nesting(void)
{
    GString *desc = g_string_new("[{\"vmsd_name\": \"deep\", \"version\": 1, \"fields\": [");
    for (int i = 0; i < 12; i++) {
        g_string_append_printf(desc, "{\"name\": \"s\", \"type\": \"struct\", \"size\": 1,"
                               " \"struct\": {\"vmsd_name\": \"s%d\", \"version\": 1,"
                               " \"fields\": [", i);
    }
    g_string_append(desc, "{\"name\": \"v\", \"type\": \"uint8\", \"size\": 1}");
    for (int i = 0; i < 12; i++) {
        g_string_append(desc, "]}}");
    }
    g_string_append(desc, "]}]");
    json_tokener *tok = json_tokener_new_ex(64);     /* deeper than qobject_from_json's 32 */
    g_autoptr(QObject) devices = json_tokener_parse_ex(tok, desc->str, (int)desc->len);
    json_tokener_free(tok);
    CU_ASSERT_PTR_NOT_NULL_FATAL(devices);
    g_string_free(desc, TRUE);
    g_autoptr(QemuStreamBuilder) b = qemu_stream_builder_new("pc");
    g_autoptr(GBytes) p = g_bytes_new("\x2a", 1);
    GError *err = NULL;
    CU_ASSERT_TRUE(qemu_stream_builder_add_full(b, "deep", 0, 1, p, &err));
    g_autoptr(GBytes) data = qemu_stream_builder_finish(b, devices, &err);
    ASSERT_NO_ERROR(err);
    g_autoptr(QemuStream) s = parse_ok(data);
    g_autofree char *st = to_json(qemu_stream_section(s, 0)->state);
    ASSERT_STR_EQ(st, "{\"s\":{\"s\":{\"s\":{\"s\":{\"s\":{\"s\":{\"s\":{\"s\":{\"s\":{\"s\":{\"s\":"
                      "{\"s\":{\"v\":42}}}}}}}}}}}}}");
    set_ok(s, "deep.s.s.s.s.s.s.s.s.s.s.s.s.v", "7");
}

/* Newer QEMUs split an array around null pointers into runs of one name. */
static void test_array_runs(void)
{
    g_autoptr(QObject) devices = json(
        "[{\"vmsd_name\": \"r\", \"version\": 1, \"fields\": ["
        " {\"name\": \"p\", \"type\": \"nullptr\", \"size\": 1},"
        " {\"name\": \"p\", \"array_len\": 2, \"type\": \"uint8\", \"size\": 1},"
        " {\"name\": \"p\", \"type\": \"nullptr\", \"size\": 1}]}]");
    g_autoptr(QemuStreamBuilder) b = qemu_stream_builder_new("pc");
    g_autoptr(GBytes) p = g_bytes_new("0\x01\x02" "0", 4);
    GError *err = NULL;
    CU_ASSERT_TRUE(qemu_stream_builder_add_full(b, "r", 0, 1, p, &err));
    g_autoptr(GBytes) data = qemu_stream_builder_finish(b, devices, &err);
    ASSERT_NO_ERROR(err);
    g_autoptr(QemuStream) s = parse_ok(data);
    g_autofree char *st = to_json(qemu_stream_section(s, 0)->state);
    ASSERT_STR_EQ(st, "{\"p\":[null,1,2,null]}");
    set_ok(s, "r.p[2]", "9");
    set_fails(s, "r.p[3]", "1", "r.p[3]: is a null pointer marker and cannot be set");
}

/* ---- one walk: the engine decodes, any visitor shows ---- */

static void test_pretty(void)
{
    g_autoptr(QemuStream) s = small_stream();
    GError *err = NULL;
    Visitor *v = pretty_output_visitor_new();
    CU_ASSERT_TRUE(qemu_stream_visit(v, "stream", s, true, &err));
    ASSERT_NO_ERROR(err);
    g_autofree char *text = pretty_output_visitor_take(v);
    visit_free(v);
    ASSERT_STR_EQ(text,
                  "stream {\n"
                  "  header {\n"
                  "    magic: string = \"QEVM\"\n"
                  "    version: uint32 = 3 (0x00000003)\n"
                  "  }\n"
                  "  configuration {\n"
                  "    offset: uint64 = 9 (0x0000000000000009)\n"
                  "    size: uint64 = 5 (0x0000000000000005)\n"
                  "    name: string = \"m\"\n"
                  "  }\n"
                  "  sections: list[1] [\n"
                  "    [0] {\n"
                  "      name: string = \"other\"\n"
                  "      instance-id: uint32 = 2 (0x00000002)\n"
                  "      section-id: uint32 = 0 (0x00000000)\n"
                  "      version-id: uint32 = 1 (0x00000001)\n"
                  "      type: string = \"full\"\n"
                  "      offset: uint64 = 33 (0x0000000000000021)\n"
                  "      size: uint64 = 4 (0x0000000000000004)\n"
                  "      state (vmsd other, version 1) {\n"
                  "        v: uint32 = 9 (0x00000009)\n"
                  "      }\n"
                  "    }\n"
                  "  ]\n"
                  "  warnings: list[0] = []\n"
                  "  vmdesc {\n"
                  "    page_size: int64 = 4096\n"
                  "    devices: list[1] [\n"
                  "      [0] {\n"
                  "        name: string = \"other\"\n"
                  "        instance_id: int64 = 2\n"
                  "        vmsd_name: string = \"other\"\n"
                  "        version: int64 = 1\n"
                  "        fields: list[1] [\n"
                  "          [0] {\n"
                  "            name: string = \"v\"\n"
                  "            type: string = \"uint32\"\n"
                  "            size: int64 = 4\n"
                  "          }\n"
                  "        ]\n"
                  "      }\n"
                  "    ]\n"
                  "  }\n"
                  "}\n");
}

/* header, configuration "pc", FULL section 0 "d" version 1 with payload, footer, EOF, vmdesc */
static GBytes *one_device_stream(const uint8_t *payload, size_t n, const char *fields_json)
{
    ByteWriter w;
    g_autofree char *vmdesc = g_strdup_printf("{\"page_size\": 4096, \"devices\": [{\"name\":"
                                              " \"d\", \"instance_id\": 0, \"vmsd_name\": \"d\","
                                              " \"version\": 1, %s}]}", fields_json);
    put_header(&w);
    put_config(&w, false);
    put_section(&w, QEMU_VM_SECTION_FULL, 0, "d", 1);
    byte_writer_write(&w, payload, n);
    put_footer(&w, 0);
    put_eof_vmdesc(&w, vmdesc);
    return take(&w);
}

/* What a loader with a configuration would check, a stream alone does not. */
static void test_types_read_loosely(void)
{
    static const uint8_t payload[] = {
        0x00, 0x00, 0x00, 0x07,             /* "int32 le": 7, above the loader's 0 */
        0x09,                               /* "uint8 equal" */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, /* "int64 equal": -2 */
        0xab, 0xcd,                         /* "unused_buffer": what the stream has */
        0x30, 0x30, 0x30,                   /* three null pointers in one entry */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, /* "timer" */
    };
    g_autoptr(GBytes) data = one_device_stream(payload, sizeof(payload),
        "\"fields\": ["
        "{\"name\": \"le\", \"type\": \"int32 le\", \"size\": 4},"
        "{\"name\": \"eq\", \"type\": \"uint8 equal\", \"size\": 1},"
        "{\"name\": \"eq64\", \"type\": \"int64 equal\", \"size\": 8},"
        "{\"name\": \"unused\", \"type\": \"unused_buffer\", \"size\": 2},"
        "{\"name\": \"ptrs\", \"array_len\": 3, \"type\": \"nullptr\", \"size\": 1},"
        "{\"name\": \"t\", \"type\": \"timer\", \"size\": 8}]");
    g_autoptr(QemuStream) s = parse_ok(data);
    g_autofree char *st = to_json(qemu_stream_section(s, 0)->state);
    ASSERT_STR_EQ(st, "{\"le\":7,\"eq\":9,\"eq64\":-2,\"unused\":\"abcd\","
                      "\"ptrs\":[null,null,null],\"t\":1}");
    set_ok(s, "d.le", "-1");
    set_ok(s, "d.unused", "0000");
    set_fails(s, "d.ptrs[1]", "1", "d.ptrs[1]: is a null pointer marker and cannot be set");
    g_autofree char *st2 = to_json(qemu_stream_section(s, 0)->state);
    ASSERT_STR_EQ(st2, "{\"le\":-1,\"eq\":9,\"eq64\":-2,\"unused\":\"0000\","
                       "\"ptrs\":[null,null,null],\"t\":1}");
}

/* Array elements described one by one, each with the subsections it has. */
static const char lanes_json[] =
    "\"fields\": ["
    "{\"name\": \"lanes\", \"index\": 0, \"type\": \"struct\", \"size\": 1, \"struct\":"
    " {\"vmsd_name\": \"lane\", \"version\": 1, \"fields\":"
    " [{\"name\": \"speed\", \"type\": \"uint8\", \"size\": 1}]}},"
    "{\"name\": \"lanes\", \"index\": 1, \"type\": \"struct\", \"size\": 17, \"struct\":"
    " {\"vmsd_name\": \"lane\", \"version\": 1, \"fields\":"
    " [{\"name\": \"speed\", \"type\": \"uint8\", \"size\": 1}],"
    " \"subsections\": [{\"vmsd_name\": \"lane/err\", \"version\": 2, \"fields\":"
    " [{\"name\": \"errors\", \"type\": \"uint16\", \"size\": 2}]}]}}],"
    "\"subsections\": [{\"vmsd_name\": \"d/x\", \"version\": 1, \"fields\":"
    " [{\"name\": \"flag\", \"type\": \"bool\", \"size\": 1}]}]";

static const uint8_t lanes_payload[] = {
    0x01,
    0x02, 0x05, 0x08, 'l', 'a', 'n', 'e', '/', 'e', 'r', 'r', 0x00, 0x00, 0x00, 0x02, 0x01, 0x2c,
    0x05, 0x03, 'd', '/', 'x', 0x00, 0x00, 0x00, 0x01, 0x01,
};

static void test_subsections_per_element(void)
{
    g_autoptr(GBytes) data = one_device_stream(lanes_payload, sizeof(lanes_payload), lanes_json);
    g_autoptr(QemuStream) s = parse_ok(data);
    g_autofree char *st = to_json(qemu_stream_section(s, 0)->state);
    ASSERT_STR_EQ(st, "{\"lanes\":[{\"speed\":1},{\"speed\":2,\"lane/err\":{\"errors\":300}}],"
                      "\"d/x\":{\"flag\":true}}");
    set_ok(s, "d.lanes[1].lane/err.errors", "7");
    set_fails(s, "d.lanes[1].lane/err", "1",
              "d.lanes[1].lane/err: is a struct, not a value; name one of its members");
    set_fails(s, "d.lanes[0].lane/err.errors", "1",
              "d.lanes[0].lane/err.errors: no such field in section 'd'");
    g_autoptr(GBytes) out = qemu_stream_write(s);
    g_autoptr(QemuStream) back = parse_ok(out);
    g_autofree char *st2 = to_json(qemu_stream_section(back, 0)->state);
    ASSERT_STR_EQ(st2, "{\"lanes\":[{\"speed\":1},{\"speed\":2,\"lane/err\":{\"errors\":7}}],"
                       "\"d/x\":{\"flag\":true}}");
}

/* What the vmdesc lists must be in the stream, where it says. */
static void test_subsections_checked(void)
{
    /* The payload starts at offset 30; "d/x" at 48. */
    uint8_t p[sizeof(lanes_payload)];
    memcpy(p, lanes_payload, sizeof(p));

    g_autoptr(GBytes) missing = one_device_stream(p, 18, lanes_json);
    expect_parse_error(missing, "offset 48: section 'd' (id 0): expected subsection 'd/x' (0x05),"
                                " found 0x7e");
    p[22] = 'y';
    g_autoptr(GBytes) renamed = one_device_stream(p, sizeof(p), lanes_json);
    expect_parse_error(renamed, "offset 48: section 'd' (id 0): subsection 'd/y' in the stream,"
                                " vmdesc expects 'd/x'");
    p[22] = 'x';
    p[15] = 0x03;
    g_autoptr(GBytes) version = one_device_stream(p, sizeof(p), lanes_json);
    expect_parse_error(version, "offset 32: section 'd' (id 0): lanes[1]: subsection 'lane/err'"
                                " has version 3 in the stream, 2 in the vmdesc");
    p[15] = 0x02;
    p[sizeof(p) - 1] = 0x02;
    g_autoptr(GBytes) value = one_device_stream(p, sizeof(p), lanes_json);
    expect_parse_error(value, "offset 57: section 'd' (id 0): d/x.flag: invalid bool value 2");

    /* An error keeps its location as data. */
    GError *err = NULL;
    g_autoptr(QemuStream) none = qemu_stream_parse(value, &err);
    CU_ASSERT_PTR_NULL(none);
    uint64_t offset = 0;
    CU_ASSERT_TRUE(vms_error_offset(err, &offset) && offset == 57);
    ASSERT_STR_EQ(vms_error_where(err), "section 'd' (id 0)");
    ASSERT_STR_EQ(vms_error_path(err), "d/x.flag");
    ASSERT_STR_EQ(vms_error_text(err), "invalid bool value 2");
    g_clear_error(&err);
}

/* ---- streams as they come ------------------------------------------------ */

/* Two old-style "slirp" sections (both instance 0) and "other", as QEMU describes them. */
static const char as_they_come_vmdesc[] =
    "{\"page_size\": 4096, \"devices\": ["
    "{\"name\": \"slirp\", \"instance_id\": 0, \"size\": 3,"
    " \"fields\": [{\"name\": \"data\", \"size\": 3, \"type\": \"buffer\"}]},"
    "{\"name\": \"slirp\", \"instance_id\": 0, \"size\": 3,"
    " \"fields\": [{\"name\": \"data\", \"size\": 3, \"type\": \"buffer\"}]},"
    "{\"name\": \"other\", \"instance_id\": 0, \"vmsd_name\": \"other\", \"version\": 1,"
    " \"fields\": [{\"name\": \"v\", \"type\": \"uint32\", \"size\": 4}]}]}";

/*
 * header, configuration "pc" (to 15), slirp id 0 (payload at 34), slirp id
 * 1 (payload at 61), other id 2 (payload at 88), each with a footer when
 * `footers` (EOF at 97; 82 without), then the vmdesc when `vmdesc` is not NULL.
 */
static GBytes *as_they_come(bool footers, const char *vmdesc)
{
    ByteWriter w;
    put_header(&w);
    put_config(&w, false);
    put_section_instance(&w, QEMU_VM_SECTION_FULL, 0, "slirp", 0, 4);
    byte_writer_write(&w, "\x01\x02\x03", 3);
    if (footers) {
        put_footer(&w, 0);
    }
    put_section_instance(&w, QEMU_VM_SECTION_FULL, 1, "slirp", 0, 4);
    byte_writer_write(&w, "\x04\x05\x06", 3);
    if (footers) {
        put_footer(&w, 1);
    }
    put_section_instance(&w, QEMU_VM_SECTION_FULL, 2, "other", 0, 1);
    byte_writer_write(&w, "\x00\x00\x00\x09", 4);
    if (footers) {
        put_footer(&w, 2);
    }
    if (vmdesc) {
        put_eof_vmdesc(&w, vmdesc);
    } else {
        byte_writer_u8(&w, QEMU_VM_EOF);
    }
    return take(&w);
}

static QemuStream *parse_desc_ok(GBytes *data, QObject *desc)
{
    QemuStreamOptions opts = { .desc = desc };
    GError *err = NULL;
    QemuStream *s = qemu_stream_parse_with(data, &opts, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    return s;
}

#define DUPLICATE_SLIRP "offset 15: section 'slirp' instance 0: 2 sections (ids 0, 1): a" \
                        " destination QEMU would load all of them into one device\n"

/* Old-style sections and duplicate sections, each decoded, edited, compared. */
static void test_old_style_and_duplicates(void)
{
    g_autoptr(GBytes) data = as_they_come(true, as_they_come_vmdesc);
    g_autoptr(QemuStream) s = parse_ok(data);
    CU_ASSERT_EQUAL_FATAL(qemu_stream_n_sections(s), 3);
    const QemuStreamSection *a = qemu_stream_section(s, 0), *b = qemu_stream_section(s, 1);
    CU_ASSERT_EQUAL(a->section_id, 0);
    CU_ASSERT_EQUAL(b->section_id, 1);
    CU_ASSERT_EQUAL(a->occurrence, 0);
    CU_ASSERT_EQUAL(b->occurrence, 1);
    CU_ASSERT_EQUAL(b->offset, 61);
    g_autofree char *sa = to_json(a->state), *sb = to_json(b->state);
    ASSERT_STR_EQ(sa, "{\"data\":\"010203\"}");
    ASSERT_STR_EQ(sb, "{\"data\":\"040506\"}");
    g_autofree char *nb = qemu_stream_section_display_name(b);
    ASSERT_STR_EQ(nb, "slirp#1");
    g_autofree char *warnings = warning_lines(s);
    ASSERT_STR_EQ(warnings, DUPLICATE_SLIRP);
    g_autoptr(QObject) obj = qemu_stream_to_qobject(s, false);
    g_autofree char *w = to_json(qdict_get(obj, "warnings"));
    ASSERT_STR_EQ(w, "[\"offset 15: section 'slirp' instance 0: 2 sections (ids 0, 1): a"
                     " destination QEMU would load all of them into one device\"]");
    g_autoptr(GBytes) out = qemu_stream_write(s);
    CU_ASSERT_TRUE(g_bytes_equal(out, data));
    expect_findings(data, NULL, DUPLICATE_SLIRP);

    /* The second one, by its name, edited; diff pairs duplicates in order. */
    g_autoptr(QemuStream) e = parse_ok(data);
    GError *err = NULL;
    CU_ASSERT_TRUE(qemu_stream_set(e, "slirp#1.data", "0a0b0c", &err));
    ASSERT_NO_ERROR(err);
    g_autoptr(GBytes) edited = qemu_stream_write(e);
    CU_ASSERT_EQUAL(memcmp(g_bytes_get_data(edited, NULL) + 61, "\x0a\x0b\x0c", 3), 0);
    CU_ASSERT_EQUAL(memcmp(g_bytes_get_data(edited, NULL) + 34, "\x01\x02\x03", 3), 0);
    g_autoptr(GPtrArray) diff = qemu_stream_diff(s, e);
    CU_ASSERT_EQUAL_FATAL(diff->len, 1);
    ASSERT_STR_EQ(g_ptr_array_index(diff, 0), "slirp#1.data: \"040506\" -> \"0a0b0c\"");
    CU_ASSERT_FALSE(qemu_stream_set(e, "slirp#2.data", "0a0b0c", &err));
    ASSERT_ERROR(err, "slirp#2.data: section 'slirp' instance 0 has no #2: the stream has 2 of"
                      " them");

    /* An old-style entry whose size is not the section's, by a byte either way. */
    g_autofree char *shorter = g_strdup(as_they_come_vmdesc);
    memcpy(strstr(shorter, "\"size\": 3, \"type\""), "\"size\": 2", 9);
    memcpy(strstr(shorter, "\"size\": 3,"), "\"size\": 2,", 10);
    g_autoptr(GBytes) d1 = as_they_come(true, shorter);
    expect_parse_error(d1, "offset 36: section 'slirp' (id 0): the description covers 2 bytes,"
                           " the section has 3 (1 byte short)");
    expect_findings(d1, NULL, "offset 15: section 'slirp' instance 0: 2 sections (ids 0, 1): a"
                              " destination QEMU would load all of them into one device\n"
                              "offset 36: section 'slirp' (id 0): the description covers 2"
                              " bytes, the section has 3 (1 byte short)\n");
}

/* Streams without a vmdesc, read with descriptions from elsewhere. */
static void test_descriptions_given(void)
{
    g_autoptr(QObject) desc = json(as_they_come_vmdesc);
    g_autoptr(GBytes) with = as_they_come(true, as_they_come_vmdesc);
    g_autoptr(QemuStream) reference = parse_ok(with);
    for (int footers = 0; footers <= 1; footers++) {
        g_autoptr(GBytes) data = as_they_come(footers, NULL);
        GError *err = NULL;
        g_autoptr(QemuStream) none = qemu_stream_parse(data, &err);
        CU_ASSERT_PTR_NULL(none);
        CU_ASSERT_TRUE(g_error_matches(err, VMS_ERROR, VMS_ERROR_MISSING));
        ASSERT_ERROR(err, "offset 34: section 'slirp' (id 0): cannot decode: the stream has no"
                          " vmdesc, and no descriptions were given");
        g_autoptr(QemuStream) s = parse_desc_ok(data, desc);
        CU_ASSERT_PTR_NULL(qemu_stream_vmdesc(s));
        for (size_t i = 0; i < 3; i++) {
            CU_ASSERT_TRUE(qobject_equal(qemu_stream_section(s, i)->state,
                                         qemu_stream_section(reference, i)->state));
            CU_ASSERT_EQUAL(qemu_stream_section(s, i)->has_footer, footers);
        }
        g_autofree char *warnings = warning_lines(s);
        ASSERT_STR_EQ(warnings, DUPLICATE_SLIRP);
        g_autoptr(GBytes) out = qemu_stream_write(s);
        CU_ASSERT_TRUE(g_bytes_equal(out, data));
        /* Descriptions override the stream's own vmdesc, which is still written back. */
        g_autoptr(QemuStream) over = parse_desc_ok(with, desc);
        g_autoptr(GBytes) back = qemu_stream_write(over);
        CU_ASSERT_TRUE(g_bytes_equal(back, with));
    }

    /* A section they do not describe: bytes, with a warning, when a footer shows its end. */
    g_autoptr(QObject) no_other = json(as_they_come_vmdesc);
    json_object_array_del_idx(qdict_get(no_other, "devices"), 2, 1);
    g_autoptr(GBytes) foot = as_they_come(true, NULL);
    g_autoptr(QemuStream) raw = parse_desc_ok(foot, no_other);
    g_autofree char *raw_warnings = warning_lines(raw);
    ASSERT_STR_EQ(raw_warnings, DUPLICATE_SLIRP "offset 88: section 'other' (id 2): not described"
                                " by the descriptions given: kept as 4 bytes of data\n");
    g_autofree char *raw_state = to_json(qemu_stream_section(raw, 2)->state);
    ASSERT_STR_EQ(raw_state, "{\"data\":\"00000009\"}");
    expect_findings(foot, no_other, DUPLICATE_SLIRP "offset 88: section 'other' (id 2): not"
                                    " described by the descriptions given\n");
    g_autoptr(GBytes) nofoot = as_they_come(false, NULL);
    expect_parse_error_desc(nofoot, no_other, "offset 78: section 'other' (id 2): cannot decode:"
                            " not described by the descriptions given, and no footer shows where"
                            " the section ends");

    /* Another version than the section's: not a description of it. */
    g_autoptr(QObject) v2 = json(as_they_come_vmdesc);
    qdict_put(qlist_get(qdict_get(v2, "devices"), 2), "version", qnum_from_int(2));
    g_autoptr(QemuStream) raw2 = parse_desc_ok(foot, v2);
    g_autofree char *v2_warnings = warning_lines(raw2);
    ASSERT_STR_EQ(v2_warnings, DUPLICATE_SLIRP "offset 88: section 'other' (id 2): the"
                               " descriptions given have version 2, the section has version 1:"
                               " kept as 4 bytes of data\n");

    /* Descriptions that do not fit: by how much, short or long. */
    g_autoptr(QObject) two = json(as_they_come_vmdesc);
    QObject *v = qlist_get(qdict_get(qlist_get(qdict_get(two, "devices"), 2), "fields"), 0);
    qdict_put(v, "type", qstring_from_str("uint16"));
    qdict_put(v, "size", qnum_from_int(2));
    expect_parse_error_desc(foot, two, "offset 90: section 'other' (id 2): the description"
                            " covers 2 bytes, the section has 4 (2 bytes short)");
    qdict_put(v, "type", qstring_from_str("uint64"));
    qdict_put(v, "size", qnum_from_int(8));
    expect_parse_error_desc(foot, two, "offset 92: section 'other' (id 2): the description"
                            " covers 8 bytes, the section has 4 (4 bytes too many)");
    expect_findings(foot, two, DUPLICATE_SLIRP "offset 92: section 'other' (id 2): the"
                               " description covers 8 bytes, the section has 4 (4 bytes too"
                               " many)\n");
}

/* Descriptions from a file's bytes: a stream's vmdesc, or vmdesc JSON. */
static void test_load_desc(void)
{
    g_autoptr(QObject) want = json(as_they_come_vmdesc);
    g_autoptr(GBytes) stream = as_they_come(true, as_they_come_vmdesc);
    GError *err = NULL;
    g_autoptr(QObject) from_stream = qemu_stream_load_desc(stream, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_TRUE(qobject_equal(from_stream, want));
    g_autoptr(GBytes) text = g_bytes_new_static(as_they_come_vmdesc,
                                                strlen(as_they_come_vmdesc));
    g_autoptr(QObject) from_json = qemu_stream_load_desc(text, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_TRUE(qobject_equal(from_json, want));

    g_autoptr(GBytes) bare = as_they_come(true, NULL);
    g_autoptr(QObject) none = qemu_stream_load_desc(bare, &err);
    CU_ASSERT_PTR_NULL(none);
    ASSERT_ERROR(err, "the stream has no vmdesc to take descriptions from");
    g_autoptr(GBytes) broken = g_bytes_new_static("{\"devices\": [}", 14);
    g_autoptr(QObject) bad = qemu_stream_load_desc(broken, &err);
    CU_ASSERT_PTR_NULL(bad);
    ASSERT_ERROR(err, "offset 13: bad JSON: unexpected character");
    g_autoptr(GBytes) list = g_bytes_new_static("[]", 2);
    g_autoptr(QObject) notdesc = qemu_stream_load_desc(list, &err);
    CU_ASSERT_PTR_NULL(notdesc);
    ASSERT_ERROR(err, "descriptions: not an object with a \"devices\" list");
}

/* The vmdesc by its frame: a length of 0x7b (the '{' analyze-migration.py looks for). */
static void test_vmdesc_frame(void)
{
    GString *text = g_string_new("{\"page_size\": 4096, \"devices\": []}");
    while (text->len < 0x7b) {
        g_string_insert_c(text, 1, ' ');
    }
    g_autoptr(GBytes) data = with_vmdesc_text(text->str);
    CU_ASSERT_EQUAL(((const uint8_t *)g_bytes_get_data(data, NULL))[13], 0x7b);
    g_autoptr(QemuStream) s = parse_ok(data);
    g_autofree char *desc = to_json(qemu_stream_vmdesc(s));
    ASSERT_STR_EQ(desc, "{\"page_size\":4096,\"devices\":[]}");
    g_autoptr(GBytes) out = qemu_stream_write(s);
    CU_ASSERT_TRUE(g_bytes_equal(out, data));
    g_string_free(text, TRUE);
}

/* What `check` finds, and where reading goes on after it. */
static void test_check(void)
{
    ByteWriter w;
    g_autoptr(GBytes) clean = as_they_come(true, as_they_come_vmdesc);
    expect_findings(clean, NULL, DUPLICATE_SLIRP);

    /* A footer for another section: found, and reading goes on. */
    size_t n = g_bytes_get_size(clean);
    uint8_t *bytes = g_memdup2(g_bytes_get_data(clean, NULL), n);
    bytes[41] = 7;                              /* slirp id 0's footer (37..41) says 7 */
    g_autoptr(GBytes) footer = g_bytes_new_take(bytes, n);
    expect_parse_error(footer, "offset 37: section 'slirp' (id 0): footer is for section id 7");
    expect_findings(footer, NULL, DUPLICATE_SLIRP "offset 37: section 'slirp' (id 0): footer is"
                                  " for section id 7\n");

    /* Data after the vmdesc. */
    put_header(&w);
    byte_writer_write(&w, (const uint8_t *)g_bytes_get_data(clean, NULL) + 8, n - 8);
    byte_writer_write(&w, "\x00\x00", 2);
    g_autoptr(GBytes) trailing = take(&w);
    g_autofree char *msg = g_strdup_printf("offset %zu: 2 bytes of data after the vmdesc", n);
    expect_parse_error(trailing, msg);
    g_autofree char *lines = g_strdup_printf(DUPLICATE_SLIRP "%s\n", msg);
    expect_findings(trailing, NULL, lines);

    /* A section of unknown type: the last finding. */
    put_header(&w);
    put_config(&w, false);
    put_section_instance(&w, QEMU_VM_SECTION_FULL, 0, "slirp", 0, 4);
    byte_writer_write(&w, "\x01\x02\x03", 3);
    put_footer(&w, 0);
    byte_writer_u8(&w, 0x2a);
    byte_writer_write(&w, "whatever follows", 16);
    g_autoptr(GBytes) unknown = take(&w);
    g_autoptr(QObject) desc = json(as_they_come_vmdesc);
    expect_findings(unknown, desc,
                    "offset 42: unknown section type 0x2a; the rest of the stream cannot be"
                    " read\n");

    /* The vmdesc describes a section the stream lacks, and one too many. */
    g_autofree char *more = g_strdup(as_they_come_vmdesc);
    more[strlen(more) - 2] = '\0';
    g_autofree char *extra = g_strdup_printf("%s, {\"name\": \"gone\", \"instance_id\": 1,"
                                             " \"fields\": []}]}", more);
    g_autoptr(GBytes) gone = as_they_come(true, extra);
    expect_parse_error(gone, "offset 97: the vmdesc describes section 'gone' instance 1, which is"
                             " not in the stream");
    expect_findings(gone, NULL, DUPLICATE_SLIRP "offset 97: the vmdesc describes section 'gone'"
                                " instance 1, which is not in the stream\n");

    /* Unreadable: an error, no findings. */
    g_autoptr(GBytes) nodesc = as_they_come(false, NULL);
    g_autoptr(GPtrArray) findings = NULL;
    GError *err = NULL;
    CU_ASSERT_FALSE(qemu_stream_check(nodesc, NULL, &findings, &err));
    CU_ASSERT_PTR_NULL(findings);
    ASSERT_ERROR(err, "offset 34: section 'slirp' (id 0): cannot decode: the stream has no"
                      " vmdesc, and no descriptions were given");
}

static const CuTest stream_tests[] = {
    { "builder + decoder round trip", test_builder_round_trip },
    { "stream as a QObject", test_to_qobject },
    { "stream as pretty text", test_pretty },
    { "builder errors", test_builder_errors },
    { "set fields", test_set },
    { "set errors change nothing", test_set_errors },
    { "diff", test_diff },
    { "diff of duplicate sections", test_diff_duplicates },
    { "bytes that are not UTF-8", test_not_utf8 },
    { NULL, NULL },
};

static const CuTest framing_tests[] = {
    { "configuration subsections", test_configuration },
    { "RAM sections", test_ram },
    { "RAM errors", test_ram_errors },
    { "footers and framing errors", test_framing },
    { "descriptions that do not make sense", test_bad_descriptions },
    { "a buffer of no bytes in a vmdesc", test_empty_buffer },
    { "vmdesc JSON", test_vmdesc_json },
    { "deep nesting", test_deep_nesting },
    { "arrays in runs", test_array_runs },
    { "types a stream reads without checks", test_types_read_loosely },
    { "subsections per array element", test_subsections_per_element },
    { "listed subsections checked", test_subsections_checked },
    { "old-style sections, duplicate sections", test_old_style_and_duplicates },
    { "descriptions given for streams without a vmdesc", test_descriptions_given },
    { "descriptions from a stream or a JSON file", test_load_desc },
    { "the vmdesc found by its frame", test_vmdesc_frame },
    { "check: findings, and reading on", test_check },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "qemu-stream", stream_tests },
    { "qemu-stream framing", framing_tests },
    { NULL, NULL },
};

CUTEST_MAIN(suites)

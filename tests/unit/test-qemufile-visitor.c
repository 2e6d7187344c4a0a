/*
 * Unit tests for the QEMUFile visitors: exact encodings, exact errors,
 * truncation at every byte, and subsections as QEMU's loader sees them.
 */
#include "config.h"

#include <limits.h>

#include "cutest.h"
#include "vmscope/bytes.h"
#include "vmscope/error.h"
#include "vmscope/qemufile-visitor.h"
#include "vmscope/vmstate.h"
#include "vmstate-test-dev.h"

static bool bytes_equal(const GByteArray *b, const uint8_t *expected, size_t len)
{
    if (b->len != len || memcmp(b->data, expected, len) != 0) {
        g_autoptr(GString) hex = g_string_new(NULL);
        hex_append(hex, b->data, b->len, ' ');
        fprintf(stderr, "\nbytes differ (%u vs %zu expected): %s\n", b->len, len, hex->str);
        return false;
    }
    return true;
}

/* ---- scalars, by hand ---- */

typedef struct Scalars {
    bool flag;
    int8_t i8;
    int16_t i16;
    int32_t i32;
    int64_t i64;
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    char *str;
    double num;
    uint8_t buf[3];
} Scalars;

static bool visit_scalars(Visitor *v, Scalars *s, GError **errp)
{
    if (!visit_start_struct(v, "s", NULL, errp)) {
        return false;
    }
    bool ok = visit_type_bool(v, "flag", &s->flag, errp) &&
              visit_type_int8(v, "i8", &s->i8, errp) &&
              visit_type_int16(v, "i16", &s->i16, errp) &&
              visit_type_int32(v, "i32", &s->i32, errp) &&
              visit_type_int64(v, "i64", &s->i64, errp) &&
              visit_type_uint8(v, "u8", &s->u8, errp) &&
              visit_type_uint16(v, "u16", &s->u16, errp) &&
              visit_type_uint32(v, "u32", &s->u32, errp) &&
              visit_type_uint64(v, "u64", &s->u64, errp) &&
              visit_type_str(v, "str", &s->str, errp) &&
              visit_type_number(v, "num", &s->num, errp) &&
              visit_type_buffer(v, "buf", s->buf, sizeof(s->buf), errp);
    ok = ok && visit_check_struct(v, errp);
    visit_end_struct(v);
    return ok;
}

static const uint8_t SCALAR_BYTES[] = {
    0x01,
    0x80,
    0x80, 0x00,
    0x80, 0x00, 0x00, 0x00,
    0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff,
    0xff, 0xff,
    0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x02, 'h', 'i',
    0x3f, 0xf8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,    /* 1.5 */
    0x00, 0x7f, 0x80,
};

static void test_scalars_roundtrip(void)
{
    Scalars s = {
        true, INT8_MIN, INT16_MIN, INT32_MIN, INT64_MIN,
        UINT8_MAX, UINT16_MAX, UINT32_MAX, UINT64_MAX, (char *)"hi", 1.5, { 0, 0x7f, 0x80 },
    };
    GError *err = NULL;
    ByteWriter w;
    byte_writer_init(&w);
    Visitor *v = qemufile_output_visitor_new(&w);
    CU_ASSERT_TRUE(visit_scalars(v, &s, &err));
    visit_free(v);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_TRUE(bytes_equal(w.buf, SCALAR_BYTES, sizeof(SCALAR_BYTES)));
    byte_writer_clear(&w);

    Scalars in = { 0 };
    ByteReader r;
    byte_reader_init(&r, SCALAR_BYTES, sizeof(SCALAR_BYTES), 0);
    v = qemufile_input_visitor_new(&r);
    CU_ASSERT_TRUE(visit_scalars(v, &in, &err));
    visit_free(v);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(byte_reader_left(&r), 0);
    CU_ASSERT_TRUE(in.flag);
    CU_ASSERT_EQUAL(in.i8, INT8_MIN);
    CU_ASSERT_EQUAL(in.i16, INT16_MIN);
    CU_ASSERT_EQUAL(in.i32, INT32_MIN);
    CU_ASSERT_EQUAL(in.i64, INT64_MIN);
    CU_ASSERT_EQUAL(in.u8, UINT8_MAX);
    CU_ASSERT_EQUAL(in.u16, UINT16_MAX);
    CU_ASSERT_EQUAL(in.u32, UINT32_MAX);
    CU_ASSERT_EQUAL(in.u64, UINT64_MAX);
    ASSERT_STR_EQ(in.str, "hi");
    CU_ASSERT_EQUAL(in.num, 1.5);
    CU_ASSERT_EQUAL(memcmp(in.buf, s.buf, 3), 0);
    g_free(in.str);
}

static void test_scalar_errors(void)
{
    GError *err = NULL;
    ByteReader r;
    bool b;
    char *str = NULL;

    static const uint8_t two[] = { 0x02 };
    byte_reader_init(&r, two, 1, 4096);     /* offsets are absolute */
    Visitor *v = qemufile_input_visitor_new(&r);
    CU_ASSERT_FALSE(visit_type_bool(v, "flag", &b, &err));
    visit_free(v);
    CU_ASSERT_TRUE(g_error_matches(err, VMS_ERROR, VMS_ERROR_INVALID));
    ASSERT_ERROR(err, "offset 4096: flag: invalid bool value 2");

    static const uint8_t nul[] = { 0x03, 'a', 0, 'b' };
    byte_reader_init(&r, nul, sizeof(nul), 0);
    v = qemufile_input_visitor_new(&r);
    CU_ASSERT_FALSE(visit_type_str(v, "name", &str, &err));
    visit_free(v);
    ASSERT_ERROR(err, "offset 1: name: string contains a NUL byte");
    CU_ASSERT_PTR_NULL(str);

    byte_reader_init(&r, nul, 2, 0);
    v = qemufile_input_visitor_new(&r);
    CU_ASSERT_FALSE(visit_type_str(v, "name", &str, &err));
    visit_free(v);
    ASSERT_ERROR(err, "offset 1: name: truncated: need 3 bytes, 1 left");

    /* Output: a counted string holds 255 bytes at most. */
    ByteWriter w;
    byte_writer_init(&w);
    v = qemufile_output_visitor_new(&w);
    g_autofree char *big = g_strnfill(256, 'x');
    CU_ASSERT_FALSE(visit_type_str(v, "name", &big, &err));
    visit_free(v);
    byte_writer_clear(&w);
    ASSERT_ERROR(err, "name: string of 256 bytes does not fit a counted string (255 at most)");
}

static void test_list_needs_length(void)
{
    GError *err = NULL;
    ByteReader r;
    static const uint8_t in[] = { 1, 2 };
    size_t len = VISIT_LEN_UNKNOWN;
    byte_reader_init(&r, in, sizeof(in), 0);
    Visitor *v = qemufile_input_visitor_new(&r);
    CU_ASSERT_TRUE(visit_start_struct(v, "s", NULL, &err));
    CU_ASSERT_FALSE(visit_start_list(v, "fifo", &len, &err));
    visit_end_struct(v);
    visit_free(v);
    CU_ASSERT_TRUE(g_error_matches(err, VMS_ERROR, VMS_ERROR_INVALID));
    ASSERT_ERROR(err, "s.fifo: the QEMU format carries no list lengths: the length must be "
                      "given");

    /* With a length, a list is just its elements. */
    uint8_t e[2];
    len = 2;
    byte_reader_init(&r, in, sizeof(in), 0);
    v = qemufile_input_visitor_new(&r);
    CU_ASSERT_TRUE(visit_start_list(v, "fifo", &len, &err));
    for (size_t i = 0; i < len; i++) {
        visit_next_list(v);
        CU_ASSERT_TRUE(visit_type_uint8(v, NULL, &e[i], &err));
    }
    CU_ASSERT_TRUE(visit_check_list(v, &err));
    visit_end_list(v);
    visit_free(v);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(e[0], 1);
    CU_ASSERT_EQUAL(e[1], 2);
}

/* ---- a representative description ---- */

static void test_dev_encoding(void)
{
    Dev d;
    GError *err = NULL;
    ByteWriter w;
    dev_init(&d);
    byte_writer_init(&w);
    Visitor *v = qemufile_output_visitor_new(&w);
    CU_ASSERT_TRUE(vmstate_save(v, &vmstate_dev, &d, NULL, &err));
    visit_free(v);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_TRUE(bytes_equal(w.buf, DEV_BYTES, sizeof(DEV_BYTES)));

    /* Load what was saved, save it again: the same bytes. */
    Dev back;
    ByteReader r;
    dev_init_target(&back);
    byte_reader_init(&r, w.buf->data, w.buf->len, 0);
    v = qemufile_input_visitor_new(&r);
    CU_ASSERT_TRUE(vmstate_load(v, &vmstate_dev, &back, 3, NULL, &err));
    visit_free(v);
    ASSERT_NO_ERROR(err);
    ByteWriter again;
    byte_writer_init(&again);
    v = qemufile_output_visitor_new(&again);
    CU_ASSERT_TRUE(vmstate_save(v, &vmstate_dev, &back, NULL, &err));
    visit_free(v);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_TRUE(bytes_equal(again.buf, DEV_BYTES, sizeof(DEV_BYTES)));
    byte_writer_clear(&again);
    byte_writer_clear(&w);
}

/* Where each value of DEV_BYTES is, by hand. */
static const struct {
    size_t at, size;
    const char *path;
} DEV_LAYOUT[] = {
    { 0, 1, "dev.enabled" }, { 1, 1, "dev.i8" }, { 2, 2, "dev.i16" }, { 4, 4, "dev.i32" },
    { 8, 8, "dev.i64" }, { 16, 1, "dev.u8" }, { 17, 2, "dev.u16" }, { 19, 4, "dev.u32" },
    { 23, 8, "dev.u64" }, { 31, 4, "dev.id" }, { 35, 4, "dev.mem" }, { 39, 2, "dev.unused" },
    { 41, 2, "dev.arr[0]" }, { 43, 2, "dev.arr[1]" }, { 45, 2, "dev.arr[2]" },
    { 47, 1, "dev.regs.a" }, { 48, 2, "dev.regs.b" },
    { 50, 1, "dev.banks[0].a" }, { 51, 2, "dev.banks[0].b" },
    { 53, 1, "dev.banks[1].a" }, { 54, 2, "dev.banks[1].b" },
    { 56, 1, "dev.count" }, { 57, 1, "dev.fifo[0]" }, { 58, 1, "dev.fifo[1]" },
    { 59, 1, "dev.fifo[2]" },
    { 60, 1, "dev.queues[0].a" }, { 61, 2, "dev.queues[0].b" },
    { 63, 1, "dev.queues[1].a" }, { 64, 2, "dev.queues[1].b" },
    { 66, 4, "dev.added" },
    /* 70..80: 0x05, length, "dev/extra": until complete, not a subsection */
    { 81, 4, "dev.dev/extra" },          /* its version */
    { 85, 4, "dev.dev/extra.extra" },
};

/*
 * Every prefix of the stream: either a clean truncation error naming the
 * value it cuts, or (where QEMU's format allows it: the subsection is
 * optional) a successful load without the subsection and the rest unread.
 */
static void test_dev_truncated_everywhere(void)
{
    for (size_t len = 0; len <= sizeof(DEV_BYTES); len++) {
        Dev d;
        GError *err = NULL;
        ByteReader r;
        dev_init_target(&d);
        byte_reader_init(&r, DEV_BYTES, len, 0);
        Visitor *v = qemufile_input_visitor_new(&r);
        bool ok = vmstate_load(v, &vmstate_dev, &d, 3, NULL, &err);
        visit_free(v);

        const char *path = NULL;
        size_t at = 0, size = 0;
        for (size_t i = 0; i < G_N_ELEMENTS(DEV_LAYOUT); i++) {
            if (len >= DEV_LAYOUT[i].at && len < DEV_LAYOUT[i].at + DEV_LAYOUT[i].size) {
                path = DEV_LAYOUT[i].path;
                at = DEV_LAYOUT[i].at;
                size = DEV_LAYOUT[i].size;
            }
        }
        if (path) {
            g_autofree char *expected = g_strdup_printf(
                "offset %zu: %s: truncated: need %zu bytes, %zu left", at, path, size, len - at);
            CU_ASSERT_FALSE(ok);
            CU_ASSERT_TRUE(g_error_matches(err, VMS_ERROR, VMS_ERROR_TRUNCATED));
            ASSERT_ERROR(err, expected);
        } else if (len == sizeof(DEV_BYTES)) {
            ASSERT_NO_ERROR(err);
            CU_ASSERT_EQUAL(d.extra, 0x55);
            CU_ASSERT_EQUAL(byte_reader_left(&r), 0);
        } else {
            /* 70 <= len <= 80: fields complete, no (complete) subsection header */
            CU_ASSERT_TRUE(len >= DEV_SUBSECTION_AT && len <= 80);
            ASSERT_NO_ERROR(err);
            CU_ASSERT_TRUE(ok);
            CU_ASSERT_EQUAL(d.added, 0x11223344);
            CU_ASSERT_EQUAL(d.extra, 0);
            CU_ASSERT_EQUAL(byte_reader_left(&r), len - DEV_SUBSECTION_AT);
        }
    }
}

/* ---- subsections ---- */

typedef struct Inner {
    uint8_t x;
    uint8_t y;              /* subsection in/sub */
    uint8_t z;              /* subsection in/zed */
} Inner;

typedef struct Outer {
    Inner inner;
    uint8_t a, b;
    uint8_t c[3];
} Outer;

static const VMStateDescription vmstate_in_sub = {
    .name = "in/sub",
    .version_id = 1,
    .fields = (const VMStateField[]) { VMSTATE_UINT8(y, Inner), VMSTATE_END_OF_LIST() },
};

static const VMStateDescription vmstate_in_zed = {
    .name = "in/zed",
    .version_id = 1,
    .fields = (const VMStateField[]) { VMSTATE_UINT8(z, Inner), VMSTATE_END_OF_LIST() },
};

static const VMStateDescription vmstate_inner = {
    .name = "in",
    .version_id = 1,
    .fields = (const VMStateField[]) { VMSTATE_UINT8(x, Inner), VMSTATE_END_OF_LIST() },
    .subsections = (const VMStateDescription *const[]) {
        &vmstate_in_sub, &vmstate_in_zed, NULL,
    },
};

static const VMStateDescription vmstate_outer = {
    .name = "outer",
    .version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT(inner, Outer, 0, vmstate_inner, Inner),
        VMSTATE_UINT8(a, Outer),
        VMSTATE_UINT8(b, Outer),
        VMSTATE_UINT8_ARRAY(c, Outer, 3),
        VMSTATE_END_OF_LIST()
    },
};

static bool load_outer(const uint8_t *data, size_t len, Outer *o, size_t *left, GError **err)
{
    ByteReader r;
    memset(o, 0, sizeof(*o));
    byte_reader_init(&r, data, len, 0);
    Visitor *v = qemufile_input_visitor_new(&r);
    bool ok = vmstate_load(v, &vmstate_outer, o, 1, NULL, err);
    visit_free(v);
    *left = byte_reader_left(&r);
    return ok;
}

static void test_subsection_present_and_absent(void)
{
    Outer o;
    size_t left;
    GError *err = NULL;

    /* Deserialized descriptions have no needed(): both subsections go out. */
    static const uint8_t both[] = {
        0x01,
        0x05, 0x06, 'i', 'n', '/', 's', 'u', 'b', 0, 0, 0, 1, 0x02,
        0x05, 0x06, 'i', 'n', '/', 'z', 'e', 'd', 0, 0, 0, 1, 0x03,
        0x04, 0x05, 'a', 'b', 'c',
    };
    ByteWriter w;
    byte_writer_init(&w);
    Visitor *v = qemufile_output_visitor_new(&w);
    Outer src = { { 1, 2, 3 }, 4, 5, "abc" };
    CU_ASSERT_TRUE(vmstate_save(v, &vmstate_outer, &src, NULL, &err));
    visit_free(v);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_TRUE(bytes_equal(w.buf, both, sizeof(both)));
    byte_writer_clear(&w);

    CU_ASSERT_TRUE(load_outer(both, sizeof(both), &o, &left, &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(left, 0);
    CU_ASSERT_EQUAL(memcmp(&o, &src, sizeof(o)), 0);

    /* In the other order: QEMU looks subsections up by name. */
    static const uint8_t swapped[] = {
        0x01,
        0x05, 0x06, 'i', 'n', '/', 'z', 'e', 'd', 0, 0, 0, 1, 0x03,
        0x05, 0x06, 'i', 'n', '/', 's', 'u', 'b', 0, 0, 0, 1, 0x02,
        0x04, 0x05, 'a', 'b', 'c',
    };
    CU_ASSERT_TRUE(load_outer(swapped, sizeof(swapped), &o, &left, &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(memcmp(&o, &src, sizeof(o)), 0);

    /* Absent: the parent's next field follows directly. */
    static const uint8_t none[] = { 0x01, 0x04, 0x05, 'a', 'b', 'c' };
    CU_ASSERT_TRUE(load_outer(none, sizeof(none), &o, &left, &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(o.inner.y, 0);
    CU_ASSERT_EQUAL(o.a, 4);
    CU_ASSERT_EQUAL(left, 0);
}

/* 0x05 that is not a subsection of "in" is the parent's next field. */
static void test_subsection_lookalikes(void)
{
    Outer o;
    size_t left;
    GError *err = NULL;

    /* length 2 < strlen("in") + 1: not a subsection (QEMU: "(short)") */
    static const uint8_t short_len[] = { 0x01, 0x05, 0x02, 'i', 'n', '/' };
    CU_ASSERT_TRUE(load_outer(short_len, sizeof(short_len), &o, &left, &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(o.a, 5);
    CU_ASSERT_EQUAL(o.b, 2);
    CU_ASSERT_EQUAL(memcmp(o.c, "in/", 3), 0);

    /* a name not starting with "in": not a subsection (QEMU: "(prefix)") */
    static const uint8_t other[] = { 0x01, 0x05, 0x03, 'o', 'u', '/' };
    CU_ASSERT_TRUE(load_outer(other, sizeof(other), &o, &left, &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(o.b, 3);
    CU_ASSERT_EQUAL(memcmp(o.c, "ou/", 3), 0);

    /* the name runs past the end: not a subsection (QEMU: "(peek fail)") */
    static const uint8_t cut[] = { 0x01, 0x05, 0x06, 'i', 'n', '/' };
    CU_ASSERT_TRUE(load_outer(cut, sizeof(cut), &o, &left, &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(o.b, 6);
    CU_ASSERT_EQUAL(left, 0);
}

static void test_subsection_unknown_and_duplicate(void)
{
    Outer o;
    size_t left;
    GError *err = NULL;

    /* starts with "in", not one of its subsections: QEMU's -ENOENT */
    static const uint8_t unknown[] = { 0x01, 0x05, 0x03, 'i', 'n', '/', 0, 0, 0, 1 };
    CU_ASSERT_FALSE(load_outer(unknown, sizeof(unknown), &o, &left, &err));
    CU_ASSERT_TRUE(g_error_matches(err, VMS_ERROR, VMS_ERROR_NOT_FOUND));
    ASSERT_ERROR(err, "offset 1: outer.inner: unknown subsection 'in/'");

    static const uint8_t twice[] = {
        0x01,
        0x05, 0x06, 'i', 'n', '/', 's', 'u', 'b', 0, 0, 0, 1, 0x02,
        0x05, 0x06, 'i', 'n', '/', 's', 'u', 'b', 0, 0, 0, 1, 0x02,
        0x04, 0x05, 'a', 'b', 'c',
    };
    CU_ASSERT_FALSE(load_outer(twice, sizeof(twice), &o, &left, &err));
    CU_ASSERT_TRUE(g_error_matches(err, VMS_ERROR, VMS_ERROR_EXTRA));
    ASSERT_ERROR(err, "offset 14: outer.inner: duplicate subsection 'in/sub'");

    static const uint8_t huge_version[] = {
        0x01, 0x05, 0x06, 'i', 'n', '/', 's', 'u', 'b', 0x80, 0, 0, 0, 0x02,
    };
    CU_ASSERT_FALSE(load_outer(huge_version, sizeof(huge_version), &o, &left, &err));
    CU_ASSERT_TRUE(g_error_matches(err, VMS_ERROR, VMS_ERROR_VERSION));
    ASSERT_ERROR(err, "offset 9: outer.inner.in/sub: subsection version 2147483648 out of "
                      "range");
}

/* A walker that asks for a subsection the input does not hold. */
static void test_subsection_header_mismatch(void)
{
    GError *err = NULL;
    ByteReader r;
    static const uint8_t in[] = { 0x05, 0x06, 'i', 'n', '/', 'z', 'e', 'd', 0, 0, 0, 1 };
    VisitStructInfo top = { VISIT_STRUCT_VMSD, "in", 1 };
    VisitStructInfo sub = { VISIT_STRUCT_SUBSECTION, "in/sub", 1 };
    byte_reader_init(&r, in, sizeof(in), 100);
    Visitor *v = qemufile_input_visitor_new(&r);
    CU_ASSERT_TRUE(visit_start_struct(v, "in", &top, &err));
    CU_ASSERT_FALSE(visit_start_struct(v, "in/sub", &sub, &err));
    visit_end_struct(v);
    visit_free(v);
    ASSERT_ERROR(err, "offset 102: in.in/sub: expected subsection 'in/sub', found 'in/zed'");

    static const uint8_t not_sub[] = { 0x04 };
    byte_reader_init(&r, not_sub, sizeof(not_sub), 0);
    v = qemufile_input_visitor_new(&r);
    CU_ASSERT_FALSE(visit_start_struct(v, "in/sub", &sub, &err));
    visit_free(v);
    ASSERT_ERROR(err, "offset 0: in/sub: expected a subsection (0x05), found 0x04");

    /* The version found is reported to the walker. */
    static const uint8_t v7[] = { 0x05, 0x06, 'i', 'n', '/', 's', 'u', 'b', 0, 0, 0, 7 };
    byte_reader_init(&r, v7, sizeof(v7), 0);
    v = qemufile_input_visitor_new(&r);
    CU_ASSERT_TRUE(visit_start_struct(v, "in/sub", &sub, &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(sub.version_id, 7);
    visit_end_struct(v);
    visit_free(v);
}

static void test_subsection_name_too_long(void)
{
    GError *err = NULL;
    ByteWriter w;
    g_autofree char *name = g_strnfill(256, 'n');
    VisitStructInfo sub = { VISIT_STRUCT_SUBSECTION, name, 1 };
    byte_writer_init(&w);
    Visitor *v = qemufile_output_visitor_new(&w);
    CU_ASSERT_FALSE(visit_start_struct(v, "long", &sub, &err));
    visit_free(v);
    CU_ASSERT_EQUAL(byte_writer_len(&w), 0);
    byte_writer_clear(&w);
    g_autofree char *expected = g_strdup_printf(
        "long: subsection name '%s' is longer than 255 bytes", name);
    ASSERT_ERROR(err, expected);
}

static const CuTest scalar_tests[] = {
    { "round trip", test_scalars_roundtrip },
    { "errors", test_scalar_errors },
    { "lists need a length", test_list_needs_length },
    { NULL, NULL },
};

static const CuTest dev_tests[] = {
    { "encoding", test_dev_encoding },
    { "truncated at every byte", test_dev_truncated_everywhere },
    { NULL, NULL },
};

static const CuTest subsection_tests[] = {
    { "present and absent", test_subsection_present_and_absent },
    { "lookalikes", test_subsection_lookalikes },
    { "unknown and duplicate", test_subsection_unknown_and_duplicate },
    { "header mismatch", test_subsection_header_mismatch },
    { "name too long", test_subsection_name_too_long },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "qemufile-scalars", scalar_tests },
    { "qemufile-dev", dev_tests },
    { "qemufile-subsections", subsection_tests },
    { NULL, NULL },
};

CUTEST_MAIN(suites)

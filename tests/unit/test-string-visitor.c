/*
 * Unit tests for lib/visitors/string-input-visitor.c: values as people type
 * them, checked like any input, with exact errors.
 */
#include "config.h"

#include "cutest.h"
#include "vmscope/string-visitor.h"

/* Visit one value of text under "dev.x" with `visit`; the error, if any, in *err. */
#define VISIT(text, call)                                                       \
    ({                                                                          \
        Visitor *v_ = string_input_visitor_new(text);                           \
        bool ok_ = (call);                                                      \
        visit_free(v_);                                                         \
        ok_;                                                                    \
    })

static void test_integers(void)
{
    GError *err = NULL;
    uint8_t u8 = 0;
    int16_t i16 = 0;
    int64_t i64 = 0;
    uint64_t u64 = 0;
    uint32_t u32 = 0;

    CU_ASSERT_TRUE(VISIT("255", visit_type_uint8(v_, "dev.x", &u8, &err)) && u8 == 255);
    CU_ASSERT_TRUE(VISIT("0x7f", visit_type_uint8(v_, "dev.x", &u8, &err)) && u8 == 0x7f);
    CU_ASSERT_TRUE(VISIT("+16", visit_type_uint32(v_, "dev.x", &u32, &err)) && u32 == 16);
    CU_ASSERT_TRUE(VISIT("-0", visit_type_uint32(v_, "dev.x", &u32, &err)) && u32 == 0);
    CU_ASSERT_TRUE(VISIT("-32768", visit_type_int16(v_, "dev.x", &i16, &err)) &&
                   i16 == INT16_MIN);
    CU_ASSERT_TRUE(VISIT("-0x8000000000000000", visit_type_int64(v_, "dev.x", &i64, &err)) &&
                   i64 == INT64_MIN);
    CU_ASSERT_TRUE(VISIT("18446744073709551615", visit_type_uint64(v_, "dev.x", &u64, &err)) &&
                   u64 == UINT64_MAX);
    ASSERT_NO_ERROR(err);

    u8 = 7;
    CU_ASSERT_FALSE(VISIT("256", visit_type_uint8(v_, "dev.x", &u8, &err)));
    ASSERT_ERROR(err, "dev.x: value 256 out of range for uint8");
    CU_ASSERT_FALSE(VISIT("-1", visit_type_uint8(v_, "dev.x", &u8, &err)));
    ASSERT_ERROR(err, "dev.x: value -1 out of range for uint8");
    CU_ASSERT_FALSE(VISIT("0x8000", visit_type_int16(v_, "dev.x", &i16, &err)));
    ASSERT_ERROR(err, "dev.x: value 0x8000 out of range for int16");
    CU_ASSERT_FALSE(VISIT("18446744073709551616", visit_type_uint64(v_, "dev.x", &u64, &err)));
    ASSERT_ERROR(err, "dev.x: value 18446744073709551616 out of range for uint64");
    CU_ASSERT_EQUAL(u8, 7);             /* untouched on failure */

    static const char *const not_integers[] = { "", "abc", "0x", "1 ", " 1", "--1", "0x-1",
                                                "1.5", "0xg", "+" };
    for (size_t i = 0; i < G_N_ELEMENTS(not_integers); i++) {
        CU_ASSERT_FALSE(VISIT(not_integers[i], visit_type_uint8(v_, "dev.x", &u8, &err)));
        g_autofree char *want = g_strdup_printf("dev.x: value '%s' is not an integer",
                                                not_integers[i]);
        ASSERT_ERROR(err, want);
    }
}

static void test_other_scalars(void)
{
    GError *err = NULL;
    bool b = false;
    double d = 0;
    uint8_t buf[3] = { 1, 2, 3 };
    g_autofree char *s = NULL;

    CU_ASSERT_TRUE(VISIT("true", visit_type_bool(v_, "f", &b, &err)) && b);
    CU_ASSERT_TRUE(VISIT("false", visit_type_bool(v_, "f", &b, &err)) && !b);
    CU_ASSERT_FALSE(VISIT("yes", visit_type_bool(v_, "f", &b, &err)));
    ASSERT_ERROR(err, "f: value 'yes' is not a boolean (true or false)");

    CU_ASSERT_TRUE(VISIT("0A0b0C", visit_type_buffer(v_, "buf", buf, 3, &err)));
    CU_ASSERT_TRUE(buf[0] == 0x0a && buf[1] == 0x0b && buf[2] == 0x0c);
    CU_ASSERT_FALSE(VISIT("0a0b", visit_type_buffer(v_, "buf", buf, 3, &err)));
    ASSERT_ERROR(err, "buf: expected 3 bytes as 6 hex digits, got 4 characters");
    CU_ASSERT_FALSE(VISIT("0a0bzz", visit_type_buffer(v_, "buf", buf, 3, &err)));
    ASSERT_ERROR(err, "buf: value is not hex (character 4)");
    CU_ASSERT_EQUAL(buf[0], 0x0a);      /* untouched on failure */

    CU_ASSERT_TRUE(VISIT("-2.5e3", visit_type_number(v_, "n", &d, &err)) && d == -2500.0);
    CU_ASSERT_FALSE(VISIT("2,5", visit_type_number(v_, "n", &d, &err)));
    ASSERT_ERROR(err, "n: value '2,5' is not a number");
    CU_ASSERT_TRUE(VISIT("any text", visit_type_str(v_, "s", &s, &err)));
    ASSERT_STR_EQ(s, "any text");
    ASSERT_NO_ERROR(err);
}

static void test_one_value(void)
{
    GError *err = NULL;
    size_t len = 2;
    CU_ASSERT_FALSE(VISIT("1", visit_start_struct(v_, "s", NULL, &err)));
    ASSERT_ERROR(err, "s: is a struct, and '1' is one value");
    CU_ASSERT_FALSE(VISIT("1", visit_start_list(v_, "l", &len, &err)));
    ASSERT_ERROR(err, "l: is a list, and '1' is one value");
    CU_ASSERT_FALSE(VISIT("null", visit_type_null(v_, "p", &err)));
    ASSERT_ERROR(err, "p: cannot be set: it is always null");
}

static const CuTest tests[] = {
    { "integers", test_integers },
    { "bool, buffers, numbers, strings", test_other_scalars },
    { "one value", test_one_value },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "string-input-visitor", tests },
    { NULL, NULL },
};

CUTEST_MAIN(suites)

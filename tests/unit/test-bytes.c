/* Unit tests for lib/core/bytes.c: bounds checks and offsets in errors. */
#include "config.h"

#include "cutest.h"
#include "vmscope/bytes.h"

static void test_read_values(void)
{
    static const uint8_t data[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                                    0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f };
    ByteReader r;
    uint8_t u8 = 0;
    uint16_t u16 = 0;
    uint32_t u32 = 0;
    uint64_t u64 = 0;
    GError *err = NULL;
    byte_reader_init(&r, data, sizeof(data), 100);
    CU_ASSERT_TRUE(byte_reader_u8(&r, &u8, &err) && u8 == 0x01);
    CU_ASSERT_TRUE(byte_reader_be16(&r, &u16, &err) && u16 == 0x0203);
    CU_ASSERT_TRUE(byte_reader_be32(&r, &u32, &err) && u32 == 0x04050607);
    CU_ASSERT_TRUE(byte_reader_be64(&r, &u64, &err) && u64 == 0x08090a0b0c0d0e0fULL);
    CU_ASSERT_EQUAL(byte_reader_left(&r), 0);
    CU_ASSERT_EQUAL(byte_reader_offset(&r), 115);
    ASSERT_NO_ERROR(err);
}

static void test_truncated(void)
{
    static const uint8_t data[] = { 0xaa, 0xbb, 0xcc };
    ByteReader r, sub;
    uint32_t u32 = 7;
    uint8_t u8 = 0;
    GError *err = NULL;
    byte_reader_init(&r, data, sizeof(data), 4096);
    CU_ASSERT_TRUE(byte_reader_u8(&r, &u8, &err));
    CU_ASSERT_FALSE(byte_reader_be32(&r, &u32, &err));
    ASSERT_ERROR(err, "offset 4097: truncated: need 4 bytes, 2 left");
    CU_ASSERT_EQUAL(u32, 7);                /* untouched on failure */
    CU_ASSERT_EQUAL(byte_reader_offset(&r), 4097);  /* position unchanged */
    CU_ASSERT_FALSE(byte_reader_skip(&r, SIZE_MAX, &err));
    ASSERT_ERROR(err, "offset 4097: truncated: need 18446744073709551615 bytes, 2 left");
    CU_ASSERT_TRUE(byte_reader_sub(&r, 1, &sub, &err));
    CU_ASSERT_FALSE(byte_reader_skip(&sub, 2, &err));
    ASSERT_ERROR(err, "offset 4097: truncated: need 2 bytes, 1 left");
    CU_ASSERT_TRUE(byte_reader_peek(&r, 0, &u8) && u8 == 0xcc);
    CU_ASSERT_FALSE(byte_reader_peek(&r, 1, &u8));
}

static void test_writer(void)
{
    ByteWriter w;
    byte_writer_init(&w);
    byte_writer_u8(&w, 0x51);
    byte_writer_be16(&w, 0x4556);
    byte_writer_be32(&w, 0x4d000000);
    byte_writer_be64(&w, 0x0102030405060708ULL);
    byte_writer_write(&w, "xy", 2);
    CU_ASSERT_EQUAL(byte_writer_len(&w), 17);
    g_autoptr(GBytes) b = byte_writer_take(&w);
    static const uint8_t expect[] = { 0x51, 0x45, 0x56, 0x4d, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8,
                                      'x', 'y' };
    gsize n = 0;
    const uint8_t *p = g_bytes_get_data(b, &n);
    CU_ASSERT_EQUAL(n, sizeof(expect));
    CU_ASSERT_EQUAL(memcmp(p, expect, sizeof(expect)), 0);
    CU_ASSERT_EQUAL(byte_writer_len(&w), 0);
    byte_writer_clear(&w);
}

static void test_hex(void)
{
    static const uint8_t data[] = { 0x00, 0x7f, 0x80, 0xff, 0x0a };
    g_autofree char *hex = hex_encode(data, sizeof(data));
    ASSERT_STR_EQ(hex, "007f80ff0a");
    g_autofree char *empty = hex_encode(data, 0);
    ASSERT_STR_EQ(empty, "");
    g_autoptr(GString) spaced = g_string_new("tsr = ");
    hex_append(spaced, data, sizeof(data), ' ');
    ASSERT_STR_EQ(spaced->str, "tsr = 00 7f 80 ff 0a");
    hex_append(spaced, data, 0, ' ');
    hex_append(spaced, data + 3, 1, ' ');
    ASSERT_STR_EQ(spaced->str, "tsr = 00 7f 80 ff 0aff");

    uint8_t out[5] = { 1, 2, 3, 4, 5 };
    size_t bad = 99;
    CU_ASSERT_TRUE(hex_decode("007F80fF0a", out, 5, &bad));
    CU_ASSERT_EQUAL(memcmp(out, data, 5), 0);
    uint8_t keep[2] = { 0xaa, 0xbb };
    CU_ASSERT_FALSE(hex_decode("12x4", keep, 2, &bad));
    CU_ASSERT_EQUAL(bad, 2);
    CU_ASSERT_EQUAL(keep[0], 0xaa);      /* nothing written on failure */
    CU_ASSERT_FALSE(hex_decode("1", keep, 1, &bad));   /* NUL is not a digit */
    CU_ASSERT_EQUAL(bad, 1);
}

static void expect_text(const char *bytes, size_t n, const char *want)
{
    g_autofree char *t = bytes_to_text((const uint8_t *)bytes, n);
    ASSERT_STR_EQ(t, want);
    CU_ASSERT_TRUE(g_utf8_validate(t, -1, NULL));
}

static void test_bytes_to_text(void)
{
    expect_text("", 0, "");
    expect_text("pc-q35-7.2", 10, "pc-q35-7.2");
    expect_text("\xc3\xa9\xe2\x82\xac", 5, "\xc3\xa9\xe2\x82\xac");     /* UTF-8 stays */
    expect_text("pc-\xff", 4, "pc-\\xff");
    expect_text("a\0b", 3, "a\\x00b");
    expect_text("\xc1\x89", 2, "\\xc1\\x89");                         /* overlong */
    expect_text("x\xe2\x82", 3, "x\\xe2\\x82");                      /* cut short */
    expect_text("\xed\xa0\x80!", 4, "\\xed\\xa0\\x80!");              /* a surrogate */
}

static const CuTest bytes_tests[] = {
    { "bytes as text", test_bytes_to_text },
    { "hex", test_hex },
    { "read values", test_read_values },
    { "truncated input", test_truncated },
    { "writer", test_writer },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "bytes", bytes_tests },
    { NULL, NULL },
};

CUTEST_MAIN(suites)

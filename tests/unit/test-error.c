/*
 * Unit tests for lib/core/error.c: locations kept as data with the error,
 * the one message format, and adding to a location without parsing text.
 */
#include "config.h"

#include <gio/gio.h>

#include "cutest.h"
#include "vmscope/bytes.h"
#include "vmscope/error.h"

static void test_message_format(void)
{
    GError *err = NULL;
    vms_error_set_at(&err, VMS_ERROR_TRUNCATED, 1234, "section 'serial' (id 5)", "state.lsr",
                     "truncated: need %d bytes, %d left", 1, 0);
    CU_ASSERT_TRUE(g_error_matches(err, VMS_ERROR, VMS_ERROR_TRUNCATED));
    ASSERT_STR_EQ(vms_error_text(err), "truncated: need 1 bytes, 0 left");
    ASSERT_ERROR(err, "offset 1234: section 'serial' (id 5): state.lsr: truncated: need 1 bytes,"
                      " 0 left");

    vms_error_set_at(&err, VMS_ERROR_RANGE, VMS_NO_OFFSET, NULL, "serial.fifo[3]",
                     "value %d out of range for uint8", 300);
    ASSERT_ERROR(err, "serial.fifo[3]: value 300 out of range for uint8");
    vms_error_set_at(&err, VMS_ERROR_INVALID, 0, "", "", "bad");
    ASSERT_ERROR(err, "offset 0: bad");
    vms_error_set_at(NULL, VMS_ERROR_INVALID, 0, NULL, NULL, "nobody listens");
}

static void test_location_is_data(void)
{
    GError *err = NULL;
    uint64_t offset = 0;
    vms_error_set_at(&err, VMS_ERROR_INVALID, 77, "header", "magic", "bad magic");
    CU_ASSERT_TRUE(vms_error_offset(err, &offset));
    CU_ASSERT_EQUAL(offset, 77);
    ASSERT_STR_EQ(vms_error_where(err), "header");
    ASSERT_STR_EQ(vms_error_path(err), "magic");

    /* A copy keeps it. */
    GError *copy = g_error_copy(err);
    CU_ASSERT_TRUE(vms_error_offset(copy, &offset) && offset == 77);
    ASSERT_STR_EQ(vms_error_path(copy), "magic");
    ASSERT_ERROR(copy, "offset 77: header: magic: bad magic");
    g_clear_error(&err);

    /* A reader's error has the offset and nothing else. */
    ByteReader r;
    uint32_t u32;
    byte_reader_init(&r, (const uint8_t *)"ab", 2, 4096);
    CU_ASSERT_FALSE(byte_reader_be32(&r, &u32, &err));
    CU_ASSERT_TRUE(vms_error_offset(err, &offset) && offset == 4096);
    CU_ASSERT_PTR_NULL(vms_error_where(err));
    CU_ASSERT_PTR_NULL(vms_error_path(err));
    ASSERT_STR_EQ(vms_error_text(err), "truncated: need 4 bytes, 2 left");
    g_clear_error(&err);

    /* Set without a location: no parts, the text is the message. */
    g_set_error(&err, VMS_ERROR, VMS_ERROR_FAILED, "plain");
    CU_ASSERT_FALSE(vms_error_offset(err, &offset));
    CU_ASSERT_PTR_NULL(vms_error_path(err));
    ASSERT_STR_EQ(vms_error_text(err), "plain");
    g_clear_error(&err);
}

static void test_locate(void)
{
    GError *err = NULL;
    uint64_t offset = 0;

    /* What the error lacks is added; what it has stays; paths grow at the front. */
    vms_error_set_at(&err, VMS_ERROR_TRUNCATED, 30, NULL, "[3]", "truncated");
    vms_error_locate(err, VMS_NO_OFFSET, NULL, "fifo");
    ASSERT_STR_EQ(err->message, "offset 30: fifo[3]: truncated");
    vms_error_locate(err, 99, "section 'serial' (id 5)", "state");
    CU_ASSERT_TRUE(vms_error_offset(err, &offset) && offset == 30);
    ASSERT_STR_EQ(vms_error_path(err), "state.fifo[3]");
    vms_error_locate(err, 99, "another", NULL);
    ASSERT_STR_EQ(vms_error_where(err), "section 'serial' (id 5)");
    ASSERT_ERROR(err, "offset 30: section 'serial' (id 5): state.fifo[3]: truncated");

    /* An error without an offset gets one. */
    vms_error_set_at(&err, VMS_ERROR_VERSION, VMS_NO_OFFSET, NULL, "dev/sub", "too new");
    vms_error_locate(err, 41, "section 'dev' (id 0)", NULL);
    CU_ASSERT_TRUE(g_error_matches(err, VMS_ERROR, VMS_ERROR_VERSION));
    ASSERT_ERROR(err, "offset 41: section 'dev' (id 0): dev/sub: too new");

    /* One set without a location is located like any other. */
    g_set_error(&err, VMS_ERROR, VMS_ERROR_FAILED, "plain");
    vms_error_locate(err, 5, NULL, "x");
    ASSERT_ERROR(err, "offset 5: x: plain");

    /* Another domain's error: the location goes in front of its message. */
    g_set_error(&err, G_IO_ERROR, G_IO_ERROR_FAILED, "disk on fire");
    vms_error_locate(err, 5, "header", NULL);
    CU_ASSERT_TRUE(g_error_matches(err, G_IO_ERROR, G_IO_ERROR_FAILED));
    CU_ASSERT_FALSE(vms_error_offset(err, &offset));
    ASSERT_ERROR(err, "offset 5: header: disk on fire");
}

static const CuTest tests[] = {
    { "one message format", test_message_format },
    { "locations are data", test_location_is_data },
    { "adding to a location", test_locate },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "error", tests },
    { NULL, NULL },
};

CUTEST_MAIN(suites)

/*
 * Unit tests for the format table (lib/core/format.c): lookup, the names
 * listed in error messages, the exact result of a walk through every
 * format, reading json back, and results carried inside JSON (text and
 * binary).
 */
#include "config.h"

#include "cutest.h"
#include "vmscope/bytes.h"
#include "vmscope/error.h"
#include "vmscope/format.h"

typedef struct Uart {
    uint8_t ier;
    bool on;
    uint8_t mac[3];
} Uart;

static bool visit_uart(Visitor *v, const char *name, Uart *u, GError **errp)
{
    VisitStructInfo info = { VISIT_STRUCT_VMSD, "uart", 1 };
    if (!visit_start_struct(v, name, &info, errp)) {
        return false;
    }
    bool ok = visit_type_uint8(v, "ier", &u->ier, errp) &&
              visit_type_bool(v, "on", &u->on, errp) &&
              visit_type_buffer(v, "mac", u->mac, sizeof(u->mac), errp) &&
              visit_check_struct(v, errp);
    visit_end_struct(v);
    return ok;
}

/* Walk a Uart through format name's output visitor; the result as bytes. */
static GBytes *walk_bytes(const char *name)
{
    Uart u = { .ier = 5, .on = true, .mac = { 0x52, 0x54, 0x00 } };
    const VmsFormat *f = vms_format_lookup(name);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    Visitor *v = f->output_new();
    GError *err = NULL;
    CU_ASSERT_TRUE(visit_uart(v, "uart", &u, &err));
    ASSERT_NO_ERROR(err);
    GBytes *out = f->output_take(v);
    visit_free(v);
    return out;
}

/* The same, as a string (text formats). */
static char *walk(const char *name)
{
    g_autoptr(GBytes) out = walk_bytes(name);
    gsize len;
    const char *p = g_bytes_get_data(out, &len);
    return g_strndup(p, len);
}

static void test_lookup(void)
{
    const VmsFormat *json = vms_format_lookup("json");
    const VmsFormat *pretty = vms_format_lookup("pretty");
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pretty);
    CU_ASSERT_PTR_EQUAL(vms_format_json(), json);
    ASSERT_STR_EQ(json->name, "json");
    ASSERT_STR_EQ(json->content_type, "application/json");
    CU_ASSERT_FALSE(json->binary);
    CU_ASSERT_PTR_NOT_NULL(json->input_new);
    ASSERT_STR_EQ(pretty->name, "pretty");
    ASSERT_STR_EQ(pretty->content_type, "text/plain; charset=utf-8");
    CU_ASSERT_FALSE(pretty->binary);
    CU_ASSERT_PTR_NULL(pretty->input_new);
    const VmsFormat *ber = vms_format_lookup("ber");
    CU_ASSERT_PTR_NOT_NULL_FATAL(ber);
    ASSERT_STR_EQ(ber->content_type, "application/x-vmscope-ber");
    CU_ASSERT_TRUE(ber->binary);
    CU_ASSERT_PTR_NOT_NULL(ber->input_new);

    CU_ASSERT_PTR_NULL(vms_format_lookup("xml"));
    CU_ASSERT_PTR_NULL(vms_format_lookup("JSON"));
    CU_ASSERT_PTR_NULL(vms_format_lookup(""));
    CU_ASSERT_PTR_NULL(vms_format_lookup(NULL));
}

static void test_names(void)
{
    g_autofree char *a = vms_format_names(NULL, " or ");
    ASSERT_STR_EQ(a, "json, pretty or ber");
    g_autofree char *b = vms_format_names("pretty", " or ");
    ASSERT_STR_EQ(b, "pretty, json or ber");
    g_autofree char *c = vms_format_names("json", ", ");
    ASSERT_STR_EQ(c, "json, pretty, ber");
    /* A name that is no format is not listed. */
    g_autofree char *d = vms_format_names("xml", " or ");
    ASSERT_STR_EQ(d, "json, pretty or ber");
}

static void test_outputs(void)
{
    g_autofree char *json = walk("json");
    ASSERT_STR_EQ(json, "{\"ier\":5,\"on\":true,\"mac\":\"525400\"}");
    g_autofree char *pretty = walk("pretty");
    ASSERT_STR_EQ(pretty, "uart (vmsd uart, version 1) {\n"
                          "  ier: uint8 = 5 (0x05)\n"
                          "  on: bool = true\n"
                          "  mac: buffer[3] = 52 54 00\n"
                          "}\n");
    /* BER (docs/ber.md): [APPLICATION 2] "uart" version 1, then names and values. */
    g_autoptr(GBytes) ber = walk_bytes("ber");
    gsize len;
    const uint8_t *p = g_bytes_get_data(ber, &len);
    g_autofree char *hex = hex_encode(p, len);
    ASSERT_STR_EQ(hex, "62220c04756172740201010c03696572840105"
                       "0c026f6e0101ff0c036d61630403525400");
}

/* Read text back through format name's input visitor into *u. */
static bool read_back(const char *name, const char *text, Uart *u, GError **errp)
{
    const VmsFormat *f = vms_format_lookup(name);
    g_autoptr(GBytes) data = g_bytes_new(text, strlen(text));
    Visitor *v = f->input_new(data, errp);
    if (!v) {
        return false;
    }
    bool ok = visit_uart(v, "uart", u, errp);
    visit_free(v);
    return ok;
}

/* Bytes back through the ber input visitor: type-checked. */
static void test_ber_input(void)
{
    Uart u = { 0 };
    GError *err = NULL;
    const VmsFormat *f = vms_format_lookup("ber");
    Uart src = { .ier = 5, .on = true, .mac = { 0x52, 0x54, 0x00 } };
    g_autoptr(GBytes) data = walk_bytes("ber");
    Visitor *v = f->input_new(data, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_TRUE(visit_uart(v, "uart", &u, &err));
    ASSERT_NO_ERROR(err);
    visit_free(v);
    CU_ASSERT_EQUAL(memcmp(&u, &src, sizeof(u)), 0);

    g_autoptr(GBytes) junk = g_bytes_new("{}", 2);
    CU_ASSERT_PTR_NULL(f->input_new(junk, &err));
    ASSERT_ERROR(err, "offset 0: truncated: need 127 bytes, 2 left");
}

static void test_json_input(void)
{
    Uart u = { 0 };
    GError *err = NULL;
    g_autofree char *json = walk("json");
    CU_ASSERT_TRUE(read_back("json", json, &u, &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(u.ier, 5);
    CU_ASSERT_TRUE(u.on);
    CU_ASSERT_EQUAL(memcmp(u.mac, "\x52\x54\x00", 3), 0);

    CU_ASSERT_FALSE(read_back("json", "{\"ier\": 5,", &u, &err));
    ASSERT_ERROR(err, "JSON parse error at offset 10: unexpected end of input");
    CU_ASSERT_FALSE(read_back("json", "", &u, &err));
    ASSERT_ERROR(err, "JSON parse error at offset 0: unexpected end of input");
    CU_ASSERT_FALSE(read_back("json", "{\"ier\": 300, \"on\": true, \"mac\": \"525400\"}", &u, &err));
    ASSERT_ERROR(err, "uart.ier: value 300 out of range for uint8");
    CU_ASSERT_FALSE(read_back("json", "{\"ier\": 1, \"on\": true, \"mac\": \"5254\", \"x\": 0}", &u,
                              &err));
    ASSERT_ERROR(err, "uart.mac: expected 3-byte hex buffer, got 2 bytes");
    CU_ASSERT_FALSE(read_back("json", "{\"ier\": 1, \"on\": true, \"mac\": \"525400\", \"x\": 0}",
                              &u, &err));
    ASSERT_ERROR(err, "uart: unexpected field 'x'");
}

static char *member_text(const QObject *value)
{
    return g_strdup(qstring_get(value));
}

static void test_results_in_json(void)
{
    /* Text: as is, under "text". */
    const VmsFormat *pretty = vms_format_lookup("pretty");
    ASSERT_STR_EQ(vms_format_result_member(pretty), "text");
    ASSERT_STR_EQ(vms_format_result_member(vms_format_json()), "text");
    g_autoptr(GBytes) text = g_bytes_new("a: bool = true\n", 15);
    g_autoptr(QObject) t = vms_format_result_to_qobject(pretty, text);
    g_autofree char *ts = member_text(t);
    ASSERT_STR_EQ(ts, "a: bool = true\n");
    GError *err = NULL;
    g_autoptr(GBytes) t2 = vms_format_result_from_qobject(pretty, t, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_TRUE(g_bytes_equal(t2, text));

    /* Binary: hex, under "data" (a format of the test's own: the table has none yet). */
    static const VmsFormat raw = { .name = "raw", .content_type = "application/octet-stream",
                                   .binary = true };
    ASSERT_STR_EQ(vms_format_result_member(&raw), "data");
    g_autoptr(GBytes) bytes = g_bytes_new("\x00\xff\x10", 3);
    g_autoptr(QObject) b = vms_format_result_to_qobject(&raw, bytes);
    g_autofree char *bs = member_text(b);
    ASSERT_STR_EQ(bs, "00ff10");
    g_autoptr(GBytes) b2 = vms_format_result_from_qobject(&raw, b, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_TRUE(g_bytes_equal(b2, bytes));
    g_autoptr(QObject) upper = qstring_from_str("00FF10");
    g_autoptr(GBytes) b3 = vms_format_result_from_qobject(&raw, upper, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_TRUE(g_bytes_equal(b3, bytes));
    g_autoptr(GBytes) empty = g_bytes_new(NULL, 0);
    g_autoptr(QObject) e = vms_format_result_to_qobject(&raw, empty);
    g_autofree char *es = member_text(e);
    ASSERT_STR_EQ(es, "");

    /* Errors. */
    g_autoptr(QObject) num = qnum_from_int(1);
    g_autoptr(QObject) odd = qstring_from_str("abc");
    g_autoptr(QObject) bad = qstring_from_str("0g");
    CU_ASSERT_PTR_NULL(vms_format_result_from_qobject(&raw, num, &err));
    ASSERT_ERROR(err, "expected a string, got int");
    CU_ASSERT_PTR_NULL(vms_format_result_from_qobject(pretty, NULL, &err));
    ASSERT_ERROR(err, "expected a string, got null");
    CU_ASSERT_PTR_NULL(vms_format_result_from_qobject(&raw, odd, &err));
    ASSERT_ERROR(err, "odd number of hex digits (3)");
    CU_ASSERT_PTR_NULL(vms_format_result_from_qobject(&raw, bad, &err));
    ASSERT_ERROR(err, "invalid hex digit at position 1");
}

static const CuTest format_tests[] = {
    { "lookup", test_lookup },
    { "names", test_names },
    { "outputs", test_outputs },
    { "json input", test_json_input },
    { "ber input", test_ber_input },
    { "results in JSON", test_results_in_json },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "format", format_tests },
    { NULL, NULL },
};

CUTEST_MAIN(suites)

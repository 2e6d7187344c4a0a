/* Unit tests for bridge/qmp-json: stream framing, error recovery, output format. */
#include "config.h"

#include "cutest.h"
#include "bridge/qmp-dispatch.h"
#include "bridge/qmp-json.h"

/*
 * Feed text in chunks of `chunk` bytes (0: all at once) and describe what
 * came out, one line per value ("V <json>") or error ("E <message>").
 */
static char *parse_all(const char *text, size_t len, size_t chunk, size_t max_size)
{
    g_autoptr(QmpJsonParser) p = qmp_json_parser_new(max_size);
    GString *out = g_string_new(NULL);
    size_t off = 0;

    while (off < len) {
        size_t n = chunk ? MIN(chunk, len - off) : len - off;
        size_t pos = 0;
        while (pos < n) {
            size_t used = 0;
            QObject *v = NULL;
            GError *err = NULL;
            QmpJsonStatus st = qmp_json_parser_feed(p, text + off + pos, n - pos, &used, &v, &err);
            pos += used;
            if (st == QMP_JSON_VALUE) {
                g_autofree char *j = qmp_json_format(v);
                g_string_append_printf(out, "V %s\n", j);
                qobject_unref(v);
            } else if (st == QMP_JSON_ERROR) {
                CU_ASSERT_EQUAL(err->domain, QMP_ERROR);
                CU_ASSERT_EQUAL(err->code, QMP_ERROR_GENERIC_ERROR);
                g_string_append_printf(out, "E %s\n", err->message);
                g_error_free(err);
            } else {
                CU_ASSERT_EQUAL(pos, n);   /* everything used */
            }
        }
        off += n;
    }
    CU_ASSERT_EQUAL(qmp_json_parser_offset(p), len);
    return g_string_free(out, FALSE);
}

#define CHECK_PARSE(text, expected)                                                  \
    do {                                                                             \
        static const char t_[] = text;                                               \
        g_autofree char *whole_ = parse_all(t_, sizeof(t_) - 1, 0, 1 << 20);         \
        ASSERT_STR_EQ(whole_, expected);                                             \
        g_autofree char *bytes_ = parse_all(t_, sizeof(t_) - 1, 1, 1 << 20);         \
        ASSERT_STR_EQ(bytes_, expected);                                             \
    } while (0)

static void test_values(void)
{
    CHECK_PARSE("{\"execute\": \"x\"}", "V {\"execute\": \"x\"}\n");
    CHECK_PARSE("{\"a\":1}{\"b\":2}\r\n  [1, 2]\n",
                "V {\"a\": 1}\nV {\"b\": 2}\nV [1, 2]\n");
    CHECK_PARSE("{'execute': \"it's\"}", "V {\"execute\": \"it's\"}\n");
    CHECK_PARSE("{'execute': 'x', 'id': \"y\"}", "V {\"execute\": \"x\", \"id\": \"y\"}\n");
    CHECK_PARSE("\"str\" null true ", "V \"str\"\nV null\nV true\n");
    /* A number is complete only once something follows it. */
    CHECK_PARSE("123", "");
    CHECK_PARSE("123 ", "V 123\n");
    CHECK_PARSE("{\"id\": 18446744073709551615, \"n\": -9223372036854775808}",
                "V {\"id\": 18446744073709551615, \"n\": -9223372036854775808}\n");
    CHECK_PARSE("{\"s\": \"a\\\"b\\\\c/\\u00e9\"}", "V {\"s\": \"a\\\"b\\\\c/\xc3\xa9\"}\n");
    CHECK_PARSE("   \n\t  ", "");
}

static void test_recovery(void)
{
    /* The rest of a broken value is skipped; the next value is parsed. */
    CHECK_PARSE("{\"a\":} {\"b\":1}",
                "E JSON parse error, unexpected character at offset 5\nV {\"b\": 1}\n");
    CHECK_PARSE("garbage {\"b\":1}",
                "E JSON parse error, keyword 'garbage' is invalid at offset 0\nV {\"b\": 1}\n");
    CHECK_PARSE("garbage{\"b\":1}",
                "E JSON parse error, keyword 'garbage' is invalid at offset 0\nV {\"b\": 1}\n");
    CHECK_PARSE("{\"execute\": foo} {\"b\":1}",
                "E JSON parse error, keyword 'foo' is invalid at offset 12\nV {\"b\": 1}\n");
    CHECK_PARSE("{\"a\": x, \"b\": {\"c\": 1}}\n{\"d\":2}",
                "E JSON parse error, keyword 'x' is invalid at offset 6\nV {\"d\": 2}\n");
    CHECK_PARSE("{\"a\":1 \"b\":2}{}",
                "E JSON parse error, object value separator ',' expected at offset 7\nV {}\n");
    CHECK_PARSE("{\"a\": \"}\" 1}{}",
                "E JSON parse error, object value separator ',' expected at offset 10\nV {}\n");
    CHECK_PARSE("}}}\n{}",
                "E JSON parse error, unexpected character at offset 0\n"
                "E JSON parse error, unexpected character at offset 1\n"
                "E JSON parse error, unexpected character at offset 2\nV {}\n");
    /* A stray byte outside a value: skipped up to a bracket or line end. */
    CHECK_PARSE("\xff{}", "E JSON parse error, unexpected character at offset 0\nV {}\n");
    CHECK_PARSE("@@ x\n{}", "E JSON parse error, unexpected character at offset 0\nV {}\n");
    CHECK_PARSE("{\"a\": \"\xe9\"}{}",
                "E JSON parse error, invalid utf-8 string at offset 7\nV {}\n");
    CHECK_PARSE("{\"a\"\0:1} {}",
                "E JSON parse error, unexpected character at offset 4\nV {}\n");
    CHECK_PARSE("{\"a\": \"x\0\"} {}",
                "E JSON parse error, unexpected end of data at offset 8\nV {}\n");
    CHECK_PARSE("[1,]]{}", "V [1]\nE JSON parse error, unexpected character at offset 4\nV {}\n");
}

/* Issue 12: what arrives in the same read as a value cannot spoil it. */
static void test_split_and_trailing(void)
{
    /* Multi-byte characters split across reads (CHECK_PARSE also feeds
     * byte by byte). */
    CHECK_PARSE("{\"s\": \"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}",
                "V {\"s\": \"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}\n");
    CHECK_PARSE("['\xc3\xa9'] {'\xc3\xa9': 1}", "V [\"\xc3\xa9\"]\nV {\"\xc3\xa9\": 1}\n");
    /* A complete value followed by invalid bytes or a '/' in one read. */
    CHECK_PARSE("{\"a\":1}\xff", "V {\"a\": 1}\nE JSON parse error, unexpected character at offset 7\n");
    CHECK_PARSE("{\"a\":1}/", "V {\"a\": 1}\nE JSON parse error, unexpected character at offset 7\n");
    CHECK_PARSE("[1]\xc3", "V [1]\nE JSON parse error, unexpected character at offset 3\n");
    /* UTF-8 as RFC 3629 has it: overlong forms and surrogates are not (found by fuzzing). */
    CHECK_PARSE("[\"\xc1\x89\"] {}", "E JSON parse error, invalid utf-8 string at offset 2\nV {}\n");
    CHECK_PARSE("[\"ok\xe0\x80\xaf\"] {}",
                "E JSON parse error, invalid utf-8 string at offset 4\nV {}\n");
    CHECK_PARSE("[\"\xed\xa0\x80\"] {}", "E JSON parse error, invalid utf-8 string at offset 2\nV {}\n");
    CHECK_PARSE("[\"\xf4\x90\x80\x80\"] {}",
                "E JSON parse error, invalid utf-8 string at offset 2\nV {}\n");
    /* Comments are not JSON (nor QEMU's JSON): one error, then resync. */
    CHECK_PARSE("{\"a\":1} /* c */ {\"b\":2}",
                "V {\"a\": 1}\nE JSON parse error, unexpected character at offset 8\nV {\"b\": 2}\n");
    CHECK_PARSE("[1, // c\n 2] {}", "E JSON parse error, unexpected character at offset 4\nV {}\n");
}

/* Issue 12: only JSON's numbers and keywords, kept exact or refused. */
static void test_tokens(void)
{
    CHECK_PARSE("[00] {}", "E JSON parse error, number '00' is invalid at offset 1\nV {}\n");
    CHECK_PARSE("[01] {}", "E JSON parse error, number '01' is invalid at offset 1\nV {}\n");
    CHECK_PARSE("[123e] {}", "E JSON parse error, number '123e' is invalid at offset 1\nV {}\n");
    CHECK_PARSE("[1e+] {}", "E JSON parse error, number '1e+' is invalid at offset 1\nV {}\n");
    CHECK_PARSE("[1.] {}", "E JSON parse error, number '1.' is invalid at offset 1\nV {}\n");
    CHECK_PARSE("[.5] {}", "E JSON parse error, unexpected character at offset 1\nV {}\n");
    CHECK_PARSE("[-] {}", "E JSON parse error, number '-' is invalid at offset 1\nV {}\n");
    CHECK_PARSE("[+1] {}", "E JSON parse error, unexpected character at offset 1\nV {}\n");
    CHECK_PARSE("[1-2] {}", "E JSON parse error, number '1-2' is invalid at offset 1\nV {}\n");
    CHECK_PARSE("00 {}", "E JSON parse error, number '00' is invalid at offset 0\nV {}\n");
    CHECK_PARSE("123e {}", "E JSON parse error, number '123e' is invalid at offset 0\nV {}\n");
    CHECK_PARSE("[NaN] {}", "E JSON parse error, keyword 'NaN' is invalid at offset 1\nV {}\n");
    CHECK_PARSE("[-Infinity] {}", "E JSON parse error, number '-' is invalid at offset 1\nV {}\n");
    CHECK_PARSE("[True] {}", "E JSON parse error, keyword 'True' is invalid at offset 1\nV {}\n");
    CHECK_PARSE("[nulls] {}", "E JSON parse error, keyword 'nulls' is invalid at offset 1\nV {}\n");
    /* Valid numbers come back as sent. */
    CHECK_PARSE("[0, -0, 10, 1.5, -0.0, 1E5, 1e-400, 2.5e+3] ",
                "V [0, 0, 10, 1.5, -0.0, 1E5, 1e-400, 2.5e+3]\n");
    CHECK_PARSE("[18446744073709551615, -9223372036854775808] ",
                "V [18446744073709551615, -9223372036854775808]\n");
    /* Beyond 64 bits or a double's range: refused, never another number. */
    CHECK_PARSE("{\"id\": 18446744073709551616} {}",
                "E JSON parse error, integer '18446744073709551616' is beyond 64 bits at offset 7\nV {}\n");
    CHECK_PARSE("{\"id\": -9223372036854775809} {}",
                "E JSON parse error, integer '-9223372036854775809' is beyond 64 bits at offset 7\nV {}\n");
    CHECK_PARSE("[1e400] {}",
                "E JSON parse error, number '1e400' is beyond the range of a double at offset 1\nV {}\n");
    CHECK_PARSE("[-1.5E+999] {}",
                "E JSON parse error, number '-1.5E+999' is beyond the range of a double at offset 1\nV {}\n");
    CHECK_PARSE("1234567890123456789012345678901234567890 {}",
                "E JSON parse error, integer '12345678901234567890123456789012...' is beyond 64 bits "
                "at offset 0\nV {}\n");
}

static char *nested(unsigned depth, const char *tail)
{
    GString *s = g_string_new(NULL);
    for (unsigned i = 0; i < depth; i++) {
        g_string_append_c(s, '[');
    }
    for (unsigned i = 0; i < depth; i++) {
        g_string_append_c(s, ']');
    }
    g_string_append(s, tail);
    return g_string_free(s, FALSE);
}

static void test_nesting_limit(void)
{
    g_autofree char *ok = nested(QMP_JSON_MAX_NESTING, "{}");
    g_autofree char *out = parse_all(ok, strlen(ok), 0, 1 << 20);
    CU_ASSERT_TRUE(g_str_has_prefix(out, "V [[[["));
    CU_ASSERT_TRUE(g_str_has_suffix(out, "]]]]\nV {}\n"));

    g_autofree char *deep = nested(QMP_JSON_MAX_NESTING + 1, "{}");
    g_autofree char *out2 = parse_all(deep, strlen(deep), 0, 1 << 20);
    ASSERT_STR_EQ(out2, "E JSON nesting depth limit exceeded\nV {}\n");
    g_autofree char *out3 = parse_all(deep, strlen(deep), 7, 1 << 20);
    ASSERT_STR_EQ(out3, "E JSON nesting depth limit exceeded\nV {}\n");
}

static void test_size_limit(void)
{
    /* 20 bytes allowed; leading whitespace does not count. */
    const char *fits = "      {\"a\": \"123456\"}[]";       /* 15 bytes + [] */
    g_autofree char *o1 = parse_all(fits, strlen(fits), 0, 15);
    ASSERT_STR_EQ(o1, "V {\"a\": \"123456\"}\nV []\n");
    const char *big = "{\"a\": \"1234567\"} {\"b\": [1, {\"c\": 2}]} []";
    g_autofree char *o2 = parse_all(big, strlen(big), 0, 15);
    ASSERT_STR_EQ(o2, "E JSON token size limit exceeded\nE JSON token size limit exceeded\nV []\n");
    g_autofree char *o3 = parse_all(big, strlen(big), 3, 15);
    ASSERT_STR_EQ(o3, "E JSON token size limit exceeded\nE JSON token size limit exceeded\nV []\n");
    /* A long string inside a value is skipped as a whole, brackets in it too. */
    const char *str = "{\"a\": \"]]]]]]]]]]]]]]]]]]]]]]]]]]\"} {}";
    g_autofree char *o4 = parse_all(str, strlen(str), 0, 15);
    ASSERT_STR_EQ(o4, "E JSON token size limit exceeded\nV {}\n");
}

static void test_format(void)
{
    g_autoptr(QObject) v = NULL;
    g_autoptr(GError) err = NULL;
    const char *text = "{\"return\": {\"a\": [1, -2, true, false, null, \"s\", 1.5, {}, []], "
                       "\"b\": {\"c\": {\"d\": \"e\"}}}, \"id\": \"x\"}";
    CU_ASSERT_TRUE_FATAL(qobject_from_json(text, strlen(text), &v, &err));
    g_autofree char *out = qmp_json_format(v);
    ASSERT_STR_EQ(out, text);

    g_autoptr(QObject) d = qdict_new();
    qdict_put(d, "we\"ird\n", qstring_from_str("x\x01y"));
    qdict_put(d, "plain", qnum_from_uint(UINT64_MAX));
    g_autofree char *o2 = qmp_json_format(d);
    ASSERT_STR_EQ(o2, "{\"we\\\"ird\\n\": \"x\\u0001y\", \"plain\": 18446744073709551615}");

    g_autofree char *o3 = qmp_json_format(NULL);
    ASSERT_STR_EQ(o3, "null");
}

static const CuTest json_tests[] = {
    { "values", test_values },
    { "recovery", test_recovery },
    { "split_and_trailing", test_split_and_trailing },
    { "tokens", test_tokens },
    { "nesting_limit", test_nesting_limit },
    { "size_limit", test_size_limit },
    { "format", test_format },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "qmp-json", json_tests },
    { NULL, NULL },
};

CUTEST_MAIN(suites)

/* Unit tests for lib/core/qobject.c: constructors, exact integers, equality, JSON. */
#include "config.h"

#include "cutest.h"
#include "vmscope/error.h"
#include "vmscope/qobject.h"

static QObject *parse_ok(const char *text)
{
    GError *err = NULL;
    QObject *obj = NULL;
    CU_ASSERT_TRUE(qobject_from_json(text, strlen(text), &obj, &err));
    ASSERT_NO_ERROR(err);
    return obj;
}

static void parse_fails(const char *text, const char *msg)
{
    GError *err = NULL;
    QObject *obj = NULL;
    CU_ASSERT_FALSE(qobject_from_json(text, strlen(text), &obj, &err));
    CU_ASSERT_PTR_NULL(obj);
    ASSERT_ERROR(err, msg);
}

static void test_scalars(void)
{
    g_autoptr(QObject) b = qbool_from_bool(true);
    g_autoptr(QObject) s = qstring_from_printf("fifo[%d]", 3);
    g_autoptr(QObject) d = qnum_from_double(1.5);
    bool bv = false;
    double dv = 0;

    CU_ASSERT_EQUAL(qobject_type(b), QTYPE_BOOL);
    CU_ASSERT_TRUE(qbool_get(b, &bv) && bv);
    ASSERT_STR_EQ(qstring_get(s), "fifo[3]");
    CU_ASSERT_PTR_NULL(qstring_get(b));
    CU_ASSERT_TRUE(qnum_get_double(d, &dv));
    CU_ASSERT_EQUAL(dv, 1.5);
    CU_ASSERT_EQUAL(qobject_type(qnull()), QTYPE_NULL);
    ASSERT_STR_EQ(qtype_name(QTYPE_DICT), "object");
}

static void test_int_limits(void)
{
    int64_t i = 0;
    uint64_t u = 0;
    g_autoptr(QObject) umax = qnum_from_uint(UINT64_MAX);
    g_autoptr(QObject) imin = qnum_from_int(INT64_MIN);
    g_autoptr(QObject) imax = qnum_from_int(INT64_MAX);
    g_autoptr(QObject) above = qnum_from_uint((uint64_t)INT64_MAX + 1);

    CU_ASSERT_TRUE(qnum_get_uint(umax, &u));
    CU_ASSERT_EQUAL(u, UINT64_MAX);
    CU_ASSERT_FALSE(qnum_get_int(umax, &i));          /* does not fit int64 */
    CU_ASSERT_TRUE(qnum_get_int(imin, &i));
    CU_ASSERT_EQUAL(i, INT64_MIN);
    CU_ASSERT_FALSE(qnum_get_uint(imin, &u));         /* negative */
    CU_ASSERT_TRUE(qnum_get_int(imax, &i) && i == INT64_MAX);
    CU_ASSERT_TRUE(qnum_get_uint(imax, &u) && u == (uint64_t)INT64_MAX);
    CU_ASSERT_TRUE(qnum_get_uint(above, &u) && u == (uint64_t)INT64_MAX + 1);
    CU_ASSERT_FALSE(qnum_get_int(above, &i));
    CU_ASSERT_TRUE(qnum_is_negative(imin));
    CU_ASSERT_FALSE(qnum_is_negative(umax));
}

static void test_json_uint64_round_trip(void)
{
    g_autoptr(QObject) list = parse_ok("[18446744073709551615, -9223372036854775808, "
                                       "9223372036854775808, 0]");
    uint64_t u = 0;
    int64_t i = 0;
    CU_ASSERT_EQUAL(qlist_size(list), 4);
    CU_ASSERT_TRUE(qnum_get_uint(qlist_get(list, 0), &u) && u == UINT64_MAX);
    CU_ASSERT_TRUE(qnum_get_int(qlist_get(list, 1), &i) && i == INT64_MIN);
    CU_ASSERT_TRUE(qnum_get_uint(qlist_get(list, 2), &u) && u == (uint64_t)INT64_MAX + 1);
    g_autofree char *text = qobject_to_json(list, false);
    ASSERT_STR_EQ(text, "[18446744073709551615,-9223372036854775808,9223372036854775808,0]");
}

static void test_dict_order_and_access(void)
{
    g_autoptr(QObject) d = qdict_new();
    qdict_put(d, "zeta", qnum_from_int(1));
    qdict_put(d, "alpha", qstring_from_str("a/b"));
    qdict_put(d, "mid", qnull());
    g_autofree char *text = qobject_to_json(d, false);
    ASSERT_STR_EQ(text, "{\"zeta\":1,\"alpha\":\"a/b\",\"mid\":null}");
    CU_ASSERT_EQUAL(qdict_size(d), 3);
    CU_ASSERT_TRUE(qdict_haskey(d, "mid"));
    CU_ASSERT_PTR_NULL(qdict_get(d, "mid"));
    ASSERT_STR_EQ(qdict_get_str(d, "alpha"), "a/b");
    CU_ASSERT_PTR_NULL(qdict_get_str(d, "zeta"));
    CU_ASSERT_TRUE(qdict_del(d, "zeta"));
    CU_ASSERT_FALSE(qdict_del(d, "zeta"));
    CU_ASSERT_EQUAL(qdict_size(d), 2);
}

static void test_equal(void)
{
    g_autoptr(QObject) a = parse_ok("{\"a\": [1, true, \"x\", null, {\"b\": 2.5}], \"c\": 7}");
    g_autoptr(QObject) b = parse_ok("{\"c\": 7, \"a\": [1, true, \"x\", null, {\"b\": 2.5}]}");
    g_autoptr(QObject) c = parse_ok("{\"c\": 7, \"a\": [true, 1, \"x\", null, {\"b\": 2.5}]}");
    g_autoptr(QObject) d = parse_ok("{\"c\": 7}");
    g_autoptr(QObject) big1 = qnum_from_uint(UINT64_MAX);
    g_autoptr(QObject) big2 = parse_ok("18446744073709551615");
    g_autoptr(QObject) neg = qnum_from_int(-1);
    g_autoptr(QObject) small_u = qnum_from_uint(5);
    g_autoptr(QObject) small_i = qnum_from_int(5);
    g_autoptr(QObject) dbl = qnum_from_double(5);

    CU_ASSERT_TRUE(qobject_equal(a, b));           /* dict order does not matter */
    CU_ASSERT_FALSE(qobject_equal(a, c));          /* list order does */
    CU_ASSERT_FALSE(qobject_equal(a, d));
    CU_ASSERT_TRUE(qobject_equal(big1, big2));
    CU_ASSERT_FALSE(qobject_equal(big1, neg));     /* both print as all-ones in C */
    CU_ASSERT_TRUE(qobject_equal(small_u, small_i));
    CU_ASSERT_FALSE(qobject_equal(small_i, dbl));  /* int and double differ */
    CU_ASSERT_TRUE(qobject_equal(NULL, NULL));

    g_autoptr(QObject) copy = qobject_copy(a);
    CU_ASSERT_TRUE(qobject_equal(a, copy));
    CU_ASSERT_PTR_NOT_EQUAL(a, copy);
}

static void test_json_errors(void)
{
    parse_fails("{\"a\": 1,, }", "JSON parse error at offset 8: quoted object property name expected");
    parse_fails("[1, 2", "JSON parse error at offset 5: unexpected end of input");
    parse_fails("{} {}", "JSON parse error at offset 3: trailing text after value");
    parse_fails("", "JSON parse error at offset 0: unexpected end of input");
    parse_fails("[1, 18446744073709551616]",
                "JSON parse error at offset 4: integer 18446744073709551616 out of 64-bit range");
    parse_fails("{\"a\": \"-1e999 9\", \"b\": -9223372036854775809}",
                "JSON parse error at offset 23: integer -9223372036854775809 out of 64-bit range");
    g_autoptr(QObject) n = parse_ok("  42  ");
    int64_t i = 0;
    CU_ASSERT_TRUE(qnum_get_int(n, &i) && i == 42);
    g_autoptr(QObject) nul = parse_ok("null");
    CU_ASSERT_PTR_NULL(nul);
}

static void test_pretty_json(void)
{
    g_autoptr(QObject) d = parse_ok("{\"a\":[1,2],\"b\":{}}");
    g_autofree char *text = qobject_to_json(d, true);
    ASSERT_STR_EQ(text, "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {\n  }\n}");
}

static const CuTest qobject_tests[] = {
    { "scalars", test_scalars },
    { "int limits", test_int_limits },
    { "json uint64 round trip", test_json_uint64_round_trip },
    { "dict order and access", test_dict_order_and_access },
    { "deep equality", test_equal },
    { "json errors", test_json_errors },
    { "pretty json", test_pretty_json },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "qobject", qobject_tests },
    { NULL, NULL },
};

CUTEST_MAIN(suites)

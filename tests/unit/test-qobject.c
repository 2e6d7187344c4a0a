/*
 * Unit tests for lib/core/qobject.c and qobject-diff.c: constructors, exact
 * integers, equality, JSON, differences between trees.
 */
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
    /* Issue 12 (found by fuzzing): integers of any length, and UTF-8 as RFC 3629 has it. */
    parse_fails("[10000000000000000000000000000000000000000000000000000000000000000000000]",
                "JSON parse error at offset 1: integer "
                "10000000000000000000000000000000000000000000000000000000000000000000000 out of "
                "64-bit range");
    parse_fails("{\"name\": \"co\x96nt\"}", "JSON parse error at offset 12: not UTF-8");
    parse_fails("[\"\xc1\x89\"]", "JSON parse error at offset 2: not UTF-8");
    g_autoptr(QObject) e = parse_ok("\"\xc3\xa9\xe2\x82\xac\"");
    ASSERT_STR_EQ(qstring_get(e), "\xc3\xa9\xe2\x82\xac");
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

/* ---- differences ------------------------------------------------------------ */

/* The diff of two JSON texts as "KIND PATH: BEFORE -> AFTER" entries, joined by " | ". */
static char *diff_text(const char *a, const char *b, const char *root)
{
    static const char *const kinds[] = {
        [QOBJECT_DIFF_CHANGED] = "changed",
        [QOBJECT_DIFF_ADDED] = "added",
        [QOBJECT_DIFF_REMOVED] = "removed",
    };
    g_autoptr(QObject) qa = parse_ok(a);
    g_autoptr(QObject) qb = parse_ok(b);
    g_autoptr(GPtrArray) diffs = qobject_diff(qa, qb, root);
    g_autoptr(GString) out = g_string_new(NULL);
    for (guint i = 0; i < diffs->len; i++) {
        const QObjectDiff *d = g_ptr_array_index(diffs, i);
        g_autofree char *before = d->kind == QOBJECT_DIFF_ADDED
                                      ? g_strdup("-") : qobject_to_json(d->before, false);
        g_autofree char *after = d->kind == QOBJECT_DIFF_REMOVED
                                     ? g_strdup("-") : qobject_to_json(d->after, false);
        g_string_append_printf(out, "%s%s %s: %s -> %s", i ? " | " : "", kinds[d->kind], d->path,
                               before, after);
    }
    return g_string_free(g_steal_pointer(&out), FALSE);
}

#define ASSERT_DIFF(a, b, root, expected)                                       \
    do {                                                                        \
        g_autofree char *d_ = diff_text((a), (b), (root));                      \
        ASSERT_STR_EQ(d_, (expected));                                          \
    } while (0)

static void test_diff(void)
{
    ASSERT_DIFF("{\"a\": 1, \"b\": [1, 2]}", "{\"a\": 1, \"b\": [1, 2]}", "", "");
    /* uint64 exact; a root names every path. */
    ASSERT_DIFF("{\"x\": 18446744073709551615}", "{\"x\": 18446744073709551614}", "dev",
                "changed dev.x: 18446744073709551615 -> 18446744073709551614");
    /* Values compare as qobject_equal() does: an integer is no double. */
    ASSERT_DIFF("{\"x\": 1}", "{\"x\": 1.0}", "", "changed x: 1 -> 1.0");
    /* The deepest value that differs, in the order of the new tree. */
    ASSERT_DIFF("{\"a\": 1, \"f\": {\"n\": 2, \"d\": [1, 2]}}",
                "{\"f\": {\"n\": 3, \"d\": [1, 3]}, \"a\": 0}", "",
                "changed f.n: 2 -> 3 | changed f.d[1]: 2 -> 3 | changed a: 1 -> 0");
    /* Members on one side only: the new tree's order, then the ones that went. */
    ASSERT_DIFF("{\"a\": 1, \"s/x\": {\"v\": 1}}", "{\"a\": 2, \"s/y\": {\"v\": 1}}", "",
                "changed a: 1 -> 2 | added s/y: - -> {\"v\":1} | removed s/x: {\"v\":1} -> -");
    /* Lists that grow or shrink: the elements that came or went. */
    ASSERT_DIFF("{\"l\": [{\"a\": 1}]}", "{\"l\": [{\"a\": 1}, {\"a\": 2}, 3]}", "s",
                "added s.l[1]: - -> {\"a\":2} | added s.l[2]: - -> 3");
    ASSERT_DIFF("[1, 2, 3]", "[1]", "", "removed [1]: 2 -> - | removed [2]: 3 -> -");
    /* A type that changed is named itself; null is a value like any other. */
    ASSERT_DIFF("{\"a\": [1], \"b\": true, \"c\": null}",
                "{\"a\": {\"x\": 1}, \"b\": false, \"c\": 0}", "",
                "changed a: [1] -> {\"x\":1} | changed b: true -> false | changed c: null -> 0");
    ASSERT_DIFF("{\"c\": null}", "{}", "", "removed c: null -> -");
    /* At the root itself. */
    ASSERT_DIFF("1", "2", "cfg", "changed cfg: 1 -> 2");
    ASSERT_DIFF("1", "\"1\"", "", "changed : 1 -> \"1\"");
}

static const CuTest qobject_tests[] = {
    { "scalars", test_scalars },
    { "int limits", test_int_limits },
    { "json uint64 round trip", test_json_uint64_round_trip },
    { "dict order and access", test_dict_order_and_access },
    { "deep equality", test_equal },
    { "json errors", test_json_errors },
    { "pretty json", test_pretty_json },
    { "diff", test_diff },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "qobject", qobject_tests },
    { NULL, NULL },
};

CUTEST_MAIN(suites)

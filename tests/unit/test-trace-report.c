/* Unit tests for probes/trace-report.c: bpftrace's map and hist() layout, JSON lines, events. */
#include "config.h"

#include <string.h>
#include <linux/types.h>

#include "cutest.h"
#include "trace-report.h"

static GPtrArray *counts_new(void)
{
    return g_ptr_array_new_with_free_func((GDestroyNotify)trace_count_free);
}

static GPtrArray *hists_new(void)
{
    return g_ptr_array_new_with_free_func((GDestroyNotify)trace_hist_free);
}

static void test_slots(void)
{
    CU_ASSERT_EQUAL(trace_hist_slot(-5), 0);
    CU_ASSERT_EQUAL(trace_hist_slot(0), 1);
    CU_ASSERT_EQUAL(trace_hist_slot(1), 2);
    CU_ASSERT_EQUAL(trace_hist_slot(2), 3);
    CU_ASSERT_EQUAL(trace_hist_slot(3), 3);
    CU_ASSERT_EQUAL(trace_hist_slot(4), 4);
    CU_ASSERT_EQUAL(trace_hist_slot(1023), 11);
    CU_ASSERT_EQUAL(trace_hist_slot(1024), 12);
    CU_ASSERT_EQUAL(trace_hist_slot(INT64_MAX), 64);
}

static void add(TraceHist *h, int64_t v, unsigned times)
{
    h->slots[trace_hist_slot(v)] += times;
}

/*
 * What bpftrace 0.17 prints for
 *   BEGIN { @usecs["a"] = hist(0); 2 x hist(1); 3 x hist(5); hist(1500); exit(); }
 * copied from its output.
 */
static void test_hist_like_bpftrace(void)
{
    g_autoptr(GPtrArray) hists = hists_new();
    g_autoptr(GString) out = g_string_new(NULL);
    TraceHist *h = trace_hist_new("a");

    add(h, 0, 1);
    add(h, 1, 2);
    add(h, 5, 3);
    add(h, 1500, 1);
    g_ptr_array_add(hists, h);
    trace_report_hists(out, "@usecs", hists, false);
    ASSERT_STR_EQ(out->str,
        "@usecs[a]: \n"
        "[0]                    1 |@@@@@@@@@@@@@@@@@                                   |\n"
        "[1]                    2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@                  |\n"
        "[2, 4)                 0 |                                                    |\n"
        "[4, 8)                 3 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"
        "[8, 16)                0 |                                                    |\n"
        "[16, 32)               0 |                                                    |\n"
        "[32, 64)               0 |                                                    |\n"
        "[64, 128)              0 |                                                    |\n"
        "[128, 256)             0 |                                                    |\n"
        "[256, 512)             0 |                                                    |\n"
        "[512, 1K)              0 |                                                    |\n"
        "[1K, 2K)               1 |@@@@@@@@@@@@@@@@@                                   |\n"
        "\n");
}

/* Also from bpftrace: hist(-1) and hist(0); and suffixes up to T. */
static void test_hist_labels(void)
{
    g_autoptr(GString) out = g_string_new(NULL);
    uint64_t slots[VTRACE_HIST_SLOTS] = { 0 };

    slots[trace_hist_slot(-1)] = 1;
    slots[trace_hist_slot(0)] = 1;
    trace_report_hist_buckets(out, slots);
    ASSERT_STR_EQ(out->str,
        "(..., 0)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"
        "[0]                    1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n");

    memset(slots, 0, sizeof(slots));
    slots[trace_hist_slot(3000000)] = 7;                    /* [2M, 4M) */
    slots[trace_hist_slot((int64_t)1 << 30)] = 1;           /* [1G, 2G) */
    slots[trace_hist_slot((int64_t)3 << 40)] = 2;           /* [2T, 4T) */
    g_string_truncate(out, 0);
    trace_report_hist_buckets(out, slots);
    CU_ASSERT_TRUE(g_str_has_prefix(out->str,
        "[2M, 4M)               7 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"
        "[4M, 8M)               0 |                                                    |\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out->str,
        "\n[512M, 1G)             0 |                                                    |\n"
        "[1G, 2G)               1 |@@@@@@@                                             |\n"));
    CU_ASSERT_TRUE(g_str_has_suffix(out->str,
        "\n[2T, 4T)               2 |@@@@@@@@@@@@@@                                      |\n"));

    memset(slots, 0, sizeof(slots));
    g_string_truncate(out, 0);
    trace_report_hist_buckets(out, slots);
    ASSERT_STR_EQ(out->str, "");
}

static void test_hists_sorted_by_total(void)
{
    g_autoptr(GPtrArray) hists = hists_new();
    g_autoptr(GString) out = g_string_new(NULL);
    TraceHist *big = trace_hist_new("serial");
    TraceHist *small = trace_hist_new("e1000");

    add(big, 40, 2);
    add(small, 150000, 1);
    g_ptr_array_add(hists, big);
    g_ptr_array_add(hists, small);
    trace_report_hists(out, "@usecs", hists, false);
    ASSERT_STR_EQ(out->str,
        "@usecs[e1000]: \n"
        "[128K, 256K)           1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"
        "\n"
        "@usecs[serial]: \n"
        "[32, 64)               2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"
        "\n");

    g_string_truncate(out, 0);
    trace_report_hists(out, "@usecs", hists, true);
    ASSERT_STR_EQ(out->str,
        "{\"type\":\"hist\",\"data\":{\"@usecs\":{"
        "\"e1000\":[{\"min\":131072,\"max\":262143,\"count\":1}],"
        "\"serial\":[{\"min\":32,\"max\":63,\"count\":2}]}}}\n");
}

static void test_counts(void)
{
    g_autoptr(GPtrArray) one = counts_new();
    g_autoptr(GPtrArray) two = counts_new();
    g_autoptr(GString) out = g_string_new(NULL);

    g_ptr_array_add(one, trace_count_new("qemu_put_be32", NULL, 69226));
    g_ptr_array_add(one, trace_count_new("qemu_put_byte", NULL, 1099));
    g_ptr_array_add(one, trace_count_new("qemu_get_byte", NULL, 1099));
    trace_report_counts(out, "@calls", one, false);
    ASSERT_STR_EQ(out->str,
        "@calls[qemu_get_byte]: 1099\n"
        "@calls[qemu_put_byte]: 1099\n"
        "@calls[qemu_put_be32]: 69226\n"
        "\n");

    g_ptr_array_add(two, trace_count_new("e1000", "qemu_put_be32", 66222));
    g_ptr_array_add(two, trace_count_new("(none)", "qemu_put_be32", 703));
    g_ptr_array_add(two, trace_count_new("e1000", "qemu_put_be16", 214));
    g_string_truncate(out, 0);
    trace_report_counts(out, "@calls", two, false);
    ASSERT_STR_EQ(out->str,
        "@calls[e1000, qemu_put_be16]: 214\n"
        "@calls[(none), qemu_put_be32]: 703\n"
        "@calls[e1000, qemu_put_be32]: 66222\n"
        "\n");

    g_string_truncate(out, 0);
    trace_report_counts(out, "@calls", one, true);
    trace_report_counts(out, "@calls", two, true);
    ASSERT_STR_EQ(out->str,
        "{\"type\":\"map\",\"data\":{\"@calls\":{\"qemu_get_byte\":1099,\"qemu_put_byte\":1099,"
        "\"qemu_put_be32\":69226}}}\n"
        "{\"type\":\"map\",\"data\":{\"@calls\":{\"e1000\":{\"qemu_put_be16\":214,"
        "\"qemu_put_be32\":66222},\"(none)\":{\"qemu_put_be32\":703}}}}\n");

    /* Values past 2^63 stay exact. */
    g_autoptr(GPtrArray) big = counts_new();
    g_ptr_array_add(big, trace_count_new("x", NULL, UINT64_MAX));
    g_string_truncate(out, 0);
    trace_report_counts(out, "@bytes", big, true);
    ASSERT_STR_EQ(out->str,
                  "{\"type\":\"map\",\"data\":{\"@bytes\":{\"x\":18446744073709551615}}}\n");
}

static void test_empty(void)
{
    g_autoptr(GPtrArray) counts = counts_new();
    g_autoptr(GPtrArray) hists = hists_new();
    g_autoptr(GString) out = g_string_new(NULL);

    trace_report_counts(out, "@calls", counts, false);
    trace_report_counts(out, "@calls", counts, true);
    trace_report_hists(out, "@usecs", hists, false);
    trace_report_hists(out, "@usecs", hists, true);
    ASSERT_STR_EQ(out->str, "");
}

#define T0 1000000000ull

static struct vtrace_event make_event(unsigned kind, unsigned phase, uint64_t value)
{
    struct vtrace_event e;

    memset(&e, 0, sizeof(e));
    e.time_ns = T0 + 1234567890;            /* 1.234567890 s after T0 */
    e.value = value;
    e.pid = 4242;
    e.tid = 4250;
    e.kind = (__u8)kind;
    e.phase = (__u8)phase;
    e.depth = 2;
    strcpy(e.section, "e1000");
    strcpy(e.vmsd, "e1000/full_mac_state");
    return e;
}

static void test_events(void)
{
    g_autoptr(GString) out = g_string_new(NULL);
    struct vtrace_event e = make_event(VTRACE_KIND_PUT, VTRACE_PHASE_CALL, 4);

    trace_report_event(out, &e, "qemu_put_be32", T0, false);
    e.nested = 1;
    e.value = 0;
    trace_report_event(out, &e, "qemu_put_byte", T0, false);
    e = make_event(VTRACE_KIND_SAVE, VTRACE_PHASE_ENTRY, 0);
    trace_report_event(out, &e, "vmstate_save_state_v", T0, false);
    e = make_event(VTRACE_KIND_SAVE, VTRACE_PHASE_RETURN, 0);
    trace_report_event(out, &e, "vmstate_save_state_v", T0, false);
    e = make_event(VTRACE_KIND_SAVE, VTRACE_PHASE_RETURN, 150123456);
    e.depth = 1;
    trace_report_event(out, &e, "vmstate_save_state", T0, false);
    e = make_event(VTRACE_KIND_VISIT, VTRACE_PHASE_CALL, 0);
    strcpy(e.section, "(none)");
    strcpy(e.vmsd, "(none)");
    e.depth = 0;
    trace_report_event(out, &e, "visit_type_int", T0, false);
    ASSERT_STR_EQ(out->str,
        "1.234567 pid=4242 tid=4250 qemu_put_be32 section=e1000 vmsd=e1000/full_mac_state bytes=4\n"
        "1.234567 pid=4242 tid=4250 qemu_put_byte section=e1000 vmsd=e1000/full_mac_state bytes=0 nested\n"
        "1.234567 pid=4242 tid=4250 vmstate_save_state_v enter section=e1000 vmsd=e1000/full_mac_state depth=2\n"
        "1.234567 pid=4242 tid=4250 vmstate_save_state_v return section=e1000 vmsd=e1000/full_mac_state depth=2\n"
        "1.234567 pid=4242 tid=4250 vmstate_save_state return section=e1000 vmsd=e1000/full_mac_state depth=1 usecs=150123\n"
        "1.234567 pid=4242 tid=4250 visit_type_int section=(none) vmsd=(none)\n");

    g_string_truncate(out, 0);
    e = make_event(VTRACE_KIND_GET, VTRACE_PHASE_CALL, 512);
    trace_report_event(out, &e, "qemu_get_buffer", T0, true);
    e = make_event(VTRACE_KIND_LOAD, VTRACE_PHASE_RETURN, 2000);
    e.depth = 1;
    trace_report_event(out, &e, "vmstate_load_state", T0, true);
    ASSERT_STR_EQ(out->str,
        "{\"type\":\"event\",\"data\":{\"time_ns\":1234567890,\"pid\":4242,\"tid\":4250,"
        "\"func\":\"qemu_get_buffer\",\"kind\":\"get\",\"phase\":\"call\",\"section\":\"e1000\","
        "\"vmsd\":\"e1000/full_mac_state\",\"depth\":2,\"bytes\":512,\"nested\":false}}\n"
        "{\"type\":\"event\",\"data\":{\"time_ns\":1234567890,\"pid\":4242,\"tid\":4250,"
        "\"func\":\"vmstate_load_state\",\"kind\":\"load\",\"phase\":\"return\",\"section\":\"e1000\","
        "\"vmsd\":\"e1000/full_mac_state\",\"depth\":1,\"duration_ns\":2000}}\n");
}

/* A name that fills its whole array has no NUL: it is cut, not overrun. */
static void test_event_long_name(void)
{
    g_autoptr(GString) out = g_string_new(NULL);
    struct vtrace_event e = make_event(VTRACE_KIND_VISIT, VTRACE_PHASE_CALL, 0);
    char want[VTRACE_NAME_LEN + 1];

    memset(e.section, 'x', sizeof(e.section));
    memset(want, 'x', VTRACE_NAME_LEN);
    want[VTRACE_NAME_LEN] = '\0';
    trace_report_event(out, &e, "visit_start_struct", e.time_ns, false);
    g_autofree char *expected = g_strdup_printf(
        "0.000000 pid=4242 tid=4250 visit_start_struct section=%s vmsd=e1000/full_mac_state\n", want);
    ASSERT_STR_EQ(out->str, expected);
}

static void test_stats(void)
{
    g_autoptr(GString) out = g_string_new(NULL);
    uint64_t stats[VTRACE_STAT_MAX] = { 0 };

    trace_report_stats(out, stats, false);
    ASSERT_STR_EQ(out->str, "dropped events: 0\n");
    stats[VTRACE_STAT_DROPPED_EVENTS] = 7;
    stats[VTRACE_STAT_THREADS_FULL] = 2;
    g_string_truncate(out, 0);
    trace_report_stats(out, stats, false);
    ASSERT_STR_EQ(out->str,
        "dropped events: 7\n"
        "calls on untracked threads (too many threads): 2\n");
    g_string_truncate(out, 0);
    trace_report_stats(out, stats, true);
    ASSERT_STR_EQ(out->str,
        "{\"type\":\"stats\",\"data\":{\"dropped_events\":7,\"map_full\":0,"
        "\"threads_full\":2,\"depth_overflow\":0,\"read_errors\":0}}\n");
}

static const CuTest report_tests[] = {
    { "hist slots", test_slots },
    { "hist like bpftrace", test_hist_like_bpftrace },
    { "hist labels", test_hist_labels },
    { "hists sorted by total, JSON", test_hists_sorted_by_total },
    { "counts text and JSON", test_counts },
    { "empty maps print nothing", test_empty },
    { "events text and JSON", test_events },
    { "loss counters", test_stats },
    { "event with a name without NUL", test_event_long_name },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "trace-report", report_tests },
    { NULL, NULL },
};

CUTEST_MAIN(suites)

/*
 * Unit tests for the agent's snapshots (agent/snapshot.c) and device paths
 * (agent/commands.c): descriptions rebuilt from published text, exact
 * states and texts, consistency against a writer thread, a device replaced
 * under a stale description, and the exact paths of state differences.
 * Real segments in a temporary directory.
 */
#include "config.h"

#include <stddef.h>
#include <glib/gstdio.h>

#include "cutest.h"
#include "agent/commands.h"
#include "agent/snapshot.h"
#include "bridge/qmp-json.h"
#include "tests/integration/testdev.h"
#include "vmscope/error.h"
#include "vmscope/shm-segment.h"

static QObject *json(const char *text)
{
    QObject *v = NULL;
    g_autoptr(GError) err = NULL;
    if (!qobject_from_json(text, strlen(text), &v, &err)) {
        fprintf(stderr, "bad test JSON: %s\n", err->message);
    }
    return v;
}

/* ---- differences -------------------------------------------------------------- */

static char *diff_text(const char *a, const char *b)
{
    g_autoptr(QObject) qa = json(a);
    g_autoptr(QObject) qb = json(b);
    g_autoptr(GPtrArray) paths = agent_state_diff(qa, qb);
    g_autoptr(GString) out = g_string_new(NULL);
    for (guint i = 0; i < paths->len; i++) {
        g_string_append_printf(out, "%s%s", i ? " " : "", (char *)g_ptr_array_index(paths, i));
    }
    return g_strdup(out->str);
}

#define ASSERT_DIFF(a, b, expected)                                             \
    do {                                                                        \
        g_autofree char *d_ = diff_text((a), (b));                              \
        ASSERT_STR_EQ(d_, (expected));                                          \
    } while (0)

static void test_diff(void)
{
    ASSERT_DIFF("{\"a\": 1, \"b\": 2}", "{\"a\": 1, \"b\": 2}", "");
    ASSERT_DIFF("{\"a\": 1, \"b\": 2}", "{\"a\": 1, \"b\": 3}", "b");
    ASSERT_DIFF("{\"a\": 1, \"b\": 2}", "{\"a\": 0, \"b\": 3}", "a b");
    /* uint64 exact: 2^64-1 and 2^64-2 differ. */
    ASSERT_DIFF("{\"x\": 18446744073709551615}", "{\"x\": 18446744073709551614}", "x");
    ASSERT_DIFF("{\"x\": 18446744073709551615}", "{\"x\": 18446744073709551615}", "");
    /* Nested structs, subsections, lists of scalars and of structs. */
    ASSERT_DIFF("{\"fifo\": {\"num\": 2, \"data\": [1, 2]}}",
                "{\"fifo\": {\"num\": 2, \"data\": [1, 3]}}", "fifo.data[1]");
    ASSERT_DIFF("{\"serial/recv_fifo\": {\"recv_fifo\": {\"num\": 1}}}",
                "{\"serial/recv_fifo\": {\"recv_fifo\": {\"num\": 2}}}",
                "serial/recv_fifo.recv_fifo.num");
    ASSERT_DIFF("{\"sockets\": [{\"rx\": 1}, {\"rx\": 2}, {\"rx\": 3}, {\"rx\": 4}]}",
                "{\"sockets\": [{\"rx\": 1}, {\"rx\": 2}, {\"rx\": 3}, {\"rx\": 5}]}",
                "sockets[3].rx");
    /* Lists growing and shrinking: the elements that came or went. */
    ASSERT_DIFF("{\"n\": 1, \"l\": [{\"a\": 1}]}", "{\"n\": 3, \"l\": [{\"a\": 1}, {\"a\": 2}, {\"a\": 3}]}",
                "n l[1] l[2]");
    ASSERT_DIFF("{\"l\": [1, 2, 3]}", "{\"l\": []}", "l[0] l[1] l[2]");
    /* Members that appear or disappear (a subsection sent or not), in walk order, gone last. */
    ASSERT_DIFF("{\"a\": 1, \"s/x\": {\"v\": 1}}", "{\"a\": 2, \"s/y\": {\"v\": 1}}", "a s/y s/x");
    /* Buffers are strings: the whole buffer. */
    ASSERT_DIFF("{\"mac\": \"525400123456\"}", "{\"mac\": \"525400123457\"}", "mac");
    /* A type that changed, and booleans. */
    ASSERT_DIFF("{\"a\": [1], \"b\": true}", "{\"a\": {\"x\": 1}, \"b\": false}", "a b");
}

/* ---- device paths ---------------------------------------------------------------- */

static void test_paths(void)
{
    static const struct {
        const char *path, *host, *id, *error;
    } cases[] = {
        { "/h1/serial0", "h1", "serial0", NULL },
        { "/a.b-c_d/x:y@z", "a.b-c_d", "x:y@z", NULL },
        { "h1/serial0", NULL, NULL, "Invalid device path 'h1/serial0': expected /HOST/ID" },
        { "/h1", NULL, NULL, "Invalid device path '/h1': expected /HOST/ID" },
        { "/", NULL, NULL, "Invalid device path '/': expected /HOST/ID" },
        { "", NULL, NULL, "Invalid device path '': expected /HOST/ID" },
        { "//x", NULL, NULL, "Invalid device path '//x': expected /HOST/ID" },
        { "/h1/", NULL, NULL, "Invalid device path '/h1/': expected /HOST/ID" },
        { "/h1/a/b", NULL, NULL, "Invalid device path '/h1/a/b': expected /HOST/ID" },
        { "/.h/a", NULL, NULL, "Invalid device path '/.h/a': invalid host name '.h'" },
        { "/h1/a b", NULL, NULL, "Invalid device path '/h1/a b': invalid device id 'a b'" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *host = NULL, *id = NULL;
        GError *err = NULL;
        bool ok = agent_device_path_parse(cases[i].path, &host, &id, &err);
        if (cases[i].error) {
            CU_ASSERT_FALSE(ok);
            ASSERT_ERROR(err, cases[i].error);
        } else {
            CU_ASSERT_TRUE(ok);
            ASSERT_NO_ERROR(err);
            ASSERT_STR_EQ(host, cases[i].host);
            ASSERT_STR_EQ(id, cases[i].id);
        }
    }
}

/* ---- snapshots of a real segment ------------------------------------------------------ */

typedef struct Seg {
    char *dir;
    ShmWriter *w;
    ShmDevice *dev;
    ShmReader *r;
} Seg;

static void seg_setup(Seg *s)
{
    GError *err = NULL;
    s->dir = g_dir_make_tmp("vmscope-agent-unit-XXXXXX", &err);
    ASSERT_NO_ERROR(err);
    s->w = shm_writer_create(s->dir, "u", 1 << 20, 8, &err);
    ASSERT_NO_ERROR(err);
    g_autoptr(QObject) desc = vmstate_describe(&testdev_vmsd);
    g_autofree char *text = qobject_to_json(desc, false);
    s->dev = shm_writer_add_device(s->w, "t1", "testdev", 0, 2, text, sizeof(TestDev), &err);
    ASSERT_NO_ERROR(err);
    TestDev *st = shm_device_state(s->dev);
    shm_device_begin_update(s->dev);
    testdev_init(st);
    st->items = shm_heap_alloc(s->w, TESTDEV_MAX_ITEMS * sizeof(TestItem), &err);
    TestItem *it = shm_writer_ptr(s->w, st->items);
    for (uint32_t k = 0; k < 2; k++) {
        testdev_item_init(&it[k], k);
    }
    st->n_items = 2;
    shm_device_end_update(s->dev);
    ASSERT_NO_ERROR(err);
    s->r = shm_reader_open(s->dir, "u", &err);
    ASSERT_NO_ERROR(err);
}

static void seg_teardown(Seg *s)
{
    shm_reader_close(s->r);
    shm_writer_destroy(s->w);
    CU_ASSERT_EQUAL(g_rmdir(s->dir), 0);
    g_free(s->dir);
}

static AgentDesc *seg_desc(Seg *s)
{
    GError *err = NULL;
    g_autofree char *text = NULL;
    CU_ASSERT_TRUE(shm_reader_description(s->r, "t1", &text, &err));
    ASSERT_NO_ERROR(err);
    g_autoptr(GArray) list = shm_reader_list(s->r, &err);
    ASSERT_NO_ERROR(err);
    AgentDesc *d = agent_desc_new(NULL, text, &g_array_index(list, ShmDeviceInfo, 0), &err);
    ASSERT_NO_ERROR(err);
    return d;
}

/*
 * Devices of one text share one rebuilt description (ten thousand devices
 * of a few types would otherwise hold ten thousand); another state size is
 * another description; the cache may go first.
 */
static void test_desc_cache(void)
{
    Seg s;
    seg_setup(&s);
    GError *err = NULL;
    g_autofree char *text = NULL;
    CU_ASSERT_TRUE(shm_reader_description(s.r, "t1", &text, &err));
    ASSERT_NO_ERROR(err);
    g_autoptr(GArray) list = shm_reader_list(s.r, &err);
    ASSERT_NO_ERROR(err);
    ShmDeviceInfo info = g_array_index(list, ShmDeviceInfo, 0);
    AgentDescCache *cache = agent_desc_cache_new();
    g_autoptr(AgentDesc) a = agent_desc_new(cache, text, &info, &err);
    g_autoptr(AgentDesc) b = agent_desc_new(cache, text, &info, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_TRUE_FATAL(a && b);
    CU_ASSERT_PTR_EQUAL(a->vmsd, b->vmsd);
    CU_ASSERT_EQUAL(agent_desc_cache_size(cache), 1);
    ShmDeviceInfo bigger = info;
    bigger.state_size += 64;
    AgentDesc *c = agent_desc_new(cache, text, &bigger, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_PTR_NOT_EQUAL(c->vmsd, a->vmsd);
    CU_ASSERT_EQUAL(agent_desc_cache_size(cache), 2);
    agent_desc_free(c);
    CU_ASSERT_EQUAL(agent_desc_cache_size(cache), 1);
    /* A walk through a shared description is the walk of its own. */
    AgentSnapshot snap;
    CU_ASSERT_TRUE(agent_snapshot_take(s.r, "t1", b, AGENT_SNAPSHOT_STATE, NULL, &snap, &err));
    ASSERT_NO_ERROR(err);
    agent_snapshot_clear(&snap);
    agent_desc_cache_free(cache);       /* before a and b: they keep theirs */
    seg_teardown(&s);
}

static void test_snapshot(void)
{
    Seg s;
    seg_setup(&s);
    g_autoptr(AgentDesc) desc = seg_desc(&s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(desc);
    g_autoptr(QObject) expect_desc = vmstate_describe(&testdev_vmsd);
    g_autoptr(QObject) got_desc = vmstate_describe(desc->vmsd);
    CU_ASSERT_TRUE(qobject_equal(got_desc, expect_desc));

    AgentSnapshot snap;
    GError *err = NULL;
    const VmsFormat *pretty = vms_format_lookup("pretty");
    CU_ASSERT_TRUE(agent_snapshot_take(s.r, "t1", desc,
                                       AGENT_SNAPSHOT_STATE | AGENT_SNAPSHOT_RESULT, pretty,
                                       &snap, &err));
    ASSERT_NO_ERROR(err);
    g_autofree char *state = qmp_json_format(snap.state);
    ASSERT_STR_EQ(state, "{\"rx_total\": 0, \"temp\": -5, \"enabled\": true, \"mac\": "
                         "\"525400123456\", \"regs\": [1, 2, 3, 65535], \"fifo\": {\"num\": 2, "
                         "\"data\": [65, 66]}, \"n_items\": 2, \"items\": [{\"id\": 1, "
                         "\"rx_bytes\": 100}, {\"id\": 2, \"rx_bytes\": 200}], \"big\": "
                         "18446744073709551615, \"testdev/extra\": {\"extra\": 7}}");
    g_autofree char *text = g_strndup(g_bytes_get_data(snap.result, NULL),
                                      g_bytes_get_size(snap.result));
    CU_ASSERT_TRUE(g_str_has_prefix(text, "testdev (vmsd testdev, version 2) {\n"
                                          "  rx_total: uint32 = 0 (0x00000000)\n"));
    CU_ASSERT_EQUAL(snap.info.generation, 1);
    ASSERT_STR_EQ(snap.info.id, "t1");
    agent_snapshot_clear(&snap);

    /* Text only. */
    CU_ASSERT_TRUE(agent_snapshot_take(s.r, "t1", desc, AGENT_SNAPSHOT_RESULT, pretty, &snap,
                                       &err));
    CU_ASSERT_PTR_NULL(snap.state);
    CU_ASSERT_PTR_NOT_NULL(snap.result);
    agent_snapshot_clear(&snap);

    /* A state the description cannot walk: the error names the field. */
    TestDev *st = shm_device_state(s.dev);
    shm_device_begin_update(s.dev);
    st->fifo.num = 9;
    shm_device_end_update(s.dev);
    CU_ASSERT_FALSE(agent_snapshot_take(s.r, "t1", desc, AGENT_SNAPSHOT_STATE, NULL, &snap, &err));
    ASSERT_ERROR(err, "vmscope-u: device 't1': testdev.fifo.data: array length 9 exceeds the "
                      "maximum 8");
    CU_ASSERT_PTR_NULL(snap.state);

    /* The device replaced by another of the same id: the description is stale. */
    shm_writer_remove_device(s.w, s.dev);
    s.dev = shm_writer_add_device(s.w, "t1", "testdev", 0, 2, "{}", sizeof(TestDev), &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_FALSE(agent_snapshot_take(s.r, "t1", desc, AGENT_SNAPSHOT_STATE, NULL, &snap, &err));
    CU_ASSERT_TRUE(g_error_matches(err, VMS_ERROR, AGENT_SNAPSHOT_STALE));
    ASSERT_ERROR(err, "vmscope-u: device 't1': replaced since its description was read");
    seg_teardown(&s);
}

static void test_desc_errors(void)
{
    ShmDeviceInfo info = { .state_size = 8 };
    static const struct {
        const char *text, *error;
    } cases[] = {
        { "{", "description: JSON parse error at offset 1: unexpected end of input" },
        { "[]", "description: expected object, got list" },
        { "{\"name\": \"x\", \"version\": 1, \"minimum_version\": 1, \"fields\": "
          "[{\"name\": \"a\", \"type\": \"uint64\", \"offset\": 4, \"size\": 8}]}",
          "x.a: offset 4 + size 8 exceeds the state size 8" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        GError *err = NULL;
        CU_ASSERT_PTR_NULL(agent_desc_new(NULL, cases[i].text, &info, &err));
        ASSERT_ERROR(err, cases[i].error);
    }
}

/* A writer keeps rx_total, extra and every item's rx_bytes equal; so must every snapshot. */
typedef struct Race {
    Seg *s;
    gint stop;
    uint64_t updates;
} Race;

static gpointer race_writer(gpointer data)
{
    Race *race = data;
    TestDev *st = shm_device_state(race->s->dev);
    TestItem *it = shm_writer_ptr(race->s->w, st->items);
    for (uint32_t v = 1; !g_atomic_int_get(&race->stop); v++) {
        shm_device_begin_update(race->s->dev);
        st->rx_total = v;
        st->n_items = 1 + v % TESTDEV_MAX_ITEMS;
        for (uint32_t k = 0; k < st->n_items; k++) {
            it[k].rx_bytes = v;
        }
        st->extra = v;
        shm_device_end_update(race->s->dev);
        race->updates++;
        /*
         * Some tens of thousands of updates a second.  A writer that never
         * pauses can starve a seqlock reader (docs/shm.md), and a walk into
         * QObjects takes longer than a copy.
         */
        g_usleep(20);
    }
    return NULL;
}

static void test_consistent(void)
{
    Seg s;
    seg_setup(&s);
    g_autoptr(AgentDesc) desc = seg_desc(&s);
    Race race = { .s = &s };
    GThread *t = g_thread_new("writer", race_writer, &race);
    int bad = 0, starved = 0;
    for (int i = 0; i < 3000; i++) {
        AgentSnapshot snap;
        GError *err = NULL;
        if (!agent_snapshot_take(s.r, "t1", desc, AGENT_SNAPSHOT_STATE, NULL, &snap, &err)) {
            /*
             * A reader that the scheduler keeps preempting mid-copy (a loaded
             * 2-core machine) may run out of retries: that is the documented
             * refusal, not an inconsistent answer.  Anything else is a failure.
             */
            bool gave_up = strstr(err->message, "state kept changing") != NULL;
            if (!gave_up) {
                fprintf(stderr, "snapshot: %s\n", err->message);
            }
            starved += gave_up;
            bad += !gave_up;
            g_error_free(err);
            continue;
        }
        int64_t rx = -1, extra = -2, n = 0;
        qnum_get_int(qdict_get(snap.state, "rx_total"), &rx);
        qnum_get_int(qdict_get(qdict_get(snap.state, "testdev/extra"), "extra"), &extra);
        qnum_get_int(qdict_get(snap.state, "n_items"), &n);
        QObject *items = qdict_get(snap.state, "items");
        /* Generation 1 is the state before the writer started. */
        bool ok = snap.info.generation == 1 ||
                  (rx == extra && (size_t)n == qlist_size(items) &&
                   snap.info.generation == (uint64_t)rx + 1);
        for (size_t k = 0; ok && k < qlist_size(items); k++) {
            int64_t v = -3;
            qnum_get_int(qdict_get(qlist_get(items, k), "rx_bytes"), &v);
            ok = v == rx || snap.info.generation == 1;
        }
        if (!ok && !bad) {
            g_autofree char *text = qmp_json_format(snap.state);
            fprintf(stderr, "inconsistent at generation %" G_GUINT64_FORMAT ": %s\n",
                    snap.info.generation, text);
        }
        bad += !ok;
        agent_snapshot_clear(&snap);
    }
    g_atomic_int_set(&race.stop, 1);
    g_thread_join(t);
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_TRUE(starved < 300);      /* at least 90% of the snapshots answered */
    CU_ASSERT_TRUE(race.updates > 0);
    seg_teardown(&s);
}

static const CuTest diff_tests[] = {
    { "state differences", test_diff },
    { "device paths", test_paths },
    { NULL, NULL },
};

static const CuTest snapshot_tests[] = {
    { "snapshot of a live segment", test_snapshot },
    { "description errors", test_desc_errors },
    { "descriptions shared by text", test_desc_cache },
    { "consistent against a writer", test_consistent },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "agent diff and paths", diff_tests },
    { "agent snapshots", snapshot_tests },
    { NULL, NULL },
};

CUTEST_MAIN(suites)

/*
 * agent/registry.c on its own: errors that no request hears (the segment
 * directory cannot be listed) reach the error function once per error, not
 * at every poll; with many hosts, when the poll is cut in slices, every
 * host is still found and every host's changes reported.
 */
#include "config.h"

#include <glib/gstdio.h>

#include "agent/registry.h"
#include "cutest.h"
#include "tests/bench/bench-hosts.h"

static void collect_error(const GError *err, void *opaque)
{
    g_ptr_array_add(opaque, g_strdup(err->message));
}

static void test_list_error(void)
{
    g_autofree char *dir = g_dir_make_tmp("vmscope-test-registry-XXXXXX", NULL);
    g_autofree char *gone = g_build_filename(dir, "gone", NULL);
    g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(AgentRegistry) reg = agent_registry_new(gone, NULL, NULL);
    agent_registry_set_error_func(reg, collect_error, errors);

    agent_registry_poll(reg);
    agent_registry_poll(reg);                  /* the same error: told once */
    CU_ASSERT_EQUAL_FATAL(errors->len, 1);
    g_autofree char *want = g_strdup_printf("cannot open directory %s: No such file or directory",
                                            gone);
    ASSERT_STR_EQ(g_ptr_array_index(errors, 0), want);

    /* It comes back: nothing to tell; it goes again: told again. */
    CU_ASSERT_EQUAL(g_mkdir(gone, 0700), 0);
    agent_registry_poll(reg);
    CU_ASSERT_EQUAL(errors->len, 1);
    CU_ASSERT_EQUAL(g_rmdir(gone), 0);
    agent_registry_poll(reg);
    CU_ASSERT_EQUAL(errors->len, 2);
    g_rmdir(dir);
}

typedef struct Seen {
    GHashTable *added;      /* paths of DEVICE_ADDED */
    GHashTable *changed;    /* paths of DEVICE_STATE_CHANGED */
} Seen;

static void collect_event(const char *name, QObject *data, void *opaque)
{
    Seen *seen = opaque;
    const char *path = qdict_get_str(data, "path");
    if (path && strcmp(name, "DEVICE_ADDED") == 0) {
        g_hash_table_add(seen->added, g_strdup(path));
    } else if (path && strcmp(name, "DEVICE_STATE_CHANGED") == 0) {
        g_hash_table_add(seen->changed, g_strdup(path));
    }
    qobject_unref(data);
}

/* Run ctx until table holds n paths or 10 s passed. */
static void run_until(GMainContext *ctx, GHashTable *table, guint n)
{
    gint64 deadline = g_get_monotonic_time() + 10 * G_TIME_SPAN_SECOND;
    while (g_hash_table_size(table) < n && g_get_monotonic_time() < deadline) {
        g_main_context_iteration(ctx, TRUE);
    }
}

#define MANY_HOSTS (3 * AGENT_POLL_HOSTS_PER_SLICE + 5)

static void test_many_hosts(void)
{
    g_autofree char *dir = g_dir_make_tmp("vmscope-test-registry-XXXXXX", NULL);
    g_autoptr(GMainContext) ctx = g_main_context_new();
    Seen seen = { g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
                  g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL) };
    BenchHost *hosts[MANY_HOSTS];
    for (int i = 0; i < MANY_HOSTS; i++) {
        g_autofree char *name = g_strdup_printf("h%02d", i);
        hosts[i] = bench_host_new(dir, name, 2, 1u << 20);
    }
    g_autoptr(AgentRegistry) reg = agent_registry_new(dir, collect_event, &seen);
    agent_registry_attach(reg, ctx);

    run_until(ctx, seen.added, 2 * MANY_HOSTS);
    CU_ASSERT_EQUAL(g_hash_table_size(seen.added), 2 * MANY_HOSTS);

    /* Let the agent take its references, then change device 0 everywhere. */
    gint64 until = g_get_monotonic_time() + (AGENT_POLL_MS + AGENT_CHANGE_MIN_MS) * 2000;
    while (g_get_monotonic_time() < until) {
        g_main_context_iteration(ctx, FALSE);
        g_usleep(1000);
    }
    CU_ASSERT_EQUAL(g_hash_table_size(seen.changed), 0);
    for (int i = 0; i < MANY_HOSTS; i++) {
        bench_host_tick_one(hosts[i], 0, 1000);
    }
    run_until(ctx, seen.changed, MANY_HOSTS);
    CU_ASSERT_EQUAL(g_hash_table_size(seen.changed), MANY_HOSTS);
    for (int i = 0; i < MANY_HOSTS; i++) {
        g_autofree char *path = g_strdup_printf("/h%02d/%s-0", i, device_types[0]->name);
        CU_ASSERT_TRUE(g_hash_table_contains(seen.changed, path));
    }

    g_clear_pointer(&reg, agent_registry_free);
    for (int i = 0; i < MANY_HOSTS; i++) {
        bench_host_free(hosts[i]);
    }
    g_hash_table_unref(seen.added);
    g_hash_table_unref(seen.changed);
    g_rmdir(dir);
}

static const CuTest registry_tests[] = {
    { "a directory that cannot be listed", test_list_error },
    { "many hosts: every one found, every one's changes told", test_many_hosts },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "agent registry", registry_tests },
    { NULL, NULL },
};

CUTEST_MAIN(suites)

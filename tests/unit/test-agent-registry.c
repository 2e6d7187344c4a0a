/*
 * agent/registry.c on its own: errors that no request hears (the segment
 * directory cannot be listed) reach the error function once per error, not
 * at every poll.
 */
#include "config.h"

#include <glib/gstdio.h>

#include "agent/registry.h"
#include "cutest.h"

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

static const CuTest registry_tests[] = {
    { "a directory that cannot be listed", test_list_error },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "agent registry", registry_tests },
    { NULL, NULL },
};

CUTEST_MAIN(suites)

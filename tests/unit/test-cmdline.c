/*
 * Unit tests for lib/core/cmdline.c: getopt's spellings through GOption,
 * the words for unknown options and missing values, arguments in order.
 */
#include "config.h"

#include <stdbool.h>

#include "cutest.h"
#include "vmscope/cmdline.h"
#include "vmscope/error.h"

static char *format, *duration;
static char **sets;
static gboolean events, json;
static int count;

static const GOptionEntry entries[] = {
    { "format", 0, 0, G_OPTION_ARG_STRING, &format, NULL, "json or pretty" },
    { "set", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &sets, NULL, NULL },
    { "duration", 'd', 0, G_OPTION_ARG_STRING, &duration, NULL, NULL },
    { "events", 'e', 0, G_OPTION_ARG_NONE, &events, NULL, NULL },
    { "json", 'j', 0, G_OPTION_ARG_NONE, &json, NULL, NULL },
    { "count", 'c', 0, G_OPTION_ARG_INT, &count, NULL, NULL },
    { NULL },
};

static void reset(void)
{
    g_clear_pointer(&format, g_free);
    g_clear_pointer(&duration, g_free);
    g_clear_pointer(&sets, g_strfreev);
    events = json = FALSE;
}

/* Parse a space-separated command line; the arguments joined by '|', or "ERROR: message". */
static char *parse(const char *line)
{
    reset();
    g_auto(GStrv) argv = g_strsplit(line, " ", -1);
    g_autoptr(GError) err = NULL;
    g_auto(GStrv) args = cmdline_parse(entries, (int)g_strv_length(argv) - 1, argv + 1, &err);
    if (!args) {
        return g_strdup_printf("ERROR %d: %s", err->code, err->message);
    }
    return g_strjoinv("|", args);
}

static void test_spellings(void)
{
    g_autofree char *a = parse("prog FILE --format pretty x -ejd5 --set=a=1 --set b=-2");
    ASSERT_STR_EQ(a, "FILE|x");
    ASSERT_STR_EQ(format, "pretty");
    ASSERT_STR_EQ(duration, "5");
    CU_ASSERT_TRUE(events && json);
    CU_ASSERT_EQUAL_FATAL(g_strv_length(sets), 2);
    ASSERT_STR_EQ(sets[0], "a=1");
    ASSERT_STR_EQ(sets[1], "b=-2");

    /* A value that looks like options is a value; "--" ends the options. */
    g_autofree char *b = parse("prog -d -15 --format=json -- --events -");
    ASSERT_STR_EQ(b, "--events|-");
    ASSERT_STR_EQ(duration, "-15");
    ASSERT_STR_EQ(format, "json");
    CU_ASSERT_FALSE(events);

    g_autofree char *c = parse("prog");
    ASSERT_STR_EQ(c, "");
    g_autofree char *d = parse("prog --format= -");
    ASSERT_STR_EQ(d, "-");
    ASSERT_STR_EQ(format, "");
}

static void test_mistakes(void)
{
    static const struct {
        const char *line;
        int code;
        const char *message;
    } cases[] = {
        { "prog --frob", VMS_ERROR_INVALID, "unknown option '--frob'" },
        { "prog FILE -ex", VMS_ERROR_INVALID, "unknown option '-x'" },
        { "prog --help", VMS_ERROR_INVALID, "unknown option '--help'" },
        { "prog --frob=1 FILE", VMS_ERROR_INVALID, "unknown option '--frob=1'" },
        { "prog FILE --format", VMS_ERROR_MISSING,
          "option '--format' needs a value (json or pretty)" },
        { "prog -d", VMS_ERROR_MISSING, "option '-d' needs an argument" },
        { "prog -ejd", VMS_ERROR_MISSING, "option '-d' needs an argument" },
        { "prog --duration", VMS_ERROR_MISSING, "option '--duration' needs an argument" },
        { "prog --set", VMS_ERROR_MISSING, "option '--set' needs an argument" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *got = parse(cases[i].line);
        g_autofree char *want = g_strdup_printf("ERROR %d: %s", cases[i].code, cases[i].message);
        ASSERT_STR_EQ(got, want);
    }
    /* GOption's own errors pass through. */
    g_autofree char *e = parse("prog -c x");
    CU_ASSERT_TRUE(g_str_has_prefix(e, "ERROR ") && strstr(e, "-c"));
    reset();
}

static void test_group(void)
{
    g_autoptr(GError) err = NULL;
    gid_t gid = 1;
    CU_ASSERT_TRUE(cmdline_group("--group", "4242", &gid, &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(gid, 4242);
    CU_ASSERT_TRUE(cmdline_group("--group", "root", &gid, &err));   /* Debian's group 0 */
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(gid, 0);
    static const char *const bad[] = { "no-such-group-here", "12x", "", "99999999999999" };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        CU_ASSERT_FALSE(cmdline_group("--group", bad[i], &gid, &err));
        CU_ASSERT_TRUE(g_error_matches(err, VMS_ERROR, VMS_ERROR_NOT_FOUND));
        g_autofree char *want = g_strdup_printf("--group '%s': no such group", bad[i]);
        ASSERT_ERROR(err, want);
    }
}

static const CuTest cmdline_tests[] = {
    { "spellings", test_spellings },
    { "mistakes", test_mistakes },
    { "group names", test_group },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "cmdline", cmdline_tests },
    { NULL, NULL },
};

CUTEST_MAIN(suites)

/*
 * Small helpers shared by the CUnit test programs.
 *
 * A test program defines `static const CuSuite suites[]` (NULL-terminated)
 * and uses CUTEST_MAIN(suites).  Every program runs all of its suites with
 * CUnit's basic runner in verbose mode and exits non-zero if any assertion
 * failed, so automake's harness and CUnit agree on the result.
 */
#ifndef VMSCOPE_CUTEST_H
#define VMSCOPE_CUTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <CUnit/Basic.h>
#include <glib.h>

typedef struct CuTest {
    const char *name;
    void (*fn)(void);
} CuTest;

typedef struct CuSuite {
    const char *name;
    const CuTest *tests;   /* terminated by { NULL, NULL } */
} CuSuite;

/* String equality that shows both strings when it fails. */
#define ASSERT_STR_EQ(actual, expected)                                         \
    do {                                                                        \
        const char *a_ = (actual), *e_ = (expected);                            \
        bool eq_ = a_ && e_ && strcmp(a_, e_) == 0;                             \
        if (!eq_) {                                                             \
            fprintf(stderr, "\n%s:%d: strings differ\n  actual:   %s\n"         \
                    "  expected: %s\n", __FILE__, __LINE__,                     \
                    a_ ? a_ : "(null)", e_ ? e_ : "(null)");                    \
        }                                                                       \
        CU_ASSERT_TRUE(eq_);                                                    \
    } while (0)

/* A GError that must be set, with exactly this message; frees it. */
#define ASSERT_ERROR(err, expected_msg)                                         \
    do {                                                                        \
        CU_ASSERT_PTR_NOT_NULL_FATAL(err);                                      \
        ASSERT_STR_EQ((err)->message, (expected_msg));                          \
        g_clear_error(&(err));                                                  \
    } while (0)

/* A GError that must not be set (prints it if it is). */
#define ASSERT_NO_ERROR(err)                                                    \
    do {                                                                        \
        if (err) {                                                              \
            fprintf(stderr, "\n%s:%d: unexpected error: %s\n", __FILE__,        \
                    __LINE__, (err)->message);                                  \
        }                                                                       \
        CU_ASSERT_PTR_NULL_FATAL(err);                                          \
    } while (0)

static inline int cutest_run(const CuSuite *suites)
{
    if (CU_initialize_registry() != CUE_SUCCESS) {
        return 2;
    }
    for (const CuSuite *s = suites; s->name; s++) {
        CU_pSuite suite = CU_add_suite(s->name, NULL, NULL);
        for (const CuTest *t = s->tests; t->name; t++) {
            CU_add_test(suite, t->name, t->fn);
        }
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_tests_failed();
    unsigned failures = CU_get_number_of_failures();
    CU_cleanup_registry();
    printf("\n");
    return failed || failures ? 1 : 0;
}

/*
 * For the tests of file modes and groups: a group this process may give its
 * files to, other than its own where it can (root: any; others: one of
 * their supplementary groups, else their own).
 */
static inline gid_t cutest_other_group(void)
{
    if (geteuid() == 0) {
        return 4242;
    }
    gid_t groups[64];
    int n = getgroups(64, groups);
    for (int i = 0; i < n; i++) {
        if (groups[i] != getegid()) {
            return groups[i];
        }
    }
    return getegid();
}

/* A file's permission bits and group, as "0640 4242" (g_free it), or NULL. */
static inline char *cutest_file_access(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        return NULL;
    }
    return g_strdup_printf("%04o %u", (unsigned)(st.st_mode & 07777), (unsigned)st.st_gid);
}

#define CUTEST_MAIN(suites)                                                     \
    int main(void) { return cutest_run(suites); }

#endif

/*
 * Assertions shared by the tests of lib/qemu-stream (test-qemu-stream on
 * hand-made streams, test-stream-fixtures on QEMU's): parse errors with
 * descriptions given, and the exact warnings or `check` findings of a stream.
 */
#ifndef VMSCOPE_TESTS_QEMU_STREAM_TEST_H
#define VMSCOPE_TESTS_QEMU_STREAM_TEST_H

#include "cutest.h"
#include "vmscope/qemu-stream.h"

/* Located errors (warnings, findings) as one string, a message a line. */
static inline char *error_lines(GPtrArray *errors)
{
    GString *out = g_string_new(NULL);
    for (guint i = 0; i < errors->len; i++) {
        g_string_append_printf(out, "%s\n", ((const GError *)g_ptr_array_index(errors, i))->message);
    }
    return g_string_free(out, FALSE);
}

/* The warnings of a stream, a message a line. */
static inline char *warning_lines(const QemuStream *s)
{
    g_autoptr(GPtrArray) warnings = g_ptr_array_new();
    for (size_t i = 0; i < qemu_stream_n_warnings(s); i++) {
        g_ptr_array_add(warnings, (gpointer)qemu_stream_warning(s, i));
    }
    return error_lines(warnings);
}

/* Parsing with descriptions `desc` (NULL: the stream's own) fails with exactly `message`. */
static inline void expect_parse_error_desc(GBytes *data, QObject *desc, const char *message)
{
    QemuStreamOptions opts = { .desc = desc };
    GError *err = NULL;
    g_autoptr(QemuStream) s = qemu_stream_parse_with(data, &opts, &err);
    CU_ASSERT_PTR_NULL(s);
    ASSERT_ERROR(err, message);
}

/* `check` reads the stream and finds exactly `expected` (a message a line). */
static inline void expect_findings(GBytes *data, QObject *desc, const char *expected)
{
    QemuStreamOptions opts = { .desc = desc };
    g_autoptr(GPtrArray) findings = NULL;
    GError *err = NULL;
    CU_ASSERT_TRUE_FATAL(qemu_stream_check(data, &opts, &findings, &err));
    ASSERT_NO_ERROR(err);
    g_autofree char *got = error_lines(findings);
    ASSERT_STR_EQ(got, expected);
}

#endif

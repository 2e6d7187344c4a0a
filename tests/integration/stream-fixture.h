/*
 * Helpers for tests and benchmarks that read the QEMU stream fixtures
 * (tests/fixtures/NAME.mig.gz + NAME.facts.json): where they are, and
 * reading them, gunzipped in memory.
 */
#ifndef VMSCOPE_TESTS_STREAM_FIXTURE_H
#define VMSCOPE_TESTS_STREAM_FIXTURE_H

#include <string.h>
#include <gio/gio.h>

#include "vmscope/qobject.h"

#ifndef VMS_FIXTURES_DIR
#define VMS_FIXTURES_DIR "tests/fixtures"
#endif

/* The fixtures directory: $top_srcdir/tests/fixtures, else the built-in one. */
static inline char *fixture_dir_default(void)
{
    const char *top = g_getenv("top_srcdir");
    return top ? g_build_filename(top, "tests", "fixtures", NULL) : g_strdup(VMS_FIXTURES_DIR);
}

static inline int fixture_cmp(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);   /* pointers to elements */
}

/* The fixture names in `dir` ("pc-plain", ...), sorted. */
static inline GPtrArray *fixture_names(const char *dir)
{
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *entry;
    while (d && (entry = g_dir_read_name(d))) {
        if (g_str_has_suffix(entry, ".mig.gz")) {
            g_ptr_array_add(names, g_strndup(entry, strlen(entry) - strlen(".mig.gz")));
        }
    }
    if (d) {
        g_dir_close(d);
    }
    g_ptr_array_sort(names, fixture_cmp);
    return names;
}

/* Gunzip a file into memory; NULL with an error on failure. */
static inline GBytes *fixture_gunzip(const char *path, GError **errp)
{
    gchar *gz;
    gsize gz_len;
    if (!g_file_get_contents(path, &gz, &gz_len, errp)) {
        return NULL;
    }
    GZlibDecompressor *dec = g_zlib_decompressor_new(G_ZLIB_COMPRESSOR_FORMAT_GZIP);
    GInputStream *raw = g_memory_input_stream_new_from_data(gz, (gssize)gz_len, g_free);
    GInputStream *in = g_converter_input_stream_new(raw, G_CONVERTER(dec));
    GOutputStream *out = g_memory_output_stream_new_resizable();
    GBytes *result = NULL;
    if (g_output_stream_splice(out, in, G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE |
                               G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, errp) >= 0) {
        result = g_memory_output_stream_steal_as_bytes(G_MEMORY_OUTPUT_STREAM(out));
    }
    g_object_unref(out);
    g_object_unref(in);
    g_object_unref(raw);
    g_object_unref(dec);
    return result;
}

/* DIR/NAME.mig.gz, gunzipped; aborts the program if unreadable. */
static inline GBytes *fixture_stream(const char *dir, const char *name)
{
    g_autofree char *file = g_strdup_printf("%s.mig.gz", name);
    g_autofree char *path = g_build_filename(dir, file, NULL);
    GError *err = NULL;
    GBytes *b = fixture_gunzip(path, &err);
    if (!b) {
        g_error("%s: %s", path, err->message);
    }
    return b;
}

/* DIR/NAME.facts.json; aborts the program if unreadable. */
static inline QObject *fixture_facts(const char *dir, const char *name)
{
    g_autofree char *file = g_strdup_printf("%s.facts.json", name);
    g_autofree char *path = g_build_filename(dir, file, NULL);
    g_autofree char *text = NULL;
    gsize len;
    GError *err = NULL;
    QObject *facts = NULL;
    if (!g_file_get_contents(path, &text, &len, &err) ||
        !qobject_from_json(text, len, &facts, &err)) {
        g_error("%s: %s", path, err->message);
    }
    return facts;
}

#endif

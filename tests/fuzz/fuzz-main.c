/*
 * main() for a harness outside libFuzzer: run LLVMFuzzerTestOneInput on
 * saved inputs.  `make check` runs every harness this way on its seed
 * corpus and its regression inputs (crashes found by fuzzing, kept), so an
 * input that once broke a decoder is tried in every build:
 *
 *   fuzz-NAME [FILE|DIR]...    the given inputs (a DIR: every file in it)
 *   fuzz-NAME                  tests/fuzz/corpus/NAME and
 *                              tests/fuzz/regressions/NAME under $top_srcdir
 *
 * FUZZ_NAME (the harness's name) comes from the build.
 */
#include "config.h"

#include <string.h>
#include <glib.h>

#include "fuzz.h"

static gint compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static unsigned run_path(const char *path)
{
    if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
        g_autoptr(GDir) d = g_dir_open(path, 0, NULL);
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        const char *name;
        while (d && (name = g_dir_read_name(d)) != NULL) {
            g_ptr_array_add(names, g_build_filename(path, name, NULL));
        }
        g_ptr_array_sort(names, compare_names);
        unsigned n = 0;
        for (guint i = 0; i < names->len; i++) {
            n += run_path(g_ptr_array_index(names, i));
        }
        return n;
    }
    g_autofree char *data = NULL;
    gsize len = 0;
    g_autoptr(GError) err = NULL;
    if (!g_file_get_contents(path, &data, &len, &err)) {
        fprintf(stderr, "%s\n", err->message);
        exit(1);
    }
    /* A copy of exactly len bytes, so that ASan sees reads past the end. */
    uint8_t *copy = g_memdup2(data, len);
    LLVMFuzzerTestOneInput(copy, len);
    g_free(copy);
    return 1;
}

int main(int argc, char **argv)
{
    unsigned n = 0;
    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            n += run_path(argv[i]);
        }
    } else {
        const char *top = g_getenv("top_srcdir");
        g_autofree char *corpus = g_build_filename(top ? top : ".", "tests", "fuzz", "corpus",
                                                   FUZZ_NAME, NULL);
        g_autofree char *regress = g_build_filename(top ? top : ".", "tests", "fuzz",
                                                    "regressions", FUZZ_NAME, NULL);
        if (!g_file_test(corpus, G_FILE_TEST_IS_DIR)) {
            fprintf(stderr, "no seed corpus at %s\n", corpus);
            return 1;
        }
        n += run_path(corpus);
        if (g_file_test(regress, G_FILE_TEST_IS_DIR)) {
            n += run_path(regress);
        }
    }
    printf("fuzz-%s: %u inputs, every invariant held\n", FUZZ_NAME, n);
    return 0;
}

/*
 * The QIDL generator (qidl/qidl, docs/qidl.md) on small annotated files:
 * what it generates is the description one would write by hand with the
 * VMSTATE_* macros (compiled and compared as JSON, every marker used), and
 * each error is one line at FILE:LINE:COLUMN of the field or the marker,
 * with nothing written.
 */
#include "config.h"

#include <stdbool.h>
#include <sys/wait.h>
#include <glib/gstdio.h>

#include "cutest.h"

#if !defined(TEST_CC) || !defined(TEST_INCLUDES) || !defined(TEST_LIBS)
#error "TEST_CC, TEST_INCLUDES and TEST_LIBS must be defined by the build"
#endif

static char *dir;

typedef struct Run {
    int status;          /* exit status, -1 if it did not exit */
    char *out, *err;
} Run;

static void run_clear(Run *r)
{
    g_free(r->out);
    g_free(r->err);
}

static Run run(const char *cmdline)
{
    Run r = { -1, NULL, NULL };
    GError *err = NULL;
    char **argv = NULL;
    g_assert_true(g_shell_parse_argv(cmdline, NULL, &argv, &err));
    int status = -1;
    g_assert_true(g_spawn_sync(dir, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &r.out, &r.err,
                               &status, &err));
    g_strfreev(argv);
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

static const char *qidl_binary(void)
{
    static char *path;
    if (!path) {
        const char *top = g_getenv("top_builddir");
        path = g_build_filename(top ? top : ".", "qidl", "qidl", NULL);
    }
    return path;
}

/* Write NAME in the test folder; returns its name (relative: runs happen there). */
static void write_file(const char *name, const char *text)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_assert_true(g_file_set_contents(path, text, -1, NULL));
}

/* A file of the test folder, read back (NULL if it is not there). */
static char *read_back(const char *name)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    char *text = NULL;
    return g_file_get_contents(path, &text, NULL, NULL) ? text : NULL;
}

static bool exists(const char *name)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    return g_file_test(path, G_FILE_TEST_EXISTS);
}

static Run generate(const char *name, const char *out)
{
    g_autofree char *cmd = g_strdup_printf("%s -o %s %s -- %s", qidl_binary(), out, name,
                                           TEST_INCLUDES);
    return run(cmd);
}

static const char HEAD[] =
    "#include <stdbool.h>\n"
    "#include <stdint.h>\n"
    "#include \"qidl/qidl.h\"\n";

/* The generator fails with exactly `want` (one line) and writes nothing. */
static void expect_error(const char *name, const char *body, const char *want)
{
    g_autofree char *src = g_strconcat(HEAD, body, NULL);
    write_file(name, src);
    g_autofree char *out = g_strconcat(name, ".h", NULL);
    Run r = generate(name, out);
    CU_ASSERT_EQUAL(r.status, 1);
    ASSERT_STR_EQ(r.err, want);
    CU_ASSERT_FALSE(exists(out));
    run_clear(&r);
}

/* ---- errors ------------------------------------------------------------------------ */

static void test_array_without_length(void)
{
    expect_error("flex.c",
                 "QIDL_DECLARE(S, q_name(\"s\")) {\n"
                 "    uint32_t n;\n"
                 "    uint8_t data[];\n"
                 "};\n",
                 "flex.c:6:13: error: S.data: array without a length\n");
}

static void test_pointer_without_size(void)
{
    expect_error("ptr.c",
                 "QIDL_DECLARE(S, q_name(\"s\")) {\n"
                 "    uint32_t n;\n"
                 "    uint16_t *table;\n"
                 "};\n",
                 "ptr.c:6:15: error: S.table: pointer without q_size\n");
}

static void test_pointer_with_size(void)
{
    expect_error("ptr2.c",
                 "QIDL_DECLARE(S, q_name(\"s\")) {\n"
                 "    uint32_t n;\n"
                 "    uint16_t *table q_size(n);\n"
                 "};\n",
                 "ptr2.c:6:15: error: S.table: a pointer cannot be migrated from shared memory: "
                 "use a uint64_t segment offset with q_segptr(TYPE, MAX)\n");
}

static void test_unknown_marker(void)
{
    expect_error("marker.c",
                 "QIDL_DECLARE(S, q_name(\"s\")) {\n"
                 "    uint32_t n QIDL_MARKER(\"frobnicate\");\n"
                 "};\n",
                 "marker.c:5:16: error: unknown marker 'q_frobnicate'\n");
    expect_error("marker2.c",
                 "QIDL_DECLARE(S, q_name(\"s\") QIDL_MARKER(\"shiny\")) {\n"
                 "    uint32_t n;\n"
                 "};\n",
                 "marker2.c:4:29: error: unknown marker 'q_shiny'\n");
    /* A field marker on the struct, a struct marker on a field. */
    expect_error("marker3.c",
                 "QIDL_DECLARE(S, q_name(\"s\") q_optional) {\n"
                 "    uint32_t n q_min_version(2);\n"
                 "};\n",
                 "marker3.c:4:29: error: q_optional marks a field, not the struct S\n"
                 "marker3.c:5:16: error: q_min_version marks a struct, not the field S.n\n");
}

static void test_size_errors(void)
{
    expect_error("size.c",
                 "QIDL_DECLARE(S, q_name(\"s\")) {\n"
                 "    uint32_t v[4] q_size(count);\n"
                 "};\n",
                 "size.c:5:19: error: q_size(count): S has no field 'count'\n");
    expect_error("size2.c",
                 "QIDL_DECLARE(S, q_name(\"s\")) {\n"
                 "    bool n;\n"
                 "    uint32_t v[4] q_size(n);\n"
                 "};\n",
                 "size2.c:6:19: error: q_size(n): S.n is not an integer\n");
}

static void test_optional_without_flag(void)
{
    expect_error("opt.c",
                 "QIDL_DECLARE(S, q_name(\"s\")) {\n"
                 "    uint32_t extra q_optional;\n"
                 "    uint8_t has_extra;\n"
                 "};\n",
                 "opt.c:5:14: error: S.extra: q_optional needs a bool field 'has_extra'\n");
}

static void test_misused_markers(void)
{
    expect_error("equal.c",
                 "QIDL_DECLARE(S, q_name(\"s\")) {\n"
                 "    uint32_t v[2] q_equal;\n"
                 "    struct {\n"
                 "        uint32_t x q_optional;\n"
                 "        bool has_x;\n"
                 "    } g q_optional;\n"
                 "    bool has_g;\n"
                 "};\n",
                 "equal.c:5:14: error: S.v: q_equal needs an integer field\n"
                 "equal.c:7:18: error: S.x: q_optional inside a q_optional struct\n");
}

static void test_undeclared_struct(void)
{
    expect_error("nested.c",
                 "typedef struct Plain { uint32_t a; } Plain;\n"
                 "QIDL_DECLARE(S, q_name(\"s\")) {\n"
                 "    Plain p;\n"
                 "    double d;\n"
                 "};\n",
                 "nested.c:6:11: error: S.p: struct type 'Plain' is not declared with QIDL_DECLARE\n"
                 "nested.c:7:12: error: S.d: type 'double' cannot be described\n");
}

static void test_default_without_version(void)
{
    expect_error("default.c",
                 "QIDL_DECLARE(S, q_name(\"s\") q_version(2)) {\n"
                 "    uint32_t n q_default(7);\n"
                 "};\n",
                 "default.c:5:14: error: S.n: q_default needs q_version (a field of every "
                 "version never takes a default)\n");
}

static void test_bad_version(void)
{
    expect_error("version.c",
                 "QIDL_DECLARE(S, q_name(\"s\")) {\n"
                 "    uint32_t n q_version(two);\n"
                 "};\n",
                 "version.c:5:16: error: q_version(two): not a version number\n");
}

/* The compiler's own errors inside an annotated struct, where it says them. */
static void test_syntax_error(void)
{
    expect_error("syntax.c",
                 "QIDL_DECLARE(S, q_name(\"s\")) {\n"
                 "    uint32_t n\n"
                 "    uint32_t m;\n"
                 "};\n",
                 "syntax.c:5:15: error: expected ';' at end of declaration list\n");
}

/* q_broken: the struct is left out, the generator says so, the rest is generated. */
static void test_broken(void)
{
    write_file("broken.c",
               "#include <stdbool.h>\n"
               "#include <stdint.h>\n"
               "#include \"qidl/qidl.h\"\n"
               "QIDL_DECLARE(Timerish, q_name(\"timerish\")) {\n"
               "    uint32_t n;\n"
               "    void *opaque q_broken;\n"
               "};\n"
               "QIDL_DECLARE(Fine, q_name(\"fine\")) {\n"
               "    uint32_t n;\n"
               "};\n");
    Run r = generate("broken.c", "broken.h");
    CU_ASSERT_EQUAL(r.status, 0);
    ASSERT_STR_EQ(r.err, "broken.c:6:11: note: Timerish.opaque is q_broken: Timerish keeps its "
                         "hand-written description\n");
    run_clear(&r);
    g_autofree char *text = read_back("broken.h");
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_PTR_NULL(strstr(text, "vmstate_Timerish"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "static const VMStateDescription vmstate_Fine = {"));
    g_autofree char *list = g_strdup_printf("%s --list broken.c -- %s", qidl_binary(),
                                            TEST_INCLUDES);
    r = run(list);
    CU_ASSERT_EQUAL(r.status, 0);
    ASSERT_STR_EQ(r.out, "Timerish timerish 1 broken\nFine fine 1\n");
    run_clear(&r);
}

/* ---- what it generates ------------------------------------------------------------- */

/*
 * Every marker, and below the same description written by hand with the
 * VMSTATE_* macros: compiled together, they must describe alike (as
 * vmstate_describe's JSON), and q_default must apply on older loads.
 */
static const char EQUIVALENT[] =
    "#include <stdbool.h>\n"
    "#include <stdint.h>\n"
    "#include <stdio.h>\n"
    "#include <string.h>\n"
    "#include \"qidl/qidl.h\"\n"
    "#include \"vmscope/vmstate.h\"\n"
    "#include \"vmscope/qobject.h\"\n"
    "#include \"vmscope/qobject-visitor.h\"\n"
    "#define MAX_LIST 8\n"
    "QIDL_DECLARE(Inner, q_name(\"inner\") q_version(2)) {\n"
    "    uint32_t a;\n"
    "    uint16_t b[2];\n"
    "};\n"
    "static int hook_calls;\n"
    "static bool hook(void *opaque, int version_id, GError **errp)\n"
    "{\n"
    "    hook_calls++;\n"
    "    return true;\n"
    "}\n"
    "QIDL_DECLARE(Outer, q_name(\"outer\") q_version(3) q_min_version(2) q_post_load(hook)) {\n"
    "    bool flag;\n"
    "    int8_t i8;\n"
    "    uint64_t u64 q_version(2);\n"
    "    uint8_t buf[4];\n"
    "    uint8_t gone[3] q_unused;\n"
    "    int32_t words[3];\n"
    "    uint16_t cfg q_equal;\n"
    "    Inner one;\n"
    "    Inner many[2] q_version(3);\n"
    "    uint32_t n;\n"
    "    uint16_t counted[5] q_size(n);\n"
    "    Inner live[4] q_size(cfg);\n"
    "    uint64_t list q_segptr(Inner, MAX_LIST) q_size(n);\n"
    "    uint32_t id q_immutable;\n"
    "    uint32_t cache q_derived;\n"
    "    int64_t later q_version(3) q_default(-5);\n"
    "    uint32_t extra q_optional;\n"
    "    bool has_extra;\n"
    "    struct {\n"
    "        uint8_t k;\n"
    "        uint32_t vals[6] q_size(k);\n"
    "    } group q_optional;\n"
    "    bool has_group;\n"
    "};\n"
    "#ifndef QIDL_GEN\n"
    "#include \"equiv.h\"\n"
    "#endif\n"
    "static const VMStateField inner_fields[] = {\n"
    "    VMSTATE_UINT32(a, Inner), VMSTATE_UINT16_ARRAY(b, Inner, 2), VMSTATE_END_OF_LIST()\n"
    "};\n"
    "static const VMStateDescription hand_inner = {\n"
    "    .name = \"inner\", .version_id = 2, .minimum_version_id = 2, .fields = inner_fields,\n"
    "};\n"
    "static const VMStateField extra_fields[] = {\n"
    "    VMSTATE_UINT32(extra, Outer), VMSTATE_END_OF_LIST()\n"
    "};\n"
    "static const VMStateDescription hand_extra = {\n"
    "    .name = \"outer/extra\", .version_id = 1, .minimum_version_id = 1, .fields = extra_fields,\n"
    "};\n"
    "static const VMStateField group_fields[] = {\n"
    "    { .name = \"k\", .info = VMSTATE_INFO(VMSTATE_TYPE_UINT8), .shape = VMSTATE_SINGLE,\n"
    "      .offset = offsetof(Outer, group.k), .size = 1 },\n"
    "    { .name = \"vals\", .info = VMSTATE_INFO(VMSTATE_TYPE_UINT32), .shape = VMSTATE_VARRAY,\n"
    "      .offset = offsetof(Outer, group.vals), .size = 4, .num = 6,\n"
    "      .num_offset = offsetof(Outer, group.k), .num_info = VMSTATE_INFO(VMSTATE_TYPE_UINT8) },\n"
    "    VMSTATE_END_OF_LIST()\n"
    "};\n"
    "static const VMStateDescription hand_group = {\n"
    "    .name = \"outer/group\", .version_id = 1, .minimum_version_id = 1, .fields = group_fields,\n"
    "};\n"
    "static const VMStateDescription *const hand_subs[] = { &hand_extra, &hand_group, NULL };\n"
    "static const VMStateField outer_fields[] = {\n"
    "    VMSTATE_BOOL(flag, Outer), VMSTATE_INT8(i8, Outer), VMSTATE_UINT64_V(u64, Outer, 2),\n"
    "    VMSTATE_BUFFER(buf, Outer), VMSTATE_UNUSED(3), VMSTATE_INT32_ARRAY(words, Outer, 3),\n"
    "    VMSTATE_UINT16_EQUAL(cfg, Outer), VMSTATE_STRUCT(one, Outer, 0, hand_inner, Inner),\n"
    "    VMSTATE_STRUCT_ARRAY(many, Outer, 2, 3, hand_inner, Inner), VMSTATE_UINT32(n, Outer),\n"
    "    VMSTATE_VARRAY_UINT32(counted, Outer, n, 0, vmstate_info_uint16, uint16_t),\n"
    "    VMSTATE_STRUCT_PARTIAL_ARRAY_UINT16(live, Outer, cfg, 0, hand_inner, Inner),\n"
    "    VMSTATE_STRUCT_SEGPTR_UINT32(list, Outer, n, MAX_LIST, 0, hand_inner, Inner),\n"
    "    VMSTATE_INT64_V(later, Outer, 3),\n"
    "    VMSTATE_END_OF_LIST()\n"
    "};\n"
    "static const VMStateDescription hand_outer = {\n"
    "    .name = \"outer\", .version_id = 3, .minimum_version_id = 2, .fields = outer_fields,\n"
    "    .subsections = hand_subs,\n"
    "};\n"
    "int main(void)\n"
    "{\n"
    "    g_autoptr(QObject) a = vmstate_describe(&vmstate_Outer);\n"
    "    g_autoptr(QObject) b = vmstate_describe(&hand_outer);\n"
    "    g_autofree char *ja = qobject_to_json(a, false);\n"
    "    g_autofree char *jb = qobject_to_json(b, false);\n"
    "    if (strcmp(ja, jb) != 0) {\n"
    "        printf(\"generated %s\\nby hand   %s\\n\", ja, jb);\n"
    "        return 1;\n"
    "    }\n"
    "    g_autoptr(GError) err = NULL;\n"
    "    if (!vmstate_check(&vmstate_Outer, sizeof(Outer), &err)) {\n"
    "        printf(\"%s\\n\", err->message);\n"
    "        return 1;\n"
    "    }\n"
    "    /* A version-2 input: later takes its default, then the post_load runs. */\n"
    "    Outer s = { .cfg = 0, .later = 99 };\n"
    "    g_autoptr(QObject) in = NULL;\n"
    "    const char *json = \"{\\\"flag\\\": true, \\\"i8\\\": -1, \\\"u64\\\": 7, \\\"buf\\\": \\\"01020304\\\",\"\n"
    "        \" \\\"unused\\\": \\\"000000\\\", \\\"words\\\": [1, 2, 3], \\\"cfg\\\": 0,\"\n"
    "        \" \\\"one\\\": {\\\"a\\\": 1, \\\"b\\\": [2, 3]}, \\\"n\\\": 0, \\\"counted\\\": [],\"\n"
    "        \" \\\"live\\\": [], \\\"list\\\": [], \\\"outer/extra\\\": {\\\"extra\\\": 9}}\";\n"
    "    if (!qobject_from_json(json, strlen(json), &in, &err)) {\n"
    "        printf(\"%s\\n\", err->message);\n"
    "        return 1;\n"
    "    }\n"
    "    Visitor *v = qobject_input_visitor_new(in);\n"
    "    VMStateContext ctx = { 0 };\n"
    "    bool ok = vmstate_load(v, &vmstate_Outer, &s, 2, &ctx, &err);\n"
    "    visit_free(v);\n"
    "    printf(\"load %s, later %lld, post_load %d, u64 %llu, extra %u (has %d), group (has %d)\\n\",\n"
    "           ok ? \"ok\" : err->message, (long long)s.later, hook_calls,\n"
    "           (unsigned long long)s.u64, s.extra, s.has_extra, s.has_group);\n"
    "    /* Saved: the subsections whose flags are set, and only those. */\n"
    "    Visitor *out = qobject_output_visitor_new();\n"
    "    if (!vmstate_save(out, &vmstate_Outer, &s, &ctx, &err)) {\n"
    "        printf(\"%s\\n\", err->message);\n"
    "        return 1;\n"
    "    }\n"
    "    g_autoptr(QObject) saved = qobject_output_visitor_take(out);\n"
    "    visit_free(out);\n"
    "    printf(\"saved outer/extra %d, outer/group %d\\n\", qdict_haskey(saved, \"outer/extra\"),\n"
    "           qdict_haskey(saved, \"outer/group\"));\n"
    "    return 0;\n"
    "}\n";

static void test_equivalent_to_hand_written(void)
{
    write_file("equiv.c", EQUIVALENT);
    Run r = generate("equiv.c", "equiv.h");
    CU_ASSERT_EQUAL(r.status, 0);
    ASSERT_STR_EQ(r.err, "");
    run_clear(&r);
    g_autofree char *cmd = g_strdup_printf("%s -std=gnu11 -Wall -Wextra -Wno-unused-parameter "
                                           "-Werror -I. %s equiv.c -o equiv %s", TEST_CC,
                                           TEST_INCLUDES, TEST_LIBS);
    r = run(cmd);
    CU_ASSERT_EQUAL(r.status, 0);
    ASSERT_STR_EQ(r.err, "");
    run_clear(&r);
    r = run("./equiv");
    CU_ASSERT_EQUAL(r.status, 0);
    ASSERT_STR_EQ(r.out, "load ok, later -5, post_load 1, u64 7, extra 9 (has 1), group (has 0)\n"
                         "saved outer/extra 1, outer/group 0\n");
    run_clear(&r);
}

/* The generated entries keep the compile-time checks: a wrong q_size count type is caught. */
static void test_compile_time_checks_kept(void)
{
    write_file("check.c",
               "#include <stdbool.h>\n"
               "#include <stdint.h>\n"
               "#include \"qidl/qidl.h\"\n"
               "#include \"vmscope/vmstate.h\"\n"
               "QIDL_DECLARE(S, q_name(\"s\")) {\n"
               "    uint32_t n;\n"
               "    uint32_t v[4] q_size(n);\n"
               "};\n"
               "#ifndef QIDL_GEN\n"
               "#include \"check.h\"\n"
               "#endif\n"
               "const VMStateDescription *d = &vmstate_S;\n");
    Run r = generate("check.c", "check.h");
    CU_ASSERT_EQUAL(r.status, 0);
    run_clear(&r);
    /* Someone edits the generated file's type by hand: the compiler refuses it. */
    g_autofree char *text = read_back("check.h");
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    g_auto(GStrv) pieces = g_strsplit(text, "uint32_t", -1);
    g_autofree char *bad = g_strjoinv("uint16_t", pieces);
    write_file("check.h", bad);
    g_autofree char *cmd = g_strdup_printf("%s -std=gnu11 -fsyntax-only -I. %s check.c", TEST_CC,
                                           TEST_INCLUDES);
    r = run(cmd);
    CU_ASSERT_NOT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "S.v is not an array of uint16_t"));
    run_clear(&r);
}

static void test_usage(void)
{
    g_autofree char *cmd = g_strdup_printf("%s", qidl_binary());
    Run r = run(cmd);
    CU_ASSERT_EQUAL(r.status, 2);
    ASSERT_STR_EQ(r.err, "qidl: expected one FILE.c and -o OUT (or --list)\n");
    run_clear(&r);
    g_autofree char *cmd2 = g_strdup_printf("%s -o x.h missing.c", qidl_binary());
    r = run(cmd2);
    CU_ASSERT_EQUAL(r.status, 1);
    ASSERT_STR_EQ(r.err, "missing.c: error: libclang could not parse the file (error 1)\n");
    CU_ASSERT_FALSE(exists("x.h"));
    run_clear(&r);
}


/* ---- the schema baseline guards the devices ------------------------------------------ */

static const char GUARD_MAIN[] =
    "#include \"config.h\"\n"
    "#include \"devices.h\"\n"
    "extern const DeviceType device_serial;\n"
    "int main(int argc, char **argv)\n"
    "{\n"
    "    g_autoptr(QObject) dump = vmstate_dump_new(\"vmscope-devhost\");\n"
    "    vmstate_dump_add(dump, device_serial.name, device_serial.vmsd, VMSTATE_DUMP_TYPES);\n"
    "    g_autofree char *json = qobject_to_json(dump, true);\n"
    "    return g_file_set_contents(argv[1], json, -1, NULL) ? 0 : 1;\n"
    "}\n";

/*
 * A copy of devices/serial.c with `from` replaced by `to` (each must be
 * there), generated, built and dumped; then the schema check on that dump.
 */
static Run check_serial_copy(const char *from, const char *to, const char *from2,
                             const char *to2)
{
    g_autofree char *orig = g_build_filename(g_getenv("top_srcdir") ? g_getenv("top_srcdir") : "..",
                                             "devices", "serial.c", NULL);
    g_autofree char *text = NULL;
    g_assert_true(g_file_get_contents(orig, &text, NULL, NULL));
    g_assert_nonnull(strstr(text, from));
    g_auto(GStrv) parts = g_strsplit(text, from, 2);
    g_autofree char *edited = g_strjoinv(to, parts);
    if (from2) {
        g_assert_nonnull(strstr(edited, from2));
        g_auto(GStrv) parts2 = g_strsplit(edited, from2, 2);
        g_free(edited);
        edited = g_strjoinv(to2, parts2);
    }
    g_autofree char *devdir = g_build_filename(dir, "devices", NULL);
    g_mkdir_with_parents(devdir, 0700);
    write_file("serial.c", edited);
    write_file("guard-main.c", GUARD_MAIN);
    Run r = generate("serial.c", "devices/serial.qidl.h");
    CU_ASSERT_EQUAL(r.status, 0);
    ASSERT_STR_EQ(r.err, "");
    run_clear(&r);
    g_autofree char *cc = g_strdup_printf("%s -std=gnu11 -I. %s serial.c guard-main.c -o guard %s",
                                          TEST_CC, TEST_INCLUDES, TEST_LIBS);
    r = run(cc);
    CU_ASSERT_EQUAL(r.status, 0);
    ASSERT_STR_EQ(r.err, "");
    run_clear(&r);
    r = run("./guard dump.json");
    CU_ASSERT_EQUAL(r.status, 0);
    run_clear(&r);
    g_autofree char *check = g_strdup_printf("%s/tests/schema/check-schema.sh dump.json",
                                             g_getenv("top_srcdir") ? g_getenv("top_srcdir") : "..");
    return run(check);
}

static void test_guard_type_changed(void)
{
    Run r = check_serial_copy("    uint16_t divider q_version(2);", "    uint32_t divider q_version(2);",
                              NULL, NULL);
    CU_ASSERT_EQUAL(r.status, 1);
    ASSERT_STR_EQ(r.out,
        "schema: serial: incompatible with the baseline (tests/schema/serial.json):\n"
        "  error: serial: divider: size 2 in OLD, 4 in NEW\n"
        "  incompatible: 1 section compared, 1 error, 0 warnings\n"
        "schema: FAIL: 1 of 1 device types break the baseline\n");
    run_clear(&r);
    /* The same size, another type: still named. */
    r = check_serial_copy("    uint8_t rbr;", "    int8_t rbr;", NULL, NULL);
    CU_ASSERT_EQUAL(r.status, 1);
    ASSERT_STR_EQ(r.out,
        "schema: serial: incompatible with the baseline (tests/schema/serial.json):\n"
        "  error: serial: rbr: type uint8 in OLD, int8 in NEW\n"
        "  incompatible: 1 section compared, 1 error, 0 warnings\n"
        "schema: FAIL: 1 of 1 device types break the baseline\n");
    run_clear(&r);
}

static void test_guard_removed_and_lowered(void)
{
    Run r = check_serial_copy("    uint8_t ier, iir, lcr, mcr, lsr, msr, scr;",
                              "    uint8_t ier, iir, lcr, mcr, lsr, msr, scr q_derived;", NULL, NULL);
    CU_ASSERT_EQUAL(r.status, 1);
    ASSERT_STR_EQ(r.out,
        "schema: serial: incompatible with the baseline (tests/schema/serial.json):\n"
        "  error: serial: scr: field missing in NEW\n"
        "  incompatible: 1 section compared, 1 error, 0 warnings\n"
        "schema: FAIL: 1 of 1 device types break the baseline\n");
    run_clear(&r);
    r = check_serial_copy("q_name(\"serial\") q_version(4)", "q_name(\"serial\") q_version(3)",
                          "    uint64_t rx_total q_version(4)", "    uint64_t rx_total q_version(3)");
    CU_ASSERT_EQUAL(r.status, 1);
    ASSERT_STR_EQ(r.out,
        "schema: serial: incompatible with the baseline (tests/schema/serial.json):\n"
        "  error: serial: version 3 in NEW is older than 4 in OLD\n"
        "  incompatible: 1 section compared, 1 error, 0 warnings\n"
        "schema: FAIL: 1 of 1 device types break the baseline\n");
    run_clear(&r);
}

/* A new field with q_version and a version bump passes, and is reported. */
static void test_guard_compatible_change(void)
{
    Run r = check_serial_copy("q_name(\"serial\") q_version(4)", "q_name(\"serial\") q_version(5)",
                              "    uint64_t rx_total q_version(4) q_default(0);",
                              "    uint64_t rx_total q_version(4) q_default(0);\n"
                              "    uint32_t tx_total q_version(5) q_default(0);");
    CU_ASSERT_EQUAL(r.status, 0);
    ASSERT_STR_EQ(r.out,
        "schema: serial: compatible change, not yet in the baseline ('make update-schema' "
        "records it):\n"
        "  serial: version 4 -> 5\n"
        "  serial.tx_total: new field (version 5)\n"
        "schema: 1 device types compatible with the baseline, 1 with compatible changes\n");
    run_clear(&r);
    /* The same field without the bump is refused. */
    r = check_serial_copy("    uint64_t rx_total q_version(4) q_default(0);",
                          "    uint64_t rx_total q_version(4) q_default(0);\n"
                          "    uint32_t tx_total;", NULL, NULL);
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "tx_total"));
    run_clear(&r);
}

static const CuTest qidl_tests[] = {
    { "an array without a length", test_array_without_length },
    { "a pointer without q_size", test_pointer_without_size },
    { "a pointer with q_size", test_pointer_with_size },
    { "unknown and misplaced markers", test_unknown_marker },
    { "q_size errors", test_size_errors },
    { "q_optional without its has_ flag", test_optional_without_flag },
    { "q_equal and q_optional where they do not apply", test_misused_markers },
    { "undeclared struct types and undescribable types", test_undeclared_struct },
    { "q_default without q_version", test_default_without_version },
    { "a version that is not a number", test_bad_version },
    { "the compiler's errors in an annotated struct", test_syntax_error },
    { "q_broken leaves the struct to its hand-written description", test_broken },
    { "every marker: the description one would write by hand", test_equivalent_to_hand_written },
    { "generated entries keep the compile-time type checks", test_compile_time_checks_kept },
    { "usage", test_usage },
    { NULL, NULL },
};

static const CuTest guard_tests[] = {
    { "a device whose field changed type fails the check, naming the field", test_guard_type_changed },
    { "a removed field and a lowered version fail the check", test_guard_removed_and_lowered },
    { "a new field with a version bump passes and is reported", test_guard_compatible_change },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "qidl", qidl_tests },
    { "schema guard", guard_tests },
    { NULL, NULL },
};

int main(void)
{
    dir = g_dir_make_tmp("vmscope-test-qidl-XXXXXX", NULL);
    int rc = cutest_run(suites);
    g_autofree char *cmd = g_strdup_printf("rm -rf %s", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "could not remove %s\n", dir);
    }
    g_free(dir);
    return rc;
}

/*
 * The VMSTATE_* macros check C types at compile time, as QEMU's do: a
 * macro applied to a field of the wrong type must not compile.  Each case
 * compiles a small file with the project's compiler (-fsyntax-only) and
 * expects the named static assertion; one correct file must compile.
 */
#include "config.h"

#include <stdbool.h>
#include <sys/wait.h>
#include <glib/gstdio.h>

#include "cutest.h"

#ifndef TEST_CC
#error "TEST_CC (the compiler) and TEST_INCLUDES must be defined by the build"
#endif

static const char PRELUDE[] =
    "#include \"vmscope/vmstate.h\"\n"
    "typedef struct Regs { uint8_t a; } Regs;\n"
    "static const VMStateDescription vmstate_regs = { .name = \"s/regs\" };\n"
    "typedef struct S {\n"
    "    bool flag; uint8_t u8; uint16_t u16; uint32_t u32; int32_t i32; uint64_t off;\n"
    "    uint8_t bytes[8]; uint16_t words[4]; uint8_t *ptr; Regs regs; Regs banks[2];\n"
    "} S;\n"
    "const VMStateField fields[] = {\n";

/* Compile PRELUDE + fields + end; returns whether it compiled, *out = diagnostics. */
static bool compile(const char *fields, char **out)
{
    GError *err = NULL;
    g_autofree char *dir = g_dir_make_tmp("vmstate-typecheck-XXXXXX", &err);
    g_assert_no_error(err);
    g_autofree char *file = g_build_filename(dir, "case.c", NULL);
    g_autofree char *src = g_strconcat(PRELUDE, fields, "    VMSTATE_END_OF_LIST()\n};\n", NULL);
    g_assert_true(g_file_set_contents(file, src, -1, &err));

    g_autofree char *cmd = g_strdup_printf("%s -std=gnu11 -fsyntax-only %s %s", TEST_CC,
                                           TEST_INCLUDES, file);
    char **argv = NULL;
    g_assert_true(g_shell_parse_argv(cmd, NULL, &argv, &err));
    int status = -1;
    char *errout = NULL;
    g_assert_true(g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
                               &errout, &status, &err));
    g_strfreev(argv);
    g_unlink(file);
    g_rmdir(dir);
    *out = errout;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void expect_rejected(const char *fields, const char *diagnostic)
{
    g_autofree char *out = NULL;
    CU_ASSERT_FALSE(compile(fields, &out));
    if (!strstr(out, diagnostic)) {
        fprintf(stderr, "\nexpected \"%s\" in:\n%s\n", diagnostic, out);
        CU_FAIL("diagnostic");
    }
}

static void test_correct_compiles(void)
{
    g_autofree char *out = NULL;
    bool ok = compile(
        "    VMSTATE_BOOL(flag, S), VMSTATE_UINT8(u8, S), VMSTATE_UINT16_V(u16, S, 2),\n"
        "    VMSTATE_UINT32_EQUAL(u32, S), VMSTATE_INT32(i32, S), VMSTATE_BUFFER(bytes, S),\n"
        "    VMSTATE_UINT16_ARRAY(words, S, 4), VMSTATE_UNUSED(3),\n"
        "    VMSTATE_STRUCT(regs, S, 0, vmstate_regs, Regs),\n"
        "    VMSTATE_STRUCT_ARRAY(banks, S, 2, 0, vmstate_regs, Regs),\n"
        "    VMSTATE_VARRAY_UINT8(bytes, S, u8, 0, vmstate_info_uint8, uint8_t),\n"
        "    VMSTATE_PARTIAL_ARRAY_UINT32(words, S, u32, 0, vmstate_info_uint16, uint16_t),\n"
        "    VMSTATE_STRUCT_VARRAY_INT32(banks, S, i32, 0, vmstate_regs, Regs),\n"
        "    VMSTATE_STRUCT_SEGPTR_UINT32(off, S, u32, 16, 0, vmstate_regs, Regs),\n",
        &out);
    if (!ok) {
        fprintf(stderr, "\n%s\n", out);
    }
    CU_ASSERT_TRUE(ok);
}

static void test_wrong_scalar_types(void)
{
    expect_rejected("VMSTATE_UINT32(u16, S),", "S.u16 is not of type uint32_t");
    expect_rejected("VMSTATE_BOOL(u8, S),", "S.u8 is not of type _Bool");
    expect_rejected("VMSTATE_INT32(u32, S),", "S.u32 is not of type int32_t");
    expect_rejected("VMSTATE_UINT64_EQUAL(u32, S),", "S.u32 is not of type uint64_t");
}

static void test_wrong_arrays(void)
{
    expect_rejected("VMSTATE_UINT8_ARRAY(bytes, S, 4),", "S.bytes is not an array uint8_t[4]");
    expect_rejected("VMSTATE_UINT8_ARRAY(words, S, 4),", "S.words is not an array uint8_t[4]");
    expect_rejected("VMSTATE_BUFFER(words, S),", "S.words is not an array of uint8_t");
    expect_rejected("VMSTATE_VARRAY_UINT8(ptr, S, u8, 0, vmstate_info_uint8, uint8_t),",
                    "S.ptr is not an array of uint8_t");
    expect_rejected("VMSTATE_VARRAY_UINT32(bytes, S, u8, 0, vmstate_info_uint8, uint8_t),",
                    "S.u8 is not of type uint32_t");
    expect_rejected("VMSTATE_VARRAY_UINT8(bytes, S, u8, 0, vmstate_info_uint16, uint8_t),",
                    "VMSTATE_TYPE_UINT16 does not describe uint8_t");
}

static void test_wrong_structs_and_pointers(void)
{
    expect_rejected("VMSTATE_STRUCT(regs, S, 0, vmstate_regs, S),", "S.regs is not of type S");
    expect_rejected("VMSTATE_STRUCT_ARRAY(banks, S, 3, 0, vmstate_regs, Regs),",
                    "S.banks is not an array Regs[3]");
    expect_rejected("VMSTATE_STRUCT_SEGPTR_UINT32(u32, S, u32, 4, 0, vmstate_regs, Regs),",
                    "S.u32 is not of type uint64_t");
}

static const CuTest tests[] = {
    { "correct descriptions compile", test_correct_compiles },
    { "wrong scalar types", test_wrong_scalar_types },
    { "wrong arrays", test_wrong_arrays },
    { "wrong structs and pointers", test_wrong_structs_and_pointers },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "vmstate-typecheck", tests },
    { NULL, NULL },
};

CUTEST_MAIN(suites)

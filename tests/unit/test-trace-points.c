/*
 * Unit tests for probes/trace-points.c on a vmscope binary: this test
 * program itself, which links the VMState engine and the QEMUFile visitors
 * and so carries vmscope's USDT probes (when <sys/sdt.h> was there at build
 * time; otherwise it must be refused as neither QEMU's nor vmscope's).
 */
#include "config.h"

#include <unistd.h>
#include <linux/types.h>

#include "cutest.h"
#include "trace-event.h"
#include "trace-points.h"
#include "vmscope/qemu-stream.h"
#include "vmscope/trace-usdt.h"
#include "vmscope/vmstate.h"

#define SELF "/proc/self/exe"

typedef struct Tiny {
    uint32_t a;
    uint8_t b[3];
} Tiny;

static const VMStateField tiny_fields[] = {
    VMSTATE_UINT32(a, Tiny),
    VMSTATE_BUFFER(b, Tiny),
    VMSTATE_END_OF_LIST()
};

static const VMStateDescription vmstate_tiny = {
    .name = "tiny",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = tiny_fields,
};

/* The engine runs as usual with the probes in it (and links them in). */
static void test_engine_with_probes(void)
{
    Tiny t = { .a = 0x01020304, .b = { 5, 6, 7 } };
    g_autoptr(GError) err = NULL;
    ByteWriter w;

    byte_writer_init(&w);
    CU_ASSERT_TRUE(qemu_stream_save_device(&w, &vmstate_tiny, &t, NULL, NULL, &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(byte_writer_len(&w), 7);
    byte_writer_clear(&w);
}

static const TraceUsdtProbe *probe(const TracePoints *tp, const char *name)
{
    for (unsigned i = 0; i < tp->usdt->len; i++) {
        const TraceUsdtProbe *p = &g_array_index(tp->usdt, TraceUsdtProbe, i);
        if (strcmp(p->spec->name, name) == 0) {
            return p;
        }
    }
    return NULL;
}

static void test_vmscope_kind(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(TracePoints) tp = trace_points_resolve(SELF, NULL, &err);
    static const char *const names[] = {
        "vmsd__save__start", "vmsd__save__done", "vmsd__load__start", "vmsd__load__done",
        "section__save__done", "section__load__done", "put", "get", "visit",
    };

    if (!VMS_USDT) {
        ASSERT_ERROR(err, SELF ": not a QEMU binary (missing functions qemu_put_byte, "
                     "qemu_put_be16, qemu_put_be32, qemu_put_be64, qemu_put_buffer, "
                     "qemu_get_byte, qemu_get_be16, qemu_get_be32, qemu_get_be64, "
                     "qemu_get_buffer, vmstate_save_state, vmstate_load_state) nor a vmscope "
                     "binary (no vmscope USDT probes)");
        return;
    }
    ASSERT_NO_ERROR(err);
    ASSERT_STR_EQ(tp->kind->name, "vmscope");
    CU_ASSERT_TRUE(trace_points_usdt(tp));
    CU_ASSERT_FALSE(tp->filtered);

    /* Every function, in VmsUsdtFn order: the probes pass that index. */
    CU_ASSERT_EQUAL_FATAL(tp->points->len, VMS_USDT_N_FUNCS);
    ASSERT_STR_EQ(trace_points_get(tp, VMS_USDT_QEMU_PUT_BE32)->name, "qemu_put_be32");
    CU_ASSERT_EQUAL(trace_points_get(tp, VMS_USDT_QEMU_PUT_BE32)->kind, VTRACE_KIND_PUT);
    ASSERT_STR_EQ(trace_points_get(tp, VMS_USDT_QEMU_FILE_SKIP)->name, "qemu_file_skip");
    CU_ASSERT_EQUAL(trace_points_get(tp, VMS_USDT_QEMU_FILE_SKIP)->kind, VTRACE_KIND_GET);
    CU_ASSERT_EQUAL(trace_points_get(tp, VMS_USDT_VMSTATE_SAVE_STATE)->kind, VTRACE_KIND_SAVE);
    CU_ASSERT_EQUAL(trace_points_get(tp, VMS_USDT_VMSTATE_LOAD_STATE)->kind, VTRACE_KIND_LOAD);
    ASSERT_STR_EQ(trace_points_get(tp, VMS_USDT_VISIT_TYPE_UINT8)->name, "visit_type_uint8");
    CU_ASSERT_EQUAL(trace_points_get(tp, VMS_USDT_VISIT_TYPE_BUFFER)->kind, VTRACE_KIND_VISIT);
    for (unsigned i = 0; i < tp->points->len; i++) {
        CU_ASSERT_TRUE(trace_points_get(tp, i)->wanted);
    }

    /* One site per probe: all of them are in lib/usdt/trace-usdt.c. */
    CU_ASSERT_EQUAL(tp->usdt->len, G_N_ELEMENTS(names));
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        const TraceUsdtProbe *p = probe(tp, names[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        CU_ASSERT_EQUAL(p->sites, 1);
    }
    CU_ASSERT_EQUAL(trace_points_count(tp, TRACE_MODE_SUMMARY), 2);
    CU_ASSERT_EQUAL(trace_points_count(tp, TRACE_MODE_CALLS), 7);
    CU_ASSERT_TRUE(trace_points_usdt_attached(tp, probe(tp, "section__load__done"),
                                              TRACE_MODE_SUMMARY));
    CU_ASSERT_FALSE(trace_points_usdt_attached(tp, probe(tp, "section__load__done"),
                                               TRACE_MODE_CALLS));
    CU_ASSERT_FALSE(trace_points_usdt_attached(tp, probe(tp, "put"), TRACE_MODE_SUMMARY));
}

/* -f keeps every function (their indexes are fixed) but marks the wanted
 * ones; only the probes that report a wanted function are attached, and the
 * engine's always (they attribute calls to sections). */
static void test_vmscope_filter(void)
{
    g_autoptr(GError) err = NULL;
    const char *const only[] = { "qemu_put_*", "visit_end_list", NULL };
    g_autoptr(TracePoints) tp = trace_points_resolve(SELF, only, &err);

    if (!VMS_USDT) {
        g_clear_error(&err);
        return;
    }
    ASSERT_NO_ERROR(err);
    CU_ASSERT_TRUE(tp->filtered);
    CU_ASSERT_EQUAL(tp->points->len, VMS_USDT_N_FUNCS);
    for (unsigned i = 0; i < tp->points->len; i++) {
        bool want = i <= VMS_USDT_QEMU_PUT_COUNTED_STRING || i == VMS_USDT_VISIT_END_LIST;
        CU_ASSERT_EQUAL(trace_points_get(tp, i)->wanted, want);
    }
    CU_ASSERT_TRUE(trace_points_usdt_attached(tp, probe(tp, "put"), TRACE_MODE_CALLS));
    CU_ASSERT_FALSE(trace_points_usdt_attached(tp, probe(tp, "get"), TRACE_MODE_CALLS));
    CU_ASSERT_TRUE(trace_points_usdt_attached(tp, probe(tp, "visit"), TRACE_MODE_CALLS));
    CU_ASSERT_TRUE(trace_points_usdt_attached(tp, probe(tp, "vmsd__load__done"), TRACE_MODE_CALLS));
    CU_ASSERT_EQUAL(trace_points_count(tp, TRACE_MODE_CALLS), 6);
}

static void test_vmscope_filter_nothing(void)
{
    g_autoptr(GError) err = NULL;
    const char *const only[] = { "no_such_function*", NULL };
    g_autoptr(TracePoints) tp = trace_points_resolve(SELF, only, &err);

    CU_ASSERT_PTR_NULL(tp);
    if (VMS_USDT) {
        ASSERT_ERROR(err, SELF ": no function to trace matches the -f patterns");
    } else {
        g_clear_error(&err);
    }
}

static void test_not_elf(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("test-trace-points.XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "script", NULL);
    g_autoptr(TracePoints) tp = NULL;
    g_autofree char *expected = g_strdup_printf("%s: not an ELF file", path);

    CU_ASSERT_TRUE_FATAL(g_file_set_contents(path, "#!/bin/sh\n", -1, NULL));
    tp = trace_points_resolve(path, NULL, &err);
    CU_ASSERT_PTR_NULL(tp);
    ASSERT_ERROR(err, expected);
    unlink(path);
    rmdir(dir);
}

/* Debian's QEMU 7.2, qemu_file_total_transferred_fast and qemu_file_skip. */
static const uint8_t total_fast_72[] = {
    0x8b, 0x97, 0x40, 0x84, 0x00, 0x00,        /* mov 0x8440(%rdi),%edx */
    0x48, 0x8b, 0x47, 0x28,                    /* mov 0x28(%rdi),%rax */
    0x85, 0xd2,                                /* test %edx,%edx */
    0x74, 0x1a,                                /* je END */
    0x48, 0xc1, 0xe2, 0x04,                    /* shl $4,%rdx */
    0x48, 0x01, 0xfa,                          /* add %rdi,%rdx */
    0x0f, 0x1f, 0x00,                          /* nopl (%rax) */
    0x48, 0x03, 0x87, 0x48, 0x80, 0x00, 0x00,  /* L: add 0x8048(%rdi),%rax */
    0x48, 0x83, 0xc7, 0x10,                    /* add $0x10,%rdi */
    0x48, 0x39, 0xd7,                          /* cmp %rdx,%rdi */
    0x75, 0xf0,                                /* jne L */
    0xc3,                                      /* END: ret */
    0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00,
};

static const uint8_t file_skip_72[] = {
    0x03, 0x77, 0x30,                          /* add 0x30(%rdi),%esi */
    0x3b, 0x77, 0x34,                          /* cmp 0x34(%rdi),%esi */
    0x7f, 0x03,                                /* jg END */
    0x89, 0x77, 0x30,                          /* mov %esi,0x30(%rdi) */
    0xc3,                                      /* END: ret */
};

static void test_qemu_file_layout(void)
{
    TraceQemuFileLayout l = { 0 };
    uint8_t code[sizeof(total_fast_72)];

    CU_ASSERT_TRUE(trace_qemu_match_total_fast(total_fast_72, sizeof(total_fast_72), &l));
    CU_ASSERT_TRUE(trace_qemu_match_file_skip(file_skip_72, sizeof(file_skip_72), &l));
    CU_ASSERT_EQUAL(l.total, 0x28);
    CU_ASSERT_EQUAL(l.iov_len, 0x8048);
    CU_ASSERT_EQUAL(l.iovcnt, 0x8440);
    CU_ASSERT_EQUAL(l.max_iov, 64);
    CU_ASSERT_EQUAL(l.buf_index, 0x30);
    CU_ASSERT_EQUAL(l.buf_size, 0x34);

    /* Cut short, another register, a loop that goes elsewhere: refused. */
    CU_ASSERT_FALSE(trace_qemu_match_total_fast(total_fast_72, 40, &l));
    CU_ASSERT_FALSE(trace_qemu_match_file_skip(file_skip_72, sizeof(file_skip_72) - 1, &l));
    memcpy(code, total_fast_72, sizeof(code));
    code[1] = 0x96;    /* mov 0x8440(%rsi),%edx */
    CU_ASSERT_FALSE(trace_qemu_match_total_fast(code, sizeof(code), &l));
    memcpy(code, total_fast_72, sizeof(code));
    code[39] = 0xef;   /* jne one byte further back */
    CU_ASSERT_FALSE(trace_qemu_match_total_fast(code, sizeof(code), &l));
    memcpy(code, total_fast_72, sizeof(code));
    code[34] = 0x08;   /* add $0x8,%rdi: not a struct iovec */
    CU_ASSERT_FALSE(trace_qemu_match_total_fast(code, sizeof(code), &l));
}

static const CuTest points_tests[] = {
    { "QEMUFile layout from QEMU 7.2's code", test_qemu_file_layout },
    { "engine with probes", test_engine_with_probes },
    { "vmscope binary", test_vmscope_kind },
    { "vmscope binary, -f", test_vmscope_filter },
    { "vmscope binary, -f matching nothing", test_vmscope_filter_nothing },
    { "not an ELF file", test_not_elf },
    { NULL, NULL }
};

static const CuSuite suites[] = {
    { "trace-points", points_tests },
    { NULL, NULL }
};

CUTEST_MAIN(suites)

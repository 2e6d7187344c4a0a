/* Unit tests for the pretty-print output visitor: exact text. */
#include "config.h"

#include "cutest.h"
#include "vmscope/pretty-visitor.h"

/*
 * A 16550A-like serial port: registers of every width, a nested VMState
 * description, a list of them, buffers short and long, short lists of
 * numbers, a subsection that is sent and one that is not.
 */
typedef struct Timer {
    int64_t expire;
    bool enabled;
} Timer;

typedef struct SerialFifo {
    uint8_t count;
    uint8_t data[18];
} SerialFifo;

typedef struct Serial {
    uint16_t divider;
    uint8_t ier;
    int8_t offset;
    int32_t last_break;
    uint32_t base;
    uint64_t tsc;
    bool thr_ipending;
    char *chardev;
    double clock_mhz;
    uint8_t tsr[4];
    uint8_t scratch[20];
    uint32_t regs[2];
    int16_t deltas[3];
    Timer timeout;
    Timer timers[2];
    SerialFifo fifo;
    bool poll_needed;
} Serial;

static bool visit_timer(Visitor *v, const char *name, Timer *t, GError **errp)
{
    VisitStructInfo info = { VISIT_STRUCT_NESTED_VMSD, "timer", 2 };
    if (!visit_start_struct(v, name, &info, errp)) {
        return false;
    }
    bool ok = visit_type_int64(v, "expire", &t->expire, errp) &&
              visit_type_bool(v, "enabled", &t->enabled, errp);
    visit_end_struct(v);
    return ok;
}

/* A list of `n` elements; `elem` visits element `i`. */
#define VISIT_LIST(v, name, n, errp, elem)                                      \
    ({                                                                          \
        size_t len_ = (n);                                                      \
        bool ok_ = visit_start_list(v, name, &len_, errp);                      \
        for (size_t i = 0; ok_ && i < len_; i++) {                              \
            visit_next_list(v);                                                 \
            ok_ = (elem);                                                       \
        }                                                                       \
        if (ok_) {                                                              \
            visit_end_list(v);                                                  \
        }                                                                       \
        ok_;                                                                    \
    })

static bool visit_serial(Visitor *v, const char *name, Serial *s, GError **errp)
{
    VisitStructInfo info = { VISIT_STRUCT_VMSD, "serial", 3 };
    VisitStructInfo fifo_info = { VISIT_STRUCT_SUBSECTION, "serial/fifo", 1 };
    bool present = true;

    if (!visit_start_struct(v, name, &info, errp)) {
        return false;
    }
    bool ok = visit_type_uint16(v, "divider", &s->divider, errp) &&
              visit_type_uint8(v, "ier", &s->ier, errp) &&
              visit_type_int8(v, "offset", &s->offset, errp) &&
              visit_type_int32(v, "last_break", &s->last_break, errp) &&
              visit_type_uint32(v, "base", &s->base, errp) &&
              visit_type_uint64(v, "tsc", &s->tsc, errp) &&
              visit_type_bool(v, "thr_ipending", &s->thr_ipending, errp) &&
              visit_type_str(v, "chardev", &s->chardev, errp) &&
              visit_type_number(v, "clock_mhz", &s->clock_mhz, errp) &&
              visit_type_buffer(v, "tsr", s->tsr, sizeof(s->tsr), errp) &&
              visit_type_buffer(v, "scratch", s->scratch, sizeof(s->scratch), errp) &&
              VISIT_LIST(v, "regs", 2, errp, visit_type_uint32(v, NULL, &s->regs[i], errp)) &&
              VISIT_LIST(v, "deltas", 3, errp, visit_type_int16(v, NULL, &s->deltas[i], errp)) &&
              visit_timer(v, "timeout", &s->timeout, errp) &&
              VISIT_LIST(v, "timers", 2, errp, visit_timer(v, NULL, &s->timers[i], errp));
    if (ok && visit_optional(v, "serial/fifo", &present)) {
        ok = visit_start_struct(v, "serial/fifo", &fifo_info, errp);
        if (ok) {
            ok = visit_type_uint8(v, "count", &s->fifo.count, errp) &&
                 VISIT_LIST(v, "data", sizeof(s->fifo.data), errp,
                            visit_type_uint8(v, NULL, &s->fifo.data[i], errp));
            visit_end_struct(v);
        }
    }
    if (ok && visit_optional(v, "serial/poll", &s->poll_needed)) {
        g_assert_not_reached();
    }
    visit_end_struct(v);
    return ok;
}

static const char serial_text[] =
    "serial (vmsd serial, version 3) {\n"
    "  divider: uint16 = 12 (0x000c)\n"
    "  ier: uint8 = 5 (0x05)\n"
    "  offset: int8 = -3\n"
    "  last_break: int32 = -2147483648\n"
    "  base: uint32 = 4096 (0x00001000)\n"
    "  tsc: uint64 = 18446744073709551615 (0xffffffffffffffff)\n"
    "  thr_ipending: bool = true\n"
    "  chardev: string = \"com1\"\n"
    "  clock_mhz: double = 1.8432\n"
    "  tsr: buffer[4] = de ad be ef\n"
    "  scratch: buffer[20] =\n"
    "    0000: 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f\n"
    "    0010: 10 11 12 13\n"
    "  regs: uint32[2] = [0x00000001, 0x0000ffff]\n"
    "  deltas: int16[3] = [-1, 0, 32767]\n"
    "  timeout (vmsd timer, version 2) {\n"
    "    expire: int64 = 1000000\n"
    "    enabled: bool = false\n"
    "  }\n"
    "  timers: list[2] [\n"
    "    [0] (vmsd timer, version 2) {\n"
    "      expire: int64 = -9223372036854775808\n"
    "      enabled: bool = true\n"
    "    }\n"
    "    [1] (vmsd timer, version 2) {\n"
    "      expire: int64 = 9223372036854775807\n"
    "      enabled: bool = false\n"
    "    }\n"
    "  ]\n"
    "  subsection serial/fifo, version 1 {\n"
    "    count: uint8 = 18 (0x12)\n"
    "    data: uint8[18] [\n"
    "      [0]: uint8 = 0 (0x00)\n"
    "      [1]: uint8 = 16 (0x10)\n"
    "      [2]: uint8 = 32 (0x20)\n"
    "      [3]: uint8 = 48 (0x30)\n"
    "      [4]: uint8 = 64 (0x40)\n"
    "      [5]: uint8 = 80 (0x50)\n"
    "      [6]: uint8 = 96 (0x60)\n"
    "      [7]: uint8 = 112 (0x70)\n"
    "      [8]: uint8 = 128 (0x80)\n"
    "      [9]: uint8 = 144 (0x90)\n"
    "      [10]: uint8 = 160 (0xa0)\n"
    "      [11]: uint8 = 176 (0xb0)\n"
    "      [12]: uint8 = 192 (0xc0)\n"
    "      [13]: uint8 = 208 (0xd0)\n"
    "      [14]: uint8 = 224 (0xe0)\n"
    "      [15]: uint8 = 240 (0xf0)\n"
    "      [16]: uint8 = 255 (0xff)\n"
    "      [17]: uint8 = 1 (0x01)\n"
    "    ]\n"
    "  }\n"
    "  serial/poll: absent\n"
    "}\n";

static char *pretty_serial(Serial *s)
{
    GError *err = NULL;
    Visitor *v = pretty_output_visitor_new();
    CU_ASSERT_TRUE(visit_serial(v, "serial", s, &err));
    ASSERT_NO_ERROR(err);
    char *text = pretty_output_visitor_take(v);
    visit_free(v);
    return text;
}

static void serial_init(Serial *s)
{
    static const uint8_t tsr[4] = { 0xde, 0xad, 0xbe, 0xef };
    memset(s, 0, sizeof(*s));
    s->divider = 12;
    s->ier = 5;
    s->offset = -3;
    s->last_break = INT32_MIN;
    s->base = 4096;
    s->tsc = UINT64_MAX;
    s->thr_ipending = true;
    s->chardev = (char *)"com1";
    s->clock_mhz = 1.8432;
    memcpy(s->tsr, tsr, sizeof(tsr));
    for (size_t i = 0; i < sizeof(s->scratch); i++) {
        s->scratch[i] = (uint8_t)i;
    }
    s->regs[0] = 1;
    s->regs[1] = 0xffff;
    s->deltas[0] = -1;
    s->deltas[1] = 0;
    s->deltas[2] = INT16_MAX;
    s->timeout = (Timer){ 1000000, false };
    s->timers[0] = (Timer){ INT64_MIN, true };
    s->timers[1] = (Timer){ INT64_MAX, false };
    s->fifo.count = 18;
    for (size_t i = 0; i < 16; i++) {
        s->fifo.data[i] = (uint8_t)(i * 16);
    }
    s->fifo.data[16] = 0xff;
    s->fifo.data[17] = 1;
    s->poll_needed = false;
}

static void test_serial(void)
{
    Serial s;
    serial_init(&s);
    g_autofree char *text = pretty_serial(&s);
    ASSERT_STR_EQ(text, serial_text);
}

/* Build text from a walk written inline. */
#define PRETTY(walk)                                                            \
    ({                                                                          \
        GError *err_ = NULL;                                                    \
        GError **errp = &err_;                                                  \
        Visitor *v = pretty_output_visitor_new();                               \
        bool pok_ = (walk);                                                     \
        CU_ASSERT_TRUE(pok_);                                                   \
        ASSERT_NO_ERROR(err_);                                                  \
        char *text_ = pretty_output_visitor_take(v);                            \
        visit_free(v);                                                          \
        text_;                                                                  \
    })

static bool visit_empty_struct(Visitor *v, const char *name, VisitStructInfo *info,
                               GError **errp)
{
    if (!visit_start_struct(v, name, info, errp)) {
        return false;
    }
    visit_end_struct(v);
    return true;
}

static void test_scalars(void)
{
    uint8_t u8 = 0;
    uint16_t u16 = 65535;
    int64_t i64 = -42;
    bool b = false;
    double d = -0.1;
    char *str = (char *)"a \"quoted\"\tline\n\\";
    char *null_str = NULL;

    g_autofree char *t1 = PRETTY(visit_type_uint8(v, NULL, &u8, errp));
    ASSERT_STR_EQ(t1, "uint8 = 0 (0x00)\n");
    g_autofree char *t2 = PRETTY(visit_type_uint16(v, "x", &u16, errp) &&
                                 visit_type_int64(v, "y", &i64, errp) &&
                                 visit_type_bool(v, NULL, &b, errp));
    ASSERT_STR_EQ(t2, "x: uint16 = 65535 (0xffff)\ny: int64 = -42\nbool = false\n");
    g_autofree char *t3 = PRETTY(visit_type_str(v, "s", &str, errp) &&
                                 visit_type_str(v, "n", &null_str, errp));
    ASSERT_STR_EQ(t3, "s: string = \"a \\\"quoted\\\"\\tline\\n\\\\\"\nn: string = (null)\n");
    g_autofree char *t4 = PRETTY(visit_type_number(v, "d", &d, errp));
    ASSERT_STR_EQ(t4, "d: double = -0.1\n");
}

static void test_doubles(void)
{
    double values[] = { 0.0, 1.0, 1e100, 1.0 / 3.0, 5e-324, 0.1 + 0.2 };
    g_autofree char *text =
        PRETTY(VISIT_LIST(v, "d", G_N_ELEMENTS(values), errp,
                          visit_type_number(v, NULL, &values[i], errp)));
    ASSERT_STR_EQ(text, "d: double[6] = [0, 1, 1e+100, 0.3333333333333333, "
                        "4.94065645841247e-324, 0.30000000000000004]\n");
}

/* A nameless list of `n` times the same uint8. */
static bool visit_u8_repeated(Visitor *v, size_t n, uint8_t *u8, GError **errp)
{
    return VISIT_LIST(v, NULL, n, errp, visit_type_uint8(v, NULL, u8, errp));
}

static void test_lists(void)
{
    bool flags[2] = { true, false };
    uint64_t big[1] = { 0x123456789 };
    char *names[2] = { (char *)"a", (char *)"b" };
    int32_t sixteen[16], seventeen[17];
    uint8_t u8 = 7;
    int8_t i8 = -7;
    for (int i = 0; i < 17; i++) {
        if (i < 16) {
            sixteen[i] = i - 8;
        }
        seventeen[i] = i;
    }

    g_autofree char *t1 = PRETTY(VISIT_LIST(v, "flags", 2, errp,
                                            visit_type_bool(v, NULL, &flags[i], errp)) &&
                                 VISIT_LIST(v, "big", 1, errp,
                                            visit_type_uint64(v, NULL, &big[i], errp)) &&
                                 VISIT_LIST(v, "none", 0, errp, false));
    ASSERT_STR_EQ(t1, "flags: bool[2] = [true, false]\n"
                      "big: uint64[1] = [0x0000000123456789]\n"
                      "none: list[0] = []\n");

    /* 16 numbers fit on a line, 17 do not. */
    g_autofree char *t2 = PRETTY(VISIT_LIST(v, "l", 16, errp,
                                            visit_type_int32(v, NULL, &sixteen[i], errp)));
    ASSERT_STR_EQ(t2, "l: int32[16] = [-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7]\n");
    g_autofree char *t3 = PRETTY(VISIT_LIST(v, "l", 17, errp,
                                            visit_type_int32(v, NULL, &seventeen[i], errp)));
    g_autoptr(GString) expect = g_string_new("l: int32[17] [\n");
    for (int i = 0; i < 17; i++) {
        g_string_append_printf(expect, "  [%d]: int32 = %d\n", i, i);
    }
    g_string_append(expect, "]\n");
    ASSERT_STR_EQ(t3, expect->str);

    /* Strings, mixed types and lists of lists print one element a line. */
    g_autofree char *t4 = PRETTY(VISIT_LIST(v, "names", 2, errp,
                                            visit_type_str(v, NULL, &names[i], errp)) &&
                                 VISIT_LIST(v, "mixed", 2, errp,
                                            i ? visit_type_int8(v, NULL, &i8, errp)
                                              : visit_type_uint8(v, NULL, &u8, errp)) &&
                                 VISIT_LIST(v, "nested", 2, errp,
                                            visit_u8_repeated(v, i, &u8, errp)));
    ASSERT_STR_EQ(t4, "names: string[2] [\n"
                      "  [0]: string = \"a\"\n"
                      "  [1]: string = \"b\"\n"
                      "]\n"
                      "mixed: list[2] [\n"
                      "  [0]: uint8 = 7 (0x07)\n"
                      "  [1]: int8 = -7\n"
                      "]\n"
                      "nested: list[2] [\n"
                      "  [0]: list[0] = []\n"
                      "  [1]: uint8[1] = [0x07]\n"
                      "]\n");
}

static void test_buffers(void)
{
    uint8_t b16[16], b17[17];
    g_autofree uint8_t *big = g_malloc0(0x10001);
    for (int i = 0; i < 17; i++) {
        if (i < 16) {
            b16[i] = (uint8_t)(0xf0 + i);
        }
        b17[i] = (uint8_t)i;
    }
    big[0x10000] = 0xaa;

    g_autofree char *t1 = PRETTY(visit_type_buffer(v, "empty", b16, 0, errp) &&
                                 visit_type_buffer(v, "row", b16, 16, errp) &&
                                 visit_type_buffer(v, "rows", b17, 17, errp));
    ASSERT_STR_EQ(t1, "empty: buffer[0] = (empty)\n"
                      "row: buffer[16] = f0 f1 f2 f3 f4 f5 f6 f7 f8 f9 fa fb fc fd fe ff\n"
                      "rows: buffer[17] =\n"
                      "  0000: 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f\n"
                      "  0010: 10\n");

    /* Offsets widen past 64 KiB. */
    g_autofree char *t2 = PRETTY(visit_type_buffer(v, "ram", big, 0x10001, errp));
    CU_ASSERT_TRUE(g_str_has_prefix(t2, "ram: buffer[65537] =\n"
                                        "  00000: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00\n"
                                        "  00010: 00"));
    CU_ASSERT_TRUE(g_str_has_suffix(t2, "\n"
                                        "  0fff0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00\n"
                                        "  10000: aa\n"));
}

static void test_structs(void)
{
    VisitStructInfo plain = { VISIT_STRUCT_PLAIN, "ignored", 9 };
    VisitStructInfo vmsd = { VISIT_STRUCT_VMSD, NULL, 4 };
    VisitStructInfo sub = { VISIT_STRUCT_SUBSECTION, "serial/fifo", 1 };
    uint8_t u8 = 1;

    g_autofree char *t1 = PRETTY(visit_empty_struct(v, "a", NULL, errp) &&
                                 visit_empty_struct(v, "b", &plain, errp) &&
                                 visit_empty_struct(v, "c", &vmsd, errp) &&
                                 visit_empty_struct(v, "fifo", &sub, errp) &&
                                 visit_empty_struct(v, NULL, &sub, errp) &&
                                 visit_empty_struct(v, NULL, NULL, errp));
    ASSERT_STR_EQ(t1, "a {}\n"
                      "b {}\n"
                      "c (version 4) {}\n"
                      "fifo (subsection serial/fifo, version 1) {}\n"
                      "subsection serial/fifo, version 1 {}\n"
                      "{}\n");

    GError *err = NULL;
    Visitor *v = pretty_output_visitor_new();
    CU_ASSERT_TRUE(visit_start_struct(v, NULL, NULL, &err));
    CU_ASSERT_TRUE(visit_start_struct(v, "inner", NULL, &err));
    CU_ASSERT_TRUE(visit_type_uint8(v, "x", &u8, &err));
    visit_end_struct(v);
    visit_end_struct(v);
    ASSERT_NO_ERROR(err);
    g_autofree char *t2 = pretty_output_visitor_take(v);
    visit_free(v);
    ASSERT_STR_EQ(t2, "{\n"
                      "  inner {\n"
                      "    x: uint8 = 1 (0x01)\n"
                      "  }\n"
                      "}\n");
}

static void test_take_resets(void)
{
    GError *err = NULL;
    uint8_t u8 = 9;
    Visitor *v = pretty_output_visitor_new();
    g_autofree char *none = pretty_output_visitor_take(v);
    ASSERT_STR_EQ(none, "");
    CU_ASSERT_TRUE(visit_type_uint8(v, "a", &u8, &err));
    g_autofree char *first = pretty_output_visitor_take(v);
    CU_ASSERT_TRUE(visit_type_uint8(v, "b", &u8, &err));
    g_autofree char *second = pretty_output_visitor_take(v);
    ASSERT_NO_ERROR(err);
    visit_free(v);
    ASSERT_STR_EQ(first, "a: uint8 = 9 (0x09)\n");
    ASSERT_STR_EQ(second, "b: uint8 = 9 (0x09)\n");

    /* Freed with an unfinished walk and untaken text: no leak (ASan checks). */
    v = pretty_output_visitor_new();
    CU_ASSERT_TRUE(visit_start_struct(v, "s", NULL, &err));
    CU_ASSERT_TRUE(visit_type_uint8(v, "a", &u8, &err));
    visit_free(v);
}

static void test_null(void)
{
    GError *err = NULL;
    uint8_t u8 = 1;
    size_t len = 2;
    Visitor *v = pretty_output_visitor_new();
    CU_ASSERT_TRUE(visit_type_null(v, "gap", &err));
    CU_ASSERT_TRUE(visit_start_list(v, "ptrs", &len, &err));
    visit_next_list(v);
    CU_ASSERT_TRUE(visit_type_null(v, NULL, &err));
    visit_next_list(v);
    CU_ASSERT_TRUE(visit_type_uint8(v, NULL, &u8, &err));
    visit_end_list(v);
    ASSERT_NO_ERROR(err);
    g_autofree char *text = pretty_output_visitor_take(v);
    visit_free(v);
    ASSERT_STR_EQ(text, "gap: null\n"
                        "ptrs: list[2] [\n"
                        "  [0]: null\n"
                        "  [1]: uint8 = 1 (0x01)\n"
                        "]\n");
}

static const CuTest pretty_tests[] = {
    { "serial device", test_serial },
    { "scalars", test_scalars },
    { "doubles", test_doubles },
    { "lists", test_lists },
    { "buffers", test_buffers },
    { "structs", test_structs },
    { "take resets", test_take_resets },
    { "null", test_null },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "pretty-output-visitor", pretty_tests },
    { NULL, NULL },
};

CUTEST_MAIN(suites)

/*
 * Unit tests for the BER visitors and the TLV layer under them: exact bytes
 * for small cases, the output read by a real ASN.1 tool (openssl
 * asn1parse), round trips through the VMState engine, type-checked loads
 * (the exact error for each kind of mismatch), versions, and broken input
 * (truncation at every byte, bad lengths, a depth bomb, bad contents) with
 * exact errors.
 */
#include "config.h"

#include <sys/wait.h>
#include <glib/gstdio.h>

#include "cutest.h"
#include "vmscope/ber-visitor.h"
#include "vmscope/error.h"
#include "vmscope/format.h"
#include "vmscope/vmstate.h"
#include "vmstate-test-dev.h"

/* ---- a small device, in two builds ----------------------------------- */

typedef struct Uart {
    uint16_t divider;
    uint8_t lcr;
    uint8_t fifo[4];
    uint32_t regs[2];
    int64_t expiry;
} Uart;

static bool uart_timer_needed(void *opaque)
{
    return ((Uart *)opaque)->expiry != 0;
}

static const VMStateDescription vmstate_uart_timer = {
    .name = "uart/timer",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = uart_timer_needed,
    .fields = (const VMStateField[]) {
        VMSTATE_INT64(expiry, Uart),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_uart = {
    .name = "uart",
    .version_id = 2,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT16(divider, Uart),
        VMSTATE_UINT8(lcr, Uart),
        VMSTATE_BUFFER(fifo, Uart),
        VMSTATE_UINT32_ARRAY_V(regs, Uart, 2, 2),
        VMSTATE_END_OF_LIST()
    },
    .subsections = (const VMStateDescription *const[]) { &vmstate_uart_timer, NULL },
};

static void uart_init(Uart *u)
{
    memset(u, 0, sizeof(*u));
    u->divider = 12;
    u->lcr = 3;
    memcpy(u->fifo, "abcd", 4);
    u->regs[0] = 1;
    u->regs[1] = 0x80000000;
    u->expiry = -2;
}

/* vmstate_uart over uart_init's values, worked out by hand from docs/ber.md. */
static const uint8_t UART_BER[] = {
    0x62, 0x57,                                         /* [APPLICATION 2], 87 bytes */
    0x0c, 0x04, 'u', 'a', 'r', 't',                     /*   description "uart" */
    0x02, 0x01, 0x02,                                   /*   version 2 */
    0x0c, 0x07, 'd', 'i', 'v', 'i', 'd', 'e', 'r',
    0x85, 0x01, 0x0c,                                   /*   [5] uint16 12 */
    0x0c, 0x03, 'l', 'c', 'r',
    0x84, 0x01, 0x03,                                   /*   [4] uint8 3 */
    0x0c, 0x04, 'f', 'i', 'f', 'o',
    0x04, 0x04, 'a', 'b', 'c', 'd',                     /*   OCTET STRING */
    0x0c, 0x04, 'r', 'e', 'g', 's',
    0x30, 0x0a,                                         /*   SEQUENCE (list) */
    0x86, 0x01, 0x01,                                   /*     [6] uint32 1 */
    0x86, 0x05, 0x00, 0x80, 0x00, 0x00, 0x00,           /*     [6] uint32 0x80000000 */
    0x0c, 0x0a, 'u', 'a', 'r', 't', '/', 't', 'i', 'm', 'e', 'r',
    0x63, 0x0e,                                         /*   [APPLICATION 3] subsection */
    0x02, 0x01, 0x01,                                   /*     version 1 */
    0x0c, 0x06, 'e', 'x', 'p', 'i', 'r', 'y',
    0x83, 0x01, 0xfe,                                   /*     [3] int64 -2 */
};

static GBytes *save(const VMStateDescription *vmsd, void *opaque)
{
    GError *err = NULL;
    Visitor *v = ber_output_visitor_new();
    CU_ASSERT_TRUE(vmstate_save(v, vmsd, opaque, NULL, &err));
    ASSERT_NO_ERROR(err);
    GBytes *out = ber_output_visitor_take(v);
    visit_free(v);
    return out;
}

static bool load(const uint8_t *data, size_t len, const VMStateDescription *vmsd, void *opaque,
                 GError **errp)
{
    Visitor *v = ber_input_visitor_new(data, len, 0, errp);
    if (!v) {
        return false;
    }
    bool ok = vmstate_load(v, vmsd, opaque, vmsd->version_id, NULL, errp);
    visit_free(v);
    return ok;
}

static bool load_bytes(GBytes *b, const VMStateDescription *vmsd, void *opaque, GError **errp)
{
    gsize len;
    const uint8_t *p = g_bytes_get_data(b, &len);
    return load(p, len, vmsd, opaque, errp);
}

static void assert_bytes(GBytes *b, const uint8_t *expected, size_t len)
{
    gsize n;
    const uint8_t *p = g_bytes_get_data(b, &n);
    CU_ASSERT_EQUAL_FATAL(n, len);
    for (size_t i = 0; i < len; i++) {
        if (p[i] != expected[i]) {
            fprintf(stderr, "\nbyte %zu: 0x%02x, expected 0x%02x\n", i, p[i], expected[i]);
            CU_FAIL("bytes differ");
            return;
        }
    }
}

/* ---- exact bytes --------------------------------------------------------- */

static void test_exact_uart(void)
{
    Uart u;
    uart_init(&u);
    g_autoptr(GBytes) b = save(&vmstate_uart, &u);
    assert_bytes(b, UART_BER, sizeof(UART_BER));

    Uart t = { 0 };
    GError *err = NULL;
    CU_ASSERT_TRUE(load(UART_BER, sizeof(UART_BER), &vmstate_uart, &t, &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(memcmp(&t, &u, sizeof(u)), 0);
}

/* A list of integers at their extremes: the minimal two's complement contents. */
static void test_exact_integers(void)
{
    int64_t s[] = { 0, -1, 127, 128, -128, -129, INT64_MIN, INT64_MAX };
    uint64_t u[] = { 0, 255, 256, UINT64_MAX };
    size_t n = G_N_ELEMENTS(s) + G_N_ELEMENTS(u) + 1;
    GError *err = NULL;
    Visitor *v = ber_output_visitor_new();
    CU_ASSERT_TRUE(visit_start_list(v, NULL, &n, &err));
    for (size_t i = 0; i < G_N_ELEMENTS(s); i++) {
        visit_next_list(v);
        CU_ASSERT_TRUE(visit_type_int64(v, NULL, &s[i], &err));
    }
    for (size_t i = 0; i < G_N_ELEMENTS(u); i++) {
        visit_next_list(v);
        CU_ASSERT_TRUE(visit_type_uint64(v, NULL, &u[i], &err));
    }
    bool b = false;
    visit_next_list(v);
    CU_ASSERT_TRUE(visit_type_bool(v, NULL, &b, &err));
    visit_end_list(v);
    g_autoptr(GBytes) out = ber_output_visitor_take(v);
    visit_free(v);
    static const uint8_t expected[] = {
        0x30, 0x41,
        0x83, 0x01, 0x00,                                       /* 0 */
        0x83, 0x01, 0xff,                                       /* -1 */
        0x83, 0x01, 0x7f,                                       /* 127 */
        0x83, 0x02, 0x00, 0x80,                                 /* 128 */
        0x83, 0x01, 0x80,                                       /* -128 */
        0x83, 0x02, 0xff, 0x7f,                                 /* -129 */
        0x83, 0x08, 0x80, 0, 0, 0, 0, 0, 0, 0,                  /* INT64_MIN */
        0x83, 0x08, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0x87, 0x01, 0x00,                                       /* 0 */
        0x87, 0x02, 0x00, 0xff,                                 /* 255 */
        0x87, 0x02, 0x01, 0x00,                                 /* 256 */
        0x87, 0x09, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0x01, 0x01, 0x00,                                       /* false */
    };
    assert_bytes(out, expected, sizeof(expected));
}

/* Contents of 128 bytes and more take a long-form length, here and in the parent. */
static void test_exact_long_lengths(void)
{
    uint8_t buf[200];
    for (size_t i = 0; i < sizeof(buf); i++) {
        buf[i] = (uint8_t)i;
    }
    GError *err = NULL;
    Visitor *v = ber_output_visitor_new();
    CU_ASSERT_TRUE(visit_start_struct(v, NULL, NULL, &err));
    CU_ASSERT_TRUE(visit_type_buffer(v, "b", buf, sizeof(buf), &err));
    visit_end_struct(v);
    g_autoptr(GBytes) out = ber_output_visitor_take(v);
    visit_free(v);
    gsize n;
    const uint8_t *p = g_bytes_get_data(out, &n);
    static const uint8_t head[] = { 0x61, 0x81, 0xce, 0x0c, 0x01, 'b', 0x04, 0x81, 0xc8 };
    CU_ASSERT_EQUAL_FATAL(n, sizeof(head) + sizeof(buf));
    CU_ASSERT_EQUAL(memcmp(p, head, sizeof(head)), 0);
    CU_ASSERT_EQUAL(memcmp(p + sizeof(head), buf, sizeof(buf)), 0);
}

/* ---- a real ASN.1 tool --------------------------------------------------- */

/* `openssl asn1parse -i` of bytes: its output, and whether it succeeded. */
static bool asn1parse(GBytes *b, char **out)
{
    GError *err = NULL;
    g_autofree char *dir = g_dir_make_tmp("test-ber-XXXXXX", &err);
    g_assert_no_error(err);
    g_autofree char *file = g_build_filename(dir, "value.der", NULL);
    gsize n;
    const char *p = g_bytes_get_data(b, &n);
    g_assert_true(g_file_set_contents(file, p, (gssize)n, &err));
    const char *argv[] = { "openssl", "asn1parse", "-inform", "DER", "-i", "-in", file, NULL };
    int status = -1;
    char *errout = NULL;
    bool spawned = g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, out,
                                &errout, &status, &err);
    if (!spawned) {
        fprintf(stderr, "\ncannot run openssl (install the Debian package openssl): %s\n",
                err->message);
        g_clear_error(&err);
    } else if (errout && *errout) {
        fprintf(stderr, "\nopenssl: %s\n", errout);
    }
    g_free(errout);
    g_unlink(file);
    g_rmdir(dir);
    return spawned && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void test_openssl_reads_it(void)
{
    Uart u;
    uart_init(&u);
    g_autoptr(GBytes) b = save(&vmstate_uart, &u);
    g_autofree char *out = NULL;
    CU_ASSERT_TRUE_FATAL(asn1parse(b, &out));
    ASSERT_STR_EQ(out,
        "    0:d=0  hl=2 l=  87 cons: appl [ 2 ]        \n"
        "    2:d=1  hl=2 l=   4 prim:  UTF8STRING        :uart\n"
        "    8:d=1  hl=2 l=   1 prim:  INTEGER           :02\n"
        "   11:d=1  hl=2 l=   7 prim:  UTF8STRING        :divider\n"
        "   20:d=1  hl=2 l=   1 prim:  cont [ 5 ]        \n"
        "   23:d=1  hl=2 l=   3 prim:  UTF8STRING        :lcr\n"
        "   28:d=1  hl=2 l=   1 prim:  cont [ 4 ]        \n"
        "   31:d=1  hl=2 l=   4 prim:  UTF8STRING        :fifo\n"
        "   37:d=1  hl=2 l=   4 prim:  OCTET STRING      :abcd\n"
        "   43:d=1  hl=2 l=   4 prim:  UTF8STRING        :regs\n"
        "   49:d=1  hl=2 l=  10 cons:  SEQUENCE          \n"
        "   51:d=2  hl=2 l=   1 prim:   cont [ 6 ]        \n"
        "   54:d=2  hl=2 l=   5 prim:   cont [ 6 ]        \n"
        "   61:d=1  hl=2 l=  10 prim:  UTF8STRING        :uart/timer\n"
        "   73:d=1  hl=2 l=  14 cons:  appl [ 3 ]        \n"
        "   75:d=2  hl=2 l=   1 prim:   INTEGER           :01\n"
        "   78:d=2  hl=2 l=   6 prim:   UTF8STRING        :expiry\n"
        "   86:d=2  hl=2 l=   1 prim:   cont [ 3 ]        \n");

    /* The device with every kind of field: openssl reads all of it. */
    Dev d;
    dev_init(&d);
    g_autoptr(GBytes) big = save(&vmstate_dev, &d);
    g_autofree char *out2 = NULL;
    CU_ASSERT_TRUE(asn1parse(big, &out2));
    CU_ASSERT_PTR_NOT_NULL(strstr(out2, "UTF8STRING        :dev/extra\n"));
    CU_ASSERT_PTR_NULL(strstr(out2, "error"));
}

/* ---- round trips ---------------------------------------------------------- */

static void test_roundtrip_dev(void)
{
    Dev d, t;
    dev_init(&d);
    dev_init_target(&t);
    g_autoptr(GBytes) b = save(&vmstate_dev, &d);
    GError *err = NULL;
    CU_ASSERT_TRUE(load_bytes(b, &vmstate_dev, &t, &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(memcmp(&t, &d, sizeof(d)), 0);

    /* The same through the format table, as the agent and vmscope-view use it. */
    const VmsFormat *f = vms_format_lookup("ber");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_TRUE(f->binary);
    ASSERT_STR_EQ(f->content_type, "application/x-vmscope-ber");
    Visitor *v = f->output_new();
    CU_ASSERT_TRUE(vmstate_save(v, &vmstate_dev, &d, NULL, &err));
    g_autoptr(GBytes) b2 = f->output_take(v);
    visit_free(v);
    CU_ASSERT_TRUE(g_bytes_equal(b, b2));
    dev_init_target(&t);
    v = f->input_new(b2, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_TRUE(vmstate_load(v, &vmstate_dev, &t, 3, NULL, &err));
    ASSERT_NO_ERROR(err);
    visit_free(v);
    CU_ASSERT_EQUAL(memcmp(&t, &d, sizeof(d)), 0);
}

/* Strings, doubles, nulls and unnamed lists: what the VMState engine never visits. */
static void test_roundtrip_other_kinds(void)
{
    GError *err = NULL;
    Visitor *v = ber_output_visitor_new();
    char *s = "h\xc3\xa9llo";
    double d = -0.1;
    CU_ASSERT_TRUE(visit_start_struct(v, "top", NULL, &err));
    CU_ASSERT_TRUE(visit_type_str(v, "s", &s, &err));
    CU_ASSERT_TRUE(visit_type_number(v, "d", &d, &err));
    CU_ASSERT_TRUE(visit_type_null(v, "n", &err));
    visit_end_struct(v);
    g_autoptr(GBytes) b = ber_output_visitor_take(v);
    visit_free(v);

    v = ber_input_visitor_new_bytes(b, &err);
    ASSERT_NO_ERROR(err);
    char *s2 = NULL;
    double d2 = 0;
    CU_ASSERT_TRUE(visit_start_struct(v, "top", NULL, &err));
    CU_ASSERT_TRUE(visit_type_null(v, "n", &err));      /* any order */
    CU_ASSERT_TRUE(visit_type_number(v, "d", &d2, &err));
    CU_ASSERT_TRUE(visit_type_str(v, "s", &s2, &err));
    CU_ASSERT_TRUE(visit_check_struct(v, &err));
    visit_end_struct(v);
    visit_free(v);
    ASSERT_NO_ERROR(err);
    ASSERT_STR_EQ(s2, s);
    CU_ASSERT_EQUAL(d2, d);
    g_free(s2);
}

/* ---- type-checked loads ------------------------------------------------- */

/* The same device, a field of it built differently. */
typedef struct Serial16 { uint16_t divider; uint8_t ier; } Serial16;
typedef struct Serial32 { uint32_t divider; uint8_t ier; } Serial32;

static const VMStateDescription vmstate_serial16 = {
    .name = "serial", .version_id = 2, .minimum_version_id = 2,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT16(divider, Serial16), VMSTATE_UINT8(ier, Serial16), VMSTATE_END_OF_LIST()
    },
};
static const VMStateDescription vmstate_serial32 = {
    .name = "serial", .version_id = 2, .minimum_version_id = 2,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(divider, Serial32), VMSTATE_UINT8(ier, Serial32), VMSTATE_END_OF_LIST()
    },
};

/* Load bytes into a Uart with vmsd; the error text (or NULL), the Uart left as before on failure. */
static char *load_error(GBytes *b, const VMStateDescription *vmsd, size_t size)
{
    GError *err = NULL;
    gsize len;
    const uint8_t *p = g_bytes_get_data(b, &len);
    Visitor *v = ber_input_visitor_new(p, len, 0, &err);
    if (v) {
        g_autofree uint8_t *state = g_malloc0(size);
        vmstate_load_copy(v, vmsd, state, size, vmsd->version_id, NULL, &err);
        visit_free(v);
    }
    char *msg = err ? g_strdup(err->message) : NULL;
    g_clear_error(&err);
    return msg;
}

static void test_type_mismatch(void)
{
    Serial16 s16 = { .divider = 12, .ier = 1 };
    g_autoptr(GBytes) b = save(&vmstate_serial16, &s16);
    g_autofree char *e = load_error(b, &vmstate_serial32, sizeof(Serial32));
    ASSERT_STR_EQ(e, "serial.divider: stream has uint16, description expects uint32");

    Serial32 s32 = { .divider = 12, .ier = 1 };
    g_autoptr(GBytes) b2 = save(&vmstate_serial32, &s32);
    g_autofree char *e2 = load_error(b2, &vmstate_serial16, sizeof(Serial16));
    ASSERT_STR_EQ(e2, "serial.divider: stream has uint32, description expects uint16");
}

/* Descriptions of a Uart that each differ from vmstate_uart in one way. */
#define UART_LIKE(_name, ...)                                                   \
    static const VMStateDescription _name = {                                   \
        .name = "uart", .version_id = 2, .minimum_version_id = 1,               \
        .fields = (const VMStateField[]) { __VA_ARGS__, VMSTATE_END_OF_LIST() }, \
        .subsections = (const VMStateDescription *const[]) { &vmstate_uart_timer, NULL }, \
    }

typedef struct UartWide { uint16_t divider; uint8_t lcr; uint8_t fifo[8]; } UartWide;
typedef struct UartSigned { int16_t divider; } UartSigned;
typedef struct UartScr { uint16_t divider; uint8_t lcr; uint8_t fifo[4]; uint32_t regs[2]; uint8_t scr; } UartScr;
typedef struct UartThree { uint16_t divider; uint8_t lcr; uint8_t fifo[4]; uint32_t regs[3]; } UartThree;
typedef struct UartOne { uint16_t divider; uint8_t lcr; uint8_t fifo[4]; uint32_t regs[1]; } UartOne;
typedef struct UartScalar { uint16_t divider; uint8_t lcr; uint8_t fifo[4]; uint32_t regs; } UartScalar;

UART_LIKE(uart_signed, VMSTATE_INT16(divider, UartSigned));
UART_LIKE(uart_bigger_fifo, VMSTATE_UINT16(divider, UartWide), VMSTATE_UINT8(lcr, UartWide),
          VMSTATE_BUFFER(fifo, UartWide));
UART_LIKE(uart_fifo_as_list, VMSTATE_UINT16(divider, Uart), VMSTATE_UINT8(lcr, Uart),
          VMSTATE_UINT8_ARRAY(fifo, Uart, 4));
UART_LIKE(uart_missing_field, VMSTATE_UINT16(divider, UartScr), VMSTATE_UINT8(lcr, UartScr),
          VMSTATE_BUFFER(fifo, UartScr), VMSTATE_UINT32_ARRAY_V(regs, UartScr, 2, 2),
          VMSTATE_UINT8(scr, UartScr));
UART_LIKE(uart_three_regs, VMSTATE_UINT16(divider, UartThree), VMSTATE_UINT8(lcr, UartThree),
          VMSTATE_BUFFER(fifo, UartThree), VMSTATE_UINT32_ARRAY(regs, UartThree, 3));
UART_LIKE(uart_one_reg, VMSTATE_UINT16(divider, UartOne), VMSTATE_UINT8(lcr, UartOne),
          VMSTATE_BUFFER(fifo, UartOne), VMSTATE_UINT32_ARRAY(regs, UartOne, 1));
UART_LIKE(uart_scalar_reg, VMSTATE_UINT16(divider, UartScalar), VMSTATE_UINT8(lcr, UartScalar),
          VMSTATE_BUFFER(fifo, UartScalar), VMSTATE_UINT32(regs, UartScalar));
UART_LIKE(uart_extra_field, VMSTATE_UINT16(divider, Uart), VMSTATE_UINT8(lcr, Uart),
          VMSTATE_BUFFER(fifo, Uart));
UART_LIKE(uart_struct_field, VMSTATE_STRUCT(divider, Uart, 0, vmstate_uart_timer, uint16_t));

static const VMStateDescription uart_no_subsections = {
    .name = "uart", .version_id = 2, .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT16(divider, Uart), VMSTATE_UINT8(lcr, Uart), VMSTATE_BUFFER(fifo, Uart),
        VMSTATE_UINT32_ARRAY_V(regs, Uart, 2, 2), VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription uart_v1 = {
    .name = "uart", .version_id = 1, .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT16(divider, Uart), VMSTATE_UINT8(lcr, Uart), VMSTATE_BUFFER(fifo, Uart),
        VMSTATE_END_OF_LIST()
    },
    .subsections = (const VMStateDescription *const[]) { &vmstate_uart_timer, NULL },
};

static const VMStateDescription serial_named = {
    .name = "serial", .version_id = 2, .minimum_version_id = 1,
    .fields = (const VMStateField[]) { VMSTATE_UINT16(divider, Uart), VMSTATE_END_OF_LIST() },
};

static void test_typecheck_errors(void)
{
    Uart u;
    uart_init(&u);
    g_autoptr(GBytes) b = save(&vmstate_uart, &u);
    struct {
        const VMStateDescription *vmsd;
        size_t size;
        const char *error;
    } cases[] = {
        { &uart_signed, sizeof(UartSigned),
          "uart.divider: stream has uint16, description expects int16" },
        { &uart_bigger_fifo, sizeof(UartWide),
          "uart.fifo: stream has buffer[4], description expects buffer[8]" },
        { &uart_fifo_as_list, sizeof(Uart),
          "uart.fifo: stream has buffer[4], description expects list" },
        { &uart_missing_field, sizeof(UartScr), "uart.scr: missing from the stream" },
        { &uart_extra_field, sizeof(Uart), "uart: unexpected field 'regs' in the stream" },
        { &uart_struct_field, sizeof(Uart),
          "uart.divider: stream has uint16, description expects struct uart/timer" },
        { &uart_no_subsections, sizeof(Uart),
          "uart: unexpected subsection 'uart/timer' in the stream" },
        { &uart_v1, sizeof(Uart),
          "uart: incoming version 2 of uart is newer than the supported version 1" },
        { &serial_named, sizeof(Uart),
          "serial: stream has struct uart, description expects struct serial" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *e = load_error(b, cases[i].vmsd, cases[i].size);
        ASSERT_STR_EQ(e, cases[i].error);
    }
}

/* List lengths, and a list where a scalar is expected. */
static void test_typecheck_lists(void)
{
    Uart u;
    uart_init(&u);
    g_autoptr(GBytes) b = save(&vmstate_uart, &u);
    g_autofree char *e1 = load_error(b, &uart_three_regs, sizeof(UartThree));
    ASSERT_STR_EQ(e1, "uart.regs: stream has 2 elements, description expects 3");
    g_autofree char *e2 = load_error(b, &uart_one_reg, sizeof(UartOne));
    ASSERT_STR_EQ(e2, "uart.regs: stream has 2 elements, description expects 1");
    g_autofree char *e3 = load_error(b, &uart_scalar_reg, sizeof(UartScalar));
    ASSERT_STR_EQ(e3, "uart.regs: stream has list, description expects uint32");
}

static const VMStateDescription timer_v0 = {
    .name = "uart/timer", .version_id = 0,
    .fields = (const VMStateField[]) { VMSTATE_INT64(expiry, Uart), VMSTATE_END_OF_LIST() },
};
static const VMStateDescription uart_old_timer = {
    .name = "uart", .version_id = 2, .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT16(divider, Uart), VMSTATE_UINT8(lcr, Uart), VMSTATE_BUFFER(fifo, Uart),
        VMSTATE_UINT32_ARRAY_V(regs, Uart, 2, 2), VMSTATE_END_OF_LIST()
    },
    .subsections = (const VMStateDescription *const[]) { &timer_v0, NULL },
};

/* A member twice: the walk takes the first, and the struct's check names the other. */
static void test_typecheck_duplicate(void)
{
    static const uint8_t twice[] = {
        0x61, 0x0c, 0x0c, 0x01, 'a', 0x84, 0x01, 0x01, 0x0c, 0x01, 'a', 0x84, 0x01, 0x02,
    };
    GError *err = NULL;
    Visitor *v = ber_input_visitor_new(twice, sizeof(twice), 0, &err);
    ASSERT_NO_ERROR(err);
    uint8_t a = 0;
    CU_ASSERT_TRUE(visit_start_struct(v, "s", NULL, &err));
    CU_ASSERT_TRUE(visit_type_uint8(v, "a", &a, &err));
    CU_ASSERT_EQUAL(a, 1);
    CU_ASSERT_FALSE(visit_check_struct(v, &err));
    visit_end_struct(v);
    visit_free(v);
    ASSERT_ERROR(err, "s: duplicate field 'a' in the stream");
}

/* An older stream loads, the fields it lacks keep their defaults; a newer one is refused. */
static void test_versions(void)
{
    Uart u;
    uart_init(&u);
    g_autoptr(GBytes) v1 = save(&uart_v1, &u);      /* version 1: no regs */
    Uart t = { .regs = { 7, 8 } };
    GError *err = NULL;
    CU_ASSERT_TRUE(load_bytes(v1, &vmstate_uart, &t, &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(t.divider, 12);
    CU_ASSERT_EQUAL(t.regs[0], 7);
    CU_ASSERT_EQUAL(t.regs[1], 8);
    CU_ASSERT_EQUAL(t.expiry, -2);

    /* A subsection newer than the loader knows. */
    g_autoptr(GBytes) v2 = save(&vmstate_uart, &u);
    g_autofree char *e = load_error(v2, &uart_old_timer, sizeof(Uart));
    ASSERT_STR_EQ(e, "uart.uart/timer: incoming version 1 of uart/timer is newer than the "
                     "supported version 0");
}

/* ---- broken input ---------------------------------------------------------- */

static char *parse_error(const uint8_t *data, size_t len)
{
    GError *err = NULL;
    BerValue *bv = ber_value_parse(data, len, 0, &err);
    ber_value_free(bv);
    CU_ASSERT_PTR_NULL(bv);
    char *msg = err ? g_strdup(err->message) : NULL;
    g_clear_error(&err);
    return msg;
}

#define ASSERT_PARSE_ERROR(expected, ...)                                       \
    do {                                                                        \
        static const uint8_t in_[] = { __VA_ARGS__ };                           \
        g_autofree char *msg_ = parse_error(in_, sizeof(in_));                  \
        ASSERT_STR_EQ(msg_, expected);                                          \
    } while (0)

/* Every proper prefix of a value is refused, each with its exact error. */
static void test_truncation_at_every_byte(void)
{
    for (size_t cut = 0; cut < sizeof(UART_BER); cut++) {
        g_autofree char *e = parse_error(UART_BER, cut);
        g_autofree char *want = cut < 2
            ? g_strdup_printf("offset 0: truncated: need 2 bytes for an element's header, "
                              "%zu left", cut)
            : g_strdup_printf("offset 0: truncated: need %zu bytes, %zu left",
                              sizeof(UART_BER), cut);
        ASSERT_STR_EQ(e, want);
    }
    /* A long-form length cut inside its own bytes. */
    ASSERT_PARSE_ERROR("offset 0: truncated: need 4 bytes for an element's header, 3 left",
                       0x30, 0x82, 0x01);
}

static void test_bad_lengths(void)
{
    /* A child longer than what its parent declared. */
    uint8_t bad[sizeof(UART_BER)];
    memcpy(bad, UART_BER, sizeof(bad));
    bad[21] = 0x05;         /* the uint16 "divider" takes the 4 bytes after it too */
    g_autofree char *e = parse_error(bad, sizeof(bad));
    ASSERT_STR_EQ(e, "offset 20: uart.divider: value 51741158499 out of range for uint16");
    memcpy(bad, UART_BER, sizeof(bad));
    bad[74] = 0x30;         /* the subsection claims more than the struct has left */
    g_autofree char *e2 = parse_error(bad, sizeof(bad));
    ASSERT_STR_EQ(e2, "offset 73: uart.uart/timer: element of 50 bytes overruns its parent, "
                      "which has 16 left");

    ASSERT_PARSE_ERROR("offset 0: indefinite length: only definite lengths (DER) are allowed",
                       0x30, 0x80, 0x00, 0x00);
    ASSERT_PARSE_ERROR("offset 0: length too large (2 GiB or more)",
                       0x30, 0x84, 0xff, 0xff, 0xff, 0xff);
    ASSERT_PARSE_ERROR("offset 0: truncated: need 268435462 bytes, 6 left",
                       0x30, 0x84, 0x10, 0x00, 0x00, 0x00);
    ASSERT_PARSE_ERROR("offset 2: 3 bytes after the value", 0x05, 0x00, 0x05, 0x00, 0x00);
    /* A non-minimal length is BER, and accepted. */
    static const uint8_t long_form[] = { 0x30, 0x81, 0x03, 0x84, 0x01, 0x07 };
    BerValue *bv = ber_value_parse(long_form, sizeof(long_form), 0, NULL);
    CU_ASSERT_PTR_NOT_NULL(bv);
    ber_value_free(bv);
}

/* Lists nested deeper than BER_MAX_DEPTH: refused at the first level too deep. */
static void test_depth_bomb(void)
{
    ByteWriter w;
    BerWriter bw;
    byte_writer_init(&w);
    ber_writer_init(&bw, &w);
    for (int i = 0; i < 200; i++) {
        ber_open(&bw, BER_ID_LIST);
    }
    for (int i = 0; i < 200; i++) {
        ber_close(&bw);
    }
    ber_writer_clear(&bw);
    g_autoptr(GBytes) bomb = byte_writer_take(&w);
    byte_writer_clear(&w);
    gsize n;
    const uint8_t *p = g_bytes_get_data(bomb, &n);
    size_t at = 0;
    for (int i = 0; i <= BER_MAX_DEPTH; i++) {
        at += p[at + 1] & 0x80 ? 2 + (p[at + 1] & 0x7f) : 2;
    }
    g_autoptr(GString) want = g_string_new(NULL);
    g_string_append_printf(want, "offset %zu: ", at);
    for (int i = 0; i <= BER_MAX_DEPTH; i++) {
        g_string_append(want, "[0]");
    }
    g_string_append(want, ": nested deeper than 64 levels");
    g_autofree char *e = parse_error(p, n);
    ASSERT_STR_EQ(e, want->str);

    /* Lengths that do not nest: the first child claims more than its parent holds. */
    uint8_t liar[2000];
    for (size_t i = 0; i < sizeof(liar); i += 2) {
        liar[i] = BER_ID_LIST;
        liar[i + 1] = 0x7f;
    }
    g_autofree char *e2 = parse_error(liar, 129);
    ASSERT_STR_EQ(e2, "offset 2: [0]: element of 129 bytes overruns its parent, which has 127 left");
}

static void test_bad_contents(void)
{
    ASSERT_PARSE_ERROR("offset 0: tag 0x1f has a multi-byte number: not in the module",
                       0x1f, 0x81, 0x01, 0x00);
    ASSERT_PARSE_ERROR("offset 0: unknown element 0x06", 0x06, 0x01, 0x2a);
    ASSERT_PARSE_ERROR("offset 0: expected a value, found INTEGER", 0x02, 0x01, 0x00);
    ASSERT_PARSE_ERROR("offset 2: [0]: INTEGER of 2 bytes is not minimal",
                       0x30, 0x04, 0x84, 0x02, 0x00, 0x05);
    ASSERT_PARSE_ERROR("offset 2: [0]: value 300 out of range for uint8",
                       0x30, 0x04, 0x84, 0x02, 0x01, 0x2c);
    ASSERT_PARSE_ERROR("offset 2: [0]: value -1 out of range for uint32",
                       0x30, 0x03, 0x86, 0x01, 0xff);
    ASSERT_PARSE_ERROR("offset 2: [0]: value 128 out of range for int8",
                       0x30, 0x04, 0x80, 0x02, 0x00, 0x80);
    ASSERT_PARSE_ERROR("offset 2: [0]: INTEGER with no contents", 0x30, 0x02, 0x84, 0x00);
    ASSERT_PARSE_ERROR("offset 2: [0]: INTEGER of 9 bytes does not fit in 64 bits",
                       0x30, 0x0b, 0x83, 0x09, 0x01, 0, 0, 0, 0, 0, 0, 0, 0);
    ASSERT_PARSE_ERROR("offset 0: BOOLEAN of 2 bytes (expected 1)", 0x01, 0x02, 0xff, 0xff);
    ASSERT_PARSE_ERROR("offset 0: NULL of 1 bytes (expected 0)", 0x05, 0x01, 0x00);
    ASSERT_PARSE_ERROR("offset 0: number of 4 bytes (expected 8)", 0x88, 0x04, 0, 0, 0, 0);
    ASSERT_PARSE_ERROR("offset 0: string is not valid UTF-8", 0x89, 0x02, 0xc3, 0x28);
    ASSERT_PARSE_ERROR("offset 0: string contains a NUL byte", 0x89, 0x02, 'a', 0x00);
    /* Struct layout. */
    ASSERT_PARSE_ERROR("offset 2: expected a field name (UTF8String), found uint8",
                       0x61, 0x03, 0x84, 0x01, 0x00);
    ASSERT_PARSE_ERROR("offset 2: a: the field has no value", 0x61, 0x03, 0x0c, 0x01, 'a');
    ASSERT_PARSE_ERROR("offset 2: a field name is empty", 0x61, 0x04, 0x0c, 0x00, 0x05, 0x00);
    ASSERT_PARSE_ERROR("offset 2: a field name contains a NUL byte",
                       0x61, 0x05, 0x0c, 0x01, 0x00, 0x05, 0x00);
    ASSERT_PARSE_ERROR("offset 2: expected the description name (UTF8String), found INTEGER",
                       0x62, 0x03, 0x02, 0x01, 0x01);
    ASSERT_PARSE_ERROR("offset 5: d: expected the version (INTEGER), found null",
                       0x62, 0x05, 0x0c, 0x01, 'd', 0x05, 0x00);
    ASSERT_PARSE_ERROR("offset 5: d: the version out of range",
                       0x62, 0x06, 0x0c, 0x01, 'd', 0x02, 0x01, 0xff);
    ASSERT_PARSE_ERROR("offset 11: d.x: expected a value, found UTF8String",
                       0x62, 0x0b, 0x0c, 0x01, 'd', 0x02, 0x01, 0x01, 0x0c, 0x01, 'x', 0x0c,
                       0x00);
}

/* Whatever the bytes, parsing and loading never crash (ASan watches) and fail cleanly. */
static void test_mutations(void)
{
    Dev d;
    dev_init(&d);
    g_autoptr(GBytes) b = save(&vmstate_dev, &d);
    gsize len;
    const uint8_t *orig = g_bytes_get_data(b, &len);
    g_autofree uint8_t *buf = g_malloc(len);
    GRand *rand = g_rand_new_with_seed(13);
    for (int i = 0; i < 5000; i++) {
        memcpy(buf, orig, len);
        int flips = g_rand_int_range(rand, 1, 4);
        for (int k = 0; k < flips; k++) {
            buf[g_rand_int_range(rand, 0, (gint32)len)] = (uint8_t)g_rand_int(rand);
        }
        Dev t;
        dev_init_target(&t);
        GError *err = NULL;
        if (!load(buf, len, &vmstate_dev, &t, &err)) {
            CU_ASSERT_PTR_NOT_NULL(err);
        }
        g_clear_error(&err);
    }
    g_rand_free(rand);
}

static const CuTest encoding_tests[] = {
    { "exact bytes of a small device", test_exact_uart },
    { "exact bytes of integers", test_exact_integers },
    { "exact bytes of long lengths", test_exact_long_lengths },
    { "openssl asn1parse reads it", test_openssl_reads_it },
    { "round trip of every field kind", test_roundtrip_dev },
    { "round trip of strings, numbers, nulls", test_roundtrip_other_kinds },
    { NULL, NULL },
};

static const CuTest typecheck_tests[] = {
    { "a field that changed C type", test_type_mismatch },
    { "every kind of mismatch", test_typecheck_errors },
    { "list lengths", test_typecheck_lists },
    { "a member twice", test_typecheck_duplicate },
    { "versions", test_versions },
    { NULL, NULL },
};

static const CuTest broken_tests[] = {
    { "truncation at every byte", test_truncation_at_every_byte },
    { "bad lengths", test_bad_lengths },
    { "depth bomb", test_depth_bomb },
    { "bad contents", test_bad_contents },
    { "random mutations", test_mutations },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "ber encoding", encoding_tests },
    { "ber type-checked loads", typecheck_tests },
    { "ber broken input", broken_tests },
    { NULL, NULL },
};

CUTEST_MAIN(suites)

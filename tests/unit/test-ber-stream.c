/*
 * Unit tests for BER migration streams (lib/ber/ber-stream.c): every QEMU
 * stream fixture converted to BER and back is byte for byte the original,
 * and openssl reads the BER; a stream written by a device host (no vmdesc)
 * becomes a QEMU stream whose vmdesc is rebuilt from the BER alone;
 * truncation at every byte and broken elements are refused with exact
 * errors; and the hazard the format closes: a field that changed C type
 * without a version bump loads wrong values from QEMU's format without a
 * word, and is refused from BER with the path and both types.
 */
#include "config.h"

#include <sys/wait.h>
#include <glib/gstdio.h>

#include "cutest.h"
#include "stream-fixture.h"
#include "vmscope/ber-stream.h"
#include "vmscope/ber-visitor.h"
#include "vmscope/error.h"
#include "vmscope/qemufile-visitor.h"
#include "vmscope/qobject-visitor.h"
#include "vmstate-test-dev.h"

/* ---- fixtures ------------------------------------------------------------- */

static GBytes *to_ber(GBytes *qemu)
{
    GError *err = NULL;
    g_autoptr(QemuStream) qs = qemu_stream_parse(qemu, &err);
    ASSERT_NO_ERROR(err);
    GBytes *ber = ber_stream_from_qemu(qs, &err);
    ASSERT_NO_ERROR(err);
    return ber;
}

static GBytes *to_qemu(GBytes *ber)
{
    GError *err = NULL;
    g_autoptr(BerStream) bs = ber_stream_parse(ber, &err);
    ASSERT_NO_ERROR(err);
    GBytes *qemu = ber_stream_to_qemu(bs, &err);
    ASSERT_NO_ERROR(err);
    return qemu;
}

/* Every fixture vmscope reads: QEMU -> BER -> QEMU is the identity. */
static void test_fixtures_round_trip(void)
{
    g_autofree char *top = fixture_dir_default();
    const char *dirs[] = { top };
    int converted = 0;
    for (size_t k = 0; k < G_N_ELEMENTS(dirs); k++) {
        g_autoptr(GPtrArray) names = fixture_names(dirs[k]);
        for (guint i = 0; i < names->len; i++) {
            const char *name = g_ptr_array_index(names, i);
            g_autoptr(GBytes) qemu = fixture_stream(dirs[k], name);
            g_autoptr(GError) err = NULL;
            g_autoptr(QemuStream) qs = qemu_stream_parse(qemu, &err);
            if (!qs) {
                /* Only a stream without a vmdesc (pc20) needs descriptions from elsewhere. */
                CU_ASSERT_TRUE(g_error_matches(err, VMS_ERROR, VMS_ERROR_MISSING));
                continue;
            }
            g_autoptr(GBytes) ber = to_ber(qemu);
            gsize len;
            const uint8_t *p = g_bytes_get_data(ber, &len);
            CU_ASSERT_TRUE(ber_stream_is(p, len));
            g_autoptr(GBytes) back = to_qemu(ber);
            if (!g_bytes_equal(back, qemu)) {
                fprintf(stderr, "\n%s: QEMU -> BER -> QEMU differs\n", name);
                CU_FAIL("round trip");
            }
            converted++;
        }
    }
    CU_ASSERT_TRUE(converted >= 4);
}

/* openssl asn1parse reads a whole BER stream, element after element. */
static void test_openssl_reads_a_stream(void)
{
    g_autofree char *dir = fixture_dir_default();
    g_autoptr(GBytes) qemu = fixture_stream(dir, "pc-plain");
    g_autoptr(GBytes) ber = to_ber(qemu);
    GError *err = NULL;
    g_autofree char *tmp = g_dir_make_tmp("test-ber-stream-XXXXXX", &err);
    g_autofree char *file = g_build_filename(tmp, "pc-plain.ber", NULL);
    gsize len;
    const char *p = g_bytes_get_data(ber, &len);
    g_assert_true(g_file_set_contents(file, p, (gssize)len, &err));
    const char *argv[] = { "openssl", "asn1parse", "-inform", "DER", "-i", "-in", file, NULL };
    g_autofree char *out = NULL, *errout = NULL;
    int status = -1;
    CU_ASSERT_TRUE_FATAL(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL,
                                      NULL, &out, &errout, &status, &err));
    g_unlink(file);
    g_rmdir(tmp);
    CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ASSERT_STR_EQ(errout, "");
    CU_ASSERT_TRUE(g_str_has_prefix(out, "    0:d=0  hl=2 l=  16 cons: appl [ 16 ]       \n"
                                         "    2:d=1  hl=2 l=  11 prim:  UTF8STRING        "
                                         ":vmscope-ber\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "UTF8STRING        :mc146818rtc\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "cons: appl [ 20 ]"));
}

/* ---- a stream written by a device host ------------------------------------ */

/* Header, configuration, the test device twice, end without vmdesc. */
static GBytes *devhost_stream(Dev *d)
{
    ByteWriter w;
    BerWriter bw;
    byte_writer_init(&w);
    ber_writer_init(&bw, &w);
    ber_stream_put_header(&bw);
    static const uint8_t config[] = { 0, 0, 0, 4, 't', 'e', 's', 't' };
    ber_stream_put_configuration(&bw, config, sizeof(config));
    GError *err = NULL;
    for (uint32_t i = 0; i < 2; i++) {
        CU_ASSERT_TRUE(ber_stream_put_device(&bw, i, "dev", i, false, &vmstate_dev, &d[i], NULL,
                                             &err));
        ASSERT_NO_ERROR(err);
    }
    ber_stream_put_end(&bw, NULL);
    ber_writer_clear(&bw);
    GBytes *out = byte_writer_take(&w);
    byte_writer_clear(&w);
    return out;
}

static void test_devhost_stream(void)
{
    Dev d[2];
    dev_init(&d[0]);
    dev_init(&d[1]);
    d[1].extra = 0;                 /* no subsection */
    d[1].count = 2;                 /* (one element would be a scalar in QEMU's vmdesc) */
    d[1].fifo[2] = 0;
    g_autoptr(GBytes) ber = devhost_stream(d);
    GError *err = NULL;
    g_autoptr(BerStream) bs = ber_stream_parse(ber, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL_FATAL(ber_stream_n_sections(bs), 2);
    g_autofree char *machine = ber_stream_machine(bs);
    ASSERT_STR_EQ(machine, "test");
    CU_ASSERT_PTR_NULL(ber_stream_vmdesc(bs));

    /* Loaded back with the device's own description: type-checked, equal. */
    for (size_t i = 0; i < 2; i++) {
        const BerStreamSection *sec = ber_stream_section(bs, i);
        ASSERT_STR_EQ(sec->name, "dev");
        CU_ASSERT_EQUAL(sec->instance_id, i);
        CU_ASSERT_EQUAL(sec->version_id, 3);
        Dev t;
        dev_init_target(&t);
        Visitor *v = ber_input_visitor_new_value(sec->state);
        CU_ASSERT_TRUE(vmstate_load(v, &vmstate_dev, &t, 3, NULL, &err));
        visit_free(v);
        ASSERT_NO_ERROR(err);
        CU_ASSERT_EQUAL(memcmp(&t, &d[i], sizeof(t)), 0);
    }

    /* In QEMU's format, with a vmdesc rebuilt from the BER alone: the same JSON. */
    g_autoptr(GBytes) qemu = ber_stream_to_qemu(bs, &err);
    ASSERT_NO_ERROR(err);
    g_autoptr(QemuStream) qs = qemu_stream_parse(qemu, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_PTR_NOT_NULL(qemu_stream_vmdesc(qs));
    for (size_t i = 0; i < 2; i++) {
        Visitor *v = qobject_output_visitor_new();
        CU_ASSERT_TRUE(vmstate_save(v, &vmstate_dev, &d[i], NULL, &err));
        g_autoptr(QObject) want = qobject_output_visitor_take(v);
        visit_free(v);
        const QemuStreamSection *sec = qemu_stream_section(qs, i);
        g_autofree char *got = qobject_to_json(sec->state, false);
        g_autofree char *exp = qobject_to_json(want, false);
        ASSERT_STR_EQ(got, exp);
        /* ... and the payload QEMU's own walk writes for the device. */
        ByteWriter w;
        byte_writer_init(&w);
        CU_ASSERT_TRUE(qemu_stream_save_device(&w, &vmstate_dev, &d[i], NULL, NULL, &err));
        g_autoptr(GBytes) payload = byte_writer_take(&w);
        byte_writer_clear(&w);
        CU_ASSERT_TRUE(g_bytes_equal(payload, sec->payload));
    }
    /* And back to BER: the same device sections. */
    g_autoptr(GBytes) again = ber_stream_from_qemu(qs, &err);
    ASSERT_NO_ERROR(err);
    g_autoptr(BerStream) bs2 = ber_stream_parse(again, &err);
    ASSERT_NO_ERROR(err);
    for (size_t i = 0; i < 2; i++) {
        const BerValue *a = ber_stream_section(bs, i)->state;
        const BerValue *b = ber_stream_section(bs2, i)->state;
        CU_ASSERT_TRUE(a->len == b->len && memcmp(a->data, b->data, a->len) == 0);
    }
}

/* ---- broken streams --------------------------------------------------------- */

static char *stream_error(const uint8_t *data, size_t len)
{
    g_autoptr(GBytes) b = g_bytes_new(data, len);
    GError *err = NULL;
    BerStream *s = ber_stream_parse(b, &err);
    CU_ASSERT_PTR_NULL(s);
    ber_stream_free(s);
    char *msg = err ? g_strdup(err->message) : NULL;
    g_clear_error(&err);
    return msg;
}

/* Cut anywhere, the error names the top-level element that was cut, exactly. */
static void test_truncation_at_every_byte(void)
{
    Dev d[2];
    dev_init(&d[0]);
    dev_init(&d[1]);
    g_autoptr(GBytes) ber = devhost_stream(d);
    gsize len;
    const uint8_t *p = g_bytes_get_data(ber, &len);
    /* Where each top-level element starts, and its size. */
    size_t starts[8], sizes[8], n = 0;
    for (size_t at = 0; at < len; n++) {
        BerTlv tlv;
        g_assert_true(n < 8 && ber_tlv_read(p + at, len - at, at, true, &tlv, NULL));
        starts[n] = at;
        sizes[n] = tlv.hdr + tlv.len;
        at += sizes[n];
    }
    CU_ASSERT_EQUAL_FATAL(n, 5);
    for (size_t cut = 0; cut < len; cut++) {
        size_t k = 0;
        while (k + 1 < n && starts[k + 1] <= cut) {
            k++;
        }
        size_t left = cut - starts[k];
        size_t hdr = 2 + ((p[starts[k] + 1] & 0x80) ? (p[starts[k] + 1] & 0x7f) : 0);
        g_autofree char *want =
            left == 0 ? g_strdup_printf("offset %zu: truncated: the stream ends without its end "
                                        "element ([APPLICATION 20])", cut)
            : left < hdr ? g_strdup_printf("offset %zu: truncated: need %zu bytes for an "
                                           "element's header, %zu left", starts[k],
                                           left < 2 ? 2 : hdr, left)
            : g_strdup_printf("offset %zu: truncated: need %zu bytes, %zu left", starts[k],
                              sizes[k], left);
        g_autofree char *e = stream_error(p, cut);
        ASSERT_STR_EQ(e, want);
    }
}

#define ASSERT_STREAM_ERROR(expected, ...)                                      \
    do {                                                                        \
        static const uint8_t in_[] = { __VA_ARGS__ };                           \
        g_autofree char *msg_ = stream_error(in_, sizeof(in_));                 \
        ASSERT_STR_EQ(msg_, expected);                                          \
    } while (0)

#define HEADER 0x70, 0x10, 0x0c, 0x0b, 'v', 'm', 's', 'c', 'o', 'p', 'e', '-', 'b', 'e', 'r', \
               0x02, 0x01, 0x01
#define END 0x74, 0x00

static void test_bad_elements(void)
{
    ASSERT_STREAM_ERROR("offset 0: header: not a BER stream: it starts with 0x74, not its header "
                        "([APPLICATION 16])", END);
    ASSERT_STREAM_ERROR("offset 2: header: bad magic: not a BER stream",
                        0x70, 0x10, 0x0c, 0x0b, 'v', 'm', 's', 'c', 'o', 'p', 'e', '-', 'b', 'e',
                        'R', 0x02, 0x01, 0x01, END);
    ASSERT_STREAM_ERROR("offset 15: header: unsupported BER stream version 2, expected 1",
                        0x70, 0x10, 0x0c, 0x0b, 'v', 'm', 's', 'c', 'o', 'p', 'e', '-', 'b', 'e',
                        'r', 0x02, 0x01, 0x02, END);
    ASSERT_STREAM_ERROR("offset 20: header: a second header", HEADER, HEADER, END);
    ASSERT_STREAM_ERROR("offset 18: unknown stream element 0x75", HEADER, 0x75, 0x00, END);
    ASSERT_STREAM_ERROR("offset 20: 1 bytes after the end of the stream", HEADER, END, 0x00);
    /* A device whose state is not a described struct, or of another version. */
    ASSERT_STREAM_ERROR("offset 32: section 'd' (id 0): the state is uint8, not a described "
                        "struct ([APPLICATION 2])",
                        HEADER, 0x72, 0x0f, 0x02, 0x01, 0x00, 0x0c, 0x01, 'd', 0x02, 0x01, 0x00,
                        0x02, 0x01, 0x01, 0x84, 0x01, 0x05, END);
    ASSERT_STREAM_ERROR("offset 32: section 'd' (id 0): the state has version 2, the section 1",
                        HEADER, 0x72, 0x14, 0x02, 0x01, 0x00, 0x0c, 0x01, 'd', 0x02, 0x01, 0x00,
                        0x02, 0x01, 0x01, 0x62, 0x06, 0x0c, 0x01, 'd', 0x02, 0x01, 0x02, END);
    /* The state's own errors, located in its section. */
    ASSERT_STREAM_ERROR("offset 43: section 'd' (id 0): d.a: INTEGER of 2 bytes is not minimal",
                        HEADER, 0x72, 0x1b, 0x02, 0x01, 0x00, 0x0c, 0x01, 'd', 0x02, 0x01, 0x00,
                        0x02, 0x01, 0x01, 0x62, 0x0d, 0x0c, 0x01, 'd', 0x02, 0x01, 0x01,
                        0x0c, 0x01, 'a', 0x84, 0x02, 0x00, 0x05, END);
    ASSERT_STREAM_ERROR("offset 23: section header: the section name must be 1 to 255 bytes of "
                        "UTF-8 without NUL",
                        HEADER, 0x72, 0x07, 0x02, 0x01, 0x00, 0x0c, 0x00, 0x02, 0x00, END);
    ASSERT_STREAM_ERROR("offset 20: section header: part of section id 7, which never started",
                        HEADER, 0x73, 0x08, 0x02, 0x01, 0x02, 0x02, 0x01, 0x07, 0x04, 0x00, END);
    ASSERT_STREAM_ERROR("offset 20: section header: section type 9 is not one of QEMU's (1 to 4)",
                        HEADER, 0x73, 0x08, 0x02, 0x01, 0x09, 0x02, 0x01, 0x07, 0x04, 0x00, END);
    ASSERT_STREAM_ERROR("offset 20: configuration: expected the configuration payload "
                        "(buffer), found null", HEADER, 0x71, 0x02, 0x05, 0x00, END);
    /* The configuration payload is QEMU's section, all of it (fuzz-ber: configuration-not-qemus). */
    ASSERT_STREAM_ERROR("offset 26: configuration: truncated: need 9 bytes, 4 left",
                        HEADER, 0x71, 0x0a, 0x04, 0x08, 0x00, 0x00, 0x00, 0x09, 't', 'e',
                        's', 't', END);
    ASSERT_STREAM_ERROR("offset 27: configuration: 1 bytes after QEMU's configuration section",
                        HEADER, 0x71, 0x08, 0x04, 0x06, 0x00, 0x00, 0x00, 0x01, 'x', 0xff,
                        END);
    ASSERT_STREAM_ERROR("offset 22: configuration: target-page-bits 17 out of range 9..16",
                        HEADER, 0x71, 0x2f, 0x04, 0x2d, 0x00, 0x00, 0x00, 0x01, 'x',
                        0x05, 30, 'c', 'o', 'n', 'f', 'i', 'g', 'u', 'r', 'a', 't', 'i', 'o', 'n',
                        '/', 't', 'a', 'r', 'g', 'e', 't', '-', 'p', 'a', 'g', 'e', '-', 'b', 'i',
                        't', 's', 0, 0, 0, 1, 0, 0, 0, 17, END);
}

/*
 * A state with a member twice parses (a Value may), but cannot be described
 * for QEMU's format: a load finds members by name (fuzz-ber:
 * describe-duplicate-field).
 */
static void test_duplicate_member_not_described(void)
{
    static const uint8_t in[] = {
        HEADER, 0x72, 0x20, 0x02, 0x01, 0x00, 0x0c, 0x01, 'd', 0x02, 0x01, 0x00, 0x02, 0x01, 0x01,
        0x62, 0x12, 0x0c, 0x01, 'd', 0x02, 0x01, 0x01,
        0x0c, 0x01, 'a', 0x84, 0x01, 0x05, 0x0c, 0x01, 'a', 0x84, 0x01, 0x06, END,
    };
    g_autoptr(GBytes) b = g_bytes_new(in, sizeof(in));
    g_autoptr(GError) err = NULL;
    g_autoptr(BerStream) s = ber_stream_parse(b, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_PTR_NULL(ber_stream_to_qemu(s, &err));
    ASSERT_STR_EQ(err ? err->message : NULL,
                  "offset 46: section 'd' (id 0): d: duplicate field 'a' in the stream");
}

/* ---- the hazard ---------------------------------------------------------- */

/*
 * Two builds of one device.  In the new build somebody made `divider`
 * signed and did not bump the version: the stream layout is the same size,
 * so QEMU's format cannot tell.
 */
typedef struct SerialOld { uint16_t divider; uint8_t lcr; } SerialOld;
typedef struct SerialNew { int16_t divider; uint8_t lcr; } SerialNew;

static const VMStateDescription serial_old = {
    .name = "serial", .version_id = 3, .minimum_version_id = 2,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT16(divider, SerialOld), VMSTATE_UINT8(lcr, SerialOld), VMSTATE_END_OF_LIST()
    },
};
static const VMStateDescription serial_new = {
    .name = "serial", .version_id = 3, .minimum_version_id = 2,
    .fields = (const VMStateField[]) {
        VMSTATE_INT16(divider, SerialNew), VMSTATE_UINT8(lcr, SerialNew), VMSTATE_END_OF_LIST()
    },
};

static void test_hazard(void)
{
    SerialOld src = { .divider = 0xc000, .lcr = 3 };   /* 49152: a slow line */
    GError *err = NULL;

    /* QEMU's format: the destination loads a wrong divider without a word. */
    ByteWriter w;
    byte_writer_init(&w);
    Visitor *out = qemufile_output_visitor_new(&w);
    CU_ASSERT_TRUE(vmstate_save(out, &serial_old, &src, NULL, &err));
    visit_free(out);
    g_autoptr(GBytes) qemu = byte_writer_take(&w);
    byte_writer_clear(&w);
    gsize len;
    const uint8_t *p = g_bytes_get_data(qemu, &len);
    ByteReader r;
    byte_reader_init(&r, p, len, 0);
    SerialNew dst = { 0 };
    Visitor *in = qemufile_input_visitor_new(&r);
    CU_ASSERT_TRUE(vmstate_load(in, &serial_new, &dst, 3, NULL, &err));
    visit_free(in);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(byte_reader_left(&r), 0);
    CU_ASSERT_EQUAL(dst.divider, -16384);              /* not 49152 */
    CU_ASSERT_EQUAL(dst.lcr, 3);

    /* BER: refused, with the path and both types; the destination untouched. */
    ByteWriter bwr;
    BerWriter bw;
    byte_writer_init(&bwr);
    ber_writer_init(&bw, &bwr);
    ber_stream_put_header(&bw);
    CU_ASSERT_TRUE(ber_stream_put_device(&bw, 0, "serial", 0, false, &serial_old, &src, NULL,
                                         &err));
    ber_stream_put_end(&bw, NULL);
    ber_writer_clear(&bw);
    g_autoptr(GBytes) ber = byte_writer_take(&bwr);
    byte_writer_clear(&bwr);
    g_autoptr(BerStream) bs = ber_stream_parse(ber, &err);
    ASSERT_NO_ERROR(err);
    SerialNew dst2 = { .divider = 7, .lcr = 7 };
    in = ber_input_visitor_new_value(ber_stream_section(bs, 0)->state);
    CU_ASSERT_FALSE(vmstate_load_copy(in, &serial_new, &dst2, sizeof(dst2), 3, NULL, &err));
    visit_free(in);
    ASSERT_ERROR(err, "serial.divider: stream has uint16, description expects int16");
    CU_ASSERT_EQUAL(dst2.divider, 7);
    CU_ASSERT_EQUAL(dst2.lcr, 7);
}

static const CuTest tests[] = {
    { "fixtures: QEMU -> BER -> QEMU is byte-identical", test_fixtures_round_trip },
    { "openssl reads a BER stream", test_openssl_reads_a_stream },
    { "a device host's stream, with no vmdesc", test_devhost_stream },
    { "truncation at every byte", test_truncation_at_every_byte },
    { "broken elements", test_bad_elements },
    { "a member twice: not described for QEMU's format", test_duplicate_member_not_described },
    { "the hazard: a C type changed, no version bump", test_hazard },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "ber streams", tests },
    { NULL, NULL },
};

CUTEST_MAIN(suites)

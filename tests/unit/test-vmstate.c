/*
 * Unit tests for the VMState engine: the walk, the VMState rules with their
 * exact errors, segment-relative pointers, hooks, load-into-a-copy, types as
 * data, runs and presence bytes, watching a walk, and the vmdesc QEMU's
 * writer (qemu_stream_save_device) makes from a walk.
 */
#include "config.h"

#include <inttypes.h>

#include "cutest.h"
#include "vmscope/bytes.h"
#include "vmscope/error.h"
#include "vmscope/qemu-stream.h"
#include "vmscope/qemufile-visitor.h"
#include "vmscope/qobject-visitor.h"
#include "vmscope/vmstate.h"
#include "vmstate-test-dev.h"

/* ---- helpers ---- */

/* Save as a QObject; returns its compact JSON, or NULL with *err set. */
static char *save_json(const VMStateDescription *vmsd, void *opaque, const VMStateContext *ctx,
                       GError **err)
{
    Visitor *v = qobject_output_visitor_new();
    bool ok = vmstate_save(v, vmsd, opaque, ctx, err);
    g_autoptr(QObject) obj = qobject_output_visitor_take(v);
    visit_free(v);
    return ok ? qobject_to_json(obj, false) : NULL;
}

/* Save in QEMU's format. */
static GBytes *save_bytes(const VMStateDescription *vmsd, void *opaque,
                          const VMStateContext *ctx, GError **err)
{
    ByteWriter w;
    byte_writer_init(&w);
    Visitor *v = qemufile_output_visitor_new(&w);
    bool ok = vmstate_save(v, vmsd, opaque, ctx, err);
    visit_free(v);
    GBytes *b = ok ? byte_writer_take(&w) : NULL;
    byte_writer_clear(&w);
    return b;
}

/* Load from QEMU's format; *left gets the bytes not consumed. */
static bool load_bytes(const VMStateDescription *vmsd, void *opaque, const uint8_t *data,
                       size_t len, int version_id, const VMStateContext *ctx, size_t *left,
                       GError **err)
{
    ByteReader r;
    byte_reader_init(&r, data, len, 0);
    Visitor *v = qemufile_input_visitor_new(&r);
    bool ok = vmstate_load(v, vmsd, opaque, version_id, ctx, err);
    visit_free(v);
    if (left) {
        *left = byte_reader_left(&r);
    }
    return ok;
}

static bool bytes_equal(GBytes *b, const uint8_t *expected, size_t len)
{
    size_t n;
    const uint8_t *p = g_bytes_get_data(b, &n);
    if (n != len || memcmp(p, expected, len) != 0) {
        g_autoptr(GString) hex = g_string_new(NULL);
        hex_append(hex, p, n, ' ');
        fprintf(stderr, "\nbytes differ (%zu vs %zu expected): %s\n", n, len, hex->str);
        return false;
    }
    return true;
}

/* ---- the walk ---- */

static void test_save_qobject(void)
{
    Dev d;
    GError *err = NULL;
    dev_init(&d);
    g_autofree char *json = save_json(&vmstate_dev, &d, NULL, &err);
    ASSERT_NO_ERROR(err);
    ASSERT_STR_EQ(json, DEV_JSON);
}

static void test_save_subsection_not_needed(void)
{
    Dev d;
    GError *err = NULL;
    dev_init(&d);
    d.extra = 0;
    g_autofree char *json = save_json(&vmstate_dev, &d, NULL, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_PTR_NULL(strstr(json, "dev/extra"));
    CU_ASSERT_TRUE(g_str_has_suffix(json, "\"added\":287454020}"));
}

static void test_save_qemufile(void)
{
    Dev d;
    GError *err = NULL;
    dev_init(&d);
    g_autoptr(GBytes) b = save_bytes(&vmstate_dev, &d, NULL, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_TRUE(bytes_equal(b, DEV_BYTES, sizeof(DEV_BYTES)));
}

static void test_roundtrip_qemufile(void)
{
    Dev expected, d;
    GError *err = NULL;
    size_t left = 99;
    dev_init(&expected);
    dev_init_target(&d);
    CU_ASSERT_TRUE(load_bytes(&vmstate_dev, &d, DEV_BYTES, sizeof(DEV_BYTES), 3, NULL,
                              &left, &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(left, 0);
    CU_ASSERT_EQUAL(memcmp(&d, &expected, sizeof(d)), 0);
}

/* Elements past N of variable and partial arrays are left alone. */
static void test_load_keeps_elements_past_length(void)
{
    Dev d;
    GError *err = NULL;
    dev_init_target(&d);
    d.fifo[3] = 0x77;
    d.queues[2] = (Regs){ 0x66, 0x6666 };
    CU_ASSERT_TRUE(load_bytes(&vmstate_dev, &d, DEV_BYTES, sizeof(DEV_BYTES), 3, NULL,
                              NULL, &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(d.fifo[2], 0x12);
    CU_ASSERT_EQUAL(d.fifo[3], 0x77);
    CU_ASSERT_EQUAL(d.queues[1].b, 8);
    CU_ASSERT_EQUAL(d.queues[2].b, 0x6666);
}

/* Several fields named alike are visited as QEMU's vmdesc names them. */
typedef struct Dup {
    uint8_t x;
} Dup;

static const VMStateDescription vmstate_dup = {
    .name = "dup",
    .version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UNUSED(1),
        VMSTATE_UINT8(x, Dup),
        VMSTATE_UNUSED(2),
        VMSTATE_END_OF_LIST()
    },
};

static void test_duplicate_names(void)
{
    Dup d = { 5 };
    GError *err = NULL;
    g_autofree char *json = save_json(&vmstate_dup, &d, NULL, &err);
    ASSERT_NO_ERROR(err);
    ASSERT_STR_EQ(json, "{\"unused[0]\":\"00\",\"x\":5,\"unused[1]\":\"0000\"}");

    /* Unused bytes are thrown away on load, whatever they are. */
    static const uint8_t in[] = { 0xff, 0x09, 0xee, 0xdd };
    d.x = 0;
    CU_ASSERT_TRUE(load_bytes(&vmstate_dup, &d, in, sizeof(in), 1, NULL, NULL, &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(d.x, 9);
}

/* ---- the VMState rules ---- */

static void test_version_newer_refused(void)
{
    Dev d;
    GError *err = NULL;
    dev_init_target(&d);
    CU_ASSERT_FALSE(load_bytes(&vmstate_dev, &d, DEV_BYTES, sizeof(DEV_BYTES), 4, NULL,
                               NULL, &err));
    CU_ASSERT_TRUE(g_error_matches(err, VMS_ERROR, VMS_ERROR_VERSION));
    ASSERT_ERROR(err, "dev: incoming version 4 of dev is newer than the supported version 3");
}

static void test_version_below_minimum_refused(void)
{
    Dev d;
    GError *err = NULL;
    dev_init_target(&d);
    CU_ASSERT_FALSE(load_bytes(&vmstate_dev, &d, DEV_BYTES, sizeof(DEV_BYTES), 1, NULL,
                               NULL, &err));
    CU_ASSERT_TRUE(g_error_matches(err, VMS_ERROR, VMS_ERROR_VERSION));
    ASSERT_ERROR(err, "dev: incoming version 1 of dev is older than the minimum supported "
                      "version 2");
}

/* A version-2 stream has no "added": it keeps the loader's value. */
static void test_version_older_keeps_defaults(void)
{
    Dev expected, d;
    GError *err = NULL;
    size_t left = 99;
    g_autoptr(GByteArray) v2 = g_byte_array_new();
    g_byte_array_append(v2, DEV_BYTES, DEV_ADDED_AT);
    g_byte_array_append(v2, DEV_BYTES + DEV_SUBSECTION_AT,
                        sizeof(DEV_BYTES) - DEV_SUBSECTION_AT);

    dev_init(&expected);
    expected.added = 42;
    dev_init_target(&d);
    d.added = 42;
    CU_ASSERT_TRUE(load_bytes(&vmstate_dev, &d, v2->data, v2->len, 2, NULL, &left, &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(left, 0);
    CU_ASSERT_EQUAL(memcmp(&d, &expected, sizeof(d)), 0);
}

static void test_subsection_version_newer_refused(void)
{
    Dev d;
    GError *err = NULL;
    uint8_t in[sizeof(DEV_BYTES)];
    memcpy(in, DEV_BYTES, sizeof(in));
    in[84] = 2;                         /* dev/extra version 2 */
    dev_init_target(&d);
    CU_ASSERT_FALSE(load_bytes(&vmstate_dev, &d, in, sizeof(in), 3, NULL, NULL, &err));
    ASSERT_ERROR(err, "dev.dev/extra: incoming version 2 of dev/extra is newer than the "
                      "supported version 1");
}

static void test_equal_mismatch_refused(void)
{
    Dev d;
    GError *err = NULL;
    dev_init_target(&d);
    d.id = 8;
    CU_ASSERT_FALSE(load_bytes(&vmstate_dev, &d, DEV_BYTES, sizeof(DEV_BYTES), 3, NULL,
                               NULL, &err));
    CU_ASSERT_TRUE(g_error_matches(err, VMS_ERROR, VMS_ERROR_INVALID));
    ASSERT_ERROR(err, "dev.id: value 7 in the input differs from the current value 8");
}

static void test_varray_over_maximum_refused(void)
{
    Dev d;
    GError *err = NULL;
    uint8_t in[sizeof(DEV_BYTES)];
    memcpy(in, DEV_BYTES, sizeof(in));
    in[56] = 9;                         /* count: fifo has 8 */
    dev_init_target(&d);
    CU_ASSERT_FALSE(load_bytes(&vmstate_dev, &d, in, sizeof(in), 3, NULL, NULL, &err));
    CU_ASSERT_TRUE(g_error_matches(err, VMS_ERROR, VMS_ERROR_RANGE));
    ASSERT_ERROR(err, "dev.fifo: array length 9 exceeds the maximum 8");

    /* A state that breaks the rule cannot be saved either. */
    dev_init(&d);
    d.count = 200;
    g_autofree char *json = save_json(&vmstate_dev, &d, NULL, &err);
    CU_ASSERT_PTR_NULL(json);
    ASSERT_ERROR(err, "dev.fifo: array length 200 exceeds the maximum 8");
}

static void test_partial_over_maximum_refused(void)
{
    Dev d;
    GError *err = NULL;
    dev_init_target(&d);
    d.live = 5;
    CU_ASSERT_FALSE(load_bytes(&vmstate_dev, &d, DEV_BYTES, sizeof(DEV_BYTES), 3, NULL,
                               NULL, &err));
    ASSERT_ERROR(err, "dev.queues: array length 5 exceeds the maximum 4");
}

static void test_unknown_subsection_refused(void)
{
    Dev d;
    GError *err = NULL;
    uint8_t in[sizeof(DEV_BYTES)];
    memcpy(in, DEV_BYTES, sizeof(in));
    in[80] = 'b';                       /* dev/extrb */
    dev_init_target(&d);
    CU_ASSERT_FALSE(load_bytes(&vmstate_dev, &d, in, sizeof(in), 3, NULL, NULL, &err));
    CU_ASSERT_TRUE(g_error_matches(err, VMS_ERROR, VMS_ERROR_NOT_FOUND));
    ASSERT_ERROR(err, "offset 70: dev: unknown subsection 'dev/extrb'");
}

static void test_truncated_refused(void)
{
    Dev d;
    GError *err = NULL;
    dev_init_target(&d);
    CU_ASSERT_FALSE(load_bytes(&vmstate_dev, &d, DEV_BYTES, 49, 3, NULL, NULL, &err));
    CU_ASSERT_TRUE(g_error_matches(err, VMS_ERROR, VMS_ERROR_TRUNCATED));
    ASSERT_ERROR(err, "offset 48: dev.regs.b: truncated: need 2 bytes, 1 left");
    CU_ASSERT_FALSE(load_bytes(&vmstate_dev, &d, DEV_BYTES, 84, 3, NULL, NULL, &err));
    ASSERT_ERROR(err, "offset 81: dev.dev/extra: truncated: need 4 bytes, 3 left");
}

/* ---- loading into a copy ---- */

static void test_load_copy_keeps_state_on_failure(void)
{
    Dev before, d;
    GError *err = NULL;
    ByteReader r;
    dev_init_target(&d);
    d.u8 = 1;
    before = d;

    byte_reader_init(&r, DEV_BYTES, 60, 0);
    Visitor *v = qemufile_input_visitor_new(&r);
    CU_ASSERT_FALSE(vmstate_load_copy(v, &vmstate_dev, &d, sizeof(d), 3, NULL, &err));
    visit_free(v);
    ASSERT_ERROR(err, "offset 60: dev.queues[0].a: truncated: need 1 bytes, 0 left");
    CU_ASSERT_EQUAL(memcmp(&d, &before, sizeof(d)), 0);

    /* Loading in place would have changed the state before failing. */
    CU_ASSERT_FALSE(load_bytes(&vmstate_dev, &d, DEV_BYTES, 60, 3, NULL, NULL, &err));
    g_clear_error(&err);
    CU_ASSERT_EQUAL(d.u8, 200);

    dev_init_target(&d);
    byte_reader_init(&r, DEV_BYTES, sizeof(DEV_BYTES), 0);
    v = qemufile_input_visitor_new(&r);
    CU_ASSERT_TRUE(vmstate_load_copy(v, &vmstate_dev, &d, sizeof(d), 3, NULL, &err));
    visit_free(v);
    ASSERT_NO_ERROR(err);
    dev_init(&before);
    CU_ASSERT_EQUAL(memcmp(&d, &before, sizeof(d)), 0);
}

/* ---- hooks ---- */

typedef struct Hooked {
    uint32_t value;
    uint32_t shadow;        /* computed by pre_save, checked by post_load */
    int loaded_version;
} Hooked;

static bool hooked_pre_save(void *opaque, GError **errp)
{
    Hooked *h = opaque;
    h->shadow = h->value * 2;
    return true;
}

static bool hooked_post_load(void *opaque, int version_id, GError **errp)
{
    Hooked *h = opaque;
    h->loaded_version = version_id;
    if (h->shadow != h->value * 2) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "hooked: shadow %u is not twice %u",
                    h->shadow, h->value);
        return false;
    }
    return true;
}

static const VMStateDescription vmstate_hooked = {
    .name = "hooked",
    .version_id = 2,
    .minimum_version_id = 1,
    .pre_save = hooked_pre_save,
    .post_load = hooked_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(value, Hooked),
        VMSTATE_UINT32(shadow, Hooked),
        VMSTATE_END_OF_LIST()
    },
};

static void test_hooks(void)
{
    Hooked h = { .value = 21 };
    GError *err = NULL;
    g_autofree char *json = save_json(&vmstate_hooked, &h, NULL, &err);
    ASSERT_NO_ERROR(err);
    ASSERT_STR_EQ(json, "{\"value\":21,\"shadow\":42}");

    static const uint8_t good[] = { 0, 0, 0, 5, 0, 0, 0, 10 };
    static const uint8_t bad[] = { 0, 0, 0, 5, 0, 0, 0, 11 };
    Hooked l = { 0 };
    CU_ASSERT_TRUE(load_bytes(&vmstate_hooked, &l, good, sizeof(good), 1, NULL, NULL, &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(l.value, 5);
    CU_ASSERT_EQUAL(l.loaded_version, 1);
    CU_ASSERT_FALSE(load_bytes(&vmstate_hooked, &l, bad, sizeof(bad), 2, NULL, NULL, &err));
    ASSERT_ERROR(err, "hooked: shadow 11 is not twice 5");
}

/* ---- segment-relative pointers ---- */

typedef struct Sock {
    uint16_t port;
    uint8_t state;
} Sock;

typedef struct Host {
    uint32_t nsocks;
    uint64_t socks;         /* region offset of up to 4 Socks */
} Host;

static const VMStateDescription vmstate_sock = {
    .name = "host/sock",
    .version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT16(port, Sock),
        VMSTATE_UINT8(state, Sock),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_host = {
    .name = "host",
    .version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(nsocks, Host),
        VMSTATE_STRUCT_SEGPTR_UINT32(socks, Host, nsocks, 4, 0, vmstate_sock, Sock),
        VMSTATE_END_OF_LIST()
    },
};

static const uint8_t HOST_BYTES[] = {
    0x00, 0x00, 0x00, 0x02,     /* nsocks */
    0x00, 0x16, 0x01,           /* socks[0] */
    0x00, 0x50, 0x02,           /* socks[1] */
};

static void region_init(uint8_t region[64])
{
    Sock s[2] = { { 22, 1 }, { 80, 2 } };
    memset(region, 0xee, 64);
    memcpy(region + 16, s, sizeof(s));
}

static void test_segptr_save(void)
{
    uint8_t region[64];
    VMStateContext ctx = { .base = region, .size = sizeof(region) };
    Host h = { 2, 16 };
    GError *err = NULL;
    region_init(region);

    g_autofree char *json = save_json(&vmstate_host, &h, &ctx, &err);
    ASSERT_NO_ERROR(err);
    ASSERT_STR_EQ(json, "{\"nsocks\":2,\"socks\":[{\"port\":22,\"state\":1},"
                        "{\"port\":80,\"state\":2}]}");
    g_autoptr(GBytes) b = save_bytes(&vmstate_host, &h, &ctx, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_TRUE(bytes_equal(b, HOST_BYTES, sizeof(HOST_BYTES)));

    /* An empty list needs no region and no valid offset. */
    Host empty = { 0, UINT64_MAX };
    g_autofree char *json0 = save_json(&vmstate_host, &empty, NULL, &err);
    ASSERT_NO_ERROR(err);
    ASSERT_STR_EQ(json0, "{\"nsocks\":0,\"socks\":[]}");
}

/* A region that is not in memory: fetched piece by piece, as the agent reads segments. */
typedef struct Fetcher {
    const uint8_t *region;
    unsigned calls;
    bool fail;
} Fetcher;

static const void *fetch_region(void *opaque, uint64_t offset, uint64_t len, GError **errp)
{
    Fetcher *f = opaque;
    f->calls++;
    if (f->fail) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_TRUNCATED, "file shrank at 0x%" PRIx64, offset);
        return NULL;
    }
    CU_ASSERT_TRUE(offset + len <= 64);
    return f->region + offset;
}

static void test_segptr_fetch(void)
{
    uint8_t region[64];
    region_init(region);
    Fetcher fe = { .region = region };
    VMStateContext ctx = { .size = sizeof(region), .fetch = fetch_region, .fetch_opaque = &fe };
    Host h = { 2, 16 };
    GError *err = NULL;
    g_autofree char *json = save_json(&vmstate_host, &h, &ctx, &err);
    ASSERT_NO_ERROR(err);
    ASSERT_STR_EQ(json, "{\"nsocks\":2,\"socks\":[{\"port\":22,\"state\":1},"
                        "{\"port\":80,\"state\":2}]}");
    CU_ASSERT_EQUAL(fe.calls, 1);
    /* Bounds are checked before anything is fetched. */
    h.socks = 60;
    CU_ASSERT_PTR_NULL(save_json(&vmstate_host, &h, &ctx, &err));
    ASSERT_ERROR(err, "host.socks: 2 elements of 4 bytes at region offset 60 lie outside "
                      "the region of 64 bytes");
    CU_ASSERT_EQUAL(fe.calls, 1);
    /* A fetch that fails is an error at the field. */
    h.socks = 16;
    fe.fail = true;
    CU_ASSERT_PTR_NULL(save_json(&vmstate_host, &h, &ctx, &err));
    CU_ASSERT_TRUE(g_error_matches(err, VMS_ERROR, VMS_ERROR_TRUNCATED));
    ASSERT_ERROR(err, "host.socks: file shrank at 0x10");
    /* Loads need the region itself (they write it). */
    Host loaded = { 0, 0 };
    CU_ASSERT_FALSE(load_bytes(&vmstate_host, &loaded, HOST_BYTES, sizeof(HOST_BYTES), 1, &ctx,
                               NULL, &err));
    ASSERT_ERROR(err, "host.socks: a segment-relative pointer needs a region, and none was "
                      "given");
}

static void test_segptr_bounds(void)
{
    uint8_t region[64];
    VMStateContext ctx = { .base = region, .size = sizeof(region) };
    GError *err = NULL;
    region_init(region);

    Host h = { 2, 60 };
    CU_ASSERT_PTR_NULL(save_json(&vmstate_host, &h, &ctx, &err));
    CU_ASSERT_TRUE(g_error_matches(err, VMS_ERROR, VMS_ERROR_RANGE));
    ASSERT_ERROR(err, "host.socks: 2 elements of 4 bytes at region offset 60 lie outside "
                      "the region of 64 bytes");
    h.socks = UINT64_MAX;
    CU_ASSERT_PTR_NULL(save_json(&vmstate_host, &h, &ctx, &err));
    ASSERT_ERROR(err, "host.socks: 2 elements of 4 bytes at region offset 18446744073709551615"
                      " lie outside the region of 64 bytes");
    h.socks = 16;
    h.nsocks = 5;
    CU_ASSERT_PTR_NULL(save_json(&vmstate_host, &h, &ctx, &err));
    ASSERT_ERROR(err, "host.socks: array length 5 exceeds the maximum 4");
    h.nsocks = 2;
    CU_ASSERT_PTR_NULL(save_json(&vmstate_host, &h, NULL, &err));
    ASSERT_ERROR(err, "host.socks: a segment-relative pointer needs a region, and none was "
                      "given");
}

static void test_segptr_load(void)
{
    uint8_t region[64], expected[64];
    VMStateContext ctx = { .base = region, .size = sizeof(region) };
    GError *err = NULL;
    memset(region, 0xee, sizeof(region));
    memcpy(expected, region, sizeof(region));

    /* The loader's own offset says where the elements go. */
    Host h = { 0, 16 };
    Sock s[2] = { { 22, 1 }, { 80, 2 } };
    for (int i = 0; i < 2; i++) {                   /* padding keeps its bytes */
        memcpy(expected + 16 + 4 * i, &s[i].port, 2);
        expected[16 + 4 * i + 2] = s[i].state;
    }
    CU_ASSERT_TRUE(load_bytes(&vmstate_host, &h, HOST_BYTES, sizeof(HOST_BYTES), 1, &ctx,
                              NULL, &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(h.nsocks, 2);
    CU_ASSERT_EQUAL(h.socks, 16);
    CU_ASSERT_EQUAL(memcmp(region, expected, sizeof(region)), 0);

    /* A load that fails halfway leaves the region alone. */
    memset(region, 0xee, sizeof(region));
    memcpy(expected, region, sizeof(region));
    h = (Host){ 0, 16 };
    CU_ASSERT_FALSE(load_bytes(&vmstate_host, &h, HOST_BYTES, sizeof(HOST_BYTES) - 1, 1, &ctx,
                               NULL, &err));
    ASSERT_ERROR(err, "offset 9: host.socks[1].state: truncated: need 1 bytes, 0 left");
    CU_ASSERT_EQUAL(memcmp(region, expected, sizeof(region)), 0);

    /* The loader's offset is checked too. */
    h = (Host){ 0, 58 };
    CU_ASSERT_FALSE(load_bytes(&vmstate_host, &h, HOST_BYTES, sizeof(HOST_BYTES), 1, &ctx,
                               NULL, &err));
    ASSERT_ERROR(err, "host.socks: 2 elements of 4 bytes at region offset 58 lie outside the "
                      "region of 64 bytes");
    CU_ASSERT_EQUAL(memcmp(region, expected, sizeof(region)), 0);
}

/* ---- vmdesc ---- */

#define REGS_VMDESC                                                             \
    "{\"vmsd_name\":\"dev/regs\",\"version\":1,\"fields\":["                    \
    "{\"name\":\"a\",\"type\":\"uint8\",\"size\":1},"                           \
    "{\"name\":\"b\",\"type\":\"uint16\",\"size\":2}]}"

static void test_vmdesc_exact(void)
{
    Dev d;
    GError *err = NULL;
    dev_init(&d);
    g_autoptr(QObject) vmdesc = qemu_stream_device_vmdesc(&vmstate_dev, &d, NULL, &err);
    ASSERT_NO_ERROR(err);
    g_autofree char *json = qobject_to_json(vmdesc, false);
    ASSERT_STR_EQ(json,
        "{\"vmsd_name\":\"dev\",\"version\":3,\"fields\":["
        "{\"name\":\"enabled\",\"type\":\"bool\",\"size\":1},"
        "{\"name\":\"i8\",\"type\":\"int8\",\"size\":1},"
        "{\"name\":\"i16\",\"type\":\"int16\",\"size\":2},"
        "{\"name\":\"i32\",\"type\":\"int32\",\"size\":4},"
        "{\"name\":\"i64\",\"type\":\"int64\",\"size\":8},"
        "{\"name\":\"u8\",\"type\":\"uint8\",\"size\":1},"
        "{\"name\":\"u16\",\"type\":\"uint16\",\"size\":2},"
        "{\"name\":\"u32\",\"type\":\"uint32\",\"size\":4},"
        "{\"name\":\"u64\",\"type\":\"uint64\",\"size\":8},"
        "{\"name\":\"id\",\"type\":\"uint32 equal\",\"size\":4},"
        "{\"name\":\"mem\",\"type\":\"buffer\",\"size\":4},"
        "{\"name\":\"unused\",\"type\":\"unused_buffer\",\"size\":2},"
        "{\"name\":\"arr\",\"array_len\":3,\"type\":\"uint16\",\"size\":2},"
        "{\"name\":\"regs\",\"type\":\"struct\",\"struct\":" REGS_VMDESC ",\"size\":3},"
        "{\"name\":\"banks\",\"array_len\":2,\"type\":\"struct\",\"struct\":" REGS_VMDESC
        ",\"size\":3},"
        "{\"name\":\"count\",\"type\":\"uint8\",\"size\":1},"
        "{\"name\":\"fifo\",\"array_len\":3,\"type\":\"uint8\",\"size\":1},"
        "{\"name\":\"queues\",\"array_len\":2,\"type\":\"struct\",\"struct\":" REGS_VMDESC
        ",\"size\":3},"
        "{\"name\":\"added\",\"type\":\"uint32\",\"size\":4}],"
        "\"subsections\":[{\"vmsd_name\":\"dev/extra\",\"version\":1,\"fields\":["
        "{\"name\":\"extra\",\"type\":\"uint32\",\"size\":4}]}]}");
}

/* Bytes a vmdesc accounts for: fields' sizes plus subsection headers. */
static uint64_t vmdesc_bytes(const QObject *desc)
{
    uint64_t total = 0, size, len;
    const QObject *fields = qdict_get(desc, "fields");
    for (size_t i = 0; i < qlist_size(fields); i++) {
        const QObject *f = qlist_get(fields, i);
        CU_ASSERT_TRUE(qnum_get_uint(qdict_get(f, "size"), &size));
        if (!qdict_haskey(f, "array_len") || !qnum_get_uint(qdict_get(f, "array_len"), &len)) {
            len = 1;
        }
        total += size * len;
    }
    const QObject *subs = qdict_get(desc, "subsections");
    for (size_t i = 0; subs && i < qlist_size(subs); i++) {
        const QObject *s = qlist_get(subs, i);
        total += 1 + 1 + strlen(qdict_get_str(s, "vmsd_name")) + 4 + vmdesc_bytes(s);
    }
    return total;
}

/* A nested description with subsections: QEMU lists array elements one by one. */
typedef struct Lane {
    uint8_t speed;
    uint16_t errors;        /* subsection, sent if non-zero */
} Lane;

typedef struct Link {
    uint8_t nlanes;
    Lane lanes[3];
} Link;

static bool lane_errors_needed(void *opaque)
{
    return ((Lane *)opaque)->errors != 0;
}

static const VMStateDescription vmstate_lane_errors = {
    .name = "lane/errors",
    .version_id = 2,
    .minimum_version_id = 1,
    .needed = lane_errors_needed,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT16(errors, Lane),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_lane = {
    .name = "lane",
    .version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8(speed, Lane),
        VMSTATE_END_OF_LIST()
    },
    .subsections = (const VMStateDescription *const[]) { &vmstate_lane_errors, NULL },
};

static const VMStateDescription vmstate_link = {
    .name = "link",
    .version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8(nlanes, Link),
        VMSTATE_STRUCT_VARRAY_UINT8(lanes, Link, nlanes, 0, vmstate_lane, Lane),
        VMSTATE_END_OF_LIST()
    },
};

static void test_vmdesc_nested_subsections(void)
{
    Link l = { 2, { { 1, 0 }, { 2, 300 } } };
    GError *err = NULL;
    g_autoptr(QObject) vmdesc = qemu_stream_device_vmdesc(&vmstate_link, &l, NULL, &err);
    ASSERT_NO_ERROR(err);
    g_autofree char *json = qobject_to_json(vmdesc, false);
    ASSERT_STR_EQ(json,
        "{\"vmsd_name\":\"link\",\"version\":1,\"fields\":["
        "{\"name\":\"nlanes\",\"type\":\"uint8\",\"size\":1},"
        "{\"name\":\"lanes\",\"index\":0,\"type\":\"struct\",\"struct\":"
        "{\"vmsd_name\":\"lane\",\"version\":1,\"fields\":["
        "{\"name\":\"speed\",\"type\":\"uint8\",\"size\":1}]},\"size\":1},"
        "{\"name\":\"lanes\",\"index\":1,\"type\":\"struct\",\"struct\":"
        "{\"vmsd_name\":\"lane\",\"version\":1,\"fields\":["
        "{\"name\":\"speed\",\"type\":\"uint8\",\"size\":1}],"
        "\"subsections\":[{\"vmsd_name\":\"lane/errors\",\"version\":2,\"fields\":["
        "{\"name\":\"errors\",\"type\":\"uint16\",\"size\":2}]}]},\"size\":20}]}");

    /* And the bytes: the second lane carries its subsection. */
    static const uint8_t expected[] = {
        0x02, 0x01, 0x02,
        0x05, 0x0b, 'l', 'a', 'n', 'e', '/', 'e', 'r', 'r', 'o', 'r', 's',
        0x00, 0x00, 0x00, 0x02, 0x01, 0x2c,
    };
    g_autoptr(GBytes) b = save_bytes(&vmstate_link, &l, NULL, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_TRUE(bytes_equal(b, expected, sizeof(expected)));

    Link back = { 0 };
    CU_ASSERT_TRUE(load_bytes(&vmstate_link, &back, expected, sizeof(expected), 1, NULL, NULL,
                              &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(memcmp(&back, &l, sizeof(l)), 0);
}

static void test_vmdesc_sizes_sum_to_payload(void)
{
    Dev d;
    Link l = { 3, { { 1, 7 }, { 2, 0 }, { 3, 300 } } };
    uint8_t region[64];
    VMStateContext ctx = { .base = region, .size = sizeof(region) };
    Host h = { 2, 16 };
    GError *err = NULL;
    dev_init(&d);
    region_init(region);

    struct { const VMStateDescription *vmsd; void *opaque; } cases[] = {
        { &vmstate_dev, &d }, { &vmstate_link, &l }, { &vmstate_host, &h },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        ByteWriter w;
        byte_writer_init(&w);
        g_autoptr(QObject) vmdesc = qdict_new();
        qdict_put(vmdesc, "name", qstring_from_str("x"));
        CU_ASSERT_TRUE(qemu_stream_save_device(&w, cases[i].vmsd, cases[i].opaque, &ctx, vmdesc,
                                             &err));
        ASSERT_NO_ERROR(err);
        CU_ASSERT_EQUAL(vmdesc_bytes(vmdesc), byte_writer_len(&w));
        /* The caller's members stay first, as QEMU writes them. */
        qdict_foreach(vmdesc, key, val) {
            (void)val;
            ASSERT_STR_EQ(key, "name");
            break;
        }
        g_autoptr(GBytes) b = save_bytes(cases[i].vmsd, cases[i].opaque, &ctx, &err);
        ASSERT_NO_ERROR(err);
        CU_ASSERT_EQUAL(g_bytes_get_size(b), byte_writer_len(&w));
        byte_writer_clear(&w);
    }
    CU_ASSERT_EQUAL(sizeof(DEV_BYTES), 89);
}

/* ---- types as data ---- */

typedef struct Typed {
    int64_t expires;        /* a timer */
    int32_t limit;          /* QEMU's "int32 le" */
    uint32_t id;            /* _equal */
} Typed;

static const VMStateDescription vmstate_typed = {
    .name = "typed",
    .version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_SINGLE_V(expires, Typed, 0, vmstate_info_timer, int64_t),
        VMSTATE_SINGLE_V(limit, Typed, 0, vmstate_info_int32_le, int32_t),
        VMSTATE_UINT32_EQUAL(id, Typed),
        { .name = "gap", .info = VMSTATE_INFO(VMSTATE_TYPE_NULLPTR), .size = 1 },
        VMSTATE_UNUSED(2),
        VMSTATE_END_OF_LIST()
    },
};

static const uint8_t TYPED_BYTES[] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,     /* expires -1 */
    0x00, 0x00, 0x00, 0x05,                             /* limit 5 */
    0x00, 0x00, 0x00, 0x07,                             /* id 7 */
    0x30,                                               /* gap: null pointer marker */
    0x00, 0x00,                                         /* unused */
};

static void test_types_walk(void)
{
    Typed t = { -1, 5, 7 };
    GError *err = NULL;
    g_autofree char *json = save_json(&vmstate_typed, &t, NULL, &err);
    ASSERT_NO_ERROR(err);
    ASSERT_STR_EQ(json, "{\"expires\":-1,\"limit\":5,\"id\":7,\"gap\":null,\"unused\":\"0000\"}");
    g_autoptr(GBytes) b = save_bytes(&vmstate_typed, &t, NULL, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_TRUE(bytes_equal(b, TYPED_BYTES, sizeof(TYPED_BYTES)));
    CU_ASSERT_TRUE(vmstate_check(&vmstate_typed, sizeof(Typed), &err));
    ASSERT_NO_ERROR(err);

    /* "le": the input is stored when 0 <= input <= the current value. */
    Typed l = { 0, 9, 7 };
    CU_ASSERT_TRUE(load_bytes(&vmstate_typed, &l, TYPED_BYTES, sizeof(TYPED_BYTES), 1, NULL,
                              NULL, &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_TRUE(l.expires == -1 && l.limit == 5 && l.id == 7);
    l.limit = 4;
    CU_ASSERT_FALSE(load_bytes(&vmstate_typed, &l, TYPED_BYTES, sizeof(TYPED_BYTES), 1, NULL,
                               NULL, &err));
    CU_ASSERT_TRUE(g_error_matches(err, VMS_ERROR, VMS_ERROR_RANGE));
    ASSERT_ERROR(err, "typed.limit: value 5 in the input is not between 0 and the current"
                      " value 4");

    uint8_t bad[sizeof(TYPED_BYTES)];
    memcpy(bad, TYPED_BYTES, sizeof(bad));
    bad[16] = 0x31;
    l = (Typed){ 0, 9, 7 };
    CU_ASSERT_FALSE(load_bytes(&vmstate_typed, &l, bad, sizeof(bad), 1, NULL, NULL, &err));
    ASSERT_ERROR(err, "offset 16: typed.gap: null pointer marker is 0x31, expected 0x30");
}

static void test_types_table(void)
{
    /* Every entry names itself in descriptions and in QEMU's vmdesc. */
    for (int t = 0; t < VMSTATE_TYPE__MAX; t++) {
        const VMStateInfo *info = VMSTATE_INFO(t);
        CU_ASSERT_PTR_EQUAL(vmstate_info_find(info->name), info);
        CU_ASSERT_PTR_NOT_NULL(vmstate_info_find_vmdesc(info->vmdesc_name));
        CU_ASSERT_TRUE(info->visit != NULL || (info->flags & VMSTATE_INFO_STRUCT));
    }
    CU_ASSERT_PTR_EQUAL(vmstate_info_find_vmdesc("int32 le"), VMSTATE_INFO(VMSTATE_TYPE_INT32_LE));
    CU_ASSERT_PTR_EQUAL(vmstate_info_find_vmdesc("unused_buffer"),
                        VMSTATE_INFO(VMSTATE_TYPE_UNUSED));
    CU_ASSERT_PTR_EQUAL(vmstate_info_find_vmdesc("tmp"), VMSTATE_INFO(VMSTATE_TYPE_TMP));
    /* QEMU names its uint64_equal "int64 equal": the first of the two wins. */
    CU_ASSERT_PTR_EQUAL(vmstate_info_find_vmdesc("int64 equal"),
                        VMSTATE_INFO(VMSTATE_TYPE_INT64_EQUAL));
    CU_ASSERT_PTR_NULL(vmstate_info_find_vmdesc("pci config"));
    CU_ASSERT_PTR_NULL(vmstate_info_find("uint32 equal"));
    CU_ASSERT_PTR_EQUAL(vmstate_info_int(VISIT_UINT16), VMSTATE_INFO(VMSTATE_TYPE_UINT16));
}

/* ---- runs, presence, names ---- */

typedef struct Ptrs {
    uint8_t head;
    uint16_t tail[2];
    uint8_t more_present;   /* the presence byte of "ptrs/more" */
    uint32_t more;
} Ptrs;

static const VMStateDescription vmstate_ptrs_more = {
    .name = "ptrs/more",
    .version_id = 1,
    .has_presence = true,
    .presence_offset = offsetof(Ptrs, more_present),
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(more, Ptrs),
        VMSTATE_END_OF_LIST()
    },
};

/* A list in three runs: a null pointer, one uint8, two uint16 (as a vmdesc can say). */
static const VMStateDescription vmstate_ptrs = {
    .name = "ptrs",
    .version_id = 1,
    .fields = (const VMStateField[]) {
        { .name = "p", .info = VMSTATE_INFO(VMSTATE_TYPE_NULLPTR), .size = 1 },
        { .name = "p", .info = VMSTATE_INFO(VMSTATE_TYPE_UINT8), .size = 1,
          .offset = offsetof(Ptrs, head), .continues = true },
        { .name = "p", .info = VMSTATE_INFO(VMSTATE_TYPE_UINT16), .size = 2,
          .shape = VMSTATE_ARRAY, .num = 2, .offset = offsetof(Ptrs, tail), .continues = true },
        VMSTATE_UNUSED(1),
        VMSTATE_UNUSED(1),
        VMSTATE_END_OF_LIST()
    },
    .subsections = (const VMStateDescription *const[]) { &vmstate_ptrs_more, NULL },
};

static const uint8_t PTRS_BYTES[] = {
    0x30, 0x07, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00,
    0x05, 0x09, 'p', 't', 'r', 's', '/', 'm', 'o', 'r', 'e', 0x00, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x01, 0x00,
};

static void test_runs_and_presence(void)
{
    Ptrs p = { .head = 7, .tail = { 1, 2 } };
    GError *err = NULL;
    CU_ASSERT_TRUE(vmstate_check(&vmstate_ptrs, sizeof(Ptrs), &err));
    ASSERT_NO_ERROR(err);

    /* The runs are one list; "unused" counts twice, the run once. */
    g_autofree char *absent = save_json(&vmstate_ptrs, &p, NULL, &err);
    ASSERT_STR_EQ(absent, "{\"p\":[null,7,1,2],\"unused[0]\":\"00\",\"unused[1]\":\"00\"}");
    g_autoptr(GBytes) b0 = save_bytes(&vmstate_ptrs, &p, NULL, &err);
    CU_ASSERT_TRUE(bytes_equal(b0, PTRS_BYTES, 8));

    /* The presence byte, not a needed(), says whether the subsection is sent. */
    p.more_present = 1;
    p.more = 256;
    g_autofree char *present = save_json(&vmstate_ptrs, &p, NULL, &err);
    ASSERT_STR_EQ(present, "{\"p\":[null,7,1,2],\"unused[0]\":\"00\",\"unused[1]\":\"00\","
                           "\"ptrs/more\":{\"more\":256}}");
    g_autoptr(GBytes) b1 = save_bytes(&vmstate_ptrs, &p, NULL, &err);
    CU_ASSERT_TRUE(bytes_equal(b1, PTRS_BYTES, sizeof(PTRS_BYTES)));
    ASSERT_NO_ERROR(err);

    /* A load sets the presence byte of what it found, and only that. */
    Ptrs l = { 0 };
    CU_ASSERT_TRUE(load_bytes(&vmstate_ptrs, &l, PTRS_BYTES, sizeof(PTRS_BYTES), 1, NULL, NULL,
                              &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(memcmp(&l, &p, sizeof(p)), 0);
    l = (Ptrs){ 0 };
    size_t left = 0;
    CU_ASSERT_TRUE(load_bytes(&vmstate_ptrs, &l, PTRS_BYTES, 8, 1, NULL, &left, &err));
    CU_ASSERT_TRUE(l.more_present == 0 && l.head == 7 && l.tail[1] == 2 && left == 0);
    ASSERT_NO_ERROR(err);

    /* Element errors name the place in the whole list. */
    CU_ASSERT_FALSE(load_bytes(&vmstate_ptrs, &l, PTRS_BYTES, 5, 1, NULL, NULL, &err));
    ASSERT_ERROR(err, "offset 4: ptrs.p[3]: truncated: need 2 bytes, 1 left");
}

static void test_runs_checked(void)
{
    GError *err = NULL;
    VMStateField fields[] = {
        { .name = "a", .info = VMSTATE_INFO(VMSTATE_TYPE_UINT8), .size = 1 },
        { .name = "b", .info = VMSTATE_INFO(VMSTATE_TYPE_UINT8), .size = 1, .offset = 1,
          .continues = true },
        VMSTATE_END_OF_LIST()
    };
    VMStateDescription vmsd = { .name = "x", .version_id = 1, .fields = fields };
    CU_ASSERT_FALSE(vmstate_check(&vmsd, 8, &err));
    ASSERT_ERROR(err, "x.b: continues a run, but does not follow a field of its name");
    fields[0].continues = true;
    CU_ASSERT_FALSE(vmstate_check(&vmsd, 8, &err));
    ASSERT_ERROR(err, "x.a: continues a run, but does not follow a field of its name");
    fields[0] = (VMStateField){ .name = "b", .info = VMSTATE_INFO(VMSTATE_TYPE_UINT8),
                                .size = 1, .shape = VMSTATE_VARRAY, .num = 1,
                                .num_info = VMSTATE_INFO(VMSTATE_TYPE_UINT8) };
    fields[1].version_id = 2;
    CU_ASSERT_FALSE(vmstate_check(&vmsd, 8, &err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    g_clear_error(&err);
    fields[0].shape = VMSTATE_SINGLE;
    CU_ASSERT_FALSE(vmstate_check(&vmsd, 8, &err));
    ASSERT_ERROR(err, "x.b: version 2 differs from the version 0 of its run");

    VMStateDescription sub = { .name = "x/s", .version_id = 1, .fields = fields + 2,
                               .has_presence = true, .presence_offset = 8 };
    const VMStateDescription *subs[] = { &sub, NULL };
    fields[1].version_id = 0;
    vmsd.subsections = subs;
    CU_ASSERT_FALSE(vmstate_check(&vmsd, 8, &err));
    ASSERT_ERROR(err, "x.x/s: presence byte at offset 8 outside the state size 8, or with a"
                      " needed()");
}

/* ---- watching a walk ---- */

typedef struct Watch {
    GString *log;
    Visitor *v;
} Watch;

static bool watch_enter(void *opaque, const VMStateDescription *vmsd, VisitStructKind kind,
                        int version_id, GError **errp)
{
    Watch *w = opaque;
    g_string_append_printf(w->log, "enter %s v%d kind %d; ", vmsd->name, version_id, kind);
    return true;
}

static bool watch_leave(void *opaque, const VMStateDescription *vmsd, GError **errp)
{
    g_string_append_printf(((Watch *)opaque)->log, "leave %s; ", vmsd->name);
    return true;
}

static bool watch_field(void *opaque, const VMStateField *f, const char *name, bool is_list,
                        size_t n, GError **errp)
{
    g_string_append_printf(((Watch *)opaque)->log, "field %s%s%zu; ", name,
                           is_list ? " list " : " ", n);
    return true;
}

static bool watch_element(void *opaque, const VMStateField *f, const VMStateField *run,
                          size_t index, size_t n, uint8_t *elem, bool end, GError **errp)
{
    Watch *w = opaque;
    if (!end) {
        g_autofree char *path = visit_path(w->v, NULL);
        g_string_append_printf(w->log, "elem %s %s %zu/%zu at %s; ", f->name, run->info->name,
                               index, n, path);
    }
    if (end && index == 2) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_FAILED, "enough");
        return false;
    }
    return true;
}

static void test_watch(void)
{
    static const VMStateHooks hooks = {
        .enter = watch_enter,
        .leave = watch_leave,
        .field = watch_field,
        .element = watch_element,
    };
    Ptrs p = { .head = 7, .tail = { 1, 2 }, .more_present = 1 };
    Watch w = { .log = g_string_new(NULL) };
    VMStateContext ctx = { .hooks = &hooks, .hooks_opaque = &w };
    GError *err = NULL;
    w.v = qobject_output_visitor_new();

    /* Unnamed at the top: paths start at the fields.  A hook that fails stops the walk. */
    CU_ASSERT_FALSE(vmstate_save_as(w.v, NULL, &vmstate_ptrs, &p, &ctx, &err));
    ASSERT_ERROR(err, "enough");
    visit_free(w.v);
    ASSERT_STR_EQ(w.log->str, "enter ptrs v1 kind 1; field p list 4; "
                              "elem p nullptr 0/4 at p[0]; elem p uint8 1/4 at p[1]; "
                              "elem p uint16 2/4 at p[2]; ");

    g_string_truncate(w.log, 0);
    ByteReader r;
    byte_reader_init(&r, PTRS_BYTES, sizeof(PTRS_BYTES), 0);
    w.v = qemufile_input_visitor_new(&r);
    Ptrs l = { 0 };
    CU_ASSERT_FALSE(vmstate_load_as(w.v, "top", &vmstate_ptrs, &l, 1, &ctx, &err));
    ASSERT_ERROR(err, "enough");
    visit_free(w.v);
    ASSERT_STR_EQ(w.log->str, "enter ptrs v1 kind 1; field p list 4; "
                              "elem p nullptr 0/4 at top.p[0]; elem p uint8 1/4 at top.p[1]; "
                              "elem p uint16 2/4 at top.p[2]; ");
    g_string_free(w.log, TRUE);
}

static const CuTest walk_tests[] = {
    { "save as QObject", test_save_qobject },
    { "subsection not needed", test_save_subsection_not_needed },
    { "save in QEMU format", test_save_qemufile },
    { "QEMU format round trip", test_roundtrip_qemufile },
    { "elements past N untouched", test_load_keeps_elements_past_length },
    { "duplicate names", test_duplicate_names },
    { NULL, NULL },
};

static const CuTest rule_tests[] = {
    { "newer version refused", test_version_newer_refused },
    { "version below minimum refused", test_version_below_minimum_refused },
    { "older version keeps defaults", test_version_older_keeps_defaults },
    { "newer subsection refused", test_subsection_version_newer_refused },
    { "_equal mismatch refused", test_equal_mismatch_refused },
    { "variable array over maximum", test_varray_over_maximum_refused },
    { "partial array over maximum", test_partial_over_maximum_refused },
    { "unknown subsection refused", test_unknown_subsection_refused },
    { "truncated input refused", test_truncated_refused },
    { NULL, NULL },
};

static const CuTest load_tests[] = {
    { "load into a copy", test_load_copy_keeps_state_on_failure },
    { "hooks", test_hooks },
    { NULL, NULL },
};

static const CuTest segptr_tests[] = {
    { "save", test_segptr_save },
    { "save from a fetched region", test_segptr_fetch },
    { "bounds", test_segptr_bounds },
    { "load", test_segptr_load },
    { NULL, NULL },
};

static const CuTest type_tests[] = {
    { "timer, le, equal, nullptr, unused", test_types_walk },
    { "the table", test_types_table },
    { NULL, NULL },
};

static const CuTest run_tests[] = {
    { "runs and presence bytes", test_runs_and_presence },
    { "runs checked", test_runs_checked },
    { "watching a walk", test_watch },
    { NULL, NULL },
};

static const CuTest vmdesc_tests[] = {
    { "exact", test_vmdesc_exact },
    { "nested subsections", test_vmdesc_nested_subsections },
    { "sizes sum to payload", test_vmdesc_sizes_sum_to_payload },
    { NULL, NULL },
};

/* ---- QEMU's -dump-vmstate JSON ---- */

#define REGS_DUMP(TYPES_A, TYPES_B)                                                  \
    "{\"name\":\"dev/regs\",\"version_id\":1,\"minimum_version_id\":1,\"Fields\":["      \
    "{\"field\":\"a\",\"version_id\":0,\"field_exists\":false,\"size\":1" TYPES_A "},"  \
    "{\"field\":\"b\",\"version_id\":0,\"field_exists\":false,\"size\":2" TYPES_B "}]}"

static void test_dump_description(void)
{
    g_autoptr(QObject) dump = vmstate_dump_new("pc-i440fx-7.2");
    vmstate_dump_add(dump, "test-dev", &vmstate_dev, 0);
    QObject *entry = qdict_get(dump, "test-dev");
    QObject *desc = qdict_get(entry, "Description");
    QObject *fields = qdict_get(desc, "Fields");
    ASSERT_STR_EQ(qdict_get_str(qdict_get(dump, "vmschkmachine"), "Name"), "pc-i440fx-7.2");
    ASSERT_STR_EQ(qdict_get_str(entry, "Name"), "test-dev");
    g_autofree char *f0 = qobject_to_json(qlist_get(fields, 0), false);
    ASSERT_STR_EQ(f0, "{\"field\":\"enabled\",\"version_id\":0,\"field_exists\":false,\"size\":1}");
    /* element sizes, never an array's length: QEMU's VMStateField.size */
    g_autofree char *arr = qobject_to_json(qlist_get(fields, 12), false);
    ASSERT_STR_EQ(arr, "{\"field\":\"arr\",\"version_id\":0,\"field_exists\":false,\"size\":2}");
    g_autofree char *banks = qobject_to_json(qlist_get(fields, 14), false);
    ASSERT_STR_EQ(banks, "{\"field\":\"banks\",\"version_id\":0,\"field_exists\":false,"
                         "\"size\":4,\"Description\":" REGS_DUMP("", "") "}");
    g_autofree char *added = qobject_to_json(qlist_get(fields, 18), false);
    ASSERT_STR_EQ(added, "{\"field\":\"added\",\"version_id\":3,\"field_exists\":false,\"size\":4}");
    CU_ASSERT_EQUAL(qlist_size(fields), 19);
    g_autofree char *subs = qobject_to_json(qdict_get(desc, "Subsections"), false);
    ASSERT_STR_EQ(subs, "[{\"name\":\"dev/extra\",\"version_id\":1,\"minimum_version_id\":1,"
                        "\"Fields\":[{\"field\":\"extra\",\"version_id\":0,\"field_exists\":false,"
                        "\"size\":4}]}]");
    g_autofree char *top = qobject_to_json(entry, false);
    CU_ASSERT_TRUE(g_str_has_prefix(top, "{\"Name\":\"test-dev\",\"version_id\":3,"
                                      "\"minimum_version_id\":2,\"Description\":{\"name\":\"dev\","
                                      "\"version_id\":3,\"minimum_version_id\":2,\"Fields\":["));
}

static void test_dump_types(void)
{
    g_autoptr(QObject) desc = vmstate_dump_description(&vmstate_regs, VMSTATE_DUMP_TYPES);
    g_autofree char *json = qobject_to_json(desc, false);
    ASSERT_STR_EQ(json, REGS_DUMP(",\"type\":\"uint8\"", ",\"type\":\"uint16\""));
}

/* With a state, an _equal field says the value a stream must carry. */
static void test_dump_equal(void)
{
    Dev d;
    dev_init(&d);
    g_autoptr(QObject) dump = vmstate_dump_new("m");
    vmstate_dump_add_state(dump, "test-dev", &vmstate_dev, &d, VMSTATE_DUMP_TYPES);
    QObject *fields = qdict_get(qdict_get(qdict_get(dump, "test-dev"), "Description"), "Fields");
    g_autofree char *id = qobject_to_json(qlist_get(fields, 9), false);
    ASSERT_STR_EQ(id, "{\"field\":\"id\",\"version_id\":0,\"field_exists\":false,\"size\":4,"
                      "\"type\":\"uint32_equal\",\"equal\":7}");
    g_autofree char *u32 = qobject_to_json(qlist_get(fields, 7), false);
    ASSERT_STR_EQ(u32, "{\"field\":\"u32\",\"version_id\":0,\"field_exists\":false,\"size\":4,"
                       "\"type\":\"uint32\"}");
    int16_t neg = -2;
    g_autoptr(QObject) v = vmstate_int_value(VMSTATE_INFO(VMSTATE_TYPE_INT16_EQUAL), &neg);
    g_autofree char *vs = qobject_to_json(v, false);
    ASSERT_STR_EQ(vs, "-2");
}

static const CuTest dump_tests[] = {
    { "QEMU's keys", test_dump_description },
    { "with types", test_dump_types },
    { "_equal values", test_dump_equal },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "vmstate-walk", walk_tests },
    { "vmstate-rules", rule_tests },
    { "vmstate-load", load_tests },
    { "vmstate-segptr", segptr_tests },
    { "vmstate-types", type_tests },
    { "vmstate-runs", run_tests },
    { "vmstate-vmdesc", vmdesc_tests },
    { "vmstate-dump", dump_tests },
    { NULL, NULL },
};

CUTEST_MAIN(suites)

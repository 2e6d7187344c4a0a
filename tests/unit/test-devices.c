/*
 * The reference device models: every description is valid for its state,
 * states evolve, and a state saved in QEMU's format loads back identical,
 * also across versions (older stream into a newer device; newer refused).
 */
#include "config.h"

#include "cutest.h"
#include "devices.h"
#include "vmscope/qemu-stream.h"
#include "vmscope/qemufile-visitor.h"
#include "vmscope/qobject-visitor.h"
#include "vmscope/vmstate.h"

/* A heap for the tests: a bump allocator over one buffer (frees are no-ops). */
typedef struct TestHeap {
    DeviceHeap heap;
    size_t used;
} TestHeap;

static uint64_t test_alloc(void *opaque, size_t n)
{
    TestHeap *h = opaque;
    size_t off = (h->used + 63) & ~(size_t)63;
    if (off + n > h->heap.size) {
        return 0;
    }
    memset(h->heap.base + off, 0, n);
    h->used = off + n;
    return off;
}

static void test_free(void *opaque, uint64_t offset) {}

static void heap_init(TestHeap *h, size_t size)
{
    h->heap.base = g_malloc0(size);
    h->heap.size = size;
    h->heap.alloc = test_alloc;
    h->heap.free = test_free;
    h->heap.opaque = h;
    h->used = 64;                     /* offset 0 means "no list" */
}

static QObject *state_qobject(const VMStateDescription *vmsd, void *state, DeviceHeap *heap)
{
    GError *err = NULL;
    VMStateContext ctx = { .base = heap->base, .size = heap->size };
    Visitor *v = qobject_output_visitor_new();
    CU_ASSERT_TRUE(vmstate_save(v, vmsd, state, &ctx, &err));
    ASSERT_NO_ERROR(err);
    QObject *obj = qobject_output_visitor_take(v);
    visit_free(v);
    return obj;
}

static void test_descriptions_valid(void)
{
    for (const DeviceType *const *t = device_types; *t; t++) {
        GError *err = NULL;
        if (!vmstate_check((*t)->vmsd, (*t)->state_size, &err)) {
            fprintf(stderr, "\n%s: %s\n", (*t)->name, err->message);
        }
        CU_ASSERT_PTR_NULL(err);
        g_clear_error(&err);
    }
    CU_ASSERT_PTR_NOT_NULL(device_type_find("serial"));
    CU_ASSERT_PTR_NULL(device_type_find("floppy"));
}

/* The one table: names and short names unique, the default list follows from it. */
static void test_table(void)
{
    g_autoptr(GHashTable) names = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GHashTable) shorts = g_hash_table_new(g_str_hash, g_str_equal);
    GString *defaults = g_string_new(NULL);
    for (const DeviceType *const *t = device_types; *t; t++) {
        CU_ASSERT_TRUE(g_hash_table_add(names, (gpointer)(*t)->name));
        CU_ASSERT_PTR_NOT_NULL_FATAL((*t)->short_name);
        CU_ASSERT_TRUE((*t)->short_name[0] != '\0');
        CU_ASSERT_TRUE(g_hash_table_add(shorts, (gpointer)(*t)->short_name));
        CU_ASSERT_PTR_EQUAL(device_type_find((*t)->name), *t);
        for (unsigned i = 0; i < (*t)->default_count; i++) {
            g_string_append_printf(defaults, "%s%s", defaults->len ? "," : "", (*t)->name);
        }
    }
    ASSERT_STR_EQ(device_default_list(), defaults->str);
    CU_ASSERT_PTR_EQUAL(device_default_list(), device_default_list());    /* built once */
    g_string_free(defaults, TRUE);
}

/* Save in QEMU's format, load into a fresh state: identical QObject. */
static void test_round_trip_all(void)
{
    for (const DeviceType *const *t = device_types; *t; t++) {
        const DeviceType *type = *t;
        TestHeap h1, h2;
        heap_init(&h1, 1 << 20);
        heap_init(&h2, 1 << 20);
        g_autofree void *s1 = g_malloc0(type->state_size);
        g_autofree void *s2 = g_malloc0(type->state_size);
        type->init(s1, 0, &h1.heap);
        type->init(s2, 0, &h2.heap);
        for (uint64_t tick = 1; tick <= 37; tick++) {
            type->tick(s1, tick, &h1.heap);
        }
        g_autoptr(QObject) before = state_qobject(type->vmsd, s1, &h1.heap);
        g_autoptr(QObject) fresh = state_qobject(type->vmsd, s2, &h2.heap);
        CU_ASSERT_FALSE(qobject_equal(before, fresh));      /* the state moved on */

        GError *err = NULL;
        VMStateContext c1 = { .base = h1.heap.base, .size = h1.heap.size };
        VMStateContext c2 = { .base = h2.heap.base, .size = h2.heap.size };
        ByteWriter w;
        byte_writer_init(&w);
        CU_ASSERT_TRUE(qemu_stream_save_device(&w, type->vmsd, s1, &c1, NULL, &err));
        ASSERT_NO_ERROR(err);
        g_autoptr(GBytes) bytes = byte_writer_take(&w);
        byte_writer_clear(&w);
        gsize n = 0;
        const uint8_t *p = g_bytes_get_data(bytes, &n);
        ByteReader r;
        byte_reader_init(&r, p, n, 0);
        Visitor *v = qemufile_input_visitor_new(&r);
        /* The slirp list goes to the destination's own heap: same offsets. */
        bool ok = vmstate_load(v, type->vmsd, s2, type->vmsd->version_id, &c2, &err);
        visit_free(v);
        if (!ok) {
            fprintf(stderr, "\n%s: %s\n", type->name, err->message);
        }
        CU_ASSERT_TRUE(ok);
        g_clear_error(&err);
        CU_ASSERT_EQUAL(byte_reader_left(&r), 0);
        g_autoptr(QObject) after = state_qobject(type->vmsd, s2, &h2.heap);
        if (!qobject_equal(before, after)) {
            g_autofree char *a = qobject_to_json(before, false);
            g_autofree char *b = qobject_to_json(after, false);
            fprintf(stderr, "\n%s differs:\n%s\n%s\n", type->name, a, b);
        }
        CU_ASSERT_TRUE(qobject_equal(before, after));
        g_free(h1.heap.base);
        g_free(h2.heap.base);
    }
}

static void test_serial_values(void)
{
    const DeviceType *type = device_type_find("serial");
    TestHeap h;
    heap_init(&h, 4096);
    g_autofree void *s = g_malloc0(type->state_size);
    type->init(s, 1, &h.heap);
    type->tick(s, 1, &h.heap);     /* 'b' arrives */
    type->tick(s, 2, &h.heap);     /* 'c' arrives */
    g_autoptr(QObject) obj = state_qobject(type->vmsd, s, &h.heap);
    g_autofree char *json = qobject_to_json(obj, false);
    ASSERT_STR_EQ(json,
        "{\"divider\":12,\"rbr\":0,\"ier\":1,\"iir\":4,\"lcr\":3,\"mcr\":11,\"lsr\":97,"
        "\"msr\":176,\"scr\":1,\"fcr\":1,\"rx_total\":2,"
        "\"serial/recv_fifo\":{\"recv_fifo\":{\"data\":\"62630000000000000000000000000000\","
        "\"head\":0,\"num\":2}},"
        "\"serial/xmit_fifo\":{\"xmit_fifo\":{\"data\":\"00000000000000000000000000000000\","
        "\"head\":0,\"num\":0}}}");
    g_free(h.heap.base);
}

/* serial version 3 has no rx_total: a v3 stream loads into v4, a v4 stream into v3 does not. */
static void test_versions(void)
{
    const DeviceType *type = device_type_find("serial");
    GError *err = NULL;
    const VMStateDescription *v3 = device_vmsd_at_version(type, 3, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(v3->version_id, 3);
    CU_ASSERT_PTR_EQUAL(device_vmsd_at_version(type, 3, &err), v3);   /* cached */
    CU_ASSERT_PTR_EQUAL(device_vmsd_at_version(type, 4, &err), type->vmsd);
    CU_ASSERT_PTR_NULL(device_vmsd_at_version(type, 5, &err));
    ASSERT_ERROR(err, "device type 'serial' supports versions 2 to 4, not 5");
    CU_ASSERT_PTR_NULL(device_vmsd_at_version(type, 1, &err));
    ASSERT_ERROR(err, "device type 'serial' supports versions 2 to 4, not 1");

    TestHeap h;
    heap_init(&h, 4096);
    g_autofree void *old = g_malloc0(type->state_size);
    g_autofree void *cur = g_malloc0(type->state_size);
    type->init(old, 0, &h.heap);
    type->init(cur, 0, &h.heap);
    for (uint64_t t = 1; t <= 10; t++) {
        type->tick(old, t, &h.heap);
    }
    ByteWriter w;
    byte_writer_init(&w);
    CU_ASSERT_TRUE(qemu_stream_save_device(&w, v3, old, NULL, NULL, &err));
    ASSERT_NO_ERROR(err);
    ByteReader r;
    byte_reader_init(&r, w.buf->data, w.buf->len, 0);
    Visitor *v = qemufile_input_visitor_new(&r);
    CU_ASSERT_TRUE(vmstate_load_copy(v, type->vmsd, cur, type->state_size, 3, NULL, &err));
    ASSERT_NO_ERROR(err);
    visit_free(v);
    g_autoptr(QObject) a = state_qobject(v3, old, &h.heap);
    g_autoptr(QObject) b = state_qobject(v3, cur, &h.heap);
    CU_ASSERT_TRUE(qobject_equal(a, b));
    g_autoptr(QObject) full = state_qobject(type->vmsd, cur, &h.heap);
    int64_t rx = -1;
    CU_ASSERT_TRUE(qnum_get_int(qdict_get(full, "rx_total"), &rx));
    CU_ASSERT_EQUAL(rx, 0);                 /* a v3 stream has no rx_total: default kept */

    /* A v4 stream into a v3 device: refused, nothing changed. */
    byte_writer_clear(&w);
    byte_writer_init(&w);
    CU_ASSERT_TRUE(qemu_stream_save_device(&w, type->vmsd, cur, NULL, NULL, &err));
    g_autofree void *before = g_memdup2(old, type->state_size);
    byte_reader_init(&r, w.buf->data, w.buf->len, 0);
    v = qemufile_input_visitor_new(&r);
    CU_ASSERT_FALSE(vmstate_load_copy(v, v3, old, type->state_size, 4, NULL, &err));
    ASSERT_ERROR(err, "serial: incoming version 4 of serial is newer than the supported version 3");
    visit_free(v);
    CU_ASSERT_EQUAL(memcmp(before, old, type->state_size), 0);
    byte_writer_clear(&w);
    g_free(h.heap.base);
}

/* The socket list grows and shrinks, and its QObject follows. */
static void test_slirp_list(void)
{
    const DeviceType *type = device_type_find("slirp");
    TestHeap h;
    heap_init(&h, 1 << 20);
    g_autofree void *s = g_malloc0(type->state_size);
    type->init(s, 0, &h.heap);
    size_t seen_max = 0;
    for (uint64_t t = 1; t <= 120; t++) {
        type->tick(s, t, &h.heap);
        g_autoptr(QObject) obj = state_qobject(type->vmsd, s, &h.heap);
        int64_t count = -1;
        CU_ASSERT_TRUE(qnum_get_int(qdict_get(obj, "so_count"), &count));
        CU_ASSERT_EQUAL((size_t)count, qlist_size(qdict_get(obj, "sockets")));
        uint32_t phase = (uint32_t)(t / 5 % 24);
        CU_ASSERT_EQUAL(count, phase < 12 ? phase : 23 - phase);
        seen_max = MAX(seen_max, (size_t)count);
    }
    CU_ASSERT_EQUAL(seen_max, 11);
    g_free(h.heap.base);
}

/* Described as JSON and rebuilt, a description walks the raw state the same way. */
static void test_described_walk(void)
{
    const DeviceType *type = device_type_find("virtio-blk");
    TestHeap h;
    heap_init(&h, 4096);
    g_autofree void *s = g_malloc0(type->state_size);
    type->init(s, 0, &h.heap);
    for (uint64_t t = 1; t <= 5; t++) {
        type->tick(s, t, &h.heap);      /* tick 5 leaves requests in flight */
    }
    GError *err = NULL;
    g_autoptr(QObject) desc = vmstate_describe(type->vmsd);
    g_autoptr(VMStateDescription) rebuilt = vmstate_from_description(desc, type->state_size, &err);
    ASSERT_NO_ERROR(err);
    g_autoptr(QObject) a = state_qobject(type->vmsd, s, &h.heap);
    g_autoptr(QObject) b = state_qobject(rebuilt, s, &h.heap);
    CU_ASSERT_TRUE(qobject_equal(a, b));
    CU_ASSERT_EQUAL(qlist_size(qdict_get(a, "vq")), 2);   /* only live queues */
    g_free(h.heap.base);
}

static const CuTest device_tests[] = {
    { "descriptions valid", test_descriptions_valid },
    { "the device table", test_table },
    { "round trip through QEMU format", test_round_trip_all },
    { "serial values", test_serial_values },
    { "versions", test_versions },
    { "slirp socket list", test_slirp_list },
    { "described walk", test_described_walk },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "devices", device_tests },
    { NULL, NULL },
};

CUTEST_MAIN(suites)

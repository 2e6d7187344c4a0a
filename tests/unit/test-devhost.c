/*
 * devices/devhost.c and devices/migration-stream.c in one process: device
 * lists, segment pointers, a stream saved by one host and loaded by
 * another, and loads that fail late (a bad last section, a heap too full
 * for the socket list) leaving every device exactly as it was.
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>
#include <glib/gstdio.h>

#include "cutest.h"
#include "devhost.h"
#include "migration.h"
#include "vmscope/ber-stream.h"
#include "vmscope/qemu-stream.h"
#include "vmscope/qobject-visitor.h"

static char *dir;

static DevHost *host_new(const char *name, const char *devices, DevHostRunState state)
{
    DevHostConfig config = { .name = name, .shm_dir = dir, .devices = devices };
    g_autoptr(GError) err = NULL;
    DevHost *h = devhost_new(&config, state, &err);
    ASSERT_NO_ERROR(err);
    return h;
}

/* Every device walked with its own description: {id: state}. */
static QObject *host_states(DevHost *h)
{
    VMStateContext ctx = devhost_region(h);
    QObject *all = qdict_new();
    for (size_t i = 0; i < devhost_n_devices(h); i++) {
        DevHostDevice *d = devhost_device(h, i);
        Visitor *v = qobject_output_visitor_new();
        g_autoptr(GError) err = NULL;
        CU_ASSERT_TRUE(vmstate_save(v, d->vmsd, d->state, &ctx, &err));
        ASSERT_NO_ERROR(err);
        qdict_put(all, d->id, qobject_output_visitor_take(v));
        visit_free(v);
    }
    return all;
}

/* The raw bytes of every state, to prove that nothing at all changed. */
static GByteArray *host_bytes(DevHost *h)
{
    GByteArray *b = g_byte_array_new();
    for (size_t i = 0; i < devhost_n_devices(h); i++) {
        DevHostDevice *d = devhost_device(h, i);
        g_byte_array_append(b, d->state, (guint)d->type->state_size);
    }
    return b;
}

static bool bytes_equal(GByteArray *a, GByteArray *b)
{
    return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

static void test_parse_devices(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) t = devhost_parse_devices("serial:3,i8254,serial", &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL_FATAL(t->len, 5);
    ASSERT_STR_EQ(((const DeviceType *)t->pdata[3])->name, "i8254");
    ASSERT_STR_EQ(((const DeviceType *)t->pdata[3])->short_name, "pit");
    ASSERT_STR_EQ(((const DeviceType *)t->pdata[0])->short_name, "serial");
    CU_ASSERT_PTR_NULL(devhost_parse_devices("", &err));
    ASSERT_ERROR(err, "--devices: no devices given");
    CU_ASSERT_PTR_NULL(devhost_parse_devices("serial:4097", &err));
    ASSERT_ERROR(err, "--devices: 'serial:4097': COUNT must be a number from 1 to 4096");
    CU_ASSERT_PTR_NULL(devhost_parse_devices(":3", &err));
    ASSERT_ERROR(err, "--devices: empty device type in ':3'");

    const DeviceType *type;
    const VMStateDescription *vmsd;
    CU_ASSERT_TRUE(devhost_parse_version("i8254=2", &type, &vmsd, &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(vmsd->version_id, 2);
    CU_ASSERT_FALSE(devhost_parse_version("=2", &type, &vmsd, &err));
    ASSERT_ERROR(err, "--device-version: '=2': expected TYPE=N");
    CU_ASSERT_FALSE(devhost_parse_version("i8254=-1", &type, &vmsd, &err));
    ASSERT_ERROR(err, "--device-version: 'i8254=-1': expected TYPE=N");
}

static void test_segptrs(void)
{
    g_autoptr(GArray) a = g_array_new(FALSE, FALSE, sizeof(DevHostSegPtr));
    g_autoptr(GError) err = NULL;
    CU_ASSERT_TRUE(devhost_segptrs(device_type_find("slirp")->vmsd, a, &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL_FATAL(a->len, 1);
    DevHostSegPtr *p = &g_array_index(a, DevHostSegPtr, 0);
    CU_ASSERT_EQUAL(p->max, 256);
    CU_ASSERT_EQUAL(p->elem_size, 40);
    g_array_set_size(a, 0);
    CU_ASSERT_TRUE(devhost_segptrs(device_type_find("serial")->vmsd, a, &err));
    CU_ASSERT_EQUAL(a->len, 0);
}

static void test_round_trip(void)
{
    g_autoptr(DevHost) src = host_new("u-src", NULL, DEVHOST_RUNNING);
    g_autoptr(DevHost) dst = host_new("u-dst", NULL, DEVHOST_INMIGRATE);
    for (int i = 0; i < 60; i++) {
        devhost_tick(src);
    }
    g_autoptr(GError) err = NULL;
    g_autoptr(GBytes) stream = migration_save_stream(src, false, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_TRUE(migration_load_stream(dst, stream, false, &err));
    ASSERT_NO_ERROR(err);
    g_autoptr(QObject) a = host_states(src);
    g_autoptr(QObject) b = host_states(dst);
    CU_ASSERT_TRUE(qobject_equal(a, b));
    CU_ASSERT_EQUAL(qlist_size(qdict_get(qdict_get(b, "slirp0"), "sockets")), 11);
    /* Each device changed in exactly one update. */
    CU_ASSERT_EQUAL(shm_device_updates(devhost_device(dst, 7)->shm), 2);
    /* Loading again replaces the lists, freeing the old blocks. */
    CU_ASSERT_TRUE(migration_load_stream(dst, stream, false, &err));
    ASSERT_NO_ERROR(err);
    g_autoptr(QObject) c = host_states(dst);
    CU_ASSERT_TRUE(qobject_equal(a, c));
}

static void test_late_failure_changes_nothing(void)
{
    g_autoptr(DevHost) src = host_new("u-src2", NULL, DEVHOST_RUNNING);
    g_autoptr(DevHost) dst = host_new("u-dst2", NULL, DEVHOST_INMIGRATE);
    for (int i = 0; i < 30; i++) {
        devhost_tick(src);
        devhost_tick(dst);               /* the destination has a list of its own */
    }
    g_autoptr(GError) err = NULL;
    g_autoptr(GBytes) stream = migration_save_stream(src, false, &err);
    ASSERT_NO_ERROR(err);
    g_autoptr(QemuStream) s = qemu_stream_parse(stream, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_TRUE(qemu_stream_set(s, "slirp.vnetmask", "0", &err));
    CU_ASSERT_TRUE(qemu_stream_set(s, "slirp.so_count", "257", &err));
    ASSERT_NO_ERROR(err);
    g_autoptr(GBytes) bad = qemu_stream_write(s);

    g_autoptr(GByteArray) before = host_bytes(dst);
    CU_ASSERT_FALSE(migration_load_stream(dst, bad, false, &err));
    ASSERT_ERROR(err, "device slirp0: slirp.sockets: array length 257 exceeds the maximum 256");
    g_autoptr(GByteArray) after = host_bytes(dst);
    CU_ASSERT_TRUE(bytes_equal(before, after));
}

/* The heap cannot hold the incoming list: nothing changes, and the next try works. */
static void test_heap_full(void)
{
    g_autoptr(DevHost) src = host_new("u-src3", "serial,slirp", DEVHOST_RUNNING);
    g_autoptr(DevHost) dst = host_new("u-dst3", "serial,slirp", DEVHOST_INMIGRATE);
    for (int i = 0; i < 30; i++) {
        devhost_tick(src);
    }
    g_autoptr(GError) err = NULL;
    g_autoptr(GBytes) stream = migration_save_stream(src, false, &err);
    ASSERT_NO_ERROR(err);

    /* Fill the destination's heap with 64-byte blocks. */
    ShmWriter *w = devhost_writer(dst);
    g_autoptr(GArray) filler = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    for (;;) {
        g_autoptr(GError) e = NULL;
        uint64_t off = shm_heap_alloc(w, 64, &e);
        if (!off) {
            break;
        }
        g_array_append_val(filler, off);
    }
    CU_ASSERT_TRUE(filler->len > 10);
    g_autoptr(GByteArray) before = host_bytes(dst);
    CU_ASSERT_FALSE(migration_load_stream(dst, stream, false, &err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    CU_ASSERT_TRUE(g_str_has_prefix(err->message, "device slirp0: vmscope-u-dst3: heap: out of "
                                                  "space for 240 bytes"));
    g_clear_error(&err);
    g_autoptr(GByteArray) after = host_bytes(dst);
    CU_ASSERT_TRUE(bytes_equal(before, after));

    for (guint i = 0; i < filler->len; i++) {
        CU_ASSERT_TRUE(shm_heap_free(w, g_array_index(filler, uint64_t, i), &err));
    }
    CU_ASSERT_TRUE(migration_load_stream(dst, stream, false, &err));
    ASSERT_NO_ERROR(err);
    g_autoptr(QObject) a = host_states(src);
    g_autoptr(QObject) b = host_states(dst);
    CU_ASSERT_TRUE(qobject_equal(a, b));
}

/* The same in BER: equal states, every list; loading again works too. */
static void test_round_trip_ber(void)
{
    g_autoptr(DevHost) src = host_new("u-bsrc", NULL, DEVHOST_RUNNING);
    g_autoptr(DevHost) dst = host_new("u-bdst", NULL, DEVHOST_INMIGRATE);
    for (int i = 0; i < 60; i++) {
        devhost_tick(src);
    }
    g_autoptr(GError) err = NULL;
    g_autoptr(GBytes) stream = migration_save_stream(src, true, &err);
    ASSERT_NO_ERROR(err);
    gsize len;
    const uint8_t *p = g_bytes_get_data(stream, &len);
    CU_ASSERT_TRUE(ber_stream_is(p, len));
    CU_ASSERT_TRUE(migration_load_stream(dst, stream, true, &err));
    ASSERT_NO_ERROR(err);
    g_autoptr(QObject) a = host_states(src);
    g_autoptr(QObject) b = host_states(dst);
    CU_ASSERT_TRUE(qobject_equal(a, b));
    CU_ASSERT_EQUAL(qlist_size(qdict_get(qdict_get(b, "slirp0"), "sockets")), 11);
    CU_ASSERT_TRUE(migration_load_stream(dst, stream, true, &err));
    ASSERT_NO_ERROR(err);
}

/* A stream in the format the host was not told to accept: refused by its first bytes. */
static void test_format_refused(void)
{
    g_autoptr(DevHost) src = host_new("u-fsrc", "serial", DEVHOST_RUNNING);
    g_autoptr(DevHost) dst = host_new("u-fdst", "serial", DEVHOST_INMIGRATE);
    devhost_tick(src);
    g_autoptr(GError) err = NULL;
    g_autoptr(GBytes) qemu = migration_save_stream(src, false, &err);
    g_autoptr(GBytes) ber = migration_save_stream(src, true, &err);
    ASSERT_NO_ERROR(err);
    g_autoptr(GByteArray) before = host_bytes(dst);
    CU_ASSERT_FALSE(migration_load_stream(dst, ber, false, &err));
    ASSERT_ERROR(err, "offset 0: the stream is in the BER format, which this host was not told "
                      "to accept (migration capability 'ber' is off)");
    CU_ASSERT_FALSE(migration_load_stream(dst, qemu, true, &err));
    ASSERT_ERROR(err, "offset 0: the stream is not in the BER format this host was told to "
                      "accept (migration capability 'ber' is on)");
    g_autoptr(GByteArray) after = host_bytes(dst);
    CU_ASSERT_TRUE(bytes_equal(before, after));
}

/* BER loads are type-checked against the host's descriptions; versions as VMState says. */
static void test_ber_type_checked(void)
{
    g_autoptr(DevHost) src = host_new("u-tsrc", "serial", DEVHOST_RUNNING);
    g_autoptr(DevHost) dst = host_new("u-tdst", "serial", DEVHOST_INMIGRATE);
    devhost_tick(src);
    g_autoptr(GError) err = NULL;
    g_autoptr(GBytes) ber = migration_save_stream(src, true, &err);
    ASSERT_NO_ERROR(err);
    /* The source's divider as if it were a uint32: [5] becomes [6]. */
    gsize len;
    const uint8_t *p = g_bytes_get_data(ber, &len);
    g_autofree uint8_t *bad = g_memdup2(p, len);
    static const uint8_t divider[] = { 0x0c, 0x07, 'd', 'i', 'v', 'i', 'd', 'e', 'r', 0x85 };
    uint8_t *at = NULL;
    for (size_t i = 0; !at && i + sizeof(divider) <= len; i++) {
        at = memcmp(bad + i, divider, sizeof(divider)) == 0 ? bad + i : NULL;
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(at);
    at[sizeof(divider) - 1] = 0x86;
    g_autoptr(GBytes) tampered = g_bytes_new(bad, len);
    g_autoptr(GByteArray) before = host_bytes(dst);
    CU_ASSERT_FALSE(migration_load_stream(dst, tampered, true, &err));
    ASSERT_ERROR(err, "device serial0: serial.divider: stream has uint32, description expects "
                      "uint16");
    g_autoptr(GByteArray) after = host_bytes(dst);
    CU_ASSERT_TRUE(bytes_equal(before, after));

    /* An older source (version 3: no rx_total) loads; the field keeps its value. */
    DevHostConfig old = { .name = "u-told", .shm_dir = dir, .devices = "serial",
                          .versions = (const char *const[]){ "serial=3", NULL } };
    g_autoptr(DevHost) oldsrc = devhost_new(&old, DEVHOST_RUNNING, &err);
    ASSERT_NO_ERROR(err);
    devhost_tick(oldsrc);
    g_autoptr(GBytes) v3 = migration_save_stream(oldsrc, true, &err);
    CU_ASSERT_TRUE(migration_load_stream(dst, v3, true, &err));
    ASSERT_NO_ERROR(err);
    /* A newer one is refused. */
    CU_ASSERT_FALSE(migration_load_stream(oldsrc, ber, true, &err));
    ASSERT_ERROR(err, "device serial0: the stream has serial version 4, this host runs version 3");
}

static void collect_error(const GError *err, void *opaque)
{
    g_ptr_array_add(opaque, g_strdup(err->message));
}

/* A model that frees what it does not own: the host says so through its error function. */
static void test_error_func(void)
{
    g_autoptr(DevHost) h = host_new("u-err", "slirp", DEVHOST_RUNNING);
    g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
    devhost_set_error_func(h, collect_error, errors);
    for (int i = 0; i < 5; i++) {
        devhost_tick(h);                        /* tick 5: the first socket */
    }
    DevHostDevice *d = devhost_device(h, 0);
    const VMStateField *f = d->vmsd->fields;
    while (f->name && strcmp(f->name, "sockets") != 0) {
        f++;
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(f->name);
    /* Point the list at the state itself: a block, but not a heap block. */
    uint64_t bogus = shm_device_state_offset(d->shm);
    shm_device_begin_update(d->shm);
    memcpy((uint8_t *)d->state + f->offset, &bogus, sizeof(bogus));
    shm_device_end_update(d->shm);
    for (int i = 5; i < 10; i++) {
        devhost_tick(h);                        /* tick 10: two sockets, the old list freed */
    }
    CU_ASSERT_EQUAL_FATAL(errors->len, 1);
    g_autofree char *want = g_strdup_printf("vmscope-u-err: heap: offset 0x%" PRIx64 " is not an "
                                            "allocated heap block", bogus);
    ASSERT_STR_EQ(g_ptr_array_index(errors, 0), want);
}

/* The plan: ids from the short names, instance ids per type, versions as asked. */
static void test_plan(void)
{
    DevHostConfig config = {
        .devices = "serial,mc146818rtc:2,serial",
        .versions = (const char *const[]){ "serial=3", NULL },
    };
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) plan = devhost_plan(&config, &err);
    ASSERT_NO_ERROR(err);
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < plan->len; i++) {
        const DevHostDevice *d = plan->pdata[i];
        CU_ASSERT_EQUAL(d->index, i);
        CU_ASSERT_PTR_NULL(d->shm);
        g_string_append_printf(s, "%s=%s:%u:v%d ", d->id, d->vmsd->name, d->instance_id,
                               d->vmsd->version_id);
    }
    ASSERT_STR_EQ(s->str, "serial0=serial:0:v3 rtc0=mc146818rtc:0:v3 rtc1=mc146818rtc:1:v3 "
                          "serial1=serial:1:v3 ");
    g_string_free(s, TRUE);

    /* Without a list: the default one, derived from the device table. */
    DevHostConfig none = { .devices = NULL };
    g_autoptr(GPtrArray) defaults = devhost_plan(&none, &err);
    ASSERT_NO_ERROR(err);
    guint n = 0;
    for (const DeviceType *const *t = device_types; *t; t++) {
        for (unsigned k = 0; k < (*t)->default_count; k++, n++) {
            CU_ASSERT_FATAL(n < defaults->len);
            const DevHostDevice *d = defaults->pdata[n];
            CU_ASSERT_PTR_EQUAL(d->type, *t);
            g_autofree char *id = g_strdup_printf("%s%u", (*t)->short_name, k);
            ASSERT_STR_EQ(d->id, id);
        }
    }
    CU_ASSERT_EQUAL(defaults->len, n);

    config.devices = "floppy";
    CU_ASSERT_PTR_NULL(devhost_plan(&config, &err));
    CU_ASSERT_PTR_NOT_NULL(err);
}

static const CuTest devhost_tests[] = {
    { "device lists and versions", test_parse_devices },
    { "the devices a configuration asks for", test_plan },
    { "segment pointers of a description", test_segptrs },
    { "save, load, load again", test_round_trip },
    { "a failing last section changes nothing", test_late_failure_changes_nothing },
    { "heap full at commit changes nothing", test_heap_full },
    { "errors without a caller go to the error function", test_error_func },
    { "save, load in BER", test_round_trip_ber },
    { "a stream in the format not asked for is refused", test_format_refused },
    { "BER loads are type-checked", test_ber_type_checked },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "devhost", devhost_tests },
    { NULL, NULL },
};

int main(void)
{
    dir = g_dir_make_tmp("vmscope-test-devhost-XXXXXX", NULL);
    int rc = cutest_run(suites);
    g_rmdir(dir);
    g_free(dir);
    return rc;
}

/*
 * The migration stream of a device host in a fixed state, byte for byte.
 *
 * tests/fixtures/devhost-fixed.mig (QEMU's format) and devhost-fixed.ber
 * (BER) were written by this program before the devices' descriptions were
 * generated from their annotated structs (docs/qidl.md): a host of every
 * reference device, the clock set to a fixed time, 60 ticks.  The same
 * state saved by today's descriptions must give the same bytes, vmdesc
 * included.  A second pair runs older versions (--device-version), which
 * drops the fields their q_version marks as newer.
 *
 * VMSCOPE_WRITE_FIXTURES=DIR writes the streams to DIR instead of comparing
 * (how the fixtures were made).
 */
#include "config.h"

#include <string.h>
#include <glib/gstdio.h>

#include "cutest.h"
#include "devhost.h"
#include "migration.h"
#include "vmscope/qobject-visitor.h"

#define FIXED_TIME 1700000000       /* 2023-11-14 22:13:20 UTC */
#define FIXED_TICKS 60

static char *dir;

/* rtc0's clock starts at FIXED_TIME: its state no longer depends on when it runs. */
static void fix_clock(DevHost *h)
{
    DevHostDevice *rtc = devhost_find_device(h, "mc146818rtc", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rtc);
    VMStateContext ctx = devhost_region(h);
    g_autoptr(GError) err = NULL;
    Visitor *out = qobject_output_visitor_new();
    CU_ASSERT_TRUE_FATAL(vmstate_save(out, rtc->vmsd, rtc->state, &ctx, &err));
    g_autoptr(QObject) state = qobject_output_visitor_take(out);
    visit_free(out);
    qdict_put(state, "base_rtc", qnum_from_int(FIXED_TIME));
    Visitor *in = qobject_input_visitor_new(state);
    CU_ASSERT_TRUE(vmstate_load(in, rtc->vmsd, rtc->state, rtc->vmsd->version_id, &ctx, &err));
    ASSERT_NO_ERROR(err);
    visit_free(in);
}

static GBytes *fixed_stream(const char *name, const char *const *versions, bool ber)
{
    DevHostConfig config = { .name = name, .shm_dir = dir, .versions = versions };
    g_autoptr(GError) err = NULL;
    g_autoptr(DevHost) h = devhost_new(&config, DEVHOST_RUNNING, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    fix_clock(h);
    /* Ten ticks rewrite every time register of the CMOS from the fixed clock. */
    for (int i = 0; i < FIXED_TICKS; i++) {
        devhost_tick(h);
    }
    GBytes *stream = migration_save_stream(h, ber, &err);
    ASSERT_NO_ERROR(err);
    return stream;
}

static void check_fixture(const char *file, GBytes *got)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    const char *out_dir = g_getenv("VMSCOPE_WRITE_FIXTURES");
    if (out_dir) {
        g_autofree char *path = g_build_filename(out_dir, file, NULL);
        g_autoptr(GError) err = NULL;
        CU_ASSERT_TRUE(g_file_set_contents(path, g_bytes_get_data(got, NULL),
                                           (gssize)g_bytes_get_size(got), &err));
        ASSERT_NO_ERROR(err);
        return;
    }
    g_autofree char *path = g_build_filename(VMS_FIXTURES_DIR, file, NULL);
    g_autofree char *want = NULL;
    gsize len = 0;
    g_autoptr(GError) err = NULL;
    CU_ASSERT_TRUE_FATAL(g_file_get_contents(path, &want, &len, &err));
    gsize got_len = 0;
    const uint8_t *g = g_bytes_get_data(got, &got_len);
    size_t at = 0;
    while (at < len && at < got_len && (uint8_t)want[at] == g[at]) {
        at++;
    }
    if (at != len || at != got_len) {
        fprintf(stderr, "\n%s: %zu bytes, the fixture %zu; first difference at offset %zu\n",
                file, (size_t)got_len, (size_t)len, at);
    }
    CU_ASSERT_EQUAL(got_len, len);
    CU_ASSERT_EQUAL(at, len);
}

static void test_qemu_format(void)
{
    g_autoptr(GBytes) s = fixed_stream("u-fixed-q", NULL, false);
    check_fixture("devhost-fixed.mig", s);
}

static void test_ber(void)
{
    g_autoptr(GBytes) s = fixed_stream("u-fixed-b", NULL, true);
    check_fixture("devhost-fixed.ber", s);
}

static const char *const old_versions[] = { "serial=2", "i8254=2", NULL };

static void test_old_versions(void)
{
    g_autoptr(GBytes) q = fixed_stream("u-fixed-oq", old_versions, false);
    check_fixture("devhost-fixed-old.mig", q);
    g_autoptr(GBytes) b = fixed_stream("u-fixed-ob", old_versions, true);
    check_fixture("devhost-fixed-old.ber", b);
}

/* The state really is fixed: two hosts made apart give the same bytes. */
static void test_deterministic(void)
{
    g_autoptr(GBytes) a = fixed_stream("u-fixed-a", NULL, false);
    g_usleep(1100000);
    g_autoptr(GBytes) b = fixed_stream("u-fixed-c", NULL, false);
    CU_ASSERT_TRUE(g_bytes_equal(a, b));
}

static const CuTest stream_tests[] = {
    { "a fixed state in QEMU's format is the committed stream", test_qemu_format },
    { "a fixed state in BER is the committed stream", test_ber },
    { "older versions give the committed streams", test_old_versions },
    { "the fixed state does not depend on the time", test_deterministic },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "devices-stream", stream_tests },
    { NULL, NULL },
};

int main(void)
{
    dir = g_dir_make_tmp("vmscope-test-devices-stream-XXXXXX", NULL);
    int rc = cutest_run(suites);
    g_rmdir(dir);
    g_free(dir);
    return rc;
}

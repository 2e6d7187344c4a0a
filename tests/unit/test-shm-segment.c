/*
 * Unit tests for the shared-memory segments (lib/shm-*.c): real files in a
 * temporary directory, real threads and a real child process.  Exact
 * offsets, exact error texts; broken and hostile segments must give an
 * error and never crash.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "cutest.h"
#include "shm/shm-segment-impl.h"     /* the layout: these tests forge segments */
#include "vmscope/error.h"
#include "vmscope/shm-segment.h"

#define SEG_SIZE 65536
#define DATA_OFF 0x500             /* 256 + 4 * 256 */
#define SERIAL_DESC "{\"name\":\"serial\"}"

/* ---- fixtures ----------------------------------------------------------- */

static char *make_dir(void)
{
    GError *err = NULL;
    char *dir = g_dir_make_tmp("vmscope-shm-test-XXXXXX", &err);
    ASSERT_NO_ERROR(err);
    return dir;
}

static void remove_dir(char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d)) != NULL) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        if (g_file_test(path, G_FILE_TEST_IS_DIR) && !g_file_test(path, G_FILE_TEST_IS_SYMLINK)) {
            g_rmdir(path);
        } else {
            g_unlink(path);
        }
    }
    if (d) {
        g_dir_close(d);
    }
    CU_ASSERT_EQUAL(g_rmdir(dir), 0);
    g_free(dir);
}

/* Host "t": 64 KiB, 4 slots; serial0 (100 bytes + description) and rtc (64). */
typedef struct Fix {
    char *dir;
    ShmWriter *w;
    ShmDevice *serial;
    ShmDevice *rtc;
} Fix;

static void fix_setup(Fix *f)
{
    GError *err = NULL;
    f->dir = make_dir();
    f->w = shm_writer_create(f->dir, "t", SEG_SIZE, 4, &err);
    ASSERT_NO_ERROR(err);
    f->serial = shm_writer_add_device(f->w, "serial0", "serial", 0, 4, SERIAL_DESC, 100, &err);
    ASSERT_NO_ERROR(err);
    f->rtc = shm_writer_add_device(f->w, "rtc", "mc146818rtc", 1, 3, NULL, 64, &err);
    ASSERT_NO_ERROR(err);
}

static void fix_teardown(Fix *f)
{
    shm_writer_destroy(f->w);
    remove_dir(f->dir);
}

static ShmReader *open_ok(const char *dir, const char *host)
{
    GError *err = NULL;
    ShmReader *r = shm_reader_open(dir, host, &err);
    ASSERT_NO_ERROR(err);
    return r;
}

static ShmDirEntry *writer_dir(ShmWriter *w)
{
    return (ShmDirEntry *)((uint8_t *)shm_writer_base(w) + sizeof(ShmSegmentHeader));
}

static ShmSegmentHeader *writer_hdr(ShmWriter *w)
{
    return shm_writer_base(w);
}

/* ---- names and discovery ------------------------------------------------- */

static void test_names(void)
{
    GError *err = NULL;
    CU_ASSERT_TRUE(shm_host_name_valid("vm-1.a_b", &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_FALSE(shm_host_name_valid("", &err));
    ASSERT_ERROR(err, "host name '': must be 1 to 63 characters");
    CU_ASSERT_FALSE(shm_host_name_valid("a/b", &err));
    ASSERT_ERROR(err, "host name 'a/b': only letters, digits, '.', '_' and '-' are allowed, "
                      "and no leading '.'");
    CU_ASSERT_FALSE(shm_host_name_valid(".x", &err));
    ASSERT_ERROR(err, "host name '.x': only letters, digits, '.', '_' and '-' are allowed, "
                      "and no leading '.'");
    g_autofree char *long_name = g_strnfill(64, 'h');
    CU_ASSERT_FALSE(shm_host_name_valid(long_name, &err));
    g_autofree char *expect = g_strdup_printf("host name '%s': must be 1 to 63 characters",
                                              long_name);
    ASSERT_ERROR(err, expect);
    long_name[63] = '\0';
    CU_ASSERT_TRUE(shm_host_name_valid(long_name, NULL));

    CU_ASSERT_TRUE(shm_device_id_valid("serial0"));
    CU_ASSERT_TRUE(shm_device_id_valid("virtio-blk@0:1.x_y"));
    CU_ASSERT_FALSE(shm_device_id_valid(""));
    CU_ASSERT_FALSE(shm_device_id_valid("a/b"));
    CU_ASSERT_FALSE(shm_device_id_valid("a b"));

    g_autofree char *p1 = shm_segment_path(NULL, "foo");
    ASSERT_STR_EQ(p1, "/dev/shm/vmscope-foo");
    g_autofree char *p2 = shm_segment_path("/tmp/d", "foo");
    ASSERT_STR_EQ(p2, "/tmp/d/vmscope-foo");
}

static void write_file(const char *dir, const char *name, const void *data, size_t len)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    GError *err = NULL;
    CU_ASSERT_TRUE(g_file_set_contents(path, data, (gssize)len, &err));
    ASSERT_NO_ERROR(err);
}

static void test_discovery(void)
{
    char *dir = make_dir();
    GError *err = NULL;
    ShmWriter *beta = shm_writer_create(dir, "beta", SEG_SIZE, 2, &err);
    ASSERT_NO_ERROR(err);
    ShmWriter *alpha = shm_writer_create(dir, "alpha", SEG_SIZE, 2, &err);
    ASSERT_NO_ERROR(err);
    /* Not segments: other names, invalid host names, a directory, a symlink. */
    write_file(dir, "other", "x", 1);
    write_file(dir, "vmscope-", "x", 1);
    write_file(dir, "vmscope-.hidden", "x", 1);
    write_file(dir, ".vmscope-gamma.1.2", "x", 1);
    g_autofree char *sub = g_build_filename(dir, "vmscope-sub", NULL);
    CU_ASSERT_EQUAL(g_mkdir(sub, 0700), 0);
    g_autofree char *link = g_build_filename(dir, "vmscope-link", NULL);
    CU_ASSERT_EQUAL(symlink("vmscope-alpha", link), 0);

    GPtrArray *hosts = shm_segment_list(dir, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL_FATAL(hosts->len, 2);
    ASSERT_STR_EQ(g_ptr_array_index(hosts, 0), "alpha");
    ASSERT_STR_EQ(g_ptr_array_index(hosts, 1), "beta");
    g_ptr_array_unref(hosts);

    shm_writer_destroy(alpha);
    hosts = shm_segment_list(dir, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL_FATAL(hosts->len, 1);
    ASSERT_STR_EQ(g_ptr_array_index(hosts, 0), "beta");
    g_ptr_array_unref(hosts);
    shm_writer_destroy(beta);

    CU_ASSERT_PTR_NULL(shm_segment_list("/nonexistent-vmscope-dir", &err));
    ASSERT_ERROR(err, "cannot open directory /nonexistent-vmscope-dir: No such file or directory");
    remove_dir(dir);
}

/* ---- writer and reader round trips -------------------------------------- */

static void test_create_errors(void)
{
    char *dir = make_dir();
    GError *err = NULL;
    CU_ASSERT_PTR_NULL(shm_writer_create(dir, "a/b", SEG_SIZE, 4, &err));
    ASSERT_ERROR(err, "host name 'a/b': only letters, digits, '.', '_' and '-' are allowed, "
                      "and no leading '.'");
    CU_ASSERT_PTR_NULL(shm_writer_create(dir, "t", SEG_SIZE, 0, &err));
    ASSERT_ERROR(err, "vmscope-t: max devices 0 out of range (1 to 4096)");
    CU_ASSERT_PTR_NULL(shm_writer_create(dir, "t", SEG_SIZE, 4097, &err));
    ASSERT_ERROR(err, "vmscope-t: max devices 4097 out of range (1 to 4096)");
    CU_ASSERT_PTR_NULL(shm_writer_create(dir, "t", 4096, 16, &err));
    ASSERT_ERROR(err, "vmscope-t: segment size 4096 out of range (4416 to 1073741824 bytes "
                      "for 16 devices)");
    CU_ASSERT_PTR_NULL(shm_writer_create(dir, "t", (size_t)2 << 30, 4, &err));
    ASSERT_ERROR(err, "vmscope-t: segment size 2147483648 out of range (1344 to 1073741824 "
                      "bytes for 4 devices)");
    CU_ASSERT_PTR_NULL(shm_writer_create("/nonexistent-vmscope-dir", "t", SEG_SIZE, 4, &err));
    ASSERT_ERROR(err, "vmscope-t: cannot open directory /nonexistent-vmscope-dir: "
                      "No such file or directory");

    /* Sizing: allocations take whole 64-byte units, after the header and directory. */
    CU_ASSERT_EQUAL(shm_block_size(0), 0);
    CU_ASSERT_EQUAL(shm_block_size(1), 64);
    CU_ASSERT_EQUAL(shm_block_size(64), 64);
    CU_ASSERT_EQUAL(shm_block_size(100), 128);
    CU_ASSERT_EQUAL(shm_block_size(SIZE_MAX - 1), SIZE_MAX);
    CU_ASSERT_EQUAL(shm_segment_size(4, 0), DATA_OFF);
    CU_ASSERT_EQUAL(shm_segment_size(4, 128), DATA_OFF + 128);
    CU_ASSERT_EQUAL(shm_segment_size(4, SIZE_MAX - 10), SIZE_MAX);

    /* Rounded up to the page size. */
    ShmWriter *w = shm_writer_create(dir, "t", 5000, 4, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(shm_writer_size(w), 8192);
    g_autofree char *path = g_build_filename(dir, "vmscope-t", NULL);
    ASSERT_STR_EQ(shm_writer_path(w), path);
    ASSERT_STR_EQ(shm_writer_host(w), "t");
    struct stat st;
    CU_ASSERT_EQUAL(stat(path, &st), 0);
    CU_ASSERT_EQUAL(st.st_size, 8192);
    CU_ASSERT_TRUE(shm_writer_close(w, &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(stat(path, &st), -1);     /* unlinked */
    CU_ASSERT_TRUE(shm_writer_close(NULL, &err));
    remove_dir(dir);
}

static void test_round_trip(void)
{
    Fix f;
    fix_setup(&f);
    GError *err = NULL;
    CU_ASSERT_EQUAL(shm_device_state_offset(f.serial), DATA_OFF);
    CU_ASSERT_EQUAL(shm_device_state_offset(f.rtc), 0x5c0);
    CU_ASSERT_EQUAL(shm_device_state_size(f.serial), 100);
    ASSERT_STR_EQ(shm_device_id(f.rtc), "rtc");

    g_autoptr(ShmReader) r = open_ok(f.dir, "t");
    ASSERT_STR_EQ(shm_reader_host(r), "t");
    CU_ASSERT_EQUAL(shm_reader_size(r), SEG_SIZE);
    ShmHostInfo hi;
    CU_ASSERT_TRUE(shm_reader_host_info(r, &hi, &err));
    ASSERT_NO_ERROR(err);
    ASSERT_STR_EQ(hi.host, "t");
    CU_ASSERT_EQUAL(hi.owner_pid, getpid());
    CU_ASSERT_EQUAL(hi.owner, SHM_OWNER_ALIVE);
    CU_ASSERT_EQUAL(hi.segment_size, SEG_SIZE);
    CU_ASSERT_EQUAL(hi.max_devices, 4);
    CU_ASSERT_EQUAL(hi.device_count, 2);
    CU_ASSERT_EQUAL(hi.generation, 2);
    CU_ASSERT_EQUAL(hi.data_offset, DATA_OFF);
    CU_ASSERT_EQUAL(hi.data_used, 256);        /* 128 + 64 + 64 */
    CU_ASSERT_TRUE(hi.created_ns > 0 && hi.heartbeat_ns == hi.created_ns);
    shm_writer_heartbeat(f.w);
    CU_ASSERT_TRUE(shm_reader_host_info(r, &hi, &err));
    CU_ASSERT_TRUE(hi.heartbeat_ns >= hi.created_ns);

    GArray *list = shm_reader_list(r, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL_FATAL(list->len, 2);
    const ShmDeviceInfo *d0 = &g_array_index(list, ShmDeviceInfo, 0);
    const ShmDeviceInfo *d1 = &g_array_index(list, ShmDeviceInfo, 1);
    CU_ASSERT_EQUAL(d0->slot, 0);
    ASSERT_STR_EQ(d0->id, "serial0");
    ASSERT_STR_EQ(d0->type, "serial");
    CU_ASSERT_EQUAL(d0->instance_id, 0);
    CU_ASSERT_EQUAL(d0->version_id, 4);
    CU_ASSERT_EQUAL(d0->state_offset, 0x500);
    CU_ASSERT_EQUAL(d0->state_size, 100);
    CU_ASSERT_EQUAL(d0->desc_offset, 0x580);
    CU_ASSERT_EQUAL(d0->desc_length, 17);
    CU_ASSERT_EQUAL(d0->generation, 0);
    CU_ASSERT_EQUAL(d0->seq, 2);
    CU_ASSERT_EQUAL(d1->slot, 1);
    ASSERT_STR_EQ(d1->id, "rtc");
    ASSERT_STR_EQ(d1->type, "mc146818rtc");
    CU_ASSERT_EQUAL(d1->instance_id, 1);
    CU_ASSERT_EQUAL(d1->version_id, 3);
    CU_ASSERT_EQUAL(d1->state_offset, 0x5c0);
    CU_ASSERT_EQUAL(d1->state_size, 64);
    CU_ASSERT_EQUAL(d1->desc_offset, 0);
    CU_ASSERT_EQUAL(d1->desc_length, 0);
    g_array_unref(list);

    /* A fresh state is zero. */
    GBytes *state = NULL;
    ShmDeviceInfo info;
    CU_ASSERT_TRUE(shm_reader_snapshot(r, "serial0", &info, &state, &err));
    ASSERT_NO_ERROR(err);
    uint8_t zero[100] = { 0 };
    CU_ASSERT_EQUAL(g_bytes_get_size(state), 100);
    CU_ASSERT_EQUAL(memcmp(g_bytes_get_data(state, NULL), zero, 100), 0);
    CU_ASSERT_EQUAL(info.generation, 0);
    g_bytes_unref(state);

    /* Three updates. */
    uint8_t *s = shm_device_state(f.serial);
    for (int u = 1; u <= 3; u++) {
        shm_device_begin_update(f.serial);
        for (int i = 0; i < 100; i++) {
            s[i] = (uint8_t)(i * u);
        }
        shm_device_end_update(f.serial);
    }
    CU_ASSERT_EQUAL(shm_device_updates(f.serial), 3);
    /* The counters in place, by slot: serial0 moved, rtc did not. */
    CU_ASSERT_EQUAL(shm_reader_updates(r, 0), 3);
    CU_ASSERT_EQUAL(shm_reader_updates(r, 1), 0);
    CU_ASSERT_EQUAL(shm_reader_updates(r, 4), 0);         /* beyond the directory */
    CU_ASSERT_EQUAL(shm_reader_updates(r, UINT32_MAX), 0);
    CU_ASSERT_TRUE(shm_reader_snapshot(r, "serial0", &info, &state, &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(memcmp(g_bytes_get_data(state, NULL), s, 100), 0);
    CU_ASSERT_EQUAL(((const uint8_t *)g_bytes_get_data(state, NULL))[99], (uint8_t)(99 * 3));
    g_bytes_unref(state);
    CU_ASSERT_EQUAL(info.generation, 3);
    CU_ASSERT_EQUAL(info.seq, 8);
    CU_ASSERT_EQUAL(info.slot, 0);
    ASSERT_STR_EQ(info.type, "serial");

    uint8_t buf[100];
    CU_ASSERT_TRUE(shm_reader_snapshot_into(r, "serial0", buf, sizeof(buf), &info, &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(memcmp(buf, s, 100), 0);
    CU_ASSERT_FALSE(shm_reader_snapshot_into(r, "serial0", buf, 64, &info, &err));
    ASSERT_ERROR(err, "vmscope-t: device 'serial0': state of 100 bytes does not fit a buffer "
                      "of 64 bytes");

    char *text = NULL;
    CU_ASSERT_TRUE(shm_reader_description(r, "serial0", &text, &err));
    ASSERT_NO_ERROR(err);
    ASSERT_STR_EQ(text, SERIAL_DESC);
    g_free(text);
    text = (char *)"untouched";
    CU_ASSERT_TRUE(shm_reader_description(r, "rtc", &text, &err));
    CU_ASSERT_PTR_NULL(text);

    CU_ASSERT_FALSE(shm_reader_snapshot(r, "nope", &info, &state, &err));
    ASSERT_ERROR(err, "vmscope-t: no device 'nope'");
    CU_ASSERT_FALSE(shm_reader_description(r, "nope", &text, &err));
    ASSERT_ERROR(err, "vmscope-t: no device 'nope'");

    ShmReaderStats st;
    shm_reader_get_stats(r, &st);
    CU_ASSERT_EQUAL(st.snapshots, 3);
    CU_ASSERT_EQUAL(st.retries, 0);
    CU_ASSERT_EQUAL(st.failures, 0);
    fix_teardown(&f);
}

static void test_add_remove(void)
{
    Fix f;
    fix_setup(&f);
    GError *err = NULL;
    ShmWriter *w = f.w;
    CU_ASSERT_PTR_NULL(shm_writer_add_device(w, "serial0", "serial", 1, 1, NULL, 8, &err));
    ASSERT_ERROR(err, "vmscope-t: device 'serial0' already exists");
    CU_ASSERT_PTR_NULL(shm_writer_add_device(w, "a/b", "serial", 1, 1, NULL, 8, &err));
    ASSERT_ERROR(err, "vmscope-t: device id 'a/b': must be 1 to 63 characters from "
                      "[A-Za-z0-9._:@-]");
    CU_ASSERT_PTR_NULL(shm_writer_add_device(w, "x", "", 1, 1, NULL, 8, &err));
    ASSERT_ERROR(err, "vmscope-t: device 'x': type name must be 1 to 63 printable characters");
    CU_ASSERT_PTR_NULL(shm_writer_add_device(w, "x", "serial", 1, 1, NULL, 0, &err));
    ASSERT_ERROR(err, "vmscope-t: device 'x': state size 0");
    CU_ASSERT_PTR_NULL(shm_writer_add_device(w, "big", "serial", 1, 1, NULL, 1 << 20, &err));
    ASSERT_ERROR(err, "vmscope-t: device 'big': out of space for a state of 1048576 bytes "
                      "(largest free block 64000 bytes)");
    /* The description does not fit: the state allocated for it is given back. */
    g_autofree char *huge = g_strnfill(63000, 'd');
    CU_ASSERT_PTR_NULL(shm_writer_add_device(w, "big", "serial", 1, 1, huge, 1000, &err));
    ASSERT_ERROR(err, "vmscope-t: device 'big': out of space for a description of 63001 bytes "
                      "(largest free block 62976 bytes)");

    g_autoptr(ShmReader) r = open_ok(f.dir, "t");
    ShmHostInfo hi;
    CU_ASSERT_TRUE(shm_reader_host_info(r, &hi, &err));
    CU_ASSERT_EQUAL(hi.data_used, 256);

    ShmDevice *pit = shm_writer_add_device(w, "pit", "i8254", 0, 2, NULL, 8, &err);
    ASSERT_NO_ERROR(err);
    ShmDevice *apic = shm_writer_add_device(w, "apic", "apic", 0, 3, NULL, 8, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_PTR_NULL(shm_writer_add_device(w, "more", "x", 0, 1, NULL, 8, &err));
    ASSERT_ERROR(err, "vmscope-t: directory full (4 devices)");

    uint64_t gen = 0;
    CU_ASSERT_TRUE(shm_reader_generation(r, &gen, &err));
    CU_ASSERT_EQUAL(gen, 4);

    /* Remove rtc: gone for readers, its slot and memory free again. */
    shm_writer_remove_device(w, f.rtc);
    CU_ASSERT_TRUE(shm_reader_generation(r, &gen, &err));
    CU_ASSERT_EQUAL(gen, 5);
    GArray *list = shm_reader_list(r, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL_FATAL(list->len, 3);
    ASSERT_STR_EQ(g_array_index(list, ShmDeviceInfo, 0).id, "serial0");
    ASSERT_STR_EQ(g_array_index(list, ShmDeviceInfo, 1).id, "pit");
    CU_ASSERT_EQUAL(g_array_index(list, ShmDeviceInfo, 1).slot, 2);
    ASSERT_STR_EQ(g_array_index(list, ShmDeviceInfo, 2).id, "apic");
    g_array_unref(list);
    GBytes *state = NULL;
    CU_ASSERT_FALSE(shm_reader_snapshot(r, "rtc", NULL, &state, &err));
    ASSERT_ERROR(err, "vmscope-t: no device 'rtc'");

    /* Re-added: slot 1 again, the slot's sequence moved on, updates start at 0. */
    f.rtc = shm_writer_add_device(w, "rtc", "mc146818rtc", 1, 3, NULL, 64, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(shm_device_state_offset(f.rtc), 0x5c0);
    ShmDeviceInfo info;
    CU_ASSERT_TRUE(shm_reader_snapshot(r, "rtc", &info, &state, &err));
    ASSERT_NO_ERROR(err);
    g_bytes_unref(state);
    CU_ASSERT_EQUAL(info.slot, 1);
    CU_ASSERT_EQUAL(info.seq, 4);
    CU_ASSERT_EQUAL(info.generation, 0);
    CU_ASSERT_TRUE(shm_reader_host_info(r, &hi, &err));
    CU_ASSERT_EQUAL(hi.device_count, 4);
    CU_ASSERT_EQUAL(hi.generation, 6);
    shm_writer_remove_device(w, pit);
    shm_writer_remove_device(w, apic);
    fix_teardown(&f);
}

/* ---- heap ----------------------------------------------------------------- */

static void test_heap(void)
{
    Fix f;
    fix_setup(&f);
    GError *err = NULL;
    ShmWriter *w = f.w;
    uint64_t h1 = shm_heap_alloc(w, 100, &err);
    ASSERT_NO_ERROR(err);
    uint64_t h2 = shm_heap_alloc(w, 64, &err);
    uint64_t h3 = shm_heap_alloc(w, 1, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(h1, 0x600);
    CU_ASSERT_EQUAL(h2, 0x680);
    CU_ASSERT_EQUAL(h3, 0x6c0);

    /* Blocks come zeroed, also when reused. */
    uint8_t *p2 = shm_writer_ptr(w, h2);
    CU_ASSERT_PTR_EQUAL(p2, (uint8_t *)shm_writer_base(w) + 0x680);
    CU_ASSERT_EQUAL(shm_writer_offset(w, p2), h2);
    CU_ASSERT_PTR_NULL(shm_writer_ptr(w, 0));
    CU_ASSERT_EQUAL(shm_writer_offset(w, NULL), 0);
    memset(p2, 0xab, 64);
    CU_ASSERT_TRUE(shm_heap_free(w, h2, &err));
    ASSERT_NO_ERROR(err);
    uint64_t h4 = shm_heap_alloc(w, 10, &err);
    CU_ASSERT_EQUAL(h4, 0x680);                  /* first fit */
    CU_ASSERT_EQUAL(p2[0], 0);
    CU_ASSERT_EQUAL(p2[63], 0);
    uint64_t h5 = shm_heap_alloc(w, 65, &err);
    CU_ASSERT_EQUAL(h5, 0x700);                  /* 128 bytes */

    CU_ASSERT_EQUAL(shm_heap_alloc(w, 0, &err), 0);
    ASSERT_ERROR(err, "vmscope-t: heap: cannot allocate 0 bytes");
    CU_ASSERT_EQUAL(shm_heap_alloc(w, 1 << 20, &err), 0);
    ASSERT_ERROR(err, "vmscope-t: heap: out of space for 1048576 bytes (largest free block "
                      "63616 bytes)");
    CU_ASSERT_FALSE(shm_heap_free(w, 0x1234, &err));
    ASSERT_ERROR(err, "vmscope-t: heap: offset 0x1234 is not an allocated heap block");
    CU_ASSERT_FALSE(shm_heap_free(w, DATA_OFF, &err));    /* serial0's state */
    ASSERT_ERROR(err, "vmscope-t: heap: offset 0x500 is not an allocated heap block");
    CU_ASSERT_TRUE(shm_heap_free(w, h3, &err));
    CU_ASSERT_FALSE(shm_heap_free(w, h3, &err));
    ASSERT_ERROR(err, "vmscope-t: heap: offset 0x6c0 is not an allocated heap block");

    g_autoptr(ShmReader) r = open_ok(f.dir, "t");
    ShmHostInfo hi;
    CU_ASSERT_TRUE(shm_reader_host_info(r, &hi, &err));
    CU_ASSERT_EQUAL(hi.data_used, 256 + 128 + 64 + 128);

    /* Fill the heap up in 1 KiB blocks, then give it all back. */
    g_autoptr(GArray) blocks = g_array_new(false, false, sizeof(uint64_t));
    uint64_t off;
    while ((off = shm_heap_alloc(w, 1024, NULL)) != 0) {
        g_array_append_val(blocks, off);
    }
    CU_ASSERT_EQUAL(blocks->len, 62);           /* (65536 - 0x780) / 1024 */
    for (guint i = 0; i < blocks->len; i++) {
        CU_ASSERT_TRUE(shm_heap_free(w, g_array_index(blocks, uint64_t, i), &err));
    }
    CU_ASSERT_TRUE(shm_heap_free(w, h1, &err));
    CU_ASSERT_TRUE(shm_heap_free(w, h4, &err));
    CU_ASSERT_TRUE(shm_heap_free(w, h5, &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_TRUE(shm_reader_host_info(r, &hi, &err));
    CU_ASSERT_EQUAL(hi.data_used, 256);
    CU_ASSERT_EQUAL(shm_heap_alloc(w, SEG_SIZE - 0x600, &err), 0x600);
    ASSERT_NO_ERROR(err);
    fix_teardown(&f);
}

/* ---- reading in place: a list in the heap -------------------------------- */

/* A socket list as a slirp-like device keeps it: nodes in the heap. */
typedef struct SockState {
    uint64_t head;        /* segment offset of the first node, 0: empty */
    uint32_t count;
    uint32_t pad;
} SockState;

typedef struct SockNode {
    uint64_t next;
    uint32_t port;
    uint32_t pad;
} SockNode;

/* Push a node at the head (inside an update). */
static uint64_t sock_push(ShmWriter *w, SockState *s, uint32_t port)
{
    GError *err = NULL;
    uint64_t off = shm_heap_alloc(w, sizeof(SockNode), &err);
    ASSERT_NO_ERROR(err);
    SockNode *n = shm_writer_ptr(w, off);
    n->port = port;
    n->next = s->head;
    s->head = off;
    s->count++;
    return off;
}

/* The read callback: walk the list, bounded by what fits in the segment. */
static bool walk_socks(const ShmView *view, void *opaque, GError **errp)
{
    GArray *ports = opaque;
    g_array_set_size(ports, 0);                  /* a fresh start on every attempt */
    if (view->state_size < sizeof(SockState)) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "state too small");
        return false;
    }
    SockState s;
    memcpy(&s, view->state, sizeof(s));
    uint64_t limit = view->size / sizeof(SockNode);
    uint64_t off = s.head;
    for (uint64_t i = 0; off != 0; i++) {
        if (i >= limit || i >= s.count) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "list longer than its count %u",
                        s.count);
            return false;
        }
        const SockNode *n = shm_view_resolve(view, off, sizeof(SockNode), errp);
        if (!n) {
            return false;
        }
        uint32_t port = n->port;
        g_array_append_val(ports, port);
        off = n->next;
    }
    if (ports->len != s.count) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "list of %u nodes, count %u",
                    ports->len, s.count);
        return false;
    }
    return true;
}

/* Changes the state under the reader's feet on the first call, and fails. */
typedef struct Meddle {
    ShmDevice *dev;
    unsigned calls;
    bool silent;          /* fail without an error */
} Meddle;

static bool meddling_walk(const ShmView *view, void *opaque, GError **errp)
{
    Meddle *m = opaque;
    m->calls++;
    if (m->silent) {
        return false;
    }
    if (view->attempt == 0) {
        CU_ASSERT_FALSE(shm_view_changed(view));
        shm_device_begin_update(m->dev);
        CU_ASSERT_TRUE(shm_view_changed(view));
        shm_device_end_update(m->dev);
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "torn data looks broken");
        return false;
    }
    CU_ASSERT_EQUAL(view->attempt, 1);
    return true;
}

static void test_read_in_place(void)
{
    Fix f;
    fix_setup(&f);
    GError *err = NULL;
    ShmDevice *dev = shm_writer_add_device(f.w, "slirp", "slirp", 0, 1, NULL,
                                           sizeof(SockState), &err);
    ASSERT_NO_ERROR(err);
    SockState *s = shm_device_state(dev);
    shm_device_begin_update(dev);
    sock_push(f.w, s, 1003);
    uint64_t middle = sock_push(f.w, s, 1002);
    sock_push(f.w, s, 1001);
    shm_device_end_update(dev);

    g_autoptr(ShmReader) r = open_ok(f.dir, "t");
    g_autoptr(GArray) ports = g_array_new(false, false, sizeof(uint32_t));
    ShmDeviceInfo info;
    CU_ASSERT_TRUE(shm_reader_read(r, "slirp", walk_socks, ports, &info, &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL_FATAL(ports->len, 3);
    CU_ASSERT_EQUAL(g_array_index(ports, uint32_t, 0), 1001);
    CU_ASSERT_EQUAL(g_array_index(ports, uint32_t, 1), 1002);
    CU_ASSERT_EQUAL(g_array_index(ports, uint32_t, 2), 1003);
    CU_ASSERT_EQUAL(info.generation, 1);
    ASSERT_STR_EQ(info.id, "slirp");

    /* Unlink the middle node and free it, inside an update. */
    shm_device_begin_update(dev);
    SockNode *first = shm_writer_ptr(f.w, s->head);
    SockNode *mid = shm_writer_ptr(f.w, middle);
    first->next = mid->next;
    s->count--;
    CU_ASSERT_TRUE(shm_heap_free(f.w, middle, &err));
    shm_device_end_update(dev);
    CU_ASSERT_TRUE(shm_reader_read(r, "slirp", walk_socks, ports, &info, &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL_FATAL(ports->len, 2);
    CU_ASSERT_EQUAL(g_array_index(ports, uint32_t, 0), 1001);
    CU_ASSERT_EQUAL(g_array_index(ports, uint32_t, 1), 1003);
    CU_ASSERT_EQUAL(info.generation, 2);

    /* An error on data that changed meanwhile is thrown away, and the read retried. */
    ShmReaderStats st0, st1;
    shm_reader_get_stats(r, &st0);
    Meddle m = { .dev = dev };
    CU_ASSERT_TRUE(shm_reader_read(r, "slirp", meddling_walk, &m, &info, &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(m.calls, 2);
    CU_ASSERT_EQUAL(info.generation, 3);
    CU_ASSERT_EQUAL(info.seq, 2 + 2 * 3);
    shm_reader_get_stats(r, &st1);
    CU_ASSERT_EQUAL(st1.retries - st0.retries, 1);
    CU_ASSERT_EQUAL(st1.snapshots - st0.snapshots, 1);
    m.silent = true;
    CU_ASSERT_FALSE(shm_reader_read(r, "slirp", meddling_walk, &m, &info, &err));
    ASSERT_ERROR(err, "vmscope-t: device 'slirp': read failed");

    /* A pointer into the header, one past the end, one that wraps around. */
    uint64_t head = s->head;
    s->head = 0x10;
    CU_ASSERT_FALSE(shm_reader_read(r, "slirp", walk_socks, ports, &info, &err));
    ASSERT_ERROR(err, "vmscope-t: device 'slirp': offset 0x10 inside the header or directory "
                      "(data area starts at 0x500)");
    s->head = 0xfff8;
    CU_ASSERT_FALSE(shm_reader_read(r, "slirp", walk_socks, ports, &info, &err));
    ASSERT_ERROR(err, "vmscope-t: device 'slirp': offset 0xfff8 + size 16 beyond segment size "
                      "0x10000");
    s->head = UINT64_MAX - 7;
    CU_ASSERT_FALSE(shm_reader_read(r, "slirp", walk_socks, ports, &info, &err));
    ASSERT_ERROR(err, "vmscope-t: device 'slirp': offset 0xfffffffffffffff8 + size 16 beyond "
                      "segment size 0x10000");
    /* A cycle is bounded by the walker. */
    s->head = head;
    SockNode *last = shm_writer_ptr(f.w, first->next);
    last->next = head;
    CU_ASSERT_FALSE(shm_reader_read(r, "slirp", walk_socks, ports, &info, &err));
    ASSERT_ERROR(err, "vmscope-t: device 'slirp': list longer than its count 2");
    fix_teardown(&f);
}

/* ---- readers against a writer at full speed ------------------------------- */

#define STRESS_WORDS 509
#define STRESS_ATTEMPTS 20000

/* 4 KiB: every word must agree with the others and with the generation. */
typedef struct StressState {
    uint64_t gen;
    uint64_t head;                 /* list of gen % 8 nodes, each holding gen */
    uint64_t count;
    uint64_t fill[STRESS_WORDS];
} StressState;

typedef struct StressNode {
    uint64_t next;
    uint64_t gen;
} StressNode;

typedef struct Stress {
    ShmWriter *w;
    ShmDevice *dev;
    ShmReader *r;
    atomic_bool stop;
    uint64_t updates;
    bool writer_ok;
} Stress;

static gpointer stress_writer(gpointer opaque)
{
    Stress *st = opaque;
    StressState *s = shm_device_state(st->dev);
    uint64_t n = 0;
    st->writer_ok = true;
    while (!atomic_load(&st->stop)) {
        /* Bursts at full speed; between bursts readers find a quiet moment
         * even on a machine with a core to spare for the writer. */
        for (int k = 0; k < 5000 && st->writer_ok; k++) {
            n++;
            shm_device_begin_update(st->dev);
            while (s->count < n % 8) {
                uint64_t off = shm_heap_alloc(st->w, sizeof(StressNode), NULL);
                if (!off) {
                    st->writer_ok = false;
                    break;
                }
                StressNode *node = shm_writer_ptr(st->w, off);
                node->next = s->head;
                s->head = off;
                s->count++;
            }
            while (s->count > n % 8) {
                uint64_t off = s->head;
                s->head = ((StressNode *)shm_writer_ptr(st->w, off))->next;
                s->count--;
                st->writer_ok &= shm_heap_free(st->w, off, NULL);
            }
            for (uint64_t o = s->head; o; o = ((StressNode *)shm_writer_ptr(st->w, o))->next) {
                ((StressNode *)shm_writer_ptr(st->w, o))->gen = n;
            }
            s->gen = n;
            for (int i = 0; i < STRESS_WORDS; i++) {
                s->fill[i] = n;
            }
            shm_device_end_update(st->dev);
        }
        g_usleep(200);
    }
    st->updates = n;
    return NULL;
}

typedef struct StressReader {
    Stress *st;
    unsigned attempts;
    unsigned ok;
    unsigned gave_up;
    unsigned torn;
    unsigned other_errors;
    uint64_t last_gen;
    bool backwards;
} StressReader;

/* The in-place reader: everything reachable must agree on the generation. */
static bool stress_walk(const ShmView *view, void *opaque, GError **errp)
{
    uint64_t *bad = opaque;
    const StressState *s = view->state;
    *bad = 0;
    uint64_t gen = s->gen, count = 0;
    for (uint64_t o = s->head; o; count++) {
        if (count >= 8) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "list too long");
            return false;
        }
        const StressNode *node = shm_view_resolve(view, o, sizeof(*node), errp);
        if (!node) {
            return false;
        }
        *bad += node->gen != gen;
        o = node->next;
    }
    *bad += count != gen % 8 || s->count != count || gen != view->info->generation;
    for (int i = 0; i < STRESS_WORDS; i++) {
        *bad += s->fill[i] != gen;
    }
    return true;
}

static gpointer stress_reader(gpointer opaque)
{
    StressReader *sr = opaque;
    g_autofree StressState *copy = g_new(StressState, 1);
    while (shm_device_updates(sr->st->dev) == 0) {
        g_usleep(10);       /* start together with the writer */
    }
    for (unsigned i = 0; i < sr->attempts; i++) {
        GError *err = NULL;
        ShmDeviceInfo info;
        bool ok;
        uint64_t bad = 0;
        if (i % 2 == 0) {
            ok = shm_reader_snapshot_into(sr->st->r, "big", copy, sizeof(*copy), &info, &err);
            if (ok) {
                bad += copy->gen != info.generation || copy->count != copy->gen % 8;
                for (int k = 0; k < STRESS_WORDS; k++) {
                    bad += copy->fill[k] != copy->gen;
                }
            }
        } else {
            ok = shm_reader_read(sr->st->r, "big", stress_walk, &bad, &info, &err);
        }
        if (ok) {
            sr->ok++;
            sr->torn += bad != 0;
            sr->backwards |= info.generation < sr->last_gen;
            sr->last_gen = info.generation;
        } else if (strcmp(err->message, "vmscope-stress: device 'big': state kept changing "
                                        "(20000 retries)") == 0) {
            sr->gave_up++;
        } else {
            fprintf(stderr, "unexpected: %s\n", err->message);
            sr->other_errors++;
        }
        g_clear_error(&err);
    }
    return NULL;
}

static void test_concurrent(void)
{
    char *dir = make_dir();
    GError *err = NULL;
    Stress st = { 0 };
    st.w = shm_writer_create(dir, "stress", 1 << 20, 4, &err);
    ASSERT_NO_ERROR(err);
    st.dev = shm_writer_add_device(st.w, "big", "stress", 0, 1, NULL, sizeof(StressState), &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(sizeof(StressState), 4096);
    st.r = open_ok(dir, "stress");
    shm_reader_set_max_retries(st.r, 20000);

    GThread *writer = g_thread_new("writer", stress_writer, &st);
    StressReader readers[2] = { { .st = &st, .attempts = STRESS_ATTEMPTS },
                                { .st = &st, .attempts = STRESS_ATTEMPTS } };
    GThread *threads[2];
    for (int i = 0; i < 2; i++) {
        threads[i] = g_thread_new("reader", stress_reader, &readers[i]);
    }
    for (int i = 0; i < 2; i++) {
        g_thread_join(threads[i]);
    }
    atomic_store(&st.stop, true);
    g_thread_join(writer);

    ShmReaderStats stats;
    shm_reader_get_stats(st.r, &stats);
    fprintf(stderr, "\n  writer: %" PRIu64 " updates; readers: %u + %u consistent, "
            "%u + %u gave up; %" PRIu64 " retries\n", st.updates, readers[0].ok, readers[1].ok,
            readers[0].gave_up, readers[1].gave_up, stats.retries);
    CU_ASSERT_TRUE(st.writer_ok);
    CU_ASSERT_TRUE(st.updates > 0);
    for (int i = 0; i < 2; i++) {
        CU_ASSERT_EQUAL(readers[i].torn, 0);
        CU_ASSERT_EQUAL(readers[i].other_errors, 0);
        CU_ASSERT_FALSE(readers[i].backwards);
        CU_ASSERT_EQUAL(readers[i].ok + readers[i].gave_up, STRESS_ATTEMPTS);
        CU_ASSERT_TRUE(readers[i].ok > 0);
    }
    CU_ASSERT_EQUAL(stats.snapshots, readers[0].ok + readers[1].ok);
    CU_ASSERT_EQUAL(stats.failures, readers[0].gave_up + readers[1].gave_up);
    shm_reader_close(st.r);
    shm_writer_destroy(st.w);
    remove_dir(dir);
}

/* ---- the reader's mapping is read-only ------------------------------------ */

static void test_read_only(void)
{
    Fix f;
    fix_setup(&f);
    g_autoptr(ShmReader) r = open_ok(f.dir, "t");
    const void *base = shm_reader_base(r);

    /* /proc/self/maps: the mapping is r--s (read, shared, no write). */
    g_autofree char *maps = NULL;
    CU_ASSERT_TRUE_FATAL(g_file_get_contents("/proc/self/maps", &maps, NULL, NULL));
    g_autofree char *start = g_strdup_printf("%lx-", (unsigned long)(uintptr_t)base);
    char *line = NULL;
    for (char *p = maps; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (g_str_has_prefix(p, start)) {
            line = p;
            break;
        }
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(line);
    char perms[5] = { 0 };
    CU_ASSERT_EQUAL(sscanf(line, "%*s %4s", perms), 1);
    ASSERT_STR_EQ(perms, "r--s");
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "vmscope-t"));

    /* Nor can it be made writable: the file was opened O_RDONLY. */
    errno = 0;
    CU_ASSERT_EQUAL(mprotect((void *)base, shm_reader_size(r), PROT_READ | PROT_WRITE), -1);
    CU_ASSERT_EQUAL(errno, EACCES);
    fix_teardown(&f);
}

/* ---- broken segments ------------------------------------------------------ */

static void expect_open_error(const char *dir, const char *host, const char *expected)
{
    GError *err = NULL;
    ShmReader *r = shm_reader_open(dir, host, &err);
    CU_ASSERT_PTR_NULL(r);
    shm_reader_close(r);
    ASSERT_ERROR(err, expected);
}

static void test_bad_header(void)
{
    Fix f;
    fix_setup(&f);
    ShmSegmentHeader *h = writer_hdr(f.w);
    ShmSegmentHeader saved;
    memcpy(&saved, h, sizeof(saved));
#define BREAK_HEADER(stmt, expected)                     \
    do {                                                 \
        stmt;                                            \
        expect_open_error(f.dir, "t", expected);         \
        memcpy(h, &saved, sizeof(saved));                \
    } while (0)
    BREAK_HEADER(h->magic[0] = 'X', "vmscope-t: bad magic (not a vmscope segment)");
    BREAK_HEADER(h->layout_version = 2, "vmscope-t: layout version 2 not supported (expected 1)");
    BREAK_HEADER(h->header_size = 300, "vmscope-t: header size 300 (expected 256)");
    BREAK_HEADER(h->entry_size = 100, "vmscope-t: directory entry size 100 (expected 256)");
    BREAK_HEADER(h->segment_size = 0x8000,
                 "vmscope-t: header says segment size 0x8000, the file has 0x10000 bytes");
    BREAK_HEADER(h->max_devices = 0, "vmscope-t: max devices 0 out of range (1 to 4096)");
    BREAK_HEADER(h->max_devices = 5000, "vmscope-t: max devices 5000 out of range (1 to 4096)");
    BREAK_HEADER(h->max_devices = 300,
                 "vmscope-t: data offset 0x500 (expected 0x12d00)");
    BREAK_HEADER((h->max_devices = 300, h->data_offset = 0x12d00),
                 "vmscope-t: directory of 300 entries leaves no data area in segment size "
                 "0x10000");
    BREAK_HEADER(h->dir_offset = 0, "vmscope-t: directory offset 0x0 (expected 0x100)");
    BREAK_HEADER(memset(h->host, 'x', sizeof(h->host)), "vmscope-t: host name not NUL-terminated");
    BREAK_HEADER(strcpy(h->host, "other"),
                 "vmscope-t: host name 'other' does not match the segment name");
    BREAK_HEADER(strcpy(h->host, "t\n"),
                 "vmscope-t: host name 't\\n' does not match the segment name");
    BREAK_HEADER(h->owner_pid = 0, "vmscope-t: owner pid 0 invalid");
    BREAK_HEADER(h->owner_pid = -5, "vmscope-t: owner pid -5 invalid");
    BREAK_HEADER(atomic_store(&h->state, 7), "vmscope-t: state 7 invalid");
#undef BREAK_HEADER

    /* Wrong sizes of the file itself. */
    write_file(f.dir, "vmscope-small", "tiny", 4);
    expect_open_error(f.dir, "small", "vmscope-small: segment size 4 smaller than the header "
                                      "(256 bytes)");
    g_autofree char *huge = g_build_filename(f.dir, "vmscope-huge", NULL);
    int fd = open(huge, O_CREAT | O_WRONLY, 0600);
    CU_ASSERT_TRUE_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(ftruncate(fd, (off_t)2 << 30), 0);    /* sparse */
    close(fd);
    expect_open_error(f.dir, "huge", "vmscope-huge: segment size 0x80000000 exceeds the limit "
                                     "0x40000000");
    g_autofree char *sub = g_build_filename(f.dir, "vmscope-sub", NULL);
    CU_ASSERT_EQUAL(g_mkdir(sub, 0700), 0);
    g_autofree char *expect_sub = g_strdup_printf("vmscope-sub: %s is not a regular file", sub);
    expect_open_error(f.dir, "sub", expect_sub);
    g_autofree char *link = g_build_filename(f.dir, "vmscope-link", NULL);
    CU_ASSERT_EQUAL(symlink("vmscope-t", link), 0);
    g_autofree char *expect_link = g_strdup_printf(
        "vmscope-link: cannot open %s: Too many levels of symbolic links", link);
    expect_open_error(f.dir, "link", expect_link);
    g_autofree char *expect_none = g_strdup_printf("vmscope-none: no segment at %s/vmscope-none",
                                                   f.dir);
    expect_open_error(f.dir, "none", expect_none);
    expect_open_error(f.dir, "a/b", "host name 'a/b': only letters, digits, '.', '_' and '-' "
                                    "are allowed, and no leading '.'");
    expect_open_error("/nonexistent-vmscope-dir", "t",
                      "vmscope-t: cannot open directory /nonexistent-vmscope-dir: "
                      "No such file or directory");

    /* Random bytes, not a segment at all. */
    GRand *rng = g_rand_new_with_seed(7);
    g_autofree uint8_t *junk = g_malloc(SEG_SIZE);
    for (size_t i = 0; i < SEG_SIZE; i++) {
        junk[i] = (uint8_t)g_rand_int(rng);
    }
    g_rand_free(rng);
    write_file(f.dir, "vmscope-junk", junk, SEG_SIZE);
    expect_open_error(f.dir, "junk", "vmscope-junk: bad magic (not a vmscope segment)");
    fix_teardown(&f);
}

static void expect_list_error(ShmReader *r, const char *expected)
{
    GError *err = NULL;
    GArray *list = shm_reader_list(r, &err);
    CU_ASSERT_PTR_NULL(list);
    if (list) {
        g_array_unref(list);
    }
    ASSERT_ERROR(err, expected);
}

static void expect_snapshot_error(ShmReader *r, const char *id, const char *expected)
{
    GError *err = NULL;
    GBytes *state = NULL;
    CU_ASSERT_FALSE(shm_reader_snapshot(r, id, NULL, &state, &err));
    CU_ASSERT_PTR_NULL(state);
    ASSERT_ERROR(err, expected);
}

/*
 * Issue 12: a directory generation of exactly 1 (the first change under
 * way, or a writer that died in it) once made the reader use an entry it
 * had never located: a snapshot of a device that does not exist succeeded.
 */
static void test_generation_one(void)
{
    Fix f;
    fix_setup(&f);
    g_autoptr(ShmReader) r = open_ok(f.dir, "t");
    ShmSegmentHeader *h = writer_hdr(f.w);
    uint64_t saved = atomic_load(&h->generation);
    shm_reader_set_max_retries(r, 8);

    atomic_store(&h->generation, 1);
    expect_snapshot_error(r, "nope", "vmscope-t: directory kept changing (8 retries)");
    expect_snapshot_error(r, "rtc", "vmscope-t: directory kept changing (8 retries)");
    uint8_t buf[64];
    GError *err = NULL;
    CU_ASSERT_FALSE(shm_reader_snapshot_into(r, "nope", buf, sizeof(buf), NULL, &err));
    ASSERT_ERROR(err, "vmscope-t: directory kept changing (8 retries)");

    /* Any other value, odd or even, is no different. */
    atomic_store(&h->generation, 3);
    expect_snapshot_error(r, "nope", "vmscope-t: directory kept changing (8 retries)");
    for (uint64_t g = 0; g <= 4; g += 2) {
        atomic_store(&h->generation, g);
        expect_snapshot_error(r, "nope", "vmscope-t: no device 'nope'");
        GBytes *state = NULL;
        ShmDeviceInfo info;
        CU_ASSERT_TRUE(shm_reader_snapshot(r, "rtc", &info, &state, &err));
        ASSERT_NO_ERROR(err);
        CU_ASSERT_EQUAL(g_bytes_get_size(state), 64);
        ASSERT_STR_EQ(info.id, "rtc");
        g_bytes_unref(state);
    }
    atomic_store(&h->generation, saved);
    fix_teardown(&f);
}

static void test_bad_entries(void)
{
    Fix f;
    fix_setup(&f);
    g_autoptr(ShmReader) r = open_ok(f.dir, "t");
    ShmSegmentHeader *h = writer_hdr(f.w);
    ShmDirEntry *dir = writer_dir(f.w);
    ShmDirEntry *serial = &dir[0], *rtc = &dir[1];
    uint8_t saved[2 * sizeof(ShmDirEntry)];
    memcpy(saved, dir, sizeof(saved));
    uint8_t *base = shm_writer_base(f.w);
#define RESTORE() memcpy(dir, saved, sizeof(saved))

    rtc->in_use = 7;
    expect_list_error(r, "vmscope-t: device 1: in-use flag 7 invalid");
    RESTORE();
    memset(rtc->id, 'a', sizeof(rtc->id));
    expect_list_error(r, "vmscope-t: device 1: id not NUL-terminated");
    expect_snapshot_error(r, "rtc", "vmscope-t: no device 'rtc'");
    RESTORE();
    strcpy(rtc->id, "a/b");
    expect_list_error(r, "vmscope-t: device 1: invalid id (empty or not from [A-Za-z0-9._:@-])");
    RESTORE();
    rtc->id[0] = '\0';
    expect_list_error(r, "vmscope-t: device 1: invalid id (empty or not from [A-Za-z0-9._:@-])");
    RESTORE();
    memset(rtc->type, 'b', sizeof(rtc->type));
    expect_list_error(r, "vmscope-t: device 1: type name not NUL-terminated");
    expect_snapshot_error(r, "rtc", "vmscope-t: device 1: type name not NUL-terminated");
    RESTORE();
    strcpy(rtc->type, "\x01");
    expect_list_error(r, "vmscope-t: device 1: invalid type name (empty or not printable)");
    RESTORE();
    rtc->state_size = 0;
    expect_list_error(r, "vmscope-t: device 1: state size 0");
    RESTORE();

    /* Out of bounds, in every direction. */
    rtc->state_offset = 0x10000;
    expect_list_error(r, "vmscope-t: device 1: state offset 0x10000 + size 64 beyond segment "
                         "size 0x10000");
    expect_snapshot_error(r, "rtc", "vmscope-t: device 1: state offset 0x10000 + size 64 beyond "
                                    "segment size 0x10000");
    RESTORE();
    rtc->state_offset = 0xffc1;
    expect_snapshot_error(r, "rtc", "vmscope-t: device 1: state offset 0xffc1 + size 64 beyond "
                                    "segment size 0x10000");
    rtc->state_offset = 0xffc0;           /* the very end: fine */
    GBytes *state = NULL;
    GError *err = NULL;
    CU_ASSERT_TRUE(shm_reader_snapshot(r, "rtc", NULL, &state, &err));
    ASSERT_NO_ERROR(err);
    g_bytes_unref(state);
    RESTORE();
    rtc->state_offset = 0x40;
    expect_list_error(r, "vmscope-t: device 1: state offset 0x40 inside the header or directory "
                         "(data area starts at 0x500)");
    RESTORE();
    rtc->state_offset = 0xffffffffffffffc0;
    rtc->state_size = 128;
    expect_list_error(r, "vmscope-t: device 1: state offset 0xffffffffffffffc0 + size 128 beyond "
                         "segment size 0x10000");
    RESTORE();
    rtc->state_size = UINT64_MAX;
    expect_snapshot_error(r, "rtc", "vmscope-t: device 1: state offset 0x5c0 + size "
                                    "18446744073709551615 beyond segment size 0x10000");
    RESTORE();
    serial->desc_offset = 0xfff0;
    serial->desc_length = 16;
    expect_list_error(r, "vmscope-t: device 0: description offset 0xfff0 + length 16 (and its "
                         "NUL) beyond segment size 0x10000");
    RESTORE();
    serial->desc_length = UINT64_MAX;
    expect_list_error(r, "vmscope-t: device 0: description offset 0x580 + length "
                         "18446744073709551615 (and its NUL) beyond segment size 0x10000");
    RESTORE();

    /* Unterminated and embedded-NUL descriptions. */
    char *desc = (char *)base + 0x580;
    desc[17] = 'x';
    expect_list_error(r, "vmscope-t: device 0: description not NUL-terminated");
    char *text = NULL;
    CU_ASSERT_FALSE(shm_reader_description(r, "serial0", &text, &err));
    ASSERT_ERROR(err, "vmscope-t: device 0: description not NUL-terminated");
    desc[17] = '\0';
    desc[3] = '\0';
    CU_ASSERT_FALSE(shm_reader_description(r, "serial0", &text, &err));
    ASSERT_ERROR(err, "vmscope-t: device 0: description has a NUL byte at offset 0x583");
    desc[3] = 'a';

    /* Overlaps and duplicates. */
    rtc->state_offset = 0x540;
    expect_list_error(r, "vmscope-t: device 1: state [0x540, 0x580) overlaps device 0 state "
                         "[0x500, 0x564)");
    RESTORE();
    rtc->state_offset = 0x580;
    expect_list_error(r, "vmscope-t: device 1: state [0x580, 0x5c0) overlaps device 0 "
                         "description [0x580, 0x592)");
    RESTORE();
    rtc->state_offset = 0x500;            /* same start as serial0's, and longer */
    rtc->state_size = 0x200;
    expect_list_error(r, "vmscope-t: device 1: state [0x500, 0x700) overlaps device 0 state "
                         "[0x500, 0x564)");
    RESTORE();
    strcpy(rtc->id, "serial0");
    expect_list_error(r, "vmscope-t: device 1: id 'serial0' already used by device 0");
    RESTORE();

    /* Counts. */
    atomic_store(&h->device_count, 9);
    expect_list_error(r, "vmscope-t: device count 9 exceeds capacity 4");
    atomic_store(&h->device_count, 1);
    expect_list_error(r, "vmscope-t: device count 1 but 2 directory entries in use");
    atomic_store(&h->device_count, 2);

    /* Stuck sequences: a writer that never finishes gets bounded retries. */
    shm_reader_set_max_retries(r, 100);
    ShmReaderStats st0, st1;
    shm_reader_get_stats(r, &st0);
    atomic_fetch_add(&h->generation, 1);
    expect_list_error(r, "vmscope-t: directory kept changing (100 retries)");
    expect_snapshot_error(r, "rtc", "vmscope-t: directory kept changing (100 retries)");
    atomic_fetch_add(&h->generation, 1);
    atomic_fetch_add(&rtc->seq, 1);
    expect_snapshot_error(r, "rtc", "vmscope-t: device 'rtc': state kept changing (100 retries)");
    atomic_fetch_sub(&rtc->seq, 1);
    shm_reader_get_stats(r, &st1);
    CU_ASSERT_EQUAL(st1.retries - st0.retries, 300);
    CU_ASSERT_EQUAL(st1.failures - st0.failures, 3);

    /* All repaired: everything reads again. */
    GArray *list = shm_reader_list(r, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(list->len, 2);
    g_array_unref(list);
#undef RESTORE
    fix_teardown(&f);
}

/*
 * Garbage: many rounds of random damage to a good segment (fixed seed).
 * Every call must either work or fail with a one-line error about the
 * host; never crash, never read out of bounds (ASan build too).
 */
static bool garbage_walk(const ShmView *view, void *opaque, GError **errp)
{
    uint64_t *sum = opaque;
    *sum = 0;
    const uint8_t *s = view->state;
    for (uint64_t i = 0; i < view->state_size; i++) {
        *sum += s[i];
    }
    uint64_t off;
    if (view->state_size >= 8) {
        memcpy(&off, s, 8);
        const uint8_t *p = shm_view_resolve(view, off, 16, errp);
        if (!p) {
            return false;
        }
        *sum += p[15];
    }
    return true;
}

static bool error_ok(GError *err)
{
    bool ok = err && err->domain == VMS_ERROR && g_str_has_prefix(err->message, "vmscope-t: ") &&
              !strchr(err->message, '\n');
    if (!ok) {
        fprintf(stderr, "\nbad error: %s\n", err ? err->message : "(none)");
    }
    return ok;
}

static void test_garbage(void)
{
    Fix f;
    fix_setup(&f);
    GError *err = NULL;
    ShmDevice *slirp = shm_writer_add_device(f.w, "slirp", "slirp", 0, 1, NULL,
                                             sizeof(SockState), &err);
    ASSERT_NO_ERROR(err);
    SockState *s = shm_device_state(slirp);
    shm_device_begin_update(slirp);
    sock_push(f.w, s, 7);
    sock_push(f.w, s, 8);
    shm_device_end_update(slirp);

    uint8_t *base = shm_writer_base(f.w);
    g_autofree uint8_t *pristine = g_memdup2(base, SEG_SIZE);
    static const char *const ids[] = { "serial0", "rtc", "slirp" };
    static const uint64_t edges[] = { 0, 1, 0x4ff, 0x500, 0xfff0, 0x10000, 0x7fffffffffffffff,
                                      0x8000000000000000, UINT64_MAX };
    GRand *rng = g_rand_new_with_seed(20240601);
    unsigned rounds = 3000, opened = 0, listed = 0, reads_ok = 0, errors = 0, bad = 0;
    for (unsigned round = 0; round < rounds; round++) {
        memcpy(base, pristine, SEG_SIZE);
        switch (round % 4) {
        case 0:      /* a few random bytes in the header, directory, first states */
            for (int k = g_rand_int_range(rng, 1, 9); k > 0; k--) {
                base[g_rand_int_range(rng, 0, 0x700)] = (uint8_t)g_rand_int(rng);
            }
            break;
        case 1: {    /* a random 64-bit value in an entry's fields */
            uint64_t v = ((uint64_t)g_rand_int(rng) << 32) | g_rand_int(rng);
            int at = 0x100 + 64 + 8 * g_rand_int_range(rng, 0, 3 * 32 - 8);
            memcpy(base + at, &v, 8);
            break;
        }
        case 2: {    /* edge values in the first three entries */
            uint64_t v = edges[g_rand_int_range(rng, 0, G_N_ELEMENTS(edges))];
            int at = 0x100 + 8 * g_rand_int_range(rng, 0, 3 * 32);
            memcpy(base + at, &v, 8);
            break;
        }
        default: {   /* a run of random bytes */
            int len = g_rand_int_range(rng, 1, 513), at = g_rand_int_range(rng, 0, 0x700);
            for (int i = 0; i < len && at + i < SEG_SIZE; i++) {
                base[at + i] = (uint8_t)g_rand_int(rng);
            }
            break;
        }
        }
        ShmReader *r = shm_reader_open(f.dir, "t", &err);
        if (!r) {
            bad += !error_ok(err);
            errors++;
            g_clear_error(&err);
            continue;
        }
        opened++;
        shm_reader_set_max_retries(r, 20);
        ShmHostInfo hi;
        uint64_t gen;
        bad += !shm_reader_host_info(r, &hi, &err) || !shm_reader_generation(r, &gen, &err);
        (void)shm_reader_owner(r);
        GArray *list = shm_reader_list(r, &err);
        if (list) {
            listed++;
            g_array_unref(list);
        } else {
            bad += !error_ok(err);
            errors++;
            g_clear_error(&err);
        }
        for (size_t i = 0; i < G_N_ELEMENTS(ids); i++) {
            GBytes *state = NULL;
            char *text = NULL;
            uint64_t sum;
            if (shm_reader_snapshot(r, ids[i], NULL, &state, &err)) {
                reads_ok++;
                g_bytes_unref(state);
            } else {
                bad += !error_ok(err);
                g_clear_error(&err);
            }
            if (shm_reader_description(r, ids[i], &text, &err)) {
                g_free(text);
            } else {
                bad += !error_ok(err);
                g_clear_error(&err);
            }
            if (!shm_reader_read(r, ids[i], garbage_walk, &sum, NULL, &err)) {
                bad += !(err && err->domain == VMS_ERROR);
                g_clear_error(&err);
            }
        }
        shm_reader_close(r);
    }
    g_rand_free(rng);
    fprintf(stderr, "\n  %u rounds: %u opened, %u listed, %u snapshots, %u errors\n", rounds,
            opened, listed, reads_ok, errors);
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_TRUE(opened > 0 && opened < rounds);
    CU_ASSERT_TRUE(listed > 0 && listed < opened);
    CU_ASSERT_TRUE(reads_ok > 0);

    /* Repaired, it reads as before. */
    memcpy(base, pristine, SEG_SIZE);
    g_autoptr(ShmReader) r = open_ok(f.dir, "t");
    g_autoptr(GArray) ports = g_array_new(false, false, sizeof(uint32_t));
    CU_ASSERT_TRUE(shm_reader_read(r, "slirp", walk_socks, ports, NULL, &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(ports->len, 2);
    fix_teardown(&f);
}

/* The file shrinks under the reader: an error, not SIGBUS. */
static void test_truncated(void)
{
    Fix f;
    fix_setup(&f);
    GError *err = NULL;
    g_autoptr(ShmReader) r = open_ok(f.dir, "t");
    CU_ASSERT_EQUAL(truncate(shm_writer_path(f.w), 4096), 0);
    expect_snapshot_error(r, "serial0", "vmscope-t: segment file shrank to 4096 bytes "
                                        "(mapped 65536)");
    expect_list_error(r, "vmscope-t: segment file shrank to 4096 bytes (mapped 65536)");
    char *text = NULL;
    CU_ASSERT_FALSE(shm_reader_description(r, "serial0", &text, &err));
    ASSERT_ERROR(err, "vmscope-t: segment file shrank to 4096 bytes (mapped 65536)");
    uint64_t gen;
    CU_ASSERT_FALSE(shm_reader_generation(r, &gen, &err));
    ASSERT_ERROR(err, "vmscope-t: segment file shrank to 4096 bytes (mapped 65536)");
    ShmHostInfo hi;
    CU_ASSERT_FALSE(shm_reader_host_info(r, &hi, &err));
    ASSERT_ERROR(err, "vmscope-t: segment file shrank to 4096 bytes (mapped 65536)");
    CU_ASSERT_EQUAL(shm_reader_owner(r), SHM_OWNER_ALIVE);
    expect_open_error(f.dir, "t", "vmscope-t: header says segment size 0x10000, the file has "
                                  "0x1000 bytes");
    CU_ASSERT_EQUAL(truncate(shm_writer_path(f.w), 0), 0);
    CU_ASSERT_EQUAL(shm_reader_owner(r), SHM_OWNER_ALIVE);
    expect_list_error(r, "vmscope-t: segment file shrank to 0 bytes (mapped 65536)");
    expect_open_error(f.dir, "t", "vmscope-t: segment size 0 smaller than the header "
                                  "(256 bytes)");
    /* The writer must not touch the lost pages: put them back before it is destroyed. */
    CU_ASSERT_EQUAL(truncate(shm_writer_path(f.w), SEG_SIZE), 0);
    fix_teardown(&f);
}

/* ---- owners ---------------------------------------------------------------- */

/*
 * A child that creates DIR/vmscope-HOST with device "rtc" and then, once
 * the segment is ready, exits without cleanup (stay: false; reaped here,
 * the segment stays behind) or waits to be killed (stay: true).
 */
static pid_t owner_child(const char *dir, const char *host, bool stay)
{
    int ready[2];
    CU_ASSERT_EQUAL_FATAL(pipe(ready), 0);
    fflush(NULL);
    pid_t child = fork();
    CU_ASSERT_TRUE_FATAL(child >= 0);
    if (child == 0) {
        ShmWriter *w = shm_writer_create(dir, host, SEG_SIZE, 4, NULL);
        ShmDevice *dev = w ? shm_writer_add_device(w, "rtc", "rtc", 0, 1, NULL, 64, NULL) : NULL;
        (void)!write(ready[1], dev ? "y" : "n", 1);
        while (stay) {
            pause();
        }
        _exit(0);
    }
    close(ready[1]);
    char ok = 0;
    CU_ASSERT_EQUAL(read(ready[0], &ok, 1), 1);
    close(ready[0]);
    CU_ASSERT_EQUAL(ok, 'y');
    int status = 0;
    if (!stay) {
        CU_ASSERT_EQUAL(waitpid(child, &status, 0), child);
        CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    return child;
}

static void test_dead_owner(void)
{
    char *dir = make_dir();
    GError *err = NULL;
    pid_t child = owner_child(dir, "dead", false);

    g_autoptr(ShmReader) r = open_ok(dir, "dead");
    CU_ASSERT_EQUAL(shm_reader_owner(r), SHM_OWNER_DEAD);
    ShmHostInfo hi;
    CU_ASSERT_TRUE(shm_reader_host_info(r, &hi, &err));
    CU_ASSERT_EQUAL(hi.owner_pid, child);
    CU_ASSERT_EQUAL(hi.owner, SHM_OWNER_DEAD);
    CU_ASSERT_EQUAL(hi.device_count, 1);
    g_autofree char *expect = g_strdup_printf("vmscope-dead: owner pid %d is dead", (int)child);
    expect_list_error(r, expect);
    expect_snapshot_error(r, "rtc", expect);
    CU_ASSERT_FALSE(shm_reader_replaced(r));

    /* A new host of that name replaces the stale segment. */
    ShmWriter *w = shm_writer_create(dir, "dead", SEG_SIZE, 4, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_TRUE(shm_reader_replaced(r));
    g_autoptr(ShmReader) r2 = open_ok(dir, "dead");
    CU_ASSERT_EQUAL(shm_reader_owner(r2), SHM_OWNER_ALIVE);
    CU_ASSERT_FALSE(shm_reader_replaced(r2));
    GArray *list = shm_reader_list(r2, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(list->len, 0);
    g_array_unref(list);

    /* A live one is refused. */
    CU_ASSERT_PTR_NULL(shm_writer_create(dir, "dead", SEG_SIZE, 4, &err));
    g_autofree char *live = g_strdup_printf("vmscope-dead: segment in use by live pid %d",
                                            (int)getpid());
    ASSERT_ERROR(err, live);
    shm_writer_destroy(w);
    remove_dir(dir);
}

/*
 * Issue 12: an owner killed but not reaped (a zombie) is dead, through the
 * pidfd and, without one (old kernels), through /proc.
 */
static void zombie_owner(bool pidfd)
{
    char *dir = make_dir();
    pid_t child = owner_child(dir, "z", true);

    if (!pidfd) {
        g_setenv("VMSCOPE_SHM_NO_PIDFD", "1", TRUE);
    }
    g_autoptr(ShmReader) r = open_ok(dir, "z");
    g_unsetenv("VMSCOPE_SHM_NO_PIDFD");
    int fd = shm_reader_owner_fd(r);
    CU_ASSERT_EQUAL(fd >= 0, pidfd);
    CU_ASSERT_EQUAL(shm_reader_owner(r), SHM_OWNER_ALIVE);
    GBytes *state = NULL;
    GError *err = NULL;
    CU_ASSERT_TRUE(shm_reader_snapshot(r, "rtc", NULL, &state, &err));
    ASSERT_NO_ERROR(err);
    g_bytes_unref(state);
    if (pidfd) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        CU_ASSERT_EQUAL(poll(&pfd, 1, 0), 0);
    }

    CU_ASSERT_EQUAL(kill(child, SIGKILL), 0);      /* and no waitpid: a zombie */
    if (pidfd) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        CU_ASSERT_EQUAL(poll(&pfd, 1, 5000), 1);
        CU_ASSERT_TRUE(pfd.revents & POLLIN);
        g_autofree char *expect = g_strdup_printf("vmscope-z: owner pid %d is dead", (int)child);
        expect_snapshot_error(r, "rtc", expect);   /* every read sees it, not only the poll */
    }
    /* The kill takes effect asynchronously: give it up to 5 s. */
    for (int i = 0; i < 500 && shm_reader_owner(r) != SHM_OWNER_DEAD; i++) {
        g_usleep(10000);
    }
    CU_ASSERT_EQUAL(shm_reader_owner(r), SHM_OWNER_DEAD);
    CU_ASSERT_EQUAL(kill(child, 0), 0);            /* kill(pid, 0) alone would call it alive */
    ShmHostInfo hi;
    CU_ASSERT_TRUE(shm_reader_host_info(r, &hi, &err));
    CU_ASSERT_EQUAL(hi.owner, SHM_OWNER_DEAD);

    int status;
    CU_ASSERT_EQUAL(waitpid(child, &status, 0), child);
    g_autofree char *seg = g_build_filename(dir, "vmscope-z", NULL);
    g_unlink(seg);
    remove_dir(dir);
}

static void test_zombie_owner(void)
{
    zombie_owner(true);
}

static void test_zombie_owner_without_pidfd(void)
{
    zombie_owner(false);
}

static void test_stale_garbage_and_reuse(void)
{
    Fix f;
    fix_setup(&f);
    GError *err = NULL;
    /* A file nobody holds, with garbage in it: replaced. */
    write_file(f.dir, "vmscope-junk", "garbage", 7);
    ShmWriter *w = shm_writer_create(f.dir, "junk", SEG_SIZE, 4, &err);
    ASSERT_NO_ERROR(err);
    shm_writer_destroy(w);

    /* The pid names a process that started at another time: reused, dead. */
    ShmSegmentHeader *h = writer_hdr(f.w);
    uint64_t start = h->owner_start_time;
    CU_ASSERT_TRUE(start > 0);
    h->owner_start_time = start + 1;
    g_autoptr(ShmReader) r = open_ok(f.dir, "t");
    CU_ASSERT_EQUAL(shm_reader_owner(r), SHM_OWNER_DEAD);
    g_autofree char *expect = g_strdup_printf("vmscope-t: owner pid %d is dead", (int)getpid());
    expect_list_error(r, expect);
    h->owner_start_time = start;
    fix_teardown(&f);
}

static void test_closed(void)
{
    Fix f;
    fix_setup(&f);
    ShmReader *r = open_ok(f.dir, "t");
    CU_ASSERT_EQUAL(shm_reader_owner(r), SHM_OWNER_ALIVE);
    shm_writer_destroy(f.w);
    CU_ASSERT_EQUAL(shm_reader_owner(r), SHM_OWNER_CLOSED);
    CU_ASSERT_TRUE(shm_reader_replaced(r));
    expect_list_error(r, "vmscope-t: segment closed by its owner");
    expect_snapshot_error(r, "serial0", "vmscope-t: segment closed by its owner");
    GError *err = NULL;
    GPtrArray *hosts = shm_segment_list(f.dir, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(hosts->len, 0);
    g_ptr_array_unref(hosts);
    shm_reader_close(r);
    remove_dir(f.dir);
}

static const CuTest names_tests[] = {
    { "host names, device ids, paths", test_names },
    { "discovery", test_discovery },
    { NULL, NULL },
};

static const CuTest rw_tests[] = {
    { "create errors", test_create_errors },
    { "create, add, list, snapshot", test_round_trip },
    { "add and remove", test_add_remove },
    { "heap alloc and free", test_heap },
    { "read in place through heap pointers", test_read_in_place },
    { "readers against a writer at full speed", test_concurrent },
    { "reader mapping is read-only", test_read_only },
    { NULL, NULL },
};

static const CuTest bad_tests[] = {
    { "bad headers and files", test_bad_header },
    { "bad directory entries", test_bad_entries },
    { "directory generation 1", test_generation_one },
    { "random damage", test_garbage },
    { "file shrinks under the reader", test_truncated },
    { NULL, NULL },
};

static const CuTest owner_tests[] = {
    { "dead owner, stale replaced, live refused", test_dead_owner },
    { "zombie owner (pidfd)", test_zombie_owner },
    { "zombie owner (no pidfd: /proc)", test_zombie_owner_without_pidfd },
    { "stale garbage replaced, pid reused", test_stale_garbage_and_reuse },
    { "closed by its owner", test_closed },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "shm names", names_tests },
    { "shm writer and reader", rw_tests },
    { "shm broken segments", bad_tests },
    { "shm owners", owner_tests },
    { NULL, NULL },
};

CUTEST_MAIN(suites)

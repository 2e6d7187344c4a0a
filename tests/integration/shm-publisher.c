/*
 * shm-publisher: a device host for tests, driven line by line on stdin.
 *
 *   shm-publisher --dir DIR --name HOST [--max-devices N] [--segment-size BYTES]
 *                 [--tick-ms MS] [--count N --type TYPE]
 *
 * Publishes the segment DIR/vmscope-HOST (shm writer + the reference device
 * models, plus "testdev" from testdev.h), prints "ready PID", then runs one
 * command per stdin line and answers each with "ok" or "error: WHY":
 *
 *   add ID TYPE [INSTANCE]        add a device (TYPE: testdev or a model)
 *   adddesc ID TYPE SIZE TEXT     add a device with description TEXT (the
 *                                 rest of the line) and a zeroed state
 *   nodesc ID TYPE SIZE           add a device without a description
 *   remove ID
 *   tick [ID]                     move one device (or all) on by one tick
 *                                 (testdev: rx_total + 1)
 *   poke ID OFFSET SIZE VALUE [OFFSET SIZE VALUE]...
 *                                 store integers of SIZE bytes (1, 2, 4, 8)
 *                                 at OFFSET of the state, all in one update
 *   items ID N                    testdev: resize its item list to N
 *   item-rx ID INDEX VALUE        testdev: set items[INDEX].rx_bytes
 *   break ID                      corrupt the device's directory entry (in-use
 *                                 flag 7) and bump the directory generation
 *   scribble N SEED               write N random bytes at random places from
 *                                 the header's changing fields (offset 192) to
 *                                 the end of the first 64 KiB: a hostile host
 *   exit                          close the segment and exit 0 (EOF too)
 *   crash                         exit 3 at once, leaving the segment behind
 *
 * --count N --type TYPE adds N devices TYPE-0 .. TYPE-(N-1) before "ready";
 * --tick-ms MS ticks every device every MS milliseconds.  Tests only: it
 * trusts its input and stops at the first broken command line.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib-unix.h>

#include "devices/devices.h"
#include "shm/shm-segment-impl.h"     /* the layout: it forges broken entries */
#include "testdev.h"
#include "vmscope/error.h"
#include "vmscope/shm-segment.h"

typedef struct Dev {
    ShmDevice *shm;
    const DeviceType *type;        /* NULL: testdev or a raw device */
    bool testdev;
    uint64_t ticks;
} Dev;

typedef struct Pub {
    ShmWriter *w;
    DeviceHeap heap;
    GHashTable *devs;              /* id -> Dev * */
    GPtrArray *order;              /* Dev *, in the order added */
    GMainLoop *loop;
    GString *line;
    int status;
} Pub;

static uint64_t heap_alloc(void *opaque, size_t n)
{
    return shm_heap_alloc(opaque, n, NULL);
}

static void heap_free(void *opaque, uint64_t off)
{
    if (!shm_heap_free(opaque, off, NULL)) {
        fprintf(stderr, "shm-publisher: heap free of 0x%" PRIx64 " failed\n", off);
    }
}

static TestItem *testdev_items(Pub *p, TestDev *s)
{
    return s->items ? shm_writer_ptr(p->w, s->items) : NULL;
}

/* Resize a testdev's list to n items (inside an update of that device). */
static bool testdev_resize(Pub *p, TestDev *s, uint32_t n, GError **errp)
{
    uint64_t off = 0;
    if (n) {
        off = shm_heap_alloc(p->w, n * sizeof(TestItem), errp);
        if (!off) {
            return false;
        }
        TestItem *it = shm_writer_ptr(p->w, off);
        TestItem *old = testdev_items(p, s);
        for (uint32_t k = 0; k < n; k++) {
            if (k < s->n_items) {
                it[k] = old[k];
            } else {
                testdev_item_init(&it[k], k);
            }
        }
    }
    uint64_t old_off = s->items;
    s->items = off;
    s->n_items = n;
    return !old_off || shm_heap_free(p->w, old_off, errp);
}

static bool add_device(Pub *p, const char *id, const char *type, uint32_t instance,
                       GError **errp)
{
    Dev *d = g_new0(Dev, 1);
    if (strcmp(type, "testdev") == 0) {
        g_autoptr(QObject) desc = vmstate_describe(&testdev_vmsd);
        g_autofree char *text = qobject_to_json(desc, false);
        d->testdev = true;
        d->shm = shm_writer_add_device(p->w, id, type, instance, testdev_vmsd.version_id, text,
                                       sizeof(TestDev), errp);
        if (d->shm) {
            TestDev *s = shm_device_state(d->shm);
            shm_device_begin_update(d->shm);
            testdev_init(s);
            bool ok = testdev_resize(p, s, 2, errp);
            shm_device_end_update(d->shm);
            if (!ok) {
                shm_writer_remove_device(p->w, d->shm);
                d->shm = NULL;
            }
        }
    } else {
        d->type = device_type_find(type);
        if (!d->type) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_NOT_FOUND, "unknown type '%s'", type);
            g_free(d);
            return false;
        }
        g_autoptr(QObject) desc = vmstate_describe(d->type->vmsd);
        g_autofree char *text = qobject_to_json(desc, false);
        d->shm = shm_writer_add_device(p->w, id, type, instance, d->type->vmsd->version_id,
                                       text, d->type->state_size, errp);
        if (d->shm) {
            shm_device_begin_update(d->shm);
            d->type->init(shm_device_state(d->shm), instance, &p->heap);
            shm_device_end_update(d->shm);
        }
    }
    if (!d->shm) {
        g_free(d);
        return false;
    }
    g_hash_table_insert(p->devs, g_strdup(id), d);
    g_ptr_array_add(p->order, d);
    return true;
}

static bool add_raw(Pub *p, const char *id, const char *type, size_t size, const char *desc,
                    GError **errp)
{
    Dev *d = g_new0(Dev, 1);
    d->shm = shm_writer_add_device(p->w, id, type, 0, 1, desc, size, errp);
    if (!d->shm) {
        g_free(d);
        return false;
    }
    g_hash_table_insert(p->devs, g_strdup(id), d);
    g_ptr_array_add(p->order, d);
    return true;
}

static void tick(Pub *p, Dev *d)
{
    shm_device_begin_update(d->shm);
    if (d->testdev) {
        ((TestDev *)shm_device_state(d->shm))->rx_total++;
    } else if (d->type) {
        d->type->tick(shm_device_state(d->shm), d->ticks, &p->heap);
    }
    d->ticks++;
    shm_device_end_update(d->shm);
}

static gboolean tick_all(gpointer data)
{
    Pub *p = data;
    for (guint i = 0; i < p->order->len; i++) {
        tick(p, g_ptr_array_index(p->order, i));
    }
    return G_SOURCE_CONTINUE;
}

static Dev *find(Pub *p, const char *id, GError **errp)
{
    Dev *d = id ? g_hash_table_lookup(p->devs, id) : NULL;
    if (!d) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_NOT_FOUND, "no device '%s'", id ? id : "");
    }
    return d;
}

static Dev *find_testdev(Pub *p, const char *id, GError **errp)
{
    Dev *d = find(p, id, errp);
    if (d && !d->testdev) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "'%s' is not a testdev", id);
        return NULL;
    }
    return d;
}

static bool corrupt_entry(Pub *p, Dev *d)
{
    uint8_t *base = shm_writer_base(p->w);
    ShmSegmentHeader *h = (ShmSegmentHeader *)base;
    ShmDirEntry *dir = (ShmDirEntry *)(base + h->dir_offset);
    for (uint32_t i = 0; i < h->max_devices; i++) {
        if (dir[i].in_use && strcmp(dir[i].id, shm_device_id(d->shm)) == 0) {
            uint64_t g = atomic_load(&h->generation);
            atomic_store(&h->generation, g + 1);
            dir[i].in_use = 7;
            atomic_store(&h->generation, g + 2);
            return true;
        }
    }
    return false;
}

/* One command line; false with *errp set if it failed. */
static bool run_command(Pub *p, char *line, GError **errp)
{
    g_strstrip(line);
    g_auto(GStrv) arg = g_strsplit(line, " ", 5);
    guint n = g_strv_length(arg);
    const char *cmd = n ? arg[0] : "";
    if (strcmp(cmd, "add") == 0 && (n == 3 || n == 4)) {
        return add_device(p, arg[1], arg[2], n == 4 ? (uint32_t)atoi(arg[3]) : 0, errp);
    }
    if (strcmp(cmd, "adddesc") == 0 && n == 5) {
        return add_raw(p, arg[1], arg[2], strtoul(arg[3], NULL, 0), arg[4], errp);
    }
    if (strcmp(cmd, "nodesc") == 0 && n == 4) {
        return add_raw(p, arg[1], arg[2], strtoul(arg[3], NULL, 0), NULL, errp);
    }
    if (strcmp(cmd, "remove") == 0 && n == 2) {
        Dev *d = find(p, arg[1], errp);
        if (!d) {
            return false;
        }
        if (d->type && d->type->fini) {
            shm_device_begin_update(d->shm);
            d->type->fini(shm_device_state(d->shm), &p->heap);
            shm_device_end_update(d->shm);
        }
        if (d->testdev) {
            shm_device_begin_update(d->shm);
            testdev_resize(p, shm_device_state(d->shm), 0, NULL);
            shm_device_end_update(d->shm);
        }
        shm_writer_remove_device(p->w, d->shm);
        g_ptr_array_remove(p->order, d);
        g_hash_table_remove(p->devs, arg[1]);
        return true;
    }
    if (strcmp(cmd, "tick") == 0 && n <= 2) {
        if (n == 1) {
            tick_all(p);
            return true;
        }
        Dev *d = find(p, arg[1], errp);
        if (d) {
            tick(p, d);
        }
        return d != NULL;
    }
    if (strcmp(cmd, "poke") == 0 && n == 5) {
        g_auto(GStrv) a = g_strsplit(line, " ", -1);
        guint na = g_strv_length(a);
        Dev *d = find(p, a[1], errp);
        if (!d) {
            return false;
        }
        if ((na - 2) % 3 != 0) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "poke: OFFSET SIZE VALUE triples");
            return false;
        }
        uint8_t *s = shm_device_state(d->shm);
        for (guint k = 2; k < na; k += 3) {
            size_t off = strtoul(a[k], NULL, 0), size = strtoul(a[k + 1], NULL, 0);
            if ((size != 1 && size != 2 && size != 4 && size != 8) ||
                off + size > shm_device_state_size(d->shm)) {
                g_set_error(errp, VMS_ERROR, VMS_ERROR_RANGE, "bad offset or size");
                return false;
            }
        }
        shm_device_begin_update(d->shm);
        for (guint k = 2; k < na; k += 3) {
            size_t off = strtoul(a[k], NULL, 0), size = strtoul(a[k + 1], NULL, 0);
            uint64_t v = strtoull(a[k + 2], NULL, 0);
            uint8_t u8 = (uint8_t)v;
            uint16_t u16 = (uint16_t)v;
            uint32_t u32 = (uint32_t)v;
            const void *src = size == 1 ? (const void *)&u8 : size == 2 ? (const void *)&u16 :
                              size == 4 ? (const void *)&u32 : (const void *)&v;
            memcpy(s + off, src, size);
        }
        shm_device_end_update(d->shm);
        return true;
    }
    if (strcmp(cmd, "items") == 0 && n == 3) {
        Dev *d = find_testdev(p, arg[1], errp);
        if (!d) {
            return false;
        }
        shm_device_begin_update(d->shm);
        bool ok = testdev_resize(p, shm_device_state(d->shm), (uint32_t)atoi(arg[2]), errp);
        shm_device_end_update(d->shm);
        return ok;
    }
    if (strcmp(cmd, "item-rx") == 0 && n == 4) {
        Dev *d = find_testdev(p, arg[1], errp);
        if (!d) {
            return false;
        }
        TestDev *s = shm_device_state(d->shm);
        uint32_t k = (uint32_t)atoi(arg[2]);
        if (k >= s->n_items) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_RANGE, "no item %u", k);
            return false;
        }
        shm_device_begin_update(d->shm);
        testdev_items(p, s)[k].rx_bytes = strtoull(arg[3], NULL, 0);
        shm_device_end_update(d->shm);
        return true;
    }
    if (strcmp(cmd, "break") == 0 && n == 2) {
        Dev *d = find(p, arg[1], errp);
        return d && corrupt_entry(p, d);
    }
    if (strcmp(cmd, "scribble") == 0 && n == 3) {
        uint8_t *base = shm_writer_base(p->w);
        size_t end = MIN(shm_writer_size(p->w), (size_t)65536);
        g_autoptr(GRand) rnd = g_rand_new_with_seed((guint32)strtoul(arg[2], NULL, 0));
        for (long k = strtol(arg[1], NULL, 0); k > 0; k--) {
            base[g_rand_int_range(rnd, 192, (gint32)end)] = (uint8_t)g_rand_int(rnd);
        }
        return true;
    }
    if (strcmp(cmd, "exit") == 0 && n == 1) {
        g_main_loop_quit(p->loop);
        return true;
    }
    if (strcmp(cmd, "crash") == 0 && n == 1) {
        _exit(3);
    }
    g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "bad command '%s'", line);
    return false;
}

static gboolean on_stdin(gint fd, GIOCondition cond, gpointer data)
{
    Pub *p = data;
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) {
        g_main_loop_quit(p->loop);
        return G_SOURCE_REMOVE;
    }
    g_string_append_len(p->line, buf, n);
    char *nl;
    while ((nl = memchr(p->line->str, '\n', p->line->len)) != NULL) {
        g_autofree char *line = g_strndup(p->line->str, (gsize)(nl - p->line->str));
        g_string_erase(p->line, 0, nl - p->line->str + 1);
        g_autoptr(GError) err = NULL;
        if (run_command(p, line, &err)) {
            printf("ok\n");
        } else {
            printf("error: %s\n", err ? err->message : "failed");
        }
        fflush(stdout);
    }
    return G_SOURCE_CONTINUE;
}

int main(int argc, char **argv)
{
    g_autofree char *dir = NULL, *name = NULL, *type = NULL;
    gint max_devices = 64, tick_ms = 0, count = 0;
    gint64 segment_size = 4 << 20;
    const GOptionEntry entries[] = {
        { "dir", 0, 0, G_OPTION_ARG_FILENAME, &dir, "segment directory", "DIR" },
        { "name", 0, 0, G_OPTION_ARG_STRING, &name, "host name", "HOST" },
        { "max-devices", 0, 0, G_OPTION_ARG_INT, &max_devices, "directory capacity", "N" },
        { "segment-size", 0, 0, G_OPTION_ARG_INT64, &segment_size, "segment size", "BYTES" },
        { "tick-ms", 0, 0, G_OPTION_ARG_INT, &tick_ms, "tick every device every MS", "MS" },
        { "count", 0, 0, G_OPTION_ARG_INT, &count, "add N devices of --type", "N" },
        { "type", 0, 0, G_OPTION_ARG_STRING, &type, "type for --count", "TYPE" },
        { NULL },
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("- test device host");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_autoptr(GError) err = NULL;
    if (!g_option_context_parse(ctx, &argc, &argv, &err) || !name || (count && !type)) {
        fprintf(stderr, "shm-publisher: %s\n", err ? err->message : "--name (and --type) needed");
        return 2;
    }

    Pub p = { .status = 0 };
    p.w = shm_writer_create(dir, name, (size_t)segment_size, (uint32_t)max_devices, &err);
    if (!p.w) {
        fprintf(stderr, "shm-publisher: %s\n", err->message);
        return 1;
    }
    p.heap = (DeviceHeap) { .base = shm_writer_base(p.w), .size = shm_writer_size(p.w),
                            .alloc = heap_alloc, .free = heap_free, .opaque = p.w };
    p.devs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    p.order = g_ptr_array_new();
    p.loop = g_main_loop_new(NULL, FALSE);
    p.line = g_string_new(NULL);
    for (int i = 0; i < count; i++) {
        g_autofree char *id = g_strdup_printf("%s-%d", type, i);
        if (!add_device(&p, id, type, (uint32_t)i, &err)) {
            fprintf(stderr, "shm-publisher: %s\n", err->message);
            shm_writer_destroy(p.w);
            return 1;
        }
    }
    printf("ready %d\n", (int)getpid());
    fflush(stdout);
    g_unix_fd_add(0, G_IO_IN | G_IO_HUP | G_IO_ERR, on_stdin, &p);
    if (tick_ms > 0) {
        g_timeout_add((guint)tick_ms, tick_all, &p);
    }
    g_main_loop_run(p.loop);

    for (guint i = 0; i < p.order->len; i++) {
        Dev *d = g_ptr_array_index(p.order, i);
        if (d->type && d->type->fini) {
            shm_device_begin_update(d->shm);
            d->type->fini(shm_device_state(d->shm), &p.heap);
            shm_device_end_update(d->shm);
        }
    }
    shm_writer_destroy(p.w);
    g_ptr_array_unref(p.order);
    g_hash_table_destroy(p.devs);
    g_main_loop_unref(p.loop);
    g_string_free(p.line, TRUE);
    return p.status;
}

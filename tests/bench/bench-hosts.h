/*
 * Device hosts for the benchmarks, in the benchmark's own process: real
 * segments (shm writer) holding the reference device models, ticked on
 * demand.  Device i of a host is of type device_types[i % number of types]
 * and named TYPE-i ("serial-1", "slirp-6").
 */
#ifndef VMSCOPE_TESTS_BENCH_HOSTS_H
#define VMSCOPE_TESTS_BENCH_HOSTS_H

#include <stdio.h>
#include <stdlib.h>
#include <glib.h>

#include "devices/devices.h"
#include "vmscope/shm-segment.h"

typedef struct BenchHost {
    ShmWriter *w;
    DeviceHeap heap;
    GPtrArray *devs;              /* ShmDevice * */
    GPtrArray *types;             /* const DeviceType * */
    uint64_t ticks;
} BenchHost;

static inline uint64_t bench_heap_alloc(void *opaque, size_t n)
{
    return shm_heap_alloc(opaque, n, NULL);
}

static inline void bench_heap_free(void *opaque, uint64_t off)
{
    shm_heap_free(opaque, off, NULL);
}

static inline size_t bench_n_types(void)
{
    size_t n = 0;
    while (device_types[n]) {
        n++;
    }
    return n;
}

/* A host NAME in DIR with `count` devices in a segment of `size` bytes; exits on error. */
static inline BenchHost *bench_host_new(const char *dir, const char *name, int count, size_t size)
{
    g_autoptr(GError) err = NULL;
    BenchHost *h = g_new0(BenchHost, 1);
    h->w = shm_writer_create(dir, name, size, (uint32_t)count, &err);
    if (!h->w) {
        fprintf(stderr, "bench: %s\n", err->message);
        exit(1);
    }
    h->heap = (DeviceHeap) { .base = shm_writer_base(h->w), .size = shm_writer_size(h->w),
                             .alloc = bench_heap_alloc, .free = bench_heap_free, .opaque = h->w };
    h->devs = g_ptr_array_new();
    h->types = g_ptr_array_new();
    size_t ntypes = bench_n_types();
    for (int i = 0; i < count; i++) {
        const DeviceType *t = device_types[(size_t)i % ntypes];
        g_autofree char *id = g_strdup_printf("%s-%d", t->name, i);
        g_autoptr(QObject) desc = vmstate_describe(t->vmsd);
        g_autofree char *text = qobject_to_json(desc, false);
        ShmDevice *d = shm_writer_add_device(h->w, id, t->name, (uint32_t)i, t->vmsd->version_id,
                                             text, t->state_size, &err);
        if (!d) {
            fprintf(stderr, "bench: %s\n", err->message);
            exit(1);
        }
        shm_device_begin_update(d);
        t->init(shm_device_state(d), (uint32_t)i, &h->heap);
        shm_device_end_update(d);
        g_ptr_array_add(h->devs, d);
        g_ptr_array_add(h->types, (gpointer)t);
    }
    return h;
}

/* Move device i on by one tick, in one update. */
static inline void bench_host_tick_one(BenchHost *h, guint i, uint64_t tick)
{
    ShmDevice *d = g_ptr_array_index(h->devs, i);
    const DeviceType *t = g_ptr_array_index(h->types, i);
    shm_device_begin_update(d);
    t->tick(shm_device_state(d), tick, &h->heap);
    shm_device_end_update(d);
}

/* Every device on by one tick. */
static inline void bench_host_tick(BenchHost *h)
{
    for (guint i = 0; i < h->devs->len; i++) {
        bench_host_tick_one(h, i, h->ticks);
    }
    h->ticks++;
}

static inline void bench_host_free(BenchHost *h)
{
    shm_writer_destroy(h->w);
    g_ptr_array_unref(h->devs);
    g_ptr_array_unref(h->types);
    g_free(h);
}

#endif

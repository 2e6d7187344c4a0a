/*
 * Reference device models run by vmscope-devhost.
 *
 * Each model is a C struct described by a VMStateDescription, plus a tick
 * function that moves the state on the way a running device would (a clock
 * ticks, characters arrive in a FIFO, queues advance, sockets come and go).
 * Models know nothing about shared memory or migration: the device host
 * places their state where it likes (in its segment), brackets every tick in
 * a seqlock update, and saves/loads the state through the VMState engine.
 *
 * Runtime-sized data (the socket list) lives outside the state struct, in a
 * region the host provides (DeviceHeap); the state refers to it with a
 * segment-relative offset, described with a VMSTATE_*SEGPTR* field.
 *
 * Versions: a model has a current version (its description's version_id).
 * `--device-version TYPE=N` runs it as version N: device_vmsd_at_version()
 * derives a description with version_id N that leaves out every field and
 * subsection newer than N, so the host saves exactly what a version-N device
 * would and refuses streams newer than N.
 */
#ifndef VMSCOPE_DEVICES_H
#define VMSCOPE_DEVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "vmscope/vmstate.h"

/* Where runtime-sized data lives: a region addressed by offsets. */
typedef struct DeviceHeap {
    uint8_t *base;     /* start of the region (the segment) */
    size_t size;
    /* Allocate n zeroed bytes; returns the offset, or 0 when full. */
    uint64_t (*alloc)(void *opaque, size_t n);
    void (*free)(void *opaque, uint64_t offset);
    void *opaque;
} DeviceHeap;

typedef struct DeviceType {
    const char *name;                      /* "serial", "mc146818rtc", ... */
    const char *short_name;                /* in device ids: "rtc" gives rtc0, rtc1, ... */
    unsigned default_count;                /* how many a host runs by default (0: none) */
    const VMStateDescription *vmsd;        /* current version */
    size_t state_size;
    /* Put a fresh device's state in place (state is zeroed). */
    void (*init)(void *state, uint32_t instance, DeviceHeap *heap);
    /* Move the state on by one tick (ticks come every DEVICE_TICK_MS). */
    void (*tick)(void *state, uint64_t tick, DeviceHeap *heap);
    /* Release heap data before the state goes away (may be NULL). */
    void (*fini)(void *state, DeviceHeap *heap);
} DeviceType;

#define DEVICE_TICK_MS 100

/*
 * All models, NULL-terminated: the one table (devices/registry.c).  Adding
 * a model is its file plus one entry here; everything else (the default
 * device list, the known types in messages and --help, what
 * `vmscope-devhost --list-devices` prints) follows from the table.
 */
extern const DeviceType *const device_types[];

const DeviceType *device_type_find(const char *name);

/*
 * The default device list of a host, in table order, each type as many
 * times as its default_count: "mc146818rtc,serial,serial,i8254,...".
 */
const char *device_default_list(void);

/*
 * The description of `type` as version `version` (see above).  Returns the
 * type's own description for its current version; a derived one (owned by a
 * per-process cache, never freed) for an older version; NULL with *errp set
 * for a version newer than the model or below its minimum.
 */
const VMStateDescription *device_vmsd_at_version(const DeviceType *type, int version,
                                                 GError **errp);

#endif

/*
 * The device host: reference devices (devices.h) living in one
 * shared-memory segment, moved on by a timer on the GLib main loop, with a
 * run state as QEMU has one.  vmscope-devhost is this module plus the QMP
 * monitor (devhost-qmp.h) and migration (migration.h).
 *
 * Devices.  A host runs a list of devices, given as "TYPE[:COUNT],..."
 * (device_default_list() when none is given).  Each device gets an id made
 * of its type's short name (DeviceType.short_name) and its index among the
 * devices of its type (rtc0, serial0, serial1, pit0, ... by default),
 * and that index is also its instance id, as QEMU numbers the instances
 * of a section.  A type may be run at an older version of its description
 * ("TYPE=N", device_vmsd_at_version()); all devices of that type then are.
 *
 * The segment.  devhost_new() creates DIR/vmscope-<name> sized for the
 * devices: their states, their description texts (qobject_to_json() of
 * vmstate_describe() of the description at the running version) and room
 * for their runtime data: three times the largest size of every
 * segment-pointer (SEGPTR) field, so that a list can be reallocated (the
 * new block exists before the old one is freed) and a migration can stage
 * a replacement, plus 64 KiB.  The models get a DeviceHeap backed by
 * shm_heap_alloc/shm_heap_free.  Rule for models, which migration relies
 * on: a device's heap data is exactly what its SEGPTR fields point to.
 *
 * Ticks.  devhost_attach() adds a timer (tick_ms) to a main context.  On
 * each tick the host writes its heartbeat and, if the run state is
 * "running", ticks every device inside shm_device_begin_update /
 * end_update, so readers always see whole ticks.  In every other state the
 * devices are frozen.
 *
 * Run states are QEMU's (query-status): prelaunch (-S, never run),
 * running, paused (stop), inmigrate (waiting for an incoming stream),
 * finish-migrate (an outgoing migration is saving and sending: frozen),
 * postmigrate (after a successful outgoing migration).  A listener hears
 * every change (the monitor turns them into STOP and RESUME events).
 *
 * Errors are VMS_ERROR, one line, naming the flag or the device.  Errors
 * that no caller is there to hear (a model freeing heap memory it does not
 * own, a migration that failed in the background, a segment that could not
 * be unlinked) go to the host's error function: the program prints them.
 */
#ifndef VMSCOPE_DEVICES_DEVHOST_H
#define VMSCOPE_DEVICES_DEVHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "devices.h"
#include "vmscope/shm-segment.h"
#include "vmscope/vmstate.h"

/* The largest number of devices one host runs (the segment's directory limit). */
#define DEVHOST_MAX_DEVICES SHM_MAX_DEVICES_LIMIT

typedef enum DevHostRunState {
    DEVHOST_PRELAUNCH,
    DEVHOST_RUNNING,
    DEVHOST_PAUSED,
    DEVHOST_INMIGRATE,
    DEVHOST_FINISH_MIGRATE,
    DEVHOST_POSTMIGRATE,
} DevHostRunState;

/* "prelaunch", "running", ... as QEMU's query-status says them. */
const char *devhost_run_state_name(DevHostRunState state);

typedef struct DevHostDevice {
    const DeviceType *type;
    const VMStateDescription *vmsd;   /* at the running version */
    char *id;                         /* "serial1" */
    uint32_t instance_id;             /* index among the devices of its type */
    size_t index;                     /* in the host's device list */
    ShmDevice *shm;
    void *state;                      /* in the segment */
} DevHostDevice;

typedef struct DevHostConfig {
    const char *name;                 /* host name: the segment is vmscope-<name> */
    const char *shm_dir;              /* NULL: /dev/shm */
    const char *devices;              /* "TYPE[:COUNT],..."; NULL: device_default_list() */
    const char *const *versions;      /* "TYPE=N" strings, NULL-terminated; may be NULL */
    const gid_t *group;               /* the segment's group; NULL: the process's */
} DevHostConfig;

typedef struct DevHost DevHost;

/*
 * Expand a device list into types, one per device, in order.  Errors:
 *   "--devices: unknown device type 'floppy' (known: mc146818rtc, serial, ...)"
 *   "--devices: 'serial:x': COUNT must be a number from 1 to 4096"
 *   "--devices: empty device type in 'serial,,pit'"
 *   "--devices: 5000 devices, at most 4096"
 */
GPtrArray *devhost_parse_devices(const char *list, GError **errp);

/*
 * Parse "TYPE=N": the type and its description at version N.  Errors:
 *   "--device-version: 'serial': expected TYPE=N"
 *   "--device-version: unknown device type 'floppy'"
 *   "--device-version serial=9: device type 'serial' supports versions 2 to 4, not 9"
 */
bool devhost_parse_version(const char *spec, const DeviceType **type,
                           const VMStateDescription **vmsd, GError **errp);

/*
 * The devices a host with this configuration runs, in order, without
 * running them (what `vmscope-devhost --list-devices` prints): records
 * with type, vmsd, id, instance_id and index set; shm and state NULL.
 * config->name is not looked at.  Errors: the devices' and versions' above.
 */
GPtrArray *devhost_plan(const DevHostConfig *config, GError **errp);

/*
 * Create the segment and the devices (initialised, in the segment, not yet
 * ticking).  The run state starts as `initial`.
 */
DevHost *devhost_new(const DevHostConfig *config, DevHostRunState initial, GError **errp);
/* Release the devices' heap data, close and unlink the segment.  NULL is fine. */
void devhost_free(DevHost *h);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DevHost, devhost_free)

/* Tick every tick_ms milliseconds on ctx (NULL: the default context). */
void devhost_attach(DevHost *h, GMainContext *ctx, unsigned tick_ms);
/* One tick now (what the timer does when running). */
void devhost_tick(DevHost *h);
/* Ticks done so far (only running ticks count). */
uint64_t devhost_ticks(const DevHost *h);

DevHostRunState devhost_run_state(const DevHost *h);
/* Change the run state; the listener hears it if it changed. */
void devhost_set_run_state(DevHost *h, DevHostRunState state);
typedef void (*DevHostStateFunc)(DevHostRunState old_state, DevHostRunState new_state,
                                 void *opaque);
void devhost_set_state_listener(DevHost *h, DevHostStateFunc fn, void *opaque);

/* Where errors without a caller go (see above); without a function they are dropped. */
typedef void (*DevHostErrorFunc)(const GError *err, void *opaque);
void devhost_set_error_func(DevHost *h, DevHostErrorFunc fn, void *opaque);
/* Hand err (not consumed) to the error function. */
void devhost_report_error(DevHost *h, const GError *err);

const char *devhost_name(const DevHost *h);
const char *devhost_segment_path(const DevHost *h);
ShmWriter *devhost_writer(const DevHost *h);
/* The region SEGPTR offsets point into: the whole segment. */
VMStateContext devhost_region(const DevHost *h);

size_t devhost_n_devices(const DevHost *h);
DevHostDevice *devhost_device(const DevHost *h, size_t index);
/* The device whose description is called vmsd_name, with this instance id; NULL if none. */
DevHostDevice *devhost_find_device(const DevHost *h, const char *vmsd_name, uint32_t instance_id);

/*
 * Segment pointers of a description: where each SEGPTR field's offset and
 * count sit in the state (fields, subsections and nested structs, in walk
 * order).  Elements that themselves hold segment pointers are refused.
 */
typedef struct DevHostSegPtr {
    size_t offset;            /* of the uint64 segment offset, in the state */
    size_t num_offset;        /* of the element count, in the state */
    const VMStateInfo *num_info;   /* an integer type */
    size_t elem_size;
    size_t max;               /* largest element count */
} DevHostSegPtr;
bool devhost_segptrs(const VMStateDescription *vmsd, GArray *out, GError **errp);
/* The element count of p in state (0 if negative). */
uint64_t devhost_segptr_count(const DevHostSegPtr *p, const void *state);

#endif

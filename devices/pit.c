/*
 * Intel 8254 programmable interval timer: three channels as an array of
 * structs, described as QEMU's "i8254" / "pit channel".  Channel 0 runs in
 * mode 2 (rate generator) and reloads as time passes.
 */
#include "config.h"

#include <inttypes.h>

#include "devices.h"
#include "qidl/qidl.h"
#include "vmscope/error.h"

#define PIT_FREQ 1193182
#define NS_PER_TICK (DEVICE_TICK_MS * 1000000LL)

/* The state, described once (docs/qidl.md): vmstate_PITChannelState, vmstate_PITState. */
QIDL_DECLARE(PITChannelState, q_name("pit channel") q_version(2) q_min_version(2)) {
    int32_t count;
    uint16_t latched_count;
    uint8_t count_latched;
    uint8_t status_latched;
    uint8_t status;
    uint8_t read_state;
    uint8_t write_state;
    uint8_t write_latch;
    uint8_t rw_mode;
    uint8_t mode;
    uint8_t bcd;
    uint8_t gate;
    int64_t count_load_time;
    int64_t next_transition_time;
};

QIDL_DECLARE(PITState, q_name("i8254") q_version(3) q_min_version(2)
             q_post_load(pit_post_load)) {
    uint32_t channels_is_pc q_version(2);
    PITChannelState channels[3] q_version(2);
    uint64_t irq_count q_version(3);
};

/* The tick divides by the period: a loaded count must be one a PIT can hold. */
static bool pit_post_load(void *opaque, int version_id, GError **errp)
{
    PITState *s = opaque;
    for (int i = 0; i < 3; i++) {
        if (s->channels[i].count < 1 || s->channels[i].count > 0x10000) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_RANGE,
                        "i8254.channels[%d].count: %" PRId32 " out of range (1 to 65536)", i,
                        s->channels[i].count);
            return false;
        }
    }
    return true;
}

#ifndef QIDL_GEN
#include "devices/pit.qidl.h"
#endif

static void pit_init(void *opaque, uint32_t instance, DeviceHeap *heap)
{
    PITState *s = opaque;
    s->channels_is_pc = 1;
    for (int i = 0; i < 3; i++) {
        PITChannelState *c = &s->channels[i];
        c->count = 0x10000;
        c->mode = 3;
        c->rw_mode = 3;           /* LSB then MSB */
        c->read_state = 3;
        c->write_state = 3;
        c->gate = i != 2;
    }
    s->channels[0].mode = 2;
    s->channels[0].count = PIT_FREQ / 100;   /* 100 Hz */
}

static void pit_tick(void *opaque, uint64_t tick, DeviceHeap *heap)
{
    PITState *s = opaque;
    PITChannelState *c = &s->channels[0];
    int64_t now = (int64_t)tick * NS_PER_TICK;
    int64_t period_ns = (int64_t)c->count * 1000000000LL / PIT_FREQ;

    /* Every period that passed is one interrupt on IRQ0. */
    s->irq_count += (uint64_t)(NS_PER_TICK / period_ns);
    c->count_load_time = now;
    c->next_transition_time = now + period_ns;
    c->status = (uint8_t)((c->status ^ 0x80) | (c->rw_mode << 4) | (c->mode << 1));
    if (tick % 10 == 0) {                /* the guest latches channel 2 now and then */
        s->channels[2].latched_count = (uint16_t)(0xffff - tick % 0x10000);
        s->channels[2].count_latched = s->channels[2].rw_mode;
    }
}

const DeviceType device_pit = {
    .name = "i8254",
    .short_name = "pit",
    .default_count = 1,
    .vmsd = &vmstate_PITState,
    .state_size = sizeof(PITState),
    .init = pit_init,
    .tick = pit_tick,
};

/*
 * "testdev": a device whose state the agent tests control exactly.  It has
 * one field of each kind the agent must show: scalars (signed, bool, an
 * exact uint64), a buffer, a fixed array, a nested struct with a variable
 * array, a list in the segment reached through a segment-relative pointer,
 * a field newer than version 1, and a subsection.  shm-publisher publishes
 * it; the tests compute offsets and the expected description from here.
 */
#ifndef VMSCOPE_TESTS_TESTDEV_H
#define VMSCOPE_TESTS_TESTDEV_H

#include <stdbool.h>
#include <stdint.h>

#include "vmscope/vmstate.h"

#define TESTDEV_MAX_ITEMS 8

typedef struct TestItem {
    uint32_t id;
    uint32_t pad;
    uint64_t rx_bytes;
} TestItem;

typedef struct TestFifo {
    uint8_t num;
    uint8_t data[8];
} TestFifo;

typedef struct TestDev {
    uint32_t rx_total;
    int16_t temp;
    bool enabled;
    uint8_t mac[6];
    uint16_t regs[4];
    TestFifo fifo;
    uint32_t n_items;
    uint64_t items;            /* segment offset of TestItem[n_items], 0: none */
    uint64_t big;
    uint32_t extra;            /* in the subsection testdev/extra */
} TestDev;

static const VMStateDescription testdev_fifo_vmsd = {
    .name = "testdev/fifo",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8(num, TestFifo),
        VMSTATE_VARRAY_UINT8(data, TestFifo, num, 0, vmstate_info_uint8, uint8_t),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription testdev_item_vmsd = {
    .name = "test-item",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(id, TestItem),
        VMSTATE_UINT64(rx_bytes, TestItem),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription testdev_extra_vmsd = {
    .name = "testdev/extra",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(extra, TestDev),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription testdev_vmsd = {
    .name = "testdev",
    .version_id = 2,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(rx_total, TestDev),
        VMSTATE_INT16(temp, TestDev),
        VMSTATE_BOOL(enabled, TestDev),
        VMSTATE_BUFFER(mac, TestDev),
        VMSTATE_UINT16_ARRAY(regs, TestDev, 4),
        VMSTATE_STRUCT(fifo, TestDev, 0, testdev_fifo_vmsd, TestFifo),
        VMSTATE_UINT32(n_items, TestDev),
        VMSTATE_STRUCT_SEGPTR_UINT32(items, TestDev, n_items, TESTDEV_MAX_ITEMS, 0,
                                     testdev_item_vmsd, TestItem),
        VMSTATE_UINT64_V(big, TestDev, 2),
        VMSTATE_END_OF_LIST()
    },
    .subsections = (const VMStateDescription *const[]) {
        &testdev_extra_vmsd,
        NULL
    },
};

/* The state a fresh testdev has (its items are placed by the publisher). */
static inline void testdev_init(TestDev *s)
{
    static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
    s->rx_total = 0;
    s->temp = -5;
    s->enabled = true;
    for (int i = 0; i < 6; i++) {
        s->mac[i] = mac[i];
    }
    s->regs[0] = 1;
    s->regs[1] = 2;
    s->regs[2] = 3;
    s->regs[3] = 0xffff;
    s->fifo.num = 2;
    s->fifo.data[0] = 0x41;
    s->fifo.data[1] = 0x42;
    s->big = UINT64_MAX;
    s->extra = 7;
}

/* Item k of a fresh list: id k + 1, rx_bytes 100 * (k + 1). */
static inline void testdev_item_init(TestItem *it, uint32_t k)
{
    it->id = k + 1;
    it->pad = 0;
    it->rx_bytes = 100 * (uint64_t)(k + 1);
}

#endif

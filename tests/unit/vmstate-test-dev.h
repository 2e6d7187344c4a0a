/*
 * A test device with one field of every kind, shared by the VMState tests,
 * with its QEMU encoding and its QObject worked out by hand.
 */
#ifndef VMSCOPE_VMSTATE_TEST_DEV_H
#define VMSCOPE_VMSTATE_TEST_DEV_H

#include <string.h>

#include "vmscope/vmstate.h"

typedef struct Regs {
    uint8_t a;
    uint16_t b;
} Regs;

typedef struct Dev {
    bool enabled;
    int8_t i8;
    int16_t i16;
    int32_t i32;
    int64_t i64;
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    uint32_t id;            /* _equal */
    uint8_t mem[4];         /* buffer */
    uint16_t arr[3];        /* fixed array */
    Regs regs;              /* struct */
    Regs banks[2];          /* array of structs */
    uint8_t count;          /* length of fifo */
    uint8_t fifo[8];        /* variable array */
    uint32_t live;          /* length of queues: configuration, not sent */
    Regs queues[4];         /* partial array of structs */
    uint32_t added;         /* since version 3 */
    uint32_t extra;         /* in subsection dev/extra, sent if non-zero */
} Dev;

static const VMStateDescription vmstate_regs = {
    .name = "dev/regs",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8(a, Regs),
        VMSTATE_UINT16(b, Regs),
        VMSTATE_END_OF_LIST()
    },
};

static inline bool dev_extra_needed(void *opaque)
{
    return ((Dev *)opaque)->extra != 0;
}

static const VMStateDescription vmstate_dev_extra = {
    .name = "dev/extra",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = dev_extra_needed,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(extra, Dev),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_dev = {
    .name = "dev",
    .version_id = 3,
    .minimum_version_id = 2,
    .fields = (const VMStateField[]) {
        VMSTATE_BOOL(enabled, Dev),
        VMSTATE_INT8(i8, Dev),
        VMSTATE_INT16(i16, Dev),
        VMSTATE_INT32(i32, Dev),
        VMSTATE_INT64(i64, Dev),
        VMSTATE_UINT8(u8, Dev),
        VMSTATE_UINT16(u16, Dev),
        VMSTATE_UINT32(u32, Dev),
        VMSTATE_UINT64(u64, Dev),
        VMSTATE_UINT32_EQUAL(id, Dev),
        VMSTATE_BUFFER(mem, Dev),
        VMSTATE_UNUSED(2),
        VMSTATE_UINT16_ARRAY(arr, Dev, 3),
        VMSTATE_STRUCT(regs, Dev, 0, vmstate_regs, Regs),
        VMSTATE_STRUCT_ARRAY(banks, Dev, 2, 0, vmstate_regs, Regs),
        VMSTATE_UINT8(count, Dev),
        VMSTATE_VARRAY_UINT8(fifo, Dev, count, 0, vmstate_info_uint8, uint8_t),
        VMSTATE_STRUCT_PARTIAL_ARRAY_UINT32(queues, Dev, live, 0, vmstate_regs, Regs),
        VMSTATE_UINT32_V(added, Dev, 3),
        VMSTATE_END_OF_LIST()
    },
    .subsections = (const VMStateDescription *const[]) {
        &vmstate_dev_extra,
        NULL
    },
};

/* Sample values (padding and unused entries zero, so memcmp works). */
static inline void dev_init(Dev *d)
{
    memset(d, 0, sizeof(*d));
    d->enabled = true;
    d->i8 = -2;
    d->i16 = -300;
    d->i32 = -70000;
    d->i64 = -5;
    d->u8 = 200;
    d->u16 = 0xbeef;
    d->u32 = 0xdeadbeef;
    d->u64 = 0x0102030405060708;
    d->id = 7;
    memcpy(d->mem, "\xaa\xbb\xcc\xdd", 4);
    d->arr[0] = 1;
    d->arr[1] = 0x203;
    d->arr[2] = 0xffff;
    d->regs = (Regs){ 9, 0x1234 };
    d->banks[0] = (Regs){ 1, 2 };
    d->banks[1] = (Regs){ 3, 4 };
    d->count = 3;
    d->fifo[0] = 0x10;
    d->fifo[1] = 0x11;
    d->fifo[2] = 0x12;
    d->live = 2;
    d->queues[0] = (Regs){ 5, 6 };
    d->queues[1] = (Regs){ 7, 8 };
    d->added = 0x11223344;
    d->extra = 0x55;
}

/* A state to load into: what a freshly configured loader has. */
static inline void dev_init_target(Dev *d)
{
    memset(d, 0, sizeof(*d));
    d->id = 7;
    d->live = 2;
}

/* vmstate_dev saved by QEMU's rules, worked out by hand. */
static const uint8_t DEV_BYTES[] = {
    0x01,                                           /*  0 enabled */
    0xfe,                                           /*  1 i8 */
    0xfe, 0xd4,                                     /*  2 i16 */
    0xff, 0xfe, 0xee, 0x90,                         /*  4 i32 */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfb, /*  8 i64 */
    0xc8,                                           /* 16 u8 */
    0xbe, 0xef,                                     /* 17 u16 */
    0xde, 0xad, 0xbe, 0xef,                         /* 19 u32 */
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, /* 23 u64 */
    0x00, 0x00, 0x00, 0x07,                         /* 31 id */
    0xaa, 0xbb, 0xcc, 0xdd,                         /* 35 mem */
    0x00, 0x00,                                     /* 39 unused */
    0x00, 0x01, 0x02, 0x03, 0xff, 0xff,             /* 41 arr */
    0x09, 0x12, 0x34,                               /* 47 regs */
    0x01, 0x00, 0x02, 0x03, 0x00, 0x04,             /* 50 banks */
    0x03,                                           /* 56 count */
    0x10, 0x11, 0x12,                               /* 57 fifo */
    0x05, 0x00, 0x06, 0x07, 0x00, 0x08,             /* 60 queues */
    0x11, 0x22, 0x33, 0x44,                         /* 66 added */
    0x05, 0x09, 'd', 'e', 'v', '/', 'e', 'x', 't', 'r', 'a', /* 70 subsection */
    0x00, 0x00, 0x00, 0x01,                         /* 81 its version */
    0x00, 0x00, 0x00, 0x55,                         /* 85 extra */
};
#define DEV_ADDED_AT 66
#define DEV_SUBSECTION_AT 70

#define DEV_JSON                                                                \
    "{\"enabled\":true,\"i8\":-2,\"i16\":-300,\"i32\":-70000,\"i64\":-5,"       \
    "\"u8\":200,\"u16\":48879,\"u32\":3735928559,\"u64\":72623859790382856,"    \
    "\"id\":7,\"mem\":\"aabbccdd\",\"unused\":\"0000\",\"arr\":[1,515,65535],"  \
    "\"regs\":{\"a\":9,\"b\":4660},\"banks\":[{\"a\":1,\"b\":2},{\"a\":3,\"b\":4}]," \
    "\"count\":3,\"fifo\":[16,17,18],\"queues\":[{\"a\":5,\"b\":6},{\"a\":7,\"b\":8}]," \
    "\"added\":287454020,\"dev/extra\":{\"extra\":85}}"

#endif

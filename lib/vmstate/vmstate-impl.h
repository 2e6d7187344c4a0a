/*
 * Inside the VMState module (lib/vmstate): reading and writing the
 * state.  Only through memcpy, at any alignment: a state may come from
 * shared memory, described by data we did not write.  Not a public header.
 */
#ifndef VMSCOPE_VMSTATE_IMPL_H
#define VMSCOPE_VMSTATE_IMPL_H

#include <stdint.h>
#include <string.h>

static inline uint64_t vmstate_get_uint(const uint8_t *p, unsigned bytes)
{
    switch (bytes) {
    case 1: return p[0];
    case 2: { uint16_t x; memcpy(&x, p, 2); return x; }
    case 4: { uint32_t x; memcpy(&x, p, 4); return x; }
    default: { uint64_t x; memcpy(&x, p, 8); return x; }
    }
}

static inline int64_t vmstate_get_int(const uint8_t *p, unsigned bytes)
{
    switch (bytes) {
    case 1: { int8_t x; memcpy(&x, p, 1); return x; }
    case 2: { int16_t x; memcpy(&x, p, 2); return x; }
    case 4: { int32_t x; memcpy(&x, p, 4); return x; }
    default: { int64_t x; memcpy(&x, p, 8); return x; }
    }
}

static inline void vmstate_put_uint(uint8_t *p, unsigned bytes, uint64_t value)
{
    switch (bytes) {
    case 1: p[0] = (uint8_t)value; break;
    case 2: { uint16_t x = (uint16_t)value; memcpy(p, &x, 2); break; }
    case 4: { uint32_t x = (uint32_t)value; memcpy(p, &x, 4); break; }
    default: memcpy(p, &value, 8); break;
    }
}

#endif

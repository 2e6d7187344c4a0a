/*
 * Local APIC, in the two shapes QEMU has: the emulated "apic" with its
 * registers as fields, and the in-kernel "kvm-apic" whose state is the raw
 * KVM_GET_LAPIC register page.  The same machine state, two descriptions:
 * the case tree filters (kvm-apic -> apic) exist for.
 *
 * Behaviour: the timer counts down in one-shot mode and re-arms; interrupts
 * come and go in IRR/ISR.
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "devices.h"
#include "vmscope/error.h"

#define APIC_LVT_NB 6
#define APIC_DEFAULT_BASE 0xfee00900u   /* enabled, BSP */

typedef struct APICCommonState {
    uint32_t apicbase;
    uint8_t id;
    uint8_t arb_id;
    uint8_t tpr;
    uint32_t spurious_vec;
    uint8_t log_dest;
    uint8_t dest_mode;
    uint32_t isr[8];
    uint32_t tmr[8];
    uint32_t irr[8];
    uint32_t lvt[APIC_LVT_NB];
    uint32_t esr;
    uint32_t icr[2];
    uint32_t divide_conf;
    int32_t count_shift;
    uint32_t initial_count;
    int64_t initial_count_load_time;
    int64_t next_time;
    int64_t timer_expiry;
    uint32_t sipi_vector;
    int32_t wait_for_sipi;
} APICCommonState;

static bool apic_sipi_needed(void *opaque)
{
    APICCommonState *s = opaque;
    return s->wait_for_sipi != 0;
}

static const VMStateField apic_sipi_fields[] = {
    VMSTATE_UINT32(sipi_vector, APICCommonState),
    VMSTATE_INT32(wait_for_sipi, APICCommonState),
    VMSTATE_END_OF_LIST()
};

static const VMStateDescription vmstate_apic_sipi = {
    .name = "apic/sipi",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = apic_sipi_needed,
    .fields = apic_sipi_fields,
};

static const VMStateField apic_fields[] = {
    VMSTATE_UINT32(apicbase, APICCommonState),
    VMSTATE_UINT8(id, APICCommonState),
    VMSTATE_UINT8(arb_id, APICCommonState),
    VMSTATE_UINT8(tpr, APICCommonState),
    VMSTATE_UINT32(spurious_vec, APICCommonState),
    VMSTATE_UINT8(log_dest, APICCommonState),
    VMSTATE_UINT8(dest_mode, APICCommonState),
    VMSTATE_UINT32_ARRAY(isr, APICCommonState, 8),
    VMSTATE_UINT32_ARRAY(tmr, APICCommonState, 8),
    VMSTATE_UINT32_ARRAY(irr, APICCommonState, 8),
    VMSTATE_UINT32_ARRAY(lvt, APICCommonState, APIC_LVT_NB),
    VMSTATE_UINT32(esr, APICCommonState),
    VMSTATE_UINT32_ARRAY(icr, APICCommonState, 2),
    VMSTATE_UINT32(divide_conf, APICCommonState),
    VMSTATE_INT32(count_shift, APICCommonState),
    VMSTATE_UINT32(initial_count, APICCommonState),
    VMSTATE_INT64(initial_count_load_time, APICCommonState),
    VMSTATE_INT64(next_time, APICCommonState),
    VMSTATE_INT64(timer_expiry, APICCommonState),
    VMSTATE_END_OF_LIST()
};

static const VMStateDescription *const apic_subsections[] = {
    &vmstate_apic_sipi,
    NULL
};

/* The tick shifts the initial count by count_shift (the divider: 0 to 7). */
static bool apic_post_load(void *opaque, int version_id, GError **errp)
{
    APICCommonState *s = opaque;
    if (s->count_shift < 0 || s->count_shift > 7) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_RANGE,
                    "apic.count_shift: %" PRId32 " out of range (0 to 7)", s->count_shift);
        return false;
    }
    return true;
}

static const VMStateDescription vmstate_apic = {
    .name = "apic",
    .version_id = 3,
    .minimum_version_id = 3,
    .fields = apic_fields,
    .subsections = apic_subsections,
    .post_load = apic_post_load,
};

static void apic_init(void *opaque, uint32_t instance, DeviceHeap *heap)
{
    APICCommonState *s = opaque;
    s->apicbase = instance == 0 ? APIC_DEFAULT_BASE : APIC_DEFAULT_BASE & ~0x100u;
    s->id = (uint8_t)instance;
    s->arb_id = (uint8_t)instance;
    s->spurious_vec = 0x1ff;
    s->log_dest = (uint8_t)(1u << (instance % 8));
    s->dest_mode = 0xf;
    for (int i = 0; i < APIC_LVT_NB; i++) {
        s->lvt[i] = 1u << 16;                 /* masked */
    }
    s->lvt[0] = 0x000000ec;                   /* timer, vector 0xec, one-shot */
    s->divide_conf = 0x3;
    s->count_shift = 4;
    s->wait_for_sipi = instance != 0;
}

static void apic_tick(void *opaque, uint64_t tick, DeviceHeap *heap)
{
    APICCommonState *s = opaque;
    int64_t now = (int64_t)tick * DEVICE_TICK_MS * 1000000LL;
    unsigned vec = 0x30 + (unsigned)(tick % 16);

    s->initial_count = 0x200000u >> (tick % 4);
    s->initial_count_load_time = now;
    s->next_time = now + ((int64_t)s->initial_count << s->count_shift);
    s->timer_expiry = s->next_time;
    memset(s->irr, 0, sizeof(s->irr));
    memset(s->isr, 0, sizeof(s->isr));
    s->irr[vec / 32] |= 1u << (vec % 32);
    if (tick % 2) {
        s->isr[0xec / 32] |= 1u << (0xec % 32);
    }
    s->tpr = (uint8_t)((tick % 3) << 4);
    if (s->wait_for_sipi && tick > 20) {      /* the AP gets started */
        s->sipi_vector = 0x9a;
        s->wait_for_sipi = 0;
    }
}

const DeviceType device_apic = {
    .name = "apic",
    .short_name = "apic",
    .default_count = 1,
    .vmsd = &vmstate_apic,
    .state_size = sizeof(APICCommonState),
    .init = apic_init,
    .tick = apic_tick,
};

/* ---- kvm-apic: the register page as KVM hands it out ---- */

enum { LAPIC_ID = 0x20, LAPIC_TPR = 0x80, LAPIC_SPIV = 0xf0, LAPIC_ISR = 0x100,
       LAPIC_TMR = 0x180, LAPIC_IRR = 0x200, LAPIC_LVTT = 0x320, LAPIC_TMICT = 0x380,
       LAPIC_TMCCT = 0x390, LAPIC_TDCR = 0x3e0 };

typedef struct KVMAPICState {
    uint64_t apicbase;
    uint8_t regs[1024];
    uint64_t tsc_deadline;
} KVMAPICState;

static const VMStateField kvm_apic_fields[] = {
    VMSTATE_UINT64(apicbase, KVMAPICState),
    VMSTATE_BUFFER(regs, KVMAPICState),
    VMSTATE_UINT64(tsc_deadline, KVMAPICState),
    VMSTATE_END_OF_LIST()
};

static const VMStateDescription vmstate_kvm_apic = {
    .name = "kvm-apic",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = kvm_apic_fields,
};

static void reg_put(KVMAPICState *s, unsigned off, uint32_t v)
{
    memcpy(&s->regs[off], &v, sizeof(v));     /* little-endian, as on x86 */
}

static void kvm_apic_init(void *opaque, uint32_t instance, DeviceHeap *heap)
{
    KVMAPICState *s = opaque;
    s->apicbase = instance == 0 ? APIC_DEFAULT_BASE : APIC_DEFAULT_BASE & ~0x100u;
    reg_put(s, LAPIC_ID, instance << 24);
    reg_put(s, LAPIC_SPIV, 0x1ff);
    reg_put(s, LAPIC_LVTT, 0x000000ec);
    reg_put(s, LAPIC_TDCR, 0x3);
}

static void kvm_apic_tick(void *opaque, uint64_t tick, DeviceHeap *heap)
{
    KVMAPICState *s = opaque;
    uint32_t initial = 0x200000u >> (tick % 4);
    unsigned vec = 0x30 + (unsigned)(tick % 16);

    reg_put(s, LAPIC_TMICT, initial);
    reg_put(s, LAPIC_TMCCT, initial - (uint32_t)(tick * 977 % initial));
    reg_put(s, LAPIC_TPR, (uint32_t)((tick % 3) << 4));
    for (unsigned i = 0; i < 8; i++) {
        reg_put(s, LAPIC_IRR + 16 * i, i == vec / 32 ? 1u << (vec % 32) : 0);
    }
    s->tsc_deadline = tick * 2400000ULL;
}

const DeviceType device_kvm_apic = {
    .name = "kvm-apic",
    .short_name = "kvm-apic",
    .default_count = 1,
    .vmsd = &vmstate_kvm_apic,
    .state_size = sizeof(KVMAPICState),
    .init = kvm_apic_init,
    .tick = kvm_apic_tick,
};

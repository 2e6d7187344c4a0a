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
#include "qidl/qidl.h"
#include "vmscope/error.h"

#define APIC_LVT_NB 6
#define APIC_DEFAULT_BASE 0xfee00900u   /* enabled, BSP */

/*
 * The state, described once (docs/qidl.md): vmstate_APICCommonState.  The
 * SIPI state is a subsection (apic/sipi) sent while has_sipi is set.
 */
QIDL_DECLARE(APICCommonState, q_name("apic") q_version(3) q_min_version(3)
             q_post_load(apic_post_load)) {
    uint32_t apicbase;
    uint8_t id;
    uint8_t arb_id;
    uint8_t tpr;
    uint32_t spurious_vec;
    uint8_t log_dest;
    uint8_t dest_mode;
    bool has_sipi;                /* in the padding: the state keeps its size */
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
    struct {
        uint32_t sipi_vector;
        int32_t wait_for_sipi;
    } sipi q_optional;
};

/* kvm-apic: the register page as KVM hands it out. */
QIDL_DECLARE(KVMAPICState, q_name("kvm-apic")) {
    uint64_t apicbase;
    uint8_t regs[1024];
    uint64_t tsc_deadline;
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

#ifndef QIDL_GEN
#include "devices/apic.qidl.h"
#endif

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
    s->sipi.wait_for_sipi = instance != 0;
    s->has_sipi = s->sipi.wait_for_sipi != 0;
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
    if (s->sipi.wait_for_sipi && tick > 20) {      /* the AP gets started */
        s->sipi.sipi_vector = 0x9a;
        s->sipi.wait_for_sipi = 0;
    }
    s->has_sipi = s->sipi.wait_for_sipi != 0;
}

const DeviceType device_apic = {
    .name = "apic",
    .short_name = "apic",
    .default_count = 1,
    .vmsd = &vmstate_APICCommonState,
    .state_size = sizeof(APICCommonState),
    .init = apic_init,
    .tick = apic_tick,
};

/* ---- kvm-apic: the register page as KVM hands it out ---- */

enum { LAPIC_ID = 0x20, LAPIC_TPR = 0x80, LAPIC_SPIV = 0xf0, LAPIC_ISR = 0x100,
       LAPIC_TMR = 0x180, LAPIC_IRR = 0x200, LAPIC_LVTT = 0x320, LAPIC_TMICT = 0x380,
       LAPIC_TMCCT = 0x390, LAPIC_TDCR = 0x3e0 };

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
    .vmsd = &vmstate_KVMAPICState,
    .state_size = sizeof(KVMAPICState),
    .init = kvm_apic_init,
    .tick = kvm_apic_tick,
};

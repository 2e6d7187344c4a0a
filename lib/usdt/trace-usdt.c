/*
 * vmscope's USDT probes: every probe site, the semaphores, and the
 * per-thread state behind them.  See include/vmscope/trace-usdt.h.
 *
 * The per-thread state is what the engine needs to name the section in
 * every probe (the outermost description being walked) and, while a tracer
 * listens to section__*__done, the section's counts, so that the done probe
 * carries exact totals without a probe hit per call.
 */
#include "config.h"

#include "vmscope/trace-usdt.h"

#if VMS_USDT

#include <string.h>
#include <time.h>

/* Semaphores: sdt.h puts their addresses in the probe notes. */
#define _SDT_HAS_SEMAPHORES 1
/* Arguments in registers or constants only: libbpf cannot read a
 * RIP-relative memory operand ("8@foo+8(%rip)"). */
#define STAP_SDT_ARG_CONSTRAINT nr
#include <sys/sdt.h>

#define SEMAPHORE(name) \
    volatile unsigned short vmscope_##name##_semaphore __attribute__((section(".probes"), used))

SEMAPHORE(vmsd__save__start);
SEMAPHORE(vmsd__save__done);
SEMAPHORE(vmsd__load__start);
SEMAPHORE(vmsd__load__done);
SEMAPHORE(section__save__start);
SEMAPHORE(section__save__done);
SEMAPHORE(section__load__start);
SEMAPHORE(section__load__done);
SEMAPHORE(put);
SEMAPHORE(get);
SEMAPHORE(visit);

#define ENABLED(name) __builtin_expect(vmscope_##name##_semaphore != 0, 0)

typedef struct UsdtThread {
    unsigned depth;                         /* descriptions open on this thread */
    const char *section;                    /* the outermost one's name */
    uint64_t start_ns;                      /* when it began (while counting) */
    uint64_t counts[1 + VMS_USDT_N_FUNCS];  /* [0] bytes, [1 + fn] calls */
} UsdtThread;

__thread bool vms_usdt_counting;
__thread unsigned vms_usdt_quiet;
static __thread UsdtThread thread;

static void count(VmsUsdtFn fn, uint64_t bytes)
{
    if (vms_usdt_counting) {
        thread.counts[0] += bytes;
        thread.counts[1 + fn]++;
    }
}

void vms_usdt_put_hit(VmsUsdtFn fn, uint64_t bytes)
{
    count(fn, bytes);
    if (ENABLED(put)) {
        STAP_PROBE3(vmscope, put, (unsigned)fn, vms_usdt_func_names[fn], bytes);
    }
}

void vms_usdt_get_hit(VmsUsdtFn fn, uint64_t bytes)
{
    count(fn, bytes);
    if (ENABLED(get)) {
        STAP_PROBE3(vmscope, get, (unsigned)fn, vms_usdt_func_names[fn], bytes);
    }
}

void vms_usdt_visit_hit(VmsUsdtFn fn, const char *name)
{
    count(fn, 0);
    if (ENABLED(visit)) {
        STAP_PROBE3(vmscope, visit, (unsigned)fn, vms_usdt_func_names[fn], name);
    }
}

static uint64_t monotonic_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void section_start(bool load, const char *section)
{
    UsdtThread *t = &thread;

    t->section = section;
    vms_usdt_counting = load ? ENABLED(section__load__done) : ENABLED(section__save__done);
    if (vms_usdt_counting) {
        memset(t->counts, 0, sizeof(t->counts));
        t->start_ns = monotonic_ns();
    }
    if (load && ENABLED(section__load__start)) {
        STAP_PROBE1(vmscope, section__load__start, section);
    } else if (!load && ENABLED(section__save__start)) {
        STAP_PROBE1(vmscope, section__save__start, section);
    }
}

static void section_done(bool load, bool ok)
{
    UsdtThread *t = &thread;
    const uint64_t *counts = vms_usdt_counting ? t->counts : NULL;
    uint64_t bytes = counts ? counts[0] : 0;

    if (load && ENABLED(section__load__done)) {
        STAP_PROBE6(vmscope, section__load__done, t->section, bytes, counts,
                    (unsigned)VMS_USDT_N_FUNCS, t->start_ns, (int)ok);
    } else if (!load && ENABLED(section__save__done)) {
        STAP_PROBE6(vmscope, section__save__done, t->section, bytes, counts,
                    (unsigned)VMS_USDT_N_FUNCS, t->start_ns, (int)ok);
    }
    vms_usdt_counting = false;
    t->section = NULL;
}

void vms_usdt_vmsd_start(bool load, const char *vmsd)
{
    UsdtThread *t = &thread;
    if (vms_usdt_quiet) {
        return;
    }
    unsigned depth = t->depth++;

    if (depth == 0) {
        section_start(load, vmsd);
    }
    count(load ? VMS_USDT_VMSTATE_LOAD_STATE : VMS_USDT_VMSTATE_SAVE_STATE, 0);
    if (load && ENABLED(vmsd__load__start)) {
        STAP_PROBE3(vmscope, vmsd__load__start, t->section, vmsd, depth);
    } else if (!load && ENABLED(vmsd__save__start)) {
        STAP_PROBE3(vmscope, vmsd__save__start, t->section, vmsd, depth);
    }
}

void vms_usdt_vmsd_done(bool load, const char *vmsd, bool ok)
{
    UsdtThread *t = &thread;
    unsigned depth = t->depth - 1;

    if (vms_usdt_quiet) {
        return;
    }
    if (t->depth == 0) {
        return;     /* unbalanced: never happens with the engine's pairing */
    }
    if (load && ENABLED(vmsd__load__done)) {
        STAP_PROBE4(vmscope, vmsd__load__done, t->section, vmsd, depth, (int)ok);
    } else if (!load && ENABLED(vmsd__save__done)) {
        STAP_PROBE4(vmscope, vmsd__save__done, t->section, vmsd, depth, (int)ok);
    }
    if (depth == 0) {
        section_done(load, ok);
    }
    t->depth = depth;
}

#endif

/*
 * trace-usdt: static probes (USDT, <sys/sdt.h>) in vmscope's VMState
 * engine, visitor core and QEMUFile visitors, under the provider "vmscope".
 * vmscope-trace (probes/, docs/tracing.md) uses them to give the same maps
 * for vmscope's binaries as for QEMU; bpftrace, perf and SystemTap can use
 * them too:  bpftrace -e 'usdt:./vmscope-devhost:vmscope:put { @[str(arg1)] = count(); }'
 *
 * Probes and their arguments:
 *
 *   vmsd__save__start, vmsd__load__start   (section, vmsd, depth)
 *   vmsd__save__done, vmsd__load__done     (section, vmsd, depth, ok)
 *       every VMStateDescription the engine walks: `vmsd` is its name,
 *       `section` the name of the outermost one on this thread and `depth`
 *       how far below it this one is (0: it is the section).  They fire once
 *       the description's struct is open (visit_start_struct has returned)
 *       and before it is closed (visit_end_struct): opening and closing a
 *       description, a subsection's header among them, is its parent's work,
 *       as in QEMU, whose parent writes a subsection's header before calling
 *       vmstate_save_state.
 *   section__save__start, section__load__start   (section)
 *   section__save__done, section__load__done     (section, bytes, counts, n, start_ns, ok)
 *       the outermost description only.  While a section__*__done probe is
 *       attached when a section begins, the thread counts what the section
 *       does, and the done probe hands it over: `bytes` put or got,
 *       `counts` a uint64_t array of n + 1 entries, counts[0] = bytes and
 *       counts[1 + fn] the calls of each VmsUsdtFn, and `start_ns` the
 *       CLOCK_MONOTONIC time the section began.  `counts` is NULL (and
 *       bytes 0) for a section that began before the probe was attached.
 *       One probe hit per section thus gives exact per-section totals.
 *   put, get      (fn, func, bytes)
 *       a QEMUFile visitor wrote or read `bytes` bytes of the stream, doing
 *       what QEMU's function `func` (VmsUsdtFn `fn`) does: a be32 write is
 *       qemu_put_be32, a buffer qemu_put_buffer, a subsection header the
 *       calls QEMU makes for it.
 *   visit         (fn, func, name)
 *       the visitor core was asked to visit_start_struct, visit_end_struct,
 *       visit_start_list, visit_end_list or visit_type_<kind> member `name`
 *       (NULL for list elements).
 *
 * Quiet walks: between vms_usdt_quiet_begin() and vms_usdt_quiet_end()
 * (per thread, nestable) no probe fires and nothing is counted.  Walks
 * that only read a stream to show or check it (qemu-stream decoding a
 * section with the description learned from its vmdesc, the stream
 * builder checking its own output) run quiet: the maps are about state
 * being saved and loaded, as QEMU's are, and QEMU never decodes its own
 * streams.
 *
 * Cost: a probe site is a nop.  Each probe has a semaphore that the kernel
 * raises while an uprobe sits on it, and arguments are only computed, and
 * probes only reached, while it is raised; per-call probes cost one
 * thread-local and one global flag test when nobody traces.  All probe
 * sites are in trace-usdt.c, one per probe.
 *
 * Built without <sys/sdt.h> (or with -DVMS_USDT=0), every call below does
 * nothing and the binary has no probes; vms_usdt_func_names stays.
 */
#ifndef VMSCOPE_TRACE_USDT_H
#define VMSCOPE_TRACE_USDT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef VMS_USDT
# if defined(__has_include)
#  if __has_include(<sys/sdt.h>)
#   define VMS_USDT 1
#  endif
# endif
#endif
#ifndef VMS_USDT
# define VMS_USDT 0
#endif

/* What a probe hit does, named after the QEMU function that does the same. */
typedef enum VmsUsdtFn {
    VMS_USDT_QEMU_PUT_BYTE, VMS_USDT_QEMU_PUT_BE16, VMS_USDT_QEMU_PUT_BE32,
    VMS_USDT_QEMU_PUT_BE64, VMS_USDT_QEMU_PUT_BUFFER, VMS_USDT_QEMU_PUT_COUNTED_STRING,
    VMS_USDT_QEMU_GET_BYTE, VMS_USDT_QEMU_GET_BE16, VMS_USDT_QEMU_GET_BE32,
    VMS_USDT_QEMU_GET_BE64, VMS_USDT_QEMU_GET_BUFFER, VMS_USDT_QEMU_GET_COUNTED_STRING,
    VMS_USDT_QEMU_FILE_SKIP,
    VMS_USDT_VMSTATE_SAVE_STATE, VMS_USDT_VMSTATE_LOAD_STATE,
    VMS_USDT_VISIT_START_STRUCT, VMS_USDT_VISIT_END_STRUCT,
    VMS_USDT_VISIT_START_LIST, VMS_USDT_VISIT_END_LIST,
    VMS_USDT_VISIT_TYPE_BOOL,
    /* in VisitIntKind order */
    VMS_USDT_VISIT_TYPE_INT8, VMS_USDT_VISIT_TYPE_INT16, VMS_USDT_VISIT_TYPE_INT32,
    VMS_USDT_VISIT_TYPE_INT64, VMS_USDT_VISIT_TYPE_UINT8, VMS_USDT_VISIT_TYPE_UINT16,
    VMS_USDT_VISIT_TYPE_UINT32, VMS_USDT_VISIT_TYPE_UINT64,
    VMS_USDT_VISIT_TYPE_STR, VMS_USDT_VISIT_TYPE_NUMBER, VMS_USDT_VISIT_TYPE_BUFFER,
    VMS_USDT_N_FUNCS
} VmsUsdtFn;

/* "qemu_put_byte", ... "visit_type_buffer", indexed by VmsUsdtFn. */
extern const char *const vms_usdt_func_names[VMS_USDT_N_FUNCS];

#if VMS_USDT

/* The semaphores (sdt.h's names for them), in the .probes section. */
extern volatile unsigned short vmscope_put_semaphore, vmscope_get_semaphore,
    vmscope_visit_semaphore;

/* Is this thread counting for a section__*__done probe?  (trace-usdt.c) */
extern __thread bool vms_usdt_counting;
/* How many quiet walks this thread is in (see "Quiet walks" above). */
extern __thread unsigned vms_usdt_quiet;

static inline void vms_usdt_quiet_begin(void) { vms_usdt_quiet++; }
static inline void vms_usdt_quiet_end(void) { vms_usdt_quiet--; }

void vms_usdt_put_hit(VmsUsdtFn fn, uint64_t bytes);
void vms_usdt_get_hit(VmsUsdtFn fn, uint64_t bytes);
void vms_usdt_visit_hit(VmsUsdtFn fn, const char *name);
void vms_usdt_vmsd_start(bool load, const char *vmsd);
void vms_usdt_vmsd_done(bool load, const char *vmsd, bool ok);

#define VMS_USDT_WANTED(sem) __builtin_expect((vms_usdt_counting | (sem)) && !vms_usdt_quiet, 0)

static inline void vms_usdt_put(VmsUsdtFn fn, uint64_t bytes)
{
    if (VMS_USDT_WANTED(vmscope_put_semaphore)) {
        vms_usdt_put_hit(fn, bytes);
    }
}

static inline void vms_usdt_get(VmsUsdtFn fn, uint64_t bytes)
{
    if (VMS_USDT_WANTED(vmscope_get_semaphore)) {
        vms_usdt_get_hit(fn, bytes);
    }
}

static inline void vms_usdt_visit(VmsUsdtFn fn, const char *name)
{
    if (VMS_USDT_WANTED(vmscope_visit_semaphore)) {
        vms_usdt_visit_hit(fn, name);
    }
}

#else

static inline void vms_usdt_put(VmsUsdtFn fn, uint64_t bytes) { }
static inline void vms_usdt_get(VmsUsdtFn fn, uint64_t bytes) { }
static inline void vms_usdt_visit(VmsUsdtFn fn, const char *name) { }
static inline void vms_usdt_vmsd_start(bool load, const char *vmsd) { }
static inline void vms_usdt_vmsd_done(bool load, const char *vmsd, bool ok) { }
static inline void vms_usdt_quiet_begin(void) { }
static inline void vms_usdt_quiet_end(void) { }

#endif

/* An integer of `bytes` bytes (1, 2, 4, 8): qemu_put_byte .. qemu_put_be64. */
static inline void vms_usdt_put_be(unsigned bytes)
{
    vms_usdt_put(bytes == 1 ? VMS_USDT_QEMU_PUT_BYTE : bytes == 2 ? VMS_USDT_QEMU_PUT_BE16 :
                 bytes == 4 ? VMS_USDT_QEMU_PUT_BE32 : VMS_USDT_QEMU_PUT_BE64, bytes);
}

static inline void vms_usdt_get_be(unsigned bytes)
{
    vms_usdt_get(bytes == 1 ? VMS_USDT_QEMU_GET_BYTE : bytes == 2 ? VMS_USDT_QEMU_GET_BE16 :
                 bytes == 4 ? VMS_USDT_QEMU_GET_BE32 : VMS_USDT_QEMU_GET_BE64, bytes);
}

/*
 * A subsection header (marker, name length, name of `len` bytes, be32
 * version), as QEMU writes it (vmstate_subsection_save: put_byte, put_byte,
 * put_buffer, put_be32) and reads it (vmstate_subsection_load: three
 * qemu_file_skip, then get_be32).
 */
static inline void vms_usdt_put_subsection_header(size_t len)
{
    vms_usdt_put(VMS_USDT_QEMU_PUT_BYTE, 1);
    vms_usdt_put(VMS_USDT_QEMU_PUT_BYTE, 1);
    vms_usdt_put(VMS_USDT_QEMU_PUT_BUFFER, len);
    vms_usdt_put(VMS_USDT_QEMU_PUT_BE32, 4);
}

static inline void vms_usdt_get_subsection_header(size_t len)
{
    vms_usdt_get(VMS_USDT_QEMU_FILE_SKIP, 1);
    vms_usdt_get(VMS_USDT_QEMU_FILE_SKIP, 1);
    vms_usdt_get(VMS_USDT_QEMU_FILE_SKIP, len);
    vms_usdt_get(VMS_USDT_QEMU_GET_BE32, 4);
}

#endif

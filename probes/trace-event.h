/*
 * What vmscope-trace's BPF program (vmscope-trace.bpf.c) and its loader
 * (vmscope-trace.c) share: the attach cookie, the ring-buffer event, the keys
 * of the summary maps and the statistics counters.  Included by both sides,
 * so it uses only the __u8..__u64 types (vmlinux.h on the BPF side,
 * <linux/types.h> in user space).
 *
 * Every uprobe carries a 64-bit cookie that tells the BPF program what the
 * probed function is:
 *
 *   bits  0..15  index of the attach point in the loader's table (the name
 *                of the function is only known in user space)
 *   bits 16..23  kind: put, get, save, load, visit
 *   bits 24..31  how the bytes of a put/get are counted: fixed, from an
 *                argument, from the return value, from a C string argument
 *   bits 32..39  the fixed byte count, or the 1-based argument number (the
 *                size argument of a buffer function, the string of a counted
 *                string, the VMStateDescription of a vmstate function)
 *
 * Attribution: while a thread runs vmstate_save_state/vmstate_load_state, its
 * put/get/visit calls belong to the section being saved or loaded (the name
 * of the OUTERMOST VMStateDescription on that thread's stack of vmstate calls)
 * and to the innermost one.  Outside any vmstate call they belong to
 * VTRACE_NO_SECTION.  Bytes are counted only at the outermost put/get call of
 * a thread, because QEMU's put/get functions call each other (be64 -> be32,
 * get_be32 -> get_byte) and whether they do depends on inlining.
 */
#ifndef VMSCOPE_TRACE_EVENT_H
#define VMSCOPE_TRACE_EVENT_H

/* Room for a section/VMStateDescription name, NUL included: names are cut
 * after 63 characters (QEMU's are far shorter). */
#define VTRACE_NAME_LEN 64
#define VTRACE_NO_SECTION "(none)"

#define VTRACE_MAX_FUNCS 8192     /* attach points (QEMU 7.2 has ~1400) */
#define VTRACE_MAX_DEPTH 32       /* nested vmstate calls remembered per thread */
#define VTRACE_MAX_THREADS 4096   /* threads inside a put/get/vmstate call at once */
#define VTRACE_MAX_KEYS 65536     /* entries of each (name, function) map */
#define VTRACE_MAX_PIDS 64        /* -p PID ... */
#define VTRACE_QF_MAX_IOV 64      /* QEMU summary mode: QEMUFile iov[] entries read (7.2 has 64) */
#define VTRACE_HIST_SLOTS 66      /* bpftrace's log2 buckets: <0, 0, 1, [2^k, 2^k+1) */

enum vtrace_kind {
    VTRACE_KIND_PUT = 1,    /* writes bytes to the migration stream */
    VTRACE_KIND_GET = 2,    /* consumes bytes from the migration stream */
    VTRACE_KIND_SAVE = 3,   /* vmstate_save_state*: a VMStateDescription is saved */
    VTRACE_KIND_LOAD = 4,   /* vmstate_load_state: a VMStateDescription is loaded */
    VTRACE_KIND_VISIT = 5,  /* visit_*: counted and attributed, no bytes */
};

enum vtrace_bytes {
    VTRACE_BYTES_NONE = 0,
    VTRACE_BYTES_FIXED = 1, /* n bytes per call (byte=1, be16=2, ...) */
    VTRACE_BYTES_ARG = 2,   /* the value of argument n (qemu_put_buffer's size) */
    VTRACE_BYTES_RET = 3,   /* the return value (qemu_get_buffer's count) */
    VTRACE_BYTES_CSTR = 4,  /* 1 + strlen(argument n) (qemu_put_counted_string) */
    VTRACE_BYTES_ARG32 = 5, /* the low 32 bits of argument n (an int size) */
};

#define VTRACE_COOKIE(func, kind, bytes, n) \
    ((__u64)(func) | (__u64)(kind) << 16 | (__u64)(bytes) << 24 | (__u64)(n) << 32)
#define VTRACE_COOKIE_FUNC(c) ((__u32)((c) & 0xffff))
#define VTRACE_COOKIE_KIND(c) ((__u32)(((c) >> 16) & 0xff))
#define VTRACE_COOKIE_BYTES(c) ((__u32)(((c) >> 24) & 0xff))
#define VTRACE_COOKIE_N(c) ((__u32)(((c) >> 32) & 0xff))

/*
 * vmscope's own binaries carry USDT probes (lib/include/vmscope/trace-usdt.h)
 * instead: the function a probe hit stands for is its `fn` argument (an
 * index into the loader's table, which lists vmscope's VmsUsdtFn names in
 * order), and the cookie of each USDT attachment (bpf_usdt_cookie) says
 * which probe it is:
 *
 *   bits  0..7   enum vtrace_usdt_probe
 *   bits  8..15  kind: put, get, save, load, visit
 *   bits 16..31  for the vmsd probes, the index of vmstate_save_state or
 *                vmstate_load_state in the loader's table
 */
enum vtrace_usdt_probe {
    VTRACE_USDT_VMSD_START = 1,    /* (section, vmsd, depth) */
    VTRACE_USDT_VMSD_DONE = 2,     /* (section, vmsd, depth, ok) */
    VTRACE_USDT_SECTION_DONE = 3,  /* (section, bytes, counts, n, start_ns, ok): summary */
    VTRACE_USDT_IO = 4,            /* put, get: (fn, func, bytes) */
    VTRACE_USDT_VISIT = 5,         /* (fn, func, name) */
};

#define VTRACE_USDT_COOKIE(probe, kind, func) \
    ((__u64)(probe) | (__u64)(kind) << 8 | (__u64)(func) << 16)
#define VTRACE_USDT_COOKIE_PROBE(c) ((__u32)((c) & 0xff))
#define VTRACE_USDT_COOKIE_KIND(c) ((__u32)(((c) >> 8) & 0xff))
#define VTRACE_USDT_COOKIE_FUNC(c) ((__u32)(((c) >> 16) & 0xffff))

/* Functions a section__*__done probe's counts array may cover (more are
 * ignored; vmscope has 31). */
#define VTRACE_USDT_MAX_FUNCS 63

enum vtrace_phase {
    VTRACE_PHASE_CALL = 0,    /* one event per put/get/visit call */
    VTRACE_PHASE_ENTRY = 1,   /* a vmstate call begins */
    VTRACE_PHASE_RETURN = 2,  /* a vmstate call ends (duration in `value`) */
};

/* One ring-buffer record (--events).  Put/get functions whose byte count is
 * their return value are reported when they return, all others on entry. */
struct vtrace_event {
    __u64 time_ns;          /* bpf_ktime_get_ns(), CLOCK_MONOTONIC */
    __u64 value;            /* bytes counted; for PHASE_RETURN the duration in ns */
    __u32 pid;
    __u32 tid;
    __u32 func;             /* attach point index */
    __u8 kind;              /* enum vtrace_kind */
    __u8 phase;             /* enum vtrace_phase */
    __u8 nested;            /* put/get inside another put/get: bytes not counted */
    __u8 pad;
    __u32 depth;            /* vmstate nesting depth (1 = the section itself) */
    __u32 pad2;
    char section[VTRACE_NAME_LEN];   /* outermost VMStateDescription, or "(none)" */
    char vmsd[VTRACE_NAME_LEN];      /* innermost VMStateDescription, or "(none)" */
};

struct vtrace_name_key {
    char name[VTRACE_NAME_LEN];
};

struct vtrace_name_func_key {
    char name[VTRACE_NAME_LEN];
    __u32 func;
    __u32 pad;
};

struct vtrace_hist_key {
    char name[VTRACE_NAME_LEN];
    __u32 slot;
    __u32 pad;
};

/* Counters in the `stats` array: nothing is lost silently. */
enum vtrace_stat {
    VTRACE_STAT_DROPPED_EVENTS = 0,  /* ring buffer full */
    VTRACE_STAT_MAP_FULL = 1,        /* a summary map had no room for a key */
    VTRACE_STAT_THREADS_FULL = 2,    /* more threads at once than VTRACE_MAX_THREADS */
    VTRACE_STAT_DEPTH_OVERFLOW = 3,  /* vmstate nesting deeper than VTRACE_MAX_DEPTH */
    VTRACE_STAT_READ_ERRORS = 4,     /* a name or string could not be read */
    VTRACE_STAT_MAX = 5,
};

#endif

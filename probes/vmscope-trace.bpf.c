/*
 * vmscope-trace's BPF side: one program for every function entry and one
 * for every function return, told apart by the attach cookie (see
 * trace-event.h for its layout and for the attribution rules).
 *
 * Per thread we keep how deep we are in put/get calls (bytes are counted at
 * depth 0 only) and a stack of the VMStateDescriptions being saved or loaded
 * (the bottom one names the section, the top one is the innermost vmsd).
 * The first member of a VMStateDescription is `const char *name`, so a
 * vmstate call's name is one pointer read away from its vmsd argument.
 *
 * Entry and return probes of one call run on the calling thread, one after
 * the other, so a thread's state needs no locking; the summary maps are
 * shared between threads and CPUs and use atomic adds.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>
#include "trace-event.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by the loader before loading. */
const volatile bool emit_events = false;
const volatile bool filter_pids = false;
const volatile bool filter_funcs = false;    /* USDT: count only `wanted` functions */

/*
 * QEMU summary mode: only vmstate_* are probed, and a section's bytes are
 * how far its QEMUFile's stream position moved between the outermost
 * vmstate call's entry and its return.  The QEMUFile members, found in
 * QEMU's code by the loader (trace-points.h, TraceQemuFileLayout):
 * write side position = total_transferred + sum(iov[i].iov_len, i < iovcnt),
 * read side position = total_transferred - (buf_size - buf_index).
 */
const volatile bool qemu_summary = false;
const volatile __u32 qf_total = 0;
const volatile __u32 qf_iov_len = 0;
const volatile __u32 qf_iovcnt = 0;
const volatile __u32 qf_max_iov = 0;
const volatile __u32 qf_buf_index = 0;
const volatile __u32 qf_buf_size = 0;

struct thread_state {
    __u32 io_depth;                  /* put/get calls in progress */
    __u32 vm_depth;                  /* vmstate calls in progress */
    __u64 section_start;             /* when the outermost vmstate call began */
    __u64 file;                      /* qemu_summary: its QEMUFile (0: position unknown) */
    __u64 file_pos;                  /* qemu_summary: its stream position then */
    __u64 vmsd[VTRACE_MAX_DEPTH];     /* VMStateDescription pointers, outermost first */
    char section[VTRACE_NAME_LEN];    /* name of vmsd[0] */
    char vmsd_name[VTRACE_NAME_LEN];  /* name of the innermost vmsd */
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, VTRACE_MAX_PIDS);
    __type(key, __u32);
    __type(value, __u8);
} pids SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, VTRACE_MAX_THREADS);
    __type(key, __u32);
    __type(value, struct thread_state);
} threads SEC(".maps");

/* @calls[FUNC] */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, VTRACE_MAX_FUNCS);
    __type(key, __u32);
    __type(value, __u64);
} calls SEC(".maps");

/* @calls[SECTION, FUNC] and @vmsd_calls[VMSD, FUNC] */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, VTRACE_MAX_KEYS);
    __type(key, struct vtrace_name_func_key);
    __type(value, __u64);
} section_calls SEC(".maps"), vmsd_calls SEC(".maps");

/* @bytes[SECTION] and @vmsd_bytes[VMSD] */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, VTRACE_MAX_KEYS);
    __type(key, struct vtrace_name_key);
    __type(value, __u64);
} section_bytes SEC(".maps"), vmsd_bytes SEC(".maps");

/* @usecs[SECTION]: log2 histogram of the time a section takes */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, VTRACE_MAX_KEYS);
    __type(key, struct vtrace_hist_key);
    __type(value, __u64);
} section_usecs SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, VTRACE_STAT_MAX);
    __type(key, __u32);
    __type(value, __u64);
} stats SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);       /* resized by the loader for --events */
} events SEC(".maps");

/* USDT: the functions -f asked for (filter_funcs). */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, VTRACE_MAX_FUNCS);
    __type(key, __u32);
    __type(value, __u8);
} wanted SEC(".maps");

/* USDT: room for a section__*__done probe's counts. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64[1 + VTRACE_USDT_MAX_FUNCS]);
} counts_scratch SEC(".maps");

/* Room for qemu_put_counted_string's string (QEMU asserts strlen < 256). */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, char[256]);
} scratch SEC(".maps");

/* qemu_summary: room for a QEMUFile's iov[] (16 bytes each; twice the
 * largest read, so that a masked size is provably in bounds). */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64[4 * VTRACE_QF_MAX_IOV]);
} iov_scratch SEC(".maps");

static const char none_name[VTRACE_NAME_LEN] = VTRACE_NO_SECTION;
static const char unreadable_name[VTRACE_NAME_LEN] = "(unreadable)";
static const struct thread_state empty_thread;

static __always_inline void stat_inc(__u32 which)
{
    __u64 *v = bpf_map_lookup_elem(&stats, &which);

    if (v) {
        __sync_fetch_and_add(v, 1);
    }
}

static __always_inline void map_add(void *map, const void *key, __u64 n)
{
    __u64 *v = bpf_map_lookup_elem(map, key);

    if (!v) {
        __u64 zero = 0;
        /* Another CPU may insert the key first: then the lookup finds it. */
        bpf_map_update_elem(map, key, &zero, BPF_NOEXIST);
        v = bpf_map_lookup_elem(map, key);
        if (!v) {
            stat_inc(VTRACE_STAT_MAP_FULL);
            return;
        }
    }
    __sync_fetch_and_add(v, n);
}

/* Argument n (1-based).  Each register is read at a constant offset: a
 * switch would let clang compute the offset, which the verifier refuses. */
static __always_inline __u64 arg_n(struct pt_regs *ctx, __u32 n)
{
    __u64 args[6] = {
        0, PT_REGS_PARM1(ctx), PT_REGS_PARM2(ctx), PT_REGS_PARM3(ctx),
        PT_REGS_PARM4(ctx), PT_REGS_PARM5(ctx),
    };

    return n < 6 ? args[n] : 0;
}

/* bpftrace's hist() slot: 0 for negative, 1 for 0, 2 + log2(v) otherwise. */
static __always_inline __u32 hist_slot(__u64 v)
{
    __u32 r = 2;

    if (v == 0) {
        return 1;
    }
    if (v >> 32) { v >>= 32; r += 32; }
    if (v >> 16) { v >>= 16; r += 16; }
    if (v >> 8) { v >>= 8; r += 8; }
    if (v >> 4) { v >>= 4; r += 4; }
    if (v >> 2) { v >>= 2; r += 2; }
    if (v >> 1) { r += 1; }
    return r;
}

static __always_inline const char *section_of(const struct thread_state *t)
{
    return t && t->vm_depth ? t->section : none_name;
}

static __always_inline const char *vmsd_of(const struct thread_state *t)
{
    return t && t->vm_depth ? t->vmsd_name : none_name;
}

/* The state of the calling thread, created on first use. */
static __always_inline struct thread_state *thread_get(__u32 tid)
{
    struct thread_state *t = bpf_map_lookup_elem(&threads, &tid);

    if (t) {
        return t;
    }
    bpf_map_update_elem(&threads, &tid, &empty_thread, BPF_NOEXIST);
    t = bpf_map_lookup_elem(&threads, &tid);
    if (!t) {
        stat_inc(VTRACE_STAT_THREADS_FULL);
    }
    return t;
}

/* A thread outside any put/get/vmstate call keeps no state. */
static __always_inline void thread_put_if_idle(struct thread_state *t, __u32 tid)
{
    if (t->io_depth == 0 && t->vm_depth == 0) {
        bpf_map_delete_elem(&threads, &tid);
    }
}

static __always_inline void read_vmsd_name(char *dst, __u64 vmsd)
{
    const char *name = NULL;

    __builtin_memset(dst, 0, VTRACE_NAME_LEN);
    if (bpf_probe_read_user(&name, sizeof(name), (const void *)vmsd) != 0 ||
        bpf_probe_read_user_str(dst, VTRACE_NAME_LEN, name) < 0) {
        stat_inc(VTRACE_STAT_READ_ERRORS);
        __builtin_memcpy(dst, unreadable_name, VTRACE_NAME_LEN);
    }
}

static __always_inline void count_call(const struct thread_state *t, __u32 func)
{
    struct vtrace_name_func_key k = {};
    __u64 *c = bpf_map_lookup_elem(&calls, &func);

    if (c) {
        __sync_fetch_and_add(c, 1);
    }
    k.func = func;
    __builtin_memcpy(k.name, section_of(t), VTRACE_NAME_LEN);
    map_add(&section_calls, &k, 1);
    if (qemu_summary) {
        return;    /* innermost descriptions are not reported in summary mode */
    }
    __builtin_memcpy(k.name, vmsd_of(t), VTRACE_NAME_LEN);
    map_add(&vmsd_calls, &k, 1);
}

static __always_inline void count_bytes(const struct thread_state *t, __u64 bytes)
{
    struct vtrace_name_key k;

    __builtin_memcpy(k.name, section_of(t), VTRACE_NAME_LEN);
    map_add(&section_bytes, &k, bytes);
    __builtin_memcpy(k.name, vmsd_of(t), VTRACE_NAME_LEN);
    map_add(&vmsd_bytes, &k, bytes);
}

static __always_inline void emit(const struct thread_state *t, __u64 id, __u32 func,
                                 __u32 kind, __u32 phase, __u32 nested, __u64 value)
{
    struct vtrace_event *e;

    if (!emit_events) {
        return;
    }
    e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e) {
        stat_inc(VTRACE_STAT_DROPPED_EVENTS);
        return;
    }
    e->time_ns = bpf_ktime_get_ns();
    e->value = value;
    e->pid = id >> 32;
    e->tid = (__u32)id;
    e->func = func;
    e->kind = kind;
    e->phase = phase;
    e->nested = nested;
    e->pad = 0;
    e->depth = t ? t->vm_depth : 0;
    e->pad2 = 0;
    __builtin_memcpy(e->section, section_of(t), VTRACE_NAME_LEN);
    __builtin_memcpy(e->vmsd, vmsd_of(t), VTRACE_NAME_LEN);
    bpf_ringbuf_submit(e, 0);
}

static __always_inline void io_enter(struct pt_regs *ctx, __u64 id, __u32 func,
                                     __u32 kind, __u32 how, __u32 n)
{
    struct thread_state *t = thread_get((__u32)id);
    __u32 nested;
    __u64 bytes = 0;
    long len;

    if (!t) {
        /* No depth tracking possible: count the call, not its bytes
         * (VTRACE_STAT_THREADS_FULL says so). */
        count_call(NULL, func);
        return;
    }
    nested = t->io_depth > 0;
    t->io_depth++;
    count_call(t, func);
    if (how == VTRACE_BYTES_RET) {
        return;    /* counted and reported when it returns */
    }
    if (!nested) {
        switch (how) {
        case VTRACE_BYTES_FIXED:
            bytes = n;
            break;
        case VTRACE_BYTES_ARG:
            bytes = arg_n(ctx, n);
            break;
        case VTRACE_BYTES_ARG32:
            bytes = (__u32)arg_n(ctx, n);
            break;
        case VTRACE_BYTES_CSTR:
            /* qemu_put_counted_string: a length byte, then the string. */
            {
                __u32 zero = 0;
                char *buf = bpf_map_lookup_elem(&scratch, &zero);
                len = buf ? bpf_probe_read_user_str(buf, 256, (const void *)arg_n(ctx, n)) : -1;
                if (len > 0) {
                    bytes = len;      /* strlen + 1 */
                } else {
                    stat_inc(VTRACE_STAT_READ_ERRORS);
                }
            }
            break;
        }
        count_bytes(t, bytes);
    }
    emit(t, id, func, kind, VTRACE_PHASE_CALL, nested, bytes);
}

static __always_inline void io_return(struct pt_regs *ctx, struct thread_state *t, __u64 id,
                                      __u32 func, __u32 kind, __u32 how)
{
    __u32 nested;
    __u64 bytes = 0;

    if (t->io_depth == 0) {
        return;    /* entered before we attached */
    }
    t->io_depth--;
    if (how != VTRACE_BYTES_RET) {
        return;
    }
    nested = t->io_depth > 0;
    if (!nested) {
        bytes = PT_REGS_RC(ctx);
        count_bytes(t, bytes);
    }
    emit(t, id, func, kind, VTRACE_PHASE_CALL, nested, bytes);
}

/* qemu_summary: the stream position of QEMUFile f, writing (save) or
 * reading (load).  false if it could not be read. */
static __always_inline bool file_pos(__u64 f, __u32 kind, __u64 *pos)
{
    __u64 total, sum = 0, *iov;
    __u32 n, zero = 0, size;

    if (bpf_probe_read_user(&total, sizeof(total), (const void *)(f + qf_total)) != 0) {
        return false;
    }
    if (kind == VTRACE_KIND_LOAD) {
        __s32 index, bufsize;

        if (bpf_probe_read_user(&index, sizeof(index), (const void *)(f + qf_buf_index)) != 0 ||
            bpf_probe_read_user(&bufsize, sizeof(bufsize), (const void *)(f + qf_buf_size)) != 0 ||
            index < 0 || bufsize < index) {
            return false;
        }
        *pos = total - (__u64)(bufsize - index);
        return true;
    }
    if (bpf_probe_read_user(&n, sizeof(n), (const void *)(f + qf_iovcnt)) != 0 ||
        n > qf_max_iov || n > VTRACE_QF_MAX_IOV) {
        return false;
    }
    if (n > 0) {
        iov = bpf_map_lookup_elem(&iov_scratch, &zero);
        if (!iov) {
            return false;
        }
        /* n <= 64: the mask changes nothing and bounds the size for the verifier. */
        size = (n * 16) & (2 * 16 * VTRACE_QF_MAX_IOV - 1);
        if (bpf_probe_read_user(iov, size, (const void *)(f + qf_iov_len)) != 0) {
            return false;
        }
        for (__u32 i = 0; i < VTRACE_QF_MAX_IOV; i++) {
            if (i >= n) {
                break;
            }
            sum += iov[2 * i];
        }
    }
    *pos = total + sum;
    return true;
}

static __always_inline void vmstate_enter(struct pt_regs *ctx, __u64 id, __u32 func,
                                          __u32 kind, __u32 n)
{
    struct thread_state *t = thread_get((__u32)id);
    __u64 vmsd = arg_n(ctx, n);
    __u32 d;

    if (!t) {
        count_call(NULL, func);
        return;
    }
    d = t->vm_depth;
    if (d < VTRACE_MAX_DEPTH) {
        t->vmsd[d] = vmsd;
    } else {
        stat_inc(VTRACE_STAT_DEPTH_OVERFLOW);
    }
    t->vm_depth = d + 1;
    read_vmsd_name(t->vmsd_name, vmsd);
    if (d == 0) {
        __builtin_memcpy(t->section, t->vmsd_name, VTRACE_NAME_LEN);
        t->section_start = bpf_ktime_get_ns();
        t->file = 0;
        if (qemu_summary) {
            if (file_pos(PT_REGS_PARM1(ctx), kind, &t->file_pos)) {
                t->file = PT_REGS_PARM1(ctx);
            } else {
                stat_inc(VTRACE_STAT_READ_ERRORS);
            }
        }
    }
    count_call(t, func);
    emit(t, id, func, kind, VTRACE_PHASE_ENTRY, 0, 0);
}

static __always_inline void vmstate_return(struct thread_state *t, __u64 id, __u32 func,
                                           __u32 kind)
{
    struct vtrace_hist_key k = {};
    __u64 ns = 0;
    __u32 d;

    if (t->vm_depth == 0) {
        return;
    }
    d = t->vm_depth - 1;    /* the level being left */
    if (d == 0) {
        ns = bpf_ktime_get_ns() - t->section_start;
    }
    emit(t, id, func, kind, VTRACE_PHASE_RETURN, 0, ns);
    t->vm_depth = d;
    if (d == 0) {
        __builtin_memcpy(k.name, t->section, VTRACE_NAME_LEN);
        k.slot = hist_slot(ns / 1000);
        map_add(&section_usecs, &k, 1);
        if (qemu_summary && t->file) {
            struct vtrace_name_key nk;
            __u64 pos;

            if (file_pos(t->file, kind, &pos)) {
                __builtin_memcpy(nk.name, t->section, VTRACE_NAME_LEN);
                map_add(&section_bytes, &nk, pos - t->file_pos);
            } else {
                stat_inc(VTRACE_STAT_READ_ERRORS);
            }
        }
    } else if (d - 1 < VTRACE_MAX_DEPTH) {
        read_vmsd_name(t->vmsd_name, t->vmsd[d - 1]);
    }
}

static __always_inline bool traced(__u64 id)
{
    __u32 pid = id >> 32;

    return !filter_pids || bpf_map_lookup_elem(&pids, &pid);
}

SEC("uprobe")
int trace_enter(struct pt_regs *ctx)
{
    __u64 cookie = bpf_get_attach_cookie(ctx);
    __u64 id = bpf_get_current_pid_tgid();
    __u32 func = VTRACE_COOKIE_FUNC(cookie);
    __u32 kind = VTRACE_COOKIE_KIND(cookie);

    if (!traced(id) || func >= VTRACE_MAX_FUNCS) {
        return 0;
    }
    switch (kind) {
    case VTRACE_KIND_PUT:
    case VTRACE_KIND_GET:
        io_enter(ctx, id, func, kind, VTRACE_COOKIE_BYTES(cookie), VTRACE_COOKIE_N(cookie));
        break;
    case VTRACE_KIND_SAVE:
    case VTRACE_KIND_LOAD:
        vmstate_enter(ctx, id, func, kind, VTRACE_COOKIE_N(cookie));
        break;
    default: {
        __u32 tid = (__u32)id;
        const struct thread_state *t = bpf_map_lookup_elem(&threads, &tid);
        count_call(t, func);
        emit(t, id, func, kind, VTRACE_PHASE_CALL, 0, 0);
        break;
    }
    }
    return 0;
}

SEC("uretprobe")
int trace_return(struct pt_regs *ctx)
{
    __u64 cookie = bpf_get_attach_cookie(ctx);
    __u64 id = bpf_get_current_pid_tgid();
    __u32 tid = (__u32)id;
    __u32 func = VTRACE_COOKIE_FUNC(cookie);
    __u32 kind = VTRACE_COOKIE_KIND(cookie);
    struct thread_state *t;

    if (!traced(id) || func >= VTRACE_MAX_FUNCS) {
        return 0;
    }
    t = bpf_map_lookup_elem(&threads, &tid);
    if (!t) {
        return 0;
    }
    switch (kind) {
    case VTRACE_KIND_PUT:
    case VTRACE_KIND_GET:
        io_return(ctx, t, id, func, kind, VTRACE_COOKIE_BYTES(cookie));
        break;
    case VTRACE_KIND_SAVE:
    case VTRACE_KIND_LOAD:
        vmstate_return(t, id, func, kind);
        break;
    }
    thread_put_if_idle(t, tid);
    return 0;
}

/*
 * vmscope's binaries: one program for every USDT probe, told apart by the
 * USDT cookie (trace-event.h).  The probes say which function a call stands
 * for and how deep the engine is, so nothing is nested and the thread's
 * stack of descriptions is set, not pushed: a probe missed before attaching
 * cannot leave it wrong.  The stack holds name pointers.
 */

static __always_inline bool func_wanted(__u32 func)
{
    __u8 *w;

    if (!filter_funcs) {
        return true;
    }
    w = bpf_map_lookup_elem(&wanted, &func);
    return w && *w;
}

static __always_inline void read_name(char *dst, __u64 ptr)
{
    __builtin_memset(dst, 0, VTRACE_NAME_LEN);
    if (bpf_probe_read_user_str(dst, VTRACE_NAME_LEN, (const void *)ptr) < 0) {
        stat_inc(VTRACE_STAT_READ_ERRORS);
        __builtin_memcpy(dst, unreadable_name, VTRACE_NAME_LEN);
    }
}

static __always_inline long usdt_arg(struct pt_regs *ctx, __u64 n)
{
    long v = 0;

    bpf_usdt_arg(ctx, n, &v);
    return v;
}

static __always_inline void usdt_vmsd_start(struct pt_regs *ctx, __u64 id, __u32 func, __u32 kind)
{
    struct thread_state *t = thread_get((__u32)id);
    __u64 section = usdt_arg(ctx, 0), vmsd = usdt_arg(ctx, 1);
    __u32 d = (__u32)usdt_arg(ctx, 2);

    if (!t) {
        if (func_wanted(func)) {
            count_call(NULL, func);
        }
        return;
    }
    if (d == 0 || t->vm_depth == 0) {
        read_name(t->section, section);
    }
    if (d == 0) {
        t->section_start = bpf_ktime_get_ns();
    }
    if (d < VTRACE_MAX_DEPTH) {
        t->vmsd[d] = vmsd;
    } else {
        stat_inc(VTRACE_STAT_DEPTH_OVERFLOW);
    }
    t->vm_depth = d + 1;
    read_name(t->vmsd_name, vmsd);
    if (func_wanted(func)) {
        count_call(t, func);
        emit(t, id, func, kind, VTRACE_PHASE_ENTRY, 0, 0);
    }
}

static __always_inline void usdt_vmsd_done(struct pt_regs *ctx, __u64 id, __u32 func, __u32 kind)
{
    __u32 tid = (__u32)id;
    struct thread_state *t = bpf_map_lookup_elem(&threads, &tid);
    struct vtrace_hist_key k = {};
    __u32 d = (__u32)usdt_arg(ctx, 2);
    __u64 ns = 0;

    if (!t || d >= t->vm_depth) {
        return;    /* a description that began before we attached */
    }
    t->vm_depth = d + 1;
    if (d == 0) {
        ns = bpf_ktime_get_ns() - t->section_start;
    }
    if (func_wanted(func)) {
        emit(t, id, func, kind, VTRACE_PHASE_RETURN, 0, ns);
    }
    t->vm_depth = d;
    if (d == 0) {
        __builtin_memcpy(k.name, t->section, VTRACE_NAME_LEN);
        k.slot = hist_slot(ns / 1000);
        map_add(&section_usecs, &k, 1);
    } else if (d - 1 < VTRACE_MAX_DEPTH && t->vmsd[d - 1]) {
        read_name(t->vmsd_name, t->vmsd[d - 1]);
    } else {
        __builtin_memcpy(t->vmsd_name, t->section, VTRACE_NAME_LEN);
    }
    thread_put_if_idle(t, tid);
}

static __always_inline void usdt_call(struct pt_regs *ctx, __u64 id, __u32 kind)
{
    __u32 tid = (__u32)id;
    const struct thread_state *t = bpf_map_lookup_elem(&threads, &tid);
    __u32 func = (__u32)usdt_arg(ctx, 0);
    __u64 bytes = 0;

    if (func >= VTRACE_MAX_FUNCS || !func_wanted(func)) {
        return;
    }
    count_call(t, func);
    if (kind != VTRACE_KIND_VISIT) {
        bytes = usdt_arg(ctx, 2);
        count_bytes(t, bytes);
    }
    emit(t, id, func, kind, VTRACE_PHASE_CALL, 0, bytes);
}

/* Summary: a section's counts, one probe hit per section. */
static __always_inline void usdt_section_done(struct pt_regs *ctx)
{
    struct vtrace_name_func_key fk = {};
    struct vtrace_hist_key hk = {};
    struct vtrace_name_key nk;
    __u64 counts = usdt_arg(ctx, 2), start = usdt_arg(ctx, 4);
    __u32 n = (__u32)usdt_arg(ctx, 3), zero = 0, size;
    __u64 *buf;

    if (!counts) {
        return;    /* the section began before we attached */
    }
    buf = bpf_map_lookup_elem(&counts_scratch, &zero);
    if (!buf) {
        return;
    }
    if (n > VTRACE_USDT_MAX_FUNCS) {
        n = VTRACE_USDT_MAX_FUNCS;
    }
    /* The mask is a no-op (n <= 63) that shows the verifier the bound. */
    size = ((n & 63) + 1) * sizeof(__u64);
    if (bpf_probe_read_user(buf, size, (const void *)counts) != 0) {
        stat_inc(VTRACE_STAT_READ_ERRORS);
        return;
    }
    read_name(nk.name, usdt_arg(ctx, 0));
    __builtin_memcpy(fk.name, nk.name, VTRACE_NAME_LEN);
    for (__u32 i = 0; i < VTRACE_USDT_MAX_FUNCS && i < n; i++) {
        __u64 c = buf[1 + i];
        __u64 *total;

        if (c == 0 || !func_wanted(i)) {
            continue;
        }
        total = bpf_map_lookup_elem(&calls, &i);
        if (total) {
            __sync_fetch_and_add(total, c);
        }
        fk.func = i;
        map_add(&section_calls, &fk, c);
    }
    map_add(&section_bytes, &nk, buf[0]);
    __builtin_memcpy(hk.name, nk.name, VTRACE_NAME_LEN);
    hk.slot = hist_slot((bpf_ktime_get_ns() - start) / 1000);
    map_add(&section_usecs, &hk, 1);
}

SEC("usdt")
int trace_usdt(struct pt_regs *ctx)
{
    __u64 cookie = bpf_usdt_cookie(ctx);
    __u64 id = bpf_get_current_pid_tgid();
    __u32 kind = VTRACE_USDT_COOKIE_KIND(cookie);
    __u32 func = VTRACE_USDT_COOKIE_FUNC(cookie);

    if (!traced(id) || func >= VTRACE_MAX_FUNCS) {
        return 0;
    }
    switch (VTRACE_USDT_COOKIE_PROBE(cookie)) {
    case VTRACE_USDT_VMSD_START:
        usdt_vmsd_start(ctx, id, func, kind);
        break;
    case VTRACE_USDT_VMSD_DONE:
        usdt_vmsd_done(ctx, id, func, kind);
        break;
    case VTRACE_USDT_SECTION_DONE:
        usdt_section_done(ctx);
        break;
    case VTRACE_USDT_IO:
    case VTRACE_USDT_VISIT:
        usdt_call(ctx, id, kind);
        break;
    }
    return 0;
}

/*
 * trace-attach: puts vmscope-trace's two BPF programs on the functions of a
 * TracePoints table: the entry program on every point, the return program on
 * the points that need one; every uprobe carries the point's cookie
 * (trace-event.h).
 *
 * Two ways to do it:
 *
 *  - one uprobe_multi link per program (Linux >= 6.6): a single bpf(2) call
 *    attaches all ~1400 QEMU functions, and closing the link detaches them
 *    all at once;
 *  - one perf-event uprobe per function, through libbpf (older kernels, or
 *    VMSCOPE_TRACE_UPROBES=perf in the environment): as fast to attach, but
 *    the kernel waits for an RCU grace period per uprobe when detaching,
 *    about 0.1 s each.
 *
 * uprobe_multi programs are loaded with their own expected attach type, so
 * the choice is made before loading: trace_attach_choose() probes the kernel
 * and trace_attach_prepare() marks the programs.
 *
 * With one PID the kernel filters (the uprobes only exist in that process);
 * with none or several, the uprobes fire in every process running the binary
 * and the BPF program filters on its `pids` map.
 */
#ifndef VMSCOPE_TRACE_ATTACH_H
#define VMSCOPE_TRACE_ATTACH_H

#include <stdbool.h>
#include <sys/types.h>
#include <glib.h>
#include <bpf/libbpf.h>

#include "trace-points.h"

typedef enum TraceAttachMethod {
    TRACE_ATTACH_MULTI,    /* uprobe_multi links */
    TRACE_ATTACH_PERF,     /* one perf-event uprobe per function */
} TraceAttachMethod;

typedef struct TraceAttachment TraceAttachment;

/* uprobe_multi when the kernel has it, unless VMSCOPE_TRACE_UPROBES=perf. */
TraceAttachMethod trace_attach_choose(void);
const char *trace_attach_method_name(TraceAttachMethod m);

/* Before bpf_object__load(): give `prog` the attach type `m` needs. */
void trace_attach_prepare(struct bpf_program *prog, TraceAttachMethod m);

/* Attach.  pid > 0 limits the uprobes to that process; 0 means all. */
TraceAttachment *trace_attach(struct bpf_program *enter, struct bpf_program *ret,
                              const TracePoints *tp, pid_t pid, TraceAttachMethod m,
                              GError **errp);

/* Number of uprobes attached (entries and returns). */
unsigned trace_attachment_count(const TraceAttachment *a);

/* Detach and free. */
void trace_attachment_free(TraceAttachment *a);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TraceAttachment, trace_attachment_free)

#endif

/* Attaching vmscope-trace's programs: uprobe_multi or per-function uprobes; see trace-attach.h. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>

#include "vmscope/error.h"
#include "trace-attach.h"
#include "trace-event.h"

/*
 * From Linux 6.6's <linux/bpf.h>, which Debian 12's headers and libbpf 1.1
 * predate: the attach type, the return flag and the layout of
 * bpf_attr.link_create for an uprobe_multi link.
 */
#define VTRACE_BPF_TRACE_UPROBE_MULTI 48
#define VTRACE_BPF_F_UPROBE_MULTI_RETURN (1U << 0)

struct uprobe_multi_link_attr {
    __u32 prog_fd;
    __u32 target_fd;
    __u32 attach_type;
    __u32 flags;
    __u64 path;
    __u64 offsets;
    __u64 ref_ctr_offsets;
    __u64 cookies;
    __u32 cnt;
    __u32 uprobe_flags;
    __u32 pid;
    __u32 pad;
};

struct TraceAttachment {
    TraceAttachMethod method;
    int multi_fds[2];          /* entry and return links */
    GPtrArray *links;          /* struct bpf_link *, for TRACE_ATTACH_PERF */
    unsigned count;
};

static int link_create_uprobe_multi(int prog_fd, const char *path, const unsigned long *offsets,
                                    const __u64 *cookies, unsigned cnt, bool retprobe, pid_t pid)
{
    struct uprobe_multi_link_attr attr;

    memset(&attr, 0, sizeof(attr));
    attr.prog_fd = (__u32)prog_fd;
    attr.attach_type = VTRACE_BPF_TRACE_UPROBE_MULTI;
    attr.path = (__u64)(uintptr_t)path;
    attr.offsets = (__u64)(uintptr_t)offsets;
    attr.cookies = (__u64)(uintptr_t)cookies;
    attr.cnt = cnt;
    attr.uprobe_flags = retprobe ? VTRACE_BPF_F_UPROBE_MULTI_RETURN : 0;
    attr.pid = (__u32)pid;
    return (int)syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));
}

/* As libbpf 1.3 does: a kernel that knows uprobe_multi refuses "/" with EBADF. */
static bool kernel_has_uprobe_multi(void)
{
    struct bpf_insn insns[] = {
        { .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
        { .code = BPF_JMP | BPF_EXIT },
    };
    LIBBPF_OPTS(bpf_prog_load_opts, opts,
                .expected_attach_type = (enum bpf_attach_type)VTRACE_BPF_TRACE_UPROBE_MULTI);
    unsigned long offset = 0;
    int prog_fd, link_fd, err;

    prog_fd = bpf_prog_load(BPF_PROG_TYPE_KPROBE, NULL, "GPL", insns, G_N_ELEMENTS(insns), &opts);
    if (prog_fd < 0) {
        return false;
    }
    link_fd = link_create_uprobe_multi(prog_fd, "/", &offset, NULL, 1, false, 0);
    err = errno;
    if (link_fd >= 0) {
        close(link_fd);
    }
    close(prog_fd);
    return link_fd < 0 && err == EBADF;
}

TraceAttachMethod trace_attach_choose(void)
{
    const char *force = getenv("VMSCOPE_TRACE_UPROBES");

    if (force && strcmp(force, "perf") == 0) {
        return TRACE_ATTACH_PERF;
    }
    return kernel_has_uprobe_multi() ? TRACE_ATTACH_MULTI : TRACE_ATTACH_PERF;
}

const char *trace_attach_method_name(TraceAttachMethod m)
{
    return m == TRACE_ATTACH_MULTI ? "uprobe_multi" : "perf uprobes";
}

void trace_attach_prepare(struct bpf_program *prog, TraceAttachMethod m)
{
    if (m == TRACE_ATTACH_MULTI) {
        bpf_program__set_expected_attach_type(prog,
                                              (enum bpf_attach_type)VTRACE_BPF_TRACE_UPROBE_MULTI);
    }
}

static __u64 cookie_of(const TracePoint *p, unsigned i)
{
    return VTRACE_COOKIE(i, p->kind, p->bytes, p->n);
}

static bool attach_multi(TraceAttachment *a, struct bpf_program *prog, const TracePoints *tp,
                         bool retprobe, pid_t pid, GError **errp)
{
    g_autofree unsigned long *offsets = g_new(unsigned long, tp->points->len);
    g_autofree __u64 *cookies = g_new(__u64, tp->points->len);
    unsigned cnt = 0;
    int fd;

    for (unsigned i = 0; i < tp->points->len; i++) {
        const TracePoint *p = trace_points_get(tp, i);
        if (!retprobe || p->retprobe) {
            offsets[cnt] = (unsigned long)p->offset;
            cookies[cnt] = cookie_of(p, i);
            cnt++;
        }
    }
    if (cnt == 0) {
        return true;
    }
    fd = link_create_uprobe_multi(bpf_program__fd(prog), tp->binary, offsets, cookies, cnt,
                                  retprobe, pid);
    if (fd < 0) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "cannot attach %u %s to %s: %s", cnt,
                    retprobe ? "return uprobes" : "uprobes", tp->binary, g_strerror(errno));
        return false;
    }
    a->multi_fds[retprobe] = fd;
    a->count += cnt;
    return true;
}

static bool attach_perf(TraceAttachment *a, struct bpf_program *prog, const TracePoints *tp,
                        bool retprobe, pid_t pid, GError **errp)
{
    for (unsigned i = 0; i < tp->points->len; i++) {
        const TracePoint *p = trace_points_get(tp, i);
        LIBBPF_OPTS(bpf_uprobe_opts, opts, .bpf_cookie = cookie_of(p, i), .retprobe = retprobe);
        struct bpf_link *link;

        if (retprobe && !p->retprobe) {
            continue;
        }
        link = bpf_program__attach_uprobe_opts(prog, pid > 0 ? pid : -1, tp->binary,
                                               (size_t)p->offset, &opts);
        if (!link) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "cannot attach %s to %s:%s: %s",
                        retprobe ? "a return uprobe" : "an uprobe", tp->binary, p->name,
                        g_strerror(errno));
            return false;
        }
        g_ptr_array_add(a->links, link);
        a->count++;
    }
    return true;
}

TraceAttachment *trace_attach(struct bpf_program *enter, struct bpf_program *ret,
                              const TracePoints *tp, pid_t pid, TraceAttachMethod m,
                              GError **errp)
{
    g_autoptr(TraceAttachment) a = g_new0(TraceAttachment, 1);

    a->method = m;
    a->multi_fds[0] = a->multi_fds[1] = -1;
    a->links = g_ptr_array_new();
    /*
     * Returns first: a call that enters between the two attachments then
     * has a return without an entry, which the program ignores; the other
     * order would leave an entry without a return and stop byte counting on
     * that thread.
     */
    if (m == TRACE_ATTACH_MULTI) {
        if (!attach_multi(a, ret, tp, true, pid, errp) || !attach_multi(a, enter, tp, false, pid, errp)) {
            return NULL;
        }
    } else if (!attach_perf(a, ret, tp, true, pid, errp) || !attach_perf(a, enter, tp, false, pid, errp)) {
        return NULL;
    }
    return g_steal_pointer(&a);
}

unsigned trace_attachment_count(const TraceAttachment *a)
{
    return a->count;
}

void trace_attachment_free(TraceAttachment *a)
{
    if (!a) {
        return;
    }
    /* Entries first, mirroring the attach order. */
    for (int i = 0; i < 2; i++) {
        if (a->multi_fds[i] >= 0) {
            close(a->multi_fds[i]);
        }
    }
    if (a->links) {
        for (unsigned i = a->links->len; i-- > 0;) {
            bpf_link__destroy(a->links->pdata[i]);
        }
        g_ptr_array_free(a->links, TRUE);
    }
    g_free(a);
}

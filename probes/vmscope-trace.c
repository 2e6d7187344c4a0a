/*
 * vmscope-trace: count and time what QEMU, or a vmscope device host, writes
 * to and reads from a migration stream, section by section, with uprobes on
 * QEMU's functions or vmscope's USDT probes.
 *
 *   vmscope-trace [-p PID]... [-b BINARY] [-d SECONDS] [-f FUNC]... [-m MODE]
 *                 [--events] [--json]
 *
 * The loader, trace() at the end, goes step by step as libbpf-bootstrap's
 * examples do, each step a function, in this file in the order they run:
 *   1. find the binary's attach points and the mode (trace-points.c);
 *   2. check that we can: privileges, the -p processes, the kernel's BTF;
 *   3. open vmscope-trace.bpf.c through its generated skeleton and set it up;
 *   4. load it, and fill the PID and function filters;
 *   5. attach it to the binary's put/get/vmstate/visit functions or USDT
 *      probes (trace-attach.c), signals caught first;
 *   6. poll: events from the ring buffer as they come (--events), until
 *      Ctrl-C, SIGTERM, the end of -d SECONDS or of every -p process;
 *   7. report the summary maps, bpftrace-style (trace-report.c).
 * docs/tracing.md is the manual.
 *
 * Exit status: 0 after tracing, 2 when tracing cannot start (bad flags, a
 * binary that is neither QEMU nor vmscope's, no privileges or no BPF in the
 * kernel), 1 when it fails later.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "trace-attach.h"
#include "trace-event.h"
#include "trace-points.h"
#include "trace-report.h"
#include "vmscope-trace.skel.h"
#include "vmscope/cmdline.h"

#define PROG "vmscope-trace"
#define DEFAULT_BINARY "/usr/bin/qemu-system-x86_64"
#define EVENTS_RING_SIZE (16u << 20)
#define QEMU_SUMMARY_NOTE "summary mode: calls of qemu_put_*, qemu_get_* and visit_* are not " \
    "counted (-m calls counts them)"

typedef enum ModeOption { MODE_AUTO, MODE_CALLS, MODE_SUMMARY } ModeOption;

typedef struct Options {
    char *binary;              /* -b, or NULL */
    char *pid_binary;          /* without -b: what the first -p process runs */
    ModeOption mode;
    GArray *pids;              /* pid_t */
    char **functions;          /* -f patterns, NULL-terminated; NULL: none */
    double duration;           /* seconds, 0 = until stopped */
    bool events;
    bool json;
    bool verbose;
} Options;

/* Everything one run holds, filled in step by step (see trace() at the end). */
typedef struct Tracer {
    Options *o;
    const char *binary;                /* what is traced */
    TracePoints *tp;                   /* its attach points */
    TraceMode mode;
    TraceAttachMethod method;          /* QEMU's functions: how uprobes go on them */
    struct vmscope_trace_bpf *skel;
    struct ring_buffer *rb;            /* --events */
    TraceAttachment *att;
    int pidfds[VTRACE_MAX_PIDS];       /* the -p processes, to see them exit */
    int sigfd;                         /* SIGINT, SIGTERM, SIGHUP */
    GString *line;                     /* --events: the line being printed */
    uint64_t t0_ns;                    /* when the probes were on */
} Tracer;

static bool verbose;

static G_GNUC_PRINTF(1, 2) void fail(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fprintf(stderr, PROG ": ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

/* -v shows libbpf's warnings and notes (a refused program's verifier log
 * among them), not its debug chatter. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
    return verbose && level != LIBBPF_DEBUG ? vfprintf(stderr, fmt, ap) : 0;
}

static uint64_t monotonic_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: " PROG " [-p PID]... [-b BINARY] [-d SECONDS] [-f FUNC]... [-m MODE]\n"
            "                     [--events] [--json]\n"
            "Trace the migration stream functions of QEMU (qemu_put_*, qemu_get_*,\n"
            "vmstate_*, visit_*) with uprobes, or the same points of a vmscope program\n"
            "(vmscope-devhost...) with its USDT probes; print bpftrace-style maps at the end.\n"
            "\n"
            "  -p, --pid PID        trace this process (repeatable; default: all processes\n"
            "                       running BINARY); stop when all of them have exited\n"
            "  -b, --binary PATH    the executable to probe (default: what the -p process\n"
            "                       runs, else " DEFAULT_BINARY ")\n"
            "  -d, --duration SECS  stop after SECS seconds\n"
            "  -f, --function GLOB  attach only to functions matching GLOB (repeatable)\n"
            "  -m, --mode MODE      'summary' (whole sections: bytes, time, vmstate calls;\n"
            "                       the default for vmscope programs) or 'calls' (every\n"
            "                       call; the default for QEMU, and with -e, -f)\n"
            "  -e, --events         print a line per call as it happens\n"
            "  -j, --json           print JSON lines instead of text\n"
            "  -v, --verbose        show how attaching went, and libbpf's messages\n"
            "  -h, --help           show this help\n"
            "      --version        print the version\n"
            "\n"
            "Stops on Ctrl-C or SIGTERM.  Needs root (or CAP_BPF and CAP_PERFMON).\n"
            "See docs/tracing.md.\n");
}

static bool parse_pid(const char *s, pid_t *out)
{
    gint64 v;

    if (!g_ascii_string_to_signed(s, 10, 1, INT32_MAX, &v, NULL)) {
        return false;
    }
    *out = (pid_t)v;
    return true;
}

static bool parse_duration(const char *s, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = g_ascii_strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v <= 0 || v > 1e9) {
        return false;
    }
    *out = v;
    return true;
}

/* 0: go on; 1: exit 0 (--help, --version); 2: bad usage (already reported). */
static int parse_options(int argc, char **argv, Options *o)
{
    g_auto(GStrv) pids = NULL;
    g_autofree char *duration = NULL, *mode = NULL;
    gboolean events = FALSE, json = FALSE, verbose = FALSE, help = FALSE, version = FALSE;
    const GOptionEntry entries[] = {
        { "pid", 'p', 0, G_OPTION_ARG_STRING_ARRAY, &pids, NULL, NULL },
        { "binary", 'b', 0, G_OPTION_ARG_FILENAME, &o->binary, NULL, NULL },
        { "duration", 'd', 0, G_OPTION_ARG_STRING, &duration, NULL, NULL },
        { "function", 'f', 0, G_OPTION_ARG_FILENAME_ARRAY, &o->functions, NULL, NULL },
        { "mode", 'm', 0, G_OPTION_ARG_STRING, &mode, NULL, NULL },
        { "events", 'e', 0, G_OPTION_ARG_NONE, &events, NULL, NULL },
        { "json", 'j', 0, G_OPTION_ARG_NONE, &json, NULL, NULL },
        { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, NULL, NULL },
        { "help", 'h', 0, G_OPTION_ARG_NONE, &help, NULL, NULL },
        { "version", 0, 0, G_OPTION_ARG_NONE, &version, NULL, NULL },
        { NULL },
    };
    g_autoptr(GError) err = NULL;
    g_auto(GStrv) args = cmdline_parse(entries, argc - 1, argv + 1, &err);

    if (!args || args[0]) {
        if (args) {
            fail("unexpected argument '%s'", args[0]);
        } else {
            fail("%s", err->message);
        }
        fprintf(stderr, "Try '" PROG " --help'.\n");
        return 2;
    }
    if (help) {
        usage(stdout);
        return 1;
    }
    if (version) {
        printf(PROG " %s\n", PACKAGE_VERSION);
        return 1;
    }
    for (char **p = pids; p && *p; p++) {
        pid_t pid;
        if (!parse_pid(*p, &pid)) {
            fail("-p: not a process id: '%s'", *p);
            return 2;
        }
        if (o->pids->len >= VTRACE_MAX_PIDS) {
            fail("-p: at most %d processes", VTRACE_MAX_PIDS);
            return 2;
        }
        g_array_append_val(o->pids, pid);
    }
    if (duration && !parse_duration(duration, &o->duration)) {
        fail("-d: not a positive number of seconds: '%s'", duration);
        return 2;
    }
    if (g_strcmp0(mode, "calls") == 0) {
        o->mode = MODE_CALLS;
    } else if (g_strcmp0(mode, "summary") == 0) {
        o->mode = MODE_SUMMARY;
    } else if (mode) {
        fail("-m: not a mode (summary or calls): '%s'", mode);
        return 2;
    }
    o->events = events;
    o->json = json;
    o->verbose = verbose;
    if (o->mode == MODE_SUMMARY && (o->events || o->functions)) {
        fail("-m summary counts whole sections: --events and -f need -m calls");
        return 2;
    }
    return 0;
}

/* ---- 1. what to trace: the binary, its attach points, the mode -------------- */

/* -b, else what the first -p process runs, else QEMU; NULL (said why) if
 * that process is not there. */
static const char *binary_of(Options *o)
{
    pid_t pid;
    g_autofree char *link = NULL;

    if (o->binary) {
        return o->binary;
    }
    if (o->pids->len == 0) {
        return DEFAULT_BINARY;
    }
    pid = g_array_index(o->pids, pid_t, 0);
    link = g_strdup_printf("/proc/%d/exe", pid);
    o->pid_binary = g_file_read_link(link, NULL);
    if (!o->pid_binary) {
        if (kill(pid, 0) != 0 && errno == ESRCH) {
            fail("no process with PID %d", pid);
        } else {
            fail("process %d: cannot tell what it runs (%s): give -b", pid, link);
        }
    }
    return o->pid_binary;
}

/* The mode for this binary: summary for vmscope's unless told otherwise;
 * call by call for QEMU unless told otherwise (-m summary: vmstate_* only,
 * bytes from the QEMUFile's position, if its layout was found). */
static bool choose_mode(const Options *o, TracePoints *tp, TraceMode *mode)
{
    if (!trace_points_usdt(tp)) {
        if (o->mode != MODE_SUMMARY) {
            *mode = TRACE_MODE_CALLS;
            return true;
        }
        if (!tp->has_qemu_file) {
            fail("-m summary: %s", tp->qemu_file_error);
            return false;
        }
        trace_points_keep_vmstate(tp);
        *mode = TRACE_MODE_SUMMARY;
        return true;
    }
    if (o->mode == MODE_AUTO) {
        *mode = o->events || tp->filtered ? TRACE_MODE_CALLS : TRACE_MODE_SUMMARY;
    } else {
        *mode = o->mode == MODE_CALLS ? TRACE_MODE_CALLS : TRACE_MODE_SUMMARY;
    }
    return true;
}

static bool find_points(Tracer *t)
{
    g_autoptr(GError) err = NULL;

    t->binary = binary_of(t->o);
    if (!t->binary) {
        return false;
    }
    t->tp = trace_points_resolve(t->binary, (const char *const *)t->o->functions, &err);
    if (!t->tp) {
        fail("%s", err->message);
        return false;
    }
    return choose_mode(t->o, t->tp, &t->mode);
}

/* ---- 2. whether we can: privileges, the processes, the kernel's BTF --------- */

/* Loading tracing programs takes CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN. */
static bool has_bpf_privileges(void)
{
    enum { CAP_SYS_ADMIN_BIT = 21, CAP_PERFMON_BIT = 38, CAP_BPF_BIT = 39 };
    g_autofree char *status = NULL;
    g_autofree char *hex = NULL;
    const char *p;
    guint64 eff;

    if (!g_file_get_contents("/proc/self/status", &status, NULL, NULL) ||
        !(p = strstr(status, "\nCapEff:"))) {
        return geteuid() == 0;
    }
    p += strspn(p + 8, " \t") + 8;
    hex = g_strndup(p, strcspn(p, "\n"));
    if (!g_ascii_string_to_unsigned(hex, 16, 0, G_MAXUINT64, &eff, NULL)) {
        return geteuid() == 0;
    }
    return (eff >> CAP_SYS_ADMIN_BIT & 1) || ((eff >> CAP_BPF_BIT & 1) && (eff >> CAP_PERFMON_BIT & 1));
}

/* A pidfd for each -p process, after checking that it runs the binary. */
static bool open_pids(const Options *o, const char *binary, int *pidfds)
{
    struct stat bin;

    if (stat(binary, &bin) != 0) {
        fail("%s: %s", binary, g_strerror(errno));
        return false;
    }
    for (unsigned i = 0; i < o->pids->len; i++) {
        pid_t pid = g_array_index(o->pids, pid_t, i);
        g_autofree char *exe_link = g_strdup_printf("/proc/%d/exe", pid);
        g_autofree char *exe = NULL;
        struct stat st;

        pidfds[i] = (int)syscall(SYS_pidfd_open, pid, 0);
        if (pidfds[i] < 0) {
            if (errno == ESRCH) {
                fail("no process with PID %d", pid);
            } else {
                fail("process %d: pidfd_open: %s", pid, g_strerror(errno));
            }
            return false;
        }
        if (stat(exe_link, &st) != 0) {
            fail("process %d: %s: %s", pid, exe_link,
                 errno == ENOENT ? "process has exited" : g_strerror(errno));
            return false;
        }
        if (st.st_dev != bin.st_dev || st.st_ino != bin.st_ino) {
            exe = g_file_read_link(exe_link, NULL);
            fail("process %d runs %s, not %s", pid, exe ? exe : "another program", binary);
            return false;
        }
    }
    return true;
}

static bool check_can_trace(Tracer *t)
{
    if (!has_bpf_privileges()) {
        fail("needs root or CAP_BPF+CAP_PERFMON to load BPF programs (running as uid %u)",
             (unsigned)getuid());
        return false;
    }
    if (!open_pids(t->o, t->binary, t->pidfds)) {
        return false;
    }
    /* The program reads pt_regs through CO-RE relocations: kernel BTF. */
    if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
        fail("this kernel has no BTF (/sys/kernel/btf/vmlinux: %s): it needs CONFIG_DEBUG_INFO_BTF",
             g_strerror(errno));
        return false;
    }
    return true;
}

/* ---- 3. open: the skeleton, set up for this binary and mode ----------------- */

static bool open_bpf(Tracer *t)
{
    const TracePoints *tp = t->tp;
    bool usdt = trace_points_usdt(tp);

    t->method = usdt ? TRACE_ATTACH_PERF : trace_attach_choose();
    t->skel = vmscope_trace_bpf__open();
    if (!t->skel) {
        fail("cannot open the BPF object: %s", g_strerror(errno));
        return false;
    }
    t->skel->rodata->emit_events = t->o->events;
    t->skel->rodata->filter_pids = t->o->pids->len > 0;
    t->skel->rodata->filter_funcs = tp->filtered;
    if (!usdt && t->mode == TRACE_MODE_SUMMARY) {
        t->skel->rodata->qemu_summary = true;
        t->skel->rodata->qf_total = tp->qemu_file.total;
        t->skel->rodata->qf_iov_len = tp->qemu_file.iov_len;
        t->skel->rodata->qf_iovcnt = tp->qemu_file.iovcnt;
        t->skel->rodata->qf_max_iov = tp->qemu_file.max_iov;
        t->skel->rodata->qf_buf_index = tp->qemu_file.buf_index;
        t->skel->rodata->qf_buf_size = tp->qemu_file.buf_size;
    }
    if (t->o->events && bpf_map__set_max_entries(t->skel->maps.events, EVENTS_RING_SIZE) != 0) {
        fail("cannot size the event ring buffer");
        return false;
    }
    /* Load only the programs this kind of binary needs. */
    bpf_program__set_autoload(t->skel->progs.trace_usdt, usdt);
    bpf_program__set_autoload(t->skel->progs.trace_enter, !usdt);
    bpf_program__set_autoload(t->skel->progs.trace_return, !usdt);
    trace_attach_prepare(t->skel->progs.trace_enter, t->method);
    trace_attach_prepare(t->skel->progs.trace_return, t->method);
    return true;
}

/* ---- 4. load: the programs into the kernel, the filters into their maps ----- */

static bool load_bpf(Tracer *t)
{
    int ret = vmscope_trace_bpf__load(t->skel);

    if (ret != 0) {
        if (-ret == ENOSYS) {
            fail("this kernel has no BPF support (bpf(2): %s)", g_strerror(ENOSYS));
        } else {
            fail("cannot load BPF programs: %s%s", g_strerror(-ret),
                 t->o->verbose ? "" : " (-v shows why)");
        }
        return false;
    }
    for (unsigned i = 0; i < t->o->pids->len; i++) {
        __u32 pid = (__u32)g_array_index(t->o->pids, pid_t, i);
        __u8 one = 1;
        if (bpf_map_update_elem(bpf_map__fd(t->skel->maps.pids), &pid, &one, BPF_ANY) != 0) {
            fail("cannot set the PID filter: %s", g_strerror(errno));
            return false;
        }
    }
    for (__u32 i = 0; t->tp->filtered && i < t->tp->points->len; i++) {
        __u8 yes = trace_points_get(t->tp, i)->wanted;
        if (bpf_map_update_elem(bpf_map__fd(t->skel->maps.wanted), &i, &yes, BPF_ANY) != 0) {
            fail("cannot set the function filter: %s", g_strerror(errno));
            return false;
        }
    }
    return true;
}

/* ---- 5. attach: the event ring, the signals, then the probes ----------------- */

static int on_event(void *ctx, void *data, size_t size)
{
    Tracer *t = ctx;
    const struct vtrace_event *e = data;
    const char *func = "?";

    if (size < sizeof(*e)) {
        return 0;
    }
    if (e->func < t->tp->points->len) {
        func = trace_points_get(t->tp, e->func)->name;
    }
    g_string_truncate(t->line, 0);
    trace_report_event(t->line, e, func, t->t0_ns, t->o->json);
    fwrite(t->line->str, 1, t->line->len, stdout);
    return 0;
}

static bool open_events(Tracer *t)
{
    t->line = g_string_new(NULL);
    if (!t->o->events) {
        return true;
    }
    t->rb = ring_buffer__new(bpf_map__fd(t->skel->maps.events), on_event, t, NULL);
    if (!t->rb) {
        fail("cannot open the event ring buffer: %s", g_strerror(errno));
        return false;
    }
    return true;
}

/* Signals arrive on a file descriptor: no handler, no race with poll(). */
static bool catch_signals(Tracer *t)
{
    sigset_t mask;

    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    t->sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
    if (t->sigfd < 0) {
        fail("signalfd: %s", g_strerror(errno));
        return false;
    }
    return true;
}

/* -v: what attaching took, and for QEMU in summary mode where QEMUFile's members are. */
static void say_attached(const Tracer *t, uint64_t t_attach)
{
    const TracePoints *tp = t->tp;
    double ms = (double)(t->t0_ns - t_attach) / 1e6;

    if (!trace_points_usdt(tp) && t->mode == TRACE_MODE_SUMMARY) {
        fprintf(stderr, PROG ": %u uprobes on %u functions of %s (%s binary, summary mode) with %s "
                "in %.1f ms; QEMUFile: total_transferred at %#x, iov[%u] lengths at %#x + 16 i, "
                "iovcnt at %#x, buf_index at %#x, buf_size at %#x\n",
                trace_attachment_count(t->att), tp->points->len, tp->binary, tp->kind->name,
                trace_attach_method_name(t->method), ms, tp->qemu_file.total,
                tp->qemu_file.max_iov, tp->qemu_file.iov_len, tp->qemu_file.iovcnt,
                tp->qemu_file.buf_index, tp->qemu_file.buf_size);
    } else if (trace_points_usdt(tp)) {
        fprintf(stderr, PROG ": %u uprobes on USDT probes of %s (%s binary, %s mode) in %.1f ms\n",
                trace_attachment_count(t->att), tp->binary, tp->kind->name,
                t->mode == TRACE_MODE_SUMMARY ? "summary" : "calls", ms);
    } else {
        fprintf(stderr, PROG ": %u uprobes on %u functions of %s (%s binary) with %s in %.1f ms\n",
                trace_attachment_count(t->att), tp->points->len, tp->binary, tp->kind->name,
                trace_attach_method_name(t->method), ms);
    }
}

static bool attach_probes(Tracer *t)
{
    g_autoptr(GError) err = NULL;
    const TracePoints *tp = t->tp;
    pid_t pid = t->o->pids->len == 1 ? g_array_index(t->o->pids, pid_t, 0) : 0;
    uint64_t t_attach;

    if (!t->o->json) {
        fprintf(stderr, "Attaching %u probes...\n", trace_points_count(tp, t->mode));
    }
    t_attach = monotonic_ns();
    if (trace_points_usdt(tp)) {
        t->att = trace_attach_usdt(t->skel->progs.trace_usdt, tp, pid, t->mode, &err);
    } else {
        t->att = trace_attach(t->skel->progs.trace_enter, t->skel->progs.trace_return, tp, pid,
                              t->method, &err);
    }
    if (!t->att) {
        fail("%s", err->message);
        return false;
    }
    t->t0_ns = monotonic_ns();
    if (t->o->verbose) {
        say_attached(t, t_attach);
    }
    if (t->o->json) {
        printf("{\"type\":\"attached_probes\",\"data\":{\"probes\":%u}}\n",
               trace_attachment_count(t->att));
        fflush(stdout);
    }
    fprintf(stderr, "Tracing %s migration functions of %s... Hit Ctrl-C to end.\n",
            tp->kind->title, tp->binary);
    return true;
}

/* ---- 6. poll: events as they come, until it is time to stop ----------------- */

/*
 * Print events as they come (--events) until a signal, the deadline or the
 * end of every -p process.  false on error.
 */
static bool poll_events(Tracer *t)
{
    struct ring_buffer *rb = t->rb;
    unsigned npids = t->o->pids->len, live = npids;
    struct pollfd fds[2 + VTRACE_MAX_PIDS];
    uint64_t deadline = 0;

    fds[0] = (struct pollfd){ .fd = t->sigfd, .events = POLLIN };
    fds[1] = (struct pollfd){ .fd = rb ? ring_buffer__epoll_fd(rb) : -1, .events = POLLIN };
    for (unsigned i = 0; i < npids; i++) {
        fds[2 + i] = (struct pollfd){ .fd = t->pidfds[i], .events = POLLIN };
    }
    if (t->o->duration > 0) {
        deadline = monotonic_ns() + (uint64_t)(t->o->duration * 1e9);
    }
    for (;;) {
        int timeout = -1;
        if (deadline) {
            uint64_t now = monotonic_ns();
            if (now >= deadline) {
                return true;
            }
            timeout = (int)MIN((deadline - now + 999999) / 1000000, 3600 * 1000);
        }
        if (poll(fds, 2 + npids, timeout) < 0) {
            if (errno == EINTR) {
                continue;
            }
            fail("poll: %s", g_strerror(errno));
            return false;
        }
        if (fds[0].revents) {
            return true;
        }
        if (fds[1].revents && ring_buffer__consume(rb) < 0) {
            fail("reading events: %s", g_strerror(errno));
            return false;
        }
        for (unsigned i = 0; i < npids; i++) {
            if (fds[2 + i].fd >= 0 && fds[2 + i].revents) {
                fds[2 + i].fd = -1;     /* exited: poll() skips it from now on */
                live--;
            }
        }
        if (npids && live == 0) {
            return true;
        }
    }
}

/* ---- 7. report: the maps, bpftrace-style ---------------------------------------- */

static char *key_name(const char *name)
{
    return g_strndup(name, VTRACE_NAME_LEN);
}

static const char *func_name(const Tracer *t, __u32 func)
{
    return func < t->tp->points->len ? trace_points_get(t->tp, func)->name : "?";
}

static GPtrArray *read_calls(const Tracer *t)
{
    GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)trace_count_free);
    int fd = bpf_map__fd(t->skel->maps.calls);

    for (__u32 i = 0; i < t->tp->points->len; i++) {
        __u64 v = 0;
        if (bpf_map_lookup_elem(fd, &i, &v) == 0 && v > 0) {
            g_ptr_array_add(out, trace_count_new(func_name(t, i), NULL, v));
        }
    }
    return out;
}

static GPtrArray *read_name_func(const Tracer *t, struct bpf_map *map)
{
    GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)trace_count_free);
    int fd = bpf_map__fd(map);
    struct vtrace_name_func_key key, next;
    void *prev = NULL;

    while (bpf_map_get_next_key(fd, prev, &next) == 0) {
        __u64 v = 0;
        if (bpf_map_lookup_elem(fd, &next, &v) == 0) {
            g_autofree char *name = key_name(next.name);
            g_ptr_array_add(out, trace_count_new(name, func_name(t, next.func), v));
        }
        key = next;
        prev = &key;
    }
    return out;
}

static GPtrArray *read_name(struct bpf_map *map)
{
    GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)trace_count_free);
    int fd = bpf_map__fd(map);
    struct vtrace_name_key key, next;
    void *prev = NULL;

    while (bpf_map_get_next_key(fd, prev, &next) == 0) {
        __u64 v = 0;
        if (bpf_map_lookup_elem(fd, &next, &v) == 0) {
            g_autofree char *name = key_name(next.name);
            g_ptr_array_add(out, trace_count_new(name, NULL, v));
        }
        key = next;
        prev = &key;
    }
    return out;
}

static GPtrArray *read_hists(struct bpf_map *map)
{
    GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)trace_hist_free);
    g_autoptr(GHashTable) by_name = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    int fd = bpf_map__fd(map);
    struct vtrace_hist_key key, next;
    void *prev = NULL;

    while (bpf_map_get_next_key(fd, prev, &next) == 0) {
        __u64 v = 0;
        if (bpf_map_lookup_elem(fd, &next, &v) == 0 && next.slot < VTRACE_HIST_SLOTS) {
            g_autofree char *name = key_name(next.name);
            TraceHist *h = g_hash_table_lookup(by_name, name);
            if (!h) {
                h = trace_hist_new(name);
                g_ptr_array_add(out, h);
                g_hash_table_insert(by_name, g_strdup(name), h);
            }
            h->slots[next.slot] += v;
        }
        key = next;
        prev = &key;
    }
    return out;
}

static void append_report(const Tracer *t, GString *out)
{
    struct vmscope_trace_bpf *s = t->skel;
    bool json = t->o->json;
    g_autoptr(GPtrArray) calls = read_calls(t);
    g_autoptr(GPtrArray) bytes = read_name(s->maps.section_bytes);
    g_autoptr(GPtrArray) section_calls = read_name_func(t, s->maps.section_calls);
    g_autoptr(GPtrArray) vmsd_bytes = read_name(s->maps.vmsd_bytes);
    g_autoptr(GPtrArray) vmsd_calls = read_name_func(t, s->maps.vmsd_calls);
    g_autoptr(GPtrArray) usecs = read_hists(s->maps.section_usecs);
    int stats_fd = bpf_map__fd(s->maps.stats);
    uint64_t stats[VTRACE_STAT_MAX];

    if (!json) {
        g_string_append_c(out, '\n');
    }
    trace_report_counts(out, "@calls", calls, json);
    trace_report_counts(out, "@bytes", bytes, json);
    trace_report_counts(out, "@calls", section_calls, json);
    trace_report_counts(out, "@vmsd_bytes", vmsd_bytes, json);
    trace_report_counts(out, "@vmsd_calls", vmsd_calls, json);
    trace_report_hists(out, "@usecs", usecs, json);
    if (!trace_points_usdt(t->tp) && t->mode == TRACE_MODE_SUMMARY) {
        trace_report_note(out, QEMU_SUMMARY_NOTE, json);
    }
    for (__u32 i = 0; i < VTRACE_STAT_MAX; i++) {
        __u64 v = 0;
        stats[i] = bpf_map_lookup_elem(stats_fd, &i, &v) == 0 ? v : 0;
    }
    trace_report_stats(out, stats, json);
}

/* Detach first, so that the maps no longer move; then read and print them. */
static bool report(Tracer *t)
{
    g_autoptr(GString) out = g_string_new(NULL);

    g_clear_pointer(&t->att, trace_attachment_free);
    if (t->rb) {
        ring_buffer__consume(t->rb);
    }
    append_report(t, out);
    fwrite(out->str, 1, out->len, stdout);
    if (fflush(stdout) != 0) {
        fail("writing the report: %s", g_strerror(errno));
        return false;
    }
    return true;
}

/* ---- the loader ------------------------------------------------------------------- */

static void tracer_clear(Tracer *t)
{
    ring_buffer__free(t->rb);
    g_clear_pointer(&t->att, trace_attachment_free);
    vmscope_trace_bpf__destroy(t->skel);
    g_clear_pointer(&t->tp, trace_points_free);
    if (t->line) {
        g_string_free(t->line, TRUE);
    }
    for (unsigned i = 0; i < VTRACE_MAX_PIDS; i++) {
        if (t->pidfds[i] >= 0) {
            close(t->pidfds[i]);
        }
    }
    if (t->sigfd >= 0) {
        close(t->sigfd);
    }
}

/* Exit status: 2 if tracing could not start, 1 if it failed later, else 0. */
static int trace(Options *o)
{
    Tracer t = { .o = o, .sigfd = -1 };
    int status = 2;

    for (unsigned i = 0; i < VTRACE_MAX_PIDS; i++) {
        t.pidfds[i] = -1;
    }
    bool started = find_points(&t) &&
                   check_can_trace(&t) &&
                   open_bpf(&t) &&
                   load_bpf(&t) &&
                   open_events(&t) && catch_signals(&t) && attach_probes(&t);
    if (started) {
        status = poll_events(&t) ? 0 : 1;
        if (!report(&t)) {
            status = 1;
        }
    }
    tracer_clear(&t);
    return status;
}

int main(int argc, char **argv)
{
    Options o = { 0 };
    int status;

    o.pids = g_array_new(FALSE, FALSE, sizeof(pid_t));
    status = parse_options(argc, argv, &o);
    if (status == 0) {
        verbose = o.verbose;
        libbpf_set_print(libbpf_print);
        status = trace(&o);
    } else if (status == 1) {
        status = 0;
    }
    g_array_free(o.pids, TRUE);
    g_strfreev(o.functions);
    g_free(o.binary);
    g_free(o.pid_binary);
    return status;
}

/*
 * trace-points: what vmscope-trace attaches to, for each kind of binary, and
 * where those functions are in a given ELF file.
 *
 * A binary kind is a table of attach points.  Each entry names a function
 * (or an fnmatch() pattern such as "visit_type_*"), says what the function
 * does to the migration stream (put, get, save or load a VMStateDescription,
 * visit) and how its bytes are counted (see trace-event.h).  A binary is of a
 * kind when its symbol tables (.dynsym and .symtab, global and weak
 * functions) hold every required entry of that kind; the first kind that fits
 * wins.  The kind "qemu" is QEMU's qemu_put_* / qemu_get_* / vmstate_* /
 * visit_* functions, exported by Debian's build.
 *
 * Put and get functions need a return probe (to know when the outermost call
 * ends), and so do the vmstate functions (to pop the section stack); visits
 * are counted on entry only.
 *
 * The kind "vmscope" (vmscope-devhost, vmscope-agent, any program linking
 * libvmscope's engine) has USDT probes instead (provider "vmscope",
 * lib/include/vmscope/trace-usdt.h), found in the .note.stapsdt notes, which
 * survive stripping.  Its points are the QEMU functions the probes stand for,
 * all of them, in VmsUsdtFn order (the probes pass that index), each marked
 * whether -f wants it; `usdt` lists the probes the binary has.  Which of
 * them are attached depends on the mode:
 *
 *   TRACE_MODE_SUMMARY   section__save__done and section__load__done: one
 *                        hit per section, carrying its counts;
 *   TRACE_MODE_CALLS     vmsd__{save,load}__{start,done} for attribution and
 *                        time, put / get / visit for every call (those that
 *                        -f leaves a function for).
 *
 * QEMU has a summary mode too: only the vmstate_* functions are attached,
 * and a section's bytes are the change of its QEMUFile's stream position
 * between the outermost vmstate call's entry and return (see
 * TraceQemuFileLayout).
 *
 * Errors name the binary: "/bin/true: not a QEMU binary (missing functions
 * qemu_put_byte, ...) nor a vmscope binary (no vmscope USDT probes)".
 */
#ifndef VMSCOPE_TRACE_POINTS_H
#define VMSCOPE_TRACE_POINTS_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

typedef struct TracePointSpec {
    const char *pattern;   /* a function name, or an fnmatch() pattern */
    uint8_t kind;          /* enum vtrace_kind */
    uint8_t bytes;         /* enum vtrace_bytes */
    uint8_t n;             /* fixed byte count, or 1-based argument number */
    bool required;         /* a binary of this kind always has it */
} TracePointSpec;

typedef enum TraceMode {
    TRACE_MODE_CALLS,      /* every call */
    TRACE_MODE_SUMMARY,    /* whole sections: USDT kinds one hit per section, QEMU vmstate_* only */
} TraceMode;

typedef struct TraceUsdtSpec {
    const char *name;      /* probe name, e.g. "vmsd__save__start" */
    uint8_t probe;         /* enum vtrace_usdt_probe */
    uint8_t kind;          /* enum vtrace_kind of the calls it reports */
    TraceMode mode;        /* attached in this mode */
    bool required;         /* a binary of this kind always has it */
} TraceUsdtSpec;

typedef struct TraceBinaryKind {
    const char *name;      /* "qemu", "vmscope" */
    const char *title;     /* "QEMU", for messages */
    const TracePointSpec *specs;     /* uprobe kinds: functions */
    size_t n_specs;
    const char *usdt_provider;       /* USDT kinds: the provider ... */
    const TraceUsdtSpec *usdt_specs; /* ... and its probes */
    size_t n_usdt_specs;
} TraceBinaryKind;

typedef struct TracePoint {
    char *name;            /* the function */
    uint64_t offset;       /* its file offset: where the uprobe goes (0 for USDT kinds) */
    uint8_t kind;
    uint8_t bytes;
    uint8_t n;
    bool retprobe;         /* also probe its return */
    bool wanted;           /* -f wants it (always, for uprobe kinds) */
} TracePoint;

typedef struct TraceUsdtProbe {
    const TraceUsdtSpec *spec;
    unsigned sites;        /* places in the binary where it fires */
} TraceUsdtProbe;

/*
 * QEMU's QEMUFile is private, so summary mode for QEMU finds the members it
 * reads in the binary's own machine code (x86-64):
 *
 *   qemu_file_total_transferred_fast(f), which QEMU 7.2 compiles to
 *       mov D1(%rdi),%edx ; mov D2(%rdi),%rax ; test %edx,%edx ; je END ;
 *       shl $4,%rdx ; add %rdi,%rdx ; [nop] ;
 *     L: add D3(%rdi),%rax ; add $0x10,%rdi ; cmp %rdx,%rdi ; jne L ;
 *   END: ret
 *     gives iovcnt = D1, total_transferred = D2, iov[0].iov_len = D3;
 *     the write side's position is total_transferred + the sum of
 *     iov[i].iov_len for i < iovcnt;
 *   qemu_file_skip(f, size), compiled to
 *       add D4(%rdi),%esi ; cmp D5(%rdi),%esi ; jg END ; mov %esi,D4(%rdi) ;
 *   END: ret
 *     gives buf_index = D4 and buf_size = D5; the read side's position is
 *     total_transferred - (buf_size - buf_index) (qemu_fill_buffer adds
 *     what it reads to both buf_size and total_transferred).
 *
 * The iov array ends where iovcnt begins (QEMU: `struct iovec
 * iov[MAX_IOV_SIZE]; unsigned int iovcnt;`), which gives MAX_IOV_SIZE.
 * Any other instruction shape is refused: a one-line reason.
 */
typedef struct TraceQemuFileLayout {
    uint32_t total;        /* uint64_t total_transferred */
    uint32_t iov_len;      /* size_t iov[0].iov_len; iov[i] is 16 bytes further each */
    uint32_t iovcnt;       /* unsigned int iovcnt */
    uint32_t max_iov;      /* entries of iov[] */
    uint32_t buf_index;    /* int buf_index */
    uint32_t buf_size;     /* int buf_size */
} TraceQemuFileLayout;

/* The matchers, on a function's first `len` bytes of code (exported for
 * the unit tests).  false: the code does not have the expected shape. */
bool trace_qemu_match_total_fast(const uint8_t *code, size_t len, TraceQemuFileLayout *l);
bool trace_qemu_match_file_skip(const uint8_t *code, size_t len, TraceQemuFileLayout *l);

typedef struct TracePoints {
    char *binary;
    const TraceBinaryKind *kind;
    GArray *points;        /* TracePoint, in table order, then by name */
    unsigned n_retprobes;
    GArray *usdt;          /* TraceUsdtProbe, the binary's probes in table order */
    bool filtered;         /* -f left out some points (USDT kinds) */
    bool has_qemu_file;    /* QEMU: qemu_file is valid ... */
    TraceQemuFileLayout qemu_file;
    char *qemu_file_error; /* ... or why not (for summary mode) */
} TracePoints;

/* The kinds vmscope-trace knows, in the order they are tried. */
const TraceBinaryKind *trace_binary_kinds(size_t *n);

/*
 * Find the attach points of `binary`.  `only` (may be NULL or empty) keeps
 * the points whose function matches one of its fnmatch() patterns; it is an
 * error if none is left.
 */
TracePoints *trace_points_resolve(const char *binary, const char *const *only,
                                  GError **errp);
void trace_points_free(TracePoints *tp);

/* QEMU's summary mode: keep only the vmstate_* points (save and load). */
void trace_points_keep_vmstate(TracePoints *tp);

static inline bool trace_points_usdt(const TracePoints *tp)
{
    return tp->kind->usdt_provider != NULL;
}

/* USDT kinds: does `mode` attach probe p (is some function it reports wanted)? */
bool trace_points_usdt_attached(const TracePoints *tp, const TraceUsdtProbe *p, TraceMode mode);

/* Number of probes (uprobes, or USDT sites) that `mode` attaches. */
unsigned trace_points_count(const TracePoints *tp, TraceMode mode);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TracePoints, trace_points_free)

static inline const TracePoint *trace_points_get(const TracePoints *tp, unsigned i)
{
    return &g_array_index(tp->points, TracePoint, i);
}

#endif

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
 * wins.  Today there is one kind, "qemu" (QEMU's qemu_put_* / qemu_get_* /
 * vmstate_* / visit_* functions, exported by Debian's build); docs/tracing.md
 * describes how vmscope's own binaries will be added.
 *
 * Put and get functions need a return probe (to know when the outermost call
 * ends), and so do the vmstate functions (to pop the section stack); visits
 * are counted on entry only.
 *
 * Errors name the binary: "/bin/true: not a QEMU binary: missing functions
 * qemu_put_byte, qemu_get_byte, vmstate_save_state, vmstate_load_state".
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

typedef struct TraceBinaryKind {
    const char *name;      /* "qemu" */
    const char *title;     /* "QEMU", for messages */
    const TracePointSpec *specs;
    size_t n_specs;
} TraceBinaryKind;

typedef struct TracePoint {
    char *name;            /* the function */
    uint64_t offset;       /* its file offset: where the uprobe goes */
    uint8_t kind;
    uint8_t bytes;
    uint8_t n;
    bool retprobe;         /* also probe its return */
} TracePoint;

typedef struct TracePoints {
    char *binary;
    const TraceBinaryKind *kind;
    GArray *points;        /* TracePoint, in table order, then by name */
    unsigned n_retprobes;
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
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TracePoints, trace_points_free)

static inline const TracePoint *trace_points_get(const TracePoints *tp, unsigned i)
{
    return &g_array_index(tp->points, TracePoint, i);
}

#endif

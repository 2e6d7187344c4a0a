/*
 * trace-report: what vmscope-trace prints.  Formatting only, no BPF: the
 * loader reads its maps into TraceCount and TraceHist arrays and these
 * functions print them the way bpftrace prints its maps, or as JSON lines.
 *
 * Text.  A map is a block of lines sorted by value, then key (bpftrace sorts
 * by value), followed by an empty line:
 *
 *   @calls[qemu_put_be32]: 1234
 *   @calls[e1000, qemu_put_be32]: 12
 *
 * A histogram is bpftrace's hist(): a line "@usecs[KEY]: " (with bpftrace's
 * trailing space), then one line per log2 bucket from the first non-empty
 * one to the last, then an empty line.  Buckets are labelled (..., 0), [0],
 * [1], [2, 4), [4, 8) ... [512, 1K), [1K, 2K) ... with K, M, G, T suffixes;
 * the label is padded to 16 columns, the count right-aligned in 8, and the
 * bar has 52 columns of '@' scaled to the largest bucket:
 *
 *   [4, 8)                 3 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
 *
 * Histograms are sorted by their total count, then key.
 *
 * JSON lines, shaped like `bpftrace -f json` output (a two-key map nests
 * its second key, so that names need no separator):
 *
 *   {"type":"map","data":{"@calls":{"qemu_put_be32":1234}}}
 *   {"type":"map","data":{"@calls":{"e1000":{"qemu_put_be32":12}}}}
 *   {"type":"hist","data":{"@usecs":{"e1000":[{"min":4,"max":7,"count":3}]}}}
 *
 * Events (--events), one line each; see trace_report_event().
 */
#ifndef VMSCOPE_TRACE_REPORT_H
#define VMSCOPE_TRACE_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <linux/types.h>

#include "trace-event.h"

typedef struct TraceCount {
    char *key1;
    char *key2;            /* NULL in a one-key map */
    uint64_t value;
} TraceCount;

typedef struct TraceHist {
    char *key;
    uint64_t slots[VTRACE_HIST_SLOTS];   /* bpftrace's slots: <0, 0, 1, [2,4) ... */
} TraceHist;

TraceCount *trace_count_new(const char *key1, const char *key2, uint64_t value);
void trace_count_free(TraceCount *c);
TraceHist *trace_hist_new(const char *key);
void trace_hist_free(TraceHist *h);

/* "put", "get", "save", "load", "visit" (enum vtrace_kind) */
const char *trace_kind_name(unsigned kind);

/* bpftrace's bucket of a value: 0 below zero, 1 for 0, 2 + log2(v) above. */
unsigned trace_hist_slot(int64_t v);

/* The map `name` (e.g. "@calls") as text or as one JSON line; sorts `counts`
 * (TraceCount) or `hists` (TraceHist) in place.  Nothing for an empty map. */
void trace_report_counts(GString *out, const char *name, GPtrArray *counts, bool json);
void trace_report_hists(GString *out, const char *name, GPtrArray *hists, bool json);

/*
 * The loss counters (enum vtrace_stat).  Text: "dropped events: N" always,
 * then a line for each other counter that is not zero.  JSON: one line
 * {"type":"stats","data":{"dropped_events":N,"map_full":N,...}}.
 */
void trace_report_stats(GString *out, const uint64_t *stats, bool json);

/* A remark about what the report holds: text "note: TEXT" followed by an
 * empty line; JSON {"type":"note","data":{"text":TEXT}}. */
void trace_report_note(GString *out, const char *text, bool json);

/* Just the bucket lines of one histogram, as bpftrace prints them. */
void trace_report_hist_buckets(GString *out, const uint64_t *slots);

/*
 * One event line.  `func` names e->func; `t0_ns` is when tracing began (the
 * CLOCK_MONOTONIC time printed as 0).  Text:
 *
 *   0.001234 pid=1234 tid=1240 qemu_put_be32 section=e1000 vmsd=e1000/full_mac_state bytes=4
 *   0.001240 pid=1234 tid=1240 qemu_get_byte section=e1000 vmsd=e1000 bytes=0 nested
 *   0.000100 pid=1234 tid=1240 vmstate_save_state enter section=e1000 vmsd=e1000 depth=1
 *   0.000300 pid=1234 tid=1240 vmstate_save_state return section=e1000 vmsd=e1000 depth=1 usecs=200
 *
 * JSON: {"type":"event","data":{"time_ns":..,"pid":..,"tid":..,"func":..,
 * "kind":"put","phase":"call","section":..,"vmsd":..,"depth":..,"bytes":4,
 * "nested":false}}; a section's return carries "duration_ns".
 */
void trace_report_event(GString *out, const struct vtrace_event *e, const char *func,
                        uint64_t t0_ns, bool json);

#endif

/* vmscope-trace's output, bpftrace-style text and JSON lines: see trace-report.h. */
#include "config.h"

#include <inttypes.h>
#include <string.h>
#include <json-c/json.h>

#include "trace-report.h"

const char *trace_kind_name(unsigned kind)
{
    switch (kind) {
    case VTRACE_KIND_PUT: return "put";
    case VTRACE_KIND_GET: return "get";
    case VTRACE_KIND_SAVE: return "save";
    case VTRACE_KIND_LOAD: return "load";
    case VTRACE_KIND_VISIT: return "visit";
    }
    return "?";
}

TraceCount *trace_count_new(const char *key1, const char *key2, uint64_t value)
{
    TraceCount *c = g_new0(TraceCount, 1);

    c->key1 = g_strdup(key1);
    c->key2 = g_strdup(key2);
    c->value = value;
    return c;
}

void trace_count_free(TraceCount *c)
{
    if (c) {
        g_free(c->key1);
        g_free(c->key2);
        g_free(c);
    }
}

TraceHist *trace_hist_new(const char *key)
{
    TraceHist *h = g_new0(TraceHist, 1);

    h->key = g_strdup(key);
    return h;
}

void trace_hist_free(TraceHist *h)
{
    if (h) {
        g_free(h->key);
        g_free(h);
    }
}

unsigned trace_hist_slot(int64_t v)
{
    if (v < 0) {
        return 0;
    }
    if (v == 0) {
        return 1;
    }
    return 2 + (unsigned)(63 - __builtin_clzll((uint64_t)v));
}

static int compare_counts(gconstpointer a, gconstpointer b)
{
    const TraceCount *x = *(TraceCount *const *)a, *y = *(TraceCount *const *)b;
    int r;

    if (x->value != y->value) {
        return x->value < y->value ? -1 : 1;
    }
    r = strcmp(x->key1, y->key1);
    if (r == 0 && x->key2 && y->key2) {
        r = strcmp(x->key2, y->key2);
    }
    return r;
}

static uint64_t hist_total(const TraceHist *h)
{
    uint64_t t = 0;

    for (unsigned i = 0; i < VTRACE_HIST_SLOTS; i++) {
        t += h->slots[i];
    }
    return t;
}

static int compare_hists(gconstpointer a, gconstpointer b)
{
    const TraceHist *x = *(TraceHist *const *)a, *y = *(TraceHist *const *)b;
    uint64_t tx = hist_total(x), ty = hist_total(y);

    if (tx != ty) {
        return tx < ty ? -1 : 1;
    }
    return strcmp(x->key, y->key);
}

static void append_json_line(GString *out, json_object *obj)
{
    g_string_append(out, json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    g_string_append_c(out, '\n');
}

/* {"type": TYPE, "data": {NAME: body}}, consuming body. */
static json_object *json_record(const char *type, const char *name, json_object *body)
{
    json_object *rec = json_object_new_object();
    json_object *data = json_object_new_object();

    json_object_object_add(data, name, body);
    json_object_object_add(rec, "type", json_object_new_string(type));
    json_object_object_add(rec, "data", data);
    return rec;
}

void trace_report_counts(GString *out, const char *name, GPtrArray *counts, bool json)
{
    if (counts->len == 0) {
        return;
    }
    g_ptr_array_sort(counts, compare_counts);
    if (json) {
        json_object *body = json_object_new_object();
        for (unsigned i = 0; i < counts->len; i++) {
            const TraceCount *c = counts->pdata[i];
            json_object *inner = body;
            const char *key = c->key1;
            if (c->key2) {
                if (!json_object_object_get_ex(body, c->key1, &inner)) {
                    inner = json_object_new_object();
                    json_object_object_add(body, c->key1, inner);
                }
                key = c->key2;
            }
            json_object_object_add(inner, key, json_object_new_uint64(c->value));
        }
        json_object *rec = json_record("map", name, body);
        append_json_line(out, rec);
        json_object_put(rec);
        return;
    }
    for (unsigned i = 0; i < counts->len; i++) {
        const TraceCount *c = counts->pdata[i];
        if (c->key2) {
            g_string_append_printf(out, "%s[%s, %s]: %" PRIu64 "\n", name, c->key1, c->key2, c->value);
        } else {
            g_string_append_printf(out, "%s[%s]: %" PRIu64 "\n", name, c->key1, c->value);
        }
    }
    g_string_append_c(out, '\n');
}

/* bpftrace's bucket bound 2^power written with a K/M/G/T suffix. */
static void append_power(GString *out, unsigned power)
{
    static const char suffix[] = { 'T', 'G', 'M', 'K' };
    static const unsigned at[] = { 40, 30, 20, 10 };

    for (unsigned i = 0; i < G_N_ELEMENTS(at); i++) {
        if (power >= at[i]) {
            g_string_append_printf(out, "%" PRIu64 "%c", (uint64_t)1 << (power - at[i]), suffix[i]);
            return;
        }
    }
    g_string_append_printf(out, "%" PRIu64, (uint64_t)1 << power);
}

static bool hist_range(const uint64_t *slots, unsigned *first, unsigned *last, uint64_t *max)
{
    bool any = false;

    *max = 0;
    for (unsigned i = 0; i < VTRACE_HIST_SLOTS; i++) {
        if (slots[i] > 0) {
            if (!any) {
                *first = i;
            }
            *last = i;
            any = true;
        }
        if (slots[i] > *max) {
            *max = slots[i];
        }
    }
    return any;
}

void trace_report_hist_buckets(GString *out, const uint64_t *slots)
{
    unsigned first = 0, last = 0;
    uint64_t max;
    g_autoptr(GString) label = g_string_new(NULL);
    char bar[53];

    if (!hist_range(slots, &first, &last, &max)) {
        return;
    }
    for (unsigned i = first; i <= last; i++) {
        /* bpftrace computes the bar in float and truncates. */
        int width = (int)((float)slots[i] / (float)max * 52.0f);

        g_string_truncate(label, 0);
        if (i == 0) {
            g_string_append(label, "(..., 0)");
        } else if (i == 1) {
            g_string_append(label, "[0]");
        } else if (i == 2) {
            g_string_append(label, "[1]");
        } else {
            g_string_append_c(label, '[');
            append_power(label, i - 2);
            g_string_append(label, ", ");
            append_power(label, i - 1);
            g_string_append_c(label, ')');
        }
        memset(bar, '@', (size_t)width);
        bar[width] = '\0';
        g_string_append_printf(out, "%-16s%8" PRIu64 " |%-52s|\n", label->str, slots[i], bar);
    }
}

/* Bucket i's smallest and largest value, as bpftrace's JSON gives them. */
static json_object *hist_bucket_json(unsigned i, uint64_t count)
{
    json_object *b = json_object_new_object();

    if (i == 0) {
        json_object_object_add(b, "max", json_object_new_int64(-1));
    } else if (i == 1) {
        json_object_object_add(b, "min", json_object_new_int64(0));
        json_object_object_add(b, "max", json_object_new_int64(0));
    } else {
        uint64_t lo = (uint64_t)1 << (i - 2);
        json_object_object_add(b, "min", json_object_new_uint64(lo));
        json_object_object_add(b, "max", json_object_new_uint64(lo + (lo - 1)));
    }
    json_object_object_add(b, "count", json_object_new_uint64(count));
    return b;
}

void trace_report_hists(GString *out, const char *name, GPtrArray *hists, bool json)
{
    json_object *body = NULL;

    if (hists->len == 0) {
        return;
    }
    g_ptr_array_sort(hists, compare_hists);
    if (json) {
        body = json_object_new_object();
    }
    for (unsigned i = 0; i < hists->len; i++) {
        const TraceHist *h = hists->pdata[i];
        unsigned first = 0, last = 0;
        uint64_t max;

        if (!json) {
            g_string_append_printf(out, "%s[%s]: \n", name, h->key);
            trace_report_hist_buckets(out, h->slots);
            g_string_append_c(out, '\n');
            continue;
        }
        json_object *buckets = json_object_new_array();
        if (hist_range(h->slots, &first, &last, &max)) {
            for (unsigned s = first; s <= last; s++) {
                json_object_array_add(buckets, hist_bucket_json(s, h->slots[s]));
            }
        }
        json_object_object_add(body, h->key, buckets);
    }
    if (json) {
        json_object *rec = json_record("hist", name, body);
        append_json_line(out, rec);
        json_object_put(rec);
    }
}

void trace_report_note(GString *out, const char *text, bool json)
{
    json_object *data, *rec;

    if (!json) {
        g_string_append_printf(out, "note: %s\n\n", text);
        return;
    }
    data = json_object_new_object();
    rec = json_object_new_object();
    json_object_object_add(data, "text", json_object_new_string(text));
    json_object_object_add(rec, "type", json_object_new_string("note"));
    json_object_object_add(rec, "data", data);
    append_json_line(out, rec);
    json_object_put(rec);
}

void trace_report_stats(GString *out, const uint64_t *stats, bool json)
{
    static const struct {
        const char *json;
        const char *text;
    } names[VTRACE_STAT_MAX] = {
        [VTRACE_STAT_DROPPED_EVENTS] = { "dropped_events", "dropped events" },
        [VTRACE_STAT_MAP_FULL] = { "map_full", "lost counts (a summary map was full)" },
        [VTRACE_STAT_THREADS_FULL] = { "threads_full", "calls on untracked threads (too many threads)" },
        [VTRACE_STAT_DEPTH_OVERFLOW] = { "depth_overflow", "vmstate calls nested too deep" },
        [VTRACE_STAT_READ_ERRORS] = { "read_errors", "names or strings that could not be read" },
    };

    if (json) {
        json_object *data = json_object_new_object();
        json_object *rec = json_object_new_object();
        for (unsigned i = 0; i < VTRACE_STAT_MAX; i++) {
            json_object_object_add(data, names[i].json, json_object_new_uint64(stats[i]));
        }
        json_object_object_add(rec, "type", json_object_new_string("stats"));
        json_object_object_add(rec, "data", data);
        append_json_line(out, rec);
        json_object_put(rec);
        return;
    }
    for (unsigned i = 0; i < VTRACE_STAT_MAX; i++) {
        if (i == VTRACE_STAT_DROPPED_EVENTS || stats[i]) {
            g_string_append_printf(out, "%s: %" PRIu64 "\n", names[i].text, stats[i]);
        }
    }
}

static const char *phase_name(unsigned phase)
{
    switch (phase) {
    case VTRACE_PHASE_ENTRY: return "enter";
    case VTRACE_PHASE_RETURN: return "return";
    }
    return "call";
}

/* The kernel's copy of a name is NUL-terminated within its array. */
static char *event_name(const char *name)
{
    return g_strndup(name, VTRACE_NAME_LEN);
}

void trace_report_event(GString *out, const struct vtrace_event *e, const char *func,
                        uint64_t t0_ns, bool json)
{
    uint64_t rel = e->time_ns >= t0_ns ? e->time_ns - t0_ns : 0;
    bool io = e->kind == VTRACE_KIND_PUT || e->kind == VTRACE_KIND_GET;
    bool section_end = e->phase == VTRACE_PHASE_RETURN && e->depth == 1;
    g_autofree char *section = event_name(e->section);
    g_autofree char *vmsd = event_name(e->vmsd);

    if (json) {
        json_object *d = json_object_new_object();
        json_object_object_add(d, "time_ns", json_object_new_uint64(rel));
        json_object_object_add(d, "pid", json_object_new_int64(e->pid));
        json_object_object_add(d, "tid", json_object_new_int64(e->tid));
        json_object_object_add(d, "func", json_object_new_string(func));
        json_object_object_add(d, "kind", json_object_new_string(trace_kind_name(e->kind)));
        json_object_object_add(d, "phase", json_object_new_string(phase_name(e->phase)));
        json_object_object_add(d, "section", json_object_new_string(section));
        json_object_object_add(d, "vmsd", json_object_new_string(vmsd));
        json_object_object_add(d, "depth", json_object_new_int64(e->depth));
        if (io) {
            json_object_object_add(d, "bytes", json_object_new_uint64(e->value));
            json_object_object_add(d, "nested", json_object_new_boolean(e->nested));
        }
        if (section_end) {
            json_object_object_add(d, "duration_ns", json_object_new_uint64(e->value));
        }
        json_object *rec = json_object_new_object();
        json_object_object_add(rec, "type", json_object_new_string("event"));
        json_object_object_add(rec, "data", d);
        append_json_line(out, rec);
        json_object_put(rec);
        return;
    }
    g_string_append_printf(out, "%" PRIu64 ".%06" PRIu64 " pid=%u tid=%u %s", rel / 1000000000,
                           rel / 1000 % 1000000, e->pid, e->tid, func);
    if (e->phase != VTRACE_PHASE_CALL) {
        g_string_append_printf(out, " %s", phase_name(e->phase));
    }
    g_string_append_printf(out, " section=%s vmsd=%s", section, vmsd);
    if (io) {
        g_string_append_printf(out, " bytes=%" PRIu64 "%s", (uint64_t)e->value, e->nested ? " nested" : "");
    } else if (e->kind != VTRACE_KIND_VISIT) {
        g_string_append_printf(out, " depth=%u", e->depth);
        if (section_end) {
            g_string_append_printf(out, " usecs=%" PRIu64, (uint64_t)e->value / 1000);
        }
    }
    g_string_append_c(out, '\n');
}

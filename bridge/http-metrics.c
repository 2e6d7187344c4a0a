/*
 * HTTP bridge: GET /metrics, in the Prometheus text exposition format
 * (version 0.0.4): the agent's own figures, from the query-agent-stats
 * command when the dispatcher has it, then the HTTP server's counters.
 *
 * query-agent-stats returns a dict.  Members this file knows get their
 * metric name, type and help text from agent_metrics[]; a member it does
 * not know is still exported, as an untyped "vmscope_<member>" with '-'
 * turned into '_', so that a new figure shows up before anyone describes
 * it.  A number is one sample; a dict of numbers is one sample per member,
 * labelled with the member's name (label "command" for QMP requests,
 * "name" otherwise); a dict {"le": [bounds as text], "buckets": [counts per bucket,
 * the last one +Inf], "sum", "count"} is a histogram; anything else is
 * skipped.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "http-impl.h"

static const double duration_bounds[HTTP_DURATION_BUCKETS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5,
};

typedef struct AgentMetric {
    const char *member;     /* in query-agent-stats */
    const char *name;
    const char *type;
    const char *label;      /* for a dict of numbers */
    const char *help;
} AgentMetric;

static const AgentMetric agent_metrics[] = {
    { "hosts", "vmscope_hosts", "gauge", NULL,
      "Device hosts the agent knows, alive or lost." },
    { "hosts-lost", "vmscope_hosts_lost", "gauge", NULL,
      "Device hosts whose process is gone or whose segment is broken." },
    { "devices", "vmscope_devices", "gauge", NULL,
      "Devices published by the device hosts." },
    { "state-bytes", "vmscope_state_bytes", "gauge", NULL,
      "Bytes of device state in the shared-memory segments." },
    { "snapshots", "vmscope_snapshots_total", "counter", NULL,
      "Consistent copies of device state taken from shared memory." },
    { "snapshot-retries", "vmscope_snapshot_retries_total", "counter", NULL,
      "Copies of device state retried because a writer changed the state meanwhile." },
    { "snapshot-failures", "vmscope_snapshot_failures_total", "counter", NULL,
      "Copies of device state given up (the state kept changing, or the segment is broken)." },
    { "qmp-requests", "vmscope_qmp_requests_total", "counter", "command",
      "QMP commands run, over QMP and HTTP (a dict: by command)." },
    { "qemu-migrations-failed", "vmscope_qemu_migrations_failed_total", "counter", NULL,
      "Migrations of QEMU hosts seen failing (query-migrate status 'failed')." },
    { "qemu-snapshots", "vmscope_qemu_snapshots_total", "counter", NULL,
      "Device-state snapshots of QEMU hosts (xen-save-devices-state, decoded)." },
    { "qemu-snapshot-failures", "vmscope_qemu_snapshot_failures_total", "counter", NULL,
      "Snapshots of QEMU hosts that failed (blocked migration, no descriptions, QEMU refusing)." },
    { "qemu-snapshot-pause-seconds", "vmscope_qemu_snapshot_pause_seconds", "histogram", NULL,
      "How long a running VM was stopped per snapshot (QEMU's STOP to RESUME timestamps)." },
    { "qemu-snapshot-seconds", "vmscope_qemu_snapshot_seconds", "histogram", NULL,
      "Whole snapshot of a QEMU host, from asking QEMU to the decoded state." },
    { "qemu-snapshot-bytes", "vmscope_qemu_snapshot_bytes", "histogram", NULL,
      "Bytes of device state QEMU saved per snapshot." },
};

/* ---- HTTP counters ------------------------------------------------------ */

void http_metrics_init(HttpMetrics *m)
{
    memset(m, 0, sizeof(*m));
    m->requests = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
}

void http_metrics_free(HttpMetrics *m)
{
    g_clear_pointer(&m->requests, g_hash_table_destroy);
}

void http_metrics_count(HttpMetrics *m, HttpEndpoint ep, unsigned status, double seconds,
                        bool observe_duration)
{
    gpointer key = GUINT_TO_POINTER((guint)ep << 16 | (status & 0xffff));
    guint64 *n = g_hash_table_lookup(m->requests, key);
    if (!n) {
        n = g_new0(guint64, 1);
        g_hash_table_insert(m->requests, key, n);
    }
    (*n)++;
    if (!observe_duration) {
        return;
    }
    for (int i = 0; i < HTTP_DURATION_BUCKETS; i++) {
        if (seconds <= duration_bounds[i]) {
            m->duration_buckets[ep][i]++;
            break;
        }
    }
    m->duration_count[ep]++;
    m->duration_sum[ep] += seconds;
}

/* ---- the exposition ----------------------------------------------------- */

static void header(GString *out, const char *name, const char *type, const char *help)
{
    g_string_append_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void append_double(GString *out, double v)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    if (isnan(v)) {
        g_string_append(out, "NaN");
    } else if (isinf(v)) {
        g_string_append(out, v > 0 ? "+Inf" : "-Inf");
    } else {
        g_string_append(out, g_ascii_dtostr(buf, sizeof(buf), v));
    }
}

/* A sample's value; false if v is not a number. */
static bool append_value(GString *out, const QObject *v)
{
    int64_t i;
    uint64_t u;
    double d;
    bool b;

    switch (qobject_type(v)) {
    case QTYPE_INT:
        if (qnum_get_int(v, &i)) {
            g_string_append_printf(out, "%" G_GINT64_FORMAT, (gint64)i);
        } else if (qnum_get_uint(v, &u)) {
            g_string_append_printf(out, "%" G_GUINT64_FORMAT, (guint64)u);
        } else {
            return false;
        }
        return true;
    case QTYPE_DOUBLE:
        qnum_get_double(v, &d);
        append_double(out, d);
        return true;
    case QTYPE_BOOL:
        qbool_get(v, &b);
        g_string_append_c(out, b ? '1' : '0');
        return true;
    default:
        return false;
    }
}

static void append_label_value(GString *out, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"') {
            g_string_append_c(out, '\\');
            g_string_append_c(out, *v);
        } else if (*v == '\n') {
            g_string_append(out, "\\n");
        } else {
            g_string_append_c(out, *v);
        }
    }
}

static bool is_number(const QObject *v)
{
    QType t = qobject_type(v);
    return t == QTYPE_INT || t == QTYPE_DOUBLE || t == QTYPE_BOOL;
}

/* {"le": [...], "buckets": [...], "sum", "count"}: one histogram, cumulated here. */
static bool histogram(GString *out, const char *name, const char *help, const QObject *v)
{
    QObject *le = qdict_get(v, "le"), *buckets = qdict_get(v, "buckets");
    if (qobject_type(le) != QTYPE_LIST || qobject_type(buckets) != QTYPE_LIST ||
        qlist_size(buckets) != qlist_size(le) + 1 || !is_number(qdict_get(v, "sum")) ||
        !is_number(qdict_get(v, "count"))) {
        return false;
    }
    header(out, name, "histogram", help);
    uint64_t cum = 0;
    for (size_t i = 0; i < qlist_size(buckets); i++) {
        uint64_t n = 0;
        qnum_get_uint(qlist_get(buckets, i), &n);
        cum += n;
        if (i < qlist_size(le)) {
            g_string_append_printf(out, "%s_bucket{le=\"", name);
            append_label_value(out, qstring_get(qlist_get(le, i)) ? qstring_get(qlist_get(le, i))
                                                                   : "?");
            g_string_append_printf(out, "\"} %" G_GUINT64_FORMAT "\n", cum);
        } else {
            g_string_append_printf(out, "%s_bucket{le=\"+Inf\"} %" G_GUINT64_FORMAT "\n", name,
                                   cum);
        }
    }
    g_string_append_printf(out, "%s_sum ", name);
    append_value(out, qdict_get(v, "sum"));
    g_string_append_printf(out, "\n%s_count ", name);
    append_value(out, qdict_get(v, "count"));
    g_string_append_c(out, '\n');
    return true;
}

static void agent_member(GString *out, const char *member, const QObject *v)
{
    const AgentMetric *known = NULL;
    g_autofree char *generic = NULL;
    g_autofree char *generic_help = NULL;

    for (size_t i = 0; i < G_N_ELEMENTS(agent_metrics); i++) {
        if (strcmp(agent_metrics[i].member, member) == 0) {
            known = &agent_metrics[i];
        }
    }
    if (!known) {
        generic = g_strconcat("vmscope_", member, NULL);
        for (char *p = generic; *p; p++) {
            if (!g_ascii_isalnum(*p) && *p != '_') {
                *p = '_';
            }
        }
        generic_help = g_strdup_printf("query-agent-stats member '%s'.", member);
    }
    const char *name = known ? known->name : generic;

    if (is_number(v)) {
        header(out, name, known ? known->type : "untyped", known ? known->help : generic_help);
        g_string_append_printf(out, "%s ", name);
        append_value(out, v);
        g_string_append_c(out, '\n');
    } else if (qobject_type(v) == QTYPE_DICT && qdict_haskey(v, "buckets")) {
        histogram(out, name, known ? known->help : generic_help, v);
    } else if (qobject_type(v) == QTYPE_DICT) {
        const char *label = known && known->label ? known->label : "name";
        bool any = false;
        qdict_foreach(v, key, val) {
            if (!is_number(val)) {
                continue;
            }
            if (!any) {
                header(out, name, known ? known->type : "untyped",
                       known ? known->help : generic_help);
                any = true;
            }
            g_string_append_printf(out, "%s{%s=\"", name, label);
            append_label_value(out, key);
            g_string_append(out, "\"} ");
            append_value(out, val);
            g_string_append_c(out, '\n');
        }
    }
}

static void agent_stats(HttpServer *s, GString *out)
{
    g_autoptr(QObject) stats = NULL;
    g_autoptr(GError) err = NULL;

    if (!qmp_dispatcher_has_command(s->dispatcher, "query-agent-stats")) {
        return;
    }
    if (!qmp_dispatcher_call(s->dispatcher, "query-agent-stats", NULL, &stats, &err)) {
        g_debug("http: /metrics: query-agent-stats: %s", err->message);
        header(out, "vmscope_agent_stats_errors", "gauge",
               "1 if query-agent-stats failed for this scrape.");
        g_string_append(out, "vmscope_agent_stats_errors 1\n");
        return;
    }
    if (qobject_type(stats) != QTYPE_DICT) {
        return;
    }
    qdict_foreach(stats, member, v) {
        agent_member(out, member, v);
    }
}

static gint compare_keys(gconstpointer a, gconstpointer b)
{
    guint ka = GPOINTER_TO_UINT(a), kb = GPOINTER_TO_UINT(b);
    return ka < kb ? -1 : ka > kb;
}

static void http_counters(HttpServer *s, GString *out)
{
    HttpMetrics *m = &s->metrics;
    GList *keys = g_list_sort(g_hash_table_get_keys(m->requests), compare_keys);

    header(out, "vmscope_http_requests_total", "counter",
           "HTTP requests answered, by status code and endpoint.");
    for (GList *l = keys; l; l = l->next) {
        guint key = GPOINTER_TO_UINT(l->data);
        guint64 *n = g_hash_table_lookup(m->requests, l->data);
        g_string_append_printf(out, "vmscope_http_requests_total{code=\"%u\",endpoint=\"%s\"} %"
                               G_GUINT64_FORMAT "\n", key & 0xffff,
                               http_endpoint_name(key >> 16), *n);
    }
    g_list_free(keys);

    header(out, "vmscope_http_request_duration_seconds", "histogram",
           "Time from a request's headers to the end of its response (event streams not "
           "counted).");
    for (int ep = 0; ep < HTTP_EP_COUNT; ep++) {
        const char *epn = http_endpoint_name(ep);
        guint64 cum = 0;
        if (ep == HTTP_EP_EVENTS) {
            continue;
        }
        for (int i = 0; i < HTTP_DURATION_BUCKETS; i++) {
            char le[G_ASCII_DTOSTR_BUF_SIZE];
            cum += m->duration_buckets[ep][i];
            g_string_append_printf(out, "vmscope_http_request_duration_seconds_bucket"
                                   "{endpoint=\"%s\",le=\"%s\"} %" G_GUINT64_FORMAT "\n",
                                   epn, g_ascii_formatd(le, sizeof(le), "%g", duration_bounds[i]),
                                   cum);
        }
        g_string_append_printf(out, "vmscope_http_request_duration_seconds_bucket"
                               "{endpoint=\"%s\",le=\"+Inf\"} %" G_GUINT64_FORMAT "\n",
                               epn, m->duration_count[ep]);
        g_string_append_printf(out, "vmscope_http_request_duration_seconds_sum{endpoint=\"%s\"} ",
                               epn);
        append_double(out, m->duration_sum[ep]);
        g_string_append_printf(out, "\nvmscope_http_request_duration_seconds_count"
                               "{endpoint=\"%s\"} %" G_GUINT64_FORMAT "\n",
                               epn, m->duration_count[ep]);
    }

    header(out, "vmscope_http_connections", "gauge", "HTTP connections open now.");
    g_string_append_printf(out, "vmscope_http_connections %u\n", s->connections);
    header(out, "vmscope_http_connections_total", "counter", "HTTP connections accepted.");
    g_string_append_printf(out, "vmscope_http_connections_total %" G_GUINT64_FORMAT "\n",
                           m->connections_total);
    header(out, "vmscope_http_request_timeouts_total", "counter",
           "HTTP connections closed because a request did not arrive in time.");
    g_string_append_printf(out, "vmscope_http_request_timeouts_total %" G_GUINT64_FORMAT "\n",
                           m->connections_timed_out);
    header(out, "vmscope_sse_clients", "gauge", "Event-stream (/api/events) clients connected.");
    g_string_append_printf(out, "vmscope_sse_clients %u\n", s->sse_clients.length);
    header(out, "vmscope_sse_events_total", "counter", "Events sent to the event stream.");
    g_string_append_printf(out, "vmscope_sse_events_total %" G_GUINT64_FORMAT "\n", m->sse_events);
    header(out, "vmscope_sse_clients_dropped_total", "counter",
           "Event-stream clients dropped because they did not keep up.");
    g_string_append_printf(out, "vmscope_sse_clients_dropped_total %" G_GUINT64_FORMAT "\n",
                           m->sse_dropped);
}

enum MHD_Result http_metrics_serve(HttpRequest *r)
{
    GString *out = g_string_sized_new(8192);
    agent_stats(r->server, out);
    http_counters(r->server, out);
    size_t len = out->len;
    return http_respond_text(r, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
                             g_string_free(out, FALSE), len);
}

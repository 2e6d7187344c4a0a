/*
 * The agent's QMP command handlers; see commands.h.  Handlers only check
 * what the dispatcher's argument specs cannot (paths, the format value) and
 * turn the registry's answers and errors into QMP results and classes.
 */
#include "config.h"

#include <string.h>

#include "commands.h"
#include "vmscope/error.h"
#include "vmscope/shm-segment.h"

struct AgentCommands {
    QmpDispatcher *d;
    AgentRegistry *reg;
    GPtrArray *qemus;             /* AgentQemu *, borrowed */
    uint64_t requests;
    uint64_t qemu_failed_gone;    /* migrations_failed of the QEMUs removed */
};

bool agent_device_path_parse(const char *path, char **host, char **id, GError **errp)
{
    const char *slash = path[0] == '/' ? strchr(path + 1, '/') : NULL;
    if (!slash || slash == path + 1 || !slash[1] || strchr(slash + 1, '/')) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "Invalid device path '%s': expected /HOST/ID", path);
        return false;
    }
    g_autofree char *h = g_strndup(path + 1, (size_t)(slash - path - 1));
    if (!shm_host_name_valid(h, NULL)) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "Invalid device path '%s': invalid host name '%s'", path, h);
        return false;
    }
    if (!shm_device_id_valid(slash + 1)) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "Invalid device path '%s': invalid device id '%s'", path, slash + 1);
        return false;
    }
    *host = g_steal_pointer(&h);
    *id = g_strdup(slash + 1);
    return true;
}

static AgentQemu *find_qemu(AgentCommands *c, const char *host)
{
    for (guint i = 0; i < c->qemus->len; i++) {
        AgentQemu *q = g_ptr_array_index(c->qemus, i);
        if (strcmp(agent_qemu_name(q), host) == 0) {
            return q;
        }
    }
    return NULL;
}

/* Registry errors as QMP errors: a device that is not there is DeviceNotFound. */
static void device_error(GError **errp, GError *err, const char *path)
{
    if (g_error_matches(err, VMS_ERROR, VMS_ERROR_NOT_FOUND)) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_DEVICE_NOT_FOUND, "Device '%s' not found", path);
        g_error_free(err);
    } else {
        g_propagate_error(errp, err);
    }
}

static bool cmd_query_version(QObject *args, QObject **ret, void *opaque, GError **errp)
{
    AgentCommands *c = opaque;
    c->requests++;
    *ret = qmp_dispatcher_version(c->d);
    return true;
}

static bool cmd_query_commands(QObject *args, QObject **ret, void *opaque, GError **errp)
{
    AgentCommands *c = opaque;
    c->requests++;
    g_auto(GStrv) names = qmp_dispatcher_list_commands(c->d);
    QObject *list = qlist_new();
    for (char **n = names; *n; n++) {
        QObject *info = qdict_new();
        qdict_put(info, "name", qstring_from_str(*n));
        qlist_append(list, info);
    }
    *ret = list;
    return true;
}

static bool cmd_query_hosts(QObject *args, QObject **ret, void *opaque, GError **errp)
{
    AgentCommands *c = opaque;
    c->requests++;
    QObject *list = agent_registry_hosts(c->reg);
    for (guint i = 0; i < c->qemus->len; i++) {
        qlist_append(list, agent_qemu_host_info(g_ptr_array_index(c->qemus, i)));
    }
    *ret = list;
    return true;
}

static bool cmd_query_devices(QObject *args, QObject **ret, void *opaque, GError **errp)
{
    AgentCommands *c = opaque;
    c->requests++;
    *ret = agent_registry_devices(c->reg);
    for (guint i = 0; i < c->qemus->len; i++) {
        agent_qemu_devices(g_ptr_array_index(c->qemus, i), *ret);
    }
    return true;
}

static bool cmd_query_device_state(QObject *args, QObject **ret, void *opaque, GError **errp)
{
    AgentCommands *c = opaque;
    c->requests++;
    const char *path = qdict_get_str(args, "path");
    const char *name = qdict_get_str(args, "format");
    const VmsFormat *format = name ? vms_format_lookup(name) : vms_format_json();
    if (!format) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC_ERROR,
                    "Parameter 'format' does not accept value '%s'", name);
        return false;
    }
    g_autofree char *host = NULL, *id = NULL;
    if (!agent_device_path_parse(path, &host, &id, errp)) {
        return false;
    }
    GError *err = NULL;
    AgentQemu *q = find_qemu(c, host);
    if (q ? !agent_qemu_device_state(q, id, format, ret, &err)
          : !agent_registry_device_state(c->reg, host, id, format, ret, &err)) {
        device_error(errp, err, path);
        return false;
    }
    return true;
}

static bool cmd_query_device_schema(QObject *args, QObject **ret, void *opaque, GError **errp)
{
    AgentCommands *c = opaque;
    c->requests++;
    const char *path = qdict_get_str(args, "path");
    const char *format = qdict_get_str(args, "format");
    if (format && strcmp(format, "vmstate") != 0 && strcmp(format, "json-schema") != 0) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC_ERROR,
                    "Parameter 'format' does not accept value '%s'", format);
        return false;
    }
    g_autofree char *host = NULL, *id = NULL;
    if (!agent_device_path_parse(path, &host, &id, errp)) {
        return false;
    }
    GError *err = NULL;
    bool json_schema = format && strcmp(format, "json-schema") == 0;
    AgentQemu *q = find_qemu(c, host);
    if (q ? !agent_qemu_device_schema(q, id, json_schema, ret, &err)
          : !agent_registry_device_schema(c->reg, host, id, json_schema, ret, &err)) {
        device_error(errp, err, path);
        return false;
    }
    return true;
}

/* {"le": [bounds as text], "buckets": [count per bucket, +Inf last], "sum", "count"} */
static QObject *histogram_qobject(const AgentQemuHistogram *h, const char *const *bounds)
{
    QObject *o = qdict_new(), *le = qlist_new(), *buckets = qlist_new();
    for (size_t i = 0; i < AGENT_QEMU_BUCKETS; i++) {
        qlist_append(le, qstring_from_str(bounds[i]));
    }
    for (size_t i = 0; i <= AGENT_QEMU_BUCKETS; i++) {
        qlist_append(buckets, qnum_from_uint(h->counts[i]));
    }
    qdict_put(o, "le", le);
    qdict_put(o, "buckets", buckets);
    qdict_put(o, "sum", qnum_from_double(h->sum));
    qdict_put(o, "count", qnum_from_uint(h->count));
    return o;
}

static bool cmd_query_agent_stats(QObject *args, QObject **ret, void *opaque, GError **errp)
{
    AgentCommands *c = opaque;
    c->requests++;
    AgentRegistryStats st;
    agent_registry_stats(c->reg, &st);
    uint64_t hosts = st.hosts, lost = st.hosts_lost, failed = c->qemu_failed_gone;
    AgentQemuStats qs = { 0 };
    for (guint i = 0; i < c->qemus->len; i++) {
        AgentQemu *q = g_ptr_array_index(c->qemus, i);
        agent_qemu_stats_add(q, &qs);
        hosts++;
        if (!agent_qemu_alive(q)) {
            lost++;
        }
        failed += agent_qemu_migrations_failed(q);
    }
    QObject *o = qdict_new();
    qdict_put(o, "hosts", qnum_from_uint(hosts));
    qdict_put(o, "hosts-lost", qnum_from_uint(lost));
    qdict_put(o, "devices", qnum_from_uint(st.devices));
    qdict_put(o, "state-bytes", qnum_from_uint(st.state_bytes));
    qdict_put(o, "snapshots", qnum_from_uint(st.snapshots));
    qdict_put(o, "snapshot-retries", qnum_from_uint(st.snapshot_retries));
    qdict_put(o, "snapshot-failures", qnum_from_uint(st.snapshot_failures));
    qdict_put(o, "qmp-requests", qnum_from_uint(c->requests));
    qdict_put(o, "qemu-migrations-failed", qnum_from_uint(failed));
    qdict_put(o, "qemu-snapshots", qnum_from_uint(qs.snapshots));
    qdict_put(o, "qemu-snapshot-failures", qnum_from_uint(qs.snapshot_failures));
    qdict_put(o, "qemu-snapshot-pause-seconds",
              histogram_qobject(&qs.pause, agent_qemu_seconds_le));
    qdict_put(o, "qemu-snapshot-seconds", histogram_qobject(&qs.total, agent_qemu_seconds_le));
    qdict_put(o, "qemu-snapshot-bytes", histogram_qobject(&qs.bytes, agent_qemu_bytes_le));
    *ret = o;
    return true;
}

static const QmpArgSpec state_args[] = {
    { "path", QMP_ARG_STR, false },
    { "format", QMP_ARG_STR, true },
    QMP_ARGS_END,
};

static const QmpArgSpec schema_args[] = {
    { "path", QMP_ARG_STR, false },
    { "format", QMP_ARG_STR, true },          /* "vmstate" (default) or "json-schema" */
    QMP_ARGS_END,
};

AgentCommands *agent_commands_new(QmpDispatcher *d, AgentRegistry *reg)
{
    AgentCommands *c = g_new0(AgentCommands, 1);
    c->d = d;
    c->reg = reg;
    c->qemus = g_ptr_array_new();
    /* query-version and query-commands as the dispatcher's built-ins answer, counted. */
    qmp_dispatcher_register(d, "query-version", NULL, cmd_query_version, c);
    qmp_dispatcher_register(d, "query-commands", NULL, cmd_query_commands, c);
    qmp_dispatcher_register(d, "query-hosts", NULL, cmd_query_hosts, c);
    qmp_dispatcher_register(d, "query-devices", NULL, cmd_query_devices, c);
    qmp_dispatcher_register(d, "query-device-state", state_args, cmd_query_device_state, c);
    qmp_dispatcher_register(d, "query-device-schema", schema_args, cmd_query_device_schema, c);
    qmp_dispatcher_register(d, "query-agent-stats", NULL, cmd_query_agent_stats, c);
    return c;
}

void agent_commands_free(AgentCommands *c)
{
    if (!c) {
        return;
    }
    static const char *const names[] = {
        "query-version", "query-commands", "query-hosts", "query-devices",
        "query-device-state", "query-device-schema", "query-agent-stats",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        qmp_dispatcher_unregister(c->d, names[i]);
    }
    g_ptr_array_unref(c->qemus);
    g_free(c);
}

void agent_commands_add_qemu(AgentCommands *c, AgentQemu *q)
{
    g_ptr_array_add(c->qemus, q);
}

void agent_commands_remove_qemu(AgentCommands *c, AgentQemu *q)
{
    if (g_ptr_array_remove(c->qemus, q)) {
        c->qemu_failed_gone += agent_qemu_migrations_failed(q);
    }
}

uint64_t agent_commands_requests(const AgentCommands *c)
{
    return c->requests;
}

/*
 * QEMU hosts: a worker thread polls query-status; see qemu-host.h.
 */
#include "config.h"

#include <string.h>

#include "bridge/qmp-client.h"
#include "qemu-host.h"
#include "vmscope/address.h"
#include "vmscope/error.h"
#include "vmscope/shm-segment.h"

#define QEMU_TIMEOUT_MS 2000

struct AgentQemu {
    char *name;
    char *address;
    AgentEventFunc emit;
    void *opaque;
    GThread *thread;
    GSource *source;

    GMutex lock;                   /* guards what follows */
    GCond wake;
    bool stop;
    bool alive;
    char *status;
    char *error;
    char *migration;               /* query-migrate's status last seen; NULL: not asked yet */
    uint64_t migrations_failed;

    bool reported_alive;           /* main loop only: alive as last seen there */
};

bool agent_qemu_parse_option(const char *arg, char **name, char **address, GError **errp)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1]) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "--qemu '%s': expected NAME=ADDRESS",
                    arg);
        return false;
    }
    g_autofree char *n = g_strndup(arg, (size_t)(eq - arg));
    if (!shm_host_name_valid(n, errp)) {
        vms_error_prefix(errp, "--qemu '%s'", arg);
        return false;
    }
    g_autoptr(GSocketAddress) sa = address_parse("QMP address", eq + 1, errp);
    if (!sa) {
        vms_error_prefix(errp, "--qemu '%s'", arg);
        return false;
    }
    *name = g_steal_pointer(&n);
    *address = g_strdup(eq + 1);
    return true;
}

/*
 * A migration seen failing: query-migrate says "failed" where the look
 * before said something else.  The first look does not count (that
 * failure is older than the agent's watch), nor does a look that could not
 * ask (a QEMU that does not answer keeps what was seen before).
 */
static void migration_seen(AgentQemu *q, const char *status)
{
    if (!status) {
        return;
    }
    if (q->migration && strcmp(status, "failed") == 0 && strcmp(q->migration, "failed") != 0) {
        q->migrations_failed++;
    }
    g_free(q->migration);
    q->migration = g_strdup(status);
}

/* One look at QEMU: connect, query-status and query-migrate, disconnect. */
static void qemu_check(AgentQemu *q)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(QObject) ret = NULL, migrate = NULL;
    g_autoptr(QmpClient) c = qmp_client_connect(q->address, QEMU_TIMEOUT_MS, &err);
    bool ok = c && qmp_client_execute(c, "query-status", NULL, &ret, &err);
    const char *status = ok ? qdict_get_str(ret, "status") : NULL;
    /* {} when QEMU never migrated: "none", as QEMU's own MigrationStatus says. */
    const char *migration = NULL;
    if (ok && qmp_client_execute(c, "query-migrate", NULL, &migrate, NULL)) {
        migration = qdict_get_str(migrate, "status");
        migration = migration ? migration : "none";
    }

    g_mutex_lock(&q->lock);
    q->alive = ok;
    g_free(q->status);
    q->status = g_strdup(status ? status : "unknown");
    g_free(q->error);
    q->error = ok ? NULL : g_strdup(err->message);
    migration_seen(q, migration);
    g_mutex_unlock(&q->lock);
}

static gpointer qemu_thread(gpointer data)
{
    AgentQemu *q = data;
    g_mutex_lock(&q->lock);
    while (!q->stop) {
        g_mutex_unlock(&q->lock);
        qemu_check(q);
        g_mutex_lock(&q->lock);
        gint64 until = g_get_monotonic_time() + AGENT_QEMU_POLL_MS * G_TIME_SPAN_MILLISECOND;
        while (!q->stop && g_cond_wait_until(&q->wake, &q->lock, until)) {
        }
    }
    g_mutex_unlock(&q->lock);
    return NULL;
}

/* HOST_LOST once for a QEMU that answered before. */
static void host_lost(AgentQemu *q, const char *reason)
{
    if (q->reported_alive && q->emit) {
        QObject *ev = qdict_new();
        qdict_put(ev, "host", qstring_from_str(q->name));
        qdict_put(ev, "reason", qstring_from_str(reason ? reason : "QEMU stopped answering"));
        q->emit("HOST_LOST", ev, q->opaque);
    }
    q->reported_alive = false;
}

/* Main loop: HOST_LOST when a QEMU that answered stops answering. */
static gboolean qemu_poll(gpointer data)
{
    AgentQemu *q = data;
    g_mutex_lock(&q->lock);
    bool alive = q->alive;
    g_autofree char *reason = g_strdup(q->error);
    g_mutex_unlock(&q->lock);
    if (!alive) {
        host_lost(q, reason);
    }
    q->reported_alive = alive;
    return G_SOURCE_CONTINUE;
}

void agent_qemu_lost(AgentQemu *q, const char *reason)
{
    host_lost(q, reason);
}

AgentQemu *agent_qemu_new(const char *name, const char *address, GMainContext *ctx,
                          AgentEventFunc emit, void *opaque)
{
    AgentQemu *q = g_new0(AgentQemu, 1);
    q->name = g_strdup(name);
    q->address = g_strdup(address);
    q->emit = emit;
    q->opaque = opaque;
    q->status = g_strdup("unknown");
    q->error = g_strdup("not contacted yet");
    g_mutex_init(&q->lock);
    g_cond_init(&q->wake);
    q->source = g_timeout_source_new(AGENT_POLL_MS);
    g_source_set_callback(q->source, qemu_poll, q, NULL);
    g_source_attach(q->source, ctx);
    q->thread = g_thread_new("qemu-host", qemu_thread, q);
    return q;
}

void agent_qemu_free(AgentQemu *q)
{
    if (!q) {
        return;
    }
    g_mutex_lock(&q->lock);
    q->stop = true;
    g_cond_signal(&q->wake);
    g_mutex_unlock(&q->lock);
    g_thread_join(q->thread);
    g_source_destroy(q->source);
    g_source_unref(q->source);
    g_mutex_clear(&q->lock);
    g_cond_clear(&q->wake);
    g_free(q->name);
    g_free(q->address);
    g_free(q->status);
    g_free(q->error);
    g_free(q->migration);
    g_free(q);
}

bool agent_qemu_alive(AgentQemu *q)
{
    g_mutex_lock(&q->lock);
    bool alive = q->alive;
    g_mutex_unlock(&q->lock);
    return alive;
}

uint64_t agent_qemu_migrations_failed(AgentQemu *q)
{
    g_mutex_lock(&q->lock);
    uint64_t n = q->migrations_failed;
    g_mutex_unlock(&q->lock);
    return n;
}

const char *agent_qemu_name(const AgentQemu *q)
{
    return q->name;
}

QObject *agent_qemu_host_info(AgentQemu *q)
{
    QObject *o = qdict_new();
    g_mutex_lock(&q->lock);
    qdict_put(o, "name", qstring_from_str(q->name));
    qdict_put(o, "kind", qstring_from_str("qemu"));
    qdict_put(o, "pid", qnum_from_int(0));
    qdict_put(o, "alive", qbool_from_bool(q->alive));
    qdict_put(o, "qmp", qstring_from_str(q->address));
    qdict_put(o, "status", qstring_from_str(q->status));
    qdict_put(o, "devices", qnum_from_int(0));
    qdict_put(o, "generation", qnum_from_int(0));
    if (q->error) {
        qdict_put(o, "error", qstring_from_str(q->error));
    }
    g_mutex_unlock(&q->lock);
    return o;
}

/*
 * Helpers for the vmscope-devhost integration tests: start device hosts as
 * real processes (in a private segment directory, never outliving the
 * test), talk QMP to them, and read their devices back from shared memory,
 * each device walked with the description it published into a QObject.
 */
#ifndef VMSCOPE_TESTS_DEVHOST_TEST_UTIL_H
#define VMSCOPE_TESTS_DEVHOST_TEST_UTIL_H

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

#include "bridge/qmp-client.h"
#include "vmscope/error.h"
#include "vmscope/qobject-visitor.h"
#include "vmscope/shm-segment.h"
#include "vmscope/vmstate.h"

typedef struct Devhost {
    GSubprocess *proc;
    char *name;
    char *segment;               /* "segment: PATH" */
    char *qmp;                   /* "qmp: listening on ADDR" */
    char *incoming;              /* "incoming: listening on ADDR" */
    QmpClient *client;           /* negotiated, capabilities "events" on */
} Devhost;

static char *dh_binary;          /* vmscope-devhost */
static char *dh_tmp;             /* private directory: segments, sockets, files */
static GPtrArray *dh_live;       /* Devhost * not stopped yet */

/* The program `name` built at relative path `rel` from the build tree. */
static inline char *dh_build_path(const char *argv0, const char *rel)
{
    const char *top = g_getenv("top_builddir");
    if (top) {
        return g_build_filename(top, rel, NULL);
    }
    g_autofree char *dir = g_path_get_dirname(argv0);      /* tests/integration */
    return g_build_filename(dir, "..", "..", rel, NULL);
}

static inline void dh_init(const char *argv0)
{
    dh_binary = dh_build_path(argv0, "devices/vmscope-devhost");
    dh_tmp = g_dir_make_tmp("vmscope-devhost-test-XXXXXX", NULL);
    g_assert(dh_tmp);
    dh_live = g_ptr_array_new();
    alarm(600);                  /* nothing here may hang a test run */
}

static inline char *dh_path(const char *name)
{
    return g_build_filename(dh_tmp, name, NULL);
}

static void dh_child_setup(gpointer data)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);     /* never outlive the test */
}

static inline GSubprocessLauncher *dh_launcher(GSubprocessFlags flags)
{
    GSubprocessLauncher *l = g_subprocess_launcher_new(flags);
    g_subprocess_launcher_set_child_setup(l, dh_child_setup, NULL, NULL);
    return l;
}

static inline void dh_free(Devhost *dh)
{
    if (!dh) {
        return;
    }
    g_ptr_array_remove(dh_live, dh);
    qmp_client_free(dh->client);
    if (dh->proc) {
        if (g_subprocess_get_identifier(dh->proc)) {
            g_subprocess_force_exit(dh->proc);
        }
        g_subprocess_wait(dh->proc, NULL, NULL);
        g_object_unref(dh->proc);
    }
    g_free(dh->name);
    g_free(dh->segment);
    g_free(dh->qmp);
    g_free(dh->incoming);
    g_free(dh);
}

/*
 * Start `vmscope-devhost --name NAME --shm-dir TMP --qmp unix:TMP/NAME.qmp
 * --tick-ms 10 ARGS...` (ARGS NULL-terminated), read what it prints, connect
 * a QMP client and turn on the "events" capability.  NULL if it failed.
 */
static inline Devhost *dh_startv(const char *name, const char *const *args)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *qmp_path = g_strdup_printf("%s/%s.qmp", dh_tmp, name);
    bool incoming = false;
    g_ptr_array_add(argv, g_strdup(dh_binary));
    g_ptr_array_add(argv, g_strdup("--name"));
    g_ptr_array_add(argv, g_strdup(name));
    g_ptr_array_add(argv, g_strdup("--shm-dir"));
    g_ptr_array_add(argv, g_strdup(dh_tmp));
    g_ptr_array_add(argv, g_strdup_printf("--qmp=unix:%s", qmp_path));
    g_ptr_array_add(argv, g_strdup("--tick-ms=10"));
    for (const char *const *a = args; a && *a; a++) {
        incoming = incoming || g_str_has_prefix(*a, "--incoming");
        g_ptr_array_add(argv, g_strdup(*a));
    }
    g_ptr_array_add(argv, NULL);

    g_autoptr(GError) err = NULL;
    g_autoptr(GSubprocessLauncher) l = dh_launcher(G_SUBPROCESS_FLAGS_STDOUT_PIPE);
    Devhost *dh = g_new0(Devhost, 1);
    dh->name = g_strdup(name);
    dh->proc = g_subprocess_launcher_spawnv(l, (const char *const *)argv->pdata, &err);
    if (!dh->proc) {
        fprintf(stderr, "cannot start %s: %s\n", dh_binary, err->message);
        dh_free(dh);
        return NULL;
    }
    g_ptr_array_add(dh_live, dh);
    g_autoptr(GDataInputStream) out =
        g_data_input_stream_new(g_subprocess_get_stdout_pipe(dh->proc));
    int want = incoming ? 3 : 2;
    for (int i = 0; i < want; i++) {
        g_autofree char *line = g_data_input_stream_read_line(out, NULL, NULL, &err);
        if (!line) {
            fprintf(stderr, "devhost %s did not start\n", name);
            dh_free(dh);
            return NULL;
        }
        if (g_str_has_prefix(line, "segment: ")) {
            dh->segment = g_strdup(line + strlen("segment: "));
        } else if (g_str_has_prefix(line, "qmp: listening on ")) {
            dh->qmp = g_strdup(line + strlen("qmp: listening on "));
        } else if (g_str_has_prefix(line, "incoming: listening on ")) {
            dh->incoming = g_strdup(line + strlen("incoming: listening on "));
        } else {
            fprintf(stderr, "devhost %s: unexpected output: %s\n", name, line);
            i--;
        }
    }
    dh->client = qmp_client_connect(dh->qmp, 10000, &err);
    if (!dh->client) {
        fprintf(stderr, "devhost %s: %s\n", name, err->message);
        dh_free(dh);
        return NULL;
    }
    g_autoptr(QObject) args_caps = NULL;
    const char *caps = "{\"capabilities\": [{\"capability\": \"events\", \"state\": true}]}";
    qobject_from_json(caps, strlen(caps), &args_caps, NULL);
    if (!qmp_client_execute(dh->client, "migrate-set-capabilities", args_caps, NULL, &err)) {
        fprintf(stderr, "devhost %s: %s\n", name, err->message);
        dh_free(dh);
        return NULL;
    }
    return dh;
}

#define dh_start(name, ...) dh_startv((name), (const char *const[]){ __VA_ARGS__ })

/* SIGTERM (or `sig`), wait at most 10 s (then SIGKILL); the exit status, -1 if killed. */
static inline int dh_stop_signal(Devhost *dh, int sig)
{
    if (!dh) {
        return -1;
    }
    qmp_client_free(dh->client);
    dh->client = NULL;
    g_subprocess_send_signal(dh->proc, sig);
    for (int i = 0; i < 1000 && g_subprocess_get_identifier(dh->proc); i++) {
        g_usleep(10000);
    }
    if (g_subprocess_get_identifier(dh->proc)) {
        fprintf(stderr, "devhost %s did not exit: killing it\n", dh->name);
        g_subprocess_force_exit(dh->proc);
    }
    g_subprocess_wait(dh->proc, NULL, NULL);
    int status = g_subprocess_get_if_exited(dh->proc) ? g_subprocess_get_exit_status(dh->proc)
                                                      : -1;
    dh_free(dh);
    return status;
}

static inline int dh_stop(Devhost *dh)
{
    return dh_stop_signal(dh, SIGTERM);
}

/* Kill whatever a failed test left running, remove the directory. */
static inline void dh_cleanup(void)
{
    while (dh_live && dh_live->len) {
        dh_free(dh_live->pdata[0]);
    }
    if (dh_live) {
        g_ptr_array_free(dh_live, TRUE);
    }
    if (dh_tmp) {
        g_autoptr(GDir) dir = g_dir_open(dh_tmp, 0, NULL);
        const char *entry;
        while (dir && (entry = g_dir_read_name(dir))) {
            g_autofree char *p = g_build_filename(dh_tmp, entry, NULL);
            g_unlink(p);
        }
        g_rmdir(dh_tmp);
    }
    g_free(dh_tmp);
    g_free(dh_binary);
}

/* Run vmscope-devhost with ARGS to its end; its exit status and stderr. */
static inline int dh_run(const char *const *args, char **err_text)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_ptr_array_add(argv, dh_binary);
    for (const char *const *a = args; *a; a++) {
        g_ptr_array_add(argv, (gpointer)*a);
    }
    g_ptr_array_add(argv, NULL);
    g_autoptr(GSubprocessLauncher) l =
        dh_launcher(G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
    g_autoptr(GError) err = NULL;
    g_autoptr(GSubprocess) p = g_subprocess_launcher_spawnv(l, (const char *const *)argv->pdata,
                                                            &err);
    if (!p) {
        *err_text = g_strdup(err->message);
        return -1;
    }
    g_autofree char *errs = NULL;
    if (!g_subprocess_communicate_utf8(p, NULL, NULL, NULL, &errs, &err)) {
        *err_text = g_strdup(err->message);
        return -1;
    }
    *err_text = errs ? g_strchomp(g_steal_pointer(&errs)) : g_strdup("");
    return g_subprocess_get_if_exited(p) ? g_subprocess_get_exit_status(p) : -1;
}

/*
 * `vmscope-devhost --list-devices ARGS...`: the devices those flags ask for,
 * a list of {id, type, section, instance-id, version-id}; NULL if it failed.
 */
static inline QObject *dh_list_devicesv(const char *const *args)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_ptr_array_add(argv, dh_binary);
    g_ptr_array_add(argv, (gpointer)"--list-devices");
    for (const char *const *a = args; *a; a++) {
        g_ptr_array_add(argv, (gpointer)*a);
    }
    g_ptr_array_add(argv, NULL);
    g_autoptr(GSubprocessLauncher) l = dh_launcher(G_SUBPROCESS_FLAGS_STDOUT_PIPE);
    g_autoptr(GError) err = NULL;
    g_autoptr(GSubprocess) p = g_subprocess_launcher_spawnv(l, (const char *const *)argv->pdata,
                                                            &err);
    g_autofree char *out = NULL;
    QObject *list = NULL;
    if (!p || !g_subprocess_communicate_utf8(p, NULL, NULL, &out, NULL, &err) ||
        !g_subprocess_get_if_exited(p) || g_subprocess_get_exit_status(p) != 0 ||
        !qobject_from_json(out, strlen(out), &list, &err) || qobject_type(list) != QTYPE_LIST) {
        fprintf(stderr, "vmscope-devhost --list-devices: %s\n", err ? err->message : "failed");
        qobject_unref(list);
        return NULL;
    }
    return list;
}
#define dh_list_devices(...) dh_list_devicesv((const char *const[]){ __VA_ARGS__ })

/*
 * vmscope-agent (binary) over the test's directory, QMP on TMP/agent.qmp,
 * no HTTP: the process, and in *qmp_address where it listens; NULL if it
 * did not start.
 */
static inline GSubprocess *dh_agent_start(const char *binary, char **qmp_address)
{
    g_autofree char *path = dh_path("agent.qmp");
    g_autofree char *qmp = g_strdup_printf("--qmp=unix:%s", path);
    g_autofree char *dir = g_strdup_printf("--shm-dir=%s", dh_tmp);
    const char *argv[] = { binary, qmp, "--no-http", dir, NULL };
    g_autoptr(GSubprocessLauncher) l = dh_launcher(G_SUBPROCESS_FLAGS_STDOUT_PIPE);
    g_autoptr(GError) err = NULL;
    GSubprocess *agent = g_subprocess_launcher_spawnv(l, argv, &err);
    if (!agent) {
        fprintf(stderr, "cannot start %s: %s\n", binary, err->message);
        return NULL;
    }
    g_autoptr(GDataInputStream) out = g_data_input_stream_new(g_subprocess_get_stdout_pipe(agent));
    for (int i = 0; i < 10; i++) {
        g_autofree char *line = g_data_input_stream_read_line(out, NULL, NULL, &err);
        if (!line) {
            break;
        }
        if (g_str_has_prefix(line, "qmp: listening on ")) {
            *qmp_address = g_strdup(line + strlen("qmp: listening on "));
            return agent;
        }
    }
    fprintf(stderr, "the agent did not start\n");
    g_subprocess_force_exit(agent);
    g_subprocess_wait(agent, NULL, NULL);
    g_object_unref(agent);
    return NULL;
}

/* SIGTERM to the agent, wait for it. */
static inline void dh_agent_stop(GSubprocess **agent)
{
    if (*agent) {
        g_subprocess_send_signal(*agent, SIGTERM);
        g_subprocess_wait(*agent, NULL, NULL);
        g_clear_object(agent);
    }
}

/* ---- QMP ------------------------------------------------------------------- */

static inline QObject *dh_json(const char *text)
{
    QObject *v = NULL;
    g_autoptr(GError) err = NULL;
    if (!qobject_from_json(text, strlen(text), &v, &err)) {
        fprintf(stderr, "bad test JSON: %s\n", err->message);
    }
    return v;
}

/* Run a command (args: JSON text or NULL); the return value or NULL (error in *errp). */
static inline QObject *dh_qmp(Devhost *dh, const char *command, const char *args, GError **errp)
{
    g_autoptr(QObject) a = args ? dh_json(args) : NULL;
    QObject *ret = NULL;
    if (!qmp_client_execute(dh->client, command, a, &ret, errp)) {
        return NULL;
    }
    return ret ? ret : qdict_new();
}

/* The return value as compact JSON (or "error: DESC"). */
static inline char *dh_qmp_text(Devhost *dh, const char *command, const char *args)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(QObject) r = dh_qmp(dh, command, args, &err);
    if (!r) {
        return g_strdup_printf("error: %s", err->message);
    }
    return qobject_to_json(r, false);
}

static inline char *dh_status(Devhost *dh)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(QObject) r = dh_qmp(dh, "query-status", NULL, &err);
    return g_strdup(r ? qdict_get_str(r, "status") : "(error)");
}

/* Poll query-migrate until it ends (completed, failed, cancelled); its answer. */
static inline QObject *dh_wait_migration(Devhost *dh)
{
    for (int i = 0; i < 3000; i++) {
        g_autoptr(GError) err = NULL;
        QObject *r = dh_qmp(dh, "query-migrate", NULL, &err);
        const char *st = r ? qdict_get_str(r, "status") : NULL;
        if (!r || (st && (strcmp(st, "completed") == 0 || strcmp(st, "failed") == 0 ||
                          strcmp(st, "cancelled") == 0))) {
            return r;
        }
        qobject_unref(r);
        g_usleep(10000);
    }
    return NULL;
}

/* Names of the events queued so far (after the last call), "STOP MIGRATION:active ...". */
static inline char *dh_events(Devhost *dh)
{
    GString *s = g_string_new(NULL);
    QObject *ev;
    while ((ev = qmp_client_pop_event(dh->client, NULL))) {
        const char *name = qdict_get_str(ev, "event");
        QObject *data = qdict_get(ev, "data");
        const char *status = data ? qdict_get_str(data, "status") : NULL;
        g_string_append_printf(s, "%s%s%s%s", s->len ? " " : "", name, status ? ":" : "",
                               status ? status : "");
        qobject_unref(ev);
    }
    return g_string_free(s, FALSE);
}

/* ---- segments --------------------------------------------------------------- */

typedef struct DhWalk {
    VMStateDescription *vmsd;
    QObject *out;
} DhWalk;

static bool dh_walk_cb(const ShmView *view, void *opaque, GError **errp)
{
    DhWalk *w = opaque;
    qobject_unref(w->out);
    w->out = NULL;
    Visitor *v = qobject_output_visitor_new();
    VMStateContext ctx = { .size = view->size, .fetch = shm_view_fetch,
                           .fetch_opaque = (void *)view };
    bool ok = vmstate_save(v, w->vmsd, (void *)view->state, &ctx, errp);
    if (ok) {
        w->out = qobject_output_visitor_take(v);
    }
    visit_free(v);
    return ok;
}

/*
 * Every device of host `name` from its segment:
 *   {ID: {"type", "instance-id", "version-id", "generation", "state"}, ...}
 * each state walked with the description the host published.
 */
static inline QObject *dh_snapshot(const char *name, GError **errp)
{
    g_autoptr(ShmReader) r = shm_reader_open(dh_tmp, name, errp);
    if (!r) {
        return NULL;
    }
    g_autoptr(GArray) list = shm_reader_list(r, errp);
    if (!list) {
        return NULL;
    }
    g_autoptr(QObject) all = qdict_new();
    for (guint i = 0; i < list->len; i++) {
        const ShmDeviceInfo *info = &g_array_index(list, ShmDeviceInfo, i);
        g_autofree char *text = NULL;
        if (!shm_reader_description(r, info->id, &text, errp)) {
            return NULL;
        }
        g_autoptr(QObject) desc = NULL;
        if (!qobject_from_json(text, strlen(text), &desc, errp)) {
            return NULL;
        }
        DhWalk w = { vmstate_from_description(desc, info->state_size, errp), NULL };
        if (!w.vmsd) {
            return NULL;
        }
        ShmDeviceInfo now;
        bool ok = shm_reader_read(r, info->id, dh_walk_cb, &w, &now, errp);
        vmstate_description_free(w.vmsd);
        if (!ok) {
            qobject_unref(w.out);
            return NULL;
        }
        QObject *dev = qdict_new();
        qdict_put(dev, "type", qstring_from_str(info->type));
        qdict_put(dev, "instance-id", qnum_from_uint(info->instance_id));
        qdict_put(dev, "version-id", qnum_from_uint(info->version_id));
        qdict_put(dev, "generation", qnum_from_uint(now.generation));
        qdict_put(dev, "state", w.out);
        qdict_put(all, info->id, dev);
    }
    return g_steal_pointer(&all);
}

/* The states only: {ID: STATE}. */
static inline QObject *dh_states(const char *name)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(QObject) snap = dh_snapshot(name, &err);
    if (!snap) {
        fprintf(stderr, "snapshot of %s: %s\n", name, err->message);
        return NULL;
    }
    QObject *states = qdict_new();
    qdict_foreach(snap, id, dev) {
        qdict_put(states, id, qobject_ref(qdict_get(dev, "state")));
    }
    return states;
}

/* Equal, or print both and say which device differs first. */
static inline bool dh_states_equal(QObject *a, QObject *b)
{
    if (a && b && qobject_equal(a, b)) {
        return true;
    }
    if (!a || !b) {
        fprintf(stderr, "\nmissing snapshot\n");
        return false;
    }
    qdict_foreach(a, id, sa) {
        QObject *sb = qdict_get(b, id);
        if (!sb || !qobject_equal(sa, sb)) {
            g_autofree char *ja = qobject_to_json(sa, false);
            g_autofree char *jb = sb ? qobject_to_json(sb, false) : g_strdup("(absent)");
            fprintf(stderr, "\n%s differs:\n  %s\n  %s\n", id, ja, jb);
            return false;
        }
    }
    fprintf(stderr, "\nthe device sets differ\n");
    return false;
}

/* The sum of every device's update counter (moves while the host runs). */
static inline uint64_t dh_generations(const char *name)
{
    g_autoptr(ShmReader) r = shm_reader_open(dh_tmp, name, NULL);
    g_autoptr(GArray) list = r ? shm_reader_list(r, NULL) : NULL;
    uint64_t sum = 0;
    for (guint i = 0; list && i < list->len; i++) {
        sum += g_array_index(list, ShmDeviceInfo, i).generation;
    }
    return sum;
}

/* An integer member of a device's state in host `name` (-1 if absent). */
static inline int64_t dh_state_int(const char *name, const char *id, const char *member)
{
    g_autoptr(QObject) states = dh_states(name);
    QObject *st = states ? qdict_get(states, id) : NULL;
    int64_t v = -1;
    if (!st || !qnum_get_int(qdict_get(st, member), &v)) {
        return -1;
    }
    return v;
}

#endif

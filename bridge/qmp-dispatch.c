/*
 * QMP command table and dispatch: see qmp-dispatch.h.
 *
 * The order of the checks and the messages follow QEMU 7.2's
 * qapi/qmp-dispatch.c (request envelope), monitor/qmp.c (capabilities
 * negotiation) and the QObject input visitor behind its generated
 * marshallers (arguments).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "qmp-dispatch.h"
#include "vmscope/qobject-visitor.h"

G_DEFINE_QUARK(vmscope-qmp-error-quark, qmp_error)

static const char *const error_class_names[] = {
    [QMP_ERROR_GENERIC_ERROR] = "GenericError",
    [QMP_ERROR_COMMAND_NOT_FOUND] = "CommandNotFound",
    [QMP_ERROR_DEVICE_NOT_ACTIVE] = "DeviceNotActive",
    [QMP_ERROR_DEVICE_NOT_FOUND] = "DeviceNotFound",
    [QMP_ERROR_KVM_MISSING_CAP] = "KVMMissingCap",
};

typedef struct QmpCommand {
    char *name;
    QmpArgSpec *args;        /* NULL-name terminated copy; names owned */
    QmpCommandFunc fn;
    void *opaque;
} QmpCommand;

typedef struct QmpListener {
    guint id;
    QmpEventFunc fn;         /* NULL once removed while emitting */
    void *opaque;
} QmpListener;

struct QmpDispatcher {
    GPtrArray *commands;     /* QmpCommand *, registration order */
    GHashTable *by_name;     /* name -> QmpCommand * */
    int major, minor, micro;
    char *package;
    GArray *listeners;       /* QmpListener */
    guint next_listener_id;
    unsigned emitting;       /* nesting depth of qmp_dispatcher_emit_event */
};

#define QMP_CAPABILITIES "qmp_capabilities"

const char *qmp_error_class_name(QmpErrorClass cls)
{
    g_return_val_if_fail((size_t)cls < G_N_ELEMENTS(error_class_names), "GenericError");
    return error_class_names[cls];
}

bool qmp_error_class_from_name(const char *name, QmpErrorClass *cls)
{
    for (size_t i = 0; name && i < G_N_ELEMENTS(error_class_names); i++) {
        if (strcmp(name, error_class_names[i]) == 0) {
            *cls = (QmpErrorClass)i;
            return true;
        }
    }
    return false;
}

QmpErrorClass qmp_error_class_of(const GError *err)
{
    if (err->domain == QMP_ERROR && err->code >= 0 &&
        (size_t)err->code < G_N_ELEMENTS(error_class_names)) {
        return (QmpErrorClass)err->code;
    }
    return QMP_ERROR_GENERIC_ERROR;
}

static QObject *error_object(const GError *err)
{
    QObject *e = qdict_new();
    qdict_put(e, "class", qstring_from_str(qmp_error_class_name(qmp_error_class_of(err))));
    qdict_put(e, "desc", qstring_from_str(err->message));
    return e;
}

QObject *qmp_error_response(const GError *err)
{
    QObject *rsp = qdict_new();
    qdict_put(rsp, "error", error_object(err));
    return rsp;
}

/* ---- the table ---------------------------------------------------------- */

static void command_free(gpointer p)
{
    QmpCommand *cmd = p;
    if (cmd->args) {
        for (QmpArgSpec *a = cmd->args; a->name; a++) {
            g_free((char *)a->name);
        }
    }
    g_free(cmd->args);
    g_free(cmd->name);
    g_free(cmd);
}

static void add_command(QmpDispatcher *d, const char *name, const QmpArgSpec *args,
                        QmpCommandFunc fn, void *opaque)
{
    QmpCommand *cmd = g_new0(QmpCommand, 1);
    cmd->name = g_strdup(name);
    cmd->fn = fn;
    cmd->opaque = opaque;
    if (args) {
        size_t n = 0;
        while (args[n].name) {
            n++;
        }
        cmd->args = g_new0(QmpArgSpec, n + 1);
        for (size_t i = 0; i < n; i++) {
            cmd->args[i] = args[i];
            cmd->args[i].name = g_strdup(args[i].name);
        }
    }
    g_ptr_array_add(d->commands, cmd);
    g_hash_table_insert(d->by_name, cmd->name, cmd);
}

static bool qmp_capabilities_handler(QObject *args, QObject **ret, void *opaque, GError **errp);

QmpDispatcher *qmp_dispatcher_new(void)
{
    static const QmpArgSpec caps_args[] = {
        { "enable", QMP_ARG_ARRAY, true },
        QMP_ARGS_END,
    };
    QmpDispatcher *d = g_new0(QmpDispatcher, 1);
    d->commands = g_ptr_array_new_with_free_func(command_free);
    d->by_name = g_hash_table_new(g_str_hash, g_str_equal);
    d->listeners = g_array_new(FALSE, FALSE, sizeof(QmpListener));
    d->next_listener_id = 1;

    unsigned major = 0, minor = 0, micro = 0;
    if (sscanf(PACKAGE_VERSION, "%u.%u.%u", &major, &minor, &micro) < 1) {
        major = minor = micro = 0;
    }
    d->major = (int)major;
    d->minor = (int)minor;
    d->micro = (int)micro;
    d->package = g_strdup(PACKAGE_NAME " " PACKAGE_VERSION);

    add_command(d, QMP_CAPABILITIES, caps_args, qmp_capabilities_handler, d);
    return d;
}

void qmp_dispatcher_free(QmpDispatcher *d)
{
    if (!d) {
        return;
    }
    g_hash_table_destroy(d->by_name);
    g_ptr_array_free(d->commands, TRUE);
    g_array_free(d->listeners, TRUE);
    g_free(d->package);
    g_free(d);
}

void qmp_dispatcher_register(QmpDispatcher *d, const char *name, const QmpArgSpec *args,
                             QmpCommandFunc fn, void *opaque)
{
    g_return_if_fail(d && name && fn);
    if (g_hash_table_contains(d->by_name, name)) {
        g_critical("QMP command '%s' is already registered", name);
        return;
    }
    add_command(d, name, args, fn, opaque);
}

bool qmp_dispatcher_unregister(QmpDispatcher *d, const char *name)
{
    QmpCommand *cmd = g_hash_table_lookup(d->by_name, name);
    if (!cmd || strcmp(name, QMP_CAPABILITIES) == 0) {
        return false;
    }
    g_hash_table_remove(d->by_name, name);
    g_ptr_array_remove(d->commands, cmd);
    return true;
}

bool qmp_dispatcher_has_command(const QmpDispatcher *d, const char *name)
{
    return g_hash_table_contains(d->by_name, name);
}

char **qmp_dispatcher_list_commands(const QmpDispatcher *d)
{
    char **names = g_new0(char *, d->commands->len + 1);
    for (guint i = 0; i < d->commands->len; i++) {
        names[i] = g_strdup(((QmpCommand *)g_ptr_array_index(d->commands, i))->name);
    }
    return names;
}

/* ---- version, greeting, built-ins -------------------------------------- */

void qmp_dispatcher_set_version(QmpDispatcher *d, int major, int minor, int micro,
                                const char *package)
{
    d->major = major;
    d->minor = minor;
    d->micro = micro;
    g_free(d->package);
    d->package = g_strdup(package ? package : "");
}

QObject *qmp_dispatcher_version(const QmpDispatcher *d)
{
    /* Key order as QEMU prints it. */
    QObject *qemu = qdict_new();
    qdict_put(qemu, "micro", qnum_from_int(d->micro));
    qdict_put(qemu, "minor", qnum_from_int(d->minor));
    qdict_put(qemu, "major", qnum_from_int(d->major));
    QObject *v = qdict_new();
    qdict_put(v, "qemu", qemu);
    qdict_put(v, "package", qstring_from_str(d->package));
    return v;
}

QObject *qmp_dispatcher_greeting(const QmpDispatcher *d)
{
    QObject *qmp = qdict_new();
    qdict_put(qmp, "version", qmp_dispatcher_version(d));
    qdict_put(qmp, "capabilities", qlist_new());
    QObject *greeting = qdict_new();
    qdict_put(greeting, "QMP", qmp);
    return greeting;
}

static bool query_version_handler(QObject *args, QObject **ret, void *opaque, GError **errp)
{
    *ret = qmp_dispatcher_version(opaque);
    return true;
}

static bool query_commands_handler(QObject *args, QObject **ret, void *opaque, GError **errp)
{
    QmpDispatcher *d = opaque;
    QObject *list = qlist_new();
    for (guint i = 0; i < d->commands->len; i++) {
        QObject *info = qdict_new();
        qdict_put(info, "name",
                  qstring_from_str(((QmpCommand *)g_ptr_array_index(d->commands, i))->name));
        qlist_append(list, info);
    }
    *ret = list;
    return true;
}

void qmp_dispatcher_register_query_version(QmpDispatcher *d)
{
    qmp_dispatcher_register(d, "query-version", NULL, query_version_handler, d);
}

void qmp_dispatcher_register_query_commands(QmpDispatcher *d)
{
    qmp_dispatcher_register(d, "query-commands", NULL, query_commands_handler, d);
}

/*
 * qmp_capabilities: the "enable" members must be strings naming a
 * QMPCapability ("oob" is the only one QEMU 7.2 knows); QEMU's input
 * visitor checks that before the command runs, so before "already
 * complete".  The "null" in the enum message is QEMU's own wording for a
 * list member.
 */
static bool caps_check_enable(QObject *args, GError **errp)
{
    if (!qdict_haskey(args, "enable")) {
        return true;
    }
    Visitor *v = qobject_input_visitor_new_qmp(qdict_get(args, "enable"));
    size_t n = VISIT_LEN_UNKNOWN;
    bool ok = visit_start_list(v, "enable", &n, errp);
    if (ok) {
        for (size_t i = 0; ok && i < n; i++) {
            g_autofree char *cap = NULL;
            visit_next_list(v);
            ok = visit_type_str(v, NULL, &cap, errp);
            if (ok && strcmp(cap, "oob") != 0) {
                g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC_ERROR,
                            "Parameter 'null' does not accept value '%s'", cap);
                ok = false;
            }
        }
        visit_end_list(v);
    }
    visit_free(v);
    return ok;
}

/* vmscope offers no capability: only an empty or absent "enable" succeeds. */
static bool qmp_capabilities_handler(QObject *args, QObject **ret, void *opaque, GError **errp)
{
    QObject *enable = qdict_get(args, "enable");

    if (qlist_size(enable) > 0) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC_ERROR, "Capability '%s' not available",
                    qstring_get(qlist_get(enable, 0)));
        return false;
    }
    return true;
}

/* ---- dispatch ----------------------------------------------------------- */

/* Visit one argument for its shape only: the handler reads the dict. */
static bool visit_arg(Visitor *v, const QmpArgSpec *spec, GError **errp)
{
    const char *name = spec->name;
    switch (spec->type) {
    case QMP_ARG_STR: {
        g_autofree char *str = NULL;
        return visit_type_str(v, name, &str, errp);
    }
    case QMP_ARG_INT: {
        int64_t i = 0;
        return visit_type_int64(v, name, &i, errp);
    }
    case QMP_ARG_UINT: {
        uint64_t u = 0;
        return visit_type_uint64(v, name, &u, errp);
    }
    case QMP_ARG_NUMBER: {
        double d = 0;
        return visit_type_number(v, name, &d, errp);
    }
    case QMP_ARG_BOOL: {
        bool b = false;
        return visit_type_bool(v, name, &b, errp);
    }
    case QMP_ARG_OBJECT:
        if (!visit_start_struct(v, name, NULL, errp)) {
            return false;
        }
        visit_end_struct(v);
        return true;
    case QMP_ARG_ARRAY: {
        size_t len = VISIT_LEN_UNKNOWN;
        if (!visit_start_list(v, name, &len, errp)) {
            return false;
        }
        visit_end_list(v);
        return true;
    }
    case QMP_ARG_ANY: {
        g_autoptr(QObject) any = NULL;
        return qobject_input_visit_any(v, name, &any, errp);
    }
    }
    g_assert_not_reached();
}

/*
 * The arguments against the spec, walked by the strict QObject input
 * visitor in QMP's words: in spec order, then the members nobody visited,
 * as QEMU's generated marshallers do.
 */
static bool check_args(const QmpCommand *cmd, QObject *args, GError **errp)
{
    Visitor *v = qobject_input_visitor_new_qmp(args);
    bool ok = visit_start_struct(v, NULL, NULL, errp);
    if (ok) {
        for (const QmpArgSpec *spec = cmd->args; ok && spec && spec->name; spec++) {
            bool present = true;
            if (!spec->optional || visit_optional(v, spec->name, &present)) {
                ok = visit_arg(v, spec, errp);
            }
        }
        ok = ok && visit_check_struct(v, errp);
        visit_end_struct(v);
    }
    visit_free(v);
    return ok;
}

/* Look up, check and run a command; args is a dict or NULL. */
static bool execute(QmpDispatcher *d, const char *name, QObject *args, bool *negotiated,
                    QObject **ret, GError **errp)
{
    QmpCommand *cmd = g_hash_table_lookup(d->by_name, name);
    bool caps = strcmp(name, QMP_CAPABILITIES) == 0;

    *ret = NULL;
    if (!*negotiated && !caps) {
        /* QEMU's negotiation table has qmp_capabilities only, and
         * monitor_qmp_dispatch() rewrites its CommandNotFound. */
        g_set_error(errp, QMP_ERROR, QMP_ERROR_COMMAND_NOT_FOUND,
                    "Expecting capabilities negotiation with 'qmp_capabilities'");
        return false;
    }
    if (!cmd) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_COMMAND_NOT_FOUND,
                    "The command %s has not been found", name);
        return false;
    }

    g_autoptr(QObject) empty = NULL;
    if (!args) {
        args = empty = qdict_new();
    } else if (qobject_type(args) != QTYPE_DICT) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC_ERROR,
                    "QMP input member 'arguments' must be an object");
        return false;
    }
    if (!check_args(cmd, args, errp)) {
        return false;
    }
    if (caps) {
        if (!caps_check_enable(args, errp)) {
            return false;
        }
        if (*negotiated) {
            g_set_error(errp, QMP_ERROR, QMP_ERROR_COMMAND_NOT_FOUND,
                        "Capabilities negotiation is already complete, command ignored");
            return false;
        }
    }

    GError *err = NULL;
    QObject *value = NULL;
    bool ok = cmd->fn(args, &value, cmd->opaque, &err);
    if (ok && err) {
        g_critical("QMP command '%s' succeeded but set an error: %s", name, err->message);
        ok = false;
    }
    if (!ok) {
        qobject_unref(value);
        if (!err) {
            g_set_error(&err, QMP_ERROR, QMP_ERROR_GENERIC_ERROR,
                        "command '%s' failed without saying why", name);
        }
        g_propagate_error(errp, err);
        return false;
    }
    if (caps) {
        *negotiated = true;
    }
    *ret = value ? value : qdict_new();
    return true;
}

/* The checks of QEMU's qmp_dispatch_check_obj(), OOB never allowed. */
static bool check_request(QObject *req, GError **errp)
{
    bool has_execute = false;

    qdict_foreach(req, key, val) {
        if (strcmp(key, "execute") == 0) {
            if (qobject_type(val) != QTYPE_STRING) {
                g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC_ERROR,
                            "QMP input member 'execute' must be a string");
                return false;
            }
            has_execute = true;
        } else if (strcmp(key, "arguments") == 0) {
            if (qobject_type(val) != QTYPE_DICT) {
                g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC_ERROR,
                            "QMP input member 'arguments' must be an object");
                return false;
            }
        } else if (strcmp(key, "id") != 0) {
            g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC_ERROR,
                        "QMP input member '%s' is unexpected", key);
            return false;
        }
    }
    if (!has_execute) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC_ERROR, "QMP input lacks member 'execute'");
        return false;
    }
    return true;
}

QObject *qmp_dispatch(QmpDispatcher *d, QObject *request, bool *negotiated)
{
    g_autoptr(GError) err = NULL;
    QObject *ret = NULL;
    bool has_id = false;

    if (qobject_type(request) != QTYPE_DICT) {
        g_set_error(&err, QMP_ERROR, QMP_ERROR_GENERIC_ERROR, "QMP input must be a JSON object");
    } else {
        has_id = qdict_haskey(request, "id");
        if (check_request(request, &err)) {
            execute(d, qdict_get_str(request, "execute"), qdict_get(request, "arguments"),
                    negotiated, &ret, &err);
        }
    }

    /* Key order as QEMU prints it. */
    QObject *rsp = qdict_new();
    if (err) {
        if (has_id) {
            qdict_put(rsp, "id", qobject_ref(qdict_get(request, "id")));
        }
        qdict_put(rsp, "error", error_object(err));
    } else {
        qdict_put(rsp, "return", ret);
        if (has_id) {
            qdict_put(rsp, "id", qobject_ref(qdict_get(request, "id")));
        }
    }
    return rsp;
}

bool qmp_dispatcher_call(QmpDispatcher *d, const char *name, QObject *args,
                         QObject **ret, GError **errp)
{
    bool negotiated = true;
    GError *err = NULL;

    if (!execute(d, name, args, &negotiated, ret, &err)) {
        /* Callers get the class the QMP response would carry. */
        if (err->domain != QMP_ERROR) {
            GError *generic = g_error_new_literal(QMP_ERROR, QMP_ERROR_GENERIC_ERROR, err->message);
            g_error_free(err);
            err = generic;
        }
        g_propagate_error(errp, err);
        return false;
    }
    return true;
}

/* ---- events ------------------------------------------------------------- */

QObject *qmp_event_new(const char *name, QObject *data)
{
    gint64 now = g_get_real_time();
    QObject *ts = qdict_new();
    qdict_put(ts, "seconds", qnum_from_int(now / G_USEC_PER_SEC));
    qdict_put(ts, "microseconds", qnum_from_int(now % G_USEC_PER_SEC));
    /* Key order as QEMU prints it. */
    QObject *ev = qdict_new();
    qdict_put(ev, "timestamp", ts);
    qdict_put(ev, "event", qstring_from_str(name));
    if (data) {
        qdict_put(ev, "data", data);
    }
    return ev;
}

guint qmp_dispatcher_add_event_listener(QmpDispatcher *d, QmpEventFunc fn, void *opaque)
{
    QmpListener l = { .id = d->next_listener_id++, .fn = fn, .opaque = opaque };
    g_array_append_val(d->listeners, l);
    return l.id;
}

void qmp_dispatcher_remove_event_listener(QmpDispatcher *d, guint id)
{
    for (guint i = 0; i < d->listeners->len; i++) {
        QmpListener *l = &g_array_index(d->listeners, QmpListener, i);
        if (l->id == id) {
            if (d->emitting) {
                l->fn = NULL;          /* compacted when the emit finishes */
            } else {
                g_array_remove_index(d->listeners, i);
            }
            return;
        }
    }
}

void qmp_dispatcher_emit_event(QmpDispatcher *d, const char *name, QObject *data)
{
    g_autoptr(QObject) ev = qmp_event_new(name, data);

    d->emitting++;
    /* Listeners added meanwhile are not called for this event. */
    guint n = d->listeners->len;
    for (guint i = 0; i < n; i++) {
        QmpListener l = g_array_index(d->listeners, QmpListener, i);
        if (l.fn) {
            l.fn(ev, l.opaque);
        }
    }
    if (--d->emitting == 0) {
        for (guint i = d->listeners->len; i-- > 0;) {
            if (!g_array_index(d->listeners, QmpListener, i).fn) {
                g_array_remove_index(d->listeners, i);
            }
        }
    }
}

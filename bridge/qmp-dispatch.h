/*
 * QMP command table and dispatch, as QEMU 7.2 does it.
 *
 * A QmpDispatcher holds the commands a program offers.  Every transport
 * runs requests through it: the QMP server (qmp-server.h) hands it each
 * JSON value a client sent, and the HTTP bridge calls the same commands by
 * name, so QMP and HTTP can never disagree.  Include it as
 * "bridge/qmp-dispatch.h"; link bridge/libvmsbridge.la.
 *
 * Commands.  A command has a name, a handler and an argument spec: the
 * arguments it takes, each with a type and whether it may be left out.
 * qmp_dispatch() checks a request against the spec before the handler runs,
 * by walking the arguments with the strict QObject input visitor in its
 * QMP wording (qobject_input_visitor_new_qmp(), vmscope/qobject-visitor.h),
 * so a handler only ever sees arguments of the right types, and every
 * refusal carries QEMU's exact wording (class GenericError):
 *   "Parameter 'path' is missing"
 *   "Parameter 'foo' is unexpected"
 *   "Invalid parameter type for 'path', expected: string"
 *       (also integer, number, boolean, object, array)
 *   "Parameter 'size' expects uint64"
 * Arguments are checked in spec order, then unexpected ones, as QEMU's
 * generated marshallers do.  A member given as JSON null is present: it is
 * a type error unless the type is QMP_ARG_ANY.  Only the top level is
 * checked: a handler that takes an object or array argument walks it with
 * the same visitor (as migrate-set-capabilities does), so errors inside it
 * name their path the same way ("Parameter 'capabilities[0].state' is
 * missing").
 *
 * Handlers.  `bool handler(QObject *args, QObject **ret, void *opaque,
 * GError **errp)`: args is a dict (empty when the request had none),
 * borrowed.  On success the handler returns true and may set *ret to a new
 * reference (left NULL, the answer is {} as in QEMU).  On failure it returns
 * false and sets *errp.  An error in the QMP_ERROR domain is sent with its
 * class (e.g. QMP_ERROR_DEVICE_NOT_FOUND -> "DeviceNotFound"); an error of
 * any other domain (VMS_ERROR...) is sent as GenericError.  The error's
 * message is the "desc".
 *
 * Requests and responses.  qmp_dispatch() takes one parsed request and
 * always returns one response, exactly shaped as QEMU's:
 *   {"return": VALUE, "id": ID}               success
 *   {"id": ID, "error": {"class": C, "desc": D}}   failure
 * "id" is echoed, whatever JSON value it is, and only if the request had
 * one.  Requests are checked as QEMU checks them, with its messages:
 *   "QMP input must be a JSON object"
 *   "QMP input lacks member 'execute'"
 *   "QMP input member 'execute' must be a string"
 *   "QMP input member 'arguments' must be an object"
 *   "QMP input member 'X' is unexpected"       (also 'exec-oob': no OOB)
 *   "The command X has not been found"          (CommandNotFound)
 *
 * Capabilities negotiation.  Each QMP session starts un-negotiated: until
 * qmp_capabilities succeeds, every other command (known or not) fails with
 * CommandNotFound "Expecting capabilities negotiation with
 * 'qmp_capabilities'"; afterwards qmp_capabilities fails with
 * CommandNotFound "Capabilities negotiation is already complete, command
 * ignored".  The session state is the caller's bool (*negotiated), set by
 * qmp_dispatch() when negotiation succeeds.  qmp_capabilities is built in;
 * vmscope offers no capabilities (no out-of-band execution), so its
 * optional "enable" list is checked as QEMU checks it and any member
 * refused ("Capability 'oob' not available").
 *
 * Built-ins the owner may register: query-version (the version configured
 * with qmp_dispatcher_set_version(); by default vmscope's own version,
 * {"qemu": {"micro": 0, "minor": 1, "major": 0}, "package": "vmscope
 * 0.1.0"}, which is also what the greeting carries) and query-commands
 * ([{"name": ...}] in registration order).
 *
 * Events.  qmp_dispatcher_emit_event() builds one event,
 * {"timestamp": {"seconds": S, "microseconds": U}, "event": NAME, "data":
 * DATA}, with the wall-clock time, and hands it to every listener (each QMP
 * server, the HTTP event stream), so all transports see the same event.
 *
 * Threads: a dispatcher is not thread-safe.  Use it from the thread that
 * runs the servers' main loop.
 */
#ifndef VMSCOPE_BRIDGE_QMP_DISPATCH_H
#define VMSCOPE_BRIDGE_QMP_DISPATCH_H

#include <stdbool.h>
#include <glib.h>

#include "vmscope/qobject.h"

/* Errors with a QMP error class: domain QMP_ERROR, code a QmpErrorClass. */
#define QMP_ERROR (qmp_error_quark())
GQuark qmp_error_quark(void);

/* QEMU's QapiErrorClass, in QEMU's order. */
typedef enum QmpErrorClass {
    QMP_ERROR_GENERIC_ERROR,       /* "GenericError" */
    QMP_ERROR_COMMAND_NOT_FOUND,   /* "CommandNotFound" */
    QMP_ERROR_DEVICE_NOT_ACTIVE,   /* "DeviceNotActive" */
    QMP_ERROR_DEVICE_NOT_FOUND,    /* "DeviceNotFound" */
    QMP_ERROR_KVM_MISSING_CAP,     /* "KVMMissingCap" */
} QmpErrorClass;

const char *qmp_error_class_name(QmpErrorClass cls);
/* False if name is not one of QEMU's classes. */
bool qmp_error_class_from_name(const char *name, QmpErrorClass *cls);
/* The class err is sent with: its code for QMP_ERROR, else GenericError. */
QmpErrorClass qmp_error_class_of(const GError *err);
/* {"error": {"class": ..., "desc": ...}} (new reference), e.g. for a parse error. */
QObject *qmp_error_response(const GError *err);

typedef enum QmpArgType {
    QMP_ARG_STR,      /* a string */
    QMP_ARG_INT,      /* an integer that fits int64 */
    QMP_ARG_UINT,     /* an integer that fits uint64 (negative refused) */
    QMP_ARG_NUMBER,   /* an integer or a floating-point number */
    QMP_ARG_BOOL,
    QMP_ARG_OBJECT,   /* a dict */
    QMP_ARG_ARRAY,    /* a list */
    QMP_ARG_ANY,      /* any JSON value, null included */
} QmpArgType;

typedef struct QmpArgSpec {
    const char *name;
    QmpArgType type;
    bool optional;
} QmpArgSpec;

/* Ends an argument spec array. */
#define QMP_ARGS_END { NULL, QMP_ARG_ANY, false }

typedef bool (*QmpCommandFunc)(QObject *args, QObject **ret, void *opaque, GError **errp);

typedef struct QmpDispatcher QmpDispatcher;

/* A dispatcher with the built-in qmp_capabilities only. */
QmpDispatcher *qmp_dispatcher_new(void);
void qmp_dispatcher_free(QmpDispatcher *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmpDispatcher, qmp_dispatcher_free)

/*
 * Add a command.  args: an array ended by QMP_ARGS_END, copied (NULL: the
 * command takes no arguments).  Registering a name that exists is a
 * programming error: it is reported with g_critical() and ignored.
 */
void qmp_dispatcher_register(QmpDispatcher *d, const char *name, const QmpArgSpec *args,
                             QmpCommandFunc fn, void *opaque);
/* Remove a command; false if there is none of that name (or it is qmp_capabilities). */
bool qmp_dispatcher_unregister(QmpDispatcher *d, const char *name);
bool qmp_dispatcher_has_command(const QmpDispatcher *d, const char *name);
/* Command names in registration order, NULL-terminated; g_strfreev() it. */
char **qmp_dispatcher_list_commands(const QmpDispatcher *d);

/* The version reported by the greeting and query-version. */
void qmp_dispatcher_set_version(QmpDispatcher *d, int major, int minor, int micro,
                                const char *package);
/* {"qemu": {"micro", "minor", "major"}, "package"}: a new reference. */
QObject *qmp_dispatcher_version(const QmpDispatcher *d);
/* {"QMP": {"version": ..., "capabilities": []}}: a new reference. */
QObject *qmp_dispatcher_greeting(const QmpDispatcher *d);

/* Built-in commands, registered on request. */
void qmp_dispatcher_register_query_version(QmpDispatcher *d);
void qmp_dispatcher_register_query_commands(QmpDispatcher *d);

/*
 * Run one request (any JSON value, borrowed) for a session whose state is
 * *negotiated; returns the response (a new reference, never NULL).
 */
QObject *qmp_dispatch(QmpDispatcher *d, QObject *request, bool *negotiated);

/*
 * Run a command by name for a negotiated session, without the request
 * envelope: what the HTTP bridge uses.  args: a dict or NULL (no
 * arguments), borrowed.  On success *ret is the return value (a new
 * reference); on failure *errp is in the QMP_ERROR domain with the class
 * the QMP response would carry.
 */
bool qmp_dispatcher_call(QmpDispatcher *d, const char *name, QObject *args,
                         QObject **ret, GError **errp);

/*
 * Events.  A listener gets each event (borrowed; qobject_ref() it to keep
 * it).  Listeners may be removed at any time, also from inside a listener.
 */
typedef void (*QmpEventFunc)(QObject *event, void *opaque);
guint qmp_dispatcher_add_event_listener(QmpDispatcher *d, QmpEventFunc fn, void *opaque);
void qmp_dispatcher_remove_event_listener(QmpDispatcher *d, guint id);
/* Build an event (takes data; NULL: no "data" member) and send it to every listener. */
void qmp_dispatcher_emit_event(QmpDispatcher *d, const char *name, QObject *data);

/* {"timestamp": {"seconds", "microseconds"}, "event": name, "data": data}: takes data. */
QObject *qmp_event_new(const char *name, QObject *data);

#endif

/*
 * QMP client, synchronous: for vmscope-view, the tests, and the bridge to
 * real QEMU.  It speaks to QEMU and to vmscope alike (tested against both).
 *
 * qmp_client_connect() connects (unix:PATH or tcp:HOST:PORT, see
 * vmscope/address.h), reads the greeting and negotiates capabilities (none are
 * enabled).  qmp_client_execute() sends one command and waits for its
 * answer; events that arrive meanwhile are queued, and
 * qmp_client_wait_event() takes them from the queue or waits for them.
 * Every call that waits gives up after the client's timeout (default 30 s;
 * qmp_client_set_timeout()).
 *
 * Errors:
 *   - the server refused the command: domain QMP_ERROR, code the error
 *     class (QMP_ERROR_COMMAND_NOT_FOUND...; a class this client does not
 *     know becomes QMP_ERROR_GENERIC_ERROR), message exactly the "desc";
 *   - the connection failed, closed or timed out: VMS_ERROR_IO;
 *   - the server sent something that is not QMP: VMS_ERROR_INVALID.
 * Transport and protocol messages start with "QMP <address>: ".  After a
 * transport or protocol error the connection is unusable; free it.
 *
 * Lower level, for tests and tools: qmp_client_open() stops after the
 * greeting, qmp_client_send_raw() sends any bytes, qmp_client_recv()
 * returns the next message of any kind in stream order (bypassing the
 * event queue).
 *
 * Events queue up to QMP_CLIENT_MAX_EVENTS; beyond that the oldest are
 * dropped.  A client is not thread-safe; use one per thread.
 */
#ifndef VMSCOPE_BRIDGE_QMP_CLIENT_H
#define VMSCOPE_BRIDGE_QMP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <glib.h>

#include "qmp-dispatch.h"

#define QMP_CLIENT_DEFAULT_TIMEOUT_MS 30000
#define QMP_CLIENT_MAX_EVENTS 4096
/* The longest message accepted from a server (QEMU's own limit). */
#define QMP_CLIENT_MAX_MESSAGE (64u << 20)

typedef struct QmpClient QmpClient;

/* Connect, read the greeting, negotiate.  timeout_ms <= 0: the default. */
QmpClient *qmp_client_connect(const char *address, int timeout_ms, GError **errp);
/* Connect and read the greeting only. */
QmpClient *qmp_client_open(const char *address, int timeout_ms, GError **errp);
/* Send qmp_capabilities (after qmp_client_open()). */
bool qmp_client_negotiate(QmpClient *c, GError **errp);
void qmp_client_free(QmpClient *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmpClient, qmp_client_free)

void qmp_client_set_timeout(QmpClient *c, int timeout_ms);
/* The greeting, borrowed: {"QMP": {"version": ..., "capabilities": [...]}}. */
const QObject *qmp_client_greeting(const QmpClient *c);
/* The address connected to, as given. */
const char *qmp_client_address(const QmpClient *c);

/*
 * Run a command.  args: a dict or NULL (borrowed).  On success *ret (if ret
 * is not NULL) is the "return" value, a new reference.
 */
bool qmp_client_execute(QmpClient *c, const char *command, QObject *args, QObject **ret,
                        GError **errp);

/*
 * The same, passing descriptor fd along (SCM_RIGHTS, Unix sockets only),
 * as QEMU's add-fd and getfd want it; fd stays the caller's.
 */
bool qmp_client_execute_fd(QmpClient *c, const char *command, QObject *args, int fd,
                           QObject **ret, GError **errp);

/* migrate-set-capabilities of one capability. */
bool qmp_client_set_capability(QmpClient *c, const char *capability, bool on, GError **errp);

/*
 * The first queued event called name (NULL: any), else wait up to
 * timeout_ms (< 0: the client's timeout) for one.  A new reference, or NULL
 * with *errp set.
 */
QObject *qmp_client_wait_event(QmpClient *c, const char *name, int timeout_ms, GError **errp);
/* Take the first queued event called name (NULL: any) without waiting; NULL if none. */
QObject *qmp_client_pop_event(QmpClient *c, const char *name);
guint qmp_client_event_count(const QmpClient *c);

/* Low level. */
bool qmp_client_send_raw(QmpClient *c, const void *data, size_t len, GError **errp);
/*
 * The next message in the stream (response or event), a new reference;
 * waits up to timeout_ms (< 0: the client's timeout).
 */
bool qmp_client_recv(QmpClient *c, QObject **msg, int timeout_ms, GError **errp);

#endif

/*
 * QMP client: see qmp-client.h.
 *
 * One non-blocking GSocket; every wait is a poll with a deadline, so no call
 * can hang longer than the timeout whatever the server does.
 */
#include "config.h"

#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <gio/gio.h>
#include <gio/gunixfdmessage.h>

#include "qmp-client.h"
#include "qmp-json.h"
#include "vmscope/address.h"
#include "vmscope/error.h"

#define READ_CHUNK (64u << 10)

struct QmpClient {
    char *address;
    GSocket *sock;
    QmpJsonParser *parser;
    GByteArray *in;
    size_t in_off;
    QObject *greeting;
    GQueue events;         /* QObject * */
    int timeout_ms;
    gint64 next_id;
};

static gint64 deadline_after(int timeout_ms)
{
    return g_get_monotonic_time() + (gint64)timeout_ms * 1000;
}

static int timeout_or_default(const QmpClient *c, int timeout_ms)
{
    return timeout_ms < 0 ? c->timeout_ms : timeout_ms;
}

/* Wait until the socket is ready for cond, or the deadline passes. */
static bool wait_for(QmpClient *c, GIOCondition cond, gint64 deadline, const char *what,
                     GError **errp)
{
    gint64 left = deadline - g_get_monotonic_time();
    g_autoptr(GError) err = NULL;

    if (left <= 0) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "QMP %s: timed out %s", c->address, what);
        return false;
    }
    if (!g_socket_condition_timed_wait(c->sock, cond, left, NULL, &err)) {
        if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_TIMED_OUT)) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "QMP %s: timed out %s", c->address, what);
        } else {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "QMP %s: %s", c->address, err->message);
        }
        return false;
    }
    return true;
}

bool qmp_client_send_raw(QmpClient *c, const void *data, size_t len, GError **errp)
{
    gint64 deadline = deadline_after(c->timeout_ms);
    size_t off = 0;

    while (off < len) {
        g_autoptr(GError) err = NULL;
        gssize n = g_socket_send(c->sock, (const char *)data + off, len - off, NULL, &err);
        if (n < 0) {
            if (!g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
                g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "QMP %s: send: %s", c->address,
                            err->message);
                return false;
            }
            if (!wait_for(c, G_IO_OUT, deadline, "sending", errp)) {
                return false;
            }
            continue;
        }
        off += (size_t)n;
    }
    return true;
}

static bool recv_until(QmpClient *c, QObject **msg, gint64 deadline, const char *what,
                       GError **errp)
{
    for (;;) {
        while (c->in_off < c->in->len) {
            size_t used = 0;
            QObject *v = NULL;
            g_autoptr(GError) err = NULL;
            QmpJsonStatus st = qmp_json_parser_feed(c->parser, (const char *)c->in->data + c->in_off,
                                                    c->in->len - c->in_off, &used, &v, &err);
            c->in_off += used;
            if (st == QMP_JSON_ERROR) {
                g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "QMP %s: server sent bad JSON: %s",
                            c->address, err->message);
                return false;
            }
            if (st == QMP_JSON_VALUE) {
                if (qobject_type(v) != QTYPE_DICT) {
                    g_autofree char *text = qmp_json_format(v);
                    qobject_unref(v);
                    g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                                "QMP %s: server sent a message that is not an object: %.200s",
                                c->address, text);
                    return false;
                }
                *msg = v;
                return true;
            }
        }
        g_byte_array_set_size(c->in, 0);
        c->in_off = 0;

        char buf[READ_CHUNK];
        g_autoptr(GError) err = NULL;
        gssize n = g_socket_receive(c->sock, buf, sizeof(buf), NULL, &err);
        if (n < 0) {
            if (!g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
                g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "QMP %s: receive: %s", c->address,
                            err->message);
                return false;
            }
            if (!wait_for(c, G_IO_IN, deadline, what, errp)) {
                return false;
            }
            continue;
        }
        if (n == 0) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "QMP %s: connection closed by the server",
                        c->address);
            return false;
        }
        g_byte_array_append(c->in, (const guint8 *)buf, (guint)n);
    }
}

bool qmp_client_recv(QmpClient *c, QObject **msg, int timeout_ms, GError **errp)
{
    return recv_until(c, msg, deadline_after(timeout_or_default(c, timeout_ms)),
                      "waiting for a message", errp);
}

static void queue_event(QmpClient *c, QObject *ev)
{
    g_queue_push_tail(&c->events, ev);
    while (c->events.length > QMP_CLIENT_MAX_EVENTS) {
        qobject_unref(g_queue_pop_head(&c->events));
    }
}

QmpClient *qmp_client_open(const char *address, int timeout_ms, GError **errp)
{
    g_autoptr(GSocketAddress) addr = address_parse("QMP address", address, errp);
    g_autoptr(GError) err = NULL;

    if (!addr) {
        return NULL;
    }
    g_autoptr(QmpClient) c = g_new0(QmpClient, 1);
    c->address = g_strdup(address);
    c->parser = qmp_json_parser_new(QMP_CLIENT_MAX_MESSAGE);
    c->in = g_byte_array_new();
    g_queue_init(&c->events);
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : QMP_CLIENT_DEFAULT_TIMEOUT_MS;

    gint64 deadline = deadline_after(c->timeout_ms);
    c->sock = address_connect(addr, c->timeout_ms, NULL, &err);
    if (!c->sock) {
        if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_TIMED_OUT)) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "QMP %s: timed out connecting", address);
        } else {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "QMP %s: connect: %s", address,
                        err->message);
        }
        return NULL;
    }
    if (g_socket_get_family(c->sock) != G_SOCKET_FAMILY_UNIX &&
        !g_socket_set_option(c->sock, IPPROTO_TCP, TCP_NODELAY, 1, &err)) {
        g_debug("qmp client: TCP_NODELAY: %s", err->message);
        g_clear_error(&err);
    }

    QObject *greeting = NULL;
    if (!recv_until(c, &greeting, deadline, "waiting for the greeting", errp)) {
        return NULL;
    }
    if (qobject_type(qdict_get(greeting, "QMP")) != QTYPE_DICT) {
        g_autofree char *text = qmp_json_format(greeting);
        qobject_unref(greeting);
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "QMP %s: expected a greeting, got %.200s",
                    address, text);
        return NULL;
    }
    c->greeting = greeting;
    return g_steal_pointer(&c);
}

QmpClient *qmp_client_connect(const char *address, int timeout_ms, GError **errp)
{
    g_autoptr(QmpClient) c = qmp_client_open(address, timeout_ms, errp);
    if (!c || !qmp_client_negotiate(c, errp)) {
        return NULL;
    }
    return g_steal_pointer(&c);
}

bool qmp_client_negotiate(QmpClient *c, GError **errp)
{
    return qmp_client_execute(c, "qmp_capabilities", NULL, NULL, errp);
}

void qmp_client_free(QmpClient *c)
{
    if (!c) {
        return;
    }
    if (c->sock) {
        g_socket_close(c->sock, NULL);
        g_object_unref(c->sock);
    }
    qmp_json_parser_free(c->parser);
    if (c->in) {
        g_byte_array_unref(c->in);
    }
    qobject_unref(c->greeting);
    while (!g_queue_is_empty(&c->events)) {
        qobject_unref(g_queue_pop_head(&c->events));
    }
    g_free(c->address);
    g_free(c);
}

void qmp_client_set_timeout(QmpClient *c, int timeout_ms)
{
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : QMP_CLIENT_DEFAULT_TIMEOUT_MS;
}

const QObject *qmp_client_greeting(const QmpClient *c)
{
    return c->greeting;
}

const char *qmp_client_address(const QmpClient *c)
{
    return c->address;
}

/* The error a QMP {"error": {...}} member stands for. */
static void set_qmp_error(QmpClient *c, const QObject *error, GError **errp)
{
    const char *cls_name = qdict_get_str(error, "class");
    const char *desc = qdict_get_str(error, "desc");
    QmpErrorClass cls = QMP_ERROR_GENERIC_ERROR;

    if (!cls_name || !desc) {
        g_autofree char *text = qmp_json_format(error);
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "QMP %s: malformed error: %.200s",
                    c->address, text);
        return;
    }
    if (!qmp_error_class_from_name(cls_name, &cls)) {
        cls = QMP_ERROR_GENERIC_ERROR;
    }
    g_set_error_literal(errp, QMP_ERROR, (gint)cls, desc);
}

/* Send the request text, its first byte carrying fd (SCM_RIGHTS) when fd >= 0. */
static bool send_request(QmpClient *c, const GString *text, int fd, GError **errp)
{
    if (fd < 0) {
        return qmp_client_send_raw(c, text->str, text->len, errp);
    }
    if (g_socket_get_family(c->sock) != G_SOCKET_FAMILY_UNIX) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "QMP %s: descriptors can only be passed on a Unix socket", c->address);
        return false;
    }
    g_autoptr(GError) err = NULL;
    g_autoptr(GSocketControlMessage) msg = g_unix_fd_message_new();
    if (!g_unix_fd_message_append_fd(G_UNIX_FD_MESSAGE(msg), fd, &err)) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "QMP %s: %s", c->address, err->message);
        return false;
    }
    GOutputVector v = { text->str, 1 };
    GSocketControlMessage *msgs[] = { msg };
    gint64 deadline = deadline_after(c->timeout_ms);
    for (;;) {
        gssize n = g_socket_send_message(c->sock, NULL, &v, 1, msgs, 1, 0, NULL, &err);
        if (n == 1) {
            break;
        }
        if (n >= 0 || !g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "QMP %s: send: %s", c->address,
                        err ? err->message : "nothing sent");
            return false;
        }
        g_clear_error(&err);
        if (!wait_for(c, G_IO_OUT, deadline, "sending", errp)) {
            return false;
        }
    }
    return qmp_client_send_raw(c, text->str + 1, text->len - 1, errp);
}

bool qmp_client_execute(QmpClient *c, const char *command, QObject *args, QObject **ret,
                        GError **errp)
{
    return qmp_client_execute_fd(c, command, args, -1, ret, errp);
}

bool qmp_client_execute_fd(QmpClient *c, const char *command, QObject *args, int fd,
                           QObject **ret, GError **errp)
{
    gint64 id = ++c->next_id;
    g_autoptr(QObject) req = qdict_new();
    qdict_put(req, "execute", qstring_from_str(command));
    if (args) {
        qdict_put(req, "arguments", qobject_ref(args));
    }
    qdict_put(req, "id", qnum_from_int(id));

    g_autoptr(GString) text = g_string_new(NULL);
    qmp_json_append(text, req);
    g_string_append(text, "\r\n");
    if (!send_request(c, text, fd, errp)) {
        return false;
    }

    gint64 deadline = deadline_after(c->timeout_ms);
    g_autofree char *what = g_strdup_printf("waiting for the answer to %s", command);
    for (;;) {
        QObject *msg = NULL;
        if (!recv_until(c, &msg, deadline, what, errp)) {
            return false;
        }
        if (qdict_haskey(msg, "event")) {
            queue_event(c, msg);
            continue;
        }
        g_autoptr(QObject) rsp = msg;
        int64_t got = 0;
        if (qdict_haskey(rsp, "id") && !(qnum_get_int(qdict_get(rsp, "id"), &got) && got == id)) {
            g_autofree char *t = qmp_json_format(rsp);
            g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                        "QMP %s: answer to another request: %.200s", c->address, t);
            return false;
        }
        if (qdict_haskey(rsp, "return")) {
            if (ret) {
                *ret = qobject_ref(qdict_get(rsp, "return"));
            }
            return true;
        }
        if (qobject_type(qdict_get(rsp, "error")) == QTYPE_DICT) {
            set_qmp_error(c, qdict_get(rsp, "error"), errp);
            return false;
        }
        g_autofree char *t = qmp_json_format(rsp);
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "QMP %s: unexpected message: %.200s",
                    c->address, t);
        return false;
    }
}

bool qmp_client_set_capability(QmpClient *c, const char *capability, bool on, GError **errp)
{
    g_autoptr(QObject) args = qdict_new();
    QObject *list = qlist_new(), *cap = qdict_new();
    qdict_put(cap, "capability", qstring_from_str(capability));
    qdict_put(cap, "state", qbool_from_bool(on));
    qlist_append(list, cap);
    qdict_put(args, "capabilities", list);
    return qmp_client_execute(c, "migrate-set-capabilities", args, NULL, errp);
}

static bool event_matches(const QObject *ev, const char *name)
{
    return !name || g_strcmp0(qdict_get_str(ev, "event"), name) == 0;
}

QObject *qmp_client_pop_event(QmpClient *c, const char *name)
{
    for (GList *l = c->events.head; l; l = l->next) {
        if (event_matches(l->data, name)) {
            QObject *ev = l->data;
            g_queue_delete_link(&c->events, l);
            return ev;
        }
    }
    return NULL;
}

guint qmp_client_event_count(const QmpClient *c)
{
    return c->events.length;
}

QObject *qmp_client_wait_event(QmpClient *c, const char *name, int timeout_ms, GError **errp)
{
    QObject *ev = qmp_client_pop_event(c, name);
    if (ev) {
        return ev;
    }

    gint64 deadline = deadline_after(timeout_or_default(c, timeout_ms));
    g_autofree char *what = g_strdup_printf("waiting for event %s", name ? name : "(any)");
    for (;;) {
        QObject *msg = NULL;
        if (!recv_until(c, &msg, deadline, what, errp)) {
            return NULL;
        }
        if (!qdict_haskey(msg, "event")) {
            g_autofree char *t = qmp_json_format(msg);
            qobject_unref(msg);
            g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                        "QMP %s: answer with no request pending: %.200s", c->address, t);
            return NULL;
        }
        if (event_matches(msg, name)) {
            return msg;
        }
        queue_event(c, msg);
    }
}

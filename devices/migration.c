/*
 * Migrations of a device host: the outgoing side (a worker thread does the
 * blocking I/O; the main loop keeps answering QMP), the incoming side (all
 * on the main loop), query-migrate and the capabilities.  See migration.h
 * and docs/migration.md.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <gio/gio.h>
#include <gio/gunixoutputstream.h>
#include <gio/gunixsocketaddress.h>

#include "migration.h"
#include "vmscope/address.h"
#include "vmscope/error.h"
#include "vmscope/qobject-visitor.h"

typedef enum MigStatus {
    MIG_NONE,
    MIG_SETUP,
    MIG_ACTIVE,
    MIG_CANCELLING,
    MIG_COMPLETED,
    MIG_FAILED,
    MIG_CANCELLED,
} MigStatus;

static const char *const status_names[] = {
    [MIG_NONE] = "none", [MIG_SETUP] = "setup", [MIG_ACTIVE] = "active",
    [MIG_CANCELLING] = "cancelling", [MIG_COMPLETED] = "completed",
    [MIG_FAILED] = "failed", [MIG_CANCELLED] = "cancelled",
};

/*
 * QEMU 7.2's capabilities, in its order; vmscope supports the few it marks.
 * Then vmscope's own: "ber", the stream in BER (docs/ber.md) rather than in
 * QEMU's format, both ways.
 */
static const struct {
    const char *name;
    bool supported;
} capabilities[] = {
    { "xbzrle", false }, { "rdma-pin-all", false }, { "auto-converge", false },
    { "zero-blocks", false }, { "compress", false }, { "events", true },
    { "postcopy-ram", false }, { "x-colo", false }, { "release-ram", false },
    { "block", false }, { "return-path", false }, { "pause-before-switchover", false },
    { "multifd", false }, { "dirty-bitmaps", false }, { "postcopy-blocktime", false },
    { "late-block-activate", false }, { "x-ignore-shared", true }, { "validate-uuid", false },
    { "background-snapshot", false }, { "zero-copy-send", false },
    { "postcopy-preempt", false },
    { "ber", true },
};
#define N_CAPS G_N_ELEMENTS(capabilities)

/* ---- the outgoing transport (shared with the worker thread) ---------------- */

typedef enum UriKind { URI_SOCKET, URI_EXEC } UriKind;

typedef struct Worker {
    UriKind kind;
    char *target;                   /* PATH, HOST:PORT or CMD, for messages */
    GSocketAddress *addr;           /* URI_SOCKET */
    GSocket *sock;                  /* URI_SOCKET: owns fd */
    int fd;                         /* the socket, or the command's stdin */
    GSubprocess *proc;
    GOutputStream *pipe;            /* owns fd for exec */
    DevHost *host;                  /* frozen while the worker saves it */
    bool ber;                       /* the stream's format: BER, or QEMU's */
    GBytes *stream;
    _Atomic uint64_t stream_bytes;  /* 0 until saved */
    _Atomic uint64_t sent;
} Worker;

static void worker_clear(gpointer p)
{
    Worker *w = p;
    if (w->pipe) {
        g_object_unref(w->pipe);            /* closes fd */
    }
    if (w->sock) {
        g_socket_close(w->sock, NULL);      /* closes fd */
        g_object_unref(w->sock);
    }
    g_clear_object(&w->addr);
    if (w->proc) {
        if (g_subprocess_get_identifier(w->proc)) {
            g_subprocess_force_exit(w->proc);
            g_subprocess_wait(w->proc, NULL, NULL);
        }
        g_object_unref(w->proc);
    }
    if (w->stream) {
        g_bytes_unref(w->stream);
    }
    g_free(w->target);
}

static Worker *worker_ref(Worker *w) { return g_atomic_rc_box_acquire(w); }
static void worker_unref(gpointer w) { g_atomic_rc_box_release_full(w, worker_clear); }

static int64_t now_ms(void)
{
    return g_get_monotonic_time() / 1000;
}

/*
 * Wait until fd is ready for `events`, for at most timeout_ms, or until c is
 * cancelled.  False with an error naming `what` otherwise.
 */
static bool wait_fd(int fd, short events, GCancellable *c, int timeout_ms, const char *what,
                    GError **errp)
{
    GPollFD fds[2] = { { .fd = fd, .events = events } };
    int n = g_cancellable_make_pollfd(c, &fds[1]) ? 2 : 1;
    int rc;
    do {
        rc = g_poll(fds, (guint)n, timeout_ms);
    } while (rc < 0 && errno == EINTR);
    int saved = errno;
    if (n == 2) {
        g_cancellable_release_fd(c);
    }
    if (g_cancellable_is_cancelled(c)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_CANCELLED, "migration cancelled");
        return false;
    }
    if (rc < 0) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "%s: poll: %s", what, g_strerror(saved));
        return false;
    }
    if (rc == 0) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "%s: no progress for %d ms", what, timeout_ms);
        return false;
    }
    return true;
}

static bool worker_connect(Worker *w, GCancellable *c, GError **errp)
{
    if (w->kind == URI_EXEC) {
        const char *argv[] = { "/bin/sh", "-c", w->target, NULL };
        g_autoptr(GError) err = NULL;
        w->proc = g_subprocess_newv(argv, G_SUBPROCESS_FLAGS_STDIN_PIPE, &err);
        if (!w->proc) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "Failed to start command '%s': %s",
                        w->target, err->message);
            return false;
        }
        w->pipe = g_object_ref(g_subprocess_get_stdin_pipe(w->proc));
        w->fd = g_unix_output_stream_get_fd(G_UNIX_OUTPUT_STREAM(w->pipe));
        int fl = fcntl(w->fd, F_GETFL);
        if (fl < 0 || fcntl(w->fd, F_SETFL, fl | O_NONBLOCK) < 0) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "command '%s': fcntl: %s", w->target,
                        g_strerror(errno));
            return false;
        }
        return true;
    }

    g_autoptr(GError) err = NULL;
    w->sock = address_connect(w->addr, MIGRATION_CONNECT_TIMEOUT_MS, c, &err);
    if (!w->sock) {
        if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_CANCELLED, "migration cancelled");
        } else {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "Failed to connect to '%s': %s",
                        w->target, err->message);
        }
        return false;
    }
    w->fd = g_socket_get_fd(w->sock);
    return true;
}

static bool worker_send(Worker *w, GCancellable *c, GError **errp)
{
    gsize len = 0;
    const uint8_t *data = g_bytes_get_data(w->stream, &len);
    const char *what = w->kind == URI_EXEC ? "command" : "socket";
    size_t off = 0;
    while (off < len) {
        if (g_cancellable_is_cancelled(c)) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_CANCELLED, "migration cancelled");
            return false;
        }
        size_t chunk = MIN(len - off, (size_t)1 << 20);
        ssize_t n = w->kind == URI_EXEC ? write(w->fd, data + off, chunk)
                                        : send(w->fd, data + off, chunk, MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
            atomic_store(&w->sent, off);
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            g_autofree char *label = g_strdup_printf("Unable to write to %s", what);
            if (!wait_fd(w->fd, POLLOUT, c, MIGRATION_IO_TIMEOUT_MS, label, errp)) {
                return false;
            }
            continue;
        }
        g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "Unable to write to %s: %s", what,
                    n < 0 ? g_strerror(errno) : "wrote nothing");
        return false;
    }
    return true;
}

/* The destination's result line: {"status": "completed"} or {"status": "failed", "error"}. */
static bool worker_result(Worker *w, GCancellable *c, GError **errp)
{
    if (shutdown(w->fd, SHUT_WR) < 0) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "Unable to write to socket: shutdown: %s",
                    g_strerror(errno));
        return false;
    }
    g_autoptr(GString) in = g_string_new(NULL);
    for (;;) {
        if (!wait_fd(w->fd, POLLIN, c, MIGRATION_IO_TIMEOUT_MS,
                     "waiting for the destination's result", errp)) {
            return false;
        }
        char buf[4096];
        ssize_t n = recv(w->fd, buf, sizeof(buf), 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) {
            continue;
        }
        if (n < 0) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_IO,
                        "reading the destination's result: %s", g_strerror(errno));
            return false;
        }
        if (n == 0) {
            break;
        }
        g_string_append_len(in, buf, n);
        if (memchr(in->str, '\n', in->len)) {
            break;
        }
        if (in->len > MIGRATION_MAX_RESULT) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_RANGE,
                        "the destination's result is longer than %d bytes",
                        MIGRATION_MAX_RESULT);
            return false;
        }
    }
    if (in->len == 0) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_IO,
                    "the destination closed the connection without a result");
        return false;
    }
    const char *nl = memchr(in->str, '\n', in->len);
    size_t line_len = nl ? (size_t)(nl - in->str) : in->len;
    g_autoptr(QObject) result = NULL;
    g_autoptr(GError) err = NULL;
    const char *status = NULL;
    if (!qobject_from_json(in->str, line_len, &result, &err) ||
        qobject_type(result) != QTYPE_DICT || !(status = qdict_get_str(result, "status"))) {
        g_autofree char *shown = g_strndup(in->str, MIN(line_len, 200));
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "the destination sent an invalid result: %s", shown);
        return false;
    }
    if (strcmp(status, "completed") == 0) {
        return true;
    }
    const char *error = qdict_get_str(result, "error");
    g_set_error(errp, VMS_ERROR, VMS_ERROR_FAILED, "the destination refused the migration: %s",
                error ? error : status);
    return false;
}

static bool worker_finish_exec(Worker *w, GCancellable *c, GError **errp)
{
    g_autoptr(GError) err = NULL;
    if (!g_output_stream_close(w->pipe, NULL, &err)) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "Unable to write to command: %s",
                    err->message);
        return false;
    }
    if (!g_subprocess_wait(w->proc, c, &err)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_CANCELLED, "migration cancelled");
        return false;
    }
    if (g_subprocess_get_if_exited(w->proc)) {
        int status = g_subprocess_get_exit_status(w->proc);
        if (status == 0) {
            return true;
        }
        g_set_error(errp, VMS_ERROR, VMS_ERROR_FAILED, "command '%s' exited with status %d",
                    w->target, status);
    } else {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_FAILED, "command '%s' was killed by signal %d",
                    w->target, g_subprocess_get_term_sig(w->proc));
    }
    return false;
}

static void connect_thread(GTask *task, gpointer source, gpointer data, GCancellable *c)
{
    GError *err = NULL;
    if (worker_connect(data, c, &err)) {
        g_task_return_boolean(task, TRUE);
    } else {
        g_task_return_error(task, err);
    }
}

/*
 * Save and send.  The devices are frozen (finish-migrate): the main thread
 * writes neither their states nor their heap until this task has ended,
 * so the worker may read them.
 */
static void send_thread(GTask *task, gpointer source, gpointer data, GCancellable *c)
{
    Worker *w = data;
    GError *err = NULL;
    w->stream = migration_save_stream(w->host, w->ber, &err);
    if (!w->stream) {
        vms_error_prefix(&err, "saving the device state");
        g_task_return_error(task, err);
        return;
    }
    atomic_store(&w->stream_bytes, g_bytes_get_size(w->stream));
    bool ok = worker_send(w, c, &err) &&
              (w->kind == URI_EXEC ? worker_finish_exec(w, c, &err) : worker_result(w, c, &err));
    if (ok) {
        g_task_return_boolean(task, TRUE);
    } else {
        g_task_return_error(task, err);
    }
}

/* ---- the migration record ---------------------------------------------------- */

struct Migration {
    DevHost *h;
    Filter *filter;                 /* incoming migrations go through it (NULL: none) */
    GMainContext *ctx;
    MigrationEventFunc event_fn;
    void *event_opaque;
    bool caps[N_CAPS];

    /* The last migration, either way. */
    MigStatus status;
    bool incoming;
    bool ber;                        /* its format: BER, or QEMU's */
    char *error;
    int64_t start_ms, setup_ms, stop_ms, end_ms;
    uint64_t stream_bytes;
    size_t devices;

    /* Outgoing. */
    Worker *worker;
    GCancellable *cancel;
    bool busy;                       /* a worker task is running */
    DevHostRunState resume_state;

    /* Incoming. */
    GSocket *listener;
    GSource *accept_src;
    QObject *socket_address;         /* QEMU's "socket-address" list */
    GSocket *conn;
    GSource *conn_src;
    GSource *idle_src;
    GByteArray *inbuf;
    int64_t last_data_ms;
    bool autostart;
};

static void set_status(Migration *m, MigStatus status)
{
    if (m->status == status) {
        return;
    }
    m->status = status;
    if (m->event_fn && migration_capability(m, "events")) {
        QObject *data = qdict_new();
        qdict_put(data, "status", qstring_from_str(status_names[status]));
        m->event_fn("MIGRATION", data, m->event_opaque);
    }
}

static void set_error(Migration *m, const char *msg)
{
    g_free(m->error);
    m->error = g_strdup(msg);
}

Migration *migration_new(DevHost *h, GMainContext *ctx, MigrationEventFunc event_fn,
                         void *opaque)
{
    /* Writing to a command that exited must fail with EPIPE, not kill us. */
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
        signal(SIGPIPE, SIG_IGN);
    }
    Migration *m = g_new0(Migration, 1);
    m->h = h;
    m->ctx = ctx ? g_main_context_ref(ctx) : g_main_context_ref(g_main_context_default());
    m->event_fn = event_fn;
    m->event_opaque = opaque;
    m->autostart = true;
    return m;
}

static void incoming_close_conn(Migration *m)
{
    if (m->conn_src) {
        g_source_destroy(m->conn_src);
        g_source_unref(m->conn_src);
        m->conn_src = NULL;
    }
    if (m->idle_src) {
        g_source_destroy(m->idle_src);
        g_source_unref(m->idle_src);
        m->idle_src = NULL;
    }
    if (m->conn) {
        g_socket_close(m->conn, NULL);
        g_object_unref(m->conn);
        m->conn = NULL;
    }
    if (m->inbuf) {
        g_byte_array_unref(m->inbuf);
        m->inbuf = NULL;
    }
}

static void incoming_close_listener(Migration *m)
{
    if (m->accept_src) {
        g_source_destroy(m->accept_src);
        g_source_unref(m->accept_src);
        m->accept_src = NULL;
    }
    g_clear_pointer(&m->listener, address_listener_close);
}

void migration_free(Migration *m)
{
    if (!m) {
        return;
    }
    if (m->busy) {
        g_cancellable_cancel(m->cancel);
        /* The worker notices within one poll; its callback clears busy. */
        while (m->busy) {
            g_main_context_iteration(m->ctx, TRUE);
        }
    }
    if (m->worker) {
        worker_unref(m->worker);
    }
    g_clear_object(&m->cancel);
    incoming_close_conn(m);
    incoming_close_listener(m);
    qobject_unref(m->socket_address);
    g_free(m->error);
    filter_free(m->filter);
    g_main_context_unref(m->ctx);
    g_free(m);
}

/* ---- outgoing ------------------------------------------------------------------ */

bool migration_outgoing_active(const Migration *m)
{
    return !m->incoming && (m->status == MIG_SETUP || m->status == MIG_ACTIVE ||
                            m->status == MIG_CANCELLING);
}

void migration_set_resume_state(Migration *m, DevHostRunState state)
{
    m->resume_state = state;
}

/* frozen: the devices were stopped for this migration (and go back on failure). */
static void outgoing_end(Migration *m, GError *err, bool frozen)
{
    m->end_ms = now_ms();
    m->busy = false;
    if (m->worker) {
        m->stream_bytes = atomic_load(&m->worker->stream_bytes);
    }
    if (!err) {
        set_status(m, MIG_COMPLETED);
        devhost_set_run_state(m->h, DEVHOST_POSTMIGRATE);
    } else {
        bool cancelled = g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED);
        set_error(m, err->message);
        if (!cancelled) {
            g_autoptr(GError) failed = g_error_new(err->domain, err->code,
                                                   "migration failed: %s", err->message);
            devhost_report_error(m->h, failed);
        }
        set_status(m, cancelled ? MIG_CANCELLED : MIG_FAILED);
        if (frozen) {
            /* Back to where we were: the state was never touched. */
            devhost_set_run_state(m->h, m->resume_state);
        }
    }
    if (m->worker) {
        /* Close the connection or reap the command now, not at the next migration. */
        worker_unref(m->worker);
        m->worker = NULL;
    }
}

static void on_sent(GObject *source, GAsyncResult *res, gpointer opaque)
{
    Migration *m = opaque;
    GError *err = NULL;
    g_task_propagate_boolean(G_TASK(res), &err);
    outgoing_end(m, err, true);
    g_clear_error(&err);
}

static void on_connected(GObject *source, GAsyncResult *res, gpointer opaque)
{
    Migration *m = opaque;
    GError *err = NULL;
    if (!g_task_propagate_boolean(G_TASK(res), &err) || g_cancellable_is_cancelled(m->cancel)) {
        if (!err) {
            g_set_error(&err, G_IO_ERROR, G_IO_ERROR_CANCELLED, "migration cancelled");
        }
        outgoing_end(m, err, false);
        g_clear_error(&err);
        return;
    }
    m->setup_ms = now_ms();
    set_status(m, MIG_ACTIVE);
    /* Freeze the devices: what is sent is exactly what this host holds. */
    m->stop_ms = now_ms();
    m->resume_state = devhost_run_state(m->h);
    devhost_set_run_state(m->h, DEVHOST_FINISH_MIGRATE);
    m->worker->host = m->h;
    GTask *task = g_task_new(NULL, m->cancel, on_sent, m);
    g_task_set_task_data(task, worker_ref(m->worker), worker_unref);
    g_task_run_in_thread(task, send_thread);
    g_object_unref(task);
}

/* "unix:PATH" / "tcp:HOST:PORT" -> a native address; "exec:CMD". */
static bool parse_uri(const char *uri, Worker *w, GError **errp)
{
    if (g_str_has_prefix(uri, "exec:")) {
        if (!uri[5]) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                        "migration URI 'exec:': empty command");
            return false;
        }
        w->kind = URI_EXEC;
        w->target = g_strdup(uri + 5);
        return true;
    }
    if (!g_str_has_prefix(uri, "unix:") && !g_str_has_prefix(uri, "tcp:")) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "Parameter 'uri' expects a valid migration protocol");
        return false;
    }
    w->addr = address_parse("migration URI", uri, errp);
    if (!w->addr) {
        return false;
    }
    w->kind = URI_SOCKET;
    w->target = g_str_has_prefix(uri, "unix:") ? g_strdup(uri + 5) : g_strdup(uri + 4);
    return true;
}

bool migration_start(Migration *m, const char *uri, GError **errp)
{
    DevHostRunState state = devhost_run_state(m->h);
    if (migration_outgoing_active(m) || m->busy) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_FAILED, "There's a migration process in progress");
        return false;
    }
    if (state == DEVHOST_INMIGRATE) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_FAILED,
                    "Guest is waiting for an incoming migration");
        return false;
    }
    if (state == DEVHOST_POSTMIGRATE) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_FAILED,
                    "Can't migrate the vm that was paused due to previous migration");
        return false;
    }
    Worker *w = g_atomic_rc_box_new0(Worker);
    w->fd = -1;
    if (!parse_uri(uri, w, errp)) {
        worker_unref(w);
        return false;
    }

    if (m->worker) {
        worker_unref(m->worker);
    }
    m->worker = w;
    m->ber = w->ber = migration_capability(m, "ber");
    g_clear_object(&m->cancel);
    m->cancel = g_cancellable_new();
    m->incoming = false;
    g_clear_pointer(&m->error, g_free);
    m->start_ms = now_ms();
    m->setup_ms = m->stop_ms = m->end_ms = 0;
    m->stream_bytes = 0;
    m->devices = devhost_n_devices(m->h);
    m->busy = true;
    m->status = MIG_NONE;
    set_status(m, MIG_SETUP);

    GTask *task = g_task_new(NULL, m->cancel, on_connected, m);
    g_task_set_task_data(task, worker_ref(w), worker_unref);
    g_task_run_in_thread(task, connect_thread);
    g_object_unref(task);
    return true;
}

void migration_cancel(Migration *m)
{
    if (migration_outgoing_active(m) && m->cancel) {
        set_status(m, MIG_CANCELLING);
        g_cancellable_cancel(m->cancel);
    }
}

/* ---- incoming ---------------------------------------------------------------------- */

void migration_set_autostart(Migration *m, bool autostart)
{
    m->autostart = autostart;
}

void migration_set_filter(Migration *m, Filter *f)
{
    filter_free(m->filter);
    m->filter = f;
}

static void incoming_reply(Migration *m, const GError *err)
{
    g_autoptr(QObject) reply = qdict_new();
    qdict_put(reply, "status", qstring_from_str(err ? "failed" : "completed"));
    if (err) {
        qdict_put(reply, "error", qstring_from_str(err->message));
    }
    g_autofree char *json = qobject_to_json(reply, false);
    g_autofree char *line = g_strconcat(json, "\n", NULL);
    size_t len = strlen(line), off = 0;
    g_socket_set_blocking(m->conn, TRUE);
    g_socket_set_timeout(m->conn, 5);
    while (off < len) {
        g_autoptr(GError) e = NULL;
        gssize n = g_socket_send(m->conn, line + off, len - off, NULL, &e);
        if (n <= 0) {
            /* The source is gone: it will call the migration failed on its own. */
            break;
        }
        off += (size_t)n;
    }
}

static gboolean incoming_accept_cb(GSocket *sock, GIOCondition cond, gpointer opaque);

static void incoming_finish(Migration *m, GError *err)
{
    m->end_ms = now_ms();
    if (!err) {
        g_autoptr(GBytes) stream = g_byte_array_free_to_bytes(g_steal_pointer(&m->inbuf));
        m->stream_bytes = g_bytes_get_size(stream);
        if (!migration_load_stream_filtered(m->h, stream, m->ber, m->filter, &err)) {
            vms_error_prefix(&err, "incoming migration");
        }
    }
    if (m->conn) {
        incoming_reply(m, err);
    }
    incoming_close_conn(m);
    if (err) {
        devhost_report_error(m->h, err);
        set_error(m, err->message);
        set_status(m, MIG_FAILED);
        g_error_free(err);
        return;                               /* still listening, devices unchanged */
    }
    incoming_close_listener(m);
    set_status(m, MIG_COMPLETED);
    devhost_set_run_state(m->h, m->autostart ? DEVHOST_RUNNING : DEVHOST_PAUSED);
}

static gboolean incoming_read_cb(GSocket *sock, GIOCondition cond, gpointer opaque)
{
    Migration *m = opaque;
    for (;;) {
        uint8_t buf[65536];
        g_autoptr(GError) err = NULL;
        gssize n = g_socket_receive(sock, (char *)buf, sizeof(buf), NULL, &err);
        if (n < 0 && g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
            return G_SOURCE_CONTINUE;
        }
        if (n < 0) {
            GError *e = g_error_new(VMS_ERROR, VMS_ERROR_IO,
                                    "incoming migration: reading the stream: %s", err->message);
            g_clear_pointer(&m->inbuf, g_byte_array_unref);
            incoming_finish(m, e);
            return G_SOURCE_REMOVE;
        }
        if (n == 0) {
            incoming_finish(m, NULL);
            return G_SOURCE_REMOVE;
        }
        m->last_data_ms = now_ms();
        if (m->inbuf->len + (size_t)n > MIGRATION_MAX_STREAM) {
            GError *e = g_error_new(VMS_ERROR, VMS_ERROR_RANGE,
                                    "incoming migration: the stream is larger than %u bytes",
                                    MIGRATION_MAX_STREAM);
            incoming_finish(m, e);
            return G_SOURCE_REMOVE;
        }
        g_byte_array_append(m->inbuf, buf, (guint)n);
    }
}

static gboolean incoming_idle_cb(gpointer opaque)
{
    Migration *m = opaque;
    if (now_ms() - m->last_data_ms >= MIGRATION_IO_TIMEOUT_MS) {
        GError *e = g_error_new(VMS_ERROR, VMS_ERROR_IO,
                                "incoming migration: no data from the source for %d ms",
                                MIGRATION_IO_TIMEOUT_MS);
        incoming_finish(m, e);
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

static gboolean incoming_accept_cb(GSocket *sock, GIOCondition cond, gpointer opaque)
{
    Migration *m = opaque;
    g_autoptr(GError) err = NULL;
    GSocket *conn = g_socket_accept(sock, NULL, &err);
    if (!conn) {
        return G_SOURCE_CONTINUE;            /* the client went away already */
    }
    if (m->conn) {
        /* One source at a time: the other gets no result and fails. */
        g_socket_close(conn, NULL);
        g_object_unref(conn);
        return G_SOURCE_CONTINUE;
    }
    g_socket_set_blocking(conn, FALSE);
    m->conn = conn;
    m->inbuf = g_byte_array_new();
    m->incoming = true;
    m->ber = migration_capability(m, "ber");     /* the one format it accepts */
    g_clear_pointer(&m->error, g_free);
    m->start_ms = m->last_data_ms = now_ms();
    m->end_ms = 0;
    m->stream_bytes = 0;
    m->devices = devhost_n_devices(m->h);
    m->status = MIG_NONE;
    set_status(m, MIG_ACTIVE);
    m->conn_src = g_socket_create_source(conn, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
    g_source_set_callback(m->conn_src, (GSourceFunc)(void (*)(void))incoming_read_cb, m, NULL);
    g_source_attach(m->conn_src, m->ctx);
    m->idle_src = g_timeout_source_new(1000);
    g_source_set_callback(m->idle_src, incoming_idle_cb, m, NULL);
    g_source_attach(m->idle_src, m->ctx);
    return G_SOURCE_CONTINUE;
}

static QObject *socket_address_qobject(GSocketAddress *addr)
{
    QObject *list = qlist_new();
    QObject *a = qdict_new();
    if (G_IS_UNIX_SOCKET_ADDRESS(addr)) {
        qdict_put(a, "path",
                  qstring_from_str(g_unix_socket_address_get_path(G_UNIX_SOCKET_ADDRESS(addr))));
        qdict_put(a, "type", qstring_from_str("unix"));
    } else {
        GInetSocketAddress *in = G_INET_SOCKET_ADDRESS(addr);
        g_autofree char *host = g_inet_address_to_string(g_inet_socket_address_get_address(in));
        qdict_put(a, "port", qstring_from_printf("%u", g_inet_socket_address_get_port(in)));
        qdict_put(a, "ipv6", qbool_from_bool(g_socket_address_get_family(addr) ==
                                             G_SOCKET_FAMILY_IPV6));
        qdict_put(a, "host", qstring_from_str(host));
        qdict_put(a, "type", qstring_from_str("inet"));
    }
    qlist_append(list, a);
    return list;
}

bool migration_listen_incoming(Migration *m, const char *address, gid_t group, char **bound,
                               GError **errp)
{
    g_autoptr(GError) err = NULL;
    GSocket *sock = address_listen_group("--incoming", address, group, bound, errp);
    if (!sock) {
        return false;
    }
    g_autoptr(GSocketAddress) local = g_socket_get_local_address(sock, &err);
    if (!local) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "--incoming '%s': %s", address, err->message);
        address_listener_close(sock);
        return false;
    }
    incoming_close_listener(m);
    qobject_unref(m->socket_address);
    m->socket_address = socket_address_qobject(local);
    m->listener = sock;
    m->accept_src = g_socket_create_source(m->listener, G_IO_IN, NULL);
    g_source_set_callback(m->accept_src, (GSourceFunc)(void (*)(void))incoming_accept_cb, m,
                          NULL);
    g_source_attach(m->accept_src, m->ctx);
    return true;
}

/* ---- query-migrate and capabilities ------------------------------------------ */

static QObject *ram_info(uint64_t transferred, int64_t elapsed_ms)
{
    /* QEMU's members, in its order.  No guest RAM here: only the byte counts move. */
    QObject *ram = qdict_new();
    qdict_put(ram, "total", qnum_from_uint(0));
    qdict_put(ram, "postcopy-requests", qnum_from_uint(0));
    qdict_put(ram, "dirty-sync-count", qnum_from_uint(0));
    qdict_put(ram, "multifd-bytes", qnum_from_uint(0));
    qdict_put(ram, "pages-per-second", qnum_from_uint(0));
    qdict_put(ram, "downtime-bytes", qnum_from_uint(transferred));
    qdict_put(ram, "page-size", qnum_from_uint(4096));
    qdict_put(ram, "remaining", qnum_from_uint(0));
    qdict_put(ram, "postcopy-bytes", qnum_from_uint(0));
    qdict_put(ram, "mbps", qnum_from_double(elapsed_ms > 0 ? (double)transferred * 8.0 /
                                                           1e6 / ((double)elapsed_ms / 1000.0)
                                                         : 0.0));
    qdict_put(ram, "transferred", qnum_from_uint(transferred));
    qdict_put(ram, "dirty-sync-missed-zero-copy", qnum_from_uint(0));
    qdict_put(ram, "precopy-bytes", qnum_from_uint(0));
    qdict_put(ram, "duplicate", qnum_from_uint(0));
    qdict_put(ram, "dirty-pages-rate", qnum_from_uint(0));
    qdict_put(ram, "skipped", qnum_from_uint(0));
    qdict_put(ram, "normal-bytes", qnum_from_uint(0));
    qdict_put(ram, "normal", qnum_from_uint(0));
    return ram;
}

static QObject *device_state_info(Migration *m, uint64_t bytes, uint64_t transferred)
{
    QObject *ds = qdict_new();
    qdict_put(ds, "devices", qnum_from_uint(m->devices));
    qdict_put(ds, "bytes", qnum_from_uint(bytes));
    qdict_put(ds, "transferred", qnum_from_uint(transferred));
    return ds;
}

QObject *migration_query(Migration *m)
{
    QObject *r = qdict_new();
    if (m->incoming || (m->status == MIG_NONE && m->listener)) {
        if (m->status != MIG_NONE) {
            qdict_put(r, "status", qstring_from_str(status_names[m->status]));
        }
        if (m->status == MIG_FAILED) {
            qdict_put(r, "error-desc", qstring_from_str(m->error));
        }
        if (m->status == MIG_COMPLETED) {
            qdict_put(r, "total-time", qnum_from_int(m->end_ms - m->start_ms));
            qdict_put(r, "device-state", device_state_info(m, m->stream_bytes, m->stream_bytes));
        }
        if (m->status != MIG_NONE) {
            qdict_put(r, "format", qstring_from_str(m->ber ? "ber" : "qemu"));
        }
        if (m->listener && m->socket_address) {
            qdict_put(r, "socket-address", qobject_ref(m->socket_address));
        }
        return r;
    }
    uint64_t sent = m->worker ? atomic_load(&m->worker->sent) : m->stream_bytes;
    uint64_t bytes = m->worker ? atomic_load(&m->worker->stream_bytes) : m->stream_bytes;
    int64_t now = now_ms();
    switch (m->status) {
    case MIG_NONE:
        break;
    case MIG_SETUP:
    case MIG_CANCELLING:
    case MIG_CANCELLED:
        qdict_put(r, "status", qstring_from_str(status_names[m->status]));
        break;
    case MIG_ACTIVE:
        qdict_put(r, "status", qstring_from_str("active"));
        qdict_put(r, "setup-time", qnum_from_int(m->setup_ms - m->start_ms));
        qdict_put(r, "total-time", qnum_from_int(now - m->start_ms));
        qdict_put(r, "ram", ram_info(sent, now - m->setup_ms));
        qdict_put(r, "device-state", device_state_info(m, bytes, sent));
        break;
    case MIG_COMPLETED:
        qdict_put(r, "status", qstring_from_str("completed"));
        qdict_put(r, "setup-time", qnum_from_int(m->setup_ms - m->start_ms));
        qdict_put(r, "downtime", qnum_from_int(m->end_ms - m->stop_ms));
        qdict_put(r, "total-time", qnum_from_int(m->end_ms - m->start_ms));
        qdict_put(r, "ram", ram_info(m->stream_bytes, m->end_ms - m->setup_ms));
        qdict_put(r, "device-state", device_state_info(m, m->stream_bytes, m->stream_bytes));
        break;
    case MIG_FAILED:
        qdict_put(r, "status", qstring_from_str("failed"));
        qdict_put(r, "error-desc", qstring_from_str(m->error));
        break;
    }
    if (m->status != MIG_NONE) {
        qdict_put(r, "format", qstring_from_str(m->ber ? "ber" : "qemu"));
    }
    return r;
}

QObject *migration_query_capabilities(const Migration *m)
{
    QObject *list = qlist_new();
    for (size_t i = 0; i < N_CAPS; i++) {
        if (capabilities[i].supported) {
            QObject *c = qdict_new();
            qdict_put(c, "state", qbool_from_bool(m->caps[i]));
            qdict_put(c, "capability", qstring_from_str(capabilities[i].name));
            qlist_append(list, c);
        }
    }
    return list;
}

static int capability_index(const char *name)
{
    for (size_t i = 0; i < N_CAPS; i++) {
        if (strcmp(capabilities[i].name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

bool migration_capability(const Migration *m, const char *name)
{
    int i = capability_index(name);
    return i >= 0 && m->caps[i];
}

/* One {capability, state} of migrate-set-capabilities, into want[]. */
static bool visit_capability(Visitor *v, bool *want, GError **errp)
{
    g_autofree char *name = NULL;
    bool on = false;
    if (!visit_start_struct(v, NULL, NULL, errp)) {
        return false;
    }
    bool ok = visit_type_str(v, "capability", &name, errp);
    int k = ok ? capability_index(name) : -1;
    if (ok && k < 0) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "Parameter 'capability' does not accept value '%s'", name);
        ok = false;
    }
    ok = ok && visit_type_bool(v, "state", &on, errp) && visit_check_struct(v, errp);
    visit_end_struct(v);
    if (ok && on && !capabilities[k].supported) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "Migration capability '%s' is not supported by vmscope-devhost",
                    capabilities[k].name);
        ok = false;
    }
    if (ok) {
        want[k] = on;
    }
    return ok;
}

bool migration_set_capabilities(Migration *m, QObject *list, GError **errp)
{
    bool want[N_CAPS];
    memcpy(want, m->caps, sizeof(want));
    /* Check everything first (with the QMP visitor, as QEMU's does), then apply. */
    Visitor *v = qobject_input_visitor_new_qmp(list);
    size_t n = VISIT_LEN_UNKNOWN;
    bool ok = visit_start_list(v, "capabilities", &n, errp);
    if (ok) {
        for (size_t i = 0; ok && i < n; i++) {
            visit_next_list(v);
            ok = visit_capability(v, want, errp);
        }
        visit_end_list(v);
    }
    visit_free(v);
    if (!ok) {
        return false;
    }
    if (migration_outgoing_active(m) || m->busy) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_FAILED, "There's a migration process in progress");
        return false;
    }
    memcpy(m->caps, want, sizeof(want));
    return true;
}

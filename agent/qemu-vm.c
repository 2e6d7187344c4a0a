/*
 * The agent's QMP monitor of one QEMU: saves and learning migrations; see
 * qemu-vm.h.
 */
#include "config.h"

#define _GNU_SOURCE 1

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bridge/qmp-client.h"
#include "qemu-vm.h"
#include "vmscope/error.h"

#define LEARN_FD_NAME "vmscope-learn"
#define LEARN_STALL_MS 10000       /* a learning migration that sends nothing that long is dead */
#define LEARN_SETTLE_MS 10000      /* for QEMU to call a migration over */

struct QemuVm {
    QmpClient *c;
    int memfd;                     /* read back here */
    int wfd;                       /* its write-only reopening: QEMU's dups share its offset */
    int fdset;                     /* the write-only reopening's fdset in QEMU; -1: none yet */
};

QemuVm *qemu_vm_connect(const char *address, int timeout_ms, GError **errp)
{
    QmpClient *c = qmp_client_connect(address, timeout_ms, errp);
    if (!c) {
        return NULL;
    }
    QemuVm *vm = g_new0(QemuVm, 1);
    vm->c = c;
    vm->memfd = -1;
    vm->wfd = -1;
    vm->fdset = -1;
    return vm;
}

void qemu_vm_free(QemuVm *vm)
{
    if (!vm) {
        return;
    }
    if (vm->fdset >= 0) {
        /* Give QEMU its descriptor back; a QEMU that is gone closed it already. */
        g_autoptr(QObject) args = qdict_new();
        qdict_put(args, "fdset-id", qnum_from_int(vm->fdset));
        qmp_client_set_timeout(vm->c, 500);
        qmp_client_execute(vm->c, "remove-fd", args, NULL, NULL);
    }
    if (vm->memfd >= 0) {
        close(vm->memfd);
    }
    if (vm->wfd >= 0) {
        close(vm->wfd);
    }
    qmp_client_free(vm->c);
    g_free(vm);
}

void qemu_vm_status_clear(QemuVmStatus *st)
{
    g_clear_pointer(&st->status, g_free);
    g_clear_pointer(&st->migration, g_free);
    g_clear_pointer(&st->blocked, g_free);
}

/* query-migrate: its status ("none" when QEMU never migrated) and blocked-reasons. */
static bool migrate_info(QemuVm *vm, char **status, char **blocked, GError **errp)
{
    g_autoptr(QObject) ret = NULL;
    if (!qmp_client_execute(vm->c, "query-migrate", NULL, &ret, errp)) {
        return false;
    }
    const char *s = qdict_get_str(ret, "status");
    *status = g_strdup(s ? s : "none");
    QObject *reasons = qdict_get(ret, "blocked-reasons");
    if (blocked) {
        *blocked = NULL;
        if (qobject_type(reasons) == QTYPE_LIST && qlist_size(reasons) > 0) {
            g_autoptr(GString) text = g_string_new(NULL);
            for (size_t i = 0; i < qlist_size(reasons); i++) {
                const char *r = qstring_get(qlist_get(reasons, i));
                g_string_append_printf(text, "%s%s", i ? "; " : "", r ? r : "?");
            }
            *blocked = g_string_free(g_steal_pointer(&text), FALSE);
        }
    }
    return true;
}

static bool run_status(QemuVm *vm, char **status, GError **errp)
{
    g_autoptr(QObject) ret = NULL;
    if (!qmp_client_execute(vm->c, "query-status", NULL, &ret, errp)) {
        return false;
    }
    const char *s = qdict_get_str(ret, "status");
    *status = g_strdup(s ? s : "unknown");
    return true;
}

bool qemu_vm_status(QemuVm *vm, QemuVmStatus *out, GError **errp)
{
    memset(out, 0, sizeof(*out));
    if (!run_status(vm, &out->status, errp) ||
        !migrate_info(vm, &out->migration, &out->blocked, errp)) {
        qemu_vm_status_clear(out);
        return false;
    }
    return true;
}

bool qemu_vm_ram_shared(QemuVm *vm, bool *shared, GError **errp)
{
    g_autoptr(QObject) args = qdict_new(), backend = NULL, memdevs = NULL;
    qdict_put(args, "path", qstring_from_str("/machine"));
    qdict_put(args, "property", qstring_from_str("memory-backend"));
    *shared = false;
    if (!qmp_client_execute(vm->c, "qom-get", args, &backend, NULL) ||
        !qstring_get(backend) || !*qstring_get(backend)) {
        return true;               /* no memory-backend: RAM of QEMU's own making */
    }
    if (!qmp_client_execute(vm->c, "query-memdev", NULL, &memdevs, errp)) {
        return false;
    }
    /* A QOM path ("/objects/mem"): the memdev's id is its last part. */
    const char *path = qstring_get(backend), *slash = strrchr(path, '/');
    const char *id = slash ? slash + 1 : path;
    for (size_t i = 0; i < qlist_size(memdevs); i++) {
        QObject *m = qlist_get(memdevs, i);
        bool share = false;
        if (g_strcmp0(qdict_get_str(m, "id"), id) == 0 &&
            qbool_get(qdict_get(m, "share"), &share)) {
            *shared = share;
        }
    }
    return true;
}

/* A memfd for QEMU to write to, and its write-only reopening in an fdset of QEMU's. */
static bool ensure_fdset(QemuVm *vm, GError **errp)
{
    if (vm->fdset >= 0) {
        return true;
    }
    if (vm->memfd < 0) {
        vm->memfd = memfd_create("vmscope-qemu-save", MFD_CLOEXEC);
        if (vm->memfd < 0) {
            int e = errno;
            g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "memfd_create: %s", g_strerror(e));
            return false;
        }
    }
    g_autofree char *proc = g_strdup_printf("/proc/self/fd/%d", vm->memfd);
    if (vm->wfd < 0) {
        vm->wfd = open(proc, O_WRONLY | O_CLOEXEC);
    }
    if (vm->wfd < 0) {
        int e = errno;
        g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "%s: %s", proc, g_strerror(e));
        return false;
    }
    g_autoptr(QObject) args = qdict_new(), ret = NULL;
    qdict_put(args, "opaque", qstring_from_str("vmscope-agent device-state saves"));
    bool ok = qmp_client_execute_fd(vm->c, "add-fd", args, vm->wfd, &ret, errp);
    int64_t id;
    if (!ok) {
        return false;
    }
    if (!qnum_get_int(qdict_get(ret, "fdset-id"), &id) || id < 0) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "add-fd: no fdset-id in the answer");
        return false;
    }
    vm->fdset = (int)id;
    return true;
}

static int64_t event_us(const QObject *ev)
{
    QObject *ts = qdict_get(ev, "timestamp");
    int64_t s = 0, us = 0;
    qnum_get_int(qdict_get(ts, "seconds"), &s);
    qnum_get_int(qdict_get(ts, "microseconds"), &us);
    return s * G_USEC_PER_SEC + us;
}

static void drop_events(QmpClient *c)
{
    QObject *ev;
    while ((ev = qmp_client_pop_event(c, NULL))) {
        qobject_unref(ev);
    }
}

bool qemu_vm_save(QemuVm *vm, QemuVmSave *out, GError **errp)
{
    memset(out, 0, sizeof(*out));
    out->pause_us = -1;
    g_autofree char *migration = NULL, *blocked = NULL;
    if (!migrate_info(vm, &migration, &blocked, errp)) {
        return false;
    }
    if (blocked) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_FAILED,
                    "migration is blocked (%s): the device state is not saved", blocked);
        return false;
    }
    static const char *const idle[] = { "none", "completed", "failed", "cancelled", NULL };
    if (!g_strv_contains(idle, migration)) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_FAILED,
                    "a migration is in progress (%s): the device state is not saved", migration);
        return false;
    }
    if (!ensure_fdset(vm, errp)) {
        return false;
    }
    /*
     * Rewind only: the pages of the last save stay allocated, so QEMU does
     * not fault in fresh ones while the VM is stopped.  Where QEMU's writes
     * ended (its dup shares this offset) is where this save ends.
     */
    if (lseek(vm->wfd, 0, SEEK_SET) < 0) {
        int e = errno;
        g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "memfd: %s", g_strerror(e));
        return false;
    }
    drop_events(vm->c);
    g_autoptr(QObject) args = qdict_new();
    g_autofree char *file = g_strdup_printf("/dev/fdset/%d", vm->fdset);
    qdict_put(args, "filename", qstring_from_str(file));
    qdict_put(args, "live", qbool_from_bool(false));
    gint64 t0 = g_get_monotonic_time();
    if (!qmp_client_execute(vm->c, "xen-save-devices-state", args, NULL, errp)) {
        return false;
    }
    out->total_us = g_get_monotonic_time() - t0;

    g_autoptr(QObject) stop = qmp_client_pop_event(vm->c, "STOP");
    if (stop) {
        g_autoptr(GError) err = NULL;
        g_autoptr(QObject) resume = qmp_client_wait_event(vm->c, "RESUME", 2000, &err);
        if (resume) {
            out->pause_us = MAX(0, event_us(resume) - event_us(stop));
        }
    }

    off_t end = lseek(vm->wfd, 0, SEEK_CUR);
    if (end < 0) {
        int e = errno;
        g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "memfd: %s", g_strerror(e));
        return false;
    }
    size_t n = (size_t)end;
    uint8_t *buf = g_malloc(n ? n : 1);
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(vm->memfd, buf + got, n - got, (off_t)got);
        if (r <= 0) {
            int e = r < 0 ? errno : EIO;
            g_free(buf);
            g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "memfd: %s", g_strerror(e));
            return false;
        }
        got += (size_t)r;
    }
    out->bytes = g_bytes_new_take(buf, n);
    out->total_us = g_get_monotonic_time() - t0;
    return true;
}

/* ---- learning -------------------------------------------------------------- */

static bool set_ignore_shared(QemuVm *vm, bool on, GError **errp)
{
    return qmp_client_set_capability(vm->c, "x-ignore-shared", on, errp);
}

static bool migration_active(const char *status)
{
    static const char *const done[] = { "none", "completed", "failed", "cancelled", NULL };
    return !g_strv_contains(done, status);
}

/* Wait until QEMU's migration is over; *status: how it ended. */
static bool migration_settle(QemuVm *vm, char **status, GError **errp)
{
    gint64 until = g_get_monotonic_time() + LEARN_SETTLE_MS * 1000;
    for (;;) {
        g_autofree char *s = NULL;
        if (!migrate_info(vm, &s, NULL, errp)) {
            return false;
        }
        if (!migration_active(s)) {
            *status = g_steal_pointer(&s);
            return true;
        }
        if (g_get_monotonic_time() > until) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "the migration is still %s", s);
            return false;
        }
        g_usleep(2000);
    }
}

bool qemu_vm_learn_recover(QemuVm *vm, QemuLearn *rec, GError **errp)
{
    if (!rec->active) {
        return true;
    }
    g_autofree char *migration = NULL, *ended = NULL, *status = NULL;
    if (!migrate_info(vm, &migration, NULL, errp)) {
        return false;
    }
    if (migration_active(migration)) {
        qmp_client_execute(vm->c, "migrate_cancel", NULL, NULL, NULL);
    }
    if (!migration_settle(vm, &ended, errp) || !run_status(vm, &status, errp)) {
        return false;
    }
    if (rec->was_running && strcmp(status, "postmigrate") == 0 &&
        !qmp_client_execute(vm->c, "cont", NULL, NULL, errp)) {
        return false;
    }
    if (!rec->had_ignore_shared && !set_ignore_shared(vm, false, errp)) {
        return false;
    }
    rec->active = false;
    return true;
}

/* Read the migration stream from fd until QEMU closes its end. */
static bool read_stream(int fd, GByteArray *out, const gint *stop, GError **errp)
{
    gint64 until = g_get_monotonic_time() + (gint64)LEARN_STALL_MS * 1000;
    uint8_t buf[64 * 1024];
    for (;;) {
        if (stop && g_atomic_int_get(stop)) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "the agent is stopping");
            return false;
        }
        if (g_get_monotonic_time() > until) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "the migration sent nothing for %d s",
                        LEARN_STALL_MS / 1000);
            return false;
        }
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int r = poll(&p, 1, 100);
        if (r < 0 && errno != EINTR) {
            int e = errno;
            g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "poll: %s", g_strerror(e));
            return false;
        }
        if (r <= 0) {
            continue;
        }
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
            continue;
        }
        if (n < 0) {
            int e = errno;
            g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "reading the migration: %s",
                        g_strerror(e));
            return false;
        }
        if (n == 0) {
            return true;
        }
        g_byte_array_append(out, buf, (guint)n);
        until = g_get_monotonic_time() + (gint64)LEARN_STALL_MS * 1000;
    }
}

GBytes *qemu_vm_learn(QemuVm *vm, QemuLearn *rec, const gint *stop, GError **errp)
{
    g_autofree char *status = NULL, *migration = NULL, *blocked = NULL;
    if (!run_status(vm, &status, errp) || !migrate_info(vm, &migration, &blocked, errp)) {
        return NULL;
    }
    if (strcmp(status, "running") != 0) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_FAILED,
                    "the VM is %s: descriptions are learned once it runs", status);
        return NULL;
    }
    if (blocked || migration_active(migration)) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_FAILED, "cannot migrate to learn "
                    "descriptions: %s", blocked ? blocked : "a migration is in progress");
        return NULL;
    }
    g_autoptr(QObject) caps = NULL;
    if (!qmp_client_execute(vm->c, "query-migrate-capabilities", NULL, &caps, errp)) {
        return NULL;
    }
    bool had = false;
    for (size_t i = 0; i < qlist_size(caps); i++) {
        QObject *c = qlist_get(caps, i);
        if (g_strcmp0(qdict_get_str(c, "capability"), "x-ignore-shared") == 0) {
            qbool_get(qdict_get(c, "state"), &had);
        }
    }

    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) {
        int e = errno;
        g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "pipe: %s", g_strerror(e));
        return NULL;
    }
    g_autoptr(QObject) getfd = qdict_new();
    qdict_put(getfd, "fdname", qstring_from_str(LEARN_FD_NAME));
    bool ok = qmp_client_execute_fd(vm->c, "getfd", getfd, fds[1], NULL, errp);
    close(fds[1]);
    if (!ok) {
        close(fds[0]);
        return NULL;
    }
    *rec = (QemuLearn){ .active = true, .was_running = true, .had_ignore_shared = had };
    g_autoptr(QObject) uri = qdict_new();
    qdict_put(uri, "uri", qstring_from_str("fd:" LEARN_FD_NAME));
    GByteArray *stream = g_byte_array_new();
    g_autofree char *ended = NULL;
    GError *err = NULL;
    ok = (had || set_ignore_shared(vm, true, &err)) &&
         qmp_client_execute(vm->c, "migrate", uri, NULL, &err) &&
         read_stream(fds[0], stream, stop, &err);
    close(fds[0]);
    ok = ok && migration_settle(vm, &ended, &err);
    if (ok && strcmp(ended, "completed") != 0) {
        g_set_error(&err, VMS_ERROR, VMS_ERROR_IO, "the learning migration %s", ended);
        ok = false;
    }
    /* Put the VM back whatever happened; if that cannot be done now, rec says so. */
    GError *rerr = NULL;
    if (!qemu_vm_learn_recover(vm, rec, &rerr)) {
        if (!err) {
            err = rerr;
        } else {
            g_error_free(rerr);
        }
        ok = false;
    }
    if (!ok) {
        g_byte_array_unref(stream);
        g_propagate_prefixed_error(errp, err, "learning descriptions: ");
        return NULL;
    }
    return g_byte_array_free_to_bytes(stream);
}

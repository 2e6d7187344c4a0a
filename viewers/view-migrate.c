/*
 * vmscope-view migrate: what a management tool does for QEMU, between two
 * device hosts; see view-migrate.h.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "bridge/qmp-client.h"
#include "view-migrate.h"
#include "view-state.h"
#include "vmscope/cmdline.h"
#include "vmscope/error.h"

#define TIMEOUT_MS 10000
#define WAIT_MS 120000          /* the longest a migration may take */
#define POLL_US 2000

/* One end: its QMP connection and what it can do. */
typedef struct End {
    const char *role;           /* "SRC" or "DST", for messages */
    const char *address;
    QmpClient *c;
    bool has_ber;               /* lists the "ber" migration capability */
} End;

static int end_fail(const End *e, GError *err)
{
    fprintf(stderr, "vmscope-view: migrate: %s %s: %s\n", e->role, e->address, err->message);
    g_error_free(err);
    return 1;
}

/* Connect and ask for the migration capabilities. */
static bool end_open(End *e, GError **errp)
{
    g_autoptr(QObject) caps = NULL;
    e->c = qmp_client_connect(e->address, TIMEOUT_MS, errp);
    if (!e->c || !qmp_client_execute(e->c, "query-migrate-capabilities", NULL, &caps, errp)) {
        return false;
    }
    for (size_t i = 0; i < qlist_size(caps); i++) {
        const char *name = qdict_get_str(qlist_get(caps, i), "capability");
        e->has_ber |= name && strcmp(name, "ber") == 0;
    }
    return true;
}

/* migrate-set-capabilities ber=on, on an end that has it. */
static bool end_set_ber(End *e, bool on, GError **errp)
{
    if (!e->has_ber) {
        return true;                    /* an end without BER speaks QEMU's format only */
    }
    return qmp_client_set_capability(e->c, "ber", on, errp);
}

/* The URI a destination listens on, from its query-migrate "socket-address". */
static char *incoming_uri(End *dst, GError **errp)
{
    g_autoptr(QObject) q = NULL;
    if (!qmp_client_execute(dst->c, "query-migrate", NULL, &q, errp)) {
        return NULL;
    }
    QObject *a = qlist_get(qdict_get(q, "socket-address"), 0);
    const char *type = qdict_get_str(a, "type");
    if (type && strcmp(type, "unix") == 0 && qdict_get_str(a, "path")) {
        return g_strdup_printf("unix:%s", qdict_get_str(a, "path"));
    }
    if (type && strcmp(type, "inet") == 0 && qdict_get_str(a, "host") && qdict_get_str(a, "port")) {
        return g_strdup_printf("tcp:%s:%s", qdict_get_str(a, "host"), qdict_get_str(a, "port"));
    }
    g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                "it is not waiting for an incoming migration (no socket-address in "
                "query-migrate); give --uri");
    return NULL;
}

/* Poll the source's query-migrate until the migration has ended: the last answer. */
static QObject *wait_done(End *src, GError **errp)
{
    int64_t deadline = g_get_monotonic_time() + (int64_t)WAIT_MS * 1000;
    for (;;) {
        QObject *q = NULL;
        if (!qmp_client_execute(src->c, "query-migrate", NULL, &q, errp)) {
            return NULL;
        }
        const char *st = qdict_get_str(q, "status");
        if (st && (strcmp(st, "completed") == 0 || strcmp(st, "failed") == 0 ||
                   strcmp(st, "cancelled") == 0)) {
            return q;
        }
        qobject_unref(q);
        if (g_get_monotonic_time() > deadline) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "no end after %d ms", WAIT_MS);
            return NULL;
        }
        g_usleep(POLL_US);
    }
}

/* Ask both ends, set the format on both, migrate, wait, print: the exit status. */
static int migrate_between(End *src, End *dst, const char *uri, const char *format)
{
    GError *e = NULL;
    if (!end_open(src, &e)) {
        return end_fail(src, e);
    }
    if (!end_open(dst, &e)) {
        return end_fail(dst, e);
    }
    /* The format: as forced, else BER when both ends can, else QEMU's. */
    bool ber = format ? strcmp(format, "ber") == 0 : src->has_ber && dst->has_ber;
    if (ber && (!src->has_ber || !dst->has_ber)) {
        const End *lacking = src->has_ber ? dst : src;
        fprintf(stderr, "vmscope-view: migrate: --format ber: %s %s does not list the 'ber' "
                "migration capability\n", lacking->role, lacking->address);
        return 1;
    }
    if (!end_set_ber(dst, ber, &e)) {
        return end_fail(dst, e);
    }
    if (!end_set_ber(src, ber, &e)) {
        return end_fail(src, e);
    }
    g_autofree char *target = uri ? g_strdup(uri) : incoming_uri(dst, &e);
    if (!target) {
        return end_fail(dst, e);
    }
    g_autoptr(QObject) args = qdict_new();
    qdict_put(args, "uri", qstring_from_str(target));
    g_autoptr(QObject) done = NULL;
    if (!qmp_client_execute(src->c, "migrate", args, NULL, &e) || !(done = wait_done(src, &e))) {
        return end_fail(src, e);
    }
    const char *status = qdict_get_str(done, "status");
    if (strcmp(status, "completed") != 0) {
        const char *why = qdict_get_str(done, "error-desc");
        fprintf(stderr, "vmscope-view: migrate: %s: %s\n", status, why ? why : "(no reason given)");
        return 1;
    }
    int64_t total = 0, down = 0;
    uint64_t bytes = 0;
    qnum_get_int(qdict_get(done, "total-time"), &total);
    qnum_get_int(qdict_get(done, "downtime"), &down);
    qnum_get_uint(qdict_get(qdict_get(done, "device-state"), "bytes"), &bytes);
    const char *used = qdict_get_str(done, "format");
    if (printf("format: %s\nbytes: %" PRIu64 "\ntotal-time: %" PRId64 " ms\ndowntime: %" PRId64
               " ms\n", used ? used : (ber ? "ber" : "qemu"), bytes, total, down) < 0 ||
        fflush(stdout) != 0) {
        fprintf(stderr, "vmscope-view: writing output: %s\n", g_strerror(errno));
        return 1;
    }
    return 0;
}

int view_migrate_main(int argc, char **argv)
{
    g_autofree char *uri = NULL, *format = NULL;
    const GOptionEntry entries[] = {
        { "uri", 0, 0, G_OPTION_ARG_STRING, &uri, NULL, "URI" },
        { "format", 0, 0, G_OPTION_ARG_STRING, &format, NULL, "qemu or ber" },
        { NULL },
    };
    g_autoptr(GError) err = NULL;
    g_auto(GStrv) args = cmdline_parse(entries, argc, argv, &err);
    if (!args) {
        return view_usage_error("migrate", "%s", err->message);
    }
    guint n = g_strv_length(args);
    if (n < 2) {
        return view_usage_error("migrate", n ? "missing DST" : "missing SRC and DST");
    }
    if (n > 2) {
        return view_usage_error("migrate", "unexpected argument '%s'", args[2]);
    }
    if (format && strcmp(format, "qemu") != 0 && strcmp(format, "ber") != 0) {
        return view_usage_error("migrate", "unknown --format '%s' (qemu or ber)", format);
    }
    End src = { .role = "SRC", .address = args[0] }, dst = { .role = "DST", .address = args[1] };
    int rc = migrate_between(&src, &dst, uri, format);
    qmp_client_free(src.c);
    qmp_client_free(dst.c);
    return rc;
}

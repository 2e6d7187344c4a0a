/*
 * Helpers for the agent's integration tests: start shm-publisher (or any
 * device host) and vmscope-agent as child processes, talk to them, and
 * stop them, every wait bounded.  Children get SIGKILL if the test dies
 * (PR_SET_PDEATHSIG), so nothing outlives a crashed or timed-out test.
 */
#ifndef VMSCOPE_TESTS_AGENT_TEST_UTIL_H
#define VMSCOPE_TESTS_AGENT_TEST_UTIL_H

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <gio/gio.h>
#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>

#include "bridge/qmp-client.h"
#include "bridge/qmp-json.h"

#define CHILD_TIMEOUT_MS 10000

/* A child with a line-oriented stdout. */
typedef struct Child {
    GSubprocess *proc;
    int out_fd;
    int in_fd;                 /* -1 if its stdin is not a pipe */
    GString *buf;
    int pid;
} Child;

static inline void child_setup(gpointer unused)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
}

/* The build tree's top: $top_builddir, or guessed from the test's path. */
static inline char *build_path(const char *argv0, const char *rel)
{
    const char *top = g_getenv("top_builddir");
    if (top && *top) {
        return g_build_filename(top, rel, NULL);
    }
    g_autofree char *dir = g_path_get_dirname(argv0);
    return g_build_filename(dir, "..", "..", rel, NULL);
}

static inline Child *child_start(const char *const *argv, bool stdin_pipe)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new(
        G_SUBPROCESS_FLAGS_STDOUT_PIPE | (stdin_pipe ? G_SUBPROCESS_FLAGS_STDIN_PIPE : 0));
    g_subprocess_launcher_set_child_setup(l, child_setup, NULL, NULL);
    GSubprocess *proc = g_subprocess_launcher_spawnv(l, argv, &err);
    if (!proc) {
        fprintf(stderr, "cannot start %s: %s\n", argv[0], err->message);
        return NULL;
    }
    Child *c = g_new0(Child, 1);
    c->proc = proc;
    c->out_fd = g_unix_input_stream_get_fd(G_UNIX_INPUT_STREAM(g_subprocess_get_stdout_pipe(proc)));
    c->in_fd = stdin_pipe ?
        g_unix_output_stream_get_fd(G_UNIX_OUTPUT_STREAM(g_subprocess_get_stdin_pipe(proc))) : -1;
    c->buf = g_string_new(NULL);
    c->pid = atoi(g_subprocess_get_identifier(proc));
    return c;
}

/* The next stdout line without its newline (g_free it), or NULL (EOF, timeout). */
static inline char *child_read_line(Child *c)
{
    gint64 deadline = g_get_monotonic_time() + CHILD_TIMEOUT_MS * 1000;
    for (;;) {
        const char *nl = memchr(c->buf->str, '\n', c->buf->len);
        if (nl) {
            char *line = g_strndup(c->buf->str, (gsize)(nl - c->buf->str));
            g_string_erase(c->buf, 0, nl - c->buf->str + 1);
            return line;
        }
        int left = (int)((deadline - g_get_monotonic_time()) / 1000);
        struct pollfd pfd = { .fd = c->out_fd, .events = POLLIN };
        if (left <= 0 || poll(&pfd, 1, left) <= 0) {
            fprintf(stderr, "child %d: no output line within %d ms\n", c->pid, CHILD_TIMEOUT_MS);
            return NULL;
        }
        char chunk[4096];
        ssize_t n = read(c->out_fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return NULL;
        }
        g_string_append_len(c->buf, chunk, n);
    }
}

static inline bool child_write_line(Child *c, const char *line)
{
    g_autofree char *l = g_strconcat(line, "\n", NULL);
    size_t len = strlen(l), off = 0;
    while (off < len) {
        ssize_t n = write(c->in_fd, l + off, len - off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        off += (size_t)n;
    }
    return true;
}

/* Wait for it to exit (bounded; then SIGKILL).  Its exit status, or -1 if killed by a signal. */
static inline int child_wait(Child *c)
{
    /* GSubprocess reaps the child in GLib's worker thread; the identifier goes NULL then. */
    for (int i = 0; i < CHILD_TIMEOUT_MS / 10 && g_subprocess_get_identifier(c->proc); i++) {
        g_usleep(10000);
    }
    if (g_subprocess_get_identifier(c->proc)) {
        fprintf(stderr, "child %d did not exit: killing it\n", c->pid);
        g_subprocess_force_exit(c->proc);
    }
    g_subprocess_wait(c->proc, NULL, NULL);
    return g_subprocess_get_if_exited(c->proc) ? g_subprocess_get_exit_status(c->proc) : -1;
}

static inline void child_free(Child *c)
{
    if (!c) {
        return;
    }
    if (g_subprocess_get_identifier(c->proc)) {
        g_subprocess_force_exit(c->proc);
        g_subprocess_wait(c->proc, NULL, NULL);
    }
    g_object_unref(c->proc);
    g_string_free(c->buf, TRUE);
    g_free(c);
}

/* ---- shm-publisher ---------------------------------------------------------- */

/* Start shm-publisher for HOST in dir; extra: more arguments (NULL-terminated) or NULL. */
static inline Child *publisher_start(const char *argv0, const char *dir, const char *host,
                                     const char *const *extra)
{
    g_autofree char *prog = build_path(argv0, "tests/integration/shm-publisher");
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_ptr_array_add(argv, prog);
    g_ptr_array_add(argv, (gpointer)"--dir");
    g_ptr_array_add(argv, (gpointer)dir);
    g_ptr_array_add(argv, (gpointer)"--name");
    g_ptr_array_add(argv, (gpointer)host);
    for (const char *const *e = extra; e && *e; e++) {
        g_ptr_array_add(argv, (gpointer)*e);
    }
    g_ptr_array_add(argv, NULL);
    Child *c = child_start((const char *const *)argv->pdata, true);
    if (!c) {
        return NULL;
    }
    g_autofree char *ready = child_read_line(c);
    if (!ready || !g_str_has_prefix(ready, "ready ")) {
        fprintf(stderr, "shm-publisher %s did not start: %s\n", host, ready ? ready : "(nothing)");
        child_free(c);
        return NULL;
    }
    return c;
}

/* Run one publisher command; true if it answered "ok". */
static inline bool publisher_cmd(Child *c, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static inline bool publisher_cmd(Child *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *line = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (!child_write_line(c, line)) {
        fprintf(stderr, "publisher: cannot send '%s'\n", line);
        return false;
    }
    g_autofree char *reply = child_read_line(c);
    if (!reply || strcmp(reply, "ok") != 0) {
        fprintf(stderr, "publisher: '%s' -> %s\n", line, reply ? reply : "(nothing)");
        return false;
    }
    return true;
}

/* ---- vmscope-agent ----------------------------------------------------------- */

/*
 * Start the agent on the segments in dir, QMP on unix:DIR/agent.qmp, no
 * HTTP, plus extra arguments (NULL-terminated, or NULL); *address gets the
 * address it printed.
 */
static inline Child *agent_start_args(const char *argv0, const char *dir,
                                      const char *const *extra, char **address)
{
    g_autofree char *prog = build_path(argv0, "agent/vmscope-agent");
    g_autofree char *qmp = g_strdup_printf("unix:%s/agent.qmp", dir);
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    const char *fixed[] = { prog, "--shm-dir", dir, "--qmp", qmp, "--no-http" };
    for (size_t i = 0; i < G_N_ELEMENTS(fixed); i++) {
        g_ptr_array_add(argv, (gpointer)fixed[i]);
    }
    for (const char *const *e = extra; e && *e; e++) {
        g_ptr_array_add(argv, (gpointer)*e);
    }
    g_ptr_array_add(argv, NULL);
    Child *c = child_start((const char *const *)argv->pdata, false);
    if (!c) {
        return NULL;
    }
    g_autofree char *line = child_read_line(c);
    const char *prefix = "qmp: listening on ";
    if (!line || !g_str_has_prefix(line, prefix)) {
        fprintf(stderr, "vmscope-agent did not start: %s\n", line ? line : "(nothing)");
        child_free(c);
        return NULL;
    }
    *address = g_strdup(line + strlen(prefix));
    return c;
}

static inline Child *agent_start(const char *argv0, const char *dir, char **address)
{
    return agent_start_args(argv0, dir, NULL, address);
}

/* SIGTERM, then its exit status. */
static inline int agent_stop(Child *c)
{
    kill(c->pid, SIGTERM);
    return child_wait(c);
}

/*
 * query-hosts as QMP text, once it contains want (want NULL: once it is
 * []), asked every 50 ms for at most 10 s; else the last answer, said on
 * stderr.  g_free it.
 */
static inline char *agent_wait_hosts(QmpClient *c, const char *want)
{
    char *last = NULL;
    for (int i = 0; i < 200; i++) {
        g_autoptr(QObject) ret = NULL;
        if (!qmp_client_execute(c, "query-hosts", NULL, &ret, NULL)) {
            break;
        }
        g_free(last);
        last = qmp_json_format(ret);
        if (want ? strstr(last, want) != NULL : strcmp(last, "[]") == 0) {
            return last;
        }
        g_usleep(50000);
    }
    fprintf(stderr, "query-hosts never showed %s (last: %s)\n", want ? want : "[]",
            last ? last : "nothing");
    return last;
}

#endif

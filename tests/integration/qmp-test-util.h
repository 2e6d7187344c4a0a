/*
 * Helpers shared by the QMP integration tests: start qmp-test-server (or
 * any program that prints "listening ADDRESS"), and raw QMP connections
 * that send exact bytes and read answers line by line (QEMU and vmscope
 * end every message with "\r\n" and never put a newline inside one).
 */
#ifndef VMSCOPE_TESTS_QMP_TEST_UTIL_H
#define VMSCOPE_TESTS_QMP_TEST_UTIL_H

#include <string.h>
#include <gio/gio.h>

#include "bridge/qmp-json.h"
#include "vmscope/address.h"
#include "vmscope/qobject.h"

#define RAW_TIMEOUT_S 10

typedef struct TestServer {
    GSubprocess *proc;
    GDataInputStream *out;   /* its stdout */
    char *addresses[4];      /* as printed by the server */
} TestServer;

/* The program next to this test binary called name. */
static inline char *test_program_path(const char *argv0, const char *name)
{
    g_autofree char *dir = g_path_get_dirname(argv0);
    return g_build_filename(dir, name, NULL);
}

/*
 * Start `program ARGS...` (NULL-terminated) and read its "listening"
 * lines, one per address argument (n_addresses).  NULL if it failed.
 */
static inline TestServer *test_server_start(const char *const *argv, int n_addresses)
{
    g_autoptr(GError) err = NULL;
    TestServer *ts = g_new0(TestServer, 1);
    ts->proc = g_subprocess_newv(argv, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE,
                                 &err);
    if (!ts->proc) {
        fprintf(stderr, "cannot start %s: %s\n", argv[0], err->message);
        g_free(ts);
        return NULL;
    }
    ts->out = g_data_input_stream_new(g_subprocess_get_stdout_pipe(ts->proc));
    for (int i = 0; i < n_addresses && i < 4; i++) {
        g_autofree char *line = g_data_input_stream_read_line(ts->out, NULL, NULL, &err);
        if (!line || !g_str_has_prefix(line, "listening ")) {
            fprintf(stderr, "%s did not start: %s\n", argv[0], line ? line : "(no output)");
            g_subprocess_force_exit(ts->proc);
            g_subprocess_wait(ts->proc, NULL, NULL);
            g_object_unref(ts->out);
            g_object_unref(ts->proc);
            g_free(ts);
            return NULL;
        }
        ts->addresses[i] = g_strdup(line + strlen("listening "));
    }
    return ts;
}

/* Close its stdin (it exits), wait; kill it if it takes more than 10 s.  Its exit status. */
static inline int test_server_stop(TestServer *ts)
{
    if (!ts) {
        return -1;
    }
    g_output_stream_close(g_subprocess_get_stdin_pipe(ts->proc), NULL, NULL);
    for (int i = 0; i < 1000 && g_subprocess_get_identifier(ts->proc); i++) {
        g_usleep(10000);
    }
    if (g_subprocess_get_identifier(ts->proc)) {
        fprintf(stderr, "server did not exit: killing it\n");
        g_subprocess_force_exit(ts->proc);
    }
    g_subprocess_wait(ts->proc, NULL, NULL);
    int status = g_subprocess_get_if_exited(ts->proc) ? g_subprocess_get_exit_status(ts->proc) : -1;
    g_object_unref(ts->out);
    g_object_unref(ts->proc);
    for (int i = 0; i < 4; i++) {
        g_free(ts->addresses[i]);
    }
    g_free(ts);
    return status;
}

/* The server's next line of output after the "listening" lines (g_free it), or NULL. */
static inline char *test_server_read_line(TestServer *ts)
{
    return g_data_input_stream_read_line(ts->out, NULL, NULL, NULL);
}

/* ---- raw connections ---------------------------------------------------- */

typedef struct RawConn {
    GSocket *sock;
    GString *in;
} RawConn;

static inline RawConn *raw_connect(const char *address)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GSocketAddress) addr = address_parse("QMP address", address, &err);
    if (!addr) {
        fprintf(stderr, "raw_connect %s: %s\n", address, err->message);
        return NULL;
    }
    GSocket *sock = address_connect(addr, RAW_TIMEOUT_S * 1000, NULL, &err);
    if (!sock) {
        fprintf(stderr, "raw_connect %s: %s\n", address, err->message);
        return NULL;
    }
    g_socket_set_blocking(sock, TRUE);
    g_socket_set_timeout(sock, RAW_TIMEOUT_S);
    RawConn *c = g_new0(RawConn, 1);
    c->sock = sock;
    c->in = g_string_new(NULL);
    return c;
}

static inline void raw_close(RawConn *c)
{
    if (c) {
        g_socket_close(c->sock, NULL);
        g_object_unref(c->sock);
        g_string_free(c->in, TRUE);
        g_free(c);
    }
}

static inline bool raw_send(RawConn *c, const void *data, size_t len)
{
    size_t off = 0;
    while (off < len) {
        g_autoptr(GError) err = NULL;
        gssize n = g_socket_send(c->sock, (const char *)data + off, len - off, NULL, &err);
        if (n < 0) {
            fprintf(stderr, "raw_send: %s\n", err->message);
            return false;
        }
        off += (size_t)n;
    }
    return true;
}

static inline bool raw_send_str(RawConn *c, const char *s)
{
    return raw_send(c, s, strlen(s));
}

/*
 * The next line without its "\r\n" (g_free it); NULL at end of stream,
 * on error or after the socket timeout.  *eof tells end of stream.
 */
static inline char *raw_read_line_eof(RawConn *c, bool *eof)
{
    *eof = false;
    for (;;) {
        const char *nl = memchr(c->in->str, '\n', c->in->len);
        if (nl) {
            size_t n = (size_t)(nl - c->in->str);
            char *line = g_strndup(c->in->str, n > 0 && nl[-1] == '\r' ? n - 1 : n);
            g_string_erase(c->in, 0, (gssize)(n + 1));
            return line;
        }
        char buf[65536];
        g_autoptr(GError) err = NULL;
        gssize got = g_socket_receive(c->sock, buf, sizeof(buf), NULL, &err);
        if (got <= 0) {
            *eof = got == 0;
            if (got < 0) {
                fprintf(stderr, "raw_read_line: %s\n", err->message);
            }
            return NULL;
        }
        g_string_append_len(c->in, buf, got);
    }
}

static inline char *raw_read_line(RawConn *c)
{
    bool eof;
    return raw_read_line_eof(c, &eof);
}

/* The next message, parsed and formatted again as QMP text (g_free it). */
static inline char *raw_read_msg(RawConn *c)
{
    g_autofree char *line = raw_read_line(c);
    if (!line) {
        return NULL;
    }
    g_autoptr(QObject) obj = NULL;
    g_autoptr(GError) err = NULL;
    if (!qobject_from_json(line, strlen(line), &obj, &err)) {
        fprintf(stderr, "not JSON: %s (%s)\n", line, err->message);
        return g_strdup("(not JSON)");
    }
    return qmp_json_format(obj);
}

#endif

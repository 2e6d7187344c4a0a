/*
 * Main-loop glue the test servers (qmp-test-server, http-test-server) share:
 * they stop when their test closes their stdin, or on SIGTERM/SIGINT, so a
 * test that dies never leaves a server behind.
 */
#ifndef VMSCOPE_TESTS_TEST_SERVER_LOOP_H
#define VMSCOPE_TESTS_TEST_SERVER_LOOP_H

#include <unistd.h>
#include <glib.h>

/* A g_unix_fd_add callback on stdin: quit `loop` at EOF. */
static inline gboolean on_stdin(gint fd, GIOCondition cond, gpointer loop)
{
    char buf[256];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) {
        g_main_loop_quit(loop);
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

/* A g_unix_signal_add callback: quit `loop`. */
static inline gboolean on_signal(gpointer loop)
{
    g_main_loop_quit(loop);
    return G_SOURCE_CONTINUE;
}

#endif

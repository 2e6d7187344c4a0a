/*
 * Unit tests for lib/core/address.c: the two spellings and their errors,
 * listening (port 0, stale Unix sockets, busy addresses), adopting a
 * listener made elsewhere, and connecting.
 */
#include "config.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "cutest.h"
#include "vmscope/address.h"
#include "vmscope/error.h"

static void test_parse(void)
{
    static const struct {
        const char *address, *canonical;
    } good[] = {
        { "unix:/run/x.sock", "unix:/run/x.sock" },
        { "tcp:127.0.0.1:4444", "tcp:127.0.0.1:4444" },
        { "tcp:[::1]:0", "tcp:[::1]:0" },
        { "tcp:localhost:65535", NULL },     /* resolves; which family first is the resolver's */
    };
    for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
        g_autoptr(GError) err = NULL;
        g_autoptr(GSocketAddress) a = address_parse("QMP address", good[i].address, &err);
        ASSERT_NO_ERROR(err);
        g_autofree char *s = address_to_string(a);
        if (good[i].canonical) {
            ASSERT_STR_EQ(s, good[i].canonical);
        } else {
            CU_ASSERT_TRUE(g_str_has_suffix(s, ":65535"));
        }
    }
}

static void test_parse_errors(void)
{
    static const struct {
        const char *address;
        int code;
        const char *message;
    } bad[] = {
        { "nowhere", VMS_ERROR_INVALID,
          "QMP address 'nowhere': expected unix:PATH or tcp:HOST:PORT" },
        { "unix:", VMS_ERROR_INVALID, "QMP address 'unix:': empty socket path" },
        { "tcp:localhost", VMS_ERROR_INVALID,
          "QMP address 'tcp:localhost': expected tcp:HOST:PORT" },
        { "tcp::80", VMS_ERROR_INVALID, "QMP address 'tcp::80': empty host" },
        { "tcp:[::1]80", VMS_ERROR_INVALID, "QMP address 'tcp:[::1]80': expected tcp:[IPV6]:PORT" },
        { "tcp:::1:80", VMS_ERROR_INVALID,
          "QMP address 'tcp:::1:80': an IPv6 address goes in brackets, as in tcp:[::1]:4444" },
        { "tcp:127.0.0.1:99999", VMS_ERROR_INVALID,
          "QMP address 'tcp:127.0.0.1:99999': port '99999' is not a number from 0 to 65535" },
        { "tcp:127.0.0.1:+80", VMS_ERROR_INVALID,
          "QMP address 'tcp:127.0.0.1:+80': port '+80' is not a number from 0 to 65535" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) err = NULL;
        CU_ASSERT_PTR_NULL(address_parse("QMP address", bad[i].address, &err));
        CU_ASSERT_PTR_NOT_NULL_FATAL(err);
        CU_ASSERT_EQUAL(err->code, bad[i].code);
        ASSERT_ERROR(err, bad[i].message);
    }
    g_autofree char *long_path = g_strnfill(200, 'x');
    g_autofree char *too_long = g_strconcat("unix:/", long_path, NULL);
    g_autoptr(GError) err = NULL;
    CU_ASSERT_PTR_NULL(address_parse("--incoming", too_long, &err));
    g_autofree char *want = g_strdup_printf("--incoming '%s': socket path too long (201 bytes, "
                                            "at most 107)", too_long);
    ASSERT_ERROR(err, want);

    CU_ASSERT_PTR_NULL(address_parse("QMP address", "tcp:no-such-host.invalid:1", &err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    CU_ASSERT_EQUAL(err->code, VMS_ERROR_NOT_FOUND);
    CU_ASSERT_TRUE(g_str_has_prefix(err->message, "QMP address 'tcp:no-such-host.invalid:1': "
                                                  "cannot resolve 'no-such-host.invalid': "));
}

/* HOST:PORT, as the HTTP server spells it. */
static void test_inet_errors(void)
{
    static const struct {
        const char *address, *message;
    } bad[] = {
        { "nonsense", "http address 'nonsense': expected HOST:PORT" },
        { "::1:80", "http address '::1:80': an IPv6 address goes in brackets, as in [::1]:8080" },
        { "[::1]80", "http address '[::1]80': expected [IPV6]:PORT" },
        { "[]:80", "http address '[]:80': empty host" },
        { "tcp:127.0.0.1:80", "http address 'tcp:127.0.0.1:80': an IPv6 address goes in "
                              "brackets, as in [::1]:8080" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) err = NULL;
        CU_ASSERT_PTR_NULL(address_listen_inet("http address", bad[i].address, &err));
        ASSERT_ERROR(err, bad[i].message);
    }
}

static void test_listen_tcp(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *bound = NULL;
    GSocket *l = address_listen("QMP address", "tcp:127.0.0.1:0", &bound, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_TRUE(g_str_has_prefix(bound, "tcp:127.0.0.1:") && strcmp(bound, "tcp:127.0.0.1:0"));

    /* The same port again: the system's words. */
    const char *port = strrchr(bound, ':') + 1;
    g_autofree char *again = g_strdup_printf("127.0.0.1:%s", port);
    CU_ASSERT_PTR_NULL(address_listen_inet("http address", again, &err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    CU_ASSERT_EQUAL(err->code, VMS_ERROR_IO);
    g_autofree char *want = g_strdup_printf("http address '%s': cannot listen: %s", again,
                                            g_strerror(EADDRINUSE));
    ASSERT_ERROR(err, want);

    /* Connecting works; a port nobody listens on is refused. */
    g_autoptr(GSocketAddress) a = address_parse("QMP address", bound, &err);
    ASSERT_NO_ERROR(err);
    g_autoptr(GSocket) c = address_connect(a, 5000, NULL, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_FALSE(g_socket_get_blocking(c));
    address_listener_close(l);
    g_autoptr(GSocket) refused = address_connect(a, 5000, NULL, &err);
    CU_ASSERT_PTR_NULL(refused);
    CU_ASSERT_TRUE(g_error_matches(err, VMS_ERROR, VMS_ERROR_IO));
    ASSERT_ERROR(err, g_strerror(ECONNREFUSED));
}

static void test_listen_unix(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("test-address-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "s.sock", NULL);
    g_autofree char *addr = g_strconcat("unix:", path, NULL);
    g_autofree char *bound = NULL;

    GSocket *l = address_listen("QMP address", addr, &bound, &err);
    ASSERT_NO_ERROR(err);
    ASSERT_STR_EQ(bound, addr);
    /* Somebody listens there: refused, the socket file left alone. */
    CU_ASSERT_PTR_NULL(address_listen("--incoming", addr, NULL, &err));
    g_autofree char *busy = g_strdup_printf("--incoming '%s': a server is already listening "
                                            "there", addr);
    ASSERT_ERROR(err, busy);
    CU_ASSERT_TRUE(g_file_test(path, G_FILE_TEST_EXISTS));

    /* A socket file nobody listens on any more is replaced. */
    g_socket_close(l, NULL);
    g_object_unref(l);
    CU_ASSERT_TRUE(g_file_test(path, G_FILE_TEST_EXISTS));
    l = address_listen("QMP address", addr, NULL, &err);
    ASSERT_NO_ERROR(err);
    address_listener_close(l);
    CU_ASSERT_FALSE(g_file_test(path, G_FILE_TEST_EXISTS));

    /* A file that is not a socket is refused. */
    CU_ASSERT_TRUE(g_file_set_contents(path, "x", 1, NULL));
    CU_ASSERT_PTR_NULL(address_listen("QMP address", addr, NULL, &err));
    g_autofree char *notsock = g_strdup_printf("QMP address '%s': %s exists and is not a socket",
                                               addr, path);
    ASSERT_ERROR(err, notsock);
    g_unlink(path);

    /* Nobody there: the system's words, for the caller's prefix. */
    g_autoptr(GSocketAddress) a = address_parse("QMP address", addr, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_PTR_NULL(address_connect(a, 1000, NULL, &err));
    ASSERT_ERROR(err, g_strerror(ENOENT));

    /* Cancelled before it starts. */
    g_autoptr(GCancellable) c = g_cancellable_new();
    g_cancellable_cancel(c);
    l = address_listen("QMP address", addr, NULL, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_PTR_NULL(address_connect(a, 1000, c, &err));
    CU_ASSERT_TRUE(g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED));
    g_clear_error(&err);
    address_listener_close(l);
    address_listener_close(NULL);
    g_rmdir(dir);
}

/* A listener made elsewhere (systemd's), taken over: served, closed, its file left. */
static void test_adopt(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("test-address-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "s.sock", NULL);
    g_autofree char *addr = g_strconcat("unix:", path, NULL);
    GSocket *made = address_listen("QMP address", addr, NULL, &err);
    ASSERT_NO_ERROR(err);

    g_autofree char *bound = NULL;
    GSocket *l = address_listener_adopt("systemd's socket", dup(g_socket_get_fd(made)), &bound,
                                        &err);
    ASSERT_NO_ERROR(err);
    ASSERT_STR_EQ(bound, addr);
    g_autoptr(GSocketAddress) a = address_parse("QMP address", addr, &err);
    g_autoptr(GSocket) c = address_connect(a, 1000, NULL, &err);
    ASSERT_NO_ERROR(err);
    address_listener_close(l);
    CU_ASSERT_TRUE(g_file_test(path, G_FILE_TEST_EXISTS));
    address_listener_close(made);
    CU_ASSERT_FALSE(g_file_test(path, G_FILE_TEST_EXISTS));

    /* Not a listening stream socket: refused (and closed, having been taken). */
    int fds[2];
    CU_ASSERT_EQUAL_FATAL(pipe(fds), 0);
    CU_ASSERT_PTR_NULL(address_listener_adopt("systemd's socket", fds[0], NULL, &err));
    g_autofree char *want = g_strdup_printf("systemd's socket (descriptor %d): not a listening "
                                            "stream socket", fds[0]);
    ASSERT_ERROR(err, want);
    close(fds[1]);
    g_autoptr(GSocket) unbound = g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                              G_SOCKET_PROTOCOL_DEFAULT, NULL);
    int fd = dup(g_socket_get_fd(unbound));
    CU_ASSERT_PTR_NULL(address_listener_adopt("x", fd, NULL, &err));
    g_autofree char *want2 = g_strdup_printf("x (descriptor %d): not a listening stream socket",
                                             fd);
    ASSERT_ERROR(err, want2);
    g_rmdir(dir);
}

static const CuTest address_tests[] = {
    { "parse", test_parse },
    { "parse errors", test_parse_errors },
    { "HOST:PORT errors", test_inet_errors },
    { "listen and connect over TCP", test_listen_tcp },
    { "listen and connect over a Unix socket", test_listen_unix },
    { "adopt a listener made elsewhere", test_adopt },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "address", address_tests },
    { NULL, NULL },
};

CUTEST_MAIN(suites)

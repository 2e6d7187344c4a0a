/*
 * Socket addresses and the sockets on them: see vmscope/address.h.
 *
 * Sockets are GSockets throughout.  Binding and listening go through
 * bind(2) and listen(2) on the GSocket's descriptor so that an error says
 * what the system said ("Address already in use"): GLib wraps those words
 * in sentences of its own, which differ between calls and versions.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <netinet/in.h>
#include <gio/gunixsocketaddress.h>

#include "vmscope/address.h"
#include "vmscope/error.h"

/* Connections waiting to be accepted (GLib's default is 10). */
#define LISTEN_BACKLOG 128

/* An address taken apart: a Unix path, or a host and a port. */
typedef struct Spelling {
    const char *what;             /* for messages: "WHAT 'ADDRESS': ..." */
    const char *address;
    char *path;                   /* unix:PATH */
    char *host;                   /* tcp:HOST:PORT, HOST:PORT */
    guint16 port;
} Spelling;

static void spelling_clear(Spelling *s)
{
    g_free(s->path);
    g_free(s->host);
}

static bool fail(GError **errp, int code, const Spelling *s, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);
static bool fail(GError **errp, int code, const Spelling *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(errp, VMS_ERROR, code, "%s '%s': %s", s->what, s->address, msg);
    return false;
}

static bool split_unix(Spelling *s, const char *path, GError **errp)
{
    size_t max = sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1;
    size_t len = strlen(path);
    if (len == 0) {
        return fail(errp, VMS_ERROR_INVALID, s, "empty socket path");
    }
    if (len > max) {
        return fail(errp, VMS_ERROR_INVALID, s, "socket path too long (%zu bytes, at most %zu)",
                    len, max);
    }
    s->path = g_strdup(path);
    return true;
}

static bool port_valid(const char *p, guint16 *port)
{
    guint64 n;
    if (!g_ascii_isdigit(p[0]) || !g_ascii_string_to_unsigned(p, 10, 0, 65535, &n, NULL)) {
        return false;
    }
    *port = (guint16)n;
    return true;
}

/* HOST:PORT or [IPV6]:PORT; scheme ("tcp:" or "") is how the user wrote it. */
static bool split_inet(Spelling *s, const char *hostport, const char *scheme, GError **errp)
{
    const char *example = *scheme ? "tcp:[::1]:4444" : "[::1]:8080";
    const char *port;
    if (hostport[0] == '[') {
        const char *close = strchr(hostport, ']');
        if (!close || close[1] != ':') {
            return fail(errp, VMS_ERROR_INVALID, s, "expected %s[IPV6]:PORT", scheme);
        }
        s->host = g_strndup(hostport + 1, (gsize)(close - hostport - 1));
        port = close + 2;
    } else {
        const char *colon = strrchr(hostport, ':');
        if (!colon) {
            return fail(errp, VMS_ERROR_INVALID, s, "expected %sHOST:PORT", scheme);
        }
        s->host = g_strndup(hostport, (gsize)(colon - hostport));
        port = colon + 1;
        if (strchr(s->host, ':')) {
            return fail(errp, VMS_ERROR_INVALID, s,
                        "an IPv6 address goes in brackets, as in %s", example);
        }
    }
    if (!s->host[0]) {
        return fail(errp, VMS_ERROR_INVALID, s, "empty host");
    }
    if (!port_valid(port, &s->port)) {
        return fail(errp, VMS_ERROR_INVALID, s, "port '%s' is not a number from 0 to 65535",
                    port);
    }
    return true;
}

static bool split(Spelling *s, const char *what, const char *address, bool inet_only,
                  GError **errp)
{
    *s = (Spelling){ .what = what, .address = address };
    if (inet_only) {
        return split_inet(s, address, "", errp);
    }
    if (g_str_has_prefix(address, "unix:")) {
        return split_unix(s, address + 5, errp);
    }
    if (g_str_has_prefix(address, "tcp:")) {
        return split_inet(s, address + 4, "tcp:", errp);
    }
    return fail(errp, VMS_ERROR_INVALID, s, "expected unix:PATH or tcp:HOST:PORT");
}

/* The addresses of s->host, in the resolver's order: a GList of GInetAddress. */
static GList *resolve(const Spelling *s, GError **errp)
{
    GInetAddress *numeric = g_inet_address_new_from_string(s->host);
    if (numeric) {
        return g_list_append(NULL, numeric);
    }
    g_autoptr(GResolver) resolver = g_resolver_get_default();
    g_autoptr(GError) err = NULL;
    GList *found = g_resolver_lookup_by_name(resolver, s->host, NULL, &err);
    if (!found) {
        fail(errp, VMS_ERROR_NOT_FOUND, s, "cannot resolve '%s': %s", s->host,
             err ? err->message : "not found");
    }
    return found;
}

/* The socket addresses s names: one for a Unix path, one per address of a host. */
static GList *socket_addresses(const Spelling *s, GError **errp)
{
    if (s->path) {
        return g_list_append(NULL, g_unix_socket_address_new(s->path));
    }
    GList *inets = resolve(s, errp);
    GList *out = NULL;
    for (GList *l = inets; l; l = l->next) {
        out = g_list_append(out, g_inet_socket_address_new(l->data, s->port));
    }
    g_resolver_free_addresses(inets);
    return out;
}

GSocketAddress *address_parse(const char *what, const char *address, GError **errp)
{
    Spelling s;
    GSocketAddress *first = NULL;
    if (split(&s, what, address, false, errp)) {
        GList *all = socket_addresses(&s, errp);
        if (all) {
            first = g_object_ref(all->data);
        }
        g_list_free_full(all, g_object_unref);
    }
    spelling_clear(&s);
    return first;
}

char *address_to_string(GSocketAddress *addr)
{
    if (G_IS_UNIX_SOCKET_ADDRESS(addr)) {
        return g_strdup_printf("unix:%s",
                               g_unix_socket_address_get_path(G_UNIX_SOCKET_ADDRESS(addr)));
    }
    if (G_IS_INET_SOCKET_ADDRESS(addr)) {
        GInetSocketAddress *in = G_INET_SOCKET_ADDRESS(addr);
        GInetAddress *ia = g_inet_socket_address_get_address(in);
        g_autofree char *host = g_inet_address_to_string(ia);
        guint16 port = g_inet_socket_address_get_port(in);
        if (g_inet_address_get_family(ia) == G_SOCKET_FAMILY_IPV6) {
            return g_strdup_printf("tcp:[%s]:%u", host, port);
        }
        return g_strdup_printf("tcp:%s:%u", host, port);
    }
    return g_strdup("unknown:");
}

/* ---- listening ------------------------------------------------------------- */

/*
 * A socket file at the path: left by a listener that is gone (remove it), or
 * somebody is listening (refuse), or it is not a socket (refuse).
 */
static bool clear_stale_socket(const Spelling *s, GSocketAddress *addr, GError **errp)
{
    struct stat st;
    if (lstat(s->path, &st) != 0) {
        return true;
    }
    if (!S_ISSOCK(st.st_mode)) {
        return fail(errp, VMS_ERROR_INVALID, s, "%s exists and is not a socket", s->path);
    }
    g_autoptr(GSocket) probe = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM,
                                            G_SOCKET_PROTOCOL_DEFAULT, NULL);
    if (probe && g_socket_connect(probe, addr, NULL, NULL)) {
        return fail(errp, VMS_ERROR_IO, s, "a server is already listening there");
    }
    if (unlink(s->path) != 0 && errno != ENOENT) {
        return fail(errp, VMS_ERROR_IO, s, "cannot remove %s: %s", s->path, g_strerror(errno));
    }
    return true;
}

/* Bind and listen on addr; NULL with *errno_out set when the system refuses. */
static GSocket *listen_at(GSocketAddress *addr, bool v6only, int *errno_out, GError **errp)
{
    GSocketFamily family = g_socket_address_get_family(addr);
    g_autoptr(GSocket) sock = g_socket_new(family, G_SOCKET_TYPE_STREAM,
                                           G_SOCKET_PROTOCOL_DEFAULT, errp);
    if (!sock) {
        return NULL;
    }
    if (family != G_SOCKET_FAMILY_UNIX &&
        !g_socket_set_option(sock, SOL_SOCKET, SO_REUSEADDR, 1, errp)) {
        return NULL;
    }
    if (family == G_SOCKET_FAMILY_IPV6 && v6only &&
        !g_socket_set_option(sock, IPPROTO_IPV6, IPV6_V6ONLY, 1, errp)) {
        return NULL;
    }
    struct sockaddr_storage native;
    gssize len = g_socket_address_get_native_size(addr);
    if (len <= 0 || !g_socket_address_to_native(addr, &native, sizeof(native), errp)) {
        if (len <= 0) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "unsupported address");
        }
        return NULL;
    }
    int fd = g_socket_get_fd(sock);
    if (bind(fd, (struct sockaddr *)&native, (socklen_t)len) != 0 ||
        listen(fd, LISTEN_BACKLOG) != 0) {
        *errno_out = errno;
        return NULL;
    }
    g_socket_set_blocking(sock, FALSE);
    return g_steal_pointer(&sock);
}

static GSocket *listen_spelled(const Spelling *s, bool v6only, char **bound, GError **errp)
{
    g_autoptr(GError) err = NULL;
    GList *addrs = socket_addresses(s, errp);
    if (!addrs) {
        return NULL;
    }
    if (s->path && !clear_stale_socket(s, addrs->data, errp)) {
        g_list_free_full(addrs, g_object_unref);
        return NULL;
    }
    GSocket *sock = NULL;
    int last_errno = 0;
    for (GList *l = addrs; l && !sock && !err; l = l->next) {
        sock = listen_at(l->data, v6only, &last_errno, &err);
    }
    g_list_free_full(addrs, g_object_unref);
    if (!sock) {
        fail(errp, VMS_ERROR_IO, s, "cannot listen: %s",
             err ? err->message : g_strerror(last_errno));
        return NULL;
    }
    if (bound) {
        g_autoptr(GSocketAddress) local = g_socket_get_local_address(sock, &err);
        if (!local) {
            address_listener_close(sock);
            fail(errp, VMS_ERROR_IO, s, "%s", err->message);
            return NULL;
        }
        *bound = address_to_string(local);
    }
    return sock;
}

/* inet_only: HOST:PORT, and IPv6 sockets IPv6-only (the HTTP server's habits). */
static GSocket *listen_address(const char *what, const char *address, bool inet_only,
                               char **bound, GError **errp)
{
    Spelling s;
    GSocket *sock = NULL;
    if (split(&s, what, address, inet_only, errp)) {
        sock = listen_spelled(&s, inet_only, bound, errp);
    }
    spelling_clear(&s);
    return sock;
}

GSocket *address_listen(const char *what, const char *address, char **bound, GError **errp)
{
    return listen_address(what, address, false, bound, errp);
}

GSocket *address_listen_inet(const char *what, const char *hostport, GError **errp)
{
    return listen_address(what, hostport, true, NULL, errp);
}

/* Marks an adopted listener: its socket file is not ours to remove. */
#define ADOPTED_KEY "vmscope-address-adopted"

GSocket *address_listener_adopt(const char *what, int fd, char **bound, GError **errp)
{
    g_autoptr(GError) err = NULL;
    GSocket *sock = g_socket_new_from_fd(fd, &err);
    int listening = 0;
    socklen_t len = sizeof(listening);
    if (!sock || g_socket_get_socket_type(sock) != G_SOCKET_TYPE_STREAM ||
        getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "%s (descriptor %d): not a listening stream socket", what, fd);
        if (sock) {
            g_object_unref(sock);
        }
        return NULL;
    }
    g_object_set_data(G_OBJECT(sock), ADOPTED_KEY, GINT_TO_POINTER(1));
    g_socket_set_blocking(sock, FALSE);
    int flags = fcntl(fd, F_GETFD);
    g_autoptr(GSocketAddress) local = NULL;
    if (flags < 0 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "%s (descriptor %d): %s", what, fd,
                    g_strerror(errno));
    } else if (bound && !(local = g_socket_get_local_address(sock, &err))) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "%s (descriptor %d): %s", what, fd,
                    err->message);
    } else {
        if (bound) {
            *bound = address_to_string(local);
        }
        return sock;
    }
    address_listener_close(sock);
    return NULL;
}

void address_listener_close(GSocket *sock)
{
    if (!sock) {
        return;
    }
    bool adopted = g_object_get_data(G_OBJECT(sock), ADOPTED_KEY) != NULL;
    g_autoptr(GSocketAddress) local = adopted ? NULL : g_socket_get_local_address(sock, NULL);
    g_socket_close(sock, NULL);
    if (local && G_IS_UNIX_SOCKET_ADDRESS(local)) {
        unlink(g_unix_socket_address_get_path(G_UNIX_SOCKET_ADDRESS(local)));
    }
    g_object_unref(sock);
}

/* ---- connecting ------------------------------------------------------------ */

GSocket *address_connect(GSocketAddress *addr, int timeout_ms, GCancellable *c, GError **errp)
{
    g_autoptr(GError) err = NULL;
    if (g_cancellable_is_cancelled(c)) {
        g_set_error_literal(errp, G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled");
        return NULL;
    }
    GSocketFamily family = g_socket_address_get_family(addr);
    g_autoptr(GSocket) sock = g_socket_new(family, G_SOCKET_TYPE_STREAM,
                                           G_SOCKET_PROTOCOL_DEFAULT, &err);
    if (!sock) {
        g_set_error_literal(errp, VMS_ERROR, VMS_ERROR_IO, err->message);
        return NULL;
    }
    g_socket_set_blocking(sock, FALSE);
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    bool timed_out = false;
    for (;;) {
        if (g_socket_connect(sock, addr, c, &err)) {
            return g_steal_pointer(&sock);
        }
        gint64 left = deadline - g_get_monotonic_time();
        if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_PENDING)) {
            g_clear_error(&err);
            if (left > 0 && g_socket_condition_timed_wait(sock, G_IO_OUT, left, c, &err) &&
                g_socket_check_connect_result(sock, &err)) {
                return g_steal_pointer(&sock);
            }
            timed_out = !err || g_error_matches(err, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
            break;
        }
        if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK) &&
            family == G_SOCKET_FAMILY_UNIX) {
            /* A Unix listener's backlog is full: try again shortly. */
            if (left <= 0) {
                timed_out = true;
                break;
            }
            if (!g_cancellable_is_cancelled(c)) {
                g_clear_error(&err);
                g_usleep(MIN(1000, left));
                continue;
            }
        }
        break;
    }
    if (g_cancellable_is_cancelled(c) ||
        g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
        g_set_error_literal(errp, G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled");
    } else if (timed_out) {
        g_set_error_literal(errp, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, g_strerror(ETIMEDOUT));
    } else {
        g_set_error_literal(errp, VMS_ERROR, VMS_ERROR_IO, err->message);
    }
    return NULL;
}

char *address_agent_default_dir(void)
{
    const char *run = g_getenv("XDG_RUNTIME_DIR");
    return g_build_filename(run && *run ? run : "/tmp", "vmscope", NULL);
}

char *address_agent_default(void)
{
    g_autofree char *dir = address_agent_default_dir();
    return g_strdup_printf("unix:%s/agent.qmp", dir);
}

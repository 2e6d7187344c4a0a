/* QMP socket addresses: see qmp-address.h. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <gio/gunixsocketaddress.h>

#include "qmp-address.h"
#include "vmscope/error.h"

static GSocketAddress *parse_unix(const char *address, const char *path, GError **errp)
{
    size_t max = sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1;
    size_t len = strlen(path);

    if (len == 0) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "QMP address '%s': empty socket path",
                    address);
        return NULL;
    }
    if (len > max) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "QMP address '%s': socket path too long (%zu bytes, at most %zu)",
                    address, len, max);
        return NULL;
    }
    return g_unix_socket_address_new(path);
}

static GSocketAddress *parse_tcp(const char *address, const char *hostport, GError **errp)
{
    g_autofree char *host = NULL;
    const char *port_str;

    if (hostport[0] == '[') {
        const char *end = strchr(hostport, ']');
        if (!end || end[1] != ':') {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                        "QMP address '%s': expected tcp:[IPV6]:PORT", address);
            return NULL;
        }
        host = g_strndup(hostport + 1, (gsize)(end - hostport - 1));
        port_str = end + 2;
    } else {
        const char *colon = strrchr(hostport, ':');
        if (!colon) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                        "QMP address '%s': expected tcp:HOST:PORT", address);
            return NULL;
        }
        host = g_strndup(hostport, (gsize)(colon - hostport));
        port_str = colon + 1;
    }

    char *end = NULL;
    errno = 0;
    unsigned long port = strtoul(port_str, &end, 10);
    if (!*port_str || *end || errno || port > 65535 || port_str[0] == '-' || port_str[0] == '+') {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "QMP address '%s': port '%s' is not a number from 0 to 65535",
                    address, port_str);
        return NULL;
    }
    if (!*host) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "QMP address '%s': empty host", address);
        return NULL;
    }

    g_autoptr(GInetAddress) inet = g_inet_address_new_from_string(host);
    if (!inet) {
        g_autoptr(GResolver) resolver = g_resolver_get_default();
        g_autoptr(GError) err = NULL;
        GList *found = g_resolver_lookup_by_name(resolver, host, NULL, &err);
        if (!found) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_NOT_FOUND, "QMP address '%s': host '%s': %s",
                        address, host, err ? err->message : "not found");
            return NULL;
        }
        inet = g_object_ref(found->data);
        g_resolver_free_addresses(found);
    }
    return g_inet_socket_address_new(inet, (guint16)port);
}

GSocketAddress *qmp_address_parse(const char *address, GError **errp)
{
    if (g_str_has_prefix(address, "unix:")) {
        return parse_unix(address, address + 5, errp);
    }
    if (g_str_has_prefix(address, "tcp:")) {
        return parse_tcp(address, address + 4, errp);
    }
    g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                "QMP address '%s': expected unix:PATH or tcp:HOST:PORT", address);
    return NULL;
}

char *qmp_address_to_string(GSocketAddress *addr)
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

bool qmp_address_clear_stale_socket(const char *label, GSocketAddress *addr, const char *path,
                                    GError **errp)
{
    struct stat st;

    if (lstat(path, &st) != 0) {
        return true;
    }
    if (!S_ISSOCK(st.st_mode)) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "%s: %s exists and is not a socket",
                    label, path);
        return false;
    }
    g_autoptr(GSocket) probe = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM,
                                            G_SOCKET_PROTOCOL_DEFAULT, NULL);
    if (probe && g_socket_connect(probe, addr, NULL, NULL)) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "%s: a server is already listening there",
                    label);
        return false;
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "%s: cannot remove %s: %s", label, path,
                    g_strerror(errno));
        return false;
    }
    return true;
}

/*
 * QMP socket addresses, as vmscope's command lines spell them:
 *   unix:PATH          a Unix-domain stream socket
 *   tcp:HOST:PORT      TCP; HOST is a name or an address, IPv6 in brackets
 *                      ("tcp:[::1]:4444"); port 0 (listening only) lets the
 *                      kernel pick a free port
 * QEMU's "-qmp" options (",server=on,wait=off") are not part of it.
 * Errors are VMS_ERROR_INVALID (or VMS_ERROR_NOT_FOUND for a host name
 * that does not resolve) and quote the address.
 */
#ifndef VMSCOPE_BRIDGE_QMP_ADDRESS_H
#define VMSCOPE_BRIDGE_QMP_ADDRESS_H

#include <stdbool.h>
#include <gio/gio.h>

/* A new GSocketAddress for address, or NULL with *errp set. */
GSocketAddress *qmp_address_parse(const char *address, GError **errp);

/* The address in the same notation ("unix:/run/x.sock", "tcp:127.0.0.1:4444"). */
char *qmp_address_to_string(GSocketAddress *addr);

/*
 * Before listening on a Unix socket path: a socket file left there by a
 * dead listener is removed (as QEMU does); one where somebody still answers,
 * or a path that is not a socket, is refused.  `label` starts every error
 * ("QMP address 'unix:/x'", "--incoming 'unix:/x'").
 */
bool qmp_address_clear_stale_socket(const char *label, GSocketAddress *addr, const char *path,
                                    GError **errp);

#endif

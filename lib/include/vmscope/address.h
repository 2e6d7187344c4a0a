/*
 * Socket addresses as vmscope's command lines and QMP arguments spell them,
 * and the stream sockets that listen or connect there: the one place where
 * vmscope makes a socket (QMP server and client, HTTP, migration).
 *
 *   unix:PATH        a Unix-domain stream socket
 *   tcp:HOST:PORT    TCP; HOST a name or an address, an IPv6 address in
 *                    brackets ("tcp:[::1]:4444"); port 0 (listening only)
 *                    lets the kernel pick a free port
 *   HOST:PORT        the same without "tcp:", where only TCP makes sense
 *                    (the HTTP server: the *_inet functions)
 *
 * QEMU's "-qmp" options (",server=on,wait=off") are not part of it.
 *
 * Every function that parses takes `what`: what the address is for, in the
 * user's words ("QMP address", "--incoming", "migration URI", "http
 * address").  Its errors read "WHAT 'ADDRESS': what is wrong", e.g.
 *   QMP address 'nowhere': expected unix:PATH or tcp:HOST:PORT
 *   http address '::1:80': an IPv6 address goes in brackets, as in [::1]:8080
 *   --incoming 'unix:/run/x': a server is already listening there
 * in VMS_ERROR: VMS_ERROR_INVALID for a bad spelling, VMS_ERROR_NOT_FOUND
 * for a host name that does not resolve, VMS_ERROR_IO when the system
 * refuses (the system's own words: "cannot listen: Address already in use").
 */
#ifndef VMSCOPE_ADDRESS_H
#define VMSCOPE_ADDRESS_H

#include <stdbool.h>
#include <gio/gio.h>

/* unix:PATH or tcp:HOST:PORT as a new GSocketAddress (a name resolves to its first address). */
GSocketAddress *address_parse(const char *what, const char *address, GError **errp);

/*
 * Where vmscope-agent listens for QMP when not told (and vmscope-view state
 * asks): the directory ${XDG_RUNTIME_DIR:-/tmp}/vmscope and, in it, the
 * socket agent.qmp; g_free them.
 */
char *address_agent_default_dir(void);
char *address_agent_default(void);     /* "unix:DIR/agent.qmp" */

/* An address in the notation above ("unix:/run/x.sock", "tcp:[::1]:4444"); g_free it. */
char *address_to_string(GSocketAddress *addr);

/*
 * A non-blocking socket listening on unix:PATH or tcp:HOST:PORT (a name
 * that resolves to several addresses: the first that binds).  Before
 * binding a Unix path, a socket file left there by a listener that is gone
 * is removed, as QEMU does; one where somebody still answers, or a path
 * that is not a socket, is refused.  bound (may be NULL) gets the address
 * bound, in the notation above (port 0 replaced by the port picked).
 * Close it with address_listener_close.
 */
GSocket *address_listen(const char *what, const char *address, char **bound, GError **errp);
/* The same for HOST:PORT; IPv6 sockets are IPv6-only. */
GSocket *address_listen_inet(const char *what, const char *hostport, GError **errp);
/*
 * A listening socket made by whoever started the program (systemd's socket
 * activation, sd_listen_fds(3)), taken over: fd must be a stream socket
 * that listens (else VMS_ERROR_INVALID, "WHAT (descriptor N): not a
 * listening stream socket"); it is made non-blocking and close-on-exec,
 * and address_listener_close closes it without removing its socket file,
 * which belongs to whoever made it.  bound as for address_listen.
 */
GSocket *address_listener_adopt(const char *what, int fd, char **bound, GError **errp);
/*
 * Close a listener and remove its socket file if it has one (and made it:
 * not for an adopted one).  NULL is fine.
 */
void address_listener_close(GSocket *sock);

/*
 * A non-blocking socket connected to addr, within timeout_ms or until c
 * (may be NULL) is cancelled.  A Unix listener whose backlog is full is
 * tried again until the deadline.  Errors carry the system's words only
 * ("Connection refused", "Connection timed out"), for the caller to put
 * after its own prefix: VMS_ERROR_IO, G_IO_ERROR_TIMED_OUT when the
 * deadline passed, G_IO_ERROR_CANCELLED when c was cancelled.
 */
GSocket *address_connect(GSocketAddress *addr, int timeout_ms, GCancellable *c, GError **errp);

#endif

/*
 * Socket activation (sd_listen_fds(3)): the listening sockets systemd
 * hands vmscope-agent when vmscope-agent.socket starts it.
 *
 * They are matched to the agent's addresses by what they listen on: a
 * passed socket that listens on the address of a --qmp flag (or on the
 * HTTP address, --http's or the default one) serves it, and the agent
 * binds the addresses no passed socket matches itself.  So the socket
 * unit's ListenStream= lines and the service's flags name the same
 * addresses, and the service also runs, binding its own sockets, without
 * the socket unit.  A passed socket that no address names is an error at
 * start, so that the two files cannot disagree unnoticed:
 *   systemd passed a socket on tcp:0.0.0.0:8080 that no --qmp or --http names
 */
#ifndef VMSCOPE_AGENT_ACTIVATION_H
#define VMSCOPE_AGENT_ACTIVATION_H

#include <stdbool.h>
#include <gio/gio.h>

typedef struct AgentActivation AgentActivation;

/*
 * The sockets passed to this process (none: an empty set), taken over
 * (address_listener_adopt); LISTEN_FDS and its companions are removed from
 * the environment.  Fails when a passed descriptor is not a listening
 * stream socket.
 */
AgentActivation *agent_activation_new(GError **errp);
/* Closes the sockets nobody took. */
void agent_activation_free(AgentActivation *a);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgentActivation, agent_activation_free)

/*
 * The passed socket that listens on address, taken out of the set (the
 * caller owns it), or NULL.  address as the flags spell it: "unix:PATH",
 * "tcp:HOST:PORT", or with inet "HOST:PORT" (--http).  An address that
 * does not parse matches nothing (binding it will say what is wrong).
 */
GSocket *agent_activation_take(AgentActivation *a, const char *address, bool inet);

/* How many sockets were passed, taken or not. */
guint agent_activation_count(const AgentActivation *a);

/* Fails, naming the first, if a passed socket was not taken. */
bool agent_activation_check_taken(const AgentActivation *a, GError **errp);

#endif

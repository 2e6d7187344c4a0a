/*
 * Socket activation: see activation.h.
 */
#include "config.h"

#include <systemd/sd-daemon.h>

#include "activation.h"
#include "vmscope/address.h"
#include "vmscope/error.h"

typedef struct Passed {
    GSocket *sock;                 /* NULL once taken */
    char *address;                 /* where it listens, as address_to_string spells it */
} Passed;

struct AgentActivation {
    GArray *passed;                /* Passed */
};

static void passed_clear(gpointer data)
{
    Passed *p = data;
    address_listener_close(p->sock);
    g_free(p->address);
}

AgentActivation *agent_activation_new(GError **errp)
{
    g_autoptr(AgentActivation) a = g_new0(AgentActivation, 1);
    a->passed = g_array_new(FALSE, TRUE, sizeof(Passed));
    g_array_set_clear_func(a->passed, passed_clear);
    int n = sd_listen_fds(1);
    if (n < 0) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "systemd's sockets: %s",
                    g_strerror(-n));
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        Passed p = { 0 };
        p.sock = address_listener_adopt("systemd's socket", SD_LISTEN_FDS_START + i,
                                        &p.address, errp);
        if (!p.sock) {
            /* The descriptors not reached yet are closed when the program exits. */
            return NULL;
        }
        g_array_append_val(a->passed, p);
    }
    return g_steal_pointer(&a);
}

void agent_activation_free(AgentActivation *a)
{
    if (!a) {
        return;
    }
    g_array_unref(a->passed);
    g_free(a);
}

GSocket *agent_activation_take(AgentActivation *a, const char *address, bool inet)
{
    if (a->passed->len == 0) {
        return NULL;
    }
    g_autofree char *spelled = inet ? g_strconcat("tcp:", address, NULL) : g_strdup(address);
    g_autoptr(GSocketAddress) sa = address_parse("address", spelled, NULL);
    if (!sa) {
        return NULL;
    }
    g_autofree char *want = address_to_string(sa);
    for (guint i = 0; i < a->passed->len; i++) {
        Passed *p = &g_array_index(a->passed, Passed, i);
        if (p->sock && g_strcmp0(p->address, want) == 0) {
            return g_steal_pointer(&p->sock);
        }
    }
    return NULL;
}

guint agent_activation_count(const AgentActivation *a)
{
    return a->passed->len;
}

bool agent_activation_check_taken(const AgentActivation *a, GError **errp)
{
    for (guint i = 0; i < a->passed->len; i++) {
        const Passed *p = &g_array_index(a->passed, Passed, i);
        if (p->sock) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                        "systemd passed a socket on %s that no --qmp or --http names",
                        p->address);
            return false;
        }
    }
    return true;
}

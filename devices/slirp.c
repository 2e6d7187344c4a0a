/*
 * A slirp-like user-mode network stack: its socket list grows and shrinks
 * at run time.  The list lives in the host's heap region (DeviceHeap); the
 * state holds its count and a segment-relative offset to it, described with
 * a SEGPTR field, so the list travels with the state however long it is.
 */
#include "config.h"

#include <string.h>

#include "devices.h"
#include "qidl/qidl.h"

#define SLIRP_MAX_SOCKETS 256

/*
 * The state, described once (docs/qidl.md): vmstate_SlirpSocket and
 * vmstate_SlirpState.  sockets is a segment offset (q_segptr): the first
 * so_count sockets it points to are state, the offset itself is not.
 */
QIDL_DECLARE(SlirpSocket, q_name("slirp-socket")) {
    uint32_t so_id;
    uint8_t proto;            /* 6 TCP, 17 UDP */
    uint8_t tcp_state;
    uint16_t lport;
    uint16_t fport;
    uint32_t laddr;
    uint32_t faddr;
    uint64_t rx_bytes;
    uint64_t tx_bytes;
};

QIDL_DECLARE(SlirpState, q_name("slirp")) {
    uint32_t vnetwork;
    uint32_t vnetmask;
    uint32_t next_id;
    uint32_t so_count;
    uint64_t sockets q_segptr(SlirpSocket, SLIRP_MAX_SOCKETS) q_size(so_count) q_version(1);
};

#ifndef QIDL_GEN
#include "devices/slirp.qidl.h"
#endif

static SlirpSocket *slirp_sockets(SlirpState *s, DeviceHeap *heap)
{
    return s->sockets ? (SlirpSocket *)(heap->base + s->sockets) : NULL;
}

/* Replace the list with one of n sockets, keeping the first min(n, old). */
static bool slirp_resize(SlirpState *s, DeviceHeap *heap, uint32_t n)
{
    uint64_t off = n ? heap->alloc(heap->opaque, n * sizeof(SlirpSocket)) : 0;
    if (n && !off) {
        return false;                          /* heap full: keep the old list */
    }
    if (off && s->so_count) {
        memcpy(heap->base + off, slirp_sockets(s, heap),
               MIN(n, s->so_count) * sizeof(SlirpSocket));
    }
    if (s->sockets) {
        heap->free(heap->opaque, s->sockets);
    }
    s->sockets = off;
    s->so_count = n;
    return true;
}

static void slirp_init(void *opaque, uint32_t instance, DeviceHeap *heap)
{
    SlirpState *s = opaque;
    s->vnetwork = 0x0a000200;                  /* 10.0.2.0 */
    s->vnetmask = 0xffffff00;
    s->next_id = 1;
}

static void slirp_tick(void *opaque, uint64_t tick, DeviceHeap *heap)
{
    SlirpState *s = opaque;
    /* The socket count follows a slow saw-tooth: 0..11 and back. */
    uint32_t phase = (uint32_t)(tick / 5 % 24);
    uint32_t want = phase < 12 ? phase : 23 - phase;

    if (want != s->so_count) {
        uint32_t old = s->so_count;
        if (!slirp_resize(s, heap, want)) {
            return;
        }
        SlirpSocket *so = slirp_sockets(s, heap);
        for (uint32_t i = old; i < want; i++) {
            so[i].so_id = s->next_id++;
            so[i].proto = i % 3 ? 6 : 17;
            so[i].tcp_state = so[i].proto == 6 ? 4 : 0;   /* ESTABLISHED */
            so[i].lport = (uint16_t)(40000 + so[i].so_id);
            so[i].fport = i % 2 ? 443 : 53;
            so[i].laddr = 0x0a00020f;                      /* 10.0.2.15 */
            so[i].faddr = 0xc0000200 + so[i].so_id;        /* 192.0.2.x */
        }
    }
    SlirpSocket *so = slirp_sockets(s, heap);
    for (uint32_t i = 0; i < s->so_count; i++) {
        so[i].rx_bytes += 1460 * (i + 1);
        so[i].tx_bytes += 64 * (i + 1);
    }
}

static void slirp_fini(void *opaque, DeviceHeap *heap)
{
    SlirpState *s = opaque;
    slirp_resize(s, heap, 0);
}

const DeviceType device_slirp = {
    .name = "slirp",
    .short_name = "slirp",
    .default_count = 1,
    .vmsd = &vmstate_SlirpState,
    .state_size = sizeof(SlirpState),
    .init = slirp_init,
    .tick = slirp_tick,
    .fini = slirp_fini,
};

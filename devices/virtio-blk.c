/*
 * virtio-blk on virtio-pci.  The device has room for VIRTIO_QUEUE_MAX
 * virtqueues but only num_queues are live: the virtqueue array is a partial
 * array, so only live queues travel (the case VMSTATE_*PARTIAL* exists for).
 * Requests in flight are a variable array in a subsection that is sent only
 * while there are any.
 */
#include "config.h"

#include <string.h>

#include "devices.h"
#include "qidl/qidl.h"
#include "vmscope/error.h"

#define VIRTIO_QUEUE_MAX 64
#define VIRTIO_BLK_MAX_INFLIGHT 16
#define VRING_NUM 256

/*
 * The state, described once (docs/qidl.md).  vq is counted by num_queues,
 * which the destination already has (q_equal): a partial array, only live
 * queues travel.  The requests in flight are a subsection (virtio-blk/inflight)
 * sent while has_inflight is set.
 */
QIDL_DECLARE(VirtQueueState, q_name("virtqueue_state")) {
    uint32_t vring_num;
    uint64_t desc;
    uint64_t avail;
    uint64_t used;
    uint16_t last_avail_idx;
    uint16_t used_idx;
    uint16_t signalled_used;
    uint16_t vector;
    uint32_t inuse;
};

QIDL_DECLARE(VirtIOBlkReq, q_name("virtio-blk-req")) {
    uint64_t sector;
    uint32_t nb_sectors;
    uint32_t type;
};

QIDL_DECLARE(VirtIOBlkState, q_name("virtio-blk") q_version(2) q_min_version(2)
             q_post_load(blk_post_load)) {
    uint8_t pci_config[64];
    uint64_t host_features;
    uint64_t guest_features;
    uint8_t status;
    uint8_t isr;
    uint16_t queue_sel;
    uint16_t config_vector;
    uint16_t num_queues q_equal;
    uint64_t capacity;
    VirtQueueState vq[VIRTIO_QUEUE_MAX] q_size(num_queues) q_version(1);
    struct {
        uint32_t inflight_count;
        VirtIOBlkReq inflight[VIRTIO_BLK_MAX_INFLIGHT] q_size(inflight_count) q_version(1);
    } inflight q_optional;
    bool has_inflight;
};

/* The tick picks a sector modulo capacity (num_queues is an _equal field: checked). */
static bool blk_post_load(void *opaque, int version_id, GError **errp)
{
    VirtIOBlkState *s = opaque;
    if (s->capacity < 1) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_RANGE,
                    "virtio-blk.capacity: 0 out of range (at least 1 sector)");
        return false;
    }
    return true;
}

#ifndef QIDL_GEN
#include "devices/virtio-blk.qidl.h"
#endif

static void blk_init(void *opaque, uint32_t instance, DeviceHeap *heap)
{
    VirtIOBlkState *s = opaque;
    static const uint8_t pci_id[] = { 0xf4, 0x1a, 0x42, 0x10 };   /* 1af4:1042 */
    memcpy(s->pci_config, pci_id, sizeof(pci_id));
    s->pci_config[0x04] = 0x07;                                   /* command */
    s->pci_config[0x0b] = 0x01;                                   /* class: storage */
    s->host_features = 0x0000000179000e54ULL;
    s->guest_features = 0x0000000130000e54ULL;
    s->status = 0x0f;                                             /* DRIVER_OK */
    s->config_vector = 0;
    s->num_queues = 2;
    s->capacity = 2097152;                                        /* 1 GiB */
    for (unsigned i = 0; i < VIRTIO_QUEUE_MAX; i++) {
        VirtQueueState *vq = &s->vq[i];
        vq->vector = 0xffff;
        if (i < s->num_queues) {
            vq->vring_num = VRING_NUM;
            vq->desc = 0x7f000000ULL + 0x10000ULL * i;
            vq->avail = vq->desc + 16 * VRING_NUM;
            vq->used = vq->avail + 0x1000;
            vq->vector = (uint16_t)(i + 1);
        }
    }
}

static void blk_tick(void *opaque, uint64_t tick, DeviceHeap *heap)
{
    VirtIOBlkState *s = opaque;
    unsigned q = tick % s->num_queues;
    VirtQueueState *vq = &s->vq[q];
    uint16_t submitted = (uint16_t)(tick % 4);

    vq->last_avail_idx += submitted;
    vq->inuse += submitted;
    /* Complete all but a few: what remains is in flight. */
    uint32_t keep = (uint32_t)(tick % 5 == 0 ? tick % 4 : 0);
    if (keep > vq->inuse) {
        keep = vq->inuse;
    }
    vq->used_idx += (uint16_t)(vq->inuse - keep);
    vq->signalled_used = vq->used_idx;
    vq->inuse = keep;
    s->isr = vq->inuse == 0;

    uint32_t *n = &s->inflight.inflight_count;
    *n = 0;
    for (unsigned i = 0; i < s->num_queues; i++) {
        for (uint32_t r = 0; r < s->vq[i].inuse && *n < VIRTIO_BLK_MAX_INFLIGHT; r++) {
            VirtIOBlkReq *req = &s->inflight.inflight[(*n)++];
            req->sector = (tick * 8 + r * 64) % s->capacity;
            req->nb_sectors = 8;
            req->type = r & 1;               /* IN / OUT */
        }
    }
    s->has_inflight = *n != 0;
}

const DeviceType device_virtio_blk = {
    .name = "virtio-blk",
    .short_name = "virtio-blk",
    .default_count = 1,
    .vmsd = &vmstate_VirtIOBlkState,
    .state_size = sizeof(VirtIOBlkState),
    .init = blk_init,
    .tick = blk_tick,
};

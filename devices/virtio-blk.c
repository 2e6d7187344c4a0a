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
#include "vmscope/error.h"

#define VIRTIO_QUEUE_MAX 64
#define VIRTIO_BLK_MAX_INFLIGHT 16
#define VRING_NUM 256

typedef struct VirtQueueState {
    uint32_t vring_num;
    uint64_t desc;
    uint64_t avail;
    uint64_t used;
    uint16_t last_avail_idx;
    uint16_t used_idx;
    uint16_t signalled_used;
    uint16_t vector;
    uint32_t inuse;
} VirtQueueState;

typedef struct VirtIOBlkReq {
    uint64_t sector;
    uint32_t nb_sectors;
    uint32_t type;
} VirtIOBlkReq;

typedef struct VirtIOBlkState {
    uint8_t pci_config[64];
    uint64_t host_features;
    uint64_t guest_features;
    uint8_t status;
    uint8_t isr;
    uint16_t queue_sel;
    uint16_t config_vector;
    uint16_t num_queues;
    uint64_t capacity;
    VirtQueueState vq[VIRTIO_QUEUE_MAX];
    uint32_t inflight_count;
    VirtIOBlkReq inflight[VIRTIO_BLK_MAX_INFLIGHT];
} VirtIOBlkState;

static const VMStateField virtqueue_fields[] = {
    VMSTATE_UINT32(vring_num, VirtQueueState),
    VMSTATE_UINT64(desc, VirtQueueState),
    VMSTATE_UINT64(avail, VirtQueueState),
    VMSTATE_UINT64(used, VirtQueueState),
    VMSTATE_UINT16(last_avail_idx, VirtQueueState),
    VMSTATE_UINT16(used_idx, VirtQueueState),
    VMSTATE_UINT16(signalled_used, VirtQueueState),
    VMSTATE_UINT16(vector, VirtQueueState),
    VMSTATE_UINT32(inuse, VirtQueueState),
    VMSTATE_END_OF_LIST()
};

static const VMStateDescription vmstate_virtqueue = {
    .name = "virtqueue_state",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = virtqueue_fields,
};

static const VMStateField blk_req_fields[] = {
    VMSTATE_UINT64(sector, VirtIOBlkReq),
    VMSTATE_UINT32(nb_sectors, VirtIOBlkReq),
    VMSTATE_UINT32(type, VirtIOBlkReq),
    VMSTATE_END_OF_LIST()
};

static const VMStateDescription vmstate_blk_req = {
    .name = "virtio-blk-req",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = blk_req_fields,
};

static bool blk_inflight_needed(void *opaque)
{
    VirtIOBlkState *s = opaque;
    return s->inflight_count != 0;
}

static const VMStateField blk_inflight_fields[] = {
    VMSTATE_UINT32(inflight_count, VirtIOBlkState),
    VMSTATE_STRUCT_VARRAY_UINT32(inflight, VirtIOBlkState, inflight_count, 1,
                                 vmstate_blk_req, VirtIOBlkReq),
    VMSTATE_END_OF_LIST()
};

static const VMStateDescription vmstate_blk_inflight = {
    .name = "virtio-blk/inflight",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = blk_inflight_needed,
    .fields = blk_inflight_fields,
};

static const VMStateField blk_fields[] = {
    VMSTATE_BUFFER(pci_config, VirtIOBlkState),
    VMSTATE_UINT64(host_features, VirtIOBlkState),
    VMSTATE_UINT64(guest_features, VirtIOBlkState),
    VMSTATE_UINT8(status, VirtIOBlkState),
    VMSTATE_UINT8(isr, VirtIOBlkState),
    VMSTATE_UINT16(queue_sel, VirtIOBlkState),
    VMSTATE_UINT16(config_vector, VirtIOBlkState),
    VMSTATE_UINT16_EQUAL(num_queues, VirtIOBlkState),
    VMSTATE_UINT64(capacity, VirtIOBlkState),
    VMSTATE_STRUCT_PARTIAL_ARRAY_UINT16(vq, VirtIOBlkState, num_queues, 1,
                                        vmstate_virtqueue, VirtQueueState),
    VMSTATE_END_OF_LIST()
};

static const VMStateDescription *const blk_subsections[] = {
    &vmstate_blk_inflight,
    NULL
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

static const VMStateDescription vmstate_virtio_blk = {
    .name = "virtio-blk",
    .version_id = 2,
    .minimum_version_id = 2,
    .fields = blk_fields,
    .subsections = blk_subsections,
    .post_load = blk_post_load,
};

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

    s->inflight_count = 0;
    for (unsigned i = 0; i < s->num_queues; i++) {
        for (uint32_t r = 0; r < s->vq[i].inuse && s->inflight_count < VIRTIO_BLK_MAX_INFLIGHT; r++) {
            VirtIOBlkReq *req = &s->inflight[s->inflight_count++];
            req->sector = (tick * 8 + r * 64) % s->capacity;
            req->nb_sectors = 8;
            req->type = r & 1;               /* IN / OUT */
        }
    }
}

const DeviceType device_virtio_blk = {
    .name = "virtio-blk",
    .short_name = "virtio-blk",
    .default_count = 1,
    .vmsd = &vmstate_virtio_blk,
    .state_size = sizeof(VirtIOBlkState),
    .init = blk_init,
    .tick = blk_tick,
};

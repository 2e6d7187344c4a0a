/*
 * 16550A UART with FIFOs, described as QEMU describes it ("serial", with the
 * recv/xmit FIFO subsections) plus one vmscope field added in version 4.
 *
 * Behaviour: a character arrives every tick; the guest drains the receive
 * FIFO two characters every third tick; an overrun sets LSR.OE.
 */
#include "config.h"

#include <inttypes.h>

#include "devices.h"
#include "vmscope/error.h"

#define UART_FIFO_LENGTH 16
#define UART_LSR_DR   0x01
#define UART_LSR_OE   0x02
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40
#define UART_FCR_FE   0x01
#define UART_IIR_NO_INT 0x01
#define UART_IIR_RDI  0x04

typedef struct Fifo8 {
    uint8_t data[UART_FIFO_LENGTH];
    uint32_t capacity;
    uint32_t head;
    uint32_t num;
} Fifo8;

typedef struct SerialState {
    uint16_t divider;
    uint8_t rbr, thr, tsr;
    uint8_t ier, iir, lcr, mcr, lsr, msr, scr, fcr;
    int32_t thr_ipending;
    uint32_t tsr_retry;
    Fifo8 recv_fifo;
    Fifo8 xmit_fifo;
    uint64_t rx_total;                 /* vmscope: characters received (v4) */
} SerialState;

static const VMStateField fifo8_fields[] = {
    VMSTATE_BUFFER(data, Fifo8),
    VMSTATE_UINT32(head, Fifo8),
    VMSTATE_UINT32(num, Fifo8),
    VMSTATE_END_OF_LIST()
};

static const VMStateDescription vmstate_fifo8 = {
    .name = "Fifo8",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = fifo8_fields,
};

static bool serial_fifo_needed(void *opaque)
{
    SerialState *s = opaque;
    return (s->fcr & UART_FCR_FE) != 0;
}

static bool serial_thr_ipending_needed(void *opaque)
{
    SerialState *s = opaque;
    return s->thr_ipending != 0;
}

static const VMStateField serial_thr_ipending_fields[] = {
    VMSTATE_INT32(thr_ipending, SerialState),
    VMSTATE_END_OF_LIST()
};

static const VMStateDescription vmstate_serial_thr_ipending = {
    .name = "serial/thr_ipending",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = serial_thr_ipending_needed,
    .fields = serial_thr_ipending_fields,
};

static const VMStateField serial_recv_fifo_fields[] = {
    VMSTATE_STRUCT(recv_fifo, SerialState, 1, vmstate_fifo8, Fifo8),
    VMSTATE_END_OF_LIST()
};

static const VMStateDescription vmstate_serial_recv_fifo = {
    .name = "serial/recv_fifo",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = serial_fifo_needed,
    .fields = serial_recv_fifo_fields,
};

static const VMStateField serial_xmit_fifo_fields[] = {
    VMSTATE_STRUCT(xmit_fifo, SerialState, 1, vmstate_fifo8, Fifo8),
    VMSTATE_END_OF_LIST()
};

static const VMStateDescription vmstate_serial_xmit_fifo = {
    .name = "serial/xmit_fifo",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = serial_fifo_needed,
    .fields = serial_xmit_fifo_fields,
};

static const VMStateField serial_fields[] = {
    VMSTATE_UINT16_V(divider, SerialState, 2),
    VMSTATE_UINT8(rbr, SerialState),
    VMSTATE_UINT8(ier, SerialState),
    VMSTATE_UINT8(iir, SerialState),
    VMSTATE_UINT8(lcr, SerialState),
    VMSTATE_UINT8(mcr, SerialState),
    VMSTATE_UINT8(lsr, SerialState),
    VMSTATE_UINT8(msr, SerialState),
    VMSTATE_UINT8(scr, SerialState),
    VMSTATE_UINT8_V(fcr, SerialState, 3),
    VMSTATE_UINT64_V(rx_total, SerialState, 4),
    VMSTATE_END_OF_LIST()
};

static const VMStateDescription *const serial_subsections[] = {
    &vmstate_serial_thr_ipending,
    &vmstate_serial_recv_fifo,
    &vmstate_serial_xmit_fifo,
    NULL
};

/* A loaded FIFO must index its buffer: the tick trusts head and num. */
static bool serial_post_load(void *opaque, int version_id, GError **errp)
{
    SerialState *s = opaque;
    const struct { const char *name; const Fifo8 *f; } fifos[] = {
        { "recv_fifo", &s->recv_fifo }, { "xmit_fifo", &s->xmit_fifo },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(fifos); i++) {
        if (fifos[i].f->head >= UART_FIFO_LENGTH || fifos[i].f->num > UART_FIFO_LENGTH) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_RANGE,
                        "serial.%s: head %" PRIu32 " and num %" PRIu32 " out of range for a "
                        "%d-byte FIFO", fifos[i].name, fifos[i].f->head, fifos[i].f->num,
                        UART_FIFO_LENGTH);
            return false;
        }
    }
    return true;
}

static const VMStateDescription vmstate_serial = {
    .name = "serial",
    .version_id = 4,
    .minimum_version_id = 2,
    .fields = serial_fields,
    .subsections = serial_subsections,
    .post_load = serial_post_load,
};

static void fifo8_push(Fifo8 *f, uint8_t c)
{
    f->data[(f->head + f->num) % UART_FIFO_LENGTH] = c;
    f->num++;
}

static uint8_t fifo8_pop(Fifo8 *f)
{
    uint8_t c = f->data[f->head];
    f->head = (f->head + 1) % UART_FIFO_LENGTH;
    f->num--;
    return c;
}

static void serial_init(void *opaque, uint32_t instance, DeviceHeap *heap)
{
    SerialState *s = opaque;
    s->divider = 12;                   /* 9600 baud */
    s->lcr = 0x03;                     /* 8N1 */
    s->mcr = 0x0b;
    s->lsr = UART_LSR_THRE | UART_LSR_TEMT;
    s->msr = 0xb0;
    s->iir = UART_IIR_NO_INT;
    s->ier = 0x01;
    s->fcr = UART_FCR_FE;
    s->recv_fifo.capacity = UART_FIFO_LENGTH;
    s->xmit_fifo.capacity = UART_FIFO_LENGTH;
    s->scr = (uint8_t)instance;
}

static void serial_tick(void *opaque, uint64_t tick, DeviceHeap *heap)
{
    SerialState *s = opaque;
    uint8_t c = (uint8_t)('a' + tick % 26);

    if (s->recv_fifo.num < UART_FIFO_LENGTH) {
        fifo8_push(&s->recv_fifo, c);
    } else {
        s->lsr |= UART_LSR_OE;
    }
    s->rx_total++;
    if (tick % 3 == 0) {
        for (int i = 0; i < 2 && s->recv_fifo.num; i++) {
            s->rbr = fifo8_pop(&s->recv_fifo);
        }
        s->lsr &= (uint8_t)~UART_LSR_OE;
    }
    if (s->recv_fifo.num) {
        s->lsr |= UART_LSR_DR;
        s->iir = UART_IIR_RDI;
    } else {
        s->lsr &= (uint8_t)~UART_LSR_DR;
        s->iir = UART_IIR_NO_INT;
    }
    s->thr_ipending = (tick % 5) == 0;
}

const DeviceType device_serial = {
    .name = "serial",
    .short_name = "serial",
    .default_count = 2,
    .vmsd = &vmstate_serial,
    .state_size = sizeof(SerialState),
    .init = serial_init,
    .tick = serial_tick,
};

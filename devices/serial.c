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
#include "qidl/qidl.h"
#include "vmscope/error.h"

#define UART_FIFO_LENGTH 16
#define UART_LSR_DR   0x01
#define UART_LSR_OE   0x02
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40
#define UART_FCR_FE   0x01
#define UART_IIR_NO_INT 0x01
#define UART_IIR_RDI  0x04

/*
 * The state, described once (docs/qidl.md): the generator makes
 * vmstate_Fifo8 and vmstate_SerialState from it.  The subsections travel
 * while their has_ flags are set; the tick keeps them.
 */
QIDL_DECLARE(Fifo8, q_name("Fifo8")) {
    uint8_t data[UART_FIFO_LENGTH];
    uint32_t capacity q_immutable;
    uint32_t head;
    uint32_t num;
};

QIDL_DECLARE(SerialState, q_name("serial") q_version(4) q_min_version(2)
             q_post_load(serial_post_load)) {
    uint16_t divider q_version(2);
    uint8_t rbr;
    uint8_t thr q_derived, tsr q_derived;   /* the transmitter: idle, rebuilt */
    uint8_t ier, iir, lcr, mcr, lsr, msr, scr;
    uint8_t fcr q_version(3);
    /* In the padding before thr_ipending: the state keeps its size (88 bytes). */
    bool has_thr_ipending, has_recv_fifo, has_xmit_fifo;
    int32_t thr_ipending q_optional;
    uint32_t tsr_retry q_derived;
    Fifo8 recv_fifo q_optional q_version(1);
    Fifo8 xmit_fifo q_optional q_version(1);
    uint64_t rx_total q_version(4) q_default(0);   /* vmscope: characters received */
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

#ifndef QIDL_GEN
#include "devices/serial.qidl.h"
#endif

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
    s->has_recv_fifo = s->has_xmit_fifo = (s->fcr & UART_FCR_FE) != 0;
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
    s->has_thr_ipending = s->thr_ipending != 0;
    s->has_recv_fifo = s->has_xmit_fifo = (s->fcr & UART_FCR_FE) != 0;
}

const DeviceType device_serial = {
    .name = "serial",
    .short_name = "serial",
    .default_count = 2,
    .vmsd = &vmstate_SerialState,
    .state_size = sizeof(SerialState),
    .init = serial_init,
    .tick = serial_tick,
};

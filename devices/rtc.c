/*
 * MC146818 real-time clock: 128 bytes of CMOS with the time registers in
 * BCD, described as QEMU's "mc146818rtc" (version 3).  The clock starts at
 * the host's UTC time and advances one second every ten ticks.
 */
#include "config.h"

#include <inttypes.h>
#include <time.h>

#include "devices.h"
#include "qidl/qidl.h"
#include "vmscope/error.h"

enum { RTC_SECONDS = 0, RTC_MINUTES = 2, RTC_HOURS = 4, RTC_DAY_OF_WEEK = 6,
       RTC_DAY_OF_MONTH = 7, RTC_MONTH = 8, RTC_YEAR = 9, RTC_REG_A = 10,
       RTC_REG_B = 11, RTC_REG_C = 12, RTC_REG_D = 13, RTC_CENTURY = 0x32 };

/*
 * The state, described once (docs/qidl.md): the generator makes
 * vmstate_RTCState from it.  The has_ flag says whether the subsection
 * travels; the tick keeps it.
 */
QIDL_DECLARE(RTCState, q_name("mc146818rtc") q_version(3) q_min_version(1)
             q_post_load(rtc_post_load)) {
    uint8_t cmos_data[128];
    uint8_t cmos_index;
    uint8_t unused[7 * 4] q_unused;        /* state of versions 1 and 2 */
    uint32_t period q_version(3);
    int64_t base_rtc q_version(3);         /* seconds since the epoch at init */
    int64_t last_update q_version(3);      /* seconds the clock has run */
    int64_t offset q_version(3);
    uint64_t next_alarm_time q_version(3);
    uint16_t irq_reinject_on_ack_count q_optional;
    bool has_irq_reinject_on_ack_count;
};

/* The clock is base_rtc + last_update seconds: keep both where time arithmetic works. */
#define RTC_TIME_MAX (INT64_C(1) << 40)
static bool rtc_post_load(void *opaque, int version_id, GError **errp)
{
    RTCState *s = opaque;
    if (s->base_rtc < 0 || s->base_rtc > RTC_TIME_MAX || s->last_update < 0 ||
        s->last_update > RTC_TIME_MAX) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_RANGE,
                    "mc146818rtc: base_rtc %" PRId64 " or last_update %" PRId64
                    " out of range (0 to %" PRId64 ")", s->base_rtc, s->last_update,
                    RTC_TIME_MAX);
        return false;
    }
    return true;
}

#ifndef QIDL_GEN
#include "devices/rtc.qidl.h"
#endif

static uint8_t to_bcd(int v)
{
    return (uint8_t)(((v / 10) << 4) | (v % 10));
}

static void rtc_set_time(RTCState *s)
{
    time_t t = (time_t)(s->base_rtc + s->last_update);
    struct tm tm;
    gmtime_r(&t, &tm);
    s->cmos_data[RTC_SECONDS] = to_bcd(tm.tm_sec);
    s->cmos_data[RTC_MINUTES] = to_bcd(tm.tm_min);
    s->cmos_data[RTC_HOURS] = to_bcd(tm.tm_hour);
    s->cmos_data[RTC_DAY_OF_WEEK] = to_bcd(tm.tm_wday + 1);
    s->cmos_data[RTC_DAY_OF_MONTH] = to_bcd(tm.tm_mday);
    s->cmos_data[RTC_MONTH] = to_bcd(tm.tm_mon + 1);
    s->cmos_data[RTC_YEAR] = to_bcd(tm.tm_year % 100);
    s->cmos_data[RTC_CENTURY] = to_bcd((tm.tm_year + 1900) / 100);
}

static void rtc_init(void *opaque, uint32_t instance, DeviceHeap *heap)
{
    RTCState *s = opaque;
    s->cmos_data[RTC_REG_A] = 0x26;
    s->cmos_data[RTC_REG_B] = 0x02;    /* 24-hour mode, BCD */
    s->cmos_data[RTC_REG_D] = 0x80;    /* valid RAM and time */
    s->period = 1024;
    s->base_rtc = (int64_t)time(NULL);
    rtc_set_time(s);
}

static void rtc_tick(void *opaque, uint64_t tick, DeviceHeap *heap)
{
    RTCState *s = opaque;
    if (tick % (1000 / DEVICE_TICK_MS) == 0) {
        s->last_update++;
        rtc_set_time(s);
        s->cmos_data[RTC_REG_C] ^= 0x10;           /* update-ended flag */
    }
    s->cmos_index = (uint8_t)(tick % 128);
    s->irq_reinject_on_ack_count = (uint16_t)(tick % 7 == 0 ? tick % 3 : 0);
    s->has_irq_reinject_on_ack_count = s->irq_reinject_on_ack_count != 0;
    s->next_alarm_time = (uint64_t)(s->base_rtc + s->last_update + 60);
}

const DeviceType device_rtc = {
    .name = "mc146818rtc",
    .short_name = "rtc",
    .default_count = 1,
    .vmsd = &vmstate_RTCState,
    .state_size = sizeof(RTCState),
    .init = rtc_init,
    .tick = rtc_tick,
};

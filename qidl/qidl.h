/*
 * QIDL: device state described once, by annotating the C struct that holds
 * it (after the QIDL RFC, QEMU 2012).  docs/qidl.md has the whole story.
 *
 *   QIDL_DECLARE(RTCState, q_name("mc146818rtc") q_version(3) q_min_version(1)
 *                q_post_load(rtc_post_load)) {
 *       uint8_t cmos_data[128];
 *       uint8_t cmos_index;
 *       uint8_t unused[28] q_unused;
 *       uint32_t period q_version(3);
 *       ...
 *       uint16_t irq_reinject_on_ack_count q_optional;
 *       bool has_irq_reinject_on_ack_count;
 *   };
 *   #include "rtc.qidl.h"        (generated: vmstate_RTCState)
 *
 * For the compiler every marker expands to nothing, so annotated C is plain
 * C.  The generator (qidl/qidl.c) parses the file with libclang and
 * -DQIDL_GEN: then each marker is an annotate attribute, "qidl:NAME" or
 * "qidl:NAME:ARGUMENT", that libclang reports on the struct or the field it
 * follows.
 *
 * Struct markers (the second argument of QIDL_DECLARE, separated by
 * spaces; without q_name the struct is a nested type, described under its
 * own C name):
 *   q_name("text")     the description's name, as in QEMU's stream
 *   q_version(N)       its version_id (default 1)
 *   q_min_version(N)   its minimum_version_id (default: the version)
 *   q_post_load(fn)    bool fn(void *opaque, int version_id, GError **errp)
 *
 * Field markers (after the field's name, before the ';'):
 *   q_immutable        set at creation, not migrated
 *   q_derived          recomputed after load (or never state), not migrated
 *   q_broken           not describable: the struct keeps a hand-written
 *                      description and the generator says so
 *   q_optional         a subsection "NAME/field", sent while the bool
 *                      has_<field> is set, which a load that finds it sets
 *                      (a field of an unnamed struct type puts that
 *                      struct's members in the subsection)
 *   q_size(f)          a counted array: its first f elements are state (f an
 *                      earlier migrated field: VARRAY; otherwise PARTIAL)
 *   q_version(N)       the field appeared in version N
 *   q_default(V)       the value the field takes when an older version loads
 *   q_equal            loading checks the stream's value equals this one
 *   q_unused           bytes that used to be state: zeros on the wire
 *   q_segptr(T, MAX)   a uint64_t segment offset to at most MAX elements of
 *                      type T (with q_size: how many are state)
 */
#ifndef VMSCOPE_QIDL_H
#define VMSCOPE_QIDL_H

#ifdef QIDL_GEN
#define QIDL_MARKER(text) __attribute__((annotate("qidl:" text)))
#else
#define QIDL_MARKER(text)
#endif

#define QIDL_DECLARE(name, ...) \
    typedef struct name name;   \
    struct QIDL_MARKER("declare") __VA_ARGS__ name

#define q_name(text)       QIDL_MARKER("name:" text)
#define q_version(n)       QIDL_MARKER("version:" #n)
#define q_min_version(n)   QIDL_MARKER("min_version:" #n)
#define q_post_load(fn)    QIDL_MARKER("post_load:" #fn)

#define q_immutable        QIDL_MARKER("immutable")
#define q_derived          QIDL_MARKER("derived")
#define q_broken           QIDL_MARKER("broken")
#define q_optional         QIDL_MARKER("optional")
#define q_size(field)      QIDL_MARKER("size:" #field)
#define q_default(value)   QIDL_MARKER("default:" #value)
#define q_equal            QIDL_MARKER("equal")
#define q_unused           QIDL_MARKER("unused")
#define q_segptr(type, max) QIDL_MARKER("segptr:" #type "," #max)

#endif

/*
 * The built-in field types, as data: one entry per type (see VMStateInfo in
 * include/vmscope/vmstate.h).  Descriptions name types by `name`, QEMU's
 * vmdesc by `vmdesc_name`; the engine calls `visit` for each element.
 * Adding a type: a VMStateType index and its entry below.
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "vmscope/error.h"
#include "vmscope/vmstate.h"
#include "vmstate-impl.h"

/* A byte, not a C bool: any value in a (hostile) state is safe to read. */
static bool visit_bool_elem(Visitor *v, const char *name, const VMStateInfo *info,
                            uint8_t *elem, size_t size, GError **errp)
{
    bool b = elem[0] != 0;
    if (!visit_type_bool(v, name, &b, errp)) {
        return false;
    }
    if (visit_is_input(v)) {
        elem[0] = b;
    }
    return true;
}

/* What `check` says about a loaded value, given the current one. */
static bool check_loaded(Visitor *v, const char *name, const VMStateInfo *info, bool is_signed,
                         uint64_t loaded, uint64_t current, GError **errp)
{
    bool ok;
    switch (info->check) {
    case VMSTATE_CHECK_NONE:
        return true;
    case VMSTATE_CHECK_EQUAL:
        ok = loaded == current;
        break;
    case VMSTATE_CHECK_LE:
        ok = is_signed ? (int64_t)loaded >= 0 && (int64_t)loaded <= (int64_t)current
                       : loaded <= current;
        break;
    default:
        g_assert_not_reached();
    }
    if (ok) {
        return true;
    }
    /* The numbers are written only for the error, off the path of every load. */
    char in[24], cur[24];
    g_snprintf(in, sizeof(in), is_signed ? "%" PRId64 : "%" PRIu64, loaded);
    g_snprintf(cur, sizeof(cur), is_signed ? "%" PRId64 : "%" PRIu64, current);
    if (info->check == VMSTATE_CHECK_EQUAL) {
        visit_error(v, name, errp, VMS_ERROR_INVALID,
                    "value %s in the input differs from the current value %s", in, cur);
    } else {
        visit_error(v, name, errp, VMS_ERROR_RANGE,
                    "value %s in the input is not between 0 and the current value %s", in, cur);
    }
    return false;
}

static bool visit_int_elem(Visitor *v, const char *name, const VMStateInfo *info,
                           uint8_t *elem, size_t size, GError **errp)
{
    unsigned bytes = visit_int_kind_bytes(info->int_kind);
    bool is_signed = visit_int_kind_signed(info->int_kind);
    uint64_t cur, val;

    if (is_signed) {
        int64_t s = vmstate_get_int(elem, bytes);
        cur = (uint64_t)s;
        if (!visit_type_int(v, name, info->int_kind, &s, errp)) {
            return false;
        }
        val = (uint64_t)s;
    } else {
        cur = val = vmstate_get_uint(elem, bytes);
        if (!visit_type_uint(v, name, info->int_kind, &val, errp)) {
            return false;
        }
    }
    if (!visit_is_input(v)) {
        return true;
    }
    if (!check_loaded(v, name, info, is_signed, val, cur, errp)) {
        return false;
    }
    if (info->check != VMSTATE_CHECK_EQUAL) {
        vmstate_put_uint(elem, bytes, val);
    }
    return true;
}

static bool visit_buffer_elem(Visitor *v, const char *name, const VMStateInfo *info,
                              uint8_t *elem, size_t size, GError **errp)
{
    return visit_type_buffer(v, name, elem, size, errp);
}

/* Zeros out, whatever in (and thrown away): there is no storage. */
static bool visit_unused_elem(Visitor *v, const char *name, const VMStateInfo *info,
                              uint8_t *elem, size_t size, GError **errp)
{
    g_autofree uint8_t *zeros = g_try_malloc0(size ? size : 1);
    if (!zeros) {
        visit_error(v, name, errp, VMS_ERROR_RANGE, "cannot allocate %zu unused bytes", size);
        return false;
    }
    return visit_type_buffer(v, name, zeros, size, errp);
}

static bool visit_null_elem(Visitor *v, const char *name, const VMStateInfo *info,
                            uint8_t *elem, size_t size, GError **errp)
{
    return visit_type_null(v, name, errp);
}

#define INT_CHECKED(n, vn, kind, bytes, chk) \
    { .name = n, .vmdesc_name = vn, .size = bytes, .flags = VMSTATE_INFO_INT, \
      .int_kind = kind, .check = chk, .visit = visit_int_elem }
#define INT(n, vn, kind, bytes) INT_CHECKED(n, vn, kind, bytes, VMSTATE_CHECK_NONE)
#define EQUAL(n, vn, kind, bytes) INT_CHECKED(n, vn, kind, bytes, VMSTATE_CHECK_EQUAL)

const VMStateInfo vmstate_types[VMSTATE_TYPE__MAX] = {
    [VMSTATE_TYPE_BOOL] = { .name = "bool", .vmdesc_name = "bool", .size = 1,
                            .visit = visit_bool_elem },
    [VMSTATE_TYPE_INT8] = INT("int8", "int8", VISIT_INT8, 1),
    [VMSTATE_TYPE_INT16] = INT("int16", "int16", VISIT_INT16, 2),
    [VMSTATE_TYPE_INT32] = INT("int32", "int32", VISIT_INT32, 4),
    [VMSTATE_TYPE_INT64] = INT("int64", "int64", VISIT_INT64, 8),
    [VMSTATE_TYPE_UINT8] = INT("uint8", "uint8", VISIT_UINT8, 1),
    [VMSTATE_TYPE_UINT16] = INT("uint16", "uint16", VISIT_UINT16, 2),
    [VMSTATE_TYPE_UINT32] = INT("uint32", "uint32", VISIT_UINT32, 4),
    [VMSTATE_TYPE_UINT64] = INT("uint64", "uint64", VISIT_UINT64, 8),
    [VMSTATE_TYPE_INT8_EQUAL] = EQUAL("int8_equal", "int8 equal", VISIT_INT8, 1),
    [VMSTATE_TYPE_INT16_EQUAL] = EQUAL("int16_equal", "int16 equal", VISIT_INT16, 2),
    [VMSTATE_TYPE_INT32_EQUAL] = EQUAL("int32_equal", "int32 equal", VISIT_INT32, 4),
    [VMSTATE_TYPE_INT64_EQUAL] = EQUAL("int64_equal", "int64 equal", VISIT_INT64, 8),
    [VMSTATE_TYPE_UINT8_EQUAL] = EQUAL("uint8_equal", "uint8 equal", VISIT_UINT8, 1),
    [VMSTATE_TYPE_UINT16_EQUAL] = EQUAL("uint16_equal", "uint16 equal", VISIT_UINT16, 2),
    [VMSTATE_TYPE_UINT32_EQUAL] = EQUAL("uint32_equal", "uint32 equal", VISIT_UINT32, 4),
    /* QEMU's vmstate_info_uint64_equal really is named "int64 equal". */
    [VMSTATE_TYPE_UINT64_EQUAL] = EQUAL("uint64_equal", "int64 equal", VISIT_UINT64, 8),
    [VMSTATE_TYPE_INT32_LE] = INT_CHECKED("int32_le", "int32 le", VISIT_INT32, 4,
                                          VMSTATE_CHECK_LE),
    [VMSTATE_TYPE_TIMER] = INT("timer", "timer", VISIT_INT64, 8),
    [VMSTATE_TYPE_BUFFER] = { .name = "buffer", .vmdesc_name = "buffer",
                              .visit = visit_buffer_elem },
    [VMSTATE_TYPE_UNUSED] = { .name = "unused", .vmdesc_name = "unused_buffer",
                              .flags = VMSTATE_INFO_NO_STATE, .visit = visit_unused_elem },
    [VMSTATE_TYPE_NULLPTR] = { .name = "nullptr", .vmdesc_name = "nullptr", .size = 1,
                               .flags = VMSTATE_INFO_NO_STATE, .visit = visit_null_elem },
    [VMSTATE_TYPE_STRUCT] = { .name = "struct", .vmdesc_name = "struct",
                              .flags = VMSTATE_INFO_STRUCT },
    [VMSTATE_TYPE_VSTRUCT] = { .name = "vstruct", .vmdesc_name = "vstruct",
                               .flags = VMSTATE_INFO_STRUCT | VMSTATE_INFO_INLINE },
    [VMSTATE_TYPE_TMP] = { .name = "tmp", .vmdesc_name = "tmp",
                           .flags = VMSTATE_INFO_STRUCT | VMSTATE_INFO_INLINE },
};

const VMStateInfo *vmstate_info_find(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(vmstate_types); i++) {
        if (strcmp(vmstate_types[i].name, name) == 0) {
            return &vmstate_types[i];
        }
    }
    return NULL;
}

/* The first of equal names wins: QEMU's "int64 equal" reads as int64_equal. */
const VMStateInfo *vmstate_info_find_vmdesc(const char *vmdesc_name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(vmstate_types); i++) {
        if (strcmp(vmstate_types[i].vmdesc_name, vmdesc_name) == 0) {
            return &vmstate_types[i];
        }
    }
    return NULL;
}

const VMStateInfo *vmstate_info_int(VisitIntKind kind)
{
    return &vmstate_types[VMSTATE_TYPE_INT8 + (int)kind];
}

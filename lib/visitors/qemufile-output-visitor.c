/*
 * QEMUFile output visitor: appends QEMU's migration-stream encoding of each
 * visited value to a ByteWriter.  See include/vmscope/qemufile-visitor.h.
 */
#include "config.h"

#include <string.h>

#include "vmscope/qemufile-visitor.h"
#include "vmscope/trace-usdt.h"
#include "visitor-impl.h"

typedef struct QemuFileOutputVisitor {
    Visitor visitor;
    ByteWriter *w;
} QemuFileOutputVisitor;

static ByteWriter *writer(Visitor *v)
{
    return ((QemuFileOutputVisitor *)v)->w;
}

static void put_be(ByteWriter *w, uint64_t value, unsigned bytes)
{
    switch (bytes) {
    case 1: byte_writer_u8(w, (uint8_t)value); break;
    case 2: byte_writer_be16(w, (uint16_t)value); break;
    case 4: byte_writer_be32(w, (uint32_t)value); break;
    default: byte_writer_be64(w, value); break;
    }
}

static bool qfo_start_struct(Visitor *v, const char *name, VisitStructInfo *info, GError **errp)
{
    if (!info || info->kind != VISIT_STRUCT_SUBSECTION) {
        return true;                    /* structs have no framing */
    }
    size_t len = strlen(info->vmsd_name);
    if (len > UINT8_MAX) {
        visit_error(v, name, errp, VMS_ERROR_RANGE,
                    "subsection name '%s' is longer than 255 bytes", info->vmsd_name);
        return false;
    }
    ByteWriter *w = writer(v);
    vms_usdt_put_subsection_header(len);
    byte_writer_u8(w, QEMUFILE_VM_SUBSECTION);
    byte_writer_u8(w, (uint8_t)len);
    byte_writer_write(w, info->vmsd_name, len);
    byte_writer_be32(w, (uint32_t)info->version_id);
    return true;
}

static void qfo_end(Visitor *v)
{
}

static bool qfo_start_list(Visitor *v, const char *name, size_t *len, GError **errp)
{
    return true;                        /* no count on the wire */
}

static bool qfo_type_bool(Visitor *v, const char *name, bool *obj, GError **errp)
{
    vms_usdt_put(VMS_USDT_QEMU_PUT_BYTE, 1);
    byte_writer_u8(writer(v), *obj ? 1 : 0);
    return true;
}

static bool qfo_type_int(Visitor *v, const char *name, VisitIntKind kind, int64_t *obj,
                         GError **errp)
{
    vms_usdt_put_be(visit_int_kind_bytes(kind));
    put_be(writer(v), (uint64_t)*obj, visit_int_kind_bytes(kind));
    return true;
}

static bool qfo_type_uint(Visitor *v, const char *name, VisitIntKind kind, uint64_t *obj,
                          GError **errp)
{
    vms_usdt_put_be(visit_int_kind_bytes(kind));
    put_be(writer(v), *obj, visit_int_kind_bytes(kind));
    return true;
}

static bool qfo_type_str(Visitor *v, const char *name, char **obj, GError **errp)
{
    const char *s = *obj ? *obj : "";
    size_t len = strlen(s);
    if (len > UINT8_MAX) {
        visit_error(v, name, errp, VMS_ERROR_RANGE,
                    "string of %zu bytes does not fit a counted string (255 at most)", len);
        return false;
    }
    vms_usdt_put(VMS_USDT_QEMU_PUT_COUNTED_STRING, 1 + len);
    byte_writer_u8(writer(v), (uint8_t)len);
    byte_writer_write(writer(v), s, len);
    return true;
}

static bool qfo_type_number(Visitor *v, const char *name, double *obj, GError **errp)
{
    uint64_t bits;
    memcpy(&bits, obj, sizeof(bits));
    vms_usdt_put(VMS_USDT_QEMU_PUT_BE64, 8);
    byte_writer_be64(writer(v), bits);
    return true;
}

static bool qfo_type_buffer(Visitor *v, const char *name, uint8_t *buf, size_t len,
                            GError **errp)
{
    vms_usdt_put(VMS_USDT_QEMU_PUT_BUFFER, len);
    byte_writer_write(writer(v), buf, len);
    return true;
}

static bool qfo_type_null(Visitor *v, const char *name, GError **errp)
{
    vms_usdt_put(VMS_USDT_QEMU_PUT_BYTE, 1);
    byte_writer_u8(writer(v), QEMUFILE_NULLPTR_MARKER);
    return true;
}

Visitor *qemufile_output_visitor_new(ByteWriter *w)
{
    QemuFileOutputVisitor *qfo = g_new0(QemuFileOutputVisitor, 1);
    Visitor *v = &qfo->visitor;
    visitor_init(v, VISITOR_OUTPUT);
    v->start_struct = qfo_start_struct;
    v->end_struct = qfo_end;
    v->start_list = qfo_start_list;
    v->end_list = qfo_end;
    v->type_bool = qfo_type_bool;
    v->type_int = qfo_type_int;
    v->type_uint = qfo_type_uint;
    v->type_str = qfo_type_str;
    v->type_number = qfo_type_number;
    v->type_buffer = qfo_type_buffer;
    v->type_null = qfo_type_null;
    qfo->w = w;
    return v;
}

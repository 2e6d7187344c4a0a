/*
 * QEMUFile input visitor: reads values in QEMU's migration-stream encoding
 * from a ByteReader.  See include/vmscope/qemufile-visitor.h.
 *
 * The format has no framing, so the only decisions this visitor makes are
 * about subsections, and it makes them the way QEMU's
 * vmstate_subsection_load() does: peek, and only treat what follows as a
 * subsection if it looks like one of the enclosing description's.
 */
#include "config.h"

#include <inttypes.h>
#include <limits.h>
#include <string.h>

#include "vmscope/qemufile-visitor.h"
#include "vmscope/trace-usdt.h"
#include "visitor-impl.h"

typedef struct Frame {
    char *vmsd_name;        /* the description this struct belongs to, or NULL */
    GPtrArray *seen;        /* subsections read in this struct (names) */
} Frame;

typedef struct QemuFileInputVisitor {
    Visitor visitor;
    ByteReader *r;
    GArray *frames;         /* of Frame, one per open struct */
} QemuFileInputVisitor;

static QemuFileInputVisitor *to_qfi(Visitor *v)
{
    return (QemuFileInputVisitor *)v;
}

static void frame_clear(gpointer p)
{
    Frame *f = p;
    g_free(f->vmsd_name);
    g_ptr_array_unref(f->seen);
}

static Frame *top_frame(QemuFileInputVisitor *qfi)
{
    return qfi->frames->len ? &g_array_index(qfi->frames, Frame, qfi->frames->len - 1) : NULL;
}

/* A ByteReader error (it has the offset), located at the member `name` too. */
static bool fail(Visitor *v, const char *name, GError *local, GError **errp)
{
    return visit_error_propagate(v, name, local, errp);
}

static bool get_be(Visitor *v, const char *name, unsigned bytes, uint64_t *out, GError **errp)
{
    ByteReader *r = to_qfi(v)->r;
    GError *local = NULL;
    bool ok;
    switch (bytes) {
    case 1: {
        uint8_t b;
        ok = byte_reader_u8(r, &b, &local);
        *out = b;
        break;
    }
    case 2: {
        uint16_t w;
        ok = byte_reader_be16(r, &w, &local);
        *out = w;
        break;
    }
    case 4: {
        uint32_t w;
        ok = byte_reader_be32(r, &w, &local);
        *out = w;
        break;
    }
    default:
        ok = byte_reader_be64(r, out, &local);
        break;
    }
    return ok ? true : fail(v, name, local, errp);
}

/*
 * QEMU's test for "a subsection of `parent` follows": 0x05, a length byte
 * of at least strlen(parent) + 1, and that many name bytes (all present)
 * starting with `parent`.  On success copies the name (NUL-terminated) to
 * name[256].  Reads nothing.
 */
static bool peek_subsection(const ByteReader *r, const char *parent, char name[256])
{
    uint8_t mark, len;
    size_t plen = strlen(parent);
    if (!byte_reader_peek(r, 0, &mark) || mark != QEMUFILE_VM_SUBSECTION ||
        !byte_reader_peek(r, 1, &len) || len < plen + 1) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        uint8_t c;
        if (!byte_reader_peek(r, 2 + i, &c)) {
            return false;
        }
        name[i] = (char)c;
    }
    name[len] = '\0';
    return memcmp(name, parent, plen) == 0;
}

static const char *parent_name(QemuFileInputVisitor *qfi)
{
    Frame *f = top_frame(qfi);
    return f && f->vmsd_name ? f->vmsd_name : "";
}

static bool qfi_optional(Visitor *v, const char *name, bool *present)
{
    QemuFileInputVisitor *qfi = to_qfi(v);
    char found[256];
    *present = peek_subsection(qfi->r, parent_name(qfi), found) && strcmp(found, name) == 0;
    return *present;
}

static bool read_subsection_header(Visitor *v, const char *name, VisitStructInfo *info,
                                   GError **errp)
{
    ByteReader *r = to_qfi(v)->r;
    uint64_t at = byte_reader_offset(r);
    uint64_t mark, len, version;
    const uint8_t *idstr;
    GError *local = NULL;

    if (!get_be(v, name, 1, &mark, errp)) {
        return false;
    }
    if (mark != QEMUFILE_VM_SUBSECTION) {
        visit_error_at(v, name, at, errp, VMS_ERROR_INVALID,
                       "expected a subsection (0x05), found 0x%02x", (unsigned)mark);
        return false;
    }
    if (!get_be(v, name, 1, &len, errp)) {
        return false;
    }
    uint64_t name_at = byte_reader_offset(r);
    if (!byte_reader_take(r, len, &idstr, &local)) {
        return fail(v, name, local, errp);
    }
    if (len != strlen(info->vmsd_name) || memcmp(idstr, info->vmsd_name, len) != 0) {
        g_autofree char *found = bytes_to_text(idstr, len);
        visit_error_at(v, name, name_at, errp, VMS_ERROR_INVALID,
                       "expected subsection '%s', found '%s'", info->vmsd_name, found);
        return false;
    }
    uint64_t version_at = byte_reader_offset(r);
    if (!get_be(v, name, 4, &version, errp)) {
        return false;
    }
    if (version > INT_MAX) {
        visit_error_at(v, name, version_at, errp, VMS_ERROR_VERSION,
                       "subsection version %" PRIu64 " out of range", version);
        return false;
    }
    vms_usdt_get_subsection_header(len);
    info->version_id = (int)version;
    return true;
}

static bool qfi_start_struct(Visitor *v, const char *name, VisitStructInfo *info, GError **errp)
{
    QemuFileInputVisitor *qfi = to_qfi(v);
    if (info && info->kind == VISIT_STRUCT_SUBSECTION) {
        if (!read_subsection_header(v, name, info, errp)) {
            return false;
        }
        Frame *parent = top_frame(qfi);
        if (parent) {
            g_ptr_array_add(parent->seen, g_strdup(info->vmsd_name));
        }
    }
    Frame f = {
        .vmsd_name = info && info->kind != VISIT_STRUCT_PLAIN ? g_strdup(info->vmsd_name) : NULL,
        .seen = g_ptr_array_new_with_free_func(g_free),
    };
    g_array_append_val(qfi->frames, f);
    return true;
}

static bool seen_before(const Frame *f, const char *name)
{
    for (guint i = 0; i < f->seen->len; i++) {
        if (strcmp(g_ptr_array_index(f->seen, i), name) == 0) {
            return true;
        }
    }
    return false;
}

/* A subsection of this description that nobody asked for is an error. */
static bool qfi_check_struct(Visitor *v, GError **errp)
{
    QemuFileInputVisitor *qfi = to_qfi(v);
    Frame *f = top_frame(qfi);
    char found[256];
    if (!f || !f->vmsd_name || !peek_subsection(qfi->r, f->vmsd_name, found)) {
        return true;
    }
    bool dup = seen_before(f, found);
    g_autofree char *shown = bytes_to_text((const uint8_t *)found, strlen(found));
    visit_error_at(v, NULL, byte_reader_offset(qfi->r), errp,
                   dup ? VMS_ERROR_EXTRA : VMS_ERROR_NOT_FOUND, "%s subsection '%s'",
                   dup ? "duplicate" : "unknown", shown);
    return false;
}

static void qfi_end_struct(Visitor *v)
{
    QemuFileInputVisitor *qfi = to_qfi(v);
    g_array_set_size(qfi->frames, qfi->frames->len - 1);
}

static bool qfi_start_list(Visitor *v, const char *name, size_t *len, GError **errp)
{
    if (*len == VISIT_LEN_UNKNOWN) {
        visit_error(v, name, errp, VMS_ERROR_INVALID,
                    "the QEMU format carries no list lengths: the length must be given");
        return false;
    }
    return true;
}

static void qfi_end_list(Visitor *v)
{
}

static bool qfi_type_bool(Visitor *v, const char *name, bool *obj, GError **errp)
{
    uint64_t at = byte_reader_offset(to_qfi(v)->r);
    uint64_t b;
    vms_usdt_get(VMS_USDT_QEMU_GET_BYTE, 1);
    if (!get_be(v, name, 1, &b, errp)) {
        return false;
    }
    if (b > 1) {
        visit_error_at(v, name, at, errp, VMS_ERROR_INVALID, "invalid bool value %" PRIu64, b);
        return false;
    }
    *obj = b;
    return true;
}

static bool qfi_type_int(Visitor *v, const char *name, VisitIntKind kind, int64_t *obj,
                         GError **errp)
{
    unsigned bytes = visit_int_kind_bytes(kind);
    uint64_t raw;
    vms_usdt_get_be(bytes);
    if (!get_be(v, name, bytes, &raw, errp)) {
        return false;
    }
    if (bytes < 8 && (raw >> (8 * bytes - 1))) {
        raw |= ~UINT64_C(0) << (8 * bytes);     /* sign-extend */
    }
    *obj = (int64_t)raw;
    return true;
}

static bool qfi_type_uint(Visitor *v, const char *name, VisitIntKind kind, uint64_t *obj,
                          GError **errp)
{
    vms_usdt_get_be(visit_int_kind_bytes(kind));
    return get_be(v, name, visit_int_kind_bytes(kind), obj, errp);
}

static bool qfi_type_str(Visitor *v, const char *name, char **obj, GError **errp)
{
    ByteReader *r = to_qfi(v)->r;
    uint64_t len;
    const uint8_t *p;
    GError *local = NULL;
    if (!get_be(v, name, 1, &len, errp)) {
        return false;
    }
    vms_usdt_get(VMS_USDT_QEMU_GET_COUNTED_STRING, 1 + len);
    uint64_t at = byte_reader_offset(r);
    if (!byte_reader_take(r, len, &p, &local)) {
        return fail(v, name, local, errp);
    }
    if (memchr(p, '\0', len)) {
        visit_error_at(v, name, at, errp, VMS_ERROR_INVALID, "string contains a NUL byte");
        return false;
    }
    *obj = g_strndup((const char *)p, len);
    return true;
}

static bool qfi_type_number(Visitor *v, const char *name, double *obj, GError **errp)
{
    uint64_t bits;
    vms_usdt_get(VMS_USDT_QEMU_GET_BE64, 8);
    if (!get_be(v, name, 8, &bits, errp)) {
        return false;
    }
    memcpy(obj, &bits, sizeof(bits));
    return true;
}

static bool qfi_type_buffer(Visitor *v, const char *name, uint8_t *buf, size_t len,
                            GError **errp)
{
    GError *local = NULL;
    vms_usdt_get(VMS_USDT_QEMU_GET_BUFFER, len);
    if (!byte_reader_read(to_qfi(v)->r, buf, len, &local)) {
        return fail(v, name, local, errp);
    }
    return true;
}

/* QEMU's VMS_NULLPTR_MARKER: an array-of-pointers element that is NULL. */
static bool qfi_type_null(Visitor *v, const char *name, GError **errp)
{
    uint64_t at = byte_reader_offset(to_qfi(v)->r);
    uint64_t b;
    vms_usdt_get(VMS_USDT_QEMU_GET_BYTE, 1);
    if (!get_be(v, name, 1, &b, errp)) {
        return false;
    }
    if (b != QEMUFILE_NULLPTR_MARKER) {
        visit_error_at(v, name, at, errp, VMS_ERROR_INVALID,
                       "null pointer marker is 0x%02x, expected 0x%02x", (unsigned)b,
                       QEMUFILE_NULLPTR_MARKER);
        return false;
    }
    return true;
}

static void qfi_free(Visitor *v)
{
    g_array_free(to_qfi(v)->frames, TRUE);
}

Visitor *qemufile_input_visitor_new(ByteReader *r)
{
    QemuFileInputVisitor *qfi = g_new0(QemuFileInputVisitor, 1);
    Visitor *v = &qfi->visitor;
    visitor_init(v, VISITOR_INPUT);
    v->start_struct = qfi_start_struct;
    v->check_struct = qfi_check_struct;
    v->end_struct = qfi_end_struct;
    v->start_list = qfi_start_list;
    v->end_list = qfi_end_list;
    v->optional = qfi_optional;
    v->type_bool = qfi_type_bool;
    v->type_int = qfi_type_int;
    v->type_uint = qfi_type_uint;
    v->type_str = qfi_type_str;
    v->type_number = qfi_type_number;
    v->type_buffer = qfi_type_buffer;
    v->type_null = qfi_type_null;
    v->free = qfi_free;
    qfi->r = r;
    qfi->frames = g_array_new(FALSE, TRUE, sizeof(Frame));
    g_array_set_clear_func(qfi->frames, frame_clear);
    return v;
}

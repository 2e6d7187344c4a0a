/*
 * Visitor core: dispatch to the implementation, the field path, integer
 * range checks.  The contract is in include/vmscope/visitor.h.
 */
#include "config.h"

#include <inttypes.h>

#include "visitor-impl.h"
#include "vmscope/trace-usdt.h"

typedef struct Frame {
    char *name;         /* member name that opened this struct/list (may be NULL) */
    bool is_list;
    size_t index;       /* lists: element being visited; SIZE_MAX before the first */
} Frame;

static const struct {
    const char *name;
    unsigned bytes;
    bool is_signed;
    int64_t min;
    uint64_t max;
} int_kinds[] = {
    [VISIT_INT8]   = { "int8",   1, true,  INT8_MIN,  INT8_MAX },
    [VISIT_INT16]  = { "int16",  2, true,  INT16_MIN, INT16_MAX },
    [VISIT_INT32]  = { "int32",  4, true,  INT32_MIN, INT32_MAX },
    [VISIT_INT64]  = { "int64",  8, true,  INT64_MIN, INT64_MAX },
    [VISIT_UINT8]  = { "uint8",  1, false, 0, UINT8_MAX },
    [VISIT_UINT16] = { "uint16", 2, false, 0, UINT16_MAX },
    [VISIT_UINT32] = { "uint32", 4, false, 0, UINT32_MAX },
    [VISIT_UINT64] = { "uint64", 8, false, 0, UINT64_MAX },
};

const char *visit_int_kind_name(VisitIntKind kind) { return int_kinds[kind].name; }
unsigned visit_int_kind_bytes(VisitIntKind kind) { return int_kinds[kind].bytes; }
bool visit_int_kind_signed(VisitIntKind kind) { return int_kinds[kind].is_signed; }

static void frame_clear(gpointer p)
{
    g_free(((Frame *)p)->name);
}

void visitor_init(Visitor *v, VisitorType type)
{
    v->type = type;
    v->frames = g_array_new(FALSE, TRUE, sizeof(Frame));
    g_array_set_clear_func(v->frames, frame_clear);
}

VisitorType visit_type(const Visitor *v) { return v->type; }

size_t visit_depth(const Visitor *v) { return v->frames->len; }

bool visit_in_list(const Visitor *v, size_t *index)
{
    if (v->frames->len == 0) {
        return false;
    }
    const Frame *top = &g_array_index(v->frames, Frame, v->frames->len - 1);
    if (!top->is_list) {
        return false;
    }
    if (index) {
        *index = top->index;
    }
    return true;
}

/* Append the label of a child named `name` of frame `parent` (NULL: top). */
static void path_append(GString *s, const Frame *parent, const char *name)
{
    if (parent && parent->is_list) {
        if (parent->index == SIZE_MAX) {
            g_string_append(s, "[]");
        } else {
            g_string_append_printf(s, "[%zu]", parent->index);
        }
    } else if (name) {
        if (s->len) {
            g_string_append_c(s, '.');
        }
        g_string_append(s, name);
    }
}

char *visit_path(const Visitor *v, const char *name)
{
    GString *s = g_string_new(NULL);
    const Frame *parent = NULL;
    for (guint i = 0; i < v->frames->len; i++) {
        const Frame *f = &g_array_index(v->frames, Frame, i);
        path_append(s, parent, f->name);
        parent = f;
    }
    path_append(s, parent, name);
    return g_string_free(s, FALSE);
}

static void error_va(const Visitor *v, const char *name, uint64_t offset, GError **errp,
                     VmsErrorCode code, const char *fmt, va_list ap) G_GNUC_PRINTF(6, 0);
static void error_va(const Visitor *v, const char *name, uint64_t offset, GError **errp,
                     VmsErrorCode code, const char *fmt, va_list ap)
{
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    g_autofree char *path = visit_path(v, name);
    vms_error_set_at(errp, code, offset, NULL, path, "%s", msg);
}

void visit_error(const Visitor *v, const char *name, GError **errp, VmsErrorCode code,
                 const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_va(v, name, VMS_NO_OFFSET, errp, code, fmt, ap);
    va_end(ap);
}

void visit_error_at(const Visitor *v, const char *name, uint64_t offset, GError **errp,
                    VmsErrorCode code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_va(v, name, offset, errp, code, fmt, ap);
    va_end(ap);
}

bool visit_error_propagate(const Visitor *v, const char *name, GError *err, GError **errp)
{
    g_autofree char *path = visit_path(v, name);
    vms_error_locate(err, VMS_NO_OFFSET, NULL, path);
    g_propagate_error(errp, err);
    return false;
}

static void push(Visitor *v, const char *name, bool is_list)
{
    Frame f = { .name = g_strdup(name), .is_list = is_list, .index = SIZE_MAX };
    g_array_append_val(v->frames, f);
}

static void pop(Visitor *v)
{
    g_assert(v->frames->len > 0);
    g_array_set_size(v->frames, v->frames->len - 1);
}

bool visit_start_struct(Visitor *v, const char *name, VisitStructInfo *info, GError **errp)
{
    vms_usdt_visit(VMS_USDT_VISIT_START_STRUCT, name);
    if (!v->start_struct(v, name, info, errp)) {
        return false;
    }
    push(v, name, false);
    return true;
}

bool visit_check_struct(Visitor *v, GError **errp)
{
    return v->check_struct ? v->check_struct(v, errp) : true;
}

void visit_end_struct(Visitor *v)
{
    vms_usdt_visit(VMS_USDT_VISIT_END_STRUCT, NULL);
    v->end_struct(v);
    pop(v);
}

bool visit_start_list(Visitor *v, const char *name, size_t *len, GError **errp)
{
    vms_usdt_visit(VMS_USDT_VISIT_START_LIST, name);
    g_assert(v->type == VISITOR_INPUT || *len != VISIT_LEN_UNKNOWN);
    if (!v->start_list(v, name, len, errp)) {
        return false;
    }
    push(v, name, true);
    return true;
}

void visit_next_list(Visitor *v)
{
    g_assert(v->frames->len > 0);
    Frame *top = &g_array_index(v->frames, Frame, v->frames->len - 1);
    g_assert(top->is_list);
    top->index = top->index == SIZE_MAX ? 0 : top->index + 1;
    if (v->next_list) {
        v->next_list(v, top->index);
    }
}

bool visit_check_list(Visitor *v, GError **errp)
{
    return v->check_list ? v->check_list(v, errp) : true;
}

void visit_end_list(Visitor *v)
{
    vms_usdt_visit(VMS_USDT_VISIT_END_LIST, NULL);
    v->end_list(v);
    pop(v);
}

bool visit_optional(Visitor *v, const char *name, bool *present)
{
    if (!v->optional) {
        g_assert(v->type == VISITOR_OUTPUT);
        return *present;
    }
    return v->optional(v, name, present);
}

bool visit_type_bool(Visitor *v, const char *name, bool *obj, GError **errp)
{
    vms_usdt_visit(VMS_USDT_VISIT_TYPE_BOOL, name);
    return v->type_bool(v, name, obj, errp);
}

bool visit_type_int(Visitor *v, const char *name, VisitIntKind kind, int64_t *obj, GError **errp)
{
    vms_usdt_visit(VMS_USDT_VISIT_TYPE_INT8 + kind, name);
    g_assert(int_kinds[kind].is_signed);
    int64_t value = *obj;
    if (!v->type_int(v, name, kind, &value, errp)) {
        return false;
    }
    if (v->type == VISITOR_INPUT && (value < int_kinds[kind].min ||
                                     value > (int64_t)int_kinds[kind].max)) {
        visit_error(v, name, errp, VMS_ERROR_RANGE, "value %" PRId64 " out of range for %s",
                    value, int_kinds[kind].name);
        return false;
    }
    *obj = value;
    return true;
}

bool visit_type_uint(Visitor *v, const char *name, VisitIntKind kind, uint64_t *obj, GError **errp)
{
    vms_usdt_visit(VMS_USDT_VISIT_TYPE_INT8 + kind, name);
    g_assert(!int_kinds[kind].is_signed);
    uint64_t value = *obj;
    if (!v->type_uint(v, name, kind, &value, errp)) {
        return false;
    }
    if (v->type == VISITOR_INPUT && value > int_kinds[kind].max) {
        visit_error(v, name, errp, VMS_ERROR_RANGE, "value %" PRIu64 " out of range for %s",
                    value, int_kinds[kind].name);
        return false;
    }
    *obj = value;
    return true;
}

#define DEFINE_VISIT_INT(ctype, kind, wide, fn)                                  \
    bool visit_type_##ctype(Visitor *v, const char *name, ctype##_t *obj,        \
                            GError **errp)                                       \
    {                                                                            \
        wide value = *obj;                                                       \
        if (!fn(v, name, kind, &value, errp)) {                                  \
            return false;                                                        \
        }                                                                        \
        *obj = (ctype##_t)value;                                                 \
        return true;                                                             \
    }

DEFINE_VISIT_INT(int8, VISIT_INT8, int64_t, visit_type_int)
DEFINE_VISIT_INT(int16, VISIT_INT16, int64_t, visit_type_int)
DEFINE_VISIT_INT(int32, VISIT_INT32, int64_t, visit_type_int)
DEFINE_VISIT_INT(int64, VISIT_INT64, int64_t, visit_type_int)
DEFINE_VISIT_INT(uint8, VISIT_UINT8, uint64_t, visit_type_uint)
DEFINE_VISIT_INT(uint16, VISIT_UINT16, uint64_t, visit_type_uint)
DEFINE_VISIT_INT(uint32, VISIT_UINT32, uint64_t, visit_type_uint)
DEFINE_VISIT_INT(uint64, VISIT_UINT64, uint64_t, visit_type_uint)

bool visit_type_str(Visitor *v, const char *name, char **obj, GError **errp)
{
    vms_usdt_visit(VMS_USDT_VISIT_TYPE_STR, name);
    return v->type_str(v, name, obj, errp);
}

bool visit_type_number(Visitor *v, const char *name, double *obj, GError **errp)
{
    vms_usdt_visit(VMS_USDT_VISIT_TYPE_NUMBER, name);
    return v->type_number(v, name, obj, errp);
}

bool visit_type_buffer(Visitor *v, const char *name, uint8_t *buf, size_t len, GError **errp)
{
    vms_usdt_visit(VMS_USDT_VISIT_TYPE_BUFFER, name);
    return v->type_buffer(v, name, buf, len, errp);
}

bool visit_type_null(Visitor *v, const char *name, GError **errp)
{
    return v->type_null(v, name, errp);
}

void visit_free(Visitor *v)
{
    if (!v) {
        return;
    }
    if (v->free) {
        v->free(v);
    }
    g_array_free(v->frames, TRUE);
    g_free(v);
}

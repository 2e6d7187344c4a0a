/*
 * Editing a parsed stream in place: qemu_stream_set() (see "Field paths" in
 * include/vmscope/qemu-stream.h) goes through the VMState engine, as
 * everything else does.  The section's state, as loaded, is saved again
 * through the QEMUFile output visitor while the walk's hooks look for the
 * field by its path and note the bytes it writes; the value is read into the
 * field by its type's visit function from a string input visitor (so it is
 * checked like any input); the state is saved once more, and the new payload
 * must differ from the old one in the field's bytes only.
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "qemu-stream-impl.h"
#include "vmscope/error.h"
#include "vmscope/qemufile-visitor.h"
#include "vmscope/string-visitor.h"

#define NOT_FOUND SIZE_MAX

/*
 * A number after `sep` at *p ("serial:1", "slirp#2"): *value and *p moved
 * past it; nothing there: 0, *p unchanged.
 */
static bool section_suffix(const char **p, char sep, const char *what, const char *path,
                           guint64 *value, GError **errp)
{
    *value = 0;
    if (**p != sep) {
        return true;
    }
    size_t digits = strspn(*p + 1, "0123456789");
    g_autofree char *number = g_strndup(*p + 1, digits);
    if (!digits || !g_ascii_string_to_unsigned(number, 10, 0, UINT32_MAX, value, NULL)) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "%s: expected %s after '%c'", path,
                    what, sep);
        return false;
    }
    *p += 1 + digits;
    return true;
}

/*
 * The device section a path starts with: the longest idstr followed by '.',
 * ':', '#' or the end, then ":N" for instance N (0 when absent), then "#K"
 * for the K-th section of that idstr and instance (0 when absent).  *rest
 * is set to the field part.
 */
static size_t resolve_section(QemuStream *s, const char *path, const char **rest,
                              GError **errp)
{
    size_t best_len = 0;
    bool found = false;
    for (size_t i = 0; i < s->sections->len; i++) {
        const QemuStreamSection *sec = g_ptr_array_index(s->sections, i);
        size_t len = strlen(sec->name);
        if (sec->type == QEMU_VM_SECTION_FULL && len >= best_len &&
            strncmp(path, sec->name, len) == 0 && strchr(".:#", path[len])) {
            best_len = len;
            found = true;
        }
    }
    if (!found) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_NOT_FOUND, "%s: no device section of that name",
                    path);
        return NOT_FOUND;
    }
    const char *p = path + best_len;
    guint64 instance, occurrence;
    if (!section_suffix(&p, ':', "an instance number", path, &instance, errp) ||
        !section_suffix(&p, '#', "a section number", path, &occurrence, errp)) {
        return NOT_FOUND;
    }
    size_t count = 0;
    for (size_t i = 0; i < s->sections->len; i++) {
        QemuStreamSection *c = g_ptr_array_index(s->sections, i);
        if (c->type != QEMU_VM_SECTION_FULL || c->instance_id != instance ||
            strlen(c->name) != best_len || strncmp(path, c->name, best_len) != 0) {
            continue;
        }
        if (c->occurrence != occurrence) {
            count++;
            continue;
        }
        if (*p != '.' || p[1] == '\0') {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                        "%s: names a section, not a field (SECTION.FIELD)", path);
            return NOT_FOUND;
        }
        *rest = p + 1;
        return i;
    }
    if (count) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_NOT_FOUND, "%s: section '%.*s' instance %"
                    G_GUINT64_FORMAT " has no #%" G_GUINT64_FORMAT ": the stream has %zu of"
                    " them", path, (int)best_len, path, instance, occurrence, count);
    } else {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_NOT_FOUND, "%s: section '%.*s' has no instance %"
                    G_GUINT64_FORMAT, path, (int)best_len, path, instance);
    }
    return NOT_FOUND;
}

/* ---- finding a field by its path, in a walk ---- */

typedef enum Found {
    FOUND_NOTHING,
    FOUND_VALUE,
    FOUND_STRUCT,
    FOUND_LIST,
    FOUND_NULL,
} Found;

typedef struct Locate {
    Visitor *v;                 /* the walk's output visitor, for paths */
    const ByteWriter *w;        /* what it wrote, for the field's bytes */
    const char *target;         /* the field's path in the section */
    const char *name;           /* the field being walked: its visit name */
    bool is_list;               /* ...and whether it is a list */
    Found found;
    bool inside;                /* between the found element's begin and end */
    const VMStateField *run;    /* FOUND_VALUE: the element's field, */
    uint8_t *elem;              /* where it is in the state, */
    size_t start, end;          /* and its bytes in the payload */
} Locate;

static bool is_target(Locate *loc, const char *name)
{
    if (loc->found != FOUND_NOTHING) {
        return false;
    }
    g_autofree char *path = visit_path(loc->v, name);
    return strcmp(path, loc->target) == 0;
}

static bool locate_enter(void *opaque, const VMStateDescription *vmsd, VisitStructKind kind,
                         int version_id, GError **errp)
{
    Locate *loc = opaque;
    if (kind == VISIT_STRUCT_SUBSECTION && is_target(loc, NULL)) {
        loc->found = FOUND_STRUCT;
    }
    return true;
}

static bool locate_field(void *opaque, const VMStateField *f, const char *name, bool is_list,
                         size_t n, GError **errp)
{
    Locate *loc = opaque;
    loc->name = name;
    loc->is_list = is_list;
    if (is_list && is_target(loc, name)) {
        loc->found = FOUND_LIST;
    }
    return true;
}

static bool locate_element(void *opaque, const VMStateField *f, const VMStateField *run,
                           size_t index, size_t n, uint8_t *elem, bool end, GError **errp)
{
    Locate *loc = opaque;
    if (end) {
        if (loc->inside) {
            loc->end = byte_writer_len(loc->w);
            loc->inside = false;
        }
        return true;
    }
    if (!is_target(loc, loc->is_list ? NULL : loc->name)) {
        return true;
    }
    const VMStateInfo *info = run->info;
    if (info->flags & VMSTATE_INFO_STRUCT) {
        loc->found = FOUND_STRUCT;
    } else if (!info->visit || ((info->flags & VMSTATE_INFO_NO_STATE) && info->size)) {
        loc->found = FOUND_NULL;
    } else {
        loc->found = FOUND_VALUE;
        loc->inside = true;
        loc->run = run;
        loc->elem = elem;
        loc->start = byte_writer_len(loc->w);
    }
    return true;
}

static const VMStateHooks locate_hooks = {
    .enter = locate_enter,
    .field = locate_field,
    .element = locate_element,
};

/* The payload of a device state: the section's bytes as QEMU would write them. */
static GBytes *encode(const QsDevice *dev, uint8_t *state, Locate *loc)
{
    ByteWriter w;
    byte_writer_init(&w);
    Visitor *v = qemufile_output_visitor_new(&w);
    VMStateContext ctx = { .hooks = loc ? &locate_hooks : NULL, .hooks_opaque = loc };
    if (loc) {
        loc->v = v;
        loc->w = &w;
    }
    bool ok = qs_device_save(v, NULL, dev, state, &ctx, NULL);
    g_assert(ok);           /* the QEMUFile output visitor fails only on strings */
    visit_free(v);
    GBytes *bytes = byte_writer_take(&w);
    byte_writer_clear(&w);
    return bytes;
}

/* Do a and b differ in [start, end) only? */
static bool differ_only_in(GBytes *a, GBytes *b, size_t start, size_t end)
{
    size_t n, m;
    const uint8_t *pa = g_bytes_get_data(a, &n), *pb = g_bytes_get_data(b, &m);
    return n == m && end <= n && memcmp(pa, pb, start) == 0 &&
           memcmp(pa + end, pb + end, n - end) == 0;
}

static bool found_error(const QemuStreamSection *sec, const char *path, Found found,
                        GError **errp)
{
    g_autofree char *display = qemu_stream_section_display_name(sec);
    switch (found) {
    case FOUND_NOTHING:
        g_set_error(errp, VMS_ERROR, VMS_ERROR_NOT_FOUND, "%s: no such field in section '%s'",
                    path, display);
        return false;
    case FOUND_STRUCT:
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "%s: is a struct, not a value; name one of its members", path);
        return false;
    case FOUND_LIST:
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "%s: is a list, not a value; name one element: %s[N]", path, path);
        return false;
    case FOUND_NULL:
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "%s: is a null pointer marker and cannot be set", path);
        return false;
    case FOUND_VALUE:
        break;
    }
    g_assert_not_reached();
}

bool qemu_stream_set(QemuStream *s, const char *path, const char *value, GError **errp)
{
    const char *field;
    if (s->shares_devices) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "%s: the stream shares its decoded "
                    "sections with a cache: parse it without one to edit it", path);
        return false;
    }
    size_t index = resolve_section(s, path, &field, errp);
    if (index == NOT_FOUND) {
        return false;
    }
    QemuStreamSection *sec = g_ptr_array_index(s->sections, index);
    QsDevice *dev = g_ptr_array_index(s->devices, index);
    g_assert(dev);

    /* Find the field and its bytes, on a copy of the state. */
    g_autofree uint8_t *state = g_memdup2(dev->state, dev->state_size);
    Locate loc = { .target = field };
    g_autoptr(GBytes) same = encode(dev, state, &loc);
    if (!g_bytes_equal(same, sec->payload)) {
        g_autofree char *where = qs_where_section(sec);
        vms_error_set_at(errp, VMS_ERROR_FAILED, sec->offset, where, NULL,
                         "the state does not encode back to the section's bytes");
        return false;
    }
    if (loc.found != FOUND_VALUE) {
        return found_error(sec, path, loc.found, errp);
    }

    Visitor *in = string_input_visitor_new(value);
    bool ok = loc.run->info->visit(in, path, loc.run->info, loc.elem, loc.run->size, errp);
    visit_free(in);
    if (!ok) {
        return false;
    }
    g_autoptr(GBytes) payload = encode(dev, state, NULL);
    if (!differ_only_in(sec->payload, payload, loc.start, loc.end)) {
        g_autofree char *where = qs_where_section(sec);
        vms_error_set_at(errp, VMS_ERROR_FAILED, sec->offset + loc.start, where, field,
                         "the new value would change bytes outside the field");
        return false;
    }
    g_bytes_unref(sec->payload);
    sec->payload = g_steal_pointer(&payload);
    g_free(dev->state);
    dev->state = g_steal_pointer(&state);
    qobject_unref(sec->state);
    sec->state = qs_device_to_qobject(dev);
    return true;
}

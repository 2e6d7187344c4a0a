/*
 * Editing a parsed stream in place: qemu_stream_set() resolves a field path
 * against the section's decoded state (see "Field paths" in
 * include/vmscope/qemu-stream.h), checks the value against the field's
 * type, and rewrites only the field's bytes.
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "qemu-stream-impl.h"
#include "vmscope/error.h"

/*
 * The device section a path starts with: the longest idstr followed by '.',
 * ':' or the end, then ":N" for instance N (0 when absent).  *rest is set to
 * the field part.
 */
static QemuStreamSection *resolve_section(QemuStream *s, const char *path, const char **rest,
                                          GError **errp)
{
    size_t best_len = 0;
    bool found = false;
    for (size_t i = 0; i < s->sections->len; i++) {
        const QemuStreamSection *sec = g_ptr_array_index(s->sections, i);
        size_t len = strlen(sec->name);
        if (sec->type == QEMU_VM_SECTION_FULL && len >= best_len &&
            strncmp(path, sec->name, len) == 0 &&
            (path[len] == '.' || path[len] == ':' || path[len] == '\0')) {
            best_len = len;
            found = true;
        }
    }
    if (!found) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_NOT_FOUND, "%s: no device section of that name",
                    path);
        return NULL;
    }
    const char *p = path + best_len;
    uint64_t instance = 0;
    if (*p == ':') {
        size_t digits = strspn(p + 1, "0123456789");
        g_autofree char *number = g_strndup(p + 1, digits);
        if (!g_ascii_string_to_unsigned(number, 10, 0, UINT32_MAX, &instance, NULL)) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                        "%s: expected an instance number after ':'", path);
            return NULL;
        }
        p += 1 + digits;
    }
    QemuStreamSection *sec = NULL;
    for (size_t i = 0; i < s->sections->len && !sec; i++) {
        QemuStreamSection *c = g_ptr_array_index(s->sections, i);
        if (c->type == QEMU_VM_SECTION_FULL && c->instance_id == instance &&
            strlen(c->name) == best_len && strncmp(path, c->name, best_len) == 0) {
            sec = c;
        }
    }
    if (!sec) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_NOT_FOUND, "%s: section '%.*s' has no instance %"
                    PRIu64, path, (int)best_len, path, instance);
        return NULL;
    }
    if (*p != '.' || p[1] == '\0') {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "%s: names a section, not a field (SECTION.FIELD)", path);
        return NULL;
    }
    *rest = p + 1;
    return sec;
}

static bool parse_int_value(const char *path, const char *value, bool is_signed, unsigned width,
                            uint64_t *bits, GError **errp)
{
    g_autofree char *kind = g_strdup_printf("%sint%u", is_signed ? "" : "u", width * 8);
    const char *p = value;
    bool neg = false;
    if (*p == '-' || *p == '+') {
        neg = *p == '-';
        p++;
    }
    unsigned base = 10;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    }
    /* The magnitude: digits of the base only (a second sign, spaces: not an integer). */
    guint64 mag;
    g_autoptr(GError) err = NULL;
    if (!g_ascii_string_to_unsigned(p, base, 0, G_MAXUINT64, &mag, &err)) {
        if (g_error_matches(err, G_NUMBER_PARSER_ERROR, G_NUMBER_PARSER_ERROR_OUT_OF_BOUNDS)) {
            goto range;
        }
        goto not_int;
    }
    uint64_t umax = width == 8 ? UINT64_MAX : (UINT64_C(1) << (width * 8)) - 1;
    if (is_signed) {
        uint64_t pos_max = umax >> 1, neg_max = pos_max + 1;
        if (neg ? mag > neg_max : mag > pos_max) {
            goto range;
        }
        int64_t v = neg ? (int64_t)(0 - mag) : (int64_t)mag;
        *bits = (uint64_t)v & umax;
    } else {
        if ((neg && mag) || mag > umax) {
            goto range;
        }
        *bits = mag;
    }
    return true;
range:
    g_set_error(errp, VMS_ERROR, VMS_ERROR_RANGE, "%s: value %s out of range for %s", path,
                value, kind);
    return false;
not_int:
    g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "%s: value '%s' is not an integer", path,
                value);
    return false;
}

/* The bytes `value` stands for in a field of this kind. */
static bool encode_value(const char *path, const QsLeaf *leaf, const char *value, uint8_t *out,
                         GError **errp)
{
    switch (leaf->kind) {
    case QS_LEAF_INT:
    case QS_LEAF_UINT: {
        uint64_t bits;
        if (!parse_int_value(path, value, leaf->kind == QS_LEAF_INT, (unsigned)leaf->size,
                             &bits, errp)) {
            return false;
        }
        for (uint64_t i = 0; i < leaf->size; i++) {
            out[i] = (uint8_t)(bits >> (8 * (leaf->size - 1 - i)));
        }
        return true;
    }
    case QS_LEAF_BOOL:
        if (strcmp(value, "true") == 0 || strcmp(value, "false") == 0) {
            out[0] = value[0] == 't';
            return true;
        }
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "%s: value '%s' is not a boolean (true or false)", path, value);
        return false;
    case QS_LEAF_HEX: {
        size_t n = strlen(value);
        if (n != 2 * leaf->size) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                        "%s: expected %" PRIu64 " bytes as %" PRIu64 " hex digits, got %zu"
                        " characters", path, leaf->size, 2 * leaf->size, n);
            return false;
        }
        size_t bad;
        if (!hex_decode(value, out, leaf->size, &bad)) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                        "%s: value is not hex (character %zu)", path, bad);
            return false;
        }
        return true;
    }
    case QS_LEAF_NULL:
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "%s: is a null pointer marker and cannot be set", path);
        return false;
    case QS_LEAF_STRUCT:
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "%s: is a struct, not a value; name one of its members", path);
        return false;
    case QS_LEAF_LIST:
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID,
                    "%s: is a list, not a value; name one element: %s[N]", path, path);
        return false;
    }
    g_assert_not_reached();
}

static QObject *find_desc(const QemuStream *s, const QemuStreamSection *sec)
{
    QObject *list = qdict_get(s->vmdesc, "devices");
    for (size_t i = 0; i < qlist_size(list); i++) {
        QObject *dev = qlist_get(list, i);
        const char *name = qdict_get_str(dev, "name");
        uint64_t instance_id;
        if (name && strcmp(name, sec->name) == 0 &&
            qnum_get_uint(qdict_get(dev, "instance_id"), &instance_id) &&
            instance_id == sec->instance_id) {
            return dev;
        }
    }
    return NULL;
}

/* Decode a section's payload (which starts at sec->offset) on its own. */
static bool decode_payload(const QemuStream *s, const QemuStreamSection *sec, GBytes *payload,
                           GHashTable *leaves, QObject **state, GError **errp)
{
    QObject *desc = find_desc(s, sec);
    g_autofree char *where = qs_where_section(sec);
    size_t n;
    const uint8_t *d = g_bytes_get_data(payload, &n);
    ByteReader r;
    byte_reader_init(&r, d, n, sec->offset);
    g_assert(desc);
    if (!qs_decode_device(&r, where, desc, leaves, state, errp)) {
        return false;
    }
    if (byte_reader_left(&r)) {
        qobject_unref(*state);
        qs_error(errp, VMS_ERROR_INVALID, byte_reader_offset(&r), where, NULL,
                 "%zu bytes left after the state", byte_reader_left(&r));
        return false;
    }
    return true;
}

bool qemu_stream_set(QemuStream *s, const char *path, const char *value, GError **errp)
{
    const char *field;
    QemuStreamSection *sec = resolve_section(s, path, &field, errp);
    if (!sec) {
        return false;
    }
    g_autoptr(GHashTable) leaves = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_autoptr(QObject) state = NULL;
    if (!decode_payload(s, sec, sec->payload, leaves, &state, errp)) {
        return false;
    }
    const QsLeaf *leaf = g_hash_table_lookup(leaves, field);
    if (!leaf) {
        g_autofree char *display = qemu_stream_section_display_name(sec);
        g_set_error(errp, VMS_ERROR, VMS_ERROR_NOT_FOUND, "%s: no such field in section '%s'",
                    path, display);
        return false;
    }
    g_autofree uint8_t *bytes = g_malloc(leaf->size ? leaf->size : 1);
    if (!encode_value(path, leaf, value, bytes, errp)) {
        return false;
    }

    size_t n;
    const uint8_t *old = g_bytes_get_data(sec->payload, &n);
    g_autofree uint8_t *copy = g_malloc(n ? n : 1);
    memcpy(copy, old, n);
    memcpy(copy + leaf->offset, bytes, leaf->size);
    g_autoptr(GBytes) payload = g_bytes_new_take(g_steal_pointer(&copy), n);
    g_autoptr(QObject) new_state = NULL;
    if (!decode_payload(s, sec, payload, NULL, &new_state, errp)) {
        return false;
    }
    g_bytes_unref(sec->payload);
    sec->payload = g_steal_pointer(&payload);
    qobject_unref(sec->state);
    sec->state = g_steal_pointer(&new_state);
    return true;
}

/*
 * QEMU migration streams: the frame (header, configuration, sections,
 * footers, EOF, vmdesc), the model, and writing it back.
 * See include/vmscope/qemu-stream.h.  Device payloads are decoded in
 * qemu-stream-vmdesc.c, RAM in qemu-stream-ram.c; editing is in
 * qemu-stream-edit.c, building in qemu-stream-builder.c, diff in
 * qemu-stream-diff.c.
 */
#include "config.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>

#include "qemu-stream-impl.h"
#include "vmscope/error.h"
#include "vmscope/qobject-visitor.h"

#define DEFAULT_PAGE_SIZE 4096u
#define VMDESC_MAX_DEPTH 256    /* JSON nesting; QEMU 7.2's pc/q35 need 14 */

/* ---- small helpers ------------------------------------------------------ */

const char *qemu_section_type_name(uint8_t type)
{
    switch (type) {
    case QEMU_VM_SECTION_START: return "start";
    case QEMU_VM_SECTION_PART:  return "part";
    case QEMU_VM_SECTION_END:   return "end";
    case QEMU_VM_SECTION_FULL:  return "full";
    default:                    return "unknown";
    }
}

static void section_free(gpointer p)
{
    QemuStreamSection *sec = p;
    g_free(sec->name);
    g_bytes_unref(sec->payload);
    qobject_unref(sec->state);
    g_free(sec);
}

char *qs_where_section(const QemuStreamSection *sec)
{
    return g_strdup_printf("section '%s' (id %" PRIu32 ")", sec->name, sec->section_id);
}

char *qemu_stream_section_display_name(const QemuStreamSection *sec)
{
    return sec->instance_id ? g_strdup_printf("%s:%" PRIu32, sec->name, sec->instance_id)
                            : g_strdup(sec->name);
}

void qemu_stream_free(QemuStream *s)
{
    if (!s) {
        return;
    }
    g_bytes_unref(s->input);
    g_bytes_unref(s->config_payload);
    qobject_unref(s->config);
    g_ptr_array_unref(s->sections);
    g_ptr_array_unref(s->devices);
    g_bytes_unref(s->vmdesc_text);
    qobject_unref(s->vmdesc);
    g_free(s);
}

/* ---- configuration ------------------------------------------------------ */

static bool config_subsection(ByteReader *r, QObject *config, GError **errp)
{
    GError *err = NULL;
    uint64_t at = byte_reader_offset(r);
    uint8_t len;
    uint32_t version;
    const uint8_t *p;
    if (!byte_reader_skip(r, 1, &err) || !byte_reader_u8(r, &len, &err) ||
        !byte_reader_take(r, len, &p, &err) || !byte_reader_be32(r, &version, &err)) {
        qs_propagate(errp, err, "configuration", NULL);
        return false;
    }
    g_autofree char *name = bytes_to_text(p, len);
    if (strcmp(name, "configuration/target-page-bits") == 0) {
        uint32_t bits;
        if (!byte_reader_be32(r, &bits, &err)) {
            qs_propagate(errp, err, "configuration", name);
            return false;
        }
        qdict_put(config, "target-page-bits", qnum_from_uint(bits));
    } else if (strcmp(name, "configuration/capabilities") == 0) {
        uint32_t count;
        if (!byte_reader_be32(r, &count, &err)) {
            qs_propagate(errp, err, "configuration", name);
            return false;
        }
        QObject *caps = qlist_new();
        qdict_put(config, "capabilities", caps);
        for (uint32_t i = 0; i < count; i++) {
            uint8_t clen;
            const uint8_t *cp;
            if (!byte_reader_u8(r, &clen, &err) || !byte_reader_take(r, clen, &cp, &err)) {
                qs_propagate(errp, err, "configuration", name);
                return false;
            }
            g_autofree char *cap = bytes_to_text(cp, clen);
            qlist_append(caps, qstring_from_str(cap));
        }
    } else if (strcmp(name, "configuration/uuid") == 0) {
        const uint8_t *u;
        if (!byte_reader_take(r, 16, &u, &err)) {
            qs_propagate(errp, err, "configuration", name);
            return false;
        }
        g_autofree char *hex = hex_encode(u, 16);
        qdict_put(config, "uuid", qstring_from_str(hex));
    } else {
        vms_error_set_at(errp, VMS_ERROR_INVALID, at, "configuration", NULL,
                         "unknown subsection '%s'", name);
        return false;
    }
    return true;
}

bool qs_parse_configuration(ByteReader *r, QObject **out, GError **errp)
{
    GError *err = NULL;
    uint32_t len;
    const uint8_t *p;
    if (!byte_reader_be32(r, &len, &err) || !byte_reader_take(r, len, &p, &err)) {
        qs_propagate(errp, err, "configuration", NULL);
        return false;
    }
    g_autoptr(QObject) config = qdict_new();
    g_autofree char *machine = bytes_to_text(p, len);
    qdict_put(config, "name", qstring_from_str(machine));
    uint8_t tag;
    while (byte_reader_peek(r, 0, &tag) && tag == QEMU_VM_SUBSECTION) {
        if (!config_subsection(r, config, errp)) {
            return false;
        }
    }
    *out = g_steal_pointer(&config);
    return true;
}

static bool config_has_capability(const QObject *config, const char *cap)
{
    QObject *caps = qdict_get(config, "capabilities");
    for (size_t i = 0; i < qlist_size(caps); i++) {
        const char *c = qstring_get(qlist_get(caps, i));
        if (c && strcmp(c, cap) == 0) {
            return true;
        }
    }
    return false;
}

/* ---- vmdesc -------------------------------------------------------------- */

/*
 * The vmdesc is the stream's tail: 0x06, be32 length, that many bytes of
 * JSON, end of data.  JSON text never holds a raw 0x06 byte, so the tag is
 * the last 0x06 whose length field reaches exactly to the end.
 */
static bool find_vmdesc(const uint8_t *d, size_t n, size_t *tag_at)
{
    for (size_t p = n; p-- > 0;) {
        if (d[p] == QEMU_VM_VMDESCRIPTION && n - p >= 5) {
            uint32_t len = (uint32_t)d[p + 1] << 24 | (uint32_t)d[p + 2] << 16 |
                           (uint32_t)d[p + 3] << 8 | d[p + 4];
            if (len == n - p - 5) {
                *tag_at = p;
                return true;
            }
        }
    }
    return false;
}

/*
 * The vmdesc's JSON, with json-c directly: nested structs make it deeper
 * than the tokener's default limit allows, and errors should name the
 * offset in the stream.
 */
static bool parse_vmdesc_json(const char *text, size_t len, uint64_t at, QObject **out,
                              GError **errp)
{
    if (len > INT_MAX) {
        vms_error_set_at(errp, VMS_ERROR_RANGE, at, "vmdesc", NULL, "JSON too long (%zu bytes)",
                         len);
        return false;
    }
    /* JSON is UTF-8; json-c's own check takes overlong forms.  A NUL is json-c's to refuse. */
    const char *bad;
    if (!g_utf8_validate(text, (gssize)strnlen(text, len), &bad)) {
        vms_error_set_at(errp, VMS_ERROR_INVALID, at + (uint64_t)(bad - text), "vmdesc", NULL,
                         "bad JSON: not UTF-8");
        return false;
    }
    json_tokener *tok = json_tokener_new_ex(VMDESC_MAX_DEPTH);
    QObject *obj = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (jerr == json_tokener_success && end == len) {
        *out = obj;
        return true;
    }
    qobject_unref(obj);
    if (jerr == json_tokener_continue) {
        vms_error_set_at(errp, VMS_ERROR_TRUNCATED, at + len, "vmdesc", NULL,
                         "JSON ends early");
    } else if (jerr == json_tokener_success) {
        vms_error_set_at(errp, VMS_ERROR_INVALID, at + end, "vmdesc", NULL,
                         "text after the JSON value");
    } else {
        vms_error_set_at(errp, VMS_ERROR_INVALID, at + end, "vmdesc", NULL, "bad JSON: %s",
                         json_tokener_error_desc(jerr));
    }
    return false;
}

static char *device_key(const char *name, uint64_t instance_id)
{
    return g_strdup_printf("%s:%" PRIu64, name, instance_id);
}

static bool load_vmdesc(QemuStream *s, const uint8_t *d, size_t n, GHashTable *devices,
                        GError **errp)
{
    size_t at;
    if (!find_vmdesc(d, n, &at)) {
        return true;
    }
    uint64_t json_at = at + 5;
    QObject *desc = NULL;
    if (!parse_vmdesc_json((const char *)d + json_at, n - json_at, json_at, &desc, errp)) {
        return false;
    }
    s->vmdesc = desc;
    s->has_vmdesc = true;
    s->vmdesc_offset = at;
    s->vmdesc_text = g_bytes_new_from_bytes(s->input, json_at, n - json_at);

    QObject *list = qdict_get(desc, "devices");
    if (qobject_type(desc) != QTYPE_DICT || qobject_type(list) != QTYPE_LIST) {
        vms_error_set_at(errp, VMS_ERROR_INVALID, json_at, "vmdesc", NULL,
                         "not an object with a \"devices\" list");
        return false;
    }
    QObject *ps = qdict_get(desc, "page_size");
    if (ps) {
        uint64_t page_size;
        if (!qnum_get_uint(ps, &page_size) || page_size < 512 || page_size > 65536 ||
            (page_size & (page_size - 1))) {
            vms_error_set_at(errp, VMS_ERROR_INVALID, json_at, "vmdesc", NULL,
                             "\"page_size\" is not a power of two between 512 and 65536");
            return false;
        }
        s->page_size = (uint32_t)page_size;
    }
    for (size_t i = 0; i < qlist_size(list); i++) {
        QObject *dev = qlist_get(list, i);
        const char *name = qdict_get_str(dev, "name");
        uint64_t instance_id;
        if (!name || !qnum_get_uint(qdict_get(dev, "instance_id"), &instance_id)) {
            vms_error_set_at(errp, VMS_ERROR_INVALID, json_at, "vmdesc", NULL,
                             "device %zu has no \"name\" or \"instance_id\"", i);
            return false;
        }
        /*
         * QEMU 7.2 may save two sections of one name and instance (8.1
         * refuses to register such a pair): its vmdesc then describes both,
         * in section order, and so they are paired here.
         */
        char *key = device_key(name, instance_id);
        GQueue *entries = g_hash_table_lookup(devices, key);
        if (!entries) {
            entries = g_queue_new();
            g_hash_table_insert(devices, key, entries);
        } else {
            g_free(key);
        }
        g_queue_push_tail(entries, dev);
    }
    return true;
}

/* ---- parsing ------------------------------------------------------------- */

typedef enum { FOOTERS_UNKNOWN, FOOTERS_YES, FOOTERS_NO } FooterMode;

typedef struct Parser {
    QemuStream *s;
    ByteReader r;
    GHashTable *devices;        /* "name:instance" -> GQueue of vmdesc entries (borrowed)
                                   not yet paired with a section, in vmdesc order */
    GHashTable *started;        /* section id -> START section (borrowed) */
    FooterMode footers;
    QsRam ram;
} Parser;

static bool is_tag(uint8_t b)
{
    return b == QEMU_VM_EOF || (b >= QEMU_VM_SECTION_START && b <= QEMU_VM_SECTION_FULL) ||
           b == QEMU_VM_COMMAND;
}

static bool read_footer(Parser *p, QemuStreamSection *sec, const char *where, GError **errp)
{
    GError *err = NULL;
    uint64_t at = byte_reader_offset(&p->r);
    uint8_t b;
    if (!byte_reader_peek(&p->r, 0, &b)) {
        vms_error_set_at(errp, VMS_ERROR_TRUNCATED, at, where, NULL,
                         "truncated: stream ends after the section's state");
        return false;
    }
    if (b == QEMU_VM_SECTION_FOOTER && p->footers != FOOTERS_NO) {
        uint32_t id;
        if (!byte_reader_skip(&p->r, 1, &err) || !byte_reader_be32(&p->r, &id, &err)) {
            qs_propagate(errp, err, where, "footer");
            return false;
        }
        if (id != sec->section_id) {
            vms_error_set_at(errp, VMS_ERROR_INVALID, at, where, NULL,
                             "footer is for section id %" PRIu32, id);
            return false;
        }
        sec->has_footer = true;
        p->footers = FOOTERS_YES;
        return true;
    }
    if (p->footers == FOOTERS_YES) {
        vms_error_set_at(errp, VMS_ERROR_INVALID, at, where, NULL,
                         "expected section footer (0x7e), found 0x%02x", b);
        return false;
    }
    if (!is_tag(b)) {
        vms_error_set_at(errp, VMS_ERROR_INVALID, at, where, NULL,
                         "expected section footer or next section, found 0x%02x", b);
        return false;
    }
    p->footers = FOOTERS_NO;
    return true;
}

static bool parse_payload(Parser *p, QemuStreamSection *sec, const char *where, GError **errp)
{
    uint64_t start = byte_reader_offset(&p->r);
    sec->offset = start;
    if (sec->type == QEMU_VM_SECTION_FULL) {
        g_autofree char *key = device_key(sec->name, sec->instance_id);
        GQueue *entries = g_hash_table_lookup(p->devices, key);
        QObject *desc = entries ? g_queue_pop_head(entries) : NULL;
        uint64_t version;
        if (!p->s->has_vmdesc) {
            vms_error_set_at(errp, VMS_ERROR_INVALID, start, where, NULL,
                             "cannot decode: the stream has no vmdesc at its end");
            return false;
        }
        if (!desc) {
            vms_error_set_at(errp, VMS_ERROR_INVALID, start, where, NULL,
                             "cannot decode: no vmdesc entry for instance %" PRIu32,
                             sec->instance_id);
            return false;
        }
        if (!qnum_get_uint(qdict_get(desc, "version"), &version) || version != sec->version_id) {
            vms_error_set_at(errp, VMS_ERROR_INVALID, start, where, NULL,
                             "vmdesc version does not match the section's version %" PRIu32,
                             sec->version_id);
            return false;
        }
        g_autoptr(QsDevice) dev = qs_device_learn(desc, start, byte_reader_left(&p->r),
                                                  sec->version_id, where, errp);
        if (!dev || !qs_device_load(dev, &p->r, (int)sec->version_id, where, errp)) {
            return false;
        }
        sec->state = qs_device_to_qobject(dev);
        g_ptr_array_index(p->s->devices, p->s->devices->len - 1) = g_steal_pointer(&dev);
    } else {
        if (strcmp(sec->name, "ram") != 0) {
            vms_error_set_at(errp, VMS_ERROR_INVALID, start, where, NULL,
                             "cannot decode iterative section '%s' (only 'ram' is known)",
                             sec->name);
            return false;
        }
        if (sec->version_id != 4) {
            vms_error_set_at(errp, VMS_ERROR_VERSION, start, where, NULL,
                             "RAM section version %" PRIu32 ", expected 4", sec->version_id);
            return false;
        }
        if (!qs_ram_section(&p->ram, &p->r, where, &sec->state, errp)) {
            return false;
        }
    }
    sec->size = byte_reader_offset(&p->r) - start;
    sec->payload = g_bytes_new_from_bytes(p->s->input, start, sec->size);
    return true;
}

static bool parse_section(Parser *p, uint8_t type, GError **errp)
{
    GError *err = NULL;
    uint64_t at = byte_reader_offset(&p->r) - 1;
    QemuStreamSection *sec = g_new0(QemuStreamSection, 1);
    sec->type = type;
    g_ptr_array_add(p->s->sections, sec);
    g_ptr_array_add(p->s->devices, NULL);

    if (!byte_reader_be32(&p->r, &sec->section_id, &err)) {
        qs_propagate(errp, err, "section header", NULL);
        return false;
    }
    if (type == QEMU_VM_SECTION_START || type == QEMU_VM_SECTION_FULL) {
        uint8_t len;
        const uint8_t *idstr;
        if (!byte_reader_u8(&p->r, &len, &err) || !byte_reader_take(&p->r, len, &idstr, &err) ||
            !byte_reader_be32(&p->r, &sec->instance_id, &err) ||
            !byte_reader_be32(&p->r, &sec->version_id, &err)) {
            qs_propagate(errp, err, "section header", NULL);
            return false;
        }
        sec->name = g_strndup((const char *)idstr, len);
        if (strlen(sec->name) != len) {
            vms_error_set_at(errp, VMS_ERROR_INVALID, at, "section header", NULL,
                             "section name contains a NUL byte");
            return false;
        }
        /* Names go into messages and JSON as they are: they must be text. */
        if (!g_utf8_validate(sec->name, (gssize)len, NULL)) {
            g_autofree char *hex = hex_encode(idstr, len);
            vms_error_set_at(errp, VMS_ERROR_INVALID, at, "section header", NULL,
                             "section name is not UTF-8 (hex %s)", hex);
            return false;
        }
        if (type == QEMU_VM_SECTION_START) {
            if (g_hash_table_contains(p->started, GUINT_TO_POINTER(sec->section_id))) {
                vms_error_set_at(errp, VMS_ERROR_INVALID, at, "section header", NULL,
                                 "section id %" PRIu32 " started twice", sec->section_id);
                return false;
            }
            g_hash_table_insert(p->started, GUINT_TO_POINTER(sec->section_id), sec);
        }
    } else {
        QemuStreamSection *start =
            g_hash_table_lookup(p->started, GUINT_TO_POINTER(sec->section_id));
        if (!start) {
            vms_error_set_at(errp, VMS_ERROR_INVALID, at, "section header", NULL,
                             "%s of section id %" PRIu32 ", which never started",
                             qemu_section_type_name(type), sec->section_id);
            return false;
        }
        sec->name = g_strdup(start->name);
        sec->instance_id = start->instance_id;
        sec->version_id = start->version_id;
    }

    g_autofree char *where = qs_where_section(sec);
    return parse_payload(p, sec, where, errp) && read_footer(p, sec, where, errp);
}

/* Every device the vmdesc describes must have had its section (each its own). */
static bool check_devices_seen(Parser *p, uint64_t at, GError **errp)
{
    QObject *list = qdict_get(p->s->vmdesc, "devices");
    for (size_t i = 0; i < qlist_size(list); i++) {
        QObject *dev = qlist_get(list, i);
        const char *name = qdict_get_str(dev, "name");
        uint64_t instance_id = 0;
        (void)qnum_get_uint(qdict_get(dev, "instance_id"), &instance_id);
        g_autofree char *key = device_key(name, instance_id);
        GQueue *unpaired = g_hash_table_lookup(p->devices, key);
        if (instance_id > UINT32_MAX || (unpaired && g_queue_find(unpaired, dev))) {
            vms_error_set_at(errp, VMS_ERROR_INVALID, at, NULL, NULL,
                             "the vmdesc describes section '%s' instance %" PRIu64
                             ", which is not in the stream", name, instance_id);
            return false;
        }
    }
    return true;
}

static bool parse_stream(Parser *p, GError **errp)
{
    QemuStream *s = p->s;
    GError *err = NULL;
    uint32_t magic;
    size_t n;
    const uint8_t *d = g_bytes_get_data(s->input, &n);

    byte_reader_init(&p->r, d, n, 0);
    if (!byte_reader_be32(&p->r, &magic, &err)) {
        qs_propagate(errp, err, "header", NULL);
        return false;
    }
    if (magic != QEMU_VM_FILE_MAGIC) {
        vms_error_set_at(errp, VMS_ERROR_INVALID, 0, "header", NULL,
                         "bad magic 0x%08" PRIx32 ", expected 0x%08x (QEVM)", magic,
                         QEMU_VM_FILE_MAGIC);
        return false;
    }
    if (!byte_reader_be32(&p->r, &s->version, &err)) {
        qs_propagate(errp, err, "header", NULL);
        return false;
    }
    if (s->version != QEMU_VM_FILE_VERSION) {
        vms_error_set_at(errp, VMS_ERROR_VERSION, 4, "header", NULL,
                         "unsupported stream version %" PRIu32 ", expected %u", s->version,
                         QEMU_VM_FILE_VERSION);
        return false;
    }
    if (!load_vmdesc(s, d, n, p->devices, errp)) {
        return false;
    }

    for (;;) {
        uint64_t at = byte_reader_offset(&p->r);
        uint8_t tag;
        if (!byte_reader_u8(&p->r, &tag, &err)) {
            g_clear_error(&err);
            vms_error_set_at(errp, VMS_ERROR_TRUNCATED, at, NULL, NULL,
                             "truncated: stream ends without EOF (0x00)");
            return false;
        }
        switch (tag) {
        case QEMU_VM_CONFIGURATION:
            if (s->has_config || s->sections->len) {
                vms_error_set_at(errp, VMS_ERROR_INVALID, at, NULL, NULL,
                                 "configuration section not right after the header");
                return false;
            }
            s->config_offset = at + 1;
            if (!qs_parse_configuration(&p->r, &s->config, errp)) {
                return false;
            }
            s->has_config = true;
            s->config_payload = g_bytes_new_from_bytes(s->input, s->config_offset,
                                                       byte_reader_offset(&p->r) -
                                                       s->config_offset);
            break;
        case QEMU_VM_SECTION_START:
        case QEMU_VM_SECTION_PART:
        case QEMU_VM_SECTION_END:
        case QEMU_VM_SECTION_FULL:
            if (p->ram.blocks == NULL) {
                uint32_t page_size = s->page_size;
                QObject *bits = qdict_get(s->config, "target-page-bits");
                uint64_t b;
                if (bits && qnum_get_uint(bits, &b)) {
                    if (b < 9 || b > 16) {
                        vms_error_set_at(errp, VMS_ERROR_INVALID, s->config_offset, "configuration",
                                         NULL, "target-page-bits %" PRIu64
                                         " out of range 9..16", b);
                        return false;
                    }
                    page_size = 1u << b;
                }
                s->page_size = page_size;
                qs_ram_init(&p->ram, page_size,
                            config_has_capability(s->config, "x-ignore-shared"));
                s->ignore_shared = p->ram.ignore_shared;
            }
            if (!parse_section(p, tag, errp)) {
                return false;
            }
            break;
        case QEMU_VM_EOF:
            s->eof_offset = at;
            if (!check_devices_seen(p, at, errp)) {
                return false;
            }
            if (s->has_vmdesc && at + 1 != s->vmdesc_offset) {
                vms_error_set_at(errp, VMS_ERROR_INVALID, at + 1, NULL, NULL,
                                 "unexpected data after EOF (the vmdesc starts at offset %"
                                 PRIu64 ")",
                                 s->vmdesc_offset);
                return false;
            }
            if (!s->has_vmdesc && byte_reader_left(&p->r)) {
                vms_error_set_at(errp, VMS_ERROR_INVALID, at + 1, NULL, NULL,
                                 "unexpected data after EOF: 0x%02x", p->r.data[p->r.pos]);
                return false;
            }
            return true;
        case QEMU_VM_COMMAND:
            vms_error_set_at(errp, VMS_ERROR_INVALID, at, NULL, NULL,
                             "QEMU_VM_COMMAND (postcopy/COLO) is not supported");
            return false;
        case QEMU_VM_VMDESCRIPTION:
            vms_error_set_at(errp, VMS_ERROR_INVALID, at, NULL, NULL, "vmdesc (0x06) before EOF");
            return false;
        default:
            vms_error_set_at(errp, VMS_ERROR_INVALID, at, NULL, NULL, "unknown section type 0x%02x",
                             tag);
            return false;
        }
    }
}

QemuStream *qemu_stream_parse(GBytes *data, GError **errp)
{
    QemuStream *s = g_new0(QemuStream, 1);
    s->input = g_bytes_ref(data);
    s->sections = g_ptr_array_new_with_free_func(section_free);
    s->devices = g_ptr_array_new_with_free_func((GDestroyNotify)qs_device_free);
    s->page_size = DEFAULT_PAGE_SIZE;

    Parser p = {
        .s = s,
        .devices = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify)g_queue_free),
        .started = g_hash_table_new(g_direct_hash, g_direct_equal),
        .footers = FOOTERS_UNKNOWN,
    };
    bool ok = parse_stream(&p, errp);
    g_hash_table_destroy(p.devices);
    g_hash_table_destroy(p.started);
    qs_ram_clear(&p.ram);
    if (!ok) {
        qemu_stream_free(s);
        return NULL;
    }
    return s;
}

/* ---- access ------------------------------------------------------------ */

size_t qemu_stream_n_sections(const QemuStream *s)
{
    return s->sections->len;
}

const QemuStreamSection *qemu_stream_section(const QemuStream *s, size_t index)
{
    return index < s->sections->len ? g_ptr_array_index(s->sections, index) : NULL;
}

const QemuStreamSection *qemu_stream_find_section(const QemuStream *s, const char *name,
                                                  uint32_t instance_id)
{
    for (size_t i = 0; i < s->sections->len; i++) {
        const QemuStreamSection *sec = g_ptr_array_index(s->sections, i);
        if ((sec->type == QEMU_VM_SECTION_FULL || sec->type == QEMU_VM_SECTION_START) &&
            sec->instance_id == instance_id && strcmp(sec->name, name) == 0) {
            return sec;
        }
    }
    return NULL;
}

const VMStateDescription *qemu_stream_section_device(const QemuStream *s, size_t index,
                                                     const uint8_t **state, size_t *state_size)
{
    const QsDevice *dev = index < s->devices->len ? g_ptr_array_index(s->devices, index) : NULL;
    if (!dev) {
        return NULL;
    }
    *state = dev->state;
    *state_size = dev->state_size;
    return dev->vmsd;
}

QObject *qemu_stream_configuration(const QemuStream *s)
{
    return s->config;
}

QObject *qemu_stream_vmdesc(const QemuStream *s)
{
    return s->vmdesc;
}

GBytes *qemu_stream_configuration_payload(const QemuStream *s)
{
    return s->has_config ? s->config_payload : NULL;
}

GBytes *qemu_stream_vmdesc_text(const QemuStream *s)
{
    return s->has_vmdesc ? s->vmdesc_text : NULL;
}

uint64_t qemu_stream_eof_offset(const QemuStream *s)
{
    return s->eof_offset;
}

/* ---- walking ------------------------------------------------------------ */

static bool visit_header(Visitor *v, const QemuStream *s, GError **errp)
{
    char *magic = "QEVM";
    uint32_t version = s->version;
    if (!visit_start_struct(v, "header", NULL, errp)) {
        return false;
    }
    bool ok = visit_type_str(v, "magic", &magic, errp) &&
              visit_type_uint32(v, "version", &version, errp) &&
              visit_check_struct(v, errp);
    visit_end_struct(v);
    return ok;
}

static bool visit_configuration(Visitor *v, const QemuStream *s, GError **errp)
{
    uint64_t offset = s->config_offset, size;
    if (!s->has_config) {
        return visit_type_null(v, "configuration", errp);
    }
    size = g_bytes_get_size(s->config_payload);
    if (!visit_start_struct(v, "configuration", NULL, errp)) {
        return false;
    }
    bool ok = visit_type_uint64(v, "offset", &offset, errp) &&
              visit_type_uint64(v, "size", &size, errp);
    qdict_foreach(s->config, key, val) {
        ok = ok && qobject_visit(v, key, val, errp);
    }
    ok = ok && visit_check_struct(v, errp);
    visit_end_struct(v);
    return ok;
}

static bool visit_section(Visitor *v, const QemuStreamSection *sec, const QsDevice *dev,
                          GError **errp)
{
    char *name = sec->name, *type = (char *)qemu_section_type_name(sec->type);
    uint32_t instance_id = sec->instance_id, section_id = sec->section_id;
    uint32_t version_id = sec->version_id;
    uint64_t offset = sec->offset, size = sec->size;
    if (!visit_start_struct(v, NULL, NULL, errp)) {
        return false;
    }
    bool ok = visit_type_str(v, "name", &name, errp) &&
              visit_type_uint32(v, "instance-id", &instance_id, errp) &&
              visit_type_uint32(v, "section-id", &section_id, errp) &&
              visit_type_uint32(v, "version-id", &version_id, errp) &&
              visit_type_str(v, "type", &type, errp) &&
              visit_type_uint64(v, "offset", &offset, errp) &&
              visit_type_uint64(v, "size", &size, errp) &&
              (dev ? qs_device_save(v, "state", dev, dev->state, NULL, errp)
                   : qobject_visit(v, "state", sec->state, errp)) &&
              visit_check_struct(v, errp);
    visit_end_struct(v);
    return ok;
}

static bool visit_sections(Visitor *v, const QemuStream *s, GError **errp)
{
    size_t n = s->sections->len;
    if (!visit_start_list(v, "sections", &n, errp)) {
        return false;
    }
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        visit_next_list(v);
        ok = visit_section(v, g_ptr_array_index(s->sections, i),
                           g_ptr_array_index(s->devices, i), errp);
    }
    ok = ok && visit_check_list(v, errp);
    visit_end_list(v);
    return ok;
}

bool qemu_stream_visit(Visitor *v, const char *name, const QemuStream *s, bool with_vmdesc,
                       GError **errp)
{
    if (!visit_start_struct(v, name, NULL, errp)) {
        return false;
    }
    bool ok = visit_header(v, s, errp) && visit_configuration(v, s, errp) &&
              visit_sections(v, s, errp) &&
              (!with_vmdesc || qobject_visit(v, "vmdesc", s->vmdesc, errp)) &&
              visit_check_struct(v, errp);
    visit_end_struct(v);
    return ok;
}

QObject *qemu_stream_to_qobject(const QemuStream *s, bool with_vmdesc)
{
    Visitor *v = qobject_output_visitor_new();
    bool ok = qemu_stream_visit(v, NULL, s, with_vmdesc, NULL);
    g_assert(ok);           /* the QObject output visitor never fails */
    QObject *root = qobject_output_visitor_take(v);
    visit_free(v);
    return root;
}

/* ---- writing ------------------------------------------------------------- */

static bool put_bytes(QemuStreamChunkFn fn, void *opaque, GBytes *b)
{
    size_t n;
    const void *d = g_bytes_get_data(b, &n);
    return n == 0 || fn(d, n, opaque);
}

bool qemu_stream_write_chunks(const QemuStream *s, QemuStreamChunkFn fn, void *opaque)
{
    /* Headers go through a small writer; payloads are handed over as they are. */
    ByteWriter w;
    bool ok = true;
    byte_writer_init(&w);
    byte_writer_be32(&w, QEMU_VM_FILE_MAGIC);
    byte_writer_be32(&w, s->version);
    if (s->has_config) {
        byte_writer_u8(&w, QEMU_VM_CONFIGURATION);
        ok = fn(w.buf->data, w.buf->len, opaque) && put_bytes(fn, opaque, s->config_payload);
        g_byte_array_set_size(w.buf, 0);
    }
    for (size_t i = 0; ok && i < s->sections->len; i++) {
        const QemuStreamSection *sec = g_ptr_array_index(s->sections, i);
        byte_writer_u8(&w, sec->type);
        byte_writer_be32(&w, sec->section_id);
        if (sec->type == QEMU_VM_SECTION_START || sec->type == QEMU_VM_SECTION_FULL) {
            size_t len = strlen(sec->name);
            byte_writer_u8(&w, (uint8_t)len);
            byte_writer_write(&w, sec->name, len);
            byte_writer_be32(&w, sec->instance_id);
            byte_writer_be32(&w, sec->version_id);
        }
        ok = fn(w.buf->data, w.buf->len, opaque) && put_bytes(fn, opaque, sec->payload);
        g_byte_array_set_size(w.buf, 0);
        if (sec->has_footer) {
            byte_writer_u8(&w, QEMU_VM_SECTION_FOOTER);
            byte_writer_be32(&w, sec->section_id);
        }
    }
    byte_writer_u8(&w, QEMU_VM_EOF);
    if (s->has_vmdesc) {
        byte_writer_u8(&w, QEMU_VM_VMDESCRIPTION);
        byte_writer_be32(&w, (uint32_t)g_bytes_get_size(s->vmdesc_text));
    }
    ok = ok && fn(w.buf->data, w.buf->len, opaque);
    if (ok && s->has_vmdesc) {
        ok = put_bytes(fn, opaque, s->vmdesc_text);
    }
    byte_writer_clear(&w);
    return ok;
}

static bool append_chunk(const void *data, size_t len, void *opaque)
{
    byte_writer_write(opaque, data, len);
    return true;
}

GBytes *qemu_stream_write_parts(GBytes *config_payload, QemuStreamSection *const *sections,
                                size_t n, GBytes *vmdesc_text)
{
    /* A model that only writing looks at: the version, the parts, the flags. */
    QemuStream parts = {
        .version = QEMU_VM_FILE_VERSION,
        .has_config = config_payload != NULL,
        .config_payload = config_payload,
        .sections = g_ptr_array_new(),
        .has_vmdesc = vmdesc_text != NULL,
        .vmdesc_text = vmdesc_text,
    };
    for (size_t i = 0; i < n; i++) {
        g_ptr_array_add(parts.sections, sections[i]);
    }
    GBytes *bytes = qemu_stream_write(&parts);
    g_ptr_array_unref(parts.sections);
    return bytes;
}

GBytes *qemu_stream_write(const QemuStream *s)
{
    ByteWriter w;
    byte_writer_init(&w);
    if (!qemu_stream_write_chunks(s, append_chunk, &w)) {
        g_assert_not_reached();
    }
    GBytes *out = byte_writer_take(&w);
    byte_writer_clear(&w);
    return out;
}

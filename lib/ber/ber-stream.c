/*
 * BER migration streams: writing, reading, and conversion to and from
 * QEMU's format.  See include/vmscope/ber-stream.h and docs/ber.md.
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "vmscope/ber-stream.h"
#include "vmscope/ber-visitor.h"
#include "vmscope/error.h"
#include "vmscope/qemufile-visitor.h"
#include "qemu-stream/qemu-stream-impl.h"

struct BerStream {
    GBytes *input;
    GBytes *config;             /* the configuration payload, or NULL */
    GBytes *vmdesc;             /* QEMU's vmdesc text, or NULL */
    GPtrArray *sections;        /* BerStreamSection *, owned */
};

/* The header's first bytes: [APPLICATION 16], 16 bytes, UTF8String "vmscope-ber". */
static const uint8_t HEADER_START[] = {
    BER_ID_STREAM_HEADER, 0x10, BER_ID_UTF8, 0x0b,
    'v', 'm', 's', 'c', 'o', 'p', 'e', '-', 'b', 'e', 'r',
};

bool ber_stream_is(const uint8_t *data, size_t len)
{
    return len >= sizeof(HEADER_START) && memcmp(data, HEADER_START, sizeof(HEADER_START)) == 0;
}

/* ---- writing -------------------------------------------------------------- */

void ber_stream_put_header(BerWriter *bw)
{
    ber_open(bw, BER_ID_STREAM_HEADER);
    ber_put_string(bw, BER_ID_UTF8, BER_STREAM_MAGIC, strlen(BER_STREAM_MAGIC));
    ber_put_int(bw, BER_ID_INTEGER, BER_STREAM_VERSION);
    ber_close(bw);
}

void ber_stream_put_configuration(BerWriter *bw, const void *payload, size_t len)
{
    ber_open(bw, BER_ID_STREAM_CONFIG);
    ber_put_string(bw, BER_ID_OCTETS, payload, len);
    ber_close(bw);
}

/* What a device and an opaque section start with: the QEMU section header's fields. */
static void put_section_header(BerWriter *bw, uint32_t section_id, const char *name,
                               uint32_t instance_id, uint32_t version_id)
{
    ber_put_uint(bw, BER_ID_INTEGER, section_id);
    if (name) {
        ber_put_string(bw, BER_ID_UTF8, name, strlen(name));
        ber_put_uint(bw, BER_ID_INTEGER, instance_id);
        ber_put_uint(bw, BER_ID_INTEGER, version_id);
    }
}

bool ber_stream_put_device(BerWriter *bw, uint32_t section_id, const char *idstr,
                           uint32_t instance_id, bool footer, const VMStateDescription *vmsd,
                           void *opaque, const VMStateContext *ctx, GError **errp)
{
    ber_open(bw, BER_ID_STREAM_DEVICE);
    put_section_header(bw, section_id, idstr, instance_id, (uint32_t)vmsd->version_id);
    if (footer) {
        ber_put_bool(bw, true);
    }
    Visitor *v = ber_output_visitor_new_writer(bw->w);
    bool ok = vmstate_save(v, vmsd, opaque, ctx, errp);
    visit_free(v);
    ber_close(bw);
    return ok;
}

static bool has_header_fields(uint8_t type)
{
    return type == QEMU_VM_SECTION_START || type == QEMU_VM_SECTION_FULL;
}

void ber_stream_put_opaque(BerWriter *bw, const QemuStreamSection *sec)
{
    /* The fields first, apart, so that the payload (RAM) is copied once and never moved. */
    ByteWriter fw;
    BerWriter fields;
    byte_writer_init(&fw);
    ber_writer_init(&fields, &fw);
    ber_put_uint(&fields, BER_ID_INTEGER, sec->type);
    put_section_header(&fields, sec->section_id, has_header_fields(sec->type) ? sec->name : NULL,
                       sec->instance_id, sec->version_id);
    if (sec->has_footer) {
        ber_put_bool(&fields, true);
    }
    gsize len;
    const void *payload = g_bytes_get_data(sec->payload, &len);
    ber_put_header(&fields, BER_ID_OCTETS, len);
    ber_put_header(bw, BER_ID_STREAM_OPAQUE, byte_writer_len(&fw) + len);
    byte_writer_write(bw->w, fw.buf->data, fw.buf->len);
    byte_writer_write(bw->w, payload, len);
    ber_writer_clear(&fields);
    byte_writer_clear(&fw);
}

void ber_stream_put_end(BerWriter *bw, GBytes *vmdesc)
{
    ber_open(bw, BER_ID_STREAM_END);
    if (vmdesc) {
        gsize len;
        const void *text = g_bytes_get_data(vmdesc, &len);
        ber_put_string(bw, BER_ID_OCTETS, text, len);
    }
    ber_close(bw);
}

/* ---- reading -------------------------------------------------------------- */

static void section_free(gpointer p)
{
    BerStreamSection *sec = p;
    g_free(sec->name);
    ber_value_free(sec->state);
    if (sec->payload) {
        g_bytes_unref(sec->payload);
    }
    g_free(sec);
}

void ber_stream_free(BerStream *s)
{
    if (!s) {
        return;
    }
    g_bytes_unref(s->input);
    if (s->config) {
        g_bytes_unref(s->config);
    }
    if (s->vmdesc) {
        g_bytes_unref(s->vmdesc);
    }
    g_ptr_array_unref(s->sections);
    g_free(s);
}

char *ber_stream_where(const BerStreamSection *sec)
{
    return g_strdup_printf("section '%s' (id %" PRIu32 ")", sec->name ? sec->name : "?",
                           sec->section_id);
}

/* The children of one element, read in order. */
typedef struct Cursor {
    const uint8_t *data;        /* the whole stream */
    size_t pos, end;            /* the element's contents left */
    const char *where;
    GError **errp;
} Cursor;

static bool cursor_error(Cursor *c, VmsErrorCode code, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static bool cursor_error(Cursor *c, VmsErrorCode code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    vms_error_set_at(c->errp, code, c->pos, c->where, NULL, "%s", msg);
    return false;
}

/* The next child, which must be `id` (`what` names it); its contents at *contents. */
static bool cursor_take(Cursor *c, uint8_t id, const char *what, const uint8_t **contents,
                        size_t *len)
{
    BerTlv tlv;
    GError *err = NULL;
    if (c->pos >= c->end) {
        return cursor_error(c, VMS_ERROR_MISSING, "%s missing", what);
    }
    if (!ber_tlv_read(c->data + c->pos, c->end - c->pos, c->pos, false, &tlv, &err)) {
        vms_error_locate(err, VMS_NO_OFFSET, c->where, NULL);
        g_propagate_error(c->errp, err);
        return false;
    }
    if (tlv.id != id) {
        return cursor_error(c, VMS_ERROR_INVALID, "expected %s (%s), found %s", what,
                            ber_id_name(id), ber_id_name(tlv.id));
    }
    *contents = c->data + c->pos + tlv.hdr;
    *len = tlv.len;
    c->pos += tlv.hdr + tlv.len;
    return true;
}

static bool cursor_peek(const Cursor *c, uint8_t id)
{
    return c->pos < c->end && c->data[c->pos] == id;
}

static bool cursor_uint(Cursor *c, const char *what, uint64_t max, uint64_t *out)
{
    const uint8_t *p;
    size_t len, at = c->pos;
    bool negative;
    GError *err = NULL;
    if (!cursor_take(c, BER_ID_INTEGER, what, &p, &len)) {
        return false;
    }
    if (!ber_integer_get(p, len, &negative, out, &err)) {
        c->pos = at;
        cursor_error(c, (VmsErrorCode)err->code, "%s: %s", what, err->message);
        g_error_free(err);
        return false;
    }
    if (negative || *out > max) {
        c->pos = at;
        return cursor_error(c, VMS_ERROR_RANGE, "%s out of range", what);
    }
    return true;
}

static bool cursor_u32(Cursor *c, const char *what, uint32_t *out)
{
    uint64_t v;
    if (!cursor_uint(c, what, UINT32_MAX, &v)) {
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

/* A section's idstr: 1 to 255 bytes of text, as QEMU's section headers allow. */
static bool cursor_idstr(Cursor *c, char **out)
{
    const uint8_t *p;
    size_t len, at = c->pos;
    if (!cursor_take(c, BER_ID_UTF8, "the section name", &p, &len)) {
        return false;
    }
    if (len == 0 || len > 255 || memchr(p, '\0', len) || !g_utf8_validate((const char *)p,
                                                                          (gssize)len, NULL)) {
        c->pos = at;
        return cursor_error(c, VMS_ERROR_INVALID,
                            "the section name must be 1 to 255 bytes of UTF-8 without NUL");
    }
    *out = g_strndup((const char *)p, len);
    return true;
}

static bool cursor_footer(Cursor *c, bool *footer)
{
    const uint8_t *p;
    size_t len;
    *footer = false;
    if (!cursor_peek(c, BER_ID_BOOLEAN)) {
        return true;
    }
    if (!cursor_take(c, BER_ID_BOOLEAN, "the footer flag", &p, &len)) {
        return false;
    }
    *footer = len == 1 && p[0];
    return true;
}

static bool cursor_done(Cursor *c)
{
    return c->pos == c->end ||
           cursor_error(c, VMS_ERROR_EXTRA, "%zu bytes after the element's last field",
                        c->end - c->pos);
}

typedef struct Parser {
    BerStream *s;
    const uint8_t *data;
    size_t len;
    GHashTable *started;        /* section id -> START BerStreamSection (borrowed) */
} Parser;

static bool parse_header(Parser *p, Cursor *c)
{
    const uint8_t *magic;
    size_t len;
    uint64_t version;
    if (!cursor_take(c, BER_ID_UTF8, "the magic", &magic, &len)) {
        return false;
    }
    if (len != strlen(BER_STREAM_MAGIC) || memcmp(magic, BER_STREAM_MAGIC, len) != 0) {
        c->pos -= len + 2;
        return cursor_error(c, VMS_ERROR_INVALID, "bad magic: not a BER stream");
    }
    size_t at = c->pos;
    if (!cursor_uint(c, "the version", UINT32_MAX, &version)) {
        return false;
    }
    if (version != BER_STREAM_VERSION) {
        c->pos = at;
        return cursor_error(c, VMS_ERROR_VERSION, "unsupported BER stream version %" PRIu64
                            ", expected %d", version, BER_STREAM_VERSION);
    }
    return cursor_done(c);
}

static bool parse_device(Parser *p, Cursor *c, BerStreamSection *sec)
{
    sec->type = QEMU_VM_SECTION_FULL;
    if (!cursor_u32(c, "the section id", &sec->section_id) || !cursor_idstr(c, &sec->name) ||
        !cursor_u32(c, "the instance id", &sec->instance_id) ||
        !cursor_u32(c, "the version id", &sec->version_id) || !cursor_footer(c, &sec->footer)) {
        return false;
    }
    g_autofree char *where = ber_stream_where(sec);
    c->where = where;
    if (c->pos == c->end) {
        return cursor_error(c, VMS_ERROR_MISSING, "the device has no state");
    }
    GError *err = NULL;
    sec->offset = c->pos;
    sec->state = ber_value_parse(c->data + c->pos, c->end - c->pos, c->pos, &err);
    if (!sec->state) {
        vms_error_locate(err, VMS_NO_OFFSET, where, NULL);
        g_propagate_error(c->errp, err);
        return false;
    }
    const BerNode *root = ber_node(sec->state, 0);
    if (root->id != BER_ID_DESCRIBED) {
        return cursor_error(c, VMS_ERROR_INVALID,
                            "the state is %s, not a described struct ([APPLICATION 2])",
                            ber_id_name(root->id));
    }
    uint64_t version = ber_node(sec->state, 2)->value;
    if (version != sec->version_id) {
        return cursor_error(c, VMS_ERROR_VERSION,
                            "the state has version %" PRIu64 ", the section %" PRIu32, version,
                            sec->version_id);
    }
    c->pos = c->end;
    return true;
}

static bool parse_opaque(Parser *p, Cursor *c, BerStreamSection *sec)
{
    uint64_t type;
    size_t at = c->pos;
    if (!cursor_uint(c, "the section type", UINT8_MAX, &type)) {
        return false;
    }
    if (type < QEMU_VM_SECTION_START || type > QEMU_VM_SECTION_FULL) {
        c->pos = at;
        return cursor_error(c, VMS_ERROR_INVALID, "section type %" PRIu64 " is not one of "
                            "QEMU's (1 to 4)", type);
    }
    sec->type = (uint8_t)type;
    if (!cursor_u32(c, "the section id", &sec->section_id)) {
        return false;
    }
    if (has_header_fields(sec->type)) {
        if (!cursor_idstr(c, &sec->name) ||
            !cursor_u32(c, "the instance id", &sec->instance_id) ||
            !cursor_u32(c, "the version id", &sec->version_id)) {
            return false;
        }
        if (sec->type == QEMU_VM_SECTION_START) {
            g_hash_table_insert(p->started, GUINT_TO_POINTER(sec->section_id), sec);
        }
    } else {
        const BerStreamSection *start =
            g_hash_table_lookup(p->started, GUINT_TO_POINTER(sec->section_id));
        if (!start) {
            c->pos = at;
            return cursor_error(c, VMS_ERROR_INVALID, "%s of section id %" PRIu32
                                ", which never started", qemu_section_type_name(sec->type),
                                sec->section_id);
        }
        sec->name = g_strdup(start->name);
        sec->instance_id = start->instance_id;
        sec->version_id = start->version_id;
    }
    const uint8_t *payload;
    size_t len;
    if (!cursor_footer(c, &sec->footer) ||
        !cursor_take(c, BER_ID_OCTETS, "the payload", &payload, &len)) {
        return false;
    }
    sec->offset = (size_t)(payload - c->data);
    sec->payload = g_bytes_new_from_bytes(p->s->input, sec->offset, len);
    return cursor_done(c);
}

/* An octet string, the one child of a configuration or (optional) of the end. */
static bool parse_octets(Parser *p, Cursor *c, const char *what, bool optional, GBytes **out)
{
    const uint8_t *d;
    size_t len;
    if (optional && c->pos == c->end) {
        return true;
    }
    if (!cursor_take(c, BER_ID_OCTETS, what, &d, &len)) {
        return false;
    }
    *out = g_bytes_new_from_bytes(p->s->input, (size_t)(d - c->data), len);
    return cursor_done(c);
}

/*
 * The configuration payload is QEMU's configuration section as QEMU wrote it
 * (at offset `at`), all of it: the QEMU form of the stream starts with it.
 */
static bool check_configuration(GBytes *payload, size_t at, GError **errp)
{
    gsize len;
    const uint8_t *d = g_bytes_get_data(payload, &len);
    ByteReader r;
    g_autoptr(QObject) config = NULL;
    byte_reader_init(&r, d ? d : (const uint8_t *)"", len, at);
    if (!qs_parse_configuration(&r, &config, errp)) {
        return false;
    }
    if (byte_reader_left(&r)) {
        vms_error_set_at(errp, VMS_ERROR_EXTRA, byte_reader_offset(&r), "configuration", NULL,
                         "%zu bytes after QEMU's configuration section",
                         byte_reader_left(&r));
        return false;
    }
    return true;
}

static bool parse_stream(Parser *p, GError **errp)
{
    size_t pos = 0;
    bool seen_header = false;
    for (;;) {
        BerTlv tlv;
        if (pos == p->len) {
            vms_error_set_at(errp, VMS_ERROR_TRUNCATED, pos, NULL, NULL,
                             "truncated: the stream ends without its end element "
                             "([APPLICATION 20])");
            return false;
        }
        if (!ber_tlv_read(p->data + pos, p->len - pos, pos, true, &tlv, errp)) {
            return false;
        }
        Cursor c = { .data = p->data, .pos = pos + tlv.hdr, .end = pos + tlv.hdr + tlv.len,
                     .errp = errp };
        if (!seen_header && tlv.id != BER_ID_STREAM_HEADER) {
            vms_error_set_at(errp, VMS_ERROR_INVALID, pos, "header", NULL,
                             "not a BER stream: it starts with 0x%02x, not its header "
                             "([APPLICATION 16])", tlv.id);
            return false;
        }
        BerStreamSection *sec = NULL;
        bool ok;
        switch (tlv.id) {
        case BER_ID_STREAM_HEADER:
            c.where = "header";
            ok = !seen_header ? parse_header(p, &c)
                              : cursor_error(&c, VMS_ERROR_INVALID, "a second header");
            seen_header = true;
            break;
        case BER_ID_STREAM_CONFIG:
            c.where = "configuration";
            ok = !p->s->config && !p->s->sections->len
                     ? parse_octets(p, &c, "the configuration payload", false, &p->s->config) &&
                           check_configuration(p->s->config, c.end - g_bytes_get_size(p->s->config),
                                               errp)
                     : cursor_error(&c, VMS_ERROR_INVALID,
                                    "the configuration not right after the header");
            break;
        case BER_ID_STREAM_DEVICE:
        case BER_ID_STREAM_OPAQUE:
            c.where = "section header";
            sec = g_new0(BerStreamSection, 1);
            g_ptr_array_add(p->s->sections, sec);
            ok = tlv.id == BER_ID_STREAM_DEVICE ? parse_device(p, &c, sec)
                                                : parse_opaque(p, &c, sec);
            break;
        case BER_ID_STREAM_END:
            c.where = "end";
            ok = parse_octets(p, &c, "the vmdesc", true, &p->s->vmdesc);
            pos = c.end;
            if (ok && pos != p->len) {
                vms_error_set_at(errp, VMS_ERROR_EXTRA, pos, NULL, NULL,
                                 "%zu bytes after the end of the stream", p->len - pos);
                return false;
            }
            return ok;
        default:
            vms_error_set_at(errp, VMS_ERROR_INVALID, pos, NULL, NULL,
                             "unknown stream element 0x%02x", tlv.id);
            return false;
        }
        if (!ok) {
            return false;
        }
        pos = c.end;
    }
}

BerStream *ber_stream_parse(GBytes *data, GError **errp)
{
    BerStream *s = g_new0(BerStream, 1);
    s->input = g_bytes_ref(data);
    s->sections = g_ptr_array_new_with_free_func(section_free);
    gsize len;
    const uint8_t *d = g_bytes_get_data(data, &len);
    Parser p = {
        .s = s,
        .data = d ? d : (const uint8_t *)"",
        .len = len,
        .started = g_hash_table_new(g_direct_hash, g_direct_equal),
    };
    bool ok = parse_stream(&p, errp);
    g_hash_table_destroy(p.started);
    if (!ok) {
        ber_stream_free(s);
        return NULL;
    }
    return s;
}

size_t ber_stream_n_sections(const BerStream *s)
{
    return s->sections->len;
}

const BerStreamSection *ber_stream_section(const BerStream *s, size_t index)
{
    return index < s->sections->len ? g_ptr_array_index(s->sections, index) : NULL;
}

GBytes *ber_stream_configuration(const BerStream *s)
{
    return s->config;
}

GBytes *ber_stream_vmdesc(const BerStream *s)
{
    return s->vmdesc;
}

char *ber_stream_machine(const BerStream *s)
{
    gsize len;
    const uint8_t *d = s->config ? g_bytes_get_data(s->config, &len) : NULL;
    ByteReader r;
    uint32_t n;
    const uint8_t *name;
    if (!d) {
        return NULL;
    }
    byte_reader_init(&r, d, len, 0);
    if (!byte_reader_be32(&r, &n, NULL) || !byte_reader_take(&r, n, &name, NULL)) {
        return NULL;
    }
    return g_strndup((const char *)name, n);
}

VMStateDescription *ber_stream_section_description(const BerStreamSection *sec,
                                                   size_t *state_size, GError **errp)
{
    g_autoptr(QObject) desc = ber_describe(sec->state, 0, state_size, errp);
    VMStateDescription *vmsd = desc ? vmstate_from_description_depth(desc, *state_size,
                                                                    BER_MAX_DEPTH, errp)
                                    : NULL;
    if (!vmsd) {
        g_autofree char *where = ber_stream_where(sec);
        if (errp && *errp) {
            vms_error_locate(*errp, VMS_NO_OFFSET, where, NULL);
        }
    }
    return vmsd;
}

/* ---- conversion ------------------------------------------------------------ */

GBytes *ber_stream_from_qemu(const QemuStream *qs, GError **errp)
{
    ByteWriter w;
    BerWriter bw;
    byte_writer_init(&w);
    ber_writer_init(&bw, &w);
    ber_stream_put_header(&bw);
    GBytes *config = qemu_stream_configuration_payload(qs);
    if (config) {
        gsize len;
        const void *d = g_bytes_get_data(config, &len);
        ber_stream_put_configuration(&bw, d, len);
    }
    bool ok = true;
    for (size_t i = 0; ok && i < qemu_stream_n_sections(qs); i++) {
        const QemuStreamSection *sec = qemu_stream_section(qs, i);
        const uint8_t *state;
        size_t size;
        const VMStateDescription *vmsd = qemu_stream_section_device(qs, i, &state, &size);
        if (vmsd) {
            ok = ber_stream_put_device(&bw, sec->section_id, sec->name, sec->instance_id,
                                       sec->has_footer, vmsd, (void *)state, NULL, errp);
            if (!ok) {
                g_autofree char *where = qemu_stream_section_display_name(sec);
                vms_error_prefix(errp, "section '%s'", where);
            }
        } else {
            ber_stream_put_opaque(&bw, sec);
        }
    }
    ber_stream_put_end(&bw, qemu_stream_vmdesc_text(qs));
    ber_writer_clear(&bw);
    GBytes *out = ok ? byte_writer_take(&w) : NULL;
    byte_writer_clear(&w);
    return out;
}

/* A device's payload: its state replayed (*vmdesc NULL) or through its rebuilt description. */
static bool device_payload(const BerStreamSection *sec, QemuStreamSection *out, QObject *vmdesc,
                           GError **errp)
{
    ByteWriter w;
    bool ok;
    byte_writer_init(&w);
    if (!vmdesc) {
        Visitor *v = qemufile_output_visitor_new(&w);
        ok = ber_value_visit(sec->state, 0, v, sec->name, errp);
        visit_free(v);
    } else {
        size_t size;
        g_autoptr(VMStateDescription) vmsd = ber_stream_section_description(sec, &size, errp);
        g_autofree uint8_t *state = vmsd ? g_malloc0(size) : NULL;
        Visitor *v = vmsd ? ber_input_visitor_new_value(sec->state) : NULL;
        ok = vmsd && vmstate_load(v, vmsd, state, (int)sec->version_id, NULL, errp) &&
             qemu_stream_save_device(&w, vmsd, state, NULL, vmdesc, errp);
        visit_free(v);
    }
    out->payload = byte_writer_take(&w);
    byte_writer_clear(&w);
    if (!ok && errp && *errp) {
        g_autofree char *where = ber_stream_where(sec);
        vms_error_locate(*errp, VMS_NO_OFFSET, where, NULL);     /* once, if not there yet */
    }
    return ok;
}

static void qemu_section_free(gpointer p)
{
    QemuStreamSection *sec = p;
    g_free(sec->name);
    if (sec->payload) {
        g_bytes_unref(sec->payload);
    }
    g_free(sec);
}

GBytes *ber_stream_to_qemu(const BerStream *s, GError **errp)
{
    g_autoptr(GPtrArray) sections = g_ptr_array_new_with_free_func(qemu_section_free);
    g_autoptr(QObject) devices = s->vmdesc ? NULL : qlist_new();
    for (size_t i = 0; i < s->sections->len; i++) {
        const BerStreamSection *b = g_ptr_array_index(s->sections, i);
        QemuStreamSection *q = g_new0(QemuStreamSection, 1);
        g_ptr_array_add(sections, q);
        *q = (QemuStreamSection){
            .type = b->type, .section_id = b->section_id, .name = g_strdup(b->name),
            .instance_id = b->instance_id, .version_id = b->version_id,
            .has_footer = b->footer,
        };
        if (!b->state) {
            q->payload = g_bytes_ref(b->payload);
            continue;
        }
        QObject *entry = NULL;
        if (devices) {
            entry = qdict_new();
            qdict_put(entry, "name", qstring_from_str(b->name));
            qdict_put(entry, "instance_id", qnum_from_uint(b->instance_id));
            qlist_append(devices, entry);
        }
        if (!device_payload(b, q, entry, errp)) {
            return NULL;
        }
    }
    g_autoptr(GBytes) vmdesc = NULL;
    if (s->vmdesc) {
        vmdesc = g_bytes_ref(s->vmdesc);
    } else {
        g_autoptr(QObject) desc = qdict_new();
        qdict_put(desc, "page_size", qnum_from_uint(4096));
        qdict_put(desc, "devices", qobject_ref(devices));
        char *json = qobject_to_json(desc, false);
        vmdesc = g_bytes_new_take(json, strlen(json));
    }
    return qemu_stream_write_parts(s->config, (QemuStreamSection *const *)sections->pdata,
                                   sections->len, vmdesc);
}

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
    g_free(sec->raw_reason);
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
    GString *name = g_string_new(sec->name);
    if (sec->instance_id) {
        g_string_append_printf(name, ":%" PRIu32, sec->instance_id);
    }
    if (sec->occurrence) {
        g_string_append_printf(name, "#%" PRIu32, sec->occurrence);
    }
    return g_string_free(name, FALSE);
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
    g_ptr_array_unref(s->warnings);
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
    uint64_t start = byte_reader_offset(r);
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
    QObject *bits = qdict_get(config, "target-page-bits");
    uint64_t b;
    if (bits && qnum_get_uint(bits, &b) && (b < 9 || b > 16)) {
        vms_error_set_at(errp, VMS_ERROR_INVALID, start, "configuration", NULL,
                         "target-page-bits %" PRIu64 " out of range 9..16", b);
        return false;
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

/* ---- parsing ------------------------------------------------------------- */

typedef enum { FOOTERS_UNKNOWN, FOOTERS_YES, FOOTERS_NO } FooterMode;

typedef struct Parser {
    QemuStream *s;
    const uint8_t *data;
    size_t len;
    ByteReader r;
    QsDescs *descs;             /* what device sections are decoded with; NULL: nothing */
    QsDescs *own;               /* with given descriptions: the stream's own vmdesc (checked) */
    GHashTable *started;        /* section id -> START section (borrowed) */
    GHashTable *occurrences;    /* "name:instance" -> FULL sections so far */
    FooterMode footers;
    QsRam ram;
    bool check;                 /* qemu_stream_check: problems are findings where possible */
    bool stopped;               /* check: stopped at a finding it cannot read past */
    bool keep_misfits;          /* QemuStreamOptions.keep_misfits */
    QemuStreamCache *cache;     /* QemuStreamOptions.cache, with given descriptions */
    const QemuStreamSection *first_full;   /* without descriptions: for the error */
} Parser;

static uint64_t header_offset(const QemuStreamSection *sec)
{
    return sec->offset - (1 + 4 + 1 + strlen(sec->name) + 4 + 4);
}

/* Take `err` as a warning, keeping the warnings in the order of their offsets. */
static void add_warning(QemuStream *s, GError *err)
{
    uint64_t at = VMS_NO_OFFSET, prev;
    vms_error_offset(err, &at);
    guint i = s->warnings->len;
    while (i > 0 && (!vms_error_offset(g_ptr_array_index(s->warnings, i - 1), &prev) ||
                     prev > at)) {
        i--;
    }
    g_ptr_array_insert(s->warnings, (gint)i, err);
}

/* A located error, as warnings and findings are (error.h). */
static GError *located(uint64_t at, const char *where, const char *fmt, va_list ap)
    G_GNUC_PRINTF(3, 0);
static GError *located(uint64_t at, const char *where, const char *fmt, va_list ap)
{
    g_autofree char *text = g_strdup_vprintf(fmt, ap);
    GError *err = NULL;
    vms_error_set_at(&err, VMS_ERROR_INVALID, at, where, NULL, "%s", text);
    return err;
}

static void warn(Parser *p, uint64_t at, const char *where, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);
static void warn(Parser *p, uint64_t at, const char *where, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_warning(p->s, located(at, where, fmt, ap));
    va_end(ap);
}

/*
 * Something a destination would fail on, after which reading can go on: an
 * error, or, when checking, a finding (and true).
 */
static bool problem(Parser *p, GError **errp, GError *err)
{
    if (p->check) {
        add_warning(p->s, err);
        return true;
    }
    g_propagate_error(errp, err);
    return false;
}

static bool problem_at(Parser *p, GError **errp, uint64_t at, const char *where,
                       const char *fmt, ...) G_GNUC_PRINTF(5, 6);
static bool problem_at(Parser *p, GError **errp, uint64_t at, const char *where,
                       const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    GError *err = located(at, where, fmt, ap);
    va_end(ap);
    return problem(p, errp, err);
}

static bool is_tag(uint8_t b)
{
    return b == QEMU_VM_EOF || (b >= QEMU_VM_SECTION_START && b <= QEMU_VM_SECTION_FULL) ||
           b == QEMU_VM_COMMAND;
}

static uint32_t be32_at(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Is there something a stream can go on with at `at` (after a footer)? */
static bool plausible_next(const Parser *p, uint64_t at)
{
    const uint8_t *d = p->data;
    size_t n = p->len;
    if (at >= n) {
        return false;
    }
    switch (d[at]) {
    case QEMU_VM_EOF:
        return at + 1 == n || d[at + 1] == QEMU_VM_VMDESCRIPTION;
    case QEMU_VM_SECTION_PART:
    case QEMU_VM_SECTION_END:
        return n - at >= 5 && g_hash_table_contains(p->started,
                                                    GUINT_TO_POINTER(be32_at(d + at + 1)));
    case QEMU_VM_SECTION_START:
    case QEMU_VM_SECTION_FULL: {
        size_t len = n - at >= 6 ? d[at + 5] : 0;
        if (len == 0 || n - at - 6 < len + 8) {
            return false;
        }
        for (size_t i = 0; i < len; i++) {
            if (d[at + 6 + i] <= ' ' || d[at + 6 + i] >= 0x7f) {
                return false;
            }
        }
        return true;
    }
    default:
        return false;
    }
}

/*
 * Where a section whose description is missing or wrong ends, in a stream
 * with footers: at the first footer of its id (0x7e, be32 id) from `from`
 * on that is followed by something a stream goes on with (a section header
 * whose name is printable, a part of a started section, EOF at the end of
 * the data or before a vmdesc).  *at: the footer's offset.
 */
static bool find_footer(const Parser *p, uint64_t from, uint32_t id, uint64_t *at)
{
    const uint8_t want[5] = { QEMU_VM_SECTION_FOOTER, (uint8_t)(id >> 24), (uint8_t)(id >> 16),
                              (uint8_t)(id >> 8), (uint8_t)id };
    if (p->footers == FOOTERS_NO) {
        return false;
    }
    for (size_t q = from; q < p->len && p->len - q >= 5; q++) {
        const uint8_t *f = memchr(p->data + q, QEMU_VM_SECTION_FOOTER, p->len - q);
        if (!f) {
            return false;
        }
        q = (size_t)(f - p->data);
        if (p->len - q >= 5 && memcmp(f, want, 5) == 0 && plausible_next(p, q + 5)) {
            *at = q;
            return true;
        }
    }
    return false;
}

static bool footer_at(const Parser *p, uint64_t at, uint32_t id)
{
    return p->len - MIN(at, p->len) >= 5 && p->data[at] == QEMU_VM_SECTION_FOOTER &&
           be32_at(p->data + at + 1) == id;
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
        sec->has_footer = true;
        p->footers = FOOTERS_YES;
        if (id != sec->section_id) {
            return problem_at(p, errp, at, where, "footer is for section id %" PRIu32, id);
        }
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

/*
 * The payload of a device section is [sec->offset, end), decoded by dev
 * (taken) to `state` (taken; NULL: made from dev).
 */
static void section_decoded_as(Parser *p, QemuStreamSection *sec, size_t index, QsDevice *dev,
                               uint64_t end, QObject *state)
{
    sec->size = end - sec->offset;
    g_clear_pointer(&sec->payload, g_bytes_unref);
    sec->payload = g_bytes_new_from_bytes(p->s->input, sec->offset, sec->size);
    qobject_unref(sec->state);
    sec->state = state ? state : qs_device_to_qobject(dev);
    QsDevice **slot = (QsDevice **)&g_ptr_array_index(p->s->devices, index);
    qs_device_free(*slot);
    *slot = dev;
    p->r.pos = end - p->r.origin;
}

static void section_decoded(Parser *p, QemuStreamSection *sec, size_t index, QsDevice *dev,
                            uint64_t end)
{
    section_decoded_as(p, sec, index, dev, end, NULL);
}

/*
 * What QEMU's vmdesc says of an old-style section (SaveVMHandlers
 * save_state, no VMStateDescription): its bytes, as one "data" buffer.  The
 * same stands for a section that has no description at all.
 */
static QObject *data_entry(const QemuStreamSection *sec, uint64_t size)
{
    QObject *entry = qdict_new();
    qdict_put(entry, "name", qstring_from_str(sec->name));
    qdict_put(entry, "instance_id", qnum_from_uint(sec->instance_id));
    qdict_put(entry, "size", qnum_from_uint(size));
    QObject *fields = qlist_new();
    if (size) {
        QObject *data = qdict_new();
        qdict_put(data, "name", qstring_from_str("data"));
        qdict_put(data, "size", qnum_from_uint(size));
        qdict_put(data, "type", qstring_from_str("buffer"));
        qlist_append(fields, data);
    }
    qdict_put(entry, "fields", fields);
    return entry;
}

static bool is_old_style(const QObject *entry)
{
    return !qdict_haskey(entry, "vmsd_name");
}

/*
 * A description that does not fit the section: it covers `covered` bytes
 * from `start`, the section has `size`.  Located where they part.
 */
static GError *misfit(uint64_t start, uint64_t covered, uint64_t size, const char *where)
{
    uint64_t diff = covered > size ? covered - size : size - covered;
    GError *err = NULL;
    vms_error_set_at(&err, VMS_ERROR_INVALID, start + MIN(covered, size), where, NULL,
                     "the description covers %" PRIu64 " bytes, the section has %" PRIu64
                     " (%" PRIu64 " byte%s %s)", covered, size, diff, diff == 1 ? "" : "s",
                     covered < size ? "short" : "too many");
    return err;
}

/* The section's bytes up to `end` as one "data" buffer; `reason`: why. */
static bool keep_data(Parser *p, QemuStreamSection *sec, size_t index, uint64_t end,
                      const char *reason, const char *where, GError **errp)
{
    g_autoptr(QObject) entry = data_entry(sec, end - sec->offset);
    QsDevice *dev = qs_device_learn(entry, sec->offset, end - sec->offset, sec->version_id,
                                    true, where, errp);
    ByteReader r;
    byte_reader_init(&r, p->data + sec->offset, end - sec->offset, sec->offset);
    if (!dev || !qs_device_load(dev, &r, (int)sec->version_id, where, errp)) {
        qs_device_free(dev);
        return false;
    }
    section_decoded(p, sec, index, dev, end);
    g_free(sec->raw_reason);
    sec->raw_reason = g_strdup(reason);
    return true;
}

/*
 * The section cannot be decoded: `err` says why.  Checking, when a footer
 * shows where the section ends, that is a finding, and the section is kept
 * as bytes; otherwise it is the error.
 */
static bool undecodable(Parser *p, QemuStreamSection *sec, size_t index, uint64_t known_end,
                        GError *err, const char *where, GError **errp)
{
    uint64_t end = known_end;
    if ((p->check || p->keep_misfits) &&
        (end || find_footer(p, sec->offset, sec->section_id, &end))) {
        g_autofree char *reason = g_strdup(err->message);
        add_warning(p->s, err);
        return keep_data(p, sec, index, end, reason, where, errp);
    }
    g_propagate_error(errp, err);
    return false;
}

/*
 * Decode a device section with its description `entry`; exact: the
 * stream's own vmdesc entry.  The decode must end where the section does:
 * at known_end if that is given, else where a footer is (if the stream has
 * footers).  A description that does not fit is an error that says by how
 * much; one that runs past the end of a section it does not describe
 * exactly is named as that, not by what it then misread.
 */
static bool decode_described(Parser *p, QemuStreamSection *sec, size_t index, QObject *entry,
                             bool exact, uint64_t known_end, const char *where, GError **errp)
{
    uint64_t start = sec->offset, end = known_end;
    GError *err = NULL;

    if (is_old_style(entry) && !exact &&
        (end || find_footer(p, start, sec->section_id, &end))) {
        /* Bytes of QEMU's own save_state: their size is this section's, not the donor's. */
        return keep_data(p, sec, index, end, "an old-style section: QEMU saves it without a "
                         "description (save_state), so its bytes are all there is", where,
                         errp);
    }
    const QsCacheEntry *hit = p->cache && !exact && !known_end
        ? qs_cache_find(p->cache, sec, p->data + start, p->len - start) : NULL;
    if (hit && footer_at(p, start + g_bytes_get_size(hit->payload), sec->section_id)) {
        /* The same bytes as last time, and the same footer after them: the same decode. */
        qs_cache_reused(p->cache);
        section_decoded_as(p, sec, index, qs_device_ref(hit->dev),
                           start + g_bytes_get_size(hit->payload), qobject_ref(hit->state));
        return true;
    }
    g_autoptr(QsDevice) dev = qs_device_learn(entry, start, p->len - start, sec->version_id,
                                              exact, where, &err);
    ByteReader r;
    byte_reader_init(&r, p->data + start, (known_end ? known_end : p->len) - start, start);
    if (!dev || !qs_device_load(dev, &r, (int)sec->version_id, where, &err)) {
        uint64_t at;
        if (!exact && dev && (end || find_footer(p, start, sec->section_id, &end)) &&
            vms_error_offset(err, &at) && at >= end) {
            g_clear_error(&err);
            vms_error_set_at(&err, VMS_ERROR_INVALID, end, where, NULL,
                             "the description runs past the section's end (the section has %"
                             PRIu64 " bytes)", end - start);
        }
        return undecodable(p, sec, index, known_end, err, where, errp);
    }
    uint64_t decoded = byte_reader_offset(&r);
    if (!end && p->footers != FOOTERS_NO && !footer_at(p, decoded, sec->section_id)) {
        find_footer(p, start, sec->section_id, &end);
    }
    if (end && decoded != end) {
        return undecodable(p, sec, index, end,
                           misfit(start, decoded - start, end - start, where), where, errp);
    }
    section_decoded(p, sec, index, g_steal_pointer(&dev), decoded);
    if (p->cache && !exact && footer_at(p, decoded, sec->section_id)) {
        qs_cache_store(p->cache, sec, g_ptr_array_index(p->s->devices, index), sec->state);
    }
    return true;
}

static bool no_descriptions(Parser *p, GError **errp)
{
    const QemuStreamSection *sec = p->first_full;
    g_autofree char *where = qs_where_section(sec);
    vms_error_set_at(errp, VMS_ERROR_MISSING, sec->offset, where, NULL,
                     "cannot decode: the stream has no vmdesc, and no descriptions were given");
    return false;
}

/* Which of the sections of its idstr and instance this one is. */
static uint32_t count_occurrence(Parser *p, const QemuStreamSection *sec)
{
    char *key = qs_device_key(sec->name, sec->instance_id);
    uint32_t n = GPOINTER_TO_UINT(g_hash_table_lookup(p->occurrences, key));
    g_hash_table_insert(p->occurrences, key, GUINT_TO_POINTER(n + 1));
    return n;
}

/*
 * A device section: decoded with its description, or kept as bytes (with a
 * warning) when there is none and its footer shows where it ends.
 * known_end: where it ends when that is known already (0: not known).
 */
static bool parse_full(Parser *p, QemuStreamSection *sec, size_t index, uint64_t known_end,
                       const char *where, GError **errp)
{
    uint64_t start = sec->offset, end = known_end, version;
    if (!p->descs) {
        /*
         * Nothing to decode with: walk on by footers to see whether a vmdesc
         * turns up after EOF (with data after it, or it would have been
         * found); the error comes at EOF if none does.
         */
        p->first_full = p->first_full ? p->first_full : sec;
        if (!find_footer(p, start, sec->section_id, &end)) {
            return no_descriptions(p, errp);
        }
        return keep_data(p, sec, index, end, "no descriptions", where, errp);
    }

    bool own = qs_descs_own(p->descs);
    const char *source = own ? "the vmdesc" : "the descriptions given";
    QObject *entry = qs_descs_take(p->descs, sec->name, sec->instance_id);
    g_autofree char *why = NULL;
    if (!entry) {
        why = g_strdup_printf("not described by %s", source);
    } else if (qdict_haskey(entry, "version") &&
               (!qnum_get_uint(qdict_get(entry, "version"), &version) ||
                version != sec->version_id)) {
        g_autofree char *v = qobject_to_json(qdict_get(entry, "version"), false);
        why = g_strdup_printf("%s %s version %s, the section has version %" PRIu32, source,
                              own ? "has" : "have", v, sec->version_id);
        if (own && !p->check) {
            vms_error_set_at(errp, VMS_ERROR_INVALID, start, where, NULL, "%s", why);
            return false;
        }
    }
    if (!why) {
        return decode_described(p, sec, index, entry, own, known_end, where, errp);
    }
    if (!end && !find_footer(p, start, sec->section_id, &end)) {
        vms_error_set_at(errp, VMS_ERROR_INVALID, start, where, NULL,
                         "cannot decode: %s, and no footer shows where the section ends", why);
        return false;
    }
    if (p->check) {
        warn(p, start, where, "%s", why);
    } else {
        warn(p, start, where, "%s: kept as %" PRIu64 " bytes of data", why, end - start);
    }
    return keep_data(p, sec, index, end, why, where, errp);
}

static bool parse_ram(Parser *p, QemuStreamSection *sec, const char *where, GError **errp)
{
    uint64_t start = sec->offset;
    if (strcmp(sec->name, "ram") != 0) {
        vms_error_set_at(errp, VMS_ERROR_INVALID, start, where, NULL,
                         "cannot decode iterative section '%s' (only 'ram' is known)", sec->name);
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
    sec->offset = byte_reader_offset(&p->r);
    if (type == QEMU_VM_SECTION_FULL) {
        sec->occurrence = count_occurrence(p, sec);
        if (!parse_full(p, sec, p->s->sections->len - 1, 0, where, errp)) {
            return false;
        }
    } else if (!parse_ram(p, sec, where, errp)) {
        return false;
    }
    return read_footer(p, sec, where, errp);
}

/* Duplicate sections: one warning for each idstr and instance id that has several. */
static void warn_duplicates(Parser *p)
{
    QemuStream *s = p->s;
    for (size_t i = 0; i < s->sections->len; i++) {
        const QemuStreamSection *first = g_ptr_array_index(s->sections, i);
        if (first->type != QEMU_VM_SECTION_FULL || first->occurrence != 0) {
            continue;
        }
        g_autoptr(GString) ids = g_string_new(NULL);
        size_t count = 0;
        for (size_t k = i; k < s->sections->len; k++) {
            const QemuStreamSection *sec = g_ptr_array_index(s->sections, k);
            if (sec->type == QEMU_VM_SECTION_FULL && sec->instance_id == first->instance_id &&
                strcmp(sec->name, first->name) == 0) {
                g_string_append_printf(ids, "%s%" PRIu32, count ? ", " : "", sec->section_id);
                count++;
            }
        }
        if (count > 1) {
            g_autofree char *where = g_strdup_printf("section '%s' instance %" PRIu32,
                                                     first->name, first->instance_id);
            warn(p, header_offset(first), where, "%zu sections (ids %s): a destination QEMU"
                 " would load all of them into one device", count, ids->str);
        }
    }
}

/* Every device the stream's own vmdesc describes must have had its section. */
static bool check_all_described(Parser *p, QsDescs *descs, uint64_t at, GError **errp)
{
    const char *name;
    uint64_t instance_id;
    guint listed, used;
    if (!qs_descs_unused(descs, &name, &instance_id, &listed, &used)) {
        return true;
    }
    if (used == 0) {
        return problem_at(p, errp, at, NULL, "the vmdesc describes section '%s' instance %"
                          PRIu64 ", which is not in the stream", name, instance_id);
    }
    return problem_at(p, errp, at, NULL, "the vmdesc describes section '%s' instance %" PRIu64
                      " %u times, the stream has %u such sections", name, instance_id, listed,
                      used);
}

/*
 * Checking with given descriptions: the stream's own vmdesc must still
 * agree with the sections (entries, versions, sizes).
 */
static void check_own_vmdesc(Parser *p, uint64_t eof)
{
    QemuStream *s = p->s;
    for (size_t i = 0; i < s->sections->len; i++) {
        const QemuStreamSection *sec = g_ptr_array_index(s->sections, i);
        if (sec->type != QEMU_VM_SECTION_FULL) {
            continue;
        }
        g_autofree char *where = qs_where_section(sec);
        QObject *entry = qs_descs_take(p->own, sec->name, sec->instance_id);
        uint64_t version;
        if (!entry) {
            warn(p, sec->offset, where, "not described by the vmdesc");
            continue;
        }
        if (qdict_haskey(entry, "version") &&
            (!qnum_get_uint(qdict_get(entry, "version"), &version) ||
             version != sec->version_id)) {
            g_autofree char *v = qobject_to_json(qdict_get(entry, "version"), false);
            warn(p, sec->offset, where, "the vmdesc has version %s, the section has version %"
                 PRIu32, v, sec->version_id);
            continue;
        }
        GError *err = NULL;
        g_autoptr(QsDevice) dev = qs_device_learn(entry, sec->offset, p->len - sec->offset,
                                                  sec->version_id, true, where, &err);
        if (!dev) {
            add_warning(s, err);
        } else if (dev->wire_size != sec->size) {
            add_warning(s, misfit(sec->offset, dev->wire_size, sec->size, where));
        }
    }
    check_all_described(p, p->own, eof, NULL);
}

/*
 * Checking a stream whose vmdesc is followed by more data: its sections
 * were kept as bytes by their footers; decode them with that vmdesc now.
 */
static bool decode_later(Parser *p, uint64_t json_at, size_t json_len, uint64_t eof,
                         GError **errp)
{
    QObject *vmdesc = NULL;
    GError *err = NULL;
    if (!qs_parse_vmdesc_json((const char *)p->data + json_at, json_len, json_at, "vmdesc",
                              &vmdesc, &err) ||
        !(p->descs = qs_descs_new(vmdesc, true, json_at, &err))) {
        qobject_unref(vmdesc);
        return problem(p, errp, err);
    }
    qobject_unref(vmdesc);
    size_t pos = p->r.pos;
    for (size_t i = 0; i < p->s->sections->len; i++) {
        QemuStreamSection *sec = g_ptr_array_index(p->s->sections, i);
        g_autofree char *where = qs_where_section(sec);
        if (sec->type == QEMU_VM_SECTION_FULL &&
            !parse_full(p, sec, i, sec->offset + sec->size, where, errp)) {
            return false;
        }
    }
    p->r.pos = pos;
    return check_all_described(p, p->descs, eof, errp);
}

/* After EOF: the vmdesc, or nothing. */
static bool parse_end(Parser *p, uint64_t eof, GError **errp)
{
    QemuStream *s = p->s;
    uint64_t after = eof + 1;
    s->eof_offset = eof;
    if (s->has_vmdesc) {
        if (after != s->vmdesc_offset &&
            !problem_at(p, errp, after, NULL, "unexpected data after EOF (the vmdesc starts at"
                        " offset %" PRIu64 ")", s->vmdesc_offset)) {
            return false;
        }
    } else if (after < p->len && p->data[after] == QEMU_VM_VMDESCRIPTION &&
               p->len - after >= 5) {
        /* A vmdesc by its frame, going forward from EOF, that does not end the data. */
        uint64_t json_at = after + 5, len = be32_at(p->data + after + 1);
        if (len > p->len - json_at) {
            if (!problem_at(p, errp, json_at, "vmdesc", "truncated: need %" PRIu64
                            " bytes, %" PRIu64 " left", len, p->len - json_at)) {
                return false;
            }
        } else {
            uint64_t more = p->len - json_at - len;
            if (!problem_at(p, errp, json_at + len, NULL, "%" PRIu64 " byte%s of data after"
                            " the vmdesc", more, more == 1 ? "" : "s")) {
                return false;
            }
            if (!p->descs && p->first_full && !decode_later(p, json_at, len, eof, errp)) {
                return false;
            }
        }
    } else if (after < p->len) {
        if (!problem_at(p, errp, after, NULL, "unexpected data after EOF: 0x%02x",
                        p->data[after])) {
            return false;
        }
    }
    if (!p->descs && p->first_full) {
        return no_descriptions(p, errp);
    }
    if (p->descs && qs_descs_own(p->descs) && !check_all_described(p, p->descs, eof, errp)) {
        return false;
    }
    if (p->own && p->check) {
        check_own_vmdesc(p, eof);
    }
    warn_duplicates(p);
    return true;
}

/* The vmdesc that ends the data, if any; descriptions to decode with. */
static bool load_vmdesc(Parser *p, const QemuStreamOptions *opts, GError **errp)
{
    QemuStream *s = p->s;
    size_t at;
    if (qs_find_vmdesc(p->data, p->len, &at)) {
        uint64_t json_at = at + 5;
        QObject *desc = NULL;
        if (!qs_parse_vmdesc_json((const char *)p->data + json_at, p->len - json_at, json_at,
                                  "vmdesc", &desc, errp)) {
            return false;
        }
        s->vmdesc = desc;
        s->has_vmdesc = true;
        s->vmdesc_offset = at;
        s->vmdesc_text = g_bytes_new_from_bytes(s->input, json_at, p->len - json_at);
        QsDescs *own = qs_descs_new(desc, true, json_at, errp);
        if (!own) {
            return false;
        }
        if (opts && opts->desc) {
            p->own = own;
        } else {
            p->descs = own;
        }
    }
    if (opts && opts->desc && !(p->descs = qs_descs_new(opts->desc, false, VMS_NO_OFFSET, errp))) {
        return false;
    }
    if (opts && opts->desc) {
        p->keep_misfits = opts->keep_misfits;
        p->cache = opts->cache;
        if (p->cache) {
            qs_cache_begin(p->cache, opts->desc);
            s->shares_devices = true;
        }
    }
    uint32_t page_size = s->has_vmdesc ? qs_descs_page_size(p->own ? p->own : p->descs)
                                       : p->descs ? qs_descs_page_size(p->descs) : 0;
    s->page_size = page_size ? page_size : s->page_size;
    return true;
}

static bool parse_stream(Parser *p, const QemuStreamOptions *opts, GError **errp)
{
    QemuStream *s = p->s;
    GError *err = NULL;
    uint32_t magic;

    byte_reader_init(&p->r, p->data, p->len, 0);
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
    if (!load_vmdesc(p, opts, errp)) {
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
                    page_size = 1u << b;        /* 9..16: qs_parse_configuration */
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
            return parse_end(p, at, errp);
        case QEMU_VM_COMMAND:
            vms_error_set_at(errp, VMS_ERROR_INVALID, at, NULL, NULL,
                             "QEMU_VM_COMMAND (postcopy/COLO) is not supported");
            return false;
        case QEMU_VM_VMDESCRIPTION:
            vms_error_set_at(errp, VMS_ERROR_INVALID, at, NULL, NULL, "vmdesc (0x06) before EOF");
            return false;
        default:
            /* Nothing says how long it is: nothing after it can be read. */
            if (!problem_at(p, errp, at, NULL, "unknown section type 0x%02x%s", tag,
                            p->check ? "; the rest of the stream cannot be read" : "")) {
                return false;
            }
            warn_duplicates(p);
            p->stopped = true;
            return true;
        }
    }
}

static QemuStream *parse(GBytes *data, const QemuStreamOptions *opts, bool check,
                         GError **errp)
{
    QemuStream *s = g_new0(QemuStream, 1);
    s->input = g_bytes_ref(data);
    s->sections = g_ptr_array_new_with_free_func(section_free);
    s->devices = g_ptr_array_new_with_free_func((GDestroyNotify)qs_device_free);
    s->warnings = g_ptr_array_new_with_free_func((GDestroyNotify)g_error_free);
    s->page_size = DEFAULT_PAGE_SIZE;

    Parser p = {
        .s = s,
        .started = g_hash_table_new(g_direct_hash, g_direct_equal),
        .occurrences = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
        .footers = FOOTERS_UNKNOWN,
        .check = check,
    };
    p.data = g_bytes_get_data(s->input, &p.len);
    bool ok = parse_stream(&p, opts, errp);
    g_hash_table_destroy(p.started);
    g_hash_table_destroy(p.occurrences);
    qs_descs_free(p.descs);
    qs_descs_free(p.own);
    qs_ram_clear(&p.ram);
    if (!ok) {
        qemu_stream_free(s);
        return NULL;
    }
    return s;
}

QemuStream *qemu_stream_parse_with(GBytes *data, const QemuStreamOptions *opts, GError **errp)
{
    return parse(data, opts, false, errp);
}

QemuStream *qemu_stream_parse(GBytes *data, GError **errp)
{
    return parse(data, NULL, false, errp);
}

bool qemu_stream_check(GBytes *data, const QemuStreamOptions *opts, GPtrArray **findings,
                       GError **errp)
{
    QemuStream *s = parse(data, opts, true, errp);
    if (!s) {
        return false;
    }
    *findings = g_steal_pointer(&s->warnings);
    s->warnings = g_ptr_array_new();
    qemu_stream_free(s);
    return true;
}

size_t qemu_stream_n_warnings(const QemuStream *s)
{
    return s->warnings->len;
}

const GError *qemu_stream_warning(const QemuStream *s, size_t index)
{
    return index < s->warnings->len ? g_ptr_array_index(s->warnings, index) : NULL;
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

static bool visit_section_at(Visitor *v, const QemuStream *s, size_t i, GError **errp)
{
    return visit_section(v, g_ptr_array_index(s->sections, i),
                         g_ptr_array_index(s->devices, i), errp);
}

static bool visit_warning_at(Visitor *v, const QemuStream *s, size_t i, GError **errp)
{
    char *message = ((GError *)g_ptr_array_index(s->warnings, i))->message;
    return visit_type_str(v, NULL, &message, errp);
}

/* A list member `name` of n elements, each visited by elem. */
static bool visit_stream_list(Visitor *v, const char *name, const QemuStream *s, size_t n,
                              bool (*elem)(Visitor *, const QemuStream *, size_t, GError **),
                              GError **errp)
{
    if (!visit_start_list(v, name, &n, errp)) {
        return false;
    }
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        visit_next_list(v);
        ok = elem(v, s, i, errp);
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
              visit_stream_list(v, "sections", s, s->sections->len, visit_section_at, errp) &&
              visit_stream_list(v, "warnings", s, s->warnings->len, visit_warning_at, errp) &&
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

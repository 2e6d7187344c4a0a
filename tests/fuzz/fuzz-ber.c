/*
 * The BER reader (lib/ber: ber_value_parse, ber_stream_parse, ber_describe,
 * the replay ber_value_visit) and the BER input visitor.  An input that
 * starts like a BER stream (ber_stream_is) is read as a stream, anything
 * else as one Value.  Invariants, besides no crash, leak or undefined
 * behaviour, and UTF-8 error messages:
 *
 * A Value that parses:
 *   - replayed through the BER output visitor it is DER that parses to the
 *     same tree (identifiers, nesting, integers, contents), and replaying
 *     that gives the same bytes again;
 *   - when its description rebuilds (ber_describe, a described struct), it
 *     loads through the BER input visitor into a state of that layout, and
 *     the state saved through the BER output visitor is the same tree (its
 *     struct members perhaps in another order: the engine saves fields
 *     before subsections, wherever the input had them).
 * A stream that parses:
 *   - converted to QEMU's format it reads back as a QEMU stream, with as
 *     many sections;
 *   - that QEMU stream converted to BER (as `vmscope-view convert` does) is
 *     a BER stream with the same sections: types, ids, names, instance and
 *     version ids, footers, the same state trees (but for a list of one
 *     element, which comes back as the element: QEMU's vmdesc cannot say
 *     it, docs/ber.md; and struct members are found by name, as a loader
 *     finds them: QEMU's format puts subsections last) and opaque payloads, the same configuration; and
 *     converted to QEMU's format once more, the same bytes as the first
 *     time.
 * A stream that keeps a vmdesc from QEMU's format converts with it: its
 * states' bytes, read in QEMU's format as that vmdesc says (which may be
 * with other names and types than the states', or not at all).  For those
 * the sections' contents are not compared, and when the QEMU stream does not read
 * back the rest is not checked.
 */
#include "config.h"

#include <string.h>
#include <glib.h>

#include "fuzz.h"
#include "vmscope/ber-stream.h"
#include "vmscope/ber-visitor.h"
#include "vmscope/qemu-stream.h"
#include "vmscope/vmstate.h"

static void check_error(const GError *err)
{
    FUZZ_CHECK(err && g_utf8_validate(err->message, -1, NULL), "no error, or its message is not UTF-8");
}

/* How two trees may differ: not at all, or as a conversion lets them. */
enum {
    SAME_EXACTLY = 0,
    SAME_BY_NAME = 1 << 0,      /* struct members in any order (found by name, as loads do) */
    SAME_ONE_LIST = 1 << 1,     /* a list of one element may come back as the element */
};

static void check_same_members(const BerValue *a, size_t i, const BerValue *b, size_t j,
                               unsigned how, const char *what);

/*
 * The subtrees at a's node i and b's node j are the same: elements,
 * nesting, integers and primitive contents.  With SAME_ONE_LIST (a conversion
 * through QEMU's format), a list of one element in a may be that element
 * alone in b: QEMU's vmdesc has no array_len for one element (docs/ber.md).
 */
static void check_same_subtree(const BerValue *a, size_t i, const BerValue *b, size_t j,
                               unsigned how, const char *what)
{
    const BerNode *x = ber_node(a, i), *y = ber_node(b, j);
    if ((how & SAME_ONE_LIST) && x->id == BER_ID_LIST && y->id != BER_ID_LIST && i + 1 < x->end &&
        ber_node(a, i + 1)->end == x->end) {
        check_same_subtree(a, i + 1, b, j, how, what);
        return;
    }
    FUZZ_CHECK(x->id == y->id && x->value == y->value,
               "%s: element at %" G_GUINT64_FORMAT ": 0x%02x (value %" G_GUINT64_FORMAT "), "
               "then 0x%02x (value %" G_GUINT64_FORMAT ")", what, x->offset, x->id, x->value,
               y->id, y->value);
    if (x->id == BER_ID_BOOLEAN) {
        return;                 /* any byte but 0 is TRUE (value 1); DER's TRUE is 0xff */
    }
    if (!(x->id & 0x20)) {
        FUZZ_CHECK(x->len == y->len && !memcmp(ber_node_data(a, x), ber_node_data(b, y), x->len),
                   "%s: element at %" G_GUINT64_FORMAT " (0x%02x): other contents", what,
                   x->offset, x->id);
        return;
    }
    if ((how & SAME_BY_NAME) && (x->id == BER_ID_STRUCT || x->id == BER_ID_DESCRIBED ||
                                 x->id == BER_ID_SUBSECTION)) {
        check_same_members(a, i, b, j, how, what);
        return;
    }
    size_t ci = i + 1, cj = j + 1;
    while (ci < x->end && cj < y->end) {
        check_same_subtree(a, ci, b, cj, how, what);
        ci = ber_node(a, ci)->end;
        cj = ber_node(b, cj)->end;
    }
    FUZZ_CHECK(ci == x->end && cj == y->end, "%s: element at %" G_GUINT64_FORMAT " (0x%02x): "
               "other number of children", what, x->offset, x->id);
}

/*
 * Structs after a conversion: the same description name and version, the
 * same members with the same values, found by name.  Members may come in
 * any order (docs/ber.md): QEMU's format puts subsections after fields,
 * so a field after a subsection comes back before it.
 */
static void check_same_members(const BerValue *a, size_t i, const BerValue *b, size_t j,
                               unsigned how, const char *what)
{
    size_t ma = ber_struct_first_member(a, i), mb = ber_struct_first_member(b, j);
    FUZZ_CHECK(ma - i == mb - j, "%s: struct at %" G_GUINT64_FORMAT ": other header", what,
               ber_node(a, i)->offset);
    for (size_t k = 1; i + k < ma; k++) {
        check_same_subtree(a, i + k, b, j + k, how, what);
    }
    size_t na = 0, nb = 0;
    for (size_t m = mb; m < ber_node(b, j)->end; m = ber_node(b, m + 1)->end) {
        nb++;
    }
    for (size_t m = ma; m < ber_node(a, i)->end; m = ber_node(a, m + 1)->end, na++) {
        g_autofree char *name = ber_node_strdup(a, ber_node(a, m));
        size_t found = 0;
        for (size_t n = mb; !found && n < ber_node(b, j)->end; n = ber_node(b, n + 1)->end) {
            if (ber_node_is(b, ber_node(b, n), name)) {
                found = n;
            }
        }
        FUZZ_CHECK(found, "%s: struct at %" G_GUINT64_FORMAT ": member '%s' lost", what,
                   ber_node(a, i)->offset, name);
        check_same_subtree(a, m + 1, b, found + 1, how, what);
    }
    FUZZ_CHECK(na == nb, "%s: struct at %" G_GUINT64_FORMAT ": %zu members, then %zu", what,
               ber_node(a, i)->offset, na, nb);
}

static void check_same_tree(const BerValue *a, const BerValue *b, unsigned how, const char *what)
{
    check_same_subtree(a, 0, b, 0, how, what);
    if (!(how & SAME_ONE_LIST)) {
        FUZZ_CHECK(a->nodes->len == b->nodes->len, "%s: %u elements, then %u", what,
                   a->nodes->len, b->nodes->len);
    }
}

/* The Value at node 0 replayed through the BER output visitor. */
static GBytes *replay(const BerValue *bv, const char *name)
{
    g_autoptr(GError) err = NULL;
    Visitor *v = ber_output_visitor_new();
    bool ok = ber_value_visit(bv, 0, v, name, &err);
    FUZZ_CHECK(ok, "a parsed Value does not replay: %s", err->message);
    GBytes *out = ber_output_visitor_take(v);
    visit_free(v);
    return out;
}

/* The member name a root Value is visited under: a described struct's own name. */
static char *root_name(const BerValue *bv)
{
    return ber_node(bv, 0)->id == BER_ID_DESCRIBED ? ber_node_strdup(bv, ber_node(bv, 1)) : NULL;
}

static void fuzz_value(const uint8_t *data, size_t size)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(BerValue) bv = ber_value_parse(data, size, 0, &err);
    if (!bv) {
        check_error(err);
        return;
    }
    g_autofree char *name = root_name(bv);
    g_autoptr(GBytes) der = replay(bv, name);
    gsize der_len;
    const uint8_t *der_data = g_bytes_get_data(der, &der_len);
    g_autoptr(BerValue) again = ber_value_parse(der_data, der_len, 0, &err);
    FUZZ_CHECK(again, "the replay does not parse: %s", err->message);
    check_same_tree(bv, again, SAME_EXACTLY, "replayed");
    g_autoptr(GBytes) der2 = replay(again, name);
    FUZZ_CHECK(g_bytes_equal(der, der2), "the replay of DER is other bytes (%zu, then %zu)",
               der_len, g_bytes_get_size(der2));

    /* Through a description rebuilt from the Value, and the VMState engine. */
    size_t state_size;
    g_autoptr(QObject) desc = ber_describe(bv, 0, &state_size, &err);
    if (!desc) {
        check_error(err);
        return;
    }
    g_autoptr(VMStateDescription) vmsd =
        vmstate_from_description_depth(desc, state_size, BER_MAX_DEPTH, &err);
    if (!vmsd) {
        check_error(err);
        return;
    }
    g_autofree uint8_t *state = g_malloc0(state_size);
    Visitor *in = ber_input_visitor_new_value(bv);
    bool ok = vmstate_load(in, vmsd, state, vmsd->version_id, NULL, &err);
    visit_free(in);
    FUZZ_CHECK(ok, "does not load through its own description: %s", err->message);
    Visitor *out = ber_output_visitor_new();
    ok = vmstate_save(out, vmsd, state, NULL, &err);
    g_autoptr(GBytes) saved = ber_output_visitor_take(out);
    visit_free(out);
    FUZZ_CHECK(ok, "does not save through its own description: %s", err->message);
    /* The same tree; the engine puts fields before subsections, wherever the input had them. */
    gsize saved_len;
    const uint8_t *saved_data = g_bytes_get_data(saved, &saved_len);
    g_autoptr(BerValue) reloaded = ber_value_parse(saved_data, saved_len, 0, &err);
    FUZZ_CHECK(reloaded, "what the engine saved does not parse: %s", err->message);
    check_same_tree(bv, reloaded, SAME_BY_NAME, "loaded and saved");
}

static void check_same_section(const BerStreamSection *a, const BerStreamSection *b, size_t i,
                               bool trees)
{
    FUZZ_CHECK(a->type == b->type && a->section_id == b->section_id &&
               g_strcmp0(a->name, b->name) == 0 && a->footer == b->footer &&
               (a->type == 2 || a->type == 3 ||
                (a->instance_id == b->instance_id && a->version_id == b->version_id)),
               "section %zu: its header changed", i);
    if (!trees) {
        return;
    }
    FUZZ_CHECK(!a->state == !b->state, "section %zu: device and opaque swapped", i);
    if (a->state) {
        g_autofree char *what = g_strdup_printf("section %zu", i);
        check_same_tree(a->state, b->state, SAME_BY_NAME | SAME_ONE_LIST, what);
    } else {
        FUZZ_CHECK(g_bytes_equal(a->payload, b->payload), "section %zu: other payload", i);
    }
}

static bool same_bytes(GBytes *a, GBytes *b)
{
    return (!a && !b) || (a && b && g_bytes_equal(a, b));
}

static void fuzz_stream(const uint8_t *data, size_t size)
{
    g_autoptr(GBytes) in = g_bytes_new(data, size);
    g_autoptr(GError) err = NULL;
    g_autoptr(BerStream) s = ber_stream_parse(in, &err);
    if (!s) {
        check_error(err);
        return;
    }
    g_free(ber_stream_machine(s));
    for (size_t i = 0; i < ber_stream_n_sections(s); i++) {
        g_free(ber_stream_where(ber_stream_section(s, i)));
    }
    g_autoptr(GBytes) qemu = ber_stream_to_qemu(s, &err);
    if (!qemu) {
        check_error(err);
        return;
    }
    g_autoptr(QemuStream) qs = qemu_stream_parse(qemu, &err);
    if (!qs) {
        /* A vmdesc kept from QEMU's stream is the input's: it may not describe the states. */
        FUZZ_CHECK(ber_stream_vmdesc(s), "converted without a vmdesc, not a QEMU stream: %s",
                   err->message);
        check_error(err);
        return;
    }
    FUZZ_CHECK(qemu_stream_n_sections(qs) == ber_stream_n_sections(s),
               "%zu sections, in QEMU's format %zu", ber_stream_n_sections(s),
               qemu_stream_n_sections(qs));
    g_autoptr(GBytes) back = ber_stream_from_qemu(qs, &err);
    if (!back) {
        FUZZ_CHECK(ber_stream_vmdesc(s), "converted without a vmdesc, not back to BER: %s",
                   err->message);
        check_error(err);
        return;
    }
    g_autoptr(BerStream) s2 = ber_stream_parse(back, &err);
    FUZZ_CHECK(s2, "converted back, not a BER stream: %s", err->message);
    FUZZ_CHECK(ber_stream_n_sections(s2) == ber_stream_n_sections(s), "%zu sections, then %zu",
               ber_stream_n_sections(s), ber_stream_n_sections(s2));
    for (size_t i = 0; i < ber_stream_n_sections(s); i++) {
        check_same_section(ber_stream_section(s, i), ber_stream_section(s2, i), i,
                           !ber_stream_vmdesc(s));
    }
    FUZZ_CHECK(same_bytes(ber_stream_configuration(s), ber_stream_configuration(s2)),
               "other configuration");
    if (ber_stream_vmdesc(s)) {
        FUZZ_CHECK(same_bytes(ber_stream_vmdesc(s), ber_stream_vmdesc(s2)), "other vmdesc");
    }
    g_autoptr(GBytes) qemu2 = ber_stream_to_qemu(s2, &err);
    FUZZ_CHECK(qemu2, "converted back, not to QEMU's format again: %s", err->message);
    FUZZ_CHECK(g_bytes_equal(qemu, qemu2), "in QEMU's format: %zu bytes, then %zu",
               g_bytes_get_size(qemu), g_bytes_get_size(qemu2));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (ber_stream_is(data, size)) {
        fuzz_stream(data, size);
    } else {
        fuzz_value(data, size);
    }
    return 0;
}

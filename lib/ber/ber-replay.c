/*
 * A BER Value replayed through any output visitor, with no description:
 * see ber_value_visit() in include/vmscope/ber.h.
 *
 * Everything a walk tells a visitor is in the Value: names, C types,
 * buffer sizes, list lengths, description names, versions, subsections.  So
 * the QEMUFile output visitor writes, from a BER state alone, exactly the
 * bytes the device's own walk wrote (which is how a BER stream converts
 * back to QEMU's format byte for byte).
 */
#include "config.h"

#include <string.h>

#include "vmscope/ber.h"

static bool replay(const BerValue *bv, size_t i, Visitor *v, const char *name, bool top,
                   GError **errp);

static bool replay_struct(const BerValue *bv, size_t i, Visitor *v, const char *name, bool top,
                          GError **errp)
{
    const BerNode *n = ber_node(bv, i);
    g_autofree char *desc = NULL;
    VisitStructInfo info = { .kind = VISIT_STRUCT_PLAIN };
    if (n->id == BER_ID_DESCRIBED) {
        desc = ber_node_strdup(bv, ber_node(bv, i + 1));
        info = (VisitStructInfo){ top ? VISIT_STRUCT_VMSD : VISIT_STRUCT_NESTED_VMSD, desc,
                                  (int)ber_node(bv, i + 2)->value };
    } else if (n->id == BER_ID_SUBSECTION) {
        info = (VisitStructInfo){ VISIT_STRUCT_SUBSECTION, name, (int)ber_node(bv, i + 1)->value };
    }
    if (!visit_start_struct(v, name, &info, errp)) {
        return false;
    }
    bool ok = true;
    for (size_t m = ber_struct_first_member(bv, i); ok && m < n->end;
         m = ber_node(bv, m + 1)->end) {
        g_autofree char *member = ber_node_strdup(bv, ber_node(bv, m));
        bool present = true;
        if (ber_node(bv, m + 1)->id == BER_ID_SUBSECTION) {
            visit_optional(v, member, &present);
        }
        ok = replay(bv, m + 1, v, member, false, errp);
    }
    ok = ok && visit_check_struct(v, errp);
    visit_end_struct(v);
    return ok;
}

static bool replay_list(const BerValue *bv, size_t i, Visitor *v, const char *name,
                        GError **errp)
{
    const BerNode *n = ber_node(bv, i);
    size_t len = 0;
    for (size_t e = i + 1; e < n->end; e = ber_node(bv, e)->end) {
        len++;
    }
    if (!visit_start_list(v, name, &len, errp)) {
        return false;
    }
    bool ok = true;
    for (size_t e = i + 1; ok && e < n->end; e = ber_node(bv, e)->end) {
        visit_next_list(v);
        ok = replay(bv, e, v, NULL, false, errp);
    }
    ok = ok && visit_check_list(v, errp);
    visit_end_list(v);
    return ok;
}

static bool replay(const BerValue *bv, size_t i, Visitor *v, const char *name, bool top,
                   GError **errp)
{
    const BerNode *n = ber_node(bv, i);
    if (n->id >= BER_ID_INT(0) && n->id <= BER_ID_INT(7)) {
        VisitIntKind kind = (VisitIntKind)(n->id - BER_ID_INT(0));
        if (visit_int_kind_signed(kind)) {
            int64_t s = (int64_t)n->value;
            return visit_type_int(v, name, kind, &s, errp);
        }
        uint64_t u = n->value;
        return visit_type_uint(v, name, kind, &u, errp);
    }
    switch (n->id) {
    case BER_ID_BOOLEAN: {
        bool b = n->value != 0;
        return visit_type_bool(v, name, &b, errp);
    }
    case BER_ID_OCTETS:
        /* Output visitors only read the buffer. */
        return visit_type_buffer(v, name, (uint8_t *)ber_node_data(bv, n), n->len, errp);
    case BER_ID_NULL:
        return visit_type_null(v, name, errp);
    case BER_ID_STRING: {
        g_autofree char *s = ber_node_strdup(bv, n);
        return visit_type_str(v, name, &s, errp);
    }
    case BER_ID_NUMBER: {
        const uint8_t *p = ber_node_data(bv, n);
        uint64_t bits = 0;
        double d;
        for (unsigned k = 0; k < 8; k++) {
            bits = bits << 8 | p[k];
        }
        memcpy(&d, &bits, sizeof(d));
        return visit_type_number(v, name, &d, errp);
    }
    case BER_ID_LIST:
        return replay_list(bv, i, v, name, errp);
    default:        /* the struct kinds: ber_value_parse let nothing else through */
        return replay_struct(bv, i, v, name, top, errp);
    }
}

bool ber_value_visit(const BerValue *bv, size_t node, Visitor *v, const char *name,
                     GError **errp)
{
    g_assert(!visit_is_input(v));
    return replay(bv, node, v, name, node == 0, errp);
}

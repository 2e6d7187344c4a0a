/*
 * Descriptions in QEMU's -dump-vmstate JSON (QEMU 7.2, migration/savevm.c:
 * dump_vmstate_json_to_file and its dump_vmstate_vmsd/vmsf helpers).
 *
 * The shape, key for key and in QEMU's order:
 *
 *   {"vmschkmachine": {"Name": MACHINE},
 *    TYPE: {"Name": TYPE, "version_id": N, "minimum_version_id": M,
 *           "Description": DESC}, ...}
 *   DESC  = {"name", "version_id", "minimum_version_id",
 *            "Fields": [FIELD, ...]          (when the description has fields)
 *            "Subsections": [DESC, ...]}     (when it has subsections)
 *   FIELD = {"field", "version_id", "field_exists", "size",
 *            "Description": DESC}            (structs only)
 *
 * "size" is the size of one element, as QEMU's VMStateField.size (a whole
 * buffer, an unused run, sizeof a nested struct), never an array's length.
 * vmscope fields have no field_exists() test: it is always false.  With
 * VMSTATE_DUMP_TYPES each field also gets "type" (vmscope's type name,
 * vmstate_types[]) after "size": readers of QEMU's format ignore it (QEMU's
 * vmstate-static-checker.py looks only at the keys above), vmscope's compat
 * checker compares types with it.  Given a state, each `_equal` integer
 * that is not in an array also gets "equal": the value a stream must carry
 * to load into that state.  The text is JSON written by json-c: the
 * same members as QEMU's file, not its exact whitespace.
 */
#include "config.h"

#include <string.h>

#include "vmscope/vmstate.h"

static QObject *dump_desc(const VMStateDescription *vmsd, const uint8_t *state, unsigned flags);

QObject *vmstate_int_value(const VMStateInfo *info, const void *elem)
{
    unsigned bytes = visit_int_kind_bytes(info->int_kind);
    uint64_t u = 0;
    memcpy(&u, elem, bytes);      /* little-endian hosts only, as the segment layout */
    if (!visit_int_kind_signed(info->int_kind)) {
        return qnum_from_uint(u);
    }
    int shift = 64 - 8 * (int)bytes;
    return qnum_from_int((int64_t)(u << shift) >> shift);
}

static QObject *dump_field(const VMStateField *f, const uint8_t *state, unsigned flags)
{
    QObject *o = qdict_new();
    qdict_put(o, "field", qstring_from_str(f->name));
    qdict_put(o, "version_id", qnum_from_int(f->version_id));
    qdict_put(o, "field_exists", qbool_from_bool(false));
    qdict_put(o, "size", qnum_from_uint(f->size));
    if (flags & VMSTATE_DUMP_TYPES) {
        qdict_put(o, "type", qstring_from_str(f->info->name));
    }
    if (state && f->shape == VMSTATE_SINGLE && (f->info->flags & VMSTATE_INFO_INT) &&
        f->info->check == VMSTATE_CHECK_EQUAL) {
        qdict_put(o, "equal", vmstate_int_value(f->info, state + f->offset));
    }
    if ((f->info->flags & VMSTATE_INFO_STRUCT) && f->vmsd) {
        bool one = f->shape == VMSTATE_SINGLE && !(f->info->flags & VMSTATE_INFO_INLINE);
        qdict_put(o, "Description", dump_desc(f->vmsd, state && one ? state + f->offset : NULL,
                                              flags));
    }
    return o;
}

QObject *vmstate_dump_description(const VMStateDescription *vmsd, unsigned flags)
{
    return dump_desc(vmsd, NULL, flags);
}

static QObject *dump_desc(const VMStateDescription *vmsd, const uint8_t *state, unsigned flags)
{
    QObject *o = qdict_new();
    qdict_put(o, "name", qstring_from_str(vmsd->name));
    qdict_put(o, "version_id", qnum_from_int(vmsd->version_id));
    qdict_put(o, "minimum_version_id", qnum_from_int(vmsd->minimum_version_id));
    if (vmsd->fields) {
        QObject *fields = qlist_new();
        for (const VMStateField *f = vmsd->fields; f->name; f++) {
            qlist_append(fields, dump_field(f, state, flags));
        }
        qdict_put(o, "Fields", fields);
    }
    if (vmsd->subsections) {
        QObject *subs = qlist_new();
        for (const VMStateDescription *const *s = vmsd->subsections; *s; s++) {
            qlist_append(subs, dump_desc(*s, state, flags));
        }
        qdict_put(o, "Subsections", subs);
    }
    return o;
}

QObject *vmstate_dump_new(const char *machine)
{
    QObject *dump = qdict_new();
    QObject *m = qdict_new();
    qdict_put(m, "Name", qstring_from_str(machine));
    qdict_put(dump, "vmschkmachine", m);
    return dump;
}

void vmstate_dump_add(QObject *dump, const char *type_name, const VMStateDescription *vmsd,
                      unsigned flags)
{
    vmstate_dump_add_state(dump, type_name, vmsd, NULL, flags);
}

void vmstate_dump_add_state(QObject *dump, const char *type_name, const VMStateDescription *vmsd,
                            const void *state, unsigned flags)
{
    QObject *o = qdict_new();
    qdict_put(o, "Name", qstring_from_str(type_name));
    qdict_put(o, "version_id", qnum_from_int(vmsd->version_id));
    qdict_put(o, "minimum_version_id", qnum_from_int(vmsd->minimum_version_id));
    qdict_put(o, "Description", dump_desc(vmsd, state, flags));
    qdict_put(dump, type_name, o);
}

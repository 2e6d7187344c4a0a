/*
 * VMState: device state described as data, saved and loaded by one walk.
 *
 * A VMStateDescription says what a device's state is made of: a name, a
 * version, the oldest version it can still load, a list of fields and a list
 * of subsections.  The engine (vmstate_save / vmstate_load) walks the
 * description over a C struct and drives a Visitor (visitor.h), so the one
 * description produces and reads every format: QObjects, pretty text and
 * QEMU's migration stream (qemufile-visitor.h).  The engine knows no format:
 * it talks to visitor.h only.
 *
 * Types are data.  Each field has a VMStateInfo, as in QEMU: the type's name
 * in descriptions, its name in QEMU's vmdesc, the size of one element, and
 * the function that visits one element.  The built-in types are the table
 * vmstate_types[] (vmstate-types.c), indexed by VMStateType:
 *
 *   bool; int8..int64 and uint8..uint64; their "_equal" forms (load checks
 *   that the input equals the current value and does not change it);
 *   int32_le (QEMU's "int32 le": load checks 0 <= input <= current value);
 *   timer (an int64, QEMU's be64 expiry time); buffer (size raw bytes);
 *   unused (size bytes written as zeros and thrown away on load; no storage
 *   in the struct); nullptr (QEMU's null-pointer marker, visited with
 *   visit_type_null; no state); struct, vstruct and tmp (a nested
 *   description over `size` bytes, walked by the engine itself).
 *
 * A new type is one entry in that table (and its VMStateType index).
 *
 * Shapes.  A field's elements are laid out in one of these shapes:
 *
 *   SINGLE   one element at offset;
 *   ARRAY    num elements at offset;
 *   VARRAY   a C array of num elements at offset of which the first N are
 *            state, N being an EARLIER integer field of the same description
 *            (it is in the input before the array);
 *   PARTIAL  the same, but N may be any integer in the state (e.g.
 *            configuration the loader already has), as for QEMU's virtqueue
 *            arrays: only live entries travel;
 *   SEGPTR   a uint64 at offset holds an offset into a region
 *            (VMStateContext, e.g. a shared-memory segment) where N
 *            elements live, N <= num.  The offset itself is not state; the
 *            elements are.
 *   In VARRAY, PARTIAL and SEGPTR shapes N > num is an error on save and
 *   on load ("...: array length 70 exceeds the maximum 64").
 *
 * Lists in runs: a field with `continues` set continues the list of the
 * field before it (which has the same name): the engine visits the fields of
 * such a run as ONE list, each field (SINGLE or ARRAY, of any type)
 * contributing its elements in turn.  Descriptions learned from a QEMU
 * vmdesc need this: arrays described element by element ("index"), and
 * arrays of pointers split into runs around null pointers.
 *
 * Every field exists since its version_id (0: always): a field newer than
 * the version being loaded is not visited and keeps its current value.
 *
 * Rules enforced by vmstate_load:
 *   - an input newer than vmsd->version_id is refused, and so is one older
 *     than minimum_version_id (VMS_ERROR_VERSION, naming both versions);
 *   - `_equal` and `le` mismatches, array lengths over their maximum,
 *     segment offsets outside the region are refused;
 *   - subsections the description does not know, duplicate subsections, and
 *     whatever the input visitor checks (types, lengths, truncation, extra
 *     data) are refused;
 *   - nothing is skipped silently.
 *
 * The walk, as seen by a visitor (names are visit names, see below):
 *
 *   visit_start_struct(vmsd->name, {VISIT_STRUCT_VMSD, vmsd->name, version})
 *     fields in order: each element through its type's visit function
 *     (scalars with visit_type_*, buffers and unused with visit_type_buffer,
 *     nullptr with visit_type_null), arrays and runs as lists (elements
 *     unnamed), structs with
 *     visit_start_struct({VISIT_STRUCT_NESTED_VMSD, sub->name, version})
 *     then for each subsection:
 *       visit_optional(sub->name, &present); if present:
 *       visit_start_struct(sub->name, {VISIT_STRUCT_SUBSECTION, sub->name, version})
 *   visit_check_struct; visit_end_struct
 *
 * The engine keeps the visitor contract: a struct or list it opened is
 * closed whatever fails inside it, one whose start failed is not, and the
 * check calls come only after every member succeeded.
 *
 * Subsections.  On save, a subsection is present when needed() returns true
 * (no needed(): always), or, for a description with has_presence, when the
 * byte at presence_offset of the state is non-zero.  On load the input
 * visitor says which subsections it holds; they may come in any order (as
 * QEMU allows), each at most once; a load sets the presence byte of each it
 * found.  Presence bytes are how descriptions learned from a stream keep
 * which subsections each instance had.  Input visitors that carry versions
 * (QEMU subsections) report them through VisitStructInfo.version_id; for
 * the top level the caller passes the version (QEMU puts it in the section
 * header).
 *
 * Visit names: a field is visited under its name; when several fields of a
 * description share a name (QEMU descriptions often have several "unused"),
 * the k-th of them (from 0) is visited as "name[k]", exactly as QEMU's vmdesc
 * names them (the fields of one run count once).  So a device state as a
 * QObject is
 *   {"divider": 12, "fifo": [1, 2, 3], "regs": {...}, "mem": "00ff",
 *    "unused[0]": "0000", "unused[1]": "00", "serial/fifo": {...}}
 * with subsections as members named after their description.
 *
 * Loading never loses state if callers load into a scratch copy:
 * vmstate_load may have filled part of `opaque` when it fails.
 * vmstate_load_copy does the copy-and-commit for flat structs.  Elements of
 * SEGPTR fields are written into the region only once the whole load has
 * succeeded (they are staged until then).
 *
 * Watching a walk: VMStateHooks in the VMStateContext are told where the
 * walk is, in the description's terms only (which description, which field,
 * which element).  Code that knows a format relates that to its own output:
 * QEMU's vmdesc writer (qemu_stream_save_device, qemu-stream.h) measures the
 * bytes each field wrote, and qemu_stream_set finds a field's bytes.
 *
 * Describing: a save walk with VMStateContext.describe set visits the
 * description rather than one state: all subsections, every counted array
 * at its maximum length.  Through the JSON-schema visitor that is a JSON
 * Schema of every state the description can save (vmstate_json_schema).
 *
 * Descriptions as data: vmstate_describe turns a description into JSON
 * (see docs/vmstate.md for the format); vmstate_from_description rebuilds a
 * walkable description from that JSON after checking every offset and size
 * against the size of the state it will walk, so a hostile description can
 * never make the engine touch memory outside the state (or, for SEGPTR
 * elements, outside the region: checked during the walk).  Deserialized
 * descriptions have no needed() and no hooks: on save all their
 * subsections are present unless they have presence bytes.
 */
#ifndef VMSCOPE_VMSTATE_H
#define VMSCOPE_VMSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "vmscope/qobject.h"
#include "vmscope/visitor.h"

typedef struct VMStateDescription VMStateDescription;
typedef struct VMStateField VMStateField;
typedef struct VMStateInfo VMStateInfo;

/* ---- Types ---- */

/* What an integer type checks on load against the value the loader has. */
typedef enum VMStateCheck {
    VMSTATE_CHECK_NONE,
    VMSTATE_CHECK_EQUAL,    /* the input equals it; the state is not changed */
    VMSTATE_CHECK_LE,       /* 0 <= input <= it (QEMU's "int32 le"); the input is stored */
} VMStateCheck;

/* VMStateInfo.flags */
#define VMSTATE_INFO_INT      0x1   /* an integer: int_kind and check apply */
#define VMSTATE_INFO_STRUCT   0x2   /* a nested description (field->vmsd), walked by the engine */
#define VMSTATE_INFO_INLINE   0x4   /* struct: QEMU's vmdesc has the nested description in
                                       the field's own entry (vstruct, tmp), not in "struct" */
#define VMSTATE_INFO_NO_STATE 0x8   /* nothing in the state: elements have no storage */

/*
 * One element of a field: elem points at its bytes in the state (NULL for
 * VMSTATE_INFO_NO_STATE types), size is the field's element size.  The
 * same function saves (output visitor: reads elem) and loads (input
 * visitor: writes elem, and checks what the type checks).
 */
typedef bool VMStateVisitFn(Visitor *v, const char *name, const VMStateInfo *info,
                            uint8_t *elem, size_t size, GError **errp);

struct VMStateInfo {
    const char *name;           /* in descriptions: "uint32", "uint32_equal", "timer" */
    const char *vmdesc_name;    /* in QEMU's vmdesc: "uint32", "uint32 equal", "unused_buffer" */
    size_t size;                /* bytes of one element in QEMU's stream and, unless
                                   VMSTATE_INFO_NO_STATE, in the state; 0: as the
                                   field says (buffer, unused, structs) */
    unsigned flags;             /* VMSTATE_INFO_* */
    VisitIntKind int_kind;      /* integers */
    VMStateCheck check;         /* integers */
    VMStateVisitFn *visit;      /* NULL for structs */
};

/* The built-in types: indices into vmstate_types[]; the integers in VisitIntKind order. */
typedef enum VMStateType {
    VMSTATE_TYPE_BOOL,
    VMSTATE_TYPE_INT8, VMSTATE_TYPE_INT16, VMSTATE_TYPE_INT32, VMSTATE_TYPE_INT64,
    VMSTATE_TYPE_UINT8, VMSTATE_TYPE_UINT16, VMSTATE_TYPE_UINT32, VMSTATE_TYPE_UINT64,
    VMSTATE_TYPE_INT8_EQUAL, VMSTATE_TYPE_INT16_EQUAL, VMSTATE_TYPE_INT32_EQUAL,
    VMSTATE_TYPE_INT64_EQUAL, VMSTATE_TYPE_UINT8_EQUAL, VMSTATE_TYPE_UINT16_EQUAL,
    VMSTATE_TYPE_UINT32_EQUAL, VMSTATE_TYPE_UINT64_EQUAL,
    VMSTATE_TYPE_INT32_LE,
    VMSTATE_TYPE_TIMER,
    VMSTATE_TYPE_BUFFER,
    VMSTATE_TYPE_UNUSED,
    VMSTATE_TYPE_NULLPTR,
    VMSTATE_TYPE_STRUCT,
    VMSTATE_TYPE_VSTRUCT,
    VMSTATE_TYPE_TMP,
    VMSTATE_TYPE__MAX
} VMStateType;

extern const VMStateInfo vmstate_types[VMSTATE_TYPE__MAX];
#define VMSTATE_INFO(type) (&vmstate_types[(type)])

/* A type by its name in descriptions, or by its name in a vmdesc; NULL if none. */
const VMStateInfo *vmstate_info_find(const char *name);
const VMStateInfo *vmstate_info_find_vmdesc(const char *vmdesc_name);
/* The plain integer type of this width and sign (no checks). */
const VMStateInfo *vmstate_info_int(VisitIntKind kind);

/* ---- Descriptions ---- */

typedef enum VMStateShape {
    VMSTATE_SINGLE,
    VMSTATE_ARRAY,
    VMSTATE_VARRAY,
    VMSTATE_PARTIAL,
    VMSTATE_SEGPTR,
} VMStateShape;

struct VMStateField {
    const char *name;               /* NULL ends the list */
    const VMStateInfo *info;        /* the element type */
    VMStateShape shape;
    size_t offset;                  /* in the struct (SEGPTR: of the uint64 offset) */
    size_t size;                    /* of one element */
    size_t num;                     /* ARRAY: count; VARRAY, PARTIAL, SEGPTR: maximum */
    size_t num_offset;              /* VARRAY, PARTIAL, SEGPTR: the length N ... */
    const VMStateInfo *num_info;    /* ... an integer of this type */
    const VMStateDescription *vmsd; /* structs */
    int version_id;                 /* exists since this version */
    bool continues;                 /* continues the list of the field before it (runs) */
};

struct VMStateDescription {
    const char *name;
    int version_id;
    int minimum_version_id;
    const VMStateField *fields;                      /* ends with VMSTATE_END_OF_LIST() */
    const VMStateDescription *const *subsections;    /* NULL-terminated, or NULL */
    bool (*needed)(void *opaque);                    /* subsections: sent only if true */
    bool has_presence;                               /* subsections: instead of needed(), */
    size_t presence_offset;                          /* a byte in the state says (see above) */
    bool (*pre_save)(void *opaque, GError **errp);   /* before the fields are saved */
    bool (*post_load)(void *opaque, int version_id, GError **errp);  /* after a load */
};

/*
 * Following a walk (see "Watching a walk" above).  Every callback is
 * optional; one that fails stops the walk with its error.
 *   enter    after the visit_start_struct of a description (the top, a
 *            struct element, a subsection), with the version walked;
 *   leave    before its visit_end_struct, once all of it succeeded;
 *   field    before a field is visited: as a list of n elements (is_list),
 *            or as one element;
 *   element  before (end: false) and after (end: true) each element; f is
 *            the field, run the field of a run that holds the element (f
 *            itself outside runs); index counts from 0 over the whole list;
 *            elem is where the element is in the state.
 */
typedef struct VMStateHooks {
    bool (*enter)(void *opaque, const VMStateDescription *vmsd, VisitStructKind kind,
                  int version_id, GError **errp);
    bool (*leave)(void *opaque, const VMStateDescription *vmsd, GError **errp);
    bool (*field)(void *opaque, const VMStateField *f, const char *name, bool is_list,
                  size_t n, GError **errp);
    bool (*element)(void *opaque, const VMStateField *f, const VMStateField *run,
                    size_t index, size_t n, uint8_t *elem, bool end, GError **errp);
} VMStateHooks;

/* What a walk needs besides the visitor, the description and the state. */
typedef struct VMStateContext {
    uint8_t *base;      /* the region SEGPTR offsets point into, or NULL; written */
    size_t size;        /* only by vmstate_load, and only on success */
    /*
     * For saves, instead of base: a region that is not in memory (a
     * segment read with pread, never mapped).  Returns the bytes
     * [offset, offset + len), already checked against size, valid until
     * the walk ends; NULL with an error if they cannot be had.
     */
    const void *(*fetch)(void *opaque, uint64_t offset, uint64_t len, GError **errp);
    void *fetch_opaque;
    const VMStateHooks *hooks;      /* or NULL */
    void *hooks_opaque;
    /*
     * Save only: walk the description rather than a state (see "Describing"
     * above): every subsection is visited, every VARRAY, PARTIAL and SEGPTR
     * field with its maximum number of elements (SEGPTR ones from zeros, no
     * region needed), pre_save is not called.  The state is read as usual,
     * so pass one of zeros.
     */
    bool describe;
} VMStateContext;

/* Save `opaque` through output visitor v; ctx may be NULL. */
bool vmstate_save(Visitor *v, const VMStateDescription *vmsd, void *opaque,
                  const VMStateContext *ctx, GError **errp);

/*
 * Load `opaque` from input visitor v; version_id is the version the input
 * was written with (QEMU: from the section header; for formats without
 * versions, usually vmsd->version_id).  On failure `opaque` may be partly
 * changed (see vmstate_load_copy); the region never is.
 */
bool vmstate_load(Visitor *v, const VMStateDescription *vmsd, void *opaque, int version_id,
                  const VMStateContext *ctx, GError **errp);

/*
 * The same, with the top-level struct visited as `name` instead of
 * vmsd->name (NULL: unnamed, so that paths start at the fields, or a member
 * name when the state is part of a bigger walk).
 */
bool vmstate_save_as(Visitor *v, const char *name, const VMStateDescription *vmsd,
                     void *opaque, const VMStateContext *ctx, GError **errp);
bool vmstate_load_as(Visitor *v, const char *name, const VMStateDescription *vmsd,
                     void *opaque, int version_id, const VMStateContext *ctx, GError **errp);

/*
 * A JSON Schema (draft-07) of the JSON any state of the description saves
 * to (the QObject output visitor's), from a describing walk (see
 * "Describing") through the JSON-schema output visitor
 * (json-schema-visitor.h), each field annotated with its type name
 * ("description") and the version it appeared in ("$comment": "since
 * version 3"); counted arrays may have 0 to their maximum elements.
 * state_size bytes of zeros are walked.  New reference, or NULL with *errp.
 */
QObject *vmstate_json_schema(const VMStateDescription *vmsd, size_t state_size, GError **errp);

/* vmstate_load into a copy of the `size` bytes at opaque; copied back on success only. */
bool vmstate_load_copy(Visitor *v, const VMStateDescription *vmsd, void *opaque, size_t size,
                       int version_id, const VMStateContext *ctx, GError **errp);

/*
 * Check a description against the size of the state it walks: every
 * offset and size in range, array sizes without overflow, VARRAY lengths
 * naming an earlier integer field, runs made of SINGLE and ARRAY fields of
 * one name and version, presence bytes in the state, subsection names
 * prefixed by their parent's name, scalar sizes matching their types, array
 * elements of at least one byte, nesting at most VMSTATE_MAX_DEPTH deep, and
 * at most VMSTATE_UNUSED_MAX unused bytes in one walk (they have no
 * storage, so the state's size does not bound them).
 */
#define VMSTATE_MAX_DEPTH 10     /* as JSON, 10 levels still parse (json-c: depth 32) */
#define VMSTATE_UNUSED_MAX (1u << 20)   /* unused bytes in one walk */
bool vmstate_check(const VMStateDescription *vmsd, size_t state_size, GError **errp);

/* The description as JSON (new reference). */
QObject *vmstate_describe(const VMStateDescription *vmsd);

/*
 * Rebuild a description from vmstate_describe's JSON, checked with
 * vmstate_check against state_size.  The result is owned by the caller:
 * free it with vmstate_description_free (only such descriptions).
 */
VMStateDescription *vmstate_from_description(QObject *desc, size_t state_size, GError **errp);
/*
 * The same for descriptions nested up to max_depth levels (instead of
 * VMSTATE_MAX_DEPTH): descriptions built by a program, not parsed from
 * JSON text (a stream's vmdesc, which QEMU nests deeper).
 */
VMStateDescription *vmstate_from_description_depth(QObject *desc, size_t state_size,
                                                   int max_depth, GError **errp);
void vmstate_description_free(VMStateDescription *vmsd);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VMStateDescription, vmstate_description_free)

/*
 * Descriptions in QEMU's -dump-vmstate JSON (QEMU 7.2's keys and nesting,
 * see lib/vmstate/vmstate-dump.c and docs/compat.md), what QEMU's
 * vmstate-static-checker.py and `vmscope-view compat` read:
 *
 *     dump = vmstate_dump_new("vmscope-devhost");
 *     vmstate_dump_add(dump, "serial", &vmstate_serial, VMSTATE_DUMP_TYPES);
 *     text = qobject_to_json(dump, true);
 *
 * vmstate_dump_new: {"vmschkmachine": {"Name": machine}} (new reference);
 * vmstate_dump_add: the member type_name, {"Name", "version_id",
 * "minimum_version_id", "Description"}, added to (or replacing) dump's;
 * vmstate_dump_description: one "Description" (new reference).  With
 * VMSTATE_DUMP_TYPES each field also carries "type", vmscope's name of its
 * type (QEMU's readers ignore the key).  vmstate_dump_add_state does the
 * same for a device whose state (NULL: none) is at hand: each `_equal`
 * integer field outside arrays also carries "equal", its value there, the
 * one a stream must carry to load into that state.
 */
#define VMSTATE_DUMP_TYPES 0x1
QObject *vmstate_dump_new(const char *machine);
void vmstate_dump_add(QObject *dump, const char *type_name, const VMStateDescription *vmsd,
                      unsigned flags);
void vmstate_dump_add_state(QObject *dump, const char *type_name, const VMStateDescription *vmsd,
                            const void *state, unsigned flags);
QObject *vmstate_dump_description(const VMStateDescription *vmsd, unsigned flags);
/* One element of an integer type (VMSTATE_INFO_INT) at elem, as a number (new reference). */
QObject *vmstate_int_value(const VMStateInfo *info, const void *elem);

/* ---- Field macros, in QEMU's style, with compile-time type checks ---- */

/*
 * Type tokens for the macros (QEMU's vmstate_info_*): built-in types'
 * indices, so that the compile-time checks below can compare them with C
 * types.  A field gets VMSTATE_INFO(token).
 */
#define vmstate_info_bool   VMSTATE_TYPE_BOOL
#define vmstate_info_int8   VMSTATE_TYPE_INT8
#define vmstate_info_int16  VMSTATE_TYPE_INT16
#define vmstate_info_int32  VMSTATE_TYPE_INT32
#define vmstate_info_int64  VMSTATE_TYPE_INT64
#define vmstate_info_uint8  VMSTATE_TYPE_UINT8
#define vmstate_info_uint16 VMSTATE_TYPE_UINT16
#define vmstate_info_uint32 VMSTATE_TYPE_UINT32
#define vmstate_info_uint64 VMSTATE_TYPE_UINT64
#define vmstate_info_int8_equal   VMSTATE_TYPE_INT8_EQUAL
#define vmstate_info_int16_equal  VMSTATE_TYPE_INT16_EQUAL
#define vmstate_info_int32_equal  VMSTATE_TYPE_INT32_EQUAL
#define vmstate_info_int64_equal  VMSTATE_TYPE_INT64_EQUAL
#define vmstate_info_uint8_equal  VMSTATE_TYPE_UINT8_EQUAL
#define vmstate_info_uint16_equal VMSTATE_TYPE_UINT16_EQUAL
#define vmstate_info_uint32_equal VMSTATE_TYPE_UINT32_EQUAL
#define vmstate_info_uint64_equal VMSTATE_TYPE_UINT64_EQUAL
#define vmstate_info_int32_le     VMSTATE_TYPE_INT32_LE
#define vmstate_info_timer        VMSTATE_TYPE_TIMER

/* 0, or a compile error saying `msg` when cond is false. */
#define VMSTATE_ASSERT_ZERO(cond, msg) \
    (sizeof(struct { _Static_assert(cond, msg); int vmstate_x_; }) - sizeof(int))
#define vmstate_typeof_field(_state, _field) __typeof__(((_state *)0)->_field)
#define vmstate_typeof_elt(_state, _field) __typeof__(((_state *)0)->_field[0])
#define VMSTATE_SAME_TYPE(t1, t2) __builtin_types_compatible_p(t1, t2)
#define VMSTATE_IS_ARRAY(x) \
    (!__builtin_types_compatible_p(__typeof__(x), __typeof__(&(x)[0])))
/* The element type a C type stands for. */
#define vmstate_type_of(_type)                                                  \
    _Generic(*(_type *)0,                                                       \
             bool: VMSTATE_TYPE_BOOL,                                           \
             int8_t: VMSTATE_TYPE_INT8, int16_t: VMSTATE_TYPE_INT16,            \
             int32_t: VMSTATE_TYPE_INT32, int64_t: VMSTATE_TYPE_INT64,          \
             uint8_t: VMSTATE_TYPE_UINT8, uint16_t: VMSTATE_TYPE_UINT16,        \
             uint32_t: VMSTATE_TYPE_UINT32, uint64_t: VMSTATE_TYPE_UINT64,      \
             default: -1)

/* offsetof, checking that the field has type _type. */
#define vmstate_offset_value(_state, _field, _type)                             \
    (offsetof(_state, _field) +                                                 \
     VMSTATE_ASSERT_ZERO(VMSTATE_SAME_TYPE(_type, vmstate_typeof_field(_state, _field)), \
                         #_state "." #_field " is not of type " #_type))
/* offsetof, checking that the field is _type[_num]. */
#define vmstate_offset_array(_state, _field, _type, _num)                       \
    (offsetof(_state, _field) +                                                 \
     VMSTATE_ASSERT_ZERO(VMSTATE_SAME_TYPE(_type[_num], vmstate_typeof_field(_state, _field)), \
                         #_state "." #_field " is not an array " #_type "[" #_num "]"))
/* offsetof, checking that the field is an array of _type (any length). */
#define vmstate_offset_varray(_state, _field, _type)                            \
    (offsetof(_state, _field) +                                                 \
     VMSTATE_ASSERT_ZERO(VMSTATE_IS_ARRAY(((_state *)0)->_field) &&             \
                         VMSTATE_SAME_TYPE(_type, vmstate_typeof_elt(_state, _field)), \
                         #_state "." #_field " is not an array of " #_type))
#define vmstate_array_len(_state, _field) \
    (sizeof(vmstate_typeof_field(_state, _field)) / sizeof(vmstate_typeof_elt(_state, _field)))
/* The C type (as its plain VMStateType) of a scalar type token. */
#define vmstate_info_ctype(_info)                                               \
    ((_info) >= VMSTATE_TYPE_INT8_EQUAL && (_info) <= VMSTATE_TYPE_UINT64_EQUAL \
         ? (_info) - VMSTATE_TYPE_INT8_EQUAL + VMSTATE_TYPE_INT8                \
     : (_info) == VMSTATE_TYPE_INT32_LE ? VMSTATE_TYPE_INT32                    \
     : (_info) == VMSTATE_TYPE_TIMER ? VMSTATE_TYPE_INT64                       \
     : (int)(_info))
/* 0, checking that the token _info and the C type _type agree. */
#define vmstate_check_info(_info, _type) \
    VMSTATE_ASSERT_ZERO((int)vmstate_type_of(_type) == (int)vmstate_info_ctype(_info), \
                        #_info " does not describe " #_type)

/* Scalars. */
#define VMSTATE_SINGLE_V(_field, _state, _version, _info, _type) {              \
    .name = #_field,                                                            \
    .info = VMSTATE_INFO(_info),                                                \
    .shape = VMSTATE_SINGLE,                                                    \
    .offset = vmstate_offset_value(_state, _field, _type) +                     \
              vmstate_check_info(_info, _type),                                 \
    .size = sizeof(_type),                                                      \
    .version_id = (_version),                                                   \
}

#define VMSTATE_BOOL_V(_f, _s, _v)   VMSTATE_SINGLE_V(_f, _s, _v, vmstate_info_bool, bool)
#define VMSTATE_INT8_V(_f, _s, _v)   VMSTATE_SINGLE_V(_f, _s, _v, vmstate_info_int8, int8_t)
#define VMSTATE_INT16_V(_f, _s, _v)  VMSTATE_SINGLE_V(_f, _s, _v, vmstate_info_int16, int16_t)
#define VMSTATE_INT32_V(_f, _s, _v)  VMSTATE_SINGLE_V(_f, _s, _v, vmstate_info_int32, int32_t)
#define VMSTATE_INT64_V(_f, _s, _v)  VMSTATE_SINGLE_V(_f, _s, _v, vmstate_info_int64, int64_t)
#define VMSTATE_UINT8_V(_f, _s, _v)  VMSTATE_SINGLE_V(_f, _s, _v, vmstate_info_uint8, uint8_t)
#define VMSTATE_UINT16_V(_f, _s, _v) VMSTATE_SINGLE_V(_f, _s, _v, vmstate_info_uint16, uint16_t)
#define VMSTATE_UINT32_V(_f, _s, _v) VMSTATE_SINGLE_V(_f, _s, _v, vmstate_info_uint32, uint32_t)
#define VMSTATE_UINT64_V(_f, _s, _v) VMSTATE_SINGLE_V(_f, _s, _v, vmstate_info_uint64, uint64_t)
#define VMSTATE_BOOL(_f, _s)   VMSTATE_BOOL_V(_f, _s, 0)
#define VMSTATE_INT8(_f, _s)   VMSTATE_INT8_V(_f, _s, 0)
#define VMSTATE_INT16(_f, _s)  VMSTATE_INT16_V(_f, _s, 0)
#define VMSTATE_INT32(_f, _s)  VMSTATE_INT32_V(_f, _s, 0)
#define VMSTATE_INT64(_f, _s)  VMSTATE_INT64_V(_f, _s, 0)
#define VMSTATE_UINT8(_f, _s)  VMSTATE_UINT8_V(_f, _s, 0)
#define VMSTATE_UINT16(_f, _s) VMSTATE_UINT16_V(_f, _s, 0)
#define VMSTATE_UINT32(_f, _s) VMSTATE_UINT32_V(_f, _s, 0)
#define VMSTATE_UINT64(_f, _s) VMSTATE_UINT64_V(_f, _s, 0)

/* Load checks that the input equals the current value (QEMU's _EQUAL set). */
#define VMSTATE_UINT8_EQUAL_V(_f, _s, _v)  VMSTATE_SINGLE_V(_f, _s, _v, vmstate_info_uint8_equal, uint8_t)
#define VMSTATE_UINT16_EQUAL_V(_f, _s, _v) VMSTATE_SINGLE_V(_f, _s, _v, vmstate_info_uint16_equal, uint16_t)
#define VMSTATE_INT32_EQUAL_V(_f, _s, _v)  VMSTATE_SINGLE_V(_f, _s, _v, vmstate_info_int32_equal, int32_t)
#define VMSTATE_UINT32_EQUAL_V(_f, _s, _v) VMSTATE_SINGLE_V(_f, _s, _v, vmstate_info_uint32_equal, uint32_t)
#define VMSTATE_UINT64_EQUAL_V(_f, _s, _v) VMSTATE_SINGLE_V(_f, _s, _v, vmstate_info_uint64_equal, uint64_t)
#define VMSTATE_UINT8_EQUAL(_f, _s)  VMSTATE_UINT8_EQUAL_V(_f, _s, 0)
#define VMSTATE_UINT16_EQUAL(_f, _s) VMSTATE_UINT16_EQUAL_V(_f, _s, 0)
#define VMSTATE_INT32_EQUAL(_f, _s)  VMSTATE_INT32_EQUAL_V(_f, _s, 0)
#define VMSTATE_UINT32_EQUAL(_f, _s) VMSTATE_UINT32_EQUAL_V(_f, _s, 0)
#define VMSTATE_UINT64_EQUAL(_f, _s) VMSTATE_UINT64_EQUAL_V(_f, _s, 0)

/* Fixed arrays of scalars: the field must be _type[_num]. */
#define VMSTATE_ARRAY(_field, _state, _num, _version, _info, _type) {           \
    .name = #_field,                                                            \
    .info = VMSTATE_INFO(_info),                                                \
    .shape = VMSTATE_ARRAY,                                                     \
    .offset = vmstate_offset_array(_state, _field, _type, _num) +               \
              vmstate_check_info(_info, _type),                                 \
    .size = sizeof(_type),                                                      \
    .num = (_num),                                                              \
    .version_id = (_version),                                                   \
}
#define VMSTATE_BOOL_ARRAY_V(_f, _s, _n, _v)   VMSTATE_ARRAY(_f, _s, _n, _v, vmstate_info_bool, bool)
#define VMSTATE_INT8_ARRAY_V(_f, _s, _n, _v)   VMSTATE_ARRAY(_f, _s, _n, _v, vmstate_info_int8, int8_t)
#define VMSTATE_INT16_ARRAY_V(_f, _s, _n, _v)  VMSTATE_ARRAY(_f, _s, _n, _v, vmstate_info_int16, int16_t)
#define VMSTATE_INT32_ARRAY_V(_f, _s, _n, _v)  VMSTATE_ARRAY(_f, _s, _n, _v, vmstate_info_int32, int32_t)
#define VMSTATE_INT64_ARRAY_V(_f, _s, _n, _v)  VMSTATE_ARRAY(_f, _s, _n, _v, vmstate_info_int64, int64_t)
#define VMSTATE_UINT8_ARRAY_V(_f, _s, _n, _v)  VMSTATE_ARRAY(_f, _s, _n, _v, vmstate_info_uint8, uint8_t)
#define VMSTATE_UINT16_ARRAY_V(_f, _s, _n, _v) VMSTATE_ARRAY(_f, _s, _n, _v, vmstate_info_uint16, uint16_t)
#define VMSTATE_UINT32_ARRAY_V(_f, _s, _n, _v) VMSTATE_ARRAY(_f, _s, _n, _v, vmstate_info_uint32, uint32_t)
#define VMSTATE_UINT64_ARRAY_V(_f, _s, _n, _v) VMSTATE_ARRAY(_f, _s, _n, _v, vmstate_info_uint64, uint64_t)
#define VMSTATE_BOOL_ARRAY(_f, _s, _n)   VMSTATE_BOOL_ARRAY_V(_f, _s, _n, 0)
#define VMSTATE_INT8_ARRAY(_f, _s, _n)   VMSTATE_INT8_ARRAY_V(_f, _s, _n, 0)
#define VMSTATE_INT16_ARRAY(_f, _s, _n)  VMSTATE_INT16_ARRAY_V(_f, _s, _n, 0)
#define VMSTATE_INT32_ARRAY(_f, _s, _n)  VMSTATE_INT32_ARRAY_V(_f, _s, _n, 0)
#define VMSTATE_INT64_ARRAY(_f, _s, _n)  VMSTATE_INT64_ARRAY_V(_f, _s, _n, 0)
#define VMSTATE_UINT8_ARRAY(_f, _s, _n)  VMSTATE_UINT8_ARRAY_V(_f, _s, _n, 0)
#define VMSTATE_UINT16_ARRAY(_f, _s, _n) VMSTATE_UINT16_ARRAY_V(_f, _s, _n, 0)
#define VMSTATE_UINT32_ARRAY(_f, _s, _n) VMSTATE_UINT32_ARRAY_V(_f, _s, _n, 0)
#define VMSTATE_UINT64_ARRAY(_f, _s, _n) VMSTATE_UINT64_ARRAY_V(_f, _s, _n, 0)

/* A uint8_t array sent as raw bytes (a hex string as a QObject). */
#define VMSTATE_BUFFER_V(_field, _state, _version) {                            \
    .name = #_field,                                                            \
    .info = VMSTATE_INFO(VMSTATE_TYPE_BUFFER),                                  \
    .shape = VMSTATE_SINGLE,                                                    \
    .offset = vmstate_offset_varray(_state, _field, uint8_t),                   \
    .size = sizeof(vmstate_typeof_field(_state, _field)),                       \
    .version_id = (_version),                                                   \
}
#define VMSTATE_BUFFER(_f, _s) VMSTATE_BUFFER_V(_f, _s, 0)

/* _size bytes that used to be state: zeros on save, thrown away on load. */
#define VMSTATE_UNUSED_V(_version, _size) {                                     \
    .name = "unused",                                                           \
    .info = VMSTATE_INFO(VMSTATE_TYPE_UNUSED),                                  \
    .shape = VMSTATE_SINGLE,                                                    \
    .size = (_size),                                                            \
    .version_id = (_version),                                                   \
}
#define VMSTATE_UNUSED(_size) VMSTATE_UNUSED_V(0, _size)

/* Nested structs: the field must be a _type, described by _vmsd. */
#define VMSTATE_STRUCT(_field, _state, _version, _vmsd, _type) {                \
    .name = #_field,                                                            \
    .info = VMSTATE_INFO(VMSTATE_TYPE_STRUCT),                                  \
    .shape = VMSTATE_SINGLE,                                                    \
    .offset = vmstate_offset_value(_state, _field, _type),                      \
    .size = sizeof(_type),                                                      \
    .vmsd = &(_vmsd),                                                           \
    .version_id = (_version),                                                   \
}
#define VMSTATE_STRUCT_ARRAY(_field, _state, _num, _version, _vmsd, _type) {    \
    .name = #_field,                                                            \
    .info = VMSTATE_INFO(VMSTATE_TYPE_STRUCT),                                  \
    .shape = VMSTATE_ARRAY,                                                     \
    .offset = vmstate_offset_array(_state, _field, _type, _num),                \
    .size = sizeof(_type),                                                      \
    .num = (_num),                                                              \
    .vmsd = &(_vmsd),                                                           \
    .version_id = (_version),                                                   \
}

/*
 * Counted arrays of a C array field (its length is the maximum): the first N
 * elements are sent, N being the integer field _field_num of type _numtype.
 * _shape is VMSTATE_VARRAY (N is an earlier field of the description) or
 * VMSTATE_PARTIAL (N is any integer of the state).
 */
#define VMSTATE_COUNTED_OF(_shape, _field, _state, _field_num, _numinfo, _numtype, \
                           _version, _info, _type) {                            \
    .name = #_field,                                                            \
    .info = VMSTATE_INFO(_info),                                                \
    .shape = (_shape),                                                          \
    .offset = vmstate_offset_varray(_state, _field, _type) +                    \
              vmstate_check_info(_info, _type),                                 \
    .size = sizeof(_type),                                                      \
    .num = vmstate_array_len(_state, _field),                                   \
    .num_offset = vmstate_offset_value(_state, _field_num, _numtype),           \
    .num_info = VMSTATE_INFO(_numinfo),                                         \
    .version_id = (_version),                                                   \
}
#define VMSTATE_STRUCT_COUNTED_OF(_shape, _field, _state, _field_num, _numinfo, \
                                  _numtype, _version, _vmsd, _type) {           \
    .name = #_field,                                                            \
    .info = VMSTATE_INFO(VMSTATE_TYPE_STRUCT),                                  \
    .shape = (_shape),                                                          \
    .offset = vmstate_offset_varray(_state, _field, _type),                     \
    .size = sizeof(_type),                                                      \
    .num = vmstate_array_len(_state, _field),                                   \
    .num_offset = vmstate_offset_value(_state, _field_num, _numtype),           \
    .num_info = VMSTATE_INFO(_numinfo),                                         \
    .vmsd = &(_vmsd),                                                           \
    .version_id = (_version),                                                   \
}
#define VMSTATE_VARRAY_UINT8(_f, _s, _n, _v, _info, _type) \
    VMSTATE_COUNTED_OF(VMSTATE_VARRAY, _f, _s, _n, vmstate_info_uint8, uint8_t, _v, _info, _type)
#define VMSTATE_VARRAY_UINT16(_f, _s, _n, _v, _info, _type) \
    VMSTATE_COUNTED_OF(VMSTATE_VARRAY, _f, _s, _n, vmstate_info_uint16, uint16_t, _v, _info, _type)
#define VMSTATE_VARRAY_UINT32(_f, _s, _n, _v, _info, _type) \
    VMSTATE_COUNTED_OF(VMSTATE_VARRAY, _f, _s, _n, vmstate_info_uint32, uint32_t, _v, _info, _type)
#define VMSTATE_VARRAY_INT32(_f, _s, _n, _v, _info, _type) \
    VMSTATE_COUNTED_OF(VMSTATE_VARRAY, _f, _s, _n, vmstate_info_int32, int32_t, _v, _info, _type)
#define VMSTATE_STRUCT_VARRAY_UINT8(_f, _s, _n, _v, _vmsd, _type) \
    VMSTATE_STRUCT_COUNTED_OF(VMSTATE_VARRAY, _f, _s, _n, vmstate_info_uint8, uint8_t, _v, _vmsd, _type)
#define VMSTATE_STRUCT_VARRAY_UINT16(_f, _s, _n, _v, _vmsd, _type) \
    VMSTATE_STRUCT_COUNTED_OF(VMSTATE_VARRAY, _f, _s, _n, vmstate_info_uint16, uint16_t, _v, _vmsd, _type)
#define VMSTATE_STRUCT_VARRAY_UINT32(_f, _s, _n, _v, _vmsd, _type) \
    VMSTATE_STRUCT_COUNTED_OF(VMSTATE_VARRAY, _f, _s, _n, vmstate_info_uint32, uint32_t, _v, _vmsd, _type)
#define VMSTATE_STRUCT_VARRAY_INT32(_f, _s, _n, _v, _vmsd, _type) \
    VMSTATE_STRUCT_COUNTED_OF(VMSTATE_VARRAY, _f, _s, _n, vmstate_info_int32, int32_t, _v, _vmsd, _type)
#define VMSTATE_PARTIAL_ARRAY_UINT8(_f, _s, _n, _v, _info, _type) \
    VMSTATE_COUNTED_OF(VMSTATE_PARTIAL, _f, _s, _n, vmstate_info_uint8, uint8_t, _v, _info, _type)
#define VMSTATE_PARTIAL_ARRAY_UINT16(_f, _s, _n, _v, _info, _type) \
    VMSTATE_COUNTED_OF(VMSTATE_PARTIAL, _f, _s, _n, vmstate_info_uint16, uint16_t, _v, _info, _type)
#define VMSTATE_PARTIAL_ARRAY_UINT32(_f, _s, _n, _v, _info, _type) \
    VMSTATE_COUNTED_OF(VMSTATE_PARTIAL, _f, _s, _n, vmstate_info_uint32, uint32_t, _v, _info, _type)
#define VMSTATE_PARTIAL_ARRAY_INT32(_f, _s, _n, _v, _info, _type) \
    VMSTATE_COUNTED_OF(VMSTATE_PARTIAL, _f, _s, _n, vmstate_info_int32, int32_t, _v, _info, _type)
#define VMSTATE_STRUCT_PARTIAL_ARRAY_UINT8(_f, _s, _n, _v, _vmsd, _type) \
    VMSTATE_STRUCT_COUNTED_OF(VMSTATE_PARTIAL, _f, _s, _n, vmstate_info_uint8, uint8_t, _v, _vmsd, _type)
#define VMSTATE_STRUCT_PARTIAL_ARRAY_UINT16(_f, _s, _n, _v, _vmsd, _type) \
    VMSTATE_STRUCT_COUNTED_OF(VMSTATE_PARTIAL, _f, _s, _n, vmstate_info_uint16, uint16_t, _v, _vmsd, _type)
#define VMSTATE_STRUCT_PARTIAL_ARRAY_UINT32(_f, _s, _n, _v, _vmsd, _type) \
    VMSTATE_STRUCT_COUNTED_OF(VMSTATE_PARTIAL, _f, _s, _n, vmstate_info_uint32, uint32_t, _v, _vmsd, _type)
#define VMSTATE_STRUCT_PARTIAL_ARRAY_INT32(_f, _s, _n, _v, _vmsd, _type) \
    VMSTATE_STRUCT_COUNTED_OF(VMSTATE_PARTIAL, _f, _s, _n, vmstate_info_int32, int32_t, _v, _vmsd, _type)

/*
 * Segment-relative pointers: _field is a uint64_t offset into the region of
 * the VMStateContext where up to _max elements of _type live; the first N
 * (the integer _field_num) are state.
 */
#define VMSTATE_SEGPTR_OF(_field, _state, _field_num, _numinfo, _numtype, _max, \
                          _version, _info, _type) {                             \
    .name = #_field,                                                            \
    .info = VMSTATE_INFO(_info),                                                \
    .shape = VMSTATE_SEGPTR,                                                    \
    .offset = vmstate_offset_value(_state, _field, uint64_t) +                  \
              vmstate_check_info(_info, _type),                                 \
    .size = sizeof(_type),                                                      \
    .num = (_max),                                                              \
    .num_offset = vmstate_offset_value(_state, _field_num, _numtype),           \
    .num_info = VMSTATE_INFO(_numinfo),                                         \
    .version_id = (_version),                                                   \
}
#define VMSTATE_STRUCT_SEGPTR_OF(_field, _state, _field_num, _numinfo, _numtype, \
                                 _max, _version, _vmsd, _type) {                \
    .name = #_field,                                                            \
    .info = VMSTATE_INFO(VMSTATE_TYPE_STRUCT),                                  \
    .shape = VMSTATE_SEGPTR,                                                    \
    .offset = vmstate_offset_value(_state, _field, uint64_t),                   \
    .size = sizeof(_type),                                                      \
    .num = (_max),                                                              \
    .num_offset = vmstate_offset_value(_state, _field_num, _numtype),           \
    .num_info = VMSTATE_INFO(_numinfo),                                         \
    .vmsd = &(_vmsd),                                                           \
    .version_id = (_version),                                                   \
}
#define VMSTATE_SEGPTR_UINT32(_f, _s, _n, _max, _v, _info, _type) \
    VMSTATE_SEGPTR_OF(_f, _s, _n, vmstate_info_uint32, uint32_t, _max, _v, _info, _type)
#define VMSTATE_STRUCT_SEGPTR_UINT32(_f, _s, _n, _max, _v, _vmsd, _type) \
    VMSTATE_STRUCT_SEGPTR_OF(_f, _s, _n, vmstate_info_uint32, uint32_t, _max, _v, _vmsd, _type)

#define VMSTATE_END_OF_LIST() { .name = NULL }

#endif

/*
 * The Visitor interface.
 *
 * A Visitor walks a C value and a representation of it in step.  The code
 * doing the walk (a hand-written visit function in a test, or the VMState
 * engine walking a description) makes the same sequence of calls whatever
 * the representation is; the visitor decides what a call means:
 *
 *   - An OUTPUT visitor reads the C value passed in and produces something:
 *     a QObject, bytes of QEMU's migration stream, pretty text, ...
 *     It never changes the C value.
 *   - An INPUT visitor reads its representation and fills in the C value.
 *     It fails, with a clear error, on anything that does not fit: a missing
 *     field, a wrong type, a value out of range for the C type, a list of
 *     the wrong length, or input left over (an extra field or element).
 *
 * The call sequence (the "walk"):
 *
 *     visit_start_struct(v, name, info)       a struct or a VMState section
 *         visit_type_<kind>(v, "member", &c_value)   ...members, in order
 *         visit_optional(v, "member", &present)      an optional member follows?
 *         visit_start_list(v, "member", &len)        a list of len elements
 *             visit_next_list(v)                     before every element;
 *             visit_type_<kind>(v, NULL, &elem)      elements have no name
 *         visit_check_list(v); visit_end_list(v)
 *     visit_check_struct(v); visit_end_struct(v)
 *
 * Names: members of a struct are visited with their name; list elements and
 * the value visited at the top level of some formats with NULL (the top-level
 * struct usually gets a name: "serial").  The core keeps the path of the
 * current position, so every error can name the full field path:
 * "serial.fifo[3].data: ...".
 *
 * Integers: visit_type_int8..64 and uint8..64 carry the width to the visitor
 * (a wire format needs it); input visitors get the value range-checked by the
 * core, so an input visitor that reads 300 into a uint8 fails with
 * "PATH: value 300 out of range for uint8".
 *
 * Lists: *len is the element count.  Output visitors read it.  Input visitors
 * whose format carries a count (QObject) check it against *len, unless *len
 * is VISIT_LEN_UNKNOWN, in which case they store the count they found;
 * formats without counts (QEMU's stream) need *len from the caller.
 *
 * Structs: VisitStructInfo (may be NULL) says what kind of struct this is and
 * which VMState description and version it belongs to.  Formats that record
 * versions (QEMU stream subsections, pretty-print) use it; input visitors
 * whose format carries a version store it in info->version_id.
 *
 * Optional members (VMState subsections): see visit_optional().
 *
 * Errors: every visit function that can fail returns bool and takes a
 * trailing GError **errp; errors of the VMS_ERROR domain carry their field
 * path (and, for byte formats, the offset) as data (see error.h).  After a
 * failure the walk stops: the caller makes no more visits except the
 * visit_end_struct / visit_end_list that close what it opened, then calls
 * visit_free().  An input visitor may have filled part of the C value:
 * callers that must not lose state load into a scratch copy.
 *
 * Pairing: every visit_start_struct or visit_start_list that SUCCEEDED is
 * closed by exactly one visit_end_struct / visit_end_list, also when a
 * member or element failed in between.  One that FAILED opened nothing and
 * is not closed.  visit_check_struct / visit_check_list are called only when
 * every member or element succeeded, right before the end.
 *
 * Ownership: visit_type_str on input stores a g_malloc'd string in *obj,
 * owned by the caller.  Buffers are fixed-size and caller-owned in both
 * directions.  Each visitor has its own constructor and, for output
 * visitors, a function to take the result; visit_free() frees the visitor.
 *
 * Example: visiting `struct Fifo { uint8_t count; uint8_t data[16]; }`
 *
 *     bool visit_fifo(Visitor *v, const char *name, struct Fifo *f, GError **errp)
 *     {
 *         size_t len = 16;
 *         if (!visit_start_struct(v, name, NULL, errp)) {
 *             return false;                         (nothing opened: no end)
 *         }
 *         bool ok = visit_type_uint8(v, "count", &f->count, errp);
 *         if (ok && visit_start_list(v, "data", &len, errp)) {
 *             for (size_t i = 0; ok && i < len; i++) {
 *                 visit_next_list(v);
 *                 ok = visit_type_uint8(v, NULL, &f->data[i], errp);
 *             }
 *             ok = ok && visit_check_list(v, errp);
 *             visit_end_list(v);                    (opened: always closed)
 *         } else {
 *             ok = false;
 *         }
 *         ok = ok && visit_check_struct(v, errp);
 *         visit_end_struct(v);
 *         return ok;
 *     }
 *
 *     Visitor *v = qobject_output_visitor_new();
 *     visit_fifo(v, "fifo", &fifo, &err);
 *     QObject *obj = qobject_output_visitor_take(v);
 *     visit_free(v);
 */
#ifndef VMSCOPE_VISITOR_H
#define VMSCOPE_VISITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "vmscope/error.h"

typedef struct Visitor Visitor;

typedef enum VisitorType {
    VISITOR_OUTPUT = 1,
    VISITOR_INPUT = 2,
} VisitorType;

#define VISIT_LEN_UNKNOWN SIZE_MAX

typedef enum VisitStructKind {
    VISIT_STRUCT_PLAIN,        /* an ordinary nested struct */
    VISIT_STRUCT_VMSD,         /* the top of a VMState description (a section) */
    VISIT_STRUCT_NESTED_VMSD,  /* a VMSTATE_STRUCT field: a nested description */
    VISIT_STRUCT_SUBSECTION,   /* a VMState subsection */
} VisitStructKind;

typedef struct VisitStructInfo {
    VisitStructKind kind;
    const char *vmsd_name;     /* description name ("serial", "serial/fifo"), or NULL */
    int version_id;            /* in: version being saved / loader's version;
                                  out (input visitors): version found in the input */
} VisitStructInfo;

/* Integer kinds: the width and signedness of the C type. */
typedef enum VisitIntKind {
    VISIT_INT8, VISIT_INT16, VISIT_INT32, VISIT_INT64,
    VISIT_UINT8, VISIT_UINT16, VISIT_UINT32, VISIT_UINT64,
} VisitIntKind;

const char *visit_int_kind_name(VisitIntKind kind);   /* "int8" ... "uint64" */
unsigned visit_int_kind_bytes(VisitIntKind kind);     /* 1, 2, 4, 8 */
bool visit_int_kind_signed(VisitIntKind kind);

VisitorType visit_type(const Visitor *v);
static inline bool visit_is_input(const Visitor *v) { return visit_type(v) == VISITOR_INPUT; }

/*
 * Open a struct named `name`.  On input, info->version_id receives the
 * version the input carries, if its format has one.  Returns false (and
 * opens nothing) on failure; on success the struct must be closed with
 * visit_end_struct, whatever happens to its members.
 */
bool visit_start_struct(Visitor *v, const char *name, VisitStructInfo *info, GError **errp);
/*
 * After all members succeeded: an input visitor fails if the input has
 * members nobody visited (an extra field, a subsection the description does
 * not know).  Output visitors always succeed.  Close with visit_end_struct
 * either way.
 */
bool visit_check_struct(Visitor *v, GError **errp);
/* Close the struct opened by the last successful visit_start_struct.  Never fails. */
void visit_end_struct(Visitor *v);

/*
 * Open a list of *len elements (see "Lists" above for VISIT_LEN_UNKNOWN).
 * Same pairing as structs: closed with visit_end_list only if this
 * succeeded.
 */
bool visit_start_list(Visitor *v, const char *name, size_t *len, GError **errp);
/* Before each element, including the first. */
void visit_next_list(Visitor *v);
/* After all elements succeeded: an input visitor fails on elements left over. */
bool visit_check_list(Visitor *v, GError **errp);
void visit_end_list(Visitor *v);

/*
 * Is the optional member `name` there?  An output visitor records *present
 * (the caller decided); an input visitor sets *present to whether its input
 * has the member, consuming nothing.  Returns *present and never fails: an
 * input that looks wrong is left for the member's own visit or for
 * visit_check_struct to refuse.  This does not visit the member: when it
 * returns true the caller visits the member next, under the same name.
 */
bool visit_optional(Visitor *v, const char *name, bool *present);

/*
 * Scalars.  Output visitors read *obj; input visitors write *obj, and only
 * when they succeed (a failed visit leaves *obj as it was).
 */
bool visit_type_bool(Visitor *v, const char *name, bool *obj, GError **errp);
bool visit_type_int8(Visitor *v, const char *name, int8_t *obj, GError **errp);
bool visit_type_int16(Visitor *v, const char *name, int16_t *obj, GError **errp);
bool visit_type_int32(Visitor *v, const char *name, int32_t *obj, GError **errp);
bool visit_type_int64(Visitor *v, const char *name, int64_t *obj, GError **errp);
bool visit_type_uint8(Visitor *v, const char *name, uint8_t *obj, GError **errp);
bool visit_type_uint16(Visitor *v, const char *name, uint16_t *obj, GError **errp);
bool visit_type_uint32(Visitor *v, const char *name, uint32_t *obj, GError **errp);
bool visit_type_uint64(Visitor *v, const char *name, uint64_t *obj, GError **errp);
/* Any width, through a 64-bit value (used by the VMState engine). */
bool visit_type_int(Visitor *v, const char *name, VisitIntKind kind, int64_t *obj, GError **errp);
bool visit_type_uint(Visitor *v, const char *name, VisitIntKind kind, uint64_t *obj, GError **errp);
/*
 * A string.  Output: *obj is read (NULL is written as the empty string).
 * Input: *obj receives a new g_malloc'd string the caller frees; the old
 * *obj is not freed.
 */
bool visit_type_str(Visitor *v, const char *name, char **obj, GError **errp);
bool visit_type_number(Visitor *v, const char *name, double *obj, GError **errp);
/*
 * A fixed-size byte buffer of len bytes, caller-owned in both directions;
 * input must have exactly len bytes, and buf is written only on success.
 */
bool visit_type_buffer(Visitor *v, const char *name, uint8_t *buf, size_t len, GError **errp);
/*
 * A value that is known to be absent (QEMU's null-pointer marker in an
 * array of pointers; JSON null).  Input visitors check that the input has
 * one.
 */
bool visit_type_null(Visitor *v, const char *name, GError **errp);

/*
 * Free the visitor and whatever it built and was not taken (NULL is fine),
 * at any time: after a walk, after a failed one, even in the middle of one.
 */
void visit_free(Visitor *v);

/*
 * The path of the member `name` at the current position, e.g.
 * "serial.fifo[3].data" (name NULL inside a list gives "serial.fifo[3]").
 * Returns a g_malloc'd string.
 */
char *visit_path(const Visitor *v, const char *name);

/*
 * Set *errp to an error located at the member `name` at the current
 * position (its path kept as data, see error.h): for walks and visitors
 * that find something wrong there, "serial.base: value 5 in the input
 * differs from the current value 4".
 */
void visit_error(const Visitor *v, const char *name, GError **errp, VmsErrorCode code,
                 const char *fmt, ...) G_GNUC_PRINTF(5, 6);

#endif

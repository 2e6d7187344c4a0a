/*
 * QObject: JSON-like values, built on json-c.
 *
 * A QObject *is* a json-c object (`struct json_object`), so anything json-c
 * offers works on it too; this module adds the few things vmscope needs on
 * top: exact 64-bit integers of either sign, deep equality that compares
 * numbers by value, and JSON text in and out with errors that say where.
 *
 * Values: null, bool, int (int64 or uint64, kept exact), double, string,
 * list, dict.  JSON null is the NULL pointer (json-c's convention), so a
 * function that can fail reports failure through GError, never by returning
 * NULL alone.  Dicts keep insertion order.
 *
 * Ownership: constructors return a new reference; qobject_ref/qobject_unref
 * count references (json_object_get/put).  qdict_put/qlist_append take over
 * the reference passed in.  Getters return borrowed references.
 */
#ifndef VMSCOPE_QOBJECT_H
#define VMSCOPE_QOBJECT_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <json-c/json.h>

typedef struct json_object QObject;

typedef enum QType {
    QTYPE_NULL,
    QTYPE_BOOL,
    QTYPE_INT,      /* an integer; see qnum_get_int/qnum_get_uint */
    QTYPE_DOUBLE,
    QTYPE_STRING,
    QTYPE_LIST,
    QTYPE_DICT,
} QType;

QType qobject_type(const QObject *obj);
const char *qtype_name(QType type);        /* "null", "bool", "int", ... */

static inline QObject *qobject_ref(QObject *obj) { return obj ? json_object_get(obj) : NULL; }
static inline void qobject_unref(QObject *obj) { if (obj) json_object_put(obj); }
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QObject, qobject_unref)

/* Constructors: each returns a new reference. */
QObject *qnull(void);                      /* NULL: JSON null */
QObject *qbool_from_bool(bool value);
QObject *qnum_from_int(int64_t value);
QObject *qnum_from_uint(uint64_t value);
QObject *qnum_from_double(double value);
QObject *qstring_from_str(const char *str);
QObject *qstring_from_printf(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
QObject *qdict_new(void);
QObject *qlist_new(void);

/* Scalars.  Getters return false if the type or range does not fit. */
bool qbool_get(const QObject *obj, bool *value);
bool qnum_get_int(const QObject *obj, int64_t *value);   /* fails for > INT64_MAX */
bool qnum_get_uint(const QObject *obj, uint64_t *value); /* fails for < 0 */
bool qnum_get_double(const QObject *obj, double *value); /* ints convert */
bool qnum_is_negative(const QObject *obj);
const char *qstring_get(const QObject *obj);             /* NULL if not a string */

/* Dicts. */
void qdict_put(QObject *dict, const char *key, QObject *value);   /* takes value */
QObject *qdict_get(const QObject *dict, const char *key);         /* borrowed; NULL if absent or null */
bool qdict_haskey(const QObject *dict, const char *key);
bool qdict_del(QObject *dict, const char *key);
size_t qdict_size(const QObject *dict);
const char *qdict_get_str(const QObject *dict, const char *key);  /* NULL unless a string */
#define qdict_foreach(dict, key, val) json_object_object_foreach((QObject *)(dict), key, val)

/* Lists. */
void qlist_append(QObject *list, QObject *value);                 /* takes value */
QObject *qlist_get(const QObject *list, size_t index);            /* borrowed */
size_t qlist_size(const QObject *list);

/*
 * Deep equality: same type and value; integers compare by value whatever
 * their signedness representation; dicts compare as key sets (order does not
 * matter), lists in order.
 */
bool qobject_equal(const QObject *a, const QObject *b);

/* A deep copy (new reference). */
QObject *qobject_copy(const QObject *obj);

/*
 * Where two trees differ (lib/core/qobject-diff.c): what both the agent's
 * DEVICE_STATE_CHANGED and `vmscope-view diff` report.
 *
 * Paths name values the way field paths do everywhere: dict members joined
 * with ".", list elements as "[i]", below `root` ("": none, so "fifo.num";
 * "serial": "serial.fifo.num"; a difference at the root itself is named
 * root).  The diff descends into dicts and lists and names the deepest
 * value that differs (compared with qobject_equal()); a member or element
 * that only one side has is named itself, and so is a value whose type
 * changed.  Entries come in the order of `after` (its members in its order,
 * elements by index), then the members only `before` has, in its order.
 *
 * Returns a GPtrArray of QObjectDiff (g_ptr_array_unref() it); the values
 * in the entries are borrowed from the two trees.
 */
typedef enum QObjectDiffKind {
    QOBJECT_DIFF_CHANGED,          /* both have it, with different values */
    QOBJECT_DIFF_ADDED,            /* only after has it (before is NULL) */
    QOBJECT_DIFF_REMOVED,          /* only before has it (after is NULL) */
} QObjectDiffKind;

typedef struct QObjectDiff {
    QObjectDiffKind kind;
    char *path;
    const QObject *before, *after; /* NULL: JSON null, or not on that side (kind) */
} QObjectDiff;

GPtrArray *qobject_diff(const QObject *before, const QObject *after, const char *root);

/* JSON text.  `pretty` indents with two spaces.  Returns a g_malloc'd string. */
char *qobject_to_json(const QObject *obj, bool pretty);

/*
 * Parse one JSON value.  Trailing non-space text is an error, so is text
 * that is not UTF-8, and so is an integer beyond 64 bits (json-c would
 * clamp it: it is refused rather than read as another number).  Errors name
 * the byte offset: "JSON parse error at offset 12: unexpected character".
 * Returns true and sets *out (a new reference; NULL for JSON null).
 */
bool qobject_from_json(const char *text, size_t len, QObject **out, GError **errp);

#endif

/*
 * JSON-schema output visitor: see include/vmscope/json-schema-visitor.h.
 *
 * A stack of open structs and lists mirrors the walk; each visited value
 * becomes a schema that is attached to its parent when it is complete (a
 * struct's or list's at its end): a property (required unless it came
 * through visit_optional) or an element.  Annotations wait for the member
 * they name.
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "vmscope/json-schema-visitor.h"
#include "visitor-impl.h"

#define DRAFT_07 "http://json-schema.org/draft-07/schema#"

typedef struct JsFrame {
    QObject *schema;        /* the struct's or list's own schema */
    char *name;             /* the member it is */
    bool optional;          /* it came through visit_optional */
    QObject *properties;    /* structs */
    QObject *required;
    GPtrArray *items;       /* lists: element schemas (owned) */
    size_t len;
    QObject *note;          /* its annotation: {"description", "$comment"} */
    bool variable;          /* lists: annotated as 0 to len elements */
} JsFrame;

typedef struct JsonSchemaVisitor {
    Visitor visitor;
    GArray *frames;         /* JsFrame */
    QObject *result;
    char *optional;         /* the member visit_optional said is next */
    char *note_name;        /* the pending annotation's member */
    char *note_description;
    char *note_comment;
    bool note_variable;
} JsonSchemaVisitor;

static JsonSchemaVisitor *to_jsv(Visitor *v)
{
    return (JsonSchemaVisitor *)v;
}

static JsFrame *top(JsonSchemaVisitor *jsv)
{
    return jsv->frames->len ? &g_array_index(jsv->frames, JsFrame, jsv->frames->len - 1) : NULL;
}

static void note_clear(JsonSchemaVisitor *jsv)
{
    g_clear_pointer(&jsv->note_name, g_free);
    g_clear_pointer(&jsv->note_description, g_free);
    g_clear_pointer(&jsv->note_comment, g_free);
    jsv->note_variable = false;
}

/* Whether the pending annotation is for `name` (NULL names never match). */
static bool note_for(JsonSchemaVisitor *jsv, const char *name)
{
    return name && jsv->note_name && strcmp(jsv->note_name, name) == 0;
}

/*
 * The pending annotation, if it is for the member `name` about to be
 * visited: taken, as {"description", "$comment"} (NULL: none).  Taken when
 * the member starts, since the members of a struct or list have
 * annotations of their own.
 */
static QObject *take_note(JsonSchemaVisitor *jsv, const char *name, bool *variable)
{
    *variable = false;
    if (!note_for(jsv, name)) {
        return NULL;
    }
    QObject *note = qdict_new();
    if (jsv->note_description) {
        qdict_put(note, "description", qstring_from_str(jsv->note_description));
    }
    if (jsv->note_comment) {
        qdict_put(note, "$comment", qstring_from_str(jsv->note_comment));
    }
    *variable = jsv->note_variable;
    note_clear(jsv);
    return note;
}

/*
 * An annotation on schema s: a description s has already (a struct's)
 * stays, a comment is added to the one it has.  Takes note (NULL: none).
 */
static void apply_note(QObject *s, QObject *note)
{
    const char *desc = qdict_get_str(note, "description");
    const char *comment = qdict_get_str(note, "$comment");
    if (desc && !qdict_haskey(s, "description")) {
        qdict_put(s, "description", qstring_from_str(desc));
    }
    if (comment) {
        const char *had = qdict_get_str(s, "$comment");
        qdict_put(s, "$comment", had ? qstring_from_printf("%s; %s", had, comment)
                                     : qstring_from_str(comment));
    }
    qobject_unref(note);
}

/* Close the innermost frame: its contents, the frame itself gone from the stack. */
static JsFrame pop(JsonSchemaVisitor *jsv)
{
    JsFrame *t = top(jsv);
    JsFrame f = *t;
    memset(t, 0, sizeof(*t));
    g_array_set_size(jsv->frames, jsv->frames->len - 1);
    return f;
}

/* A finished schema s of the member `name`: into its parent, or the result. */
static void attach(JsonSchemaVisitor *jsv, const char *name, bool optional, QObject *s)
{
    JsFrame *f = top(jsv);
    if (!f) {
        /* The top: "$schema" first. */
        QObject *top = qdict_new();
        qdict_put(top, "$schema", qstring_from_str(DRAFT_07));
        qdict_foreach(s, key, val) {
            qdict_put(top, key, qobject_ref(val));
        }
        qobject_unref(s);
        qobject_unref(jsv->result);
        jsv->result = top;
        return;
    }
    if (f->items) {
        g_ptr_array_add(f->items, s);
        return;
    }
    if (!optional) {
        qlist_append(f->required, qstring_from_str(name));
    }
    qdict_put(f->properties, name, s);
}

/* Whether the member `name` about to be visited came through visit_optional. */
static bool take_optional(JsonSchemaVisitor *jsv, const char *name)
{
    bool optional = name && jsv->optional && strcmp(jsv->optional, name) == 0;
    g_clear_pointer(&jsv->optional, g_free);
    return optional;
}

static QObject *typed(const char *type)
{
    QObject *s = qdict_new();
    qdict_put(s, "type", qstring_from_str(type));
    return s;
}

/* A scalar member: its schema, annotated, attached. */
static bool scalar(Visitor *v, const char *name, QObject *s)
{
    JsonSchemaVisitor *jsv = to_jsv(v);
    bool optional = take_optional(jsv, name), variable;
    apply_note(s, take_note(jsv, name, &variable));
    attach(jsv, name, optional, s);
    return true;
}

static void push(JsonSchemaVisitor *jsv, const char *name, QObject *schema, bool is_list,
                 size_t len)
{
    JsFrame f = {
        .schema = schema,
        .name = g_strdup(name),
        .optional = take_optional(jsv, name),
        .len = len,
    };
    f.note = take_note(jsv, name, &f.variable);
    if (is_list) {
        f.items = g_ptr_array_new_with_free_func((GDestroyNotify)qobject_unref);
    } else {
        f.properties = qdict_new();
        f.required = qlist_new();
    }
    g_array_append_val(jsv->frames, f);
}

static bool jsv_start_struct(Visitor *v, const char *name, VisitStructInfo *info, GError **errp)
{
    JsonSchemaVisitor *jsv = to_jsv(v);
    QObject *s = typed("object");
    VisitStructKind kind = info ? info->kind : VISIT_STRUCT_PLAIN;
    if (kind != VISIT_STRUCT_PLAIN && info->vmsd_name) {
        const char *what = kind == VISIT_STRUCT_SUBSECTION ? "subsection" : "VMState description";
        qdict_put(s, "title", qstring_from_str(info->vmsd_name));
        qdict_put(s, "description", qstring_from_printf("%s %s, version %d", what,
                                                        info->vmsd_name, info->version_id));
        qdict_put(s, "$comment", qstring_from_printf("vmsd %s version %d", info->vmsd_name,
                                                     info->version_id));
    }
    push(jsv, name, s, false, 0);
    return true;
}

static void jsv_end_struct(Visitor *v)
{
    JsonSchemaVisitor *jsv = to_jsv(v);
    JsFrame f = pop(jsv);
    qdict_put(f.schema, "properties", f.properties);
    qdict_put(f.schema, "required", f.required);
    qdict_put(f.schema, "additionalProperties", qbool_from_bool(false));
    apply_note(f.schema, f.note);
    attach(jsv, f.name, f.optional, f.schema);
    g_free(f.name);
}

static bool jsv_start_list(Visitor *v, const char *name, size_t *len, GError **errp)
{
    push(to_jsv(v), name, typed("array"), true, *len);
    return true;
}

static void jsv_end_list(Visitor *v)
{
    JsonSchemaVisitor *jsv = to_jsv(v);
    JsFrame f = pop(jsv);
    bool same = true;
    for (guint i = 1; same && i < f.items->len; i++) {
        same = qobject_equal(g_ptr_array_index(f.items, 0), g_ptr_array_index(f.items, i));
    }
    qdict_put(f.schema, "minItems", qnum_from_uint(f.variable ? 0 : f.len));
    qdict_put(f.schema, "maxItems", qnum_from_uint(f.len));
    if (f.items->len && same) {
        qdict_put(f.schema, "items", qobject_ref(g_ptr_array_index(f.items, 0)));
    } else if (f.items->len) {
        QObject *items = qlist_new();
        for (guint i = 0; i < f.items->len; i++) {
            qlist_append(items, qobject_ref(g_ptr_array_index(f.items, i)));
        }
        qdict_put(f.schema, "items", items);
        qdict_put(f.schema, "additionalItems", qbool_from_bool(false));
    }
    g_ptr_array_unref(f.items);
    apply_note(f.schema, f.note);
    attach(jsv, f.name, f.optional, f.schema);
    g_free(f.name);
}

static bool jsv_optional(Visitor *v, const char *name, bool *present)
{
    JsonSchemaVisitor *jsv = to_jsv(v);
    g_free(jsv->optional);
    jsv->optional = g_strdup(name);
    *present = true;
    return true;
}

static bool jsv_type_bool(Visitor *v, const char *name, bool *obj, GError **errp)
{
    return scalar(v, name, typed("boolean"));
}

static QObject *integer(VisitIntKind kind)
{
    QObject *s = typed("integer");
    unsigned bits = 8 * visit_int_kind_bytes(kind);
    if (visit_int_kind_signed(kind)) {
        int64_t max = (int64_t)(UINT64_MAX >> (65 - bits));
        qdict_put(s, "minimum", qnum_from_int(-max - 1));
        qdict_put(s, "maximum", qnum_from_int(max));
    } else {
        qdict_put(s, "minimum", qnum_from_uint(0));
        qdict_put(s, "maximum", qnum_from_uint(UINT64_MAX >> (64 - bits)));
    }
    return s;
}

static bool jsv_type_int(Visitor *v, const char *name, VisitIntKind kind, int64_t *obj,
                         GError **errp)
{
    return scalar(v, name, integer(kind));
}

static bool jsv_type_uint(Visitor *v, const char *name, VisitIntKind kind, uint64_t *obj,
                          GError **errp)
{
    return scalar(v, name, integer(kind));
}

static bool jsv_type_str(Visitor *v, const char *name, char **obj, GError **errp)
{
    return scalar(v, name, typed("string"));
}

static bool jsv_type_number(Visitor *v, const char *name, double *obj, GError **errp)
{
    return scalar(v, name, typed("number"));
}

static bool jsv_type_buffer(Visitor *v, const char *name, uint8_t *buf, size_t len,
                            GError **errp)
{
    QObject *s = typed("string");
    qdict_put(s, "pattern", qstring_from_printf("^[0-9a-fA-F]{%zu}$", 2 * len));
    return scalar(v, name, s);
}

static bool jsv_type_null(Visitor *v, const char *name, GError **errp)
{
    return scalar(v, name, typed("null"));
}

static void frame_clear(gpointer p)
{
    JsFrame *f = p;
    qobject_unref(f->schema);
    qobject_unref(f->properties);
    qobject_unref(f->required);
    qobject_unref(f->note);
    if (f->items) {
        g_ptr_array_unref(f->items);
    }
    g_free(f->name);
}

static void jsv_free(Visitor *v)
{
    JsonSchemaVisitor *jsv = to_jsv(v);
    g_array_free(jsv->frames, TRUE);
    qobject_unref(jsv->result);
    g_free(jsv->optional);
    note_clear(jsv);
}

void json_schema_output_visitor_annotate(Visitor *v, const char *name, const char *description,
                                         const char *comment, bool variable)
{
    JsonSchemaVisitor *jsv = to_jsv(v);
    note_clear(jsv);
    jsv->note_name = g_strdup(name);
    jsv->note_description = g_strdup(description);
    jsv->note_comment = g_strdup(comment);
    jsv->note_variable = variable;
}

Visitor *json_schema_output_visitor_new(void)
{
    JsonSchemaVisitor *jsv = g_new0(JsonSchemaVisitor, 1);
    Visitor *v = &jsv->visitor;
    visitor_init(v, VISITOR_OUTPUT);
    v->start_struct = jsv_start_struct;
    v->end_struct = jsv_end_struct;
    v->start_list = jsv_start_list;
    v->end_list = jsv_end_list;
    v->optional = jsv_optional;
    v->type_bool = jsv_type_bool;
    v->type_int = jsv_type_int;
    v->type_uint = jsv_type_uint;
    v->type_str = jsv_type_str;
    v->type_number = jsv_type_number;
    v->type_buffer = jsv_type_buffer;
    v->type_null = jsv_type_null;
    v->free = jsv_free;
    jsv->frames = g_array_new(FALSE, TRUE, sizeof(JsFrame));
    g_array_set_clear_func(jsv->frames, frame_clear);
    return v;
}

QObject *json_schema_output_visitor_take(Visitor *v)
{
    JsonSchemaVisitor *jsv = to_jsv(v);
    QObject *s = jsv->result;
    jsv->result = NULL;
    return s;
}

/*
 * qidl: VMState descriptions generated from annotated C structs
 * (qidl.h, docs/qidl.md).
 *
 *   qidl -o OUT.h FILE.c -- COMPILER FLAGS...
 *
 * FILE is parsed by libclang, as the compiler reads it (macros, typedefs,
 * nested structs, arrays), with -DQIDL_GEN so that the markers become
 * annotate attributes.  Every struct of FILE itself (not of its headers)
 * declared with QIDL_DECLARE gets, in OUT:
 *   a VMStateField list whose entries carry the same compile-time type
 *   checks as vmstate.h's VMSTATE_* macros (the field has the C type the
 *   entry says, the array the length, the type token fits the C type);
 *   a VMStateDescription `vmstate_<Struct>` (static), with one subsection
 *   per q_optional field and a post_load that applies q_default values.
 * OUT is meant to be #included by FILE after the struct and its post_load
 * function (under #ifndef QIDL_GEN).
 *
 * Errors are one line each, compiler-style: FILE:LINE:COLUMN: error: ...,
 * at the field or at the marker; nothing is written then.  A struct with a
 * q_broken field is left out, with a note saying so: it keeps its
 * hand-written description.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <clang-c/Index.h>
#include <glib.h>

typedef enum FieldKind {
    FK_SCALAR,          /* an integer or bool */
    FK_ARRAY,           /* a fixed array of scalars */
    FK_BUFFER,          /* uint8_t[N]: raw bytes */
    FK_STRUCT,          /* a QIDL_DECLAREd struct */
    FK_STRUCT_ARRAY,    /* an array of them */
    FK_MEMBERS,         /* an unnamed struct: its members (q_optional only) */
    FK_SEGPTR,          /* uint64_t segment offset (q_segptr) */
} FieldKind;

typedef struct Field Field;
struct Field {
    char *name;
    char *path;              /* member designator from the top struct: "sipi.sipi_vector" */
    char *where;             /* FILE:LINE:COL of the field's name */
    FieldKind kind;
    char *ctype;             /* scalar, element or struct type: "uint32_t", "Fifo8" */
    const char *info;        /* type token suffix: "uint32" (scalars) */
    unsigned long long num;  /* arrays */
    bool is_int;             /* an integer (may count an array) */
    GPtrArray *members;      /* FK_MEMBERS: Field * */
    /* markers */
    bool immutable, derived, broken, optional, equal, unused, has_flag;
    int version;
    char *deflt;
    char *size;              /* q_size(field) */
    char *size_where;
    char *seg_type, *seg_max;
};

typedef struct Decl {
    char *name;              /* C name */
    char *vmsd_name;         /* q_name, or the C name */
    char *where;
    int version, min_version;
    char *post_load;
    GPtrArray *fields;       /* Field * */
    bool broken;
    unsigned begin, end;     /* offsets of the declaration in the file */
} Decl;

typedef struct Gen {
    const char *file;        /* as given */
    GPtrArray *decls;        /* Decl * */
    GString *errors;         /* one line each */
    unsigned n_errors;
    CXFile main_file;
} Gen;

static void field_free(gpointer p)
{
    Field *f = p;
    g_free(f->name);
    g_free(f->path);
    g_free(f->where);
    g_free(f->ctype);
    if (f->members) {
        g_ptr_array_unref(f->members);
    }
    g_free(f->deflt);
    g_free(f->size);
    g_free(f->size_where);
    g_free(f->seg_type);
    g_free(f->seg_max);
    g_free(f);
}

static void decl_free(gpointer p)
{
    Decl *d = p;
    g_free(d->name);
    g_free(d->vmsd_name);
    g_free(d->where);
    g_free(d->post_load);
    g_ptr_array_unref(d->fields);
    g_free(d);
}

/* ---- where things are ------------------------------------------------------------ */

/* Where a macro expanded, not where it was defined (qidl.h): the expansion location. */
static bool in_main_file(const Gen *g, CXSourceLocation loc)
{
    CXFile file;
    clang_getExpansionLocation(loc, &file, NULL, NULL, NULL);
    return g->main_file && file && clang_File_isEqual(file, g->main_file);
}

/*
 * FILE:LINE:COL where the text is written: through macros to where they
 * were used, and for a marker given as a macro's argument (QIDL_DECLARE's
 * struct markers) where the argument is.
 */
static char *location_text(Gen *g, CXSourceLocation loc)
{
    CXFile file;
    unsigned line, col;
    clang_getFileLocation(loc, &file, &line, &col, NULL);
    CXString name = clang_getFileName(file);
    const char *s = clang_getCString(name);
    /* The main file as it was named on the command line. */
    char *text = g_strdup_printf("%s:%u:%u", s && !in_main_file(g, loc) ? s : g->file,
                                 line, col);
    clang_disposeString(name);
    return text;
}

static void report(Gen *g, const char *where, const char *kind, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);
static void report(Gen *g, const char *where, const char *kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_string_append_printf(g->errors, "%s: %s: %s\n", where, kind, msg);
    if (strcmp(kind, "error") == 0) {
        g->n_errors++;
    }
}

static char *cursor_spelling(CXCursor c)
{
    CXString s = clang_getCursorSpelling(c);
    char *text = g_strdup(clang_getCString(s));
    clang_disposeString(s);
    return text;
}

static char *type_spelling(CXType t)
{
    CXString s = clang_getTypeSpelling(t);
    char *text = g_strdup(clang_getCString(s));
    clang_disposeString(s);
    return text;
}

/* ---- markers --------------------------------------------------------------------- */

typedef struct Marker {
    char *name;     /* "size" */
    char *arg;      /* "so_count", or NULL */
    char *where;
} Marker;

static void marker_free(gpointer p)
{
    Marker *m = p;
    g_free(m->name);
    g_free(m->arg);
    g_free(m->where);
    g_free(m);
}

typedef struct MarkerScan {
    Gen *g;
    GPtrArray *markers;
} MarkerScan;

static enum CXChildVisitResult collect_marker(CXCursor c, CXCursor parent, CXClientData data)
{
    MarkerScan *scan = data;
    if (clang_getCursorKind(c) != CXCursor_AnnotateAttr) {
        return CXChildVisit_Continue;
    }
    g_autofree char *text = cursor_spelling(c);
    if (!g_str_has_prefix(text, "qidl:")) {
        return CXChildVisit_Continue;
    }
    Marker *m = g_new0(Marker, 1);
    const char *body = text + strlen("qidl:");
    const char *colon = strchr(body, ':');
    m->name = colon ? g_strndup(body, (gsize)(colon - body)) : g_strdup(body);
    m->arg = colon ? g_strdup(colon + 1) : NULL;
    m->where = location_text(scan->g, clang_getCursorLocation(c));
    g_ptr_array_add(scan->markers, m);
    return CXChildVisit_Continue;
}

/* The markers on a cursor, in source order. */
static GPtrArray *markers_of(Gen *g, CXCursor c)
{
    MarkerScan scan = { g, g_ptr_array_new_with_free_func(marker_free) };
    clang_visitChildren(c, collect_marker, &scan);
    return scan.markers;
}

static bool parse_number(Gen *g, const Marker *m, int *out)
{
    char *end;
    errno = 0;
    long v = m->arg ? strtol(m->arg, &end, 10) : 0;
    if (!m->arg || !*m->arg || *end || errno || v < 0 || v > 0x7fffffff) {
        report(g, m->where, "error", "q_%s(%s): not a version number", m->name,
               m->arg ? m->arg : "");
        return false;
    }
    *out = (int)v;
    return true;
}

static bool is_declared_struct(CXCursor decl)
{
    bool found = false;
    Gen dummy = { .file = "", .errors = NULL };
    g_autoptr(GPtrArray) ms = markers_of(&dummy, decl);
    for (guint i = 0; i < ms->len; i++) {
        found |= strcmp(((Marker *)ms->pdata[i])->name, "declare") == 0;
    }
    return found;
}

/* ---- types ----------------------------------------------------------------------- */

/* A scalar C type as the type tokens of vmstate.h know it; NULL if none. */
static const char *scalar_info(CXType t, const char **ctype)
{
    static const struct { const char *info, *ctype; } sint[] = {
        { "int8", "int8_t" }, { "int16", "int16_t" }, { NULL, NULL }, { "int32", "int32_t" },
        { NULL, NULL }, { NULL, NULL }, { NULL, NULL }, { "int64", "int64_t" },
    }, uint[] = {
        { "uint8", "uint8_t" }, { "uint16", "uint16_t" }, { NULL, NULL }, { "uint32", "uint32_t" },
        { NULL, NULL }, { NULL, NULL }, { NULL, NULL }, { "uint64", "uint64_t" },
    };
    t = clang_getCanonicalType(t);
    long long size = clang_Type_getSizeOf(t);
    bool is_signed;
    switch (t.kind) {
    case CXType_Bool:
        *ctype = "bool";
        return "bool";
    case CXType_Char_S: case CXType_SChar: case CXType_Short: case CXType_Int:
    case CXType_Long: case CXType_LongLong:
        is_signed = true;
        break;
    case CXType_Char_U: case CXType_UChar: case CXType_UShort: case CXType_UInt:
    case CXType_ULong: case CXType_ULongLong:
        is_signed = false;
        break;
    default:
        return NULL;
    }
    if (size < 1 || size > 8) {
        return NULL;
    }
    *ctype = is_signed ? sint[size - 1].ctype : uint[size - 1].ctype;
    return is_signed ? sint[size - 1].info : uint[size - 1].info;
}

typedef enum RecordKind { REC_NONE, REC_DECLARED, REC_UNNAMED, REC_OTHER } RecordKind;

static RecordKind record_kind(CXType t, char **name)
{
    t = clang_getCanonicalType(t);
    if (t.kind != CXType_Record) {
        return REC_NONE;
    }
    CXCursor decl = clang_getTypeDeclaration(t);
    *name = cursor_spelling(decl);
    if (clang_Cursor_isAnonymous(decl) || !**name || strstr(*name, "(unnamed") ||
        strstr(*name, "(anonymous")) {
        return REC_UNNAMED;
    }
    return is_declared_struct(decl) ? REC_DECLARED : REC_OTHER;
}

/* ---- reading a struct ------------------------------------------------------------ */

typedef struct FieldScan {
    Gen *g;
    const char *struct_name;    /* for messages: "SerialState" */
    const char *prefix;         /* of paths: "" or "sipi." */
    GPtrArray *fields;
} FieldScan;

static Field *read_field(Gen *g, CXCursor c, const char *struct_name, const char *prefix);

static enum CXChildVisitResult collect_field(CXCursor c, CXCursor parent, CXClientData data)
{
    FieldScan *scan = data;
    if (clang_getCursorKind(c) == CXCursor_FieldDecl) {
        Field *f = read_field(scan->g, c, scan->struct_name, scan->prefix);
        if (f) {
            g_ptr_array_add(scan->fields, f);
        }
    }
    return CXChildVisit_Continue;
}

static GPtrArray *read_fields(Gen *g, CXCursor record, const char *struct_name, const char *prefix)
{
    FieldScan scan = { g, struct_name, prefix, g_ptr_array_new_with_free_func(field_free) };
    clang_visitChildren(record, collect_field, &scan);
    return scan.fields;
}

static bool apply_field_marker(Gen *g, Field *f, const Marker *m, const char *sname)
{
    if (strcmp(m->name, "immutable") == 0) {
        f->immutable = true;
    } else if (strcmp(m->name, "derived") == 0) {
        f->derived = true;
    } else if (strcmp(m->name, "broken") == 0) {
        f->broken = true;
    } else if (strcmp(m->name, "optional") == 0) {
        f->optional = true;
    } else if (strcmp(m->name, "equal") == 0) {
        f->equal = true;
    } else if (strcmp(m->name, "unused") == 0) {
        f->unused = true;
    } else if (strcmp(m->name, "version") == 0) {
        return parse_number(g, m, &f->version);
    } else if (strcmp(m->name, "default") == 0) {
        f->deflt = g_strdup(m->arg);
    } else if (strcmp(m->name, "size") == 0) {
        f->size = g_strdup(m->arg);
        f->size_where = g_strdup(m->where);
    } else if (strcmp(m->name, "segptr") == 0) {
        const char *comma = m->arg ? strchr(m->arg, ',') : NULL;
        if (!comma) {
            report(g, m->where, "error", "q_segptr needs a type and a maximum: q_segptr(TYPE, MAX)");
            return false;
        }
        f->seg_type = g_strstrip(g_strndup(m->arg, (gsize)(comma - m->arg)));
        f->seg_max = g_strstrip(g_strdup(comma + 1));
    } else if (strcmp(m->name, "name") == 0 || strcmp(m->name, "min_version") == 0 ||
               strcmp(m->name, "post_load") == 0 || strcmp(m->name, "declare") == 0) {
        report(g, m->where, "error", "q_%s marks a struct, not the field %s.%s", m->name, sname,
               f->name);
        return false;
    } else {
        report(g, m->where, "error", "unknown marker 'q_%s'", m->name);
        return false;
    }
    return true;
}

static Field *read_field(Gen *g, CXCursor c, const char *sname, const char *prefix)
{
    Field *f = g_new0(Field, 1);
    f->name = cursor_spelling(c);
    f->path = g_strconcat(prefix, f->name, NULL);
    f->where = location_text(g, clang_getCursorLocation(c));
    g_autoptr(GPtrArray) ms = markers_of(g, c);
    bool ok = true;
    for (guint i = 0; i < ms->len; i++) {
        ok &= apply_field_marker(g, f, ms->pdata[i], sname);
    }
    if (!ok) {
        field_free(f);
        return NULL;
    }
    if (f->broken || f->immutable || f->derived) {
        return f;                   /* not described: its type does not matter */
    }
    if (clang_Cursor_isBitField(c)) {
        report(g, f->where, "error", "%s.%s: a bit-field cannot be described", sname, f->name);
        field_free(f);
        return NULL;
    }

    CXType t = clang_getCanonicalType(clang_getCursorType(c));
    const char *ctype = NULL;
    g_autofree char *rname = NULL;
    if (t.kind == CXType_IncompleteArray) {
        report(g, f->where, "error", "%s.%s: array without a length", sname, f->name);
    } else if (t.kind == CXType_Pointer) {
        if (!f->size) {
            report(g, f->where, "error", "%s.%s: pointer without q_size", sname, f->name);
        } else {
            report(g, f->where, "error", "%s.%s: a pointer cannot be migrated from shared memory: "
                   "use a uint64_t segment offset with q_segptr(TYPE, MAX)", sname, f->name);
        }
    } else if (f->seg_type) {
        if (!scalar_info(t, &ctype) || strcmp(ctype, "uint64_t") != 0) {
            report(g, f->where, "error", "%s.%s: q_segptr needs a uint64_t segment offset",
                   sname, f->name);
        } else if (!f->size) {
            report(g, f->where, "error", "%s.%s: q_segptr without q_size", sname, f->name);
        } else {
            f->kind = FK_SEGPTR;
            f->ctype = g_strdup(f->seg_type);
            return f;
        }
    } else if (f->unused) {
        f->kind = FK_BUFFER;
        return f;
    } else if ((f->info = scalar_info(t, &ctype))) {
        f->kind = FK_SCALAR;
        f->ctype = g_strdup(ctype);
        f->is_int = strcmp(ctype, "bool") != 0;
        return f;
    } else if (t.kind == CXType_ConstantArray) {
        CXType elem = clang_getCanonicalType(clang_getArrayElementType(t));
        f->num = (unsigned long long)clang_getArraySize(t);
        RecordKind rk;
        if ((f->info = scalar_info(elem, &ctype))) {
            f->ctype = g_strdup(ctype);
            f->kind = strcmp(ctype, "uint8_t") == 0 && !f->size ? FK_BUFFER : FK_ARRAY;
            return f;
        } else if (elem.kind == CXType_ConstantArray) {
            report(g, f->where, "error", "%s.%s: arrays of arrays cannot be described", sname,
                   f->name);
        } else if ((rk = record_kind(elem, &rname)) == REC_DECLARED) {
            f->kind = FK_STRUCT_ARRAY;
            f->ctype = g_strdup(rname);
            return f;
        } else if (rk != REC_NONE) {
            report(g, f->where, "error", "%s.%s: struct type '%s' is not declared with "
                   "QIDL_DECLARE", sname, f->name, rname);
        } else {
            g_autofree char *ts = type_spelling(elem);
            report(g, f->where, "error", "%s.%s: type '%s' cannot be described", sname, f->name,
                   ts);
        }
    } else {
        RecordKind rk = record_kind(t, &rname);
        if (rk == REC_DECLARED) {
            f->kind = FK_STRUCT;
            f->ctype = g_strdup(rname);
            return f;
        } else if (rk == REC_UNNAMED && f->optional) {
            f->kind = FK_MEMBERS;
            g_autofree char *inner = g_strconcat(f->path, ".", NULL);
            f->members = read_fields(g, clang_getTypeDeclaration(t), sname, inner);
            return f;
        } else if (rk == REC_UNNAMED) {
            report(g, f->where, "error", "%s.%s: an unnamed struct is described only as a "
                   "q_optional subsection", sname, f->name);
        } else if (rk == REC_OTHER) {
            report(g, f->where, "error", "%s.%s: struct type '%s' is not declared with "
                   "QIDL_DECLARE", sname, f->name, rname);
        } else {
            g_autofree char *ts = type_spelling(clang_getCursorType(c));
            report(g, f->where, "error", "%s.%s: type '%s' cannot be described", sname, f->name,
                   ts);
        }
    }
    field_free(f);
    return NULL;
}

static void read_decl(Gen *g, CXCursor c)
{
    Decl *d = g_new0(Decl, 1);
    d->name = cursor_spelling(c);
    d->where = location_text(g, clang_getCursorLocation(c));
    CXSourceRange extent = clang_getCursorExtent(c);
    clang_getExpansionLocation(clang_getRangeStart(extent), NULL, NULL, NULL, &d->begin);
    clang_getExpansionLocation(clang_getRangeEnd(extent), NULL, NULL, NULL, &d->end);
    d->version = 1;
    d->min_version = -1;
    g_autoptr(GPtrArray) ms = markers_of(g, c);
    for (guint i = 0; i < ms->len; i++) {
        Marker *m = ms->pdata[i];
        if (strcmp(m->name, "declare") == 0) {
            continue;
        } else if (strcmp(m->name, "name") == 0) {
            g_free(d->vmsd_name);
            d->vmsd_name = g_strdup(m->arg);
        } else if (strcmp(m->name, "version") == 0) {
            parse_number(g, m, &d->version);
        } else if (strcmp(m->name, "min_version") == 0) {
            parse_number(g, m, &d->min_version);
        } else if (strcmp(m->name, "post_load") == 0) {
            g_free(d->post_load);
            d->post_load = g_strdup(m->arg);
        } else if (strcmp(m->name, "immutable") == 0 || strcmp(m->name, "derived") == 0 ||
                   strcmp(m->name, "broken") == 0 || strcmp(m->name, "optional") == 0 ||
                   strcmp(m->name, "size") == 0 || strcmp(m->name, "default") == 0 ||
                   strcmp(m->name, "equal") == 0 || strcmp(m->name, "unused") == 0 ||
                   strcmp(m->name, "segptr") == 0) {
            report(g, m->where, "error", "q_%s marks a field, not the struct %s", m->name,
                   d->name);
        } else {
            report(g, m->where, "error", "unknown marker 'q_%s'", m->name);
        }
    }
    if (!d->vmsd_name) {
        d->vmsd_name = g_strdup(d->name);
    }
    if (d->min_version < 0) {
        d->min_version = d->version;
    }
    if (d->min_version > d->version) {
        report(g, d->where, "error", "%s: q_min_version(%d) is above q_version(%d)", d->name,
               d->min_version, d->version);
    }
    d->fields = read_fields(g, c, d->name, "");
    g_ptr_array_add(g->decls, d);
}

static enum CXChildVisitResult collect_decl(CXCursor c, CXCursor parent, CXClientData data)
{
    Gen *g = data;
    enum CXCursorKind k = clang_getCursorKind(c);
    if (k == CXCursor_StructDecl && clang_isCursorDefinition(c) &&
        in_main_file(g, clang_getCursorLocation(c)) && is_declared_struct(c)) {
        read_decl(g, c);
    }
    return CXChildVisit_Continue;
}

/* ---- checking a struct ----------------------------------------------------------- */

static Field *find_field(GPtrArray *fields, const char *name)
{
    for (guint i = 0; i < fields->len; i++) {
        Field *f = fields->pdata[i];
        if (strcmp(f->name, name) == 0) {
            return f;
        }
    }
    return NULL;
}

static bool migrated(const Field *f)
{
    return !f->immutable && !f->derived && !f->broken && !f->has_flag;
}

/* Resolve q_size and q_optional's flag within `scope` (the struct whose fields these are). */
static void check_fields(Gen *g, Decl *d, GPtrArray *scope, GPtrArray *outer)
{
    for (guint i = 0; i < scope->len; i++) {
        Field *f = scope->pdata[i];
        if (f->broken) {
            d->broken = true;
            report(g, f->where, "note", "%s.%s is q_broken: %s keeps its hand-written "
                   "description", d->name, f->name, d->name);
        }
        if (!migrated(f) && !f->has_flag) {
            continue;
        }
        if (f->equal && (f->kind != FK_SCALAR || !f->is_int)) {
            report(g, f->where, "error", "%s.%s: q_equal needs an integer field", d->name,
                   f->name);
        }
        if (f->optional && outer) {
            report(g, f->where, "error", "%s.%s: q_optional inside a q_optional struct", d->name,
                   f->name);
        } else if (f->optional) {
            g_autofree char *flag = g_strconcat("has_", f->name, NULL);
            Field *h = find_field(scope, flag);
            if (!h || h->kind != FK_SCALAR || strcmp(h->ctype, "bool") != 0) {
                report(g, f->where, "error", "%s.%s: q_optional needs a bool field '%s'",
                       d->name, f->name, flag);
            } else {
                h->has_flag = true;
            }
        }
        if (f->deflt && !f->version) {
            report(g, f->where, "error", "%s.%s: q_default needs q_version (a field of every "
                   "version never takes a default)", d->name, f->name);
        }
        if (f->size) {
            Field *n = find_field(scope, f->size);
            if (!n && outer) {
                n = find_field(outer, f->size);
            }
            if (!n) {
                report(g, f->size_where, "error", "q_size(%s): %s has no field '%s'", f->size,
                       d->name, f->size);
            } else if (n->kind != FK_SCALAR || !n->is_int) {
                report(g, f->size_where, "error", "q_size(%s): %s.%s is not an integer", f->size,
                       d->name, f->size);
            } else if (f->kind != FK_ARRAY && f->kind != FK_STRUCT_ARRAY && f->kind != FK_SEGPTR &&
                       f->kind != FK_BUFFER) {
                report(g, f->size_where, "error", "q_size(%s): %s.%s is not an array", f->size,
                       d->name, f->name);
            }
        }
        if (f->kind == FK_MEMBERS) {
            check_fields(g, d, f->members, scope);
        }
    }
}

/* ---- writing --------------------------------------------------------------------- */

/* The count field of f (checked), and whether it travels before f in `list`. */
static Field *count_field(GPtrArray *list, GPtrArray *scope, GPtrArray *outer, const Field *f,
                          bool *earlier)
{
    Field *n = find_field(scope, f->size);
    if (!n && outer) {
        n = find_field(outer, f->size);
    }
    *earlier = false;
    for (guint i = 0; i < list->len && list->pdata[i] != f; i++) {
        *earlier |= list->pdata[i] == n;
    }
    return n;
}

static void write_entry(GString *o, const char *S, const Field *f, const Field *n, bool earlier)
{
    const char *info_suffix = f->equal ? "_equal" : "";
    g_string_append_printf(o, "    { .name = \"%s\",\n", f->kind == FK_BUFFER && f->unused ?
                           "unused" : f->name);
    switch (f->kind) {
    case FK_SCALAR:
        g_string_append_printf(o,
            "      .info = VMSTATE_INFO(vmstate_info_%s%s), .shape = VMSTATE_SINGLE,\n"
            "      .offset = vmstate_offset_value(%s, %s, %s) +\n"
            "                vmstate_check_info(vmstate_info_%s%s, %s),\n"
            "      .size = sizeof(%s),\n",
            f->info, info_suffix, S, f->path, f->ctype, f->info, info_suffix, f->ctype, f->ctype);
        break;
    case FK_BUFFER:
        if (f->unused) {
            g_string_append_printf(o,
                "      .info = VMSTATE_INFO(VMSTATE_TYPE_UNUSED), .shape = VMSTATE_SINGLE,\n"
                "      .size = sizeof(vmstate_typeof_field(%s, %s)),\n", S, f->path);
        } else {
            g_string_append_printf(o,
                "      .info = VMSTATE_INFO(VMSTATE_TYPE_BUFFER), .shape = VMSTATE_SINGLE,\n"
                "      .offset = vmstate_offset_varray(%s, %s, uint8_t),\n"
                "      .size = sizeof(vmstate_typeof_field(%s, %s)),\n", S, f->path, S, f->path);
        }
        break;
    case FK_ARRAY:
        if (n) {
            g_string_append_printf(o,
                "      .info = VMSTATE_INFO(vmstate_info_%s), .shape = %s,\n"
                "      .offset = vmstate_offset_varray(%s, %s, %s) +\n"
                "                vmstate_check_info(vmstate_info_%s, %s),\n"
                "      .size = sizeof(%s), .num = vmstate_array_len(%s, %s),\n",
                f->info, earlier && !n->equal ? "VMSTATE_VARRAY" : "VMSTATE_PARTIAL",
                S, f->path, f->ctype, f->info, f->ctype, f->ctype, S, f->path);
        } else {
            g_string_append_printf(o,
                "      .info = VMSTATE_INFO(vmstate_info_%s), .shape = VMSTATE_ARRAY,\n"
                "      .offset = vmstate_offset_array(%s, %s, %s, %llu) +\n"
                "                vmstate_check_info(vmstate_info_%s, %s),\n"
                "      .size = sizeof(%s), .num = %llu,\n",
                f->info, S, f->path, f->ctype, f->num, f->info, f->ctype, f->ctype, f->num);
        }
        break;
    case FK_STRUCT:
        g_string_append_printf(o,
            "      .info = VMSTATE_INFO(VMSTATE_TYPE_STRUCT), .shape = VMSTATE_SINGLE,\n"
            "      .offset = vmstate_offset_value(%s, %s, %s),\n"
            "      .size = sizeof(%s), .vmsd = &vmstate_%s,\n",
            S, f->path, f->ctype, f->ctype, f->ctype);
        break;
    case FK_STRUCT_ARRAY:
        if (n) {
            g_string_append_printf(o,
                "      .info = VMSTATE_INFO(VMSTATE_TYPE_STRUCT), .shape = %s,\n"
                "      .offset = vmstate_offset_varray(%s, %s, %s),\n"
                "      .size = sizeof(%s), .num = vmstate_array_len(%s, %s),\n"
                "      .vmsd = &vmstate_%s,\n",
                earlier && !n->equal ? "VMSTATE_VARRAY" : "VMSTATE_PARTIAL",
                S, f->path, f->ctype, f->ctype, S, f->path, f->ctype);
        } else {
            g_string_append_printf(o,
                "      .info = VMSTATE_INFO(VMSTATE_TYPE_STRUCT), .shape = VMSTATE_ARRAY,\n"
                "      .offset = vmstate_offset_array(%s, %s, %s, %llu),\n"
                "      .size = sizeof(%s), .num = %llu, .vmsd = &vmstate_%s,\n",
                S, f->path, f->ctype, f->num, f->ctype, f->num, f->ctype);
        }
        break;
    case FK_SEGPTR:
        g_string_append_printf(o,
            "      .info = VMSTATE_INFO(VMSTATE_TYPE_STRUCT), .shape = VMSTATE_SEGPTR,\n"
            "      .offset = vmstate_offset_value(%s, %s, uint64_t),\n"
            "      .size = sizeof(%s), .num = (%s), .vmsd = &vmstate_%s,\n",
            S, f->path, f->ctype, f->seg_max, f->ctype);
        break;
    case FK_MEMBERS:
        g_assert_not_reached();
    }
    if (n) {
        g_string_append_printf(o,
            "      .num_offset = vmstate_offset_value(%s, %s, %s),\n"
            "      .num_info = VMSTATE_INFO(vmstate_info_%s),\n", S, n->path, n->ctype, n->info);
    }
    g_string_append_printf(o, "      .version_id = %d },\n", f->version);
}

/* A field list: `list` (Field *, all migrated), each q_size resolved in scope/outer. */
static void write_fields(GString *o, const char *S, const char *var, GPtrArray *list,
                         GPtrArray *scope, GPtrArray *outer)
{
    g_string_append_printf(o, "static const VMStateField %s[] = {\n", var);
    for (guint i = 0; i < list->len; i++) {
        Field *f = list->pdata[i];
        bool earlier = false;
        Field *n = f->size ? count_field(list, scope, outer, f, &earlier) : NULL;
        write_entry(o, S, f, n, earlier);
    }
    g_string_append(o, "    VMSTATE_END_OF_LIST()\n};\n\n");
}

static void write_decl(GString *o, Decl *d)
{
    const char *S = d->name;
    g_autoptr(GPtrArray) top = g_ptr_array_new();
    g_autoptr(GPtrArray) subs = g_ptr_array_new();
    g_autoptr(GPtrArray) defaults = g_ptr_array_new();
    for (guint i = 0; i < d->fields->len; i++) {
        Field *f = d->fields->pdata[i];
        if (!migrated(f)) {
            continue;
        }
        g_ptr_array_add(f->optional ? subs : top, f);
        if (f->deflt) {
            g_ptr_array_add(defaults, f);
        }
    }

    g_string_append_printf(o, "/* %s (%s:", S, d->where);
    g_string_append_printf(o, " \"%s\", version %d) */\n", d->vmsd_name, d->version);
    for (guint i = 0; i < subs->len; i++) {
        Field *f = subs->pdata[i];
        g_autofree char *var = g_strdup_printf("qidl_%s_%s_fields", S, f->name);
        if (f->kind == FK_MEMBERS) {
            g_autoptr(GPtrArray) members = g_ptr_array_new();
            for (guint k = 0; k < f->members->len; k++) {
                Field *m = f->members->pdata[k];
                if (migrated(m)) {
                    g_ptr_array_add(members, m);
                }
            }
            write_fields(o, S, var, members, f->members, d->fields);
        } else {
            g_autoptr(GPtrArray) one = g_ptr_array_new();
            g_ptr_array_add(one, f);
            write_fields(o, S, var, one, d->fields, NULL);
        }
        /*
         * has_<field> says whether the subsection is sent, and a load that
         * finds it sets the flag (a subsection's post_load runs only when it
         * was there).  A needed() function rather than the engine's presence
         * byte: descriptions as JSON (the segment's, the agent's) keep
         * showing every subsection, as for hand-written descriptions.
         */
        g_string_append_printf(o,
            "static bool qidl_%s_%s_needed(void *opaque)\n"
            "{\n"
            "    return ((%s *)opaque)->has_%s;\n"
            "}\n\n"
            "static bool qidl_%s_%s_loaded(void *opaque, int version_id, GError **errp)\n"
            "{\n"
            "    ((%s *)opaque)->has_%s = true;\n"
            "    return true;\n"
            "}\n\n",
            S, f->name, S, f->name, S, f->name, S, f->name);
        g_string_append_printf(o,
            "static const VMStateDescription qidl_vmstate_%s_%s = {\n"
            "    .name = \"%s/%s\",\n"
            "    .version_id = 1,\n"
            "    .minimum_version_id = 1,\n"
            "    .needed = qidl_%s_%s_needed,\n"
            "    .post_load = qidl_%s_%s_loaded,\n"
            "    .fields = %s,\n"
            "};\n\n", S, f->name, d->vmsd_name, f->name, S, f->name, S, f->name, var);
    }
    g_autofree char *var = g_strdup_printf("qidl_%s_fields", S);
    write_fields(o, S, var, top, d->fields, NULL);
    if (subs->len) {
        g_string_append_printf(o, "static const VMStateDescription *const qidl_%s_subsections[] = {\n",
                               S);
        for (guint i = 0; i < subs->len; i++) {
            g_string_append_printf(o, "    &qidl_vmstate_%s_%s,\n", S,
                                   ((Field *)subs->pdata[i])->name);
        }
        g_string_append(o, "    NULL\n};\n\n");
    }
    if (defaults->len) {
        g_string_append_printf(o,
            "/* Fields newer than the version loaded take their q_default. */\n"
            "static bool qidl_%s_post_load(void *opaque, int version_id, GError **errp)\n"
            "{\n"
            "    %s *s = opaque;\n", S, S);
        for (guint i = 0; i < defaults->len; i++) {
            Field *f = defaults->pdata[i];
            g_string_append_printf(o, "    if (version_id < %d) {\n        s->%s = %s;\n    }\n",
                                   f->version, f->path, f->deflt);
        }
        if (d->post_load) {
            g_string_append_printf(o, "    return %s(opaque, version_id, errp);\n}\n\n",
                                   d->post_load);
        } else {
            g_string_append(o, "    return true;\n}\n\n");
        }
    }
    g_string_append_printf(o,
        "static const VMStateDescription vmstate_%s = {\n"
        "    .name = \"%s\",\n"
        "    .version_id = %d,\n"
        "    .minimum_version_id = %d,\n"
        "    .fields = %s,\n", S, d->vmsd_name, d->version, d->min_version, var);
    if (subs->len) {
        g_string_append_printf(o, "    .subsections = qidl_%s_subsections,\n", S);
    }
    if (defaults->len) {
        g_string_append_printf(o, "    .post_load = qidl_%s_post_load,\n", S);
    } else if (d->post_load) {
        g_string_append_printf(o, "    .post_load = %s,\n", d->post_load);
    }
    g_string_append(o, "};\n\n");
}

/* ---- the program ----------------------------------------------------------------- */

static bool parse(Gen *g, int argc, const char *const *argv)
{
    CXIndex index = clang_createIndex(0, 0);
    g_autoptr(GPtrArray) args = g_ptr_array_new();
    g_ptr_array_add(args, (gpointer) "-DQIDL_GEN");
    for (int i = 0; i < argc; i++) {
        g_ptr_array_add(args, (gpointer)argv[i]);
    }
    CXTranslationUnit tu = NULL;
    enum CXErrorCode rc = clang_parseTranslationUnit2(
        index, g->file, (const char *const *)args->pdata, (int)args->len, NULL, 0,
        CXTranslationUnit_SkipFunctionBodies, &tu);
    if (rc != CXError_Success || !tu) {
        report(g, g->file, "error", "libclang could not parse the file (error %d)", (int)rc);
        clang_disposeIndex(index);
        return false;
    }
    g->main_file = clang_getFile(tu, g->file);
    clang_visitChildren(clang_getTranslationUnitCursor(tu), collect_decl, g);
    /*
     * The compiler's errors that concern the annotated structs (or stop the
     * parse).  Others are the compiler's business: under QIDL_GEN the file
     * lacks what the generator is about to write (vmstate_<Struct>).
     */
    unsigned nd = clang_getNumDiagnostics(tu);
    for (unsigned i = 0; i < nd; i++) {
        CXDiagnostic diag = clang_getDiagnostic(tu, i);
        enum CXDiagnosticSeverity sev = clang_getDiagnosticSeverity(diag);
        CXSourceLocation loc = clang_getDiagnosticLocation(diag);
        unsigned offset;
        clang_getExpansionLocation(loc, NULL, NULL, NULL, &offset);
        bool inside = false;
        for (guint k = 0; k < g->decls->len; k++) {
            Decl *d = g->decls->pdata[k];
            inside |= in_main_file(g, loc) && offset >= d->begin &&
                      offset <= d->end;
        }
        if (sev == CXDiagnostic_Fatal || (sev == CXDiagnostic_Error && inside)) {
            g_autofree char *where = location_text(g, loc);
            CXString text = clang_getDiagnosticSpelling(diag);
            report(g, where, "error", "%s", clang_getCString(text));
            clang_disposeString(text);
        }
        clang_disposeDiagnostic(diag);
    }
    for (guint i = 0; i < g->decls->len && !g->n_errors; i++) {
        Decl *d = g->decls->pdata[i];
        check_fields(g, d, d->fields, NULL);
    }
    clang_disposeTranslationUnit(tu);
    clang_disposeIndex(index);
    return g->n_errors == 0;
}

int main(int argc, char **argv)
{
    g_autofree char *out = NULL;
    gboolean list = FALSE;
    GOptionEntry entries[] = {
        { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "write the descriptions to FILE", "FILE" },
        { "list", 0, 0, G_OPTION_ARG_NONE, &list, "print the annotated structs, one a line", NULL },
        { NULL, 0, 0, 0, NULL, NULL, NULL },
    };
    g_autoptr(GOptionContext) oc = g_option_context_new("FILE.c [-- COMPILER FLAGS...]");
    g_option_context_set_summary(oc, "Generate VMState descriptions from QIDL-annotated C "
                                     "structs (docs/qidl.md).");
    g_option_context_add_main_entries(oc, entries, NULL);
    g_autoptr(GError) err = NULL;
    /* Everything after "--" goes to libclang untouched; GOption reads what is before. */
    int dashes = argc;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            dashes = i;
            break;
        }
    }
    g_auto(GStrv) args = g_new0(char *, (gsize)dashes + 1);
    for (int i = 0; i < dashes; i++) {
        args[i] = g_strdup(argv[i]);
    }
    if (!g_option_context_parse_strv(oc, &args, &err)) {
        fprintf(stderr, "qidl: %s\n", err->message);
        return 2;
    }
    if (g_strv_length(args) != 2 || (!out && !list)) {
        fprintf(stderr, "qidl: expected one FILE.c and -o OUT (or --list)\n");
        return 2;
    }

    Gen g = { .file = args[1], .decls = g_ptr_array_new_with_free_func(decl_free),
              .errors = g_string_new(NULL) };
    int n_cc = dashes < argc ? argc - dashes - 1 : 0;
    bool ok = parse(&g, n_cc, (const char *const *)argv + (dashes < argc ? dashes + 1 : argc));
    fputs(g.errors->str, stderr);
    int rc = ok ? 0 : 1;
    if (ok && list) {
        for (guint i = 0; i < g.decls->len; i++) {
            Decl *d = g.decls->pdata[i];
            printf("%s %s %d%s\n", d->name, d->vmsd_name, d->version, d->broken ? " broken" : "");
        }
    }
    if (ok && out) {
        GString *o = g_string_new(NULL);
        g_string_append_printf(o, "/* Generated by qidl from %s: do not edit (docs/qidl.md). */\n\n",
                               g.file);
        for (guint i = 0; i < g.decls->len; i++) {
            Decl *d = g.decls->pdata[i];
            if (!d->broken) {
                write_decl(o, d);
            }
        }
        if (!g_file_set_contents(out, o->str, (gssize)o->len, &err)) {
            fprintf(stderr, "qidl: %s\n", err->message);
            rc = 1;
        }
        g_string_free(o, TRUE);
    }
    g_ptr_array_unref(g.decls);
    g_string_free(g.errors, TRUE);
    return rc;
}

/*
 * For visitor implementations only: the vtable behind include/vmscope/visitor.h.
 *
 * An implementation embeds `Visitor` as the first member of its own struct,
 * fills in the callbacks it needs and calls visitor_init().  The core
 * (visitor.c) keeps the field path, range-checks integers read by input
 * visitors and supplies defaults for the optional callbacks (check_struct,
 * check_list: succeed; next_list: nothing).
 */
#ifndef VMSCOPE_VISITOR_IMPL_H
#define VMSCOPE_VISITOR_IMPL_H

#include "vmscope/error.h"
#include "vmscope/visitor.h"

struct Visitor {
    VisitorType type;

    bool (*start_struct)(Visitor *v, const char *name, VisitStructInfo *info, GError **errp);
    bool (*check_struct)(Visitor *v, GError **errp);                 /* optional */
    void (*end_struct)(Visitor *v);

    bool (*start_list)(Visitor *v, const char *name, size_t *len, GError **errp);
    void (*next_list)(Visitor *v, size_t index);                     /* optional */
    bool (*check_list)(Visitor *v, GError **errp);                   /* optional */
    void (*end_list)(Visitor *v);

    bool (*optional)(Visitor *v, const char *name, bool *present);   /* optional for output */

    bool (*type_bool)(Visitor *v, const char *name, bool *obj, GError **errp);
    bool (*type_int)(Visitor *v, const char *name, VisitIntKind kind, int64_t *obj, GError **errp);
    bool (*type_uint)(Visitor *v, const char *name, VisitIntKind kind, uint64_t *obj, GError **errp);
    bool (*type_str)(Visitor *v, const char *name, char **obj, GError **errp);
    bool (*type_number)(Visitor *v, const char *name, double *obj, GError **errp);
    bool (*type_buffer)(Visitor *v, const char *name, uint8_t *buf, size_t len, GError **errp);
    bool (*type_null)(Visitor *v, const char *name, GError **errp);

    void (*free)(Visitor *v);       /* frees the implementation's own data, not v */

    GArray *frames;                 /* core: path of the current position */
};

void visitor_init(Visitor *v, VisitorType type);

/*
 * visit_error() for formats with byte offsets: the error is located at
 * `offset` (absolute, in the input) and at the member `name`.
 */
void visit_error_at(const Visitor *v, const char *name, uint64_t offset, GError **errp,
                    VmsErrorCode code, const char *fmt, ...) G_GNUC_PRINTF(6, 7);
/*
 * Locate an error from below the visitor (a ByteReader's, which has the
 * offset) at the member `name`, and pass it on to errp.  Returns false.
 */
bool visit_error_propagate(const Visitor *v, const char *name, GError *err, GError **errp);

/* Depth of nesting (0 at top level) and, inside a list, the current index. */
size_t visit_depth(const Visitor *v);
bool visit_in_list(const Visitor *v, size_t *index);

#endif

/*
 * A description as a JSON Schema: a describing walk of the engine through
 * the JSON-schema output visitor, each field annotated from the
 * description.  See vmstate_json_schema() in include/vmscope/vmstate.h.
 */
#include "config.h"

#include "vmscope/json-schema-visitor.h"
#include "vmscope/vmstate.h"

static bool annotate_field(void *opaque, const VMStateField *f, const char *name, bool is_list,
                           size_t n, GError **errp)
{
    Visitor *v = opaque;
    bool variable = f->shape == VMSTATE_VARRAY || f->shape == VMSTATE_PARTIAL ||
                    f->shape == VMSTATE_SEGPTR;
    g_autofree char *type = is_list ? g_strdup_printf("%s[%s%zu]", f->info->name,
                                                      variable ? "up to " : "", n)
                                    : g_strdup(f->info->name);
    g_autofree char *since = f->version_id ? g_strdup_printf("since version %d", f->version_id)
                                           : NULL;
    json_schema_output_visitor_annotate(v, name, type, since, variable);
    return true;
}

QObject *vmstate_json_schema(const VMStateDescription *vmsd, size_t state_size, GError **errp)
{
    g_autofree uint8_t *zeros = g_malloc0(state_size ? state_size : 1);
    Visitor *v = json_schema_output_visitor_new();
    const VMStateHooks hooks = { .field = annotate_field };
    const VMStateContext ctx = { .hooks = &hooks, .hooks_opaque = v, .describe = true };
    QObject *schema = NULL;
    if (vmstate_save(v, vmsd, zeros, &ctx, errp)) {
        schema = json_schema_output_visitor_take(v);
    }
    visit_free(v);
    return schema;
}

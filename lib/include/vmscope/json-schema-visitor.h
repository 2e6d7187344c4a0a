/*
 * JSON-schema output visitor: a walk turned into a JSON Schema (draft-07)
 * of the JSON the QObject output visitor makes of the same walk (see
 * visitor.h for the Visitor contract, docs/formats.md "JSON Schema").
 *
 * Values are ignored; what is visited, and how, is the schema:
 *
 *   bool          {"type": "boolean"}
 *   int8..uint64  {"type": "integer", "minimum": MIN, "maximum": MAX} of the
 *                 C type, exact (uint64: 0..18446744073709551615)
 *   buffer        {"type": "string", "pattern": "^[0-9a-fA-F]{2N}$"}: hex of
 *                 exactly N bytes
 *   number, str, null   "number", "string", "null"
 *   list          {"type": "array", "minItems", "maxItems", "items"}: the
 *                 length visited (or, annotated as variable, 0 to it); one
 *                 "items" schema when all elements have the same one, else
 *                 one per element
 *   struct        {"type": "object", "properties", "required",
 *                 "additionalProperties": false}; a VMState description's
 *                 "title" is its name, "description" and "$comment" say
 *                 which description and version
 *   optional member (visit_optional: a subsection) a property that is not
 *                 "required"
 *
 * The visitor answers visit_optional with true, so a walk visits every
 * optional member and the schema has all of them.  To describe a whole
 * description rather than one state (every subsection, arrays up to their
 * maximum), walk it with vmstate_json_schema() (vmstate.h), which also
 * annotates each member through json_schema_output_visitor_annotate().
 *
 * The top of the schema has "$schema": "http://json-schema.org/draft-07/schema#".
 * The visitor never fails.
 */
#ifndef VMSCOPE_JSON_SCHEMA_VISITOR_H
#define VMSCOPE_JSON_SCHEMA_VISITOR_H

#include "vmscope/qobject.h"
#include "vmscope/visitor.h"

Visitor *json_schema_output_visitor_new(void);

/*
 * What a walk knows about the member `name` visited next at the current
 * position that the visits do not say: a "description" (NULL: none), a
 * "$comment" (NULL: none), and for a list whether its length may be
 * anything from 0 to the length visited (`variable`).
 */
void json_schema_output_visitor_annotate(Visitor *v, const char *name, const char *description,
                                         const char *comment, bool variable);

/* The schema of the value visited at the top level (new reference), or NULL. */
QObject *json_schema_output_visitor_take(Visitor *v);

#endif

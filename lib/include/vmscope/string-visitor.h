/*
 * String input visitor: one scalar value from text, as people type values
 * on a command line (`vmscope-view rewrite --set serial.state.lsr=0x60`);
 * see visitor.h for the Visitor contract.
 *
 *   integers  decimal, or hex after "0x", with an optional sign; checked
 *             against the visited width with the text as given:
 *             "value 0x1ff out of range for uint8"
 *   bool      "true" or "false"
 *   buffer    exactly two hex digits per byte, either case
 *   str       the text itself;  number: a C-locale double
 *
 * The text is one value: structs, lists and null are refused.  Every value
 * visited reads the same text.  Errors name the member's path, so visiting
 * the value under the path the user wrote gives "serial.lsr: value '-' is
 * not an integer".
 */
#ifndef VMSCOPE_STRING_VISITOR_H
#define VMSCOPE_STRING_VISITOR_H

#include "vmscope/visitor.h"

/* `text` is copied. */
Visitor *string_input_visitor_new(const char *text);

#endif

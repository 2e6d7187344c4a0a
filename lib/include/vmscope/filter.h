/*
 * Tree filters: rules that reshape decoded device state between the input
 * and the output visitor (docs/filters.md).
 *
 * A stream is decoded by the one walk into a tree; a filter rewrites the
 * tree; the tree is written back through the engine with the
 * destination's description, read by the strict QObject input visitor, so
 * whatever the filtered tree does not fit is refused with its path.
 *
 * The tree is a list of sections, in stream order, each a dict:
 *
 *   {"name": "kvm-apic",          section idstr
 *    "instance-id": 0,
 *    "version-id": 1,
 *    "state": {...},              the decoded state (qemu-stream.h's mapping:
 *                                 subsections are members named by their
 *                                 description, "apic/sipi")
 *    "desc": {...}}               optional: the section's vmdesc entry as
 *                                 QEMU writes it ({"vmsd_name", "version",
 *                                 "fields", "subsections"}); when present,
 *                                 every operation changes it in step with the
 *                                 state, so the section can be written back
 *                                 with it
 *
 * Rules (a JSON file: {"rules": [RULE, ...]}) are applied in order; a rule
 * {"name", "match": {"section", "version"?, "instance-id"?}, "actions": [...]}
 * applies its actions, in order, to every section it matches.  Actions:
 * rename-section, rename-field, move-field, drop-field, add-field,
 * set-type, extract-field, drop-subsection, set-version, split, merge
 * (docs/filters.md gives each one's keys).  Field paths are member names
 * joined with "." (the longest member that matches is taken at each step,
 * so QEMU's names with dots need no quoting).
 *
 * Loading checks every rule with the strict QObject input visitor and then
 * each value: a bad rule is an error naming the rule and the key:
 *   "kvm.json: rule 2 ('kvm-apic to apic'): actions[3].type: unknown type 'uint33'"
 * Applying fails, changing nothing in the caller's tree, when an action
 * does not fit the section:
 *   "rule 0 ('x'): section 'serial' (instance 0): drop-field 'lsrr': no such field"
 */
#ifndef VMSCOPE_FILTER_H
#define VMSCOPE_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <glib.h>

#include "vmscope/qemu-stream.h"
#include "vmscope/qobject.h"

typedef struct Filter Filter;

/*
 * Rules from JSON text; `origin` (a file name, or NULL) goes in front of
 * every error.
 */
Filter *filter_load(const char *text, size_t len, const char *origin, GError **errp);
/* Rules from a file. */
Filter *filter_load_file(const char *path, GError **errp);
void filter_free(Filter *f);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Filter, filter_free)

size_t filter_n_rules(const Filter *f);

/*
 * Apply the rules to a tree (the list above), in place.  On failure the
 * tree is left as it was.
 */
bool filter_apply(const Filter *f, QObject *sections, GError **errp);

/*
 * A QEMU stream through the filter: its device sections as a tree (with
 * their descriptions), filtered, and written back, each changed section
 * through the engine with its filtered description (the QObject input
 * visitor reads the tree); sections the filter left alone, RAM and the
 * configuration keep their bytes, and so does the vmdesc when no section
 * changed.  A section made by a split gets a new section id.  Returns the
 * new stream's bytes (parse them to use them).
 */
GBytes *filter_qemu_stream(const Filter *f, const QemuStream *s, GError **errp);

/*
 * A stream's device sections as a tree (new reference): FULL sections that
 * were decoded, each with its "desc" when with_desc.
 */
QObject *filter_stream_tree(const QemuStream *s, bool with_desc, GError **errp);

#endif

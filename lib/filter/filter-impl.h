/*
 * Inside the filter module (the files of lib/filter/): rules as loaded.  Not a
 * public header.
 */
#ifndef VMSCOPE_FILTER_IMPL_H
#define VMSCOPE_FILTER_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include "vmscope/filter.h"
#include "vmscope/qobject.h"

typedef enum FilterOpKind {
    FILTER_RENAME_SECTION,
    FILTER_RENAME_FIELD,
    FILTER_MOVE_FIELD,
    FILTER_DROP_FIELD,
    FILTER_ADD_FIELD,
    FILTER_SET_TYPE,
    FILTER_EXTRACT_FIELD,
    FILTER_DROP_SUBSECTION,
    FILTER_SET_VERSION,
    FILTER_SPLIT,
    FILTER_MERGE,
} FilterOpKind;

/* Which sections a rule (or a merge) takes. */
typedef struct FilterMatch {
    char *section;
    bool has_version, has_instance;
    uint32_t version, instance_id;
} FilterMatch;

/* One section a split makes: its name, instance, version and members. */
typedef struct FilterPart {
    char *name;
    char *vmsd_name;            /* NULL: the name */
    bool has_instance, has_version;
    uint32_t instance_id, version;
    char **fields;              /* members of the split section, NULL-terminated */
} FilterPart;

typedef struct FilterOp {
    FilterOpKind kind;
    char *field;                /* the field (path) acted on */
    char *to;                   /* new name, or destination path (move) */
    char *vmsd_name;            /* rename-section, merge: the description's name */
    char *after;                /* add-field, extract-field: place after this sibling */
    char *type;                 /* add-field, set-type, extract-field: vmdesc type name */
    QObject *value;             /* add-field */
    uint64_t offset, stride;    /* extract-field */
    bool has_count;
    uint32_t count;             /* extract-field: a list of count elements */
    uint32_t version;           /* set-version, split/merge result */
    bool has_version;
    FilterPart *parts;          /* split */
    size_t n_parts;
    FilterMatch with;           /* merge */
} FilterOp;

typedef struct FilterRule {
    char *name;                 /* "" when the rule has none */
    FilterMatch match;
    FilterOp *ops;
    size_t n_ops;
} FilterRule;

struct Filter {
    FilterRule *rules;
    size_t n_rules;
};

/* The op's name in rule files ("rename-field"). */
const char *filter_op_name(FilterOpKind kind);

/* Does the section (a tree entry) match? */
bool filter_match_section(const FilterMatch *m, const QObject *section);

#endif

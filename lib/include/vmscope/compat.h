/*
 * Migration compatibility: can state saved with one set of descriptions be
 * loaded with another, and where would a destination fail to load a stream.
 *
 * Descriptions come from three sources and are read into one form, a
 * CompatSet of sections, each a tree of CompatDesc (name, versions, fields,
 * subsections) whose fields carry a name, a version, an element size, a
 * type when the source has one, and a nested description for structs:
 *
 *   - QEMU's `-dump-vmstate FILE` JSON, and `vmscope-devhost --dump-vmstate
 *     FILE` (the same JSON, with a "type" per field), read with the strict
 *     QObject input visitor: sections are keyed by the dump's QOM type
 *     ("isa-serial"), named by their description ("serial");
 *   - a migration stream: each device section's description as learned
 *     from its vmdesc (qemu_stream_section_device), one section per
 *     description name; only what the stream carries is there (its
 *     subsections, the fields of its version), with field types; a stream
 *     has no minimum versions;
 *   - vmscope's own VMStateDescriptions (compat_set_add_vmsd), with types.
 *
 * compat_compare(OLD, NEW) says whether state saved with OLD's descriptions
 * loads with NEW's, and lists every break it finds, not only the first one
 * of a section.  Sections are matched by the dump's key when both sides
 * are dumps, by description name otherwise.  The kinds of findings ("kind"
 * in JSON), each an error unless said otherwise:
 *
 *   machine-type         the dumps' machine types differ (a warning)
 *   section-missing      a section of OLD has no description in NEW
 *   description-differs  a description (top or nested) has another name in NEW
 *   version-older        NEW's version of a description is older than OLD's
 *   minimum-version      NEW's minimum version is above OLD's version
 *   field-missing        a field OLD sends is not in NEW
 *   field-added          NEW reads a field at OLD's version that OLD does not send
 *                        (a field added without a version bump)
 *   field-renamed        another name at the same position
 *   field-size           another element size (fields that are not structs)
 *   field-type           another type of the same size (both sides typed)
 *   field-version        NEW has the field only since a version above OLD's
 *   description-missing  a struct field of OLD is not a struct in NEW
 *   subsection-missing   a subsection OLD has (a stream: sends) is not in NEW
 *   equal-differs        an `_equal` field's required value differs (device hosts' dumps)
 *
 * Fields are lined up by name in order, among those that exist at OLD's
 * version on both sides, so a change is reported once, where it is, and the
 * fields after it are still compared.  Compatible changes are no finding: a
 * field added in NEW with a version bump, a new subsection, an older
 * minimum version.
 *
 * compat_explain(STREAM, DEST) replays the load of each device section of a
 * stream: the VMState engine walks the section's bytes with the stream's
 * own description (the QEMUFile input visitor, as `vmscope-view stream`
 * decodes it) while hooks compare each description, field and subsection
 * the walk meets with what DEST's description expects there, and stop the
 * section at the first place DEST would fail, with the byte offset and the
 * field path: version-refused, unknown-subsection, field-size, field-type,
 * field-renamed (the stream has another field where DEST expects one),
 * equal-differs (an `_equal` field whose value DEST knows, from a device
 * host's dump, and the stream's differs),
 * field-extra (a field DEST does not read), field-missing (DEST reads a
 * field the stream does not have), description-differs, description-missing;
 * unknown-section for sections a complete set of descriptions lacks (a
 * vmscope-devhost dump: its machine is "vmscope-devhost").  Sections DEST
 * does not describe otherwise are listed as not checked: QEMU's dump leaves
 * out sections without a device class (cpu, timer, globalstate) and
 * old-style ones (slirp).  Stream sections find DEST's description by
 * description name (the vmdesc's vmsd_name), not by the dump's key.
 */
#ifndef VMSCOPE_COMPAT_H
#define VMSCOPE_COMPAT_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "vmscope/qemu-stream.h"
#include "vmscope/qobject.h"
#include "vmscope/vmstate.h"

typedef struct CompatDesc CompatDesc;

typedef struct CompatField {
    char *name;
    int version_id;          /* exists since */
    bool field_exists;       /* QEMU: sent only when a test says so */
    uint64_t size;           /* one element, as QEMU's VMStateField.size */
    char *type;              /* vmscope's type name, NULL when the source has none */
    CompatDesc *desc;        /* structs: the nested description, else NULL */
    QObject *equal;          /* an `_equal` integer's required value (a device host's
                                dump: "equal"), else NULL */
} CompatField;

struct CompatDesc {
    char *name;
    int version_id;
    int minimum_version_id;  /* -1: unknown (a stream's) */
    GPtrArray *fields;       /* CompatField * */
    GPtrArray *subsections;  /* CompatDesc * */
};

typedef struct CompatSection {
    char *key;               /* the dump's member ("isa-serial"), a stream's idstr */
    CompatDesc *desc;        /* desc->name: the description's name ("serial") */
} CompatSection;

typedef enum CompatSource {
    COMPAT_SOURCE_DUMP,      /* -dump-vmstate JSON (QEMU's or vmscope-devhost's) */
    COMPAT_SOURCE_STREAM,    /* a migration stream's descriptions */
    COMPAT_SOURCE_VMSCOPE,   /* vmscope's own descriptions */
} CompatSource;

typedef struct CompatSet {
    CompatSource source;
    char *machine;           /* NULL when unknown */
    GPtrArray *sections;     /* CompatSection *, in the source's order */
    GHashTable *by_key;      /* key -> CompatSection * */
    GHashTable *by_name;     /* description name -> GPtrArray of its CompatSection *s (QEMU
                                names some alike: isa-serial and serial are both "serial") */
} CompatSet;

/* An empty set (vmscope's own descriptions), then its sections. */
CompatSet *compat_set_new(CompatSource source, const char *machine);
void compat_set_add_vmsd(CompatSet *set, const char *key, const VMStateDescription *vmsd);
/* A parsed -dump-vmstate JSON.  Errors name the JSON path: "isa-serial.Description.Fields[2].size: ...". */
CompatSet *compat_set_from_dump(QObject *dump, GError **errp);
/* The device sections of a parsed stream. */
CompatSet *compat_set_from_stream(const QemuStream *s);
/*
 * A file's bytes: a migration stream (QEMU's format, or BER read as its
 * QEMU form; parsed whole, with its vmdesc) or a dump's JSON text.  With `stream` not NULL,
 * a stream is also returned there (NULL for a dump).
 */
CompatSet *compat_set_load(GBytes *data, QemuStream **stream, GError **errp);
void compat_set_free(CompatSet *set);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CompatSet, compat_set_free)

/*
 * Does the set describe every section its side loads?  vmscope's own
 * descriptions and a vmscope-devhost dump (machine "vmscope-devhost") do;
 * QEMU's dumps and streams do not.
 */
bool compat_set_is_complete(const CompatSet *set);

/* "isa-serial (serial)", or "serial" when the key is the name. */
char *compat_section_display_name(const CompatSection *sec);

typedef enum CompatSeverity {
    COMPAT_ERROR,
    COMPAT_WARNING,
} CompatSeverity;

typedef struct CompatFinding {
    CompatSeverity severity;
    const char *kind;        /* "field-size", ... (static) */
    char *key;               /* the section: key and description name ("" if none) */
    char *name;
    char *path;              /* field path inside it, "" for the section itself */
    uint64_t offset;         /* explain: byte offset in the stream; VMS_NO_OFFSET otherwise */
    QObject *old_value;      /* OLD's (explain: the stream's) side; NULL: none */
    QObject *new_value;      /* NEW's (explain: DEST's) side; NULL: none */
    char *message;           /* what, in words, without the location */
} CompatFinding;

void compat_finding_free(CompatFinding *f);
/* "error: isa-serial (serial): state.divider: size 2 in OLD, 4 in NEW" (explain: "offset N: " first). */
char *compat_finding_line(const CompatFinding *f);
/* {"severity", "kind", "section": {"key", "name"}, "path", "old", "new", "message"} (+ "offset"). */
QObject *compat_finding_to_qobject(const CompatFinding *f);
/* Errors among findings (warnings do not make an incompatibility). */
size_t compat_count_errors(const GPtrArray *findings);

/* Every finding, in OLD's order (a GPtrArray of CompatFinding * that frees them). */
GPtrArray *compat_compare(const CompatSet *old_set, const CompatSet *new_set);

typedef struct CompatExplain {
    GPtrArray *findings;     /* CompatFinding *, at most one per section, in stream order */
    GPtrArray *not_checked;  /* section display names (char *) DEST does not describe */
    size_t checked;          /* sections replayed */
} CompatExplain;

/* Replay the load of every device section of s against dest (see above). */
CompatExplain *compat_explain(const QemuStream *s, const CompatSet *dest);
void compat_explain_free(CompatExplain *e);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CompatExplain, compat_explain_free)

#endif

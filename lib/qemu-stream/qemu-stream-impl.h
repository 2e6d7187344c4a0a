/*
 * Inside the QEMU stream module (qemu-stream*.c): the model and the pieces
 * the files share.  Not a public header.
 */
#ifndef VMSCOPE_QEMU_STREAM_IMPL_H
#define VMSCOPE_QEMU_STREAM_IMPL_H

#include "vmscope/bytes.h"
#include "vmscope/error.h"
#include "vmscope/qemu-stream.h"
#include "vmscope/vmstate.h"

struct QemuStream {
    GBytes *input;
    uint32_t version;

    bool has_config;
    uint64_t config_offset;     /* payload offset, just after the 0x07 tag */
    GBytes *config_payload;
    QObject *config;

    GPtrArray *sections;        /* QemuStreamSection *, owned */
    GPtrArray *devices;         /* QsDevice * of each section (NULL: not a device), owned */
    uint64_t eof_offset;
    GPtrArray *warnings;        /* GError * (located), in stream order, owned */

    bool has_vmdesc;
    uint64_t vmdesc_offset;     /* offset of the 0x06 tag */
    GBytes *vmdesc_text;        /* the JSON bytes exactly as found */
    QObject *vmdesc;

    uint32_t page_size;
    bool ignore_shared;
    bool shares_devices;        /* parsed with a QemuStreamCache: not to be edited */
};

/*
 * Locate an error from below (a ByteReader's, which has the offset) in the
 * stream: WHERE says which part ("section 'serial' (id 5)",
 * "configuration"), PATH the field; then pass it on to errp.  Returns false.
 */
static inline bool qs_propagate(GError **errp, GError *err, const char *where, const char *path)
{
    vms_error_locate(err, VMS_NO_OFFSET, where, path);
    g_propagate_error(errp, err);
    return false;
}

/* "section 'serial' (id 40)", for errors (g_malloc'd). */
char *qs_where_section(const QemuStreamSection *sec);

/*
 * A device section as the VMState engine sees it: the description learned
 * from the section's vmdesc entry (on a state layout of our own, since the
 * C struct QEMU saved from is not known) and the decoded state.
 */
typedef struct QsListedSubsection QsListedSubsection;
typedef struct QsDevice {
    VMStateDescription *vmsd;   /* owned */
    size_t state_size;
    bool exact;                 /* learned from the stream's own vmdesc (see qs_device_learn) */
    uint64_t wire_size;         /* exact: payload bytes the vmdesc describes */
    GArray *listed;             /* QsListedSubsection: what the vmdesc says is there */
    uint8_t *state;             /* state_size bytes, once loaded */
    unsigned refs;              /* holders beyond the first (a stream and a QemuStreamCache) */
} QsDevice;

/*
 * Learn a device's description from its vmdesc entry `desc`, for the
 * version in its section header (the top-level "version").  The payload
 * starts at stream offset `at`, and `avail` bytes are there to read: every
 * size in the vmdesc is checked against them (and against each other)
 * before anything is decoded.  Errors name the offset, `where` and the
 * field path.
 *
 * `exact`: the entry comes from the stream's own vmdesc, so it describes
 * these very bytes: every subsection it lists was sent, and wire_size is
 * the payload's size.  Otherwise (descriptions of another stream of the
 * same QEMU) the subsections it lists are the ones the loader knows, any of
 * which may be in the stream or not, and the payload's size is known only
 * once it is decoded.
 */
QsDevice *qs_device_learn(QObject *desc, uint64_t at, uint64_t avail, uint32_t version,
                          bool exact, const char *where, GError **errp);
/*
 * Decode the payload at r with the engine (QEMUFile input visitor) into
 * dev->state; r is left just after the payload, which (exact) must be
 * exactly the bytes the vmdesc describes, subsections included.
 */
bool qs_device_load(QsDevice *dev, ByteReader *r, int version, const char *where,
                    GError **errp);
/*
 * Walk a state of the device (dev->state, or a changed copy) through output
 * visitor v as member `name`; ctx for hooks, or NULL.  Like qs_device_load,
 * a quiet walk for the probes (trace-usdt.h): reading a stream is not
 * saving state.
 */
bool qs_device_save(Visitor *v, const char *name, const QsDevice *dev, uint8_t *state,
                    const VMStateContext *ctx, GError **errp);
/* One more holder; qs_device_free() drops one. */
QsDevice *qs_device_ref(QsDevice *dev);
/* The decoded state as a QObject (new reference). */
QObject *qs_device_to_qobject(const QsDevice *dev);
void qs_device_free(QsDevice *dev);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QsDevice, qs_device_free)

/*
 * Device descriptions (qemu-stream-descs.c): the vmdesc found by its frame
 * at the end of the data (*tag_at: the 0x06), its JSON (errors located at
 * `at` + the place in the text, under `where`), and a table of vmdesc
 * entries matched to sections by idstr, instance id and order among
 * duplicates.  `own`: the stream's own vmdesc (exact descriptions).
 */
bool qs_find_vmdesc(const uint8_t *d, size_t n, size_t *tag_at);
bool qs_parse_vmdesc_json(const char *text, size_t len, uint64_t at, const char *where,
                          QObject **out, GError **errp);
char *qs_device_key(const char *name, uint64_t instance_id);

typedef struct QsDescs QsDescs;
QsDescs *qs_descs_new(QObject *vmdesc, bool own, uint64_t at, GError **errp);
void qs_descs_free(QsDescs *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QsDescs, qs_descs_free)
bool qs_descs_own(const QsDescs *d);
uint32_t qs_descs_page_size(const QsDescs *d);      /* 0: not given */
/* The entry for the next section of name:instance, or NULL if none is left. */
QObject *qs_descs_take(QsDescs *d, const char *name, uint32_t instance_id);
/*
 * The first (in vmdesc order) name:instance with entries no section took:
 * how many are listed and how many were taken.
 */
bool qs_descs_unused(const QsDescs *d, const char **name, uint64_t *instance_id,
                     guint *listed, guint *used);

/*
 * Decoded sections kept across parses (qemu-stream-cache.c): the entry for
 * a FULL section (by idstr, instance, occurrence, section id and version)
 * whose payload is a prefix of the bytes at `data` (`avail` of them), or
 * NULL.  The caller still checks that the section's footer follows.
 */
typedef struct QsCacheEntry {
    GBytes *payload;            /* the bytes the decode consumed */
    QsDevice *dev;              /* a holder */
    QObject *state;             /* a reference */
} QsCacheEntry;
/* Start a parse with descriptions `desc`: entries decoded with others are dropped. */
void qs_cache_begin(QemuStreamCache *c, QObject *desc);
const QsCacheEntry *qs_cache_find(QemuStreamCache *c, const QemuStreamSection *sec,
                                  const uint8_t *data, size_t avail);
/* Keep what the section decoded to (payload, a holder of dev, a reference of state). */
void qs_cache_store(QemuStreamCache *c, const QemuStreamSection *sec, QsDevice *dev,
                    QObject *state);
/* An entry qs_cache_find() gave was taken (counted for qemu_stream_cache_stats). */
void qs_cache_reused(QemuStreamCache *c);

/* RAM: the state carried across the sections of one "ram" stream. */
typedef struct QsRam {
    uint32_t page_size;
    bool ignore_shared;
    GHashTable *blocks;         /* idstr -> uint64_t * used length */
    char *last_block;           /* for RAM_SAVE_FLAG_CONTINUE */
    bool seen_mem_size;
} QsRam;

void qs_ram_init(QsRam *ram, uint32_t page_size, bool ignore_shared);
void qs_ram_clear(QsRam *ram);
/* Walk one RAM section payload up to and including its EOS; summary in *state. */
bool qs_ram_section(QsRam *ram, ByteReader *r, const char *where, QObject **state,
                    GError **errp);

/* The configuration section's payload: decoded into *config. */
bool qs_parse_configuration(ByteReader *r, QObject **config, GError **errp);

#endif

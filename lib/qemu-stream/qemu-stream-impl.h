/*
 * Inside the QEMU stream module (qemu-stream*.c): the model and the pieces
 * the files share.  Not a public header.
 */
#ifndef VMSCOPE_QEMU_STREAM_IMPL_H
#define VMSCOPE_QEMU_STREAM_IMPL_H

#include "vmscope/bytes.h"
#include "vmscope/error.h"
#include "vmscope/qemu-stream.h"

struct QemuStream {
    GBytes *input;
    uint32_t version;

    bool has_config;
    uint64_t config_offset;     /* payload offset, just after the 0x07 tag */
    GBytes *config_payload;
    QObject *config;

    GPtrArray *sections;        /* QemuStreamSection *, owned */
    uint64_t eof_offset;

    bool has_vmdesc;
    uint64_t vmdesc_offset;     /* offset of the 0x06 tag */
    GBytes *vmdesc_text;        /* the JSON bytes exactly as found */
    QObject *vmdesc;

    uint32_t page_size;
    bool ignore_shared;
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

/* What a leaf of a decoded state is, for qemu_stream_set. */
typedef enum QsLeafKind {
    QS_LEAF_INT,        /* signed integer, `width` bytes */
    QS_LEAF_UINT,       /* unsigned integer, `width` bytes */
    QS_LEAF_BOOL,
    QS_LEAF_HEX,        /* bytes shown as hex */
    QS_LEAF_NULL,       /* a null-pointer marker */
    QS_LEAF_STRUCT,     /* not a leaf: an object */
    QS_LEAF_LIST,       /* not a leaf: a list */
} QsLeafKind;

typedef struct QsLeaf {
    uint64_t offset;    /* relative to the payload start */
    uint64_t size;
    QsLeafKind kind;
    const char *type;   /* vmdesc type name (borrowed from the vmdesc) */
} QsLeaf;

/*
 * Decode one device section's payload with its vmdesc entry.  `r` starts at
 * the payload and may extend past it; on success it is left just after the
 * payload.  With `leaves` non-NULL, every value's path (relative to the
 * section, "state.lsr", "mac_reg[0][3]") is recorded there -> QsLeaf *.
 */
bool qs_decode_device(ByteReader *r, const char *where, QObject *desc, GHashTable *leaves,
                      QObject **state, GError **errp);

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

/*
 * Walking the "ram" iterative section (QEMU migration/ram.c, version 4).
 *
 * A RAM section is a run of records, each starting with be64 ADDR|FLAGS
 * (the flags live in the bits below the target page size):
 *
 *   MEM_SIZE  total bytes; then per block: u8 len, idstr, be64 used_length,
 *             and be64 the block's address when x-ignore-shared is on;
 *             until the lengths add up to the total
 *   ZERO      [u8 len, idstr unless CONTINUE] u8 fill byte
 *   PAGE      [u8 len, idstr unless CONTINUE] page_size bytes
 *   EOS       end of this section's RAM data
 *
 * CONTINUE means "the same block as the record before", across sections.
 * We skip the pages, check every block name and page offset against the
 * block list, and refuse what we cannot walk (XBZRLE, compressed pages,
 * RDMA hooks) rather than guess its length.
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "qemu-stream-impl.h"
#include "vmscope/error.h"

#define RAM_SAVE_FLAG_FULL          0x01
#define RAM_SAVE_FLAG_ZERO          0x02
#define RAM_SAVE_FLAG_MEM_SIZE      0x04
#define RAM_SAVE_FLAG_PAGE          0x08
#define RAM_SAVE_FLAG_EOS           0x10
#define RAM_SAVE_FLAG_CONTINUE      0x20
#define RAM_SAVE_FLAG_XBZRLE        0x40
#define RAM_SAVE_FLAG_HOOK          0x80
#define RAM_SAVE_FLAG_COMPRESS_PAGE 0x100
#define RAM_SAVE_FLAG_MULTIFD_FLUSH 0x200

void qs_ram_init(QsRam *ram, uint32_t page_size, bool ignore_shared)
{
    ram->page_size = page_size;
    ram->ignore_shared = ignore_shared;
    ram->blocks = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    ram->last_block = NULL;
    ram->seen_mem_size = false;
}

void qs_ram_clear(QsRam *ram)
{
    g_clear_pointer(&ram->blocks, g_hash_table_destroy);
    g_clear_pointer(&ram->last_block, g_free);
}

static bool read_idstr(ByteReader *r, char **out, GError **errp)
{
    uint8_t len;
    const uint8_t *p;
    if (!byte_reader_u8(r, &len, errp) || !byte_reader_take(r, len, &p, errp)) {
        return false;
    }
    *out = g_strndup((const char *)p, len);
    return true;
}

static bool mem_size(QsRam *ram, ByteReader *r, const char *where, uint64_t total,
                     QObject *blocks, GError **errp)
{
    GError *err = NULL;
    uint64_t left = total;
    while (left > 0) {
        uint64_t at = byte_reader_offset(r), length, addr = 0;
        g_autofree char *id = NULL;
        if (!read_idstr(r, &id, &err) || !byte_reader_be64(r, &length, &err) ||
            (ram->ignore_shared && !byte_reader_be64(r, &addr, &err))) {
            qs_propagate(errp, err, where, NULL);
            return false;
        }
        if (length > left) {
            vms_error_set_at(errp, VMS_ERROR_INVALID, at, where, NULL,
                             "RAM block '%s' length %" PRIu64 " exceeds the %" PRIu64
                             " bytes left of the total %" PRIu64, id, length, left, total);
            return false;
        }
        if (g_hash_table_contains(ram->blocks, id)) {
            vms_error_set_at(errp, VMS_ERROR_INVALID, at, where, NULL,
                             "RAM block '%s' listed twice", id);
            return false;
        }
        left -= length;
        QObject *b = qdict_new();
        qdict_put(b, "name", qstring_from_str(id));
        qdict_put(b, "used-length", qnum_from_uint(length));
        if (ram->ignore_shared) {
            qdict_put(b, "address", qnum_from_uint(addr));
        }
        qlist_append(blocks, b);
        uint64_t *stored = g_new(uint64_t, 1);
        *stored = length;
        g_hash_table_insert(ram->blocks, g_strdup(id), stored);
    }
    ram->seen_mem_size = true;
    return true;
}

/* The block a ZERO/PAGE record is for; checks the page lies inside it. */
static bool page_block(QsRam *ram, ByteReader *r, const char *where, uint64_t at,
                       uint64_t flags, uint64_t addr, GError **errp)
{
    GError *err = NULL;
    if (!(flags & RAM_SAVE_FLAG_CONTINUE)) {
        char *id = NULL;
        if (!read_idstr(r, &id, &err)) {
            qs_propagate(errp, err, where, NULL);
            return false;
        }
        g_free(ram->last_block);
        ram->last_block = id;
    } else if (!ram->last_block) {
        vms_error_set_at(errp, VMS_ERROR_INVALID, at, where, NULL,
                         "RAM page continues a block but no block came before");
        return false;
    }
    const uint64_t *length = g_hash_table_lookup(ram->blocks, ram->last_block);
    if (!length) {
        vms_error_set_at(errp, VMS_ERROR_INVALID, at, where, NULL,
                         "RAM page for unknown block '%s'", ram->last_block);
        return false;
    }
    if (addr >= *length || *length - addr < ram->page_size) {
        vms_error_set_at(errp, VMS_ERROR_INVALID, at, where, NULL,
                         "RAM page at 0x%" PRIx64 " outside block '%s' (%" PRIu64 " bytes)",
                         addr, ram->last_block, *length);
        return false;
    }
    return true;
}

bool qs_ram_section(QsRam *ram, ByteReader *r, const char *where, QObject **state,
                    GError **errp)
{
    GError *err = NULL;
    uint64_t pages = 0, zero_pages = 0;
    g_autoptr(QObject) blocks = NULL;

    for (;;) {
        uint64_t at = byte_reader_offset(r), word;
        if (!byte_reader_be64(r, &word, &err)) {
            qs_propagate(errp, err, where, NULL);
            return false;
        }
        uint64_t flags = word & (ram->page_size - 1);
        uint64_t addr = word & ~(uint64_t)(ram->page_size - 1);

        switch (flags & ~(uint64_t)RAM_SAVE_FLAG_CONTINUE) {
        case RAM_SAVE_FLAG_MEM_SIZE:
            if (!blocks) {
                blocks = qlist_new();
            }
            if (!mem_size(ram, r, where, addr, blocks, errp)) {
                return false;
            }
            break;
        case RAM_SAVE_FLAG_ZERO: {
            uint8_t fill;
            if (!page_block(ram, r, where, at, flags, addr, errp)) {
                return false;
            }
            if (!byte_reader_u8(r, &fill, &err)) {
                qs_propagate(errp, err, where, NULL);
                return false;
            }
            zero_pages++;
            break;
        }
        case RAM_SAVE_FLAG_PAGE:
            if (!page_block(ram, r, where, at, flags, addr, errp)) {
                return false;
            }
            if (!byte_reader_skip(r, ram->page_size, &err)) {
                qs_propagate(errp, err, where, NULL);
                return false;
            }
            pages++;
            break;
        case RAM_SAVE_FLAG_MULTIFD_FLUSH:
            break;
        case RAM_SAVE_FLAG_EOS: {
            QObject *s = qdict_new();
            if (blocks) {
                qdict_put(s, "blocks", g_steal_pointer(&blocks));
            }
            qdict_put(s, "pages", qnum_from_uint(pages));
            qdict_put(s, "zero-pages", qnum_from_uint(zero_pages));
            *state = s;
            return true;
        }
        default: {
            const char *what =
                flags & RAM_SAVE_FLAG_XBZRLE ? "XBZRLE-compressed pages are not supported" :
                flags & RAM_SAVE_FLAG_COMPRESS_PAGE ? "compressed pages are not supported" :
                flags & RAM_SAVE_FLAG_HOOK ? "RDMA hooks are not supported" :
                "unknown combination of RAM flags";
            vms_error_set_at(errp, VMS_ERROR_INVALID, at, where, NULL,
                             "RAM flags 0x%" PRIx64 ": %s", flags, what);
            return false;
        }
        }
    }
}

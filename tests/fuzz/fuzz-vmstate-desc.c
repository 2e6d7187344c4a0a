/*
 * The description loader (vmstate_from_description: the JSON a device host
 * publishes) and a save/load round trip through the engine.  Input:
 *   u16 LE state size, u16 LE JSON length, the JSON, then bytes that fill
 *   the state (repeated; zeros if none) and the segment region.
 * Invariants for a description that loads:
 *   - described again (vmstate_describe) and loaded again, it describes
 *     the same: the loader's output is a fixed point;
 *   - a state it saves in QEMU's format loads back through the QEMUFile
 *     input visitor and saves to the same bytes; so does the state saved
 *     through the QObject output visitor and loaded through the QObject
 *     input visitor.
 */
#include "config.h"

#include <string.h>
#include <glib.h>

#include "fuzz.h"
#include "vmscope/qemu-stream.h"
#include "vmscope/qemufile-visitor.h"
#include "vmscope/qobject-visitor.h"
#include "vmscope/vmstate.h"

#define REGION_SIZE 4096

static void fill(uint8_t *buf, size_t n, const uint8_t *src, size_t src_len)
{
    memset(buf, 0, n);
    for (size_t i = 0; src_len && i < n; i++) {
        buf[i] = src[i % src_len];
    }
}

/* Save in QEMU's format; NULL if the state cannot be saved (a bad length...). */
static GBytes *save(const VMStateDescription *vmsd, void *state, const VMStateContext *ctx)
{
    ByteWriter w;
    byte_writer_init(&w);
    g_autoptr(GError) err = NULL;
    Visitor *v = qemufile_output_visitor_new(&w);
    bool ok = vmstate_save(v, vmsd, state, ctx, &err);
    visit_free(v);
    GBytes *out = byte_writer_take(&w);
    byte_writer_clear(&w);
    if (!ok) {
        g_bytes_unref(out);
        return NULL;
    }
    return out;
}

typedef struct Copy {
    uint8_t *state;
    uint8_t region[REGION_SIZE];
    VMStateContext ctx;
} Copy;

static Copy *copy_new(const uint8_t *state, size_t size, const uint8_t *region)
{
    Copy *c = g_new0(Copy, 1);
    c->state = g_memdup2(state, size ? size : 1);
    memcpy(c->region, region, REGION_SIZE);
    c->ctx.base = c->region;
    c->ctx.size = REGION_SIZE;
    return c;
}

static void copy_free(Copy *c)
{
    g_free(c->state);
    g_free(c);
}

static void round_trips(const VMStateDescription *vmsd, uint8_t *state, size_t size,
                        uint8_t *region)
{
    VMStateContext ctx = { .base = region, .size = REGION_SIZE };
    g_autoptr(GBytes) saved = save(vmsd, state, &ctx);
    if (!saved) {
        return;
    }
    g_autoptr(GError) err = NULL;

    /* What can be saved can be described as QEMU's vmdesc describes it. */
    g_autoptr(QObject) vmdesc = qemu_stream_device_vmdesc(vmsd, state, &ctx, &err);
    FUZZ_CHECK(vmdesc, "saves, but has no vmdesc: %s", err->message);

    /* QEMU's format: load into a copy (so that _equal fields match), save again. */
    Copy *c = copy_new(state, size, region);
    ByteReader r;
    gsize n;
    const uint8_t *bytes = g_bytes_get_data(saved, &n);
    byte_reader_init(&r, bytes, n, 0);
    Visitor *in = qemufile_input_visitor_new(&r);
    bool ok = vmstate_load(in, vmsd, c->state, vmsd->version_id, &c->ctx, &err);
    visit_free(in);
    FUZZ_CHECK(ok, "saved state does not load: %s", err->message);
    FUZZ_CHECK(byte_reader_left(&r) == 0, "load left %zu of %zu bytes", byte_reader_left(&r), n);
    g_autoptr(GBytes) again = save(vmsd, c->state, &c->ctx);
    FUZZ_CHECK(again && g_bytes_equal(saved, again), "loaded state saves to other bytes");
    copy_free(c);

    /* Through QObjects. */
    Visitor *out = qobject_output_visitor_new();
    ok = vmstate_save(out, vmsd, state, &ctx, &err);
    g_autoptr(QObject) tree = ok ? qobject_output_visitor_take(out) : NULL;
    visit_free(out);
    FUZZ_CHECK(ok, "saves in QEMU's format but not as a QObject: %s", err->message);
    c = copy_new(state, size, region);
    in = qobject_input_visitor_new(tree);
    ok = vmstate_load(in, vmsd, c->state, vmsd->version_id, &c->ctx, &err);
    visit_free(in);
    FUZZ_CHECK(ok, "QObject state does not load: %s", err->message);
    g_autoptr(GBytes) via = save(vmsd, c->state, &c->ctx);
    FUZZ_CHECK(via && g_bytes_equal(saved, via), "state through QObjects saves to other bytes");
    copy_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4) {
        return 0;
    }
    size_t state_size = data[0] | (size_t)data[1] << 8;
    size_t json_len = MIN(data[2] | (size_t)data[3] << 8, size - 4);
    const char *json = (const char *)data + 4;
    const uint8_t *rest = data + 4 + json_len;
    size_t rest_len = size - 4 - json_len;

    g_autoptr(QObject) desc = NULL;
    g_autoptr(GError) err = NULL;
    if (!qobject_from_json(json, json_len, &desc, &err)) {
        return 0;
    }
    g_autoptr(VMStateDescription) vmsd = vmstate_from_description(desc, state_size, &err);
    if (!vmsd) {
        FUZZ_CHECK(g_utf8_validate(err->message, -1, NULL), "error message not UTF-8");
        return 0;
    }

    g_autoptr(QObject) described = vmstate_describe(vmsd);
    g_autoptr(VMStateDescription) vmsd2 = vmstate_from_description(described, state_size, &err);
    FUZZ_CHECK(vmsd2, "a description's own description does not load: %s", err->message);
    g_autoptr(QObject) described2 = vmstate_describe(vmsd2);
    FUZZ_CHECK(qobject_equal(described, described2), "describe(load(describe)) differs");

    g_autofree uint8_t *state = g_malloc0(state_size ? state_size : 1);
    g_autofree uint8_t *region = g_malloc0(REGION_SIZE);
    fill(state, state_size, rest, rest_len);
    fill(region, REGION_SIZE, rest, rest_len);
    round_trips(vmsd, state, state_size, region);
    return 0;
}

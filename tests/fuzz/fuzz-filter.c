/*
 * Tree filters: the rule loader (filter_load) and the rules applied to a
 * tree (filter_apply), then each filtered section written back through the
 * engine with its filtered description (qemu_stream_encode_device).  Input:
 *   u16 LE rule-file length, the rule file (JSON), then the tree (JSON: a
 *   list of sections as filter.h describes them).
 * Invariants:
 *   - a rule file that does not load says why in UTF-8 (names from the
 *     input are quoted as they are, as everywhere: a name with a newline in
 *     it makes a message with one);
 *   - a failed apply leaves the tree as it was;
 *   - applying is deterministic: twice on copies gives equal trees, and the
 *     result is again a list of sections.
 */
#include "config.h"

#include <string.h>
#include <glib.h>

#include "fuzz.h"
#include "vmscope/filter.h"
#include "vmscope/qemu-stream.h"

static bool utf8(const char *msg)
{
    return g_utf8_validate(msg, -1, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) {
        return 0;
    }
    size_t rules_len = MIN(data[0] | (size_t)data[1] << 8, size - 2);
    const char *rules = (const char *)data + 2;
    const char *tree_text = rules + rules_len;
    size_t tree_len = size - 2 - rules_len;

    g_autoptr(GError) err = NULL;
    g_autoptr(Filter) f = filter_load(rules, rules_len, NULL, &err);
    if (!f) {
        FUZZ_CHECK(err && utf8(err->message), "load error not UTF-8");
        return 0;
    }
    g_autoptr(QObject) tree = NULL;
    if (!qobject_from_json(tree_text, tree_len, &tree, &err)) {
        return 0;
    }
    g_autoptr(QObject) before = qobject_copy(tree);
    g_autoptr(QObject) twin = qobject_copy(tree);
    bool ok = filter_apply(f, tree, &err);
    if (!ok) {
        FUZZ_CHECK(utf8(err->message), "apply error not UTF-8");
        FUZZ_CHECK(qobject_equal(tree, before), "a failed apply changed the tree");
        return 0;
    }
    g_autoptr(GError) err2 = NULL;
    FUZZ_CHECK(filter_apply(f, twin, &err2), "the second apply failed: %s", err2->message);
    FUZZ_CHECK(qobject_equal(tree, twin), "two applies differ");
    FUZZ_CHECK(qobject_type(tree) == QTYPE_LIST, "the result is not a list");

    /* Each section with a description, written back as a stream would be. */
    for (size_t i = 0; i < qlist_size(tree) && i < 16; i++) {
        QObject *sec = qlist_get(tree, i);
        QObject *desc = qdict_get(sec, "desc");
        uint64_t version = 0;
        if (qobject_type(desc) != QTYPE_DICT ||
            !qnum_get_uint(qdict_get(sec, "version-id"), &version) || version > INT32_MAX) {
            continue;
        }
        g_autoptr(QObject) vmdesc = qdict_new();
        g_autoptr(GError) e = NULL;
        g_autoptr(GBytes) payload = qemu_stream_encode_device(desc, (uint32_t)version,
                                                              qdict_get(sec, "state"), vmdesc, &e);
        FUZZ_CHECK(payload || utf8(e->message), "encode error not UTF-8");
    }
    return 0;
}

/*
 * Tree filters (lib/filter): rule files and their exact errors, each
 * action on a tree with and without descriptions, and streams through a
 * filter (split and merge back to the same bytes).
 */
#include "config.h"

#include <string.h>

#include "cutest.h"
#include "vmscope/bytes.h"
#include "vmscope/filter.h"
#include "vmscope/qemu-stream.h"
#include "vmstate-test-dev.h"

/* ---- rule files ---- */

static void expect_load_error(const char *rules, const char *message)
{
    GError *err = NULL;
    g_autoptr(Filter) f = filter_load(rules, strlen(rules), "r.json", &err);
    CU_ASSERT_PTR_NULL(f);
    ASSERT_ERROR(err, message);
}

#define RULE(actions) \
    "{\"rules\": [{\"name\": \"n\", \"match\": {\"section\": \"s\"}, \"actions\": [" actions "]}]}"

static void test_load_errors(void)
{
    expect_load_error("{", "r.json: JSON parse error at offset 1: unexpected end of input");
    expect_load_error("[]", "r.json: expected an object {\"rules\": [...]}, got list");
    expect_load_error("{\"rules\": {}}", "r.json: rules: expected a list, got object");
    expect_load_error("{\"rule\": []}", "r.json: rules: missing");
    expect_load_error("{\"rules\": [], \"x\": 1}", "r.json: unexpected field 'x'");
    expect_load_error("{\"rules\": [1]}", "r.json: rule 0: expected object, got int");
    expect_load_error("{\"rules\": [{\"match\": {\"section\": \"s\"}}]}",
                      "r.json: rule 0: actions: missing");
    expect_load_error("{\"rules\": [{\"name\": \"a\", \"match\": {}, \"actions\": []}]}",
                      "r.json: rule 0 ('a'): match.section: missing");
    expect_load_error("{\"rules\": [{\"name\": \"a\", \"match\": {\"section\": \"\"}, "
                      "\"actions\": []}]}",
                      "r.json: rule 0 ('a'): match.section: must not be empty");
    expect_load_error("{\"rules\": [{\"name\": \"a\", \"match\": {\"section\": \"s\", "
                      "\"version\": -1}, \"actions\": []}]}",
                      "r.json: rule 0 ('a'): match.version: value -1 out of range for uint32");
    expect_load_error(RULE(""), "r.json: rule 0 ('n'): actions: a rule needs at least one action");
    expect_load_error(RULE("{\"op\": \"rename\"}"),
                      "r.json: rule 0 ('n'): actions[0].op: unknown op 'rename' (rename-section, "
                      "rename-field, move-field, drop-field, add-field, set-type, extract-field, "
                      "drop-subsection, set-version, split, merge)");
    expect_load_error(RULE("{\"op\": \"rename-field\", \"field\": \"a\"}"),
                      "r.json: rule 0 ('n'): actions[0].to: missing");
    expect_load_error(RULE("{\"op\": \"drop-field\", \"field\": \"a\", \"to\": \"b\"}"),
                      "r.json: rule 0 ('n'): actions[0]: unexpected field 'to'");
    expect_load_error(RULE("{\"op\": \"add-field\", \"field\": \"a\", \"value\": 1, "
                           "\"type\": \"uint33\"}"),
                      "r.json: rule 0 ('n'): actions[0].type: unknown type 'uint33'");
    expect_load_error(RULE("{\"op\": \"add-field\", \"field\": \"a\", \"value\": {}}"),
                      "r.json: rule 0 ('n'): actions[0].value: expected an integer, a boolean, "
                      "a hex string or a list of them, got object");
    expect_load_error(RULE("{\"op\": \"add-field\", \"field\": \"a\", \"value\": [1, true]}"),
                      "r.json: rule 0 ('n'): actions[0].value: a list value holds integers, "
                      "booleans or hex strings, all alike");
    expect_load_error(RULE("{\"op\": \"set-type\", \"field\": \"a\", \"type\": \"uint32 equal\"}"),
                      "r.json: rule 0 ('n'): actions[0].type: type 'uint32 equal' cannot be given "
                      "a value (integers, bool, buffer)");
    expect_load_error(RULE("{\"op\": \"extract-field\", \"field\": \"a\", \"to\": \"b\", "
                           "\"type\": \"buffer\", \"offset\": 0}"),
                      "r.json: rule 0 ('n'): actions[0].type: type 'buffer' is not a plain "
                      "integer type");
    expect_load_error(RULE("{\"op\": \"extract-field\", \"field\": \"a\", \"to\": \"b\", "
                           "\"type\": \"uint8\", \"offset\": 0, \"count\": 0}"),
                      "r.json: rule 0 ('n'): actions[0].count: must be 1 to 65536");
    expect_load_error(RULE("{\"op\": \"set-version\", \"version\": \"3\"}"),
                      "r.json: rule 0 ('n'): actions[0].version: expected uint32, got string");
    expect_load_error(RULE("{\"op\": \"split\", \"into\": [{\"name\": \"a\", \"fields\": []}]}"),
                      "r.json: rule 0 ('n'): actions[0].into: a split makes at least 2 sections");
    expect_load_error(RULE("{\"op\": \"split\", \"into\": [{\"name\": \"a\", \"fields\": []}, "
                           "{\"name\": \"b\", \"fields\": [\"\"]}]}"),
                      "r.json: rule 0 ('n'): actions[0].into[1].fields[0]: must not be empty");
    expect_load_error(RULE("{\"op\": \"split\", \"into\": [{\"name\": \"a\", \"fields\": []}, "
                           "{\"name\": \"b\", \"fields\": []}]}, {\"op\": \"set-version\", "
                           "\"version\": 1}"),
                      "r.json: rule 0 ('n'): actions[0]: a split must be the last action of its "
                      "rule");
    expect_load_error(RULE("{\"op\": \"merge\", \"with\": {\"name\": \"x\"}}"),
                      "r.json: rule 0 ('n'): actions[0].with.section: missing");
    /* The second rule is named by its index and name. */
    expect_load_error("{\"rules\": [{\"match\": {\"section\": \"s\"}, \"actions\": [{\"op\": "
                      "\"set-version\", \"version\": 2}]}, {\"name\": \"kvm\", \"match\": "
                      "{\"section\": \"s\"}, \"actions\": [{\"op\": \"drop-field\"}]}]}",
                      "r.json: rule 1 ('kvm'): actions[0].field: missing");

    GError *err = NULL;
    g_autoptr(Filter) f = filter_load_file("/nonexistent/r.json", &err);
    CU_ASSERT_PTR_NULL(f);
    ASSERT_ERROR(err, "/nonexistent/r.json: No such file or directory");
}

/* ---- actions on a tree ---- */

/* A serial-like section, with its vmdesc entry: a struct, a list, a subsection. */
#define SERIAL_STATE \
    "{\"divider\":12,\"lsr\":96,\"fifo\":{\"count\":2,\"data\":\"aabb\"},\"regs\":[1,2]," \
    "\"serial/timeout\":{\"timeout\":5}}"
#define SERIAL_DESC \
    "{\"name\":\"serial\",\"instance_id\":0,\"vmsd_name\":\"serial\",\"version\":3," \
    "\"fields\":[{\"name\":\"divider\",\"type\":\"uint16\",\"size\":2}," \
    "{\"name\":\"lsr\",\"type\":\"uint8\",\"size\":1}," \
    "{\"name\":\"fifo\",\"type\":\"struct\",\"struct\":{\"vmsd_name\":\"serial/fifo\"," \
    "\"version\":1,\"fields\":[{\"name\":\"count\",\"type\":\"uint8\",\"size\":1}," \
    "{\"name\":\"data\",\"type\":\"buffer\",\"size\":2}]},\"size\":3}," \
    "{\"name\":\"regs\",\"array_len\":2,\"type\":\"uint8\",\"size\":1}]," \
    "\"subsections\":[{\"vmsd_name\":\"serial/timeout\",\"version\":1," \
    "\"fields\":[{\"name\":\"timeout\",\"type\":\"uint32\",\"size\":4}]}]}"
#define SERIAL "{\"name\":\"serial\",\"instance-id\":0,\"version-id\":3,\"state\":" SERIAL_STATE "}"
#define SERIAL_D "{\"name\":\"serial\",\"instance-id\":0,\"version-id\":3,\"state\":" \
    SERIAL_STATE ",\"desc\":" SERIAL_DESC "}"

/* Apply `rules` to `tree`: the tree after it as compact JSON, or "error: MESSAGE". */
static char *apply(const char *rules, const char *tree)
{
    GError *err = NULL;
    g_autoptr(Filter) f = filter_load(rules, strlen(rules), NULL, &err);
    if (!f) {
        char *msg = g_strdup_printf("load error: %s", err->message);
        g_error_free(err);
        return msg;
    }
    g_autoptr(QObject) t = NULL;
    CU_ASSERT_TRUE_FATAL(qobject_from_json(tree, strlen(tree), &t, NULL));
    g_autoptr(QObject) before = qobject_copy(t);
    if (!filter_apply(f, t, &err)) {
        CU_ASSERT_TRUE(qobject_equal(t, before));     /* nothing changed */
        char *msg = g_strdup_printf("error: %s", err->message);
        g_error_free(err);
        return msg;
    }
    return qobject_to_json(t, false);
}

#define ASSERT_APPLY(rules, tree, expected)                 \
    do {                                                    \
        g_autofree char *got_ = apply(rules, tree);         \
        ASSERT_STR_EQ(got_, expected);                      \
    } while (0)

#define ON_SERIAL(actions) \
    "{\"rules\": [{\"name\": \"t\", \"match\": {\"section\": \"serial\"}, \"actions\": [" actions "]}]}"

static void test_match(void)
{
    const char *tree = "[{\"name\":\"serial\",\"instance-id\":0,\"version-id\":3,\"state\":{}},"
                       "{\"name\":\"serial\",\"instance-id\":1,\"version-id\":4,\"state\":{}},"
                       "{\"name\":\"rtc\",\"instance-id\":0,\"version-id\":3,\"state\":{}}]";
    ASSERT_APPLY("{\"rules\": [{\"match\": {\"section\": \"serial\", \"instance-id\": 1}, "
                 "\"actions\": [{\"op\": \"rename-section\", \"to\": \"uart\"}]}]}", tree,
                 "[{\"name\":\"serial\",\"instance-id\":0,\"version-id\":3,\"state\":{}},"
                 "{\"name\":\"uart\",\"instance-id\":1,\"version-id\":4,\"state\":{}},"
                 "{\"name\":\"rtc\",\"instance-id\":0,\"version-id\":3,\"state\":{}}]");
    ASSERT_APPLY("{\"rules\": [{\"match\": {\"section\": \"serial\", \"version\": 3}, "
                 "\"actions\": [{\"op\": \"set-version\", \"version\": 9}]}]}", tree,
                 "[{\"name\":\"serial\",\"instance-id\":0,\"version-id\":9,\"state\":{}},"
                 "{\"name\":\"serial\",\"instance-id\":1,\"version-id\":4,\"state\":{}},"
                 "{\"name\":\"rtc\",\"instance-id\":0,\"version-id\":3,\"state\":{}}]");
    /* A rule that matches nothing changes nothing. */
    ASSERT_APPLY("{\"rules\": [{\"match\": {\"section\": \"ide\"}, \"actions\": "
                 "[{\"op\": \"drop-field\", \"field\": \"x\"}]}]}", tree, tree);
    ASSERT_APPLY(ON_SERIAL("{\"op\": \"drop-field\", \"field\": \"x\"}"), "{}",
                 "error: the tree is not a list of sections");
}

static void test_rename(void)
{
    /* Rename a section: its description and its subsections follow. */
    ASSERT_APPLY(ON_SERIAL("{\"op\": \"rename-section\", \"to\": \"uart\"}"), "[" SERIAL "]",
                 "[{\"name\":\"uart\",\"instance-id\":0,\"version-id\":3,\"state\":"
                 "{\"divider\":12,\"lsr\":96,\"fifo\":{\"count\":2,\"data\":\"aabb\"},"
                 "\"regs\":[1,2],\"uart/timeout\":{\"timeout\":5}}}]");
    g_autofree char *d = apply(ON_SERIAL("{\"op\": \"rename-section\", \"to\": \"uart\"}"),
                               "[" SERIAL_D "]");
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "\"desc\":{\"name\":\"uart\",\"instance_id\":0,"
                                     "\"vmsd_name\":\"uart\",\"version\":3,"));
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "{\"vmsd_name\":\"uart/timeout\",\"version\":1,"));
    /* ... unless the description keeps its name. */
    g_autofree char *k = apply(ON_SERIAL("{\"op\": \"rename-section\", \"to\": \"uart\", "
                                         "\"vmsd-name\": \"serial\"}"), "[" SERIAL_D "]");
    CU_ASSERT_PTR_NOT_NULL(strstr(k, "\"serial/timeout\":{\"timeout\":5}"));
    CU_ASSERT_PTR_NOT_NULL(strstr(k, "\"desc\":{\"name\":\"uart\",\"instance_id\":0,"
                                     "\"vmsd_name\":\"serial\""));

    /* Rename a field, in place, in a struct; and in the description. */
    ASSERT_APPLY(ON_SERIAL("{\"op\": \"rename-field\", \"field\": \"fifo.count\", \"to\": \"n\"}"),
                 "[" SERIAL "]",
                 "[{\"name\":\"serial\",\"instance-id\":0,\"version-id\":3,\"state\":"
                 "{\"divider\":12,\"lsr\":96,\"fifo\":{\"n\":2,\"data\":\"aabb\"},"
                 "\"regs\":[1,2],\"serial/timeout\":{\"timeout\":5}}}]");
    g_autofree char *r = apply(ON_SERIAL("{\"op\": \"rename-field\", \"field\": \"lsr\", "
                                         "\"to\": \"line_status\"}"), "[" SERIAL_D "]");
    CU_ASSERT_PTR_NOT_NULL(strstr(r, "{\"divider\":12,\"line_status\":96,\"fifo\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(r, "{\"name\":\"divider\",\"type\":\"uint16\",\"size\":2},"
                                     "{\"name\":\"line_status\",\"type\":\"uint8\",\"size\":1},"));
    ASSERT_APPLY(ON_SERIAL("{\"op\": \"rename-field\", \"field\": \"lsr\", \"to\": \"divider\"}"),
                 "[" SERIAL "]",
                 "error: rule 0 ('t'): section 'serial' (instance 0): rename-field 'lsr': "
                 "the struct already has a field 'divider'");
    ASSERT_APPLY(ON_SERIAL("{\"op\": \"rename-field\", \"field\": \"fifo.nope\", \"to\": \"n\"}"),
                 "[" SERIAL "]",
                 "error: rule 0 ('t'): section 'serial' (instance 0): rename-field 'fifo.nope': "
                 "no such field");
    ASSERT_APPLY(ON_SERIAL("{\"op\": \"rename-field\", \"field\": \"lsr.x\", \"to\": \"n\"}"),
                 "[" SERIAL "]",
                 "error: rule 0 ('t'): section 'serial' (instance 0): rename-field 'lsr.x': "
                 "'lsr' is not a struct");
}

static void test_drop(void)
{
    ASSERT_APPLY(ON_SERIAL("{\"op\": \"drop-field\", \"field\": \"fifo.data\"}, "
                           "{\"op\": \"drop-subsection\", \"subsection\": \"serial/timeout\"}"),
                 "[" SERIAL "]",
                 "[{\"name\":\"serial\",\"instance-id\":0,\"version-id\":3,\"state\":"
                 "{\"divider\":12,\"lsr\":96,\"fifo\":{\"count\":2},\"regs\":[1,2]}}]");
    g_autofree char *d = apply(ON_SERIAL("{\"op\": \"drop-field\", \"field\": \"regs\"}, "
                                         "{\"op\": \"drop-subsection\", "
                                         "\"subsection\": \"serial/timeout\"}"),
                               "[" SERIAL_D "]");
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "\"size\":3}],\"subsections\":[]}}]"));
    CU_ASSERT_PTR_NULL(strstr(d, "regs"));
    /* An optional subsection the section does not carry: nothing to drop. */
    ASSERT_APPLY(ON_SERIAL("{\"op\": \"drop-subsection\", \"subsection\": \"serial/other\"}"),
                 "[" SERIAL "]", "[" SERIAL "]");
    ASSERT_APPLY(ON_SERIAL("{\"op\": \"drop-subsection\", \"subsection\": \"lsr\"}"),
                 "[" SERIAL_D "]",
                 "error: rule 0 ('t'): section 'serial' (instance 0): drop-subsection 'lsr': "
                 "is a field, not a subsection (drop-field)");
    ASSERT_APPLY(ON_SERIAL("{\"op\": \"drop-field\", \"field\": \"msr\"}"), "[" SERIAL "]",
                 "error: rule 0 ('t'): section 'serial' (instance 0): drop-field 'msr': "
                 "no such field");
}

static void test_move(void)
{
    /* Into a struct (at its end), and out of it (before the subsections). */
    g_autofree char *in = apply(ON_SERIAL("{\"op\": \"move-field\", \"field\": \"lsr\", "
                                          "\"to\": \"fifo.lsr\"}"), "[" SERIAL_D "]");
    CU_ASSERT_PTR_NOT_NULL(strstr(in, "\"state\":{\"divider\":12,\"fifo\":{\"count\":2,"
                                      "\"data\":\"aabb\",\"lsr\":96},\"regs\":[1,2],"));
    CU_ASSERT_PTR_NOT_NULL(strstr(in, "{\"name\":\"data\",\"type\":\"buffer\",\"size\":2},"
                                      "{\"name\":\"lsr\",\"type\":\"uint8\",\"size\":1}]},"
                                      "\"size\":3}"));
    ASSERT_APPLY(ON_SERIAL("{\"op\": \"move-field\", \"field\": \"fifo.data\", \"to\": \"buf\"}"),
                 "[" SERIAL "]",
                 "[{\"name\":\"serial\",\"instance-id\":0,\"version-id\":3,\"state\":"
                 "{\"divider\":12,\"lsr\":96,\"fifo\":{\"count\":2},\"regs\":[1,2],"
                 "\"buf\":\"aabb\",\"serial/timeout\":{\"timeout\":5}}}]");
    ASSERT_APPLY(ON_SERIAL("{\"op\": \"move-field\", \"field\": \"lsr\", \"to\": \"divider\"}"),
                 "[" SERIAL "]",
                 "error: rule 0 ('t'): section 'serial' (instance 0): move-field 'lsr': "
                 "'divider' is already there");
    ASSERT_APPLY(ON_SERIAL("{\"op\": \"move-field\", \"field\": \"fifo\", \"to\": \"fifo.f\"}"),
                 "[" SERIAL "]",
                 "error: rule 0 ('t'): section 'serial' (instance 0): move-field 'fifo': "
                 "cannot move a struct into itself");
    ASSERT_APPLY(ON_SERIAL("{\"op\": \"move-field\", \"field\": \"lsr\", \"to\": \"regs.lsr\"}"),
                 "[" SERIAL_D "]",
                 "error: rule 0 ('t'): section 'serial' (instance 0): move-field 'lsr': "
                 "'regs' is not a struct");
}

static void test_add_and_types(void)
{
    ASSERT_APPLY(ON_SERIAL("{\"op\": \"add-field\", \"field\": \"fifo.max\", \"value\": 16}, "
                           "{\"op\": \"add-field\", \"field\": \"ier\", \"value\": 0, "
                           "\"after\": \"divider\"}"),
                 "[" SERIAL "]",
                 "[{\"name\":\"serial\",\"instance-id\":0,\"version-id\":3,\"state\":"
                 "{\"divider\":12,\"ier\":0,\"lsr\":96,\"fifo\":{\"count\":2,\"data\":\"aabb\","
                 "\"max\":16},\"regs\":[1,2],\"serial/timeout\":{\"timeout\":5}}}]");
    g_autofree char *d = apply(ON_SERIAL("{\"op\": \"add-field\", \"field\": \"scr\", "
                                         "\"value\": [1, 2, 3], \"type\": \"uint16\"}"),
                               "[" SERIAL_D "]");
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "\"regs\":[1,2],\"scr\":[1,2,3],\"serial/timeout\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "{\"name\":\"scr\",\"array_len\":3,\"type\":\"uint16\","
                                     "\"size\":2}],\"subsections\""));
    ASSERT_APPLY(ON_SERIAL("{\"op\": \"add-field\", \"field\": \"scr\", \"value\": 1}"),
                 "[" SERIAL_D "]",
                 "error: rule 0 ('t'): section 'serial' (instance 0): add-field 'scr': the "
                 "section has a description: give the field's \"type\"");
    ASSERT_APPLY(ON_SERIAL("{\"op\": \"add-field\", \"field\": \"scr\", \"value\": 256, "
                           "\"type\": \"uint8\"}"), "[" SERIAL "]",
                 "error: rule 0 ('t'): section 'serial' (instance 0): add-field 'scr': value 256 "
                 "does not fit uint8");
    ASSERT_APPLY(ON_SERIAL("{\"op\": \"add-field\", \"field\": \"scr\", \"value\": \"abc\", "
                           "\"type\": \"buffer\"}"), "[" SERIAL "]",
                 "error: rule 0 ('t'): section 'serial' (instance 0): add-field 'scr': a buffer "
                 "needs a string of hex digits");
    ASSERT_APPLY(ON_SERIAL("{\"op\": \"add-field\", \"field\": \"scr\", \"value\": 1, "
                           "\"after\": \"msr\"}"), "[" SERIAL "]",
                 "error: rule 0 ('t'): section 'serial' (instance 0): add-field 'scr': no field "
                 "'msr' to put it after");

    /* set-type: the value must fit; the description's type and size follow. */
    g_autofree char *t = apply(ON_SERIAL("{\"op\": \"set-type\", \"field\": \"divider\", "
                                         "\"type\": \"uint32\"}"), "[" SERIAL_D "]");
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "{\"name\":\"divider\",\"type\":\"uint32\",\"size\":4}"));
    ASSERT_APPLY(ON_SERIAL("{\"op\": \"set-type\", \"field\": \"regs\", \"type\": \"int8\"}"),
                 "[{\"name\":\"serial\",\"instance-id\":0,\"version-id\":3,\"state\":"
                 "{\"regs\":[1,200]}}]",
                 "error: rule 0 ('t'): section 'serial' (instance 0): set-type 'regs': [1]: value "
                 "200 does not fit int8");

    /* extract-field: little-endian integers out of a buffer. */
    ASSERT_APPLY(ON_SERIAL("{\"op\": \"extract-field\", \"field\": \"page\", \"to\": \"id\", "
                           "\"type\": \"uint8\", \"offset\": 3}, "
                           "{\"op\": \"extract-field\", \"field\": \"page\", \"to\": \"words\", "
                           "\"type\": \"uint16\", \"offset\": 0, \"count\": 2, \"stride\": 4}, "
                           "{\"op\": \"extract-field\", \"field\": \"page\", \"to\": \"neg\", "
                           "\"type\": \"int32\", \"offset\": 4, \"after\": \"page\"}"),
                 "[{\"name\":\"serial\",\"instance-id\":0,\"version-id\":3,\"state\":"
                 "{\"page\":\"01020304feffffff\"}}]",
                 "[{\"name\":\"serial\",\"instance-id\":0,\"version-id\":3,\"state\":"
                 "{\"page\":\"01020304feffffff\",\"neg\":-2,\"id\":4,\"words\":[513,65534]}}]");
    ASSERT_APPLY(ON_SERIAL("{\"op\": \"extract-field\", \"field\": \"page\", \"to\": \"x\", "
                           "\"type\": \"uint32\", \"offset\": 2, \"count\": 2, \"stride\": 4}"),
                 "[{\"name\":\"serial\",\"instance-id\":0,\"version-id\":3,\"state\":"
                 "{\"page\":\"01020304feffffff\"}}]",
                 "error: rule 0 ('t'): section 'serial' (instance 0): extract-field 'page': "
                 "2 x uint32 at offset 2 (stride 4) lie outside its 8 bytes");
    ASSERT_APPLY(ON_SERIAL("{\"op\": \"extract-field\", \"field\": \"lsr\", \"to\": \"x\", "
                           "\"type\": \"uint8\", \"offset\": 0}"), "[" SERIAL "]",
                 "error: rule 0 ('t'): section 'serial' (instance 0): extract-field 'lsr': "
                 "is not a buffer");
}

static void test_split_merge(void)
{
    const char *split = ON_SERIAL(
        "{\"op\": \"split\", \"into\": ["
        "{\"name\": \"serial-core\", \"fields\": [\"lsr\", \"divider\"]},"
        "{\"name\": \"serial-fifo\", \"vmsd-name\": \"serial\", \"version\": 1, "
        "\"fields\": [\"fifo\", \"regs\", \"serial/timeout\"]}]}");
    ASSERT_APPLY(split, "[" SERIAL "]",
                 "[{\"name\":\"serial-core\",\"instance-id\":0,\"version-id\":3,\"state\":"
                 "{\"divider\":12,\"lsr\":96}},"
                 "{\"name\":\"serial-fifo\",\"instance-id\":0,\"version-id\":1,\"state\":"
                 "{\"fifo\":{\"count\":2,\"data\":\"aabb\"},\"regs\":[1,2],"
                 "\"serial/timeout\":{\"timeout\":5}}}]");
    g_autofree char *d = apply(split, "[" SERIAL_D "]");
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "\"desc\":{\"name\":\"serial-core\",\"instance_id\":0,"
                                     "\"vmsd_name\":\"serial-core\",\"version\":3,\"fields\":"
                                     "[{\"name\":\"divider\",\"type\":\"uint16\",\"size\":2},"
                                     "{\"name\":\"lsr\",\"type\":\"uint8\",\"size\":1}]}}"));
    ASSERT_APPLY(ON_SERIAL("{\"op\": \"split\", \"into\": ["
                           "{\"name\": \"a\", \"fields\": [\"lsr\"]},"
                           "{\"name\": \"b\", \"fields\": [\"divider\"]}]}"),
                 "[" SERIAL "]",
                 "error: rule 0 ('t'): section 'serial' (instance 0): split: field 'fifo' goes "
                 "into none of the sections");
    ASSERT_APPLY(ON_SERIAL("{\"op\": \"split\", \"into\": ["
                           "{\"name\": \"a\", \"fields\": [\"lsr\"]},"
                           "{\"name\": \"b\", \"fields\": [\"lsr\"]}]}"),
                 "[" SERIAL "]",
                 "error: rule 0 ('t'): section 'serial' (instance 0): split: into[1]: field "
                 "'lsr' is already in into[0]");

    /* Merge puts them back together. */
    const char *merge =
        "{\"rules\": [{\"match\": {\"section\": \"serial-core\"}, \"actions\": [{\"op\": \"merge\","
        " \"with\": {\"section\": \"serial-fifo\"}, \"to\": \"serial\", \"version\": 3}]}]}";
    g_autofree char *parts = apply(split, "[" SERIAL "]");
    ASSERT_APPLY(merge, parts,
                 "[{\"name\":\"serial\",\"instance-id\":0,\"version-id\":3,\"state\":"
                 "{\"divider\":12,\"lsr\":96,\"fifo\":{\"count\":2,\"data\":\"aabb\"},"
                 "\"regs\":[1,2],\"serial/timeout\":{\"timeout\":5}}}]");
    g_autofree char *dparts = apply(split, "[" SERIAL_D "]");
    g_autofree char *back = apply(merge, dparts);
    g_autofree char *serial_d = apply("{\"rules\": []}", "[" SERIAL_D "]");
    ASSERT_STR_EQ(back, serial_d);
    ASSERT_APPLY(merge, "[" SERIAL "]", "[" SERIAL "]");      /* nothing matches */
    ASSERT_APPLY("{\"rules\": [{\"name\": \"m\", \"match\": {\"section\": \"serial\"}, "
                 "\"actions\": [{\"op\": \"merge\", \"with\": {\"section\": \"rtc\"}}]}]}",
                 "[" SERIAL "]",
                 "error: rule 0 ('m'): section 'serial' (instance 0): merge: no section 'rtc' "
                 "to merge with");
}

/* ---- streams ---- */

/* A stream of two sections: the test device "dev" and a serial-like "uart". */
static GBytes *make_stream(uint32_t extra)
{
    Dev d;
    dev_init(&d);
    d.extra = extra;
    GError *err = NULL;
    g_autoptr(QemuStreamBuilder) b = qemu_stream_builder_new("pc-i440fx-7.2");
    g_autoptr(QObject) devices = qlist_new();
    QObject *entry = qdict_new();
    qdict_put(entry, "name", qstring_from_str("dev"));
    qdict_put(entry, "instance_id", qnum_from_uint(0));
    ByteWriter w;
    byte_writer_init(&w);
    CU_ASSERT_TRUE(qemu_stream_save_device(&w, &vmstate_dev, &d, NULL, entry, &err));
    ASSERT_NO_ERROR(err);
    g_autoptr(GBytes) payload = byte_writer_take(&w);
    byte_writer_clear(&w);
    qlist_append(devices, entry);
    CU_ASSERT_TRUE(qemu_stream_builder_add_full(b, "dev", 0, 3, payload, &err));
    GBytes *bytes = qemu_stream_builder_finish(b, devices, &err);
    ASSERT_NO_ERROR(err);
    return bytes;
}

static GBytes *filter_bytes(const char *rules, GBytes *in, GError **errp)
{
    g_autoptr(Filter) f = filter_load(rules, strlen(rules), NULL, errp);
    g_autoptr(QemuStream) s = f ? qemu_stream_parse(in, errp) : NULL;
    return s ? filter_qemu_stream(f, s, errp) : NULL;
}

static void test_stream_round_trip(void)
{
    g_autoptr(GBytes) in = make_stream(0x55);
    GError *err = NULL;
    /* No rule that matches: the same bytes. */
    g_autoptr(GBytes) same = filter_bytes("{\"rules\": []}", in, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_TRUE(g_bytes_equal(same, in));

    /* Split, then merge: the same bytes again. */
    const char *split =
        "{\"rules\": [{\"match\": {\"section\": \"dev\"}, \"actions\": [{\"op\": \"split\", "
        "\"into\": [{\"name\": \"dev-ints\", \"version\": 1, \"fields\": [\"enabled\", \"i8\", "
        "\"i16\", \"i32\", \"i64\", \"u8\", \"u16\", \"u32\", \"u64\"]}, "
        "{\"name\": \"dev-rest\", \"vmsd-name\": \"dev\", \"fields\": [\"id\", \"mem\", "
        "\"unused\", \"arr\", \"regs\", \"banks\", \"count\", \"fifo\", \"queues\", \"added\", "
        "\"dev/extra\"]}]}]}]}";
    const char *merge =
        "{\"rules\": [{\"match\": {\"section\": \"dev-ints\"}, \"actions\": [{\"op\": \"merge\", "
        "\"with\": {\"section\": \"dev-rest\"}, \"to\": \"dev\", \"version\": 3}]}]}";
    g_autoptr(GBytes) two = filter_bytes(split, in, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(two);
    g_autoptr(QemuStream) s2 = qemu_stream_parse(two, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL_FATAL(qemu_stream_n_sections(s2), 2);
    const QemuStreamSection *a = qemu_stream_section(s2, 0), *b = qemu_stream_section(s2, 1);
    ASSERT_STR_EQ(a->name, "dev-ints");
    CU_ASSERT_EQUAL(a->version_id, 1);
    CU_ASSERT_EQUAL(a->section_id, qemu_stream_section(s2, 0)->section_id);
    ASSERT_STR_EQ(b->name, "dev-rest");
    CU_ASSERT_EQUAL(b->version_id, 3);
    CU_ASSERT_EQUAL(a->size + b->size, sizeof(DEV_BYTES));
    g_autofree char *sa = qobject_to_json(a->state, false);
    ASSERT_STR_EQ(sa, "{\"enabled\":true,\"i8\":-2,\"i16\":-300,\"i32\":-70000,\"i64\":-5,"
                      "\"u8\":200,\"u16\":48879,\"u32\":3735928559,\"u64\":72623859790382856}");
    g_autoptr(GBytes) back = filter_bytes(merge, two, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_TRUE(back && g_bytes_equal(back, in));

    /* Without the optional subsection, too. */
    g_autoptr(GBytes) in0 = make_stream(0);
    g_autoptr(GBytes) two0 = filter_bytes(split, in0, &err);
    ASSERT_NO_ERROR(err);
    g_autoptr(GBytes) back0 = two0 ? filter_bytes(merge, two0, &err) : NULL;
    ASSERT_NO_ERROR(err);
    CU_ASSERT_TRUE(back0 && g_bytes_equal(back0, in0));
}

static void test_stream_edit(void)
{
    g_autoptr(GBytes) in = make_stream(0x55);
    GError *err = NULL;
    /* Drop the subsection, rename a field, move one into a struct, retype one, add one. */
    const char *rules =
        "{\"rules\": [{\"match\": {\"section\": \"dev\", \"version\": 3}, \"actions\": ["
        "{\"op\": \"drop-subsection\", \"subsection\": \"dev/extra\"},"
        "{\"op\": \"rename-field\", \"field\": \"u8\", \"to\": \"byte\"},"
        "{\"op\": \"move-field\", \"field\": \"count\", \"to\": \"regs.count\"},"
        "{\"op\": \"set-type\", \"field\": \"u16\", \"type\": \"uint32\"},"
        "{\"op\": \"add-field\", \"field\": \"more\", \"value\": 258, \"type\": \"uint16\", "
        "\"after\": \"u64\"}]}]}";
    g_autoptr(GBytes) out = filter_bytes(rules, in, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    g_autoptr(QemuStream) s = qemu_stream_parse(out, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    g_autofree char *state = qobject_to_json(qemu_stream_section(s, 0)->state, false);
    ASSERT_STR_EQ(state, "{\"enabled\":true,\"i8\":-2,\"i16\":-300,\"i32\":-70000,\"i64\":-5,"
                         "\"byte\":200,\"u16\":48879,\"u32\":3735928559,\"u64\":72623859790382856,"
                         "\"more\":258,\"id\":7,\"mem\":\"aabbccdd\",\"unused\":\"0000\","
                         "\"arr\":[1,515,65535],\"regs\":{\"a\":9,\"b\":4660,\"count\":3},"
                         "\"banks\":[{\"a\":1,\"b\":2},{\"a\":3,\"b\":4}],\"fifo\":[16,17,18],"
                         "\"queues\":[{\"a\":5,\"b\":6},{\"a\":7,\"b\":8}],\"added\":287454020}");
    /* 2 bytes more for u16 -> uint32, 2 for "more"; the subsection's 15 + 4 bytes are gone. */
    CU_ASSERT_EQUAL(qemu_stream_section(s, 0)->size, sizeof(DEV_BYTES) + 2 + 2 - 19);

    /* A tree that does not fit its description is refused with the path. */
    const char *bad =
        "{\"rules\": [{\"match\": {\"section\": \"dev\"}, \"actions\": ["
        "{\"op\": \"set-type\", \"field\": \"fifo\", \"type\": \"buffer\"}]}]}";
    g_autoptr(GBytes) none = filter_bytes(bad, in, &err);
    CU_ASSERT_PTR_NULL(none);
    ASSERT_ERROR(err, "rule 0: section 'dev' (instance 0): set-type 'fifo': [0]: a buffer needs "
                      "a string of hex digits");
}

static const CuTest filter_tests[] = {
    { "rule file errors", test_load_errors },
    { "match", test_match },
    { "rename section and field", test_rename },
    { "drop field and subsection", test_drop },
    { "move field", test_move },
    { "add field, set type, extract", test_add_and_types },
    { "split and merge", test_split_merge },
    { "stream: split and merge round trip", test_stream_round_trip },
    { "stream: edits", test_stream_edit },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "filter", filter_tests },
    { NULL, NULL },
};

CUTEST_MAIN(suites)

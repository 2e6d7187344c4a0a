/*
 * Real QEMU 7.2 migration streams (tests/fixtures/NAME.mig.gz) against
 * lib/qemu-stream/qemu-stream.c:
 *
 *   - every fixture parses, every section decoded, nothing unknown: streams
 *     with old-style sections (slirp), duplicate sections (four slirp
 *     sections, all instance 0), many device models, a pc-i440fx-2.0 stream
 *     without vmdesc, configuration section or footers (decoded with its
 *     twin's vmdesc), and a xen-save-devices-state file (decoded with the
 *     vmdesc of a migration stream of the same paused VM);
 *   - the section list is the one QEMU wrote (NAME.facts.json "sections");
 *   - parse + write gives the input back byte for byte;
 *   - chosen fields decoded from the stream equal what QEMU reported over
 *     QMP when the stream was made (NAME.facts.json): machine, capabilities,
 *     UUID, RAM blocks, RTC date, PCI identity of every device, the MAC of
 *     every NIC vmscope can see it in, the run state, CPU registers, the
 *     devices' sections, the slirp sections;
 *   - warnings and `check` findings are exactly the expected ones;
 *   - broken streams (truncated at every section boundary and at random
 *     offsets, corrupted lengths and tags, a vmdesc that lies, descriptions
 *     a byte short, random byte flips) fail with a clear error naming the
 *     offset, never a crash.
 *
 * Usage: test-stream-fixtures [DIR]   (default: $top_srcdir/tests/fixtures)
 */
#include "config.h"

#include <inttypes.h>
#include <time.h>

#include "cutest.h"
#include "qemu-stream-test.h"
#include "stream-fixture.h"
#include "vmscope/bytes.h"
#include "vmscope/qemu-stream.h"

static char *fixtures_dir;

/* A check that says which fixture failed. */
#define CHECK(fixture, cond, ...)                                               \
    do {                                                                        \
        bool ok_ = (cond);                                                      \
        if (!ok_) {                                                             \
            fprintf(stderr, "\n%s:%d: %s: ", __FILE__, __LINE__, (fixture));    \
            fprintf(stderr, __VA_ARGS__);                                       \
            fprintf(stderr, "\n");                                              \
        }                                                                       \
        CU_ASSERT_TRUE(ok_);                                                    \
    } while (0)

/* A fixture's facts say true for `key`; `dflt` when they do not say. */
static bool fact_flag(const QObject *facts, const char *key, bool dflt)
{
    bool v = dflt;
    return qbool_get(qdict_get(facts, key), &v) ? v : dflt;
}

/*
 * The descriptions a fixture is read with: NULL (its own vmdesc), or, for a
 * stream QEMU wrote without one, its twin's (facts "twin").
 */
static QObject *fixture_desc(const char *name)
{
    g_autoptr(QObject) facts = fixture_facts(fixtures_dir, name);
    if (fact_flag(facts, "vmdesc", true)) {
        return NULL;
    }
    const char *twin = qdict_get_str(facts, "twin");
    CU_ASSERT_PTR_NOT_NULL_FATAL(twin);
    g_autoptr(GBytes) donor = fixture_stream(fixtures_dir, twin);
    GError *err = NULL;
    QObject *desc = qemu_stream_load_desc(donor, &err);
    ASSERT_NO_ERROR(err);
    return desc;
}

static QemuStream *parse_with(const char *what, GBytes *data, QObject *desc)
{
    QemuStreamOptions opts = { .desc = desc };
    GError *err = NULL;
    QemuStream *s = qemu_stream_parse_with(data, &opts, &err);
    if (!s) {
        fprintf(stderr, "\n%s: %s\n", what, err->message);
        g_error_free(err);
    }
    return s;
}

static QemuStream *parse_fixture(const char *name, GBytes **data_out)
{
    g_autoptr(GBytes) data = fixture_stream(fixtures_dir, name);
    g_autoptr(QObject) desc = fixture_desc(name);
    QemuStream *s = parse_with(name, data, desc);
    if (s && data_out) {
        *data_out = g_bytes_ref(data);
    }
    return s;
}

/* DIR/NAME.devstate.gz, the device-state file of a fixture, gunzipped. */
static GBytes *fixture_devstate(const char *name)
{
    g_autofree char *file = g_strdup_printf("%s.devstate.gz", name);
    g_autofree char *path = g_build_filename(fixtures_dir, file, NULL);
    GError *err = NULL;
    GBytes *b = fixture_gunzip(path, &err);
    ASSERT_NO_ERROR(err);
    return b;
}

static uint64_t uint_of(const QObject *o)
{
    uint64_t v = UINT64_MAX;
    return qnum_get_uint(o, &v) ? v : UINT64_MAX;
}

static QObject *state_of(const QemuStream *s, const char *name, uint32_t instance)
{
    const QemuStreamSection *sec = qemu_stream_find_section(s, name, instance);
    return sec ? sec->state : NULL;
}

/*
 * The PCI config space ("pci config" field, hex) anywhere in a device state.
 * virtio-pci devices save theirs inside the opaque "virtio" blob, after the
 * be32 PCIDevice version (virtio_pci_save_config -> pci_device_save).
 */
static const char *pci_config_hex(const QObject *state)
{
    if (qobject_type(state) != QTYPE_DICT) {
        return NULL;
    }
    qdict_foreach(state, key, val) {
        const char *str = qstring_get(val);
        if (g_str_has_prefix(key, "config") && str && strlen(str) >= 512) {
            return str;
        }
        if (strcmp(key, "virtio") == 0 && str && strlen(str) >= 2 * (4 + 256)) {
            return str + 2 * 4;
        }
        const char *found = pci_config_hex(val);
        if (found) {
            return found;
        }
    }
    return NULL;
}

/*
 * The device section of PCI function 0000:00:SS.F, or NULL: of the FULL
 * sections named "0000:00:SS.F/..." (one device can write several: an
 * i82559er writes ".../eeprom" before its own), the one that carries a PCI
 * config space.  *count: how many of them do (one, for a precise answer).
 */
static const QemuStreamSection *pci_section(const QemuStream *s, uint64_t slot, uint64_t fn,
                                            size_t *count)
{
    g_autofree char *prefix = g_strdup_printf("0000:00:%02" PRIx64 ".%" PRIx64 "/", slot, fn);
    const QemuStreamSection *found = NULL;
    *count = 0;
    for (size_t i = 0; i < qemu_stream_n_sections(s); i++) {
        const QemuStreamSection *sec = qemu_stream_section(s, i);
        if (sec->type == QEMU_VM_SECTION_FULL && g_str_has_prefix(sec->name, prefix) &&
            !strchr(sec->name + strlen(prefix), '/') && pci_config_hex(sec->state)) {
            found = found ? found : sec;
            (*count)++;
        }
    }
    return found;
}

/* Byte i of a hex buffer (0 past a malformed one: the checks that use it then fail). */
static unsigned hex_byte(const char *hex, size_t i)
{
    uint8_t b = 0;
    size_t bad;
    return strlen(hex) >= 2 * i + 2 && hex_decode(hex + 2 * i, &b, 1, &bad) ? b : 0;
}

static unsigned bcd(unsigned v)
{
    return (v >> 4) * 10 + (v & 15);
}

/* ---- parse, nothing unknown, byte-identical round trip ------------------- */

static uint64_t header_offset(const QemuStreamSection *sec)
{
    if (sec->type == QEMU_VM_SECTION_FULL || sec->type == QEMU_VM_SECTION_START) {
        return sec->offset - (1 + 4 + 1 + strlen(sec->name) + 4 + 4);
    }
    return sec->offset - 5;
}

static const QemuStreamSection *section_by_id(const QemuStream *s, uint32_t id)
{
    for (size_t i = 0; i < qemu_stream_n_sections(s); i++) {
        const QemuStreamSection *sec = qemu_stream_section(s, i);
        if (sec->section_id == id && sec->type != QEMU_VM_SECTION_PART &&
            sec->type != QEMU_VM_SECTION_END) {
            return sec;
        }
    }
    return NULL;
}

/*
 * The section headers QEMU wrote (facts "sections": the START and FULL
 * sections in order), and old-style sections decoded as QEMU's analyzer
 * does: {"data": their bytes}.
 */
static void check_sections(const char *name, const QemuStream *s, QObject *list)
{
    size_t k = 0;
    for (size_t i = 0; i < qemu_stream_n_sections(s); i++) {
        const QemuStreamSection *sec = qemu_stream_section(s, i);
        if (sec->type == QEMU_VM_SECTION_PART || sec->type == QEMU_VM_SECTION_END) {
            continue;
        }
        QObject *want = qlist_get(list, k++);
        CU_ASSERT_PTR_NOT_NULL_FATAL(want);
        CHECK(name, sec->section_id == uint_of(qdict_get(want, "section-id")) &&
              strcmp(sec->name, qdict_get_str(want, "idstr")) == 0 &&
              sec->instance_id == uint_of(qdict_get(want, "instance")) &&
              sec->version_id == uint_of(qdict_get(want, "version")) &&
              strcmp(qemu_section_type_name(sec->type), qdict_get_str(want, "type")) == 0,
              "section %zu is %s (id %u, instance %u, version %u), QEMU wrote %s", i, sec->name,
              sec->section_id, sec->instance_id, sec->version_id,
              qobject_to_json(want, false));
        if (sec->type != QEMU_VM_SECTION_FULL) {
            continue;
        }
        CHECK(name, sec->size == uint_of(qdict_get(want, "size")), "section %s: size %" PRIu64,
              sec->name, sec->size);
        bool old_style = fact_flag(want, "old-style", false);
        if (old_style) {
            g_autofree char *hex = hex_encode(g_bytes_get_data(sec->payload, NULL), sec->size);
            CHECK(name, qdict_size(sec->state) == 1 &&
                  g_strcmp0(qdict_get_str(sec->state, "data"), hex) == 0,
                  "old-style section %s (id %u) is not {\"data\": its bytes}", sec->name,
                  sec->section_id);
        }
    }
    CHECK(name, k == qlist_size(list), "%zu sections, QEMU wrote %zu", k, qlist_size(list));
}

/*
 * The warnings (and `check` findings) a clean stream of these sections
 * gives: one for each idstr and instance id of several FULL sections, at
 * the first one's header.
 */
static GPtrArray *expected_warnings(const QemuStream *s, QObject *list)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    for (size_t i = 0; i < qlist_size(list); i++) {
        QObject *first = qlist_get(list, i);
        const char *idstr = qdict_get_str(first, "idstr");
        uint64_t instance = uint_of(qdict_get(first, "instance"));
        bool seen_before = false;
        g_autoptr(GString) ids = g_string_new(NULL);
        size_t count = 0;
        for (size_t k = 0; k < qlist_size(list); k++) {
            QObject *x = qlist_get(list, k);
            if (strcmp(qdict_get_str(x, "type"), "full") == 0 &&
                strcmp(qdict_get_str(x, "idstr"), idstr) == 0 &&
                uint_of(qdict_get(x, "instance")) == instance) {
                seen_before |= k < i;
                g_string_append_printf(ids, "%s%" PRIu64, count++ ? ", " : "",
                                       uint_of(qdict_get(x, "section-id")));
            }
        }
        if (count > 1 && !seen_before) {
            const QemuStreamSection *sec = section_by_id(s, (uint32_t)uint_of(
                                                         qdict_get(first, "section-id")));
            CU_ASSERT_PTR_NOT_NULL_FATAL(sec);
            g_ptr_array_add(out, g_strdup_printf("offset %" PRIu64 ": section '%s' instance %"
                                                 PRIu64 ": %zu sections (ids %s): a destination"
                                                 " QEMU would load all of them into one device",
                                                 header_offset(sec), idstr, instance, count,
                                                 ids->str));
        }
    }
    return out;
}

static char *lines(GPtrArray *strings)
{
    GString *out = g_string_new(NULL);
    for (guint i = 0; i < strings->len; i++) {
        g_string_append_printf(out, "%s\n", (const char *)g_ptr_array_index(strings, i));
    }
    return g_string_free(out, FALSE);
}

static void test_parse_all(void)
{
    g_autoptr(GPtrArray) names = fixture_names(fixtures_dir);
    CU_ASSERT_TRUE_FATAL(names->len >= 13);
    for (guint i = 0; i < names->len; i++) {
        const char *name = g_ptr_array_index(names, i);
        g_autoptr(QObject) facts = fixture_facts(fixtures_dir, name);
        g_autoptr(GBytes) data = NULL;
        g_autoptr(QemuStream) s = parse_fixture(name, &data);
        CHECK(name, s != NULL, "does not parse");
        if (!s) {
            continue;
        }
        bool footers = fact_flag(facts, "footers", true);
        size_t full = 0, ram = 0;
        uint64_t prev_end = 0;
        for (size_t k = 0; k < qemu_stream_n_sections(s); k++) {
            const QemuStreamSection *sec = qemu_stream_section(s, k);
            CHECK(name, sec->type >= QEMU_VM_SECTION_START && sec->type <= QEMU_VM_SECTION_FULL,
                  "section %zu has type %u", k, sec->type);
            CHECK(name, qobject_type(sec->state) == QTYPE_DICT, "section %s not decoded",
                  sec->name);
            CHECK(name, sec->has_footer == footers, "section %s: footer %d", sec->name,
                  sec->has_footer);
            CHECK(name, sec->offset > prev_end, "section %s out of order", sec->name);
            CHECK(name, g_bytes_get_size(sec->payload) == sec->size, "payload size");
            size_t n;
            const uint8_t *d = g_bytes_get_data(data, &n);
            CHECK(name, sec->offset + sec->size <= n &&
                  memcmp(d + sec->offset, g_bytes_get_data(sec->payload, NULL), sec->size) == 0,
                  "section %s: payload is not the input's bytes at its offset", sec->name);
            prev_end = sec->offset + sec->size;
            full += sec->type == QEMU_VM_SECTION_FULL;
            ram += strcmp(sec->name, "ram") == 0;
        }
        if (fact_flag(facts, "vmdesc", true)) {
            QObject *devices = qdict_get(qemu_stream_vmdesc(s), "devices");
            CHECK(name, full == qlist_size(devices), "%zu FULL sections, %zu vmdesc devices",
                  full, qlist_size(devices));
        } else {
            CHECK(name, qemu_stream_vmdesc(s) == NULL, "a vmdesc QEMU did not write");
        }
        CHECK(name, ram >= 2, "only %zu RAM sections", ram);
        CHECK(name, full + ram == qemu_stream_n_sections(s), "sections other than RAM and FULL");

        /* Warnings: exactly the duplicates. */
        QObject *list = qdict_get(facts, "sections");
        g_autoptr(GPtrArray) want = list ? expected_warnings(s, list)
                                         : g_ptr_array_new_with_free_func(g_free);
        g_autofree char *got_text = warning_lines(s), *want_text = lines(want);
        ASSERT_STR_EQ(got_text, want_text);
        /* `check` finds just that. */
        g_autoptr(QObject) desc = fixture_desc(name);
        expect_findings(data, desc, want_text);
        if (list) {
            check_sections(name, s, list);
        }
    }
}

static void test_round_trip(void)
{
    g_autoptr(GPtrArray) names = fixture_names(fixtures_dir);
    for (guint i = 0; i < names->len; i++) {
        const char *name = g_ptr_array_index(names, i);
        g_autoptr(GBytes) data = NULL;
        g_autoptr(QemuStream) s = parse_fixture(name, &data);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        g_autoptr(GBytes) out = qemu_stream_write(s);
        CHECK(name, g_bytes_equal(out, data), "written stream differs from the input");
    }
}

/* ---- decoded fields against what QEMU said ------------------------------- */

static void check_configuration(const char *name, const QemuStream *s, const QObject *facts)
{
    QObject *config = qemu_stream_configuration(s);
    const char *type = qdict_get_str(facts, "machine-type");
    if (strcmp(type, "pc-i440fx-2.0-machine") == 0) {
        /* Machines of QEMU 2.0 send no configuration section. */
        CHECK(name, config == NULL, "a configuration section on %s", type);
        return;
    }
    g_autofree char *machine = g_strdup_printf("%s-machine", qdict_get_str(config, "name"));
    CHECK(name, strcmp(machine, type) == 0, "machine %s, QEMU says %s", machine, type);

    bool fact_ignore = false, stream_ignore = false;
    QObject *caps = qdict_get(facts, "capabilities");
    for (size_t i = 0; i < qlist_size(caps); i++) {
        fact_ignore |= strcmp(qstring_get(qlist_get(caps, i)), "x-ignore-shared") == 0;
    }
    caps = qdict_get(config, "capabilities");
    for (size_t i = 0; i < qlist_size(caps); i++) {
        stream_ignore |= strcmp(qstring_get(qlist_get(caps, i)), "x-ignore-shared") == 0;
    }
    CHECK(name, fact_ignore == stream_ignore, "x-ignore-shared: QEMU %d, stream %d", fact_ignore,
          stream_ignore);

    const char *uuid = qdict_get_str(facts, "uuid");
    if (uuid) {
        g_autofree char *hex = g_strdup(uuid);
        char *w = hex;
        for (const char *r = uuid; *r; r++) {
            if (*r != '-') {
                *w++ = *r;
            }
        }
        *w = '\0';
        const char *got = qdict_get_str(config, "uuid");
        CHECK(name, got && strcmp(got, hex) == 0, "uuid %s, QEMU says %s", got, uuid);
    }
}

static void check_ram_blocks(const char *name, const QemuStream *s, const QObject *facts)
{
    const QemuStreamSection *ram = qemu_stream_find_section(s, "ram", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ram);
    QObject *blocks = qdict_get(ram->state, "blocks");
    QObject *want = qdict_get(facts, "ram-blocks");
    CHECK(name, qlist_size(blocks) == qlist_size(want), "%zu RAM blocks, QEMU lists %zu",
          qlist_size(blocks), qlist_size(want));
    for (size_t i = 0; i < qlist_size(want) && i < qlist_size(blocks); i++) {
        QObject *b = qlist_get(blocks, i), *w = qlist_get(want, i);
        CHECK(name, strcmp(qdict_get_str(b, "name"), qdict_get_str(w, "name")) == 0 &&
              uint_of(qdict_get(b, "used-length")) == uint_of(qdict_get(w, "used")),
              "RAM block %zu: %s/%" PRIu64 ", QEMU says %s/%" PRIu64, i,
              qdict_get_str(b, "name"), uint_of(qdict_get(b, "used-length")),
              qdict_get_str(w, "name"), uint_of(qdict_get(w, "used")));
    }
}

static void check_rtc(const char *name, const QemuStream *s, const QObject *facts)
{
    QObject *rtc = state_of(s, "mc146818rtc", 0);
    QObject *tm = qdict_get(facts, "rtc-time");
    struct tm t = {
        .tm_year = (int)uint_of(qdict_get(tm, "tm_year")),
        .tm_mon = (int)uint_of(qdict_get(tm, "tm_mon")),
        .tm_mday = (int)uint_of(qdict_get(tm, "tm_mday")),
        .tm_hour = (int)uint_of(qdict_get(tm, "tm_hour")),
        .tm_min = (int)uint_of(qdict_get(tm, "tm_min")),
        .tm_sec = (int)uint_of(qdict_get(tm, "tm_sec")),
    };
    uint64_t base = uint_of(qdict_get(rtc, "base_rtc"));
    CHECK(name, base == (uint64_t)timegm(&t), "base_rtc %" PRIu64 ", QEMU's date is %" PRIu64,
          base, (uint64_t)timegm(&t));
    const char *cmos = qdict_get_str(rtc, "cmos_data");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cmos);
    CHECK(name, bcd(hex_byte(cmos, 0)) == (unsigned)t.tm_sec &&
          bcd(hex_byte(cmos, 2)) == (unsigned)t.tm_min &&
          bcd(hex_byte(cmos, 4)) == (unsigned)t.tm_hour &&
          bcd(hex_byte(cmos, 7)) == (unsigned)t.tm_mday &&
          bcd(hex_byte(cmos, 8)) == (unsigned)t.tm_mon + 1 &&
          bcd(hex_byte(cmos, 9)) == (unsigned)t.tm_year % 100,
          "CMOS clock registers %.20s disagree with QEMU's date", cmos);
}

static void check_pci(const char *name, const QemuStream *s, const QObject *facts)
{
    QObject *pci = qdict_get(facts, "pci");
    CU_ASSERT_TRUE(qlist_size(pci) >= 5);
    for (size_t i = 0; i < qlist_size(pci); i++) {
        QObject *dev = qlist_get(pci, i);
        uint64_t slot = uint_of(qdict_get(dev, "slot")), fn = uint_of(qdict_get(dev, "function"));
        size_t count;
        const QemuStreamSection *sec = pci_section(s, slot, fn, &count);
        CHECK(name, count == 1, "%zu sections with a PCI config for PCI 00:%02" PRIx64 ".%"
              PRIx64, count, slot, fn);
        if (!sec) {
            continue;
        }
        const char *cfg = pci_config_hex(sec->state);
        unsigned vendor = hex_byte(cfg, 0) | hex_byte(cfg, 1) << 8;
        unsigned device = hex_byte(cfg, 2) | hex_byte(cfg, 3) << 8;
        unsigned class = hex_byte(cfg, 0x0a) | hex_byte(cfg, 0x0b) << 8;
        unsigned pin = hex_byte(cfg, 0x3d);
        CHECK(name, vendor == uint_of(qdict_get(dev, "vendor")) &&
              device == uint_of(qdict_get(dev, "device")) &&
              class == uint_of(qdict_get(dev, "class")) &&
              pin == uint_of(qdict_get(dev, "irq_pin")),
              "%s: PCI id %04x:%04x class %04x pin %u disagree with QEMU", sec->name, vendor,
              device, class, pin);
        if (qdict_haskey(dev, "irq")) {
            CHECK(name, hex_byte(cfg, 0x3c) == uint_of(qdict_get(dev, "irq")), "%s: irq",
                  sec->name);
        }
    }
}

static void check_nic(const char *name, const QemuStream *s, const QObject *facts)
{
    QObject *pci = qdict_get(facts, "pci");
    const char *mac = qdict_get_str(qlist_get(qdict_get(facts, "nics"), 0), "mac");
    unsigned m[6];
    CU_ASSERT_EQUAL_FATAL(sscanf(mac, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4],
                                 &m[5]), 6);
    const QemuStreamSection *sec = NULL;
    for (size_t i = 0; i < qlist_size(pci); i++) {
        QObject *dev = qlist_get(pci, i);
        size_t count;
        if (strcmp(qdict_get_str(dev, "qdev_id"), "nic0") == 0) {
            sec = pci_section(s, uint_of(qdict_get(dev, "slot")),
                              uint_of(qdict_get(dev, "function")), &count);
        }
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(sec);
    CU_ASSERT_TRUE(g_str_has_suffix(sec->name, "/e1000"));
    /* The EEPROM holds the MAC as three little-endian words... */
    QObject *eeprom = qdict_get(sec->state, "eeprom_data");
    for (unsigned w = 0; w < 3; w++) {
        CHECK(name, uint_of(qlist_get(eeprom, w)) == (m[2 * w] | m[2 * w + 1] << 8),
              "eeprom_data[%u] disagrees with MAC %s", w, mac);
    }
    /* ...and receive address 0 (mac_reg[RA]) as RAL0/RAH0 with "address valid". */
    QObject *ra = qdict_get(sec->state, "mac_reg[0]");
    CHECK(name, uint_of(qlist_get(ra, 0)) ==
          ((uint64_t)m[0] | m[1] << 8 | m[2] << 16 | (uint64_t)m[3] << 24) &&
          uint_of(qlist_get(ra, 1)) == (0x80000000u | m[4] | m[5] << 8),
          "RA registers disagree with MAC %s", mac);
}

static void check_runstate(const char *name, const QemuStream *s, const QObject *facts)
{
    QObject *gs = state_of(s, "globalstate", 0);
    const char *hex = qdict_get_str(gs, "runstate");
    const char *status = qdict_get_str(facts, "status");
    GString *runstate = g_string_new(NULL);
    for (size_t i = 0; hex && hex[2 * i] && hex_byte(hex, i); i++) {
        g_string_append_c(runstate, (char)hex_byte(hex, i));
    }
    CHECK(name, strcmp(runstate->str, status) == 0, "run state '%s', QEMU says '%s'",
          runstate->str, status);
    CHECK(name, uint_of(qdict_get(gs, "size")) == strlen(status) + 1, "runstate size");
    g_string_free(runstate, TRUE);
}

static void check_registers(const char *name, const QemuStream *s, const QObject *facts)
{
    QObject *cpu = state_of(s, "cpu", 0);
    QObject *regs = qdict_get(facts, "registers");
    QObject *gpr = qdict_get(cpu, "env.regs");
    static const char *const order[] = { "EAX", "ECX", "EDX", "EBX" };
    for (size_t i = 0; i < G_N_ELEMENTS(order); i++) {
        CHECK(name, uint_of(qlist_get(gpr, i)) == uint_of(qdict_get(regs, order[i])),
              "env.regs[%zu] disagrees with %s", i, order[i]);
    }
    CHECK(name, uint_of(qdict_get(cpu, "env.eip")) == uint_of(qdict_get(regs, "EIP")), "EIP");
    CHECK(name, uint_of(qdict_get(cpu, "env.eflags")) == uint_of(qdict_get(regs, "EFL")), "EFL");
    CHECK(name, uint_of(qdict_get(cpu, "env.cr[0]")) == uint_of(qdict_get(regs, "CR0")), "CR0");
}

/*
 * Where a NIC model keeps its MAC in its section: a member, or "STRUCT/MEMBER"
 * (virtio-net keeps it in an opaque "virtio" blob).
 */
typedef enum { MAC_HEX, MAC_BYTES, MAC_EEPROM_WORDS } MacKind;
static const struct {
    const char *model, *member;
    MacKind kind;
} mac_fields[] = {
    { "e1000", "eeprom_data", MAC_EEPROM_WORDS },
    { "e1000e", "core.permanent_mac", MAC_BYTES },
    { "rtl8139", "phys", MAC_HEX },
    { "rtl8139", "conf.macaddr", MAC_HEX },
    { "i82559er", "conf.macaddr", MAC_HEX },
    { "pcnet", "state/prom", MAC_HEX },
};

static bool mac_matches(const QObject *v, MacKind kind, const unsigned m[6])
{
    switch (kind) {
    case MAC_HEX: {
        g_autofree char *hex = g_strdup_printf("%02x%02x%02x%02x%02x%02x", m[0], m[1], m[2],
                                               m[3], m[4], m[5]);
        return g_str_has_prefix(qstring_get(v) ? qstring_get(v) : "", hex);
    }
    case MAC_BYTES:
        for (unsigned i = 0; i < 6; i++) {
            if (uint_of(qlist_get(v, i)) != m[i]) {
                return false;
            }
        }
        return qlist_size(v) == 6;
    case MAC_EEPROM_WORDS:
        for (unsigned w = 0; w < 3; w++) {
            if (uint_of(qlist_get(v, w)) != (m[2 * w] | m[2 * w + 1] << 8)) {
                return false;
            }
        }
        return true;
    }
    return false;
}

/*
 * Every NIC QEMU listed (facts "nics" with their model): its MAC in its
 * device's section, where the model keeps it there.
 */
static void check_nics(const char *name, const QemuStream *s, const QObject *facts)
{
    QObject *nics = qdict_get(facts, "nics"), *devices = qdict_get(facts, "devices");
    for (size_t i = 0; i < qlist_size(nics); i++) {
        QObject *nic = qlist_get(nics, i);
        const char *type = qdict_get_str(nic, "type"), *id = qdict_get_str(nic, "qdev-id");
        unsigned m[6];
        if (!type || strcmp(type, "virtio-net-pci") == 0) {
            continue;       /* base facts (check_nic), or a MAC vmscope cannot see */
        }
        CU_ASSERT_EQUAL_FATAL(sscanf(qdict_get_str(nic, "mac"), "%x:%x:%x:%x:%x:%x", &m[0],
                                     &m[1], &m[2], &m[3], &m[4], &m[5]), 6);
        QObject *dev_sections = NULL;
        for (size_t k = 0; k < qlist_size(devices); k++) {
            if (strcmp(qdict_get_str(qlist_get(devices, k), "id"), id) == 0) {
                dev_sections = qdict_get(qlist_get(devices, k), "sections");
            }
        }
        size_t checked = 0;
        for (size_t f = 0; f < G_N_ELEMENTS(mac_fields); f++) {
            if (strcmp(mac_fields[f].model, type) != 0) {
                continue;
            }
            QObject *v = NULL;
            g_auto(GStrv) path = g_strsplit(mac_fields[f].member, "/", 2);
            for (size_t k = 0; k < qlist_size(dev_sections) && !v; k++) {
                v = state_of(s, qstring_get(qlist_get(dev_sections, k)), 0);
                for (char **part = path; v && *part; part++) {
                    v = qdict_get(v, *part);
                }
            }
            CHECK(name, v && mac_matches(v, mac_fields[f].kind, m), "%s (%s): %s disagrees"
                  " with MAC %s", id, type, mac_fields[f].member, qdict_get_str(nic, "mac"));
            checked++;
        }
        CHECK(name, checked > 0, "%s: no MAC field known for model %s", id, type);
    }
}

/*
 * Every -device QEMU was given makes the sections it must (facts
 * "devices"), and the stream has as many slirp sections as -netdev user
 * backends QEMU listed.
 */
static void check_devices(const char *name, const QemuStream *s, const QObject *facts)
{
    QObject *devices = qdict_get(facts, "devices");
    for (size_t i = 0; i < qlist_size(devices); i++) {
        QObject *sections = qdict_get(qlist_get(devices, i), "sections");
        for (size_t k = 0; k < qlist_size(sections); k++) {
            const char *idstr = qstring_get(qlist_get(sections, k));
            CHECK(name, qemu_stream_find_section(s, idstr, 0) != NULL, "device %s: no section"
                  " '%s'", qdict_get_str(qlist_get(devices, i), "id"), idstr);
        }
    }
    size_t slirp = 0;
    for (size_t i = 0; i < qemu_stream_n_sections(s); i++) {
        slirp += strcmp(qemu_stream_section(s, i)->name, "slirp") == 0;
    }
    QObject *netdevs = qdict_get(facts, "netdevs");
    CHECK(name, slirp == qlist_size(netdevs), "%zu slirp sections, QEMU lists %zu user"
          " netdevs", slirp, qlist_size(netdevs));
    if (qdict_haskey(facts, "slirp-sections")) {
        CHECK(name, slirp == uint_of(qdict_get(facts, "slirp-sections")), "slirp sections");
    }
}

static void test_facts(void)
{
    g_autoptr(GPtrArray) names = fixture_names(fixtures_dir);
    for (guint i = 0; i < names->len; i++) {
        const char *name = g_ptr_array_index(names, i);
        g_autoptr(QemuStream) s = parse_fixture(name, NULL);
        g_autoptr(QObject) facts = fixture_facts(fixtures_dir, name);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        check_configuration(name, s, facts);
        check_ram_blocks(name, s, facts);
        check_rtc(name, s, facts);
        check_pci(name, s, facts);
        check_nic(name, s, facts);
        check_nics(name, s, facts);
        check_devices(name, s, facts);
        check_runstate(name, s, facts);
        check_registers(name, s, facts);
    }
}

/* ---- broken streams ------------------------------------------------------ */

/* Parsing must fail with "offset N: ..." where N <= the data's length. */
static void expect_offset_error_with(const char *what, GBytes *data, QObject *desc)
{
    QemuStreamOptions opts = { .desc = desc };
    GError *err = NULL;
    g_autoptr(QemuStream) s = qemu_stream_parse_with(data, &opts, &err);
    CHECK(what, s == NULL, "parsed although broken");
    if (!err) {
        return;
    }
    char *end = NULL;
    uint64_t off = g_str_has_prefix(err->message, "offset ")
                   ? g_ascii_strtoull(err->message + 7, &end, 10) : UINT64_MAX;
    CHECK(what, end && g_str_has_prefix(end, ": ") && off <= g_bytes_get_size(data),
          "error without a plausible offset: %s", err->message);
    g_error_free(err);
}

static void expect_offset_error(const char *what, GBytes *data)
{
    expect_offset_error_with(what, data, NULL);
}

static void expect_error(GBytes *data, const char *message)
{
    expect_parse_error_desc(data, NULL, message);
}

/* data[0..cut) + data[from..end) */
static GBytes *splice(GBytes *data, size_t cut, size_t from)
{
    size_t n;
    const uint8_t *d = g_bytes_get_data(data, &n);
    GByteArray *a = g_byte_array_new();
    g_byte_array_append(a, d, (guint)cut);
    g_byte_array_append(a, d + from, (guint)(n - from));
    return g_byte_array_free_to_bytes(a);
}

static GBytes *patched(GBytes *data, size_t at, const void *bytes, size_t len)
{
    size_t n;
    const uint8_t *d = g_bytes_get_data(data, &n);
    uint8_t *copy = g_malloc(n);
    memcpy(copy, d, n);
    memcpy(copy + at, bytes, len);
    return g_bytes_new_take(copy, n);
}

/* A fixture whose vmdesc was changed by `edit`. */
static GBytes *with_vmdesc(GBytes *data, const QemuStream *s, QObject *vmdesc)
{
    size_t eof = qemu_stream_eof_offset(s);
    g_autofree char *json = qobject_to_json(vmdesc, false);
    size_t len = strlen(json);
    GByteArray *a = g_byte_array_new();
    uint8_t tag[5] = { QEMU_VM_VMDESCRIPTION, (uint8_t)(len >> 24), (uint8_t)(len >> 16),
                       (uint8_t)(len >> 8), (uint8_t)len };
    g_byte_array_append(a, g_bytes_get_data(data, NULL), (guint)eof + 1);
    g_byte_array_append(a, tag, 5);
    g_byte_array_append(a, (const uint8_t *)json, (guint)len);
    return g_byte_array_free_to_bytes(a);
}

static QObject *vmdesc_device(QObject *vmdesc, const char *name)
{
    QObject *list = qdict_get(vmdesc, "devices");
    for (size_t i = 0; i < qlist_size(list); i++) {
        if (strcmp(qdict_get_str(qlist_get(list, i), "name"), name) == 0) {
            return qlist_get(list, i);
        }
    }
    g_assert_not_reached();
}

static QObject *vmdesc_field(QObject *desc, const char *name, size_t *index)
{
    QObject *fields = qdict_get(desc, "fields");
    for (size_t i = 0; i < qlist_size(fields); i++) {
        if (strcmp(qdict_get_str(qlist_get(fields, i), "name"), name) == 0) {
            if (index) {
                *index = i;
            }
            return qlist_get(fields, i);
        }
    }
    g_assert_not_reached();
}

/* The first FULL section named `name` with section id `id`. */
static const QemuStreamSection *section_id(const QemuStream *s, const char *name, uint32_t id)
{
    const QemuStreamSection *sec = section_by_id(s, id);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sec);
    CU_ASSERT_STRING_EQUAL_FATAL(sec->name, name);
    return sec;
}

/* ---- streams without a vmdesc, read with another's descriptions ---------- */

/* Is (id, idstr) one of the facts' "twin-differences"? */
static bool twins_differ_in(const QObject *facts, const QemuStreamSection *sec)
{
    QObject *diffs = qdict_get(facts, "twin-differences");
    for (size_t i = 0; i < qlist_size(diffs); i++) {
        if (uint_of(qdict_get(qlist_get(diffs, i), "section-id")) == sec->section_id) {
            return true;
        }
    }
    return false;
}

/* The START and FULL sections of a stream (RAM's parts left out: QEMU cuts them by time). */
static GPtrArray *section_heads(const QemuStream *s)
{
    GPtrArray *heads = g_ptr_array_new();
    for (size_t k = 0; k < qemu_stream_n_sections(s); k++) {
        const QemuStreamSection *sec = qemu_stream_section(s, k);
        if (sec->type == QEMU_VM_SECTION_FULL || sec->type == QEMU_VM_SECTION_START) {
            g_ptr_array_add(heads, (gpointer)sec);
        }
    }
    return heads;
}

/*
 * A stream without a vmdesc (pc-i440fx-2.0), read with its twin's vmdesc
 * (--desc), decodes to what the twin does: the same VM, paused at the same
 * moment, started with suppress-vmdesc=off.
 */
static void test_twins(void)
{
    g_autoptr(GPtrArray) names = fixture_names(fixtures_dir);
    size_t pairs = 0;
    for (guint i = 0; i < names->len; i++) {
        const char *name = g_ptr_array_index(names, i);
        g_autoptr(QObject) facts = fixture_facts(fixtures_dir, name);
        if (fact_flag(facts, "vmdesc", true)) {
            continue;
        }
        const char *twin = qdict_get_str(facts, "twin");
        g_autoptr(QemuStream) s = parse_fixture(name, NULL);
        g_autoptr(QemuStream) t = parse_fixture(twin, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        CU_ASSERT_PTR_NOT_NULL_FATAL(t);
        g_autoptr(GPtrArray) heads_s = section_heads(s), heads_t = section_heads(t);
        CU_ASSERT_EQUAL_FATAL(heads_s->len, heads_t->len);
        for (guint k = 0; k < heads_s->len; k++) {
            const QemuStreamSection *a = g_ptr_array_index(heads_s, k);
            const QemuStreamSection *b = g_ptr_array_index(heads_t, k);
            CHECK(name, a->section_id == b->section_id && strcmp(a->name, b->name) == 0 &&
                  a->instance_id == b->instance_id && a->version_id == b->version_id,
                  "section %u: %s, %s has %s", k, a->name, twin, b->name);
            if (!twins_differ_in(facts, a)) {
                CHECK(name, qobject_equal(a->state, b->state), "section %s decodes otherwise"
                      " than in %s", a->name, twin);
            }
        }
        pairs++;
    }
    CU_ASSERT_TRUE(pairs >= 1);
}

/* The globalstate run state of a decoded section: its NUL-padded "runstate" buffer. */
static char *runstate_of(const QObject *globalstate)
{
    const char *hex = qdict_get_str(globalstate, "runstate");
    GString *runstate = g_string_new(NULL);
    for (size_t i = 0; hex && hex[2 * i] && hex_byte(hex, i); i++) {
        g_string_append_c(runstate, (char)hex_byte(hex, i));
    }
    return g_string_free(runstate, FALSE);
}

/*
 * A xen-save-devices-state file (NAME.devstate.gz): header, FULL sections
 * with footers, EOF; no vmdesc.  Read with the vmdesc of a migration
 * stream of the same paused VM, its sections decode to the stream's
 * values, but for the run state in globalstate.
 */
static void test_devstate(void)
{
    g_autoptr(GPtrArray) names = fixture_names(fixtures_dir);
    size_t files = 0;
    for (guint i = 0; i < names->len; i++) {
        const char *name = g_ptr_array_index(names, i);
        g_autoptr(QObject) facts = fixture_facts(fixtures_dir, name);
        QObject *ds_facts = qdict_get(facts, "devstate");
        if (!ds_facts) {
            continue;
        }
        files++;
        g_autoptr(GBytes) data = fixture_devstate(name);
        g_autoptr(GBytes) mig = fixture_stream(fixtures_dir, name);
        g_autoptr(QemuStream) stream = parse_with(name, mig, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(stream);
        QObject *list = qdict_get(ds_facts, "sections");

        /* Without descriptions: what is missing. */
        QObject *first = qlist_get(list, 0);
        const char *idstr = qdict_get_str(first, "idstr");
        g_autofree char *msg = g_strdup_printf("offset %zu: section '%s' (id %" PRIu64 "):"
                                               " cannot decode: the stream has no vmdesc, and no"
                                               " descriptions were given",
                                               8 + 1 + 4 + 1 + strlen(idstr) + 4 + 4, idstr,
                                               uint_of(qdict_get(first, "section-id")));
        expect_error(data, msg);

        GError *err = NULL;
        g_autoptr(QObject) desc = qemu_stream_load_desc(mig, &err);
        ASSERT_NO_ERROR(err);
        g_autoptr(QemuStream) s = parse_with(name, data, desc);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        CU_ASSERT_PTR_NULL(qemu_stream_configuration(s));
        CU_ASSERT_PTR_NULL(qemu_stream_vmdesc(s));
        CU_ASSERT_EQUAL(qemu_stream_n_warnings(s), 0);
        check_sections(name, s, list);
        g_autoptr(GBytes) back = qemu_stream_write(s);
        CHECK(name, g_bytes_equal(back, data), "device-state file: written back differs");
        g_autoptr(GPtrArray) findings = NULL;
        QemuStreamOptions opts = { .desc = desc };
        CU_ASSERT_TRUE(qemu_stream_check(data, &opts, &findings, &err));
        ASSERT_NO_ERROR(err);
        CU_ASSERT_EQUAL(findings->len, 0);

        /* Section by section, the stream's device sections, decoded alike. */
        QObject *differs = qdict_get(ds_facts, "differs-from-stream");
        size_t k = 0;
        for (size_t j = 0; j < qemu_stream_n_sections(stream); j++) {
            const QemuStreamSection *want = qemu_stream_section(stream, j);
            if (want->type != QEMU_VM_SECTION_FULL) {
                continue;
            }
            const QemuStreamSection *got = qemu_stream_section(s, k++);
            CU_ASSERT_PTR_NOT_NULL_FATAL(got);
            CHECK(name, got->section_id == want->section_id && !strcmp(got->name, want->name),
                  "device-state section %s, stream %s", got->name, want->name);
            bool same_bytes = g_bytes_equal(got->payload, want->payload);
            bool listed = false;
            for (size_t d = 0; d < qlist_size(differs); d++) {
                listed |= strcmp(qstring_get(qlist_get(differs, d)), got->name) == 0;
            }
            CHECK(name, same_bytes != listed, "section %s: bytes %s the stream's", got->name,
                  same_bytes ? "equal" : "differ from");
            if (strcmp(got->name, "globalstate") == 0) {
                g_autofree char *rs = runstate_of(got->state);
                g_autofree char *stream_rs = runstate_of(want->state);
                ASSERT_STR_EQ(rs, qdict_get_str(ds_facts, "runstate"));
                ASSERT_STR_EQ(stream_rs, qdict_get_str(facts, "status"));
            } else {
                CHECK(name, qobject_equal(got->state, want->state), "section %s decodes"
                      " otherwise than in the stream", got->name);
            }
        }
        CU_ASSERT_EQUAL(k, qemu_stream_n_sections(s));

        /* Descriptions (a vmdesc JSON) whose RTC is a byte short: by how much, where. */
        g_autoptr(QObject) shorter = qobject_copy(desc);
        QObject *cmos = vmdesc_field(vmdesc_device(shorter, "mc146818rtc"), "cmos_data", NULL);
        qdict_put(cmos, "size", qnum_from_uint(uint_of(qdict_get(cmos, "size")) - 1));
        const QemuStreamSection *rtc = qemu_stream_find_section(s, "mc146818rtc", 0);
        g_autofree char *short_msg = g_strdup_printf("offset %" PRIu64 ": section 'mc146818rtc'"
                                                     " (id %" PRIu32 "): the description covers"
                                                     " %" PRIu64 " bytes, the section has %"
                                                     PRIu64 " (1 byte short)",
                                                     rtc->offset + rtc->size - 1, rtc->section_id,
                                                     rtc->size - 1, rtc->size);
        expect_parse_error_desc(data, shorter, short_msg);
        g_autofree char *short_line = g_strdup_printf("%s\n", short_msg);
        expect_findings(data, shorter, short_line);

        /* Truncated in its last section: the error names section, field and bytes. */
        const QemuStreamSection *last = qemu_stream_section(s, qemu_stream_n_sections(s) - 1);
        ASSERT_STR_EQ(last->name, "globalstate");
        g_autoptr(GBytes) cut = g_bytes_new_from_bytes(data, 0, last->offset + 50);
        g_autofree char *cut_msg = g_strdup_printf("offset %" PRIu64 ": section 'globalstate'"
                                                   " (id %" PRIu32 "): runstate: truncated:"
                                                   " need 100 bytes, 46 left", last->offset + 4,
                                                   last->section_id);
        g_autoptr(QemuStream) none = qemu_stream_parse_with(cut, &opts, &err);
        CU_ASSERT_PTR_NULL(none);
        ASSERT_ERROR(err, cut_msg);
        g_autoptr(GPtrArray) no_findings = NULL;
        CU_ASSERT_FALSE(qemu_stream_check(cut, &opts, &no_findings, &err));
        ASSERT_ERROR(err, cut_msg);
        /* ...and anywhere else: an error with an offset. */
        for (size_t j = 0; j < qemu_stream_n_sections(s); j++) {
            const QemuStreamSection *sec = qemu_stream_section(s, j);
            g_autoptr(GBytes) c = g_bytes_new_from_bytes(data, 0, sec->offset + sec->size / 2);
            g_autofree char *what = g_strdup_printf("%s.devstate cut in %s", name, sec->name);
            expect_offset_error_with(what, c, desc);
        }
    }
    CU_ASSERT_TRUE(files >= 1);
}

/*
 * The agent's way of reading device-state files again and again: a
 * QemuStreamCache takes the decode of sections whose bytes (and footer)
 * are as before, the same QObject, and decodes the others; keep_misfits
 * keeps a section its descriptions do not fit as bytes, with the reason.
 */
static void test_devstate_cache(void)
{
    const char *name = "pc-devstate";
    g_autoptr(GBytes) data = fixture_devstate(name);
    g_autoptr(GBytes) mig = fixture_stream(fixtures_dir, name);
    GError *err = NULL;
    g_autoptr(QObject) desc = qemu_stream_load_desc(mig, &err);
    ASSERT_NO_ERROR(err);
    g_autoptr(QemuStream) plain = parse_with(name, data, desc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(plain);
    size_t n = qemu_stream_n_sections(plain), decoded = 0;
    for (size_t i = 0; i < n; i++) {
        decoded += qemu_stream_section(plain, i)->raw_reason == NULL;
    }
    CU_ASSERT_TRUE(decoded > 10);

    g_autoptr(QemuStreamCache) cache = qemu_stream_cache_new();
    QemuStreamOptions opts = { .desc = desc, .cache = cache };
    g_autoptr(QemuStream) a = qemu_stream_parse_with(data, &opts, &err);
    ASSERT_NO_ERROR(err);
    uint64_t hits, misses;
    qemu_stream_cache_stats(cache, &hits, &misses);
    CU_ASSERT_EQUAL(hits, 0);
    CU_ASSERT_EQUAL(misses, decoded);
    g_autoptr(QemuStream) b = qemu_stream_parse_with(data, &opts, &err);
    ASSERT_NO_ERROR(err);
    qemu_stream_cache_stats(cache, &hits, &misses);
    CU_ASSERT_EQUAL(hits, decoded);
    CU_ASSERT_EQUAL(misses, decoded);
    for (size_t i = 0; i < n; i++) {
        const QemuStreamSection *sa = qemu_stream_section(a, i), *sb = qemu_stream_section(b, i);
        CHECK(name, qobject_equal(sb->state, qemu_stream_section(plain, i)->state),
              "section %s: cached decode differs", sb->name);
        CHECK(name, (sa->state == sb->state) == (sb->raw_reason == NULL),
              "section %s: shared with the cache: %d", sb->name, sa->state == sb->state);
    }
    CU_ASSERT_FALSE(qemu_stream_set(b, "serial.state.scr", "1", &err));
    ASSERT_ERROR(err, "serial.state.scr: the stream shares its decoded sections with a cache: "
                 "parse it without one to edit it");

    /* One byte of serial changed: serial alone is decoded again, to the new value. */
    const QemuStreamSection *serial = qemu_stream_find_section(plain, "serial", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(serial);
    g_autoptr(GByteArray) edited = g_byte_array_new();
    g_byte_array_append(edited, g_bytes_get_data(data, NULL), (guint)g_bytes_get_size(data));
    edited->data[serial->offset + serial->size - 1] ^= 0x5a;      /* fcr_vmstate, the last byte */
    g_autoptr(GBytes) data2 = g_byte_array_free_to_bytes(g_steal_pointer(&edited));
    g_autoptr(QemuStream) c = qemu_stream_parse_with(data2, &opts, &err);
    ASSERT_NO_ERROR(err);
    qemu_stream_cache_stats(cache, &hits, &misses);
    CU_ASSERT_EQUAL(hits, 2 * decoded - 1);
    CU_ASSERT_EQUAL(misses, decoded + 1);
    const QemuStreamSection *serial2 = qemu_stream_find_section(c, "serial", 0);
    CU_ASSERT_FALSE(qobject_equal(serial2->state, serial->state));
    CU_ASSERT_TRUE(serial2->state != qemu_stream_find_section(b, "serial", 0)->state);

    /* An RTC a byte short: with keep_misfits, kept as bytes with the reason. */
    g_autoptr(QObject) shorter = qobject_copy(desc);
    QObject *cmos = vmdesc_field(vmdesc_device(shorter, "mc146818rtc"), "cmos_data", NULL);
    qdict_put(cmos, "size", qnum_from_uint(uint_of(qdict_get(cmos, "size")) - 1));
    QemuStreamOptions keep = { .desc = shorter, .keep_misfits = true };
    g_autoptr(QemuStream) k = qemu_stream_parse_with(data, &keep, &err);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(k);
    const QemuStreamSection *rtc = qemu_stream_find_section(k, "mc146818rtc", 0);
    g_autofree char *reason = g_strdup_printf("offset %" PRIu64 ": section 'mc146818rtc' (id %"
                                              PRIu32 "): the description covers %" PRIu64
                                              " bytes, the section has %" PRIu64 " (1 byte short)",
                                              rtc->offset + rtc->size - 1, rtc->section_id,
                                              rtc->size - 1, rtc->size);
    ASSERT_STR_EQ(rtc->raw_reason, reason);
    CU_ASSERT_EQUAL(qemu_stream_n_warnings(k), 1);
    ASSERT_STR_EQ(qemu_stream_warning(k, 0)->message, reason);
    g_autofree char *hex = hex_encode(g_bytes_get_data(rtc->payload, NULL), rtc->size);
    g_autofree char *want = g_strdup_printf("{\"data\":\"%s\"}", hex);
    g_autofree char *got = qobject_to_json(rtc->state, false);
    ASSERT_STR_EQ(got, want);
    CU_ASSERT_PTR_NULL(qemu_stream_find_section(k, "serial", 0)->raw_reason);
}

static void test_truncated(void)
{
    g_autoptr(GPtrArray) names = fixture_names(fixtures_dir);
    for (guint i = 0; i < names->len; i++) {
        const char *name = g_ptr_array_index(names, i);
        g_autoptr(GBytes) data = NULL;
        g_autoptr(QemuStream) s = parse_fixture(name, &data);
        g_autoptr(QObject) desc = fixture_desc(name);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        size_t n = g_bytes_get_size(data);
        size_t eof = qemu_stream_eof_offset(s);
        GArray *cuts = g_array_new(FALSE, FALSE, sizeof(size_t));
        size_t fixed[] = { 0, 1, 4, 7, 8, 9, 20, eof, eof + 1, eof + 3, eof + 5, (eof + n) / 2,
                           n - 1 };
        g_array_append_vals(cuts, fixed, G_N_ELEMENTS(fixed));
        for (size_t k = 0; k < qemu_stream_n_sections(s); k++) {
            const QemuStreamSection *sec = qemu_stream_section(s, k);
            size_t at[] = { header_offset(sec), header_offset(sec) + 3, sec->offset,
                            sec->offset + sec->size / 2, sec->offset + sec->size,
                            sec->offset + sec->size + 2 };
            g_array_append_vals(cuts, at, G_N_ELEMENTS(at));
        }
        GRand *rand = g_rand_new_with_seed(0x5eed + i);
        for (int k = 0; k < 24; k++) {
            size_t at = (size_t)g_rand_int_range(rand, 0, (gint32)n);
            g_array_append_val(cuts, at);
        }
        g_rand_free(rand);

        for (guint k = 0; k < cuts->len; k++) {
            size_t cut = g_array_index(cuts, size_t, k);
            if (cut >= n) {
                continue;       /* past the end of a stream without a vmdesc */
            }
            g_autofree char *what = g_strdup_printf("%s cut at %zu", name, cut);
            /* The stream ends early... */
            g_autoptr(GBytes) prefix = g_bytes_new_from_bytes(data, 0, cut);
            expect_offset_error_with(what, prefix, desc);
            /*
             * ...or loses its middle but keeps EOF and vmdesc (a full decode each:
             * every cut for two fixtures, the random ones for all).
             */
            bool all_cuts = strcmp(name, "pc-plain") == 0 || strcmp(name, "q35-shared") == 0;
            if (cut < eof && (all_cuts || k >= cuts->len - 24)) {
                g_autoptr(GBytes) gap = splice(data, cut, eof);
                expect_offset_error_with(what, gap, desc);
            }
        }
        g_array_free(cuts, TRUE);
    }
}

static void test_vmdesc_lies(void)
{
    g_autoptr(GBytes) data = NULL;
    g_autoptr(QemuStream) s = parse_fixture("pc-plain", &data);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    const char *e1000 = "0000:00:02.0/e1000";
    const QemuStreamSection *serial = qemu_stream_find_section(s, "serial", 0);
    const QemuStreamSection *nic = qemu_stream_find_section(s, e1000, 0);
    const QemuStreamSection *rtc = qemu_stream_find_section(s, "mc146818rtc", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(serial);
    CU_ASSERT_PTR_NOT_NULL_FATAL(nic);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rtc);
    g_autofree char *msg = NULL;

    /* A struct bigger than its members. */
    g_autoptr(QObject) v1 = qobject_copy(qemu_stream_vmdesc(s));
    qdict_put(vmdesc_field(vmdesc_device(v1, "serial"), "state", NULL), "size", qnum_from_int(12));
    g_autoptr(GBytes) d1 = with_vmdesc(data, s, v1);
    msg = g_strdup_printf("offset %" PRIu64 ": section 'serial' (id 40): state: vmdesc: size 12"
                          " but its fields cover 11 bytes", serial->offset + 11);
    expect_error(d1, msg);
    g_clear_pointer(&msg, g_free);

    /* An integer whose size does not fit its type. */
    g_autoptr(QObject) v2 = qobject_copy(qemu_stream_vmdesc(s));
    QObject *state = qdict_get(vmdesc_field(vmdesc_device(v2, "serial"), "state", NULL), "struct");
    qdict_put(vmdesc_field(state, "lsr", NULL), "size", qnum_from_int(2));
    g_autoptr(GBytes) d2 = with_vmdesc(data, s, v2);
    msg = g_strdup_printf("offset %" PRIu64 ": section 'serial' (id 40): state.lsr: vmdesc: type"
                          " 'uint8' has size 2, expected 1", serial->offset + 7);
    expect_error(d2, msg);
    g_clear_pointer(&msg, g_free);

    /* A member removed from a struct. */
    g_autoptr(QObject) v3 = qobject_copy(qemu_stream_vmdesc(s));
    state = qdict_get(vmdesc_field(vmdesc_device(v3, "serial"), "state", NULL), "struct");
    size_t idx;
    vmdesc_field(state, "scr", &idx);
    json_object_array_del_idx(qdict_get(state, "fields"), idx, 1);
    g_autoptr(GBytes) d3 = with_vmdesc(data, s, v3);
    msg = g_strdup_printf("offset %" PRIu64 ": section 'serial' (id 40): state: vmdesc: size 11"
                          " but its fields cover 10 bytes", serial->offset + 10);
    expect_error(d3, msg);
    g_clear_pointer(&msg, g_free);

    /* A buffer that overruns the stream. */
    g_autoptr(QObject) v4 = qobject_copy(qemu_stream_vmdesc(s));
    qdict_put(vmdesc_field(vmdesc_device(v4, e1000), "tx.data", NULL), "size",
              qnum_from_int(1 << 30));
    g_autoptr(GBytes) d4 = with_vmdesc(data, s, v4);
    GError *err = NULL;
    g_autoptr(QemuStream) s4 = qemu_stream_parse(d4, &err);
    CU_ASSERT_PTR_NULL(s4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    CU_ASSERT_TRUE(g_str_has_prefix(err->message, "offset "));
    CU_ASSERT_PTR_NOT_NULL(strstr(err->message, ": section '0000:00:02.0/e1000' (id 39): "
                                                "tx.data: truncated: need 1073741824 bytes, "));
    g_clear_error(&err);

    /* An array that overruns the stream. */
    g_autoptr(QObject) v5 = qobject_copy(qemu_stream_vmdesc(s));
    qdict_put(vmdesc_field(vmdesc_device(v5, e1000), "eeprom_data", NULL), "array_len",
              qnum_from_int(1 << 23));
    g_autoptr(GBytes) d5 = with_vmdesc(data, s, v5);
    g_autoptr(QemuStream) s5 = qemu_stream_parse(d5, &err);
    CU_ASSERT_PTR_NULL(s5);
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    CU_ASSERT_PTR_NOT_NULL(strstr(err->message, ": section '0000:00:02.0/e1000' (id 39): "
                                                "eeprom_data: vmdesc: array of 8388608 x 2 bytes"
                                                " overruns the stream ("));
    g_clear_error(&err);

    /* Wrong nesting: the device's subsections described inside its first struct. */
    g_autoptr(QObject) v6 = qobject_copy(qemu_stream_vmdesc(s));
    QObject *dev = vmdesc_device(v6, e1000);
    QObject *parent = qdict_get(vmdesc_field(dev, "parent_obj", NULL), "struct");
    qdict_put(parent, "subsections", qobject_ref(qdict_get(dev, "subsections")));
    qdict_del(dev, "subsections");
    g_autoptr(GBytes) d6 = with_vmdesc(data, s, v6);
    msg = g_strdup_printf("offset %" PRIu64 ": section '0000:00:02.0/e1000' (id 39): parent_obj:"
                          " truncated: expected subsection 'e1000/mit_state'", nic->offset + 276);
    expect_error(d6, msg);
    g_clear_pointer(&msg, g_free);

    /* A subsection by another name. */
    g_autoptr(QObject) v7 = qobject_copy(qemu_stream_vmdesc(s));
    QObject *sub = qlist_get(qdict_get(vmdesc_device(v7, e1000), "subsections"), 0);
    qdict_put(sub, "vmsd_name", qstring_from_str("e1000/mit_statX"));
    g_autoptr(GBytes) d7 = with_vmdesc(data, s, v7);
    g_autoptr(QemuStream) s7 = qemu_stream_parse(d7, &err);
    CU_ASSERT_PTR_NULL(s7);
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    CU_ASSERT_PTR_NOT_NULL(strstr(err->message, ": section '0000:00:02.0/e1000' (id 39): subsection"
                                                " 'e1000/mit_state' in the stream, vmdesc expects"
                                                " 'e1000/mit_statX'"));
    g_clear_error(&err);

    /* The device's version. */
    g_autoptr(QObject) v8 = qobject_copy(qemu_stream_vmdesc(s));
    qdict_put(vmdesc_device(v8, "serial"), "version", qnum_from_int(4));
    g_autoptr(GBytes) d8 = with_vmdesc(data, s, v8);
    msg = g_strdup_printf("offset %" PRIu64 ": section 'serial' (id 40): the vmdesc has version 4,"
                          " the section has version 3", serial->offset);
    expect_error(d8, msg);
    g_clear_pointer(&msg, g_free);

    /* A top-level field left out: the description ends 8 bytes before the section. */
    g_autoptr(QObject) v9 = qobject_copy(qemu_stream_vmdesc(s));
    vmdesc_field(vmdesc_device(v9, "mc146818rtc"), "next_alarm_time", &idx);
    json_object_array_del_idx(qdict_get(vmdesc_device(v9, "mc146818rtc"), "fields"), idx, 1);
    g_autoptr(GBytes) d9 = with_vmdesc(data, s, v9);
    msg = g_strdup_printf("offset %" PRIu64 ": section 'mc146818rtc' (id 19): the description"
                          " covers %" PRIu64 " bytes, the section has %" PRIu64 " (8 bytes short)",
                          rtc->offset + rtc->size - 8, rtc->size - 8, rtc->size);
    expect_error(d9, msg);
    g_clear_pointer(&msg, g_free);

    /* A device the stream does not have. */
    g_autoptr(QObject) v10 = qobject_copy(qemu_stream_vmdesc(s));
    QObject *extra = qobject_copy(vmdesc_device(v10, "serial"));
    qdict_put(extra, "instance_id", qnum_from_int(7));
    qlist_append(qdict_get(v10, "devices"), extra);
    g_autoptr(GBytes) d10 = with_vmdesc(data, s, v10);
    msg = g_strdup_printf("offset %" PRIu64 ": the vmdesc describes section 'serial' instance 7,"
                          " which is not in the stream", (uint64_t)qemu_stream_eof_offset(s));
    expect_error(d10, msg);
    g_clear_pointer(&msg, g_free);

    /* A vmdesc that is not JSON. */
    size_t eof = qemu_stream_eof_offset(s);
    g_autoptr(GBytes) d11 = patched(data, eof + 7, "x", 1);     /* {"page_size" -> {xpage_size" */
    msg = g_strdup_printf("offset %zu: vmdesc: bad JSON: quoted object property name expected",
                          eof + 7);
    expect_error(d11, msg);
    g_clear_pointer(&msg, g_free);
}

static void test_corrupted(void)
{
    g_autoptr(GBytes) data = NULL;
    g_autoptr(QemuStream) s = parse_fixture("pc-plain", &data);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    const QemuStreamSection *serial = qemu_stream_find_section(s, "serial", 0);
    g_autofree char *msg = NULL;
    const uint8_t *raw = g_bytes_get_data(data, NULL);
    size_t eof = qemu_stream_eof_offset(s);

    g_autoptr(GBytes) magic = patched(data, 3, "N", 1);
    expect_error(magic, "offset 0: header: bad magic 0x5145564e, expected 0x5145564d (QEVM)");
    g_autoptr(GBytes) version = patched(data, 7, "\x02", 1);
    expect_error(version, "offset 4: header: unsupported stream version 2, expected 3");
    g_autoptr(GBytes) hdr = g_bytes_new_from_bytes(data, 0, 6);
    expect_error(hdr, "offset 4: header: truncated: need 4 bytes, 2 left");

    /* The machine name's length. */
    g_autoptr(GBytes) cfg = patched(data, 9, "\xff\xff\xff\xff", 4);
    msg = g_strdup_printf("offset 13: configuration: truncated: need 4294967295 bytes, %zu left",
                          g_bytes_get_size(data) - 13);
    expect_error(cfg, msg);
    g_clear_pointer(&msg, g_free);

    /* A section name's length byte: the name swallows part of the instance id. */
    uint64_t h = header_offset(serial);
    g_autoptr(GBytes) len = patched(data, h + 5, "\x07", 1);
    msg = g_strdup_printf("offset %" PRIu64 ": section header: section name contains a NUL byte",
                          h);
    expect_error(len, msg);
    g_clear_pointer(&msg, g_free);

    /* A section type that does not exist. */
    g_autoptr(GBytes) type = patched(data, h, "\x09", 1);
    msg = g_strdup_printf("offset %" PRIu64 ": unknown section type 0x09", h);
    expect_error(type, msg);
    g_clear_pointer(&msg, g_free);

    /* A footer for another section. */
    uint8_t id41[4] = { 0, 0, 0, 41 };
    g_autoptr(GBytes) footer = patched(data, serial->offset + serial->size + 1, id41, 4);
    msg = g_strdup_printf("offset %" PRIu64 ": section 'serial' (id 40): footer is for section"
                          " id 41", serial->offset + serial->size);
    expect_error(footer, msg);
    g_clear_pointer(&msg, g_free);

    /*
     * The vmdesc's length, one more or one less: the frame does not reach
     * the end of the data, so there is no vmdesc at the end; going forward
     * from EOF the vmdesc is too short for its length, or followed by a byte.
     */
    size_t n = g_bytes_get_size(data);
    uint8_t l = raw[eof + 5];
    uint8_t l2 = (uint8_t)(l + 1), l3 = (uint8_t)(l - 1);
    CU_ASSERT_TRUE(l > 0 && l < 255);
    g_autoptr(GBytes) vlen = patched(data, eof + 5, &l2, 1);
    msg = g_strdup_printf("offset %zu: vmdesc: truncated: need %zu bytes, %zu left", eof + 6,
                          n - eof - 5, n - eof - 6);
    expect_error(vlen, msg);
    g_clear_pointer(&msg, g_free);
    g_autoptr(GBytes) vshort = patched(data, eof + 5, &l3, 1);
    msg = g_strdup_printf("offset %zu: 1 byte of data after the vmdesc", n - 1);
    expect_error(vshort, msg);
    g_clear_pointer(&msg, g_free);

    /* The first RAM block's name length. */
    const QemuStreamSection *ram = qemu_stream_find_section(s, "ram", 0);
    uint8_t big = 200;
    g_autoptr(GBytes) block = patched(data, ram->offset + 8, &big, 1);
    expect_offset_error("RAM block name length", block);

    /* A section cut short, EOF and vmdesc kept. */
    g_autoptr(GBytes) gap = splice(data, serial->offset + 5, eof);
    msg = g_strdup_printf("offset %" PRIu64 ": section 'serial' (id 40): expected section footer"
                          " (0x7e), found 0x%02x", serial->offset + 11, raw[eof + 6]);
    expect_error(gap, msg);
    g_clear_pointer(&msg, g_free);

    /* The last section missing. */
    const QemuStreamSection *last = qemu_stream_section(s, qemu_stream_n_sections(s) - 1);
    g_autoptr(GBytes) lost = splice(data, header_offset(last), eof);
    msg = g_strdup_printf("offset %" PRIu64 ": the vmdesc describes section '%s' instance 0, which"
                          " is not in the stream", header_offset(last), last->name);
    expect_error(lost, msg);
}

/* A stream whose vmdesc's slirp entry (old-style: "size" and "data") says `size` bytes. */
static GBytes *slirp_described_as(GBytes *data, const QemuStream *s, int size)
{
    g_autoptr(QObject) v = qobject_copy(qemu_stream_vmdesc(s));
    QObject *entry = vmdesc_device(v, "slirp");
    qdict_put(entry, "size", qnum_from_int(size));
    qdict_put(vmdesc_field(entry, "data", NULL), "size", qnum_from_int(size));
    return with_vmdesc(data, s, v);
}

/* data and n more bytes. */
static GBytes *appended(GBytes *data, const char *more, size_t n)
{
    GByteArray *a = g_byte_array_new();
    g_byte_array_append(a, g_bytes_get_data(data, NULL), (guint)g_bytes_get_size(data));
    g_byte_array_append(a, (const uint8_t *)more, (guint)n);
    return g_byte_array_free_to_bytes(a);
}

/*
 * Streams as they come, broken: a footer for another section, descriptions
 * a byte short or long, a vmdesc with data after it, a section of unknown
 * type, a subsection the description does not know, a section it does not
 * describe, a vmdesc that disagrees with the stream.  Each with its error
 * for `stream` and its findings for `check`.
 */
static void test_as_they_come_broken(void)
{
    g_autoptr(GBytes) data4 = NULL;
    g_autoptr(QemuStream) s4 = parse_fixture("pc-slirp4", &data4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s4);
    g_autoptr(QObject) facts4 = fixture_facts(fixtures_dir, "pc-slirp4");
    g_autoptr(GPtrArray) dup4 = expected_warnings(s4, qdict_get(facts4, "sections"));
    CU_ASSERT_EQUAL_FATAL(dup4->len, 1);
    const char *dup = g_ptr_array_index(dup4, 0);
    g_autofree char *msg = NULL, *want = NULL;

    /* The footer of the second slirp section (id 5) says 6. */
    const QemuStreamSection *slirp5 = section_id(s4, "slirp", 5);
    uint8_t id6[4] = { 0, 0, 0, 6 };
    g_autoptr(GBytes) footer = patched(data4, slirp5->offset + slirp5->size + 1, id6, 4);
    msg = g_strdup_printf("offset %" PRIu64 ": section 'slirp' (id 5): footer is for section id"
                          " 6", slirp5->offset + slirp5->size);
    expect_error(footer, msg);
    want = g_strdup_printf("%s\n%s\n", dup, msg);
    expect_findings(footer, NULL, want);
    g_clear_pointer(&msg, g_free);
    g_clear_pointer(&want, g_free);

    /* The vmdesc's slirp entry a byte short, and a byte long (old-style: "size" and "data"). */
    g_autoptr(GBytes) data = NULL;
    g_autoptr(QemuStream) s = parse_fixture("pc-slirp", &data);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    const QemuStreamSection *slirp = qemu_stream_find_section(s, "slirp", 0);
    CU_ASSERT_EQUAL_FATAL(slirp->size, 131);
    for (int delta = -1; delta <= 1; delta += 2) {
        g_autoptr(GBytes) d = slirp_described_as(data, s, 131 + delta);
        msg = g_strdup_printf("offset %" PRIu64 ": section 'slirp' (id %" PRIu32 "): the"
                              " description covers %d bytes, the section has 131 (1 byte %s)",
                              slirp->offset + (delta < 0 ? 130 : 131), slirp->section_id,
                              131 + delta, delta < 0 ? "short" : "too many");
        expect_error(d, msg);
        want = g_strdup_printf("%s\n", msg);
        expect_findings(d, NULL, want);
        g_clear_pointer(&msg, g_free);
        g_clear_pointer(&want, g_free);
    }

    /* Data after the vmdesc: an error; check decodes the sections with it all the same. */
    g_autoptr(GBytes) garbage = appended(data, "xyz", 3);
    msg = g_strdup_printf("offset %zu: 3 bytes of data after the vmdesc", g_bytes_get_size(data));
    expect_error(garbage, msg);
    want = g_strdup_printf("%s\n", msg);
    expect_findings(garbage, NULL, want);
    g_clear_pointer(&msg, g_free);
    g_clear_pointer(&want, g_free);
    /* ...and with the slirp entry a byte short, that is found too. */
    g_autoptr(GBytes) dshort = slirp_described_as(data, s, 130);
    g_autoptr(GBytes) garbage2 = appended(dshort, "\n", 1);
    want = g_strdup_printf("offset %" PRIu64 ": section 'slirp' (id %" PRIu32 "): the"
                           " description covers 130 bytes, the section has 131 (1 byte short)\n"
                           "offset %zu: 1 byte of data after the vmdesc\n",
                           slirp->offset + 130, slirp->section_id, g_bytes_get_size(dshort));
    expect_findings(garbage2, NULL, want);
    g_clear_pointer(&want, g_free);

    /* A section of a type QEMU does not have: nothing after it can be read. */
    const QemuStreamSection *serial = qemu_stream_find_section(s, "serial", 0);
    g_autoptr(GBytes) type = patched(data, header_offset(serial), "\x09", 1);
    msg = g_strdup_printf("offset %" PRIu64 ": unknown section type 0x09", header_offset(serial));
    expect_error(type, msg);
    want = g_strdup_printf("%s; the rest of the stream cannot be read\n", msg);
    expect_findings(type, NULL, want);
    g_clear_pointer(&msg, g_free);
    g_clear_pointer(&want, g_free);

    /* The stream's vmdesc with another version for a section. */
    g_autoptr(QObject) vv = qobject_copy(qemu_stream_vmdesc(s));
    qdict_put(vmdesc_device(vv, "serial"), "version", qnum_from_int(4));
    g_autoptr(GBytes) dv = with_vmdesc(data, s, vv);
    want = g_strdup_printf("offset %" PRIu64 ": section 'serial' (id %" PRIu32 "): the vmdesc has"
                           " version 4, the section has version 3\n", serial->offset,
                           serial->section_id);
    expect_findings(dv, NULL, want);
    /* ...found with other descriptions too (--desc): the stream's own is compared. */
    expect_findings(dv, qemu_stream_vmdesc(s), want);
    g_clear_pointer(&want, g_free);

    /* Descriptions without e1000's subsection: the stream has one they do not know. */
    const char *e1000 = "0000:00:02.0/e1000";
    const QemuStreamSection *nic = qemu_stream_find_section(s, e1000, 0);
    g_autoptr(QObject) nosub = qobject_copy(qemu_stream_vmdesc(s));
    QObject *subs = qdict_get(vmdesc_device(nosub, e1000), "subsections");
    g_autofree char *subname = g_strdup(qdict_get_str(qlist_get(subs, 0), "vmsd_name"));
    size_t sublen = 0;
    for (size_t i = 0; i < qlist_size(subs); i++) {
        QObject *sub = qlist_get(subs, i);
        QObject *fields = qdict_get(sub, "fields");
        sublen += 1 + 1 + strlen(qdict_get_str(sub, "vmsd_name")) + 4;
        for (size_t f = 0; f < qlist_size(fields); f++) {
            uint64_t len = 1;
            qnum_get_uint(qdict_get(qlist_get(fields, f), "array_len"), &len);
            sublen += uint_of(qdict_get(qlist_get(fields, f), "size")) * len;
        }
    }
    qdict_del(vmdesc_device(nosub, e1000), "subsections");
    msg = g_strdup_printf("offset %" PRIu64 ": section '%s' (id %" PRIu32 "): unknown subsection"
                          " '%s'", nic->offset + nic->size - sublen, e1000, nic->section_id,
                          subname);
    expect_parse_error_desc(data, nosub, msg);
    want = g_strdup_printf("%s\n", msg);
    expect_findings(data, nosub, want);
    g_clear_pointer(&msg, g_free);
    g_clear_pointer(&want, g_free);

    /* Descriptions without serial: kept as bytes, with a warning. */
    g_autoptr(QObject) noserial = qobject_copy(qemu_stream_vmdesc(s));
    size_t idx = 0;
    QObject *list = qdict_get(noserial, "devices");
    for (size_t i = 0; i < qlist_size(list); i++) {
        if (strcmp(qdict_get_str(qlist_get(list, i), "name"), "serial") == 0) {
            idx = i;
        }
    }
    json_object_array_del_idx(list, idx, 1);
    g_autoptr(QemuStream) raw = parse_with("pc-slirp without serial", data, noserial);
    CU_ASSERT_PTR_NOT_NULL_FATAL(raw);
    CU_ASSERT_EQUAL_FATAL(qemu_stream_n_warnings(raw), 1);
    msg = g_strdup_printf("offset %" PRIu64 ": section 'serial' (id %" PRIu32 "): not described"
                          " by the descriptions given: kept as 11 bytes of data", serial->offset,
                          serial->section_id);
    ASSERT_STR_EQ(qemu_stream_warning(raw, 0)->message, msg);
    g_autofree char *rawstate = qobject_to_json(qemu_stream_find_section(raw, "serial", 0)->state,
                                                false);
    g_autofree char *hex = hex_encode(g_bytes_get_data(serial->payload, NULL), 11);
    g_autofree char *wantstate = g_strdup_printf("{\"data\":\"%s\"}", hex);
    ASSERT_STR_EQ(rawstate, wantstate);
    g_autoptr(GBytes) back = qemu_stream_write(raw);
    CU_ASSERT_TRUE(g_bytes_equal(back, data));
    g_clear_pointer(&msg, g_free);

    /* ...but without footers nothing shows where it ends: an error. */
    g_autoptr(GBytes) data20 = NULL;
    g_autoptr(QemuStream) s20 = parse_fixture("pc20", &data20);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s20);
    g_autoptr(QObject) desc20 = fixture_desc("pc20");
    QObject *list20 = qdict_get(desc20, "devices");
    for (size_t i = 0; i < qlist_size(list20); i++) {
        if (strcmp(qdict_get_str(qlist_get(list20, i), "name"), "serial") == 0) {
            idx = i;
        }
    }
    json_object_array_del_idx(list20, idx, 1);
    const QemuStreamSection *serial20 = qemu_stream_find_section(s20, "serial", 0);
    msg = g_strdup_printf("offset %" PRIu64 ": section 'serial' (id %" PRIu32 "): cannot decode:"
                          " not described by the descriptions given, and no footer shows where"
                          " the section ends", serial20->offset, serial20->section_id);
    expect_parse_error_desc(data20, desc20, msg);
}

/*
 * The vmdesc is found by its frame (EOF, 0x06, a be32 length reaching to
 * the end), whatever bytes the length has: QEMU's analyze-migration.py,
 * which looks for a NUL and a '{', fails on a length holding 0x7b.  The
 * same JSON, padded with spaces to a length of 0x..7b06 (0x00, 0x06 and
 * 0x7b in the length field), reads the same.
 */
static void test_vmdesc_framing(void)
{
    g_autoptr(GBytes) data = NULL;
    g_autoptr(QemuStream) s = parse_fixture("pc-slirp", &data);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    size_t n, eof = qemu_stream_eof_offset(s);
    const uint8_t *d = g_bytes_get_data(data, &n);
    size_t len = n - eof - 6;
    size_t padded = (len & ~(size_t)0xffff) | 0x7b06;
    padded += padded < len ? 0x10000 : 0;
    CU_ASSERT_TRUE_FATAL(padded < UINT32_MAX && d[eof + 6] == '{');
    GByteArray *a = g_byte_array_new();
    uint8_t tag[5] = { QEMU_VM_VMDESCRIPTION, (uint8_t)(padded >> 24), (uint8_t)(padded >> 16),
                       0x7b, 0x06 };
    g_byte_array_append(a, d, (guint)eof + 1);
    g_byte_array_append(a, tag, 5);
    g_byte_array_append(a, (const uint8_t *)"{", 1);
    for (size_t i = 0; i < padded - len; i++) {
        g_byte_array_append(a, (const uint8_t *)" ", 1);
    }
    g_byte_array_append(a, d + eof + 7, (guint)(len - 1));
    g_autoptr(GBytes) crafted = g_byte_array_free_to_bytes(a);
    CU_ASSERT_EQUAL(tag[1], 0);

    g_autoptr(QemuStream) t = parse_with("pc-slirp, vmdesc length 0x..7b06", crafted, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_TRUE(qobject_equal(qemu_stream_vmdesc(t), qemu_stream_vmdesc(s)));
    CU_ASSERT_EQUAL_FATAL(qemu_stream_n_sections(t), qemu_stream_n_sections(s));
    for (size_t i = 0; i < qemu_stream_n_sections(s); i++) {
        CU_ASSERT_TRUE(qobject_equal(qemu_stream_section(t, i)->state,
                                     qemu_stream_section(s, i)->state));
    }
    g_autoptr(GBytes) back = qemu_stream_write(t);
    CU_ASSERT_TRUE(g_bytes_equal(back, crafted));
    expect_findings(crafted, NULL, "");
}

/* Random byte changes anywhere: an error with an offset, or a stream that parses. */
static void test_random_flips(void)
{
    g_autoptr(GPtrArray) names = fixture_names(fixtures_dir);
    GRand *rand = g_rand_new_with_seed(20240611);
    for (guint i = 0; i < names->len; i++) {
        const char *name = g_ptr_array_index(names, i);
        g_autoptr(GBytes) data = NULL;
        g_autoptr(QemuStream) s = parse_fixture(name, &data);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        size_t n = g_bytes_get_size(data);
        /* Most of a stream is RAM pages; aim most flips at the frame and device state. */
        const QemuStreamSection *first_full = NULL;
        for (size_t k = 0; k < qemu_stream_n_sections(s) && !first_full; k++) {
            if (qemu_stream_section(s, k)->type == QEMU_VM_SECTION_FULL) {
                first_full = qemu_stream_section(s, k);
            }
        }
        size_t dev_start = header_offset(first_full);
        for (int k = 0; k < 150; k++) {
            size_t at = k % 5 == 0 ? (size_t)g_rand_int_range(rand, 0, (gint32)n)
                                   : dev_start + (size_t)g_rand_int_range(rand, 0,
                                                                          (gint32)(n - dev_start));
            uint8_t b = (uint8_t)g_rand_int_range(rand, 0, 256);
            g_autoptr(GBytes) bad = patched(data, at, &b, 1);
            GError *err = NULL;
            g_autoptr(QemuStream) t = qemu_stream_parse(bad, &err);
            if (t) {
                g_autoptr(GBytes) back = qemu_stream_write(t);
                CHECK(name, g_bytes_equal(back, bad), "flip at %zu: round trip", at);
            } else {
                CHECK(name, g_str_has_prefix(err->message, "offset "), "flip at %zu: %s", at,
                      err->message);
                g_error_free(err);
            }
        }
    }
    g_rand_free(rand);
}

static const CuTest fixture_tests[] = {
    { "every fixture parses, nothing unknown; warnings and check: the duplicates",
      test_parse_all },
    { "parse + write is byte-identical", test_round_trip },
    { "the vmdesc found by its frame, 0x7b in its length", test_vmdesc_framing },
    { "decoded fields equal what QEMU reported", test_facts },
    { "no vmdesc: decoded with the twin's, as the twin", test_twins },
    { "device-state file: decoded with the stream's vmdesc, as the stream", test_devstate },
    { "device-state file: a cache decodes what changed; misfits kept as bytes",
      test_devstate_cache },
    { NULL, NULL },
};

static const CuTest broken_tests[] = {
    { "truncated at section boundaries and random offsets", test_truncated },
    { "a vmdesc that lies", test_vmdesc_lies },
    { "corrupted lengths, tags, footers", test_corrupted },
    { "streams as they come, broken: errors and findings", test_as_they_come_broken },
    { "random byte flips", test_random_flips },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "qemu-stream fixtures", fixture_tests },
    { "qemu-stream broken streams", broken_tests },
    { NULL, NULL },
};

int main(int argc, char **argv)
{
    fixtures_dir = argc > 1 ? g_strdup(argv[1]) : fixture_dir_default();
    int status = cutest_run(suites);
    g_free(fixtures_dir);
    return status;
}

/*
 * Real QEMU 7.2 migration streams (tests/fixtures/NAME.mig.gz) against
 * lib/qemu-stream/qemu-stream.c:
 *
 *   - every fixture parses, every section decoded, nothing unknown;
 *   - parse + write gives the input back byte for byte;
 *   - chosen fields decoded from the stream equal what QEMU reported over
 *     QMP when the stream was made (NAME.facts.json): machine, capabilities,
 *     UUID, RAM blocks, RTC date, PCI identity of every device, the e1000
 *     MAC, the run state, CPU registers;
 *   - broken streams (truncated at every section boundary and at random
 *     offsets, corrupted lengths and tags, a vmdesc that lies, random byte
 *     flips) fail with a clear error naming the offset, never a crash.
 *
 * Usage: test-stream-fixtures [DIR]   (default: $top_srcdir/tests/fixtures)
 */
#include "config.h"

#include <inttypes.h>
#include <time.h>

#include "cutest.h"
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

static QemuStream *parse_fixture(const char *name, GBytes **data_out)
{
    g_autoptr(GBytes) data = fixture_stream(fixtures_dir, name);
    GError *err = NULL;
    QemuStream *s = qemu_stream_parse(data, &err);
    if (!s) {
        fprintf(stderr, "\n%s: %s\n", name, err->message);
        g_error_free(err);
        return NULL;
    }
    if (data_out) {
        *data_out = g_bytes_ref(data);
    }
    return s;
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

/* The device section of PCI function 0000:00:SS.F, or NULL. */
static const QemuStreamSection *pci_section(const QemuStream *s, uint64_t slot, uint64_t fn)
{
    g_autofree char *prefix = g_strdup_printf("0000:00:%02" PRIx64 ".%" PRIx64 "/", slot, fn);
    for (size_t i = 0; i < qemu_stream_n_sections(s); i++) {
        const QemuStreamSection *sec = qemu_stream_section(s, i);
        if (sec->type == QEMU_VM_SECTION_FULL && g_str_has_prefix(sec->name, prefix)) {
            return sec;
        }
    }
    return NULL;
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

static void test_parse_all(void)
{
    g_autoptr(GPtrArray) names = fixture_names(fixtures_dir);
    CU_ASSERT_TRUE_FATAL(names->len >= 4);
    for (guint i = 0; i < names->len; i++) {
        const char *name = g_ptr_array_index(names, i);
        g_autoptr(GBytes) data = NULL;
        g_autoptr(QemuStream) s = parse_fixture(name, &data);
        CHECK(name, s != NULL, "does not parse");
        if (!s) {
            continue;
        }
        size_t full = 0, ram = 0;
        uint64_t prev_end = 0;
        for (size_t k = 0; k < qemu_stream_n_sections(s); k++) {
            const QemuStreamSection *sec = qemu_stream_section(s, k);
            CHECK(name, sec->type >= QEMU_VM_SECTION_START && sec->type <= QEMU_VM_SECTION_FULL,
                  "section %zu has type %u", k, sec->type);
            CHECK(name, qobject_type(sec->state) == QTYPE_DICT, "section %s not decoded",
                  sec->name);
            CHECK(name, sec->has_footer, "section %s without footer", sec->name);
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
        QObject *devices = qdict_get(qemu_stream_vmdesc(s), "devices");
        CHECK(name, full == qlist_size(devices), "%zu FULL sections, %zu vmdesc devices", full,
              qlist_size(devices));
        CHECK(name, ram >= 2, "only %zu RAM sections", ram);
        CHECK(name, full + ram == qemu_stream_n_sections(s), "sections other than RAM and FULL");
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
        const QemuStreamSection *sec = pci_section(s, slot, fn);
        CHECK(name, sec != NULL, "no section for PCI 00:%02" PRIx64 ".%" PRIx64, slot, fn);
        const char *cfg = sec ? pci_config_hex(sec->state) : NULL;
        CHECK(name, cfg != NULL, "no PCI config in section %s", sec ? sec->name : "?");
        if (!cfg) {
            continue;
        }
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
        if (strcmp(qdict_get_str(dev, "qdev_id"), "nic0") == 0) {
            sec = pci_section(s, uint_of(qdict_get(dev, "slot")),
                              uint_of(qdict_get(dev, "function")));
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
        check_runstate(name, s, facts);
        check_registers(name, s, facts);
    }
}

/* ---- broken streams ------------------------------------------------------ */

/* Parsing must fail with "offset N: ..." where N <= the data's length. */
static void expect_offset_error(const char *what, GBytes *data)
{
    GError *err = NULL;
    g_autoptr(QemuStream) s = qemu_stream_parse(data, &err);
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

static void expect_error(GBytes *data, const char *message)
{
    GError *err = NULL;
    g_autoptr(QemuStream) s = qemu_stream_parse(data, &err);
    CU_ASSERT_PTR_NULL(s);
    ASSERT_ERROR(err, message);
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

static uint64_t header_offset(const QemuStreamSection *sec)
{
    if (sec->type == QEMU_VM_SECTION_FULL || sec->type == QEMU_VM_SECTION_START) {
        return sec->offset - (1 + 4 + 1 + strlen(sec->name) + 4 + 4);
    }
    return sec->offset - 5;
}

static void test_truncated(void)
{
    g_autoptr(GPtrArray) names = fixture_names(fixtures_dir);
    for (guint i = 0; i < names->len; i++) {
        const char *name = g_ptr_array_index(names, i);
        g_autoptr(GBytes) data = NULL;
        g_autoptr(QemuStream) s = parse_fixture(name, &data);
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
            g_autofree char *what = g_strdup_printf("%s cut at %zu", name, cut);
            /* The stream ends early... */
            g_autoptr(GBytes) prefix = g_bytes_new_from_bytes(data, 0, cut);
            expect_offset_error(what, prefix);
            /*
             * ...or loses its middle but keeps EOF and vmdesc (a full decode each:
             * every cut for two fixtures, the random ones for all).
             */
            bool all_cuts = strcmp(name, "pc-plain") == 0 || strcmp(name, "q35-shared") == 0;
            if (cut < eof && (all_cuts || k >= cuts->len - 24)) {
                g_autoptr(GBytes) gap = splice(data, cut, eof);
                expect_offset_error(what, gap);
            }
        }
        g_array_free(cuts, TRUE);
    }
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
    msg = g_strdup_printf("offset %" PRIu64 ": section 'serial' (id 40): vmdesc version does not"
                          " match the section's version 3", serial->offset);
    expect_error(d8, msg);
    g_clear_pointer(&msg, g_free);

    /* A top-level field left out: the section seems to end early. */
    g_autoptr(QObject) v9 = qobject_copy(qemu_stream_vmdesc(s));
    vmdesc_field(vmdesc_device(v9, "mc146818rtc"), "next_alarm_time", &idx);
    json_object_array_del_idx(qdict_get(vmdesc_device(v9, "mc146818rtc"), "fields"), idx, 1);
    g_autoptr(GBytes) d9 = with_vmdesc(data, s, v9);
    const uint8_t *raw = g_bytes_get_data(data, NULL);
    msg = g_strdup_printf("offset %" PRIu64 ": section 'mc146818rtc' (id 19): expected section"
                          " footer (0x7e), found 0x%02x", rtc->offset + rtc->size - 8,
                          raw[rtc->offset + rtc->size - 8]);
    CU_ASSERT_NOT_EQUAL(raw[rtc->offset + rtc->size - 8], QEMU_VM_SECTION_FOOTER);
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
    const QemuStreamSection *timer = qemu_stream_find_section(s, "timer", 0);
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

    /* The vmdesc's length: no vmdesc to decode devices with. */
    uint8_t l = raw[eof + 5];
    uint8_t l2 = (uint8_t)(l + 1);
    g_autoptr(GBytes) vlen = patched(data, eof + 5, &l2, 1);
    msg = g_strdup_printf("offset %" PRIu64 ": section 'timer' (id 0): cannot decode: the stream"
                          " has no vmdesc at its end", timer->offset);
    expect_error(vlen, msg);
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
    { "every fixture parses, nothing unknown", test_parse_all },
    { "parse + write is byte-identical", test_round_trip },
    { "decoded fields equal what QEMU reported", test_facts },
    { NULL, NULL },
};

static const CuTest broken_tests[] = {
    { "truncated at section boundaries and random offsets", test_truncated },
    { "a vmdesc that lies", test_vmdesc_lies },
    { "corrupted lengths, tags, footers", test_corrupted },
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

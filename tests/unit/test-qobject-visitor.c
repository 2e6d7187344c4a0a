/* Unit tests for the QObject visitors. */
#include "config.h"

#include "cutest.h"
#include "vmscope/error.h"
#include "vmscope/qobject-visitor.h"

typedef struct Fifo {
    uint8_t count;
    uint8_t data[4];
} Fifo;

static bool visit_fifo(Visitor *v, const char *name, Fifo *f, GError **errp)
{
    size_t len = G_N_ELEMENTS(f->data);
    if (!visit_start_struct(v, name, NULL, errp)) {
        return false;
    }
    bool ok = visit_type_uint8(v, "count", &f->count, errp) &&
              visit_start_list(v, "data", &len, errp);
    if (ok) {
        for (size_t i = 0; ok && i < len; i++) {
            visit_next_list(v);
            ok = visit_type_uint8(v, NULL, &f->data[i], errp);
        }
        ok = ok && visit_check_list(v, errp);
        visit_end_list(v);
    }
    ok = ok && visit_check_struct(v, errp);
    visit_end_struct(v);
    return ok;
}

static void test_output_fifo(void)
{
    Fifo f = { 2, { 1, 2, 255, 0 } };
    GError *err = NULL;
    Visitor *v = qobject_output_visitor_new();
    CU_ASSERT_TRUE(visit_fifo(v, "fifo", &f, &err));
    ASSERT_NO_ERROR(err);
    g_autoptr(QObject) obj = qobject_output_visitor_take(v);
    visit_free(v);
    g_autofree char *text = qobject_to_json(obj, false);
    ASSERT_STR_EQ(text, "{\"count\":2,\"data\":[1,2,255,0]}");
}

/*
 * A struct with one of everything: every integer width at both ends of its
 * range, bools, a string, a double, a buffer, a nested struct, a list of
 * structs and a list of integers.
 */
typedef struct Timer {
    int64_t expire;
    bool enabled;
} Timer;

typedef struct Sample {
    int8_t i8_min, i8_max;
    int16_t i16_min, i16_max;
    int32_t i32_min, i32_max;
    int64_t i64_min, i64_max;
    uint8_t u8_min, u8_max;
    uint16_t u16_min, u16_max;
    uint32_t u32_min, u32_max;
    uint64_t u64_min, u64_max;
    bool yes, no;
    char *name;
    double ratio;
    uint8_t key[6];
    Timer main;
    Timer timers[3];
    uint32_t regs[4];
} Sample;

static bool visit_timer(Visitor *v, const char *name, Timer *t, GError **errp)
{
    if (!visit_start_struct(v, name, NULL, errp)) {
        return false;
    }
    bool ok = visit_type_int64(v, "expire", &t->expire, errp) &&
              visit_type_bool(v, "enabled", &t->enabled, errp) &&
              visit_check_struct(v, errp);
    visit_end_struct(v);
    return ok;
}

static bool visit_timers(Visitor *v, const char *name, Timer *t, size_t n, GError **errp)
{
    size_t len = n;
    if (!visit_start_list(v, name, &len, errp)) {
        return false;
    }
    bool ok = true;
    for (size_t i = 0; ok && i < len; i++) {
        visit_next_list(v);
        ok = visit_timer(v, NULL, &t[i], errp);
    }
    ok = ok && visit_check_list(v, errp);
    visit_end_list(v);
    return ok;
}

static bool visit_regs(Visitor *v, const char *name, uint32_t *regs, size_t n, GError **errp)
{
    size_t len = n;
    if (!visit_start_list(v, name, &len, errp)) {
        return false;
    }
    bool ok = true;
    for (size_t i = 0; ok && i < len; i++) {
        visit_next_list(v);
        ok = visit_type_uint32(v, NULL, &regs[i], errp);
    }
    ok = ok && visit_check_list(v, errp);
    visit_end_list(v);
    return ok;
}

static bool visit_sample(Visitor *v, const char *name, Sample *s, GError **errp)
{
    if (!visit_start_struct(v, name, NULL, errp)) {
        return false;
    }
    bool ok = visit_type_int8(v, "i8_min", &s->i8_min, errp) &&
              visit_type_int8(v, "i8_max", &s->i8_max, errp) &&
              visit_type_int16(v, "i16_min", &s->i16_min, errp) &&
              visit_type_int16(v, "i16_max", &s->i16_max, errp) &&
              visit_type_int32(v, "i32_min", &s->i32_min, errp) &&
              visit_type_int32(v, "i32_max", &s->i32_max, errp) &&
              visit_type_int64(v, "i64_min", &s->i64_min, errp) &&
              visit_type_int64(v, "i64_max", &s->i64_max, errp) &&
              visit_type_uint8(v, "u8_min", &s->u8_min, errp) &&
              visit_type_uint8(v, "u8_max", &s->u8_max, errp) &&
              visit_type_uint16(v, "u16_min", &s->u16_min, errp) &&
              visit_type_uint16(v, "u16_max", &s->u16_max, errp) &&
              visit_type_uint32(v, "u32_min", &s->u32_min, errp) &&
              visit_type_uint32(v, "u32_max", &s->u32_max, errp) &&
              visit_type_uint64(v, "u64_min", &s->u64_min, errp) &&
              visit_type_uint64(v, "u64_max", &s->u64_max, errp) &&
              visit_type_bool(v, "yes", &s->yes, errp) &&
              visit_type_bool(v, "no", &s->no, errp) &&
              visit_type_str(v, "name", &s->name, errp) &&
              visit_type_number(v, "ratio", &s->ratio, errp) &&
              visit_type_buffer(v, "key", s->key, sizeof(s->key), errp) &&
              visit_timer(v, "main", &s->main, errp) &&
              visit_timers(v, "timers", s->timers, G_N_ELEMENTS(s->timers), errp) &&
              visit_regs(v, "regs", s->regs, G_N_ELEMENTS(s->regs), errp) &&
              visit_check_struct(v, errp);
    visit_end_struct(v);
    return ok;
}

static void sample_init(Sample *s)
{
    memset(s, 0, sizeof(*s));      /* padding too: the tests memcmp */
    s->i8_min = INT8_MIN;
    s->i8_max = INT8_MAX;
    s->i16_min = INT16_MIN;
    s->i16_max = INT16_MAX;
    s->i32_min = INT32_MIN;
    s->i32_max = INT32_MAX;
    s->i64_min = INT64_MIN;
    s->i64_max = INT64_MAX;
    s->u8_min = 0;
    s->u8_max = UINT8_MAX;
    s->u16_min = 0;
    s->u16_max = UINT16_MAX;
    s->u32_min = 0;
    s->u32_max = UINT32_MAX;
    s->u64_min = 0;
    s->u64_max = UINT64_MAX;
    s->yes = true;
    s->no = false;
    s->name = (char *)"com1 \"tty\"";
    s->ratio = 0.1;
    static const uint8_t key[6] = { 0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff };
    memcpy(s->key, key, sizeof(key));
    s->main = (Timer){ -1, true };
    s->timers[0] = (Timer){ INT64_MIN, false };
    s->timers[1] = (Timer){ 0, true };
    s->timers[2] = (Timer){ 1000000000, false };
    s->regs[0] = 0;
    s->regs[1] = 1;
    s->regs[2] = 0xdeadbeef;
    s->regs[3] = UINT32_MAX;
}

static const char sample_json[] =
    "{\"i8_min\":-128,\"i8_max\":127,\"i16_min\":-32768,\"i16_max\":32767,"
    "\"i32_min\":-2147483648,\"i32_max\":2147483647,"
    "\"i64_min\":-9223372036854775808,\"i64_max\":9223372036854775807,"
    "\"u8_min\":0,\"u8_max\":255,\"u16_min\":0,\"u16_max\":65535,"
    "\"u32_min\":0,\"u32_max\":4294967295,\"u64_min\":0,\"u64_max\":18446744073709551615,"
    "\"yes\":true,\"no\":false,\"name\":\"com1 \\\"tty\\\"\",\"ratio\":0.10000000000000001,"
    "\"key\":\"00017f80feff\",\"main\":{\"expire\":-1,\"enabled\":true},"
    "\"timers\":[{\"expire\":-9223372036854775808,\"enabled\":false},"
    "{\"expire\":0,\"enabled\":true},{\"expire\":1000000000,\"enabled\":false}],"
    "\"regs\":[0,1,3735928559,4294967295]}";

static QObject *sample_to_qobject(Sample *s)
{
    GError *err = NULL;
    Visitor *v = qobject_output_visitor_new();
    CU_ASSERT_TRUE(visit_sample(v, "sample", s, &err));
    ASSERT_NO_ERROR(err);
    QObject *obj = qobject_output_visitor_take(v);
    visit_free(v);
    return obj;
}

/* Load `obj` into *out (zeroed first); returns the error, if any. */
static GError *sample_from_qobject(QObject *obj, Sample *out)
{
    GError *err = NULL;
    memset(out, 0, sizeof(*out));
    Visitor *v = qobject_input_visitor_new(obj);
    bool ok = visit_sample(v, "sample", out, &err);
    CU_ASSERT_EQUAL(ok, err == NULL);
    visit_free(v);
    return err;
}

/* Equal field by field: memcmp with the string compared apart. */
static void assert_sample_equal(Sample *a, Sample *b)
{
    ASSERT_STR_EQ(a->name, b->name);
    Sample ca = *a, cb = *b;
    ca.name = cb.name = NULL;
    CU_ASSERT_EQUAL(memcmp(&ca, &cb, sizeof(Sample)), 0);
}

static void test_output_sample(void)
{
    Sample s;
    sample_init(&s);
    g_autoptr(QObject) obj = sample_to_qobject(&s);
    g_autofree char *text = qobject_to_json(obj, false);
    ASSERT_STR_EQ(text, sample_json);
}

static void test_round_trip(void)
{
    Sample s, back;
    sample_init(&s);
    g_autoptr(QObject) obj = sample_to_qobject(&s);
    GError *err = sample_from_qobject(obj, &back);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_PTR_NOT_EQUAL(back.name, s.name);     /* a copy, owned by us */
    assert_sample_equal(&s, &back);
    CU_ASSERT_EQUAL(back.u64_max, UINT64_MAX);
    CU_ASSERT_EQUAL(back.i64_min, INT64_MIN);
    CU_ASSERT_EQUAL(back.ratio, 0.1);
    g_free(back.name);
}

static void test_round_trip_json(void)
{
    Sample s, back;
    GError *err = NULL;
    sample_init(&s);
    g_autoptr(QObject) obj = sample_to_qobject(&s);
    g_autofree char *text = qobject_to_json(obj, true);
    g_autoptr(QObject) parsed = NULL;
    CU_ASSERT_TRUE(qobject_from_json(text, strlen(text), &parsed, &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_TRUE(qobject_equal(obj, parsed));
    err = sample_from_qobject(parsed, &back);
    ASSERT_NO_ERROR(err);
    assert_sample_equal(&s, &back);
    g_free(back.name);
}

/* Parse a literal, the way the error tests write their inputs. */
static QObject *parse(const char *json)
{
    GError *err = NULL;
    QObject *obj = NULL;
    CU_ASSERT_TRUE(qobject_from_json(json, strlen(json), &obj, &err));
    ASSERT_NO_ERROR(err);
    return obj;
}

/* Sample's QObject with member `key` replaced by `json` (NULL: removed). */
static QObject *sample_with(const char *key, const char *json)
{
    Sample s;
    sample_init(&s);
    QObject *obj = sample_to_qobject(&s);
    if (json) {
        qdict_put(obj, key, parse(json));
    } else {
        CU_ASSERT_TRUE(qdict_del(obj, key));
    }
    return obj;
}

static void expect_sample_error(QObject *obj, VmsErrorCode code, const char *msg)
{
    Sample back;
    GError *err = sample_from_qobject(obj, &back);
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    CU_ASSERT_EQUAL(err->code, (gint)code);
    CU_ASSERT_EQUAL(err->domain, VMS_ERROR);
    ASSERT_ERROR(err, msg);
    g_free(back.name);
    qobject_unref(obj);
}

static void test_integer_errors(void)
{
    expect_sample_error(sample_with("i8_min", "-129"), VMS_ERROR_RANGE,
                        "sample.i8_min: value -129 out of range for int8");
    expect_sample_error(sample_with("i8_max", "128"), VMS_ERROR_RANGE,
                        "sample.i8_max: value 128 out of range for int8");
    expect_sample_error(sample_with("i8_max", "18446744073709551615"), VMS_ERROR_RANGE,
                        "sample.i8_max: value 18446744073709551615 out of range for int8");
    expect_sample_error(sample_with("i16_min", "-32769"), VMS_ERROR_RANGE,
                        "sample.i16_min: value -32769 out of range for int16");
    expect_sample_error(sample_with("i32_max", "2147483648"), VMS_ERROR_RANGE,
                        "sample.i32_max: value 2147483648 out of range for int32");
    expect_sample_error(sample_with("i64_max", "9223372036854775808"), VMS_ERROR_RANGE,
                        "sample.i64_max: value 9223372036854775808 out of range for int64");
    expect_sample_error(sample_with("u8_max", "256"), VMS_ERROR_RANGE,
                        "sample.u8_max: value 256 out of range for uint8");
    expect_sample_error(sample_with("u8_min", "-1"), VMS_ERROR_RANGE,
                        "sample.u8_min: value -1 out of range for uint8");
    expect_sample_error(sample_with("u16_max", "65536"), VMS_ERROR_RANGE,
                        "sample.u16_max: value 65536 out of range for uint16");
    expect_sample_error(sample_with("u32_max", "4294967296"), VMS_ERROR_RANGE,
                        "sample.u32_max: value 4294967296 out of range for uint32");
    expect_sample_error(sample_with("u64_min", "-1"), VMS_ERROR_RANGE,
                        "sample.u64_min: value -1 out of range for uint64");
    expect_sample_error(sample_with("u64_max", "-9223372036854775808"), VMS_ERROR_RANGE,
                        "sample.u64_max: value -9223372036854775808 out of range for uint64");
    expect_sample_error(sample_with("i32_min", "1.0"), VMS_ERROR_INVALID,
                        "sample.i32_min: expected int32, got number");
    expect_sample_error(sample_with("u16_min", "\"0\""), VMS_ERROR_INVALID,
                        "sample.u16_min: expected uint16, got string");
    expect_sample_error(sample_with("u64_max", "true"), VMS_ERROR_INVALID,
                        "sample.u64_max: expected uint64, got bool");
    expect_sample_error(sample_with("i64_min", "null"), VMS_ERROR_INVALID,
                        "sample.i64_min: expected int64, got null");
}

static void test_type_errors(void)
{
    expect_sample_error(sample_with("yes", "1"), VMS_ERROR_INVALID,
                        "sample.yes: expected bool, got int");
    expect_sample_error(sample_with("name", "5"), VMS_ERROR_INVALID,
                        "sample.name: expected string, got int");
    expect_sample_error(sample_with("ratio", "\"0.1\""), VMS_ERROR_INVALID,
                        "sample.ratio: expected number, got string");
    expect_sample_error(sample_with("main", "[]"), VMS_ERROR_INVALID,
                        "sample.main: expected object, got list");
    expect_sample_error(sample_with("timers", "{}"), VMS_ERROR_INVALID,
                        "sample.timers: expected list, got object");
    expect_sample_error(sample_with("regs", "null"), VMS_ERROR_INVALID,
                        "sample.regs: expected list, got null");

    g_autoptr(QObject) list = parse("[]");
    Sample back;
    memset(&back, 0, sizeof(back));
    GError *err = NULL;
    Visitor *v = qobject_input_visitor_new(list);
    CU_ASSERT_FALSE(visit_sample(v, "sample", &back, &err));
    ASSERT_ERROR(err, "sample: expected object, got list");
    visit_free(v);
}

static void test_number_accepts_int(void)
{
    Sample back;
    g_autoptr(QObject) obj = sample_with("ratio", "-3");
    GError *err = sample_from_qobject(obj, &back);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(back.ratio, -3.0);
    g_free(back.name);
}

static void test_buffer_errors(void)
{
    expect_sample_error(sample_with("key", "\"0001\""), VMS_ERROR_INVALID,
                        "sample.key: expected 6-byte hex buffer, got 2 bytes");
    expect_sample_error(sample_with("key", "\"00\""), VMS_ERROR_INVALID,
                        "sample.key: expected 6-byte hex buffer, got 1 byte");
    expect_sample_error(sample_with("key", "\"\""), VMS_ERROR_INVALID,
                        "sample.key: expected 6-byte hex buffer, got 0 bytes");
    expect_sample_error(sample_with("key", "\"00017f80feff00\""), VMS_ERROR_INVALID,
                        "sample.key: expected 6-byte hex buffer, got 7 bytes");
    expect_sample_error(sample_with("key", "\"00017f80fef\""), VMS_ERROR_INVALID,
                        "sample.key: expected 6-byte hex buffer, got 11 hex digits");
    expect_sample_error(sample_with("key", "\"00017f80fgff\""), VMS_ERROR_INVALID,
                        "sample.key: invalid hex digit at position 9");
    expect_sample_error(sample_with("key", "\" 0017f80feff\""), VMS_ERROR_INVALID,
                        "sample.key: invalid hex digit at position 0");
    expect_sample_error(sample_with("key", "[0,1,127,128,254,255]"), VMS_ERROR_INVALID,
                        "sample.key: expected 6-byte hex buffer, got list");
}

static void test_buffer_uppercase(void)
{
    Sample s, back;
    sample_init(&s);
    g_autoptr(QObject) obj = sample_with("key", "\"00017F80FEFF\"");
    GError *err = sample_from_qobject(obj, &back);
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(memcmp(back.key, s.key, sizeof(s.key)), 0);
    g_free(back.name);
}

static void test_missing_and_extra(void)
{
    expect_sample_error(sample_with("i16_max", NULL), VMS_ERROR_MISSING,
                        "sample.i16_max: missing");
    expect_sample_error(sample_with("regs", NULL), VMS_ERROR_MISSING, "sample.regs: missing");
    expect_sample_error(sample_with("foo", "1"), VMS_ERROR_EXTRA,
                        "sample: unexpected field 'foo'");

    QObject *obj = sample_with("foo", "1");
    qdict_put(obj, "bar", parse("{}"));
    expect_sample_error(obj, VMS_ERROR_EXTRA, "sample: unexpected fields 'foo', 'bar'");

    obj = sample_with("main", "{\"expire\":1,\"enabled\":true,\"period\":10}");
    expect_sample_error(obj, VMS_ERROR_EXTRA, "sample.main: unexpected field 'period'");
    obj = sample_with("main", "{\"enabled\":true}");
    expect_sample_error(obj, VMS_ERROR_MISSING, "sample.main.expire: missing");
}

static void test_list_errors(void)
{
    expect_sample_error(sample_with("regs", "[1,2,3]"), VMS_ERROR_MISSING,
                        "sample.regs: expected 4 elements, got 3");
    expect_sample_error(sample_with("regs", "[1,2,3,4,5]"), VMS_ERROR_EXTRA,
                        "sample.regs: expected 4 elements, got 5");
    expect_sample_error(sample_with("regs", "[]"), VMS_ERROR_MISSING,
                        "sample.regs: expected 4 elements, got 0");
    expect_sample_error(sample_with("regs", "[0,-5,0,0]"), VMS_ERROR_RANGE,
                        "sample.regs[1]: value -5 out of range for uint32");
    expect_sample_error(sample_with("regs", "[0,0,0,4294967296]"), VMS_ERROR_RANGE,
                        "sample.regs[3]: value 4294967296 out of range for uint32");
    expect_sample_error(sample_with("regs", "[0,0,\"x\",0]"), VMS_ERROR_INVALID,
                        "sample.regs[2]: expected uint32, got string");
    expect_sample_error(sample_with("timers", "[{\"expire\":0,\"enabled\":true},"
                                    "{\"expire\":0,\"enabled\":true},"
                                    "{\"expire\":\"soon\",\"enabled\":true}]"),
                        VMS_ERROR_INVALID, "sample.timers[2].expire: expected int64, got string");
    expect_sample_error(sample_with("timers", "[{\"expire\":0,\"enabled\":true},"
                                    "{\"expire\":0},"
                                    "{\"expire\":0,\"enabled\":true}]"),
                        VMS_ERROR_MISSING, "sample.timers[1].enabled: missing");
    expect_sample_error(sample_with("timers", "[{\"expire\":0,\"enabled\":true,\"x\":0},"
                                    "{\"expire\":0,\"enabled\":true},"
                                    "{\"expire\":0,\"enabled\":true}]"),
                        VMS_ERROR_EXTRA, "sample.timers[0]: unexpected field 'x'");
    expect_sample_error(sample_with("timers", "[{\"expire\":0,\"enabled\":true}, 7,"
                                    "{\"expire\":0,\"enabled\":true}]"),
                        VMS_ERROR_INVALID, "sample.timers[1]: expected object, got int");
}

/*
 * The device of the examples in the docs: a serial port whose FIFO is a list
 * of structs, so that errors have paths like "serial.fifo[3].data".
 */
typedef struct FifoEntry {
    uint8_t data;
    bool err;
} FifoEntry;

typedef struct Serial {
    uint8_t ier;
    FifoEntry fifo[4];
} Serial;

static bool visit_serial(Visitor *v, const char *name, Serial *s, GError **errp)
{
    size_t len = G_N_ELEMENTS(s->fifo);
    if (!visit_start_struct(v, name, NULL, errp)) {
        return false;
    }
    bool ok = visit_type_uint8(v, "ier", &s->ier, errp) &&
              visit_start_list(v, "fifo", &len, errp);
    if (ok) {
        for (size_t i = 0; ok && i < len; i++) {
            visit_next_list(v);
            ok = visit_start_struct(v, NULL, NULL, errp);
            if (ok) {
                ok = visit_type_uint8(v, "data", &s->fifo[i].data, errp) &&
                     visit_type_bool(v, "err", &s->fifo[i].err, errp) &&
                     visit_check_struct(v, errp);
                visit_end_struct(v);
            }
        }
        ok = ok && visit_check_list(v, errp);
        visit_end_list(v);
    }
    ok = ok && visit_check_struct(v, errp);
    visit_end_struct(v);
    return ok;
}

static void expect_serial(const char *json, const char *msg)
{
    g_autoptr(QObject) obj = parse(json);
    Serial s = { 0 };
    GError *err = NULL;
    Visitor *v = qobject_input_visitor_new(obj);
    bool ok = visit_serial(v, "serial", &s, &err);
    visit_free(v);
    if (msg) {
        CU_ASSERT_FALSE(ok);
        ASSERT_ERROR(err, msg);
    } else {
        CU_ASSERT_TRUE(ok);
        ASSERT_NO_ERROR(err);
        CU_ASSERT_EQUAL(s.ier, 1);
        CU_ASSERT_EQUAL(s.fifo[3].data, 4);
        CU_ASSERT_EQUAL(s.fifo[3].err, true);
    }
}

static void test_serial_paths(void)
{
    expect_serial("{\"ier\":1,\"fifo\":[{\"data\":1,\"err\":false},{\"data\":2,\"err\":false},"
                  "{\"data\":3,\"err\":false},{\"data\":4,\"err\":true}]}", NULL);
    expect_serial("{\"ier\":1,\"fifo\":[{\"data\":1,\"err\":false},{\"data\":2,\"err\":false},"
                  "{\"data\":3,\"err\":false},{\"data\":\"4\",\"err\":true}]}",
                  "serial.fifo[3].data: expected uint8, got string");
    expect_serial("{\"ier\":1,\"fifo\":[{\"data\":1,\"err\":false},{\"data\":2,\"err\":false},"
                  "{\"data\":3,\"err\":false},{\"data\":300,\"err\":true}]}",
                  "serial.fifo[3].data: value 300 out of range for uint8");
    expect_serial("{\"ier\":1,\"fifo\":[{\"data\":1,\"err\":false},{\"data\":2,\"err\":false},"
                  "{\"data\":3,\"err\":false},{\"err\":true}]}",
                  "serial.fifo[3].data: missing");
    expect_serial("{\"ier\":1,\"fifo\":[{\"data\":1,\"err\":false},{\"data\":2,\"err\":0},"
                  "{\"data\":3,\"err\":false},{\"data\":4,\"err\":true}]}",
                  "serial.fifo[1].err: expected bool, got int");
    expect_serial("{\"ier\":1,\"fifo\":[{\"data\":1,\"err\":false},{\"data\":2,\"err\":false},"
                  "{\"data\":3,\"err\":false}]}",
                  "serial.fifo: expected 4 elements, got 3");
    expect_serial("{\"fifo\":[]}", "serial.ier: missing");
}

/* A list of unknown length (VISIT_LEN_UNKNOWN), visited `visit` times at most. */
static bool visit_var_regs(Visitor *v, const char *name, GArray *regs, size_t visit,
                           size_t *len_out, GError **errp)
{
    size_t len = VISIT_LEN_UNKNOWN;
    if (!visit_start_list(v, name, &len, errp)) {
        return false;
    }
    *len_out = len;
    bool ok = true;
    for (size_t i = 0; ok && i < visit; i++) {
        uint16_t r = 0;
        visit_next_list(v);
        ok = visit_type_uint16(v, NULL, &r, errp);
        if (ok) {
            g_array_append_val(regs, r);
        }
    }
    ok = ok && visit_check_list(v, errp);
    visit_end_list(v);
    return ok;
}

static void test_list_unknown_length(void)
{
    g_autoptr(QObject) obj = parse("[7,8,65535]");
    g_autoptr(GArray) regs = g_array_new(FALSE, FALSE, sizeof(uint16_t));
    GError *err = NULL;
    size_t len = 0;

    Visitor *v = qobject_input_visitor_new(obj);
    CU_ASSERT_TRUE(visit_var_regs(v, "regs", regs, 3, &len, &err));
    ASSERT_NO_ERROR(err);
    visit_free(v);
    CU_ASSERT_EQUAL(len, 3);
    CU_ASSERT_EQUAL(regs->len, 3);
    CU_ASSERT_EQUAL(g_array_index(regs, uint16_t, 2), 65535);

    /* Fewer elements visited than the list has: the rest are left over. */
    g_array_set_size(regs, 0);
    v = qobject_input_visitor_new(obj);
    CU_ASSERT_FALSE(visit_var_regs(v, "regs", regs, 2, &len, &err));
    CU_ASSERT_EQUAL(err->code, VMS_ERROR_EXTRA);
    ASSERT_ERROR(err, "regs: unexpected element [2]");
    visit_free(v);

    /* Nameless at the top level: no path to show. */
    g_array_set_size(regs, 0);
    v = qobject_input_visitor_new(obj);
    CU_ASSERT_FALSE(visit_var_regs(v, NULL, regs, 0, &len, &err));
    ASSERT_ERROR(err, "unexpected element [0]");
    visit_free(v);

    /* More visited than there are. */
    g_array_set_size(regs, 0);
    v = qobject_input_visitor_new(obj);
    CU_ASSERT_FALSE(visit_var_regs(v, "regs", regs, 4, &len, &err));
    CU_ASSERT_EQUAL(err->code, VMS_ERROR_MISSING);
    ASSERT_ERROR(err, "regs[3]: missing");
    visit_free(v);
    CU_ASSERT_EQUAL(regs->len, 3);
}

static void test_leftover_in_nested_list(void)
{
    g_autoptr(QObject) obj = parse("{\"dev\":{\"regs\":[1,2,3,4]}}");
    g_autoptr(GArray) regs = g_array_new(FALSE, FALSE, sizeof(uint16_t));
    GError *err = NULL;
    size_t len = 0;
    Visitor *v = qobject_input_visitor_new(obj);
    CU_ASSERT_TRUE(visit_start_struct(v, "top", NULL, &err));
    CU_ASSERT_TRUE(visit_start_struct(v, "dev", NULL, &err));
    CU_ASSERT_FALSE(visit_var_regs(v, "regs", regs, 1, &len, &err));
    ASSERT_ERROR(err, "top.dev.regs: unexpected element [1]");
    visit_end_struct(v);
    visit_end_struct(v);
    visit_free(v);
}

/* Optional members, VisitStructInfo, top-level scalars, strings. */
static void test_optional(void)
{
    g_autoptr(QObject) obj = parse("{\"ier\":3,\"fifo\":{\"count\":2}}");
    GError *err = NULL;
    VisitStructInfo info = { VISIT_STRUCT_VMSD, "serial", 7 };
    VisitStructInfo sub = { VISIT_STRUCT_SUBSECTION, "serial/fifo", 1 };
    uint8_t ier = 0, count = 0;
    bool present = false;

    Visitor *v = qobject_input_visitor_new(obj);
    CU_ASSERT_TRUE(visit_start_struct(v, "serial", &info, &err));
    CU_ASSERT_EQUAL(info.version_id, 7);    /* a QObject carries no versions */
    CU_ASSERT_TRUE(visit_type_uint8(v, "ier", &ier, &err));
    CU_ASSERT_EQUAL(ier, 3);
    present = false;
    CU_ASSERT_TRUE(visit_optional(v, "fifo", &present));
    CU_ASSERT_TRUE(present);
    CU_ASSERT_TRUE(visit_start_struct(v, "fifo", &sub, &err));
    CU_ASSERT_TRUE(visit_type_uint8(v, "count", &count, &err));
    CU_ASSERT_EQUAL(count, 2);
    CU_ASSERT_TRUE(visit_check_struct(v, &err));
    visit_end_struct(v);
    present = true;
    CU_ASSERT_FALSE(visit_optional(v, "timer", &present));
    CU_ASSERT_FALSE(present);
    CU_ASSERT_TRUE(visit_check_struct(v, &err));
    visit_end_struct(v);
    ASSERT_NO_ERROR(err);
    visit_free(v);

    /* Present but not visited: left over. */
    v = qobject_input_visitor_new(obj);
    CU_ASSERT_TRUE(visit_start_struct(v, "serial", &info, &err));
    CU_ASSERT_TRUE(visit_type_uint8(v, "ier", &ier, &err));
    CU_ASSERT_TRUE(visit_optional(v, "fifo", &present));
    CU_ASSERT_FALSE(visit_check_struct(v, &err));
    ASSERT_ERROR(err, "serial: unexpected field 'fifo'");
    visit_end_struct(v);
    visit_free(v);

    /* The output visitor leaves an absent member out. */
    v = qobject_output_visitor_new();
    CU_ASSERT_TRUE(visit_start_struct(v, "serial", &info, &err));
    CU_ASSERT_TRUE(visit_type_uint8(v, "ier", &ier, &err));
    present = false;
    CU_ASSERT_FALSE(visit_optional(v, "fifo", &present));
    CU_ASSERT_TRUE(visit_check_struct(v, &err));
    visit_end_struct(v);
    ASSERT_NO_ERROR(err);
    g_autoptr(QObject) out = qobject_output_visitor_take(v);
    visit_free(v);
    g_autofree char *text = qobject_to_json(out, false);
    ASSERT_STR_EQ(text, "{\"ier\":3}");
}

static void test_top_level_scalars(void)
{
    GError *err = NULL;
    uint8_t u8 = 0;
    g_autoptr(QObject) five = qnum_from_int(5);
    Visitor *v = qobject_input_visitor_new(five);
    CU_ASSERT_TRUE(visit_type_uint8(v, NULL, &u8, &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_EQUAL(u8, 5);
    visit_free(v);

    g_autoptr(QObject) str = qstring_from_str("hello");
    char *s = NULL;
    v = qobject_input_visitor_new(str);
    CU_ASSERT_FALSE(visit_type_uint8(v, NULL, &u8, &err));
    ASSERT_ERROR(err, "expected uint8, got string");
    visit_free(v);      /* a failed walk stops */
    v = qobject_input_visitor_new(str);
    CU_ASSERT_TRUE(visit_type_str(v, "greeting", &s, &err));
    ASSERT_STR_EQ(s, "hello");
    CU_ASSERT_PTR_NOT_EQUAL(s, qstring_get(str));
    g_free(s);
    visit_free(v);

    v = qobject_input_visitor_new(qnull());
    CU_ASSERT_FALSE(visit_type_uint8(v, "x", &u8, &err));
    ASSERT_ERROR(err, "x: expected uint8, got null");
    visit_free(v);
}

/* visit_type_null both ways, and any QObject walked through a visitor. */
static void test_null_and_qobject_visit(void)
{
    GError *err = NULL;
    Visitor *v = qobject_output_visitor_new();
    CU_ASSERT_TRUE(visit_type_null(v, NULL, &err));
    g_autoptr(QObject) null = qobject_output_visitor_take(v);
    visit_free(v);
    CU_ASSERT_EQUAL(qobject_type(null), QTYPE_NULL);

    v = qobject_input_visitor_new(qnull());
    CU_ASSERT_TRUE(visit_type_null(v, "p", &err));
    visit_free(v);
    ASSERT_NO_ERROR(err);
    g_autoptr(QObject) one = qnum_from_int(1);
    v = qobject_input_visitor_new(one);
    CU_ASSERT_FALSE(visit_type_null(v, "p", &err));
    ASSERT_ERROR(err, "p: expected null, got int");
    visit_free(v);

    static const char text[] = "{\"a\":[1,-2,18446744073709551615,2.5,true,null,\"s\"],"
                               "\"b\":{\"c\":{}},\"d\":[]}";
    QObject *obj = NULL;
    CU_ASSERT_TRUE(qobject_from_json(text, strlen(text), &obj, &err));
    ASSERT_NO_ERROR(err);
    v = qobject_output_visitor_new();
    CU_ASSERT_TRUE(qobject_visit(v, "top", obj, &err));
    g_autoptr(QObject) copy = qobject_output_visitor_take(v);
    visit_free(v);
    g_autofree char *json = qobject_to_json(copy, false);
    ASSERT_STR_EQ(json, text);
    qobject_unref(obj);
}

/* ---- QMP wording ------------------------------------------------------------ */

/* Load `obj` with the QMP visitor; the error must have this code and text. */
static void expect_qmp_error(QObject *obj, VmsErrorCode code, const char *msg)
{
    Sample back;
    memset(&back, 0, sizeof(back));
    GError *err = NULL;
    Visitor *v = qobject_input_visitor_new_qmp(obj);
    CU_ASSERT_FALSE(visit_sample(v, "sample", &back, &err));
    visit_free(v);
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    CU_ASSERT_EQUAL(err->domain, VMS_ERROR);
    CU_ASSERT_EQUAL(err->code, (gint)code);
    ASSERT_ERROR(err, msg);
    g_free(back.name);
    qobject_unref(obj);
}

static void test_qmp_wording(void)
{
    /* What reads with the strict visitor reads with the QMP one. */
    Sample s, back;
    sample_init(&s);
    memset(&back, 0, sizeof(back));
    g_autoptr(QObject) obj = sample_to_qobject(&s);
    GError *err = NULL;
    Visitor *v = qobject_input_visitor_new_qmp(obj);
    CU_ASSERT_TRUE(visit_sample(v, "sample", &back, &err));
    ASSERT_NO_ERROR(err);
    visit_free(v);
    assert_sample_equal(&s, &back);
    g_free(back.name);

    expect_qmp_error(sample_with("i16_max", NULL), VMS_ERROR_MISSING,
                     "Parameter 'sample.i16_max' is missing");
    expect_qmp_error(sample_with("yes", "1"), VMS_ERROR_INVALID,
                     "Invalid parameter type for 'sample.yes', expected: boolean");
    expect_qmp_error(sample_with("name", "null"), VMS_ERROR_INVALID,
                     "Invalid parameter type for 'sample.name', expected: string");
    expect_qmp_error(sample_with("ratio", "\"0.1\""), VMS_ERROR_INVALID,
                     "Invalid parameter type for 'sample.ratio', expected: number");
    expect_qmp_error(sample_with("main", "[]"), VMS_ERROR_INVALID,
                     "Invalid parameter type for 'sample.main', expected: object");
    expect_qmp_error(sample_with("timers", "{}"), VMS_ERROR_INVALID,
                     "Invalid parameter type for 'sample.timers', expected: array");
    /* Integers: QEMU's int64 and uint64 texts. */
    expect_qmp_error(sample_with("i32_min", "1.0"), VMS_ERROR_INVALID,
                     "Invalid parameter type for 'sample.i32_min', expected: integer");
    expect_qmp_error(sample_with("i64_max", "9223372036854775808"), VMS_ERROR_RANGE,
                     "Invalid parameter type for 'sample.i64_max', expected: integer");
    expect_qmp_error(sample_with("u64_min", "-1"), VMS_ERROR_RANGE,
                     "Parameter 'sample.u64_min' expects uint64");
    expect_qmp_error(sample_with("u64_max", "true"), VMS_ERROR_INVALID,
                     "Parameter 'sample.u64_max' expects uint64");
    expect_qmp_error(sample_with("u16_min", "\"0\""), VMS_ERROR_INVALID,
                     "Parameter 'sample.u16_min' expects uint16");
    /* Narrower ranges are the core's. */
    expect_qmp_error(sample_with("u8_max", "256"), VMS_ERROR_RANGE,
                     "sample.u8_max: value 256 out of range for uint8");
    /* Buffers and fixed lists. */
    expect_qmp_error(sample_with("key", "\"0001\""), VMS_ERROR_INVALID,
                     "Parameter 'sample.key' expects 6-byte hex buffer");
    expect_qmp_error(sample_with("key", "\"00017f80fef\""), VMS_ERROR_INVALID,
                     "Parameter 'sample.key' expects 6-byte hex buffer");
    expect_qmp_error(sample_with("key", "\"00017f80fgff\""), VMS_ERROR_INVALID,
                     "Parameter 'sample.key' expects 6-byte hex buffer");
    expect_qmp_error(sample_with("key", "[0]"), VMS_ERROR_INVALID,
                     "Invalid parameter type for 'sample.key', expected: string");
    expect_qmp_error(sample_with("regs", "[1,2,3]"), VMS_ERROR_MISSING,
                     "Parameter 'sample.regs' expects 4 elements");
    /* Paths inside lists and structs, as everywhere. */
    expect_qmp_error(sample_with("timers", "[{\"expire\":0,\"enabled\":true},"
                                 "{\"expire\":0,\"enabled\":true},"
                                 "{\"expire\":\"soon\",\"enabled\":true}]"),
                     VMS_ERROR_INVALID,
                     "Invalid parameter type for 'sample.timers[2].expire', expected: integer");
    expect_qmp_error(sample_with("timers", "[{\"expire\":0,\"enabled\":true},"
                                 "{\"expire\":0},"
                                 "{\"expire\":0,\"enabled\":true}]"),
                     VMS_ERROR_MISSING, "Parameter 'sample.timers[1].enabled' is missing");
    /* Members nobody visited: the first, by its path. */
    QObject *extra = sample_with("foo", "1");
    qdict_put(extra, "bar", parse("{}"));
    expect_qmp_error(extra, VMS_ERROR_EXTRA, "Parameter 'sample.foo' is unexpected");
    expect_qmp_error(sample_with("main", "{\"expire\":1,\"enabled\":true,\"period\":10}"),
                     VMS_ERROR_EXTRA, "Parameter 'sample.main.period' is unexpected");

    /* Elements nobody visited. */
    g_autoptr(QObject) list = parse("{\"dev\":{\"regs\":[1,2,3,4]}}");
    g_autoptr(GArray) regs = g_array_new(FALSE, FALSE, sizeof(uint16_t));
    size_t len = 0;
    v = qobject_input_visitor_new_qmp(list);
    CU_ASSERT_TRUE(visit_start_struct(v, NULL, NULL, &err));
    CU_ASSERT_TRUE(visit_start_struct(v, "dev", NULL, &err));
    CU_ASSERT_FALSE(visit_var_regs(v, "regs", regs, 1, &len, &err));
    CU_ASSERT_EQUAL(err->code, VMS_ERROR_EXTRA);
    ASSERT_ERROR(err, "Only 1 list elements expected in dev.regs");
    visit_free(v);
}

/* Any value, for QMP arguments that take one: a reference, null included. */
static void test_visit_any(void)
{
    g_autoptr(QObject) obj = parse("{\"data\":{\"a\":[1]},\"none\":null}");
    GError *err = NULL;
    Visitor *v = qobject_input_visitor_new_qmp(obj);
    CU_ASSERT_TRUE(visit_start_struct(v, NULL, NULL, &err));
    g_autoptr(QObject) data = NULL;
    QObject *none = obj;     /* not NULL: to see it set */
    CU_ASSERT_TRUE(qobject_input_visit_any(v, "data", &data, &err));
    CU_ASSERT_TRUE(qobject_input_visit_any(v, "none", &none, &err));
    ASSERT_NO_ERROR(err);
    CU_ASSERT_PTR_NULL(none);
    g_autofree char *text = qobject_to_json(data, false);
    ASSERT_STR_EQ(text, "{\"a\":[1]}");
    CU_ASSERT_FALSE(qobject_input_visit_any(v, "more", &data, &err));
    ASSERT_ERROR(err, "Parameter 'more' is missing");
    CU_ASSERT_TRUE(visit_check_struct(v, &err));
    ASSERT_NO_ERROR(err);
    visit_end_struct(v);
    visit_free(v);
}

static const CuTest output_tests[] = {
    { "fifo", test_output_fifo },
    { "sample", test_output_sample },
    { "null, and any QObject walked", test_null_and_qobject_visit },
    { NULL, NULL },
};

static const CuTest input_tests[] = {
    { "round trip C -> QObject -> C", test_round_trip },
    { "round trip C -> QObject -> JSON -> QObject -> C", test_round_trip_json },
    { "integer errors", test_integer_errors },
    { "type errors", test_type_errors },
    { "number accepts int", test_number_accepts_int },
    { "buffer errors", test_buffer_errors },
    { "buffer uppercase hex", test_buffer_uppercase },
    { "missing and extra members", test_missing_and_extra },
    { "list errors", test_list_errors },
    { "serial paths", test_serial_paths },
    { "list of unknown length", test_list_unknown_length },
    { "leftover in nested list", test_leftover_in_nested_list },
    { "optional members", test_optional },
    { "top-level scalars", test_top_level_scalars },
    { "QMP wording", test_qmp_wording },
    { "any value", test_visit_any },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "qobject-output-visitor", output_tests },
    { "qobject-input-visitor", input_tests },
    { NULL, NULL },
};

CUTEST_MAIN(suites)

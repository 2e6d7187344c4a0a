/* Unit tests for the QObject visitors. */
#include "config.h"

#include "cutest.h"
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

static const CuTest output_tests[] = {
    { "fifo", test_output_fifo },
    { NULL, NULL },
};

static const CuSuite suites[] = {
    { "qobject-output-visitor", output_tests },
    { NULL, NULL },
};

CUTEST_MAIN(suites)

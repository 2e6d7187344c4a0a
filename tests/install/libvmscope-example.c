/*
 * A program of someone else's that uses libvmscope through its public
 * headers only, built as its author would:
 *
 *   cc -o example libvmscope-example.c $(pkg-config --cflags --libs vmscope)
 *
 * It reads a device's registers from JSON with the strict QObject input
 * visitor, changes one, writes them back out through the QObject output
 * visitor, and checks that bad input is refused with the field's path.
 * Prints the JSON it made; exits 0 when everything came out as expected.
 * Built in the tree against the shared library (make check) and, by
 * scripts/test-packages.sh, against the installed one.
 */
#include <stdio.h>
#include <string.h>

#include <vmscope/qobject.h>
#include <vmscope/qobject-visitor.h>
#include <vmscope/visitor.h>

typedef struct Uart {
    char *model;
    uint8_t irq;
    uint32_t regs[3];
} Uart;

/* One walk for both directions, as the Visitor interface intends. */
static bool visit_uart(Visitor *v, Uart *u, GError **errp)
{
    size_t n = G_N_ELEMENTS(u->regs);
    bool ok = visit_start_struct(v, "uart", NULL, errp);
    if (!ok) {
        return false;
    }
    ok = visit_type_str(v, "model", &u->model, errp) &&
         visit_type_uint8(v, "irq", &u->irq, errp) &&
         visit_start_list(v, "regs", &n, errp);
    if (ok) {
        for (size_t i = 0; ok && i < n; i++) {
            visit_next_list(v);
            ok = visit_type_uint32(v, NULL, &u->regs[i], errp);
        }
        ok = ok && visit_check_list(v, errp);
        visit_end_list(v);
    }
    ok = ok && visit_check_struct(v, errp);
    visit_end_struct(v);
    return ok;
}

/* Parse text into *u; false with *errp set on anything that does not fit. */
static bool uart_from_json(const char *text, Uart *u, GError **errp)
{
    g_autoptr(QObject) obj = NULL;
    if (!qobject_from_json(text, strlen(text), &obj, errp)) {
        return false;
    }
    Visitor *v = qobject_input_visitor_new(obj);
    bool ok = visit_uart(v, u, errp);
    visit_free(v);
    return ok;
}

static char *uart_to_json(Uart *u)
{
    Visitor *v = qobject_output_visitor_new();
    GError *err = NULL;
    if (!visit_uart(v, u, &err)) {
        g_error_free(err);
        visit_free(v);
        return NULL;
    }
    g_autoptr(QObject) out = qobject_output_visitor_take(v);
    visit_free(v);
    return qobject_to_json(out, false);
}

static int check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "libvmscope-example: FAIL: %s\n", what);
    }
    return ok ? 0 : 1;
}

int main(void)
{
    int failures = 0;
    Uart u = { 0 };
    g_autoptr(GError) err = NULL;

    failures += check(uart_from_json("{\"model\": \"16550A\", \"irq\": 4, \"regs\": [1, 2, 3]}",
                                     &u, &err), "read a device from JSON");
    u.regs[2] = 4000000000u;
    g_autofree char *json = uart_to_json(&u);
    printf("%s\n", json ? json : "(none)");
    const char *want = "{\"model\":\"16550A\",\"irq\":4,\"regs\":[1,2,4000000000]}";
    failures += check(g_strcmp0(json, want) == 0, "write it back as JSON");
    g_free(u.model);

    Uart bad = { 0 };
    g_clear_error(&err);
    failures += check(!uart_from_json("{\"model\": \"x\", \"irq\": 300, \"regs\": [1, 2, 3]}",
                                      &bad, &err), "refuse an irq out of range");
    failures += check(err && strstr(err->message, "uart.irq") != NULL,
                      "name the field in the error");
    if (err) {
        printf("error: %s\n", err->message);
    }
    g_free(bad.model);
    return failures ? 1 : 0;
}

/*
 * What differs between two migration streams, field by field: the decoded
 * states of device sections matched by name and instance (and by order
 * among sections of the same name and instance), the
 * configuration, and the raw bytes of iterative sections (RAM).
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "qemu-stream-impl.h"

/* Lines "PATH: A -> B" for the values that differ, "(absent)" for a side without one. */
static void diff_values(const char *path, const QObject *a, const QObject *b, GPtrArray *lines)
{
    g_autoptr(GPtrArray) diffs = qobject_diff(a, b, path);
    for (guint i = 0; i < diffs->len; i++) {
        const QObjectDiff *d = g_ptr_array_index(diffs, i);
        g_autofree char *ta = NULL, *tb = NULL;
        if (d->kind != QOBJECT_DIFF_ADDED) {
            ta = qobject_to_json(d->before, false);
        }
        if (d->kind != QOBJECT_DIFF_REMOVED) {
            tb = qobject_to_json(d->after, false);
        }
        g_ptr_array_add(lines, g_strdup_printf("%s: %s -> %s", d->path, ta ? ta : "(absent)",
                                               tb ? tb : "(absent)"));
    }
}

static bool is_first(const QemuStreamSection *sec)
{
    return sec->type == QEMU_VM_SECTION_FULL || sec->type == QEMU_VM_SECTION_START;
}

/* Is sec the same section as like: name, instance, and kind (full or iterative)? */
static bool same_key(const QemuStreamSection *sec, const QemuStreamSection *like)
{
    return strcmp(sec->name, like->name) == 0 && sec->instance_id == like->instance_id &&
           (sec->type == QEMU_VM_SECTION_FULL) == (like->type == QEMU_VM_SECTION_FULL);
}

/*
 * A stream may carry one name:instance more than once.  Such sections are
 * paired by order: the n-th of that key in A with the n-th in B.  This is
 * the n (from 0) of sec among the first parts of its key in s.
 */
static size_t rank(const QemuStream *s, const QemuStreamSection *sec)
{
    size_t n = 0;
    for (size_t i = 0; i < s->sections->len; i++) {
        const QemuStreamSection *x = g_ptr_array_index(s->sections, i);
        if (x == sec) {
            break;
        }
        n += is_first(x) && same_key(x, sec);
    }
    return n;
}

/* The n-th first part (FULL or START) of like's key in s, or NULL. */
static const QemuStreamSection *nth_first(const QemuStream *s, const QemuStreamSection *like,
                                          size_t n)
{
    for (size_t i = 0; i < s->sections->len; i++) {
        const QemuStreamSection *x = g_ptr_array_index(s->sections, i);
        if (is_first(x) && same_key(x, like) && n-- == 0) {
            return x;
        }
    }
    return NULL;
}

/* "dev:1", and "dev:1#2" for the second section of that name and instance. */
static char *pair_name(const QemuStreamSection *sec, size_t n)
{
    g_autofree char *name = qemu_stream_section_display_name(sec);
    return n == 0 ? g_steal_pointer(&name) : g_strdup_printf("%s#%zu", name, n + 1);
}

/* The sections of `s` that carry `name:instance`, in order (all parts of an iterative one). */
static GPtrArray *sections_named(const QemuStream *s, const QemuStreamSection *like)
{
    GPtrArray *out = g_ptr_array_new();
    for (size_t i = 0; i < s->sections->len; i++) {
        QemuStreamSection *sec = g_ptr_array_index(s->sections, i);
        if (same_key(sec, like)) {
            g_ptr_array_add(out, sec);
        }
    }
    return out;
}

static void diff_section(const QemuStream *a, const QemuStream *b, const QemuStreamSection *sa,
                         GPtrArray *lines)
{
    size_t n = rank(a, sa);
    g_autofree char *name = pair_name(sa, n);
    const QemuStreamSection *sb = nth_first(b, sa, n);
    if (!sb) {
        g_ptr_array_add(lines, g_strdup_printf("%s: only in A", name));
        return;
    }
    if (sa->version_id != sb->version_id) {
        g_ptr_array_add(lines, g_strdup_printf("%s: version-id %" PRIu32 " -> %" PRIu32, name,
                                               sa->version_id, sb->version_id));
    }
    if (sa->type == QEMU_VM_SECTION_FULL) {
        diff_values(name, sa->state, sb->state, lines);
        return;
    }
    if (n > 0) {
        return;     /* the parts of every iterative section of this key are compared below */
    }
    g_autoptr(GPtrArray) in_a = sections_named(a, sa);
    g_autoptr(GPtrArray) in_b = sections_named(b, sa);
    bool same = in_a->len == in_b->len;
    for (size_t i = 0; same && i < in_a->len; i++) {
        const QemuStreamSection *x = g_ptr_array_index(in_a, i);
        const QemuStreamSection *y = g_ptr_array_index(in_b, i);
        same = x->type == y->type && g_bytes_equal(x->payload, y->payload);
    }
    if (!same) {
        g_ptr_array_add(lines, g_strdup_printf("%s: payload differs", name));
    }
}

GPtrArray *qemu_stream_diff(const QemuStream *a, const QemuStream *b)
{
    GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);

    if (a->has_config && b->has_config) {
        diff_values("configuration", a->config, b->config, lines);
    } else if (a->has_config != b->has_config) {
        g_ptr_array_add(lines, g_strdup_printf("configuration: only in %s",
                                               a->has_config ? "A" : "B"));
    }
    for (size_t i = 0; i < a->sections->len; i++) {
        const QemuStreamSection *sa = g_ptr_array_index(a->sections, i);
        if (is_first(sa)) {
            diff_section(a, b, sa, lines);
        }
    }
    for (size_t i = 0; i < b->sections->len; i++) {
        const QemuStreamSection *sb = g_ptr_array_index(b->sections, i);
        if (!is_first(sb)) {
            continue;
        }
        size_t n = rank(b, sb);
        if (!nth_first(a, sb, n)) {
            g_autofree char *name = pair_name(sb, n);
            g_ptr_array_add(lines, g_strdup_printf("%s: only in B", name));
        }
    }
    return lines;
}

/* Where two QObject trees differ; see qobject_diff() in include/vmscope/qobject.h. */
#include "config.h"

#include "vmscope/qobject.h"

static void diff_free(gpointer p)
{
    QObjectDiff *d = p;
    g_free(d->path);
    g_free(d);
}

static void add(GPtrArray *out, QObjectDiffKind kind, char *path, const QObject *before,
                const QObject *after)
{
    QObjectDiff *d = g_new(QObjectDiff, 1);
    *d = (QObjectDiff){ .kind = kind, .path = path, .before = before, .after = after };
    g_ptr_array_add(out, d);
}

static char *member_path(const char *path, const char *key)
{
    return path[0] ? g_strconcat(path, ".", key, NULL) : g_strdup(key);
}

static void diff_into(GPtrArray *out, const char *path, const QObject *a, const QObject *b)
{
    QType ta = qobject_type(a), tb = qobject_type(b);
    if (ta == QTYPE_DICT && tb == QTYPE_DICT) {
        qdict_foreach(b, key, bval) {
            char *p = member_path(path, key);
            if (qdict_haskey(a, key)) {
                diff_into(out, p, qdict_get(a, key), bval);
                g_free(p);
            } else {
                add(out, QOBJECT_DIFF_ADDED, p, NULL, bval);
            }
        }
        qdict_foreach(a, gone, aval) {   /* json-c declares the names: not `key` again */
            if (!qdict_haskey(b, gone)) {
                add(out, QOBJECT_DIFF_REMOVED, member_path(path, gone), aval, NULL);
            }
        }
        return;
    }
    if (ta == QTYPE_LIST && tb == QTYPE_LIST) {
        size_t na = qlist_size(a), nb = qlist_size(b);
        for (size_t i = 0; i < MAX(na, nb); i++) {
            char *p = g_strdup_printf("%s[%zu]", path, i);
            if (i < na && i < nb) {
                diff_into(out, p, qlist_get(a, i), qlist_get(b, i));
                g_free(p);
            } else if (i < na) {
                add(out, QOBJECT_DIFF_REMOVED, p, qlist_get(a, i), NULL);
            } else {
                add(out, QOBJECT_DIFF_ADDED, p, NULL, qlist_get(b, i));
            }
        }
        return;
    }
    if (!qobject_equal(a, b)) {
        add(out, QOBJECT_DIFF_CHANGED, g_strdup(path), a, b);
    }
}

GPtrArray *qobject_diff(const QObject *before, const QObject *after, const char *root)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(diff_free);
    diff_into(out, root ? root : "", before, after);
    return out;
}

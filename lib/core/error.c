/*
 * vmscope error domain: see include/vmscope/error.h.
 *
 * The domain is a GLib extended error: every GError of it carries a
 * VmsErrorPrivate with the location, and error_message() below is the one
 * place where a location is turned into text.
 */
#include "config.h"

#include <inttypes.h>

#include "vmscope/error.h"

typedef struct VmsErrorPrivate {
    uint64_t offset;        /* VMS_NO_OFFSET: unknown */
    char *where;
    char *path;
    char *text;             /* NULL: the error was set without a location */
} VmsErrorPrivate;

static void vms_error_private_init(VmsErrorPrivate *priv)
{
    priv->offset = VMS_NO_OFFSET;
}

static void vms_error_private_copy(const VmsErrorPrivate *src, VmsErrorPrivate *dest)
{
    dest->offset = src->offset;
    dest->where = g_strdup(src->where);
    dest->path = g_strdup(src->path);
    dest->text = g_strdup(src->text);
}

static void vms_error_private_clear(VmsErrorPrivate *priv)
{
    g_free(priv->where);
    g_free(priv->path);
    g_free(priv->text);
}

G_DEFINE_EXTENDED_ERROR(VmsError, vms_error)

static const char *nonempty(const char *s)
{
    return s && *s ? s : NULL;
}

/* "offset N: WHERE: PATH: TEXT", leaving out the parts that are unknown. */
static char *error_message(uint64_t offset, const char *where, const char *path, const char *text)
{
    GString *s = g_string_new(NULL);
    if (offset != VMS_NO_OFFSET) {
        g_string_append_printf(s, "offset %" PRIu64 ": ", offset);
    }
    if (nonempty(where)) {
        g_string_append_printf(s, "%s: ", where);
    }
    if (nonempty(path)) {
        g_string_append_printf(s, "%s: ", path);
    }
    g_string_append(s, text);
    return g_string_free(s, FALSE);
}

void vms_error_set_at(GError **errp, VmsErrorCode code, uint64_t offset, const char *where,
                      const char *path, const char *fmt, ...)
{
    if (!errp) {
        return;
    }
    g_return_if_fail(*errp == NULL);
    va_list ap;
    va_start(ap, fmt);
    char *text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_autofree char *message = error_message(offset, where, path, text);
    GError *err = g_error_new_literal(VMS_ERROR, code, message);
    VmsErrorPrivate *priv = vms_error_get_private(err);
    priv->offset = offset;
    priv->where = g_strdup(nonempty(where));
    priv->path = g_strdup(nonempty(path));
    priv->text = text;
    *errp = err;
}

/* "prefix" + "path": joined with '.' unless the path is an index ("[3]..."). */
static char *join_path(const char *prefix, const char *path)
{
    if (!nonempty(prefix)) {
        return g_strdup(path);
    }
    if (!nonempty(path)) {
        return g_strdup(prefix);
    }
    return g_strconcat(prefix, path[0] == '[' ? "" : ".", path, NULL);
}

void vms_error_locate(GError *err, uint64_t offset, const char *where, const char *path_prefix)
{
    VmsErrorPrivate *priv = vms_error_get_private(err);
    if (!priv) {
        g_autofree char *old = err->message;
        err->message = error_message(offset, where, path_prefix, old);
        return;
    }
    if (!priv->text) {
        priv->text = g_strdup(err->message);
    }
    if (priv->offset == VMS_NO_OFFSET) {
        priv->offset = offset;
    }
    if (!priv->where && nonempty(where)) {
        priv->where = g_strdup(where);
    }
    if (nonempty(path_prefix)) {
        char *path = join_path(path_prefix, priv->path);
        g_free(priv->path);
        priv->path = path;
    }
    g_free(err->message);
    err->message = error_message(priv->offset, priv->where, priv->path, priv->text);
}

bool vms_error_offset(const GError *err, uint64_t *offset)
{
    const VmsErrorPrivate *priv = vms_error_get_private(err);
    if (!priv || priv->offset == VMS_NO_OFFSET) {
        return false;
    }
    *offset = priv->offset;
    return true;
}

const char *vms_error_where(const GError *err)
{
    const VmsErrorPrivate *priv = vms_error_get_private(err);
    return priv ? priv->where : NULL;
}

const char *vms_error_path(const GError *err)
{
    const VmsErrorPrivate *priv = vms_error_get_private(err);
    return priv ? priv->path : NULL;
}

const char *vms_error_text(const GError *err)
{
    const VmsErrorPrivate *priv = vms_error_get_private(err);
    return priv && priv->text ? priv->text : err->message;
}

void vms_error_prefix(GError **errp, const char *fmt, ...)
{
    if (!errp || !*errp) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *prefix = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_prefix_error(errp, "%s: ", prefix);
}

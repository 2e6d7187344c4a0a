/*
 * QEMU monitors found in a directory: see qemu-dir.h.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "qemu-dir.h"
#include "vmscope/error.h"
#include "vmscope/shm-segment.h"

struct AgentQemuDir {
    char *dir;
    GMainContext *ctx;
    AgentEventFunc emit;
    void *emit_opaque;
    AgentQemuDirFunc changed;
    void *changed_opaque;
    AgentErrorFunc error;
    void *error_opaque;
    GHashTable *hosts;             /* file name -> AgentQemu * */
    const AgentQemuOptions *opts;  /* borrowed, or NULL */
    GHashTable *told;              /* error messages told already (set) */
    GSource *source;
};

/* An error, told once for as long as it lasts (told is reset at each poll). */
static void tell(AgentQemuDir *d, GHashTable *seen, GError *err)
{
    g_hash_table_add(seen, g_strdup(err->message));
    if (!g_hash_table_contains(d->told, err->message) && d->error) {
        d->error(err, d->error_opaque);
    }
    g_error_free(err);
}

/* The names of the sockets in the directory that can be hosts; NULL if it cannot be read. */
static GHashTable *list_sockets(AgentQemuDir *d, GHashTable *seen)
{
    DIR *dir = opendir(d->dir);
    if (!dir) {
        int e = errno;
        tell(d, seen, g_error_new(VMS_ERROR, VMS_ERROR_IO, "--qemu-dir %s: %s", d->dir,
                                  g_strerror(e)));
        return NULL;
    }
    GHashTable *names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    struct dirent *de;
    while ((de = readdir(dir))) {
        struct stat st;
        if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISSOCK(st.st_mode)) {
            continue;   /* gone meanwhile, or not a monitor */
        }
        GError *err = NULL;
        if (!shm_host_name_valid(de->d_name, &err)) {
            vms_error_prefix(&err, "--qemu-dir %s: socket skipped", d->dir);
            tell(d, seen, err);
            continue;
        }
        g_hash_table_add(names, g_strdup(de->d_name));
    }
    closedir(dir);
    return names;
}

static int compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void host_remove(AgentQemuDir *d, const char *name, const char *reason)
{
    AgentQemu *q = g_hash_table_lookup(d->hosts, name);
    if (reason) {
        agent_qemu_lost(q, reason);
    }
    if (d->changed) {
        d->changed(q, false, d->changed_opaque);
    }
    g_hash_table_remove(d->hosts, name);     /* frees q */
}

void agent_qemu_dir_poll(AgentQemuDir *d)
{
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GHashTable) names = list_sockets(d, seen);
    g_hash_table_unref(d->told);
    d->told = g_steal_pointer(&seen);
    if (!names) {
        return;     /* an unreadable directory changes nothing: told, tried again */
    }

    g_autoptr(GPtrArray) gone = g_ptr_array_new_with_free_func(g_free);
    GHashTableIter it;
    gpointer key;
    g_hash_table_iter_init(&it, d->hosts);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        if (!g_hash_table_contains(names, key)) {
            g_ptr_array_add(gone, g_strdup(key));
        }
    }
    for (guint i = 0; i < gone->len; i++) {
        const char *name = g_ptr_array_index(gone, i);
        g_autofree char *reason = g_strdup_printf("its monitor socket %s/%s was removed",
                                                  d->dir, name);
        host_remove(d, name, reason);
    }

    /* New ones in name order, so that they are listed in a stable order. */
    g_autoptr(GPtrArray) sorted = g_ptr_array_new();
    g_hash_table_iter_init(&it, names);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        g_ptr_array_add(sorted, key);
    }
    g_ptr_array_sort(sorted, compare_names);
    for (guint i = 0; i < sorted->len; i++) {
        const char *name = g_ptr_array_index(sorted, i);
        if (g_hash_table_contains(d->hosts, name)) {
            continue;
        }
        g_autofree char *address = g_strdup_printf("unix:%s/%s", d->dir, name);
        AgentQemu *q = agent_qemu_new(name, address, d->ctx, d->emit, d->emit_opaque,
                                      d->opts);
        g_hash_table_insert(d->hosts, g_strdup(name), q);
        if (d->changed) {
            d->changed(q, true, d->changed_opaque);
        }
    }
}

static gboolean on_poll(gpointer data)
{
    agent_qemu_dir_poll(data);
    return G_SOURCE_CONTINUE;
}

AgentQemuDir *agent_qemu_dir_new(const char *dir, GMainContext *ctx, AgentEventFunc emit,
                                 void *emit_opaque, AgentQemuDirFunc changed,
                                 void *changed_opaque)
{
    AgentQemuDir *d = g_new0(AgentQemuDir, 1);
    d->dir = g_strdup(dir);
    d->ctx = ctx;
    d->emit = emit;
    d->emit_opaque = emit_opaque;
    d->changed = changed;
    d->changed_opaque = changed_opaque;
    d->hosts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                     (GDestroyNotify)agent_qemu_free);
    d->told = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    d->source = g_timeout_source_new(AGENT_QEMU_POLL_MS);
    g_source_set_callback(d->source, on_poll, d, NULL);
    g_source_attach(d->source, ctx);
    return d;
}

void agent_qemu_dir_set_error_func(AgentQemuDir *d, AgentErrorFunc fn, void *opaque)
{
    d->error = fn;
    d->error_opaque = opaque;
}

void agent_qemu_dir_free(AgentQemuDir *d)
{
    if (!d) {
        return;
    }
    g_source_destroy(d->source);
    g_source_unref(d->source);
    g_autofree gpointer *names = g_hash_table_get_keys_as_array(d->hosts, NULL);
    for (guint i = 0; names[i]; i++) {
        g_autofree char *name = g_strdup(names[i]);
        host_remove(d, name, NULL);
    }
    g_hash_table_unref(d->hosts);
    g_hash_table_unref(d->told);
    g_free(d->dir);
    g_free(d);
}

void agent_qemu_dir_set_options(AgentQemuDir *d, const AgentQemuOptions *opts)
{
    d->opts = opts;
}

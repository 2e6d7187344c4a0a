/* Attach points per binary kind, and their offsets in an ELF file: see trace-points.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <gelf.h>
#include <string.h>
#include <unistd.h>
#include <linux/types.h>

#include "vmscope/error.h"
#include "trace-event.h"
#include "trace-points.h"

#define PUT VTRACE_KIND_PUT
#define GET VTRACE_KIND_GET
#define SAVE VTRACE_KIND_SAVE
#define LOAD VTRACE_KIND_LOAD
#define VISIT VTRACE_KIND_VISIT

/*
 * QEMU (migration/qemu-file.c, migration/vmstate.c, qapi/qapi-visit-core.c
 * and the generated qapi-visit-*.c).  Every function that moves bytes between
 * a QEMUFile and the stream is here, so that the bytes of all put (get) calls
 * of a migration add up to the size of the stream, even where one of them
 * calls a copy of another that the compiler made private (QEMU 7.2's
 * qemu_put_counted_string does).
 */
static const TracePointSpec qemu_specs[] = {
    { "qemu_put_byte", PUT, VTRACE_BYTES_FIXED, 1, true },
    { "qemu_put_be16", PUT, VTRACE_BYTES_FIXED, 2, true },
    { "qemu_put_be32", PUT, VTRACE_BYTES_FIXED, 4, true },
    { "qemu_put_be64", PUT, VTRACE_BYTES_FIXED, 8, true },
    { "qemu_put_buffer", PUT, VTRACE_BYTES_ARG, 3, true },          /* (f, buf, size_t size) */
    { "qemu_put_buffer_async", PUT, VTRACE_BYTES_ARG, 3, false },   /* (f, buf, size_t size, may_free) */
    { "qemu_put_counted_string", PUT, VTRACE_BYTES_CSTR, 2, false },/* (f, const char *str) */
    { "qemu_get_byte", GET, VTRACE_BYTES_FIXED, 1, true },
    { "qemu_get_be16", GET, VTRACE_BYTES_FIXED, 2, true },
    { "qemu_get_be32", GET, VTRACE_BYTES_FIXED, 4, true },
    { "qemu_get_be64", GET, VTRACE_BYTES_FIXED, 8, true },
    { "qemu_get_buffer", GET, VTRACE_BYTES_RET, 0, true },          /* returns the count read */
    { "qemu_get_buffer_in_place", GET, VTRACE_BYTES_RET, 0, false },
    /* vmstate_load_state skips a subsection's header with it: consumed bytes. */
    { "qemu_file_skip", GET, VTRACE_BYTES_ARG32, 2, false },        /* (f, int size) */
    { "vmstate_save_state", SAVE, VTRACE_BYTES_NONE, 2, true },     /* (f, vmsd, opaque, vmdesc) */
    { "vmstate_save_state_v", SAVE, VTRACE_BYTES_NONE, 2, false },  /* (f, vmsd, opaque, vmdesc, v) */
    { "vmstate_load_state", LOAD, VTRACE_BYTES_NONE, 2, true },     /* (f, vmsd, opaque, v) */
    { "visit_start_struct", VISIT, VTRACE_BYTES_NONE, 0, false },
    { "visit_end_struct", VISIT, VTRACE_BYTES_NONE, 0, false },
    { "visit_start_list", VISIT, VTRACE_BYTES_NONE, 0, false },
    { "visit_end_list", VISIT, VTRACE_BYTES_NONE, 0, false },
    { "visit_type_*", VISIT, VTRACE_BYTES_NONE, 0, false },
};

/*
 * vmscope's own binaries (vmscope-devhost) will be a second kind here; see
 * docs/tracing.md for the functions it will list.
 */
static const TraceBinaryKind kinds[] = {
    { "qemu", "QEMU", qemu_specs, G_N_ELEMENTS(qemu_specs) },
};

const TraceBinaryKind *trace_binary_kinds(size_t *n)
{
    *n = G_N_ELEMENTS(kinds);
    return kinds;
}

static bool is_pattern(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

/* Global and weak functions defined in `e`, name -> file offset. */
static GHashTable *elf_functions(Elf *e, const char *path, GError **errp)
{
    g_autoptr(GHashTable) funcs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    Elf_Scn *scn = NULL;
    size_t nsec;

    if (elf_getshdrnum(e, &nsec) != 0) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "%s: bad ELF section table: %s",
                    path, elf_errmsg(-1));
        return NULL;
    }
    while ((scn = elf_nextscn(e, scn)) != NULL) {
        GElf_Shdr sh;
        Elf_Data *data;

        if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM) ||
            sh.sh_entsize == 0 || (data = elf_getdata(scn, NULL)) == NULL) {
            continue;
        }
        for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
            GElf_Sym sym;
            GElf_Shdr fsh;
            Elf_Scn *fscn;
            const char *name;
            int bind;

            if (!gelf_getsym(data, (int)i, &sym)) {
                break;
            }
            bind = GELF_ST_BIND(sym.st_info);
            if (GELF_ST_TYPE(sym.st_info) != STT_FUNC || (bind != STB_GLOBAL && bind != STB_WEAK) ||
                sym.st_shndx == SHN_UNDEF || sym.st_shndx >= SHN_LORESERVE || sym.st_shndx >= nsec) {
                continue;
            }
            name = elf_strptr(e, sh.sh_link, sym.st_name);
            fscn = elf_getscn(e, sym.st_shndx);
            if (!name || !*name || !fscn || !gelf_getshdr(fscn, &fsh) ||
                sym.st_value < fsh.sh_addr || sym.st_value - fsh.sh_addr >= fsh.sh_size) {
                continue;
            }
            if (!g_hash_table_contains(funcs, name)) {
                uint64_t *off = g_new(uint64_t, 1);
                *off = sym.st_value - fsh.sh_addr + fsh.sh_offset;
                g_hash_table_insert(funcs, g_strdup(name), off);
            }
        }
    }
    return g_steal_pointer(&funcs);
}

static GHashTable *read_functions(const char *path, GError **errp)
{
    GHashTable *funcs;
    Elf *e;
    int fd;

    if (elf_version(EV_CURRENT) == EV_NONE) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_FAILED, "libelf: %s", elf_errmsg(-1));
        return NULL;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "%s: %s", path, g_strerror(errno));
        return NULL;
    }
    e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    if (!e || elf_kind(e) != ELF_K_ELF) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "%s: not an ELF file", path);
        funcs = NULL;
    } else {
        funcs = elf_functions(e, path, errp);
    }
    elf_end(e);
    close(fd);
    return funcs;
}

static int compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool wanted(const char *name, const char *const *only)
{
    if (!only || !only[0]) {
        return true;
    }
    for (const char *const *p = only; *p; p++) {
        if (fnmatch(*p, name, 0) == 0) {
            return true;
        }
    }
    return false;
}

static void add_point(TracePoints *tp, GHashTable *taken, const TracePointSpec *s,
                      const char *name, uint64_t offset)
{
    TracePoint p = {
        .name = g_strdup(name),
        .offset = offset,
        .kind = s->kind,
        .bytes = s->bytes,
        .n = s->n,
        .retprobe = s->kind != VTRACE_KIND_VISIT,
    };

    g_hash_table_add(taken, p.name);
    g_array_append_val(tp->points, p);
    tp->n_retprobes += p.retprobe;
}

static void clear_point(gpointer p)
{
    g_free(((TracePoint *)p)->name);
}

static char *missing_required(const TraceBinaryKind *k, GHashTable *funcs)
{
    g_autoptr(GString) missing = g_string_new(NULL);

    for (size_t i = 0; i < k->n_specs; i++) {
        if (k->specs[i].required && !g_hash_table_contains(funcs, k->specs[i].pattern)) {
            g_string_append_printf(missing, "%s%s", missing->len ? ", " : "", k->specs[i].pattern);
        }
    }
    return missing->len ? g_string_free(g_steal_pointer(&missing), FALSE) : NULL;
}

TracePoints *trace_points_resolve(const char *binary, const char *const *only, GError **errp)
{
    g_autoptr(GHashTable) funcs = read_functions(binary, errp);
    g_autoptr(GHashTable) taken = NULL;
    g_autoptr(TracePoints) tp = NULL;
    g_autofree char *first_missing = NULL;
    const TraceBinaryKind *kind = NULL;

    if (!funcs) {
        return NULL;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(kinds) && !kind; i++) {
        g_autofree char *missing = missing_required(&kinds[i], funcs);
        if (!missing) {
            kind = &kinds[i];
        } else if (!first_missing) {
            first_missing = g_steal_pointer(&missing);
        }
    }
    if (!kind) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_NOT_FOUND, "%s: not a %s binary: missing functions %s",
                    binary, kinds[0].title, first_missing);
        return NULL;
    }

    tp = g_new0(TracePoints, 1);
    tp->binary = g_strdup(binary);
    tp->kind = kind;
    tp->points = g_array_new(FALSE, FALSE, sizeof(TracePoint));
    g_array_set_clear_func(tp->points, clear_point);
    taken = g_hash_table_new(g_str_hash, g_str_equal);

    for (size_t i = 0; i < kind->n_specs; i++) {
        const TracePointSpec *s = &kind->specs[i];

        if (!is_pattern(s->pattern)) {
            uint64_t *off = g_hash_table_lookup(funcs, s->pattern);
            if (off && !g_hash_table_contains(taken, s->pattern) && wanted(s->pattern, only)) {
                add_point(tp, taken, s, s->pattern, *off);
            }
            continue;
        }
        g_autoptr(GPtrArray) names = g_ptr_array_new();
        GHashTableIter it;
        gpointer name;
        g_hash_table_iter_init(&it, funcs);
        while (g_hash_table_iter_next(&it, &name, NULL)) {
            if (fnmatch(s->pattern, name, 0) == 0 && !g_hash_table_contains(taken, name) &&
                wanted(name, only)) {
                g_ptr_array_add(names, name);
            }
        }
        g_ptr_array_sort(names, compare_names);
        for (unsigned j = 0; j < names->len; j++) {
            const char *n = names->pdata[j];
            add_point(tp, taken, s, n, *(uint64_t *)g_hash_table_lookup(funcs, n));
        }
    }
    if (tp->points->len == 0) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_NOT_FOUND,
                    "%s: no function to trace matches the -f patterns", binary);
        return NULL;
    }
    if (tp->points->len > VTRACE_MAX_FUNCS) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_RANGE, "%s: %u functions to trace, at most %d",
                    binary, tp->points->len, VTRACE_MAX_FUNCS);
        return NULL;
    }
    return g_steal_pointer(&tp);
}

void trace_points_free(TracePoints *tp)
{
    if (!tp) {
        return;
    }
    if (tp->points) {
        g_array_free(tp->points, TRUE);
    }
    g_free(tp->binary);
    g_free(tp);
}

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
#include "vmscope/trace-usdt.h"
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
 * vmscope's own binaries: USDT probes (lib/include/vmscope/trace-usdt.h).
 * The engine's probes are what makes a binary a vmscope binary; put, get and
 * visit are missing from a program that links no QEMUFile visitor.
 */
static const TraceUsdtSpec vmscope_probes[] = {
    { "vmsd__save__start", VTRACE_USDT_VMSD_START, SAVE, TRACE_MODE_CALLS, true },
    { "vmsd__save__done", VTRACE_USDT_VMSD_DONE, SAVE, TRACE_MODE_CALLS, true },
    { "vmsd__load__start", VTRACE_USDT_VMSD_START, LOAD, TRACE_MODE_CALLS, true },
    { "vmsd__load__done", VTRACE_USDT_VMSD_DONE, LOAD, TRACE_MODE_CALLS, true },
    { "section__save__done", VTRACE_USDT_SECTION_DONE, SAVE, TRACE_MODE_SUMMARY, true },
    { "section__load__done", VTRACE_USDT_SECTION_DONE, LOAD, TRACE_MODE_SUMMARY, true },
    { "put", VTRACE_USDT_IO, PUT, TRACE_MODE_CALLS, false },
    { "get", VTRACE_USDT_IO, GET, TRACE_MODE_CALLS, false },
    { "visit", VTRACE_USDT_VISIT, VISIT, TRACE_MODE_CALLS, false },
};

#define VMSCOPE_PROVIDER "vmscope"

static const TraceBinaryKind kinds[] = {
    { "qemu", "QEMU", qemu_specs, G_N_ELEMENTS(qemu_specs), NULL, NULL, 0 },
    { "vmscope", "vmscope", NULL, 0, VMSCOPE_PROVIDER, vmscope_probes, G_N_ELEMENTS(vmscope_probes) },
};

/* What the QEMU function that VmsUsdtFn fn stands for does. */
static uint8_t usdt_func_kind(unsigned fn)
{
    if (fn <= VMS_USDT_QEMU_PUT_COUNTED_STRING) {
        return PUT;
    }
    if (fn <= VMS_USDT_QEMU_FILE_SKIP) {
        return GET;
    }
    if (fn == VMS_USDT_VMSTATE_SAVE_STATE) {
        return SAVE;
    }
    if (fn == VMS_USDT_VMSTATE_LOAD_STATE) {
        return LOAD;
    }
    return VISIT;
}

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

/*
 * The USDT probes of `provider` in the .note.stapsdt notes of `e`: probe
 * name -> number of sites.  A note is (pc, base, semaphore) addresses, then
 * provider, name and argument strings, each NUL-terminated.
 */
static GHashTable *elf_usdt_probes(Elf *e, const char *provider)
{
    GHashTable *probes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    size_t shstrndx, addr_size = gelf_getclass(e) == ELFCLASS32 ? 4 : 8;
    Elf_Scn *scn = NULL;

    if (elf_getshdrstrndx(e, &shstrndx) != 0) {
        return probes;
    }
    while ((scn = elf_nextscn(e, scn)) != NULL) {
        GElf_Shdr sh;
        Elf_Data *data;
        const char *secname;
        size_t off = 0, next, name_off, desc_off;
        GElf_Nhdr nh;

        if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE ||
            !(secname = elf_strptr(e, shstrndx, sh.sh_name)) ||
            strcmp(secname, ".note.stapsdt") != 0 || (data = elf_getdata(scn, NULL)) == NULL) {
            continue;
        }
        while ((next = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
            const char *desc = (const char *)data->d_buf + desc_off;
            const char *end = desc + nh.n_descsz, *prov, *name;

            off = next;
            if (nh.n_type != 3 || nh.n_namesz != sizeof("stapsdt") ||
                memcmp((const char *)data->d_buf + name_off, "stapsdt", sizeof("stapsdt")) != 0 ||
                nh.n_descsz < 3 * addr_size) {
                continue;
            }
            prov = desc + 3 * addr_size;
            name = memchr(prov, '\0', (size_t)(end - prov));
            if (!name || strcmp(prov, provider) != 0) {
                continue;
            }
            name++;
            if (!memchr(name, '\0', (size_t)(end - name))) {
                continue;
            }
            g_hash_table_insert(probes, g_strdup(name),
                                GUINT_TO_POINTER(GPOINTER_TO_UINT(g_hash_table_lookup(probes, name)) + 1));
        }
    }
    return probes;
}

/*
 * QEMUFile's layout from QEMU's machine code (trace-points.h).  The
 * matchers walk the instructions one by one and accept only the shape
 * documented there; displacements may be 8 or 32 bits.
 */

/* ModRM for disp8/disp32(%rdi) with register field `reg`: the displacement. */
static bool match_rdi_mem(const uint8_t *c, size_t len, size_t *i, unsigned reg, uint32_t *disp)
{
    uint8_t m;
    int32_t d;

    if (*i >= len) {
        return false;
    }
    m = c[*i];
    if ((m & 7) != 7 || ((m >> 3) & 7) != reg) {
        return false;
    }
    if (m >> 6 == 1 && *i + 2 <= len) {
        d = (int8_t)c[*i + 1];
        *i += 2;
    } else if (m >> 6 == 2 && *i + 5 <= len) {
        d = (int32_t)((uint32_t)c[*i + 1] | (uint32_t)c[*i + 2] << 8 | (uint32_t)c[*i + 3] << 16 |
                      (uint32_t)c[*i + 4] << 24);
        *i += 5;
    } else {
        return false;
    }
    if (d < 0) {
        return false;
    }
    *disp = (uint32_t)d;
    return true;
}

static bool match_seq(const uint8_t *c, size_t len, size_t *i, const char *seq, size_t n)
{
    if (*i + n > len || memcmp(c + *i, seq, n) != 0) {
        return false;
    }
    *i += n;
    return true;
}

#define MATCH(c, len, i, lit) match_seq(c, len, i, lit, sizeof(lit) - 1)

/* A short jump (opcode op, rel8): its target. */
static bool match_jcc(const uint8_t *c, size_t len, size_t *i, uint8_t op, size_t *target)
{
    if (*i + 2 > len || c[*i] != op) {
        return false;
    }
    *target = *i + 2 + (size_t)(ptrdiff_t)(int8_t)c[*i + 1];
    *i += 2;
    return true;
}

/* GCC's alignment padding before a loop. */
static void skip_nops(const uint8_t *c, size_t len, size_t *i)
{
    static const struct { const char *s; size_t n; } nops[] = {
        { "\x90", 1 }, { "\x66\x90", 2 }, { "\x0f\x1f\x00", 3 }, { "\x0f\x1f\x40\x00", 4 },
        { "\x0f\x1f\x44\x00\x00", 5 }, { "\x66\x0f\x1f\x44\x00\x00", 6 },
        { "\x0f\x1f\x80\x00\x00\x00\x00", 7 },
    };
    bool again = true;

    while (again) {
        again = false;
        for (size_t k = 0; k < G_N_ELEMENTS(nops); k++) {
            if (match_seq(c, len, i, nops[k].s, nops[k].n)) {
                again = true;
                break;
            }
        }
    }
}

bool trace_qemu_match_total_fast(const uint8_t *c, size_t len, TraceQemuFileLayout *l)
{
    size_t i = 0, end, loop, back;
    uint32_t iovcnt, total, iov_len;

    if (!MATCH(c, len, &i, "\x8b") || !match_rdi_mem(c, len, &i, 2, &iovcnt) ||   /* mov D(%rdi),%edx */
        !MATCH(c, len, &i, "\x48\x8b") || !match_rdi_mem(c, len, &i, 0, &total) || /* mov D(%rdi),%rax */
        !MATCH(c, len, &i, "\x85\xd2") ||                                        /* test %edx,%edx */
        !match_jcc(c, len, &i, 0x74, &end) ||                                      /* je END */
        !MATCH(c, len, &i, "\x48\xc1\xe2\x04") ||                                /* shl $4,%rdx */
        !MATCH(c, len, &i, "\x48\x01\xfa")) {                                    /* add %rdi,%rdx */
        return false;
    }
    skip_nops(c, len, &i);
    loop = i;
    if (!MATCH(c, len, &i, "\x48\x03") || !match_rdi_mem(c, len, &i, 0, &iov_len) || /* add D(%rdi),%rax */
        !MATCH(c, len, &i, "\x48\x83\xc7\x10") ||                                /* add $0x10,%rdi */
        !MATCH(c, len, &i, "\x48\x39\xd7") ||                                    /* cmp %rdx,%rdi */
        !match_jcc(c, len, &i, 0x75, &back) || back != loop ||                     /* jne L */
        end != i || !MATCH(c, len, &i, "\xc3")) {                                  /* END: ret */
        return false;
    }
    /* iov[] (16-byte entries, iov_len at +8) ends where iovcnt begins. */
    if (iov_len < 8 || iovcnt <= iov_len || (iovcnt - (iov_len - 8)) % 16 != 0 ||
        (iovcnt - (iov_len - 8)) / 16 > VTRACE_QF_MAX_IOV || total >= iov_len - 8) {
        return false;
    }
    l->iovcnt = iovcnt;
    l->total = total;
    l->iov_len = iov_len;
    l->max_iov = (iovcnt - (iov_len - 8)) / 16;
    return true;
}

bool trace_qemu_match_file_skip(const uint8_t *c, size_t len, TraceQemuFileLayout *l)
{
    size_t i = 0, end;
    uint32_t index, size, index2;

    if (!MATCH(c, len, &i, "\x03") || !match_rdi_mem(c, len, &i, 6, &index) ||   /* add D(%rdi),%esi */
        !MATCH(c, len, &i, "\x3b") || !match_rdi_mem(c, len, &i, 6, &size) ||    /* cmp D(%rdi),%esi */
        !match_jcc(c, len, &i, 0x7f, &end) ||                                     /* jg END */
        !MATCH(c, len, &i, "\x89") || !match_rdi_mem(c, len, &i, 6, &index2) ||  /* mov %esi,D(%rdi) */
        index2 != index || end != i || !MATCH(c, len, &i, "\xc3") || size == index) {
        return false;
    }
    l->buf_index = index;
    l->buf_size = size;
    return true;
}

/* The first bytes of code at file offset `off` of `path`. */
static size_t read_code(const char *path, uint64_t off, uint8_t *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0) {
        return 0;
    }
    n = pread(fd, buf, len, (off_t)off);
    close(fd);
    return n > 0 ? (size_t)n : 0;
}

/* QEMU: the QEMUFile layout, or why it cannot be had. */
static void resolve_qemu_file(TracePoints *tp, GHashTable *funcs)
{
    static const struct {
        const char *func;
        bool (*match)(const uint8_t *, size_t, TraceQemuFileLayout *);
    } fns[] = {
        { "qemu_file_total_transferred_fast", trace_qemu_match_total_fast },
        { "qemu_file_skip", trace_qemu_match_file_skip },
    };
    TraceQemuFileLayout l = { 0 };

    for (size_t k = 0; k < G_N_ELEMENTS(fns); k++) {
        uint64_t *off = g_hash_table_lookup(funcs, fns[k].func);
        uint8_t code[64];
        size_t n;

        if (!off) {
            tp->qemu_file_error = g_strdup_printf("%s has no function %s", tp->binary, fns[k].func);
            return;
        }
        n = read_code(tp->binary, *off, code, sizeof(code));
        if (!fns[k].match(code, n, &l)) {
            tp->qemu_file_error = g_strdup_printf(
                "%s: %s is not the code expected (QEMU 7.2's, x86-64): cannot find QEMUFile's members",
                tp->binary, fns[k].func);
            return;
        }
    }
    tp->qemu_file = l;
    tp->has_qemu_file = true;
}

/* The functions of `path` and its vmscope USDT probes. */
static bool read_elf(const char *path, GHashTable **funcs, GHashTable **probes, GError **errp)
{
    Elf *e;
    int fd;

    if (elf_version(EV_CURRENT) == EV_NONE) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_FAILED, "libelf: %s", elf_errmsg(-1));
        return false;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "%s: %s", path, g_strerror(errno));
        return false;
    }
    e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    if (!e || elf_kind(e) != ELF_K_ELF) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_INVALID, "%s: not an ELF file", path);
    } else if ((*funcs = elf_functions(e, path, errp)) != NULL) {
        *probes = elf_usdt_probes(e, VMSCOPE_PROVIDER);
    }
    elf_end(e);
    close(fd);
    return *funcs != NULL;
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
        .wanted = true,
    };

    g_hash_table_add(taken, p.name);
    g_array_append_val(tp->points, p);
    tp->n_retprobes += p.retprobe;
}

static void clear_point(gpointer p)
{
    g_free(((TracePoint *)p)->name);
}

static char *missing_required(const TraceBinaryKind *k, GHashTable *funcs, GHashTable *probes)
{
    g_autoptr(GString) missing = g_string_new(NULL);

    for (size_t i = 0; i < k->n_specs; i++) {
        if (k->specs[i].required && !g_hash_table_contains(funcs, k->specs[i].pattern)) {
            g_string_append_printf(missing, "%s%s", missing->len ? ", " : "", k->specs[i].pattern);
        }
    }
    for (size_t i = 0; i < k->n_usdt_specs; i++) {
        if (k->usdt_specs[i].required && !g_hash_table_contains(probes, k->usdt_specs[i].name)) {
            g_string_append_printf(missing, "%s%s:%s", missing->len ? ", " : "", k->usdt_provider,
                                   k->usdt_specs[i].name);
        }
    }
    return missing->len ? g_string_free(g_steal_pointer(&missing), FALSE) : NULL;
}

/* Why `binary` is of no kind: what each kind misses. */
static void refuse(const char *binary, GHashTable *funcs, GHashTable *probes, GError **errp)
{
    g_autoptr(GString) msg = g_string_new(NULL);

    for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++) {
        const TraceBinaryKind *k = &kinds[i];
        g_autofree char *missing = missing_required(k, funcs, probes);

        g_string_append_printf(msg, "%s%s binary (", i == 0 ? "not a " : " nor a ", k->title);
        if (k->usdt_provider && g_hash_table_size(probes) == 0) {
            g_string_append_printf(msg, "no %s USDT probes)", k->usdt_provider);
        } else {
            g_string_append_printf(msg, "missing %s %s)", k->usdt_provider ? "probes" : "functions",
                                   missing);
        }
    }
    g_set_error(errp, VMS_ERROR, VMS_ERROR_NOT_FOUND, "%s: %s", binary, msg->str);
}

static void resolve_functions(TracePoints *tp, GHashTable *funcs, const char *const *only)
{
    const TraceBinaryKind *kind = tp->kind;
    g_autoptr(GHashTable) taken = g_hash_table_new(g_str_hash, g_str_equal);

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
}

/* USDT kinds: every function the probes stand for, and the probes there are. */
static unsigned resolve_usdt(TracePoints *tp, GHashTable *probes, const char *const *only)
{
    const TraceBinaryKind *kind = tp->kind;
    unsigned n_wanted = 0;

    for (unsigned fn = 0; fn < VMS_USDT_N_FUNCS; fn++) {
        TracePoint p = {
            .name = g_strdup(vms_usdt_func_names[fn]),
            .kind = usdt_func_kind(fn),
            .wanted = wanted(vms_usdt_func_names[fn], only),
        };
        n_wanted += p.wanted;
        g_array_append_val(tp->points, p);
    }
    tp->filtered = n_wanted < VMS_USDT_N_FUNCS;
    for (size_t i = 0; i < kind->n_usdt_specs; i++) {
        TraceUsdtProbe p = {
            .spec = &kind->usdt_specs[i],
            .sites = GPOINTER_TO_UINT(g_hash_table_lookup(probes, kind->usdt_specs[i].name)),
        };
        if (p.sites) {
            g_array_append_val(tp->usdt, p);
        }
    }
    return n_wanted;
}

TracePoints *trace_points_resolve(const char *binary, const char *const *only, GError **errp)
{
    g_autoptr(GHashTable) funcs = NULL;
    g_autoptr(GHashTable) probes = NULL;
    g_autoptr(TracePoints) tp = NULL;
    const TraceBinaryKind *kind = NULL;
    unsigned n_wanted;

    if (!read_elf(binary, &funcs, &probes, errp)) {
        return NULL;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(kinds) && !kind; i++) {
        g_autofree char *missing = missing_required(&kinds[i], funcs, probes);
        if (!missing) {
            kind = &kinds[i];
        }
    }
    if (!kind) {
        refuse(binary, funcs, probes, errp);
        return NULL;
    }

    tp = g_new0(TracePoints, 1);
    tp->binary = g_strdup(binary);
    tp->kind = kind;
    tp->points = g_array_new(FALSE, FALSE, sizeof(TracePoint));
    g_array_set_clear_func(tp->points, clear_point);
    tp->usdt = g_array_new(FALSE, FALSE, sizeof(TraceUsdtProbe));
    if (kind->usdt_provider) {
        n_wanted = resolve_usdt(tp, probes, only);
    } else {
        resolve_functions(tp, funcs, only);
        n_wanted = tp->points->len;
        resolve_qemu_file(tp, funcs);
    }
    if (n_wanted == 0) {
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

bool trace_points_usdt_attached(const TracePoints *tp, const TraceUsdtProbe *p, TraceMode mode)
{
    const TraceUsdtSpec *s = p->spec;

    if (s->mode != mode) {
        return false;
    }
    if (s->probe != VTRACE_USDT_IO && s->probe != VTRACE_USDT_VISIT) {
        return true;    /* the engine's probes: attribution and time, always */
    }
    for (unsigned i = 0; i < tp->points->len; i++) {
        const TracePoint *f = trace_points_get(tp, i);
        if (f->wanted && f->kind == s->kind) {
            return true;
        }
    }
    return false;
}

unsigned trace_points_count(const TracePoints *tp, TraceMode mode)
{
    unsigned n = 0;

    if (!trace_points_usdt(tp)) {
        return tp->points->len + tp->n_retprobes;
    }
    for (unsigned i = 0; i < tp->usdt->len; i++) {
        const TraceUsdtProbe *p = &g_array_index(tp->usdt, TraceUsdtProbe, i);
        if (trace_points_usdt_attached(tp, p, mode)) {
            n += p->sites;
        }
    }
    return n;
}

void trace_points_free(TracePoints *tp)
{
    if (!tp) {
        return;
    }
    if (tp->points) {
        g_array_free(tp->points, TRUE);
    }
    if (tp->usdt) {
        g_array_free(tp->usdt, TRUE);
    }
    g_free(tp->qemu_file_error);
    g_free(tp->binary);
    g_free(tp);
}

void trace_points_keep_vmstate(TracePoints *tp)
{
    for (unsigned i = tp->points->len; i-- > 0;) {
        const TracePoint *p = trace_points_get(tp, i);
        if (p->kind != VTRACE_KIND_SAVE && p->kind != VTRACE_KIND_LOAD) {
            tp->n_retprobes -= p->retprobe;
            g_array_remove_index(tp->points, i);
        }
    }
}

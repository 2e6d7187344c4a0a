/*
 * vmscope-view: look at, edit, compare and check QEMU migration streams.
 *
 *   vmscope-view stream FILE [--format json|pretty] [--desc DESC] [--vmdesc]
 *   vmscope-view rewrite IN OUT [--set PATH=VALUE]... [--filter RULES] [--desc DESC]
 *   vmscope-view diff A B [--desc DESC]
 *   vmscope-view check FILE [--desc DESC] [--json]
 *   vmscope-view state PATH [--qmp ADDR] [--format pretty|json]   (view-state.c)
 *   vmscope-view schema PATH|FILE [--qmp ADDR]
 *   vmscope-view convert IN OUT --to ber|qemu [--filter RULES]
 *   vmscope-view migrate SRC DST [--uri URI] [--format qemu|ber]   (view-migrate.c)
 *   vmscope-view compat OLD NEW [--reverse] [--json]               (view-compat.c)
 *   vmscope-view explain STREAM --dest DEST [--json]               (view-compat.c)
 *
 * DESC gives the descriptions of device sections (a stream with a vmdesc,
 * or a vmdesc JSON file) for streams that have none.  Exit status: 0
 * success (diff: equal; check: clean), 1 failure (diff: different; check:
 * findings), 2 bad usage (diff, check: also any failure).  See
 * docs/vmscope-view.md.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "view-compat.h"
#include "view-filter.h"
#include "view-migrate.h"
#include "view-state.h"
#include "vmscope/ber-stream.h"
#include "vmscope/cmdline.h"
#include "vmscope/error.h"
#include "vmscope/format.h"
#include "vmscope/qemu-stream.h"

#define EXIT_USAGE 2
#define DESC_WHAT "a migration stream with a vmdesc from the same QEMU and machine, " \
                  "or a vmdesc JSON file"

static const char *const usage_lines[] = {
    "usage: vmscope-view stream FILE [--format json|pretty] [--desc DESC] [--vmdesc]",
    "       vmscope-view rewrite IN OUT [--set PATH=VALUE]... [--filter RULES] [--desc DESC]",
    "       vmscope-view diff A B [--desc DESC]",
    "       vmscope-view check FILE [--desc DESC] [--json]",
    "       vmscope-view state PATH [--qmp ADDR] [--format pretty|json]",
    "       vmscope-view schema PATH|FILE [--qmp ADDR]",
    "       vmscope-view convert IN OUT --to ber|qemu [--filter RULES] [--desc DESC]",
    "       vmscope-view migrate SRC DST [--uri URI] [--format qemu|ber]",
    "       vmscope-view compat OLD NEW [--reverse] [--json]",
    "       vmscope-view explain STREAM --dest DEST [--json]",
    "       vmscope-view --version",
    "DESC: a migration stream with a vmdesc, or a vmdesc JSON file",
    "OLD, NEW, DEST: a -dump-vmstate JSON file (QEMU's or vmscope-devhost's), or a stream",
};

#define COMMANDS "stream, rewrite, diff, check, state, schema, convert, migrate, compat or explain"

int view_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fprintf(stderr, "vmscope-view: %s%s%s\n", cmd ? cmd : "", cmd ? ": " : "", msg);
    fprintf(stderr, "Try 'vmscope-view --help'.\n");
    return EXIT_USAGE;
}

/* The operands of cmd must be one, called what: 0, or usage_error's status. */
static int one_operand(const char *cmd, char **args, const char *what)
{
    if (!args[0]) {
        return view_usage_error(cmd, "missing %s", what);
    }
    if (args[1]) {
        return view_usage_error(cmd, "unexpected argument '%s'", args[1]);
    }
    return 0;
}

/* The operands of cmd must be two, called first and second: 0, or usage_error's status. */
static int two_operands(const char *cmd, char **args, const char *first, const char *second)
{
    guint n = g_strv_length(args);
    if (n == 0) {
        return view_usage_error(cmd, "missing %s and %s", first, second);
    }
    if (n == 1) {
        return view_usage_error(cmd, "missing %s", second);
    }
    if (n > 2) {
        return view_usage_error(cmd, "unexpected argument '%s'", args[2]);
    }
    return 0;
}

static int fail(int status, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static int fail(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fprintf(stderr, "vmscope-view: %s\n", msg);
    return status;
}

/*
 * The whole file: mapped when it is a regular file (streams of big guests
 * are gigabytes), read otherwise (a pipe).  NULL with errno text in errp.
 */
GBytes *read_file(const char *path, GError **errp)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        int e = errno;
        g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "%s: %s", path, g_strerror(e));
        if (fd >= 0) {
            close(fd);
        }
        return NULL;
    }
    if (S_ISREG(st.st_mode)) {
        GError *err = NULL;
        GMappedFile *map = g_mapped_file_new_from_fd(fd, FALSE, &err);
        close(fd);
        if (!map) {
            g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "%s: %s", path, err->message);
            g_error_free(err);
            return NULL;
        }
        GBytes *bytes = g_mapped_file_get_bytes(map);
        g_mapped_file_unref(map);
        return bytes;
    }
    GByteArray *buf = g_byte_array_new();
    uint8_t chunk[65536];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            int e = errno;
            g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "%s: %s", path, g_strerror(e));
            g_byte_array_unref(buf);
            close(fd);
            return NULL;
        }
        if (n == 0) {
            break;
        }
        g_byte_array_append(buf, chunk, (guint)n);
    }
    close(fd);
    return g_byte_array_free_to_bytes(buf);
}

/* --desc DESC: the descriptions in a stream's vmdesc or a vmdesc JSON file. */
static bool load_desc(const char *path, QObject **desc, GError **errp)
{
    if (!path) {
        *desc = NULL;
        return true;
    }
    g_autoptr(GBytes) data = read_file(path, errp);
    *desc = data ? qemu_stream_load_desc(data, errp) : NULL;
    if (data && !*desc) {
        vms_error_prefix(errp, "%s", path);
    }
    return *desc != NULL;
}

/*
 * A stream could not be read (err): errp gets the error with the file name
 * in front, and, for a stream without a vmdesc read without --desc, how to
 * give the descriptions.
 */
static void stream_error(GError **errp, GError *err, const char *path, const QObject *desc)
{
    if (!desc && g_error_matches(err, VMS_ERROR, VMS_ERROR_MISSING)) {
        g_set_error(errp, VMS_ERROR, VMS_ERROR_MISSING, "%s: %s; give them with --desc DESC (%s)",
                    path, err->message, DESC_WHAT);
        g_error_free(err);
        return;
    }
    g_propagate_prefixed_error(errp, err, "%s: ", path);
}

/*
 * Parse a stream, with the descriptions from --desc if given; *is_ber (if
 * not NULL): the file is a BER stream (it is read in its QEMU form).
 */
static QemuStream *load_stream_as(const char *path, QObject *desc, bool *is_ber, GError **errp)
{
    g_autoptr(GBytes) data = read_file(path, errp);
    if (!data) {
        return NULL;
    }
    gsize len;
    const uint8_t *d = g_bytes_get_data(data, &len);
    GError *err = NULL;
    g_autoptr(BerStream) ber = ber_stream_is(d, len) ? ber_stream_parse(data, &err) : NULL;
    if (ber_stream_is(d, len) && !ber) {
        g_propagate_prefixed_error(errp, err, "%s: ", path);
        return NULL;
    }
    if (is_ber) {
        *is_ber = ber != NULL;
    }
    g_autoptr(GBytes) qemu = ber ? ber_stream_to_qemu(ber, &err) : g_bytes_ref(data);
    QemuStreamOptions opts = { .desc = desc };
    QemuStream *s = qemu ? qemu_stream_parse_with(qemu, &opts, &err) : NULL;
    if (!s) {
        stream_error(errp, err, path, desc);
    }
    return s;
}

static QemuStream *load_stream(const char *path, QObject *desc, GError **errp)
{
    return load_stream_as(path, desc, NULL, errp);
}

/* "warning: FILE: offset ...: ..." on stderr, for each warning of the stream. */
static void print_warnings(const char *path, const QemuStream *s)
{
    for (size_t i = 0; i < qemu_stream_n_warnings(s); i++) {
        fprintf(stderr, "warning: %s: %s\n", path, qemu_stream_warning(s, i)->message);
    }
}

typedef struct FdSink {
    int fd;
    int error;
} FdSink;

static bool write_fd(const void *data, size_t len, void *opaque)
{
    FdSink *sink = opaque;
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t w = write(sink->fd, p, len);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0) {
            sink->error = errno;
            return false;
        }
        p += w;
        len -= (size_t)w;
    }
    return true;
}

/* What goes into a file: the bytes of a stream, or bytes as they are. */
typedef struct Output {
    const QemuStream *stream;
    GBytes *bytes;
} Output;

/*
 * Write the output to `path` through a temporary file in the same directory
 * and rename(), so `path` is either untouched or complete.
 */
static bool write_atomically(const char *path, const Output *out, GError **errp)
{
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *base = g_path_get_basename(path);
    g_autofree char *tmp = g_strdup_printf("%s/.%s.XXXXXX", dir, base);
    int fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, 0666);
    if (fd < 0) {
        int e = errno;
        g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "%s: cannot create a temporary file in %s: %s",
                    path, dir, g_strerror(e));
        return false;
    }
    FdSink sink = { .fd = fd, .error = 0 };
    int e = 0;
    gsize len = 0;
    const void *bytes = out->bytes ? g_bytes_get_data(out->bytes, &len) : NULL;
    if (out->stream ? !qemu_stream_write_chunks(out->stream, write_fd, &sink)
                    : len && !write_fd(bytes, len, &sink)) {
        e = sink.error;
    }
    if (!e && fsync(fd) < 0) {
        e = errno;
    }
    if (close(fd) < 0 && !e) {
        e = errno;
    }
    if (!e && rename(tmp, path) < 0) {
        e = errno;
    }
    if (e) {
        unlink(tmp);
        g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "%s: %s", path, g_strerror(e));
        return false;
    }
    return true;
}

bool print_text(const char *text, size_t len, GError **errp)
{
    if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0) {
        int e = errno;
        g_set_error(errp, VMS_ERROR, VMS_ERROR_IO, "writing output: %s", g_strerror(e));
        return false;
    }
    return true;
}

#define DESC_ENTRY(var) \
    { "desc", 0, 0, G_OPTION_ARG_FILENAME, &(var), NULL, "DESC" }

static int cmd_stream(int argc, char **argv)
{
    g_autofree char *format_opt = NULL, *desc_path = NULL;
    gboolean with_vmdesc = FALSE;
    g_autofree char *names = vms_format_names(NULL, " or ");   /* json, the default, first */
    const GOptionEntry entries[] = {
        { "format", 0, 0, G_OPTION_ARG_STRING, &format_opt, NULL, names },
        DESC_ENTRY(desc_path),
        { "vmdesc", 0, 0, G_OPTION_ARG_NONE, &with_vmdesc, NULL, NULL },
        { NULL },
    };
    g_autoptr(GError) err = NULL;
    g_auto(GStrv) args = cmdline_parse(entries, argc, argv, &err);
    if (!args) {
        return view_usage_error("stream", "%s", err->message);
    }
    const VmsFormat *format = format_opt ? vms_format_lookup(format_opt) : vms_format_json();
    if (!format) {
        return view_usage_error("stream", "unknown format '%s' (%s)", format_opt, names);
    }
    int bad = one_operand("stream", args, "FILE");
    if (bad) {
        return bad;
    }
    const char *file = args[0];

    g_autoptr(QObject) desc = NULL;
    if (!load_desc(desc_path, &desc, &err)) {
        return fail(1, "%s", err->message);
    }
    g_autoptr(QemuStream) s = load_stream(file, desc, &err);
    if (!s) {
        return fail(1, "%s", err->message);
    }
    /* One walk over the stream, through the format's visitor; JSON carries the warnings. */
    if (format != vms_format_json()) {
        print_warnings(file, s);
    }
    Visitor *v = format->output_new();
    bool ok = qemu_stream_visit(v, "stream", s, with_vmdesc, &err);
    g_autoptr(GBytes) result = ok ? format->output_take(v) : NULL;
    visit_free(v);
    if (!ok) {
        return fail(1, "%s", err->message);
    }
    gsize len;
    const char *data = g_bytes_get_data(result, &len);
    bool newline = !format->binary && (len == 0 || data[len - 1] != '\n');
    if (!print_text(data ? data : "", len, &err) || (newline && !print_text("\n", 1, &err))) {
        return fail(1, "%s", err->message);
    }
    return 0;
}

#define FILTER_ENTRY(var) \
    { "filter", 0, 0, G_OPTION_ARG_FILENAME, &(var), NULL, "RULES" }

static int cmd_rewrite(int argc, char **argv)
{
    g_auto(GStrv) sets = NULL;
    g_autofree char *desc_path = NULL, *filter_path = NULL;
    const GOptionEntry entries[] = {
        { "set", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &sets, NULL, "PATH=VALUE" },
        FILTER_ENTRY(filter_path),
        DESC_ENTRY(desc_path),
        { NULL },
    };
    g_autoptr(GError) err = NULL;
    g_auto(GStrv) args = cmdline_parse(entries, argc, argv, &err);
    if (!args) {
        return view_usage_error("rewrite", "%s", err->message);
    }
    for (char **v = sets; v && *v; v++) {
        if (!strchr(*v, '=') || (*v)[0] == '=') {
            return view_usage_error("rewrite", "--set '%s': expected PATH=VALUE", *v);
        }
    }
    int bad = two_operands("rewrite", args, "IN", "OUT");
    if (bad) {
        return bad;
    }
    const char *in = args[0], *out = args[1];

    g_autoptr(QObject) desc = NULL;
    if (!load_desc(desc_path, &desc, &err)) {
        return fail(1, "%s", err->message);
    }
    bool is_ber = false;
    g_autoptr(QemuStream) s = load_stream_as(in, desc, &is_ber, &err);
    if (!s) {
        return fail(1, "%s", err->message);
    }
    print_warnings(in, s);
    /* The filter first, then --set on the filtered stream's paths. */
    if (filter_path) {
        QemuStream *filtered = view_filter_stream(filter_path, in, s, desc, &err);
        if (!filtered) {
            return fail(1, "%s", err->message);
        }
        qemu_stream_free(s);
        s = filtered;
    }
    for (char **v = sets; v && *v; v++) {
        const char *arg = *v;
        const char *eq = strchr(arg, '=');
        g_autofree char *path = g_strndup(arg, (size_t)(eq - arg));
        if (!qemu_stream_set(s, path, eq + 1, &err)) {
            return fail(1, "%s", err->message);
        }
    }
    Output o = { .stream = s };
    g_autoptr(GBytes) ber = NULL;
    if (filter_path && is_ber) {
        /* A filtered BER stream stays a BER stream. */
        if (!(ber = ber_stream_from_qemu(s, &err))) {
            return fail(1, "%s: %s", in, err->message);
        }
        o = (Output){ .bytes = ber };
    }
    if (!write_atomically(out, &o, &err)) {
        return fail(1, "%s", err->message);
    }
    return 0;
}

/* convert IN OUT --to ber|qemu: a stream in the other format (IN: either). */
static int cmd_convert(int argc, char **argv)
{
    g_autofree char *to = NULL;
    g_autofree char *desc_path = NULL, *filter_path = NULL;
    const GOptionEntry entries[] = {
        { "to", 0, 0, G_OPTION_ARG_STRING, &to, NULL, "ber or qemu" },
        FILTER_ENTRY(filter_path),
        DESC_ENTRY(desc_path),
        { NULL },
    };
    g_autoptr(GError) err = NULL;
    g_auto(GStrv) args = cmdline_parse(entries, argc, argv, &err);
    if (!args) {
        return view_usage_error("convert", "%s", err->message);
    }
    int bad = two_operands("convert", args, "IN", "OUT");
    if (bad) {
        return bad;
    }
    if (!to) {
        return view_usage_error("convert", "missing --to (ber or qemu)");
    }
    if (strcmp(to, "ber") != 0 && strcmp(to, "qemu") != 0) {
        return view_usage_error("convert", "unknown --to '%s' (ber or qemu)", to);
    }
    g_autoptr(QObject) desc = NULL;
    if (!load_desc(desc_path, &desc, &err)) {
        return fail(1, "%s", err->message);
    }
    g_autoptr(QemuStream) s = load_stream(args[0], desc, &err);
    if (!s) {
        return fail(1, "%s", err->message);
    }
    if (filter_path) {
        QemuStream *filtered = view_filter_stream(filter_path, args[0], s, desc, &err);
        if (!filtered) {
            return fail(1, "%s", err->message);
        }
        qemu_stream_free(s);
        s = filtered;
    }
    Output o = { .stream = s };
    g_autoptr(GBytes) ber = NULL;
    if (strcmp(to, "ber") == 0) {
        if (!(ber = ber_stream_from_qemu(s, &err))) {
            return fail(1, "%s: %s", args[0], err->message);
        }
        o = (Output){ .bytes = ber };
    }
    if (!write_atomically(args[1], &o, &err)) {
        return fail(1, "%s", err->message);
    }
    return 0;
}

static int cmd_diff(int argc, char **argv)
{
    g_autofree char *desc_path = NULL;
    const GOptionEntry entries[] = { DESC_ENTRY(desc_path), { NULL } };
    g_autoptr(GError) err = NULL;
    g_auto(GStrv) args = cmdline_parse(entries, argc, argv, &err);
    if (!args) {
        return view_usage_error("diff", "%s", err->message);
    }
    int bad = two_operands("diff", args, "A", "B");
    if (bad) {
        return bad;
    }
    const char *a = args[0], *b = args[1];
    g_autoptr(QObject) desc = NULL;
    if (!load_desc(desc_path, &desc, &err)) {
        return fail(2, "%s", err->message);
    }
    g_autoptr(QemuStream) sa = load_stream(a, desc, &err);
    if (!sa) {
        return fail(2, "%s", err->message);
    }
    g_autoptr(QemuStream) sb = load_stream(b, desc, &err);
    if (!sb) {
        return fail(2, "%s", err->message);
    }
    print_warnings(a, sa);
    print_warnings(b, sb);
    g_autoptr(GPtrArray) lines = qemu_stream_diff(sa, sb);
    g_autoptr(GString) out = g_string_new(NULL);
    for (guint i = 0; i < lines->len; i++) {
        g_string_append(out, g_ptr_array_index(lines, i));
        g_string_append_c(out, '\n');
    }
    if (!print_text(out->str, out->len, &err)) {
        return fail(2, "%s", err->message);
    }
    return lines->len ? 1 : 0;
}

/* A finding as JSON: {"offset": N or null, "where": "section ..." or null, "finding": TEXT}. */
static QObject *finding_to_qobject(const GError *finding)
{
    QObject *obj = qdict_new();
    uint64_t offset;
    const char *where = vms_error_where(finding);
    qdict_put(obj, "offset", vms_error_offset(finding, &offset) ? qnum_from_uint(offset)
                                                                  : qnull());
    qdict_put(obj, "where", where ? qstring_from_str(where) : qnull());
    qdict_put(obj, "finding", qstring_from_str(vms_error_text(finding)));
    return obj;
}

static int cmd_check(int argc, char **argv)
{
    g_autofree char *desc_path = NULL;
    gboolean json = FALSE;
    const GOptionEntry entries[] = {
        DESC_ENTRY(desc_path),
        { "json", 0, 0, G_OPTION_ARG_NONE, &json, NULL, NULL },
        { NULL },
    };
    g_autoptr(GError) err = NULL;
    g_auto(GStrv) args = cmdline_parse(entries, argc, argv, &err);
    if (!args) {
        return view_usage_error("check", "%s", err->message);
    }
    int bad = one_operand("check", args, "FILE");
    if (bad) {
        return bad;
    }
    const char *file = args[0];
    g_autoptr(QObject) desc = NULL;
    g_autoptr(GBytes) data = NULL;
    if (!load_desc(desc_path, &desc, &err) || !(data = read_file(file, &err))) {
        return fail(2, "%s", err->message);
    }
    /* A BER stream is checked as its QEMU form, as every command reads it. */
    gsize len;
    const uint8_t *d = g_bytes_get_data(data, &len);
    if (ber_stream_is(d, len)) {
        g_autoptr(BerStream) ber = ber_stream_parse(data, &err);
        GBytes *qemu = ber ? ber_stream_to_qemu(ber, &err) : NULL;
        if (!qemu) {
            return fail(2, "%s: %s", file, err->message);
        }
        g_bytes_unref(data);
        data = qemu;
    }
    QemuStreamOptions opts = { .desc = desc };
    g_autoptr(GPtrArray) findings = NULL;
    GError *cerr = NULL;
    if (!qemu_stream_check(data, &opts, &findings, &cerr)) {
        stream_error(&err, cerr, file, desc);
        return fail(2, "%s", err->message);
    }
    g_autoptr(GString) out = g_string_new(NULL);
    if (json) {
        g_autoptr(QObject) list = qlist_new();
        for (guint i = 0; i < findings->len; i++) {
            qlist_append(list, finding_to_qobject(g_ptr_array_index(findings, i)));
        }
        g_autofree char *text = qobject_to_json(list, false);
        g_string_append_printf(out, "%s\n", text);
    } else {
        for (guint i = 0; i < findings->len; i++) {
            g_string_append_printf(out, "%s\n",
                                   ((const GError *)g_ptr_array_index(findings, i))->message);
        }
    }
    if (!print_text(out->str, out->len, &err)) {
        return fail(2, "%s", err->message);
    }
    return findings->len ? 1 : 0;
}

/* The JSON Schema of each device section of a stream (vmstate_json_schema). */
static QObject *stream_schemas(const QemuStream *s, GError **errp)
{
    g_autoptr(QObject) list = qlist_new();
    for (size_t i = 0; i < qemu_stream_n_sections(s); i++) {
        const QemuStreamSection *sec = qemu_stream_section(s, i);
        const uint8_t *state;
        size_t size;
        const VMStateDescription *vmsd = qemu_stream_section_device(s, i, &state, &size);
        if (!vmsd) {
            continue;
        }
        QObject *schema = vmstate_json_schema(vmsd, size, errp);
        if (!schema) {
            return NULL;
        }
        QObject *entry = qdict_new();
        qdict_put(entry, "name", qstring_from_str(sec->name));
        qdict_put(entry, "instance-id", qnum_from_uint(sec->instance_id));
        qdict_put(entry, "version-id", qnum_from_uint(sec->version_id));
        qdict_put(entry, "schema", schema);
        qlist_append(list, entry);
    }
    QObject *o = qdict_new();
    qdict_put(o, "sections", g_steal_pointer(&list));
    return o;
}

/*
 * schema PATH: the JSON Schema of a live device's state, from an agent;
 * schema FILE: {"sections": [{"name", "instance-id", "version-id", "schema"}]}
 * for each device section of a stream.  A PATH is /HOST/ID that is no file.
 */
static int cmd_schema(int argc, char **argv)
{
    g_autofree char *address = NULL;
    const GOptionEntry entries[] = {
        { "qmp", 0, 0, G_OPTION_ARG_FILENAME, &address, NULL, "unix:PATH or tcp:HOST:PORT" },
        { NULL },
    };
    g_autoptr(GError) err = NULL;
    g_auto(GStrv) args = cmdline_parse(entries, argc, argv, &err);
    if (!args) {
        return view_usage_error("schema", "%s", err->message);
    }
    if (!args[0]) {
        return view_usage_error("schema", "missing PATH (/HOST/ID) or FILE");
    }
    if (args[1]) {
        return view_usage_error("schema", "unexpected argument '%s'", args[1]);
    }
    g_autoptr(QObject) out = NULL;
    if (args[0][0] == '/' && !g_file_test(args[0], G_FILE_TEST_EXISTS)) {
        g_autoptr(QObject) q = qdict_new();
        g_autoptr(QObject) ret = NULL;
        qdict_put(q, "path", qstring_from_str(args[0]));
        qdict_put(q, "format", qstring_from_str("json-schema"));
        if (view_agent_execute(address, "query-device-schema", q, &ret)) {
            return 1;
        }
        out = qobject_ref(qdict_get(ret, "schema"));
    } else {
        g_autoptr(QemuStream) s = load_stream(args[0], NULL, &err);
        if (!s || !(out = stream_schemas(s, &err))) {
            return fail(1, "%s", err->message);
        }
    }
    g_autofree char *json = qobject_to_json(out, false);
    if (!print_text(json, strlen(json), &err) || !print_text("\n", 1, &err)) {
        return fail(1, "%s", err->message);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        return view_usage_error(NULL, "missing command (" COMMANDS ")");
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        for (size_t i = 0; i < G_N_ELEMENTS(usage_lines); i++) {
            printf("%s\n", usage_lines[i]);
        }
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("vmscope-view %s\n", PACKAGE_VERSION);
        return 0;
    }
    if (strcmp(cmd, "stream") == 0) {
        return cmd_stream(argc - 2, argv + 2);
    }
    if (strcmp(cmd, "rewrite") == 0) {
        return cmd_rewrite(argc - 2, argv + 2);
    }
    if (strcmp(cmd, "diff") == 0) {
        return cmd_diff(argc - 2, argv + 2);
    }
    if (strcmp(cmd, "check") == 0) {
        return cmd_check(argc - 2, argv + 2);
    }
    if (strcmp(cmd, "state") == 0) {
        return view_state_main(argc - 2, argv + 2);
    }
    if (strcmp(cmd, "schema") == 0) {
        return cmd_schema(argc - 2, argv + 2);
    }
    if (strcmp(cmd, "convert") == 0) {
        return cmd_convert(argc - 2, argv + 2);
    }
    if (strcmp(cmd, "migrate") == 0) {
        return view_migrate_main(argc - 2, argv + 2);
    }
    if (strcmp(cmd, "compat") == 0) {
        return view_compat_main(argc - 2, argv + 2);
    }
    if (strcmp(cmd, "explain") == 0) {
        return view_explain_main(argc - 2, argv + 2);
    }
    return view_usage_error(NULL, "unknown command '%s' (" COMMANDS ")", cmd);
}

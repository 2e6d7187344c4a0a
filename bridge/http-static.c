/*
 * HTTP bridge: the dashboard's static files, and where they are.
 *
 * A URL path maps onto the dashboard directory only if every segment is a
 * plain name: "." and ".." segments, backslashes and control characters
 * are refused (400), names starting with a dot are not served (404), and
 * the file found, symbolic links resolved, must still lie inside the
 * directory (404 otherwise), so no request reads anything else.  A path
 * ending in "/" means its index.html.  Only regular files are served.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "http-impl.h"

typedef struct ContentType {
    const char *ext;
    const char *type;
} ContentType;

static const ContentType content_types[] = {
    { ".html", "text/html; charset=utf-8" },
    { ".htm", "text/html; charset=utf-8" },
    { ".js", "text/javascript; charset=utf-8" },
    { ".mjs", "text/javascript; charset=utf-8" },
    { ".css", "text/css; charset=utf-8" },
    { ".json", "application/json" },
    { ".map", "application/json" },
    { ".svg", "image/svg+xml" },
    { ".png", "image/png" },
    { ".ico", "image/x-icon" },
    { ".txt", "text/plain; charset=utf-8" },
    { ".woff2", "font/woff2" },
};

static const char *content_type_of(const char *path)
{
    const char *base = strrchr(path, '/');
    const char *dot = strrchr(base ? base : path, '.');
    if (dot) {
        for (size_t i = 0; i < G_N_ELEMENTS(content_types); i++) {
            if (g_ascii_strcasecmp(dot, content_types[i].ext) == 0) {
                return content_types[i].type;
            }
        }
    }
    return "application/octet-stream";
}

char *http_static_resolve_dir(const char *dir)
{
    char *real = realpath(dir, NULL);
    struct stat st;
    if (!real || stat(real, &st) != 0 || !S_ISDIR(st.st_mode)) {
        free(real);
        return NULL;
    }
    char *copy = g_strdup(real);
    free(real);
    return copy;
}

enum MHD_Result http_static_serve(HttpRequest *r, const char *url)
{
    const char *root = r->server->dashboard_dir;
    g_autofree char *rel = NULL;

    /* Check every segment of the path. */
    g_auto(GStrv) seg = g_strsplit(url + 1, "/", -1);
    for (guint i = 0; seg[i]; i++) {
        if (strcmp(seg[i], ".") == 0 || strcmp(seg[i], "..") == 0 || strchr(seg[i], '\\')) {
            return http_respond_error(r, MHD_HTTP_BAD_REQUEST, QMP_ERROR_GENERIC_ERROR,
                                      "malformed path '%s'", url);
        }
        for (const unsigned char *p = (const unsigned char *)seg[i]; *p; p++) {
            if (*p < 0x20 || *p == 0x7f) {
                return http_respond_error(r, MHD_HTTP_BAD_REQUEST, QMP_ERROR_GENERIC_ERROR,
                                          "malformed path: control character in '%s'", seg[i]);
            }
        }
        if (seg[i][0] == '.') {
            return http_respond_error(r, MHD_HTTP_NOT_FOUND, QMP_ERROR_GENERIC_ERROR,
                                      "no such file: %s", url);
        }
    }
    if (!root) {
        return http_respond_error(r, MHD_HTTP_NOT_FOUND, QMP_ERROR_GENERIC_ERROR,
                                  "no such file: %s (this server has no dashboard)", url);
    }

    rel = g_str_has_suffix(url, "/") ? g_strconcat(url + 1, "index.html", NULL)
                                      : g_strdup(url + 1);
    g_autofree char *full = g_build_filename(root, rel, NULL);
    char *real = realpath(full, NULL);
    size_t root_len = strlen(root);
    int fd = -1;
    struct stat st;

    if (real && strncmp(real, root, root_len) == 0 && real[root_len] == '/') {
        fd = open(real, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    }
    free(real);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0) {
            close(fd);
        }
        return http_respond_error(r, MHD_HTTP_NOT_FOUND, QMP_ERROR_GENERIC_ERROR,
                                  "no such file: %s", url);
    }
    struct MHD_Response *rsp = MHD_create_response_from_fd64((uint64_t)st.st_size, fd);
    if (!rsp) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(rsp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type_of(rel));
    MHD_add_response_header(rsp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    return http_respond(r, MHD_HTTP_OK, rsp);
}

/* Is the running program the installed one (in $(bindir))? */
static bool running_installed(void)
{
#ifdef VMS_BINDIR
    g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
    char *bindir = realpath(VMS_BINDIR, NULL);
    bool installed = false;
    if (exe && bindir) {
        g_autofree char *dir = g_path_get_dirname(exe);
        installed = strcmp(dir, bindir) == 0;
    }
    free(bindir);
    return installed;
#else
    return true;
#endif
}

char *http_dashboard_dir(void)
{
    const char *env = g_getenv("VMSCOPE_DASHBOARD_DIR");
    if (env && env[0]) {
        return g_strdup(env);
    }
#ifdef VMS_DASHBOARD_SRCDIR
    if (!running_installed() &&
        g_file_test(VMS_DASHBOARD_SRCDIR "/index.html", G_FILE_TEST_IS_REGULAR)) {
        return g_strdup(VMS_DASHBOARD_SRCDIR);
    }
#else
    (void)running_installed;
#endif
#ifdef VMS_DASHBOARD_DIR
    return g_strdup(VMS_DASHBOARD_DIR);
#else
    return NULL;
#endif
}

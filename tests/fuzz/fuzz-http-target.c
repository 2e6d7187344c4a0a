/*
 * HTTP request targets: the check made before libmicrohttpd decodes them
 * (http_target_check) and the routing of the decoded path (http_route).
 * The input, up to its first NUL, is the target as it came in the request
 * line.  Invariants: a target refused gets a printable ASCII message; a
 * target accepted decodes (as libmicrohttpd does) to UTF-8 without control
 * characters, so nothing is cut short by a NUL; a device path that routes
 * is "/HOST/ID" with non-empty parts free of '/', "." and "..".
 */
#include "config.h"

#include <string.h>
#include <glib.h>
#include <microhttpd.h>

#include "fuzz.h"
#include "bridge/http-impl.h"

static bool printable_ascii(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f) {
            return false;
        }
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autofree char *target = g_strndup((const char *)data, size);
    g_autoptr(GError) err = NULL;
    if (!http_target_check(target, &err)) {
        FUZZ_CHECK(printable_ascii(err->message), "message not printable ASCII: %s", err->message);
        return 0;
    }
    /* The path as libmicrohttpd hands it to the handler. */
    g_autofree char *url = g_strndup(target, strcspn(target, "?"));
    size_t len = MHD_http_unescape(url);
    FUZZ_CHECK(len == strlen(url), "decoded path cut short by a NUL: %s", target);
    FUZZ_CHECK(g_utf8_validate(url, -1, NULL), "decoded path not UTF-8: %s", target);
    for (size_t i = 0; i < len; i++) {
        FUZZ_CHECK((unsigned char)url[i] >= 0x20 && url[i] != 0x7f,
                   "control character in the decoded path of %s", target);
    }

    HttpEndpoint ep;
    g_autofree char *dev = NULL;
    RouteResult rr = http_route(url, &ep, &dev);
    if (rr == ROUTE_OK && (ep == HTTP_EP_STATE || ep == HTTP_EP_SCHEMA)) {
        FUZZ_CHECK(dev && dev[0] == '/', "device path %s", dev ? dev : "(none)");
        g_auto(GStrv) parts = g_strsplit(dev + 1, "/", -1);
        FUZZ_CHECK(g_strv_length(parts) == 2, "device path %s is not /HOST/ID", dev);
        for (int i = 0; i < 2; i++) {
            FUZZ_CHECK(parts[i][0] && strcmp(parts[i], ".") != 0 && strcmp(parts[i], "..") != 0,
                       "device path %s has an empty, '.' or '..' part", dev);
        }
    } else {
        FUZZ_CHECK(dev == NULL, "a device path for a route that is not a device's");
    }
    return 0;
}

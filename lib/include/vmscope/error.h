/*
 * vmscope error domain.
 *
 * Every fallible function in libvmscope takes a trailing `GError **errp`
 * and returns false (or NULL) on failure, after setting *errp.  Messages are
 * one line and say where, then what:
 *
 *     offset 1234: section 'serial' (id 5): state.fifo[3]: truncated: need 4 bytes, 2 left
 *     ^ byte offset ^ part of the input     ^ field path   ^ what went wrong
 *
 * Each part of the location is left out when unknown ("serial.fifo[3].data:
 * value 300 out of range for uint8" has only a path).
 *
 * Locations are data.  An error of this domain keeps its byte offset, the
 * part of the input ("where") and the field path next to its message (a
 * GLib extended error), and the message is always made from them by one
 * function in error.c.  Code that knows more about the place than the code
 * that failed (a stream parser knows which section a visitor was reading)
 * adds it with vms_error_locate(), which makes the message again; nothing
 * ever parses a location back out of a message.
 */
#ifndef VMSCOPE_ERROR_H
#define VMSCOPE_ERROR_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#define VMS_ERROR (vms_error_quark())
GQuark vms_error_quark(void);

typedef enum VmsErrorCode {
    VMS_ERROR_FAILED,        /* anything not listed below */
    VMS_ERROR_INVALID,       /* malformed input: wrong type, bad bytes, bad JSON */
    VMS_ERROR_RANGE,         /* a value that does not fit its C type or limit */
    VMS_ERROR_MISSING,       /* a required field or element is absent */
    VMS_ERROR_EXTRA,         /* input has a field or element nobody asked for */
    VMS_ERROR_VERSION,       /* version newer than supported / older than minimum */
    VMS_ERROR_TRUNCATED,     /* input ends early */
    VMS_ERROR_NOT_FOUND,     /* a named thing (device, host, section) does not exist */
    VMS_ERROR_IO,            /* operating-system I/O failure */
} VmsErrorCode;

/* An unknown offset. */
#define VMS_NO_OFFSET UINT64_MAX

/*
 * Set *errp (if errp is not NULL) to a located error: offset (or
 * VMS_NO_OFFSET), where and path (either may be NULL or "") and the text
 * made from fmt.
 */
void vms_error_set_at(GError **errp, VmsErrorCode code, uint64_t offset, const char *where,
                      const char *path, const char *fmt, ...) G_GNUC_PRINTF(6, 7);

/*
 * Add to err's location what it does not have yet: the offset (unless
 * VMS_NO_OFFSET), where (unless NULL), and a path prefix (unless NULL),
 * which goes in front of the path err has ("state" + "fifo[3]" ->
 * "state.fifo[3]").  The message is made again.  An error of another domain
 * (say, from GIO) gets the location in front of its message.
 */
void vms_error_locate(GError *err, uint64_t offset, const char *where, const char *path_prefix);

/* The parts of an error's location; false / NULL when it has none. */
bool vms_error_offset(const GError *err, uint64_t *offset);
const char *vms_error_where(const GError *err);
const char *vms_error_path(const GError *err);
/* What went wrong, without the location (the whole message if it has none). */
const char *vms_error_text(const GError *err);

/* Prefix an existing error message with "PREFIX: " (no-op if errp or *errp is NULL). */
void vms_error_prefix(GError **errp, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

#endif

/*
 * vmscope error domain.
 *
 * Every fallible function in libvmscope takes a trailing `GError **errp`
 * and returns false (or NULL) on failure, after setting *errp.  Messages are
 * one line and say what and where: a field path ("serial.fifo[3].data") or a
 * byte offset ("offset 4711") comes first, then what went wrong.
 */
#ifndef VMSCOPE_ERROR_H
#define VMSCOPE_ERROR_H

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

/* Prefix an existing error message with "PREFIX: " (no-op if errp or *errp is NULL). */
void vms_error_prefix(GError **errp, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

#endif

/*
 * `vmscope-view migrate SRC DST [--uri URI] [--format qemu|ber]`: migrate
 * one vmscope-devhost to another the way management tools do it for QEMU.
 * SRC and DST are QMP addresses (unix:PATH or tcp:HOST:PORT).  Both ends
 * are asked for their migration capabilities (query-migrate-capabilities);
 * the format is BER when both list "ber", QEMU's otherwise, and is set on
 * both (migrate-set-capabilities); the URI is where DST listens (its
 * query-migrate "socket-address") unless --uri says; then SRC migrates and
 * the tool waits for the end.  --format forces a format, and fails before
 * anything is sent when an end lacks it.  Prints, on success:
 *
 *     format: ber
 *     bytes: 9812
 *     total-time: 4 ms
 *     downtime: 3 ms
 *
 * Exit status: 0 completed, 1 failed (one line on stderr: an end that could
 * not be asked, or "vmscope-view: migrate: failed: ..." with the source's
 * error-desc), 2 bad usage.
 */
#ifndef VMSCOPE_VIEWERS_VIEW_MIGRATE_H
#define VMSCOPE_VIEWERS_VIEW_MIGRATE_H

/* argv: the arguments after "migrate".  Returns the exit status. */
int view_migrate_main(int argc, char **argv);

#endif

/*
 * `vmscope-view state PATH [--qmp ADDR] [--format pretty|json]`: ask a
 * vmscope-agent for one device's state (query-device-state) and print it.
 * Separate from vmscope-view.c because it is the one subcommand that talks
 * to a program rather than reading a file.
 */
#ifndef VMSCOPE_VIEWERS_VIEW_STATE_H
#define VMSCOPE_VIEWERS_VIEW_STATE_H

#include <glib.h>

#include "vmscope/qobject.h"

/*
 * argv: the arguments after "state".  Prints the result in the format
 * asked for (any in the format table, pretty by default), or for json the
 * whole query-device-state result as one line of JSON.  Returns the
 * exit status: 0, 1 (the device is not there, the agent refused or could
 * not be reached: one line on stderr), 2 (bad usage).
 */
int view_state_main(int argc, char **argv);

/*
 * Run one agent command at `address` (NULL: the default agent address) and
 * set *ret to its return value: 0, or 1 after printing why it failed
 * ("vmscope-view: ...") on stderr.
 */
int view_agent_execute(const char *address, const char *command, QObject *args, QObject **ret);

/*
 * vmscope-view's one usage error (in vmscope-view.c): prints
 * "vmscope-view: CMD: MESSAGE" and "Try 'vmscope-view --help'." on stderr
 * and returns the exit status for bad usage, 2.  cmd may be NULL.
 */
int view_usage_error(const char *cmd, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

#endif

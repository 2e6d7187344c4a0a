/*
 * Command lines of programs that print their own usage (vmscope-view's
 * subcommands, vmscope-trace): GOption parses the flags, and this adds
 * what those programs promise on top of it.
 *
 *   - getopt's spellings: "-d5" and "-ed5" as well as "-d 5", "--mode=calls"
 *     and "--mode calls"; "--" ends the options.
 *   - Their words for the two mistakes GOption words its own way:
 *       unknown option '--frob'                        VMS_ERROR_INVALID
 *       option '--format' needs a value (json or pretty)
 *       option '-d' needs an argument                  VMS_ERROR_MISSING
 *     The second form is used when the entry has no arg_description; with
 *     one, it says what the value is.  Other errors are GOption's
 *     (G_OPTION_ERROR: a bad number, say).
 *   - No GOption help: an entry named "help" is the program's own.
 *
 * Strings that name files or carry arbitrary bytes should be
 * G_OPTION_ARG_FILENAME(_ARRAY): GOption converts G_OPTION_ARG_STRING
 * values from the locale's charset, and fails on bytes it cannot convert.
 */
#ifndef VMSCOPE_CMDLINE_H
#define VMSCOPE_CMDLINE_H

#include <stdbool.h>
#include <sys/types.h>
#include <glib.h>

/*
 * Parse the argc arguments in argv (without the program's name: argv + 1
 * for a program, the words after its name for a subcommand) against
 * entries (NULL-terminated), storing the values as GOption does.  Returns
 * the arguments that are not options, in order (possibly none), or NULL
 * with *errp set; g_strfreev it.
 */
GStrv cmdline_parse(const GOptionEntry *entries, int argc, char **argv, GError **errp);

/*
 * The group an option names (`--group vmscope`, or a number): its gid, or
 * false with "--group 'nosuch': no such group" (VMS_ERROR_NOT_FOUND).
 */
bool cmdline_group(const char *option, const char *value, gid_t *gid, GError **errp);

#endif

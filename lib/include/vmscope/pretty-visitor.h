/*
 * Pretty-print output visitor: a walk over C values as text for people.
 *
 * The text keeps everything the walk says: member order, names, the C type
 * of every scalar, VMState description names and versions (from
 * VisitStructInfo), nesting (two spaces per level), list lengths, optional
 * members that are absent.  Unsigned integers show their hex value next to
 * the decimal one, buffers print as hex rows with an offset column, short
 * lists of numbers print on one line.  An example:
 *
 *     serial (vmsd serial, version 3) {
 *       divider: uint16 = 12 (0x000c)
 *       ier: uint8 = 5 (0x05)
 *       thr_ipending: bool = true
 *       tsr: buffer[4] = de ad be ef
 *       regs: uint32[2] = [0x00000001, 0x0000ffff]
 *       subsection serial/fifo, version 1 {
 *         count: int32 = -1
 *       }
 *     }
 *
 * The format is written down exactly in docs/formats.md ("Pretty-print").
 * It is for reading, not parsing: machines should use the QObject/JSON
 * visitors.  Several values may be visited at the top level (sections of
 * a stream, say); each starts on a line of its own.
 *
 * The visitor never fails.  The text is rendered when taken, so it is
 * complete only after the walk has closed every struct and list.
 */
#ifndef VMSCOPE_PRETTY_VISITOR_H
#define VMSCOPE_PRETTY_VISITOR_H

#include "vmscope/visitor.h"

Visitor *pretty_output_visitor_new(void);

/*
 * The text of everything visited so far (g_malloc'd, "" if nothing was
 * visited); the visitor starts afresh.  Call after the walk.
 */
char *pretty_output_visitor_take(Visitor *v);

#endif

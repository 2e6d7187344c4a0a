#!/bin/sh
# Every program make installs has a man page, built from its scdoc source,
# and man renders each page without a warning.
set -u
: "${top_srcdir:?}" "${top_builddir:?}" "${VMS_PROGRAMS:?}" "${VMS_MAN_PAGES:?}"
command -v man >/dev/null || { echo "SKIP: no man (Debian package man-db)"; exit 77; }
. "$top_srcdir/tests/install/test-lib.sh"
for p in $VMS_PROGRAMS; do
    case " $(echo $VMS_MAN_PAGES) " in
    *" docs/man/${p##*/}.1 "*) ;;
    *) fail "${p##*/} has no man page (docs/man/${p##*/}.1.scd)" ;;
    esac
done
for page in $VMS_MAN_PAGES; do
    f=$top_builddir/$page
    [ -s "$f" ] || { fail "$page was not built"; continue; }
    warnings=$(MANWIDTH=80 man --warnings -l "$f" 2>&1 >/dev/null)
    [ -z "$warnings" ] || fail "$page: $warnings"
    MANWIDTH=80 man -l "$f" 2>/dev/null | grep -q '^EXAMPLES' || fail "$page has no EXAMPLES"
    grep -q '@VERSION@' "$f" && fail "$page: @VERSION@ left in"
done
echo "$(echo $VMS_MAN_PAGES | wc -w) pages, $failures failures"
[ "$failures" -eq 0 ]

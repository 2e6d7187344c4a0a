#!/bin/sh
# completion/vmscope.bash completes each program's options (read from the
# program's own --help), vmscope-view's subcommands, addresses and device
# types, as bash-completion runs it.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
bc=/usr/share/bash-completion/bash_completion
[ -r "$bc" ] || { echo "SKIP: no bash-completion (Debian package bash-completion)"; exit 77; }
. "$top_srcdir/tests/install/test-lib.sh"
# complete WORDS...: what bash completes for the last word.
complete() {
    PATH="$top_builddir/agent:$top_builddir/devices:$top_builddir/viewers:$PATH" bash -c '
        . "$0"; . "$1"; shift
        compopt() { :; }    # a builtin that works only inside real completion
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
        f=$(complete -p "$1" | sed "s/.* -F \([^ ]*\) .*/\1/")
        "$f" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
        printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' \
        "$bc" "$top_srcdir/completion/vmscope.bash" "$@"
}
expect() {
    want=$1; shift
    got=$(complete "$@")
    [ "$got" = "$want" ] || fail "$*: '$got', expected '$want'"
}
expect '--qemu-dir= --qemu= --qmp-max-output= --qmp= ' vmscope-agent --q
expect '--version ' vmscope-agent --vers
expect 'tcp: unix: ' vmscope-agent --qmp ''
expect 'serial ' vmscope-devhost --devices ser
expect 'mc146818rtc,slirp ' vmscope-devhost --devices mc146818rtc,sl
expect '--incoming= ' vmscope-devhost --inc
expect 'diff ' vmscope-view di
expect '--desc --format ' vmscope-view stream x.mig --
expect 'json pretty ' vmscope-view stream x.mig --format ''
expect 'compat ' vmscope-view comp
expect '--dest --json ' vmscope-view explain x.mig --
expect '--json --reverse ' vmscope-view compat a.json b.json --
echo "$failures failures"
[ "$failures" -eq 0 ]

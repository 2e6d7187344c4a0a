# bash completion for vmscope's programs: vmscope-agent, vmscope-devhost,
# vmscope-view and vmscope-trace.  Installed under each program's name, so
# that bash-completion loads it when any of them is first completed.
# Options come from each program's --help (bash-completion's _parse_help),
# so they never drift from the programs; only vmscope-view's subcommands,
# which have no --help of their own, are listed here.

# Addresses: the notation of every --qmp and --incoming (docs/qmp.md).
_vmscope_address()
{
    case $cur in
        unix:*) cur=${cur#unix:}; _filedir; COMPREPLY=("${COMPREPLY[@]/#/unix:}") ;;
        *) COMPREPLY=($(compgen -W 'unix: tcp:' -- "$cur")); compopt -o nospace ;;
    esac
}

# The options in the program's --help; "--opt=" ones take a value: no space after.
_vmscope_options()
{
    COMPREPLY=($(compgen -W '$(_parse_help "$1")' -- "$cur"))
    [[ ${COMPREPLY-} == *= ]] && compopt -o nospace
}

_vmscope_agent()
{
    local cur prev words cword split
    _init_completion -s || return
    case $prev in
        --qmp) _vmscope_address; return ;;
        --shm-dir|--qemu-dir) _filedir -d; return ;;
        --http|--qemu) return ;;
    esac
    $split || _vmscope_options "$1"
}
complete -F _vmscope_agent vmscope-agent

_vmscope_devhost()
{
    local cur prev words cword split
    _init_completion -s || return
    case $prev in
        --qmp|--incoming) _vmscope_address; return ;;
        --shm-dir) _filedir -d; return ;;
        --devices|--device-version)
            # The device types, as --help lists them: "serial (serialN),".
            local types
            types=$("$1" --help 2>/dev/null | sed -n '/^Device types:/,/^QMP:/p' |
                    grep -o '[a-z0-9-]* (' | tr -d ' (')
            COMPREPLY=($(compgen -W "$types" -- "${cur##*,}"))
            [[ $cur == *,* ]] && COMPREPLY=("${COMPREPLY[@]/#/${cur%,*},}")
            compopt -o nospace
            return ;;
        --name|--tick-ms) return ;;
    esac
    $split || _vmscope_options "$1"
}
complete -F _vmscope_devhost vmscope-devhost

_vmscope_view()
{
    local cur prev words cword split
    _init_completion -s || return
    if ((cword == 1)); then
        COMPREPLY=($(compgen -W 'stream rewrite diff state compat explain --version --help' -- "$cur"))
        return
    fi
    case $prev in
        --format)
            if [[ ${words[1]} == state ]]; then
                COMPREPLY=($(compgen -W 'pretty json' -- "$cur"))
            else
                COMPREPLY=($(compgen -W 'json pretty' -- "$cur"))
            fi
            return ;;
        --qmp) _vmscope_address; return ;;
        --set) return ;;
        --filter) _filedir json; return ;;
    esac
    $split && return
    case ${words[1]} in
        stream) COMPREPLY=($(compgen -W '--format --desc' -- "$cur")) ;;
        rewrite) COMPREPLY=($(compgen -W '--set --filter --desc' -- "$cur")) ;;
        state) COMPREPLY=($(compgen -W '--qmp --format' -- "$cur")); return ;;
        compat) [[ $cur == -* ]] && COMPREPLY=($(compgen -W '--reverse --json' -- "$cur")) ;;
        explain) [[ $cur == -* ]] && COMPREPLY=($(compgen -W '--dest --json' -- "$cur")) ;;
    esac
    [[ $cur == -* ]] || _filedir
}
complete -F _vmscope_view vmscope-view

_vmscope_trace()
{
    local cur prev words cword split
    _init_completion -s || return
    case $prev in
        -p|--pid) _pids; return ;;
        -b|--binary) _filedir; return ;;
        -m|--mode) COMPREPLY=($(compgen -W 'summary calls' -- "$cur")); return ;;
        -d|--duration|-f|--function) return ;;
    esac
    $split || _vmscope_options "$1"
}
complete -F _vmscope_trace vmscope-trace

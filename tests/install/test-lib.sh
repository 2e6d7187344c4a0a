# Sourced by the shell tests in tests/install and by scripts/test-packages.sh:
#   $tmp               a private directory, removed at exit
#   fail MESSAGE       prints "FAIL: MESSAGE" and counts it in $failures
#   agent_start PROG   starts the vmscope-agent PROG with its segments and QMP
#                      socket in $tmp and HTTP on a port it picks; sets
#                      $agent_pid and $agent_url ("http://127.0.0.1:PORT/");
#                      false (its output shown) if it did not start in 10 s
#   agent_stop         stops it (exit does too)
tmp=$(mktemp -d) || exit 99
failures=0 agent_pid=
test_lib_cleanup() {
    [ -z "$agent_pid" ] || kill "$agent_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap test_lib_cleanup EXIT
trap 'exit 1' INT TERM

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

agent_start() {
    mkdir -p "$tmp/shm"
    "$1" --shm-dir "$tmp/shm" --qmp "unix:$tmp/agent.qmp" --http 127.0.0.1:0 \
        > "$tmp/agent.out" 2>&1 &
    agent_pid=$!
    agent_url=
    for _ in $(seq 100); do
        agent_url=$(sed -n 's/^http: listening on //p' "$tmp/agent.out")
        [ -n "$agent_url" ] && return 0
        sleep 0.1
    done
    cat "$tmp/agent.out"
    return 1
}

agent_stop() {
    kill "$agent_pid" 2>/dev/null
    wait "$agent_pid" 2>/dev/null
    agent_pid=
}

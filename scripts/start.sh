#!/bin/sh
# Install dependencies, build vmscope, and start the main job: a device host
# ("demo") and the agent with its QMP socket and HTTP dashboard.  Prints
# where to look; Ctrl-C stops everything.
#   VMSCOPE_HTTP=127.0.0.1:8080 scripts/start.sh    (default port: 8080)
set -e
cd "$(dirname "$0")/.."; top=$(pwd)
scripts/install-deps.sh
[ -x configure ] || ./autogen.sh >/dev/null
mkdir -p _build/default
cd _build/default
[ -f Makefile ] || "$top/configure" -q
make -j"$(nproc)" >/dev/null
run=${XDG_RUNTIME_DIR:-/tmp}/vmscope
mkdir -p "$run"
http=${VMSCOPE_HTTP:-127.0.0.1:8080}
pids=
cleanup() { [ -n "$pids" ] && kill $pids 2>/dev/null; wait 2>/dev/null; }
trap cleanup EXIT INT TERM
./devices/vmscope-devhost --name demo --qmp "unix:$run/demo.qmp" &
pids="$pids $!"
./agent/vmscope-agent --qmp "unix:$run/agent.qmp" --http "$http" &
pids="$pids $!"
sleep 1
cat <<MSG

vmscope is running.
  dashboard:      http://$http/
  agent QMP:      $run/agent.qmp
  devhost QMP:    $run/demo.qmp
  try:            $top/_build/default/viewers/vmscope-view state /demo/serial0 --qmp unix:$run/agent.qmp
                  curl -s http://$http/api/devices/demo/serial0/state
                  echo '{"execute":"qmp_capabilities"}{"execute":"query-device-state","arguments":{"path":"/demo/serial0","format":"pretty"}}' | socat - UNIX-CONNECT:$run/agent.qmp
Ctrl-C stops it.
MSG
wait

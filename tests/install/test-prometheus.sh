#!/bin/sh
# prometheus/: the alerting rules pass `promtool check rules` and their unit
# tests (`promtool test rules`); every query of the Grafana dashboard is
# valid PromQL (checked by promtool as recording rules); and every metric
# the two name is one the agent's /metrics exports, read from a real agent,
# except vmscope_qemu_snapshot_pause_seconds, which issue 11 adds.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
promtool=${PROMTOOL:-$(command -v promtool)}
if [ -z "$promtool" ]; then
    echo "SKIP: no promtool (Debian package prometheus)"
    exit 77
fi
command -v curl >/dev/null || { echo "SKIP: no curl"; exit 77; }
rules=$top_srcdir/prometheus/vmscope.rules.yml
dashboard=$top_srcdir/prometheus/vmscope-grafana.json
. "$top_srcdir/tests/install/test-lib.sh"

"$promtool" check rules "$rules" || fail "promtool check rules $rules"
# The unit tests name the rules file relative to themselves.
cp "$rules" "$top_srcdir/prometheus/vmscope.rules.test.yml" "$tmp/"
(cd "$tmp" && "$promtool" test rules vmscope.rules.test.yml) || fail "promtool test rules"

# The dashboard's queries, with Grafana's variables given values, as rules.
python3 - "$dashboard" > "$tmp/dashboard.rules.yml" <<'PY' || fail "$dashboard: not a dashboard"
import json, sys
d = json.load(open(sys.argv[1]))
ids = set()
print("groups:\n  - name: dashboard\n    rules:")
for p in d["panels"]:
    assert p["id"] not in ids, "panel id %d twice" % p["id"]
    ids.add(p["id"])
    assert {"x", "y", "w", "h"} <= set(p["gridPos"]), p["title"]
    for t in p.get("targets", []):
        e = (t["expr"].replace("$__rate_interval", "5m").replace("$__range", "1h")
             .replace("$job", "vmscope").replace("$instance", ".*"))
        print("      - record: dashboard:%s\n        expr: %s" % (t["refId"], json.dumps(e)))
PY
"$promtool" check rules "$tmp/dashboard.rules.yml" > "$tmp/check.out" 2>&1 ||
    { cat "$tmp/check.out"; fail "a dashboard query is not valid PromQL"; }

# What a real agent exports.
agent_start "$top_builddir/agent/vmscope-agent" || { fail "the agent did not start"; exit 1; }
curl -sf "${agent_url}metrics" > "$tmp/metrics" || fail "GET ${agent_url}metrics"
sed -n 's/^# TYPE \([a-z_0-9]*\) .*/\1/p' "$tmp/metrics" | sort -u > "$tmp/exported"

# Metrics another issue adds; named here so that the rules can be ready for them.
future="vmscope_qemu_snapshot_pause_seconds"
cat "$rules" "$dashboard" | grep -o 'vmscope_[a-z0-9_]*' |
    sed 's/_bucket$//; s/_sum$//; s/_count$//' | sort -u > "$tmp/named"
for m in $(cat "$tmp/named"); do
    grep -qx "$m" "$tmp/exported" && continue
    case " $future " in *" $m "*) echo "note: $m is not exported yet"; continue ;; esac
    fail "$m is named in the rules or the dashboard, but the agent does not export it"
done
echo "$(wc -l < "$tmp/named") metrics named, $failures failures"
[ "$failures" -eq 0 ]

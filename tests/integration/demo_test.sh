#!/usr/bin/env bash
# Runs the demo as a new user would (scripts/demo.sh, the body of `make demo`)
# and checks that within 30 s /metrics shows what the demo promises: the
# echo API's 401, 429 and 503, and a series of every probe kind (readiness
# keys, the cluster's leader, both scrapes, the claim's phase, the node's
# port open and the missing Redis refused). Then, within 60 s of the start,
# the rest of the stack: Prometheus has loaded the scaled rule pack and has a
# firing alert, Alertmanager lists an alert, and that alert's runbook_url
# points at the demo exporter's /runbooks/.
#
# Usage: bash tests/integration/demo_test.sh EXPORTER_BIN [SIMULATOR_BIN]
# (the demo takes both binaries from the exporter's directory).
# Prints PASS/FAIL per check and "N passed, N failed"; exits 1 on any failure.
set -uo pipefail
if [ $# -lt 1 ]; then
  echo "usage: $0 EXPORTER_BIN [SIMULATOR_BIN]" >&2
  exit 2
fi
EXPORTER=$1
BUILD=$(dirname "$EXPORTER")
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
[ -f "$ROOT/scripts/demo.sh" ] || ROOT=$PWD
PORT=19479
PROM_PORT=19490
AM_PORT=19493
BUDGET=30
ALERT_BUDGET=60

# The demo uses fixed ports (its config names the simulators'); a port taken
# by something else (a running `make demo`) would make this test probe that
# instead, and a listener on 18089 would hide the refused Redis. So it
# refuses to run then.
for p in $PORT $PROM_PORT $AM_PORT 18081 18082 18083 18089; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    echo "demo: port $p on 127.0.0.1 is already in use; this test needs $PORT, $PROM_PORT, $AM_PORT" \
      "and 18081-18083 free and nothing on 18089. Stop what holds it (make demo?) and rerun"
    echo "0 passed, 1 failed"
    exit 1
  fi
done

LOG=$(mktemp /tmp/triage_demo_test.XXXXXX)
# Absolute, so that demo.sh (which changes to the repository root) finds it
# whatever directory this runs from.
BUILD=$(cd "$BUILD" && pwd)
DEMO_PORT=$PORT DEMO_PROMETHEUS_PORT=$PROM_PORT DEMO_ALERTMANAGER_PORT=$AM_PORT \
  DEMO_DURATION=$((ALERT_BUDGET + 15)) setsid "$ROOT/scripts/demo.sh" "$BUILD" >"$LOG" 2>&1 &
demo=$!
cleanup() {
  # demo.sh stops its simulators and exporter on TERM; the process group
  # (setsid) catches anything left if it could not.
  kill -TERM "$demo" 2>/dev/null
  for _ in $(seq 1 100); do kill -0 "$demo" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- -"$demo" 2>/dev/null
  wait "$demo" 2>/dev/null
  rm -f "$LOG"
}
trap cleanup EXIT

# name|regular expression a line of /metrics must match
checks=(
  'echo api answered 401|^triage_http_responses_total\{service="echo",probe="api",.*code="401"\} [1-9]'
  'echo api answered 429|^triage_http_responses_total\{service="echo",probe="api",.*code="429"\} [1-9]'
  'echo api answered 503|^triage_http_responses_total\{service="echo",probe="api",.*code="503"\} [1-9]'
  'kind http: 503 carries error_code shutting_down|^triage_http_error_responses_total\{service="echo",probe="api",.*code="503",error_code="shutting_down"\} [1-9]'
  'kind readiness: node readiness keys|^triage_readiness_check_ok\{service="node",probe="ready",.*check="policy_ready"\} [01]$'
  'kind readiness: a key seen failing|^triage_readiness_check_ok\{service="node",probe="ready",.*\} 0$'
  'kind cluster: leader known|^triage_cluster_leader_known\{service="node",probe="stats",.*\} 1$'
  'kind cluster: follower lag|^triage_cluster_follower_lag_entries\{service="node",probe="stats",.*follower="node-3"\} '
  'kind scrape: echo /metrics up|^triage_scrape_up\{service="echo",probe="metrics",.*\} 1$'
  'kind scrape: node /metrics up|^triage_scrape_up\{service="node",probe="metrics",.*\} 1$'
  'kind kubernetes_pvc: claim phase|^triage_pvc_phase\{service="storage",probe="data",.*persistentvolumeclaim="data-ingero-echo-0",phase="Bound"\} '
  'kind kubernetes_pvc: claim seen Pending|^triage_pvc_phase\{service="storage",probe="data",.*phase="Pending"\} 1$'
  'kind tcp: node port open|^triage_probes_total\{service="node",probe="port",.*result="success"\} [1-9]'
  'kind tcp: Redis refused|^triage_probe_failures_total\{service="storage",probe="redis",.*reason="connection_refused"\} [1-9]'
)
seen=()
for _ in "${checks[@]}"; do seen+=(""); done

start=$(date +%s)
while :; do
  metrics=$(curl -fsS --noproxy '*' --max-time 5 "http://127.0.0.1:$PORT/metrics" 2>/dev/null || true)
  elapsed=$(( $(date +%s) - start ))
  left=0
  for i in "${!checks[@]}"; do
    [ -n "${seen[$i]}" ] && continue
    if grep -Eq "${checks[$i]#*|}" <<<"$metrics"; then
      seen[i]=$elapsed
    else
      left=$((left + 1))
    fi
  done
  [ $left -eq 0 ] && break
  [ $elapsed -ge $BUDGET ] && break
  sleep 1
done

# The rest of the stack: Prometheus evaluates the scaled rule pack and
# Alertmanager receives what fires (storage/redis is down from the start).
# name|python expression over p (Prometheus /api/v1/alerts data), r (its
# /api/v1/rules data) and a (Alertmanager /api/v2/alerts)
alert_checks=(
  "Prometheus loaded the rule pack|len(r['groups']) >= 6"
  "Prometheus has a firing alert|any(x['state'] == 'firing' for x in p['alerts'])"
  "Alertmanager lists an alert|len(a) >= 1"
  "alerts link to the demo exporter's runbooks|a and all(x['annotations'].get('runbook_url', '').startswith('http://localhost:$PORT/runbooks/') for x in a)"
)
alert_seen=()
for _ in "${alert_checks[@]}"; do alert_seen+=(""); done
judge_alerts() {  # prints the index of every alert check that holds now
  python3 - "$1" "$2" "$3" "${alert_checks[@]}" <<'PYEOF'
import json, sys
def load(path, key=None):
    try:
        d = json.load(open(path))
        return d[key] if key else d
    except Exception:
        return None
p, r, a = load(sys.argv[1], "data"), load(sys.argv[2], "data"), load(sys.argv[3])
for i, check in enumerate(sys.argv[4:]):
    try:
        if eval(check.split("|", 1)[1]):
            print(i)
    except Exception:
        pass
PYEOF
}
AT=$(mktemp -d /tmp/triage_demo_test_alerts.XXXXXX)
while :; do
  elapsed=$(( $(date +%s) - start ))
  curl -fsS --noproxy '*' --max-time 5 "http://127.0.0.1:$PROM_PORT/api/v1/alerts" -o "$AT/p.json" 2>/dev/null
  curl -fsS --noproxy '*' --max-time 5 "http://127.0.0.1:$PROM_PORT/api/v1/rules" -o "$AT/r.json" 2>/dev/null
  curl -fsS --noproxy '*' --max-time 5 "http://127.0.0.1:$AM_PORT/api/v2/alerts" -o "$AT/a.json" 2>/dev/null
  for i in $(judge_alerts "$AT/p.json" "$AT/r.json" "$AT/a.json"); do
    [ -n "${alert_seen[$i]}" ] || alert_seen[i]=$elapsed
  done
  left=0
  for i in "${!alert_checks[@]}"; do [ -n "${alert_seen[$i]}" ] || left=$((left + 1)); done
  [ $left -eq 0 ] && break
  [ $elapsed -ge $ALERT_BUDGET ] && break
  sleep 1
done

passed=0
failed=0
for i in "${!alert_checks[@]}"; do
  name=${alert_checks[$i]%%|*}
  if [ -n "${alert_seen[$i]}" ]; then
    echo "PASS: $name (after ${alert_seen[$i]}s)"
    passed=$((passed + 1))
  else
    echo "FAIL: $name (not within ${ALERT_BUDGET}s)"
    failed=$((failed + 1))
  fi
done
if [ $failed -gt 0 ]; then
  echo "--- Prometheus alerts"; head -c 2000 "$AT/p.json" 2>/dev/null; echo
  echo "--- Alertmanager alerts"; head -c 2000 "$AT/a.json" 2>/dev/null; echo
fi
rm -rf "$AT"

for i in "${!checks[@]}"; do
  name=${checks[$i]%%|*}
  if [ -n "${seen[$i]}" ]; then
    echo "PASS: $name (after ${seen[$i]}s)"
    passed=$((passed + 1))
  else
    echo "FAIL: $name (not on /metrics within ${BUDGET}s)"
    failed=$((failed + 1))
  fi
done
if [ $failed -gt 0 ]; then
  echo "--- last /metrics (probe series)"
  grep -E '^triage_(probe_success|probe_failures_total|http_responses_total|readiness|cluster|scrape_up|pvc_phase)' <<<"$metrics" | head -n 60
  echo "--- demo output"
  cat "$LOG"
fi
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]

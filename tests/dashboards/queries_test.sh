#!/usr/bin/env bash
# Runs every panel query of dashboards/*.json against a real Prometheus.
#
# Starts on loopback the three simulators (echo, node, kube; ports from the
# kernel), the exporter on examples/demo.yaml rewritten to those ports (every
# probe kind), and Debian's prometheus on 127.0.0.1:19390 (scrape and
# evaluation interval 1 s) with the rule pack time-scaled by
# `triage_rulegen scale --factor 60`, so that alerts fire within seconds.
# Then, per service of the demo, tests/dashboards/check_queries.py must find
# no query error and data in every panel of the service's probe kinds:
#   echo     http, scrape                            (+ firing alerts: api-v1's 410)
#   node     http, readiness, tcp, cluster, scrape
#   storage  kubernetes_pvc, tcp                     (+ firing alerts: Redis refused,
#                                                       claim Pending)
# and it must fail for a service that does not exist.
#
# Usage (CTest, repo root as working directory): bash queries_test.sh BUILD_DIR
# Environment: TRIAGE_DASHBOARD_PROM_PORT (default 19390), KEEP_TMP=1 keeps the temp dir.
# Functions are called indirectly (trap, wait_for), which shellcheck cannot follow.
# shellcheck disable=SC2317
set -uo pipefail

BUILD=${1:-build}
PROM_PORT=${TRIAGE_DASHBOARD_PROM_PORT:-19390}
CLOSED_PORT=18189   # the demo's Redis that is not running, as in all_kinds_metrics_test.sh
BUDGET=40           # seconds for the stack to show what the checks need
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE="$ROOT/tests/dashboards"
T0=$(date +%s%N)

log() { printf '[%6.1fs] %s\n' "$(( ($(date +%s%N) - T0) / 1000000 ))e-3" "$*"; }
in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

PY=""
for c in /usr/bin/python3 python3; do
  if command -v "$c" >/dev/null 2>&1; then PY=$(command -v "$c"); break; fi
done
for need in "$BUILD/triage_exporter" "$BUILD/triage_simulator" "$BUILD/triage_rulegen"; do
  [ -x "$need" ] || { echo "queries: $need is missing; build first"; echo "0 passed, 1 failed"; exit 1; }
done
for tool in prometheus curl; do
  command -v "$tool" >/dev/null 2>&1 ||
    { echo "queries: $tool not found (scripts/install-deps.sh)"; echo "0 passed, 1 failed"; exit 1; }
done
[ -n "$PY" ] || { echo "queries: python3 not found"; echo "0 passed, 1 failed"; exit 1; }
if in_use "$PROM_PORT"; then
  echo "queries: 127.0.0.1:$PROM_PORT is already in use; this test runs its Prometheus there." \
    "Stop what holds it (or set TRIAGE_DASHBOARD_PROM_PORT) and rerun"
  echo "0 passed, 1 failed"
  exit 1
fi
if in_use "$CLOSED_PORT"; then
  echo "queries: something listens on 127.0.0.1:$CLOSED_PORT, which must stay closed (the" \
    "demo's Redis that is not running); stop it and rerun"
  echo "0 passed, 1 failed"
  exit 1
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/triage_dash_queries.XXXXXX")
PIDS=()
passed=0
failed=0

cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
  done
  if [ "${KEEP_TMP:-0}" = 1 ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

pass() { log "PASS: $1"; passed=$((passed + 1)); }
fail() {
  log "FAIL: $1"
  failed=$((failed + 1))
  if [ $# -gt 1 ] && [ -n "$2" ]; then printf '%s\n' "$2" | head -n 60 | sed 's/^/    /'; fi
}
finish() {
  if [ "$failed" -ne 0 ]; then
    for f in prometheus.err exporter.err echo.err node.err kube.err; do
      [ -s "$TMP/$f" ] && { echo "--- $f (tail)"; tail -n 15 "$TMP/$f"; }
    done
  fi
  log "done"
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit $?
}
abort() { fail "$1" "${2:-}"; finish; }
wait_for() {  # wait_for SECONDS CMD...: polls CMD every 0.25 s until it succeeds
  local deadline=$(( $(date +%s) + $1 ))
  shift
  while :; do
    if "$@"; then return 0; fi
    [ "$(date +%s)" -ge "$deadline" ] && return 1
    sleep 0.25
  done
}

# ---------------------------------------------------------------------------
# Simulators and exporter, on ports of the kernel's choosing.

cp "$ROOT/examples/demo.token" "$TMP/demo.token"
declare -A PORT
start_sim() {  # start_sim SYSTEM MODE
  "$BUILD/triage_simulator" --system="$1" --mode="$2" --listen-address=127.0.0.1:0 \
    --token-file="$TMP/demo.token" >"$TMP/$1.out" 2>"$TMP/$1.err" &
  local pid=$!
  PIDS+=("$pid")
  read_port() {
    PORT[$1]=$(sed -n 's/^listening address=127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$TMP/$1.out" | head -n 1)
    [ -n "${PORT[$1]}" ] || ! kill -0 "$pid" 2>/dev/null
  }
  if ! wait_for 15 read_port "$1" || [ -z "${PORT[$1]}" ]; then
    abort "simulator $1 prints its listening address" "$(cat "$TMP/$1.out" "$TMP/$1.err")"
  fi
}
# kube starts with its claim Pending, so that the Pending-only panels have data.
start_sim echo ok
start_sim node ok
start_sim kube pending_wait_for_consumer

sed -e "s/127\.0\.0\.1:18081/127.0.0.1:${PORT[echo]}/g" \
  -e "s/127\.0\.0\.1:18082/127.0.0.1:${PORT[node]}/g" \
  -e "s/127\.0\.0\.1:18083/127.0.0.1:${PORT[kube]}/g" \
  -e "s/127\.0\.0\.1:18089/127.0.0.1:$CLOSED_PORT/g" \
  "$ROOT/examples/demo.yaml" >"$TMP/config.yaml"

"$BUILD/triage_exporter" --config.file="$TMP/config.yaml" --web.listen-address=127.0.0.1:0 \
  >"$TMP/exporter.out" 2>"$TMP/exporter.err" &
EXP_PID=$!
PIDS+=("$EXP_PID")
EXP_PORT=""
exp_port() {
  EXP_PORT=$(grep 'msg=started' "$TMP/exporter.err" 2>/dev/null |
    sed -n 's/.* address=127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' | head -n 1)
  [ -n "$EXP_PORT" ] || ! kill -0 "$EXP_PID" 2>/dev/null
}
if ! wait_for 15 exp_port || [ -z "$EXP_PORT" ]; then
  abort "exporter logs msg=started with its address" "$(cat "$TMP/exporter.err")"
fi
pass "simulators (echo ${PORT[echo]}, node ${PORT[node]}, kube ${PORT[kube]}) and exporter ($EXP_PORT) listen"

# ---------------------------------------------------------------------------
# Prometheus: 1 s scrape and evaluation, the time-scaled rule pack.

if ! out=$("$BUILD/triage_rulegen" scale --catalog "$ROOT/rules/catalog.yaml" \
  --runbooks "$ROOT/runbooks" --factor 60 --out "$TMP/triage.rules.fast.yaml" 2>&1); then
  abort "triage_rulegen scale writes the time-scaled rule pack" "$out"
fi
cat >"$TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - $TMP/triage.rules.fast.yaml
scrape_configs:
  - job_name: triage_exporter
    static_configs:
      - targets: ['127.0.0.1:$EXP_PORT']
EOF
prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/data" \
  --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn \
  >"$TMP/prometheus.out" 2>"$TMP/prometheus.err" &
PROM_PID=$!
PIDS+=("$PROM_PID")
PROM="http://127.0.0.1:$PROM_PORT"
prom_ready() {
  kill -0 "$PROM_PID" 2>/dev/null || return 0
  curl -sf --noproxy '*' --max-time 2 "$PROM/-/ready" >/dev/null
}
if ! wait_for 20 prom_ready || ! kill -0 "$PROM_PID" 2>/dev/null; then
  abort "prometheus answers /-/ready on 127.0.0.1:$PROM_PORT" "$(tail -n 20 "$TMP/prometheus.err")"
fi
pass "prometheus ready on 127.0.0.1:$PROM_PORT"

# promql EXPR: prints the instant vector's values, one per line
promql() {
  curl -sS --noproxy '*' --max-time 5 "$PROM/api/v1/query" --data-urlencode "query=$1" 2>/dev/null |
    "$PY" -c 'import json,sys
try: d=json.load(sys.stdin)
except ValueError: sys.exit(0)
for s in d.get("data",{}).get("result",[]): print(s["value"][1])'
}
# The stack is ready when every configured probe is in Prometheus, the rate
# windows hold a few samples, the alerts the checks expect fire and echo's
# scrape has seen the api probe's first request.
stack_ready() {
  local configured ran
  configured=$(promql 'max(triage_exporter_probes_configured)')
  ran=$(promql 'count(triage_probe_info)')
  [ -n "$configured" ] && [ "$configured" = "$ran" ] || return 1
  [ -n "$(promql 'count_over_time(triage_exporter_probes_configured[1m]) >= 12')" ] || return 1
  [ -n "$(promql 'ALERTS{alertstate="firing",service="storage"}')" ] || return 1
  [ -n "$(promql 'ALERTS{alertstate="firing",service="echo"}')" ] || return 1
  [ -n "$(promql 'triage_scrape_expected_metric_present{service="echo"} == 1')" ] || return 1
}
start=$(date +%s)
if wait_for $BUDGET stack_ready; then
  pass "every probe in Prometheus, alerts firing for echo and storage (after $(( $(date +%s) - start ))s)"
else
  fail "stack ready within ${BUDGET}s" \
    "probes configured: $(promql 'max(triage_exporter_probes_configured)'), in Prometheus: $(promql 'count(triage_probe_info)')
firing: $(curl -sS --noproxy '*' "$PROM/api/v1/query" --data-urlencode 'query=ALERTS{alertstate="firing"}' | head -c 1500)"
fi

# ---------------------------------------------------------------------------
# Every panel query, per service.

RUNBOOK_ARGS=()
if [ "$(curl -s --noproxy '*' -o /dev/null -w '%{http_code}' --max-time 5 \
  "http://127.0.0.1:$EXP_PORT/runbooks/liveness.md")" = 200 ]; then
  RUNBOOK_ARGS=(--runbook-base "http://127.0.0.1:$EXP_PORT/runbooks/")
  log "the exporter serves /runbooks/: runbook links are fetched too"
else
  log "the exporter does not serve /runbooks/ (yet): runbook links are not fetched"
fi

check() {  # check SERVICE KINDS [FLAGS...]
  local service=$1 kinds=$2 out rc
  shift 2
  out=$("$PY" "$HERE/check_queries.py" --prometheus "$PROM" --service "$service" --kinds "$kinds" "$@" 2>&1)
  rc=$?
  if [ $rc -eq 0 ]; then
    pass "service $service ($kinds${*:+ $*}): $(tail -n 1 <<<"$out")"
    grep -E '^(empty|ok     runbook)' <<<"$out" | sed 's/^/    /'
  else
    fail "service $service ($kinds${*:+ $*}): check_queries exit $rc" "$(grep -Ev '^ok ' <<<"$out")"
  fi
}
check echo http,scrape --expect-alerts "${RUNBOOK_ARGS[@]}"
check node http,readiness,tcp,cluster,scrape
check storage kubernetes_pvc,tcp --expect-alerts "${RUNBOOK_ARGS[@]}"

# The same while failures are active: echo rate limits (429 with
# Retry-After), the node loses its leader, the claim is Lost.
set_mode() {  # set_mode SYSTEM MODE
  curl -sS --noproxy '*' --max-time 5 -X POST "http://127.0.0.1:${PORT[$1]}/-/mode?mode=$2" 2>&1 |
    grep -q "\"mode\":\"$2\""
}
if set_mode echo rate_limited && set_mode node no_leader && set_mode kube lost; then
  pass "simulators switched: echo rate_limited, node no_leader, kube lost"
else
  fail "simulators switch modes"
fi
failures_seen() {
  [ -n "$(promql 'increase(triage_http_responses_total{service="echo",code="429"}[10s]) > 0')" ] || return 1
  [ -n "$(promql 'ALERTS{alertstate="firing",service="node",alertname="TriageClusterLeaderUnknown"}')" ] || return 1
  [ -n "$(promql 'ALERTS{alertstate="firing",service="storage",alertname="TriagePvcLost"}')" ] || return 1
}
start=$(date +%s)
if wait_for $BUDGET failures_seen; then
  pass "429s, TriageClusterLeaderUnknown and TriagePvcLost in Prometheus (after $(( $(date +%s) - start ))s)"
else
  fail "429s, TriageClusterLeaderUnknown and TriagePvcLost in Prometheus within ${BUDGET}s" \
    "$(curl -sS --noproxy '*' "$PROM/api/v1/query" --data-urlencode 'query=ALERTS{alertstate="firing"}' | head -c 1500)"
fi
check echo http,scrape --expect-alerts "${RUNBOOK_ARGS[@]}"
check node http,readiness,tcp,cluster,scrape --expect-alerts "${RUNBOOK_ARGS[@]}"
check storage kubernetes_pvc,tcp --expect-alerts "${RUNBOOK_ARGS[@]}"

out=$("$PY" "$HERE/check_queries.py" --prometheus "$PROM" --service no-such-service --kinds http 2>&1)
rc=$?
if [ $rc -eq 1 ] && grep -q '^FAIL .*Responses by status code: empty, required for kind http' <<<"$out"; then
  pass "a service without data fails its required panels (exit 1)"
else
  fail "a service without data fails its required panels (exit $rc)" "$out"
fi

finish

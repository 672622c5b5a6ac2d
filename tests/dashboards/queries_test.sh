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
# Prints timed PASS/FAIL lines and "N passed, N failed"; exits 1 on any failure.
# Functions are called indirectly (wait_for, finish), which shellcheck cannot follow.
# shellcheck disable=SC2317
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib/harness.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh" || exit 2

BUILD=${1:-build}
PROM_PORT=${TRIAGE_DASHBOARD_PROM_PORT:-19390}
CLOSED_PORT=18189   # the demo's Redis that is not running, as in all_kinds_metrics_test.sh
BUDGET=40           # seconds for the stack to show what the checks need
HERE="$ROOT/tests/dashboards"
HARNESS_CLOCK=1
HARNESS_DETAIL_LINES=60
harness_args "$BUILD/triage_exporter" "$BUILD/triage_simulator"
harness_init dash_queries
trap 'exit 130' INT
trap 'exit 143' TERM

on_failure() {
  local f
  for f in prometheus.err exporter.err echo.err node.err kube.err; do tail_log "$f" 15; done
}

PY=""
for c in /usr/bin/python3 python3; do
  if command -v "$c" >/dev/null 2>&1; then PY=$(command -v "$c"); break; fi
done
for need in triage_exporter triage_simulator triage_rulegen; do
  [ -x "$BUILD/$need" ] || abort "$BUILD/$need is missing; build first"
done
for tool in prometheus curl; do
  command -v "$tool" >/dev/null 2>&1 || abort "$tool not found (scripts/install-deps.sh)"
done
[ -n "$PY" ] || abort "python3 not found"
require_free_port "$PROM_PORT" "this test runs its Prometheus there; or set TRIAGE_DASHBOARD_PROM_PORT"
require_free_port "$CLOSED_PORT" "it must stay closed: the demo's Redis that is not running"

# ---------------------------------------------------------------------------
# Simulators and exporter, on ports of the kernel's choosing.

cp "$ROOT/examples/demo.token" "$TMP/demo.token"
start_sim() {  # start_sim SYSTEM MODE
  start_simulator "$1" --mode="$2" --token-file="$TMP/demo.token" ||
    abort "simulator $1 prints its listening address" "$(cat "$TMP/$1.out" "$TMP/$1.err")"
}
# kube starts with its claim Pending, so that the Pending-only panels have data.
start_sim echo ok
start_sim node ok
start_sim kube pending_wait_for_consumer

sed -e "s/127\.0\.0\.1:18081/127.0.0.1:${SIM_PORT[echo]}/g" \
  -e "s/127\.0\.0\.1:18082/127.0.0.1:${SIM_PORT[node]}/g" \
  -e "s/127\.0\.0\.1:18083/127.0.0.1:${SIM_PORT[kube]}/g" \
  -e "s/127\.0\.0\.1:18089/127.0.0.1:$CLOSED_PORT/g" \
  "$ROOT/examples/demo.yaml" >"$TMP/config.yaml"

start_exporter "$TMP/config.yaml" ||
  abort "exporter logs msg=started with its address" "$(cat "$TMP/exporter.err")"
pass "simulators (echo ${SIM_PORT[echo]}, node ${SIM_PORT[node]}, kube ${SIM_PORT[kube]}) and exporter ($EXP_PORT) listen"

# ---------------------------------------------------------------------------
# Prometheus: 1 s scrape and evaluation, the time-scaled rule pack.

if ! out=$("$BUILD/triage_rulegen" scale --catalog "$ROOT/rules/catalog" \
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
start_process prometheus prometheus --config.file="$TMP/prometheus.yml" \
  --storage.tsdb.path="$TMP/data" --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn
PROM_PID=$PROC_PID
PROM="http://127.0.0.1:$PROM_PORT"
prom_ready() {
  kill -0 "$PROM_PID" 2>/dev/null || return 0
  http -f --max-time 2 "$PROM/-/ready" >/dev/null 2>&1
}
if ! wait_for 20 prom_ready || ! kill -0 "$PROM_PID" 2>/dev/null; then
  abort "prometheus answers /-/ready on 127.0.0.1:$PROM_PORT" "$(tail -n 20 "$TMP/prometheus.err")"
fi
pass "prometheus ready on 127.0.0.1:$PROM_PORT"

# promql EXPR: prints the instant vector's values, one per line
promql() {
  http --max-time 5 "$PROM/api/v1/query" --data-urlencode "query=$1" 2>/dev/null |
    "$PY" -c 'import json,sys
try: d=json.load(sys.stdin)
except ValueError: sys.exit(0)
for s in d.get("data",{}).get("result",[]): print(s["value"][1])'
}
firing_alerts() {  # the firing alerts as Prometheus lists them, for failure details
  http "$PROM/api/v1/query" --data-urlencode 'query=ALERTS{alertstate="firing"}' | head -c 1500
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
firing: $(firing_alerts)"
fi

# ---------------------------------------------------------------------------
# Every panel query, per service.

RUNBOOK_ARGS=()
if [ "$(http -o /dev/null -w '%{http_code}' --max-time 5 \
  "http://127.0.0.1:$EXP_PORT/runbooks/liveness.md" 2>/dev/null)" = 200 ]; then
  RUNBOOK_ARGS=(--runbook-base "http://127.0.0.1:$EXP_PORT/runbooks/")
  harness_log "the exporter serves /runbooks/: runbook links are fetched too"
else
  harness_log "the exporter does not serve /runbooks/ (yet): runbook links are not fetched"
fi

check_service() {  # check_service SERVICE KINDS [FLAGS...]
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
check_service echo http,scrape --expect-alerts "${RUNBOOK_ARGS[@]}"
check_service node http,readiness,tcp,cluster,scrape
check_service storage kubernetes_pvc,tcp --expect-alerts "${RUNBOOK_ARGS[@]}"

# The same while failures are active: echo rate limits (429 with
# Retry-After), the node loses its leader, the claim is Lost.
if set_mode echo rate_limited && set_mode node no_leader && set_mode kube lost; then
  pass "simulators switched: echo rate_limited, node no_leader, kube lost"
else
  fail "simulators switch modes" "$MODE_REPLY"
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
  fail "429s, TriageClusterLeaderUnknown and TriagePvcLost in Prometheus within ${BUDGET}s" "$(firing_alerts)"
fi
check_service echo http,scrape --expect-alerts "${RUNBOOK_ARGS[@]}"
check_service node http,readiness,tcp,cluster,scrape --expect-alerts "${RUNBOOK_ARGS[@]}"
check_service storage kubernetes_pvc,tcp --expect-alerts "${RUNBOOK_ARGS[@]}"

out=$("$PY" "$HERE/check_queries.py" --prometheus "$PROM" --service no-such-service --kinds http 2>&1)
rc=$?
if [ $rc -eq 1 ] && grep -q '^FAIL .*Responses by status code: empty, required for kind http' <<<"$out"; then
  pass "a service without data fails its required panels (exit 1)"
else
  fail "a service without data fails its required panels (exit $rc)" "$out"
fi

finish

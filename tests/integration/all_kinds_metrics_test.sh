#!/usr/bin/env bash
# Starts the three simulators (echo, node, kube) and the exporter on the demo
# configuration with every probe kind, waits until every probe has run, and
# checks a real scrape of /metrics: `promtool check metrics` reports nothing,
# and families of each kind are present. Then it drives echo's modes http10
# and clock_skew and reads triage_http_version and triage_clock_skew_seconds.
#
# The simulators and the exporter listen on ports the kernel picks, so this
# runs beside demo_test.sh (fixed ports) under ctest -j. examples/demo.yaml is
# rewritten into a temporary directory with those ports; its closed port
# (the Redis that is not running) becomes 127.0.0.1:18189, which must be free.
#
# Usage: bash tests/integration/all_kinds_metrics_test.sh EXPORTER_BIN SIMULATOR_BIN
# Prints PASS/FAIL per check and "N passed, N failed"; exits 1 on any failure.
# Functions are called indirectly (trap, wait_for), which shellcheck cannot follow.
# shellcheck disable=SC2317
set -uo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 EXPORTER_BIN SIMULATOR_BIN" >&2
  exit 2
fi
EXPORTER=$1
SIMULATOR=$2
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
[ -f "$ROOT/examples/demo.yaml" ] || ROOT=$PWD
CLOSED_PORT=18189
BUDGET=30

if (exec 3<>"/dev/tcp/127.0.0.1/$CLOSED_PORT") 2>/dev/null; then
  echo "all_kinds: something listens on 127.0.0.1:$CLOSED_PORT, which this test needs closed" \
    "(its tcp probe must be refused); stop it and rerun"
  echo "0 passed, 1 failed"
  exit 1
fi

TMP=$(mktemp -d /tmp/triage_all_kinds.XXXXXX)
PIDS=()
passed=0
failed=0

cleanup() {
  for pid in "${PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
  done
  rm -rf "$TMP"
}
trap cleanup EXIT

pass() { echo "PASS: $1"; passed=$((passed + 1)); }
fail() {
  echo "FAIL: $1"
  failed=$((failed + 1))
  if [ $# -gt 1 ] && [ -n "$2" ]; then printf '%s\n' "$2" | head -n 40 | sed 's/^/    /'; fi
}
finish() {
  if [ "$failed" -ne 0 ]; then
    for f in exporter.err echo.err node.err kube.err; do
      [ -s "$TMP/$f" ] && { echo "--- $f (tail)"; tail -n 15 "$TMP/$f"; }
    done
  fi
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit $?
}
abort() {
  fail "$1" "${2:-}"
  finish
}
wait_for() {  # wait_for SECONDS CMD...: polls CMD every 0.2 s until it succeeds
  local deadline=$(( $(date +%s) + $1 ))
  shift
  while :; do
    if "$@"; then return 0; fi
    [ "$(date +%s)" -ge "$deadline" ] && return 1
    sleep 0.2
  done
}
metrics() { curl -sS --noproxy '*' --max-time 5 "http://127.0.0.1:$EXP_PORT/metrics" 2>/dev/null; }

# ---------------------------------------------------------------------------
# The simulators, each on a port of the kernel's choosing.

cp "$ROOT/examples/demo.token" "$TMP/demo.token"
declare -A PORT
start_sim() {  # start_sim SYSTEM MODE
  "$SIMULATOR" --system="$1" --mode="$2" --listen-address=127.0.0.1:0 --token-file="$TMP/demo.token" \
    >"$TMP/$1.out" 2>"$TMP/$1.err" &
  PIDS+=($!)
  local pid=$!
  read_port() {
    PORT[$1]=$(sed -n 's/^listening address=127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$TMP/$1.out" | head -n 1)
    [ -n "${PORT[$1]}" ] || ! kill -0 "$pid" 2>/dev/null
  }
  if ! wait_for 15 read_port "$1" || [ -z "${PORT[$1]}" ]; then
    abort "simulator $1 prints its listening address" "$(cat "$TMP/$1.out" "$TMP/$1.err")"
  fi
}
# kube starts with a claim Pending, so that the Pending-only families show too.
start_sim echo ok
start_sim node ok
start_sim kube pending_wait_for_consumer
pass "simulators listen: echo ${PORT[echo]}, node ${PORT[node]}, kube ${PORT[kube]}"

# ---------------------------------------------------------------------------
# examples/demo.yaml with these ports.

sed -e "s/127\.0\.0\.1:18081/127.0.0.1:${PORT[echo]}/g" \
  -e "s/127\.0\.0\.1:18082/127.0.0.1:${PORT[node]}/g" \
  -e "s/127\.0\.0\.1:18083/127.0.0.1:${PORT[kube]}/g" \
  -e "s/127\.0\.0\.1:18089/127.0.0.1:$CLOSED_PORT/g" \
  "$ROOT/examples/demo.yaml" >"$TMP/config.yaml"
if grep -v '^ *#' "$TMP/config.yaml" | grep -E '127\.0\.0\.1:180[0-9][0-9]' >/dev/null; then
  abort "every demo port is rewritten" "$(grep -n '127\.0\.0\.1:180' "$TMP/config.yaml")"
fi
kinds_in_config=$(sed -n 's/^ *kind: *\([a-z_]*\).*/\1/p' "$TMP/config.yaml" | sort -u | tr '\n' ' ')
if [ "$kinds_in_config" = "cluster http kubernetes_pvc readiness scrape tcp " ]; then
  pass "examples/demo.yaml has every kind ($kinds_in_config)"
else
  fail "examples/demo.yaml has every kind (has: $kinds_in_config)"
fi

"$EXPORTER" --config.file="$TMP/config.yaml" --web.listen-address=127.0.0.1:0 \
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
pass "exporter listens on 127.0.0.1:$EXP_PORT"

# ---------------------------------------------------------------------------
# Every probe has run: one triage_probe_info per configured probe.

start=$(date +%s)
all_ran() {
  local text configured ran
  text=$(metrics)
  configured=$(sed -n 's/^triage_exporter_probes_configured \([0-9]*\)$/\1/p' <<<"$text")
  ran=$(grep -c '^triage_probe_info{' <<<"$text")
  [ -n "$configured" ] && [ "$configured" -gt 0 ] && [ "$ran" -eq "$configured" ]
}
if wait_for $BUDGET all_ran; then
  pass "every configured probe ran at least once (after $(( $(date +%s) - start ))s)"
else
  abort "every configured probe ran at least once within ${BUDGET}s" \
    "$(metrics | grep -E '^triage_(probe_info|exporter_probes_configured)')"
fi

# echo_http_requests_total has no sample until the first API request lands
# (the guide's "no traffic yet"): a scrape probe that ran before the api probe
# sees it missing. Its next run sees the api probe's requests.
echo_counted() {
  local text
  text=$(metrics)  # grep -q on a pipe would stop reading early, a failure under pipefail
  grep -Eq '^triage_scrape_expected_metric_present\{service="echo",probe="metrics",.*metric="echo_http_requests_total"\} 1$' <<<"$text"
}
if wait_for $BUDGET echo_counted; then
  pass "echo's metrics page counts the api probe's requests"
else
  fail "echo's metrics page counts the api probe's requests within ${BUDGET}s" \
    "$(metrics | grep '^triage_scrape_expected_metric_present')"
fi

# ---------------------------------------------------------------------------
# promtool on the scrape.

metrics >"$TMP/scrape.txt"
out=$(promtool check metrics <"$TMP/scrape.txt" 2>&1)
rc=$?
if [ $rc -eq 0 ] && [ -z "$out" ] && [ -s "$TMP/scrape.txt" ]; then
  pass "promtool check metrics reports nothing ($(grep -vc '^#' "$TMP/scrape.txt") samples)"
else
  fail "promtool check metrics reports nothing (rc=$rc)" "$out"
fi

# has NAME REGEX: a sample line of the scrape matches REGEX
has() {
  if grep -Eq "$2" "$TMP/scrape.txt"; then pass "$1"; else fail "$1" "$(grep -E "^${2%%\\\{*}" "$TMP/scrape.txt" | head -n 5)"; fi
}
for kind in http tcp readiness cluster scrape kubernetes_pvc; do
  has "triage_probe_info for kind $kind" "^triage_probe_info\{.*kind=\"$kind\".*\} 1$"
done
has "http: triage_http_responses_total" '^triage_http_responses_total\{service="echo",probe="api",.*code="200"\} [1-9]'
has "http: triage_http_error_responses_total" '^triage_http_error_responses_total\{service="echo",probe="api-v1",.*code="410",error_code="gone"\} [1-9]'
has "http: triage_http_version" '^triage_http_version\{service="echo",probe="health",.*\} 1\.1$'
has "http: triage_clock_skew_seconds" '^triage_clock_skew_seconds\{service="echo",probe="health",.*\} '
has "tcp: triage_probe_phase_seconds connect" '^triage_probe_phase_seconds\{service="node",probe="port",.*phase="connect"\} '
has "tcp: connection_refused" '^triage_probe_failures_total\{service="storage",probe="redis",.*reason="connection_refused"\} [1-9]'
has "readiness: triage_readiness_check_ok" '^triage_readiness_check_ok\{service="node",probe="ready",.*check="policy_ready"\} 1$'
has "cluster: triage_cluster_leader_known" '^triage_cluster_leader_known\{service="node",probe="stats",.*\} 1$'
has "cluster: triage_cluster_is_leader" '^triage_cluster_is_leader\{service="node",probe="stats",.*\} 1$'
has "cluster: triage_cluster_replication_ready" '^triage_cluster_replication_ready\{service="node",probe="stats",.*\} 1$'
has "cluster: triage_cluster_follower_lag_entries" '^triage_cluster_follower_lag_entries\{service="node",probe="stats",.*follower="node-2"\} '
has "scrape: triage_scrape_up (echo)" '^triage_scrape_up\{service="echo",probe="metrics",.*\} 1$'
has "scrape: triage_scrape_up (node)" '^triage_scrape_up\{service="node",probe="metrics",.*\} 1$'
has "scrape: triage_scrape_expected_metric_present" '^triage_scrape_expected_metric_present\{service="echo",probe="metrics",.*metric="echo_http_requests_total"\} 1$'
has "scrape: triage_target_fd_utilization" '^triage_target_fd_utilization\{service="echo",probe="metrics",.*\} '
has "kubernetes_pvc: triage_pvc_phase" '^triage_pvc_phase\{service="storage",probe="data",.*persistentvolumeclaim="data-ingero-echo-0",phase="Pending"\} 1$'
has "kubernetes_pvc: triage_pvc_pending_seconds" '^triage_pvc_pending_seconds\{service="storage",probe="data",.*\} '
has "kubernetes_pvc: triage_pvc_last_event_info" '^triage_pvc_last_event_info\{service="storage",probe="data",.*reason="WaitForFirstConsumer"\} 1$'
has "kubernetes_pvc: triage_storageclass_default_present" '^triage_storageclass_default_present\{service="storage",probe="data",.*\} 1$'

# ---------------------------------------------------------------------------
# Echo's mesh modes through the real binaries.

set_mode() {
  local out
  out=$(curl -sS --noproxy '*' --max-time 5 -X POST "http://127.0.0.1:${PORT[echo]}/-/mode?mode=$1" 2>&1)
  grep -q "\"mode\":\"$1\"" <<<"$out"
}
sample() {  # sample NAME: value of NAME{service="echo",probe="health",...}
  metrics | sed -n "s/^$1{service=\"echo\",probe=\"health\",[^}]*} \\(.*\\)$/\\1/p"
}
is_http10() { [ "$(sample triage_http_version)" = "1" ]; }
skew_ahead() { awk -v v="$(sample triage_clock_skew_seconds)" 'BEGIN { exit !(v != "" && v >= 298 && v <= 302) }'; }

if set_mode http10 && wait_for 20 is_http10; then
  pass "echo mode http10: triage_http_version 1"
else
  fail "echo mode http10: triage_http_version 1" "$(metrics | grep '^triage_http_version{service="echo"')"
fi
if set_mode clock_skew && wait_for 20 skew_ahead; then
  pass "echo mode clock_skew: triage_clock_skew_seconds $(sample triage_clock_skew_seconds) (about 300)"
else
  fail "echo mode clock_skew: triage_clock_skew_seconds about 300" \
    "$(metrics | grep '^triage_clock_skew_seconds{service="echo"')"
fi

finish

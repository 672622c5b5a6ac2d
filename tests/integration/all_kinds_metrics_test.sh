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
# Functions are called indirectly (wait_for, finish), which shellcheck cannot follow.
# shellcheck disable=SC2317
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib/harness.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh" || exit 2

harness_args "$@"
CLOSED_PORT=18189
BUDGET=30
harness_init all_kinds
require_free_port "$CLOSED_PORT" "its tcp probe must be refused"

on_failure() {
  local f
  for f in exporter.err echo.err node.err kube.err; do tail_log "$f" 15; done
}

# ---------------------------------------------------------------------------
# The simulators, each on a port of the kernel's choosing.

cp "$ROOT/examples/demo.token" "$TMP/demo.token"
start_sim() {  # start_sim SYSTEM MODE
  start_simulator "$1" --mode="$2" --token-file="$TMP/demo.token" ||
    abort "simulator $1 prints its listening address" "$(cat "$TMP/$1.out" "$TMP/$1.err")"
}
# kube starts with a claim Pending, so that the Pending-only families show too.
start_sim echo ok
start_sim node ok
start_sim kube pending_wait_for_consumer
pass "simulators listen: echo ${SIM_PORT[echo]}, node ${SIM_PORT[node]}, kube ${SIM_PORT[kube]}"

# ---------------------------------------------------------------------------
# examples/demo.yaml with these ports.

sed -e "s/127\.0\.0\.1:18081/127.0.0.1:${SIM_PORT[echo]}/g" \
  -e "s/127\.0\.0\.1:18082/127.0.0.1:${SIM_PORT[node]}/g" \
  -e "s/127\.0\.0\.1:18083/127.0.0.1:${SIM_PORT[kube]}/g" \
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

if ! start_exporter "$TMP/config.yaml"; then
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
  metrics_match '^triage_scrape_expected_metric_present\{service="echo",probe="metrics",.*metric="echo_http_requests_total"\} 1$'
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
promtool_check "promtool check metrics reports nothing ($(grep -vc '^#' "$TMP/scrape.txt") samples)" "$TMP/scrape.txt"

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

sample() {  # sample NAME: value of NAME{service="echo",probe="health",...}
  metrics | sed -n "s/^$1{service=\"echo\",probe=\"health\",[^}]*} \\(.*\\)$/\\1/p"
}
is_http10() { [ "$(sample triage_http_version)" = "1" ]; }
skew_ahead() { awk -v v="$(sample triage_clock_skew_seconds)" 'BEGIN { exit !(v != "" && v >= 298 && v <= 302) }'; }

if set_mode echo http10 && wait_for 20 is_http10; then
  pass "echo mode http10: triage_http_version 1"
else
  fail "echo mode http10: triage_http_version 1" "$(metrics | grep '^triage_http_version{service="echo"')"
fi
if set_mode echo clock_skew && wait_for 20 skew_ahead; then
  pass "echo mode clock_skew: triage_clock_skew_seconds $(sample triage_clock_skew_seconds) (about 300)"
else
  fail "echo mode clock_skew: triage_clock_skew_seconds about 300" \
    "$(metrics | grep '^triage_clock_skew_seconds{service="echo"')"
fi

finish

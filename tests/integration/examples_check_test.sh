#!/usr/bin/env bash
# Checks the example configurations in examples/ with the built binaries:
#   - `triage_exporter --config.check` accepts every examples/*.yaml, from the
#     repository root and from another directory (secret paths are relative
#     to the configuration file);
#   - every file begins with a comment, and each example for a guide names it;
#   - the secrets next to them are placeholders;
#   - dataplane-cluster.yaml and api-server.yaml, pointed at the simulators
#     (hosts rewritten to loopback ports the kernel picks, intervals to 1 s),
#     succeed in mode ok and report the guide's symptoms in failure modes:
#     their pointers, paths and expectations match what the systems serve.
#
# Usage: bash tests/integration/examples_check_test.sh EXPORTER_BIN SIMULATOR_BIN
# Prints PASS/FAIL per check and "N passed, N failed"; exits 1 on any failure.
# Functions are called indirectly (wait_for), which shellcheck cannot follow.
# shellcheck disable=SC2317
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib/harness.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh" || exit 2

harness_args "$@"
EXAMPLES=$ROOT/examples
harness_init examples

# ---------------------------------------------------------------------------
# --config.check on every example.

shopt -s nullglob
files=("$EXAMPLES"/*.yaml)
shopt -u nullglob
if [ ${#files[@]} -lt 6 ]; then
  fail "examples/ holds demo.yaml and the five guide examples (found ${#files[@]})"
fi
for f in "${files[@]}"; do
  name=examples/$(basename "$f")
  out=$(cd "$ROOT" && "$EXPORTER" --config.check --config.file="$name" 2>&1)
  rc=$?
  if [ $rc -eq 0 ] && grep -q "^$name: OK, " <<<"$out"; then
    pass "--config.check $name: ${out#*: }"
  else
    fail "--config.check $name (rc=$rc)" "$out"
  fi
  out=$(cd "$TMP" && "$EXPORTER" --config.check --config.file="$f" 2>&1)
  rc=$?
  if [ $rc -ne 0 ]; then fail "--config.check $name from another directory (rc=$rc)" "$out"; fi
  if [ "$(head -c 2 "$f")" != "# " ]; then fail "$name begins with a comment"; fi
done

for pair in api-server:000 dataplane-cluster:001 service-mesh:002 edge-gateway:003 auth-platform:004; do
  f=$EXAMPLES/${pair%%:*}.yaml
  if [ -f "$f" ] && head -n 3 "$f" | grep "shared/seeds/${pair##*:}" >/dev/null; then
    pass "examples/${pair%%:*}.yaml names guide ${pair##*:} in its first lines"
  else
    fail "examples/${pair%%:*}.yaml exists and names guide ${pair##*:} in its first lines"
  fi
done

bad=""
for s in "$EXAMPLES"/secrets/*; do
  case $s in *.md) continue ;; esac
  grep -q PLACEHOLDER "$s" || bad="$bad $(basename "$s")"
done
if [ -z "$bad" ]; then pass "every file in examples/secrets is a placeholder"; else fail "not a placeholder:$bad"; fi

# ---------------------------------------------------------------------------
# Examples against the simulators.

# Every probe of the configuration has run and the last run succeeded.
all_succeed() {
  local text configured ok
  text=$(metrics)
  configured=$(sed -n 's/^triage_exporter_probes_configured \([0-9]*\)$/\1/p' <<<"$text")
  ok=$(grep -c '^triage_probe_success{.*} 1$' <<<"$text")
  [ -n "$configured" ] && [ "$configured" -gt 0 ] && [ "$ok" -eq "$configured" ]
}
# Copies an example with its secrets into DIR, short intervals, hosts rewritten by SED_ARGS.
localize() {  # localize EXAMPLE DIR SED_ARGS...
  local example=$1 dir=$2
  shift 2
  mkdir -p "$dir"
  cp -r "$EXAMPLES/secrets" "$dir/secrets"
  sed -E -e 's/^( *)interval: [0-9]+[smh]$/\1interval: 1s/' -e 's/^( *)timeout: [0-9]+s$/\1timeout: 1s/' \
    "$@" "$EXAMPLES/$example" >"$dir/$example"
}
show_failure() {
  metrics | grep -E '^triage_(probe_success|probe_failures_total)\{' | grep -Ev '\} 0$|success\{.*\} 1$'
  tail -n 5 "$TMP/exporter.err"
}

# dataplane-cluster.yaml against the node simulator (all three nodes map to it).
if start_simulator node --token-file="$EXAMPLES/secrets/dataplane.token"; then
  localize dataplane-cluster.yaml "$TMP/dp" \
    -e "s#http://node-[123]\.dataplane\.example\.internal:8080#http://127.0.0.1:${SIM_PORT[node]}#"
  if start_exporter "$TMP/dp/dataplane-cluster.yaml"; then
    if wait_for 20 all_succeed; then
      pass "dataplane-cluster.yaml: every probe succeeds against the node simulator in mode ok"
    else
      fail "dataplane-cluster.yaml: every probe succeeds against the node simulator in mode ok" "$(show_failure)"
    fi
    if metrics_match '^triage_cluster_follower_lag_entries\{service="dataplane-node-1",probe="stats",.*follower="node-3"\} 0$' &&
      metrics_match '^triage_readiness_check_ok\{service="dataplane-node-1",probe="ready",.*check="policy_replication"\} 1$'; then
      pass "dataplane-cluster.yaml: follower lag and readiness keys read through the pointers"
    else
      fail "dataplane-cluster.yaml: follower lag and readiness keys read through the pointers" \
        "$(metrics | grep -E '^triage_(cluster_follower|readiness_check_ok)\{service="dataplane-node-1"')"
    fi
    perf() { metrics_match '^triage_http_error_responses_total\{service="dataplane-node-1",probe="audit",.*code="503",error_code="performance_mode"\} [1-9]'; }
    if set_mode node performance_mode && wait_for 15 perf; then
      pass "dataplane-cluster.yaml: performance mode shows as audit 503 performance_mode"
    else
      fail "dataplane-cluster.yaml: performance mode shows as audit 503 performance_mode" "$(show_failure)"
    fi
    no_leader() { metrics_match '^triage_cluster_leader_known\{service="dataplane-node-2",probe="stats",.*\} 0$'; }
    if set_mode node no_leader && wait_for 15 no_leader; then
      pass "dataplane-cluster.yaml: no leader shows as triage_cluster_leader_known 0"
    else
      fail "dataplane-cluster.yaml: no leader shows as triage_cluster_leader_known 0" "$(show_failure)"
    fi
    stop_exporter
  else
    fail "dataplane-cluster.yaml: the exporter starts" "$(cat "$TMP/exporter.err")"
  fi
else
  fail "the node simulator starts" "$(cat "$TMP/node.out" "$TMP/node.err")"
fi

# api-server.yaml against the echo and kube simulators. The Prometheus query
# is left out (no Prometheus here) and the API server is plain http on
# loopback instead of https.
if start_simulator echo --token-file="$EXAMPLES/secrets/echo.token" &&
  start_simulator kube --token-file="$EXAMPLES/secrets/kube-api.token"; then
  localize api-server.yaml "$TMP/api" \
    -e "s#http://ingero-echo\.ingero\.svc:8081#http://127.0.0.1:${SIM_PORT[echo]}#" \
    -e "s#https://kubernetes\.default\.svc:443#http://127.0.0.1:${SIM_PORT[kube]}#" \
    -e '/^ *(prometheus_url|job|ca_file):/d'
  if start_exporter "$TMP/api/api-server.yaml"; then
    if wait_for 20 all_succeed; then
      pass "api-server.yaml: every probe succeeds against the echo and kube simulators in mode ok"
    else
      fail "api-server.yaml: every probe succeeds against the echo and kube simulators in mode ok" "$(show_failure)"
    fi
    if metrics_match '^triage_http_error_responses_total\{service="echo",probe="api-v1",.*code="410",error_code="gone"\} [1-9]'; then
      pass "api-server.yaml: api-v1 counts 410 gone and succeeds"
    else
      fail "api-server.yaml: api-v1 counts 410 gone and succeeds" "$(metrics | grep 'probe="api-v1"')"
    fi
    limited() { metrics_match '^triage_http_error_responses_total\{service="echo",probe="api",.*code="429",error_code="rate_limited"\} [1-9]'; }
    if set_mode echo rate_limited && wait_for 15 limited; then
      pass "api-server.yaml: rate limiting shows as 429 rate_limited"
    else
      fail "api-server.yaml: rate limiting shows as 429 rate_limited" "$(show_failure)"
    fi
    pending() { metrics_match '^triage_pvc_last_event_info\{service="echo",probe="data",.*reason="ProvisioningFailed"\} 1$'; }
    if set_mode kube pending_no_default_storageclass && wait_for 15 pending; then
      pass "api-server.yaml: a claim without default StorageClass shows ProvisioningFailed"
    else
      fail "api-server.yaml: a claim without default StorageClass shows ProvisioningFailed" "$(show_failure)"
    fi
    stop_exporter
  else
    fail "api-server.yaml: the exporter starts" "$(cat "$TMP/exporter.err")"
  fi
else
  fail "the echo and kube simulators start" "$(cat "$TMP"/echo.* "$TMP"/kube.* 2>/dev/null)"
fi

finish

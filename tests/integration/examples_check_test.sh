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
# Functions are called indirectly (trap, wait_for), which shellcheck cannot follow.
# shellcheck disable=SC2317
set -uo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 EXPORTER_BIN SIMULATOR_BIN" >&2
  exit 2
fi
EXPORTER=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
SIMULATOR=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
[ -f "$ROOT/examples/demo.yaml" ] || ROOT=$PWD
EXAMPLES=$ROOT/examples

TMP=$(mktemp -d /tmp/triage_examples.XXXXXX)
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
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit $?
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

declare -A PORT
start_sim() {  # start_sim SYSTEM TOKEN_FILE
  "$SIMULATOR" --system="$1" --listen-address=127.0.0.1:0 --token-file="$2" \
    >"$TMP/$1.out" 2>"$TMP/$1.err" &
  local pid=$!
  PIDS+=("$pid")
  read_port() {
    PORT[$1]=$(sed -n 's/^listening address=127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$TMP/$1.out" | head -n 1)
    [ -n "${PORT[$1]}" ] || ! kill -0 "$pid" 2>/dev/null
  }
  wait_for 15 read_port "$1" && [ -n "${PORT[$1]}" ]
}
set_mode() {  # set_mode SYSTEM MODE
  local out
  out=$(curl -sS --noproxy '*' --max-time 5 -X POST "http://127.0.0.1:${PORT[$1]}/-/mode?mode=$2" 2>&1)
  grep -q "\"mode\":\"$2\"" <<<"$out"
}

EXP_PID=""
EXP_PORT=""
start_exporter() {  # start_exporter CONFIG
  "$EXPORTER" --config.file="$1" --web.listen-address=127.0.0.1:0 >"$TMP/exporter.out" 2>"$TMP/exporter.err" &
  EXP_PID=$!
  PIDS+=("$EXP_PID")
  exp_port() {
    EXP_PORT=$(grep 'msg=started' "$TMP/exporter.err" 2>/dev/null |
      sed -n 's/.* address=127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' | head -n 1)
    [ -n "$EXP_PORT" ] || ! kill -0 "$EXP_PID" 2>/dev/null
  }
  wait_for 15 exp_port && [ -n "$EXP_PORT" ]
}
stop_exporter() {
  kill -TERM "$EXP_PID" 2>/dev/null
  wait "$EXP_PID" 2>/dev/null
  EXP_PORT=""
}
metrics() { curl -sS --noproxy '*' --max-time 5 "http://127.0.0.1:$EXP_PORT/metrics" 2>/dev/null; }
# Every probe of the configuration has run and the last run succeeded.
all_succeed() {
  local text configured ok
  text=$(metrics)
  configured=$(sed -n 's/^triage_exporter_probes_configured \([0-9]*\)$/\1/p' <<<"$text")
  ok=$(grep -c '^triage_probe_success{.*} 1$' <<<"$text")
  [ -n "$configured" ] && [ "$configured" -gt 0 ] && [ "$ok" -eq "$configured" ]
}
# line REGEX: a line of /metrics matches
# (text first: grep -q stops reading early, which pipefail would count as a failure)
line() {
  local text
  text=$(metrics)
  grep -Eq "$1" <<<"$text"
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
if start_sim node "$EXAMPLES/secrets/dataplane.token"; then
  localize dataplane-cluster.yaml "$TMP/dp" \
    -e "s#http://node-[123]\.dataplane\.example\.internal:8080#http://127.0.0.1:${PORT[node]}#"
  if start_exporter "$TMP/dp/dataplane-cluster.yaml"; then
    if wait_for 20 all_succeed; then
      pass "dataplane-cluster.yaml: every probe succeeds against the node simulator in mode ok"
    else
      fail "dataplane-cluster.yaml: every probe succeeds against the node simulator in mode ok" "$(show_failure)"
    fi
    if line '^triage_cluster_follower_lag_entries\{service="dataplane-node-1",probe="stats",.*follower="node-3"\} 0$' &&
      line '^triage_readiness_check_ok\{service="dataplane-node-1",probe="ready",.*check="policy_replication"\} 1$'; then
      pass "dataplane-cluster.yaml: follower lag and readiness keys read through the pointers"
    else
      fail "dataplane-cluster.yaml: follower lag and readiness keys read through the pointers" \
        "$(metrics | grep -E '^triage_(cluster_follower|readiness_check_ok)\{service="dataplane-node-1"')"
    fi
    perf() { line '^triage_http_error_responses_total\{service="dataplane-node-1",probe="audit",.*code="503",error_code="performance_mode"\} [1-9]'; }
    if set_mode node performance_mode && wait_for 15 perf; then
      pass "dataplane-cluster.yaml: performance mode shows as audit 503 performance_mode"
    else
      fail "dataplane-cluster.yaml: performance mode shows as audit 503 performance_mode" "$(show_failure)"
    fi
    no_leader() { line '^triage_cluster_leader_known\{service="dataplane-node-2",probe="stats",.*\} 0$'; }
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
if start_sim echo "$EXAMPLES/secrets/echo.token" && start_sim kube "$EXAMPLES/secrets/kube-api.token"; then
  localize api-server.yaml "$TMP/api" \
    -e "s#http://ingero-echo\.ingero\.svc:8081#http://127.0.0.1:${PORT[echo]}#" \
    -e "s#https://kubernetes\.default\.svc:443#http://127.0.0.1:${PORT[kube]}#" \
    -e '/^ *(prometheus_url|job|ca_file):/d'
  if start_exporter "$TMP/api/api-server.yaml"; then
    if wait_for 20 all_succeed; then
      pass "api-server.yaml: every probe succeeds against the echo and kube simulators in mode ok"
    else
      fail "api-server.yaml: every probe succeeds against the echo and kube simulators in mode ok" "$(show_failure)"
    fi
    if line '^triage_http_error_responses_total\{service="echo",probe="api-v1",.*code="410",error_code="gone"\} [1-9]'; then
      pass "api-server.yaml: api-v1 counts 410 gone and succeeds"
    else
      fail "api-server.yaml: api-v1 counts 410 gone and succeeds" "$(metrics | grep 'probe="api-v1"')"
    fi
    limited() { line '^triage_http_error_responses_total\{service="echo",probe="api",.*code="429",error_code="rate_limited"\} [1-9]'; }
    if set_mode echo rate_limited && wait_for 15 limited; then
      pass "api-server.yaml: rate limiting shows as 429 rate_limited"
    else
      fail "api-server.yaml: rate limiting shows as 429 rate_limited" "$(show_failure)"
    fi
    pending() { line '^triage_pvc_last_event_info\{service="echo",probe="data",.*reason="ProvisioningFailed"\} 1$'; }
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

#!/usr/bin/env bash
# Drives the built triage_exporter binary against a triage_simulator process,
# both on 127.0.0.1 with ports picked by the kernel: flags, --config.check,
# a promtool-clean scrape, status codes from simulator modes, reload by SIGHUP
# (good and broken), secrets kept out of every output, and a clean SIGTERM.
#
# Usage: bash tests/integration/exporter_cli_test.sh EXPORTER_BIN SIMULATOR_BIN
# Prints PASS/FAIL per check and "N passed, N failed"; exits 1 on any failure.
# Functions are called indirectly (wait_for, check, finish), which shellcheck
# cannot follow.
# shellcheck disable=SC2317
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib/harness.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh" || exit 2

harness_args "$@"
CANARY="canary-SECRET-7d1e"
harness_init cli_test

on_failure() {
  tail_log exporter.err 30 "exporter log"
  tail_log echo.err 10 "simulator log"
}

# Sum of the sample values whose line starts with NAME{ and contains every
# further argument (e.g. 'probe="api"' 'code="401"'); 0 when none matches.
value() {
  local name=$1
  shift
  metrics | awk -v name="$name" '
    BEGIN { n = ARGC; for (i = 1; i < ARGC; i++) want[i] = ARGV[i]; ARGC = 1; sum = 0 }
    index($0, name "{") == 1 || index($0, name " ") == 1 {
      ok = 1
      for (i = 1; i < n; i++) if (index($0, want[i]) == 0) ok = 0
      if (ok) sum += $NF
    }
    END { print sum }' "$@"
}
# Runs (success + failure) of a probe of service echo.
runs() { value triage_probes_total 'service="echo"' "probe=\"$1\""; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
has_code() { ge "$(value triage_http_responses_total 'probe="api"' "code=\"$1\"")" 1; }

write_config() {  # write_config EXTRA_PROBES_YAML
  cat >"$TMP/config.yaml" <<EOF
global:
  interval: 500ms
  timeout: 500ms
services:
  - name: echo
    labels: {team: platform, cluster_id: cli-test}
    probes:
      - name: health
        kind: http
        layer: liveness
        url: http://127.0.0.1:${SIM_PORT[echo]}/health
      - name: api
        kind: http
        layer: traffic
        url: http://127.0.0.1:${SIM_PORT[echo]}/api/v2/whoami
        authorization: {type: Bearer, credentials_file: token}
        valid_status_codes: [200]
        error_code_pointer: /code
$1
EOF
}

# ---------------------------------------------------------------------------
# Flags that exit at once.

out=$("$EXPORTER" --version 2>&1)
rc=$?
if [ $rc -eq 0 ] && grep -q "triage_exporter version" <<<"$out"; then
  pass "--version exits 0"
else
  fail "--version exits 0 (rc=$rc)" "$out"
fi

out=$("$EXPORTER" --config.check --config.file="$ROOT/examples/demo.yaml" 2>&1)
rc=$?
if [ $rc -eq 0 ]; then pass "--config.check accepts examples/demo.yaml"; else fail "--config.check accepts examples/demo.yaml (rc=$rc)" "$out"; fi

cat >"$TMP/broken.yaml" <<'EOF'
services:
  - name: echo
    probes:
      - name: health
        kind: http
        layer: liveness
        url: http://127.0.0.1:1/health
        timout: 1s
EOF
out=$("$EXPORTER" --config.check --config.file="$TMP/broken.yaml" 2>&1)
rc=$?
if [ $rc -eq 1 ] && grep -q "^$TMP/broken.yaml:8:9: " <<<"$out"; then
  pass "--config.check rejects a broken config with exit 1 and FILE:LINE:COL"
else
  fail "--config.check rejects a broken config with exit 1 and FILE:LINE:COL (rc=$rc)" "$out"
fi

# ---------------------------------------------------------------------------
# Simulator and exporter on ports picked by the kernel.

printf '%s\n' "$CANARY" >"$TMP/token"
if ! start_simulator echo --token-file="$TMP/token"; then
  abort "simulator prints its listening address" "$(cat "$TMP/echo.out" "$TMP/echo.err")"
fi
pass "simulator listens on 127.0.0.1:${SIM_PORT[echo]}"

write_config ""
if ! start_exporter "$TMP/config.yaml" --log.level=debug; then
  abort "exporter logs msg=started with its address" "$(cat "$TMP/exporter.err")"
fi
pass "exporter listens on 127.0.0.1:$EXP_PORT"

api_200() { has_code 200; }
if wait_for 30 api_200; then
  pass "/metrics shows triage_http_responses_total for the api probe"
else
  abort "/metrics shows triage_http_responses_total for the api probe" "$(metrics)"
fi

# ---------------------------------------------------------------------------
# promtool on a real scrape.

metrics >"$TMP/scrape.txt"
promtool_check "promtool check metrics finds no problem" "$TMP/scrape.txt"
scrape_sane() {
  grep -q '^triage_exporter_build_info{' "$TMP/scrape.txt" &&
    grep -q '^triage_exporter_config_last_reload_successful 1$' "$TMP/scrape.txt" &&
    grep -q '^triage_probe_success{service="echo",probe="api",team="platform",cluster_id="cli-test"} ' "$TMP/scrape.txt"
}
check "scrape has build_info, reload_successful 1 and labelled probe series" scrape_sane

# ---------------------------------------------------------------------------
# Status codes from the simulator's failure modes.

for pair in unauthorized:401 rate_limited:429 shutting_down:503; do
  mode=${pair%%:*}
  code=${pair##*:}
  if ! set_mode echo "$mode"; then
    fail "simulator switches to mode $mode" "$MODE_REPLY"
    continue
  fi
  if wait_for 20 has_code "$code"; then
    pass "mode $mode shows code=\"$code\" on /metrics"
  else
    fail "mode $mode shows code=\"$code\" on /metrics" "$(metrics | grep triage_http_responses_total)"
  fi
done
set_mode echo ok

# ---------------------------------------------------------------------------
# Reload by SIGHUP.

write_config "      - name: extra
        kind: http
        layer: readiness
        url: http://127.0.0.1:${SIM_PORT[echo]}/ready"
kill -HUP "$EXP_PID"
extra_seen() { ge "$(runs extra)" 1; }
if wait_for 20 extra_seen; then
  pass "SIGHUP with a new probe: its series appear"
else
  fail "SIGHUP with a new probe: its series appear" "$(tail -n 5 "$TMP/exporter.err")"
fi

printf 'services:\n  - name: echo\n    probes: [unclosed\n' >"$TMP/config.yaml"
kill -HUP "$EXP_PID"
reload_failed() { metrics_match '^triage_exporter_config_last_reload_successful 0$'; }
if wait_for 20 reload_failed; then
  pass "SIGHUP with a broken config: last_reload_successful 0"
else
  fail "SIGHUP with a broken config: last_reload_successful 0" "$(metrics | grep reload)"
fi
if grep -q 'msg="config reload failed.*config.yaml:[0-9]*:[0-9]*: ' "$TMP/exporter.err"; then
  pass "the failed reload is logged with FILE:LINE:COL"
else
  fail "the failed reload is logged with FILE:LINE:COL" "$(tail -n 5 "$TMP/exporter.err")"
fi
health_before=$(runs health)
extra_before=$(runs extra)
keeps_counting() {
  ge "$(runs health)" "$((${health_before%.*} + 2))" && ge "$(runs extra)" "$((${extra_before%.*} + 2))"
}
if wait_for 20 keeps_counting; then
  pass "after the failed reload the running probes keep counting"
else
  fail "after the failed reload the running probes keep counting" \
    "health $health_before -> $(runs health), extra $extra_before -> $(runs extra)"
fi

# ---------------------------------------------------------------------------
# The token must not leak.

exp_get "/probe?service=echo&probe=api&debug=true" >"$TMP/debug.txt"
if grep -q 'status 200' "$TMP/debug.txt" && grep -q '> Authorization: <secret>' "$TMP/debug.txt"; then
  pass "/probe?debug=true ran the api probe with the token, redacted"
else
  fail "/probe?debug=true ran the api probe with the token, redacted" "$(cat "$TMP/debug.txt")"
fi
metrics >"$TMP/leak_metrics.txt"
exp_get / >"$TMP/leak_landing.html"
exp_get "/probe?service=echo&probe=api" >"$TMP/leak_probe.txt"
exp_get "/probe?service=echo&probe=health&debug=true" >"$TMP/leak_debug_health.txt"
leaked=""
for f in exporter.err exporter.out leak_metrics.txt leak_landing.html leak_probe.txt debug.txt \
  leak_debug_health.txt; do
  if [ ! -s "$TMP/$f" ] && [ "$f" != exporter.out ]; then leaked="$leaked $f(empty)"; fi
  if grep -qF "$CANARY" "$TMP/$f"; then leaked="$leaked $f"; fi
done
if [ -z "$leaked" ]; then
  pass "the token appears in no log, /metrics, / or /probe output"
else
  fail "the token appears in no log, /metrics, / or /probe output:$leaked"
fi

# ---------------------------------------------------------------------------
# SIGTERM.

if ! kill -0 "$EXP_PID" 2>/dev/null; then
  wait "$EXP_PID"
  abort "the exporter was still running before SIGTERM (it exited with $?)"
fi
kill -TERM "$EXP_PID"
for _ in $(seq 1 50); do kill -0 "$EXP_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$EXP_PID" 2>/dev/null; then
  fail "SIGTERM: the exporter exits within 5 s"
else
  wait "$EXP_PID"
  rc=$?
  forget_pid "$EXP_PID"
  EXP_PID=""
  if [ $rc -eq 0 ] && grep -q 'msg="shutting down" signal=SIGTERM' "$TMP/exporter.err"; then
    pass "SIGTERM: the exporter exits 0 within 5 s"
  else
    fail "SIGTERM: the exporter exits 0 within 5 s (rc=$rc)" "$(tail -n 3 "$TMP/exporter.err")"
  fi
fi
if grep -qF "$CANARY" "$TMP/exporter.err"; then fail "no token in the final exporter log"; fi

finish

#!/usr/bin/env bash
# TLS probing against a real TLS server (openssl s_server) on loopback:
# verified with ca_file, refused without it, insecure_skip_verify, server_name
# (SNI and name check while connecting to 127.0.0.1), and certificate expiry.
#
# The TLS server listens on the fixed port 127.0.0.1:18443, which must be
# free; the exporter listens on a port the kernel picks.
#
# Usage: bash tests/integration/tls_test.sh EXPORTER_BIN SIMULATOR_BIN
# (the simulator is not used). Prints PASS/FAIL per check and
# "N passed, N failed"; exits 1 on any failure.
# Functions are called indirectly (wait_for, check, finish), which shellcheck
# cannot follow.
# shellcheck disable=SC2317
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib/harness.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh" || exit 2

harness_args "$@"
TLS_PORT=18443
harness_init tls
require_free_port "$TLS_PORT" "openssl s_server listens there"

on_failure() {
  if [ -s "$TMP/exporter.err" ]; then echo "--- exporter log"; cat "$TMP/exporter.err"; fi
  if [ -n "$EXP_PORT" ]; then echo "--- /metrics (probe series)"; metrics | grep 'probe="' | head -n 60; fi
}

cd "$TMP" || abort "cd to the temporary directory"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 \
  -subj "/CN=triage test CA" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=localhost" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > san.ext
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt \
  -days 30 -extfile san.ext 2>/dev/null
expiry=$(date -d "$(openssl x509 -in server.crt -noout -enddate | cut -d= -f2)" +%s)

openssl s_server -quiet -accept "127.0.0.1:$TLS_PORT" -cert server.crt -key server.key -www \
  >/dev/null 2>&1 &
TLS_PID=$!
PIDS+=("$TLS_PID")
tls_up() { port_open "$TLS_PORT" || ! kill -0 "$TLS_PID" 2>/dev/null; }
wait_for 5 tls_up
if ! kill -0 "$TLS_PID" 2>/dev/null || ! port_open "$TLS_PORT"; then
  abort "openssl s_server listens on 127.0.0.1:$TLS_PORT"
fi

cat > triage.yml <<YML
global: {interval: 500ms, timeout: 400ms}
services:
  - name: tls
    probes:
      - {name: verified, kind: http, layer: liveness, url: "https://127.0.0.1:$TLS_PORT/", tls_config: {ca_file: ca.crt}}
      - {name: unverified, kind: http, layer: liveness, url: "https://127.0.0.1:$TLS_PORT/"}
      - {name: insecure, kind: http, layer: liveness, url: "https://127.0.0.1:$TLS_PORT/", tls_config: {insecure_skip_verify: true}}
      - {name: sni_ok, kind: http, layer: liveness, url: "https://127.0.0.1:$TLS_PORT/", tls_config: {ca_file: ca.crt, server_name: localhost}}
      - {name: sni_wrong, kind: http, layer: liveness, url: "https://127.0.0.1:$TLS_PORT/", tls_config: {ca_file: ca.crt, server_name: wrong.example}}
YML
start_exporter "$TMP/triage.yml" || abort "exporter logs msg=started with its address"

# metric PREFIX FILTER: value of the first sample line containing both
metric() { metrics | grep -F "$1" | grep -F "$2" | awk '{print $2}' | head -1; }
metric_is() { [ "$(metric "$1" "$2")" = "$3" ]; }          # metric_is PREFIX FILTER VALUE
metric_present() { [ -n "$(metric "$1" "$2")" ]; }          # metric_present PREFIX FILTER
metric_nonzero() { local v; v=$(metric "$1" "$2"); [ -n "$v" ] && [ "$v" != 0 ]; }

# Every probe has run once the verified one succeeded and sni_wrong has a
# series; the checks run after at most 10 s either way.
probed() {
  metric_nonzero 'triage_probes_total{' 'probe="verified",result="success"' &&
    metric_present 'triage_probes_total{' 'probe="sni_wrong"'
}
wait_for 10 probed

check "verified with ca_file succeeds" metric_is 'triage_probe_success{' 'probe="verified"' 1
check "certificate expiry is the server certificate notAfter" \
  metric_is 'triage_tls_cert_expiry_timestamp_seconds{' 'probe="verified"' "$expiry"
check "unknown CA fails with reason tls" \
  metric_present 'triage_probe_failures_total{' 'probe="unverified",reason="tls"'
check "insecure_skip_verify succeeds" metric_is 'triage_probe_success{' 'probe="insecure"' 1
check "server_name localhost verifies while connecting to 127.0.0.1" \
  metric_is 'triage_probe_success{' 'probe="sni_ok"' 1
check "server_name not in the certificate fails with reason tls" \
  metric_present 'triage_probe_failures_total{' 'probe="sni_wrong",reason="tls"'
check "phase tls measured" metric_nonzero 'triage_probe_phase_seconds{' 'probe="verified",phase="tls"'

finish

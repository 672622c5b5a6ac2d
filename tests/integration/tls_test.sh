#!/usr/bin/env bash
# TLS probing against a real TLS server (openssl s_server) on loopback:
# verified with ca_file, refused without it, insecure_skip_verify, server_name
# (SNI and name check while connecting to 127.0.0.1), and certificate expiry.
set -uo pipefail
EXPORTER=$1
TLS_PORT=18443
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
passed=0; failed=0
check() { if eval "$2"; then echo "PASS $1"; passed=$((passed+1)); else echo "FAIL $1"; failed=$((failed+1)); fi; }

cd "$dir"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 \
  -subj "/CN=triage test CA" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=localhost" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > san.ext
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt \
  -days 30 -extfile san.ext 2>/dev/null
expiry=$(date -d "$(openssl x509 -in server.crt -noout -enddate | cut -d= -f2)" +%s)

if (exec 3<>/dev/tcp/127.0.0.1/$TLS_PORT) 2>/dev/null; then
  echo "port $TLS_PORT on 127.0.0.1 is already in use"; echo "0 passed, 1 failed"; exit 1
fi
openssl s_server -quiet -accept 127.0.0.1:$TLS_PORT -cert server.crt -key server.key -www \
  >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/$TLS_PORT) 2>/dev/null && break; sleep 0.1; done
kill -0 "${pids[0]}" 2>/dev/null || { echo "openssl s_server did not start"; echo "0 passed, 1 failed"; exit 1; }

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
"$EXPORTER" --config.file=triage.yml --web.listen-address=127.0.0.1:0 2>exporter.log &
pids+=($!)
port=""
for _ in $(seq 1 100); do
  port=$(sed -n 's/.*msg=started.*address=127.0.0.1:\([0-9]*\).*/\1/p' exporter.log | head -1)
  [ -n "$port" ] && break; sleep 0.1
done
[ -n "$port" ] || { echo "exporter did not start"; cat exporter.log; echo "0 passed, 1 failed"; exit 1; }

metric() { curl -fsS "http://127.0.0.1:$port/metrics" | grep -F "$1" | grep -F "$2" | awk '{print $2}' | head -1; }
for _ in $(seq 1 100); do
  ok=$(metric 'triage_probes_total{' 'probe="verified",result="success"')
  [ -n "$(metric 'triage_probes_total{' 'probe="sni_wrong"')" ] && [ -n "$ok" ] && [ "$ok" != 0 ] && break
  sleep 0.1
done

check "verified with ca_file succeeds" '[ "$(metric "triage_probe_success{" "probe=\"verified\"")" = 1 ]'
check "certificate expiry is the server certificate notAfter" \
  '[ "$(metric "triage_tls_cert_expiry_timestamp_seconds{" "probe=\"verified\"")" = "$expiry" ]'
check "unknown CA fails with reason tls" \
  '[ -n "$(metric "triage_probe_failures_total{" "probe=\"unverified\",reason=\"tls\"")" ]'
check "insecure_skip_verify succeeds" '[ "$(metric "triage_probe_success{" "probe=\"insecure\"")" = 1 ]'
check "server_name localhost verifies while connecting to 127.0.0.1" \
  '[ "$(metric "triage_probe_success{" "probe=\"sni_ok\"")" = 1 ]'
check "server_name not in the certificate fails with reason tls" \
  '[ -n "$(metric "triage_probe_failures_total{" "probe=\"sni_wrong\",reason=\"tls\"")" ]'
check "phase tls measured" \
  '[ "$(metric "triage_probe_phase_seconds{" "probe=\"verified\",phase=\"tls\"")" != "0" ]'

if [ $failed -ne 0 ]; then cat exporter.log; curl -s "http://127.0.0.1:$port/metrics" | grep 'probe="' | head -60; fi
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]

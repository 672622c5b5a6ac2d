#!/usr/bin/env bash
# --web.config.file, tried as a new user would with curl: basic auth (bcrypt)
# and a bearer token on every endpoint but /-/healthy; TLS with the given
# certificate (plain HTTP, an unknown CA and a version under min_version
# refused), client certificates (none or one of another CA refused), and
# the loopback port behind the TLS front refusing requests that skip it; a
# bad web configuration refused at start with file, line and column, without
# echoing the bad value.
#
# Usage: bash tests/integration/web_config_test.sh EXPORTER_BIN SIMULATOR_BIN
# (the simulator is not used). Prints PASS/FAIL per check and
# "N passed, N failed"; exits 1 on any failure.
# Functions are called indirectly (wait_for, check, finish), which shellcheck
# cannot follow.
# shellcheck disable=SC2317
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib/harness.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh" || exit 2

harness_args "$@"
harness_init web_config

on_failure() {
  if [ -s "$TMP/exporter.err" ]; then echo "--- exporter log"; cat "$TMP/exporter.err"; fi
}

cd "$TMP" || abort "cd to the temporary directory"

# A CA; a server certificate for 127.0.0.1 and a client certificate from it;
# a client certificate of another (self-signed) CA.
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 30 \
  -subj "/CN=triage test CA" 2>/dev/null
for who in server client; do
  openssl req -newkey rsa:2048 -nodes -keyout $who.key -out $who.csr -subj "/CN=127.0.0.1" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\n' > $who.ext
  openssl x509 -req -in $who.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out $who.crt -days 30 \
    -extfile $who.ext 2>/dev/null
done
openssl req -x509 -newkey rsa:2048 -nodes -keyout rogue.key -out rogue.crt -days 30 \
  -subj "/CN=rogue client" 2>/dev/null
[ -s server.crt ] && [ -s client.crt ] && [ -s rogue.crt ] || abort "openssl made the certificates"

# The password of user "prometheus" is "correct horse" (bcrypt, cost 4 to keep the test fast).
HASH='$2b$04$1W0zW15g8MZGoiIoPt070OQ.nk/WVUcGz/x1GkzWFM11XRRwLfiZO'
TOKEN=canary-bearer-7f3a9c
printf '%s\n' "$TOKEN" > token
cat > triage.yml <<'YML'
global: {interval: 1s, timeout: 500ms}
services:
  - name: self
    probes:
      - {name: closed, kind: tcp, layer: dependency, address: "127.0.0.1:1"}
YML

# start_refused NAME: starts the exporter with web.yml, expecting it to stop;
# its stderr goes to NAME.err, and the exit status is returned.
start_refused() {
  "$EXPORTER" --config.file="$TMP/triage.yml" --web.config.file="$TMP/web.yml" \
    --web.listen-address=127.0.0.1:0 >"$1.out" 2>"$1.err"
}

# status [curl args...]: the HTTP status curl saw ("000": no HTTP answer).
status() { curl -sS --noproxy '*' --max-time 5 -o /dev/null -w '%{http_code}' "$@" 2>/dev/null; }

# ---- basic auth and a bearer token, plain HTTP
cat > web.yml <<YML
basic_auth_users:
  prometheus: '$HASH'
bearer_token_file: token
YML
start_exporter "$TMP/triage.yml" --web.config.file="$TMP/web.yml" ||
  abort "exporter starts with the web configuration"
URL="http://127.0.0.1:$EXP_PORT"
check "/metrics without credentials is 401" [ "$(status "$URL/metrics")" = 401 ]
check "the 401 asks for basic auth" \
  grep -qi '^WWW-Authenticate: Basic realm="triage_exporter"' <(curl -sS --noproxy '*' -D - -o /dev/null "$URL/metrics")
check "/metrics with a wrong password is 401" [ "$(status -u 'prometheus:wrong' "$URL/metrics")" = 401 ]
check "/metrics with an unknown user is 401" [ "$(status -u 'nobody:correct horse' "$URL/metrics")" = 401 ]
check "/metrics with the right password is 200" [ "$(status -u 'prometheus:correct horse' "$URL/metrics")" = 200 ]
check "the answer holds the probe's series" \
  grep -q 'triage_probe_success{service="self",probe="closed"}' <(curl -sS --noproxy '*' -u 'prometheus:correct horse' "$URL/metrics")
check "/metrics with the bearer token is 200" [ "$(status -H "Authorization: Bearer $TOKEN" "$URL/metrics")" = 200 ]
check "/metrics with another bearer token is 401" [ "$(status -H "Authorization: Bearer ${TOKEN}x" "$URL/metrics")" = 401 ]
check "/-/healthy needs no credentials" [ "$(status "$URL/-/healthy")" = 200 ]
check "/-/ready needs no credentials (a kubelet's readiness check has none)" [ "$(status "$URL/-/ready")" = 200 ]
for path in / "/probe?service=self&probe=closed" /runbooks/ "/api/v1/triage?service=self"; do
  check "$path without credentials is 401" [ "$(status "$URL$path")" = 401 ]
done
check "POST /-/reload without credentials is 401" [ "$(status -X POST "$URL/-/reload")" = 401 ]
check "POST /-/reload with credentials reloads" [ "$(status -X POST -u 'prometheus:correct horse' "$URL/-/reload")" = 200 ]
check "the log holds neither the password nor the token" \
  bash -c "! grep -q -e 'correct horse' -e '$TOKEN' '$TMP/exporter.err'"
stop_exporter

# backend_port: the loopback port civetweb listens on behind the TLS front
# (the exporter's listening port that is not EXP_PORT).
backend_port() {
  ss -ltnpH 2>/dev/null | grep "pid=$EXP_PID," | awk '{print $4}' | sed 's/.*://' |
    grep -vx "$EXP_PORT" | head -n 1
}

# ---- TLS with basic auth
cat > web.yml <<YML
tls_server_config:
  cert_file: server.crt
  key_file: server.key
basic_auth_users:
  prometheus: '$HASH'
YML
start_exporter "$TMP/triage.yml" --web.config.file="$TMP/web.yml" ||
  abort "exporter starts with tls_server_config"
URL="https://127.0.0.1:$EXP_PORT"
check "TLS: /metrics with the CA and the password is 200" \
  [ "$(status --cacert ca.crt -u 'prometheus:correct horse' "$URL/metrics")" = 200 ]
check "TLS: the answer holds the probe's series" \
  grep -q 'triage_probe_success{service="self",probe="closed"}' \
  <(curl -sS --noproxy '*' --cacert ca.crt -u 'prometheus:correct horse' "$URL/metrics")
check "TLS: without the password it is 401" [ "$(status --cacert ca.crt "$URL/metrics")" = 401 ]
check "TLS: /-/healthy needs no password" [ "$(status --cacert ca.crt "$URL/-/healthy")" = 200 ]
check "TLS: a client that does not know the CA gets no answer" \
  [ "$(status -u 'prometheus:correct horse' "$URL/metrics")" = 000 ]
check "TLS: plain HTTP on the TLS port gets no answer" \
  [ "$(status -u 'prometheus:correct horse' "http://127.0.0.1:$EXP_PORT/metrics")" = 000 ]
# 64 connections that never start a handshake fill every slot of the TLS
# front; they are cut 10 s after their accept, and a real client gets in.
idle_fds=()
for _ in $(seq 64); do
  exec {fd}<>"/dev/tcp/127.0.0.1/$EXP_PORT" && idle_fds+=("$fd")
done
t0=$(date +%s)
code=$(status --max-time 25 --cacert ca.crt -u 'prometheus:correct horse' "$URL/-/ready")
waited=$(($(date +%s) - t0))
for fd in "${idle_fds[@]}"; do exec {fd}>&-; done
check "TLS: a client gets in after 64 silent connections took every slot (200 after ${waited}s)" \
  [ "$code" = 200 ]
BACKEND=$(backend_port)
if [ -n "$BACKEND" ]; then
  check "TLS: the loopback port behind the front refuses a request that skips TLS (403)" \
    [ "$(status -u 'prometheus:correct horse' "http://127.0.0.1:$BACKEND/metrics")" = 403 ]
else
  fail "TLS: the loopback port behind the front is found" "$(ss -ltnp 2>&1 | head -20)"
fi
stop_exporter

# ---- client certificates required, TLS 1.3 at least
cat > web.yml <<YML
tls_server_config:
  cert_file: server.crt
  key_file: server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.crt
  min_version: TLS13
YML
start_exporter "$TMP/triage.yml" --web.config.file="$TMP/web.yml" ||
  abort "exporter starts with client certificates required"
URL="https://127.0.0.1:$EXP_PORT"
check "mTLS: a client certificate of the CA gets 200" \
  [ "$(status --cacert ca.crt --cert client.crt --key client.key "$URL/metrics")" = 200 ]
check "mTLS: no client certificate gets no answer" [ "$(status --cacert ca.crt "$URL/metrics")" = 000 ]
check "mTLS: a client certificate of another CA gets no answer" \
  [ "$(status --cacert ca.crt --cert rogue.crt --key rogue.key "$URL/metrics")" = 000 ]
check "mTLS: TLS 1.2 is refused under min_version TLS13" \
  [ "$(status --tls-max 1.2 --cacert ca.crt --cert client.crt --key client.key "$URL/metrics")" = 000 ]
check "mTLS: the exporter still answers after the refused handshakes" \
  [ "$(status --cacert ca.crt --cert client.crt --key client.key "$URL/-/ready")" = 200 ]
stop_exporter

# ---- a key that does not belong to the certificate stops the start
printf 'tls_server_config:\n  cert_file: server.crt\n  key_file: rogue.key\n' > web.yml
start_refused mismatch
rc=$?
check "a key of another certificate fails the start (exit 1)" [ "$rc" = 1 ]
check "the error names the key and why" grep -q "cannot use key_file .*rogue.key: .*key values mismatch" mismatch.err

# ---- a bad web configuration stops the start, names the place, keeps the value to itself
cat > web.yml <<'YML'
basic_auth_users:
  prometheus: hunter2-not-a-hash
YML
start_refused bad
rc=$?
check "a web configuration with a password instead of a hash fails the start" [ "$rc" = 1 ]
check "the error names file, line and column" grep -q "web.yml:2:" bad.err
check "the error does not echo the value" bash -c "! grep -q hunter2 bad.err"
printf 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS9\n' > web.yml
start_refused bad
check "an unknown min_version fails the start and lists the known ones" grep -q "TLS12, TLS13" bad.err

finish

#!/usr/bin/env bash
# The runbook pages in a real browser: starts the echo simulator and the
# exporter on a small configuration (both on ports the kernel picks), turns the
# simulator's 401s on, then has headless Chromium (Debian's chromium package)
#   - take a screenshot of /runbooks/http-status.md, kept as a test artefact
#     under the build tree (never in git): BUILD/artifacts/runbook-http-status.png;
#   - dump the DOM of the same page, which must hold every alert anchor of that
#     file as an element id, the live "Now" boxes, and no script.
# Without chromium the test is SKIPPED (exit 0) on a developer machine, and
# fails under CI (CI set), where scripts/install-deps.sh must have installed it.
#
# Usage (CTest, repo root as working directory):
#   bash tests/integration/runbook_screenshot_test.sh EXPORTER_BIN SIMULATOR_BIN
# Prints PASS/FAIL per check and "N passed, N failed"; exits 1 on any failure.
# Functions are called indirectly (wait_for, finish), which shellcheck cannot follow.
# shellcheck disable=SC2317
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib/harness.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh" || exit 2

harness_args "$@"
PAGE=http-status.md
ARTIFACTS=$(dirname "$EXPORTER")/artifacts
SHOT=$ARTIFACTS/runbook-http-status.png

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ] && [ -z "${CI:-}" ]; then
  echo "SKIPPED: chromium is not installed (scripts/install-deps.sh installs it);" \
    "under CI this test fails instead"
  echo "0 passed, 0 failed, 1 skipped"
  exit 0
fi
harness_init runbook_shot
if [ -z "$CHROMIUM" ]; then
  abort "chromium is not installed, and CI is set: scripts/install-deps.sh must install it"
fi

on_failure() {
  local f
  for f in exporter.err echo.err chromium.err; do tail_log "$f" 15; done
}
# Headless Chromium with a throw-away profile; its own chatter goes to chromium.err.
chromium_run() {
  timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run \
    --user-data-dir="$TMP/profile" "$@" 2>>"$TMP/chromium.err"
}

# ---------------------------------------------------------------------------
# The echo simulator and the exporter.

start_simulator echo --mode=ok ||
  abort "simulator prints its listening address" "$(cat "$TMP/echo.out" "$TMP/echo.err")"
SIM=127.0.0.1:${SIM_PORT[echo]}

cat >"$TMP/config.yaml" <<EOF
global:
  interval: 500ms
  timeout: 500ms
services:
  - name: echo
    labels: {team: platform, note: '<b>"quoted"</b> & more'}
    probes:
      - {name: health, kind: http, layer: liveness, url: "http://$SIM/health"}
      - {name: api, kind: http, layer: traffic, url: "http://$SIM/api/v2/whoami",
         valid_status_codes: [200], error_code_pointer: /code}
      - {name: metrics, kind: scrape, layer: telemetry, url: "http://$SIM/metrics"}
EOF

start_exporter "$TMP/config.yaml" ||
  abort "exporter logs msg=started with its address" "$(cat "$TMP/exporter.err")"
pass "simulator on $SIM, exporter on 127.0.0.1:$EXP_PORT"

# The simulator answers 401 from now on; the walk names the alert.
set_mode echo unauthorized
triage_echo() { exp_get "/api/v1/triage?service=echo" 2>/dev/null; }
names_401() { grep -q '"alert": "TriageHttpUnauthorized"' <<<"$(triage_echo)"; }
if wait_for 20 names_401; then
  pass "/api/v1/triage?service=echo names TriageHttpUnauthorized once the API answers 401"
else
  fail "/api/v1/triage?service=echo names TriageHttpUnauthorized" "$(triage_echo)"
fi

# ---------------------------------------------------------------------------
# Screenshot.

URL="http://127.0.0.1:$EXP_PORT/runbooks/$PAGE"
mkdir -p "$ARTIFACTS"
rm -f "$SHOT"
start=$(date +%s)
chromium_run --hide-scrollbars --screenshot="$SHOT" --window-size=1280,1600 "$URL" >"$TMP/shot.out"
rc=$?
size=$(stat -c %s "$SHOT" 2>/dev/null || echo 0)
magic=$(head -c 8 "$SHOT" 2>/dev/null | od -An -tx1 | tr -d ' \n')
if [ "$rc" -eq 0 ] && [ "$magic" = "89504e470d0a1a0a" ] && [ "$size" -gt 20000 ]; then
  pass "chromium took a screenshot of /runbooks/$PAGE in $(( $(date +%s) - start ))s: PNG, $size bytes"
  echo "screenshot: $SHOT"
else
  fail "chromium takes a PNG screenshot of /runbooks/$PAGE (rc=$rc, magic=$magic, $size bytes)" \
    "$(tail -n 5 "$TMP/chromium.err")"
fi

# ---------------------------------------------------------------------------
# The DOM as Chromium parsed it.

chromium_run --dump-dom "$URL" >"$TMP/dom.html"
anchors=$(python3 -c '
import json, sys
for a in json.load(open(sys.argv[1]))["alerts"]:
    if a["runbook"]["file"] == sys.argv[2]:
        print(a["runbook"]["anchor"])
' "$ROOT/alerts/index.json" "$PAGE")
missing=""
count=0
for anchor in $anchors; do
  count=$((count + 1))
  grep -q "id=\"$anchor\"" "$TMP/dom.html" || missing="$missing $anchor"
done
if [ "$count" -gt 0 ] && [ -z "$missing" ]; then
  pass "the DOM holds all $count alert anchors of $PAGE as element ids"
else
  fail "the DOM holds every alert anchor of $PAGE as an element id (missing:${missing:- all})" \
    "$(head -c 600 "$TMP/dom.html")"
fi
boxes=$(grep -o 'class="now"' "$TMP/dom.html" | wc -l)
if [ "$boxes" -eq "$count" ]; then
  pass "the DOM has one Now box per alert section ($boxes)"
else
  fail "the DOM has one Now box per alert section ($boxes boxes, $count alerts)"
fi
if grep -Eq '<td>echo</td><td>api</td><td>.*code="401"</code></td><td>[1-9][0-9]*</td>' "$TMP/dom.html"; then
  pass "a Now box shows the api probe's live 401 count"
else
  fail "a Now box shows the api probe's live 401 count" \
    "$(grep -o '<td>echo</td><td>api</td>[^\n]*' "$TMP/dom.html" | head -n 5)"
fi
if grep -q '<script' "$TMP/dom.html" || grep -q '<b>"quoted"' "$TMP/dom.html"; then
  fail "no script and no unescaped label value in the DOM"
else
  pass "no script and no unescaped label value in the DOM"
fi

finish

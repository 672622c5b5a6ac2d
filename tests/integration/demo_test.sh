#!/usr/bin/env bash
# Runs the demo as a new user would (scripts/demo.sh, the body of `make demo`)
# and checks that /metrics shows 401, 429 and 503 from the simulator within 30 s.
set -uo pipefail
EXPORTER=$1
BUILD=$(dirname "$EXPORTER")
PORT=19479
# The demo uses fixed ports (its config names the simulator's); a port taken
# by something else (a running `make demo`) would make this test probe that
# instead, so it refuses to run then.
for p in $PORT 18081; do
  if (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then
    echo "demo: port $p on 127.0.0.1 is already in use; stop what holds it (make demo?) and rerun"
    echo "0 passed, 1 failed"
    exit 1
  fi
done
DEMO_PORT=$PORT DEMO_DURATION=45 ./scripts/demo.sh "$BUILD" >/tmp/triage_demo_test.$$.log 2>&1 &
demo=$!
trap 'kill $demo 2>/dev/null; wait $demo 2>/dev/null; rm -f /tmp/triage_demo_test.$$.log' EXIT

start=$(date +%s)
want=(401 429 503)
while :; do
  metrics=$(curl -fsS "http://127.0.0.1:$PORT/metrics" 2>/dev/null || true)
  missing=()
  for code in "${want[@]}"; do
    grep -q "triage_http_responses_total{service=\"echo\",probe=\"api\".*code=\"$code\"}" <<<"$metrics" || missing+=("$code")
  done
  elapsed=$(( $(date +%s) - start ))
  if [ ${#missing[@]} -eq 0 ]; then
    echo "demo: 401, 429 and 503 visible on /metrics after ${elapsed}s"
    echo "1 passed, 0 failed"
    exit 0
  fi
  if [ $elapsed -ge 30 ]; then
    echo "demo: still missing codes ${missing[*]} after ${elapsed}s"
    cat /tmp/triage_demo_test.$$.log
    echo "0 passed, 1 failed"
    exit 1
  fi
  sleep 1
done

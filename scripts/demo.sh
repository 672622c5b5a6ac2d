#!/usr/bin/env bash
# Runs the demo: triage_simulator playing its demo scenario on 127.0.0.1:18081
# and triage_exporter on examples/demo.yaml probing it. Stops both on Ctrl-C.
#   DEMO_PORT      exporter port (default 9479)
#   DEMO_DURATION  stop by itself after this many seconds (default: run until Ctrl-C)
set -euo pipefail
BUILD=${1:-build}
PORT=${DEMO_PORT:-9479}
SIM_PORT=18081
cd "$(dirname "$0")/.."

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

"$BUILD/triage_simulator" --listen-address=127.0.0.1:$SIM_PORT \
  --token-file=examples/demo.token --scenario=tools/simulator/scenarios/demo.yaml &
pids+=($!)
"$BUILD/triage_exporter" --config.file=examples/demo.yaml --web.listen-address=:$PORT &
pids+=($!)

for _ in $(seq 1 50); do
  curl -fsS "http://127.0.0.1:$PORT/-/ready" >/dev/null 2>&1 && break
  sleep 0.1
done

cat <<MSG

triage_exporter is probing the simulator. Open:
  http://localhost:$PORT/            probes and their last outcome
  http://localhost:$PORT/metrics     the metrics Prometheus scrapes
  http://localhost:$PORT/probe?service=echo&probe=api&debug=true
                                     run one probe now, with its debug log
The simulator changes failure mode every 5 s (ok, 401, 429, 503, 500, 403);
within 30 s /metrics shows each code, for example:
  curl -s http://localhost:$PORT/metrics | grep 'triage_http_responses_total'
Switch the mode by hand:
  curl -X POST 'http://127.0.0.1:$SIM_PORT/-/mode?mode=rate_limited'
Press Ctrl-C to stop.

MSG

if [ -n "${DEMO_DURATION:-}" ]; then
  sleep "$DEMO_DURATION" &   # waited on, so a signal ends the demo at once
  pids+=($!)
  wait $!
else
  wait -n "${pids[@]}"
fi

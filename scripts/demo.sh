#!/usr/bin/env bash
# Runs the demo (`make demo`): the whole stack on loopback, started and
# stopped by tests/lib/triagetest/stack.py (the same module the end-to-end
# suite uses):
#   127.0.0.1:18081  triage_simulator, echo (tools/simulator/scenarios/demo.yaml)
#   127.0.0.1:18082  triage_simulator, node (tools/simulator/scenarios/node-demo.yaml)
#   127.0.0.1:18083  triage_simulator, kube (tools/simulator/scenarios/kube-demo.yaml)
#   127.0.0.1:18089  must stay free: the demo's "Redis that is not running"
#   127.0.0.1:9479   triage_exporter on examples/demo.yaml
#   127.0.0.1:9090   Prometheus with the rule pack, durations scaled down by 10
#   127.0.0.1:9093   Alertmanager with the generated inhibit rules
# A port that is already taken stops the demo before anything starts, naming
# it. Ctrl-C stops everything.
# Environment:
#   DEMO_PORT               exporter port (default 9479)
#   DEMO_PROMETHEUS_PORT    Prometheus port (default 9090)
#   DEMO_ALERTMANAGER_PORT  Alertmanager port (default 9093)
#   DEMO_DURATION           stop by itself after this many seconds (default: run until Ctrl-C)
set -uo pipefail
BUILD=${1:-build}
cd "$(dirname "$0")/.." || exit 1
export PYTHONPATH="$PWD/tests/lib${PYTHONPATH:+:$PYTHONPATH}"

PY=$(command -v python3 || true)
if [ -z "$PY" ]; then
  echo "demo: python3 is needed (make deps installs it)" >&2
  exit 1
fi

pgids=$(mktemp "${TMPDIR:-/tmp}/triage-demo-pgids.XXXXXX")
"$PY" -B -m triagetest.stack demo --build "$BUILD" \
  --exporter-port "${DEMO_PORT:-9479}" \
  --prometheus-port "${DEMO_PROMETHEUS_PORT:-9090}" \
  --alertmanager-port "${DEMO_ALERTMANAGER_PORT:-9093}" \
  --duration "${DEMO_DURATION:-0}" \
  --pgid-file "$pgids" &
py=$!

# triagetest.stack stops what it started on TERM or INT; whatever it could not
# stop (it was killed itself) is stopped by `triagetest.stack reap` on the way out.
trap 'kill -TERM "$py" 2>/dev/null' INT TERM
trap '"$PY" -B -m triagetest.stack reap --pgid-file "$pgids"; rm -f "$pgids" "$pgids.tmp"' EXIT
rc=0
wait "$py" || rc=$?
while kill -0 "$py" 2>/dev/null; do  # a trapped signal ends `wait` early
  wait "$py" || rc=$?
done
exit "$rc"

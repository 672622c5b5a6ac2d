#!/usr/bin/env bash
# Runs the demo: three triage_simulator processes on loopback, each playing
# its demo scenario, and triage_exporter on examples/demo.yaml probing them
# with every probe kind. Stops them all on Ctrl-C.
#   127.0.0.1:18081  echo  (tools/simulator/scenarios/demo.yaml)
#   127.0.0.1:18082  node  (tools/simulator/scenarios/node-demo.yaml)
#   127.0.0.1:18083  kube  (tools/simulator/scenarios/kube-demo.yaml)
#   127.0.0.1:18089  must stay free: the demo's "Redis that is not running"
# Environment:
#   DEMO_PORT      exporter port (default 9479)
#   DEMO_DURATION  stop by itself after this many seconds (default: run until Ctrl-C)
set -euo pipefail
BUILD=${1:-build}
PORT=${DEMO_PORT:-9479}
ECHO_PORT=18081
NODE_PORT=18082
KUBE_PORT=18083
CLOSED_PORT=18089
cd "$(dirname "$0")/.."

in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The configuration names these ports, so a port held by something else
# would have the exporter probe that instead.
for p in "$PORT" $ECHO_PORT $NODE_PORT $KUBE_PORT; do
  if in_use "$p"; then
    echo "demo: port $p on 127.0.0.1 is already in use (another demo?); stop what holds it and rerun" >&2
    exit 1
  fi
done
if in_use $CLOSED_PORT; then
  echo "demo: warning: something listens on 127.0.0.1:$CLOSED_PORT, so the probe storage/redis" \
    "will not show connection_refused" >&2
fi

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

SCENARIOS=tools/simulator/scenarios
"$BUILD/triage_simulator" --system=echo --listen-address=127.0.0.1:$ECHO_PORT \
  --token-file=examples/demo.token --scenario=$SCENARIOS/demo.yaml &
pids+=($!)
"$BUILD/triage_simulator" --system=node --listen-address=127.0.0.1:$NODE_PORT \
  --token-file=examples/demo.token --scenario=$SCENARIOS/node-demo.yaml &
pids+=($!)
"$BUILD/triage_simulator" --system=kube --listen-address=127.0.0.1:$KUBE_PORT \
  --token-file=examples/demo.token --scenario=$SCENARIOS/kube-demo.yaml &
pids+=($!)
"$BUILD/triage_exporter" --config.file=examples/demo.yaml --web.listen-address=":$PORT" &
pids+=($!)

for _ in $(seq 1 50); do
  curl -fsS "http://127.0.0.1:$PORT/-/ready" >/dev/null 2>&1 && break
  sleep 0.1
done

cat <<MSG

triage_exporter is probing three simulators (services echo, node, storage). Open:
  http://localhost:$PORT/            probes and their last outcome
  http://localhost:$PORT/metrics     the metrics Prometheus scrapes
  http://localhost:$PORT/probe?service=echo&probe=api&debug=true
                                     run one probe now, with its debug log
Each simulator changes mode every 5 s. Within 30 s /metrics shows:
  echo     the API's 401, 429 and 503 (then 500 and 403), its error codes and Retry-After
             curl -s http://localhost:$PORT/metrics | grep 'triage_http_responses_total{service="echo",probe="api"'
  node     one readiness key after another failing, the cluster's leader, its metrics page
             curl -s http://localhost:$PORT/metrics | grep -E 'triage_readiness_check_ok|triage_cluster_'
  storage  the claim going Bound -> Pending -> Lost, and a Redis that is not running
             curl -s http://localhost:$PORT/metrics | grep -E 'triage_pvc_|reason="connection_refused"'
Performance mode and the cluster's troubles (no leader, a flapping leader, a
lagging follower) come later in the node's 75 s round.
Switch a mode by hand (modes: triage_simulator --help):
  curl -X POST 'http://127.0.0.1:$ECHO_PORT/-/mode?mode=rate_limited'
  curl -X POST 'http://127.0.0.1:$NODE_PORT/-/mode?mode=no_leader'
  curl -X POST 'http://127.0.0.1:$KUBE_PORT/-/mode?mode=pending_no_default_storageclass'
Press Ctrl-C to stop.

MSG

if [ -n "${DEMO_DURATION:-}" ]; then
  sleep "$DEMO_DURATION" &   # waited on, so a signal ends the demo at once
  pids+=($!)
  wait $!
else
  wait -n "${pids[@]}"
fi

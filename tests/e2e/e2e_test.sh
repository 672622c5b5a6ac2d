#!/usr/bin/env bash
# The end-to-end suite (tests/e2e/e2e.py): the real Prometheus (127.0.0.1:19190,
# or $TRIAGE_E2E_PROM_PORT) and Alertmanager (127.0.0.1:19193, or
# $TRIAGE_E2E_AM_PORT) over triage_exporter and one
# triage_simulator per failure mode; prints a table of every scenario and
# "N passed, N failed, N skipped", and writes the table to
# BUILD_DIR/artifacts/e2e-table.txt.
#
# Usage (CTest, repo root as working directory): bash tests/e2e/e2e_test.sh BUILD_DIR
# Ctrl-C or a TERM stops everything it started; what the driver could not stop
# (it was killed itself) is stopped on the way out by `scripts/stack.py reap`.
set -uo pipefail

BUILD=${1:?usage: e2e_test.sh BUILD_DIR}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1

PY=$(command -v python3 || true)
if [ -z "$PY" ]; then
  echo "e2e: python3 not found (scripts/install-deps.sh)"
  echo "0 passed, 1 failed"
  exit 1
fi

pgids=$(mktemp "${TMPDIR:-/tmp}/triage-e2e-pgids.XXXXXX")
"$PY" tests/e2e/e2e.py --build "$BUILD" --pgid-file "$pgids" &
py=$!
trap 'kill -TERM "$py" 2>/dev/null' INT TERM
trap '"$PY" scripts/stack.py reap --pgid-file "$pgids"; rm -f "$pgids" "$pgids.tmp"' EXIT
rc=0
wait "$py" || rc=$?
while kill -0 "$py" 2>/dev/null; do  # a trapped signal ends `wait` early
  wait "$py" || rc=$?
done
exit "$rc"

#!/usr/bin/env bash
# Runs a Python test driver that starts processes through triagetest.stack
# (tests/e2e/e2e.py, tests/hostile/hostile_test.py) with a pgid file, and
# stops on the way out whatever the driver could not stop itself (it was
# killed): `python3 -m triagetest.stack reap`. Ctrl-C or a TERM is passed on
# to the driver, which then stops everything it started.
#
# Usage: bash tests/lib/run_driver.sh NAME DRIVER.py BUILD_DIR [ARG...]
# Runs `python3 DRIVER.py --build BUILD_DIR --pgid-file FILE ARG...` from the
# repository root, with tests/lib (the triagetest package) put in front of
# PYTHONPATH; exits with the driver's status.
set -uo pipefail

NAME=${1:?usage: run_driver.sh NAME DRIVER.py BUILD_DIR [ARG...]}
DRIVER=${2:?usage: run_driver.sh NAME DRIVER.py BUILD_DIR [ARG...]}
BUILD=${3:?usage: run_driver.sh NAME DRIVER.py BUILD_DIR [ARG...]}
shift 3
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1
export PYTHONPATH="$ROOT/tests/lib${PYTHONPATH:+:$PYTHONPATH}"

PY=$(command -v python3 || true)
if [ -z "$PY" ]; then
  echo "$NAME: python3 not found (scripts/install-deps.sh)"
  echo "0 passed, 1 failed"
  exit 1
fi

pgids=$(mktemp "${TMPDIR:-/tmp}/triage-$NAME-pgids.XXXXXX")
"$PY" "$DRIVER" --build "$BUILD" --pgid-file "$pgids" "$@" &
py=$!
trap 'kill -TERM "$py" 2>/dev/null' INT TERM
trap '"$PY" -B -m triagetest.stack reap --pgid-file "$pgids"; rm -f "$pgids" "$pgids.tmp"' EXIT
rc=0
wait "$py" || rc=$?
while kill -0 "$py" 2>/dev/null; do  # a trapped signal ends `wait` early
  wait "$py" || rc=$?
done
exit "$rc"

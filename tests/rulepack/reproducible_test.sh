#!/usr/bin/env bash
# The committed rule pack is exactly what triage_rulegen makes of rules/catalog/
# and runbooks/, and docs/metrics.md what it makes of the metric contract:
# generates twice into a temporary directory, checks that both runs
# wrote the same bytes, then compares them with alerts/ and tests/rules/.
# Usage (CTest, repo root as working directory): bash reproducible_test.sh RULEGEN_BIN
set -euo pipefail

RULEGEN_BIN=${1:?usage: reproducible_test.sh RULEGEN_BIN}
REGENERATE="$RULEGEN_BIN generate --catalog rules/catalog --runbooks runbooks --out alerts --tests tests/rules"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rulepack-reproducible.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

for run in a b; do
  if ! "$RULEGEN_BIN" generate --catalog rules/catalog --runbooks runbooks \
         --out "$tmp/$run/alerts" --tests "$tmp/$run/tests/rules" 2>"$tmp/$run.err"; then
    echo "FAIL  triage_rulegen generate (run $run):"
    sed 's/^/        /' "$tmp/$run.err"
    exit 1
  fi
done

if ! diff -ru "$tmp/a" "$tmp/b" >"$tmp/runs.diff"; then
  echo "FAIL  two runs of triage_rulegen generate wrote different files:"
  sed 's/^/        /' "$tmp/runs.diff" | head -n 60
  exit 1
fi
echo "ok    two runs of triage_rulegen generate wrote the same bytes"

status=0
for dir in alerts tests/rules; do
  if [ ! -d "$dir" ]; then
    echo "FAIL  $dir/ does not exist"
    status=1
  elif diff -ru "$dir" "$tmp/a/$dir" >"$tmp/committed.diff"; then
    echo "ok    $dir/ matches the generator's output"
  else
    echo "FAIL  $dir/ differs from the generator's output (- committed, + generated):"
    sed 's/^/        /' "$tmp/committed.diff" | head -n 80
    status=1
  fi
done
# docs/metrics.md is the metric reference written from the metric contract.
"$RULEGEN_BIN" metrics-reference --out "$tmp/metrics.md"
if diff -u docs/metrics.md "$tmp/metrics.md" >"$tmp/metrics.diff"; then
  echo "ok    docs/metrics.md matches the generator's output"
else
  echo "FAIL  docs/metrics.md differs from the generator's output (- committed, + generated):"
  sed 's/^/        /' "$tmp/metrics.diff" | head -n 60
  echo "      regenerate with: $RULEGEN_BIN metrics-reference --out docs/metrics.md"
  status=1
fi
if [ "$status" -ne 0 ]; then
  echo
  echo "alerts/ and tests/rules/ are generated; never edit them by hand. Regenerate with:"
  echo "  $REGENERATE"
fi
exit "$status"

#!/usr/bin/env bash
# Structural checks of the Grafana dashboards (dashboards/*.json):
#   1. scripts/gen_dashboards.py --check: the committed JSON is what the
#      generator writes from alerts/index.json (runbook links up to date);
#   2. tests/dashboards/lint_dashboards.py passes on dashboards/ (rules in the
#      header of that file: dashboard-linter's datasource, title/description,
#      units, $__rate_interval and PromQL rules, the metric contract, unique
#      ids, gridPos, variables, runbook links);
#   3. on broken copies in a temporary directory, one per mutation of
#      break_dashboards.py, the lint exits 1 and names the broken rule;
#   4. the generator's --check fails on a modified copy, and on the repository's
#      dashboards when alerts/index.json gains an alert.
# Usage (CTest, repo root as working directory): bash lint_test.sh [BUILD_DIR]
# Prints PASS/FAIL per check and "N passed, N failed"; exits 1 on any failure.
set -uo pipefail

BUILD=${1:-build}
: "$BUILD"   # not needed: everything here is Python and promtool
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE="$ROOT/tests/dashboards"
GEN="$ROOT/scripts/gen_dashboards.py"
LINT="$HERE/lint_dashboards.py"
BREAK="$HERE/break_dashboards.py"

PY=""
for c in /usr/bin/python3 python3; do
  if command -v "$c" >/dev/null 2>&1; then PY=$(command -v "$c"); break; fi
done
if [ -z "$PY" ] || ! command -v promtool >/dev/null 2>&1; then
  echo "lint: needs python3 and promtool (scripts/install-deps.sh)"
  echo "0 passed, 1 failed"
  exit 1
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/triage_dash_lint.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
passed=0
failed=0
pass() { echo "PASS: $1"; passed=$((passed + 1)); }
fail() {
  echo "FAIL: $1"
  failed=$((failed + 1))
  if [ $# -gt 1 ] && [ -n "$2" ]; then printf '%s\n' "$2" | head -n 40 | sed 's/^/    /'; fi
}

# 1. Generated output up to date.
if out=$("$PY" "$GEN" --check 2>&1); then
  pass "dashboards are the generator's output for alerts/index.json"
else
  fail "dashboards are the generator's output for alerts/index.json" "$out"
fi

# 2. The lint passes on the repository's dashboards.
out=$("$PY" "$LINT" --root "$ROOT" 2>&1)
rc=$?
if [ $rc -eq 0 ]; then
  pass "lint: $(tail -n 1 <<<"$out")"
else
  fail "lint passes on dashboards/ (exit $rc)" "$out"
fi

# 3. Each broken copy fails the lint, naming the rule.
while read -r mutation rule; do
  dir="$TMP/$mutation"
  mkdir -p "$dir"
  cp "$ROOT"/dashboards/*.json "$dir/"
  if ! err=$("$PY" "$BREAK" "$mutation" "$dir" 2>&1); then
    fail "mutation $mutation applies" "$err"
    continue
  fi
  out=$("$PY" "$LINT" --root "$ROOT" --dashboards "$dir" 2>&1)
  rc=$?
  hit=$(grep -m 1 "^violation: .*: $rule: " <<<"$out")
  if [ $rc -eq 1 ] && [ -n "$hit" ]; then
    pass "broken copy '$mutation' fails: ${hit#violation: }"
  else
    fail "broken copy '$mutation' fails with rule $rule (exit $rc)" "$out"
  fi
done < <("$PY" "$BREAK" --list)

# 4. The generator notices stale files, and a new alert in the index.
mkdir -p "$TMP/stale"
cp "$ROOT"/dashboards/*.json "$TMP/stale/"
"$PY" "$BREAK" stale-runbook-anchor "$TMP/stale" >/dev/null 2>&1
out=$("$PY" "$GEN" --check --out "$TMP/stale" 2>&1)
if [ $? -eq 1 ] && grep -q '^stale: .*triage-service.json' <<<"$out"; then
  pass "gen_dashboards.py --check reports a modified copy as stale"
else
  fail "gen_dashboards.py --check reports a modified copy as stale" "$out"
fi
"$PY" - "$ROOT/alerts/index.json" "$TMP/index.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["alerts"].append({"name": "TriageSomethingNew", "layer": "traffic", "metrics": [],
                    "runbook": {"file": "http-status.md", "anchor": "triagesomethingnew"},
                    "severities": ["warning"]})
json.dump(d, open(sys.argv[2], "w"))
EOF
out=$("$PY" "$GEN" --check --index "$TMP/index.json" 2>&1)
if [ $? -eq 1 ] && grep -q '^stale: ' <<<"$out"; then
  pass "gen_dashboards.py --check reports the dashboards stale when alerts/index.json gains an alert"
else
  fail "gen_dashboards.py --check reports the dashboards stale when alerts/index.json gains an alert" "$out"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

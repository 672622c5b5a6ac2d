#!/usr/bin/env bash
# Checks the generated Prometheus rule pack with promtool (Debian's prometheus, 2.42):
#   - `promtool check rules` on alerts/triage.rules.yaml (duplicate rules are fatal);
#   - alerts/triage.prometheusrule.yaml is a monitoring.coreos.com/v1 PrometheusRule
#     whose spec.groups equal the rule file's groups, and that spec passes
#     `promtool check rules` once written out as a plain rule file;
#   - tests/rules/ holds *.test.yaml files, each loading alerts/triage.rules.yaml,
#     and every alert of the rule file is named by at least one alert_rule_test;
#   - `promtool test rules` passes for every file in tests/rules/.
# Usage (CTest, repo root as working directory): bash promtool_test.sh [RULEGEN_BIN]
set -euo pipefail

RULEGEN_BIN=${1:-}   # not needed: the generated files are read from alerts/ and tests/rules/
: "$RULEGEN_BIN"
RULES=alerts/triage.rules.yaml
PROMRULE=alerts/triage.prometheusrule.yaml
TESTS_DIR=tests/rules
T0=$(date +%s%N)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rulepack-promtool.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
results="$tmp/results.tsv"
: >"$results"

elapsed_ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
row() {  # row ok|FAIL NAME [DETAIL] [MS]
  printf '%s\t%s\t%s\t%s\n' "$1" "$2" "${3:-}" "${4:-}" >>"$results"
  if [ "$1" = ok ]; then echo "ok    $2"; else echo "FAIL  $2${3:+: $3}"; fi
}
indent() { sed 's/^/        /'; }
finish() {
  local passed failed
  echo
  echo "== promtool rule pack checks =="
  awk -F'\t' '{ printf "  %-4s  %-72s %s\n", $1, $2, ($4 != "" ? $4 " ms" : "") }' "$results"
  passed=$(awk -F'\t' '$1 == "ok"' "$results" | wc -l)
  failed=$(awk -F'\t' '$1 != "ok"' "$results" | wc -l)
  echo "total $(elapsed_ms "$T0") ms"
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
}

# --- preflight ------------------------------------------------------------------
PY=""
for c in /usr/bin/python3 python3; do
  if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import yaml' 2>/dev/null; then PY=$(command -v "$c"); break; fi
done
pre_ok=1
command -v promtool >/dev/null 2>&1 || { row FAIL "preflight: promtool" "install prometheus (scripts/install-deps.sh)"; pre_ok=0; }
[ -n "$PY" ] || { row FAIL "preflight: python3 with the yaml module" "install python3-yaml (scripts/install-deps.sh)"; pre_ok=0; }
for f in "$RULES" "$PROMRULE"; do
  [ -f "$f" ] || { row FAIL "preflight: $f exists" "missing (run triage_rulegen generate; working directory: $PWD)"; pre_ok=0; }
done
shopt -s nullglob
test_files=("$TESTS_DIR"/*.test.yaml)
shopt -u nullglob
if [ "${#test_files[@]}" -eq 0 ]; then
  row FAIL "preflight: $TESTS_DIR/ has *.test.yaml files" "none found (run triage_rulegen generate --tests $TESTS_DIR)"
  pre_ok=0
fi
if [ "$pre_ok" = 0 ]; then finish; exit 1; fi
echo "$(promtool --version 2>&1 | head -n1); python: $PY; ${#test_files[@]} test files"

# --- promtool check rules ------------------------------------------------------------
t=$(date +%s%N)
if out=$(promtool check rules --lint=duplicate-rules --lint-fatal "$RULES" 2>&1); then
  row ok "promtool check rules $RULES ($(echo "$out" | grep -o '[0-9]* rules found' | head -n1))" "" "$(elapsed_ms "$t")"
else
  row FAIL "promtool check rules $RULES" "" "$(elapsed_ms "$t")"; echo "$out" | indent
fi

# --- PrometheusRule: same groups as the rule file --------------------------------------
t=$(date +%s%N)
if out=$("$PY" - "$RULES" "$PROMRULE" "$tmp/prometheusrule.spec.yaml" 2>&1 <<'PYEOF'
import sys
import yaml

rules_path, cr_path, out_path = sys.argv[1:4]
rules = yaml.safe_load(open(rules_path, encoding="utf-8")) or {}
docs = [d for d in yaml.safe_load_all(open(cr_path, encoding="utf-8")) if d is not None]
problems = []
if len(docs) != 1:
    problems.append("%s holds %d YAML documents, want 1" % (cr_path, len(docs)))
cr = docs[0] if docs else {}
if cr.get("apiVersion") != "monitoring.coreos.com/v1":
    problems.append("apiVersion is %r" % cr.get("apiVersion"))
if cr.get("kind") != "PrometheusRule":
    problems.append("kind is %r" % cr.get("kind"))
if not (cr.get("metadata") or {}).get("name"):
    problems.append("metadata.name is missing")
spec = cr.get("spec") or {}
if set(spec) != {"groups"}:
    problems.append("spec keys are %s, want only groups" % sorted(spec))
want, got = rules.get("groups") or [], spec.get("groups") or []
if got != want:
    wn, gn = [g.get("name") for g in want], [g.get("name") for g in got]
    if wn != gn:
        problems.append("group names differ: rule file %s, PrometheusRule %s" % (wn, gn))
    else:
        for w, g in zip(want, got):
            if w != g:
                wr, gr = w.get("rules") or [], g.get("rules") or []
                for i, (a, b) in enumerate(zip(wr, gr)):
                    if a != b:
                        problems.append("group %s rule %d (%s) differs" % (w.get("name"), i + 1, a.get("alert") or a.get("record")))
                        break
                else:
                    problems.append("group %s differs (%d vs %d rules, or group fields)" % (w.get("name"), len(wr), len(gr)))
with open(out_path, "w", encoding="utf-8") as f:
    yaml.safe_dump({"groups": got}, f, sort_keys=False)
print("%d groups" % len(got))
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
PYEOF
); then
  row ok "$PROMRULE: PrometheusRule, spec.groups equal $RULES ($out)" "" "$(elapsed_ms "$t")"
else
  row FAIL "$PROMRULE: PrometheusRule, spec.groups equal $RULES" "" "$(elapsed_ms "$t")"; echo "$out" | indent
fi
t=$(date +%s%N)
if [ -s "$tmp/prometheusrule.spec.yaml" ] && out=$(promtool check rules --lint=duplicate-rules --lint-fatal "$tmp/prometheusrule.spec.yaml" 2>&1); then
  row ok "promtool check rules on the PrometheusRule's spec" "" "$(elapsed_ms "$t")"
else
  row FAIL "promtool check rules on the PrometheusRule's spec" "" "$(elapsed_ms "$t")"; echo "${out:-spec not extracted}" | indent
fi

# --- the unit tests load the generated rules and name every alert -----------------------
t=$(date +%s%N)
if out=$("$PY" - "$RULES" "${test_files[@]}" 2>&1 <<'PYEOF'
import os
import sys
import yaml

rules_path, tests = sys.argv[1], sys.argv[2:]
target = os.path.realpath(rules_path)
alerts = []
for g in (yaml.safe_load(open(rules_path, encoding="utf-8")) or {}).get("groups") or []:
    for r in g.get("rules") or []:
        if "alert" in r and r["alert"] not in alerts:
            alerts.append(r["alert"])
tested, problems = set(), []
for path in tests:
    doc = yaml.safe_load(open(path, encoding="utf-8")) or {}
    files = [os.path.realpath(os.path.join(os.path.dirname(path), f)) for f in doc.get("rule_files") or []]
    if target not in files:
        problems.append("%s: rule_files %s do not load %s" % (path, doc.get("rule_files"), rules_path))
    if not doc.get("tests"):
        problems.append("%s: no tests" % path)
    for t in doc.get("tests") or []:
        for a in t.get("alert_rule_test") or []:
            if isinstance(a, dict) and a.get("alertname"):
                tested.add(str(a["alertname"]))
            else:
                problems.append("%s: test %r has an alert_rule_test without alertname" % (path, t.get("name")))
untested = [a for a in alerts if a not in tested]
if untested:
    problems.append("alerts without an alert_rule_test: " + ", ".join(untested))
unknown = sorted(a for a in tested if a not in alerts)
if unknown:
    problems.append("alert_rule_test names alerts not in %s: %s" % (rules_path, ", ".join(unknown)))
print("%d alerts, all tested" % len(alerts) if not problems else "%d alerts" % len(alerts))
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
PYEOF
); then
  row ok "$TESTS_DIR: every test file loads $RULES; $out" "" "$(elapsed_ms "$t")"
else
  row FAIL "$TESTS_DIR: test files load $RULES and cover every alert" "" "$(elapsed_ms "$t")"; echo "$out" | indent
fi

# --- promtool test rules, one file at a time ------------------------------------------
for f in "${test_files[@]}"; do
  t=$(date +%s%N)
  if out=$(timeout 120 promtool test rules "$f" 2>&1); then
    row ok "promtool test rules $f" "" "$(elapsed_ms "$t")"
  else
    rc=$?
    row FAIL "promtool test rules $f" "exit $rc$([ "$rc" = 124 ] && echo ', timed out after 120 s')" "$(elapsed_ms "$t")"
    echo "$out" | indent
  fi
done

finish

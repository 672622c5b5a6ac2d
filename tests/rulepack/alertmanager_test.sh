#!/usr/bin/env bash
# Checks the generated Alertmanager files against a real Alertmanager (Debian's
# prometheus-alertmanager, 0.25):
#   a. routes.example.yaml + inhibit.yaml, concatenated, pass `amtool check-config`,
#      and the example tree sends critical/warning/info to pager/ticket/null;
#   b. Alertmanager runs on 127.0.0.1 with the generated inhibit rules and a test
#      route tree whose only receiver is tests/tools/webhook_recorder.py;
#   c. for every inhibit rule read from inhibit.yaml: a critical alert of layer L
#      inhibits the alerts of each target layer for the same service only (API v2
#      status.inhibitedBy, and `amtool alert query --inhibited`), leaves other
#      layers and other services alone, a warning of layer L inhibits nothing, no
#      notification leaves for an inhibited alert, and once the source resolves the
#      targets turn active and their notifications reach the webhook.
# Usage (CTest, repo root as working directory): bash alertmanager_test.sh [RULEGEN_BIN]
# Environment: TRIAGE_AM_TEST_PORT (default 19093), KEEP_TMP=1 keeps the temp dir.
set -euo pipefail

RULEGEN_BIN=${1:-}   # not needed: the generated files are read from alerts/
: "$RULEGEN_BIN"
AM_PORT=${TRIAGE_AM_TEST_PORT:-19093}
AM_URL="http://127.0.0.1:$AM_PORT"
INHIBIT=alerts/alertmanager/inhibit.yaml
ROUTES=alerts/alertmanager/routes.example.yaml
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RECORDER="$HERE/../tools/webhook_recorder.py"
WAIT_S=15            # deadline of every wait for Alertmanager to reach a state
T0=$(date +%s%N)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rulepack-am.XXXXXX")
results="$tmp/results.tsv"
: >"$results"
am_pid=""
rec_pid=""

log() { printf '[%6.1fs] %s\n' "$(( ($(date +%s%N) - T0) / 1000000 ))e-3" "$*"; }

stop_pid() {  # stop_pid PID NAME: TERM, wait up to 5 s, then KILL
  local pid=$1 name=$2 _
  [ -n "$pid" ] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "$name (pid $pid) ignored SIGTERM, killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  stop_pid "$am_pid" alertmanager
  stop_pid "$rec_pid" webhook_recorder
  if [ "${KEEP_TMP:-0}" = 1 ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

row() {  # row ok|FAIL NAME [DETAIL]
  printf '%s\t%s\t%s\n' "$1" "$2" "${3:-}" >>"$results"
  if [ "$1" = ok ]; then log "ok    $2"; else log "FAIL  $2${3:+: $3}"; fi
}

finish() {
  local passed failed
  echo
  echo "== Alertmanager rule pack checks =="
  awk -F'\t' '{ printf "  %-4s  %s\n", $1, $2; if ($1 != "ok" && $3 != "") printf "        %s\n", $3 }' "$results"
  passed=$(awk -F'\t' '$1 == "ok"' "$results" | wc -l)
  failed=$(awk -F'\t' '$1 != "ok"' "$results" | wc -l)
  if [ "$failed" -gt 0 ] && [ -s "$tmp/alertmanager.log" ]; then
    echo; echo "-- last lines of the Alertmanager log --"; tail -n 20 "$tmp/alertmanager.log"
  fi
  echo
  log "done"
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
}

# wait_until SECONDS CMD...: runs CMD every 0.25 s until it succeeds or time is up.
wait_until() {
  local deadline=$(( $(date +%s%N) + $1 * 1000000000 )); shift
  while :; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    [ "$(date +%s%N)" -lt "$deadline" ] || return 1
    sleep 0.25
  done
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# --- preflight ----------------------------------------------------------------
PY=""
for c in /usr/bin/python3 python3; do
  if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import yaml' 2>/dev/null; then PY=$(command -v "$c"); break; fi
done
AM_BIN=$(command -v alertmanager || command -v prometheus-alertmanager || true)
if [ -z "$AM_BIN" ] && command -v dpkg >/dev/null 2>&1; then
  AM_BIN=$(dpkg -L prometheus-alertmanager 2>/dev/null | grep -E '/bin/(prometheus-)?alertmanager$' | head -n1 || true)
fi
pre_ok=1
need() { if [ -z "$2" ]; then row FAIL "preflight: $1" "$3"; pre_ok=0; fi; }
need "python3 with the yaml module" "$PY" "install python3-yaml (scripts/install-deps.sh)"
need "alertmanager binary" "$AM_BIN" "install prometheus-alertmanager (scripts/install-deps.sh)"
need "amtool" "$(command -v amtool || true)" "install prometheus-alertmanager (scripts/install-deps.sh)"
need "curl" "$(command -v curl || true)" "install curl"
for f in "$INHIBIT" "$ROUTES" "$RECORDER"; do
  [ -f "$f" ] || { row FAIL "preflight: $f exists" "missing (run triage_rulegen generate; working directory: $PWD)"; pre_ok=0; }
done
if [ "$pre_ok" = 0 ]; then finish; exit 1; fi
log "alertmanager: $AM_BIN ($("$AM_BIN" --version 2>&1 | head -n1))"
log "python: $PY; temp dir: $tmp"

helper="$tmp/rulepack_am.py"
cat >"$helper" <<'PYEOF'
"""Plans the inhibition cases from inhibit.yaml and judges Alertmanager's answers."""
import datetime
import json
import re
import sys

import yaml

MATCHER = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$')
LAYER_NAME = re.compile(r'^[A-Za-z0-9_-]+$')


def parse_matcher(text):
    m = MATCHER.match(str(text))
    if not m:
        raise ValueError("cannot parse matcher %r" % text)
    name, op, value = m.groups()
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        value = json.loads(value)
    return name, op, value


def matchers(rule, side):
    out = [parse_matcher(t) for t in rule.get(side + "_matchers") or []]
    out += [(k, "=", str(v)) for k, v in (rule.get(side + "_match") or {}).items()]
    out += [(k, "=~", str(v)) for k, v in (rule.get(side + "_match_re") or {}).items()]
    return out


def regex_alternatives(rx):
    rx = rx.strip()
    if rx.startswith("^"):
        rx = rx[1:]
    if rx.endswith("$"):
        rx = rx[:-1]
    if rx.startswith("(") and rx.endswith(")"):
        rx = rx[1:-1]
    alts = rx.split("|")
    if not all(LAYER_NAME.match(a) for a in alts):
        raise ValueError("layer regex %r is not a plain list of layer names" % rx)
    return alts


def row(report, ok, name, detail=""):
    with open(report, "a", encoding="utf-8") as f:
        f.write("%s\t%s\t%s\n" % ("ok" if ok else "FAIL", name, detail.replace("\t", " ").replace("\n", " ")))


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (dt.microsecond // 1000)


def now():
    return datetime.datetime.now(datetime.timezone.utc)


# ---------------------------------------------------------------- plan
def cmd_plan(inhibit_path, plan_path, fire_path, report):
    doc = yaml.safe_load(open(inhibit_path, encoding="utf-8")) or {}
    rules = doc.get("inhibit_rules") if isinstance(doc, dict) else None
    if not rules:
        row(report, False, "inhibit.yaml: has inhibit_rules", "no inhibit_rules list in %s" % inhibit_path)
        return 2
    parsed, problems = [], {"critical": [], "equal": [], "shape": []}
    for i, r in enumerate(rules):
        try:
            src, tgt = matchers(r, "source"), matchers(r, "target")
        except ValueError as e:
            row(report, False, "inhibit.yaml: rule %d parses" % (i + 1), str(e))
            return 2
        if ("severity", "=", "critical") not in src:
            problems["critical"].append("rule %d source %s" % (i + 1, src))
        if list(r.get("equal") or []) != ["cluster", "service"]:
            problems["equal"].append("rule %d equal %s" % (i + 1, r.get("equal")))
        src_layers = [v for (n, op, v) in src if n == "layer" and op == "="]
        extra = [m for m in src if m[0] not in ("layer", "severity")]
        tgt_layer = [m for m in tgt if m[0] == "layer" and m[1] in ("=", "=~")]
        tgt_extra = [m for m in tgt if m not in tgt_layer]
        if len(src_layers) != 1 or len(tgt_layer) != 1 or extra or tgt_extra:
            row(report, False, "inhibit.yaml: rule %d is layer -> layers" % (i + 1),
                "want one source layer=\"L\" (+ severity) and one target layer matcher, got %s -> %s" % (src, tgt))
            return 2
        n, op, v = tgt_layer[0]
        try:
            targets = [v] if op == "=" else regex_alternatives(v)
        except ValueError as e:
            row(report, False, "inhibit.yaml: rule %d target layers" % (i + 1), str(e))
            return 2
        parsed.append({"source": src_layers[0], "targets": targets})

    row(report, not problems["critical"], "inhibit.yaml: only critical alerts inhibit (%d rules)" % len(parsed),
        "; ".join(problems["critical"]))
    row(report, not problems["equal"], "inhibit.yaml: every rule has equal: [cluster, service]", "; ".join(problems["equal"]))
    # The chain is read from the file: source layers in order, then what the last rule adds.
    chain = [p["source"] for p in parsed]
    chain += [t for t in parsed[-1]["targets"] if t not in chain]
    bad = ["%s inhibits %s, want %s" % (p["source"], p["targets"], chain[k + 1:])
           for k, p in enumerate(parsed) if p["targets"] != chain[k + 1:]]
    dup = len(set(chain)) != len(chain)
    # Every layer but the top one must inhibit something (catches a dropped rule).
    bad += ["%s inhibits nothing" % l for l in chain[:-1] if l not in [p["source"] for p in parsed]]
    row(report, not bad and not dup, "inhibit.yaml: each layer inhibits every layer above it (%s)" % " -> ".join(chain),
        "; ".join(bad) + (" duplicate layers" if dup else ""))

    universe = list(dict.fromkeys(chain + [t for p in parsed for t in p["targets"]]))
    cases, fire = [], []

    # No startsAt: Alertmanager stamps the time of receipt. An alert that started
    # more than group_wait ago makes its new group flush at once, which can beat
    # the inhibitor to a source that arrived in the same request (0.25 leaks a
    # notification for the target then); here every group waits group_wait.
    def alert(name, sev, layer, service, cluster="a"):
        labels = {"alertname": name, "severity": sev, "layer": layer, "service": service,
                  "cluster": cluster}
        fire.append({"labels": labels,
                     "annotations": {"summary": "rule pack inhibition test alert."},
                     "generatorURL": "http://127.0.0.1/rulepack-test"})
        return [name, service, cluster]

    for k, p in enumerate(parsed):
        L, T = p["source"], p["targets"]
        base = "rp%d-%s" % (k + 1, L)
        same, other, warn = base + "-same", base + "-other", base + "-warn"
        c = {"label": "%s -> %s" % (L, "|".join(T)), "source_layer": L,
             "source": alert("RulepackSource_%s" % L, "critical", L, same),
             "same_targets": [alert("RulepackTarget_%s" % t, "warning", t, same) for t in T],
             "other_targets": [alert("RulepackTarget_%s" % t, "warning", t, other) for t in T],
             # the same service name in another cluster behind the same Alertmanager
             "cluster_targets": [alert("RulepackTarget_%s" % t, "warning", t, same, "b") for t in T],
             "bystanders": [alert("RulepackBystander_%s" % b, "warning", b, same) for b in universe if b not in T],
             "warn_source": alert("RulepackWarnSource_%s" % L, "warning", L, warn),
             "warn_targets": [alert("RulepackTarget_%s" % t, "warning", t, warn) for t in T]}
        cases.append(c)
    json.dump({"cases": cases, "fire": fire}, open(plan_path, "w"), indent=1)
    json.dump(fire, open(fire_path, "w"))
    print("%d inhibit rules, %d alerts to post" % (len(cases), len(fire)))
    return 0


def load_plan(path):
    return json.load(open(path, encoding="utf-8"))


def by_key(alerts):
    out = {}
    for a in alerts or []:
        lab = a.get("labels", {})
        out[(lab.get("alertname"), lab.get("service"), lab.get("cluster"))] = a
    return out


def fmt(key):
    return "%s{service=%s,cluster=%s}" % tuple(key)


def state_problems(index, keys, want_inhibited_by=None, absent_ok=False):
    """want_inhibited_by: None -> want active and not inhibited; FP -> suppressed by exactly FP."""
    bad = []
    for k in keys:
        a = index.get(tuple(k))
        if a is None:
            if not absent_ok:
                bad.append("%s missing from the API" % fmt(k))
            continue
        st = a.get("status", {})
        by = st.get("inhibitedBy") or []
        if want_inhibited_by is None:
            if st.get("state") != "active" or by:
                bad.append("%s is %s, inhibitedBy %s (want active)" % (fmt(k), st.get("state"), by))
        elif st.get("state") != "suppressed" or by != [want_inhibited_by]:
            bad.append("%s is %s, inhibitedBy %s (want suppressed by %s)" % (fmt(k), st.get("state"), by, want_inhibited_by))
    return bad


# ---------------------------------------------------------------- firing phase
def cmd_firing(plan_path, alerts_path, report=None):
    plan, index = load_plan(plan_path), by_key(json.load(open(alerts_path)))
    all_ok = True
    for c in plan["cases"]:
        src = index.get(tuple(c["source"]))
        fp = src.get("fingerprint") if src else None
        checks = [
            ("%s: critical %s alert inhibits the same service's %s" % (c["label"], c["source_layer"], "|".join(t[0].split("_", 1)[1] for t in c["same_targets"])),
             (["source %s missing from the API" % fmt(c["source"])] if fp is None else [])
             + state_problems(index, [c["source"]]) + (state_problems(index, c["same_targets"], fp) if fp else [])),
            ("%s: same service, other layers stay active" % c["label"],
             state_problems(index, c["bystanders"])),
            ("%s: another service's alerts stay active" % c["label"],
             state_problems(index, c["other_targets"])),
            ("%s: the same service in another cluster stays active" % c["label"],
             state_problems(index, c["cluster_targets"])),
            ("%s: a warning %s alert inhibits nothing" % (c["label"], c["source_layer"]),
             state_problems(index, [c["warn_source"]] + c["warn_targets"])),
        ]
        for name, bad in checks:
            all_ok &= not bad
            if report:
                row(report, not bad, "API: " + name, "; ".join(bad))
    return 0 if all_ok else 1


def cmd_amtool(plan_path, amtool_path, report):
    plan = load_plan(plan_path)
    got = set(by_key(json.load(open(amtool_path))).keys())
    all_ok = True
    for c in plan["cases"]:
        services = {c["source"][1], c["other_targets"][0][1] if c["other_targets"] else None, c["warn_source"][1]}
        mine = {k for k in got if k[1] in services}
        want = {tuple(k) for k in c["same_targets"]}
        bad = ["unexpected %s" % fmt(k) for k in sorted(mine - want)] + ["missing %s" % fmt(k) for k in sorted(want - mine)]
        all_ok &= not bad
        row(report, not bad, "amtool: %s: --inhibited lists exactly the same-service targets" % c["label"], "; ".join(bad))
    foreign = sorted(k for k in got if not any(k[1].startswith("rp%d-" % (i + 1)) for i in range(len(plan["cases"]))))
    if foreign:
        row(report, False, "amtool: no inhibited alert outside the cases", ", ".join(fmt(k) for k in foreign))
        all_ok = False
    return 0 if all_ok else 1


# ---------------------------------------------------------------- notifications
def notified(notifs_path, status="firing"):
    seen = set()
    for n in json.load(open(notifs_path)):
        if not isinstance(n, dict):
            continue
        for a in n.get("alerts") or []:
            lab = a.get("labels", {})
            if a.get("status") == status:
                seen.add((lab.get("alertname"), lab.get("service"), lab.get("cluster")))
    return seen


def active_keys(c):
    return ([c["source"]] + c["bystanders"] + c["other_targets"] + c["cluster_targets"] +
            [c["warn_source"]] + c["warn_targets"])


def cmd_active_notified(plan_path, notifs_path, report=None):
    plan, seen = load_plan(plan_path), notified(notifs_path)
    all_ok = True
    for c in plan["cases"]:
        missing = [fmt(k) for k in active_keys(c) if tuple(k) not in seen]
        all_ok &= not missing
        if report:
            row(report, not missing, "webhook: %s: the active alerts are notified" % c["label"], "not notified: " + ", ".join(missing) if missing else "")
    return 0 if all_ok else 1


def cmd_inhibited_silent(plan_path, notifs_path, report):
    plan, seen = load_plan(plan_path), notified(notifs_path)
    all_ok = True
    for c in plan["cases"]:
        leaked = [fmt(k) for k in c["same_targets"] if tuple(k) in seen]
        all_ok &= not leaked
        row(report, not leaked, "webhook: %s: no notification for the inhibited alerts" % c["label"], "notified while inhibited: " + ", ".join(leaked) if leaked else "")
    return 0 if all_ok else 1


# ---------------------------------------------------------------- release phase
def cmd_resolve(plan_path, out_path):
    plan = load_plan(plan_path)
    wanted = {tuple(c["source"]) for c in plan["cases"]}
    end = iso(now() - datetime.timedelta(seconds=1))
    out = []
    for a in plan["fire"]:
        if (a["labels"]["alertname"], a["labels"]["service"], a["labels"]["cluster"]) in wanted:
            b = dict(a)
            b["endsAt"] = end  # startsAt left out: the API takes endsAt, the merge keeps the first start
            out.append(b)
    json.dump(out, open(out_path, "w"))
    return 0


def cmd_released(plan_path, alerts_path, report=None):
    plan, index = load_plan(plan_path), by_key(json.load(open(alerts_path)))
    all_ok = True
    for c in plan["cases"]:
        bad = state_problems(index, c["same_targets"])
        src = index.get(tuple(c["source"]))
        if src is not None:
            bad.append("source %s still listed (state %s, endsAt %s)" % (fmt(c["source"]), src.get("status", {}).get("state"), src.get("endsAt")))
        all_ok &= not bad
        if report:
            row(report, not bad, "API: %s: resolving the source releases the targets" % c["label"], "; ".join(bad))
    return 0 if all_ok else 1


def cmd_released_notified(plan_path, notifs_path, report=None):
    plan, seen = load_plan(plan_path), notified(notifs_path)
    all_ok = True
    for c in plan["cases"]:
        missing = [fmt(k) for k in c["same_targets"] if tuple(k) not in seen]
        all_ok &= not missing
        if report:
            row(report, not missing, "webhook: %s: released targets are notified" % c["label"], "not notified: " + ", ".join(missing) if missing else "")
    return 0 if all_ok else 1


# ---------------------------------------------------------------- routes
def cmd_receiver_integrations(routes_path, receiver):
    doc = yaml.safe_load(open(routes_path, encoding="utf-8")) or {}
    for r in doc.get("receivers") or []:
        if r.get("name") == receiver:
            return 1 if [k for k in r if k.endswith("_configs") and r[k]] else 0
    return 2


def main(argv):
    cmd, args = argv[1], argv[2:]
    report = None
    if "--report" in args:
        i = args.index("--report")
        report = args[i + 1]
        del args[i:i + 2]
    table = {"plan": cmd_plan, "firing": cmd_firing, "amtool": cmd_amtool,
             "active-notified": cmd_active_notified, "inhibited-silent": cmd_inhibited_silent,
             "resolve": cmd_resolve, "released": cmd_released, "released-notified": cmd_released_notified,
             "receiver-has-no-integrations": cmd_receiver_integrations}
    return table[cmd](*args, **({"report": report} if report else {}))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
PYEOF
py() { "$PY" "$helper" "$@"; }

# --- a. the example configuration ------------------------------------------------
example="$tmp/example.alertmanager.yml"
cat "$ROUTES" "$INHIBIT" >"$example"
example_ok=0
if out=$(HOME="$tmp" amtool check-config "$example" 2>&1); then
  row ok "amtool check-config: routes.example.yaml + inhibit.yaml"; example_ok=1
else
  row FAIL "amtool check-config: routes.example.yaml + inhibit.yaml" "$(echo "$out" | tr '\n' ' ')"
fi
[ "$example_ok" = 1 ] && for pair in critical:triage-pager warning:triage-ticket info:triage-null; do
  sev=${pair%%:*}; want=${pair#*:}
  got=$(HOME="$tmp" amtool config routes test --config.file="$example" \
        alertname=TriageRulepackProbe "severity=$sev" layer=liveness service=svc 2>/dev/null || true)
  if [ "$got" = "$want" ]; then row ok "routes.example.yaml: severity=$sev goes to $want"
  else row FAIL "routes.example.yaml: severity=$sev goes to $want" "amtool routes test says '${got}'"; fi
done
if py receiver-has-no-integrations "$ROUTES" triage-null; then
  row ok "routes.example.yaml: triage-null has no integrations"
else
  row FAIL "routes.example.yaml: triage-null has no integrations" "receiver missing or has *_configs"
fi

# --- plan the inhibition cases from inhibit.yaml ---------------------------------------
if ! plan_out=$(py plan "$INHIBIT" "$tmp/plan.json" "$tmp/fire.json" --report "$results"); then
  row FAIL "inhibit.yaml: cases can be planned" "see above; Alertmanager not started"
  finish; exit 1
fi
log "plan: $plan_out"

# --- b. recorder and Alertmanager --------------------------------------------------
if port_in_use "$AM_PORT"; then
  row FAIL "preflight: 127.0.0.1:$AM_PORT is free" "something already listens there; stop it or set TRIAGE_AM_TEST_PORT"
  finish; exit 1
fi
"$PY" "$RECORDER" --port 0 --port-file "$tmp/recorder.port" --out "$tmp/notifications.jsonl" --quiet \
  >"$tmp/recorder.log" 2>&1 &
rec_pid=$!
if ! wait_until 10 test -s "$tmp/recorder.port"; then
  row FAIL "webhook recorder starts" "no port file after 10 s: $(tr '\n' ' ' <"$tmp/recorder.log")"
  finish; exit 1
fi
REC_URL="http://127.0.0.1:$(cat "$tmp/recorder.port")"
log "webhook recorder on $REC_URL (pid $rec_pid)"

config="$tmp/alertmanager.yml"
{
  cat <<EOF
# test route tree: every alert goes to the webhook recorder
route:
  receiver: recorder
  group_by: [alertname, service]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: recorder
    webhook_configs:
      - url: $REC_URL/alertmanager
        send_resolved: true
EOF
  cat "$INHIBIT"
} >"$config"
if ! out=$(HOME="$tmp" amtool check-config "$config" 2>&1); then
  row FAIL "amtool check-config: test route tree + inhibit.yaml" "$(echo "$out" | tr '\n' ' ')"
  finish; exit 1
fi

"$AM_BIN" --config.file="$config" --storage.path="$tmp/data" \
  --web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address= \
  --log.level=info >"$tmp/alertmanager.log" 2>&1 &
am_pid=$!
if wait_until 20 curl -fsS --max-time 2 "$AM_URL/-/ready" && kill -0 "$am_pid" 2>/dev/null; then
  row ok "Alertmanager starts with the generated inhibit rules ($AM_URL)"
else
  row FAIL "Alertmanager starts with the generated inhibit rules ($AM_URL)" "not ready within 20 s"
  finish; exit 1
fi

fetch_alerts() { curl -fsS --max-time 5 "$AM_URL/api/v2/alerts" -o "$tmp/alerts.json"; }
fetch_notifs() { curl -fsS --max-time 5 "$REC_URL/notifications" -o "$tmp/notifs.json"; }
api_check() { fetch_alerts && py "$1" "$tmp/plan.json" "$tmp/alerts.json"; }
hook_check() { fetch_notifs && py "$1" "$tmp/plan.json" "$tmp/notifs.json"; }
post_alerts() {  # post_alerts FILE WHAT
  local code
  code=$(curl -sS --max-time 5 -o "$tmp/post.out" -w '%{http_code}' -X POST \
         -H 'Content-Type: application/json' --data-binary "@$1" "$AM_URL/api/v2/alerts" || true)
  if [ "$code" = 200 ]; then row ok "POST /api/v2/alerts: $2"
  else row FAIL "POST /api/v2/alerts: $2" "HTTP $code $(head -c 300 "$tmp/post.out" 2>/dev/null)"; return 1; fi
}

# --- c. sources firing --------------------------------------------------------------
if ! post_alerts "$tmp/fire.json" "sources, targets, bystanders and warnings"; then finish; exit 1; fi
t=$(date +%s%N)
if wait_until "$WAIT_S" api_check firing; then
  log "inhibition state reached after $(( ($(date +%s%N) - t) / 1000000 )) ms"
else
  log "inhibition state not reached within ${WAIT_S} s"
fi
fetch_alerts || true
py firing "$tmp/plan.json" "$tmp/alerts.json" --report "$results" || true

if HOME="$tmp" amtool alert query --alertmanager.url="$AM_URL/" --timeout=10s --inhibited -o json \
     >"$tmp/amtool.json" 2>"$tmp/amtool.err"; then
  py amtool "$tmp/plan.json" "$tmp/amtool.json" --report "$results" || true
else
  row FAIL "amtool alert query --inhibited" "$(tr '\n' ' ' <"$tmp/amtool.err")"
fi

# Every active alert gets its first notification after group_wait (1 s). Once all
# of them are in, two more group intervals give an inhibited alert every chance
# to leak a notification.
t=$(date +%s%N)
if wait_until "$WAIT_S" hook_check active-notified; then
  log "every active alert notified after $(( ($(date +%s%N) - t) / 1000000 )) ms"
else
  log "not every active alert was notified within ${WAIT_S} s"
fi
sleep 2
fetch_notifs || true
py active-notified "$tmp/plan.json" "$tmp/notifs.json" --report "$results" || true
py inhibited-silent "$tmp/plan.json" "$tmp/notifs.json" --report "$results" || true

# --- c. sources resolved --------------------------------------------------------------
if py resolve "$tmp/plan.json" "$tmp/resolve.json" && post_alerts "$tmp/resolve.json" "sources resolved (endsAt in the past)"; then
  t=$(date +%s%N)
  wait_until "$WAIT_S" api_check released || log "targets not released within ${WAIT_S} s"
  fetch_alerts || true
  py released "$tmp/plan.json" "$tmp/alerts.json" --report "$results" || true
  wait_until "$WAIT_S" hook_check released-notified || log "released targets not notified within ${WAIT_S} s"
  fetch_notifs || true
  py released-notified "$tmp/plan.json" "$tmp/notifs.json" --report "$results" || true
  log "release and notification took $(( ($(date +%s%N) - t) / 1000000 )) ms"
fi

kill -0 "$am_pid" 2>/dev/null || row FAIL "Alertmanager still running at the end" "it exited; see its log"
finish

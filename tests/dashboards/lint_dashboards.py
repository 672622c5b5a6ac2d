#!/usr/bin/env python3
"""Structural checks of the Grafana dashboards in dashboards/.

Mirrors the rules of Grafana's dashboard-linter that fit a provisioned,
datasource-templated Prometheus dashboard, plus checks of this project:

  dashboard-uid               uid fixed, equal to the file name without .json
  dashboard-portable          no __inputs/__requires/__elements, id null, schemaVersion >= 36
  uneditable-dashboard-rule   editable: false (the dashboards are generated)
  dashboard-tags              tags hold triage_exporter
  dashboard-links             a link to every other dashboard of the folder, carrying variables
  template-datasource-rule    variable `datasource`, type datasource, query prometheus, label "Data source"
  template-service            variable `service` of type query: label_values(triage_probe_info, service)
  template-on-time-change-reload   every query variable refreshes on time range change (2)
  template-variable-datasource     every query variable uses ${datasource}
  template-undefined          every $variable of a query or link is defined or built in
  panel-id                    panel ids are unique integers
  panel-gridpos               gridPos set, within 24 columns, no two panels overlap
  panel-datasource-rule       every panel and target uses {"type":"prometheus","uid":"${datasource}"}
  panel-title-description-rule     every panel (but rows) has a title and a description
  panel-units-rule            every panel showing data has a valid fieldConfig.defaults.unit
  panel-data-tag              the description ends with the sentence saying what fills it
                              (read by check_queries.py)
  target-refid                every target has an expr and a unique refId
  target-rate-interval-rule   every rate/irate/increase range is [$__rate_interval]
  target-promql-rule          every expression, variables substituted, parses (promtool check rules)
  target-metric-contract      every metric name is in the exporter's contract (docs/metrics.md,
                              generated from exposition/), a recording rule of
                              alerts/triage.rules.yaml, or ALERTS
  runbook-links               the firing-alert tables map exactly the alerts of alerts/index.json
                              to their runbook file and anchor, and link through ${runbook_base:raw}

Usage: lint_dashboards.py [--dashboards DIR] [--root REPO] [--promtool PATH]
Prints one line per violation, "<file>: <where>: <rule>: <message>", and a
summary; exits 1 on any violation, 2 when it cannot run. Python 3 stdlib only.
"""

import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

DS = {"type": "prometheus", "uid": "${datasource}"}
KINDS = {"http", "readiness", "cluster", "scrape", "kubernetes_pvc", "tcp"}
PANEL_TYPES = {"row", "text", "timeseries", "state-timeline", "status-history", "table", "stat",
               "gauge", "bargauge", "barchart", "heatmap", "piechart"}
NO_DATA_TYPES = {"row", "text"}
# Unit ids of Grafana's value formats (packages/grafana-data/src/valueFormats/categories.ts)
# that suit this exporter's metrics.
UNITS = {
    "none", "string", "short", "percent", "percentunit", "sci", "locale", "bool", "bool_yes_no",
    "bool_on_off", "ns", "µs", "ms", "s", "m", "h", "d", "dtdurationms", "dtdurations", "dthms",
    "dtdhms", "clockms", "clocks", "dateTimeAsIso", "dateTimeAsIsoNoDateIfToday",
    "dateTimeAsLocal", "dateTimeAsLocalNoDateIfToday", "dateTimeAsSystem", "dateTimeFromNow",
    "hertz", "cps", "ops", "reqps", "rps", "wps", "iops", "cpm", "opm", "rpm", "wpm", "bytes",
    "decbytes", "bits", "decbits", "kbytes", "deckbytes", "mbytes", "decmbytes", "Bps", "binBps",
    "bps", "pps",
}
BUILTIN_VARS = {"__rate_interval", "__interval", "__interval_ms", "__range", "__range_s",
                "__range_ms", "__from", "__to", "__dashboard", "__org", "__user", "__name",
                "__url_time_range", "__all_variables", "__value", "__data", "__field",
                "__series", "timeFilter", "__timeFilter"}
# Values the variables take when the expressions are handed to promtool.
SUBSTITUTE = {"service": "echo", "probe": ".*", "__rate_interval": "1m", "__interval": "15s",
              "__interval_ms": "15000", "__range": "1h", "__range_s": "3600",
              "__range_ms": "3600000"}
TAG_RES = [
    ("kinds", re.compile(r"Shows data for probes of kind ([a-z_]+(?:, [a-z_]+)*)\.$")),
    ("every", re.compile(r"Shows data for every probe\.$")),
    ("exporter", re.compile(r"Shows the exporter's own metrics\.$")),
    ("alerts", re.compile(r"Shows firing alerts of the rule pack\.$")),
    ("optional", re.compile(r"May stay empty: [^.]+\.$")),
]
VAR_RE = re.compile(r"\$\{([A-Za-z0-9_.\[\]\"]+)(?::[A-Za-z]+)?\}|\$([A-Za-z0-9_]+)|\[\[([A-Za-z0-9_]+)(?::[A-Za-z]+)?\]\]")
PROMQL_KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
                   "group_left", "group_right", "inf", "nan", "atan2"}


def data_tag(description):
    """('kinds', {...}) / ('every', None) / ... or None when the sentence is missing."""
    text = (description or "").rstrip()
    for name, rx in TAG_RES:
        m = rx.search(text)
        if m:
            if name == "kinds":
                return name, set(m.group(1).split(", "))
            return name, None
    return None


def variables_used(text):
    names = []
    for m in VAR_RE.finditer(text):
        name = m.group(1) or m.group(2) or m.group(3)
        if name.isdigit():  # $1 in a label_replace replacement
            continue
        names.append(name.split(".")[0].split("[")[0])
    return names


def substitute(expr):
    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name.isdigit():
            return m.group(0)
        return SUBSTITUTE.get(name.split(":")[0], m.group(0))
    return VAR_RE.sub(repl, expr)


def strip_strings(expr):
    """Replaces string literals with "" so that nothing inside them is read as PromQL."""
    return re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)


def matching_paren(s, i):
    depth = 0
    for j in range(i, len(s)):
        if s[j] == "(":
            depth += 1
        elif s[j] == ")":
            depth -= 1
            if depth == 0:
                return j
    return -1


def rate_violations(expr):
    """Ranges inside rate/irate/increase that are not [$__rate_interval]."""
    s = strip_strings(expr)
    out = []
    for m in re.finditer(r"\b(rate|irate|increase)\s*\(", s):
        start = m.end() - 1
        end = matching_paren(s, start)
        body = s[start:end + 1] if end >= 0 else s[start:]
        ranges = re.findall(r"\[([^\]]*)\]", body)
        if not ranges:
            out.append("%s() without a range selector" % m.group(1))
        for r in ranges:
            if r.strip() != "$__rate_interval":
                out.append("%s(...[%s]) should use [$__rate_interval]" % (m.group(1), r))
    return out


def metric_names(expr):
    s = strip_strings(expr)
    s = re.sub(r"\{[^}]*\}", "{}", s)
    s = re.sub(r"\[[^\]]*\]", "", s)
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", s)
    names = set()
    for m in re.finditer(r"(?<![A-Za-z0-9_.:$])[A-Za-z_:][A-Za-z0-9_:]*", s):
        word = m.group(0)
        rest = s[m.end():].lstrip()
        if rest.startswith("("):  # a function call
            continue
        if word.lower() in PROMQL_KEYWORDS:
            continue
        names.add(word)
    return names


def load_contract(root):
    """Metric names (with their types where known) the dashboards may query."""
    names = {}
    # docs/metrics.md is generated from the metric contract (exposition/) and
    # checked against it by tests/rulepack/reproducible_test.sh.
    reference = os.path.join(root, "docs", "metrics.md")
    with open(reference, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"^# Metrics\s*$(.*?)(?=^## )", text, re.M | re.S)
    if not m:
        raise RuntimeError("%s: no '# Metrics' table" % reference)
    for line in m.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not cells[0].startswith("`"):
            continue
        for name in re.findall(r"`([a-zA-Z_:][a-zA-Z0-9_:]*)`", cells[0]):
            names[name] = cells[1] or names.get(name, "")
    rules = os.path.join(root, "alerts", "triage.rules.yaml")
    with open(rules, encoding="utf-8") as f:
        for name in re.findall(r"^\s*-?\s*record:\s*(\S+)\s*$", f.read(), re.M):
            names.setdefault(name, "recording rule")
    names["ALERTS"] = "alerts"
    for name, mtype in list(names.items()):
        if mtype == "histogram":
            for suffix in ("_bucket", "_sum", "_count"):
                names.setdefault(name + suffix, "histogram series")
    return names


def all_panels(panels):
    for p in panels:
        yield p
        for child in p.get("panels") or []:
            yield child


def overlaps(a, b):
    return (a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"]
            and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"])


class Linter:
    def __init__(self, root, promtool):
        self.root = root
        self.promtool = promtool
        self.violations = []
        self.contract = load_contract(root)
        with open(os.path.join(root, "alerts", "index.json"), encoding="utf-8") as f:
            self.index = {a["name"]: a for a in json.load(f)["alerts"]}
        self.exprs = []  # (file, where, expr) for promtool
        self.panel_count = 0

    def bad(self, fname, where, rule, msg):
        self.violations.append("%s: %s: %s: %s" % (fname, where, rule, msg))

    def lint_file(self, path, all_uids):
        fname = os.path.basename(path)
        try:
            with open(path, encoding="utf-8") as f:
                d = json.load(f)
        except (OSError, ValueError) as e:
            self.bad(fname, "file", "json", "cannot read: %s" % e)
            return
        expected_uid = fname[:-len(".json")]
        if d.get("uid") != expected_uid:
            self.bad(fname, "dashboard", "dashboard-uid",
                     "uid is %r, expected %r (the file name)" % (d.get("uid"), expected_uid))
        if len(expected_uid) > 40:
            self.bad(fname, "dashboard", "dashboard-uid", "uid longer than 40 characters")
        if not d.get("title"):
            self.bad(fname, "dashboard", "dashboard-title", "no title")
        for key in ("__inputs", "__requires", "__elements"):
            if key in d:
                self.bad(fname, "dashboard", "dashboard-portable",
                         "has %s (an export for sharing externally); provisioning cannot fill it" % key)
        if d.get("id") is not None:
            self.bad(fname, "dashboard", "dashboard-portable", "id is %r, must be null" % d.get("id"))
        if not isinstance(d.get("schemaVersion"), int) or d["schemaVersion"] < 36:
            self.bad(fname, "dashboard", "dashboard-portable",
                     "schemaVersion %r, expected 36 or later" % d.get("schemaVersion"))
        if d.get("editable") is not False:
            self.bad(fname, "dashboard", "uneditable-dashboard-rule",
                     "editable must be false (change scripts/gen_dashboards.py instead)")
        if "triage_exporter" not in (d.get("tags") or []):
            self.bad(fname, "dashboard", "dashboard-tags", "tags lack triage_exporter")

        links = d.get("links") or []
        for other in sorted(all_uids - {expected_uid}):
            hit = [l for l in links if "/d/%s" % other in (l.get("url") or "")]
            if not hit:
                self.bad(fname, "links", "dashboard-links", "no link to dashboard %s" % other)
            elif not any(l.get("includeVars") for l in hit):
                self.bad(fname, "links", "dashboard-links",
                         "the link to %s does not carry the variables (includeVars)" % other)

        variables = {}
        for v in (d.get("templating") or {}).get("list") or []:
            variables[v.get("name")] = v
        self.lint_variables(fname, expected_uid, variables)
        defined = set(variables) | BUILTIN_VARS
        for l in links:
            for name in variables_used(l.get("url") or ""):
                if name not in defined:
                    self.bad(fname, "links", "template-undefined", "link uses undefined $%s" % name)

        panels = list(all_panels(d.get("panels") or []))
        self.panel_count += len(panels)
        ids = {}
        for p in panels:
            pid = p.get("id")
            where = "panel %s %r" % (pid, p.get("title", ""))
            if not isinstance(pid, int):
                self.bad(fname, where, "panel-id", "id is not an integer")
            elif pid in ids:
                self.bad(fname, where, "panel-id", "id %d also used by panel %r" % (pid, ids[pid]))
            else:
                ids[pid] = p.get("title", "")
            self.lint_panel(fname, where, p, defined)
        self.lint_grid(fname, d.get("panels") or [])

    def lint_variables(self, fname, uid, variables):
        ds = variables.get("datasource")
        if not ds:
            self.bad(fname, "templating", "template-datasource-rule", "no variable named datasource")
        else:
            if ds.get("type") != "datasource" or ds.get("query") != "prometheus":
                self.bad(fname, "templating", "template-datasource-rule",
                         "variable datasource must have type datasource and query prometheus, has "
                         "type %r query %r" % (ds.get("type"), ds.get("query")))
            if ds.get("label") != "Data source":
                self.bad(fname, "templating", "template-datasource-rule",
                         "variable datasource should be labelled 'Data source', is %r" % ds.get("label"))
        for v in variables.values():
            if v.get("type") != "datasource" and v.get("name") != "datasource":
                continue
            if v.get("name") != "datasource":
                self.bad(fname, "templating", "template-datasource-rule",
                         "datasource variable named %r, should be 'datasource'" % v.get("name"))
        svc = variables.get("service")
        if not svc:
            self.bad(fname, "templating", "template-service", "no variable named service")
        else:
            q = svc.get("query")
            qtext = q.get("query") if isinstance(q, dict) else q
            if svc.get("type") != "query" or qtext != "label_values(triage_probe_info, service)":
                self.bad(fname, "templating", "template-service",
                         "service must be a query variable label_values(triage_probe_info, service), "
                         "is type %r query %r" % (svc.get("type"), qtext))
            want_multi = uid == "triage-overview"
            if bool(svc.get("multi")) != want_multi or bool(svc.get("includeAll")) != want_multi:
                self.bad(fname, "templating", "template-service",
                         "service should be %s" % ("multi-select with All" if want_multi
                                                   else "single-select without All"))
        for v in variables.values():
            if v.get("type") != "query":
                continue
            if v.get("refresh") != 2:
                self.bad(fname, "templating", "template-on-time-change-reload",
                         "variable %s refreshes %r, should be 2 (on time range change)"
                         % (v.get("name"), v.get("refresh")))
            if v.get("datasource") != DS:
                self.bad(fname, "templating", "template-variable-datasource",
                         "variable %s uses datasource %s, expected %s"
                         % (v.get("name"), json.dumps(v.get("datasource")), json.dumps(DS)))
            q = v.get("query")
            qtext = q.get("query") if isinstance(q, dict) else q
            for name in variables_used(qtext or ""):
                if name not in set(variables) | BUILTIN_VARS:
                    self.bad(fname, "templating", "template-undefined",
                             "variable %s uses undefined $%s" % (v.get("name"), name))

    def lint_panel(self, fname, where, p, defined):
        ptype = p.get("type")
        if ptype not in PANEL_TYPES:
            self.bad(fname, where, "panel-type", "unknown panel type %r" % ptype)
        if ptype == "row":
            if not p.get("title"):
                self.bad(fname, where, "panel-title-description-rule", "row without title")
            if "datasource" in p and p["datasource"] not in (None, DS):
                self.bad(fname, where, "panel-datasource-rule", "row has datasource %s"
                         % json.dumps(p["datasource"]))
            return
        if not p.get("title"):
            self.bad(fname, where, "panel-title-description-rule", "no title")
        if not p.get("description"):
            self.bad(fname, where, "panel-title-description-rule", "no description")
        if ptype in NO_DATA_TYPES:
            return
        if p.get("datasource") != DS:
            self.bad(fname, where, "panel-datasource-rule", "datasource is %s, expected %s"
                     % (json.dumps(p.get("datasource")), json.dumps(DS)))
        unit = ((p.get("fieldConfig") or {}).get("defaults") or {}).get("unit")
        if not unit:
            self.bad(fname, where, "panel-units-rule", "no fieldConfig.defaults.unit")
        elif unit not in UNITS:
            self.bad(fname, where, "panel-units-rule", "unit %r is not a Grafana unit id" % unit)
        tag = data_tag(p.get("description"))
        if tag is None:
            self.bad(fname, where, "panel-data-tag",
                     "description must end with what fills the panel (\"Shows data for probes of "
                     "kind K.\", \"Shows data for every probe.\", \"Shows the exporter's own "
                     "metrics.\", \"Shows firing alerts of the rule pack.\" or \"May stay empty: "
                     "why.\")")
        elif tag[0] == "kinds" and tag[1] - KINDS:
            self.bad(fname, where, "panel-data-tag", "unknown probe kind(s) %s"
                     % ", ".join(sorted(tag[1] - KINDS)))
        targets = p.get("targets") or []
        if not targets:
            self.bad(fname, where, "target-refid", "panel has no targets")
        refs = set()
        for t in targets:
            ref = t.get("refId")
            twhere = "%s target %s" % (where, ref)
            if not ref or ref in refs:
                self.bad(fname, twhere, "target-refid", "missing or duplicate refId")
            refs.add(ref)
            if t.get("datasource") != DS:
                self.bad(fname, twhere, "panel-datasource-rule", "target datasource is %s, expected %s"
                         % (json.dumps(t.get("datasource")), json.dumps(DS)))
            expr = t.get("expr")
            if not expr:
                self.bad(fname, twhere, "target-refid", "no expr")
                continue
            for name in variables_used(expr):
                if name not in defined:
                    self.bad(fname, twhere, "template-undefined", "query uses undefined $%s" % name)
            for msg in rate_violations(expr):
                self.bad(fname, twhere, "target-rate-interval-rule", msg)
            for name in sorted(metric_names(substitute(expr))):
                if name not in self.contract:
                    self.bad(fname, twhere, "target-metric-contract",
                             "metric %s is not in docs/metrics.md (the metric contract) "
                             "or the rule pack's recording rules" % name)
            self.exprs.append((fname, twhere, substitute(expr)))
            if "ALERTS" in metric_names(substitute(expr)):
                self.lint_runbook_links(fname, twhere, p, expr)
        for link in self.panel_links(p):
            for name in variables_used(link.get("url") or ""):
                if name not in defined:
                    self.bad(fname, where, "template-undefined", "data link uses undefined $%s" % name)

    @staticmethod
    def panel_links(p):
        fc = p.get("fieldConfig") or {}
        for link in (fc.get("defaults") or {}).get("links") or []:
            yield link
        for o in fc.get("overrides") or []:
            for prop in o.get("properties") or []:
                if prop.get("id") == "links":
                    for link in prop.get("value") or []:
                        yield link

    def lint_runbook_links(self, fname, where, p, expr):
        mapped = {}
        for file_anchor, name in re.findall(
                r'"runbook",\s*"([^"]*)",\s*"alertname",\s*"([^"]*)"', expr):
            if name in mapped:
                self.bad(fname, where, "runbook-links", "alert %s mapped twice" % name)
            mapped[name] = file_anchor
        for name, a in sorted(self.index.items()):
            want = "%s#%s" % (a["runbook"]["file"], a["runbook"]["anchor"])
            if name not in mapped:
                self.bad(fname, where, "runbook-links",
                         "alert %s of alerts/index.json has no runbook link; run "
                         "python3 scripts/gen_dashboards.py" % name)
            elif mapped[name] != want:
                self.bad(fname, where, "runbook-links",
                         "alert %s links to %s, alerts/index.json says %s; run "
                         "python3 scripts/gen_dashboards.py" % (name, mapped[name], want))
            elif not os.path.isfile(os.path.join(self.root, "runbooks", a["runbook"]["file"])):
                self.bad(fname, where, "runbook-links", "runbooks/%s does not exist" % a["runbook"]["file"])
        for name in sorted(set(mapped) - set(self.index)):
            self.bad(fname, where, "runbook-links",
                     "alert %s is not in alerts/index.json; run python3 scripts/gen_dashboards.py" % name)
        for needed in ('"runbook_file", "$1", "runbook"', '"runbook_anchor", "$1", "runbook"'):
            if needed not in expr:
                self.bad(fname, where, "runbook-links", "query does not derive %s" % needed.split(",")[0])
        urls = [l.get("url") or "" for l in self.panel_links(p)]
        good = "${runbook_base:raw}${__data.fields.runbook_file}#${__data.fields.runbook_anchor}"
        if good not in urls:
            self.bad(fname, where, "runbook-links", "no data link %s on the alert table" % good)
        alert_cell = [o for o in (p.get("fieldConfig") or {}).get("overrides") or []
                      if (o.get("matcher") or {}).get("options") == "alertname"
                      and any(pr.get("id") == "links" for pr in o.get("properties") or [])]
        if not alert_cell:
            self.bad(fname, where, "runbook-links", "the alertname cell carries no link")

    def lint_grid(self, fname, top):
        placed = []
        for p in top:
            where = "panel %s %r" % (p.get("id"), p.get("title", ""))
            g = p.get("gridPos")
            if not isinstance(g, dict) or not all(isinstance(g.get(k), int) for k in "xywh"):
                self.bad(fname, where, "panel-gridpos", "gridPos missing or not integers: %r" % g)
                continue
            if g["w"] < 1 or g["h"] < 1 or g["x"] < 0 or g["y"] < 0 or g["x"] + g["w"] > 24:
                self.bad(fname, where, "panel-gridpos", "gridPos %r outside the 24-column grid" % g)
            for other_where, og in placed:
                if overlaps(g, og):
                    self.bad(fname, where, "panel-gridpos", "overlaps %s" % other_where)
            placed.append((where, g))

    def check_promql(self):
        if not self.exprs:
            return
        rules = []
        for i, (_, _, expr) in enumerate(self.exprs):
            rules.append({"record": "dashboard_lint:expr_%d" % i, "expr": expr})
        with tempfile.TemporaryDirectory(prefix="dashboard-lint.") as tmp:
            path = os.path.join(tmp, "queries.rules.yaml")
            with open(path, "w", encoding="utf-8") as f:
                json.dump({"groups": [{"name": "dashboard_queries", "rules": rules}]}, f, indent=1)
            try:
                r = subprocess.run([self.promtool, "check", "rules", path], capture_output=True,
                                   text=True, timeout=60)
            except OSError as e:
                raise RuntimeError("cannot run %s: %s" % (self.promtool, e))
        if r.returncode == 0:
            return
        found = False
        for line in (r.stdout + r.stderr).splitlines():
            m = re.search(r'"dashboard_lint:expr_(\d+)": (.*)$', line)
            if m:
                fname, where, expr = self.exprs[int(m.group(1))]
                self.bad(fname, where, "target-promql-rule", "%s (expression as checked: %s)"
                         % (m.group(2), " ".join(expr.split())[:300]))
                found = True
        if not found:
            self.bad("promtool", "check rules", "target-promql-rule",
                     (r.stdout + r.stderr).strip()[:2000])


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description="Lint the Grafana dashboards of triage_exporter.")
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(here)),
                    help="repository root (docs/metrics.md, alerts/, runbooks/)")
    ap.add_argument("--dashboards", help="directory of dashboards (default ROOT/dashboards)")
    ap.add_argument("--promtool", default="promtool")
    args = ap.parse_args()
    ddir = args.dashboards or os.path.join(args.root, "dashboards")
    files = sorted(glob.glob(os.path.join(ddir, "*.json")))
    if not files:
        print("lint: no *.json in %s" % ddir)
        return 2
    try:
        linter = Linter(args.root, args.promtool)
        uids = {os.path.basename(f)[:-len(".json")] for f in files}
        for f in files:
            linter.lint_file(f, uids)
        linter.check_promql()
    except (OSError, RuntimeError, ValueError, KeyError) as e:
        print("lint: cannot run: %s" % e)
        return 2
    for v in linter.violations:
        print("violation: " + v)
    print("%d dashboards, %d panels, %d queries: %d violations"
          % (len(files), linter.panel_count, len(linter.exprs), len(linter.violations)))
    return 1 if linter.violations else 0


if __name__ == "__main__":
    sys.exit(main())

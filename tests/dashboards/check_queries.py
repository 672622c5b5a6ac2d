#!/usr/bin/env python3
"""Runs every panel query of the dashboards against a Prometheus.

    check_queries.py --prometheus http://127.0.0.1:19390 --service echo \\
        --kinds http,scrape [--expect-alerts] [--runbook-base URL]

Each target's expression is sent to /api/v1/query (evaluated now) with the
dashboard variables substituted the way Grafana would: $service is the given
service, $probe matches every probe, $__rate_interval, $__interval and
$__range take the values of the flags (defaults suit a 1 s scrape interval).

The last sentence of each panel's description says what fills it (see
scripts/gen_dashboards.py), and decides whether an empty answer fails:
  "Shows data for probes of kind K, ..."  required when one of K is in --kinds
  "Shows data for every probe."           required when --kinds is not empty
  "Shows the exporter's own metrics."     always required
  "Shows firing alerts of the rule pack." required with --expect-alerts; every
                                          row must then carry runbook_file and
                                          runbook_anchor (the alert is known to
                                          the dashboards), and with
                                          --runbook-base each link must answer
                                          200 with the anchor in the page
  "May stay empty: ..."                   never required

Pass in --kinds the probe kinds of the service whose targets answer readable
data now (a kubernetes_pvc probe refused with 403 lists no claims, for
example). Prints one line per panel:
  ok     <dashboard> #<id> <title>: <n> series
  empty  <dashboard> #<id> <title> (may stay empty | not required ...)
  FAIL   <dashboard> #<id> <title>: empty, required for kind http
  ERROR  <dashboard> #<id> <title>: target B: <Prometheus error>
and "N panels: N ok, N empty, N failed". Exits 1 when a query errors or a
required panel is empty, 2 when Prometheus cannot be asked. Stdlib only.
"""

import argparse
import glob
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # leave no __pycache__ in the work tree
from lint_dashboards import KINDS, VAR_RE, data_tag  # noqa: E402  (beside this script)

REGEX_META = re.compile(r"([\\^$*+?.()|{}\[\]])")


class Unreachable(Exception):
    pass


def duration_seconds(text):
    m = re.fullmatch(r"(\d+)(ms|s|m|h)", text)
    if not m:
        raise argparse.ArgumentTypeError("%r is not a duration like 10s, 5m" % text)
    return text


def seconds_of(text):
    n, unit = re.fullmatch(r"(\d+)(ms|s|m|h)", text).groups()
    return int(n) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]


def substitute(expr, values, multi):
    """Replaces $var, ${var}, ${var:fmt} and [[var]]; raises KeyError on an unknown one."""
    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name.isdigit():
            return m.group(0)
        name = name.split(":")[0]
        if name not in values:
            raise KeyError(name)
        value = values[name]
        if name in multi and value != ".*":
            # Grafana escapes the regex characters of multi-value variables;
            # a backslash inside a PromQL string is written twice.
            value = REGEX_META.sub(r"\\\\\1", value)
        return value
    return VAR_RE.sub(repl, expr)


def query(base, expr, timeout):
    data = urllib.parse.urlencode({"query": expr, "time": "%.3f" % time.time()}).encode()
    req = urllib.request.Request(base.rstrip("/") + "/api/v1/query", data=data,
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            body = json.load(r)
    except urllib.error.HTTPError as e:
        try:
            body = json.load(e)
        except ValueError:
            return None, "HTTP %d" % e.code
    except (urllib.error.URLError, OSError) as e:
        raise Unreachable("%s: %s" % (base, getattr(e, "reason", e)))
    if body.get("status") != "success":
        return None, "%s: %s" % (body.get("errorType", "error"), body.get("error", "?"))
    return body["data"], None


def fetch(url, timeout):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, ""
    except (urllib.error.URLError, OSError) as e:
        return None, str(getattr(e, "reason", e))


def series_of(data):
    if data["resultType"] in ("vector", "matrix"):
        return data["result"]
    return [{"metric": {}, "value": data["result"]}]  # scalar or string


def main():
    ap = argparse.ArgumentParser(
        description="Run every dashboard panel query against a Prometheus.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--prometheus", required=True, help="base URL, e.g. http://127.0.0.1:19390")
    ap.add_argument("--service", required=True, help="value of the service variable")
    ap.add_argument("--kinds", default="",
                    help="comma-separated probe kinds whose panels must show data")
    ap.add_argument("--expect-alerts", action="store_true",
                    help="the firing-alert tables must show alerts with runbook links")
    ap.add_argument("--runbook-base", help="with --expect-alerts: fetch every runbook link under "
                                           "this base and require 200 and the anchor")
    ap.add_argument("--rate-interval", type=duration_seconds, default="10s",
                    help="value of $__rate_interval (default 10s)")
    ap.add_argument("--interval", type=duration_seconds, default="2s",
                    help="value of $__interval (default 2s)")
    ap.add_argument("--range", dest="range_", metavar="RANGE", type=duration_seconds, default="5m",
                    help="value of $__range (default 5m)")
    ap.add_argument("--timeout", type=float, default=10, help="seconds per request")
    ap.add_argument("dashboards", nargs="*",
                    help="dashboard files (default: dashboards/*.json of the repository)")
    args = ap.parse_args()

    kinds = {k.strip() for k in args.kinds.split(",") if k.strip()}
    if kinds - KINDS:
        print("check_queries: unknown kind(s) %s; kinds are %s"
              % (", ".join(sorted(kinds - KINDS)), ", ".join(sorted(KINDS))))
        return 2
    files = args.dashboards or sorted(glob.glob(os.path.join(os.path.dirname(os.path.dirname(HERE)),
                                                              "dashboards", "*.json")))
    if not files:
        print("check_queries: no dashboards found")
        return 2
    rng = seconds_of(args.range_)
    values = {
        "service": args.service, "probe": ".*",
        "__rate_interval": args.rate_interval, "__interval": args.interval,
        "__interval_ms": str(int(seconds_of(args.interval) * 1000)),
        "__range": args.range_, "__range_s": str(int(rng)), "__range_ms": str(int(rng * 1000)),
    }

    counts = {"ok": 0, "empty": 0, "failed": 0}
    runbook_links = {}
    try:
        for path in files:
            with open(path, encoding="utf-8") as f:
                d = json.load(f)
            uid = d.get("uid") or os.path.basename(path)
            multi = {v["name"] for v in d.get("templating", {}).get("list", [])
                     if v.get("multi") or v.get("includeAll")}
            panels = []
            for p in d.get("panels", []):
                panels.append(p)
                panels.extend(p.get("panels") or [])
            for p in panels:
                if not p.get("targets"):
                    continue
                name = "%s #%s %s" % (uid, p.get("id"), p.get("title", ""))
                tag = data_tag(p.get("description")) or ("optional", None)
                if tag[0] == "kinds":
                    required = bool(tag[1] & kinds)
                    why = "kind " + ", ".join(sorted(tag[1] & kinds)) if required else \
                        "kind " + ", ".join(sorted(tag[1])) + " not in --kinds"
                elif tag[0] == "every":
                    required, why = bool(kinds), "every probe"
                elif tag[0] == "exporter":
                    required, why = True, "the exporter's metrics"
                elif tag[0] == "alerts":
                    required, why = args.expect_alerts, "--expect-alerts"
                else:
                    required, why = False, "may stay empty"
                errors, series = [], []
                for t in p["targets"]:
                    try:
                        expr = substitute(t.get("expr", ""), values, multi)
                    except KeyError as e:
                        errors.append("target %s: unknown variable $%s" % (t.get("refId"), e.args[0]))
                        continue
                    data, err = query(args.prometheus, expr, args.timeout)
                    if err:
                        errors.append("target %s: %s" % (t.get("refId"), err))
                        continue
                    series.extend(series_of(data))
                if tag[0] == "alerts" and args.expect_alerts:
                    for s in series:
                        m = s.get("metric", {})
                        if not m.get("runbook_file") or not m.get("runbook_anchor"):
                            errors.append("alert %s has no runbook link (regenerate the dashboards "
                                          "from alerts/index.json)" % m.get("alertname"))
                        else:
                            runbook_links[(m["runbook_file"], m["runbook_anchor"])] = m.get("alertname")
                if errors:
                    counts["failed"] += 1
                    for e in errors:
                        print("ERROR  %s: %s" % (name, e))
                elif series:
                    counts["ok"] += 1
                    print("ok     %s: %d series" % (name, len(series)))
                elif required:
                    counts["failed"] += 1
                    print("FAIL   %s: empty, required for %s" % (name, why))
                else:
                    counts["empty"] += 1
                    print("empty  %s (%s)" % (name, why))
    except Unreachable as e:
        print("check_queries: cannot ask Prometheus: %s" % e)
        return 2

    links_failed = 0
    if args.runbook_base and args.expect_alerts:
        for (rfile, anchor), alert in sorted(runbook_links.items()):
            url = args.runbook_base + rfile + "#" + anchor
            status, page = fetch(args.runbook_base + rfile, args.timeout)
            if status == 200 and re.search(r'id="%s"' % re.escape(anchor), page):
                print("ok     runbook link of %s: %s" % (alert, url))
            else:
                links_failed += 1
                print("FAIL   runbook link of %s: %s answered %s%s" % (
                    alert, url, status, "" if status != 200 else " without the anchor"))

    total = counts["ok"] + counts["empty"] + counts["failed"]
    print("%d panels: %d ok, %d empty, %d failed%s" % (
        total, counts["ok"], counts["empty"], counts["failed"],
        "; runbook links: %d ok, %d failed" % (len(runbook_links) - links_failed, links_failed)
        if args.runbook_base and args.expect_alerts else ""))
    return 1 if counts["failed"] or links_failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""End-to-end suite: the real Prometheus and Alertmanager over the exporter
and the simulators, every failure mode at once.

Starts on loopback (scripts/stack.py does the starting and stopping):
  - one triage_simulator per scenario (tests/e2e/scenarios.py), ports from the
    kernel, all in mode ok; a TCP listener of the driver's own;
  - triage_exporter on tests/e2e/exporter.yaml (one service per scenario,
    every probe each second);
  - tests/tools/webhook_recorder.py, the only receiver of Alertmanager;
  - prometheus-alertmanager on 127.0.0.1:19193 with the generated inhibit
    rules (alerts/alertmanager/inhibit.yaml) and a route tree grouping by
    alertname, service and probe (group_wait and group_interval 1 s);
  - prometheus on 127.0.0.1:19190, scrape and evaluation interval 1 s, job
    triage_exporter, the rule pack as `triage_rulegen scale --factor 60`
    renders it (a `for: 5m` waits 5 s, a 1h burn-rate window is 1 min) with
    runbook_url pointing at this exporter's /runbooks/.
Then it switches every scenario's failure on at once and asserts, per expected
alert: it reaches the webhook with the expected labels; its runbook_url is
this exporter's page for the alert's runbook section, answers 200, and the
page has id="<anchor>"; for the inhibition scenarios, the lower layer's
critical alert is delivered and the higher layer's alert sits in Alertmanager
with status.inhibitedBy set and gets no notification from then on (Alertmanager
0.25 may let one out while the source is younger than group_wait). While the
failures are on, tests/dashboards/check_queries.py runs for every service when
it exists. Then every scenario goes back to ok and each delivered alert must
be notified as resolved.

Prints the table (also written to BUILD/artifacts/e2e-table.txt) and
"N passed, N failed, N skipped"; exits 1 on any failure. The logs of every
process are copied to BUILD/artifacts/e2e-logs/ when something failed.

Usage: e2e.py --build BUILD_DIR [--pgid-file FILE] [--keep-tmp]
Standard library only.
"""

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True  # leave no __pycache__ in the work tree
sys.path.insert(0, os.path.join(REPO, "scripts"))
sys.path.insert(0, HERE)
import stack  # noqa: E402
from scenarios import SCENARIOS  # noqa: E402

PROM_PORT = 19190
AM_PORT = 19193
FACTOR = 60
GROUP_WAIT = 1.0            # seconds, as in the route tree below
READY_DEADLINE = 60         # the stack scrapes every probe and has loaded the rules
FIRE_DEADLINE = 120         # after the failures are switched on
INHIBIT_WATCH = 4.0         # seconds an inhibited alert is watched for a leaked notification
RESOLVE_DEADLINE = 150      # after recovery; the crash loop needs its 1 min window to pass
RESTART_PERIOD = 1.5        # seconds in mode restarted, then as long in ok
DASHBOARD_CHECK = os.path.join(REPO, "tests", "dashboards", "check_queries.py")
DASHBOARD_TIMEOUT = 30      # seconds per service (4 run at once)
TEMPLATE = os.path.join(HERE, "exporter.yaml")
PORT_RE = re.compile(r"\{\{port ([a-z0-9-]+)\}\}")
LABEL_SHOWN_ALWAYS = ("probe",)
# Asserted, but left out of the table to keep it readable (the failure
# details name every expected label).
LABELS_NOT_SHOWN = ("alertname", "service", "severity", "layer", "namespace", "persistentvolumeclaim")

T0 = time.monotonic()


def log(msg):
    print("[%6.1fs] %s" % (time.monotonic() - T0, msg), flush=True)


def fmt_labels(labels):
    extra = [k for k in sorted(labels) if k not in LABELS_NOT_SHOWN and k not in LABEL_SHOWN_ALWAYS]
    keys = [k for k in LABEL_SHOWN_ALWAYS if k in labels] + extra
    return "%s{%s}" % (labels["alertname"], ",".join("%s=%s" % (k, labels[k]) for k in keys))


def matches(want, got):
    return all(got.get(k) == v for k, v in want.items())


# ----------------------------------------------------------------------------- rows


class Row:
    """One line of the table. Columns hold None (not reached), True/False, or
    "-" (not applicable)."""

    def __init__(self, scenario, what, labels=None, kind="expect"):
        self.scenario = scenario
        self.what = what
        self.labels = labels
        self.kind = kind          # expect | inhibited | dashboard
        self.delivered = None     # seconds after the switch, or False
        self.runbook = None
        self.inhibited = None
        self.resolved = None      # seconds after recovery, or False
        self.skipped = False
        self.details = []
        self.runbook_url = None
        # inhibition bookkeeping
        self.source = None        # labels of the alert that must inhibit this one
        self.inhibit_seen_at = None
        self.watch_from = None    # index into the notifications from which none may name the alert

    def columns(self):
        def cell(v, timed=False):
            if v == "-":
                return "-"
            if v is None or v is False:
                return "NO"
            if timed and not isinstance(v, bool):
                return "yes %4.1fs" % v
            return "yes"
        if self.kind == "dashboard":
            state = "SKIPPED" if self.skipped else ("ok" if self.delivered else "FAIL")
            return [state, "-", "-", "-"]
        return [cell(self.delivered, True), cell(self.runbook), cell(self.inhibited), cell(self.resolved, True)]

    def result(self):
        if self.skipped:
            return "SKIPPED"
        cols = [self.delivered, self.runbook, self.inhibited, self.resolved]
        if self.kind == "dashboard":
            cols = [self.delivered]
        return "PASS" if all(c == "-" or (c is not None and c is not False) for c in cols) else "FAIL"


def table(rows):
    head = ["scenario", "expected alert", "delivered", "runbook link ok", "inhibited ok", "resolved", "result"]
    lines = [[r.scenario, r.what] + r.columns() + [r.result()] for r in rows]
    widths = [max(len(str(x[i])) for x in [head] + lines) for i in range(len(head))]
    out = []
    for i, line in enumerate([head] + lines):
        out.append("  ".join(str(c).ljust(widths[j]) for j, c in enumerate(line)).rstrip())
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


# ----------------------------------------------------------------------------- the driver's TCP dependency


class TcpDependency:
    """A listener that accepts and closes connections, like a database port;
    close() takes it away, reopen() brings it back on the same port."""

    def __init__(self):
        self.sock = None
        self.port = 0
        self.thread = None
        self.open()

    def open(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(64)
        self.port = s.getsockname()[1]
        self.sock = s
        self.thread = threading.Thread(target=self._serve, args=(s,), daemon=True)
        self.thread.start()

    def _serve(self, s):
        while True:
            try:
                conn, _ = s.accept()
            except OSError:
                return
            conn.close()

    def close(self):
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.sock.close()
            self.sock = None
            self.thread.join(timeout=2)

    def reopen(self):
        if self.sock is None:
            self.open()


# ----------------------------------------------------------------------------- the suite


class Suite:
    def __init__(self, args):
        self.build = os.path.abspath(args.build)
        self.bins = {n: os.path.join(self.build, n) for n in ("triage_exporter", "triage_simulator", "triage_rulegen")}
        self.tmp = tempfile.mkdtemp(prefix="triage-e2e.")
        self.stack = stack.Stack(self.tmp, args.pgid_file, log=log)
        if not args.keep_tmp:
            self.stack.pgids.set_workdir(self.tmp)
        self.interrupted = False
        self.sim_ports = {}
        self.tcp = None
        self.exporter_port = None
        self.prom = "http://127.0.0.1:%d" % PROM_PORT
        self.am = "http://127.0.0.1:%d" % AM_PORT
        self.recorder = None
        self.rows = []
        self.preflight = []       # (ok, text)
        self.index = {}
        self.restart_stop = threading.Event()
        self.restart_threads = []
        self.scenarios = SCENARIOS

    # ---- helpers
    def notifications(self):
        return stack.get_json(self.recorder + "/notifications") or []

    def am_alerts(self):
        return stack.get_json(self.am + "/api/v2/alerts") or []

    def set_mode(self, service, mode):
        url = "http://127.0.0.1:%d/-/mode?mode=%s" % (self.sim_ports[service], mode)
        status, body = stack.http_request(url, method="POST", data=b"", timeout=5)
        if status != 200:
            raise stack.StackError("simulator %s: switching to mode %s answered %s %s" %
                                   (service, mode, status, body[:200]))

    def prom_query(self, q):
        d = stack.get_json(self.prom + "/api/v1/query?query=" + urllib.parse.quote(q))
        if not d or d.get("status") != "success":
            return None
        return d["data"]["result"]

    # ---- set-up
    def check_inputs(self):
        ok = True
        for name, path in self.bins.items():
            if not os.access(path, os.X_OK):
                self.preflight.append((False, "%s is missing at %s (build first)" % (name, path)))
                ok = False
        for find in (stack.find_prometheus, stack.find_alertmanager):
            try:
                find()
            except stack.StackError as e:
                self.preflight.append((False, str(e)))
                ok = False
        try:
            stack.require_free_ports([(PROM_PORT, "the suite's Prometheus"), (AM_PORT, "the suite's Alertmanager")])
        except stack.StackError as e:
            self.preflight.append((False, str(e)))
            ok = False
        # Expected alerts against the generated index: a renamed alert or a
        # moved layer shows here, not as a silent timeout.
        with open(os.path.join(REPO, "alerts", "index.json"), encoding="utf-8") as f:
            self.index = {a["name"]: a for a in json.load(f)["alerts"]}
        bad = []
        for s in self.scenarios:
            for want in s["expect"] + s["inhibited"]:
                entry = self.index.get(want["alertname"])
                if entry is None:
                    bad.append("%s: unknown alert %s" % (s["name"], want["alertname"]))
                elif entry["layer"] != want["layer"] or want["severity"] not in entry["severities"]:
                    bad.append("%s: %s is layer %s, severities %s in alerts/index.json" %
                               (s["name"], want["alertname"], entry["layer"], entry["severities"]))
        # Services of the configuration and of the scenarios are the same.
        with open(TEMPLATE, encoding="utf-8") as f:
            template = f.read()
        services = set(re.findall(r"^  - name: (\S+)$", template, re.M))
        wanted = {s["service"] for s in self.scenarios}
        if services != wanted:
            bad.append("services of exporter.yaml and scenarios.py differ: only in exporter.yaml %s, only in "
                       "scenarios.py %s" % (sorted(services - wanted), sorted(wanted - services)))
        ports = set(PORT_RE.findall(template))
        if ports != wanted:
            bad.append("exporter.yaml probes {{port %s}} but the scenarios start %s" %
                       (sorted(ports), sorted(wanted)))
        if bad:
            ok = False
            self.preflight += [(False, b) for b in bad]
        else:
            self.preflight.append((True, "%d scenarios match exporter.yaml and alerts/index.json" %
                                   len(self.scenarios)))
        return ok

    def start(self):
        _, self.recorder = self.stack.start_webhook_recorder(os.path.join(self.tmp, "notifications.jsonl"))
        log("webhook recorder on %s" % self.recorder)
        sims = [s for s in self.scenarios if s["system"] != "tcp"]
        started = self.stack.start_simulators(self.bins["triage_simulator"],
                                              [dict(name="sim-" + s["service"], system=s["system"]) for s in sims])
        for s in sims:
            self.sim_ports[s["service"]] = started["sim-" + s["service"]][1]
        for s in self.scenarios:
            if s["system"] == "tcp":
                self.tcp = TcpDependency()
                self.sim_ports[s["service"]] = self.tcp.port
        log("%d simulators and a TCP listener started" % len(sims))

        with open(TEMPLATE, encoding="utf-8") as f:
            config = PORT_RE.sub(lambda m: str(self.sim_ports[m.group(1)]), f.read())
        stack.write_file(os.path.join(self.tmp, "exporter.yaml"), config)
        stack.write_file(os.path.join(self.tmp, "e2e.token"), "e2e-bearer-token\n")
        _, self.exporter_port = self.stack.start_exporter(self.bins["triage_exporter"],
                                                          os.path.join(self.tmp, "exporter.yaml"))
        log("triage_exporter on 127.0.0.1:%d" % self.exporter_port)

        self.runbook_base = "http://127.0.0.1:%d/runbooks/" % self.exporter_port
        rules = stack.scale_rules(self.bins["triage_rulegen"], FACTOR, self.runbook_base,
                                  os.path.join(self.tmp, "rules.yaml"))
        self.stack.start_alertmanager(
            stack.alertmanager_config(os.path.join(REPO, "alerts", "alertmanager", "inhibit.yaml"),
                                      webhook_url=self.recorder + "/alertmanager",
                                      group_by=("alertname", "service", "probe"),
                                      group_wait="%ds" % GROUP_WAIT, group_interval="1s", repeat_interval="1h"),
            AM_PORT)
        log("Alertmanager on %s" % self.am)
        self.stack.start_prometheus(
            stack.prometheus_config("127.0.0.1:%d" % self.exporter_port, "127.0.0.1:%d" % AM_PORT, rules),
            PROM_PORT, resend_delay="1s", for_grace_period="1s")
        log("Prometheus on %s (rules scaled by %d)" % (self.prom, FACTOR))

    def wait_ready(self):
        """Prometheus has the rules, scrapes the exporter and sees every probe."""
        status = {}

        def ready():
            rules = stack.get_json(self.prom + "/api/v1/rules")
            status["rules"] = len(rules["data"]["groups"]) if rules else 0
            up = self.prom_query('up{job="triage_exporter"}')
            status["up"] = up[0]["value"][1] if up else None
            configured = self.prom_query("triage_exporter_probes_configured")
            seen = self.prom_query("count(triage_probe_info)")
            status["probes"] = "%s of %s" % (seen[0]["value"][1] if seen else 0,
                                             configured[0]["value"][1] if configured else "?")
            return (status["rules"] > 0 and status["up"] == "1" and configured and seen and
                    seen[0]["value"][1] == configured[0]["value"][1])
        if not stack.wait_until(ready, READY_DEADLINE, 0.5):
            raise stack.StackError("the stack is not ready within %d s: %s" % (READY_DEADLINE, status))
        log("Prometheus scrapes the exporter and sees every probe (%s), %d rule groups" %
            (status["probes"], status["rules"]))

    # ---- the failures
    def switch_on(self):
        for s in self.scenarios:
            if s["mode"] == "close_listener":
                self.tcp.close()
            elif s["mode"] == "restart_loop":
                t = threading.Thread(target=self._restart_loop, args=(s["service"],), daemon=True)
                t.start()
                self.restart_threads.append(t)
            else:
                self.set_mode(s["service"], s["mode"])

    def _restart_loop(self, service):
        # Every entry into mode restarted is a new process start time.
        while not self.restart_stop.is_set():
            for mode in ("restarted", "ok"):
                try:
                    self.set_mode(service, mode)
                except stack.StackError as e:
                    log("restart loop: %s" % e)
                if self.restart_stop.wait(RESTART_PERIOD):
                    return

    def switch_off(self):
        self.restart_stop.set()
        for t in self.restart_threads:
            t.join(timeout=5)
        for s in self.scenarios:
            if s["mode"] == "close_listener":
                self.tcp.reopen()
            else:
                self.set_mode(s["service"], "ok")

    # ---- checks
    def check_runbook(self, row):
        url = row.runbook_url
        entry = self.index[row.labels["alertname"]]["runbook"]
        want = self.runbook_base + entry["file"] + "#" + entry["anchor"]
        if url != want:
            row.runbook = False
            row.details.append("runbook_url is %r, want %r" % (url, want))
            return
        page, _, anchor = url.partition("#")
        status, body = stack.http_request(page, timeout=5)
        if status != 200:
            row.runbook = False
            row.details.append("GET %s answered %s" % (page, status or body.decode(errors="replace")))
            return
        if ('id="%s"' % anchor).encode() not in body:
            row.runbook = False
            row.details.append("GET %s: 200 but no id=\"%s\" in the page (%d bytes)" % (page, anchor, len(body)))
            return
        row.runbook = True

    def firing_phase(self, expect_rows, inhibit_rows, t_on):
        deadline = t_on + FIRE_DEADLINE
        while True:
            now = time.monotonic()
            notifs = self.notifications()
            for row in expect_rows:
                if row.delivered is not None:
                    continue
                for n in notifs:
                    hit = next((a for a in n.get("alerts") or [] if a.get("status") == "firing"
                                and matches(row.labels, a.get("labels", {}))), None) if isinstance(n, dict) else None
                    if hit:
                        row.delivered = now - t_on
                        row.runbook_url = hit.get("annotations", {}).get("runbook_url")
                        log("delivered %s after %.1fs" % (fmt_labels(row.labels), row.delivered))
                        self.check_runbook(row)
                        break
            if inhibit_rows:
                alerts = self.am_alerts()
                for row in inhibit_rows:
                    if row.watch_from is not None:
                        continue
                    if row.inhibit_seen_at is None:
                        target = next((a for a in alerts if matches(row.labels, a["labels"])), None)
                        source = next((a for a in alerts if matches(row.source, a["labels"])), None)
                        if (target and source and target["status"].get("inhibitedBy") and
                                source["fingerprint"] in target["status"]["inhibitedBy"]):
                            row.inhibit_seen_at = now
                            log("%s is inhibited by %s" % (fmt_labels(row.labels), fmt_labels(row.source)))
                    elif now >= row.inhibit_seen_at + GROUP_WAIT + 1.0:
                        # From here on the source has been in Alertmanager longer
                        # than group_wait: no notification may name the target.
                        row.watch_from = len(notifs)
            done = all(r.delivered is not None for r in expect_rows) and all(
                r.watch_from is not None and now >= r.inhibit_seen_at + GROUP_WAIT + 1.0 + INHIBIT_WATCH
                for r in inhibit_rows)
            if done or now >= deadline:
                break
            time.sleep(0.5)
        for row in expect_rows:
            if row.delivered is None:
                row.delivered = False
                row.runbook = False
                row.details.append("no firing notification within %d s" % FIRE_DEADLINE)
        self.judge_inhibition(inhibit_rows)

    def judge_inhibition(self, inhibit_rows):
        if not inhibit_rows:
            return
        notifs = self.notifications()
        alerts = self.am_alerts()
        for row in inhibit_rows:
            if row.watch_from is None:
                row.inhibited = False
                target = next((a for a in alerts if matches(row.labels, a["labels"])), None)
                row.details.append("never seen inhibited by %s in Alertmanager within %d s (now: %s)" % (
                    fmt_labels(row.source), FIRE_DEADLINE,
                    "absent" if target is None else json.dumps(target["status"])))
                continue
            leaked = [i for i, n in enumerate(notifs[row.watch_from:], row.watch_from) if isinstance(n, dict) and any(
                a.get("status") == "firing" and matches(row.labels, a.get("labels", {})) for a in n.get("alerts") or [])]
            target = next((a for a in alerts if matches(row.labels, a["labels"])), None)
            still = target is not None and bool(target["status"].get("inhibitedBy"))
            row.inhibited = not leaked and still
            if leaked:
                row.details.append("notified while inhibited (notifications %s)" % leaked)
            if not still:
                row.details.append("no longer inhibited at the end of the firing phase: %s" %
                                   ("absent" if target is None else json.dumps(target["status"])))

    def dashboards(self):
        rows = []
        kinds_of = {}
        for s in self.scenarios:
            row = Row(s["name"], "dashboard queries (kinds: %s)" % (",".join(s["dashboard_kinds"]) or "none"),
                      kind="dashboard")
            rows.append(row)
            kinds_of[s["service"]] = (row, s)
        if not os.path.exists(DASHBOARD_CHECK):
            for row in rows:
                row.skipped = True
                row.details.append("%s does not exist yet" % os.path.relpath(DASHBOARD_CHECK, REPO))
            log("dashboard queries: SKIPPED (%s does not exist)" % os.path.relpath(DASHBOARD_CHECK, REPO))
            return rows

        def run(service):
            row, s = kinds_of[service]
            cmd = [sys.executable, DASHBOARD_CHECK, "--prometheus", self.prom, "--service", service,
                   "--kinds", ",".join(s["dashboard_kinds"]), "--expect-alerts"]
            try:
                res = subprocess.run(cmd, capture_output=True, text=True, timeout=DASHBOARD_TIMEOUT, check=False)
                rc, out = res.returncode, (res.stdout + res.stderr)
            except subprocess.TimeoutExpired:
                rc, out = -1, "timed out after %d s" % DASHBOARD_TIMEOUT
            row.delivered = rc == 0
            if rc != 0:
                bad = [l for l in out.splitlines() if l.startswith(("FAIL", "ERROR"))] or out.splitlines()[-10:]
                row.details.append("check_queries.py exited %s: %s" % (rc, " | ".join(bad[:6])))
        t = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(run, list(kinds_of)))
        log("dashboard queries for %d services in %.1fs: %d ok" %
            (len(rows), time.monotonic() - t, sum(1 for r in rows if r.delivered)))
        return rows

    def resolve_phase(self, expect_rows, first_index, t_off):
        waiting = [r for r in expect_rows if r.delivered]
        for r in expect_rows:
            if not r.delivered:
                r.resolved = "-"
        deadline = t_off + RESOLVE_DEADLINE
        while waiting:
            now = time.monotonic()
            notifs = self.notifications()[first_index:]
            for row in list(waiting):
                if any(isinstance(n, dict) and any(a.get("status") == "resolved" and matches(row.labels, a.get("labels", {}))
                                                   for a in n.get("alerts") or []) for n in notifs):
                    row.resolved = now - t_off
                    waiting.remove(row)
                    log("resolved %s after %.1fs" % (fmt_labels(row.labels), row.resolved))
            if not waiting or now >= deadline:
                break
            time.sleep(0.5)
        for row in waiting:
            row.resolved = False
            row.details.append("no resolved notification within %d s of the recovery" % RESOLVE_DEADLINE)

    # ---- the whole run
    def run(self):
        if not self.check_inputs():
            return
        self.start()
        self.wait_ready()
        expect_rows, inhibit_rows = [], []
        for s in self.scenarios:
            for want in s["expect"]:
                row = Row(s["name"], fmt_labels(want), want)
                row.inhibited = "-"
                expect_rows.append(row)
                self.rows.append(row)
            for want in s["inhibited"]:
                row = Row(s["name"], fmt_labels(want) + " (inhibited)", want, kind="inhibited")
                row.source = s["expect"][0]
                row.delivered = row.runbook = row.resolved = "-"
                inhibit_rows.append(row)
                self.rows.append(row)

        # Nothing the scenarios expect may fire before they are switched on.
        present = self.am_alerts()
        early = [fmt_labels(r.labels) for r in expect_rows
                 if any(matches(r.labels, a["labels"]) for a in present)]
        if early:
            self.preflight.append((False, "alerts in Alertmanager before any failure was switched on: %s" % early))

        t_on = time.monotonic()
        self.switch_on()
        log("every failure switched on; waiting for the alerts (at most %d s)" % FIRE_DEADLINE)
        self.firing_phase(expect_rows, inhibit_rows, t_on)
        log("firing phase over: %d of %d alerts delivered" %
            (sum(1 for r in expect_rows if r.delivered), len(expect_rows)))
        self.rows += self.dashboards()

        first_index = len(self.notifications())
        t_off = time.monotonic()
        self.switch_off()
        log("every scenario back to ok; waiting for the resolved notifications (at most %d s)" % RESOLVE_DEADLINE)
        self.resolve_phase(expect_rows, first_index, t_off)

    def report(self):
        lines = []
        for ok, text in self.preflight:
            lines.append("%s  preflight: %s" % ("ok  " if ok else "FAIL", text))
        if self.rows:
            lines += ["", table(self.rows)]
        failed_rows = [r for r in self.rows if r.result() == "FAIL"]
        explained = [r for r in failed_rows if r.details or not self.interrupted]
        if explained:
            lines += ["", "why:"]
            for r in explained:
                lines.append("  %s / %s" % (r.scenario, r.what))
                if r.labels:
                    lines.append("      expected labels: %s" % json.dumps(r.labels, sort_keys=True))
                for d in r.details:
                    lines.append("      " + d)
        skipped = [r for r in self.rows if r.skipped]
        if skipped:
            lines += ["", "skipped: %s" % skipped[0].details[0]]
        passed = sum(1 for r in self.rows if r.result() == "PASS") + sum(1 for ok, _ in self.preflight if ok)
        failed = len(failed_rows) + sum(1 for ok, _ in self.preflight if not ok)
        lines += ["", "e2e: %d scenarios, %.0f s wall" % (len(self.scenarios), time.monotonic() - T0),
                  "%d passed, %d failed, %d skipped" % (passed, failed, len(skipped))]
        text = "\n".join(lines)
        print("\n" + text, flush=True)
        artifacts = os.path.join(self.build, "artifacts")
        os.makedirs(artifacts, exist_ok=True)
        stack.write_file(os.path.join(artifacts, "e2e-table.txt"), text + "\n")
        return failed == 0 and passed > 0

    def keep_logs(self):
        if not self.stack.pgids.entries and not os.listdir(self.tmp):
            return  # nothing was started
        dest = os.path.join(self.build, "artifacts", "e2e-logs")
        shutil.rmtree(dest, ignore_errors=True)
        os.makedirs(dest, exist_ok=True)
        for name in os.listdir(self.tmp):
            path = os.path.join(self.tmp, name)
            if os.path.isfile(path) and name.endswith((".err", ".out", ".yml", ".yaml", ".jsonl")):
                shutil.copy(path, dest)
        log("logs and configurations copied to %s" % dest)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", required=True, help="build directory with the binaries")
    ap.add_argument("--pgid-file", help="list of started process groups (scripts/stack.py reap)")
    ap.add_argument("--keep-tmp", action="store_true", help="keep the temporary directory")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, stack.raise_on_signal)
    signal.signal(signal.SIGINT, stack.raise_on_signal)

    suite = Suite(args)
    ok = False
    try:
        suite.run()
    except stack.StackError as e:
        suite.preflight.append((False, str(e)))
    except SystemExit:
        suite.interrupted = True
        suite.preflight.append((False, "interrupted after %.0f s; the rows below were not finished" %
                                (time.monotonic() - T0)))
        raise
    finally:
        suite.restart_stop.set()
        suite.stack.stop()
        if suite.tcp:
            suite.tcp.close()
        ok = suite.report()
        if ok:
            shutil.rmtree(os.path.join(suite.build, "artifacts", "e2e-logs"), ignore_errors=True)
        else:
            suite.keep_logs()
        if args.keep_tmp:
            log("kept %s" % suite.tmp)
        else:
            shutil.rmtree(suite.tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

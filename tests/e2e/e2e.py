#!/usr/bin/env python3
"""End-to-end suite: the real Prometheus and Alertmanager over the exporter
and the simulators, every failure mode at once.

Starts on loopback (triagetest.stack does the starting and stopping):
  - one triage_simulator per scenario (tests/e2e/scenarios.py; two for the
    edge gateway's), ports from the kernel, all in mode ok; a TCP listener of
    the driver's own; openssl s_server with a 30-day certificate;
  - triage_exporter on tests/e2e/exporter.yaml (one service per scenario,
    every probe each second);
  - tests/tools/webhook_recorder.py, the only receiver of Alertmanager;
  - prometheus-alertmanager on 127.0.0.1:19193 (or TRIAGE_E2E_AM_PORT, see
    Environment below) with the generated inhibit rules
    (alerts/alertmanager/inhibit.yaml) and a route tree grouping by
    alertname, service and probe (group_wait and group_interval 1 s);
  - prometheus on 127.0.0.1:19190 (or TRIAGE_E2E_PROM_PORT), scrape and
    evaluation interval 1 s, job triage_exporter (and echo-direct, one
    simulator's /metrics with the bearer), POST /-/reload enabled, resend
    delay 3 s (see RESEND_DELAY), the rule pack as `triage_rulegen scale
    --factor 60` renders it (a `for: 5m` waits 5 s, a 1h burn-rate window
    is 1 min) with runbook_url pointing at this exporter's /runbooks/,
    loaded by a reload once every job has been scraped (Prometheus applies
    new targets only every 5 s: TriageExporterAbsent's 5 s would race the
    first scrape).
Scenarios that need more than a simulator mode bring their own targets and
switches (tests/e2e/scenarios.py, "action"): a second simulator of the same
service, openssl s_server with certificates of a CA the driver makes, a
Prometheus scrape job the driver reloads without its authorization block, a
broken configuration reloaded into the exporter.
Then it switches every scenario's failure on at once and asserts, per expected
alert: it reaches the webhook with the expected labels; its runbook_url is
this exporter's page for the alert's runbook section, answers 200, and the
page has id="<anchor>"; for the inhibition scenarios, the lower layer's
critical alert is delivered and the higher layer's alert sits in Alertmanager
with status.inhibitedBy set and gets no notification from then on (Alertmanager
0.25 may let one out while the source is younger than group_wait). While the
failures are on, tests/dashboards/check_queries.py runs for every service when
it exists. Then every scenario goes back to ok and each delivered alert must
be notified as resolved. Last, once everything has resolved, the scenarios of
phase "last": the exporter is stopped, TriageExporterAbsent must be delivered,
the exporter starts again on the same port (its runbook link is checked then)
and the alert must resolve.

Prints the table (also written to BUILD/artifacts/e2e-table.txt) and
"N passed, N failed, N skipped"; exits 1 on any failure. The logs of every
process are copied to BUILD/artifacts/e2e-logs/ when something failed.

Usage: e2e.py --build BUILD_DIR [--pgid-file FILE] [--keep-tmp]
Environment: TRIAGE_E2E_PROM_PORT and TRIAGE_E2E_AM_PORT move Prometheus and
Alertmanager off 19190 and 19193 (e.g. when another run holds those); each
must be a free port from 1 to 65535, and the two must differ.
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
from triagetest import stack  # noqa: E402  (PYTHONPATH=tests/lib)
from scenarios import SCENARIOS, SIMULATOR_SYSTEMS, TCP, TLS  # noqa: E402  (beside this script)

# What a scenario's "action" may be (tests/e2e/scenarios.py says what each does).
ACTIONS = (None, "close_listener", "short_lived_cert", "prometheus_without_bearer", "broken_config",
           "stop_exporter")


def port_from_env(name, default):
    """The port in environment variable `name`, `default` when unset or empty."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not re.fullmatch(r"[0-9]{1,5}", text) or not 1 <= int(text) <= 65535:
        print("e2e: %s=%r is not a port; expected a number from 1 to 65535" % (name, text))
        print("0 passed, 1 failed")
        sys.exit(1)
    return int(text)


PROM_PORT = port_from_env("TRIAGE_E2E_PROM_PORT", 19190)
AM_PORT = port_from_env("TRIAGE_E2E_AM_PORT", 19193)
if PROM_PORT == AM_PORT:
    print("e2e: Prometheus and Alertmanager would both listen on port %d; set "
          "TRIAGE_E2E_PROM_PORT and TRIAGE_E2E_AM_PORT to different ports" % PROM_PORT)
    print("0 passed, 1 failed")
    sys.exit(1)

FACTOR = 60
GROUP_WAIT = 1.0            # seconds, as in the route tree below
READY_DEADLINE = 60         # the stack scrapes every probe and has loaded the rules
FIRE_DEADLINE = 120         # after the failures are switched on
INHIBIT_WATCH = 4.0         # seconds an inhibited alert is watched for a leaked notification
RESOLVE_DEADLINE = 150      # after recovery; the crash loop needs its 1 min window to pass
RESTART_PERIOD = 1.5        # seconds in mode restarted, then as long in ok
# After a reload Prometheus forgets its Alertmanager until service discovery
# hands it over again (every 5 s). A firing alert Prometheus sent stays valid
# in Alertmanager for 4 x the resend delay (4 x 1 s would be too short: every
# firing alert would expire and be notified as resolved, though it was not),
# and the resend delay is how soon an alert that could not be sent is sent
# again.
RESEND_DELAY = 3            # seconds
ALERT_VALIDITY = 4 * RESEND_DELAY
NOTIFIER_DEADLINE = 15      # seconds for Prometheus to know the Alertmanager again after a reload
DASHBOARD_CHECK = os.path.join(REPO, "tests", "dashboards", "check_queries.py")
DASHBOARD_TIMEOUT = 30      # seconds per service (4 run at once)
TEMPLATE = os.path.join(HERE, "exporter.yaml")
PORT_RE = re.compile(r"\{\{port ([a-z0-9-]+)\}\}")
LAST_FIRE_DEADLINE = 60     # phase "last": the exporter stopped, TriageExporterAbsent delivered
TOKEN = "e2e-bearer-token"
# A misspelt key in a probe: what the scenario "configuration reload refused"
# appends to the exporter's configuration, and the error it must answer.
BROKEN_SERVICE = """
  # Appended by the end-to-end driver: a typo the exporter must refuse.
  - name: broken-by-e2e
    probes:
      - name: api
        kind: http
        layer: traffic
        url: http://127.0.0.1:9/
        valid_status_code: [200]
"""
BROKEN_ERROR = 'unknown key "valid_status_code"'
# What openssl s_server -HTTP sends for /ok.http: the file as it is.
TLS_ANSWER = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"
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

    def __init__(self, scenario, what, labels=None, kind="expect", exact=False):
        self.scenario = scenario
        self.what = what
        self.labels = labels
        self.exact = exact        # the delivered label set must be exactly labels
        self.kind = kind          # expect | inhibited | dashboard
        self.delivered = None     # seconds after the switch, or False
        self.runbook = None
        self.inhibited = None
        self.resolved = None      # seconds after recovery, or False
        self.skipped = False
        self.details = []
        self.runbook_url = None
        self.action_failed = False  # the driver could not switch the scenario as it should
        # inhibition bookkeeping
        self.source = None        # labels of the alert that must inhibit this one
        self.inhibit_seen_at = None
        self.watch_from = None    # index into the notifications from which none may name the alert

    def match(self, got):
        return got == self.labels if self.exact else matches(self.labels, got)

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
        if self.action_failed:
            return "FAIL"
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


# ----------------------------------------------------------------------------- a TLS endpoint


class TlsServer:
    """openssl s_server -HTTP on a loopback port, presenting a certificate of
    the driver's own CA (tls-ca.crt, which the probe trusts): one valid for 30
    days or one valid for 3. use() restarts it on the same port with the other."""

    VALID_DAYS = {"long": 30, "short": 3}

    def __init__(self, stack_, workdir):
        self.stack = stack_
        self.dir = os.path.join(workdir, "tls")
        os.makedirs(self.dir)
        self.proc = None
        self.starts = 0
        self.ca_file = os.path.join(workdir, "tls-ca.crt")
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        self._openssl(["req", "-x509"] + ec + ["-keyout", "ca.key", "-out", self.ca_file, "-days", "3650",
                                               "-subj", "/CN=triage e2e CA"])
        self._openssl(["req"] + ec + ["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"])
        stack.write_file(os.path.join(self.dir, "san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        for which, days in self.VALID_DAYS.items():
            self._openssl(["x509", "-req", "-in", "server.csr", "-CA", self.ca_file, "-CAkey", "ca.key",
                           "-CAcreateserial", "-out", which + ".crt", "-days", str(days), "-extfile", "san.ext"])
        stack.write_file(os.path.join(self.dir, "ok.http"), TLS_ANSWER)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]

    def _openssl(self, args):
        res = subprocess.run(["openssl"] + args, cwd=self.dir, capture_output=True, text=True, check=False)
        if res.returncode != 0:
            raise stack.StackError("openssl %s failed: %s" % (" ".join(args[:2]), res.stderr.strip()[-300:]))

    def use(self, which):
        """(Re)starts s_server with the "long" or the "short" certificate."""
        if self.proc is not None:
            self.stack.stop_one(self.proc)
        self.starts += 1
        self.proc = self.stack.spawn("tls-server-%d" % self.starts, [
            "openssl", "s_server", "-quiet", "-HTTP", "-accept", "127.0.0.1:%d" % self.port,
            "-cert", which + ".crt", "-key", "server.key"], cwd=self.dir)
        self.stack.wait_for(self.proc, "listener on 127.0.0.1:%d" % self.port,
                            lambda: self.proc.alive() and stack.port_in_use(self.port), 10)


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
        self.sim_ports = {}       # simulator (or other target) name -> port
        self.tcp = None
        self.tls = None
        self.exporter_proc = None
        self.exporter_port = None
        self.exporter_config = os.path.join(self.tmp, "exporter.yaml")
        self.exporter_config_text = None
        self.prom_reloaded_at = None  # monotonic time of a reload whose notifier gap is not yet known
        self.token_file = os.path.join(self.tmp, "e2e.token")
        self.prom = "http://127.0.0.1:%d" % PROM_PORT
        self.am = "http://127.0.0.1:%d" % AM_PORT
        self.rules = None
        self.recorder = None
        self.rows = []
        self.rows_of = {}         # scenario name -> its expect rows
        self.preflight = []       # (ok, text)
        self.index = {}
        self.restart_stop = threading.Event()
        self.restart_threads = []
        self.scenarios = [dict(s, expect=[dict(e) for e in s["expect"]]) for s in SCENARIOS]

    # ---- helpers
    def notifications(self):
        return stack.get_json(self.recorder + "/notifications") or []

    def am_alerts(self):
        return stack.get_json(self.am + "/api/v2/alerts") or []

    def set_mode(self, sim, mode):
        url = "http://127.0.0.1:%d/-/mode?mode=%s" % (self.sim_ports[sim], mode)
        status, body = stack.http_request(url, method="POST", data=b"", timeout=5)
        if status != 200:
            raise stack.StackError("simulator %s: switching to mode %s answered %s %s" %
                                   (sim, mode, status, body[:200]))

    def prometheus_alerts(self):
        """Label sets of the alerts Prometheus has pending or firing, or None."""
        d = stack.get_json(self.prom + "/api/v1/alerts")
        if not d or d.get("status") != "success":
            return None
        return [a["labels"] for a in d["data"]["alerts"]]

    def prom_query(self, q):
        d = stack.get_json(self.prom + "/api/v1/query?query=" + urllib.parse.quote(q))
        if not d or d.get("status") != "success":
            return None
        return d["data"]["result"]

    def simulators(self, s):
        """(name, system, mode) of every simulator of scenario s, its main one first."""
        if s["system"] not in SIMULATOR_SYSTEMS:
            return []
        return [(s["service"], s["system"], s["mode"])] + [(x["name"], x["system"], x["mode"]) for x in s["sims"]]

    def target_names(self):
        """Every {{port NAME}} the configuration may use."""
        names = set()
        for s in self.scenarios:
            names.update(n for n, _, _ in self.simulators(s))
            if s["system"] in (TCP, TLS):
                names.add(s["service"])
        return names

    def scenario_failed(self, s, text):
        """Something the driver did for scenario s went wrong: every row of it says so."""
        log("%s: %s" % (s["name"], text))
        for row in self.rows_of.get(s["name"], []):
            row.details.append(text)
            row.action_failed = True

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
        if any(s["system"] == TLS for s in self.scenarios) and not shutil.which("openssl"):
            self.preflight.append((False, "openssl not found: the TLS scenario serves with openssl s_server "
                                          "(Debian package openssl)"))
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
            if s["action"] not in ACTIONS:
                bad.append("%s: unknown action %r" % (s["name"], s["action"]))
            if s["phase"] == "last" and s["action"] != "stop_exporter":
                bad.append("%s: only stop_exporter runs in phase last" % s["name"])
        # Services of the configuration and of the scenarios are the same.
        with open(TEMPLATE, encoding="utf-8") as f:
            template = f.read()
        services = set(re.findall(r"^  - name: (\S+)$", template, re.M))
        wanted = {s["service"] for s in self.scenarios if s["service"]}
        if services != wanted:
            bad.append("services of exporter.yaml and scenarios.py differ: only in exporter.yaml %s, only in "
                       "scenarios.py %s" % (sorted(services - wanted), sorted(wanted - services)))
        ports = set(PORT_RE.findall(template))
        if ports != self.target_names():
            bad.append("exporter.yaml probes {{port %s}} but the scenarios start %s" %
                       (sorted(ports), sorted(self.target_names())))
        if bad:
            ok = False
            self.preflight += [(False, b) for b in bad]
        else:
            self.preflight.append((True, "%d scenarios match exporter.yaml and alerts/index.json" %
                                   len(self.scenarios)))
        return ok

    def prometheus_config(self, bearer=True, rules=True):
        """The suite's Prometheus: the exporter's job, and per scenario with
        action prometheus_without_bearer a job scraping its simulator, with
        the bearer or (bearer=False) without; the scaled rules unless
        rules=False."""
        jobs = ""
        for s in self.scenarios:
            if s["action"] != "prometheus_without_bearer":
                continue
            jobs += """  - job_name: {job}
    # scenario "{name}": its simulator wants the bearer on /metrics
    static_configs:
      - targets: ['127.0.0.1:{port}']
""".format(job=s["job"], name=s["name"], port=self.sim_ports[s["service"]])
            if bearer:
                jobs += """    authorization:
      type: Bearer
      credentials_file: {token}
""".format(token=json.dumps(self.token_file))
        return stack.prometheus_config("127.0.0.1:%d" % self.exporter_port, "127.0.0.1:%d" % AM_PORT,
                                       self.rules if rules else None, extra_scrape_configs=jobs)

    def start(self):
        _, self.recorder = self.stack.start_webhook_recorder(os.path.join(self.tmp, "notifications.jsonl"))
        log("webhook recorder on %s" % self.recorder)
        stack.write_file(self.token_file, TOKEN + "\n")
        specs = []
        for s in self.scenarios:
            for name, system, _ in self.simulators(s):
                spec = dict(name="sim-" + name, system=system)
                if s["token"]:
                    spec["token_file"] = self.token_file
                specs.append(spec)
        started = self.stack.start_simulators(self.bins["triage_simulator"], specs)
        for spec in specs:
            self.sim_ports[spec["name"][len("sim-"):]] = started[spec["name"]][1]
        for s in self.scenarios:
            if s["warm_up"]:
                headers = {"Authorization": "Bearer " + TOKEN} if s["token"] else {}
                url = "http://127.0.0.1:%d%s" % (self.sim_ports[s["service"]], s["warm_up"])
                status, body = stack.http_request(url, headers=headers)
                if status != 200:
                    raise stack.StackError("%s: warm-up GET %s answered %s %s" % (s["name"], url, status, body[:200]))
            if s["system"] == TCP:
                self.tcp = TcpDependency()
                self.sim_ports[s["service"]] = self.tcp.port
            elif s["system"] == TLS:
                self.tls = TlsServer(self.stack, self.tmp)
                self.tls.use("long")
                self.sim_ports[s["service"]] = self.tls.port
        log("%d simulators%s%s started" % (len(specs), ", a TCP listener" if self.tcp else "",
                                            ", openssl s_server" if self.tls else ""))

        with open(TEMPLATE, encoding="utf-8") as f:
            config = PORT_RE.sub(lambda m: str(self.sim_ports[m.group(1)]), f.read())
        self.exporter_config_text = config.replace("{{prometheus_url}}", self.prom)
        stack.write_file(self.exporter_config, self.exporter_config_text)
        self.exporter_proc, self.exporter_port = self.stack.start_exporter(self.bins["triage_exporter"],
                                                                           self.exporter_config)
        log("triage_exporter on 127.0.0.1:%d" % self.exporter_port)
        for s in self.scenarios:
            for want in s["expect"]:
                for k, v in want.items():
                    want[k] = v.replace("{{exporter}}", "127.0.0.1:%d" % self.exporter_port)

        self.runbook_base = "http://127.0.0.1:%d/runbooks/" % self.exporter_port
        self.rules = stack.scale_rules(self.bins["triage_rulegen"], FACTOR, self.runbook_base,
                                       os.path.join(self.tmp, "rules.yaml"))
        self.stack.start_alertmanager(
            stack.alertmanager_config(os.path.join(REPO, "alerts", "alertmanager", "inhibit.yaml"),
                                      webhook_url=self.recorder + "/alertmanager",
                                      group_by=("alertname", "service", "probe"),
                                      group_wait="%ds" % GROUP_WAIT, group_interval="1s", repeat_interval="1h"),
            AM_PORT)
        log("Alertmanager on %s" % self.am)
        # Without the rules until every job has been scraped (wait_ready):
        # Prometheus applies its targets only every 5 s, as long as the scaled
        # for of TriageExporterAbsent, which would otherwise race the first
        # scrape of the exporter and page before anything was switched on.
        self.stack.start_prometheus(self.prometheus_config(bearer=True, rules=False), PROM_PORT,
                                    resend_delay="%ds" % RESEND_DELAY, for_grace_period="1s", lifecycle=True)
        log("Prometheus on %s" % self.prom)

    def wait_ready(self):
        """Prometheus scrapes every job and sees every probe; then it gets the
        rules."""
        status = {}

        def ready():
            up = self.prom_query('up{job="triage_exporter"}')
            status["up"] = up[0]["value"][1] if up else None
            configured = self.prom_query("triage_exporter_probes_configured")
            seen = self.prom_query("count(triage_probe_info)")
            status["probes"] = "%s of %s" % (seen[0]["value"][1] if seen else 0,
                                             configured[0]["value"][1] if configured else "?")
            # Every other job (the scenarios' own scrapes) is up as well.
            down = self.prom_query("up == 0")
            status["jobs down"] = sorted(d["metric"].get("job", "?") for d in down or [])
            return (status["up"] == "1" and configured and seen and
                    seen[0]["value"][1] == configured[0]["value"][1] and down == [])
        deadline = time.monotonic() + READY_DEADLINE
        if not stack.wait_until(ready, READY_DEADLINE, 0.5):
            raise stack.StackError("the stack is not ready within %d s: %s" % (READY_DEADLINE, status))
        log("Prometheus scrapes every job and sees every probe (%s)" % status["probes"])

        self.reload_prometheus(bearer=True)
        self.wait_notifier()

        def rules_loaded():
            rules = stack.get_json(self.prom + "/api/v1/rules")
            status["rules"] = len(rules["data"]["groups"]) if rules else 0
            return status["rules"] > 0
        if not stack.wait_until(rules_loaded, max(1.0, deadline - time.monotonic()), 0.2):
            raise stack.StackError("Prometheus has no rule group after the reload: %s" % status)
        log("Prometheus evaluates the rules scaled by %d (%d rule groups)" % (FACTOR, status["rules"]))

    # ---- the failures
    def switch(self, s, on):
        """Switches the failure of scenario s on or (on=False) off again."""
        for name, _, mode in self.simulators(s):
            if mode == "restart_loop":
                if on:
                    t = threading.Thread(target=self._restart_loop, args=(name,), daemon=True)
                    t.start()
                    self.restart_threads.append(t)
                else:
                    self.set_mode(name, "ok")  # the loop has been stopped
            elif mode:
                self.set_mode(name, mode if on else "ok")
        action = s["action"]
        if action == "close_listener":
            if on:
                self.tcp.close()
            else:
                self.tcp.reopen()
        elif action == "short_lived_cert":
            self.tls.use("short" if on else "long")
        elif action == "prometheus_without_bearer":
            self.reload_prometheus(bearer=not on)
        elif action == "broken_config":
            self.reload_exporter(s, broken=on)
        elif action == "stop_exporter":
            if on:
                self.stop_exporter()
            else:
                self.restart_exporter()

    def reload_prometheus(self, bearer):
        self.stack.reload_prometheus(self.prom, self.prometheus_config(bearer=bearer))
        self.prom_reloaded_at = time.monotonic()

    def wait_notifier(self):
        """After a reload of Prometheus: waits until it knows the Alertmanager
        again. A gap as long as a firing alert stays valid would let
        Alertmanager resolve alerts by timeout, and the resolved notifications
        would prove nothing: that fails the run."""
        since, self.prom_reloaded_at = self.prom_reloaded_at, None
        if since is None:
            return

        def known():
            d = stack.get_json(self.prom + "/api/v1/alertmanagers")
            return bool(d and d["data"]["activeAlertmanagers"])
        stack.wait_until(known, NOTIFIER_DEADLINE, 0.1)
        gap = time.monotonic() - since
        log("Prometheus knows the Alertmanager again %.1fs after its reload" % gap)
        if gap >= ALERT_VALIDITY - 1:
            self.preflight.append((False, "Prometheus did not know the Alertmanager for %.1f s after a reload, "
                                          "about as long as a firing alert stays valid (%d s): a resolved "
                                          "notification may be a timeout" % (gap, ALERT_VALIDITY)))

    def reload_exporter(self, s, broken):
        """Writes the broken configuration (or the good one again) and has the
        exporter reload it; a refused broken one must leave the probes running."""
        before = self.exporter_metric("triage_exporter_probes_configured")
        stack.write_file(self.exporter_config, self.exporter_config_text + (BROKEN_SERVICE if broken else ""))
        status, body = stack.http_request("http://127.0.0.1:%d/-/reload" % self.exporter_port, method="POST",
                                          data=b"", timeout=10)
        text = body.decode(errors="replace").strip()
        if broken:
            if status != 500 or BROKEN_ERROR not in text:
                self.scenario_failed(s, "POST /-/reload of the broken configuration answered %s %r, want 500 "
                                        "with %s" % (status, text[:300], BROKEN_ERROR))
            after = self.exporter_metric("triage_exporter_probes_configured")
            if after != before:
                self.scenario_failed(s, "after the refused reload triage_exporter_probes_configured is %s, "
                                        "was %s: the running configuration was not kept" % (after, before))
            else:
                log("%s: the exporter refused the broken configuration (%s) and keeps its %s probes" %
                    (s["name"], status, after))
        elif status != 200:
            self.scenario_failed(s, "POST /-/reload of the good configuration answered %s %r" % (status, text[:200]))

    def exporter_metric(self, name):
        status, body = stack.http_request("http://127.0.0.1:%d/metrics" % self.exporter_port, timeout=5)
        m = re.search(r"^%s(?:\{[^}]*\})? (\S+)$" % re.escape(name), body.decode(errors="replace"), re.M)
        return m.group(1) if status == 200 and m else None

    def stop_exporter(self):
        rc = self.stack.stop_one(self.exporter_proc)
        log("triage_exporter stopped (exit status %s)" % rc)

    def restart_exporter(self):
        """Starts the exporter again on the port Prometheus scrapes."""
        listen = "127.0.0.1:%d" % self.exporter_port
        for attempt in range(1, 6):
            try:
                self.exporter_proc, _ = self.stack.start_exporter(
                    self.bins["triage_exporter"], self.exporter_config, listen=listen,
                    name="exporter-restarted-%d" % attempt)
                log("triage_exporter started again on %s" % listen)
                return
            except stack.StackError as e:
                if attempt == 5:
                    raise stack.StackError("the exporter could not start again on %s: %s" % (listen, e))
                time.sleep(1)

    def switch_on(self):
        for s in self.scenarios:
            if s["phase"] == "together":
                self.switch(s, True)
        self.wait_notifier()

    def _restart_loop(self, sim):
        # Every entry into mode restarted is a new process start time.
        while not self.restart_stop.is_set():
            for mode in ("restarted", "ok"):
                try:
                    self.set_mode(sim, mode)
                except stack.StackError as e:
                    log("restart loop: %s" % e)
                if self.restart_stop.wait(RESTART_PERIOD):
                    return

    def switch_off(self):
        self.restart_stop.set()
        for t in self.restart_threads:
            t.join(timeout=5)
        for s in self.scenarios:
            if s["phase"] == "together":
                self.switch(s, False)
        self.wait_notifier()

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

    def firing_phase(self, expect_rows, inhibit_rows, t_on, limit=FIRE_DEADLINE, first_index=0,
                     runbook_now=True):
        """Waits until every expected alert has a firing notification (from
        notification first_index on) and every inhibited one has been watched.
        runbook_now=False leaves the runbook check to the caller (the exporter
        that serves the page may be away)."""
        deadline = t_on + limit
        while True:
            now = time.monotonic()
            notifs = self.notifications()[first_index:]
            for row in expect_rows:
                if row.delivered is not None:
                    continue
                for n in notifs:
                    hit = next((a for a in n.get("alerts") or [] if a.get("status") == "firing"
                                and row.match(a.get("labels", {}))), None) if isinstance(n, dict) else None
                    if hit:
                        row.delivered = now - t_on
                        row.runbook_url = hit.get("annotations", {}).get("runbook_url")
                        log("delivered %s after %.1fs" % (fmt_labels(row.labels), row.delivered))
                        if runbook_now:
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
                row.details.append("no firing notification within %d s%s" % (limit, self.near_misses(row)))
        self.judge_inhibition(inhibit_rows)

    def near_misses(self, row):
        """The labels of notified alerts of the same name, for a row never delivered."""
        seen = {json.dumps(a.get("labels", {}), sort_keys=True) for n in self.notifications() if isinstance(n, dict)
                for a in n.get("alerts") or [] if a.get("labels", {}).get("alertname") == row.labels["alertname"]}
        return "; notified with other labels: %s" % ", ".join(sorted(seen)[:3]) if seen else ""

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
            if not s["service"]:
                continue  # the exporter's own scenarios: no service to show
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
            # Prometheus must agree: a resolved notification while it still
            # has the alert active would be Alertmanager's timeout.
            active = self.prometheus_alerts()
            for row in list(waiting):
                if any(isinstance(n, dict) and any(a.get("status") == "resolved" and row.match(a.get("labels", {}))
                                                   for a in n.get("alerts") or []) for n in notifs) and \
                        active is not None and not any(row.match(a) for a in active):
                    row.resolved = now - t_off
                    waiting.remove(row)
                    log("resolved %s after %.1fs" % (fmt_labels(row.labels), row.resolved))
            if not waiting or now >= deadline:
                break
            time.sleep(0.5)
        for row in waiting:
            row.resolved = False
            row.details.append("no resolved notification (with the alert gone from Prometheus) within %d s of "
                               "the recovery" % RESOLVE_DEADLINE)

    # ---- the whole run
    def run(self):
        if not self.check_inputs():
            return
        self.start()
        self.wait_ready()
        expect_rows, inhibit_rows, last_rows = [], [], []
        for s in self.scenarios:
            for want in s["expect"]:
                row = Row(s["name"], fmt_labels(want), want, exact=s["exact_labels"])
                row.inhibited = "-"
                (last_rows if s["phase"] == "last" else expect_rows).append(row)
                self.rows_of.setdefault(s["name"], []).append(row)
                self.rows.append(row)
            for want in s["inhibited"]:
                row = Row(s["name"], fmt_labels(want) + " (inhibited)", want, kind="inhibited")
                row.source = s["expect"][0]
                row.delivered = row.runbook = row.resolved = "-"
                inhibit_rows.append(row)
                self.rows.append(row)

        # Nothing the scenarios expect may fire before they are switched on.
        present = self.am_alerts()
        early = [fmt_labels(r.labels) for r in expect_rows + last_rows
                 if any(r.match(a["labels"]) for a in present)]
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
        self.last_phase()

    def last_phase(self):
        """The scenarios that would silence every other: one after the other,
        once the rest has resolved (stop_exporter: the runbook page is checked
        once the exporter is back)."""
        for s in self.scenarios:
            if s["phase"] != "last":
                continue
            rows = self.rows_of.get(s["name"], [])
            first_index = len(self.notifications())
            t_on = time.monotonic()
            self.switch(s, True)
            log("%s: switched on; waiting for the alerts (at most %d s)" % (s["name"], LAST_FIRE_DEADLINE))
            self.firing_phase(rows, [], t_on, limit=LAST_FIRE_DEADLINE, first_index=first_index,
                              runbook_now=False)
            first_index = len(self.notifications())
            t_off = time.monotonic()
            self.switch(s, False)
            for row in rows:
                if row.delivered:
                    self.check_runbook(row)
            log("%s: switched off; waiting for the resolved notifications (at most %d s)" %
                (s["name"], RESOLVE_DEADLINE))
            self.resolve_phase(rows, first_index, t_off)

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
    ap.add_argument("--pgid-file", help="list of started process groups (python3 -m triagetest.stack reap)")
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

#!/usr/bin/env python3
"""The whole triage stack on loopback: triage_simulator, triage_exporter, the
real Prometheus and Alertmanager (Debian packages) and, for tests, a webhook
receiver that records every notification.

Used by `make demo` (scripts/demo.sh runs `python3 -m triagetest.stack demo`),
by the Python test drivers of tests/ (the end-to-end suite, hostile, load,
deploy) and by the benchmarks of bench/. It writes the Prometheus and
Alertmanager configurations, renders a time-scaled copy of the rule pack with
triage_rulegen, starts every process in a process group of its own and stops
them all again, also on failure and on Ctrl-C.

Every process started is listed in a "pgid file" (one line per process: its
process group, a name and the program; and the temporary directory) until it
has been stopped. When the
Python process itself dies before it could clean up, the calling shell runs
`python3 -m triagetest.stack reap --pgid-file FILE`, which stops what is still
listed (after checking that the group leader still runs the program that was
started).

Standard library only.

Commands (PYTHONPATH=<repo>/tests/lib):
  python3 -m triagetest.stack demo --build DIR [--exporter-port 9479]
      [--prometheus-port 9090] [--alertmanager-port 9093] [--duration SECONDS]
      [--pgid-file FILE]
  python3 -m triagetest.stack reap --pgid-file FILE
"""

import argparse
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
import urllib.error
import urllib.request

# This file is <repo>/tests/lib/triagetest/stack.py.
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

# Neither the tests nor the demo ever want a proxy between them and loopback.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class StackError(Exception):
    """A problem that stops the stack from coming up, with a message for people."""


# ----------------------------------------------------------------------------- HTTP


def http_request(url, method="GET", data=None, timeout=5.0, headers=None):
    """Returns (status, body bytes); status 0 and the error text as body when
    nothing answered."""
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with _OPENER.open(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, OSError, ValueError) as e:
        return 0, str(e).encode()


def get_json(url, timeout=5.0):
    """The decoded JSON answer of a GET, or None when it failed."""
    status, body = http_request(url, timeout=timeout)
    if status != 200:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def wait_until(predicate, timeout, interval=0.2):
    """Calls predicate until it returns something true or time is up; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


# ----------------------------------------------------------------------------- ports and binaries


def port_in_use(port, host="127.0.0.1"):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        try:
            s.connect((host, port))
            return True
        except OSError:
            return False


def require_free_ports(ports):
    """ports: list of (port, what). Raises StackError naming every taken one."""
    taken = ["127.0.0.1:%d (%s)" % (p, what) for p, what in ports if port_in_use(p)]
    if taken:
        raise StackError("already in use: %s. Stop what holds %s and rerun." %
                         (", ".join(taken), "it" if len(taken) == 1 else "them"))


def find_prometheus():
    path = shutil.which("prometheus")
    if not path:
        raise StackError("prometheus not found: install the Debian package prometheus (make deps)")
    return path


def find_alertmanager():
    """Debian installs the server as prometheus-alertmanager; upstream calls it alertmanager."""
    for name in ("alertmanager", "prometheus-alertmanager"):
        path = shutil.which(name)
        if path:
            return path
    try:
        out = subprocess.run(["dpkg", "-L", "prometheus-alertmanager"], capture_output=True,
                             text=True, check=False).stdout
        for line in out.splitlines():
            if re.search(r"/bin/(prometheus-)?alertmanager$", line) and os.access(line, os.X_OK):
                return line
    except OSError:
        pass
    raise StackError("alertmanager not found: install the Debian package prometheus-alertmanager (make deps)")


def require_file(path, what):
    if not os.path.exists(path):
        raise StackError("%s not found at %s" % (what, path))
    return path


# ----------------------------------------------------------------------------- configurations


def scale_rules(rulegen, factor, runbook_base_url, out, repo=REPO):
    """Renders rules/catalog/ with every duration divided by factor and
    runbook_url pointing at runbook_base_url (triage_rulegen scale)."""
    cmd = [rulegen, "scale", "--catalog", os.path.join(repo, "rules", "catalog"),
           "--runbooks", os.path.join(repo, "runbooks"), "--factor", str(factor),
           "--runbook-base-url", runbook_base_url, "--out", out]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise StackError("triage_rulegen scale failed (exit %d): %s" %
                         (res.returncode, (res.stderr or res.stdout).strip()))
    return out


def prometheus_config(exporter_target, alertmanager_target, rule_file, scrape_interval="1s",
                      evaluation_interval="1s", job="triage_exporter", extra_scrape_configs=""):
    """Prometheus configuration: one scrape job for the exporter (named as
    TriageExporterAbsent expects), the rule file (none when rule_file is
    None), one Alertmanager.
    extra_scrape_configs: YAML list items appended under scrape_configs
    (indented by two spaces, like the exporter's job)."""
    return """# Written by tests/lib/triagetest/stack.py.
global:
  scrape_interval: {si}
  scrape_timeout: {si}
  evaluation_interval: {ei}
rule_files: [{rules}]
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['{am}']
scrape_configs:
  - job_name: {job}
    static_configs:
      - targets: ['{exporter}']
""".format(si=scrape_interval, ei=evaluation_interval, rules=json.dumps(rule_file) if rule_file else "",
           am=alertmanager_target, job=job, exporter=exporter_target) + extra_scrape_configs


def alertmanager_config(inhibit_file, webhook_url=None, group_by=("alertname", "service"),
                        group_wait="1s", group_interval="1s", repeat_interval="1h"):
    """Alertmanager configuration: one route to one receiver, either the
    webhook recorder (with resolved notifications) or a receiver without
    integrations (the alerts show in the UI only), followed by the generated
    inhibit rules."""
    if webhook_url:
        receiver = """receivers:
  - name: default
    webhook_configs:
      - url: {url}
        send_resolved: true
""".format(url=json.dumps(webhook_url))
    else:
        receiver = """receivers:
  - name: default   # no integration: the alerts show in the Alertmanager UI
"""
    with open(inhibit_file, encoding="utf-8") as f:
        inhibit = f.read()
    return """# Written by tests/lib/triagetest/stack.py; the inhibit rules below are {src}.
route:
  receiver: default
  group_by: [{group_by}]
  group_wait: {gw}
  group_interval: {gi}
  repeat_interval: {ri}
{receiver}
{inhibit}""".format(src=os.path.relpath(inhibit_file, REPO), group_by=", ".join(group_by),
                    gw=group_wait, gi=group_interval, ri=repeat_interval, receiver=receiver,
                    inhibit=inhibit)


def write_file(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


# ----------------------------------------------------------------------------- processes


class PgidFile:
    """The processes started and not yet stopped, for `triagetest.stack reap`."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.entries = {}
        self.workdir = None
        if path:
            open(path, "a", encoding="utf-8").close()

    def _write(self):
        if not self.path:
            return
        tmp = self.path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            if self.workdir:
                f.write("workdir\t%s\n" % self.workdir)
            for pgid, (name, prog) in self.entries.items():
                f.write("%d\t%s\t%s\n" % (pgid, name, prog))
        os.replace(tmp, self.path)

    def set_workdir(self, path):
        """A temporary directory for reap to remove (None: keep it)."""
        with self.lock:
            self.workdir = path
            self._write()

    def add(self, pgid, name, prog):
        with self.lock:
            self.entries[pgid] = (name, prog)
            self._write()

    def remove(self, pgid):
        with self.lock:
            self.entries.pop(pgid, None)
            self._write()


def _group_runs(pgid, prog):
    """True when process pgid still runs prog (guards against a reused pid)."""
    try:
        with open("/proc/%d/cmdline" % pgid, "rb") as f:
            argv0 = f.read().split(b"\0", 1)[0].decode(errors="replace")
    except OSError:
        return False
    return os.path.basename(argv0) == os.path.basename(prog)


def reap(pgid_file):
    """Stops every process group still listed in pgid_file; returns how many."""
    try:
        with open(pgid_file, encoding="utf-8") as f:
            lines = [l.rstrip("\n").split("\t") for l in f if l.strip()]
    except OSError:
        return 0
    groups = []
    workdir = None
    for fields in lines:
        if len(fields) == 2 and fields[0] == "workdir":
            workdir = fields[1]
        if len(fields) != 3 or not fields[0].isdigit():
            continue
        pgid, name, prog = int(fields[0]), fields[1], fields[2]
        if _group_runs(pgid, prog):
            groups.append((pgid, name))
    for pgid, name in groups:
        sys.stderr.write("stack: stopping leftover %s (process group %d)\n" % (name, pgid))
        _killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while groups and time.monotonic() < deadline:
        if not any(_group_alive(p) for p, _ in groups):
            break
        time.sleep(0.1)
    for pgid, _ in groups:
        _killpg(pgid, signal.SIGKILL)
    # Only a directory this module made: tempfile's directory, "triage-" prefix.
    if workdir and os.path.dirname(workdir) == tempfile.gettempdir() and \
            os.path.basename(workdir).startswith("triage-") and os.path.isdir(workdir):
        shutil.rmtree(workdir, ignore_errors=True)
    return len(groups)


def _killpg(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


class Proc:
    def __init__(self, name, popen, out_path, err_path):
        self.name = name
        self.popen = popen
        self.out_path = out_path
        self.err_path = err_path

    @property
    def pid(self):
        return self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def output(self, which="err", tail=20):
        path = self.err_path if which == "err" else self.out_path
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                lines = f.read().splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-tail:])


class Stack:
    """Processes started in a temporary directory; stop() ends them all."""

    def __init__(self, workdir, pgid_file=None, log=None):
        self.workdir = workdir
        self.procs = []
        self.pgids = PgidFile(pgid_file)
        self.log = log or (lambda msg: None)

    # -- generic
    def spawn(self, name, argv, cwd=None):
        out = os.path.join(self.workdir, name + ".out")
        err = os.path.join(self.workdir, name + ".err")
        with open(out, "wb") as fo, open(err, "wb") as fe:
            popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=fo, stderr=fe,
                                     cwd=cwd or REPO, start_new_session=True)
        proc = Proc(name, popen, out, err)
        self.procs.append(proc)
        self.pgids.add(popen.pid, name, argv[0])
        return proc

    def stop_one(self, proc, grace=5.0):
        """Stops one process group (SIGTERM, SIGKILL after grace seconds) and
        forgets it; returns its exit status."""
        if proc.alive():
            _killpg(proc.pid, signal.SIGTERM)
            try:
                proc.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.log("%s (pid %d) ignored SIGTERM for %.0f s, killing it" % (proc.name, proc.pid, grace))
        _killpg(proc.pid, signal.SIGKILL)
        try:
            proc.popen.wait(timeout=2)
        except subprocess.TimeoutExpired:
            pass
        self.pgids.remove(proc.pid)
        if proc in self.procs:
            self.procs.remove(proc)
        return proc.popen.returncode

    def dead(self):
        """(name, exit status) of every process that has exited."""
        return [(p.name, p.popen.returncode) for p in self.procs if not p.alive()]

    def stop(self, grace=5.0):
        """SIGTERM to every process group (newest first), SIGKILL after grace seconds.
        A second Ctrl-C does not interrupt this."""
        saved = None
        if threading.current_thread() is threading.main_thread():
            saved = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            self._stop(grace)
        finally:
            for s, handler in (saved or {}).items():
                signal.signal(s, handler)

    def _stop(self, grace):
        procs = list(reversed(self.procs))
        for p in procs:
            if p.alive():
                _killpg(p.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for p in procs:
            left = max(0.0, deadline - time.monotonic())
            try:
                p.popen.wait(timeout=left)
            except subprocess.TimeoutExpired:
                self.log("%s (pid %d) ignored SIGTERM for %.0f s, killing it" % (p.name, p.pid, grace))
            # Anything left in the group (and a leader that ignored TERM) goes now.
            _killpg(p.pid, signal.SIGKILL)
            try:
                p.popen.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
            self.pgids.remove(p.pid)
        self.procs = []

    def wait_for(self, proc, what, predicate, timeout):
        """Waits until predicate() is true; raises StackError (with the end of
        proc's stderr) when proc exits first or time is up."""
        return self._wait_for(proc, what, predicate, timeout)

    def _wait_for(self, proc, what, predicate, timeout):
        def check():
            v = predicate()
            if v:
                return v
            if not proc.alive():
                raise StackError("%s exited (status %s) before %s:\n%s" %
                                 (proc.name, proc.popen.returncode, what, proc.output("err")))
            return None
        v = wait_until(check, timeout)
        if not v:
            raise StackError("%s: no %s within %.0f s:\n%s" % (proc.name, what, timeout, proc.output("err")))
        return v

    # -- the project's binaries
    def start_simulator(self, sim_bin, name, system="echo", mode="ok", listen="127.0.0.1:0",
                        token_file=None, scenario=None, timeout=15):
        """Starts triage_simulator; returns (Proc, port)."""
        return self.start_simulators(sim_bin, [dict(name=name, system=system, mode=mode, listen=listen,
                                                    token_file=token_file, scenario=scenario)], timeout)[name]

    def start_simulators(self, sim_bin, specs, timeout=15):
        """Starts one triage_simulator per spec (a dict with name, system and
        optionally mode, listen, token_file, scenario) without waiting in
        between; returns {name: (Proc, port)} once every one listens."""
        procs = []
        for spec in specs:
            argv = [sim_bin, "--system=" + spec.get("system", "echo"), "--mode=" + spec.get("mode", "ok"),
                    "--listen-address=" + spec.get("listen", "127.0.0.1:0")]
            if spec.get("token_file"):
                argv.append("--token-file=" + spec["token_file"])
            if spec.get("scenario"):
                argv.append("--scenario=" + spec["scenario"])
            procs.append(self.spawn(spec["name"], argv))

        def port(proc):
            try:
                with open(proc.out_path, encoding="utf-8") as f:
                    m = re.search(r"^listening address=[0-9.]+:(\d+)$", f.read(), re.M)
            except OSError:
                return None
            return int(m.group(1)) if m else None
        deadline = time.monotonic() + timeout
        return {proc.name: (proc, self._wait_for(proc, "listening address", lambda p=proc: port(p),
                                                 max(0.5, deadline - time.monotonic())))
                for proc in procs}

    def start_exporter(self, exporter_bin, config, listen="127.0.0.1:0", name="exporter", timeout=15):
        """Starts triage_exporter; returns (Proc, port) once /-/ready answers."""
        proc = self.spawn(name, [exporter_bin, "--config.file=" + config, "--web.listen-address=" + listen])

        def port():
            try:
                with open(proc.err_path, encoding="utf-8", errors="replace") as f:
                    for line in f:
                        if "msg=started" in line:
                            m = re.search(r"\baddress=[0-9.]*:(\d+)", line)
                            if m:
                                return int(m.group(1))
            except OSError:
                pass
            return None
        p = self._wait_for(proc, "start-up log line with its address", port, timeout)
        self._wait_for(proc, "answer on /-/ready",
                       lambda: http_request("http://127.0.0.1:%d/-/ready" % p, timeout=2)[0] == 200, timeout)
        return proc, p

    def start_webhook_recorder(self, out, name="webhook", timeout=10):
        """Starts tests/tools/webhook_recorder.py; returns (Proc, base URL)."""
        recorder = require_file(os.path.join(REPO, "tests", "tools", "webhook_recorder.py"), "webhook recorder")
        port_file = os.path.join(self.workdir, name + ".port")
        proc = self.spawn(name, [sys.executable, recorder, "--port", "0", "--port-file", port_file,
                                 "--out", out, "--quiet"])

        def port():
            try:
                with open(port_file, encoding="utf-8") as f:
                    return int(f.read().strip())
            except (OSError, ValueError):
                return None
        p = self._wait_for(proc, "port file", port, timeout)
        return proc, "http://127.0.0.1:%d" % p

    # -- Alertmanager and Prometheus
    def start_alertmanager(self, config_text, port, name="alertmanager", external_host="127.0.0.1",
                           timeout=30):
        """Writes the configuration and starts Alertmanager on 127.0.0.1:port,
        clustering off; returns (Proc, URL) once /-/ready answers."""
        am_bin = find_alertmanager()
        config = write_file(os.path.join(self.workdir, name + ".yml"), config_text)
        url = "http://127.0.0.1:%d" % port
        proc = self.spawn(name, [am_bin, "--config.file=" + config,
                                 "--storage.path=" + os.path.join(self.workdir, name + "-data"),
                                 "--web.listen-address=127.0.0.1:%d" % port,
                                 "--web.external-url=http://%s:%d/" % (external_host, port),
                                 "--cluster.listen-address=", "--log.level=info"])
        self._wait_for(proc, "answer on /-/ready",
                       lambda: http_request(url + "/-/ready", timeout=2)[0] == 200, timeout)
        return proc, url

    def start_prometheus(self, config_text, port, name="prometheus", external_host="127.0.0.1",
                         resend_delay="1s", for_grace_period="1s", lifecycle=False, timeout=60):
        """Writes the configuration (to WORKDIR/<name>.yml) and starts
        Prometheus on 127.0.0.1:port; returns (Proc, URL) once /-/ready answers.

        resend_delay: Prometheus drops alerts that fire before it has found the
        Alertmanager and sends them again only after this delay (1m by default).
        lifecycle: enable POST /-/reload (see reload_prometheus)."""
        prom_bin = find_prometheus()
        config = write_file(os.path.join(self.workdir, name + ".yml"), config_text)
        url = "http://127.0.0.1:%d" % port
        proc = self.spawn(name, [prom_bin, "--config.file=" + config,
                                 "--storage.tsdb.path=" + os.path.join(self.workdir, name + "-data"),
                                 "--storage.tsdb.retention.time=1d",
                                 "--web.listen-address=127.0.0.1:%d" % port,
                                 "--web.external-url=http://%s:%d/" % (external_host, port),
                                 "--rules.alert.resend-delay=" + resend_delay,
                                 "--rules.alert.for-grace-period=" + for_grace_period,
                                 "--log.level=info"] + (["--web.enable-lifecycle"] if lifecycle else []))
        self._wait_for(proc, "answer on /-/ready",
                       lambda: http_request(url + "/-/ready", timeout=2)[0] == 200, timeout)
        return proc, url


    def reload_prometheus(self, url, config_text, name="prometheus"):
        """Rewrites the configuration of a Prometheus started with
        lifecycle=True and has it reload (POST /-/reload, which answers once
        the new configuration is applied). Raises StackError when it refuses."""
        write_file(os.path.join(self.workdir, name + ".yml"), config_text)
        status, body = http_request(url + "/-/reload", method="POST", data=b"", timeout=30)
        if status != 200:
            raise StackError("Prometheus refused the reload (%s): %s" %
                             (status, body.decode(errors="replace").strip()[:300]))


# ----------------------------------------------------------------------------- the demo

DEMO_FACTOR = 10
DEMO_SIMULATORS = [  # name, system, port, scenario
    ("echo", "echo", 18081, "demo.yaml"),
    ("node", "node", 18082, "node-demo.yaml"),
    ("kube", "kube", 18083, "kube-demo.yaml"),
]
DEMO_CLOSED_PORT = 18089  # the demo's "Redis that is not running"


def demo(args):
    build = os.path.abspath(args.build)
    sim_bin = require_file(os.path.join(build, "triage_simulator"), "triage_simulator (make build)")
    exporter_bin = require_file(os.path.join(build, "triage_exporter"), "triage_exporter (make build)")
    rulegen = require_file(os.path.join(build, "triage_rulegen"), "triage_rulegen (make build)")
    find_prometheus()
    find_alertmanager()
    ep, pp, ap = args.exporter_port, args.prometheus_port, args.alertmanager_port
    # examples/demo.yaml names the simulators' ports, so a port held by
    # something else would have the exporter probe that instead.
    require_free_ports([(ep, "the exporter")] +
                       [(port, "the %s simulator" % name) for name, _, port, _ in DEMO_SIMULATORS] +
                       [(pp, "Prometheus"), (ap, "Alertmanager")])
    if port_in_use(DEMO_CLOSED_PORT):
        print("demo: warning: something listens on 127.0.0.1:%d, so the probe storage/redis will not "
              "show connection_refused" % DEMO_CLOSED_PORT, file=sys.stderr)

    tmp = tempfile.mkdtemp(prefix="triage-demo.")
    stack = Stack(tmp, args.pgid_file, log=lambda m: print("demo: " + m, file=sys.stderr))
    stack.pgids.set_workdir(tmp)
    try:
        runbooks = "http://localhost:%d/runbooks/" % ep
        rules = scale_rules(rulegen, DEMO_FACTOR, runbooks, os.path.join(tmp, "rules.yaml"))
        scenarios = os.path.join(REPO, "tools", "simulator", "scenarios")
        token = os.path.join(REPO, "examples", "demo.token")
        stack.start_simulators(sim_bin, [dict(name=name, system=system, listen="127.0.0.1:%d" % port,
                                              token_file=token, scenario=os.path.join(scenarios, scenario))
                                         for name, system, port, scenario in DEMO_SIMULATORS])
        stack.start_exporter(exporter_bin, os.path.join(REPO, "examples", "demo.yaml"),
                             listen="127.0.0.1:%d" % ep)
        stack.start_alertmanager(
            alertmanager_config(os.path.join(REPO, "alerts", "alertmanager", "inhibit.yaml"),
                                group_wait="5s", group_interval="30s", repeat_interval="4h"),
            ap, external_host="localhost")
        stack.start_prometheus(
            prometheus_config("127.0.0.1:%d" % ep, "127.0.0.1:%d" % ap, rules,
                              scrape_interval="2s", evaluation_interval="2s"),
            pp, external_host="localhost", resend_delay="2s", for_grace_period="10s")
        urls = "\n".join("  %-34s %s" % (url % port, what) for url, port, what in [
            ("http://localhost:%d/", ep, "probes and their last outcome"),
            ("http://localhost:%d/metrics", ep, "the metrics Prometheus scrapes"),
            ("http://localhost:%d/runbooks/", ep, "the runbooks every alert links to"),
            ("http://localhost:%d/probe?service=echo&probe=api&debug=true", ep,
             "\n" + " " * 37 + "run one probe now, with its debug log"),
            ("http://localhost:%d/alerts", pp, "Prometheus: the rules, pending and firing alerts"),
            ("http://localhost:%d/#/alerts", ap, "Alertmanager: the alerts it received; each alert's\n" +
             " " * 37 + "runbook_url opens its runbook section on the exporter"),
        ])
        urls = "\n".join(line.rstrip() for line in urls.splitlines())
        print(DEMO_MESSAGE.format(urls=urls, port=ep, factor=DEMO_FACTOR), flush=True)

        end = time.monotonic() + args.duration if args.duration else None
        while end is None or time.monotonic() < end:
            dead = stack.dead()
            if dead:
                name, rc = dead[0]
                proc = [p for p in stack.procs if p.name == name][0]
                print("demo: %s exited (status %s); stopping the demo:\n%s" % (name, rc, proc.output("err")),
                      file=sys.stderr)
                return 1
            time.sleep(0.5)
        return 0
    finally:
        stack.stop()
        shutil.rmtree(tmp, ignore_errors=True)


DEMO_MESSAGE = """
The demo stack is up: three simulators (services echo, node, storage), triage_exporter
probing them, Prometheus evaluating the rule pack and Alertmanager. Open:
{urls}
Durations are shortened for the demo: the rule pack is scaled by {factor} (triage_rulegen
scale), so an alert with "for: 5m" fires after 30 s and a 1h burn-rate window is 6 min.
The first alerts reach Alertmanager within a minute (storage/redis is down from the start);
more follow within two.
Each simulator changes mode every 5 s. Within 30 s /metrics shows:
  echo     the API's 401, 429 and 503 (then 500 and 403), its error codes and Retry-After
             curl -s http://localhost:{port}/metrics | grep 'triage_http_responses_total{{service="echo",probe="api"'
  node     one readiness key after another failing, the cluster's leader, its metrics page
             curl -s http://localhost:{port}/metrics | grep -E 'triage_readiness_check_ok|triage_cluster_'
  storage  the claim going Bound -> Pending -> Lost, and a Redis that is not running
             curl -s http://localhost:{port}/metrics | grep -E 'triage_pvc_|reason="connection_refused"'
Performance mode and the cluster's troubles (no leader, a flapping leader, a
lagging follower) come later in the node's 75 s round.
Switch a mode by hand (modes: triage_simulator --help):
  curl -X POST 'http://127.0.0.1:18081/-/mode?mode=rate_limited'
  curl -X POST 'http://127.0.0.1:18082/-/mode?mode=no_leader'
  curl -X POST 'http://127.0.0.1:18083/-/mode?mode=pending_no_default_storageclass'
Press Ctrl-C to stop.
"""


# ----------------------------------------------------------------------------- CLI


def raise_on_signal(signum, _frame):
    """Signal handler: unwinds to the caller's finally (which stops the stack);
    a second signal while that runs is ignored."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise SystemExit(128 + signum)


def main(argv):
    ap = argparse.ArgumentParser(prog="python3 -m triagetest.stack", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="run the demo stack until Ctrl-C or --duration")
    d.add_argument("--build", default="build", help="build directory with the binaries")
    d.add_argument("--exporter-port", type=int, default=9479)
    d.add_argument("--prometheus-port", type=int, default=9090)
    d.add_argument("--alertmanager-port", type=int, default=9093)
    d.add_argument("--duration", type=float, default=0, help="stop after this many seconds (0: never)")
    d.add_argument("--pgid-file", help="list of started process groups, for `reap`")
    r = sub.add_parser("reap", help="stop the processes a dead demo or test driver left behind")
    r.add_argument("--pgid-file", required=True)
    args = ap.parse_args(argv)

    if args.command == "reap":
        reap(args.pgid_file)
        return 0
    signal.signal(signal.SIGTERM, raise_on_signal)
    signal.signal(signal.SIGINT, raise_on_signal)
    try:
        return demo(args)
    except StackError as e:
        print("demo: %s" % e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""Load: 64 concurrent scrapers (wrk) on /metrics of an exporter running
10,000 probes for 60 s, with two reloads in the middle.

Starts on loopback a triage_simulator (every probe asks its /health) and
triage_exporter with 10,000 HTTP probes, then runs wrk with 64 connections
on /metrics for 60 s. Meanwhile a checker of its own scrapes /metrics in a
loop and, at 20 s, the configuration gains a probe and changes another
(SIGHUP); at 40 s a broken configuration is offered through POST /-/reload
and refused, and the good file is put back.

Asserts:
  - wrk saw no error: no socket error, no timeout, no status but 200;
  - every scrape of the checker answered 200 (none lost across the reloads);
  - the counters of 20 unchanged probes never went down between two of the
    checker's scrapes, reloads included; each probe ran at least twice;
  - the good reload took effect (10,001 probes configured, the new probe
    exported) and the broken one was refused with the running config kept;
  - the exporter stayed up and exits 0 on SIGTERM.
Reports requests per second, latency percentiles from wrk, and the exporter's
peak RSS and CPU (printed and written to BUILD/artifacts/load-report.txt);
none of those numbers is asserted against a bound.

Usage: load_test.py --build BUILD_DIR [--pgid-file FILE] [--seconds 60] [--probes 10000]
Standard library only, plus wrk (Debian package).
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
from triagetest import benchlib, driver, stack  # noqa: E402  (PYTHONPATH=tests/lib)

SCRAPERS = 64
# The probes' interval: 10,000 fresh connections to one simulator every
# 30 s stays well inside loopback's ephemeral ports over a minute.
INTERVAL = "30s"
WATCHED = ["p%05d" % i for i in range(100, 120)]
CHANGED = "p00001"


def config_text(sim_port, probes, extra=False):
    lines = ["global:", "  interval: %s" % INTERVAL, "  timeout: 5s", "  max_in_flight: 256",
             "services:", "  - name: load", "    probes:"]
    for i in range(probes):
        name = "p%05d" % i
        # The changed probe asks another path after the reload: a new probe
        # as far as its counters go.
        path = "/health?changed=1" if extra and name == CHANGED else "/health"
        lines += ["      - name: " + name, "        kind: http", "        layer: liveness",
                  "        url: http://127.0.0.1:%d%s" % (sim_port, path)]
    if extra:
        lines += ["      - name: extra", "        kind: http", "        layer: liveness",
                  "        url: http://127.0.0.1:%d/health" % sim_port]
    return "\n".join(lines) + "\n"


_RUNS = re.compile(rb'^triage_probes_total\{service="load",probe="(p\d+)",result="\w+"\} (\S+)$', re.M)


class Checker(threading.Thread):
    """Scrapes /metrics in a loop; keeps the status of each scrape and the run
    counters of the watched probes."""

    def __init__(self, base):
        super().__init__(daemon=True)
        self.base = base
        self.stop = threading.Event()
        self.statuses = []
        self.durations = []
        self.decreases = []
        self.last = {}
        self.pages = 0

    def run(self):
        watched = set(WATCHED)
        while not self.stop.is_set():
            t0 = time.monotonic()
            status, body = stack.http_request(self.base + "/metrics", timeout=60)
            self.durations.append(time.monotonic() - t0)
            self.statuses.append(status)
            if status != 200:
                time.sleep(0.2)
                continue
            self.pages += 1
            runs = {}
            for m in _RUNS.finditer(body):
                name = m.group(1).decode()
                if name in watched:
                    runs[name] = runs.get(name, 0.0) + float(m.group(2))
            for name, v in runs.items():
                if v < self.last.get(name, 0.0):
                    self.decreases.append("%s: %g -> %g" % (name, self.last[name], v))
                self.last[name] = v
            # A probe has no series before its first run; once it has, they stay.
            for name in (watched & set(self.last)) - set(runs):
                self.decreases.append("%s missing from a page" % name)
            time.sleep(0.5)


def parse_wrk(text):
    out = {"requests": 0, "errors": [], "latency": {}}
    m = re.search(r"(\d+) requests in", text)
    if m:
        out["requests"] = int(m.group(1))
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    out["rps"] = float(m.group(1)) if m else 0.0
    m = re.search(r"Socket errors: (.*)", text)
    if m:
        out["errors"].append("socket errors: " + m.group(1).strip())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        out["errors"].append("non-2xx responses: " + m.group(1))
    for q, v, unit in re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s)\s*$", text, re.M):
        out["latency"][int(q)] = float(v) * {"us": 1e-6, "ms": 1e-3, "s": 1.0}[unit]
    return out


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--pgid-file")
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--probes", type=int, default=10000)
    args = ap.parse_args(argv)
    build = os.path.abspath(args.build)
    run = driver.Run("load", args.pgid_file)
    st, workdir, check = run.stack, run.workdir, run.check
    report = []

    checker = None
    try:
        wrk = shutil.which("wrk")
        if not wrk:
            raise stack.StackError("wrk not found (scripts/install-deps.sh installs it)")
        _, sim_port = st.start_simulator(os.path.join(build, "triage_simulator"), "target")
        cfg = os.path.join(workdir, "exporter.yaml")
        good_a = config_text(sim_port, args.probes)
        good_b = config_text(sim_port, args.probes, extra=True)
        stack.write_file(cfg, good_a)
        proc, port = st.start_exporter(os.path.join(build, "triage_exporter"), cfg, timeout=60)
        base = "http://127.0.0.1:%d" % port
        cpu0 = benchlib.cpu_seconds(proc.pid)

        checker = Checker(base)
        checker.start()
        t0 = time.monotonic()
        wrk_proc = st.spawn("wrk", [wrk, "-t2", "-c%d" % SCRAPERS, "-d%ds" % args.seconds, "--timeout", "30s",
                                    "--latency", base + "/metrics"])

        # At a third of the run: a probe more and one changed, by SIGHUP.
        time.sleep(max(0.0, args.seconds / 3 - (time.monotonic() - t0)))
        stack.write_file(cfg, good_b)
        os.kill(proc.pid, signal.SIGHUP)

        def reloaded():
            status, body = stack.http_request(base + "/metrics", timeout=60)
            return status == 200 and re.search(rb"^triage_exporter_probes_configured %d$" % (args.probes + 1),
                                               body, re.M) and b'probe="extra"' in body
        check(stack.wait_until(reloaded, 30, interval=1), "the SIGHUP reload took effect under load "
              "(%d probes configured, the new one exported)" % (args.probes + 1))

        # At two thirds: a broken file through POST /-/reload, refused.
        time.sleep(max(0.0, 2 * args.seconds / 3 - (time.monotonic() - t0)))
        stack.write_file(cfg, good_b + "  - name: [broken\n")
        status, body = stack.http_request(base + "/-/reload", method="POST", data=b"", timeout=60)
        check(status == 500 and b"running configuration is kept" in body,
              "a broken reload under load is refused", "status %s: %s" % (status, body[:300]))
        stack.write_file(cfg, good_b)

        try:
            wrk_proc.popen.wait(timeout=args.seconds + 60)
        except subprocess.TimeoutExpired:
            pass
        checker.stop.set()
        checker.join(70)
        cpu = benchlib.cpu_seconds(proc.pid) - cpu0
        elapsed = time.monotonic() - t0
        with open(wrk_proc.out_path, encoding="utf-8", errors="replace") as f:
            wrk_text = f.read()
        w = parse_wrk(wrk_text)
        check(wrk_proc.popen.returncode == 0 and w["requests"] > 0, "wrk ran (%d scrapes)" % w["requests"],
              wrk_text + wrk_proc.output("err"))
        check(not w["errors"], "wrk saw no error", "; ".join(w["errors"]))
        bad = [s for s in checker.statuses if s != 200]
        check(checker.statuses and not bad, "every checker scrape answered 200 (%d scrapes)" % len(checker.statuses),
              "statuses other than 200: %s" % bad[:10])
        check(not checker.decreases, "no counter of an unchanged probe went down across the reloads",
              "; ".join(checker.decreases[:10]))
        want = max(1, int(args.seconds / 30))
        few = {n: v for n, v in checker.last.items() if v < want}
        check(len(checker.last) == len(WATCHED) and not few, "each watched probe ran at least %d times" % want,
              "runs: %s" % sorted(checker.last.items())[:20])
        status, body = stack.http_request(base + "/metrics", timeout=60)
        check(re.search(rb"^triage_exporter_config_last_reload_successful 0$", body, re.M),
              "the refused reload is visible (last reload not successful)")
        check(proc.alive(), "the exporter stayed up", proc.output("err"))
        peak = benchlib.peak_rss_bytes(proc.pid) if proc.alive() else 0
        page_bytes = len(body)
        t_stop = time.monotonic()
        rc = st.stop_one(proc, grace=10)
        check(rc == 0, "the exporter exits 0 on SIGTERM after the run",
              "status %s after %.1f s" % (rc, time.monotonic() - t_stop))

        lat = w["latency"]
        report = [
            "probes: %d (+1 after the reload), interval %s" % (args.probes, INTERVAL),
            "page: %.1f MiB, %d scrapers for %d s" % (page_bytes / (1 << 20), SCRAPERS, args.seconds),
            "scrapes: %d by wrk (%.1f/s), %d by the checker (longest %.1f s)" % (
                w["requests"], w["rps"], len(checker.statuses), max(checker.durations or [0])),
            "wrk latency: p50 %s, p90 %s, p99 %s" % tuple(
                "%.0f ms" % (lat[q] * 1000) if q in lat else "-" for q in (50, 90, 99)),
            "exporter: peak RSS %.0f MiB, CPU %.1f s in %.0f s (%.0f%% of one core)" % (
                peak / (1 << 20), cpu, elapsed, 100 * cpu / elapsed),
        ]
    except stack.StackError as e:
        check(False, "set-up", e)
    finally:
        if checker:
            checker.stop.set()
        st.stop()
    for line in report:
        print(line)
    if report:
        driver.write_artifact(build, "load-report.txt", "\n".join(report) + "\n")
    return run.finish()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""Probe throughput: HTTP probes per CPU-second of triage_exporter, of
blackbox_exporter (Debian prometheus-blackbox-exporter, driven by wrk on
/probe) and of a bare libcurl multi loop (bench_curl_ceiling), against the
same loopback nginx (Debian nginx-light) in one run.

  bench/probe_throughput.py --build DIR [--duration 15] [--probes 2000]
                            [--json OUT]

The nginx answers 200, 401, 429 (with Retry-After) and 503 with small JSON
error bodies; every exporter probe reads the JSON error code, so a probe
includes parsing and metric updates. The exporter runs --probes probes at an
interval short enough that it is never idle (saturated); CPU is read from
/proc for each process (all threads). Fresh connection per probe is the
headline; keep-alive is measured too (blackbox_exporter has no such mode).
"""

import argparse
import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

# The shared helpers are the triagetest package, found through
# PYTHONPATH=<repo>/tests/lib. Run by hand without it: set it and start again.
_LIB = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "lib")
if importlib.util.find_spec("triagetest") is None and \
        _LIB not in os.environ.get("PYTHONPATH", "").split(os.pathsep):
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (_LIB, os.environ.get("PYTHONPATH")) if p)
    os.execv(sys.executable, [sys.executable, os.path.abspath(__file__)] + sys.argv[1:])

from triagetest import benchlib, stack  # noqa: E402

LOOPBACK_HOSTS = ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"]


def log(msg):
    sys.stderr.write("probe_throughput: %s\n" % msg)
    sys.stderr.flush()


def free_port():
    """A port free on every loopback host the nginx listens on."""
    for _ in range(50):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        if not any(stack.port_in_use(port, h) for h in LOOPBACK_HOSTS):
            return port
    raise stack.StackError("no free port")


def exporter_config(urls, probes, interval, keep_alive, max_in_flight):
    lines = ["global:",
             "  interval: %s" % interval,
             "  timeout: %s" % interval,
             "  max_in_flight: %d" % max_in_flight,
             "  runbook_base_url: http://127.0.0.1/runbooks/",
             "services:"]
    per_service = 50
    for i in range(probes):
        if i % per_service == 0:
            lines += ["  - name: svc-%03d" % (i // per_service),
                      "    labels: {team: bench}",
                      "    probes:"]
        lines += ["      - name: p-%04d" % i,
                  "        kind: http",
                  "        layer: traffic",
                  "        url: %s" % urls[i % len(urls)],
                  "        valid_status_codes: [200]",
                  "        error_code_pointer: /error/code"]
        if keep_alive:
            lines.append("        keep_alive: true")
    return "\n".join(lines) + "\n"


def run_curl_ceiling(build, urls, duration, keep_alive, concurrency):
    argv = [os.path.join(build, "bench_curl_ceiling"), "--concurrency", str(concurrency),
            "--duration", str(duration)] + sum((["--url", u] for u in urls), [])
    if keep_alive:
        argv.append("--keep-alive")
    out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=duration + 60)
    r = json.loads(out.stdout)
    return {"probes": r["transfers"], "errors": r["errors"], "wall_seconds": r["wall_seconds"],
            "cpu_seconds": r["cpu_seconds"],
            "probes_per_cpu_second": r["transfers"] / max(r["cpu_seconds"], 1e-9),
            "probes_per_wall_second": r["transfers"] / r["wall_seconds"]}


def run_blackbox(st, urls, duration, nginx_pgid):
    bb = benchlib.need("prometheus-blackbox-exporter", "prometheus-blackbox-exporter")
    wrk = benchlib.need("wrk", "wrk")
    config = stack.write_file(os.path.join(st.workdir, "blackbox.yml"),
                              "modules:\n  http_json:\n    prober: http\n    timeout: 5s\n"
                              "    http:\n      valid_status_codes: [200]\n"
                              "      preferred_ip_protocol: ip4\n")
    port = free_port()
    proc = st.spawn("blackbox", [bb, "--config.file=" + config,
                                 "--web.listen-address=127.0.0.1:%d" % port, "--log.level=error"])
    base = "http://127.0.0.1:%d" % port
    st.wait_for(proc, "answer on /-/healthy",
                lambda: stack.http_request(base + "/-/healthy", timeout=1)[0] == 200, 15)
    paths = ["/probe?module=http_json&target=%s" % u for u in urls]
    status, body = stack.http_request(base + paths[0], timeout=10)
    if b"probe_success 1" not in body:
        raise stack.StackError("blackbox_exporter probe of %s failed:\n%s" % (urls[0], body.decode()[:2000]))
    script = stack.write_file(os.path.join(st.workdir, "rotate.lua"),
                              "local paths = {%s}\nlocal i = 0\n"
                              "request = function()\n  i = i + 1\n"
                              "  return wrk.format('GET', paths[(i %% #paths) + 1])\nend\n"
                              % ", ".join("'%s'" % p for p in paths))
    cpu = benchlib.Interval(lambda: benchlib.cpu_seconds(proc.pid)).start()
    ncpu = benchlib.Interval(lambda: benchlib.group_cpu_seconds(nginx_pgid)).start()
    out = subprocess.run([wrk, "-t1", "-c32", "-d%ds" % duration, "-s", script, base + "/"],
                         capture_output=True, text=True, timeout=duration + 60)
    cpu.stop()
    ncpu.stop()
    m = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out.stdout)
    if not m:
        raise stack.StackError("cannot read wrk's output:\n" + out.stdout + out.stderr)
    requests = int(m.group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out.stdout)
    rss = benchlib.rss_bytes(proc.pid)
    st.stop_one(proc)
    return {"probes": requests, "errors": int(errors.group(1)) if errors else 0,
            "wall_seconds": cpu.wall, "cpu_seconds": cpu.cpu,
            "probes_per_cpu_second": requests / max(cpu.cpu, 1e-9),
            "probes_per_wall_second": requests / cpu.wall,
            "rss_bytes": rss, "nginx_cpu_seconds": ncpu.cpu}


def run_exporter(st, build, urls, duration, probes, keep_alive, nginx_pgid, name, concurrency):
    interval = "100ms"
    config = stack.write_file(os.path.join(st.workdir, name + ".yaml"),
                              exporter_config(urls, probes, interval, keep_alive, concurrency))
    proc, port = st.start_exporter(os.path.join(build, "triage_exporter"), config, name=name, timeout=60)
    time.sleep(3)  # past the start-up spread
    before = benchlib.scrape(port)
    cpu = benchlib.Interval(lambda: benchlib.cpu_seconds(proc.pid)).start()
    ncpu = benchlib.Interval(lambda: benchlib.group_cpu_seconds(nginx_pgid)).start()
    time.sleep(duration)
    cpu.stop()
    ncpu.stop()
    after = benchlib.scrape(port)
    rss = benchlib.rss_bytes(proc.pid)
    st.stop_one(proc)

    def delta(metric, f=""):
        return benchlib.total(after, metric, f) - benchlib.total(before, metric, f)
    runs = delta("triage_probes_total")
    failures = delta("triage_probes_total", 'result="failure"')
    expected_failures = runs * 3 / 4  # 401, 429 and 503 are not valid
    lag = benchlib.bucket_delta(before, after, "triage_exporter_schedule_lag_seconds")
    return {"probes": int(runs), "configured_probes": probes, "interval": interval,
            "max_in_flight": concurrency,
            "failures": int(failures),
            "transport_failures": int(delta("triage_probe_failures_total") -
                                      delta("triage_probe_failures_total", 'reason="http_status"') -
                                      delta("triage_probe_failures_total", 'reason="unauthorized"')),
            "failure_share_expected": round(expected_failures / max(runs, 1), 3),
            "wall_seconds": cpu.wall, "cpu_seconds": cpu.cpu,
            "probes_per_cpu_second": runs / max(cpu.cpu, 1e-9),
            "probes_per_wall_second": runs / cpu.wall,
            "schedule_lag_p50_seconds": benchlib.quantile_of_buckets(lag, 0.5),
            "schedule_lag_p99_seconds": benchlib.quantile_of_buckets(lag, 0.99),
            "rss_bytes": rss, "nginx_cpu_seconds": ncpu.cpu}


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True)
    ap.add_argument("--duration", type=int, default=15)
    ap.add_argument("--probes", type=int, default=5000)
    ap.add_argument("--concurrency", type=int, default=64,
                    help="transfers in flight: the exporter's max_in_flight and the libcurl loop's")
    ap.add_argument("--json")
    ap.add_argument("--only", choices=["curl", "blackbox", "triage"], action="append")
    args = ap.parse_args(argv)
    build = os.path.abspath(args.build)
    only = set(args.only or ["curl", "blackbox", "triage"])

    workdir = tempfile.mkdtemp(prefix="triage-bench-")
    st = stack.Stack(workdir, log=log)
    results = {"duration_seconds": args.duration}
    try:
        port = free_port()
        addresses = ["%s:%d" % (h, port) for h in LOOPBACK_HOSTS]
        nginx = benchlib.start_nginx(st, addresses)
        urls = benchlib.target_urls(addresses)
        if "curl" in only:
            log("libcurl ceiling, fresh connections")
            results["curl_fresh"] = run_curl_ceiling(build, urls, args.duration, False, args.concurrency)
            log("libcurl ceiling, keep-alive")
            results["curl_keepalive"] = run_curl_ceiling(build, urls, args.duration, True, args.concurrency)
        if "blackbox" in only:
            log("blackbox_exporter under wrk")
            results["blackbox_fresh"] = run_blackbox(st, urls, args.duration, nginx.pid)
        if "triage" in only:
            log("triage_exporter, %d probes, fresh connections" % args.probes)
            results["triage_fresh"] = run_exporter(st, build, urls, args.duration, args.probes, False,
                                                   nginx.pid, "exporter-fresh", args.concurrency)
            log("triage_exporter, %d probes, keep-alive" % args.probes)
            results["triage_keepalive"] = run_exporter(st, build, urls, args.duration, args.probes, True,
                                                       nginx.pid, "exporter-keepalive", args.concurrency)
    finally:
        st.stop()
        import shutil
        shutil.rmtree(workdir, ignore_errors=True)
    r = results
    if "triage_fresh" in r and "blackbox_fresh" in r:
        r["ratio_triage_to_blackbox"] = r["triage_fresh"]["probes_per_cpu_second"] / \
            r["blackbox_fresh"]["probes_per_cpu_second"]
    if "triage_fresh" in r and "curl_fresh" in r:
        r["share_of_curl_ceiling"] = r["triage_fresh"]["probes_per_cpu_second"] / \
            r["curl_fresh"]["probes_per_cpu_second"]
    if "triage_keepalive" in r and "curl_keepalive" in r:
        r["share_of_curl_ceiling_keepalive"] = r["triage_keepalive"]["probes_per_cpu_second"] / \
            r["curl_keepalive"]["probes_per_cpu_second"]
    benchlib.emit(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""Scale: 20,000 HTTP probes at a 10 s interval on one exporter for 60 s,
against a loopback nginx (Debian nginx-light).

  bench/scale.py --build DIR [--probes 20000] [--interval 10] [--duration 60]
                 [--json OUT]

Reports the exporter's CPU, its resident memory (and per probe, beyond the
exposition text its probes hold), the p50/p99 schedule lag and missed runs
(from its own triage_exporter_* metrics) and the time /metrics takes while
all of that runs (gzip, as Prometheus asks for it).
"""

import argparse
import gzip
import importlib.util
import os
import shutil
import sys
import tempfile
import time
import urllib.request

# The shared helpers are the triagetest package, found through
# PYTHONPATH=<repo>/tests/lib. Run by hand without it: set it and start again.
_LIB = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "lib")
if importlib.util.find_spec("triagetest") is None and \
        _LIB not in os.environ.get("PYTHONPATH", "").split(os.pathsep):
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (_LIB, os.environ.get("PYTHONPATH")) if p)
    os.execv(sys.executable, [sys.executable, os.path.abspath(__file__)] + sys.argv[1:])

from triagetest import benchlib, stack  # noqa: E402
from probe_throughput import LOOPBACK_HOSTS, exporter_config, free_port  # noqa: E402


def log(msg):
    sys.stderr.write("scale: %s\n" % msg)
    sys.stderr.flush()


def timed_scrape(port):
    """(seconds, compressed bytes, text bytes) of one gzip scrape of /metrics."""
    req = urllib.request.Request("http://127.0.0.1:%d/metrics" % port,
                                 headers={"Accept-Encoding": "gzip"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    t0 = time.monotonic()
    with opener.open(req, timeout=60) as r:
        body = r.read()
    seconds = time.monotonic() - t0
    return seconds, len(body), len(gzip.decompress(body))


def exporter_rss(st, build, config_text, name):
    config = stack.write_file(os.path.join(st.workdir, name + ".yaml"), config_text)
    proc, port = st.start_exporter(os.path.join(build, "triage_exporter"), config, name=name, timeout=60)
    return proc, port


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True)
    ap.add_argument("--probes", type=int, default=20000)
    ap.add_argument("--interval", type=int, default=10)
    ap.add_argument("--duration", type=int, default=60)
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    build = os.path.abspath(args.build)

    workdir = tempfile.mkdtemp(prefix="triage-bench-")
    st = stack.Stack(workdir, log=log)
    interval = "%ds" % args.interval
    try:
        port = free_port()
        addresses = ["%s:%d" % (h, port) for h in LOOPBACK_HOSTS]
        nginx = benchlib.start_nginx(st, addresses)
        urls = benchlib.target_urls(addresses)

        # The same exporter with one probe: what the process costs by itself.
        log("baseline: one probe")
        proc, eport = exporter_rss(st, build, exporter_config(urls, 1, interval, False, 512), "baseline")
        time.sleep(args.interval + 1)
        benchlib.scrape(eport)
        baseline_rss = benchlib.rss_bytes(proc.pid)
        st.stop_one(proc)

        log("%d probes at %s for %d s" % (args.probes, interval, args.duration))
        t_start = time.monotonic()
        proc, eport = exporter_rss(st, build, exporter_config(urls, args.probes, interval, False, 512),
                                   "exporter")
        start_seconds = time.monotonic() - t_start
        time.sleep(args.interval + 1)  # every probe has run once
        before = benchlib.scrape(eport)
        cpu = benchlib.Interval(lambda: benchlib.cpu_seconds(proc.pid)).start()
        ncpu = benchlib.Interval(lambda: benchlib.group_cpu_seconds(nginx.pid)).start()
        scrapes = []
        rss_max = 0
        deadline = time.monotonic() + args.duration
        while time.monotonic() < deadline:
            scrapes.append(timed_scrape(eport))
            rss_max = max(rss_max, benchlib.rss_bytes(proc.pid))
            time.sleep(max(0.0, min(args.interval, deadline - time.monotonic())))
        cpu.stop()
        ncpu.stop()
        after = benchlib.scrape(eport)
        rss = benchlib.rss_bytes(proc.pid)
        peak = benchlib.peak_rss_bytes(proc.pid)
        st.stop_one(proc)
    finally:
        st.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    def delta(metric, f=""):
        return benchlib.total(after, metric, f) - benchlib.total(before, metric, f)
    runs = delta("triage_probes_total")
    expected = args.probes * cpu.wall / args.interval
    lag = benchlib.bucket_delta(before, after, "triage_exporter_schedule_lag_seconds")
    text_bytes = max(s[2] for s in scrapes)
    probe_series = sum(1 for n, _, _ in after if n.startswith("triage_") and not n.startswith("triage_exporter_"))
    # The probe text is held once in the snapshots; between scrapes nothing
    # else holds it, so what is left over is the per-probe state.
    per_probe = (rss - baseline_rss - text_bytes) / args.probes
    result = {
        "probes": args.probes, "interval_seconds": args.interval, "wall_seconds": cpu.wall,
        "start_seconds": start_seconds,
        "runs": int(runs), "runs_expected": int(expected),
        "missed_runs": int(delta("triage_exporter_missed_runs_total")),
        "cpu_seconds": cpu.cpu, "cpu_cores": cpu.cpu / cpu.wall,
        "probes_per_cpu_second": runs / max(cpu.cpu, 1e-9),
        "nginx_cpu_seconds": ncpu.cpu,
        "schedule_lag_p50_seconds": benchlib.quantile_of_buckets(lag, 0.5),
        "schedule_lag_p99_seconds": benchlib.quantile_of_buckets(lag, 0.99),
        "schedule_lag_buckets": [[b if b != float("inf") else "+Inf", c] for b, c in lag],
        "rss_bytes": rss, "rss_max_sampled_bytes": rss_max, "peak_rss_bytes": peak,
        "baseline_rss_bytes": baseline_rss,
        "metrics_text_bytes": text_bytes, "probe_series": probe_series,
        "rss_per_probe_beyond_text_bytes": per_probe,
        "scrape_seconds": [round(s[0], 4) for s in scrapes],
        "scrape_gzip_bytes": max(s[1] for s in scrapes),
    }
    benchlib.emit(result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

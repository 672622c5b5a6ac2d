"""Shared pieces of the benchmarks (bench/): a loopback nginx with fixed
answers, CPU and memory of a process read from /proc, wrk, blackbox_exporter,
and reading the exporter's own /metrics. The tests use the /proc readers and
the exposition parser too (tests/hostile, tests/load, tests/deploy).

The process handling (process groups, stop on exit) is triagetest.stack's.
Standard library only.
"""

import json
import os
import re
import shutil
import subprocess
import time

from triagetest import stack

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

# What the nginx target answers: path -> (status, body, extra header).
# Small JSON bodies, as an API under test would send them.
ENDPOINTS = [
    ("/ok", 200, '{"status":"ok"}', None),
    ("/unauthorized", 401, '{"error":{"code":"bearer_missing"}}', None),
    ("/ratelimited", 429, '{"error":{"code":"rate_limited"}}', "Retry-After: 5"),
    ("/unavailable", 503, '{"error":{"code":"shutting_down"}}', None),
]


def need(program, package):
    path = shutil.which(program)
    if not path:
        raise stack.StackError("%s not found: install the Debian package %s "
                               "(scripts/install-deps.sh --bench)" % (program, package))
    return path


# ----------------------------------------------------------------------------- /proc


def cpu_seconds(pid):
    """User + system CPU of a process, all its threads, in seconds."""
    with open("/proc/%d/stat" % pid, encoding="utf-8") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_bytes(pid):
    with open("/proc/%d/statm" % pid, encoding="utf-8") as f:
        return int(f.read().split()[1]) * PAGE


def peak_rss_bytes(pid):
    with open("/proc/%d/status" % pid, encoding="utf-8") as f:
        m = re.search(r"^VmHWM:\s+(\d+) kB", f.read(), re.M)
    return int(m.group(1)) * 1024 if m else 0


def group_pids(pgid):
    """Every process of a process group (nginx: master and workers)."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name, encoding="utf-8") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # field 5: process group
            pids.append(int(name))
    return pids


def group_cpu_seconds(pgid):
    total = 0.0
    for pid in group_pids(pgid):
        try:
            total += cpu_seconds(pid)
        except OSError:
            pass
    return total


# ----------------------------------------------------------------------------- nginx


def nginx_config(workdir, addresses, workers=1):
    """A foreground nginx answering ENDPOINTS on every host:port of addresses."""
    lines = [
        "daemon off;",
        "master_process on;",
        "worker_processes %d;" % workers,
        "pid %s/nginx.pid;" % workdir,
        "error_log stderr error;",
        "events { worker_connections 16384; multi_accept on; }",
        "http {",
        "  access_log off;",
        "  client_body_temp_path %s/body;" % workdir,
        "  proxy_temp_path %s/proxy;" % workdir,
        "  fastcgi_temp_path %s/fastcgi;" % workdir,
        "  uwsgi_temp_path %s/uwsgi;" % workdir,
        "  scgi_temp_path %s/scgi;" % workdir,
        "  keepalive_requests 1000000;",
        "  server_tokens off;",
        "  default_type application/json;",
        "  server {",
    ]
    for addr in addresses:
        lines.append("    listen %s backlog=4096;" % addr)
    for path, status, body, header in ENDPOINTS:
        lines.append("    location = %s {" % path)
        if header:
            name, value = header.split(": ", 1)
            lines.append("      add_header %s %s always;" % (name, value))
        lines.append("      return %d '%s';" % (status, body))
        lines.append("    }")
    lines += ["  }", "}", ""]
    return "\n".join(lines)


def start_nginx(st, addresses, workers=1):
    nginx = need("nginx", "nginx-light")
    config = stack.write_file(os.path.join(st.workdir, "nginx.conf"),
                              nginx_config(st.workdir, addresses, workers))
    proc = st.spawn("nginx", [nginx, "-c", config, "-p", st.workdir, "-e", "stderr"])
    host, port = addresses[0].rsplit(":", 1)
    st.wait_for(proc, "answer on /ok",
                lambda: _status("http://%s:%s/ok" % (host, port)) == 200, 15)
    return proc


def _status(url):
    try:
        return stack.http_request(url, timeout=1)[0]
    except Exception:  # noqa: BLE001 - not up yet
        return None


def target_urls(addresses):
    """Every endpoint on every address, in a fixed order."""
    return ["http://%s%s" % (addr, path) for path, _, _, _ in ENDPOINTS for addr in addresses]


# ----------------------------------------------------------------------------- exporter metrics

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')


def scrape(port, timeout=60):
    """The exporter's /metrics as [(name, labels text, value)]."""
    status, body = stack.http_request("http://127.0.0.1:%d/metrics" % port, timeout=timeout)
    if status != 200:
        raise stack.StackError("/metrics answered %s" % status)
    return parse_samples(body.decode())


def parse_samples(text):
    """Prometheus text as [(name, labels text, value)]."""
    out = []
    for line in text.splitlines():
        m = _SAMPLE.match(line)
        if m:
            out.append((m.group(1), m.group(2) or "", float(m.group(3))))
    return out


def total(samples, name, label_filter=""):
    return sum(v for n, l, v in samples if n == name and label_filter in l)


def histogram_quantile(samples, name, q):
    """Quantile of a histogram without other labels, interpolated as Prometheus does."""
    buckets = []
    for n, l, v in samples:
        if n == name + "_bucket":
            le = re.search(r'le="([^"]+)"', l).group(1)
            buckets.append((float("inf") if le == "+Inf" else float(le), v))
    buckets.sort()
    return quantile_of_buckets(buckets, q)


def quantile_of_buckets(buckets, q):
    """buckets: sorted [(upper bound, cumulative count)]."""
    if not buckets or buckets[-1][1] == 0:
        return float("nan")
    rank = q * buckets[-1][1]
    prev_bound, prev_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if bound == float("inf"):
                return prev_bound
            if count == prev_count:
                return bound
            return prev_bound + (bound - prev_bound) * (rank - prev_count) / (count - prev_count)
        prev_bound, prev_count = bound, count
    return buckets[-1][0]


def bucket_delta(before, after, name):
    """Cumulative buckets of a histogram over an interval (after - before)."""
    def buckets(samples):
        out = {}
        for n, l, v in samples:
            if n == name + "_bucket":
                le = re.search(r'le="([^"]+)"', l).group(1)
                out[float("inf") if le == "+Inf" else float(le)] = v
        return out
    a, b = buckets(before), buckets(after)
    return sorted((k, b[k] - a.get(k, 0.0)) for k in b)


# ----------------------------------------------------------------------------- misc


def machine():
    """One line on the machine the numbers come from."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            m = re.search(r"^model name\s*:\s*(.+)$", f.read(), re.M)
            if m:
                model = m.group(1).strip()
    except OSError:
        pass
    mem = 0
    with open("/proc/meminfo", encoding="utf-8") as f:
        m = re.search(r"^MemTotal:\s+(\d+) kB", f.read(), re.M)
        if m:
            mem = int(m.group(1)) * 1024
    return "%d cores (%s), %.0f GiB, Linux %s" % (os.cpu_count(), model, mem / 2**30, os.uname().release)


def version_of(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        text = (out.stdout + out.stderr).strip().splitlines()
        return text[0] if text else "?"
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def emit(result, json_path=None):
    """Prints a benchmark's figures as JSON, and writes them to json_path when given."""
    text = json.dumps(result, indent=2, sort_keys=True)
    if json_path:
        with open(json_path, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    print(text)


class Interval:
    """CPU of some processes and wall time between start() and stop()."""

    def __init__(self, cpu_of):
        self.cpu_of = cpu_of  # () -> seconds

    def start(self):
        self.t0 = time.monotonic()
        self.c0 = self.cpu_of()
        return self

    def stop(self):
        self.wall = time.monotonic() - self.t0
        self.cpu = self.cpu_of() - self.c0
        return self

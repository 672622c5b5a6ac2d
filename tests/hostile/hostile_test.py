#!/usr/bin/env python3
"""Hostile targets: for each misbehaving target of triagetest.hostile_server,
a fresh triage_exporter probes it beside 50 healthy probes (a triage_simulator
on loopback), and the test asserts:

  - the exporter stays up and answers /-/healthy;
  - every scheduled run of the hostile probe failed with the expected reason
    and ended within its timeout + 100 ms (timeout 900 ms, so each run sits in
    the le="1" bucket of triage_probe_duration_seconds);
  - a /probe?debug=true run reports the same reason and an end time within
    timeout + 100 ms;
  - the exporter's peak RSS (VmHWM) stays under the stated bound;
  - every healthy probe ran at each of its intervals and succeeded;
  - the label values of the probe's series stay capped (error codes at
    max_error_codes plus "other"), and the whole page passes
    `promtool check metrics`;
  - the exporter's log stays small (a target cannot flood it);
  - SIGTERM ends the exporter with status 0 within 5 s, a hostile run in flight.

Prints one table row per case (end time, reason, peak RSS, healthy runs) and
"N passed, N failed"; exits 1 on any failure. The table is also written to
BUILD/artifacts/hostile-table.txt.

Usage: hostile_test.py --build BUILD_DIR [--pgid-file FILE] [--only CASE,...]
Standard library only (and promtool, from the prometheus package).
"""

import argparse
import os
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True
from triagetest import benchlib, driver, stack  # noqa: E402  (PYTHONPATH=tests/lib)
from triagetest.hostile_server import HostileServers  # noqa: E402

HEALTHY_PROBES = 50
HEALTHY_INTERVAL = 0.5
HOSTILE_INTERVAL = "1s"
HOSTILE_TIMEOUT = 0.9
# Each case runs this long before the checks: at least three scheduled runs.
WATCH_SECONDS = 4.0
# Peak RSS bound of the exporter for a case: the run with the 50 healthy
# probes alone, plus this much (a 1 MiB body limit, libcurl's buffers, and
# the copies of a failed body on its way to the parser).
RSS_HEADROOM = 24 << 20
# A target must not be able to flood the exporter's log.
LOG_LIMIT = 64 << 10
# The error-code case: this many distinct codes sent before the check.
DISTINCT_ERROR_CODES = 10000


class Case:
    def __init__(self, name, path, reason, kind="http", listener="plain", extra="",
                 scheme="http", interval=HOSTILE_INTERVAL, timeout=HOSTILE_TIMEOUT, check=None,
                 also_timeout=False):
        self.name = name
        self.path = path
        self.reason = reason
        self.kind = kind
        self.listener = listener
        self.extra = extra
        self.scheme = scheme
        self.interval = interval
        self.timeout = timeout
        self.check = check
        # Runs may also time out (a 4 ms timeout against a Python server).
        self.also_timeout = also_timeout


def _error_code_labels(samples, probe):
    return {m.group(1) for n, labels, _ in samples
            if n == "triage_http_error_responses_total" and 'probe="%s"' % probe in labels
            for m in [re.search(r'error_code="([^"]*)"', labels)] if m}


def check_unparsable(samples, probe):
    codes = _error_code_labels(samples, probe)
    return None if codes == {"unparsable"} else "error_code labels %s, expected {unparsable}" % sorted(codes)


def check_bad_utf8(samples, probe):
    codes = _error_code_labels(samples, probe)
    if len(codes) != 1:
        return "error_code labels %s, expected one" % sorted(codes)
    code = codes.pop()
    if not re.fullmatch(r"[A-Za-z0-9_.:-]+", code):
        return "error_code %r has characters outside [A-Za-z0-9_.:-]" % code
    return None


def check_error_code_cap(samples, probe):
    codes = _error_code_labels(samples, probe)
    if "other" not in codes:
        return "no error_code=\"other\" series after %d distinct codes: %d labels" % (DISTINCT_ERROR_CODES,
                                                                                    len(codes))
    if len(codes) > 32 + 1:
        return "%d error_code labels, expected at most max_error_codes (32) + other" % len(codes)
    return None


CASES = [
    Case("hang", "/hang", "timeout"),
    Case("trickle", "/trickle", "timeout"),
    Case("huge_length", "/huge-length", "body_too_large"),
    Case("huge_chunked", "/huge-chunked", "body_too_large"),
    Case("garbage_json", "/garbage-json", "http_status", extra="error_code_pointer: /code",
         check=check_unparsable),
    Case("truncated_json", "/truncated-json", "invalid_body", kind="readiness",
         extra="checks_pointer: /checks"),
    Case("bad_utf8", "/bad-utf8", "http_status", extra="error_code_pointer: /code", check=check_bad_utf8),
    Case("many_headers", "/many-headers", "protocol_error"),
    Case("big_header", "/big-header", "protocol_error"),
    Case("redirect_loop", "/redirect-loop", "too_many_redirects"),
    Case("reset_mid_body", "/reset", "connection_error"),
    Case("tls_expired", "/ok", "tls", listener="expired", scheme="https", extra="tls_config: {ca_file: %(ca)s}"),
    Case("tls_self_signed", "/ok", "tls", listener="self_signed", scheme="https"),
    Case("tls_wrong_host", "/ok", "tls", listener="wrong_host", scheme="https",
         extra="tls_config: {ca_file: %(ca)s}"),
    Case("huge_metrics", "/huge-metrics", "body_too_large", kind="scrape"),
    Case("error_codes", "/error-codes", "http_status", interval="4ms", timeout=0.004,
         extra="error_code_pointer: /code\n        keep_alive: true", check=check_error_code_cap,
         also_timeout=True),
]


# ----------------------------------------------------------------------------- set-up


def make_certs(d):
    """A CA; certificates for 127.0.0.1 from it, one expired and one for the
    wrong host; and a self-signed one. Returns {listener: (cert, key)}, ca file."""
    def run(*argv):
        subprocess.run(["openssl"] + list(argv), cwd=d, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
        "-days", "30", "-subj", "/CN=triage hostile test CA")
    certs = {}
    for name, cn, days in (("expired", "127.0.0.1", "-1"), ("wrong_host", "wrong.example", "30")):
        run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out", name + ".csr",
            "-subj", "/CN=" + cn)
        ext = os.path.join(d, name + ".ext")
        with open(ext, "w", encoding="utf-8") as f:
            f.write("subjectAltName=%s\n" % ("IP:127.0.0.1" if cn == "127.0.0.1" else "DNS:" + cn))
        run("x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", name + ".crt", "-days", days, "-extfile", ext)
        certs[name] = (os.path.join(d, name + ".crt"), os.path.join(d, name + ".key"))
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "self_signed.key", "-out",
        "self_signed.crt", "-days", "30", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1")
    certs["self_signed"] = (os.path.join(d, "self_signed.crt"), os.path.join(d, "self_signed.key"))
    return certs, os.path.join(d, "ca.crt")


def config_text(case, servers, sim_port, ca):
    lines = ["global:", "  interval: %dms" % round(HEALTHY_INTERVAL * 1000), "  timeout: 400ms", "  max_in_flight: 64",
             "services:", "  - name: healthy", "    probes:"]
    for i in range(HEALTHY_PROBES):
        lines += ["      - name: h%02d" % i, "        kind: http", "        layer: liveness",
                  "        url: http://127.0.0.1:%d/health?i=%d" % (sim_port, i)]
    if case is not None:
        url = "%s://127.0.0.1:%d%s" % (case.scheme, servers.port(case.listener), case.path)
        lines += ["  - name: hostile", "    probes:", "      - name: %s" % case.name,
                  "        kind: %s" % case.kind, "        layer: traffic", "        url: %s" % url,
                  "        interval: %s" % case.interval, "        timeout: %dms" % round(case.timeout * 1000)]
        if case.extra:
            lines.append("        " + case.extra % {"ca": ca})
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- checks


class Result:
    def __init__(self, name):
        self.name = name
        self.failures = []
        self.row = {}

    def check(self, ok, what):
        if not ok:
            self.failures.append(what)
        return ok


def series(samples, name, labels_has):
    return [v for n, l, v in samples if n == name and all(x in l for x in labels_has)]


def one(samples, name, *labels_has):
    vs = series(samples, name, labels_has)
    return sum(vs) if vs else 0.0


def run_case(case, st, build, servers, sim_port, ca, workdir, baseline_rss):
    name = case.name if case else "baseline"
    res = Result(name)
    cfg = os.path.join(workdir, name + ".yaml")
    stack.write_file(cfg, config_text(case, servers, sim_port, ca))
    proc, port = st.start_exporter(os.path.join(build, "triage_exporter"), cfg, name="exporter-" + name)
    started = time.monotonic()
    base = "http://127.0.0.1:%d" % port

    if case and case.name == "error_codes":
        stack.wait_until(lambda: servers.counters.error_codes_sent >= DISTINCT_ERROR_CODES or not proc.alive(),
                         180, interval=0.5)
        res.check(servers.counters.error_codes_sent >= DISTINCT_ERROR_CODES,
                  "only %d distinct error codes were sent in 180 s" % servers.counters.error_codes_sent)
    else:
        time.sleep(WATCH_SECONDS)

    probe_line = None
    if case:
        t0 = time.monotonic()
        status, body = stack.http_request(base + "/probe?service=hostile&probe=%s&debug=true" % case.name,
                                          timeout=10)
        wall = time.monotonic() - t0
        text = body.decode("utf-8", "replace")
        m = re.search(r"^probe (succeeded|failed)(?:, reason (\w+))? after ([0-9.]+)s$", text, re.M)
        if res.check(status == 200 and m, "/probe?debug=true answered %s without a result line: %s" %
                     (status, text[-300:])):
            took = float(m.group(3))
            probe_line = (m.group(2) or "none", took, wall)
            allowed = (case.reason, "timeout") if case.also_timeout else (case.reason,)
            res.check(m.group(2) in allowed, "/probe run failed with reason %s, expected %s" %
                      (m.group(2), case.reason))
            res.check(took <= case.timeout + 0.1, "/probe run ended after %.3f s, over timeout + 100 ms" % took)
            res.row["end_s"] = "%.3f" % took
            res.row["reason"] = m.group(2) or "none"

    elapsed = time.monotonic() - started
    status, page = stack.http_request(base + "/metrics", timeout=30)
    res.check(status == 200, "/metrics answered %s" % status)
    samples = benchlib.parse_samples(page.decode("utf-8", "replace"))
    page_file = os.path.join(workdir, name + ".metrics")
    with open(page_file, "wb") as f:
        f.write(page)
    lint = subprocess.run(["promtool", "check", "metrics"], input=page, capture_output=True)
    res.check(lint.returncode == 0 and not lint.stdout.strip() and not lint.stderr.strip(),
              "promtool check metrics: %s" % (lint.stdout + lint.stderr).decode(errors="replace")[:300])

    # Healthy probes: one run per interval since the start (the first within
    # the first interval, the last may be in flight), every one a success.
    want = int(elapsed / HEALTHY_INTERVAL) - 1
    short = []
    for i in range(HEALTHY_PROBES):
        lab = 'probe="h%02d"' % i
        ok = one(samples, "triage_probes_total", lab, 'result="success"')
        bad = one(samples, "triage_probes_total", lab, 'result="failure"')
        if ok < want or bad:
            short.append("h%02d: %d ok, %d failed" % (i, ok, bad))
    res.check(not short, "healthy probes short of %d successful runs: %s" % (want, ", ".join(short[:5])))
    runs = [one(samples, "triage_probes_total", 'probe="h%02d"' % i) for i in range(HEALTHY_PROBES)]
    res.row["healthy_runs"] = "%d-%d of >=%d" % (min(runs), max(runs), want)
    missed = one(samples, "triage_exporter_missed_runs_total")
    res.row["missed"] = "%d" % missed
    if not case or case.name != "error_codes":
        res.check(missed == 0, "triage_exporter_missed_runs_total is %d" % missed)

    if case:
        lab = 'probe="%s"' % case.name
        total = one(samples, "triage_probes_total", lab)
        failed = one(samples, "triage_probes_total", lab, 'result="failure"')
        with_reason = one(samples, "triage_probe_failures_total", lab, 'reason="%s"' % case.reason)
        if case.also_timeout:
            with_reason += one(samples, "triage_probe_failures_total", lab, 'reason="timeout"')
        # The largest bucket bound the page has at or under timeout + 100 ms.
        bounds = [float(m.group(1)) for n, l, _ in samples
                  if n == "triage_probe_duration_seconds_bucket" and lab in l
                  for m in [re.search(r'le="([0-9.e+-]+)"', l)] if m]
        limit = max(b for b in bounds if b <= case.timeout + 0.1)
        within = one(samples, "triage_probe_duration_seconds_bucket", lab, 'le="%g"' % limit)
        count = one(samples, "triage_probe_duration_seconds_count", lab)
        res.row["runs"] = "%d" % total
        res.check(total >= 3, "only %d scheduled runs of the hostile probe" % total)
        res.check(failed == total and with_reason == total,
                  "%d runs, %d failed, %d with reason %s: %s" % (
                      total, failed, with_reason, case.reason,
                      sorted((l, v) for n, l, v in samples if n == "triage_probe_failures_total" and lab in l)))
        res.check(within == count, "%d of %d runs ended after timeout + 100 ms" % (count - within, count))
        n_series = sum(1 for _, l, _ in samples if lab in l)
        res.row["series"] = "%d" % n_series
        res.check(n_series <= 80, "%d series for the probe" % n_series)
        if case.check:
            why = case.check(samples, case.name)
            res.check(why is None, why or "")

    res.check(proc.alive(), "the exporter exited (status %s)" % proc.popen.returncode)
    status, _ = stack.http_request(base + "/-/healthy", timeout=5)
    res.check(status == 200, "/-/healthy answered %s" % status)
    peak = benchlib.peak_rss_bytes(proc.pid) if proc.alive() else 0
    res.row["peak_rss_mib"] = "%.1f" % (peak / (1 << 20))
    if baseline_rss:
        res.check(peak <= baseline_rss + RSS_HEADROOM, "peak RSS %.1f MiB, over %.1f MiB" % (
            peak / (1 << 20), (baseline_rss + RSS_HEADROOM) / (1 << 20)))
    log_size = os.path.getsize(proc.err_path)
    res.check(log_size <= LOG_LIMIT, "the exporter's log grew to %d bytes" % log_size)

    # SIGTERM with (for most cases) a hostile run in flight.
    t0 = time.monotonic()
    rc = st.stop_one(proc, grace=6.0)
    took = time.monotonic() - t0
    res.row["sigterm_s"] = "%.2f" % took
    res.check(rc == 0 and took <= 5.0, "SIGTERM: status %s after %.2f s" % (rc, took))
    if res.failures:
        res.failures.append("log tail:\n" + proc.output("err", tail=10))
    return res, peak


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--pgid-file")
    ap.add_argument("--only", help="comma-separated case names")
    args = ap.parse_args(argv)
    build = os.path.abspath(args.build)
    cases = CASES
    if args.only:
        names = set(args.only.split(","))
        cases = [c for c in CASES if c.name in names]
        unknown = names - {c.name for c in cases}
        if unknown:
            print("unknown case(s): %s" % ", ".join(sorted(unknown)))
            return 2

    run = driver.Run("hostile", args.pgid_file)
    st, workdir = run.stack, run.workdir
    servers = None
    results = []
    try:
        certs, ca = make_certs(workdir)
        servers = HostileServers(certs)
        _, sim_port = st.start_simulator(os.path.join(build, "triage_simulator"), "healthy")
        base_res, baseline_rss = run_case(None, st, build, servers, sim_port, ca, workdir, 0)
        results.append(base_res)
        for case in cases:
            res, _ = run_case(case, st, build, servers, sim_port, ca, workdir, baseline_rss)
            results.append(res)
            run.check(not res.failures, case.name, "\n".join(res.failures))
    except stack.StackError as e:
        run.check(False, "set-up", e)
    finally:
        st.stop()
        if servers:
            servers.stop()

    cols = ["case", "reason", "end_s", "runs", "peak_rss_mib", "series", "healthy_runs", "missed", "sigterm_s"]
    rows = [[r.name] + [r.row.get(c, "-") for c in cols[1:]] for r in results]
    widths = [max(len(str(x)) for x in col) for col in zip(cols, *rows)]
    table = "\n".join("  ".join(str(x).ljust(w) for x, w in zip(row, widths)) for row in [cols] + rows)
    print(table)
    driver.write_artifact(build, "hostile-table.txt", table + "\n")
    # The baseline run counts as a check of its own.
    run.check(not results or not results[0].failures, "baseline (healthy probes alone)",
              "\n".join(results[0].failures) if results else "")
    return run.finish()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""SIGTERM while the exporter is busy: a scrape being read, a client that
stopped reading its scrape, and a probe run that hangs on its target.

Asserts, tried as Prometheus and an orchestrator would see it:
  - the scrape in progress is finished: the reader gets its whole page;
  - a request arriving after SIGTERM gets 503 or a refused connection, never
    a page (the exporter takes no new work);
  - the stalled reader is cut off at the drain deadline, and the log says so;
  - the hanging probe run is cancelled: nothing waits for its timeout;
  - the exporter exits with status 0 within 5 s of the signal.

Usage: shutdown_test.py --build BUILD_DIR [--pgid-file FILE]
Standard library only.
"""

import argparse
import os
import re
import signal
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True
from triagetest import driver, stack  # noqa: E402  (PYTHONPATH=tests/lib)
from triagetest.hostile_server import HostileServers  # noqa: E402

# Enough probes for a /metrics page of about 5 MiB once each has run: more
# than the socket buffers hold (tcp_wmem allows 4 MiB), so the scrape is
# still being written when the signal comes. Without the drain such a scrape
# was cut off.
PADDING_PROBES = 3000
PAGE_BYTES = 4 << 20
EXIT_LIMIT = 5.0


def config_text(hang_url):
    lines = ["global:", "  interval: 5s", "  timeout: 1s", "services:",
             "  - name: pad", "    probes:"]
    for i in range(PADDING_PROBES):
        # Port 9 on loopback: refused at once.
        lines += ["      - name: p%04d" % i, "        kind: tcp", "        layer: dependency",
                  "        address: 127.0.0.1:9"]
    lines += ["  - name: stuck", "    probes:", "      - name: hang", "        kind: http",
              "        layer: traffic", "        url: %s" % hang_url, "        interval: 30s",
              "        timeout: 30s"]
    return "\n".join(lines) + "\n"


class Reader(threading.Thread):
    """GET /metrics over a raw socket; reads `chunk` bytes every `pause`
    seconds (pause None: stops reading after the first chunk; rcvbuf: a small
    receive buffer, so that little of the page waits in the kernel)."""

    def __init__(self, port, chunk, pause, rcvbuf=None):
        super().__init__(daemon=True)
        self.port, self.chunk, self.pause, self.rcvbuf = port, chunk, pause, rcvbuf
        self.first = threading.Event()
        self.data = b""
        self.error = None

    def run(self):
        try:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=15)
            if self.rcvbuf:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            while True:
                part = s.recv(self.chunk)
                if not part:
                    break
                self.data += part
                self.first.set()
                if self.pause is None:
                    time.sleep(30)
                    break
                time.sleep(self.pause)
            s.close()
        except OSError as e:
            self.error = e
        self.first.set()

    def complete(self):
        """(whole page received, why not)."""
        head, sep, body = self.data.partition(b"\r\n\r\n")
        if not sep:
            return False, "no complete head in %d bytes (%s)" % (len(self.data), self.error)
        if not head.startswith(b"HTTP/1.1 200"):
            return False, "status line %r" % head.split(b"\r\n")[0]
        m = re.search(rb"\r\nContent-Length: (\d+)", head, re.I)
        if not m:
            return False, "no Content-Length"
        want = int(m.group(1))
        if len(body) != want:
            return False, "%d of %d body bytes (%s)" % (len(body), want, self.error)
        return True, "%d bytes" % want


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--pgid-file")
    args = ap.parse_args(argv)
    build = os.path.abspath(args.build)
    run = driver.Run("shutdown", args.pgid_file)
    st, workdir, check = run.stack, run.workdir, run.check
    servers = HostileServers()

    try:
        cfg = os.path.join(workdir, "exporter.yaml")
        stack.write_file(cfg, config_text("http://127.0.0.1:%d/hang" % servers.port()))
        proc, port = st.start_exporter(os.path.join(build, "triage_exporter"), cfg)
        base = "http://127.0.0.1:%d" % port

        def busy():
            # Every padding probe has run once (the page has its full size),
            # and the hanging run is in flight.
            status, body = stack.http_request(base + "/metrics", timeout=10)
            m = re.search(rb"^triage_exporter_probes_in_flight (\S+)$", body, re.M)
            return status == 200 and len(body) >= PAGE_BYTES and m and float(m.group(1)) >= 1
        check(stack.wait_until(busy, 20), "a page of %d MiB, the hanging probe run in flight" % (PAGE_BYTES >> 20))

        # About 5 MiB at 64 KiB per 5 ms: half a second of reading, well
        # inside the 2 s drain; the stalled reader takes one chunk and stops.
        steady = Reader(port, 64 * 1024, 0.005)
        stalled = Reader(port, 8192, None, rcvbuf=8192)
        steady.start()
        stalled.start()
        steady.first.wait(10)
        stalled.first.wait(10)
        check(steady.data and stalled.data, "both scrapes are under way before the signal",
              "steady %d bytes, stalled %d bytes" % (len(steady.data), len(stalled.data)))

        t0 = time.monotonic()
        os.kill(proc.pid, signal.SIGTERM)
        time.sleep(0.2)
        late_status, late_body = stack.http_request(base + "/metrics", timeout=5)
        check(late_status in (0, 503), "a scrape after the signal gets 503 or no connection",
              "status %s, %d bytes" % (late_status, len(late_body)))

        try:
            rc = proc.popen.wait(timeout=EXIT_LIMIT + 5)
        except Exception:  # noqa: BLE001 - reported below
            rc = None
        took = time.monotonic() - t0
        check(rc == 0, "exit status 0", "status %s" % rc)
        check(took <= EXIT_LIMIT, "exits within %.0f s of SIGTERM" % EXIT_LIMIT, "took %.2f s" % took)
        print("exited %.2f s after SIGTERM" % took)

        steady.join(10)
        ok, why = steady.complete()
        check(ok, "the scrape in progress got its whole page", why)
        stalled.join(1)
        ok, _ = stalled.complete()
        check(not ok, "the stalled reader was cut off", "it got the whole page")
        log = proc.output("err", tail=50)
        check("requests still running at shutdown were cut off" in log and "requests=1" in log,
              "the log names the cut-off request", log)
        check("shutting down" in log and "signal=SIGTERM" in log, "the log says why it stopped", log)
    except stack.StackError as e:
        check(False, "set-up", e)
    finally:
        st.stop()
        servers.stop()
    return run.finish()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

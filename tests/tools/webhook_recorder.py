#!/usr/bin/env python3
"""Records webhook notifications (Alertmanager's webhook_configs) for tests.

Binds 127.0.0.1 on --port (0 picks a free port) and writes the bound port to
--port-file once it accepts connections. Every POST body is appended to --out
as one JSON line (bodies that are not JSON are stored as a JSON string) and
answered with 200. GET /notifications returns all recorded lines as a JSON
array; GET /-/ready answers 200. SIGTERM and SIGINT stop it cleanly.

Standard library only.
"""

import argparse
import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_lock = threading.Lock()


class Recorder(BaseHTTPRequestHandler):
    server_version = "webhook-recorder/1"
    out_path = ""
    quiet = False

    def _reply(self, code, body, ctype="application/json"):
        data = body.encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):  # noqa: N802 (http.server naming)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        text = raw.decode("utf-8", errors="replace")
        try:
            record = json.loads(text)
        except ValueError:
            record = text
        line = json.dumps(record, separators=(",", ":"), sort_keys=True)
        with _lock:
            with open(self.out_path, "a", encoding="utf-8") as f:
                f.write(line + "\n")
                f.flush()
        self._reply(200, '{"status":"recorded"}\n')

    def do_GET(self):  # noqa: N802
        path = self.path.split("?", 1)[0]
        if path == "/notifications":
            with _lock:
                try:
                    with open(self.out_path, encoding="utf-8") as f:
                        lines = [json.loads(l) for l in f if l.strip()]
                except FileNotFoundError:
                    lines = []
            self._reply(200, json.dumps(lines) + "\n")
        elif path in ("/-/ready", "/-/healthy"):
            self._reply(200, "ok\n", "text/plain")
        else:
            self._reply(404, '{"error":"not found"}\n')

    def log_message(self, fmt, *args):
        if not self.quiet:
            sys.stderr.write("webhook_recorder: %s %s\n" % (self.address_string(), fmt % args))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0, help="port on 127.0.0.1, 0 = any free port")
    ap.add_argument("--port-file", required=True, help="file that receives the bound port")
    ap.add_argument("--out", required=True, help="JSON-lines file, one line per POST")
    ap.add_argument("--quiet", action="store_true", help="no access log on stderr")
    args = ap.parse_args()

    Recorder.out_path = args.out
    Recorder.quiet = args.quiet
    open(args.out, "a", encoding="utf-8").close()

    # Alertmanager sends one request per group at the same moment; the default
    # listen backlog of 5 would drop SYNs and delay the rest by a retransmit.
    ThreadingHTTPServer.request_queue_size = 128
    httpd = ThreadingHTTPServer(("127.0.0.1", args.port), Recorder)
    httpd.daemon_threads = True

    def stop(_signum, _frame):
        # shutdown() blocks until serve_forever() returns: call it elsewhere.
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    port = httpd.server_address[1]
    tmp = args.port_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("%d\n" % port)
    os.replace(tmp, args.port_file)  # readers never see a half-written file

    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

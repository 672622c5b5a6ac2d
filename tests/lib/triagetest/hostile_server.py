"""Hostile HTTP targets for tests/hostile/hostile_test.py (and for
tests/hostile/secrets_test.py and tests/load/shutdown_test.py): one server on
127.0.0.1 (port from the kernel) whose request path picks the misbehaviour,
plus TLS listeners that present a bad certificate.

Paths (anything else: 404):
  /ok                200 with a small JSON body (keep-alive)
  /hang              reads the request and never answers
  /trickle           headers of a 64-byte body, then one byte per second
  /huge-length       Content-Length of 1 GiB, then zeros as fast as taken
  /huge-chunked      chunked zeros without end (1 GiB before it stops)
  /garbage-json      503 with bytes that are not JSON at all
  /truncated-json    200 with a JSON object cut off in the middle
  /bad-utf8          500 whose error code is invalid UTF-8 and markup
  /many-headers      200 with 100,000 header lines
  /big-header        200 with one header of 1 MiB
  /redirect-loop     302 back to itself, forever
  /reset             headers of a 1 MiB body, 1 KiB of it, then a TCP reset
  /error-codes       500 with a JSON error code never sent before
  /huge-metrics      Prometheus text of 10 million series, chunked
  /echo-auth         401 whose JSON error code is the Authorization header it got

The TLS listeners answer every request with 200 once a handshake succeeds,
which it must not: each presents a certificate the client should refuse.

Standard library only. Runs in the test's own process (threads), so the test
reads its counters (distinct error codes sent) directly.
"""

import json
import socket
import socketserver
import ssl
import struct
import threading
import time

GIB = 1 << 30
MIB = 1 << 20


def _head(status, reason, headers):
    lines = ["HTTP/1.1 %d %s" % (status, reason)] + ["%s: %s" % kv for kv in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _send_head(wfile, status, reason, headers):
    wfile.write(_head(status, reason, headers))


def _simple(wfile, status, reason, body, content_type="application/json", close=False):
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
    if close:
        headers.append(("Connection", "close"))
    # One write: a head and a body in two small segments would wait on the
    # client's delayed ACK (Nagle), some 40 ms, on a kept-alive connection.
    wfile.write(_head(status, reason, headers) + body)


class Counters:
    """What the server has done, for the test's assertions."""

    def __init__(self):
        self.lock = threading.Lock()
        self.error_codes_sent = 0
        self.requests = {}

    def count(self, path):
        with self.lock:
            self.requests[path] = self.requests.get(path, 0) + 1

    def next_error_code(self):
        with self.lock:
            self.error_codes_sent += 1
            return self.error_codes_sent


class _Handler(socketserver.StreamRequestHandler):
    # Unbuffered writes: a trickle must reach the socket byte by byte.
    wbufsize = 0
    timeout = 120

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self):
        while True:
            try:
                line = self.rfile.readline(65537)
            except OSError:
                return
            if not line:
                return
            parts = line.decode("latin-1").split()
            if len(parts) < 2:
                return
            path = parts[1].split("?", 1)[0]
            self.authorization = ""
            while True:
                h = self.rfile.readline(65537)
                if not h or h in (b"\r\n", b"\n"):
                    break
                name, _, value = h.decode("latin-1").partition(":")
                if name.strip().lower() == "authorization":
                    self.authorization = value.strip()
            self.server.counters.count(path)
            try:
                keep = self.respond(path)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
                return
            if not keep:
                return

    def respond(self, path):
        """Answers one request; True keeps the connection for another."""
        w = self.wfile
        if getattr(self.server, "tls_only_ok", False) or path == "/ok":
            _simple(w, 200, "OK", b'{"status":"ok"}')
            return True
        if path == "/hang":
            # Hold the connection until the client gives up.
            while self.rfile.read(1):
                pass
            return False
        if path == "/trickle":
            _send_head(w, 200, "OK", [("Content-Type", "text/plain"), ("Content-Length", "64")])
            for _ in range(64):
                w.write(b"x")
                time.sleep(1)
            return False
        if path == "/huge-length":
            _send_head(w, 200, "OK", [("Content-Type", "application/octet-stream"),
                                      ("Content-Length", str(GIB))])
            self._zeros(GIB, chunked=False)
            return False
        if path == "/huge-chunked":
            _send_head(w, 200, "OK", [("Content-Type", "application/json"),
                                      ("Transfer-Encoding", "chunked")])
            self._zeros(GIB, chunked=True)
            return False
        if path == "/garbage-json":
            _simple(w, 503, "Service Unavailable", bytes(range(256)) * 4)
            return True
        if path == "/truncated-json":
            _simple(w, 200, "OK", b'{"checks": {"db": {"status": "ok"}, "cache": {"stat')
            return True
        if path == "/bad-utf8":
            _simple(w, 500, "Internal Server Error",
                    b'{"code": "\xff\xfe\xc3(<script>alert(1)</script>\\"}\n{"', close=True)
            return False
        if path == "/many-headers":
            _send_head(w, 200, "OK", [("X-Filler-%d" % i, "v") for i in range(100000)] +
                       [("Content-Length", "2")])
            w.write(b"{}")
            return False
        if path == "/big-header":
            _send_head(w, 200, "OK", [("X-Big", "a" * MIB), ("Content-Length", "2")])
            w.write(b"{}")
            return False
        if path == "/redirect-loop":
            _send_head(w, 302, "Found", [("Location", "/redirect-loop"), ("Content-Length", "0")])
            return True
        if path == "/reset":
            _send_head(w, 200, "OK", [("Content-Type", "text/plain"), ("Content-Length", str(MIB))])
            w.write(b"y" * 1024)
            time.sleep(0.05)
            # SO_LINGER with a zero timeout turns close() into a RST.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False
        if path == "/error-codes":
            n = self.server.counters.next_error_code()
            _simple(w, 500, "Internal Server Error", b'{"code": "E%06d"}' % n)
            return True
        if path == "/echo-auth":
            body = json.dumps({"code": self.authorization, "message": "not allowed"}).encode()
            _simple(w, 401, "Unauthorized", body)
            return True
        if path == "/huge-metrics":
            _send_head(w, 200, "OK", [("Content-Type", "text/plain; version=0.0.4"),
                                      ("Transfer-Encoding", "chunked")])
            self._series(10_000_000)
            return False
        _simple(w, 404, "Not Found", b'{"code": "not_found"}')
        return True

    def _zeros(self, total, chunked):
        block = b"\0" * (64 * 1024)
        if chunked:
            block = b"%x\r\n" % len(block) + block + b"\r\n"
        sent = 0
        while sent < total:
            self.wfile.write(block)
            sent += 64 * 1024
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    def _series(self, count):
        per = 2000
        for start in range(0, count, per):
            text = "".join('hostile_series{i="%d"} 1\n' % i for i in range(start, start + per))
            data = text.encode()
            self.wfile.write(b"%x\r\n" % len(data) + data + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, counters, ssl_context=None):
        self.counters = counters
        self.ssl_context = ssl_context
        self.tls_only_ok = ssl_context is not None
        super().__init__(("127.0.0.1", 0), _Handler)

    def get_request(self):
        sock, addr = super().get_request()
        if self.ssl_context is not None:
            # The handshake happens in the handler's thread (on first read):
            # a client that refuses the certificate fails it there.
            sock = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request, client_address):
        pass  # a client that hangs up or refuses the certificate is the point


class HostileServers:
    """The plain server and one TLS listener per bad certificate; stop() ends all."""

    def __init__(self, tls_certs=None):
        """tls_certs: {name: (cert_file, key_file)} for the TLS listeners."""
        self.counters = Counters()
        self.servers = {"plain": _Server(self.counters)}
        for name, (cert, key) in (tls_certs or {}).items():
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            self.servers[name] = _Server(self.counters, ctx)
        self.threads = []
        for srv in self.servers.values():
            t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
            t.start()
            self.threads.append(t)

    def port(self, name="plain"):
        return self.servers[name].server_address[1]

    def stop(self):
        for srv in self.servers.values():
            srv.shutdown()
            srv.server_close()

#!/usr/bin/env python3
"""Canary secrets: a distinct canary in every kind of credentials file the
exporter reads, and none of them may show up anywhere the exporter writes.

Credentials files (each holds its own canary):
  bearer   authorization.credentials_file of http, scrape and cluster probes
           (the echo and node simulators require it)
  basic    basic_auth.password_file of an http probe
  kube     bearer_token_file of a kubernetes_pvc probe (the kube simulator
           requires it)
  web      bearer_token_file of --web.config.file (every request sends it)
and a hostile target that echoes the Authorization header it got into its
JSON error code.

Looked at, with the log at debug level: /metrics, the landing page,
/probe?debug=true of every probe, /api/v1/triage of every service, the
runbook index and a runbook page, /-/ready; the answers and log of a reload
refused for a missing credentials file; the debug output while the bearer
file holds a line break (refused, not sent); --config.check on a broken
configuration; the refused start with a web configuration whose hash is the
canary, and with a web token holding a line break; the whole log of the
exporter and its stdout after SIGTERM. Each canary is looked for as it is,
in base64 (as in a Basic header) and URL-encoded.

Usage: secrets_test.py --build BUILD_DIR [--pgid-file FILE]
Standard library only.
"""

import argparse
import base64
import os
import subprocess
import sys
import urllib.parse

sys.dont_write_bytecode = True
from triagetest import driver, stack  # noqa: E402  (PYTHONPATH=tests/lib)
from triagetest.hostile_server import HostileServers  # noqa: E402

CANARIES = {name: "canary-%s-%s" % (name, os.urandom(6).hex()) for name in ("bearer", "basic", "kube", "web")}
BASIC_USER = "probe-user"


def forms(name, value):
    """What a leak of `value` could look like."""
    out = {value, base64.b64encode(value.encode()).decode(), urllib.parse.quote(value, safe="")}
    if name == "basic":
        out.add(base64.b64encode(("%s:%s" % (BASIC_USER, value)).encode()).decode())
    # A label value keeps [A-Za-z0-9_.:-]: the canaries are made of those.
    return out


def config_text(files, ports, hostile_port):
    echo, node, kube = ports["echo"], ports["node"], ports["kube"]
    bearer = "authorization: {type: Bearer, credentials_file: %s}" % files["bearer"]
    return """global:
  interval: 1s
  timeout: 900ms
services:
  - name: echo
    probes:
      - {name: api, kind: http, layer: traffic, url: "http://127.0.0.1:%(echo)d/api/v2/whoami",
         %(bearer)s, valid_status_codes: [200], error_code_pointer: /code}
      - {name: health, kind: http, layer: liveness, url: "http://127.0.0.1:%(echo)d/health",
         basic_auth: {username: %(user)s, password_file: %(basic)s}}
      - {name: metrics, kind: scrape, layer: telemetry, url: "http://127.0.0.1:%(echo)d/metrics",
         %(bearer)s, expect_metrics: [echo_http_requests_total]}
  - name: node
    probes:
      - {name: stats, kind: cluster, layer: dependency, url: "http://127.0.0.1:%(node)d/api/v1/stats",
         %(bearer)s, leader_pointer: /cluster/leader, self_pointer: /cluster/node_id,
         replication_ready_pointer: /cluster/policy_replication, followers_pointer: /cluster/followers,
         max_follower_lag: 1000}
  - name: storage
    probes:
      - {name: data, kind: kubernetes_pvc, layer: dependency, namespace: ingero,
         label_selector: app.kubernetes.io/name=ingero-echo, api_server: "http://127.0.0.1:%(kube)d",
         bearer_token_file: %(kube_file)s}
  - name: echoer
    probes:
      - {name: echo_auth, kind: http, layer: traffic, url: "http://127.0.0.1:%(hostile)d/echo-auth",
         %(bearer)s, error_code_pointer: /code}
""" % dict(echo=echo, node=node, kube=kube, hostile=hostile_port, bearer=bearer, user=BASIC_USER,
           basic=files["basic"], kube_file=files["kube"])


PROBES = [("echo", "api"), ("echo", "health"), ("echo", "metrics"), ("node", "stats"), ("storage", "data"),
          ("echoer", "echo_auth")]


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--pgid-file")
    args = ap.parse_args(argv)
    build = os.path.abspath(args.build)
    exporter_bin = os.path.join(build, "triage_exporter")
    run = driver.Run("secrets", args.pgid_file)
    st, workdir, check = run.stack, run.workdir, run.check
    servers = HostileServers()
    seen = {}  # what was collected: name -> text

    def keep(name, data):
        seen[name] = data.decode("utf-8", "replace") if isinstance(data, bytes) else data

    try:
        files = {}
        for name, value in CANARIES.items():
            files[name] = os.path.join(workdir, name + ".secret")
            stack.write_file(files[name], value + "\n")
        web_cfg = os.path.join(workdir, "web.yaml")
        stack.write_file(web_cfg, "bearer_token_file: %s\n" % files["web"])
        auth = {"Authorization": "Bearer " + CANARIES["web"]}

        sims = st.start_simulators(os.path.join(build, "triage_simulator"), [
            dict(name="echo", system="echo", token_file=files["bearer"]),
            dict(name="node", system="node", token_file=files["bearer"]),
            dict(name="kube", system="kube", token_file=files["kube"])])
        ports = {n: p for n, (_, p) in sims.items()}
        cfg = os.path.join(workdir, "exporter.yaml")
        good = config_text(files, ports, servers.port())
        stack.write_file(cfg, good)

        proc = st.spawn("exporter", [exporter_bin, "--config.file=" + cfg, "--web.listen-address=127.0.0.1:0",
                                     "--web.config.file=" + web_cfg, "--log.level=debug"])

        def port():
            with open(proc.err_path, encoding="utf-8", errors="replace") as f:
                for line in f:
                    if "msg=started" in line and "address=127.0.0.1:" in line:
                        return int(line.split("address=127.0.0.1:")[1].split()[0])
            return None
        exp_port = st.wait_for(proc, "start-up line", port, 15)
        base = "http://127.0.0.1:%d" % exp_port

        def get(path, **kw):
            return stack.http_request(base + path, headers=auth, timeout=15, **kw)

        # Every probe has run a few times, the authenticated ones successfully.
        def ran():
            status, body = get("/metrics")
            return status == 200 and body.count(b'triage_probe_success{') >= len(PROBES) and body
        body = stack.wait_until(ran, 20)
        stack.wait_until(lambda: False, 3)
        status, body = get("/metrics")
        keep("/metrics", body)
        for svc, probe in (("echo", "api"), ("echo", "metrics"), ("node", "stats"), ("storage", "data")):
            check(b'triage_probe_success{service="%s",probe="%s"} 1' % (svc.encode(), probe.encode()) in body,
                  "%s/%s authenticates with its canary credentials" % (svc, probe),
                  "\n".join(l for l in body.decode().splitlines() if 'probe="%s"' % probe in l)[:800])
        check(b'error_code="redacted"' in body, "the echoed bearer is exported as error_code=\"redacted\"",
              "\n".join(l for l in body.decode().splitlines() if "echo_auth" in l and "error" in l))

        for path in ["/", "/-/ready", "/runbooks/", "/runbooks/http-status.md"] + \
                ["/api/v1/triage?service=" + s for s in ("echo", "node", "storage", "echoer")]:
            status, data = get(path)
            check(status == 200, "%s answers 200" % path, "status %s" % status)
            keep(path, data)
        for svc, probe in PROBES:
            path = "/probe?service=%s&probe=%s&debug=true" % (svc, probe)
            status, data = get(path)
            check(status == 200 and b"Logs for the probe" in data, "%s runs" % path, data[:300])
            keep(path, data)

        # A bearer file with a line break: refused at run time, not sent.
        stack.write_file(files["bearer"], CANARIES["bearer"] + "\r\nX-Injected: yes\n")
        stack.wait_until(lambda: False, 1.5)  # a credentials file is looked at once a second at most
        status, data = get("/probe?service=echo&probe=api&debug=true")
        check(b"reason credentials" in data, "a bearer file with a line break is refused", data[-400:])
        keep("/probe with a broken bearer file", data)
        stack.write_file(files["bearer"], CANARIES["bearer"] + "\n")

        # A reload refused for a missing credentials file.
        stack.write_file(cfg, good.replace(files["kube"], files["kube"] + ".missing"))
        status, data = get("/-/reload", method="POST", data=b"")
        check(status == 500, "a reload with a missing credentials file is refused", data[:300])
        keep("POST /-/reload (refused)", data)
        stack.write_file(cfg, good)

        # --config.check on a broken configuration that names every credentials file.
        bad_cfg = os.path.join(workdir, "bad.yaml")
        stack.write_file(bad_cfg, good + "unknown_top_level_key: 1\n")
        r = subprocess.run([exporter_bin, "--config.check", "--config.file=" + bad_cfg], capture_output=True)
        check(r.returncode != 0, "--config.check refuses the broken configuration", r.stderr[:300])
        keep("--config.check", r.stdout + r.stderr)

        # Refused starts: a web configuration whose hash is the canary, and one
        # whose token file holds a line break.
        for what, web_text, token_text in (
                ("a basic_auth_users value that is not a bcrypt hash",
                 "basic_auth_users:\n  ops: %s\n" % CANARIES["web"], None),
                ("a web token file with a line break",
                 "bearer_token_file: %s\n" % files["web"] + ".broken", CANARIES["web"] + "\nsecond line\n")):
            bad_web = os.path.join(workdir, "bad-web.yaml")
            stack.write_file(bad_web, web_text)
            if token_text:
                stack.write_file(files["web"] + ".broken", token_text)
            r = subprocess.run([exporter_bin, "--config.file=" + cfg, "--web.listen-address=127.0.0.1:0",
                                "--web.config.file=" + bad_web, "--log.level=debug"], capture_output=True,
                               timeout=20)
            check(r.returncode != 0, "the start is refused for %s" % what, r.stderr[-300:])
            keep("refused start: " + what, r.stdout + r.stderr)

        rc = st.stop_one(proc)
        check(rc == 0, "the exporter exits 0", "status %s" % rc)
        with open(proc.err_path, "rb") as f:
            log = f.read()
        keep("exporter log (debug level)", log)
        check(b"level=debug" in log, "the log ran at debug level", log[-300:])
        with open(proc.out_path, "rb") as f:
            keep("exporter stdout", f.read())

        for name, value in CANARIES.items():
            leaks = sorted(where for where, text in seen.items() for form in forms(name, value) if form in text)
            check(not leaks, "the %s canary appears in none of %d outputs" % (name, len(seen)),
                  "found in: %s" % ", ".join(leaks))
    except stack.StackError as e:
        check(False, "set-up", e)
    finally:
        st.stop()
        servers.stop()
    return run.finish()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

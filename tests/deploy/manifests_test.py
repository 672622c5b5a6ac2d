#!/usr/bin/env python3
"""The Kubernetes manifests of deploy/kubernetes, checked offline.

1. Every variant (deploy/kubernetes and its single/, sharded/, bearer/) is
   built by every kustomize at hand (`kubectl kustomize`; Debian's
   kubernetes-client embeds kustomize v2, newer kubectl v5), and the output is
   read back: every document has apiVersion, kind and metadata.name, and the
   references agree (Service selector and pod labels, ServiceMonitor port and
   Service port, probes and container ports, volumes and ConfigMaps, bindings
   and roles, the PrometheusRule and dashboards and their sources).
2. The pods of each variant are started as a kubelet would start them, on
   loopback: the ConfigMaps and Secrets written where the pod mounts them, the
   container's own arguments (only the listen address moves to a free port),
   HOSTNAME set to the pod's name. The API server is a stand-in that holds the
   rendered RBAC: it authorizes every call of the kubernetes_pvc probe the way
   the real RBAC authorizer does (verb from method and path, resource, API
   group, namespace; 403 Status when no bound rule allows it) and passes
   allowed calls to triage_simulator's Kubernetes API (real object shapes).
   The probes must succeed, every call must be allowed, and every granted
   verb must be used: the Role holds what the collector calls and no more.
   What a test cannot give a process on this machine is written into the
   config instead: kubernetes.default.svc becomes the stand-in's loopback
   address, the service account's token and CA paths point where the test put
   them, and a kubernetes_pvc probe without api_server gets these three
   explicitly (the values it would take from KUBERNETES_SERVICE_HOST/PORT and
   the fixed service account paths in a pod). Nothing else moves.

Usage: manifests_test.py --build BUILD [--pgid-file FILE] (tests/deploy/manifests_test.sh)
"""

import argparse
import copy
import http.client
import http.server
import json
import os
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import urllib.parse

import yaml

from triagetest import benchlib, driver, stack  # PYTHONPATH=tests/lib

REPO = driver.REPO
DEPLOY = os.path.join(REPO, "deploy", "kubernetes")
VARIANTS = [".", "single", "sharded", "bearer"]
NAMESPACE = "monitoring"
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding", "Namespace", "StorageClass"}
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


def kustomizers():
    """[(label, argv prefix)] of every kustomize found: kubectl on PATH, and
    kustomize itself when present."""
    found = []
    kubectl = shutil.which("kubectl")
    if kubectl:
        v = subprocess.run([kubectl, "version", "--client"], capture_output=True, text=True)
        m = re.search(r"GitVersion:\"(v[0-9.]+)|Client Version: (v[0-9.]+)", v.stdout)
        found.append(("kubectl %s" % ((m.group(1) or m.group(2)) if m else "(version unknown)"),
                      [kubectl, "kustomize"]))
    kz = shutil.which("kustomize")
    if kz:
        found.append(("kustomize", [kz, "build"]))
    return found


def by_kind(docs, kind):
    return [d for d in docs if d.get("kind") == kind]


def one(docs, kind, name=None):
    found = [d for d in by_kind(docs, kind) if name is None or d["metadata"]["name"] == name]
    if len(found) != 1:
        raise AssertionError("expected one %s%s, found %d" % (kind, " " + name if name else "", len(found)))
    return found[0]


def subset(small, big):
    return all(big.get(k) == v for k, v in (small or {}).items())


def workload(docs):
    w = by_kind(docs, "Deployment") + by_kind(docs, "StatefulSet")
    if len(w) != 1:
        raise AssertionError("expected one Deployment or StatefulSet, found %d" % len(w))
    return w[0]


def container(w):
    cs = w["spec"]["template"]["spec"]["containers"]
    if len(cs) != 1:
        raise AssertionError("expected one container, found %d" % len(cs))
    return cs[0]


def flag(args, name):
    for a in args:
        if a.startswith(name + "="):
            return a[len(name) + 1:]
    return None


def mounted_file(w, path):
    """(volume, key) of the file at path inside the pod, from the workload's
    volumeMounts; None when no mount holds it."""
    c = container(w)
    vols = {v["name"]: v for v in w["spec"]["template"]["spec"].get("volumes", [])}
    for m in sorted(c.get("volumeMounts", []), key=lambda m: -len(m["mountPath"])):
        prefix = m["mountPath"].rstrip("/") + "/"
        if path.startswith(prefix):
            return vols[m["name"]], path[len(prefix):]
    return None


def configmap_data(docs, name):
    return one(docs, "ConfigMap", name)["data"]


def check_static(run, label, variant, docs, single_docs):
    """The structure and the references of one rendered variant."""
    tag = "%s %s:" % (label, variant)
    run.check(docs and all(isinstance(d, dict) for d in docs), tag + " every document is a mapping")
    bad = [d for d in docs if not (d.get("apiVersion") and d.get("kind") and d.get("metadata", {}).get("name"))]
    run.check(not bad, tag + " every document has apiVersion, kind and metadata.name", bad[:1])
    names = [d["metadata"]["name"] for d in docs]
    run.check(all(DNS_SUBDOMAIN.match(n) for n in names), tag + " every name is a DNS subdomain", names)
    keys = [(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]) for d in docs]
    run.check(len(keys) == len(set(keys)), tag + " no object twice", keys)
    wrong_ns = [k for k in keys if (k[1] is None) != (k[0] in CLUSTER_SCOPED) or k[1] not in (None, NAMESPACE)]
    run.check(not wrong_ns, tag + " namespaced objects are in %s, cluster-scoped ones have none" % NAMESPACE,
              wrong_ns)

    w = workload(docs)
    tmpl = w["spec"]["template"]
    pod_labels = tmpl["metadata"]["labels"]
    pod = tmpl["spec"]
    c = container(w)
    ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    run.check(subset(w["spec"]["selector"]["matchLabels"], pod_labels),
              tag + " the %s's selector matches its pod labels" % w["kind"])
    if w["kind"] == "Deployment":
        run.check(w["spec"].get("replicas") == 1 and w["spec"].get("strategy", {}).get("type") == "Recreate",
                  tag + " one replica, also during a rollout (strategy Recreate)", w["spec"].get("strategy"))

    svc = one(docs, "Service", "triage-exporter")
    run.check(subset(svc["spec"]["selector"], pod_labels), tag + " the Service's selector matches the pod labels",
              (svc["spec"]["selector"], pod_labels))
    svc_ports = {p["name"]: p for p in svc["spec"]["ports"]}
    run.check(all(p["targetPort"] in ports for p in svc_ports.values()),
              tag + " every Service port targets a named container port", (svc_ports, ports))

    sm = one(docs, "ServiceMonitor")
    run.check(subset(sm["spec"]["selector"]["matchLabels"], svc["metadata"]["labels"]),
              tag + " the ServiceMonitor selects the Service")
    run.check(NAMESPACE in sm["spec"]["namespaceSelector"]["matchNames"],
              tag + " the ServiceMonitor looks in the Service's namespace")
    eps = sm["spec"]["endpoints"]
    run.check(eps and all(e["port"] in svc_ports for e in eps),
              tag + " every ServiceMonitor endpoint names a Service port", eps)
    run.check(all(e.get("honorLabels") is True for e in eps),
              tag + " the ServiceMonitor keeps the exporter's own service label (honorLabels)")
    run.check(all({"action": "labeldrop", "regex": "service"} in e.get("relabelings", []) for e in eps),
              tag + " the ServiceMonitor drops the Operator's service target label")

    np_ = one(docs, "NetworkPolicy")
    run.check(subset(np_["spec"]["podSelector"]["matchLabels"], pod_labels),
              tag + " the NetworkPolicy applies to the exporter's pods")
    ingress = np_["spec"].get("ingress", [])
    froms = [f for rule in ingress for f in rule.get("from", [])]
    run.check(len(ingress) == 1 and froms and all(
        f.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/name") == "prometheus" and
        f.get("namespaceSelector") for f in froms),
        tag + " the NetworkPolicy lets in only Prometheus pods (by pod and namespace)", ingress)
    run.check(all(p["port"] in ports for rule in ingress for p in rule.get("ports", [])),
              tag + " the NetworkPolicy's ports are named container ports")

    sc = pod.get("securityContext", {})
    csc = c.get("securityContext", {})
    run.check(sc.get("runAsNonRoot") is True and sc.get("runAsUser", 0) != 0,
              tag + " the pod runs as a user other than root", sc)
    run.check(sc.get("seccompProfile", {}).get("type") == "RuntimeDefault",
              tag + " the pod runs under the runtime's default seccomp profile", sc)
    run.check(csc.get("readOnlyRootFilesystem") is True and csc.get("allowPrivilegeEscalation") is False and
              csc.get("capabilities", {}).get("drop") == ["ALL"],
              tag + " read-only root filesystem, no privilege escalation, no capabilities", csc)
    res = c.get("resources", {})
    run.check(res.get("requests", {}).get("cpu") and res.get("requests", {}).get("memory") and
              res.get("limits", {}).get("memory"), tag + " CPU and memory requests, a memory limit", res)
    lp, rp = c.get("livenessProbe", {}).get("httpGet", {}), c.get("readinessProbe", {}).get("httpGet", {})
    run.check(lp.get("path") == "/-/healthy" and rp.get("path") == "/-/ready" and
              lp.get("port") in ports and rp.get("port") in ports,
              tag + " liveness /-/healthy and readiness /-/ready on a named container port", (lp, rp))
    listen = flag(c.get("args", []), "--web.listen-address")
    run.check(listen is not None and listen.rsplit(":", 1)[-1] == str(ports.get(lp.get("port"))),
              tag + " the exporter listens on the container port the probes use", (listen, ports))

    sa_name = pod.get("serviceAccountName")
    run.check(any(d["metadata"]["name"] == sa_name for d in by_kind(docs, "ServiceAccount")),
              tag + " the pod's ServiceAccount is in the output", sa_name)
    vols = {v["name"]: v for v in pod.get("volumes", [])}
    mounts = c.get("volumeMounts", [])
    run.check(all(m["name"] in vols for m in mounts), tag + " every volumeMount names a volume")
    cm_names = {d["metadata"]["name"] for d in by_kind(docs, "ConfigMap")}
    missing_cm = [v["configMap"]["name"] for v in vols.values() if "configMap" in v and
                  v["configMap"]["name"] not in cm_names]
    run.check(not missing_cm, tag + " every ConfigMap volume names a ConfigMap of the output", missing_cm)
    for f in ("--config.file", "--web.config.file"):
        path = flag(c.get("args", []), f)
        if path is None:
            continue
        hit = mounted_file(w, path)
        run.check(hit and "configMap" in hit[0] and hit[1] in configmap_data(docs, hit[0]["configMap"]["name"]),
                  tag + " %s (%s) is a key of the mounted ConfigMap" % (f, path))

    roles = {(d["kind"], d["metadata"]["name"]) for d in by_kind(docs, "Role") + by_kind(docs, "ClusterRole")}
    for b in by_kind(docs, "RoleBinding") + by_kind(docs, "ClusterRoleBinding"):
        ref = b["roleRef"]
        run.check((ref["kind"], ref["name"]) in roles,
                  tag + " %s %s binds a role of the output" % (b["kind"], b["metadata"]["name"]), ref)
        run.check(any(s["kind"] == "ServiceAccount" and s["name"] == sa_name and s.get("namespace") == NAMESPACE
                      for s in b["subjects"]),
                  tag + " %s %s binds the pod's ServiceAccount" % (b["kind"], b["metadata"]["name"]), b["subjects"])

    # The rule pack and the dashboards, as their sources have them.
    rule = one(docs, "PrometheusRule")
    with open(os.path.join(REPO, "alerts", "triage.prometheusrule.yaml"), encoding="utf-8") as f:
        source = yaml.safe_load(f)
    run.check(rule["spec"] == source["spec"], tag + " the PrometheusRule's groups are alerts/triage.prometheusrule.yaml's")
    run.check(rule["metadata"]["labels"].get("release") == sm["metadata"]["labels"].get("release") is not None,
              tag + " the PrometheusRule and the ServiceMonitor carry the same release label")
    boards = {}
    for d in by_kind(docs, "ConfigMap"):
        if d["metadata"].get("labels", {}).get("grafana_dashboard") == "1":
            for k, v in d["data"].items():
                boards[k] = json.loads(v)
    sources = {}
    for n in sorted(os.listdir(os.path.join(REPO, "dashboards"))):
        if n.endswith(".json"):
            with open(os.path.join(REPO, "dashboards", n), encoding="utf-8") as f:
                sources[n] = json.load(f)
    run.check(boards == sources, tag + " the ConfigMaps labelled grafana_dashboard hold dashboards/*.json",
              sorted(boards))

    # The web configuration and the ServiceMonitor's authorization agree.
    web_path = flag(c.get("args", []), "--web.config.file")
    web = {}
    if web_path:
        vol, key = mounted_file(w, web_path)
        web = yaml.safe_load(configmap_data(docs, vol["configMap"]["name"])[key]) or {}
    auth = [e.get("authorization") for e in eps]
    if web.get("bearer_token_file"):
        hit = mounted_file(w, web["bearer_token_file"])
        ok = hit and "secret" in hit[0] and all(
            a and a.get("type") == "Bearer" and
            a.get("credentials") == {"name": hit[0]["secret"]["secretName"], "key": hit[1]} for a in auth)
        run.check(ok, tag + " the web configuration asks for a bearer, and every ServiceMonitor endpoint sends "
                  "the one from the Secret the exporter reads", (auth, hit))
        run.check(not hit[0]["secret"].get("optional"), tag + " the web token's Secret is not optional")
    else:
        run.check(not any(auth), tag + " no web bearer, and the ServiceMonitor sends none", auth)

    if w["kind"] == "StatefulSet":
        args = c.get("args", [])
        run.check(flag(args, "--shard.count") == str(w["spec"]["replicas"]),
                  tag + " --shard.count equals the StatefulSet's replicas")
        run.check(flag(args, "--shard.index") == "hostname", tag + " each pod takes its shard from its name")
        headless = [d for d in by_kind(docs, "Service") if d["metadata"]["name"] == w["spec"]["serviceName"]]
        run.check(len(headless) == 1 and headless[0]["spec"].get("clusterIP") == "None" and
                  subset(headless[0]["spec"]["selector"], pod_labels),
                  tag + " serviceName is a headless Service of the pods")
        base = copy.deepcopy(workload(single_docs)["spec"]["template"])
        mine = copy.deepcopy(tmpl)
        container(dict(spec=dict(template=mine)))["args"] = [
            a for a in c["args"] if not a.startswith("--shard.")]
        run.check(mine == base, tag + " the pod template is single/'s Deployment's but for the --shard flags")
    return w


# -- the stand-in API server ----------------------------------------------------------

def request_attributes(method, path, query):
    """(verb, apiGroup, resource, namespace) the RBAC authorizer would see for
    a resource request, or None for a non-resource URL."""
    seg = [s for s in path.split("/") if s]
    if seg[:2] == ["api", "v1"]:
        group, rest = "", seg[2:]
    elif len(seg) >= 3 and seg[0] == "apis":
        group, rest = seg[1], seg[3:]
    else:
        return None
    ns = None
    if len(rest) >= 2 and rest[0] == "namespaces":
        ns, rest = rest[1], rest[2:]
    if not rest:
        return None
    resource = rest[0]
    named = len(rest) >= 2
    watch = query.get("watch", [""])[0] in ("1", "true")
    verb = {"GET": "get" if named else ("watch" if watch else "list"), "POST": "create", "PUT": "update",
            "PATCH": "patch", "DELETE": "delete" if named else "deletecollection"}.get(method, method.lower())
    return verb, group, resource, ns


def rbac_rules(docs, sa):
    """[(namespace or None, rule)] of every Role/ClusterRole bound to the
    service account (namespace, name)."""
    out = []
    for b in by_kind(docs, "RoleBinding") + by_kind(docs, "ClusterRoleBinding"):
        if not any(s["kind"] == "ServiceAccount" and (s.get("namespace"), s["name"]) == sa for s in b["subjects"]):
            continue
        ref = b["roleRef"]
        role_ns = b["metadata"].get("namespace") if ref["kind"] == "Role" else None
        for r in by_kind(docs, ref["kind"]):
            if r["metadata"]["name"] == ref["name"] and r["metadata"].get("namespace") == role_ns:
                scope = b["metadata"].get("namespace")  # a RoleBinding grants in its namespace only
                out.extend((scope, rule) for rule in r.get("rules", []))
    return out


def allows(rules, attrs):
    verb, group, resource, ns = attrs
    for scope, rule in rules:
        if scope is not None and ns != scope:
            continue
        if (verb in rule.get("verbs", []) or "*" in rule.get("verbs", [])) and \
                (group in rule.get("apiGroups", []) or "*" in rule.get("apiGroups", [])) and \
                (resource in rule.get("resources", []) or "*" in rule.get("resources", [])):
            return True
    return False


class ApiStandIn:
    """HTTPS on loopback: /livez and /readyz for anyone, resource requests with
    the service account's bearer, authorized by the rendered RBAC and passed
    to triage_simulator's Kubernetes API (namespace renamed to its own)."""

    def __init__(self, rules, sa_token, sim_port, sim_token, sim_ns, cert, key):
        self.rules, self.sa_token = rules, sa_token
        self.sim_port, self.sim_token, self.sim_ns = sim_port, sim_token, sim_ns
        self.calls = []  # (attrs, allowed)
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def answer(self, code, body, ctype="application/json"):
                data = body.encode() if isinstance(body, str) else body
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def status(self, code, reason, message):
                self.answer(code, json.dumps({"kind": "Status", "apiVersion": "v1", "metadata": {},
                                              "status": "Failure", "message": message, "reason": reason,
                                              "code": code}))

            def do_GET(self):
                u = urllib.parse.urlsplit(self.path)
                # Anonymous requests are refused, as in a cluster with
                # --anonymous-auth=false; /livez and /readyz are open to any
                # authenticated client (system:public-info-viewer).
                if self.headers.get("Authorization") != "Bearer " + outer.sa_token:
                    return self.status(401, "Unauthorized", "Unauthorized")
                if u.path in ("/livez", "/readyz"):
                    return self.answer(200, "ok", "text/plain")
                attrs = request_attributes("GET", u.path, urllib.parse.parse_qs(u.query))
                if attrs is None:
                    return self.status(403, "Forbidden", "non-resource URL %s not allowed" % u.path)
                granted = allows(outer.rules, attrs)
                with outer.lock:
                    outer.calls.append((attrs, granted))
                if not granted:
                    return self.status(403, "Forbidden", "%s %s/%s in %s not allowed" % attrs)
                path = u.path.replace("/namespaces/%s/" % attrs[3], "/namespaces/%s/" % outer.sim_ns) \
                    if attrs[3] else u.path
                code, body = stack.http_request("http://127.0.0.1:%d%s%s" % (
                    outer.sim_port, path, "?" + u.query if u.query else ""),
                    headers={"Authorization": "Bearer " + outer.sim_token})[:2]
                self.answer(code, body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


# -- the pods, started as a kubelet would --------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def materialize(docs, w, root, secret_values, api):
    """Writes the pod's volumes under root as the kubelet mounts them, and the
    service account's token and CA;
    returns a function mapping a path in the pod to one on this machine."""
    c = container(w)
    vols = {v["name"]: v for v in w["spec"]["template"]["spec"].get("volumes", [])}
    for m in c.get("volumeMounts", []):
        v = vols[m["name"]]
        d = os.path.join(root, m["mountPath"].lstrip("/"))
        os.makedirs(d, exist_ok=True)
        if "configMap" in v:
            for k, text in configmap_data(docs, v["configMap"]["name"]).items():
                stack.write_file(os.path.join(d, k), text)
        elif "secret" in v:
            for k, text in secret_values.get(v["secret"]["secretName"], {}).items():
                stack.write_file(os.path.join(d, k), text)
    sa = os.path.join(root, SA_DIR.lstrip("/"))
    os.makedirs(sa, exist_ok=True)
    stack.write_file(os.path.join(sa, "token"), api["token"])
    shutil.copy(api["cert"], os.path.join(sa, "ca.crt"))
    return lambda p: os.path.join(root, p.lstrip("/")) if p.startswith("/") else p


def pod_config(docs, w, to_local, api_port):
    """The pod's config.yaml with the in-cluster defaults pointed at the
    stand-in: kubernetes.default.svc is 127.0.0.1:api_port, the service account
    token and CA are where materialize() put them."""
    path = flag(container(w)["args"], "--config.file")
    with open(to_local(path), encoding="utf-8") as f:
        cfg = yaml.safe_load(f)
    api = "https://127.0.0.1:%d" % api_port
    for svc in cfg["services"]:
        for p in svc["probes"]:
            if "url" in p:
                p["url"] = p["url"].replace("https://kubernetes.default.svc", api)
            if p.get("tls_config", {}).get("ca_file", "").startswith(SA_DIR):
                p["tls_config"]["ca_file"] = to_local(p["tls_config"]["ca_file"])
            if p["kind"] == "kubernetes_pvc" and "api_server" not in p:
                p["api_server"] = api
                p["bearer_token_file"] = to_local(SA_DIR + "/token")
                p["ca_file"] = to_local(SA_DIR + "/ca.crt")
            if "credentials_file" in p.get("authorization", {}):
                p["authorization"]["credentials_file"] = to_local(p["authorization"]["credentials_file"])
    out = to_local(path) + ".local.yaml"
    stack.write_file(out, yaml.safe_dump(cfg, sort_keys=False))
    return out, cfg


def web_config(path, to_local):
    """A copy of the pod's web configuration with its file paths mapped to
    where materialize() put the mounts."""
    with open(path, encoding="utf-8") as f:
        web = yaml.safe_load(f) or {}
    if "bearer_token_file" in web:
        web["bearer_token_file"] = to_local(web["bearer_token_file"])
    tls = web.get("tls_server_config", {})
    for k in ("cert_file", "key_file", "client_ca_file"):
        if k in tls:
            tls[k] = to_local(tls[k])
    return stack.write_file(path + ".local.yaml", yaml.safe_dump(web))


def start_pod(st, exporter, docs, w, pod_name, proc_name, root, secret_values, api):
    to_local = materialize(docs, w, root, secret_values, api)
    config, cfg = pod_config(docs, w, to_local, api["port"])
    port = free_port()
    argv = [exporter]
    for a in container(w)["args"]:
        if a.startswith("--config.file="):
            a = "--config.file=" + config
        elif a.startswith("--web.config.file="):
            a = "--web.config.file=" + web_config(to_local(a.split("=", 1)[1]), to_local)
        elif a.startswith("--web.listen-address="):
            a = "--web.listen-address=127.0.0.1:%d" % port
        argv.append(a)
    # The kubelet sets HOSTNAME to the pod's name.
    os.environ["HOSTNAME"] = pod_name
    proc = st.spawn(proc_name, argv)
    return proc, port, cfg


def api_get(port, path, token, cafile):
    """Status of a GET on the stand-in over verified TLS."""
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=5,
                                       context=ssl.create_default_context(cafile=cafile))
    try:
        conn.request("GET", path, headers={"Authorization": "Bearer " + token})
        return conn.getresponse().status
    finally:
        conn.close()


def scrape(port, token=None):
    """(status, [(name, labels text, value)]) of the pod's /metrics."""
    headers = {"Authorization": "Bearer " + token} if token else None
    code, body = stack.http_request("http://127.0.0.1:%d/metrics" % port, headers=headers)[:2]
    return code, benchlib.parse_samples(body.decode("utf-8", "replace")) if code == 200 else []


def sample(samples, name, **labels):
    """Value of the first sample of name whose labels include labels."""
    want = ['%s="%s"' % kv for kv in labels.items()]
    for n, l, v in samples:
        if n == name and all(w in l for w in want):
            return v
    return None


def check_pods(run, build, label, variant, docs, workdir):
    """Starts the variant's pods beside the API stand-in and checks them."""
    tag = "%s %s (pods on loopback):" % (label, variant)
    exporter = os.path.join(build, "triage_exporter")
    sim = os.path.join(build, "triage_simulator")
    prefix = "%s-" % variant.strip("./")
    vdir = os.path.join(workdir, prefix.rstrip("-"))
    os.makedirs(vdir)
    st = run.stack
    started = len(st.procs)
    w = workload(docs)
    sa = (NAMESPACE, w["spec"]["template"]["spec"]["serviceAccountName"])
    rules = rbac_rules(docs, sa)
    key, cert = os.path.join(vdir, "api.key"), os.path.join(vdir, "api.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=kubernetes", "-addext",
                    "subjectAltName=IP:127.0.0.1,DNS:kubernetes.default.svc"],
                   check=True, capture_output=True)
    sim_token = secrets.token_hex(16)
    stack.write_file(os.path.join(vdir, "sim.token"), sim_token)
    api = api_srv = None
    try:
        _, sim_port = st.start_simulator(sim, prefix + "kube", system="kube", mode="pending_no_default_storageclass",
                                         token_file=os.path.join(vdir, "sim.token"))
        sa_token = secrets.token_hex(16)
        api_srv = ApiStandIn(rules, sa_token, sim_port, sim_token, "ingero", cert, key)
        api = dict(port=api_srv.port, token=sa_token, cert=cert)
        web_token = secrets.token_hex(16)
        secret_values = {"triage-exporter-web": {"token": web_token},
                         "triage-exporter-credentials": {"echo.token": secrets.token_hex(8)}}
        replicas = w["spec"].get("replicas", 1)
        pods = []
        for i in range(replicas):
            name = "%s-%d" % (w["metadata"]["name"], i) if w["kind"] == "StatefulSet" else \
                "%s-5d8f7c9b4-x2k7q" % w["metadata"]["name"]
            pods.append(start_pod(st, exporter, docs, w, name, prefix + name, os.path.join(vdir, "pod%d" % i),
                                  secret_values, api))
        sm = one(docs, "ServiceMonitor")
        auth = sm["spec"]["endpoints"][0].get("authorization")
        scrape_token = secret_values[auth["credentials"]["name"]][auth["credentials"]["key"]] if auth else None
        probes = [(s["name"], p["name"]) for s in pods[0][2]["services"] for p in s["probes"]]

        def all_ran():
            pages = []
            for proc, port, _ in pods:
                code, samples = scrape(port, scrape_token)
                if code != 200:
                    return None
                pages.append(samples)
            ran = sum(1 for t in pages for s, p in probes
                      if sample(t, "triage_probe_success", service=s, probe=p) is not None)
            return pages if ran == len(probes) else None
        # First runs are spread over each probe's interval (1m for the storage probe).
        pages = st.wait_for(pods[0][0], "a first run of every probe", all_ran, 75)
        for proc, port, _ in pods:
            code = stack.http_request("http://127.0.0.1:%d/-/healthy" % port)[0]
            code2 = stack.http_request("http://127.0.0.1:%d/-/ready" % port)[0]
            run.check(code == 200 and code2 == 200,
                      tag + " %s answers the kubelet's /-/healthy and /-/ready without credentials" % proc.name,
                      (code, code2))
            if auth:
                code = scrape(port)[0]
                code2 = scrape(port, scrape_token + "x")[0]
                run.check(code == 401 and code2 == 401, tag + " %s refuses a scrape without the Secret's token"
                          % proc.name, (code, code2))
        for s, p in probes:
            runs = [t for t in pages if sample(t, "triage_probe_success", service=s, probe=p) is not None]
            ok = [sample(t, "triage_probe_success", service=s, probe=p) for t in runs]
            run.check(len(runs) == 1 and ok == [1.0],
                      tag + " probe %s/%s runs on exactly one pod and succeeds" % (s, p),
                      [(n, l, v) for t in runs for n, l, v in t if 'probe="%s"' % p in l and "reason" in l][:20])
        if w["kind"] == "StatefulSet":
            shard = [sample(t, "triage_exporter_shard_probes") for t in pages]
            conf = [sample(t, "triage_exporter_probes_configured") for t in pages]
            run.check(sum(shard) == len(probes) and set(conf) == {len(probes)},
                      tag + " the shards' triage_exporter_shard_probes add up to the configured probes",
                      (shard, conf))
        pvc = [t for t in pages if sample(t, "triage_storageclass_default_present") is not None]
        run.check(pvc and sample(pvc[0], "triage_storageclass_default_present") == 0.0 and
                  sample(pvc[0], "triage_pvc_last_event_info", reason="ProvisioningFailed") == 1.0,
                  tag + " the kubernetes_pvc probe read claims, events and StorageClasses through RBAC")
        with api_srv.lock:
            calls = list(api_srv.calls)
        denied = sorted({c[0] for c in calls if not c[1]})
        run.check(calls and not denied, tag + " the RBAC allows every call of the kubernetes_pvc probe", denied)
        granted = {(v, g, r, scope) for scope, rule in rules
                   for v in rule["verbs"] for g in rule["apiGroups"] for r in rule["resources"]}
        unused = sorted(k for k in granted
                        if not any(c[0][:3] == k[:3] and (k[3] is None or c[0][3] == k[3]) for c in calls))
        run.check(not unused and any(ok for _, ok in calls),
                  tag + " the RBAC grants nothing the probe does not use", unused)
        # The stand-in denies what the roles do not grant (else the checks above prove nothing).
        code = api_get(api_srv.port, "/api/v1/namespaces/%s/persistentvolumeclaims/data-0" % NAMESPACE,
                       sa_token, cert)
        run.check(code == 403, tag + " the stand-in refuses a get the roles do not grant", code)
    except stack.StackError as e:
        run.check(False, tag + " pods started and probed", e)
    finally:
        for proc in st.procs[started:]:
            st.stop_one(proc)
        if api_srv:
            api_srv.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--pgid-file")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    run = driver.Run("manifests", args.pgid_file)
    try:
        gen = subprocess.run([sys.executable, os.path.join(REPO, "scripts", "gen_deploy.py"), "--check",
                              "--root", REPO], capture_output=True, text=True)
        run.check(gen.returncode == 0, "the generated manifests match alerts/ and dashboards/ "
                  "(python3 scripts/gen_deploy.py)", gen.stdout + gen.stderr)
        tools = kustomizers()
        run.check(tools, "a kustomize to build the manifests with (kubectl from scripts/install-deps.sh)")
        for label, argv in tools:
            rendered = {}
            for variant in VARIANTS:
                p = subprocess.run(argv + [os.path.join(DEPLOY, variant)], capture_output=True, text=True)
                ok = run.check(p.returncode == 0, "%s builds deploy/kubernetes/%s" % (label, variant),
                               p.stderr[-1500:])
                if ok:
                    rendered[variant] = [d for d in yaml.safe_load_all(p.stdout) if d is not None]
            if len(rendered) != len(VARIANTS):
                continue
            run.check(rendered["."] == rendered["single"],
                      "%s: deploy/kubernetes builds the single variant" % label)
            for variant in VARIANTS[1:]:
                try:
                    check_static(run, label, variant, rendered[variant], rendered["single"])
                except (AssertionError, KeyError, TypeError) as e:
                    run.check(False, "%s %s: the output has the expected objects" % (label, variant), repr(e))
            if label == tools[0][0]:
                for variant in VARIANTS[1:]:
                    check_pods(run, build, label, variant, rendered[variant], run.workdir)
    finally:
        run.stack.stop()
    return run.finish()


if __name__ == "__main__":
    sys.exit(main())

"""The scenarios of the end-to-end suite (tests/e2e/e2e.py): one per failure
mode the simulators can play, and one per symptom of the guides that needs more
than a simulator mode (two targets of one service, a Prometheus job, a TLS
certificate, the exporter itself). Each scenario that has a service has it to
itself in tests/e2e/exporter.yaml, with its own targets, so that all of them
run at once.

Each scenario names
  name      the row label in the table
  service   the service in exporter.yaml (None for the exporter's own alerts);
            its main simulator has the same name
  system    what plays the service's target: a simulator system (echo, node,
            kube), "tcp" (a listener of the driver's own), "tls" (openssl
            s_server with a certificate of the driver's own CA), or "exporter"
            (no target: the failure is the exporter's)
  mode      the simulator mode that switches the failure on (None when the
            simulator stays in ok); "restart_loop" re-enters echo's mode
            restarted every few seconds (a crash loop)
  action    what else the driver does to switch the failure on, and undoes on
            recovery:
              close_listener     closes the TCP listener (reopens it)
              short_lived_cert   restarts s_server with a certificate valid
                                 for 3 days (then with one valid for 30)
              prometheus_without_bearer
                                 reloads Prometheus with the scrape job `job`
                                 of this service's simulator lacking its
                                 authorization block (then with it again):
                                 the simulator wants the bearer on /metrics
              broken_config      writes a configuration with an unknown key
                                 over the exporter's and reloads it (then the
                                 good one again); the running one is kept
              stop_exporter      stops the exporter (then starts it again on
                                 the same port)
  sims      more simulators of the same service, each {name, system, mode};
            exporter.yaml reaches each as {{port NAME}}
  token     the simulators of the scenario want the suite's bearer (e2e.token)
  warm_up   a path the driver GETs once on the main simulator before the
            exporter starts (traffic the counters must have seen)
  job       the Prometheus scrape job of action prometheus_without_bearer
  phase     "together" (switched on with every other scenario) or "last"
            (after every other scenario has resolved: stop_exporter would
            silence everything else)
  expect    the alerts that must reach the webhook, as the labels they must
            carry (alertname, service, probe, severity, layer and the
            alert's own labels: check, reason, error_code, ...), taken from
            rules/catalog/; "{{exporter}}" stands for the exporter's
            host:port. With exact_labels the delivered label set must be
            exactly this one
  inhibited alerts of the same service that must sit in Alertmanager with
            status.inhibitedBy set, and never be notified from then on
  dashboard_kinds
            probe kinds whose dashboard panels must show data while the
            failure is on (tests/dashboards/check_queries.py --kinds): the
            kinds whose targets still answer something readable
"""

ECHO, NODE, KUBE, TCP, TLS, EXPORTER = "echo", "node", "kube", "tcp", "tls", "exporter"
SIMULATOR_SYSTEMS = (ECHO, NODE, KUBE)


def alert(name, service, probe, severity, layer, **labels):
    out = {"alertname": name, "service": service, "probe": probe, "severity": severity, "layer": layer}
    out.update(labels)
    return out


def exporter_alert(name, severity, **labels):
    """An alert of the exporter itself: no service, no probe."""
    out = {"alertname": name, "severity": severity, "layer": "exporter"}
    out.update(labels)
    return out


def scenario(name, service, system, mode, expect, inhibited=(), dashboard_kinds=(), action=None,
             sims=(), token=False, warm_up=None, job=None, phase="together", exact_labels=False):
    return {"name": name, "service": service, "system": system, "mode": mode, "action": action,
            "sims": [dict(x) for x in sims], "token": token, "warm_up": warm_up, "job": job,
            "phase": phase, "expect": list(expect), "inhibited": list(inhibited),
            "dashboard_kinds": list(dashboard_kinds), "exact_labels": exact_labels}


def _echo_api(mode, *expect, kinds=("http",)):
    service = "echo-" + mode.replace("_", "-")
    return scenario("echo " + mode, service, ECHO, mode,
                    [e(service) for e in expect], dashboard_kinds=kinds)


def _node_ready(key):
    service = "node-" + key.replace("_", "-")
    return scenario("node readiness " + key, service, NODE, key,
                    [alert("TriageReadinessCheckFailing", service, "ready", "critical", "readiness", check=key)],
                    dashboard_kinds=["readiness"])


def _node_cluster(mode, name, severity, **labels):
    service = "node-" + mode.replace("_", "-")
    return scenario("node " + mode, service, NODE, mode,
                    [alert(name, service, "stats", severity, "dependency", **labels)],
                    dashboard_kinds=["cluster"])


def _kube(mode, *expect, kinds=("kubernetes_pvc",)):
    service = "kube-" + mode.replace("_", "-")
    return scenario("kube " + mode, service, KUBE, mode, [e(service) for e in expect], dashboard_kinds=kinds)


CLAIM = {"namespace": "ingero", "persistentvolumeclaim": "data-ingero-echo-0"}

SCENARIOS = [
    # ---- echo: the API server of the guides
    _echo_api("unauthorized",
              lambda s: alert("TriageHttpUnauthorized", s, "api", "warning", "traffic"),
              lambda s: alert("TriageHttp401ErrorBudgetBurn", s, "api", "critical", "traffic",
                              long="1h", short="5m")),
    _echo_api("forbidden",
              lambda s: alert("TriageHttpForbidden", s, "api", "warning", "traffic",
                              code="403", error_code="tenant_scoped_bearer_refused")),
    _echo_api("gone",
              lambda s: alert("TriageHttpRemovedApiInUse", s, "api", "warning", "traffic", code="410")),
    _echo_api("rate_limited",
              lambda s: alert("TriageHttpRateLimited", s, "api", "warning", "traffic"),
              lambda s: alert("TriageHttp429ErrorBudgetBurn", s, "api", "critical", "traffic",
                              long="1h", short="5m")),
    _echo_api("backend_failure",
              lambda s: alert("TriageHttpBackendFailures", s, "api", "warning", "traffic")),
    _echo_api("shutting_down",
              lambda s: alert("TriageHttpUnavailableTooLong", s, "api", "critical", "traffic")),
    _echo_api("garbage",
              lambda s: alert("TriageHttp5xxErrorBudgetBurn", s, "api", "critical", "traffic",
                              long="1h", short="5m")),
    _echo_api("metrics_empty",
              lambda s: alert("TriageScrapeFailing", s, "metrics", "warning", "telemetry", reason="empty"),
              kinds=()),
    _echo_api("metrics_garbage",
              lambda s: alert("TriageScrapeFailing", s, "metrics", "warning", "telemetry", reason="invalid_body"),
              kinds=()),
    scenario("echo restarted (crash loop)", "echo-restarted", ECHO, "restart_loop",
             [alert("TriageTargetRestartingFrequently", "echo-restarted", "metrics", "warning", "liveness")],
             dashboard_kinds=["scrape"]),
    # A server no one has called yet (or a metrics hop that drops the request
    # counter): /metrics answers, echo_http_requests_total is not in it. The
    # driver calls the API once before the exporter starts, so in ok the
    # counter is there; scrapes of /metrics are not counted.
    scenario("echo no_traffic", "echo-no-traffic", ECHO, "no_traffic",
             [alert("TriageExpectedMetricMissing", "echo-no-traffic", "metrics", "warning", "telemetry",
                    metric="echo_http_requests_total")],
             warm_up="/api/v2/whoami", dashboard_kinds=["scrape"]),
    _echo_api("fd_pressure",
              lambda s: alert("TriageTargetFdUtilizationHigh", s, "metrics", "warning", "traffic"),
              kinds=("scrape",)),
    _echo_api("http10",
              lambda s: alert("TriageHttp10Upstream", s, "api", "warning", "traffic")),
    _echo_api("clock_skew",
              lambda s: alert("TriageClockSkew", s, "api", "warning", "telemetry")),
    _echo_api("hang",
              lambda s: alert("TriageProbeFailing", s, "api", "warning", "traffic", reason="timeout"),
              kinds=()),
    # A hung server fails its liveness probe and its traffic probe: the page is
    # about liveness, the traffic alert waits behind it.
    scenario("inhibit: liveness over traffic (echo hang)", "inhibit-liveness", ECHO, "hang",
             [alert("TriageTargetDown", "inhibit-liveness", "health", "critical", "liveness")],
             inhibited=[alert("TriageProbeFailing", "inhibit-liveness", "api", "warning", "traffic",
                              reason="timeout")]),

    # /metrics wants the bearer; the exporter's probe sends it, the
    # Prometheus job (a ServiceMonitor without its authorization block) does
    # not: Prometheus gets 401 and marks the target down while the probe reads
    # it. A configuration fault, so no simulator mode: the driver reloads
    # Prometheus without the block, and with it again for the recovery.
    scenario("echo /metrics: Prometheus job without the bearer", "echo-scrape-auth", ECHO, None,
             [alert("TriagePrometheusTargetNotUp", "echo-scrape-auth", "metrics", "warning", "telemetry")],
             action="prometheus_without_bearer", token=True, job="echo-direct",
             dashboard_kinds=["scrape"]),

    # ---- the edge gateway: 5xx follow restarts of the upstream API
    # One service: the gateway's route (traffic) answers 500 while the
    # upstream API's /metrics (telemetry) shows it restarting. The upstream
    # restarts every few seconds rather than once: one restart leaves the
    # scaled 10 s window of the rule before the failure is switched off.
    scenario("edge: 5xx during upstream restarts", "edge-upstream-restarts", ECHO, "backend_failure",
             [alert("TriageHttp5xxDuringUpstreamRestarts", "edge-upstream-restarts", "gateway", "warning",
                    "traffic")],
             sims=[{"name": "edge-upstream-restarts-api", "system": ECHO, "mode": "restart_loop"}],
             dashboard_kinds=["http", "scrape"]),

    # ---- a TLS endpoint whose certificate is about to expire
    scenario("tls certificate expiring (3 days left)", "tls-cert-expiring", TLS, None,
             [alert("TriageCertificateExpiringSoon", "tls-cert-expiring", "api", "warning", "traffic")],
             action="short_lived_cert", dashboard_kinds=["http"]),

    # ---- node: a dataplane node of a three-node cluster
    _node_ready("dataplane_running"),
    _node_ready("dataplane_config"),
    _node_ready("policy_ready"),
    _node_ready("dns_allowlist"),
    _node_ready("service_plane"),
    _node_ready("cluster"),
    _node_ready("policy_replication"),
    scenario("node performance_mode", "node-performance-mode", NODE, "performance_mode",
             [alert("TriagePerformanceModeUnavailable", "node-performance-mode", "audit", "warning", "traffic",
                    code="503", error_code="performance_mode")],
             dashboard_kinds=["http"]),
    _node_cluster("no_leader", "TriageClusterLeaderUnknown", "critical"),
    _node_cluster("leader_flapping", "TriageClusterLeaderFlapping", "warning"),
    _node_cluster("follower_lagging", "TriageClusterFollowerLagging", "warning", follower="node-3"),
    _node_cluster("replication_not_ready", "TriageClusterReplicationNotReady", "critical"),
    scenario("node hang", "node-hang", NODE, "hang",
             [alert("TriageNotReady", "node-hang", "ready", "critical", "readiness")]),
    # A node without a leader fails its readiness key "cluster": the page is
    # about readiness, the leader alert (dependency) waits behind it.
    scenario("inhibit: readiness over dependency (node no_leader)", "inhibit-readiness", NODE, "no_leader",
             [alert("TriageReadinessCheckFailing", "inhibit-readiness", "ready", "critical", "readiness",
                    check="cluster")],
             inhibited=[alert("TriageClusterLeaderUnknown", "inhibit-readiness", "stats", "critical",
                              "dependency")],
             dashboard_kinds=["readiness", "cluster"]),

    # ---- kube: a Kubernetes API server holding one claim
    _kube("pending_no_default_storageclass",
          lambda s: alert("TriagePvcPending", s, "data", "warning", "dependency", reason="ProvisioningFailed",
                          **CLAIM),
          lambda s: alert("TriageNoDefaultStorageClass", s, "data", "warning", "dependency")),
    _kube("pending_wait_for_consumer",
          lambda s: alert("TriagePvcPending", s, "data", "warning", "dependency", reason="WaitForFirstConsumer",
                          **CLAIM)),
    _kube("lost",
          lambda s: alert("TriagePvcLost", s, "data", "critical", "dependency", phase="Lost", **CLAIM)),
    _kube("forbidden",
          lambda s: alert("TriageProbeMisconfigured", s, "data", "warning", "exporter", reason="unauthorized"),
          kinds=()),
    _kube("hang",
          lambda s: alert("TriageDependencyDown", s, "data", "critical", "dependency"),
          kinds=()),

    # ---- a plain TCP dependency whose listener goes away
    scenario("tcp dependency closed", "tcp-dependency", TCP, None,
             [alert("TriageDependencyDown", "tcp-dependency", "postgres", "critical", "dependency")],
             action="close_listener"),

    # ---- the exporter itself
    # A configuration with a typo is written over the running one and
    # reloaded: the exporter refuses it and goes on probing with the old one.
    scenario("exporter: configuration reload refused", None, EXPORTER, None,
             [exporter_alert("TriageExporterConfigReloadFailed", "warning", job="triage_exporter",
                             instance="{{exporter}}")],
             action="broken_config", exact_labels=True),
    # Last, once everything else has resolved: while the exporter is away no
    # other alert can fire or resolve. absent() leaves no job label.
    scenario("exporter: stopped (absent)", None, EXPORTER, None,
             [exporter_alert("TriageExporterAbsent", "critical")],
             action="stop_exporter", phase="last", exact_labels=True),
]

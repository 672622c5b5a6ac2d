"""The scenarios of the end-to-end suite (tests/e2e/e2e.py): one per failure
mode the simulators can play, each in its own service of tests/e2e/exporter.yaml
with its own triage_simulator, so that all of them run at once.

Each scenario names
  name      the row label in the table
  service   the service in exporter.yaml; its simulator has the same name
  system    what the simulator plays (echo, node, kube), or "tcp" for the
            driver's own listener
  mode      the simulator mode that switches the failure on; "restart_loop"
            re-enters echo's mode restarted every few seconds (a crash loop),
            "close_listener" closes the driver's TCP listener
  expect    the alerts that must reach the webhook, as the labels they must
            carry (alertname, service, probe, severity, layer and the
            alert's own labels: check, reason, error_code, ...), taken from
            rules/catalog.yaml
  inhibited alerts of the same service that must sit in Alertmanager with
            status.inhibitedBy set, and never be notified from then on
  dashboard_kinds
            probe kinds whose dashboard panels must show data while the
            failure is on (tests/dashboards/check_queries.py --kinds): the
            kinds whose targets still answer something readable
"""

ECHO, NODE, KUBE, TCP = "echo", "node", "kube", "tcp"


def alert(name, service, probe, severity, layer, **labels):
    out = {"alertname": name, "service": service, "probe": probe, "severity": severity, "layer": layer}
    out.update(labels)
    return out


def scenario(name, service, system, mode, expect, inhibited=(), dashboard_kinds=()):
    return {"name": name, "service": service, "system": system, "mode": mode,
            "expect": list(expect), "inhibited": list(inhibited),
            "dashboard_kinds": list(dashboard_kinds)}


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
    scenario("tcp dependency closed", "tcp-dependency", TCP, "close_listener",
             [alert("TriageDependencyDown", "tcp-dependency", "postgres", "critical", "dependency")]),
]

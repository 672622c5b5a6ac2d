#include "collectors/registry.h"

#include "collectors/cluster_probe.h"
#include "collectors/http_probe.h"
#include "collectors/kubernetes_pvc_probe.h"
#include "collectors/readiness_probe.h"
#include "collectors/scrape_probe.h"
#include "collectors/tcp_probe.h"

namespace triage {

const std::vector<CollectorKind>& CollectorKinds() {
  static const std::vector<CollectorKind> kinds = {
      {"http", &ParseHttpProbe,
       "HTTP(S) request; status codes, JSON error codes, Retry-After, TLS expiry, clock skew"},
      {"tcp", &ParseTcpProbe,
       "TCP connect to host:port, optionally with a TLS handshake; connect/TLS time, TLS expiry"},
      {"readiness", &ParseReadinessProbe,
       "readiness endpoint JSON; one pass/fail series per named check (policy_ready, ...)"},
      {"cluster", &ParseClusterProbe,
       "cluster status JSON; leader known/changes, is leader, replication ready, follower lag"},
      {"kubernetes_pvc", &ParseKubernetesPvcProbe,
       "Kubernetes API; PVC phase, time Pending, latest event reason, default StorageClass"},
      {"scrape", &ParseScrapeProbe,
       "target's /metrics page; parses, expected metrics, restarts, fd use, Prometheus target UP"},
  };
  return kinds;
}

const CollectorKind* FindCollectorKind(std::string_view name) {
  for (const auto& k : CollectorKinds()) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

}  // namespace triage

// kind: kubernetes_pvc — asks the Kubernetes API (plain HTTP GETs, no client
// library) for the PersistentVolumeClaims of one namespace, the latest event
// of each claim stuck in Pending, and whether the cluster has a default
// StorageClass. Turns the answers into the triage_pvc_* and
// triage_storageclass_default_present series (docs/metrics.md).
//
// One run is a short chain of requests through the Fetcher, each given what
// is left of the probe's timeout:
//   1. GET /api/v1/namespaces/NS/persistentvolumeclaims[?labelSelector=...]
//   2. for up to max_event_lookups Pending claims (oldest first):
//      GET /api/v1/namespaces/NS/events?fieldSelector=involvedObject.kind%3D
//          PersistentVolumeClaim,involvedObject.name%3DNAME
//   3. GET /apis/storage.k8s.io/v1/storageclasses
// The run succeeds when call 1 returned a PersistentVolumeClaimList in which
// no claim is Lost and none has been Pending for longer than pending_grace.
// Calls 2 and 3 add information but never change the outcome: when one of
// them fails, its series are left out of this run and the debug log says why.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "collectors/collector.h"
#include "collectors/http_client.h"
#include "collectors/kubernetes_objects.h"

namespace triage {

class MapReader;

// Where the in-cluster credentials live in a pod with a service account.
inline constexpr std::string_view kServiceAccountTokenPath =
    "/var/run/secrets/kubernetes.io/serviceaccount/token";
inline constexpr std::string_view kServiceAccountCaPath =
    "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";

struct KubernetesPvcConfig {
  // Connection. http.url is the API server base URL without a trailing
  // slash; http.bearer, http.tls and http.body_size_limit are used for every
  // request of a run.
  HttpClientConfig http;
  bool in_cluster = false;  // the base URL came from KUBERNETES_SERVICE_HOST/PORT

  std::string ns;              // namespace
  std::string label_selector;  // empty: every claim of the namespace
  int max_claims = 256;        // claims exported per run (first by name)
  int max_event_lookups = 16;  // event requests per run (oldest Pending claims first)
  bool fetch_events = true;
  bool check_storage_classes = true;
  std::chrono::milliseconds pending_grace{std::chrono::minutes(2)};
};

// Parses the kubernetes_pvc keys of a probe (docs/configuration.md, "kind: kubernetes_pvc").
std::shared_ptr<const ProbeSpec> ParseKubernetesPvcProbe(MapReader& r, ProbeCommon common);

// Percent-encodes everything but the RFC 3986 unreserved characters.
std::string EncodeQueryValue(std::string_view s);

struct PvcState;  // kept between runs; defined in kubernetes_pvc_probe.cpp

class KubernetesPvcProbeSpec : public KindSpec<KubernetesPvcConfig, PvcState> {
 public:
  using KindSpec::KindSpec;

  // The request URLs of a run.
  std::string ClaimsUrl() const;
  std::string EventsUrl(std::string_view claim) const;
  std::string StorageClassesUrl() const;

 private:
  void RunKind(Fetcher& fetcher, PvcState& state, DebugLog* debug,
               std::function<void(RunOutcome)> done) const override;
  void RenderKind(const PvcState& state, SampleWriter& w) const override;
};

}  // namespace triage

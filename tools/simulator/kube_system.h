// A Kubernetes API server reduced to what a check of PersistentVolumeClaims
// reads, answering in the real API's object shapes. The cluster holds one
// claim, data-ingero-echo-0 in namespace ingero (labels
// app.kubernetes.io/name=ingero-echo, app.kubernetes.io/instance=ingero).
//
// Routes (GET only; every answer is JSON, errors are v1 Status objects):
//   /api/v1/namespaces/{ns}/persistentvolumeclaims        PersistentVolumeClaimList;
//       labelSelector is honoured for equality terms (k=v, k==v, k!=v), other
//       terms are ignored
//   /api/v1/namespaces/{ns}/persistentvolumeclaims/{name} one claim, or 404 NotFound
//   /api/v1/namespaces/{ns}/events                        EventList; fieldSelector
//       honoured for involvedObject.kind, involvedObject.name, involvedObject.uid
//       (k=v, k==v), other terms ignored
//   /apis/storage.k8s.io/v1/storageclasses                StorageClassList
// When a token is set, every route requires it (401 Status Unauthorized);
// the token is checked before anything else, forbidden mode included.
//
// Modes:
//   ok                               claim Bound to a volume of class "standard";
//                                    "standard" is the default StorageClass; no events
//   pending_no_default_storageclass  claim Pending (created when the mode began),
//                                    without a storage class; a Warning event
//                                    ProvisioningFailed; no default StorageClass
//   pending_wait_for_consumer        claim Pending (created when the mode began),
//                                    class "standard"; a Normal event
//                                    WaitForFirstConsumer; the default is present
//   lost                             claim Lost (its volume is gone); a Warning
//                                    event ClaimLost
//   forbidden                        403 Status Forbidden on every route
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "tools/simulator/simulator.h"

namespace triage::sim {

// The API server's modes, "ok" first, without the core's "hang".
const std::vector<std::string>& KubeModes();

class KubeSystem : public System {
 public:
  explicit KubeSystem(const SimulatorOptions& options);

  std::string_view name() const override { return "kube"; }
  const std::vector<std::string>& Modes() const override { return KubeModes(); }
  void OnModeEntered(const std::string& mode, std::chrono::system_clock::time_point now) override;
  void Serve(IncomingRequest& req, Responder& res, const std::string& mode) override;

 private:
  // What the handlers need from the state, copied under the lock.
  struct View {
    std::chrono::system_clock::time_point created;       // the claim's creationTimestamp
    std::chrono::system_clock::time_point mode_entered;  // first time of the mode's event
    uint64_t resource_version = 0;
  };
  View Snapshot();

  const std::string token_;

  std::mutex mu_;  // guards the members below
  // When the Bound claim was created: an hour before the simulator was.
  std::chrono::system_clock::time_point bound_created_;
  std::chrono::system_clock::time_point mode_entered_;
  uint64_t resource_version_ = 918101;  // moves on with every mode change
};

}  // namespace triage::sim

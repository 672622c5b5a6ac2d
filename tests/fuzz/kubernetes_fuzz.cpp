// The decoding of the Kubernetes API answers the kubernetes_pvc probe reads
// (collectors/kubernetes_objects.h): any bytes as a claim list, an event
// list (for the first claim the list yields, or a made-up one), a storage
// class list and a Status. None may throw, crash or read out of bounds.
#include <cstddef>
#include <cstdint>
#include <string>

#include "collectors/kubernetes_objects.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  const triage::ClaimList list = triage::ParseClaimList(body, 1.7e9);
  triage::Claim claim;
  claim.name = "data-0";
  claim.uid = "0b6c7f6e";
  triage::LatestEventReason(body, list.claims.empty() ? claim : list.claims.front());
  triage::HasDefaultClass(body);
  triage::DescribeStatus(body);
  return 0;
}

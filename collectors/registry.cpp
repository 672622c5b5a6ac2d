#include "collectors/registry.h"

#include "collectors/http_probe.h"

namespace triage {

const std::vector<CollectorKind>& CollectorKinds() {
  static const std::vector<CollectorKind> kinds = {
      {"http", &ParseHttpProbe,
       "HTTP(S) request; status codes, JSON error codes, Retry-After, TLS expiry, clock skew"},
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

// The Kubernetes API answers the kubernetes_pvc probe reads, decoded without
// a client library and without throwing: a PersistentVolumeClaimList, an
// EventList, a StorageClassList and a Status. Each takes the body as the
// server sent it (any bytes) and says when it is not the object asked for.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace triage {

enum class Phase { kPending = 0, kBound = 1, kLost = 2, kOther = 3 };
inline constexpr std::array<std::string_view, 3> kPhaseNames = {"Pending", "Bound", "Lost"};

struct Claim {
  std::string name;
  std::string uid;
  Phase phase = Phase::kOther;
  std::optional<double> created;          // unix seconds
  std::optional<double> pending_seconds;  // Pending claims with a readable creationTimestamp
  std::string event_reason;               // sanitized; empty when no event is known
};

struct ClaimList {
  bool ok = false;            // the body was a PersistentVolumeClaimList
  std::vector<Claim> claims;  // sorted by name, unique names
  size_t skipped = 0;         // items without a usable name, or a name seen before
};

// The claims of a PersistentVolumeClaimList; `now` (unix seconds) dates the
// Pending ones.
ClaimList ParseClaimList(const std::string& body, double now);

// The reason of the latest event about `claim` in an EventList: nullopt
// when the body is not an EventList, "" when no event is about the claim,
// "unknown" when the latest carries no reason. Sanitized as an error_code.
std::optional<std::string> LatestEventReason(const std::string& body, const Claim& claim);

// Whether a StorageClassList has a default class; nullopt when the body is not one.
std::optional<bool> HasDefaultClass(const std::string& body);

// "reason: message" of a Kubernetes Status object, printable, for the debug log.
std::string DescribeStatus(const std::string& body);

// DNS-1123 subdomain (object names) and label (namespace names).
bool IsDnsSubdomain(std::string_view s);
bool IsDnsLabel(std::string_view s);

// Unix seconds of an RFC 3339 timestamp as the API writes them
// ("2024-05-17T10:21:33Z", with optional fraction and numeric offset).
std::optional<double> ParseRfc3339(std::string_view s);

}  // namespace triage

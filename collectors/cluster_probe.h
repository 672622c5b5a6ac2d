// kind: cluster — GETs a node's cluster status JSON (a dataplane node's
// /api/v1/stats, say) and answers the clustered-incident questions: is a
// leader known, is this node the leader, is replicated state ready here, how
// far behind is each follower, and how often does the leader change.
//
// Everything is read through JSON Pointers from the configuration:
//   leader_pointer (required)   leader identity, a string or an integer; null,
//                               "" or absent mean no leader is known
//   self_pointer                this node's identity: is_leader = leader == self
//   is_leader_pointer           or a boolean saying so (at most one of the two)
//   replication_ready_pointer   a boolean, or an object with a boolean "ready"
//   followers_pointer           an array of objects {follower_id_field,
//                               follower_lag_field} (defaults id, lag_entries),
//                               or an object follower id -> lag (a number, or an
//                               object holding follower_lag_field)
// A value that is absent or null means "not reported" (no leader, not leader,
// replication not ready, no followers); a value of the wrong type means the
// body is not what the configuration describes, and fails as invalid_body.
//
// Bounds: the follower label is sanitized ([A-Za-z0-9_.:-], at most 64 bytes;
// ids that collide after that are merged, keeping the largest lag) and at most
// `max_followers` (default 16) distinct followers are exported, the first in
// sorted order; the rest are only counted in the debug output, but their lag
// still counts against max_follower_lag. The leader identity is never a label.
//
// Success: a leader is known, replication is ready (when its pointer is set)
// and no follower lags more than max_follower_lag entries (when set);
// check_failed otherwise. After an unreadable answer only the counters are
// exported; the last known leader is kept, so A -> (unknown) -> B is one change.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "collectors/collector.h"
#include "collectors/http_client.h"

namespace triage {

class MapReader;

struct ClusterProbeConfig {
  HttpClientConfig http;  // client options; http.valid_status_codes empty: any 2xx
  nlohmann::json::json_pointer leader_pointer;
  std::optional<nlohmann::json::json_pointer> self_pointer;
  std::optional<nlohmann::json::json_pointer> is_leader_pointer;
  std::optional<nlohmann::json::json_pointer> replication_ready_pointer;
  std::optional<nlohmann::json::json_pointer> followers_pointer;
  std::string follower_id_field = "id";
  std::string follower_lag_field = "lag_entries";
  int max_followers = 16;
  std::optional<int64_t> max_follower_lag;  // unset: lag does not decide success
};

std::shared_ptr<const ProbeSpec> ParseClusterProbe(MapReader& r, ProbeCommon common);

// One cluster status answer, read. Pure, for tests and fuzzing.
struct ClusterView {
  bool readable = false;       // JSON, and every configured value had an accepted type
  std::string problem;         // why not readable, for the debug log
  std::optional<std::string> leader;      // nullopt: no leader known
  std::optional<bool> is_leader;          // set when self_pointer or is_leader_pointer is
  std::optional<bool> replication_ready;  // set when replication_ready_pointer is
  std::map<std::string, double> follower_lag;  // sanitized id -> lag, at most max_followers
  size_t followers_total = 0;   // distinct sanitized ids seen
  size_t followers_skipped = 0; // entries without a usable id or lag
  double max_lag = 0;           // over every follower, exported or not
  std::vector<std::string> notes;  // "not reported" remarks, for the debug log
};
ClusterView ReadClusterBody(const ClusterProbeConfig& c, std::string_view body);

struct ClusterState;  // kept between runs; defined in cluster_probe.cpp

class ClusterProbeSpec : public KindSpec<ClusterProbeConfig, ClusterState> {
 public:
  using KindSpec::KindSpec;

 private:
  void RunKind(Fetcher& fetcher, ClusterState& state, DebugLog* debug,
               std::function<void(RunOutcome)> done) const override;
  void RenderKind(const ClusterState& state, SampleWriter& w) const override;
  // Reads the answer of a valid status into the outcome, updating the state
  // (transport and status are judged by RunHttpExchange).
  RunOutcome JudgeBody(const HttpResult& res, ClusterState& state, DebugLog* debug) const;
};

}  // namespace triage

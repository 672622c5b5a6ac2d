// A dataplane node of a small cluster (node-1, node-2, node-3), as the
// troubleshooting guide for the node describes it. The simulator plays
// node-1, which leads the cluster when all is well.
//
// Routes (JSON bodies carry Content-Type: application/json):
//   GET /health                  200 {"status":"ok"} whenever the process is up
//   GET /ready                   200 {"status":"ready","checks":{...}}, or 503 with
//                                status not_ready, the failing keys under "failing"
//                                and each failing key false under "checks"; the
//                                keys: dataplane_running, dataplane_config,
//                                policy_ready, dns_allowlist, service_plane,
//                                cluster, policy_replication
//   GET /api/v1/stats            runtime summary: uptime, performance_mode,
//                                dataplane, policy, dns and cluster (node_id,
//                                leader, is_leader, term, policy_replication,
//                                followers with lag_entries)
//   GET /api/v1/audit/findings   recent denies; 503 code performance_mode in that mode
//   GET /api/v1/wiretap/stream   a few flow records (NDJSON); 503 likewise
//   GET /api/v1/dns-cache        cached hostname answers
//   GET /metrics                 node_* counters and process_* gauges
// When a token is set, /api/v1/* and /metrics require it (401 otherwise).
//
// Modes:
//   ok                     everything ready, node-1 leads, followers caught up
//   dataplane_running, dataplane_config, policy_ready, dns_allowlist,
//   service_plane, cluster, policy_replication
//                          that readiness key fails: /ready is 503
//   performance_mode       audit and wiretap answer 503; stats say so; /ready 200
//   no_leader              no leader known (stats leader null, no followers);
//                          readiness key cluster fails
//   leader_flapping        every stats answer names the next leader in turn
//                          (node-2, node-3, node-1, ...), with a new term
//   follower_lagging       node-3 falls further behind on every stats answer
//                          (5000 entries, then 750 more each time)
//   replication_not_ready  policy_replication.ready false; readiness key
//                          policy_replication fails
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "tools/simulator/simulator.h"

namespace triage::sim {

// The node's modes, "ok" first, without the core's "hang".
const std::vector<std::string>& NodeModes();

class NodeSystem : public System {
 public:
  explicit NodeSystem(const SimulatorOptions& options);

  std::string_view name() const override { return "node"; }
  const std::vector<std::string>& Modes() const override { return NodeModes(); }
  void OnStart(std::chrono::system_clock::time_point now) override;
  void OnModeEntered(const std::string& mode, std::chrono::system_clock::time_point now) override;
  void Serve(IncomingRequest& req, Responder& res, const std::string& mode) override;

 private:
  void ServeReady(Responder& res, const std::string& mode);
  void ServeStats(Responder& res, const std::string& mode);
  void ServeMetrics(Responder& res, const std::string& mode);
  double UptimeSeconds() const;  // mu_ held

  const std::string token_;

  std::mutex mu_;  // guards the members below
  std::chrono::system_clock::time_point start_time_;
  uint64_t stats_answers_in_mode_ = 0;  // stats answers since the mode was entered
  uint64_t term_ = 7;
  std::string last_leader_ = "node-1";  // for the term: a new leader means a new term
  uint64_t requests_ = 0;                 // every request served, for node_http_requests_total
};

}  // namespace triage::sim

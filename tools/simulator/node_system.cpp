#include "tools/simulator/node_system.h"

#include "exposition/snapshot.h"

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <nlohmann/json.hpp>

namespace triage::sim {
namespace {

using json = nlohmann::ordered_json;  // keeps keys in the order written

constexpr std::string_view kSelf = "node-1";
constexpr std::string_view kPrometheusText = "text/plain; version=0.0.4; charset=utf-8";
constexpr const char* kReadinessKeys[] = {"dataplane_running", "dataplane_config", "policy_ready",
                                          "dns_allowlist",     "service_plane",    "cluster",
                                          "policy_replication"};
// Leaders named in turn by leader_flapping, starting with a change away from node-1.
constexpr const char* kFlappingLeaders[] = {"node-2", "node-3", "node-1"};
constexpr uint64_t kLagStart = 5000;
constexpr uint64_t kLagStep = 750;
constexpr uint64_t kCommitIndex = 40211;

double UnixSeconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

std::string ErrorBody(std::string_view message, std::string_view code) {
  return json{{"error", message}, {"code", code}}.dump();
}

// The readiness key that `mode` makes fail, or "" when it fails none.
std::string_view FailingKey(const std::string& mode) {
  for (const char* key : kReadinessKeys) {
    if (mode == key) return key;
  }
  if (mode == "no_leader") return "cluster";
  if (mode == "replication_not_ready") return "policy_replication";
  return "";
}

bool ReplicationReady(const std::string& mode) {
  return mode != "replication_not_ready" && mode != "policy_replication";
}

void Sample(std::string& out, std::string_view name, std::string_view type, std::string_view help,
            const std::string& value) {
  AppendFamilyHeader(out, name, type, help);
  out += std::string(name) + " " + value + "\n";
}

}  // namespace

const std::vector<std::string>& NodeModes() {
  static const std::vector<std::string> kModes = {
      "ok",
      "dataplane_running", "dataplane_config", "policy_ready", "dns_allowlist",
      "service_plane", "cluster", "policy_replication",
      "performance_mode", "no_leader", "leader_flapping", "follower_lagging",
      "replication_not_ready"};
  return kModes;
}

NodeSystem::NodeSystem(const SimulatorOptions& options)
    : token_(options.token), start_time_(std::chrono::system_clock::now()) {}

void NodeSystem::OnStart(std::chrono::system_clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  start_time_ = now;
}

void NodeSystem::OnModeEntered(const std::string&, std::chrono::system_clock::time_point) {
  std::lock_guard<std::mutex> lock(mu_);
  stats_answers_in_mode_ = 0;
}

double NodeSystem::UptimeSeconds() const {
  return std::max(0.0, UnixSeconds(std::chrono::system_clock::now()) - UnixSeconds(start_time_));
}

void NodeSystem::Serve(IncomingRequest& req, Responder& res, const std::string& mode) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++requests_;
  }
  const std::string_view path = req.path();
  const bool is_api = path.substr(0, 8) == "/api/v1/" || path == "/metrics";
  if (is_api && !token_.empty() && !req.HasBearer(token_)) {
    return res.Json(401, ErrorBody("missing or invalid bearer token", "unauthorized"),
                    {{"WWW-Authenticate", "Bearer"}});
  }
  if (path == "/api/v1/support/sysdump/cluster") {
    if (req.method() != "POST") return res.Json(405, ErrorBody("method not allowed", "method_not_allowed"), {{"Allow", "POST"}});
    return res.Json(202, json{{"status", "collecting"}, {"scope", "cluster"}, {"nodes", {"node-1", "node-2", "node-3"}}}.dump());
  }
  const bool known = path == "/health" || path == "/ready" || path == "/metrics" ||
                     path == "/api/v1/stats" || path == "/api/v1/audit/findings" ||
                     path == "/api/v1/wiretap/stream" || path == "/api/v1/dns-cache";
  if (!known) return res.Json(404, ErrorBody("not found", "not_found"));
  if (req.method() != "GET" && req.method() != "HEAD") {
    return res.Json(405, ErrorBody("method not allowed", "method_not_allowed"), {{"Allow", "GET"}});
  }

  if (path == "/health") return res.Json(200, R"({"status":"ok"})");
  if (path == "/ready") return ServeReady(res, mode);
  if (path == "/api/v1/stats") return ServeStats(res, mode);
  if (path == "/metrics") return ServeMetrics(res, mode);

  const bool performance = mode == "performance_mode";
  if (path == "/api/v1/audit/findings") {
    if (performance) {
      return res.Json(503, ErrorBody("audit findings are not recorded while performance mode is on",
                                     "performance_mode"));
    }
    return res.Json(200, json{{"node_id", kSelf},
                              {"findings",
                               {{{"action", "deny"},
                                 {"source", "10.0.3.14"},
                                 {"destination", "203.0.113.50:443"},
                                 {"hostname", "telemetry.example.net"},
                                 {"rule", "default-deny-egress"},
                                 {"count", 12}},
                                {{"action", "deny"},
                                 {"source", "10.0.3.22"},
                                 {"destination", "198.51.100.9:53"},
                                 {"hostname", nullptr},
                                 {"rule", "dns-allowlist"},
                                 {"count", 3}}}}}
                             .dump());
  }
  if (path == "/api/v1/wiretap/stream") {
    if (performance) {
      return res.Json(503, ErrorBody("wiretap is unavailable while performance mode is on",
                                     "performance_mode"));
    }
    // A short capture, one flow per line, then the stream ends.
    std::string out;
    out += json{{"verdict", "allow"}, {"src", "10.0.3.14:40112"}, {"dst", "198.51.100.7:443"},
                {"hostname", "api.example.com"}, {"bytes", 5120}}.dump() + "\n";
    out += json{{"verdict", "deny"}, {"src", "10.0.3.14:40118"}, {"dst", "203.0.113.50:443"},
                {"hostname", "telemetry.example.net"}, {"bytes", 0}}.dump() + "\n";
    return res.Send(200, "application/x-ndjson", out);
  }
  // /api/v1/dns-cache
  const bool dns_ready = mode != "dns_allowlist";
  json entries = json::array();
  if (dns_ready) {
    entries.push_back({{"hostname", "api.example.com"}, {"addresses", {"198.51.100.7"}},
                       {"ttl_seconds", 240}, {"allowed", true}});
    entries.push_back({{"hostname", "telemetry.example.net"}, {"addresses", {"203.0.113.50"}},
                       {"ttl_seconds", 55}, {"allowed", false}});
  }
  res.Json(200, json{{"ready", dns_ready}, {"entries", entries}}.dump());
}

void NodeSystem::ServeReady(Responder& res, const std::string& mode) {
  const std::string_view failing = FailingKey(mode);
  json checks = json::object();
  for (const char* key : kReadinessKeys) checks[key] = failing != key;
  if (failing.empty()) {
    return res.Json(200, json{{"status", "ready"}, {"node", kSelf}, {"checks", checks}}.dump());
  }
  res.Json(503, json{{"status", "not_ready"},
                     {"node", kSelf},
                     {"failing", {failing}},
                     {"checks", checks}}
                    .dump());
}

void NodeSystem::ServeStats(Responder& res, const std::string& mode) {
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t answer = stats_answers_in_mode_++;
  const double uptime = UptimeSeconds();

  std::string leader = std::string(kSelf);
  if (mode == "no_leader") {
    leader.clear();
  } else if (mode == "leader_flapping") {
    leader = kFlappingLeaders[answer % std::size(kFlappingLeaders)];
  }
  if (leader != last_leader_) {
    ++term_;  // a new leader (or none) comes with a new election term
    last_leader_ = leader;
  }
  const bool is_leader = leader == kSelf;

  json followers = json::array();
  if (is_leader) {  // only the leader tracks its followers
    uint64_t lag3 = 0;
    uint64_t lag2 = 0;
    if (mode == "follower_lagging") {
      lag2 = 2;
      lag3 = kLagStart + kLagStep * answer;
    }
    followers.push_back({{"id", "node-2"}, {"lag_entries", lag2}, {"last_contact_ms", 38}});
    followers.push_back({{"id", "node-3"},
                         {"lag_entries", lag3},
                         {"last_contact_ms", mode == "follower_lagging" ? 2400 : 44}});
  }
  const bool replication_ready = ReplicationReady(mode);
  const uint64_t applied = replication_ready ? kCommitIndex : kCommitIndex - 1870;

  const auto whole_uptime = static_cast<uint64_t>(uptime);
  json body = {
      {"uptime_seconds", whole_uptime},
      {"performance_mode", mode == "performance_mode"},
      {"dataplane",
       {{"running", mode != "dataplane_running"},
        {"packets_allowed", whole_uptime * 1200},
        {"packets_denied", whole_uptime * 3}}},
      {"policy", {{"ready", mode != "policy_ready"}, {"revision", 57}, {"rules", 214}}},
      {"dns", {{"allowlist_ready", mode != "dns_allowlist"}, {"cache_entries", 930}}},
      {"cluster",
       {{"enabled", true},
        {"node_id", kSelf},
        {"leader", leader.empty() ? json(nullptr) : json(leader)},
        {"is_leader", is_leader},
        {"term", term_},
        {"policy_replication",
         {{"ready", replication_ready}, {"applied_index", applied}, {"commit_index", kCommitIndex}}},
        {"followers", followers}}},
  };
  res.Json(200, body.dump());
}

void NodeSystem::ServeMetrics(Responder& res, const std::string& mode) {
  double uptime = 0;
  double start = 0;
  uint64_t requests = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    uptime = UptimeSeconds();
    start = UnixSeconds(start_time_);
    requests = requests_;
  }
  const auto whole_uptime = static_cast<uint64_t>(uptime);
  char start_text[64];
  std::snprintf(start_text, sizeof start_text, "%.3f", start);

  std::string out;
  Sample(out, "node_http_requests_total", "counter", "Requests served by the management API.",
         std::to_string(requests));
  Sample(out, "node_dataplane_packets_allowed_total", "counter", "Packets the dataplane let through.",
         std::to_string(whole_uptime * 1200));
  Sample(out, "node_dataplane_packets_denied_total", "counter", "Packets the dataplane dropped.",
         std::to_string(whole_uptime * 3));
  Sample(out, "node_dns_queries_total", "counter", "DNS queries seen by the allowlist resolver.",
         std::to_string(whole_uptime * 40));
  Sample(out, "node_ready", "gauge", "1 if every readiness check passes.",
         FailingKey(mode).empty() ? "1" : "0");
  Sample(out, "node_performance_mode", "gauge", "1 while audit and wiretap are switched off.",
         mode == "performance_mode" ? "1" : "0");
  Sample(out, "process_start_time_seconds", "gauge", "Unix time at which the node process started.",
         start_text);
  res.Send(200, kPrometheusText, out);
}

}  // namespace triage::sim

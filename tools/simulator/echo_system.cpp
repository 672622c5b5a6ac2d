#include "tools/simulator/echo_system.h"

#include "exposition/snapshot.h"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace triage::sim {
namespace {

using json = nlohmann::ordered_json;  // keeps keys in the order written

constexpr std::string_view kDocsUrl = "https://example.invalid/echo/docs/api-versions";
constexpr std::string_view kPrometheusText = "text/plain; version=0.0.4; charset=utf-8";

// File descriptors reported by /metrics: a quiet process, and one close to its limit.
constexpr int kOpenFds = 23;
constexpr int kMaxFds = 1048576;
constexpr int kPressureOpenFds = 1000;
constexpr int kPressureMaxFds = 1024;

double UnixSeconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

// True for `prefix` itself and for anything below it ("/api/v2/whoami").
bool UnderPrefix(std::string_view path, std::string_view prefix) {
  if (path.substr(0, prefix.size()) != prefix) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

std::string ErrorBody(std::string_view message, std::string_view code) {
  return json{{"error", message}, {"code", code}}.dump();
}

// Same keys as the real server's answer for the retired v1 surface.
std::string RemovedV1Body() {
  return json{{"error", "the /api/v1 surface no longer exists; call /api/v2 instead"},
              {"code", "gone"},
              {"removed_version", "v1"},
              {"preferred", "v2"},
              {"docs", kDocsUrl}}
      .dump();
}

void Gauge(std::string& out, std::string_view name, std::string_view help, std::string_view value) {
  AppendFamilyHeader(out, name, "gauge", help);
  out += name;
  out += " ";
  out += value;
  out += "\n";
}

// What a scrape gets when something that is not the server answers on its
// port, or the output is cut: an unclosed label set, then a line of prose.
constexpr std::string_view kGarbageMetrics =
    "# HELP echo_http_requests_total Requests answered under the versioned API prefixes.\n"
    "# TYPE echo_http_requests_total counter\n"
    "echo_http_requests_total{route=\"/api/v2\",code=\"200\" 41\n"
    "upstream connect error or disconnect/reset before headers\n";

}  // namespace

const std::vector<std::string>& EchoModes() {
  static const std::vector<std::string> kModes = {
      "ok", "unauthorized", "forbidden", "gone", "rate_limited",
      "backend_failure", "shutting_down", "garbage",
      "metrics_empty", "metrics_garbage", "no_traffic", "restarted", "fd_pressure",
      "http10", "clock_skew"};
  return kModes;
}

EchoSystem::EchoSystem(const SimulatorOptions& options)
    : token_(options.token), retry_after_429_(options.retry_after_429), rng_(std::random_device{}()) {
  start_time_seconds_ = UnixSeconds(std::chrono::system_clock::now());
}

void EchoSystem::OnStart(std::chrono::system_clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  start_time_seconds_ = UnixSeconds(now);
}

void EchoSystem::OnModeEntered(const std::string& mode, std::chrono::system_clock::time_point now) {
  if (mode != "restarted") return;
  // The process came back: a new start time, and counters from zero.
  std::lock_guard<std::mutex> lock(mu_);
  start_time_seconds_ = UnixSeconds(now);
  request_counts_.clear();
}

void EchoSystem::Serve(IncomingRequest& req, Responder& res, const std::string& mode) {
  // These two only change the envelope; every route then answers as in ok
  // (the mode checks below know neither of them).
  if (mode == "http10") res.UseHttp10();
  if (mode == "clock_skew") res.ShiftDate(kEchoClockSkewSeconds);
  const std::string_view path = req.path();
  if (path == "/health" || path == "/ready") {
    if (req.method() != "GET") return res.Json(405, R"({"error":"method not allowed"})", {{"Allow", "GET"}});
    if (path == "/health") return res.Json(200, R"({"status":"ok"})");
    if (mode == "shutting_down") return res.Json(503, R"({"status":"draining"})");
    return res.Json(200, R"({"status":"ready"})");
  }
  if (UnderPrefix(path, "/api/v1")) {
    CountRequest("/api/v1", 410);
    return res.Json(410, RemovedV1Body());
  }
  if (UnderPrefix(path, "/api/v2")) return ServeApiV2(req, res, mode);
  if (path == "/metrics") {
    if (req.method() != "GET") return res.Json(405, R"({"error":"method not allowed"})", {{"Allow", "GET"}});
    return ServeMetrics(req, res, mode);
  }
  res.Json(404, R"({"error":"not found"})");
}

void EchoSystem::ServeApiV2(IncomingRequest& req, Responder& res, const std::string& mode) {
  const std::string route = "/api/v2";
  auto reply = [&](int status, const std::string& body, const Headers& headers = {}) {
    CountRequest(route, status);
    res.Json(status, body, headers);
  };

  if (!Authorized(req)) {
    return reply(401, ErrorBody("missing or invalid bearer token", "unauthorized"),
                 {{"WWW-Authenticate", "Bearer"}});
  }
  if (mode == "unauthorized") {
    return reply(401, ErrorBody("bearer no longer accepted: rotated and the grace window has passed",
                                "unauthorized"),
                 {{"WWW-Authenticate", "Bearer"}});
  }
  if (mode == "forbidden") {
    return reply(403, ErrorBody("this tenant-scoped bearer may not reach the requested cluster or tool",
                                "tenant_scoped_bearer_refused"));
  }
  if (mode == "gone") return reply(410, RemovedV1Body());
  if (mode == "rate_limited") {
    return reply(429, ErrorBody("rate limit bucket for this bearer is empty", "rate_limited"),
                 {{"Retry-After", std::to_string(retry_after_429_)}});
  }
  if (mode == "backend_failure") {
    return reply(500, json{{"error", "tool backend failure"},
                           {"code", "tool_backend_failure"},
                           {"tool", "fleet.cluster.summary"},
                           {"req_id", RandomRequestId()}}
                          .dump());
  }
  if (mode == "shutting_down") {
    return reply(503, ErrorBody("server is draining before shutdown", "shutting_down"),
                 {{"Retry-After", "5"}});
  }
  if (mode == "garbage") {
    // What a crashing proxy in front of the server might send instead of the
    // JSON contract (deliberately truncated HTML).
    CountRequest(route, 500);
    return res.Send(500, "text/html; charset=utf-8",
                    "<html><body><h1>upstream exploded</h1><p>stack trace follows");
  }
  // ok, and the modes that only change /metrics.
  if (req.path() == "/api/v2/whoami") {
    return reply(200, json{{"subject", "demo"}, {"allowed_clusters", {"prod-eu-1"}}}.dump());
  }
  reply(200, R"({"status":"ok"})");
}

bool EchoSystem::Authorized(const IncomingRequest& req) const {
  return token_.empty() || req.HasBearer(token_);
}

void EchoSystem::ServeMetrics(IncomingRequest& req, Responder& res, const std::string& mode) {
  if (!Authorized(req)) {
    return res.Json(401, ErrorBody("missing or invalid bearer token", "unauthorized"),
                    {{"WWW-Authenticate", "Bearer"}});
  }
  if (mode == "metrics_empty") return res.Send(200, kPrometheusText, "");
  if (mode == "metrics_garbage") return res.Send(200, kPrometheusText, kGarbageMetrics);

  std::string out;
  out += "# HELP echo_http_requests_total Requests answered under the versioned API prefixes.\n";
  out += "# TYPE echo_http_requests_total counter\n";
  double start_time = 0;
  // no_traffic: the family is declared but has no sample, as on a server no
  // one has called since it started. The requests are still counted and show
  // again once the mode is left.
  const bool show_requests = mode != "no_traffic";
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (show_requests) {
      for (const auto& [key, count] : request_counts_) {
        out += "echo_http_requests_total{route=\"" + key.first + "\",code=\"" +
               std::to_string(key.second) + "\"} " + std::to_string(count) + "\n";
      }
    }
    start_time = start_time_seconds_;
  }
  char start[64];
  std::snprintf(start, sizeof start, "%.3f", start_time);
  Gauge(out, "process_start_time_seconds", "Unix time at which the simulator started serving.", start);
  const bool pressure = mode == "fd_pressure";
  Gauge(out, "process_open_fds", "Open file descriptors.",
        std::to_string(pressure ? kPressureOpenFds : kOpenFds));
  Gauge(out, "process_max_fds", "Limit on open file descriptors.",
        std::to_string(pressure ? kPressureMaxFds : kMaxFds));
  res.Send(200, kPrometheusText, out);
}

void EchoSystem::CountRequest(const std::string& route, int code) {
  std::lock_guard<std::mutex> lock(mu_);
  ++request_counts_[{route, code}];
}

std::string EchoSystem::RandomRequestId() {
  uint64_t v;
  {
    std::lock_guard<std::mutex> lock(mu_);
    v = rng_();
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace triage::sim

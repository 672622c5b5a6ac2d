// The "Echo" API server of the troubleshooting guide (the simulator's
// default system).
//
// Routes (JSON bodies carry Content-Type: application/json):
//   GET  /health, /ready   liveness / readiness (/ready is 503 in shutting_down)
//   ANY  /api/v1/*         always 410 with the "v1 was removed" body
//   ANY  /api/v2/*         bearer check (when a token is set), then the mode decides
//   GET  /metrics          Prometheus text, bearer required when a token is set
//
// Modes for /api/v2/*: ok, unauthorized (401), forbidden (403 tenant-scoped
// bearer refused), gone (410), rate_limited (429 with Retry-After),
// backend_failure (500 with a scrubbed body and a fresh req_id),
// shutting_down (503 with Retry-After: 5), garbage (500 with truncated HTML).
//
// Modes for /metrics (what a scrape of the server sees; /api/v2/* answers as
// in ok): metrics_empty (200, empty body: no traffic yet), metrics_garbage
// (200, text that is not the exposition format), no_traffic (200, the usual
// page without a single echo_http_requests_total sample, process_* as in ok:
// a server no one has called yet, or a hop that drops the request counter;
// the requests are still counted and show again in ok), restarted
// (process_start_time_seconds moves to the moment the mode was entered, and
// stays there), fd_pressure (process_open_fds 1000 of process_max_fds 1024).
//
// Modes that change how every route answers (the answers are otherwise those
// of ok), for the service-mesh guide:
//   http10      the status line says HTTP/1.0: an upstream a mesh proxy
//               refuses because it only speaks HTTP/1.1 and HTTP/2 upstream
//               (nginx left at proxy_http_version 1.0, for instance)
//   clock_skew  the Date header runs kEchoClockSkewSeconds (300 s) ahead,
//               on top of --date-offset: a host whose clock is not synced
// The admin route /-/mode keeps HTTP/1.1 and the plain offset in every mode.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "tools/simulator/simulator.h"

namespace triage::sim {

// Echo's modes, "ok" first, without the core's "hang".
const std::vector<std::string>& EchoModes();

// How far ahead the Date header runs in mode clock_skew.
inline constexpr int kEchoClockSkewSeconds = 300;

class EchoSystem : public System {
 public:
  explicit EchoSystem(const SimulatorOptions& options);

  std::string_view name() const override { return "echo"; }
  const std::vector<std::string>& Modes() const override { return EchoModes(); }
  void OnStart(std::chrono::system_clock::time_point now) override;
  void OnModeEntered(const std::string& mode, std::chrono::system_clock::time_point now) override;
  void Serve(IncomingRequest& req, Responder& res, const std::string& mode) override;

 private:
  void ServeApiV2(IncomingRequest& req, Responder& res, const std::string& mode);
  void ServeMetrics(IncomingRequest& req, Responder& res, const std::string& mode);
  bool Authorized(const IncomingRequest& req) const;
  void CountRequest(const std::string& route, int code);
  std::string RandomRequestId();

  const std::string token_;
  const int retry_after_429_;

  std::mutex mu_;  // guards the members below
  double start_time_seconds_ = 0;
  std::map<std::pair<std::string, int>, uint64_t> request_counts_;  // (route, code) -> count
  std::mt19937_64 rng_;
};

}  // namespace triage::sim

// A stand-in for the "Echo" API server described in the troubleshooting
// guide, with switchable failure modes, for demos and tests of the exporter.
//
// Routes (all JSON bodies carry Content-Type: application/json):
//   GET  /health, /ready         liveness / readiness (/ready is 503 in shutting_down)
//   ANY  /api/v1/*               always 410 with the "v1 was removed" body
//   ANY  /api/v2/*               bearer check (when a token is set), then the mode decides
//   GET  /metrics                Prometheus text, bearer required when a token is set
//   GET  /-/mode                 current mode and the list of modes (admin)
//   POST|PUT /-/mode?mode=NAME   switch mode (admin)
//
// Mode `hang` wedges every non-admin route: the handler parks on a condition
// variable and the connection is closed without a response once the mode
// changes or the simulator stops. Admin routes ignore both the token and the
// hang mode, so a test can always switch the simulator back.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

class CivetServer;
struct mg_connection;

namespace triage::sim {

struct SimulatorOptions {
  // civetweb "listening_ports" syntax; port 0 picks a free port (see port()).
  std::string listen_address = "127.0.0.1:0";
  // When non-empty, /api/v2/* and /metrics require "Authorization: Bearer <token>".
  std::string token;
  // Value of the Retry-After header sent with 429 in mode rate_limited.
  int retry_after_429 = 1;
  // Added to the clock for the Date header, to imitate a skewed server clock.
  int date_offset_seconds = 0;
  // civetweb worker threads; each hanging request occupies one.
  int num_threads = 8;
};

struct ScenarioStep {
  std::string mode;
  std::chrono::milliseconds duration{0};
};

struct Scenario {
  std::vector<ScenarioStep> steps;
  bool loop = true;
};

// Reads a scenario YAML file:
//   loop: true            # optional, default true
//   steps:
//     - {mode: ok, duration: 5s}
// It is read with the exporter's configuration reader (exporter/yaml_reader.h),
// so it throws triage::ConfigError, a std::runtime_error, with a message
// "FILE:LINE:COL: ..." on malformed input, unknown keys, unknown modes and
// durations that are not positive, and "FILE: cannot read: ..." when the file
// cannot be read.
Scenario LoadScenarioFile(const std::string& path);

class Simulator {
 public:
  explicit Simulator(SimulatorOptions options);
  ~Simulator();  // Stop()s; never blocks on hanging requests
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // Binds and starts serving. Throws std::runtime_error on failure (port in
  // use, bad address) or when already started.
  void Start();
  // Ends the scenario thread, releases hanging requests, stops the server.
  // Safe to call more than once.
  void Stop();
  // The port actually bound (useful with port 0); 0 before Start().
  int port() const;

  // Returns false (and changes nothing) for an unknown mode name.
  bool SetMode(std::string_view mode);
  std::string mode() const;
  static const std::vector<std::string>& Modes();

  // Switches modes on the scenario's schedule from a background thread,
  // replacing any scenario already playing. Stop() ends it. Throws
  // std::invalid_argument for an unknown mode or a looping scenario whose
  // steps add up to zero time.
  void PlayScenario(Scenario scenario);

 private:
  class Handler;
  friend class Handler;

  // Entry point for every request (any method, any path).
  void Serve(mg_connection* conn);
  void ServeAdmin(mg_connection* conn, std::string_view method);
  void ServeApiV2(mg_connection* conn, std::string_view path, const std::string& mode);
  void ServeMetrics(mg_connection* conn);
  // In mode hang, blocks until the mode changes or Stop() and returns true
  // (the request must then go unanswered); otherwise returns false at once.
  bool WaitWhileHanging();
  bool Authorized(mg_connection* conn) const;
  void CountRequest(const std::string& route, int code);
  std::string RandomRequestId();
  void StopScenario();

  // Writes a complete HTTP/1.1 response (status line, Date, Content-Type,
  // Content-Length, extra headers, body).
  void Respond(mg_connection* conn, int status, std::string_view content_type,
               std::string_view body,
               const std::vector<std::pair<std::string, std::string>>& headers = {}) const;
  void RespondJson(mg_connection* conn, int status, std::string_view body,
                   const std::vector<std::pair<std::string, std::string>>& headers = {}) const;

  const SimulatorOptions options_;

  // mu_ guards mode_, stopping_ and scenario_cancel_; cv_ wakes hanging
  // handlers and the scenario thread when any of them changes.
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string mode_ = "ok";
  bool stopping_ = false;
  bool scenario_cancel_ = false;

  // Start(), Stop() and PlayScenario() are serialized by lifecycle_mu_, which
  // guards server_, handler_ and scenario_thread_.
  std::mutex lifecycle_mu_;
  std::unique_ptr<Handler> handler_;
  std::unique_ptr<CivetServer> server_;
  std::thread scenario_thread_;
  std::atomic<int> port_{0};
  double start_time_seconds_ = 0;

  std::mutex metrics_mu_;
  std::map<std::pair<std::string, int>, uint64_t> request_counts_;  // (route, code) -> count

  std::mutex rng_mu_;
  std::mt19937_64 rng_;
};

}  // namespace triage::sim

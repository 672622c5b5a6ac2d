// triage_simulator's core: an HTTP server that imitates one of several
// systems from the troubleshooting guides, with switchable failure modes, for
// demos and tests of the exporter.
//
// The core owns everything that does not depend on the system played: the
// civetweb server, the admin routes, the current mode and how it is switched
// (directly, over HTTP, or by a scenario), the hang mode, and the response
// writer with its status line and Date header (a System may ask the writer
// for an HTTP/1.0 status line or a further shifted Date, per response). A
// System (one file pair per system) answers every other request according
// to the current mode:
//
//   echo  the "Echo" API server (echo_system.h): /health, /ready, /api/v1/*
//         (always 410), /api/v2/*, /metrics; its modes http10 and clock_skew
//         also play the mesh guide's HTTP/1.0 upstream and skewed host clock.
//   node  a dataplane node (node_system.h): /health, /ready with seven
//         readiness keys, /api/v1/stats, audit, wiretap, /metrics.
//   kube  a Kubernetes API server reduced to what a PersistentVolumeClaim
//         check reads (kube_system.h): claims, their events, StorageClasses.
//
// Routes served by the core for every system:
//   GET  /-/mode                 current mode, the list of modes and the system (admin)
//   POST|PUT /-/mode?mode=NAME   switch mode (admin)
//
// Mode `hang` exists in every system and wedges every non-admin route: the
// handler parks on a condition variable and the connection is closed without
// a response once the mode changes or the simulator stops. Admin routes
// ignore both the token and the hang mode, so a test can always switch the
// simulator back: at most num_threads - 1 requests stay parked, and when one
// more arrives the oldest is let go (closed without an answer; its client has
// usually given up long before), so one worker is always left for /-/mode
// however long a prober keeps calling.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

class CivetServer;
struct mg_connection;

namespace triage::sim {

struct SimulatorOptions {
  // Which system to play: "echo" (default), "node" or "kube"; see SystemNames().
  std::string system = "echo";
  // civetweb "listening_ports" syntax; port 0 picks a free port (see port()).
  std::string listen_address = "127.0.0.1:0";
  // When non-empty, the system's protected routes require
  // "Authorization: Bearer <token>" (echo: /api/v2/* and /metrics; node:
  // /api/v1/* and /metrics; kube: every route).
  std::string token;
  // Value of the Retry-After header sent with 429 in echo's mode rate_limited.
  int retry_after_429 = 1;
  // Added to the clock for the Date header, to imitate a skewed server clock.
  int date_offset_seconds = 0;
  // civetweb worker threads; each hanging request occupies one, and one is
  // always kept free for the admin routes (so at least 2 are started).
  int num_threads = 8;
};

using Headers = std::vector<std::pair<std::string, std::string>>;

// Read access to the request being served.
class IncomingRequest {
 public:
  explicit IncomingRequest(mg_connection* conn);
  std::string_view method() const { return method_; }
  // The decoded path, without the query string.
  std::string_view path() const { return path_; }
  // The raw query string without '?', empty when there is none.
  std::string_view query() const { return query_; }
  // The URL-decoded value of a query parameter; nullopt when absent.
  std::optional<std::string> QueryParam(std::string_view name) const;
  // A request header (name case-insensitive); nullopt when absent.
  std::optional<std::string_view> Header(std::string_view name) const;
  // True when Authorization is "Bearer <token>" (scheme case-insensitive);
  // the comparison takes the same time wherever the tokens differ.
  bool HasBearer(std::string_view token) const;

 private:
  mg_connection* conn_;
  std::string_view method_;
  std::string_view path_;
  std::string_view query_;
};

// Writes the one response a request gets.
class Responder {
 public:
  Responder(mg_connection* conn, int date_offset_seconds)
      : conn_(conn), date_offset_seconds_(date_offset_seconds) {}
  // A complete response: status line (HTTP/1.1 unless UseHttp10()), Date
  // (shifted by the configured offset plus any ShiftDate()), Content-Type,
  // Content-Length, `headers`, body (not sent for HEAD). Only the first call
  // of a request writes anything.
  void Send(int status, std::string_view content_type, std::string_view body,
            const Headers& headers = {});
  void Json(int status, std::string_view body, const Headers& headers = {});
  bool sent() const { return sent_; }

  // Per-response overrides a System sets before answering; they also apply
  // to the core's 404 for a path the System leaves unanswered.
  // The status line says HTTP/1.0, as an old upstream (or a proxy left at
  // its HTTP/1.0 default) would answer.
  void UseHttp10() { http10_ = true; }
  // Moves the Date header `seconds` further, on top of the configured offset.
  void ShiftDate(int seconds) { extra_date_offset_seconds_ += seconds; }

 private:
  mg_connection* conn_;
  int date_offset_seconds_;
  int extra_date_offset_seconds_ = 0;
  bool http10_ = false;
  bool sent_ = false;
};

// One simulated system. Serve() runs on civetweb's worker threads, several
// at a time, so an implementation guards whatever state it keeps.
class System {
 public:
  virtual ~System() = default;
  virtual std::string_view name() const = 0;
  // The modes the system understands, "ok" first. The core adds "hang".
  virtual const std::vector<std::string>& Modes() const = 0;
  // Called by Simulator::Start() (again after a Stop()).
  virtual void OnStart(std::chrono::system_clock::time_point /*now*/) {}
  // Called whenever the simulator enters a different mode (never for the
  // initial "ok"), while the core's mode lock is held: a request that sees
  // the new mode also sees what this did. It must not call the Simulator.
  virtual void OnModeEntered(const std::string& /*mode*/,
                             std::chrono::system_clock::time_point /*now*/) {}
  // Answers one request (any method, any path except /-/mode) in `mode`,
  // which is never "hang". A request left unanswered gets a 404.
  virtual void Serve(IncomingRequest& req, Responder& res, const std::string& mode) = 0;
};

// The systems that can be played, in the order --help lists them.
const std::vector<std::string>& SystemNames();
// Throws std::invalid_argument for a name not in SystemNames().
std::unique_ptr<System> MakeSystem(std::string_view name, const SimulatorOptions& options);

struct ScenarioStep {
  std::string mode;
  std::chrono::milliseconds duration{0};
};

struct Scenario {
  std::vector<ScenarioStep> steps;
  bool loop = true;
};

// Reads a scenario YAML file for `system`:
//   loop: true            # optional, default true
//   steps:
//     - {mode: ok, duration: 5s}
// It is read with the exporter's configuration reader (base/yaml_reader.h),
// so it throws triage::ConfigError, a std::runtime_error, with a message
// "FILE:LINE:COL: ..." on malformed input, unknown keys, modes the system
// does not have and durations that are not positive, and "FILE: cannot
// read: ..." when the file cannot be read. An unknown system is a
// std::invalid_argument.
Scenario LoadScenarioFile(const std::string& path, std::string_view system = "echo");

class Simulator {
 public:
  // Throws std::invalid_argument when options.system is not a known system.
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

  // Returns false (and changes nothing) for a mode this system does not have.
  bool SetMode(std::string_view mode);
  std::string mode() const;
  std::string_view system() const;
  // This simulator's modes: its system's modes, then "hang".
  const std::vector<std::string>& modes() const { return modes_; }
  // The modes of `system` (default: echo, the default system), then "hang".
  // Throws std::invalid_argument for an unknown system.
  static const std::vector<std::string>& Modes(std::string_view system = "echo");

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
  void ServeAdmin(IncomingRequest& req, Responder& res);
  // In mode hang, blocks until the mode changes or Stop() and returns true
  // (the request must then go unanswered); otherwise returns false at once.
  bool WaitWhileHanging();
  // Requests that may be parked in hang mode at once.
  size_t MaxParked() const;
  bool IsKnownMode(std::string_view mode) const;
  void StopScenario();

  const SimulatorOptions options_;
  const std::unique_ptr<System> system_;
  const std::vector<std::string>& modes_;

  // mu_ guards mode_, stopping_ and scenario_cancel_; cv_ wakes hanging
  // handlers and the scenario thread when any of them changes.
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string mode_ = "ok";
  bool stopping_ = false;
  bool scenario_cancel_ = false;
  // Tickets of the requests parked in hang mode, oldest first (guarded by mu_).
  std::set<uint64_t> parked_;
  uint64_t next_ticket_ = 0;

  // Start(), Stop() and PlayScenario() are serialized by lifecycle_mu_, which
  // guards server_, handler_ and scenario_thread_.
  std::mutex lifecycle_mu_;
  std::unique_ptr<Handler> handler_;
  std::unique_ptr<CivetServer> server_;
  std::thread scenario_thread_;
  std::atomic<int> port_{0};
};

}  // namespace triage::sim

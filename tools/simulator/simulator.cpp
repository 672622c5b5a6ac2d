#include "tools/simulator/simulator.h"

#include <CivetServer.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "exporter/civet_stop.h"
#include "exporter/log.h"
#include "exporter/yaml_reader.h"

namespace triage::sim {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;
using json = nlohmann::ordered_json;  // keeps keys in the order written

constexpr std::string_view kModeHang = "hang";
constexpr std::string_view kDocsUrl = "https://example.invalid/echo/docs/api-versions";

// civetweb reports why mg_start failed (e.g. "cannot bind to ...: Address
// already in use") only through the log_message callback, and it runs that
// callback on the thread calling mg_start. Start() collects the text here.
thread_local std::string* t_start_errors = nullptr;

int CivetLogMessage(const mg_connection*, const char* message) {
  if (t_start_errors != nullptr && message != nullptr) {
    if (!t_start_errors->empty()) *t_start_errors += "; ";
    *t_start_errors += message;
  }
  return 1;  // handled: civetweb prints nothing itself
}

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 410: return "Gone";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
  }
  return "Unknown";
}

// IMF-fixdate (RFC 9110 section 5.6.7), e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
// Names are spelled out here because strftime's %a/%b follow the locale.
std::string HttpDate(std::time_t t) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

// Comparison whose duration does not depend on where the strings differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const std::string_view& longer = a.size() >= b.size() ? a : b;
  for (size_t i = 0; i < longer.size(); ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
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

bool IsKnownMode(std::string_view mode) {
  const auto& modes = Simulator::Modes();
  return std::find(modes.begin(), modes.end(), mode) != modes.end();
}

std::string JoinModes() {
  std::string out;
  for (const auto& m : Simulator::Modes()) {
    if (!out.empty()) out += ", ";
    out += m;
  }
  return out;
}

// One entry of the steps list: a map with a known mode and a positive duration.
ScenarioStep ReadStep(const YAML::Node& item, const YAML::Node& steps, const std::string& file,
                      size_t index) {
  const std::string what = "step #" + std::to_string(index);
  RequireMapItem(item, steps, file, what, "expected a map with keys mode and duration");
  MapReader r(item, file, what);
  r.Node("mode");
  r.Node("duration");
  r.Finish();  // first, so that a misspelt key is not reported as a missing one
  ScenarioStep step;
  step.mode = r.RequiredString("mode");
  if (!IsKnownMode(step.mode)) {
    r.Fail(r.Node("mode"), "unknown mode " + QuoteForMessage(step.mode) + " in " + what +
                               "; expected one of the known modes: " + JoinModes());
  }
  if (!r.Has("duration")) {
    r.Fail(item, "missing required key \"duration\" in " + what +
                     "; expected a duration like 15s or 500ms");
  }
  step.duration = r.PositiveDuration("duration", std::chrono::milliseconds{0});
  return step;
}

}  // namespace

// ---- scenario file ----------------------------------------------------------

Scenario LoadScenarioFile(const std::string& path) {
  const YAML::Node root = ParseSingleYamlDocument(ReadConfigText(path), path);
  if (!root.IsDefined() || root.IsNull()) {
    throw ConfigError(FormatConfigError(
        path, YAML::Mark(),
        "the scenario is empty; expected a map with a \"steps\" list (and optionally \"loop\")"));
  }
  MapReader top(root, path, "the scenario");
  Scenario scenario;
  scenario.loop = top.Bool("loop", true);
  top.Node("steps");  // allowed; checked once the unknown keys are ruled out
  top.Finish();
  const YAML::Node steps = top.NonEmptyList(
      "steps", "expected a non-empty list of steps, each with a mode and a duration");
  size_t index = 0;
  for (const auto& item : steps) {
    scenario.steps.push_back(ReadStep(item, steps, path, ++index));
  }
  return scenario;
}

// ---- civetweb glue ----------------------------------------------------------

// One handler registered on "" so that it receives every path; it hands the
// request to Simulator::Serve whatever the method.
class Simulator::Handler : public CivetHandler {
 public:
  explicit Handler(Simulator* sim) : sim_(sim) {}
  bool handleGet(CivetServer*, mg_connection* c, int* s) override { return Run(c, s); }
  bool handlePost(CivetServer*, mg_connection* c, int* s) override { return Run(c, s); }
  bool handleHead(CivetServer*, mg_connection* c, int* s) override { return Run(c, s); }
  bool handlePut(CivetServer*, mg_connection* c, int* s) override { return Run(c, s); }
  bool handleDelete(CivetServer*, mg_connection* c, int* s) override { return Run(c, s); }
  bool handleOptions(CivetServer*, mg_connection* c, int* s) override { return Run(c, s); }
  bool handlePatch(CivetServer*, mg_connection* c, int* s) override { return Run(c, s); }

 private:
  bool Run(mg_connection* conn, int* status) {
    sim_->Serve(conn);
    // Only used for civetweb's access log; the real status line is ours.
    if (status != nullptr) *status = 200;
    return true;
  }
  Simulator* sim_;
};

// ---- Simulator ----------------------------------------------------------------

Simulator::Simulator(SimulatorOptions options)
    : options_(std::move(options)), rng_(std::random_device{}()) {}

Simulator::~Simulator() { Stop(); }

const std::vector<std::string>& Simulator::Modes() {
  static const std::vector<std::string> kModes = {
      "ok", "unauthorized", "forbidden", "gone", "rate_limited",
      "backend_failure", "shutting_down", "garbage", "hang"};
  return kModes;
}

void Simulator::Start() {
  std::lock_guard<std::mutex> life(lifecycle_mu_);
  if (server_) throw std::runtime_error("simulator already started");
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = false;
  }
  start_time_seconds_ =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();

  const std::vector<std::string> civet_options = {
      "listening_ports", options_.listen_address,
      "num_threads", std::to_string(std::max(1, options_.num_threads)),
      // One request per connection: a hung handler can then close the
      // connection simply by returning without writing anything.
      "enable_keep_alive", "no",
      "request_timeout_ms", "10000",
  };
  CivetCallbacks callbacks;
  callbacks.log_message = &CivetLogMessage;

  std::string errors;
  t_start_errors = &errors;
  std::unique_ptr<CivetServer> server;
  try {
    server = std::make_unique<CivetServer>(civet_options, &callbacks);
  } catch (const std::exception& e) {
    t_start_errors = nullptr;
    throw std::runtime_error("cannot listen on " + options_.listen_address + ": " +
                             (errors.empty() ? std::string(e.what()) : errors));
  }
  t_start_errors = nullptr;

  handler_ = std::make_unique<Handler>(this);
  server->addHandler("", handler_.get());
  const std::vector<int> ports = server->getListeningPorts();
  if (ports.empty() || ports.front() <= 0) {
    server->close();
    throw std::runtime_error("cannot listen on " + options_.listen_address +
                             ": no listening port reported");
  }
  port_ = ports.front();
  server_ = std::move(server);
}

void Simulator::Stop() {
  std::lock_guard<std::mutex> life(lifecycle_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  // Wakes both the scenario thread and every handler parked in hang mode;
  // stopping_ stays true until the next Start(), so a request that arrives
  // while civetweb shuts down does not park again. Only then is it safe to
  // let civetweb join its worker threads.
  cv_.notify_all();
  StopScenario();
  if (server_) {
    CloseCivetServer(*server_, options_.listen_address, port_);
    server_.reset();
  }
  handler_.reset();
}

int Simulator::port() const { return port_; }

bool Simulator::SetMode(std::string_view mode) {
  if (!IsKnownMode(mode)) return false;
  std::string previous;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (mode_ == mode) return true;
    previous = std::exchange(mode_, std::string(mode));
  }
  cv_.notify_all();  // releases hanging requests when leaving hang
  LogInfo("mode switched", {{"mode", mode}, {"previous", previous}});
  return true;
}

std::string Simulator::mode() const {
  std::lock_guard<std::mutex> lock(mu_);
  return mode_;
}

void Simulator::PlayScenario(Scenario scenario) {
  std::chrono::milliseconds total{0};
  for (const auto& step : scenario.steps) {
    if (!IsKnownMode(step.mode)) {
      throw std::invalid_argument("scenario: unknown mode \"" + step.mode + "\"");
    }
    total += std::max(step.duration, std::chrono::milliseconds{0});
  }
  if (scenario.loop && total.count() == 0 && !scenario.steps.empty()) {
    throw std::invalid_argument("scenario: a looping scenario needs a positive total duration");
  }
  std::lock_guard<std::mutex> life(lifecycle_mu_);  // scenario_thread_ is shared with Stop()
  StopScenario();
  if (scenario.steps.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    scenario_cancel_ = false;
  }
  scenario_thread_ = std::thread([this, s = std::move(scenario)] {
    do {
      for (const auto& step : s.steps) {
        SetMode(step.mode);
        std::unique_lock<std::mutex> lock(mu_);
        if (cv_.wait_for(lock, step.duration, [this] { return stopping_ || scenario_cancel_; })) {
          return;
        }
      }
    } while (s.loop);
  });
}

void Simulator::StopScenario() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    scenario_cancel_ = true;
  }
  cv_.notify_all();
  if (scenario_thread_.joinable()) scenario_thread_.join();
}

// ---- request handling -----------------------------------------------------------

void Simulator::Serve(mg_connection* conn) {
  const mg_request_info* ri = mg_get_request_info(conn);
  const std::string_view method = ri->request_method != nullptr ? ri->request_method : "";
  const std::string_view path = ri->local_uri != nullptr ? ri->local_uri : "";

  if (path == "/-/mode") return ServeAdmin(conn, method);

  // A wedged server answers nothing at all, so hang comes before every other
  // decision (including the bearer check). A request that had to wait is
  // dropped once released: returning without writing anything makes civetweb
  // close the connection (keep-alive is off), and the client sees an empty
  // reply.
  if (WaitWhileHanging()) return;
  const std::string mode = this->mode();

  if (path == "/health" || path == "/ready") {
    if (method != "GET") return RespondJson(conn, 405, R"({"error":"method not allowed"})", {{"Allow", "GET"}});
    if (path == "/health") return RespondJson(conn, 200, R"({"status":"ok"})");
    if (mode == "shutting_down") return RespondJson(conn, 503, R"({"status":"draining"})");
    return RespondJson(conn, 200, R"({"status":"ready"})");
  }
  if (UnderPrefix(path, "/api/v1")) {
    CountRequest("/api/v1", 410);
    return RespondJson(conn, 410, RemovedV1Body());
  }
  if (UnderPrefix(path, "/api/v2")) return ServeApiV2(conn, path, mode);
  if (path == "/metrics") {
    if (method != "GET") return RespondJson(conn, 405, R"({"error":"method not allowed"})", {{"Allow", "GET"}});
    return ServeMetrics(conn);
  }
  RespondJson(conn, 404, R"({"error":"not found"})");
}

bool Simulator::WaitWhileHanging() {
  std::unique_lock<std::mutex> lock(mu_);
  if (mode_ != kModeHang) return false;
  // A condition variable, not a poll loop: SetMode() and Stop() notify it.
  cv_.wait(lock, [this] { return stopping_ || mode_ != kModeHang; });
  return true;
}

void Simulator::ServeAdmin(mg_connection* conn, std::string_view method) {
  const json modes = Modes();
  if (method == "GET") {
    return RespondJson(conn, 200, json{{"mode", mode()}, {"modes", modes}}.dump());
  }
  if (method == "POST" || method == "PUT") {
    const mg_request_info* ri = mg_get_request_info(conn);
    std::string wanted;
    if (ri->query_string != nullptr) {
      char buf[64];
      const int n = mg_get_var(ri->query_string, std::strlen(ri->query_string), "mode", buf, sizeof buf);
      if (n >= 0) wanted.assign(buf, static_cast<size_t>(n));
    }
    if (!SetMode(wanted)) {
      return RespondJson(conn, 400, json{{"error", "unknown mode"}, {"modes", modes}}.dump());
    }
    return RespondJson(conn, 200, json{{"mode", wanted}}.dump());
  }
  RespondJson(conn, 405, R"({"error":"method not allowed"})", {{"Allow", "GET, POST, PUT"}});
}

void Simulator::ServeApiV2(mg_connection* conn, std::string_view path, const std::string& mode) {
  const std::string route = "/api/v2";
  auto reply = [&](int status, const std::string& body, const Headers& headers = {}) {
    CountRequest(route, status);
    RespondJson(conn, status, body, headers);
  };

  if (!Authorized(conn)) {
    return reply(401, ErrorBody("missing or invalid bearer token", "unauthorized"),
                 {{"WWW-Authenticate", "Bearer"}});
  }
  if (mode == "ok") {
    if (path == "/api/v2/whoami") {
      return reply(200, json{{"subject", "demo"}, {"allowed_clusters", {"prod-eu-1"}}}.dump());
    }
    return reply(200, R"({"status":"ok"})");
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
                 {{"Retry-After", std::to_string(options_.retry_after_429)}});
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
  // garbage: what a crashing proxy in front of the server might send instead
  // of the JSON contract (deliberately truncated HTML).
  CountRequest(route, 500);
  Respond(conn, 500, "text/html; charset=utf-8",
          "<html><body><h1>upstream exploded</h1><p>stack trace follows");
}

bool Simulator::Authorized(mg_connection* conn) const {
  if (options_.token.empty()) return true;
  const char* header = mg_get_header(conn, "Authorization");
  if (header == nullptr) return false;
  constexpr std::string_view kScheme = "Bearer ";
  std::string_view value = header;
  if (value.size() < kScheme.size()) return false;
  // The scheme name is case-insensitive (RFC 9110 section 11.1).
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(value[i])) !=
        std::tolower(static_cast<unsigned char>(kScheme[i]))) {
      return false;
    }
  }
  return ConstantTimeEquals(value.substr(kScheme.size()), options_.token);
}

void Simulator::ServeMetrics(mg_connection* conn) {
  if (!Authorized(conn)) {
    return RespondJson(conn, 401, ErrorBody("missing or invalid bearer token", "unauthorized"),
                       {{"WWW-Authenticate", "Bearer"}});
  }
  std::string out;
  out += "# HELP echo_http_requests_total Requests answered under the versioned API prefixes.\n";
  out += "# TYPE echo_http_requests_total counter\n";
  {
    std::lock_guard<std::mutex> lock(metrics_mu_);
    for (const auto& [key, count] : request_counts_) {
      out += "echo_http_requests_total{route=\"" + key.first + "\",code=\"" +
             std::to_string(key.second) + "\"} " + std::to_string(count) + "\n";
    }
  }
  char start[64];
  std::snprintf(start, sizeof start, "%.3f", start_time_seconds_);
  out += "# HELP process_start_time_seconds Unix time at which the simulator started serving.\n";
  out += "# TYPE process_start_time_seconds gauge\n";
  out += "process_start_time_seconds ";
  out += start;
  out += "\n";
  Respond(conn, 200, "text/plain; version=0.0.4; charset=utf-8", out);
}

void Simulator::CountRequest(const std::string& route, int code) {
  std::lock_guard<std::mutex> lock(metrics_mu_);
  ++request_counts_[{route, code}];
}

std::string Simulator::RandomRequestId() {
  uint64_t v;
  {
    std::lock_guard<std::mutex> lock(rng_mu_);
    v = rng_();
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

void Simulator::Respond(mg_connection* conn, int status, std::string_view content_type,
                        std::string_view body, const Headers& headers) const {
  const std::time_t now = std::time(nullptr) + options_.date_offset_seconds;
  std::string head = "HTTP/1.1 " + std::to_string(status) + " " + std::string(ReasonPhrase(status)) +
                     "\r\nDate: " + HttpDate(now) + "\r\nContent-Type: " + std::string(content_type) +
                     "\r\nContent-Length: " + std::to_string(body.size()) +
                     "\r\nConnection: close\r\n";
  for (const auto& [name, value] : headers) head += name + ": " + value + "\r\n";
  head += "\r\n";
  mg_write(conn, head.data(), head.size());
  const mg_request_info* ri = mg_get_request_info(conn);
  const bool is_head = ri->request_method != nullptr && std::string_view(ri->request_method) == "HEAD";
  if (!is_head && !body.empty()) mg_write(conn, body.data(), body.size());
}

void Simulator::RespondJson(mg_connection* conn, int status, std::string_view body,
                            const Headers& headers) const {
  Respond(conn, status, "application/json", body, headers);
}

}  // namespace triage::sim

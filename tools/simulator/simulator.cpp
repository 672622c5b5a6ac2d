#include "tools/simulator/simulator.h"

#include <CivetServer.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "server/civet_stop.h"
#include "base/log.h"
#include "base/yaml_reader.h"
#include "tools/simulator/echo_system.h"
#include "tools/simulator/kube_system.h"
#include "tools/simulator/node_system.h"

namespace triage::sim {
namespace {

using json = nlohmann::ordered_json;  // keeps keys in the order written

constexpr std::string_view kModeHang = "hang";

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
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
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

// The systems, with their own mode lists and factories.
struct SystemEntry {
  std::string name;
  const std::vector<std::string>& (*modes)();
  std::unique_ptr<System> (*make)(const SimulatorOptions&);
};

const std::vector<SystemEntry>& Registry() {
  static const std::vector<SystemEntry> kSystems = {
      {"echo", &EchoModes,
       [](const SimulatorOptions& o) -> std::unique_ptr<System> { return std::make_unique<EchoSystem>(o); }},
      {"node", &NodeModes,
       [](const SimulatorOptions& o) -> std::unique_ptr<System> { return std::make_unique<NodeSystem>(o); }},
      {"kube", &KubeModes,
       [](const SimulatorOptions& o) -> std::unique_ptr<System> { return std::make_unique<KubeSystem>(o); }},
  };
  return kSystems;
}

const SystemEntry& FindSystem(std::string_view name) {
  for (const auto& e : Registry()) {
    if (e.name == name) return e;
  }
  std::string known;
  for (const auto& e : Registry()) known += (known.empty() ? "" : ", ") + e.name;
  throw std::invalid_argument("unknown system \"" + std::string(name) + "\"; expected one of: " + known);
}

std::string JoinModes(const std::vector<std::string>& modes) {
  std::string out;
  for (const auto& m : modes) {
    if (!out.empty()) out += ", ";
    out += m;
  }
  return out;
}

// One entry of the steps list: a map with a known mode and a positive duration.
ScenarioStep ReadStep(const YAML::Node& item, const YAML::Node& steps, const std::string& file,
                      size_t index, std::string_view system) {
  const std::string what = "step #" + std::to_string(index);
  RequireMapItem(item, steps, file, what, "expected a map with keys mode and duration");
  MapReader r(item, file, what);
  r.Node("mode");
  r.Node("duration");
  r.Finish();  // first, so that a misspelt key is not reported as a missing one
  ScenarioStep step;
  step.mode = r.RequiredString("mode");
  const auto& modes = Simulator::Modes(system);
  if (std::find(modes.begin(), modes.end(), step.mode) == modes.end()) {
    r.Fail(r.Node("mode"), "unknown mode " + QuoteForMessage(step.mode) + " in " + what +
                               "; expected one of the modes of the " + std::string(system) +
                               " system: " + JoinModes(modes));
  }
  if (!r.Has("duration")) {
    r.Fail(item, "missing required key \"duration\" in " + what +
                     "; expected a duration like 15s or 500ms");
  }
  step.duration = r.PositiveDuration("duration", std::chrono::milliseconds{0});
  return step;
}

}  // namespace

// ---- systems ------------------------------------------------------------------

const std::vector<std::string>& SystemNames() {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> names;
    for (const auto& e : Registry()) names.push_back(e.name);
    return names;
  }();
  return kNames;
}

std::unique_ptr<System> MakeSystem(std::string_view name, const SimulatorOptions& options) {
  return FindSystem(name).make(options);
}

// ---- request and response -------------------------------------------------------

IncomingRequest::IncomingRequest(mg_connection* conn) : conn_(conn) {
  const mg_request_info* ri = mg_get_request_info(conn);
  if (ri->request_method != nullptr) method_ = ri->request_method;
  if (ri->local_uri != nullptr) path_ = ri->local_uri;
  if (ri->query_string != nullptr) query_ = ri->query_string;
}

std::optional<std::string> IncomingRequest::QueryParam(std::string_view name) const {
  if (query_.empty()) return std::nullopt;
  // The decoded value is never longer than the raw query string.
  std::string buf(query_.size() + 1, '\0');
  const std::string key(name);
  const int n = mg_get_var(query_.data(), query_.size(), key.c_str(), buf.data(), buf.size());
  if (n < 0) return std::nullopt;
  buf.resize(static_cast<size_t>(n));
  return buf;
}

std::optional<std::string_view> IncomingRequest::Header(std::string_view name) const {
  const std::string key(name);
  const char* value = mg_get_header(conn_, key.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string_view(value);
}

bool IncomingRequest::HasBearer(std::string_view token) const {
  const auto header = Header("Authorization");
  if (!header) return false;
  constexpr std::string_view kScheme = "Bearer ";
  const std::string_view value = *header;
  if (value.size() < kScheme.size()) return false;
  // The scheme name is case-insensitive (RFC 9110 section 11.1).
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(value[i])) !=
        std::tolower(static_cast<unsigned char>(kScheme[i]))) {
      return false;
    }
  }
  return ConstantTimeEquals(value.substr(kScheme.size()), token);
}

void Responder::Send(int status, std::string_view content_type, std::string_view body,
                     const Headers& headers) {
  if (sent_) return;
  sent_ = true;
  const std::time_t now = std::time(nullptr) + date_offset_seconds_ + extra_date_offset_seconds_;
  std::string head = std::string(http10_ ? "HTTP/1.0 " : "HTTP/1.1 ") + std::to_string(status) + " " + std::string(ReasonPhrase(status)) +
                     "\r\nDate: " + HttpDate(now) + "\r\nContent-Type: " + std::string(content_type) +
                     "\r\nContent-Length: " + std::to_string(body.size()) +
                     "\r\nConnection: close\r\n";
  for (const auto& [name, value] : headers) head += name + ": " + value + "\r\n";
  head += "\r\n";
  mg_write(conn_, head.data(), head.size());
  const mg_request_info* ri = mg_get_request_info(conn_);
  const bool is_head = ri->request_method != nullptr && std::string_view(ri->request_method) == "HEAD";
  if (!is_head && !body.empty()) mg_write(conn_, body.data(), body.size());
}

void Responder::Json(int status, std::string_view body, const Headers& headers) {
  Send(status, "application/json", body, headers);
}

// ---- scenario file ----------------------------------------------------------

Scenario LoadScenarioFile(const std::string& path, std::string_view system) {
  FindSystem(system);  // an unknown system is the caller's mistake, not the file's
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
    scenario.steps.push_back(ReadStep(item, steps, path, ++index, system));
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
    : options_(std::move(options)),
      system_(MakeSystem(options_.system, options_)),
      modes_(Modes(options_.system)) {}

Simulator::~Simulator() { Stop(); }

const std::vector<std::string>& Simulator::Modes(std::string_view system) {
  // Built once for all systems, so the references handed out stay valid.
  static const std::map<std::string, std::vector<std::string>, std::less<>> kModes = [] {
    std::map<std::string, std::vector<std::string>, std::less<>> m;
    for (const auto& e : Registry()) {
      std::vector<std::string> modes = e.modes();
      modes.emplace_back(kModeHang);
      m.emplace(e.name, std::move(modes));
    }
    return m;
  }();
  const auto it = kModes.find(system);
  if (it == kModes.end()) {
    FindSystem(system);  // throws with the list of systems
    throw std::invalid_argument("unknown system");
  }
  return it->second;
}

std::string_view Simulator::system() const { return system_->name(); }

bool Simulator::IsKnownMode(std::string_view mode) const {
  return std::find(modes_.begin(), modes_.end(), mode) != modes_.end();
}

void Simulator::Start() {
  std::lock_guard<std::mutex> life(lifecycle_mu_);
  if (server_) throw std::runtime_error("simulator already started");
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = false;
  }
  system_->OnStart(std::chrono::system_clock::now());

  const std::vector<std::string> civet_options = {
      "listening_ports", options_.listen_address,
      "num_threads", std::to_string(std::max(2, options_.num_threads)),
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
    // Under the lock: a request that reads the new mode also sees the state
    // the system set up for it (a fresh start time, a new claim, ...).
    system_->OnModeEntered(mode_, std::chrono::system_clock::now());
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
      throw std::invalid_argument("scenario: unknown mode \"" + step.mode + "\" for the " +
                                  std::string(system()) + " system");
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
  IncomingRequest req(conn);
  Responder res(conn, options_.date_offset_seconds);

  if (req.path() == "/-/mode") return ServeAdmin(req, res);

  // A wedged server answers nothing at all, so hang comes before every other
  // decision (including the bearer check). A request that had to wait is
  // dropped once released: returning without writing anything makes civetweb
  // close the connection (keep-alive is off), and the client sees an empty
  // reply.
  if (WaitWhileHanging()) return;
  system_->Serve(req, res, mode());
  if (!res.sent()) res.Json(404, R"({"error":"not found"})");
}

size_t Simulator::MaxParked() const {
  return static_cast<size_t>(std::max(2, options_.num_threads) - 1);
}

bool Simulator::WaitWhileHanging() {
  std::unique_lock<std::mutex> lock(mu_);
  if (mode_ != kModeHang) return false;
  // A prober that times out closes its end, but the handler cannot see that;
  // without a bound, parked requests would take every worker and /-/mode
  // could never switch the simulator back. So the oldest parked request is
  // let go whenever the bound is reached.
  while (parked_.size() >= MaxParked()) parked_.erase(parked_.begin());
  const uint64_t ticket = next_ticket_++;
  parked_.insert(ticket);
  // A condition variable, not a poll loop: SetMode(), Stop() and an eviction
  // above notify it.
  cv_.notify_all();
  cv_.wait(lock, [this, ticket] {
    return stopping_ || mode_ != kModeHang || parked_.count(ticket) == 0;
  });
  parked_.erase(ticket);
  return true;
}

void Simulator::ServeAdmin(IncomingRequest& req, Responder& res) {
  const json modes = modes_;
  if (req.method() == "GET") {
    return res.Json(200, json{{"mode", mode()}, {"modes", modes}, {"system", system()}}.dump());
  }
  if (req.method() == "POST" || req.method() == "PUT") {
    const std::string wanted = req.QueryParam("mode").value_or("");
    if (!SetMode(wanted)) {
      return res.Json(400, json{{"error", "unknown mode"}, {"modes", modes}}.dump());
    }
    return res.Json(200, json{{"mode", wanted}}.dump());
  }
  res.Json(405, R"({"error":"method not allowed"})", {{"Allow", "GET, POST, PUT"}});
}

}  // namespace triage::sim

// Tests for the exporter's web endpoints (exporter/web.cpp) and for reload
// through App (exporter/app.cpp), in process: an in-process triage_simulator
// on 127.0.0.1:0 is the probe target and an App serves on 127.0.0.1:0.
#include "exporter/web.h"

#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "exporter/app.h"
#include "base/html.h"
#include "base/log.h"
#include "exporter/scheduler.h"
#include "tests/unit/raw_server.h"
#include "tests/unit/test_util.h"
#include "tools/simulator/simulator.h"

namespace triage {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::HttpGet;
using testing::HttpPost;
using testing::HttpReply;
using testing::LogCapture;
using testing::RawServer;
using testing::SampleValue;
using testing::TempDir;
using testing::WaitFor;

constexpr const char* kMetricsType = "text/plain; version=0.0.4; charset=utf-8";
constexpr const char* kCanary = "canary-SECRET-7d1e";

// Generous limits: the tests must pass on a loaded two-core machine.
constexpr milliseconds kLong = seconds(20);

using testing::Contains;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

// Name of the metric of a sample line ("name{...} v" or "name v").
std::string SampleName(const std::string& line) {
  const auto end = line.find_first_of("{ ");
  return line.substr(0, end);
}

// Checks the exposition text: every family has exactly one HELP and one TYPE
// line, and its samples follow its header without another family in between.
// Returns a description of the first problem, or "" when the text is sound.
std::string CheckFamilyGrouping(const std::string& text) {
  std::map<std::string, int> help, type;
  std::string current, current_type;
  for (const auto& line : Lines(text)) {
    if (line.empty()) continue;
    if (line.rfind("# HELP ", 0) == 0) {
      const std::string rest = line.substr(7);
      const std::string name = rest.substr(0, rest.find(' '));
      if (++help[name] > 1) return "HELP repeated for " + name;
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      const std::string rest = line.substr(7);
      const auto sp = rest.find(' ');
      const std::string name = rest.substr(0, sp);
      if (++type[name] > 1) return "TYPE repeated for " + name;
      if (help[name] != 1) return "TYPE without a HELP line before it for " + name;
      current = name;
      current_type = rest.substr(sp + 1);
      continue;
    }
    if (line[0] == '#') continue;
    const std::string name = SampleName(line);
    bool belongs = name == current;
    if (current_type == "histogram" || current_type == "summary") {
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        if (name == current + suffix) belongs = true;
      }
    }
    if (!belongs) return "sample " + name + " outside its family block (current: " + current + ")";
  }
  for (const auto& [name, n] : help) {
    if (type[name] != 1) return "HELP without TYPE for " + name;
  }
  return "";
}

// Runs of a scheduled probe (success + failure) as /metrics shows them.
double Runs(const std::string& metrics, const std::string& service, const std::string& probe) {
  const std::string s = "service=\"" + service + "\"";
  const std::string p = "probe=\"" + probe + "\"";
  const auto ok = SampleValue(metrics, "triage_probes_total", {s, p, "result=\"success\""});
  const auto bad = SampleValue(metrics, "triage_probes_total", {s, p, "result=\"failure\""});
  return ok.value_or(0) + bad.value_or(0);
}

double Successes(const std::string& metrics, const std::string& service, const std::string& probe) {
  return SampleValue(metrics, "triage_probes_total",
                     {"service=\"" + service + "\"", "probe=\"" + probe + "\"",
                      "result=\"success\""})
      .value_or(0);
}

// Sum of echo_http_requests_total in the simulator's own /metrics: how many
// /api requests it has answered.
double SimApiRequests(int port, const std::string& token = "") {
  std::vector<std::string> headers;
  if (!token.empty()) headers.push_back("Authorization: Bearer " + token);
  const HttpReply r = HttpGet("http://127.0.0.1:" + std::to_string(port) + "/metrics",
                              seconds(5), headers);
  EXPECT_EQ(r.status, 200) << r.error;
  double sum = 0;
  for (const auto& line : Lines(r.body)) {
    if (line.rfind("echo_http_requests_total{", 0) == 0) {
      sum += std::stod(line.substr(line.rfind(' ') + 1));
    }
  }
  return sum;
}

// "FILE:LINE:COL" of the first occurrence of `needle` in `text` (1-based).
std::string PositionOf(const std::string& file, const std::string& text, const std::string& needle) {
  const auto pos = text.find(needle);
  EXPECT_NE(pos, std::string::npos) << needle;
  const auto line = std::count(text.begin(), text.begin() + static_cast<long>(pos), '\n') + 1;
  const auto line_start = text.rfind('\n', pos);
  const size_t col = line_start == std::string::npos ? pos + 1 : pos - line_start;
  return file + ":" + std::to_string(line) + ":" + std::to_string(col);
}

// Restores the info log level when a test that lowered it ends.
class LogLevelGuard {
 public:
  explicit LogLevelGuard(const char* level) { EXPECT_TRUE(SetLogLevel(level)); }
  ~LogLevelGuard() { SetLogLevel("info"); }
};

// A simulator that the scheduled probes hit; an idle simulator and a raw TCP
// server that only /probe requests reach (their probes are due in more than
// ten minutes); and an App whose config file lives in a temporary directory.
class Env {
 public:
  explicit Env(std::string token = "") : token_(std::move(token)) {
    sim::SimulatorOptions o;
    o.listen_address = "127.0.0.1:0";
    o.token = token_;
    sim_ = std::make_unique<sim::Simulator>(o);
    sim_->Start();
    sim::SimulatorOptions idle;
    idle.listen_address = "127.0.0.1:0";
    idle_ = std::make_unique<sim::Simulator>(idle);
    idle_->Start();
    raw_ = std::make_unique<RawServer>(RawServer::RespondRaw(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"
        "Connection: close\r\n\r\nok\n"));
  }
  ~Env() {
    if (app_) app_->Stop();
    app_.reset();
    raw_.reset();
    idle_->Stop();
    sim_->Stop();
  }

  // Writes config.yaml and starts the App on it.
  void Start(const std::string& config) {
    config_path_ = WriteConfig(config);
    app_ = std::make_unique<App>(AppOptions{config_path_, "127.0.0.1:0"});
    app_->Start();
  }
  std::string WriteConfig(const std::string& config) const { return dir_.Write("config.yaml", config); }

  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(app_->port()) + path;
  }
  HttpReply Get(const std::string& path, milliseconds timeout = seconds(10)) const {
    return HttpGet(Url(path), timeout);
  }
  std::string Metrics() const {
    const HttpReply r = Get("/metrics");
    EXPECT_EQ(r.status, 200) << r.error;
    return r.body;
  }
  HttpReply Reload() const { return HttpPost(Url("/-/reload"), "", seconds(10)); }

  // Waits until `pred` holds on a fresh scrape; returns the last scrape.
  std::string WaitMetrics(const std::function<bool(const std::string&)>& pred,
                          milliseconds timeout = kLong) const {
    std::string last;
    WaitFor(
        [&] {
          last = Metrics();
          return pred(last);
        },
        timeout);
    return last;
  }

  int sim_port() const { return sim_->port(); }
  int idle_port() const { return idle_->port(); }
  RawServer& raw() { return *raw_; }
  sim::Simulator& sim() { return *sim_; }
  App& app() { return *app_; }
  const TempDir& dir() const { return dir_; }
  const std::string& config_path() const { return config_path_; }

 private:
  std::string token_;
  TempDir dir_;
  std::unique_ptr<sim::Simulator> sim_;
  std::unique_ptr<sim::Simulator> idle_;
  std::unique_ptr<RawServer> raw_;
  std::string config_path_;
  std::unique_ptr<App> app_;
};

// The configuration of the endpoint tests. A service label value and a probe
// URL carry HTML, to check that no page serves them unescaped.
std::string BaseConfig(Env& env, const std::string& extra_web_probes = "") {
  const std::string sim = "http://127.0.0.1:" + std::to_string(env.sim_port());
  const std::string idle = "http://127.0.0.1:" + std::to_string(env.idle_port());
  return "global:\n"
         "  interval: 200ms\n"
         "  timeout: 200ms\n"
         "services:\n"
         "  - name: web\n"
         "    labels: {team: platform, cluster_id: \"<script>alert(1)</script>\"}\n"
         "    probes:\n"
         "      - name: health\n"
         "        kind: http\n"
         "        layer: liveness\n"
         "        url: " + sim + "/health\n"
         "      - name: api\n"
         "        kind: http\n"
         "        layer: traffic\n"
         "        url: " + sim + "/api/v2/whoami\n"
         "        valid_status_codes: [200]\n"
         "        error_code_pointer: /code\n"
         "      - name: xss\n"
         "        kind: http\n"
         "        layer: readiness\n"
         "        url: \"" + sim + "/ready?q=<script>alert(2)</script>\"\n" +
         extra_web_probes +
         "  - name: idle\n"
         "    probes:\n"
         "      - name: api\n"
         "        kind: http\n"
         "        layer: traffic\n"
         "        interval: 1h\n"
         "        timeout: 5s\n"
         "        url: " + idle + "/api/v2/whoami\n"
         "      - name: raw\n"
         "        kind: http\n"
         "        layer: liveness\n"
         "        interval: 1h\n"
         "        timeout: 5s\n"
         "        url: " + env.raw().Url("/raw") + "\n";
}

// ---------------------------------------------------------------------------
// Endpoints, sharing one simulator + App for the whole suite.

class WebEndpointsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    env_ = new Env();
    env_->Start(BaseConfig(*env_));
    // Every scheduled probe has finished at least twice.
    env_->WaitMetrics([](const std::string& m) {
      return Runs(m, "web", "health") >= 2 && Runs(m, "web", "api") >= 2 &&
             Runs(m, "web", "xss") >= 2;
    });
  }
  static void TearDownTestSuite() {
    delete env_;
    env_ = nullptr;
  }
  static Env* env_;
};

Env* WebEndpointsTest::env_ = nullptr;

TEST_F(WebEndpointsTest, MetricsHasContentTypeAndOneHeaderPerFamily) {
  const HttpReply r = env_->Get("/metrics");
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.content_type, kMetricsType);
  EXPECT_EQ(CheckFamilyGrouping(r.body), "") << r.body;
  // Probe families and self metrics are both there.
  for (const char* family : {"triage_probe_success", "triage_probes_total",
                             "triage_probe_duration_seconds", "triage_http_responses_total",
                             "triage_exporter_build_info",
                             "triage_exporter_config_last_reload_successful",
                             "process_cpu_seconds_total", "process_resident_memory_bytes",
                             "process_start_time_seconds", "process_open_fds"}) {
    EXPECT_TRUE(Contains(r.body, std::string("# TYPE ") + family + " ")) << family;
  }
  EXPECT_EQ(SampleValue(r.body, "triage_exporter_config_last_reload_successful"), 1.0);
  EXPECT_EQ(SampleValue(r.body, "triage_exporter_build_info", {"version=\"", "revision=\""}), 1.0);
  EXPECT_GT(SampleValue(r.body, "process_start_time_seconds").value_or(0), 0);
  EXPECT_GT(SampleValue(r.body, "process_resident_memory_bytes").value_or(0), 0);
  EXPECT_EQ(SampleValue(r.body, "triage_exporter_probes_configured"), 5.0);
  // The api probe saw 200 from the simulator.
  EXPECT_GE(SampleValue(r.body, "triage_http_responses_total",
                        {"service=\"web\"", "probe=\"api\"", "code=\"200\""})
                .value_or(0),
            1);
}

TEST_F(WebEndpointsTest, ProbeSeriesCarryServiceProbeAndStaticLabels) {
  const std::string m = env_->Metrics();
  int probe_samples = 0;
  for (const auto& line : Lines(m)) {
    if (line.empty() || line[0] == '#') continue;
    const std::string name = SampleName(line);
    if (name.rfind("triage_", 0) != 0 || name.rfind("triage_exporter_", 0) == 0) continue;
    ++probe_samples;
    EXPECT_TRUE(Contains(line, "service=\"")) << line;
    EXPECT_TRUE(Contains(line, "probe=\"")) << line;
    if (Contains(line, "service=\"web\"")) {
      // The static labels of the service, on every series of its probes.
      EXPECT_TRUE(Contains(line, "team=\"platform\"")) << line;
      EXPECT_TRUE(Contains(line, "cluster_id=\"<script>alert(1)</script>\"")) << line;
    } else {
      EXPECT_TRUE(Contains(line, "service=\"idle\"")) << line;
      EXPECT_FALSE(Contains(line, "team=")) << line;
    }
  }
  EXPECT_GT(probe_samples, 20);
  // Labels come first in a fixed order: service, probe, static labels.
  EXPECT_TRUE(Contains(m, "triage_probe_success{service=\"web\",probe=\"health\",team=\"platform\","
                          "cluster_id=\"<script>alert(1)</script>\"} "));
}

TEST_F(WebEndpointsTest, HealthReadyAndUnknownPaths) {
  HttpReply r = env_->Get("/-/healthy");
  EXPECT_EQ(r.status, 200) << r.error;
  r = env_->Get("/-/ready");
  EXPECT_EQ(r.status, 200) << r.error;
  for (const char* path : {"/nope", "/metrics/extra", "/probe/x", "/-/unknown", "/index.html"}) {
    r = env_->Get(path);
    EXPECT_EQ(r.status, 404) << path << " " << r.error;
  }
}

// Sends `request` on a fresh connection and returns every byte until the
// server closes it.
std::string RawExchange(int port, const std::string& request) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
    char buf[4096];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

TEST_F(WebEndpointsTest, HeadAnswersHeadersWithoutABody) {
  const std::string reply = RawExchange(
      env_->app().port(), "HEAD /-/healthy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  ASSERT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
  EXPECT_NE(reply.find("Content-Length: 28\r\n"), std::string::npos) << reply;
  const auto end = reply.find("\r\n\r\n");
  ASSERT_NE(end, std::string::npos) << reply;
  EXPECT_EQ(reply.size(), end + 4) << "HEAD reply carried a body:\n" << reply;
}

TEST_F(WebEndpointsTest, WrongMethodsAre405) {
  HttpReply r = env_->Get("/-/reload");
  EXPECT_EQ(r.status, 405) << r.error;
  r = HttpPost(env_->Url("/metrics"));
  EXPECT_EQ(r.status, 405) << r.error;
  r = HttpPost(env_->Url("/-/healthy"));
  EXPECT_EQ(r.status, 405) << r.error;
  r = HttpPost(env_->Url("/probe?service=idle&probe=api"));
  EXPECT_EQ(r.status, 405) << r.error;
  r = HttpPost(env_->Url("/"));
  EXPECT_EQ(r.status, 405) << r.error;
  // A refused GET on /-/reload changed nothing.
  EXPECT_EQ(SampleValue(env_->Metrics(), "triage_exporter_config_reloads_failed_total"), 0.0);
}

TEST_F(WebEndpointsTest, LandingPageListsProbesAndLinksToProbe) {
  const HttpReply r = env_->Get("/");
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  for (const auto& [service, probe] : std::vector<std::pair<std::string, std::string>>{
           {"web", "health"}, {"web", "api"}, {"web", "xss"}, {"idle", "api"}, {"idle", "raw"}}) {
    EXPECT_TRUE(Contains(r.body, "<td>" + service + "</td><td>" + probe + "</td>"))
        << service << "/" << probe;
    EXPECT_TRUE(Contains(r.body, "href=\"/probe?service=" + service + "&amp;probe=" + probe + "\""))
        << service << "/" << probe;
    EXPECT_TRUE(Contains(r.body, "href=\"/probe?service=" + service + "&amp;probe=" + probe +
                                     "&amp;debug=true\""))
        << service << "/" << probe;
  }
  EXPECT_TRUE(Contains(r.body, "Probes (5)"));
  EXPECT_TRUE(Contains(r.body, "href=\"/metrics\""));
}

TEST_F(WebEndpointsTest, NoPageServesConfiguredHtmlUnescaped) {
  // The label value and the URL of probe xss both hold <script>. Whatever
  // the landing page shows of them must be escaped.
  const HttpReply landing = env_->Get("/");
  ASSERT_EQ(landing.status, 200) << landing.error;
  EXPECT_FALSE(Contains(landing.body, "<script")) << landing.body;
  EXPECT_FALSE(Contains(landing.body, "alert(")) << "unexpected raw configuration text";

  // Text that goes back as-is is served as text/plain, never as HTML.
  const HttpReply debug = env_->Get("/probe?service=web&probe=xss&debug=true");
  ASSERT_EQ(debug.status, 200) << debug.error;
  EXPECT_EQ(debug.content_type, "text/plain; charset=utf-8");
  const HttpReply echoed = env_->Get("/probe?service=%3Cscript%3Ealert(3)%3C/script%3E&probe=x");
  EXPECT_EQ(echoed.status, 400);
  EXPECT_EQ(echoed.content_type, "text/plain; charset=utf-8");
  const HttpReply probe = env_->Get("/probe?service=web&probe=xss");
  ASSERT_EQ(probe.status, 200) << probe.error;
  EXPECT_EQ(probe.content_type, kMetricsType);
}

TEST_F(WebEndpointsTest, ProbeEndpointRendersOnlyThatProbe) {
  const HttpReply r = env_->Get("/probe?service=web&probe=health");
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.content_type, kMetricsType);
  EXPECT_EQ(CheckFamilyGrouping(r.body), "") << r.body;
  int samples = 0;
  for (const auto& line : Lines(r.body)) {
    if (line.empty() || line[0] == '#') continue;
    ++samples;
    EXPECT_TRUE(Contains(line, "{service=\"web\",probe=\"health\",")) << line;
  }
  EXPECT_GT(samples, 5);
  EXPECT_FALSE(Contains(r.body, "triage_exporter_"));
  EXPECT_FALSE(Contains(r.body, "process_"));
  // A run of its own, with fresh counters: exactly one run is counted.
  EXPECT_EQ(Runs(r.body, "web", "health"), 1.0) << r.body;
}

TEST_F(WebEndpointsTest, ProbeEndpointRunsTheProbeNow) {
  const double before = SimApiRequests(env_->idle_port());
  const HttpReply r = env_->Get("/probe?service=idle&probe=api");
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(SampleValue(r.body, "triage_probe_success", {"service=\"idle\"", "probe=\"api\""}), 1.0)
      << r.body;
  EXPECT_EQ(SampleValue(r.body, "triage_http_responses_total",
                        {"service=\"idle\"", "probe=\"api\"", "code=\"200\""}),
            1.0)
      << r.body;
  EXPECT_EQ(SimApiRequests(env_->idle_port()), before + 1);
}

TEST_F(WebEndpointsTest, ProbeEndpointNeedsBothParameters) {
  for (const char* path : {"/probe", "/probe?service=web", "/probe?probe=health",
                           "/probe?service=&probe=health", "/probe?service=web&probe="}) {
    const HttpReply r = env_->Get(path);
    EXPECT_EQ(r.status, 400) << path << " " << r.error;
    EXPECT_EQ(r.content_type, "text/plain; charset=utf-8") << path;
  }
}

TEST_F(WebEndpointsTest, UnknownProbeIs400AndFetchesNothing) {
  // Precondition: the scheduled runs of the idle service are far away, so
  // any request the idle simulator or the raw server sees during this test
  // comes from /probe.
  const auto cfg = env_->app().config();
  int idle_probes = 0;
  for (const auto& spec : cfg->probes) {
    if (spec->common().service == "idle") {
      ++idle_probes;
      ASSERT_GT(Scheduler::SpreadOffset(spec->common()), std::chrono::minutes(10))
          << spec->common().name;
    }
  }
  ASSERT_EQ(idle_probes, 2);
  RawServer& raw = env_->raw();
  const std::string idle_url =
      "http%3A%2F%2F127.0.0.1%3A" + std::to_string(env_->idle_port()) + "%2Fapi%2Fv2%2Fwhoami";
  const std::string raw_url = "http%3A%2F%2F127.0.0.1%3A" + std::to_string(raw.port()) + "%2Fraw";
  const double requests_before = SimApiRequests(env_->idle_port());
  const int connections_before = raw.connections();
  const std::vector<std::string> paths = {
      "/probe?service=idle&probe=nope",
      "/probe?service=nope&probe=api",
      "/probe?service=nope&probe=raw",
      "/probe?service=idle&probe=nope&target=" + idle_url,
      "/probe?service=idle&probe=nope&url=" + idle_url + "&debug=true",
      "/probe?service=idle&probe=" + raw_url,
      "/probe?service=" + raw_url + "&probe=raw&debug=true"};
  for (const auto& path : paths) {
    const HttpReply r = env_->Get(path);
    EXPECT_EQ(r.status, 400) << path << " " << r.error;
    EXPECT_TRUE(Contains(r.body, "no configured probe")) << r.body;
  }
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(SimApiRequests(env_->idle_port()), requests_before);
  EXPECT_EQ(raw.connections(), connections_before);

  // Both counters do see a real run (the controls for the checks above).
  HttpReply ok = env_->Get("/probe?service=idle&probe=api");
  EXPECT_EQ(ok.status, 200) << ok.error;
  EXPECT_EQ(SimApiRequests(env_->idle_port()), requests_before + 1);
  ok = env_->Get("/probe?service=idle&probe=raw");
  EXPECT_EQ(ok.status, 200) << ok.error;
  EXPECT_EQ(SampleValue(ok.body, "triage_probe_success", {"probe=\"raw\""}), 1.0) << ok.body;
  EXPECT_EQ(raw.connections(), connections_before + 1);
}

TEST_F(WebEndpointsTest, ProbeDebugShowsLogAndMetrics) {
  const HttpReply r = env_->Get("/probe?service=idle&probe=api&debug=true");
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.content_type, "text/plain; charset=utf-8");
  const std::string& b = r.body;
  const auto logs = b.find("Logs for the probe:");
  const auto metrics = b.find("Metrics that would have been returned:");
  ASSERT_NE(logs, std::string::npos) << b;
  ASSERT_NE(metrics, std::string::npos) << b;
  EXPECT_LT(logs, metrics);
  const std::string log_part = b.substr(logs, metrics - logs);
  EXPECT_TRUE(Contains(log_part, "GET http://127.0.0.1:" + std::to_string(env_->idle_port()) +
                                     "/api/v2/whoami"))
      << log_part;
  EXPECT_TRUE(Contains(log_part, "> GET /api/v2/whoami HTTP/1.1")) << log_part;
  EXPECT_TRUE(Contains(log_part, "< HTTP/1.1 200")) << log_part;
  EXPECT_TRUE(Contains(log_part, "status 200 (valid)")) << log_part;
  EXPECT_TRUE(Contains(log_part, "probe succeeded")) << log_part;
  const std::string metric_part = b.substr(metrics);
  EXPECT_TRUE(Contains(metric_part, "# TYPE triage_probe_success gauge")) << metric_part;
  EXPECT_EQ(SampleValue(metric_part, "triage_probe_success", {"service=\"idle\"", "probe=\"api\""}),
            1.0);
  // debug=1 is accepted too; any other value means no debug output.
  EXPECT_TRUE(Contains(env_->Get("/probe?service=idle&probe=api&debug=1").body, "Logs for the probe:"));
  const HttpReply plain = env_->Get("/probe?service=idle&probe=api&debug=false");
  EXPECT_EQ(plain.content_type, kMetricsType);
  EXPECT_FALSE(Contains(plain.body, "Logs for the probe:"));
}

// ---------------------------------------------------------------------------
// Secrets: the canary must not come out of any endpoint or log.

std::string SecretConfig(int sim_port, const std::string& extra = "") {
  const std::string sim = "http://127.0.0.1:" + std::to_string(sim_port);
  return "global:\n"
         "  interval: 200ms\n"
         "  timeout: 200ms\n"
         "services:\n"
         "  - name: vault\n"
         "    labels: {team: security}\n"
         "    probes:\n"
         "      - name: api\n"
         "        kind: http\n"
         "        layer: traffic\n"
         "        url: " + sim + "/api/v2/whoami\n"
         "        authorization: {type: Bearer, credentials_file: token.txt}\n"
         "        valid_status_codes: [200]\n"
         "        error_code_pointer: /code\n"
         "      - name: metrics\n"
         "        kind: http\n"
         "        layer: telemetry\n"
         "        url: " + sim + "/metrics\n"
         "        authorization: {credentials_file: token.txt}\n"
         "      - name: basic\n"
         "        kind: http\n"
         "        layer: liveness\n"
         "        url: " + sim + "/health\n"
         "        basic_auth: {username: triage, password_file: password.txt}\n" +
         extra;
}

TEST(WebSecretsTest, CanaryAppearsInNoOutputOrLog) {
  LogLevelGuard level("debug");
  LogCapture capture;
  Env env(kCanary);
  env.dir().Write("token.txt", std::string(kCanary) + "\n");
  env.dir().Write("password.txt", kCanary);
  env.Start(SecretConfig(env.sim_port()));

  std::vector<std::pair<std::string, std::string>> outputs;  // what, text
  // A few cycles, with the token accepted by the simulator.
  std::string m = env.WaitMetrics([](const std::string& t) {
    return Successes(t, "vault", "api") >= 3 && Successes(t, "vault", "metrics") >= 3 &&
           Runs(t, "vault", "basic") >= 3;
  });
  EXPECT_GE(Successes(m, "vault", "api"), 3) << m;
  EXPECT_GE(SampleValue(m, "triage_http_responses_total",
                        {"probe=\"api\"", "code=\"200\""}).value_or(0), 1);
  outputs.emplace_back("/metrics", m);
  outputs.emplace_back("/", env.Get("/").body);
  for (const char* probe : {"api", "metrics", "basic"}) {
    const std::string q = std::string("/probe?service=vault&probe=") + probe;
    const HttpReply plain = env.Get(q);
    EXPECT_EQ(plain.status, 200) << q << " " << plain.error;
    outputs.emplace_back(q, plain.body);
    const HttpReply debug = env.Get(q + "&debug=true");
    EXPECT_EQ(debug.status, 200) << q << " " << debug.error;
    // The credentials were sent, and the log shows them redacted.
    EXPECT_TRUE(Contains(debug.body, "> Authorization: <secret>")) << debug.body;
    outputs.emplace_back(q + "&debug=true", debug.body);
  }
  EXPECT_TRUE(Contains(outputs.back().second, "status 200")) << outputs.back().second;

  // A broken reload whose error comes after both secrets were read, then a
  // syntax error, then a good one.
  const std::string both_auth =
      "        authorization: {credentials_file: token.txt}\n";  // added to probe basic
  env.WriteConfig(SecretConfig(env.sim_port(), both_auth));
  HttpReply bad = env.Reload();
  EXPECT_EQ(bad.status, 500) << bad.body;
  EXPECT_TRUE(Contains(bad.body, "mutually exclusive")) << bad.body;
  outputs.emplace_back("reload error (auth)", bad.body);
  env.WriteConfig(SecretConfig(env.sim_port()) + "  - name: [unclosed\n");
  bad = env.Reload();
  EXPECT_EQ(bad.status, 500) << bad.body;
  outputs.emplace_back("reload error (syntax)", bad.body);
  env.WriteConfig(SecretConfig(env.sim_port()));
  const HttpReply good = env.Reload();
  EXPECT_EQ(good.status, 200) << good.body;
  outputs.emplace_back("reload ok", good.body);

  const double runs = Runs(env.Metrics(), "vault", "api");
  m = env.WaitMetrics([&](const std::string& t) { return Runs(t, "vault", "api") >= runs + 3; });
  outputs.emplace_back("/metrics after reload", m);
  outputs.emplace_back("/probe debug after reload",
                       env.Get("/probe?service=vault&probe=api&debug=true").body);
  outputs.emplace_back("/ after reload", env.Get("/").body);

  const std::string logs = capture.Text();
  EXPECT_TRUE(Contains(logs, "config reload failed")) << logs;
  EXPECT_TRUE(Contains(logs, "config reloaded")) << logs;
  outputs.emplace_back("logs", logs);

  for (const auto& [what, text] : outputs) {
    EXPECT_FALSE(text.empty()) << what;
    EXPECT_FALSE(Contains(text, kCanary)) << "the secret leaked into " << what << ":\n" << text;
    // Not even a part of it.
    EXPECT_FALSE(Contains(text, "SECRET-7d1e")) << what;
  }
}

// ---------------------------------------------------------------------------
// Reload through POST /-/reload.

TEST(WebReloadTest, GoodReloadAddsProbeKeepsCountersAndMovesTimestamp) {
  Env env;
  env.Start(BaseConfig(env));
  std::string m = env.WaitMetrics([](const std::string& t) { return Runs(t, "web", "health") >= 3; });
  const double ts0 =
      SampleValue(m, "triage_exporter_config_last_reload_success_timestamp_seconds").value_or(0);
  EXPECT_GT(ts0, 1.6e9);
  // The exposition shows the timestamp to the second at least: let time move.
  std::this_thread::sleep_for(milliseconds(1100));

  const std::string extra =
      "      - name: added\n"
      "        kind: http\n"
      "        layer: liveness\n"
      "        url: http://127.0.0.1:" + std::to_string(env.sim_port()) + "/health\n";
  env.WriteConfig(BaseConfig(env, extra));
  const double before = Runs(env.Metrics(), "web", "health");
  const HttpReply r = env.Reload();
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(Contains(r.body, "reloaded")) << r.body;

  m = env.Metrics();
  EXPECT_EQ(SampleValue(m, "triage_exporter_config_last_reload_successful"), 1.0);
  EXPECT_GT(SampleValue(m, "triage_exporter_config_last_reload_success_timestamp_seconds").value_or(0),
            ts0);
  // The scheduler applies the new probe set on its own thread, so the reply
  // may come a moment before the table changes. Once it has changed (the
  // table is replaced before shard_probes is set), the unchanged probe still
  // shows at least its old counts: it was not reset to zero...
  m = env.WaitMetrics([](const std::string& t) {
    return SampleValue(t, "triage_exporter_shard_probes") == 6.0;
  });
  ASSERT_EQ(SampleValue(m, "triage_exporter_shard_probes"), 6.0);
  EXPECT_EQ(SampleValue(m, "triage_exporter_probes_configured"), 6.0);
  EXPECT_GE(Runs(m, "web", "health"), before) << m;
  // ...the new probe shows up, and the old counters keep growing from there.
  m = env.WaitMetrics([&](const std::string& t) {
    return Runs(t, "web", "added") >= 1 && Runs(t, "web", "health") >= before + 2;
  });
  EXPECT_GE(Runs(m, "web", "added"), 1) << m;
  EXPECT_LT(Runs(m, "web", "added"), Runs(m, "web", "health"))
      << "the new probe must start from zero, the old one from its previous count";
  EXPECT_TRUE(Contains(m, "triage_probe_success{service=\"web\",probe=\"added\",team=\"platform\""));
  EXPECT_TRUE(Contains(env.Get("/").body, "<td>web</td><td>added</td>"));
  EXPECT_EQ(env.Get("/probe?service=web&probe=added").status, 200);
}

TEST(WebReloadTest, FailedReloadKeepsRunningConfigUntilFixed) {
  Env env;
  const std::string good = BaseConfig(env);
  env.Start(good);
  std::string m = env.WaitMetrics([](const std::string& t) { return Runs(t, "web", "health") >= 2; });
  const double ts0 =
      SampleValue(m, "triage_exporter_config_last_reload_success_timestamp_seconds").value_or(0);
  const auto config_before = env.app().config();

  // 1. A YAML syntax error.
  const std::string syntax = good + "  - name: broken\n    probes: [unclosed\n";
  env.WriteConfig(syntax);
  HttpReply r = env.Reload();
  EXPECT_EQ(r.status, 500) << r.body;
  EXPECT_TRUE(Contains(r.body, "running configuration is kept")) << r.body;
  {
    // "FILE:LINE:COL: invalid YAML ..."
    const auto at = r.body.find(env.config_path() + ":");
    ASSERT_NE(at, std::string::npos) << r.body;
    const std::string rest = r.body.substr(at + env.config_path().size());
    EXPECT_TRUE(std::regex_search(rest, std::regex(R"(^:\d+:\d+: invalid YAML)"))) << r.body;
  }
  m = env.Metrics();
  EXPECT_EQ(SampleValue(m, "triage_exporter_config_last_reload_successful"), 0.0);
  EXPECT_EQ(SampleValue(m, "triage_exporter_config_reloads_failed_total"), 1.0);
  EXPECT_EQ(SampleValue(m, "triage_exporter_config_last_reload_success_timestamp_seconds"), ts0);
  EXPECT_EQ(env.app().config(), config_before);

  // The old probes keep running.
  double runs = Runs(m, "web", "health");
  m = env.WaitMetrics([&](const std::string& t) { return Runs(t, "web", "health") >= runs + 2; });
  EXPECT_GE(Runs(m, "web", "health"), runs + 2);
  EXPECT_EQ(SampleValue(m, "triage_exporter_config_last_reload_successful"), 0.0);

  // 2. An unknown key, reported at its exact line and column.
  std::string unknown = good;
  const std::string anchor = "        valid_status_codes: [200]\n";
  unknown.insert(unknown.find(anchor), "        bogus_key: 1\n");
  env.WriteConfig(unknown);
  r = env.Reload();
  EXPECT_EQ(r.status, 500) << r.body;
  const std::string where = PositionOf(env.config_path(), unknown, "bogus_key");
  EXPECT_TRUE(Contains(r.body, where + ": unknown key \"bogus_key\"")) << where << "\n" << r.body;
  m = env.Metrics();
  EXPECT_EQ(SampleValue(m, "triage_exporter_config_last_reload_successful"), 0.0);
  EXPECT_EQ(SampleValue(m, "triage_exporter_config_reloads_failed_total"), 2.0);
  runs = Runs(m, "web", "api");
  m = env.WaitMetrics([&](const std::string& t) { return Runs(t, "web", "api") >= runs + 2; });
  EXPECT_GE(Runs(m, "web", "api"), runs + 2);
  EXPECT_EQ(Runs(m, "web", "broken"), 0.0);

  // 3. Fixed: back to 1, with a newer timestamp.
  std::this_thread::sleep_for(milliseconds(1100));
  env.WriteConfig(good);
  r = env.Reload();
  EXPECT_EQ(r.status, 200) << r.body;
  m = env.Metrics();
  EXPECT_EQ(SampleValue(m, "triage_exporter_config_last_reload_successful"), 1.0);
  EXPECT_GT(SampleValue(m, "triage_exporter_config_last_reload_success_timestamp_seconds").value_or(0),
            ts0);
  EXPECT_EQ(SampleValue(m, "triage_exporter_config_reloads_failed_total"), 2.0);
  EXPECT_NE(env.app().config(), config_before);
}

// ---------------------------------------------------------------------------
// App lifecycle.

TEST(AppWebTest, StartFailsOnBadConfigAndBadAddress) {
  TempDir dir;
  const std::string bad = dir.Write("bad.yaml", "services: [\n");
  {
    App app(AppOptions{bad, "127.0.0.1:0"});
    EXPECT_THROW(app.Start(), ConfigError);
  }
  const std::string good = dir.Write(
      "good.yaml",
      "services:\n  - name: s\n    probes:\n      - {name: p, kind: http, layer: liveness, "
      "interval: 1h, url: \"http://127.0.0.1:9/\"}\n");
  {
    App app(AppOptions{good, "no-port-here"});
    EXPECT_THROW(app.Start(), std::runtime_error);
  }
  App first(AppOptions{good, "127.0.0.1:0"});
  first.Start();
  ASSERT_GT(first.port(), 0);
  EXPECT_TRUE(first.ready());
  {
    App second(AppOptions{good, "127.0.0.1:" + std::to_string(first.port())});
    EXPECT_THROW(second.Start(), std::runtime_error);
  }
  // The first one still serves.
  EXPECT_EQ(HttpGet("http://127.0.0.1:" + std::to_string(first.port()) + "/-/healthy").status, 200);
  first.Stop();
  EXPECT_FALSE(first.ready());
}

TEST(AppWebTest, ReloadReportsErrorAndKeepsConfig) {
  TempDir dir;
  const std::string text =
      "services:\n  - name: s\n    probes:\n      - {name: p, kind: http, layer: liveness, "
      "interval: 1h, url: \"http://127.0.0.1:9/\"}\n";
  const std::string path = dir.Write("c.yaml", text);
  App app(AppOptions{path, "127.0.0.1:0"});
  app.Start();
  const auto before = app.config();
  dir.Write("c.yaml", "services: 3\n");
  std::string err;
  EXPECT_FALSE(app.Reload(&err));
  EXPECT_TRUE(Contains(err, path + ":1:")) << err;
  EXPECT_EQ(app.config(), before);
  EXPECT_EQ(SampleValue(app.RenderMetrics(), "triage_exporter_config_last_reload_successful"), 0.0);
  dir.Write("c.yaml", text);
  err.clear();
  EXPECT_TRUE(app.Reload(&err)) << err;
  EXPECT_EQ(err, "");
  EXPECT_EQ(SampleValue(app.RenderMetrics(), "triage_exporter_config_last_reload_successful"), 1.0);
}

// ---------------------------------------------------------------------------
// Pure functions.

TEST(WebToCivetListenTest, TranslatesExporterAddresses) {
  std::string out;
  EXPECT_TRUE(ToCivetListen(":9479", &out));
  EXPECT_EQ(out, "9479");
  EXPECT_TRUE(ToCivetListen("127.0.0.1:0", &out));
  EXPECT_EQ(out, "127.0.0.1:0");
  EXPECT_TRUE(ToCivetListen("0.0.0.0:9479", &out));
  EXPECT_EQ(out, "0.0.0.0:9479");
  EXPECT_TRUE(ToCivetListen("[::1]:9479", &out));
  EXPECT_EQ(out, "[::1]:9479");
  EXPECT_TRUE(ToCivetListen("[::]:9479", &out));
  EXPECT_EQ(out, "+9479");
  EXPECT_TRUE(ToCivetListen(":65535", &out));
  EXPECT_EQ(out, "65535");
}

TEST(WebToCivetListenTest, RejectsMalformedAddresses) {
  for (const char* bad : {"", "9479", ":", "127.0.0.1:", ":http", ":-1", ":65536", ":123456",
                          ":99999", "[::1:9479", "127.0.0.1:94 79", ":+80", "::1:9479"}) {
    std::string out = "unchanged";
    EXPECT_FALSE(ToCivetListen(bad, &out)) << "\"" << bad << "\" -> " << out;
  }
}

TEST(WebHtmlEscapeTest, EscapesMarkupAndQuotes) {
  EXPECT_EQ(HtmlEscape(""), "");
  EXPECT_EQ(HtmlEscape("plain text-1_2.3"), "plain text-1_2.3");
  EXPECT_EQ(HtmlEscape("<script>alert('x')</script>"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
  EXPECT_EQ(HtmlEscape("a&b \"c\" <d>"), "a&amp;b &quot;c&quot; &lt;d&gt;");
  // Already escaped text is escaped again (no double-decoding shortcuts).
  EXPECT_EQ(HtmlEscape("&amp;"), "&amp;amp;");
  // Bytes outside ASCII pass through unchanged.
  EXPECT_EQ(HtmlEscape("caf\xc3\xa9 \xe2\x9c\x93"), "caf\xc3\xa9 \xe2\x9c\x93");
  EXPECT_EQ(HtmlEscape(std::string_view("a\0b", 3)), std::string("a\0b", 3));
}

}  // namespace
}  // namespace triage

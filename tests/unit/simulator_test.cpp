// Tests for the Echo simulator (tools/simulator), driven over real HTTP on
// 127.0.0.1 with libcurl.
#include "tools/simulator/simulator.h"

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

namespace triage::sim {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

struct HttpResult {
  CURLcode rc = CURLE_OK;
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased

  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
  json Json() const { return json::parse(body); }
};

size_t CollectBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

size_t CollectHeader(char* data, size_t size, size_t n, void* out) {
  std::string line(data, size * n);
  const size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string value = line.substr(colon + 1);
    const size_t first = value.find_first_not_of(" \t");
    const size_t last = value.find_last_not_of(" \t\r\n");
    value = first == std::string::npos ? "" : value.substr(first, last - first + 1);
    (*static_cast<std::map<std::string, std::string>*>(out))[name] = value;
  }
  return size * n;
}

struct Request {
  Request(std::string m, std::string p, std::string t = "", long timeout = 3000)
      : method(std::move(m)), path(std::move(p)), token(std::move(t)), timeout_ms(timeout) {}
  std::string method;
  std::string path;
  std::string token;  // sent as a bearer when non-empty
  long timeout_ms;
};

HttpResult Fetch(int port, const Request& req) {
  HttpResult result;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    result.rc = CURLE_FAILED_INIT;
    return result;
  }
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + req.path;
  curl_slist* headers = nullptr;
  const std::string auth = "Authorization: Bearer " + req.token;
  if (!req.token.empty()) headers = curl_slist_append(headers, auth.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, req.timeout_ms);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &CollectBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &result.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &CollectHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &result.headers);
  result.rc = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return result;
}

HttpResult Get(int port, const std::string& path, const std::string& token = "") {
  return Fetch(port, Request{"GET", path, token});
}

// True when `s` is exactly 16 lowercase hex digits.
bool IsHex16(const std::string& s) {
  return s.size() == 16 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// Writes `text` to a fresh file under the test temp dir and returns its path.
std::string WriteTempFile(const std::string& name, const std::string& text) {
  const std::string path = testing::TempDir() + "simulator_test_" + name;
  std::ofstream(path) << text;
  return path;
}

class SimulatorTest : public testing::Test {
 protected:
  void StartWith(SimulatorOptions options) {
    sim_ = std::make_unique<Simulator>(std::move(options));
    sim_->Start();
    port_ = sim_->port();
  }
  void SetUp() override { StartWith({}); }

  std::unique_ptr<Simulator> sim_;
  int port_ = 0;
};

TEST_F(SimulatorTest, BindsAnEphemeralPort) {
  EXPECT_GT(port_, 0);
  EXPECT_EQ(sim_->mode(), "ok");
}

TEST_F(SimulatorTest, HealthReadyAndUnknownPaths) {
  HttpResult r = Get(port_, "/health");
  ASSERT_EQ(r.rc, CURLE_OK);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Json()["status"], "ok");
  EXPECT_EQ(r.Header("content-type"), "application/json");
  EXPECT_EQ(r.Header("content-length"), std::to_string(r.body.size()));

  r = Get(port_, "/ready");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Json()["status"], "ready");

  r = Get(port_, "/nothing/here");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.Json()["error"], "not found");
}

TEST_F(SimulatorTest, ReadyDrainsWhenShuttingDown) {
  ASSERT_TRUE(sim_->SetMode("shutting_down"));
  HttpResult r = Get(port_, "/ready");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.Json()["status"], "draining");
  EXPECT_EQ(Get(port_, "/health").status, 200);
}

TEST_F(SimulatorTest, DateHeaderIsImfFixdate) {
  const HttpResult r = Get(port_, "/health");
  const std::string date = r.Header("date");
  // "Sun, 06 Nov 1994 08:49:37 GMT": fixed length, fixed separators, and it
  // parses back with the same layout.
  ASSERT_EQ(date.size(), 29u) << date;
  EXPECT_EQ(date.substr(3, 2), ", ") << date;
  EXPECT_EQ(date.substr(25), " GMT") << date;
  std::tm tm{};
  const char* end = strptime(date.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  ASSERT_NE(end, nullptr) << date;
  EXPECT_EQ(*end, '\0') << date;
  const std::time_t served = timegm(&tm);
  EXPECT_NEAR(static_cast<double>(served - std::time(nullptr)), 0.0, 5.0);
}

TEST(SimulatorDate, OffsetShiftsDateHeader) {
  SimulatorOptions options;
  options.date_offset_seconds = 3600;
  Simulator sim(options);
  sim.Start();
  const HttpResult r = Get(sim.port(), "/health");
  std::tm tm{};
  ASSERT_NE(strptime(r.Header("date").c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm), nullptr)
      << r.Header("date");
  const std::time_t served = timegm(&tm);
  const std::time_t now = std::time(nullptr);
  EXPECT_NEAR(static_cast<double>(served - now), 3600.0, 5.0);
}

TEST_F(SimulatorTest, OkModeAnswersWhoami) {
  const HttpResult r = Get(port_, "/api/v2/whoami");
  ASSERT_EQ(r.status, 200);
  const json body = r.Json();
  EXPECT_EQ(body["subject"], "demo");
  EXPECT_EQ(body["allowed_clusters"], json::array({"prod-eu-1"}));
  EXPECT_EQ(Get(port_, "/api/v2/anything/else").Json()["status"], "ok");
}

struct ModeCase {
  std::string mode;
  long status;
  std::string code;
  std::string retry_after;  // empty: header must be absent
};

TEST_F(SimulatorTest, EachModeAnswersWithItsStatusAndCode) {
  const ModeCase cases[] = {
      {"unauthorized", 401, "unauthorized", ""},
      {"forbidden", 403, "tenant_scoped_bearer_refused", ""},
      {"gone", 410, "gone", ""},
      {"rate_limited", 429, "rate_limited", "1"},
      {"backend_failure", 500, "tool_backend_failure", ""},
      {"shutting_down", 503, "shutting_down", "5"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.mode);
    ASSERT_TRUE(sim_->SetMode(c.mode));
    const HttpResult r = Get(port_, "/api/v2/fleet/summary");
    ASSERT_EQ(r.rc, CURLE_OK);
    EXPECT_EQ(r.status, c.status);
    EXPECT_EQ(r.Header("content-type"), "application/json");
    const json body = r.Json();
    EXPECT_EQ(body["code"], c.code);
    EXPECT_TRUE(body["error"].is_string());
    EXPECT_EQ(r.Header("retry-after"), c.retry_after);
  }
}

TEST_F(SimulatorTest, GoneModeUsesTheRemovalBody) {
  ASSERT_TRUE(sim_->SetMode("gone"));
  const json body = Get(port_, "/api/v2/x").Json();
  EXPECT_EQ(body["removed_version"], "v1");
  EXPECT_EQ(body["preferred"], "v2");
  EXPECT_TRUE(body["docs"].is_string());
}

TEST(SimulatorRetryAfter, ConfiguredValueIsSent) {
  SimulatorOptions options;
  options.retry_after_429 = 7;
  Simulator sim(options);
  sim.Start();
  ASSERT_TRUE(sim.SetMode("rate_limited"));
  const HttpResult r = Get(sim.port(), "/api/v2/x");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.Header("retry-after"), "7");
}

TEST_F(SimulatorTest, BackendFailureHasScrubbedBodyWithFreshRequestId) {
  ASSERT_TRUE(sim_->SetMode("backend_failure"));
  const json a = Get(port_, "/api/v2/tools/call").Json();
  const json b = Get(port_, "/api/v2/tools/call").Json();
  EXPECT_EQ(a["error"], "tool backend failure");
  EXPECT_EQ(a["tool"], "fleet.cluster.summary");
  EXPECT_TRUE(IsHex16(a["req_id"].get<std::string>())) << a.dump();
  EXPECT_TRUE(IsHex16(b["req_id"].get<std::string>())) << b.dump();
  EXPECT_NE(a["req_id"], b["req_id"]);
}

TEST_F(SimulatorTest, GarbageModeIsNotJson) {
  ASSERT_TRUE(sim_->SetMode("garbage"));
  const HttpResult r = Get(port_, "/api/v2/x");
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.Header("content-type").find("text/html"), std::string::npos);
  EXPECT_FALSE(json::accept(r.body));
  EXPECT_EQ(r.Header("content-length"), std::to_string(r.body.size()));
}

TEST_F(SimulatorTest, ApiV1IsAlwaysGone) {
  for (const std::string method : {"GET", "POST", "DELETE"}) {
    SCOPED_TRACE(method);
    const HttpResult r = Fetch(port_, Request{method, "/api/v1/x"});
    ASSERT_EQ(r.status, 410);
    const json body = r.Json();
    EXPECT_EQ(body["code"], "gone");
    EXPECT_EQ(body["removed_version"], "v1");
    EXPECT_EQ(body["preferred"], "v2");
    EXPECT_TRUE(body["docs"].is_string());
    EXPECT_TRUE(body["error"].is_string());
  }
  ASSERT_TRUE(sim_->SetMode("rate_limited"));
  EXPECT_EQ(Get(port_, "/api/v1/x").status, 410);
}

TEST(SimulatorToken, BearerRequiredForApiV2AndMetrics) {
  SimulatorOptions options;
  options.token = "s3cret";
  Simulator sim(options);
  sim.Start();
  const int port = sim.port();

  HttpResult r = Get(port, "/api/v2/whoami");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.Json()["code"], "unauthorized");
  EXPECT_EQ(Get(port, "/api/v2/whoami", "wrong").status, 401);
  EXPECT_EQ(Get(port, "/api/v2/whoami", "s3cret-and-more").status, 401);
  EXPECT_EQ(Get(port, "/api/v2/whoami", "s3cret").status, 200);

  // A bad bearer wins over every failure mode.
  ASSERT_TRUE(sim.SetMode("rate_limited"));
  EXPECT_EQ(Get(port, "/api/v2/whoami").status, 401);
  EXPECT_EQ(Get(port, "/api/v2/whoami", "s3cret").status, 429);

  EXPECT_EQ(Get(port, "/metrics").status, 401);
  EXPECT_EQ(Get(port, "/metrics", "s3cret").status, 200);
  // Health, v1 and admin do not need it.
  EXPECT_EQ(Get(port, "/health").status, 200);
  EXPECT_EQ(Get(port, "/api/v1/x").status, 410);
  EXPECT_EQ(Get(port, "/-/mode").status, 200);
}

TEST_F(SimulatorTest, AdminSwitchesModes) {
  HttpResult r = Get(port_, "/-/mode");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Json()["mode"], "ok");
  EXPECT_EQ(r.Json()["modes"].size(), Simulator::Modes().size());

  r = Fetch(port_, Request{"POST", "/-/mode?mode=forbidden"});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Json()["mode"], "forbidden");
  EXPECT_EQ(sim_->mode(), "forbidden");
  EXPECT_EQ(Get(port_, "/api/v2/x").status, 403);

  r = Fetch(port_, Request{"PUT", "/-/mode?mode=ok"});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Get(port_, "/api/v2/x").status, 200);

  EXPECT_EQ(Fetch(port_, Request{"DELETE", "/-/mode"}).status, 405);
}

TEST_F(SimulatorTest, AdminRejectsUnknownMode) {
  HttpResult r = Fetch(port_, Request{"POST", "/-/mode?mode=exploding"});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.Json()["error"], "unknown mode");
  EXPECT_EQ(r.Json()["modes"].size(), Simulator::Modes().size());
  EXPECT_EQ(Fetch(port_, Request{"POST", "/-/mode"}).status, 400);
  EXPECT_EQ(sim_->mode(), "ok");
  EXPECT_FALSE(sim_->SetMode("exploding"));
}

TEST_F(SimulatorTest, HangTimesOutClientsUntilModeChanges) {
  ASSERT_TRUE(sim_->SetMode("hang"));
  for (const std::string path : {"/api/v2/x", "/health", "/ready"}) {
    SCOPED_TRACE(path);
    const auto start = steady_clock::now();
    const HttpResult r = Fetch(port_, Request{"GET", path, "", 300});
    EXPECT_EQ(r.rc, CURLE_OPERATION_TIMEDOUT);
    EXPECT_LT(steady_clock::now() - start, milliseconds(2000));
  }
  // Admin still answers and releases the server.
  EXPECT_EQ(Get(port_, "/-/mode").Json()["mode"], "hang");
  EXPECT_EQ(Fetch(port_, Request{"POST", "/-/mode?mode=ok"}).status, 200);
  EXPECT_EQ(Get(port_, "/api/v2/x").status, 200);
}

TEST_F(SimulatorTest, LeavingHangClosesParkedRequestsWithoutAnswer) {
  ASSERT_TRUE(sim_->SetMode("hang"));
  HttpResult parked;
  std::thread client([&] { parked = Fetch(port_, Request{"GET", "/api/v2/x", "", 5000}); });
  std::this_thread::sleep_for(milliseconds(200));
  const auto start = steady_clock::now();
  ASSERT_TRUE(sim_->SetMode("ok"));
  client.join();
  EXPECT_LT(steady_clock::now() - start, milliseconds(2000));
  EXPECT_EQ(parked.rc, CURLE_GOT_NOTHING);
}

// A prober keeps calling a hung simulator long after its own timeouts: the
// admin route must still answer, however many requests were parked.
TEST(SimulatorHang, AdminAnswersAfterManyTimedOutRequests) {
  SimulatorOptions options;
  options.num_threads = 3;
  Simulator sim(options);
  sim.Start();
  ASSERT_TRUE(sim.SetMode("hang"));
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(Fetch(sim.port(), Request{"GET", "/health", "", 150}).rc, CURLE_OPERATION_TIMEDOUT) << i;
  }
  const auto start = steady_clock::now();
  const HttpResult mode = Fetch(sim.port(), Request{"GET", "/-/mode", "", 2000});
  EXPECT_EQ(mode.rc, CURLE_OK);
  EXPECT_EQ(mode.status, 200);
  EXPECT_EQ(Fetch(sim.port(), Request{"POST", "/-/mode?mode=ok", "", 2000}).status, 200);
  EXPECT_LT(steady_clock::now() - start, milliseconds(1500));
  EXPECT_EQ(Get(sim.port(), "/health").status, 200);
}

// With num_threads 3, two requests stay parked; a third lets the oldest go.
TEST(SimulatorHang, OldestParkedRequestIsLetGoWhenTheBoundIsReached) {
  SimulatorOptions options;
  options.num_threads = 3;
  Simulator sim(options);
  sim.Start();
  ASSERT_TRUE(sim.SetMode("hang"));
  const int port = sim.port();
  HttpResult first;
  HttpResult second;
  std::thread a([&] { first = Fetch(port, Request{"GET", "/api/v2/x", "", 4000}); });
  std::this_thread::sleep_for(milliseconds(200));
  std::thread b([&] { second = Fetch(port, Request{"GET", "/api/v2/x", "", 4000}); });
  std::this_thread::sleep_for(milliseconds(200));
  const auto start = steady_clock::now();
  // The third request parks in place of the first, which is closed unanswered.
  const HttpResult third = Fetch(port, Request{"GET", "/api/v2/x", "", 300});
  EXPECT_EQ(third.rc, CURLE_OPERATION_TIMEDOUT);
  a.join();
  EXPECT_LT(steady_clock::now() - start, milliseconds(2000));
  EXPECT_EQ(first.rc, CURLE_GOT_NOTHING);
  ASSERT_TRUE(sim.SetMode("ok"));  // releases the rest
  b.join();
  EXPECT_EQ(second.rc, CURLE_GOT_NOTHING);
}

TEST_F(SimulatorTest, StopReturnsPromptlyWhileRequestsHang) {
  ASSERT_TRUE(sim_->SetMode("hang"));
  std::vector<std::thread> clients;
  std::vector<HttpResult> results(3);
  for (auto& r : results) {
    clients.emplace_back([&r, this] { r = Fetch(port_, Request{"GET", "/api/v2/x", "", 5000}); });
  }
  std::this_thread::sleep_for(milliseconds(200));
  const auto start = steady_clock::now();
  sim_->Stop();
  EXPECT_LT(steady_clock::now() - start, milliseconds(1500));
  for (auto& t : clients) t.join();
  for (const auto& r : results) EXPECT_NE(r.rc, CURLE_OK);
  sim_->Stop();  // a second Stop is harmless
}

TEST(SimulatorLifecycle, DestructorReleasesHangingRequests) {
  HttpResult parked;
  std::thread client;
  const auto start = steady_clock::now();
  {
    Simulator sim(SimulatorOptions{});
    sim.Start();
    ASSERT_TRUE(sim.SetMode("hang"));
    const int port = sim.port();
    client = std::thread([&parked, port] { parked = Fetch(port, Request{"GET", "/health", "", 5000}); });
    std::this_thread::sleep_for(milliseconds(200));
  }
  client.join();
  EXPECT_LT(steady_clock::now() - start, milliseconds(2500));
  EXPECT_NE(parked.rc, CURLE_OK);
}

TEST(SimulatorLifecycle, StartFailsWhenPortIsTaken) {
  Simulator first(SimulatorOptions{});
  first.Start();
  SimulatorOptions options;
  options.listen_address = "127.0.0.1:" + std::to_string(first.port());
  Simulator second(options);
  EXPECT_THROW(second.Start(), std::runtime_error);
}

TEST(SimulatorLifecycle, RestartsAfterStop) {
  Simulator sim(SimulatorOptions{});
  sim.Start();
  sim.Stop();
  sim.Start();
  EXPECT_EQ(Get(sim.port(), "/health").status, 200);
}

// Reads one sample value from Prometheus text, or -1 when the series is absent.
double SampleValue(const std::string& text, const std::string& series) {
  const std::string prefix = series + " ";
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(pos, end - pos);
    if (line.rfind(prefix, 0) == 0) return std::stod(line.substr(prefix.size()));
    pos = end + 1;
  }
  return -1;
}

TEST_F(SimulatorTest, MetricsCountRequestsByRouteAndCode) {
  Get(port_, "/api/v2/whoami");
  Get(port_, "/api/v2/a/b/c");
  Get(port_, "/api/v1/old");
  ASSERT_TRUE(sim_->SetMode("rate_limited"));
  Get(port_, "/api/v2/whoami");
  Get(port_, "/health");  // not counted

  const HttpResult r = Get(port_, "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const std::string& text = r.body;
  EXPECT_NE(text.find("# HELP echo_http_requests_total "), std::string::npos);
  EXPECT_NE(text.find("# TYPE echo_http_requests_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE process_start_time_seconds gauge\n"), std::string::npos);
  EXPECT_EQ(SampleValue(text, R"(echo_http_requests_total{route="/api/v2",code="200"})"), 2);
  EXPECT_EQ(SampleValue(text, R"(echo_http_requests_total{route="/api/v2",code="429"})"), 1);
  EXPECT_EQ(SampleValue(text, R"(echo_http_requests_total{route="/api/v1",code="410"})"), 1);
  EXPECT_EQ(text.find("whoami"), std::string::npos) << "route label must be the prefix only";
  const double start = SampleValue(text, "process_start_time_seconds");
  const double now = static_cast<double>(std::time(nullptr));
  EXPECT_GT(start, now - 60);
  EXPECT_LE(start, now + 1);
}

TEST_F(SimulatorTest, ScenarioSwitchesModesAndStopEndsIt) {
  Scenario s;
  s.loop = false;
  s.steps = {{"gone", milliseconds(50)}, {"forbidden", milliseconds(60000)}};
  sim_->PlayScenario(s);
  const auto deadline = steady_clock::now() + milliseconds(3000);
  while (sim_->mode() != "forbidden" && steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_EQ(sim_->mode(), "forbidden");
  EXPECT_EQ(Get(port_, "/api/v2/x").status, 403);
  const auto start = steady_clock::now();
  sim_->Stop();  // must not wait for the 60 s step
  EXPECT_LT(steady_clock::now() - start, milliseconds(1500));
}

TEST_F(SimulatorTest, PlayScenarioRejectsBadInput) {
  EXPECT_THROW(sim_->PlayScenario(Scenario{{{"nope", milliseconds(10)}}, true}), std::invalid_argument);
  EXPECT_THROW(sim_->PlayScenario(Scenario{{{"ok", milliseconds(0)}}, true}), std::invalid_argument);
}

// ---- scenario files -------------------------------------------------------

TEST(ScenarioFile, LoadsValidFile) {
  const std::string path = WriteTempFile("valid.yaml",
                                         "loop: false\n"
                                         "steps:\n"
                                         "  - {mode: ok, duration: 5s}\n"
                                         "  - mode: rate_limited\n"
                                         "    duration: 1m30s\n"
                                         "  - {mode: hang, duration: 500ms}\n");
  const Scenario s = LoadScenarioFile(path);
  EXPECT_FALSE(s.loop);
  ASSERT_EQ(s.steps.size(), 3u);
  EXPECT_EQ(s.steps[0].mode, "ok");
  EXPECT_EQ(s.steps[0].duration, milliseconds(5000));
  EXPECT_EQ(s.steps[1].mode, "rate_limited");
  EXPECT_EQ(s.steps[1].duration, milliseconds(90000));
  EXPECT_EQ(s.steps[2].duration, milliseconds(500));
}

TEST(ScenarioFile, LoopDefaultsToTrue) {
  const std::string path = WriteTempFile("loop.yaml", "steps:\n  - {mode: ok, duration: 1s}\n");
  EXPECT_TRUE(LoadScenarioFile(path).loop);
}

// Returns the error message of LoadScenarioFile for `text`.
std::string LoadError(const std::string& name, const std::string& text, std::string* path_out) {
  const std::string path = WriteTempFile(name, text);
  *path_out = path;
  try {
    LoadScenarioFile(path);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST(ScenarioFile, UnknownModeNamesFileLineAndColumn) {
  std::string path;
  const std::string err = LoadError("badmode.yaml",
                                    "loop: true\n"
                                    "steps:\n"
                                    "  - {mode: ok, duration: 5s}\n"
                                    "  - {mode: explode, duration: 5s}\n",
                                    &path);
  EXPECT_EQ(err.rfind(path + ":4:12: ", 0), 0u) << err;
  EXPECT_NE(err.find("explode"), std::string::npos) << err;
}

TEST(ScenarioFile, UnknownKeysAreErrors) {
  std::string path;
  std::string err = LoadError("badkey.yaml",
                              "loop: true\n"
                              "repeat: 3\n"
                              "steps:\n"
                              "  - {mode: ok, duration: 5s}\n",
                              &path);
  EXPECT_EQ(err.rfind(path + ":2:1: ", 0), 0u) << err;
  EXPECT_NE(err.find("repeat"), std::string::npos) << err;

  err = LoadError("badstepkey.yaml",
                  "steps:\n"
                  "  - {mode: ok, duration: 5s, weight: 2}\n",
                  &path);
  EXPECT_EQ(err.rfind(path + ":2:30: ", 0), 0u) << err;
  EXPECT_NE(err.find("weight"), std::string::npos) << err;
}

TEST(ScenarioFile, OtherErrors) {
  std::string path;
  EXPECT_NE(LoadError("baddur.yaml", "steps:\n  - {mode: ok, duration: soon}\n", &path).find(":2:26: "),
            std::string::npos);
  EXPECT_NE(LoadError("zerodur.yaml", "steps:\n  - {mode: ok, duration: 0s}\n", &path).find("greater than zero"),
            std::string::npos);
  EXPECT_NE(LoadError("nosteps.yaml", "loop: true\n", &path).find("steps"), std::string::npos);
  EXPECT_NE(LoadError("emptysteps.yaml", "steps: []\n", &path).find("non-empty"), std::string::npos);
  EXPECT_NE(LoadError("noduration.yaml", "steps:\n  - {mode: ok}\n", &path).find("duration"),
            std::string::npos);
  EXPECT_NE(LoadError("badloop.yaml", "loop: maybe\nsteps:\n  - {mode: ok, duration: 1s}\n", &path)
                .find(":1:7: "),
            std::string::npos);
  const std::string syntax = LoadError("syntax.yaml", "steps: [\n", &path);
  EXPECT_EQ(syntax.rfind(path + ":", 0), 0u) << syntax;
  EXPECT_THROW(LoadScenarioFile(testing::TempDir() + "simulator_test_does_not_exist.yaml"),
               std::runtime_error);
}

#ifdef TRIAGE_SOURCE_DIR
TEST(ScenarioFile, DemoScenarioLoads) {
  const Scenario s = LoadScenarioFile(std::string(TRIAGE_SOURCE_DIR) + "/tools/simulator/scenarios/demo.yaml");
  EXPECT_TRUE(s.loop);
  ASSERT_FALSE(s.steps.empty());
  EXPECT_EQ(s.steps.front().mode, "ok");
  std::vector<std::string> modes;
  milliseconds total{0};
  for (const auto& step : s.steps) {
    modes.push_back(step.mode);
    total += step.duration;
  }
  for (const char* m : {"unauthorized", "rate_limited", "shutting_down", "backend_failure", "forbidden"}) {
    EXPECT_NE(std::find(modes.begin(), modes.end(), m), modes.end()) << m;
  }
  EXPECT_LE(total, milliseconds(30000));
}
#endif

}  // namespace
}  // namespace triage::sim

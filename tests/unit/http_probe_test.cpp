// Tests for kind: http and the scheduler that runs it, end to end through the
// real code: a YAML config is loaded, its probes are applied to a Scheduler
// whose libcurl loop talks to the in-process simulator or to a RawServer on
// 127.0.0.1, and the assertions read the exposition text rendered from the
// ProbeTable, the way /metrics would.
//
// Timing: intervals are a few hundred milliseconds and every wait is a
// generous WaitFor. The only wall-clock upper bound is the one the timeout
// contract demands (a timed-out run lasts less than timeout + 100 ms), and
// it is read from the exporter's own duration histogram.
#include <curl/curl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "collectors/http_probe.h"
#include "exporter/config.h"
#include "collectors/http_fetch.h"
#include "exporter/probe_table.h"
#include "exporter/scheduler.h"
#include "exposition/self_metrics.h"
#include "tests/unit/probe_rig.h"
#include "tests/unit/raw_server.h"
#include "tests/unit/test_util.h"
#include "tools/simulator/simulator.h"

namespace triage {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::RawServer;
using testing::SampleValue;
using testing::TempDir;
using testing::WaitFor;
using testing::kLongWait;
using testing::L;
using testing::V;
using testing::N;
using testing::Successes;
using testing::Failures;
using testing::Runs;
using testing::MeanDuration;
using Rig = testing::ProbeRig;

// ---- config text ------------------------------------------------------------

// One http probe as a YAML flow map; `extra` holds further keys ("interval: 200ms, ...").
std::string HttpProbe(const std::string& name, const std::string& url, const std::string& extra) {
  std::string p = "{name: " + name + ", kind: http, layer: traffic, url: \"" + url + "\"";
  if (!extra.empty()) p += ", " + extra;
  return p + "}";
}

struct ServiceYaml {
  std::string name;
  std::string labels;               // flow map such as "{team: a}", or empty
  std::vector<std::string> probes;  // flow maps from HttpProbe
};

std::string ConfigYaml(const std::vector<ServiceYaml>& services, const std::string& global = "") {
  std::string y;
  if (!global.empty()) y += "global: " + global + "\n";
  y += "services:\n";
  for (const auto& s : services) {
    y += "  - name: " + s.name + "\n";
    if (!s.labels.empty()) y += "    labels: " + s.labels + "\n";
    y += "    probes:\n";
    for (const auto& p : s.probes) y += "      - " + p + "\n";
  }
  return y;
}

// A single service "svc" holding `probes`.
std::string OneService(const std::vector<std::string>& probes, const std::string& global = "") {
  return ConfigYaml({{"svc", "", probes}}, global);
}

std::string SimUrl(const sim::Simulator& s, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(s.port()) + path;
}

// ---- 1. one simulator mode at a time -------------------------------------------------

// Probes `path` on a simulator in `mode` until the probe has `min_runs` runs.
class HttpProbeSimTest : public ::testing::Test {
 protected:
  std::string ProbeMode(const std::string& mode, const std::string& path, double min_runs = 2,
                        sim::SimulatorOptions options = {}) {
    sim_ = std::make_unique<sim::Simulator>(options);
    sim_->Start();
    EXPECT_TRUE(sim_->SetMode(mode));
    rig_ = std::make_unique<Rig>(OneService(
        {HttpProbe("p", SimUrl(*sim_, path), "interval: 400ms, error_code_pointer: /code")}));
    rig_->Start();
    return rig_->WaitRuns("p", min_runs);
  }
  void TearDown() override {
    rig_.reset();
    sim_.reset();
  }

  // Every run answered `code` with JSON code `error_code` and failed for `reason`.
  static void ExpectEveryRunFailedWith(const std::string& text, int code,
                                       const std::string& error_code, const std::string& reason) {
    const std::string c = std::to_string(code);
    const double n = Failures(text, "p");
    ASSERT_GE(n, 2) << text;
    EXPECT_EQ(Successes(text, "p"), 0) << text;
    EXPECT_EQ(V(text, "p", "triage_probe_success"), 0.0) << text;
    EXPECT_EQ(V(text, "p", "triage_http_responses_total", {L("code", c)}), n) << text;
    EXPECT_EQ(V(text, "p", "triage_http_error_responses_total",
                {L("code", c), L("error_code", error_code)}),
              n)
        << text;
    EXPECT_EQ(V(text, "p", "triage_probe_failures_total", {L("reason", reason)}), n) << text;
    EXPECT_EQ(V(text, "p", "triage_http_status_code"), static_cast<double>(code)) << text;
    EXPECT_EQ(V(text, "p", "triage_http_version"), 1.1) << text;
  }

  std::unique_ptr<sim::Simulator> sim_;
  std::unique_ptr<Rig> rig_;
};

TEST_F(HttpProbeSimTest, UnauthorizedCounts401AndItsErrorCode) {
  const std::string text = ProbeMode("unauthorized", "/api/v2/whoami");
  ExpectEveryRunFailedWith(text, 401, "unauthorized", "unauthorized");
  EXPECT_EQ(V(text, "p", "triage_http_retry_after_seconds"), 0.0) << text;
}

TEST_F(HttpProbeSimTest, ForbiddenIsTenantScopedBearerRefused) {
  const std::string text = ProbeMode("forbidden", "/api/v2/whoami");
  // A 403 where a 2xx was expected is an authorization failure too.
  ExpectEveryRunFailedWith(text, 403, "tenant_scoped_bearer_refused", "unauthorized");
}

TEST_F(HttpProbeSimTest, ApiV1IsGone) {
  const std::string text = ProbeMode("ok", "/api/v1/x");
  ExpectEveryRunFailedWith(text, 410, "gone", "http_status");
}

TEST_F(HttpProbeSimTest, RateLimitedExportsRetryAfter) {
  sim::SimulatorOptions options;
  options.retry_after_429 = 7;
  const std::string text = ProbeMode("rate_limited", "/api/v2/whoami", 2, options);
  ExpectEveryRunFailedWith(text, 429, "rate_limited", "http_status");
  EXPECT_EQ(V(text, "p", "triage_http_retry_after_seconds"), 7.0) << text;
}

TEST_F(HttpProbeSimTest, BackendFailureIsAnHttpStatusFailure) {
  const std::string text = ProbeMode("backend_failure", "/api/v2/whoami");
  ExpectEveryRunFailedWith(text, 500, "tool_backend_failure", "http_status");
  EXPECT_EQ(V(text, "p", "triage_http_retry_after_seconds"), 0.0) << text;
}

TEST_F(HttpProbeSimTest, ShuttingDownCarriesRetryAfterFive) {
  const std::string text = ProbeMode("shutting_down", "/api/v2/whoami");
  ExpectEveryRunFailedWith(text, 503, "shutting_down", "http_status");
  EXPECT_EQ(V(text, "p", "triage_http_retry_after_seconds"), 5.0) << text;
}

TEST_F(HttpProbeSimTest, OkSucceedsAndProbesTotalGrows) {
  const std::string first = ProbeMode("ok", "/api/v2/whoami", 1);
  const double before = Successes(first, "p");
  ASSERT_GE(before, 1) << first;
  const std::string text =
      rig_->WaitText([&](const std::string& t) { return Successes(t, "p") >= before + 2; });
  const double n = Successes(text, "p");
  EXPECT_EQ(Failures(text, "p"), 0) << text;
  EXPECT_EQ(V(text, "p", "triage_probe_success"), 1.0) << text;
  EXPECT_EQ(V(text, "p", "triage_http_responses_total", {L("code", "200")}), n) << text;
  EXPECT_EQ(V(text, "p", "triage_http_status_code"), 200.0) << text;
  EXPECT_EQ(V(text, "p", "triage_http_retry_after_seconds"), 0.0) << text;
  // Success: no failure reasons and no error responses.
  EXPECT_EQ(text.find("triage_probe_failures_total{"), std::string::npos) << text;
  EXPECT_EQ(text.find("triage_http_error_responses_total{"), std::string::npos) << text;
  EXPECT_EQ(V(text, "p", "triage_probe_duration_seconds_count"), n) << text;
}

// ---- 2. a body that is not JSON ---------------------------------------------------------

TEST_F(HttpProbeSimTest, GarbageBodyIsUnparsable) {
  const std::string text = ProbeMode("garbage", "/api/v2/whoami");
  ExpectEveryRunFailedWith(text, 500, "unparsable", "http_status");
}

// ---- 3. a target that never answers --------------------------------------------------------

TEST(HttpProbeTest, TimeoutEndsTheRunAndSparesOtherProbes) {
  RawServer silent(RawServer::AcceptAndNeverAnswer());
  sim::Simulator sim({});
  sim.Start();
  Rig rig(OneService({
      HttpProbe("hang", silent.Url("/"), "interval: 500ms, timeout: 300ms"),
      // Its timeout leaves slack before the next due time, so even a slow
      // answer never makes the scheduler skip a run of it as still running.
      HttpProbe("fast", SimUrl(sim, "/health"), "interval: 100ms, timeout: 80ms"),
  }));
  rig.Start();
  rig.WaitText([](const std::string& t) {
    return N(t, "hang", "triage_probe_failures_total", {L("reason", "timeout")}) >= 1;
  });

  // Watch the fast probe while the hanging one keeps occupying its own transfer.
  const auto t0 = std::chrono::steady_clock::now();
  const std::string before = rig.Text();
  std::this_thread::sleep_for(seconds(3));
  const std::string after = rig.Text();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  const double expected = elapsed / 0.1;
  const double ran = Runs(after, "fast") - Runs(before, "fast");
  ::testing::Test::RecordProperty("fast_runs", std::to_string(ran));
  ::testing::Test::RecordProperty("fast_runs_expected", std::to_string(expected));
  ::testing::Test::RecordProperty("hang_mean_seconds", std::to_string(MeanDuration(after, "hang")));
  EXPECT_GE(ran, std::floor(0.8 * expected))
      << "the 100ms probe ran " << ran << " times in " << elapsed << "s next to a hanging probe";
  EXPECT_GE(Runs(after, "hang") - Runs(before, "hang"), 2) << after;

  // Every run of the hanging probe ended by its own timeout, and promptly.
  const double hang_runs = Runs(after, "hang");
  EXPECT_EQ(Successes(after, "hang"), 0) << after;
  EXPECT_EQ(V(after, "hang", "triage_probe_failures_total", {L("reason", "timeout")}), hang_runs)
      << after;
  EXPECT_EQ(V(after, "hang", "triage_probe_duration_seconds_count"), hang_runs) << after;
  EXPECT_LT(MeanDuration(after, "hang"), 0.3 + 0.1) << after;
  EXPECT_GE(MeanDuration(after, "hang"), 0.3) << after;
  // No run of it ended before its timeout: none fell in a bucket below 0.25s.
  EXPECT_EQ(V(after, "hang", "triage_probe_duration_seconds_bucket", {L("le", "0.25")}), 0.0)
      << after;
  EXPECT_EQ(V(after, "hang", "triage_http_responses_total"), std::nullopt) << after;
}

// ---- 4. nothing listening ---------------------------------------------------------------------

TEST(HttpProbeTest, ClosedPortIsConnectionRefused) {
  const int port = testing::ClosedPort();
  Rig rig(OneService(
      {HttpProbe("p", "http://127.0.0.1:" + std::to_string(port) + "/", "interval: 200ms")}));
  rig.Start();
  const std::string text = rig.WaitRuns("p", 2);
  const double n = Failures(text, "p");
  EXPECT_EQ(Successes(text, "p"), 0) << text;
  EXPECT_EQ(V(text, "p", "triage_probe_failures_total", {L("reason", "connection_refused")}), n)
      << text;
  EXPECT_EQ(V(text, "p", "triage_http_responses_total"), std::nullopt) << text;
  // Without a response the last-response gauges read 0 and the version is unknown.
  EXPECT_EQ(V(text, "p", "triage_http_status_code"), 0) << text;
  EXPECT_EQ(V(text, "p", "triage_http_retry_after_seconds"), 0) << text;
  EXPECT_EQ(V(text, "p", "triage_http_version"), std::nullopt) << text;
}

// ---- 5. bodies over body_size_limit -------------------------------------------------------------

TEST(HttpProbeTest, BodyOverLimitEndsTheRunPromptly) {
  constexpr size_t kBody = 5 * 1024 * 1024;
  RawServer declared(RawServer::HugeBody(kBody, /*chunked=*/false));
  RawServer chunked(RawServer::HugeBody(kBody, /*chunked=*/true));
  const std::string extra = "interval: 2s, timeout: 2s, body_size_limit: 64KiB";
  Rig rig(OneService({HttpProbe("declared", declared.Url("/"), extra),
                      HttpProbe("chunked", chunked.Url("/"), extra)}));
  rig.Start();
  const std::string text = rig.WaitText(
      [](const std::string& t) { return Runs(t, "declared") >= 1 && Runs(t, "chunked") >= 1; });
  for (const std::string probe : {"declared", "chunked"}) {
    SCOPED_TRACE(probe);
    const double n = Runs(text, probe);
    EXPECT_EQ(Successes(text, probe), 0) << text;
    EXPECT_EQ(V(text, probe, "triage_probe_failures_total", {L("reason", "body_too_large")}), n)
        << text;
    // The status line was read before the body was cut off.
    EXPECT_EQ(V(text, probe, "triage_http_responses_total", {L("code", "200")}), n) << text;
    // Cut off at the limit, not after the whole body or at the 2s timeout.
    EXPECT_LT(MeanDuration(text, probe), 1.0) << text;
  }
}

// ---- 6. connection reset in the middle of the body ------------------------------------------------

TEST(HttpProbeTest, ResetMidBodyIsConnectionError) {
  RawServer reset(RawServer::ResetMidBody());
  Rig rig(OneService({HttpProbe("p", reset.Url("/"), "interval: 300ms")}));
  rig.Start();
  const std::string text = rig.WaitRuns("p", 2);
  const double n = Failures(text, "p");
  EXPECT_EQ(Successes(text, "p"), 0) << text;
  EXPECT_EQ(V(text, "p", "triage_probe_failures_total", {L("reason", "connection_error")}), n)
      << text;
}

// ---- peers that do not speak HTTP at all ---------------------------------------------------------------------

TEST(HttpProbeTest, NonHttpAnswerIsProtocolError) {
  RawServer server(RawServer::RespondRaw("SSH-2.0-OpenSSH_9.2\r\nnot http at all\r\n\r\n"));
  Rig rig(OneService({HttpProbe("p", server.Url("/"), "interval: 300ms")}));
  rig.Start();
  const std::string text = rig.WaitRuns("p", 2);
  EXPECT_EQ(Successes(text, "p"), 0) << text;
  EXPECT_EQ(V(text, "p", "triage_probe_failures_total", {L("reason", "protocol_error")}),
            Failures(text, "p"))
      << text;
}

// A target that puts the bearer it received into its error code: the label
// says "redacted", never the token.
TEST(HttpProbeTest, EchoedBearerBecomesRedactedErrorCode) {
  const std::string token = "canary-echo-9d2f4b7a1c3e5f60";
  RawServer echo(RawServer::RespondRaw(
      "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: " +
      std::to_string(std::string("{\"code\":\"Bearer " + token + "\"}").size()) +
      "\r\n\r\n{\"code\":\"Bearer " + token + "\"}"));
  TempDir dir;
  const std::string file = dir.Write("token", token + "\n");
  Rig rig(OneService({HttpProbe("p", echo.Url("/"),
                                "interval: 300ms, error_code_pointer: /code, "
                                "authorization: {credentials_file: " + file + "}")}));
  rig.Start();
  const std::string text = rig.WaitRuns("p", 2);
  EXPECT_FALSE(testing::Contains(text, token.substr(0, 16))) << text;
  EXPECT_GE(V(text, "p", "triage_http_error_responses_total",
              {L("code", "401"), L("error_code", "redacted")}).value_or(0), 2) << text;
}

// Headers over kMaxResponseHeaderBytes in all, and one header line over
// libcurl's own 100 KiB, are the peer breaking the protocol.
TEST(HttpProbeTest, TooManyResponseHeadersAreProtocolError) {
  std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n";
  for (int i = 0; head.size() <= kMaxResponseHeaderBytes; ++i) {
    head += "X-Filler-" + std::to_string(i) + ": v\r\n";
  }
  RawServer many(RawServer::RespondRaw(head + "\r\n{}"));
  RawServer giant(RawServer::RespondRaw("HTTP/1.1 200 OK\r\nX-Big: " + std::string(200 * 1024, 'a') +
                                        "\r\nContent-Length: 2\r\n\r\n{}"));
  Rig rig(OneService({HttpProbe("many", many.Url("/"), "interval: 300ms"),
                      HttpProbe("giant", giant.Url("/"), "interval: 300ms")}));
  rig.Start();
  rig.WaitRuns("many", 2);
  const std::string text = rig.WaitRuns("giant", 2);
  for (const char* p : {"many", "giant"}) {
    EXPECT_EQ(Successes(text, p), 0) << p << "\n" << text;
    EXPECT_EQ(V(text, p, "triage_probe_failures_total", {L("reason", "protocol_error")}),
              Failures(text, p))
        << p << "\n" << text;
  }
}

TEST(HttpProbeTest, EmptyReplyIsConnectionError) {
  RawServer server(RawServer::RespondRaw(""));
  Rig rig(OneService({HttpProbe("p", server.Url("/"), "interval: 300ms")}));
  rig.Start();
  const std::string text = rig.WaitRuns("p", 2);
  EXPECT_EQ(Successes(text, "p"), 0) << text;
  EXPECT_EQ(V(text, "p", "triage_probe_failures_total", {L("reason", "connection_error")}),
            Failures(text, "p"))
      << text;
}

// ---- bodies and secrets that try to break the probe itself ------------------------------------------------

// An array index too large for size_t in the pointer used to throw out of the
// JSON lookup on the event loop; it must count as "none" and keep running.
TEST(HttpProbeTest, HugeArrayIndexInPointerCountsAsNone) {
  const std::string body = "{\"errors\":[1]}";
  RawServer server(RawServer::RespondRaw("HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n"
                                         "Content-Length: " + std::to_string(body.size()) +
                                         "\r\nConnection: close\r\n\r\n" + body));
  Rig rig(OneService({HttpProbe("p", server.Url("/"),
                                "interval: 300ms, error_code_pointer: /errors/99999999999999999999/code")}));
  rig.Start();
  const std::string text = rig.WaitRuns("p", 3);
  // Every 500 that arrived whole is counted under error_code "none" (a run
  // that lost its connection on a loaded machine has no body to read).
  const auto answered = V(text, "p", "triage_http_responses_total", {L("code", "500")});
  ASSERT_TRUE(answered.has_value()) << text;
  EXPECT_GE(*answered, 1) << text;
  EXPECT_EQ(V(text, "p", "triage_http_error_responses_total", {L("code", "500"), L("error_code", "none")}),
            answered)
      << text;
  EXPECT_EQ(V(text, "p", "triage_http_error_responses_total", {L("code", "500"), L("error_code", "other")}),
            std::nullopt)
      << text;
}

// Runs a probe whose token file holds `content` next to a server that counts
// connections: every run fails with reason credentials and nothing is sent.
void ExpectTokenFileRefusedNotSent(const std::string& content) {
  std::atomic<int> connections{0};
  RawServer server([&connections](int, const std::atomic<bool>&) { ++connections; });
  TempDir dir;
  const std::string token = dir.Write("token", content);
  Rig rig(OneService({HttpProbe("p", server.Url("/"),
                                "interval: 300ms, authorization: {credentials_file: " + token + "}")}));
  rig.Start();
  const std::string text = rig.WaitRuns("p", 2);
  EXPECT_EQ(V(text, "p", "triage_probe_failures_total", {L("reason", "credentials")}),
            Failures(text, "p"))
      << text;
  EXPECT_EQ(connections.load(), 0);
}

// A token file with a line break must not smuggle a header into the request.
TEST(HttpProbeTest, TokenWithLineBreakIsRefusedNotSent) {
  ExpectTokenFileRefusedNotSent("abc\r\nX-Injected: yes\n");
}

// An empty token file is a broken configuration, not a token: refusing it
// keeps the server's 401 to "Bearer " from looking like a rotated token.
TEST(HttpProbeTest, EmptyTokenFileIsRefusedNotSent) { ExpectTokenFileRefusedNotSent("\n"); }

// ---- 7. the cap on distinct error_code values ------------------------------------------------------------

TEST(HttpProbeTest, ErrorCodesOverTheCapBecomeOther) {
  // Connection k answers 400 with JSON code kCodes[k % 4]: alpha, beta, gamma, delta, alpha, ...
  static const std::vector<std::string> kCodes = {"alpha", "beta", "gamma", "delta"};
  auto served = std::make_shared<std::atomic<int>>(0);
  RawServer server([served](int fd, const std::atomic<bool>& stopping) {
    testing::ReadRequestHead(fd, stopping);
    const std::string body = "{\"code\":\"" + kCodes[served->fetch_add(1) % kCodes.size()] + "\"}";
    testing::SendAll(fd,
                     "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
                     "Content-Length: " + std::to_string(body.size()) +
                         "\r\nConnection: close\r\n\r\n" + body,
                     stopping);
  });
  Rig rig(OneService({HttpProbe("p", server.Url("/"),
                                "interval: 300ms, error_code_pointer: /code, max_error_codes: 2")}));
  rig.Start();
  const std::string text = rig.WaitRuns("p", 4);
  const double n = Failures(text, "p");
  EXPECT_GE(server.connections(), n) << "one connection per run";
  EXPECT_EQ(V(text, "p", "triage_http_responses_total", {L("code", "400")}), n) << text;
  const double alpha = N(text, "p", "triage_http_error_responses_total", {L("error_code", "alpha")});
  const double beta = N(text, "p", "triage_http_error_responses_total", {L("error_code", "beta")});
  const double other = N(text, "p", "triage_http_error_responses_total", {L("error_code", "other")});
  // The first two distinct codes are admitted; gamma and delta never get a series.
  EXPECT_GE(alpha, 1) << text;
  EXPECT_GE(beta, 1) << text;
  EXPECT_GE(other, 2) << text;
  EXPECT_EQ(alpha + beta + other, n) << text;
  EXPECT_EQ(text.find(L("error_code", "gamma")), std::string::npos) << text;
  EXPECT_EQ(text.find(L("error_code", "delta")), std::string::npos) << text;
  EXPECT_EQ(V(text, "p", "triage_http_error_responses_total",
              {L("code", "400"), L("error_code", "other")}),
            other)
      << text;
}

// ---- 8. a redirect that points at itself ------------------------------------------------------------

TEST(HttpProbeTest, RedirectLoopIsTooManyRedirects) {
  RawServer loop(RawServer::RespondRaw(
      "HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
  Rig rig(OneService({HttpProbe("p", loop.Url("/loop"), "interval: 500ms, max_redirects: 3")}));
  rig.Start();
  const std::string text = rig.WaitRuns("p", 1);
  const double n = Failures(text, "p");
  EXPECT_EQ(Successes(text, "p"), 0) << text;
  EXPECT_EQ(V(text, "p", "triage_probe_failures_total", {L("reason", "too_many_redirects")}), n)
      << text;
  // One response is recorded per run: the last 302 seen.
  EXPECT_EQ(V(text, "p", "triage_http_responses_total", {L("code", "302")}), n) << text;
  // The first request and three followed redirects.
  EXPECT_GE(loop.connections(), 4);
}

// ---- 9. a target whose clock runs ahead ----------------------------------------------------------------

TEST(HttpProbeTest, ClockSkewFollowsTheDateHeader) {
  sim::SimulatorOptions options;
  options.date_offset_seconds = 120;
  sim::Simulator sim(options);
  sim.Start();
  Rig rig(OneService({HttpProbe("p", SimUrl(sim, "/health"), "interval: 300ms")}));
  rig.Start();
  const std::string text = rig.WaitRuns("p", 1);
  const auto skew = V(text, "p", "triage_clock_skew_seconds");
  ASSERT_TRUE(skew.has_value()) << text;
  EXPECT_GE(*skew, 119.0) << text;
  EXPECT_LE(*skew, 121.0) << text;
}

// ---- 12. a credentials file that is rotated while running --------------------------------------------------

TEST(HttpProbeTest, RotatedCredentialsFileIsPickedUp) {
  // The simulator accepts only the new token; the file starts with the old one.
  // Both have the same length, so only the content and the mtime change.
  const std::string old_token = "old-token-0001";
  const std::string new_token = "new-token-0002";
  TempDir dir;
  const std::string token_file = dir.Write("token", old_token + "\n");
  sim::SimulatorOptions options;
  options.token = new_token;
  sim::Simulator sim(options);
  sim.Start();
  Rig rig(OneService({HttpProbe(
      "p", SimUrl(sim, "/api/v2/whoami"),
      "interval: 200ms, error_code_pointer: /code, authorization: {credentials_file: \"" +
          token_file + "\"}")}));
  rig.Start();
  const std::string before = rig.WaitText([](const std::string& t) {
    return N(t, "p", "triage_probe_failures_total", {L("reason", "unauthorized")}) >= 2;
  });
  EXPECT_EQ(Successes(before, "p"), 0) << before;

  dir.Write("token", new_token + "\n");
  const auto rotated = std::chrono::steady_clock::now();
  const std::string after = rig.WaitText(
      [](const std::string& t) { return V(t, "p", "triage_probe_success") == 1.0; });
  EXPECT_GE(Successes(after, "p"), 1) << after;
  // The 401s from before the rotation stay counted; nothing new was refused.
  EXPECT_GE(N(after, "p", "triage_http_error_responses_total",
              {L("code", "401"), L("error_code", "unauthorized")}),
            2)
      << after;
  EXPECT_LT(std::chrono::steady_clock::now() - rotated, seconds(10));
}

// ---- 13. the parsing helpers -------------------------------------------------------------------------------

TEST(HttpProbeParseTest, RetryAfterDeltaSeconds) {
  const auto now = std::chrono::system_clock::now();
  EXPECT_EQ(ParseRetryAfter("120", now), 120.0);
  EXPECT_EQ(ParseRetryAfter("0", now), 0.0);
  EXPECT_EQ(ParseRetryAfter("  7 ", now), 7.0);
  EXPECT_EQ(ParseRetryAfter("9999999999", now), 9999999999.0);
  EXPECT_EQ(ParseRetryAfter("99999999999", now), std::nullopt);  // more than ten digits
}

TEST(HttpProbeParseTest, RetryAfterHttpDate) {
  // 1994-11-06T08:49:37Z, the example of RFC 9110.
  const std::chrono::system_clock::time_point now{seconds(784111777)};
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:51:37 GMT", now), 120.0);
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", now), 0.0);
  // A date in the past means "now", never a negative wait.
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:00:00 GMT", now), 0.0);
}

TEST(HttpProbeParseTest, RetryAfterGarbage) {
  const auto now = std::chrono::system_clock::now();
  EXPECT_EQ(ParseRetryAfter("", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("   ", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("soon", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("ten seconds", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("-5", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("1.5", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("12abc", now), std::nullopt);
}

TEST(HttpProbeParseTest, HttpDateFormats) {
  // The three forms RFC 9110 section 5.6.7 requires a recipient to accept.
  EXPECT_EQ(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777.0);  // IMF-fixdate
  EXPECT_EQ(ParseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777.0);  // RFC 850
  EXPECT_EQ(ParseHttpDate("Sun Nov  6 08:49:37 1994"), 784111777.0);        // asctime
  EXPECT_EQ(ParseHttpDate("Thu, 01 Jan 1970 00:00:00 GMT"), 0.0);
  EXPECT_EQ(ParseHttpDate("not a date"), std::nullopt);
  EXPECT_EQ(ParseHttpDate(""), std::nullopt);
}

TEST(HttpProbeParseTest, ImfFixdateAgreesWithLibcurl) {
  // The fast path must read every IMF-fixdate as libcurl's general parser does.
  for (const char* d : {"Sun, 06 Nov 1994 08:49:37 GMT", "Thu, 01 Jan 1970 00:00:00 GMT",
                        "Tue, 29 Feb 2000 23:59:59 GMT", "Fri, 01 Mar 2024 12:00:00 GMT",
                        "Fri, 31 Dec 1999 23:59:59 GMT", "Sat, 21 Nov 2026 17:03:04 GMT",
                        "Mon, 01 Jan 2101 00:00:01 GMT", "Wed, 28 Feb 2024 06:07:08 GMT"}) {
    SCOPED_TRACE(d);
    const auto fast = ParseImfFixdate(d);
    ASSERT_TRUE(fast.has_value());
    EXPECT_EQ(*fast, static_cast<double>(curl_getdate(d, nullptr)));
  }
  for (const char* d : {"Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Nox 1994 08:49:37 GMT",
                        "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT",
                        "Sun, 00 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 19x4 08:49:37 GMT",
                        "Sunday, 06-Nov-94 08:49:37 GMT", ""}) {
    SCOPED_TRACE(d);
    EXPECT_EQ(ParseImfFixdate(d), std::nullopt);
  }
}

TEST(HttpProbeParseTest, SanitizeErrorCode) {
  EXPECT_EQ(SanitizeErrorCode("tenant_scoped_bearer_refused"), "tenant_scoped_bearer_refused");
  EXPECT_EQ(SanitizeErrorCode("v1.gone:ERR-42"), "v1.gone:ERR-42");
  EXPECT_EQ(SanitizeErrorCode("bad code/with \"quotes\"\n"), "bad_code_with__quotes__");
  EXPECT_EQ(SanitizeErrorCode("caf\xc3\xa9"), "caf__");  // each byte of a UTF-8 sequence
  EXPECT_EQ(SanitizeErrorCode(""), "");
  const std::string long_code(200, 'a');
  EXPECT_EQ(SanitizeErrorCode(long_code), std::string(64, 'a'));
  EXPECT_EQ(SanitizeErrorCode(std::string(63, 'b') + "{}"), std::string(63, 'b') + "_");
}

TEST(HttpProbeParseTest, RevealsSecretFindsEchoedCredentials) {
  const std::string token = "s3cr3t-token-7f1e9c2ab4d0e8f6a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9e1f3a5b7c9d1e3f5";
  EXPECT_TRUE(RevealsSecret(SanitizeErrorCode(token), token));
  EXPECT_TRUE(RevealsSecret(SanitizeErrorCode("Bearer " + token), token)) << "a prefix, cut to 64";
  EXPECT_TRUE(RevealsSecret(SanitizeErrorCode("invalid token " + token.substr(10, 20)), token));
  EXPECT_TRUE(RevealsSecret("token-7f1e9c2", token)) << "a piece of the secret as the whole code";
  EXPECT_TRUE(RevealsSecret(SanitizeErrorCode("pass word!"), "pass word!")) << "compared in label form";
  EXPECT_FALSE(RevealsSecret("invalid_token", token));
  EXPECT_FALSE(RevealsSecret("token", token)) << "too short to say anything";
  EXPECT_FALSE(RevealsSecret("unauthorized", "short")) << "a secret under 8 characters is not matched";
}

TEST(HttpProbeParseTest, ReasonForCurlCode) {
  EXPECT_EQ(ReasonForCurlCode(CURLE_OK, 0, false), FailureReason::kNone);
  EXPECT_EQ(ReasonForCurlCode(CURLE_OPERATION_TIMEDOUT, 0, false), FailureReason::kTimeout);
  EXPECT_EQ(ReasonForCurlCode(CURLE_COULDNT_RESOLVE_HOST, 0, false), FailureReason::kDns);
  EXPECT_EQ(ReasonForCurlCode(CURLE_COULDNT_CONNECT, ECONNREFUSED, false),
            FailureReason::kConnectionRefused);
  EXPECT_EQ(ReasonForCurlCode(CURLE_COULDNT_CONNECT, EHOSTUNREACH, false),
            FailureReason::kConnectionError);
  EXPECT_EQ(ReasonForCurlCode(CURLE_PEER_FAILED_VERIFICATION, 0, false), FailureReason::kTls);
  EXPECT_EQ(ReasonForCurlCode(CURLE_SSL_CONNECT_ERROR, 0, false), FailureReason::kTls);
  EXPECT_EQ(ReasonForCurlCode(CURLE_TOO_MANY_REDIRECTS, 0, false),
            FailureReason::kTooManyRedirects);
  EXPECT_EQ(ReasonForCurlCode(CURLE_FILESIZE_EXCEEDED, 0, false), FailureReason::kBodyTooLarge);
  // The write callback refusing an oversized body surfaces as a write error.
  EXPECT_EQ(ReasonForCurlCode(CURLE_WRITE_ERROR, 0, true), FailureReason::kBodyTooLarge);
  EXPECT_EQ(ReasonForCurlCode(CURLE_WRITE_ERROR, 0, false), FailureReason::kOther);
  EXPECT_EQ(ReasonForCurlCode(CURLE_RECV_ERROR, ECONNRESET, false),
            FailureReason::kConnectionError);
  EXPECT_EQ(ReasonForCurlCode(CURLE_PARTIAL_FILE, 0, false), FailureReason::kConnectionError);
  EXPECT_EQ(ReasonForCurlCode(CURLE_GOT_NOTHING, 0, false), FailureReason::kConnectionError);
  EXPECT_EQ(ReasonForCurlCode(CURLE_WEIRD_SERVER_REPLY, 0, false), FailureReason::kProtocolError);
}

// ---- 10. reload ------------------------------------------------------------------------------------------------

TEST(SchedulerTest, ReloadKeepsSameProbesAndResetsChangedOnes) {
  sim::Simulator sim({});
  sim.Start();
  const std::string url = SimUrl(sim, "/health");
  const std::string fast = "interval: 200ms";
  Rig rig(ConfigYaml({
      {"keep", "{team: a}", {HttpProbe("pk", url, fast)}},
      {"relabel", "{team: b}", {HttpProbe("pr", url, fast)}},
      {"gone", "", {HttpProbe("pg", url, fast)}},
  }));
  rig.Start();
  const std::string before = rig.WaitText([](const std::string& t) {
    return Runs(t, "pk") >= 4 && Runs(t, "pr") >= 4 && Runs(t, "pg") >= 1;
  });
  const double keep_before = Runs(before, "pk");

  // Same keep probe; relabel's static label changes (and its interval, so its
  // first run after the reload can be observed before a second one); gone is dropped.
  rig.Reload(ConfigYaml({
      {"keep", "{team: a}", {HttpProbe("pk", url, fast)}},
      {"relabel", "{team: c}", {HttpProbe("pr", url, "interval: 1s")}},
  }));
  ASSERT_TRUE(WaitFor([&] { return rig.table().All().size() == 2; }, kLongWait));

  const std::string right_after = rig.Text();
  EXPECT_GE(Runs(right_after, "pk"), keep_before) << "kept probe was reset:\n" << right_after;
  EXPECT_EQ(right_after.find(L("probe", "pg")), std::string::npos) << right_after;
  EXPECT_EQ(right_after.find(L("team", "b")), std::string::npos) << right_after;
  EXPECT_EQ(rig.table().Find("gone", "pg"), nullptr);

  const std::string text = rig.WaitText([&](const std::string& t) {
    return Runs(t, "pr") >= 1 && Runs(t, "pk") > keep_before;
  });
  // The relabelled probe is a new series that started from zero.
  EXPECT_EQ(Runs(text, "pr"), 1) << text;
  EXPECT_EQ(V(text, "pr", "triage_probes_total", {L("team", "c"), L("result", "success")}), 1.0)
      << text;
  EXPECT_EQ(V(text, "pr", "triage_probe_duration_seconds_count"), 1.0) << text;
  // The kept probe carried its counters over and kept running.
  EXPECT_GT(Runs(text, "pk"), keep_before) << text;
  EXPECT_EQ(V(text, "pk", "triage_probes_total", {L("team", "a"), L("result", "success")}),
            Runs(text, "pk"))
      << text;
  EXPECT_EQ(text.find(L("service", "gone")), std::string::npos) << text;
  EXPECT_EQ(rig.self().shard_probes->Value(), 2.0);
}

// ---- 11. RunNow ------------------------------------------------------------------------------------------------

TEST(SchedulerTest, RunNowUsesFreshStateAndHidesTheToken) {
  const std::string canary = "canary-7f3a9c1e5b";
  TempDir dir;
  const std::string token_file = dir.Write("token", canary + "\n");
  sim::SimulatorOptions options;
  options.token = canary;
  sim::Simulator sim(options);
  sim.Start();
  const std::string url = SimUrl(sim, "/api/v2/whoami");
  // A long interval: between two scheduled runs there is time to run one by hand.
  Rig rig(OneService({HttpProbe(
      "api", url,
      "interval: 5s, timeout: 2s, authorization: {credentials_file: \"" + token_file + "\"}")}));
  rig.Start();
  const std::string before = rig.WaitRuns("api", 1);
  ASSERT_EQ(Successes(before, "api"), 1) << before;

  std::mutex mu;
  std::condition_variable cv;
  std::shared_ptr<const Snapshot> snap;
  auto debug = std::make_shared<DebugLog>();
  rig.scheduler().RunNow(rig.Spec("api"), debug, [&](std::shared_ptr<const Snapshot> s) {
    std::lock_guard<std::mutex> lock(mu);
    snap = std::move(s);
    cv.notify_all();
  });
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, kLongWait, [&] { return snap != nullptr; }));
  }
  const std::string after = rig.Text();

  std::string one;
  RenderSnapshot(*snap, one);
  EXPECT_TRUE(snap->success);
  EXPECT_EQ(V(one, "api", "triage_probes_total", {L("result", "success")}), 1.0) << one;
  EXPECT_EQ(V(one, "api", "triage_probes_total", {L("result", "failure")}), 0.0) << one;
  EXPECT_EQ(V(one, "api", "triage_http_responses_total", {L("code", "200")}), 1.0) << one;
  // The scheduled probe's counters are the same as before the manual run.
  EXPECT_EQ(Runs(after, "api"), Runs(before, "api")) << after;

  const std::string log = debug->Text();
  EXPECT_NE(log.find("GET " + url), std::string::npos) << log;
  EXPECT_NE(log.find("> GET /api/v2/whoami HTTP/1.1"), std::string::npos) << log;
  EXPECT_NE(log.find("Authorization: <secret>"), std::string::npos) << log;
  EXPECT_EQ(log.find(canary), std::string::npos) << log;
  EXPECT_EQ(log.find("canary"), std::string::npos) << log;
}

// ---- 14. the global in-flight cap ----------------------------------------------------------------------------------

TEST(SchedulerTest, MaxInFlightCapsConcurrentRuns) {
  RawServer silent(RawServer::AcceptAndNeverAnswer());
  std::vector<std::string> probes;
  for (int i = 1; i <= 5; ++i) {
    probes.push_back(HttpProbe("h" + std::to_string(i), silent.Url("/" + std::to_string(i)),
                               "interval: 500ms, timeout: 400ms"));
  }
  Rig rig(OneService(probes, "{max_in_flight: 2}"));
  rig.Start();

  double highest = 0;
  const auto until = std::chrono::steady_clock::now() + seconds(3);
  while (std::chrono::steady_clock::now() < until) {
    highest = std::max(highest, rig.self().probes_in_flight->Value());
    std::this_thread::sleep_for(milliseconds(2));
  }
  EXPECT_LE(highest, 2.0);
  EXPECT_EQ(highest, 2.0) << "the cap was never reached";

  // Every probe still gets its turn, and every run ends by its own timeout.
  const std::string text = rig.WaitText([](const std::string& t) {
    for (int i = 1; i <= 5; ++i) {
      if (Runs(t, "h" + std::to_string(i)) < 1) return false;
    }
    return true;
  });
  for (int i = 1; i <= 5; ++i) {
    const std::string p = "h" + std::to_string(i);
    EXPECT_EQ(V(text, p, "triage_probe_failures_total", {L("reason", "timeout")}), Runs(text, p))
        << text;
  }
  EXPECT_LE(rig.self().probes_in_flight->Value(), 2.0);
}

// ---- the RawServer itself ------------------------------------------------------------------------------------------

TEST(RawServerTest, RespondRawSendsTheBytesVerbatim) {
  RawServer server(RawServer::RespondRaw(
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"));
  const auto reply = testing::HttpGet(server.Url("/x"));
  EXPECT_EQ(reply.status, 200) << reply.error;
  EXPECT_EQ(reply.body, "hello");
  EXPECT_EQ(reply.content_type, "text/plain");
  EXPECT_EQ(server.connections(), 1);
}

TEST(RawServerTest, HugeBodyDeliversTheAnnouncedSize) {
  for (const bool chunked : {false, true}) {
    SCOPED_TRACE(chunked ? "chunked" : "content-length");
    RawServer server(RawServer::HugeBody(300000, chunked));
    const auto reply = testing::HttpGet(server.Url("/"));
    EXPECT_EQ(reply.status, 200) << reply.error;
    EXPECT_EQ(reply.body.size(), 300000u);
  }
}

TEST(RawServerTest, ResetMidBodyBreaksTheTransfer) {
  RawServer server(RawServer::ResetMidBody());
  const auto reply = testing::HttpGet(server.Url("/"));
  EXPECT_EQ(reply.status, 0);
  EXPECT_FALSE(reply.error.empty());
}

TEST(RawServerTest, ClosedPortRefusesConnections) {
  const int port = testing::ClosedPort();
  EXPECT_GT(port, 0);
  const auto reply = testing::HttpGet("http://127.0.0.1:" + std::to_string(port) + "/");
  EXPECT_EQ(reply.status, 0);
  EXPECT_FALSE(reply.error.empty());
}

TEST(RawServerTest, DestructorReleasesSilentConnectionsQuickly) {
  auto server = std::make_unique<RawServer>(RawServer::AcceptAndNeverAnswer());
  const std::string url = server->Url("/");
  testing::HttpReply reply;
  std::thread client([&] { reply = testing::HttpGet(url, seconds(10)); });
  ASSERT_TRUE(WaitFor([&] { return server->connections() == 1; }));
  const auto t0 = std::chrono::steady_clock::now();
  server.reset();
  const auto took = std::chrono::steady_clock::now() - t0;
  client.join();
  // About 100 ms by design; the bound here only catches a destructor that hangs.
  EXPECT_LT(took, seconds(1));
  EXPECT_EQ(reply.status, 0);  // the connection was closed without an answer
}

}  // namespace
}  // namespace triage

namespace triage {
namespace {

// libcurl logs HTTP/2 request headers as text lines, where the Basic
// credentials appear base64-encoded: the debug log must mask that form too.
TEST(HttpProbeParseTest, BasicAuthIsMaskedInBase64Form) {
  testing::TempDir dir;
  HttpProbeConfig c;
  c.url = "http://127.0.0.1:1/";
  c.basic_user = "alice";
  c.basic_password = std::make_shared<SecretFile>(dir.Write("pw", "hunter2\n"));
  ASSERT_TRUE(c.basic_password->Load().empty());
  DebugLog log;
  HttpRequest req;
  ASSERT_TRUE(BuildHttpRequest(c, std::chrono::seconds(1), req, &log));
  log.Line("* h2h3 [authorization: Basic YWxpY2U6aHVudGVyMg==]");
  log.Line("sent hunter2");
  const std::string text = log.Text();
  EXPECT_EQ(text.find("YWxpY2U6aHVudGVyMg=="), std::string::npos) << text;
  EXPECT_EQ(text.find("hunter2"), std::string::npos) << text;
}

}  // namespace
}  // namespace triage

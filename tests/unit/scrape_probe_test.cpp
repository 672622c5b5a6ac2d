// Tests for kind: scrape, end to end through the real Scheduler: a config is
// loaded, the probe fetches recorded metrics pages (and a Prometheus targets
// answer) from a FixtureServer or a hostile RawServer on 127.0.0.1, and the
// assertions read the exposition text the exporter renders. Single runs go
// through RunOnce (fresh state, with the run's debug output); what needs
// state across runs (restarts) uses the schedule.
#include "collectors/scrape_probe.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "exporter/config.h"
#include "tests/unit/fixture_server.h"
#include "tests/unit/probe_rig.h"
#include "tests/unit/raw_server.h"
#include "tests/unit/test_util.h"

namespace triage {
namespace {

using testing::CannedResponse;
using testing::FixtureServer;
using testing::L;
using testing::N;
using testing::ProbeRig;
using testing::RawServer;
using testing::ReadFixture;
using testing::TempDir;
using testing::V;

constexpr char kText[] = "text/plain; version=0.0.4; charset=utf-8";

// One scrape probe as a YAML flow map; `extra` holds further keys.
std::string ScrapeProbe(const std::string& name, const std::string& url,
                        const std::string& extra = "") {
  std::string p = "{name: " + name + ", kind: scrape, layer: telemetry, url: \"" + url + "\"";
  if (!extra.empty()) p += ", " + extra;
  return p + "}";
}

std::string Services(const std::vector<std::string>& probes) {
  std::string y = "services:\n  - name: svc\n    probes:\n";
  for (const auto& p : probes) y += "      - " + p + "\n";
  return y;
}

void ServePage(FixtureServer& server, const std::string& path, const std::string& body,
               int status = 200) {
  server.Set(path, CannedResponse{status, body, kText, {}});
}

std::string Present(const std::string& text, const std::string& probe, const std::string& entry) {
  const auto v = V(text, probe, "triage_scrape_expected_metric_present", {L("metric", entry)});
  return v ? std::to_string(static_cast<int>(*v)) : "absent";
}

// ---- the metrics page itself -------------------------------------------------------

TEST(ScrapeProbe, HealthyApiServerPageWithExpectations) {
  FixtureServer server;
  ServePage(server, "/metrics", ReadFixture("scrape/echo_metrics.txt"));
  ProbeRig rig(Services({ScrapeProbe(
      "m", server.Url("/metrics"),
      "expect_metrics: [echo_http_requests_total, 'echo_http_requests_total{code=\"401\"} > 0', "
      "'process_open_fds < 1000', 'echo_build_info{version=\"v1.0.2\", goversion=\"go1.22.3\"} == 1']")}));
  rig.StartIdle();
  const auto run = rig.RunOnce("m");
  const std::string& t = run.text;
  EXPECT_EQ(V(t, "m", "triage_probe_success"), 1.0) << t << run.debug;
  EXPECT_EQ(V(t, "m", "triage_scrape_up"), 1.0) << t;
  EXPECT_EQ(V(t, "m", "triage_scrape_samples"), 24.0) << t;
  EXPECT_EQ(Present(t, "m", "echo_http_requests_total"), "1") << t;
  EXPECT_EQ(Present(t, "m", "echo_http_requests_total{code=\\\"401\\\"} > 0"), "1") << t;
  EXPECT_EQ(Present(t, "m", "process_open_fds < 1000"), "1") << t;
  EXPECT_EQ(Present(t, "m",
                    "echo_build_info{version=\\\"v1.0.2\\\", goversion=\\\"go1.22.3\\\"} == 1"),
            "1")
      << t;
  EXPECT_DOUBLE_EQ(V(t, "m", "triage_target_fd_utilization").value_or(-1), 23.0 / 1048576) << t;
  // The first fetch only records the start time.
  EXPECT_EQ(V(t, "m", "triage_target_restarts_total"), 0.0) << t;
  EXPECT_EQ(V(t, "m", "triage_http_responses_total", {L("code", "200")}), 1.0) << t;
  // Not configured: no Prometheus series.
  EXPECT_EQ(V(t, "m", "triage_scrape_prometheus_target_up"), std::nullopt) << t;
  EXPECT_EQ(server.RequestCount("/metrics"), 1u);
  EXPECT_NE(run.debug.find("parsed 24 samples"), std::string::npos) << run.debug;
}

TEST(ScrapeProbe, MeshReportCallsAndAMissingMetricFailTheCheck) {
  FixtureServer server;
  ServePage(server, "/metrics", ReadFixture("scrape/mesh_mixer_metrics.txt"));
  const std::string report = "grpc_server_handled_total{grpc_method=\"Report\"} > 0";
  const std::string unavailable =
      "grpc_server_handled_total{grpc_method=\"Report\",grpc_code=\"Unavailable\"} > 0";
  const std::string dispatch = "mixer_adapter_dispatch_count{adapter=\"prometheus\",error=\"false\"}";
  ProbeRig rig(Services({
      ScrapeProbe("ok", server.Url("/metrics"),
                  "expect_metrics: ['" + report + "', '" + dispatch + "']"),
      ScrapeProbe("bad", server.Url("/metrics"),
                  "expect_metrics: ['" + report + "', '" + unavailable +
                      "', echo_http_requests_total]"),
  }));
  rig.StartIdle();
  auto esc = [](std::string s) {
    std::string out;
    for (char c : s) out += c == '"' ? std::string("\\\"") : std::string(1, c);
    return out;
  };

  const auto ok = rig.RunOnce("ok");
  EXPECT_EQ(V(ok.text, "ok", "triage_probe_success"), 1.0) << ok.text << ok.debug;
  EXPECT_EQ(Present(ok.text, "ok", esc(report)), "1") << ok.text;
  EXPECT_EQ(Present(ok.text, "ok", esc(dispatch)), "1") << ok.text;

  const auto bad = rig.RunOnce("bad");
  const std::string& t = bad.text;
  EXPECT_EQ(V(t, "bad", "triage_probe_success"), 0.0) << t;
  EXPECT_EQ(N(t, "bad", "triage_probe_failures_total", {L("reason", "check_failed")}), 1.0) << t;
  // The page itself was fine.
  EXPECT_EQ(V(t, "bad", "triage_scrape_up"), 1.0) << t;
  EXPECT_EQ(Present(t, "bad", esc(report)), "1") << t;
  // Report calls exist, but none ended Unavailable with a count above zero.
  EXPECT_EQ(Present(t, "bad", esc(unavailable)), "0") << t;
  EXPECT_EQ(Present(t, "bad", "echo_http_requests_total"), "0") << t;
  EXPECT_NE(bad.debug.find("echo_http_requests_total: missing"), std::string::npos) << bad.debug;
}

TEST(ScrapeProbe, BearerRequiredEndpointIsUnauthorizedWithoutTheToken) {
  FixtureServer server;
  // A /metrics that requires the bearer answers 401 to a request without it.
  server.Set("/metrics", CannedResponse{401, "Unauthorized\n", "text/plain", {}});
  ServePage(server, "/secure/metrics", ReadFixture("scrape/echo_metrics.txt"));
  TempDir dir;
  const std::string token = dir.Write("echo.token", "s3cret-bearer\n");
  ProbeRig rig(Services({
      ScrapeProbe("anon", server.Url("/metrics"), "expect_metrics: [echo_http_requests_total]"),
      ScrapeProbe("authed", server.Url("/secure/metrics"),
                  "authorization: {type: Bearer, credentials_file: \"" + token + "\"}"),
  }));
  rig.StartIdle();

  const auto anon = rig.RunOnce("anon");
  EXPECT_EQ(N(anon.text, "anon", "triage_probe_failures_total", {L("reason", "unauthorized")}), 1.0)
      << anon.text;
  EXPECT_EQ(V(anon.text, "anon", "triage_scrape_up"), 0.0) << anon.text;
  EXPECT_EQ(V(anon.text, "anon", "triage_http_responses_total", {L("code", "401")}), 1.0)
      << anon.text;
  // Nothing was parsed, so nothing is claimed about the page's contents.
  EXPECT_EQ(Present(anon.text, "anon", "echo_http_requests_total"), "absent") << anon.text;
  EXPECT_EQ(V(anon.text, "anon", "triage_scrape_samples"), std::nullopt) << anon.text;

  const auto authed = rig.RunOnce("authed");
  EXPECT_EQ(V(authed.text, "authed", "triage_probe_success"), 1.0) << authed.text << authed.debug;
  EXPECT_EQ(authed.debug.find("s3cret-bearer"), std::string::npos) << authed.debug;

  for (const auto& r : server.Requests()) {
    if (r.path == "/metrics") {
      EXPECT_EQ(r.authorization, "");
    } else if (r.path == "/secure/metrics") {
      EXPECT_EQ(r.authorization, "Bearer s3cret-bearer");
    }
  }
  EXPECT_EQ(server.RequestCount("/metrics"), 1u);
  EXPECT_EQ(server.RequestCount("/secure/metrics"), 1u);
}

TEST(ScrapeProbe, RestartsCountWhenTheStartTimeMovesForward) {
  FixtureServer server;
  const std::string page = ReadFixture("scrape/echo_metrics.txt");
  const std::string start_line = "process_start_time_seconds 1.71598176012e+09";
  ASSERT_NE(page.find(start_line), std::string::npos);
  auto with_start = [&](const std::string& value) {
    std::string p = page;
    p.replace(p.find(start_line), start_line.size(), "process_start_time_seconds " + value);
    return p;
  };
  ServePage(server, "/metrics", page);
  ProbeRig rig(Services({ScrapeProbe("m", server.Url("/metrics"), "interval: 150ms")}));
  rig.Start();
  auto restarts = [](const std::string& t) { return V(t, "m", "triage_target_restarts_total"); };

  std::string t = rig.WaitRuns("m", 3);
  EXPECT_EQ(restarts(t), 0.0) << t;

  // The target restarted: a later start time.
  ServePage(server, "/metrics", with_start("1715981900.25"));
  t = rig.WaitText([&](const std::string& x) { return restarts(x) == 1.0; });
  const double runs = testing::Runs(t, "m");
  // Same process on the following fetches: no further count.
  t = rig.WaitRuns("m", runs + 3);
  EXPECT_EQ(restarts(t), 1.0) << t;

  // Down for a while, then back with a new start time: the restart during
  // the outage counts against the last good fetch.
  server.Set("/metrics", CannedResponse{503, "draining\n", "text/plain", {}});
  t = rig.WaitText([&](const std::string& x) {
    return N(x, "m", "triage_probe_failures_total", {L("reason", "http_status")}) >= 2;
  });
  EXPECT_EQ(restarts(t), 1.0) << t;
  EXPECT_EQ(V(t, "m", "triage_scrape_up"), 0.0) << t;
  ServePage(server, "/metrics", with_start("1715982000"));
  t = rig.WaitText([&](const std::string& x) { return restarts(x) == 2.0; });
  EXPECT_EQ(V(t, "m", "triage_scrape_up"), 1.0) << t;
}

TEST(ScrapeProbe, FdUtilizationFromOpenAndMaxFds) {
  FixtureServer server;
  ServePage(server, "/proxy", ReadFixture("scrape/fd_pressure.txt"));
  ServePage(server, "/mixer", ReadFixture("scrape/mesh_mixer_metrics.txt"));
  ServePage(server, "/bare", "up 1\n");
  ProbeRig rig(Services({ScrapeProbe("proxy", server.Url("/proxy")),
                         ScrapeProbe("mixer", server.Url("/mixer")),
                         ScrapeProbe("bare", server.Url("/bare"))}));
  rig.StartIdle();
  const auto proxy = rig.RunOnce("proxy");
  EXPECT_DOUBLE_EQ(V(proxy.text, "proxy", "triage_target_fd_utilization").value_or(-1),
                   1003.0 / 1024)
      << proxy.text;
  const auto mixer = rig.RunOnce("mixer");
  EXPECT_DOUBLE_EQ(V(mixer.text, "mixer", "triage_target_fd_utilization").value_or(-1),
                   87.0 / 1024)
      << mixer.text;
  // Without the process_* pair there is no ratio to report.
  const auto bare = rig.RunOnce("bare");
  EXPECT_EQ(V(bare.text, "bare", "triage_probe_success"), 1.0) << bare.text;
  EXPECT_EQ(V(bare.text, "bare", "triage_target_fd_utilization"), std::nullopt) << bare.text;
}

TEST(ScrapeProbe, PageWithoutSamplesIsEmpty) {
  FixtureServer server;
  ServePage(server, "/zero", "");
  ServePage(server, "/comments", ReadFixture("scrape/no_samples.txt"));
  ProbeRig rig(Services({
      ScrapeProbe("zero", server.Url("/zero"), "expect_metrics: [echo_http_requests_total]"),
      ScrapeProbe("comments", server.Url("/comments"), "expect_metrics: [echo_http_requests_total]"),
  }));
  rig.StartIdle();
  for (const std::string probe : {"zero", "comments"}) {
    SCOPED_TRACE(probe);
    const auto run = rig.RunOnce(probe);
    const std::string& t = run.text;
    EXPECT_EQ(N(t, probe, "triage_probe_failures_total", {L("reason", "empty")}), 1.0) << t;
    // Reachable and well-formed, like an up target in Prometheus with 0 samples.
    EXPECT_EQ(V(t, probe, "triage_scrape_up"), 1.0) << t;
    EXPECT_EQ(V(t, probe, "triage_scrape_samples"), 0.0) << t;
    EXPECT_EQ(Present(t, probe, "echo_http_requests_total"), "0") << t;
    EXPECT_NE(run.debug.find("no samples"), std::string::npos) << run.debug;
  }
}

TEST(ScrapeProbe, GarbageIsInvalidBodyAndTheDebugOutputNamesTheLine) {
  FixtureServer server;
  ServePage(server, "/metrics", ReadFixture("scrape/garbage.txt"));
  server.Set("/html", CannedResponse{200, "<html><body>Welcome to nginx!</body></html>\n",
                                     "text/html", {}});
  ProbeRig rig(Services({
      ScrapeProbe("g", server.Url("/metrics"), "expect_metrics: [echo_http_requests_total]"),
      ScrapeProbe("html", server.Url("/html")),
  }));
  rig.StartIdle();
  const auto g = rig.RunOnce("g");
  EXPECT_EQ(N(g.text, "g", "triage_probe_failures_total", {L("reason", "invalid_body")}), 1.0)
      << g.text;
  EXPECT_EQ(V(g.text, "g", "triage_scrape_up"), 0.0) << g.text;
  EXPECT_EQ(Present(g.text, "g", "echo_http_requests_total"), "absent") << g.text;
  EXPECT_NE(g.debug.find("line 4: expected ',' or '}'"), std::string::npos) << g.debug;

  const auto html = rig.RunOnce("html");
  EXPECT_EQ(N(html.text, "html", "triage_probe_failures_total", {L("reason", "invalid_body")}), 1.0)
      << html.text;
  EXPECT_NE(html.debug.find("line 1: expected a metric name"), std::string::npos) << html.debug;
}

TEST(ScrapeProbe, OversizedPagesAreBodyTooLarge) {
  RawServer huge(RawServer::HugeBody(8 * 1024 * 1024, /*chunked=*/true));
  FixtureServer server;
  ServePage(server, "/metrics", ReadFixture("scrape/echo_metrics.txt"));
  ProbeRig rig(Services({
      ScrapeProbe("huge", huge.Url("/metrics"), "timeout: 3s, body_size_limit: 64KiB"),
      // Well-formed, but more series than this probe may read.
      ScrapeProbe("many", server.Url("/metrics"), "sample_limit: 10"),
  }));
  rig.StartIdle();
  const auto h = rig.RunOnce("huge");
  EXPECT_EQ(N(h.text, "huge", "triage_probe_failures_total", {L("reason", "body_too_large")}), 1.0)
      << h.text << h.debug;
  EXPECT_EQ(V(h.text, "huge", "triage_scrape_up"), 0.0) << h.text;
  ASSERT_TRUE(h.snap);
  EXPECT_LT(h.snap->duration_seconds, 2.0);  // cut off at the limit, not at the timeout

  const auto m = rig.RunOnce("many");
  EXPECT_EQ(N(m.text, "many", "triage_probe_failures_total", {L("reason", "body_too_large")}), 1.0)
      << m.text;
  EXPECT_NE(m.debug.find("more than 10 samples (sample_limit)"), std::string::npos) << m.debug;
}

TEST(ScrapeProbe, RefusedAndSilentTargets) {
  RawServer silent(RawServer::AcceptAndNeverAnswer());
  const int closed = testing::ClosedPort();
  ProbeRig rig(Services({
      ScrapeProbe("refused", "http://127.0.0.1:" + std::to_string(closed) + "/metrics"),
      ScrapeProbe("silent", silent.Url("/metrics"), "timeout: 300ms"),
  }));
  rig.StartIdle();
  const auto r = rig.RunOnce("refused");
  EXPECT_EQ(N(r.text, "refused", "triage_probe_failures_total", {L("reason", "connection_refused")}),
            1.0)
      << r.text;
  EXPECT_EQ(V(r.text, "refused", "triage_scrape_up"), 0.0) << r.text;
  const auto s = rig.RunOnce("silent");
  EXPECT_EQ(N(s.text, "silent", "triage_probe_failures_total", {L("reason", "timeout")}), 1.0)
      << s.text;
  ASSERT_TRUE(s.snap);
  EXPECT_LT(s.snap->duration_seconds, 0.3 + 0.5);
}

// ---- what Prometheus thinks of the target ---------------------------------------------------

TEST(ScrapeProbe, PrometheusTargetUpDownAndNotFound) {
  FixtureServer target;
  ServePage(target, "/metrics", ReadFixture("scrape/echo_metrics.txt"));
  target.Set("/denied", CannedResponse{401, "Unauthorized\n", "text/plain", {}});
  FixtureServer prom;
  prom.SetFixture("/api/v1/targets", 200, "scrape/prometheus_targets.json");
  const std::string base = "prometheus_url: \"" + prom.Url("") + "/\"";
  ProbeRig rig(Services({
      ScrapeProbe("up", target.Url("/metrics"), base + ", job: echo"),
      ScrapeProbe("inst", target.Url("/metrics"), base + ", job: echo, instance: \"10.42.0.18:8081\""),
      ScrapeProbe("down", target.Url("/metrics"), base + ", job: istio-mesh"),
      ScrapeProbe("unknown", target.Url("/metrics"), base + ", job: istio-telemetry"),
      ScrapeProbe("missing", target.Url("/metrics"), base + ", job: nope"),
      ScrapeProbe("wronginst", target.Url("/metrics"), base + ", job: echo, instance: \"10.0.0.1:1\""),
      // Both hops broken, each seen on its own.
      ScrapeProbe("both", target.Url("/denied"), base + ", job: ingero-echo"),
  }));
  rig.StartIdle();
  auto prom_up = [](const std::string& t, const std::string& p) {
    return V(t, p, "triage_scrape_prometheus_target_up");
  };

  const auto up = rig.RunOnce("up");
  EXPECT_EQ(V(up.text, "up", "triage_probe_success"), 1.0) << up.text << up.debug;
  EXPECT_EQ(prom_up(up.text, "up"), 1.0) << up.text;
  const auto inst = rig.RunOnce("inst");
  EXPECT_EQ(prom_up(inst.text, "inst"), 1.0) << inst.text << inst.debug;

  for (const std::string p : {"down", "unknown", "missing", "wronginst"}) {
    SCOPED_TRACE(p);
    const auto run = rig.RunOnce(p);
    EXPECT_EQ(prom_up(run.text, p), 0.0) << run.text << run.debug;
    EXPECT_EQ(N(run.text, p, "triage_probe_failures_total", {L("reason", "check_failed")}), 1.0)
        << run.text;
    // The target itself answered fine.
    EXPECT_EQ(V(run.text, p, "triage_scrape_up"), 1.0) << run.text;
  }
  const auto down = rig.RunOnce("down");
  EXPECT_NE(down.debug.find("connect: connection refused"), std::string::npos) << down.debug;
  const auto missing = rig.RunOnce("missing");
  EXPECT_NE(missing.debug.find("no active target with job \"nope\""), std::string::npos)
      << missing.debug;

  const auto both = rig.RunOnce("both");
  EXPECT_EQ(N(both.text, "both", "triage_probe_failures_total", {L("reason", "unauthorized")}), 1.0)
      << both.text;
  EXPECT_EQ(prom_up(both.text, "both"), 0.0) << both.text;
  EXPECT_NE(both.debug.find("401 Unauthorized"), std::string::npos) << both.debug;

  // Asked the targets API for active targets, without the target's bearer.
  bool asked = false;
  for (const auto& r : prom.Requests()) {
    EXPECT_EQ(r.path, "/api/v1/targets");
    EXPECT_EQ(r.query, "state=active");
    EXPECT_EQ(r.authorization, "");
    asked = true;
  }
  EXPECT_TRUE(asked);
}

TEST(ScrapeProbe, PrometheusThatCannotBeAskedLeavesTheSeriesOut) {
  FixtureServer target;
  ServePage(target, "/metrics", ReadFixture("scrape/echo_metrics.txt"));
  FixtureServer prom;
  prom.Set("/api/v1/targets", CannedResponse{200, "<html>login</html>", "text/html", {}});
  const int closed = testing::ClosedPort();
  ProbeRig rig(Services({
      ScrapeProbe("notjson", target.Url("/metrics"),
                  "prometheus_url: \"" + prom.Url("") + "\", job: echo"),
      ScrapeProbe("gone", target.Url("/metrics"),
                  "prometheus_url: \"http://127.0.0.1:" + std::to_string(closed) + "\", job: echo"),
  }));
  rig.StartIdle();
  const auto nj = rig.RunOnce("notjson");
  EXPECT_EQ(N(nj.text, "notjson", "triage_probe_failures_total", {L("reason", "invalid_body")}), 1.0)
      << nj.text << nj.debug;
  EXPECT_EQ(V(nj.text, "notjson", "triage_scrape_prometheus_target_up"), std::nullopt) << nj.text;
  EXPECT_EQ(V(nj.text, "notjson", "triage_scrape_up"), 1.0) << nj.text;

  const auto gone = rig.RunOnce("gone");
  EXPECT_EQ(N(gone.text, "gone", "triage_probe_failures_total", {L("reason", "connection_refused")}),
            1.0)
      << gone.text;
  EXPECT_EQ(V(gone.text, "gone", "triage_scrape_prometheus_target_up"), std::nullopt) << gone.text;
}

TEST(ScrapeProbe, TargetsAnswerEvaluation) {
  const std::string body = ReadFixture("scrape/prometheus_targets.json");
  std::string detail;
  EXPECT_EQ(EvaluatePrometheusTargets(body, "echo", "", &detail), PrometheusTargetVerdict::kUp);
  EXPECT_EQ(detail, "2 target(s) up");
  EXPECT_EQ(EvaluatePrometheusTargets(body, "ingero-echo", "10.42.1.5:8081", &detail),
            PrometheusTargetVerdict::kNotUp);
  EXPECT_NE(detail.find("health down, lastError \"server returned HTTP status 401"),
            std::string::npos)
      << detail;
  // The scrape pool name is not the job label.
  EXPECT_EQ(EvaluatePrometheusTargets(body, "serviceMonitor/ingero/ingero-echo/0", "", nullptr),
            PrometheusTargetVerdict::kNotFound);

  // Shapes that are not the targets API, or that try to break the reader.
  for (const std::string& bad : std::vector<std::string>{
           "", "null", "[]", "{\"status\":\"error\",\"error\":\"x\"}", "{\"status\":\"success\"}",
        "{\"status\":\"success\",\"data\":{\"activeTargets\":{}}}",
        std::string(100000, '[')}) {
    EXPECT_EQ(EvaluatePrometheusTargets(bad, "echo", "", nullptr), PrometheusTargetVerdict::kInvalid)
        << bad.substr(0, 60);
  }
  EXPECT_EQ(EvaluatePrometheusTargets(
                "{\"status\":\"success\",\"data\":{\"activeTargets\":[1,\"x\",{\"labels\":[]},"
                "{\"labels\":{\"job\":5}},{\"labels\":{\"job\":\"echo\"},\"health\":7}]}}",
                "echo", "", &detail),
            PrometheusTargetVerdict::kNotUp);
  EXPECT_NE(detail.find("health missing"), std::string::npos) << detail;
}

// ---- expect_metrics grammar and config errors ------------------------------------------------

TEST(ScrapeProbe, ExpectationGrammar) {
  std::string err;
  auto e = ParseMetricExpectation("grpc_server_handled_total{grpc_method=\"Report\"} > 0", &err);
  ASSERT_TRUE(e) << err;
  EXPECT_EQ(e->name, "grpc_server_handled_total");
  ASSERT_EQ(e->matchers.size(), 1u);
  EXPECT_EQ(e->matchers[0], (std::pair<std::string, std::string>{"grpc_method", "Report"}));
  EXPECT_EQ(e->op, MetricExpectation::Op::kGt);
  EXPECT_EQ(e->threshold, 0);

  e = ParseMetricExpectation(" a:b { x = \"q\\\"\\\\\\n\" , y=\"\" , } != +Inf ", &err);
  ASSERT_TRUE(e) << err;
  EXPECT_EQ(e->matchers[0].second, "q\"\\\n");
  EXPECT_EQ(e->op, MetricExpectation::Op::kNe);
  EXPECT_TRUE(std::isinf(e->threshold));
  for (const char* ok : {"up", "up==1", "up >= 1e3", "up<=-1", "up < NaN", "up{}"}) {
    EXPECT_TRUE(ParseMetricExpectation(ok, &err)) << ok << ": " << err;
  }

  struct Bad {
    const char* text;
    const char* error;
  } bad[] = {
      {"", "expected a metric name at character 1"},
      {"9up", "expected a metric name at character 1"},
      {"up{job=~\"a.*\"}", "only equality matchers like label=\"value\" are supported at character 7"},
      {"up{job!=\"a\"}", "only equality matchers"},
      {"up{job=a}", "expected a double-quoted label value at character 8"},
      {"up{job=\"a}", "unterminated label value"},
      {"up{job=\"\\t\"}", "invalid escape in label value"},
      {"up{job=\"a\" x=\"b\"}", "expected ',' or '}' after the label value at character 12"},
      {"up{job=\"a\",job=\"b\"}", "label \"job\" matched twice"},
      {"up{", "expected '}' to close the label matchers"},
      {"up >> 1", "expected a number such as 0"},
      {"up = 1", "expected a comparison"},
      {"up > one", "expected a number such as 0, 1.5, 1e3 or +Inf after the comparison at character 6"},
      {"up > 1 2", "unexpected text after the number at character 8"},
      {"up and down", "expected a comparison (>, >=, ==, <, <=, !=) or the end of the entry at character 4"},
  };
  for (const auto& b : bad) {
    err.clear();
    EXPECT_FALSE(ParseMetricExpectation(b.text, &err)) << b.text;
    EXPECT_EQ(err.rfind(b.error, 0), 0u) << b.text << " -> " << err;
  }
}


TEST(ScrapeProbe, ConfigErrorsNameFileLineAndColumn) {
  const std::string head =
      "services:\n"                               // 1
      "  - name: svc\n"                           // 2
      "    probes:\n"                             // 3
      "      - name: m\n"                         // 4
      "        kind: scrape\n"                    // 5
      "        layer: telemetry\n"                // 6
      "        url: http://127.0.0.1:9/metrics\n";  // 7
  std::string err = testing::ConfigErrorOf(head +
                                "        expect_metrics:\n"                                  // 8
                                "          - echo_http_requests_total\n"                     // 9
                                "          - 'grpc_server_handled_total{grpc_method=~\"Rep.*\"} > 0'\n");  // 10
  EXPECT_EQ(err.rfind("test.yaml:10:13: invalid value for \"expect_metrics\" item 2", 0), 0u) << err;
  EXPECT_NE(err.find("only equality matchers"), std::string::npos) << err;
  EXPECT_NE(err.find("at character 38"), std::string::npos) << err;

  err = testing::ConfigErrorOf(head + "        expect_metrics: [up, 'up >> 1']\n");
  EXPECT_EQ(err.rfind("test.yaml:8:30: invalid value for \"expect_metrics\" item 2", 0), 0u) << err;

  err = testing::ConfigErrorOf(head + "        expect_metrics: [up, up]\n");
  EXPECT_EQ(err.rfind("test.yaml:8:30: ", 0), 0u) << err;
  EXPECT_NE(err.find("given twice"), std::string::npos) << err;

  std::string many = "        expect_metrics: [";
  for (int i = 0; i < 33; ++i) many += (i ? ", m" : "m") + std::to_string(i);
  err = testing::ConfigErrorOf(head + many + "]\n");
  EXPECT_EQ(err.rfind("test.yaml:8:25: ", 0), 0u) << err;
  EXPECT_NE(err.find("at most 32 entries, got 33"), std::string::npos) << err;

  err = testing::ConfigErrorOf(head + "        expect_metrics: up\n");
  EXPECT_EQ(err.rfind("test.yaml:8:25: ", 0), 0u) << err;

  err = testing::ConfigErrorOf(head + "        job: echo\n");
  EXPECT_EQ(err.rfind("test.yaml:8:14: ", 0), 0u) << err;
  EXPECT_NE(err.find("only used together with prometheus_url"), std::string::npos) << err;

  err = testing::ConfigErrorOf(head + "        prometheus_url: http://prometheus:9090\n");
  EXPECT_EQ(err.rfind("test.yaml:8:25: ", 0), 0u) << err;
  EXPECT_NE(err.find("needs job"), std::string::npos) << err;

  err = testing::ConfigErrorOf(head + "        prometheus_url: \"http://prometheus:9090/?x=1\"\n        job: a\n");
  EXPECT_EQ(err.rfind("test.yaml:8:25: ", 0), 0u) << err;

  err = testing::ConfigErrorOf(head + "        sample_limit: 0\n");
  EXPECT_EQ(err.rfind("test.yaml:8:23: ", 0), 0u) << err;

  // Unknown keys are errors too (a typo of expect_metrics).
  err = testing::ConfigErrorOf(head + "        expect_metric: [up]\n");
  EXPECT_EQ(err.rfind("test.yaml:", 0), 0u) << err;
  EXPECT_NE(err.find("expect_metric"), std::string::npos) << err;

  // And a good one loads.
  EXPECT_EQ(testing::ConfigErrorOf(head + "        expect_metrics: [up, 'up{job=\"a\"} > 0']\n"
                               "        prometheus_url: http://prometheus:9090\n"
                               "        job: echo\n        instance: \"echo:8081\"\n"
                               "        sample_limit: 5000\n"),
            "");
}

}  // namespace
}  // namespace triage

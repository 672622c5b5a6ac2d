// Tests for kind: readiness. Single answers run once through the real event
// loop (ProbeRig::RunOnce against a FixtureServer or RawServer on 127.0.0.1);
// behaviour across answers (a check disappearing) runs on the schedule. The
// JSON judging is also checked directly through JudgeReadinessBody.
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "collectors/json_probe_util.h"
#include "collectors/readiness_probe.h"
#include "exporter/config.h"
#include "tests/unit/fixture_server.h"
#include "tests/unit/hostile_bodies.h"
#include "tests/unit/probe_rig.h"
#include "tests/unit/raw_server.h"
#include "tests/unit/test_util.h"

namespace triage {
namespace {

using std::chrono::seconds;
using testing::ExpectConfigError;
using testing::FixtureServer;
using testing::L;
using testing::N;
using testing::ProbeRig;
using testing::RawServer;
using testing::Runs;
using testing::V;

const std::vector<std::string> kNodeChecks = {
    "dataplane_running", "dataplane_config", "policy_ready",      "dns_allowlist",
    "service_plane",     "cluster",          "policy_replication"};

// A service "node" with one readiness probe "r" on `url`; `extra` holds more flow-map keys.
std::string ReadinessYaml(const std::string& url, const std::string& extra = "") {
  return "services:\n"
         "  - name: node\n"
         "    probes:\n"
         "      - {name: r, kind: readiness, layer: readiness, url: \"" +
         url + "\"" + (extra.empty() ? "" : ", " + extra) + "}\n";
}

// Runs probe "r" once on an idle loop and returns what /probe would show.
ProbeRig::OneRun RunOnce(const std::string& url, const std::string& extra = "") {
  ProbeRig rig(ReadinessYaml(url, extra));
  rig.StartIdle();
  return rig.RunOnce("r");
}

std::optional<double> Check(const std::string& text, const std::string& check) {
  return V(text, "r", "triage_readiness_check_ok", {L("check", check)});
}

// The run failed for `reason` (and for nothing else).
void ExpectFailedWith(const ProbeRig::OneRun& run, const std::string& reason) {
  testing::ExpectFailedWith(run, "r", reason);
}

// Probe "r" for the hostile-answer checks shared with the other JSON kinds.
const testing::JsonKindUnderTest kReadiness = {
    "r",
    [](const std::string& url, const std::string& extra) { return RunOnce(url, extra); },
    [](const std::string& text) {
      EXPECT_EQ(V(text, "r", "triage_readiness_check_ok"), std::nullopt) << text;
    },
};

std::string ObjectOfChecks(int n, bool value) {
  std::string body = "{\"checks\": {";
  for (int i = 0; i < n; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "check_%03d", i);
    body += std::string(i ? ", " : "") + "\"" + name + "\": " + (value ? "true" : "false");
  }
  return body + "}}";
}

// ---- answers in the node's real shapes -------------------------------------------

TEST(ReadinessProbeTest, AllSevenNodeChecksPassing) {
  FixtureServer fs;
  fs.SetFixture("/ready", 200, "readiness/node_ready.json");
  const auto run = RunOnce(fs.Url("/ready"));
  ASSERT_NE(run.snap, nullptr);
  EXPECT_EQ(V(run.text, "r", "triage_probe_success"), 1.0) << run.text << run.debug;
  for (const auto& c : kNodeChecks) EXPECT_EQ(Check(run.text, c), 1.0) << c << "\n" << run.text;
  EXPECT_EQ(V(run.text, "r", "triage_http_responses_total", {L("code", "200")}), 1.0) << run.text;
  // Only the checks' keys become series; the other members of the answer do not.
  EXPECT_EQ(Check(run.text, "status"), std::nullopt) << run.text;
  EXPECT_EQ(fs.RequestCount("/ready"), 1u);
}

TEST(ReadinessProbeTest, PolicyNotReadyIs503CheckFailed) {
  FixtureServer fs;
  fs.SetFixture("/ready", 503, "readiness/node_policy_not_ready.json");
  const auto run = RunOnce(fs.Url("/ready"));
  ExpectFailedWith(run, "check_failed");
  EXPECT_EQ(Check(run.text, "policy_ready"), 0.0) << run.text;
  for (const auto& c : kNodeChecks) {
    if (c != "policy_ready") {
      EXPECT_EQ(Check(run.text, c), 1.0) << c << "\n" << run.text;
    }
  }
  // The 503 is counted, so its rate is visible next to the failing key.
  EXPECT_EQ(V(run.text, "r", "triage_http_responses_total", {L("code", "503")}), 1.0) << run.text;
  EXPECT_NE(run.debug.find("check policy_ready failing"), std::string::npos) << run.debug;
}

TEST(ReadinessProbeTest, ArrayOfNamedChecks) {
  FixtureServer fs;
  fs.SetFixture("/ready", 503, "readiness/node_checks_array.json");
  const auto run = RunOnce(fs.Url("/ready"));
  ExpectFailedWith(run, "check_failed");
  EXPECT_EQ(Check(run.text, "dns_allowlist"), 0.0) << run.text;
  EXPECT_EQ(Check(run.text, "policy_replication"), 0.0) << run.text;
  EXPECT_EQ(Check(run.text, "dataplane_running"), 1.0) << run.text;
  EXPECT_EQ(Check(run.text, "cluster"), 1.0) << run.text;
}

TEST(ReadinessProbeTest, ArrayWithCustomFieldNames) {
  FixtureServer fs;
  fs.SetJson("/status", 200,
             R"({"components": [{"component": "postgres", "status": "UP"},
                                {"component": "redis", "status": "up"}]})");
  const auto run = RunOnce(fs.Url("/status"), "checks_pointer: /components, "
                                              "check_name_field: component, check_ok_field: status");
  EXPECT_EQ(V(run.text, "r", "triage_probe_success"), 1.0) << run.text << run.debug;
  EXPECT_EQ(Check(run.text, "postgres"), 1.0) << run.text;
  EXPECT_EQ(Check(run.text, "redis"), 1.0) << run.text;
}

TEST(ReadinessProbeTest, StringValuesPassByWordIgnoringCase) {
  FixtureServer fs;
  fs.SetFixture("/ready", 200, "readiness/service_status_strings.json");
  const auto run = RunOnce(fs.Url("/ready"), "checks_pointer: /components");
  ExpectFailedWith(run, "check_failed");
  EXPECT_EQ(Check(run.text, "postgres"), 1.0) << run.text;  // "ok"
  EXPECT_EQ(Check(run.text, "redis"), 1.0) << run.text;     // "PASS"
  EXPECT_EQ(Check(run.text, "streams"), 1.0) << run.text;   // "Healthy"
  EXPECT_EQ(Check(run.text, "sts"), 1.0) << run.text;       // "up"
  EXPECT_EQ(Check(run.text, "audit"), 0.0) << run.text;     // "degraded"
}

TEST(ReadinessProbeTest, NonTwoHundredWithEveryCheckPassingIsHttpStatus) {
  FixtureServer fs;
  fs.SetFixture("/ready", 503, "readiness/node_ready.json");
  const auto run = RunOnce(fs.Url("/ready"));
  ExpectFailedWith(run, "http_status");
  EXPECT_EQ(Check(run.text, "policy_ready"), 1.0) << run.text;
}

// ---- failure reasons -----------------------------------------------------------

TEST(ReadinessProbeTest, StatusOutsideTheValidSetIsHttpStatus) {
  FixtureServer fs;
  fs.SetFixture("/ready", 500, "readiness/node_ready.json");
  const auto run = RunOnce(fs.Url("/ready"));
  ExpectFailedWith(run, "http_status");
  // The body of an unexpected status is not read.
  EXPECT_EQ(Check(run.text, "policy_ready"), std::nullopt) << run.text;
  EXPECT_EQ(V(run.text, "r", "triage_http_responses_total", {L("code", "500")}), 1.0) << run.text;
}

TEST(ReadinessProbeTest, ConfiguredValidStatusCodes) {
  FixtureServer fs;
  fs.SetFixture("/ready", 503, "readiness/node_policy_not_ready.json");
  // With only 200 valid, a 503 is an unexpected status and its body is not read.
  const auto run = RunOnce(fs.Url("/ready"), "valid_status_codes: [200]");
  ExpectFailedWith(run, "http_status");
  EXPECT_EQ(Check(run.text, "policy_ready"), std::nullopt) << run.text;
}

TEST(ReadinessProbeTest, UnauthorizedAndForbidden) {
  FixtureServer fs;
  fs.SetJson("/ready401", 401, R"({"code": "unauthorized"})");
  fs.SetJson("/ready403", 403, R"({"code": "forbidden"})");
  ExpectFailedWith(RunOnce(fs.Url("/ready401")), "unauthorized");
  ExpectFailedWith(RunOnce(fs.Url("/ready403")), "unauthorized");
}

TEST(ReadinessProbeTest, NonJsonBodyIsInvalidBody) {
  // The proxy's error page of a node that is down: a valid 503, so its body is read.
  testing::ExpectHostileAnswersFail(
      kReadiness, {{.label = "proxy error page", .status = 503,
                    .fixture = "readiness/proxy_error.html", .content_type = "text/html",
                    .debug_has = "not JSON"}});
}

TEST(ReadinessProbeTest, MissingOrWrongTypedPointerIsInvalidBody) {
  const std::string array = R"({"checks": [[{"name": "a", "ok": true}]]})";
  testing::ExpectHostileAnswersFail(
      kReadiness,
      {{.label = "no checks", .body = R"({"status": "ready"})"},
       {.label = "checks a string", .body = R"({"checks": "all good"})"},
       // An index far beyond size_t in the pointer must not throw on the loop.
       {.label = "index beyond size_t", .body = array,
        .extra = "checks_pointer: /checks/99999999999999999999999"}});
  FixtureServer fs;
  fs.SetJson("/array", 200, array);
  const auto ok = RunOnce(fs.Url("/array"), "checks_pointer: /checks/0");
  EXPECT_EQ(V(ok.text, "r", "triage_probe_success"), 1.0) << ok.text << ok.debug;
}

TEST(ReadinessProbeTest, NoChecksFailsUnlessAllowEmpty) {
  FixtureServer fs;
  fs.SetJson("/ready", 200, R"({"checks": {}})");
  ExpectFailedWith(RunOnce(fs.Url("/ready")), "check_failed");
  const auto run = RunOnce(fs.Url("/ready"), "allow_empty: true");
  EXPECT_EQ(V(run.text, "r", "triage_probe_success"), 1.0) << run.text << run.debug;
}

TEST(ReadinessProbeTest, ClosedPortIsConnectionRefused) {
  const auto run = RunOnce("http://127.0.0.1:" + std::to_string(testing::ClosedPort()) + "/ready");
  ExpectFailedWith(run, "connection_refused");
  EXPECT_EQ(V(run.text, "r", "triage_http_responses_total"), std::nullopt) << run.text;
}

TEST(ReadinessProbeTest, SilentTargetCostsItsTimeout) {
  RawServer silent(RawServer::AcceptAndNeverAnswer());
  ExpectFailedWith(RunOnce(silent.Url("/ready"), "timeout: 500ms"), "timeout");
}

TEST(ReadinessProbeTest, HugeBodyIsBodyTooLarge) {
  testing::ExpectHugeBodyIsBodyTooLarge(kReadiness, /*chunked=*/true);
}

TEST(ReadinessProbeTest, DeeplyNestedBodyIsHandled) {
  const int depth = 200000;
  testing::ExpectHostileAnswersFail(
      kReadiness,
      {// An array whose only entry is not a named check: no checks at all.
       {.label = "deeply nested",
        .body = "{\"checks\": " + std::string(depth, '[') + std::string(depth, ']') + "}",
        .extra = "body_size_limit: 1MiB", .reason = "check_failed"},
       {.label = "deeply nested, unterminated",
        .body = "{\"checks\": " + std::string(depth, '['), .extra = "body_size_limit: 1MiB"}});
}

// ---- bounds and series lifetime ------------------------------------------------

TEST(ReadinessProbeTest, ChecksOverTheCapAreNotExported) {
  FixtureServer fs;
  fs.SetJson("/ready", 200, ObjectOfChecks(100, true));
  const auto run = RunOnce(fs.Url("/ready"), "max_checks: 10");
  EXPECT_EQ(V(run.text, "r", "triage_probe_success"), 1.0) << run.text;
  int series = 0;
  for (int i = 0; i < 100; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "check_%03d", i);
    if (Check(run.text, name)) ++series;
  }
  EXPECT_EQ(series, 10) << run.text;
  EXPECT_EQ(Check(run.text, "check_000"), 1.0) << run.text;  // the first ten, in sorted order
  EXPECT_EQ(Check(run.text, "check_009"), 1.0) << run.text;
  EXPECT_NE(run.debug.find("100 found, 10 exported"), std::string::npos) << run.debug;
  EXPECT_NE(run.debug.find("90 checks ignored over max_checks 10"), std::string::npos) << run.debug;
}

TEST(ReadinessProbeTest, FailingCheckOverTheCapStillFails) {
  FixtureServer fs;
  fs.SetJson("/ready", 200, R"({"checks": {"a": true, "b": true, "z_failing": false}})");
  const auto run = RunOnce(fs.Url("/ready"), "max_checks: 2");
  ExpectFailedWith(run, "check_failed");
  EXPECT_EQ(Check(run.text, "z_failing"), std::nullopt) << run.text;
}

TEST(ReadinessProbeTest, HostileCheckNamesAreSanitizedAndBounded) {
  FixtureServer fs;
  const std::string long_name(300, 'k');
  fs.SetJson("/ready", 200,
             "{\"checks\": {\"db \\\"primary\\\"\\n{x}\": true, \"" + long_name + "\": true}}");
  const auto run = RunOnce(fs.Url("/ready"));
  EXPECT_EQ(V(run.text, "r", "triage_probe_success"), 1.0) << run.text << run.debug;
  EXPECT_EQ(Check(run.text, "db__primary___x_"), 1.0) << run.text;
  EXPECT_EQ(Check(run.text, std::string(64, 'k')), 1.0) << run.text;
  EXPECT_EQ(run.text.find(std::string(65, 'k')), std::string::npos);
}

TEST(ReadinessProbeTest, CheckThatDisappearsIsNoLongerExported) {
  FixtureServer fs;
  fs.SetJson("/ready", 200, R"({"checks": {"alpha": true, "beta": true, "gamma": false}})");
  ProbeRig rig(ReadinessYaml(fs.Url("/ready"), "interval: 300ms, timeout: 300ms"));
  rig.Start();
  rig.WaitText([](const std::string& t) { return Check(t, "gamma") == 0.0; });

  fs.SetJson("/ready", 200, R"({"checks": {"alpha": true, "beta": true}})");
  const std::string text = rig.WaitText([](const std::string& t) {
    return !Check(t, "gamma") && Check(t, "alpha") == 1.0 &&
           V(t, "r", "triage_probe_success") == 1.0;
  });
  EXPECT_EQ(Check(text, "beta"), 1.0) << text;

  // An unreadable answer takes every check series away, and a good one brings them back.
  fs.SetJson("/ready", 200, "not json");
  rig.WaitText([](const std::string& t) {
    return !V(t, "r", "triage_readiness_check_ok") &&
           N(t, "r", "triage_probe_failures_total", {L("reason", "invalid_body")}) >= 1;
  });
  fs.SetJson("/ready", 200, R"({"checks": {"alpha": true}})");
  rig.WaitText([](const std::string& t) { return Check(t, "alpha") == 1.0 && !Check(t, "beta"); });
}

// ---- judging bodies directly -----------------------------------------------------------

TEST(ReadinessJudgeTest, MergesCollidingNamesAndSkipsUnnamedEntries) {
  ReadinessProbeConfig c;
  const auto j = JudgeReadinessBody(c, R"({"checks": [
      {"name": "a b", "ok": true}, {"name": "a_b", "ok": false},
      {"ok": true}, {"name": 7, "ok": true}, "stray", {"name": "", "ok": true},
      {"name": "c", "ok": {"nested": true}}, {"name": "d"}]})");
  ASSERT_TRUE(j.readable) << j.problem;
  EXPECT_EQ(j.total, 3u);  // a_b, c, d
  EXPECT_EQ(j.skipped_entries, 4u);
  EXPECT_FALSE(j.all_pass);
  EXPECT_EQ(j.exported.at("a_b"), false);
  EXPECT_EQ(j.exported.at("c"), false);  // an ok field that is an object is not a pass
  EXPECT_EQ(j.exported.at("d"), false);  // no ok field: failing
}

TEST(ReadinessJudgeTest, ObjectValuesMayHoldTheOkField) {
  ReadinessProbeConfig c;
  const auto j = JudgeReadinessBody(
      c, R"({"checks": {"db": {"ok": "passed"}, "cache": {"ok": false}, "queue": 1, "x": null}})");
  ASSERT_TRUE(j.readable) << j.problem;
  EXPECT_EQ(j.exported.at("db"), true);
  EXPECT_EQ(j.exported.at("cache"), false);
  EXPECT_EQ(j.exported.at("queue"), false);
  EXPECT_EQ(j.exported.at("x"), false);
}

TEST(ReadinessJudgeTest, RootPointerAndGarbage) {
  ReadinessProbeConfig c;
  c.checks_pointer = nlohmann::json::json_pointer("");
  const auto root = JudgeReadinessBody(c, R"({"db": true})");
  ASSERT_TRUE(root.readable);
  EXPECT_TRUE(root.all_pass);
  for (const std::string& garbage : testing::NotJsonBodies()) {
    EXPECT_FALSE(JudgeReadinessBody(c, garbage).readable) << garbage;
  }
}

TEST(JsonProbeUtilTest, PointersAndLookups) {
  EXPECT_TRUE(ParseJsonPointer(""));
  EXPECT_TRUE(ParseJsonPointer("/a/~0b/~1c"));
  EXPECT_FALSE(ParseJsonPointer("checks"));
  EXPECT_FALSE(ParseJsonPointer("/a~2"));
  const auto doc = ParseJsonBody(R"({"a": [10, {"b": null}], "a/b": 1})");
  ASSERT_TRUE(doc);
  EXPECT_EQ(*FindJsonPointer(*doc, *ParseJsonPointer("/a/0")), 10);
  EXPECT_TRUE(FindJsonPointer(*doc, *ParseJsonPointer("/a/1/b"))->is_null());
  EXPECT_EQ(*FindJsonPointer(*doc, *ParseJsonPointer("/a~1b")), 1);
  for (const char* missing : {"/x", "/a/2", "/a/-", "/a/01", "/a/0/deeper", "/a/1/b/c",
                              "/a/99999999999999999999999999", "/a/x"}) {
    EXPECT_EQ(FindJsonPointer(*doc, *ParseJsonPointer(missing)), nullptr) << missing;
  }
  EXPECT_FALSE(ParseJsonBody("{\"a\": 1"));
}

// ---- configuration errors ------------------------------------------------------------


// A block-style probe; `extra_lines` start on line 8, keys at column 9.
std::string BlockProbe(const std::string& extra_lines) {
  return "services:\n"
         "  - name: node\n"
         "    probes:\n"
         "      - name: r\n"
         "        kind: readiness\n"
         "        layer: readiness\n"
         "        url: http://127.0.0.1:1/ready\n" +
         extra_lines;
}

TEST(ReadinessConfigTest, BadPointerNamesItsPosition) {
  const std::string msg = ExpectConfigError(BlockProbe("        checks_pointer: checks\n"));
  EXPECT_EQ(msg.rfind("test.yaml:8:25: ", 0), 0u) << msg;
  EXPECT_NE(msg.find("expected a JSON Pointer such as /checks"), std::string::npos) << msg;
}

TEST(ReadinessConfigTest, UnknownKeyAndBadValues) {
  std::string msg = ExpectConfigError(BlockProbe("        check_pointer: /checks\n"));
  EXPECT_EQ(msg.rfind("test.yaml:8:", 0), 0u) << msg;
  EXPECT_NE(msg.find("check_pointer"), std::string::npos) << msg;

  msg = ExpectConfigError(BlockProbe("        valid_status_codes: []\n"));
  EXPECT_EQ(msg.rfind("test.yaml:8:", 0), 0u) << msg;
  EXPECT_NE(msg.find("non-empty list"), std::string::npos) << msg;

  msg = ExpectConfigError(BlockProbe("        max_checks: 0\n"));
  EXPECT_EQ(msg.rfind("test.yaml:8:21: ", 0), 0u) << msg;

  msg = ExpectConfigError(BlockProbe("        check_ok_field: \"\"\n"));
  EXPECT_EQ(msg.rfind("test.yaml:8:", 0), 0u) << msg;
}

TEST(ReadinessConfigTest, DefaultsAndHttpClientOptions) {
  const Config c = LoadConfigString(
      BlockProbe("        headers: {Accept: application/json}\n"
                 "        body_size_limit: 256KiB\n"),
      "test.yaml");
  ASSERT_EQ(c.probes.size(), 1u);
  const auto* spec = dynamic_cast<const ReadinessProbeSpec*>(c.probes[0].get());
  ASSERT_NE(spec, nullptr);
  EXPECT_EQ(spec->config().http.valid_status_codes, (std::vector<int>{200, 503}));
  EXPECT_EQ(spec->config().checks_pointer.to_string(), "/checks");
  EXPECT_EQ(spec->config().max_checks, 64);
  EXPECT_FALSE(spec->config().allow_empty);
  EXPECT_EQ(spec->config().http.body_size_limit, 256 * 1024);
}

}  // namespace
}  // namespace triage

// The triage walk (exporter/triage_walk.cpp): which alert a probe failure
// feeds, the order of the walk, its JSON, and /api/v1/triage plus the landing
// page of an App on 127.0.0.1:0 probing a FixtureServer.
#include "exporter/triage_walk.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "exporter/app.h"
#include "exporter/config.h"
#include "exporter/runbook_pages.h"
#include "tests/unit/fixture_server.h"
#include "tests/unit/test_util.h"

namespace triage {
namespace {

using std::chrono::seconds;
using testing::CannedResponse;
using testing::FixtureServer;
using testing::HttpGet;
using testing::HttpReply;
using testing::TempDir;
using testing::WaitFor;

using testing::Contains;

// A probe of any kind that never runs: the walk only reads its common fields.
class FakeSpec : public ProbeSpec {
 public:
  using ProbeSpec::ProbeSpec;
  std::unique_ptr<ProbeState> NewState() const override { return nullptr; }
  void Run(Fetcher&, ProbeState&, DebugLog*, std::function<void(RunOutcome)> done) const override {
    done({});
  }
  void Render(const ProbeState&, SampleWriter&) const override {}
};

ProbeCommon Common(const std::string& service, const std::string& name, const std::string& kind,
                   Layer layer) {
  ProbeCommon c;
  c.service = service;
  c.name = name;
  c.kind = kind;
  c.layer = layer;
  c.label_prefix = "service=\"" + service + "\",probe=\"" + name + "\"";
  return c;
}

using Fill = std::function<void(SampleWriter&)>;

std::shared_ptr<const Snapshot> Snap(bool success, FailureReason reason, const Fill& fill = {},
                                     int status = 0, const std::string& error_code = "") {
  SampleWriter w("service=\"s\",probe=\"p\"");
  if (fill) fill(w);
  w.SetLastResponse(status, error_code);
  auto s = std::make_shared<Snapshot>(w.Finish());
  s->success = success;
  s->reason = reason;
  s->finished_unix = 1.7e9;
  return s;
}

std::string AlertOf(const std::string& kind, Layer layer, FailureReason reason,
                    const Fill& fill = {}, int status = 0, const std::string& error_code = "",
                    std::vector<std::string>* details = nullptr) {
  const auto snap = Snap(false, reason, fill, status, error_code);
  FailureAlert fa = AlertForFailure(Common("s", "p", kind, layer), *snap);
  if (details) *details = fa.details;
  return std::string(fa.alert);
}

TEST(TriageWalkTable, EveryAlertItCanNameIsInTheEmbeddedIndex) {
  std::set<std::string> index;
  for (const auto& a : EmbeddedAlerts()) index.insert(a.name);
  ASSERT_GE(index.size(), 30u);
  std::set<std::string> names;
  for (auto n : TriageWalkAlertNames()) {
    EXPECT_TRUE(index.count(std::string(n))) << n << " is not an alert of alerts/index.json";
    names.insert(std::string(n));
  }
  EXPECT_EQ(names.size(), TriageWalkAlertNames().size()) << "a name is listed twice";

  // Whatever a failure looks like, the alert comes from that list.
  const std::vector<Fill> fills = {
      {},
      [](SampleWriter& w) { w.Add(FamilyId::kReadinessCheckOk, "check", "policy_ready", 0); },
      [](SampleWriter& w) { w.Add(FamilyId::kClusterLeaderKnown, 0); },
      [](SampleWriter& w) {
        w.Add(FamilyId::kClusterLeaderKnown, 1);
        w.Add(FamilyId::kClusterReplicationReady, 0);
      },
      [](SampleWriter& w) {
        SampleWriter::LabelView l[] = {{"namespace", "n"}, {"persistentvolumeclaim", "c"},
                                       {"phase", "Lost"}};
        w.Add(FamilyId::kPvcPhase, l, 1);
      },
      [](SampleWriter& w) { w.Add(FamilyId::kScrapeUp, 0); },
      [](SampleWriter& w) {
        w.Add(FamilyId::kScrapeUp, 1);
        w.Add(FamilyId::kScrapeExpectedMetricPresent, "metric", "x_total", 0);
      },
      [](SampleWriter& w) {
        w.Add(FamilyId::kScrapeUp, 1);
        w.Add(FamilyId::kScrapePrometheusTargetUp, 0);
      },
  };
  std::set<std::string> seen;
  for (const char* kind : {"http", "tcp", "readiness", "cluster", "scrape", "kubernetes_pvc"}) {
    for (int layer = 0; layer <= static_cast<int>(Layer::kTelemetry); ++layer) {
      for (size_t r = 1; r < static_cast<size_t>(FailureReason::kCount); ++r) {
        const std::pair<int, const char*> responses[] = {
            {0, ""},   {200, ""}, {401, ""}, {403, ""}, {404, ""},
            {410, ""}, {429, ""}, {500, ""}, {502, ""}, {503, "shutting_down"},
            {503, "performance_mode"}};
        for (const auto& [status, ec] : responses) {
          for (const auto& fill : fills) {
            const std::string alert = AlertOf(kind, static_cast<Layer>(layer),
                                              static_cast<FailureReason>(r), fill, status, ec);
            EXPECT_TRUE(names.count(alert)) << alert;
            seen.insert(alert);
          }
        }
      }
    }
  }
  // And every name of the list is reachable.
  EXPECT_EQ(seen, names);
}

TEST(TriageWalkTable, FailuresFeedTheirAlerts) {
  using R = FailureReason;
  // Liveness first, whatever the kind and reason.
  EXPECT_EQ(AlertOf("http", Layer::kLiveness, R::kConnectionRefused), "TriageTargetDown");
  EXPECT_EQ(AlertOf("tcp", Layer::kLiveness, R::kTimeout), "TriageTargetDown");
  EXPECT_EQ(AlertOf("http", Layer::kLiveness, R::kHttpStatus, {}, 503), "TriageTargetDown");
  // Unreadable credentials, whatever the layer.
  EXPECT_EQ(AlertOf("http", Layer::kLiveness, R::kCredentials), "TriageProbeMisconfigured");
  EXPECT_EQ(AlertOf("http", Layer::kTraffic, R::kCredentials), "TriageProbeMisconfigured");
  // Readiness: the failing keys, else not ready.
  std::vector<std::string> details;
  EXPECT_EQ(AlertOf("readiness", Layer::kReadiness, R::kCheckFailed,
                    [](SampleWriter& w) {
                      w.Add(FamilyId::kReadinessCheckOk, "check", "dataplane_running", 1);
                      w.Add(FamilyId::kReadinessCheckOk, "check", "policy_ready", 0);
                      w.Add(FamilyId::kReadinessCheckOk, "check", "dns_allowlist", 0);
                    },
                    503, "", &details),
            "TriageReadinessCheckFailing");
  EXPECT_EQ(details, (std::vector<std::string>{"policy_ready", "dns_allowlist"}));
  EXPECT_EQ(AlertOf("readiness", Layer::kReadiness, R::kTimeout), "TriageNotReady");
  EXPECT_EQ(AlertOf("http", Layer::kReadiness, R::kHttpStatus, {}, 503), "TriageNotReady");
  // Dependencies.
  EXPECT_EQ(AlertOf("tcp", Layer::kDependency, R::kConnectionRefused), "TriageDependencyDown");
  EXPECT_EQ(AlertOf("http", Layer::kDependency, R::kHttpStatus, {}, 500), "TriageDependencyDown");
  EXPECT_EQ(AlertOf("cluster", Layer::kDependency, R::kTimeout), "TriageDependencyDown");
  EXPECT_EQ(AlertOf("cluster", Layer::kDependency, R::kCheckFailed,
                    [](SampleWriter& w) { w.Add(FamilyId::kClusterLeaderKnown, 0); }),
            "TriageClusterLeaderUnknown");
  EXPECT_EQ(AlertOf("cluster", Layer::kDependency, R::kCheckFailed,
                    [](SampleWriter& w) {
                      w.Add(FamilyId::kClusterLeaderKnown, 1);
                      w.Add(FamilyId::kClusterReplicationReady, 0);
                    }),
            "TriageClusterReplicationNotReady");
  EXPECT_EQ(AlertOf("cluster", Layer::kDependency, R::kCheckFailed,
                    [](SampleWriter& w) {
                      w.Add(FamilyId::kClusterLeaderKnown, 1);
                      w.Add(FamilyId::kClusterReplicationReady, 1);
                      w.Add(FamilyId::kClusterFollowerLagEntries, "follower", "n2", 5000);
                    }),
            "TriageClusterFollowerLagging");
  auto phase = [](const char* p) {
    return [p](SampleWriter& w) {
      for (const char* each : {"Pending", "Bound", "Lost"}) {
        SampleWriter::LabelView l[] = {{"namespace", "n"}, {"persistentvolumeclaim", "c"},
                                       {"phase", each}};
        w.Add(FamilyId::kPvcPhase, l, std::string_view(each) == p ? 1 : 0);
      }
    };
  };
  EXPECT_EQ(AlertOf("kubernetes_pvc", Layer::kDependency, R::kCheckFailed, phase("Lost")),
            "TriagePvcLost");
  EXPECT_EQ(AlertOf("kubernetes_pvc", Layer::kDependency, R::kCheckFailed, phase("Pending")),
            "TriagePvcPending");
  EXPECT_EQ(AlertOf("kubernetes_pvc", Layer::kDependency, R::kUnauthorized, {}, 403),
            "TriageProbeMisconfigured");
  // Traffic over HTTP: by the last status code.
  EXPECT_EQ(AlertOf("http", Layer::kTraffic, R::kUnauthorized, {}, 401), "TriageHttpUnauthorized");
  EXPECT_EQ(AlertOf("http", Layer::kTraffic, R::kUnauthorized, {}, 403), "TriageHttpForbidden");
  EXPECT_EQ(AlertOf("http", Layer::kTraffic, R::kHttpStatus, {}, 410), "TriageHttpRemovedApiInUse");
  EXPECT_EQ(AlertOf("http", Layer::kTraffic, R::kHttpStatus, {}, 429), "TriageHttpRateLimited");
  EXPECT_EQ(AlertOf("http", Layer::kTraffic, R::kHttpStatus, {}, 500), "TriageHttpBackendFailures");
  EXPECT_EQ(AlertOf("http", Layer::kTraffic, R::kHttpStatus, {}, 503, "performance_mode"),
            "TriagePerformanceModeUnavailable");
  EXPECT_EQ(AlertOf("http", Layer::kTraffic, R::kHttpStatus, {}, 503, "shutting_down"),
            "TriageHttpUnavailableTooLong");
  EXPECT_EQ(AlertOf("http", Layer::kTraffic, R::kHttpStatus, {}, 503), "TriageHttpUnavailableTooLong");
  EXPECT_EQ(AlertOf("http", Layer::kTraffic, R::kHttpStatus, {}, 502), "TriageHttp5xxErrorBudgetBurn");
  EXPECT_EQ(AlertOf("http", Layer::kTraffic, R::kTimeout), "TriageProbeFailing");
  EXPECT_EQ(AlertOf("http", Layer::kTraffic, R::kConnectionRefused), "TriageProbeFailing");
  EXPECT_EQ(AlertOf("http", Layer::kTraffic, R::kHttpStatus, {}, 404), "TriageProbeFailing");
  EXPECT_EQ(AlertOf("tcp", Layer::kTraffic, R::kTls), "TriageProbeFailing");
  // Scrape.
  EXPECT_EQ(AlertOf("scrape", Layer::kTelemetry, R::kUnauthorized,
                    [](SampleWriter& w) { w.Add(FamilyId::kScrapeUp, 0); }, 401),
            "TriageScrapeFailing");
  EXPECT_EQ(AlertOf("scrape", Layer::kTelemetry, R::kCheckFailed,
                    [](SampleWriter& w) {
                      w.Add(FamilyId::kScrapeUp, 1);
                      w.Add(FamilyId::kScrapeExpectedMetricPresent, "metric", "a_total", 1);
                      w.Add(FamilyId::kScrapeExpectedMetricPresent, "metric", "b_total", 0);
                    },
                    200, "", &details),
            "TriageExpectedMetricMissing");
  EXPECT_EQ(details, std::vector<std::string>{"b_total"});
  EXPECT_EQ(AlertOf("scrape", Layer::kTelemetry, R::kCheckFailed,
                    [](SampleWriter& w) {
                      w.Add(FamilyId::kScrapeUp, 1);
                      w.Add(FamilyId::kScrapePrometheusTargetUp, 0);
                    }),
            "TriagePrometheusTargetNotUp");
}

TEST(TriageWalk, OrdersByLayerAndLinksTheFirstBrokenLayersRunbook) {
  const Config cfg = LoadConfigString(
      "global: {runbook_base_url: 'https://runbooks.example.test/triage/'}\n"
      "services:\n"
      "  - name: s\n"
      "    probes: [{name: x, kind: tcp, layer: dependency, address: '127.0.0.1:1'}]\n",
      "walk.yaml");
  const std::string base = cfg.global.runbook_base_url;
  ASSERT_EQ(base, "https://runbooks.example.test/triage/");
  auto spec = [](const char* name, const char* kind, Layer layer) {
    return std::make_shared<FakeSpec>(Common("s", name, kind, layer));
  };
  std::vector<ProbeEntry> entries = {
      {spec("metrics", "scrape", Layer::kTelemetry),
       Snap(false, FailureReason::kConnectionRefused)},
      {spec("api", "http", Layer::kTraffic), Snap(false, FailureReason::kUnauthorized, {}, 401)},
      {spec("other", "http", Layer::kLiveness), nullptr},
      {spec("db", "tcp", Layer::kDependency), Snap(false, FailureReason::kConnectionRefused)},
      {spec("health", "http", Layer::kLiveness), Snap(true, FailureReason::kNone, {}, 200)},
      {std::make_shared<FakeSpec>(Common("t", "health", "http", Layer::kLiveness)),
       Snap(false, FailureReason::kTimeout)},
  };
  auto walk = WalkService(entries, "s", base);
  ASSERT_TRUE(walk);
  std::vector<std::string> order;
  for (const auto& p : walk->probes) order.push_back(p.probe);
  EXPECT_EQ(order, (std::vector<std::string>{"other", "health", "db", "api", "metrics"}));
  ASSERT_TRUE(walk->first_broken);
  EXPECT_EQ(walk->first_broken->probe, "db");
  EXPECT_EQ(walk->first_broken->alert, "TriageDependencyDown");
  EXPECT_EQ(walk->first_broken->runbook_url, base + "dependencies.md#triagedependencydown");

  const auto j = TriageWalkJson(*walk);
  EXPECT_EQ(j["service"], "s");
  EXPECT_TRUE(j["probes"][0]["success"].is_null());  // not run yet
  EXPECT_EQ(j["probes"][1]["success"], true);
  EXPECT_TRUE(j["probes"][1]["reason"].is_null());
  EXPECT_EQ(j["probes"][1]["status_code"], 200);
  EXPECT_EQ(j["probes"][1]["last_run_unix"], 1.7e9);
  EXPECT_FALSE(j["probes"][2].contains("status_code"));
  EXPECT_EQ(j["probes"][3]["reason"], "unauthorized");
  EXPECT_EQ(j["first_broken"]["layer"], "dependency");
  EXPECT_EQ(j["first_broken"]["reason"], "connection_refused");

  EXPECT_FALSE(WalkService(entries, "nope", base));
  EXPECT_EQ(ServiceNames(entries), (std::vector<std::string>{"s", "t"}));

  // For every alert the walk can name: runbook_url = base + file + '#' + anchor
  // of the embedded index.
  for (auto name : TriageWalkAlertNames()) {
    const AlertInfo* info = FindEmbeddedAlert(name);
    ASSERT_NE(info, nullptr) << name;
    ASSERT_FALSE(info->file.empty()) << name;
    ASSERT_FALSE(info->anchor.empty()) << name;
  }
  const std::vector<std::pair<std::shared_ptr<const Snapshot>, const char*>> cases = {
      {Snap(false, FailureReason::kUnauthorized, {}, 401), "TriageHttpUnauthorized"},
      {Snap(false, FailureReason::kHttpStatus, {}, 503, "performance_mode"),
       "TriagePerformanceModeUnavailable"},
      {Snap(false, FailureReason::kHttpStatus, {}, 429), "TriageHttpRateLimited"},
  };
  for (const auto& [snap, alert] : cases) {
    const std::vector<ProbeEntry> one = {{spec("api", "http", Layer::kTraffic), snap}};
    const auto w = WalkService(one, "s", base);
    ASSERT_TRUE(w && w->first_broken);
    const AlertInfo* info = FindEmbeddedAlert(alert);
    ASSERT_NE(info, nullptr);
    EXPECT_EQ(w->first_broken->alert, alert);
    EXPECT_EQ(w->first_broken->runbook_url, base + info->file + "#" + info->anchor);
  }
}

// ---------------------------------------------------------------------------
// /api/v1/triage and the landing page, end to end in process.

class TriageApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    target_ = new FixtureServer();
    target_->Set("/ok", CannedResponse{200, "ok\n", "text/plain", {}});
    target_->Set("/down", CannedResponse{503, "down\n", "text/plain", {}});
    target_->SetJson("/api", 401, R"({"code":"unauthorized"})");
    target_->SetJson("/ready", 503, R"({"checks":{"dataplane_running":true,"policy_ready":false}})");
    dir_ = new TempDir();
    const std::string config =
        "global:\n"
        "  interval: 300ms\n"
        "  timeout: 300ms\n"
        "  runbook_base_url: https://runbooks.example.test/triage/\n"
        "services:\n"
        "  - name: broken\n"
        "    probes:\n"
        "      - {name: api, kind: http, layer: traffic, url: \"" + target_->Url("/api") + "\",\n"
        "         valid_status_codes: [200]}\n"
        "      - {name: health, kind: http, layer: liveness, url: \"" + target_->Url("/down") + "\"}\n"
        "  - name: green\n"
        "    probes:\n"
        "      - {name: api, kind: http, layer: traffic, url: \"" + target_->Url("/ok") + "\"}\n"
        "      - {name: health, kind: http, layer: liveness, url: \"" + target_->Url("/ok") + "\"}\n"
        "  - name: node\n"
        "    probes:\n"
        "      - {name: health, kind: http, layer: liveness, url: \"" + target_->Url("/ok") + "\"}\n"
        "      - {name: ready, kind: readiness, layer: readiness, url: \"" + target_->Url("/ready") + "\"}\n";
    app_ = new App(AppOptions{dir_->Write("config.yaml", config), "127.0.0.1:0"});
    app_->Start();
    // Every probe has run.
    WaitFor(
        [] {
          for (const char* s : {"broken", "green", "node"}) {
            const HttpReply r = Get(std::string("/api/v1/triage?service=") + s);
            if (r.status != 200) return false;
            const auto walk = nlohmann::json::parse(r.body);
            for (const auto& p : walk["probes"]) {
              if (p["success"].is_null()) return false;
            }
          }
          return true;
        },
        seconds(20));
  }
  static void TearDownTestSuite() {
    app_->Stop();
    delete app_;
    delete dir_;
    delete target_;
  }
  static HttpReply Get(const std::string& path) {
    return HttpGet("http://127.0.0.1:" + std::to_string(app_->port()) + path, seconds(10));
  }
  static nlohmann::json Walk(const std::string& service) {
    const HttpReply r = Get("/api/v1/triage?service=" + service);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.content_type, "application/json");
    return nlohmann::json::parse(r.body);
  }

  static FixtureServer* target_;
  static TempDir* dir_;
  static App* app_;
};

FixtureServer* TriageApiTest::target_ = nullptr;
TempDir* TriageApiTest::dir_ = nullptr;
App* TriageApiTest::app_ = nullptr;

TEST_F(TriageApiTest, FailingLivenessComesBeforeFailingTraffic) {
  const auto j = Walk("broken");
  EXPECT_EQ(j["service"], "broken");
  ASSERT_EQ(j["probes"].size(), 2u);
  EXPECT_EQ(j["probes"][0]["probe"], "health");
  EXPECT_EQ(j["probes"][0]["layer"], "liveness");
  EXPECT_EQ(j["probes"][0]["kind"], "http");
  EXPECT_EQ(j["probes"][0]["success"], false);
  EXPECT_EQ(j["probes"][0]["reason"], "http_status");
  EXPECT_EQ(j["probes"][0]["status_code"], 503);
  EXPECT_GT(j["probes"][0]["last_run_unix"].get<double>(), 1.6e9);
  EXPECT_EQ(j["probes"][1]["probe"], "api");
  EXPECT_EQ(j["probes"][1]["success"], false);
  EXPECT_EQ(j["probes"][1]["reason"], "unauthorized");
  EXPECT_EQ(j["probes"][1]["status_code"], 401);
  const auto& b = j["first_broken"];
  ASSERT_TRUE(b.is_object()) << j.dump();
  EXPECT_EQ(b["layer"], "liveness");
  EXPECT_EQ(b["probe"], "health");
  EXPECT_EQ(b["reason"], "http_status");
  EXPECT_EQ(b["alert"], "TriageTargetDown");
  EXPECT_EQ(b["runbook_url"], "https://runbooks.example.test/triage/liveness.md#triagetargetdown");
}

TEST_F(TriageApiTest, AllGreenServiceHasNoBrokenLayer) {
  const auto j = Walk("green");
  ASSERT_EQ(j["probes"].size(), 2u);
  for (const auto& p : j["probes"]) {
    EXPECT_EQ(p["success"], true) << p.dump();
    EXPECT_TRUE(p["reason"].is_null()) << p.dump();
  }
  EXPECT_TRUE(j.contains("first_broken"));
  EXPECT_TRUE(j["first_broken"].is_null()) << j.dump();
}

TEST_F(TriageApiTest, FailingReadinessNamesItsChecks) {
  const auto j = Walk("node");
  const auto& b = j["first_broken"];
  ASSERT_TRUE(b.is_object()) << j.dump();
  EXPECT_EQ(b["layer"], "readiness");
  EXPECT_EQ(b["alert"], "TriageReadinessCheckFailing");
  EXPECT_EQ(b["checks"], nlohmann::json({"policy_ready"}));
  EXPECT_EQ(b["runbook_url"],
            "https://runbooks.example.test/triage/readiness.md#triagereadinesscheckfailing");
}

TEST_F(TriageApiTest, UnknownServiceIs404AndMissingParameter400) {
  HttpReply r = Get("/api/v1/triage?service=nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_TRUE(nlohmann::json::parse(r.body).contains("error")) << r.body;
  r = Get("/api/v1/triage?service=%3Cscript%3E%FF");
  EXPECT_EQ(r.status, 404);
  EXPECT_TRUE(nlohmann::json::accept(r.body)) << r.body;
  for (const char* path : {"/api/v1/triage", "/api/v1/triage?service=", "/api/v1/triage?x=1"}) {
    r = Get(path);
    EXPECT_EQ(r.status, 400) << path;
    EXPECT_EQ(r.content_type, "application/json") << path;
    EXPECT_TRUE(nlohmann::json::parse(r.body).contains("error")) << r.body;
  }
}

TEST_F(TriageApiTest, LandingPageShowsTheWalkOfEveryService) {
  const HttpReply r = Get("/");
  ASSERT_EQ(r.status, 200);
  for (const char* s : {"broken", "green", "node"}) {
    EXPECT_TRUE(Contains(r.body, std::string("<h3>Service ") + s)) << s;
    EXPECT_TRUE(Contains(r.body, std::string("href=\"/api/v1/triage?service=") + s + "\"")) << s;
  }
  // broken: liveness first, with its alert linked to the runbook section here.
  const size_t broken = r.body.find("<h3>Service broken");
  const std::string section = r.body.substr(broken, r.body.find("<h3>Service green") - broken);
  EXPECT_LT(section.find("<td>liveness</td><td>health</td>"),
            section.find("<td>traffic</td><td>api</td>"));
  EXPECT_TRUE(Contains(section, "failure: http_status (HTTP 503)")) << section;
  EXPECT_TRUE(Contains(section,
                       "<a href=\"/runbooks/liveness.md#triagetargetdown\">TriageTargetDown</a>"))
      << section;
  EXPECT_TRUE(Contains(r.body, "No broken layer")) << r.body;
  EXPECT_TRUE(Contains(r.body, "(failing checks: policy_ready)")) << r.body;
  // The probes table is still there.
  EXPECT_TRUE(Contains(r.body, "Probes (6)"));
  EXPECT_TRUE(Contains(r.body, "<td>broken</td><td>health</td>"));
}

}  // namespace
}  // namespace triage

// Tests for the systems the simulator plays besides the default Echo server
// (tools/simulator/node_system.h, kube_system.h), for Echo's scrape modes
// (metrics_empty, metrics_garbage, no_traffic, restarted, fd_pressure),
// for scenario validation per system, and for --system in the binary. All
// over real HTTP on 127.0.0.1.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "exposition/exposition_parser.h"
#include "tests/unit/probe_rig.h"
#include "tests/unit/test_util.h"
#include "tools/simulator/echo_system.h"
#include "tools/simulator/simulator.h"

extern char** environ;

namespace triage::sim {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
namespace tu = triage::testing;

constexpr const char* kReadinessKeys[] = {"dataplane_running", "dataplane_config", "policy_ready",
                                          "dns_allowlist",     "service_plane",    "cluster",
                                          "policy_replication"};

// A started simulator of one system, with GETs relative to its base URL.
class Sim {
 public:
  explicit Sim(std::string system, std::string token = "") {
    SimulatorOptions o;
    o.system = std::move(system);
    o.token = std::move(token);
    sim_ = std::make_unique<Simulator>(o);
    sim_->Start();
  }
  Simulator& operator*() { return *sim_; }
  Simulator* operator->() { return sim_.get(); }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(sim_->port()) + path;
  }
  tu::HttpReply Get(const std::string& path, const std::string& token = "") const {
    std::vector<std::string> headers;
    if (!token.empty()) headers.push_back("Authorization: Bearer " + token);
    return tu::HttpGet(Url(path), std::chrono::seconds(5), headers);
  }
  json GetJson(const std::string& path, long want_status = 200) const {
    const tu::HttpReply r = Get(path);
    EXPECT_EQ(r.status, want_status) << path << ": " << r.body << r.error;
    EXPECT_EQ(r.content_type, "application/json") << path;
    return json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  }
  void Mode(const std::string& mode) { ASSERT_TRUE(sim_->SetMode(mode)) << mode; }

 private:
  std::unique_ptr<Simulator> sim_;
};

// Parses RFC 3339 "2025-05-17T10:02:13Z"; -1 when it does not parse.
std::time_t ParseRfc3339(const std::string& s) {
  std::tm tm{};
  const char* end = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (end == nullptr || *end != '\0') return -1;
  return timegm(&tm);
}

// Samples of a metrics page by name (without labels), or an empty map when
// the page is not the exposition format.
std::map<std::string, double> ParseMetrics(const std::string& body, ExpositionStatus* status) {
  std::map<std::string, double> out;
  const ExpositionResult r = ParseExposition(body, {}, [&](const ExpositionSample& s) {
    if (s.labels.empty()) out[std::string(s.name)] = s.value;
  });
  *status = r.status;
  return out;
}

// ---- systems in general -----------------------------------------------------------

TEST(SimulatorSystems, NamesModesAndUnknownSystem) {
  EXPECT_EQ(SystemNames(), (std::vector<std::string>{"echo", "node", "kube"}));
  EXPECT_EQ(&Simulator::Modes(), &Simulator::Modes("echo"));
  for (const auto& name : SystemNames()) {
    SCOPED_TRACE(name);
    const auto& modes = Simulator::Modes(name);
    ASSERT_GE(modes.size(), 2u);
    EXPECT_EQ(modes.front(), "ok");
    EXPECT_EQ(modes.back(), "hang");
    SimulatorOptions o;
    o.system = name;
    Simulator sim(o);
    EXPECT_EQ(sim.system(), name);
    EXPECT_EQ(sim.modes(), modes);
    EXPECT_EQ(MakeSystem(name, o)->Modes().size() + 1, modes.size());
  }
  SimulatorOptions bad;
  bad.system = "mainframe";
  EXPECT_THROW(Simulator{bad}, std::invalid_argument);
  EXPECT_THROW(Simulator::Modes("mainframe"), std::invalid_argument);
}

TEST(SimulatorSystems, ModesBelongToTheirSystem) {
  Sim node("node");
  EXPECT_FALSE(node->SetMode("rate_limited"));
  EXPECT_FALSE(node->SetMode("lost"));
  EXPECT_TRUE(node->SetMode("no_leader"));
  EXPECT_THROW(node->PlayScenario(Scenario{{{"rate_limited", milliseconds(10)}}, true}),
               std::invalid_argument);

  Sim echo("echo");
  EXPECT_FALSE(echo->SetMode("no_leader"));
  EXPECT_FALSE(echo->SetMode("pending_wait_for_consumer"));

  // The admin route lists the system's own modes.
  const json admin = node.GetJson("/-/mode");
  EXPECT_EQ(admin["system"], "node");
  EXPECT_EQ(admin["mode"], "no_leader");
  EXPECT_EQ(admin["modes"].get<std::vector<std::string>>(), Simulator::Modes("node"));
  EXPECT_EQ(tu::HttpPost(node.Url("/-/mode?mode=forbidden")).status, 400);
  EXPECT_EQ(tu::HttpPost(node.Url("/-/mode?mode=leader_flapping")).status, 200);
  EXPECT_EQ(node->mode(), "leader_flapping");
}

TEST(SimulatorSystems, HangWorksInEverySystem) {
  for (const std::string system : {"node", "kube"}) {
    SCOPED_TRACE(system);
    Sim s(system);
    s.Mode("hang");
    const tu::HttpReply r = tu::HttpGet(s.Url("/health"), milliseconds(300));
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(s.GetJson("/-/mode")["mode"], "hang");
    s.Mode("ok");
  }
}

// ---- node -----------------------------------------------------------------------------

TEST(SimulatorNode, OkAnswersEverything) {
  Sim s("node");
  EXPECT_EQ(s.GetJson("/health"), json::parse(R"({"status":"ok"})"));

  const json ready = s.GetJson("/ready");
  EXPECT_EQ(ready["status"], "ready");
  ASSERT_TRUE(ready["checks"].is_object());
  EXPECT_EQ(ready["checks"].size(), std::size(kReadinessKeys));
  for (const char* key : kReadinessKeys) EXPECT_EQ(ready["checks"][key], true) << key;

  const json stats = s.GetJson("/api/v1/stats");
  EXPECT_EQ(stats["performance_mode"], false);
  const json& c = stats["cluster"];
  EXPECT_EQ(c["node_id"], "node-1");
  EXPECT_EQ(c["leader"], "node-1");
  EXPECT_EQ(c["is_leader"], true);
  EXPECT_EQ(c["policy_replication"]["ready"], true);
  ASSERT_EQ(c["followers"].size(), 2u);
  EXPECT_EQ(c["followers"][0]["id"], "node-2");
  EXPECT_EQ(c["followers"][0]["lag_entries"], 0);
  EXPECT_EQ(c["followers"][1]["id"], "node-3");
  EXPECT_EQ(c["followers"][1]["lag_entries"], 0);
  EXPECT_TRUE(stats["uptime_seconds"].is_number_unsigned());
  EXPECT_EQ(stats["dataplane"]["running"], true);

  EXPECT_TRUE(s.GetJson("/api/v1/audit/findings")["findings"].is_array());
  const tu::HttpReply wiretap = s.Get("/api/v1/wiretap/stream");
  EXPECT_EQ(wiretap.status, 200);
  EXPECT_TRUE(json::accept(wiretap.body.substr(0, wiretap.body.find('\n'))));
  EXPECT_EQ(s.Get("/api/v1/dns-cache").status, 200);
  EXPECT_EQ(s.Get("/api/v1/nothing").status, 404);
  EXPECT_EQ(tu::HttpPost(s.Url("/api/v1/stats")).status, 405);

  const tu::HttpReply m = s.Get("/metrics");
  ASSERT_EQ(m.status, 200);
  ExpositionStatus st;
  const auto samples = ParseMetrics(m.body, &st);
  EXPECT_EQ(st, ExpositionStatus::kOk);
  EXPECT_GT(samples.count("node_dataplane_packets_allowed_total"), 0u);
  EXPECT_EQ(samples.at("node_ready"), 1);
  const double start = samples.at("process_start_time_seconds");
  EXPECT_NEAR(start, static_cast<double>(std::time(nullptr)), 60);
}

TEST(SimulatorNode, EachReadinessKeyModeFailsOnlyThatKey) {
  Sim s("node");
  for (const char* key : kReadinessKeys) {
    SCOPED_TRACE(key);
    s.Mode(key);
    const json ready = s.GetJson("/ready", 503);
    EXPECT_EQ(ready["status"], "not_ready");
    EXPECT_EQ(ready["failing"], json::array({key}));
    for (const char* other : kReadinessKeys) {
      EXPECT_EQ(ready["checks"][other], std::string(other) != key) << other;
    }
    EXPECT_EQ(s.Get("/health").status, 200);
  }
  s.Mode("dataplane_running");
  EXPECT_EQ(s.GetJson("/api/v1/stats")["dataplane"]["running"], false);
  ExpositionStatus st;
  EXPECT_EQ(ParseMetrics(s.Get("/metrics").body, &st).at("node_ready"), 0);
}

TEST(SimulatorNode, PerformanceModeTurnsOffAuditAndWiretap) {
  Sim s("node");
  s.Mode("performance_mode");
  for (const std::string path : {"/api/v1/audit/findings", "/api/v1/wiretap/stream"}) {
    SCOPED_TRACE(path);
    const json body = s.GetJson(path, 503);
    EXPECT_EQ(body["code"], "performance_mode");
    EXPECT_TRUE(body["error"].is_string());
  }
  EXPECT_EQ(s.GetJson("/api/v1/stats")["performance_mode"], true);
  EXPECT_EQ(s.GetJson("/ready")["status"], "ready");
  EXPECT_EQ(s.Get("/api/v1/dns-cache").status, 200);
}

TEST(SimulatorNode, NoLeader) {
  Sim s("node");
  s.Mode("no_leader");
  const json c = s.GetJson("/api/v1/stats")["cluster"];
  EXPECT_TRUE(c.contains("leader"));
  EXPECT_TRUE(c["leader"].is_null());
  EXPECT_EQ(c["is_leader"], false);
  EXPECT_EQ(c["followers"], json::array());
  const json ready = s.GetJson("/ready", 503);
  EXPECT_EQ(ready["checks"]["cluster"], false);
  EXPECT_EQ(ready["checks"]["policy_replication"], true);
}

TEST(SimulatorNode, LeaderFlappingRotatesOnEveryStatsRequest) {
  Sim s("node");
  s.Mode("leader_flapping");
  std::vector<std::string> leaders;
  int64_t last_term = -1;
  for (int i = 0; i < 6; ++i) {
    const json c = s.GetJson("/api/v1/stats")["cluster"];
    leaders.push_back(c["leader"].get<std::string>());
    EXPECT_EQ(c["is_leader"], leaders.back() == "node-1");
    EXPECT_GT(c["term"].get<int64_t>(), last_term);
    last_term = c["term"].get<int64_t>();
  }
  EXPECT_EQ(leaders, (std::vector<std::string>{"node-2", "node-3", "node-1", "node-2", "node-3", "node-1"}));
  EXPECT_EQ(s.Get("/ready").status, 200);
}

TEST(SimulatorNode, FollowerLaggingGrows) {
  Sim s("node");
  s.Mode("follower_lagging");
  int64_t previous = 0;
  for (int i = 0; i < 3; ++i) {
    const json c = s.GetJson("/api/v1/stats")["cluster"];
    EXPECT_EQ(c["leader"], "node-1");
    ASSERT_EQ(c["followers"].size(), 2u);
    EXPECT_EQ(c["followers"][1]["id"], "node-3");
    const int64_t lag = c["followers"][1]["lag_entries"].get<int64_t>();
    EXPECT_GE(lag, 5000);
    EXPECT_GT(lag, previous);
    previous = lag;
    EXPECT_LT(c["followers"][0]["lag_entries"].get<int64_t>(), 100);
  }
  EXPECT_EQ(s.Get("/ready").status, 200);
  // Back to ok and in again: the lag starts over.
  s.Mode("ok");
  EXPECT_EQ(s.GetJson("/api/v1/stats")["cluster"]["followers"][1]["lag_entries"], 0);
  s.Mode("follower_lagging");
  EXPECT_EQ(s.GetJson("/api/v1/stats")["cluster"]["followers"][1]["lag_entries"].get<int64_t>(), 5000);
}

TEST(SimulatorNode, ReplicationNotReady) {
  Sim s("node");
  s.Mode("replication_not_ready");
  const json c = s.GetJson("/api/v1/stats")["cluster"];
  EXPECT_EQ(c["policy_replication"]["ready"], false);
  EXPECT_EQ(c["leader"], "node-1");
  const json ready = s.GetJson("/ready", 503);
  EXPECT_EQ(ready["checks"]["policy_replication"], false);
  EXPECT_EQ(ready["checks"]["cluster"], true);
}

TEST(SimulatorNode, TokenGuardsApiAndMetricsOnly) {
  Sim s("node", "n0de");
  EXPECT_EQ(s.Get("/api/v1/stats").status, 401);
  EXPECT_EQ(s.Get("/api/v1/stats", "wrong").status, 401);
  EXPECT_EQ(s.Get("/api/v1/stats", "n0de").status, 200);
  EXPECT_EQ(s.Get("/metrics").status, 401);
  EXPECT_EQ(s.Get("/metrics", "n0de").status, 200);
  EXPECT_EQ(s.Get("/health").status, 200);
  EXPECT_EQ(s.Get("/ready").status, 200);
}

// ---- kube -------------------------------------------------------------------------------

const std::string kClaims = "/api/v1/namespaces/ingero/persistentvolumeclaims";
const std::string kEvents =
    "/api/v1/namespaces/ingero/events?fieldSelector=involvedObject.kind%3DPersistentVolumeClaim,"
    "involvedObject.name%3Ddata-ingero-echo-0";
const std::string kClasses = "/apis/storage.k8s.io/v1/storageclasses";
constexpr const char* kDefaultAnnotation = "storageclass.kubernetes.io/is-default-class";

// The only claim of a PersistentVolumeClaimList.
json OnlyClaim(const json& list) {
  EXPECT_EQ(list["kind"], "PersistentVolumeClaimList");
  EXPECT_EQ(list["apiVersion"], "v1");
  EXPECT_TRUE(list["metadata"]["resourceVersion"].is_string());
  if (!list["items"].is_array() || list["items"].size() != 1) {
    ADD_FAILURE() << "expected one claim: " << list.dump();
    return json::object();
  }
  return list["items"][0];
}

bool HasDefaultClass(const json& list) {
  EXPECT_EQ(list["kind"], "StorageClassList");
  EXPECT_EQ(list["apiVersion"], "storage.k8s.io/v1");
  for (const auto& sc : list["items"]) {
    const auto& ann = sc["metadata"].value("annotations", json::object());
    if (ann.value(kDefaultAnnotation, "") == "true") return true;
  }
  return false;
}

TEST(SimulatorKube, OkClaimIsBoundAndDefaultClassPresent) {
  Sim s("kube");
  const json claim = OnlyClaim(s.GetJson(kClaims));
  const json& meta = claim["metadata"];
  EXPECT_EQ(meta["name"], "data-ingero-echo-0");
  EXPECT_EQ(meta["namespace"], "ingero");
  EXPECT_FALSE(meta["uid"].get<std::string>().empty());
  EXPECT_TRUE(meta["resourceVersion"].is_string());
  EXPECT_GT(ParseRfc3339(meta["creationTimestamp"].get<std::string>()), 0) << meta.dump();
  EXPECT_EQ(meta["labels"]["app.kubernetes.io/name"], "ingero-echo");
  EXPECT_EQ(claim["spec"]["storageClassName"], "standard");
  EXPECT_EQ(claim["spec"]["accessModes"], json::array({"ReadWriteOnce"}));
  EXPECT_EQ(claim["spec"]["resources"]["requests"]["storage"], "10Gi");
  EXPECT_EQ(claim["status"]["phase"], "Bound");

  // The label selector: matching, not matching, and the single claim by name.
  EXPECT_EQ(s.GetJson(kClaims + "?labelSelector=app.kubernetes.io%2Fname%3Dingero-echo")["items"].size(), 1u);
  EXPECT_EQ(s.GetJson(kClaims + "?labelSelector=app.kubernetes.io%2Fname%3Dother")["items"].size(), 0u);
  EXPECT_EQ(s.GetJson(kClaims + "?labelSelector=app.kubernetes.io%2Fname%21%3Dingero-echo")["items"].size(), 0u);
  EXPECT_EQ(s.GetJson("/api/v1/namespaces/default/persistentvolumeclaims")["items"].size(), 0u);
  EXPECT_EQ(s.GetJson(kClaims + "/data-ingero-echo-0")["kind"], "PersistentVolumeClaim");
  const json missing = s.GetJson(kClaims + "/nope", 404);
  EXPECT_EQ(missing["kind"], "Status");
  EXPECT_EQ(missing["reason"], "NotFound");

  const json events = s.GetJson(kEvents);
  EXPECT_EQ(events["kind"], "EventList");
  EXPECT_EQ(events["items"].size(), 0u);

  const json classes = s.GetJson(kClasses);
  EXPECT_TRUE(HasDefaultClass(classes));
  EXPECT_EQ(classes["items"][0]["metadata"]["name"], "standard");
}

TEST(SimulatorKube, PendingWithoutDefaultStorageClass) {
  Sim s("kube");
  const std::time_t before = std::time(nullptr);
  s.Mode("pending_no_default_storageclass");
  const json claim = OnlyClaim(s.GetJson(kClaims));
  EXPECT_EQ(claim["status"]["phase"], "Pending");
  EXPECT_FALSE(claim["spec"].contains("storageClassName"));
  const std::time_t created = ParseRfc3339(claim["metadata"]["creationTimestamp"].get<std::string>());
  EXPECT_GE(created, before - 1);  // pending since the mode began
  EXPECT_LE(created, std::time(nullptr));

  const json events = s.GetJson(kEvents);
  ASSERT_EQ(events["items"].size(), 1u) << events.dump();
  const json& ev = events["items"][0];
  EXPECT_EQ(ev["reason"], "ProvisioningFailed");
  EXPECT_EQ(ev["type"], "Warning");
  EXPECT_NE(ev["message"].get<std::string>().find("storage class"), std::string::npos);
  EXPECT_EQ(ev["involvedObject"]["kind"], "PersistentVolumeClaim");
  EXPECT_EQ(ev["involvedObject"]["name"], "data-ingero-echo-0");
  EXPECT_EQ(ev["involvedObject"]["uid"], claim["metadata"]["uid"]);
  EXPECT_GE(ev["count"].get<int>(), 1);
  EXPECT_GE(ParseRfc3339(ev["lastTimestamp"].get<std::string>()),
            ParseRfc3339(ev["firstTimestamp"].get<std::string>()));
  // The field selector picks events of the named object only.
  EXPECT_EQ(s.GetJson("/api/v1/namespaces/ingero/events?fieldSelector=involvedObject.name%3Dother")["items"].size(), 0u);

  const json classes = s.GetJson(kClasses);
  EXPECT_FALSE(classes["items"].empty());
  EXPECT_FALSE(HasDefaultClass(classes));
}

TEST(SimulatorKube, PendingCreationTimeFollowsTheMode) {
  Sim s("kube");
  s.Mode("pending_wait_for_consumer");
  const std::string first = OnlyClaim(s.GetJson(kClaims))["metadata"]["creationTimestamp"];
  std::this_thread::sleep_for(milliseconds(1100));
  EXPECT_EQ(OnlyClaim(s.GetJson(kClaims))["metadata"]["creationTimestamp"], first);  // still the same claim
  s.Mode("ok");
  s.Mode("pending_wait_for_consumer");
  const std::string second = OnlyClaim(s.GetJson(kClaims))["metadata"]["creationTimestamp"];
  EXPECT_GT(ParseRfc3339(second), ParseRfc3339(first));
}

TEST(SimulatorKube, PendingWaitForFirstConsumer) {
  Sim s("kube");
  s.Mode("pending_wait_for_consumer");
  const json claim = OnlyClaim(s.GetJson(kClaims));
  EXPECT_EQ(claim["status"]["phase"], "Pending");
  EXPECT_EQ(claim["spec"]["storageClassName"], "standard");
  const json events = s.GetJson(kEvents);
  ASSERT_EQ(events["items"].size(), 1u);
  EXPECT_EQ(events["items"][0]["reason"], "WaitForFirstConsumer");
  EXPECT_EQ(events["items"][0]["type"], "Normal");
  EXPECT_TRUE(HasDefaultClass(s.GetJson(kClasses)));
}

TEST(SimulatorKube, Lost) {
  Sim s("kube");
  s.Mode("lost");
  EXPECT_EQ(OnlyClaim(s.GetJson(kClaims))["status"]["phase"], "Lost");
  EXPECT_TRUE(HasDefaultClass(s.GetJson(kClasses)));
}

TEST(SimulatorKube, ForbiddenOnEveryCall) {
  Sim s("kube");
  s.Mode("forbidden");
  for (const std::string& path : {kClaims, kEvents, kClasses, std::string("/api/v1/nodes")}) {
    SCOPED_TRACE(path);
    const json st = s.GetJson(path, 403);
    EXPECT_EQ(st["kind"], "Status");
    EXPECT_EQ(st["apiVersion"], "v1");
    EXPECT_EQ(st["status"], "Failure");
    EXPECT_EQ(st["reason"], "Forbidden");
    EXPECT_EQ(st["code"], 403);
    EXPECT_NE(st["message"].get<std::string>().find("forbidden"), std::string::npos);
  }
}

TEST(SimulatorKube, BearerRequiredWhenTokenSet) {
  Sim s("kube", "kube-t0ken");
  const json expected = json::parse(
      R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401})");
  for (const std::string& path : {kClaims, kEvents, kClasses}) {
    SCOPED_TRACE(path);
    tu::HttpReply r = s.Get(path);
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(json::parse(r.body, nullptr, false), expected);
    EXPECT_EQ(s.Get(path, "wrong").status, 401);
    EXPECT_EQ(s.Get(path, "kube-t0ken").status, 200);
  }
  // Authentication comes before authorization.
  s.Mode("forbidden");
  EXPECT_EQ(s.Get(kClaims).status, 401);
  EXPECT_EQ(s.Get(kClaims, "kube-t0ken").status, 403);
  // The admin route never needs it.
  EXPECT_EQ(s.Get("/-/mode").status, 200);
}

TEST(SimulatorKube, OnlyGet) {
  Sim s("kube");
  const tu::HttpReply r = tu::HttpPost(s.Url(kClaims), "{}");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(json::parse(r.body, nullptr, false)["reason"], "MethodNotAllowed");
  EXPECT_EQ(s.GetJson("/api/v1/pods", 404)["reason"], "NotFound");
}

// ---- echo's scrape modes ------------------------------------------------------------------

TEST(SimulatorEchoScrape, MetricsEmptyAndGarbage) {
  Sim s("echo");
  s.Mode("metrics_empty");
  tu::HttpReply r = s.Get("/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(s.Get("/api/v2/whoami").status, 200);

  s.Mode("metrics_garbage");
  r = s.Get("/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.body.empty());
  ExpositionStatus st;
  ParseMetrics(r.body, &st);
  EXPECT_EQ(st, ExpositionStatus::kInvalid);
  EXPECT_EQ(s.GetJson("/api/v2/whoami")["subject"], "demo");
}

// Request counter samples of a metrics page, by their label set.
std::map<std::string, double> RequestCounts(const std::string& body) {
  std::map<std::string, double> out;
  ParseExposition(body, {}, [&](const ExpositionSample& s) {
    if (s.name != "echo_http_requests_total") return;
    std::string key;
    for (const auto& [name, value] : s.labels) key += std::string(name) + "=" + std::string(value) + ",";
    out[key] = s.value;
  });
  return out;
}

TEST(SimulatorEchoScrape, NoTrafficHidesOnlyTheRequestCounter) {
  Sim s("echo", "t0ken");
  EXPECT_EQ(s.Get("/api/v2/whoami", "t0ken").status, 200);
  ExpositionStatus st;
  tu::HttpReply r = s.Get("/metrics", "t0ken");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(RequestCounts(r.body).size(), 1u) << r.body;
  const double started = ParseMetrics(r.body, &st).at("process_start_time_seconds");

  s.Mode("no_traffic");
  r = s.Get("/metrics", "t0ken");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(RequestCounts(r.body).empty()) << r.body;
  const auto m = ParseMetrics(r.body, &st);
  EXPECT_EQ(st, ExpositionStatus::kOk);
  EXPECT_EQ(m.at("process_start_time_seconds"), started);  // no restart
  EXPECT_EQ(m.count("process_open_fds"), 1u);
  EXPECT_EQ(m.count("process_max_fds"), 1u);
  // The API answers as in ok, the bearer is still required, and what it
  // answers is counted meanwhile.
  EXPECT_EQ(s.GetJson("/api/v2/whoami", 401)["code"], "unauthorized");
  EXPECT_EQ(s.Get("/metrics").status, 401);
  EXPECT_EQ(s.Get("/api/v2/whoami", "t0ken").status, 200);
  EXPECT_TRUE(RequestCounts(s.Get("/metrics", "t0ken").body).empty());

  s.Mode("ok");
  const auto counts = RequestCounts(s.Get("/metrics", "t0ken").body);
  EXPECT_EQ(counts.at("route=/api/v2,code=200,"), 2);
  EXPECT_EQ(counts.at("route=/api/v2,code=401,"), 1);
}

TEST(SimulatorEchoScrape, RestartedMovesStartTimeForward) {
  Sim s("echo");
  ExpositionStatus st;
  const double before = ParseMetrics(s.Get("/metrics").body, &st).at("process_start_time_seconds");
  std::this_thread::sleep_for(milliseconds(50));
  s.Mode("restarted");
  const double after = ParseMetrics(s.Get("/metrics").body, &st).at("process_start_time_seconds");
  EXPECT_EQ(st, ExpositionStatus::kOk);
  EXPECT_GT(after, before);
  EXPECT_NEAR(after, static_cast<double>(std::time(nullptr)), 5);
  EXPECT_EQ(s.Get("/api/v2/x").status, 200);
  // It stays there after the mode ends: a restart happens once.
  s.Mode("ok");
  EXPECT_EQ(ParseMetrics(s.Get("/metrics").body, &st).at("process_start_time_seconds"), after);
}

TEST(SimulatorEchoScrape, FdPressure) {
  Sim s("echo");
  ExpositionStatus st;
  auto m = ParseMetrics(s.Get("/metrics").body, &st);
  EXPECT_LT(m.at("process_open_fds") / m.at("process_max_fds"), 0.5);
  s.Mode("fd_pressure");
  m = ParseMetrics(s.Get("/metrics").body, &st);
  EXPECT_EQ(st, ExpositionStatus::kOk);
  EXPECT_EQ(m.at("process_open_fds"), 1000);
  EXPECT_EQ(m.at("process_max_fds"), 1024);
  EXPECT_EQ(s.Get("/api/v2/x").status, 200);
}

// ---- echo's envelope modes: HTTP/1.0 and a clock running ahead ---------------------------------

// Sends `request` as is to 127.0.0.1:port and returns everything read until
// the server closes the connection (the simulator never keeps one open).
std::string RawExchange(int port, const std::string& request) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    char buf[4096];
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 200) <= 0) continue;
      const ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  return out;
}

// The status line of a raw GET of `path` (with a bearer when `token` is set).
std::string StatusLine(int port, const std::string& path, const std::string& method = "GET",
                       const std::string& token = "") {
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
  req += "Connection: close\r\n\r\n";
  const std::string reply = RawExchange(port, req);
  return reply.substr(0, reply.find("\r\n"));
}

// Seconds between the Date header of a GET of `path` and the local clock.
double DateAhead(int port, const std::string& path) {
  const std::string reply =
      RawExchange(port, "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  const size_t at = reply.find("\r\nDate: ");
  if (at == std::string::npos) {
    ADD_FAILURE() << "no Date header in " << reply;
    return 0;
  }
  const std::string date = reply.substr(at + 8, reply.find("\r\n", at + 8) - at - 8);
  std::tm tm{};
  const char* end = strptime(date.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') {
    ADD_FAILURE() << "bad Date header \"" << date << "\"";
    return 0;
  }
  return static_cast<double>(timegm(&tm) - std::time(nullptr));
}

TEST(SimulatorEchoEnvelope, ModesAreListedForEchoOnly) {
  for (const char* mode : {"http10", "clock_skew"}) {
    const auto& echo = Simulator::Modes("echo");
    EXPECT_NE(std::find(echo.begin(), echo.end(), mode), echo.end()) << mode;
    for (const std::string other : {"node", "kube"}) {
      const auto& modes = Simulator::Modes(other);
      EXPECT_EQ(std::find(modes.begin(), modes.end(), mode), modes.end()) << other << " " << mode;
    }
  }
}

TEST(SimulatorEchoEnvelope, Http10ChangesOnlyTheStatusLineOfEveryRoute) {
  Sim s("echo", "t0ken");
  EXPECT_EQ(StatusLine(s->port(), "/health"), "HTTP/1.1 200 OK");
  s.Mode("http10");
  EXPECT_EQ(StatusLine(s->port(), "/health"), "HTTP/1.0 200 OK");
  EXPECT_EQ(StatusLine(s->port(), "/ready"), "HTTP/1.0 200 OK");
  EXPECT_EQ(StatusLine(s->port(), "/api/v2/whoami", "GET", "t0ken"), "HTTP/1.0 200 OK");
  EXPECT_EQ(StatusLine(s->port(), "/api/v2/whoami"), "HTTP/1.0 401 Unauthorized");
  EXPECT_EQ(StatusLine(s->port(), "/api/v1/x"), "HTTP/1.0 410 Gone");
  EXPECT_EQ(StatusLine(s->port(), "/metrics", "GET", "t0ken"), "HTTP/1.0 200 OK");
  EXPECT_EQ(StatusLine(s->port(), "/nothing/here"), "HTTP/1.0 404 Not Found");
  EXPECT_EQ(StatusLine(s->port(), "/health", "HEAD"), "HTTP/1.0 405 Method Not Allowed");
  // Admin stays as it was, so that a test can always switch back.
  EXPECT_EQ(StatusLine(s->port(), "/-/mode"), "HTTP/1.1 200 OK");
  // Bodies are those of ok.
  EXPECT_EQ(s.Get("/api/v2/whoami", "t0ken").body,
            R"({"subject":"demo","allowed_clusters":["prod-eu-1"]})");
  EXPECT_NEAR(DateAhead(s->port(), "/health"), 0, 5);
  s.Mode("ok");
  EXPECT_EQ(StatusLine(s->port(), "/health"), "HTTP/1.1 200 OK");
}

TEST(SimulatorEchoEnvelope, ClockSkewShiftsTheDateOfEveryRoute) {
  Sim s("echo");
  EXPECT_NEAR(DateAhead(s->port(), "/health"), 0, 5);
  s.Mode("clock_skew");
  for (const std::string path : {"/health", "/ready", "/api/v2/whoami", "/api/v1/x", "/metrics", "/nope"}) {
    EXPECT_NEAR(DateAhead(s->port(), path), kEchoClockSkewSeconds, 5) << path;
  }
  EXPECT_NEAR(DateAhead(s->port(), "/-/mode"), 0, 5);
  EXPECT_EQ(StatusLine(s->port(), "/health"), "HTTP/1.1 200 OK");
  EXPECT_EQ(s.GetJson("/api/v2/whoami")["subject"], "demo");
}

TEST(SimulatorEchoEnvelope, ClockSkewAddsToTheConfiguredOffset) {
  SimulatorOptions o;
  o.date_offset_seconds = -1000;
  Simulator sim(o);
  sim.Start();
  ASSERT_TRUE(sim.SetMode("clock_skew"));
  const std::string reply =
      RawExchange(sim.port(), "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  const size_t at = reply.find("\r\nDate: ");
  ASSERT_NE(at, std::string::npos) << reply;
  std::tm tm{};
  ASSERT_NE(strptime(reply.c_str() + at + 8, "%a, %d %b %Y %H:%M:%S GMT", &tm), nullptr) << reply;
  EXPECT_NEAR(static_cast<double>(timegm(&tm) - std::time(nullptr)), -1000 + kEchoClockSkewSeconds, 5);
}

// What the exporter's kind: http makes of the two modes, through the real
// config loader, scheduler and libcurl loop.
TEST(SimulatorEchoEnvelope, ExporterSeesHttp10AndTheSkew) {
  Sim s("echo");
  tu::ProbeRig rig(
      "services:\n"
      "  - name: mesh\n"
      "    probes:\n"
      "      - {name: upstream, kind: http, layer: traffic, interval: 300ms, timeout: 300ms, url: \"" +
      s.Url("/health") + "\"}\n");
  rig.Start();
  std::string text = rig.WaitRuns("upstream", 1);
  EXPECT_EQ(tu::V(text, "upstream", "triage_http_version"), 1.1) << text;

  s.Mode("http10");
  text = rig.WaitText([](const std::string& t) {
    return tu::V(t, "upstream", "triage_http_version") == 1.0;
  });
  EXPECT_EQ(tu::V(text, "upstream", "triage_http_version"), 1.0) << text;
  EXPECT_EQ(tu::V(text, "upstream", "triage_http_status_code"), 200.0) << text;
  const auto near_zero = tu::V(text, "upstream", "triage_clock_skew_seconds");
  ASSERT_TRUE(near_zero.has_value()) << text;
  EXPECT_NEAR(*near_zero, 0, 2) << text;

  s.Mode("clock_skew");
  text = rig.WaitText([](const std::string& t) {
    return tu::V(t, "upstream", "triage_clock_skew_seconds").value_or(0) > 200;
  });
  const auto skew = tu::V(text, "upstream", "triage_clock_skew_seconds");
  ASSERT_TRUE(skew.has_value()) << text;
  EXPECT_NEAR(*skew, kEchoClockSkewSeconds, 2) << text;
  EXPECT_EQ(tu::V(text, "upstream", "triage_http_version"), 1.1) << text;
  EXPECT_EQ(tu::V(text, "upstream", "triage_probe_success"), 1.0) << text;
}

// ---- scenario files per system ------------------------------------------------------------

std::string ScenarioError(const std::string& path, std::string_view system) {
  try {
    LoadScenarioFile(path, system);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST(ScenarioFileSystems, ModesAreCheckedAgainstTheSystem) {
  tu::TempDir dir;
  const std::string path = dir.Write("node.yaml",
                                     "steps:\n"
                                     "  - {mode: ok, duration: 1s}\n"
                                     "  - {mode: no_leader, duration: 1s}\n");
  const std::string err = ScenarioError(path, "echo");
  EXPECT_EQ(err.rfind(path + ":3:12: ", 0), 0u) << err;
  EXPECT_NE(err.find("no_leader"), std::string::npos) << err;
  EXPECT_NE(err.find("echo"), std::string::npos) << err;
  EXPECT_EQ(LoadScenarioFile(path, "node").steps.size(), 2u);
  EXPECT_EQ(ScenarioError(path, "kube").rfind(path + ":3:12: ", 0), 0u);
  EXPECT_THROW(LoadScenarioFile(path, "mainframe"), std::invalid_argument);
  // hang is a mode of every system.
  const std::string hang = dir.Write("hang.yaml", "steps:\n  - {mode: hang, duration: 1s}\n");
  for (const auto& system : SystemNames()) EXPECT_NO_THROW(LoadScenarioFile(hang, system)) << system;
}

#ifdef TRIAGE_SOURCE_DIR
TEST(ScenarioFileSystems, DemoScenariosLoadAndCoverTheModes) {
  const std::string dir = std::string(TRIAGE_SOURCE_DIR) + "/tools/simulator/scenarios/";
  for (const std::string system : {"node", "kube"}) {
    SCOPED_TRACE(system);
    const std::string path = dir + system + "-demo.yaml";
    const Scenario s = LoadScenarioFile(path, system);
    EXPECT_TRUE(s.loop);
    ASSERT_FALSE(s.steps.empty());
    EXPECT_EQ(s.steps.front().mode, "ok");
    for (const auto& mode : Simulator::Modes(system)) {
      if (mode == "hang") continue;
      EXPECT_TRUE(std::any_of(s.steps.begin(), s.steps.end(), [&](const ScenarioStep& st) { return st.mode == mode; }))
          << mode;
    }
    for (const auto& st : s.steps) {
      EXPECT_GE(st.duration, milliseconds(1000));
      EXPECT_LE(st.duration, milliseconds(10000));
    }
    EXPECT_THROW(LoadScenarioFile(path, "echo"), std::runtime_error);
  }
  EXPECT_NO_THROW(LoadScenarioFile(dir + "demo.yaml", "echo"));
}
#endif

// ---- the binary ------------------------------------------------------------------------------

// triage_simulator sits next to the test binary in the build tree.
std::string SimulatorBinary() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  const auto bin = self.parent_path() / "triage_simulator";
  return std::filesystem::exists(bin, ec) ? bin.string() : "";
}

// A child process with its stdout (and, when asked, stderr) on a pipe.
class Child {
 public:
  Child(const std::string& bin, std::vector<std::string> args, bool merge_stderr) {
    int fds[2];
    if (pipe(fds) != 0) return;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    if (merge_stderr) {
      posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
    } else {
      posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", 1 /*O_WRONLY*/, 0);
    }
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    args.insert(args.begin(), bin);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, bin.c_str(), &fa, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    fd_ = fds[0];
  }
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return pid_ > 0; }
  // Reads output until `needle` has been seen (true), end of output or `timeout`.
  bool ReadUntil(const std::string& needle, milliseconds timeout = milliseconds(5000)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out_.find(needle) == std::string::npos) {
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
      char buf[4096];
      const ssize_t n = read(fd_, buf, sizeof buf);
      if (n <= 0) return out_.find(needle) != std::string::npos;
      out_.append(buf, static_cast<size_t>(n));
    }
    return true;
  }
  // Sends `sig` (unless 0) and returns the exit status, or -1.
  int Wait(int sig) {
    if (pid_ <= 0) return -1;
    if (sig != 0) kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  const std::string& out() const { return out_; }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  std::string out_;
};

TEST(SimulatorBinary, HelpListsSystemsAndBadSystemFails) {
  const std::string bin = SimulatorBinary();
  if (bin.empty()) GTEST_SKIP() << "triage_simulator is not built next to the test binary";
  {
    Child help(bin, {"--help"}, false);
    ASSERT_TRUE(help.ok());
    help.ReadUntil("\x01", milliseconds(5000));  // everything, up to end of output
    EXPECT_EQ(help.Wait(0), 0);
    EXPECT_NE(help.out().find("--system=NAME"), std::string::npos) << help.out();
    EXPECT_NE(help.out().find("leader_flapping"), std::string::npos) << help.out();
    EXPECT_NE(help.out().find("pending_no_default_storageclass"), std::string::npos) << help.out();
    EXPECT_NE(help.out().find("http10"), std::string::npos) << help.out();
    EXPECT_NE(help.out().find("clock_skew"), std::string::npos) << help.out();
    EXPECT_NE(help.out().find("Echo's no_traffic leaves every echo_http_requests_total"), std::string::npos)
        << help.out();
  }
  {
    Child bad(bin, {"--system=mainframe"}, true);
    ASSERT_TRUE(bad.ok());
    bad.ReadUntil("\x01", milliseconds(5000));
    EXPECT_EQ(bad.Wait(0), 1);
    EXPECT_NE(bad.out().find("unknown system \"mainframe\""), std::string::npos) << bad.out();
  }
  {
    Child bad(bin, {"--system=node", "--mode=rate_limited"}, true);
    ASSERT_TRUE(bad.ok());
    bad.ReadUntil("\x01", milliseconds(5000));
    EXPECT_EQ(bad.Wait(0), 1);
    EXPECT_NE(bad.out().find("unknown mode \"rate_limited\" for the node system"), std::string::npos)
        << bad.out();
  }
}

TEST(SimulatorBinary, ServesTheChosenSystem) {
  const std::string bin = SimulatorBinary();
  if (bin.empty()) GTEST_SKIP() << "triage_simulator is not built next to the test binary";
  struct Case {
    std::vector<std::string> args;
    std::string path;
    std::function<void(const json&)> check;
  };
  const Case cases[] = {
      {{"--system=node", "--mode=no_leader"}, "/ready",
       [](const json& j) { EXPECT_EQ(j["checks"]["cluster"], false); }},
      {{"--system=kube", "--mode=lost"}, kClaims,
       [](const json& j) { EXPECT_EQ(j["items"][0]["status"]["phase"], "Lost"); }},
      {{}, "/api/v2/whoami", [](const json& j) { EXPECT_EQ(j["subject"], "demo"); }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.path);
    std::vector<std::string> args = c.args;
    args.push_back("--listen-address=127.0.0.1:0");
    Child child(bin, args, false);
    ASSERT_TRUE(child.ok());
    ASSERT_TRUE(child.ReadUntil("\n")) << child.out();
    const std::string prefix = "listening address=127.0.0.1:";
    ASSERT_EQ(child.out().rfind(prefix, 0), 0u) << child.out();
    const std::string port = child.out().substr(prefix.size(), child.out().find('\n') - prefix.size());
    const std::string base = "http://127.0.0.1:" + port;
    const tu::HttpReply r = tu::HttpGet(base + c.path);
    ASSERT_NE(r.status, 0) << r.error;
    c.check(json::parse(r.body, nullptr, false));
    const json admin = json::parse(tu::HttpGet(base + "/-/mode").body, nullptr, false);
    EXPECT_EQ(admin["system"], c.args.empty() ? "echo" : c.args[0].substr(9));
    EXPECT_EQ(child.Wait(SIGTERM), 0);
  }
}

}  // namespace
}  // namespace triage::sim

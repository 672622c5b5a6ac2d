// Tests for kind: kubernetes_pvc, end to end through the real code: a YAML
// config is loaded, the probe runs on the real Scheduler (libcurl loop), and
// a FixtureServer on 127.0.0.1 plays the Kubernetes API server with answers
// recorded in the API's own shapes (tests/fixtures/kubernetes/). Assertions
// read the exposition text and the requests the server recorded.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "collectors/kubernetes_pvc_probe.h"
#include "exporter/config.h"
#include "base/yaml_reader.h"
#include "tests/unit/fixture_server.h"
#include "tests/unit/probe_rig.h"
#include "tests/unit/raw_server.h"
#include "tests/unit/test_util.h"

namespace triage {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::CannedResponse;
using testing::FixtureServer;
using testing::FlowProbe;
using testing::kLongWait;
using testing::L;
using testing::N;
using testing::OneService;
using testing::ProbeRig;
using testing::RawServer;
using testing::ReadFixture;
using testing::RecordedRequest;
using testing::TempDir;
using testing::V;
using testing::WaitFor;

constexpr char kToken[] = "k8s-sa-token-5d1f0c3b9a7e";
constexpr char kClaimsPath[] = "/api/v1/namespaces/ingero/persistentvolumeclaims";
constexpr char kEventsPath[] = "/api/v1/namespaces/ingero/events";
constexpr char kClassesPath[] = "/apis/storage.k8s.io/v1/storageclasses";
// creationTimestamp of data-ingero-echo-1, the Pending claim of pvc_list_pending.json.
constexpr char kPendingCreated[] = "2025-05-17T10:02:13Z";

std::string Fixture(const std::string& name) { return "kubernetes/" + name; }

// One kubernetes_pvc probe named `name` against `server`, as a YAML flow map.
std::string PvcProbe(const std::string& name, const FixtureServer& server,
                     const std::string& token_file, const std::string& extra = "") {
  return FlowProbe(name, "kubernetes_pvc", "dependency",
                   {"api_server: \"" + server.Url("") + "\"", "namespace: ingero",
                    token_file.empty() ? "" : "bearer_token_file: \"" + token_file + "\"", extra});
}

double Now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string Claim(const std::string& name) { return L("persistentvolumeclaim", name); }
std::string Phase(const std::string& phase) { return L("phase", phase); }

std::vector<RecordedRequest> RequestsTo(const FixtureServer& s, const std::string& path) {
  std::vector<RecordedRequest> out;
  for (const auto& r : s.Requests()) {
    if (r.path == path) out.push_back(r);
  }
  return out;
}

// A PersistentVolumeClaimList of claims (name, phase, creationTimestamp).
struct ClaimSpec {
  std::string name, phase, created;
};
std::string ClaimList(const std::vector<ClaimSpec>& claims) {
  std::string items;
  int i = 0;
  for (const auto& c : claims) {
    if (!items.empty()) items += ",";
    items += R"({"metadata":{"name":")" + c.name + R"(","namespace":"ingero","uid":"uid-)" +
             std::to_string(i++) + R"(","resourceVersion":"100","creationTimestamp":")" + c.created +
             R"("},"spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}},)"
             R"("storageClassName":"standard","volumeMode":"Filesystem"},"status":{"phase":")" +
             c.phase + R"("}})";
  }
  return R"({"kind":"PersistentVolumeClaimList","apiVersion":"v1","metadata":{"resourceVersion":"100"},"items":[)" +
         items + "]}";
}

// RFC 3339 for a unix time, as the API server writes creationTimestamp.
std::string Rfc3339(double unix_seconds) {
  const time_t t = static_cast<time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The API server of a healthy namespace with a default StorageClass, and a
// token file; each test changes what it needs.
class PvcProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    token_file_ = dir_.Write("token", std::string(kToken) + "\n");
    api_.SetFixture(kClaimsPath, 200, Fixture("pvc_list_bound.json"));
    api_.SetFixture(kEventsPath, 200, Fixture("events_pending.json"));
    api_.SetFixture(kClassesPath, 200, Fixture("storageclasses_default.json"));
  }

  // Loads one probe "pvc" with `extra` keys and runs it once.
  ProbeRig::OneRun RunOnce(const std::string& extra = "") {
    rig_ = std::make_unique<ProbeRig>(OneService({PvcProbe("pvc", api_, token_file_, extra)}));
    rig_->StartIdle();
    return rig_->RunOnce("pvc");
  }

  TempDir dir_;
  std::string token_file_;
  FixtureServer api_;
  std::unique_ptr<ProbeRig> rig_;  // declared after the server: stops first
};

// ---- 1. outcomes ----------------------------------------------------------------------

TEST_F(PvcProbeTest, AllBoundWithDefaultClassSucceeds) {
  const auto run = RunOnce();
  ASSERT_TRUE(run.snap);
  const std::string& t = run.text;
  EXPECT_TRUE(run.snap->success) << run.debug;
  EXPECT_EQ(V(t, "pvc", "triage_probe_success"), 1.0) << t;
  for (const std::string claim : {"data-ingero-echo-0", "data-ingero-echo-1"}) {
    EXPECT_EQ(V(t, "pvc", "triage_pvc_phase", {L("namespace", "ingero"), Claim(claim), Phase("Bound")}),
              1.0)
        << t;
    EXPECT_EQ(V(t, "pvc", "triage_pvc_phase", {Claim(claim), Phase("Pending")}), 0.0) << t;
    EXPECT_EQ(V(t, "pvc", "triage_pvc_phase", {Claim(claim), Phase("Lost")}), 0.0) << t;
  }
  EXPECT_EQ(V(t, "pvc", "triage_storageclass_default_present"), 1.0) << t;
  EXPECT_FALSE(V(t, "pvc", "triage_pvc_pending_seconds")) << t;
  EXPECT_FALSE(V(t, "pvc", "triage_pvc_last_event_info")) << t;
  // Nothing is Pending: no event lookup.
  EXPECT_EQ(api_.RequestCount(kEventsPath), 0u);
  EXPECT_EQ(api_.RequestCount(kClaimsPath), 1u);
  EXPECT_EQ(api_.RequestCount(kClassesPath), 1u);
}

TEST_F(PvcProbeTest, PendingWithProvisioningFailedAndNoDefaultClassFails) {
  api_.SetFixture(kClaimsPath, 200, Fixture("pvc_list_pending.json"));
  api_.SetFixture(kClassesPath, 200, Fixture("storageclasses_no_default.json"));
  const double before = Now();
  const auto run = RunOnce();
  const double after = Now();
  ASSERT_TRUE(run.snap);
  const std::string& t = run.text;
  EXPECT_FALSE(run.snap->success);
  EXPECT_EQ(run.snap->reason, FailureReason::kCheckFailed);
  EXPECT_EQ(V(t, "pvc", "triage_probe_failures_total", {L("reason", "check_failed")}), 1.0) << t;

  const std::string pending = "data-ingero-echo-1";
  EXPECT_EQ(V(t, "pvc", "triage_pvc_phase", {Claim(pending), Phase("Pending")}), 1.0) << t;
  EXPECT_EQ(V(t, "pvc", "triage_pvc_phase", {Claim(pending), Phase("Bound")}), 0.0) << t;
  EXPECT_EQ(V(t, "pvc", "triage_pvc_phase", {Claim(pending), Phase("Lost")}), 0.0) << t;
  EXPECT_EQ(V(t, "pvc", "triage_pvc_phase", {Claim("data-ingero-echo-0"), Phase("Bound")}), 1.0) << t;

  const double created = *ParseRfc3339(kPendingCreated);
  const auto age = V(t, "pvc", "triage_pvc_pending_seconds",
                     {L("namespace", "ingero"), Claim(pending)});
  ASSERT_TRUE(age) << t;
  EXPECT_GE(*age, before - created - 1) << t;
  EXPECT_LE(*age, after - created + 1) << t;
  EXPECT_FALSE(V(t, "pvc", "triage_pvc_pending_seconds", {Claim("data-ingero-echo-0")})) << t;

  // The newest event of this claim; the later WaitForFirstConsumer belongs to
  // an earlier claim of the same name (another uid) and does not count.
  EXPECT_EQ(V(t, "pvc", "triage_pvc_last_event_info",
              {L("namespace", "ingero"), Claim(pending), L("reason", "ProvisioningFailed")}),
            1.0)
      << t;
  EXPECT_EQ(t.find("WaitForFirstConsumer"), std::string::npos) << t;
  EXPECT_EQ(t.find("ExternalProvisioning"), std::string::npos) << t;
  EXPECT_EQ(V(t, "pvc", "triage_storageclass_default_present"), 0.0) << t;
  // The event message is free text: never a label.
  EXPECT_EQ(t.find("UnauthorizedOperation"), std::string::npos) << t;
  EXPECT_NE(run.debug.find("claim data-ingero-echo-1 is Pending for"), std::string::npos)
      << run.debug;
}

TEST_F(PvcProbeTest, PendingWithinGraceSucceeds) {
  const std::string recent = Rfc3339(Now() - 5);
  api_.SetJson(kClaimsPath, 200, ClaimList({{"data-new-0", "Pending", recent}}));
  const auto run = RunOnce();
  ASSERT_TRUE(run.snap);
  EXPECT_TRUE(run.snap->success) << run.debug;
  const auto age = V(run.text, "pvc", "triage_pvc_pending_seconds", {Claim("data-new-0")});
  ASSERT_TRUE(age) << run.text;
  EXPECT_GE(*age, 4);
  EXPECT_LT(*age, 120);
  EXPECT_EQ(api_.RequestCount(kEventsPath), 1u);

  // The same claim with no grace fails.
  api_.SetJson(kClaimsPath, 200, ClaimList({{"data-new-0", "Pending", recent}}));
  const auto strict = RunOnce("pending_grace: 0s");
  ASSERT_TRUE(strict.snap);
  EXPECT_EQ(strict.snap->reason, FailureReason::kCheckFailed);
}

TEST_F(PvcProbeTest, LostClaimFails) {
  api_.SetJson(kClaimsPath, 200,
               ClaimList({{"data-a", "Bound", "2025-01-01T00:00:00Z"},
                          {"data-b", "Lost", "2025-01-01T00:00:00Z"}}));
  const auto run = RunOnce();
  ASSERT_TRUE(run.snap);
  EXPECT_EQ(run.snap->reason, FailureReason::kCheckFailed);
  EXPECT_EQ(V(run.text, "pvc", "triage_pvc_phase", {Claim("data-b"), Phase("Lost")}), 1.0);
  EXPECT_EQ(V(run.text, "pvc", "triage_pvc_phase", {Claim("data-b"), Phase("Bound")}), 0.0);
  EXPECT_FALSE(V(run.text, "pvc", "triage_pvc_pending_seconds")) << run.text;
  EXPECT_NE(run.debug.find("claim data-b is Lost"), std::string::npos) << run.debug;
}

// ---- 2. what goes on the wire ----------------------------------------------------------

TEST_F(PvcProbeTest, SendsEncodedSelectorsAndTheToken) {
  api_.SetFixture(kClaimsPath, 200, Fixture("pvc_list_pending.json"));
  const auto run = RunOnce("label_selector: \"app.kubernetes.io/name=ingero-echo,tier in (db, cache)\"");
  ASSERT_TRUE(run.snap);

  const auto claims = RequestsTo(api_, kClaimsPath);
  ASSERT_EQ(claims.size(), 1u);
  EXPECT_EQ(claims[0].method, "GET");
  EXPECT_EQ(claims[0].query,
            "labelSelector=app.kubernetes.io%2Fname%3Dingero-echo%2Ctier%20in%20%28db%2C%20cache%29");
  EXPECT_EQ(claims[0].authorization, std::string("Bearer ") + kToken);

  const auto events = RequestsTo(api_, kEventsPath);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].query,
            "fieldSelector=involvedObject.kind%3DPersistentVolumeClaim,"
            "involvedObject.name%3Ddata-ingero-echo-1");
  EXPECT_EQ(events[0].authorization, std::string("Bearer ") + kToken);

  const auto classes = RequestsTo(api_, kClassesPath);
  ASSERT_EQ(classes.size(), 1u);
  EXPECT_EQ(classes[0].query, "");
  EXPECT_EQ(classes[0].authorization, std::string("Bearer ") + kToken);

  // The token is masked in the debug output and never in the metrics.
  EXPECT_EQ(run.debug.find(kToken), std::string::npos) << run.debug;
  EXPECT_EQ(run.text.find(kToken), std::string::npos) << run.text;
  EXPECT_NE(run.debug.find("GET " + api_.Url(kClaimsPath)), std::string::npos) << run.debug;
}

TEST_F(PvcProbeTest, NoSelectorMeansNoQuery) {
  const auto run = RunOnce();
  ASSERT_TRUE(run.snap);
  const auto claims = RequestsTo(api_, kClaimsPath);
  ASSERT_EQ(claims.size(), 1u);
  EXPECT_EQ(claims[0].query, "");
}

TEST_F(PvcProbeTest, RotatedTokenIsUsedByLaterRuns) {
  rig_ = std::make_unique<ProbeRig>(
      OneService({PvcProbe("pvc", api_, token_file_, "interval: 200ms, timeout: 150ms")}));
  rig_->Start();
  ASSERT_TRUE(WaitFor([&] { return api_.RequestCount(kClaimsPath) >= 1; }, kLongWait));

  const std::string rotated = "k8s-sa-token-rotated-7e2a";
  dir_.Write("token", rotated + "\n");
  const auto wrote = std::chrono::steady_clock::now();
  auto uses_new = [&] {
    for (const auto& r : api_.Requests()) {
      if (r.authorization == "Bearer " + rotated) return true;
    }
    return false;
  };
  ASSERT_TRUE(WaitFor(uses_new, kLongWait));
  // The file is checked at most once a second; well within a minute.
  EXPECT_LT(std::chrono::steady_clock::now() - wrote, seconds(10));
  // Once a request carried the new token, none after it carries the old one.
  const auto requests = api_.Requests();
  bool seen_new = false;
  for (const auto& r : requests) {
    if (r.authorization == "Bearer " + rotated) seen_new = true;
    if (seen_new) {
      EXPECT_EQ(r.authorization, "Bearer " + rotated);
    }
  }
}

// ---- 3. a refusing or hostile API server ----------------------------------------------------

TEST_F(PvcProbeTest, Status401IsUnauthorized) {
  api_.SetFixture(kClaimsPath, 401, Fixture("status_401.json"));
  const auto run = RunOnce();
  ASSERT_TRUE(run.snap);
  EXPECT_EQ(run.snap->reason, FailureReason::kUnauthorized);
  EXPECT_EQ(V(run.text, "pvc", "triage_probe_failures_total", {L("reason", "unauthorized")}), 1.0);
  EXPECT_FALSE(V(run.text, "pvc", "triage_pvc_phase")) << run.text;
  EXPECT_FALSE(V(run.text, "pvc", "triage_storageclass_default_present")) << run.text;
  EXPECT_NE(run.debug.find("Status reason Unauthorized"), std::string::npos) << run.debug;
  // The chain stops at the refused list.
  EXPECT_EQ(api_.RequestCount(kClassesPath), 0u);
}

TEST_F(PvcProbeTest, Status403IsUnauthorizedAndItsMessageStaysInTheDebugLog) {
  api_.SetFixture(kClaimsPath, 403, Fixture("status_403.json"));
  const auto run = RunOnce();
  ASSERT_TRUE(run.snap);
  EXPECT_EQ(run.snap->reason, FailureReason::kUnauthorized);
  EXPECT_NE(run.debug.find("Status reason Forbidden"), std::string::npos) << run.debug;
  EXPECT_NE(run.debug.find("cannot list resource"), std::string::npos) << run.debug;
  EXPECT_EQ(run.text.find("Forbidden"), std::string::npos) << run.text;
  EXPECT_EQ(run.text.find("system:serviceaccount"), std::string::npos) << run.text;
}

TEST_F(PvcProbeTest, OtherErrorStatusIsHttpStatus) {
  api_.SetJson(kClaimsPath, 500, R"({"kind":"Status","status":"Failure","reason":"InternalError","code":500})");
  const auto run = RunOnce();
  ASSERT_TRUE(run.snap);
  EXPECT_EQ(run.snap->reason, FailureReason::kHttpStatus);
}

TEST_F(PvcProbeTest, BodiesThatAreNotAClaimListAreInvalid) {
  for (const std::string& body :
       {std::string("not json at all"), std::string("[1,2,3]"), std::string("{}"),
        ReadFixture(Fixture("status_401.json")), ReadFixture(Fixture("events_pending.json")),
        std::string(R"({"kind":"PersistentVolumeClaimList","items":{"a":1}})"),
        std::string(R"({"kind":"PersistentVolumeClaimList","items":[)")}) {
    api_.SetJson(kClaimsPath, 200, body);
    const auto run = RunOnce();
    ASSERT_TRUE(run.snap);
    EXPECT_EQ(run.snap->reason, FailureReason::kInvalidBody) << body;
    EXPECT_FALSE(V(run.text, "pvc", "triage_pvc_phase")) << run.text;
  }
}

TEST_F(PvcProbeTest, OddItemsAreSkippedNotFatal) {
  // Items of the wrong type, names that are not object names, a repeated
  // name, a phase that is no phase: none of it may throw or make a bad label.
  api_.SetJson(kClaimsPath, 200, R"({"kind":"PersistentVolumeClaimList","items":[
      1, "x", null, {"metadata": 7}, {"metadata": {"name": "Bad Name\"}"}},
      {"metadata": {"name": ["a"]}},
      {"metadata": {"name": "ok-1", "creationTimestamp": 5}, "status": {"phase": 42}},
      {"metadata": {"name": "ok-2", "creationTimestamp": "yesterday"}, "status": "Bound"},
      {"metadata": {"name": "ok-2"}, "status": {"phase": "Lost"}}]})");
  api_.SetJson(kClassesPath, 200, R"({"kind":"StorageClassList","items":[7,{"metadata":[]},
      {"metadata":{"annotations":{"storageclass.kubernetes.io/is-default-class":true}}}]})");
  const auto run = RunOnce();
  ASSERT_TRUE(run.snap);
  EXPECT_TRUE(run.snap->success) << run.debug;
  const std::string& t = run.text;
  for (const std::string phase : {"Pending", "Bound", "Lost"}) {
    EXPECT_EQ(V(t, "pvc", "triage_pvc_phase", {Claim("ok-1"), Phase(phase)}), 0.0) << t;
    EXPECT_EQ(V(t, "pvc", "triage_pvc_phase", {Claim("ok-2"), Phase(phase)}), 0.0) << t;
  }
  EXPECT_EQ(t.find("Bad Name"), std::string::npos) << t;
  // A JSON true is not the string "true" the API server writes.
  EXPECT_EQ(V(t, "pvc", "triage_storageclass_default_present"), 0.0) << t;
  EXPECT_NE(run.debug.find("7 items without a usable name skipped"), std::string::npos)
      << run.debug;
}

TEST_F(PvcProbeTest, OversizedBodyIsBodyTooLarge) {
  std::vector<ClaimSpec> many;
  for (int i = 0; i < 40; ++i) many.push_back({"data-" + std::to_string(i), "Bound", "2025-01-01T00:00:00Z"});
  api_.SetJson(kClaimsPath, 200, ClaimList(many));
  const auto run = RunOnce("body_size_limit: 2KiB");
  ASSERT_TRUE(run.snap);
  EXPECT_EQ(run.snap->reason, FailureReason::kBodyTooLarge);
  EXPECT_FALSE(V(run.text, "pvc", "triage_pvc_phase")) << run.text;
}

TEST_F(PvcProbeTest, EventsNotListAndClassesForbiddenLeaveTheOutcomeAlone) {
  api_.SetJson(kClaimsPath, 200, ClaimList({{"data-new-0", "Pending", Rfc3339(Now())}}));
  api_.SetJson(kEventsPath, 200, R"({"kind":"Status"})");
  api_.SetFixture(kClassesPath, 403, Fixture("status_403.json"));
  const auto run = RunOnce();
  ASSERT_TRUE(run.snap);
  EXPECT_TRUE(run.snap->success) << run.debug;
  EXPECT_FALSE(V(run.text, "pvc", "triage_pvc_last_event_info")) << run.text;
  EXPECT_FALSE(V(run.text, "pvc", "triage_storageclass_default_present")) << run.text;
  EXPECT_NE(run.debug.find("events of claim data-new-0: body is not an EventList"),
            std::string::npos)
      << run.debug;
  EXPECT_NE(run.debug.find("storage class list answered 403"), std::string::npos) << run.debug;
}

TEST(PvcProbeHostileTest, SilentEventsCallCostsOnlyTheRestOfTheTimeout) {
  // Answers the claim list at once, then never answers anything else.
  const std::string list = ClaimList({{"data-x", "Pending", "2025-01-01T00:00:00Z"}});
  RawServer server([list](int fd, const std::atomic<bool>& stopping) {
    const std::string head = testing::ReadRequestHead(fd, stopping);
    if (head.find("persistentvolumeclaims") != std::string::npos) {
      testing::SendAll(fd,
                       "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                       "Content-Length: " + std::to_string(list.size()) + "\r\n\r\n" + list,
                       stopping);
      return;
    }
    testing::WaitForPeerClose(fd, stopping);
  });
  ProbeRig rig(OneService({"{name: pvc, kind: kubernetes_pvc, layer: dependency, api_server: \"" +
                           server.Url("") + "\", namespace: ingero, interval: 5s, timeout: 800ms}"}));
  rig.StartIdle();
  const auto run = rig.RunOnce("pvc");
  ASSERT_TRUE(run.snap);
  // The outcome comes from the list; the events call ran out of time.
  EXPECT_EQ(run.snap->reason, FailureReason::kCheckFailed) << run.debug;
  EXPECT_LT(run.snap->duration_seconds, 0.8 + 0.5) << run.debug;
  EXPECT_EQ(V(run.text, "pvc", "triage_pvc_phase", {Claim("data-x"), Phase("Pending")}), 1.0);
  EXPECT_FALSE(V(run.text, "pvc", "triage_pvc_last_event_info")) << run.text;
  EXPECT_NE(run.debug.find("events of claim data-x failed: timeout"), std::string::npos)
      << run.debug;
}

// ---- 4. claims over time, caps, options ----------------------------------------------------

TEST_F(PvcProbeTest, ClaimThatDisappearsStopsBeingExported) {
  api_.SetFixture(kClaimsPath, 200, Fixture("pvc_list_pending.json"));
  rig_ = std::make_unique<ProbeRig>(
      OneService({PvcProbe("pvc", api_, token_file_, "interval: 200ms, timeout: 150ms")}));
  rig_->Start();
  const std::string gone = "data-ingero-echo-1";
  rig_->WaitText([&](const std::string& t) {
    return V(t, "pvc", "triage_pvc_phase", {Claim(gone), Phase("Pending")}) == 1.0;
  });
  // The claim was deleted.
  api_.SetJson(kClaimsPath, 200,
               ClaimList({{"data-ingero-echo-0", "Bound", "2025-05-17T09:12:44Z"}}));
  const std::string t = rig_->WaitText(
      [&](const std::string& t) { return !V(t, "pvc", "triage_pvc_phase", {Claim(gone)}); });
  EXPECT_FALSE(V(t, "pvc", "triage_pvc_pending_seconds", {Claim(gone)})) << t;
  EXPECT_FALSE(V(t, "pvc", "triage_pvc_last_event_info", {Claim(gone)})) << t;
  EXPECT_EQ(V(t, "pvc", "triage_pvc_phase", {Claim("data-ingero-echo-0"), Phase("Bound")}), 1.0)
      << t;
  rig_->WaitText([](const std::string& t) { return V(t, "pvc", "triage_probe_success") == 1.0; });
}

TEST_F(PvcProbeTest, ClaimAndLookupCaps) {
  // Four claims Pending within the grace, the oldest last by name, and a
  // Lost one past the claim cap.
  const double now = Now();
  api_.SetJson(kClaimsPath, 200,
               ClaimList({{"c-1", "Pending", Rfc3339(now - 600)},
                          {"c-2", "Pending", Rfc3339(now - 1200)},
                          {"c-3", "Pending", Rfc3339(now - 300)},
                          {"c-4", "Pending", Rfc3339(now - 1800)},
                          {"z-lost", "Lost", "2025-01-01T00:00:00Z"}}));
  const auto run = RunOnce("max_claims: 4, max_event_lookups: 2, pending_grace: 1h");
  ASSERT_TRUE(run.snap);
  const std::string& t = run.text;
  for (const std::string c : {"c-1", "c-2", "c-3", "c-4"}) {
    EXPECT_EQ(V(t, "pvc", "triage_pvc_phase", {Claim(c), Phase("Pending")}), 1.0) << t;
  }
  EXPECT_FALSE(V(t, "pvc", "triage_pvc_phase", {Claim("z-lost")})) << t;
  // Not exported, but still counted: the Lost claim fails the probe.
  EXPECT_EQ(run.snap->reason, FailureReason::kCheckFailed);
  EXPECT_NE(run.debug.find("1 claims over max_claims are not exported"), std::string::npos)
      << run.debug;
  // The two oldest Pending claims got their events looked up, in age order.
  const auto events = RequestsTo(api_, kEventsPath);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_NE(events[0].query.find("involvedObject.name%3Dc-4"), std::string::npos) << events[0].query;
  EXPECT_NE(events[1].query.find("involvedObject.name%3Dc-2"), std::string::npos) << events[1].query;
}

TEST_F(PvcProbeTest, EventsAndClassesCanBeTurnedOff) {
  api_.SetFixture(kClaimsPath, 200, Fixture("pvc_list_pending.json"));
  const auto run = RunOnce("fetch_events: false, check_storage_classes: false");
  ASSERT_TRUE(run.snap);
  EXPECT_EQ(api_.RequestCount(kEventsPath), 0u);
  EXPECT_EQ(api_.RequestCount(kClassesPath), 0u);
  EXPECT_FALSE(V(run.text, "pvc", "triage_pvc_last_event_info")) << run.text;
  EXPECT_FALSE(V(run.text, "pvc", "triage_storageclass_default_present")) << run.text;
  EXPECT_TRUE(V(run.text, "pvc", "triage_pvc_pending_seconds")) << run.text;
}

TEST_F(PvcProbeTest, BetaDefaultAnnotationCounts) {
  api_.SetFixture(kClassesPath, 200, Fixture("storageclasses_beta_default.json"));
  const auto run = RunOnce();
  ASSERT_TRUE(run.snap);
  EXPECT_EQ(V(run.text, "pvc", "triage_storageclass_default_present"), 1.0) << run.text;
}

TEST_F(PvcProbeTest, UnreadableTokenAtRunTimeKeepsTheLastValue) {
  // The file goes away after loading: the last good token is still used.
  rig_ = std::make_unique<ProbeRig>(OneService({PvcProbe("pvc", api_, token_file_)}));
  std::remove(token_file_.c_str());
  rig_->StartIdle();
  const auto run = rig_->RunOnce("pvc");
  ASSERT_TRUE(run.snap);
  EXPECT_TRUE(run.snap->success) << run.debug;
  EXPECT_EQ(RequestsTo(api_, kClaimsPath).at(0).authorization, std::string("Bearer ") + kToken);
}

// ---- 5. in-cluster configuration -------------------------------------------------------------

// Sets (or unsets, for nullptr) an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

std::string InClusterProbe(const std::string& extra) {
  return OneService(
      {"{name: pvc, kind: kubernetes_pvc, layer: dependency, namespace: ingero, interval: 5s, "
       "timeout: 1s" +
       (extra.empty() ? "" : ", " + extra) + "}"});
}

TEST(PvcProbeInClusterTest, EnvironmentGivesTheApiServer) {
  TempDir dir;
  const std::string token = dir.Write("token", std::string(kToken) + "\n");
  const std::string ca = dir.Write("ca.crt", "-----BEGIN CERTIFICATE-----\n");
  FixtureServer api;  // only lends its port: nothing in-cluster speaks plain http
  std::optional<ProbeRig> rig;
  {
    ScopedEnv host("KUBERNETES_SERVICE_HOST", "127.0.0.1");
    ScopedEnv port("KUBERNETES_SERVICE_PORT", std::to_string(api.port()).c_str());
    rig.emplace(InClusterProbe("bearer_token_file: \"" + token + "\", ca_file: \"" + ca + "\""));
  }
  auto spec = std::dynamic_pointer_cast<const KubernetesPvcProbeSpec>(rig->Spec("pvc"));
  ASSERT_TRUE(spec);
  EXPECT_TRUE(spec->config().in_cluster);
  EXPECT_EQ(spec->config().http.url, "https://127.0.0.1:" + std::to_string(api.port()));
  EXPECT_EQ(spec->ClaimsUrl(), "https://127.0.0.1:" + std::to_string(api.port()) + kClaimsPath);
  ASSERT_TRUE(spec->config().http.tls);
  EXPECT_EQ(spec->config().http.tls->ca_file, ca);
  ASSERT_TRUE(spec->config().http.bearer);
  EXPECT_EQ(spec->config().http.bearer->path(), token);

  rig->StartIdle();
  const auto run = rig->RunOnce("pvc");
  ASSERT_TRUE(run.snap);
  // The dummy CA file ends the https exchange before it starts.
  EXPECT_EQ(run.snap->reason, FailureReason::kTls) << run.debug;
  EXPECT_NE(run.debug.find("GET https://127.0.0.1:" + std::to_string(api.port()) + kClaimsPath),
            std::string::npos)
      << run.debug;
  EXPECT_EQ(run.debug.find(kToken), std::string::npos) << run.debug;
}

TEST(PvcProbeInClusterTest, Ipv6ServiceHostIsBracketed) {
  TempDir dir;
  const std::string token = dir.Write("token", "t\n");
  ScopedEnv host("KUBERNETES_SERVICE_HOST", "fd00:10:96::1");
  ScopedEnv port("KUBERNETES_SERVICE_PORT", "443");
  const Config cfg = LoadConfigString(
      InClusterProbe("bearer_token_file: \"" + token + "\", insecure_skip_verify: true"), "t.yaml");
  auto spec = std::dynamic_pointer_cast<const KubernetesPvcProbeSpec>(cfg.probes.at(0));
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->config().http.url, "https://[fd00:10:96::1]:443");
  ASSERT_TRUE(spec->config().http.tls);
  EXPECT_TRUE(spec->config().http.tls->ca_file.empty());
}

TEST(PvcProbeInClusterTest, NoApiServerAndNoEnvironmentIsAConfigError) {
  ScopedEnv host("KUBERNETES_SERVICE_HOST", nullptr);
  ScopedEnv port("KUBERNETES_SERVICE_PORT", nullptr);
  try {
    LoadConfigString(InClusterProbe(""), "t.yaml");
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind("t.yaml:4:9: ", 0), 0u) << msg;
    EXPECT_NE(msg.find("probe \"pvc\" of service \"svc\""), std::string::npos) << msg;
    EXPECT_NE(msg.find("KUBERNETES_SERVICE_HOST"), std::string::npos) << msg;
    EXPECT_NE(msg.find("expected api_server"), std::string::npos) << msg;
  }
}

TEST(PvcProbeInClusterTest, MissingServiceAccountTokenIsAConfigError) {
  if (FILE* f = std::fopen(std::string(kServiceAccountTokenPath).c_str(), "rb")) {
    std::fclose(f);
    GTEST_SKIP() << "running in a pod: the service account token exists";
  }
  ScopedEnv host("KUBERNETES_SERVICE_HOST", "127.0.0.1");
  ScopedEnv port("KUBERNETES_SERVICE_PORT", "6443");
  try {
    LoadConfigString(InClusterProbe(""), "t.yaml");
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind("t.yaml:4:9: ", 0), 0u) << msg;
    EXPECT_NE(msg.find(std::string(kServiceAccountTokenPath)), std::string::npos) << msg;
    EXPECT_NE(msg.find("bearer_token_file"), std::string::npos) << msg;
  }
}

// ---- 6. configuration errors ------------------------------------------------------------------

// The message of the ConfigError that loading `probe_keys` (inside the probe
// map after name/kind/layer) raises, "" when it loads.
std::string LoadError(const std::string& probe_keys) {
  const std::string yaml =
      "services:\n"
      "  - name: svc\n"
      "    probes:\n"
      "      - name: pvc\n"
      "        kind: kubernetes_pvc\n"
      "        layer: dependency\n" +
      probe_keys;
  return testing::ConfigErrorOf(yaml, "pvc.yaml");
}

TEST(PvcProbeConfigTest, ErrorsNameFileLineAndColumn) {
  TempDir dir;
  const std::string token = dir.Write("token", "t\n");
  const std::string base = "        api_server: http://127.0.0.1:1\n";
  EXPECT_EQ(LoadError(base + "        namespace: ingero\n"), "");

  std::string e = LoadError(base + "        namespace: ingero\n        namespaces: x\n");
  EXPECT_EQ(e.rfind("pvc.yaml:9:9: unknown key \"namespaces\"", 0), 0u) << e;

  e = LoadError(base);
  EXPECT_EQ(e.rfind("pvc.yaml:4:9: ", 0), 0u) << e;
  EXPECT_NE(e.find("namespace"), std::string::npos) << e;

  e = LoadError(base + "        namespace: Ingero_Prod\n");
  EXPECT_EQ(e.rfind("pvc.yaml:8:20: ", 0), 0u) << e;
  EXPECT_NE(e.find("expected a namespace name"), std::string::npos) << e;

  e = LoadError(base + "        namespace: ingero\n        max_claims: 0\n");
  EXPECT_EQ(e.rfind("pvc.yaml:9:21: ", 0), 0u) << e;

  e = LoadError(base + "        namespace: ingero\n        pending_grace: soon\n");
  EXPECT_EQ(e.rfind("pvc.yaml:9:24: ", 0), 0u) << e;

  e = LoadError("        api_server: \"ftp://10.0.0.1\"\n        namespace: ingero\n");
  EXPECT_EQ(e.rfind("pvc.yaml:7:21: ", 0), 0u) << e;

  e = LoadError("        api_server: https://10.0.0.1:6443/?watch=1\n        namespace: ingero\n");
  EXPECT_EQ(e.rfind("pvc.yaml:7:21: ", 0), 0u) << e;

  e = LoadError(base + "        namespace: ingero\n        bearer_token_file: /nonexistent/token\n");
  EXPECT_EQ(e.rfind("pvc.yaml:9:28: ", 0), 0u) << e;

  e = LoadError(base + "        namespace: ingero\n        ca_file: /nonexistent/ca.crt\n");
  EXPECT_EQ(e.rfind("pvc.yaml:9:18: ", 0), 0u) << e;

  // A token over plain http only to loopback.
  e = LoadError("        api_server: http://10.0.0.1:8080\n        namespace: ingero\n"
                "        bearer_token_file: \"" + token + "\"\n");
  EXPECT_EQ(e.rfind("pvc.yaml:7:21: ", 0), 0u) << e;
  EXPECT_NE(e.find("clear text"), std::string::npos) << e;
  EXPECT_EQ(LoadError("        api_server: https://10.0.0.1:6443/\n        namespace: ingero\n"
                      "        bearer_token_file: \"" + token + "\"\n"),
            "");
}

TEST(PvcProbeConfigTest, DefaultsAndUrls) {
  const Config cfg = LoadConfigString(
      "services:\n  - name: svc\n    probes:\n"
      "      - {name: pvc, kind: kubernetes_pvc, layer: dependency, namespace: ingero,\n"
      "         api_server: \"https://k8s.example:6443/\", label_selector: \"a=b\"}\n",
      "t.yaml");
  auto spec = std::dynamic_pointer_cast<const KubernetesPvcProbeSpec>(cfg.probes.at(0));
  ASSERT_TRUE(spec);
  const auto& c = spec->config();
  EXPECT_EQ(c.max_claims, 256);
  EXPECT_EQ(c.max_event_lookups, 16);
  EXPECT_TRUE(c.fetch_events);
  EXPECT_TRUE(c.check_storage_classes);
  EXPECT_EQ(c.pending_grace, std::chrono::minutes(2));
  EXPECT_FALSE(c.in_cluster);
  EXPECT_FALSE(c.http.bearer);
  EXPECT_EQ(spec->ClaimsUrl(),
            "https://k8s.example:6443/api/v1/namespaces/ingero/persistentvolumeclaims"
            "?labelSelector=a%3Db");
  EXPECT_EQ(spec->StorageClassesUrl(), "https://k8s.example:6443/apis/storage.k8s.io/v1/storageclasses");
  EXPECT_EQ(spec->EventsUrl("data-0"),
            "https://k8s.example:6443/api/v1/namespaces/ingero/events?fieldSelector="
            "involvedObject.kind%3DPersistentVolumeClaim,involvedObject.name%3Ddata-0");
}

// ---- 7. helpers --------------------------------------------------------------------------------

TEST(PvcProbeParseTest, Rfc3339) {
  EXPECT_EQ(ParseRfc3339("1970-01-01T00:00:00Z"), 0.0);
  EXPECT_EQ(ParseRfc3339("2025-05-17T10:02:13Z"), 1747476133.0);
  EXPECT_EQ(ParseRfc3339("2025-05-17T12:02:13+02:00"), 1747476133.0);
  EXPECT_EQ(ParseRfc3339("2025-05-17T09:32:13-00:30"), 1747476133.0);
  EXPECT_EQ(ParseRfc3339("2024-02-29T00:00:00z"), 1709164800.0);
  const auto micro = ParseRfc3339("2025-05-17T10:02:13.250000Z");
  ASSERT_TRUE(micro);
  EXPECT_DOUBLE_EQ(*micro, 1747476133.25);
  for (const char* bad : {"", "2025-05-17", "2025-05-17T10:02:13", "2025-13-01T00:00:00Z",
                          "2025-02-29T00:00:00Z", "2025-05-17T24:00:00Z", "2025-05-17T10:02:13.Z",
                          "2025-05-17T10:02:13Zjunk", "2025-05-17T10:02:13+0200",
                          "2025-05-17 10:02:13Z", "yesterday"}) {
    EXPECT_FALSE(ParseRfc3339(bad)) << bad;
  }
}

TEST(PvcProbeParseTest, EncodeQueryValue) {
  EXPECT_EQ(EncodeQueryValue("abc-._~XYZ09"), "abc-._~XYZ09");
  EXPECT_EQ(EncodeQueryValue("a=b,c!=d"), "a%3Db%2Cc%21%3Dd");
  EXPECT_EQ(EncodeQueryValue("env in (a b)&x=#"), "env%20in%20%28a%20b%29%26x%3D%23");
  EXPECT_EQ(EncodeQueryValue("\xc3\xa9\n"), "%C3%A9%0A");
}

}  // namespace
}  // namespace triage

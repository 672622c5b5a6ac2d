// Tests for kind: cluster. Single answers run once through the real event
// loop (ProbeRig::RunOnce against a FixtureServer or RawServer on 127.0.0.1);
// leader changes and followers disappearing run on the schedule, with the
// canned answer changed between runs. The body reading is also checked
// directly through ReadClusterBody.
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "collectors/cluster_probe.h"
#include "collectors/json_probe_util.h"
#include "exporter/config.h"
#include "tests/unit/fixture_server.h"
#include "tests/unit/hostile_bodies.h"
#include "tests/unit/probe_rig.h"
#include "tests/unit/raw_server.h"
#include "tests/unit/test_util.h"

namespace triage {
namespace {

using testing::ExpectConfigError;
using testing::FixtureServer;
using testing::L;
using testing::N;
using testing::ProbeRig;
using testing::RawServer;
using testing::Runs;
using testing::Successes;
using testing::V;

// The pointers that fit tests/fixtures/cluster/stats_*.json.
const std::string kStatsPointers =
    "leader_pointer: /cluster/leader, self_pointer: /cluster/node_id, "
    "replication_ready_pointer: /cluster/policy_replication, followers_pointer: /cluster/followers";

// A service "node" with one cluster probe "c" on `url`; `extra` holds more flow-map keys.
std::string ClusterYaml(const std::string& url, const std::string& extra) {
  return "services:\n"
         "  - name: node\n"
         "    probes:\n"
         "      - {name: c, kind: cluster, layer: dependency, url: \"" +
         url + "\", " + extra + "}\n";
}

ProbeRig::OneRun RunOnce(const std::string& url, const std::string& extra = kStatsPointers) {
  ProbeRig rig(ClusterYaml(url, extra));
  rig.StartIdle();
  return rig.RunOnce("c");
}

std::optional<double> G(const std::string& text, const std::string& metric,
                        std::vector<std::string> matchers = {}) {
  return V(text, "c", metric, std::move(matchers));
}
std::optional<double> Lag(const std::string& text, const std::string& follower) {
  return G(text, "triage_cluster_follower_lag_entries", {L("follower", follower)});
}
double Changes(const std::string& text) {
  return N(text, "c", "triage_cluster_leader_changes_total");
}

void ExpectFailedWith(const ProbeRig::OneRun& run, const std::string& reason) {
  testing::ExpectFailedWith(run, "c", reason);
}

// Only the counters are left after an answer that could not be read.
void ExpectNoClusterGauges(const std::string& text) {
  for (const char* m : {"triage_cluster_leader_known", "triage_cluster_is_leader",
                        "triage_cluster_replication_ready", "triage_cluster_follower_lag_entries"}) {
    EXPECT_EQ(G(text, m), std::nullopt) << m << "\n" << text;
  }
  EXPECT_EQ(G(text, "triage_cluster_leader_changes_total"), 0.0) << text;
}

// Probe "c" with kStatsPointers, for the hostile-answer checks shared with
// the other JSON kinds.
const testing::JsonKindUnderTest kCluster = {
    "c",
    [](const std::string& url, const std::string& extra) {
      return RunOnce(url, extra.empty() ? kStatsPointers : kStatsPointers + ", " + extra);
    },
    ExpectNoClusterGauges,
};

std::string StatsWithLeader(const std::string& leader_json) {
  return R"({"cluster": {"node_id": "node-b", "leader": )" + leader_json +
         R"(, "policy_replication": {"ready": true}, "followers": []}})";
}

// ---- answers in the node's real shapes -------------------------------------------

TEST(ClusterProbeTest, LeaderWithCaughtUpFollowers) {
  FixtureServer fs;
  fs.SetFixture("/api/v1/stats", 200, "cluster/stats_leader.json");
  const auto run = RunOnce(fs.Url("/api/v1/stats"));
  ASSERT_NE(run.snap, nullptr);
  EXPECT_EQ(G(run.text, "triage_probe_success"), 1.0) << run.text << run.debug;
  EXPECT_EQ(G(run.text, "triage_cluster_leader_known"), 1.0) << run.text;
  EXPECT_EQ(G(run.text, "triage_cluster_is_leader"), 1.0) << run.text;
  EXPECT_EQ(G(run.text, "triage_cluster_replication_ready"), 1.0) << run.text;
  EXPECT_EQ(G(run.text, "triage_cluster_leader_changes_total"), 0.0) << run.text;
  EXPECT_EQ(Lag(run.text, "dp-node-b"), 0.0) << run.text;
  EXPECT_EQ(Lag(run.text, "dp-node-c"), 3.0) << run.text;
  EXPECT_EQ(G(run.text, "triage_http_responses_total", {L("code", "200")}), 1.0) << run.text;
  // The leader's identity is never a label value.
  EXPECT_EQ(run.text.find("dp-node-a"), std::string::npos) << run.text;
}

TEST(ClusterProbeTest, NoLeaderKnownIsCheckFailed) {
  FixtureServer fs;
  fs.SetFixture("/api/v1/stats", 200, "cluster/stats_no_leader.json");
  const auto run = RunOnce(fs.Url("/api/v1/stats"));
  ExpectFailedWith(run, "check_failed");
  EXPECT_EQ(G(run.text, "triage_cluster_leader_known"), 0.0) << run.text;
  EXPECT_EQ(G(run.text, "triage_cluster_is_leader"), 0.0) << run.text;
  EXPECT_EQ(G(run.text, "triage_cluster_replication_ready"), 0.0) << run.text;
  EXPECT_EQ(G(run.text, "triage_cluster_follower_lag_entries"), std::nullopt) << run.text;
  EXPECT_NE(run.debug.find("no leader known"), std::string::npos) << run.debug;
}

TEST(ClusterProbeTest, ReplicationNotReadyIsCheckFailed) {
  FixtureServer fs;
  fs.SetJson("/stats", 200,
             R"({"cluster": {"leader": "dp-node-a", "replication_ready": false}})");
  const auto run = RunOnce(fs.Url("/stats"), "leader_pointer: /cluster/leader, "
                                             "replication_ready_pointer: /cluster/replication_ready");
  ExpectFailedWith(run, "check_failed");
  EXPECT_EQ(G(run.text, "triage_cluster_leader_known"), 1.0) << run.text;
  EXPECT_EQ(G(run.text, "triage_cluster_replication_ready"), 0.0) << run.text;
  // Neither self_pointer nor is_leader_pointer: no is_leader series.
  EXPECT_EQ(G(run.text, "triage_cluster_is_leader"), std::nullopt) << run.text;
}

TEST(ClusterProbeTest, OnlyLeaderPointerGivesOnlyLeaderSeries) {
  FixtureServer fs;
  fs.SetFixture("/api/v1/stats", 200, "cluster/stats_leader.json");
  const auto run = RunOnce(fs.Url("/api/v1/stats"), "leader_pointer: /cluster/leader");
  EXPECT_EQ(G(run.text, "triage_probe_success"), 1.0) << run.text << run.debug;
  EXPECT_EQ(G(run.text, "triage_cluster_leader_known"), 1.0) << run.text;
  EXPECT_EQ(G(run.text, "triage_cluster_is_leader"), std::nullopt) << run.text;
  EXPECT_EQ(G(run.text, "triage_cluster_replication_ready"), std::nullopt) << run.text;
  EXPECT_EQ(G(run.text, "triage_cluster_follower_lag_entries"), std::nullopt) << run.text;
}

TEST(ClusterProbeTest, IsLeaderPointerOnAFollower) {
  FixtureServer fs;
  fs.SetJson("/stats", 200, R"({"raft": {"leader_id": 3, "is_leader": false}})");
  const auto run =
      RunOnce(fs.Url("/stats"), "leader_pointer: /raft/leader_id, is_leader_pointer: /raft/is_leader");
  // Not being the leader is no failure: a leader is known.
  EXPECT_EQ(G(run.text, "triage_probe_success"), 1.0) << run.text << run.debug;
  EXPECT_EQ(G(run.text, "triage_cluster_is_leader"), 0.0) << run.text;
  EXPECT_EQ(G(run.text, "triage_cluster_leader_known"), 1.0) << run.text;
}

TEST(ClusterProbeTest, FollowerOverMaxLagIsCheckFailed) {
  FixtureServer fs;
  fs.SetFixture("/api/v1/stats", 200, "cluster/stats_follower_lagging.json");
  const auto lagging = RunOnce(fs.Url("/api/v1/stats"), kStatsPointers + ", max_follower_lag: 100");
  ExpectFailedWith(lagging, "check_failed");
  EXPECT_EQ(Lag(lagging.text, "dp-node-c"), 1780.0) << lagging.text;
  EXPECT_EQ(G(lagging.text, "triage_cluster_leader_known"), 1.0) << lagging.text;
  // Without max_follower_lag the lag is exported but does not decide success.
  const auto exported = RunOnce(fs.Url("/api/v1/stats"));
  EXPECT_EQ(G(exported.text, "triage_probe_success"), 1.0) << exported.text << exported.debug;
  EXPECT_EQ(Lag(exported.text, "dp-node-c"), 1780.0) << exported.text;
}

TEST(ClusterProbeTest, FollowersAsAnObjectOfLags) {
  FixtureServer fs;
  fs.SetJson("/stats", 200,
             R"({"leader": "n1", "followers": {"n2": 0, "n3": {"behind": 12}, "n4": "far"}})");
  const auto run = RunOnce(fs.Url("/stats"), "leader_pointer: /leader, followers_pointer: /followers, "
                                             "follower_lag_field: behind");
  EXPECT_EQ(G(run.text, "triage_probe_success"), 1.0) << run.text << run.debug;
  EXPECT_EQ(Lag(run.text, "n2"), 0.0) << run.text;
  EXPECT_EQ(Lag(run.text, "n3"), 12.0) << run.text;
  EXPECT_EQ(Lag(run.text, "n4"), std::nullopt) << run.text;
  EXPECT_NE(run.debug.find("1 follower entries skipped"), std::string::npos) << run.debug;
}

// ---- failure reasons -----------------------------------------------------------

TEST(ClusterProbeTest, GarbageIsInvalidBody) {
  testing::ExpectHostileAnswersFail(
      kCluster, {{.label = "garbage", .fixture = "cluster/stats_garbage.txt"}});
}

TEST(ClusterProbeTest, WrongTypesAreInvalidBody) {
  testing::ExpectHostileAnswersFail(
      kCluster,
      {{.label = "leader-object", .body = R"({"cluster": {"leader": {"id": "a"}}})"},
       {.label = "leader-bool", .body = R"({"cluster": {"leader": true}})"},
       {.label = "replication-string",
        .body = R"({"cluster": {"leader": "a", "policy_replication": "yes"}})"},
       {.label = "followers-number", .body = R"({"cluster": {"leader": "a", "followers": 3}})"}});
}

TEST(ClusterProbeTest, StatusFailures) {
  FixtureServer fs;
  fs.SetJson("/401", 401, R"({"code": "unauthorized"})");
  fs.SetJson("/403", 403, R"({"code": "forbidden"})");
  fs.SetFixture("/500", 500, "cluster/stats_leader.json");
  ExpectFailedWith(RunOnce(fs.Url("/401")), "unauthorized");
  ExpectFailedWith(RunOnce(fs.Url("/403")), "unauthorized");
  const auto run = RunOnce(fs.Url("/500"));
  ExpectFailedWith(run, "http_status");
  ExpectNoClusterGauges(run.text);
  EXPECT_EQ(G(run.text, "triage_http_responses_total", {L("code", "500")}), 1.0) << run.text;
}

TEST(ClusterProbeTest, TransportFailures) {
  const auto refused =
      RunOnce("http://127.0.0.1:" + std::to_string(testing::ClosedPort()) + "/api/v1/stats");
  ExpectFailedWith(refused, "connection_refused");
  ExpectNoClusterGauges(refused.text);

  testing::ExpectHugeBodyIsBodyTooLarge(kCluster, /*chunked=*/false);

  RawServer reset(RawServer::ResetMidBody());
  ExpectFailedWith(RunOnce(reset.Url("/api/v1/stats")), "connection_error");
}

// ---- across runs ----------------------------------------------------------------

TEST(ClusterProbeTest, LeaderChangesCountIdentityChangesOnly) {
  FixtureServer fs;
  fs.SetJson("/stats", 200, StatsWithLeader("\"node-a\""));
  ProbeRig rig(ClusterYaml(fs.Url("/stats"), kStatsPointers + ", interval: 200ms, timeout: 200ms"));
  rig.Start();

  // A, A: the same leader twice is no change.
  std::string text = rig.WaitText([](const std::string& t) { return Successes(t, "c") >= 2; });
  EXPECT_EQ(Changes(text), 0) << text;

  // A -> B: one change.
  fs.SetJson("/stats", 200, StatsWithLeader("\"node-b\""));
  text = rig.WaitText([](const std::string& t) { return Changes(t) >= 1; });
  EXPECT_EQ(Changes(text), 1) << text;
  EXPECT_EQ(G(text, "triage_cluster_is_leader"), 1.0) << text;  // node-b is this node

  // B -> unknown: no change, and no leader known.
  fs.SetJson("/stats", 200, StatsWithLeader("null"));
  text = rig.WaitText(
      [](const std::string& t) { return G(t, "triage_cluster_leader_known") == 0.0; });
  EXPECT_EQ(Changes(text), 1) << text;
  EXPECT_EQ(G(text, "triage_cluster_is_leader"), 0.0) << text;

  // unknown -> C: B -> (unknown) -> C is one more change.
  fs.SetJson("/stats", 200, StatsWithLeader("\"node-c\""));
  text = rig.WaitText(
      [](const std::string& t) { return G(t, "triage_cluster_leader_known") == 1.0; });
  EXPECT_EQ(Changes(text), 2) << text;

  // C -> "" (unknown) -> garbage -> C: no change, whatever happened in between.
  fs.SetJson("/stats", 200, StatsWithLeader("\"\""));
  rig.WaitText([](const std::string& t) { return G(t, "triage_cluster_leader_known") == 0.0; });
  fs.SetJson("/stats", 200, "<html>bad gateway</html>");
  rig.WaitText([](const std::string& t) {
    return N(t, "c", "triage_probe_failures_total", {L("reason", "invalid_body")}) >= 1 &&
           !G(t, "triage_cluster_leader_known");
  });
  fs.SetJson("/stats", 200, StatsWithLeader("\"node-c\""));
  text = rig.WaitText(
      [](const std::string& t) { return G(t, "triage_cluster_leader_known") == 1.0; });
  const double runs = Runs(text, "c");
  text = rig.WaitRuns("c", runs + 2);
  EXPECT_EQ(Changes(text), 2) << text;
}

TEST(ClusterProbeTest, FollowerThatDisappearsIsNoLongerExported) {
  FixtureServer fs;
  fs.SetFixture("/api/v1/stats", 200, "cluster/stats_leader.json");
  ProbeRig rig(ClusterYaml(fs.Url("/api/v1/stats"), kStatsPointers + ", interval: 300ms, timeout: 300ms"));
  rig.Start();
  rig.WaitText([](const std::string& t) { return Lag(t, "dp-node-c") == 3.0; });

  fs.SetJson("/api/v1/stats", 200,
             R"({"cluster": {"node_id": "dp-node-a", "leader": "dp-node-a",
                             "policy_replication": {"ready": true},
                             "followers": [{"id": "dp-node-b", "lag_entries": 5}]}})");
  const std::string text =
      rig.WaitText([](const std::string& t) { return Lag(t, "dp-node-b") == 5.0; });
  EXPECT_EQ(Lag(text, "dp-node-c"), std::nullopt) << text;
}

// ---- bounds ---------------------------------------------------------------------------

TEST(ClusterProbeTest, FollowersOverTheCapAreNotExported) {
  FixtureServer fs;
  std::string followers;
  for (int i = 0; i < 40; ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "node-%02d", i);
    followers += std::string(i ? ", " : "") + "{\"id\": \"" + id + "\", \"lag_entries\": " +
                 std::to_string(i == 39 ? 5000 : i) + "}";
  }
  fs.SetJson("/stats", 200, R"({"leader": "node-00", "followers": [)" + followers + "]}");
  const std::string pointers = "leader_pointer: /leader, followers_pointer: /followers, max_followers: 5";
  const auto run = RunOnce(fs.Url("/stats"), pointers);
  EXPECT_EQ(G(run.text, "triage_probe_success"), 1.0) << run.text << run.debug;
  int series = 0;
  for (int i = 0; i < 40; ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "node-%02d", i);
    if (Lag(run.text, id)) ++series;
  }
  EXPECT_EQ(series, 5) << run.text;
  EXPECT_EQ(Lag(run.text, "node-04"), 4.0) << run.text;
  EXPECT_NE(run.debug.find("35 followers ignored over max_followers 5"), std::string::npos)
      << run.debug;

  // A follower beyond the cap still counts against max_follower_lag.
  ExpectFailedWith(RunOnce(fs.Url("/stats"), pointers + ", max_follower_lag: 1000"), "check_failed");
}

TEST(ClusterProbeTest, HostileFollowerIdsAreSanitized) {
  FixtureServer fs;
  fs.SetJson("/stats", 200,
             "{\"leader\": \"a\", \"followers\": {\"x\\\"} evil{\": 1, \"" + std::string(200, 'f') +
                 "\": 2}}");
  const auto run = RunOnce(fs.Url("/stats"), "leader_pointer: /leader, followers_pointer: /followers");
  EXPECT_EQ(Lag(run.text, "x___evil_"), 1.0) << run.text;
  EXPECT_EQ(Lag(run.text, std::string(64, 'f')), 2.0) << run.text;
}

// ---- reading bodies directly ---------------------------------------------------------

ClusterProbeConfig Pointers(const std::string& leader) {
  ClusterProbeConfig c;
  c.leader_pointer = *ParseJsonPointer(leader);
  return c;
}

TEST(ClusterReadTest, LeaderIdentities) {
  const ClusterProbeConfig c = Pointers("/l");
  EXPECT_EQ(ReadClusterBody(c, R"({"l": "n1"})").leader, "n1");
  EXPECT_EQ(ReadClusterBody(c, R"({"l": 7})").leader, "7");
  EXPECT_EQ(ReadClusterBody(c, R"({"l": 18446744073709551615})").leader, "18446744073709551615");
  for (const char* none : {R"({"l": ""})", R"({"l": null})", R"({})", R"([])", R"("l")"}) {
    const auto v = ReadClusterBody(c, none);
    EXPECT_TRUE(v.readable) << none;
    EXPECT_FALSE(v.leader) << none;
  }
  for (const char* bad : {R"({"l": 1.5})", R"({"l": false})", R"({"l": []})"}) {
    EXPECT_FALSE(ReadClusterBody(c, bad).readable) << bad;
  }
  for (const std::string& garbage : testing::NotJsonBodies()) {
    EXPECT_FALSE(ReadClusterBody(c, garbage).readable) << garbage;
  }
}

TEST(ClusterReadTest, SelfAndReplicationShapes) {
  ClusterProbeConfig c = Pointers("/l");
  c.self_pointer = *ParseJsonPointer("/me");
  c.replication_ready_pointer = *ParseJsonPointer("/r");
  auto v = ReadClusterBody(c, R"({"l": 2, "me": 2, "r": true})");
  ASSERT_TRUE(v.readable) << v.problem;
  EXPECT_EQ(v.is_leader, true);
  EXPECT_EQ(v.replication_ready, true);
  v = ReadClusterBody(c, R"({"l": "a", "me": "b", "r": {"ready": false, "applied": 3}})");
  EXPECT_EQ(v.is_leader, false);
  EXPECT_EQ(v.replication_ready, false);
  v = ReadClusterBody(c, R"({"me": "b"})");  // nothing reported: not leader, not ready
  ASSERT_TRUE(v.readable) << v.problem;
  EXPECT_EQ(v.is_leader, false);
  EXPECT_EQ(v.replication_ready, false);
  EXPECT_EQ(v.notes.size(), 2u);
  EXPECT_FALSE(ReadClusterBody(c, R"({"l": "a", "r": {"ready": "yes"}})").readable);
}

TEST(ClusterReadTest, FollowerEntries) {
  ClusterProbeConfig c = Pointers("/l");
  c.followers_pointer = *ParseJsonPointer("/f");
  const auto v = ReadClusterBody(c, R"({"l": "a", "f": [
      {"id": "b", "lag_entries": 4}, {"id": 9, "lag_entries": 2.5},
      {"id": "x y", "lag_entries": 1}, {"id": "x_y", "lag_entries": 8},
      {"id": "neg", "lag_entries": -1}, {"id": "s", "lag_entries": "3"},
      {"lag_entries": 1}, {"id": "nolag"}, {"id": true, "lag_entries": 1}, 5, null]})");
  ASSERT_TRUE(v.readable) << v.problem;
  EXPECT_EQ(v.followers_total, 3u);  // b, 9, x_y
  EXPECT_EQ(v.followers_skipped, 7u);
  EXPECT_EQ(v.follower_lag.at("b"), 4);
  EXPECT_EQ(v.follower_lag.at("9"), 2.5);
  EXPECT_EQ(v.follower_lag.at("x_y"), 8);  // colliding ids keep the largest lag
  EXPECT_EQ(v.max_lag, 8);
}

// ---- configuration errors ------------------------------------------------------------


// A block-style cluster probe; `extra_lines` start on line 8, keys at column 9.
std::string BlockProbe(const std::string& extra_lines) {
  return "services:\n"
         "  - name: node\n"
         "    probes:\n"
         "      - name: c\n"
         "        kind: cluster\n"
         "        layer: dependency\n"
         "        url: http://127.0.0.1:1/api/v1/stats\n" +
         extra_lines;
}

TEST(ClusterConfigTest, BadPointerNamesItsPosition) {
  const std::string msg = ExpectConfigError(BlockProbe("        leader_pointer: /cluster/leader\n"
                                               "        followers_pointer: cluster/followers\n"));
  EXPECT_EQ(msg.rfind("test.yaml:9:28: ", 0), 0u) << msg;
  EXPECT_NE(msg.find("followers_pointer"), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected a JSON Pointer such as /checks"), std::string::npos) << msg;
}

TEST(ClusterConfigTest, SelfAndIsLeaderPointersAreExclusive) {
  const std::string msg = ExpectConfigError(BlockProbe("        leader_pointer: /cluster/leader\n"
                                               "        self_pointer: /cluster/node_id\n"
                                               "        is_leader_pointer: /cluster/is_leader\n"));
  EXPECT_EQ(msg.rfind("test.yaml:10:28: ", 0), 0u) << msg;
  EXPECT_NE(msg.find("at most one of self_pointer"), std::string::npos) << msg;
}

TEST(ClusterConfigTest, MissingLeaderPointerAndStrayFollowerKeys) {
  std::string msg = ExpectConfigError(BlockProbe(""));
  EXPECT_EQ(msg.rfind("test.yaml:4:9: ", 0), 0u) << msg;
  EXPECT_NE(msg.find("missing required key \"leader_pointer\""), std::string::npos) << msg;

  msg = ExpectConfigError(BlockProbe("        leader_pointer: /leader\n"
                             "        max_followers: 4\n"));
  EXPECT_EQ(msg.rfind("test.yaml:9:24: ", 0), 0u) << msg;
  EXPECT_NE(msg.find("followers_pointer"), std::string::npos) << msg;

  msg = ExpectConfigError(BlockProbe("        leader_pointer: /leader\n"
                             "        leader_ponter: /x\n"));
  EXPECT_EQ(msg.rfind("test.yaml:9:", 0), 0u) << msg;
  EXPECT_NE(msg.find("leader_ponter"), std::string::npos) << msg;

  msg = ExpectConfigError(BlockProbe("        leader_pointer: /leader\n"
                             "        followers_pointer: /f\n"
                             "        max_follower_lag: -1\n"));
  EXPECT_EQ(msg.rfind("test.yaml:10:27: ", 0), 0u) << msg;
}

}  // namespace
}  // namespace triage

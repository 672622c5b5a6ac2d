// Tests for the example configurations in examples/: each one loads through
// the exporter's own loader (LoadConfigFile, as --config.check and the daemon
// do), and each example for a guide keeps the probes that cover the guide's
// symptoms. tests/integration/examples_check_test.sh runs the binary on them
// and points two of them at the simulators.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "collectors/registry.h"
#include "exporter/config.h"

namespace triage {
namespace {

#ifdef TRIAGE_SOURCE_DIR

namespace fs = std::filesystem;

const std::string kExamples = std::string(TRIAGE_SOURCE_DIR) + "/examples/";

std::vector<std::string> ExampleFiles() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(kExamples)) {
    if (entry.is_regular_file() && entry.path().extension() == ".yaml") {
      names.push_back(entry.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::set<std::string> Kinds(const Config& c) {
  std::set<std::string> kinds;
  for (const auto& p : c.probes) kinds.insert(p->common().kind);
  return kinds;
}

// The probes of an example as written (for keys the loaded specs keep to
// themselves), keyed by "service/probe".
std::map<std::string, YAML::Node> RawProbes(const std::string& file) {
  std::map<std::string, YAML::Node> out;
  const YAML::Node root = YAML::LoadFile(kExamples + file);
  for (const auto& service : root["services"]) {
    for (const auto& probe : service["probes"]) {
      out[service["name"].as<std::string>() + "/" + probe["name"].as<std::string>()] =
          static_cast<const YAML::Node&>(probe);
    }
  }
  return out;
}

const ProbeSpec* Find(const Config& c, const std::string& service, const std::string& probe) {
  for (const auto& p : c.probes) {
    if (p->common().service == service && p->common().name == probe) return p.get();
  }
  return nullptr;
}

TEST(Examples, EveryExampleLoads) {
  const auto files = ExampleFiles();
  for (const char* want : {"demo.yaml", "api-server.yaml", "dataplane-cluster.yaml", "service-mesh.yaml",
                           "edge-gateway.yaml", "auth-platform.yaml"}) {
    EXPECT_NE(std::find(files.begin(), files.end(), want), files.end()) << want;
  }
  for (const auto& f : files) {
    SCOPED_TRACE(f);
    Config c;
    ASSERT_NO_THROW(c = LoadConfigFile(kExamples + f));
    EXPECT_FALSE(c.services.empty());
    EXPECT_FALSE(c.probes.empty());
    // Each file opens with the comment that says what it covers.
    std::ifstream in(kExamples + f);
    std::string first;
    std::getline(in, first);
    EXPECT_EQ(first.rfind("# ", 0), 0u) << first;
  }
}

TEST(Examples, DemoUsesEveryKind) {
  const Config c = LoadConfigFile(kExamples + "demo.yaml");
  std::set<std::string> all;
  for (const auto& k : CollectorKinds()) all.insert(std::string(k.name));
  EXPECT_EQ(Kinds(c), all);
  std::set<std::string> services;
  for (const auto& s : c.services) services.insert(s.name);
  EXPECT_EQ(services, (std::set<std::string>{"echo", "node", "storage"}));
  // Only loopback targets: the demo contacts nothing else.
  for (const auto& [name, probe] : RawProbes("demo.yaml")) {
    for (const char* key : {"url", "address", "api_server"}) {
      if (probe[key]) {
        const std::string target = probe[key].as<std::string>();
        EXPECT_NE(target.find("127.0.0.1:"), std::string::npos) << name << ": " << target;
      }
    }
  }
}

struct Expectation {
  std::string file;
  std::string guide;  // "shared/seeds/00N"
  std::set<std::string> kinds;
};

TEST(Examples, EachGuideExampleUsesTheKindsItNeeds) {
  const Expectation cases[] = {
      {"api-server.yaml", "shared/seeds/000", {"http", "scrape", "kubernetes_pvc"}},
      {"dataplane-cluster.yaml", "shared/seeds/001", {"http", "readiness", "cluster", "scrape"}},
      {"service-mesh.yaml", "shared/seeds/002", {"http", "scrape"}},
      {"edge-gateway.yaml", "shared/seeds/003", {"http", "scrape"}},
      {"auth-platform.yaml", "shared/seeds/004", {"http", "tcp"}},
  };
  for (const auto& e : cases) {
    SCOPED_TRACE(e.file);
    const Config c = LoadConfigFile(kExamples + e.file);
    const auto kinds = Kinds(c);
    for (const auto& k : e.kinds) EXPECT_EQ(kinds.count(k), 1u) << k;
    std::ifstream in(kExamples + e.file);
    std::string head;
    for (std::string line; head.size() < 400 && std::getline(in, line);) head += line + "\n";
    EXPECT_NE(head.find(e.guide), std::string::npos) << head;
  }
}

TEST(Examples, ApiServerCoversTheEchoGuide) {
  const Config c = LoadConfigFile(kExamples + "api-server.yaml");
  const auto raw = RawProbes("api-server.yaml");
  ASSERT_EQ(raw.count("echo/api"), 1u);
  EXPECT_EQ(raw.at("echo/api")["error_code_pointer"].as<std::string>(), "/code");
  EXPECT_EQ(raw.at("echo/api")["authorization"]["type"].as<std::string>(), "Bearer");
  ASSERT_EQ(raw.count("echo/api-v1"), 1u);
  EXPECT_EQ(raw.at("echo/api-v1")["valid_status_codes"].as<std::vector<int>>(), std::vector<int>{410});
  ASSERT_EQ(raw.count("echo/metrics"), 1u);
  EXPECT_EQ(raw.at("echo/metrics")["kind"].as<std::string>(), "scrape");
  EXPECT_TRUE(raw.at("echo/metrics")["authorization"].IsMap());
  EXPECT_EQ(raw.at("echo/metrics")["expect_metrics"][0].as<std::string>(), "echo_http_requests_total");
  ASSERT_EQ(raw.count("echo/data"), 1u);
  EXPECT_EQ(raw.at("echo/data")["namespace"].as<std::string>(), "ingero");
  const ProbeSpec* ready = Find(c, "echo", "ready");
  ASSERT_NE(ready, nullptr);
  EXPECT_EQ(ready->common().layer, Layer::kReadiness);
}

TEST(Examples, DataplaneClusterReadsReadinessKeysAndTheCluster) {
  const Config c = LoadConfigFile(kExamples + "dataplane-cluster.yaml");
  const auto raw = RawProbes("dataplane-cluster.yaml");
  for (const std::string node : {"dataplane-node-1", "dataplane-node-2", "dataplane-node-3"}) {
    SCOPED_TRACE(node);
    const ProbeSpec* ready = Find(c, node, "ready");
    ASSERT_NE(ready, nullptr);
    EXPECT_EQ(ready->common().kind, "readiness");
    EXPECT_EQ(ready->common().layer, Layer::kReadiness);
    const ProbeSpec* stats = Find(c, node, "stats");
    ASSERT_NE(stats, nullptr);
    EXPECT_EQ(stats->common().kind, "cluster");
    // The pointers into what the node's /api/v1/stats answers.
    const YAML::Node& s = raw.at(node + "/stats");
    EXPECT_EQ(s["leader_pointer"].as<std::string>(), "/cluster/leader");
    EXPECT_EQ(s["self_pointer"].as<std::string>(), "/cluster/node_id");
    EXPECT_EQ(s["replication_ready_pointer"].as<std::string>(), "/cluster/policy_replication");
    EXPECT_EQ(s["followers_pointer"].as<std::string>(), "/cluster/followers");
  }
  for (const std::string probe : {"audit", "wiretap"}) {
    ASSERT_EQ(raw.count("dataplane-node-1/" + probe), 1u) << probe;
    EXPECT_EQ(raw.at("dataplane-node-1/" + probe)["valid_status_codes"].as<std::vector<int>>(),
              std::vector<int>{200});
  }
}

TEST(Examples, ServiceMeshWatchesEveryHopOfTheMetricsFlow) {
  const Config c = LoadConfigFile(kExamples + "service-mesh.yaml");
  const auto raw = RawProbes("service-mesh.yaml");
  bool report = false;
  bool prometheus = false;
  for (const auto& [name, probe] : raw) {
    if (probe["kind"].as<std::string>() != "scrape") continue;
    for (const auto& m : probe["expect_metrics"]) {
      report |= m.as<std::string>() == R"(grpc_server_handled_total{grpc_method="Report"} > 0)";
    }
    prometheus |= probe["prometheus_url"].IsDefined() && probe["job"].IsDefined();
  }
  EXPECT_TRUE(report);
  EXPECT_TRUE(prometheus);
  const ProbeSpec* pilot = Find(c, "mesh", "pilot-registration");
  ASSERT_NE(pilot, nullptr);
  EXPECT_EQ(pilot->common().kind, "http");
  EXPECT_EQ(pilot->common().layer, Layer::kDependency);
  EXPECT_NE(raw.at("mesh/pilot-registration")["url"].as<std::string>().find("/v1/registration"),
            std::string::npos);
}

TEST(Examples, EdgeGatewayKeepsUpstreamRestartsInTheGatewaysService) {
  const Config c = LoadConfigFile(kExamples + "edge-gateway.yaml");
  // Some service holds both an http traffic probe (the 5xx) and a scrape of
  // the upstream API (its restarts), so the two correlate by service.
  std::map<std::string, std::set<std::string>> per_service;
  for (const auto& p : c.probes) {
    if (p->common().kind == "http" && p->common().layer == Layer::kTraffic) {
      per_service[p->common().service].insert("traffic");
    }
    if (p->common().kind == "scrape" && p->common().layer == Layer::kDependency) {
      per_service[p->common().service].insert("upstream");
    }
  }
  EXPECT_TRUE(std::any_of(per_service.begin(), per_service.end(),
                          [](const auto& kv) { return kv.second.size() == 2; }));
}

TEST(Examples, AuthPlatformGoesFromTheBoundaryInward) {
  const Config c = LoadConfigFile(kExamples + "auth-platform.yaml");
  // File order: readiness first, then storage, then the API's answers.
  Layer previous = Layer::kLiveness;
  for (const auto& p : c.probes) {
    EXPECT_GE(p->common().layer, previous) << p->common().name;
    previous = p->common().layer;
  }
  ASSERT_FALSE(c.probes.empty());
  EXPECT_EQ(c.probes.front()->common().layer, Layer::kReadiness);
  std::set<std::string> ports;
  for (const auto& [name, probe] : RawProbes("auth-platform.yaml")) {
    if (probe["kind"].as<std::string>() != "tcp") continue;
    EXPECT_EQ(probe["layer"].as<std::string>(), "dependency") << name;
    const std::string address = probe["address"].as<std::string>();
    ports.insert(address.substr(address.rfind(':') + 1));
  }
  EXPECT_EQ(ports, (std::set<std::string>{"5432", "6379"}));
  const auto raw = RawProbes("auth-platform.yaml");
  bool tracks_401_403 = false;
  for (const auto& [name, probe] : raw) {
    tracks_401_403 |= probe["kind"].as<std::string>() == "http" && probe["authorization"].IsDefined() &&
                      probe["layer"].as<std::string>() == "traffic";
  }
  EXPECT_TRUE(tracks_401_403);
}

#endif  // TRIAGE_SOURCE_DIR

}  // namespace
}  // namespace triage

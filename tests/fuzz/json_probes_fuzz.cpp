// What the readiness and cluster kinds read from a JSON body, and JSON
// pointers, on any bytes. The readers must answer "not readable" rather
// than throw or crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "collectors/cluster_probe.h"
#include "collectors/json_probe_util.h"
#include "collectors/readiness_probe.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);

  static const triage::ReadinessProbeConfig readiness{};
  triage::JudgeReadinessBody(readiness, body);

  static const triage::ClusterProbeConfig cluster = [] {
    triage::ClusterProbeConfig c;
    c.leader_pointer = nlohmann::json::json_pointer("/cluster/leader");
    c.self_pointer = nlohmann::json::json_pointer("/self");
    c.replication_ready_pointer = nlohmann::json::json_pointer("/cluster/replication_ready");
    c.followers_pointer = nlohmann::json::json_pointer("/cluster/followers");
    c.max_follower_lag = 1000;
    return c;
  }();
  triage::ReadClusterBody(cluster, body);

  // The bytes as a JSON pointer, looked up in a small document.
  if (auto ptr = triage::ParseJsonPointer(body)) {
    static const nlohmann::json doc =
        nlohmann::json::parse(R"({"a":[1,{"b":"c"}],"checks":{"x":true},"~/":0})");
    triage::FindJsonPointer(doc, *ptr);
  }
  return 0;
}

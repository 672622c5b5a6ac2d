// Sharding: several replicas share one configuration, and each runs only the
// probes of its shard (--shard.index, --shard.count).
//
// A probe's shard is FNV-1a (64 bit) over the bytes of its service name, one
// zero byte and its probe name, modulo the shard count. It depends on nothing
// but the probe's own names, so adding or removing a probe never moves
// another one, and every replica computes the same assignment.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace triage {

struct Shard {
  int index = 0;
  int count = 1;  // 1: no sharding, every probe runs here
  bool Owns(std::string_view service, std::string_view probe) const;
};

uint64_t ShardHash(std::string_view service, std::string_view probe);

// Reads --shard.count and --shard.index. The index is a number from 0 to
// count - 1, or "hostname": the number after the last '-' of `hostname`, as
// the pods of a StatefulSet are named (triage-exporter-2). Returns an error
// message, empty on success.
std::string ParseShard(const std::string& index, const std::string& count,
                       const std::string& hostname, Shard* out);

}  // namespace triage

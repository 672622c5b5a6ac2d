#include "exporter/shard.h"

#include <charconv>

namespace triage {
namespace {

constexpr uint64_t kFnvOffset = 14695981039346656037ull;
constexpr uint64_t kFnvPrime = 1099511628211ull;

uint64_t Fnv1a(uint64_t h, std::string_view bytes) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= kFnvPrime;
  }
  return h;
}

bool ParseInt(std::string_view s, int* out) {
  if (s.empty()) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

uint64_t ShardHash(std::string_view service, std::string_view probe) {
  uint64_t h = Fnv1a(kFnvOffset, service);
  h = Fnv1a(h, std::string_view("\0", 1));
  return Fnv1a(h, probe);
}

bool Shard::Owns(std::string_view service, std::string_view probe) const {
  if (count <= 1) return true;
  return ShardHash(service, probe) % static_cast<uint64_t>(count) == static_cast<uint64_t>(index);
}

std::string ParseShard(const std::string& index, const std::string& count,
                       const std::string& hostname, Shard* out) {
  Shard s;
  if (!ParseInt(count, &s.count) || s.count < 1 || s.count > 10000) {
    return "--shard.count must be a whole number from 1 to 10000, got \"" + count + "\"";
  }
  if (index == "hostname") {
    const size_t dash = hostname.rfind('-');
    if (dash == std::string::npos || !ParseInt(std::string_view(hostname).substr(dash + 1), &s.index)) {
      return "--shard.index=hostname needs a host name ending in -<number> (a StatefulSet pod "
             "such as triage-exporter-2), got \"" + hostname + "\"";
    }
  } else if (!ParseInt(index, &s.index)) {
    return "--shard.index must be a whole number or \"hostname\", got \"" + index + "\"";
  }
  if (s.index < 0 || s.index >= s.count) {
    return "shard index " + std::to_string(s.index) + " is outside 0.." + std::to_string(s.count - 1) +
           " (--shard.count=" + std::to_string(s.count) + ")";
  }
  *out = s;
  return "";
}

}  // namespace triage

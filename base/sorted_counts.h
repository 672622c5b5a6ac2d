// Counters keyed by a small set of values (failure reasons, status codes,
// error codes), kept as a vector sorted by key: a probe sees a handful of
// keys, and a vector costs a fraction of a map's nodes per probe.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

namespace triage {

template <typename Key>
using SortedCounts = std::vector<std::pair<Key, uint64_t>>;

// The counter of `key`, added at its place (starting at 0) when new.
template <typename Key>
uint64_t& CounterOf(SortedCounts<Key>& counts, Key key) {
  auto it = std::lower_bound(counts.begin(), counts.end(), key,
                             [](const auto& e, const Key& k) { return e.first < k; });
  if (it == counts.end() || key < it->first) it = counts.insert(it, {std::move(key), 0});
  return it->second;
}

}  // namespace triage

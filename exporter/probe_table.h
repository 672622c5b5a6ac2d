// The probes being scheduled and the latest snapshot of each, in
// configuration order. The event loop writes (one snapshot per finished run,
// the whole table on reload); scrapes and pages read a copy taken under a
// short lock and render without it, so a scrape never waits on a probe.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/collector.h"
#include "exposition/snapshot.h"

namespace triage {

struct ProbeEntry {
  std::shared_ptr<const ProbeSpec> spec;
  std::shared_ptr<const Snapshot> snap;  // null until the first run ends
};

class ProbeTable {
 public:
  void Reset(std::vector<ProbeEntry> entries);
  // The next snapshot of entry `index`, filled by `fill` under the table's
  // lock. When the entry's snapshot is `current` and nobody else holds it
  // (no scrape is reading it; one can only get it from the table, under the
  // same lock), it is overwritten in place and its memory reused: a run
  // then allocates nothing and the heap does not churn. Otherwise a new
  // snapshot is filled and replaces it. Returns the entry's snapshot.
  std::shared_ptr<const Snapshot> Publish(size_t index,
                                          const std::shared_ptr<const Snapshot>& current,
                                          const std::function<void(Snapshot&)>& fill);
  std::vector<ProbeEntry> All() const;
  // The configured probe service/probe, or null.
  std::shared_ptr<const ProbeSpec> Find(std::string_view service, std::string_view probe) const;

 private:
  mutable std::mutex mu_;
  std::vector<ProbeEntry> entries_;
};

// Appends the probe families of `entries`, grouped by family with one
// HELP/TYPE header each, in the order of kFamilies.
void RenderProbeFamilies(const std::vector<ProbeEntry>& entries, std::string& out);
// Same for a single snapshot (the /probe endpoint).
void RenderSnapshot(const Snapshot& snap, std::string& out);

}  // namespace triage

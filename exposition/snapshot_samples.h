// Reads samples back out of a Snapshot's pre-rendered exposition text, for
// the pages that show values (the runbooks' "Now" boxes, the triage walk).
// The text is what /metrics serves, so a page shows exactly what a scrape
// would see; nothing here is on the scrape path.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "exposition/metric_families.h"
#include "exposition/snapshot.h"

namespace triage {

struct SnapshotSample {
  std::string name;  // sample name, e.g. triage_probe_duration_seconds_count
  std::vector<std::pair<std::string, std::string>> labels;  // decoded, in text order
  double value = 0;

  // The value of label `name`, "" when absent.
  std::string_view Label(std::string_view name) const;
};

// Every sample of exposition `text` (any family), in text order.
std::vector<SnapshotSample> ParseSamples(std::string_view text);

// The samples of family `f` in `snap`.
std::vector<SnapshotSample> SnapshotSamples(const Snapshot& snap, FamilyId f);

// The probe family called `name`; false when no probe family has that name.
bool FindFamily(std::string_view name, FamilyId* out);

}  // namespace triage

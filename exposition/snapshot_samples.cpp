#include "exposition/snapshot_samples.h"

#include "exposition/exposition_parser.h"

namespace triage {

std::string_view SnapshotSample::Label(std::string_view name) const {
  for (const auto& [k, v] : labels) {
    if (k == name) return v;
  }
  return {};
}

std::vector<SnapshotSample> ParseSamples(std::string_view text) {
  std::vector<SnapshotSample> out;
  ParseExposition(text, {}, [&out](const ExpositionSample& s) {
    SnapshotSample sample;
    sample.name = std::string(s.name);
    sample.value = s.value;
    sample.labels.reserve(s.labels.size());
    for (const auto& l : s.labels) {
      std::string value;
      DecodeLabelValue(l.raw_value, value);
      sample.labels.emplace_back(std::string(l.name), std::move(value));
    }
    out.push_back(std::move(sample));
  });
  return out;
}

std::vector<SnapshotSample> SnapshotSamples(const Snapshot& snap, FamilyId f) {
  return ParseSamples(snap.Fragment(f));
}

bool FindFamily(std::string_view name, FamilyId* out) {
  for (size_t i = 0; i < kFamilyCount; ++i) {
    if (kFamilies[i].name == name) {
      *out = static_cast<FamilyId>(i);
      return true;
    }
  }
  return false;
}

}  // namespace triage

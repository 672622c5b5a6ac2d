// Pre-rendered exposition text of one probe. A probe renders its samples once
// per run into a Snapshot (one contiguous string, sliced by family); /metrics
// only concatenates slices family by family and never formats a number.
//
// Part of the exposition layer (docs/architecture.md): what the exporter exposes.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "exposition/failure_reason.h"
#include "exposition/metric_families.h"

namespace triage {

// Appends `value` escaped for a label value (backslash, double quote, newline).
void AppendEscapedLabelValue(std::string& out, std::string_view value);
// Appends a sample value in exposition format (integers without exponent, NaN, +Inf, -Inf).
void AppendSampleValue(std::string& out, double value);
// Appends "# HELP name help\n# TYPE name type\n".
void AppendFamilyHeader(std::string& out, std::string_view name, std::string_view type,
                        std::string_view help);
// Renders `name="value",...` for the given pairs, in order, escaping values.
std::string RenderLabelPairs(const std::vector<std::pair<std::string, std::string>>& pairs);

struct Snapshot {
  // The last run, for the landing page and /probe.
  bool success = false;
  FailureReason reason = FailureReason::kNone;
  double finished_unix = 0;    // wall time the run ended
  double duration_seconds = 0;
  // The last HTTP response of kinds that report it (kind: http): its status
  // (0 when none was received) and JSON error code ("" when not read). The
  // triage walk tells a 503 of performance mode from a drain by them.
  int last_status_code = 0;
  std::string last_error_code;

  std::string text;
  std::array<uint32_t, kFamilyCount + 1> offsets{};  // family f spans [offsets[f], offsets[f+1])

  std::string_view Fragment(FamilyId f) const {
    const auto i = static_cast<size_t>(f);
    return std::string_view(text).substr(offsets[i], offsets[i + 1] - offsets[i]);
  }
};

// Histogram bucket bounds with their le="..." values rendered once.
struct BucketBounds {
  explicit BucketBounds(std::span<const double> upper_bounds);
  std::vector<double> upper;
  std::vector<std::string> le;
};
// The bounds of triage_probe_duration_seconds (kProbeDurationBuckets).
const BucketBounds& ProbeDurationBounds();

// Builds a Snapshot. `label_prefix` is the probe's pre-rendered identity labels
// (service="...",probe="...",<static labels>), never empty.
//
// A writer can be used for one probe after another (Reset, Add..., Finish):
// its buffers keep their capacity, so rendering a run allocates only the
// Snapshot itself.
class SampleWriter {
 public:
  SampleWriter() = default;
  explicit SampleWriter(std::string label_prefix);
  // Starts the next snapshot, for the probe with this identity.
  void Reset(std::string_view label_prefix);

  void Add(FamilyId f, double value);
  void Add(FamilyId f, std::string_view label, std::string_view label_value, double value);
  void Add(FamilyId f, std::string_view l1, std::string_view v1, std::string_view l2,
           std::string_view v2, double value);
  // Any number of extra labels (name, value), in the order given.
  using LabelView = std::pair<std::string_view, std::string_view>;
  void Add(FamilyId f, std::span<const LabelView> labels, double value);
  // Histogram with cumulative bucket counts (one per bound, +Inf = count).
  void AddHistogram(FamilyId f, const BucketBounds& bounds, const uint64_t* cumulative_counts,
                    uint64_t count, double sum);

  // Carried into the Snapshot (see Snapshot::last_status_code).
  void SetLastResponse(int status_code, std::string error_code);

  // The snapshot of everything added since the last Reset (or construction).
  Snapshot Finish();
  // The same, written over `s`, whose text memory is reused when it fits.
  void FinishInto(Snapshot& s);

 private:
  std::string& Begin(FamilyId f, std::string_view suffix);
  std::string prefix_;
  int last_status_code_ = 0;
  std::string last_error_code_;
  std::array<std::string, kFamilyCount> buf_;
};

}  // namespace triage

// promtool's expanding notation for input series values ("1 1 0x10",
// "0+10x100", "_x3 stale"), counted the way Prometheus 2.42 expands it:
// "a", "_" and "stale" are one sample each, "axN" and "a+bxN" / "a-bxN" are
// N+1 samples, "_xN" is N missing samples.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace triage::rulegen {

struct SampleCount {
  size_t samples = 0;          // points in time the series covers, missing ones included
  std::optional<std::string> error;  // set when an item cannot be read
};

SampleCount CountSamples(std::string_view values);

}  // namespace triage::rulegen

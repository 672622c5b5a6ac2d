// Dividing the durations of a rule by a factor, for end-to-end tests that
// cannot wait for hour-long windows.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace triage::rulegen {

// d / factor as a Prometheus duration: in the usual units when the result is
// a whole number of seconds ("5m" / 60 = "5s", "3d" / 60 = "1h12m"), in
// milliseconds otherwise ("90s" / 60 = "1500ms"). A result below a
// millisecond is rounded to the nearest one, and never below 1ms unless d is
// zero. `factor` must be at least 1.
std::string ScaleDuration(std::chrono::milliseconds d, int64_t factor);

// The expression with every range, subquery range and step, and offset
// divided by `factor`. Everything else (thresholds, names, strings) is kept
// byte for byte. The expression must scan cleanly (see ScanPromql).
std::string ScaleExprDurations(std::string_view expr, int64_t factor);

}  // namespace triage::rulegen

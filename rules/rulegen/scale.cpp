#include "rules/rulegen/scale.h"

#include "base/duration.h"
#include "rules/rulegen/promql_names.h"

namespace triage::rulegen {

std::string ScaleDuration(std::chrono::milliseconds d, int64_t factor) {
  const int64_t ms = d.count();
  if (ms == 0) return "0s";
  int64_t scaled = (ms + factor / 2) / factor;
  if (scaled < 1) scaled = 1;
  if (scaled % 1000 == 0) return FormatDuration(std::chrono::milliseconds(scaled));
  return std::to_string(scaled) + "ms";
}

std::string ScaleExprDurations(std::string_view expr, int64_t factor) {
  const PromqlScan scan = ScanPromql(expr);
  std::string out;
  size_t pos = 0;
  for (const auto& d : scan.durations) {
    out.append(expr.substr(pos, d.offset - pos));
    out += ScaleDuration(d.value, factor);
    pos = d.offset + d.length;
  }
  out.append(expr.substr(pos));
  return out;
}

}  // namespace triage::rulegen

// A small PromQL scanner: enough to find the metric names an expression
// selects and the durations it uses, without a full parser.
//
// It skips strings, comments, numbers and the label matchers in braces;
// treats an identifier followed by "(" as a function, aggregations and
// keywords (by, without, on, ignoring, group_left, group_right and their
// label lists; and, or, unless, bool, atan2, offset) as syntax; every other
// identifier is a metric name (recording rules included, as they may hold
// colons). Durations are those of range selectors and subqueries ("[5m]",
// "[1h:5m]") and of offset modifiers.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace triage::rulegen {

struct PromqlName {
  std::string name;
  size_t offset = 0;  // byte offset in the expression
};

struct PromqlDuration {
  size_t offset = 0;  // byte offset of the duration text
  size_t length = 0;
  std::chrono::milliseconds value{0};
};

struct PromqlScan {
  std::vector<PromqlName> names;          // in order of appearance, repeats included
  std::vector<PromqlDuration> durations;  // in order of appearance
  // Set when the text cannot be PromQL (unterminated string or brace, bad
  // duration in a range ...); names and durations then hold what was found.
  std::optional<std::string> error;
  size_t error_offset = 0;
};

PromqlScan ScanPromql(std::string_view expr);

// The distinct metric names of an expression, sorted.
std::vector<std::string> MetricNames(std::string_view expr);

}  // namespace triage::rulegen

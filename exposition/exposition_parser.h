// A parser for the Prometheus text exposition format, version 0.0.4.
//
// It is a pure function over a string_view: no exceptions, no I/O, and no
// allocation per sample (the label list handed to the visitor is one vector
// reused for every sample; label values are passed still escaped, and the
// helpers below compare or decode them only when the caller wants to). Any
// input, however hostile, ends in a ParseResult; the cost is linear in the
// bytes read, and `sample_limit` stops the parse early.
//
// Accepted, line by line (lines end with "\n"; a "\r" before it and a missing
// final newline are tolerated):
//   - blank lines (spaces and tabs only);
//   - "# HELP <metric name> [docstring]" and "# TYPE <metric name> <type>",
//     type one of counter, gauge, histogram, summary, untyped;
//   - any other line starting with '#' is a comment;
//   - samples: <metric name> [ "{" [ <label> "=" "<value>" { "," ... } [","] ] "}" ]
//     <value> [ <timestamp> ], where the value is a float ("1", "-0.5", "1e3",
//     "NaN", "+Inf", "-Inf", ...), the timestamp an integer of milliseconds,
//     and label values escape only \\ \" and \n and must be valid UTF-8.
// Metric names match [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*.
// A sample may carry at most kMaxLabelsPerSample labels, each name once.
//
// Anything else fails the parse with a one-line reason naming the line:
// "line 3: expected a metric name". Histogram and summary samples are plain
// samples here (foo_bucket{le="0.5"}, foo_sum, foo_count).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace triage {

inline constexpr size_t kMaxLabelsPerSample = 128;

struct ExpositionLabel {
  std::string_view name;
  std::string_view raw_value;  // as written between the quotes, escapes not yet decoded
};

struct ExpositionSample {
  std::string_view name;
  std::span<const ExpositionLabel> labels;  // valid only during the visitor call
  double value = 0;
  std::optional<int64_t> timestamp_ms;
  size_t line = 0;  // 1-based
};

enum class ExpositionStatus {
  kOk,           // the whole input parsed
  kInvalid,      // not the text format; `error` names the line
  kSampleLimit,  // more than sample_limit samples; parsing stopped there
};

struct ExpositionResult {
  ExpositionStatus status = ExpositionStatus::kOk;
  size_t samples = 0;  // samples handed to the visitor
  size_t lines = 0;    // lines read (up to the failing one)
  std::string error;   // "line N: ..." when kInvalid or kSampleLimit; bounded, no raw input beyond a short quote
};

struct ExpositionOptions {
  size_t sample_limit = 0;  // 0: no limit; otherwise the (limit+1)-th sample stops the parse
};

using ExpositionVisitor = std::function<void(const ExpositionSample&)>;

// Parses `body`, calling `visit` (may be empty) for every sample in order.
ExpositionResult ParseExposition(std::string_view body, const ExpositionOptions& options,
                                 const ExpositionVisitor& visit);

// True when the escaped label value `raw` (as in ExpositionLabel) decodes to `decoded`.
bool LabelValueEquals(std::string_view raw, std::string_view decoded);
// Decodes the escaped label value `raw` (\\ \" \n) into `out` (replacing its contents).
void DecodeLabelValue(std::string_view raw, std::string& out);

// A sample value as the format writes it: a float in decimal or exponent
// notation with an optional sign, or NaN / Inf / +Inf / -Inf (any case).
// The whole of `s` must be the number.
std::optional<double> ParseExpositionValue(std::string_view s);

bool IsValidMetricName(std::string_view s);
bool IsValidExpositionLabelName(std::string_view s);

}  // namespace triage

// rules/catalog/: the alerts and recording rules of the rule pack, read with
// positions so every later check can name FILE:LINE:COLUMN. The catalog is a
// directory: pack.yaml holds what belongs to the whole pack (the runbook base
// URL, external metrics), and every other <area>.yaml holds the alerts whose
// runbook is runbooks/<area>.md (and the recording rules they read), so an
// alert, its runbook and its promtool tests share one stem. A single file
// holding every key is read too (the unit tests use that).
#pragma once

#include <yaml-cpp/yaml.h>

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace triage::rulegen {

enum class Layer { kLiveness, kReadiness, kDependency, kTraffic, kTelemetry, kExporter };
inline constexpr std::array<std::string_view, 6> kLayerNames = {
    "liveness", "readiness", "dependency", "traffic", "telemetry", "exporter"};
inline std::string_view LayerName(Layer l) { return kLayerNames[static_cast<size_t>(l)]; }

enum class Severity { kCritical, kWarning, kInfo };
inline constexpr std::array<std::string_view, 3> kSeverityNames = {"critical", "warning", "info"};
inline std::string_view SeverityName(Severity s) { return kSeverityNames[static_cast<size_t>(s)]; }

inline constexpr std::string_view kDefaultRunbookBaseUrl = "http://localhost:9479/runbooks/";

using Labels = std::vector<std::pair<std::string, std::string>>;

// One catalog file: its name as errors show it, and its lines, for pointing
// inside block scalars.
struct SourceFile {
  std::string file;
  std::vector<std::string> lines;
};

// Errors collected in the order they were found, each already formatted as
// "FILE:LINE:COLUMN: message" (or "FILE:LINE: ..." for runbooks).
class Diagnostics {
 public:
  void Add(std::string formatted) { errors_.push_back(std::move(formatted)); }
  void At(const std::string& file, const YAML::Mark& mark, std::string_view message);
  void AtLine(const std::string& file, int line, std::string_view message);
  bool ok() const { return errors_.empty(); }
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  std::vector<std::string> errors_;
};

struct ExpectedAlert {
  Labels labels;  // as written, file order
  std::string description;
  YAML::Mark mark;
};

struct Expectation {
  std::chrono::milliseconds at{0};
  std::vector<ExpectedAlert> alerts;  // empty: the alert must be silent at `at`
  YAML::Mark mark;
};

struct InputSeries {
  std::string series;
  std::string values;
  YAML::Mark values_mark;
};

struct AlertTest {
  std::string name;
  std::chrono::milliseconds interval{std::chrono::minutes(1)};
  std::vector<InputSeries> series;
  std::vector<Expectation> expect;
  YAML::Mark mark;
};

struct BurnRate {
  std::string ratio;      // recording rule prefix; PREFIX<window> must exist
  std::string objective;  // decimal text, e.g. "0.99"
  YAML::Mark ratio_mark;
};

struct Alert {
  std::string name;
  Layer layer = Layer::kLiveness;
  Severity severity = Severity::kCritical;  // not used by burn-rate alerts
  std::chrono::milliseconds for_duration{0};
  std::string expr;  // empty for burn-rate alerts
  std::string summary;
  std::string description;
  std::string runbook;  // "file.md#anchor"
  std::optional<std::string> dashboard;
  std::optional<BurnRate> burn_rate;
  std::vector<AlertTest> tests;

  std::shared_ptr<const SourceFile> source;  // the file that defines it
  YAML::Mark mark;  // the alert's map
  YAML::Mark name_mark;
  YAML::Mark expr_mark;
  YAML::Mark runbook_mark;
};

// One rule per window: a recording rule with `windows` is expanded on load.
struct RecordingRule {
  std::string record;
  std::string expr;
  // As written in the catalog, with "{window}" placeholders, and the window
  // substituted here ("" for a rule without windows).
  std::string source_record;
  std::string source_expr;
  std::string window;
  std::shared_ptr<const SourceFile> source;  // the file that defines it
  YAML::Mark record_mark;
  YAML::Mark expr_mark;
};

// A named value of the pack (pack.yaml `values:`): a threshold, a `for`, a
// severity, a label name or matchers. Catalog text refers to it as
// %(name)s, the jsonnet format a mixin's _config uses; a values file given to
// triage_rulegen overrides the default.
enum class ValueType { kNumber, kDuration, kSeverity, kLabel, kString };
inline constexpr std::array<std::string_view, 5> kValueTypeNames = {"number", "duration",
                                                                    "severity", "label", "string"};

struct Value {
  std::string name;
  ValueType type = ValueType::kString;
  std::string default_value;
  std::string value;  // the default, or the values file's
  std::string description;
};

struct Catalog {
  std::string file;  // the directory (or file) as given
  std::string runbook_base_url{kDefaultRunbookBaseUrl};
  std::vector<std::string> external_metrics;
  std::vector<Value> values;  // in declaration order
  std::vector<RecordingRule> recording_rules;
  std::vector<Alert> alerts;
  // False when an alert or recording rule was left out for a shape error;
  // checks across the catalog would then report follow-on errors.
  bool complete = true;
};

inline constexpr std::string_view kPackFile = "pack.yaml";

// Parses the text of a whole catalog in one file. Shape errors (YAML syntax, missing or unknown keys,
// wrong types, bad durations, unknown layer or severity) and the checks of a
// single field (alert name, summary) go to `diag`; an alert or recording
// rule with a shape error is left out of the result.
Catalog ParseCatalog(const std::string& text, const std::string& file, Diagnostics& diag);

// The value the pack's cluster label comes from.
inline constexpr std::string_view kClusterLabelValue = "clusterLabel";

// The value the catalog declares as `name`; null when it declares none.
inline Value* FindValue(Catalog& c, std::string_view name) {
  for (auto& v : c.values) {
    if (v.name == name) return &v;
  }
  return nullptr;
}
inline const Value* FindValue(const Catalog& c, std::string_view name) {
  return FindValue(const_cast<Catalog&>(c), name);
}

// The current value of `name`, "" when the catalog declares no such value.
inline std::string ValueOf(const Catalog& c, std::string_view name) {
  const Value* v = FindValue(c, name);
  return v ? v->value : "";
}

// Why `text` is not a valid value of `type`, or "" when it is.
std::string CheckValue(ValueType type, const std::string& text);

// Reads the catalog at `path`: a directory (pack.yaml and one <area>.yaml per
// runbook file; an alert of <area>.yaml must link into <area>.md) or a single
// file as ParseCatalog reads it.
// `values_file`, when not empty, is a YAML map of value name to value that
// overrides the defaults; an unknown name or a value of the wrong type is an
// error at its FILE:LINE:COLUMN.
Catalog LoadCatalog(const std::string& path, Diagnostics& diag,
                    const std::string& values_file = "");

// An alert's runbook reference "file.md#anchor" split at its first '#'.
struct RunbookRef {
  std::string file;    // all of the reference when it has no '#'
  std::string anchor;  // empty when there is no '#' or nothing follows it
};
RunbookRef SplitRunbookRef(std::string_view runbook);

// The position of `token`, found at byte `offset` of `value`, a scalar whose
// node starts at `node_mark`. Lines of literal blocks ("|") and single-line
// scalars are exact; anything else falls back to the node's position.
YAML::Mark Pinpoint(const SourceFile& source, const YAML::Mark& node_mark, std::string_view value,
                    size_t offset, std::string_view token);

}  // namespace triage::rulegen

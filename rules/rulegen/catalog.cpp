#include "rules/rulegen/catalog.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <set>

#include "base/duration.h"
#include "base/yaml_reader.h"
#include "exposition/exposition_parser.h"
#include "rules/rulegen/rules.h"

namespace triage::rulegen {
namespace {

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::string TrimEnd(std::string_view s) {
  size_t e = s.size();
  while (e > 0 && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(0, e));
}

std::string ReplaceAll(std::string s, std::string_view from, std::string_view to) {
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
  return s;
}

bool IsMetricName(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    const bool ok = std::isalpha(c) || c == '_' || c == ':' || (i > 0 && std::isdigit(c));
    if (!ok) return false;
  }
  return true;
}

bool IsAlertName(std::string_view s) {
  constexpr std::string_view kPrefix = "Triage";
  if (s.size() <= kPrefix.size() || s.substr(0, kPrefix.size()) != kPrefix) return false;
  if (!std::isupper(static_cast<unsigned char>(s[kPrefix.size()]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)); });
}

template <size_t N>
std::string Choices(const std::array<std::string_view, N>& names) {
  std::string out;
  for (size_t i = 0; i < N; ++i) {
    if (i > 0) out += i + 1 == N ? " or " : ", ";
    out += names[i];
  }
  return out;
}

template <size_t N>
size_t ChooseName(MapReader& r, std::string_view key, const std::array<std::string_view, N>& names) {
  const std::string value = r.RequiredString(key);
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == value) return i;
  }
  r.FailKey(key, "expected " + Choices(names) + ", got " + QuoteForMessage(value));
}

// Which keys a catalog file holds: all of them (a catalog in one file), the
// pack's (pack.yaml), or an area's (recording rules and alerts).
enum class Part { kWhole, kPack, kArea };

std::shared_ptr<SourceFile> SplitLines(const std::string& text, const std::string& file) {
  auto src = std::make_shared<SourceFile>();
  src->file = file;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t nl = text.find('\n', start);
    if (nl == std::string::npos) {
      src->lines.push_back(text.substr(start));
      break;
    }
    src->lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return src;
}


// The values a catalog declares, from the `values:` map of `root` (pack.yaml,
// or a catalog in one file): name -> {type, default, description}.
void ReadValues(const YAML::Node& root, const std::string& file, Catalog& c, Diagnostics& diag) {
  if (!root.IsMap()) return;
  const YAML::Node values = root["values"];
  if (!values.IsDefined() || values.IsNull()) return;
  if (!values.IsMap()) {
    diag.At(file, values.Mark(), "values must be a map of value name to {type, default, "
                                 "description}, got " + DescribeNode(values));
    c.complete = false;
    return;
  }
  for (const auto& kv : values) {
    const std::string name = kv.first.Scalar();
    try {
      RequireMapItem(kv.second, values, file, "value " + QuoteForMessage(name),
                     "expected a map with type, default and description");
      MapReader r(kv.second, file, "value " + QuoteForMessage(name));
      Value v;
      v.name = name;
      v.type = static_cast<ValueType>(ChooseName(r, "type", kValueTypeNames));
      v.default_value = r.RequiredString("default");
      v.description = r.RequiredString("description");
      r.Finish();
      bool ok = !name.empty() && std::isalpha(static_cast<unsigned char>(name[0]));
      for (char ch : name) ok = ok && std::isalnum(static_cast<unsigned char>(ch));
      if (!ok) {
        diag.At(file, kv.first.Mark(), "value name " + QuoteForMessage(name) +
                                           " is not a name like certExpiryDays (letters and digits)");
      }
      if (const std::string why = CheckValue(v.type, v.default_value); !why.empty()) {
        diag.At(file, r.Node("default").Mark(), "default of value " + QuoteForMessage(name) + ": " + why);
      }
      v.value = v.default_value;
      c.values.push_back(std::move(v));
    } catch (const ConfigError& e) {
      diag.Add(e.what());
      c.complete = false;
    }
  }
}

// `text` with every %(name)s replaced by the value's current value; an
// unknown name is an error at its line.
std::string SubstituteValues(const std::string& text, const std::string& file, const Catalog& c,
                             Diagnostics& diag) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const size_t open = text.find("%(", i);
    if (open == std::string::npos) break;
    const size_t close = text.find(")s", open + 2);
    out.append(text, i, open - i);
    const std::string name = close == std::string::npos ? "" : text.substr(open + 2, close - open - 2);
    const Value* it = FindValue(c, name);
    if (close == std::string::npos || it == nullptr) {
      const int line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + open, '\n'));
      std::vector<std::string> names;
      for (const auto& v : c.values) names.push_back(v.name);
      const std::string* best = ClosestMatch(name, names, 4);
      diag.AtLine(file, line, "%(" + name + ")s names no value of pack.yaml" +
                                  (best ? " (did you mean " + *best + "?)" : std::string()));
      out.append(text, open, 2);
      i = open + 2;
      continue;
    }
    out += it->value;
    i = close + 2;
  }
  out.append(text, i, std::string::npos);
  return out;
}

class Loader {
 public:
  Loader(Catalog& c, Diagnostics& diag, std::shared_ptr<const SourceFile> src, Part part)
      : c_(c), diag_(diag), src_(std::move(src)), file_(src_->file), part_(part) {}

  void Run(const std::string& text) {
    YAML::Node root = ParseSingleYamlDocument(text, file_);
    if (!root.IsDefined() || root.IsNull()) {
      diag_.Add(file_ + ": the catalog is empty; expected a map with " + Expected());
      c_.complete = false;
      return;
    }
    MapReader top(root, file_, part_ == Part::kPack ? "the pack" : "the catalog");
    if (part_ != Part::kArea) {
      top.Node("values");  // read before the text was substituted (ReadValues)
      if (auto base = top.OptionalString("runbook_base_url")) {
        c_.runbook_base_url = *base;
        if (base->empty() || base->back() != '/') {
          diag_.At(file_, top.Node("runbook_base_url").Mark(),
                   "runbook_base_url " + QuoteForMessage(*base) +
                       " must end with '/'; runbook_url is this base followed by the runbook file");
        }
      }
      for (const auto& name : top.StringList("external_metrics")) {
        if (!IsMetricName(name)) {
          diag_.At(file_, top.Node("external_metrics").Mark(),
                   "external metric " + QuoteForMessage(name) + " is not a metric name");
        }
        c_.external_metrics.push_back(name);
      }
    }
    YAML::Node recording, alerts;
    if (part_ != Part::kPack) {
      recording = top.Node("recording_rules");
      alerts = top.NonEmptyList("alerts", "expected a non-empty list of alerts, each a map with "
                                          "name, layer, severity, expr, summary, description, "
                                          "runbook, tests");
    }
    top.Finish();
    if (part_ == Part::kPack) return;

    if (recording.IsDefined() && !recording.IsNull()) {
      if (!recording.IsSequence()) {
        top.FailKey("recording_rules", "expected a list of recording rules, got " +
                                           DescribeNode(recording));
      }
      size_t index = 0;
      for (const auto& item : recording) {
        ++index;
        Guard([&] { RecordingRuleItem(item, recording, index); });
      }
    }
    size_t index = 0;
    for (const auto& item : alerts) {
      ++index;
      Guard([&] { AlertItem(item, alerts, index); });
    }
  }

  std::string Expected() const {
    switch (part_) {
      case Part::kPack: return "values, runbook_base_url and external_metrics";
      case Part::kArea: return "recording_rules and alerts";
      case Part::kWhole: break;
    }
    return "values, runbook_base_url, external_metrics, recording_rules and alerts";
  }

  template <typename F>
  void Guard(F f) {
    try {
      f();
    } catch (const ConfigError& e) {
      diag_.Add(e.what());
      c_.complete = false;
    }
  }

 private:
  void RecordingRuleItem(const YAML::Node& item, const YAML::Node& list, size_t index) {
    const std::string what = "recording rule " + std::to_string(index);
    RequireMapItem(item, list, file_, what, "expected a map with record, expr and windows");
    MapReader r(item, file_, what);
    const std::string record = r.RequiredString("record");
    const YAML::Mark record_mark = r.Node("record").Mark();
    const YAML::Node windows = r.Node("windows");
    const std::string expr = Trim(r.RequiredString("expr"));
    const YAML::Mark expr_mark = r.Node("expr").Mark();
    r.Finish();

    std::vector<std::string> window_texts;
    if (windows.IsDefined()) {
      if (!windows.IsSequence() || windows.size() == 0) {
        r.FailKey("windows", "expected a non-empty list of durations like [5m, 1h], got " +
                                 (windows.IsSequence() ? "an empty list" : DescribeNode(windows)));
      }
      std::set<std::string> seen;
      for (const auto& w : windows) {
        const std::string text = ScalarString(w, file_, "a window of " + what);
        if (!ParseDuration(text)) {
          r.Fail(w, "window " + QuoteForMessage(text) + " of " + what +
                     " is not a Prometheus duration; expected a duration like 5m, 1h or 3d");
        }
        if (!seen.insert(text).second) {
          r.Fail(w, "window " + QuoteForMessage(text) + " of " + what + " is listed twice");
        }
        window_texts.push_back(text);
      }
      if (record.find("{window}") == std::string::npos) {
        r.Fail(r.Node("record"),
               "record " + QuoteForMessage(record) +
                   " has windows but no {window} placeholder; expected a name like "
                   "triage:http_5xx:ratio_rate{window}");
      }
    } else if (record.find("{window}") != std::string::npos ||
               expr.find("{window}") != std::string::npos) {
      r.Fail(r.Node("record"), what + " uses {window} but has no windows; expected windows: "
                                      "[5m, 1h, ...]");
    }
    if (window_texts.empty()) window_texts.push_back("");
    for (const auto& w : window_texts) {
      RecordingRule rule;
      rule.record = w.empty() ? record : ReplaceAll(record, "{window}", w);
      rule.expr = w.empty() ? expr : ReplaceAll(expr, "{window}", w);
      rule.source_record = record;
      rule.source_expr = expr;
      rule.window = w;
      rule.record_mark = record_mark;
      rule.expr_mark = expr_mark;
      if (!IsMetricName(rule.record)) {
        diag_.At(file_, record_mark,
                 "record " + QuoteForMessage(rule.record) +
                     " is not a metric name; expected letters, digits, '_' and ':'");
      }
      rule.source = src_;
      c_.recording_rules.push_back(std::move(rule));
    }
  }

  void AlertItem(const YAML::Node& item, const YAML::Node& list, size_t index) {
    RequireMapItem(item, list, file_, "alert " + std::to_string(index),
                   "expected a map with name, layer, severity, expr, summary, description, "
                   "runbook, tests");
    std::string what = "alert " + std::to_string(index);
    if (item["name"].IsDefined() && item["name"].IsScalar()) {
      what = "alert " + QuoteForMessage(item["name"].Scalar());
    }
    MapReader r(item, file_, what);
    Alert a;
    a.mark = item.Mark();
    a.name = r.RequiredString("name");
    a.name_mark = r.Node("name").Mark();
    a.layer = static_cast<Layer>(ChooseName(r, "layer", kLayerNames));
    if (auto burn = r.Map("burn_rate")) {
      for (const char* key : {"severity", "for", "expr"}) {
        if (r.Has(key)) {
          r.FailKey(key, "a burn_rate alert takes its severity, for and expression from the "
                         "burn-rate table; remove " + std::string(key));
        }
      }
      BurnRate b;
      b.ratio = burn->RequiredString("ratio");
      b.ratio_mark = burn->Node("ratio").Mark();
      b.objective = burn->RequiredString("objective");
      burn->Finish();
      if (!BurnThreshold(b.objective, 10)) {
        burn->FailKey("objective", "expected a decimal between 0 and 1 like 0.99 or 0.999, got " +
                                       QuoteForMessage(b.objective));
      }
      a.burn_rate = std::move(b);
    } else {
      a.severity = static_cast<Severity>(ChooseName(r, "severity", kSeverityNames));
      a.for_duration = r.Duration("for", std::chrono::milliseconds(0));
      a.expr = Trim(r.RequiredString("expr"));
      a.expr_mark = r.Node("expr").Mark();
    }
    a.summary = Trim(r.RequiredString("summary"));
    const YAML::Mark summary_mark = r.Node("summary").Mark();
    a.description = TrimEnd(r.RequiredString("description"));
    a.runbook = Trim(r.RequiredString("runbook"));
    a.runbook_mark = r.Node("runbook").Mark();
    a.dashboard = r.OptionalString("dashboard");
    const YAML::Node tests = r.NonEmptyList(
        "tests", "expected a non-empty list of tests, each with name, series and expect");
    r.Finish();

    size_t test_index = 0;
    for (const auto& t : tests) {
      ++test_index;
      a.tests.push_back(Test(t, tests, test_index, a.name));
    }

    if (!IsAlertName(a.name)) {
      diag_.At(file_, a.name_mark,
               "alert name " + QuoteForMessage(a.name) +
                   " is not Triage followed by a CamelCase name of letters and digits, like "
                   "TriageTargetDown");
    }
    if (a.summary.find("{{") != std::string::npos) {
      diag_.At(file_, summary_mark,
               "summary of " + what + " holds a template ({{); expected a static sentence (put "
               "label values in the description)");
    }
    if (a.summary.empty() || !std::isupper(static_cast<unsigned char>(a.summary.front()))) {
      diag_.At(file_, summary_mark,
               "summary of " + what + " does not start with a capital letter");
    }
    if (a.summary.empty() || a.summary.back() != '.') {
      diag_.At(file_, summary_mark, "summary of " + what + " does not end with a period");
    }
    a.source = src_;
    c_.alerts.push_back(std::move(a));
  }

  AlertTest Test(const YAML::Node& item, const YAML::Node& list, size_t index,
                 const std::string& alert) {
    std::string what = "test " + std::to_string(index) + " of alert " + QuoteForMessage(alert);
    RequireMapItem(item, list, file_, what, "expected a map with name, series and expect");
    MapReader r(item, file_, what);
    AlertTest t;
    t.mark = item.Mark();
    t.name = r.RequiredString("name");
    what = "test " + QuoteForMessage(t.name) + " of alert " + QuoteForMessage(alert);
    t.interval = r.Duration("interval", std::chrono::minutes(1));
    if (t.interval.count() <= 0) {
      r.FailKey("interval", "expected a duration greater than zero like 1m or 15s");
    }
    const YAML::Node series = r.NonEmptyList(
        "series", "expected a non-empty list of input series, each with series and values");
    const YAML::Node expect =
        r.NonEmptyList("expect", "expected a non-empty list of expectations, each with at and "
                                 "alerts");
    r.Finish();

    size_t n = 0;
    for (const auto& s : series) {
      ++n;
      const std::string swhat = "series " + std::to_string(n) + " of " + what;
      RequireMapItem(s, series, file_, swhat, "expected a map with series and values");
      MapReader sr(s, file_, swhat);
      InputSeries in;
      in.series = Trim(sr.RequiredString("series"));
      in.values = Trim(sr.RequiredString("values"));
      in.values_mark = sr.Node("values").Mark();
      sr.Finish();
      t.series.push_back(std::move(in));
    }
    n = 0;
    for (const auto& e : expect) {
      ++n;
      const std::string ewhat = "expectation " + std::to_string(n) + " of " + what;
      RequireMapItem(e, expect, file_, ewhat, "expected a map with at and alerts");
      MapReader er(e, file_, ewhat);
      Expectation x;
      x.mark = e.Mark();
      if (!er.Has("at")) {
        er.Fail(e, "missing required key \"at\" in " + ewhat + "; expected a duration like 5m");
      }
      x.at = er.Duration("at", std::chrono::milliseconds(0));
      const YAML::Node alerts = er.Node("alerts");
      er.Finish();
      if (!alerts.IsDefined()) {
        er.Fail(e, "missing required key \"alerts\" in " + ewhat +
                       "; expected a list of expected alerts, [] when the alert must be silent");
      }
      if (!alerts.IsSequence()) {
        er.FailKey("alerts", "expected a list of expected alerts ([] when the alert must be "
                             "silent), got " + DescribeNode(alerts));
      }
      size_t k = 0;
      for (const auto& ea : alerts) {
        ++k;
        const std::string awhat = "expected alert " + std::to_string(k) + " of " + ewhat;
        RequireMapItem(ea, alerts, file_, awhat, "expected a map with labels and description");
        MapReader ar(ea, file_, awhat);
        ExpectedAlert want;
        want.mark = ea.Mark();
        want.labels = ar.StringMap("labels");
        want.description = TrimEnd(ar.RequiredString("description"));
        ar.Finish();
        x.alerts.push_back(std::move(want));
      }
      t.expect.push_back(std::move(x));
    }
    return t;
  }

  Catalog& c_;
  Diagnostics& diag_;
  std::shared_ptr<const SourceFile> src_;
  std::string file_;
  Part part_;
};

}  // namespace

void Diagnostics::At(const std::string& file, const YAML::Mark& mark, std::string_view message) {
  errors_.push_back(FormatConfigError(file, mark, message));
}

void Diagnostics::AtLine(const std::string& file, int line, std::string_view message) {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line);
  out += ": ";
  out += message;
  errors_.push_back(std::move(out));
}

namespace {

void ApplyValuesFile(Catalog& c, const std::string& path, Diagnostics& diag);

// `values_file` (kWhole only): overrides applied before the text is substituted.
void ParsePart(Catalog& c, const std::string& text, const std::string& file, Part part,
               Diagnostics& diag, const std::string& values_file = "") {
  if (part != Part::kArea) {
    try {
      ReadValues(ParseSingleYamlDocument(text, file), file, c, diag);
    } catch (const ConfigError&) {
      // The Loader reports the syntax error.
    }
  }
  if (part == Part::kWhole && !values_file.empty()) ApplyValuesFile(c, values_file, diag);
  const std::string substituted =
      part == Part::kPack ? text : SubstituteValues(text, file, c, diag);
  Loader loader(c, diag, SplitLines(substituted, file), part);
  loader.Guard([&] { loader.Run(substituted); });
}

void ApplyValuesFile(Catalog& c, const std::string& path, Diagnostics& diag) {
  try {
    const YAML::Node root = ParseSingleYamlDocument(ReadConfigText(path), path);
    if (!root.IsDefined() || root.IsNull()) return;  // empty: every default stays
    if (!root.IsMap()) {
      diag.At(path, root.Mark(), "expected a map of value name to value, got " + DescribeNode(root));
      return;
    }
    std::vector<std::string> names;
    for (const auto& v : c.values) names.push_back(v.name);
    for (const auto& kv : root) {
      const std::string name = kv.first.Scalar();
      Value* it = FindValue(c, name);
      if (it == nullptr) {
        const std::string* best = ClosestMatch(name, names, 4);
        diag.At(path, kv.first.Mark(),
                "unknown value " + QuoteForMessage(name) +
                    (best ? " (did you mean " + QuoteForMessage(*best) + "?)" : std::string()) +
                    "; the pack's values are listed in pack.yaml");
        continue;
      }
      if (!kv.second.IsScalar()) {
        diag.At(path, kv.second.Mark(), "value " + QuoteForMessage(name) + " must be a " +
                                            std::string(kValueTypeNames[static_cast<size_t>(it->type)]) +
                                            ", got " + DescribeNode(kv.second));
        continue;
      }
      const std::string text = kv.second.Scalar();
      if (const std::string why = CheckValue(it->type, text); !why.empty()) {
        diag.At(path, kv.second.Mark(), "value " + QuoteForMessage(name) + ": " + why);
        continue;
      }
      it->value = text;
    }
  } catch (const ConfigError& e) {
    diag.Add(e.what());
  }
}

// "cluster" of "rules/catalog/cluster.yaml" and of "cluster.md".
std::string Stem(const std::string& path) { return std::filesystem::path(path).stem().string(); }

Catalog LoadCatalogDir(const std::string& dir, Diagnostics& diag, const std::string& values_file) {
  namespace fs = std::filesystem;
  Catalog c;
  c.file = dir;
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.size() > 5 && name.ends_with(".yaml")) {
      files.push_back(name);
    }
  }
  if (ec) {
    diag.Add(dir + ": cannot read: " + ec.message());
    c.complete = false;
    return c;
  }
  std::sort(files.begin(), files.end());
  // pack.yaml first: the values it declares are substituted into the others.
  std::stable_partition(files.begin(), files.end(),
                        [](const std::string& f) { return f == kPackFile; });
  if (files.empty() || files.front() != kPackFile) {
    diag.Add(dir + ": no " + std::string(kPackFile) +
             "; expected the pack's runbook_base_url and external_metrics there");
    c.complete = false;
  }
  auto parse = [&](const std::string& name) {
    const std::string path = (fs::path(dir) / name).string();
    std::string text;
    try {
      text = ReadConfigText(path);
    } catch (const ConfigError& e) {
      diag.Add(e.what());
      c.complete = false;
      return;
    }
    const size_t before = c.alerts.size();
    ParsePart(c, text, path, name == kPackFile ? Part::kPack : Part::kArea, diag);
    // An area's alerts link into the runbook of the same stem.
    for (size_t i = before; i < c.alerts.size(); ++i) {
      const Alert& a = c.alerts[i];
      const std::string runbook = SplitRunbookRef(a.runbook).file;
      if (Stem(runbook) != Stem(name) || !runbook.ends_with(".md")) {
        diag.At(path, a.runbook_mark,
                "alert " + QuoteForMessage(a.name) + " is in " + name + ", so its runbook is " +
                    Stem(name) + ".md; got " + QuoteForMessage(a.runbook) +
                    " (move the alert to the catalog file of its runbook)");
      }
    }
  };
  // pack.yaml declares the values, the values file overrides them, and only
  // then are the area files substituted.
  size_t first_area = 0;
  if (!files.empty() && files.front() == kPackFile) {
    parse(files.front());
    first_area = 1;
  }
  if (!values_file.empty()) ApplyValuesFile(c, values_file, diag);
  for (size_t f = first_area; f < files.size(); ++f) parse(files[f]);
  return c;
}

}  // namespace

Catalog ParseCatalog(const std::string& text, const std::string& file, Diagnostics& diag) {
  Catalog c;
  c.file = file;
  ParsePart(c, text, file, Part::kWhole, diag);
  return c;
}

Catalog LoadCatalog(const std::string& path, Diagnostics& diag, const std::string& values_file) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return LoadCatalogDir(path, diag, values_file);
  std::string text;
  try {
    text = ReadConfigText(path);
  } catch (const ConfigError& e) {
    diag.Add(e.what());
    Catalog c;
    c.file = path;
    c.complete = false;
    return c;
  }
  Catalog c;
  c.file = path;
  ParsePart(c, text, path, Part::kWhole, diag, values_file);
  return c;
}

std::string CheckValue(ValueType type, const std::string& text) {
  switch (type) {
    case ValueType::kNumber: {
      char* end = nullptr;
      std::strtod(text.c_str(), &end);
      if (text.empty() || end != text.c_str() + text.size()) {
        return "expected a number such as 0.8 or 14, got " + QuoteForMessage(text);
      }
      return "";
    }
    case ValueType::kDuration:
      return ParseDuration(text) ? ""
                                 : "expected a Prometheus duration such as 5m or 1h30m, got " +
                                       QuoteForMessage(text);
    case ValueType::kSeverity:
      for (auto n : kSeverityNames) {
        if (n == text) return "";
      }
      return "expected critical, warning or info, got " + QuoteForMessage(text);
    case ValueType::kLabel:
      return IsValidExpositionLabelName(text)
                 ? ""
                 : "expected a label name such as cluster, got " + QuoteForMessage(text);
    case ValueType::kString:
      return "";
  }
  return "";
}

RunbookRef SplitRunbookRef(std::string_view runbook) {
  const size_t hash = runbook.find('#');
  if (hash == std::string_view::npos) return {std::string(runbook), ""};
  return {std::string(runbook.substr(0, hash)), std::string(runbook.substr(hash + 1))};
}

YAML::Mark Pinpoint(const SourceFile& source, const YAML::Mark& node_mark, std::string_view value,
                    size_t offset, std::string_view token) {
  const auto& lines = source.lines;
  if (node_mark.is_null() || node_mark.line < 0 ||
      static_cast<size_t>(node_mark.line) >= lines.size() || offset > value.size()) {
    return node_mark;
  }
  const size_t col = static_cast<size_t>(std::max(node_mark.column, 0));
  const std::string& first = lines[static_cast<size_t>(node_mark.line)];
  YAML::Mark m = node_mark;
  auto matches = [&](const std::string& text, size_t at) {
    return at + token.size() <= text.size() && text.compare(at, token.size(), token) == 0;
  };
  if (col < first.size() && first[col] == '|') {
    // Literal block: the value's lines follow the indicator line one to one,
    // each behind the block's indentation.
    const size_t line_start = value.rfind('\n', offset == 0 ? 0 : offset - 1);
    const size_t begin = (line_start == std::string_view::npos || offset == 0) ? 0 : line_start + 1;
    size_t end = value.find('\n', begin);
    if (end == std::string_view::npos) end = value.size();
    const size_t line = static_cast<size_t>(node_mark.line) + 1 +
                        static_cast<size_t>(std::count(value.begin(), value.begin() + begin, '\n'));
    if (line >= lines.size()) return node_mark;
    const std::string& text = lines[line];
    const size_t width = end - begin;
    if (text.size() < width) return node_mark;
    const size_t at = text.size() - width + (offset - begin);
    if (!matches(text, at)) return node_mark;
    m.line = static_cast<int>(line);
    m.column = static_cast<int>(at);
    return m;
  }
  if (value.find('\n') != std::string_view::npos) return node_mark;
  // A single-line scalar, plain or quoted.
  for (size_t at : {col + offset, col + 1 + offset}) {
    if (matches(first, at)) {
      m.column = static_cast<int>(at);
      return m;
    }
  }
  const size_t at = first.find(token, col);
  if (at != std::string::npos) m.column = static_cast<int>(at);
  return m;
}

}  // namespace triage::rulegen

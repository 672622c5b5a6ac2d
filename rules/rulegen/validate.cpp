#include "rules/rulegen/validate.h"

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <map>

#include "base/duration.h"
#include "base/yaml_reader.h"
#include "rules/rulegen/promql_names.h"
#include "rules/rulegen/rules.h"
#include "rules/rulegen/series_values.h"

namespace triage::rulegen {
namespace {

std::string Suggestion(const std::string& name, const std::set<std::string>& known) {
  const std::string* best = ClosestMatch(name, known, 4);
  // A histogram's own name selects nothing: point at its series.
  if (known.count(name + "_bucket") != 0) {
    return " (a histogram: select " + name + "_bucket, " + name + "_sum or " + name + "_count)";
  }
  return best ? " (did you mean " + *best + "?)" : "";
}

std::string Ms(std::chrono::milliseconds d) { return FormatDuration(d); }

// Where byte `offset` of an expression expanded with `window` lies in the
// template it came from.
size_t TemplateOffset(std::string_view source, std::string_view window, size_t offset) {
  constexpr std::string_view kPlaceholder = "{window}";
  const auto delta = static_cast<std::ptrdiff_t>(window.size()) -
                     static_cast<std::ptrdiff_t>(kPlaceholder.size());
  std::ptrdiff_t shift = 0;  // expanded minus template position so far
  const auto target = static_cast<std::ptrdiff_t>(offset);
  for (size_t t = source.find(kPlaceholder); t != std::string_view::npos;
       t = source.find(kPlaceholder, t + kPlaceholder.size())) {
    if (static_cast<std::ptrdiff_t>(t) + shift >= target) break;
    shift += delta;
  }
  return static_cast<size_t>(target - shift);
}

class Validator {
 public:
  Validator(const Catalog& c, const Runbooks& rb, const std::set<std::string>& contract,
            Diagnostics& diag)
      : c_(c), rb_(rb), diag_(diag), known_(contract) {
    for (const auto& r : c_.recording_rules) recorded_.insert(r.record);
    known_.insert(recorded_.begin(), recorded_.end());
    known_.insert(c_.external_metrics.begin(), c_.external_metrics.end());
  }

  void Run() {
    RecordingRules();
    std::map<std::string, const Alert*> names;
    for (const auto& a : c_.alerts) {
      src_ = a.source.get();
      auto [it, inserted] = names.emplace(a.name, &a);
      if (!inserted) {
        Error(a.name_mark, "alert name " + QuoteForMessage(a.name) + " is already used at " +
                               Where(*it->second->source, it->second->name_mark) +
                               "; expected unique alert names");
      }
      Expression(a);
      Tests(a);
      RunbookReference(a);
    }
    RunbookSections();
    RunbookIndex();
  }

 private:
  // Errors point into the file of the alert or recording rule being checked.
  void Error(const YAML::Mark& mark, std::string_view message) {
    diag_.At(src_->file, mark, message);
  }

  // Where an earlier definition is, seen from the file being checked: "line
  // N" in the same file, "FILE:LINE" in another.
  std::string Where(const SourceFile& source, const YAML::Mark& mark) const {
    const std::string line = std::to_string(mark.line + 1);
    return &source == src_ ? "line " + line : source.file + ":" + line;
  }

  // `expr` may come from `source` by substituting `window`; errors then
  // point into `source`, and the same error of several windows shows once.
  void CheckNames(const std::string& expr, const YAML::Mark& mark, const std::string& what,
                  const std::string& source, const std::string& window) {
    auto at = [&](size_t offset, std::string_view token) {
      if (window.empty()) return Pinpoint(*src_, mark, expr, offset, token);
      return Pinpoint(*src_, mark, source, TemplateOffset(source, window, offset), token);
    };
    const PromqlScan scan = ScanPromql(expr);
    if (scan.error) {
      ErrorOnce(at(scan.error_offset, expr.substr(scan.error_offset, 1)),
                "expr of " + what + " is not valid PromQL: " + *scan.error);
      return;
    }
    std::set<std::string> reported;
    for (const auto& n : scan.names) {
      if (known_.count(n.name) != 0 || !reported.insert(n.name).second) continue;
      ErrorOnce(at(n.offset, n.name),
                "expr of " + what + " reads " + QuoteForMessage(n.name) +
                    ", which is neither in the exporter's metric contract (exposition/"
                    "metric_families.cpp, self metrics) nor a recording rule nor in "
                    "external_metrics" + Suggestion(n.name, known_));
    }
  }

  void ErrorOnce(const YAML::Mark& mark, const std::string& message) {
    if (once_.insert(FormatConfigError(src_->file, mark, message)).second) Error(mark, message);
  }

  void RecordingRules() {
    std::map<std::string, const RecordingRule*> seen;
    for (const auto& r : c_.recording_rules) {
      src_ = r.source.get();
      auto [it, inserted] = seen.emplace(r.record, &r);
      if (!inserted) {
        Error(r.record_mark, "recording rule " + QuoteForMessage(r.record) +
                                 " is already defined at " +
                                 Where(*it->second->source, it->second->record_mark));
      }
      CheckNames(r.expr, r.expr_mark, "recording rule " + QuoteForMessage(r.source_record),
                 r.source_expr, r.window);
    }
  }

  void Expression(const Alert& a) {
    if (!a.burn_rate) {
      for (const char* placeholder : {"{long}", "{short}"}) {
        if (a.description.find(placeholder) != std::string::npos) {
          Error(a.name_mark, "description of alert " + QuoteForMessage(a.name) + " uses " +
                                 placeholder + ", which only burn-rate alerts replace");
        }
      }
      CheckNames(a.expr, a.expr_mark, "alert " + QuoteForMessage(a.name), a.expr, "");
      return;
    }
    std::string missing;
    for (auto w : kBurnRatioWindows) {
      const std::string name = a.burn_rate->ratio + std::string(w);
      if (recorded_.count(name) == 0) missing += (missing.empty() ? "" : ", ") + name;
    }
    if (!missing.empty()) {
      Error(a.burn_rate->ratio_mark,
            "burn_rate ratio " + QuoteForMessage(a.burn_rate->ratio) + " of alert " +
                QuoteForMessage(a.name) + " lacks the recording rules " + missing +
                "; expected a recording rule per window 5m, 30m, 1h, 2h, 6h, 1d, 3d");
    }
  }

  // Labels of an expected alert: the generator adds alertname, severity and
  // layer (burn rate: alertname and layer); a value given anyway must agree.
  void ExpectedLabels(const Alert& a, const AlertTest& t, const ExpectedAlert& e) {
    std::map<std::string, std::string> labels(e.labels.begin(), e.labels.end());
    const std::string where = "expected alert of test " + QuoteForMessage(t.name);
    auto agree = [&](const std::string& key, std::string_view value) {
      auto it = labels.find(key);
      if (it != labels.end() && it->second != value) {
        Error(e.mark, where + " has " + key + "=" + QuoteForMessage(it->second) +
                          ", but the generated rule sets " + QuoteForMessage(value));
      }
    };
    agree("alertname", a.name);
    agree("layer", LayerName(a.layer));
    if (!a.burn_rate) {
      agree("severity", SeverityName(a.severity));
      return;
    }
    for (const char* key : {"severity", "long", "short"}) {
      if (labels.count(key) == 0) {
        Error(e.mark, where + " of burn-rate alert " + QuoteForMessage(a.name) + " lacks the " +
                          key + " label; expected severity, long and short of one burn-rate rule");
        return;
      }
    }
    for (const auto& w : kBurnWindows) {
      if (labels["long"] == w.long_window && labels["short"] == w.short_window) {
        if (labels["severity"] != SeverityName(w.severity)) {
          Error(e.mark, where + " names long=" + labels["long"] + " short=" + labels["short"] +
                            " with severity " + QuoteForMessage(labels["severity"]) +
                            "; that rule's severity is " + std::string(SeverityName(w.severity)));
        }
        return;
      }
    }
    Error(e.mark, where + " names long=" + QuoteForMessage(labels["long"]) + " short=" +
                      QuoteForMessage(labels["short"]) +
                      ", which is no burn-rate rule; expected 1h/5m, 6h/30m, 1d/2h or 3d/6h");
  }

  void Tests(const Alert& a) {
    const bool has_for = a.burn_rate || a.for_duration.count() > 0;
    bool fires = false, silent = false, boundary = false;
    std::set<std::string> test_names;
    for (const auto& t : a.tests) {
      if (!test_names.insert(t.name).second) {
        Error(t.mark, "alert " + QuoteForMessage(a.name) + " has two tests named " +
                          QuoteForMessage(t.name));
      }
      std::chrono::milliseconds last_at{0};
      std::optional<std::chrono::milliseconds> first_silent;
      for (const auto& e : t.expect) {
        last_at = std::max(last_at, e.at);
        if (e.alerts.empty()) {
          silent = true;
          if (!first_silent || e.at < *first_silent) first_silent = e.at;
        }
        for (const auto& want : e.alerts) ExpectedLabels(a, t, want);
      }
      for (const auto& e : t.expect) {
        if (e.alerts.empty()) continue;
        fires = true;
        if (first_silent && *first_silent < e.at) boundary = true;
      }
      for (const auto& s : t.series) {
        const SampleCount count = CountSamples(s.values);
        if (count.error) {
          Error(s.values_mark, "values of series " + QuoteForMessage(s.series) + " in test " +
                                   QuoteForMessage(t.name) + ": " + *count.error);
          continue;
        }
        if (count.samples == 0) {
          Error(s.values_mark, "series " + QuoteForMessage(s.series) + " in test " +
                                   QuoteForMessage(t.name) + " has no values");
          continue;
        }
        const auto end = t.interval * static_cast<int64_t>(count.samples - 1);
        if (end < last_at) {
          Error(s.values_mark,
                "series " + QuoteForMessage(s.series) + " of test " + QuoteForMessage(t.name) +
                    " ends at " + Ms(end) + " (" + std::to_string(count.samples) +
                    " samples every " + Ms(t.interval) + "), before the test's last at " +
                    Ms(last_at) + "; expected values up to at least " + Ms(last_at));
        }
      }
    }
    const std::string who = "alert " + QuoteForMessage(a.name);
    if (!fires) {
      Error(a.name_mark, who + " has no test expectation in which it fires; expected an expect "
                               "entry with alerts");
    }
    if (!silent) {
      Error(a.name_mark, who + " has no test expectation of silence; expected an expect entry "
                               "with alerts: []");
    }
    if (has_for && fires && silent && !boundary) {
      Error(a.name_mark,
            who + " has a non-zero for but no test in which it is silent before it fires; "
                  "expected a test with alerts: [] at a time before the for boundary and a "
                  "firing expectation after it");
    }
  }

  void RunbookReference(const Alert& a) {
    const auto [file, anchor] = SplitRunbookRef(a.runbook);
    const std::string who = "runbook " + QuoteForMessage(a.runbook) + " of alert " +
                            QuoteForMessage(a.name);
    // An empty anchor also covers a reference without '#'.
    if (anchor.empty() || file.size() <= 3 || !file.ends_with(".md") ||
        file.find('/') != std::string::npos) {
      Error(a.runbook_mark, who + " is not FILE.md#ANCHOR with a file of " + rb_.dir);
      return;
    }
    const RunbookDoc* doc = rb_.Find(file);
    if (doc == nullptr) {
      Error(a.runbook_mark, who + ": " + JoinPath(rb_.dir, file) + " does not exist");
      return;
    }
    const Heading* target = nullptr;
    for (const auto& h : doc->headings) {
      if (h.anchor == anchor) target = &h;
    }
    const Heading* own = nullptr;
    for (const auto& h : doc->headings) {
      if (h.level == 2 && h.text == a.name) {
        own = &h;
        break;
      }
    }
    if (target == nullptr) {
      std::string hint = own ? "; its section there has the anchor " + own->anchor
                             : "; " + doc->path + " has no \"## " + a.name + "\" section";
      Error(a.runbook_mark, who + ": no heading of " + doc->path + " has the anchor " +
                                QuoteForMessage(anchor) + hint);
      return;
    }
    if (target->level != 2 || target->text != a.name) {
      Error(a.runbook_mark, who + " points at the heading " + QuoteForMessage(target->text) +
                                " (" + doc->path + ":" + std::to_string(target->line) +
                                "); expected the alert's own \"## " + a.name + "\" section");
    }
  }

  void RunbookSections() {
    std::set<std::string> alert_names;
    for (const auto& a : c_.alerts) alert_names.insert(a.name);
    std::map<std::string, std::string> first_section;  // alert -> "file:line"
    for (const auto& doc : rb_.docs) {
      for (size_t i = 0; i < doc.headings.size(); ++i) {
        const Heading& h = doc.headings[i];
        if (h.level != 2) continue;
        if (alert_names.count(h.text) == 0) {
          if (!h.informational) {
            diag_.AtLine(doc.path, h.line,
                         "section " + QuoteForMessage(h.text) +
                             " is neither an alert of the catalog (heading = alert name) nor "
                             "marked informational (a first line \"> Informational ...\")");
          }
          continue;
        }
        const std::string here = doc.path + ":" + std::to_string(h.line);
        auto [it, inserted] = first_section.emplace(h.text, here);
        if (!inserted) {
          diag_.AtLine(doc.path, h.line,
                       "alert " + h.text + " already has a section at " + it->second);
        }
        Subsections(doc, i);
      }
    }
  }

  void Subsections(const RunbookDoc& doc, size_t index) {
    const Heading& section = doc.headings[index];
    std::vector<std::string> found;
    for (size_t j = index + 1; j < doc.headings.size() && doc.headings[j].level > 2; ++j) {
      if (doc.headings[j].level == 3) found.push_back(doc.headings[j].text);
    }
    // Missing: required and absent. Out of order: the required ones present,
    // taken in the order of their first appearance, differ from the list.
    std::string missing;
    std::vector<std::string_view> want_order, seen_order;
    for (auto required : kRunbookSubsections) {
      if (std::find(found.begin(), found.end(), required) == found.end()) {
        missing += (missing.empty() ? "" : ", ") + std::string(required);
      } else {
        want_order.push_back(required);
      }
    }
    for (const auto& text : found) {
      const bool required = std::find(kRunbookSubsections.begin(), kRunbookSubsections.end(),
                                      text) != kRunbookSubsections.end();
      if (required && std::find(seen_order.begin(), seen_order.end(), text) == seen_order.end()) {
        seen_order.push_back(text);
      }
    }
    const bool misplaced = seen_order != want_order;
    if (missing.empty() && !misplaced) return;
    std::string message = "alert section " + section.text;
    if (!missing.empty()) message += " lacks the subsection(s) " + missing;
    if (misplaced) message += std::string(missing.empty() ? "" : " and") + " has subsections out of order";
    message += "; expected ### Meaning, Impact, Diagnosis, Mitigation, Escalation in that order";
    diag_.AtLine(doc.path, section.line, message);
  }

  void RunbookIndex() {
    if (!rb_.has_readme) {
      diag_.Add(rb_.readme_path + ": missing; expected an index that mentions every alert");
      return;
    }
    std::set<std::string> alert_names;
    for (const auto& a : c_.alerts) alert_names.insert(a.name);
    std::set<std::string> mentioned;
    const std::string& text = rb_.readme_text;
    int line = 1;
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        continue;
      }
      if (text.compare(i, 6, "Triage") != 0 || i + 6 >= text.size() ||
          !std::isupper(static_cast<unsigned char>(text[i + 6]))) {
        continue;
      }
      if (i > 0 && (std::isalnum(static_cast<unsigned char>(text[i - 1])) || text[i - 1] == '_')) {
        continue;
      }
      size_t j = i + 6;
      while (j < text.size() && std::isalnum(static_cast<unsigned char>(text[j]))) ++j;
      const std::string name = text.substr(i, j - i);
      i = j - 1;
      mentioned.insert(name);
      if (alert_names.count(name) == 0) {
        diag_.AtLine(rb_.readme_path, line,
                     "mentions alert " + name + ", which is not in the catalog " + c_.file);
      }
    }
    for (const auto& a : c_.alerts) {
      if (mentioned.count(a.name) == 0) {
        diag_.Add(rb_.readme_path + ": does not mention alert " + a.name + " (" + a.source->file +
                  ":" + std::to_string(a.name_mark.line + 1) + "); expected every alert listed");
      }
    }
  }

  const Catalog& c_;
  const Runbooks& rb_;
  Diagnostics& diag_;
  std::set<std::string> known_;
  std::set<std::string> recorded_;
  std::set<std::string> once_;
  const SourceFile* src_ = nullptr;  // of the alert or recording rule being checked
};

}  // namespace

void Validate(const Catalog& catalog, const Runbooks& runbooks,
              const std::set<std::string>& contract, Diagnostics& diag) {
  Validator(catalog, runbooks, contract, diag).Run();
}

}  // namespace triage::rulegen

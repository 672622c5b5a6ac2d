#include "rules/rulegen/rules.h"

#include <cstdint>

namespace triage::rulegen {

std::optional<std::string> BurnThreshold(std::string_view objective, int factor_tenths) {
  if (objective.size() < 3 || objective.size() > 11 || objective.substr(0, 2) != "0.") {
    return std::nullopt;
  }
  const std::string_view digits = objective.substr(2);
  int64_t scale = 1;
  int64_t value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
    scale *= 10;
  }
  if (value == 0) return std::nullopt;
  // (scale - value) / scale * factor_tenths / 10, as an integer over 10 * scale.
  const int64_t numerator = (scale - value) * factor_tenths;
  int64_t denominator = scale * 10;
  const int64_t whole = numerator / denominator;
  int64_t rest = numerator % denominator;
  std::string out = std::to_string(whole);
  if (rest != 0) {
    out += '.';
    while (rest != 0) {
      denominator /= 10;
      out += static_cast<char>('0' + rest / denominator);
      rest %= denominator;
    }
  }
  return out;
}

std::string BurnRateExpr(std::string_view prefix, const BurnWindow& w, std::string_view threshold) {
  std::string p(prefix);
  std::string t(threshold);
  return p + std::string(w.long_window) + " > " + t + " and " + p + std::string(w.short_window) +
         " > " + t;
}

std::string RunbookUrl(std::string_view base, std::string_view runbook) {
  return std::string(base) + std::string(runbook);
}

std::string ExpandWindows(std::string text, std::string_view long_window,
                          std::string_view short_window) {
  for (const auto& [from, to] : {std::pair{std::string_view("{long}"), long_window},
                                 std::pair{std::string_view("{short}"), short_window}}) {
    for (size_t pos = text.find(from); pos != std::string::npos;
         pos = text.find(from, pos + to.size())) {
      text.replace(pos, from.size(), to);
    }
  }
  return text;
}

Labels AlertAnnotations(const Alert& a, std::string_view runbook_base_url,
                        std::string_view long_window, std::string_view short_window) {
  const std::string description =
      a.burn_rate ? ExpandWindows(a.description, long_window, short_window) : a.description;
  Labels out = {{"summary", a.summary},
                {"description", description},
                {"runbook_url", RunbookUrl(runbook_base_url, a.runbook)}};
  if (a.dashboard) out.emplace_back("dashboard", *a.dashboard);
  return out;
}

std::vector<RuleGroup> BuildRuleGroups(const Catalog& catalog, std::string_view runbook_base_url) {
  std::vector<RuleGroup> groups;
  RuleGroup recording{"triage.recording", {}};
  for (const auto& r : catalog.recording_rules) {
    recording.rules.push_back(Rule{false, r.record, r.expr, std::chrono::milliseconds(0), {}, {}});
  }
  if (!recording.rules.empty()) groups.push_back(std::move(recording));

  for (size_t l = 0; l < kLayerNames.size(); ++l) {
    RuleGroup group{"triage." + std::string(kLayerNames[l]), {}};
    for (const auto& a : catalog.alerts) {
      if (static_cast<size_t>(a.layer) != l) continue;
      const std::string layer(LayerName(a.layer));
      if (!a.burn_rate) {
        Labels labels = {{"severity", std::string(SeverityName(a.severity))}, {"layer", layer}};
        group.rules.push_back(Rule{true, a.name, a.expr, a.for_duration, std::move(labels),
                                   AlertAnnotations(a, runbook_base_url)});
        continue;
      }
      for (const auto& w : kBurnWindows) {
        const std::string threshold =
            BurnThreshold(a.burn_rate->objective, w.factor_tenths).value_or("NaN");
        Labels labels = {{"severity", std::string(SeverityName(w.severity))},
                         {"layer", layer},
                         {"long", std::string(w.long_window)},
                         {"short", std::string(w.short_window)}};
        group.rules.push_back(Rule{true, a.name, BurnRateExpr(a.burn_rate->ratio, w, threshold),
                                   w.for_duration, std::move(labels),
                                   AlertAnnotations(a, runbook_base_url, w.long_window,
                                                    w.short_window)});
      }
    }
    if (!group.rules.empty()) groups.push_back(std::move(group));
  }
  return groups;
}

}  // namespace triage::rulegen

// The rules the catalog stands for: recording rules, plain alerts, and the
// four rules of each burn-rate alert, grouped the way the rule file lists them.
#pragma once

#include <array>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rules/rulegen/catalog.h"

namespace triage::rulegen {

// One row of the multi-window, multi-burn-rate table.
struct BurnWindow {
  std::string_view long_window;
  std::string_view short_window;
  int factor_tenths;  // burn-rate factor times ten: 14.4 -> 144
  Severity severity;
  std::chrono::milliseconds for_duration;
};

inline constexpr std::array<BurnWindow, 4> kBurnWindows = {{
    {"1h", "5m", 144, Severity::kCritical, std::chrono::minutes(2)},
    {"6h", "30m", 60, Severity::kCritical, std::chrono::minutes(15)},
    {"1d", "2h", 30, Severity::kWarning, std::chrono::hours(1)},
    {"3d", "6h", 10, Severity::kWarning, std::chrono::hours(3)},
}};

// Every window whose ratio a burn-rate alert reads, shortest first.
inline constexpr std::array<std::string_view, 7> kBurnRatioWindows = {"5m", "30m", "1h", "2h",
                                                                      "6h", "1d", "3d"};

// factor * (1 - objective) in exact decimal arithmetic, written as the
// shortest decimal: ("0.99", 144) -> "0.144", ("0.999", 10) -> "0.001".
// nullopt when `objective` is not "0." followed by 1 to 9 digits.
std::optional<std::string> BurnThreshold(std::string_view objective, int factor_tenths);

// "PREFIX<long> > T and PREFIX<short> > T".
std::string BurnRateExpr(std::string_view prefix, const BurnWindow& w, std::string_view threshold);

struct Rule {
  bool is_alert = false;
  std::string name;  // record or alert name
  std::string expr;
  std::chrono::milliseconds for_duration{0};
  Labels labels;
  Labels annotations;
};

struct RuleGroup {
  std::string name;
  std::vector<Rule> rules;
};

// base + "file.md#anchor".
std::string RunbookUrl(std::string_view base, std::string_view runbook);

// The annotations an alert's rules carry. For one rule of a burn-rate alert
// pass its window pair: "{long}" and "{short}" in the description become its
// windows (templates cannot see the rule's own labels).
Labels AlertAnnotations(const Alert& a, std::string_view runbook_base_url,
                        std::string_view long_window = {}, std::string_view short_window = {});

// "{long}" and "{short}" of a burn-rate description replaced by the windows.
std::string ExpandWindows(std::string text, std::string_view long_window,
                          std::string_view short_window);

// triage.recording, then one group per layer in layer order; empty groups
// are left out.
std::vector<RuleGroup> BuildRuleGroups(const Catalog& catalog, std::string_view runbook_base_url);

}  // namespace triage::rulegen

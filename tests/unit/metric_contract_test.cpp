// The README's metric reference must match what the code emits: every
// family of the contract table and of the self metrics, with the same type.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "exporter/metric_contract.h"
#include "exporter/metric_families.h"

namespace triage {
namespace {

// name -> type ("" when the row gives none) from the "## Metrics" table.
std::map<std::string, std::string> ReadmeMetrics() {
  std::ifstream in(std::string(TRIAGE_SOURCE_DIR) + "/README.md");
  std::string line;
  bool in_section = false;
  std::map<std::string, std::string> out;
  const std::regex name_re("`([a-z_]+)`");
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) in_section = line == "## Metrics";
    if (!in_section || line.rfind("| `", 0) != 0) continue;
    std::vector<std::string> cells;
    std::stringstream ss(line.substr(1));
    std::string cell;
    while (std::getline(ss, cell, '|')) cells.push_back(cell);
    if (cells.size() < 2) continue;
    std::string type = cells[1];
    type.erase(0, type.find_first_not_of(' '));
    type.erase(type.find_last_not_of(' ') + 1);
    for (std::sregex_iterator it(cells[0].begin(), cells[0].end(), name_re), end; it != end; ++it) {
      out[(*it)[1]] = type;
    }
  }
  return out;
}

TEST(MetricContract, ReadmeListsEveryEmittedFamilyWithItsType) {
  const auto readme = ReadmeMetrics();
  const auto emitted = ExposedFamilies();
  ASSERT_FALSE(readme.empty()) << "no metric table found under ## Metrics in README.md";
  for (const auto& [name, type] : emitted) {
    auto it = readme.find(name);
    ASSERT_NE(it, readme.end()) << name << " is emitted but missing from README.md";
    if (!it->second.empty()) {
      EXPECT_EQ(it->second, type) << "type of " << name;
    }
  }
  for (const auto& [name, type] : readme) {
    EXPECT_TRUE(emitted.count(name)) << name << " is in README.md but not emitted";
  }
}

TEST(MetricContract, NamesFollowConventions) {
  for (const auto& f : kFamilies) {
    const std::string name(f.name);
    EXPECT_EQ(name.rfind("triage_", 0), 0u) << name;
    if (f.type == MetricType::kCounter) {
      EXPECT_TRUE(name.size() > 6 && name.substr(name.size() - 6) == "_total") << name;
    } else {
      EXPECT_EQ(name.find("_total"), std::string::npos) << name;
    }
    EXPECT_FALSE(f.help.empty()) << name;
  }
}

TEST(MetricContract, SeriesNamesSpellOutHistograms) {
  const auto names = ExposedSeriesNames();
  for (const char* name :
       {"triage_probe_success", "triage_probe_duration_seconds_bucket",
        "triage_probe_duration_seconds_sum", "triage_probe_duration_seconds_count",
        "triage_exporter_schedule_lag_seconds_bucket", "triage_exporter_build_info",
        "process_start_time_seconds"}) {
    EXPECT_EQ(names.count(name), 1u) << name;
  }
  // A histogram's own name selects no series.
  EXPECT_EQ(names.count("triage_probe_duration_seconds"), 0u);
  EXPECT_EQ(names.count("triage_exporter_schedule_lag_seconds"), 0u);
}

}  // namespace
}  // namespace triage

// The README's metric reference must match what the code emits: every
// family of the contract table and of the self metrics, with the same type.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "exporter/metric_families.h"
#include "exporter/self_metrics.h"

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

std::map<std::string, std::string> EmittedFamilies() {
  std::map<std::string, std::string> out;
  for (const auto& f : kFamilies) out[std::string(f.name)] = std::string(MetricTypeName(f.type));
  SelfMetrics self;
  std::string text;
  self.Render(text);
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# TYPE ", 0) != 0) continue;
    std::istringstream fields(line.substr(7));
    std::string name, type;
    fields >> name >> type;
    out[name] = type;
  }
  return out;
}

TEST(MetricContract, ReadmeListsEveryEmittedFamilyWithItsType) {
  const auto readme = ReadmeMetrics();
  const auto emitted = EmittedFamilies();
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

}  // namespace
}  // namespace triage

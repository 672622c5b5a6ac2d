// The metric contract as one set of facts: every family of the contract table
// and of the self metrics, with type, labels and help (docs/metrics.md is
// generated from it; tests/rulepack/reproducible_test.sh checks the file).
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "exposition/metric_contract.h"
#include "exposition/metric_families.h"

namespace triage {
namespace {

TEST(MetricContract, ReferenceCarriesEveryFamilyWithLabelsAndHelp) {
  const auto ref = MetricReference();
  ASSERT_EQ(ref.size(), ExposedFamilies().size()) << "a family listed twice";
  std::map<std::string, const ReferenceFamily*> by_name;
  for (const auto& f : ref) {
    by_name[f.name] = &f;
    EXPECT_FALSE(f.type.empty()) << f.name;
    EXPECT_FALSE(f.help.empty()) << f.name;
  }
  ASSERT_TRUE(by_name.count("triage_http_error_responses_total"));
  EXPECT_EQ(by_name["triage_http_error_responses_total"]->labels,
            (std::vector<std::string>{"code", "error_code"}));
  // Self metrics: labels read from the rendered samples, "le" left out.
  ASSERT_TRUE(by_name.count("triage_exporter_build_info"));
  EXPECT_EQ(by_name["triage_exporter_build_info"]->labels,
            (std::vector<std::string>{"revision", "version"}));
  ASSERT_TRUE(by_name.count("triage_exporter_missed_runs_total"));
  EXPECT_EQ(by_name["triage_exporter_missed_runs_total"]->labels,
            (std::vector<std::string>{"reason"}));
  ASSERT_TRUE(by_name.count("triage_exporter_schedule_lag_seconds"));
  EXPECT_TRUE(by_name["triage_exporter_schedule_lag_seconds"]->labels.empty());
  EXPECT_EQ(by_name["triage_exporter_schedule_lag_seconds"]->type, "histogram");
  ASSERT_TRUE(by_name.count("process_open_fds"));
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

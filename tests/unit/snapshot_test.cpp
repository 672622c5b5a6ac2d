// Rendering of probe samples: value formatting, label escaping, and one
// HELP/TYPE header per family however many probes contribute to it.
#include "exposition/snapshot.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

#include "exporter/probe_table.h"
#include "tests/unit/test_util.h"

namespace triage {
namespace {

std::string Value(double v) {
  std::string s;
  AppendSampleValue(s, v);
  return s;
}

TEST(SnapshotTest, SampleValuesUseExpositionSpelling) {
  EXPECT_EQ(Value(0), "0");
  EXPECT_EQ(Value(401), "401");
  EXPECT_EQ(Value(-3), "-3");
  EXPECT_EQ(Value(1.5), "1.5");
  EXPECT_EQ(Value(0.1), "0.1");
  EXPECT_EQ(Value(1e20), "1e+20");
  EXPECT_EQ(Value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(Value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(Value(std::nan("")), "NaN");
}

TEST(SnapshotTest, LabelValuesAreEscaped) {
  EXPECT_EQ(RenderLabelPairs({{"service", "a\"b\\c\nd"}, {"probe", "p"}}),
            "service=\"a\\\"b\\\\c\\nd\",probe=\"p\"");
}

TEST(SnapshotTest, WriterSlicesByFamily) {
  SampleWriter w("service=\"s\",probe=\"p\"");
  w.Add(FamilyId::kHttpResponsesTotal, "code", "401", 3);
  w.Add(FamilyId::kProbeSuccess, 1);
  w.Add(FamilyId::kHttpErrorResponsesTotal, "code", "429", "error_code", "rate_limited", 2);
  const Snapshot s = w.Finish();
  EXPECT_EQ(s.Fragment(FamilyId::kProbeSuccess), "triage_probe_success{service=\"s\",probe=\"p\"} 1\n");
  EXPECT_EQ(s.Fragment(FamilyId::kHttpResponsesTotal),
            "triage_http_responses_total{service=\"s\",probe=\"p\",code=\"401\"} 3\n");
  EXPECT_EQ(s.Fragment(FamilyId::kHttpErrorResponsesTotal),
            "triage_http_error_responses_total{service=\"s\",probe=\"p\",code=\"429\","
            "error_code=\"rate_limited\"} 2\n");
  EXPECT_TRUE(s.Fragment(FamilyId::kClockSkewSeconds).empty());
}

TEST(SnapshotTest, HistogramHasCumulativeBucketsSumAndCount) {
  SampleWriter w("probe=\"p\"");
  const double upper[] = {0.1, 1};
  const uint64_t cumulative[] = {1, 3};
  w.AddHistogram(FamilyId::kProbeDurationSeconds, BucketBounds(upper), cumulative, 4, 2.5);
  const Snapshot s = w.Finish();
  EXPECT_EQ(s.Fragment(FamilyId::kProbeDurationSeconds),
            "triage_probe_duration_seconds_bucket{probe=\"p\",le=\"0.1\"} 1\n"
            "triage_probe_duration_seconds_bucket{probe=\"p\",le=\"1\"} 3\n"
            "triage_probe_duration_seconds_bucket{probe=\"p\",le=\"+Inf\"} 4\n"
            "triage_probe_duration_seconds_sum{probe=\"p\"} 2.5\n"
            "triage_probe_duration_seconds_count{probe=\"p\"} 4\n");
}

TEST(SnapshotTest, FamiliesAreGroupedWithOneHeaderEach) {
  std::vector<ProbeEntry> entries;
  for (const char* p : {"a", "b"}) {
    SampleWriter w(std::string("probe=\"") + p + "\"");
    w.Add(FamilyId::kProbeSuccess, 1);
    w.Add(FamilyId::kHttpResponsesTotal, "code", "200", 1);
    entries.push_back({nullptr, std::make_shared<Snapshot>(w.Finish())});
  }
  entries.push_back({nullptr, nullptr});  // a probe that has not run yet
  std::string out;
  RenderProbeFamilies(entries, out);
  EXPECT_EQ(out,
            "# HELP triage_probe_success " + std::string(Family(FamilyId::kProbeSuccess).help) +
                "\n# TYPE triage_probe_success gauge\n"
                "triage_probe_success{probe=\"a\"} 1\n"
                "triage_probe_success{probe=\"b\"} 1\n"
                "# HELP triage_http_responses_total " +
                std::string(Family(FamilyId::kHttpResponsesTotal).help) +
                "\n# TYPE triage_http_responses_total counter\n"
                "triage_http_responses_total{probe=\"a\",code=\"200\"} 1\n"
                "triage_http_responses_total{probe=\"b\",code=\"200\"} 1\n");
}

TEST(SnapshotTest, WriterTakesAnyNumberOfLabelsInOrder) {
  SampleWriter w("service=\"s\",probe=\"p\"");
  const SampleWriter::LabelView three[] = {
      {"namespace", "ns"}, {"persistentvolumeclaim", "data-\"0\""}, {"phase", "Bound"}};
  w.Add(FamilyId::kPvcPhase, three, 1);
  w.Add(FamilyId::kStorageClassDefaultPresent, std::span<const SampleWriter::LabelView>(), 0);
  const Snapshot s = w.Finish();
  EXPECT_EQ(s.Fragment(FamilyId::kPvcPhase),
            "triage_pvc_phase{service=\"s\",probe=\"p\",namespace=\"ns\","
            "persistentvolumeclaim=\"data-\\\"0\\\"\",phase=\"Bound\"} 1\n");
  EXPECT_EQ(s.Fragment(FamilyId::kStorageClassDefaultPresent),
            "triage_storageclass_default_present{service=\"s\",probe=\"p\"} 0\n");
}

// A run's snapshot for `probe` with `n` as its success value.
std::function<void(Snapshot&)> Fill(SampleWriter& w, double n) {
  return [&w, n](Snapshot& s) {
    w.Reset("probe=\"p\"");
    w.Add(FamilyId::kProbeSuccess, n);
    w.FinishInto(s);
  };
}

TEST(ProbeTableTest, PublishOverwritesASnapshotNobodyReads) {
  ProbeTable table;
  table.Reset({{nullptr, nullptr}});
  SampleWriter w;
  std::shared_ptr<const Snapshot> mine = table.Publish(0, nullptr, Fill(w, 1));
  const Snapshot* first = mine.get();
  // Only the table and `mine` hold it: the next run reuses it.
  mine = table.Publish(0, mine, Fill(w, 0));
  EXPECT_EQ(mine.get(), first);
  EXPECT_EQ(mine->Fragment(FamilyId::kProbeSuccess), "triage_probe_success{probe=\"p\"} 0\n");
  EXPECT_EQ(table.All()[0].snap, mine);
}

TEST(ProbeTableTest, PublishNeverChangesASnapshotAScrapeHolds) {
  ProbeTable table;
  table.Reset({{nullptr, nullptr}});
  SampleWriter w;
  std::shared_ptr<const Snapshot> mine = table.Publish(0, nullptr, Fill(w, 1));
  const std::vector<ProbeEntry> scrape = table.All();  // a scrape in progress
  mine = table.Publish(0, mine, Fill(w, 0));
  EXPECT_NE(mine.get(), scrape[0].snap.get());
  EXPECT_EQ(scrape[0].snap->Fragment(FamilyId::kProbeSuccess),
            "triage_probe_success{probe=\"p\"} 1\n");
  EXPECT_EQ(table.All()[0].snap->Fragment(FamilyId::kProbeSuccess),
            "triage_probe_success{probe=\"p\"} 0\n");
}

TEST(SnapshotTest, FinishIntoKeepsTheTextMemoryWhenItFits) {
  SampleWriter w("probe=\"p\"");
  w.Add(FamilyId::kProbeSuccess, 1);
  Snapshot s;
  w.FinishInto(s);
  const char* memory = s.text.data();
  w.Reset("probe=\"p\"");
  w.Add(FamilyId::kProbeSuccess, 10);  // one character longer
  w.FinishInto(s);
  EXPECT_EQ(s.text.data(), memory);
  EXPECT_EQ(s.text, "triage_probe_success{probe=\"p\"} 10\n");
}

}  // namespace
}  // namespace triage

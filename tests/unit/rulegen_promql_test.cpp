// The PromQL scanner: which identifiers are metric names, which are syntax,
// and where the durations are.
#include <gtest/gtest.h>

#include "rules/rulegen/promql_names.h"
#include "rules/rulegen/scale.h"

namespace triage::rulegen {
namespace {

using Names = std::vector<std::string>;
using std::chrono::milliseconds;

TEST(RulegenPromqlNames, PlainSelectorWithMatchersAndRange) {
  EXPECT_EQ(MetricNames(R"(rate(triage_http_responses_total{code=~"5..",probe!="x"}[5m]))"),
            Names{"triage_http_responses_total"});
}

TEST(RulegenPromqlNames, AggregationWithLabelListsBeforeAndAfter) {
  EXPECT_EQ(MetricNames("sum by (service, probe) (rate(a_total[5m]))"), Names{"a_total"});
  EXPECT_EQ(MetricNames("sum(rate(a_total[5m])) without (code, instance)"), Names{"a_total"});
  EXPECT_EQ(MetricNames("SUM BY (job) (b)"), Names{"b"});
  EXPECT_EQ(MetricNames("topk(5, c) or count_values(\"version\", d)"), (Names{"c", "d"}));
  EXPECT_EQ(MetricNames("quantile(0.9, e)"), Names{"e"});
}

TEST(RulegenPromqlNames, VectorMatchingKeywordsAndTheirLabels) {
  EXPECT_EQ(MetricNames("a == 0 and on (service, probe) b{layer=\"liveness\"}"),
            (Names{"a", "b"}));
  EXPECT_EQ(MetricNames("a * on(service) group_left(team, cluster_id) b"), (Names{"a", "b"}));
  EXPECT_EQ(MetricNames("a / ignoring(code) group_right c"), (Names{"a", "c"}));
  EXPECT_EQ(MetricNames("a unless b or c"), (Names{"a", "b", "c"}));
  EXPECT_EQ(MetricNames("a > bool 1"), Names{"a"});
  EXPECT_EQ(MetricNames("a atan2 b"), (Names{"a", "b"}));
}

TEST(RulegenPromqlNames, FunctionsStringsNumbersAndComments) {
  EXPECT_EQ(MetricNames(R"x(label_replace(up, "dst", "$1 sum(x)", "src", "(.*)"))x"), Names{"up"});
  EXPECT_EQ(MetricNames("histogram_quantile(0.99, sum by (le) (rate(h_bucket[5m])))"),
            Names{"h_bucket"});
  EXPECT_EQ(MetricNames("absent(x) * 1e3 + 0x1f - .5 + Inf - NaN"), Names{"x"});
  EXPECT_EQ(MetricNames("a # b is a comment\n + c"), (Names{"a", "c"}));
  EXPECT_EQ(MetricNames("time() - d > 3600"), Names{"d"});
  EXPECT_EQ(MetricNames("vector(1)"), Names{});
  EXPECT_EQ(MetricNames("a{b='it''s', c=`raw \"`}"), Names{"a"});
}

TEST(RulegenPromqlNames, RecordingRuleNamesKeepTheirColons) {
  EXPECT_EQ(MetricNames("triage:http_5xx:ratio_rate1h > 0.144 and triage:http_5xx:ratio_rate5m > 0.144"),
            (Names{"triage:http_5xx:ratio_rate1h", "triage:http_5xx:ratio_rate5m"}));
}

TEST(RulegenPromqlNames, OffsetAndAtModifiers) {
  EXPECT_EQ(MetricNames("a offset 1h - a offset -5m"), Names{"a"});
  EXPECT_EQ(MetricNames("a @ 1609746000 + b @ start()"), (Names{"a", "b"}));
}

TEST(RulegenPromqlNames, NamesKeepTheirOffsetsAndRepeats) {
  const auto scan = ScanPromql("a + sum(b) / a");
  ASSERT_EQ(scan.names.size(), 3u);
  EXPECT_EQ(scan.names[0].offset, 0u);
  EXPECT_EQ(scan.names[1].name, "b");
  EXPECT_EQ(scan.names[1].offset, 8u);
  EXPECT_EQ(scan.names[2].offset, 13u);
}

TEST(RulegenPromqlNames, DurationsOfRangesSubqueriesAndOffsets) {
  const auto scan = ScanPromql("max_over_time(rate(a[5m])[1h:30s]) offset 1d + b[ 1h30m ]");
  ASSERT_FALSE(scan.error) << *scan.error;
  ASSERT_EQ(scan.durations.size(), 5u);
  EXPECT_EQ(scan.durations[0].value, milliseconds(300000));
  EXPECT_EQ(scan.durations[1].value, milliseconds(3600000));
  EXPECT_EQ(scan.durations[2].value, milliseconds(30000));
  EXPECT_EQ(scan.durations[3].value, milliseconds(86400000));
  EXPECT_EQ(scan.durations[4].value, milliseconds(5400000));
  EXPECT_EQ(scan.durations[4].length, 5u);
  EXPECT_FALSE(ScanPromql("a[1h:]").error);
}

TEST(RulegenPromqlNames, RejectsWhatCannotBePromql) {
  EXPECT_EQ(*ScanPromql("a{b=\"x}").error, "unterminated string");
  EXPECT_EQ(*ScanPromql("a{b=\"x\"").error, "no closing '}' for this '{'");
  EXPECT_EQ(*ScanPromql("rate(a[5x])").error, "range \"5x\" is not a duration like 5m or 1h30m");
  EXPECT_EQ(*ScanPromql("rate(a[{window}])").error,
            "range \"{window}\" is not a duration like 5m or 1h30m");
  EXPECT_EQ(ScanPromql("a[5m").error_offset, 1u);
}

TEST(RulegenScale, DividesDurationsAndFallsBackToMilliseconds) {
  EXPECT_EQ(ScaleDuration(milliseconds(300000), 60), "5s");
  EXPECT_EQ(ScaleDuration(milliseconds(3600000), 60), "1m");
  EXPECT_EQ(ScaleDuration(milliseconds(3 * 86400000LL), 60), "1h12m");
  EXPECT_EQ(ScaleDuration(milliseconds(90000), 60), "1500ms");
  EXPECT_EQ(ScaleDuration(milliseconds(300000), 7), "42857ms");
  EXPECT_EQ(ScaleDuration(milliseconds(1), 60), "1ms");
  EXPECT_EQ(ScaleDuration(milliseconds(0), 60), "0s");
  EXPECT_EQ(ScaleDuration(milliseconds(120000), 1), "2m");
}

TEST(RulegenScale, RewritesOnlyDurationsInsideExpressions) {
  EXPECT_EQ(ScaleExprDurations("rate(a{le=\"5m\"}[5m]) > 300 and b offset 1h", 60),
            "rate(a{le=\"5m\"}[5s]) > 300 and b offset 1m");
  EXPECT_EQ(ScaleExprDurations("max_over_time(x[1h:90s])", 60), "max_over_time(x[1m:1500ms])");
  EXPECT_EQ(ScaleExprDurations("triage:x:ratio_rate5m > 0.144", 60), "triage:x:ratio_rate5m > 0.144");
}

}  // namespace
}  // namespace triage::rulegen

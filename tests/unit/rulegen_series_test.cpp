// promtool's expanding notation, counted as Prometheus 2.42 expands it.
#include <gtest/gtest.h>

#include "rules/rulegen/series_values.h"

namespace triage::rulegen {
namespace {

size_t Count(const std::string& values) {
  const auto c = CountSamples(values);
  EXPECT_FALSE(c.error) << values << ": " << *c.error;
  return c.samples;
}

TEST(RulegenSeriesValues, CountsEveryForm) {
  EXPECT_EQ(Count("1 2 3"), 3u);
  EXPECT_EQ(Count("1 1 0x10"), 13u);      // 2 + (10 + 1)
  EXPECT_EQ(Count("1x12"), 13u);          // a x N: N + 1 samples
  EXPECT_EQ(Count("0+10x100"), 101u);     // a+b x N: N + 1 samples
  EXPECT_EQ(Count("-1-1x3"), 4u);
  EXPECT_EQ(Count("1e3+1e-1x2"), 3u);
  EXPECT_EQ(Count("_"), 1u);
  EXPECT_EQ(Count("_x3 1"), 4u);          // _ x N: N missing samples
  EXPECT_EQ(Count("0x2 stale 5+1x2"), 7u);
  EXPECT_EQ(Count("stalex2"), 3u);
  EXPECT_EQ(Count("Inf -Inf NaN +5"), 4u);
  EXPECT_EQ(Count("  1   2 "), 2u);
  EXPECT_EQ(Count(""), 0u);
}

TEST(RulegenSeriesValues, RejectsWhatPromtoolCannotRead) {
  for (const char* bad : {"1+", "abc", "1+2", "1x", "_+1x2", "stale+1x2", "1..2", "x3"}) {
    const auto c = CountSamples(bad);
    ASSERT_TRUE(c.error) << bad;
    EXPECT_NE(c.error->find("cannot read"), std::string::npos) << *c.error;
  }
}

}  // namespace
}  // namespace triage::rulegen

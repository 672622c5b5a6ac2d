// Runbook headings: plain text, GitHub anchors and informational markers.
#include <gtest/gtest.h>

#include "rules/rulegen/anchors.h"

namespace triage::rulegen {
namespace {

TEST(RulegenAnchors, SlugLowersKeepsWordCharactersAndHyphenatesSpaces) {
  EXPECT_EQ(GithubSlug("TriageTargetDown"), "triagetargetdown");
  EXPECT_EQ(GithubSlug("401 from the API (bearer token)"), "401-from-the-api-bearer-token");
  EXPECT_EQ(GithubSlug("snake_case and kebab-case"), "snake_case-and-kebab-case");
  EXPECT_EQ(GithubSlug("What's next? A: b. c/d"), "whats-next-a-b-cd");
  EXPECT_EQ(GithubSlug("two  spaces"), "two--spaces");
  EXPECT_EQ(GithubSlug("Ünïcode Straße stays"), "ünïcode-straße-stays");
  EXPECT_EQ(GithubSlug("401 — “unauthorized” → retry ✅"), "401--unauthorized--retry-");
}

TEST(RulegenAnchors, RepeatsGetNumberedSuffixes) {
  AnchorNumbering n;
  EXPECT_EQ(n.Next("Diagnosis"), "diagnosis");
  EXPECT_EQ(n.Next("Diagnosis"), "diagnosis-1");
  EXPECT_EQ(n.Next("diagnosis"), "diagnosis-2");
  EXPECT_EQ(n.Next("Diagnosis 1"), "diagnosis-1-1");
}

TEST(RulegenAnchors, HeadingTextKeepsCodeSpansAndDropsMarkup) {
  const auto h = ReadHeadings(
      "# Title\n\n"
      "## `triage_probe_success` is *zero* and **stays** there\n\n"
      "### A [link](http://x) with <b>html</b> and ~~struck~~\n\n"
      "Setext heading\n--------------\n");
  ASSERT_EQ(h.size(), 4u);
  EXPECT_EQ(h[0].level, 1);
  EXPECT_EQ(h[1].level, 2);
  EXPECT_EQ(h[1].text, "triage_probe_success is zero and stays there");
  EXPECT_EQ(h[1].anchor, "triage_probe_success-is-zero-and-stays-there");
  EXPECT_EQ(h[1].line, 3);
  EXPECT_EQ(h[2].text, "A link with html and struck");
  EXPECT_EQ(h[3].level, 2);
  EXPECT_EQ(h[3].text, "Setext heading");
  EXPECT_EQ(h[3].line, 7);
}

TEST(RulegenAnchors, RepeatedSubsectionsAcrossSectionsAreNumbered) {
  const auto h = ReadHeadings(
      "## TriageA\n### Meaning\n### Diagnosis\n"
      "## TriageB\n### Meaning\n### Diagnosis\n");
  ASSERT_EQ(h.size(), 6u);
  EXPECT_EQ(h[0].anchor, "triagea");
  EXPECT_EQ(h[1].anchor, "meaning");
  EXPECT_EQ(h[4].anchor, "meaning-1");
  EXPECT_EQ(h[5].anchor, "diagnosis-1");
}

TEST(RulegenAnchors, NoHeadingsInCodeBlocks) {
  const auto h = ReadHeadings("```sh\n## not a heading\n```\n\n    ## indented code\n\n## Real\n");
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].text, "Real");
  EXPECT_EQ(h[0].line, 7);
}

TEST(RulegenAnchors, InformationalIsAQuoteRightAfterTheHeading) {
  const auto h = ReadHeadings(
      "## Layout\n\n> Informational: how to read this.\n\n"
      "## Bold\n\n> **Informational** too.\n\n"
      "## Later\n\nText first.\n\n> Informational, but too late.\n\n"
      "## Other\n\n> A quote about something else.\n");
  ASSERT_EQ(h.size(), 4u);
  EXPECT_TRUE(h[0].informational);
  EXPECT_TRUE(h[1].informational);
  EXPECT_FALSE(h[2].informational);
  EXPECT_FALSE(h[3].informational);
}

}  // namespace
}  // namespace triage::rulegen

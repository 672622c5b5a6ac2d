// exporter/markdown: HTML rendering with GitHub heading anchors as ids, the
// one anchor implementation shared with the rule generator, and the files
// embedded at build time.
#include "base/markdown.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "exporter/runbook_pages.h"
#include "rules/rulegen/anchors.h"
#include "tests/unit/test_util.h"

namespace triage {
namespace {

using testing::Contains;
using testing::Count;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(Markdown, EveryHeadingGetsItsGithubAnchorAsId) {
  const auto r = RenderMarkdown(
      "# Title\n\n"
      "## TriageTargetDown\n\ntext\n\n"
      "### Meaning\n\n### Diagnosis\n\n"
      "## TriageNotReady\n\n### Meaning\n\n"
      "## What's next? `code` *and* ~~struck~~\n");
  ASSERT_EQ(r.headings.size(), 7u);
  EXPECT_TRUE(Contains(r.html, "<h1 id=\"title\">Title</h1>")) << r.html;
  EXPECT_TRUE(Contains(r.html, "<h2 id=\"triagetargetdown\">TriageTargetDown</h2>")) << r.html;
  EXPECT_TRUE(Contains(r.html, "<h3 id=\"meaning\">Meaning</h3>")) << r.html;
  EXPECT_TRUE(Contains(r.html, "<h3 id=\"meaning-1\">Meaning</h3>")) << r.html;
  EXPECT_TRUE(Contains(r.html, "<h2 id=\"whats-next-code-and-struck\">")) << r.html;
  // Every heading tag has an id, and the anchors are those of the generator.
  EXPECT_FALSE(std::regex_search(r.html, std::regex("<h[1-6]>"))) << r.html;
  EXPECT_EQ(Count(r.html, " id=\""), r.headings.size()) << r.html;
  const auto generator = rulegen::ReadHeadings(
      "# Title\n\n## TriageTargetDown\n\ntext\n\n### Meaning\n\n### Diagnosis\n\n"
      "## TriageNotReady\n\n### Meaning\n\n## What's next? `code` *and* ~~struck~~\n");
  ASSERT_EQ(generator.size(), r.headings.size());
  for (size_t i = 0; i < generator.size(); ++i) {
    EXPECT_EQ(generator[i].anchor, r.headings[i].anchor);
    EXPECT_TRUE(Contains(r.html, "id=\"" + r.headings[i].anchor + "\"")) << r.headings[i].anchor;
  }
}

TEST(Markdown, GeneratorAndExporterShareOneAnchorFunction) {
  // The generator's names are the exporter's functions, not copies.
  std::string (*generator)(std::string_view) = &rulegen::GithubSlug;
  std::string (*exporter)(std::string_view) = &GithubSlug;
  EXPECT_EQ(generator, exporter);
  EXPECT_EQ(GithubSlug("401 — “unauthorized” → retry ✅"), "401--unauthorized--retry-");
}

TEST(Markdown, HeadingEndIsRightAfterTheClosingTag) {
  const auto r = RenderMarkdown("# A\n\npara\n\n## B\n\n- item\n");
  ASSERT_EQ(r.heading_end.size(), 2u);
  EXPECT_EQ(r.html.substr(0, r.heading_end[0]), "<h1 id=\"a\">A</h1>\n");
  EXPECT_EQ(r.html.substr(r.heading_end[1]).rfind("<ul>", 0), 0u) << r.html.substr(r.heading_end[1]);
  EXPECT_EQ(r.html.substr(0, r.heading_end[1]).substr(r.html.substr(0, r.heading_end[1]).size() - 6),
            "</h2>\n");
}

TEST(Markdown, RawHtmlAndScriptLinksAreNotPassedThrough) {
  const auto r = RenderMarkdown(
      "## Heading <script>alert(1)</script>\n\n"
      "<script>alert(2)</script>\n\n"
      "<div onclick=\"x()\">block</div>\n\n"
      "Inline <img src=x onerror=alert(3)> and [link](javascript:alert(4)).\n\n"
      "```html\n<h2>not a heading</h2>\n```\n\n"
      "## After\n");
  EXPECT_FALSE(Contains(r.html, "<script")) << r.html;
  EXPECT_FALSE(Contains(r.html, "<img")) << r.html;
  EXPECT_FALSE(Contains(r.html, "<div")) << r.html;
  EXPECT_FALSE(Contains(r.html, "javascript:")) << r.html;
  // The code block stays text, and does not take the next heading's id.
  EXPECT_TRUE(Contains(r.html, "&lt;h2&gt;not a heading&lt;/h2&gt;")) << r.html;
  EXPECT_TRUE(Contains(r.html, "<h2 id=\"after\">After</h2>")) << r.html;
  ASSERT_EQ(r.headings.size(), 2u);
  // Tags are dropped from the heading's text, the text between them stays.
  EXPECT_EQ(r.headings[0].anchor, "heading-alert1");
}

TEST(Markdown, GithubExtensionsRender) {
  const auto r = RenderMarkdown(
      "| a | b |\n|---|---|\n| 1 | 2 |\n\n~~gone~~ and https://example.test/x\n");
  EXPECT_TRUE(Contains(r.html, "<table>")) << r.html;
  EXPECT_TRUE(Contains(r.html, "<td>2</td>")) << r.html;
  EXPECT_TRUE(Contains(r.html, "<del>gone</del>")) << r.html;
  EXPECT_TRUE(Contains(r.html, "<a href=\"https://example.test/x\">")) << r.html;
}

TEST(Markdown, HeadingsInQuotesAndListsAreNumberedInDocumentOrder) {
  const auto r = RenderMarkdown("## X\n\n> ## X\n\n- ## X\n");
  ASSERT_EQ(r.headings.size(), 3u);
  EXPECT_TRUE(Contains(r.html, "<h2 id=\"x\">")) << r.html;
  EXPECT_TRUE(Contains(r.html, "<h2 id=\"x-1\">")) << r.html;
  EXPECT_TRUE(Contains(r.html, "<h2 id=\"x-2\">")) << r.html;
  EXPECT_LT(r.html.find("id=\"x-1\""), r.html.find("id=\"x-2\""));
}

// The build embeds runbooks/*.md and alerts/index.json as they are in the tree.
TEST(EmbeddedRunbooks, MatchTheFilesOfTheTree) {
  namespace fs = std::filesystem;
  const std::string dir = std::string(TRIAGE_SOURCE_DIR) + "/runbooks";
  std::set<std::string> on_disk;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.size() > 3 && name.substr(name.size() - 3) == ".md") on_disk.insert(name);
  }
  std::set<std::string> embedded;
  for (const auto& f : EmbeddedRunbookFiles()) {
    embedded.insert(std::string(f.name));
    EXPECT_EQ(f.content, ReadFile(dir + "/" + std::string(f.name)))
        << f.name << " differs from the embedded copy; rebuild";
  }
  EXPECT_EQ(embedded, on_disk);
  EXPECT_EQ(EmbeddedAlertIndexJson(),
            ReadFile(std::string(TRIAGE_SOURCE_DIR) + "/alerts/index.json"));
}

}  // namespace
}  // namespace triage

// GitHub-flavoured markdown (cmark-gfm with the table, strikethrough and
// autolink extensions): heading anchors exactly as GitHub computes them, and
// HTML rendering with those anchors as heading ids. The rule generator
// validates runbook_url fragments with the same functions the exporter uses
// to serve the runbooks, so a fragment that passes the check lands on its
// section of the served page.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace triage {

// GitHub's anchor for a heading's text, before repeats are numbered: lower
// case; letters and digits (of any script), '_', '-' and spaces kept,
// punctuation and symbols dropped; each space turned into '-'. Lower-casing
// beyond ASCII covers Latin-1, Greek and Cyrillic.
std::string GithubSlug(std::string_view heading_text);

// Numbers repeated anchors within one document the way GitHub does: the
// second "foo" becomes "foo-1", the third "foo-2", and a later heading whose
// own anchor is "foo-1" then gets "foo-1-1".
class AnchorNumbering {
 public:
  std::string Next(std::string_view heading_text);

 private:
  std::map<std::string, int, std::less<>> seen_;
};

struct MarkdownHeading {
  int level = 0;
  std::string text;    // rendered plain text: code spans keep their content, markup dropped
  std::string anchor;  // unique within the document
  int line = 0;        // 1-based line of the heading
  // The first block after the heading is a block quote whose text starts
  // with "Informational".
  bool informational = false;
};

// Every heading of a markdown document, in document order.
std::vector<MarkdownHeading> ReadMarkdownHeadings(std::string_view markdown);

struct RenderedMarkdown {
  // The document as HTML. Raw HTML of the source is not passed through
  // (cmark-gfm replaces it with a comment); every heading carries
  // id="<anchor>".
  std::string html;
  std::vector<MarkdownHeading> headings;  // document order, as ReadMarkdownHeadings
  // For each heading, the byte offset in `html` just after its closing tag
  // (and the newline after it): where content placed "right after the
  // heading" goes.
  std::vector<size_t> heading_end;
};

RenderedMarkdown RenderMarkdown(std::string_view markdown);

}  // namespace triage

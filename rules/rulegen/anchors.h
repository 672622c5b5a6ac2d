// Runbook headings and the anchors GitHub gives them.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace triage::rulegen {

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

struct Heading {
  int level = 0;
  std::string text;    // rendered plain text: code spans keep their content, markup dropped
  std::string anchor;  // unique within the document
  int line = 0;        // 1-based line of the heading
  // The first block after the heading is a block quote whose text starts
  // with "Informational".
  bool informational = false;
};

// Every heading of a markdown document (CommonMark with GitHub's extensions),
// in document order.
std::vector<Heading> ReadHeadings(std::string_view markdown);

}  // namespace triage::rulegen

// Runbook headings and the anchors GitHub gives them. The implementation is
// shared with the exporter, which serves the runbooks with the same anchors
// as heading ids (base/markdown.h): one function decides both what the
// generator accepts as a runbook_url fragment and where the page puts it.
#pragma once

#include "base/markdown.h"

namespace triage::rulegen {

using triage::AnchorNumbering;
using triage::GithubSlug;
using Heading = triage::MarkdownHeading;

// Every heading of a markdown document (CommonMark with GitHub's extensions),
// in document order.
inline std::vector<Heading> ReadHeadings(std::string_view markdown) {
  return triage::ReadMarkdownHeadings(markdown);
}

}  // namespace triage::rulegen

// Runbook markdown: heading extraction with GitHub anchors and the page
// rendering, on any bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/markdown.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  triage::ReadMarkdownHeadings(text);
  triage::RenderMarkdown(text);
  triage::GithubSlug(text.substr(0, 256));
  return 0;
}

// The runbooks directory: every *.md file's headings, and README.md's text.
#pragma once

#include <string>
#include <vector>

#include "rules/rulegen/anchors.h"
#include "rules/rulegen/catalog.h"

namespace triage::rulegen {

inline constexpr const char* kRunbookIndex = "README.md";

struct RunbookDoc {
  std::string name;  // file name, e.g. "liveness.md"
  std::string path;  // directory + name, as errors show it
  std::vector<Heading> headings;
};

struct Runbooks {
  std::string dir;
  std::vector<RunbookDoc> docs;  // every *.md but README.md, sorted by name
  bool has_readme = false;
  std::string readme_path;
  std::string readme_text;

  const RunbookDoc* Find(const std::string& name) const;
};

// "DIR/NAME" without doubling a trailing slash of DIR.
std::string JoinPath(const std::string& dir, const std::string& name);

// Reads the directory; an unreadable directory or file is an error in `diag`.
Runbooks LoadRunbooks(const std::string& dir, Diagnostics& diag);

}  // namespace triage::rulegen

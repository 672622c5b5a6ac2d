#include "rules/rulegen/runbooks.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "base/yaml_reader.h"

namespace triage::rulegen {

const RunbookDoc* Runbooks::Find(const std::string& name) const {
  for (const auto& d : docs) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

std::string JoinPath(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

Runbooks LoadRunbooks(const std::string& dir, Diagnostics& diag) {
  Runbooks rb;
  rb.dir = dir;
  rb.readme_path = JoinPath(dir, kRunbookIndex);
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) {
    diag.Add(dir + ": cannot read the runbook directory: " + ec.message());
    return rb;
  }
  std::vector<std::string> names;
  for (const auto& entry : it) {
    const std::string name = entry.path().filename().string();
    if (name.size() > 3 && name.substr(name.size() - 3) == ".md" && entry.is_regular_file(ec)) {
      names.push_back(name);
    }
  }
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    const std::string path = JoinPath(dir, name);
    std::string text;
    try {
      text = ReadConfigText(path);
    } catch (const ConfigError& e) {
      diag.Add(e.what());
      continue;
    }
    if (name == kRunbookIndex) {
      rb.has_readme = true;
      rb.readme_text = std::move(text);
      continue;
    }
    rb.docs.push_back({name, path, ReadHeadings(text)});
  }
  return rb;
}

}  // namespace triage::rulegen

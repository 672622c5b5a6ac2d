// triage_rulegen: validates rules/catalog/ against the metric contract and
// the runbooks, and writes the rule pack. See rules/README.md.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "exposition/metric_contract.h"
#include "rules/rulegen/catalog.h"
#include "rules/rulegen/reference.h"
#include "rules/rulegen/cli.h"
#include "rules/rulegen/rules.h"
#include "rules/rulegen/runbooks.h"
#include "rules/rulegen/validate.h"
#include "rules/rulegen/writers.h"

namespace {

using namespace triage::rulegen;

int Usage(const std::string& message) {
  std::cerr << "triage_rulegen: " << message << "\n\n" << kUsage;
  return 2;
}

bool WriteFile(const std::string& path, const std::string& content) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path p(path);
  if (p.has_parent_path()) fs::create_directories(p.parent_path(), ec);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    out.close();
    if (!out) {
      std::cerr << path << ": cannot write\n";
      return false;
    }
  }
  fs::rename(tmp, p, ec);
  if (ec) {
    std::cerr << path << ": cannot write: " << ec.message() << "\n";
    fs::remove(tmp, ec);
    return false;
  }
  return true;
}

// Removes *.test.yaml files of `dir` that this run did not write.
void RemoveStaleTests(const std::string& dir, const std::set<std::string>& written) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    constexpr std::string_view kSuffix = ".test.yaml";
    if (name.size() <= kSuffix.size() || !name.ends_with(kSuffix)) continue;
    if (written.count(fs::weakly_canonical(entry.path(), ec).string()) == 0) {
      fs::remove(entry.path(), ec);
      std::cerr << "removed stale " << entry.path().string() << "\n";
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  CommandLine cli;
  if (auto error = ParseCommandLine(std::vector<std::string>(argv + 1, argv + argc), cli)) {
    return Usage(*error);
  }
  if (cli.command == "help") {
    std::cout << kUsage;
    return 0;
  }
  auto& flags = cli.flags;
  const std::string& command = cli.command;
  if (command == "metrics-reference") {
    return WriteFile(flags["--out"], MetricsReferenceMarkdown()) ? 0 : 1;
  }

  Diagnostics diag;
  const Catalog catalog = LoadCatalog(flags["--catalog"], diag, flags["--values"]);
  const Runbooks runbooks = LoadRunbooks(flags["--runbooks"], diag);
  // Checks across the catalog need all of it: after a shape error they would
  // only add follow-on errors.
  if (catalog.complete) Validate(catalog, runbooks, triage::ExposedSeriesNames(), diag);
  const std::string base = cli.runbook_base_url.value_or(catalog.runbook_base_url);
  if (!diag.ok()) {
    for (const auto& e : diag.errors()) std::cerr << e << "\n";
    std::cerr << diag.errors().size() << " error" << (diag.errors().size() == 1 ? "" : "s")
              << "\n";
    return 1;
  }

  if (command == "check") {
    std::cout << flags["--catalog"] << ": ok (" << catalog.alerts.size() << " alerts, "
              << catalog.recording_rules.size() << " recording rules)\n";
    return 0;
  }
  if (command == "scale") {
    return WriteFile(flags["--out"], RuleFileYaml(BuildRuleGroups(catalog, base), cli.factor)) ? 0 : 1;
  }
  const auto files = GenerateFiles(catalog, base, flags["--out"], flags["--tests"]);
  std::set<std::string> written;
  for (const auto& f : files) {
    if (!WriteFile(f.path, f.content)) return 1;
    std::error_code ec;
    written.insert(std::filesystem::weakly_canonical(f.path, ec).string());
  }
  RemoveStaleTests(flags["--tests"], written);
  return 0;
}

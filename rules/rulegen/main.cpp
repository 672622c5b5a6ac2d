// triage_rulegen: validates rules/catalog.yaml against the metric contract and
// the runbooks, and writes the rule pack. See rules/README.md.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <system_error>

#include "exporter/metric_contract.h"
#include "rules/rulegen/catalog.h"
#include "rules/rulegen/rules.h"
#include "rules/rulegen/runbooks.h"
#include "rules/rulegen/validate.h"
#include "rules/rulegen/writers.h"

namespace {

using namespace triage::rulegen;

constexpr const char* kUsage =
    "usage:\n"
    "  triage_rulegen check    --catalog FILE --runbooks DIR\n"
    "  triage_rulegen generate --catalog FILE --runbooks DIR --out DIR --tests DIR\n"
    "                          [--runbook-base-url URL]\n"
    "  triage_rulegen scale    --catalog FILE --runbooks DIR --factor N --out FILE\n"
    "\n"
    "check     run every validation of the catalog and the runbooks; write nothing\n"
    "generate  validate, then write the rule files, the PrometheusRule, the Alertmanager\n"
    "          snippets and index.json under --out and the promtool tests under --tests\n"
    "          (stale *.test.yaml files there are removed)\n"
    "scale     validate, then write one rule file with every for, range, subquery and\n"
    "          offset divided by --factor (an integer of at least 1)\n"
    "\n"
    "Errors go to stderr as FILE:LINE[:COLUMN]: message. Exit status: 0 valid,\n"
    "1 invalid catalog or runbooks or a file that cannot be written, 2 bad usage.\n";

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
    const std::string suffix = ".test.yaml";
    if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
      continue;
    }
    if (written.count(fs::weakly_canonical(entry.path(), ec).string()) == 0) {
      fs::remove(entry.path(), ec);
      std::cerr << "removed stale " << entry.path().string() << "\n";
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage("missing command");
  const std::string command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << kUsage;
    return 0;
  }
  if (command != "check" && command != "generate" && command != "scale") {
    return Usage("unknown command \"" + command + "\"");
  }
  const std::set<std::string> allowed =
      command == "check"      ? std::set<std::string>{"--catalog", "--runbooks"}
      : command == "generate" ? std::set<std::string>{"--catalog", "--runbooks", "--out", "--tests",
                                                      "--runbook-base-url"}
                              : std::set<std::string>{"--catalog", "--runbooks", "--factor", "--out"};
  std::map<std::string, std::string> flags;
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    const size_t eq = arg.find('=');
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return Usage("flag " + arg + " needs a value");
    }
    if (allowed.count(arg) == 0) return Usage("unknown flag " + arg + " for " + command);
    flags[arg] = value;
  }
  for (const auto& f : allowed) {
    if (f != "--runbook-base-url" && flags.count(f) == 0) return Usage("missing " + f);
  }
  int64_t factor = 1;
  if (command == "scale") {
    const std::string& text = flags["--factor"];
    char* end = nullptr;
    const long long v = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || v < 1) {
      return Usage("--factor must be an integer of at least 1, got \"" + text + "\"");
    }
    factor = v;
  }

  Diagnostics diag;
  const Catalog catalog = LoadCatalog(flags["--catalog"], diag);
  const Runbooks runbooks = LoadRunbooks(flags["--runbooks"], diag);
  // Checks across the catalog need all of it: after a shape error they would
  // only add follow-on errors.
  if (catalog.complete) Validate(catalog, runbooks, triage::ExposedSeriesNames(), diag);
  std::string base = catalog.runbook_base_url;
  if (auto it = flags.find("--runbook-base-url"); it != flags.end()) {
    base = it->second;
    if (base.empty() || base.back() != '/') {
      return Usage("--runbook-base-url must end with '/', got \"" + base + "\"");
    }
  }
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
    return WriteFile(flags["--out"], RuleFileYaml(BuildRuleGroups(catalog, base), factor)) ? 0 : 1;
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

#include "rules/rulegen/cli.h"

#include <cstdlib>
#include <set>

namespace triage::rulegen {

const char* const kUsage =
    "usage:\n"
    "  triage_rulegen check    --catalog DIR  --runbooks DIR\n"
    "  triage_rulegen generate --catalog DIR  --runbooks DIR --out DIR --tests DIR\n"
    "                          [--runbook-base-url URL]\n"
    "  triage_rulegen scale    --catalog DIR  --runbooks DIR --factor N --out FILE\n"
    "                          [--runbook-base-url URL]\n"
    "  triage_rulegen metrics-reference --out FILE\n"
    "\n"
    "check     run every validation of the catalog and the runbooks; write nothing\n"
    "generate  validate, then write the rule files, the PrometheusRule, the Alertmanager\n"
    "          snippets and index.json under --out and the promtool tests under --tests\n"
    "          (stale *.test.yaml files there are removed)\n"
    "scale     validate, then write one rule file with every for, range, subquery and\n"
    "          offset divided by --factor (an integer of at least 1)\n"
    "metrics-reference  write the metric reference (docs/metrics.md) from the metric\n"
    "          contract the binary was built with\n"
    "\n"
    "--values FILE (check, generate, scale) is a YAML map of value name to value that\n"
    "overrides the defaults of the pack's values (pack.yaml), e.g. certExpiryDays: 21.\n"
    "\n"
    "--runbook-base-url replaces the catalog's runbook_base_url in every runbook_url\n"
    "(it must end with '/'), for example the exporter an end-to-end test runs.\n"
    "\n"
    "Errors go to stderr as FILE:LINE[:COLUMN]: message. Exit status: 0 valid,\n"
    "1 invalid catalog or runbooks or a file that cannot be written, 2 bad usage.\n";

std::optional<std::string> ParseCommandLine(const std::vector<std::string>& args, CommandLine& out) {
  out = CommandLine{};
  if (args.empty()) return "missing command";
  out.command = args[0];
  if (out.command == "--help" || out.command == "-h" || out.command == "help") {
    out.command = "help";
    return std::nullopt;
  }
  std::set<std::string> required;
  std::set<std::string> optional;
  if (out.command == "check") {
    required = {"--catalog", "--runbooks"};
    optional = {"--values"};
  } else if (out.command == "generate") {
    required = {"--catalog", "--runbooks", "--out", "--tests"};
    optional = {"--runbook-base-url", "--values"};
  } else if (out.command == "scale") {
    required = {"--catalog", "--runbooks", "--factor", "--out"};
    optional = {"--runbook-base-url", "--values"};
  } else if (out.command == "metrics-reference") {
    required = {"--out"};
  } else {
    return "unknown command \"" + out.command + "\"";
  }

  for (size_t i = 1; i < args.size(); ++i) {
    std::string arg = args[i];
    std::string value;
    const size_t eq = arg.find('=');
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return "flag " + arg + " needs a value";
    }
    if (required.count(arg) == 0 && optional.count(arg) == 0) {
      return "unknown flag " + arg + " for " + out.command;
    }
    out.flags[arg] = value;
  }
  for (const auto& f : required) {
    if (out.flags.count(f) == 0) return "missing " + f;
  }
  if (out.command == "scale") {
    const std::string& text = out.flags["--factor"];
    char* end = nullptr;
    const long long v = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || v < 1) {
      return "--factor must be an integer of at least 1, got \"" + text + "\"";
    }
    out.factor = v;
  }
  if (auto it = out.flags.find("--runbook-base-url"); it != out.flags.end()) {
    const std::string& base = it->second;
    if (base.empty() || base.back() != '/') {
      return "--runbook-base-url must end with '/', got \"" + base + "\"";
    }
    out.runbook_base_url = base;
  }
  return std::nullopt;
}

}  // namespace triage::rulegen

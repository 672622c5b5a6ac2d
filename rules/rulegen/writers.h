// The files `triage_rulegen generate` and `scale` write. Every function
// returns the whole file content; the same catalog always gives the same
// bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rules/rulegen/catalog.h"
#include "rules/rulegen/rules.h"

namespace triage::rulegen {

// A Prometheus rule file. With factor > 1, every `for` and every duration
// inside the expressions is divided by it (see ScaleExprDurations).
std::string RuleFileYaml(const std::vector<RuleGroup>& groups, int64_t factor = 1);

// The same groups in a monitoring.coreos.com/v1 PrometheusRule.
std::string PrometheusRuleYaml(const std::vector<RuleGroup>& groups);

// Alertmanager inhibit_rules: a critical alert of a layer inhibits the
// alerts of every higher layer of the same service in the same cluster
// (`cluster_label`; empty: service only).
std::string InhibitYaml(std::string_view cluster_label);

// An Alertmanager route tree and receivers by severity. Appended to
// InhibitYaml() it makes a complete Alertmanager configuration.
std::string RoutesYaml(std::string_view cluster_label);

// alerts/index.json: per alert its name, layer, severities, runbook file and
// anchor, the metrics its expression reads ("metrics") and the exporter
// families behind them once recording rules are expanded ("reads"), which the
// exporter's runbook pages show live.
std::string IndexJson(const Catalog& catalog);

// promtool tests of the alerts whose runbook is in `runbook_file`, in catalog
// order. `rule_file` is the rule file's path relative to the test file.
// `group_order` (every group of the rule file, in file order) becomes
// group_eval_order: promtool would otherwise evaluate the groups in random
// order, and an alert could read a recording rule before it is written.
std::string TestFileYaml(const Catalog& catalog, std::string_view runbook_file,
                         std::string_view runbook_base_url, std::string_view rule_file,
                         const std::vector<std::string>& group_order);

struct OutputFile {
  std::string path;
  std::string content;
};

// Every file of `generate`: the rule files, Alertmanager snippets and index
// under `out_dir`, one "<runbook file stem>.test.yaml" per runbook file under
// `tests_dir`.
std::vector<OutputFile> GenerateFiles(const Catalog& catalog, std::string_view runbook_base_url,
                                      const std::string& out_dir, const std::string& tests_dir);

}  // namespace triage::rulegen

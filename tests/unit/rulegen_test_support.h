// A small, valid rule pack (catalog and runbooks) for the rulegen tests, and
// helpers to break one thing at a time and collect the errors.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "exposition/metric_contract.h"
#include "rules/rulegen/catalog.h"
#include "rules/rulegen/runbooks.h"
#include "rules/rulegen/validate.h"
#include "test_util.h"

namespace triage::rulegen::testing {

// Line numbers matter: the tests name them in expected errors.
inline const std::string kCatalog = R"(runbook_base_url: http://localhost:9479/runbooks/
external_metrics: [up]

recording_rules:
  - record: triage:http_5xx:ratio_rate{window}
    windows: [5m, 30m, 1h, 2h, 6h, 1d, 3d]
    expr: |
      sum without (code) (rate(triage_http_responses_total{code=~"5.."}[{window}]))
      / sum without (code) (rate(triage_http_responses_total[{window}]))

alerts:
  - name: TriageTargetDown
    layer: liveness
    severity: critical
    for: 1m
    expr: |
      triage_probe_success == 0
        and on (service, probe) triage_probe_info{layer="liveness"}
    summary: A liveness probe is failing.
    description: >-
      Probe {{ $labels.probe }} of service {{ $labels.service }} has failed for a minute.
    runbook: liveness.md#triagetargetdown
    dashboard: triage-service/liveness
    tests:
      - name: fires once the health endpoint has failed for a minute
        interval: 1m
        series:
          - series: 'triage_probe_success{service="echo",probe="health"}'
            values: '1 1 0x10'
          - series: 'triage_probe_info{service="echo",probe="health",kind="http",layer="liveness"}'
            values: '1x12'
        expect:
          - at: 2m
            alerts: []
          - at: 4m
            alerts:
              - labels: {service: echo, probe: health}
                description: Probe health of service echo has failed for a minute.
  - name: TriageHttp5xxErrorBudgetBurn
    layer: traffic
    burn_rate:
      ratio: 'triage:http_5xx:ratio_rate'
      objective: 0.99
    summary: The 5xx ratio burns the error budget too fast.
    description: The 5xx ratio of {{ $labels.service }} is {{ $value | humanizePercentage }}.
    runbook: traffic.md#triagehttp5xxerrorbudgetburn
    tests:
      - name: pages when every answer is a 500
        series:
          - series: 'triage_http_responses_total{service="echo",probe="api",code="500"}'
            values: '0+10x20'
        expect:
          - at: 1m
            alerts: []
          - at: 10m
            alerts:
              - labels: {service: echo, probe: api, severity: critical, long: 1h, short: 5m}
                description: The 5xx ratio of echo is 100%.
)";

inline const std::string kReadme = R"(# Runbooks

| alert | runbook |
|---|---|
| TriageTargetDown | [liveness](liveness.md#triagetargetdown) |
| TriageHttp5xxErrorBudgetBurn | [traffic](traffic.md#triagehttp5xxerrorbudgetburn) |
)";

inline const std::string kLiveness = R"(# Liveness

## How to read this page

> Informational: how the sections are laid out.

## TriageTargetDown

### Meaning
### Impact
### Diagnosis
#### `triage_probe_success`
### Mitigation
### Escalation
)";

inline const std::string kTraffic = R"(# Traffic

## TriageHttp5xxErrorBudgetBurn

### Meaning
### Impact
### Diagnosis
### Mitigation
### Escalation
)";

// Replaces the one occurrence of `from`; fails the test when it is missing.
inline std::string Replace(std::string s, const std::string& from, const std::string& to) {
  const size_t pos = s.find(from);
  if (pos == std::string::npos) {
    ADD_FAILURE() << "fixture text not found: " << from;
    return s;
  }
  s.replace(pos, from.size(), to);
  return s;
}

// A runbooks directory in a temporary directory.
class RunbookDir {
 public:
  // Files named with an empty content are left out.
  explicit RunbookDir(std::map<std::string, std::string> files = {}) {
    std::map<std::string, std::string> all = {
        {"README.md", kReadme}, {"liveness.md", kLiveness}, {"traffic.md", kTraffic}};
    for (auto& [k, v] : files) all[k] = v;
    std::filesystem::create_directories(path());
    for (const auto& [name, text] : all) {
      if (!text.empty()) tmp_.Write("runbooks/" + name, text);
    }
  }
  std::string path() const { return tmp_.path() + "/runbooks"; }
  std::string root() const { return tmp_.path(); }

 private:
  triage::testing::TempDir tmp_;
};

// Every error of loading `catalog` (named "catalog.yaml") and checking it
// against the runbooks.
inline std::vector<std::string> CheckErrors(const std::string& catalog,
                                            std::map<std::string, std::string> runbooks = {}) {
  Diagnostics diag;
  const Catalog c = ParseCatalog(catalog, "catalog.yaml", diag);
  RunbookDir dir(std::move(runbooks));
  const Runbooks rb = LoadRunbooks(dir.path(), diag);
  if (c.complete) Validate(c, rb, ExposedSeriesNames(), diag);
  return diag.errors();
}

// The single error expected; fails the test on none or several.
inline std::string OnlyError(const std::string& catalog,
                             std::map<std::string, std::string> runbooks = {}) {
  const auto errors = CheckErrors(catalog, std::move(runbooks));
  if (errors.size() != 1) {
    std::string all;
    for (const auto& e : errors) all += "\n  " + e;
    ADD_FAILURE() << "expected exactly one error, got " << errors.size() << ":" << all;
    return errors.empty() ? "" : errors.front();
  }
  return errors.front();
}

}  // namespace triage::rulegen::testing

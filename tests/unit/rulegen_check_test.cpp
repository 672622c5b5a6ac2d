// `triage_rulegen check`: the fixture pack passes, and each rejection of
// rules/README.md is reported with its file, line and words.
#include <gtest/gtest.h>

#include "rulegen_test_support.h"

namespace triage::rulegen {
namespace {

using testing::CheckErrors;
using testing::kCatalog;
using testing::kLiveness;
using testing::kReadme;
using testing::kTraffic;
using testing::OnlyError;
using testing::Replace;

// True when one of `errors` starts with `prefix` and contains `words`.
::testing::AssertionResult HasError(const std::vector<std::string>& errors,
                                    const std::string& prefix, const std::string& words = "") {
  for (const auto& e : errors) {
    if (e.find(prefix) != std::string::npos && e.find(words) != std::string::npos) {
      return ::testing::AssertionSuccess();
    }
  }
  auto failure = ::testing::AssertionFailure() << "no error with \"" << prefix << "\" and \""
                                               << words << "\" among:";
  for (const auto& e : errors) failure << "\n  " << e;
  return failure;
}

std::string Starts(const std::string& s, const std::string& prefix) {
  return s.substr(0, std::min(s.size(), prefix.size()));
}

TEST(RulegenCheck, FixturePackPasses) {
  const auto errors = CheckErrors(kCatalog);
  EXPECT_TRUE(errors.empty()) << errors.front();
}

// --- shape of the catalog ---------------------------------------------------

TEST(RulegenCheck, YamlSyntaxError) {
  const std::string e = OnlyError(Replace(kCatalog, "    layer: liveness", "    layer: [liveness"));
  EXPECT_EQ(Starts(e, "catalog.yaml:14:"), "catalog.yaml:14:") << e;
  EXPECT_NE(e.find("invalid YAML"), std::string::npos) << e;
}

TEST(RulegenCheck, EmptyCatalog) {
  EXPECT_EQ(OnlyError(""),
            "catalog.yaml: the catalog is empty; expected a map with values, runbook_base_url, "
            "external_metrics, recording_rules and alerts");
}

TEST(RulegenCheck, UnknownTopLevelKey) {
  const std::string e = OnlyError("alerts_: []\n" + kCatalog);
  EXPECT_EQ(Starts(e, "catalog.yaml:1:1: unknown key \"alerts_\" in the catalog (did you mean \"alerts\"?)"),
            "catalog.yaml:1:1: unknown key \"alerts_\" in the catalog (did you mean \"alerts\"?)");
}

TEST(RulegenCheck, UnknownAlertKey) {
  const std::string e =
      OnlyError(Replace(kCatalog, "    severity: critical\n", "    severity: critical\n    sevrity: x\n"));
  EXPECT_EQ(Starts(e, "catalog.yaml:15:5: unknown key \"sevrity\" in alert \"TriageTargetDown\" "
                      "(did you mean \"severity\"?); allowed: "),
            "catalog.yaml:15:5: unknown key \"sevrity\" in alert \"TriageTargetDown\" "
            "(did you mean \"severity\"?); allowed: ");
}

TEST(RulegenCheck, UnknownKeyDeepInATest) {
  const std::string e = OnlyError(Replace(kCatalog, "            values: '1x12'\n",
                                          "            values: '1x12'\n            valuse: x\n"));
  EXPECT_EQ(Starts(e, "catalog.yaml:32:13: unknown key \"valuse\" in series 2 of test"),
            "catalog.yaml:32:13: unknown key \"valuse\" in series 2 of test")
      << e;
}

TEST(RulegenCheck, MissingField) {
  EXPECT_EQ(OnlyError(Replace(kCatalog, "    summary: A liveness probe is failing.\n", "")),
            "catalog.yaml:12:5: missing required key \"summary\" in alert \"TriageTargetDown\"; "
            "expected a string");
  const std::string e = OnlyError(Replace(kCatalog, "          - at: 2m\n            alerts: []\n",
                                          "          - at: 2m\n"));
  EXPECT_EQ(Starts(e, "catalog.yaml:33:13: missing required key \"alerts\" in expectation 1 of test"),
            "catalog.yaml:33:13: missing required key \"alerts\" in expectation 1 of test")
      << e;
}

TEST(RulegenCheck, UnknownLayerAndSeverity) {
  EXPECT_EQ(OnlyError(Replace(kCatalog, "layer: liveness", "layer: live")),
            "catalog.yaml:13:12: invalid value for \"layer\" in alert \"TriageTargetDown\"; "
            "expected liveness, readiness, dependency, traffic, telemetry or exporter, got \"live\"");
  EXPECT_EQ(OnlyError(Replace(kCatalog, "severity: critical", "severity: page")),
            "catalog.yaml:14:15: invalid value for \"severity\" in alert \"TriageTargetDown\"; "
            "expected critical, warning or info, got \"page\"");
}

TEST(RulegenCheck, BadDurations) {
  EXPECT_EQ(OnlyError(Replace(kCatalog, "for: 1m", "for: 1 minute")),
            "catalog.yaml:15:10: invalid value for \"for\" in alert \"TriageTargetDown\"; expected "
            "a duration like 15s or 500ms, got \"1 minute\"");
  EXPECT_EQ(OnlyError(Replace(kCatalog, "6h, 1d, 3d]", "6h, 1day, 3d]")),
            "catalog.yaml:6:36: window \"1day\" of recording rule 1 is not a Prometheus duration; "
            "expected a duration like 5m, 1h or 3d");
  const std::string e = OnlyError(Replace(kCatalog, "at: 4m", "at: 4"));
  EXPECT_EQ(Starts(e, "catalog.yaml:35:17: invalid value for \"at\""),
            "catalog.yaml:35:17: invalid value for \"at\"") << e;
}

TEST(RulegenCheck, WindowPlaceholderRules) {
  EXPECT_EQ(OnlyError(Replace(kCatalog, "ratio_rate{window}\n", "ratio_rate\n")),
            "catalog.yaml:5:13: record \"triage:http_5xx:ratio_rate\" has windows but no {window} "
            "placeholder; expected a name like triage:http_5xx:ratio_rate{window}");
  EXPECT_EQ(OnlyError(Replace(kCatalog, "    windows: [5m, 30m, 1h, 2h, 6h, 1d, 3d]\n", "")),
            "catalog.yaml:5:13: recording rule 1 uses {window} but has no windows; expected "
            "windows: [5m, 1h, ...]");
}

// --- single fields ------------------------------------------------------------

TEST(RulegenCheck, AlertNameMustBeTriageCamelCase) {
  for (const char* bad : {"TargetDown", "Triagetargetdown", "Triage_Target_Down", "Triage"}) {
    const auto errors = CheckErrors(Replace(kCatalog, "name: TriageTargetDown", std::string("name: ") + bad));
    EXPECT_TRUE(HasError(errors, "catalog.yaml:12:11: alert name \"" + std::string(bad) +
                                     "\" is not Triage followed by a CamelCase name"));
  }
}

TEST(RulegenCheck, AlertNameMustBeUnique) {
  const auto errors =
      CheckErrors(Replace(kCatalog, "name: TriageHttp5xxErrorBudgetBurn", "name: TriageTargetDown"));
  EXPECT_TRUE(HasError(errors, "catalog.yaml:39:11: alert name \"TriageTargetDown\" is already used "
                               "at line 12; expected unique alert names"));
}

TEST(RulegenCheck, SummaryIsAStaticSentence) {
  EXPECT_EQ(OnlyError(Replace(kCatalog, "summary: A liveness probe is failing.",
                              "summary: Probe {{ $labels.probe }} is failing.")),
            "catalog.yaml:19:14: summary of alert \"TriageTargetDown\" holds a template ({{); "
            "expected a static sentence (put label values in the description)");
  EXPECT_EQ(OnlyError(Replace(kCatalog, "summary: A liveness", "summary: a liveness")),
            "catalog.yaml:19:14: summary of alert \"TriageTargetDown\" does not start with a "
            "capital letter");
  EXPECT_EQ(OnlyError(Replace(kCatalog, "probe is failing.", "probe is failing")),
            "catalog.yaml:19:14: summary of alert \"TriageTargetDown\" does not end with a period");
}

TEST(RulegenCheck, BaseUrlEndsWithSlash) {
  EXPECT_EQ(OnlyError(Replace(kCatalog, "9479/runbooks/", "9479/runbooks")),
            "catalog.yaml:1:19: runbook_base_url \"http://localhost:9479/runbooks\" must end with "
            "'/'; runbook_url is this base followed by the runbook file");
}

// --- expressions and the metric contract ----------------------------------------

TEST(RulegenCheck, ExprMetricOutsideTheContractInALiteralBlock) {
  EXPECT_EQ(OnlyError(Replace(kCatalog, "and on (service, probe) triage_probe_info",
                              "and on (service, probe) triage_probe_infos")),
            "catalog.yaml:18:33: expr of alert \"TriageTargetDown\" reads \"triage_probe_infos\", "
            "which is neither in the exporter's metric contract (exposition/metric_families.cpp, self "
            "metrics) nor a recording rule nor in external_metrics (did you mean triage_probe_info?)");
}

TEST(RulegenCheck, ExprMetricOutsideTheContractOnOneLine) {
  const std::string catalog = Replace(kCatalog, "    expr: |\n      triage_probe_success == 0\n"
                                                "        and on (service, probe) triage_probe_info{layer=\"liveness\"}\n",
                                      "    expr: triage_probe_success == 0 and nothing_here\n");
  const std::string e = OnlyError(catalog);
  EXPECT_EQ(Starts(e, "catalog.yaml:16:41: expr of alert \"TriageTargetDown\" reads \"nothing_here\""),
            "catalog.yaml:16:41: expr of alert \"TriageTargetDown\" reads \"nothing_here\"") << e;
}

TEST(RulegenCheck, WindowedRecordingRuleErrorShowsOnceAtTheTemplate) {
  const std::string e = OnlyError(Replace(kCatalog, "(rate(triage_http_responses_total[{window}]))",
                                          "(rate(triage_http_response_total[{window}]))"));
  EXPECT_EQ(Starts(e, "catalog.yaml:9:34: expr of recording rule \"triage:http_5xx:ratio_rate{window}\" "
                      "reads \"triage_http_response_total\""),
            "catalog.yaml:9:34: expr of recording rule \"triage:http_5xx:ratio_rate{window}\" "
            "reads \"triage_http_response_total\"") << e;
}

TEST(RulegenCheck, ExternalMetricsHistogramSeriesAndRecordingRulesAreKnown) {
  const std::string catalog = Replace(
      kCatalog, "      triage_probe_success == 0\n",
      "      triage_probe_success == 0 and up == 1\n"
      "        and rate(triage_probe_duration_seconds_count[5m]) > 0\n"
      "        and triage:http_5xx:ratio_rate1h >= 0 and triage_exporter_build_info == 1\n");
  EXPECT_TRUE(CheckErrors(catalog).empty());
}

TEST(RulegenCheck, HistogramBaseNameIsNotASeries) {
  const std::string e = OnlyError(Replace(kCatalog, "      triage_probe_success == 0\n",
                                          "      triage_probe_duration_seconds > 1\n"));
  EXPECT_NE(e.find("(a histogram: select triage_probe_duration_seconds_bucket, "
                   "triage_probe_duration_seconds_sum or triage_probe_duration_seconds_count)"),
            std::string::npos)
      << e;
}

TEST(RulegenCheck, ExprThatIsNotPromql) {
  EXPECT_EQ(OnlyError(Replace(kCatalog, "{layer=\"liveness\"}", "{layer=\"liveness}")),
            "catalog.yaml:18:57: expr of alert \"TriageTargetDown\" is not valid PromQL: "
            "unterminated string");
}

TEST(RulegenCheck, DuplicateRecordingRule) {
  const std::string catalog =
      Replace(kCatalog, "\nalerts:\n",
              "  - record: triage:http_5xx:ratio_rate5m\n    expr: vector(0)\n\nalerts:\n");
  EXPECT_EQ(OnlyError(catalog),
            "catalog.yaml:10:13: recording rule \"triage:http_5xx:ratio_rate5m\" is already "
            "defined at line 5");
}

// --- burn-rate alerts ----------------------------------------------------------------

TEST(RulegenCheck, BurnRateNeedsEveryWindow) {
  EXPECT_EQ(OnlyError(Replace(kCatalog, "6h, 1d, 3d]", "6h, 1d]")),
            "catalog.yaml:42:14: burn_rate ratio \"triage:http_5xx:ratio_rate\" of alert "
            "\"TriageHttp5xxErrorBudgetBurn\" lacks the recording rules "
            "triage:http_5xx:ratio_rate3d; expected a recording rule per window 5m, 30m, 1h, 2h, "
            "6h, 1d, 3d");
}

TEST(RulegenCheck, BurnRateReplacesSeverityForAndExpr) {
  EXPECT_EQ(OnlyError(Replace(kCatalog, "    layer: traffic\n", "    layer: traffic\n    for: 5m\n")),
            "catalog.yaml:41:10: invalid value for \"for\" in alert "
            "\"TriageHttp5xxErrorBudgetBurn\"; a burn_rate alert takes its severity, for and "
            "expression from the burn-rate table; remove for");
}

TEST(RulegenCheck, BurnRateObjective) {
  EXPECT_EQ(OnlyError(Replace(kCatalog, "objective: 0.99", "objective: 99")),
            "catalog.yaml:43:18: invalid value for \"objective\" in \"burn_rate\" of alert "
            "\"TriageHttp5xxErrorBudgetBurn\"; expected a decimal between 0 and 1 like 0.99 or "
            "0.999, got \"99\"");
}

TEST(RulegenCheck, BurnRateExpectedAlertsNameTheirRule) {
  EXPECT_EQ(OnlyError(Replace(kCatalog, "severity: critical, long: 1h, short: 5m",
                              "severity: critical, long: 1h")),
            "catalog.yaml:57:17: expected alert of test \"pages when every answer is a 500\" of "
            "burn-rate alert \"TriageHttp5xxErrorBudgetBurn\" lacks the short label; expected "
            "severity, long and short of one burn-rate rule");
  EXPECT_EQ(OnlyError(Replace(kCatalog, "severity: critical, long: 1h, short: 5m",
                              "severity: warning, long: 1h, short: 5m")),
            "catalog.yaml:57:17: expected alert of test \"pages when every answer is a 500\" names "
            "long=1h short=5m with severity \"warning\"; that rule's severity is critical");
  EXPECT_EQ(OnlyError(Replace(kCatalog, "long: 1h, short: 5m", "long: 1h, short: 30m")),
            "catalog.yaml:57:17: expected alert of test \"pages when every answer is a 500\" names "
            "long=\"1h\" short=\"30m\", which is no burn-rate rule; expected 1h/5m, 6h/30m, 1d/2h "
            "or 3d/6h");
}

TEST(RulegenCheck, GeneratedLabelsGivenAnywayMustAgree) {
  EXPECT_TRUE(CheckErrors(Replace(kCatalog, "{service: echo, probe: health}",
                                  "{service: echo, probe: health, severity: critical}"))
                  .empty());
  EXPECT_EQ(OnlyError(Replace(kCatalog, "{service: echo, probe: health}",
                              "{service: echo, probe: health, layer: traffic}")),
            "catalog.yaml:37:17: expected alert of test \"fires once the health endpoint has failed "
            "for a minute\" has layer=\"traffic\", but the generated rule sets \"liveness\"");
}

// --- tests of alerts ------------------------------------------------------------------

TEST(RulegenCheck, AlertWithoutAFiringExpectation) {
  EXPECT_EQ(OnlyError(Replace(kCatalog,
                              "            alerts:\n              - labels: {service: echo, probe: health}\n"
                              "                description: Probe health of service echo has failed for a minute.\n",
                              "            alerts: []\n")),
            "catalog.yaml:12:11: alert \"TriageTargetDown\" has no test expectation in which it "
            "fires; expected an expect entry with alerts");
}

TEST(RulegenCheck, AlertWithoutASilentExpectation) {
  EXPECT_EQ(OnlyError(Replace(kCatalog, "          - at: 2m\n            alerts: []\n", "")),
            "catalog.yaml:12:11: alert \"TriageTargetDown\" has no test expectation of silence; "
            "expected an expect entry with alerts: []");
}

TEST(RulegenCheck, ForNeedsSilenceBeforeTheBoundary) {
  const std::string silent_after = Replace(kCatalog, "at: 2m", "at: 5m");
  EXPECT_EQ(OnlyError(silent_after),
            "catalog.yaml:12:11: alert \"TriageTargetDown\" has a non-zero for but no test in "
            "which it is silent before it fires; expected a test with alerts: [] at a time before "
            "the for boundary and a firing expectation after it");
  // Without a `for` the order does not matter.
  EXPECT_TRUE(CheckErrors(Replace(silent_after, "    for: 1m\n", "")).empty());
}

TEST(RulegenCheck, SilenceAndFiringMustShareATest) {
  const std::string split = Replace(
      kCatalog, "          - at: 4m\n",
      "      - name: second\n        series:\n"
      "          - series: 'triage_probe_success{service=\"echo\",probe=\"health\"}'\n"
      "            values: '0x10'\n        expect:\n          - at: 4m\n");
  EXPECT_TRUE(HasError(CheckErrors(split), "catalog.yaml:12:11: alert \"TriageTargetDown\" has a "
                                           "non-zero for but no test in which it is silent"));
}

TEST(RulegenCheck, SeriesMustLastUntilTheLastAt) {
  EXPECT_EQ(OnlyError(Replace(kCatalog, "values: '1x12'", "values: '1x2'")),
            "catalog.yaml:31:21: series \"triage_probe_info{service=\\\"echo\\\",probe=\\\"health\\\""
            ",kind=\\\"http\\\",layer=\\\"liveness\\\"}\" of test \"fires once the health endpoint "
            "has failed for a minute\" ends at 2m (3 samples every 1m), before the test's last at "
            "4m; expected values up to at least 4m");
  // Missing samples count: the series still spans the time.
  EXPECT_TRUE(CheckErrors(Replace(kCatalog, "values: '1x12'", "values: '1 _x4'")).empty());
  // A longer interval stretches the same samples.
  EXPECT_TRUE(CheckErrors(Replace(Replace(kCatalog, "values: '1x12'", "values: '1x2'"),
                                  "interval: 1m", "interval: 2m"))
                  .empty());
}

TEST(RulegenCheck, SeriesValuesMustBeReadable) {
  const std::string e = OnlyError(Replace(kCatalog, "values: '1x12'", "values: '1 x 12'"));
  EXPECT_EQ(Starts(e, "catalog.yaml:31:21: values of series"), "catalog.yaml:31:21: values of series");
  EXPECT_NE(e.find("cannot read \"x\""), std::string::npos) << e;
}

TEST(RulegenCheck, TestNamesAreUniquePerAlert) {
  const std::string twice = Replace(
      kCatalog, "    tests:\n      - name: pages when",
      "    tests:\n      - name: pages when every answer is a 500\n        series:\n"
      "          - series: 'x'\n            values: '0x10'\n        expect:\n"
      "          - at: 1m\n            alerts: []\n      - name: pages when");
  EXPECT_TRUE(HasError(CheckErrors(twice), "catalog.yaml:55:9: alert \"TriageHttp5xxErrorBudgetBurn\" "
                                           "has two tests named \"pages when every answer is a 500\""));
}

// --- runbooks ----------------------------------------------------------------------------

TEST(RulegenCheck, RunbookFileMustExist) {
  const std::string e = OnlyError(Replace(kCatalog, "runbook: liveness.md#", "runbook: live.md#"));
  EXPECT_EQ(Starts(e, "catalog.yaml:22:14: runbook \"live.md#triagetargetdown\" of alert "
                      "\"TriageTargetDown\": "),
            "catalog.yaml:22:14: runbook \"live.md#triagetargetdown\" of alert \"TriageTargetDown\": ");
  EXPECT_NE(e.find("/runbooks/live.md does not exist"), std::string::npos) << e;
}

TEST(RulegenCheck, RunbookReferenceFormat) {
  const std::string e = OnlyError(Replace(kCatalog, "runbook: liveness.md#triagetargetdown",
                                          "runbook: liveness.md"));
  EXPECT_EQ(Starts(e, "catalog.yaml:22:14: runbook \"liveness.md\" of alert \"TriageTargetDown\" is "
                      "not FILE.md#ANCHOR"),
            "catalog.yaml:22:14: runbook \"liveness.md\" of alert \"TriageTargetDown\" is not "
            "FILE.md#ANCHOR");
}

TEST(RulegenCheck, RunbookAnchorMustExist) {
  const std::string e = OnlyError(Replace(kCatalog, "#triagetargetdown", "#triage-target-down"));
  EXPECT_EQ(Starts(e, "catalog.yaml:22:14: runbook \"liveness.md#triage-target-down\" of alert "
                      "\"TriageTargetDown\": no heading of "),
            "catalog.yaml:22:14: runbook \"liveness.md#triage-target-down\" of alert "
            "\"TriageTargetDown\": no heading of ");
  EXPECT_NE(e.find("liveness.md has the anchor \"triage-target-down\"; its section there has the "
                   "anchor triagetargetdown"),
            std::string::npos)
      << e;
}

TEST(RulegenCheck, RunbookAnchorMustBeTheAlertsOwnSection) {
  const std::string e =
      OnlyError(Replace(kCatalog, "#triagetargetdown", "#how-to-read-this-page"));
  EXPECT_NE(e.find("points at the heading \"How to read this page\""), std::string::npos) << e;
  EXPECT_NE(e.find("liveness.md:3); expected the alert's own \"## TriageTargetDown\" section"),
            std::string::npos)
      << e;
}

TEST(RulegenCheck, RepeatedHeadingsShiftAnchors) {
  // A second "TriageTargetDown" heading (level 3, say in another section)
  // gets "-1"; the alert's own section keeps the plain anchor.
  const std::string runbook = kLiveness + "\n## Notes\n\n> Informational.\n\n### TriageTargetDown\n";
  EXPECT_TRUE(CheckErrors(kCatalog, {{"liveness.md", runbook}}).empty());
  const std::string e = OnlyError(Replace(kCatalog, "#triagetargetdown", "#triagetargetdown-1"),
                                  {{"liveness.md", runbook}});
  EXPECT_NE(e.find("points at the heading \"TriageTargetDown\""), std::string::npos) << e;
}

TEST(RulegenCheck, SectionThatIsNeitherAlertNorInformational) {
  const std::string e =
      OnlyError(kCatalog, {{"liveness.md", kLiveness + "\n## Random notes\n\nSome text.\n"}});
  EXPECT_NE(e.find("/runbooks/liveness.md:16: section \"Random notes\" is neither an alert of the "
                   "catalog (heading = alert name) nor marked informational (a first line "
                   "\"> Informational ...\")"),
            std::string::npos)
      << e;
  EXPECT_TRUE(CheckErrors(kCatalog, {{"liveness.md", kLiveness + "\n## Notes\n\n> Informational: "
                                                                 "background.\n"}})
                  .empty());
}

TEST(RulegenCheck, AlertSectionNeedsItsSubsectionsInOrder) {
  std::string e = OnlyError(kCatalog, {{"traffic.md", Replace(kTraffic, "### Impact\n", "")}});
  EXPECT_NE(e.find("/runbooks/traffic.md:3: alert section TriageHttp5xxErrorBudgetBurn lacks the "
                   "subsection(s) Impact; expected ### Meaning, Impact, Diagnosis, Mitigation, "
                   "Escalation in that order"),
            std::string::npos)
      << e;
  e = OnlyError(kCatalog,
                {{"traffic.md", Replace(kTraffic, "### Meaning\n### Impact\n", "### Impact\n### Meaning\n")}});
  EXPECT_NE(e.find("traffic.md:3: alert section TriageHttp5xxErrorBudgetBurn has subsections out "
                   "of order"),
            std::string::npos)
      << e;
  // Extra subsections in between are fine; level-4 ones never count.
  EXPECT_TRUE(CheckErrors(kCatalog, {{"traffic.md", Replace(kTraffic, "### Diagnosis\n",
                                                            "### Symptoms\n### Diagnosis\n#### "
                                                            "Meaning\n### Commands\n")}})
                  .empty());
  // The next ## section ends the subsections.
  e = OnlyError(kCatalog, {{"traffic.md", "# T\n\n## TriageHttp5xxErrorBudgetBurn\n### Meaning\n"
                                          "## Other\n\n> Informational.\n\n### Impact\n### "
                                          "Diagnosis\n### Mitigation\n### Escalation\n"}});
  EXPECT_NE(e.find("lacks the subsection(s) Impact, Diagnosis, Mitigation, Escalation"),
            std::string::npos)
      << e;
}

TEST(RulegenCheck, AlertSectionOnlyOnce) {
  const std::string e = OnlyError(kCatalog, {{"zz.md", "## TriageTargetDown\n### Meaning\n### "
                                                       "Impact\n### Diagnosis\n### Mitigation\n### "
                                                       "Escalation\n"}});
  EXPECT_NE(e.find("/runbooks/zz.md:1: alert TriageTargetDown already has a section at "),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("/runbooks/liveness.md:7"), std::string::npos) << e;
}

TEST(RulegenCheck, ReadmeMentionsExactlyTheCatalogAlerts) {
  std::string e = OnlyError(kCatalog, {{"README.md", kReadme + "| TriageGhost | gone |\n"}});
  EXPECT_NE(e.find("/runbooks/README.md:7: mentions alert TriageGhost, which is not in the catalog catalog.yaml"),
            std::string::npos)
      << e;
  e = OnlyError(kCatalog, {{"README.md", Replace(kReadme, "| TriageTargetDown |", "| |")}});
  EXPECT_NE(e.find("/runbooks/README.md: does not mention alert TriageTargetDown (catalog.yaml:12); "
                   "expected every alert listed"),
            std::string::npos)
      << e;
  e = OnlyError(kCatalog, {{"README.md", ""}});
  EXPECT_NE(e.find("/runbooks/README.md: missing"), std::string::npos) << e;
}

}  // namespace
}  // namespace triage::rulegen

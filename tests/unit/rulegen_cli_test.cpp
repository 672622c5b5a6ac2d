// The command line of triage_rulegen (rules/rulegen/cli.h), and the runbook
// base a scaled rule file is written with.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "rules/rulegen/cli.h"
#include "rules/rulegen/rules.h"
#include "rules/rulegen/writers.h"
#include "rulegen_test_support.h"

namespace triage::rulegen {
namespace {

using Args = std::vector<std::string>;

const Args kScale = {"scale", "--catalog", "c.yaml", "--runbooks", "rb", "--factor", "60", "--out", "o.yaml"};

Args With(Args args, const Args& more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

TEST(RulegenCli, ScaleTakesARunbookBaseUrl) {
  CommandLine cli;
  ASSERT_EQ(ParseCommandLine(With(kScale, {"--runbook-base-url", "http://127.0.0.1:40123/runbooks/"}), cli),
            std::nullopt);
  EXPECT_EQ(cli.command, "scale");
  EXPECT_EQ(cli.factor, 60);
  EXPECT_EQ(cli.runbook_base_url, "http://127.0.0.1:40123/runbooks/");
  EXPECT_EQ(cli.flags.at("--out"), "o.yaml");

  ASSERT_EQ(ParseCommandLine(With(kScale, {"--runbook-base-url=http://h/rb/"}), cli), std::nullopt);
  EXPECT_EQ(cli.runbook_base_url, "http://h/rb/");
}

TEST(RulegenCli, WithoutTheFlagTheCatalogBaseApplies) {
  CommandLine cli;
  ASSERT_EQ(ParseCommandLine(kScale, cli), std::nullopt);
  EXPECT_EQ(cli.runbook_base_url, std::nullopt);
}

TEST(RulegenCli, GenerateTakesARunbookBaseUrlCheckDoesNot) {
  CommandLine cli;
  EXPECT_EQ(ParseCommandLine({"generate", "--catalog", "c", "--runbooks", "r", "--out", "o", "--tests", "t",
                              "--runbook-base-url", "http://x/"},
                             cli),
            std::nullopt);
  EXPECT_EQ(cli.runbook_base_url, "http://x/");
  EXPECT_EQ(ParseCommandLine({"check", "--catalog", "c", "--runbooks", "r", "--runbook-base-url", "http://x/"}, cli),
            "unknown flag --runbook-base-url for check");
}

TEST(RulegenCli, UsageErrors) {
  CommandLine cli;
  EXPECT_EQ(ParseCommandLine({}, cli), "missing command");
  EXPECT_EQ(ParseCommandLine({"render"}, cli), "unknown command \"render\"");
  EXPECT_EQ(ParseCommandLine(With(kScale, {"--runbook-base-url", "http://x/runbooks"}), cli),
            "--runbook-base-url must end with '/', got \"http://x/runbooks\"");
  EXPECT_EQ(ParseCommandLine(With(kScale, {"--runbook-base-url="}), cli),
            "--runbook-base-url must end with '/', got \"\"");
  EXPECT_EQ(ParseCommandLine(With(kScale, {"--runbook-base-url"}), cli), "flag --runbook-base-url needs a value");
  EXPECT_EQ(ParseCommandLine({"scale", "--catalog", "c", "--runbooks", "r", "--factor", "0", "--out", "o"}, cli),
            "--factor must be an integer of at least 1, got \"0\"");
  EXPECT_EQ(ParseCommandLine({"scale", "--catalog", "c", "--runbooks", "r", "--out", "o"}, cli), "missing --factor");
  EXPECT_EQ(ParseCommandLine({"check", "--catalog", "c", "--runbooks", "r", "--factor", "2"}, cli),
            "unknown flag --factor for check");
  ASSERT_EQ(ParseCommandLine({"--help"}, cli), std::nullopt);
  EXPECT_EQ(cli.command, "help");
}

// What main() does with the flag: the scaled file's runbook_url points at it.
TEST(RulegenCli, ScaledRuleFileUsesTheGivenBase) {
  Diagnostics diag;
  const Catalog catalog = ParseCatalog(testing::kCatalog, "catalog.yaml", diag);
  ASSERT_TRUE(diag.ok());
  CommandLine cli;
  ASSERT_EQ(ParseCommandLine(With(kScale, {"--runbook-base-url", "http://127.0.0.1:40123/runbooks/"}), cli),
            std::nullopt);
  const std::string text =
      RuleFileYaml(BuildRuleGroups(catalog, cli.runbook_base_url.value_or(catalog.runbook_base_url)), cli.factor);
  const YAML::Node alert = YAML::Load(text)["groups"][1]["rules"][0];
  EXPECT_EQ(alert["alert"].as<std::string>(), "TriageTargetDown");
  EXPECT_EQ(alert["for"].as<std::string>(), "1s");
  EXPECT_EQ(alert["annotations"]["runbook_url"].as<std::string>(),
            "http://127.0.0.1:40123/runbooks/liveness.md#triagetargetdown");
}

}  // namespace
}  // namespace triage::rulegen

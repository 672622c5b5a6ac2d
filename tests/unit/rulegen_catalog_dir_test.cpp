// A catalog as a directory: pack.yaml plus one file per runbook area, read into
// the same catalog a single file gives, with every error naming the file it is
// in.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "rules/rulegen/catalog.h"
#include "rulegen_test_support.h"
#include "test_util.h"

namespace triage::rulegen {
namespace {

using testing::kCatalog;

// kCatalog cut into pack.yaml, liveness.yaml and traffic.yaml.
struct SplitCatalog {
  std::string pack, liveness, traffic;
  SplitCatalog() {
    const size_t recording = kCatalog.find("recording_rules:");
    const size_t alerts = kCatalog.find("alerts:\n");
    const size_t second = kCatalog.find("  - name: TriageHttp5xxErrorBudgetBurn");
    pack = kCatalog.substr(0, recording);
    liveness = "alerts:\n" + kCatalog.substr(alerts + 8, second - alerts - 8);
    traffic = kCatalog.substr(recording, alerts - recording) + "alerts:\n" + kCatalog.substr(second);
  }
};

class CatalogDirTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    return dir_.Write(name, text);
  }
  Catalog Load() { return LoadCatalog(dir_.path(), diag_); }
  // Loads the catalog and checks it against the test runbooks.
  void LoadAndValidate() {
    const Catalog c = Load();
    testing::RunbookDir runbooks;
    const Runbooks rb = LoadRunbooks(runbooks.path(), diag_);
    Validate(c, rb, ExposedSeriesNames(), diag_);
  }
  std::string Errors() const {
    std::string all;
    for (const auto& e : diag_.errors()) all += e + "\n";
    return all;
  }

  triage::testing::TempDir dir_;
  Diagnostics diag_;
  SplitCatalog split_;
};

TEST_F(CatalogDirTest, ReadsTheSameCatalogAsOneFile) {
  Write("pack.yaml", split_.pack);
  const std::string liveness = Write("liveness.yaml", split_.liveness);
  const std::string traffic = Write("traffic.yaml", split_.traffic);
  const Catalog c = Load();
  ASSERT_TRUE(diag_.ok()) << Errors();
  Diagnostics one_diag;
  const Catalog one = ParseCatalog(kCatalog, "catalog.yaml", one_diag);
  ASSERT_EQ(c.alerts.size(), one.alerts.size());
  ASSERT_EQ(c.recording_rules.size(), one.recording_rules.size());
  EXPECT_EQ(c.runbook_base_url, one.runbook_base_url);
  EXPECT_EQ(c.external_metrics, one.external_metrics);
  for (size_t i = 0; i < c.alerts.size(); ++i) EXPECT_EQ(c.alerts[i].expr, one.alerts[i].expr);
  EXPECT_EQ(c.alerts[0].source->file, liveness);
  EXPECT_EQ(c.alerts[1].source->file, traffic);
  EXPECT_EQ(c.recording_rules[0].source->file, traffic);

  // Checked against the runbooks like the single file.
  testing::RunbookDir runbooks;
  const Runbooks rb = LoadRunbooks(runbooks.path(), diag_);
  Validate(c, rb, ExposedSeriesNames(), diag_);
  EXPECT_TRUE(diag_.ok()) << Errors();
}

TEST_F(CatalogDirTest, AnAlertLinksIntoTheRunbookOfItsFile) {
  Write("pack.yaml", split_.pack);
  const std::string wrong = Write("traffic.yaml", split_.liveness + "\n" +
                                                      split_.traffic.substr(0, split_.traffic.find("alerts:")));
  Load();
  EXPECT_NE(Errors().find(wrong + ":12:14: alert \"TriageTargetDown\" is in traffic.yaml, so its "
                                  "runbook is traffic.md; got \"liveness.md#triagetargetdown\""),
            std::string::npos)
      << Errors();
}

TEST_F(CatalogDirTest, ErrorsNameTheFileTheyAreIn) {
  Write("pack.yaml", split_.pack);
  Write("liveness.yaml", split_.liveness);
  const std::string traffic =
      Write("traffic.yaml", testing::Replace(split_.traffic, "triage_http_responses_total{code",
                                             "triage_http_responses_totl{code"));
  LoadAndValidate();
  EXPECT_NE(Errors().find(traffic + ":5:"), std::string::npos) << Errors();
  EXPECT_NE(Errors().find("triage_http_responses_totl"), std::string::npos) << Errors();
}

TEST_F(CatalogDirTest, AnAlertNameUsedInTwoFilesNamesTheOtherFile) {
  Write("pack.yaml", split_.pack);
  const std::string liveness = Write("liveness.yaml", split_.liveness);
  Write("traffic.yaml", testing::Replace(split_.traffic, "TriageHttp5xxErrorBudgetBurn",
                                         "TriageTargetDown"));
  LoadAndValidate();
  EXPECT_NE(Errors().find("alert name \"TriageTargetDown\" is already used at " + liveness + ":2"),
            std::string::npos)
      << Errors();
}

TEST_F(CatalogDirTest, PackHoldsNoAlertsAndAreasNoPackKeys) {
  const std::string pack = Write("pack.yaml", split_.pack + split_.liveness);
  const std::string traffic = Write("traffic.yaml", split_.pack + split_.traffic);
  Load();
  EXPECT_NE(Errors().find(pack + ":4:1: unknown key \"alerts\" in the pack"), std::string::npos)
      << Errors();
  EXPECT_NE(Errors().find(traffic + ":1:1: unknown key \"runbook_base_url\" in the catalog"),
            std::string::npos)
      << Errors();
}

TEST_F(CatalogDirTest, APackFileIsRequired) {
  Write("liveness.yaml", split_.liveness);
  Load();
  EXPECT_NE(Errors().find(dir_.path() + ": no pack.yaml"), std::string::npos) << Errors();
}


// A pack with two values and an area that uses them.
class ValuesTest : public CatalogDirTest {
 protected:
  void SetUp() override {
    dir_.Write("pack.yaml", split_.pack +
                                "values:\n"
                                "  clusterLabel:\n"
                                "    type: label\n"
                                "    default: cluster\n"
                                "    description: the cluster label\n"
                                "  downFor:\n"
                                "    type: duration\n"
                                "    default: 1m\n"
                                "    description: how long a liveness probe fails first\n");
    dir_.Write("liveness.yaml",
               testing::Replace(testing::Replace(split_.liveness, "for: 1m", "for: %(downFor)s"),
                                "on (service, probe)", "on (%(clusterLabel)s, service, probe)"));
    dir_.Write("traffic.yaml", split_.traffic);
  }
  Catalog Load(const std::string& values_text) {
    const std::string values = values_text.empty() ? "" : user_.Write("values.yaml", values_text);
    return LoadCatalog(dir_.path(), diag_, values);
  }
  triage::testing::TempDir user_;  // the user's values file, outside the catalog
};

TEST_F(ValuesTest, DefaultsAreSubstituted) {
  const Catalog c = Load("");
  ASSERT_TRUE(diag_.ok()) << Errors();
  EXPECT_EQ(c.alerts[0].for_duration, std::chrono::minutes(1));
  EXPECT_NE(c.alerts[0].expr.find("on (cluster, service, probe)"), std::string::npos)
      << c.alerts[0].expr;
  EXPECT_EQ(ValueOf(c, "clusterLabel"), "cluster");
}

TEST_F(ValuesTest, AValuesFileOverridesAndReachesTheRule) {
  const Catalog c = Load("downFor: 3m\nclusterLabel: k8s_cluster\n");
  ASSERT_TRUE(diag_.ok()) << Errors();
  EXPECT_EQ(c.alerts[0].for_duration, std::chrono::minutes(3));
  EXPECT_NE(c.alerts[0].expr.find("on (k8s_cluster, service, probe)"), std::string::npos)
      << c.alerts[0].expr;
}

TEST_F(ValuesTest, UnknownValueIsAnErrorAtItsPosition) {
  Load("downFor: 3m\ndownFro: 2m\n");
  EXPECT_NE(Errors().find(user_.path() + "/values.yaml:2:1: unknown value \"downFro\" (did you "
                                        "mean \"downFor\"?)"),
            std::string::npos)
      << Errors();
}

TEST_F(ValuesTest, WrongTypeIsAnErrorAtTheValue) {
  Load("downFor: soon\nclusterLabel: 9lives\n");
  EXPECT_NE(Errors().find(user_.path() + "/values.yaml:1:10: value \"downFor\": expected a "
                                        "Prometheus duration"),
            std::string::npos)
      << Errors();
  EXPECT_NE(Errors().find(user_.path() + "/values.yaml:2:15: value \"clusterLabel\": expected a "
                                        "label name"),
            std::string::npos)
      << Errors();
}

TEST_F(ValuesTest, TheValuesFileIsCheckedWithAPackAlone) {
  std::filesystem::remove(dir_.path() + "/liveness.yaml");
  std::filesystem::remove(dir_.path() + "/traffic.yaml");
  Load("downFro: 2m\n");
  EXPECT_NE(Errors().find("unknown value \"downFro\""), std::string::npos) << Errors();
}

TEST_F(ValuesTest, AnUndeclaredNameInTheCatalogIsAnError) {
  dir_.Write("traffic.yaml", testing::Replace(split_.traffic, "[{window}]))\n",
                                              "[{window}])) > %(burnFactor)s\n"));
  Load("");
  EXPECT_NE(Errors().find("traffic.yaml:5: %(burnFactor)s names no value of pack.yaml"),
            std::string::npos)
      << Errors();
}

}  // namespace
}  // namespace triage::rulegen

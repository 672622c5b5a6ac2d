// Log lines in both formats, and the level filter.
#include "base/log.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/unit/test_util.h"

namespace triage {
namespace {

class LogTest : public ::testing::Test {
 protected:
  void TearDown() override {
    SetLogFormat("logfmt");
    SetLogLevel("info");
  }
};

TEST_F(LogTest, LogfmtQuotesValuesThatNeedIt) {
  testing::LogCapture cap;
  LogInfo("config reloaded", {{"file", "a b.yml"}, {"probes", "3"}, {"err", "say \"hi\"\nbye"}});
  const std::string line = cap.Text();
  EXPECT_NE(line.find(" level=info msg=\"config reloaded\" file=\"a b.yml\" probes=3 "
                      "err=\"say \\\"hi\\\"\\nbye\"\n"),
            std::string::npos)
      << line;
  EXPECT_EQ(line.rfind("ts=", 0), 0u) << line;
}

TEST_F(LogTest, JsonIsOneObjectPerLine) {
  ASSERT_TRUE(SetLogFormat("json"));
  testing::LogCapture cap;
  LogWarn("probe failed", {{"service", "echo"}});
  const auto j = nlohmann::json::parse(cap.Text());
  EXPECT_EQ(j["level"], "warn");
  EXPECT_EQ(j["msg"], "probe failed");
  EXPECT_EQ(j["service"], "echo");
}

TEST_F(LogTest, LevelFilterDropsLowerLevels) {
  ASSERT_TRUE(SetLogLevel("warn"));
  testing::LogCapture cap;
  LogInfo("hidden");
  LogError("shown");
  EXPECT_EQ(cap.Text().find("hidden"), std::string::npos);
  EXPECT_NE(cap.Text().find("shown"), std::string::npos);
  EXPECT_FALSE(SetLogLevel("verbose"));
  EXPECT_FALSE(SetLogFormat("xml"));
}

}  // namespace
}  // namespace triage

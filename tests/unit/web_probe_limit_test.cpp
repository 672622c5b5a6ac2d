// /probe holds a web thread for as long as its probe runs; beyond four at
// once it answers 429 so /metrics always finds a free thread.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "exporter/app.h"
#include "tests/unit/raw_server.h"
#include "tests/unit/test_util.h"

namespace triage {
namespace {

TEST(WebProbeLimitTest, FifthConcurrentProbeGets429AndMetricsStaysFast) {
  testing::RawServer silent(testing::RawServer::AcceptAndNeverAnswer());
  testing::TempDir dir;
  const std::string config = dir.Write(
      "config.yaml",
      "services:\n"
      "  - name: svc\n"
      "    probes:\n"
      "      - {name: slow, kind: http, layer: liveness, interval: 1h, timeout: 2s, url: \"" +
          silent.Url("/") + "\"}\n");
  App app(AppOptions{config, "127.0.0.1:0"});
  app.Start();
  const std::string url =
      "http://127.0.0.1:" + std::to_string(app.port()) + "/probe?service=svc&probe=slow";

  std::vector<long> statuses(5, 0);
  std::vector<std::thread> callers;
  for (int i = 0; i < 4; ++i) {
    callers.emplace_back([&, i] { statuses[i] = testing::HttpGet(url, std::chrono::seconds(10)).status; });
  }
  // Wait until the four are running (the silent server has accepted them).
  ASSERT_TRUE(testing::WaitFor([&] { return silent.connections() >= 4; }));
  statuses[4] = testing::HttpGet(url, std::chrono::seconds(10)).status;
  const testing::HttpReply metrics =
      testing::HttpGet("http://127.0.0.1:" + std::to_string(app.port()) + "/metrics",
                       std::chrono::seconds(1));
  for (auto& t : callers) t.join();
  app.Stop();

  EXPECT_EQ(statuses[4], 429);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(statuses[i], 200) << i;
  EXPECT_EQ(metrics.status, 200) << "a scrape waited behind /probe: " << metrics.error;
}

}  // namespace
}  // namespace triage

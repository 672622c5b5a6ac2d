#include "tests/unit/fixture_server.h"

#include <gtest/gtest.h>

#include "tests/unit/test_util.h"

namespace triage::testing {
namespace {

TEST(FixtureServerTest, AnswersCannedResponsesAndRecordsRequests) {
  FixtureServer s;
  s.Set("/ready", CannedResponse{503, "{\"checks\":{}}", "application/json", {{"Retry-After", "3"}}});
  const HttpReply r = HttpGet(s.Url("/ready?verbose=1"), std::chrono::seconds(5),
                              {"Authorization: Bearer t0k"});
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "{\"checks\":{}}");
  EXPECT_EQ(HttpGet(s.Url("/missing")).status, 404);
  const auto reqs = s.Requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].path, "/ready");
  EXPECT_EQ(reqs[0].query, "verbose=1");
  EXPECT_EQ(reqs[0].authorization, "Bearer t0k");
  EXPECT_EQ(s.RequestCount("/missing"), 1u);
}

}  // namespace
}  // namespace triage::testing

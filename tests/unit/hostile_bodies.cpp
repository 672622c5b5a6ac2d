#include "tests/unit/hostile_bodies.h"

#include <gtest/gtest.h>

#include "tests/unit/fixture_server.h"
#include "tests/unit/raw_server.h"

namespace triage::testing {

void ExpectFailedWith(const ProbeRig::OneRun& run, const std::string& probe,
                      const std::string& reason) {
  ASSERT_NE(run.snap, nullptr);
  EXPECT_EQ(V(run.text, probe, "triage_probe_success"), 0.0) << run.text;
  EXPECT_EQ(V(run.text, probe, "triage_probe_failures_total", {L("reason", reason)}), 1.0)
      << run.text << run.debug;
  EXPECT_EQ(N(run.text, probe, "triage_probes_total", {L("result", "failure")}), 1.0) << run.text;
}

const std::vector<std::string>& NotJsonBodies() {
  static const std::vector<std::string> bodies = {"", "{", "[1,]", "{\"checks\": {}} trailing",
                                                  "\xff\xfe"};
  return bodies;
}

void ExpectHostileAnswersFail(const JsonKindUnderTest& kind,
                              const std::vector<HostileAnswer>& answers) {
  FixtureServer fs;
  for (size_t i = 0; i < answers.size(); ++i) {
    const HostileAnswer& a = answers[i];
    SCOPED_TRACE(a.label);
    const std::string path = "/answer-" + std::to_string(i);
    if (a.fixture.empty()) {
      fs.Set(path, {a.status, a.body, a.content_type, {}});
    } else {
      fs.SetFixture(path, a.status, a.fixture, a.content_type);
    }
    const ProbeRig::OneRun run = kind.run(fs.Url(path), a.extra);
    ExpectFailedWith(run, kind.probe, a.reason);
    kind.expect_no_view(run.text);
    if (!a.debug_has.empty()) {
      EXPECT_NE(run.debug.find(a.debug_has), std::string::npos) << run.debug;
    }
  }
}

void ExpectHugeBodyIsBodyTooLarge(const JsonKindUnderTest& kind, bool chunked) {
  SCOPED_TRACE(chunked ? "huge chunked body" : "huge body with a Content-Length");
  RawServer huge(RawServer::HugeBody(8 * 1024 * 1024, chunked));
  const ProbeRig::OneRun run = kind.run(huge.Url("/"), "body_size_limit: 64KiB");
  ExpectFailedWith(run, kind.probe, "body_too_large");
  kind.expect_no_view(run.text);
}

}  // namespace triage::testing

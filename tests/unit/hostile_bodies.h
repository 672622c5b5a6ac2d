// Hostile answers for the kinds that read a JSON body over HTTP (readiness,
// cluster): bodies that are not JSON, values of the wrong type, a body over
// body_size_limit. Each kind's test describes itself as a JsonKindUnderTest
// and lists its own answers; the checks made of every answer are here.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "tests/unit/probe_rig.h"

namespace triage::testing {

// The run of probe `probe` failed for `reason` (and for nothing else).
void ExpectFailedWith(const ProbeRig::OneRun& run, const std::string& probe,
                      const std::string& reason);

// Bodies that are not one JSON value: empty, cut short, a trailing comma,
// trailing text after a value, bytes that are not UTF-8.
const std::vector<std::string>& NotJsonBodies();

// A kind that reads a JSON answer, as the checks below drive it.
struct JsonKindUnderTest {
  std::string probe;  // the name of the probe `run` configures
  // Runs the probe once against `url`; `extra` holds more flow-map keys.
  std::function<ProbeRig::OneRun(const std::string& url, const std::string& extra)> run;
  // After an answer that could not be read none of the kind's gauges is left.
  std::function<void(const std::string& text)> expect_no_view;
};

// One answer a FixtureServer gives, and how the run must fail on it.
struct HostileAnswer {
  std::string label{};      // names the answer in a failure message
  int status = 200;
  std::string body{};       // the body, unless `fixture` is set
  std::string fixture{};    // tests/fixtures/<fixture> as the body
  std::string content_type = "application/json";
  std::string extra{};      // more probe keys for this answer
  std::string reason = "invalid_body";
  std::string debug_has{};  // text the debug output must hold; "" checks nothing
};

// Runs the probe once on each answer: it fails with the answer's reason and
// leaves none of the kind's gauges.
void ExpectHostileAnswersFail(const JsonKindUnderTest& kind,
                              const std::vector<HostileAnswer>& answers);

// An 8 MiB body (`chunked` or with a Content-Length) against body_size_limit
// 64KiB fails as body_too_large and leaves none of the kind's gauges.
void ExpectHugeBodyIsBodyTooLarge(const JsonKindUnderTest& kind, bool chunked);

}  // namespace triage::testing

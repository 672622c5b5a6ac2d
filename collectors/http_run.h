// The run skeleton of the kinds that send one HTTP request per run to the
// probe's URL (http, readiness, cluster, scrape):
//
//   1. build the request from the probe's client options (BuildHttpRequest);
//      when a credentials file cannot be used, clear the kind's view and end
//      the run with reason credentials;
//   2. log "METHOD URL" and fetch through the loop's Fetcher;
//   3. record what every exchange carries (phases, response counts), then
//      judge it in a fixed order: a transport failure is its own reason,
//      401/403 is unauthorized, any other status not valid is http_status,
//      and only then does the kind read the body.
//
// A kind supplies the parts that differ as HttpRunSteps; its state derives
// from HttpRunState.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "collectors/collector.h"
#include "collectors/http_client.h"

namespace triage {

// What every kind run through RunHttpExchange keeps between runs.
struct HttpRunState : ProbeState {
  bool ran = false;  // nothing is rendered before the first run
  HttpPhases phases;  // of the last exchange
  HttpResponseCounter responses;
};

// How the status of an exchange shows in the debug output.
enum class StatusLine {
  kAlways,      // "status 200 (valid)", "status 500 (not valid)"
  kOnlyNot2xx,  // "status 500 (not 2xx)", nothing for a valid status
};

// The transport and status half of judging an exchange, with its debug lines
// (each starting with `prefix`): a transport failure ends as its own reason
// ("failed: REASON: error"), a status outside `valid_status_codes` (empty: any
// 2xx) as unauthorized (401, 403) or http_status. nullopt when the status is
// valid and the body is the kind's to read.
std::optional<RunOutcome> JudgeTransportAndStatus(const HttpResult& res,
                                                  const std::vector<int>& valid_status_codes,
                                                  StatusLine status_line, DebugLog* debug,
                                                  std::string_view prefix = {});

// The parts of a run that differ between kinds. Every member may be empty.
struct HttpRunSteps {
  // Adjusts the built request before it is logged and sent (an Accept header).
  std::function<void(HttpRequest&)> prepare;
  // Forgets the kind's view of the target, with the reason the run fails:
  // credentials when the request cannot be built, the transport or status
  // reason when the exchange is not to be read, other when judging threw.
  std::function<void(FailureReason)> clear;
  // Records the kind's part of every finished exchange, before it is judged;
  // the phases and the response count are already in HttpRunState.
  std::function<void(const HttpResult&)> record;
  // Reads the answer of a valid status. Empty: a valid status is success.
  std::function<RunOutcome(const HttpResult&)> judge_body;
  // Runs with the judged outcome instead of ending the run: a kind that asks
  // a second URL continues from here and calls `done` itself.
  std::function<void(RunOutcome judged, std::function<void(RunOutcome)> done)> then;
  StatusLine status_line = StatusLine::kAlways;
};

// Runs one exchange with the client options `http` (status codes from
// http.valid_status_codes) as described at the top of this file. `state`
// must outlive the run, as the ProbeSpec::Run contract has it; `done` is
// called exactly once, on the loop thread.
void RunHttpExchange(Fetcher& fetcher, const HttpClientConfig& http,
                     std::chrono::milliseconds timeout, HttpRunState& state, DebugLog* debug,
                     HttpRunSteps steps, std::function<void(RunOutcome)> done);

}  // namespace triage

#include "collectors/http_run.h"

#include <exception>
#include <string>
#include <utility>

namespace triage {

std::optional<RunOutcome> JudgeTransportAndStatus(const HttpResult& res,
                                                  const std::vector<int>& valid_status_codes,
                                                  StatusLine status_line, DebugLog* debug,
                                                  std::string_view prefix) {
  if (res.failure != FailureReason::kNone) {
    if (debug) {
      debug->Line(std::string(prefix) + "failed: " + std::string(FailureReasonName(res.failure)) +
                  ": " + res.error);
    }
    return RunOutcome{false, res.failure};
  }
  const FailureReason why = StatusFailure(res.status, valid_status_codes);
  if (debug) {
    const std::string status = std::string(prefix) + "status " + std::to_string(res.status);
    if (status_line == StatusLine::kAlways) {
      debug->Line(status + (why == FailureReason::kNone ? " (valid)" : " (not valid)"));
    } else if (why != FailureReason::kNone) {
      debug->Line(status + " (not 2xx)");
    }
  }
  if (why != FailureReason::kNone) return RunOutcome{false, why};
  return std::nullopt;
}

void RunHttpExchange(Fetcher& fetcher, const HttpClientConfig& http,
                     std::chrono::milliseconds timeout, HttpRunState& state, DebugLog* debug,
                     HttpRunSteps steps, std::function<void(RunOutcome)> done) {
  HttpRequest req;
  if (!BuildHttpRequest(http, timeout, req, debug)) {
    state.ran = true;
    if (steps.clear) steps.clear(FailureReason::kCredentials);
    done({false, FailureReason::kCredentials});
    return;
  }
  if (steps.prepare) steps.prepare(req);
  if (debug) debug->Line(req.method + " " + req.url);
  fetcher.Fetch(std::move(req), debug,
                [&http, &state, debug, steps = std::move(steps),
                 done = std::move(done)](HttpResult&& res) mutable {
    state.ran = true;
    state.phases = res.phases;
    state.responses.Count(res.status);
    if (steps.record) steps.record(res);
    RunOutcome out{false, FailureReason::kOther};
    // Nothing below should throw; this keeps it that way on the loop thread
    // (an allocation failure on a hostile body, say).
    try {
      if (auto failed = JudgeTransportAndStatus(res, http.valid_status_codes, steps.status_line,
                                                debug)) {
        if (steps.clear) steps.clear(failed->reason);
        out = *failed;
      } else {
        out = steps.judge_body ? steps.judge_body(res) : RunOutcome{true, FailureReason::kNone};
      }
    } catch (const std::exception& e) {
      if (steps.clear) steps.clear(FailureReason::kOther);
      if (debug) debug->Line(std::string("internal error judging the answer: ") + e.what());
    }
    if (steps.then) {
      steps.then(out, std::move(done));
    } else {
      done(out);
    }
  });
}

}  // namespace triage

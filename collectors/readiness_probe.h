// kind: readiness — GETs a readiness endpoint (a node's /ready) and exports
// one triage_readiness_check_ok{check} series per check the answer names, so
// an alert can say which key failed (policy_ready, dns_allowlist, ...).
//
// The checks are found at `checks_pointer` (default /checks), in either shape:
//   - an object of name -> value: {"policy_ready": false, "cluster": "ok"}
//   - an array of objects: [{"name": "policy_ready", "ok": false}, ...]
//     (member names from check_name_field / check_ok_field)
// A value passes when it is true, or a string equal (ignoring case) to one of
// ok, pass, passed, true, ready, up, healthy; an object value is judged by its
// check_ok_field member. Anything else fails.
//
// Bounds: the check label is sanitized ([A-Za-z0-9_.:-], at most 64 bytes;
// names that collide after that are merged, failing if any of them fails) and
// at most `max_checks` (default 64) distinct names are exported per answer;
// the rest are not exported and are counted in the debug output, but a
// failing one still fails the probe. Checks absent from the latest readable
// answer are not exported; after an unreadable answer none are.
//
// Success: a 2xx status from valid_status_codes (default [200, 503]), every
// check passing, and at least one check found unless allow_empty. A valid
// non-2xx status (the 503 of a node that is not ready) has its body read too.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "collectors/collector.h"
#include "collectors/http_client.h"

namespace triage {

class MapReader;

struct ReadinessProbeConfig {
  HttpClientConfig http;  // client options; http.valid_status_codes defaults to {200, 503}
  nlohmann::json::json_pointer checks_pointer{"/checks"};
  std::string check_name_field = "name";
  std::string check_ok_field = "ok";
  int max_checks = 64;
  bool allow_empty = false;
};

std::shared_ptr<const ProbeSpec> ParseReadinessProbe(MapReader& r, ProbeCommon common);

// One readiness answer, judged. Pure, for tests and fuzzing.
struct ReadinessChecks {
  bool readable = false;            // body was JSON and the pointer held an object or array
  std::string problem;              // why not readable, for the debug log
  std::map<std::string, bool> exported;  // sanitized name -> passed, at most max_checks
  size_t total = 0;                 // distinct sanitized names seen
  size_t skipped_entries = 0;       // array entries without a usable name
  bool all_pass = true;             // over every name, exported or not
};
ReadinessChecks JudgeReadinessBody(const ReadinessProbeConfig& c, std::string_view body);

struct ReadinessState;  // kept between runs; defined in readiness_probe.cpp

class ReadinessProbeSpec : public KindSpec<ReadinessProbeConfig, ReadinessState> {
 public:
  using KindSpec::KindSpec;

 private:
  void RunKind(Fetcher& fetcher, ReadinessState& state, DebugLog* debug,
               std::function<void(RunOutcome)> done) const override;
  void RenderKind(const ReadinessState& state, SampleWriter& w) const override;
  // Reads the answer of a valid status into the outcome, updating the state's
  // checks (transport and status are judged by RunHttpExchange).
  RunOutcome JudgeBody(const HttpResult& res, ReadinessState& state, DebugLog* debug) const;
};

}  // namespace triage

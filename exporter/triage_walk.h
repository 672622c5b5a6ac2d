// The triage walk of a service: its probes in the order an operator checks
// them (liveness, readiness, dependency, traffic, telemetry, then
// configuration order), each with its last state, and the first layer that
// is broken together with the alert that failure feeds and the runbook
// section for it. Served as JSON by /api/v1/triage?service=S and shown per
// service on the landing page.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/collector.h"
#include "exporter/probe_table.h"

namespace triage {

// The alert a failed run feeds, from the probe's kind, layer and reason and
// the values of its snapshot (last status code, error code, readiness
// checks, cluster and claim state, scrape results). `details` names what
// failed when the alert is about parts of the probe: the failing readiness
// checks, the missing expected metrics. This is the one table that maps a
// probe failure to an alert of the catalog.
struct FailureAlert {
  std::string_view alert;
  std::string_view details_key;  // "checks", "missing_metrics", or "" without details
  std::vector<std::string> details;
};
FailureAlert AlertForFailure(const ProbeCommon& probe, const Snapshot& snap);

// Every alert name AlertForFailure can return.
std::span<const std::string_view> TriageWalkAlertNames();

struct WalkProbe {
  std::string probe;
  std::string kind;
  Layer layer = Layer::kLiveness;
  bool ran = false;  // false until its first run ends; then the fields below hold
  bool success = false;
  FailureReason reason = FailureReason::kNone;
  double last_run_unix = 0;
  int status_code = 0;  // last HTTP status (kind: http), 0 when none
};

struct BrokenLayer {
  Layer layer = Layer::kLiveness;
  std::string probe;
  FailureReason reason = FailureReason::kNone;
  std::string alert;
  std::string details_key;           // see FailureAlert
  std::vector<std::string> details;
  std::string runbook_file;          // from the embedded alert index
  std::string runbook_anchor;
  std::string runbook_url;           // runbook_base_url + file + '#' + anchor
};

struct TriageWalk {
  std::string service;
  std::vector<WalkProbe> probes;  // layer order, then configuration order
  std::optional<BrokenLayer> first_broken;  // the first probe that ran and failed
};

// The walk of `service` over `entries` (a copy of the probe table), or
// nullopt when no probe belongs to it.
std::optional<TriageWalk> WalkService(const std::vector<ProbeEntry>& entries,
                                      std::string_view service,
                                      std::string_view runbook_base_url);

// Services of `entries`, in configuration order, each once.
std::vector<std::string> ServiceNames(const std::vector<ProbeEntry>& entries);

// {"service", "probes": [{"probe","kind","layer","success","reason",
// "last_run_unix","status_code"?}...], "first_broken": null or {"layer",
// "probe","reason","alert","runbook_url","checks"?,"missing_metrics"?}}.
// A probe that has not run yet has success, reason and last_run_unix null;
// a successful one has reason null.
nlohmann::ordered_json TriageWalkJson(const TriageWalk& walk);

}  // namespace triage

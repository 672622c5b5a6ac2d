#include "exporter/triage_walk.h"

#include <algorithm>
#include <array>
#include <set>

#include "exporter/runbook_pages.h"
#include "exposition/snapshot_samples.h"

namespace triage {
namespace {

// Alert names of the catalog that a probe failure can feed. A unit test
// checks each against the embedded alert index.
constexpr std::string_view kProbeMisconfigured = "TriageProbeMisconfigured";
constexpr std::string_view kTargetDown = "TriageTargetDown";
constexpr std::string_view kReadinessCheckFailing = "TriageReadinessCheckFailing";
constexpr std::string_view kNotReady = "TriageNotReady";
constexpr std::string_view kDependencyDown = "TriageDependencyDown";
constexpr std::string_view kClusterLeaderUnknown = "TriageClusterLeaderUnknown";
constexpr std::string_view kClusterReplicationNotReady = "TriageClusterReplicationNotReady";
constexpr std::string_view kClusterFollowerLagging = "TriageClusterFollowerLagging";
constexpr std::string_view kPvcLost = "TriagePvcLost";
constexpr std::string_view kPvcPending = "TriagePvcPending";
constexpr std::string_view kHttpUnauthorized = "TriageHttpUnauthorized";
constexpr std::string_view kHttpForbidden = "TriageHttpForbidden";
constexpr std::string_view kHttpRemovedApiInUse = "TriageHttpRemovedApiInUse";
constexpr std::string_view kHttpRateLimited = "TriageHttpRateLimited";
constexpr std::string_view kHttpBackendFailures = "TriageHttpBackendFailures";
constexpr std::string_view kPerformanceModeUnavailable = "TriagePerformanceModeUnavailable";
constexpr std::string_view kHttpUnavailableTooLong = "TriageHttpUnavailableTooLong";
constexpr std::string_view kHttp5xxErrorBudgetBurn = "TriageHttp5xxErrorBudgetBurn";
constexpr std::string_view kProbeFailing = "TriageProbeFailing";
constexpr std::string_view kScrapeFailing = "TriageScrapeFailing";
constexpr std::string_view kExpectedMetricMissing = "TriageExpectedMetricMissing";
constexpr std::string_view kPrometheusTargetNotUp = "TriagePrometheusTargetNotUp";

constexpr std::array<std::string_view, 22> kWalkAlerts = {
    kProbeMisconfigured, kTargetDown, kReadinessCheckFailing, kNotReady, kDependencyDown,
    kClusterLeaderUnknown, kClusterReplicationNotReady, kClusterFollowerLagging, kPvcLost,
    kPvcPending, kHttpUnauthorized, kHttpForbidden, kHttpRemovedApiInUse, kHttpRateLimited,
    kHttpBackendFailures, kPerformanceModeUnavailable, kHttpUnavailableTooLong,
    kHttp5xxErrorBudgetBurn, kProbeFailing, kScrapeFailing, kExpectedMetricMissing,
    kPrometheusTargetNotUp};

// JSON error code of a 503 from a node running in performance mode.
constexpr std::string_view kPerformanceModeCode = "performance_mode";

// Label `label` of the samples of family `f` whose value is `value`.
std::vector<std::string> LabelsWhere(const Snapshot& snap, FamilyId f, std::string_view label,
                                     double value) {
  std::vector<std::string> out;
  for (const auto& s : SnapshotSamples(snap, f)) {
    if (s.value == value) out.emplace_back(s.Label(label));
  }
  return out;
}

// True when family `f` has a sample equal to `value` (and, when `label` is
// given, that label equal to `label_value`).
bool HasValue(const Snapshot& snap, FamilyId f, double value, std::string_view label = {},
              std::string_view label_value = {}) {
  for (const auto& s : SnapshotSamples(snap, f)) {
    if (s.value == value && (label.empty() || s.Label(label) == label_value)) return true;
  }
  return false;
}

// A failure of the connection itself: nothing, or nothing usable, came back.
bool IsTransport(FailureReason r) {
  switch (r) {
    case FailureReason::kTimeout:
    case FailureReason::kDns:
    case FailureReason::kConnectionRefused:
    case FailureReason::kConnectionError:
    case FailureReason::kTls:
    case FailureReason::kTooManyRedirects:
    case FailureReason::kProtocolError:
      return true;
    default:
      return false;
  }
}

// A traffic probe over HTTP: the alert of its last status code.
std::string_view TrafficHttpAlert(const Snapshot& snap) {
  const int code = snap.last_status_code;
  if (IsTransport(snap.reason) || code <= 0) return kProbeFailing;
  switch (code) {
    case 401: return kHttpUnauthorized;
    case 403: return kHttpForbidden;
    case 410: return kHttpRemovedApiInUse;
    case 429: return kHttpRateLimited;
    case 500: return kHttpBackendFailures;
    case 503:
      return snap.last_error_code == kPerformanceModeCode ? kPerformanceModeUnavailable
                                                          : kHttpUnavailableTooLong;
    default:
      return code >= 500 && code <= 599 ? kHttp5xxErrorBudgetBurn : kProbeFailing;
  }
}

}  // namespace

std::span<const std::string_view> TriageWalkAlertNames() { return kWalkAlerts; }

FailureAlert AlertForFailure(const ProbeCommon& probe, const Snapshot& snap) {
  const FailureReason reason = snap.reason;
  const std::string_view kind = probe.kind;
  // The probe cannot do its work at all: its credentials are unreadable, or
  // the API it reads (Kubernetes, a node's stats or readiness) refuses the
  // exporter's account, as TriageProbeMisconfigured selects it.
  if (reason == FailureReason::kCredentials ||
      ((kind == "kubernetes_pvc" || kind == "cluster" || kind == "readiness") &&
       reason == FailureReason::kUnauthorized)) {
    return {kProbeMisconfigured, {}, {}};
  }
  if (probe.layer == Layer::kLiveness) return {kTargetDown, {}, {}};
  // Failing readiness keys name themselves, whatever the layer.
  if (kind == "readiness") {
    auto checks = LabelsWhere(snap, FamilyId::kReadinessCheckOk, "check", 0);
    if (!checks.empty()) return {kReadinessCheckFailing, "checks", std::move(checks)};
  }
  if (probe.layer == Layer::kReadiness) return {kNotReady, {}, {}};

  if (kind == "cluster") {
    if (HasValue(snap, FamilyId::kClusterLeaderKnown, 0)) return {kClusterLeaderUnknown, {}, {}};
    if (HasValue(snap, FamilyId::kClusterReplicationReady, 0)) {
      return {kClusterReplicationNotReady, {}, {}};
    }
    if (reason == FailureReason::kCheckFailed) return {kClusterFollowerLagging, {}, {}};
  }
  if (kind == "kubernetes_pvc" && reason == FailureReason::kCheckFailed) {
    if (HasValue(snap, FamilyId::kPvcPhase, 1, "phase", "Lost")) return {kPvcLost, {}, {}};
    return {kPvcPending, {}, {}};
  }
  if (kind == "scrape") {
    if (!HasValue(snap, FamilyId::kScrapeUp, 1)) return {kScrapeFailing, {}, {}};
    auto missing = LabelsWhere(snap, FamilyId::kScrapeExpectedMetricPresent, "metric", 0);
    if (!missing.empty()) return {kExpectedMetricMissing, "missing_metrics", std::move(missing)};
    if (HasValue(snap, FamilyId::kScrapePrometheusTargetUp, 0)) {
      return {kPrometheusTargetNotUp, {}, {}};
    }
    return {kScrapeFailing, {}, {}};
  }
  if (probe.layer == Layer::kDependency) return {kDependencyDown, {}, {}};
  if (kind == "http" && probe.layer == Layer::kTraffic) return {TrafficHttpAlert(snap), {}, {}};
  return {kProbeFailing, {}, {}};
}

std::optional<TriageWalk> WalkService(const std::vector<ProbeEntry>& entries,
                                      std::string_view service,
                                      std::string_view runbook_base_url) {
  std::vector<const ProbeEntry*> mine;
  for (const auto& e : entries) {
    if (e.spec->common().service == service) mine.push_back(&e);
  }
  if (mine.empty()) return std::nullopt;
  std::stable_sort(mine.begin(), mine.end(), [](const ProbeEntry* a, const ProbeEntry* b) {
    return a->spec->common().layer < b->spec->common().layer;
  });
  TriageWalk walk;
  walk.service = std::string(service);
  for (const ProbeEntry* e : mine) {
    const ProbeCommon& c = e->spec->common();
    WalkProbe p;
    p.probe = c.name;
    p.kind = c.kind;
    p.layer = c.layer;
    if (e->snap) {
      p.ran = true;
      p.success = e->snap->success;
      p.reason = e->snap->reason;
      p.last_run_unix = e->snap->finished_unix;
      p.status_code = e->snap->last_status_code;
    }
    if (p.ran && !p.success && !walk.first_broken) {
      FailureAlert fa = AlertForFailure(c, *e->snap);
      BrokenLayer b;
      b.layer = c.layer;
      b.probe = c.name;
      b.reason = p.reason;
      b.alert = std::string(fa.alert);
      b.details_key = std::string(fa.details_key);
      b.details = std::move(fa.details);
      if (const AlertInfo* info = FindEmbeddedAlert(fa.alert)) {
        b.runbook_file = info->file;
        b.runbook_anchor = info->anchor;
        b.runbook_url = std::string(runbook_base_url) + info->file + "#" + info->anchor;
      }
      walk.first_broken = std::move(b);
    }
    walk.probes.push_back(std::move(p));
  }
  return walk;
}

std::vector<std::string> ServiceNames(const std::vector<ProbeEntry>& entries) {
  std::vector<std::string> out;
  std::set<std::string_view> seen;
  for (const auto& e : entries) {
    const std::string& s = e.spec->common().service;
    if (seen.insert(s).second) out.push_back(s);
  }
  return out;
}

nlohmann::ordered_json TriageWalkJson(const TriageWalk& walk) {
  nlohmann::ordered_json probes = nlohmann::ordered_json::array();
  for (const auto& p : walk.probes) {
    nlohmann::ordered_json j;
    j["probe"] = p.probe;
    j["kind"] = p.kind;
    j["layer"] = std::string(LayerName(p.layer));
    if (p.ran) {
      j["success"] = p.success;
      j["reason"] = p.success ? nlohmann::ordered_json(nullptr)
                              : nlohmann::ordered_json(std::string(FailureReasonName(p.reason)));
      j["last_run_unix"] = p.last_run_unix;
      if (p.status_code > 0) j["status_code"] = p.status_code;
    } else {
      j["success"] = nullptr;
      j["reason"] = nullptr;
      j["last_run_unix"] = nullptr;
    }
    probes.push_back(std::move(j));
  }
  nlohmann::ordered_json out;
  out["service"] = walk.service;
  out["probes"] = std::move(probes);
  if (walk.first_broken) {
    const BrokenLayer& b = *walk.first_broken;
    nlohmann::ordered_json j;
    j["layer"] = std::string(LayerName(b.layer));
    j["probe"] = b.probe;
    j["reason"] = std::string(FailureReasonName(b.reason));
    j["alert"] = b.alert;
    j["runbook_url"] = b.runbook_url;
    if (!b.details_key.empty()) j[b.details_key] = b.details;
    out["first_broken"] = std::move(j);
  } else {
    out["first_broken"] = nullptr;
  }
  return out;
}

}  // namespace triage

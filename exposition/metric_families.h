// The metric contract: every metric family the exporter emits for probes,
// with its type and help text. This table is the single place a probe metric
// is declared; docs/metrics.md is generated from it (triage_rulegen), and
// collectors write samples by FamilyId so a name cannot be misspelt.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

namespace triage {

enum class MetricType { kGauge, kCounter, kHistogram };

enum class FamilyId : size_t {
  kProbeSuccess = 0,
  kProbeInfo,
  kProbesTotal,
  kProbeFailuresTotal,
  kProbeDurationSeconds,
  kProbePhaseSeconds,
  kHttpResponsesTotal,
  kHttpErrorResponsesTotal,
  kHttpRetryAfterSeconds,
  kHttpVersion,
  kHttpStatusCode,
  kClockSkewSeconds,
  kTlsCertExpiryTimestampSeconds,
  // kind: readiness
  kReadinessCheckOk,
  // kind: cluster
  kClusterLeaderKnown,
  kClusterIsLeader,
  kClusterReplicationReady,
  kClusterLeaderChangesTotal,
  kClusterFollowerLagEntries,
  // kind: scrape
  kScrapeUp,
  kScrapeSamples,
  kScrapeExpectedMetricPresent,
  kTargetRestartsTotal,
  kTargetFdUtilization,
  kScrapePrometheusTargetUp,
  // kind: kubernetes_pvc
  kPvcPhase,
  kPvcPendingSeconds,
  kPvcLastEventInfo,
  kStorageClassDefaultPresent,
  kCount
};

struct FamilyInfo {
  std::string_view name;
  MetricType type;
  std::string_view labels;  // extra labels beyond service/probe/static, comma separated
  std::string_view help;
};

inline constexpr size_t kFamilyCount = static_cast<size_t>(FamilyId::kCount);

// Indexed by FamilyId.
extern const std::array<FamilyInfo, kFamilyCount> kFamilies;

inline const FamilyInfo& Family(FamilyId id) { return kFamilies[static_cast<size_t>(id)]; }

std::string_view MetricTypeName(MetricType t);

// Bucket upper bounds of triage_probe_duration_seconds.
inline constexpr std::array<double, 12> kProbeDurationBuckets = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

}  // namespace triage

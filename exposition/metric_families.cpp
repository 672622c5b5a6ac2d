#include "exposition/metric_families.h"

namespace triage {

const std::array<FamilyInfo, kFamilyCount> kFamilies = {{
    {"triage_probe_success", MetricType::kGauge, "",
     "1 if the last run of the probe met all its expectations, 0 otherwise."},
    {"triage_probe_info", MetricType::kGauge, "kind,layer",
     "Constant 1 per probe, carrying its kind and triage layer for joins in rules and dashboards."},
    {"triage_probes_total", MetricType::kCounter, "result",
     "Probe runs finished, by result (success or failure)."},
    {"triage_probe_failures_total", MetricType::kCounter, "reason",
     "Failed probe runs, by a bounded failure reason."},
    {"triage_probe_duration_seconds", MetricType::kHistogram, "",
     "Wall time of whole probe runs."},
    {"triage_probe_phase_seconds", MetricType::kGauge, "phase",
     "Time spent in each phase (dns, connect, tls, ttfb, transfer) of the last run."},
    {"triage_http_responses_total", MetricType::kCounter, "code",
     "HTTP responses received, by exact status code."},
    {"triage_http_error_responses_total", MetricType::kCounter, "code,error_code",
     "HTTP error responses (status >= 400) by status code and the JSON error code found at "
     "error_code_pointer; distinct error codes are capped per probe, the rest count as other."},
    {"triage_http_retry_after_seconds", MetricType::kGauge, "",
     "Retry-After of the last response if it was a 429 or 503, 0 when absent."},
    {"triage_http_version", MetricType::kGauge, "",
     "HTTP version of the last response (1, 1.1, 2 or 3)."},
    {"triage_http_status_code", MetricType::kGauge, "",
     "Status code of the last HTTP response, 0 when none was received."},
    {"triage_clock_skew_seconds", MetricType::kGauge, "",
     "Target Date header minus local time at the middle of the last exchange."},
    {"triage_tls_cert_expiry_timestamp_seconds", MetricType::kGauge, "",
     "Unix time at which the earliest-expiring certificate the target presented expires."},
    {"triage_readiness_check_ok", MetricType::kGauge, "check",
     "1 if the readiness check of that name passed in the last readiness answer, 0 if it failed."},
    {"triage_cluster_leader_known", MetricType::kGauge, "",
     "1 if the node reported a cluster leader in the last answer."},
    {"triage_cluster_is_leader", MetricType::kGauge, "",
     "1 if the probed node reported itself as the cluster leader."},
    {"triage_cluster_replication_ready", MetricType::kGauge, "",
     "1 if the node reported its replicated state ready."},
    {"triage_cluster_leader_changes_total", MetricType::kCounter, "",
     "Changes of the reported leader identity seen between consecutive probes."},
    {"triage_cluster_follower_lag_entries", MetricType::kGauge, "follower",
     "Entries each follower is behind the leader, as the node reported it."},
    {"triage_scrape_up", MetricType::kGauge, "",
     "1 if the target's metrics endpoint answered and parsed as Prometheus text format."},
    {"triage_scrape_samples", MetricType::kGauge, "",
     "Samples in the latest fetch of the target's metrics endpoint, when it parsed."},
    {"triage_scrape_expected_metric_present", MetricType::kGauge, "metric",
     "1 if the expected metric (with its matcher, if any) was present in the last fetch."},
    {"triage_target_restarts_total", MetricType::kCounter, "",
     "Times the target's process_start_time_seconds moved forward between fetches."},
    {"triage_target_fd_utilization", MetricType::kGauge, "",
     "The target's process_open_fds divided by process_max_fds."},
    {"triage_scrape_prometheus_target_up", MetricType::kGauge, "",
     "1 if the configured Prometheus server reports this target's job UP in /api/v1/targets."},
    {"triage_pvc_phase", MetricType::kGauge, "namespace,persistentvolumeclaim,phase",
     "1 for the current phase (Pending, Bound, Lost) of each matching PersistentVolumeClaim."},
    {"triage_pvc_pending_seconds", MetricType::kGauge, "namespace,persistentvolumeclaim",
     "Seconds since creation of each claim that is still Pending."},
    {"triage_pvc_last_event_info", MetricType::kGauge, "namespace,persistentvolumeclaim,reason",
     "1 for the reason of the latest event of each Pending claim."},
    {"triage_storageclass_default_present", MetricType::kGauge, "",
     "1 if the cluster has a StorageClass marked as default."},
}};

std::string_view MetricTypeName(MetricType t) {
  switch (t) {
    case MetricType::kGauge: return "gauge";
    case MetricType::kCounter: return "counter";
    case MetricType::kHistogram: return "histogram";
  }
  return "untyped";
}

}  // namespace triage

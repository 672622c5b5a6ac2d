#include "exporter/metric_families.h"

namespace triage {

const std::array<FamilyInfo, kFamilyCount> kFamilies = {{
    {"triage_probe_success", MetricType::kGauge, "",
     "1 if the last run of the probe met all its expectations, 0 otherwise."},
    {"triage_probes_total", MetricType::kCounter, "result",
     "Probe runs finished, by result (success or failure)."},
    {"triage_probe_failures_total", MetricType::kCounter, "reason",
     "Failed probe runs, by a bounded failure reason."},
    {"triage_probe_duration_seconds", MetricType::kHistogram, "",
     "Wall time of whole probe runs."},
    {"triage_probe_phase_seconds", MetricType::kGauge, "phase",
     "Time spent in each phase (dns, connect, tls, processing, transfer) of the last run."},
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

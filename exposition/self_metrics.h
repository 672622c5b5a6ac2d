// The exporter's own metrics (triage_exporter_*, process_*), kept in a
// prometheus-cpp Registry: a handful of series, updated rarely, so the stock
// data model and text serializer are the right tool here.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>

namespace triage {

class SelfMetrics {
 public:
  SelfMetrics();

  prometheus::Gauge* reload_successful;         // triage_exporter_config_last_reload_successful
  prometheus::Gauge* reload_success_timestamp;  // ..._config_last_reload_success_timestamp_seconds
  prometheus::Counter* reloads_failed;          // triage_exporter_config_reloads_failed_total
  prometheus::Gauge* probes_configured;         // triage_exporter_probes_configured
  prometheus::Gauge* shard_probes;              // triage_exporter_shard_probes
  prometheus::Gauge* probes_in_flight;          // triage_exporter_probes_in_flight
  prometheus::Histogram* schedule_lag;          // triage_exporter_schedule_lag_seconds
  prometheus::Counter* missed_still_running;    // triage_exporter_missed_runs_total{reason="still_running"}
  prometheus::Counter* missed_behind;           // triage_exporter_missed_runs_total{reason="behind_schedule"}
  prometheus::Counter* scrapes;                 // triage_exporter_scrapes_total

  // Appends the exposition text of every self metric (and process_* metrics).
  void Render(std::string& out) const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
};

}  // namespace triage

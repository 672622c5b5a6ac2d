// The exporter's probing half as the daemon assembles it (config -> Scheduler
// -> ProbeTable), for collector tests that drive the real event loop against
// servers on 127.0.0.1, plus helpers to read the exposition text it renders.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "exporter/config.h"
#include "exporter/probe_table.h"
#include "exporter/scheduler.h"
#include "exposition/self_metrics.h"

namespace triage::testing {

// Generous: a loaded two-core machine may run the tests next to a parallel build.
inline constexpr std::chrono::milliseconds kLongWait = std::chrono::seconds(15);

// `name="value"`, for label matchers.
std::string L(const std::string& name, const std::string& value);
// Sample `metric` of probe `probe` (probe names are unique within a test).
std::optional<double> V(const std::string& text, const std::string& probe,
                        const std::string& metric, std::vector<std::string> matchers = {});
// Same, 0 when the series is absent (counters before their first increment).
double N(const std::string& text, const std::string& probe, const std::string& metric,
         std::vector<std::string> matchers = {});
double Successes(const std::string& text, const std::string& probe);
double Failures(const std::string& text, const std::string& probe);
double Runs(const std::string& text, const std::string& probe);
double MeanDuration(const std::string& text, const std::string& probe);

// One probe as a YAML flow map: {name: NAME, kind: KIND, layer: LAYER, KEYS};
// `keys` are "key: value" texts in order, empty ones left out.
std::string FlowProbe(const std::string& name, const std::string& kind, const std::string& layer,
                      const std::vector<std::string>& keys);
// A config of one service "svc" holding `probes` (flow maps, one a line).
std::string OneService(const std::vector<std::string>& probes);

class ProbeRig {
 public:
  // Loads `yaml` as file "test.yaml" (throws ConfigError like the daemon would).
  explicit ProbeRig(const std::string& yaml);
  ~ProbeRig();  // stops the loop before the servers the test declared earlier go away

  // Schedules every configured probe and starts the loop.
  void Start();
  // Starts the loop with no scheduled probe: only RunOnce runs anything.
  void StartIdle();
  // A reload: the new config replaces the probe set of the running scheduler.
  void Reload(const std::string& yaml);

  std::string Text() const;
  // Waits until `pred` holds for a fresh rendering; returns that rendering
  // (or the last one, after a failed expectation, when the wait ran out).
  std::string WaitText(const std::function<bool(const std::string&)>& pred,
                       std::chrono::milliseconds timeout = kLongWait) const;
  // Waits until probe `probe` has finished at least `n` runs.
  std::string WaitRuns(const std::string& probe, double n,
                       std::chrono::milliseconds timeout = kLongWait) const;

  struct OneRun {
    std::shared_ptr<const Snapshot> snap;  // null when the run did not end in time
    std::string text;                      // the snapshot rendered as /probe shows it
    std::string debug;                     // DebugLog::Text() of the run
  };
  // Runs the configured probe `probe` once now, with fresh state, through the
  // running loop (Start or StartIdle first) and waits for it to end.
  OneRun RunOnce(const std::string& probe, std::chrono::milliseconds timeout = kLongWait);

  const Config& config() const { return config_; }
  std::shared_ptr<const ProbeSpec> Spec(const std::string& probe) const;
  SelfMetrics& self() { return self_; }
  ProbeTable& table() { return table_; }
  Scheduler& scheduler() { return scheduler_; }

 private:
  Config config_;
  SelfMetrics self_;
  ProbeTable table_;
  Scheduler scheduler_{&self_, &table_};
};

}  // namespace triage::testing

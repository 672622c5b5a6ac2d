// What every probe kind implements. A kind parses its configuration into a
// ProbeSpec (immutable), which creates the mutable ProbeState that survives
// between runs, runs one probe through the event loop's Fetcher, and renders
// its kind-specific samples. Common samples (success, probes_total,
// failures_total, duration) are rendered by the scheduler for every kind.
//
// Part of the collectors layer (docs/architecture.md): the probe interface and the kinds.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "exposition/failure_reason.h"
#include "collectors/http_fetch.h"
#include "exposition/snapshot.h"

namespace triage {

enum class Layer { kLiveness = 0, kReadiness, kDependency, kTraffic, kTelemetry };
std::string_view LayerName(Layer l);
bool ParseLayer(std::string_view s, Layer* out);

// A bounded, printable copy of text from a peer, for a debug line: control
// characters become '?', and "..." marks a cut after `max` bytes.
std::string Printable(std::string_view s, size_t max = 200);

// A bounded label value made from text a peer sent (an error code, a check
// or leader name): at most 64 bytes of [A-Za-z0-9_.:-], every other byte
// becomes '_'.
std::string SanitizeErrorCode(std::string_view raw);
// True when the sanitized value `code` shows (part of) `secret`: such a
// value is exported as "redacted" instead.
bool RevealsSecret(std::string_view code, std::string_view secret);

// Collects human-readable lines of one run for /probe?debug=true. Secrets
// registered with AddSecret are replaced by <secret> in Text().
class DebugLog {
 public:
  void Line(std::string line) { lines_.push_back(std::move(line)); }
  void AddSecret(std::string s) { if (!s.empty()) secrets_.push_back(std::move(s)); }
  std::string Text() const;

 private:
  std::vector<std::string> lines_;
  std::vector<std::string> secrets_;
};

// Fields every probe has, whatever its kind.
struct ProbeCommon {
  std::string service;
  std::string name;
  std::string kind;
  Layer layer = Layer::kLiveness;
  std::chrono::milliseconds interval{15000};
  std::chrono::milliseconds timeout{5000};
  std::string label_prefix;  // service="..",probe="..",<service labels in file order>, pre-rendered
};

// The outcome of one run, as the scheduler records it.
struct RunOutcome {
  bool success = false;
  FailureReason reason = FailureReason::kNone;  // kNone when success
};

// The event loop, as a probe sees it.
class Fetcher {
 public:
  virtual ~Fetcher() = default;
  // Starts an HTTP exchange; `done` runs on the loop thread when it ends.
  virtual void Fetch(HttpRequest req, DebugLog* debug,
                     std::function<void(HttpResult&&)> done) = 0;
};

// Mutable per-probe state (counters etc.). Touched only on the loop thread.
class ProbeState {
 public:
  virtual ~ProbeState() = default;
};

class ProbeSpec {
 public:
  explicit ProbeSpec(ProbeCommon common) : common_(std::move(common)) {}
  virtual ~ProbeSpec() = default;

  const ProbeCommon& common() const { return common_; }

  virtual std::unique_ptr<ProbeState> NewState() const = 0;
  // Runs once. Must call `done` exactly once, on the loop thread, within the
  // probe's timeout (the Fetcher enforces the timeout of each exchange).
  virtual void Run(Fetcher& fetcher, ProbeState& state, DebugLog* debug,
                   std::function<void(RunOutcome)> done) const = 0;
  // Writes this kind's samples for the current state.
  virtual void Render(const ProbeState& state, SampleWriter& w) const = 0;

 private:
  ProbeCommon common_;
};

// The typed half of a ProbeSpec, which every kind would otherwise write
// again: it keeps the kind's parsed Config, makes a fresh State for each
// probe, and hands RunKind and RenderKind that State as its own type. A kind
// declares its State in its header (defined in its .cpp, where the spec is
// constructed) and implements the two:
//
//   struct TcpState;
//   class TcpProbeSpec : public KindSpec<TcpProbeConfig, TcpState> { ... };
template <typename Config, typename State>
class KindSpec : public ProbeSpec {
 public:
  KindSpec(ProbeCommon common, Config config)
      : ProbeSpec(std::move(common)), config_(std::move(config)) {}
  const Config& config() const { return config_; }

  std::unique_ptr<ProbeState> NewState() const final { return std::make_unique<State>(); }
  void Run(Fetcher& fetcher, ProbeState& state, DebugLog* debug,
           std::function<void(RunOutcome)> done) const final {
    RunKind(fetcher, static_cast<State&>(state), debug, std::move(done));
  }
  void Render(const ProbeState& state, SampleWriter& w) const final {
    RenderKind(static_cast<const State&>(state), w);
  }

 protected:
  // ProbeSpec::Run and ProbeSpec::Render with the kind's own state.
  virtual void RunKind(Fetcher& fetcher, State& state, DebugLog* debug,
                       std::function<void(RunOutcome)> done) const = 0;
  virtual void RenderKind(const State& state, SampleWriter& w) const = 0;

  Config config_;
};

}  // namespace triage

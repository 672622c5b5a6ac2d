// kind: http — one HTTP(S) request per run. Turns what came back into the
// status-code, error-code, Retry-After, version, clock-skew and certificate
// metrics (docs/metrics.md).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "collectors/collector.h"
#include "collectors/http_client.h"

namespace triage {

class MapReader;

// The http kind's keys: the client keys and its own.
struct HttpProbeConfig : HttpClientConfig {
  std::string error_code_pointer;              // JSON Pointer; empty: not read
  int max_error_codes = 32;                    // distinct error_code values per probe
};

// Parses the http keys of a probe (docs/configuration.md, "kind: http").
std::shared_ptr<const ProbeSpec> ParseHttpProbe(MapReader& r, ProbeCommon common);

class HttpProbeSpec : public ProbeSpec {
 public:
  HttpProbeSpec(ProbeCommon common, HttpProbeConfig config)
      : ProbeSpec(std::move(common)), config_(std::move(config)) {}
  const HttpProbeConfig& config() const { return config_; }

  std::unique_ptr<ProbeState> NewState() const override;
  void Run(Fetcher& fetcher, ProbeState& state, DebugLog* debug,
           std::function<void(RunOutcome)> done) const override;
  void Render(const ProbeState& state, SampleWriter& w) const override;

 private:
  // Records the "last response" gauges and error codes of a finished exchange.
  void Record(const HttpResult& res, ProbeState& state, DebugLog* debug) const;
  HttpProbeConfig config_;
};

}  // namespace triage

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

struct HttpState;  // kept between runs; defined in http_probe.cpp

class HttpProbeSpec : public KindSpec<HttpProbeConfig, HttpState> {
 public:
  using KindSpec::KindSpec;

 private:
  void RunKind(Fetcher& fetcher, HttpState& state, DebugLog* debug,
               std::function<void(RunOutcome)> done) const override;
  void RenderKind(const HttpState& state, SampleWriter& w) const override;
  // Records the "last response" gauges and error codes of a finished exchange.
  void Record(const HttpResult& res, HttpState& state, DebugLog* debug) const;
};

}  // namespace triage

// kind: http — one HTTP(S) request per run. Turns what came back into the
// status-code, error-code, Retry-After, version, clock-skew and certificate
// metrics of DESIGN.md section 4.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "collectors/collector.h"
#include "exporter/secret_file.h"
#include "exporter/sorted_counts.h"

namespace triage {

struct GlobalConfig;
class MapReader;

struct HttpProbeConfig {
  std::string url;
  std::string method = "GET";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string auth_type = "Bearer";
  std::shared_ptr<SecretFile> bearer;          // authorization: {type: Bearer, credentials_file}
  std::string basic_user;
  std::shared_ptr<SecretFile> basic_password;  // basic_auth: {username, password_file}
  std::vector<int> valid_status_codes;         // empty: any 2xx
  std::shared_ptr<const TlsConfig> tls;       // tls_config; null: none given
  int64_t body_size_limit = 1 << 20;
  std::string error_code_pointer;              // JSON Pointer; empty: not read
  bool follow_redirects = true;
  int max_redirects = 10;
  bool keep_alive = false;
  int max_error_codes = 32;                    // distinct error_code values per probe
};

// Parses the http keys of a probe (see README "kind: http").
std::shared_ptr<const ProbeSpec> ParseHttpProbe(MapReader& r, ProbeCommon common,
                                                const GlobalConfig& global);

// Shared by kinds that speak HTTP: reads url/method/headers/body/authorization/
// basic_auth/tls_config/body_size_limit/follow_redirects/max_redirects/keep_alive.
void ParseHttpClientOptions(MapReader& r, HttpProbeConfig& c);
// Reads a tls_config map (ca_file, cert_file, key_file, server_name,
// insecure_skip_verify) into `out`; paths are resolved against the config
// file. Calls tls.Finish(), so unknown keys in it are errors.
void ParseTlsConfig(MapReader& tls, TlsConfig& out);
// Writes triage_probe_phase_seconds for dns, connect and tls, and with
// `with_http_phases` also ttfb (request sent to first byte) and transfer.
void RenderPhases(const HttpPhases& phases, SampleWriter& w, bool with_http_phases);
// Builds the request for one run (reads the secrets now). Returns false and
// sets `reason` when a credentials file cannot be read.
bool BuildHttpRequest(const HttpProbeConfig& c, std::chrono::milliseconds timeout,
                      HttpRequest& req, DebugLog* debug);

// Bounded, sanitized value for the error_code label: [A-Za-z0-9_.:-], at most 64 bytes.
std::string SanitizeErrorCode(std::string_view raw);
// True when the sanitized error code `code` shows (part of) `secret`: such a
// code is exported as "redacted" instead.
bool RevealsSecret(std::string_view code, std::string_view secret);

// What a received status means for a probe that expects one of
// `valid_status_codes` (empty: any 2xx): kNone when valid, kUnauthorized for
// 401/403, kHttpStatus for anything else.
FailureReason StatusFailure(long status, const std::vector<int>& valid_status_codes);

// triage_http_responses_total{code} for the kinds that speak HTTP: every
// response counted by its exact status code (three digits, so the label is
// bounded). Lives in the kind's ProbeState; loop thread only.
class HttpResponseCounter {
 public:
  void Count(long status);  // ignored when no response was received (status <= 0)
  void Render(SampleWriter& w) const;

 private:
  SortedCounts<int> counts_;  // by status code
};

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

// The HTTP client pieces every kind that speaks HTTP shares (http, readiness,
// cluster, scrape, kubernetes_pvc, and tcp for its TLS options): the client
// keys of a probe and how they are read, the request built from them for one
// run (secrets read at that moment), how a status is judged, the response
// counter and the phase gauges. The transfer itself is collectors/http_fetch;
// the run skeleton built on these pieces is collectors/http_run.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/secret_file.h"
#include "base/sorted_counts.h"
#include "collectors/collector.h"

namespace triage {

class MapReader;

// The client keys of a probe (docs/configuration.md, "HTTP client keys").
struct HttpClientConfig {
  std::string url;
  std::string method = "GET";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string auth_type = "Bearer";
  std::shared_ptr<SecretFile> bearer;          // authorization: {type: Bearer, credentials_file}
  std::string basic_user;
  std::shared_ptr<SecretFile> basic_password;  // basic_auth: {username, password_file}
  std::vector<int> valid_status_codes;         // empty: any 2xx (each kind sets its own key)
  std::shared_ptr<const TlsConfig> tls;        // tls_config; null: none given
  int64_t body_size_limit = 1 << 20;
  bool follow_redirects = true;
  int max_redirects = 10;
  bool keep_alive = false;
};

// Reads url/method/headers/body/authorization/basic_auth/tls_config/
// body_size_limit/follow_redirects/max_redirects/keep_alive.
void ParseHttpClientOptions(MapReader& r, HttpClientConfig& c);
// Reads a tls_config map (ca_file, cert_file, key_file, server_name,
// insecure_skip_verify) into `out`; paths are resolved against the config
// file. Calls tls.Finish(), so unknown keys in it are errors.
void ParseTlsConfig(MapReader& tls, TlsConfig& out);
// True for an absolute http:// or https:// URL with a non-empty host (checked
// with libcurl's URL parser). Otherwise false, with the reason in `*why` when
// `why` is not null. Used for every `url`-like key.
bool IsValidHttpUrl(std::string_view url, std::string* why);

// Builds the request for one run (reads the secrets now). Returns false when
// a credentials file cannot be used (the run then fails with reason
// credentials); the debug log says which file, never its content.
bool BuildHttpRequest(const HttpClientConfig& c, std::chrono::milliseconds timeout,
                      HttpRequest& req, DebugLog* debug);

// What a received status means for a probe that expects one of
// `valid_status_codes` (empty: any 2xx): kNone when valid, kUnauthorized for
// 401/403, kHttpStatus for anything else.
FailureReason StatusFailure(long status, const std::vector<int>& valid_status_codes);

// Writes triage_probe_phase_seconds for dns, connect and tls, and with
// `with_http_phases` also ttfb (request sent to first byte) and transfer.
void RenderPhases(const HttpPhases& phases, SampleWriter& w, bool with_http_phases);

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

}  // namespace triage

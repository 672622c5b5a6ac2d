// One HTTP exchange as the event loop runs it: what to send (HttpRequest),
// what came back (HttpResult). The loop turns a request into a libcurl easy
// handle (PrepareEasy), and a finished handle into a result (CollectResult).
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exposition/failure_reason.h"

namespace triage {

class DebugLog;

struct TlsConfig {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string server_name;  // SNI and name verified in the certificate
  bool insecure_skip_verify = false;
};

struct HttpRequest {
  std::string url;
  std::string method = "GET";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string authorization;                // secret: whole Authorization value, never logged
  std::string basic_user, basic_password;   // password is secret
  TlsConfig tls;
  int64_t body_size_limit = 1 << 20;
  bool follow_redirects = true;
  int max_redirects = 10;
  bool keep_alive = false;                  // false: fresh connection per request
  // Connect (and, for https, handshake) only, then end the transfer: no
  // request is sent and status stays 0. Used by kind: tcp.
  bool connect_only = false;
  std::chrono::milliseconds timeout{5000};
};

struct HttpPhases {
  double dns = 0, connect = 0, tls = 0, ttfb = 0, transfer = 0;
};

struct HttpResult {
  FailureReason failure = FailureReason::kNone;  // kNone: a response was received in full
  std::string error;            // human-readable transport error, no secrets
  long status = 0;              // last response's status, 0 when none
  int http_version_x10 = 0;     // 10, 11, 20, 30; 0 when unknown
  std::string body;             // at most body_size_limit bytes
  std::optional<std::string> retry_after;  // raw header value of the last response
  std::optional<std::string> date;         // raw Date header of the last response
  std::string content_type;
  HttpPhases phases;
  double total_seconds = 0;
  double cert_expiry = 0;       // earliest notAfter of the peer chain (unix s), 0 when unknown
  std::chrono::system_clock::time_point wall_start{};
  double ttfb_seconds = 0;      // from start to first response byte
  double pretransfer_seconds = 0;
};

// Per-transfer state the loop keeps beside the easy handle.
// Response headers a transfer accepts in all (redirects included); more
// ends it with reason protocol_error. Real servers send a few KiB.
inline constexpr size_t kMaxResponseHeaderBytes = 64 * 1024;

struct HttpTransfer {
  HttpRequest request;
  HttpResult result;
  curl_slist* header_list = nullptr;
  bool body_overflow = false;
  size_t header_bytes = 0;       // response header bytes so far, redirects included
  bool header_overflow = false;  // header_bytes went over kMaxResponseHeaderBytes
  char errbuf[CURL_ERROR_SIZE] = {0};
  DebugLog* debug = nullptr;
  std::string resolve_entry;    // for server_name: CURLOPT_CONNECT_TO entry
  curl_slist* connect_to = nullptr;
  ~HttpTransfer();
};

// Configures `easy` for `t` (URL, method, auth, TLS, limits, callbacks with `t` as userdata).
void PrepareEasy(CURL* easy, HttpTransfer& t);
// Fills t.result from a finished transfer.
void CollectResult(CURL* easy, CURLcode code, HttpTransfer& t);

// Maps a libcurl result to a failure reason (kNone for CURLE_OK).
FailureReason ReasonForCurlCode(CURLcode code, long os_errno, bool body_overflow);

// Parses a Retry-After value (delta-seconds or HTTP-date) into seconds from `now`.
std::optional<double> ParseRetryAfter(const std::string& value, std::chrono::system_clock::time_point now);
// Parses an HTTP-date (RFC 9110) into unix seconds.
std::optional<double> ParseHttpDate(const std::string& value);
// Only the IMF-fixdate form ("Sun, 06 Nov 1994 08:49:37 GMT"); nullopt for anything else.
std::optional<double> ParseImfFixdate(std::string_view value);

}  // namespace triage

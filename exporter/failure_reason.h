// The bounded set of reasons a probe can fail for: the `reason` label of
// triage_probe_failures_total. Adding a value here is the only way to add one.
#pragma once

#include <array>
#include <string_view>

namespace triage {

enum class FailureReason {
  kNone = 0,
  kTimeout,             // whole-probe timeout hit (connect, TLS, headers or body)
  kDns,                 // name did not resolve
  kConnectionRefused,   // TCP RST on connect
  kConnectionError,     // other connect/send/receive failure, reset mid-body
  kTls,                 // handshake or certificate verification failed
  kTooManyRedirects,    // redirect cap reached
  kProtocolError,       // the peer did not speak HTTP (or broke the protocol)
  kBodyTooLarge,        // body_size_limit exceeded
  kHttpStatus,          // status code not in valid_status_codes
  kUnauthorized,        // 401 or 403 where a success was expected
  kInvalidBody,         // body could not be parsed where parsing is required
  kCheckFailed,         // body parsed, but a check it carries failed
  kCredentials,         // a credentials file could not be read
  kEmpty,               // answered, but nothing in it yet (a metrics page with no samples)
  kOther,               // anything not above; look at the debug output of /probe
  kCount
};

inline constexpr std::array<std::string_view, static_cast<size_t>(FailureReason::kCount)>
    kFailureReasonNames = {
        "none",         "timeout",   "dns",           "connection_refused",
        "connection_error", "tls",   "too_many_redirects", "protocol_error", "body_too_large",
        "http_status",  "unauthorized", "invalid_body", "check_failed",
        "credentials",  "empty",     "other",
};

inline std::string_view FailureReasonName(FailureReason r) {
  return kFailureReasonNames[static_cast<size_t>(r)];
}

}  // namespace triage

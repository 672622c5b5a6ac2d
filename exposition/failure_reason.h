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

// What each reason means, for docs/metrics.md; indexed like the names.
inline constexpr std::array<std::string_view, static_cast<size_t>(FailureReason::kCount)>
    kFailureReasonHelp = {
        "the run succeeded (never exported as a reason)",
        "the probe's timeout ran out (connect, TLS, headers or body)",
        "the host name did not resolve",
        "the connection was refused (TCP reset on connect)",
        "another connect, send or receive failure, or a reset in the middle of the body",
        "the TLS handshake or the certificate verification failed",
        "more redirects than max_redirects",
        "the peer did not speak HTTP, or broke the protocol",
        "the body was larger than body_size_limit",
        "a status code outside valid_status_codes (other than 401 and 403)",
        "401 or 403 where a success was expected",
        "the body could not be read where the kind needs to read it",
        "the body was read, and a check it carries failed",
        "a credentials file could not be read or used",
        "the metrics page answered in the text format but held no sample",
        "anything else; the debug output of /probe says more",
};

inline std::string_view FailureReasonName(FailureReason r) {
  return kFailureReasonNames[static_cast<size_t>(r)];
}

}  // namespace triage

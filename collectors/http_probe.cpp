#include "collectors/http_probe.h"

#include <algorithm>
#include <charconv>
#include <optional>

#include <nlohmann/json.hpp>

#include "collectors/http_run.h"
#include "base/yaml_reader.h"

namespace triage {
namespace {

// error_code values for error responses whose code cannot be read.
constexpr std::string_view kErrorCodeNone = "none";          // JSON without the pointer
constexpr std::string_view kErrorCodeUnparsable = "unparsable";  // body is not JSON
constexpr std::string_view kErrorCodeOther = "other";        // over max_error_codes
constexpr std::string_view kErrorCodeRedacted = "redacted";  // the code held a credential

struct ErrorKey {
  int code;
  std::string error_code;
  bool operator<(const ErrorKey& o) const {
    return code != o.code ? code < o.code : error_code < o.error_code;
  }
};

}  // namespace

struct HttpState : HttpRunState {
  SortedCounts<ErrorKey> errors;            // (status, error_code) -> count
  std::vector<std::string> error_codes;    // distinct error_code values admitted, sorted
  long last_status = 0;
  std::string last_error_code;             // error_code of the last response, "" when none
  int http_version_x10 = 0;
  double retry_after = 0;
  std::optional<double> clock_skew;
  double cert_expiry = 0;
};

namespace {

double SecondsSinceEpoch(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

std::string ExtractErrorCode(const HttpProbeConfig& c, const std::string& body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::string(kErrorCodeUnparsable);
  std::string raw;
  try {
    const nlohmann::json::json_pointer ptr(c.error_code_pointer);  // validated at load
    // contains() throws, rather than answering false, for an array index
    // too large for size_t: a hostile body must not end the event loop.
    if (!j.contains(ptr)) return std::string(kErrorCodeNone);
    const nlohmann::json& v = j.at(ptr);
    if (v.is_string()) raw = v.get<std::string>();
    else if (v.is_number_integer()) raw = std::to_string(v.get<int64_t>());
    else return std::string(kErrorCodeNone);
  } catch (const nlohmann::json::exception&) {
    return std::string(kErrorCodeNone);
  }
  std::string s = SanitizeErrorCode(raw);
  return s.empty() ? std::string(kErrorCodeNone) : s;
}

}  // namespace

std::shared_ptr<const ProbeSpec> ParseHttpProbe(MapReader& r, ProbeCommon common) {
  HttpProbeConfig c;
  ParseHttpClientOptions(r, c);
  for (int64_t code : r.IntList("valid_status_codes", 100, 599)) {
    c.valid_status_codes.push_back(static_cast<int>(code));
  }
  c.error_code_pointer = r.String("error_code_pointer", "");
  if (!c.error_code_pointer.empty()) {
    try {
      nlohmann::json::json_pointer p(c.error_code_pointer);
    } catch (const nlohmann::json::exception&) {
      r.FailKey("error_code_pointer",
                "expected a JSON Pointer such as /code or /error/code, got \"" +
                    c.error_code_pointer + "\"");
    }
  }
  c.max_error_codes = static_cast<int>(r.Int("max_error_codes", 32, 1, 1000));
  return std::make_shared<HttpProbeSpec>(std::move(common), std::move(c));
}

void HttpProbeSpec::RunKind(Fetcher& fetcher, HttpState& s, DebugLog* debug,
                            std::function<void(RunOutcome)> done) const {
  HttpRunSteps steps;
  steps.record = [this, &s, debug](const HttpResult& res) { Record(res, s, debug); };
  RunHttpExchange(fetcher, config_, common().timeout, s, debug, std::move(steps), std::move(done));
}

void HttpProbeSpec::Record(const HttpResult& res, HttpState& s, DebugLog* debug) const {
  // The "last response" gauges describe this run: without a response they
  // read 0 (status, Retry-After) or disappear (version, clock skew).
  s.last_status = 0;
  s.last_error_code.clear();
  s.retry_after = 0;
  s.http_version_x10 = 0;
  s.clock_skew.reset();
  if (res.status <= 0) return;
  const int code = static_cast<int>(res.status);
  s.last_status = res.status;
  s.http_version_x10 = res.http_version_x10;

  if ((code == 429 || code == 503) && res.retry_after) {
    if (auto ra = ParseRetryAfter(*res.retry_after, std::chrono::system_clock::now())) {
      s.retry_after = *ra;
    }
  }
  // Without a Date header (or a certificate) the series goes away
  // rather than going stale. A reused connection presents no
  // certificate, so keep-alive probes keep the one they saw.
  if (res.date) {
    if (auto remote = ParseHttpDate(*res.date)) {
      const double mid = SecondsSinceEpoch(res.wall_start) +
                         (res.pretransfer_seconds + res.ttfb_seconds) / 2;
      s.clock_skew = *remote - mid;
    }
  }
  if (res.cert_expiry > 0 || !config_.keep_alive) s.cert_expiry = res.cert_expiry;

  if (code >= 400 && !config_.error_code_pointer.empty() && res.failure == FailureReason::kNone) {
    std::string ec = ExtractErrorCode(config_, res.body);
    // A target that echoes the credentials it was sent must not turn them
    // into a label value.
    for (const auto* secret : {&config_.bearer, &config_.basic_password}) {
      if (!*secret) continue;
      if (auto v = (*secret)->Value(); v && RevealsSecret(ec, *v)) {
        ec = std::string(kErrorCodeRedacted);
      }
    }
    auto it = std::lower_bound(s.error_codes.begin(), s.error_codes.end(), ec);
    if (it == s.error_codes.end() || *it != ec) {
      if (static_cast<int>(s.error_codes.size()) < config_.max_error_codes) {
        s.error_codes.insert(it, ec);
      } else {
        ec = std::string(kErrorCodeOther);
      }
    }
    if (debug) debug->Line("error_code " + ec);
    s.last_error_code = ec;
    ++CounterOf(s.errors, ErrorKey{code, std::move(ec)});
  }
}

void HttpProbeSpec::RenderKind(const HttpState& s, SampleWriter& w) const {
  if (!s.ran) return;
  RenderPhases(s.phases, w, /*with_http_phases=*/true);
  s.responses.Render(w);
  char buf[16];
  for (const auto& [key, n] : s.errors) {
    const auto end = std::to_chars(buf, buf + sizeof buf, key.code).ptr;
    w.Add(FamilyId::kHttpErrorResponsesTotal, "code", std::string_view(buf, end - buf),
          "error_code", key.error_code, static_cast<double>(n));
  }
  w.Add(FamilyId::kHttpStatusCode, static_cast<double>(s.last_status));
  w.SetLastResponse(static_cast<int>(s.last_status), s.last_error_code);
  w.Add(FamilyId::kHttpRetryAfterSeconds, s.retry_after);
  if (s.http_version_x10 > 0) w.Add(FamilyId::kHttpVersion, s.http_version_x10 / 10.0);
  if (s.clock_skew) w.Add(FamilyId::kClockSkewSeconds, *s.clock_skew);
  if (s.cert_expiry > 0) w.Add(FamilyId::kTlsCertExpiryTimestampSeconds, s.cert_expiry);
}

}  // namespace triage

#include "collectors/http_probe.h"

#include <strings.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <optional>

#include <nlohmann/json.hpp>

#include "collectors/http_run.h"
#include "exporter/config.h"
#include "exporter/yaml_reader.h"

namespace triage {
namespace {

// error_code values for error responses whose code cannot be read.
constexpr std::string_view kErrorCodeNone = "none";          // JSON without the pointer
constexpr std::string_view kErrorCodeUnparsable = "unparsable";  // body is not JSON
constexpr std::string_view kErrorCodeOther = "other";        // over max_error_codes
constexpr std::string_view kErrorCodeRedacted = "redacted";  // the code held a credential

constexpr std::array<std::string_view, 7> kMethods = {"GET",    "HEAD",   "POST",   "PUT",
                                                      "PATCH",  "DELETE", "OPTIONS"};

struct ErrorKey {
  int code;
  std::string error_code;
  bool operator<(const ErrorKey& o) const {
    return code != o.code ? code < o.code : error_code < o.error_code;
  }
};

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

std::shared_ptr<SecretFile> LoadSecret(MapReader& r, std::string_view key) {
  const std::string path = ResolveConfigPath(r.file(), r.RequiredString(key));
  auto secret = std::make_shared<SecretFile>(path);
  const std::string err = secret->Load();
  if (!err.empty()) r.FailKey(key, err);
  return secret;
}

bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

void CheckReadable(MapReader& r, std::string_view key, const std::string& path) {
  if (path.empty()) return;
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) r.FailKey(key, "cannot read file \"" + path + "\"");
  std::fclose(f);
}

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

namespace {

// The characters an error_code label keeps; any other byte becomes '_'.
std::string MapErrorCodeChars(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (char c : raw) {
    const auto u = static_cast<unsigned char>(c);
    out += (std::isalnum(u) || c == '_' || c == '.' || c == ':' || c == '-') ? c : '_';
  }
  return out;
}

}  // namespace

std::string SanitizeErrorCode(std::string_view raw) { return MapErrorCodeChars(raw.substr(0, 64)); }

bool RevealsSecret(std::string_view code, std::string_view secret) {
  // Compared in label form. A code that holds any 16 characters of the
  // secret in a row (all of it when shorter), or that is itself a piece of
  // at least 8, gives it away: an echo may add a prefix ("Bearer ...") and
  // is cut to 64 characters.
  constexpr size_t kWindow = 16, kMinPiece = 8;
  const std::string s = MapErrorCodeChars(secret);
  if (s.size() < kMinPiece) return false;
  if (code.size() >= kMinPiece && s.find(code) != std::string::npos) return true;
  const size_t w = std::min(kWindow, s.size());
  for (size_t i = 0; i + w <= s.size(); ++i) {
    if (code.find(std::string_view(s).substr(i, w)) != std::string_view::npos) return true;
  }
  return false;
}

FailureReason StatusFailure(long status, const std::vector<int>& valid_status_codes) {
  const bool valid = valid_status_codes.empty()
                         ? (status >= 200 && status < 300)
                         : std::find(valid_status_codes.begin(), valid_status_codes.end(),
                                     status) != valid_status_codes.end();
  if (valid) return FailureReason::kNone;
  return (status == 401 || status == 403) ? FailureReason::kUnauthorized
                                          : FailureReason::kHttpStatus;
}

void HttpResponseCounter::Count(long status) {
  if (status > 0) ++CounterOf(counts_, static_cast<int>(status));
}

void HttpResponseCounter::Render(SampleWriter& w) const {
  char buf[16];
  for (const auto& [code, n] : counts_) {
    const auto end = std::to_chars(buf, buf + sizeof buf, code).ptr;
    w.Add(FamilyId::kHttpResponsesTotal, "code", std::string_view(buf, end - buf),
          static_cast<double>(n));
  }
}

void ParseTlsConfig(MapReader& tls, TlsConfig& out) {
  out.ca_file = ResolveConfigPath(tls.file(), tls.String("ca_file", ""));
  out.cert_file = ResolveConfigPath(tls.file(), tls.String("cert_file", ""));
  out.key_file = ResolveConfigPath(tls.file(), tls.String("key_file", ""));
  out.server_name = tls.String("server_name", "");
  out.insecure_skip_verify = tls.Bool("insecure_skip_verify", false);
  CheckReadable(tls, "ca_file", out.ca_file);
  CheckReadable(tls, "cert_file", out.cert_file);
  CheckReadable(tls, "key_file", out.key_file);
  if (out.cert_file.empty() != out.key_file.empty()) {
    tls.FailKey(out.cert_file.empty() ? "key_file" : "cert_file",
                "cert_file and key_file must be given together");
  }
  tls.Finish();
}

void RenderPhases(const HttpPhases& p, SampleWriter& w, bool with_http_phases) {
  w.Add(FamilyId::kProbePhaseSeconds, "phase", "dns", p.dns);
  w.Add(FamilyId::kProbePhaseSeconds, "phase", "connect", p.connect);
  w.Add(FamilyId::kProbePhaseSeconds, "phase", "tls", p.tls);
  if (!with_http_phases) return;
  w.Add(FamilyId::kProbePhaseSeconds, "phase", "ttfb", p.ttfb);
  w.Add(FamilyId::kProbePhaseSeconds, "phase", "transfer", p.transfer);
}

void ParseHttpClientOptions(MapReader& r, HttpProbeConfig& c) {
  c.url = r.RequiredString("url");
  std::string why;
  if (!IsValidHttpUrl(c.url, &why)) r.FailKey("url", why);

  c.method = r.String("method", "GET");
  if (std::find(kMethods.begin(), kMethods.end(), c.method) == kMethods.end()) {
    r.FailKey("method", "unknown method \"" + c.method +
                            "\"; expected one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
  }
  c.headers = r.StringMap("headers");
  for (const auto& [k, v] : c.headers) {
    if (k.empty() || !std::all_of(k.begin(), k.end(), IsTokenChar)) {
      r.FailKey("headers", "header name \"" + k + "\" is not a valid HTTP token");
    }
    if (strcasecmp(k.c_str(), "Authorization") == 0) {
      r.FailKey("headers", "do not put Authorization in headers; use authorization: "
                           "{credentials_file: ...} so the secret stays out of the config");
    }
    if (v.find_first_of("\r\n") != std::string::npos) {
      r.FailKey("headers", "header \"" + k + "\" has a line break in its value");
    }
  }
  c.body = r.String("body", "");

  if (auto auth = r.Map("authorization")) {
    const std::string type = auth->String("type", "Bearer");
    if (type.empty() || !std::all_of(type.begin(), type.end(), IsTokenChar)) {
      auth->FailKey("type", "expected an authorization scheme such as Bearer");
    }
    c.auth_type = type;
    c.bearer = LoadSecret(*auth, "credentials_file");
    auth->Finish();
  }
  if (auto basic = r.Map("basic_auth")) {
    c.basic_user = basic->RequiredString("username");
    c.basic_password = LoadSecret(*basic, "password_file");
    basic->Finish();
  }
  if (c.bearer && c.basic_password) {
    r.FailKey("basic_auth", "authorization and basic_auth are mutually exclusive");
  }
  if (auto tls = r.Map("tls_config")) {
    TlsConfig t;
    ParseTlsConfig(*tls, t);
    c.tls = std::make_shared<const TlsConfig>(std::move(t));
  }
  c.body_size_limit = r.ByteSize("body_size_limit", 1 << 20, 1, int64_t{1} << 30);
  c.follow_redirects = r.Bool("follow_redirects", true);
  c.max_redirects = static_cast<int>(r.Int("max_redirects", 10, 0, 100));
  c.keep_alive = r.Bool("keep_alive", false);
}

std::shared_ptr<const ProbeSpec> ParseHttpProbe(MapReader& r, ProbeCommon common,
                                                const GlobalConfig&) {
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

namespace {

// A secret goes into a header: a line break in it would add headers of the
// file's choosing, so any control character makes the file unusable.
bool UsableInHeader(std::string_view secret) {
  return std::none_of(secret.begin(), secret.end(), [](char ch) {
    const auto u = static_cast<unsigned char>(ch);
    return u < 0x20 || u == 0x7f;
  });
}

std::string Base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t n = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) n |= static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[n & 63] : '=';
  }
  return out;
}

// The current value of a secret bound for a header, registered with the
// debug log so it is masked there; nullopt (with a debug line naming only
// the key and path) when the file is unreadable or unusable.
// An empty bearer token is refused too: sending "Bearer " would turn a broken
// credentials file into a 401 that looks like a rotated token.
std::optional<std::string> ReadHeaderSecret(SecretFile& secret, std::string_view key,
                                            bool allow_empty, DebugLog* debug) {
  auto value = secret.Value();
  const char* problem = !value ? " is not readable"
                        : !UsableInHeader(*value) ? " holds control characters"
                        : (!allow_empty && value->empty()) ? " is empty"
                                                  : nullptr;
  if (problem) {
    if (debug) debug->Line(std::string(key) + " " + secret.path() + problem);
    return std::nullopt;
  }
  if (debug) debug->AddSecret(*value);
  return value;
}

}  // namespace

bool BuildHttpRequest(const HttpProbeConfig& c, std::chrono::milliseconds timeout,
                      HttpRequest& req, DebugLog* debug) {
  req.url = c.url;
  req.method = c.method;
  req.headers = c.headers;
  req.body = c.body;
  if (c.tls) req.tls = *c.tls;
  req.body_size_limit = c.body_size_limit;
  req.follow_redirects = c.follow_redirects;
  req.max_redirects = c.max_redirects;
  req.keep_alive = c.keep_alive;
  req.timeout = timeout;
  if (c.bearer) {
    auto token = ReadHeaderSecret(*c.bearer, "credentials_file", /*allow_empty=*/false, debug);
    if (!token) return false;
    req.authorization = c.auth_type + " " + *token;
  }
  if (c.basic_password) {
    auto password = ReadHeaderSecret(*c.basic_password, "password_file", /*allow_empty=*/true, debug);
    if (!password) return false;
    req.basic_user = c.basic_user;
    req.basic_password = *password;
    // The header libcurl sends carries user:password in base64; mask that form too.
    if (debug) debug->AddSecret(Base64(c.basic_user + ":" + *password));
  }
  return true;
}

std::unique_ptr<ProbeState> HttpProbeSpec::NewState() const {
  return std::make_unique<HttpState>();
}

void HttpProbeSpec::Run(Fetcher& fetcher, ProbeState& state, DebugLog* debug,
                        std::function<void(RunOutcome)> done) const {
  auto& s = static_cast<HttpState&>(state);
  HttpRunSteps steps;
  steps.record = [this, &s, debug](const HttpResult& res) { Record(res, s, debug); };
  RunHttpExchange(fetcher, config_, common().timeout, s, debug, std::move(steps), std::move(done));
}

void HttpProbeSpec::Record(const HttpResult& res, ProbeState& state, DebugLog* debug) const {
  auto& s = static_cast<HttpState&>(state);
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

void HttpProbeSpec::Render(const ProbeState& state, SampleWriter& w) const {
  const auto& s = static_cast<const HttpState&>(state);
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

#include "collectors/http_client.h"

#include <strings.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <optional>

#include <curl/curl.h>

#include "base/yaml_reader.h"

namespace triage {
namespace {

constexpr std::array<std::string_view, 7> kMethods = {"GET",    "HEAD",   "POST",   "PUT",
                                                      "PATCH",  "DELETE", "OPTIONS"};

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

}  // namespace

bool IsValidHttpUrl(std::string_view url, std::string* why) {
  auto fail = [why](std::string reason) {
    if (why) *why = std::move(reason);
    return false;
  };
  const std::string like = ", expected a URL like http://host:port/path or https://host/path";
  if (url.empty()) return fail("the URL is empty" + like);
  const size_t sep = url.find("://");
  if (sep == std::string_view::npos) {
    return fail("the scheme is missing" + like);
  }
  // libcurl reads "http:///x" as host "x"; that is almost surely a typo.
  if (url.substr(sep + 3, 1) == "/") return fail("the host is missing" + like);
  CURLU* h = curl_url();
  if (h == nullptr) return fail("out of memory");
  const std::string text(url);
  const CURLUcode rc = curl_url_set(h, CURLUPART_URL, text.c_str(), 0);
  if (rc != CURLUE_OK) {
    curl_url_cleanup(h);
    return fail(std::string("libcurl cannot parse it (") + curl_url_strerror(rc) + ")" + like);
  }
  std::string scheme, host;
  char* part = nullptr;
  if (curl_url_get(h, CURLUPART_SCHEME, &part, 0) == CURLUE_OK && part) {
    scheme = part;
    curl_free(part);
    part = nullptr;
  }
  if (curl_url_get(h, CURLUPART_HOST, &part, 0) == CURLUE_OK && part) {
    host = part;
    curl_free(part);
    part = nullptr;
  }
  // user:password@ would put a secret into the configuration (and into any
  // message that quotes the URL); secrets come from files.
  const bool has_userinfo = curl_url_get(h, CURLUPART_USER, &part, 0) == CURLUE_OK;
  curl_free(part);
  curl_url_cleanup(h);
  if (has_userinfo) {
    return fail("credentials in the URL are not allowed; use basic_auth with a password_file");
  }
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (scheme != "http" && scheme != "https") {
    return fail("the scheme is " + QuoteForMessage(scheme) + ", expected http or https");
  }
  if (host.empty()) return fail("the host is missing" + like);
  return true;
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

void ParseHttpClientOptions(MapReader& r, HttpClientConfig& c) {
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

bool BuildHttpRequest(const HttpClientConfig& c, std::chrono::milliseconds timeout,
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

}  // namespace triage

#include "collectors/http_fetch.h"

#include <strings.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <ctime>

#include "collectors/collector.h"

namespace triage {
namespace {

constexpr std::string_view kUserAgent = "triage_exporter/" TRIAGE_VERSION;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

bool HeaderIs(std::string_view line, std::string_view name, std::string_view* value) {
  if (line.size() <= name.size() || line[name.size()] != ':') return false;
  if (strncasecmp(line.data(), name.data(), name.size()) != 0) return false;
  *value = Trim(line.substr(name.size() + 1));
  return true;
}

size_t WriteBody(char* data, size_t size, size_t nmemb, void* userdata) {
  auto* t = static_cast<HttpTransfer*>(userdata);
  const size_t n = size * nmemb;
  const auto limit = static_cast<size_t>(t->request.body_size_limit);
  if (t->result.body.size() + n > limit) {
    // libcurl only checks MAXFILESIZE against Content-Length; a chunked or
    // lying body is cut here. Returning less than n aborts the transfer.
    t->body_overflow = true;
    return 0;
  }
  t->result.body.append(data, n);
  return n;
}

size_t WriteHeader(char* data, size_t size, size_t nmemb, void* userdata) {
  auto* t = static_cast<HttpTransfer*>(userdata);
  const size_t n = size * nmemb;
  t->header_bytes += n;
  if (t->header_bytes > kMaxResponseHeaderBytes) {
    // Returning less than n aborts the transfer.
    t->header_overflow = true;
    return 0;
  }
  std::string_view line(data, n);
  if (line.size() >= 5 && line.substr(0, 5) == "HTTP/") {
    // A new response (after a redirect or a 100 Continue): forget the previous one's headers.
    t->result.retry_after.reset();
    t->result.date.reset();
    t->result.content_type.clear();
    return n;
  }
  std::string_view v;
  if (HeaderIs(line, "Retry-After", &v)) t->result.retry_after = std::string(v.substr(0, 128));
  else if (HeaderIs(line, "Date", &v)) t->result.date = std::string(v.substr(0, 128));
  else if (HeaderIs(line, "Content-Type", &v)) t->result.content_type = std::string(v.substr(0, 128));
  return n;
}

// End of the first credential-carrying header name in `line` (any case,
// anywhere in the line), or npos.
size_t FindCredentialHeader(std::string_view line) {
  static constexpr std::string_view kNames[] = {"authorization", "cookie"};
  for (size_t i = 0; i < line.size(); ++i) {
    for (std::string_view name : kNames) {
      if (line.size() - i >= name.size() &&
          strncasecmp(line.data() + i, name.data(), name.size()) == 0) {
        return i + name.size();
      }
    }
  }
  return std::string_view::npos;
}

int DebugCallback(CURL*, curl_infotype type, char* data, size_t size, void* userdata) {
  auto* t = static_cast<HttpTransfer*>(userdata);
  if (!t->debug) return 0;
  std::string_view text(data, size);
  const char* prefix = nullptr;
  switch (type) {
    case CURLINFO_TEXT: prefix = "* "; break;
    case CURLINFO_HEADER_IN: prefix = "< "; break;
    case CURLINFO_HEADER_OUT: prefix = "> "; break;
    default: return 0;  // bodies and TLS records are not logged
  }
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = Trim(text.substr(pos, end - pos));
    pos = end + 1;
    if (line.empty()) continue;
    // Credentials can show up anywhere in a line, not only as a header of
    // their own: HTTP/2 logs request headers as "h2h3 [authorization: ...]".
    // Such a line keeps what comes up to the header name.
    if (const size_t end = FindCredentialHeader(line); end != std::string_view::npos) {
      t->debug->Line(std::string(prefix) + std::string(line.substr(0, std::min<size_t>(end, 512))) +
                     ": <secret>");
    } else {
      t->debug->Line(std::string(prefix) + std::string(line.substr(0, 512)));
    }
  }
  return 0;
}

double Micros(CURL* easy, CURLINFO info) {
  curl_off_t v = 0;
  if (curl_easy_getinfo(easy, info, &v) != CURLE_OK) return 0;
  return static_cast<double>(v) / 1e6;
}

// "Jan  1 00:00:00 2030 GMT" as OpenSSL prints notAfter.
double ParseCertTime(std::string_view v) {
  std::string s(Trim(v));
  std::tm tm{};
  const char* end = strptime(s.c_str(), "%b %d %H:%M:%S %Y", &tm);
  if (!end) return 0;
  return static_cast<double>(timegm(&tm));
}

}  // namespace

HttpTransfer::~HttpTransfer() {
  if (header_list) curl_slist_free_all(header_list);
  if (connect_to) curl_slist_free_all(connect_to);
}

void PrepareEasy(CURL* easy, HttpTransfer& t) {
  const HttpRequest& r = t.request;
  std::string url = r.url;

  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  // When a transfer times out during a name lookup, libcurl 7.88 waits for
  // its resolver thread inside the multi handle, stalling every probe on
  // the loop; QUICK_EXIT lets the thread finish on its own instead.
  curl_easy_setopt(easy, CURLOPT_QUICK_EXIT, 1L);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t.errbuf);
  curl_easy_setopt(easy, CURLOPT_USERAGENT, kUserAgent.data());
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");

  const long timeout_ms = std::max<long>(1, static_cast<long>(r.timeout.count()));
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);

  if (r.method == "HEAD") {
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  } else if (r.method == "POST") {
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
    curl_easy_setopt(easy, CURLOPT_COPYPOSTFIELDS, r.body.c_str());
  } else if (r.method != "GET") {
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    if (!r.body.empty()) {
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
      curl_easy_setopt(easy, CURLOPT_COPYPOSTFIELDS, r.body.c_str());
    }
  }

  curl_slist* headers = curl_slist_append(nullptr, "Expect:");
  for (const auto& [k, v] : r.headers) {
    headers = curl_slist_append(headers, (k + ": " + v).c_str());
  }
  if (!r.authorization.empty()) {
    headers = curl_slist_append(headers, ("Authorization: " + r.authorization).c_str());
  }

  if (!r.basic_user.empty()) {
    curl_easy_setopt(easy, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(easy, CURLOPT_USERNAME, r.basic_user.c_str());
    curl_easy_setopt(easy, CURLOPT_PASSWORD, r.basic_password.c_str());
  }

  const TlsConfig& tls = r.tls;
  if (!tls.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, tls.ca_file.c_str());
  if (!tls.cert_file.empty()) curl_easy_setopt(easy, CURLOPT_SSLCERT, tls.cert_file.c_str());
  if (!tls.key_file.empty()) curl_easy_setopt(easy, CURLOPT_SSLKEY, tls.key_file.c_str());
  if (tls.insecure_skip_verify) {
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!tls.server_name.empty()) {
    // Present and verify server_name while connecting to the URL's host:
    // request the server_name URL, route it to the real host with CONNECT_TO,
    // and keep the original Host header.
    CURLU* u = curl_url();
    char* host = nullptr;
    char* port = nullptr;
    char* scheme = nullptr;
    if (curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK) {
      curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
      const std::string port_s = port ? port : "443";
      const std::string original_host = host;
      t.resolve_entry = tls.server_name + ":" + port_s + ":" + original_host + ":" + port_s;
      t.connect_to = curl_slist_append(nullptr, t.resolve_entry.c_str());
      curl_easy_setopt(easy, CURLOPT_CONNECT_TO, t.connect_to);
      if (curl_url_set(u, CURLUPART_HOST, tls.server_name.c_str(), 0) == CURLUE_OK) {
        char* rewritten = nullptr;
        if (curl_url_get(u, CURLUPART_URL, &rewritten, 0) == CURLUE_OK) url = rewritten;
        curl_free(rewritten);
      }
      headers = curl_slist_append(headers, ("Host: " + original_host +
                                            (port && std::string(port) != "443" &&
                                                     std::string(port) != "80"
                                                 ? ":" + std::string(port)
                                                 : ""))
                                                .c_str());
    }
    curl_free(host);
    curl_free(port);
    curl_free(scheme);
    curl_url_cleanup(u);
  }
  if (url.rfind("https:", 0) == 0) curl_easy_setopt(easy, CURLOPT_CERTINFO, 1L);
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());

  t.header_list = headers;
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);

  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, r.follow_redirects ? 1L : 0L);
  curl_easy_setopt(easy, CURLOPT_MAXREDIRS, static_cast<long>(r.max_redirects));
  if (!r.keep_alive) {
    curl_easy_setopt(easy, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L);
  }
  if (r.connect_only) {
    // The multi interface reports the transfer done once connected (and,
    // for https, handshaken); no request goes out. Removing the handle from
    // the multi handle closes the connection. A connect check is about the
    // address itself, so no proxy from the environment is used.
    curl_easy_setopt(easy, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(easy, CURLOPT_NOPROXY, "*");
  }
  // Not for HEAD: libcurl would reject the Content-Length of a body it never reads.
  if (r.method != "HEAD") {
    curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(r.body_size_limit));
  }
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &WriteBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &WriteHeader);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &t);
  if (t.debug) {
    curl_easy_setopt(easy, CURLOPT_VERBOSE, 1L);
    curl_easy_setopt(easy, CURLOPT_DEBUGFUNCTION, &DebugCallback);
    curl_easy_setopt(easy, CURLOPT_DEBUGDATA, &t);
  }
}

void CollectResult(CURL* easy, CURLcode code, HttpTransfer& t) {
  HttpResult& res = t.result;
  long os_errno = 0;
  curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &os_errno);
  res.failure = ReasonForCurlCode(code, os_errno, t.body_overflow);
  if (code != CURLE_OK) {
    res.error = t.errbuf[0] ? std::string(t.errbuf) : std::string(curl_easy_strerror(code));
    if (t.body_overflow) res.error = "body exceeded body_size_limit";
    // libcurl 7.88 refuses a header line over 100 KiB with "out of memory",
    // and the line never reaches WriteHeader. After the status line and
    // before any body, that is the peer's giant header, not a lack of memory.
    const bool giant_line =
        code == CURLE_OUT_OF_MEMORY && t.header_bytes > 0 && res.body.empty();
    if (t.header_overflow || giant_line) {
      res.failure = FailureReason::kProtocolError;
      res.error = giant_line ? "a response header line exceeded libcurl's 100 KiB"
                             : "response headers exceeded " +
                                   std::to_string(kMaxResponseHeaderBytes / 1024) + " KiB";
    }
  }
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &res.status);
  long version = 0;
  curl_easy_getinfo(easy, CURLINFO_HTTP_VERSION, &version);
  switch (version) {
    case CURL_HTTP_VERSION_1_0: res.http_version_x10 = 10; break;
    case CURL_HTTP_VERSION_1_1: res.http_version_x10 = 11; break;
    case CURL_HTTP_VERSION_2_0: res.http_version_x10 = 20; break;
    case CURL_HTTP_VERSION_3: res.http_version_x10 = 30; break;
    default: res.http_version_x10 = 0;
  }
  const double dns = Micros(easy, CURLINFO_NAMELOOKUP_TIME_T);
  const double connect = Micros(easy, CURLINFO_CONNECT_TIME_T);
  const double app = Micros(easy, CURLINFO_APPCONNECT_TIME_T);
  const double pre = Micros(easy, CURLINFO_PRETRANSFER_TIME_T);
  const double start = Micros(easy, CURLINFO_STARTTRANSFER_TIME_T);
  const double total = Micros(easy, CURLINFO_TOTAL_TIME_T);
  res.phases.dns = dns;
  res.phases.connect = connect > dns ? connect - dns : 0;
  res.phases.tls = app > connect ? app - connect : 0;
  res.phases.ttfb = start > pre ? start - pre : 0;
  res.phases.transfer = total > start && start > 0 ? total - start : 0;
  res.total_seconds = total;
  res.ttfb_seconds = start;
  res.pretransfer_seconds = pre;

  curl_certinfo* ci = nullptr;
  if (curl_easy_getinfo(easy, CURLINFO_CERTINFO, &ci) == CURLE_OK && ci) {
    double earliest = 0;
    for (int i = 0; i < ci->num_of_certs; ++i) {
      for (curl_slist* s = ci->certinfo[i]; s; s = s->next) {
        std::string_view line(s->data);
        constexpr std::string_view kExpire = "Expire date:";
        if (line.substr(0, kExpire.size()) == kExpire) {
          const double when = ParseCertTime(line.substr(kExpire.size()));
          if (when > 0 && (earliest == 0 || when < earliest)) earliest = when;
        }
      }
    }
    res.cert_expiry = earliest;
  }
}

FailureReason ReasonForCurlCode(CURLcode code, long os_errno, bool body_overflow) {
  if (body_overflow) return FailureReason::kBodyTooLarge;
  switch (code) {
    case CURLE_OK: return FailureReason::kNone;
    case CURLE_OPERATION_TIMEDOUT: return FailureReason::kTimeout;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return FailureReason::kDns;
    case CURLE_COULDNT_CONNECT:
      return os_errno == ECONNREFUSED ? FailureReason::kConnectionRefused
                                      : FailureReason::kConnectionError;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_USE_SSL_FAILED: return FailureReason::kTls;
    case CURLE_TOO_MANY_REDIRECTS: return FailureReason::kTooManyRedirects;
    case CURLE_FILESIZE_EXCEEDED: return FailureReason::kBodyTooLarge;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM: return FailureReason::kProtocolError;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE: return FailureReason::kConnectionError;
    default: return FailureReason::kOther;
  }
}

std::optional<double> ParseImfFixdate(std::string_view v) {
  // "Sun, 06 Nov 1994 08:49:37 GMT": fixed positions, 29 characters.
  if (v.size() != 29 || v[3] != ',' || v[4] != ' ' || v[7] != ' ' || v[11] != ' ' ||
      v[16] != ' ' || v[19] != ':' || v[22] != ':' || v[25] != ' ' || v.substr(26) != "GMT") {
    return std::nullopt;
  }
  auto number = [&v](size_t at, size_t len, int* out) {
    int n = 0;
    for (size_t i = at; i < at + len; ++i) {
      if (v[i] < '0' || v[i] > '9') return false;
      n = n * 10 + (v[i] - '0');
    }
    *out = n;
    return true;
  };
  static constexpr std::string_view kMonths = "JanFebMarAprMayJunJulAugSepOctNovDec";
  const size_t m = kMonths.find(v.substr(8, 3));
  int day = 0, year = 0, hour = 0, minute = 0, second = 0;
  if (m == std::string_view::npos || m % 3 != 0 || !number(5, 2, &day) || !number(12, 4, &year) ||
      !number(17, 2, &hour) || !number(20, 2, &minute) || !number(23, 2, &second) || day < 1 ||
      day > 31 || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  // Days since 1970-01-01 of a proleptic Gregorian date (the civil-from-days inverse).
  const int month = static_cast<int>(m / 3) + 1;
  const int y = year - (month <= 2 ? 1 : 0);
  const int era = y / 400;
  const int yoe = y - era * 400;
  const int doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const int64_t days = static_cast<int64_t>(era) * 146097 + doe - 719468;
  return static_cast<double>(days * 86400 + hour * 3600 + minute * 60 + second);
}

std::optional<double> ParseHttpDate(const std::string& value) {
  // The form servers send (RFC 9110 makes it the only one to generate),
  // parsed here; libcurl's general parser takes the obsolete ones.
  if (auto t = ParseImfFixdate(value)) return t;
  const time_t t = curl_getdate(value.c_str(), nullptr);
  if (t == -1) return std::nullopt;
  return static_cast<double>(t);
}

std::optional<double> ParseRetryAfter(const std::string& value,
                                      std::chrono::system_clock::time_point now) {
  std::string_view v = Trim(value);
  if (v.empty()) return std::nullopt;
  if (std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (v.size() > 10) return std::nullopt;
    return std::stod(std::string(v));
  }
  const auto when = ParseHttpDate(std::string(v));
  if (!when) return std::nullopt;
  const double now_s =
      std::chrono::duration<double>(now.time_since_epoch()).count();
  return std::max(0.0, *when - now_s);
}

}  // namespace triage

#include "collectors/kubernetes_pvc_probe.h"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include <nlohmann/json.hpp>

#include "exporter/config.h"
#include "exporter/secret_file.h"
#include "exporter/yaml_reader.h"

namespace triage {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::string_view kDefaultClassAnnotation = "storageclass.kubernetes.io/is-default-class";
constexpr std::string_view kBetaDefaultClassAnnotation =
    "storageclass.beta.kubernetes.io/is-default-class";
// The reason label when the latest event carries none.
constexpr std::string_view kReasonUnknown = "unknown";
// Claims named one by one in the debug log of a run; the rest are counted.
constexpr size_t kDebugClaimLines = 20;

enum class Phase { kPending = 0, kBound = 1, kLost = 2, kOther = 3 };
constexpr std::array<std::string_view, 3> kPhaseNames = {"Pending", "Bound", "Lost"};

struct Claim {
  std::string name;
  std::string uid;
  Phase phase = Phase::kOther;
  std::optional<double> created;          // unix seconds
  std::optional<double> pending_seconds;  // Pending claims with a readable creationTimestamp
  std::string event_reason;               // sanitized; empty when no event is known
};

struct PvcState : ProbeState {
  std::vector<Claim> claims;          // of the last run, sorted by name, at most max_claims
  std::optional<bool> default_class;  // absent: not checked, or the call failed
};

// ---- non-throwing JSON access -------------------------------------------------

const json* Member(const json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  const auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

std::string_view StringMember(const json* j, const char* key) {
  if (j == nullptr) return {};
  const json* m = Member(*j, key);
  if (m == nullptr || !m->is_string()) return {};
  return m->get_ref<const std::string&>();
}

std::optional<double> TimeMember(const json* j, const char* key) {
  const std::string_view s = StringMember(j, key);
  if (s.empty()) return std::nullopt;
  return ParseRfc3339(s);
}

// The items of a list object of `kind`, or null when `j` is not one. A list
// with no items may carry "items": null.
const json* ListItems(const json& j, std::string_view kind) {
  static const json kEmpty = json::array();
  if (!j.is_object() || StringMember(&j, "kind") != kind) return nullptr;
  const json* items = Member(j, "items");
  if (items == nullptr || items->is_null()) return &kEmpty;
  return items->is_array() ? items : nullptr;
}

// A short, printable excerpt of text from the server, for the debug log only.
std::string Printable(std::string_view s, size_t max = 200) {
  std::string out;
  for (char c : s.substr(0, max)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f) ? '?' : c;
  }
  if (s.size() > max) out += "...";
  return out;
}

// "reason: message" of a Kubernetes Status object, for the debug log.
std::string DescribeStatus(const std::string& body) {
  const json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || StringMember(&j, "kind") != "Status") return "body is not a Status object";
  return "Status reason " + Printable(StringMember(&j, "reason"), 64) + ", message \"" +
         Printable(StringMember(&j, "message")) + "\"";
}

// DNS-1123 subdomain (object names such as claim names): at most 253 of
// [a-z0-9.-], starting and ending with a letter or digit.
bool IsDnsSubdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(s.front()) || !alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) { return alnum(c) || c == '-' || c == '.'; });
}

// DNS-1123 label (namespace names): at most 63 of [a-z0-9-], alphanumeric at both ends.
bool IsDnsLabel(std::string_view s) {
  return s.size() <= 63 && IsDnsSubdomain(s) && s.find('.') == std::string_view::npos;
}

// ---- the three answers ----------------------------------------------------------

struct ClaimList {
  bool ok = false;
  std::vector<Claim> claims;  // sorted by name, unique names
  size_t skipped = 0;         // items without a usable name
};

ClaimList ParseClaimList(const std::string& body, double now) {
  ClaimList out;
  const json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  const json* items = j.is_discarded() ? nullptr : ListItems(j, "PersistentVolumeClaimList");
  if (items == nullptr) return out;
  out.ok = true;
  for (const json& item : *items) {
    const json* meta = Member(item, "metadata");
    Claim c;
    c.name = std::string(StringMember(meta, "name"));
    if (!IsDnsSubdomain(c.name)) {
      ++out.skipped;
      continue;
    }
    c.uid = std::string(StringMember(meta, "uid").substr(0, 64));
    c.created = TimeMember(meta, "creationTimestamp");
    const std::string_view phase = StringMember(Member(item, "status"), "phase");
    for (size_t p = 0; p < kPhaseNames.size(); ++p) {
      if (phase == kPhaseNames[p]) c.phase = static_cast<Phase>(p);
    }
    if (c.phase == Phase::kPending && c.created) {
      c.pending_seconds = std::max(0.0, now - *c.created);
    }
    out.claims.push_back(std::move(c));
  }
  std::stable_sort(out.claims.begin(), out.claims.end(),
                   [](const Claim& a, const Claim& b) { return a.name < b.name; });
  // Two items with one name would make two series with one label set.
  const auto dup = std::unique(out.claims.begin(), out.claims.end(),
                               [](const Claim& a, const Claim& b) { return a.name == b.name; });
  out.skipped += static_cast<size_t>(out.claims.end() - dup);
  out.claims.erase(dup, out.claims.end());
  return out;
}

// The reason of the latest event about `claim` in an EventList: nullopt
// when the body is not an EventList, "" when no event is about the claim.
// Events of another object (or of an earlier claim of the same name, told
// apart by uid) are ignored, whatever the server did with the fieldSelector.
std::optional<std::string> LatestEventReason(const std::string& body, const Claim& claim) {
  const json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  const json* items = j.is_discarded() ? nullptr : ListItems(j, "EventList");
  if (items == nullptr) return std::nullopt;
  bool found = false;
  double latest = -std::numeric_limits<double>::infinity();
  std::string_view reason;
  for (const json& ev : *items) {
    const json* involved = Member(ev, "involvedObject");
    const std::string_view kind = StringMember(involved, "kind");
    const std::string_view name = StringMember(involved, "name");
    const std::string_view uid = StringMember(involved, "uid");
    if (involved == nullptr || (!kind.empty() && kind != "PersistentVolumeClaim") ||
        name != claim.name || (!uid.empty() && !claim.uid.empty() && uid != claim.uid)) {
      continue;
    }
    // The last time the event was seen: the newest of the timestamps the
    // old (lastTimestamp) and new (eventTime, series) recorders write.
    double t = -std::numeric_limits<double>::infinity();
    for (const auto& v : {TimeMember(Member(ev, "series"), "lastObservedTime"),
                          TimeMember(&ev, "lastTimestamp"), TimeMember(&ev, "eventTime"),
                          TimeMember(&ev, "firstTimestamp"),
                          TimeMember(Member(ev, "metadata"), "creationTimestamp")}) {
      if (v) t = std::max(t, *v);
    }
    if (!found || t >= latest) {
      found = true;
      latest = t;
      reason = StringMember(&ev, "reason");
    }
  }
  if (!found) return std::string();
  std::string s = SanitizeErrorCode(reason);
  return s.empty() ? std::string(kReasonUnknown) : s;
}

// Whether a StorageClassList has a default class; nullopt when the body is not one.
std::optional<bool> HasDefaultClass(const std::string& body) {
  const json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  const json* items = j.is_discarded() ? nullptr : ListItems(j, "StorageClassList");
  if (items == nullptr) return std::nullopt;
  for (const json& sc : *items) {
    const json* meta = Member(sc, "metadata");
    const json* annotations = meta ? Member(*meta, "annotations") : nullptr;
    for (std::string_view key : {kDefaultClassAnnotation, kBetaDefaultClassAnnotation}) {
      if (StringMember(annotations, std::string(key).c_str()) == "true") return true;
    }
  }
  return false;
}

// ---- one run ----------------------------------------------------------------------

struct PvcRun {
  const KubernetesPvcProbeSpec* spec = nullptr;
  Fetcher* fetcher = nullptr;
  PvcState* state = nullptr;
  DebugLog* debug = nullptr;
  std::function<void(RunOutcome)> done;
  Clock::time_point deadline;
  HttpRequest base;  // headers, token, TLS and limits shared by the run's requests
  bool finished = false;

  RunOutcome outcome;
  std::vector<Claim> claims;
  std::vector<size_t> lookups;  // indexes into claims
  size_t next_lookup = 0;
  std::optional<bool> default_class;

  void Line(std::string s) const {
    if (debug) debug->Line(std::move(s));
  }
};

using RunPtr = std::shared_ptr<PvcRun>;
using Step = void (*)(const RunPtr&, HttpResult&&);

void Finish(const RunPtr& run) {
  if (run->finished) return;
  run->finished = true;
  run->state->claims = std::move(run->claims);
  run->state->default_class = run->default_class;
  run->done(run->outcome);
}

// Sends a GET of `url` with what is left of the probe's timeout; false (and
// nothing sent) when nothing is left.
bool Send(const RunPtr& run, std::string url, Step next) {
  const auto left = std::chrono::duration_cast<milliseconds>(run->deadline - Clock::now());
  if (left < milliseconds(1)) {
    run->Line("no time left for GET " + url);
    return false;
  }
  HttpRequest req = run->base;
  req.url = std::move(url);
  req.timeout = left;
  run->Line("GET " + req.url);
  run->fetcher->Fetch(std::move(req), run->debug,
                      [run, next](HttpResult&& res) { next(run, std::move(res)); });
  return true;
}

// Describes a failed exchange in the debug log; true when it failed.
bool Failed(const PvcRun& run, const HttpResult& res, std::string_view what) {
  if (res.failure != FailureReason::kNone) {
    run.Line(std::string(what) + " failed: " + std::string(FailureReasonName(res.failure)) + ": " +
             res.error);
    return true;
  }
  if (res.status < 200 || res.status > 299) {
    run.Line(std::string(what) + " answered " + std::to_string(res.status) + ": " +
             DescribeStatus(res.body));
    return true;
  }
  return false;
}

void OnStorageClasses(const RunPtr& run, HttpResult&& res) {
  if (!Failed(*run, res, "storage class list")) {
    run->default_class = HasDefaultClass(res.body);
    if (!run->default_class) {
      run->Line("storage class list: body is not a StorageClassList");
    } else {
      run->Line(std::string("default StorageClass ") +
                (*run->default_class ? "present" : "absent"));
    }
  }
  Finish(run);
}

void CheckStorageClasses(const RunPtr& run) {
  if (!run->spec->config().check_storage_classes ||
      !Send(run, run->spec->StorageClassesUrl(), &OnStorageClasses)) {
    Finish(run);
  }
}

void OnEvents(const RunPtr& run, HttpResult&& res);

void NextLookup(const RunPtr& run) {
  if (run->next_lookup >= run->lookups.size()) {
    CheckStorageClasses(run);
    return;
  }
  const Claim& c = run->claims[run->lookups[run->next_lookup]];
  if (!Send(run, run->spec->EventsUrl(c.name), &OnEvents)) Finish(run);
}

void OnEvents(const RunPtr& run, HttpResult&& res) {
  Claim& c = run->claims[run->lookups[run->next_lookup++]];
  const std::string what = "events of claim " + c.name;
  if (!Failed(*run, res, what)) {
    if (auto reason = LatestEventReason(res.body, c)) {
      c.event_reason = std::move(*reason);
      run->Line(what + ": " + (c.event_reason.empty() ? "none" : "latest reason " + c.event_reason));
    } else {
      run->Line(what + ": body is not an EventList");
    }
  }
  NextLookup(run);
}

void OnClaims(const RunPtr& run, HttpResult&& res) {
  const auto& cfg = run->spec->config();
  if (Failed(*run, res, "claim list")) {
    if (res.failure != FailureReason::kNone) {
      run->outcome = {false, res.failure};
    } else if (res.status == 401 || res.status == 403) {
      run->outcome = {false, FailureReason::kUnauthorized};
    } else {
      run->outcome = {false, FailureReason::kHttpStatus};
    }
    Finish(run);
    return;
  }
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  ClaimList list = ParseClaimList(res.body, now);
  if (!list.ok) {
    run->Line("claim list: body is not a PersistentVolumeClaimList");
    run->outcome = {false, FailureReason::kInvalidBody};
    Finish(run);
    return;
  }
  run->Line("claim list: " + std::to_string(list.claims.size()) + " claims" +
            (list.skipped ? ", " + std::to_string(list.skipped) + " items without a usable name skipped"
                          : ""));

  // Every listed claim counts for the outcome, also those over max_claims.
  const double grace = std::chrono::duration<double>(cfg.pending_grace).count();
  size_t failing = 0;
  for (const Claim& c : list.claims) {
    std::string why;
    if (c.phase == Phase::kLost) {
      why = "is Lost";
    } else if (c.phase == Phase::kPending && !c.pending_seconds) {
      why = "is Pending since an unreadable creationTimestamp";
    } else if (c.phase == Phase::kPending && *c.pending_seconds >= grace) {
      why = "is Pending for " + std::to_string(static_cast<int64_t>(*c.pending_seconds)) + "s";
    }
    if (why.empty()) continue;
    if (failing++ < kDebugClaimLines) run->Line("claim " + c.name + " " + why);
  }
  if (failing > kDebugClaimLines) {
    run->Line("... " + std::to_string(failing - kDebugClaimLines) + " more failing claims");
  }
  run->outcome = failing ? RunOutcome{false, FailureReason::kCheckFailed}
                         : RunOutcome{true, FailureReason::kNone};

  if (list.claims.size() > static_cast<size_t>(cfg.max_claims)) {
    run->Line(std::to_string(list.claims.size() - static_cast<size_t>(cfg.max_claims)) +
              " claims over max_claims are not exported");
    list.claims.resize(static_cast<size_t>(cfg.max_claims));
  }
  run->claims = std::move(list.claims);

  if (cfg.fetch_events) {
    for (size_t i = 0; i < run->claims.size(); ++i) {
      if (run->claims[i].phase == Phase::kPending) run->lookups.push_back(i);
    }
    // The oldest claims are the likeliest to be stuck; an unknown age counts as oldest.
    std::stable_sort(run->lookups.begin(), run->lookups.end(), [&](size_t a, size_t b) {
      const double ta = run->claims[a].created.value_or(-std::numeric_limits<double>::infinity());
      const double tb = run->claims[b].created.value_or(-std::numeric_limits<double>::infinity());
      return ta < tb;
    });
    if (run->lookups.size() > static_cast<size_t>(cfg.max_event_lookups)) {
      run->Line(std::to_string(run->lookups.size() - static_cast<size_t>(cfg.max_event_lookups)) +
                " Pending claims over max_event_lookups get no event lookup this run");
      run->lookups.resize(static_cast<size_t>(cfg.max_event_lookups));
    }
  }
  NextLookup(run);
}

// ---- configuration ------------------------------------------------------------------

bool HasControlChar(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char ch) {
    const auto u = static_cast<unsigned char>(ch);
    return u < 0x20 || u == 0x7f;
  });
}

// The host part of a URL as libcurl reads it ("" when unreadable).
std::string UrlHost(const std::string& url) {
  std::string out;
  CURLU* u = curl_url();
  char* host = nullptr;
  if (curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host) {
    out = host;
  }
  curl_free(host);
  curl_url_cleanup(u);
  return out;
}

bool IsLoopbackHost(std::string_view host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "[::1]";
}

bool Readable(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  std::fclose(f);
  return true;
}

std::string EnvOrEmpty(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

}  // namespace

// ---- public helpers -----------------------------------------------------------------

std::optional<double> ParseRfc3339(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)
  auto digits = [&](size_t pos, size_t n, int* out) {
    if (pos + n > s.size()) return false;
    int v = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
  };
  int y, mo, d, h, mi, sec;
  if (s.size() < 20 || !digits(0, 4, &y) || s[4] != '-' || !digits(5, 2, &mo) || s[7] != '-' ||
      !digits(8, 2, &d) || (s[10] != 'T' && s[10] != 't') || !digits(11, 2, &h) || s[13] != ':' ||
      !digits(14, 2, &mi) || s[16] != ':' || !digits(17, 2, &sec)) {
    return std::nullopt;
  }
  static constexpr std::array<int, 12> kDays = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1] || (mo == 2 && d == 29 && !leap) ||
      h > 23 || mi > 59 || sec > 60) {
    return std::nullopt;
  }
  size_t pos = 19;
  double frac = 0;
  if (s[pos] == '.') {
    double scale = 0.1;
    size_t n = 0;
    for (++pos; pos < s.size() && s[pos] >= '0' && s[pos] <= '9'; ++pos, ++n) {
      frac += (s[pos] - '0') * scale;
      scale /= 10;
    }
    if (n == 0) return std::nullopt;
  }
  int offset = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!digits(pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !digits(pos + 4, 2, &om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset = (s[pos] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  // Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
  const int yy = y - (mo <= 2 ? 1 : 0);
  const int era = (yy >= 0 ? yy : yy - 399) / 400;
  const int yoe = yy - era * 400;
  const int doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const int64_t days = static_cast<int64_t>(era) * 146097 + doe - 719468;
  return static_cast<double>(days * 86400 + h * 3600 + mi * 60 + sec - offset) + frac;
}

std::string EncodeQueryValue(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

std::shared_ptr<const ProbeSpec> ParseKubernetesPvcProbe(MapReader& r, ProbeCommon common,
                                                         const GlobalConfig&) {
  KubernetesPvcConfig c;
  const std::string probe_what =
      "probe " + QuoteForMessage(common.name) + " of service " + QuoteForMessage(common.service);

  c.ns = r.RequiredString("namespace");
  if (!IsDnsLabel(c.ns)) {
    r.FailKey("namespace", "expected a namespace name (at most 63 lowercase letters, digits and "
                           "'-', starting and ending with a letter or digit), got " +
                               QuoteForMessage(c.ns));
  }
  c.label_selector = r.String("label_selector", "");
  if (HasControlChar(c.label_selector)) {
    r.FailKey("label_selector", "expected a label selector such as app.kubernetes.io/name=web, "
                                "without control characters");
  }
  c.max_claims = static_cast<int>(r.Int("max_claims", 256, 1, 10000));
  c.max_event_lookups = static_cast<int>(r.Int("max_event_lookups", 16, 0, 256));
  c.fetch_events = r.Bool("fetch_events", true);
  c.check_storage_classes = r.Bool("check_storage_classes", true);
  c.pending_grace = r.Duration("pending_grace", c.pending_grace);
  if (c.pending_grace.count() < 0) {
    r.FailKey("pending_grace", "expected a duration of zero or more like 2m, got " +
                                   DescribeNode(r.Node("pending_grace")));
  }

  HttpProbeConfig& h = c.http;
  h.headers = {{"Accept", "application/json"}};
  h.follow_redirects = false;  // the API server does not redirect; a token must not follow one
  h.max_redirects = 0;
  h.keep_alive = true;  // a run sends several requests to the one server
  h.body_size_limit = r.ByteSize("body_size_limit", 4 << 20, 1, int64_t{1} << 30);
  TlsConfig tls;
  tls.insecure_skip_verify = r.Bool("insecure_skip_verify", false);

  const auto api_server = r.OptionalString("api_server");
  const auto token_file = r.OptionalString("bearer_token_file");
  const auto ca_file = r.OptionalString("ca_file");

  if (api_server) {
    std::string why;
    if (!IsValidHttpUrl(*api_server, &why)) r.FailKey("api_server", why);
    if (api_server->find_first_of("?#") != std::string::npos) {
      r.FailKey("api_server", "expected the API server's base URL like https://10.0.0.1:6443, "
                              "without a query or fragment");
    }
    h.url = *api_server;
    while (!h.url.empty() && h.url.back() == '/') h.url.pop_back();
  } else {
    const std::string host = EnvOrEmpty("KUBERNETES_SERVICE_HOST");
    const std::string port = EnvOrEmpty("KUBERNETES_SERVICE_PORT");
    if (host.empty() || port.empty()) {
      r.Fail(r.node(), probe_what +
                           " has no Kubernetes API server: api_server is not set and "
                           "KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT are not in the "
                           "environment (not running in a pod); expected api_server (with "
                           "bearer_token_file and ca_file) in the probe");
    }
    c.in_cluster = true;
    h.url = "https://" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
            port;
    std::string why;
    if (!IsValidHttpUrl(h.url, &why)) {
      r.Fail(r.node(), probe_what + ": KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT give " +
                           QuoteForMessage(h.url) + ", which is not usable (" + why +
                           "); expected api_server in the probe");
    }
  }

  if (token_file || c.in_cluster) {
    const std::string path = token_file ? ResolveConfigPath(r.file(), *token_file)
                                        : std::string(kServiceAccountTokenPath);
    h.bearer = std::make_shared<SecretFile>(path);
    const std::string err = h.bearer->Load();
    if (!err.empty()) {
      if (token_file) r.FailKey("bearer_token_file", err);
      r.Fail(r.node(), probe_what + " talks to the API server in-cluster but " + err +
                           "; expected a mounted service account token "
                           "(automountServiceAccountToken) or bearer_token_file in the probe");
    }
  }
  if (ca_file) {
    tls.ca_file = ResolveConfigPath(r.file(), *ca_file);
    if (!Readable(tls.ca_file)) {
      r.FailKey("ca_file", "cannot read file " + QuoteForMessage(tls.ca_file));
    }
  } else if (c.in_cluster && !tls.insecure_skip_verify) {
    tls.ca_file = std::string(kServiceAccountCaPath);
    if (!Readable(tls.ca_file)) {
      r.Fail(r.node(), probe_what + " talks to the API server in-cluster but cannot read " +
                           tls.ca_file + "; expected ca_file in the probe");
    }
  }
  h.tls = std::make_shared<const TlsConfig>(std::move(tls));
  if (h.bearer && h.url.rfind("http://", 0) == 0 && !IsLoopbackHost(UrlHost(h.url))) {
    r.FailKey("api_server", "a bearer token would cross the network in clear text; expected an "
                            "https:// URL (plain http:// only to a loopback address)");
  }
  return std::make_shared<KubernetesPvcProbeSpec>(std::move(common), std::move(c));
}

// ---- the spec -------------------------------------------------------------------------

std::string KubernetesPvcProbeSpec::ClaimsUrl() const {
  std::string url = config_.http.url + "/api/v1/namespaces/" + config_.ns + "/persistentvolumeclaims";
  if (!config_.label_selector.empty()) {
    url += "?labelSelector=" + EncodeQueryValue(config_.label_selector);
  }
  return url;
}

std::string KubernetesPvcProbeSpec::EventsUrl(std::string_view claim) const {
  return config_.http.url + "/api/v1/namespaces/" + config_.ns +
         "/events?fieldSelector=" + EncodeQueryValue("involvedObject.kind=PersistentVolumeClaim") +
         "," + EncodeQueryValue("involvedObject.name=" + std::string(claim));
}

std::string KubernetesPvcProbeSpec::StorageClassesUrl() const {
  return config_.http.url + "/apis/storage.k8s.io/v1/storageclasses";
}

std::unique_ptr<ProbeState> KubernetesPvcProbeSpec::NewState() const {
  return std::make_unique<PvcState>();
}

void KubernetesPvcProbeSpec::Run(Fetcher& fetcher, ProbeState& state, DebugLog* debug,
                                 std::function<void(RunOutcome)> done) const {
  auto run = std::make_shared<PvcRun>();
  run->spec = this;
  run->fetcher = &fetcher;
  run->state = &static_cast<PvcState&>(state);
  run->debug = debug;
  run->done = std::move(done);
  run->deadline = Clock::now() + common().timeout;
  // Reads the token once for the whole run (and registers it as a secret).
  if (!BuildHttpRequest(config_.http, common().timeout, run->base, debug)) {
    run->outcome = {false, FailureReason::kCredentials};
    Finish(run);
    return;
  }
  if (!Send(run, ClaimsUrl(), &OnClaims)) {
    run->outcome = {false, FailureReason::kTimeout};
    Finish(run);
  }
}

void KubernetesPvcProbeSpec::Render(const ProbeState& state, SampleWriter& w) const {
  const auto& s = static_cast<const PvcState&>(state);
  for (const Claim& c : s.claims) {
    for (size_t p = 0; p < kPhaseNames.size(); ++p) {
      const SampleWriter::LabelView labels[] = {
          {"namespace", config_.ns}, {"persistentvolumeclaim", c.name}, {"phase", kPhaseNames[p]}};
      w.Add(FamilyId::kPvcPhase, labels, static_cast<size_t>(c.phase) == p ? 1 : 0);
    }
    if (c.phase != Phase::kPending) continue;
    if (c.pending_seconds) {
      w.Add(FamilyId::kPvcPendingSeconds, "namespace", config_.ns, "persistentvolumeclaim", c.name,
            *c.pending_seconds);
    }
    if (!c.event_reason.empty()) {
      const SampleWriter::LabelView labels[] = {
          {"namespace", config_.ns}, {"persistentvolumeclaim", c.name}, {"reason", c.event_reason}};
      w.Add(FamilyId::kPvcLastEventInfo, labels, 1);
    }
  }
  if (s.default_class) w.Add(FamilyId::kStorageClassDefaultPresent, *s.default_class ? 1 : 0);
}

}  // namespace triage

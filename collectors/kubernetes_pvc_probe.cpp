#include "collectors/kubernetes_pvc_probe.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "base/secret_file.h"
#include "base/yaml_reader.h"

namespace triage {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Claims named one by one in the debug log of a run; the rest are counted.
constexpr size_t kDebugClaimLines = 20;

}  // namespace

struct PvcState : ProbeState {
  std::vector<Claim> claims;          // of the last run, sorted by name, at most max_claims
  std::optional<bool> default_class;  // absent: not checked, or the call failed
};

namespace {

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

std::shared_ptr<const ProbeSpec> ParseKubernetesPvcProbe(MapReader& r, ProbeCommon common) {
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

  HttpClientConfig& h = c.http;
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

void KubernetesPvcProbeSpec::RunKind(Fetcher& fetcher, PvcState& s, DebugLog* debug,
                                     std::function<void(RunOutcome)> done) const {
  auto run = std::make_shared<PvcRun>();
  run->spec = this;
  run->fetcher = &fetcher;
  run->state = &s;
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

void KubernetesPvcProbeSpec::RenderKind(const PvcState& s, SampleWriter& w) const {
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

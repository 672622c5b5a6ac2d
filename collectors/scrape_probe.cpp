#include "collectors/scrape_probe.h"

#include <strings.h>

#include <algorithm>
#include <cctype>
#include <cmath>

#include "collectors/http_run.h"
#include "collectors/json_probe_util.h"
#include "base/yaml_reader.h"

namespace triage {
namespace {

// A start time that moved by less than this is the same process: some
// client libraries derive it from "now minus uptime", which jitters.
constexpr double kRestartToleranceSeconds = 0.5;
// Asks for the 0.0.4 text format, not OpenMetrics or protobuf.
constexpr std::string_view kAcceptText = "text/plain;version=0.0.4;q=1,*/*;q=0.1";
constexpr std::string_view kTargetsPath = "/api/v1/targets?state=active";
constexpr size_t kDetailMax = 200;

bool IsSpace(char c) { return c == ' ' || c == '\t'; }


}  // namespace

struct ScrapeState : HttpRunState {
  bool up = false;       // the last fetch answered 2xx and parsed
  size_t samples = 0;    // of the last fetch, when `up`
  // Entry text and whether it was present, as of the last fetch that parsed.
  // Kept with the text (not an index into the spec) because a reload may
  // hand this state to a spec with different entries.
  std::vector<std::pair<std::string, bool>> present;
  std::optional<double> fd_utilization;
  std::optional<double> start_time;  // process_start_time_seconds of the last good fetch
  uint64_t restarts = 0;
  std::optional<bool> prometheus_up;
  bool have_phases = false;  // false until an exchange with the target finished
};

namespace {

// What one parse of a metrics page found.
struct PageFacts {
  std::vector<bool> met;
  std::optional<double> start_time, open_fds, max_fds;
};

bool Compare(MetricExpectation::Op op, double v, double threshold) {
  using Op = MetricExpectation::Op;
  switch (op) {
    case Op::kNone: return true;
    case Op::kGt: return v > threshold;
    case Op::kGe: return v >= threshold;
    case Op::kEq: return v == threshold;
    case Op::kLt: return v < threshold;
    case Op::kLe: return v <= threshold;
    case Op::kNe: return v != threshold;
  }
  return false;
}

// ---- expect_metrics grammar ---------------------------------------------------

class ExpectationParser {
 public:
  explicit ExpectationParser(std::string_view t) : t_(t) {}

  std::optional<MetricExpectation> Parse(std::string* error) {
    MetricExpectation e;
    e.text = std::string(t_);
    Skip();
    const size_t start = i_;
    if (i_ < t_.size() && (std::isalpha(static_cast<unsigned char>(t_[i_])) || t_[i_] == '_' ||
                           t_[i_] == ':')) {
      while (i_ < t_.size() && (std::isalnum(static_cast<unsigned char>(t_[i_])) ||
                                t_[i_] == '_' || t_[i_] == ':')) {
        ++i_;
      }
    }
    e.name = std::string(t_.substr(start, i_ - start));
    if (e.name.empty()) return Fail(error, "expected a metric name");
    Skip();
    if (i_ < t_.size() && t_[i_] == '{') {
      ++i_;
      if (!Matchers(e, error)) return std::nullopt;
    }
    Skip();
    if (i_ == t_.size()) return e;
    if (!Op(e)) {
      return Fail(error, "expected a comparison (>, >=, ==, <, <=, !=) or the end of the entry");
    }
    Skip();
    const size_t nstart = i_;
    while (i_ < t_.size() && !IsSpace(t_[i_])) ++i_;
    const auto number = ParseExpositionValue(t_.substr(nstart, i_ - nstart));
    if (!number) {
      i_ = nstart;
      return Fail(error, "expected a number such as 0, 1.5, 1e3 or +Inf after the comparison");
    }
    e.threshold = *number;
    Skip();
    if (i_ != t_.size()) return Fail(error, "unexpected text after the number");
    return e;
  }

 private:
  void Skip() {
    while (i_ < t_.size() && IsSpace(t_[i_])) ++i_;
  }
  // Sets `*error` to `what` and the 1-based position; returns false.
  bool Err(std::string* error, std::string_view what) const {
    if (error) *error = std::string(what) + " at character " + std::to_string(i_ + 1);
    return false;
  }
  std::nullopt_t Fail(std::string* error, std::string_view what) const {
    Err(error, what);
    return std::nullopt;
  }

  bool Matchers(MetricExpectation& e, std::string* error) {
    for (;;) {
      Skip();
      if (i_ == t_.size()) return Err(error, "expected '}' to close the label matchers");
      if (t_[i_] == '}') {
        ++i_;
        return true;
      }
      const size_t start = i_;
      if (std::isalpha(static_cast<unsigned char>(t_[i_])) || t_[i_] == '_') {
        while (i_ < t_.size() &&
               (std::isalnum(static_cast<unsigned char>(t_[i_])) || t_[i_] == '_')) {
          ++i_;
        }
      }
      std::string label(t_.substr(start, i_ - start));
      if (label.empty()) return Err(error, "expected a label name or '}'");
      Skip();
      if (i_ + 1 < t_.size() && (t_.compare(i_, 2, "!=") == 0 || t_.compare(i_, 2, "=~") == 0 ||
                                 t_.compare(i_, 2, "!~") == 0)) {
        return Err(error, "only equality matchers like label=\"value\" are supported");
      }
      if (i_ == t_.size() || t_[i_] != '=') {
        return Err(error, "expected '=' after the label name");
      }
      ++i_;
      Skip();
      if (i_ == t_.size() || t_[i_] != '"') {
        return Err(error, "expected a double-quoted label value");
      }
      ++i_;
      std::string value;
      for (;;) {
        if (i_ == t_.size()) return Err(error, "unterminated label value");
        const char c = t_[i_];
        if (c == '"') break;
        if (c == '\\') {
          const char n = i_ + 1 < t_.size() ? t_[i_ + 1] : '\0';
          if (n != '\\' && n != '"' && n != 'n') {
            return Err(error, "invalid escape in label value (only \\\\, \\\" and \\n)");
          }
          value += n == 'n' ? '\n' : n;
          i_ += 2;
          continue;
        }
        value += c;
        ++i_;
      }
      ++i_;  // closing quote
      for (const auto& m : e.matchers) {
        if (m.first == label) return Err(error, "label \"" + label + "\" matched twice");
      }
      e.matchers.emplace_back(std::move(label), std::move(value));
      Skip();
      if (i_ < t_.size() && t_[i_] == ',') {
        ++i_;
        continue;
      }
      if (i_ < t_.size() && t_[i_] == '}') {
        ++i_;
        return true;
      }
      return Err(error, "expected ',' or '}' after the label value");
    }
  }

  bool Op(MetricExpectation& e) {
    using O = MetricExpectation::Op;
    static constexpr std::pair<std::string_view, O> kOps[] = {
        {">=", O::kGe}, {"<=", O::kLe}, {"==", O::kEq}, {"!=", O::kNe}, {">", O::kGt}, {"<", O::kLt}};
    for (const auto& [text, op] : kOps) {
      if (t_.compare(i_, text.size(), text) == 0) {
        e.op = op;
        i_ += text.size();
        return true;
      }
    }
    return false;
  }

  std::string_view t_;
  size_t i_ = 0;
};

// ---- configuration ----------------------------------------------------------------

void ParseExpectMetrics(MapReader& r, ScrapeProbeConfig& c) {
  const std::vector<std::string> entries = r.StringList("expect_metrics");
  if (entries.empty()) return;
  const YAML::Node list = r.Node("expect_metrics");
  if (entries.size() > kMaxExpectMetrics) {
    r.FailKey("expect_metrics", "expected at most " + std::to_string(kMaxExpectMetrics) +
                                    " entries, got " + std::to_string(entries.size()));
  }
  const std::string hint =
      "; entries look like name, name{label=\"value\"} or name{label=\"value\"} > 0";
  for (size_t i = 0; i < entries.size(); ++i) {
    const YAML::Node item = list[i];
    const std::string what = "invalid value for \"expect_metrics\" item " + std::to_string(i + 1) +
                             " " + QuoteForMessage(entries[i]) + ": ";
    if (entries[i].size() > kMaxExpectMetricLength) {
      r.Fail(item, what + "expected at most " + std::to_string(kMaxExpectMetricLength) +
                       " characters, got " + std::to_string(entries[i].size()));
    }
    std::string error;
    auto e = ParseMetricExpectation(entries[i], &error);
    if (!e) r.Fail(item, what + error + hint);
    for (const auto& prev : c.expect_metrics) {
      if (prev.text == e->text) r.Fail(item, what + "given twice; expected each entry once");
    }
    c.expect_metrics.push_back(std::move(*e));
  }
}

}  // namespace

// ---- expectations and the targets API ----------------------------------------------

std::optional<MetricExpectation> ParseMetricExpectation(std::string_view text, std::string* error) {
  return ExpectationParser(text).Parse(error);
}

bool MetricExpectation::Matches(const ExpositionSample& sample) const {
  if (sample.name != name) return false;
  for (const auto& [label, value] : matchers) {
    const ExpositionLabel* found = nullptr;
    for (const auto& l : sample.labels) {
      if (l.name == label) {
        found = &l;
        break;
      }
    }
    if (!found) {
      if (!value.empty()) return false;  // label="" also matches an absent label
      continue;
    }
    if (!LabelValueEquals(found->raw_value, value)) return false;
  }
  return Compare(op, sample.value, threshold);
}

PrometheusTargetVerdict EvaluatePrometheusTargets(std::string_view body, std::string_view job,
                                                  std::string_view instance, std::string* detail) {
  auto set = [&](std::string s) {
    if (detail) *detail = std::move(s);
  };
  const auto doc = ParseJsonBody(body);
  if (!doc || !doc->is_object()) {
    set("the answer is not a JSON object");
    return PrometheusTargetVerdict::kInvalid;
  }
  const auto status = doc->find("status");
  if (status == doc->end() || !status->is_string() || *status != "success") {
    set("the answer has no \"status\": \"success\"");
    return PrometheusTargetVerdict::kInvalid;
  }
  const auto data = doc->find("data");
  if (data == doc->end() || !data->is_object()) {
    set("the answer has no \"data\" object");
    return PrometheusTargetVerdict::kInvalid;
  }
  const auto active = data->find("activeTargets");
  if (active == data->end() || !active->is_array()) {
    set("the answer has no \"data.activeTargets\" list");
    return PrometheusTargetVerdict::kInvalid;
  }
  auto label_is = [](const nlohmann::json& labels, const char* key, std::string_view want) {
    const auto it = labels.find(key);
    return it != labels.end() && it->is_string() && it->get_ref<const std::string&>() == want;
  };
  size_t matched = 0, not_up = 0;
  std::string first_problem;
  for (const auto& t : *active) {
    if (!t.is_object()) continue;
    const auto labels = t.find("labels");
    if (labels == t.end() || !labels->is_object()) continue;
    if (!label_is(*labels, "job", job)) continue;
    if (!instance.empty() && !label_is(*labels, "instance", instance)) continue;
    ++matched;
    const auto health = t.find("health");
    const bool up = health != t.end() && health->is_string() && *health == "up";
    if (up) continue;
    if (++not_up == 1) {
      const auto err = t.find("lastError");
      first_problem = "health " +
                      std::string(health != t.end() && health->is_string()
                                      ? Printable(health->get_ref<const std::string&>(), 16)
                                      : "missing");
      if (err != t.end() && err->is_string() && !err->get_ref<const std::string&>().empty()) {
        first_problem += ", lastError \"" + Printable(err->get_ref<const std::string&>()) + "\"";
      }
    }
  }
  if (matched == 0) {
    set("no active target with job \"" + Printable(job, 64) + "\"" +
        (instance.empty() ? "" : " and instance \"" + Printable(instance, 64) + "\""));
    return PrometheusTargetVerdict::kNotFound;
  }
  if (not_up > 0) {
    set(std::to_string(not_up) + " of " + std::to_string(matched) + " target(s) not up: " +
        first_problem);
    return PrometheusTargetVerdict::kNotUp;
  }
  set(std::to_string(matched) + " target(s) up");
  return PrometheusTargetVerdict::kUp;
}

// ---- configuration --------------------------------------------------------------------

std::shared_ptr<const ProbeSpec> ParseScrapeProbe(MapReader& r, ProbeCommon common) {
  ScrapeProbeConfig c;
  ParseHttpClientOptions(r, c.http);
  ParseExpectMetrics(r, c);
  c.sample_limit = static_cast<size_t>(r.Int("sample_limit", 100000, 1, 100000000));
  if (auto url = r.OptionalString("prometheus_url")) {
    std::string why;
    if (!IsValidHttpUrl(*url, &why)) r.FailKey("prometheus_url", why);
    if (url->find_first_of("?#") != std::string::npos) {
      r.FailKey("prometheus_url", "expected the base URL of a Prometheus server such as "
                                  "http://prometheus:9090, without a query");
    }
    while (!url->empty() && url->back() == '/') url->pop_back();
    c.prometheus_url = *url;
  }
  c.prometheus_body_size_limit =
      r.ByteSize("prometheus_body_size_limit", 16 << 20, 1, int64_t{1} << 30);
  c.job = r.String("job", "");
  c.instance = r.String("instance", "");
  if (!c.prometheus_url.empty() && c.job.empty()) {
    if (r.Has("job")) r.FailKey("job", "expected a non-empty Prometheus job name");
    r.FailKey("prometheus_url", "prometheus_url needs job: the job label Prometheus gives the target");
  }
  if (c.prometheus_url.empty()) {
    for (const char* key : {"job", "instance", "prometheus_body_size_limit"}) {
      if (r.Has(key)) r.FailKey(key, "only used together with prometheus_url");
    }
  }
  return std::make_shared<ScrapeProbeSpec>(std::move(common), std::move(c));
}

// ---- running -----------------------------------------------------------------------------

namespace {

// Forgets what the last fetch of the target said.
void ClearTargetView(ScrapeState& s) {
  s.up = false;
  s.present.clear();
  s.fd_utilization.reset();
}

// Turns the page of a 2xx answer of the target into state and an outcome.
RunOutcome HandleTargetPage(const ScrapeProbeConfig& c, ScrapeState& s, const HttpResult& res,
                            DebugLog* debug) {
  PageFacts facts;
  facts.met.assign(c.expect_metrics.size(), false);
  ExpositionOptions options;
  options.sample_limit = c.sample_limit;
  const ExpositionResult parsed =
      ParseExposition(res.body, options, [&](const ExpositionSample& sample) {
        for (size_t i = 0; i < c.expect_metrics.size(); ++i) {
          if (!facts.met[i] && c.expect_metrics[i].Matches(sample)) facts.met[i] = true;
        }
        if (sample.name.size() > 8 && sample.name.substr(0, 8) == "process_") {
          if (sample.name == "process_start_time_seconds" && !facts.start_time) {
            facts.start_time = sample.value;
          } else if (sample.name == "process_open_fds" && !facts.open_fds) {
            facts.open_fds = sample.value;
          } else if (sample.name == "process_max_fds" && !facts.max_fds) {
            facts.max_fds = sample.value;
          }
        }
      });
  if (parsed.status == ExpositionStatus::kInvalid) {
    if (debug) debug->Line("invalid_body: not Prometheus text format: " + parsed.error);
    return {false, FailureReason::kInvalidBody};
  }
  if (parsed.status == ExpositionStatus::kSampleLimit) {
    if (debug) debug->Line("body_too_large: " + parsed.error);
    return {false, FailureReason::kBodyTooLarge};
  }

  s.up = true;
  s.samples = parsed.samples;
  if (debug) {
    debug->Line("parsed " + std::to_string(parsed.samples) + " samples in " +
                std::to_string(parsed.lines) + " lines");
  }
  bool all_met = true;
  s.present.reserve(c.expect_metrics.size());
  for (size_t i = 0; i < c.expect_metrics.size(); ++i) {
    s.present.emplace_back(c.expect_metrics[i].text, facts.met[i]);
    all_met = all_met && facts.met[i];
    if (debug) {
      debug->Line("expect_metrics " + c.expect_metrics[i].text +
                  (facts.met[i] ? ": present" : ": missing"));
    }
  }
  if (facts.open_fds && facts.max_fds && *facts.max_fds > 0) {
    s.fd_utilization = *facts.open_fds / *facts.max_fds;
  }
  if (facts.start_time && std::isfinite(*facts.start_time)) {
    if (s.start_time && *facts.start_time > *s.start_time + kRestartToleranceSeconds) {
      ++s.restarts;
      if (debug) debug->Line("process_start_time_seconds moved forward: the target restarted");
    }
    s.start_time = facts.start_time;
  }
  if (parsed.samples == 0) {
    if (debug) debug->Line("empty: the page holds no samples (nothing recorded yet?)");
    return {false, FailureReason::kEmpty};
  }
  if (!all_met) return {false, FailureReason::kCheckFailed};
  return {true, FailureReason::kNone};
}

// Turns the Prometheus answer into state and an outcome.
RunOutcome HandlePrometheusResult(const ScrapeProbeConfig& c, ScrapeState& s, const HttpResult& res,
                                  DebugLog* debug) {
  s.prometheus_up.reset();
  if (auto failed = JudgeTransportAndStatus(res, {}, StatusLine::kOnlyNot2xx, debug,
                                            "prometheus: ")) {
    return *failed;
  }
  std::string detail;
  const auto verdict = EvaluatePrometheusTargets(res.body, c.job, c.instance, &detail);
  if (debug) debug->Line("prometheus: " + detail);
  switch (verdict) {
    case PrometheusTargetVerdict::kUp:
      s.prometheus_up = true;
      return {true, FailureReason::kNone};
    case PrometheusTargetVerdict::kNotUp:
    case PrometheusTargetVerdict::kNotFound:
      s.prometheus_up = false;
      return {false, FailureReason::kCheckFailed};
    case PrometheusTargetVerdict::kInvalid:
      break;
  }
  return {false, FailureReason::kInvalidBody};
}

bool HasHeader(const std::vector<std::pair<std::string, std::string>>& headers, const char* name) {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const auto& h) { return strcasecmp(h.first.c_str(), name) == 0; });
}

}  // namespace

void ScrapeProbeSpec::RunKind(Fetcher& fetcher, ScrapeState& s, DebugLog* debug,
                              std::function<void(RunOutcome)> done) const {
  const auto started = std::chrono::steady_clock::now();
  HttpRunSteps steps;
  steps.status_line = StatusLine::kOnlyNot2xx;
  steps.prepare = [](HttpRequest& req) {
    if (!HasHeader(req.headers, "Accept")) req.headers.emplace_back("Accept", kAcceptText);
  };
  steps.clear = [&s](FailureReason why) {
    ClearTargetView(s);
    // Without a request to the target the Prometheus view is not asked either.
    if (why == FailureReason::kCredentials) s.prometheus_up.reset();
  };
  steps.record = [&s](const HttpResult&) {
    ClearTargetView(s);
    s.have_phases = true;
  };
  steps.judge_body = [this, &s, debug](const HttpResult& res) {
    return HandleTargetPage(config_, s, res, debug);
  };
  steps.then = [this, &fetcher, &s, debug, started](RunOutcome target,
                                                     std::function<void(RunOutcome)> done) {
    if (config_.prometheus_url.empty()) {
      done(target);
      return;
    }
    // The Prometheus view is asked even when the target failed: the two
    // answers together say which hop is broken. It gets what is left of the
    // probe's timeout.
    const auto left = common().timeout - std::chrono::duration_cast<std::chrono::milliseconds>(
                                             std::chrono::steady_clock::now() - started);
    if (left < std::chrono::milliseconds(1)) {
      s.prometheus_up.reset();
      if (debug) debug->Line("prometheus: not asked, the timeout is used up");
      done(target.success ? RunOutcome{false, FailureReason::kTimeout} : target);
      return;
    }
    HttpRequest preq;
    preq.url = config_.prometheus_url + std::string(kTargetsPath);
    preq.headers.emplace_back("Accept", "application/json");
    preq.body_size_limit = config_.prometheus_body_size_limit;
    preq.timeout = left;
    if (debug) debug->Line("GET " + preq.url);
    fetcher.Fetch(std::move(preq), debug, [this, &s, debug, target, done](HttpResult&& pres) {
      const RunOutcome prom = HandlePrometheusResult(config_, s, pres, debug);
      done(target.success ? prom : target);
    });
  };
  RunHttpExchange(fetcher, config_.http, common().timeout, s, debug, std::move(steps),
                  std::move(done));
}

void ScrapeProbeSpec::RenderKind(const ScrapeState& s, SampleWriter& w) const {
  if (!s.ran) return;
  if (s.have_phases) RenderPhases(s.phases, w, /*with_http_phases=*/true);
  s.responses.Render(w);
  w.Add(FamilyId::kScrapeUp, s.up ? 1 : 0);
  if (s.up) {
    w.Add(FamilyId::kScrapeSamples, static_cast<double>(s.samples));
    for (const auto& [text, present] : s.present) {
      w.Add(FamilyId::kScrapeExpectedMetricPresent, "metric", text, present ? 1 : 0);
    }
    if (s.fd_utilization) w.Add(FamilyId::kTargetFdUtilization, *s.fd_utilization);
  }
  w.Add(FamilyId::kTargetRestartsTotal, static_cast<double>(s.restarts));
  if (s.prometheus_up) w.Add(FamilyId::kScrapePrometheusTargetUp, *s.prometheus_up ? 1 : 0);
}

}  // namespace triage

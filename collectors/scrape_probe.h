// kind: scrape — fetches a target's own /metrics page the way Prometheus
// would (same client options as kind: http: bearer from credentials_file,
// basic_auth, TLS, body_size_limit) and checks what is in it:
//
//   - the page parses as text exposition format 0.0.4 (triage_scrape_up) and
//     how many samples it holds (triage_scrape_samples);
//   - each `expect_metrics` entry is there (triage_scrape_expected_metric_present);
//   - process_start_time_seconds moved forward since the previous good fetch
//     (triage_target_restarts_total);
//   - process_open_fds / process_max_fds (triage_target_fd_utilization), for
//     the proxy that falls over at the 1024 descriptor default;
//   - optionally, whether a Prometheus server sees the target UP
//     (triage_scrape_prometheus_target_up), so a broken hop between the two
//     (NetworkPolicy, ServiceMonitor, Secret reference) shows apart from a
//     broken target.
//
// Failure reasons, first match wins:
//   transport failures of the target fetch as kind: http reports them
//     (timeout, connection_refused, body_too_large, ...);
//   unauthorized   401 or 403 from the metrics endpoint (bearer missing/wrong);
//   http_status    any other non-2xx answer;
//   invalid_body   not text format (the debug output names the line);
//   body_too_large also when the page holds more than sample_limit samples:
//                  the page is well-formed but over the configured budget,
//                  which is fixed the same way as an oversized body;
//   empty          the page holds no samples at all (zero bytes, or only
//                  comments): the endpoint is up but nothing was recorded yet;
//   check_failed   an expect_metrics entry is missing, or Prometheus reports
//                  the target not UP (or not at all);
//   then failures of the Prometheus query itself (its transport reason,
//     unauthorized/http_status, invalid_body for JSON that is not the targets API).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/collector.h"
#include "exposition/exposition_parser.h"
#include "collectors/http_client.h"

namespace triage {

class MapReader;

// One `expect_metrics` entry. Grammar (whitespace allowed between tokens):
//
//   entry   = metric_name [ "{" [ matcher { "," matcher } [ "," ] ] "}" ] [ op number ]
//   matcher = label_name "=" '"' value '"'      value escapes: \\ \" \n
//   op      = ">" | ">=" | "==" | "<" | "<=" | "!="
//   number  = a sample value: 0, 1.5, 1e3, NaN, +Inf, -Inf
//
// The entry is present when at least one sample has exactly that metric
// name, every matcher's label with that value (other labels are ignored; a
// matcher with "" also matches a sample without the label, as in PromQL),
// and, with an op, a value that compares true against the number.
struct MetricExpectation {
  enum class Op { kNone, kGt, kGe, kEq, kLt, kLe, kNe };
  std::string text;  // as written in the config: the `metric` label value
  std::string name;
  std::vector<std::pair<std::string, std::string>> matchers;  // label name, decoded value
  Op op = Op::kNone;
  double threshold = 0;

  // True when `sample` satisfies this entry.
  bool Matches(const ExpositionSample& sample) const;
};

inline constexpr size_t kMaxExpectMetrics = 32;
inline constexpr size_t kMaxExpectMetricLength = 200;  // bytes of one entry

// Parses one entry; nullopt with `*error` set (what was expected, at which
// character of the entry) when it does not follow the grammar.
std::optional<MetricExpectation> ParseMetricExpectation(std::string_view text, std::string* error);

struct ScrapeProbeConfig {
  HttpClientConfig http;  // url, authorization, tls_config, body_size_limit, ...
  std::vector<MetricExpectation> expect_metrics;
  size_t sample_limit = 100000;
  // Optional Prometheus cross-check.
  std::string prometheus_url;  // base URL, no trailing slash; empty: not asked
  std::string job;
  std::string instance;        // empty: every active target of the job
  int64_t prometheus_body_size_limit = 16 << 20;
};

// What the targets API says about one job (and instance).
enum class PrometheusTargetVerdict {
  kUp,        // matching targets found, all with health "up"
  kNotUp,     // matching targets found, at least one "down" or "unknown"
  kNotFound,  // no active target with those labels
  kInvalid,   // not the /api/v1/targets answer
};

// Evaluates a /api/v1/targets response body. `*detail` (may be null) gets a
// short line for the debug output: the count and the lastError of the first
// target that is not up (cut to 200 bytes). Never throws.
PrometheusTargetVerdict EvaluatePrometheusTargets(std::string_view body, std::string_view job,
                                                  std::string_view instance, std::string* detail);

// Parses the scrape keys of a probe (docs/configuration.md, "kind: scrape").
std::shared_ptr<const ProbeSpec> ParseScrapeProbe(MapReader& r, ProbeCommon common);

struct ScrapeState;  // kept between runs; defined in scrape_probe.cpp

class ScrapeProbeSpec : public KindSpec<ScrapeProbeConfig, ScrapeState> {
 public:
  using KindSpec::KindSpec;

 private:
  void RunKind(Fetcher& fetcher, ScrapeState& state, DebugLog* debug,
               std::function<void(RunOutcome)> done) const override;
  void RenderKind(const ScrapeState& state, SampleWriter& w) const override;
};

}  // namespace triage

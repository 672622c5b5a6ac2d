// How long /metrics takes to render, server side, for 1k, 10k and 100k
// probe series, against the stock prometheus-cpp path (Registry::Collect and
// TextSerializer) holding the same series, built in the same program.
//
//   bench_metrics_render [--series 1000,10000,100000] [--min-seconds 2] [--verify]
//
// --verify only checks that both sides hold the same series with the same
// values (label order and number formatting aside) and exits 1 if not; the
// test suite runs it so the comparison stays like for like.
//
// The exporter side is App::RenderMetrics, the function /metrics calls, on a
// probe table of http probes whose snapshots have the shape the scheduler
// writes for kind http (35 series each). Prints one JSON object per size.
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "exporter/app.h"
#include "exposition/snapshot.h"
#include "exporter/metrics_page.h"
#include "exporter/web.h"

namespace {

using triage::FamilyId;
using Labels = std::map<std::string, std::string>;

// A probe that is never run: the table only needs its identity.
class IdleSpec : public triage::ProbeSpec {
 public:
  using ProbeSpec::ProbeSpec;
  std::unique_ptr<triage::ProbeState> NewState() const override { return nullptr; }
  void Run(triage::Fetcher&, triage::ProbeState&, triage::DebugLog*,
           std::function<void(triage::RunOutcome)> done) const override {
    done({true, triage::FailureReason::kNone});
  }
  void Render(const triage::ProbeState&, triage::SampleWriter&) const override {}
};

// One http probe's series, as label sets with values, written both ways.
struct Series {
  FamilyId family;
  std::vector<std::pair<std::string, std::string>> labels;  // beyond the identity
  double value;
};

std::vector<Series> HttpProbeSeries(int i) {
  const double runs = 1000 + i % 97;
  return {
      {FamilyId::kProbeSuccess, {}, 1},
      {FamilyId::kProbeInfo, {{"kind", "http"}, {"layer", "traffic"}}, 1},
      {FamilyId::kProbesTotal, {{"result", "success"}}, runs},
      {FamilyId::kProbesTotal, {{"result", "failure"}}, 12},
      {FamilyId::kProbeFailuresTotal, {{"reason", "http_status"}}, 9},
      {FamilyId::kProbeFailuresTotal, {{"reason", "timeout"}}, 3},
      {FamilyId::kProbePhaseSeconds, {{"phase", "dns"}}, 0.000012},
      {FamilyId::kProbePhaseSeconds, {{"phase", "connect"}}, 0.000153},
      {FamilyId::kProbePhaseSeconds, {{"phase", "tls"}}, 0},
      {FamilyId::kProbePhaseSeconds, {{"phase", "ttfb"}}, 0.00112},
      {FamilyId::kProbePhaseSeconds, {{"phase", "transfer"}}, 0.0000431},
      {FamilyId::kHttpResponsesTotal, {{"code", "200"}}, runs - 9},
      {FamilyId::kHttpResponsesTotal, {{"code", "429"}}, 5},
      {FamilyId::kHttpResponsesTotal, {{"code", "503"}}, 4},
      {FamilyId::kHttpErrorResponsesTotal, {{"code", "429"}, {"error_code", "rate_limited"}}, 5},
      {FamilyId::kHttpErrorResponsesTotal, {{"code", "503"}, {"error_code", "shutting_down"}}, 4},
      {FamilyId::kHttpRetryAfterSeconds, {}, 0},
      {FamilyId::kHttpVersion, {}, 1.1},
      {FamilyId::kHttpStatusCode, {}, 200},
      {FamilyId::kClockSkewSeconds, {}, -0.25},
  };
}
// Plus the duration histogram: 12 buckets, +Inf, _sum and _count.
constexpr int kSeriesPerProbe = 20 + 15;

std::vector<std::pair<std::string, std::string>> Identity(int i) {
  char service[32], probe[32];
  std::snprintf(service, sizeof service, "service-%04d", i / 8);
  std::snprintf(probe, sizeof probe, "probe-%d", i % 8);
  return {{"service", service}, {"probe", probe}, {"team", "platform"}, {"cluster_id", "prod-eu-1"}};
}

std::vector<uint64_t> DurationCounts(int i, uint64_t* count, double* sum) {
  std::vector<uint64_t> cumulative;
  uint64_t acc = 0;
  for (size_t b = 0; b < triage::kProbeDurationBuckets.size(); ++b) {
    acc += static_cast<uint64_t>((i + 7 * b) % 50);
    cumulative.push_back(acc);
  }
  *count = acc + 3;
  *sum = static_cast<double>(acc) * 0.0123;
  return cumulative;
}

std::shared_ptr<const triage::Snapshot> ExporterSnapshot(int i) {
  triage::SampleWriter w(triage::RenderLabelPairs(Identity(i)));
  for (const auto& s : HttpProbeSeries(i)) {
    std::vector<triage::SampleWriter::LabelView> views;
    for (const auto& [k, v] : s.labels) views.emplace_back(k, v);
    w.Add(s.family, views, s.value);
  }
  uint64_t count = 0;
  double sum = 0;
  const auto cumulative = DurationCounts(i, &count, &sum);
  w.AddHistogram(FamilyId::kProbeDurationSeconds, triage::ProbeDurationBounds(),
                 cumulative.data(), count, sum);
  return std::make_shared<const triage::Snapshot>(w.Finish());
}

// The same series in a prometheus-cpp Registry.
void FillRegistry(prometheus::Registry& r, int probes) {
  std::map<FamilyId, prometheus::Family<prometheus::Gauge>*> gauges;
  std::map<FamilyId, prometheus::Family<prometheus::Counter>*> counters;
  for (size_t f = 0; f < triage::kFamilyCount; ++f) {
    const auto& info = triage::kFamilies[f];
    const std::string name(info.name), help(info.help);
    if (info.type == triage::MetricType::kGauge) {
      gauges[static_cast<FamilyId>(f)] = &prometheus::BuildGauge().Name(name).Help(help).Register(r);
    } else if (info.type == triage::MetricType::kCounter) {
      counters[static_cast<FamilyId>(f)] = &prometheus::BuildCounter().Name(name).Help(help).Register(r);
    }
  }
  const auto& dur = triage::Family(FamilyId::kProbeDurationSeconds);
  auto& hist = prometheus::BuildHistogram().Name(std::string(dur.name)).Help(std::string(dur.help)).Register(r);
  const prometheus::Histogram::BucketBoundaries bounds(triage::kProbeDurationBuckets.begin(),
                                                       triage::kProbeDurationBuckets.end());
  for (int i = 0; i < probes; ++i) {
    Labels id;
    for (const auto& [k, v] : Identity(i)) id[k] = v;
    for (const auto& s : HttpProbeSeries(i)) {
      Labels l = id;
      for (const auto& [k, v] : s.labels) l[k] = v;
      if (auto g = gauges.find(s.family); g != gauges.end()) {
        g->second->Add(l).Set(s.value);
      } else {
        counters.at(s.family)->Add(l).Increment(s.value);
      }
    }
    uint64_t count = 0;
    double sum = 0;
    const auto cumulative = DurationCounts(i, &count, &sum);
    std::vector<double> non_cumulative;
    uint64_t prev = 0;
    for (uint64_t c : cumulative) {
      non_cumulative.push_back(static_cast<double>(c - prev));
      prev = c;
    }
    non_cumulative.push_back(static_cast<double>(count - prev));
    hist.Add(id, bounds).ObserveMultiple(non_cumulative, sum);
  }
}

// "name{a="x",b="y"} value" lines -> {"name{a=x,b=y}" with labels sorted: value}.
std::map<std::string, double> SeriesOf(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t sp = line.rfind(' ');
    std::string key = line.substr(0, sp);
    const size_t brace = key.find('{');
    if (brace != std::string::npos) {
      std::vector<std::string> labels;
      std::string body = key.substr(brace + 1, key.size() - brace - 2);
      size_t start = 0;
      bool quoted = false;
      for (size_t i = 0; i <= body.size(); ++i) {
        if (i < body.size() && body[i] == '"' && (i == 0 || body[i - 1] != '\\')) quoted = !quoted;
        if (i == body.size() || (body[i] == ',' && !quoted)) {
          labels.push_back(body.substr(start, i - start));
          start = i + 1;
        }
      }
      std::sort(labels.begin(), labels.end());
      key = key.substr(0, brace) + "{";
      for (const auto& l : labels) key += l + ",";
      key += "}";
    }
    out[key] = std::strtod(line.c_str() + sp + 1, nullptr);
  }
  return out;
}

int Verify(const std::string& exporter_text, const std::string& stock_text) {
  auto a = SeriesOf(exporter_text);
  const auto b = SeriesOf(stock_text);
  // The exporter's own metrics are not part of the comparison.
  for (auto it = a.begin(); it != a.end();) {
    const bool own = it->first.rfind("triage_exporter_", 0) == 0 || it->first.rfind("process_", 0) == 0;
    it = own ? a.erase(it) : std::next(it);
  }
  int bad = 0;
  for (const auto& [k, v] : a) {
    auto it = b.find(k);
    if (it == b.end()) {
      if (bad++ < 5) std::fprintf(stderr, "only in the exporter: %s\n", k.c_str());
    } else if (std::fabs(it->second - v) > 1e-9 * std::max(1.0, std::fabs(v))) {
      if (bad++ < 5) std::fprintf(stderr, "differs: %s %g vs %g\n", k.c_str(), v, it->second);
    }
  }
  int only_b = 0;
  for (const auto& [k, v] : b) {
    if (a.count(k)) continue;
    if (only_b++ < 5) std::fprintf(stderr, "only in prometheus-cpp: %s\n", k.c_str());
    ++bad;
  }
  std::fprintf(stderr, "%zu series on each side, %d differences\n", a.size(), bad);
  return bad == 0 && !a.empty() ? 0 : 1;
}

struct Timing {
  double p50_ms = 0, p99_ms = 0, min_ms = 0;
  int runs = 0;
  size_t bytes = 0;
};

Timing Measure(const std::function<size_t()>& render, double min_seconds) {
  std::vector<double> ms;
  size_t bytes = render();  // warm-up
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(min_seconds);
  while (ms.size() < 5 || (std::chrono::steady_clock::now() < until && ms.size() < 2000)) {
    const auto t0 = std::chrono::steady_clock::now();
    bytes = render();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  Timing t;
  t.runs = static_cast<int>(ms.size());
  t.min_ms = ms.front();
  t.p50_ms = ms[ms.size() / 2];
  t.p99_ms = ms[std::min(ms.size() - 1, (ms.size() * 99) / 100)];
  t.bytes = bytes;
  return t;
}

void Print(const char* path, int series, const Timing& t, bool last) {
  std::printf("    \"%s\": {\"series\": %d, \"p50_ms\": %.3f, \"p99_ms\": %.3f, \"min_ms\": %.3f, "
              "\"runs\": %d, \"bytes\": %zu}%s\n",
              path, series, t.p50_ms, t.p99_ms, t.min_ms, t.runs, t.bytes, last ? "" : ",");
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> sizes = {1000, 10000, 100000};
  double min_seconds = 2;
  bool verify = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--series" && i + 1 < argc) {
      sizes.clear();
      std::stringstream ss(argv[++i]);
      std::string item;
      while (std::getline(ss, item, ',')) sizes.push_back(std::atoi(item.c_str()));
    } else if (a == "--min-seconds" && i + 1 < argc) {
      min_seconds = std::atof(argv[++i]);
    } else if (a == "--verify") {
      verify = true;
    } else {
      std::fprintf(stderr, "usage: %s [--series N,N,...] [--min-seconds S] [--verify]\n", argv[0]);
      return 2;
    }
  }
  if (!verify) std::printf("[\n");
  for (size_t n = 0; n < sizes.size(); ++n) {
    const int probes = (sizes[n] + kSeriesPerProbe - 1) / kSeriesPerProbe;
    const int series = probes * kSeriesPerProbe;

    triage::App app(triage::AppOptions{});
    std::vector<triage::ProbeEntry> entries;
    for (int i = 0; i < probes; ++i) {
      triage::ProbeCommon c;
      const auto id = Identity(i);
      c.service = id[0].second;
      c.name = id[1].second;
      c.kind = "http";
      c.label_prefix = triage::RenderLabelPairs(id);
      entries.push_back({std::make_shared<IdleSpec>(c), ExporterSnapshot(i)});
    }
    app.table().Reset(std::move(entries));
    auto registry = std::make_shared<prometheus::Registry>();
    FillRegistry(*registry, probes);
    auto stock_text = [&registry] {
      std::ostringstream out;
      prometheus::TextSerializer().Serialize(out, registry->Collect());
      return out.str();
    };
    if (verify) {
      if (Verify(app.RenderMetrics(), stock_text()) != 0) return 1;
      continue;
    }
    const Timing exporter = Measure([&] { return app.RenderMetrics().size(); }, min_seconds);
    const Timing exporter_gzip = Measure([&] {
      std::string gz;
      triage::GzipMetrics(app.RenderMetrics(), &gz);
      return gz.size();
    }, min_seconds);

    const Timing stock = Measure([&] { return stock_text().size(); }, min_seconds);

    std::printf("  {\"series\": %d, \"probes\": %d,\n", series, probes);
    Print("exporter", series, exporter, false);
    Print("exporter_gzip", series, exporter_gzip, false);
    Print("prometheus_cpp", series, stock, false);
    std::printf("    \"speedup\": %.2f}%s\n", stock.p50_ms / exporter.p50_ms,
                n + 1 == sizes.size() ? "" : ",");
    std::fflush(stdout);
  }
  if (!verify) std::printf("]\n");
  return 0;
}

#include "exporter/config.h"

#include <algorithm>
#include <array>
#include <map>
#include <optional>

#include "collectors/registry.h"
#include "base/duration.h"
#include "exposition/snapshot.h"

namespace triage {
namespace {

constexpr std::array<std::string_view, 19> kReservedLabels = {
    "service", "probe", "job", "instance", "code", "error_code", "reason",
    "result", "phase", "le", "check", "metric", "namespace", "persistentvolumeclaim",
    "follower", "kind", "layer", "version", "revision"};

// What an item of the services or probes list must be.
constexpr std::string_view kNamedItemExpected = "expected a map with name and other keys";

// Service and probe names: [a-zA-Z0-9_.-]+.
bool IsValidName(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-';
  });
}

// The first "name" of a service or probe map when it is a valid name, so that
// errors found before the name is read (repeated keys) can already use it.
std::optional<std::string> PeekName(const YAML::Node& m) {
  for (const auto& kv : m) {
    if (kv.first.IsScalar() && kv.first.Scalar() == "name") {
      if (kv.second.IsScalar() && IsValidName(kv.second.Scalar())) return kv.second.Scalar();
      break;
    }
  }
  return std::nullopt;
}

// Reads and checks the "name" key of a service or probe.
std::string ReadName(MapReader& r) {
  std::string name = r.RequiredString("name");
  if (!IsValidName(name)) {
    r.FailKey("name", "expected a non-empty name of letters, digits, '_', '.' and '-', got " +
                          QuoteForMessage(name));
  }
  return name;
}

int LineOf(const YAML::Node& n) { return n.Mark().line + 1; }

// `timeout`, at most `interval`; when absent, `def` capped at `interval`.
std::chrono::milliseconds ReadTimeout(MapReader& r, std::chrono::milliseconds interval,
                                      std::chrono::milliseconds def, const std::string& rule) {
  if (!r.Has("timeout")) {
    r.Node("timeout");  // allowed key, even when absent
    return std::min(def, interval);
  }
  const auto timeout = r.PositiveDuration("timeout", def);
  if (timeout > interval) {
    r.FailKey("timeout", rule + ": expected at most " + FormatDuration(interval) + ", got " +
                             QuoteForMessage(r.Node("timeout").Scalar()));
  }
  return timeout;
}

GlobalConfig ParseGlobal(MapReader& r) {
  GlobalConfig g;
  g.interval = r.PositiveDuration("interval", g.interval);
  g.timeout = ReadTimeout(r, g.interval, g.timeout, "the timeout must not exceed the interval");
  g.max_in_flight = static_cast<int>(r.Int("max_in_flight", g.max_in_flight, 1, 100000));
  g.runbook_base_url = r.String("runbook_base_url", g.runbook_base_url);
  std::string why;
  if (r.Has("runbook_base_url") && !IsValidHttpUrl(g.runbook_base_url, &why)) {
    // Never quote the value: it may hold user:password@ (that is one of the
    // reasons it is refused), and this message reaches logs and /-/reload.
    r.FailKey("runbook_base_url", why);
  }
  if (r.Has("runbook_base_url") && !g.runbook_base_url.ends_with('/')) {
    // runbook_url is this base followed by the runbook file: without the
    // slash it would read ".../runbooksliveness.md". Not quoted either.
    r.FailKey("runbook_base_url",
              "the URL must end with /; runbook_url is this base followed by the runbook file, "
              "expected a URL like http://host:9479/runbooks/");
  }
  r.Finish();
  return g;
}

std::vector<std::pair<std::string, std::string>> ParseLabels(MapReader& service,
                                                             const std::string& file,
                                                             const std::string& service_name) {
  std::vector<std::pair<std::string, std::string>> labels;
  const YAML::Node n = service.Node("labels");
  if (!n.IsDefined()) return labels;
  if (!n.IsMap()) {
    service.FailKey("labels",
                    "expected a map of label names to values like {team: platform}, got " +
                        DescribeNode(n));
  }
  const std::string what = "labels of service " + QuoteForMessage(service_name);
  MapReader lr(n, file, what);  // rejects repeated label names
  for (const auto& kv : n) {
    const std::string& name = kv.first.Scalar();
    if (name.rfind("__", 0) == 0) {
      lr.Fail(kv.first, "reserved label name " + QuoteForMessage(name) + " in " + what +
                             "; names starting with \"__\" are reserved for Prometheus, "
                             "expected another name");
    }
    if (IsReservedLabelName(name)) {
      lr.Fail(kv.first, "reserved label name " + QuoteForMessage(name) + " in " + what +
                             "; the exporter sets this label itself, expected another name");
    }
    if (!IsValidLabelName(name)) {
      lr.Fail(kv.first, "invalid label name " + QuoteForMessage(name) + " in " + what +
                             "; expected letters, digits and '_', not starting with a digit");
    }
    if (!kv.second.IsScalar()) {
      lr.Fail(kv.second, "invalid value for label " + QuoteForMessage(name) + " in " + what +
                              "; expected a string, got " + DescribeNode(kv.second));
    }
    labels.emplace_back(name, kv.second.Scalar());
  }
  return labels;
}

std::string KnownKinds() {
  std::vector<std::string_view> names;
  for (const auto& k : CollectorKinds()) names.push_back(k.name);
  std::sort(names.begin(), names.end());
  std::string out;
  for (auto n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

std::shared_ptr<const ProbeSpec> ParseProbe(const YAML::Node& node, size_t index,
                                            const std::string& file, const GlobalConfig& global,
                                            const ServiceConfig& service,
                                            std::map<std::string, int>& probe_lines) {
  const std::string service_what = "service " + QuoteForMessage(service.name);
  std::string name;
  {
    // A first pass reads and checks the name; the probe is named by its
    // position in errors about the name itself.
    const auto peek = PeekName(node);
    MapReader pre(node, file,
                  (peek ? "probe " + QuoteForMessage(*peek) : "probe #" + std::to_string(index)) +
                      " of " + service_what);
    name = ReadName(pre);
    const YAML::Node name_node = pre.Node("name");
    auto [pos, inserted] = probe_lines.emplace(name, LineOf(name_node));
    if (!inserted) {
      pre.Fail(name_node, "duplicate probe name " + QuoteForMessage(name) + " in " + service_what +
                              " (first defined at line " + std::to_string(pos->second) +
                              "); expected each probe name once per service");
    }
  }
  MapReader r(node, file, "probe " + QuoteForMessage(name) + " of " + service_what);
  r.RequiredString("name");

  ProbeCommon c;
  c.service = service.name;
  c.name = name;
  c.kind = r.RequiredString("kind");
  const CollectorKind* kind = FindCollectorKind(c.kind);
  if (kind == nullptr) {
    r.Fail(r.Node("kind"), "unknown kind " + QuoteForMessage(c.kind) + " in probe " +
                               QuoteForMessage(name) + " of " + service_what +
                               "; expected one of the known kinds: " + KnownKinds());
  }
  const std::string layer = r.RequiredString("layer");
  if (!ParseLayer(layer, &c.layer)) {
    r.FailKey("layer",
              "expected one of liveness, readiness, dependency, traffic, telemetry, got " +
                  QuoteForMessage(layer));
  }
  c.interval = r.PositiveDuration("interval", global.interval);
  c.timeout = ReadTimeout(r, c.interval, global.timeout,
                          "a probe's timeout must not exceed its interval");
  std::vector<std::pair<std::string, std::string>> pairs = {{"service", service.name},
                                                            {"probe", name}};
  pairs.insert(pairs.end(), service.labels.begin(), service.labels.end());
  c.label_prefix = RenderLabelPairs(pairs);

  auto spec = kind->parse(r, std::move(c));
  r.Finish();
  return spec;
}

Config Parse(const YAML::Node& root, const std::string& file) {
  Config cfg;
  cfg.file = file;
  MapReader top(root, file, "the top level");
  const YAML::Node global = top.Node("global");
  if (global.IsDefined()) {
    if (!global.IsMap()) {
      top.FailKey("global", "expected a map of settings like {interval: 15s}, got " +
                                DescribeNode(global));
    }
    MapReader g(global, file, "global");
    cfg.global = ParseGlobal(g);
  }
  top.Node("services");  // allowed; checked once the unknown keys are ruled out
  top.Finish();
  const YAML::Node services = top.NonEmptyList(
      "services", "expected a non-empty list of services, each with a name and probes");

  std::map<std::string, int> service_lines;
  size_t index = 0;
  for (const auto& node : services) {
    ++index;
    ServiceConfig svc;
    RequireMapItem(node, services, file, "service #" + std::to_string(index), kNamedItemExpected);
    {
      const auto peek = PeekName(node);
      MapReader pre(
          node, file,
          peek ? "service " + QuoteForMessage(*peek) : "service #" + std::to_string(index));
      svc.name = ReadName(pre);
      const YAML::Node name_node = pre.Node("name");
      auto [pos, inserted] = service_lines.emplace(svc.name, LineOf(name_node));
      if (!inserted) {
        pre.Fail(name_node, "duplicate service name " + QuoteForMessage(svc.name) +
                                " (first defined at line " + std::to_string(pos->second) +
                                "); expected each service name once");
      }
    }
    MapReader r(node, file, "service " + QuoteForMessage(svc.name));
    r.RequiredString("name");
    svc.labels = ParseLabels(r, file, svc.name);
    r.Node("probes");  // allowed; checked once the unknown keys are ruled out
    r.Finish();
    const YAML::Node probes = r.NonEmptyList("probes", "expected a non-empty list of probes");

    std::map<std::string, int> probe_lines;
    size_t probe_index = 0;
    for (const auto& p : probes) {
      ++probe_index;
      RequireMapItem(
          p, probes, file,
          "probe #" + std::to_string(probe_index) + " of service " + QuoteForMessage(svc.name),
          kNamedItemExpected);
      cfg.probes.push_back(ParseProbe(p, probe_index, file, cfg.global, svc, probe_lines));
    }
    cfg.services.push_back(std::move(svc));
  }
  return cfg;
}

}  // namespace

bool IsReservedLabelName(std::string_view name) {
  if (name.substr(0, 2) == "__") return true;
  return std::find(kReservedLabels.begin(), kReservedLabels.end(), name) != kReservedLabels.end();
}

bool IsValidLabelName(std::string_view name) {
  if (name.empty() || name.substr(0, 2) == "__") return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) return false;
  }
  return true;
}


Config LoadConfigString(const std::string& text, const std::string& file) {
  const YAML::Node root = ParseSingleYamlDocument(text, file);
  if (!root.IsDefined() || root.IsNull()) {
    throw ConfigError(FormatConfigError(
        file, YAML::Mark(),
        "the configuration is empty; expected a map with a \"services\" list (and optionally "
        "\"global\")"));
  }
  try {
    return Parse(root, file);
  } catch (const YAML::Exception& e) {
    // yaml-cpp errors from a kind's own parsing, e.g. a failed conversion.
    throw ConfigError(FormatConfigError(file, e.mark, e.msg));
  }
}

Config LoadConfigFile(const std::string& path) {
  return LoadConfigString(ReadConfigText(path), path);
}

}  // namespace triage

#include "collectors/readiness_probe.h"

#include <strings.h>

#include <array>

#include "collectors/http_run.h"
#include "collectors/json_probe_util.h"
#include "base/yaml_reader.h"

namespace triage {
namespace {

using nlohmann::json;

constexpr std::array<const char*, 7> kPassingWords = {"ok",   "pass", "passed", "true",
                                                      "ready", "up",  "healthy"};

}  // namespace

struct ReadinessState : HttpRunState {
  std::map<std::string, bool> checks;  // sanitized name -> passed, from the last readable answer
};

namespace {

bool IsPassingWord(const std::string& s) {
  for (const char* w : kPassingWords) {
    if (strcasecmp(s.c_str(), w) == 0) return true;
  }
  return false;
}

// A check value: true, a passing word, or (one level down) an object whose
// `ok_field` member is one of those.
bool Passes(const json& v, const std::string& ok_field, bool may_descend) {
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_string()) return IsPassingWord(v.get_ref<const std::string&>());
  if (v.is_object() && may_descend) {
    const auto it = v.find(ok_field);
    if (it != v.end()) return Passes(*it, ok_field, false);
  }
  return false;
}

bool Is2xx(long status) { return status >= 200 && status < 300; }

}  // namespace

ReadinessChecks JudgeReadinessBody(const ReadinessProbeConfig& c, std::string_view body) {
  ReadinessChecks out;
  const std::optional<json> doc = ParseJsonBody(body);
  if (!doc) {
    out.problem = "body is not JSON";
    return out;
  }
  const json* checks = FindJsonPointer(*doc, c.checks_pointer);
  if (!checks) {
    out.problem = "checks_pointer \"" + c.checks_pointer.to_string() + "\" is not in the body";
    return out;
  }
  if (!checks->is_object() && !checks->is_array()) {
    out.problem = "checks_pointer \"" + c.checks_pointer.to_string() + "\" holds " +
                  std::string(JsonTypeName(*checks)) + ", expected an object or an array";
    return out;
  }
  out.readable = true;

  // Every distinct sanitized name; names that collide are merged (all must pass).
  std::map<std::string, bool> all;
  auto add = [&](std::string_view raw, bool passed) {
    std::string name = SanitizeErrorCode(raw);
    if (name.empty()) {
      ++out.skipped_entries;
      return;
    }
    auto [it, inserted] = all.emplace(std::move(name), passed);
    if (!inserted) it->second = it->second && passed;
  };
  if (checks->is_object()) {
    for (const auto& [key, value] : checks->items()) add(key, Passes(value, c.check_ok_field, true));
  } else {
    for (const json& entry : *checks) {
      const auto name = entry.is_object() ? entry.find(c.check_name_field) : entry.end();
      if (!entry.is_object() || name == entry.end() || !name->is_string()) {
        ++out.skipped_entries;
        continue;
      }
      add(name->get_ref<const std::string&>(), Passes(entry, c.check_ok_field, true));
    }
  }

  out.total = all.size();
  for (auto& [name, passed] : all) {
    out.all_pass = out.all_pass && passed;
    if (out.exported.size() < static_cast<size_t>(c.max_checks)) out.exported.emplace(name, passed);
  }
  return out;
}

std::shared_ptr<const ProbeSpec> ParseReadinessProbe(MapReader& r, ProbeCommon common) {
  ReadinessProbeConfig c;
  ParseHttpClientOptions(r, c.http);
  for (int64_t code : r.IntList("valid_status_codes", 100, 599)) {
    c.http.valid_status_codes.push_back(static_cast<int>(code));
  }
  if (!r.Has("valid_status_codes")) {
    c.http.valid_status_codes = {200, 503};
  } else if (c.http.valid_status_codes.empty()) {
    r.FailKey("valid_status_codes", "expected a non-empty list of status codes such as [200, 503]");
  }
  if (auto p = ReadJsonPointer(r, "checks_pointer")) c.checks_pointer = std::move(*p);
  c.check_name_field = r.String("check_name_field", "name");
  if (c.check_name_field.empty()) {
    r.FailKey("check_name_field", "expected the member name that holds a check's name, such as name");
  }
  c.check_ok_field = r.String("check_ok_field", "ok");
  if (c.check_ok_field.empty()) {
    r.FailKey("check_ok_field", "expected the member name that holds a check's result, such as ok");
  }
  c.max_checks = static_cast<int>(r.Int("max_checks", 64, 1, 1000));
  c.allow_empty = r.Bool("allow_empty", false);
  return std::make_shared<ReadinessProbeSpec>(std::move(common), std::move(c));
}

void ReadinessProbeSpec::RunKind(Fetcher& fetcher, ReadinessState& s, DebugLog* debug,
                                 std::function<void(RunOutcome)> done) const {
  HttpRunSteps steps;
  steps.clear = [&s](FailureReason) { s.checks.clear(); };
  steps.judge_body = [this, &s, debug](const HttpResult& res) { return JudgeBody(res, s, debug); };
  RunHttpExchange(fetcher, config_.http, common().timeout, s, debug, std::move(steps),
                  std::move(done));
}

RunOutcome ReadinessProbeSpec::JudgeBody(const HttpResult& res, ReadinessState& s,
                                         DebugLog* debug) const {
  ReadinessChecks judged = JudgeReadinessBody(config_, res.body);
  if (!judged.readable) {
    s.checks.clear();
    if (debug) debug->Line("invalid body: " + judged.problem);
    return {false, FailureReason::kInvalidBody};
  }
  s.checks = std::move(judged.exported);
  if (debug) {
    debug->Line("checks: " + std::to_string(judged.total) + " found, " +
                std::to_string(s.checks.size()) + " exported");
    if (judged.total > s.checks.size()) {
      debug->Line(std::to_string(judged.total - s.checks.size()) +
                  " checks ignored over max_checks " + std::to_string(config_.max_checks) +
                  (judged.all_pass ? "" : " (they still count for success)"));
    }
    if (judged.skipped_entries > 0) {
      debug->Line(std::to_string(judged.skipped_entries) +
                  " entries skipped: no usable name (member \"" + config_.check_name_field +
                  "\" missing, not a string or empty)");
    }
    for (const auto& [name, passed] : s.checks) {
      if (!passed) debug->Line("check " + name + " failing");
    }
  }
  if (!judged.all_pass) return {false, FailureReason::kCheckFailed};
  if (judged.total == 0 && !config_.allow_empty) {
    if (debug) debug->Line("no checks found and allow_empty is false");
    return {false, FailureReason::kCheckFailed};
  }
  if (!Is2xx(res.status)) {
    // A valid not-ready status (503) although every check the body names passes.
    return {false, FailureReason::kHttpStatus};
  }
  return {true, FailureReason::kNone};
}

void ReadinessProbeSpec::RenderKind(const ReadinessState& s, SampleWriter& w) const {
  if (!s.ran) return;
  RenderPhases(s.phases, w, /*with_http_phases=*/true);
  s.responses.Render(w);
  for (const auto& [name, passed] : s.checks) {
    w.Add(FamilyId::kReadinessCheckOk, "check", name, passed ? 1 : 0);
  }
}

}  // namespace triage

#include "collectors/cluster_probe.h"

#include <algorithm>
#include <cmath>

#include "collectors/http_run.h"
#include "collectors/json_probe_util.h"
#include "base/yaml_reader.h"

namespace triage {
namespace {

using nlohmann::json;

}  // namespace

struct ClusterState : HttpRunState {
  uint64_t leader_changes = 0;
  std::optional<std::string> last_leader;  // last identity seen, kept across unknown periods
  // From the last readable answer; have_view false after an unreadable one.
  bool have_view = false;
  bool leader_known = false;
  std::optional<bool> is_leader;
  std::optional<bool> replication_ready;
  std::map<std::string, double> follower_lag;

  void ClearView() {
    have_view = false;
    leader_known = false;
    is_leader.reset();
    replication_ready.reset();
    follower_lag.clear();
  }
};

namespace {

enum class Read { kAbsent, kOk, kWrongType };

std::string PointerText(const json::json_pointer& p) { return "\"" + p.to_string() + "\""; }

// An identity: a non-empty string or an integer. Null, "" and absence mean none.
Read ReadIdentity(const json& doc, const json::json_pointer& p, std::string* out) {
  const json* v = FindJsonPointer(doc, p);
  if (!v || v->is_null()) return Read::kAbsent;
  if (v->is_string()) {
    *out = v->get_ref<const std::string&>();
    return out->empty() ? Read::kAbsent : Read::kOk;
  }
  if (v->is_number_integer()) {  // also unsigned
    *out = v->is_number_unsigned() ? std::to_string(v->get<uint64_t>())
                                   : std::to_string(v->get<int64_t>());
    return Read::kOk;
  }
  return Read::kWrongType;
}

// A boolean; with `ready_member`, also an object holding a boolean "ready".
Read ReadFlag(const json& doc, const json::json_pointer& p, bool ready_member, bool* out) {
  const json* v = FindJsonPointer(doc, p);
  if (!v || v->is_null()) return Read::kAbsent;
  if (ready_member && v->is_object()) {
    const auto it = v->find("ready");
    if (it == v->end() || it->is_null()) return Read::kAbsent;
    v = &*it;
  }
  if (!v->is_boolean()) return Read::kWrongType;
  *out = v->get<bool>();
  return Read::kOk;
}

// A lag: a finite number >= 0, or an object holding one under `field`.
std::optional<double> LagOf(const json& v, const std::string& field, bool may_descend) {
  if (v.is_number()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && d >= 0) return d;
    return std::nullopt;
  }
  if (may_descend && v.is_object()) {
    const auto it = v.find(field);
    if (it != v.end()) return LagOf(*it, field, false);
  }
  return std::nullopt;
}

std::string WrongType(std::string_view key, const json::json_pointer& p, std::string_view expected) {
  return std::string(key) + " " + PointerText(p) + " does not hold " + std::string(expected);
}

}  // namespace

ClusterView ReadClusterBody(const ClusterProbeConfig& c, std::string_view body) {
  ClusterView view;
  const std::optional<json> doc = ParseJsonBody(body);
  if (!doc) {
    view.problem = "body is not JSON";
    return view;
  }

  std::string leader;
  switch (ReadIdentity(*doc, c.leader_pointer, &leader)) {
    case Read::kOk: view.leader = std::move(leader); break;
    case Read::kAbsent: view.notes.push_back("no leader reported at " + PointerText(c.leader_pointer)); break;
    case Read::kWrongType:
      view.problem = WrongType("leader_pointer", c.leader_pointer, "a string or an integer");
      return view;
  }

  if (c.self_pointer) {
    std::string self;
    switch (ReadIdentity(*doc, *c.self_pointer, &self)) {
      case Read::kOk: view.is_leader = view.leader && *view.leader == self; break;
      case Read::kAbsent:
        view.is_leader = false;
        view.notes.push_back("no node identity at self_pointer " + PointerText(*c.self_pointer));
        break;
      case Read::kWrongType:
        view.problem = WrongType("self_pointer", *c.self_pointer, "a string or an integer");
        return view;
    }
  } else if (c.is_leader_pointer) {
    bool b = false;
    switch (ReadFlag(*doc, *c.is_leader_pointer, false, &b)) {
      case Read::kOk: view.is_leader = b; break;
      case Read::kAbsent:
        view.is_leader = false;
        view.notes.push_back("nothing at is_leader_pointer " + PointerText(*c.is_leader_pointer));
        break;
      case Read::kWrongType:
        view.problem = WrongType("is_leader_pointer", *c.is_leader_pointer, "a boolean");
        return view;
    }
  }

  if (c.replication_ready_pointer) {
    bool b = false;
    switch (ReadFlag(*doc, *c.replication_ready_pointer, true, &b)) {
      case Read::kOk: view.replication_ready = b; break;
      case Read::kAbsent:
        view.replication_ready = false;
        view.notes.push_back("nothing at replication_ready_pointer " +
                             PointerText(*c.replication_ready_pointer));
        break;
      case Read::kWrongType:
        view.problem = WrongType("replication_ready_pointer", *c.replication_ready_pointer,
                                 "a boolean or an object with a boolean \"ready\"");
        return view;
    }
  }

  if (c.followers_pointer) {
    const json* f = FindJsonPointer(*doc, *c.followers_pointer);
    std::map<std::string, double> all;
    auto add = [&](std::string_view raw_id, std::optional<double> lag) {
      std::string id = SanitizeErrorCode(raw_id);
      if (id.empty() || !lag) {
        ++view.followers_skipped;
        return;
      }
      auto [it, inserted] = all.emplace(std::move(id), *lag);
      if (!inserted) it->second = std::max(it->second, *lag);
    };
    if (!f || f->is_null()) {
      view.notes.push_back("no followers reported at " + PointerText(*c.followers_pointer));
    } else if (f->is_object()) {
      for (const auto& [id, value] : f->items()) add(id, LagOf(value, c.follower_lag_field, true));
    } else if (f->is_array()) {
      for (const json& entry : *f) {
        const auto id = entry.is_object() ? entry.find(c.follower_id_field) : entry.end();
        const auto lag = entry.is_object() ? entry.find(c.follower_lag_field) : entry.end();
        if (!entry.is_object() || id == entry.end() || lag == entry.end()) {
          ++view.followers_skipped;
          continue;
        }
        std::string id_text;
        if (id->is_string()) {
          id_text = id->get_ref<const std::string&>();
        } else if (id->is_number_integer()) {
          id_text = id->is_number_unsigned() ? std::to_string(id->get<uint64_t>())
                                             : std::to_string(id->get<int64_t>());
        }
        add(id_text, LagOf(*lag, c.follower_lag_field, false));
      }
    } else {
      view.problem = WrongType("followers_pointer", *c.followers_pointer,
                               "an array of followers or an object of follower id to lag");
      return view;
    }
    view.followers_total = all.size();
    for (const auto& [id, lag] : all) {
      view.max_lag = std::max(view.max_lag, lag);
      if (view.follower_lag.size() < static_cast<size_t>(c.max_followers)) {
        view.follower_lag.emplace(id, lag);
      }
    }
  }

  view.readable = true;
  return view;
}

std::shared_ptr<const ProbeSpec> ParseClusterProbe(MapReader& r, ProbeCommon common) {
  ClusterProbeConfig c;
  ParseHttpClientOptions(r, c.http);
  for (int64_t code : r.IntList("valid_status_codes", 100, 599)) {
    c.http.valid_status_codes.push_back(static_cast<int>(code));
  }
  c.leader_pointer = RequiredJsonPointer(r, "leader_pointer");
  c.self_pointer = ReadJsonPointer(r, "self_pointer");
  c.is_leader_pointer = ReadJsonPointer(r, "is_leader_pointer");
  if (c.self_pointer && c.is_leader_pointer) {
    r.FailKey("is_leader_pointer",
              "give at most one of self_pointer (this node's identity, compared with the "
              "leader) and is_leader_pointer (a boolean)");
  }
  c.replication_ready_pointer = ReadJsonPointer(r, "replication_ready_pointer");
  c.followers_pointer = ReadJsonPointer(r, "followers_pointer");
  c.follower_id_field = r.String("follower_id_field", "id");
  c.follower_lag_field = r.String("follower_lag_field", "lag_entries");
  c.max_followers = static_cast<int>(r.Int("max_followers", 16, 1, 1000));
  if (r.Has("max_follower_lag")) {
    c.max_follower_lag = r.Int("max_follower_lag", 0, 0, INT64_MAX);
  }
  for (std::string_view key :
       {"follower_id_field", "follower_lag_field", "max_followers", "max_follower_lag"}) {
    if (r.Has(key) && !c.followers_pointer) {
      r.FailKey(key, "only meaningful with followers_pointer, which is not set");
    }
  }
  if (c.follower_id_field.empty()) {
    r.FailKey("follower_id_field", "expected the member name of a follower's id, such as id");
  }
  if (c.follower_lag_field.empty()) {
    r.FailKey("follower_lag_field",
              "expected the member name of a follower's lag, such as lag_entries");
  }
  return std::make_shared<ClusterProbeSpec>(std::move(common), std::move(c));
}

void ClusterProbeSpec::RunKind(Fetcher& fetcher, ClusterState& s, DebugLog* debug,
                               std::function<void(RunOutcome)> done) const {
  HttpRunSteps steps;
  steps.clear = [&s](FailureReason) { s.ClearView(); };
  steps.judge_body = [this, &s, debug](const HttpResult& res) { return JudgeBody(res, s, debug); };
  RunHttpExchange(fetcher, config_.http, common().timeout, s, debug, std::move(steps),
                  std::move(done));
}

RunOutcome ClusterProbeSpec::JudgeBody(const HttpResult& res, ClusterState& s,
                                       DebugLog* debug) const {
  ClusterView view = ReadClusterBody(config_, res.body);
  if (!view.readable) {
    s.ClearView();
    if (debug) debug->Line("invalid body: " + view.problem);
    return {false, FailureReason::kInvalidBody};
  }
  if (debug) {
    for (const auto& note : view.notes) debug->Line(note);
  }

  if (view.leader) {
    if (s.last_leader && *s.last_leader != *view.leader) {
      ++s.leader_changes;
      if (debug) debug->Line("leader changed");
    }
    s.last_leader = *view.leader;
  }
  s.have_view = true;
  s.leader_known = view.leader.has_value();
  s.is_leader = view.is_leader;
  s.replication_ready = view.replication_ready;
  s.follower_lag = std::move(view.follower_lag);

  if (debug) {
    debug->Line(view.leader ? "leader " + SanitizeErrorCode(*view.leader) : "no leader known");
    if (s.is_leader) debug->Line(*s.is_leader ? "this node is the leader" : "this node is not the leader");
    if (s.replication_ready) {
      debug->Line(*s.replication_ready ? "replication ready" : "replication not ready");
    }
    if (config_.followers_pointer) {
      debug->Line("followers: " + std::to_string(view.followers_total) + " found, " +
                  std::to_string(s.follower_lag.size()) + " exported");
      if (view.followers_total > s.follower_lag.size()) {
        debug->Line(std::to_string(view.followers_total - s.follower_lag.size()) +
                    " followers ignored over max_followers " +
                    std::to_string(config_.max_followers));
      }
      if (view.followers_skipped > 0) {
        debug->Line(std::to_string(view.followers_skipped) +
                    " follower entries skipped: no usable id or lag");
      }
    }
  }

  bool ok = true;
  if (!view.leader) ok = false;
  if (s.replication_ready && !*s.replication_ready) ok = false;
  if (config_.max_follower_lag && view.max_lag > static_cast<double>(*config_.max_follower_lag)) {
    if (debug) {
      debug->Line("a follower lags more than max_follower_lag " +
                  std::to_string(*config_.max_follower_lag) + " entries");
    }
    ok = false;
  }
  return ok ? RunOutcome{true, FailureReason::kNone}
            : RunOutcome{false, FailureReason::kCheckFailed};
}

void ClusterProbeSpec::RenderKind(const ClusterState& s, SampleWriter& w) const {
  if (!s.ran) return;
  RenderPhases(s.phases, w, /*with_http_phases=*/true);
  s.responses.Render(w);
  w.Add(FamilyId::kClusterLeaderChangesTotal, static_cast<double>(s.leader_changes));
  if (!s.have_view) return;
  w.Add(FamilyId::kClusterLeaderKnown, s.leader_known ? 1 : 0);
  if (s.is_leader) w.Add(FamilyId::kClusterIsLeader, *s.is_leader ? 1 : 0);
  if (s.replication_ready) w.Add(FamilyId::kClusterReplicationReady, *s.replication_ready ? 1 : 0);
  for (const auto& [id, lag] : s.follower_lag) {
    w.Add(FamilyId::kClusterFollowerLagEntries, "follower", id, lag);
  }
}

}  // namespace triage

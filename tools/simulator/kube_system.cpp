#include "tools/simulator/kube_system.h"

#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <optional>

namespace triage::sim {
namespace {

using json = nlohmann::ordered_json;  // keeps keys in the order written
using Clock = std::chrono::system_clock;

constexpr std::string_view kNamespace = "ingero";
constexpr std::string_view kClaimName = "data-ingero-echo-0";
constexpr std::string_view kClaimUid = "3f6b2a4e-8c1d-4e7f-9a25-0b6c8d1e2f34";
constexpr std::string_view kVolumeName = "pvc-3f6b2a4e-8c1d-4e7f-9a25-0b6c8d1e2f34";
constexpr std::string_view kClassName = "standard";
constexpr std::string_view kProvisioner = "rancher.io/local-path";
constexpr std::string_view kDefaultClassAnnotation = "storageclass.kubernetes.io/is-default-class";
constexpr std::string_view kServiceAccount = "system:serviceaccount:monitoring:triage-exporter";
// How often the volume controller retries, and so how fast an event's count grows.
constexpr std::chrono::seconds kRetryInterval{15};

// RFC 3339 in UTC with whole seconds, as the API server writes timestamps.
std::string Rfc3339(Clock::time_point t) {
  const std::time_t secs = Clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[80];  // room for any int the compiler can imagine in each field
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

// A v1 Status object, the body of every error the API server sends.
std::string StatusBody(int code, std::string_view reason, std::string_view message,
                       const json& details = nullptr) {
  json j = {{"kind", "Status"},      {"apiVersion", "v1"}, {"metadata", json::object()},
            {"status", "Failure"},   {"message", message}, {"reason", reason}};
  if (!details.is_null()) j["details"] = details;
  j["code"] = code;
  return j.dump();
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t end = s.find(sep, start);
    out.push_back(s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// One equality term of a label or field selector.
struct Term {
  std::string key;
  std::string value;
  bool negated = false;
};

// The equality terms (k=v, k==v, k!=v) of a selector; set-based and
// existence terms are not understood and left out, so they match anything.
std::vector<Term> ParseSelector(std::string_view selector) {
  std::vector<Term> terms;
  for (std::string_view part : Split(selector, ',')) {
    part = Trim(part);
    if (part.empty() || part.find(' ') != std::string_view::npos) continue;  // "env in (a,b)" and the like
    Term t;
    size_t op = part.find("!=");
    size_t value_at = 0;
    if (op != std::string_view::npos) {
      t.negated = true;
      value_at = op + 2;
    } else if ((op = part.find("==")) != std::string_view::npos) {
      value_at = op + 2;
    } else if ((op = part.find('=')) != std::string_view::npos) {
      value_at = op + 1;
    } else {
      continue;
    }
    t.key = std::string(Trim(part.substr(0, op)));
    t.value = std::string(Trim(part.substr(value_at)));
    terms.push_back(std::move(t));
  }
  return terms;
}

// Whether `fields` (key -> value, nullopt for absent) satisfy every term
// about a key listed in `fields`; terms about other keys are ignored.
bool Matches(const std::vector<Term>& terms,
             const std::vector<std::pair<std::string_view, std::optional<std::string_view>>>& fields,
             bool ignore_unknown_keys) {
  for (const auto& t : terms) {
    std::optional<std::string_view> value;
    bool known = false;
    for (const auto& [k, v] : fields) {
      if (k == t.key) {
        known = true;
        value = v;
      }
    }
    if (!known && ignore_unknown_keys) continue;
    const bool equal = value && *value == t.value;
    if (t.negated == equal) return false;
  }
  return true;
}

bool IsPending(const std::string& mode) { return mode.rfind("pending_", 0) == 0; }

}  // namespace

const std::vector<std::string>& KubeModes() {
  static const std::vector<std::string> kModes = {
      "ok", "pending_no_default_storageclass", "pending_wait_for_consumer", "lost", "forbidden"};
  return kModes;
}

KubeSystem::KubeSystem(const SimulatorOptions& options)
    : token_(options.token),
      bound_created_(std::chrono::floor<std::chrono::seconds>(Clock::now()) - std::chrono::hours(1)),
      mode_entered_(Clock::now()) {}

void KubeSystem::OnModeEntered(const std::string&, Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  mode_entered_ = now;
  resource_version_ += 17;  // the controller wrote the claim (and a few other objects)
}

KubeSystem::View KubeSystem::Snapshot() {
  std::lock_guard<std::mutex> lock(mu_);
  return View{bound_created_, mode_entered_, resource_version_};
}

void KubeSystem::Serve(IncomingRequest& req, Responder& res, const std::string& mode) {
  if (!token_.empty() && !req.HasBearer(token_)) {
    return res.Json(401, StatusBody(401, "Unauthorized", "Unauthorized"));
  }
  const std::string user = token_.empty() ? "system:anonymous" : std::string(kServiceAccount);

  // Which resource the path names: /api/v1/namespaces/NS/RESOURCE[/NAME] or
  // /apis/storage.k8s.io/v1/storageclasses.
  const std::vector<std::string_view> seg = Split(req.path(), '/');  // seg[0] is ""
  std::string ns;
  std::string resource;
  std::string object_name;
  std::string group;
  if (seg.size() >= 6 && seg.size() <= 7 && seg[1] == "api" && seg[2] == "v1" && seg[3] == "namespaces" &&
      !seg[4].empty() && (seg[5] == "persistentvolumeclaims" || seg[5] == "events")) {
    ns = seg[4];
    resource = seg[5];
    if (seg.size() == 7) object_name = seg[6];
  } else if (seg.size() == 5 && seg[1] == "apis" && seg[2] == "storage.k8s.io" && seg[3] == "v1" &&
             seg[4] == "storageclasses") {
    resource = "storageclasses";
    group = "storage.k8s.io";
  }
  const std::string verb = object_name.empty() ? "list" : "get";

  if (mode == "forbidden") {
    if (resource.empty()) {
      return res.Json(403, StatusBody(403, "Forbidden",
                                      "forbidden: User \"" + user + "\" cannot get path \"" +
                                          std::string(req.path()) + "\""));
    }
    const std::string qualified = group.empty() ? resource : resource + "." + group;
    std::string message = qualified + (object_name.empty() ? "" : " \"" + object_name + "\"") +
                          " is forbidden: User \"" + user + "\" cannot " + verb + " resource \"" +
                          resource + "\" in API group \"" + group + "\"" +
                          (ns.empty() ? " at the cluster scope" : " in the namespace \"" + ns + "\"");
    json details = json::object();
    if (!object_name.empty()) details["name"] = object_name;
    if (!group.empty()) details["group"] = group;
    details["kind"] = resource;
    return res.Json(403, StatusBody(403, "Forbidden", message, details));
  }
  if (resource.empty()) {
    return res.Json(404, StatusBody(404, "NotFound", "the server could not find the requested resource"));
  }
  if (req.method() != "GET") {
    return res.Json(405, StatusBody(405, "MethodNotAllowed",
                                    "the server does not allow this method on the requested resource"));
  }
  if (resource == "events" && !object_name.empty()) {
    return res.Json(404, StatusBody(404, "NotFound", "events \"" + object_name + "\" not found",
                                    json{{"name", object_name}, {"kind", "events"}}));
  }

  const View v = Snapshot();
  const Clock::time_point entered = std::chrono::floor<std::chrono::seconds>(v.mode_entered);
  const std::string rv = std::to_string(v.resource_version);

  if (resource == "storageclasses") {
    json meta = {{"name", kClassName},
                 {"uid", "9c2e4b71-5a3d-4f08-8e16-2d4f6a8b0c93"},
                 {"resourceVersion", "288"},
                 {"creationTimestamp", Rfc3339(v.created - std::chrono::hours(24 * 30))}};
    if (mode != "pending_no_default_storageclass") {
      meta["annotations"] = {{kDefaultClassAnnotation, "true"}};
    }
    const json sc = {{"metadata", meta},
                     {"provisioner", kProvisioner},
                     {"reclaimPolicy", "Delete"},
                     {"volumeBindingMode", "WaitForFirstConsumer"}};
    return res.Json(200, json{{"kind", "StorageClassList"},
                              {"apiVersion", "storage.k8s.io/v1"},
                              {"metadata", {{"resourceVersion", rv}}},
                              {"items", json::array({sc})}}
                             .dump());
  }

  // The one claim, as this mode has it.
  const bool pending = IsPending(mode);
  const Clock::time_point created = pending ? entered : v.created;
  const std::string claim_rv = std::to_string(v.resource_version - 3);
  const bool has_class = mode != "pending_no_default_storageclass";
  json claim_meta = {{"name", kClaimName},
                     {"namespace", kNamespace},
                     {"uid", kClaimUid},
                     {"resourceVersion", claim_rv},
                     {"creationTimestamp", Rfc3339(created)},
                     {"labels", {{"app.kubernetes.io/instance", "ingero"}, {"app.kubernetes.io/name", "ingero-echo"}}}};
  if (!pending) {
    claim_meta["annotations"] = {{"pv.kubernetes.io/bind-completed", "yes"},
                                 {"pv.kubernetes.io/bound-by-controller", "yes"},
                                 {"volume.kubernetes.io/storage-provisioner", kProvisioner}};
  } else if (has_class) {
    claim_meta["annotations"] = {{"volume.kubernetes.io/storage-provisioner", kProvisioner}};
  }
  claim_meta["finalizers"] = {"kubernetes.io/pvc-protection"};
  json spec = {{"accessModes", {"ReadWriteOnce"}}, {"resources", {{"requests", {{"storage", "10Gi"}}}}}};
  if (!pending) spec["volumeName"] = kVolumeName;
  if (has_class) spec["storageClassName"] = kClassName;
  spec["volumeMode"] = "Filesystem";
  json status = {{"phase", pending ? "Pending" : (mode == "lost" ? "Lost" : "Bound")}};
  if (mode == "ok") {
    status["accessModes"] = {"ReadWriteOnce"};
    status["capacity"] = {{"storage", "10Gi"}};
  }
  const json claim = {{"metadata", claim_meta}, {"spec", spec}, {"status", status}};

  if (resource == "persistentvolumeclaims") {
    const bool here = ns == kNamespace;
    if (!object_name.empty()) {
      if (!here || object_name != kClaimName) {
        return res.Json(404, StatusBody(404, "NotFound",
                                        "persistentvolumeclaims \"" + object_name + "\" not found",
                                        json{{"name", object_name}, {"kind", "persistentvolumeclaims"}}));
      }
      json one = {{"kind", "PersistentVolumeClaim"}, {"apiVersion", "v1"}};
      for (auto it = claim.begin(); it != claim.end(); ++it) one[it.key()] = it.value();
      return res.Json(200, one.dump());
    }
    const auto selector = req.QueryParam("labelSelector");
    const bool selected =
        !selector || Matches(ParseSelector(*selector),
                             {{"app.kubernetes.io/instance", "ingero"},
                              {"app.kubernetes.io/name", "ingero-echo"}},
                             /*ignore_unknown_keys=*/false);
    json items = json::array();
    if (here && selected) items.push_back(claim);
    return res.Json(200, json{{"kind", "PersistentVolumeClaimList"},
                              {"apiVersion", "v1"},
                              {"metadata", {{"resourceVersion", rv}}},
                              {"items", items}}
                             .dump());
  }

  // events: the one this mode produces about the claim.
  json items = json::array();
  std::string reason;
  std::string message;
  std::string type = "Warning";
  std::string component = "persistentvolume-controller";
  if (mode == "pending_no_default_storageclass") {
    reason = "ProvisioningFailed";
    message = "cannot provision a volume: the claim names no storage class and the cluster has no "
              "default StorageClass";
  } else if (mode == "pending_wait_for_consumer") {
    reason = "WaitForFirstConsumer";
    message = "the claim binds once a pod that uses it is scheduled (volumeBindingMode "
              "WaitForFirstConsumer)";
    type = "Normal";
  } else if (mode == "lost") {
    reason = "ClaimLost";
    message = "the claim was bound to volume " + std::string(kVolumeName) +
              ", which no longer exists; the data on it is gone";
  }
  if (!reason.empty() && ns == kNamespace) {
    const auto elapsed = std::chrono::floor<std::chrono::seconds>(Clock::now()) - entered;
    const auto repeats = std::max<int64_t>(0, elapsed / kRetryInterval);
    const Clock::time_point last = entered + repeats * kRetryInterval;
    char suffix[24];
    std::snprintf(suffix, sizeof suffix, "%llx",
                  static_cast<unsigned long long>(
                      std::chrono::duration_cast<std::chrono::nanoseconds>(entered.time_since_epoch()).count()));
    const json event = {
        {"metadata",
         {{"name", std::string(kClaimName) + "." + suffix},
          {"namespace", kNamespace},
          {"uid", "b7d15e20-6a4c-4f3b-9e82-1c5d7f9a3e60"},
          {"resourceVersion", rv},
          {"creationTimestamp", Rfc3339(entered)}}},
        {"involvedObject",
         {{"kind", "PersistentVolumeClaim"},
          {"namespace", kNamespace},
          {"name", kClaimName},
          {"uid", kClaimUid},
          {"apiVersion", "v1"},
          {"resourceVersion", claim_rv}}},
        {"reason", reason},
        {"message", message},
        {"source", {{"component", component}}},
        {"firstTimestamp", Rfc3339(entered)},
        {"lastTimestamp", Rfc3339(last)},
        {"count", repeats + 1},
        {"type", type},
        {"eventTime", nullptr},
        {"reportingComponent", component},
        {"reportingInstance", ""},
    };
    const auto selector = req.QueryParam("fieldSelector");
    const bool selected =
        !selector || Matches(ParseSelector(*selector),
                             {{"involvedObject.kind", "PersistentVolumeClaim"},
                              {"involvedObject.name", kClaimName},
                              {"involvedObject.uid", kClaimUid},
                              {"involvedObject.namespace", kNamespace},
                              {"reason", reason},
                              {"type", type}},
                             /*ignore_unknown_keys=*/true);
    if (selected) items.push_back(event);
  }
  res.Json(200, json{{"kind", "EventList"},
                     {"apiVersion", "v1"},
                     {"metadata", {{"resourceVersion", rv}}},
                     {"items", items}}
                    .dump());
}

}  // namespace triage::sim

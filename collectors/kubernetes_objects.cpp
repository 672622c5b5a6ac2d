#include "collectors/kubernetes_objects.h"

#include <algorithm>
#include <cstdint>
#include <limits>

#include <nlohmann/json.hpp>

#include "collectors/collector.h"
#include "collectors/http_client.h"

namespace triage {
namespace {

using json = nlohmann::json;

constexpr std::string_view kDefaultClassAnnotation = "storageclass.kubernetes.io/is-default-class";
constexpr std::string_view kBetaDefaultClassAnnotation =
    "storageclass.beta.kubernetes.io/is-default-class";
// The reason label when the latest event carries none.
constexpr std::string_view kReasonUnknown = "unknown";

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


}  // namespace

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

}  // namespace triage

#include "collectors/collector.h"

#include <algorithm>
#include <array>

namespace triage {
namespace {

constexpr std::array<std::string_view, 5> kLayerNames = {"liveness", "readiness", "dependency",
                                                         "traffic", "telemetry"};

}  // namespace

std::string_view LayerName(Layer l) {
  const auto i = static_cast<size_t>(l);
  return i < kLayerNames.size() ? kLayerNames[i] : std::string_view("unknown");
}

std::string Printable(std::string_view s, size_t max) {
  std::string out;
  for (char c : s.substr(0, max)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f) ? '?' : c;
  }
  if (s.size() > max) out += "...";
  return out;
}

bool ParseLayer(std::string_view s, Layer* out) {
  for (size_t i = 0; i < kLayerNames.size(); ++i) {
    if (kLayerNames[i] == s) {
      *out = static_cast<Layer>(i);
      return true;
    }
  }
  return false;
}

std::string DebugLog::Text() const {
  std::string text;
  for (size_t i = 0; i < lines_.size(); ++i) {
    if (i > 0) text += '\n';
    text += lines_[i];
  }
  if (secrets_.empty()) return text;
  // Find every occurrence of every secret, merge the ones that overlap, and
  // replace each merged span with "<secret>". Unlike replacing the secrets one
  // after another, this leaks nothing when secrets overlap or contain each other.
  std::vector<std::pair<size_t, size_t>> spans;  // [begin, end)
  for (const auto& secret : secrets_) {
    for (size_t pos = text.find(secret); pos != std::string::npos;
         pos = text.find(secret, pos + 1)) {
      spans.emplace_back(pos, pos + secret.size());
    }
  }
  std::sort(spans.begin(), spans.end());
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  for (size_t s = 0; s < spans.size();) {
    size_t begin = spans[s].first;
    size_t end = spans[s].second;
    for (++s; s < spans.size() && spans[s].first < end; ++s) end = std::max(end, spans[s].second);
    out.append(text, i, begin - i);
    out += "<secret>";
    i = end;
  }
  out.append(text, i, std::string::npos);
  return out;
}

namespace {

// The characters an error_code label keeps; any other byte becomes '_'.
std::string MapErrorCodeChars(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (char c : raw) {
    const auto u = static_cast<unsigned char>(c);
    out += (std::isalnum(u) || c == '_' || c == '.' || c == ':' || c == '-') ? c : '_';
  }
  return out;
}

}  // namespace

std::string SanitizeErrorCode(std::string_view raw) { return MapErrorCodeChars(raw.substr(0, 64)); }

bool RevealsSecret(std::string_view code, std::string_view secret) {
  // Compared in label form. A code that holds any 16 characters of the
  // secret in a row (all of it when shorter), or that is itself a piece of
  // at least 8, gives it away: an echo may add a prefix ("Bearer ...") and
  // is cut to 64 characters.
  constexpr size_t kWindow = 16, kMinPiece = 8;
  const std::string s = MapErrorCodeChars(secret);
  if (s.size() < kMinPiece) return false;
  if (code.size() >= kMinPiece && s.find(code) != std::string::npos) return true;
  const size_t w = std::min(kWindow, s.size());
  for (size_t i = 0; i + w <= s.size(); ++i) {
    if (code.find(std::string_view(s).substr(i, w)) != std::string_view::npos) return true;
  }
  return false;
}

}  // namespace triage

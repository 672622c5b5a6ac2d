#include "base/duration.h"

#include <array>
#include <cstdint>
#include <limits>

namespace triage {
namespace {

struct Unit {
  std::string_view name;
  int64_t ms;
};
// Largest first: a duration lists units in this order, each at most once.
constexpr std::array<Unit, 6> kUnits = {{{"w", 7LL * 24 * 3600 * 1000},
                                         {"d", 24LL * 3600 * 1000},
                                         {"h", 3600LL * 1000},
                                         {"m", 60LL * 1000},
                                         {"s", 1000},
                                         {"ms", 1}}};

}  // namespace

std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int64_t total = 0;
  size_t next_unit = 0;  // units must come in descending order
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    int64_t n = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (n > (std::numeric_limits<int64_t>::max() - 9) / 10) return std::nullopt;
      n = n * 10 + (text[i] - '0');
      ++i;
    }
    size_t j = i;
    while (j < text.size() && (text[j] < '0' || text[j] > '9')) ++j;
    const std::string_view unit = text.substr(i, j - i);
    i = j;
    size_t u = next_unit;
    while (u < kUnits.size() && kUnits[u].name != unit) ++u;
    if (u == kUnits.size()) return std::nullopt;
    if (n > 0 && kUnits[u].ms > std::numeric_limits<int64_t>::max() / n) return std::nullopt;
    const int64_t add = n * kUnits[u].ms;
    if (total > std::numeric_limits<int64_t>::max() - add) return std::nullopt;
    total += add;
    next_unit = u + 1;
  }
  return std::chrono::milliseconds(total);
}

std::string FormatDuration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) { out += '-'; ms = -ms; }
  for (const auto& u : kUnits) {
    if (ms >= u.ms) {
      out += std::to_string(ms / u.ms);
      out += u.name;
      ms %= u.ms;
    }
  }
  return out;
}

}  // namespace triage

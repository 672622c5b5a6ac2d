#include "rules/rulegen/series_values.h"

#include <cctype>
#include <charconv>
#include <cstdint>
#include <vector>

namespace triage::rulegen {
namespace {

bool IsNumber(std::string_view s) {
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) s.remove_prefix(1);
  if (s == "Inf" || s == "inf" || s == "NaN" || s == "nan") return true;
  if (s.empty()) return false;
  size_t i = 0;
  bool digits = false;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) { ++i; digits = true; }
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) { ++i; digits = true; }
  }
  if (!digits) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    const size_t start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == start) return false;
  }
  return i == s.size();
}

// "a" or "a+b" / "a-b" (the sign of b splits the two numbers; a may carry its
// own sign and an exponent sign).
bool IsValueOrStep(std::string_view s, bool* has_step) {
  *has_step = false;
  if (s == "stale" || IsNumber(s)) return true;
  for (size_t i = 1; i < s.size(); ++i) {
    if ((s[i] == '+' || s[i] == '-') && s[i - 1] != 'e' && s[i - 1] != 'E') {
      if (IsNumber(s.substr(0, i)) && IsNumber(s.substr(i))) {
        *has_step = true;
        return true;
      }
    }
  }
  return false;
}

}  // namespace

SampleCount CountSamples(std::string_view values) {
  SampleCount out;
  size_t i = 0;
  while (i < values.size()) {
    while (i < values.size() && std::isspace(static_cast<unsigned char>(values[i]))) ++i;
    if (i >= values.size()) break;
    size_t j = i;
    while (j < values.size() && !std::isspace(static_cast<unsigned char>(values[j]))) ++j;
    const std::string_view item = values.substr(i, j - i);
    i = j;

    std::string_view body = item;
    std::optional<uint64_t> times;
    const size_t x = item.rfind('x');
    if (x != std::string_view::npos && x + 1 < item.size()) {
      uint64_t n = 0;
      const char* first = item.data() + x + 1;
      const char* last = item.data() + item.size();
      auto [p, ec] = std::from_chars(first, last, n);
      if (ec == std::errc() && p == last) {
        times = n;
        body = item.substr(0, x);
      }
    }
    bool has_step = false;
    if (body == "_") {
      out.samples += times ? *times : 1;
    } else if (IsValueOrStep(body, &has_step) && (times || !has_step) &&
               !(has_step && body.substr(0, 5) == "stale")) {
      out.samples += times ? *times + 1 : 1;
    } else {
      out.error = "cannot read \"" + std::string(item) +
                  "\"; expected a number, _, stale, aXN, _xN or a+bxN / a-bxN";
      return out;
    }
  }
  return out;
}

}  // namespace triage::rulegen

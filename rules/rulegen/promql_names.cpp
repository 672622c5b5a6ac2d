#include "rules/rulegen/promql_names.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <set>

#include "base/duration.h"

namespace triage::rulegen {
namespace {

constexpr std::array<std::string_view, 12> kAggregations = {
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk",
    "topk", "quantile"};
// Followed by an optional parenthesised list of label names.
constexpr std::array<std::string_view, 6> kLabelListKeywords = {
    "by", "without", "on", "ignoring", "group_left", "group_right"};
constexpr std::array<std::string_view, 5> kOperatorKeywords = {"and", "or", "unless", "bool",
                                                              "atan2"};

bool IsIdentStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':';
}
bool IsIdentChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':';
}
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

template <size_t N>
bool OneOf(const std::array<std::string_view, N>& set, std::string_view word) {
  return std::find(set.begin(), set.end(), word) != set.end();
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}

  PromqlScan Run() {
    while (i_ < s_.size() && !out_.error) Step();
    return std::move(out_);
  }

 private:
  void Fail(size_t at, std::string message) {
    if (out_.error) return;
    out_.error = std::move(message);
    out_.error_offset = at;
  }

  void SkipSpace() {
    while (i_ < s_.size()) {
      if (IsSpace(s_[i_])) {
        ++i_;
      } else if (s_[i_] == '#') {
        while (i_ < s_.size() && s_[i_] != '\n') ++i_;
      } else {
        break;
      }
    }
  }

  // At a quote character: moves past the closing quote.
  void SkipString() {
    const size_t start = i_;
    const char quote = s_[i_++];
    while (i_ < s_.size() && s_[i_] != quote) {
      if (quote != '`' && s_[i_] == '\\') ++i_;
      if (quote != '`' && i_ < s_.size() && s_[i_] == '\n') break;
      ++i_;
    }
    if (i_ >= s_.size() || s_[i_] != quote) {
      Fail(start, "unterminated string");
      return;
    }
    ++i_;
  }

  // At an opening bracket: moves past its partner, skipping strings inside.
  void SkipBalanced(char open, char close) {
    const size_t start = i_;
    int depth = 0;
    while (i_ < s_.size()) {
      const char c = s_[i_];
      if (c == '"' || c == '\'' || c == '`') {
        SkipString();
        if (out_.error) return;
        continue;
      }
      if (c == open) ++depth;
      if (c == close && --depth == 0) {
        ++i_;
        return;
      }
      ++i_;
    }
    Fail(start, std::string("no closing '") + close + "' for this '" + open + "'");
  }

  void AddDuration(size_t begin, size_t end, std::string_view what) {
    while (begin < end && IsSpace(s_[begin])) ++begin;
    while (end > begin && IsSpace(s_[end - 1])) --end;
    const std::string_view text = s_.substr(begin, end - begin);
    const auto d = ParseDuration(text);
    if (!d) {
      Fail(begin, std::string(what) + " \"" + std::string(text) +
                      "\" is not a duration like 5m or 1h30m");
      return;
    }
    out_.durations.push_back({begin, text.size(), *d});
  }

  // At '[': a range "[5m]" or a subquery "[1h:5m]" / "[1h:]".
  void Range() {
    const size_t open = i_;
    const size_t close = s_.find(']', open);
    if (close == std::string_view::npos) {
      Fail(open, "no closing ']' for this '['");
      return;
    }
    const size_t colon = s_.find(':', open);
    if (colon != std::string_view::npos && colon < close) {
      AddDuration(open + 1, colon, "subquery range");
      size_t b = colon + 1;
      while (b < close && IsSpace(s_[b])) ++b;
      if (b < close) AddDuration(b, close, "subquery step");
    } else {
      AddDuration(open + 1, close, "range");
    }
    i_ = close + 1;
  }

  void Number() {
    const bool hex = s_[i_] == '0' && i_ + 1 < s_.size() && (s_[i_ + 1] == 'x' || s_[i_ + 1] == 'X');
    while (i_ < s_.size()) {
      const char c = s_[i_];
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_') {
        ++i_;
      } else if ((c == '+' || c == '-') && !hex && (s_[i_ - 1] == 'e' || s_[i_ - 1] == 'E')) {
        ++i_;
      } else {
        break;
      }
    }
  }

  void Offset() {
    SkipSpace();
    if (i_ < s_.size() && s_[i_] == '-') ++i_;
    const size_t start = i_;
    while (i_ < s_.size() && std::isalnum(static_cast<unsigned char>(s_[i_]))) ++i_;
    if (i_ == start) {
      Fail(start, "expected a duration after offset");
      return;
    }
    AddDuration(start, i_, "offset");
  }

  void Identifier() {
    const size_t start = i_;
    while (i_ < s_.size() && IsIdentChar(s_[i_])) ++i_;
    const std::string_view word = s_.substr(start, i_ - start);
    const std::string lower = Lower(word);
    if (OneOf(kLabelListKeywords, lower)) {
      SkipSpace();
      if (i_ < s_.size() && s_[i_] == '(') SkipBalanced('(', ')');
      return;
    }
    if (lower == "offset") {
      Offset();
      return;
    }
    if (OneOf(kOperatorKeywords, lower) || OneOf(kAggregations, lower) || lower == "inf" ||
        lower == "nan") {
      return;
    }
    const size_t after = i_;
    SkipSpace();
    const bool call = i_ < s_.size() && s_[i_] == '(';
    i_ = after;
    if (!call) out_.names.push_back({std::string(word), start});
  }

  void Step() {
    const char c = s_[i_];
    if (IsSpace(c) || c == '#') {
      SkipSpace();
    } else if (c == '"' || c == '\'' || c == '`') {
      SkipString();
    } else if (c == '{') {
      SkipBalanced('{', '}');
    } else if (c == '}') {
      Fail(i_, "'}' without an opening '{'");
    } else if (c == '[') {
      Range();
    } else if (std::isdigit(static_cast<unsigned char>(c)) ||
               (c == '.' && i_ + 1 < s_.size() &&
                std::isdigit(static_cast<unsigned char>(s_[i_ + 1])))) {
      Number();
    } else if (IsIdentStart(c)) {
      Identifier();
    } else {
      ++i_;
    }
  }

  std::string_view s_;
  size_t i_ = 0;
  PromqlScan out_;
};

}  // namespace

PromqlScan ScanPromql(std::string_view expr) { return Scanner(expr).Run(); }

std::vector<std::string> MetricNames(std::string_view expr) {
  std::set<std::string> names;
  for (auto& n : ScanPromql(expr).names) names.insert(n.name);
  return {names.begin(), names.end()};
}

}  // namespace triage::rulegen

#include "exposition/exposition_parser.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <vector>

namespace triage {
namespace {

// Never stricter than the Prometheus server's own text parser: a page that
// Prometheus scrapes without complaint must parse here too, or the probe
// would report invalid_body for a target that is fine. So unknown escapes in
// label values are kept verbatim (only \\ \" \n are decoded, as Prometheus
// does), TYPE keywords are compared without case, and a HELP or TYPE line
// that stops early is a comment rather than an error.

constexpr size_t kQuoteMax = 32;

bool IsBlank(char c) { return c == ' ' || c == '\t'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsMetricNameStart(char c) { return IsAlpha(c) || c == '_' || c == ':'; }
bool IsMetricNameChar(char c) { return IsMetricNameStart(c) || IsDigit(c); }
bool IsLabelNameStart(char c) { return IsAlpha(c) || c == '_'; }
bool IsLabelNameChar(char c) { return IsLabelNameStart(c) || IsDigit(c); }

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

// A short, printable rendering of input text for an error message.
std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s.substr(0, kQuoteMax)) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else {
      out += (u < 0x20 || u >= 0x7f) ? '?' : c;
    }
  }
  out += '"';
  if (s.size() > kQuoteMax) out += "...";
  return out;
}

bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n = 0;
    uint32_t cp = 0;
    if ((c & 0xe0) == 0xc0) {
      n = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    static constexpr std::array<uint32_t, 4> kMin = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}

std::optional<int64_t> ParseTimestamp(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty() || s.front() == '+') return std::nullopt;
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

class LineParser {
 public:
  LineParser(std::string_view line, size_t number) : s_(line), line_(number) {}

  // Parses one line. Returns false with `error` set when it is not valid;
  // `is_sample` tells whether `sample` was filled.
  bool Parse(std::vector<ExpositionLabel>& labels, ExpositionSample& sample, bool& is_sample,
             std::string& error) {
    is_sample = false;
    SkipBlanks();
    if (AtEnd()) return true;  // blank line
    if (s_[i_] == '#') return ParseComment(error);
    return ParseSample(labels, sample, is_sample, error);
  }

 private:
  bool AtEnd() const { return i_ >= s_.size(); }
  void SkipBlanks() {
    while (!AtEnd() && IsBlank(s_[i_])) ++i_;
  }
  std::string_view TokenUntilBlank() {
    const size_t start = i_;
    while (!AtEnd() && !IsBlank(s_[i_])) ++i_;
    return s_.substr(start, i_ - start);
  }
  std::string_view MetricName() {
    const size_t start = i_;
    if (AtEnd() || !IsMetricNameStart(s_[i_])) return {};
    while (!AtEnd() && IsMetricNameChar(s_[i_])) ++i_;
    return s_.substr(start, i_ - start);
  }
  bool Fail(std::string& error, std::string_view what) const {
    error = "line " + std::to_string(line_) + ": ";
    error += what;
    return false;
  }

  bool ParseComment(std::string& error) {
    ++i_;  // '#'
    SkipBlanks();
    const std::string_view keyword = TokenUntilBlank();
    if (keyword != "HELP" && keyword != "TYPE") return true;  // a comment
    SkipBlanks();
    if (AtEnd()) return true;  // "# HELP" alone: nothing to read
    const std::string_view name = MetricName();
    if (name.empty() || (!AtEnd() && !IsBlank(s_[i_]))) {
      return Fail(error, "expected a metric name after # " + std::string(keyword) + ", got " +
                             Quote(s_.substr(i_ - name.size())));
    }
    if (keyword == "HELP") return true;  // the docstring is free text
    SkipBlanks();
    std::string_view type = s_.substr(i_);
    while (!type.empty() && IsBlank(type.back())) type.remove_suffix(1);
    if (type.empty()) return true;
    static constexpr std::array<std::string_view, 5> kTypes = {"counter", "gauge", "histogram",
                                                               "summary", "untyped"};
    for (auto t : kTypes) {
      if (EqualsNoCase(type, t)) return true;
    }
    return Fail(error, "unknown metric type " + Quote(type) +
                           " (expected counter, gauge, histogram, summary or untyped)");
  }

  bool ParseSample(std::vector<ExpositionLabel>& labels, ExpositionSample& sample,
                   bool& is_sample, std::string& error) {
    sample.name = MetricName();
    if (sample.name.empty()) {
      return Fail(error, "expected a metric name, got " + Quote(s_.substr(i_)));
    }
    labels.clear();
    SkipBlanks();
    if (!AtEnd() && s_[i_] == '{') {
      ++i_;
      if (!ParseLabels(labels, error)) return false;
    }
    SkipBlanks();
    const std::string_view value = TokenUntilBlank();
    if (value.empty()) {
      return Fail(error, "expected a value after " + Quote(sample.name));
    }
    const auto v = ParseExpositionValue(value);
    if (!v) return Fail(error, "invalid sample value " + Quote(value));
    sample.value = *v;
    sample.timestamp_ms.reset();
    SkipBlanks();
    if (!AtEnd()) {
      const std::string_view ts = TokenUntilBlank();
      sample.timestamp_ms = ParseTimestamp(ts);
      if (!sample.timestamp_ms) {
        return Fail(error, "invalid timestamp " + Quote(ts) + " (expected integer milliseconds)");
      }
      SkipBlanks();
      if (!AtEnd()) {
        return Fail(error, "unexpected text after the timestamp: " + Quote(s_.substr(i_)));
      }
    }
    sample.labels = std::span<const ExpositionLabel>(labels.data(), labels.size());
    sample.line = line_;
    is_sample = true;
    return true;
  }

  bool ParseLabels(std::vector<ExpositionLabel>& labels, std::string& error) {
    for (;;) {
      SkipBlanks();
      if (AtEnd()) return Fail(error, "unterminated label set (expected '}')");
      if (s_[i_] == '}') {
        ++i_;
        return true;
      }
      if (!IsLabelNameStart(s_[i_])) {
        return Fail(error, "expected a label name or '}', got " + Quote(s_.substr(i_)));
      }
      const size_t start = i_;
      while (!AtEnd() && IsLabelNameChar(s_[i_])) ++i_;
      const std::string_view name = s_.substr(start, i_ - start);
      SkipBlanks();
      if (AtEnd() || s_[i_] != '=') {
        return Fail(error, "expected '=' after label name " + Quote(name));
      }
      ++i_;
      SkipBlanks();
      if (AtEnd() || s_[i_] != '"') {
        return Fail(error, "expected a double-quoted value for label " + Quote(name));
      }
      ++i_;
      const size_t vstart = i_;
      while (!AtEnd() && s_[i_] != '"') {
        i_ += (s_[i_] == '\\') ? 2 : 1;
      }
      if (AtEnd()) return Fail(error, "unterminated value of label " + Quote(name));
      const std::string_view raw = s_.substr(vstart, i_ - vstart);
      ++i_;  // closing quote
      if (!ValidUtf8(raw)) return Fail(error, "value of label " + Quote(name) + " is not UTF-8");
      for (const auto& l : labels) {
        if (l.name == name) return Fail(error, "duplicate label name " + Quote(name));
      }
      if (labels.size() >= kMaxLabelsPerSample) {
        return Fail(error, "more than " + std::to_string(kMaxLabelsPerSample) + " labels");
      }
      labels.push_back({name, raw});
      SkipBlanks();
      if (AtEnd()) return Fail(error, "unterminated label set (expected '}')");
      if (s_[i_] == ',') {
        ++i_;
        continue;
      }
      if (s_[i_] == '}') {
        ++i_;
        return true;
      }
      return Fail(error, "expected ',' or '}' after the value of label " + Quote(name));
    }
  }

  std::string_view s_;
  size_t line_;
  size_t i_ = 0;
};

}  // namespace

bool IsValidMetricName(std::string_view s) {
  if (s.empty() || !IsMetricNameStart(s.front())) return false;
  for (char c : s) {
    if (!IsMetricNameChar(c)) return false;
  }
  return true;
}

bool IsValidExpositionLabelName(std::string_view s) {
  if (s.empty() || !IsLabelNameStart(s.front())) return false;
  for (char c : s) {
    if (!IsLabelNameChar(c)) return false;
  }
  return true;
}

std::optional<double> ParseExpositionValue(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  if (IsAlpha(s.front())) {
    // from_chars would also take "nan(...)" and "infinity"; keep to the words
    // Go's ParseFloat knows.
    if (EqualsNoCase(s, "nan")) return std::nan("");
    if (EqualsNoCase(s, "inf") || EqualsNoCase(s, "infinity")) {
      return negative ? -HUGE_VAL : HUGE_VAL;
    }
    return std::nullopt;
  }
  if (!IsDigit(s.front()) && s.front() != '.') return std::nullopt;
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (end != s.data() + s.size()) return std::nullopt;
  if (ec == std::errc::result_out_of_range) {
    // Like Go's ParseFloat, which Prometheus uses: a value too large for a
    // double is an error, one too small is 0 (or a subnormal). Rare, so the
    // copy strtod needs is fine here.
    const std::string copy(s);
    v = std::strtod(copy.c_str(), nullptr);
    if (!std::isfinite(v)) return std::nullopt;
  } else if (ec != std::errc()) {
    return std::nullopt;
  }
  return negative ? -v : v;
}

bool LabelValueEquals(std::string_view raw, std::string_view decoded) {
  size_t j = 0;
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '\\' && i + 1 < raw.size()) {
      const char n = raw[i + 1];
      if (n == '\\' || n == '"' || n == 'n') {
        c = n == 'n' ? '\n' : n;
        ++i;
      }
    }
    if (j >= decoded.size() || decoded[j] != c) return false;
    ++j;
  }
  return j == decoded.size();
}

void DecodeLabelValue(std::string_view raw, std::string& out) {
  out.clear();
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '\\' && i + 1 < raw.size()) {
      const char n = raw[i + 1];
      if (n == '\\' || n == '"' || n == 'n') {
        c = n == 'n' ? '\n' : n;
        ++i;
      }
    }
    out += c;
  }
}

ExpositionResult ParseExposition(std::string_view body, const ExpositionOptions& options,
                                 const ExpositionVisitor& visit) {
  ExpositionResult result;
  std::vector<ExpositionLabel> labels;
  ExpositionSample sample;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t nl = body.find('\n', pos);
    if (nl == std::string_view::npos) nl = body.size();
    std::string_view line = body.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = nl + 1;
    ++result.lines;

    bool is_sample = false;
    LineParser p(line, result.lines);
    if (!p.Parse(labels, sample, is_sample, result.error)) {
      result.status = ExpositionStatus::kInvalid;
      return result;
    }
    if (!is_sample) continue;
    if (options.sample_limit > 0 && result.samples >= options.sample_limit) {
      result.status = ExpositionStatus::kSampleLimit;
      result.error = "line " + std::to_string(result.lines) + ": more than " +
                     std::to_string(options.sample_limit) + " samples (sample_limit)";
      return result;
    }
    ++result.samples;
    if (visit) visit(sample);
  }
  return result;
}

}  // namespace triage

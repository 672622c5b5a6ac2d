#include "exposition/snapshot.h"

#include <charconv>
#include <cmath>

namespace triage {

void AppendEscapedLabelValue(std::string& out, std::string_view value) {
  // Copies runs of plain characters whole; most values have no escape at all.
  size_t plain = 0;
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c != '\\' && c != '"' && c != '\n') continue;
    out.append(value.data() + plain, i - plain);
    out += c == '\n' ? "\\n" : c == '"' ? "\\\"" : "\\\\";
    plain = i + 1;
  }
  out.append(value.data() + plain, value.size() - plain);
}

void AppendSampleValue(std::string& out, double value) {
  if (std::isnan(value)) { out += "NaN"; return; }
  if (std::isinf(value)) { out += value > 0 ? "+Inf" : "-Inf"; return; }
  char buf[64];
  std::to_chars_result r;
  if (value == std::trunc(value) && std::fabs(value) < 1e15) {
    r = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(value));
  } else {
    r = std::to_chars(buf, buf + sizeof buf, value);  // shortest round-trip form
  }
  out.append(buf, r.ptr);
}

void AppendFamilyHeader(std::string& out, std::string_view name, std::string_view type,
                        std::string_view help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

std::string RenderLabelPairs(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::string out;
  for (const auto& [k, v] : pairs) {
    if (!out.empty()) out += ',';
    out += k;
    out += "=\"";
    AppendEscapedLabelValue(out, v);
    out += '"';
  }
  return out;
}

BucketBounds::BucketBounds(std::span<const double> upper_bounds)
    : upper(upper_bounds.begin(), upper_bounds.end()) {
  for (double b : upper) {
    std::string text;
    AppendSampleValue(text, b);
    le.push_back(std::move(text));
  }
}

const BucketBounds& ProbeDurationBounds() {
  static const BucketBounds bounds(kProbeDurationBuckets);
  return bounds;
}

SampleWriter::SampleWriter(std::string label_prefix) : prefix_(std::move(label_prefix)) {}

void SampleWriter::Reset(std::string_view label_prefix) {
  prefix_.assign(label_prefix);
  last_status_code_ = 0;
  last_error_code_.clear();
  for (auto& b : buf_) b.clear();
}

std::string& SampleWriter::Begin(FamilyId f, std::string_view suffix) {
  std::string& b = buf_[static_cast<size_t>(f)];
  b += Family(f).name;
  b += suffix;
  b += '{';
  b += prefix_;
  return b;
}

void SampleWriter::Add(FamilyId f, double value) {
  std::string& b = Begin(f, "");
  b += "} ";
  AppendSampleValue(b, value);
  b += '\n';
}

void SampleWriter::Add(FamilyId f, std::string_view label, std::string_view label_value,
                       double value) {
  std::string& b = Begin(f, "");
  b += ',';
  b += label;
  b += "=\"";
  AppendEscapedLabelValue(b, label_value);
  b += "\"} ";
  AppendSampleValue(b, value);
  b += '\n';
}

void SampleWriter::Add(FamilyId f, std::string_view l1, std::string_view v1,
                       std::string_view l2, std::string_view v2, double value) {
  std::string& b = Begin(f, "");
  b += ',';
  b += l1;
  b += "=\"";
  AppendEscapedLabelValue(b, v1);
  b += "\",";
  b += l2;
  b += "=\"";
  AppendEscapedLabelValue(b, v2);
  b += "\"} ";
  AppendSampleValue(b, value);
  b += '\n';
}

void SampleWriter::Add(FamilyId f, std::span<const LabelView> labels, double value) {
  std::string& b = Begin(f, "");
  for (const auto& [name, v] : labels) {
    b += ',';
    b += name;
    b += "=\"";
    AppendEscapedLabelValue(b, v);
    b += '"';
  }
  b += "} ";
  AppendSampleValue(b, value);
  b += '\n';
}

void SampleWriter::AddHistogram(FamilyId f, const BucketBounds& bounds,
                                const uint64_t* cumulative_counts, uint64_t count, double sum) {
  for (size_t i = 0; i < bounds.le.size(); ++i) {
    std::string& b = Begin(f, "_bucket");
    b += ",le=\"";
    b += bounds.le[i];
    b += "\"} ";
    AppendSampleValue(b, static_cast<double>(cumulative_counts[i]));
    b += '\n';
  }
  std::string& b = Begin(f, "_bucket");
  b += ",le=\"+Inf\"} ";
  AppendSampleValue(b, static_cast<double>(count));
  b += '\n';
  std::string& s = Begin(f, "_sum");
  s += "} ";
  AppendSampleValue(s, sum);
  s += '\n';
  std::string& c = Begin(f, "_count");
  c += "} ";
  AppendSampleValue(c, static_cast<double>(count));
  c += '\n';
}

void SampleWriter::SetLastResponse(int status_code, std::string error_code) {
  last_status_code_ = status_code;
  last_error_code_ = std::move(error_code);
}

Snapshot SampleWriter::Finish() {
  Snapshot s;
  FinishInto(s);
  return s;
}

void SampleWriter::FinishInto(Snapshot& s) {
  s.success = false;
  s.reason = FailureReason::kNone;
  s.finished_unix = 0;
  s.duration_seconds = 0;
  s.last_status_code = last_status_code_;
  s.last_error_code.assign(last_error_code_);
  last_status_code_ = 0;
  last_error_code_.clear();
  size_t total = 0;
  for (const auto& b : buf_) total += b.size();
  if (s.text.capacity() < total || s.text.capacity() > 2 * total + 4096) {
    // A new text, or one that outgrew its memory (or shrank far below it).
    // A probe's text changes length by a few bytes from run to run as its
    // values do; a little room keeps the next runs in the same memory.
    // (reserve() on the old string would double its capacity instead.)
    std::string fresh;
    fresh.reserve(total + total / 32 + 32);
    s.text.swap(fresh);
  }
  s.text.clear();
  for (size_t i = 0; i < kFamilyCount; ++i) {
    s.offsets[i] = static_cast<uint32_t>(s.text.size());
    s.text += buf_[i];
    buf_[i].clear();
  }
  s.offsets[kFamilyCount] = static_cast<uint32_t>(s.text.size());
}

}  // namespace triage

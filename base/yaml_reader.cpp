#include "base/yaml_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <limits>
#include <exception>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

namespace triage {
namespace {

// yaml-cpp gives an implicit null (a key with nothing after the colon) the
// position of the token after it, which is misleading; such nodes and
// undefined ones have no usable mark.
bool HasUsableMark(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return false;
  return !n.Mark().is_null();
}

// Finds `key` among the entries of map `m` (keys compared as scalars).
bool FindEntry(const YAML::Node& m, std::string_view key, YAML::Node* key_node,
               YAML::Node* value_node) {
  if (!m.IsMap()) return false;
  for (const auto& kv : m) {
    if (kv.first.IsScalar() && kv.first.Scalar() == key) {
      if (key_node) *key_node = kv.first;
      if (value_node) *value_node = kv.second;
      return true;
    }
  }
  return false;
}

[[noreturn]] void Throw(const std::string& file, const YAML::Mark& mark, std::string_view message) {
  throw ConfigError(FormatConfigError(file, mark, message));
}

// Rejects non-scalar keys and keys given twice. yaml-cpp 0.7 keeps both
// entries of a repeated key but lookups only ever see the first one.
void CheckKeys(const YAML::Node& m, const std::string& file, const std::string& what) {
  std::map<std::string, YAML::Mark, std::less<>> first;
  for (const auto& kv : m) {
    const YAML::Node& k = kv.first;
    const YAML::Mark mark = HasUsableMark(k) ? k.Mark() : m.Mark();
    if (!k.IsScalar()) {
      Throw(file, mark,
            "a key in " + what + " is " + DescribeNode(k) + "; expected a plain name as the key");
    }
    auto [pos, inserted] = first.emplace(k.Scalar(), mark);
    if (!inserted) {
      std::string where = "line " + std::to_string(pos->second.line + 1);
      if (pos->second.line == mark.line) {
        where += ", column " + std::to_string(pos->second.column + 1);
      }
      Throw(file, mark,
            "duplicate key " + QuoteForMessage(k.Scalar()) + " in " + what + " (first given at " +
                where + "); expected each key at most once");
    }
  }
}

bool ParseInt64(std::string_view s, int64_t* out) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, *out);
  return ec == std::errc() && p == end;
}

std::string RangeText(int64_t min, int64_t max, std::string_view noun) {
  constexpr int64_t kLow = std::numeric_limits<int64_t>::min();
  constexpr int64_t kHigh = std::numeric_limits<int64_t>::max();
  std::string s(noun);
  if (min != kLow && max != kHigh) {
    s += " from " + std::to_string(min) + " to " + std::to_string(max);
  } else if (min != kLow) {
    s += " of at least " + std::to_string(min);
  } else if (max != kHigh) {
    s += " of at most " + std::to_string(max);
  }
  return s;
}

}  // namespace

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string QuoteForMessage(std::string_view s) {
  constexpr size_t kMax = 80;
  std::string out = "\"";
  const bool cut = s.size() > kMax;
  if (cut) s = s.substr(0, kMax);
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += '?';
    } else {
      out += c;
    }
  }
  out += '"';
  if (cut) out += "...";
  return out;
}

std::string DescribeNode(const YAML::Node& n) {
  if (!n.IsDefined()) return "nothing";
  switch (n.Type()) {
    case YAML::NodeType::Scalar:
      return QuoteForMessage(n.Scalar());
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Null:
      return "an empty value";
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

std::string ReadConfigText(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    throw ConfigError(path + ": cannot read: " + std::strerror(err));
  }
  std::string text;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      throw ConfigError(path + ": cannot read: " + std::strerror(err));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return text;
}

namespace {

// Takes the events of one document without building it: whether it holds
// anything, and where that starts.
class DocumentContent : public YAML::EventHandler {
 public:
  bool found = false;
  YAML::Mark first;

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { Note(m); }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t, const std::string&) override {
    Note(m);
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Note(m);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Note(m);
  }
  void OnMapEnd() override {}

 private:
  void Note(const YAML::Mark& m) {
    if (!found) first = m;
    found = true;
  }
};

// yaml-cpp 0.7's LoadAll never returns on some inputs (a lone ","): its
// parser keeps handing out empty documents, and the list of them grows until
// memory runs out. So the first document is loaded alone, and at most this
// many documents after it are looked at, without building them.
constexpr int kMaxDocumentsLookedAt = 16;

// A document after the first begins at a line starting with "---" or "..."
// (a document marker); without one the second look is skipped.
bool HasDocumentMarker(std::string_view text) {
  for (size_t pos = 0; pos < text.size();) {
    const std::string_view line = text.substr(pos, 3);
    if (line == "---" || line == "...") {
      if (pos + 3 == text.size() ||
          std::string_view(" \t\r\n").find(text[pos + 3]) != std::string_view::npos) {
        return true;
      }
    }
    const size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return false;
}

}  // namespace

YAML::Node ParseSingleYamlDocument(const std::string& text, const std::string& file) {
  YAML::Node root;
  std::optional<YAML::Mark> second;  // where a later document with content starts
  try {
    // The tree of a large configuration takes several KiB per probe, far
    // more than the probes built from it. Built on a thread of its own, it
    // sits in a malloc arena of its own, which frees as a whole once the
    // tree is gone, instead of leaving holes between the probes that the
    // heap cannot give back.
    std::exception_ptr error;
    std::thread([&] {
      try {
        root = YAML::Load(text);
        if (!HasDocumentMarker(text)) return;
        std::istringstream in(text);
        YAML::Parser parser(in);
        DocumentContent skip;
        parser.HandleNextDocument(skip);  // the first document, loaded above
        for (int i = 0; i < kMaxDocumentsLookedAt; ++i) {
          DocumentContent doc;
          if (!parser.HandleNextDocument(doc)) break;
          if (doc.found) {
            second = doc.first;
            break;
          }
        }
      } catch (...) {
        error = std::current_exception();
      }
    }).join();
    if (error) std::rethrow_exception(error);
  } catch (const YAML::Exception& e) {
    throw ConfigError(FormatConfigError(
        file, e.mark,
        "invalid YAML: " + e.msg +
            "; expected well-formed YAML (check the indentation, colons and quotes near here)"));
  }
  if (second) {
    throw ConfigError(FormatConfigError(
        file, *second, "a second YAML document starts here; expected a single document per file"));
  }
  return root;
}

std::string FormatConfigError(const std::string& file, const YAML::Mark& mark,
                              std::string_view message) {
  std::string out = file;
  if (!mark.is_null()) {
    out += ':' + std::to_string(mark.line + 1) + ':' + std::to_string(mark.column + 1);
  }
  out += ": ";
  out += message;
  return out;
}

void RequireMapItem(const YAML::Node& item, const YAML::Node& list, const std::string& file,
                    std::string_view what, std::string_view expected) {
  if (item.IsMap()) return;
  const YAML::Mark mark = item.IsNull() ? list.Mark() : item.Mark();
  Throw(file, mark,
        std::string(what) + " is " + DescribeNode(item) + "; " + std::string(expected));
}

std::string ScalarString(const YAML::Node& n, const std::string& file, std::string_view what) {
  if (n.IsDefined() && n.IsScalar()) return n.Scalar();
  Throw(file, HasUsableMark(n) ? n.Mark() : YAML::Mark::null_mark(),
        "invalid value for " + std::string(what) + "; expected a string, got " + DescribeNode(n));
}

MapReader::MapReader(const YAML::Node& node, std::string file, std::string what)
    : node_(node), file_(std::move(file)), what_(std::move(what)) {
  if (!node_.IsDefined() || !node_.IsMap()) {
    Throw(file_, HasUsableMark(node_) ? node_.Mark() : YAML::Mark::null_mark(),
          what_ + " is not a map; expected key: value pairs, got " + DescribeNode(node_));
  }
  CheckKeys(node_, file_, what_);
}

bool MapReader::Has(std::string_view key) const {
  return FindEntry(node_, key, nullptr, nullptr);
}

YAML::Node MapReader::Lookup(std::string_view key) {
  seen_.emplace(key);
  YAML::Node value;
  if (FindEntry(node_, key, nullptr, &value)) return value;
  return YAML::Node(YAML::NodeType::Undefined);
}

void MapReader::Fail(const YAML::Node& at, std::string_view message) const {
  YAML::Mark mark = node_.Mark();
  if (HasUsableMark(at)) {
    mark = at.Mark();
  } else if (at.IsDefined()) {
    // An empty value: point at its key instead.
    for (const auto& kv : node_) {
      if (kv.second.is(at)) {
        if (HasUsableMark(kv.first)) mark = kv.first.Mark();
        break;
      }
    }
  }
  Throw(file_, mark, message);
}

void MapReader::FailKey(std::string_view key, std::string_view message) const {
  YAML::Node k, v;
  YAML::Mark mark = node_.Mark();
  if (FindEntry(node_, key, &k, &v)) {
    if (HasUsableMark(v)) {
      mark = v.Mark();
    } else if (HasUsableMark(k)) {
      mark = k.Mark();
    }
  }
  Throw(file_, mark,
        "invalid value for " + QuoteForMessage(key) + " in " + what_ + "; " + std::string(message));
}

std::string MapReader::RequiredString(std::string_view key) {
  const YAML::Node n = Lookup(key);
  if (!n.IsDefined()) {
    Fail(node_,
         "missing required key " + QuoteForMessage(key) + " in " + what_ + "; expected a string");
  }
  if (!n.IsScalar()) FailKey(key, "expected a string, got " + DescribeNode(n));
  return n.Scalar();
}

std::optional<std::string> MapReader::OptionalString(std::string_view key) {
  const YAML::Node n = Lookup(key);
  if (!n.IsDefined()) return std::nullopt;
  if (!n.IsScalar()) FailKey(key, "expected a string, got " + DescribeNode(n));
  return n.Scalar();
}

std::string MapReader::String(std::string_view key, std::string_view def) {
  auto v = OptionalString(key);
  return v ? *v : std::string(def);
}

bool MapReader::Bool(std::string_view key, bool def) {
  const YAML::Node n = Lookup(key);
  if (!n.IsDefined()) return def;
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
  }
  FailKey(key, "expected true or false, got " + DescribeNode(n));
}

int64_t MapReader::Int(std::string_view key, int64_t def, int64_t min, int64_t max) {
  const YAML::Node n = Lookup(key);
  if (!n.IsDefined()) return def;
  int64_t v = 0;
  if (!n.IsScalar() || !ParseInt64(n.Scalar(), &v) || v < min || v > max) {
    FailKey(key, "expected " + RangeText(min, max, "an integer") + ", got " + DescribeNode(n));
  }
  return v;
}

std::chrono::milliseconds MapReader::Duration(std::string_view key,
                                              std::chrono::milliseconds def) {
  const YAML::Node n = Lookup(key);
  if (!n.IsDefined()) return def;
  std::optional<std::chrono::milliseconds> d;
  if (n.IsScalar()) d = ParseDuration(n.Scalar());
  if (!d) FailKey(key, "expected a duration like 15s or 500ms, got " + DescribeNode(n));
  return *d;
}

std::chrono::milliseconds MapReader::PositiveDuration(std::string_view key,
                                                      std::chrono::milliseconds def) {
  const auto d = Duration(key, def);
  if (d.count() <= 0) {
    FailKey(key, "expected a duration greater than zero like 15s or 500ms, got " +
                     DescribeNode(Lookup(key)));
  }
  // Schedules add these to steady_clock time points; a day is far beyond
  // any useful probe interval and keeps that arithmetic clear of overflow.
  if (d > std::chrono::hours(24)) {
    FailKey(key, "expected a duration of at most 24h, got " + DescribeNode(Lookup(key)));
  }
  return d;
}

int64_t MapReader::ByteSize(std::string_view key, int64_t def, int64_t min, int64_t max) {
  const YAML::Node n = Lookup(key);
  if (!n.IsDefined()) return def;
  const std::string expected = "expected a size in bytes like 1048576, 512KiB or 1MiB";
  if (!n.IsScalar()) FailKey(key, expected + ", got " + DescribeNode(n));
  std::string_view s = n.Scalar();
  size_t digits = 0;
  while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
  int64_t number = 0;
  if (digits == 0 || !ParseInt64(s.substr(0, digits), &number)) {
    FailKey(key, expected + ", got " + DescribeNode(n));
  }
  std::string_view unit = s.substr(digits);
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  static const std::pair<std::string_view, int64_t> kUnits[] = {
      {"", 1},          {"B", 1},           {"KB", 1000},      {"MB", 1000 * 1000},
      {"GB", 1000000000}, {"KiB", 1LL << 10}, {"MiB", 1LL << 20}, {"GiB", 1LL << 30}};
  int64_t mult = 0;
  for (const auto& [name, m] : kUnits) {
    if (unit == name) mult = m;
  }
  if (mult == 0) {
    FailKey(key, expected + " (units B, KB, MB, GB, KiB, MiB, GiB), got " + DescribeNode(n));
  }
  if (number > std::numeric_limits<int64_t>::max() / mult || number * mult < min ||
      number * mult > max) {
    FailKey(key, "expected " + RangeText(min, max, "a size") + " bytes, got " + DescribeNode(n));
  }
  return number * mult;
}

std::vector<int64_t> MapReader::IntList(std::string_view key, int64_t min, int64_t max) {
  const YAML::Node n = Lookup(key);
  std::vector<int64_t> out;
  if (!n.IsDefined()) return out;
  const std::string expected = "expected a list of " + RangeText(min, max, "integers");
  if (!n.IsSequence()) FailKey(key, expected + " like [200, 204], got " + DescribeNode(n));
  size_t index = 0;
  for (const auto& item : n) {
    ++index;
    int64_t v = 0;
    if (!item.IsScalar() || !ParseInt64(item.Scalar(), &v) || v < min || v > max) {
      Fail(HasUsableMark(item) ? item : n,
           "invalid value for " + QuoteForMessage(key) + " in " + what_ + "; " + expected +
               ", got " + DescribeNode(item) + " as item " + std::to_string(index));
    }
    out.push_back(v);
  }
  return out;
}

std::vector<std::string> MapReader::StringList(std::string_view key) {
  const YAML::Node n = Lookup(key);
  std::vector<std::string> out;
  if (!n.IsDefined()) return out;
  if (!n.IsSequence()) {
    FailKey(key, "expected a list of strings like [a, b], got " + DescribeNode(n));
  }
  size_t index = 0;
  for (const auto& item : n) {
    ++index;
    if (!item.IsScalar()) {
      Fail(HasUsableMark(item) ? item : n,
           "invalid value for " + QuoteForMessage(key) + " in " + what_ +
               "; expected a list of strings, got " + DescribeNode(item) + " as item " +
               std::to_string(index));
    }
    out.push_back(item.Scalar());
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> MapReader::StringMap(std::string_view key) {
  const YAML::Node n = Lookup(key);
  std::vector<std::pair<std::string, std::string>> out;
  if (!n.IsDefined()) return out;
  if (!n.IsMap()) {
    FailKey(key, "expected a map of names to strings like {a: b}, got " + DescribeNode(n));
  }
  const std::string what = QuoteForMessage(key) + " of " + what_;
  CheckKeys(n, file_, what);
  for (const auto& kv : n) {
    if (!kv.second.IsScalar()) {
      const YAML::Node& at = HasUsableMark(kv.second) ? kv.second : kv.first;
      Throw(file_, at.Mark(),
            "invalid value for " + QuoteForMessage(kv.first.Scalar()) + " in " + what +
                "; expected a string, got " + DescribeNode(kv.second));
    }
    out.emplace_back(kv.first.Scalar(), kv.second.Scalar());
  }
  return out;
}

YAML::Node MapReader::NonEmptyList(std::string_view key, std::string_view expected) {
  const YAML::Node n = Lookup(key);
  if (!n.IsDefined()) {
    Fail(node_, "missing required key " + QuoteForMessage(key) + " in " + what_ + "; " +
                    std::string(expected));
  }
  if (!n.IsSequence() || n.size() == 0) {
    FailKey(key, std::string(expected) + ", got " +
                     (n.IsSequence() ? "an empty list" : DescribeNode(n)));
  }
  return n;
}

std::optional<MapReader> MapReader::Map(std::string_view key) {
  const YAML::Node n = Lookup(key);
  if (!n.IsDefined()) return std::nullopt;
  if (!n.IsMap()) FailKey(key, "expected a map of key: value pairs, got " + DescribeNode(n));
  return MapReader(n, file_, QuoteForMessage(key) + " of " + what_);
}

YAML::Node MapReader::Node(std::string_view key) { return Lookup(key); }

void MapReader::Finish() const {
  for (const auto& kv : node_) {
    const std::string& key = kv.first.Scalar();
    if (seen_.count(key) != 0) continue;
    std::string message = "unknown key " + QuoteForMessage(key) + " in " + what_;
    // Suggest the closest allowed key when the unknown one looks like a typo.
    const std::string* best = ClosestMatch(key, seen_, 3);
    if (best != nullptr && key.size() >= 3) {
      message += " (did you mean " + QuoteForMessage(*best) + "?)";
    }
    message += "; allowed: ";
    bool first = true;
    for (const auto& allowed : seen_) {
      if (!first) message += ", ";
      message += allowed;
      first = false;
    }
    if (seen_.empty()) message += "none";
    Throw(file_, HasUsableMark(kv.first) ? kv.first.Mark() : node_.Mark(), message);
  }
}

}  // namespace triage

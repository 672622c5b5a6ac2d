// Reading configuration YAML with errors that point at the input.
//
// Every error is a ConfigError whose message is "FILE:LINE:COLUMN: what was
// expected" (1-based line and column). MapReader remembers which keys were
// read, so Finish() can reject unknown keys and list the ones allowed.
//
// Part of the base layer (docs/architecture.md): below everything else.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "base/duration.h"

namespace triage {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "FILE:LINE:COLUMN: message" for a node (or file-level when the mark is unknown).
std::string FormatConfigError(const std::string& file, const YAML::Mark& mark,
                              std::string_view message);

// A value in double quotes for an error message. Quotes and backslashes are
// escaped, newlines and tabs written as \n and \t, other control characters
// shown as '?', and anything past 80 characters cut off and marked "...".
std::string QuoteForMessage(std::string_view s);

// Levenshtein distance between two strings, for "did you mean" hints.
size_t EditDistance(std::string_view a, std::string_view b);

// The candidate closest to `name` by edit distance when that distance is
// below `limit`, else null: the hint of an unknown-name error.
template <typename Strings>
const std::string* ClosestMatch(std::string_view name, const Strings& candidates, size_t limit) {
  const std::string* best = nullptr;
  for (const std::string& c : candidates) {
    const size_t d = EditDistance(name, c);
    if (d < limit) {
      limit = d;
      best = &c;
    }
  }
  return best;
}

// What a node holds, for the "got ..." part of an error message: the quoted
// scalar, "a list", "a map", "an empty value" or "nothing" (undefined).
std::string DescribeNode(const YAML::Node& n);

// The whole content of a file. Throws ConfigError("PATH: cannot read: REASON")
// with the system's description of the failure.
std::string ReadConfigText(const std::string& path);

// Parses `text`, which must hold at most one YAML document; `file` names it
// in errors. Throws ConfigError (FILE:LINE:COLUMN) for a syntax error and for
// a second non-empty document. An empty text or document gives a null node:
// each caller checks for that and says in its own words what was expected.
YAML::Node ParseSingleYamlDocument(const std::string& text, const std::string& file);

// Checks that an item of `list` is a map. Otherwise throws ConfigError
// "WHAT is <what it holds>; EXPECTED". An empty item has no useful position
// of its own, so the error then points at the list.
void RequireMapItem(const YAML::Node& item, const YAML::Node& list, const std::string& file,
                    std::string_view what, std::string_view expected);

class MapReader {
 public:
  // `node` must be a map; `what` names it in errors ("probe", "global", ...).
  MapReader(const YAML::Node& node, std::string file, std::string what);

  const std::string& file() const { return file_; }
  const YAML::Node& node() const { return node_; }
  bool Has(std::string_view key) const;

  // Each getter marks the key as known. "Required" variants fail when absent.
  std::string RequiredString(std::string_view key);
  std::optional<std::string> OptionalString(std::string_view key);
  std::string String(std::string_view key, std::string_view def);
  bool Bool(std::string_view key, bool def);
  int64_t Int(std::string_view key, int64_t def, int64_t min, int64_t max);
  std::chrono::milliseconds Duration(std::string_view key, std::chrono::milliseconds def);
  // Like Duration, but a value of zero or less is an error.
  std::chrono::milliseconds PositiveDuration(std::string_view key, std::chrono::milliseconds def);
  // A byte size: plain integer or with a unit suffix KiB/MiB/GiB/KB/MB/GB/B.
  int64_t ByteSize(std::string_view key, int64_t def, int64_t min, int64_t max);
  std::vector<int64_t> IntList(std::string_view key, int64_t min, int64_t max);
  std::vector<std::string> StringList(std::string_view key);
  // A map of string to string, keys in file order.
  std::vector<std::pair<std::string, std::string>> StringMap(std::string_view key);
  // A list that must be given and hold at least one item. `expected` says what
  // it should be ("expected a non-empty list of ...") in the errors.
  YAML::Node NonEmptyList(std::string_view key, std::string_view expected);
  // A nested map; nullopt when the key is absent.
  std::optional<MapReader> Map(std::string_view key);
  // Any node, for callers with their own shape (sequence of maps, ...).
  YAML::Node Node(std::string_view key);

  // Fails with an error at `at` (or at this map when `at` has no mark).
  [[noreturn]] void Fail(const YAML::Node& at, std::string_view message) const;
  [[noreturn]] void FailKey(std::string_view key, std::string_view message) const;

  // Rejects any key that no getter asked for.
  void Finish() const;

 private:
  YAML::Node Lookup(std::string_view key);
  YAML::Node node_;
  std::string file_;
  std::string what_;
  std::set<std::string, std::less<>> seen_;
};

// Reads a scalar with a clear type error.
std::string ScalarString(const YAML::Node& n, const std::string& file, std::string_view what);

}  // namespace triage

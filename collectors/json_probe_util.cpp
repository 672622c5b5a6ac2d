#include "collectors/json_probe_util.h"

#include "base/yaml_reader.h"

namespace triage {

std::optional<nlohmann::json> ParseJsonBody(std::string_view body) {
  nlohmann::json j = nlohmann::json::parse(body.begin(), body.end(), /*cb=*/nullptr,
                                           /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

std::optional<nlohmann::json::json_pointer> ParseJsonPointer(std::string_view text) {
  try {
    return nlohmann::json::json_pointer(std::string(text));
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

const nlohmann::json* FindJsonPointer(const nlohmann::json& doc,
                                      const nlohmann::json::json_pointer& ptr) {
  try {
    // contains() answers false for most absent paths but throws for an array
    // index that does not fit in size_t; at() throws for the rest.
    if (!doc.contains(ptr)) return nullptr;
    return &doc.at(ptr);
  } catch (const nlohmann::json::exception&) {
    return nullptr;
  }
}

std::optional<nlohmann::json::json_pointer> ReadJsonPointer(MapReader& r, std::string_view key) {
  const std::optional<std::string> text = r.OptionalString(key);
  if (!text) return std::nullopt;
  auto ptr = ParseJsonPointer(*text);
  if (!ptr) {
    r.FailKey(key, "expected a JSON Pointer such as /checks or /cluster/leader (\"\" for the "
                   "whole document, ~0 for ~ and ~1 for /), got " + QuoteForMessage(*text));
  }
  return ptr;
}

nlohmann::json::json_pointer RequiredJsonPointer(MapReader& r, std::string_view key) {
  r.RequiredString(key);  // the "missing required key" error, at the map
  return *ReadJsonPointer(r, key);
}

std::string_view JsonTypeName(const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::object: return "an object";
    case nlohmann::json::value_t::array: return "an array";
    case nlohmann::json::value_t::string: return "a string";
    case nlohmann::json::value_t::boolean: return "a boolean";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float: return "a number";
    case nlohmann::json::value_t::binary: return "binary data";
    case nlohmann::json::value_t::discarded: return "nothing";
  }
  return "something else";
}

}  // namespace triage

// JSON helpers for the kinds that read a JSON answer (readiness, cluster).
// Everything on the probe path is exception-free: a body that is not JSON, a
// pointer that is not there, an array index too large for size_t all come
// back as "nothing" instead of an exception on the event loop thread. Pure
// functions over strings and values, so a fuzzer can call them directly.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace triage {

class MapReader;

// `body` parsed as one JSON value; nullopt when it is not valid JSON
// (including an empty body or trailing garbage). Never throws.
std::optional<nlohmann::json> ParseJsonBody(std::string_view body);

// `text` as a JSON Pointer (RFC 6901: "" or "/a/b", with ~0 and ~1 escapes);
// nullopt when it is not one. Never throws.
std::optional<nlohmann::json::json_pointer> ParseJsonPointer(std::string_view text);

// The value `ptr` points at inside `doc`, or nullptr when it is not there
// (missing member, index out of range or not a number, descent into a
// scalar). Never throws: nlohmann's contains() throws for some indices,
// this catches it. The result lives as long as `doc`.
const nlohmann::json* FindJsonPointer(const nlohmann::json& doc,
                                      const nlohmann::json::json_pointer& ptr);

// Reads the configuration key `key` as a JSON Pointer: nullopt when the key is
// absent. A value that is not a JSON Pointer fails through MapReader, naming
// FILE:LINE:COL. Marks the key as known.
std::optional<nlohmann::json::json_pointer> ReadJsonPointer(MapReader& r, std::string_view key);
// Same, for a key that must be given.
nlohmann::json::json_pointer RequiredJsonPointer(MapReader& r, std::string_view key);

// The JSON type of `v` in words ("a string", "an object", ...), for debug lines.
std::string_view JsonTypeName(const nlohmann::json& v);

}  // namespace triage

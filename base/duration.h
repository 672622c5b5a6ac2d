// Prometheus-style durations: "1500ms", "15s", "2m", "1h30m", "1d", "1w".
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace triage {

// Returns nullopt when malformed (bare numbers, unknown units, units out of
// order, overflow). "0s" is valid; the caller decides whether zero is allowed.
std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text);
// Renders a duration the way ParseDuration reads it ("1m30s", "250ms", "0s").
std::string FormatDuration(std::chrono::milliseconds d);

}  // namespace triage

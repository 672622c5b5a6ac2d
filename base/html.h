// Helpers shared by the exporter's HTML pages (the landing page and the
// runbook pages): escaping and timestamps.
#pragma once

#include <string>
#include <string_view>

namespace triage {

// HTML-escapes text for element content and attribute values.
std::string HtmlEscape(std::string_view s);

// "2024-05-01 12:34:56 UTC"; "never" for a time at or before the epoch.
std::string FormatUtcTime(double unix_seconds);

}  // namespace triage

// Structured logging to stderr in logfmt (default) or JSON, with a level
// filter. Callers pass fixed messages and key/value pairs; never a secret.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace triage {

enum class LogLevel { kDebug = 0, kInfo, kWarn, kError };
enum class LogFormat { kLogfmt, kJson };

using LogField = std::pair<std::string_view, std::string_view>;

// Returns false when `level` or `format` is not a known name.
bool SetLogLevel(std::string_view level);
bool SetLogFormat(std::string_view format);
bool LogEnabled(LogLevel level);

void Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields = {});
inline void LogDebug(std::string_view m, std::initializer_list<LogField> f = {}) { Log(LogLevel::kDebug, m, f); }
inline void LogInfo(std::string_view m, std::initializer_list<LogField> f = {}) { Log(LogLevel::kInfo, m, f); }
inline void LogWarn(std::string_view m, std::initializer_list<LogField> f = {}) { Log(LogLevel::kWarn, m, f); }
inline void LogError(std::string_view m, std::initializer_list<LogField> f = {}) { Log(LogLevel::kError, m, f); }

// Redirects log output (for tests); nullptr restores stderr.
using LogSink = void (*)(std::string_view line);
void SetLogSink(LogSink sink);

}  // namespace triage

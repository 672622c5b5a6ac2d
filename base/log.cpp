#include "base/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

#include <nlohmann/json.hpp>

namespace triage {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<int> g_format{static_cast<int>(LogFormat::kLogfmt)};
std::atomic<LogSink> g_sink{nullptr};
std::mutex g_write_mu;

std::string_view LevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

std::string Timestamp() {
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

void AppendLogfmtValue(std::string& out, std::string_view v) {
  bool quote = v.empty();
  for (char c : v) {
    if (c == ' ' || c == '=' || c == '"' || static_cast<unsigned char>(c) < 0x20) { quote = true; break; }
  }
  if (!quote) { out += v; return; }
  out += '"';
  for (char c : v) {
    if (c == '"' || c == '\\') { out += '\\'; out += c; }
    else if (c == '\n') out += "\\n";
    else if (static_cast<unsigned char>(c) < 0x20) out += ' ';
    else out += c;
  }
  out += '"';
}

}  // namespace

bool SetLogLevel(std::string_view level) {
  for (int i = 0; i <= static_cast<int>(LogLevel::kError); ++i) {
    if (LevelName(static_cast<LogLevel>(i)) == level) { g_level = i; return true; }
  }
  return false;
}

bool SetLogFormat(std::string_view format) {
  if (format == "logfmt") { g_format = static_cast<int>(LogFormat::kLogfmt); return true; }
  if (format == "json") { g_format = static_cast<int>(LogFormat::kJson); return true; }
  return false;
}

bool LogEnabled(LogLevel level) { return static_cast<int>(level) >= g_level.load(); }

void SetLogSink(LogSink sink) { g_sink = sink; }

void Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields) {
  if (!LogEnabled(level)) return;
  std::string line;
  if (g_format.load() == static_cast<int>(LogFormat::kJson)) {
    nlohmann::ordered_json j;
    j["ts"] = Timestamp();
    j["level"] = LevelName(level);
    j["msg"] = msg;
    for (const auto& [k, v] : fields) j[std::string(k)] = v;
    line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    line = "ts=" + Timestamp() + " level=" + std::string(LevelName(level)) + " msg=";
    AppendLogfmtValue(line, msg);
    for (const auto& [k, v] : fields) {
      line += ' ';
      line += k;
      line += '=';
      AppendLogfmtValue(line, v);
    }
  }
  line += '\n';
  if (LogSink sink = g_sink.load()) { sink(line); return; }
  std::lock_guard<std::mutex> lock(g_write_mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace triage

// Helpers shared by the unit tests: a blocking HTTP client on loopback,
// temporary files, polling, and metric lookup in exposition text.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace triage::testing {

// The message of the ConfigError that loading `yaml` (named `file` in the
// message) raises; "" when it loads.
std::string ConfigErrorOf(const std::string& yaml, const std::string& file = "test.yaml");
// The message of the ConfigError `load` throws; "" when it throws none.
std::string ConfigErrorFrom(const std::function<void()>& load);
// The same for a configuration that must not load: a test failure when it does.
std::string ExpectConfigError(const std::string& yaml, const std::string& file = "test.yaml");

struct HttpReply {
  long status = 0;      // 0: no response (see error)
  std::string body;
  std::string content_type;
  std::string error;
};

// GET/POST on a URL (tests use 127.0.0.1 only). `timeout` bounds the whole exchange.
HttpReply HttpGet(const std::string& url, std::chrono::milliseconds timeout = std::chrono::seconds(5),
                  const std::vector<std::string>& headers = {});
HttpReply HttpPost(const std::string& url, const std::string& body = "",
                   std::chrono::milliseconds timeout = std::chrono::seconds(5));

// A directory under /tmp removed with its files when destroyed.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  // Writes `content` to path()/name and returns the full path.
  std::string Write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

// Whether `haystack` holds `needle`; how many times (overlaps counted).
bool Contains(const std::string& haystack, const std::string& needle);
size_t Count(const std::string& haystack, const std::string& needle);

// Polls `cond` every 10 ms until it holds or `timeout` passes.
bool WaitFor(const std::function<bool()>& cond,
             std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Value of the sample whose name and labels contain all of `name` and
// `label_matchers` (e.g. {"code=\"401\""}), in exposition `text`.
std::optional<double> SampleValue(const std::string& text, const std::string& name,
                                  const std::vector<std::string>& label_matchers = {});

// Captures log lines while alive (replaces the process-wide log sink).
class LogCapture {
 public:
  LogCapture();
  ~LogCapture();
  std::string Text() const;
};

}  // namespace triage::testing

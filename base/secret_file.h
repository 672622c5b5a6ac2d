// A secret read from a file (bearer token, password). The value is re-read
// when the file changes (checked at most once a second), trailing newlines
// are dropped, and the value is never printed: there is deliberately no
// operator<< and no accessor that returns the path's contents for logging.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>

namespace triage {

// Resolves a path given in the configuration: relative paths are taken
// relative to the directory of the config file, as Prometheus does.
std::string ResolveConfigPath(const std::string& config_file, const std::string& path);

class SecretFile {
 public:
  explicit SecretFile(std::string path);

  const std::string& path() const { return path_; }
  // Reads the file now. Returns an error message (without the contents) or empty on success.
  std::string Load();
  // Current value; re-reads when the file's mtime, size or inode changed.
  // nullopt when the file was never readable. A failed re-read keeps the last good value.
  std::optional<std::string> Value();

 private:
  std::string path_;
  std::mutex mu_;
  std::optional<std::string> value_;
  std::chrono::steady_clock::time_point last_check_{};
  long long mtime_ns_ = -1;
  long long size_ = -1;
  unsigned long long inode_ = 0;
};

}  // namespace triage

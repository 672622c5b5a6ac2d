#include "base/secret_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/log.h"

namespace triage {

std::string ResolveConfigPath(const std::string& config_file, const std::string& path) {
  if (path.empty() || path.front() == '/') return path;
  const auto slash = config_file.rfind('/');
  if (slash == std::string::npos) return path;
  return config_file.substr(0, slash + 1) + path;
}

SecretFile::SecretFile(std::string path) : path_(std::move(path)) {}

std::string SecretFile::Load() {
  std::lock_guard<std::mutex> lock(mu_);
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    return std::string("cannot read ") + path_ + ": " + std::strerror(errno);
  }
  std::ifstream in(path_, std::ios::binary);
  if (!in) return std::string("cannot open ") + path_ + ": " + std::strerror(errno);
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string v = ss.str();
  while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
  value_ = std::move(v);
  mtime_ns_ = static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
  size_ = st.st_size;
  inode_ = st.st_ino;
  last_check_ = std::chrono::steady_clock::now();
  return {};
}

std::optional<std::string> SecretFile::Value() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    if (value_ && now - last_check_ < std::chrono::seconds(1)) return value_;
    last_check_ = now;
    struct stat st {};
    if (::stat(path_.c_str(), &st) == 0) {
      const long long m = static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
      if (value_ && m == mtime_ns_ && st.st_size == size_ && st.st_ino == inode_) return value_;
    } else if (value_) {
      return value_;  // keep the last good value while the file is being replaced
    }
  }
  std::string err = Load();
  std::lock_guard<std::mutex> lock(mu_);
  if (!err.empty()) {
    LogWarn("secret file unreadable, keeping last value", {{"path", path_}, {"err", err}});
  }
  return value_;
}

}  // namespace triage

#include "tests/unit/test_util.h"

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "exporter/config.h"
#include "base/log.h"

namespace triage::testing {
namespace {

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

HttpReply Perform(const std::string& url, const std::string* post_body,
                  std::chrono::milliseconds timeout, const std::vector<std::string>& headers) {
  HttpReply r;
  CURL* c = curl_easy_init();
  curl_slist* hl = nullptr;
  for (const auto& h : headers) hl = curl_slist_append(hl, h.c_str());
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  if (hl) curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
  if (post_body) {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(post_body->size()));
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, post_body->c_str());
  }
  const CURLcode code = curl_easy_perform(c);
  if (code == CURLE_OK) {
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    char* ct = nullptr;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    if (ct) r.content_type = ct;
  } else {
    r.error = curl_easy_strerror(code);
  }
  curl_slist_free_all(hl);
  curl_easy_cleanup(c);
  return r;
}

std::mutex g_log_mu;
std::string* g_log_text = nullptr;

void CaptureSink(std::string_view line) {
  std::lock_guard<std::mutex> lock(g_log_mu);
  if (g_log_text) g_log_text->append(line);
}

}  // namespace

HttpReply HttpGet(const std::string& url, std::chrono::milliseconds timeout,
                  const std::vector<std::string>& headers) {
  return Perform(url, nullptr, timeout, headers);
}

HttpReply HttpPost(const std::string& url, const std::string& body,
                   std::chrono::milliseconds timeout) {
  return Perform(url, &body, timeout, {});
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/triage_test_XXXXXX";
  const char* p = mkdtemp(tmpl);
  path_ = p ? p : "/tmp";
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::Write(const std::string& name, const std::string& content) const {
  const std::string full = path_ + "/" + name;
  std::ofstream out(full, std::ios::binary | std::ios::trunc);
  out << content;
  return full;
}

bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return cond();
}

std::optional<double> SampleValue(const std::string& text, const std::string& name,
                                  const std::vector<std::string>& label_matchers) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto brace = line.find('{');
    const auto space = line.rfind(' ');
    if (space == std::string::npos) continue;
    const std::string metric = line.substr(0, std::min(brace, space));
    if (metric != name) continue;
    bool all = true;
    for (const auto& m : label_matchers) {
      if (line.find(m) == std::string::npos) { all = false; break; }
    }
    if (all) return std::stod(line.substr(space + 1));
  }
  return std::nullopt;
}

LogCapture::LogCapture() {
  std::lock_guard<std::mutex> lock(g_log_mu);
  delete g_log_text;
  g_log_text = new std::string;
  triage::SetLogSink(&CaptureSink);
}

LogCapture::~LogCapture() {
  triage::SetLogSink(nullptr);
  std::lock_guard<std::mutex> lock(g_log_mu);
  delete g_log_text;
  g_log_text = nullptr;
}

std::string LogCapture::Text() const {
  std::lock_guard<std::mutex> lock(g_log_mu);
  return g_log_text ? *g_log_text : std::string();
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

std::string ConfigErrorFrom(const std::function<void()>& load) {
  try {
    load();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

std::string ConfigErrorOf(const std::string& yaml, const std::string& file) {
  return ConfigErrorFrom([&] { LoadConfigString(yaml, file); });
}

std::string ExpectConfigError(const std::string& yaml, const std::string& file) {
  std::string error = ConfigErrorOf(yaml, file);
  if (error.empty()) ADD_FAILURE() << "loaded without an error:\n" << yaml;
  return error;
}

}  // namespace triage::testing

// The libcurl ceiling: how many HTTP exchanges one thread running a bare
// libcurl multi loop completes per CPU-second, with nothing else done per
// exchange (no parsing, no metrics). The probe throughput benchmark puts the
// exporter beside this number.
//
//   bench_curl_ceiling --url URL [--url URL ...] [--concurrency 64]
//                      [--duration 10] [--keep-alive]
//
// Prints one JSON object: transfers, errors, wall and CPU seconds.
#include <curl/curl.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

size_t Discard(char*, size_t size, size_t nmemb, void* userdata) {
  static_cast<std::string*>(userdata)->append(size * nmemb, '\0');
  return size * nmemb;
}

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

struct Slot {
  CURL* easy = nullptr;
  std::string body;
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> urls;
  int concurrency = 64;
  double duration = 10;
  bool keep_alive = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--url") urls.push_back(value());
    else if (a == "--concurrency") concurrency = std::atoi(value().c_str());
    else if (a == "--duration") duration = std::atof(value().c_str());
    else if (a == "--keep-alive") keep_alive = true;
    else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  if (urls.empty() || concurrency < 1 || duration <= 0) {
    std::fprintf(stderr, "usage: %s --url URL [--concurrency N] [--duration S] [--keep-alive]\n",
                 argv[0]);
    return 2;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURLM* multi = curl_multi_init();
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, static_cast<long>(concurrency));
  std::vector<Slot> slots(static_cast<size_t>(concurrency));
  size_t next_url = 0;
  auto start = [&](Slot& s) {
    s.body.clear();
    curl_easy_setopt(s.easy, CURLOPT_URL, urls[next_url++ % urls.size()].c_str());
    curl_multi_add_handle(multi, s.easy);
  };
  for (auto& s : slots) {
    s.easy = curl_easy_init();
    curl_easy_setopt(s.easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(s.easy, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(s.easy, CURLOPT_WRITEFUNCTION, &Discard);
    curl_easy_setopt(s.easy, CURLOPT_WRITEDATA, &s.body);
    curl_easy_setopt(s.easy, CURLOPT_PRIVATE, &s);
    if (!keep_alive) {
      curl_easy_setopt(s.easy, CURLOPT_FRESH_CONNECT, 1L);
      curl_easy_setopt(s.easy, CURLOPT_FORBID_REUSE, 1L);
    }
  }
  const auto t0 = std::chrono::steady_clock::now();
  const double c0 = CpuSeconds();
  const auto end = t0 + std::chrono::duration<double>(duration);
  for (auto& s : slots) start(s);
  long transfers = 0, errors = 0;
  bool stopping = false;
  int running = 1;
  while (running > 0 || !stopping) {
    curl_multi_perform(multi, &running);
    int queued = 0;
    while (CURLMsg* m = curl_multi_info_read(multi, &queued)) {
      if (m->msg != CURLMSG_DONE) continue;
      Slot* s = nullptr;
      curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &s);
      long status = 0;
      curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
      if (m->data.result == CURLE_OK && status > 0) ++transfers;
      else ++errors;
      curl_multi_remove_handle(multi, m->easy_handle);
      if (!stopping) start(*s);
    }
    if (!stopping && std::chrono::steady_clock::now() >= end) stopping = true;
    curl_multi_poll(multi, nullptr, 0, 100, nullptr);
    if (stopping) curl_multi_perform(multi, &running);
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = CpuSeconds() - c0;
  std::printf("{\"transfers\": %ld, \"errors\": %ld, \"wall_seconds\": %.3f, \"cpu_seconds\": %.3f, "
              "\"concurrency\": %d, \"keep_alive\": %s}\n",
              transfers, errors, wall, cpu, concurrency, keep_alive ? "true" : "false");
  for (auto& s : slots) curl_easy_cleanup(s.easy);
  curl_multi_cleanup(multi);
  curl_global_cleanup();
  return 0;
}

// One rendering of /metrics shared by the scrapes that ask at the same time.
//
// A page of 10,000 probes is some 20 MiB of text. Rendered once per scrape,
// 64 concurrent scrapers cost 64 renders and up to 16 copies in memory (one
// per web thread). SharedRender lets a scrape that arrives while a render is
// running wait for that render and send the same page, and hands out the
// newest page again while another scrape is still sending it and it is
// younger than `max_age`. The gzip of a page is made once, by the first
// scrape that asks for it. A page is never kept after its last scrape has
// sent it, so an idle exporter holds none.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace triage {

// gzip (level 1) of a /metrics answer; false when zlib fails.
bool GzipMetrics(std::string_view in, std::string* out);

class MetricsPage {
 public:
  explicit MetricsPage(std::string text) : text_(std::move(text)) {}
  const std::string& text() const { return text_; }
  // The gzip of text(), made on the first call; null when zlib failed.
  const std::string* Gzipped() const;

 private:
  std::string text_;
  mutable std::once_flag gzip_once_;
  mutable std::string gzip_;
  mutable bool gzip_ok_ = false;
};

class SharedRender {
 public:
  using RenderFn = std::function<std::string()>;
  SharedRender(RenderFn render, std::chrono::milliseconds max_age)
      : render_(std::move(render)), max_age_(max_age) {}

  // The newest page while a scrape still holds it and it is younger than
  // max_age; else the page of the render running now, or of a new one.
  // A render that throws passes the exception to its own caller; those that
  // waited for it join the next render (or start it).
  std::shared_ptr<const MetricsPage> Get();
  // Callers waiting for the running render now.
  int waiting() const;

 private:
  struct Flight {
    bool done = false;
    std::shared_ptr<const MetricsPage> page;
  };
  using Clock = std::chrono::steady_clock;
  RenderFn render_;
  const std::chrono::milliseconds max_age_;
  mutable std::mutex mu_;
  std::weak_ptr<const MetricsPage> newest_;  // held by the scrapes sending it, not here
  Clock::time_point newest_at_;              // when its render started
  int waiting_ = 0;
  std::condition_variable cv_;
  std::shared_ptr<Flight> current_;  // the render running now, if any
};

}  // namespace triage

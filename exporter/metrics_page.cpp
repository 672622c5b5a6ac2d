#include "exporter/metrics_page.h"

#include <zlib.h>

namespace triage {

// gzip at level 1: a scrape of 100k series shrinks about tenfold, and the
// fastest level keeps the scrape cheap for the exporter.
bool GzipMetrics(std::string_view in, std::string* out) {
  z_stream zs{};
  if (deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return false;
  out->resize(deflateBound(&zs, in.size()) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out->data());
  zs.avail_out = static_cast<uInt>(out->size());
  const int rc = deflate(&zs, Z_FINISH);
  out->resize(zs.total_out);
  deflateEnd(&zs);
  return rc == Z_STREAM_END;
}

const std::string* MetricsPage::Gzipped() const {
  std::call_once(gzip_once_, [this] {
    gzip_ok_ = GzipMetrics(text_, &gzip_);
    if (!gzip_ok_) std::string().swap(gzip_);
  });
  return gzip_ok_ ? &gzip_ : nullptr;
}

std::shared_ptr<const MetricsPage> SharedRender::Get() {
  for (;;) {
    std::unique_lock<std::mutex> lock(mu_);
    if (auto newest = newest_.lock(); newest && Clock::now() - newest_at_ < max_age_) {
      return newest;
    }
    if (current_) {
      const auto running = current_;
      ++waiting_;
      cv_.wait(lock, [&] { return running->done; });
      --waiting_;
      if (running->page) return running->page;
      continue;  // that render threw: join the next one, or be it
    }
    const auto flight = std::make_shared<Flight>();
    current_ = flight;
    const auto started = Clock::now();
    lock.unlock();
    std::shared_ptr<const MetricsPage> page;
    try {
      page = std::make_shared<const MetricsPage>(render_());
    } catch (...) {
      lock.lock();
      flight->done = true;
      current_.reset();
      cv_.notify_all();
      throw;
    }
    lock.lock();
    newest_ = page;
    newest_at_ = started;
    flight->page = page;
    flight->done = true;
    current_.reset();
    cv_.notify_all();
    return page;
  }
}

int SharedRender::waiting() const {
  std::lock_guard<std::mutex> lock(mu_);
  return waiting_;
}

}  // namespace triage

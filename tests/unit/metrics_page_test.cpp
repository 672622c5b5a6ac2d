#include "exporter/metrics_page.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace triage {
namespace {

// A render that blocks until released, counting how often it ran.
class GatedRender {
 public:
  std::string operator()() {
    std::unique_lock<std::mutex> lock(mu_);
    const int n = ++renders_;
    started_.notify_all();
    released_cv_.wait(lock, [&] { return released_; });
    if (fail_next_) {
      fail_next_ = false;
      throw std::runtime_error("render failed");
    }
    return "page " + std::to_string(n) + "\n";
  }
  void WaitStarted(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    started_.wait(lock, [&] { return renders_ >= n; });
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    released_cv_.notify_all();
  }
  void FailNext() {
    std::lock_guard<std::mutex> lock(mu_);
    fail_next_ = true;
  }
  int renders() {
    std::lock_guard<std::mutex> lock(mu_);
    return renders_;
  }

 private:
  std::mutex mu_;
  std::condition_variable started_, released_cv_;
  int renders_ = 0;
  bool released_ = false;
  bool fail_next_ = false;
};

void WaitForWaiters(const SharedRender& shared, int n) {
  while (shared.waiting() < n) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

TEST(SharedRenderTest, ConcurrentScrapesShareOneRender) {
  GatedRender gate;
  SharedRender shared([&] { return gate(); }, std::chrono::milliseconds(0));
  auto first = std::async(std::launch::async, [&] { return shared.Get(); });
  gate.WaitStarted(1);
  std::vector<std::future<std::shared_ptr<const MetricsPage>>> joiners;
  for (int i = 0; i < 3; ++i) {
    joiners.push_back(std::async(std::launch::async, [&] { return shared.Get(); }));
  }
  WaitForWaiters(shared, 3);
  gate.Release();
  const auto page = first.get();
  for (auto& j : joiners) EXPECT_EQ(j.get().get(), page.get());
  EXPECT_EQ(page->text(), "page 1\n");
  EXPECT_EQ(gate.renders(), 1);
}

TEST(SharedRenderTest, ALaterScrapeGetsAFreshRenderAndNoPageIsKept) {
  int n = 0;
  SharedRender shared([&] { return "page " + std::to_string(++n) + "\n"; }, std::chrono::hours(1));
  std::weak_ptr<const MetricsPage> old;
  {
    auto a = shared.Get();
    old = a;
    EXPECT_EQ(a->text(), "page 1\n");
  }
  EXPECT_TRUE(old.expired()) << "the page outlived its last scrape";
  EXPECT_EQ(shared.Get()->text(), "page 2\n");
}

TEST(SharedRenderTest, TheNewestPageIsSharedWhileHeldAndYoung) {
  int n = 0;
  auto render = [&] { return "page " + std::to_string(++n) + "\n"; };
  SharedRender young(render, std::chrono::hours(1));
  const auto held = young.Get();
  EXPECT_EQ(young.Get().get(), held.get()) << "a held, young page is handed out again";
  SharedRender old(render, std::chrono::milliseconds(0));
  const auto held_old = old.Get();
  EXPECT_NE(old.Get().get(), held_old.get()) << "a page past max_age is rendered anew";
}

TEST(SharedRenderTest, AFailedRenderGoesToItsCallerAndTheWaitersRenderAgain) {
  GatedRender gate;
  gate.FailNext();
  SharedRender shared([&] { return gate(); }, std::chrono::milliseconds(0));
  auto first = std::async(std::launch::async, [&] { return shared.Get(); });
  gate.WaitStarted(1);
  auto joiner = std::async(std::launch::async, [&] { return shared.Get(); });
  WaitForWaiters(shared, 1);
  gate.Release();
  EXPECT_THROW(first.get(), std::runtime_error);
  EXPECT_EQ(joiner.get()->text(), "page 2\n");
  EXPECT_EQ(gate.renders(), 2);
}

std::string Gunzip(const std::string& in) {
  z_stream zs{};
  EXPECT_EQ(inflateInit2(&zs, 15 + 16), Z_OK);
  std::string out(1 << 16, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  inflateEnd(&zs);
  return out;
}

TEST(MetricsPageTest, GzipIsMadeOnceAndHoldsTheText) {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "m{i=\"" + std::to_string(i) + "\"} 1\n";
  const MetricsPage page(text);
  const std::string* gz = page.Gzipped();
  ASSERT_NE(gz, nullptr);
  EXPECT_EQ(page.Gzipped(), gz);
  EXPECT_LT(gz->size(), text.size() / 4);
  EXPECT_EQ(Gunzip(*gz), text);
}

}  // namespace
}  // namespace triage

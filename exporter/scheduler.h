// The event loop: one thread, one libcurl multi handle, every probe.
//
// Probes run on their own schedule: each has a due time, first spread over
// its interval by a stable hash of service/probe, then on a fixed grid. Due
// probes start while fewer than max_in_flight runs are going; their HTTP
// exchanges are easy handles on the multi handle, each with its own timeout,
// so a hanging target costs its own timeout and nothing else. When a run
// ends, its samples are rendered once into a Snapshot and swapped into the
// ProbeTable that /metrics reads.
//
// The loop waits in epoll on the sockets libcurl asks it to watch and hands
// each ready socket to curl_multi_socket_action, so the work of one wake-up
// is proportional to the transfers that have something to do, not to all
// transfers in flight (curl_multi_perform would look at every one).
#pragma once

#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <queue>
#include <thread>
#include <unordered_map>
#include <vector>

#include "collectors/collector.h"
#include "exporter/probe_table.h"
#include "exposition/self_metrics.h"

namespace triage {

class Scheduler : public Fetcher {
 public:
  using Clock = std::chrono::steady_clock;
  using RunNowDone = std::function<void(std::shared_ptr<const Snapshot>)>;

  Scheduler(SelfMetrics* self, ProbeTable* table);
  ~Scheduler() override;

  void Start();
  // Cancels in-flight exchanges and joins the loop thread.
  void Stop();

  // Thread-safe. Replaces the probe set. A probe with the same service, name
  // and labels as before keeps its counters and its place in the schedule.
  // Returns once the loop has taken the new set (the ProbeTable shows it).
  void Apply(std::vector<std::shared_ptr<const ProbeSpec>> probes, int max_in_flight);

  // Thread-safe. Runs `spec` once now with fresh state (counters of the
  // scheduled probe are untouched); `done` gets the rendered snapshot on the
  // loop thread. `debug` (may be null) collects the run's debug lines.
  void RunNow(std::shared_ptr<const ProbeSpec> spec, std::shared_ptr<DebugLog> debug,
              RunNowDone done);

  // Fetcher; loop thread only.
  void Fetch(HttpRequest req, DebugLog* debug, std::function<void(HttpResult&&)> done) override;

  // First due offset of a probe within its interval (stable across restarts).
  static std::chrono::milliseconds SpreadOffset(const ProbeCommon& c);

 private:
  struct RunState;
  struct Slot;
  struct Pending;
  struct HeapItem {
    Clock::time_point due;
    Slot* slot;
    bool operator>(const HeapItem& o) const { return due > o.due; }
  };
  struct Command {
    bool apply = false;
    std::vector<std::shared_ptr<const ProbeSpec>> probes;
    int max_in_flight = 0;
    std::shared_ptr<const ProbeSpec> spec;
    std::shared_ptr<DebugLog> debug;
    RunNowDone done;
    std::shared_ptr<std::promise<void>> applied;  // set once an apply took effect
  };

  void Loop();
  void DrainCommands();
  void DoApply(std::vector<std::shared_ptr<const ProbeSpec>> probes, int max_in_flight);
  void DoRunNow(Command& c);
  void StartDue(Clock::time_point now);
  void StartRun(const std::shared_ptr<Slot>& slot);
  void FinishRun(const std::shared_ptr<Slot>& slot, Clock::time_point started, RunOutcome o);
  // Writes one finished run and its debug log to the exporter log (debug level).
  static void LogRun(const ProbeSpec& spec, const RunOutcome& o, double secs, const DebugLog& debug);
  void ProcessCompleted();
  int WaitMillis(Clock::time_point now);
  void RunCurlTimer(Clock::time_point now);
  CURL* AcquireEasy();
  void ReleaseEasy(CURL* e);
  void TrimEasyPool(Clock::time_point now);
  void Wake();
  static int OnSocket(CURL* easy, curl_socket_t s, int what, void* userp, void* socketp);
  static int OnTimer(CURLM* multi, long timeout_ms, void* userp);

  SelfMetrics* self_;
  ProbeTable* table_;
  CURLM* multi_ = nullptr;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: commands waiting, or stop
  // When libcurl wants curl_multi_socket_action(CURL_SOCKET_TIMEOUT); max(): never.
  Clock::time_point curl_timer_ = Clock::time_point::max();
  std::thread thread_;
  std::atomic<std::thread::id> loop_id_{};
  std::atomic<bool> stop_{false};

  std::mutex cmd_mu_;
  std::vector<Command> commands_;

  // Loop-thread state.
  std::vector<std::shared_ptr<Slot>> slots_;
  std::priority_queue<HeapItem, std::vector<HeapItem>, std::greater<HeapItem>> heap_;
  std::unordered_map<Pending*, std::unique_ptr<Pending>> pending_;
  std::vector<CURL*> free_easy_;  // idle easy handles for reuse
  size_t easy_in_use_ = 0;
  size_t easy_peak_ = 0;          // most in use at once since the last trim
  Clock::time_point next_pool_trim_{};
  int in_flight_ = 0;
  int max_in_flight_ = 512;
  SampleWriter writer_;  // renders every finished run, buffers reused
};

}  // namespace triage

#include "exporter/scheduler.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <system_error>

#include "base/log.h"
#include "base/sorted_counts.h"

namespace triage {
namespace {

using Clock = Scheduler::Clock;

double WallNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

uint64_t Fnv1a(std::string_view s, uint64_t h = 1469598103934665603ULL) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::string SlotKey(const ProbeCommon& c) { return c.service + '\0' + c.name; }

}  // namespace

// Counters every probe kind shares, and the kind's own state.
struct Scheduler::RunState {
  bool ran = false;
  bool last_success = false;
  uint64_t successes = 0;
  uint64_t failures = 0;
  // Failures by reason, only the reasons seen (a probe fails for one or two).
  SortedCounts<FailureReason> by_reason;
  std::array<uint64_t, kProbeDurationBuckets.size()> buckets{};  // not cumulative
  uint64_t count = 0;
  double sum = 0;
  std::unique_ptr<ProbeState> kind;

  void Record(const RunOutcome& o, double seconds) {
    ran = true;
    last_success = o.success;
    if (o.success) {
      ++successes;
    } else {
      ++failures;
      const auto r = o.reason == FailureReason::kNone ? FailureReason::kOther : o.reason;
      ++CounterOf(by_reason, r);
    }
    for (size_t i = 0; i < kProbeDurationBuckets.size(); ++i) {
      if (seconds <= kProbeDurationBuckets[i]) {
        ++buckets[i];
        break;
      }
    }
    ++count;
    sum += seconds;
  }

  // Writes the samples of the last run into `w` (ended by FinishRun or Render).
  void Write(const ProbeSpec& spec, SampleWriter& w) const {
    w.Reset(spec.common().label_prefix);
    w.Add(FamilyId::kProbeSuccess, last_success ? 1 : 0);
    w.Add(FamilyId::kProbeInfo, "kind", spec.common().kind, "layer", LayerName(spec.common().layer), 1);
    w.Add(FamilyId::kProbesTotal, "result", "success", static_cast<double>(successes));
    w.Add(FamilyId::kProbesTotal, "result", "failure", static_cast<double>(failures));
    for (const auto& [reason, n] : by_reason) {
      w.Add(FamilyId::kProbeFailuresTotal, "reason", FailureReasonName(reason),
            static_cast<double>(n));
    }
    std::array<uint64_t, kProbeDurationBuckets.size()> cumulative{};
    uint64_t acc = 0;
    for (size_t i = 0; i < buckets.size(); ++i) cumulative[i] = acc += buckets[i];
    w.AddHistogram(FamilyId::kProbeDurationSeconds, ProbeDurationBounds(), cumulative.data(),
                   count, sum);
    spec.Render(*kind, w);
  }

  // The snapshot of the written samples and the run's outcome.
  static void Finish(SampleWriter& w, const RunOutcome& o, double seconds, Snapshot& snap) {
    w.FinishInto(snap);
    snap.success = o.success;
    snap.reason = o.reason;
    snap.finished_unix = WallNow();
    snap.duration_seconds = seconds;
  }

  std::shared_ptr<const Snapshot> Render(const ProbeSpec& spec, const RunOutcome& o,
                                         double seconds, SampleWriter& w) const {
    Write(spec, w);
    auto snap = std::make_shared<Snapshot>();
    Finish(w, o, seconds, *snap);
    return snap;
  }
};

struct Scheduler::Slot {
  std::shared_ptr<const ProbeSpec> spec;
  RunState state;
  std::shared_ptr<const Snapshot> last;
  Clock::time_point due;
  bool running = false;
  bool active = true;  // false once a reload removed the probe
  size_t index = 0;    // position in the ProbeTable
};

struct Scheduler::Pending {
  HttpTransfer transfer;
  std::function<void(HttpResult&&)> done;
  CURL* easy = nullptr;
};

Scheduler::Scheduler(SelfMetrics* self, ProbeTable* table) : self_(self), table_(table) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) {
    close(epoll_fd_);
    throw std::system_error(errno, std::generic_category(), "eventfd");
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_fd_;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  // Name lookups do not block the loop: this libcurl resolves in a thread of its own.
  multi_ = curl_multi_init();
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &Scheduler::OnSocket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &Scheduler::OnTimer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, static_cast<long>(max_in_flight_));
}

Scheduler::~Scheduler() {
  Stop();
  for (CURL* e : free_easy_) curl_easy_cleanup(e);
  curl_multi_cleanup(multi_);
  close(wake_fd_);
  close(epoll_fd_);
}

// libcurl tells which of its sockets to watch, and for what.
int Scheduler::OnSocket(CURL*, curl_socket_t s, int what, void* userp, void* socketp) {
  auto* self = static_cast<Scheduler*>(userp);
  if (what == CURL_POLL_REMOVE) {
    epoll_ctl(self->epoll_fd_, EPOLL_CTL_DEL, s, nullptr);
    return 0;
  }
  epoll_event ev{};
  ev.data.fd = s;
  ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
  if (socketp) {
    epoll_ctl(self->epoll_fd_, EPOLL_CTL_MOD, s, &ev);
  } else {
    epoll_ctl(self->epoll_fd_, EPOLL_CTL_ADD, s, &ev);
    curl_multi_assign(self->multi_, s, self);  // any non-null mark: "in the epoll set"
  }
  return 0;
}

// libcurl asks to be called back after timeout_ms (-1: no timer).
int Scheduler::OnTimer(CURLM*, long timeout_ms, void* userp) {
  auto* self = static_cast<Scheduler*>(userp);
  self->curl_timer_ = timeout_ms < 0 ? Clock::time_point::max()
                                     : Clock::now() + std::chrono::milliseconds(timeout_ms);
  return 0;
}

void Scheduler::Start() {
  if (thread_.joinable()) return;
  stop_ = false;
  // Probes applied before the start were spread from the time of the
  // apply; what came in between (a large configuration's clean-up, the web
  // server's start) would make their first runs start all at once. Spread
  // the ones that never ran from now.
  const auto now = Clock::now();
  heap_ = {};
  for (auto& s : slots_) {
    if (!s->state.ran) s->due = now + SpreadOffset(s->spec->common());
    heap_.push({s->due, s.get()});
  }
  thread_ = std::thread([this] {
    loop_id_ = std::this_thread::get_id();
    Loop();
  });
}

void Scheduler::Stop() {
  if (!thread_.joinable()) return;
  stop_ = true;
  Wake();
  thread_.join();
  {
    // Commands that will never run: dropping them releases their waiters.
    std::lock_guard<std::mutex> lock(cmd_mu_);
    commands_.clear();
  }
  for (auto& [p, owned] : pending_) {
    curl_multi_remove_handle(multi_, owned->easy);
    curl_easy_cleanup(owned->easy);
  }
  pending_.clear();
  easy_in_use_ = 0;
  // The dropped runs will never call back: free their slots so a later
  // Start() schedules them again.
  for (auto& s : slots_) s->running = false;
  in_flight_ = 0;
  self_->probes_in_flight->Set(0);
}

void Scheduler::Wake() {
  const uint64_t one = 1;
  // A full counter (never in practice) already means "wake up".
  [[maybe_unused]] const ssize_t n = write(wake_fd_, &one, sizeof one);
}

void Scheduler::Apply(std::vector<std::shared_ptr<const ProbeSpec>> probes, int max_in_flight) {
  auto applied = std::make_shared<std::promise<void>>();
  std::future<void> done = applied->get_future();
  {
    std::lock_guard<std::mutex> lock(cmd_mu_);
    Command c;
    c.apply = true;
    c.probes = std::move(probes);
    c.max_in_flight = max_in_flight;
    c.applied = std::move(applied);
    commands_.push_back(std::move(c));
  }
  if (!thread_.joinable()) {
    DrainCommands();  // not started yet: apply now so the table is filled
    return;
  }
  Wake();
  if (std::this_thread::get_id() == loop_id_) return;  // applied at the next iteration
  // Callers (reload) answer only once the new set is live. The loop takes
  // commands before it waits, so this is a matter of one loop iteration.
  if (done.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    LogWarn("probe set not applied after 30s; the event loop is stalled");
  }
}

void Scheduler::RunNow(std::shared_ptr<const ProbeSpec> spec, std::shared_ptr<DebugLog> debug,
                       RunNowDone done) {
  {
    std::lock_guard<std::mutex> lock(cmd_mu_);
    Command c;
    c.spec = std::move(spec);
    c.debug = std::move(debug);
    c.done = std::move(done);
    commands_.push_back(std::move(c));
  }
  Wake();
}

std::chrono::milliseconds Scheduler::SpreadOffset(const ProbeCommon& c) {
  const auto interval = std::max<int64_t>(1, c.interval.count());
  return std::chrono::milliseconds(
      static_cast<int64_t>(Fnv1a(SlotKey(c)) % static_cast<uint64_t>(interval)));
}

void Scheduler::DrainCommands() {
  std::vector<Command> cmds;
  {
    std::lock_guard<std::mutex> lock(cmd_mu_);
    cmds.swap(commands_);
  }
  for (auto& c : cmds) {
    if (c.apply) {
      DoApply(std::move(c.probes), c.max_in_flight);
      if (c.applied) c.applied->set_value();
    } else {
      DoRunNow(c);
    }
  }
}

void Scheduler::DoApply(std::vector<std::shared_ptr<const ProbeSpec>> probes, int max_in_flight) {
  const auto now = Clock::now();
  std::map<std::string, std::shared_ptr<Slot>> old;
  for (auto& s : slots_) old.emplace(SlotKey(s->spec->common()), s);

  std::vector<std::shared_ptr<Slot>> next;
  std::vector<ProbeEntry> entries;
  next.reserve(probes.size());
  entries.reserve(probes.size());
  for (auto& spec : probes) {
    const ProbeCommon& c = spec->common();
    std::shared_ptr<Slot> slot;
    auto it = old.find(SlotKey(c));
    if (it != old.end() && it->second->spec->common().label_prefix == c.label_prefix &&
        it->second->spec->common().kind == c.kind) {
      slot = it->second;
      old.erase(it);
      if (slot->spec->common().interval != c.interval) slot->due = now + SpreadOffset(c);
      slot->spec = spec;
    } else {
      slot = std::make_shared<Slot>();
      slot->spec = spec;
      slot->state.kind = spec->NewState();
      slot->due = now + SpreadOffset(c);
    }
    slot->active = true;
    slot->index = next.size();
    entries.push_back({spec, slot->last});
    next.push_back(std::move(slot));
  }
  for (auto& [key, s] : old) s->active = false;  // runs in flight finish into nothing

  slots_ = std::move(next);
  heap_ = {};
  for (auto& s : slots_) heap_.push({s->due, s.get()});
  max_in_flight_ = std::max(1, max_in_flight);
  // Room for a kept-alive connection per run in flight; no more idle sockets than that.
  curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, static_cast<long>(max_in_flight_));
  table_->Reset(std::move(entries));
  self_->shard_probes->Set(static_cast<double>(slots_.size()));
}

void Scheduler::DoRunNow(Command& c) {
  auto state = std::make_shared<RunState>();
  state->kind = c.spec->NewState();
  const auto started = Clock::now();
  auto spec = c.spec;
  auto debug = c.debug;
  auto done = std::move(c.done);
  spec->Run(*this, *state->kind, debug.get(),
            [this, state, spec, debug, done, started](RunOutcome o) {
              const double secs = std::chrono::duration<double>(Clock::now() - started).count();
              state->Record(o, secs);
              if (debug) {
                debug->Line(std::string("probe ") + (o.success ? "succeeded" : "failed") +
                            (o.success ? "" : std::string(", reason ") +
                                                  std::string(FailureReasonName(o.reason))) +
                            " after " + std::to_string(secs) + "s");
              }
              done(state->Render(*spec, o, secs, writer_));
            });
}

void Scheduler::StartDue(Clock::time_point now) {
  while (!heap_.empty()) {
    const HeapItem top = heap_.top();
    if (top.due > now) break;
    Slot* s = top.slot;
    const auto interval = std::max(s->spec->common().interval, std::chrono::milliseconds(1));
    if (!s->running && in_flight_ >= max_in_flight_) break;  // wait for a run to finish
    heap_.pop();
    auto next = top.due + interval;
    if (next <= now) {
      // Fell a whole interval behind (a stalled loop or too many probes):
      // keep the grid and count the runs that will not happen.
      const auto behind = (now - next) / interval + 1;
      self_->missed_behind->Increment(static_cast<double>(behind));
      next += behind * interval;
    }
    s->due = next;
    heap_.push({next, s});
    if (s->running) {
      self_->missed_still_running->Increment();
      continue;
    }
    self_->schedule_lag->Observe(std::chrono::duration<double>(now - top.due).count());
    StartRun(slots_[s->index]);
  }
}

void Scheduler::StartRun(const std::shared_ptr<Slot>& slot) {
  slot->running = true;
  ++in_flight_;
  self_->probes_in_flight->Set(in_flight_);
  const auto started = Clock::now();
  auto spec = slot->spec;  // keeps this run's spec alive across a reload
  std::shared_ptr<Slot> keep = slot;
  // At debug level every scheduled run keeps the log /probe?debug=true
  // shows, and writes it to the exporter's log when it ends.
  std::shared_ptr<DebugLog> debug;
  if (LogEnabled(LogLevel::kDebug)) debug = std::make_shared<DebugLog>();
  spec->Run(*this, *slot->state.kind, debug.get(), [this, keep, spec, started, debug](RunOutcome o) {
    if (debug) LogRun(*spec, o, std::chrono::duration<double>(Clock::now() - started).count(), *debug);
    FinishRun(keep, started, o);
  });
}

void Scheduler::LogRun(const ProbeSpec& spec, const RunOutcome& o, double secs,
                       const DebugLog& debug) {
  std::string text = debug.Text();  // secrets already masked
  while (!text.empty() && text.back() == '\n') text.pop_back();
  char duration[32];
  std::snprintf(duration, sizeof duration, "%.6f", secs);
  LogDebug("probe run", {{"service", spec.common().service},
                         {"probe", spec.common().name},
                         {"success", o.success ? "true" : "false"},
                         {"reason", FailureReasonName(o.reason)},
                         {"duration_seconds", duration},
                         {"log", text}});
}

void Scheduler::FinishRun(const std::shared_ptr<Slot>& slot, Clock::time_point started,
                          RunOutcome o) {
  --in_flight_;
  self_->probes_in_flight->Set(in_flight_);
  slot->running = false;
  const double secs = std::chrono::duration<double>(Clock::now() - started).count();
  slot->state.Record(o, secs);
  if (!slot->active) {
    slot->last = slot->state.Render(*slot->spec, o, secs, writer_);
    return;
  }
  slot->state.Write(*slot->spec, writer_);
  slot->last = table_->Publish(slot->index, slot->last, [&](Snapshot& snap) {
    RunState::Finish(writer_, o, secs, snap);
  });
}

CURL* Scheduler::AcquireEasy() {
  easy_peak_ = std::max(easy_peak_, ++easy_in_use_);
  if (free_easy_.empty()) return curl_easy_init();
  CURL* e = free_easy_.back();
  free_easy_.pop_back();
  curl_easy_reset(e);
  return e;
}

void Scheduler::TrimEasyPool(Clock::time_point now) {
  // An easy handle holds buffers of tens of KiB. Keep as many idle ones as
  // the busiest moment of the last period needed, free the rest.
  if (now < next_pool_trim_) return;
  next_pool_trim_ = now + std::chrono::seconds(10);
  const size_t keep = easy_peak_ - easy_in_use_;
  while (free_easy_.size() > keep) {
    curl_easy_cleanup(free_easy_.back());
    free_easy_.pop_back();
  }
  easy_peak_ = easy_in_use_;
}

void Scheduler::ReleaseEasy(CURL* e) {
  --easy_in_use_;
  if (free_easy_.size() < static_cast<size_t>(max_in_flight_)) {
    free_easy_.push_back(e);
  } else {
    curl_easy_cleanup(e);
  }
}

void Scheduler::Fetch(HttpRequest req, DebugLog* debug, std::function<void(HttpResult&&)> done) {
  assert(std::this_thread::get_id() == loop_id_ || !thread_.joinable());
  auto p = std::make_unique<Pending>();
  p->transfer.request = std::move(req);
  p->transfer.debug = debug;
  p->done = std::move(done);
  p->easy = AcquireEasy();
  PrepareEasy(p->easy, p->transfer);
  curl_easy_setopt(p->easy, CURLOPT_PRIVATE, p.get());
  p->transfer.result.wall_start = std::chrono::system_clock::now();
  const CURLMcode mc = curl_multi_add_handle(multi_, p->easy);
  if (mc != CURLM_OK) {
    LogError("cannot start transfer", {{"err", curl_multi_strerror(mc)}});
    HttpResult r;
    r.failure = FailureReason::kOther;
    r.error = curl_multi_strerror(mc);
    ReleaseEasy(p->easy);
    p->done(std::move(r));
    return;
  }
  Pending* key = p.get();
  pending_.emplace(key, std::move(p));
}

void Scheduler::ProcessCompleted() {
  std::vector<std::pair<CURL*, CURLcode>> finished;
  int queued = 0;
  while (CURLMsg* m = curl_multi_info_read(multi_, &queued)) {
    if (m->msg == CURLMSG_DONE) finished.emplace_back(m->easy_handle, m->data.result);
  }
  for (auto [easy, code] : finished) {
    Pending* key = nullptr;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &key);
    auto it = pending_.find(key);
    if (it == pending_.end()) continue;
    std::unique_ptr<Pending> p = std::move(it->second);
    pending_.erase(it);
    CollectResult(easy, code, p->transfer);
    curl_multi_remove_handle(multi_, easy);
    ReleaseEasy(easy);
    p->done(std::move(p->transfer.result));
  }
}

int Scheduler::WaitMillis(Clock::time_point now) {
  auto until = now + std::chrono::seconds(1);
  if (curl_timer_ < until) until = curl_timer_;
  if (!heap_.empty() && in_flight_ < max_in_flight_ && heap_.top().due < until) {
    until = heap_.top().due;
  }
  if (until <= now) return 0;
  return static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(until - now).count());
}

void Scheduler::RunCurlTimer(Clock::time_point now) {
  if (curl_timer_ > now) return;
  curl_timer_ = Clock::time_point::max();  // OnTimer sets the next one
  int running = 0;
  curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
}

void Scheduler::Loop() {
  std::array<epoll_event, 256> events;
  while (!stop_) {
    DrainCommands();
    StartDue(Clock::now());
    RunCurlTimer(Clock::now());
    ProcessCompleted();
    const int n = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()),
                             WaitMillis(Clock::now()));
    for (int i = 0; i < n; ++i) {
      const epoll_event& e = events[i];
      if (e.data.fd == wake_fd_) {
        uint64_t count = 0;
        [[maybe_unused]] const ssize_t r = read(wake_fd_, &count, sizeof count);
        continue;
      }
      const int action = ((e.events & (EPOLLIN | EPOLLHUP)) ? CURL_CSELECT_IN : 0) |
                         ((e.events & EPOLLOUT) ? CURL_CSELECT_OUT : 0) |
                         ((e.events & EPOLLERR) ? CURL_CSELECT_ERR : 0);
      int running = 0;
      curl_multi_socket_action(multi_, e.data.fd, action, &running);
    }
    RunCurlTimer(Clock::now());
    ProcessCompleted();
    TrimEasyPool(Clock::now());
  }
}

}  // namespace triage

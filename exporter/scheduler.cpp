#include "exporter/scheduler.h"

#include <array>
#include <cassert>
#include <cmath>
#include <map>
#include <string>

#include "exporter/log.h"

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
  std::array<uint64_t, static_cast<size_t>(FailureReason::kCount)> by_reason{};
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
      ++by_reason[static_cast<size_t>(r)];
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

  std::shared_ptr<const Snapshot> Render(const ProbeSpec& spec, const RunOutcome& o,
                                         double seconds) const {
    SampleWriter w(spec.common().label_prefix);
    w.Add(FamilyId::kProbeSuccess, last_success ? 1 : 0);
    w.Add(FamilyId::kProbeInfo, "kind", spec.common().kind, "layer", LayerName(spec.common().layer), 1);
    w.Add(FamilyId::kProbesTotal, "result", "success", static_cast<double>(successes));
    w.Add(FamilyId::kProbesTotal, "result", "failure", static_cast<double>(failures));
    for (size_t i = 1; i < by_reason.size(); ++i) {
      if (by_reason[i] == 0) continue;
      w.Add(FamilyId::kProbeFailuresTotal, "reason", kFailureReasonNames[i],
            static_cast<double>(by_reason[i]));
    }
    std::array<uint64_t, kProbeDurationBuckets.size()> cumulative{};
    uint64_t acc = 0;
    for (size_t i = 0; i < buckets.size(); ++i) cumulative[i] = acc += buckets[i];
    w.AddHistogram(FamilyId::kProbeDurationSeconds, kProbeDurationBuckets.data(),
                   cumulative.data(), cumulative.size(), count, sum);
    spec.Render(*kind, w);
    auto snap = std::make_shared<Snapshot>(w.Finish());
    snap->success = o.success;
    snap->reason = o.reason;
    snap->finished_unix = WallNow();
    snap->duration_seconds = seconds;
    return snap;
  }
};

struct Scheduler::Slot {
  std::shared_ptr<const ProbeSpec> spec;
  std::shared_ptr<RunState> state;
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
  multi_ = curl_multi_init();
  // Name lookups must not block the loop: this libcurl resolves in a thread of its own.
  curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, 64L);
}

Scheduler::~Scheduler() {
  Stop();
  for (CURL* e : free_easy_) curl_easy_cleanup(e);
  curl_multi_cleanup(multi_);
}

void Scheduler::Start() {
  if (thread_.joinable()) return;
  stop_ = false;
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
  // The dropped runs will never call back: free their slots so a later
  // Start() schedules them again.
  for (auto& s : slots_) s->running = false;
  in_flight_ = 0;
  self_->probes_in_flight->Set(0);
}

void Scheduler::Wake() { curl_multi_wakeup(multi_); }

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
      slot->state = std::make_shared<RunState>();
      slot->state->kind = spec->NewState();
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
  table_->Reset(std::move(entries));
  self_->probes_configured->Set(static_cast<double>(slots_.size()));
}

void Scheduler::DoRunNow(Command& c) {
  auto state = std::make_shared<RunState>();
  state->kind = c.spec->NewState();
  const auto started = Clock::now();
  auto spec = c.spec;
  auto debug = c.debug;
  auto done = std::move(c.done);
  spec->Run(*this, *state->kind, debug.get(),
            [state, spec, debug, done, started](RunOutcome o) {
              const double secs = std::chrono::duration<double>(Clock::now() - started).count();
              state->Record(o, secs);
              if (debug) {
                debug->Line(std::string("probe ") + (o.success ? "succeeded" : "failed") +
                            (o.success ? "" : std::string(", reason ") +
                                                  std::string(FailureReasonName(o.reason))) +
                            " after " + std::to_string(secs) + "s");
              }
              done(state->Render(*spec, o, secs));
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
  auto state = slot->state;
  std::shared_ptr<Slot> keep = slot;
  spec->Run(*this, *state->kind, nullptr, [this, keep, spec, started](RunOutcome o) {
    FinishRun(keep, started, o);
  });
}

void Scheduler::FinishRun(const std::shared_ptr<Slot>& slot, Clock::time_point started,
                          RunOutcome o) {
  --in_flight_;
  self_->probes_in_flight->Set(in_flight_);
  slot->running = false;
  const double secs = std::chrono::duration<double>(Clock::now() - started).count();
  slot->state->Record(o, secs);
  slot->last = slot->state->Render(*slot->spec, o, secs);
  if (slot->active) table_->SetSnapshot(slot->index, slot->last);
}

CURL* Scheduler::AcquireEasy() {
  if (free_easy_.empty()) return curl_easy_init();
  CURL* e = free_easy_.back();
  free_easy_.pop_back();
  curl_easy_reset(e);
  return e;
}

void Scheduler::ReleaseEasy(CURL* e) {
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
  long wait = 1000;
  long curl_timeout = -1;
  curl_multi_timeout(multi_, &curl_timeout);
  if (curl_timeout >= 0) wait = std::min(wait, curl_timeout);
  if (!heap_.empty() && in_flight_ < max_in_flight_) {
    const auto until = heap_.top().due - now;
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(until).count();
    wait = std::min<long>(wait, std::max<long>(0, ms));
  }
  return static_cast<int>(wait);
}

void Scheduler::Loop() {
  while (!stop_) {
    DrainCommands();
    StartDue(Clock::now());
    int running = 0;
    curl_multi_perform(multi_, &running);
    ProcessCompleted();
    const int wait = WaitMillis(Clock::now());
    if (wait > 0) curl_multi_poll(multi_, nullptr, 0, wait, nullptr);
  }
}

}  // namespace triage

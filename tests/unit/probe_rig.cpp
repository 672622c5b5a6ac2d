#include "tests/unit/probe_rig.h"

#include <gtest/gtest.h>

#include <cmath>
#include <condition_variable>
#include <mutex>

#include "tests/unit/test_util.h"

namespace triage::testing {

std::string L(const std::string& name, const std::string& value) {
  return name + "=\"" + value + "\"";
}

std::optional<double> V(const std::string& text, const std::string& probe,
                        const std::string& metric, std::vector<std::string> matchers) {
  matchers.push_back(L("probe", probe));
  return SampleValue(text, metric, matchers);
}

double N(const std::string& text, const std::string& probe, const std::string& metric,
         std::vector<std::string> matchers) {
  return V(text, probe, metric, std::move(matchers)).value_or(0);
}

double Successes(const std::string& text, const std::string& probe) {
  return N(text, probe, "triage_probes_total", {L("result", "success")});
}
double Failures(const std::string& text, const std::string& probe) {
  return N(text, probe, "triage_probes_total", {L("result", "failure")});
}
double Runs(const std::string& text, const std::string& probe) {
  return Successes(text, probe) + Failures(text, probe);
}
double MeanDuration(const std::string& text, const std::string& probe) {
  const double count = N(text, probe, "triage_probe_duration_seconds_count");
  return count > 0 ? N(text, probe, "triage_probe_duration_seconds_sum") / count : NAN;
}

std::string FlowProbe(const std::string& name, const std::string& kind, const std::string& layer,
                      const std::vector<std::string>& keys) {
  std::string p = "{name: " + name + ", kind: " + kind + ", layer: " + layer;
  for (const auto& k : keys) {
    if (!k.empty()) p += ", " + k;
  }
  return p + "}";
}

std::string OneService(const std::vector<std::string>& probes) {
  std::string y = "services:\n  - name: svc\n    probes:\n";
  for (const auto& p : probes) y += "      - " + p + "\n";
  return y;
}

ProbeRig::ProbeRig(const std::string& yaml) : config_(LoadConfigString(yaml, "test.yaml")) {}

ProbeRig::~ProbeRig() { scheduler_.Stop(); }

void ProbeRig::Start() {
  scheduler_.Apply(config_.probes, config_.global.max_in_flight);
  scheduler_.Start();
}

void ProbeRig::StartIdle() {
  scheduler_.Apply({}, config_.global.max_in_flight);
  scheduler_.Start();
}

void ProbeRig::Reload(const std::string& yaml) {
  config_ = LoadConfigString(yaml, "test.yaml");
  scheduler_.Apply(config_.probes, config_.global.max_in_flight);
}

std::string ProbeRig::Text() const {
  std::string out;
  RenderProbeFamilies(table_.All(), out);
  return out;
}

std::string ProbeRig::WaitText(const std::function<bool(const std::string&)>& pred,
                               std::chrono::milliseconds timeout) const {
  std::string text;
  const bool ok = WaitFor(
      [&] {
        text = Text();
        return pred(text);
      },
      timeout);
  EXPECT_TRUE(ok) << "condition not reached; last exposition:\n" << text;
  return text;
}

std::string ProbeRig::WaitRuns(const std::string& probe, double n,
                               std::chrono::milliseconds timeout) const {
  return WaitText([&](const std::string& t) { return Runs(t, probe) >= n; }, timeout);
}

ProbeRig::OneRun ProbeRig::RunOnce(const std::string& probe, std::chrono::milliseconds timeout) {
  auto spec = Spec(probe);
  EXPECT_NE(spec, nullptr) << "no probe " << probe << " in the config";
  OneRun out;
  if (!spec) return out;
  // Shared with the callback, which may outlive a wait that ran out.
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    std::shared_ptr<const Snapshot> snap;
  };
  auto shared = std::make_shared<Shared>();
  auto debug = std::make_shared<DebugLog>();
  scheduler_.RunNow(spec, debug, [shared](std::shared_ptr<const Snapshot> s) {
    std::lock_guard<std::mutex> lock(shared->mu);
    shared->snap = std::move(s);
    shared->cv.notify_all();
  });
  {
    std::unique_lock<std::mutex> lock(shared->mu);
    const bool ended = shared->cv.wait_for(lock, timeout, [&] { return shared->snap != nullptr; });
    EXPECT_TRUE(ended) << "probe " << probe << " did not end within the wait";
    out.snap = shared->snap;
  }
  if (out.snap) {
    RenderSnapshot(*out.snap, out.text);
    out.debug = debug->Text();  // the run has ended: the loop no longer touches it
  }
  return out;
}

std::shared_ptr<const ProbeSpec> ProbeRig::Spec(const std::string& probe) const {
  for (const auto& p : config_.probes) {
    if (p->common().name == probe) return p;
  }
  return nullptr;
}

}  // namespace triage::testing

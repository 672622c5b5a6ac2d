#include "exposition/self_metrics.h"

#include <prometheus/text_serializer.h>
#include <sys/resource.h>
#include <unistd.h>

#include <dirent.h>

#include <fstream>
#include <sstream>
#include <vector>

#include "exposition/snapshot.h"

namespace triage {
namespace {

// process_* metrics the way the Go and Python clients export them, read from /proc.
void AppendProcessMetrics(std::string& out) {
  static const double start_time = [] {
    // Field 22 of /proc/self/stat is the start time in clock ticks after boot.
    std::ifstream stat("/proc/self/stat");
    std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const auto rp = content.rfind(')');
    if (rp == std::string::npos) return 0.0;
    std::istringstream rest(content.substr(rp + 2));
    std::string field;
    unsigned long long starttime = 0;
    for (int i = 3; i <= 22 && rest >> field; ++i) {
      if (i == 22) starttime = std::stoull(field);
    }
    std::ifstream uptime_f("/proc/uptime");
    double uptime = 0;
    uptime_f >> uptime;
    const double now = static_cast<double>(time(nullptr));
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    return now - uptime + static_cast<double>(starttime) / ticks;
  }();

  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                     static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;

  long rss_pages = 0, vsize_pages = 0;
  {
    std::ifstream statm("/proc/self/statm");
    statm >> vsize_pages >> rss_pages;
  }
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));

  double open_fds = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') open_fds += 1;
    }
    closedir(d);
    open_fds -= 1;  // the directory handle itself
  }
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);

  auto gauge = [&out](const char* name, const char* type, const char* help, double v) {
    AppendFamilyHeader(out, name, type, help);
    out += name;
    out += ' ';
    AppendSampleValue(out, v);
    out += '\n';
  };
  gauge("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", cpu);
  gauge("process_open_fds", "gauge", "Number of open file descriptors.", open_fds);
  gauge("process_max_fds", "gauge", "Maximum number of open file descriptors.",
        static_cast<double>(rl.rlim_cur));
  gauge("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
        static_cast<double>(vsize_pages) * page);
  gauge("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
        static_cast<double>(rss_pages) * page);
  gauge("process_start_time_seconds", "gauge",
        "Start time of the process since unix epoch in seconds.", start_time);
}

}  // namespace

SelfMetrics::SelfMetrics() : registry_(std::make_shared<prometheus::Registry>()) {
  using prometheus::BuildCounter;
  using prometheus::BuildGauge;
  using prometheus::BuildHistogram;
  auto& r = *registry_;
  reload_successful = &BuildGauge()
                           .Name("triage_exporter_config_last_reload_successful")
                           .Help("1 if the last configuration load succeeded, 0 if it failed "
                                 "(the previous configuration keeps running).")
                           .Register(r)
                           .Add({});
  reload_success_timestamp = &BuildGauge()
                                  .Name("triage_exporter_config_last_reload_success_timestamp_seconds")
                                  .Help("Unix time of the last successful configuration load.")
                                  .Register(r)
                                  .Add({});
  reloads_failed = &BuildCounter()
                        .Name("triage_exporter_config_reloads_failed_total")
                        .Help("Configuration loads that failed and were not applied.")
                        .Register(r)
                        .Add({});
  probes_configured = &BuildGauge()
                           .Name("triage_exporter_probes_configured")
                           .Help("Probes in the running configuration, of every shard.")
                           .Register(r)
                           .Add({});
  shard_probes = &BuildGauge()
                      .Name("triage_exporter_shard_probes")
                      .Help("Probes this replica runs: those of its shard (all without sharding).")
                      .Register(r)
                      .Add({});
  probes_in_flight = &BuildGauge()
                          .Name("triage_exporter_probes_in_flight")
                          .Help("Probe runs started and not yet finished.")
                          .Register(r)
                          .Add({});
  schedule_lag = &BuildHistogram()
                      .Name("triage_exporter_schedule_lag_seconds")
                      .Help("Delay between the time a probe run was due and the time it started.")
                      .Register(r)
                      .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.005, 0.01, 0.05,
                                                                       0.1, 0.5, 1, 5});
  auto& missed = BuildCounter()
                     .Name("triage_exporter_missed_runs_total")
                     .Help("Scheduled probe runs that did not start, by reason: the previous "
                           "run was still going, or the scheduler fell a whole interval behind.")
                     .Register(r);
  missed_still_running = &missed.Add({{"reason", "still_running"}});
  missed_behind = &missed.Add({{"reason", "behind_schedule"}});
  scrapes = &BuildCounter()
                 .Name("triage_exporter_scrapes_total")
                 .Help("Requests served on /metrics.")
                 .Register(r)
                 .Add({});
  BuildGauge()
      .Name("triage_exporter_build_info")
      .Help("A metric with a constant 1 value labelled by version and revision of the build.")
      .Register(r)
      .Add({{"version", TRIAGE_VERSION}, {"revision", TRIAGE_REVISION}})
      .Set(1);
}

void SelfMetrics::Render(std::string& out) const {
  std::ostringstream ss;
  prometheus::TextSerializer().Serialize(ss, registry_->Collect());
  out += ss.str();
  AppendProcessMetrics(out);
}

}  // namespace triage

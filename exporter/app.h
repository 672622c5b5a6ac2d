// Wires the parts together: configuration, the event loop, the probe table,
// self metrics and the web server; owns reload.
//
// Part of the exporter layer (docs/architecture.md): the daemon, the top of the program.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "exporter/config.h"
#include "exporter/metrics_page.h"
#include "exporter/probe_table.h"
#include "exporter/scheduler.h"
#include "exposition/self_metrics.h"
#include "exporter/shard.h"

namespace triage {

class WebServer;

struct AppOptions {
  std::string config_file;
  std::string listen_address = ":9479";
  std::string web_config_file = {};  // --web.config.file; empty: plain HTTP, no authentication
  Shard shard = {};                  // --shard.index, --shard.count: the probes this replica runs
};

class App {
 public:
  explicit App(AppOptions options);
  ~App();

  // Loads the configuration (throws ConfigError), starts the loop and the
  // web server (throws std::runtime_error when the address cannot be bound).
  void Start();
  void Stop();

  // Re-reads the config file. On failure the running configuration stays,
  // triage_exporter_config_last_reload_successful goes to 0 and `error` says why.
  bool Reload(std::string* error);

  int port() const;
  bool ready() const { return ready_; }
  // The /metrics page, rendered now; counts a scrape.
  std::string RenderMetrics();
  // The page for a scrape (counted): scrapes that come while one is
  // rendered share that page (SharedRender).
  std::shared_ptr<const MetricsPage> MetricsForScrape();
  // Appends the exporter's own metrics (as /metrics shows them, without
  // counting a scrape), for pages that show their values.
  void RenderSelfMetrics(std::string& out) const { self_.Render(out); }

  ProbeTable& table() { return table_; }
  Scheduler& scheduler() { return *scheduler_; }
  std::shared_ptr<const Config> config() const;

 private:
  void ApplyConfig(std::shared_ptr<const Config> cfg);
  std::string RenderPage() const;  // /metrics without counting a scrape

  AppOptions options_;
  SelfMetrics self_;
  ProbeTable table_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<WebServer> web_;
  std::mutex reload_mu_;   // one reload at a time (SIGHUP and POST /-/reload)
  mutable std::mutex mu_;  // guards config_
  std::shared_ptr<const Config> config_;
  std::atomic<bool> ready_{false};
  // A page younger than a second serves every scrape that comes while it
  // is still being sent: probes run at intervals of seconds, so it is no
  // staler than the probe results it holds.
  SharedRender shared_render_{[this] { return RenderPage(); }, std::chrono::seconds(1)};
};

}  // namespace triage

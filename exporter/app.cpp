#include "exporter/app.h"

#include <malloc.h>

#include <chrono>

#include "base/log.h"
#include "exporter/web.h"

namespace triage {
namespace {

double WallNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

App::App(AppOptions options)
    : options_(std::move(options)), scheduler_(std::make_unique<Scheduler>(&self_, &table_)) {}

App::~App() { Stop(); }

void App::Start() {
  std::shared_ptr<const WebConfig> web_config;
  if (!options_.web_config_file.empty()) {
    web_config = std::make_shared<const WebConfig>(LoadWebConfigFile(options_.web_config_file));
  }
  auto cfg = std::make_shared<const Config>(LoadConfigFile(options_.config_file));
  ApplyConfig(cfg);
  self_.reload_successful->Set(1);
  self_.reload_success_timestamp->Set(WallNow());
  scheduler_->Start();
  web_ = std::make_unique<WebServer>(*this, options_.listen_address, web_config);
  web_->Start();
  ready_ = true;
  LogInfo("started", {{"config", options_.config_file},
                      {"probes", std::to_string(cfg->probes.size())},
                      {"shard", std::to_string(options_.shard.index) + "/" +
                                    std::to_string(options_.shard.count)},
                      {"shard_probes", std::to_string(config()->probes.size())},
                      {"address", web_->address()},
                      {"auth", web_config && web_config->RequiresAuth() ? "true" : "false"},
                      {"tls", web_config && web_config->tls ? "true" : "false"}});
}

void App::Stop() {
  ready_ = false;
  if (web_) {
    const int cut = web_->Stop();
    if (cut > 0) {
      LogWarn("requests still running at shutdown were cut off",
              {{"requests", std::to_string(cut)}});
    }
  }
  scheduler_->Stop();
  web_.reset();
}

void App::ApplyConfig(std::shared_ptr<const Config> cfg) {
  self_.probes_configured->Set(static_cast<double>(cfg->probes.size()));
  if (options_.shard.count > 1) {
    // The rest of the exporter sees only this shard's probes.
    auto own = std::make_shared<Config>(*cfg);
    own->probes.clear();
    for (const auto& p : cfg->probes) {
      if (options_.shard.Owns(p->common().service, p->common().name)) own->probes.push_back(p);
    }
    cfg = std::move(own);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    config_ = cfg;
  }
  scheduler_->Apply(cfg->probes, cfg->global.max_in_flight);
  // Parsing a large configuration leaves tens of MiB free inside the heap
  // (the YAML tree, the readers); give those pages back to the system.
  malloc_trim(0);
}

bool App::Reload(std::string* error) {
  std::lock_guard<std::mutex> reload_lock(reload_mu_);
  std::shared_ptr<const Config> cfg;
  try {
    cfg = std::make_shared<const Config>(LoadConfigFile(options_.config_file));
  } catch (const ConfigError& e) {
    self_.reload_successful->Set(0);
    self_.reloads_failed->Increment();
    LogError("config reload failed; keeping the running configuration", {{"err", e.what()}});
    if (error) *error = e.what();
    return false;
  }
  ApplyConfig(cfg);
  self_.reload_successful->Set(1);
  self_.reload_success_timestamp->Set(WallNow());
  LogInfo("config reloaded", {{"config", options_.config_file},
                              {"probes", std::to_string(cfg->probes.size())},
                              {"shard_probes", std::to_string(config()->probes.size())}});
  return true;
}

int App::port() const { return web_ ? web_->port() : 0; }

std::shared_ptr<const Config> App::config() const {
  std::lock_guard<std::mutex> lock(mu_);
  return config_;
}

std::string App::RenderMetrics() {
  self_.scrapes->Increment();
  return RenderPage();
}

std::shared_ptr<const MetricsPage> App::MetricsForScrape() {
  self_.scrapes->Increment();
  return shared_render_.Get();
}

std::string App::RenderPage() const {
  std::string out;
  RenderProbeFamilies(table_.All(), out);
  self_.Render(out);
  return out;
}

}  // namespace triage

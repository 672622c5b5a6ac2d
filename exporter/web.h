// The HTTP endpoints (civetweb): /metrics, /, /-/healthy, /-/ready,
// POST /-/reload, /probe, /runbooks/ and /api/v1/triage. Handlers only read
// snapshots; none waits on a scheduled probe.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/web_config.h"

class CivetServer;
class CivetHandler;

namespace triage {

class App;

// Turns an exporter-style listen address (":9479", "127.0.0.1:0", "[::1]:9479")
// into civetweb's listening_ports value. Returns false when malformed.
bool ToCivetListen(const std::string& address, std::string* out);

// gzip (level 1) of a /metrics answer; false when zlib fails.
bool GzipMetrics(std::string_view in, std::string* out);

class WebServer {
 public:
  // `web_config` (null: plain HTTP, no authentication) as --web.config.file gives it.
  WebServer(App& app, std::string listen_address,
            std::shared_ptr<const WebConfig> web_config = nullptr);
  ~WebServer();

  void Start();  // throws std::runtime_error when the address cannot be bound
  void Stop();
  int port() const { return port_; }
  std::string address() const;

 private:
  App& app_;
  std::string listen_;
  int port_ = 0;
  std::shared_ptr<const WebConfig> web_config_;
  std::unique_ptr<WebAuth> auth_;   // null: no credentials asked for
  std::atomic<int> probe_runs_{0};  // /probe requests running now
  std::unique_ptr<CivetServer> server_;
  std::vector<std::unique_ptr<CivetHandler>> handlers_;
};

}  // namespace triage

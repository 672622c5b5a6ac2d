// The HTTP endpoints (civetweb): /metrics, /, /-/healthy, /-/ready,
// POST /-/reload, /probe, /runbooks/ and /api/v1/triage. Handlers only read
// snapshots; none waits on a scheduled probe.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/web_config.h"

class CivetServer;
class CivetHandler;

namespace triage {

class TlsFront;

class App;

// Turns an exporter-style listen address (":9479", "127.0.0.1:0", "[::1]:9479")
// into civetweb's listening_ports value. Returns false when malformed.
bool ToCivetListen(const std::string& address, std::string* out);


// What the handlers and Stop() share: a request counts itself in `active`
// while in a handler; once `draining` is set, new requests get 503.
struct WebGate {
  std::atomic<bool> draining{false};
  std::atomic<int> active{0};
  std::string front_token;  // with TLS: the TlsFront header every request must carry
};

class WebServer {
 public:
  // `web_config` (null: plain HTTP, no authentication) as --web.config.file gives it.
  WebServer(App& app, std::string listen_address,
            std::shared_ptr<const WebConfig> web_config = nullptr);
  ~WebServer();

  void Start();  // throws std::runtime_error when the address cannot be bound
  // Stops taking work (503), lets the requests in a
  // handler finish for up to `drain`, then closes every connection and the
  // listener. Returns how many requests were still in a handler at the
  // deadline (cut off). civetweb notices the stop of a write to a client
  // that reads nothing only within its 2 s poll quantum, so a shutdown takes
  // at most about `drain` + 2 s: 4 s with the default.
  int Stop(std::chrono::milliseconds drain = std::chrono::milliseconds(2000));
  int port() const { return port_; }
  std::string address() const;

 private:
  App& app_;
  std::string listen_;
  int port_ = 0;
  std::shared_ptr<const WebConfig> web_config_;
  std::unique_ptr<WebAuth> auth_;   // null: no credentials asked for
  std::atomic<int> probe_runs_{0};  // /probe requests running now
  WebGate gate_;
  std::unique_ptr<TlsFront> front_;  // with tls_server_config: TLS on listen_, civetweb on loopback
  int civet_port_ = 0;               // civetweb's own port behind front_
  std::unique_ptr<CivetServer> server_;
  std::vector<std::unique_ptr<CivetHandler>> handlers_;
};

}  // namespace triage

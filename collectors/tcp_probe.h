// kind: tcp — opens a TCP connection to `address` (host:port), and with
// `tls: true` completes a TLS handshake on it, then closes it again. Nothing
// is sent over the connection. Runs on the shared libcurl event loop as a
// connect-only transfer (HttpRequest::connect_only), so it costs no thread.
// Besides the common metrics it reports the dns/connect/tls phases and, with
// TLS, the earliest certificate expiry of the peer chain.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "collectors/collector.h"

namespace triage {

class MapReader;

struct TcpProbeConfig {
  std::string address;  // as written: host:port or [v6]:port
  std::string host;     // the host part; IPv6 keeps its brackets
  int port = 0;
  bool tls = false;
  TlsConfig tls_config;
};

// Splits and checks "host:port" / "[v6addr]:port". On failure returns false
// and puts what is wrong into `*why`.
bool ParseTcpAddress(std::string_view address, std::string* host, int* port, std::string* why);

// Parses the tcp keys of a probe (docs/configuration.md, "kind: tcp").
std::shared_ptr<const ProbeSpec> ParseTcpProbe(MapReader& r, ProbeCommon common);

struct TcpState;  // kept between runs; defined in tcp_probe.cpp

class TcpProbeSpec : public KindSpec<TcpProbeConfig, TcpState> {
 public:
  using KindSpec::KindSpec;
  // The URL handed to libcurl: http://host:port/, or https:// with TLS.
  std::string Url() const;

 private:
  void RunKind(Fetcher& fetcher, TcpState& state, DebugLog* debug,
               std::function<void(RunOutcome)> done) const override;
  void RenderKind(const TcpState& state, SampleWriter& w) const override;
};

}  // namespace triage

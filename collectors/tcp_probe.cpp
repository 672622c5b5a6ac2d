#include "collectors/tcp_probe.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

#include "collectors/http_client.h"
#include "base/yaml_reader.h"

namespace triage {
namespace {

constexpr size_t kMaxHostLength = 253;

}  // namespace

struct TcpState : ProbeState {
  bool ran = false;
  HttpPhases phases;
  double cert_expiry = 0;
};

namespace {

bool IsHostChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
}

}  // namespace

bool ParseTcpAddress(std::string_view address, std::string* host, int* port, std::string* why) {
  auto fail = [&](std::string message) {
    *why = std::move(message);
    return false;
  };
  constexpr std::string_view kExpected = "; expected host:port, e.g. db:5432 or [::1]:5432";
  std::string_view h;
  std::string_view p;
  if (!address.empty() && address.front() == '[') {
    const size_t close = address.find(']');
    if (close == std::string_view::npos) {
      return fail("unterminated [ in " + QuoteForMessage(address) + std::string(kExpected));
    }
    const std::string inside(address.substr(1, close - 1));
    in6_addr a6{};
    if (inside.empty() || inet_pton(AF_INET6, inside.c_str(), &a6) != 1) {
      return fail(QuoteForMessage(inside) + " in brackets is not an IPv6 address" +
                  std::string(kExpected));
    }
    if (close + 1 >= address.size() || address[close + 1] != ':') {
      return fail("no :port after the IPv6 address" + std::string(kExpected));
    }
    h = address.substr(0, close + 1);
    p = address.substr(close + 2);
  } else {
    const size_t colon = address.rfind(':');
    if (colon == std::string_view::npos) {
      return fail("no port in " + QuoteForMessage(address) + std::string(kExpected));
    }
    h = address.substr(0, colon);
    p = address.substr(colon + 1);
    if (h.find(':') != std::string_view::npos) {
      return fail("an IPv6 address must be written in brackets, e.g. [::1]:5432");
    }
    if (h.empty()) return fail("the host is empty" + std::string(kExpected));
    if (h.size() > kMaxHostLength || !std::all_of(h.begin(), h.end(), IsHostChar)) {
      return fail("host " + QuoteForMessage(h) +
                  " is not a host name or IPv4 address (letters, digits, '.', '-', '_')");
    }
  }
  int value = 0;
  const bool digits = !p.empty() && p.size() <= 5 &&
                      std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (digits) {
    for (char c : p) value = value * 10 + (c - '0');
  }
  if (!digits || value < 1 || value > 65535) {
    return fail("port " + QuoteForMessage(p) + " is not an integer from 1 to 65535");
  }
  *host = std::string(h);
  *port = value;
  return true;
}

std::shared_ptr<const ProbeSpec> ParseTcpProbe(MapReader& r, ProbeCommon common) {
  TcpProbeConfig c;
  c.address = r.RequiredString("address");
  std::string why;
  if (!ParseTcpAddress(c.address, &c.host, &c.port, &why)) r.FailKey("address", why);
  c.tls = r.Bool("tls", false);
  if (auto tls = r.Map("tls_config")) {
    if (!c.tls) r.FailKey("tls_config", "tls_config is only used with tls: true");
    ParseTlsConfig(*tls, c.tls_config);
  }
  return std::make_shared<TcpProbeSpec>(std::move(common), std::move(c));
}

std::string TcpProbeSpec::Url() const {
  return std::string(config_.tls ? "https://" : "http://") + config_.host + ":" +
         std::to_string(config_.port) + "/";
}

void TcpProbeSpec::RunKind(Fetcher& fetcher, TcpState& s, DebugLog* debug,
                           std::function<void(RunOutcome)> done) const {
  HttpRequest req;
  req.url = Url();
  req.connect_only = true;
  req.tls = config_.tls_config;
  req.follow_redirects = false;
  req.keep_alive = false;
  req.timeout = common().timeout;
  if (debug) {
    debug->Line(std::string(config_.tls ? "TCP connect with TLS handshake to "
                                        : "TCP connect to ") +
                config_.address);
  }
  fetcher.Fetch(std::move(req), debug, [this, &s, debug, done = std::move(done)](HttpResult&& res) {
    s.ran = true;
    s.phases = res.phases;
    s.cert_expiry = config_.tls ? res.cert_expiry : 0;
    if (res.failure != FailureReason::kNone) {
      if (debug) {
        debug->Line("failed: " + std::string(FailureReasonName(res.failure)) + ": " + res.error);
      }
      done({false, res.failure});
      return;
    }
    if (debug) debug->Line(config_.tls ? "connected, TLS handshake done" : "connected");
    done({true, FailureReason::kNone});
  });
}

void TcpProbeSpec::RenderKind(const TcpState& s, SampleWriter& w) const {
  if (!s.ran) return;
  RenderPhases(s.phases, w, /*with_http_phases=*/false);
  if (s.cert_expiry > 0) w.Add(FamilyId::kTlsCertExpiryTimestampSeconds, s.cert_expiry);
}

}  // namespace triage

// Tests for kind: tcp, end to end: a YAML config is loaded, its probes run on
// a real Scheduler (the libcurl loop in connect-only mode) against RawServer
// peers or an `openssl s_server` child on 127.0.0.1, and the assertions read
// the exposition text rendered from the ProbeTable, as /metrics would.
//
// Not covered here: a name that does not resolve. This machine's resolver is
// a non-loopback nameserver, so a lookup of even a `.invalid` name leaves the
// host; only the mapping of libcurl's resolve error to reason "dns" is checked.
#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "collectors/tcp_probe.h"
#include "exporter/config.h"
#include "collectors/http_fetch.h"
#include "tests/unit/probe_rig.h"
#include "tests/unit/raw_server.h"
#include "tests/unit/test_util.h"

extern char** environ;

namespace triage {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::Failures;
using testing::FlowProbe;
using testing::kLongWait;
using testing::L;
using testing::N;
using testing::OneService;
using testing::ProbeRig;
using testing::RawServer;
using testing::Runs;
using testing::Successes;
using testing::TempDir;
using testing::V;
using testing::WaitFor;

// ---- config text and exposition lookups ----------------------------------------

// One tcp probe as a YAML flow map; `extra` holds further keys.
std::string TcpProbe(const std::string& name, const std::string& address,
                     const std::string& extra) {
  return FlowProbe(name, "tcp", "dependency", {"address: \"" + address + "\"", extra});
}

std::string Loopback(int port) { return "127.0.0.1:" + std::to_string(port); }

double Reason(const std::string& t, const std::string& p, const std::string& reason) {
  return N(t, p, "triage_probe_failures_total", {L("reason", reason)});
}
std::optional<double> Phase(const std::string& t, const std::string& p, const std::string& phase) {
  return V(t, p, "triage_probe_phase_seconds", {L("phase", phase)});
}

// A started rig for `yaml`.
std::unique_ptr<ProbeRig> Rig(const std::string& yaml) {
  auto rig = std::make_unique<ProbeRig>(yaml);
  rig->Start();
  return rig;
}

// ---- peers ----------------------------------------------------------------------------

// Counts the bytes each connection receives and the connections the client closed.
struct Recorder {
  std::atomic<long> bytes{0};
  std::atomic<int> peer_closed{0};

  RawServer::Behaviour Behaviour() {
    return [this](int fd, const std::atomic<bool>& stopping) {
      char buf[4096];
      while (!stopping) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, 20) <= 0) continue;
        const ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) {
          bytes += n;
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
          ++peer_closed;
          return;
        }
      }
    };
  }
};

// Waits for the client's first bytes (a TLS ClientHello), answers with an
// HTTP response instead of a ServerHello, and closes.
RawServer::Behaviour AnswerTlsWithHttp() {
  return [](int fd, const std::atomic<bool>& stopping) {
    const auto deadline = std::chrono::steady_clock::now() + seconds(5);
    char buf[4096];
    while (!stopping && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      if (recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0) break;
      return;  // closed or reset before saying anything
    }
    testing::SendAll(fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", stopping);
  };
}

// ---- 1. plain TCP --------------------------------------------------------------------

TEST(TcpProbeTest, ConnectsAndSendsNothing) {
  Recorder rec;
  RawServer server(rec.Behaviour());
  auto rig = Rig(OneService({TcpProbe("p", Loopback(server.port()), "interval: 200ms")}));
  const std::string text = rig->WaitRuns("p", 3);

  EXPECT_EQ(Failures(text, "p"), 0) << text;
  EXPECT_EQ(V(text, "p", "triage_probe_success"), 1) << text;
  ASSERT_TRUE(Phase(text, "p", "connect").has_value()) << text;
  EXPECT_GE(*Phase(text, "p", "connect"), 0) << text;
  ASSERT_TRUE(Phase(text, "p", "dns").has_value()) << text;
  EXPECT_EQ(Phase(text, "p", "tls"), 0) << text;
  // No HTTP phases, no HTTP series, no certificate.
  EXPECT_EQ(Phase(text, "p", "ttfb"), std::nullopt) << text;
  EXPECT_EQ(Phase(text, "p", "transfer"), std::nullopt) << text;
  EXPECT_EQ(V(text, "p", "triage_http_responses_total"), std::nullopt) << text;
  EXPECT_EQ(V(text, "p", "triage_tls_cert_expiry_timestamp_seconds"), std::nullopt) << text;

  // Every connection was closed by the probe without a byte sent over it.
  EXPECT_TRUE(WaitFor([&] { return rec.peer_closed.load() >= 3; }, kLongWait))
      << "connections " << server.connections() << ", closed by the probe " << rec.peer_closed;
  EXPECT_GE(server.connections(), 3);
  EXPECT_EQ(rec.bytes.load(), 0);
}

TEST(TcpProbeTest, ClosedPortIsConnectionRefused) {
  const int port = testing::ClosedPort();
  auto rig = Rig(OneService({TcpProbe("p", Loopback(port), "interval: 200ms")}));
  const std::string text = rig->WaitRuns("p", 2);
  EXPECT_EQ(Successes(text, "p"), 0) << text;
  EXPECT_EQ(Reason(text, "p", "connection_refused"), Runs(text, "p")) << text;
  EXPECT_EQ(V(text, "p", "triage_probe_success"), 0) << text;
}

TEST(TcpProbeTest, UnresolvableNameMapsToDns) {
  // See the file comment: no real lookup, only the mapping.
  EXPECT_EQ(ReasonForCurlCode(CURLE_COULDNT_RESOLVE_HOST, 0, false), FailureReason::kDns);
}

// ---- 2. TLS against hostile peers -------------------------------------------------------

TEST(TcpProbeTest, TlsHandshakeWithNonTlsPeerIsTls) {
  RawServer server(AnswerTlsWithHttp());
  auto rig = Rig(OneService({TcpProbe("p", Loopback(server.port()),
                                  "interval: 200ms, tls: true, "
                                  "tls_config: {insecure_skip_verify: true}")}));
  const std::string text = rig->WaitRuns("p", 2);
  EXPECT_EQ(Successes(text, "p"), 0) << text;
  EXPECT_EQ(Reason(text, "p", "tls"), Runs(text, "p")) << text;
}

TEST(TcpProbeTest, TlsHandshakeThatNeverCompletesTimesOut) {
  RawServer silent(RawServer::AcceptAndNeverAnswer());
  auto rig = Rig(OneService(
      {TcpProbe("p", Loopback(silent.port()), "interval: 500ms, timeout: 300ms, tls: true")}));
  const std::string text = rig->WaitRuns("p", 3);
  const double runs = Runs(text, "p");
  EXPECT_EQ(Successes(text, "p"), 0) << text;
  EXPECT_EQ(Reason(text, "p", "timeout"), runs) << text;
  // Ended by its own timeout, and promptly: from the exporter's histogram.
  EXPECT_EQ(V(text, "p", "triage_probe_duration_seconds_count"), runs) << text;
  const double mean = N(text, "p", "triage_probe_duration_seconds_sum") / runs;
  EXPECT_GE(mean, 0.3) << text;
  EXPECT_LT(mean, 0.3 + 0.1) << text;
  EXPECT_EQ(V(text, "p", "triage_probe_duration_seconds_bucket", {L("le", "0.25")}), 0) << text;
  EXPECT_EQ(V(text, "p", "triage_probe_duration_seconds_bucket", {L("le", "0.5")}), runs) << text;
}

// ---- 3. TLS against a real TLS server (openssl s_server) ----------------------------------

// `openssl s_server -www` on 127.0.0.1 with a self-signed certificate for
// 127.0.0.1 and localhost, valid for two days. Killed when destroyed.
class OpensslServer {
 public:
  explicit OpensslServer(const TempDir& dir) : dir_(dir) {}
  ~OpensslServer() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }
  OpensslServer(const OpensslServer&) = delete;
  OpensslServer& operator=(const OpensslServer&) = delete;

  // Empty on success, else what went wrong.
  std::string Start() {
    cert_ = dir_.path() + "/cert.pem";
    key_ = dir_.path() + "/key.pem";
    const std::string gen =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2"
        " -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost"
        " -keyout '" + key_ + "' -out '" + cert_ + "' >'" + dir_.path() + "/req.log' 2>&1";
    if (std::system(gen.c_str()) != 0) return "openssl req failed";
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = testing::ClosedPort();
      if (Spawn() && WaitListening()) return "";
      if (pid_ > 0) {
        kill(pid_, SIGTERM);
        waitpid(pid_, nullptr, 0);
        pid_ = -1;
      }
    }
    return "openssl s_server did not start listening";
  }
  int port() const { return port_; }
  const std::string& cert() const { return cert_; }

 private:
  bool Spawn() {
    const std::string accept = Loopback(port_);
    const std::string log = dir_.path() + "/s_server.log";
    std::vector<std::string> args = {"openssl", "s_server", "-accept", accept, "-cert", cert_,
                                     "-key",    key_,       "-www",    "-quiet"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    const int rc = posix_spawnp(&pid_, "openssl", &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) pid_ = -1;
    return rc == 0;
  }
  // Polls with plain connects until the port accepts or the child exits.
  bool WaitListening() {
    return WaitFor(
        [&] {
          if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
            pid_ = -1;
            return true;  // exited (port taken?): WaitFor ends, checked below
          }
          const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
          sockaddr_in a{};
          a.sin_family = AF_INET;
          a.sin_port = htons(static_cast<uint16_t>(port_));
          a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
          const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
          close(fd);
          return ok;
        },
        seconds(10)) &&
           pid_ > 0;
  }

  const TempDir& dir_;
  pid_t pid_ = -1;
  int port_ = 0;
  std::string cert_, key_;
};

TEST(TcpProbeTest, TlsHandshakeWithRealServer) {
  TempDir dir;
  OpensslServer server(dir);
  const std::string err = server.Start();
  if (!err.empty()) GTEST_SKIP() << err;
  const std::string addr = Loopback(server.port());
  const std::string ca = "ca_file: \"" + server.cert() + "\"";
  auto rig = Rig(OneService({
      TcpProbe("trusted", addr, "interval: 500ms, timeout: 450ms, tls: true, tls_config: {" + ca + "}"),
      TcpProbe("sni", addr,
               "interval: 500ms, timeout: 450ms, tls: true, tls_config: {" + ca +
                   ", server_name: localhost}"),
      TcpProbe("untrusted", addr, "interval: 500ms, timeout: 450ms, tls: true"),
      TcpProbe("insecure", addr,
               "interval: 500ms, timeout: 450ms, tls: true, "
               "tls_config: {insecure_skip_verify: true}"),
  }));
  const std::string text = rig->WaitText([](const std::string& t) {
    for (const char* p : {"trusted", "sni", "untrusted", "insecure"}) {
      if (Runs(t, p) < 2) return false;
    }
    return true;
  });

  const double now = static_cast<double>(std::time(nullptr));
  for (const char* p : {"trusted", "sni", "insecure"}) {
    SCOPED_TRACE(p);
    EXPECT_EQ(Failures(text, p), 0) << text;
    EXPECT_GT(Phase(text, p, "tls").value_or(0), 0) << text;
    const double expiry = N(text, p, "triage_tls_cert_expiry_timestamp_seconds");
    EXPECT_GT(expiry, now + 2 * 86400 - 3600) << text;
    EXPECT_LT(expiry, now + 2 * 86400 + 3600) << text;
  }
  // Self-signed and not in the trust store: verification fails.
  EXPECT_EQ(Successes(text, "untrusted"), 0) << text;
  EXPECT_EQ(Reason(text, "untrusted", "tls"), Runs(text, "untrusted")) << text;
}

// ---- 4. configuration -------------------------------------------------------------------

// Loads one tcp probe written in block style with `lines` as its keys after
// `kind` and `layer` (line 7 onwards), expecting a ConfigError; returns its message.
std::string ConfigErrorFor(const std::vector<std::string>& lines) {
  std::string y =
      "services:\n  - name: svc\n    probes:\n      - name: p\n        kind: tcp\n"
      "        layer: dependency\n";
  for (const auto& l : lines) y += "        " + l + "\n";
  try {
    LoadConfigString(y, "tcp.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error for:\n" << y;
  return "";
}

void ExpectError(const std::vector<std::string>& lines, const std::string& where,
                 const std::vector<std::string>& phrases) {
  const std::string msg = ConfigErrorFor(lines);
  EXPECT_EQ(msg.rfind("tcp.yaml:" + where + ": ", 0), 0u) << msg;
  for (const auto& ph : phrases) EXPECT_NE(msg.find(ph), std::string::npos) << ph << " in " << msg;
}

TEST(TcpProbeConfigTest, MissingAddress) {
  ExpectError({"interval: 1s"}, "4:9", {"missing required key \"address\""});
}

TEST(TcpProbeConfigTest, BadPort) {
  ExpectError({"address: \"db:0\""}, "7:18", {"\"address\"", "from 1 to 65535"});
  ExpectError({"address: db:65536"}, "7:18", {"from 1 to 65535"});
  ExpectError({"address: db:pg"}, "7:18", {"from 1 to 65535"});
  ExpectError({"address: db"}, "7:18", {"expected host:port"});
  ExpectError({"address: \":5432\""}, "7:18", {"host is empty"});
}

TEST(TcpProbeConfigTest, Ipv6NeedsBrackets) {
  ExpectError({"address: \"::1:5432\""}, "7:18", {"in brackets"});
  ExpectError({"address: \"[db]:5432\""}, "7:18", {"not an IPv6 address"});
  ExpectError({"address: \"[::1]\""}, "7:18", {"no :port"});
}

TEST(TcpProbeConfigTest, UnknownKeys) {
  ExpectError({"address: db:5432", "url: http://db/"}, "8:9", {"\"url\""});
  ExpectError({"address: db:5432", "tls: true", "tls_config: {ca: x}"}, "9:22", {"\"ca\""});
}

TEST(TcpProbeConfigTest, TlsConfigNeedsTls) {
  ExpectError({"address: db:5432", "tls_config: {insecure_skip_verify: true}"}, "8:21",
              {"tls: true"});
}

TEST(TcpProbeConfigTest, ValidAddresses) {
  const Config c = LoadConfigString(
      OneService({TcpProbe("a", "db.internal-1:5432", ""), TcpProbe("b", "[::1]:6379", "tls: true"),
                  TcpProbe("c", "10.0.0.7:1", "")}),
      "tcp.yaml");
  ASSERT_EQ(c.probes.size(), 3u);
  auto url = [&](size_t i) { return static_cast<const TcpProbeSpec&>(*c.probes[i]).Url(); };
  EXPECT_EQ(url(0), "http://db.internal-1:5432/");
  EXPECT_EQ(url(1), "https://[::1]:6379/");
  EXPECT_EQ(url(2), "http://10.0.0.7:1/");
}

}  // namespace
}  // namespace triage

#include "server/civet_stop.h"

#include <CivetServer.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

namespace triage {
namespace {

// Connects to `host` (a numeric address) at `port` and closes the connection
// at once. Returns false when `host` is not a numeric address; otherwise
// `*connected` tells whether the connection was accepted.
bool ConnectOnce(const std::string& host, int port, bool* connected) {
  sockaddr_storage addr{};
  socklen_t len = 0;
  if (host.empty() || !NumericSockaddr(host, port, &addr, &len)) return false;
  *connected = false;
  const int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return true;
  timeval timeout{0, 100 * 1000};  // on Linux this bounds connect() as well
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  *connected = connect(fd, reinterpret_cast<const sockaddr*>(&addr), len) == 0;
  close(fd);
  return true;
}

// Connects once to the server listening on `listen_address` and `port`.
// Returns false when there is nothing to connect to: the host is not a
// numeric address or the port is unknown.
bool PokeListener(const std::string& listen_address, int port) {
  if (port <= 0) return false;
  std::string host;
  const size_t colon = listen_address.rfind(':');
  if (colon != std::string::npos) host = listen_address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  bool connected = false;
  if (host == "::") {
    // The exporter's "[::]:PORT" becomes civetweb's "+PORT", which listens on
    // IPv4 too, and only on IPv4 when civetweb was built without IPv6 (as
    // Debian's 1.15 is). So 127.0.0.1 is tried when ::1 does not answer.
    if (ConnectOnce("::1", port, &connected) && connected) return true;
    host = "127.0.0.1";
  }
  return ConnectOnce(host, port, &connected);
}

}  // namespace

bool NumericSockaddr(const std::string& host, int port, sockaddr_storage* addr, socklen_t* len) {
  *addr = sockaddr_storage{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(addr);
  if (host.empty() || inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    if (host.empty()) v4->sin_addr.s_addr = htonl(INADDR_ANY);
    *len = sizeof *v4;
    return true;
  }
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    *len = sizeof *v6;
    return true;
  }
  return false;
}

void CloseCivetServer(CivetServer& server, const std::string& listen_address, int port) {
  // One poke could land before the master thread is back in poll(), so the
  // poker keeps knocking until close() has returned.
  std::atomic<bool> closed{false};
  std::thread poker([&] {
    while (!closed.load()) {
      if (!PokeListener(listen_address, port)) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  server.close();
  closed = true;
  poker.join();
}

}  // namespace triage

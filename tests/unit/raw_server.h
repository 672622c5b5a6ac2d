// A minimal TCP server on 127.0.0.1 for the hostile peers that civetweb (and
// so the simulator) cannot imitate: a server that accepts and then says
// nothing, one that answers with hand-written bytes, one that streams an
// endless body, one that resets the connection halfway through a body.
//
// One thread accepts; every accepted connection gets its own thread running
// the behaviour given at construction. The server owns the socket: it closes
// it once the behaviour returns, so a behaviour never calls close(2) itself
// (ResetMidBody only arms SO_LINGER 0 so that this close becomes a RST).
// Behaviours poll with short timeouts and watch `stopping`, which lets the
// destructor end everything in about 100 ms.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace triage::testing {

class RawServer {
 public:
  using Behaviour = std::function<void(int fd, const std::atomic<bool>& stopping)>;

  // Binds 127.0.0.1 on an ephemeral port and starts accepting. Throws
  // std::runtime_error when the socket cannot be set up.
  explicit RawServer(Behaviour behaviour);
  ~RawServer();
  RawServer(const RawServer&) = delete;
  RawServer& operator=(const RawServer&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:<port><path>".
  std::string Url(std::string_view path = "/") const;
  // Connections accepted so far.
  int connections() const { return accepted_.load(); }

  // Reads the request, then keeps the socket open and silent until the
  // server stops (or the peer hangs up, as there is nobody left to wait for).
  static Behaviour AcceptAndNeverAnswer();
  // Reads the request headers, writes `bytes` verbatim, closes.
  static Behaviour RespondRaw(std::string bytes);
  // 200 with a body of `bytes` bytes (Content-Length, or chunked without a
  // length), written 64 KiB at a time until done or until the peer goes away.
  static Behaviour HugeBody(size_t bytes, bool chunked);
  // Headers announcing Content-Length 1000, then 10 bytes of body, then an
  // abortive close (SO_LINGER 0) so the client sees a RST mid-body.
  static Behaviour ResetMidBody();

 private:
  struct Connection {
    std::thread thread;
    std::atomic<bool> done{false};
  };

  void AcceptLoop();
  void ReapFinished();

  Behaviour behaviour_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::mutex mu_;
  std::list<std::unique_ptr<Connection>> connections_;
  std::thread acceptor_;
};

// Building blocks for behaviours written in a test.
//
// Reads until the blank line that ends the request headers, the peer closes,
// `stopping` is set or `timeout` passes; returns what was read.
std::string ReadRequestHead(int fd, const std::atomic<bool>& stopping,
                            std::chrono::milliseconds timeout = std::chrono::seconds(5));
// Writes all of `data`. False when the peer went away or `stopping` was set first.
bool SendAll(int fd, std::string_view data, const std::atomic<bool>& stopping);
// Returns once the peer has closed its side (or reset) or `stopping` is set.
void WaitForPeerClose(int fd, const std::atomic<bool>& stopping);

// A loopback port with nothing listening on it: binds port 0, reads the port
// the kernel chose, and closes the socket again.
int ClosedPort();

}  // namespace triage::testing

// TLS on the exporter's own endpoints (tls_server_config of --web.config.file).
//
// Debian's civetweb 1.15 cannot serve TLS with OpenSSL 3: it looks its
// OpenSSL functions up by name, one of them (SSL_get_peer_certificate) is
// gone, and the first handshake jumps to address 0. So civetweb listens on
// 127.0.0.1 at a port of the kernel's choosing, and TlsFront listens on the
// configured address: it makes the TLS handshake with OpenSSL (certificate,
// client certificates, minimum version), then passes the bytes on to
// civetweb and back. It adds one header to each request,
//   X-Triage-Front: <a random token made at start>
// and the web server refuses requests without it, so a local process that
// finds civetweb's port cannot skip TLS or the client certificate.
//
// One thread per connection, at most kMaxConnections at once (while that
// many are open, new ones wait in the listen backlog). The handshake and the
// request line must arrive within kHeadTimeout of the accept, or the
// connection is cut: a client that trickles bytes cannot hold a slot.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "exporter/web_config.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace triage {

inline constexpr std::string_view kFrontTokenHeader = "X-Triage-Front";

class TlsFront {
 public:
  static constexpr int kMaxConnections = 64;
  static constexpr std::chrono::seconds kHeadTimeout{10};
  // A single read or write on a socket after the request line.
  static constexpr std::chrono::seconds kIoTimeout{30};

  // Builds the TLS context; throws std::runtime_error naming the file that
  // could not be used (certificate, key, client CA).
  explicit TlsFront(const WebTlsConfig& config);
  ~TlsFront();
  TlsFront(const TlsFront&) = delete;
  TlsFront& operator=(const TlsFront&) = delete;

  // Listens on `host:port` (numeric IPv4 or IPv6 host, empty for all IPv4
  // addresses; port 0 picks one) and passes connections to 127.0.0.1 at
  // `backend_port`. Throws std::runtime_error when it cannot listen.
  void Start(const std::string& host, int port, int backend_port);
  // Closes the listener: new connections are refused from now on.
  void StopAccepting();
  // Ends every connection still open and waits for their threads.
  void Stop();

  int port() const { return port_; }
  // The value of kFrontTokenHeader in every request passed on.
  const std::string& token() const { return token_; }

 private:
  using Clock = std::chrono::steady_clock;
  struct Conn {
    std::thread thread;
    int fd = -1;
    Clock::time_point head_deadline;  // max(): the request line has been passed on
  };
  void AcceptLoop();
  void Serve(uint64_t id, int fd);
  void HeadDone(uint64_t id);
  void Finish(uint64_t id, int fd);
  // Joins the threads that have finished; cuts connections past their head
  // deadline. Returns the time until the next deadline (at most 1 s).
  std::chrono::milliseconds Housekeeping();

  SSL_CTX* ctx_ = nullptr;
  std::string token_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: ends AcceptLoop's poll
  int port_ = 0;
  int backend_port_ = 0;
  std::thread acceptor_;
  std::mutex mu_;
  std::map<uint64_t, Conn> conns_;   // running connection threads, by id
  std::vector<uint64_t> finished_;   // ids whose thread is about to exit, to join
  uint64_t next_id_ = 0;
  std::atomic<bool> stopping_{false};
};

}  // namespace triage

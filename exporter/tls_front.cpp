#include "exporter/tls_front.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "server/civet_stop.h"
#include "base/log.h"

namespace triage {
namespace {

// The reasons OpenSSL queued, oldest first, and clears the queue.
std::string OpenSslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

void SetTimeouts(int fd, std::chrono::seconds t) {
  timeval tv{static_cast<time_t>(t.count()), 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

bool SendAll(int fd, const char* data, size_t n) {
  while (n > 0) {
    const ssize_t w = send(fd, data, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    data += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool SslWriteAll(SSL* ssl, const char* data, size_t n) {
  while (n > 0) {
    const int w = SSL_write(ssl, data, static_cast<int>(std::min<size_t>(n, 1 << 30)));
    if (w <= 0) return false;
    data += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

int ConnectBackend(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

}  // namespace

TlsFront::TlsFront(const WebTlsConfig& config) {
  ctx_ = SSL_CTX_new(TLS_server_method());
  if (!ctx_) throw std::runtime_error("cannot create a TLS context: " + OpenSslErrors());
  SSL_CTX_set_min_proto_version(ctx_, config.min_version ? config.min_version : TLS1_2_VERSION);
  auto fail = [this](const std::string& what) {
    const std::string why = what + ": " + OpenSslErrors();
    SSL_CTX_free(ctx_);
    ctx_ = nullptr;
    throw std::runtime_error(why);
  };
  if (SSL_CTX_use_certificate_chain_file(ctx_, config.cert_file.c_str()) != 1) {
    fail("cannot use cert_file " + config.cert_file);
  }
  if (SSL_CTX_use_PrivateKey_file(ctx_, config.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    fail("cannot use key_file " + config.key_file);
  }
  if (SSL_CTX_check_private_key(ctx_) != 1) {
    fail("key_file " + config.key_file + " does not belong to cert_file " + config.cert_file);
  }
  if (!config.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx_, config.client_ca_file.c_str(), nullptr) != 1) {
      fail("cannot use client_ca_file " + config.client_ca_file);
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(config.client_ca_file.c_str());
    if (!names) fail("no certificate in client_ca_file " + config.client_ca_file);
    SSL_CTX_set_client_CA_list(ctx_, names);
  }
  int mode = SSL_VERIFY_NONE;
  if (config.client_auth == ClientAuth::kVerifyIfGiven) mode = SSL_VERIFY_PEER;
  if (config.client_auth == ClientAuth::kRequireAndVerify) {
    mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  }
  SSL_CTX_set_verify(ctx_, mode, nullptr);
  static constexpr unsigned char kSessionContext[] = "triage_exporter";
  SSL_CTX_set_session_id_context(ctx_, kSessionContext, sizeof kSessionContext - 1);

  unsigned char raw[24];
  if (RAND_bytes(raw, sizeof raw) != 1) fail("cannot make a random token");
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char b : raw) {
    token_ += kHex[b >> 4];
    token_ += kHex[b & 15];
  }
}

TlsFront::~TlsFront() {
  Stop();
  if (ctx_) SSL_CTX_free(ctx_);
}

void TlsFront::Start(const std::string& host, int port, int backend_port) {
  backend_port_ = backend_port;
  sockaddr_storage addr{};
  socklen_t len = 0;
  if (!NumericSockaddr(host, port, &addr, &len)) {
    throw std::runtime_error("TLS needs a numeric listen address, got host \"" + host + "\"");
  }
  auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
  listen_fd_ = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  if (listen_fd_ >= 0) setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      listen(listen_fd_, 128) != 0) {
    const std::string why = std::strerror(errno);
    if (listen_fd_ >= 0) close(listen_fd_);
    listen_fd_ = -1;
    throw std::runtime_error("cannot listen on " + host + ":" + std::to_string(port) + ": " + why);
  }
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.ss_family == AF_INET6 ? v6->sin6_port : v4->sin_port);
  wake_fd_ = eventfd(0, EFD_CLOEXEC);
  if (wake_fd_ < 0) {
    const std::string why = std::strerror(errno);
    close(listen_fd_);
    listen_fd_ = -1;
    throw std::runtime_error("cannot create an eventfd: " + why);
  }
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

std::chrono::milliseconds TlsFront::Housekeeping() {
  std::vector<std::thread> done;
  auto wait = std::chrono::milliseconds(1000);
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (uint64_t id : finished_) {
      auto it = conns_.find(id);
      if (it == conns_.end()) continue;
      done.push_back(std::move(it->second.thread));
      conns_.erase(it);
    }
    finished_.clear();
    const auto now = Clock::now();
    for (auto& [id, c] : conns_) {
      if (c.head_deadline == Clock::time_point::max() || c.fd < 0) continue;
      if (c.head_deadline <= now) {
        shutdown(c.fd, SHUT_RDWR);  // its thread ends on the failed read
        c.head_deadline = Clock::time_point::max();
      } else {
        wait = std::min(wait, std::chrono::duration_cast<std::chrono::milliseconds>(
                                  c.head_deadline - now) + std::chrono::milliseconds(1));
      }
    }
  }
  for (auto& t : done) t.join();
  return wait;
}

void TlsFront::AcceptLoop() {
  while (!stopping_.load()) {
    const auto wait = Housekeeping();
    bool full;
    {
      std::lock_guard<std::mutex> lock(mu_);
      full = static_cast<int>(conns_.size()) >= kMaxConnections;
    }
    // While full, new connections wait in the listen backlog.
    pollfd p[2] = {{full ? -1 : listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (poll(p, 2, static_cast<int>(wait.count())) < 0 && errno != EINTR) return;
    if (stopping_.load() || (p[1].revents & POLLIN)) return;
    if (!(p[0].revents & POLLIN)) continue;
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      // Out of descriptors or memory: the listener stays readable, so wait
      // a little instead of spinning.
      if (errno != EINTR && errno != ECONNABORTED) poll(nullptr, 0, 100);
      continue;
    }
    std::lock_guard<std::mutex> lock(mu_);
    const uint64_t id = next_id_++;
    Conn& c = conns_[id];
    c.fd = fd;
    c.head_deadline = Clock::now() + kHeadTimeout;
    try {
      c.thread = std::thread([this, id, fd] { Serve(id, fd); });
    } catch (const std::system_error&) {
      close(fd);  // no thread to serve it
      conns_.erase(id);
    }
  }
}

void TlsFront::Serve(uint64_t id, int fd) {
  SetTimeouts(fd, kHeadTimeout);
  SSL* ssl = SSL_new(ctx_);
  int backend = -1;
  bool fatal = false;  // the TLS session broke: no close_notify
  if (ssl && SSL_set_fd(ssl, fd) == 1 && SSL_accept(ssl) == 1) {
    SetTimeouts(fd, kIoTimeout);
    backend = ConnectBackend(backend_port_);
  } else {
    fatal = true;
    LogDebug("TLS handshake failed", {{"err", OpenSslErrors()}});
  }
  auto failed = [&](int rc) {
    const int e = SSL_get_error(ssl, rc);
    if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_SSL) fatal = true;
  };
  if (backend >= 0) {
    SetTimeouts(backend, kIoTimeout);
    std::vector<char> buf(64 * 1024);
    // The request head up to the end of the request line (blank lines
    // before it skipped), then the token header, then the rest as it comes.
    std::string head;
    bool ok = false;
    while (head.size() < 8192) {
      const int n = SSL_read(ssl, buf.data(), static_cast<int>(buf.size()));
      if (n <= 0) {
        failed(n);
        break;
      }
      head.append(buf.data(), static_cast<size_t>(n));
      const size_t start = head.find_first_not_of("\r\n");
      const size_t nl = start == std::string::npos ? start : head.find('\n', start);
      if (nl != std::string::npos) {
        head.insert(nl + 1, std::string(kFrontTokenHeader) + ": " + token_ + "\r\n");
        ok = SendAll(backend, head.data(), head.size());
        HeadDone(id);
        break;
      }
    }
    bool client_open = ok;
    while (ok) {
      pollfd p[2] = {{fd, POLLIN, 0}, {backend, POLLIN, 0}};
      const bool pending = client_open && SSL_pending(ssl) > 0;
      if (!client_open) p[0].fd = -1;
      // No time limit here: the web server bounds its requests itself (and
      // /probe may wait as long as a probe's timeout), and Stop() ends us.
      if (!pending && poll(p, 2, -1) <= 0) break;
      if (pending || (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
        const int n = SSL_read(ssl, buf.data(), static_cast<int>(buf.size()));
        if (n <= 0) {
          failed(n);
          client_open = false;  // the client is done sending; the answer may still come
          shutdown(backend, SHUT_WR);
        } else if (!SendAll(backend, buf.data(), static_cast<size_t>(n))) {
          break;
        }
        continue;
      }
      if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
        const ssize_t n = recv(backend, buf.data(), buf.size(), 0);
        if (n <= 0) break;  // the web server closed: so do we
        if (!SslWriteAll(ssl, buf.data(), static_cast<size_t>(n))) {
          fatal = true;
          break;
        }
      }
    }
  }
  if (ssl) {
    if (!fatal) SSL_shutdown(ssl);
    SSL_free(ssl);
  }
  ERR_clear_error();
  if (backend >= 0) close(backend);
  Finish(id, fd);
  OPENSSL_thread_stop();
}

void TlsFront::HeadDone(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = conns_.find(id);
  if (it != conns_.end()) it->second.head_deadline = Clock::time_point::max();
}

void TlsFront::Finish(uint64_t id, int fd) {
  // Closed under the lock: shutdown() of a listed fd never hits a reused number.
  std::lock_guard<std::mutex> lock(mu_);
  close(fd);
  auto it = conns_.find(id);
  if (it == conns_.end()) return;  // Stop() has taken it over and joins us
  it->second.fd = -1;
  finished_.push_back(id);
}

void TlsFront::StopAccepting() {
  if (stopping_.exchange(true)) return;
  if (wake_fd_ >= 0) {
    const uint64_t one = 1;
    if (write(wake_fd_, &one, sizeof one) < 0) {
      // The loop also sees stopping_ on its next wake-up (at most 1 s).
    }
  }
  if (acceptor_.joinable()) acceptor_.join();
  if (listen_fd_ >= 0) close(listen_fd_);
  listen_fd_ = -1;
  if (wake_fd_ >= 0) close(wake_fd_);
  wake_fd_ = -1;
}

void TlsFront::Stop() {
  StopAccepting();
  std::map<uint64_t, Conn> conns;
  {
    std::unique_lock<std::mutex> lock(mu_);
    // A connection thread blocked on its client returns at once.
    for (auto& [id, c] : conns_) {
      if (c.fd >= 0) shutdown(c.fd, SHUT_RDWR);
    }
    conns.swap(conns_);
    finished_.clear();
  }
  for (auto& [id, c] : conns) {
    if (c.thread.joinable()) c.thread.join();
  }
}

}  // namespace triage

#include "tests/unit/raw_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace triage::testing {
namespace {

// Every wait is cut into slices this long so that `stopping` is seen quickly.
constexpr int kSliceMs = 20;
constexpr size_t kWriteChunk = 64 * 1024;

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

int BoundPort(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return 0;
  return ntohs(addr.sin_port);
}

// Waits up to one slice for `events`; returns the revents, 0 on a quiet slice.
short PollSlice(int fd, short events) {
  pollfd p{fd, events, 0};
  const int n = poll(&p, 1, kSliceMs);
  return n > 0 ? p.revents : 0;
}

// Sleeps about `ms` unless `stopping` is set first.
void Pause(int ms, const std::atomic<bool>& stopping) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!stopping && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(ms, 5)));
  }
}

}  // namespace

std::string ReadRequestHead(int fd, const std::atomic<bool>& stopping,
                            std::chrono::milliseconds timeout) {
  std::string head;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  while (!stopping && std::chrono::steady_clock::now() < deadline) {
    if (head.find("\r\n\r\n") != std::string::npos) break;
    const short ev = PollSlice(fd, POLLIN);
    if (ev == 0) continue;
    const ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      head.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      break;  // closed or reset
    }
  }
  return head;
}

bool SendAll(int fd, std::string_view data, const std::atomic<bool>& stopping) {
  while (!data.empty()) {
    if (stopping) return false;
    const short ev = PollSlice(fd, POLLOUT);
    if (ev == 0) continue;
    if (ev & (POLLERR | POLLHUP | POLLNVAL)) return false;
    const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
    } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      return false;  // EPIPE, ECONNRESET: the peer is gone
    }
  }
  return true;
}

void WaitForPeerClose(int fd, const std::atomic<bool>& stopping) {
  char buf[1024];
  while (!stopping) {
    const short ev = PollSlice(fd, POLLIN);
    if (ev == 0) continue;
    const ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0) return;  // orderly close
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return;
    // Anything the peer still sends (a pipelined request) is ignored.
  }
}

int ClosedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr = Loopback(0);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    close(fd);
    throw std::runtime_error(std::string("bind: ") + std::strerror(err));
  }
  const int port = BoundPort(fd);
  close(fd);  // never listened: connecting to this port is refused
  return port;
}

RawServer::RawServer(Behaviour behaviour) : behaviour_(std::move(behaviour)) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  const int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr = Loopback(0);
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listen_fd_, 64) != 0) {
    const int err = errno;
    close(listen_fd_);
    throw std::runtime_error(std::string("bind/listen on 127.0.0.1:0: ") + std::strerror(err));
  }
  port_ = BoundPort(listen_fd_);
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

RawServer::~RawServer() {
  stopping_ = true;
  // Wakes a blocked poll/accept on Linux at once; the slices bound it anyway.
  shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  close(listen_fd_);
  std::list<std::unique_ptr<Connection>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    all.swap(connections_);
  }
  for (auto& c : all) c->thread.join();
}

std::string RawServer::Url(std::string_view path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
}

void RawServer::ReapFinished() {
  std::list<std::unique_ptr<Connection>> finished;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = connections_.begin(); it != connections_.end();) {
      if ((*it)->done) {
        finished.push_back(std::move(*it));
        it = connections_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& c : finished) c->thread.join();
}

void RawServer::AcceptLoop() {
  while (!stopping_) {
    const short ev = PollSlice(listen_fd_, POLLIN);
    if (stopping_) break;
    if (ev == 0) continue;
    if (ev & (POLLERR | POLLNVAL)) break;
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;  // EAGAIN, ECONNABORTED, or EINVAL after shutdown
    ++accepted_;
    ReapFinished();
    auto conn = std::make_unique<Connection>();
    Connection* raw = conn.get();
    {
      std::lock_guard<std::mutex> lock(mu_);
      connections_.push_back(std::move(conn));
    }
    raw->thread = std::thread([this, fd, raw] {
      behaviour_(fd, stopping_);
      close(fd);
      raw->done = true;
    });
  }
}

RawServer::Behaviour RawServer::AcceptAndNeverAnswer() {
  return [](int fd, const std::atomic<bool>& stopping) {
    ReadRequestHead(fd, stopping);
    WaitForPeerClose(fd, stopping);
  };
}

RawServer::Behaviour RawServer::RespondRaw(std::string bytes) {
  return [bytes = std::move(bytes)](int fd, const std::atomic<bool>& stopping) {
    ReadRequestHead(fd, stopping);
    SendAll(fd, bytes, stopping);
  };
}

RawServer::Behaviour RawServer::HugeBody(size_t bytes, bool chunked) {
  return [bytes, chunked](int fd, const std::atomic<bool>& stopping) {
    ReadRequestHead(fd, stopping);
    std::string head =
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n";
    head += chunked ? "Transfer-Encoding: chunked\r\n"
                    : "Content-Length: " + std::to_string(bytes) + "\r\n";
    head += "\r\n";
    if (!SendAll(fd, head, stopping)) return;
    const std::string block(kWriteChunk, 'x');
    size_t left = bytes;
    while (left > 0) {
      const size_t n = std::min(left, kWriteChunk);
      std::string piece;
      if (chunked) {
        char size_line[32];
        std::snprintf(size_line, sizeof size_line, "%zx\r\n", n);
        piece = size_line;
        piece.append(block, 0, n);
        piece += "\r\n";
      } else {
        piece.assign(block, 0, n);
      }
      if (!SendAll(fd, piece, stopping)) return;  // the peer gave up
      left -= n;
    }
    if (chunked) SendAll(fd, "0\r\n\r\n", stopping);
  };
}

RawServer::Behaviour RawServer::ResetMidBody() {
  return [](int fd, const std::atomic<bool>& stopping) {
    ReadRequestHead(fd, stopping);
    const std::string part =
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n0123456789";
    if (!SendAll(fd, part, stopping)) return;
    // Give the client a moment to read the headers and the first bytes, so
    // the reset lands in the middle of the body rather than before the response.
    Pause(50, stopping);
    const linger hard{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    // The server's close(2) after this returns now sends RST instead of FIN.
  };
}

}  // namespace triage::testing

// Stopping a civetweb server without waiting out its accept poll.
//
// In civetweb 1.15 the master thread waits for new connections in poll() with
// a fixed timeout of two seconds, and looks at the stop flag only after that
// poll returns. CivetServer::close() sets the flag and then joins the master
// thread, so on an idle server it blocks for up to two seconds. That delays
// every shutdown of the exporter and the simulator, and every test that
// stops one. A connection to the server's own listening socket ends the poll
// at once; CloseCivetServer makes such connections while close() waits.
//
// Part of the server layer (docs/architecture.md): HTTP serving shared by the daemon and the simulator.
#pragma once

#include <sys/socket.h>

#include <string>

class CivetServer;

namespace triage {

// Fills `addr` for a numeric IPv4 or IPv6 `host` (no brackets) and `port`;
// an empty host is every IPv4 address. False when host is not numeric.
bool NumericSockaddr(const std::string& host, int port, sockaddr_storage* addr, socklen_t* len);

// Calls server.close() and, on a helper thread, connects to the listening
// socket every 20 ms until close() returns. `listen_address` is "host:port"
// (":9479", "127.0.0.1:0", "[::1]:9479") or a bare civetweb port ("8080");
// `port` is the port actually bound. A missing host and 0.0.0.0 are reached
// through 127.0.0.1, and [::] through ::1 or else 127.0.0.1. When the host is
// not a numeric address (a name such as localhost), or `port` is not
// positive, nothing is poked and close() takes its usual time.
void CloseCivetServer(CivetServer& server, const std::string& listen_address, int port);

}  // namespace triage

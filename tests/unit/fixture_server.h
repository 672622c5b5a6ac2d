// A loopback HTTP server that answers canned responses by path, for
// collector tests that need real API shapes (readiness JSON, cluster status,
// Kubernetes lists, metrics text). Responses can be changed while it runs;
// every request is recorded so a test can check what the exporter sent.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

class CivetServer;
class CivetHandler;

namespace triage::testing {

struct CannedResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

struct RecordedRequest {
  std::string method;
  std::string path;           // without the query
  std::string query;          // raw query string, "" when none
  std::string authorization;  // the Authorization header, "" when absent
};

class FixtureServer {
 public:
  FixtureServer();  // listens on 127.0.0.1, port 0
  ~FixtureServer();

  int port() const { return port_; }
  std::string Url(const std::string& path) const;

  // Answer `path` (exact, query ignored) with `r`; unknown paths get 404.
  void Set(const std::string& path, CannedResponse r);
  void SetJson(const std::string& path, int status, const std::string& body);
  // Reads tests/fixtures/<relative> into the body of `path`.
  void SetFixture(const std::string& path, int status, const std::string& relative,
                  const std::string& content_type = "application/json");

  std::vector<RecordedRequest> Requests() const;
  size_t RequestCount(const std::string& path) const;

 private:
  class Handler;
  CannedResponse Lookup(const RecordedRequest& req);

  mutable std::mutex mu_;
  std::map<std::string, CannedResponse> routes_;
  std::vector<RecordedRequest> requests_;
  std::unique_ptr<Handler> handler_;
  std::unique_ptr<CivetServer> server_;
  int port_ = 0;
};

// Contents of tests/fixtures/<relative>; fails the test when unreadable.
std::string ReadFixture(const std::string& relative);

}  // namespace triage::testing

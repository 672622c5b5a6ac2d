#include "tests/unit/fixture_server.h"

#include <CivetServer.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "server/civet_stop.h"

namespace triage::testing {

class FixtureServer::Handler : public CivetHandler {
 public:
  explicit Handler(FixtureServer* s) : s_(s) {}
  bool handleGet(CivetServer*, mg_connection* c) override { return Serve(c); }
  bool handlePost(CivetServer*, mg_connection* c) override { return Serve(c); }

 private:
  bool Serve(mg_connection* c) {
    const mg_request_info* ri = mg_get_request_info(c);
    RecordedRequest req;
    req.method = ri->request_method ? ri->request_method : "";
    req.path = ri->local_uri ? ri->local_uri : "";
    req.query = ri->query_string ? ri->query_string : "";
    if (const char* auth = mg_get_header(c, "Authorization")) req.authorization = auth;
    const CannedResponse r = s_->Lookup(req);
    std::string head = "HTTP/1.1 " + std::to_string(r.status) + " X\r\nContent-Type: " +
                       r.content_type + "\r\nContent-Length: " + std::to_string(r.body.size()) +
                       "\r\nConnection: close\r\n";
    for (const auto& [k, v] : r.headers) head += k + ": " + v + "\r\n";
    head += "\r\n";
    mg_write(c, head.data(), head.size());
    mg_write(c, r.body.data(), r.body.size());
    return true;
  }
  FixtureServer* s_;
};

FixtureServer::FixtureServer() : handler_(std::make_unique<Handler>(this)) {
  server_ = std::make_unique<CivetServer>(std::vector<std::string>{
      "listening_ports", "127.0.0.1:0", "num_threads", "4", "enable_keep_alive", "no"});
  server_->addHandler("", handler_.get());
  port_ = server_->getListeningPorts().front();
}

FixtureServer::~FixtureServer() {
  CloseCivetServer(*server_, "127.0.0.1:0", port_);
  server_.reset();
}

std::string FixtureServer::Url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void FixtureServer::Set(const std::string& path, CannedResponse r) {
  std::lock_guard<std::mutex> lock(mu_);
  routes_[path] = std::move(r);
}

void FixtureServer::SetJson(const std::string& path, int status, const std::string& body) {
  Set(path, CannedResponse{status, body, "application/json", {}});
}

void FixtureServer::SetFixture(const std::string& path, int status, const std::string& relative,
                               const std::string& content_type) {
  Set(path, CannedResponse{status, ReadFixture(relative), content_type, {}});
}

std::vector<RecordedRequest> FixtureServer::Requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

size_t FixtureServer::RequestCount(const std::string& path) const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const auto& r : requests_) n += r.path == path;
  return n;
}

CannedResponse FixtureServer::Lookup(const RecordedRequest& req) {
  std::lock_guard<std::mutex> lock(mu_);
  requests_.push_back(req);
  auto it = routes_.find(req.path);
  if (it == routes_.end()) return CannedResponse{404, "{\"error\":\"not found\"}", "application/json", {}};
  return it->second;
}

std::string ReadFixture(const std::string& relative) {
  const std::string path = std::string(TRIAGE_SOURCE_DIR) + "/tests/fixtures/" + relative;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read fixture " << path;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace triage::testing

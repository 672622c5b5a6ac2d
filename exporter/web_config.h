// --web.config.file: TLS and authentication for the exporter's own
// endpoints, in the format Prometheus exporters share (exporter-toolkit's
// tls_server_config and basic_auth_users with bcrypt hashes), plus
// bearer_token_file for scrapers that send a bearer token. Every endpoint
// but /-/healthy and /-/ready asks for the credentials. tls_server_config is read and
// checked here and served by TlsFront (tls_front.h).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "base/secret_file.h"

namespace triage {

enum class ClientAuth { kNone, kVerifyIfGiven, kRequireAndVerify };

struct WebTlsConfig {
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;  // empty: no client certificates asked for
  ClientAuth client_auth = ClientAuth::kNone;
  int min_version = 0;         // OpenSSL protocol version constant (TLS1_2_VERSION, ...)
};

struct WebConfig {
  std::string file;
  std::optional<WebTlsConfig> tls;
  std::map<std::string, std::string> basic_auth_users;  // user -> bcrypt hash
  std::shared_ptr<SecretFile> bearer_token;              // bearer_token_file; null: none

  bool RequiresAuth() const { return !basic_auth_users.empty() || bearer_token; }
};

// Reads and checks the file; throws ConfigError naming file, line and column.
WebConfig LoadWebConfigFile(const std::string& path);
WebConfig LoadWebConfigString(const std::string& text, const std::string& file);

// Checks the Authorization header of requests. Thread-safe.
class WebAuth {
 public:
  explicit WebAuth(std::shared_ptr<const WebConfig> config);

  // True when `authorization` (the header's value; null when absent) carries
  // credentials the configuration accepts, or when it asks for none.
  bool Allows(const char* authorization);
  // The WWW-Authenticate header line (with CRLF) of a 401.
  std::string Challenge() const;

 private:
  bool CheckBasic(std::string_view encoded);
  bool CheckBearer(std::string_view token);

  std::shared_ptr<const WebConfig> config_;
  // bcrypt is slow on purpose (tens of ms): credentials that passed once are
  // remembered by a SHA-256 of user and password, never in the clear.
  std::mutex mu_;
  std::set<std::string> verified_;
};

// Compares in time independent of where the strings differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace triage

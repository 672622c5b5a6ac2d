#include "exporter/web_config.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <strings.h>

#include <array>
#include <cstdio>
#include <vector>

#include "base/yaml_reader.h"

namespace triage {
namespace {

constexpr std::string_view kRealm = "triage_exporter";

struct Named {
  std::string_view name;
  int value;
};

constexpr std::array<Named, 4> kTlsVersions = {{{"TLS10", TLS1_VERSION},
                                                {"TLS11", TLS1_1_VERSION},
                                                {"TLS12", TLS1_2_VERSION},
                                                {"TLS13", TLS1_3_VERSION}}};

constexpr std::array<Named, 3> kClientAuth = {
    {{"NoClientCert", static_cast<int>(ClientAuth::kNone)},
     {"VerifyClientCertIfGiven", static_cast<int>(ClientAuth::kVerifyIfGiven)},
     {"RequireAndVerifyClientCert", static_cast<int>(ClientAuth::kRequireAndVerify)}}};

template <size_t N>
int Choose(MapReader& r, std::string_view key, std::string_view def,
           const std::array<Named, N>& choices) {
  const std::string v = r.String(key, def);
  std::string names;
  for (const auto& c : choices) {
    if (c.name == v) return c.value;
    names += (names.empty() ? "" : ", ") + std::string(c.name);
  }
  r.FailKey(key, "expected one of " + names + ", got " + QuoteForMessage(v));
}

void RequireReadable(MapReader& r, std::string_view key, const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) r.FailKey(key, "cannot read file " + QuoteForMessage(path));
  std::fclose(f);
}

bool IsBcryptHash(std::string_view h) {
  return h.size() == 60 && (h.substr(0, 4) == "$2a$" || h.substr(0, 4) == "$2b$" ||
                            h.substr(0, 4) == "$2y$");
}

std::optional<std::string> DecodeBase64(std::string_view in) {
  if (in.empty() || in.size() % 4 != 0 || in.size() > 4096) return std::nullopt;
  std::string out(in.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  if (n < 0) return std::nullopt;
  size_t pad = 0;
  while (pad < 2 && in[in.size() - 1 - pad] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

std::string Sha256(std::string_view a, std::string_view b) {
  std::string input(a);
  input += '\0';
  input += b;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(input.data(), input.size(), digest, &len, EVP_sha256(), nullptr);
  OPENSSL_cleanse(input.data(), input.size());
  return std::string(reinterpret_cast<char*>(digest), len);
}

bool StartsWithScheme(std::string_view value, std::string_view scheme, std::string_view* rest) {
  if (value.size() <= scheme.size() || value[scheme.size()] != ' ' ||
      strncasecmp(value.data(), scheme.data(), scheme.size()) != 0) {
    return false;
  }
  *rest = value.substr(scheme.size() + 1);
  while (!rest->empty() && rest->front() == ' ') rest->remove_prefix(1);
  while (!rest->empty() && rest->back() == ' ') rest->remove_suffix(1);
  return true;
}

}  // namespace

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

WebConfig LoadWebConfigString(const std::string& text, const std::string& file) {
  WebConfig c;
  c.file = file;
  const YAML::Node root = ParseSingleYamlDocument(text, file);
  if (!root.IsDefined() || root.IsNull()) return c;  // empty: no TLS, no authentication
  try {
    MapReader r(root, file, "web configuration");
    if (auto t = r.Map("tls_server_config")) {
      WebTlsConfig tls;
      tls.cert_file = ResolveConfigPath(file, t->RequiredString("cert_file"));
      tls.key_file = ResolveConfigPath(file, t->RequiredString("key_file"));
      RequireReadable(*t, "cert_file", tls.cert_file);
      RequireReadable(*t, "key_file", tls.key_file);
      tls.client_auth = static_cast<ClientAuth>(
          Choose(*t, "client_auth_type", "NoClientCert", kClientAuth));
      if (auto ca = t->OptionalString("client_ca_file")) {
        tls.client_ca_file = ResolveConfigPath(file, *ca);
        RequireReadable(*t, "client_ca_file", tls.client_ca_file);
      }
      if (tls.client_auth != ClientAuth::kNone && tls.client_ca_file.empty()) {
        t->FailKey("client_auth_type",
                   "verifying client certificates needs client_ca_file, the CA that signs them");
      }
      tls.min_version = Choose(*t, "min_version", "TLS12", kTlsVersions);
      t->Finish();
      c.tls = std::move(tls);
    }
    for (const auto& [user, hash] : r.StringMap("basic_auth_users")) {
      if (user.empty() || user.find(':') != std::string::npos) {
        r.FailKey("basic_auth_users", "user names must be non-empty and without ':', got " +
                                          QuoteForMessage(user));
      }
      if (!IsBcryptHash(hash)) {
        // The value is not echoed: it may be a password pasted by mistake.
        r.FailKey("basic_auth_users",
                  "the value of user " + QuoteForMessage(user) +
                      " is not a bcrypt hash; expected 60 characters starting with $2y$, $2b$ "
                      "or $2a$ (htpasswd -nBC 10 USER prints one)");
      }
      c.basic_auth_users[user] = hash;
    }
    if (auto path = r.OptionalString("bearer_token_file")) {
      c.bearer_token = std::make_shared<SecretFile>(ResolveConfigPath(file, *path));
      const std::string err = c.bearer_token->Load();
      if (!err.empty()) r.FailKey("bearer_token_file", err);
      if (c.bearer_token->Value().value_or("").empty()) {
        r.FailKey("bearer_token_file", "the file " + QuoteForMessage(c.bearer_token->path()) +
                                           " is empty; expected the token scrapers send");
      }
    }
    r.Finish();
  } catch (const YAML::Exception& e) {
    throw ConfigError(FormatConfigError(file, e.mark, e.msg));
  }
  return c;
}

WebConfig LoadWebConfigFile(const std::string& path) {
  return LoadWebConfigString(ReadConfigText(path), path);
}

WebAuth::WebAuth(std::shared_ptr<const WebConfig> config) : config_(std::move(config)) {}

std::string WebAuth::Challenge() const {
  const bool basic = config_ && !config_->basic_auth_users.empty();
  return std::string("WWW-Authenticate: ") + (basic ? "Basic" : "Bearer") + " realm=\"" +
         std::string(kRealm) + "\"\r\n";
}

bool WebAuth::Allows(const char* authorization) {
  if (!config_ || !config_->RequiresAuth()) return true;
  if (!authorization) return false;
  std::string_view rest;
  if (!config_->basic_auth_users.empty() && StartsWithScheme(authorization, "Basic", &rest)) {
    return CheckBasic(rest);
  }
  if (config_->bearer_token && StartsWithScheme(authorization, "Bearer", &rest)) {
    return CheckBearer(rest);
  }
  return false;
}

bool WebAuth::CheckBasic(std::string_view encoded) {
  auto decoded = DecodeBase64(encoded);
  if (!decoded) return false;
  const size_t colon = decoded->find(':');
  if (colon == std::string::npos) return false;
  const std::string user = decoded->substr(0, colon);
  const std::string password = decoded->substr(colon + 1);
  OPENSSL_cleanse(decoded->data(), decoded->size());
  const auto it = config_->basic_auth_users.find(user);
  if (it == config_->basic_auth_users.end()) return false;
  const std::string key = Sha256(user, password);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (verified_.count(key)) return true;
  }
  crypt_data data{};
  const char* hashed = crypt_r(password.c_str(), it->second.c_str(), &data);
  const bool ok = hashed && ConstantTimeEquals(hashed, it->second);
  OPENSSL_cleanse(&data, sizeof data);
  if (ok) {
    std::lock_guard<std::mutex> lock(mu_);
    if (verified_.size() >= 1024) verified_.clear();
    verified_.insert(key);
  }
  return ok;
}

bool WebAuth::CheckBearer(std::string_view token) {
  const auto want = config_->bearer_token->Value();
  return want && !want->empty() && ConstantTimeEquals(token, *want);
}

}  // namespace triage

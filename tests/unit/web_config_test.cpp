// --web.config.file: what it accepts and refuses, and how credentials are checked.
#include "exporter/web_config.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "base/yaml_reader.h"
#include "tests/unit/test_util.h"

namespace triage {
namespace {

using testing::TempDir;

// bcrypt (cost 4) of "correct horse".
constexpr char kHash[] = "$2b$04$1W0zW15g8MZGoiIoPt070OQ.nk/WVUcGz/x1GkzWFM11XRRwLfiZO";

std::string ErrorOf(const std::string& yaml, const std::string& file = "/tmp/web.yml") {
  const std::string error =
      testing::ConfigErrorFrom([&] { LoadWebConfigString(yaml, file); });
  if (error.empty()) ADD_FAILURE() << "loaded without an error:\n" << yaml;
  return error;
}

std::string Basic(const std::string& user_password) {
  // base64 by hand for the few inputs used here would be error-prone; use OpenSSL's.
  std::string out(4 * ((user_password.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(user_password.data()),
                                static_cast<int>(user_password.size()));
  out.resize(static_cast<size_t>(n));
  return "Basic " + out;
}

TEST(WebConfigTest, EmptyFileAsksForNothing) {
  const WebConfig c = LoadWebConfigString("", "web.yml");
  EXPECT_FALSE(c.tls);
  EXPECT_FALSE(c.RequiresAuth());
  WebAuth auth(std::make_shared<const WebConfig>(c));
  EXPECT_TRUE(auth.Allows(nullptr));
}

TEST(WebConfigTest, ReadsTlsUsersAndBearer) {
  TempDir dir;
  dir.Write("server.crt", "x");
  dir.Write("server.key", "x");
  dir.Write("ca.crt", "x");
  dir.Write("token", "s3cret\n");
  const std::string file = dir.path() + "/web.yml";
  const WebConfig c = LoadWebConfigString(
      "tls_server_config:\n"
      "  cert_file: server.crt\n"
      "  key_file: server.key\n"
      "  client_auth_type: RequireAndVerifyClientCert\n"
      "  client_ca_file: ca.crt\n"
      "  min_version: TLS13\n"
      "basic_auth_users:\n"
      "  prometheus: '" + std::string(kHash) + "'\n"
      "bearer_token_file: token\n",
      file);
  ASSERT_TRUE(c.tls);
  EXPECT_EQ(c.tls->cert_file, dir.path() + "/server.crt");  // relative to the web config
  EXPECT_EQ(c.tls->client_ca_file, dir.path() + "/ca.crt");
  EXPECT_EQ(c.tls->client_auth, ClientAuth::kRequireAndVerify);
  EXPECT_EQ(c.tls->min_version, TLS1_3_VERSION);
  EXPECT_EQ(c.basic_auth_users.at("prometheus"), kHash);
  ASSERT_TRUE(c.bearer_token);
  EXPECT_EQ(c.bearer_token->Value(), "s3cret");
}

TEST(WebConfigTest, TlsDefaultsToTls12WithoutClientCertificates) {
  TempDir dir;
  dir.Write("a.crt", "x");
  dir.Write("a.key", "x");
  const WebConfig c = LoadWebConfigString("tls_server_config: {cert_file: a.crt, key_file: a.key}\n",
                                          dir.path() + "/web.yml");
  ASSERT_TRUE(c.tls);
  EXPECT_EQ(c.tls->min_version, TLS1_2_VERSION);
  EXPECT_EQ(c.tls->client_auth, ClientAuth::kNone);
  EXPECT_FALSE(c.RequiresAuth());
}

TEST(WebConfigTest, RefusesWhatCannotWork) {
  TempDir dir;
  dir.Write("a.crt", "x");
  dir.Write("a.key", "x");
  dir.Write("empty", "\n");
  const std::string file = dir.path() + "/web.yml";
  EXPECT_NE(ErrorOf("tls_server_config: {cert_file: a.crt}\n", file).find("key_file"),
            std::string::npos);
  EXPECT_NE(ErrorOf("tls_server_config: {cert_file: nope.crt, key_file: a.key}\n", file)
                .find("cannot read file"),
            std::string::npos);
  EXPECT_NE(ErrorOf("tls_server_config: {cert_file: a.crt, key_file: a.key, "
                    "client_auth_type: RequireAndVerifyClientCert}\n",
                    file)
                .find("needs client_ca_file"),
            std::string::npos);
  EXPECT_NE(ErrorOf("tls_server_config: {cert_file: a.crt, key_file: a.key, "
                    "client_auth_type: RequireAnyClientCert}\n",
                    file)
                .find("expected one of NoClientCert, VerifyClientCertIfGiven, "
                      "RequireAndVerifyClientCert"),
            std::string::npos);
  EXPECT_NE(ErrorOf("bearer_token_file: empty\n", file).find("is empty"), std::string::npos);
  EXPECT_NE(ErrorOf("bearer_token_file: missing\n", file).find("cannot read"), std::string::npos);
  // An unknown key, with its place.
  const std::string typo = ErrorOf("basic_auth_user:\n  a: b\n", file);
  EXPECT_NE(typo.find("web.yml:1:1"), std::string::npos) << typo;
  EXPECT_NE(typo.find("basic_auth_user"), std::string::npos) << typo;
}

TEST(WebConfigTest, APasswordInsteadOfAHashIsNotEchoed) {
  const std::string err = ErrorOf("basic_auth_users:\n  prometheus: hunter2\n");
  EXPECT_NE(err.find("web.yml:2:"), std::string::npos) << err;
  EXPECT_NE(err.find("not a bcrypt hash"), std::string::npos) << err;
  EXPECT_EQ(err.find("hunter2"), std::string::npos) << err;
}

TEST(WebAuthTest, BasicAuthChecksTheBcryptHash) {
  auto c = std::make_shared<WebConfig>();
  c->basic_auth_users["prometheus"] = kHash;
  WebAuth auth(c);
  EXPECT_FALSE(auth.Allows(nullptr));
  EXPECT_TRUE(auth.Allows(Basic("prometheus:correct horse").c_str()));
  EXPECT_TRUE(auth.Allows(Basic("prometheus:correct horse").c_str()));  // remembered
  EXPECT_FALSE(auth.Allows(Basic("prometheus:correct hors").c_str()));
  EXPECT_FALSE(auth.Allows(Basic("prometheus:correct horsex").c_str()));
  EXPECT_FALSE(auth.Allows(Basic("someone:correct horse").c_str()));
  EXPECT_FALSE(auth.Allows(Basic("prometheus").c_str()));  // no colon
  EXPECT_FALSE(auth.Allows("Basic !!!not-base64!!!"));
  EXPECT_FALSE(auth.Allows("Basic"));
  EXPECT_FALSE(auth.Allows("Bearer correct horse"));  // no bearer configured
  EXPECT_TRUE(auth.Allows(("basic " + Basic("prometheus:correct horse").substr(6)).c_str()));
  EXPECT_NE(auth.Challenge().find("Basic realm=\"triage_exporter\""), std::string::npos);
}

TEST(WebAuthTest, BearerTokenComparesTheWholeToken) {
  TempDir dir;
  auto c = std::make_shared<WebConfig>();
  c->bearer_token = std::make_shared<SecretFile>(dir.Write("token", "s3cret\n"));
  ASSERT_EQ(c->bearer_token->Load(), "");
  WebAuth auth(c);
  EXPECT_TRUE(auth.Allows("Bearer s3cret"));
  EXPECT_FALSE(auth.Allows("Bearer s3cre"));
  EXPECT_FALSE(auth.Allows("Bearer s3crett"));
  EXPECT_FALSE(auth.Allows("Bearer "));
  EXPECT_FALSE(auth.Allows(Basic("x:s3cret").c_str()));
  EXPECT_NE(auth.Challenge().find("Bearer realm=\"triage_exporter\""), std::string::npos);
}

TEST(WebAuthTest, ConstantTimeEqualsIsEquality) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

}  // namespace
}  // namespace triage

// docs/configuration.md lists every key the parsers accept. The parsers are
// asked, not read: each map of a configuration (and of a web configuration)
// gets an unknown key, and the "allowed: ..." list of the error it draws is
// what that map accepts. Every allowed key must be a row of the reference
// under the headings that describe that map.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "base/yaml_reader.h"
#include "collectors/registry.h"
#include "exporter/config.h"
#include "exporter/web_config.h"
#include "tests/unit/test_util.h"

namespace triage {
namespace {

constexpr const char* kUnknown = "zz_not_a_key";

// Headings ("### `tls_config`" -> "tls_config", "### Top level" -> "Top
// level"): the first code span of a level-2 or level-3 heading, or its text
// when it has none, and the keys of the tables below it (the code
// span of each row's first cell), up to the next heading.
std::map<std::string, std::set<std::string>> ReferenceSections() {
  std::ifstream in(std::string(TRIAGE_SOURCE_DIR) + "/docs/configuration.md");
  std::map<std::string, std::set<std::string>> out;
  std::string line, section;
  auto code_span = [](const std::string& s) -> std::string {
    const size_t a = s.find('`');
    if (a == std::string::npos) return "";
    const size_t b = s.find('`', a + 1);
    return b == std::string::npos ? "" : s.substr(a + 1, b - a - 1);
  };
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0 || line.rfind("### ", 0) == 0) {
      section = code_span(line);
      if (section.empty()) section = line.substr(line.find(' ') + 1);
      out[section];
      continue;
    }
    if (section.empty() || line.rfind("| `", 0) != 0) continue;
    const std::string first = line.substr(1, line.find('|', 1) - 1);
    const std::string key = code_span(first);
    if (!key.empty()) out[section].insert(key);
  }
  return out;
}

// The keys named in "...; allowed: a, b, c" of an unknown-key error.
std::set<std::string> Allowed(const std::string& message) {
  const std::string marker = "; allowed: ";
  const size_t at = message.find(marker);
  EXPECT_NE(at, std::string::npos) << message;
  std::set<std::string> out;
  if (at == std::string::npos) return out;
  std::stringstream ss(message.substr(at + marker.size()));
  std::string key;
  while (std::getline(ss, key, ',')) {
    key.erase(0, key.find_first_not_of(' '));
    if (!key.empty()) out.insert(key);
  }
  return out;
}

// The message of the ConfigError `load(text, file)` throws.
template <typename Load>
std::string ErrorOf(Load load, const std::string& text, const std::string& file) {
  try {
    load(text, file);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(loaded without an error)";
}

std::string LoadError(const std::string& text, const std::string& file) {
  return ErrorOf(LoadConfigString, text, file);
}

std::string WebConfigError(const std::string& text, const std::string& file) {
  return ErrorOf(LoadWebConfigString, text, file);
}

class ConfigReferenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sections_ = ReferenceSections();
    ASSERT_FALSE(sections_.empty()) << "docs/configuration.md has no ### `...` headings";
    token_ = dir_.Write("token", "t0ken-for-the-reference-test\n");
    cert_ = dir_.Write("cert.pem", "not parsed at load\n");
    file_ = dir_.Write("config.yaml", "");
  }

  // Expects every key `message` allows to be listed under one of `headings`.
  void ExpectDocumented(const std::string& what, const std::string& message,
                        const std::vector<std::string>& headings) {
    ASSERT_NE(message.find("unknown key \"" + std::string(kUnknown) + "\""), std::string::npos)
        << what << ": expected the unknown-key error, got: " << message;
    std::set<std::string> documented;
    for (const auto& h : headings) {
      auto it = sections_.find(h);
      ASSERT_NE(it, sections_.end())
          << "docs/configuration.md has no heading with `" << h << "` (for " << what << ")";
      documented.insert(it->second.begin(), it->second.end());
    }
    for (const auto& key : Allowed(message)) {
      EXPECT_TRUE(documented.count(key))
          << what << " accepts `" << key << "`, which docs/configuration.md does not list under "
          << ::testing::PrintToString(headings);
    }
  }

  // A whole config whose probe of `kind` has the keys `probe_keys` (YAML
  // lines, indented by 8) and `extra` appended to the probe map.
  std::string WithProbe(const std::string& kind, const std::string& probe_keys) const {
    return "services:\n"
           "  - name: svc\n"
           "    probes:\n"
           "      - name: p\n"
           "        kind: " + kind + "\n"
           "        layer: liveness\n" + probe_keys;
  }

  std::map<std::string, std::set<std::string>> sections_;
  testing::TempDir dir_;
  std::string token_, cert_, file_;
};

// The kind's own keys, for a probe that loads (url, address, ...).
struct KindCase {
  std::string kind;
  std::string keys;                   // lines at indent 8
  std::vector<std::string> headings;  // besides "probes[]"
};

std::vector<KindCase> KindCases(const std::string& token) {
  const std::string http = "        url: http://127.0.0.1:1/x\n";
  const std::string client = "HTTP client keys";
  return {
      {"http", http, {"kind: http", client}},
      {"readiness", http, {"kind: readiness", client}},
      {"cluster", http + "        leader_pointer: /leader\n", {"kind: cluster", client}},
      {"scrape", http, {"kind: scrape", client}},
      {"tcp", "        address: 127.0.0.1:1\n", {"kind: tcp"}},
      {"kubernetes_pvc",
       "        namespace: ns\n        api_server: http://127.0.0.1:1\n"
       "        bearer_token_file: " + token + "\n",
       {"kind: kubernetes_pvc"}},
  };
}

TEST_F(ConfigReferenceTest, EveryKindIsTested) {
  std::set<std::string> tested;
  for (const auto& c : KindCases(token_)) tested.insert(c.kind);
  for (const auto& k : CollectorKinds()) {
    EXPECT_TRUE(tested.count(std::string(k.name))) << "kind " << k.name << " has no case here";
  }
}

TEST_F(ConfigReferenceTest, TopLevelGlobalAndServiceKeys) {
  const std::string probe = "      - {name: p, kind: tcp, layer: liveness, address: 127.0.0.1:1}\n";
  ExpectDocumented("the top level",
                   LoadError(std::string(kUnknown) + ": 1\nservices:\n  - name: s\n    probes:\n" +
                                   probe, file_),
                   {"Top level"});
  ExpectDocumented("global",
                   LoadError("global:\n  " + std::string(kUnknown) +
                                   ": 1\nservices:\n  - name: s\n    probes:\n" + probe, file_),
                   {"global"});
  ExpectDocumented("a service",
                   LoadError("services:\n  - name: s\n    " + std::string(kUnknown) +
                                   ": 1\n    probes:\n" + probe, file_),
                   {"services[]"});
}

TEST_F(ConfigReferenceTest, ProbeKeysOfEveryKind) {
  for (const auto& c : KindCases(token_)) {
    std::vector<std::string> headings = c.headings;
    headings.push_back("probes[]");
    ExpectDocumented("a probe of kind " + c.kind,
                     LoadError(WithProbe(c.kind, c.keys + "        " + kUnknown + ": 1\n"), file_),
                     headings);
  }
}

TEST_F(ConfigReferenceTest, NestedMapsOfTheHttpClient) {
  const std::string http = "        url: http://127.0.0.1:1/x\n";
  ExpectDocumented("authorization",
                   LoadError(WithProbe("http", http + "        authorization: {credentials_file: " +
                                                     token_ + ", " + kUnknown + ": 1}\n"), file_),
                   {"authorization"});
  ExpectDocumented("basic_auth",
                   LoadError(WithProbe("http", http + "        basic_auth: {username: u, "
                                                     "password_file: " + token_ + ", " + kUnknown +
                                                     ": 1}\n"), file_),
                   {"basic_auth"});
  ExpectDocumented("tls_config (http)",
                   LoadError(WithProbe("http", http + "        tls_config: {" +
                                                     std::string(kUnknown) + ": 1}\n"), file_),
                   {"tls_config"});
  ExpectDocumented("tls_config (tcp)",
                   LoadError(WithProbe("tcp", "        address: 127.0.0.1:1\n        tls: true\n"
                                                "        tls_config: {" + std::string(kUnknown) +
                                                ": 1}\n"), file_),
                   {"tls_config"});
}

TEST_F(ConfigReferenceTest, WebConfigurationKeys) {
  ExpectDocumented("the web configuration",
                   WebConfigError(std::string(kUnknown) + ": 1\n", file_), {"Web configuration"});
  ExpectDocumented("tls_server_config",
                   WebConfigError("tls_server_config:\n  cert_file: " + cert_ + "\n  key_file: " +
                                      cert_ + "\n  " + kUnknown + ": 1\n", file_),
                   {"tls_server_config"});
}

}  // namespace
}  // namespace triage

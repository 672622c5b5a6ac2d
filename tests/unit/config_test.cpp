// Configuration loading: defaults, label prefixes, and one test per class of
// error, each checking the exact FILE:LINE:COLUMN and the words that matter.
#include "exporter/config.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/duration.h"
#include "tests/unit/test_util.h"

namespace triage {
namespace {

using std::chrono::milliseconds;

std::string Fixture(const std::string& name) {
  return std::string(TRIAGE_SOURCE_DIR) + "/tests/fixtures/config/" + name;
}

// Loads `fixture`, expecting a ConfigError; returns its message.
std::string LoadError(const std::string& fixture) {
  try {
    LoadConfigFile(Fixture(fixture));
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << fixture << " loaded without an error";
  return "";
}

std::string LoadStringError(const std::string& text) {
  return testing::ExpectConfigError(text, "inline.yaml");
}


// Checks that `message` starts with "<fixture path>:<where>: " and contains every word.
void ExpectErrorAt(const std::string& fixture, const std::string& where,
                   const std::vector<std::string>& words) {
  const std::string message = LoadError(fixture);
  const std::string prefix = Fixture(fixture) + ":" + where + ": ";
  EXPECT_EQ(message.substr(0, prefix.size()), prefix) << message;
  for (const auto& w : words) {
    EXPECT_NE(message.find(w), std::string::npos) << "missing \"" << w << "\" in: " << message;
  }
}

// --- valid configuration ----------------------------------------------------

TEST(ConfigTest, ValidFileLoadsWithDefaultsAndLabelPrefix) {
  const Config cfg = LoadConfigFile(Fixture("valid.yaml"));
  EXPECT_EQ(cfg.file, Fixture("valid.yaml"));
  EXPECT_EQ(cfg.global.interval, milliseconds(20000));
  EXPECT_EQ(cfg.global.timeout, milliseconds(4000));
  EXPECT_EQ(cfg.global.max_in_flight, 64);
  EXPECT_EQ(cfg.global.runbook_base_url, "https://runbooks.example.com/triage/");

  ASSERT_EQ(cfg.services.size(), 2u);
  EXPECT_EQ(cfg.services[0].name, "echo");
  const std::vector<std::pair<std::string, std::string>> labels = {
      {"team", "platform"}, {"cluster_id", "prod-eu-1"}};
  EXPECT_EQ(cfg.services[0].labels, labels);
  EXPECT_EQ(cfg.services[1].name, "billing.v2");
  EXPECT_TRUE(cfg.services[1].labels.empty());

  ASSERT_EQ(cfg.probes.size(), 4u);
  const ProbeCommon& health = cfg.probes[0]->common();
  EXPECT_EQ(health.service, "echo");
  EXPECT_EQ(health.name, "health");
  EXPECT_EQ(health.kind, "http");
  EXPECT_EQ(health.layer, Layer::kLiveness);
  EXPECT_EQ(health.interval, milliseconds(20000));  // global.interval
  EXPECT_EQ(health.timeout, milliseconds(4000));    // global.timeout
  EXPECT_EQ(health.label_prefix,
            "service=\"echo\",probe=\"health\",team=\"platform\",cluster_id=\"prod-eu-1\"");

  const ProbeCommon& api = cfg.probes[1]->common();
  EXPECT_EQ(api.name, "api");
  EXPECT_EQ(api.layer, Layer::kTraffic);
  EXPECT_EQ(api.interval, milliseconds(10000));
  EXPECT_EQ(api.timeout, milliseconds(2000));

  // Interval shorter than global.timeout and no timeout given: the timeout
  // shrinks to the interval.
  const ProbeCommon& ready = cfg.probes[2]->common();
  EXPECT_EQ(ready.layer, Layer::kReadiness);
  EXPECT_EQ(ready.interval, milliseconds(3000));
  EXPECT_EQ(ready.timeout, milliseconds(3000));

  const ProbeCommon& db = cfg.probes[3]->common();
  EXPECT_EQ(db.service, "billing.v2");
  EXPECT_EQ(db.name, "db-check");
  EXPECT_EQ(db.layer, Layer::kDependency);
  EXPECT_EQ(db.label_prefix, "service=\"billing.v2\",probe=\"db-check\"");
}

TEST(ConfigTest, GlobalDefaultsApplyWhenGlobalIsAbsent) {
  const Config cfg = LoadConfigString(
      "services:\n"
      "  - name: echo\n"
      "    probes:\n"
      "      - {name: api, kind: http, layer: telemetry, url: 'http://echo/metrics'}\n",
      "inline.yaml");
  EXPECT_EQ(cfg.global.interval, milliseconds(15000));
  EXPECT_EQ(cfg.global.timeout, milliseconds(5000));
  EXPECT_EQ(cfg.global.max_in_flight, 512);
  EXPECT_EQ(cfg.global.runbook_base_url, "http://localhost:9479/runbooks/");
  ASSERT_EQ(cfg.probes.size(), 1u);
  EXPECT_EQ(cfg.probes[0]->common().layer, Layer::kTelemetry);
  EXPECT_EQ(cfg.probes[0]->common().interval, milliseconds(15000));
  EXPECT_EQ(cfg.probes[0]->common().timeout, milliseconds(5000));
}

// --- one test per error class -------------------------------------------------

// yaml-cpp 0.7's LoadAll never returns on a lone "," (it allocates until
// memory runs out, found by tests/fuzz): the loader must refuse it at once.
TEST(ConfigTest, LoneCommaIsRefusedNotEndless) {
  for (const char* text : {",", ",can\xb0Lok", ",\n,\n"}) {
    const std::string message = LoadStringError(text);
    EXPECT_NE(message.find("inline.yaml"), std::string::npos) << message;
  }
}

TEST(ConfigTest, SecondDocumentIsRefusedWhereItStarts) {
  const std::string one = "services:\n  - name: a\n    probes:\n"
                          "      - {name: p, kind: tcp, layer: dependency, address: \"127.0.0.1:1\"}\n";
  const std::string message = LoadStringError(one + "---\n---\nservices: []\n");
  EXPECT_NE(message.find("inline.yaml:7:1: a second YAML document starts here"), std::string::npos)
      << message;
  // Empty documents after the first are allowed, as before.
  EXPECT_NO_THROW(LoadConfigString(one + "---\n---\n", "inline.yaml"));
}

TEST(ConfigTest, UnknownTopLevelKey) {
  ExpectErrorAt("unknown_top_key.yaml", "3:1",
                {"unknown key \"service\" in the top level", "did you mean \"services\"",
                 "allowed: global, services"});
}

TEST(ConfigTest, UnknownProbeKey) {
  ExpectErrorAt("unknown_probe_key.yaml", "8:9",
                {"unknown key \"timout\" in probe \"api\" of service \"echo\"",
                 "did you mean \"timeout\"", "; allowed: ", "interval", "kind", "layer",
                 "name", "timeout", "url"});
}

TEST(ConfigTest, WrongTypeForMaxInFlight) {
  ExpectErrorAt("wrong_type.yaml", "2:18",
                {"\"max_in_flight\" in global", "expected an integer from 1 to 100000",
                 "got \"lots\""});
}

TEST(ConfigTest, BadDuration) {
  ExpectErrorAt("bad_duration.yaml", "7:19",
                {"\"interval\" in probe \"api\" of service \"echo\"",
                 "expected a duration like 15s or 500ms, got \"fast\""});
}

TEST(ConfigTest, ZeroInterval) {
  ExpectErrorAt("zero_interval.yaml", "2:13",
                {"\"interval\" in global", "greater than zero", "got \"0s\""});
}

TEST(ConfigTest, TimeoutExceedsInterval) {
  ExpectErrorAt("timeout_exceeds_interval.yaml", "8:18",
                {"\"timeout\" in probe \"api\" of service \"echo\"",
                 "a probe's timeout must not exceed its interval", "at most 10s", "got \"30s\""});
}

TEST(ConfigTest, DuplicateService) {
  ExpectErrorAt("duplicate_service.yaml", "5:11",
                {"duplicate service name \"echo\"", "first defined at line 2"});
}

TEST(ConfigTest, DuplicateProbe) {
  ExpectErrorAt("duplicate_probe.yaml", "8:15",
                {"duplicate probe name \"api\" in service \"echo\"", "first defined at line 4"});
}

TEST(ConfigTest, UnknownKind) {
  ExpectErrorAt("unknown_kind.yaml", "5:15",
                {"unknown kind \"ftp\" in probe \"api\" of service \"echo\"", "known kinds:",
                 "http"});
}

TEST(ConfigTest, UnknownLayer) {
  ExpectErrorAt("unknown_layer.yaml", "6:16",
                {"\"layer\" in probe \"api\" of service \"echo\"",
                 "expected one of liveness, readiness, dependency, traffic, telemetry",
                 "got \"traffik\""});
}

TEST(ConfigTest, ReservedLabel) {
  ExpectErrorAt("reserved_label.yaml", "5:7",
                {"reserved label name \"instance\"", "labels of service \"echo\""});
}

TEST(ConfigTest, InvalidLabelName) {
  ExpectErrorAt("invalid_label_name.yaml", "3:30",
                {"invalid label name \"cluster-id\"", "labels of service \"echo\"",
                 "letters, digits and '_'"});
}

TEST(ConfigTest, YamlSyntaxError) {
  ExpectErrorAt("syntax_error.yaml", "5:8", {"invalid YAML", "expected well-formed YAML"});
}

TEST(ConfigTest, DuplicateMapKey) {
  ExpectErrorAt("duplicate_key.yaml", "8:9",
                {"duplicate key \"layer\" in probe \"api\" of service \"echo\"", "first given at line 6",
                 "expected each key at most once"});
}

TEST(ConfigTest, MissingFile) {
  const std::string path = Fixture("does_not_exist.yaml");
  try {
    LoadConfigFile(path);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), path + ": cannot read: No such file or directory");
  }
}

TEST(ConfigTest, MissingServices) {
  ExpectErrorAt("missing_services.yaml", "1:1",
                {"missing required key \"services\" in the top level",
                 "expected a non-empty list of services"});
}

TEST(ConfigTest, EmptyFile) {
  ExpectErrorAt("empty.yaml", "1:1", {"the configuration is empty", "\"services\""});
}

// --- smaller cases, inline ---------------------------------------------------

TEST(ConfigTest, EmptyServicesList) {
  const std::string m = LoadStringError("global: {interval: 10s}\nservices: []\n");
  EXPECT_EQ(m.rfind("inline.yaml:2:11: ", 0), 0u) << m;
  EXPECT_NE(m.find("got an empty list"), std::string::npos) << m;
}

TEST(ConfigTest, RunbookBaseUrlWithoutTrailingSlash) {
  const std::string services =
      "services:\n"
      "  - name: echo\n"
      "    probes:\n"
      "      - {name: api, kind: http, layer: telemetry, url: 'http://echo/metrics'}\n";
  const std::string msg = LoadStringError(
      "global:\n  runbook_base_url: http://localhost:9479/runbooks\n" + services);
  EXPECT_EQ(msg.rfind("inline.yaml:2:21: ", 0), 0u) << msg;
  EXPECT_NE(msg.find("\"runbook_base_url\" in global"), std::string::npos) << msg;
  EXPECT_NE(msg.find("must end with /"), std::string::npos) << msg;
  // Like every runbook_base_url error, the value itself is not echoed.
  EXPECT_EQ(msg.find("localhost:9479/runbooks"), std::string::npos) << msg;
  // With the slash, and with only a host and its slash, it loads.
  EXPECT_EQ(LoadConfigString("global:\n  runbook_base_url: http://localhost:9479/runbooks/\n" +
                                 services, "inline.yaml")
                .global.runbook_base_url,
            "http://localhost:9479/runbooks/");
  EXPECT_EQ(LoadConfigString("global: {runbook_base_url: 'https://rb.example.com/'}\n" + services,
                             "inline.yaml")
                .global.runbook_base_url,
            "https://rb.example.com/");
}

TEST(ConfigTest, GlobalTimeoutAboveGlobalInterval) {
  const std::string m = LoadStringError("global:\n  interval: 5s\n  timeout: 6s\nservices: []\n");
  EXPECT_EQ(m.rfind("inline.yaml:3:12: ", 0), 0u) << m;
  EXPECT_NE(m.find("must not exceed the interval"), std::string::npos) << m;
}

TEST(ConfigTest, ShortGlobalIntervalShrinksDefaultTimeout) {
  const Config cfg = LoadConfigString(
      "global: {interval: 2s}\n"
      "services:\n"
      "  - {name: a, probes: [{name: b, kind: http, layer: liveness, url: 'http://a/'}]}\n",
      "inline.yaml");
  EXPECT_EQ(cfg.global.timeout, milliseconds(2000));
  EXPECT_EQ(cfg.probes.at(0)->common().timeout, milliseconds(2000));
}

TEST(ConfigTest, MissingRequiredProbeKey) {
  const std::string m = LoadStringError(
      "services:\n"
      "  - name: echo\n"
      "    probes:\n"
      "      - name: api\n"
      "        url: http://echo/\n");
  EXPECT_EQ(m.rfind("inline.yaml:4:9: ", 0), 0u) << m;
  EXPECT_NE(m.find("missing required key \"kind\" in probe \"api\" of service \"echo\""),
            std::string::npos)
      << m;
}

TEST(ConfigTest, BadNameCharacters) {
  const std::string m = LoadStringError(
      "services:\n"
      "  - name: my service\n"
      "    probes: [{name: a, kind: http, layer: liveness, url: 'http://a/'}]\n");
  EXPECT_EQ(m.rfind("inline.yaml:2:11: ", 0), 0u) << m;
  EXPECT_NE(m.find("\"name\" in service #1"), std::string::npos) << m;
  EXPECT_NE(m.find("got \"my service\""), std::string::npos) << m;
}

TEST(ConfigTest, WrongTypeForBoolAndIntList) {
  std::string m = LoadStringError(
      "services:\n"
      "  - name: e\n"
      "    probes:\n"
      "      - {name: a, kind: http, layer: liveness, url: 'http://a/', keep_alive: maybe}\n");
  EXPECT_EQ(m.rfind("inline.yaml:4:78: ", 0), 0u) << m;
  EXPECT_NE(m.find("expected true or false, got \"maybe\""), std::string::npos) << m;

  m = LoadStringError(
      "services:\n"
      "  - name: e\n"
      "    probes:\n"
      "      - name: a\n"
      "        kind: http\n"
      "        layer: liveness\n"
      "        url: http://a/\n"
      "        valid_status_codes: [200, ok]\n");
  EXPECT_EQ(m.rfind("inline.yaml:8:35: ", 0), 0u) << m;
  EXPECT_NE(m.find("expected a list of integers"), std::string::npos) << m;
}

TEST(ConfigTest, EmptyValuePointsAtItsKey) {
  const std::string m = LoadStringError(
      "global:\n"
      "  interval:\n"
      "services: []\n");
  EXPECT_EQ(m.rfind("inline.yaml:2:3: ", 0), 0u) << m;
  EXPECT_NE(m.find("got an empty value"), std::string::npos) << m;
}

TEST(ConfigTest, SecondDocumentIsAnError) {
  const std::string m = LoadStringError("services: []\n---\nglobal: {}\n");
  EXPECT_EQ(m.rfind("inline.yaml:3:1: ", 0), 0u) << m;
  EXPECT_NE(m.find("single document"), std::string::npos) << m;
}

TEST(ConfigTest, LabelNames) {
  EXPECT_TRUE(IsValidLabelName("team"));
  EXPECT_TRUE(IsValidLabelName("_x9"));
  EXPECT_FALSE(IsValidLabelName(""));
  EXPECT_FALSE(IsValidLabelName("9x"));
  EXPECT_FALSE(IsValidLabelName("a-b"));
  EXPECT_FALSE(IsValidLabelName("__name"));
  for (const char* r : {"service", "probe", "job", "instance", "code", "error_code", "reason",
                        "result", "phase", "le", "check", "metric", "namespace",
                        "persistentvolumeclaim", "follower", "kind", "layer", "version",
                        "revision", "__anything"}) {
    EXPECT_TRUE(IsReservedLabelName(r)) << r;
  }
  EXPECT_FALSE(IsReservedLabelName("team"));
}

TEST(ConfigTest, HttpUrls) {
  std::string why;
  EXPECT_TRUE(IsValidHttpUrl("http://echo:8081/health", &why)) << why;
  EXPECT_TRUE(IsValidHttpUrl("https://[::1]:8443/x?y=1", &why)) << why;
  EXPECT_TRUE(IsValidHttpUrl("HTTP://echo/", &why)) << why;
  EXPECT_FALSE(IsValidHttpUrl("", &why));
  EXPECT_FALSE(IsValidHttpUrl("echo:8081/health", &why));
  EXPECT_NE(why.find("scheme"), std::string::npos) << why;
  EXPECT_FALSE(IsValidHttpUrl("ftp://echo/file", &why));
  EXPECT_NE(why.find("ftp"), std::string::npos) << why;
  EXPECT_FALSE(IsValidHttpUrl("http:///path", &why));
  EXPECT_FALSE(IsValidHttpUrl("http://exa mple/", &why));
  EXPECT_TRUE(IsValidHttpUrl("http://a/", nullptr));
}

// --- durations ----------------------------------------------------------------

TEST(DurationRoundTripTest, ParsesUnits) {
  EXPECT_EQ(ParseDuration("500ms"), milliseconds(500));
  EXPECT_EQ(ParseDuration("15s"), milliseconds(15000));
  EXPECT_EQ(ParseDuration("2m"), milliseconds(120000));
  EXPECT_EQ(ParseDuration("1h30m"), milliseconds(5400000));
  EXPECT_EQ(ParseDuration("1d"), milliseconds(86400000));
  EXPECT_EQ(ParseDuration("1w"), milliseconds(604800000));
  EXPECT_EQ(ParseDuration("0s"), milliseconds(0));
}

TEST(DurationRoundTripTest, RejectsMalformed) {
  for (const char* bad : {"", "15", "fast", "1.5s", "-1s", "1s1m", "1s1s", "s", "10 s", "1y",
                          "99999999999999999999s"}) {
    EXPECT_FALSE(ParseDuration(bad).has_value()) << bad;
  }
}

TEST(DurationRoundTripTest, FormatThenParseIsIdentity) {
  for (int64_t ms : {0LL, 1LL, 250LL, 1000LL, 1500LL, 60000LL, 90000LL, 3600000LL, 5400000LL,
                     86400000LL, 604800000LL, 694861001LL}) {
    const std::string text = FormatDuration(milliseconds(ms));
    const auto back = ParseDuration(text);
    ASSERT_TRUE(back.has_value()) << text;
    EXPECT_EQ(back->count(), ms) << text;
  }
  EXPECT_EQ(FormatDuration(milliseconds(90000)), "1m30s");
  EXPECT_EQ(FormatDuration(milliseconds(250)), "250ms");
  EXPECT_EQ(FormatDuration(milliseconds(0)), "0s");
}

TEST(DurationRoundTripTest, ParseThenFormatIsCanonical) {
  for (const char* s : {"15s", "1h30m", "1w1d1h1m1s1ms", "250ms"}) {
    EXPECT_EQ(FormatDuration(*ParseDuration(s)), s);
  }
  EXPECT_EQ(FormatDuration(*ParseDuration("90s")), "1m30s");
}

}  // namespace
}  // namespace triage

namespace triage {
namespace {

std::string HttpProbeError(const std::string& probe_keys) {
  return testing::ExpectConfigError("services:\n  - name: echo\n    probes:\n      - name: api\n"
                                    "        kind: http\n        layer: traffic\n" + probe_keys,
                                    "http.yaml");
}

TEST(ConfigHttpTest, CredentialsInUrlAreRejectedWithoutEchoingThem) {
  const std::string msg = HttpProbeError("        url: http://user:hunter2pass@127.0.0.1:1/x\n");
  EXPECT_NE(msg.find("http.yaml:7:14:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("credentials in the URL"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("hunter2pass"), std::string::npos) << msg;
}

TEST(ConfigHttpTest, AuthorizationHeaderIsRejected) {
  const std::string msg = HttpProbeError(
      "        url: http://127.0.0.1:1/x\n        headers: {Authorization: Bearer abc}\n");
  EXPECT_NE(msg.find("http.yaml:8:18:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("credentials_file"), std::string::npos) << msg;
}

TEST(ConfigHttpTest, MissingCredentialsFileNamesThePath) {
  const std::string msg = HttpProbeError(
      "        url: http://127.0.0.1:1/x\n"
      "        authorization: {credentials_file: /nonexistent/token}\n");
  EXPECT_NE(msg.find("http.yaml:8:43:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("/nonexistent/token"), std::string::npos) << msg;
}

TEST(ConfigHttpTest, BadJsonPointerAndUnknownMethod) {
  EXPECT_NE(HttpProbeError("        url: http://127.0.0.1:1/x\n        error_code_pointer: code\n")
                .find("JSON Pointer"),
            std::string::npos);
  EXPECT_NE(HttpProbeError("        url: http://127.0.0.1:1/x\n        method: FETCH\n")
                .find("unknown method"),
            std::string::npos);
}

TEST(ConfigHttpTest, NonHttpSchemeIsRejected) {
  const std::string msg = HttpProbeError("        url: ftp://127.0.0.1/x\n");
  EXPECT_NE(msg.find("http.yaml:7:14:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected http or https"), std::string::npos) << msg;
}

}  // namespace
}  // namespace triage

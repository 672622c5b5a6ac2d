// The runbooks served by the exporter (exporter/runbook_pages.cpp and the
// /runbooks/ endpoint of exporter/web.cpp): an App on 127.0.0.1:0 probes a
// FixtureServer, and the tests read the pages as a browser would.
#include "exporter/runbook_pages.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "exporter/app.h"
#include "tests/unit/fixture_server.h"
#include "tests/unit/test_util.h"

namespace triage {
namespace {

using std::chrono::seconds;
using testing::CannedResponse;
using testing::FixtureServer;
using testing::HttpGet;
using testing::HttpReply;
using testing::TempDir;
using testing::WaitFor;

constexpr const char* kSourceDir = TRIAGE_SOURCE_DIR;
constexpr const char* kBase = "http://localhost:9479/runbooks/";

using testing::Contains;
using testing::Count;

// The status line's code of a request sent byte for byte as given (no client
// normalises the path), 0 when nothing came back.
int RawGetStatus(int port, const std::string& target) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int status = 0;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string req = "GET " + target + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (send(fd, req.data(), req.size(), 0) == static_cast<ssize_t>(req.size())) {
      char buf[64] = {};
      const ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
      if (n > 12 && std::string(buf, 5) == "HTTP/") status = std::atoi(buf + 9);
    }
  }
  close(fd);
  return status;
}

// The runbook files of the tree, sorted.
std::vector<std::string> RunbookFilesOnDisk() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(std::string(kSourceDir) + "/runbooks")) {
    const std::string name = e.path().filename().string();
    if (name.size() > 3 && name.substr(name.size() - 3) == ".md") out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// One fixture target and one App for the whole suite.
class RunbookPagesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    target_ = new FixtureServer();
    target_->Set("/health", CannedResponse{200, "ok\n", "text/plain", {}});
    target_->SetJson("/api", 401, R"({"code":"unauthorized"})");
    dir_ = new TempDir();
    const std::string config =
        "global:\n"
        "  interval: 300ms\n"
        "  timeout: 300ms\n"
        "services:\n"
        "  - name: web\n"
        "    labels:\n"
        "      cluster_id: \"<script>alert(1)</script>\"\n"
        "      quote: 'say \"hi\" & <b>bye</b>'\n"
        "    probes:\n"
        "      - {name: health, kind: http, layer: liveness, url: \"" + target_->Url("/health") + "\"}\n"
        "      - {name: api, kind: http, layer: traffic, url: \"" + target_->Url("/api") + "\",\n"
        "         valid_status_codes: [200], error_code_pointer: /code}\n";
    app_ = new App(AppOptions{dir_->Write("config.yaml", config), "127.0.0.1:0"});
    app_->Start();
    // Both probes have run at least twice.
    WaitFor(
        [] {
          const HttpReply m = Get("/metrics");
          return testing::SampleValue(m.body, "triage_probes_total",
                                      {"probe=\"health\"", "result=\"success\""})
                         .value_or(0) >= 2 &&
                 testing::SampleValue(m.body, "triage_probes_total",
                                      {"probe=\"api\"", "result=\"failure\""})
                         .value_or(0) >= 2;
        },
        seconds(20));
  }
  static void TearDownTestSuite() {
    app_->Stop();
    delete app_;
    delete dir_;
    delete target_;
  }
  static HttpReply Get(const std::string& path) {
    return HttpGet("http://127.0.0.1:" + std::to_string(app_->port()) + path, seconds(10));
  }

  static FixtureServer* target_;
  static TempDir* dir_;
  static App* app_;
};

FixtureServer* RunbookPagesTest::target_ = nullptr;
TempDir* RunbookPagesTest::dir_ = nullptr;
App* RunbookPagesTest::app_ = nullptr;

TEST_F(RunbookPagesTest, IndexListsEveryRunbookFileWithTitleAndAlerts) {
  const HttpReply r = Get("/runbooks/");
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  const auto files = RunbookFilesOnDisk();
  ASSERT_GE(files.size(), 2u);
  for (const auto& f : files) {
    EXPECT_TRUE(Contains(r.body, "<a href=\"" + f + "\">" + f + "</a>")) << f;
  }
  EXPECT_TRUE(Contains(r.body, "<td>HTTP status and transport alerts</td>")) << r.body;
  for (const auto& a : EmbeddedAlerts()) {
    EXPECT_TRUE(Contains(r.body, "<a href=\"" + a.file + "#" + a.anchor + "\">" + a.name + "</a>"))
        << a.name;
  }
  // /runbooks redirects to the list, so relative links resolve under /runbooks/.
  EXPECT_EQ(RawGetStatus(app_->port(), "/runbooks"), 301);
}

TEST_F(RunbookPagesTest, EveryAlertHasItsAnchorAndANowBoxOnItsPage) {
  ASSERT_GE(EmbeddedAlerts().size(), 30u);
  std::map<std::string, std::string> pages;
  for (const auto& a : EmbeddedAlerts()) {
    if (!pages.count(a.file)) {
      const HttpReply r = Get("/runbooks/" + a.file);
      ASSERT_EQ(r.status, 200) << a.file << " " << r.error;
      EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
      pages[a.file] = r.body;
    }
    const std::string& page = pages[a.file];
    const std::string heading = "<h2 id=\"" + a.anchor + "\">" + a.name + "</h2>\n";
    EXPECT_EQ(Count(page, "id=\"" + a.anchor + "\""), 1u) << a.name;
    const size_t at = page.find(heading);
    ASSERT_NE(at, std::string::npos) << a.name;
    // The Now box comes right after the heading.
    EXPECT_EQ(page.compare(at + heading.size(), 17, "<div class=\"now\">"), 0)
        << a.name << ": " << page.substr(at, 300);
    const std::string box = page.substr(at, page.find("</div>", at) - at);
    for (const auto& family : a.reads) {
      EXPECT_TRUE(Contains(box, "<code>" + family + "</code>")) << a.name << " " << family;
    }
  }
}

TEST_F(RunbookPagesTest, EveryRunbookUrlOfTheRuleFileResolvesToItsSection) {
  const YAML::Node rules = YAML::LoadFile(std::string(kSourceDir) + "/alerts/triage.rules.yaml");
  std::set<std::string> urls;
  for (const auto& group : rules["groups"]) {
    for (const auto& rule : group["rules"]) {
      if (rule["annotations"] && rule["annotations"]["runbook_url"]) {
        urls.insert(rule["annotations"]["runbook_url"].as<std::string>());
      }
    }
  }
  ASSERT_GE(urls.size(), 30u);
  for (const auto& url : urls) {
    ASSERT_EQ(url.rfind(kBase, 0), 0u) << url;
    const std::string rest = url.substr(std::string(kBase).size());
    const size_t hash = rest.find('#');
    ASSERT_NE(hash, std::string::npos) << url;
    const HttpReply r = Get("/runbooks/" + rest.substr(0, hash));
    ASSERT_EQ(r.status, 200) << url;
    EXPECT_TRUE(Contains(r.body, "<h2 id=\"" + rest.substr(hash + 1) + "\">")) << url;
  }
}

TEST_F(RunbookPagesTest, RelativeLinksBetweenRunbooksResolve) {
  const std::regex link("href=\"([A-Za-z0-9_.-]+\\.md)?(#[^\"]*)?\"");
  size_t checked = 0;
  std::map<std::string, std::string> pages;
  auto page = [&](const std::string& name) -> const std::string& {
    if (!pages.count(name)) pages[name] = Get("/runbooks/" + name).body;
    return pages[name];
  };
  for (const auto& file : RunbookFilesOnDisk()) {
    const std::string body = page(file);
    for (auto it = std::sregex_iterator(body.begin(), body.end(), link);
         it != std::sregex_iterator(); ++it) {
      const std::string target = (*it)[1].matched ? (*it)[1].str() : file;
      const std::string fragment = (*it)[2].matched ? (*it)[2].str().substr(1) : "";
      if (!(*it)[1].matched && fragment.empty()) continue;
      const HttpReply r = Get("/runbooks/" + target);
      ASSERT_EQ(r.status, 200) << file << " links to " << target;
      if (!fragment.empty()) {
        EXPECT_TRUE(Contains(page(target), "id=\"" + fragment + "\""))
            << file << " links to " << target << "#" << fragment;
      }
      ++checked;
    }
  }
  EXPECT_GT(checked, 50u);
}

TEST_F(RunbookPagesTest, NowBoxShowsLiveValuesOfProbesAndOfTheExporter) {
  const HttpReply liveness = Get("/runbooks/liveness.md");
  ASSERT_EQ(liveness.status, 200);
  const size_t at = liveness.body.find("<h2 id=\"triagetargetdown\">");
  ASSERT_NE(at, std::string::npos);
  const std::string box = liveness.body.substr(at, liveness.body.find("</div>", at) - at);
  // The health probe passes: triage_probe_success 1, with its labels.
  const std::regex success(
      "<tr><td><code>triage_probe_success</code></td><td>web</td><td>health</td><td>[^\n]*"
      "</td><td>1</td></tr>");
  EXPECT_TRUE(std::regex_search(box, success)) << box;
  EXPECT_TRUE(Contains(box, "<code>kind=&quot;http&quot;</code> <code>layer=&quot;liveness&quot;</code>"))
      << box;

  // The api probe's 401s, counted.
  const HttpReply http = Get("/runbooks/http-status.md");
  const size_t u = http.body.find("<h2 id=\"triagehttpunauthorized\">");
  ASSERT_NE(u, std::string::npos);
  const std::string unauthorized = http.body.substr(u, http.body.find("</div>", u) - u);
  const std::regex count401(
      "<td>web</td><td>api</td><td>[^\n]*<code>code=&quot;401&quot;</code></td><td>([0-9]+)</td>");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(unauthorized, m, count401)) << unauthorized;
  EXPECT_GE(std::stoi(m[1]), 2);

  // The exporter's own metrics: the configuration loaded.
  const HttpReply exporter = Get("/runbooks/exporter.md");
  const size_t e = exporter.body.find("<h2 id=\"triageexporterconfigreloadfailed\">");
  ASSERT_NE(e, std::string::npos);
  const std::string reload = exporter.body.substr(e, exporter.body.find("</div>", e) - e);
  EXPECT_TRUE(Contains(reload,
                       "<tr><td><code>triage_exporter_config_last_reload_successful</code></td>"
                       "<td></td><td></td><td></td><td>1</td></tr>"))
      << reload;
  // The absence alert reads the exporter's build info, which the box shows
  // as present right now.
  const size_t absent = exporter.body.find("<h2 id=\"triageexporterabsent\">");
  ASSERT_NE(absent, std::string::npos);
  const std::string absent_box =
      exporter.body.substr(absent, exporter.body.find("</div>", absent) - absent);
  EXPECT_TRUE(Contains(absent_box, "<code>triage_exporter_build_info</code>")) << absent_box;
}

TEST_F(RunbookPagesTest, LabelValuesAreHtmlEscaped) {
  for (const auto& file : RunbookFilesOnDisk()) {
    const HttpReply r = Get("/runbooks/" + file);
    ASSERT_EQ(r.status, 200) << file;
    EXPECT_FALSE(Contains(r.body, "<script")) << file;
    EXPECT_FALSE(Contains(r.body, "<b>bye")) << file;
  }
  const std::string page = Get("/runbooks/liveness.md").body;
  EXPECT_TRUE(Contains(page, "<code>cluster_id=&quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;</code>"))
      << page;
  EXPECT_TRUE(Contains(page, "<code>quote=&quot;say &quot;hi&quot; &amp; &lt;b&gt;bye&lt;/b&gt;&quot;</code>"))
      << page;
}

TEST_F(RunbookPagesTest, UnknownFilesAndPathTraversalAre404) {
  for (const char* path : {"/runbooks/nope.md", "/runbooks/liveness", "/runbooks/LIVENESS.md",
                           "/runbooks/liveness.md/", "/runbooks/..%2FCMakeLists.txt",
                           "/runbooks/%2e%2e/alerts/index.json", "/runbooks/%2e%2e%2fREADME.md",
                           "/runbooksx"}) {
    const HttpReply r = Get(path);
    EXPECT_EQ(r.status, 404) << path << " " << r.error;
    EXPECT_FALSE(Contains(r.body, "cmake_minimum_required")) << path;
  }
  for (const char* target : {"/runbooks/../CMakeLists.txt", "/runbooks/../../../../etc/passwd",
                             "/runbooks/./../alerts/index.json", "/runbooks/sub/../../README.md"}) {
    EXPECT_EQ(RawGetStatus(app_->port(), target), 404) << target;
  }
  // The names of the embedded set are served, and only those.
  EXPECT_EQ(Get("/runbooks/README.md").status, 200);
}

TEST(RunbookIndex, ReadsExpandRecordingRulesToExporterFamilies) {
  const AlertInfo* burn = FindEmbeddedAlert("TriageHttp5xxErrorBudgetBurn");
  ASSERT_NE(burn, nullptr);
  EXPECT_EQ(burn->reads,
            (std::vector<std::string>{"triage_http_responses_total", "triage_probe_info"}));
  EXPECT_EQ(burn->file, "http-status.md");
  const AlertInfo* absent = FindEmbeddedAlert("TriageExporterAbsent");
  ASSERT_NE(absent, nullptr);
  EXPECT_EQ(absent->reads, (std::vector<std::string>{"triage_exporter_build_info"}));
  EXPECT_EQ(FindEmbeddedAlert("NoSuchAlert"), nullptr);
  for (const auto& a : EmbeddedAlerts()) {
    EXPECT_NE(FindRunbook(a.file), nullptr) << a.name;
    for (const auto& family : a.reads) {
      EXPECT_EQ(family.rfind("triage_", 0), 0u) << a.name << " reads " << family;
    }
  }
}

TEST(RunbookIndex, UnreadableIndexYieldsNoAlertsAndSaysWhy) {
  std::string error = "stale";
  EXPECT_TRUE(ParseAlertIndex("{\"alerts\": [", &error).empty());
  EXPECT_EQ(error, "the alert index is not valid JSON");
  EXPECT_TRUE(ParseAlertIndex("{\"rules\": []}", &error).empty());
  EXPECT_EQ(error, "the alert index has no \"alerts\" array");
  EXPECT_TRUE(ParseAlertIndex("[]", &error).empty());
  EXPECT_FALSE(error.empty());
  const auto alerts = ParseAlertIndex(
      R"({"alerts": [{"name": "A", "runbook": {"file": "a.md", "anchor": "a"}}, {"layer": "x"}]})",
      &error);
  EXPECT_EQ(error, "");
  ASSERT_EQ(alerts.size(), 1u);  // an entry without a name is left out
  EXPECT_EQ(alerts[0].file, "a.md");
  EXPECT_EQ(alerts[0].anchor, "a");
}

TEST(RunbookIndex, EmbeddedIndexReadsCleanlyAtStartUp) {
  std::string error;
  EXPECT_EQ(ParseAlertIndex(EmbeddedAlertIndexJson(), &error).size(), EmbeddedAlerts().size());
  EXPECT_EQ(error, "");
  testing::LogCapture logs;
  PrepareEmbeddedRunbooks();
  EXPECT_EQ(logs.Text().find("embedded alert index"), std::string::npos) << logs.Text();
  EXPECT_FALSE(EmbeddedRunbooks().empty());
}

TEST(RunbookIndex, NowBoxCapsItsRows) {
  // Many probes of one family: the box shows kMaxNowRows rows and counts the rest.
  const AlertInfo* down = FindEmbeddedAlert("TriageTargetDown");
  ASSERT_NE(down, nullptr);
  LiveValues live;
  for (int i = 0; i < 150; ++i) {
    SampleWriter w("service=\"s\",probe=\"p" + std::to_string(i) + "\"");
    w.Add(FamilyId::kProbeSuccess, 1);
    w.Add(FamilyId::kProbeInfo, "kind", "http", "layer", "liveness", 1);
    live.probes.push_back({nullptr, std::make_shared<Snapshot>(w.Finish())});
  }
  const std::string box = NowBoxHtml(*down, live);
  EXPECT_EQ(Count(box, "<tr><td><code>"), kMaxNowRows);
  EXPECT_TRUE(Contains(box, "100 more series not shown")) << box.substr(box.size() - 300);
}

}  // namespace
}  // namespace triage

// Tests for the text exposition format parser: what it accepts (including
// escapes, timestamps, special values, histograms and summaries), the line
// it names for each kind of garbage, the sample limit and empty input.
#include "exposition/exposition_parser.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "tests/unit/fixture_server.h"

namespace triage {
namespace {

struct Seen {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;  // decoded
  double value = 0;
  std::optional<int64_t> ts;
  size_t line = 0;
};

ExpositionResult Parse(std::string_view body, std::vector<Seen>* out = nullptr,
                       size_t limit = 0) {
  ExpositionOptions o;
  o.sample_limit = limit;
  return ParseExposition(body, o, [&](const ExpositionSample& s) {
    if (!out) return;
    Seen seen{std::string(s.name), {}, s.value, s.timestamp_ms, s.line};
    for (const auto& l : s.labels) {
      std::string v;
      DecodeLabelValue(l.raw_value, v);
      seen.labels.emplace_back(std::string(l.name), v);
    }
    out->push_back(std::move(seen));
  });
}

// The error of a body that must fail.
std::string ErrorOf(std::string_view body) {
  const ExpositionResult r = Parse(body);
  EXPECT_EQ(r.status, ExpositionStatus::kInvalid) << body;
  return r.error;
}

TEST(ExpositionParser, SamplesWithLabelsValuesAndTimestamps) {
  std::vector<Seen> s;
  const auto r = Parse(
      "# HELP http_requests_total Requests.\n"
      "# TYPE http_requests_total counter\n"
      "http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n"
      "http_requests_total{method=\"post\",code=\"400\"}    3   1395066363000\n"
      "\n"
      "metric_without_timestamp_and_labels 12.47\n"
      "ns:rule_name{a=\"b\",} -0.5\n"
      "empty_set{} 1e3\n"
      "\t spaced { a = \"1\" , b=\"2\" }\t7 -12\n",
      &s);
  ASSERT_EQ(r.status, ExpositionStatus::kOk) << r.error;
  EXPECT_EQ(r.samples, 6u);
  EXPECT_EQ(r.lines, 9u);
  ASSERT_EQ(s.size(), 6u);
  EXPECT_EQ(s[0].name, "http_requests_total");
  EXPECT_EQ(s[0].labels, (std::vector<std::pair<std::string, std::string>>{
                             {"method", "post"}, {"code", "200"}}));
  EXPECT_EQ(s[0].value, 1027);
  EXPECT_EQ(s[0].ts, 1395066363000);
  EXPECT_EQ(s[0].line, 3u);
  EXPECT_EQ(s[1].value, 3);
  EXPECT_EQ(s[2].name, "metric_without_timestamp_and_labels");
  EXPECT_TRUE(s[2].labels.empty());
  EXPECT_EQ(s[2].value, 12.47);
  EXPECT_FALSE(s[2].ts);
  EXPECT_EQ(s[3].name, "ns:rule_name");
  EXPECT_EQ(s[3].value, -0.5);
  EXPECT_EQ(s[4].value, 1000);
  EXPECT_EQ(s[5].name, "spaced");
  EXPECT_EQ(s[5].labels.size(), 2u);
  EXPECT_EQ(s[5].value, 7);
  EXPECT_EQ(s[5].ts, -12);
  EXPECT_EQ(s[5].line, 9u);
}

TEST(ExpositionParser, EscapedLabelValues) {
  std::vector<Seen> s;
  const auto r = Parse(
      "msdos_file_access_time_seconds{path=\"C:\\\\DIR\\\\FILE.TXT\",error=\"Cannot find file:\\n\\\"FILE.TXT\\\"\"} 1.458255915e9\n"
      "unknown_escape{a=\"tab\\there\"} 1\n"
      "utf8{a=\"gr\xC3\xBC\xC3\x9F \xE2\x82\xAC\"} 1\n",
      &s);
  ASSERT_EQ(r.status, ExpositionStatus::kOk) << r.error;
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].labels[0].second, "C:\\DIR\\FILE.TXT");
  EXPECT_EQ(s[0].labels[1].second, "Cannot find file:\n\"FILE.TXT\"");
  EXPECT_EQ(s[0].value, 1.458255915e9);
  // Prometheus keeps an unknown escape as written; so does the parser.
  EXPECT_EQ(s[1].labels[0].second, "tab\\there");
  EXPECT_EQ(s[2].labels[0].second, "gr\xC3\xBC\xC3\x9F \xE2\x82\xAC");

  EXPECT_TRUE(LabelValueEquals("C:\\\\DIR", "C:\\DIR"));
  EXPECT_TRUE(LabelValueEquals("a\\\"b\\nc", "a\"b\nc"));
  EXPECT_FALSE(LabelValueEquals("a\\\"b", "a\\\"b"));
  EXPECT_FALSE(LabelValueEquals("abc", "ab"));
  EXPECT_FALSE(LabelValueEquals("ab", "abc"));
  EXPECT_TRUE(LabelValueEquals("", ""));
}

TEST(ExpositionParser, SpecialValues) {
  std::vector<Seen> s;
  const auto r = Parse(
      "a NaN\nb +Inf\nc -Inf\nd 1e3\ne -1.5E-3\nf .5\ng +7\nh inf\ni nan\nj 1e-400\n", &s);
  ASSERT_EQ(r.status, ExpositionStatus::kOk) << r.error;
  ASSERT_EQ(s.size(), 10u);
  EXPECT_TRUE(std::isnan(s[0].value));
  EXPECT_EQ(s[1].value, HUGE_VAL);
  EXPECT_EQ(s[2].value, -HUGE_VAL);
  EXPECT_EQ(s[3].value, 1000);
  EXPECT_EQ(s[4].value, -1.5e-3);
  EXPECT_EQ(s[5].value, 0.5);
  EXPECT_EQ(s[6].value, 7);
  EXPECT_EQ(s[7].value, HUGE_VAL);
  EXPECT_TRUE(std::isnan(s[8].value));
  EXPECT_EQ(s[9].value, 0);  // underflow is zero, as in Go

  for (const char* bad : {"0x10", "1e400", "1_000", "nan(1)", "--1", "+", "1e", "Infx", "1,5"}) {
    EXPECT_FALSE(ParseExpositionValue(bad)) << bad;
  }
}

TEST(ExpositionParser, HistogramAndSummaryAreSamples) {
  std::vector<Seen> s;
  const auto r = Parse(
      "# HELP http_request_duration_seconds A histogram of the request duration.\n"
      "# TYPE http_request_duration_seconds histogram\n"
      "http_request_duration_seconds_bucket{le=\"0.05\"} 24054\n"
      "http_request_duration_seconds_bucket{le=\"0.1\"} 33444\n"
      "http_request_duration_seconds_bucket{le=\"+Inf\"} 144320\n"
      "http_request_duration_seconds_sum 53423\n"
      "http_request_duration_seconds_count 144320\n"
      "# TYPE rpc_duration_seconds SUMMARY\n"
      "rpc_duration_seconds{quantile=\"0.5\"} 4773\n"
      "rpc_duration_seconds_sum 1.7560473e+07\n"
      "rpc_duration_seconds_count 2693\n",
      &s);
  ASSERT_EQ(r.status, ExpositionStatus::kOk) << r.error;
  ASSERT_EQ(s.size(), 8u);
  EXPECT_EQ(s[2].labels[0], (std::pair<std::string, std::string>{"le", "+Inf"}));
  EXPECT_EQ(s[4].value, 144320);
}

TEST(ExpositionParser, CommentsAndShortHelpTypeLinesAreNotErrors) {
  const auto r = Parse(
      "# just a comment\n"
      "#no space\n"
      "#\n"
      "# HELP\n"
      "# TYPE\n"
      "# HELP only_name\n"
      "# TYPE only_name\n"
      "# HELP with_text Text with \\\\ and \\n and \"quotes\".\n"
      "# EOF\n"
      "x 1\r\n"
      "   \n"
      "y 2");  // no final newline
  ASSERT_EQ(r.status, ExpositionStatus::kOk) << r.error;
  EXPECT_EQ(r.samples, 2u);
}

TEST(ExpositionParser, EachKindOfGarbageNamesItsLine) {
  const std::string ok = "a 1\nb 2\n";  // lines 1 and 2
  struct Case {
    std::string line3;
    std::string error;
  } cases[] = {
      {"{a=\"b\"} 1", "line 3: expected a metric name"},
      {"9abc 1", "line 3: expected a metric name"},
      {"<html><body>502 Bad Gateway</body></html>", "line 3: expected a metric name"},
      {"name", "line 3: expected a value after \"name\""},
      {"name{a=\"b\"}", "line 3: expected a value after \"name\""},
      {"name abc", "line 3: invalid sample value \"abc\""},
      {"name 1 2 3", "line 3: unexpected text after the timestamp"},
      {"name 1 1.5", "line 3: invalid timestamp \"1.5\""},
      {"name{a=\"b\" 1", "line 3: expected ',' or '}' after the value of label \"a\""},
      {"name{a=\"b\",", "line 3: unterminated label set"},
      {"name{a=b} 1", "line 3: expected a double-quoted value for label \"a\""},
      {"name{a} 1", "line 3: expected '=' after label name \"a\""},
      {"name{1a=\"b\"} 1", "line 3: expected a label name or '}'"},
      {"name{a=\"b} 1", "line 3: unterminated value of label \"a\""},
      {"name{a=\"b\",a=\"c\"} 1", "line 3: duplicate label name \"a\""},
      {"name{a=\"\xff\"} 1", "line 3: value of label \"a\" is not UTF-8"},
      {"# TYPE name countr", "line 3: unknown metric type \"countr\""},
      {"# HELP 1name text", "line 3: expected a metric name after # HELP"},
      {"# TYPE name{x} counter", "line 3: expected a metric name after # TYPE"},
  };
  for (const auto& c : cases) {
    const std::string err = ErrorOf(ok + c.line3 + "\nc 3\n");
    EXPECT_EQ(err.rfind(c.error, 0), 0u) << "input line: " << c.line3 << "\nerror: " << err;
  }
}

TEST(ExpositionParser, ErrorsQuoteAtMostAShortPieceOfTheInput) {
  const std::string err = ErrorOf(std::string(10000, '{') + " 1\n");
  EXPECT_LT(err.size(), 120u) << err;
  EXPECT_EQ(err.rfind("line 1: expected a metric name", 0), 0u) << err;
  const std::string ctl = ErrorOf("name \x01\x02\x1b[31m\n");
  EXPECT_EQ(ctl.find('\x1b'), std::string::npos) << ctl;
}

TEST(ExpositionParser, TooManyLabelsOnOneSample) {
  std::string line = "name{";
  for (size_t i = 0; i <= kMaxLabelsPerSample; ++i) line += "l" + std::to_string(i) + "=\"v\",";
  line += "} 1\n";
  EXPECT_EQ(ErrorOf(line).rfind("line 1: more than", 0), 0u);
}

TEST(ExpositionParser, SampleLimitStopsTheParse) {
  std::string body;
  for (int i = 0; i < 1000; ++i) body += "m{i=\"" + std::to_string(i) + "\"} 1\n";
  size_t visited = 0;
  ExpositionOptions o;
  o.sample_limit = 100;
  const auto r = ParseExposition(body, o, [&](const ExpositionSample&) { ++visited; });
  EXPECT_EQ(r.status, ExpositionStatus::kSampleLimit);
  EXPECT_EQ(r.samples, 100u);
  EXPECT_EQ(visited, 100u);
  EXPECT_EQ(r.lines, 101u);
  EXPECT_EQ(r.error, "line 101: more than 100 samples (sample_limit)");

  // Exactly at the limit is fine.
  o.sample_limit = 1000;
  EXPECT_EQ(ParseExposition(body, o, {}).status, ExpositionStatus::kOk);
}

TEST(ExpositionParser, EmptyAndCommentOnlyBodiesHaveNoSamples) {
  for (const std::string body : {"", "\n\n", "# HELP a b\n# TYPE a counter\n"}) {
    const auto r = Parse(body);
    EXPECT_EQ(r.status, ExpositionStatus::kOk);
    EXPECT_EQ(r.samples, 0u);
  }
}

TEST(ExpositionParser, RealPagesParse) {
  for (const char* f : {"scrape/echo_metrics.txt", "scrape/mesh_mixer_metrics.txt",
                        "scrape/fd_pressure.txt"}) {
    const auto r = Parse(testing::ReadFixture(f));
    EXPECT_EQ(r.status, ExpositionStatus::kOk) << f << ": " << r.error;
    EXPECT_GE(r.samples, 5u) << f;
  }
  const auto r = Parse(testing::ReadFixture("scrape/garbage.txt"));
  EXPECT_EQ(r.status, ExpositionStatus::kInvalid);
  EXPECT_EQ(r.error.rfind("line 4: ", 0), 0u) << r.error;
}

// Not a fuzzer, but the same idea in miniature: every prefix and many
// corruptions of a real page end in a result, never a crash (ASan/UBSan
// build) or an endless loop.
TEST(ExpositionParser, TruncatedAndCorruptedInputNeverCrashes) {
  const std::string page = testing::ReadFixture("scrape/echo_metrics.txt");
  for (size_t n = 0; n <= page.size(); n += 7) Parse(std::string_view(page).substr(0, n));
  std::string mutated = page;
  const char specials[] = {'{', '}', '"', '\\', '\n', '=', ',', ' ', '#', '\0', '\xff'};
  for (size_t i = 0; i < mutated.size(); i += 13) {
    const char old = mutated[i];
    mutated[i] = specials[i % sizeof specials];
    Parse(mutated);
    mutated[i] = old;
  }
  SUCCEED();
}

}  // namespace
}  // namespace triage

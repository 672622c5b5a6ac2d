#include "exporter/runbook_pages.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <ctime>

#include "base/html.h"
#include "base/log.h"
#include "exposition/snapshot_samples.h"

namespace triage {
namespace {

std::vector<std::string> StringList(const nlohmann::json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  for (const auto& v : *it) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

std::string StringField(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::vector<AlertInfo> ParseAlertIndex(std::string_view text, std::string* error) {
  std::vector<AlertInfo> out;
  if (error) error->clear();
  // The index is generated and embedded by the build; a broken one is a build
  // problem, shown as pages without alerts rather than as a crash (and logged
  // as an error at start-up by PrepareEmbeddedRunbooks).
  const nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    if (error) *error = "the alert index is not valid JSON";
    return out;
  }
  if (!doc.is_object() || !doc.contains("alerts") || !doc["alerts"].is_array()) {
    if (error) *error = "the alert index has no \"alerts\" array";
    return out;
  }
  for (const auto& a : doc["alerts"]) {
    if (!a.is_object()) continue;
    AlertInfo info;
    info.name = StringField(a, "name");
    info.layer = StringField(a, "layer");
    info.severities = StringList(a, "severities");
    if (auto rb = a.find("runbook"); rb != a.end() && rb->is_object()) {
      info.file = StringField(*rb, "file");
      info.anchor = StringField(*rb, "anchor");
    }
    info.metrics = StringList(a, "metrics");
    info.reads = StringList(a, "reads");
    if (!info.name.empty()) out.push_back(std::move(info));
  }
  return out;
}

namespace {

struct EmbeddedIndex {
  std::vector<AlertInfo> alerts;
  std::string error;
};

const EmbeddedIndex& Index() {
  static const EmbeddedIndex index = [] {
    EmbeddedIndex i;
    i.alerts = ParseAlertIndex(EmbeddedAlertIndexJson(), &i.error);
    return i;
  }();
  return index;
}

std::vector<RunbookDocument> RenderAll() {
  std::vector<RunbookDocument> docs;
  const auto& alerts = EmbeddedAlerts();
  for (const EmbeddedFile& f : EmbeddedRunbookFiles()) {
    RunbookDocument d;
    d.name = std::string(f.name);
    d.rendered = RenderMarkdown(f.content);
    d.title = d.name;
    for (const auto& h : d.rendered.headings) {
      if (h.level == 1) {
        d.title = h.text;
        break;
      }
    }
    for (const auto& a : alerts) {
      if (a.file == d.name) d.alerts.push_back(&a);
    }
    const auto& hs = d.rendered.headings;
    for (size_t i = 0; i < hs.size() && i < d.rendered.heading_end.size(); ++i) {
      if (hs[i].level != 2) continue;
      auto it = std::find_if(d.alerts.begin(), d.alerts.end(),
                             [&](const AlertInfo* a) { return a->name == hs[i].text; });
      if (it != d.alerts.end()) d.now_boxes.emplace_back(d.rendered.heading_end[i], *it);
    }
    docs.push_back(std::move(d));
  }
  return docs;
}

constexpr std::string_view kStyle =
    "body{font-family:system-ui,sans-serif;margin:0;color:#1f2328;line-height:1.5}"
    "nav{background:#f6f8fa;border-bottom:1px solid #d0d7de;padding:.6em 2em}"
    "main{max-width:60em;margin:0 auto;padding:1em 2em 3em}"
    "h1,h2{border-bottom:1px solid #d8dee4;padding-bottom:.3em}"
    "h2{margin-top:2em}"
    "code{background:#eff1f3;padding:.1em .3em;border-radius:4px;font-size:90%}"
    "pre{background:#f6f8fa;padding:1em;overflow:auto;border-radius:6px}"
    "pre code{background:none;padding:0}"
    "table{border-collapse:collapse;margin:.8em 0}"
    "td,th{border:1px solid #d0d7de;padding:.25em .6em;text-align:left;vertical-align:top}"
    "th{background:#f6f8fa}"
    "blockquote{margin:0;padding:0 1em;color:#59636e;border-left:.25em solid #d0d7de}"
    ".now{border:1px solid #54aeff;background:#ddf4ff;border-radius:6px;padding:.2em 1em;"
    "margin:.8em 0}"
    ".now table{background:#fff;font-size:90%}"
    ".now .none{color:#59636e}";

void PageStart(std::string& h, std::string_view title, std::string_view crumb) {
  h += "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>";
  h += HtmlEscape(title);
  h += " - triage_exporter runbooks</title><style>";
  h += kStyle;
  h += "</style></head><body><nav><a href=\"/\">triage_exporter</a> / "
       "<a href=\"/runbooks/\">runbooks</a>";
  if (!crumb.empty()) {
    h += " / ";
    h += HtmlEscape(crumb);
  }
  h += "</nav><main>\n";
}

void PageEnd(std::string& h) { h += "</main></body></html>\n"; }

// Renders the Now boxes of a page, parsing the self metrics once.
class NowRenderer {
 public:
  explicit NowRenderer(const LiveValues& live) : live_(live) {}

  void Box(const AlertInfo& alert, std::string& h) {
    h += "<div class=\"now\"><p><strong>Now</strong> on this exporter, ";
    h += FormatUtcTime(static_cast<double>(std::time(nullptr)));
    h += ": the series <code>";
    h += HtmlEscape(alert.name);
    h += "</code> reads, for every probe that has them.</p>\n";
    if (alert.reads.empty()) {
      h += "<p class=\"none\">No metric of this exporter feeds this alert";
      std::string others;
      for (const auto& m : alert.metrics) {
        if (!others.empty()) others += ", ";
        others += "<code>" + HtmlEscape(m) + "</code>";
      }
      if (!others.empty()) h += "; it reads " + others + " from Prometheus itself";
      h += ".</p></div>\n";
      return;
    }
    h += "<table><tr><th>metric</th><th>service</th><th>probe</th><th>labels</th>"
         "<th>value</th></tr>\n";
    size_t rows = 0, omitted = 0;
    for (const auto& family : alert.reads) {
      size_t found = 0;
      auto row = [&](const SnapshotSample& s) {
        if (s.name.ends_with("_bucket")) return;
        ++found;
        if (rows >= kMaxNowRows) {
          ++omitted;
          return;
        }
        ++rows;
        Row(s, h);
      };
      FamilyId id;
      if (FindFamily(family, &id)) {
        const bool histogram = Family(id).type == MetricType::kHistogram;
        for (const auto& e : live_.probes) {
          if (!e.snap) continue;
          if (rows >= kMaxNowRows && !histogram) {
            // Past the cap only the count matters: one sample per line.
            const std::string_view frag = e.snap->Fragment(id);
            const auto n = static_cast<size_t>(std::count(frag.begin(), frag.end(), '\n'));
            found += n;
            omitted += n;
            continue;
          }
          for (const auto& s : SnapshotSamples(*e.snap, id)) row(s);
        }
      } else {
        for (const auto& s : Self()) {
          if (s.name == family || s.name == family + "_sum" || s.name == family + "_count") row(s);
        }
      }
      if (found == 0) {
        h += "<tr><td><code>" + HtmlEscape(family) +
             "</code></td><td colspan=\"4\" class=\"none\">no series now</td></tr>\n";
      }
    }
    h += "</table>\n";
    if (omitted > 0) {
      h += "<p class=\"none\">" + std::to_string(omitted) +
           " more series not shown; <a href=\"/metrics\">/metrics</a> has them all.</p>\n";
    }
    h += "</div>\n";
  }

 private:
  const std::vector<SnapshotSample>& Self() {
    if (!self_parsed_) {
      self_ = ParseSamples(live_.self_metrics);
      self_parsed_ = true;
    }
    return self_;
  }

  static void Row(const SnapshotSample& s, std::string& h) {
    h += "<tr><td><code>" + HtmlEscape(s.name) + "</code></td><td>" +
         HtmlEscape(s.Label("service")) + "</td><td>" + HtmlEscape(s.Label("probe")) + "</td><td>";
    bool first = true;
    for (const auto& [k, v] : s.labels) {
      if (k == "service" || k == "probe") continue;
      if (!first) h += ' ';
      first = false;
      h += "<code>" + HtmlEscape(k) + "=&quot;" + HtmlEscape(v) + "&quot;</code>";
    }
    h += "</td><td>";
    std::string value;
    AppendSampleValue(value, s.value);
    h += HtmlEscape(value);
    h += "</td></tr>\n";
  }

  const LiveValues& live_;
  bool self_parsed_ = false;
  std::vector<SnapshotSample> self_;
};

}  // namespace

const std::vector<AlertInfo>& EmbeddedAlerts() { return Index().alerts; }

const AlertInfo* FindEmbeddedAlert(std::string_view name) {
  for (const auto& a : EmbeddedAlerts()) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

const std::vector<RunbookDocument>& EmbeddedRunbooks() {
  static const std::vector<RunbookDocument> docs = RenderAll();
  return docs;
}

void PrepareEmbeddedRunbooks() {
  if (const std::string& error = Index().error; !error.empty()) {
    LogError("embedded alert index unreadable; the runbook pages show no alerts and no Now boxes",
             {{"err", error}});
  }
  EmbeddedRunbooks();
}

const RunbookDocument* FindRunbook(std::string_view name) {
  for (const auto& d : EmbeddedRunbooks()) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

std::string RunbookIndexHtml() {
  std::string h;
  PageStart(h, "Runbooks", "");
  h += "<h1>Runbooks</h1>\n<p>The runbooks of the rule pack this exporter was built with. Each "
       "alert's <code>runbook_url</code> opens its section; every alert section shows the "
       "current values of the metrics the alert reads.</p>\n"
       "<table><tr><th>file</th><th>title</th><th>alerts</th></tr>\n";
  for (const auto& d : EmbeddedRunbooks()) {
    const std::string href = HtmlEscape(d.name);
    h += "<tr><td><a href=\"" + href + "\">" + href + "</a></td><td>" + HtmlEscape(d.title) +
         "</td><td>";
    bool first = true;
    for (const AlertInfo* a : d.alerts) {
      if (!first) h += ", ";
      first = false;
      h += "<a href=\"" + href + "#" + HtmlEscape(a->anchor) + "\">" + HtmlEscape(a->name) + "</a>";
    }
    h += "</td></tr>\n";
  }
  h += "</table>\n";
  PageEnd(h);
  return h;
}

std::string RunbookPageHtml(const RunbookDocument& doc, const LiveValues& live) {
  std::string h;
  h.reserve(doc.rendered.html.size() + doc.now_boxes.size() * 2048 + 4096);
  PageStart(h, doc.title, doc.name);
  NowRenderer now(live);
  const std::string_view html = doc.rendered.html;
  size_t pos = 0;
  for (const auto& [offset, alert] : doc.now_boxes) {
    h.append(html.substr(pos, offset - pos));
    now.Box(*alert, h);
    pos = offset;
  }
  h.append(html.substr(pos));
  PageEnd(h);
  return h;
}

std::string NowBoxHtml(const AlertInfo& alert, const LiveValues& live) {
  std::string h;
  NowRenderer(live).Box(alert, h);
  return h;
}

}  // namespace triage

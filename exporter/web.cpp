#include "exporter/web.h"

#include <CivetServer.h>

#include <cctype>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <map>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

#include "exporter/app.h"
#include "server/civet_stop.h"
#include "base/html.h"
#include "base/log.h"
#include "exporter/runbook_pages.h"
#include "exporter/tls_front.h"
#include "exporter/triage_walk.h"

namespace triage {
namespace {

constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

void Send(mg_connection* conn, int status, std::string_view content_type, std::string_view body,
          std::string_view extra_headers = "") {
  // Every answer closes its connection (civetweb runs with keep-alive off):
  // civetweb gives each connection a thread for as long as it lasts, so
  // busy keep-alive clients beyond its 16 threads would starve every other
  // one, Prometheus included. A new connection per scrape is cheap.
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %.*s\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
            "Connection: close\r\n%.*s\r\n",
            status, mg_get_response_code_text(conn, status), static_cast<int>(content_type.size()),
            content_type.data(), body.size(), static_cast<int>(extra_headers.size()),
            extra_headers.data());
  const mg_request_info* ri = mg_get_request_info(conn);
  const bool head = ri && ri->request_method && std::strcmp(ri->request_method, "HEAD") == 0;
  if (!body.empty() && !head) mg_write(conn, body.data(), body.size());
}

std::string UrlEncode(std::string_view s) {
  std::string out;
  static const char* hex = "0123456789ABCDEF";
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

bool AcceptsGzip(mg_connection* conn) {
  const char* ae = mg_get_header(conn, "Accept-Encoding");
  return ae && std::strstr(ae, "gzip") != nullptr;
}

void SendMetrics(mg_connection* conn, const MetricsPage& page) {
  const std::string* compressed = AcceptsGzip(conn) ? page.Gzipped() : nullptr;
  if (compressed) {
    Send(conn, 200, kMetricsContentType, *compressed,
         "Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n");
  } else {
    Send(conn, 200, kMetricsContentType, page.text(), "Vary: Accept-Encoding\r\n");
  }
}

// A handler calling `get` or `post`, after checking the request's
// credentials against the web configuration (`auth` null: none asked for).
class Handler : public CivetHandler {
 public:
  using Fn = std::function<void(mg_connection*)>;
  Handler(WebGate* gate, WebAuth* auth, Fn get, Fn post = nullptr)
      : gate_(gate), auth_(auth), get_(std::move(get)), post_(std::move(post)) {}
  bool handleGet(CivetServer*, mg_connection* c) override { return Call(get_, c, "GET"); }
  bool handleHead(CivetServer*, mg_connection* c) override { return Call(get_, c, "GET"); }
  bool handlePost(CivetServer*, mg_connection* c) override { return Call(post_, c, "POST"); }
  bool handlePut(CivetServer*, mg_connection* c) override { return Call(nullptr, c, ""); }
  bool handleDelete(CivetServer*, mg_connection* c) override { return Call(nullptr, c, ""); }
  bool handlePatch(CivetServer*, mg_connection* c) override { return Call(nullptr, c, ""); }

 private:
  bool Call(const Fn& fn, mg_connection* c, const char*) {
    // Counted before the draining flag is read: Stop() sets the flag, then
    // waits for the count, so no request starts unseen after the flag.
    gate_->active.fetch_add(1);
    struct Leave {
      WebGate* g;
      ~Leave() { g->active.fetch_sub(1); }
    } leave{gate_};
    if (!gate_->front_token.empty()) {
      // Only TlsFront may talk to civetweb when TLS is on.
      const char* token = mg_get_header(c, std::string(kFrontTokenHeader).c_str());
      if (!token || !ConstantTimeEquals(token, gate_->front_token)) {
        Send(c, 403, "text/plain; charset=utf-8", "use the TLS address of the exporter\n");
        return true;
      }
    }
    if (gate_->draining.load()) {
      Send(c, 503, "text/plain; charset=utf-8", "triage_exporter is shutting down\n");
      return true;
    }
    if (auth_ && !auth_->Allows(mg_get_header(c, "Authorization"))) {
      Send(c, 401, "text/plain; charset=utf-8", "unauthorized\n", auth_->Challenge());
      return true;
    }
    if (!fn) {
      std::string allow = "Allow: ";
      allow += get_ ? "GET, HEAD" : "";
      allow += post_ ? (get_ ? ", POST" : "POST") : "";
      Send(c, 405, "text/plain; charset=utf-8", "method not allowed\n", allow + "\r\n");
      return true;
    }
    fn(c);
    return true;
  }
  WebGate* gate_;
  WebAuth* auth_;
  Fn get_, post_;
};

// Pages that carry no script: only inline style and same-origin links.
constexpr std::string_view kPageHeaders =
    "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\n";

std::string RunbookBaseUrl(App& app) {
  const auto cfg = app.config();
  return cfg ? cfg->global.runbook_base_url : GlobalConfig{}.runbook_base_url;
}

std::string ProbeStateCell(const WalkProbe& p) {
  if (!p.ran) return "<td class=\"pending\">not run yet</td>";
  std::string h = p.success ? "<td class=\"ok\">success" : "<td class=\"fail\">failure: " +
                                                                std::string(FailureReasonName(p.reason));
  if (p.status_code > 0) h += " (HTTP " + std::to_string(p.status_code) + ")";
  return h + "</td>";
}

// The triage walk of every service: probes in layer order and the first
// broken layer with its alert and a link to the runbook section here.
void AppendTriageWalks(const std::vector<ProbeEntry>& entries, const std::string& base_url,
                       std::string& h) {
  h += "<h2>Triage walk</h2><p>Each service's probes in triage order: liveness, readiness, "
       "dependency, traffic, telemetry. The first layer with a failing probe names the alert that "
       "failure feeds and links to its runbook section. <a href=\"/runbooks/\">All runbooks</a>."
       "</p>";
  // One pass to group the probes by service keeps the page linear in probes.
  std::map<std::string, std::vector<ProbeEntry>> by_service;
  for (const auto& e : entries) by_service[e.spec->common().service].push_back(e);
  for (const auto& service : ServiceNames(entries)) {
    const auto walk = WalkService(by_service[service], service, base_url);
    if (!walk) continue;
    h += "<h3>Service " + HtmlEscape(service) + " <small><a href=\"/api/v1/triage?service=" +
         UrlEncode(service) + "\">JSON</a></small></h3>";
    h += "<table><tr><th>Layer</th><th>Probe</th><th>Kind</th><th>State</th></tr>";
    for (const auto& p : walk->probes) {
      h += "<tr><td>" + std::string(LayerName(p.layer)) + "</td><td>" + HtmlEscape(p.probe) +
           "</td><td>" + HtmlEscape(p.kind) + "</td>" + ProbeStateCell(p) + "</tr>";
    }
    h += "</table>";
    if (!walk->first_broken) {
      h += "<p class=\"ok\">No broken layer: every probe that has run passed its last run.</p>";
      continue;
    }
    const BrokenLayer& b = *walk->first_broken;
    h += "<p>First broken layer: <span class=\"fail\">" + std::string(LayerName(b.layer)) +
         "</span>, probe " + HtmlEscape(b.probe) + " (" + std::string(FailureReasonName(b.reason)) +
         "). Alert: ";
    if (b.runbook_file.empty()) {
      h += HtmlEscape(b.alert);
    } else {
      h += "<a href=\"/runbooks/" + HtmlEscape(b.runbook_file) + "#" + HtmlEscape(b.runbook_anchor) +
           "\">" + HtmlEscape(b.alert) + "</a>";
    }
    if (!b.details.empty()) {
      std::string list;
      for (const auto& d : b.details) list += (list.empty() ? "" : ", ") + HtmlEscape(d);
      h += " (" + std::string(b.details_key == "checks" ? "failing checks" : "missing metrics") +
           ": " + list + ")";
    }
    h += ".</p>";
  }
}

std::string LandingPage(App& app) {
  std::string h;
  h += "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
       "<title>triage_exporter</title><style>"
       "body{font-family:system-ui,sans-serif;margin:2em;color:#222}"
       "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}"
       "th{background:#f4f4f4}.ok{color:#116611;font-weight:bold}.fail{color:#b00020;font-weight:bold}"
       ".pending{color:#777}code{background:#f4f4f4;padding:0 .2em}"
       "</style></head><body><h1>triage_exporter</h1>"
       "<p>Probes run on their own schedule; Prometheus scrapes <a href=\"/metrics\">/metrics</a>. "
       "Run one configured probe now with its debug log from the links below.</p>";
  h += "<p>Version " TRIAGE_VERSION " (" TRIAGE_REVISION "). ";
  h += "<a href=\"/metrics\">Metrics</a> · <a href=\"/runbooks/\">Runbooks</a> · "
       "<a href=\"/-/healthy\">Healthy</a> · <a href=\"/-/ready\">Ready</a></p>";
  const auto entries = app.table().All();
  AppendTriageWalks(entries, RunbookBaseUrl(app), h);
  h += "<h2>Probes (" + std::to_string(entries.size()) + ")</h2>";
  h += "<table><tr><th>Service</th><th>Probe</th><th>Kind</th><th>Layer</th><th>Interval</th>"
       "<th>Last outcome</th><th>Finished</th><th>Duration</th><th>Run now</th></tr>";
  for (const auto& e : entries) {
    const ProbeCommon& c = e.spec->common();
    h += "<tr><td>" + HtmlEscape(c.service) + "</td><td>" + HtmlEscape(c.name) + "</td><td>" +
         HtmlEscape(c.kind) + "</td><td>" + std::string(LayerName(c.layer)) + "</td><td>" +
         FormatDuration(c.interval) + "</td>";
    if (!e.snap) {
      h += "<td class=\"pending\">not run yet</td><td></td><td></td>";
    } else {
      if (e.snap->success) {
        h += "<td class=\"ok\">success</td>";
      } else {
        h += "<td class=\"fail\">failure: " + std::string(FailureReasonName(e.snap->reason)) + "</td>";
      }
      char dur[32];
      std::snprintf(dur, sizeof dur, "%.3fs", e.snap->duration_seconds);
      h += "<td>" + FormatUtcTime(e.snap->finished_unix) + "</td><td>" + dur + "</td>";
    }
    const std::string q = "service=" + UrlEncode(c.service) + "&amp;probe=" + UrlEncode(c.name);
    h += "<td><a href=\"/probe?" + q + "\">metrics</a> · <a href=\"/probe?" + q +
         "&amp;debug=true\">debug</a></td></tr>";
  }
  h += "</table></body></html>\n";
  return h;
}

// /runbooks/ (the list), /runbooks/<file>.md (one page with its Now boxes);
// /runbooks redirects to /runbooks/ so that relative links between the
// pages resolve. Only names of the embedded set are served.
void ServeRunbooks(App& app, mg_connection* conn) {
  const mg_request_info* ri = mg_get_request_info(conn);
  const std::string_view uri = ri && ri->local_uri ? ri->local_uri : "";
  constexpr std::string_view kPrefix = "/runbooks/";
  if (uri == "/runbooks") {
    Send(conn, 301, "text/plain; charset=utf-8", "moved to /runbooks/\n", "Location: /runbooks/\r\n");
    return;
  }
  if (!uri.starts_with(kPrefix)) {
    Send(conn, 404, "text/plain; charset=utf-8", "not found\n");
    return;
  }
  const std::string_view name = uri.substr(kPrefix.size());
  if (name.empty()) {
    Send(conn, 200, "text/html; charset=utf-8", RunbookIndexHtml(), kPageHeaders);
    return;
  }
  const RunbookDocument* doc = FindRunbook(name);
  if (doc == nullptr) {
    Send(conn, 404, "text/plain; charset=utf-8",
         "no such runbook; /runbooks/ lists the runbooks this exporter serves\n");
    return;
  }
  LiveValues live{app.table().All(), {}};
  app.RenderSelfMetrics(live.self_metrics);
  Send(conn, 200, "text/html; charset=utf-8", RunbookPageHtml(*doc, live), kPageHeaders);
}

void SendJson(mg_connection* conn, int status, const nlohmann::ordered_json& j) {
  // Replace rather than throw on bytes that are not UTF-8 (an echoed parameter).
  Send(conn, status, "application/json",
       j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

void ServeTriage(App& app, mg_connection* conn) {
  std::string service;
  if (!CivetServer::getParam(conn, "service", service) || service.empty()) {
    SendJson(conn, 400, {{"error", "the service parameter is required, e.g. "
                                   "/api/v1/triage?service=echo"}});
    return;
  }
  const auto walk = WalkService(app.table().All(), service, RunbookBaseUrl(app));
  if (!walk) {
    SendJson(conn, 404, {{"error", "no configured service \"" + service + "\""}});
    return;
  }
  SendJson(conn, 200, TriageWalkJson(*walk));
}

// /probe runs at most this many probes at once: each holds a web thread
// until its probe ends, and the threads must stay free for /metrics.
constexpr int kMaxConcurrentProbeRuns = 4;

void ServeProbe(App& app, const WebGate& gate, std::atomic<int>& active, mg_connection* conn) {
  std::string service, probe, debug_s;
  CivetServer::getParam(conn, "service", service);
  CivetServer::getParam(conn, "probe", probe);
  CivetServer::getParam(conn, "debug", debug_s);
  if (service.empty() || probe.empty()) {
    Send(conn, 400, "text/plain; charset=utf-8",
         "both service and probe parameters are required, e.g. /probe?service=echo&probe=api\n");
    return;
  }
  auto spec = app.table().Find(service, probe);
  if (!spec) {
    // Never echo the raw parameters back unescaped into anything but text/plain.
    Send(conn, 400, "text/plain; charset=utf-8",
         "no configured probe \"" + probe + "\" in service \"" + service +
             "\"; /probe only runs probes of the configuration\n");
    return;
  }
  if (active.fetch_add(1) >= kMaxConcurrentProbeRuns) {
    --active;
    Send(conn, 429, "text/plain; charset=utf-8",
         "too many /probe requests running; try again shortly\n", "Retry-After: 1\r\n");
    return;
  }
  struct Release {
    std::atomic<int>& n;
    ~Release() { --n; }
  } release{active};
  const bool debug = debug_s == "true" || debug_s == "1";
  auto log = debug ? std::make_shared<DebugLog>() : nullptr;

  struct Waiter {
    std::mutex mu;
    std::condition_variable cv;
    std::shared_ptr<const Snapshot> snap;
  };
  auto w = std::make_shared<Waiter>();
  app.scheduler().RunNow(spec, log, [w](std::shared_ptr<const Snapshot> snap) {
    std::lock_guard<std::mutex> lock(w->mu);
    w->snap = std::move(snap);
    w->cv.notify_all();
  });
  std::unique_lock<std::mutex> lock(w->mu);
  // Waits in slices, so that a shutdown does not wait for a long probe.
  const auto limit = std::chrono::steady_clock::now() + spec->common().timeout +
                     std::chrono::seconds(2);
  while (!w->snap) {
    if (gate.draining.load()) {
      Send(conn, 503, "text/plain; charset=utf-8", "triage_exporter is shutting down\n");
      return;
    }
    if (std::chrono::steady_clock::now() >= limit) {
      Send(conn, 504, "text/plain; charset=utf-8", "the probe did not finish in time\n");
      return;
    }
    w->cv.wait_for(lock, std::chrono::milliseconds(100));
  }
  std::string metrics;
  RenderSnapshot(*w->snap, metrics);
  if (!debug) {
    Send(conn, 200, kMetricsContentType, metrics);
    return;
  }
  std::string body = "Logs for the probe:\n" + log->Text() +
                     "\n\nMetrics that would have been returned:\n" + metrics;
  Send(conn, 200, "text/plain; charset=utf-8", body);
}

}  // namespace


bool ToCivetListen(const std::string& address, std::string* out) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) return false;
  const std::string host = address.substr(0, colon);
  const std::string port = address.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port) > 65535) {
    return false;
  }
  if (host.empty()) {
    *out = port;
  } else if (host.front() == '[') {
    if (host.back() != ']') return false;
    *out = "+" + port;  // civetweb: "+port" listens on IPv4 and IPv6
    if (host != "[::]") *out = host + ":" + port;
  } else {
    if (host.find(':') != std::string::npos) return false;  // IPv6 needs brackets
    *out = host + ":" + port;
  }
  return true;
}

WebServer::WebServer(App& app, std::string listen_address,
                     std::shared_ptr<const WebConfig> web_config)
    : app_(app), listen_(std::move(listen_address)), web_config_(std::move(web_config)) {
  if (web_config_ && web_config_->RequiresAuth()) auth_ = std::make_unique<WebAuth>(web_config_);
}

WebServer::~WebServer() { Stop(); }

std::string WebServer::address() const {
  const auto colon = listen_.rfind(':');
  return listen_.substr(0, colon) + ":" + std::to_string(port_);
}

void WebServer::Start() {
  std::string ports;
  if (!ToCivetListen(listen_, &ports)) {
    throw std::runtime_error("invalid --web.listen-address \"" + listen_ +
                             "\"; expected [host]:port such as :9479 or 127.0.0.1:9479");
  }
  PrepareEmbeddedRunbooks();  // before listening: no request waits for the rendering
  if (web_config_ && web_config_->tls) {
    // TLS is served by TlsFront (tls_front.h says why): civetweb listens on
    // loopback only and takes the requests TlsFront passes on.
    try {
      front_ = std::make_unique<TlsFront>(*web_config_->tls);
    } catch (const std::runtime_error& e) {
      throw std::runtime_error("tls_server_config in " + web_config_->file + ": " + e.what());
    }
    gate_.front_token = front_->token();
    ports = "127.0.0.1:0";
  }
  const std::vector<std::string> options = {
      "listening_ports", ports, "num_threads", "16", "request_timeout_ms", "30000",
      "enable_keep_alive", "no", "enable_directory_listing", "no"};
  try {
    server_ = std::make_unique<CivetServer>(options);
  } catch (const CivetException& e) {
    std::string why = e.what();
    if (listen_.front() == '[') why += " (the civetweb library may be built without IPv6)";
    else why += " (address in use, or not an address of this host?)";
    throw std::runtime_error("cannot listen on " + listen_ + ": " + why);
  }
  const auto ports_bound = server_->getListeningPorts();
  port_ = ports_bound.empty() ? 0 : ports_bound.front();

  App& app = app_;
  // Every endpoint asks for the credentials of the web configuration, but
  // /-/healthy and /-/ready: a kubelet's liveness and readiness checks know
  // none, and each answers one bit.
  auto add = [&](const char* uri, Handler::Fn get, Handler::Fn post = nullptr) {
    const bool open = std::strcmp(uri, "/-/healthy$") == 0 || std::strcmp(uri, "/-/ready$") == 0;
    WebAuth* auth = open ? nullptr : auth_.get();
    handlers_.push_back(std::make_unique<Handler>(&gate_, auth, std::move(get), std::move(post)));
    server_->addHandler(uri, handlers_.back().get());
  };
  add("/metrics$", [&app](mg_connection* c) {
    SendMetrics(c, *app.MetricsForScrape());
  });
  add("/-/healthy$", [](mg_connection* c) {
    Send(c, 200, "text/plain; charset=utf-8", "triage_exporter is healthy.\n");
  });
  add("/-/ready$", [&app](mg_connection* c) {
    if (app.ready()) {
      Send(c, 200, "text/plain; charset=utf-8", "triage_exporter is ready.\n");
    } else {
      Send(c, 503, "text/plain; charset=utf-8", "triage_exporter is not ready.\n");
    }
  });
  add("/-/reload$", nullptr, [&app](mg_connection* c) {
    std::string err;
    if (app.Reload(&err)) {
      Send(c, 200, "text/plain; charset=utf-8", "configuration reloaded\n");
    } else {
      Send(c, 500, "text/plain; charset=utf-8",
           "configuration reload failed; the running configuration is kept:\n" + err + "\n");
    }
  });
  add("/probe$", [&app, this](mg_connection* c) { ServeProbe(app, gate_, probe_runs_, c); });
  add("/runbooks", [&app](mg_connection* c) { ServeRunbooks(app, c); });
  add("/api/v1/triage$", [&app](mg_connection* c) { ServeTriage(app, c); });
  add("/", [&app](mg_connection* c) {
    const mg_request_info* ri = mg_get_request_info(c);
    if (ri && ri->local_uri && std::strcmp(ri->local_uri, "/") != 0) {
      Send(c, 404, "text/plain; charset=utf-8", "not found\n");
      return;
    }
    Send(c, 200, "text/html; charset=utf-8", LandingPage(app), kPageHeaders);
  });
  if (front_) {  // last: the first request it passes on finds every handler
    const auto colon = listen_.rfind(':');
    std::string host = listen_.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    if (host == "0.0.0.0") host.clear();
    civet_port_ = port_;
    front_->Start(host, std::stoi(listen_.substr(colon + 1)), civet_port_);
    port_ = front_->port();
  }
}

int WebServer::Stop(std::chrono::milliseconds drain) {
  int cut = 0;
  if (server_) {
    // New requests get 503 from now on (with TLS, new connections are
    // refused); those already in a handler (a scrape writing its page) may
    // finish until the deadline.
    if (front_) front_->StopAccepting();
    gate_.draining.store(true);
    const auto deadline = std::chrono::steady_clock::now() + drain;
    while (gate_.active.load() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    cut = gate_.active.load();
    CloseCivetServer(*server_, front_ ? "127.0.0.1:0" : listen_, front_ ? civet_port_ : port_);
    server_.reset();
  }
  if (front_) front_->Stop();
  handlers_.clear();
  return cut;
}

}  // namespace triage

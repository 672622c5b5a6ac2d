// triage_simulator: serves an imitation of one of the systems of the
// troubleshooting guides (the Echo API server, a dataplane node, or a
// Kubernetes API server holding a PersistentVolumeClaim), with switchable
// failure modes, so the exporter can be demonstrated and tested without a
// real deployment. One process plays one system (--system); the demo starts
// one per system, each on its own port. See tools/simulator/simulator.h and
// the *_system.h files for the routes and modes.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "base/log.h"
#include "tools/simulator/simulator.h"

namespace {

using triage::sim::Simulator;
using triage::sim::SimulatorOptions;

constexpr std::string_view kProgram = "triage_simulator";

// The listening address when --listen-address is not given: one port per
// system, so that the three can run side by side.
std::string DefaultListenAddress(std::string_view system) {
  if (system == "node") return "127.0.0.1:18082";
  if (system == "kube") return "127.0.0.1:18083";
  return "127.0.0.1:18081";
}

// "  echo  ok, unauthorized, ..." wrapped at 80 columns.
std::string ModeList(const std::string& system) {
  const std::string indent = "              ";
  std::string out = "  " + system + std::string(indent.size() - 2 - system.size(), ' ');
  size_t column = out.size();
  const auto& modes = Simulator::Modes(system);
  for (size_t i = 0; i < modes.size(); ++i) {
    const std::string word = modes[i] + (i + 1 < modes.size() ? "," : "");
    if (column + 1 + word.size() > 80 && column > indent.size()) {
      out += "\n" + indent;
      column = indent.size();
    } else if (column > indent.size()) {
      out += " ";
      ++column;
    }
    out += word;
    column += word.size();
  }
  return out + "\n";
}

void PrintUsage() {
  std::cout << "Usage: " << kProgram << " [flags]\n"
            << "\n"
            << "Imitates one system of the troubleshooting guides, failing on demand.\n"
            << "\n"
            << "Flags:\n"
            << "  --system=NAME               system to play: echo (default; the Echo API\n"
            << "                              server), node (a dataplane node) or kube (a\n"
            << "                              Kubernetes API server with a PersistentVolumeClaim)\n"
            << "  --listen-address=HOST:PORT  address to serve on (default 127.0.0.1:18081 for\n"
            << "                              echo, :18082 for node, :18083 for kube;\n"
            << "                              port 0 picks a free port)\n"
            << "  --mode=NAME                 initial mode (default ok)\n"
            << "  --scenario=FILE             YAML schedule of modes to play (see\n"
            << "                              tools/simulator/scenarios/demo.yaml, node-demo.yaml,\n"
            << "                              kube-demo.yaml)\n"
            << "  --token-file=FILE           require this bearer token (echo: /api/v2/* and\n"
            << "                              /metrics; node: /api/v1/* and /metrics; kube: all)\n"
            << "  --retry-after=SECONDS       Retry-After sent with echo's 429 (default 1)\n"
            << "  --date-offset=SECONDS       shift the Date header to imitate clock skew\n"
            << "                              (echo's mode clock_skew adds 300 s more)\n"
            << "  --help                      show this text\n"
            << "\n"
            << "Modes of each system (every system also has hang: requests get no answer):\n";
  for (const auto& system : triage::sim::SystemNames()) std::cout << ModeList(system);
  std::cout << "\n"
            << "Echo's http10 answers every route with an HTTP/1.0 status line (an upstream\n"
            << "a mesh proxy refuses); its clock_skew sends a Date 300 s ahead. Both otherwise\n"
            << "answer as ok.\n"
            << "Echo's no_traffic leaves every echo_http_requests_total sample out of\n"
            << "/metrics (process_* stay), as a server no one has called yet shows it;\n"
            << "the requests are still counted and show again in ok.\n"
            << "\n"
            << "Switch modes at run time (no token needed):\n"
            << "  curl -X POST 'http://127.0.0.1:18081/-/mode?mode=rate_limited'\n";
}

[[noreturn]] void Fail(const std::string& message) {
  std::cerr << kProgram << ": " << message << "\n";
  std::exit(1);
}

std::optional<int> ParseInt(std::string_view text) {
  int value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

// Reads the bearer token; trailing newlines (and carriage returns) are dropped
// so that `echo secret > file` works.
std::string ReadToken(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Fail("cannot read token file " + path);
  std::ostringstream buf;
  buf << in.rdbuf();
  std::string token = buf.str();
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
  if (token.empty()) Fail("token file " + path + " is empty");
  return token;
}

// The host part of a civetweb listening address, for the "listening" line.
std::string HostOf(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) return "0.0.0.0";
  return address.substr(0, colon);
}

}  // namespace

int main(int argc, char** argv) {
  SimulatorOptions options;
  std::optional<std::string> listen_address;
  std::string mode = "ok";
  std::optional<std::string> scenario_path;

  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      PrintUsage();
      return 0;
    }
    const size_t eq = arg.find('=');
    if (arg.substr(0, 2) != "--" || eq == std::string_view::npos) {
      Fail("unexpected argument \"" + std::string(arg) + "\" (flags look like --name=value; see --help)");
    }
    const std::string_view name = arg.substr(2, eq - 2);
    const std::string value(arg.substr(eq + 1));
    if (name == "listen-address") {
      if (value.empty()) Fail("--listen-address must not be empty");
      listen_address = value;
    } else if (name == "system") {
      options.system = value;
    } else if (name == "mode") {
      mode = value;
    } else if (name == "scenario") {
      scenario_path = value;
    } else if (name == "token-file") {
      options.token = ReadToken(value);
    } else if (name == "retry-after") {
      const auto v = ParseInt(value);
      if (!v || *v < 0) Fail("--retry-after wants a whole number of seconds >= 0, got \"" + value + "\"");
      options.retry_after_429 = *v;
    } else if (name == "date-offset") {
      const auto v = ParseInt(value);
      if (!v) Fail("--date-offset wants a whole number of seconds, got \"" + value + "\"");
      options.date_offset_seconds = *v;
    } else {
      Fail("unknown flag --" + std::string(name) + " (see --help)");
    }
  }

  const auto& systems = triage::sim::SystemNames();
  if (std::find(systems.begin(), systems.end(), options.system) == systems.end()) {
    std::string known;
    for (const auto& s : systems) known += (known.empty() ? "" : ", ") + s;
    Fail("unknown system \"" + options.system + "\"; expected one of: " + known);
  }
  options.listen_address = listen_address.value_or(DefaultListenAddress(options.system));

  Simulator sim(options);
  if (!sim.SetMode(mode)) {
    Fail("unknown mode \"" + mode + "\" for the " + options.system + " system (see --help for the list)");
  }
  std::optional<triage::sim::Scenario> scenario;
  if (scenario_path) {
    try {
      scenario = triage::sim::LoadScenarioFile(*scenario_path, options.system);
    } catch (const std::exception& e) {
      Fail(e.what());
    }
  }

  // Block the stop signals before any thread exists so that every thread
  // inherits the mask and sigwait() below is the only place they land.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  try {
    sim.Start();
  } catch (const std::exception& e) {
    Fail(e.what());
  }
  const std::string address = HostOf(options.listen_address) + ":" + std::to_string(sim.port());
  // Tests parse this line from stdout; the log line says the same on stderr.
  std::cout << "listening address=" << address << std::endl;
  triage::LogInfo("listening", {{"address", address},
                                {"system", options.system},
                                {"mode", sim.mode()},
                                {"token_required", options.token.empty() ? "false" : "true"}});
  if (scenario) {
    triage::LogInfo("playing scenario", {{"file", *scenario_path}});
    sim.PlayScenario(std::move(*scenario));
  }

  int sig = 0;
  sigwait(&stop_signals, &sig);
  triage::LogInfo("stopping", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
  sim.Stop();
  return 0;
}

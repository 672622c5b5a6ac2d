// triage_simulator: serves an imitation of the Echo API server with
// switchable failure modes, so the exporter can be demonstrated and tested
// without a real deployment. See tools/simulator/simulator.h for the routes.
#include <pthread.h>
#include <signal.h>

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

#include "exporter/log.h"
#include "tools/simulator/simulator.h"

namespace {

using triage::sim::Simulator;
using triage::sim::SimulatorOptions;

constexpr std::string_view kProgram = "triage_simulator";

void PrintUsage() {
  std::string modes;
  for (const auto& m : Simulator::Modes()) modes += (modes.empty() ? "" : ", ") + m;
  std::cout << "Usage: " << kProgram << " [flags]\n"
            << "\n"
            << "Imitates the Echo API server, failing on demand.\n"
            << "\n"
            << "Flags:\n"
            << "  --listen-address=HOST:PORT  address to serve on (default 127.0.0.1:18081;\n"
            << "                              port 0 picks a free port)\n"
            << "  --mode=NAME                 initial mode (default ok)\n"
            << "  --scenario=FILE             YAML schedule of modes to play (see\n"
            << "                              tools/simulator/scenarios/demo.yaml)\n"
            << "  --token-file=FILE           require this bearer token on /api/v2/* and /metrics\n"
            << "  --retry-after=SECONDS       Retry-After sent with 429 (default 1)\n"
            << "  --date-offset=SECONDS       shift the Date header to imitate clock skew\n"
            << "  --help                      show this text\n"
            << "\n"
            << "Modes: " << modes << "\n"
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
  options.listen_address = "127.0.0.1:18081";
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
      options.listen_address = value;
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

  Simulator sim(options);
  if (!sim.SetMode(mode)) Fail("unknown mode \"" + mode + "\" (see --help for the list)");
  std::optional<triage::sim::Scenario> scenario;
  if (scenario_path) {
    try {
      scenario = triage::sim::LoadScenarioFile(*scenario_path);
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

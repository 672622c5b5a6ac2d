// triage_exporter: probes the services of its configuration on their own
// schedule and serves the outcomes as Prometheus metrics.
#include <curl/curl.h>
#include <malloc.h>
#include <signal.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <string>

#include "collectors/registry.h"
#include "exporter/app.h"
#include "base/log.h"

namespace {

constexpr const char* kUsage = R"(usage: triage_exporter [flags]

Probes the services listed in its configuration on their own schedule and
serves what it sees as Prometheus metrics.

Flags:
  --config.file=PATH          configuration file (default: triage_exporter.yml)
  --config.check              validate the configuration, print the result, exit 0 or 1
  --web.listen-address=ADDR   address to serve on (default: :9479)
  --web.config.file=PATH      TLS and authentication of the endpoints (exporter-toolkit
                              format: tls_server_config, basic_auth_users with bcrypt
                              hashes; and bearer_token_file); every endpoint but
                              /-/healthy and /-/ready asks for the credentials
  --shard.count=N             replicas sharing the configuration (default: 1)
  --shard.index=I             the shard this replica runs, 0..N-1, or "hostname" for
                              the number after the last '-' of the host name, as in a
                              StatefulSet (default: 0)
  --log.level=LEVEL           debug, info, warn or error (default: info)
  --log.format=FORMAT         logfmt or json (default: logfmt)
  --version                   print the version and exit
  --help                      print this help and exit

Signals: SIGHUP reloads the configuration (as does POST /-/reload); a failed
reload keeps the running configuration. SIGTERM and SIGINT stop the exporter.
)";

struct Flags {
  std::string config_file = "triage_exporter.yml";
  bool config_check = false;
  std::string listen = ":9479";
  std::string web_config_file;
  std::string log_level = "info";
  std::string log_format = "logfmt";
  std::string shard_index = "0";
  std::string shard_count = "1";
};

// Accepts --name=value and --name value. Returns false (after printing why) on bad input.
bool ParseFlags(int argc, char** argv, Flags* f, int* exit_code) {
  const std::map<std::string, std::string*> valued = {
      {"--config.file", &f->config_file},
      {"--web.listen-address", &f->listen},
      {"--web.config.file", &f->web_config_file},
      {"--log.level", &f->log_level},
      {"--log.format", &f->log_format},
      {"--shard.index", &f->shard_index},
      {"--shard.count", &f->shard_count},
  };
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      *exit_code = 0;
      return false;
    }
    if (arg == "--version") {
      std::printf("triage_exporter version %s (revision %s)\n", TRIAGE_VERSION, TRIAGE_REVISION);
      *exit_code = 0;
      return false;
    }
    if (arg == "--config.check") {
      f->config_check = true;
      continue;
    }
    std::string name = arg, value;
    bool has_value = false;
    if (auto eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    }
    auto it = valued.find(name);
    if (it == valued.end()) {
      std::fprintf(stderr, "triage_exporter: unknown flag %s\n\n%s", name.c_str(), kUsage);
      *exit_code = 2;
      return false;
    }
    if (!has_value) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "triage_exporter: flag %s needs a value\n", name.c_str());
        *exit_code = 2;
        return false;
      }
      value = argv[++i];
    }
    *it->second = value;
  }
  if (!triage::SetLogLevel(f->log_level)) {
    std::fprintf(stderr, "triage_exporter: --log.level must be debug, info, warn or error\n");
    *exit_code = 2;
    return false;
  }
  if (!triage::SetLogFormat(f->log_format)) {
    std::fprintf(stderr, "triage_exporter: --log.format must be logfmt or json\n");
    *exit_code = 2;
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  int exit_code = 0;
  if (!ParseFlags(argc, argv, &flags, &exit_code)) return exit_code;

  // Buffers of 128 KiB and more (a scrape's copy of the probe table, gzip's
  // state, large bodies) come from mmap and go back to the system when
  // freed. glibc's default raises this threshold after each such free, and
  // the buffers then stay in the heap of whichever web thread served a
  // scrape: about 0.4 KiB per probe at 20,000 probes (bench/RESULTS.md).
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);

  curl_global_init(CURL_GLOBAL_DEFAULT);

  if (flags.config_check) {
    try {
      const triage::Config cfg = triage::LoadConfigFile(flags.config_file);
      std::printf("%s: OK, %zu services, %zu probes\n", flags.config_file.c_str(),
                  cfg.services.size(), cfg.probes.size());
      return 0;
    } catch (const triage::ConfigError& e) {
      std::fprintf(stderr, "%s\n", e.what());
      return 1;
    }
  }

  // Signals are taken by this thread alone (sigwait); every other thread,
  // including civetweb's and the event loop, inherits the blocked mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  triage::Shard shard;
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  const std::string host_env = std::getenv("HOSTNAME") ? std::getenv("HOSTNAME") : host;
  if (const std::string err = triage::ParseShard(flags.shard_index, flags.shard_count, host_env, &shard);
      !err.empty()) {
    std::fprintf(stderr, "triage_exporter: %s\n", err.c_str());
    return 2;
  }
  triage::App app({flags.config_file, flags.listen, flags.web_config_file, shard});
  try {
    app.Start();
  } catch (const triage::ConfigError& e) {
    triage::LogError("cannot load configuration", {{"err", e.what()}});
    return 1;
  } catch (const std::exception& e) {
    triage::LogError("cannot start", {{"err", e.what()}});
    return 1;
  }

  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig == SIGHUP) {
      triage::LogInfo("SIGHUP received, reloading configuration");
      std::string err;
      app.Reload(&err);
      continue;
    }
    triage::LogInfo("shutting down", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
    break;
  }
  app.Stop();
  curl_global_cleanup();
  return 0;
}

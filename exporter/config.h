// The exporter's configuration (docs/configuration.md): global defaults and the
// services with their probes. Loading validates everything; any problem is a
// ConfigError naming FILE:LINE:COLUMN and what was expected.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/collector.h"
#include "base/yaml_reader.h"

namespace triage {

struct GlobalConfig {
  std::chrono::milliseconds interval{15000};
  std::chrono::milliseconds timeout{5000};
  int max_in_flight = 512;
  std::string runbook_base_url = "http://localhost:9479/runbooks/";
};

struct ServiceConfig {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
};

struct Config {
  std::string file;
  GlobalConfig global;
  std::vector<ServiceConfig> services;
  // Every probe of every service, in file order.
  std::vector<std::shared_ptr<const ProbeSpec>> probes;
};

// Reads and validates a config file. Throws ConfigError.
Config LoadConfigFile(const std::string& path);
// Same, from text; `file` is the name used in error messages.
Config LoadConfigString(const std::string& text, const std::string& file);

// Label names the exporter sets itself; static labels may not use them.
bool IsReservedLabelName(std::string_view name);
// [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__".
bool IsValidLabelName(std::string_view name);

// True for an absolute http:// or https:// URL with a non-empty host (checked
// with libcurl's URL parser). Otherwise false, with the reason in `*why` when
// `why` is not null. Used by the kinds that take a `url:` key.
bool IsValidHttpUrl(std::string_view url, std::string* why);

}  // namespace triage

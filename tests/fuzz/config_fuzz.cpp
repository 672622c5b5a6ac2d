// The configuration loaders (--config.file and --web.config.file) on any
// bytes: a ConfigError is the only way they may refuse.
#include <cstddef>
#include <cstdint>
#include <string>

#include "exporter/config.h"
#include "exporter/web_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    triage::LoadConfigString(text, "/nonexistent/fuzz.yaml");
  } catch (const triage::ConfigError&) {
  }
  try {
    triage::LoadWebConfigString(text, "/nonexistent/web.yaml");
  } catch (const triage::ConfigError&) {
  }
  return 0;
}

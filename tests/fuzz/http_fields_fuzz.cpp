// Header values and timestamps a target controls: Retry-After, Date, a JSON
// error code, a Kubernetes RFC 3339 time, on any bytes.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "collectors/http_probe.h"
#include "collectors/kubernetes_pvc_probe.h"
#include "collectors/http_fetch.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  triage::ParseRetryAfter(text, std::chrono::system_clock::time_point{});
  triage::ParseHttpDate(text);
  triage::ParseImfFixdate(text);
  triage::SanitizeErrorCode(text);
  triage::ParseRfc3339(text);
  return 0;
}

// The Prometheus text-format parser (kind: scrape) on any bytes, with every
// label value decoded as the scrape kind does.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "exposition/exposition_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  triage::ExpositionOptions options;
  options.sample_limit = 10000;
  std::string decoded;
  triage::ParseExposition(body, options, [&decoded](const triage::ExpositionSample& s) {
    triage::IsValidMetricName(s.name);
    for (const auto& l : s.labels) {
      decoded.clear();
      triage::DecodeLabelValue(l.raw_value, decoded);
      triage::LabelValueEquals(l.raw_value, decoded);
    }
  });
  triage::ParseExpositionValue(body.substr(0, 64));
  return 0;
}

// The registry of probe kinds, keyed by the `kind:` value of a probe. Each
// kind lives in its own collectors/<kind>.{h,cpp} and is listed once in
// registry.cpp.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "collectors/collector.h"
#include "base/yaml_reader.h"

namespace triage {


// Parses the kind-specific keys of a probe map. `common` is already filled
// (name, kind, layer, interval, timeout, labels). Reads keys through `r`;
// the caller calls r.Finish() afterwards to reject unknown keys.
using ParseProbeFn = std::shared_ptr<const ProbeSpec> (*)(MapReader& r, ProbeCommon common);

struct CollectorKind {
  std::string_view name;
  ParseProbeFn parse;
  std::string_view summary;  // one line, for --help and docs/configuration.md
};

const CollectorKind* FindCollectorKind(std::string_view name);
const std::vector<CollectorKind>& CollectorKinds();

}  // namespace triage

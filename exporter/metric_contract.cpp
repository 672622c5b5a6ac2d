#include "exporter/metric_contract.h"

#include <sstream>

#include "exporter/metric_families.h"
#include "exporter/self_metrics.h"

namespace triage {

std::map<std::string, std::string> ExposedFamilies() {
  std::map<std::string, std::string> out;
  for (const auto& f : kFamilies) out[std::string(f.name)] = std::string(MetricTypeName(f.type));
  SelfMetrics self;
  std::string text;
  self.Render(text);
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# TYPE ", 0) != 0) continue;
    std::istringstream fields(line.substr(7));
    std::string name, type;
    fields >> name >> type;
    if (!name.empty()) out[name] = type;
  }
  return out;
}

std::set<std::string> ExposedSeriesNames() {
  std::set<std::string> out;
  for (const auto& [name, type] : ExposedFamilies()) {
    if (type == "histogram") {
      out.insert(name + "_bucket");
    } else {
      out.insert(name);
    }
    if (type == "histogram" || type == "summary") {
      out.insert(name + "_sum");
      out.insert(name + "_count");
    }
  }
  return out;
}

}  // namespace triage

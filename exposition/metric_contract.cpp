#include "exposition/metric_contract.h"

#include <algorithm>
#include <sstream>
#include <string_view>

#include "exposition/metric_families.h"
#include "exposition/self_metrics.h"

namespace triage {

std::vector<ReferenceFamily> MetricReference() {
  std::vector<ReferenceFamily> out;
  for (const auto& f : kFamilies) {
    ReferenceFamily r{std::string(f.name), std::string(MetricTypeName(f.type)), {},
                      std::string(f.help)};
    std::string_view labels = f.labels;
    while (!labels.empty()) {
      const size_t comma = labels.find(',');
      r.labels.emplace_back(labels.substr(0, comma));
      labels = comma == std::string_view::npos ? std::string_view() : labels.substr(comma + 1);
    }
    out.push_back(std::move(r));
  }
  // The self metrics, read back from the text they render.
  SelfMetrics self;
  std::string text;
  self.Render(text);
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# HELP ", 0) == 0) {
      const size_t space = line.find(' ', 7);
      out.push_back({line.substr(7, space - 7), "", {},
                     space == std::string::npos ? "" : line.substr(space + 1)});
    } else if (line.rfind("# TYPE ", 0) == 0 && !out.empty()) {
      out.back().type = line.substr(line.rfind(' ') + 1);
    } else if (!line.empty() && line[0] != '#' && !out.empty()) {
      // name{a="x",b="y"} value: collect the label names of every sample.
      const size_t open = line.find('{');
      if (open == std::string::npos) continue;
      std::string_view rest = std::string_view(line).substr(open + 1);
      while (!rest.empty() && rest[0] != '}') {
        const size_t eq = rest.find('=');
        if (eq == std::string_view::npos) break;
        const std::string label(rest.substr(0, eq));
        auto& labels = out.back().labels;
        if (label != "le" && std::find(labels.begin(), labels.end(), label) == labels.end()) {
          labels.push_back(label);
        }
        // Skip the quoted value (the self metrics' values hold no quotes).
        const size_t close = rest.find('"', eq + 2);
        if (close == std::string_view::npos) break;
        rest = rest.substr(close + 1);
        if (!rest.empty() && rest[0] == ',') rest = rest.substr(1);
      }
    }
  }
  return out;
}

std::map<std::string, std::string> ExposedFamilies() {
  std::map<std::string, std::string> out;
  for (const auto& f : MetricReference()) out[f.name] = f.type;
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

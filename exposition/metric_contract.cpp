#include "exposition/metric_contract.h"

#include <algorithm>
#include <sstream>
#include <string_view>

#include "exposition/exposition_parser.h"
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
  // The self metrics, read back from the text they render: name, help and
  // type from the HELP and TYPE lines, labels from the samples.
  SelfMetrics self;
  std::string text;
  self.Render(text);
  const size_t first_self = out.size();
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# HELP ", 0) == 0) {
      const size_t space = line.find(' ', 7);
      out.push_back({line.substr(7, space - 7), "", {},
                     space == std::string::npos ? "" : line.substr(space + 1)});
    } else if (line.rfind("# TYPE ", 0) == 0 && out.size() > first_self) {
      out.back().type = line.substr(line.rfind(' ') + 1);
    }
  }
  ParseExposition(text, {}, [&](const ExpositionSample& sample) {
    for (size_t i = first_self; i < out.size(); ++i) {
      // A histogram's samples are name_bucket, name_sum and name_count.
      if (!sample.name.starts_with(out[i].name)) continue;
      const std::string_view suffix = sample.name.substr(out[i].name.size());
      if (!suffix.empty() && suffix != "_bucket" && suffix != "_sum" && suffix != "_count") continue;
      auto& labels = out[i].labels;
      for (const auto& l : sample.labels) {
        if (l.name != "le" && std::find(labels.begin(), labels.end(), l.name) == labels.end()) {
          labels.emplace_back(l.name);
        }
      }
    }
  });
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

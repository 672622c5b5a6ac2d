// What the exporter exposes, as one set of facts for every consumer: the
// probe families of kFamilies plus the self metrics (triage_exporter_*,
// process_*), read from the text the self metrics actually render.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace triage {

// One family as docs/metrics.md describes it.
struct ReferenceFamily {
  std::string name;
  std::string type;                 // as on its "# TYPE" line
  std::vector<std::string> labels;  // beyond service, probe and static labels; no "le"
  std::string help;                 // its "# HELP" text
};

// Every family the exporter exposes: the probe families in kFamilies order,
// then the self metrics in the order they render.
std::vector<ReferenceFamily> MetricReference();

// Every metric family the exporter exposes, name -> type as written on its
// "# TYPE" line ("gauge", "counter", "histogram", "summary", "untyped").
std::map<std::string, std::string> ExposedFamilies();

// Every sample name a query can select: the family name itself, except for a
// histogram (name_bucket, name_sum, name_count) and a summary (name,
// name_sum, name_count).
std::set<std::string> ExposedSeriesNames();

}  // namespace triage

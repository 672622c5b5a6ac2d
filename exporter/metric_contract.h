// What the exporter exposes, as one set of facts for every consumer: the
// probe families of kFamilies plus the self metrics (triage_exporter_*,
// process_*), read from the text the self metrics actually render.
#pragma once

#include <map>
#include <set>
#include <string>

namespace triage {

// Every metric family the exporter exposes, name -> type as written on its
// "# TYPE" line ("gauge", "counter", "histogram", "summary", "untyped").
std::map<std::string, std::string> ExposedFamilies();

// Every sample name a query can select: the family name itself, except for a
// histogram (name_bucket, name_sum, name_count) and a summary (name,
// name_sum, name_count).
std::set<std::string> ExposedSeriesNames();

}  // namespace triage

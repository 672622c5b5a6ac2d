// Every check of `triage_rulegen check` that looks across the catalog, the
// metric contract and the runbooks.
#pragma once

#include <set>
#include <string>

#include "rules/rulegen/catalog.h"
#include "rules/rulegen/runbooks.h"

namespace triage::rulegen {

// The alert sections' required subsections, in order.
inline constexpr std::array<std::string_view, 5> kRunbookSubsections = {
    "Meaning", "Impact", "Diagnosis", "Mitigation", "Escalation"};

// `contract` holds every sample name the exporter exposes (see
// ExposedSeriesNames); recording rules and external_metrics are added here.
void Validate(const Catalog& catalog, const Runbooks& runbooks,
              const std::set<std::string>& contract, Diagnostics& diag);

}  // namespace triage::rulegen

// docs/metrics.md: the metric reference, written from the metric contract
// (exposition/metric_contract) and the failure reasons, so the page cannot
// drift from what the exporter exposes. `triage_rulegen metrics-reference`.
#pragma once

#include <string>

namespace triage::rulegen {

std::string MetricsReferenceMarkdown();

}  // namespace triage::rulegen

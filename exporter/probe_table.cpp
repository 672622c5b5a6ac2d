#include "exporter/probe_table.h"

namespace triage {
namespace {

template <typename GetSnap, typename Range>
void RenderGrouped(const Range& items, GetSnap get, std::string& out) {
  for (size_t i = 0; i < kFamilyCount; ++i) {
    const auto f = static_cast<FamilyId>(i);
    bool header = false;
    for (const auto& item : items) {
      const Snapshot* s = get(item);
      if (!s) continue;
      const std::string_view frag = s->Fragment(f);
      if (frag.empty()) continue;
      if (!header) {
        AppendFamilyHeader(out, kFamilies[i].name, MetricTypeName(kFamilies[i].type),
                           kFamilies[i].help);
        header = true;
      }
      out += frag;
    }
  }
}

}  // namespace

void ProbeTable::Reset(std::vector<ProbeEntry> entries) {
  std::lock_guard<std::mutex> lock(mu_);
  entries_ = std::move(entries);
}

std::shared_ptr<const Snapshot> ProbeTable::Publish(size_t index,
                                                   const std::shared_ptr<const Snapshot>& current,
                                                   const std::function<void(Snapshot&)>& fill) {
  std::lock_guard<std::mutex> lock(mu_);
  if (index >= entries_.size()) {
    auto snap = std::make_shared<Snapshot>();
    fill(*snap);
    return snap;
  }
  std::shared_ptr<const Snapshot>& held = entries_[index].snap;
  // Two owners: this table and the caller's `current`. Copies only come
  // from the table under mu_, so the count cannot rise while we hold it.
  if (held && held == current && held.use_count() == 2) {
    fill(const_cast<Snapshot&>(*held));
    return held;
  }
  auto snap = std::make_shared<Snapshot>();
  fill(*snap);
  held = snap;
  return snap;
}

std::vector<ProbeEntry> ProbeTable::All() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_;
}

std::shared_ptr<const ProbeSpec> ProbeTable::Find(std::string_view service,
                                                  std::string_view probe) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& e : entries_) {
    if (e.spec->common().service == service && e.spec->common().name == probe) return e.spec;
  }
  return nullptr;
}

void RenderProbeFamilies(const std::vector<ProbeEntry>& entries, std::string& out) {
  // One allocation of the right size: the text of every snapshot, and a
  // HELP/TYPE header per family.
  size_t size = out.size();
  for (const auto& e : entries) {
    if (e.snap) size += e.snap->text.size();
  }
  for (const auto& f : kFamilies) size += 2 * f.name.size() + f.help.size() + 32;
  out.reserve(size);
  RenderGrouped(entries, [](const ProbeEntry& e) { return e.snap.get(); }, out);
}

void RenderSnapshot(const Snapshot& snap, std::string& out) {
  const Snapshot* one[] = {&snap};
  RenderGrouped(one, [](const Snapshot* s) { return s; }, out);
}

}  // namespace triage

#include "kernel/address_table.hpp"

#include <climits>

namespace ndsip::kernel {

void AddressTable::replace(const std::vector<AddressEvent>& dump) {
  entries_.clear();
  for (const AddressEvent& e : dump) apply(e);
}

void AddressTable::apply(const AddressEvent& event) {
  const auto key = std::make_pair(event.address, event.ifindex);
  if (event.added) {
    entries_[key] = event.usable;
  } else {
    entries_.erase(key);
  }
}

bool AddressTable::present(const std::string& canonical) const {
  // Entries are ordered by address first: the ones for `canonical` are adjacent.
  for (auto it = entries_.lower_bound({canonical, INT_MIN}); it != entries_.end() && it->first.first == canonical; ++it) {
    if (it->second) return true;
  }
  return false;
}

std::set<std::string> AddressTable::present_all() const {
  std::set<std::string> out;
  for (const auto& [key, usable] : entries_) {
    if (usable) out.insert(key.first);
  }
  return out;
}

}  // namespace ndsip::kernel

// The addresses on the host, as the kernel announces them: an address is present while at
// least one interface holds it usable (not tentative: IPv6 duplicate address detection has
// not finished, so nothing can be sent from it; not DAD-failed). Pure: fed with a dump and
// with RTM_NEWADDR / RTM_DELADDR events, so the watcher's bookkeeping is tested without
// netlink.
#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace ndsip::kernel {

struct AddressEvent {
  std::string address;  // canonical text (canonical_address)
  int ifindex = 0;
  bool added = true;    // RTM_NEWADDR (also a change of flags); false: RTM_DELADDR
  bool usable = true;   // not tentative, not DAD-failed
};

class AddressTable {
 public:
  // Replaces everything with a dump (each entry an RTM_NEWADDR).
  void replace(const std::vector<AddressEvent>& dump);
  // One announcement. An event for an entry the table already has in that state changes
  // nothing, so replaying events the dump already contains is harmless.
  void apply(const AddressEvent& event);
  bool present(const std::string& canonical) const;
  // Every present address.
  std::set<std::string> present_all() const;

 private:
  std::map<std::pair<std::string, int>, bool> entries_;  // (address, ifindex) -> usable
};

}  // namespace ndsip::kernel

// libnl's addresses (struct nl_addr) as ndsip's Prefix.
#pragma once

#include "kernel/prefix.hpp"

struct nl_addr;

namespace ndsip::kernel {

// Family 0 for a null address. The prefix length is the address's own (libnl keeps
// selectors' and routes' lengths there); host bits are cleared.
Prefix prefix_of(nl_addr* address);
// The address itself as a host prefix (/32, /128), whatever length it carries.
Prefix address_of(nl_addr* address);

}  // namespace ndsip::kernel

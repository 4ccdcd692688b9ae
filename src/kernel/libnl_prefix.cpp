#include "kernel/libnl_prefix.hpp"

#include <netlink/addr.h>

namespace ndsip::kernel {

Prefix prefix_of(nl_addr* address) {
  if (!address) return {};
  return Prefix::from_bytes(nl_addr_get_family(address), static_cast<const std::uint8_t*>(nl_addr_get_binary_addr(address)),
                            nl_addr_get_len(address), nl_addr_get_prefixlen(address));
}

Prefix address_of(nl_addr* address) {
  if (!address) return {};
  return Prefix::host(nl_addr_get_family(address), static_cast<const std::uint8_t*>(nl_addr_get_binary_addr(address)),
                      nl_addr_get_len(address));
}

}  // namespace ndsip::kernel

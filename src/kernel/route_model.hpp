// charon's routing table as ndsip reads it (kernel-libipsec datapath): the routes of one
// table (220 by default) and whether the TUN device (ipsec0) exists. Plain values, filled
// from libnl-route (route_read.hpp) or by tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernel/prefix.hpp"

namespace ndsip::kernel {

struct Route {
  std::uint32_t table = 0;
  Prefix dst;                // 0.0.0.0/0 for a default route
  std::uint8_t type = 1;     // RTN_UNICAST; RTN_BLACKHOLE, _UNREACHABLE, _PROHIBIT, _THROW ...
  std::uint32_t metric = 0;  // RTA_PRIORITY: the lower wins between routes of one prefix
  std::vector<int> oifs;     // the output device of each next hop
  Prefix pref_src;           // family 0 when the route names no source address

  bool unicast() const { return type == 1; }
  // Every next hop leaves through `ifindex` (and there is one).
  bool only_through(int ifindex) const;
  // "198.51.100.11/32 dev #7 src 198.51.100.10 table 220" (devices by index: names are the
  // TUN device's only, see RouteSnapshot::describe).
  std::string str() const;
};

struct RouteSnapshot {
  std::uint32_t table = 220;
  std::string tun_name = "ipsec0";
  int tun_ifindex = 0;  // 0: there is no device of that name
  std::vector<Route> routes;  // of `table` only

  // A route with the TUN device by name: "198.51.100.11/32 dev ipsec0 table 220".
  std::string describe(const Route& route) const;
  // "dev ipsec0" or "dev #3".
  std::string device(int ifindex) const;
};

// "blackhole", "unreachable", ...; the number for others.
std::string route_type_name(std::uint8_t type);

}  // namespace ndsip::kernel

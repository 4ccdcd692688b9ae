#include "kernel/route_model.hpp"

#include <linux/rtnetlink.h>

#include <algorithm>

namespace ndsip::kernel {

std::string route_type_name(std::uint8_t type) {
  switch (type) {
    case RTN_UNICAST: return "unicast";
    case RTN_LOCAL: return "local";
    case RTN_BROADCAST: return "broadcast";
    case RTN_BLACKHOLE: return "blackhole";
    case RTN_UNREACHABLE: return "unreachable";
    case RTN_PROHIBIT: return "prohibit";
    case RTN_THROW: return "throw";
    default: return "type " + std::to_string(type);
  }
}

bool Route::only_through(int ifindex) const {
  return !oifs.empty() && std::all_of(oifs.begin(), oifs.end(), [&](int oif) { return oif == ifindex; });
}

std::string Route::str() const {
  RouteSnapshot none;
  none.table = table;
  none.tun_name.clear();
  return none.describe(*this);
}

std::string RouteSnapshot::device(int ifindex) const {
  if (ifindex != 0 && ifindex == tun_ifindex) return "dev " + tun_name;
  return "dev #" + std::to_string(ifindex);
}

std::string RouteSnapshot::describe(const Route& route) const {
  std::string out = route.unicast() ? "" : route_type_name(route.type) + " ";
  out += route.dst.str();
  for (int oif : route.oifs) out += " " + device(oif);
  if (route.pref_src.family != 0) out += " src " + route.pref_src.str(true);
  if (route.metric != 0) out += " metric " + std::to_string(route.metric);
  return out + " table " + std::to_string(route.table);
}

}  // namespace ndsip::kernel

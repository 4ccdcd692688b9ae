#include "kernel/route_match.hpp"

#include <map>

namespace ndsip::kernel {
namespace {

// The table's routes by destination, ordered as prefixes are (family, bytes, length): a
// check runs after every list-sas, at 10,000 CHILD_SAs too, so lookups, not scans.
using Index = std::map<Prefix, std::vector<std::size_t>>;

Index index_routes(const RouteSnapshot& table) {
  Index index;
  for (std::size_t i = 0; i < table.routes.size(); ++i) index[table.routes[i].dst].push_back(i);
  return index;
}

// The route the kernel would pick in this table for the whole selector: the longest prefix
// holding it, the lowest metric among those of that length.
std::optional<std::size_t> best_route(const RouteSnapshot& table, const Index& index, const Prefix& net) {
  for (int length = static_cast<int>(net.length); length >= 0; --length) {
    const Prefix candidate = Prefix::from_bytes(net.family, net.bytes.data(), net.bytes.size(), static_cast<unsigned>(length));
    const auto it = index.find(candidate);
    if (it == index.end()) continue;
    std::optional<std::size_t> best;
    for (std::size_t i : it->second) {
      if (!best || table.routes[i].metric < table.routes[*best].metric) best = i;
    }
    return best;
  }
  return std::nullopt;
}

// Every route whose destination lies inside `net` (itself included): contiguous in the index,
// from `net` on (a shorter prefix inside the range cannot exist; equal bytes with a shorter
// length sort before).
template <typename F>
void each_inside(const Index& index, const Prefix& net, F f) {
  for (auto it = index.lower_bound(net); it != index.end() && net.contains(it->first); ++it) {
    for (std::size_t i : it->second) f(i);
  }
}

}  // namespace

RouteMatch match_routes(const std::vector<ChildSaView>& children, const RouteSnapshot& table) {
  RouteMatch m;
  m.missing.resize(children.size());
  std::vector<bool> owned(table.routes.size(), false);
  const Index index = index_routes(table);
  const std::string via = " via " + table.tun_name + " (table " + std::to_string(table.table) + ")";
  auto into_tun = [&](const Route& r) {
    return r.unicast() && table.tun_ifindex != 0 && r.only_through(table.tun_ifindex);
  };

  for (std::size_t c = 0; c < children.size(); ++c) {
    const ChildSaView& child = children[c];
    std::vector<Entry>& missing = m.missing[c];
    const bool required = child.role != Role::leaving;
    for (const std::string& ts : child.unparsed_ts) {
      if (required) missing.push_back({EntryKind::selector, "traffic selector '" + ts + "' not understood"});
    }
    if (required && table.tun_ifindex == 0 && !child.remote_ts.empty()) {
      missing.push_back({EntryKind::device, "no TUN device " + table.tun_name});
    }
    for (const TrafficSelector& ts : child.remote_ts) {
      const Prefix& net = ts.net;
      const std::optional<std::size_t> best = best_route(table, index, net);
      const bool covered = best && into_tun(table.routes[*best]);
      if (covered) owned[*best] = true;
      each_inside(index, net, [&](std::size_t i) {
        const Route& r = table.routes[i];
        const bool r_into_tun = into_tun(r);
        // The selector's own route, or one carrying part of it into the device.
        if (r.dst == net || r_into_tun) owned[i] = true;
        // A more specific route inside the selector takes part of its traffic elsewhere.
        if (required && r.dst != net && !r_into_tun) {
          missing.push_back({EntryKind::route, "part of " + net.str() + " is routed by " + table.describe(r)});
        }
      });
      if (!required || covered) continue;
      std::string what = "route to " + net.str() + via;
      if (best) what += ": the kernel's is " + table.describe(table.routes[*best]);
      missing.push_back({EntryKind::route, what});
    }
  }

  for (std::size_t i = 0; i < table.routes.size(); ++i) {
    if (!owned[i]) m.stale.push_back({EntryKind::route, table.describe(table.routes[i])});
  }
  return m;
}

}  // namespace ndsip::kernel

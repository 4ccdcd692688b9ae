#include "kernel/rtnl_read.hpp"

#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <netlink/msg.h>
#include <netlink/object.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>

#include "kernel/libnl_prefix.hpp"

namespace ndsip::kernel {
namespace {

// nl_msg_parse hands the parsed object to a callback; this keeps a reference to it.
void keep(nl_object* object, void* arg) {
  nl_object_get(object);
  *static_cast<nl_object**>(arg) = object;
}

// The libnl object for a message, by its protocol and type (route/addr, route/link).
struct Parsed {
  nl_object* object = nullptr;
  explicit Parsed(nlmsghdr* message) {
    nl_msg* msg = nlmsg_convert(message);
    if (!msg) return;
    nlmsg_set_proto(msg, NETLINK_ROUTE);
    nl_object* parsed = nullptr;
    if (nl_msg_parse(msg, keep, &parsed) >= 0) object = parsed;
    else if (parsed) nl_object_put(parsed);
    nlmsg_free(msg);
  }
  ~Parsed() {
    if (object) nl_object_put(object);
  }
  Parsed(const Parsed&) = delete;
  Parsed& operator=(const Parsed&) = delete;
};

struct RouteRef {
  rtnl_route* route = nullptr;
  ~RouteRef() {
    if (route) rtnl_route_put(route);
  }
};

}  // namespace

std::optional<AddressEvent> read_address(nlmsghdr* message) {
  if (message->nlmsg_type != RTM_NEWADDR && message->nlmsg_type != RTM_DELADDR) return std::nullopt;
  Parsed parsed(message);
  if (!parsed.object) return std::nullopt;
  auto* addr = reinterpret_cast<rtnl_addr*>(parsed.object);
  // libnl's "local" is IFA_LOCAL when there is one (IPv4: IFA_ADDRESS is then the peer of a
  // point-to-point link), IFA_ADDRESS otherwise (IPv6): the host's own address either way.
  const Prefix local = address_of(rtnl_addr_get_local(addr));
  if (local.family == 0) return std::nullopt;
  AddressEvent e;
  e.address = local.str(true);
  e.ifindex = rtnl_addr_get_ifindex(addr);
  e.added = message->nlmsg_type == RTM_NEWADDR;
  const unsigned flags = static_cast<unsigned>(rtnl_addr_get_flags(addr));
  e.usable = (flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)) == 0;
  return e;
}

std::optional<Route> read_route(nlmsghdr* message) {
  if (message->nlmsg_type != RTM_NEWROUTE) return std::nullopt;
  RouteRef ref;
  if (rtnl_route_parse(message, &ref.route) < 0 || !ref.route) return std::nullopt;
  Route r;
  r.table = rtnl_route_get_table(ref.route);
  r.type = rtnl_route_get_type(ref.route);
  r.metric = rtnl_route_get_priority(ref.route);
  r.dst = prefix_of(rtnl_route_get_dst(ref.route));
  if (r.dst.family == 0) r.dst.family = rtnl_route_get_family(ref.route);
  r.pref_src = prefix_of(rtnl_route_get_pref_src(ref.route));
  const int hops = rtnl_route_get_nnexthops(ref.route);
  for (int i = 0; i < hops; ++i) {
    if (rtnl_nexthop* nh = rtnl_route_nexthop_n(ref.route, i)) r.oifs.push_back(rtnl_route_nh_get_ifindex(nh));
  }
  return r;
}

std::optional<std::uint32_t> route_table(nlmsghdr* message) {
  if (message->nlmsg_type != RTM_NEWROUTE && message->nlmsg_type != RTM_DELROUTE) return std::nullopt;
  RouteRef ref;
  if (rtnl_route_parse(message, &ref.route) < 0 || !ref.route) return std::nullopt;
  return rtnl_route_get_table(ref.route);
}

std::optional<Link> read_link(nlmsghdr* message) {
  if (message->nlmsg_type != RTM_NEWLINK) return std::nullopt;
  Parsed parsed(message);
  if (!parsed.object) return std::nullopt;
  auto* link = reinterpret_cast<rtnl_link*>(parsed.object);
  Link l;
  l.ifindex = rtnl_link_get_ifindex(link);
  if (const char* name = rtnl_link_get_name(link)) l.name = name;
  return l;
}

}  // namespace ndsip::kernel

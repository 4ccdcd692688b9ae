// rtnetlink messages -> ndsip's model, through libnl-route's parsers: addresses (the address
// watcher), routes and links (the libipsec inventory).
#pragma once

#include <optional>
#include <string>

#include "kernel/address_table.hpp"
#include "kernel/route_model.hpp"

struct nlmsghdr;

namespace ndsip::kernel {

// RTM_NEWADDR / RTM_DELADDR; nullopt for other messages or what libnl cannot parse.
std::optional<AddressEvent> read_address(nlmsghdr* message);
// RTM_NEWROUTE (dumps and notifications alike).
std::optional<Route> read_route(nlmsghdr* message);
// The table a route notification is about, without parsing the rest; nullopt if it is not one.
std::optional<std::uint32_t> route_table(nlmsghdr* message);

struct Link {
  int ifindex = 0;
  std::string name;
};
// RTM_NEWLINK.
std::optional<Link> read_link(nlmsghdr* message);

}  // namespace ndsip::kernel

#include "kernel/route_watcher.hpp"

#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <sys/socket.h>

#include <cerrno>

#include "kernel/mirror.hpp"
#include "kernel/rtnl_read.hpp"

namespace ndsip::kernel {
namespace {

Request link_by_name(const std::string& name) {
  Request r;
  r.type = RTM_GETLINK;
  r.dump = false;
  r.what = "link " + name;
  r.nothing_on = {ENODEV};  // no such device: libipsec is not running
  r.build = [name](nl_msg* msg) {
    ifinfomsg header{};
    if (const int err = nlmsg_append(msg, &header, sizeof header, NLMSG_ALIGNTO); err < 0) return err;
    return nla_put_string(msg, IFLA_IFNAME, name.c_str());
  };
  return r;
}

Request routes_of(int family, std::uint32_t table) {
  Request r;
  r.type = RTM_GETROUTE;
  r.what = std::string(family == AF_INET ? "IPv4" : "IPv6") + " route dump of table " + std::to_string(table);
  // No such table yet (nothing routed through it), or no IPv6 on this host: no routes.
  r.nothing_on = {ENOENT, EAFNOSUPPORT};
  r.build = [family, table](nl_msg* msg) {
    rtmsg header{};
    header.rtm_family = static_cast<unsigned char>(family);
    if (const int err = nlmsg_append(msg, &header, sizeof header, NLMSG_ALIGNTO); err < 0) return err;
    return nla_put_u32(msg, RTA_TABLE, table);  // the filter (strict checking)
  };
  return r;
}

}  // namespace

RouteWatcher::RouteWatcher(boost::asio::io_context& io) : RouteWatcher(io, Options{}) {}

RouteWatcher::RouteWatcher(boost::asio::io_context& io, Options options) : options_(std::move(options)) {
  snapshot_.table = reading_.table = options_.table;
  snapshot_.tun_name = reading_.tun_name = options_.tun_device;

  Mirror::Spec s;
  s.events.protocol = NETLINK_ROUTE;
  s.events.groups = {RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE, RTNLGRP_LINK};
  s.events.what = "route events";
  s.dumps.protocol = NETLINK_ROUTE;
  s.dumps.strict = true;
  s.dumps.what = "route dump";
  s.settle = options_.settle;
  s.timeout = options_.timeout;
  s.retry = options_.retry;
  s.requests = [this] {
    return std::vector<Request>{link_by_name(options_.tun_device), routes_of(AF_INET, options_.table),
                                routes_of(AF_INET6, options_.table)};
  };
  s.concerns = [this](nlmsghdr* h) {
    if (h->nlmsg_type == RTM_NEWLINK || h->nlmsg_type == RTM_DELLINK) return true;
    const auto table = route_table(h);
    return table && *table == options_.table;
  };
  s.begin = [this] {
    reading_.tun_ifindex = 0;
    reading_.routes.clear();
  };
  s.collect = [this](std::size_t index, nlmsghdr* h) {
    if (index == 0) {
      if (auto link = read_link(h); link && link->name == options_.tun_device) reading_.tun_ifindex = link->ifindex;
      return;
    }
    // Kernels without strict checking answer with every table: keep ours.
    if (auto route = read_route(h); route && route->table == options_.table) reading_.routes.push_back(std::move(*route));
  };
  s.commit = [this] {
    std::swap(snapshot_, reading_);
    reading_.routes.clear();
  };
  mirror_ = std::make_unique<Mirror>(io, std::move(s));
  mirror_->on_change([this] {
    if (on_change_) on_change_();
  });
}

RouteWatcher::~RouteWatcher() = default;

std::string RouteWatcher::error() const { return mirror_->error(); }
bool RouteWatcher::current() const { return mirror_->current(); }
void RouteWatcher::on_change(std::function<void()> handler) { on_change_ = std::move(handler); }
void RouteWatcher::refresh() { mirror_->refresh(); }
std::uint64_t RouteWatcher::generation() const { return mirror_->generation(); }

}  // namespace ndsip::kernel

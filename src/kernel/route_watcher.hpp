// charon's routing table and its TUN device (kernel-libipsec datapath), mirrored on the loop
// (mirror.hpp): read at start, read again after the kernel announces a route change in that
// table or any link change (RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE, RTNLGRP_LINK: IPv4 does
// not announce the routes a downed or deleted device takes with it), or drops
// announcements. Each reading asks for the device by name and for the table's routes only
// (NETLINK_GET_STRICT_CHK), not for every route of the host.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "kernel/route_model.hpp"

namespace ndsip::kernel {

class Mirror;

class RouteWatcher {
 public:
  struct Options {
    std::uint32_t table = 220;          // charon's routing_table
    std::string tun_device = "ipsec0";  // kernel-libipsec's device
    std::chrono::milliseconds settle{50};
    std::chrono::milliseconds timeout{10000};
    std::chrono::milliseconds retry{5000};
  };

  explicit RouteWatcher(boost::asio::io_context& io);
  RouteWatcher(boost::asio::io_context& io, Options options);
  ~RouteWatcher();
  RouteWatcher(const RouteWatcher&) = delete;
  RouteWatcher& operator=(const RouteWatcher&) = delete;

  const RouteSnapshot& snapshot() const { return snapshot_; }
  std::string error() const;
  bool current() const;
  void on_change(std::function<void()> handler);
  void refresh();
  std::uint64_t generation() const;

 private:
  Options options_;
  RouteSnapshot snapshot_, reading_;
  std::function<void()> on_change_;
  std::unique_ptr<Mirror> mirror_;
};

}  // namespace ndsip::kernel

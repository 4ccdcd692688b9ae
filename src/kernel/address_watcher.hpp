// Which of this node's addresses (its IKE end points in the topology) are on the host, kept
// live on the daemon's loop: one dump at start (RTM_GETADDR), then every RTM_NEWADDR /
// RTM_DELADDR the kernel announces (RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR), each change of
// a watched address reported to the handler. When the kernel drops announcements (ENOBUFS:
// the socket's buffer overran) the addresses are dumped again, on the loop, and the net
// changes reported. An address counts once it is usable (an IPv6 address still doing
// duplicate address detection is not). Netlink that cannot be used is an error state
// (error()), never an exception: the watcher retries every `retry`.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace ndsip::kernel {

class AddressWatcher {
 public:
  // `address` as given to watch(); `present`: on the host now.
  using Handler = std::function<void(const std::string& address, bool present)>;

  struct Options {
    int receive_buffer = 0;  // bytes for the announcement socket; 0: the kernel's default
    std::chrono::milliseconds timeout{10000};  // for a dump
    std::chrono::milliseconds retry{5000};     // after a failure
  };

  // Dumps the host's addresses (blocking, once). Never throws for netlink's sake.
  AddressWatcher(boost::asio::io_context& io, Handler handler);
  AddressWatcher(boost::asio::io_context& io, Handler handler, Options options);
  ~AddressWatcher();
  AddressWatcher(const AddressWatcher&) = delete;
  AddressWatcher& operator=(const AddressWatcher&) = delete;

  // The addresses to report on, replacing the set. They are compared as addresses
  // ("2001:DB8::1" is "2001:db8::1"); the handler gets them spelled as here. watch() itself
  // calls no handler: present() says where the new set stands.
  void watch(const std::set<std::string>& addresses);
  // On the host now (any address, watched or not); false for text that is no address. While
  // error() is set this is the last known state.
  bool present(const std::string& address) const;
  // The watched addresses that are not on the host (text that is no address included).
  std::vector<std::string> missing() const;
  // Why the view may be stale ("" when it is live): netlink unavailable, a failed dump.
  std::string error() const;
  // Dumps done so far (the first at start; tests wait on re-dumps).
  std::uint64_t dumps() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ndsip::kernel

// The kernel's view for ndsipd, in one place: is what charon reports for each CHILD_SA in
// the kernel, and what in the kernel does no CHILD_SA account for. It keeps live copies of
// the tables of the datapath(s) it may check (XFRM policies and states; charon's routing
// table and TUN device) on the daemon's loop, and checks against them without a system call,
// so check() can run after every list-sas.
//
//   kernel::Inventory inventory(io);                     // reads the kernel once, here
//   kernel::Report r = inventory.check(views);           // views: from list-sas (child_sa_from_vici.hpp)
//   r.children[i].verdict / .summary(), r.stale, r.datapath, r.error, r.current
//
// Netlink that cannot be used (no AF_NETLINK in a sandbox, XFRM without CAP_NET_ADMIN) is an
// error state: check() then says `unknown`, never `missing`.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kernel/check.hpp"
#include "kernel/child_sa_view.hpp"
#include "kernel/report.hpp"
#include "kernel/route_watcher.hpp"
#include "kernel/xfrm_watcher.hpp"

namespace ndsip::kernel {

struct InventoryOptions {
  DatapathSetting datapath = DatapathSetting::automatic;
  std::string tun_device = "ipsec0";  // charon's kernel-libipsec device
  std::uint32_t route_table = 220;    // charon's routing_table
  std::chrono::milliseconds settle{50};      // a burst of kernel changes -> one re-read this long after it starts
  std::chrono::milliseconds timeout{10000};  // for each read
  std::chrono::milliseconds retry{5000};     // after a failed read
};

class Inventory {
 public:
  explicit Inventory(boost::asio::io_context& io);
  Inventory(boost::asio::io_context& io, InventoryOptions options);
  ~Inventory();
  Inventory(const Inventory&) = delete;
  Inventory& operator=(const Inventory&) = delete;

  // The datapath checked now (the setting, or what the host shows).
  Datapath datapath() const;
  // Per CHILD_SA (in the order given): ok / missing (what) / unknown, and the stale entries.
  Report check(const std::vector<ChildSaView>& children) const;
  // The kernel entries no CHILD_SA of `children` accounts for (check(children).stale).
  std::vector<Entry> stale(const std::vector<ChildSaView>& children) const;
  // Why the datapath checked now cannot be read ("" when it can).
  std::string error() const;
  // Every change the kernel announced has been read back.
  bool current() const;
  // Runs after every new reading of a table (status may want to check again).
  void on_change(std::function<void()> handler);
  // Reads everything again soon.
  void refresh();

  // The live copies, for diagnostics and tests (null when the setting rules one out).
  const XfrmWatcher* xfrm() const { return xfrm_.get(); }
  const RouteWatcher* routes() const { return routes_.get(); }

 private:
  InventoryOptions options_;
  std::function<void()> on_change_;
  std::unique_ptr<XfrmWatcher> xfrm_;
  std::unique_ptr<RouteWatcher> routes_;
};

}  // namespace ndsip::kernel

#include "kernel/inventory.hpp"

namespace ndsip::kernel {

Inventory::Inventory(boost::asio::io_context& io) : Inventory(io, InventoryOptions{}) {}

Inventory::Inventory(boost::asio::io_context& io, InventoryOptions options) : options_(std::move(options)) {
  // Only the tables the setting may check are read: a libipsec host need not grant
  // CAP_NET_ADMIN for XFRM, an XFRM host need not watch routes.
  if (options_.datapath != DatapathSetting::libipsec) {
    XfrmWatcher::Options x;
    x.settle = options_.settle;
    x.timeout = options_.timeout;
    x.retry = options_.retry;
    xfrm_ = std::make_unique<XfrmWatcher>(io, x);
  }
  if (options_.datapath != DatapathSetting::xfrm) {
    RouteWatcher::Options r;
    r.table = options_.route_table;
    r.tun_device = options_.tun_device;
    r.settle = options_.settle;
    r.timeout = options_.timeout;
    r.retry = options_.retry;
    routes_ = std::make_unique<RouteWatcher>(io, r);
  }
  auto changed = [this] {
    if (on_change_) on_change_();
  };
  if (xfrm_) xfrm_->on_change(changed);
  if (routes_) routes_->on_change(changed);
}

Inventory::~Inventory() = default;

Datapath Inventory::datapath() const {
  const bool tun = routes_ && routes_->error().empty() && routes_->snapshot().tun_ifindex != 0;
  return choose_datapath(options_.datapath, tun);
}

std::string Inventory::error() const {
  if (datapath() == Datapath::xfrm) return xfrm_ ? xfrm_->error() : "XFRM is not read (datapath = libipsec)";
  return routes_ ? routes_->error() : "routes are not read (datapath = xfrm)";
}

bool Inventory::current() const {
  return datapath() == Datapath::xfrm ? xfrm_ && xfrm_->current() : routes_ && routes_->current();
}

Report Inventory::check(const std::vector<ChildSaView>& children) const {
  static const XfrmSnapshot no_xfrm;
  static const RouteSnapshot no_routes;
  return kernel::check(children, datapath(), xfrm_ ? xfrm_->snapshot() : no_xfrm,
                       routes_ ? routes_->snapshot() : no_routes, error(), current());
}

std::vector<Entry> Inventory::stale(const std::vector<ChildSaView>& children) const { return check(children).stale; }

void Inventory::on_change(std::function<void()> handler) { on_change_ = std::move(handler); }

void Inventory::refresh() {
  if (xfrm_) xfrm_->refresh();
  if (routes_) routes_->refresh();
}

}  // namespace ndsip::kernel

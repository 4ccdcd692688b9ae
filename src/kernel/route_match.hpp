// Pure matching of the CHILD_SAs charon reports against its routing table (kernel-libipsec
// datapath): charon routes each CHILD_SA's remote traffic selector into the TUN device, in
// its own table (220), so a selector whose traffic the table does not send into the device
// is a black hole, whatever charon says of the SA.
#pragma once

#include <vector>

#include "kernel/child_sa_view.hpp"
#include "kernel/report.hpp"
#include "kernel/route_model.hpp"

namespace ndsip::kernel {

struct RouteMatch {
  std::vector<std::vector<Entry>> missing;  // per child, in order; empty: all routed
  std::vector<Entry> stale;                 // routes of the table no child accounts for
};

// For installed children and traps, each remote selector must be covered: the table's
// longest matching route for it (the lowest metric among equals) is a unicast route into the
// TUN device, and no more specific route inside the selector leaves elsewhere. A route is
// accounted for when it has a child's remote selector as destination, or carries (part of)
// one into the TUN device, for a child of any role.
RouteMatch match_routes(const std::vector<ChildSaView>& children, const RouteSnapshot& table);

}  // namespace ndsip::kernel

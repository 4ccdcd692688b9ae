// The kernel check as one pure function: CHILD_SAs and the kernel's tables in, a Report out.
// Inventory calls it with its live copies; tests call it with hand-made ones.
#pragma once

#include <string>
#include <vector>

#include "kernel/child_sa_view.hpp"
#include "kernel/report.hpp"
#include "kernel/route_model.hpp"
#include "kernel/xfrm_model.hpp"

namespace ndsip::kernel {

// How to choose the datapath: by what is on the host, or as configured.
enum class DatapathSetting { automatic, xfrm, libipsec };
const char* to_string(DatapathSetting setting);

// automatic: libipsec while the TUN device exists (charon's kernel-libipsec creates it at
// start and it goes with charon), xfrm otherwise. charon's loaded plugins (VICI `stats`:
// "kernel-libipsec") say the same more directly, for a caller that has them.
Datapath choose_datapath(DatapathSetting setting, bool tun_device_present);

// xfrm: match_xfrm against `xfrm`; libipsec: match_routes against `routes`. With `error`
// set every CHILD_SA is unknown and nothing is stale (an unreadable kernel proves nothing).
Report check(const std::vector<ChildSaView>& children, Datapath datapath, const XfrmSnapshot& xfrm,
             const RouteSnapshot& routes, const std::string& error = {}, bool current = true);

}  // namespace ndsip::kernel

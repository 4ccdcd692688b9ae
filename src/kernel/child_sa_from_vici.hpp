// ChildSaViews from what ndsip's VICI client parses out of list-sas, so the daemon hands the
// inventory exactly what charon reported.
#pragma once

#include <vector>

#include "kernel/child_sa_view.hpp"
#include "vici/commands.hpp"

namespace ndsip::kernel {

// The role follows charon's CHILD_SA state: INSTALLED, UPDATING, REKEYING -> installed;
// ROUTED (a trap) -> trap; CREATED, INSTALLING, RETRYING, REKEYED, DELETING, DELETED,
// DESTROYING -> leaving (nothing required yet, or any more). The flows follow the mode
// (TRANSPORT has no fwd policy). Selectors that do not parse go to unparsed_ts.
ChildSaView view_of(const vici::ChildSa& child);
// Every CHILD_SA of every IKE_SA, in list-sas order.
std::vector<ChildSaView> views_of(const std::vector<vici::IkeSa>& sas);

}  // namespace ndsip::kernel

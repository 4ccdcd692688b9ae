// Pure matching of the CHILD_SAs charon reports against the kernel's XFRM policies and
// states (kernel-netlink datapath): which CHILD_SAs have everything in the kernel, what is
// missing for the others, and which IPsec policies and states no CHILD_SA owns.
#pragma once

#include <cstdint>
#include <vector>

#include "kernel/child_sa_view.hpp"
#include "kernel/report.hpp"
#include "kernel/xfrm_model.hpp"

namespace ndsip::kernel {

// One policy charon installs for a CHILD_SA.
struct ExpectedPolicy {
  Direction dir = Direction::out;
  Flow flow = Flow::out;
  TrafficSelector src, dst;
  std::uint32_t reqid = 0;
  // "out policy 198.51.100.10/32 -> 198.51.100.11/32 reqid 1"
  std::string str() const;
};

// Every policy of `child` (its flows, per pair of local and remote selectors of one family),
// whatever its role.
std::vector<ExpectedPolicy> expected_policies(const ChildSaView& child);

// True when `policy` has the direction and selector of `expected` (reqid not compared): the
// protocol is the more specific of the two selectors' (charon's ts2selector), ports in the
// kernel's port/mask form.
bool same_selector(const XfrmPolicy& policy, const ExpectedPolicy& expected);

struct XfrmMatch {
  std::vector<std::vector<Entry>> missing;  // per child, in order; empty: all there
  std::vector<Entry> stale;                 // IPsec policies and ESP/AH states no child owns
};

// Installed children need their policies (with a template of their reqid) and, where their
// SPIs are known, their inbound and outbound states; traps need their policies; leaving
// children need nothing. A policy or state that matches any child (any role) is owned.
// A state is also owned by a child of the same reqid whose SPIs are unknown.
XfrmMatch match_xfrm(const std::vector<ChildSaView>& children, const XfrmSnapshot& kernel);

}  // namespace ndsip::kernel

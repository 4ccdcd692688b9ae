// What the kernel check needs to know of one CHILD_SA charon reports (list-sas, or a trap
// from list-pols): a plain struct the caller fills, so the matching stays pure and testable.
// child_sa_from_vici.hpp fills it from ndsip's list-sas parse.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernel/traffic_selector.hpp"

namespace ndsip::kernel {

// The XFRM policies charon installs for a CHILD_SA, per pair of local and remote selectors
// (strongSwan's child_sa.c): out (local -> remote), in (remote -> local), and in tunnel mode
// fwd (remote -> local); fwd_out (local -> remote) only with the connection's
// policies_fwd_out option.
enum class Flow { out, in, fwd_in, fwd_out };
const char* to_string(Flow flow);

// What the kernel should hold for the CHILD_SA.
enum class Role {
  installed,  // INSTALLED (or rekeying): policies, states and routes
  trap,       // a trap policy (start_action = trap): policies and routes, no states
  leaving,    // REKEYED, DELETING, ...: nothing is required, but what it still has is not stale
};
const char* to_string(Role role);

struct ChildSaView {
  // Echoed in the result so the caller can find its tunnel; not used for matching.
  std::string name;
  std::uint64_t uniqueid = 0;

  Role role = Role::installed;
  std::uint32_t reqid = 0;  // 0: unknown (then policies are matched on their selectors only)
  std::vector<TrafficSelector> local_ts, remote_ts;
  // Selectors charon reported that could not be parsed: each one is a gap in the result,
  // never silently skipped.
  std::vector<std::string> unparsed_ts;
  std::vector<Flow> flows{Flow::out, Flow::in, Flow::fwd_in};
  std::uint8_t protocol = 50;           // IPPROTO_ESP (51: AH)
  std::uint32_t spi_in = 0, spi_out = 0;  // 0: unknown (then its states are not looked for)
};

// The flows charon installs by default for a mode: transport has no fwd policy.
std::vector<Flow> default_flows(bool tunnel_mode, bool fwd_out = false);

}  // namespace ndsip::kernel

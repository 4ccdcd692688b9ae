#include "kernel/child_sa_view.hpp"

namespace ndsip::kernel {

const char* to_string(Flow flow) {
  switch (flow) {
    case Flow::out: return "out";
    case Flow::in: return "in";
    case Flow::fwd_in: return "fwd";
    case Flow::fwd_out: return "fwd-out";
  }
  return "?";
}

const char* to_string(Role role) {
  switch (role) {
    case Role::installed: return "installed";
    case Role::trap: return "trap";
    case Role::leaving: return "leaving";
  }
  return "?";
}

std::vector<Flow> default_flows(bool tunnel_mode, bool fwd_out) {
  std::vector<Flow> flows{Flow::out, Flow::in};
  if (tunnel_mode) flows.push_back(Flow::fwd_in);
  if (tunnel_mode && fwd_out) flows.push_back(Flow::fwd_out);
  return flows;
}

}  // namespace ndsip::kernel

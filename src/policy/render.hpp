// Renderings of a NodePlan for operators and machines. All deterministic.
#pragma once

#include <string>

#include "policy/plan.hpp"

namespace ndsip::policy {

// A readable table: connection, peer, reference points, zone, profile, why; then the
// reference points outside NDS/IP and the credentials the node needs.
std::string render_table(const NodePlan& plan);

// The whole plan as JSON (2-space indent, keys sorted).
std::string render_json(const NodePlan& plan);

// The equivalent swanctl.conf `connections { }` block, for operators who want to read or
// compare it and for loading with `swanctl --load-conns`. Credentials are not part of it:
// they go into swanctl's x509/, x509ca/ and private/ directories (or over VICI).
std::string render_swanctl(const NodePlan& plan);

}  // namespace ndsip::policy

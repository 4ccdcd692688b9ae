// Joining names for messages and renderings (the planner's reasons, the table, swanctl lists).
// Header-only: it is one loop, and several parts want it without linking each other.
#pragma once

#include <string>
#include <vector>

namespace ndsip::common {

inline std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

}  // namespace ndsip::common

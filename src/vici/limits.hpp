// The protocol's limits, from the wire format: 1-byte name lengths, 2-byte value lengths,
// and charon's own cap on a packet. Nesting depth is ndsip's cap: charon's messages nest a
// handful of levels, and a bound keeps decoding and destruction off deep recursion.
#pragma once

#include <cstddef>

namespace ndsip::vici::limits {

inline constexpr std::size_t max_name = 255;
inline constexpr std::size_t max_value = 65535;
inline constexpr std::size_t max_packet = 512 * 1024;  // excluding the 4-byte length prefix
inline constexpr std::size_t max_depth = 64;

}  // namespace ndsip::vici::limits

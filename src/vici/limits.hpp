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
// ndsip's cap on what one streamed command (list-sas, list-certs, ...) may send: 10,000
// IKE_SAs list in about 10 MB. Past it the stream is refused and the connection closed, so a
// hostile or runaway stream cannot grow ndsipd without bound.
inline constexpr std::size_t max_stream_bytes = 64u * 1024 * 1024;

}  // namespace ndsip::vici::limits

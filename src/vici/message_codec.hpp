// Encoding and decoding of VICI message elements (the body of requests, responses and
// events). Both directions enforce the protocol's limits with an Error naming the element.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "vici/message.hpp"

namespace ndsip::vici {

enum class Element : std::uint8_t {
  section_start = 1,
  section_end = 2,
  key_value = 3,
  list_start = 4,
  list_item = 5,
  list_end = 6,
};

// Appends the encoded message to out. Throws Error(limit) for an over-long name or value or
// a tree deeper than limits::max_depth.
void encode_message(const Message& message, std::string& out);
std::string encode_message(const Message& message);

// Decodes a complete message. Any byte string either decodes or throws Error(malformed or
// limit); it never reads out of bounds, and what it allocates is bounded by the input size.
Message decode_message(std::span<const std::uint8_t> bytes);

}  // namespace ndsip::vici

// VICI packets: a type byte, a name for the types that carry one, and a message for the
// types that carry one. Framing (the 4-byte length) lives in frame.hpp.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "vici/message.hpp"

namespace ndsip::vici {

enum class PacketType : std::uint8_t {
  cmd_request = 0,       // name + message
  cmd_response = 1,      // message
  cmd_unknown = 2,       // nothing
  event_register = 3,    // name
  event_unregister = 4,  // name
  event_confirm = 5,     // nothing
  event_unknown = 6,     // nothing
  event = 7,             // name + message
};

const char* to_string(PacketType type);
bool has_name(PacketType type);
bool has_message(PacketType type);

struct Packet {
  PacketType type = PacketType::cmd_request;
  std::string name;
  Message message;

  bool operator==(const Packet& other) const = default;
};

// The packet with its 4-byte big-endian length prefix, ready to write. Throws Error(limit)
// for a name or packet over the protocol's limits, Error(usage) for a name on a type that
// has none or a missing one.
std::string encode_packet(const Packet& packet);

// Decodes one packet body (after the length prefix). Throws Error(malformed or limit).
Packet decode_packet(std::span<const std::uint8_t> body);

}  // namespace ndsip::vici

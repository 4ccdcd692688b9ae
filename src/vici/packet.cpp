#include "vici/packet.hpp"

#include "vici/error.hpp"
#include "vici/limits.hpp"
#include "vici/message_codec.hpp"

namespace ndsip::vici {

const char* to_string(PacketType type) {
  switch (type) {
    case PacketType::cmd_request: return "CMD_REQUEST";
    case PacketType::cmd_response: return "CMD_RESPONSE";
    case PacketType::cmd_unknown: return "CMD_UNKNOWN";
    case PacketType::event_register: return "EVENT_REGISTER";
    case PacketType::event_unregister: return "EVENT_UNREGISTER";
    case PacketType::event_confirm: return "EVENT_CONFIRM";
    case PacketType::event_unknown: return "EVENT_UNKNOWN";
    case PacketType::event: return "EVENT";
  }
  return "unknown";
}

bool has_name(PacketType type) {
  return type == PacketType::cmd_request || type == PacketType::event_register ||
         type == PacketType::event_unregister || type == PacketType::event;
}

bool has_message(PacketType type) {
  return type == PacketType::cmd_request || type == PacketType::cmd_response ||
         type == PacketType::event;
}

std::string encode_packet(const Packet& packet) {
  std::string out(4, '\0');  // length, filled in below
  out.push_back(static_cast<char>(packet.type));
  if (has_name(packet.type)) {
    if (packet.name.empty() || packet.name.size() > limits::max_name) {
      throw Error(ErrorKind::limit, std::string(to_string(packet.type)) + " name must be 1 to " +
                                        "255 bytes, got " + std::to_string(packet.name.size()));
    }
    out.push_back(static_cast<char>(packet.name.size()));
    out += packet.name;
  } else if (!packet.name.empty()) {
    throw Error(ErrorKind::usage,
                std::string(to_string(packet.type)) + " packets carry no name");
  }
  if (has_message(packet.type)) {
    encode_message(packet.message, out);
  } else if (!packet.message.empty()) {
    throw Error(ErrorKind::usage,
                std::string(to_string(packet.type)) + " packets carry no message");
  }
  const std::size_t body = out.size() - 4;
  if (body > limits::max_packet) {
    throw Error(ErrorKind::limit, "VICI packet of " + std::to_string(body) +
                                      " bytes is over the 524288-byte limit");
  }
  out[0] = static_cast<char>((body >> 24) & 0xff);
  out[1] = static_cast<char>((body >> 16) & 0xff);
  out[2] = static_cast<char>((body >> 8) & 0xff);
  out[3] = static_cast<char>(body & 0xff);
  return out;
}

Packet decode_packet(std::span<const std::uint8_t> body) {
  if (body.empty()) throw Error(ErrorKind::malformed, "empty VICI packet (no type byte)");
  if (body.size() > limits::max_packet) {
    throw Error(ErrorKind::limit, "VICI packet of " + std::to_string(body.size()) +
                                      " bytes is over the 524288-byte limit");
  }
  if (body[0] > static_cast<std::uint8_t>(PacketType::event)) {
    throw Error(ErrorKind::malformed, "unknown VICI packet type " + std::to_string(body[0]));
  }
  Packet packet;
  packet.type = static_cast<PacketType>(body[0]);
  std::size_t pos = 1;
  if (has_name(packet.type)) {
    if (body.size() < 2) {
      throw Error(ErrorKind::malformed,
                  std::string(to_string(packet.type)) + " packet truncated before its name");
    }
    const std::size_t len = body[1];
    if (len == 0) {
      throw Error(ErrorKind::malformed, std::string(to_string(packet.type)) + " has an empty name");
    }
    if (body.size() - 2 < len) {
      throw Error(ErrorKind::malformed,
                  std::string(to_string(packet.type)) + " name truncated (needs " +
                      std::to_string(len) + " bytes, " + std::to_string(body.size() - 2) +
                      " left)");
    }
    packet.name.assign(reinterpret_cast<const char*>(body.data() + 2), len);
    pos = 2 + len;
  }
  if (has_message(packet.type)) {
    packet.message = decode_message(body.subspan(pos));
  } else if (pos != body.size()) {
    throw Error(ErrorKind::malformed, std::string(to_string(packet.type)) + " packet has " +
                                          std::to_string(body.size() - pos) +
                                          " unexpected trailing bytes");
  }
  return packet;
}

}  // namespace ndsip::vici

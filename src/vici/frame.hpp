// Splits a byte stream into VICI packets. Bytes arrive in arbitrary chunks from the socket;
// a length over the limit is refused before anything is buffered for it, so a hostile or
// broken peer cannot make the reader allocate without bound.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "vici/packet.hpp"

namespace ndsip::vici {

class FrameReader {
 public:
  // Adds received bytes. Throws Error(limit) when a length prefix is over the limit.
  void feed(std::span<const std::uint8_t> bytes);
  // The next complete packet, if any. Throws Error(malformed/limit) for a bad packet; the
  // stream cannot be resynchronised after that, so the caller closes the connection.
  std::optional<Packet> next();
  // Bytes of a packet begun but not finished (non-zero at EOF means a truncated packet).
  std::size_t pending() const { return buffer_.size() - consumed_; }

 private:
  std::string buffer_;
  std::size_t consumed_ = 0;
};

}  // namespace ndsip::vici

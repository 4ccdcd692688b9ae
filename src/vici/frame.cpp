#include "vici/frame.hpp"

#include "vici/error.hpp"
#include "vici/limits.hpp"

namespace ndsip::vici {
namespace {

std::size_t read_length(const std::string& buf, std::size_t at) {
  auto b = [&](std::size_t i) { return static_cast<std::size_t>(static_cast<unsigned char>(buf[at + i])); };
  return (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
}

}  // namespace

void FrameReader::feed(std::span<const std::uint8_t> bytes) {
  // Drop what was consumed before growing, so the buffer holds at most one partial packet
  // plus what has just arrived.
  if (consumed_ > 0) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  buffer_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  if (buffer_.size() >= 4 && read_length(buffer_, 0) > limits::max_packet) {
    throw Error(ErrorKind::limit, "VICI peer announced a packet of " +
                                      std::to_string(read_length(buffer_, 0)) +
                                      " bytes, over the 524288-byte limit");
  }
}

std::optional<Packet> FrameReader::next() {
  const std::size_t avail = buffer_.size() - consumed_;
  if (avail < 4) return std::nullopt;
  const std::size_t len = read_length(buffer_, consumed_);
  if (len > limits::max_packet) {
    throw Error(ErrorKind::limit, "VICI peer announced a packet of " + std::to_string(len) +
                                      " bytes, over the 524288-byte limit");
  }
  if (avail - 4 < len) return std::nullopt;
  auto body = std::span<const std::uint8_t>(
      reinterpret_cast<const std::uint8_t*>(buffer_.data()) + consumed_ + 4, len);
  consumed_ += 4 + len;
  return decode_packet(body);
}

}  // namespace ndsip::vici

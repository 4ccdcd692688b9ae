// libFuzzer target for everything that parses bytes from the VICI socket: the stream framer
// and the packet/message decoder. Besides "no crash, no sanitizer report", it checks a
// property that can fail: whatever decodes re-encodes to the same bytes and decodes to the
// same packet (the codec is canonical), so a decoder that silently drops or reorders
// elements is caught too.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "vici/error.hpp"
#include "vici/frame.hpp"
#include "vici/packet.hpp"

using namespace ndsip::vici;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input(data, size);

  // 1. As one packet body.
  try {
    const Packet packet = decode_packet(input);
    const std::string wire = encode_packet(packet);
    const std::string body = wire.substr(4);
    if (body.size() != size || body.compare(0, size, reinterpret_cast<const char*>(data), size)) {
      std::abort();  // decoded but not canonical: something was lost or changed
    }
    FrameReader again;
    again.feed(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(wire.data()),
                                             wire.size()));
    if (!(again.next() == packet)) std::abort();
  } catch (const Error&) {
  }

  // 2. As a byte stream arriving in uneven chunks (chunk sizes taken from the data).
  try {
    FrameReader reader;
    std::size_t pos = 0;
    while (pos < size) {
      const std::size_t chunk = 1 + (data[pos] % 17);
      const std::size_t n = std::min(chunk, size - pos);
      reader.feed(input.subspan(pos, n));
      pos += n;
      while (reader.next()) {
      }
    }
  } catch (const Error&) {
  }
  return 0;
}

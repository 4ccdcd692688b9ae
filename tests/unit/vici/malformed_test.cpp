// Malformed input, one case per way a packet can be wrong. Each must give an Error of the
// expected kind (never a crash, never a silent partial message).
#include <gtest/gtest.h>

#include "vici/error.hpp"
#include "vici/frame.hpp"
#include "vici/packet.hpp"

using namespace ndsip::vici;

namespace {

struct Case {
  const char* name;
  std::string body;  // packet body, after the length prefix
  ErrorKind kind;
};

std::string S(const char* s, std::size_t n) { return std::string(s, n); }

// A CMD_RESPONSE carrying `message` bytes.
std::string response(const std::string& message) { return S("\x01", 1) + message; }

std::vector<Case> cases() {
  return {
      {"empty_packet", "", ErrorKind::malformed},
      {"unknown_packet_type", S("\x08", 1), ErrorKind::malformed},
      {"packet_type_255", S("\xff", 1), ErrorKind::malformed},
      {"request_without_name", S("\x00", 1), ErrorKind::malformed},
      {"request_empty_name", S("\x00\x00", 2), ErrorKind::malformed},
      {"request_name_truncated", S("\x00\x05ver", 5), ErrorKind::malformed},
      {"event_name_truncated", S("\x07\x0a" "ike", 5), ErrorKind::malformed},
      {"register_without_name", S("\x03", 1), ErrorKind::malformed},
      {"confirm_with_trailing_bytes", S("\x05\x00", 2), ErrorKind::malformed},
      {"unknown_with_trailing_bytes", S("\x02xyz", 4), ErrorKind::malformed},
      {"unregister_with_trailing_message", S("\x04\x01" "e" "\x03\x01k\x00\x00", 9),
       ErrorKind::malformed},
      {"unknown_element_type_0", response(S("\x00", 1)), ErrorKind::malformed},
      {"unknown_element_type_7", response(S("\x07", 1)), ErrorKind::malformed},
      {"key_without_name_length", response(S("\x03", 1)), ErrorKind::malformed},
      {"key_empty_name", response(S("\x03\x00\x00\x00", 4)), ErrorKind::malformed},
      {"key_name_truncated", response(S("\x03\x09" "key", 5)), ErrorKind::malformed},
      {"value_length_truncated", response(S("\x03\x01k\x00", 4)), ErrorKind::malformed},
      {"value_truncated", response(S("\x03\x01k\x00\x05" "ab", 7)), ErrorKind::malformed},
      {"oversized_value_length", response(S("\x03\x01k\xff\xff" "short", 10)),
       ErrorKind::malformed},
      {"section_end_without_start", response(S("\x02", 1)), ErrorKind::malformed},
      {"unterminated_section", response(S("\x01\x01s\x03\x01k\x00\x01v", 10)),
       ErrorKind::malformed},
      {"two_unterminated_sections", response(S("\x01\x01s\x01\x01t", 6)), ErrorKind::malformed},
      {"section_name_truncated", response(S("\x01\x04" "ab", 4)), ErrorKind::malformed},
      {"section_empty_name", response(S("\x01\x00\x02", 3)), ErrorKind::malformed},
      {"list_item_outside_list", response(S("\x05\x00\x01x", 4)), ErrorKind::malformed},
      {"list_end_without_start", response(S("\x06", 1)), ErrorKind::malformed},
      {"unterminated_list", response(S("\x04\x01l\x05\x00\x01x", 7)), ErrorKind::malformed},
      {"list_inside_list", response(S("\x04\x01l\x04\x01m\x06\x06", 8)), ErrorKind::malformed},
      {"section_inside_list", response(S("\x04\x01l\x01\x01s\x02\x06", 8)), ErrorKind::malformed},
      {"key_value_inside_list", response(S("\x04\x01l\x03\x01k\x00\x00\x06", 9)),
       ErrorKind::malformed},
      {"section_end_inside_list", response(S("\x01\x01s\x04\x01l\x02", 7)),
       ErrorKind::malformed},
      {"list_item_length_truncated", response(S("\x04\x01l\x05\x00", 5)), ErrorKind::malformed},
      {"list_item_truncated", response(S("\x04\x01l\x05\x00\x09" "abc", 9)),
       ErrorKind::malformed},
      {"event_with_bad_message", S("\x07\x03log\x09", 6), ErrorKind::malformed},
  };
}

class Malformed : public ::testing::TestWithParam<Case> {};

}  // namespace

TEST_P(Malformed, GivesAClearError) {
  const Case& c = GetParam();
  auto body = std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(c.body.data()),
                                            c.body.size());
  try {
    Packet p = decode_packet(body);
    FAIL() << c.name << " decoded as " << to_string(p.type) << "\n" << describe(p.message);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), c.kind) << c.name << ": " << e.what();
    EXPECT_GT(std::string(e.what()).size(), 10u) << "error text says too little";
  }
  // The same bytes through the stream reader give the same error.
  std::string framed(4, '\0');
  framed[3] = static_cast<char>(c.body.size());
  framed += c.body;
  FrameReader reader;
  reader.feed(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(framed.data()),
                                            framed.size()));
  EXPECT_THROW(reader.next(), Error) << c.name;
}

// Not `info`: the macro's generated function has a parameter of that name (-Wshadow in g++).
INSTANTIATE_TEST_SUITE_P(Vici, Malformed, ::testing::ValuesIn(cases()),
                         [](const auto& p) { return std::string(p.param.name); });

TEST(ViciMalformedFrame, OversizedLengthPrefix) {
  FrameReader reader;
  const std::string len("\xff\xff\xff\xff", 4);
  EXPECT_THROW(reader.feed(std::span<const std::uint8_t>(
                   reinterpret_cast<const std::uint8_t*>(len.data()), len.size())),
               Error);
}

TEST(ViciMalformedFrame, TruncatedPacketStaysPending) {
  FrameReader reader;
  const std::string partial("\x00\x00\x00\x10\x01\x03", 6);
  reader.feed(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(partial.data()),
                                            partial.size()));
  EXPECT_FALSE(reader.next().has_value());
  EXPECT_EQ(reader.pending(), 6u);  // the session reports this as "in the middle of a packet"
}

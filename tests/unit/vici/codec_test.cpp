// Round trips and exact encodings for every element and packet type, and each limit on both
// the encoding and the decoding side.
#include <gtest/gtest.h>

#include "vici/error.hpp"
#include "vici/frame.hpp"
#include "vici/limits.hpp"
#include "vici/message_codec.hpp"
#include "vici/packet.hpp"

using namespace ndsip::vici;

namespace {

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

Message round_trip(const Message& m) { return decode_message(bytes_of(encode_message(m))); }

ErrorKind kind_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.kind();
  }
  ADD_FAILURE() << "no error thrown";
  return ErrorKind::usage;
}

}  // namespace

TEST(ViciCodec, EncodesKeyValueExactly) {
  Message m;
  m.set("key", "val");
  EXPECT_EQ(encode_message(m), std::string("\x03\x03key\x00\x03val", 10));
}

TEST(ViciCodec, EncodesSectionsAndListsExactly) {
  Message m;
  m.add_section("s").set_list("l", {"a", ""});
  const std::string expected("\x01\x01s"          // section start "s"
                             "\x04\x01l"          // list start "l"
                             "\x05\x00\x01" "a"   // item "a"
                             "\x05\x00\x00"       // item ""
                             "\x06"               // list end
                             "\x02",              // section end
                             15);
  EXPECT_EQ(encode_message(m), expected);
}

TEST(ViciCodec, RoundTripsEveryElementType) {
  Message m;
  m.set("k", "v").set("empty", "");
  m.set_list("list", {"one", "two", "three"}).set_list("nolist", {});
  Section& child = m.add_section("child");
  child.set("ck", "cv");
  child.add_section("grandchild").set_list("gl", {"x"});
  m.add_section("emptysection");
  EXPECT_EQ(round_trip(m), m);
}

TEST(ViciCodec, RoundTripsBinaryValues) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  Message m;
  m.set("bin", all).set_list("binlist", {all, std::string(1, '\0')});
  const Message back = round_trip(m);
  EXPECT_EQ(*back.find_value("bin"), all);
  EXPECT_EQ(back, m);
}

TEST(ViciCodec, KeepsDuplicateNamesInOrder) {
  Message m;
  m.set("dup", "1").set("dup", "2");
  const Message back = round_trip(m);
  ASSERT_EQ(back.entries().size(), 2u);
  EXPECT_EQ(back.entries()[1].value, "2");
}

TEST(ViciCodec, NameLimitIs255) {
  Message ok;
  ok.set(std::string(255, 'n'), "v");
  EXPECT_EQ(round_trip(ok), ok);
  Message too_long;
  too_long.set(std::string(256, 'n'), "v");
  EXPECT_EQ(kind_of([&] { encode_message(too_long); }), ErrorKind::limit);
  Message too_long_section;
  too_long_section.add_section(std::string(256, 's'));
  EXPECT_EQ(kind_of([&] { encode_message(too_long_section); }), ErrorKind::limit);
  Message empty_name;
  empty_name.set("", "v");
  EXPECT_EQ(kind_of([&] { encode_message(empty_name); }), ErrorKind::limit);
}

TEST(ViciCodec, ValueLimitIs65535) {
  Message ok;
  ok.set("v", std::string(limits::max_value, 'x'));
  EXPECT_EQ(round_trip(ok), ok);
  Message too_long;
  too_long.set("v", std::string(limits::max_value + 1, 'x'));
  EXPECT_EQ(kind_of([&] { encode_message(too_long); }), ErrorKind::limit);
  Message too_long_item;
  too_long_item.set_list("l", {std::string(limits::max_value + 1, 'x')});
  EXPECT_EQ(kind_of([&] { encode_message(too_long_item); }), ErrorKind::limit);
}

TEST(ViciCodec, DepthLimitOnEncodeAndDecode) {
  auto nested = [](std::size_t depth) {
    Message root;
    Section* s = &root;
    for (std::size_t i = 0; i < depth; ++i) s = &s->add_section("s");
    return root;
  };
  const Message deep_ok = nested(limits::max_depth);
  EXPECT_EQ(round_trip(deep_ok), deep_ok);
  EXPECT_EQ(kind_of([&] { encode_message(nested(limits::max_depth + 1)); }), ErrorKind::limit);
  // The decoder refuses the same depth from raw bytes.
  std::string raw;
  for (std::size_t i = 0; i <= limits::max_depth; ++i) raw += std::string("\x01\x01s", 3);
  for (std::size_t i = 0; i <= limits::max_depth; ++i) raw += "\x02";
  EXPECT_EQ(kind_of([&] { decode_message(bytes_of(raw)); }), ErrorKind::limit);
}

TEST(ViciPacket, RoundTripsAllEightTypes) {
  Message body;
  body.set("k", "v");
  const std::vector<Packet> packets = {
      {PacketType::cmd_request, "list-sas", body},
      {PacketType::cmd_response, "", body},
      {PacketType::cmd_unknown, "", {}},
      {PacketType::event_register, "ike-updown", {}},
      {PacketType::event_unregister, "ike-updown", {}},
      {PacketType::event_confirm, "", {}},
      {PacketType::event_unknown, "", {}},
      {PacketType::event, "child-updown", body},
  };
  for (const Packet& p : packets) {
    const std::string wire = encode_packet(p);
    FrameReader reader;
    reader.feed(bytes_of(wire));
    std::optional<Packet> back = reader.next();
    ASSERT_TRUE(back.has_value()) << to_string(p.type);
    EXPECT_EQ(*back, p) << to_string(p.type);
    EXPECT_EQ(reader.pending(), 0u);
  }
}

TEST(ViciPacket, EncodesRequestExactly) {
  Message args;
  args.set("a", "b");
  const std::string wire = encode_packet({PacketType::cmd_request, "version", args});
  const std::string expected("\x00\x00\x00\x0f"  // length 15
                             "\x00"              // CMD_REQUEST
                             "\x07version"       // name
                             "\x03\x01" "a" "\x00\x01" "b",
                             19);
  EXPECT_EQ(wire, expected);
}

TEST(ViciPacket, PacketLimitIs512KiB) {
  // A request whose body is `body` bytes: type, name "x", then one list whose items fill
  // the rest (list start 3 bytes, list end 1, each item 3 + its length).
  auto request_of_size = [](std::size_t body) {
    std::size_t left = body - 3 - 4;
    std::vector<std::string> items;
    while (left > 0) {
      const std::size_t take = std::min(left, limits::max_value + 3);
      items.emplace_back(take - 3, 'v');
      left -= take;
    }
    Message m;
    m.set_list("l", items);
    return Packet{PacketType::cmd_request, "x", m};
  };
  const std::string wire = encode_packet(request_of_size(limits::max_packet));
  EXPECT_EQ(wire.size(), limits::max_packet + 4);
  FrameReader reader;
  reader.feed(bytes_of(wire));
  EXPECT_TRUE(reader.next().has_value());
  EXPECT_EQ(kind_of([&] { encode_packet(request_of_size(limits::max_packet + 1)); }),
            ErrorKind::limit);
}

TEST(ViciPacket, NamesOnlyWhereTheTypeHasOne) {
  EXPECT_EQ(kind_of([] { encode_packet({PacketType::cmd_response, "x", {}}); }), ErrorKind::usage);
  EXPECT_EQ(kind_of([] { encode_packet({PacketType::cmd_request, "", {}}); }), ErrorKind::limit);
  EXPECT_EQ(kind_of([] { encode_packet({PacketType::event, std::string(256, 'e'), {}}); }),
            ErrorKind::limit);
  Message m;
  m.set("k", "v");
  EXPECT_EQ(kind_of([&] { encode_packet({PacketType::event_confirm, "", m}); }), ErrorKind::usage);
}

TEST(ViciFrame, ReassemblesPacketsSplitAtEveryByte) {
  Message m;
  m.set("k", "v").add_section("s").set_list("l", {"1", "2"});
  const std::string wire = encode_packet({PacketType::event, "log", m}) +
                           encode_packet({PacketType::cmd_response, "", m});
  FrameReader reader;
  std::vector<Packet> got;
  for (char c : wire) {
    reader.feed(bytes_of(std::string(1, c)));
    while (auto p = reader.next()) got.push_back(*p);
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].name, "log");
  EXPECT_EQ(got[1].message, m);
  EXPECT_EQ(reader.pending(), 0u);
}

TEST(ViciFrame, RefusesAnOversizedLengthBeforeBuffering) {
  FrameReader reader;
  const std::string huge("\x00\x08\x00\x01", 4);  // 524289
  EXPECT_EQ(kind_of([&] { reader.feed(bytes_of(huge)); }), ErrorKind::limit);
}

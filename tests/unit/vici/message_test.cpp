#include <gtest/gtest.h>

#include "vici/message.hpp"

using ndsip::vici::Section;

TEST(ViciMessage, BuildersKeepOrderAndLookupsFindFirst) {
  Section m;
  m.set("a", "1").set_list("l", {"x", "y"}).set("a", "2");
  m.add_section("s").set("inner", "v");
  ASSERT_EQ(m.entries().size(), 4u);
  EXPECT_EQ(m.entries()[0].name, "a");
  EXPECT_EQ(m.entries()[2].value, "2");
  EXPECT_EQ(*m.find_value("a"), "1");
  EXPECT_EQ(m.find_list("l")->size(), 2u);
  EXPECT_EQ(m.find_section("s")->value_or("inner"), "v");
  EXPECT_EQ(m.find_value("l"), nullptr);  // a list is not a value
  EXPECT_EQ(m.find_section("a"), nullptr);
  EXPECT_EQ(m.value_or("missing", "dflt"), "dflt");
}

TEST(ViciMessage, NumbersAndFlags) {
  Section m;
  m.set("n", "12345").set("bad", "12x").set("empty", "").set("yes", "yes").set("no", "no");
  EXPECT_EQ(m.number("n"), 12345u);
  EXPECT_FALSE(m.number("bad").has_value());
  EXPECT_FALSE(m.number("empty").has_value());
  EXPECT_FALSE(m.number("missing").has_value());
  EXPECT_TRUE(m.flag("yes"));
  EXPECT_FALSE(m.flag("no"));
  EXPECT_FALSE(m.flag("missing"));
}

TEST(ViciMessage, DescribeNeverShowsCredentialData) {
  Section m;
  m.set("type", "ecdsa").set("data", "-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----");
  m.add_section("secrets").set("secret", "hunter2");
  m.set("blob", std::string("\x00\x01\x02", 3));
  const std::string text = ndsip::vici::describe(m);
  EXPECT_NE(text.find("type = ecdsa"), std::string::npos);
  EXPECT_EQ(text.find("PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(text.find("hunter2"), std::string::npos);
  EXPECT_NE(text.find("blob = <3 bytes>"), std::string::npos);
}

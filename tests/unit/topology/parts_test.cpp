// The topology part's building blocks on their own: addresses, names, hints, scanners,
// quoting, enum names and lookups.
#include <gtest/gtest.h>

#include "topology/address.hpp"
#include "topology/model.hpp"
#include "topology/names.hpp"
#include "topology/report.hpp"
#include "topology/text.hpp"

using namespace ndsip::topology;
using namespace ndsip::topology::detail;

TEST(Address, ParsesAndCanonicalises) {
  EXPECT_EQ(to_text(*parse_ip("192.0.2.1")), "192.0.2.1");
  EXPECT_EQ(to_text(*parse_ip("2001:DB8:0:0:0:0:0:1")), "2001:db8::1");
  EXPECT_EQ(to_text(*parse_ip("::ffff:192.0.2.1")), "::ffff:192.0.2.1");
  EXPECT_FALSE(parse_ip("192.0.2").has_value());
  EXPECT_FALSE(parse_ip("192.0.2.1 ").has_value());
  EXPECT_FALSE(parse_ip(" 192.0.2.1").has_value());
  EXPECT_FALSE(parse_ip("192.0.2.256").has_value());
  EXPECT_FALSE(parse_ip("0x7f.0.0.1").has_value());
  EXPECT_FALSE(parse_ip("2001:db8::1::2").has_value());
  EXPECT_FALSE(parse_ip("").has_value());
  EXPECT_FALSE(parse_ip(std::string("192.0.2.1\0x", 11)).has_value());
  EXPECT_FALSE(parse_ip(std::string(100, '1')).has_value());
}

TEST(Address, UnusableEndPoints) {
  EXPECT_EQ(unusable_reason(*parse_ip("192.0.2.1")), nullptr);
  EXPECT_EQ(unusable_reason(*parse_ip("2001:db8::1")), nullptr);
  EXPECT_NE(unusable_reason(*parse_ip("0.0.0.0")), nullptr);
  EXPECT_NE(unusable_reason(*parse_ip("::")), nullptr);
  EXPECT_NE(unusable_reason(*parse_ip("::1")), nullptr);
  EXPECT_NE(unusable_reason(*parse_ip("224.0.0.5")), nullptr);
  EXPECT_NE(unusable_reason(*parse_ip("255.255.255.255")), nullptr);
  EXPECT_NE(unusable_reason(*parse_ip("fe80::1")), nullptr);
  EXPECT_NE(unusable_reason(*parse_ip("ff05::2")), nullptr);
}

TEST(Address, Prefixes) {
  PrefixParse p = parse_prefix("198.51.100.0/24");
  EXPECT_EQ(p.error, PrefixError::none);
  EXPECT_EQ(to_text(p.prefix), "198.51.100.0/24");
  p = parse_prefix("2001:DB8::/32");
  EXPECT_EQ(p.error, PrefixError::none);
  EXPECT_EQ(to_text(p.prefix), "2001:db8::/32");
  p = parse_prefix("198.51.100.77/25");
  EXPECT_EQ(p.error, PrefixError::host_bits);
  EXPECT_EQ(to_text(p.prefix), "198.51.100.0/25");
  p = parse_prefix("198.51.100.200/25");
  EXPECT_EQ(p.error, PrefixError::host_bits);
  EXPECT_EQ(to_text(p.prefix), "198.51.100.128/25");
  EXPECT_EQ(parse_prefix("2001:db8::1/127").error, PrefixError::host_bits);
  EXPECT_EQ(parse_prefix("2001:db8::1/128").error, PrefixError::none);
  EXPECT_EQ(parse_prefix("198.51.100.0").error, PrefixError::not_cidr);
  EXPECT_EQ(parse_prefix("x/24").error, PrefixError::bad_address);
  EXPECT_EQ(parse_prefix("198.51.100.0/").error, PrefixError::bad_length);
  EXPECT_EQ(parse_prefix("198.51.100.0/-1").error, PrefixError::bad_length);
  EXPECT_EQ(parse_prefix("198.51.100.0/+8").error, PrefixError::bad_length);
  EXPECT_EQ(parse_prefix("198.51.100.0/1000").error, PrefixError::bad_length);
  EXPECT_EQ(parse_prefix("2001:db8::/129").error, PrefixError::bad_length);
  EXPECT_EQ(parse_prefix("198.51.100.0/24/8").error, PrefixError::bad_length);
  EXPECT_EQ(to_text(host_prefix(*parse_ip("2001:db8::5"))), "2001:db8::5/128");
}

TEST(Names, NodeAndDomainNames) {
  EXPECT_TRUE(is_valid_name("gms-a"));
  EXPECT_TRUE(is_valid_name("a"));
  EXPECT_TRUE(is_valid_name(std::string(32, 'a')));
  EXPECT_FALSE(is_valid_name(std::string(33, 'a')));
  EXPECT_FALSE(is_valid_name(""));
  EXPECT_FALSE(is_valid_name("1a"));
  EXPECT_FALSE(is_valid_name("-a"));
  EXPECT_FALSE(is_valid_name("a_b"));
  EXPECT_FALSE(is_valid_name("a.b"));
  EXPECT_FALSE(is_valid_name("Gms"));
}

TEST(Names, Identities) {
  EXPECT_EQ(fqdn_problem("gms-a.operator-a.example"), nullptr);
  EXPECT_EQ(fqdn_problem("A.B"), nullptr);
  EXPECT_EQ(fqdn_problem("1gms.example"), nullptr);  // RFC 1123 allows a leading digit
  EXPECT_NE(fqdn_problem(""), nullptr);
  EXPECT_NE(fqdn_problem("example"), nullptr);
  EXPECT_NE(fqdn_problem(".example"), nullptr);
  EXPECT_NE(fqdn_problem("a..example"), nullptr);
  EXPECT_NE(fqdn_problem("a.example."), nullptr);
  EXPECT_NE(fqdn_problem("a-.example"), nullptr);
  EXPECT_NE(fqdn_problem("a b.example"), nullptr);
  EXPECT_NE(fqdn_problem("*.example"), nullptr);
  EXPECT_NE(fqdn_problem("192.0.2.1"), nullptr);
}

TEST(Names, DistinguishedNames) {
  EXPECT_EQ(dn_problem("C=DE, O=Operator A, CN=CA"), nullptr);
  EXPECT_EQ(dn_problem("CN=CA"), nullptr);
  EXPECT_EQ(dn_problem("2.5.4.3=CA"), nullptr);
  EXPECT_NE(dn_problem(""), nullptr);
  EXPECT_NE(dn_problem("   "), nullptr);
  EXPECT_NE(dn_problem("Operator A CA"), nullptr);
  EXPECT_NE(dn_problem("=CA"), nullptr);
  EXPECT_NE(dn_problem("CN=CA\n"), nullptr);
}

TEST(Report, Pointers) {
  EXPECT_EQ(pointer("", "nodes"), "/nodes");
  EXPECT_EQ(pointer("/nodes", 3), "/nodes/3");
  EXPECT_EQ(pointer("", "a/b~c"), "/a~1b~0c");
  EXPECT_EQ(pointer("", ""), "/");
}

TEST(Report, Quote) {
  EXPECT_EQ(quote("x"), "\"x\"");
  EXPECT_EQ(quote("a\"b\n"), "\"a\\\"b\\n\"");
  const std::string long_text(100, 'y');
  EXPECT_EQ(quote(long_text), "\"" + std::string(64, 'y') + "...\"");
  // Shortening never splits a UTF-8 sequence.
  std::string accents;
  for (int i = 0; i < 70; ++i) accents += "\xc3\xa9";
  const std::string q = quote(accents);
  EXPECT_EQ(q.size(), 1 + 64 * 2 + 3 + 1);
}

TEST(Report, Hints) {
  const std::vector<std::string> keys = {"name", "addresses", "identity", "protects", "ca_id"};
  EXPECT_EQ(closest("adresses", keys), "addresses");
  EXPECT_EQ(closest("Name", keys), "name");
  EXPECT_EQ(closest("identiy", keys), "identity");
  EXPECT_EQ(closest("caid", keys), "ca_id");
  EXPECT_FALSE(closest("ca", keys).has_value());
  EXPECT_FALSE(closest("zzzzzz", keys).has_value());
  EXPECT_FALSE(closest("", keys).has_value());
  EXPECT_EQ(hint("protect", keys), " (did you mean \"protects\"?)");
  EXPECT_EQ(hint("qqq", keys), "");
  EXPECT_EQ(edit_distance("kitten", "sitting", 10), 3u);
  EXPECT_GT(edit_distance("a", "abcdefgh", 2), 2u);
}

TEST(Text, Utf8) {
  EXPECT_FALSE(invalid_utf8_at("plain ascii").has_value());
  EXPECT_FALSE(invalid_utf8_at("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x92").has_value());
  EXPECT_EQ(invalid_utf8_at("ab\x80"), 2u);            // lone continuation
  EXPECT_EQ(invalid_utf8_at("\xc3"), 0u);              // truncated
  EXPECT_EQ(invalid_utf8_at("\xc1\xbf"), 0u);          // overlong 2-byte
  EXPECT_EQ(invalid_utf8_at("\xe0\x80\xaf"), 0u);      // overlong 3-byte
  EXPECT_EQ(invalid_utf8_at("\xed\xa0\x80"), 0u);      // surrogate
  EXPECT_EQ(invalid_utf8_at("\xf0\x80\x80\xaf"), 0u);  // overlong 4-byte
  EXPECT_EQ(invalid_utf8_at("\xf4\x90\x80\x80"), 0u);  // above U+10FFFF
  EXPECT_EQ(invalid_utf8_at("\xf5\x80\x80\x80"), 0u);
  EXPECT_EQ(invalid_utf8_at("x\xe2\x82"), 1u);
  EXPECT_EQ(invalid_utf8_at("\xe2\x28\xa1"), 0u);  // bad third byte
}

TEST(Text, Depth) {
  EXPECT_FALSE(too_deep_at("[[]]", 2).has_value());
  EXPECT_EQ(too_deep_at("[[[]]]", 2), 2u);
  EXPECT_EQ(too_deep_at("{\"a\":[{}]}", 2), 6u);
  EXPECT_FALSE(too_deep_at("[\"[[[[\"]", 2).has_value());
  EXPECT_FALSE(too_deep_at("[\"\\\"[[[[\"]", 2).has_value());  // escaped quote stays in the string
  EXPECT_EQ(too_deep_at("[\"\\\\\"[[]", 2), 6u);               // escaped backslash ends it
  EXPECT_FALSE(too_deep_at("]]]]][[", 2).has_value());         // closers cannot buy depth
  EXPECT_EQ(line_at("a\nb\nc", 4), 3);
  EXPECT_EQ(line_at("a\nb", 100), 2);
}

TEST(Model, EnumNamesRoundTrip) {
  EXPECT_EQ(all_services().size(), 7u);
  for (Service s : all_services()) EXPECT_EQ(service_from_string(to_string(s)), s);
  for (Role r : all_roles()) EXPECT_EQ(role_from_string(to_string(r)), r);
  EXPECT_FALSE(service_from_string("Group-Management").has_value());
  EXPECT_FALSE(role_from_string("").has_value());
  EXPECT_STREQ(to_string(Service::network_resource_management), "network-resource-management");
  EXPECT_STREQ(to_string(Role::val_server), "val-server");
}

TEST(Model, Lookups) {
  Topology t;
  t.domains = {{"operator-a", "CN=A", {}}};
  Node n;
  n.name = "gms-a";
  t.nodes.push_back(n);
  EXPECT_EQ(t.node("gms-a"), &t.nodes[0]);
  EXPECT_EQ(t.node("gms-b"), nullptr);
  EXPECT_EQ(t.domain("operator-a"), &t.domains[0]);
  EXPECT_EQ(t.domain("x"), nullptr);
}

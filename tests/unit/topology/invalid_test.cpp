// Invalid topologies, one mistake each (plus the echoes a mistake must cause, counted), with
// the exact JSON pointer and a fragment of the message the operator gets.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "base.hpp"
#include "topology/load.hpp"

using ndsip::topology::load_topology_text;
using ndsip::topology::LoadResult;
using ndsip::topology::Problem;
using nlohmann::json;

namespace {

struct Case {
  std::string name;       // test name suffix
  std::string text;       // the topology
  std::string pointer;    // expected pointer
  std::string fragment;   // expected part of the message
  std::size_t count = 1;  // problems in total
};

std::ostream& operator<<(std::ostream& os, const Case& c) { return os << c.name; }

// The base topology with a JSON Patch (RFC 6902) applied, pretty-printed so lines differ.
std::string patched(const std::string& ops) {
  return ndsip::topology::test::base().patch(json::parse(ops)).dump(2);
}
std::string replace(const std::string& ptr, const std::string& value) {
  return patched(R"([{"op": "replace", "path": ")" + ptr + R"(", "value": )" + value + "}]");
}
std::string add(const std::string& ptr, const std::string& value) {
  return patched(R"([{"op": "add", "path": ")" + ptr + R"(", "value": )" + value + "}]");
}
std::string remove(const std::string& ptr) {
  return patched(R"([{"op": "remove", "path": ")" + ptr + R"("}])");
}
std::string rename(const std::string& from, const std::string& to) {
  return patched(R"([{"op": "move", "from": ")" + from + R"(", "path": ")" + to + R"("}])");
}

const std::string extra_val = R"({"name": "val-9", "role": "val-server", "domain": "operator-a",
  "addresses": ["192.0.2.30"], "identity": "val-9.operator-a.example"})";

std::string all(const LoadResult& r) {
  std::string out;
  for (const Problem& p : r.problems) out += "  " + p.to_string() + "\n";
  return out;
}

const Case cases[] = {
    // The text itself.
    {"empty_file", "", "", "the file is empty"},
    {"only_white_space", " \n\t\r\n", "", "only white space"},
    {"syntax_error", "{\n  \"version\": 1,\n  \"name\": \n}", "", "not valid JSON"},
    {"trailing_garbage", "{\"version\": 1} x", "", "not valid JSON"},
    {"not_utf8", "{\"version\": 1, \"name\": \"caf\xe9\"}", "", "not UTF-8"},
    {"overlong_utf8", "{\"name\": \"\xc0\xaf\"}", "", "invalid byte 0xc0"},
    {"nul_byte", std::string("{\"version\": 1\0}", 15), "", "binary data"},
    {"too_deep", std::string(33, '[') + std::string(33, ']'), "", "nesting deeper than 32"},
    {"number_overflow", "{\"version\": 1e999}", "", "not valid JSON"},
    {"top_level_array", "[]", "", "the top level must be an object, got an array"},
    {"top_level_string", "\"topology\"", "", "got the string \"topology\""},
    {"duplicate_key",
     "{\"version\": 1, \"name\": \"a\", \"name\": \"b\", \"domains\": [],"
     " \"nodes\": []}",
     "/name", "duplicate key \"name\"", 2},
    // The top level.
    {"missing_version", remove("/version"), "", "missing key \"version\""},
    {"version_2", replace("/version", "2"), "/version", "unsupported version 2"},
    {"version_string", replace("/version", "\"1\""), "/version",
     "must be the number 1, got the string \"1\""},
    {"version_float", replace("/version", "1.5"), "/version", "must be the number 1"},
    {"unknown_top_key", add("/extra", "1"), "/extra", "unknown key \"extra\""},
    {"key_with_slash", add("/a~1b", "1"), "/a~1b", "unknown key \"a/b\""},
    {"name_not_string", replace("/name", "7"), "/name", "must be a string, got the number 7"},
    {"name_empty", replace("/name", "\"\""), "/name", "must not be empty"},
    {"missing_domains", remove("/domains"), "", "missing key \"domains\""},
    {"domains_not_array", replace("/domains", "{}"), "/domains", "must be an array, got an object"},
    {"missing_nodes", remove("/nodes"), "", "missing key \"nodes\""},
    {"nodes_empty", replace("/nodes", "[]"), "/nodes", "is empty",
     6},  // + the 5 references into it
    {"service_uses_not_array", replace("/service_uses", "null"), "/service_uses",
     "must be an array, got null"},
    {"comment_not_string", add("/nodes/0/comment", "[]"), "/nodes/0/comment", "must be a string"},
    // Domains.
    {"domain_not_object", add("/domains/-", "\"operator-c\""), "/domains/2", "must be an object"},
    {"domain_name_empty", add("/domains/-", R"({"name": "", "ca_id": "CN=C"})"), "/domains/2/name",
     "\"\" is not a valid domain name"},
    {"domain_name_upper", replace("/domains/1/name", "\"Operator-B\""), "/domains/1/name",
     "\"Operator-B\" is not a valid domain name", 2},  // + gms-b's domain is now unknown
    {"domain_name_duplicate", add("/domains/-", R"({"name": "operator-a", "ca_id": "CN=C"})"),
     "/domains/2/name", "duplicate domain name \"operator-a\" (first at /domains/0/name)"},
    {"ca_id_empty", replace("/domains/0/ca_id", "\" \""), "/domains/0/ca_id", "must not be empty"},
    {"ca_id_not_dn", replace("/domains/0/ca_id", "\"Operator A CA\""), "/domains/0/ca_id",
     "is not a distinguished name"},
    {"ca_id_not_string", replace("/domains/0/ca_id", "42"), "/domains/0/ca_id", "must be a string"},
    {"ca_id_missing", remove("/domains/1/ca_id"), "/domains/1", "missing key \"ca_id\""},
    {"ca_id_typo", rename("/domains/0/ca_id", "/domains/0/ca-id"), "/domains/0/ca-id",
     "unknown key \"ca-id\" (did you mean \"ca_id\"?)", 2},  // + missing ca_id
    {"segs_not_array", replace("/domains/0/segs", "\"seg-a\""), "/domains/0/segs",
     "must be an array"},
    {"segs_unknown_node", add("/domains/0/segs/-", "\"seg-x\""), "/domains/0/segs/1",
     "unknown node \"seg-x\""},
    {"segs_other_domain", add("/domains/0/segs/-", "\"gms-b\""), "/domains/0/segs/1",
     "\"gms-b\" is a node of domain \"operator-b\""},
    {"segs_twice", add("/domains/0/segs/-", "\"seg-a\""), "/domains/0/segs/1",
     "\"seg-a\" is listed twice (first at /domains/0/segs/0)"},
    {"seg_not_listed", remove("/domains/0/segs"), "/nodes/2",
     "seg node is not listed in /domains/0/segs"},
    // Nodes.
    {"node_not_object", add("/nodes/-", "[]"), "/nodes/4", "must be an object, got an array"},
    {"node_name_missing", remove("/nodes/2/name"), "/nodes/2", "missing key \"name\""},
    {"node_name_bad",
     add("/nodes/-", R"({"name": "9val", "role": "val-server", "domain": "operator-a",
       "addresses": ["192.0.2.30"], "identity": "val-9.operator-a.example"})"),
     "/nodes/4/name", "\"9val\" is not a valid node name"},
    {"node_name_underscore", replace("/nodes/1/name", "\"val_1\""), "/nodes/1/name",
     "\"val_1\" is not a valid node name", 2},  // + service_uses names "val-1"
    {"node_name_too_long", replace("/nodes/3/name", "\"g" + std::string(32, 'x') + "\""),
     "/nodes/3/name", "is not a valid node name", 2},  // + the interconnect names "gms-b"
    {"node_name_duplicate",
     add("/nodes/-", R"({"name": "val-1", "role": "val-server", "domain": "operator-a",
       "addresses": ["192.0.2.30"], "identity": "val-9.operator-a.example"})"),
     "/nodes/4/name", "duplicate node name \"val-1\" (first at /nodes/1/name)"},
    {"node_unknown_key", add("/nodes/1/protect", "[]"), "/nodes/1/protect",
     "unknown key \"protect\" (did you mean \"protects\"?)"},
    {"node_addresses_typo", rename("/nodes/1/addresses", "/nodes/1/adresses"), "/nodes/1/adresses",
     "unknown key \"adresses\" (did you mean \"addresses\"?)", 2},  // + missing addresses
    {"role_unknown", replace("/nodes/0/role", "\"seal-srver\""), "/nodes/0/role",
     "unknown role \"seal-srver\" (did you mean \"seal-server\"?)"},
    {"role_unknown_no_hint", replace("/nodes/1/role", "\"client\""), "/nodes/1/role",
     "roles are seal-server, val-server or seg"},
    {"role_not_string", replace("/nodes/1/role", "true"), "/nodes/1/role",
     "must be a string, got true"},
    {"role_missing", remove("/nodes/1/role"), "/nodes/1", "missing key \"role\""},
    {"domain_unknown", replace("/nodes/1/domain", "\"operatr-a\""), "/nodes/1/domain",
     "unknown domain \"operatr-a\" (did you mean \"operator-a\"?)"},
    {"domain_missing", remove("/nodes/1/domain"), "/nodes/1", "missing key \"domain\""},
    {"seal_server_without_services", remove("/nodes/3/services"), "/nodes/3",
     "missing key \"services\" (a seal-server lists the services it offers)"},
    {"seal_server_empty_services", replace("/nodes/3/services", "[]"), "/nodes/3/services",
     "is empty; a seal-server offers at least one service"},
    {"services_on_val_server", add("/nodes/1/services", "[\"group-management\"]"),
     "/nodes/1/services", "only a seal-server offers services; \"val-1\" is a val-server"},
    {"services_on_seg", add("/nodes/2/services", "[]"), "/nodes/2/services", "\"seg-a\" is a seg"},
    {"service_unknown", replace("/nodes/3/services/1", "\"data-delivry\""), "/nodes/3/services/1",
     "unknown service \"data-delivry\" (did you mean \"data-delivery\"?)"},
    {"service_unknown_no_hint", replace("/nodes/3/services/1", "\"mcptt\""), "/nodes/3/services/1",
     "services are group-management, "},
    {"service_twice", add("/nodes/0/services/-", "\"key-management\""), "/nodes/0/services/3",
     "\"key-management\" is listed twice (first at /nodes/0/services/1)"},
    {"services_not_array", replace("/nodes/3/services", "\"group-management\""),
     "/nodes/3/services", "must be an array"},
    {"addresses_missing", remove("/nodes/1/addresses"), "/nodes/1", "missing key \"addresses\""},
    {"addresses_empty", replace("/nodes/1/addresses", "[]"), "/nodes/1/addresses", "is empty"},
    {"address_bad", replace("/nodes/1/addresses/0", "\"10.0.0.300\""), "/nodes/1/addresses/0",
     "\"10.0.0.300\" is not an IP address"},
    {"address_leading_zero", replace("/nodes/1/addresses/0", "\"192.0.2.020\""),
     "/nodes/1/addresses/0", "is not an IP address"},
    {"address_with_zone", replace("/nodes/1/addresses/0", "\"fe80::1%eth0\""),
     "/nodes/1/addresses/0", "is not an IP address"},
    {"address_not_string", replace("/nodes/1/addresses/0", "3221225985"), "/nodes/1/addresses/0",
     "must be a string, got the number 3221225985"},
    {"address_unspecified", replace("/nodes/1/addresses/0", "\"0.0.0.0\""), "/nodes/1/addresses/0",
     "the unspecified address"},
    {"address_multicast", replace("/nodes/1/addresses/0", "\"ff02::1\""), "/nodes/1/addresses/0",
     "a multicast address"},
    {"address_loopback", replace("/nodes/1/addresses/0", "\"127.0.0.1\""), "/nodes/1/addresses/0",
     "a loopback address"},
    {"address_v4_mapped", replace("/nodes/1/addresses/0", "\"::ffff:192.0.2.20\""),
     "/nodes/1/addresses/0", "IPv4-mapped"},
    {"address_duplicate", replace("/nodes/1/addresses/0", "\"192.0.2.10\""), "/nodes/1/addresses/0",
     "address \"192.0.2.10\" is already used at /nodes/0/addresses/0"},
    {"address_duplicate_other_spelling", replace("/nodes/1/addresses/0", "\"2001:DB8:0::10\""),
     "/nodes/1/addresses/0", "address \"2001:db8::10\" is already used at /nodes/0/addresses/1"},
    {"address_twice_in_node", add("/nodes/1/addresses/-", "\"192.0.2.20\""), "/nodes/1/addresses/1",
     "is already used at /nodes/1/addresses/0"},
    {"identity_missing", remove("/nodes/1/identity"), "/nodes/1", "missing key \"identity\""},
    {"identity_underscore", replace("/nodes/1/identity", "\"val_1.operator-a.example\""),
     "/nodes/1/identity", "\"val_1.operator-a.example\" is not a valid identity"},
    {"identity_one_label", replace("/nodes/1/identity", "\"val-1\""), "/nodes/1/identity",
     "at least two labels"},
    {"identity_empty_label", replace("/nodes/1/identity", "\"val-1..example\""),
     "/nodes/1/identity", "empty label"},
    {"identity_hyphen_edge", replace("/nodes/1/identity", "\"-val.example\""), "/nodes/1/identity",
     "starting or ending with \"-\""},
    {"identity_too_long",
     replace("/nodes/1/identity", "\"" + std::string(60, 'a') + "." + std::string(60, 'b') + "." +
                                      std::string(60, 'c') + "." + std::string(60, 'd') + "." +
                                      std::string(10, 'e') + ".example\""),
     "/nodes/1/identity", "longer than 253"},
    {"identity_label_too_long",
     replace("/nodes/1/identity", "\"" + std::string(64, 'a') + ".example\""), "/nodes/1/identity",
     "longer than 63"},
    {"identity_is_address", replace("/nodes/1/identity", "\"192.0.2.20\""), "/nodes/1/identity",
     "looks like an address"},
    {"identity_trailing_dot", replace("/nodes/1/identity", "\"val-1.example.\""),
     "/nodes/1/identity", "ends with a dot"},
    {"identity_duplicate", replace("/nodes/1/identity", "\"GMS-A.operator-a.example\""),
     "/nodes/1/identity", "is already used at /nodes/0/identity"},
    {"protects_not_cidr", replace("/nodes/0/protects/0", "\"198.51.100.10\""),
     "/nodes/0/protects/0", "is not a prefix (did you mean \"198.51.100.10/32\"?)"},
    {"protects_host_bits", replace("/nodes/0/protects/0", "\"198.51.100.1/24\""),
     "/nodes/0/protects/0", "has host bits set (did you mean \"198.51.100.0/24\"?)"},
    {"protects_host_bits_v6", replace("/nodes/0/protects/0", "\"2001:db8:a::1/64\""),
     "/nodes/0/protects/0", "did you mean \"2001:db8:a::/64\"?"},
    {"protects_bad_length", replace("/nodes/0/protects/0", "\"198.51.100.0/33\""),
     "/nodes/0/protects/0", "invalid prefix length"},
    {"protects_leading_zero_length", replace("/nodes/0/protects/0", "\"198.51.100.0/024\""),
     "/nodes/0/protects/0", "invalid prefix length"},
    {"protects_bad_address", replace("/nodes/0/protects/0", "\"198.51.100.300/32\""),
     "/nodes/0/protects/0", "\"198.51.100.300\" is not an IP address"},
    {"protects_everything", replace("/nodes/0/protects/0", "\"0.0.0.0/0\""), "/nodes/0/protects/0",
     "would take in all traffic"},
    {"protects_empty", replace("/nodes/0/protects", "[]"), "/nodes/0/protects", "is empty"},
    {"protects_duplicate_across_nodes", add("/nodes/1/protects", "[\"198.51.100.10/32\"]"),
     "/nodes/1/protects/0",
     "prefix \"198.51.100.10/32\" is already protected at /nodes/0/protects/0"},
    {"protects_twice_in_node", add("/nodes/0/protects/-", "\"198.51.100.10/32\""),
     "/nodes/0/protects/1", "is already protected at /nodes/0/protects/0"},
    // Rule 37: a prefix takes in no other node's address (its IKE end point, or its default
    // traffic selector): the same traffic would be behind two nodes.
    {"protects_other_nodes_address", replace("/nodes/0/protects/0", "\"192.0.2.20/32\""),
     "/nodes/0/protects/0",
     "prefix \"192.0.2.20/32\" takes in \"192.0.2.20\", the address of val-server \"val-1\" at "
     "/nodes/1/addresses/0"},
    {"protects_seg_address", add("/nodes/1/protects", "[\"192.0.2.0/30\"]"), "/nodes/1/protects/0",
     "takes in \"192.0.2.1\", the address of seg \"seg-a\" at /nodes/2/addresses/0"},
    {"protects_address_in_other_domain", add("/nodes/3/protects", "[\"192.0.2.16/28\"]"),
     "/nodes/3/protects/0", "the address of val-server \"val-1\" at /nodes/1/addresses/0"},
    {"protects_address_first_named", add("/nodes/3/protects", "[\"192.0.2.0/24\"]"),
     "/nodes/3/protects/0", "the address of seal-server \"gms-a\" at /nodes/0/addresses/0"},
    // Its own 2001:db8::10 inside is fine; val-1's 2001:db8::20 is not.
    {"protects_address_v6",
     patched(R"([{"op": "add", "path": "/nodes/0/protects/-", "value": "2001:db8::/64"},
                 {"op": "add", "path": "/nodes/1/addresses/-", "value": "2001:db8::20"}])"),
     "/nodes/0/protects/1", "takes in \"2001:db8::20\", the address of val-server \"val-1\" at /nodes/1/addresses/1"},
    // An address two nodes hold is rule 25's, once, not also a prefix taking it in.
    {"protects_own_address_held_twice",
     patched(R"([{"op": "add", "path": "/nodes/1/protects", "value": ["192.0.2.20/32"]},
                 {"op": "replace", "path": "/nodes/3/addresses/0", "value": "192.0.2.20"}])"),
     "/nodes/3/addresses/0", "address \"192.0.2.20\" is already used at /nodes/1/addresses/0"},
    // Rule 38: no overlap between the prefixes of two domains, reported at the wider one.
    {"protects_overlap_across_domains", add("/nodes/3/protects", "[\"198.51.100.0/24\"]"),
     "/nodes/3/protects/0",
     "prefix \"198.51.100.0/24\" of domain \"operator-b\" takes in \"198.51.100.10/32\", protected in "
     "domain \"operator-a\" at /nodes/0/protects/0"},
    {"protects_overlap_across_domains_earlier_wider",
     patched(R"([{"op": "replace", "path": "/nodes/0/protects/0", "value": "198.51.100.0/24"},
                 {"op": "add", "path": "/nodes/3/protects", "value": ["198.51.100.128/25"]}])"),
     "/nodes/0/protects/0",
     "takes in \"198.51.100.128/25\", protected in domain \"operator-b\" at /nodes/3/protects/0"},
    // Equal prefixes in two domains stay rule 29's.
    {"protects_same_prefix_across_domains", add("/nodes/3/protects", "[\"198.51.100.10/32\"]"),
     "/nodes/3/protects/0", "is already protected at /nodes/0/protects/0"},
    // Rule 39: the two ends of a tunnel protect a common address family.
    {"use_no_common_family", replace("/nodes/1/addresses", "[\"2001:db8::20\"]"), "/service_uses/0",
     "\"val-1\" protects only IPv6 (/nodes/1/addresses, by default) and \"gms-a\" only IPv4 "
     "(/nodes/0/protects)"},
    {"interconnect_no_common_family", replace("/nodes/3/addresses", "[\"2001:db8::110\"]"),
     "/interconnects/0",
     "\"gms-a\" protects only IPv4 (/nodes/0/protects) and \"gms-b\" only IPv6 (/nodes/3/addresses, by "
     "default)"},
    {"use_no_common_family_explicit",
     add("/nodes/1/protects", "[\"2001:db8:1::/64\"]"), "/service_uses/0",
     "\"val-1\" protects only IPv6 (/nodes/1/protects)"},
    // service_uses.
    {"use_not_object", add("/service_uses/-", "\"val-1\""), "/service_uses/1", "must be an object"},
    {"use_unknown_val_server", replace("/service_uses/0/val_server", "\"val-2\""),
     "/service_uses/0/val_server", "unknown node \"val-2\" (did you mean \"val-1\"?)"},
    {"use_val_server_wrong_role", replace("/service_uses/0/val_server", "\"gms-b\""),
     "/service_uses/0/val_server", "\"gms-b\" is a seal-server, not a val-server"},
    {"use_seal_server_wrong_role", replace("/service_uses/0/seal_server", "\"seg-a\""),
     "/service_uses/0/seal_server", "\"seg-a\" is a seg, not a seal-server"},
    {"use_seal_server_missing", remove("/service_uses/0/seal_server"), "/service_uses/0",
     "missing key \"seal_server\""},
    {"use_service_not_offered", add("/service_uses/0/services/-", "\"location-management\""),
     "/service_uses/0/services/2", "\"location-management\" is not offered by \"gms-a\""},
    {"use_services_empty", replace("/service_uses/0/services", "[]"), "/service_uses/0/services",
     "is empty"},
    {"use_services_missing", remove("/service_uses/0/services"), "/service_uses/0",
     "missing key \"services\""},
    {"use_service_twice", add("/service_uses/0/services/-", "\"group-management\""),
     "/service_uses/0/services/2", "listed twice"},
    {"use_duplicate_pair", add("/service_uses/-", R"({"val_server": "val-1", "seal_server": "gms-a",
       "services": ["data-delivery"]})"),
     "/service_uses/1", "\"val-1\" already uses \"gms-a\" at /service_uses/0"},
    {"use_via_capif_not_bool", add("/service_uses/0/via_capif", "\"yes\""),
     "/service_uses/0/via_capif", "must be true or false, got the string \"yes\""},
    {"use_key_typo", add("/service_uses/0/via_capf", "true"), "/service_uses/0/via_capf",
     "did you mean \"via_capif\"?"},
    // interconnects.
    {"interconnect_three", add("/interconnects/0/between/-", "\"gms-c\""),
     "/interconnects/0/between", "must name exactly two seal-servers, got 3"},
    {"interconnect_one", remove("/interconnects/0/between/1"), "/interconnects/0/between",
     "must name exactly two seal-servers, got 1"},
    {"interconnect_self", replace("/interconnects/0/between/1", "\"gms-a\""),
     "/interconnects/0/between/1", "\"gms-a\" is listed twice"},
    {"interconnect_unknown", replace("/interconnects/0/between/1", "\"gms-c\""),
     "/interconnects/0/between/1", "unknown node \"gms-c\""},
    {"interconnect_val_server", replace("/interconnects/0/between/1", "\"val-1\""),
     "/interconnects/0/between/1", "\"val-1\" is a val-server, not a seal-server"},
    {"interconnect_between_not_strings", replace("/interconnects/0/between/0", "1"),
     "/interconnects/0/between/0", "must be a string"},
    {"interconnect_not_offered", add("/interconnects/0/services/-", "\"key-management\""),
     "/interconnects/0/services/1", "\"key-management\" is not offered by \"gms-b\""},
    {"interconnect_offered_by_neither",
     add("/interconnects/0/services/-", "\"location-management\""), "/interconnects/0/services/1",
     "is not offered by \"gms-a\" nor \"gms-b\""},
    {"interconnect_services_empty", replace("/interconnects/0/services", "[]"),
     "/interconnects/0/services", "is empty"},
    {"interconnect_duplicate_reversed", add("/interconnects/-", R"({"between": ["gms-b", "gms-a"],
       "services": ["data-delivery"]})"),
     "/interconnects/1/between", "are already interconnected at /interconnects/0"},
    {"interconnect_unknown_key", add("/interconnects/0/betwen", "[]"), "/interconnects/0/betwen",
     "did you mean \"between\"?"},
};

class Invalid : public ::testing::TestWithParam<Case> {};

}  // namespace

TEST_P(Invalid, ReportsTheExpectedProblem) {
  const Case& c = GetParam();
  const LoadResult r = load_topology_text(c.text);
  EXPECT_FALSE(r.topology.has_value());
  EXPECT_EQ(r.problems.size(), c.count) << all(r);
  const auto hit = std::find_if(r.problems.begin(), r.problems.end(), [&](const Problem& p) {
    return p.pointer == c.pointer && p.message.find(c.fragment) != std::string::npos;
  });
  EXPECT_NE(hit, r.problems.end())
      << "expected " << c.pointer << ": ..." << c.fragment << "...\ngot:\n"
      << all(r);
}

INSTANTIATE_TEST_SUITE_P(Topologies, Invalid, ::testing::ValuesIn(cases),
                         [](const ::testing::TestParamInfo<Case>& param) {
                           return param.param.name;
                         });

// The table has to stay big enough to mean something.
TEST(InvalidTable, HasAtLeast45Cases) { EXPECT_GE(std::size(cases), 45u); }

// The unmodified base is valid, so every case above fails for its one change only.
TEST(InvalidTable, BaseIsValid) {
  const LoadResult r = load_topology_text(ndsip::topology::test::base().dump(2));
  EXPECT_TRUE(r.problems.empty()) << all(r);
  EXPECT_TRUE(r.topology.has_value());
}

// The planner's routing and layout rules, on topologies built in code, with the shipped
// policies and templates.
#include <gtest/gtest.h>

#include <algorithm>

#include "policy/plan.hpp"
#include "policy/render.hpp"

using namespace ndsip;
using policy::ConnectionPlan;
using policy::NodePlan;
using policy::Zone;
using topology::Role;
using topology::Service;

namespace {

policy::PolicySet shipped() {
  policy::PolicyLoadResult r = policy::load_policies(NDSIP_SOURCE_DIR "/policies",
                                                     NDSIP_SOURCE_DIR "/templates");
  EXPECT_TRUE(r.problems.empty()) << r.problems.front().to_string();
  return r.set;
}

topology::Node node(const std::string& name, Role role, const std::string& domain,
                    const std::string& addr, const std::string& prefix) {
  topology::Node n;
  n.name = name;
  n.role = role;
  n.domain = domain;
  n.addresses = {addr};
  n.identity = name + "." + domain + ".example";
  n.protects = {prefix};
  if (role == Role::seal_server) {
    n.services = {Service::group_management, Service::key_management, Service::data_delivery};
  }
  return n;
}

// operator-a: gms-a, val-1, val-2 (CAPIF), seg-a; operator-b: gms-b, seg-b (optional SEGs).
topology::Topology two_domains(bool segs) {
  topology::Topology t;
  t.name = "test";
  t.domains = {{"operator-a", "CN=CA A", segs ? std::vector<std::string>{"seg-a"}
                                              : std::vector<std::string>{}},
               {"operator-b", "CN=CA B", segs ? std::vector<std::string>{"seg-b"}
                                              : std::vector<std::string>{}}};
  t.nodes = {node("gms-a", Role::seal_server, "operator-a", "192.0.2.10", "198.51.100.10/32"),
             node("val-1", Role::val_server, "operator-a", "192.0.2.20", "198.51.100.20/32"),
             node("val-2", Role::val_server, "operator-a", "192.0.2.21", "198.51.100.21/32"),
             node("gms-b", Role::seal_server, "operator-b", "192.0.2.110", "203.0.113.10/32")};
  if (segs) {
    t.nodes.push_back(node("seg-a", Role::seg, "operator-a", "192.0.2.1", "192.0.2.1/32"));
    t.nodes.push_back(node("seg-b", Role::seg, "operator-b", "192.0.2.101", "192.0.2.101/32"));
  }
  t.service_uses = {{"val-1", "gms-a", {Service::group_management, Service::key_management}, false},
                    {"val-2", "gms-a", {Service::group_management}, true},
                    {"val-1", "gms-b", {Service::data_delivery}, false}};
  t.interconnects = {{"gms-a", "gms-b", {Service::group_management, Service::data_delivery}}};
  return t;
}

const ConnectionPlan* find(const NodePlan& p, const std::string& peer) {
  for (const ConnectionPlan& c : p.connections) {
    if (c.peer == peer) return &c;
  }
  return nullptr;
}

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

TEST(Planner, SameDomainIsDirectZb) {
  const auto t = two_domains(true);
  const NodePlan p = policy::plan_node(t, shipped(), "val-1");
  const ConnectionPlan* c = find(p, "gms-a");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->zone, Zone::zb);
  EXPECT_EQ(c->name, "zb_val-1_gms-a");
  EXPECT_TRUE(has(c->reference_points, "SEAL-S"));
  EXPECT_TRUE(has(c->reference_points, "KM-S"));
  ASSERT_EQ(c->children.size(), 1u);
  EXPECT_EQ(c->children[0].local_ts, std::vector<std::string>{"198.51.100.20/32"});
  EXPECT_EQ(c->children[0].remote_ts, std::vector<std::string>{"198.51.100.10/32"});
  EXPECT_EQ(c->remote_id, "gms-a.operator-a.example");
  EXPECT_EQ(c->remote_ca_id, "CN=CA A");
  EXPECT_TRUE(p.problems.empty());
}

TEST(Planner, AcrossDomainsGoesThroughBothSegs) {
  const auto t = two_domains(true);
  const auto pol = shipped();
  // val-1 reaches gms-b through its own SEG: no direct connection to gms-b.
  const NodePlan v = policy::plan_node(t, pol, "val-1");
  EXPECT_EQ(find(v, "gms-b"), nullptr);
  const ConnectionPlan* to_seg = find(v, "seg-a");
  ASSERT_NE(to_seg, nullptr);
  EXPECT_EQ(to_seg->zone, Zone::zb);
  ASSERT_EQ(to_seg->children.size(), 1u);
  EXPECT_EQ(to_seg->children[0].remote_ts, std::vector<std::string>{"203.0.113.10/32"});
  EXPECT_TRUE(has(to_seg->reference_points, "SEALDD-S"));

  // seg-a: Zb to val-1 and gms-a, Za to seg-b carrying exactly the two cross-domain pairs.
  const NodePlan s = policy::plan_node(t, pol, "seg-a");
  const ConnectionPlan* za = find(s, "seg-b");
  ASSERT_NE(za, nullptr);
  EXPECT_EQ(za->zone, Zone::za);
  EXPECT_EQ(za->name, "za_seg-a_seg-b");
  ASSERT_EQ(za->children.size(), 2u);
  EXPECT_EQ(za->children[0].name, "gms-a_gms-b");
  EXPECT_EQ(za->children[1].name, "val-1_gms-b");
  EXPECT_EQ(za->children[1].local_ts, std::vector<std::string>{"198.51.100.20/32"});
  EXPECT_EQ(za->children[1].remote_ts, std::vector<std::string>{"203.0.113.10/32"});
  EXPECT_EQ(za->children[0].mode, "tunnel");
  ASSERT_NE(find(s, "val-1"), nullptr);
  EXPECT_EQ(find(s, "val-1")->zone, Zone::zb);
  ASSERT_NE(find(s, "gms-a"), nullptr);
  EXPECT_EQ(find(s, "gms-b"), nullptr);

  // seg-b mirrors it.
  const NodePlan sb = policy::plan_node(t, pol, "seg-b");
  ASSERT_NE(find(sb, "seg-a"), nullptr);
  EXPECT_EQ(find(sb, "seg-a")->children[1].name, "gms-b_val-1");
  EXPECT_EQ(find(sb, "seg-a")->digest.size(), 16u);
}

TEST(Planner, WithoutSegsAcrossDomainsIsZaEndToEnd) {
  const auto t = two_domains(false);
  const NodePlan p = policy::plan_node(t, shipped(), "gms-a");
  const ConnectionPlan* c = find(p, "gms-b");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->zone, Zone::za);
  EXPECT_TRUE(has(c->reference_points, "SEAL-E"));
  EXPECT_TRUE(has(c->reference_points, "SEALDD-E"));
  EXPECT_EQ(c->remote_ca_id, "CN=CA B");
  EXPECT_TRUE(has(p.credentials.trusted_ca_ids, "CN=CA B"));
  EXPECT_TRUE(has(p.credentials.trusted_ca_ids, "CN=CA A"));
}

TEST(Planner, CapifPairGetsNoTunnelButIsAccountedFor) {
  const auto t = two_domains(true);
  const NodePlan p = policy::plan_node(t, shipped(), "val-2");
  EXPECT_TRUE(p.connections.empty());
  ASSERT_EQ(p.outside.size(), 1u);
  EXPECT_EQ(p.outside[0].peer, "gms-a");
  EXPECT_NE(p.outside[0].protection.find("CAPIF-2e"), std::string::npos);
  const NodePlan g = policy::plan_node(t, shipped(), "gms-a");
  EXPECT_EQ(find(g, "val-2"), nullptr);
  bool listed = false, uu = false;
  for (const auto& o : g.outside) {
    listed |= o.peer == "val-2";
    uu |= o.reference_point == "SEAL-UU";
  }
  EXPECT_TRUE(listed);
  EXPECT_TRUE(uu);
}

TEST(Planner, NoCommonAddressFamilyIsAProblem) {
  auto t = two_domains(false);
  for (auto& n : t.nodes) {
    if (n.name == "val-1") n.addresses = {"2001:db8::20"};
  }
  const NodePlan p = policy::plan_node(t, shipped(), "val-1");
  ASSERT_FALSE(p.problems.empty());
  EXPECT_NE(p.problems[0].message.find("no address family"), std::string::npos);
}

TEST(Planner, DeterministicAndDigestTracksContent) {
  const auto t = two_domains(true);
  const auto pol = shipped();
  const std::string a = policy::render_json(policy::plan_node(t, pol, "seg-a"));
  const std::string b = policy::render_json(policy::plan_node(t, pol, "seg-a"));
  EXPECT_EQ(a, b);
  auto changed = t;
  for (auto& n : changed.nodes) {
    if (n.name == "val-1") n.protects = {"198.51.100.99/32"};
  }
  const NodePlan before = policy::plan_node(t, pol, "seg-a");
  const NodePlan after = policy::plan_node(changed, pol, "seg-a");
  // The Za connection and val-1's connection change; gms-a's does not.
  EXPECT_NE(find(before, "seg-b")->digest, find(after, "seg-b")->digest);
  EXPECT_NE(find(before, "val-1")->digest, find(after, "val-1")->digest);
  EXPECT_EQ(find(before, "gms-a")->digest, find(after, "gms-a")->digest);
}

TEST(Planner, UnknownNodeThrows) {
  EXPECT_THROW(policy::plan_node(two_domains(true), shipped(), "nope"), std::invalid_argument);
}

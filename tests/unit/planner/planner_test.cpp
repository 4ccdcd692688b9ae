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
  // val-2 is inside gms-a's domain: CAPIF-2, not CAPIF-2e (TS 33.122).
  EXPECT_EQ(p.outside[0].protection, "CAPIF-2 security (TS 33.122), no tunnel");
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

// TS 33.122: CAPIF-2 inside the API provider's trust domain, CAPIF-2e from outside it.
TEST(Planner, CapifFromAnotherDomainIsCapif2e) {
  auto t = two_domains(true);
  t.nodes.push_back(node("val-9", Role::val_server, "operator-b", "192.0.2.190", "203.0.113.90/32"));
  t.service_uses.push_back({"val-9", "gms-a", {Service::group_management}, true});
  const auto pol = shipped();
  const NodePlan v = policy::plan_node(t, pol, "val-9");
  ASSERT_EQ(v.outside.size(), 1u);
  EXPECT_EQ(v.outside[0].protection, "CAPIF-2e security (TS 33.122), no tunnel");
  const NodePlan g = policy::plan_node(t, pol, "gms-a");
  for (const auto& o : g.outside) {
    if (o.peer == "val-9") EXPECT_EQ(o.protection, "CAPIF-2e security (TS 33.122), no tunnel");
    if (o.peer == "val-2") EXPECT_EQ(o.protection, "CAPIF-2 security (TS 33.122), no tunnel");
  }
}

// RFC 8247: MODP-2048 (group 14) is a MUST for IKEv2, so a peer SEG limited to it can connect;
// it is offered last, after every ECP/Curve25519 proposal, for IKE and for CHILD_SA rekeys.
TEST(Planner, ShippedProfilesOfferModp2048Last) {
  const auto pol = shipped();
  for (const char* name : {"za", "zb"}) {
    const policy::Profile& p = pol.profiles.at(name);
    ASSERT_FALSE(p.ike_proposals.empty());
    EXPECT_EQ(p.ike_proposals.back(), "aes128-sha256-modp2048") << name;
    EXPECT_EQ(p.esp_proposals.back(), "aes128-sha256-modp2048") << name;
    for (std::size_t i = 0; i + 1 < p.ike_proposals.size(); ++i) {
      EXPECT_EQ(p.ike_proposals[i].find("modp"), std::string::npos) << name << ": MODP only as the last fallback";
    }
  }
}

// A Za hop from a SEG to a node of a domain without SEGs is not SEG <-> SEG.
TEST(Planner, ZaHopToADomainWithoutSegSaysSo) {
  auto t = two_domains(true);
  t.domains[1].segs.clear();
  t.nodes.pop_back();  // seg-b
  const auto pol = shipped();
  const NodePlan seg = policy::plan_node(t, pol, "seg-a");
  const ConnectionPlan* c = find(seg, "gms-b");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->zone, Zone::za);
  EXPECT_EQ(c->why.rfind("SEG <-> node (operator-b has no SEG), Za operator-a <-> operator-b", 0), 0u) << c->why;
  const NodePlan gms = policy::plan_node(t, pol, "gms-b");
  const ConnectionPlan* back = find(gms, "seg-a");
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(back->why.rfind("node (operator-b has no SEG) <-> SEG, Za operator-b <-> operator-a", 0), 0u) << back->why;
  // Both ends SEGs: as before.
  const NodePlan both = policy::plan_node(two_domains(true), pol, "seg-a");
  const ConnectionPlan* za = find(both, "seg-b");
  ASSERT_NE(za, nullptr);
  EXPECT_EQ(za->why.rfind("SEG <-> SEG, Za operator-a <-> operator-b", 0), 0u) << za->why;
}

// A child carries only the families both ends protect: a dual-stack end's IPv6 prefix does not
// go into a child with an IPv4-only end, on a direct hop or through the SEGs.
TEST(Planner, ChildrenCarryOnlyTheFamiliesBothEndsProtect) {
  auto t = two_domains(true);
  for (auto& n : t.nodes) {
    if (n.name == "gms-a") n.protects = {"198.51.100.10/32", "2001:db8:a:10::/64"};
  }
  const auto pol = shipped();
  const NodePlan v = policy::plan_node(t, pol, "val-1");
  const ConnectionPlan* c = find(v, "gms-a");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->children[0].remote_ts, std::vector<std::string>{"198.51.100.10/32"});
  const NodePlan seg = policy::plan_node(t, pol, "seg-a");
  const ConnectionPlan* za = find(seg, "seg-b");
  ASSERT_NE(za, nullptr);
  EXPECT_EQ(za->children[0].name, "gms-a_gms-b");
  EXPECT_EQ(za->children[0].local_ts, std::vector<std::string>{"198.51.100.10/32"});
  EXPECT_TRUE(v.problems.empty());
}

// Through SEGs every hop has a family, but the pair has none in common: the plan says so and
// gives no child with selectors of two families (a topology file is refused earlier, rule 39).
TEST(Planner, NoCommonFamilyEndToEndIsAProblem) {
  auto t = two_domains(true);
  for (auto& n : t.nodes) {
    if (n.name == "gms-b") n.protects = {"2001:db8:b:10::/64"};
  }
  const NodePlan s = policy::plan_node(t, shipped(), "seg-a");
  ASSERT_FALSE(s.problems.empty());
  EXPECT_NE(s.problems[0].message.find("gms-a and gms-b protect no common address family"), std::string::npos)
      << s.problems[0].message;
  const ConnectionPlan* za = find(s, "seg-b");
  ASSERT_NE(za, nullptr);
  for (const auto& child : za->children) {
    for (const auto& ts : child.local_ts) EXPECT_EQ(ts.find(':'), std::string::npos) << child.name;
    for (const auto& ts : child.remote_ts) EXPECT_EQ(ts.find(':'), std::string::npos) << child.name;
  }
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

namespace {

// operator-a lists `segs_a` (any of gms-a, seg-a, seg-a2), operator-b seg-b and seg-b2; val-1
// (operator-a) uses gms-b (operator-b).
topology::Topology redundant(const std::vector<std::string>& segs_a) {
  topology::Topology t;
  t.name = "redundant";
  t.domains = {{"operator-a", "CN=CA A", segs_a}, {"operator-b", "CN=CA B", {"seg-b", "seg-b2"}}};
  t.nodes = {node("gms-a", Role::seal_server, "operator-a", "192.0.2.10", "198.51.100.10/32"),
             node("val-1", Role::val_server, "operator-a", "192.0.2.20", "198.51.100.20/32"),
             node("seg-a", Role::seg, "operator-a", "192.0.2.1", "192.0.2.1/32"),
             node("seg-a2", Role::seg, "operator-a", "192.0.2.2", "192.0.2.2/32"),
             node("gms-b", Role::seal_server, "operator-b", "192.0.2.110", "203.0.113.10/32"),
             node("seg-b", Role::seg, "operator-b", "192.0.2.101", "192.0.2.101/32"),
             node("seg-b2", Role::seg, "operator-b", "192.0.2.102", "192.0.2.102/32")};
  t.service_uses = {{"val-1", "gms-b", {Service::group_management}, false}};
  return t;
}

// Every child of a plan that is not standby, as its selectors: a host must never hold two.
std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> active_selectors(const NodePlan& p) {
  std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> out;
  for (const ConnectionPlan& c : p.connections) {
    for (const policy::ChildPlan& ch : c.children) {
      if (!ch.standby) out.emplace_back(ch.local_ts, ch.remote_ts);
    }
  }
  return out;
}

}  // namespace

// TS 33.210 lets a domain have an integrated SEG function and dedicated SEGs: the dedicated
// SEG carries the domain's transit even when the integrated one is listed first.
TEST(Planner, DedicatedSegCarriesTransitEvenWhenAnIntegratedOneIsListedFirst) {
  auto t = redundant({"gms-a", "seg-a"});
  const auto pol = shipped();
  const NodePlan v = policy::plan_node(t, pol, "val-1");
  EXPECT_EQ(find(v, "gms-a"), nullptr) << "val-1's transit must not run through the SEAL server";
  const ConnectionPlan* to_seg = find(v, "seg-a");
  ASSERT_NE(to_seg, nullptr);
  ASSERT_EQ(to_seg->children.size(), 1u);
  EXPECT_FALSE(to_seg->children[0].standby);
  const NodePlan s = policy::plan_node(t, pol, "seg-a");
  ASSERT_NE(find(s, "seg-b"), nullptr);
  ASSERT_NE(find(s, "val-1"), nullptr);
  // gms-a has no pair with another domain: it carries nothing, and its plan says why.
  const NodePlan g = policy::plan_node(t, pol, "gms-a");
  EXPECT_TRUE(g.connections.empty());
  ASSERT_EQ(g.notes.size(), 1u);
  EXPECT_NE(g.notes[0].find("carries only its own pairs"), std::string::npos) << g.notes[0];
}

// An integrated SEG covers its own pairs: gms-a runs Za to the far SEGs itself.
TEST(Planner, IntegratedSegCoversItsOwnPairs) {
  auto t = redundant({"gms-a", "seg-a"});
  t.interconnects = {{"gms-a", "gms-b", {Service::group_management}}};
  const auto pol = shipped();
  const NodePlan g = policy::plan_node(t, pol, "gms-a");
  EXPECT_EQ(find(g, "seg-a"), nullptr);
  ASSERT_NE(find(g, "seg-b"), nullptr);
  EXPECT_EQ(find(g, "seg-b")->zone, Zone::za);
  EXPECT_TRUE(g.notes.empty());
  EXPECT_EQ(find(policy::plan_node(t, pol, "seg-a"), "gms-a"), nullptr);
}

// Two dedicated SEGs a side: every hop through the second ones is planned (no SEG is silently
// idle) as standby, and no host holds two active children with the same selectors.
TEST(Planner, SecondSegsAreStandbyAndNoHostHasTwoActiveChildrenWithTheSameSelectors) {
  const auto t = redundant({"seg-a", "seg-a2"});
  const auto pol = shipped();
  const NodePlan v = policy::plan_node(t, pol, "val-1");
  ASSERT_NE(find(v, "seg-a"), nullptr);
  ASSERT_NE(find(v, "seg-a2"), nullptr);
  EXPECT_FALSE(find(v, "seg-a")->children.at(0).standby);
  EXPECT_TRUE(find(v, "seg-a2")->children.at(0).standby);
  EXPECT_EQ(find(v, "seg-a2")->children.at(0).standby_for, "seg-a");
  EXPECT_EQ(find(v, "seg-a")->children.at(0).local_ts, find(v, "seg-a2")->children.at(0).local_ts);

  const NodePlan s2 = policy::plan_node(t, pol, "seg-a2");
  ASSERT_NE(find(s2, "val-1"), nullptr);
  ASSERT_NE(find(s2, "seg-b"), nullptr);
  ASSERT_NE(find(s2, "seg-b2"), nullptr);
  EXPECT_TRUE(find(s2, "seg-b")->children.at(0).standby);  // seg-a2 is not operator-a's preferred SEG
  EXPECT_EQ(find(s2, "seg-b")->children.at(0).standby_for, "seg-a <-> seg-b");
  const NodePlan s1 = policy::plan_node(t, pol, "seg-a");
  EXPECT_FALSE(find(s1, "seg-b")->children.at(0).standby);
  EXPECT_TRUE(find(s1, "seg-b2")->children.at(0).standby);

  for (const topology::Node& n : t.nodes) {
    const NodePlan p = policy::plan_node(t, pol, n.name);
    auto sel = active_selectors(p);
    std::sort(sel.begin(), sel.end());
    EXPECT_EQ(std::adjacent_find(sel.begin(), sel.end()), sel.end()) << n.name << " has two active children alike";
    EXPECT_TRUE(p.notes.empty()) << n.name << ": " << (p.notes.empty() ? "" : p.notes[0]);
  }
}

// The end facing several SEGs picks among them (docs/planner.md, "Failing over between
// SEGs"): a node among its domain's SEGs, a SEG among the far domain's. The SEG end of a
// node's hop leaves the child to the node; with two SEGs a side, both ends of a Za hop pick.
TEST(Planner, TheEndFacingSeveralSegsPicksTheHop) {
  const auto t = redundant({"seg-a", "seg-a2"});
  const auto pol = shipped();
  const NodePlan v = policy::plan_node(t, pol, "val-1");
  for (const char* seg : {"seg-a", "seg-a2"}) {
    EXPECT_TRUE(find(v, seg)->children.at(0).picks_seg) << seg;
    EXPECT_FALSE(find(v, seg)->children.at(0).peer_picks_seg) << seg;
  }
  const NodePlan s1 = policy::plan_node(t, pol, "seg-a");
  const policy::ChildPlan& to_val = find(s1, "val-1")->children.at(0);
  EXPECT_FALSE(to_val.picks_seg);
  EXPECT_TRUE(to_val.peer_picks_seg);
  EXPECT_TRUE(to_val.passive()) << "seg-a never initiates val-1's hop, though it is the active one";
  EXPECT_FALSE(to_val.standby);
  const policy::ChildPlan& za = find(s1, "seg-b")->children.at(0);
  EXPECT_TRUE(za.picks_seg);
  EXPECT_TRUE(za.peer_picks_seg);
  EXPECT_FALSE(za.passive());
  // The swanctl rendering gives the passive end no actions.
  const std::string swanctl = policy::render_swanctl(s1);
  const std::size_t at = swanctl.find("zb_seg-a_val-1");
  ASSERT_NE(at, std::string::npos);
  EXPECT_NE(swanctl.find("the peer picks the SEG hop", at), std::string::npos);
  EXPECT_NE(swanctl.find("dpd_action = clear", at), std::string::npos);

  // One SEG a side: nobody picks, nothing changes.
  const auto one = redundant({"seg-a"});
  for (const ConnectionPlan& c : policy::plan_node(one, pol, "val-1").connections) {
    for (const policy::ChildPlan& ch : c.children) EXPECT_FALSE(ch.picks_seg || ch.peer_picks_seg) << c.name;
  }
}

TEST(Planner, StandbyChildrenSayItInEveryRendering) {
  const auto t = redundant({"seg-a", "seg-a2"});
  const NodePlan v = policy::plan_node(t, shipped(), "val-1");
  EXPECT_NE(policy::render_table(v).find("standby for seg-a"), std::string::npos);
  EXPECT_NE(policy::render_json(v).find("\"standby_for\": \"seg-a\""), std::string::npos);
  const std::string swanctl = policy::render_swanctl(v);
  const std::size_t standby = swanctl.find("zb_val-1_seg-a2");
  ASSERT_NE(standby, std::string::npos);
  EXPECT_NE(swanctl.find("start_action = none", standby), std::string::npos);
  EXPECT_NE(swanctl.find("start_action = trap"), std::string::npos);  // the active one keeps its template's
}

TEST(Planner, ASegOfADomainWithoutPairsAcrossSaysItCarriesNothing) {
  auto t = redundant({"seg-a", "seg-a2"});
  t.service_uses.clear();
  const NodePlan p = policy::plan_node(t, shipped(), "seg-a2");
  ASSERT_EQ(p.notes.size(), 1u);
  EXPECT_NE(p.notes[0].find("no node of operator-a has a pair with another domain"), std::string::npos) << p.notes[0];
}

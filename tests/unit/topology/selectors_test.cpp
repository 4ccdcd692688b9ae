// Traffic selectors across nodes (rules 29, 37, 38) and address families across a relation
// (rule 39): the cases of the issue that brought them, what stays allowed, and the property
// that the incremental check (state.hpp) reports exactly what a full load does when nodes
// come, go, move and change domain under each other's prefixes.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "base.hpp"
#include "topology/load.hpp"
#include "topology/state.hpp"

using namespace ndsip::topology;
using nlohmann::json;

namespace {

std::string all(const std::vector<Problem>& problems) {
  std::string out;
  for (const Problem& p : problems) out += std::to_string(p.line) + " " + p.to_string() + "\n";
  return out;
}

json node(const std::string& name, const std::string& role, const std::string& domain, json addresses,
          json protects = nullptr) {
  json n = {{"name", name}, {"role", role}, {"domain", domain}, {"addresses", std::move(addresses)},
            {"identity", name + "." + domain + ".example"}};
  if (role == "seal-server") n["services"] = {"group-management"};
  if (!protects.is_null()) n["protects"] = std::move(protects);
  return n;
}

// Two operators with a SEG each; gms-a serves val-1 inside operator-a and val-2 from
// operator-b, through both SEGs.
json two_operators() {
  json doc = {{"version", 1}, {"name", "selectors"}};
  doc["domains"] = {{{"name", "operator-a"}, {"ca_id", "CN=A"}, {"segs", {"seg-a"}}},
                    {{"name", "operator-b"}, {"ca_id", "CN=B"}, {"segs", {"seg-b"}}}};
  doc["nodes"] = {node("gms-a", "seal-server", "operator-a", {"10.51.0.10"}),
                  node("val-1", "val-server", "operator-a", {"10.51.0.20"}),
                  node("seg-a", "seg", "operator-a", {"10.51.0.1"}),
                  node("val-2", "val-server", "operator-b", {"10.41.0.30"}),
                  node("seg-b", "seg", "operator-b", {"10.41.0.1"})};
  doc["service_uses"] = {{{"val_server", "val-1"}, {"seal_server", "gms-a"}, {"services", {"group-management"}}},
                         {{"val_server", "val-2"}, {"seal_server", "gms-a"}, {"services", {"group-management"}}}};
  return doc;
}

std::vector<Problem> problems_of(const json& doc) { return load_topology_text(doc.dump(2)).problems; }

}  // namespace

TEST(Selectors, TwoOperatorsAreValid) { EXPECT_EQ(all(problems_of(two_operators())), ""); }

// The issue: gms-a's protects lists val-1's own address, which val-1's default selector is
// too; the plan held a child 10.51.0.20/32 <=> 10.51.0.20/32.
TEST(Selectors, ProtectingAnotherNodesAddressIsRefused) {
  json doc = two_operators();
  doc["nodes"][0]["protects"] = {"10.51.0.20/32"};
  const auto p = problems_of(doc);
  ASSERT_EQ(p.size(), 1u) << all(p);
  EXPECT_EQ(p[0].to_string(),
            "/nodes/0/protects/0: prefix \"10.51.0.20/32\" takes in \"10.51.0.20\", the address of val-server "
            "\"val-1\" at /nodes/1/addresses/0; a node protects its own traffic, never another node's IKE end "
            "point or default traffic selector");
}

// The issue: a node of operator-a protecting a /12 that holds every address of operator-b, so
// operator-b's SEG would send its own traffic into the Za tunnel.
TEST(Selectors, APrefixHoldingAnotherDomainIsRefused) {
  json doc = two_operators();
  doc["nodes"][0]["protects"] = {"10.32.0.0/12"};
  const auto p = problems_of(doc);
  ASSERT_EQ(p.size(), 1u) << all(p);
  EXPECT_EQ(p[0].pointer, "/nodes/0/protects/0");
  EXPECT_NE(p[0].message.find("the address of val-server \"val-2\" at /nodes/3/addresses/0"), std::string::npos)
      << p[0].message;
  // With operator-b's nodes behind prefixes of their own, the /12 takes those in instead.
  doc["nodes"][3]["protects"] = {"198.51.100.0/24"};
  doc["nodes"][4]["addresses"] = {"192.0.2.1"};
  doc["nodes"][3]["addresses"] = {"192.0.2.30"};
  doc["nodes"][0]["protects"] = {"198.48.0.0/12"};
  const auto q = problems_of(doc);
  ASSERT_EQ(q.size(), 1u) << all(q);
  EXPECT_EQ(q[0].to_string(),
            "/nodes/0/protects/0: prefix \"198.48.0.0/12\" of domain \"operator-a\" takes in \"198.51.100.0/24\", "
            "protected in domain \"operator-b\" at /nodes/3/protects/0; the traffic selectors of two domains "
            "must not overlap");
}

// Inside one domain, different overlapping prefixes stay allowed (the kernel prefers the more
// specific policy), as does a node's own address inside its own prefix.
TEST(Selectors, OverlapInsideADomainAndOwnAddressesAreAllowed) {
  json doc = two_operators();
  doc["nodes"][0]["protects"] = {"198.51.100.0/24", "10.51.0.8/29"};  // holds its own 10.51.0.10
  doc["nodes"][1]["protects"] = {"198.51.100.128/25"};
  EXPECT_EQ(all(problems_of(doc)), "");
}

// The issue: an IPv4-only VAL server using an IPv6-only SEAL server in another domain passed,
// and the SEGs got a child 10.41.0.30/32 <=> 2001:db8:4200:10::/64.
TEST(Selectors, NoCommonFamilyThroughSegsIsRefused) {
  json doc = two_operators();
  doc["nodes"][0]["addresses"] = {"2001:db8:4200::10"};
  doc["nodes"][0]["protects"] = {"2001:db8:4200:10::/64"};
  doc["nodes"][2]["addresses"] = {"10.51.0.1", "2001:db8:4200::1"};
  doc["nodes"][1]["addresses"] = {"2001:db8:4200::20"};
  doc["nodes"][4]["addresses"] = {"10.41.0.1", "2001:db8:4100::1"};
  const auto p = problems_of(doc);
  ASSERT_EQ(p.size(), 1u) << all(p);
  EXPECT_EQ(p[0].to_string(),
            "/service_uses/1: \"val-2\" protects only IPv4 (/nodes/3/addresses, by default) and \"gms-a\" only "
            "IPv6 (/nodes/0/protects); no packet between them could be carried");
  // Through CAPIF there is no tunnel, so nothing to carry.
  doc["service_uses"][1]["via_capif"] = true;
  EXPECT_EQ(all(problems_of(doc)), "");
}

// A node's change shows in the problems of the nodes whose prefixes take it in, although
// their own text did not change: the incremental check finds them, as a full load does.
TEST(Selectors, IncrementalCheckFollowsCoveredNodes) {
  TopologyState state;
  json doc = two_operators();
  doc["nodes"][0]["protects"] = {"10.41.0.0/24"};  // takes in val-2 and seg-b
  std::vector<json> steps;
  steps.push_back(doc);
  json d = doc;
  d["nodes"][3]["addresses"] = {"10.41.1.30"};  // val-2 moves out: seg-b is named now
  steps.push_back(d);
  d["nodes"][4]["addresses"] = {"10.41.1.1"};  // seg-b too: valid
  steps.push_back(d);
  d["nodes"].push_back(node("val-3", "val-server", "operator-b", {"10.41.0.77"}));  // comes in
  steps.push_back(d);
  std::swap(d["nodes"][0], d["nodes"][5]);  // reordered
  steps.push_back(d);
  d["nodes"][0]["protects"] = {"10.41.0.0/24"};
  d["nodes"][0]["addresses"] = {"10.51.0.77"};  // val-3 has the /24 itself now
  d["nodes"][0]["domain"] = "operator-a";       // same domain as before: no overlap
  d["nodes"][5]["protects"] = {"10.41.0.128/25"};
  steps.push_back(d);
  d["nodes"][5]["domain"] = "operator-b";  // gms-a, inside val-3's /24, moves: an overlap across domains
  steps.push_back(d);
  d["nodes"][0]["domain"] = "operator-b";  // and val-3 after it: none
  steps.push_back(d);
  d["nodes"].erase(d["nodes"].begin());
  steps.push_back(d);
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const std::string text = steps[i].dump(1);
    const Proposal p = state.propose(text);
    EXPECT_EQ(all(p.problems), all(load_topology_text(text).problems)) << "step " << i;
    state.commit();
  }
}

// The same on random documents whose prefixes and addresses nest in one small space, with
// random changes between the checks.
TEST(Selectors, IncrementalCheckGivesTheProblemsOfAFullLoad) {
  const std::vector<std::string> prefixes = {"10.0.0.0/8",  "10.1.0.0/16",  "10.1.2.0/24", "10.1.2.0/25",
                                             "10.1.2.128/25", "10.2.0.0/16", "10.1.2.5/32", "2001:db8::/32",
                                             "2001:db8:1::/48", "2001:db8:1::5/128"};
  const std::vector<std::string> addresses = {"10.1.2.5", "10.1.2.200", "10.2.0.1", "10.9.0.1", "192.0.2.1",
                                              "2001:db8:1::5", "2001:db8:2::1", "2001:db8:ffff::1"};
  const std::vector<std::string> names = {"gms-a", "gms-b", "val-1", "val-2", "val-3", "seg-a", "seg-b"};
  int with_problems = 0, total = 0;
  for (unsigned seed = 1; seed <= 60; ++seed) {
    std::mt19937 rng(seed);
    auto below = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };
    auto make = [&](const std::string& name) {
      const std::string role = name[0] == 'v' ? "val-server" : name[0] == 's' ? "seg" : "seal-server";
      const std::string domain = below(4) == 0 ? (name.back() == 'a' ? "b" : "a") : (name.back() == 'b' || name.back() == '2' ? "b" : "a");
      // Mostly an address of its own, outside every prefix; else one of the shared ones.
      const auto k = std::find(names.begin(), names.end(), name) - names.begin();
      json a = {below(3) ? "192.0.2." + std::to_string(10 + k) : addresses[below(addresses.size())]};
      if (below(6) == 0) a.push_back(below(2) ? "2001:db8:ff::" + std::to_string(10 + k) : addresses[below(addresses.size())]);
      json p = nullptr;
      if (below(3) == 0) {
        p = {prefixes[below(prefixes.size())]};
        if (below(4) == 0) p.push_back(prefixes[below(prefixes.size())]);
      }
      return node(name, role, domain, a, p);
    };
    json doc = {{"version", 1}, {"name", "nested"}};
    doc["domains"] = {{{"name", "a"}, {"ca_id", "CN=A"}, {"segs", json::array()}},
                      {{"name", "b"}, {"ca_id", "CN=B"}, {"segs", json::array()}}};
    doc["nodes"] = json::array();
    for (const std::string& n : names) {
      if (below(4) != 0) doc["nodes"].push_back(make(n));
    }
    // The SEGs listed and the relations made from the nodes there are, so that the problems
    // are the selectors' and the families'.
    auto relate = [&] {
      auto present = [&](const std::string& n) {
        return std::any_of(doc["nodes"].begin(), doc["nodes"].end(), [&](const json& e) { return e["name"] == n; });
      };
      for (json& d : doc["domains"]) {
        d["segs"] = json::array();
        for (const json& n : doc["nodes"]) {
          if (n["role"] == "seg" && n["domain"] == d["name"]) d["segs"].push_back(n["name"]);
        }
      }
      doc["service_uses"] = json::array();
      doc["interconnects"] = json::array();
      for (const char* v : {"val-1", "val-2", "val-3"}) {
        const char* g = v[4] == '2' ? "gms-b" : "gms-a";
        if (present(v) && present(g)) {
          doc["service_uses"].push_back({{"val_server", v}, {"seal_server", g}, {"services", {"group-management"}}});
        }
      }
      if (present("gms-a") && present("gms-b")) {
        doc["interconnects"].push_back({{"between", {"gms-a", "gms-b"}}, {"services", {"group-management"}}});
      }
    };
    TopologyState state;
    for (int step = 0; step < 10; ++step) {
      relate();
      const std::string text = doc.dump(1);
      const Proposal p = state.propose(text);
      const LoadResult full = load_topology_text(text);
      ASSERT_EQ(all(p.problems), all(full.problems)) << "seed " << seed << " step " << step << "\n" << text;
      ++total;
      if (!full.problems.empty()) ++with_problems;
      if (step > 0 && below(4) == 0) {
        state.abort();
      } else {
        state.commit();
      }
      // One or two changes: a node replaced, added, removed, moved, or given another domain.
      for (std::size_t c = 0, n = 1 + below(2); c < n; ++c) {
        json& nodes = doc["nodes"];
        const std::size_t what = below(5);
        if (what == 0 && !nodes.empty()) {
          json& e = nodes[below(nodes.size())];
          e = make(e["name"].get<std::string>());
        } else if (what == 1) {
          const std::string name = names[below(names.size())];
          if (std::none_of(nodes.begin(), nodes.end(), [&](const json& e) { return e["name"] == name; })) {
            nodes.push_back(make(name));
          }
        } else if (what == 2 && nodes.size() > 1) {
          nodes.erase(nodes.begin() + static_cast<long>(below(nodes.size())));
        } else if (what == 3 && nodes.size() > 1) {
          std::swap(nodes[below(nodes.size())], nodes[below(nodes.size())]);
        } else if (!nodes.empty()) {
          json& e = nodes[below(nodes.size())];
          e["domain"] = e["domain"] == "a" ? "b" : "a";
        }
      }
    }
  }
  EXPECT_GT(with_problems, total / 4) << with_problems << " of " << total;
  EXPECT_LT(with_problems, total * 3 / 4) << with_problems << " of " << total;
}

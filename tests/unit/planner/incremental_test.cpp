// The property of incremental planning (Planner::apply): after a random change, every node
// apply() names re-plans to exactly the plan a fresh Planner of the whole new topology makes,
// also when only the connections the change touches are rebuilt (replan), and every node it
// does not name already had that plan, byte for byte (render_json, which holds every field,
// the digests and the problems). The inverse change brings every plan back.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "policy/plan.hpp"
#include "policy/render.hpp"
#include "support/random_topology.hpp"
#include "topology/load.hpp"
#include "topology/state.hpp"

using namespace ndsip;
using ndsip::testing::Generator;
using nlohmann::json;

namespace {

const policy::PolicySet& shipped() {
  static const policy::PolicySet set = [] {
    policy::PolicyLoadResult r = policy::load_policies(NDSIP_SOURCE_DIR "/policies", NDSIP_SOURCE_DIR "/templates");
    EXPECT_TRUE(r.problems.empty());
    return r.set;
  }();
  return set;
}

using Plans = std::map<std::string, policy::NodePlan>;

Plans full_plans(const topology::Topology& t) {
  const policy::Planner planner(t, shipped());
  Plans out;
  for (const topology::Node& n : t.nodes) out.emplace(n.name, planner.plan(n.name));
  return out;
}

std::string rendered(const policy::NodePlan& p) { return policy::render_json(p); }

std::multiset<std::string> messages(const policy::NodePlan& p) {
  std::multiset<std::string> out;
  for (const auto& problem : p.problems) out.insert(problem.message);
  return out;
}

}  // namespace

TEST(IncrementalPlanning, EqualsAFullPlanByteForByte) {
  std::size_t planned = 0, skipped = 0, changes = 0, domain_changes = 0;
  for (unsigned seed = 1; seed <= 150; ++seed) {
    Generator gen(seed);
    json doc = gen.topology();
    topology::TopologyState state;
    // Start from a valid topology.
    for (int tries = 0; tries < 20 && !topology::load_topology_text(doc.dump(1)).topology; ++tries) doc = gen.topology();
    const topology::LoadResult first = topology::load_topology_text(doc.dump(1));
    if (!first.topology) continue;
    state.propose(doc.dump(1));
    state.commit();
    policy::Planner planner(*first.topology, shipped());
    Plans plans = full_plans(*first.topology);

    for (int step = 0; step < 10; ++step) {
      json next = doc;
      gen.change(next);
      const std::string text = next.dump(1);
      topology::Proposal p = state.propose(text);
      if (!p.problems.empty()) {
        state.abort();
        continue;
      }
      state.commit();
      ++changes;
      for (const auto& id : p.delta.changed) if (id.kind == topology::ObjectId::Kind::domain) ++domain_changes;
      for (const auto& id : p.delta.added) if (id.kind == topology::ObjectId::Kind::domain) ++domain_changes;
      const Plans expected = full_plans(*topology::load_topology_text(text).topology);
      const std::set<std::string> affected = planner.apply(p.model);
      for (const auto& [node, plan] : expected) {
        if (affected.count(node)) {
          ++planned;
          EXPECT_EQ(rendered(planner.plan(node)), rendered(plan)) << "seed " << seed << " step " << step << " node " << node;
          // Made from the plan before, rebuilding only the connections the change touches.
          if (const auto before = plans.find(node); before != plans.end()) {
            EXPECT_EQ(rendered(planner.replan(before->second)), rendered(plan))
                << "replan; seed " << seed << " step " << step << " node " << node;
            if (before->second.problems.empty()) {
              const auto found = planner.problems_after_apply(node);
              EXPECT_EQ(std::multiset<std::string>(found.begin(), found.end()), messages(plan))
                  << "problems; seed " << seed << " step " << step << " node " << node;
            }
          }
        } else {
          ++skipped;
          ASSERT_TRUE(plans.count(node)) << "new node " << node << " not re-planned; seed " << seed;
          EXPECT_EQ(rendered(plans.at(node)), rendered(plan)) << "seed " << seed << " step " << step << " node " << node
                                                      << " was not re-planned but its plan changed";
        }
      }
      for (const std::string& node : affected) EXPECT_TRUE(expected.count(node)) << node;

      // Taken back: every plan is the one before the change.
      if (gen.chance(30)) {
        planner.apply(topology::inverse(p.model));
        for (const auto& [node, plan] : plans) {
          EXPECT_EQ(rendered(planner.plan(node)), rendered(plan)) << "after the inverse; seed " << seed << " node " << node;
        }
        planner.apply(p.model);
      }
      plans = expected;
      doc = next;
    }
  }
  // Changes were planned, and planning skipped the nodes they do not touch.
  EXPECT_GT(changes, 300u);
  EXPECT_GT(domain_changes, 30u);
  EXPECT_GT(skipped, planned / 10) << planned << " planned, " << skipped << " skipped";
}

// The neighbourhood, on a case written out: a VAL server of domain b changes its address.
// Its peer in a, the SEGs between them re-plan; a pair wholly inside domain c does not.
TEST(IncrementalPlanning, ADeltaPlansOnlyItsNeighbourhood) {
  const std::string before = R"({"version": 1, "name": "n",
    "domains": [{"name": "a", "ca_id": "CN=A", "segs": ["seg-a"]}, {"name": "b", "ca_id": "CN=B", "segs": ["seg-b"]},
                {"name": "c", "ca_id": "CN=C"}],
    "nodes": [
      {"name": "gms-a", "role": "seal-server", "domain": "a", "services": ["group-management"], "addresses": ["192.0.2.1"], "identity": "gms-a.example"},
      {"name": "seg-a", "role": "seg", "domain": "a", "addresses": ["192.0.2.2"], "identity": "seg-a.example"},
      {"name": "seg-b", "role": "seg", "domain": "b", "addresses": ["192.0.2.3"], "identity": "seg-b.example"},
      {"name": "val-b", "role": "val-server", "domain": "b", "addresses": ["192.0.2.4"], "identity": "val-b.example"},
      {"name": "gms-c", "role": "seal-server", "domain": "c", "services": ["group-management"], "addresses": ["192.0.2.5"], "identity": "gms-c.example"},
      {"name": "val-c", "role": "val-server", "domain": "c", "addresses": ["192.0.2.6"], "identity": "val-c.example"}],
    "service_uses": [{"val_server": "val-b", "seal_server": "gms-a", "services": ["group-management"]},
                     {"val_server": "val-c", "seal_server": "gms-c", "services": ["group-management"]}]})";
  std::string after = before;
  after.replace(after.find("192.0.2.4"), 9, "192.0.2.9");
  topology::TopologyState state;
  state.propose(before);
  state.commit();
  policy::Planner planner(*topology::load_topology_text(before).topology, shipped());
  topology::Proposal p = state.propose(after);
  ASSERT_TRUE(p.problems.empty());
  EXPECT_EQ(planner.apply(p.model), (std::set<std::string>{"gms-a", "seg-a", "seg-b", "val-b"}));
}

// A VAL server that reaches its SEAL server through CAPIF moves to another domain: its
// partner's plan says CAPIF-2e now instead of CAPIF-2, so the partner re-plans too, though
// it has no tunnel with the VAL server.
TEST(IncrementalPlanning, ACapifPartnerReplansWhenTheOtherEndChangesDomain) {
  const std::string before = R"({"version": 1, "name": "n",
    "domains": [{"name": "a", "ca_id": "CN=A"}, {"name": "b", "ca_id": "CN=B"}],
    "nodes": [
      {"name": "gms-a", "role": "seal-server", "domain": "a", "services": ["group-management"], "addresses": ["192.0.2.1"], "identity": "gms-a.example"},
      {"name": "val-2", "role": "val-server", "domain": "a", "addresses": ["192.0.2.2"], "identity": "val-2.example"}],
    "service_uses": [{"val_server": "val-2", "seal_server": "gms-a", "services": ["group-management"], "via_capif": true}]})";
  std::string after = before;
  after.replace(after.find(R"("domain": "a", "addresses": ["192.0.2.2"])"), 13, R"("domain": "b")");
  topology::TopologyState state;
  state.propose(before);
  state.commit();
  const policy::Planner fresh_before(*topology::load_topology_text(before).topology, shipped());
  const policy::NodePlan gms_before = fresh_before.plan("gms-a");
  policy::Planner planner(*topology::load_topology_text(before).topology, shipped());
  topology::Proposal p = state.propose(after);
  ASSERT_TRUE(p.problems.empty());
  EXPECT_EQ(planner.apply(p.model), (std::set<std::string>{"gms-a", "val-2"}));
  const auto expected = full_plans(*topology::load_topology_text(after).topology);
  EXPECT_EQ(rendered(planner.replan(gms_before)), rendered(expected.at("gms-a")));
  EXPECT_NE(rendered(expected.at("gms-a")).find("CAPIF-2e"), std::string::npos);
}

// A listed SEG turns from an integrated one (a VAL server, carrying only its own pairs beside
// the dedicated seg-a) into a dedicated one: it joins the domain's transit as standby, so every
// member's paths change, though neither the domain nor the member nodes did.
TEST(IncrementalPlanning, AListedSegChangingRoleReplansItsDomain) {
  const std::string before = R"({"version": 1, "name": "n",
    "domains": [{"name": "a", "ca_id": "CN=A", "segs": ["seg-a", "gw-a"]}, {"name": "b", "ca_id": "CN=B"}],
    "nodes": [
      {"name": "seg-a", "role": "seg", "domain": "a", "addresses": ["192.0.2.9"], "identity": "seg-a.example"},
      {"name": "gw-a", "role": "val-server", "domain": "a", "addresses": ["192.0.2.1"], "identity": "gw-a.example"},
      {"name": "val-1", "role": "val-server", "domain": "a", "addresses": ["192.0.2.2"], "identity": "val-1.example"},
      {"name": "gms-b", "role": "seal-server", "domain": "b", "services": ["group-management"], "addresses": ["192.0.2.3"], "identity": "gms-b.example"}],
    "service_uses": [{"val_server": "val-1", "seal_server": "gms-b", "services": ["group-management"]}]})";
  std::string after = before;
  const std::string integrated = R"("name": "gw-a", "role": "val-server")";
  after.replace(after.find(integrated), integrated.size(), R"("name": "gw-a", "role": "seg")");
  topology::TopologyState state;
  state.propose(before);
  state.commit();
  policy::Planner planner(*topology::load_topology_text(before).topology, shipped());
  const Plans old_plans = full_plans(*topology::load_topology_text(before).topology);
  topology::Proposal p = state.propose(after);
  ASSERT_TRUE(p.problems.empty()) << p.problems.front().to_string();
  const std::set<std::string> affected = planner.apply(p.model);
  const Plans expected = full_plans(*topology::load_topology_text(after).topology);
  for (const auto& [name, plan] : expected) {
    if (affected.count(name)) {
      EXPECT_EQ(rendered(planner.replan(old_plans.at(name))), rendered(plan)) << name;
    } else {
      EXPECT_EQ(rendered(old_plans.at(name)), rendered(plan)) << name << " changed but was not named";
    }
  }
}

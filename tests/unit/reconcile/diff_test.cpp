// The reconcile rules: an unchanged connection is never re-sent, a changed one is, a removed
// one of ours is unloaded, and connections others loaded are left alone.
#include <gtest/gtest.h>

#include <random>

#include "reconcile/connection_section.hpp"
#include "reconcile/diff.hpp"

using namespace ndsip;
using policy::ConnectionPlan;
using reconcile::diff_connections;

namespace {

ConnectionPlan conn(const std::string& name, const std::string& digest, const std::string& peer = "p") {
  ConnectionPlan c;
  c.name = name;
  c.digest = digest;
  c.peer = peer;
  return c;
}

}  // namespace

TEST(Diff, UnchangedIsNeverResent) {
  const auto d = diff_connections("gms", {conn("zb_gms_a", "d1"), conn("zb_gms_b", "d2")},
                                  {{"zb_gms_a", "d1"}, {"zb_gms_b", "d2"}}, {"zb_gms_a", "zb_gms_b"});
  EXPECT_TRUE(d.empty());
  EXPECT_EQ(d.unchanged, 2u);
}

TEST(Diff, OnlyTheChangedOneIsLoaded) {
  const auto d = diff_connections("gms", {conn("zb_gms_a", "d1"), conn("zb_gms_b", "NEW")},
                                  {{"zb_gms_a", "d1"}, {"zb_gms_b", "d2"}}, {"zb_gms_a", "zb_gms_b"});
  EXPECT_EQ(d.load, std::vector<std::string>{"zb_gms_b"});
  EXPECT_TRUE(d.unload.empty());
}

TEST(Diff, MissingFromCharonIsLoadedEvenWithTheSameDigest) {
  // charon restarted: it holds nothing, whatever applied.json says.
  const auto d = diff_connections("gms", {conn("zb_gms_a", "d1")}, {{"zb_gms_a", "d1"}}, {});
  EXPECT_EQ(d.load, std::vector<std::string>{"zb_gms_a"});
}

TEST(Diff, UnknownDigestIsLoaded) {
  // applied.json lost: load again (charon treats an identical load-conn as a no-op).
  const auto d = diff_connections("gms", {conn("zb_gms_a", "d1")}, {}, {"zb_gms_a"});
  EXPECT_EQ(d.load, std::vector<std::string>{"zb_gms_a"});
}

TEST(Diff, RemovedOwnConnectionsAreUnloadedOthersAreLeftAlone) {
  const auto d = diff_connections("gms", {conn("zb_gms_a", "d1")}, {{"zb_gms_a", "d1"}, {"old", "x"}},
                                  {"zb_gms_a", "old", "zb_gms_gone", "za_gms_gone2", "operator-made",
                                   "zb_other_x"});
  EXPECT_EQ(d.unload, (std::vector<std::string>{"old", "za_gms_gone2", "zb_gms_gone"}));
}

// Under trust, diffing two plans in step must give what the full diff gives against the
// applied state the first plan left (its names and digests, charon holding exactly those).
TEST(DiffPlans, EqualsTheFullDiffAgainstWhatTheFirstPlanApplied) {
  std::mt19937 rng(11);
  for (int round = 0; round < 500; ++round) {
    policy::ConnectionList before, after;
    reconcile::Applied applied;
    std::set<std::string> held;
    for (int i = 0; i < 30; ++i) {
      const std::string name = "zb_gms_" + std::to_string(100 + i);
      const int fate = static_cast<int>(rng() % 5);  // 0 only before, 1 only after, 2 shared, 3 changed, 4 neither
      if (fate == 4) continue;
      auto c = std::make_shared<const ConnectionPlan>(conn(name, "d" + std::to_string(rng() % 3)));
      if (fate != 1) {
        before.push_back(c);
        applied[name] = c->digest;
        held.insert(name);
      }
      if (fate == 2) after.push_back(c);
      // A copy: same or different digest, never the same object.
      if (fate == 1 || fate == 3) after.push_back(conn(name, "d" + std::to_string(rng() % 3)));
    }
    const auto full = diff_connections("gms", after, applied, held);
    const auto walked = reconcile::diff_plans(before, after);
    EXPECT_EQ(walked.load, full.load) << round;
    EXPECT_EQ(walked.unload, full.unload) << round;
    EXPECT_EQ(walked.unchanged, full.unchanged) << round;
  }
}

TEST(DiffPlans, ASharedConnectionIsUnchangedWithoutComparingIt) {
  policy::ConnectionList before, after;
  auto shared = std::make_shared<const ConnectionPlan>(conn("zb_gms_a", "d1"));
  before.push_back(shared);
  after.push_back(shared);
  before.push_back(conn("zb_gms_b", "d2"));
  after.push_back(conn("zb_gms_b", "d3"));
  const auto d = reconcile::diff_plans(before, after);
  EXPECT_EQ(d.unchanged, 1u);
  EXPECT_EQ(d.load, std::vector<std::string>{"zb_gms_b"});
  EXPECT_EQ(reconcile::find_connection(after, "zb_gms_b")->digest, "d3");
  EXPECT_EQ(reconcile::find_connection(after, "zb_gms_c"), nullptr);
}

TEST(ConnectionSection, IdentitiesOnlyAndResponderNeverStarts) {
  ConnectionPlan c = conn("zb_a_b", "d", "b");
  c.local_addrs = {"192.0.2.1"};
  c.remote_addrs = {"192.0.2.2"};
  c.local_id = "a.example";
  c.remote_id = "b.example";
  c.remote_ca_id = "CN=CA";
  c.ike_proposals = {"aes256gcm16-prfsha384-ecp384"};
  policy::ChildPlan ch;
  ch.name = "a_b";
  ch.local_ts = {"10.0.0.1/32"};
  ch.remote_ts = {"10.0.0.2/32"};
  ch.esp_proposals = {"aes256gcm16-ecp384"};
  ch.mode = "tunnel";
  ch.start_action = "trap|start";
  ch.close_action = "start";
  ch.dpd_action = "restart";
  c.children = {ch};
  EXPECT_TRUE(reconcile::is_initiator("a", "b"));
  EXPECT_FALSE(reconcile::is_initiator("b", "a"));

  const vici::Section init = reconcile::connection_section(c, true);
  EXPECT_EQ(init.find_section("remote")->value_or("id"), "b.example");
  EXPECT_EQ(init.find_section("remote")->value_or("ca_id"), "CN=CA");
  EXPECT_EQ(init.find_section("local")->find_value("certs"), nullptr);  // never inline certificates
  const vici::Section* child = init.find_section("children")->find_section("a_b");
  ASSERT_NE(child, nullptr);
  EXPECT_EQ(child->value_or("start_action"), "trap");  // ndsipd initiates, charon keeps the trap
  EXPECT_EQ(child->value_or("close_action"), "start");
  EXPECT_EQ(child->value_or("dpd_action"), "restart");

  const vici::Section resp = reconcile::connection_section(c, false);
  const vici::Section* rchild = resp.find_section("children")->find_section("a_b");
  EXPECT_EQ(rchild->value_or("close_action"), "trap");
  EXPECT_EQ(rchild->value_or("dpd_action"), "trap");
}

// A standby child (through a second SEG) is loaded but never started or restarted by charon,
// from either end: a host must not hold it beside the active one with the same selectors.
TEST(ConnectionSection, AStandbyChildHasNoStartOrCloseAction) {
  policy::ConnectionPlan c;
  c.name = "zb_a_seg-2";
  c.remote_id = "seg-2.example";
  policy::ChildPlan ch;
  ch.name = "a_b";
  ch.start_action = "trap|start";
  ch.close_action = "start";
  ch.dpd_action = "restart";
  ch.standby = true;
  ch.standby_for = "seg-1";
  c.children = {ch};
  for (bool initiator : {true, false}) {
    const vici::Section s = reconcile::connection_section(c, initiator);
    const vici::Section* child = s.find_section("children")->find_section("a_b");
    ASSERT_NE(child, nullptr);
    EXPECT_EQ(child->value_or("start_action"), "none");
    EXPECT_EQ(child->value_or("close_action"), "none");
  }
}

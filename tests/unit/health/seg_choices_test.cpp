// Which SEG hop carries a pair (health::SegChoices): the preferred one while it works, another
// that answers at once when it fails, the preferred one again only after it has answered for
// the hold time, and the plan charon gets for each choice.
#include <gtest/gtest.h>

#include <algorithm>

#include "health/seg_choices.hpp"
#include "health/tunnels.hpp"
#include "policy/digest.hpp"
#include "reconcile/connection_section.hpp"

using namespace ndsip;
using namespace std::chrono_literals;
using health::SegChoices;
using health::State;

namespace {

// val-1 with two SEGs in its domain: the pair val-1 <-> gms-b through seg-a1 (preferred) or
// seg-a2, and a pair inside the domain that no SEG carries.
policy::NodePlan two_seg_plan() {
  policy::NodePlan p;
  p.node = "val-1";
  for (const char* seg : {"seg-a1", "seg-a2"}) {
    policy::ConnectionPlan c;
    c.peer = seg;
    c.name = std::string("zb_val-1_") + seg;
    c.local_addrs = {"10.0.0.1"};
    policy::ChildPlan ch;
    ch.name = "val-1_gms-b";
    ch.local_ts = {"10.0.0.1/32"};
    ch.remote_ts = {"10.9.0.1/32"};
    ch.picks_seg = true;
    ch.standby = std::string(seg) == "seg-a2";
    ch.standby_for = ch.standby ? "seg-a1" : "";
    c.children = {ch};
    c.digest = policy::connection_digest(c);
    p.connections.push_back(c);
  }
  policy::ConnectionPlan direct;
  direct.peer = "gms-a";
  direct.name = "zb_val-1_gms-a";
  policy::ChildPlan ch;
  ch.name = "val-1_gms-a";
  direct.children = {ch};
  direct.digest = policy::connection_digest(direct);
  p.connections.push_back(direct);
  return p;
}

vici::IkeSa ike(const std::string& connection, unsigned long long id, bool with_child = false,
                unsigned long long child_id = 0) {
  vici::IkeSa s;
  s.name = connection;
  s.uniqueid = id;
  s.state = "ESTABLISHED";
  if (with_child) {
    vici::ChildSa c;
    c.name = "val-1_gms-b";
    c.state = "INSTALLED";
    c.uniqueid = child_id;
    s.children = {c};
  }
  return s;
}

const policy::ChildPlan& child(const policy::NodePlan& p, const std::string& connection) {
  for (const policy::ConnectionPlan& c : p.connections) {
    if (c.name == connection) return c.children.front();
  }
  throw std::runtime_error("no connection " + connection);
}

std::string digest(const policy::NodePlan& p, const std::string& connection) {
  for (const policy::ConnectionPlan& c : p.connections) {
    if (c.name == connection) return c.digest;
  }
  return "";
}

struct Fixture {
  policy::NodePlan planned = two_seg_plan();
  SegChoices choices{health::SegChoiceSettings{10s}};
  health::Tunnels tunnels;
  health::Clock::time_point t0 = health::Clock::now();

  Fixture() {
    choices.set_plan(planned, t0);
    tunnels.set_desired(choices.effective(planned), &reconcile::is_initiator);
  }
  void see(const std::vector<vici::IkeSa>& sas, health::Clock::time_point at) {
    tunnels.observe(sas, at);
    choices.observe(sas);
  }
  // The effective plan applied, as the daemon does after a switch.
  void apply() { tunnels.set_desired(choices.effective(planned), &reconcile::is_initiator); }
  // seg-a1's hop up, seg-a2's IKE_SA ready; then seg-a1 silent at `at`: the switches decided.
  std::size_t fail_over_at(health::Clock::time_point at) {
    see({ike("zb_val-1_seg-a1", 1, true, 11), ike("zb_val-1_seg-a2", 2)}, t0);
    tunnels.unanswered("zb_val-1_seg-a1", 1, at);
    choices.unanswered("zb_val-1_seg-a1", 1);
    return choices.decide(tunnels, at).size();
  }
};

}  // namespace

TEST(SegChoices, ThePreferredHopIsChosenAndThePlanIsAsPlanned) {
  Fixture f;
  const policy::NodePlan e = f.choices.effective(f.planned);
  for (const char* c : {"zb_val-1_seg-a1", "zb_val-1_seg-a2", "zb_val-1_gms-a"}) EXPECT_EQ(digest(e, c), digest(f.planned, c));
  // The connection nobody picks a SEG for is shared, not copied.
  EXPECT_EQ(&e.connections[0], &f.planned.connections[0]);
  const auto rows = f.choices.status(f.t0);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["via"], "seg-a1");
  EXPECT_EQ(rows[0]["switches"], 0);
  // The chosen hop is a tunnel like any (initiated: this end picks); the other waits.
  EXPECT_TRUE(f.tunnels.all().at("zb_val-1_seg-a1/val-1_gms-b").initiator);
  EXPECT_TRUE(f.tunnels.all().at("zb_val-1_seg-a2/val-1_gms-b").passive);
}

TEST(SegChoices, TheStandbyHopKeepsAnIkeSaWithoutChildren) {
  Fixture f;
  EXPECT_EQ(f.choices.ike_due(f.t0), std::vector<std::string>{"zb_val-1_seg-a2"});
  f.choices.ike_started("zb_val-1_seg-a2", f.t0);
  EXPECT_TRUE(f.choices.ike_due(f.t0).empty()) << "backed off";
  EXPECT_EQ(f.choices.ike_due(f.t0 + 2s), std::vector<std::string>{"zb_val-1_seg-a2"});
  f.see({ike("zb_val-1_seg-a2", 5)}, f.t0 + 2s);
  EXPECT_TRUE(f.choices.ike_due(f.t0 + 3s).empty()) << "established";
  EXPECT_TRUE(f.choices.answering("zb_val-1_seg-a2"));
}

TEST(SegChoices, AFailedHopSwitchesAtOnceToOneThatAnswers) {
  Fixture f;
  f.see({ike("zb_val-1_seg-a1", 1, true, 11), ike("zb_val-1_seg-a2", 2)}, f.t0 + 1s);
  EXPECT_TRUE(f.choices.decide(f.tunnels, f.t0 + 1s).empty());
  // seg-a1 stops answering: the tunnel is degraded at the first retransmit.
  ASSERT_TRUE(f.tunnels.unanswered("zb_val-1_seg-a1", 1, f.t0 + 2s));
  f.choices.unanswered("zb_val-1_seg-a1", 1);
  const auto switches = f.choices.decide(f.tunnels, f.t0 + 2s);
  ASSERT_EQ(switches.size(), 1u);
  EXPECT_EQ(switches[0].from, "zb_val-1_seg-a1");
  EXPECT_EQ(switches[0].to, "zb_val-1_seg-a2");
  EXPECT_NE(switches[0].why.find("seg-a1 failed"), std::string::npos) << switches[0].why;
  // charon gets seg-a2's hop active and seg-a1's standby: both connections change.
  const policy::NodePlan e = f.choices.effective(f.planned);
  EXPECT_FALSE(child(e, "zb_val-1_seg-a2").standby);
  EXPECT_TRUE(child(e, "zb_val-1_seg-a1").standby);
  EXPECT_EQ(child(e, "zb_val-1_seg-a1").standby_for, "seg-a2");
  EXPECT_NE(digest(e, "zb_val-1_seg-a1"), digest(f.planned, "zb_val-1_seg-a1"));
  EXPECT_NE(digest(e, "zb_val-1_seg-a2"), digest(f.planned, "zb_val-1_seg-a2"));
  EXPECT_EQ(digest(e, "zb_val-1_gms-a"), digest(f.planned, "zb_val-1_gms-a"));
  f.apply();
  EXPECT_FALSE(f.tunnels.all().at("zb_val-1_seg-a2/val-1_gms-b").passive);
  // Now seg-a1's hop is the one whose IKE_SA is kept up (once the silent one is gone).
  f.see({ike("zb_val-1_seg-a2", 2)}, f.t0 + 3s);
  EXPECT_EQ(f.choices.ike_due(f.t0 + 3s), std::vector<std::string>{"zb_val-1_seg-a1"});
  EXPECT_EQ(f.choices.status(f.t0 + 3s)[0]["via"], "seg-a2");
}

TEST(SegChoices, NoSwitchWithoutAHopThatAnswers) {
  Fixture f;
  f.see({}, f.t0 + 1s);
  f.tunnels.failed("zb_val-1_seg-a1/val-1_gms-b", health::Failure::initiate_failed, "no", f.t0 + 1s);
  EXPECT_TRUE(f.choices.decide(f.tunnels, f.t0 + 1s).empty()) << "seg-a2 has no IKE_SA";
  // A silent IKE_SA is no way out either.
  f.see({ike("zb_val-1_seg-a2", 4)}, f.t0 + 2s);
  f.choices.unanswered("zb_val-1_seg-a2", 4);
  EXPECT_TRUE(f.choices.decide(f.tunnels, f.t0 + 2s).empty());
  // An initiation retransmitting (its SEG still away) is no verdict on the IKE_SA it becomes.
  f.choices.unanswered("zb_val-1_seg-a2", 5);
  // A new IKE_SA of the connection answers again.
  f.see({ike("zb_val-1_seg-a2", 5)}, f.t0 + 3s);
  EXPECT_EQ(f.choices.decide(f.tunnels, f.t0 + 3s).size(), 1u);
}

TEST(SegChoices, AFirstAttemptUnderWayOrAMissingAddressIsNoFailure) {
  Fixture f;
  f.see({ike("zb_val-1_seg-a2", 2)}, f.t0 + 1s);
  f.tunnels.started("zb_val-1_seg-a1/val-1_gms-b", f.t0 + 1s);
  EXPECT_TRUE(f.choices.decide(f.tunnels, f.t0 + 1s).empty()) << "connecting";
  // The host lacks val-1's address: every hop would need it alike.
  ASSERT_TRUE(f.tunnels.address_changed("10.0.0.1", false, f.t0 + 2s));
  ASSERT_EQ(f.tunnels.all().at("zb_val-1_seg-a1/val-1_gms-b").failure, health::Failure::address_missing);
  EXPECT_TRUE(f.choices.decide(f.tunnels, f.t0 + 2s).empty());
}

TEST(SegChoices, FailbackOnlyAfterThePreferredHopAnsweredForTheHold) {
  Fixture f;
  ASSERT_EQ(f.fail_over_at(f.t0 + 1s), 1u);
  f.apply();
  f.see({ike("zb_val-1_seg-a2", 2, true, 21)}, f.t0 + 2s);
  // seg-a1 is back, answers 8 s, goes silent: no failback (hold 10 s).
  f.see({ike("zb_val-1_seg-a1", 3), ike("zb_val-1_seg-a2", 2, true, 21)}, f.t0 + 10s);
  EXPECT_TRUE(f.choices.decide(f.tunnels, f.t0 + 10s).empty());
  EXPECT_TRUE(f.choices.decide(f.tunnels, f.t0 + 18s).empty());
  f.choices.unanswered("zb_val-1_seg-a1", 3);
  EXPECT_TRUE(f.choices.decide(f.tunnels, f.t0 + 21s).empty()) << "silent: the hold starts over";
  // It answers again (a new IKE_SA) and keeps answering for the hold: back to seg-a1.
  f.see({ike("zb_val-1_seg-a1", 4), ike("zb_val-1_seg-a2", 2, true, 21)}, f.t0 + 22s);
  EXPECT_TRUE(f.choices.decide(f.tunnels, f.t0 + 22s).empty());
  EXPECT_TRUE(f.choices.decide(f.tunnels, f.t0 + 31s).empty());
  const auto back = f.choices.decide(f.tunnels, f.t0 + 32s);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].to, "zb_val-1_seg-a1");
  EXPECT_NE(back[0].why.find("answered for 10 s"), std::string::npos) << back[0].why;
  EXPECT_EQ(f.choices.status(f.t0 + 32s)[0]["switches"], 2);
  // As planned again: the digests are the planned ones.
  const policy::NodePlan e = f.choices.effective(f.planned);
  EXPECT_EQ(digest(e, "zb_val-1_seg-a1"), digest(f.planned, "zb_val-1_seg-a1"));
  EXPECT_EQ(digest(e, "zb_val-1_seg-a2"), digest(f.planned, "zb_val-1_seg-a2"));
  f.apply();
  // Make before break: seg-a2's CHILD_SA stays until seg-a1's is up, then it is superseded.
  EXPECT_TRUE(f.choices.superseded(f.tunnels).empty());
  f.see({ike("zb_val-1_seg-a1", 4, true, 41), ike("zb_val-1_seg-a2", 2, true, 21)}, f.t0 + 33s);
  EXPECT_EQ(f.choices.superseded(f.tunnels), std::vector<std::string>{"zb_val-1_seg-a2/val-1_gms-b"});
}

TEST(SegChoices, ANewPlanWithTheSameHopsKeepsTheChoice) {
  Fixture f;
  ASSERT_EQ(f.fail_over_at(f.t0 + 1s), 1u);
  f.choices.set_plan(f.planned, f.t0 + 2s);  // a push that changed something else
  EXPECT_EQ(f.choices.status(f.t0 + 2s)[0]["via"], "seg-a2");
  // A plan without the second SEG: nothing to pick.
  policy::NodePlan one = f.planned;
  one.connections = {};
  for (const policy::ConnectionPlan& c : f.planned.connections) {
    if (c.peer != "seg-a2") one.connections.push_back(c);
  }
  f.choices.set_plan(one, f.t0 + 3s);
  EXPECT_TRUE(f.choices.empty());
  EXPECT_TRUE(f.choices.ike_due(f.t0 + 3s).empty());
}

TEST(SegChoices, APairWhoseHopsAreAllStandbyHereHasNothingToPick) {
  policy::NodePlan p = two_seg_plan();
  policy::NodePlan all_standby;
  all_standby.node = p.node;
  for (policy::ConnectionPlan c : p.connections) {
    for (policy::ChildPlan& ch : c.children) ch.standby = ch.picks_seg;
    all_standby.connections.push_back(c);
  }
  SegChoices choices;
  choices.set_plan(all_standby, health::Clock::now());
  EXPECT_TRUE(choices.empty());
}

// After a restart of ndsipd the saved choice is taken back (charon still holds it), for a pair
// whose hops it names; a name that is no hop of the pair is ignored.
TEST(SegChoices, AChoiceSavedBeforeARestartIsTakenBack) {
  Fixture f;
  EXPECT_TRUE(f.choices.moved().empty()) << "on the preferred hop: nothing to keep";
  SegChoices restarted;
  restarted.set_plan(f.planned, f.t0, {{"val-1_gms-b", "zb_val-1_seg-a2"}});
  EXPECT_EQ(restarted.status(f.t0)[0]["via"], "seg-a2");
  EXPECT_EQ(restarted.status(f.t0)[0]["why"], "kept from before ndsipd started");
  EXPECT_EQ(restarted.moved(), (std::map<std::string, std::string>{{"val-1_gms-b", "zb_val-1_seg-a2"}}));
  EXPECT_FALSE(child(restarted.effective(f.planned), "zb_val-1_seg-a2").standby);
  SegChoices stale;
  stale.set_plan(f.planned, f.t0, {{"val-1_gms-b", "zb_val-1_seg-z"}, {"other", "zb_val-1_seg-a2"}});
  EXPECT_EQ(stale.status(f.t0)[0]["via"], "seg-a1");
  // Only a new pair takes a saved choice: one already known keeps its own.
  f.choices.set_plan(f.planned, f.t0, {{"val-1_gms-b", "zb_val-1_seg-a2"}});
  EXPECT_EQ(f.choices.status(f.t0)[0]["via"], "seg-a1");
}
